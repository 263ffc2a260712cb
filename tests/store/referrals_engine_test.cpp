// Referrals through the real engine on both stores (docs/referrals.md): codes,
// attaching at enrollment, on an order and by invitation; completion when the
// qualifying order's return window ends; refunds before and after; every fraud
// control; the limits and the program cap; an admin's review; bad input; two
// nodes racing on one referee; and a simulation of honest and fraudulent
// patterns whose outcome is known exactly. `verify` checks the ledger after
// each test (EngineScenario).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "engine/referral_commands.h"
#include "store/engine_scenario.h"

namespace loyalty::store::testing {
namespace {

// Orders vest 14 days after payment; referrals need 25.00 of merchandise.
constexpr const char* kBaseConfig = R"(
earning:
  return_window_days: 14
  vest_from: paid
earn_rules:
  - id: base
    name: 1 point per USD
    trigger: order
    kind: spend
    points_per_unit: 1
)";

std::string config_with(const std::string& referrals) {
  return std::string(kBaseConfig) + "referrals:\n" + referrals;
}

const std::string kPolicy = R"(  code: {prefix: FR}
  link_template: "https://shop.example/r/{code}"
  min_order: "25.00"
  referrer_reward: {points: 500}
  referee_reward: {points: 200}
  fraud:
    disposable_domains: [mailinator.com]
    velocity: {max_referrals: 3, window_minutes: 60}
)";

class ReferralEngine : public EngineScenario {
 protected:
  void start_with(const std::string& referrals, int nodes = 1) {
    start("Referral Shop", "USD", "Europe/Berlin", config_with(referrals), nodes);
  }
  MemberId join(const std::string& external_id, const std::string& code = "",
                ReferralMemberSignals signals = {}, const std::string& email = "") {
    engine::EnrollMember e;
    e.member.program_id = program_;
    e.member.external_id = external_id;
    e.member.email = email.empty() ? external_id + "@example.com" : email;
    e.referral.code = code;
    e.referral.signals = std::move(signals);
    return ok<Member>(e).id;
  }
  Status join_status(const std::string& external_id, const std::string& code) {
    engine::EnrollMember e;
    e.member.program_id = program_;
    e.member.external_id = external_id;
    e.member.email = external_id + "@example.com";
    e.referral.code = code;
    return run(e).status;
  }
  std::string code_of(MemberId member) {
    return ok<engine::ReferralCodeView>(engine::EnsureReferralCode{program_, member}).code.code;
  }
  engine::CreateOrder order_body(MemberId member, const std::string& external_id,
                                 int64_t price_minor, const std::string& code = "") {
    engine::CreateOrder c =
        one_item_order(member, external_id, price_minor, "USD", OrderStatus::kPaid);
    c.referral.code = code;
    return c;
  }
  OrderId pay(MemberId member, const std::string& external_id, int64_t price_minor,
              const std::string& code = "", int node = 0) {
    return ok<engine::OrderResult>(order_body(member, external_id, price_minor, code), node)
        .order.id;
  }
  int run_job(int node = 0) {
    engine::RunProgramJob job;
    job.program_id = program_;
    job.job = engine::ProgramJob::kReferrals;
    return ok<engine::JobStepResult>(job, node).items;
  }
  Referral referral_of(MemberId referee) {
    auto r = must(reader_->find_referral_of_referee(program_, referee));
    if (!r) throw StoreTestError("no referral of " + format_id(referee));
    return *r;
  }
  int64_t available(MemberId m) { return must(reader_->get_balance(program_, m)).available.value; }
};

TEST_P(ReferralEngine, AnHonestReferralCompletesWhenTheOrderVests) {
  start_with(kPolicy);
  MemberId ann = join("ann");
  const std::string code = code_of(ann);
  EXPECT_EQ(code.rfind("FR-", 0), 0u) << code;
  EXPECT_EQ(code.size(), 3u + 8u);
  EXPECT_EQ(code_of(ann), code);         // the same code every time
  std::string typed = " " + code + " ";  // as a shopper types it
  std::transform(typed.begin(), typed.end(), typed.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  MemberId bob = join("bob", typed);
  Referral r = referral_of(bob);
  EXPECT_EQ(r.status, ReferralStatus::kPending);
  EXPECT_EQ(r.referrer, ann);
  EXPECT_EQ(r.code, code);
  EXPECT_TRUE(r.findings.empty());

  // Below the minimum: not the qualifying order.
  pay(bob, "o-small", 2000);
  EXPECT_TRUE(referral_of(bob).order_external_id.empty());
  pay(bob, "o-1", 3000);
  r = referral_of(bob);
  EXPECT_EQ(r.order_external_id, "o-1");
  EXPECT_EQ(r.order_value_minor, 3000);
  ASSERT_TRUE(r.due_at.has_value());
  EXPECT_EQ(*r.due_at, clock_.now() + Duration::from_days(14));
  EXPECT_EQ(run_job(), 0);
  clock_days(13);
  EXPECT_EQ(run_job(), 0);
  EXPECT_EQ(referral_of(bob).status, ReferralStatus::kPending);
  clock_days(1);
  EXPECT_EQ(run_job(), 1);
  r = referral_of(bob);
  EXPECT_EQ(r.status, ReferralStatus::kCompleted);
  EXPECT_EQ(r.referrer_points, 500);
  EXPECT_EQ(r.referee_points, 200);
  EXPECT_EQ(available(ann), 500);
  EXPECT_EQ(available(bob), 20 + 30 + 200);  // order points vested + the reward
  EXPECT_EQ(run_job(), 0);                   // once
  EXPECT_EQ(events_of("referral.created"), 1);
  EXPECT_EQ(events_of("referral.completed"), 1);
  ReferralStats stats = must(reader_->referral_stats(program_));
  EXPECT_EQ(stats.referrals, 1);
  EXPECT_EQ(stats.conversions, 1);
  EXPECT_EQ(stats.referee_revenue_minor, 3000);
  EXPECT_EQ(stats.reward_points, 700);
}

TEST_P(ReferralEngine, AFirstOrderCarriesTheCodeAndTheImmediateWelcomeIsPaidAtOnce) {
  start_with(R"(  referrer_reward: {points: 500}
  referee_reward: {points: 200, timing: immediate}
)");
  MemberId ann = join("ann");
  MemberId bob = join("bob");  // enrolled without a code, never ordered
  pay(bob, "o-1", 3000, code_of(ann));
  Referral r = referral_of(bob);
  EXPECT_EQ(r.status, ReferralStatus::kPending);
  EXPECT_TRUE(r.welcome_paid);
  EXPECT_EQ(r.referee_points, 200);
  EXPECT_EQ(r.order_external_id, "o-1");
  EXPECT_EQ(available(bob), 200);
  // The same code again on the next order changes nothing.
  pay(bob, "o-2", 3000, code_of(ann));
  clock_days(14);
  EXPECT_EQ(run_job(), 1);
  r = referral_of(bob);
  EXPECT_EQ(r.status, ReferralStatus::kCompleted);
  EXPECT_EQ(r.referee_points, 200);  // not twice
  EXPECT_EQ(r.referee_skip, RewardSkip::kAlreadyPaid);
  EXPECT_EQ(available(ann), 500);
}

TEST_P(ReferralEngine, ARefundBeforeVestingCancelsAndAfterCompletionClawsBackPerPolicy) {
  start_with(kPolicy + "  refund_after_completion: claw_back\n");
  MemberId ann = join("ann");
  MemberId bob = join("bob", code_of(ann));
  OrderId o1 = pay(bob, "o-1", 3000);
  refund(o1, 1000, "r-1");  // 20.00 left: below the minimum
  Referral r = referral_of(bob);
  EXPECT_EQ(r.status, ReferralStatus::kCancelled);
  EXPECT_NE(r.decision_reason.find("o-1"), std::string::npos);
  clock_days(14);
  EXPECT_EQ(run_job(), 0);
  EXPECT_EQ(available(ann), 0);
  EXPECT_EQ(events_of("referral.cancelled"), 1);

  MemberId cy = join("cy", code_of(ann));
  OrderId o2 = pay(cy, "o-2", 4000);
  clock_days(14);
  EXPECT_EQ(run_job(), 1);
  EXPECT_EQ(available(ann), 500);
  refund(o2, 2000, "r-2");  // un-qualifies after completion: claw back
  r = referral_of(cy);
  EXPECT_EQ(r.status, ReferralStatus::kCompleted);
  EXPECT_TRUE(r.clawed_back);
  EXPECT_EQ(available(ann), 0);
  refund(o2, 500, "r-3");  // once
  EXPECT_EQ(available(ann), 0);
  EXPECT_EQ(events_of("referral.clawed_back"), 1);
}

TEST_P(ReferralEngine, KeepPolicyLeavesTheRewardsAfterCompletion) {
  start_with(kPolicy);
  MemberId ann = join("ann");
  MemberId bob = join("bob", code_of(ann));
  OrderId o = pay(bob, "o-1", 3000);
  clock_days(14);
  EXPECT_EQ(run_job(), 1);
  refund(o, 3000, "r-1");
  EXPECT_FALSE(referral_of(bob).clawed_back);
  EXPECT_EQ(available(ann), 500);
}

TEST_P(ReferralEngine, EachFraudControlHoldsOrRejectsWithItsReason) {
  start_with(kPolicy);
  MemberId ann = join("ann", "", {"ship-a", "pay-a", "dev-a", "ip-a"}, "a.n.n+shop@gmail.com");
  const std::string code = code_of(ann);
  struct Case {
    std::string external_id;
    std::string email;
    ReferralMemberSignals signals;
    ReferralStatus want;
    FraudControl control;
  };
  const Case cases[] = {
      {"self", "ann@googlemail.com", {}, ReferralStatus::kRejected, FraudControl::kSelfReferral},
      {"temp", "x@mailinator.com", {}, ReferralStatus::kRejected, FraudControl::kDisposableEmail},
      {"ship",
       "s@example.com",
       {"ship-a", "", "", ""},
       ReferralStatus::kHeld,
       FraudControl::kSameShippingAddress},
      {"pay",
       "p@example.com",
       {"", "pay-a", "", ""},
       ReferralStatus::kHeld,
       FraudControl::kSamePayment},
      {"dev",
       "d@example.com",
       {"", "", "dev-a", ""},
       ReferralStatus::kHeld,
       FraudControl::kSameDevice},
      {"ip", "i@example.com", {"", "", "", "ip-a"}, ReferralStatus::kHeld, FraudControl::kSameIp},
  };
  for (const Case& c : cases) {
    clock_.advance(Duration::from_days(1));  // out of the velocity window
    MemberId m = join(c.external_id, code, c.signals, c.email);
    Referral r = referral_of(m);
    EXPECT_EQ(r.status, c.want) << c.external_id;
    ASSERT_EQ(r.findings.size(), 1u) << c.external_id;
    EXPECT_EQ(r.findings[0].control, c.control) << c.external_id;
    EXPECT_FALSE(r.findings[0].reason.empty());
  }
  // Velocity: the fourth referral within 60 minutes is held.
  clock_days(1);
  for (int i = 0; i < 4; ++i) {
    MemberId m = join("fast" + std::to_string(i), code);
    Referral r = referral_of(m);
    EXPECT_EQ(r.status, i < 3 ? ReferralStatus::kPending : ReferralStatus::kHeld) << i;
    if (i == 3) {
      EXPECT_EQ(r.findings.at(0).control, FraudControl::kVelocity);
    }
  }
  EXPECT_EQ(events_of("referral.flagged"), 5);
  EXPECT_EQ(events_of("referral.rejected"), 2);
}

TEST_P(ReferralEngine, AHeldReferralWaitsForAReviewThenCompletesOrIsRejected) {
  start_with(kPolicy);
  MemberId ann = join("ann", "", {"", "", "", "ip-1"});
  MemberId bob = join("bob", code_of(ann), {"", "", "", "ip-1"});
  MemberId cy = join("cy", code_of(ann), {"", "", "", "ip-1"});
  pay(bob, "o-b", 3000);
  pay(cy, "o-c", 3000);
  clock_days(14);
  EXPECT_EQ(run_job(), 0);  // held referrals never complete by themselves
  EXPECT_EQ(available(ann), 0);
  const Referral held_bob = referral_of(bob);
  EXPECT_EQ(held_bob.status, ReferralStatus::kHeld);
  Referral approved = ok<Referral>(
      engine::ReviewReferral{program_, held_bob.id, true, "same household, checked", "key_1"});
  EXPECT_EQ(approved.status, ReferralStatus::kCompleted);  // its order had vested already
  EXPECT_EQ(approved.decision_reason, "same household, checked");
  EXPECT_EQ(available(ann), 500);
  Referral rejected = ok<Referral>(
      engine::ReviewReferral{program_, referral_of(cy).id, false, "one device", "key_1"});
  EXPECT_EQ(rejected.status, ReferralStatus::kRejected);
  // A decided referral cannot be reviewed again.
  EXPECT_EQ(run(engine::ReviewReferral{program_, rejected.id, true, "", "key_1"}).status.code(),
            ErrorCode::kReferralNotReviewable);
  EXPECT_EQ(run(engine::ReviewReferral{program_, approved.id, false, "", "key_1"}).status.code(),
            ErrorCode::kReferralNotReviewable);
  EXPECT_EQ(run(engine::ReviewReferral{program_, ReferralId{999}, true, "", "k"}).status.code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(events_of("referral.approved"), 1);
  EXPECT_EQ(available(ann), 500);
}

TEST_P(ReferralEngine, LimitsPerReferrerAndTheProgramCapAreNeverPassed) {
  start_with(R"(  referrer_reward: {points: 500}
  referee_reward: {points: 200}
  limits:
    period: month
    referrer_rewards_per_period: 2
    referrer_rewards_lifetime: 3
    program_points_per_period: 2600
  fraud:
    velocity: {enabled: false}
)");
  MemberId ann = join("ann");
  MemberId zed = join("zed");
  std::vector<MemberId> referees;
  referees.reserve(5);
  for (int i = 0; i < 3; ++i) referees.push_back(join("a" + std::to_string(i), code_of(ann)));
  for (int i = 0; i < 2; ++i) referees.push_back(join("z" + std::to_string(i), code_of(zed)));
  for (size_t i = 0; i < referees.size(); ++i) {
    pay(referees[i], "o-" + std::to_string(i), 1000);
  }
  clock_days(14);
  EXPECT_EQ(run_job(), 5);
  // Paid in due order (all due at the same instant: by id): a0 700, a1 700,
  // a2 200 (ann's period limit), z0 700 -> 2300; z1 would pass 2600 with
  // 700: the referee's 200 fits (2500), the referrer's 500 does not.
  const Referral a2 = referral_of(referees[2]);
  EXPECT_EQ(a2.referrer_skip, RewardSkip::kReferrerPeriodLimit);
  EXPECT_EQ(a2.referee_points, 200);
  const Referral z1 = referral_of(referees[4]);
  EXPECT_EQ(z1.referee_points, 200);
  EXPECT_EQ(z1.referrer_skip, RewardSkip::kProgramCap);
  EXPECT_EQ(available(ann), 1000);
  EXPECT_EQ(available(zed), 500);
  EXPECT_EQ(must(reader_->referral_stats(program_)).reward_points, 2500);
  // Next month: ann's lifetime limit (3) leaves one more reward.
  clock_days(31);
  MemberId b0 = join("b0", code_of(ann));
  MemberId b1 = join("b1", code_of(ann));
  pay(b0, "o-b0", 1000);
  pay(b1, "o-b1", 1000);
  clock_days(14);
  EXPECT_EQ(run_job(), 2);
  EXPECT_EQ(referral_of(b0).referrer_points, 500);
  EXPECT_EQ(referral_of(b1).referrer_skip, RewardSkip::kReferrerLifetimeLimit);
  EXPECT_EQ(available(ann), 1500);
}

TEST_P(ReferralEngine, BadCodesAndRefereesAreRefusedWithNothingWritten) {
  start_with(kPolicy + "  allow_existing_customers: true\n");
  MemberId ann = join("ann");
  const std::string code = code_of(ann);
  EXPECT_EQ(join_status("x1", "FR-NOPE2345").code(), ErrorCode::kUnknownReferralCode);
  EXPECT_EQ(join_status("x2", "not a code!").code(), ErrorCode::kUnknownReferralCode);
  EXPECT_FALSE(must(reader_->find_member_by_external_id(program_, "x1")).has_value());
  // Own code (an existing member attaching it later).
  EXPECT_EQ(run(engine::AttachReferral{program_, ann, {code, {}}}).status.code(),
            ErrorCode::kReferralNotAllowed);
  // A second, different code for a referee.
  MemberId bob = join("bob", code);
  MemberId cy = join("cy");
  EXPECT_EQ(run(engine::AttachReferral{program_, bob, {code_of(cy), {}}}).status.code(),
            ErrorCode::kConflict);
  EXPECT_EQ(run(order_body(bob, "o-x", 3000, code_of(cy))).status.code(), ErrorCode::kConflict);
  EXPECT_FALSE(must(reader_->find_order_by_external_id(program_, "o-x")).has_value());
  // An existing customer who already ordered.
  pay(cy, "o-cy", 3000);
  EXPECT_EQ(run(engine::AttachReferral{program_, cy, {code, {}}}).status.code(),
            ErrorCode::kReferralNotAllowed);
  // A guest order cannot carry a code.
  engine::CreateOrder guest = order_body(MemberId{}, "o-g", 3000, code);
  guest.customer.customer_external_id = "guest-1";
  EXPECT_EQ(run(guest).status.code(), ErrorCode::kReferralNotAllowed);
  // A blocked referrer's code is inactive.
  ok<Member>(engine::SetMemberStatus{program_, ann, MemberStatus::kBlocked});
  EXPECT_EQ(join_status("x3", code).code(), ErrorCode::kUnknownReferralCode);
  ReferralStats stats = must(reader_->referral_stats(program_));
  EXPECT_EQ(stats.referrals, 1);  // bob's only
}

TEST_P(ReferralEngine, CodesAreTakenAtEnrollmentOnlyWhenThePolicySaysSo) {
  start_with(kPolicy + "  allow_existing_customers: false\n");
  MemberId ann = join("ann");
  MemberId bob = join("bob");
  EXPECT_EQ(run(order_body(bob, "o-1", 3000, code_of(ann))).status.code(),
            ErrorCode::kReferralNotAllowed);
  EXPECT_NO_THROW(join("cy", code_of(ann)));
}

TEST_P(ReferralEngine, AProgramWithoutReferralsRefusesCodes) {
  start("Plain Shop", "USD", "Europe/Berlin", kBaseConfig);
  EXPECT_EQ(join_status("x", "FR-ABCD2345").code(), ErrorCode::kReferralNotAllowed);
  MemberId ann = join("ann");
  EXPECT_EQ(run(engine::EnsureReferralCode{program_, ann}).status.code(),
            ErrorCode::kReferralNotAllowed);
  EXPECT_FALSE(must(reader_->member_referral_code(program_, ann)).has_value());
}

TEST_P(ReferralEngine, AnInvitedEmailEnrollingWithoutACodeIsReferredByTheFirstInviter) {
  start_with(kPolicy);
  MemberId ann = join("ann");
  MemberId zed = join("zed");
  auto inv = ok<engine::InvitationResult>(
      engine::InviteReferral{program_, ann, "Fri.End+promo@GMail.com"});
  EXPECT_TRUE(inv.created);
  EXPECT_EQ(inv.invitation.email, "friend@gmail.com");
  EXPECT_FALSE(
      ok<engine::InvitationResult>(engine::InviteReferral{program_, ann, "friend@gmail.com"})
          .created);
  ok<engine::InvitationResult>(engine::InviteReferral{program_, zed, "friend@gmail.com"});
  EXPECT_EQ(run(engine::InviteReferral{program_, ann, "ann@example.com"}).status.code(),
            ErrorCode::kReferralNotAllowed);
  EXPECT_EQ(run(engine::InviteReferral{program_, ann, "not-an-email"}).status.code(),
            ErrorCode::kInvalidRequest);
  EXPECT_EQ(events_of("referral.invited"), 2);
  MemberId f = join("friend", "", {}, "friend@gmail.com");
  EXPECT_EQ(referral_of(f).referrer, ann);
  EXPECT_EQ(must(reader_->referral_stats(program_)).invitations, 2);
}

// Two first orders of one referee at once (two engines = two nodes) pay the
// referral once.
TEST_P(ReferralEngine, TwoFirstOrdersOfOneRefereeAtOncePayOnce) {
  start_with(R"(  referrer_reward: {points: 500}
  referee_reward: {points: 200, timing: immediate}
  fraud:
    velocity: {enabled: false}
)",
             2);
  MemberId ann = join("ann");
  const std::string code = code_of(ann);
  for (int round = 0; round < 8; ++round) {
    MemberId bob = join("bob" + std::to_string(round));
    std::vector<std::thread> threads;
    threads.reserve(2);
    std::vector<Status> results(2);
    for (int node = 0; node < 2; ++node) {
      threads.emplace_back([&, node] {
        results[node] =
            run(order_body(bob, "o-" + std::to_string(round) + "-" + std::to_string(node), 3000,
                           code),
                node)
                .status;
      });
    }
    for (auto& t : threads) t.join();
    for (const Status& st : results) {
      // Both orders are written; at most one loses a race on the referral
      // (PostgreSQL, retried by the caller) and never a double reward.
      EXPECT_TRUE(st.ok() || st.code() == ErrorCode::kConflict) << st.message();
    }
    Referral r = referral_of(bob);
    EXPECT_EQ(r.referee_points, 200);
    EXPECT_EQ(available(bob), 200);  // the welcome; the orders' points are pending
  }
  clock_days(14);
  EXPECT_EQ(run_job(0) + run_job(1), 8);
  EXPECT_EQ(available(ann), 8 * 500);
  EXPECT_EQ(must(reader_->referral_stats(program_)).reward_points, 8 * 700);
}

// A mix of honest and fraudulent patterns whose outcome is known: every
// pattern appears a known number of times, in a seeded shuffled order.
TEST_P(ReferralEngine, SimulationOfHonestAndFraudulentPatterns) {
  start_with(R"(  min_order: "25.00"
  referrer_reward: {points: 100}
  referee_reward: {points: 50}
  fraud:
    disposable_domains: [mailinator.com, trashmail.de]
    velocity: {enabled: false}
)");
  enum Pattern { kHonest, kSmallOrder, kRefunded, kSelf, kDisposable, kSameDevice, kSamePayment };
  const int counts[] = {40, 10, 8, 6, 6, 5, 5};
  std::vector<Pattern> plan;
  for (int p = 0; p < 7; ++p) {
    for (int i = 0; i < counts[p]; ++i) plan.push_back(static_cast<Pattern>(p));
  }
  std::mt19937 rng(20261123);
  std::shuffle(plan.begin(), plan.end(), rng);
  std::vector<MemberId> referrers;
  std::vector<std::string> codes;
  for (int i = 0; i < 10; ++i) {
    referrers.push_back(join("r" + std::to_string(i), "", {"", "", "dev-r" + std::to_string(i), ""},
                             "ref" + std::to_string(i) + "@gmail.com"));
    codes.push_back(code_of(referrers.back()));
  }
  int n = 0;
  for (Pattern p : plan) {
    const int who = n % 10;
    const std::string id = "c" + std::to_string(n++);
    std::string email = id + "@example.com";
    ReferralMemberSignals signals;
    if (p == kSelf) email = "r.e.f" + std::to_string(who) + "+x@gmail.com";
    if (p == kDisposable) email = id + "@trashmail.de";
    if (p == kSameDevice) signals.device_hash = "dev-r" + std::to_string(who);
    if (p == kSamePayment) signals.payment_hash = "pay-" + id;
    if (p == kSamePayment) {
      // The referrer paid with that card before.
      ok<engine::OrderResult>([&] {
        auto o = order_body(referrers[who], "ref-" + id, 500);
        o.referral.signals.payment_hash = "pay-" + id;
        return o;
      }());
    }
    MemberId m = join(id, codes[who], signals, email);
    if (p == kSmallOrder) {
      pay(m, "o-" + id, 2499);
    } else {
      OrderId o = pay(m, "o-" + id, 2500);
      if (p == kRefunded) refund(o, 1, "r-" + id);
    }
    clock_.advance(Duration::from_seconds(60));
  }
  clock_days(14);
  while (run_job() > 0) {
  }
  ok<engine::CatchUpResult>(engine::CatchUp{{}, 10'000, {}});  // every order's points vested
  ReferralStats stats = must(reader_->referral_stats(program_));
  EXPECT_EQ(stats.referrals, 80);
  EXPECT_EQ(stats.conversions, 40);
  EXPECT_EQ(stats.cancelled, 8);
  EXPECT_EQ(stats.rejected, 12);  // self 6 + disposable 6
  EXPECT_EQ(stats.held, 10);      // device 5 + payment 5
  EXPECT_EQ(stats.reward_points, 40 * 150);
  auto pending = must(reader_->list_referrals(program_, ReferralStatus::kPending, {}, 100));
  EXPECT_EQ(pending.size(), 10u);  // the small orders: no qualifying order yet
  int64_t paid_to_referrers = 0;
  for (MemberId r : referrers) paid_to_referrers += available(r);
  EXPECT_EQ(paid_to_referrers, 40 * 100 + 5 * 5);  // + the 5.00 orders' points
}

INSTANTIATE_TEST_SUITE_P(Stores, ReferralEngine,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& info) { return backend_name(info.param); });

}  // namespace
}  // namespace loyalty::store::testing
