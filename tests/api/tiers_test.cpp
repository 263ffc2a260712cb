// Tiers over HTTP (docs/tiers.md): GET/PUT /v1/members/{id}/tier, the history,
// the outbox events, and a year of orders with the test clock: an upgrade
// mid-year, refunds that do not downgrade mid-period (and one that does when
// configured), the calendar year turning at New Year in the program's time
// zone, a rolling window sliding past old orders, and a leap-year February.
// Then VIP (invite-only tiers, the account managers' list) and paid membership
// (payments, replays, grace, cancellation, lapse, the effective tier).
#include <gtest/gtest.h>

#include "api/api_fixture.h"
#include "engine/tier_commands.h"
#include "jobs/scheduler.h"

namespace loyalty::testing {
namespace {

// 1 point per USD; Silver at 100.00, Gold at 300.00 (x2 points, back to Silver
// at the lowest), per calendar year in the program's zone (Europe/Berlin).
constexpr const char* kCalendarYearTiers = R"(
earn_rules:
  - {id: base, trigger: order, kind: spend, points_per_unit: 1}
tiers:
  metric: spend
  window: calendar_year
  levels:
    - {id: silver, name: Silver, threshold: "100.00"}
    - id: gold
      name: Gold
      threshold: "300.00"
      downgrade_to: silver
      benefits: {earn_multiplier: 2, free_shipping: true, perks: [lounge]}
)";

class TiersApi : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    program_ = create_program("Shop");
    alice_ = enroll(program_, "alice");
  }

  void use_config(const std::string& yaml) {
    HttpResponse r = client().request(
        "PUT", "/v1/programs/" + program_.id + "/config", yaml,
        {{"Authorization", "Bearer " + program_.key}, {"Content-Type", "application/yaml"}});
    ASSERT_TRUE(r.status == 200 || r.status == 201) << r.body;
  }

  // A paid order of one item at `price_minor`, paid now (the test clock).
  std::string pay(const std::string& external_id, int64_t price_minor) {
    const std::string now = format_rfc3339(clock_.now());
    HttpResponse r = client().post(
        "/v1/orders",
        R"({"external_id":")" + external_id + R"(","member_id":")" + alice_ +
            R"(","currency":"USD","placed_at":")" + now +
            R"(","status":"paid","items":[{"sku":"A","name":"Shoe","category":"shoes",)" +
            R"("quantity":1,"unit_price_minor":)" + std::to_string(price_minor) + "}]}",
        auth(program_.key));
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).str("/id");
  }
  int64_t points_of(const std::string& order) {
    HttpResponse r = client().get("/v1/orders/" + order, auth(program_.key));
    EXPECT_EQ(r.status, 200) << r.body;
    return Json(r.body).num("/points/earned");
  }
  void refund(const std::string& order, const std::string& event_id, int64_t amount_minor) {
    HttpResponse r = client().post(
        "/v1/orders/" + order + "/refunds",
        R"({"event_id":")" + event_id + R"(","amount_minor":)" + std::to_string(amount_minor) + "}",
        auth(program_.key));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  // The body of GET .../tier (a Json is neither copied nor moved: it points into its parser).
  std::string tier() {
    HttpResponse r = client().get("/v1/members/" + alice_ + "/tier", auth(program_.key));
    EXPECT_EQ(r.status, 200) << r.body;
    return r.body;
  }
  std::string tier_id() {
    Json t(tier());
    return t.is_null("/tier") ? "" : t.str("/tier/id");
  }
  std::string history() {
    HttpResponse r = client().get("/v1/members/" + alice_ + "/tier/history", auth(program_.key));
    EXPECT_EQ(r.status, 200) << r.body;
    return r.body;
  }
  // The types of the outbox's tier events, oldest first.
  std::vector<std::string> tier_events() {
    HttpResponse r = client().get("/v1/outbox?limit=200", auth(program_.key));
    EXPECT_EQ(r.status, 200) << r.body;
    Json j(r.body);
    std::vector<std::string> out;
    for (size_t i = 0; j.has("/data/" + std::to_string(i)); ++i) {
      std::string type = j.str("/data/" + std::to_string(i) + "/type");
      if (type.starts_with("tier.")) out.push_back(type);
    }
    return out;
  }
  void set_clock(const char* rfc3339) { clock_.set(*parse_rfc3339(rfc3339)); }

  ProgramHandle program_;
  std::string alice_;
};

TEST_F(TiersApi, WithoutTiersTheMemberHasNone) {
  Json t(tier());
  EXPECT_FALSE(t.boolean("/tiers_enabled"));
  EXPECT_TRUE(t.is_null("/tier"));
  EXPECT_TRUE(t.is_null("/progress/next_tier"));
  EXPECT_EQ(t.str("/progress/message"), "");
}

TEST_F(TiersApi, AYearOfOrdersUpgradesAtOnceAndRefundsWaitForThePeriodEnd) {
  use_config(kCalendarYearTiers);
  set_clock("2024-03-10T12:00:00Z");
  const std::string first = pay("o-1", 6'000);
  Json t(tier());
  EXPECT_TRUE(t.is_null("/tier"));
  EXPECT_EQ(t.num("/metric/value"), 6'000);
  EXPECT_EQ(t.str("/progress/next_tier/id"), "silver");
  EXPECT_EQ(t.num("/progress/remaining"), 4'000);
  EXPECT_EQ(t.str("/progress/deadline"), "2024-12-31T23:00:00Z");  // New Year in Berlin
  EXPECT_EQ(t.str("/progress/message"), "spend 40.00 USD more by 31 Dec 2024 to reach Silver");

  // Mid-year, the order that crosses 100.00 upgrades at once.
  set_clock("2024-06-15T09:00:00Z");
  pay("o-2", 4'000);
  Json t1(tier());
  EXPECT_EQ(t1.str("/tier/id"), "silver");
  EXPECT_EQ(t1.str("/since"), "2024-06-15T09:00:00Z");
  EXPECT_EQ(t1.str("/guaranteed_until"), "2024-12-31T23:00:00Z");
  EXPECT_EQ(t1.str("/source"), "earned");
  EXPECT_EQ(t1.str("/progress/message"), "spend 200.00 USD more by 31 Dec 2024 to reach Gold");

  // Gold at 300.00; its x2 multiplier applies from the next order on.
  const std::string to_gold = pay("o-3", 20'000);
  EXPECT_EQ(points_of(to_gold), 200) << "the crossing order earns at Silver's x1";
  EXPECT_EQ(tier_id(), "gold");
  const std::string doubled = pay("o-4", 5'000);
  EXPECT_EQ(points_of(doubled), 100);
  Json t2(tier());
  EXPECT_TRUE(t2.boolean("/tier/benefits/free_shipping"));
  EXPECT_EQ(t2.num("/tier/benefits/earn_multiplier"), 2);
  EXPECT_TRUE(t2.is_null("/progress/next_tier"));

  // Refunds drop the metric to 200.00, below Gold: no downgrade mid-period.
  refund(doubled, "r-1", 5'000);
  refund(to_gold, "r-2", 10'000);
  Json t3(tier());
  EXPECT_EQ(t3.num("/metric/value"), 20'000);
  EXPECT_EQ(t3.num("/metric/orders"), 3);
  EXPECT_EQ(t3.str("/tier/id"), "gold");

  // 31 Dec 23:30 UTC is already 2025 in Berlin: the new year's window is empty
  // but for this order.
  set_clock("2024-12-31T23:30:00Z");
  pay("o-5", 1'000);
  Json t4(tier());
  EXPECT_EQ(t4.num("/metric/value"), 1'000);
  EXPECT_EQ(t4.str("/metric/window_start"), "2024-12-31T23:00:00Z");
  EXPECT_EQ(t4.str("/metric/window_end"), "2025-12-31T23:00:00Z");

  Json h(history());
  EXPECT_EQ(h.str("/data/0/change"), "upgraded");
  EXPECT_EQ(h.str("/data/0/from_tier"), "silver");
  EXPECT_EQ(h.str("/data/0/to_tier"), "gold");
  EXPECT_EQ(h.num("/data/0/metric_value"), 30'000);
  EXPECT_EQ(h.str("/data/1/to_tier"), "silver");
  EXPECT_FALSE(h.has("/data/2"));
  EXPECT_EQ(tier_events(), (std::vector<std::string>{"tier.upgraded", "tier.upgraded"}));
  (void)first;
}

// The period-end job (what `loyaltyd jobs run` and the server's scheduler run)
// at New Year in Berlin: Gold reached in 2024 but refunded down to 150.00 falls
// to Silver (Gold's downgrade_to) at 2025's first instant in Berlin, not
// before; a year later, 2025's 120.00 renews Silver.
TEST_F(TiersApi, AtNewYearInBerlinThePeriodEndJobDowngradesThenRenews) {
  use_config(kCalendarYearTiers);
  auto reader = store::open_session(db_url_);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  const auto run_jobs = [&] {
    auto counts = jobs::run_jobs_once(**reader, *engine_, clock_, jobs::JobSelection{});
    EXPECT_TRUE(counts.ok() && counts->complete);
    return counts.ok() ? counts->tier_states : -1;
  };
  set_clock("2024-06-10T12:00:00Z");
  const std::string big = pay("o-1", 35'000);
  EXPECT_EQ(tier_id(), "gold");
  refund(big, "r-1", 20'000);
  EXPECT_EQ(run_jobs(), 0);

  set_clock("2024-12-31T22:59:59Z");  // 23:59:59 in Berlin
  EXPECT_EQ(run_jobs(), 0);
  EXPECT_EQ(tier_id(), "gold");

  set_clock("2024-12-31T23:00:00Z");  // New Year in Berlin
  EXPECT_EQ(run_jobs(), 1);
  EXPECT_EQ(run_jobs(), 0);
  Json t(tier());
  EXPECT_EQ(t.str("/tier/id"), "silver");
  EXPECT_EQ(t.str("/since"), "2024-12-31T23:00:00Z");
  // No grace: held until 2025's own end, when 2025's metric decides.
  EXPECT_EQ(t.str("/guaranteed_until"), "2025-12-31T23:00:00Z");
  Json h(history());
  EXPECT_EQ(h.str("/data/0/change"), "downgraded");
  EXPECT_EQ(h.str("/data/0/from_tier"), "gold");
  EXPECT_EQ(h.str("/data/0/to_tier"), "silver");
  EXPECT_EQ(h.num("/data/0/metric_value"), 15'000);
  EXPECT_EQ(h.str("/data/0/actor"), "system");

  set_clock("2025-05-05T10:00:00Z");
  pay("o-2", 12'000);
  set_clock("2025-12-31T23:00:00Z");
  EXPECT_EQ(run_jobs(), 1);
  Json h2(history());
  EXPECT_EQ(h2.str("/data/0/change"), "renewed");
  EXPECT_EQ(h2.str("/data/0/to_tier"), "silver");
  EXPECT_EQ(h2.num("/data/0/metric_value"), 12'000);
  EXPECT_EQ(tier_id(), "silver");
  EXPECT_EQ(tier_events(),
            (std::vector<std::string>{"tier.upgraded", "tier.downgraded", "tier.renewed"}));
}

TEST_F(TiersApi, ARefundDowngradesAtOnceWhenConfigured) {
  std::string config = kCalendarYearTiers;
  config += "  downgrade: {on_refund: true}\n";
  use_config(config);
  set_clock("2024-05-01T10:00:00Z");
  const std::string order = pay("o-1", 12'000);
  EXPECT_EQ(tier_id(), "silver");
  refund(order, "r-1", 3'000);
  EXPECT_EQ(tier_id(), "");
  Json h(history());
  EXPECT_EQ(h.str("/data/0/change"), "downgraded");
  EXPECT_EQ(h.str("/data/0/from_tier"), "silver");
  EXPECT_EQ(h.num("/data/0/metric_value"), 9'000);
  EXPECT_EQ(tier_events(), (std::vector<std::string>{"tier.upgraded", "tier.downgraded"}));
}

// With on_refund, a refund lowers at once only a tier reached in the current
// year: Silver renewed at New Year survives the refund of the 2024 order that
// earned it; Gold reached in 2025 falls at once when its order is refunded,
// to Silver (Gold's downgrade_to), though 2025's spend qualifies for nothing.
TEST_F(TiersApi, WithOnRefundOnlyATierReachedThisYearFallsAtOnce) {
  std::string config = kCalendarYearTiers;
  config += "  downgrade: {on_refund: true}\n";
  use_config(config);
  auto reader = store::open_session(db_url_);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  set_clock("2024-05-01T10:00:00Z");
  const std::string old_order = pay("o-1", 12'000);
  set_clock("2024-12-31T23:00:00Z");  // New Year 2025 in Berlin
  auto counts = jobs::run_jobs_once(**reader, *engine_, clock_, jobs::JobSelection{});
  ASSERT_TRUE(counts.ok() && counts->complete);
  EXPECT_EQ(Json(history()).str("/data/0/change"), "renewed");

  set_clock("2025-03-01T10:00:00Z");
  refund(old_order, "r-1", 12'000);
  EXPECT_EQ(tier_id(), "silver") << "renewed from 2024: kept";

  set_clock("2025-04-01T10:00:00Z");
  const std::string new_order = pay("o-2", 35'000);
  EXPECT_EQ(tier_id(), "gold");
  refund(new_order, "r-2", 30'000);
  Json t(tier());
  EXPECT_EQ(t.str("/tier/id"), "silver");
  EXPECT_EQ(t.num("/metric/value"), 5'000);
  Json h(history());
  EXPECT_EQ(h.str("/data/0/change"), "downgraded");
  EXPECT_EQ(h.str("/data/0/from_tier"), "gold");
  EXPECT_EQ(h.num("/data/0/metric_value"), 5'000);
  EXPECT_EQ(tier_events(), (std::vector<std::string>{"tier.upgraded", "tier.renewed",
                                                     "tier.upgraded", "tier.downgraded"}));
}

TEST_F(TiersApi, ARollingWindowSlidesPastOldOrdersInALeapYear) {
  use_config(R"(
tiers:
  metric: orders
  window: rolling_months
  window_months: 2
  levels: [{id: regular, name: Regular, threshold: 2}]
)");
  set_clock("2024-01-20T12:00:00Z");
  const std::string january = pay("o-1", 1'000);
  set_clock("2024-02-29T12:00:00Z");
  Json t(tier());
  EXPECT_EQ(t.num("/metric/value"), 1);
  EXPECT_EQ(t.str("/progress/message"), "place 1 more order by 29 Feb 2024 to reach Regular");
  pay("o-2", 1'000);
  EXPECT_EQ(tier_id(), "regular");
  // In March the window is February and March: January's order has left it.
  set_clock("2024-03-05T12:00:00Z");
  Json t5(tier());
  EXPECT_EQ(t5.num("/metric/orders"), 1);
  EXPECT_EQ(t5.str("/metric/window_start"), "2024-01-31T23:00:00Z");  // 1 Feb in Berlin
  EXPECT_EQ(t5.str("/tier/id"), "regular") << "kept until the period end evaluation";
  // A refund of January's order changes January's bucket only.
  refund(january, "r-1", 1'000);
  EXPECT_EQ(Json(tier()).num("/metric/orders"), 1);
}

// grace_periods: 0 (the default). A guarantee that has passed is not shown
// (the tier awaits the period-end job); the job's renewal guarantees the year
// that has begun, never a date in the past.
TEST_F(TiersApi, WithoutGraceTheGuaranteeShownIsNeverInThePast) {
  use_config(kCalendarYearTiers);
  auto reader = store::open_session(db_url_);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  set_clock("2024-06-10T12:00:00Z");
  pay("o-1", 12'000);
  EXPECT_EQ(Json(tier()).str("/guaranteed_until"), "2024-12-31T23:00:00Z");

  set_clock("2024-12-31T23:30:00Z");  // 00:30 on 1 January in Berlin; the job has not run
  Json waiting(tier());
  EXPECT_EQ(waiting.str("/tier/id"), "silver");
  EXPECT_TRUE(waiting.is_null("/guaranteed_until"));

  auto counts = jobs::run_jobs_once(**reader, *engine_, clock_, jobs::JobSelection{});
  ASSERT_TRUE(counts.ok() && counts->complete);
  Json renewed(tier());
  EXPECT_EQ(renewed.str("/tier/id"), "silver");
  EXPECT_EQ(renewed.str("/guaranteed_until"), "2025-12-31T23:00:00Z");
  Json h(history());
  EXPECT_EQ(h.str("/data/0/change"), "renewed");
  EXPECT_EQ(h.str("/data/0/guaranteed_until"), "2025-12-31T23:00:00Z");
}

// grace_periods: 1: Gold reached in 2024 and refunded below its threshold is
// kept through 2025 (the grace year), whatever 2024's metric; with nothing
// spent in 2025 it falls at New Year 2026, to Silver (its downgrade_to).
TEST_F(TiersApi, WithGraceATierIsKeptForAYearThenDowngradedAtYearEnd) {
  std::string config = kCalendarYearTiers;
  config += "  downgrade: {grace_periods: 1}\n";
  use_config(config);
  auto reader = store::open_session(db_url_);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  const auto run_jobs = [&] {
    auto counts = jobs::run_jobs_once(**reader, *engine_, clock_, jobs::JobSelection{});
    ASSERT_TRUE(counts.ok() && counts->complete);
  };
  set_clock("2024-04-01T10:00:00Z");
  const std::string order = pay("o-1", 35'000);
  EXPECT_EQ(Json(tier()).str("/guaranteed_until"), "2025-12-31T23:00:00Z");
  refund(order, "r-1", 20'000);  // 150.00: Silver's range

  set_clock("2024-12-31T23:00:00Z");  // New Year 2025 in Berlin
  run_jobs();
  Json kept(tier());
  EXPECT_EQ(kept.str("/tier/id"), "gold");
  EXPECT_EQ(kept.str("/guaranteed_until"), "2025-12-31T23:00:00Z");
  EXPECT_EQ(kept.str("/since"), "2024-04-01T10:00:00Z");

  set_clock("2025-12-31T22:59:59Z");
  run_jobs();
  EXPECT_EQ(tier_id(), "gold");
  set_clock("2025-12-31T23:00:00Z");  // New Year 2026 in Berlin
  run_jobs();
  Json fell(tier());
  EXPECT_EQ(fell.str("/tier/id"), "silver");
  EXPECT_EQ(fell.str("/since"), "2025-12-31T23:00:00Z");
  EXPECT_EQ(fell.str("/guaranteed_until"), "2026-12-31T23:00:00Z");
  Json h(history());
  EXPECT_EQ(h.str("/data/0/change"), "downgraded");
  EXPECT_EQ(h.num("/data/0/metric_value"), 0);
  EXPECT_EQ(tier_events(), (std::vector<std::string>{"tier.upgraded", "tier.downgraded"}));
}

// The calendar year turns at local midnight in the program's zone: an order
// at 23:30 on 31 December counts for the old year, one at 00:30 on 1 January
// for the new one, on both sides of the date line.
struct NewYearCase {
  const char* zone;
  const char* before_midnight;  // 31 Dec 2024 23:30 local, in UTC
  const char* after_midnight;   // 1 Jan 2025 00:30 local
  const char* new_year_2025;
  const char* new_year_2026;
};

class TiersAtNewYear : public TiersApi, public ::testing::WithParamInterface<NewYearCase> {};

TEST_P(TiersAtNewYear, CountsEachOrderInItsLocalYear) {
  const NewYearCase& c = GetParam();
  program_ = create_program("Zoned", "", c.zone);
  alice_ = enroll(program_, "alice");
  use_config(kCalendarYearTiers);
  auto reader = store::open_session(db_url_);
  ASSERT_TRUE(reader.ok()) << reader.status().message();

  set_clock(c.before_midnight);
  pay("o-1", 10'000);  // Silver in 2024
  Json old_year(tier());
  EXPECT_EQ(old_year.str("/tier/id"), "silver");
  EXPECT_EQ(old_year.str("/metric/window_end"), c.new_year_2025);
  EXPECT_EQ(old_year.str("/guaranteed_until"), c.new_year_2025);

  set_clock(c.after_midnight);
  pay("o-2", 6'000);
  Json new_year(tier());
  EXPECT_EQ(new_year.num("/metric/value"), 6'000) << "only the order of 1 January";
  EXPECT_EQ(new_year.str("/metric/window_start"), c.new_year_2025);

  // The job evaluates 2024 with the 23:30 order alone: Silver is renewed.
  auto counts = jobs::run_jobs_once(**reader, *engine_, clock_, jobs::JobSelection{});
  ASSERT_TRUE(counts.ok() && counts->complete);
  Json renewed(tier());
  EXPECT_EQ(renewed.str("/tier/id"), "silver");
  EXPECT_EQ(renewed.str("/guaranteed_until"), c.new_year_2026);
  Json h(history());
  EXPECT_EQ(h.str("/data/0/change"), "renewed");
  EXPECT_EQ(h.num("/data/0/metric_value"), 10'000);
}

INSTANTIATE_TEST_SUITE_P(
    Zones, TiersAtNewYear,
    ::testing::Values(NewYearCase{"Pacific/Auckland", "2024-12-31T10:30:00Z",
                                  "2024-12-31T11:30:00Z", "2024-12-31T11:00:00Z",
                                  "2025-12-31T11:00:00Z"},
                      NewYearCase{"America/Los_Angeles", "2025-01-01T07:30:00Z",
                                  "2025-01-01T08:30:00Z", "2025-01-01T08:00:00Z",
                                  "2026-01-01T08:00:00Z"}),
    [](const auto& info) {
      std::string name = info.param.zone;
      std::erase_if(name, [](char ch) { return ch == '/' || ch == '_'; });
      return name;
    });

// An order on 29 February at 23:30 in Los Angeles (1 March in UTC) counts in
// February: a 12-month rolling window keeps it through January 2029; the
// period-end job of 1 February 2029 still renews on it, the one of 1 March
// 2029 (window March 2028 to February 2029) downgrades.
TEST_F(TiersApi, ALeapDayOrderLeavesARollingWindowWithFebruary) {
  program_ = create_program("Leap", "", "America/Los_Angeles");
  alice_ = enroll(program_, "alice");
  use_config(R"(
tiers:
  metric: spend
  window: rolling_months
  window_months: 12
  levels:
    - {id: silver, name: Silver, threshold: "100.00"}
    - {id: gold, name: Gold, threshold: "200.00"}
)");
  auto reader = store::open_session(db_url_);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  const auto run_jobs = [&] {
    auto counts = jobs::run_jobs_once(**reader, *engine_, clock_, jobs::JobSelection{});
    ASSERT_TRUE(counts.ok() && counts->complete);
  };
  set_clock("2028-03-01T07:30:00Z");  // 29 Feb 2028 23:30 in Los Angeles
  pay("o-1", 10'000);
  Json t(tier());
  EXPECT_EQ(t.str("/tier/id"), "silver");
  EXPECT_EQ(t.str("/metric/window_start"), "2027-03-01T08:00:00Z");
  EXPECT_EQ(t.str("/metric/window_end"), "2028-03-01T08:00:00Z");
  EXPECT_EQ(t.str("/progress/message"), "spend 100.00 USD more by 29 Feb 2028 to reach Gold");
  run_jobs();

  set_clock("2029-01-31T20:00:00Z");  // 31 Jan 2029, noon
  EXPECT_EQ(Json(tier()).num("/metric/value"), 10'000);
  set_clock("2029-02-01T09:00:00Z");  // 1 Feb 2029, 01:00: February 2028 has left the window
  EXPECT_EQ(Json(tier()).num("/metric/value"), 0);
  run_jobs();  // evaluates February 2028 to January 2029
  EXPECT_EQ(tier_id(), "silver");
  EXPECT_EQ(Json(history()).str("/data/0/change"), "renewed");

  set_clock("2029-03-01T09:00:00Z");
  run_jobs();  // March 2028 to February 2029: nothing
  EXPECT_EQ(tier_id(), "");
  Json h(history());
  EXPECT_EQ(h.str("/data/0/change"), "downgraded");
  EXPECT_EQ(h.num("/data/0/metric_value"), 0);
}

TEST_F(TiersApi, AnAdminAssignsATierWithAReasonAndAnExpiry) {
  use_config(kCalendarYearTiers);
  HttpResponse r = client().request(
      "PUT", "/v1/members/" + alice_ + "/tier",
      R"({"tier":"gold","reason":"goodwill: late delivery","expires_at":"2024-09-01T00:00:00Z","actor":"ana"})",
      auth(program_.key));
  ASSERT_EQ(r.status, 200) << r.body;
  Json t(r.body);
  EXPECT_EQ(t.str("/tier/id"), "gold");
  EXPECT_EQ(t.str("/source"), "manual");
  EXPECT_EQ(t.str("/manual/reason"), "goodwill: late delivery");
  EXPECT_EQ(t.str("/manual/expires_at"), "2024-09-01T00:00:00Z");
  EXPECT_EQ(t.str("/manual/actor"), program_.key_id + ":ana");
  Json h(history());
  EXPECT_EQ(h.str("/data/0/change"), "assigned");
  EXPECT_EQ(h.str("/data/0/reason"), "goodwill: late delivery");
  EXPECT_EQ(tier_events(), (std::vector<std::string>{"tier.upgraded"}));
  // After the expiry the member holds what the metric gives (nothing yet).
  set_clock("2024-09-02T00:00:00Z");
  EXPECT_EQ(tier_id(), "");
}

TEST_F(TiersApi, BadAssignmentsAreClearProblems) {
  use_config(kCalendarYearTiers);
  const std::string path = "/v1/members/" + alice_ + "/tier";
  HttpResponse r =
      client().request("PUT", path, R"({"tier":"platinum","reason":"x"})", auth(program_.key));
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(problem_slug(r), "unknown-tier");
  EXPECT_EQ(Json(r.body).str("/detail"),
            "tier 'platinum' is not a tier of the program (tiers: silver, gold)");
  r = client().request("PUT", "/v1/members/mem_999/tier", R"({"tier":"gold","reason":"x"})",
                       auth(program_.key));
  EXPECT_EQ(r.status, 404) << r.body;
  r = client().request("PUT", path, R"({"tier":"gold"})", auth(program_.key));
  EXPECT_EQ(r.status, 400) << r.body;
  r = client().request("PUT", path,
                       R"({"tier":"gold","reason":"x","expires_at":"2024-01-01T00:00:00Z"})",
                       auth(program_.key));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(client().get("/v1/members/mem_999/tier", auth(program_.key)).status, 404);
  EXPECT_EQ(client().get("/v1/members/mem_999/tier/history", auth(program_.key)).status, 404);
  // Another program's member is not found.
  ProgramHandle other = create_program("Other");
  EXPECT_EQ(client().get("/v1/members/" + alice_ + "/tier", auth(other.key)).status, 404);
  EXPECT_TRUE(tier_events().empty());
}

// ---- Every source of points counts for a points metric ----

// Silver at 100 points, Gold at 300 (x2 on orders); events, signup and manual
// credits count; every rule may read member.tier.
constexpr const char* kPointsTiers = R"(
earn_rules:
  - {id: base, trigger: order, kind: spend, points_per_unit: 1}
  - {id: welcome, trigger: signup, kind: fixed, points: 40}
  - {id: review, trigger: event, event_type: review, kind: fixed, points: 70}
  - id: gold_review
    trigger: event
    event_type: review
    kind: fixed
    points: 5
    condition: member.tier == "gold"
tiers:
  metric: points
  window: calendar_year
  levels:
    - {id: silver, name: Silver, threshold: 100}
    - id: gold
      name: Gold
      threshold: 300
      benefits: {earn_multiplier: 2}
)";

class TierSources : public TiersApi {
 protected:
  int64_t points_metric() { return Json(tier()).num("/metric/points"); }
  std::string review(const std::string& id) {
    HttpResponse r = client().post(
        "/v1/events", R"({"id":")" + id + R"(","member_id":")" + alice_ + R"(","type":"review"})",
        auth(program_.key));
    EXPECT_EQ(r.status, 201) << r.body;
    return r.body;
  }
  std::string credit(int64_t points) {
    HttpResponse r =
        client().post("/v1/members/" + alice_ + "/credits",
                      R"({"points":)" + std::to_string(points) + "}", auth(program_.key));
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).str("/id");
  }
};

TEST_F(TierSources, EventsSignupManualCreditsAndReversalsMoveThePointsMetric) {
  set_clock("2025-03-10T12:00:00Z");
  use_config(kPointsTiers);
  const std::string bob = enroll(program_, "bob");  // the signup bonus: 40 points
  {
    HttpResponse r = client().get("/v1/members/" + bob + "/tier", auth(program_.key));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(Json(r.body).num("/metric/points"), 40);
  }
  EXPECT_EQ(points_metric(), 0);  // alice enrolled before the configuration
  review("r-1");                  // +70
  EXPECT_EQ(points_metric(), 70);
  EXPECT_EQ(tier_id(), "");
  const std::string manual = credit(50);  // 120: Silver at once
  EXPECT_EQ(points_metric(), 120);
  EXPECT_EQ(tier_id(), "silver");
  HttpResponse r = client().post("/v1/postings/" + manual + "/reversal", "", auth(program_.key));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(points_metric(), 70);  // the reversal subtracts; no downgrade mid-period
  EXPECT_EQ(tier_id(), "silver");
  // An order's points count once (from the order, not also as a credit).
  pay("o-1", 10'000);  // 100 points at Silver (x1)
  EXPECT_EQ(points_metric(), 170);
}

// "Points earned" (docs/tiers.md): every point the program gave the member,
// manual adjustments of either sign included, net of what was taken back
// (reversals, an order's refund); spending them does not un-earn them. The
// period-end job reads the same counters as the incremental path.
TEST_F(TierSources, AdjustmentsReversalsAndRefundsCountSpendingDoesNot) {
  set_clock("2025-03-10T12:00:00Z");
  // Order points available at once, so the grant can still be reversed after the debit.
  use_config(std::string("earning: {return_window_days: 0, vest_from: paid}\n") + kPointsTiers);
  const auto post = [&](const std::string& path, const std::string& body) {
    HttpResponse r = client().post(path, body, auth(program_.key));
    EXPECT_EQ(r.status, 201) << path << " " << r.body;
    return Json(r.body).str("/id");
  };
  const std::string members = "/v1/members/" + alice_;
  const std::string grant =
      post(members + "/adjustments", R"({"points":120,"reason_code":"goodwill"})");
  EXPECT_EQ(points_metric(), 120);
  EXPECT_EQ(tier_id(), "silver");
  const std::string take =
      post(members + "/adjustments", R"({"points":-30,"reason_code":"correction"})");
  EXPECT_EQ(points_metric(), 90);
  post("/v1/postings/" + take + "/reversal", "");
  EXPECT_EQ(points_metric(), 120);
  const std::string order = pay("o-1", 10'000);  // 100 points at Silver (x1)
  EXPECT_EQ(points_metric(), 220);
  refund(order, "r-1", 5'000);  // 50 points clawed back
  EXPECT_EQ(points_metric(), 170);
  post(members + "/debits", R"({"points":20,"reason":"mug"})");  // spent, still earned
  EXPECT_EQ(points_metric(), 170);
  post("/v1/postings/" + grant + "/reversal", "");
  EXPECT_EQ(points_metric(), 50);
  EXPECT_EQ(tier_id(), "silver") << "no downgrade mid-period";

  // New Year 2026 in Berlin: the job counts 2025 as the reads did.
  auto reader = store::open_session(db_url_);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  set_clock("2025-12-31T23:00:00Z");
  auto counts = jobs::run_jobs_once(**reader, *engine_, clock_, jobs::JobSelection{});
  ASSERT_TRUE(counts.ok() && counts->complete);
  Json h(history());
  EXPECT_EQ(h.str("/data/0/change"), "downgraded");
  EXPECT_EQ(h.num("/data/0/metric_value"), 50);
  EXPECT_EQ(tier_id(), "");
}

TEST_F(TierSources, EventRulesSeeTheTierButOnlyOrderPointsAreMultiplied) {
  set_clock("2025-03-10T12:00:00Z");
  use_config(kPointsTiers);
  credit(300);  // Gold
  ASSERT_EQ(tier_id(), "gold");
  Json event(review("r-1"));
  // 70 + 5 (the gold-only rule read member.tier): not doubled.
  EXPECT_EQ(event.num("/points"), 75);
  const std::string order = pay("o-1", 1'000);  // 10 points, x2 at Gold
  EXPECT_EQ(points_of(order), 20);
}

TEST_F(TierSources, TheReadSideCompilesATierModelOncePerConfigurationVersion) {
  use_config(kPointsTiers);
  tier();
  const int64_t builds = engine::tier_model_builds();
  tier();
  tier();
  EXPECT_EQ(engine::tier_model_builds(), builds);
  use_config(kCalendarYearTiers);  // a new version: built again, and read
  Json t(tier());
  EXPECT_EQ(t.str("/metric/kind"), "spend");
  EXPECT_EQ(engine::tier_model_builds(), builds + 1);
}

// ---- VIP and paid membership over HTTP (docs/tiers.md) ----

// Silver and Gold by spend, an invite-only VIP tier, and a monthly Plus plan
// (9.99 USD, 5 days of grace, reminders 3 days ahead) that grants Gold.
constexpr const char* kVipAndPlans = R"(
earn_rules:
  - {id: base, trigger: order, kind: spend, points_per_unit: 1}
tiers:
  metric: spend
  window: calendar_year
  levels:
    - {id: silver, name: Silver, threshold: "100.00"}
    - {id: gold, name: Gold, threshold: "300.00", benefits: {earn_multiplier: 2}}
    - id: vip
      name: VIP
      invite_only: true
      benefits: {free_shipping: true, perks: [concierge]}
paid_membership:
  reminder_days: 3
  plans:
    - {id: plus, name: Plus, price: "9.99", period: month, grace_days: 5, grants: {tier: gold}}
)";

class VipAndPlansApi : public TiersApi {
 protected:
  void SetUp() override {
    TiersApi::SetUp();
    use_config(kVipAndPlans);
  }
  HttpResponse assign(const std::string& member, const std::string& body) {
    return client().request("PUT", "/v1/members/" + member + "/tier", body, auth(program_.key));
  }
  HttpResponse vips(const std::string& query = "") {
    return client().get("/v1/vip/members" + query, auth(program_.key));
  }
  HttpResponse pay_plan(const std::string& payment_id, const std::string& plan = "plus",
                        int64_t amount_minor = 999, const std::string& currency = "USD",
                        const std::string& member = "") {
    return client().post(
        "/v1/members/" + (member.empty() ? alice_ : member) + "/paid-membership/payments",
        R"({"plan_id":")" + plan + R"(","amount_minor":)" + std::to_string(amount_minor) +
            R"(,"currency":")" + currency + R"(","external_payment_id":")" + payment_id + R"("})",
        auth(program_.key));
  }
  std::string membership() {
    HttpResponse r = client().get("/v1/members/" + alice_ + "/paid-membership", auth(program_.key));
    EXPECT_EQ(r.status, 200) << r.body;
    return r.body;
  }
  int run_jobs() {
    auto reader = store::open_session(db_url_);
    EXPECT_TRUE(reader.ok()) << reader.status().message();
    if (!reader.ok()) return -1;
    auto counts = jobs::run_jobs_once(**reader, *engine_, clock_, jobs::JobSelection{});
    EXPECT_TRUE(counts.ok() && counts->complete);
    return counts.ok() ? 0 : -1;
  }
  std::vector<std::string> events_starting(const std::string& prefix) {
    HttpResponse r = client().get("/v1/outbox?limit=200", auth(program_.key));
    EXPECT_EQ(r.status, 200) << r.body;
    Json j(r.body);
    std::vector<std::string> out;
    for (size_t i = 0; j.has("/data/" + std::to_string(i)); ++i) {
      std::string type = j.str("/data/" + std::to_string(i) + "/type");
      if (type.starts_with(prefix)) out.push_back(type);
    }
    return out;
  }
};

TEST_F(VipAndPlansApi, AccountManagersListTheirVipsWhomOrdersDoNotMove) {
  const std::string bob = enroll(program_, "bob");
  HttpResponse r = assign(
      alice_,
      R"({"tier":"vip","reason":"top customer","account_manager":{"name":"Ada","email":"ada@example.com"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r.body).str("/tier/id"), "vip");
  r = assign(bob, R"({"tier":"vip","reason":"press","account_manager":{"admin_id":"adm_7"}})");
  ASSERT_EQ(r.status, 200) << r.body;

  r = vips();
  ASSERT_EQ(r.status, 200) << r.body;
  Json all(r.body);
  ASSERT_EQ(all.size("/data"), 2u);
  EXPECT_EQ(all.str("/data/0/member_id"), alice_);  // by member id
  EXPECT_EQ(all.str("/data/0/tier"), "vip");
  EXPECT_EQ(all.str("/data/0/account_manager/email"), "ada@example.com");
  EXPECT_EQ(all.str("/data/0/reason"), "top customer");
  EXPECT_EQ(all.str("/data/1/account_manager/admin_id"), "adm_7");

  r = vips("?account_manager=adm_7");
  ASSERT_EQ(r.status, 200) << r.body;
  Json mine(r.body);
  ASSERT_EQ(mine.size("/data"), 1u);
  EXPECT_EQ(mine.str("/data/0/member_id"), bob);
  r = vips("?limit=1");
  ASSERT_EQ(r.status, 200) << r.body;
  Json first(r.body);
  ASSERT_EQ(first.size("/data"), 1u);
  ASSERT_FALSE(first.is_null("/next_cursor")) << r.body;
  r = vips("?limit=1&cursor=" + first.str("/next_cursor"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r.body).str("/data/0/member_id"), bob);

  // A big order earns points (x1: VIP has no multiplier) but never moves a VIP.
  pay("o-1", 50'000);
  EXPECT_EQ(tier_id(), "vip");
  EXPECT_EQ(events_starting("vip."), (std::vector<std::string>{"vip.assigned", "vip.assigned"}));

  // Removing the assignment: the member holds what the spend gives (Gold).
  r = assign(alice_, R"({"tier":null,"reason":"programme review"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(tier_id(), "gold");
  EXPECT_EQ(Json(vips().body).size("/data"), 1u);
  EXPECT_EQ(events_starting("vip."),
            (std::vector<std::string>{"vip.assigned", "vip.assigned", "vip.removed"}));
}

TEST_F(VipAndPlansApi, BadVipRequestsAreClearProblems) {
  // An invite-only tier needs an account manager; no other tier takes one.
  HttpResponse r = assign(alice_, R"({"tier":"vip","reason":"x"})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(problem_slug(r), "invalid-request");
  r = assign(alice_, R"({"tier":"gold","reason":"x","account_manager":{"admin_id":"adm_1"}})");
  EXPECT_EQ(r.status, 400) << r.body;
  r = assign(
      alice_,
      R"({"tier":"vip","reason":"x","account_manager":{"name":"Ada","email":"not-an-email"}})");
  EXPECT_EQ(r.status, 400) << r.body;
  r = assign(alice_, R"({"tier":null,"reason":"nothing to end"})");
  EXPECT_EQ(r.status, 409) << r.body;
  r = assign("mem_999", R"({"tier":"vip","reason":"x","account_manager":{"admin_id":"adm_1"}})");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(vips("?colour=red").status, 400);
  EXPECT_EQ(vips("?account_manager=" + std::string(300, 'a')).status, 400);
  EXPECT_EQ(Json(vips().body).size("/data"), 0u);
  EXPECT_EQ(tier_id(), "");
  EXPECT_TRUE(events_starting("vip.").empty());
}

TEST_F(VipAndPlansApi, APaidPlanGrantsGoldThroughGraceThenLapsesToTheHeldTier) {
  EXPECT_EQ(Json(membership()).str("/status"), "none");
  pay("o-1", 15'000);  // Silver by spend
  HttpResponse r = pay_plan("pay-1");
  ASSERT_EQ(r.status, 200) << r.body;
  {
    Json m(r.body);
    EXPECT_EQ(m.str("/status"), "active");
    EXPECT_EQ(m.str("/plan/id"), "plus");
    EXPECT_EQ(m.num("/plan/price_minor"), 999);
    EXPECT_EQ(m.str("/plan/grants/tier"), "gold");
    // 2024-06-01 00:00 UTC is 02:00 in Berlin; one calendar month later, same local time.
    EXPECT_EQ(m.str("/current_period/start"), "2024-06-01T00:00:00Z");
    EXPECT_EQ(m.str("/current_period/end"), "2024-07-01T00:00:00Z");
    EXPECT_EQ(m.size("/periods"), 1u);
    EXPECT_FALSE(m.boolean("/replayed"));
  }
  {
    Json t(tier());
    EXPECT_EQ(t.str("/tier/id"), "gold");  // the effective tier
    EXPECT_EQ(t.str("/held_tier"), "silver");
    EXPECT_EQ(t.str("/granted_tier"), "gold");
  }
  // The same payment again: the membership, replayed, nothing new.
  r = pay_plan("pay-1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(Json(r.body).boolean("/replayed"));
  EXPECT_EQ(Json(membership()).size("/periods"), 1u);

  set_clock("2024-06-28T00:00:00Z");  // 3 days before the end: a reminder
  run_jobs();
  set_clock("2024-07-03T00:00:00Z");  // unpaid: grace
  run_jobs();
  EXPECT_EQ(Json(membership()).str("/status"), "grace");
  EXPECT_EQ(tier_id(), "gold");
  set_clock("2024-07-06T00:00:00Z");  // 5 days after the end: lapsed
  run_jobs();
  {
    Json m(membership());
    EXPECT_EQ(m.str("/status"), "lapsed");
    EXPECT_EQ(m.str("/lapsed_at"), "2024-07-06T00:00:00Z");
  }
  EXPECT_EQ(tier_id(), "silver");
  EXPECT_EQ(events_starting("paid_membership."),
            (std::vector<std::string>{"paid_membership.paid", "paid_membership.renewal_reminder",
                                      "paid_membership.lapsed"}));
  // Paying again after the lapse starts a new period now.
  r = pay_plan("pay-2");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r.body).str("/current_period/start"), "2024-07-06T00:00:00Z");
  EXPECT_EQ(Json(r.body).size("/periods"), 2u);
  EXPECT_EQ(tier_id(), "gold");
}

TEST_F(VipAndPlansApi, ACancelledPlanGrantsUntilThePeriodEndWithoutGrace) {
  ASSERT_EQ(pay_plan("pay-1").status, 200);
  HttpResponse r = client().post("/v1/members/" + alice_ + "/paid-membership:cancel",
                                 R"({"reason":"too expensive"})", auth(program_.key));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r.body).str("/status"), "cancelled");
  EXPECT_EQ(Json(r.body).str("/grants_until"), "2024-07-01T00:00:00Z");
  r = client().post("/v1/members/" + alice_ + "/paid-membership:cancel", "", auth(program_.key));
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(tier_id(), "gold");
  set_clock("2024-07-01T00:00:00Z");
  run_jobs();
  EXPECT_EQ(Json(membership()).str("/status"), "lapsed");
  EXPECT_EQ(tier_id(), "");
}

TEST_F(VipAndPlansApi, BadPaymentsArePreciseProblemsThatWriteNothing) {
  HttpResponse r = pay_plan("p-1", "gold-plan");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(problem_slug(r), "unknown-plan");
  r = pay_plan("p-2", "plus", 500);
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(problem_slug(r), "payment-mismatch");
  r = pay_plan("p-3", "plus", 999, "EUR");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(problem_slug(r), "payment-mismatch");
  r = pay_plan("p-4", "plus", 999, "USD", "mem_999");
  EXPECT_EQ(r.status, 404) << r.body;
  r = client().post("/v1/members/" + alice_ + "/paid-membership/payments",
                    R"({"plan_id":"plus","amount_minor":999,"currency":"USD"})",
                    auth(program_.key));
  EXPECT_EQ(r.status, 400) << r.body;  // no external_payment_id
  r = client().post("/v1/members/" + alice_ + "/paid-membership:cancel", "{}", auth(program_.key));
  EXPECT_EQ(r.status, 404) << r.body;  // nothing to cancel
  EXPECT_EQ(client().get("/v1/members/mem_999/paid-membership", auth(program_.key)).status, 404);
  Json m(membership());
  EXPECT_EQ(m.str("/status"), "none");
  EXPECT_EQ(m.size("/periods"), 0u);
  EXPECT_TRUE(events_starting("paid_membership.").empty());
  // The same payment id for another payment is a conflict.
  ASSERT_EQ(pay_plan("p-5").status, 200);
  r = client().post("/v1/members/" + alice_ + "/paid-membership/payments",
                    R"({"plan_id":"plus","amount_minor":999,"currency":"USD",)"
                    R"("external_payment_id":"p-5","period_start":"2024-07-01T00:00:00Z"})",
                    auth(program_.key));
  EXPECT_EQ(r.status, 409) << r.body;
}

}  // namespace
}  // namespace loyalty::testing
