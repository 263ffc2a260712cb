// Tiers as tables: windows and periods in the program's time zone, the
// qualifying tier, upgrades on events, downgrades at period end with grace,
// manual assignment, progress and its message (docs/tiers.md).
#include "domain/tiers.h"

#include <date/tz.h>
#include <gtest/gtest.h>

#include "domain/config_document.h"
#include "domain/earning.h"

namespace loyalty {
namespace {

Instant at(const char* rfc3339) {
  auto t = parse_rfc3339(rfc3339);
  EXPECT_TRUE(t.has_value()) << rfc3339;
  return t.value_or(Instant{});
}

const date::time_zone* zone(const char* name) { return date::locate_zone(name); }

// Bronze 100.00, Silver 500.00, Gold 2000.00 (Gold falls to Silver at the lowest).
TierConfig spend_tiers(TierWindow window = {}, int grace = 0, bool on_refund = false) {
  TierConfig c;
  c.metric = TierMetric::kSpend;
  c.window = window;
  c.downgrade = {grace, on_refund};
  c.levels = {TierLevel{"bronze", "Bronze", 10'000, "", {}},
              TierLevel{"silver", "Silver", 50'000, "", {}},
              TierLevel{"gold", "Gold", 200'000, "silver", {}}};
  c.levels[2].benefits.earn_multiplier = Decimal{1'500'000};
  return c;
}

MemberTierState holding(std::string tier, Instant since, std::optional<Instant> guaranteed) {
  MemberTierState s;
  s.tier_id = std::move(tier);
  s.since = since;
  s.guaranteed_until = guaranteed;
  s.actor = "system";
  return s;
}

// ---- Months, windows, periods ----

TEST(TierMonths, AreLocalToTheProgramsTimeZoneAtNewYear) {
  // 31 Dec 23:30 in New York is already January in UTC.
  const Instant new_years_eve = at("2027-01-01T04:30:00Z");
  EXPECT_EQ(month_of(zone("America/New_York"), new_years_eve), MonthIndex::of(2026, 12));
  EXPECT_EQ(month_of(zone("UTC"), new_years_eve), MonthIndex::of(2027, 1));
  // 1 Jan 00:30 in Tokyo is still December in UTC.
  EXPECT_EQ(month_of(zone("Asia/Tokyo"), at("2026-12-31T15:30:00Z")), MonthIndex::of(2027, 1));
  EXPECT_EQ(month_start(zone("America/New_York"), MonthIndex::of(2027, 1)),
            at("2027-01-01T05:00:00Z"));
}

struct WindowCase {
  const char* name;
  TierWindow window;
  MonthIndex month;
  MonthIndex first;
  MonthIndex last;
};

class TierWindows : public ::testing::TestWithParam<WindowCase> {};

TEST_P(TierWindows, CoverTheirMonths) {
  const WindowCase& c = GetParam();
  const WindowMonths w = window_months(c.window, c.month);
  EXPECT_EQ(w.first, c.first);
  EXPECT_EQ(w.last, c.last);
}

INSTANTIATE_TEST_SUITE_P(Table, TierWindows,
                         ::testing::Values(WindowCase{"CalendarYearInMarch",
                                                      {TierWindowKind::kCalendarYear, 12},
                                                      MonthIndex::of(2026, 3),
                                                      MonthIndex::of(2026, 1),
                                                      MonthIndex::of(2026, 12)},
                                           WindowCase{"RollingTwelveCrossesTheYear",
                                                      {TierWindowKind::kRollingMonths, 12},
                                                      MonthIndex::of(2026, 3),
                                                      MonthIndex::of(2025, 4),
                                                      MonthIndex::of(2026, 3)},
                                           WindowCase{"RollingOneIsTheMonth",
                                                      {TierWindowKind::kRollingMonths, 1},
                                                      MonthIndex::of(2026, 1),
                                                      MonthIndex::of(2026, 1),
                                                      MonthIndex::of(2026, 1)},
                                           WindowCase{"LifetimeHasNoStart",
                                                      {TierWindowKind::kLifetime, 12},
                                                      MonthIndex::of(2026, 3),
                                                      MonthIndex{INT32_MIN},
                                                      MonthIndex::of(2026, 3)}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(TierWindows, SumOnlyTheBucketsInside) {
  const std::vector<MetricBucket> buckets = {
      {MonthIndex::of(2025, 3), {100, 1, 1}},   // left the rolling window
      {MonthIndex::of(2025, 4), {200, 2, 1}},   // its first month
      {MonthIndex::of(2026, 3), {400, 4, 1}},   // its last month
      {MonthIndex::of(2026, 4), {800, 8, 1}}};  // not yet
  const MonthIndex march = MonthIndex::of(2026, 3);
  EXPECT_EQ(sum_window({TierWindowKind::kRollingMonths, 12}, buckets, march),
            (TierMetrics{600, 6, 2}));
  EXPECT_EQ(sum_window({TierWindowKind::kCalendarYear, 12}, buckets, march),
            (TierMetrics{1200, 12, 2}));
  EXPECT_EQ(sum_window({TierWindowKind::kLifetime, 12}, buckets, march), (TierMetrics{700, 7, 3}));
}

struct PeriodCase {
  const char* name;
  TierWindow window;
  const char* zone;
  const char* now;
  int grace;
  std::optional<const char*> until;
};

class TierPeriods : public ::testing::TestWithParam<PeriodCase> {};

TEST_P(TierPeriods, EndAtLocalMidnight) {
  const PeriodCase& c = GetParam();
  auto got = guaranteed_until(c.window, zone(c.zone), at(c.now), c.grace);
  if (!c.until) {
    EXPECT_FALSE(got.has_value());
  } else {
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(format_rfc3339(*got), *c.until);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, TierPeriods,
    ::testing::Values(PeriodCase{"CalendarYearEndsAtLocalNewYear",
                                 {},
                                 "Europe/Berlin",
                                 "2026-06-15T12:00:00Z",
                                 0,
                                 "2026-12-31T23:00:00Z"},
                      PeriodCase{"GraceOfOneYearKeepsUntilTheEndOfNextYear",
                                 {},
                                 "Europe/Berlin",
                                 "2026-06-15T12:00:00Z",
                                 1,
                                 "2027-12-31T23:00:00Z"},
                      // 31 Dec 20:00 in New York is 1 Jan in UTC: still this year's period.
                      PeriodCase{"NewYearsEveInNewYorkIsStillThisYear",
                                 {},
                                 "America/New_York",
                                 "2027-01-01T01:00:00Z",
                                 0,
                                 "2027-01-01T05:00:00Z"},
                      PeriodCase{"RollingPeriodIsTheMonth",
                                 {TierWindowKind::kRollingMonths, 12},
                                 "UTC",
                                 "2028-02-29T10:00:00Z",
                                 0,
                                 "2028-03-01T00:00:00Z"},
                      PeriodCase{"RollingGraceCountsMonths",
                                 {TierWindowKind::kRollingMonths, 12},
                                 "UTC",
                                 "2028-02-29T10:00:00Z",
                                 2,
                                 "2028-05-01T00:00:00Z"},
                      PeriodCase{"LifetimeHasNoEnd",
                                 {TierWindowKind::kLifetime, 12},
                                 "UTC",
                                 "2026-06-15T12:00:00Z",
                                 3,
                                 std::nullopt}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- Qualification ----

TEST(TierQualification, IsTheHighestThresholdReached) {
  const TierConfig c = spend_tiers();
  const std::vector<std::pair<int64_t, int>> cases = {{0, -1},      {9'999, -1},   {10'000, 0},
                                                      {49'999, 0},  {50'000, 1},   {199'999, 1},
                                                      {200'000, 2}, {INT64_MAX, 2}};
  for (auto [value, level] : cases) EXPECT_EQ(qualifying_level(c, value), level) << value;
}

TEST(TierQualification, ExpressionCombinesTheWindowMetrics) {
  TierConfig c = spend_tiers();
  c.metric = TierMetric::kExpression;
  c.expression = "floor(member.total_spent) + 10 * member.orders_count + member.lifetime_earned";
  auto compiled = compile_tiers(c, 2);
  ASSERT_TRUE(compiled.ok()) << compiled.status().message();
  // 123.45 USD -> 123, 4 orders -> 40, 7 points.
  EXPECT_EQ(metric_value(*compiled, TierMetrics{12'345, 7, 4}), 170);
  c.expression = "member.orders_count / (member.lifetime_earned - 7)";
  compiled = compile_tiers(c, 2);
  ASSERT_TRUE(compiled.ok());
  EXPECT_EQ(metric_value(*compiled, TierMetrics{0, 7, 4}), 0) << "division by zero counts as 0";
}

TEST(TierQualification, PlainMetricsReadTheirCounter) {
  TierConfig c = spend_tiers();
  const TierMetrics m{12'345, 7, 4};
  for (auto [metric, want] : std::vector<std::pair<TierMetric, int64_t>>{
           {TierMetric::kSpend, 12'345}, {TierMetric::kPoints, 7}, {TierMetric::kOrders, 4}}) {
    c.metric = metric;
    auto compiled = compile_tiers(c, 2);
    ASSERT_TRUE(compiled.ok());
    EXPECT_EQ(metric_value(*compiled, m), want) << to_string(metric);
  }
}

// ---- Events: upgrades at once, downgrades only when configured ----

struct EventCase {
  const char* name;
  TierConfig config;
  MemberTierState state;
  int64_t value;
  const char* now;
  TierChange change;
  std::string tier;
  std::optional<const char*> guaranteed_until;
};

class TierEvents : public ::testing::TestWithParam<EventCase> {};

TEST_P(TierEvents, Decide) {
  const EventCase& c = GetParam();
  const TierDecision d = decide_on_event(c.config, c.state, c.value, zone("UTC"), at(c.now));
  EXPECT_EQ(d.change, c.change);
  EXPECT_EQ(d.next.tier_id, c.tier);
  if (c.change == TierChange::kNone) {
    EXPECT_EQ(d.next, c.state);
  }
  if (c.guaranteed_until) {
    ASSERT_TRUE(d.next.guaranteed_until.has_value());
    EXPECT_EQ(format_rfc3339(*d.next.guaranteed_until), *c.guaranteed_until);
  }
}

const Instant kJan = at("2026-01-10T00:00:00Z");
const Instant kEndOf2026 = at("2027-01-01T00:00:00Z");

INSTANTIATE_TEST_SUITE_P(
    Table, TierEvents,
    ::testing::Values(
        EventCase{"CrossingAThresholdUpgradesAtOnce", spend_tiers(), holding("", kJan, {}), 50'000,
                  "2026-03-05T10:00:00Z", TierChange::kUpgraded, "silver", "2027-01-01T00:00:00Z"},
        EventCase{"SkippingATierLandsOnTheHighestReached", spend_tiers(),
                  holding("bronze", kJan, kEndOf2026), 250'000, "2026-03-05T10:00:00Z",
                  TierChange::kUpgraded, "gold", std::nullopt},
        EventCase{"GraceExtendsTheGuarantee", spend_tiers({}, 1), holding("", kJan, {}), 200'000,
                  "2026-03-05T10:00:00Z", TierChange::kUpgraded, "gold", "2028-01-01T00:00:00Z"},
        EventCase{"BelowTheNextThresholdChangesNothing", spend_tiers(),
                  holding("silver", kJan, kEndOf2026), 199'999, "2026-03-05T10:00:00Z",
                  TierChange::kNone, "silver", std::nullopt},
        EventCase{"ARefundDoesNotDowngradeMidPeriod", spend_tiers(),
                  holding("gold", at("2026-03-01T00:00:00Z"), kEndOf2026), 10'000,
                  "2026-03-05T10:00:00Z", TierChange::kNone, "gold", std::nullopt},
        EventCase{"ARefundDowngradesWhenConfigured", spend_tiers({}, 0, true),
                  holding("silver", at("2026-03-01T00:00:00Z"), kEndOf2026), 10'000,
                  "2026-03-05T10:00:00Z", TierChange::kDowngraded, "bronze",
                  "2027-01-01T00:00:00Z"},
        EventCase{"ARefundDowngradeStopsAtDowngradeTo", spend_tiers({}, 0, true),
                  holding("gold", at("2026-03-01T00:00:00Z"), kEndOf2026), 0,
                  "2026-03-05T10:00:00Z", TierChange::kDowngraded, "silver", std::nullopt},
        EventCase{"ATierRenewedInAnEarlierPeriodKeepsItsGuaranteeOnRefund",
                  spend_tiers({}, 0, true),
                  holding("silver", at("2025-05-01T00:00:00Z"), kEndOf2026), 0,
                  "2026-03-05T10:00:00Z", TierChange::kNone, "silver", std::nullopt}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(TierEvents, AManualTierIsUpgradedButNotDowngraded) {
  const TierConfig c = spend_tiers({}, 0, true);
  auto manual = assign_tier(c, MemberTierState{}, "silver", "complaint", std::nullopt, "key_1",
                            at("2026-02-01T00:00:00Z"));
  ASSERT_TRUE(manual.ok());
  EXPECT_EQ(decide_on_event(c, manual->next, 0, zone("UTC"), at("2026-03-01T00:00:00Z")).change,
            TierChange::kNone);
  const TierDecision up =
      decide_on_event(c, manual->next, 200'000, zone("UTC"), at("2026-03-01T00:00:00Z"));
  EXPECT_EQ(up.change, TierChange::kUpgraded);
  EXPECT_EQ(up.next.tier_id, "gold");
  EXPECT_EQ(up.next.source, TierSource::kEarned);
}

// ---- Period end: renew, keep while guaranteed, downgrade ----

struct PeriodEndCase {
  const char* name;
  int grace;
  MemberTierState state;
  int64_t value;
  TierChange change;
  std::string tier;
};

class TierPeriodEnd : public ::testing::TestWithParam<PeriodEndCase> {};

TEST_P(TierPeriodEnd, Decide) {
  const PeriodEndCase& c = GetParam();
  const TierConfig config = spend_tiers({}, c.grace);
  const TierDecision d = decide_at_period_end(config, c.state, c.value, zone("UTC"), kEndOf2026);
  EXPECT_EQ(d.change, c.change);
  EXPECT_EQ(d.next.tier_id, c.tier);
  EXPECT_EQ(d.next.evaluated_through, kEndOf2026);
  // Idempotent: the same period again changes nothing.
  const TierDecision again = decide_at_period_end(config, d.next, 0, zone("UTC"), kEndOf2026);
  EXPECT_EQ(again.change, TierChange::kNone);
  EXPECT_EQ(again.next, d.next);
}

INSTANTIATE_TEST_SUITE_P(
    Table, TierPeriodEnd,
    ::testing::Values(
        PeriodEndCase{"RequalifyingRenews", 0, holding("silver", kJan, kEndOf2026), 60'000,
                      TierChange::kRenewed, "silver"},
        PeriodEndCase{"BelowWithoutGraceDowngradesToWhatQualifies", 0,
                      holding("silver", kJan, kEndOf2026), 20'000, TierChange::kDowngraded,
                      "bronze"},
        PeriodEndCase{"DowngradeNeverBelowDowngradeTo", 0, holding("gold", kJan, kEndOf2026), 0,
                      TierChange::kDowngraded, "silver"},
        PeriodEndCase{"BelowButGuaranteedKeeps", 1,
                      holding("gold", kJan, at("2028-01-01T00:00:00Z")), 0, TierChange::kNone,
                      "gold"},
        PeriodEndCase{"NothingToNothing", 0, holding("", kJan, {}), 0, TierChange::kNone, ""}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(TierPeriodEnd, RenewalGuaranteesTheNextPeriodsWithGrace) {
  const TierConfig c = spend_tiers({}, 1);
  const TierDecision d =
      decide_at_period_end(c, holding("silver", kJan, kEndOf2026), 60'000, zone("UTC"), kEndOf2026);
  ASSERT_TRUE(d.next.guaranteed_until.has_value());
  EXPECT_EQ(format_rfc3339(*d.next.guaranteed_until), "2028-01-01T00:00:00Z");
}

// grace_periods: 0 guarantees a tier decided at a period end until the end of
// the period that starts there (its next evaluation), never a past date.
struct NoGraceCase {
  const char* name;
  MemberTierState state;
  int64_t value;
  TierChange change;
  const char* guaranteed_until;
};
class TierPeriodEndWithoutGrace : public ::testing::TestWithParam<NoGraceCase> {};

TEST_P(TierPeriodEndWithoutGrace, GuaranteesTheNewPeriod) {
  const NoGraceCase& c = GetParam();
  const TierDecision d =
      decide_at_period_end(spend_tiers({}, 0), c.state, c.value, zone("UTC"), kEndOf2026);
  EXPECT_EQ(d.change, c.change);
  ASSERT_TRUE(d.next.guaranteed_until.has_value());
  EXPECT_EQ(format_rfc3339(*d.next.guaranteed_until), c.guaranteed_until);
}

INSTANTIATE_TEST_SUITE_P(
    Table, TierPeriodEndWithoutGrace,
    ::testing::Values(NoGraceCase{"Renewed", holding("silver", kJan, kEndOf2026), 60'000,
                                  TierChange::kRenewed, "2028-01-01T00:00:00Z"},
                      NoGraceCase{"Downgraded", holding("gold", kJan, kEndOf2026), 60'000,
                                  TierChange::kDowngraded, "2028-01-01T00:00:00Z"},
                      NoGraceCase{"Upgraded", holding("bronze", kJan, kEndOf2026), 250'000,
                                  TierChange::kUpgraded, "2028-01-01T00:00:00Z"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(TierPeriodEnd, GraceCountsPeriodsAfterTheOneThatClosed) {
  for (const auto& [grace, until] :
       {std::pair{0, "2028-01-01T00:00:00Z"}, std::pair{1, "2028-01-01T00:00:00Z"},
        std::pair{2, "2029-01-01T00:00:00Z"}}) {
    const TierDecision d =
        decide_at_period_end(spend_tiers({}, grace), holding("silver", kJan, kEndOf2026), 60'000,
                             zone("UTC"), kEndOf2026);
    ASSERT_TRUE(d.next.guaranteed_until.has_value());
    EXPECT_EQ(format_rfc3339(*d.next.guaranteed_until), until) << "grace " << grace;
  }
}

TEST(TierPeriodEnd, AnExpiredManualTierGivesWayToTheMetric) {
  const TierConfig c = spend_tiers();
  auto manual = assign_tier(c, MemberTierState{}, "gold", "vip trial", at("2026-12-01T00:00:00Z"),
                            "key_1", at("2026-06-01T00:00:00Z"));
  ASSERT_TRUE(manual.ok());
  const TierDecision d = decide_at_period_end(c, manual->next, 20'000, zone("UTC"), kEndOf2026);
  EXPECT_EQ(d.change, TierChange::kDowngraded);
  EXPECT_EQ(d.next.tier_id, "silver");  // gold's downgrade_to
  EXPECT_EQ(d.next.source, TierSource::kEarned);
  EXPECT_EQ(
      effective_state(c, manual->next, 20'000, zone("UTC"), at("2026-12-02T00:00:00Z")).tier_id,
      "bronze");
}

// ---- Manual assignment ----

TEST(TierAssignment, RefusesAnUnknownTierAndAPastExpiry) {
  const TierConfig c = spend_tiers();
  auto unknown = assign_tier(c, MemberTierState{}, "platinum", "r", std::nullopt, "key_1", kJan);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), ErrorCode::kUnknownTier);
  EXPECT_EQ(unknown.status().message(),
            "tier 'platinum' is not a tier of the program (tiers: bronze, silver, gold)");
  auto past = assign_tier(c, MemberTierState{}, "gold", "r", kJan, "key_1", kJan);
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.status().code(), ErrorCode::kInvalidRequest);
  auto ok = assign_tier(c, MemberTierState{}, "gold", "goodwill", kEndOf2026, "key_1", kJan);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->change, TierChange::kAssigned);
  EXPECT_EQ(ok->next.source, TierSource::kManual);
  EXPECT_EQ(ok->next.manual_reason, "goodwill");
  EXPECT_EQ(ok->next.manual_expires_at, kEndOf2026);
  EXPECT_EQ(ok->next.actor, "key_1");
}

// ---- VIP: an invite-only tier only an admin moves a member into or out of ----

// Bronze 100.00, Silver 500.00, VIP (invite-only), Gold 2000.00.
TierConfig tiers_with_vip(bool on_refund = false) {
  TierConfig c = spend_tiers({}, 0, on_refund);
  TierLevel vip{"vip", "VIP", 0, "", {}, true};
  vip.benefits.reward_ids = {"vip-lounge"};
  c.levels.insert(c.levels.begin() + 2, vip);
  return c;
}

MemberTierState vip_until(std::optional<Instant> expires_at) {
  auto d = assign_tier(tiers_with_vip(), MemberTierState{}, "vip", "top customer", expires_at,
                       "key_1", kJan);
  EXPECT_TRUE(d.ok());
  return d.ok() ? d->next : MemberTierState{};
}

TEST(TierVip, NoMetricQualifiesForAnInviteOnlyTier) {
  const TierConfig c = tiers_with_vip();
  EXPECT_EQ(qualifying_level(c, 199'999), 1);  // silver: the VIP level between is skipped
  EXPECT_EQ(qualifying_level(c, INT64_MAX), 3);
  EXPECT_TRUE(is_invite_only(c, 2));
  EXPECT_FALSE(is_invite_only(c, 3));
  EXPECT_FALSE(is_invite_only(c, -1));
  const TierDecision d = decide_on_event(c, holding("silver", kJan, kEndOf2026), 199'999,
                                         zone("UTC"), at("2026-03-05T10:00:00Z"));
  EXPECT_EQ(d.change, TierChange::kNone);
}

struct VipCase {
  const char* name;
  int64_t value;  // the metric at the event or the period end
};

class TierVipKept : public ::testing::TestWithParam<VipCase> {};

// Whatever the metric, neither the incremental path (even with on_refund) nor
// the period end moves a VIP; the period end only notes it evaluated them.
TEST_P(TierVipKept, ByEventsAndPeriodEnds) {
  const TierConfig c = tiers_with_vip(true);
  const MemberTierState vip = vip_until(std::nullopt);
  const TierDecision event =
      decide_on_event(c, vip, GetParam().value, zone("UTC"), at("2026-03-05T10:00:00Z"));
  EXPECT_EQ(event.change, TierChange::kNone);
  EXPECT_EQ(event.next, vip);
  const TierDecision end = decide_at_period_end(c, vip, GetParam().value, zone("UTC"), kEndOf2026);
  EXPECT_EQ(end.change, TierChange::kNone);
  EXPECT_EQ(end.next.tier_id, "vip");
  EXPECT_EQ(end.next.source, TierSource::kManual);
  EXPECT_EQ(end.next.evaluated_through, kEndOf2026);
}

INSTANTIATE_TEST_SUITE_P(Table, TierVipKept,
                         ::testing::Values(VipCase{"NoSpend", 0}, VipCase{"SilverSpend", 60'000},
                                           VipCase{"GoldSpend", 500'000}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(TierVip, ALapsedAssignmentGivesWayToTheMetricAtThePeriodEnd) {
  const TierConfig c = tiers_with_vip();
  const MemberTierState vip = vip_until(at("2026-06-01T00:00:00Z"));
  const TierDecision d = decide_at_period_end(c, vip, 60'000, zone("UTC"), kEndOf2026);
  EXPECT_EQ(d.change, TierChange::kDowngraded);
  EXPECT_EQ(d.next.tier_id, "silver");
}

TEST(TierVip, EndingTheAssignmentLandsOnWhatTheMetricGives) {
  const TierConfig c = tiers_with_vip();
  const TierDecision d = end_tier_assignment(c, vip_until(std::nullopt), 60'000, "left the club",
                                             "key_2", zone("UTC"), at("2026-03-05T10:00:00Z"));
  EXPECT_EQ(d.change, TierChange::kAssigned);
  EXPECT_EQ(d.next.tier_id, "silver");
  EXPECT_EQ(d.next.source, TierSource::kEarned);
  EXPECT_EQ(d.next.since, at("2026-03-05T10:00:00Z"));
  EXPECT_EQ(d.next.guaranteed_until, kEndOf2026);
  EXPECT_EQ(d.next.actor, "key_2");
  EXPECT_EQ(d.reason, "left the club");
  const TierDecision none = end_tier_assignment(c, vip_until(std::nullopt), 0, "r", "key_2",
                                                zone("UTC"), at("2026-03-05T10:00:00Z"));
  EXPECT_EQ(none.next.tier_id, "");
  EXPECT_FALSE(none.next.guaranteed_until.has_value());
}

TEST(TierVip, ProgressSkipsInviteOnlyTiersAndAVipHasNone) {
  const TierConfig c = tiers_with_vip();
  const TierProgress silver = progress(c, holding("silver", kJan, {}), 60'000, zone("UTC"), kJan);
  EXPECT_EQ(silver.next_level, 3);  // gold, not vip
  EXPECT_EQ(silver.remaining, 140'000);
  const TierProgress vip = progress(c, vip_until(std::nullopt), 60'000, zone("UTC"), kJan);
  EXPECT_EQ(vip.next_level, -1);
  EXPECT_EQ(progress_message(c, vip, "USD", 2, zone("UTC")), "");
}

struct ManagerCase {
  const char* name;
  AccountManager manager;
  const char* error;  // "" = valid
};

class TierVipAccountManager : public ::testing::TestWithParam<ManagerCase> {};

TEST_P(TierVipAccountManager, IsAnAdminOrANamedContact) {
  const Status st = validate_account_manager(GetParam().manager);
  EXPECT_EQ(st.message(), GetParam().error);
  EXPECT_EQ(st.ok(), std::string(GetParam().error).empty());
}

const std::string kLongest(kMaxAccountManagerFieldLength, 'a');
INSTANTIATE_TEST_SUITE_P(
    Table, TierVipAccountManager,
    ::testing::Values(
        ManagerCase{"Admin", {"", "", "adm_7"}, ""},
        ManagerCase{"Contact", {"Ada", "ada@example.com", ""}, ""},
        ManagerCase{"LongestAdminId", {"", "", kLongest}, ""},
        ManagerCase{"AdminIdTooLong",
                    {"", "", kLongest + "a"},
                    "account_manager.admin_id: at most 254 characters"},
        ManagerCase{"Both",
                    {"Ada", "ada@example.com", "adm_7"},
                    "account_manager: either admin_id, or name and email, not both"},
        ManagerCase{"Neither",
                    {"", "", ""},
                    "account_manager.name: 1 to 254 characters (or give admin_id)"},
        ManagerCase{"NoDomain",
                    {"Ada", "ada@", ""},
                    "account_manager.email: expected an address like name@example.com, at most "
                    "254 characters"},
        ManagerCase{"NoAt",
                    {"Ada", "ada.example.com", ""},
                    "account_manager.email: expected an address like name@example.com, at most "
                    "254 characters"}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- Progress ----

struct ProgressCase {
  const char* name;
  TierConfig config;
  std::string tier;
  int64_t value;
  const char* zone;
  const char* now;
  std::string message;
};

class TierProgressMessages : public ::testing::TestWithParam<ProgressCase> {};

TEST_P(TierProgressMessages, SayHowMuchAndByWhen) {
  const ProgressCase& c = GetParam();
  const TierProgress p =
      progress(c.config, holding(c.tier, kJan, {}), c.value, zone(c.zone), at(c.now));
  EXPECT_EQ(progress_message(c.config, p, "USD", 2, zone(c.zone)), c.message);
}

TierConfig with_metric(TierMetric metric, TierWindow window = {}) {
  TierConfig c = spend_tiers(window);
  c.metric = metric;
  c.levels[0].threshold = 1;
  c.levels[1].threshold = 5;
  c.levels[2].threshold = 10;
  return c;
}

INSTANTIATE_TEST_SUITE_P(
    Table, TierProgressMessages,
    ::testing::Values(
        ProgressCase{"SpendToTheNextTier", spend_tiers(), "silver", 195'790, "America/New_York",
                     "2026-06-01T12:00:00Z", "spend 42.10 USD more by 31 Dec 2026 to reach Gold"},
        // 31 Dec 23:00 in New York is 1 Jan in UTC: the deadline is still this year's.
        ProgressCase{"DeadlineInTheProgramsZoneOnNewYearsEve", spend_tiers(), "", 0,
                     "America/New_York", "2027-01-01T04:00:00Z",
                     "spend 100.00 USD more by 31 Dec 2026 to reach Bronze"},
        ProgressCase{"RollingDeadlineIsTheMonthsLastDayInALeapYear",
                     spend_tiers({TierWindowKind::kRollingMonths, 12}), "bronze", 49'999, "UTC",
                     "2028-02-10T00:00:00Z", "spend 0.01 USD more by 29 Feb 2028 to reach Silver"},
        ProgressCase{"OrdersSingular", with_metric(TierMetric::kOrders), "silver", 9, "UTC",
                     "2026-06-01T00:00:00Z", "place 1 more order by 31 Dec 2026 to reach Gold"},
        ProgressCase{"PointsOverALifetimeHaveNoDeadline",
                     with_metric(TierMetric::kPoints, {TierWindowKind::kLifetime, 12}), "", 0,
                     "UTC", "2026-06-01T00:00:00Z", "earn 1 more points to reach Bronze"},
        ProgressCase{"NothingAboveTheTop", spend_tiers(), "gold", 300'000, "UTC",
                     "2026-06-01T00:00:00Z", ""}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(TierProgress, CountsFromTheHigherOfHeldAndQualified) {
  // A manual Gold with a Bronze metric is at the top: no next tier.
  const TierConfig c = spend_tiers();
  const TierProgress p = progress(c, holding("gold", kJan, {}), 10'000, zone("UTC"), kJan);
  EXPECT_EQ(p.next_level, -1);
  const TierProgress q = progress(c, holding("", kJan, {}), 60'000, zone("UTC"), kJan);
  EXPECT_EQ(q.next_level, 2);
  EXPECT_EQ(q.remaining, 140'000);
  EXPECT_EQ(q.deadline, kEndOf2026);
}

TEST(TierBenefits, MultiplierOfTheTierOrOne) {
  const TierConfig c = spend_tiers();
  EXPECT_EQ(tier_earn_multiplier(c, "gold"), Decimal{1'500'000});
  EXPECT_EQ(tier_earn_multiplier(c, "silver"), Decimal::from_int(1));
  EXPECT_EQ(tier_earn_multiplier(c, ""), Decimal::from_int(1));
  EXPECT_EQ(tier_earn_multiplier(c, "removed-tier"), Decimal::from_int(1));
}

// ---- The earn multiplier inside earn rules ----

namespace earn {

struct Evaluated {
  int64_t total = 0;
  std::vector<int64_t> item_points;
  bool capped = false;
};

Evaluated evaluate_with_tier(std::string_view tier, std::optional<int64_t> cap_points) {
  ProgramConfig config;
  config.tiers = spend_tiers();
  EarnRule rule;
  rule.id = "spend";
  rule.trigger = EarnTrigger::kOrder;
  rule.kind = EarnKind::kSpend;
  rule.points_per_unit = Decimal::from_int(1);
  if (cap_points) rule.member_cap = EarnCap{CapPeriod::kLifetime, 0, *cap_points, ""};
  config.earn_rules = {rule};
  auto compiled = compile_config(config, 2, "UTC");
  EXPECT_TRUE(compiled.ok());
  const std::vector<rules::ItemView> items = {{"a", "A", "shoes", 1, 6'001, 6'001, {}},
                                              {"b", "B", "socks", 1, 4'001, 4'001, {}}};
  rules::OrderView order;
  order.items = items;
  order.total_minor = order.subtotal_minor = 10'002;
  rules::MemberView member;
  member.tier = tier;
  rules::ProgramView program{"prg_1", "USD", "UTC"};
  rules::Context ctx;
  ctx.order = &order;
  ctx.member = &member;
  ctx.program = &program;
  EarnResult result;
  evaluate_order(**compiled, ctx, {}, kJan, &result);
  Evaluated out{result.total_points, result.item_total_points,
                !result.awards.empty() && result.awards.front().capped};
  return out;
}

TEST(TierEarnMultiplier, MultipliesTheRulesPointsRoundedPerThePolicy) {
  // 100.02 USD at 1 point/USD: 100 points (60 + 40 by item).
  const Evaluated none = evaluate_with_tier("", std::nullopt);
  EXPECT_EQ(none.total, 100);
  // Gold: x1.5 = 150, shared over the items in proportion and summing exactly.
  const Evaluated gold = evaluate_with_tier("gold", std::nullopt);
  EXPECT_EQ(gold.total, 150);
  EXPECT_EQ(gold.item_points, (std::vector<int64_t>{90, 60}));
  EXPECT_EQ(evaluate_with_tier("silver", std::nullopt).total, 100) << "silver has x1";
}

TEST(TierEarnMultiplier, AppliesBeforeTheCaps) {
  const Evaluated capped = evaluate_with_tier("gold", 120);
  EXPECT_EQ(capped.total, 120);
  EXPECT_TRUE(capped.capped);
  EXPECT_EQ(capped.item_points[0] + capped.item_points[1], 120);
}

}  // namespace earn

}  // namespace
}  // namespace loyalty
