// Tiers over HTTP (docs/tiers.md): GET/PUT /v1/members/{id}/tier, the history,
// the outbox events, and a year of orders with the test clock: an upgrade
// mid-year, refunds that do not downgrade mid-period (and one that does when
// configured), the calendar year turning at New Year in the program's time
// zone, a rolling window sliding past old orders, and a leap-year February.
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
  EXPECT_EQ(t.str("/guaranteed_until"), "2024-12-31T23:00:00Z");  // no grace: 2025 decides
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

}  // namespace
}  // namespace loyalty::testing
