// Points at checkout end to end on both stores (docs/checkout.md): the real
// engine over a ManualClock — hold, capture, release, the holds job, an order's
// payment, cancellation and refunds — with exact balances, lots, outbox events
// and `verify` after each scenario; and 64 holds racing for a member's last
// points.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "jobs/scheduler.h"
#include "store/engine_scenario.h"

namespace loyalty {
namespace {

using store::testing::Backend;
using store::testing::must;

using store::testing::at;

// 100 points pay 1.00 EUR; at least 200 points; at most half the order; 30 min.
constexpr const char* kCheckoutConfig = R"(
expiry:
  mode: none
checkout:
  points: 100
  amount: "1.00"
  min_points: 200
  max_order_share_percent: 50
  hold_minutes: 30
)";

class CheckoutHoldsTest : public store::testing::EngineScenario {
 protected:
  void SetUp() override {
    clock_.set(at("2026-03-01T10:00:00Z"));
    start("Checkout", "EUR", "UTC", kCheckoutConfig);
    if (IsSkipped()) return;  // no PostgreSQL: start() skipped and started no engine
    member_ = enroll("m1");
  }

  Posting credit(int64_t points, std::optional<Instant> expires_at = std::nullopt) {
    engine::Credit c;
    c.program_id = program_;
    c.member_id = member_;
    c.request.points = Points{points};
    c.request.reason = "test";
    c.request.actor = "test";
    c.request.expires_at = expires_at;
    return ok<Posting>(c);
  }
  engine::HoldPoints hold_command(int64_t points, int64_t order_total_minor = 100'000,
                                  const std::string& order = "", bool capture_on_paid = false) {
    engine::HoldPoints h;
    h.program_id = program_;
    h.member_id = member_;
    h.points = Points{points};
    h.order_total_minor = order_total_minor;
    h.currency = "EUR";
    h.order_external_id = order;
    h.capture_on_paid = capture_on_paid;
    h.actor = "test";
    return h;
  }
  Hold hold(int64_t points, int64_t order_total_minor = 100'000, const std::string& order = "",
            bool capture_on_paid = false) {
    return ok<engine::HoldResult>(hold_command(points, order_total_minor, order, capture_on_paid))
        .hold;
  }
  engine::Outcome capture(HoldId id, int64_t points, const std::string& order = "") {
    engine::CaptureHold c;
    c.program_id = program_;
    c.hold_id = id;
    c.points = Points{points};
    c.order_external_id = order;
    c.actor = "test";
    return run(c);
  }
  engine::Outcome release(HoldId id) {
    engine::ReleaseHold r;
    r.program_id = program_;
    r.hold_id = id;
    r.actor = "test";
    return run(r);
  }
  Balance balance() { return must(reader_->get_balance(program_, member_)); }
  Hold stored(HoldId id) { return *must(reader_->find_hold(program_, id)); }
  Points lot_remaining(LotId lot) {
    return must(reader_->lots_by_ids(program_, {lot})).front().remaining;
  }
  // "type points cause" of the program's hold events, in order.
  std::vector<std::string> hold_events() {
    std::vector<std::string> out;
    for (const auto& e : must(reader_->list_outbox_events(program_, {}, 1000))) {
      if (!e.type.starts_with("points.held") && !e.type.starts_with("points.captured") &&
          !e.type.starts_with("points.released")) {
        continue;
      }
      std::string cause;
      if (auto p = e.payload_json.find("\"cause\":\""); p != std::string::npos) {
        cause = " " + e.payload_json.substr(p + 9, e.payload_json.find('"', p + 9) - p - 9);
      }
      auto p = e.payload_json.find("\"points\":");
      out.push_back(e.type + " " +
                    e.payload_json.substr(p + 9, e.payload_json.find(',', p) - p - 9) + cause);
    }
    return out;
  }
  std::string error_of(const engine::Outcome& out) {
    return std::string(error_code_name(out.status.code()));
  }

  MemberId member_;
};

TEST_P(CheckoutHoldsTest, HoldTakesOldestLotsFirstAndAvailableDropsAtOnce) {
  LotId late = credit(500, at("2026-12-31T00:00:00Z")).entries[1].lot.existing;
  LotId early = credit(300, at("2026-06-30T00:00:00Z")).entries[1].lot.existing;
  Hold h = hold(600);
  EXPECT_EQ(h.status, HoldStatus::kOpen);
  EXPECT_EQ(h.amount_minor, 600);  // 100 points = 1.00 EUR
  EXPECT_EQ(h.expires_at, at("2026-03-01T10:30:00Z"));
  ASSERT_EQ(h.lots.size(), 2u);
  EXPECT_EQ(h.lots[0], (HoldLotState{early, Points{300}, Points{0}, Points{0}}));
  EXPECT_EQ(h.lots[1], (HoldLotState{late, Points{300}, Points{0}, Points{0}}));
  Balance b = balance();
  EXPECT_EQ(b.available.value, 200);
  EXPECT_EQ(b.held.value, 600);
  EXPECT_EQ(b.lifetime_spent.value, 0);
  EXPECT_EQ(lot_remaining(early).value, 0);
  EXPECT_EQ(lot_remaining(late).value, 200);
  EXPECT_EQ(hold_events(), std::vector<std::string>{"points.held 600"});
}

TEST_P(CheckoutHoldsTest, PartialCaptureSpendsOldestPointsAndReleasesTheRest) {
  LotId late = credit(500, at("2026-12-31T00:00:00Z")).entries[1].lot.existing;
  LotId early = credit(300, at("2026-06-30T00:00:00Z")).entries[1].lot.existing;
  Hold h = hold(600);
  auto out = capture(h.id, 400, "order-1");
  ASSERT_TRUE(out.status.ok()) << out.status.message();
  Hold c = stored(h.id);
  EXPECT_EQ(c.status, HoldStatus::kCaptured);
  EXPECT_EQ(c.captured.value, 400);
  EXPECT_EQ(c.order_external_id, "order-1");
  EXPECT_EQ(c.lots[0].captured.value, 300);
  EXPECT_EQ(c.lots[1].captured.value, 100);
  Balance b = balance();
  EXPECT_EQ(b.available.value, 400);  // 200 never held + 200 released
  EXPECT_EQ(b.held.value, 0);
  EXPECT_EQ(b.lifetime_spent.value, 400);
  EXPECT_EQ(lot_remaining(early).value, 0);
  EXPECT_EQ(lot_remaining(late).value, 400);
  EXPECT_EQ(hold_events(), (std::vector<std::string>{"points.held 600", "points.captured 400",
                                                     "points.released 200 capture_rest"}));
}

TEST_P(CheckoutHoldsTest, ReleasePutsThePointsBackIntoTheSameLots) {
  LotId lot = credit(1000).entries[1].lot.existing;
  Hold h = hold(1000);
  EXPECT_EQ(lot_remaining(lot).value, 0);
  ASSERT_TRUE(release(h.id).status.ok());
  EXPECT_EQ(lot_remaining(lot).value, 1000);
  EXPECT_EQ(stored(h.id).status, HoldStatus::kReleased);
  Balance b = balance();
  EXPECT_EQ(b.available.value, 1000);
  EXPECT_EQ(b.held.value, 0);
  EXPECT_EQ(b.lifetime_spent.value, 0);
}

TEST_P(CheckoutHoldsTest, ABadRequestChangesNothing) {
  credit(1000);
  Hold h = hold(500);
  struct Case {
    const char* what;
    engine::Outcome out;
    const char* error;
  };
  Hold second = hold(200);  // to capture, then capture again
  ASSERT_TRUE(capture(second.id, 200).status.ok());
  Hold released = hold(200);
  ASSERT_TRUE(release(released.id).status.ok());
  const Balance reference = balance();
  std::vector<Case> cases;
  cases.push_back({"hold above the balance", run(hold_command(600)), "insufficient_points"});
  cases.push_back({"hold below min_points", run(hold_command(100)), "checkout_limit"});
  cases.push_back({"hold above half the order", run(hold_command(300, 500)), "checkout_limit"});
  auto other_currency = hold_command(200);
  other_currency.currency = "USD";
  cases.push_back({"hold in another currency", run(other_currency), "currency_mismatch"});
  cases.push_back({"capture above the hold", capture(h.id, 501), "capture_exceeds_hold"});
  cases.push_back({"second capture", capture(second.id, 100), "hold_not_open"});
  cases.push_back({"capture of a released hold", capture(released.id, 100), "hold_not_open"});
  cases.push_back({"release of a captured hold", release(second.id), "hold_not_open"});
  cases.push_back({"unknown hold", capture(HoldId{999'999}, 100), "not_found"});
  for (const Case& c : cases) {
    EXPECT_EQ(error_of(c.out), c.error) << c.what << ": " << c.out.status.message();
  }
  EXPECT_EQ(balance(), reference);
  EXPECT_EQ(stored(h.id).status, HoldStatus::kOpen);
  EXPECT_EQ(stored(h.id).points.value, 500);
}

TEST_P(CheckoutHoldsTest, TheHoldsJobReleasesTimedOutHoldsOnceAndCaptureAfterTimeoutFails) {
  credit(1000);
  Hold a = hold(300);
  clock_.advance(Duration::from_seconds(int64_t{20} * 60));
  Hold b = hold(200);                                        // expires 20 minutes after a
  clock_.advance(Duration::from_seconds(int64_t{10} * 60));  // a's expiry: exactly now
  EXPECT_EQ(error_of(capture(a.id, 300)), "hold_not_open");
  jobs::JobSelection holds_only{false, false, false, false, false, true};
  auto counts = must(jobs::run_jobs_once(*reader_, engine(), clock_, holds_only));
  EXPECT_EQ(counts.holds_released, 1);
  EXPECT_EQ(stored(a.id).status, HoldStatus::kExpired);
  EXPECT_EQ(stored(b.id).status, HoldStatus::kOpen);
  // Restartable and idempotent: a second run finds nothing.
  EXPECT_EQ(must(jobs::run_jobs_once(*reader_, engine(), clock_, holds_only)).holds_released, 0);
  EXPECT_EQ(balance().available.value, 800);
  EXPECT_EQ(balance().held.value, 200);
  EXPECT_EQ(hold_events(), (std::vector<std::string>{"points.held 300", "points.held 200",
                                                     "points.released 300 expired"}));
}

TEST_P(CheckoutHoldsTest, PointsOfALotThatExpiredWhileHeldExpireOnRelease) {
  LotId lot = credit(500, at("2026-03-01T10:10:00Z")).entries[1].lot.existing;
  Hold h = hold(500);
  clock_.advance(Duration::from_seconds(int64_t{15} * 60));  // the lot expired while held
  ASSERT_TRUE(release(h.id).status.ok());
  Balance b = balance();
  EXPECT_EQ(b.available.value, 0);
  EXPECT_EQ(b.held.value, 0);
  EXPECT_EQ(b.expired.value, 500);
  EXPECT_EQ(lot_remaining(lot).value, 0);
}

engine::CreateOrder paid_order(ProgramId program, MemberId member, const std::string& external_id,
                               int64_t total_minor) {
  engine::CreateOrder c;
  c.program_id = program;
  c.order.external_id = external_id;
  c.order.currency = "EUR";
  c.order.placed_at = at("2026-03-01T10:00:00Z");
  OrderItem item;
  item.sku = "sku-1";
  item.name = "Thing";
  item.quantity = 1;
  item.unit_price_minor = total_minor;
  c.order.items.push_back(item);
  c.customer.member_id = member;
  c.status = OrderStatus::kPaid;
  return c;
}

TEST_P(CheckoutHoldsTest, AnOrderPaidCapturesItsHoldAndRefundsReturnPointsProportionally) {
  credit(1000);
  Hold h = hold(400, 10'000, "order-7", /*capture_on_paid=*/true);
  ok<engine::OrderResult>(paid_order(program_, member_, "order-7", 10'000));
  EXPECT_EQ(stored(h.id).status, HoldStatus::kCaptured);
  EXPECT_EQ(stored(h.id).captured.value, 400);
  const int64_t after_capture = balance().available.value;
  OrderId order = must(reader_->find_order_by_external_id(program_, "order-7"))->id;
  // A quarter of the money back: a quarter of the points back (floor).
  refund(order, 2'500, "r1");
  EXPECT_EQ(stored(h.id).refunded.value, 100);
  EXPECT_EQ(balance().available.value, after_capture + 100);  // no earn rules: no clawback
  // Cancelling the order returns the rest.
  order_status(order, OrderStatus::kCancelled, "c1");
  EXPECT_EQ(stored(h.id).refunded.value, 400);
  EXPECT_EQ(balance().lifetime_spent.value, 0);
}

TEST_P(CheckoutHoldsTest, CancellingTheOrderReleasesAnOpenHold) {
  credit(1000);
  engine::CreateOrder placed = paid_order(program_, member_, "order-9", 10'000);
  placed.status = OrderStatus::kPlaced;
  OrderId order = ok<engine::OrderResult>(placed).order.id;
  Hold h = hold(400, 10'000, "order-9");
  order_status(order, OrderStatus::kCancelled, "c1");
  EXPECT_EQ(stored(h.id).status, HoldStatus::kReleased);
  EXPECT_EQ(balance().available.value, 1000);
  EXPECT_EQ(balance().held.value, 0);
}

TEST_P(CheckoutHoldsTest, SixtyFourParallelHoldsNeverOverspendTheLastPoints) {
  credit(1000);  // room for exactly five holds of 200
  constexpr int kHolds = 64;
  std::atomic<int> held{0};
  std::atomic<int> insufficient{0};
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  threads.reserve(kHolds);
  for (int i = 0; i < kHolds; ++i) {
    threads.emplace_back([&] {
      engine::Outcome out = run(hold_command(200));
      if (out.status.ok()) {
        ++held;
      } else if (out.status.code() == ErrorCode::kInsufficientPoints) {
        ++insufficient;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(held.load(), 5);
  EXPECT_EQ(insufficient.load(), kHolds - 5);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(balance().available.value, 0);
  EXPECT_EQ(balance().held.value, 1000);
}

INSTANTIATE_TEST_SUITE_P(Stores, CheckoutHoldsTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& info) { return store::testing::backend_name(info.param); });

}  // namespace
}  // namespace loyalty
