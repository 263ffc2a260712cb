// Gift cards end to end on both stores (docs/gift-cards.md): the real engine
// over a ManualClock — issue, physical import and activation, holds captured
// in part or released, the holds job at timeout, failed code/PIN checks that
// are counted (and committed) although the command fails, the limits — and 64
// holds through two engines racing for a card's last balance.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "engine/gift_card_commands.h"
#include "store/engine_scenario.h"
#include "store/gift_cards_store.h"

namespace loyalty {
namespace {

using store::GiftCardStore;
using store::testing::Backend;
using store::testing::must;

class GiftCardsTest : public store::testing::EngineScenario {
 protected:
  void SetUp() override { start("Gift", "EUR", "UTC", "", /*nodes=*/2); }

  engine::GiftCardIssued issue(int64_t amount_minor) {
    engine::IssueGiftCard c;
    c.program_id = program_;
    c.amount_minor = amount_minor;
    c.currency = "EUR";
    c.source = GiftCardSource::kPurchase;
    c.source_ref = "order-1";
    c.recipient_email = "friend@example.com";
    c.message = "Happy birthday";
    c.actor = "test";
    return ok<engine::GiftCardIssued>(c);
  }
  engine::Outcome check(const std::string& code, const std::string& pin, int64_t key = 7) {
    engine::CheckGiftCard c;
    c.program_id = program_;
    c.code = code;
    c.pin = pin;
    c.key = key;
    return run(c);
  }
  engine::HoldGiftCard hold_command(const engine::GiftCardIssued& card, int64_t amount_minor) {
    engine::HoldGiftCard h;
    h.program_id = program_;
    h.code = card.code;
    h.pin = card.pin;
    h.key = 7;
    h.amount_minor = amount_minor;
    h.currency = "EUR";
    h.order_ref = "A-100";
    h.actor = "test";
    return h;
  }
  engine::Outcome capture(store::GiftCardHoldId id, int64_t amount_minor) {
    engine::CaptureGiftCardHold c;
    c.program_id = program_;
    c.hold_id = id;
    c.amount_minor = amount_minor;
    c.actor = "test";
    return run(c);
  }
  engine::Outcome release(store::GiftCardHoldId id) {
    engine::ReleaseGiftCardHold r;
    r.program_id = program_;
    r.hold_id = id;
    r.actor = "test";
    return run(r);
  }
  store::GiftCard stored(store::GiftCardId id) {
    GiftCardStore cards(*reader_);
    return *must(cards.find_card(program_, id));
  }
  // The card's books balance: what it was given = available + held +
  // captured, and held = the open holds.
  void expect_consistent(store::GiftCardId id) {
    GiftCardStore cards(*reader_);
    store::GiftCard card = *must(cards.find_card(program_, id));
    int64_t open = 0;
    int64_t captured = 0;
    int64_t refunded = 0;
    for (const auto& h : must(cards.holds_of_card(program_, id))) {
      if (h.status == GiftCardHoldStatus::kOpen) open += h.amount_minor;
      captured += h.captured_minor;
      refunded += h.refunded_minor;
    }
    EXPECT_EQ(card.held_minor, open);
    EXPECT_EQ(card.initial_minor, card.balance_minor + card.held_minor + captured - refunded);
    auto lines = must(cards.transactions_of_card(program_, id));
    if (!lines.empty()) {
      EXPECT_EQ(lines.back().balance_after_minor, card.balance_minor);
      EXPECT_EQ(lines.back().held_after_minor, card.held_minor);
    }
  }
  // An order of `total_minor` (one item), placed or paid, for a new member.
  OrderId place_order(const std::string& external_id, int64_t total_minor, OrderStatus status) {
    return ok<engine::OrderResult>(one_item_order(enroll("buyer-" + external_id), external_id,
                                                  total_minor, "EUR", status))
        .order.id;
  }
  store::GiftCardHold stored_hold(store::GiftCardHoldId id) {
    GiftCardStore cards(*reader_);
    return *must(cards.find_hold(program_, id));
  }
  std::string error_of(const engine::Outcome& out) {
    return std::string(error_code_name(out.status.code()));
  }
  int64_t failures(store::AttemptScope scope, int64_t subject, Duration window) {
    GiftCardStore cards(*reader_);
    return must(
        cards.failures(program_, scope, subject, attempt_window_start(clock_.now(), window)));
  }
};

TEST_P(GiftCardsTest, AnIssuedCardPaysInPartThroughAHoldAndItsCapture) {
  engine::GiftCardIssued card = issue(5000);
  EXPECT_EQ(card.card.status, GiftCardStatus::kActive);
  EXPECT_EQ(card.pin.size(), kGiftCardPinDigits);
  // Only the digest and the last 4 characters are stored.
  const std::string normalized = *normalize_gift_card_code(card.code);
  EXPECT_EQ(stored(card.card.id).code_hash, gift_card_code_digest(normalized));
  EXPECT_EQ(stored(card.card.id).code_hint, normalized.substr(normalized.size() - 4));

  auto held = ok<engine::GiftCardHoldResult>(hold_command(card, 3000));
  EXPECT_EQ(held.card.balance_minor, 2000);
  EXPECT_EQ(held.card.held_minor, 3000);
  auto captured = ok<engine::GiftCardHoldResult>(
      engine::CaptureGiftCardHold{program_, held.hold.id, 2000, "test"});
  EXPECT_EQ(captured.hold.status, GiftCardHoldStatus::kCaptured);
  EXPECT_EQ(captured.hold.captured_minor, 2000);
  EXPECT_EQ(stored(card.card.id).balance_minor, 3000);  // 1000 of the hold came back
  EXPECT_EQ(stored(card.card.id).held_minor, 0);
  EXPECT_EQ(error_of(capture(held.hold.id, 1)), "hold_not_open");
  EXPECT_EQ(error_of(release(held.hold.id)), "hold_not_open");

  GiftCardStore cards(*reader_);
  std::vector<std::string> lines;
  for (const auto& t : must(cards.transactions_of_card(program_, card.card.id))) {
    lines.push_back(t.kind + " " + std::to_string(t.amount_minor) + " -> " +
                    std::to_string(t.balance_after_minor) + "/" +
                    std::to_string(t.held_after_minor));
  }
  EXPECT_EQ(lines,
            (std::vector<std::string>{"issue 5000 -> 5000/0", "hold -3000 -> 2000/3000",
                                      "capture 2000 -> 2000/1000", "release 1000 -> 3000/0"}));
  expect_consistent(card.card.id);
  // gift_card.issued carries what the mailer needs, code and PIN included.
  auto events = must(reader_->list_outbox_events(program_, {}, 100));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, "gift_card.issued");
  for (const std::string& part : std::vector<std::string>{
           "\"recipient_email\":\"friend@example.com\"", "\"message\":\"Happy birthday\"",
           "\"amount_minor\":5000", "\"currency\":\"EUR\"", "\"code\":\"" + card.code + "\"",
           "\"pin\":\"" + card.pin + "\""}) {
    EXPECT_NE(events[0].payload_json.find(part), std::string::npos) << events[0].payload_json;
  }
}

TEST_P(GiftCardsTest, OverCaptureAndOverHoldChangeNothing) {
  engine::GiftCardIssued card = issue(1000);
  engine::Outcome too_much = run(hold_command(card, 1001));
  EXPECT_EQ(error_of(too_much), "insufficient_balance");
  auto held = ok<engine::GiftCardHoldResult>(hold_command(card, 600));
  EXPECT_EQ(error_of(capture(held.hold.id, 601)), "capture_exceeds_hold");
  EXPECT_EQ(stored(card.card.id).held_minor, 600);
  auto released =
      ok<engine::GiftCardHoldResult>(engine::ReleaseGiftCardHold{program_, held.hold.id, "test"});
  EXPECT_EQ(released.hold.status, GiftCardHoldStatus::kReleased);
  EXPECT_EQ(stored(card.card.id).balance_minor, 1000);
  engine::HoldGiftCard dollars = hold_command(card, 10);
  dollars.currency = "USD";
  EXPECT_EQ(error_of(run(dollars)), "currency_mismatch");
  expect_consistent(card.card.id);
}

TEST_P(GiftCardsTest, WrongPinsAreCountedThoughTheCheckFailsThenTheCardIsLocked) {
  engine::GiftCardIssued card = issue(1000);
  const std::string wrong = card.pin == "000000" ? "111111" : "000000";
  const AttemptLimits& limits = kGiftCardAttemptLimits;
  for (int i = 0; i < limits.card_failures; ++i) {
    EXPECT_EQ(error_of(check(card.code, wrong)), "gift_card_rejected");
  }
  // The failed commands rolled nothing back but their counters committed.
  EXPECT_EQ(failures(store::AttemptScope::kCard, card.card.id.value, limits.card_window),
            limits.card_failures);
  EXPECT_EQ(failures(store::AttemptScope::kKey, 7, limits.key_window), limits.card_failures);
  // Now even the right PIN is refused, from any key, until the window ends.
  engine::Outcome locked = check(card.code, card.pin, /*key=*/8);
  EXPECT_EQ(error_of(locked), "too_many_attempts");
  EXPECT_NE(locked.status.message().find("(retry after "), std::string::npos);
  EXPECT_EQ(error_of(run(hold_command(card, 100))), "too_many_attempts");
  clock_.advance(limits.card_window);
  engine::Outcome fine = check(card.code, card.pin);
  ASSERT_TRUE(fine.status.ok()) << fine.status.message();
  EXPECT_EQ(std::get<engine::GiftCardView>(fine.value).card.balance_minor, 1000);
}

TEST_P(GiftCardsTest, UnknownCodesCountAgainstTheKeyUntilItIsLimited) {
  engine::GiftCardIssued card = issue(1000);
  const AttemptLimits& limits = kGiftCardAttemptLimits;
  for (int i = 0; i < limits.key_failures; ++i) {
    // Unknown, malformed code, malformed PIN: one answer, one count each.
    const std::string code = i % 3 == 0   ? "NOPE-" + std::to_string(i)
                             : i % 3 == 1 ? "bad_code"
                                          : card.code;
    const std::string pin = i % 3 == 2 ? "12" : "123456";
    EXPECT_EQ(error_of(check(code, pin)), "gift_card_rejected") << i;
  }
  EXPECT_EQ(error_of(check(card.code, card.pin)), "too_many_attempts");
  // Another key is not limited; the card itself was never given a wrong PIN.
  EXPECT_TRUE(check(card.code, card.pin, /*key=*/9).status.ok());
}

TEST_P(GiftCardsTest, PhysicalCardsAreImportedInactiveAllOrNothingAndActivatedOnSale) {
  engine::ImportPhysicalCards batch;
  batch.program_id = program_;
  batch.batch_ref = "batch-1";
  batch.actor = "test";
  batch.cards = {{"6035 0000 0000 0001", "1234"},
                 {"6035-0000-0000-0002", "5678"},
                 {"603500000000 0001", "9999"}};
  engine::Outcome twice = run(batch);
  EXPECT_EQ(error_of(twice), "conflict");
  EXPECT_NE(twice.status.message().find("cards[2]"), std::string::npos);
  GiftCardStore cards(*reader_);
  EXPECT_FALSE(must(cards.find_card_by_hash(gift_card_code_digest("6035000000000002"))));

  batch.cards.pop_back();
  auto imported = ok<engine::GiftCardsImported>(batch);
  ASSERT_EQ(imported.imported, 2);
  EXPECT_EQ(stored(imported.ids[0]).status, GiftCardStatus::kInactive);
  EXPECT_EQ(error_of(run(batch)), "conflict");  // the same numbers again

  engine::HoldGiftCard early;
  early.program_id = program_;
  early.code = "6035000000000001";
  early.pin = "1234";
  early.amount_minor = 100;
  early.currency = "EUR";
  early.order_ref = "A-1";
  EXPECT_EQ(error_of(run(early)), "gift_card_not_usable");

  engine::ActivateGiftCard sale{program_, "6035-0000-0000-0001", 2500, "EUR", "POS-9", "test"};
  auto active = ok<engine::GiftCardView>(sale);
  EXPECT_EQ(active.card.status, GiftCardStatus::kActive);
  EXPECT_EQ(active.card.balance_minor, 2500);
  EXPECT_EQ(error_of(run(sale)), "gift_card_not_usable");  // sold once
  engine::ActivateGiftCard unknown{program_, "6035000000009999", 2500, "EUR", "", "test"};
  EXPECT_EQ(error_of(run(unknown)), "not_found");
  auto held = ok<engine::GiftCardHoldResult>(early);
  EXPECT_EQ(held.card.balance_minor, 2400);
  expect_consistent(imported.ids[0]);
}

TEST_P(GiftCardsTest, TheHoldsJobReleasesExpiredGiftCardHolds) {
  engine::GiftCardIssued card = issue(1000);
  engine::HoldGiftCard h = hold_command(card, 400);
  h.hold_minutes = 10;
  auto held = ok<engine::GiftCardHoldResult>(h);
  clock_.advance(Duration::from_seconds(int64_t{10} * 60));
  EXPECT_EQ(error_of(capture(held.hold.id, 400)), "hold_not_open");
  auto job = ok<engine::ReleaseExpiredResult>(engine::ReleaseExpiredHolds{200});
  EXPECT_EQ(job.released, 1);
  EXPECT_TRUE(job.complete);
  GiftCardStore cards(*reader_);
  EXPECT_EQ(must(cards.find_hold(program_, held.hold.id))->status, GiftCardHoldStatus::kExpired);
  EXPECT_EQ(stored(card.card.id).balance_minor, 1000);
  EXPECT_EQ(ok<engine::ReleaseExpiredResult>(engine::ReleaseExpiredHolds{200}).released, 0);
  expect_consistent(card.card.id);
}

TEST_P(GiftCardsTest, CancellingTheOrderReleasesItsOpenGiftCardHolds) {
  engine::GiftCardIssued card = issue(1000);
  auto open = ok<engine::GiftCardHoldResult>(hold_command(card, 300));  // for order A-100
  engine::HoldGiftCard other = hold_command(card, 200);
  other.order_ref = "B-200";
  auto kept = ok<engine::GiftCardHoldResult>(other);
  OrderId order = place_order("A-100", 5000, OrderStatus::kPlaced);
  EXPECT_EQ(stored(card.card.id).held_minor, 500);
  order_status(order, OrderStatus::kCancelled, "c1");
  GiftCardStore cards(*reader_);
  EXPECT_EQ(must(cards.find_hold(program_, open.hold.id))->status, GiftCardHoldStatus::kReleased);
  EXPECT_EQ(must(cards.find_hold(program_, kept.hold.id))->status, GiftCardHoldStatus::kOpen);
  EXPECT_EQ(stored(card.card.id).balance_minor, 800);
  EXPECT_EQ(stored(card.card.id).held_minor, 200);
  expect_consistent(card.card.id);
}

TEST_P(GiftCardsTest, AHoldIsCapturedWhenItsOrderIsPaidAndRefundsCreditTheCardBack) {
  engine::GiftCardIssued card = issue(10'000);
  engine::HoldGiftCard h = hold_command(card, 3000);  // for order A-100
  h.capture_on_paid = true;
  auto held = ok<engine::GiftCardHoldResult>(h);
  EXPECT_TRUE(held.hold.capture_on_paid);
  // Placed: still held. Paid: captured in full by the order, not by the shop.
  OrderId order = place_order("A-100", 8000, OrderStatus::kPlaced);
  EXPECT_EQ(stored_hold(held.hold.id).status, GiftCardHoldStatus::kOpen);
  order_status(order, OrderStatus::kPaid, "p1");
  EXPECT_EQ(stored_hold(held.hold.id).status, GiftCardHoldStatus::kCaptured);
  EXPECT_EQ(stored_hold(held.hold.id).captured_minor, 3000);
  EXPECT_EQ(stored(card.card.id).balance_minor, 7000);
  EXPECT_EQ(stored(card.card.id).held_minor, 0);
  // A quarter of the order refunded: a quarter of what the card paid back.
  refund(order, 2000, "r1");
  EXPECT_EQ(stored_hold(held.hold.id).refunded_minor, 750);
  EXPECT_EQ(stored(card.card.id).balance_minor, 7750);
  refund(order, 2000, "r1");  // the same refund event again: nothing more
  EXPECT_EQ(stored(card.card.id).balance_minor, 7750);
  // 3333 of 8000 refunded in all: floor(3000 * 3333 / 8000) = 1249.
  refund(order, 1333, "r2");
  EXPECT_EQ(stored_hold(held.hold.id).refunded_minor, 1249);
  // Returned: the rest of what the card paid comes back.
  order_status(order, OrderStatus::kDelivered, "d1");
  order_status(order, OrderStatus::kReturned, "x1");
  EXPECT_EQ(stored_hold(held.hold.id).refunded_minor, 3000);
  EXPECT_EQ(stored(card.card.id).balance_minor, 10'000);
  GiftCardStore cards(*reader_);
  auto lines = must(cards.transactions_of_card(program_, card.card.id));
  int refunds = 0;
  for (const auto& t : lines) refunds += t.kind == "refund" ? 1 : 0;
  EXPECT_EQ(refunds, 3);
  expect_consistent(card.card.id);
  // A hold without capture_on_paid waits for the shop's capture.
  auto manual = ok<engine::GiftCardHoldResult>([&] {
    engine::HoldGiftCard m = hold_command(card, 500);
    m.order_ref = "B-200";
    return m;
  }());
  place_order("B-200", 4000, OrderStatus::kPaid);
  EXPECT_EQ(stored_hold(manual.hold.id).status, GiftCardHoldStatus::kOpen);
  expect_consistent(card.card.id);
}

TEST_P(GiftCardsTest, ADisabledCardCannotBeHeldUntilEnabled) {
  engine::GiftCardIssued card = issue(2000);
  auto before = ok<engine::GiftCardHoldResult>(hold_command(card, 500));
  auto disabled = ok<engine::GiftCardView>(
      engine::SetGiftCardStatus{program_, card.card.id, /*disable=*/true, "admin"});
  EXPECT_EQ(disabled.card.status, GiftCardStatus::kDisabled);
  // A check answers what the card is (disabled); a hold is refused.
  engine::Outcome checked = check(card.code, card.pin);
  ASSERT_TRUE(checked.status.ok()) << checked.status.message();
  EXPECT_EQ(std::get<engine::GiftCardView>(checked.value).card.status, GiftCardStatus::kDisabled);
  EXPECT_EQ(error_of(run(hold_command(card, 100))), "gift_card_not_usable");
  // Money reserved before can still be captured.
  ASSERT_TRUE(capture(before.hold.id, 0).status.ok());
  EXPECT_EQ(run(engine::SetGiftCardStatus{program_, card.card.id, true, "admin"}).status.code(),
            ErrorCode::kConflict);
  ok<engine::GiftCardView>(engine::SetGiftCardStatus{program_, card.card.id, false, "admin"});
  EXPECT_TRUE(run(hold_command(card, 100)).status.ok());
  EXPECT_EQ(run(engine::SetGiftCardStatus{program_, card.card.id, false, "admin"}).status.code(),
            ErrorCode::kConflict);
  EXPECT_EQ(
      run(engine::SetGiftCardStatus{program_, store::GiftCardId{999}, true, "admin"}).status.code(),
      ErrorCode::kNotFound);
  EXPECT_EQ(stored(card.card.id).balance_minor, 1400);
  expect_consistent(card.card.id);
}

TEST_P(GiftCardsTest, SixtyFourHoldsRacingForTheLastBalanceNeverOverspend) {
  engine::GiftCardIssued card = issue(10'000);
  constexpr int kHolds = 64;
  std::atomic<bool> go{false};
  std::atomic<int> held{0};
  std::atomic<int> insufficient{0};
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  threads.reserve(kHolds);
  for (int i = 0; i < kHolds; ++i) {
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      engine::Outcome out = run(hold_command(card, 1000), i % 2);
      if (out.status.ok()) {
        ++held;
      } else if (out.status.code() == ErrorCode::kInsufficientBalance) {
        ++insufficient;
      } else {
        ++other;
        ADD_FAILURE() << out.status.message();
      }
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(held.load(), 10);
  EXPECT_EQ(insufficient.load(), kHolds - 10);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(stored(card.card.id).balance_minor, 0);
  EXPECT_EQ(stored(card.card.id).held_minor, 10'000);
  expect_consistent(card.card.id);
}

TEST_P(GiftCardsTest, VerifyFindsACardWhoseBalanceDriftedFromItsHistory) {
  engine::GiftCardIssued card = issue(1000);
  ok<engine::GiftCardHoldResult>(hold_command(card, 300));
  auto drift = [&](int64_t minor) {
    auto s = must(db_->open_session());
    ASSERT_TRUE(s->connection()
                    .query("UPDATE gift_cards SET balance_minor = balance_minor + ? WHERE id = ?",
                           {minor, card.card.id.value})
                    .ok());
  };
  auto problems = [&] {
    auto s = must(db_->open_session());
    return must(cli::verify_store(*s)).problems;
  };
  drift(1);
  const std::string name = format_id(card.card.id);
  EXPECT_EQ(problems(),
            (std::vector<std::string>{
                name + ": balance 701 / held 300 differ from its transactions 700 / 300",
                name + ": was given 1000 but balance + held + captured - refunded is 1001"}));
  drift(-1);
  EXPECT_TRUE(problems().empty());
}

INSTANTIATE_TEST_SUITE_P(Stores, GiftCardsTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& info) { return store::testing::backend_name(info.param); });

}  // namespace
}  // namespace loyalty
