// VIP and paid membership on both stores (docs/tiers.md, "VIP" and "Paid
// membership"). VIP: an invite-only tier is reached only by an admin's
// assignment with an account manager; spend never reaches it, the period-end
// job never moves a VIP, ending or replacing the assignment (or its lapse)
// removes the VIP with an outbox event, and the account managers' list pages
// by member id. Paid membership: a payment activates the plan and its tier,
// the job sends a renewal reminder and lapses it after the grace, the tier
// falls back to the qualified one; cancellation; idempotent payments; a year of
// monthly renewals. The real engine and scheduler over a ManualClock, orders
// through the engine's order path.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "jobs/scheduler.h"
#include "store/engine_scenario.h"

namespace loyalty {
namespace {

using store::testing::Backend;
using store::testing::must;

using store::testing::at;

// Spend per calendar year in UTC: Silver at 100.00, Gold at 300.00, and VIP
// (invite-only, above Gold) with a tier-only reward. Plans: Plus (9.99 a
// month, 5 days of grace, grants Gold) and Ship (99.00 a year, free
// shipping); renewal reminders 3 days before a period ends.
constexpr const char* kTiers = R"(
tiers:
  metric: spend
  window: calendar_year
  levels:
    - {id: silver, name: Silver, threshold: "100.00"}
    - {id: gold, name: Gold, threshold: "300.00"}
    - {id: vip, name: VIP, invite_only: true, benefits: {rewards: [vip-lounge]}}
paid_membership:
  reminder_days: 3
  plans:
    - {id: plus, name: Plus, price: "9.99", period: month, grace_days: 5, grants: {tier: gold}}
    - id: ship
      name: Ship
      price: "99.00"
      period: year
      grants: {benefits: {free_shipping: true}}
)";

const AccountManager kAda{"Ada Lovelace", "ada@example.com", ""};
const AccountManager kAdmin7{"", "", "adm_7"};

class VipAndPaidMembership : public store::testing::EngineScenario {
 protected:
  void SetUp() override {
    clock_.set(at("2026-02-10T12:00:00Z"));
    start("Vip", "USD", "UTC", kTiers);
  }
  void pay(MemberId member, int64_t minor) {
    engine::CreateOrder order;
    order.program_id = program_;
    order.customer.member_id = member;
    order.status = OrderStatus::kPaid;
    order.order.external_id = "o" + std::to_string(++orders_);
    order.order.currency = "USD";
    order.order.placed_at = clock_.now();
    OrderItem item;
    item.sku = "S";
    item.name = "Suit";
    item.quantity = 1;
    item.unit_price_minor = minor;
    order.order.items = {item};
    ok<engine::OrderResult>(order);
  }
  engine::SetMemberTier assignment(MemberId member, std::string tier,
                                   std::optional<AccountManager> manager,
                                   std::optional<Instant> expires_at = std::nullopt) {
    engine::SetMemberTier c;
    c.program_id = program_;
    c.member_id = member;
    c.tier_id = std::move(tier);
    c.reason = "top customer";
    c.expires_at = expires_at;
    c.account_manager = std::move(manager);
    c.actor = "key_1";
    return c;
  }
  std::string tier_of(MemberId member) {
    auto s = must(reader_->find_member_tier(program_, member));
    return s ? s->tier_id : "";
  }
  std::vector<std::string> history(MemberId member) {
    std::vector<std::string> out;
    for (const auto& h : must(reader_->list_tier_history(program_, member, {}, 100))) {
      out.insert(out.begin(), std::string(to_string(h.change)) + " " + h.from_tier + "->" +
                                  h.to_tier + " " + h.reason);
    }
    return out;
  }
  std::vector<std::string> events(std::string_view prefix) {
    std::vector<std::string> out;
    for (const auto& e : must(reader_->list_outbox_events(program_, {}, store::kMaxOutboxPage))) {
      if (e.type.starts_with(prefix)) out.push_back(e.type + " " + e.payload_json);
    }
    return out;
  }
  std::vector<MemberId> vips(std::string_view manager = "", MemberId after = {}, int limit = 100) {
    std::vector<MemberId> out;
    for (const auto& v :
         must(reader_->list_vip_members(program_, manager, after, clock_.now(), limit))) {
      out.push_back(v.member_id);
    }
    return out;
  }
  int run_tier_job() {
    jobs::JobSelection s = must(jobs::parse_job_selection("tiers"));
    return static_cast<int>(must(jobs::run_jobs_once(*reader_, engine(), clock_, s)).tier_states);
  }
  // `loyaltyd jobs run --job paid_memberships`: the actions it took.
  int run_paid_job() {
    jobs::JobSelection s = must(jobs::parse_job_selection("paid_memberships"));
    return static_cast<int>(
        must(jobs::run_jobs_once(*reader_, engine(), clock_, s)).paid_membership_actions);
  }
  engine::RecordPaidPayment payment(MemberId member, const std::string& external_id,
                                    const std::string& plan = "plus", int64_t amount = 999) {
    engine::RecordPaidPayment p;
    p.program_id = program_;
    p.member_id = member;
    p.plan_id = plan;
    p.amount_minor = amount;
    p.currency = "USD";
    p.external_payment_id = external_id;
    return p;
  }
  engine::PaidMembershipView membership(MemberId member) {
    return must(engine::read_paid_membership(*reader_, program_, member, clock_.now()));
  }
  // The tier the member has now (GET /v1/members/{id}/tier's "tier").
  std::string effective_tier(MemberId member) {
    return must(engine::read_member_tier(*reader_, program_, member, clock_.now())).effective_tier;
  }

  int orders_ = 0;
};

TEST_P(VipAndPaidMembership, SpendNeverReachesAnInviteOnlyTier) {
  const MemberId big = enroll("big-spender");
  pay(big, 50'000'00);  // far above Gold, the highest tier with a threshold
  EXPECT_EQ(tier_of(big), "gold");
  EXPECT_TRUE(vips().empty());
}

TEST_P(VipAndPaidMembership, AnAdminAssignsAVipWhomNeitherOrdersNorThePeriodEndJobMove) {
  const MemberId m = enroll("vip");
  pay(m, 350'00);  // Gold
  ok<engine::MemberTierView>(assignment(m, "vip", kAda));
  EXPECT_EQ(tier_of(m), "vip");
  ASSERT_EQ(events("vip.").size(), 1u);
  EXPECT_NE(events("vip.")[0].find(R"("account_manager":{"name":"Ada Lovelace",)"
                                   R"("email":"ada@example.com"},"reason":"top customer")"),
            std::string::npos)
      << events("vip.")[0];
  // More orders change nothing; nor do the New Years with no spend at all.
  pay(m, 1'000'00);
  for (const char* new_year : {"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"}) {
    clock_.set(at(new_year));
    EXPECT_EQ(run_tier_job(), 1) << new_year;  // evaluated: kept as it is
    EXPECT_EQ(tier_of(m), "vip") << new_year;
  }
  EXPECT_EQ(history(m),
            (std::vector<std::string>{"upgraded ->gold ", "assigned gold->vip top customer"}));
  EXPECT_EQ(vips(), std::vector<MemberId>{m});
}

TEST_P(VipAndPaidMembership, AnInviteOnlyTierNeedsAnAccountManagerAndOnlyItHasOne) {
  const MemberId m = enroll("m");
  engine::Outcome missing = run(assignment(m, "vip", std::nullopt));
  EXPECT_EQ(missing.status.code(), ErrorCode::kInvalidRequest);
  EXPECT_EQ(missing.status.message(),
            "account_manager: required for the invite-only tier 'vip' (an admin_id, or a name "
            "and an email)");
  engine::Outcome needless = run(assignment(m, "gold", kAda));
  EXPECT_EQ(needless.status.code(), ErrorCode::kInvalidRequest);
  EXPECT_EQ(needless.status.message(),
            "account_manager: only an invite-only tier has an account manager");
  engine::Outcome nothing_to_end = run(assignment(m, "", std::nullopt));
  EXPECT_EQ(nothing_to_end.status.code(), ErrorCode::kConflict);
  // No partial write.
  EXPECT_EQ(tier_of(m), "");
  EXPECT_TRUE(history(m).empty());
  EXPECT_TRUE(events("vip.").empty());
  EXPECT_TRUE(events("tier.").empty());
}

TEST_P(VipAndPaidMembership, EndingReplacingOrLapsingRemovesTheVipWithAnEvent) {
  const MemberId ended = enroll("ended");
  pay(ended, 150'00);  // Silver by spend
  const MemberId replaced = enroll("replaced");
  const MemberId lapses = enroll("lapses");
  ok<engine::MemberTierView>(assignment(ended, "vip", kAda));
  ok<engine::MemberTierView>(assignment(replaced, "vip", kAdmin7));
  ok<engine::MemberTierView>(assignment(lapses, "vip", kAda, at("2026-03-01T00:00:00Z")));
  EXPECT_EQ(vips(), (std::vector<MemberId>{ended, replaced, lapses}));

  ok<engine::MemberTierView>(assignment(ended, "", std::nullopt));  // "tier": null
  EXPECT_EQ(tier_of(ended), "silver");                              // what the spend gives
  ok<engine::MemberTierView>(assignment(replaced, "gold", std::nullopt));
  EXPECT_EQ(tier_of(replaced), "gold");
  EXPECT_EQ(vips(), std::vector<MemberId>{lapses});

  // The lapse: gone from the list at once, stored (with its event) by the job.
  clock_.set(at("2026-03-01T00:00:00Z"));
  EXPECT_TRUE(vips().empty());
  EXPECT_EQ(run_tier_job(), 1);
  EXPECT_EQ(tier_of(lapses), "");
  const std::vector<std::string> removed = events("vip.removed");
  ASSERT_EQ(removed.size(), 3u);
  EXPECT_NE(removed[0].find(R"("from_tier":"vip","to_tier":"silver","lapsed":false)"),
            std::string::npos)
      << removed[0];
  EXPECT_NE(removed[2].find(R"("lapsed":true)"), std::string::npos) << removed[2];
  EXPECT_EQ(history(ended).back(), "assigned vip->silver top customer");
  // Nothing left behind: the rows are gone, not only hidden.
  int64_t rows = -1;
  must(reader_->connection().query("SELECT COUNT(*) FROM vip_members WHERE program_id = ?",
                                   {program_.value},
                                   [&](const store::Row& r) { rows = r.get_int(0); }));
  EXPECT_EQ(rows, 0);
}

TEST_P(VipAndPaidMembership, TheListPagesByMemberAndFiltersByAccountManager) {
  std::vector<MemberId> adas, admins;
  for (int i = 0; i < 5; ++i) {
    const MemberId m = enroll("m" + std::to_string(i));
    const bool ada = i % 2 == 0;
    ok<engine::MemberTierView>(assignment(m, "vip", ada ? kAda : kAdmin7));
    (ada ? adas : admins).push_back(m);
  }
  EXPECT_EQ(vips("ada@example.com"), adas);
  EXPECT_EQ(vips("adm_7"), admins);
  EXPECT_TRUE(vips("nobody@example.com").empty());
  // Pages of two, each after the last member of the one before.
  EXPECT_EQ(vips("", {}, 2), (std::vector<MemberId>{adas[0], admins[0]}));
  EXPECT_EQ(vips("", admins[0], 2), (std::vector<MemberId>{adas[1], admins[1]}));
  EXPECT_EQ(vips("", admins[1], 2), (std::vector<MemberId>{adas[2]}));
  // Another manager for the same VIP replaces the first.
  ok<engine::MemberTierView>(assignment(adas[0], "vip", kAdmin7));
  EXPECT_EQ(vips("adm_7").front(), adas[0]);
  EXPECT_EQ(vips("ada@example.com").size(), 2u);
}

// ---- Paid membership ----

TEST_P(VipAndPaidMembership, APaymentGrantsTheTierUntilTheGraceEndsThenItFallsBack) {
  const MemberId m = enroll("plus");
  pay(m, 150'00);  // Silver by spend
  EXPECT_EQ(membership(m).membership, std::nullopt);
  const auto paid = ok<engine::PaidMembershipView>(payment(m, "pay-1"));
  EXPECT_EQ(paid.status, PaidStatus::kActive);
  EXPECT_EQ(paid.membership->period_start, at("2026-02-10T12:00:00Z"));
  EXPECT_EQ(paid.membership->period_end, at("2026-03-10T12:00:00Z"));
  EXPECT_EQ(tier_of(m), "silver");       // held: what the spend gives
  EXPECT_EQ(effective_tier(m), "gold");  // granted by Plus

  struct Step {
    const char* now;
    int actions;        // taken by the job at `now`
    PaidStatus status;  // then
    const char* tier;   // effective then
  };
  const Step steps[] = {
      {"2026-03-07T11:59:59Z", 0, PaidStatus::kActive, "gold"},
      {"2026-03-07T12:00:00Z", 1, PaidStatus::kActive, "gold"},  // 3 days before: reminder
      {"2026-03-08T00:00:00Z", 0, PaidStatus::kActive, "gold"},  // once
      {"2026-03-10T12:00:00Z", 0, PaidStatus::kGrace, "gold"},   // unpaid: grace
      {"2026-03-15T11:59:59Z", 0, PaidStatus::kGrace, "gold"},
      {"2026-03-15T12:00:00Z", 1, PaidStatus::kLapsed, "silver"},  // 5 days later: lapsed
      {"2026-04-01T00:00:00Z", 0, PaidStatus::kLapsed, "silver"},
  };
  for (const Step& step : steps) {
    SCOPED_TRACE(step.now);
    clock_.set(at(step.now));
    EXPECT_EQ(run_paid_job(), step.actions);
    EXPECT_EQ(membership(m).status, step.status);
    EXPECT_EQ(effective_tier(m), step.tier);
  }
  const auto kinds = events("paid_membership.");
  ASSERT_EQ(kinds.size(), 3u);
  EXPECT_TRUE(kinds[0].starts_with("paid_membership.paid ")) << kinds[0];
  EXPECT_TRUE(kinds[1].starts_with("paid_membership.renewal_reminder ")) << kinds[1];
  EXPECT_NE(kinds[1].find(R"("amount":"9.99 USD")"), std::string::npos) << kinds[1];
  EXPECT_TRUE(kinds[2].starts_with("paid_membership.lapsed ")) << kinds[2];
  EXPECT_EQ(membership(m).membership->lapsed_at, at("2026-03-15T12:00:00Z"));
  // Paying again after the lapse starts a new period now.
  const auto again = ok<engine::PaidMembershipView>(payment(m, "pay-2"));
  EXPECT_EQ(again.status, PaidStatus::kActive);
  EXPECT_EQ(again.membership->period_start, at("2026-04-01T00:00:00Z"));
  EXPECT_EQ(again.periods.size(), 2u);
  EXPECT_EQ(effective_tier(m), "gold");
}

TEST_P(VipAndPaidMembership, ACancelledMembershipGrantsUntilThePaidPeriodEndsWithoutGrace) {
  const MemberId m = enroll("cancels");
  ok<engine::PaidMembershipView>(payment(m, "pay-1"));
  engine::CancelPaidMembership cancel{program_, m, "too expensive", "key_1"};
  const auto cancelled = ok<engine::PaidMembershipView>(cancel);
  EXPECT_EQ(cancelled.status, PaidStatus::kCancelled);
  EXPECT_EQ(cancelled.grants_until, at("2026-03-10T12:00:00Z"));
  EXPECT_EQ(run(cancel).status.code(), ErrorCode::kConflict);  // cancelled already
  clock_.set(at("2026-03-08T00:00:00Z"));
  EXPECT_EQ(run_paid_job(), 0);  // no renewal reminder for a cancelled plan
  EXPECT_EQ(effective_tier(m), "gold");
  clock_.set(at("2026-03-10T12:00:00Z"));
  EXPECT_EQ(run_paid_job(), 1);  // lapsed at the period end
  EXPECT_EQ(membership(m).status, PaidStatus::kLapsed);
  EXPECT_EQ(effective_tier(m), "");
  EXPECT_EQ(run(cancel).status.code(), ErrorCode::kNotFound);  // nothing left to cancel
  EXPECT_EQ(events("paid_membership.renewal_reminder").size(), 0u);
}

TEST_P(VipAndPaidMembership, PaymentsAreIdempotentAndBadOnesArePreciseErrorsThatWriteNothing) {
  const MemberId m = enroll("payer");
  const auto first = ok<engine::PaidMembershipView>(payment(m, "pay-1"));
  EXPECT_FALSE(first.replayed);
  const auto replay = ok<engine::PaidMembershipView>(payment(m, "pay-1"));
  EXPECT_TRUE(replay.replayed);
  EXPECT_EQ(replay.membership, first.membership);
  EXPECT_EQ(replay.periods.size(), 1u);

  engine::RecordPaidPayment unknown_member = payment(MemberId{999'999}, "pay-x");
  engine::RecordPaidPayment euro = payment(m, "pay-x");
  euro.currency = "EUR";
  engine::RecordPaidPayment overlapping = payment(m, "pay-x");
  overlapping.period_start = at("2026-03-01T00:00:00Z");  // paid until 10 March already
  struct Case {
    const char* name;
    engine::RecordPaidPayment command;
    ErrorCode code;
    const char* message;
  };
  const Case cases[] = {
      {"UnknownMember", unknown_member, ErrorCode::kNotFound, "member mem_999999 not found"},
      {"UnknownPlan", payment(m, "pay-x", "gold"), ErrorCode::kUnknownPlan,
       "plan 'gold' is not a plan of the program (plans: plus, ship)"},
      {"WrongCurrency", euro, ErrorCode::kPaymentMismatch,
       "currency: the plan 'plus' is paid in USD, not EUR"},
      {"WrongAmount", payment(m, "pay-x", "plus", 1000), ErrorCode::kPaymentMismatch,
       "amount_minor: the plan 'plus' costs 9.99 USD per month, not 10.00 USD"},
      {"SameIdAnotherPayment", payment(m, "pay-1", "ship", 99'00), ErrorCode::kConflict,
       "external_payment_id: 'pay-1' is already recorded for another payment"},
      {"PaidAlready", overlapping, ErrorCode::kConflict,
       "period_start: the membership is paid until 2026-03-10T12:00:00Z; a payment pays the "
       "period starting then or later"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const engine::Outcome out = run(c.command);
    EXPECT_EQ(out.status.code(), c.code);
    EXPECT_EQ(out.status.message(), c.message);
  }
  EXPECT_EQ(membership(m).periods.size(), 1u);
  EXPECT_EQ(events("paid_membership.").size(), 1u);
}

// A year of a monthly plan renewed on the last day of each period, then not:
// twelve contiguous periods, one reminder per period end, one lapse after the
// grace. The job runs every day, as `loyaltyd serve` would.
TEST_P(VipAndPaidMembership, AYearOfMonthlyRenewalsThenALapse) {
  const MemberId m = enroll("loyal");
  clock_.set(at("2026-01-31T09:00:00Z"));  // a 31st: February's period ends on its last day
  ok<engine::PaidMembershipView>(payment(m, "pay-0"));
  int paid = 1;
  int actions = 0;
  for (int day = 1; day <= 400; ++day) {
    clock_.set(at("2026-01-31T09:00:00Z") + Duration::from_days(day));
    actions += run_paid_job();
    const auto v = membership(m);
    // Renew on the day before the period ends, eleven times.
    if (paid < 12 && v.membership->period_end - clock_.now() <= Duration::from_days(1)) {
      ok<engine::PaidMembershipView>(payment(m, "pay-" + std::to_string(paid++)));
    }
  }
  const auto v = membership(m);
  ASSERT_EQ(v.periods.size(), 12u);
  for (size_t i = 0; i + 1 < v.periods.size(); ++i) {  // newest first, each where the last ended
    EXPECT_EQ(v.periods[i].period_start, v.periods[i + 1].period_end) << i;
  }
  EXPECT_EQ(v.periods.back().period_end, at("2026-02-28T09:00:00Z"));
  // Each period starts where the last ended: after February the 28th.
  EXPECT_EQ(v.periods.front().period_end, at("2027-01-28T09:00:00Z"));
  EXPECT_EQ(v.status, PaidStatus::kLapsed);
  EXPECT_EQ(v.membership->lapsed_at, at("2027-02-02T09:00:00Z"));
  EXPECT_EQ(events("paid_membership.renewal_reminder").size(), 12u);
  EXPECT_EQ(events("paid_membership.lapsed").size(), 1u);
  EXPECT_EQ(actions, 13);
}

INSTANTIATE_TEST_SUITE_P(Stores, VipAndPaidMembership,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return store::testing::backend_name(info.param);
                         });

}  // namespace
}  // namespace loyalty
