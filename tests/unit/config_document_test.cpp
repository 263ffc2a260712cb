// The program configuration document: what it accepts, the exact error (path,
// line, column, message) for each way it can be wrong, its canonical JSON, and
// its agreement with the published JSON Schema.
#include "domain/config_document.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace loyalty {
namespace {

std::string source_path(const std::string& relative) {
  return std::string(LOYALTY_SOURCE_DIR) + "/" + relative;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ConfigContext usd_new_york() { return ConfigContext{"USD", 2, "America/New_York"}; }

std::string describe(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const ConfigError& e : errors) out += format_config_error(e, "") + "\n";
  return out;
}

ProgramConfig must_parse(const std::string& text, const ConfigContext& ctx = usd_new_york()) {
  ConfigParseResult r = parse_config_document(text, ctx);
  EXPECT_TRUE(r.ok()) << describe(r.errors);
  return r.config.value_or(ProgramConfig{});
}

// ---- Decimals ----

TEST(ConfigDecimal, ParsesUpToSixPlacesAndFormatsShortest) {
  struct Case {
    const char* text;
    int64_t micros;
    const char* formatted;
  };
  for (const Case& c :
       {Case{"1", 1'000'000, "1"}, Case{"1.5", 1'500'000, "1.5"}, Case{"0.000001", 1, "0.000001"},
        Case{"2.50", 2'500'000, "2.5"}, Case{"0", 0, "0"},
        Case{"123456789012", 123'456'789'012'000'000, "123456789012"}}) {
    auto d = parse_decimal(c.text);
    ASSERT_TRUE(d.has_value()) << c.text;
    EXPECT_EQ(d->micros, c.micros) << c.text;
    EXPECT_EQ(format_decimal(*d), c.formatted) << c.text;
  }
}

TEST(ConfigDecimal, RejectsSignsExponentsAndSevenPlaces) {
  for (const char* text :
       {"", "-1", "+1", "1e3", "1.", ".5", "0.0000001", "1.2.3", "abc", "1234567890123", " 1"}) {
    EXPECT_FALSE(parse_decimal(text).has_value()) << text;
  }
}

// ---- Valid documents ----

TEST(ConfigDocument, EmptyMappingGivesTheDefaults) {
  ProgramConfig c = must_parse("{}");
  EXPECT_EQ(c, ProgramConfig{});
}

TEST(ConfigDocument, DemoDocumentParsesToItsModel) {
  ProgramConfig c = must_parse(read_file(source_path("examples/demo-program.yaml")));
  EXPECT_EQ(c.earning.return_window_days, 30);
  EXPECT_EQ(c.earning.vest_from, VestFrom::kDelivered);
  EXPECT_EQ(c.expiry.mode, ExpiryMode::kAfterEarn);
  EXPECT_EQ(c.expiry.months, 12);
  ASSERT_EQ(c.earn_rules.size(), 5u);
  EXPECT_EQ(c.earn_rules[0].id, "base-spend");
  EXPECT_EQ(c.earn_rules[0].kind, EarnKind::kSpend);
  EXPECT_EQ(c.earn_rules[0].points_per_unit, Decimal::from_int(1));
  EXPECT_EQ(c.earn_rules[1].multiplier, Decimal::from_int(2));
  EXPECT_EQ(c.earn_rules[1].item_filter, "item.category == \"shoes\"");
  EXPECT_EQ(c.earn_rules[2].trigger, EarnTrigger::kSignup);
  EXPECT_EQ(c.earn_rules[2].points, 100);
  EXPECT_EQ(c.earn_rules[3].event_type, "review.written");
  ASSERT_TRUE(c.earn_rules[3].member_cap.has_value());
  EXPECT_EQ(c.earn_rules[3].member_cap->max_awards, 1);
  EXPECT_EQ(c.earn_rules[3].member_cap->distinct_by, "event.attributes.product_id");
  EXPECT_EQ(c.earn_rules[4].trigger, EarnTrigger::kBirthday);
}

constexpr const char* kFullYaml = R"(earning:
  eligible_spend: {after_discounts: false, include_shipping: true, include_tax: true,
                   excluded_categories: [gift_card, donation]}
  rounding: nearest
  return_window_days: 0
  vest_from: paid
  refund_overspend: claw_back_pending
  guest_order_claim_days: 7
  max_points_per_order: 5000
expiry:
  mode: fixed_date
  fixed_date: "06-30"
  warn_days_before: 30
earn_rules:
  - id: spend
    name: "1.5 per dollar"
    trigger: order
    kind: spend
    points_per_unit: 1.5
    min_order: "50.00"
    first_order_only: false
    priority: 10
    exclusive: true
    stackable: false
    global_cap: {period: month, max_points: 100000}
  - id: shoes
    trigger: order
    kind: fixed
    points: 25
    per_unit: true
    item_filter: item.category == "shoes"
    starts_at: "2026-11-27T00:00"
    ends_at: "2026-12-01T00:00:00Z"
  - id: reviews
    trigger: event
    event_type: review.written
    kind: formula
    formula: 10 + 5
    condition: event.attributes.stars == "5"
    member_cap: {period: week, max_awards: 3, max_points: 500, distinct_by: event.attributes.product_id}
    pending_days: 3
tiers:
  metric: spend
  window: rolling_months
  window_months: 12
  downgrade: {grace_periods: 1, on_refund: true}
  levels:
    - {id: silver, name: Silver, threshold: "500.00"}
    - id: gold
      name: Gold
      threshold: 2000
      downgrade_to: silver
      benefits:
        earn_multiplier: 1.5
        free_shipping: true
        early_access_hours: 24
        birthday_bonus_points: 500
        perks: [lounge, concierge]
        rewards: [gold-mug]
rewards: []
campaigns: []
challenges: []
referrals: {enabled: true, referrer_reward: {points: 500}}
)";

constexpr const char* kFullJson = R"({
  "earning": {
    "eligible_spend": {"after_discounts": false, "include_shipping": true, "include_tax": true,
                       "excluded_categories": ["gift_card", "donation"]},
    "rounding": "nearest", "return_window_days": 0, "vest_from": "paid",
    "refund_overspend": "claw_back_pending", "guest_order_claim_days": 7,
    "max_points_per_order": 5000
  },
  "expiry": {"mode": "fixed_date", "fixed_date": "06-30", "warn_days_before": 30},
  "earn_rules": [
    {"id": "spend", "name": "1.5 per dollar", "trigger": "order", "kind": "spend",
     "points_per_unit": 1.5, "min_order": 50, "first_order_only": false, "priority": 10,
     "exclusive": true, "stackable": false,
     "global_cap": {"period": "month", "max_points": 100000}},
    {"id": "shoes", "trigger": "order", "kind": "fixed", "points": 25, "per_unit": true,
     "item_filter": "item.category == \"shoes\"", "starts_at": "2026-11-27T05:00:00Z",
     "ends_at": "2026-11-30T19:00:00-05:00"},
    {"id": "reviews", "trigger": "event", "event_type": "review.written", "kind": "formula",
     "formula": "10 + 5", "condition": "event.attributes.stars == \"5\"",
     "member_cap": {"period": "week", "max_awards": 3, "max_points": 500,
                    "distinct_by": "event.attributes.product_id"},
     "pending_days": 3}
  ],
  "tiers": {"metric": "spend", "window": "rolling_months", "window_months": 12,
            "downgrade": {"grace_periods": 1, "on_refund": true},
            "levels": [{"id": "silver", "name": "Silver", "threshold": "500.00"},
                       {"id": "gold", "name": "Gold", "threshold": 2000, "downgrade_to": "silver",
                        "benefits": {"earn_multiplier": 1.5, "free_shipping": true,
                                     "early_access_hours": 24, "birthday_bonus_points": 500,
                                     "perks": ["lounge", "concierge"], "rewards": ["gold-mug"]}}]},
  "rewards": [], "campaigns": [], "challenges": [],
  "referrals": {"referrer_reward": {"points": 500}, "enabled": true}
})";

TEST(ConfigDocument, EveryFieldIsRead) {
  ProgramConfig c = must_parse(kFullYaml);
  EXPECT_FALSE(c.earning.eligible_spend.after_discounts);
  EXPECT_TRUE(c.earning.eligible_spend.include_shipping);
  EXPECT_EQ(c.earning.eligible_spend.excluded_categories,
            (std::vector<std::string>{"gift_card", "donation"}));
  EXPECT_EQ(c.earning.rounding, RoundingMode::kNearest);
  EXPECT_EQ(c.earning.return_window_days, 0);
  EXPECT_EQ(c.earning.refund_overspend, RefundOverspendPolicy::kClawBackPending);
  EXPECT_EQ(c.earning.max_points_per_order, 5000);
  EXPECT_EQ(c.expiry.mode, ExpiryMode::kFixedDate);
  EXPECT_EQ(c.expiry.fixed_month, 6);
  EXPECT_EQ(c.expiry.fixed_day, 30);
  ASSERT_EQ(c.earn_rules.size(), 3u);
  const EarnRule& spend = c.earn_rules[0];
  EXPECT_EQ(spend.points_per_unit, Decimal{1'500'000});
  EXPECT_EQ(spend.min_order_minor, 5000);
  EXPECT_EQ(spend.priority, 10);
  EXPECT_TRUE(spend.exclusive);
  EXPECT_FALSE(spend.stackable);
  ASSERT_TRUE(spend.global_cap.has_value());
  EXPECT_EQ(spend.global_cap->period, CapPeriod::kMonth);
  EXPECT_EQ(spend.global_cap->max_points, 100000);
  const EarnRule& shoes = c.earn_rules[1];
  EXPECT_TRUE(shoes.per_unit);
  // Midnight in New York (UTC-5 in November) and an explicit UTC instant.
  EXPECT_EQ(shoes.starts_at, parse_rfc3339("2026-11-27T05:00:00Z"));
  EXPECT_EQ(shoes.ends_at, parse_rfc3339("2026-12-01T00:00:00Z"));
  const EarnRule& reviews = c.earn_rules[2];
  EXPECT_EQ(reviews.formula, "10 + 5");
  EXPECT_EQ(reviews.pending_days, 3);
  EXPECT_EQ(c.tiers.metric, TierMetric::kSpend);
  EXPECT_EQ(c.tiers.window, (TierWindow{TierWindowKind::kRollingMonths, 12}));
  EXPECT_EQ(c.tiers.downgrade, (TierDowngradePolicy{1, true}));
  ASSERT_EQ(c.tiers.levels.size(), 2u);
  EXPECT_EQ(c.tiers.levels[0].threshold, 50000);  // minor units
  EXPECT_EQ(c.tiers.levels[0].benefits, TierBenefits{});
  const TierLevel& gold = c.tiers.levels[1];
  EXPECT_EQ(gold.threshold, 200000);
  EXPECT_EQ(gold.downgrade_to, "silver");
  EXPECT_EQ(gold.benefits.earn_multiplier, Decimal{1'500'000});
  EXPECT_TRUE(gold.benefits.free_shipping);
  EXPECT_EQ(gold.benefits.early_access_hours, 24);
  EXPECT_EQ(gold.benefits.birthday_bonus_points, 500);
  EXPECT_EQ(gold.benefits.perks, (std::vector<std::string>{"lounge", "concierge"}));
  EXPECT_EQ(gold.benefits.reward_ids, (std::vector<std::string>{"gold-mug"}));
  EXPECT_EQ(c.referrals_json, R"({"enabled":true,"referrer_reward":{"points":500}})");
  EXPECT_TRUE(c.referrals.enabled);
  EXPECT_EQ(c.referrals.referrer_reward.points, 500);
}

// docs/tiers.md, "VIP": an invite-only tier has no threshold (thresholds rise
// along the others), carries benefits like any tier (tier-only rewards
// included), and survives the canonical JSON.
TEST(ConfigDocument, AnInviteOnlyTierHasNoThresholdAndCarriesRewards) {
  ProgramConfig c = must_parse(
      "tiers:\n"
      "  levels:\n"
      "    - {id: silver, name: Silver, threshold: '500.00'}\n"
      "    - {id: vip, name: VIP, invite_only: true, benefits: {rewards: [vip-lounge]}}\n"
      "    - {id: gold, name: Gold, threshold: '2000.00'}\n");
  ASSERT_EQ(c.tiers.levels.size(), 3u);
  const TierLevel& vip = c.tiers.levels[1];
  EXPECT_TRUE(vip.invite_only);
  EXPECT_EQ(vip.threshold, 0);
  EXPECT_EQ(vip.benefits.reward_ids, (std::vector<std::string>{"vip-lounge"}));
  EXPECT_FALSE(c.tiers.levels[2].invite_only);
  const std::string canonical = config_to_json(c, usd_new_york());
  EXPECT_NE(canonical.find(R"({"id":"vip","name":"VIP","invite_only":true,"benefits")"),
            std::string::npos)
      << canonical;
  EXPECT_EQ(must_parse(canonical), c);
}

// docs/earning.md: a formula with an item_filter is evaluated per matching item
// and may read `item`.
TEST(ConfigDocument, FormulaWithAnItemFilterMayReadTheItem) {
  ProgramConfig c = must_parse(
      "earn_rules:\n"
      "  - {id: per-cd, trigger: order, kind: formula, item_filter: 'item.category == \"music\"',"
      " formula: item.quantity * 5}\n");
  ASSERT_EQ(c.earn_rules.size(), 1u);
  EXPECT_EQ(c.earn_rules[0].formula, "item.quantity * 5");
}

TEST(ConfigDocument, YamlAndJsonFormsGiveTheSameConfig) {
  // The JSON form differs in spelling only: an integer min_order, instants
  // with offsets, keys of the opaque slots in another order.
  ProgramConfig yaml = must_parse(kFullYaml);
  ProgramConfig json = must_parse(kFullJson);
  EXPECT_EQ(yaml, json) << config_to_json(yaml, usd_new_york()) << "\n"
                        << config_to_json(json, usd_new_york());
  EXPECT_EQ(detect_config_format(kFullJson), ConfigFormat::kJson);
  EXPECT_EQ(detect_config_format(kFullYaml), ConfigFormat::kYaml);
}

TEST(ConfigDocument, CanonicalJsonParsesBackToTheSameConfig) {
  for (const std::string& text :
       {std::string(kFullYaml), read_file(source_path("examples/demo-program.yaml")),
        std::string("{}")}) {
    ProgramConfig c = must_parse(text);
    std::string canonical = config_to_json(c, usd_new_york());
    ProgramConfig again = must_parse(canonical);
    EXPECT_EQ(again, c) << canonical;
    // Canonical means a fixed point.
    EXPECT_EQ(config_to_json(again, usd_new_york()), canonical);
  }
}

TEST(ConfigDocument, CanonicalJsonSpellsMoneyInTheProgramCurrency) {
  const char* doc =
      "earn_rules: [{id: r, trigger: order, kind: fixed, points: 5, min_order: 1500}]";
  ProgramConfig usd = must_parse(doc);
  EXPECT_EQ(usd.earn_rules[0].min_order_minor, 150000);
  EXPECT_NE(config_to_json(usd, usd_new_york()).find(R"("min_order":"1500.00")"),
            std::string::npos);
  ConfigContext jpy{"JPY", 0, "Asia/Tokyo"};
  ProgramConfig yen = must_parse(doc, jpy);
  EXPECT_EQ(yen.earn_rules[0].min_order_minor, 1500);
  EXPECT_NE(config_to_json(yen, jpy).find(R"("min_order":"1500")"), std::string::npos);
}

// ---- Errors: each kind with its exact path, line, column and message ----

struct ErrorCase {
  const char* name;
  const char* document;
  std::vector<ConfigError> errors;
};

const ErrorCase kErrorCases[] = {
    {"UnknownTopLevelKeySuggestsTheClosest",
     "earnig:\n  rounding: floor\n",
     {{"earnig", 1, 1, "unknown key 'earnig' (did you mean 'earning'?)"}}},
    {"UnknownKeyWithNothingCloseListsTheKeys",
     "expiry:\n  mode: none\n  xyzzy_frobnicate: 1\n",
     {{"expiry.xyzzy_frobnicate", 3, 3,
       "unknown key 'xyzzy_frobnicate'; expected one of: mode, months, fixed_date, "
       "warn_days_before"}}},
    {"DuplicateKey",
     "earning:\n  rounding: floor\n  rounding: ceil\n",
     {{"earning.rounding", 3, 3, "duplicate key: already given at line 2, column 3"}}},
    {"EnumValueWithSuggestion",
     "earning:\n  rounding: flor\n",
     {{"earning.rounding", 2, 13,
       "expected floor, nearest or ceil, got 'flor' (did you mean 'floor'?)"}}},
    {"IntegerAboveItsRange",
     "earning:\n  return_window_days: 366\n",
     {{"earning.return_window_days", 2, 23, "expected an integer from 0 to 365, got 366"}}},
    {"IntegerGivenAsString",
     "earning:\n  return_window_days: \"30\"\n",
     {{"earning.return_window_days", 2, 23,
       "expected an integer from 0 to 365, got the string '30'"}}},
    {"BooleanExpected",
     "earning:\n  eligible_spend: {include_tax: yes}\n",
     {{"earning.eligible_spend.include_tax", 2, 33,
       "expected true or false, got the string 'yes'"}}},
    {"MappingExpected",
     "earning: [1, 2]\n",
     {{"earning", 1, 10, "expected a mapping, got a list"}}},
    {"EmptyValueIsReportedAtItsKey",
     "earning:\nexpiry:\n  mode: none\n",
     {{"earning", 1, 1, "expected a mapping, got nothing (null)"}}},
    {"ExpiryWithoutMode",
     "expiry:\n  months: 6\n",
     {{"expiry.mode", 2, 3,
       "required key missing: expected none, after_earn, rolling or fixed_date"}}},
    {"MonthsOnlyForMonthModes",
     "expiry:\n  mode: fixed_date\n  months: 6\n",
     {{"expiry.months", 3, 3,
       "months applies only to modes after_earn and rolling, not to mode fixed_date"}}},
    {"FixedDateMustBeACalendarDay",
     "expiry:\n  mode: fixed_date\n  fixed_date: \"02-30\"\n",
     {{"expiry.fixed_date", 3, 15,
       "expected a month and day as \"MM-DD\", like \"12-31\", got '02-30'"}}},
    {"RuleWithoutIdTriggerAndKind",
     "earn_rules:\n  - name: nameless\n",
     {{"earn_rules[0].id", 2, 5,
       "required key missing: a rule id of [a-z0-9_-], 1 to 64 characters"},
      {"earn_rules[0].trigger", 2, 5,
       "required key missing: expected order, signup, event, birthday or anniversary"},
      {"earn_rules[0].kind", 2, 5,
       "required key missing: expected spend, multiplier, fixed or formula"}}},
    {"RuleIdMalformed",
     "earn_rules:\n  - {id: Big Rule, trigger: signup, kind: fixed, points: 1}\n",
     {{"earn_rules[0].id", 2, 10,
       "expected a rule id of lower-case letters, digits, '_' and '-', 1 to 64 characters, got "
       "'Big Rule'"}}},
    {"RuleIdDuplicate",
     "earn_rules:\n  - {id: a, trigger: signup, kind: fixed, points: 1}\n"
     "  - {id: a, trigger: signup, kind: fixed, points: 2}\n",
     {{"earn_rules[1].id", 3, 10, "duplicate rule id 'a' (already used by earn_rules[0])"}}},
    {"MisspelledAmountIsUnknownAndTheRealOneMissing",
     "earn_rules:\n  - id: a\n    trigger: signup\n    kind: fixed\n    pionts: 5\n",
     {{"earn_rules[0].points", 2, 5,
       "required key missing: the points to award (kind: fixed needs it)"},
      {"earn_rules[0].pionts", 5, 5, "unknown key 'pionts' (did you mean 'points'?)"}}},
    {"EventRuleNeedsEventType",
     "earn_rules:\n  - {id: a, trigger: event, kind: fixed, points: 5}\n",
     {{"earn_rules[0].event_type", 2, 5,
       "required key missing: an event type of [a-z0-9_.-], 1 to 64 characters (trigger: event "
       "needs it)"}}},
    {"EventTypeOnlyForEventRules",
     "earn_rules:\n  - {id: a, trigger: signup, event_type: x, kind: fixed, points: 5}\n",
     {{"earn_rules[0].event_type", 2, 30,
       "event_type applies only to trigger: event; this rule has trigger: signup"}}},
    {"ExactlyTheAmountTheKindNeeds",
     "earn_rules:\n  - {id: a, trigger: order, kind: spend, points_per_unit: 1, points: 5}\n",
     {{"earn_rules[0].points", 2, 62,
       "points applies only to kind: fixed; this rule has kind: spend"}}},
    {"SpendNeedsAnOrderTrigger",
     "earn_rules:\n  - {id: a, trigger: signup, kind: spend, points_per_unit: 1}\n",
     {{"earn_rules[0].kind", 2, 36,
       "kind: spend needs trigger: order; this rule has trigger: signup"}}},
    {"MultiplierMustBePositive",
     "earn_rules:\n  - {id: a, trigger: order, kind: multiplier, multiplier: 0}\n",
     {{"earn_rules[0].multiplier", 2, 59,
       "expected a number greater than 0 and at most 1000000 with at most 6 decimal places, like "
       "1 or 1.5, got '0'"}}},
    {"PerUnitNeedsAnItemFilter",
     "earn_rules:\n  - {id: a, trigger: order, kind: fixed, points: 5, per_unit: true}\n",
     {{"earn_rules[0].per_unit", 2, 53,
       "per_unit needs an item_filter: it awards the points per unit of each matching item"}}},
    {"PendingDaysNotForOrders",
     "earn_rules:\n  - {id: a, trigger: order, kind: fixed, points: 5, pending_days: 3}\n",
     {{"earn_rules[0].pending_days", 2, 53,
       "pending_days applies only to triggers other than order (order points vest per "
       "earning.return_window_days); this rule has trigger: order"}}},
    {"MoneyWithMoreDigitsThanTheCurrency",
     "earn_rules:\n  - {id: a, trigger: order, kind: fixed, points: 5, min_order: \"9.999\"}\n",
     {{"earn_rules[0].min_order", 2, 64,
       "expected an amount in USD with at most 2 decimal places, like \"50.00\" (at most "
       "1000000000), got '9.999'"}}},
    {"WindowMustNotBeEmpty",
     "earn_rules:\n  - id: a\n    trigger: signup\n    kind: fixed\n    points: 5\n"
     "    starts_at: \"2026-12-01T00:00\"\n    ends_at: \"2026-12-01T00:00\"\n",
     {{"earn_rules[0].ends_at", 7, 14, "ends_at must be later than starts_at"}}},
    {"LocalTimeInTheDaylightSavingGap",
     "earn_rules:\n  - id: a\n    trigger: signup\n    kind: fixed\n    points: 5\n"
     "    starts_at: \"2026-03-08T02:30\"\n",
     {{"earn_rules[0].starts_at", 6, 16,
       "'2026-03-08T02:30' does not exist in America/New_York (clocks skip it for daylight "
       "saving time); choose another time"}}},
    {"CapWithoutALimit",
     "earn_rules:\n  - id: a\n    trigger: signup\n    kind: fixed\n    points: 5\n"
     "    member_cap: {period: day}\n",
     {{"earn_rules[0].member_cap", 6, 17, "a cap needs max_awards, max_points or both"}}},
    {"DistinctByOnlyForMemberCaps",
     "earn_rules:\n  - id: a\n    trigger: signup\n    kind: fixed\n    points: 5\n"
     "    global_cap: {period: day, max_awards: 9, distinct_by: member.id}\n",
     {{"earn_rules[0].global_cap.distinct_by", 6, 46,
       "unknown key 'distinct_by': distinct_by applies only to member_cap"}}},
    {"StringExpectedNotANumber",
     "earn_rules:\n  - {id: a, name: 5, trigger: signup, kind: fixed, points: 5}\n",
     {{"earn_rules[0].name", 2, 19,
       "expected a string, got the number 5 (put it in quotes to make it a string)"}}},
    {"ConditionTypeErrorPointsIntoThePlainExpression",
     "earn_rules:\n  - id: a\n    trigger: order\n    kind: fixed\n    points: 5\n"
     "    condition: order.total + 1\n",
     {{"earn_rules[0].condition", 6, 16, ""}}},
    {"ConditionErrorInsideAQuotedExpression",
     "earn_rules:\n  - id: a\n    trigger: order\n    kind: fixed\n    points: 5\n"
     "    condition: \"order.total >= 5.00 && order.items\"\n",
     {{"earn_rules[0].condition", 6, 46, ""}}},
    {"ConditionErrorOnTheSecondLineOfABlockScalar",
     "earn_rules:\n  - id: a\n    trigger: order\n    kind: fixed\n    points: 5\n"
     "    condition: |\n      order.total >= 5.00 &&\n        order.items\n",
     {{"earn_rules[0].condition", 8, 9, ""}}},
    {"ExpressionNamesARootTheTriggerLacks",
     "earn_rules:\n  - {id: a, trigger: signup, kind: fixed, points: 5, condition: order.total > "
     "1}\n",
     {{"earn_rules[0].condition", 2, 65, ""}}},
    {"FormulaWithoutItemFilterCannotReadItem",
     "earn_rules:\n  - {id: a, trigger: order, kind: formula, formula: item.quantity}\n",
     {{"earn_rules[0].formula", 2, 53, ""}}},
    {"NotYamlAtAll", "earning: [1, 2\n", {{"", 2, 1, ""}}},
    {"EmptyDocument",
     "# nothing here\n",
     {{"", 1, 1, "the document is empty; expected a mapping with earning, expiry and earn_rules"}}},
    {"TwoDocuments",
     "earning: {}\n---\nexpiry: {mode: none}\n",
     {{"", 3, 1, "expected one document, found 2 (remove the extra '---')"}}},
    // yaml-cpp 0.7's LoadAll never returns on these (yaml-cpp #1040): the
    // parser must answer them, and at once.
    {"CommaWhereTheRootStarts",
     ", USD\t Americ The re9999999999999999999999999999999999999999999999999999ah",
     {{"", 1, 1, "not valid YAML or JSON: unexpected ',' where a value starts"}}},
    {"CommaAfterTheRootDocumentEnded",
     "earning: {}\n...\n,\n",
     {{"", 3, 1, "expected one document, found 2 (remove the extra '---')"}}},
    {"SlotOfTheWrongType",
     "rewards: {gold: 1}\n",
     {{"rewards", 1, 10, "expected a list, got a mapping"}}},
    // Tiers (docs/tiers.md).
    {"TiersAreAMapping", "tiers: [gold]\n", {{"tiers", 1, 8, "expected a mapping, got a list"}}},
    {"TierThresholdsMustRise",
     "tiers:\n  levels:\n    - {id: silver, name: Silver, threshold: '500.00'}\n"
     "    - {id: gold, name: Gold, threshold: '200.00'}\n",
     {{"tiers.levels[1].threshold", 4, 41,
       "threshold is lower than that of tier 'silver', the tier before it; thresholds must rise "
       "strictly with the tiers (lowest tier first)"}}},
    {"TierThresholdsMustNotOverlap",
     "tiers:\n  metric: orders\n  levels:\n    - {id: silver, name: Silver, threshold: 5}\n"
     "    - {id: gold, name: Gold, threshold: 5}\n",
     {{"tiers.levels[1].threshold", 5, 41,
       "threshold overlaps tier 'silver': both qualify at the same value; thresholds must rise "
       "strictly with the tiers (lowest tier first)"}}},
    {"TierMultiplierMustBePositive",
     "tiers:\n  levels:\n    - {id: gold, name: Gold, threshold: 1, benefits: {earn_multiplier: "
     "0}}\n",
     {{"tiers.levels[0].benefits.earn_multiplier", 3, 72,
       "expected a number greater than 0 and at most 1000000 with at most 6 decimal places, like "
       "1 or 1.5, got '0'"}}},
    {"TierMultiplierMustNotBeNegative",
     "tiers:\n  levels:\n    - {id: gold, name: Gold, threshold: 1, benefits: {earn_multiplier: "
     "-2}}\n",
     {{"tiers.levels[0].benefits.earn_multiplier", 3, 72,
       "expected a number greater than 0 and at most 1000000 with at most 6 decimal places, like "
       "1 or 1.5, got '-2'"}}},
    {"TierIdUsedTwice",
     "tiers:\n  levels:\n    - {id: gold, name: Silver, threshold: 1}\n"
     "    - {id: gold, name: Gold, threshold: 2}\n",
     {{"tiers.levels[1].id", 4, 12, "duplicate tier id 'gold' (already used by tiers.levels[0])"}}},
    {"TierNameUsedTwice",
     "tiers:\n  levels:\n    - {id: silver, name: Gold, threshold: 1}\n"
     "    - {id: gold, name: Gold, threshold: 2}\n",
     {{"tiers.levels[1].name", 4, 24,
       "duplicate tier name 'Gold' (already used by tiers.levels[0])"}}},
    {"TierDowngradeTargetMustExist",
     "tiers:\n  levels:\n    - {id: silver, name: Silver, threshold: 1}\n"
     "    - {id: gold, name: Gold, threshold: 2, downgrade_to: bronze}\n",
     {{"tiers.levels[1].downgrade_to", 4, 58,
       "downgrade target 'bronze' is not a tier of this program"}}},
    {"TierDowngradeTargetMustBeLower",
     "tiers:\n  levels:\n    - {id: silver, name: Silver, threshold: 1, downgrade_to: gold}\n"
     "    - {id: gold, name: Gold, threshold: 2}\n",
     {{"tiers.levels[0].downgrade_to", 3, 62,
       "downgrade target 'gold' must be a lower tier than 'silver'"}}},
    {"TierExpressionIsAnIntOverTheWindowMetrics",
     "tiers:\n  metric: expression\n  expression: member.total_spent\n"
     "  levels: [{id: gold, name: Gold, threshold: 1}]\n",
     {{"tiers.expression", 3, 15, ""}}},
    {"TierExpressionOnlyForMetricExpression",
     "tiers:\n  metric: points\n  expression: member.orders_count\n",
     {{"tiers.expression", 3, 3,
       "expression applies only to metric: expression; this program has metric: points"}}},
    {"TierWindowMonthsOnlyForRollingWindows",
     "tiers:\n  window: calendar_year\n  window_months: 6\n",
     {{"tiers.window_months", 3, 3,
       "window_months applies only to window: rolling_months, not to window: calendar_year"}}},
    {"TierRollingWindowLimit",
     "tiers:\n  window: rolling_months\n  window_months: 37\n",
     {{"tiers.window_months", 3, 18, "expected an integer from 1 to 36, got 37"}}},
    {"TierGracePeriodsLimit",
     "tiers:\n  downgrade: {grace_periods: 6}\n",
     {{"tiers.downgrade.grace_periods", 2, 30, "expected an integer from 0 to 5, got 6"}}},
    // VIP (invite-only tiers): no threshold, no downgrade_to, never a downgrade target.
    {"InviteOnlyTierHasNoThreshold",
     "tiers:\n  levels:\n    - {id: vip, name: VIP, invite_only: true, threshold: '9.00'}\n",
     {{"tiers.levels[0].threshold", 3, 58,
       "an invite-only tier has no threshold: only an admin's assignment reaches it"}}},
    {"InviteOnlyTierHasNoDowngradeTo",
     "tiers:\n  levels:\n    - {id: silver, name: Silver, threshold: 1}\n"
     "    - {id: vip, name: VIP, invite_only: true, downgrade_to: silver}\n",
     {{"tiers.levels[1].downgrade_to", 4, 61,
       "an invite-only tier has no downgrade_to: only an admin's assignment leaves it"}}},
    {"AnInviteOnlyTierIsNoDowngradeTarget",
     "tiers:\n  levels:\n    - {id: vip, name: VIP, invite_only: true}\n"
     "    - {id: gold, name: Gold, threshold: 2, downgrade_to: vip}\n",
     {{"tiers.levels[1].downgrade_to", 4, 58,
       "downgrade target 'vip' is invite-only: only an admin's assignment reaches it"}}},
    {"ThresholdsRiseAcrossAnInviteOnlyTier",
     "tiers:\n  levels:\n    - {id: silver, name: Silver, threshold: '500.00'}\n"
     "    - {id: vip, name: VIP, invite_only: true}\n"
     "    - {id: gold, name: Gold, threshold: '200.00'}\n",
     {{"tiers.levels[2].threshold", 5, 41,
       "threshold is lower than that of tier 'silver', the tier before it; thresholds must rise "
       "strictly with the tiers (lowest tier first)"}}},
    {"InviteOnlyIsABoolean",
     "tiers:\n  levels:\n    - {id: vip, name: VIP, invite_only: sometimes, threshold: 1}\n",
     {{"tiers.levels[0].invite_only", 3, 41,
       "expected true or false, got the string 'sometimes'"}}},
    {"TierSpendThresholdInTheCurrency",
     "tiers:\n  levels: [{id: gold, name: Gold, threshold: '1.005'}]\n",
     {{"tiers.levels[0].threshold", 2, 46,
       "expected an amount in USD with at most 2 decimal places, like \"50.00\" (at most "
       "1000000000), got '1.005'"}}},
};

class ConfigErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigErrors, ReportsPathLineColumnAndMessage) {
  const ErrorCase& c = GetParam();
  ConfigParseResult r = parse_config_document(c.document, usd_new_york());
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), c.errors.size()) << describe(r.errors);
  for (size_t i = 0; i < c.errors.size(); ++i) {
    const ConfigError& want = c.errors[i];
    const ConfigError& got = r.errors[i];
    EXPECT_EQ(got.path, want.path) << describe(r.errors);
    EXPECT_EQ(got.line, want.line) << describe(r.errors);
    EXPECT_EQ(got.column, want.column) << describe(r.errors);
    // Expression and YAML syntax messages come from the rules language and
    // yaml-cpp: checked for being there, not for their wording.
    if (!want.message.empty()) {
      EXPECT_EQ(got.message, want.message);
    } else {
      EXPECT_FALSE(got.message.empty());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Table, ConfigErrors, ::testing::ValuesIn(kErrorCases),
                         [](const ::testing::TestParamInfo<ErrorCase>& info) {
                           return std::string(info.param.name);
                         });

TEST(ConfigDocument, ExpressionErrorsSayWhichExpressionAndTheOffset) {
  ConfigParseResult r = parse_config_document(
      "earn_rules:\n  - {id: a, trigger: order, kind: fixed, points: 5, condition: \"1 + true\"}\n",
      usd_new_york());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_TRUE(r.errors[0].message.starts_with("in a condition (a bool expression) at offset "))
      << r.errors[0].message;
}

// ---- Limits, at the boundary ----

std::string rules_document(size_t n) {
  std::string doc = "earn_rules:\n";
  for (size_t i = 0; i < n; ++i) {
    doc += "  - {id: r" + std::to_string(i) + ", trigger: signup, kind: fixed, points: 1}\n";
  }
  return doc;
}

TEST(ConfigLimits, EarnRulesUpToTheLimit) {
  EXPECT_EQ(must_parse(rules_document(kMaxEarnRules)).earn_rules.size(), kMaxEarnRules);
  ConfigParseResult over = parse_config_document(rules_document(kMaxEarnRules + 1), usd_new_york());
  ASSERT_EQ(over.errors.size(), 1u);
  EXPECT_EQ(over.errors[0].path, "earn_rules");
  EXPECT_EQ(over.errors[0].message, "at most 500 earn rules, got 501");
}

TEST(ConfigLimits, DocumentSizeUpToTheLimit) {
  std::string doc = "earning: {}\n";
  doc += std::string(kMaxConfigDocumentBytes - doc.size() - 1, '#') + "\n";
  ASSERT_EQ(doc.size(), kMaxConfigDocumentBytes);
  EXPECT_TRUE(parse_config_document(doc, usd_new_york()).ok());
  doc += "\n";
  ConfigParseResult over = parse_config_document(doc, usd_new_york());
  ASSERT_EQ(over.errors.size(), 1u);
  EXPECT_EQ(over.errors[0].message, "the document is larger than 1048576 bytes");
}

TEST(ConfigLimits, RuleIdUpToSixtyFourCharacters) {
  auto doc = [](size_t n) {
    return "earn_rules: [{id: " + std::string(n, 'a') +
           ", trigger: signup, kind: fixed, points: 1}]";
  };
  EXPECT_TRUE(parse_config_document(doc(kMaxRuleIdLength), usd_new_york()).ok());
  EXPECT_FALSE(parse_config_document(doc(kMaxRuleIdLength + 1), usd_new_york()).ok());
}

TEST(ConfigLimits, ErrorsStopAtTheLimitWithANote) {
  std::string doc;
  for (size_t i = 0; i < kMaxConfigErrors + 10; ++i) doc += "k" + std::to_string(i) + ": 1\n";
  ConfigParseResult r = parse_config_document(doc, usd_new_york());
  ASSERT_EQ(r.errors.size(), kMaxConfigErrors + 1);
  EXPECT_EQ(r.errors.back().message, "too many errors; only the first 100 are reported");
}

TEST(ConfigLimits, AliasesCannotExplodeTheOpaqueSlots) {
  // Each level refers to the previous one ten times: 10^9 values if expanded.
  std::string doc = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    std::string prev = "*a" + std::to_string(i - 1);
    doc += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev;
    for (int k = 1; k < 10; ++k) doc += ", " + prev;
    doc += "]\n";
  }
  std::string wrapped = "referrals:\n";
  std::istringstream lines(doc);
  for (std::string line; std::getline(lines, line);) wrapped += "  " + line + "\n";
  ConfigParseResult r = parse_config_document(wrapped, usd_new_york());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.errors[0].message,
            "the document has more than 100000 values (aliases count each time they are used)");
}

// ---- Errors through a Status (engine -> HTTP) ----

TEST(ConfigErrorStatus, CarriesEveryErrorAndReadsBack) {
  std::vector<ConfigError> errors = {
      {"earn_rules[3].condition", 12, 16, "in a condition at offset 4: expected bool, got money"},
      {"", 1, 1, "not valid YAML or JSON: end of map not found"},
      {"referrals[\"a\\u0020b\"]", 2, 3, "unknown key 'x': y"}};
  Status s = invalid_config_status(errors);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidConfig);
  EXPECT_TRUE(s.message().starts_with("the configuration document has 3 errors\n"));
  EXPECT_EQ(config_errors_of(s), errors);
  EXPECT_TRUE(config_errors_of(Status(ErrorCode::kInvalidRequest, "x: y")).empty());
}

// Slots read by ConfigReader (rewards, referrals, checkout) name odd keys the
// way the rest of the document does, so their errors read back from a Status
// too (found by fuzz_config: a key holding ", *" and "]").
TEST(ConfigErrorStatus, OddKeysInReaderSlotsReadBack) {
  for (const char* doc :
       {"referrals:\n  \"b: *x, *y]\": 1\n",
        "rewards:\n  - {id: a, name: A, type: experience, cost: 1, \"p q]\": 1}\n"}) {
    SCOPED_TRACE(doc);
    ConfigParseResult r = parse_config_document(doc, usd_new_york());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.errors[0].path.find("[\""), std::string::npos) << r.errors[0].path;
    EXPECT_EQ(config_errors_of(invalid_config_status(r.errors)), r.errors);
  }
}

TEST(ConfigErrorFormat, IsFileLineColumnPathMessage) {
  EXPECT_EQ(format_config_error({"earn_rules[3].condition", 12, 16, "bad"}, "shop.yaml"),
            "shop.yaml:12:16: earn_rules[3].condition: bad");
  EXPECT_EQ(format_config_error({"", 1, 1, "empty"}, "shop.yaml"), "shop.yaml:1:1: empty");
}

// ---- The JSON Schema and the parser know the same keys ----

std::set<std::string> schema_keys(const YAML::Node& object) {
  std::set<std::string> keys;
  EXPECT_TRUE(object["additionalProperties"].IsDefined() &&
              !object["additionalProperties"].as<bool>())
      << "every object of the schema must forbid unknown keys, as the parser does";
  for (auto it = object["properties"].begin(); it != object["properties"].end(); ++it) {
    keys.insert(it->first.as<std::string>());
  }
  return keys;
}

TEST(ConfigSchema, KnowsExactlyTheParsersKeys) {
  YAML::Node schema = YAML::LoadFile(source_path("api/program-config.schema.json"));
  const YAML::Node props = schema["properties"];
  std::map<std::string, YAML::Node> objects = {
      {"", schema},
      {"earning", props["earning"]},
      {"earning.eligible_spend", props["earning"]["properties"]["eligible_spend"]},
      {"expiry", props["expiry"]},
      {"earn_rules[]", schema["$defs"]["earn_rule"]},
      {"earn_rules[].member_cap", schema["$defs"]["member_cap"]},
      {"earn_rules[].global_cap", schema["$defs"]["global_cap"]},
      {"tiers", props["tiers"]},
      {"tiers.downgrade", props["tiers"]["properties"]["downgrade"]},
      {"tiers.levels[]", schema["$defs"]["tier_level"]},
      {"tiers.levels[].benefits", schema["$defs"]["tier_benefits"]},
      {"checkout", props["checkout"]},
      {"paid_membership", props["paid_membership"]},
      {"paid_membership.plans[]", props["paid_membership"]["properties"]["plans"]["items"]},
      {"paid_membership.plans[].grants",
       props["paid_membership"]["properties"]["plans"]["items"]["properties"]["grants"]},
      {"paid_membership.plans[].grants.benefits", schema["$defs"]["tier_benefits"]},
  };
  ASSERT_EQ(config_document_keys().size(), objects.size());
  for (const ConfigObjectKeys& parser : config_document_keys()) {
    ASSERT_TRUE(objects.count(std::string(parser.object))) << parser.object;
    std::set<std::string> want(parser.keys.begin(), parser.keys.end());
    EXPECT_EQ(schema_keys(objects[std::string(parser.object)]), want) << parser.object;
  }
}

TEST(ConfigSchema, EnumsListTheParsersNames) {
  YAML::Node schema = YAML::LoadFile(source_path("api/program-config.schema.json"));
  auto names = [](const YAML::Node& property) {
    std::vector<std::string> out;
    for (const auto& v : property["enum"]) out.push_back(v.as<std::string>());
    return out;
  };
  const YAML::Node rule = schema["$defs"]["earn_rule"]["properties"];
  EXPECT_EQ(
      names(rule["trigger"]),
      (std::vector<std::string>{to_string(EarnTrigger::kOrder), to_string(EarnTrigger::kSignup),
                                to_string(EarnTrigger::kEvent), to_string(EarnTrigger::kBirthday),
                                to_string(EarnTrigger::kAnniversary)}));
  EXPECT_EQ(names(rule["kind"]),
            (std::vector<std::string>{to_string(EarnKind::kSpend), to_string(EarnKind::kMultiplier),
                                      to_string(EarnKind::kFixed), to_string(EarnKind::kFormula)}));
  EXPECT_EQ(names(schema["properties"]["expiry"]["properties"]["mode"]),
            (std::vector<std::string>{
                to_string(ExpiryMode::kNone), to_string(ExpiryMode::kAfterEarn),
                to_string(ExpiryMode::kRolling), to_string(ExpiryMode::kFixedDate)}));
  EXPECT_EQ(names(schema["properties"]["tiers"]["properties"]["metric"]),
            (std::vector<std::string>{to_string(TierMetric::kSpend), to_string(TierMetric::kPoints),
                                      to_string(TierMetric::kOrders),
                                      to_string(TierMetric::kExpression)}));
  EXPECT_EQ(names(schema["properties"]["tiers"]["properties"]["window"]),
            (std::vector<std::string>{to_string(TierWindowKind::kCalendarYear),
                                      to_string(TierWindowKind::kRollingMonths),
                                      to_string(TierWindowKind::kLifetime)}));
  EXPECT_EQ(names(schema["$defs"]["member_cap"]["properties"]["period"]),
            (std::vector<std::string>{to_string(CapPeriod::kDay), to_string(CapPeriod::kWeek),
                                      to_string(CapPeriod::kMonth), to_string(CapPeriod::kYear),
                                      to_string(CapPeriod::kLifetime)}));
}

}  // namespace
}  // namespace loyalty
