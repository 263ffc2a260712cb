// Gifting through the real engine on both stores (docs/gifting.md): gifts of
// points (reserved, claimed into lots that keep their expiry, returned into
// the same lots), claims by token, at enrollment and by email, the gifts job,
// cancellation, gifts of a redeemed reward's coupon (a new code for the
// friend), the limits, every bad input with nothing changed, and two nodes
// claiming one gift at once. `verify` checks the ledger after each test
// (EngineScenario): pending gifts are in the giver's held account.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "engine/gift_commands.h"
#include "engine/reward_commands.h"
#include "store/engine_scenario.h"
#include "store/gifts_store.h"

namespace loyalty::store::testing {
namespace {

const std::string kRewards = R"(
rewards:
  - id: five-off
    name: 5 off
    type: fixed_discount
    amount: "5.00"
    cost: 100
    coupon_prefix: GIFT
)";

std::string config_with(const std::string& gifting) { return "gifting:\n" + gifting + kRewards; }

const std::string kPolicy = R"(  claim_days: 7
  min_points: 10
  max_points: 5000
  link_template: "https://shop.example/gift?t={token}"
  limits: {period: day, max_gifts: 3, max_points: 1000}
)";

class GiftEngine : public EngineScenario {
 protected:
  void start_with(const std::string& gifting, int nodes = 1) {
    start("Gift Shop", "USD", "Europe/Berlin", config_with(gifting), nodes);
  }
  MemberId join(const std::string& external_id, const std::string& email = "",
                const std::string& token = "") {
    engine::EnrollMember e;
    e.member.program_id = program_;
    e.member.external_id = external_id;
    e.member.email = email.empty() ? external_id + "@example.com" : email;
    e.gift_token = token;
    return ok<Member>(e).id;
  }
  Posting credit(MemberId m, int64_t points, std::optional<Instant> expires_at = std::nullopt) {
    engine::Credit c;
    c.program_id = program_;
    c.member_id = m;
    c.request.points = Points{points};
    c.request.reason = "seed";
    c.request.expires_at = expires_at;
    return ok<Posting>(c);
  }
  engine::SendGift points_gift(MemberId giver, const std::string& to, int64_t points) {
    engine::SendGift g;
    g.program_id = program_;
    g.giver_id = giver;
    g.recipient_email = to;
    g.points = Points{points};
    g.message = "Happy birthday!";
    g.actor = "test";
    return g;
  }
  engine::SendGift coupon_gift(MemberId giver, const std::string& to, RedemptionId redemption) {
    engine::SendGift g = points_gift(giver, to, 0);
    g.points = Points{0};
    g.redemption_id = redemption;
    return g;
  }
  engine::GiftResult send(MemberId giver, const std::string& to, int64_t points) {
    return ok<engine::GiftResult>(points_gift(giver, to, points));
  }
  Status send_status(MemberId giver, const std::string& to, int64_t points) {
    return run(points_gift(giver, to, points)).status;
  }
  engine::ClaimGift claim_body(const std::string& token, MemberId member) {
    return engine::ClaimGift{program_, token, member, "test"};
  }
  Balance balance(MemberId m) { return must(reader_->get_balance(program_, m)); }
  Gift gift(GiftId id) {
    GiftStore gifts(*reader_);
    auto g = must(gifts.find_gift(program_, id));
    if (!g) throw StoreTestError("no gift " + format_id(id));
    return *g;
  }
  int64_t gift_rows() {
    int64_t n = 0;
    must(reader_->connection().query("SELECT COUNT(*) FROM gifts", {},
                                     [&](const Row& r) { n = r.get_int(0); }));
    return n;
  }
  int run_job(int node = 0) {
    engine::RunProgramJob job;
    job.program_id = program_;
    job.job = engine::ProgramJob::kGifts;
    return ok<engine::JobStepResult>(job, node).items;
  }
  engine::RedemptionResult redeem(MemberId m) {
    engine::Redeem r;
    r.program_id = program_;
    r.member_id = m;
    r.reward_id = "five-off";
    return ok<engine::RedemptionResult>(r);
  }
  Status validate(const std::string& code) {
    Cart cart;
    cart.subtotal_minor = 2000;
    return engine::validate_coupon(*reader_, program_, code, cart, clock_.now()).status();
  }
};

TEST_P(GiftEngine, AGiftOfPointsIsHeldThenClaimedIntoLotsThatKeepTheirExpiry) {
  start_with(kPolicy);
  MemberId ann = join("ann");
  const Instant soon = clock_.now() + Duration::from_days(60);
  credit(ann, 200, soon);  // consumed first: it expires first
  credit(ann, 800);
  engine::GiftResult sent = send(ann, "Bob@Example.com", 300);
  EXPECT_EQ(sent.gift.status, GiftStatus::kPending);
  EXPECT_EQ(sent.gift.recipient_email, "bob@example.com");
  EXPECT_EQ(sent.token.size(), kGiftTokenChars);
  EXPECT_EQ(sent.link, "https://shop.example/gift?t=" + sent.token);
  EXPECT_EQ(sent.gift.expires_at, clock_.now() + Duration::from_days(7));
  ASSERT_EQ(sent.gift.lots.size(), 2u);
  EXPECT_EQ(sent.gift.lots[0].points.value, 200);
  EXPECT_EQ(sent.gift.lots[0].expires_at, soon);
  EXPECT_EQ(balance(ann).available.value, 700);
  EXPECT_EQ(balance(ann).held.value, 300);
  // The store keeps the token's digest only.
  EXPECT_NE(gift(sent.gift.id).token_hash, sent.token);
  EXPECT_EQ(gift(sent.gift.id).token_hash, *gift_token_digest(sent.token));

  clock_days(2);
  MemberId bob = join("bob", "someone-else@example.com");  // any member with the link
  engine::GiftResult claimed = ok<engine::GiftResult>(claim_body(sent.token, bob));
  EXPECT_EQ(claimed.gift.status, GiftStatus::kClaimed);
  EXPECT_EQ(claimed.gift.recipient_id, bob);
  EXPECT_EQ(balance(bob).available.value, 300);
  EXPECT_EQ(balance(bob).transferred_net.value, 300);
  EXPECT_EQ(balance(ann).held.value, 0);
  EXPECT_EQ(balance(ann).available.value, 700);
  EXPECT_EQ(balance(ann).transferred_net.value, -300);
  // Bob's points keep their expiry: 200 expiring at `soon`, 100 never.
  auto lots = must(reader_->open_lots(program_, bob));
  ASSERT_EQ(lots.size(), 2u);
  int64_t expiring = 0;
  for (const Lot& l : lots) {
    if (l.expires_at) {
      EXPECT_EQ(*l.expires_at, soon);
      expiring += l.remaining.value;
    }
  }
  EXPECT_EQ(expiring, 200);
  EXPECT_EQ(events_of(engine::kGiftSent), 1);
  EXPECT_EQ(events_of(engine::kGiftClaimed), 1);
  // Claimed once: again is gift-not-claimable, nothing moves.
  EXPECT_EQ(run(claim_body(sent.token, bob)).status.code(), ErrorCode::kGiftNotClaimable);
  EXPECT_EQ(balance(bob).available.value, 300);
}

TEST_P(GiftEngine, AFriendClaimsAtEnrollmentByTokenOrByEmail) {
  start_with(kPolicy);
  MemberId ann = join("ann");
  credit(ann, 1000);
  engine::GiftResult by_link = send(ann, "bob@example.com", 100);
  engine::GiftResult by_email = send(ann, "c.arol+shop@gmail.com", 50);
  // Bob joins with another email but the link's token.
  MemberId bob = join("bob", "robert@example.com", by_link.token);
  EXPECT_EQ(balance(bob).available.value, 100);
  EXPECT_EQ(gift(by_link.gift.id).recipient_id, bob);
  // Carol joins with her address as Gmail reads it: the gift is hers at once.
  MemberId carol = join("carol", "CArol@gmail.com");
  EXPECT_EQ(balance(carol).available.value, 50);
  EXPECT_EQ(gift(by_email.gift.id).status, GiftStatus::kClaimed);
  EXPECT_EQ(balance(ann).held.value, 0);
  EXPECT_EQ(balance(ann).available.value, 850);
  // An enrollment with an unknown token fails, and enrolls nobody.
  engine::EnrollMember e;
  e.member.program_id = program_;
  e.member.external_id = "dave";
  e.member.email = "dave@example.com";
  e.gift_token = "1111111111111111111111111";
  EXPECT_EQ(run(e).status.code(), ErrorCode::kNotFound);
  EXPECT_FALSE(must(reader_->find_member_by_external_id(program_, "dave")).has_value());
}

TEST_P(GiftEngine, WithoutClaimOnEnrollmentTheFriendNeedsTheLink) {
  start_with("  claim_on_enrollment: false\n");
  MemberId ann = join("ann");
  credit(ann, 100);
  engine::GiftResult sent = send(ann, "bob@example.com", 40);
  MemberId bob = join("bob");
  EXPECT_EQ(balance(bob).available.value, 0);
  EXPECT_EQ(gift(sent.gift.id).status, GiftStatus::kPending);
  ok<engine::GiftResult>(claim_body(sent.token, bob));
  EXPECT_EQ(balance(bob).available.value, 40);
}

TEST_P(GiftEngine, AnUnclaimedGiftGoesBackIntoTheSameLotsAfterTheClaimWindow) {
  start_with(kPolicy);
  MemberId ann = join("ann");
  const Instant soon = clock_.now() + Duration::from_days(3);
  credit(ann, 100, soon);
  credit(ann, 100);
  engine::GiftResult sent = send(ann, "bob@example.com", 150);
  clock_days(6);
  EXPECT_EQ(run_job(), 0);  // the window is 7 days
  clock_days(1);
  // At the window's end the claim is refused even before the job ran.
  MemberId bob = join("bob", "robert@example.com");
  EXPECT_EQ(run(claim_body(sent.token, bob)).status.code(), ErrorCode::kGiftNotClaimable);
  EXPECT_EQ(run_job(), 1);
  EXPECT_EQ(run_job(), 0);  // once
  Gift g = gift(sent.gift.id);
  EXPECT_EQ(g.status, GiftStatus::kReturned);
  // The 100 points of the lot that expired on the way expire; 50 come back.
  EXPECT_EQ(g.expired_points.value, 100);
  Balance b = balance(ann);
  EXPECT_EQ(b.held.value, 0);
  EXPECT_EQ(b.available.value, 100);
  EXPECT_EQ(b.expired.value, 100);
  EXPECT_EQ(events_of(engine::kGiftReturned), 1);
  EXPECT_EQ(run(claim_body(sent.token, bob)).status.code(), ErrorCode::kGiftNotClaimable);
}

TEST_P(GiftEngine, TheGiverCancelsAPendingGift) {
  start_with(kPolicy);
  MemberId ann = join("ann");
  credit(ann, 500);
  engine::GiftResult sent = send(ann, "bob@example.com", 200);
  engine::GiftResult back =
      ok<engine::GiftResult>(engine::CancelGift{program_, sent.gift.id, "test"});
  EXPECT_EQ(back.gift.status, GiftStatus::kCancelled);
  EXPECT_EQ(balance(ann).available.value, 500);
  EXPECT_EQ(balance(ann).held.value, 0);
  EXPECT_EQ(run(engine::CancelGift{program_, sent.gift.id, "test"}).status.code(),
            ErrorCode::kGiftNotClaimable);
  MemberId bob = join("bob");  // his email's gift was cancelled: nothing for him
  EXPECT_EQ(balance(bob).available.value, 0);
  EXPECT_EQ(run(claim_body(sent.token, bob)).status.code(), ErrorCode::kGiftNotClaimable);
  EXPECT_EQ(run(engine::CancelGift{program_, GiftId{999}, "test"}).status.code(),
            ErrorCode::kNotFound);
}

TEST_P(GiftEngine, AGiftedCouponGetsANewCodeAndTheGiversCodeStopsWorking) {
  start_with(kPolicy);
  MemberId ann = join("ann");
  credit(ann, 300);
  engine::RedemptionResult r = redeem(ann);
  ASSERT_TRUE(r.coupon.has_value());
  const std::string ann_code = r.code;
  ASSERT_TRUE(validate(ann_code).ok());
  engine::SendGift g = coupon_gift(ann, "bob@example.com", r.redemption.id);
  engine::GiftResult sent = ok<engine::GiftResult>(g);
  EXPECT_EQ(sent.gift.kind, GiftKind::kReward);
  // On its way: neither usable nor cancellable, nor gifted twice.
  EXPECT_EQ(validate(ann_code).code(), ErrorCode::kCouponNotUsable);
  engine::CancelRedemption cancel{program_, ann, r.redemption.id, "", "test"};
  EXPECT_EQ(run(cancel).status.code(), ErrorCode::kNotCancellable);
  g.recipient_email = "carol@example.com";
  EXPECT_EQ(run(g).status.code(), ErrorCode::kGiftNotAllowed);

  MemberId bob = join("bob");  // claims by email at enrollment
  EXPECT_EQ(gift(sent.gift.id).status, GiftStatus::kClaimed);
  // The new code is in gift.claimed (for the shop's mailer), starting with
  // the reward's prefix; the giver's code is gone.
  auto events = must(reader_->list_outbox_events(program_, {}, 1000));
  std::string bob_code;
  for (const auto& e : events) {
    if (e.type != engine::kGiftClaimed) continue;
    const std::string& payload = e.payload_json;
    const size_t at = payload.find("\"coupon_code\":\"");
    ASSERT_NE(at, std::string::npos);
    bob_code = payload.substr(at + 15, payload.find('"', at + 15) - at - 15);
  }
  EXPECT_EQ(bob_code.rfind("GIFT-", 0), 0u) << bob_code;
  EXPECT_EQ(validate(ann_code).code(), ErrorCode::kNotFound);
  EXPECT_TRUE(validate(bob_code).ok());
  RewardStore rewards(*reader_);
  auto coupon = must(rewards.find_coupon(program_, r.coupon->id));
  ASSERT_TRUE(coupon.has_value());
  EXPECT_EQ(coupon->member_id, bob);
  EXPECT_EQ(coupon->status, CouponStatus::kIssued);
  // Ann's points stay spent; her redemption cannot be cancelled any more.
  EXPECT_EQ(balance(ann).available.value, 200);
  EXPECT_EQ(run(cancel).status.code(), ErrorCode::kNotCancellable);
}

TEST_P(GiftEngine, AReturnedCouponIsTheGiversAgain) {
  start_with(kPolicy);
  MemberId ann = join("ann");
  credit(ann, 100);
  engine::RedemptionResult r = redeem(ann);
  engine::SendGift g = coupon_gift(ann, "bob@example.com", r.redemption.id);
  engine::GiftResult sent = ok<engine::GiftResult>(g);
  clock_days(8);
  EXPECT_EQ(run_job(), 1);
  EXPECT_EQ(gift(sent.gift.id).status, GiftStatus::kReturned);
  EXPECT_TRUE(validate(r.code).ok());
  // And so is the redemption: cancelling it refunds the points.
  ok<engine::RedemptionResult>(engine::CancelRedemption{program_, ann, r.redemption.id, "", "t"});
  EXPECT_EQ(balance(ann).available.value, 100);
}

TEST_P(GiftEngine, BadGiftsAreRefusedAndChangeNothing) {
  start_with(kPolicy);
  MemberId ann = join("ann", "Ann.Smith+loyalty@gmail.com");
  credit(ann, 2000);
  const Balance before = balance(ann);
  auto refused = [&](engine::SendGift g, ErrorCode code) {
    EXPECT_EQ(run(g).status.code(), code) << g.recipient_email << " " << g.points.value;
    EXPECT_EQ(balance(ann), before);
    EXPECT_EQ(gift_rows(), 0);
  };
  refused(points_gift(ann, "annsmith@gmail.com", 100), ErrorCode::kGiftToSelf);
  refused(points_gift(ann, "ANN.SMITH@googlemail.com", 100), ErrorCode::kGiftToSelf);
  refused(points_gift(ann, "not an email", 100), ErrorCode::kInvalidRequest);
  refused(points_gift(ann, "bob@example.com", 5), ErrorCode::kGiftNotAllowed);     // < min 10
  refused(points_gift(ann, "bob@example.com", 6000), ErrorCode::kGiftNotAllowed);  // > max
  refused(points_gift(ann, "bob@example.com", 3000),
          ErrorCode::kGiftLimitReached);  // > 1,000 a day
  engine::SendGift long_message = points_gift(ann, "bob@example.com", 100);
  long_message.message = std::string(kMaxGiftMessageLength + 1, 'x');
  refused(long_message, ErrorCode::kInvalidRequest);
  // Too few points: what the member has, not the limits, decides.
  MemberId poor = join("poor");
  credit(poor, 20);
  EXPECT_EQ(send_status(poor, "bob@example.com", 30).code(), ErrorCode::kInsufficientPoints);
  EXPECT_EQ(balance(poor).available.value, 20);
  // Unknown or another program's redemption, and a blocked giver.
  refused(coupon_gift(ann, "bob@example.com", RedemptionId{77}), ErrorCode::kNotFound);
  ok<Member>(engine::SetMemberStatus{program_, ann, MemberStatus::kBlocked});
  Balance blocked = balance(ann);
  EXPECT_EQ(send_status(ann, "bob@example.com", 100).code(), ErrorCode::kMemberBlocked);
  EXPECT_EQ(balance(ann), blocked);
  EXPECT_EQ(gift_rows(), 0);
}

TEST_P(GiftEngine, ClaimsThatCannotBeAreRefused) {
  start_with(kPolicy);
  MemberId ann = join("ann");
  credit(ann, 500);
  engine::GiftResult sent = send(ann, "bob@example.com", 100);
  // The giver cannot claim it, nor can a second account with the giver's email.
  EXPECT_EQ(run(claim_body(sent.token, ann)).status.code(), ErrorCode::kGiftToSelf);
  MemberId twin = join("ann-2", "ann@example.com");
  EXPECT_EQ(run(claim_body(sent.token, twin)).status.code(), ErrorCode::kGiftToSelf);
  // Unknown, malformed tokens and unknown members.
  MemberId bob = join("bob", "robert@example.com");
  EXPECT_EQ(run(claim_body("nope", bob)).status.code(), ErrorCode::kNotFound);
  std::string other = sent.token;
  other[0] = other[0] == 'a' ? 'b' : 'a';
  EXPECT_EQ(run(claim_body(other, bob)).status.code(), ErrorCode::kNotFound);
  EXPECT_EQ(run(claim_body(sent.token, MemberId{999})).status.code(), ErrorCode::kNotFound);
  // A blocked member cannot receive.
  ok<Member>(engine::SetMemberStatus{program_, bob, MemberStatus::kBlocked});
  EXPECT_EQ(run(claim_body(sent.token, bob)).status.code(), ErrorCode::kMemberBlocked);
  EXPECT_EQ(gift(sent.gift.id).status, GiftStatus::kPending);
  EXPECT_EQ(balance(ann).held.value, 100);
  EXPECT_EQ(balance(bob).available.value, 0);
}

TEST_P(GiftEngine, TheLimitsCountEveryGiftOfThePeriod) {
  start_with(kPolicy);  // 3 gifts and 1,000 points a day
  MemberId ann = join("ann");
  credit(ann, 5000);
  engine::GiftResult first = send(ann, "b1@example.com", 400);
  ok<engine::GiftResult>(engine::CancelGift{program_, first.gift.id, "test"});  // still counts
  send(ann, "b2@example.com", 400);
  EXPECT_EQ(send_status(ann, "b3@example.com", 300).code(),
            ErrorCode::kGiftLimitReached);  // points
  send(ann, "b3@example.com", 200);
  EXPECT_EQ(send_status(ann, "b4@example.com", 10).code(), ErrorCode::kGiftLimitReached);  // count
  clock_days(1);  // a new day in Europe/Berlin
  send(ann, "b4@example.com", 1000);
  EXPECT_EQ(gift_rows(), 4);
}

TEST_P(GiftEngine, ProgramsWithoutGiftingRefuseGifts) {
  start("Plain Shop", "USD", "Europe/Berlin", "earning: {return_window_days: 14}\n");
  MemberId ann = enroll("ann");
  credit(ann, 100);
  EXPECT_EQ(send_status(ann, "bob@example.com", 10).code(), ErrorCode::kGiftNotAllowed);
  EXPECT_EQ(balance(ann).available.value, 100);
}

TEST_P(GiftEngine, TwoNodesClaimingOneGiftDeliverItOnce) {
  start_with(kPolicy, /*nodes=*/2);
  MemberId ann = join("ann");
  credit(ann, 1000);
  std::vector<std::string> tokens;
  tokens.reserve(3);
  for (int i = 0; i < 3; ++i)
    tokens.push_back(send(ann, "f" + std::to_string(i) + "@x.com", 100).token);
  MemberId bob = join("bob", "robert@example.com");
  MemberId carol = join("carol", "caroline@example.com");
  for (const std::string& token : tokens) {
    engine::Outcome a, b;
    std::thread t1([&] { a = run(claim_body(token, bob), 0); });
    std::thread t2([&] { b = run(claim_body(token, carol), 1); });
    t1.join();
    t2.join();
    EXPECT_NE(a.status.ok(), b.status.ok()) << a.status.message() << " / " << b.status.message();
    const Status& lost = a.status.ok() ? b.status : a.status;
    EXPECT_EQ(lost.code(), ErrorCode::kGiftNotClaimable) << lost.message();
  }
  EXPECT_EQ(balance(bob).available.value + balance(carol).available.value, 300);
  EXPECT_EQ(balance(ann).held.value, 0);
  EXPECT_EQ(balance(ann).available.value, 700);
}

INSTANTIATE_TEST_SUITE_P(Stores, GiftEngine,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& info) { return backend_name(info.param); });

}  // namespace
}  // namespace loyalty::store::testing
