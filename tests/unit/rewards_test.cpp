// The rewards catalog (domain/rewards.h): what the `rewards` slot accepts and
// the exact error for each way it can be wrong, pricing of fixed and variable
// costs, why a member cannot redeem, coupon codes, and what a coupon takes off
// a cart.
#include "domain/rewards.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "domain/config_document.h"

namespace loyalty {
namespace {

const ConfigContext kUsd{"USD", 2, "UTC"};

constexpr const char* kTiers = R"(
tiers:
  metric: spend
  levels:
    - {id: silver, name: Silver, threshold: "100.00"}
    - {id: gold, name: Gold, threshold: "300.00"}
)";

std::vector<std::string> errors_of(const std::string& rewards_yaml) {
  ConfigParseResult r = parse_config_document(std::string(kTiers) + rewards_yaml, kUsd);
  std::vector<std::string> out;
  for (const ConfigError& e : r.errors) out.push_back(format_config_error(e, ""));
  return out;
}

ProgramConfig must_parse(const std::string& rewards_yaml) {
  ConfigParseResult r = parse_config_document(std::string(kTiers) + rewards_yaml, kUsd);
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : format_config_error(r.errors[0], ""));
  return r.config.value_or(ProgramConfig{});
}

TEST(RewardsConfig, EveryTypeParsesIntoItsModelAndRoundTrips) {
  ProgramConfig c = must_parse(R"(
rewards:
  - {id: five-off, name: "$5 off", type: fixed_discount, cost: 500, amount: "5.00", min_order: "20.00"}
  - {id: pct, name: "15% off", type: percent_discount, cost: 800, percent: 15, max_discount: "30.00"}
  - {id: ship, name: Free shipping, type: free_shipping, cost: 300, coupon_valid_days: 30}
  - {id: mug, name: Free mug, type: free_product, cost: 900, sku: MUG-1, coupon_prefix: MUG}
  - id: cash
    name: Cashback
    type: store_credit
    cost: {points_per_unit: 100, min_points: 500, max_points: 10000}
  - {id: tour, name: Factory tour, type: experience, cost: 5000, stock: 10, tiers: [gold]}
  - id: trees
    name: Plant trees
    type: charity_donation
    cost: 1000
    amount: "10.00"
    cause: {id: trees, name: One Tree Planted}
    member_limit: {period: month, max_per_period: 2, max_lifetime: 10}
)");
  ASSERT_EQ(c.rewards.size(), 7u);
  EXPECT_EQ(c.rewards[0].amount_minor, 500);
  EXPECT_EQ(c.rewards[0].min_order_minor, 2000);
  EXPECT_EQ(c.rewards[1].percent, 15);
  EXPECT_EQ(c.rewards[1].max_discount_minor, 3000);
  EXPECT_EQ(c.rewards[2].coupon_valid_days, 30);
  EXPECT_EQ(c.rewards[3].sku, "MUG-1");
  EXPECT_TRUE(c.rewards[4].cost.variable);
  EXPECT_EQ(c.rewards[4].cost.points_per_unit, 100);
  EXPECT_EQ(c.rewards[5].stock, std::optional<int64_t>(10));
  EXPECT_EQ(c.rewards[5].tiers, std::vector<std::string>{"gold"});
  EXPECT_EQ(c.rewards[6].cause_name, "One Tree Planted");
  EXPECT_EQ(c.rewards[6].member_limit.period, RewardPeriod::kMonth);
  // The canonical JSON parses back to the same model.
  ConfigParseResult again = parse_config_document(config_to_json(c, kUsd), kUsd);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.config->rewards, c.rewards);
}

TEST(RewardsConfig, EachMistakeIsReportedAtItsPosition) {
  struct Case {
    const char* yaml;
    const char* error;
  };
  const Case cases[] = {
      {"rewards:\n  - {id: a, name: A, type: experience, cost: 5, tiers: [platinum]}\n",
       ":8:57: rewards[0].tiers[0]: unknown tier 'platinum'"},
      {"rewards:\n  - {id: a, name: A, type: experience, cost: 5, stock: -1}\n",
       ":8:56: rewards[0].stock: expected an integer from 0 to 1000000000, got -1"},
      {"rewards:\n  - id: a\n    name: A\n    type: store_credit\n"
       "    cost: {points_per_unit: 100, min_points: 900, max_points: 500}\n",
       ":11:46: rewards[0].cost.min_points: min_points (900) is above max_points (500)"},
      {"rewards:\n  - {id: a, name: A, type: gift_cards, cost: 5}\n",
       ":8:28: rewards[0].type: expected one of fixed_discount, percent_discount, free_shipping, "
       "free_product, store_credit, experience, charity_donation, gift_card"},
      {"rewards:\n  - {id: a, name: A, type: gift_card, cost: 5}\n",
       ":8:5: rewards[0].amount: missing: a gift_card reward needs its amount"},
      {"rewards:\n  - {id: a, name: A, type: gift_card, cost: 5, amount: \"5.00\", "
       "coupon_prefix: GC}\n",
       ":8:79: rewards[0].coupon_prefix: coupon_prefix applies only to rewards that issue a coupon "
       "(a donation or a gift card issues none)"},
      {"rewards:\n  - {id: a, name: A, type: fixed_discount, cost: 5}\n",
       ":8:5: rewards[0].amount: missing: a fixed_discount reward needs its amount"},
      {"rewards:\n  - {id: a, name: A, type: percent_discount, cost: 5, percent: 101}\n",
       ":8:64: rewards[0].percent: expected an integer from 1 to 100, got 101"},
      {"rewards:\n  - {id: a, name: A, type: free_shipping, cost: 5, condition: \"member.tier "
       "+\"}\n",
       ":8:63: rewards[0].condition: in a condition (a bool expression) at offset 13: expected a "
       "value, got end of input"},
      {"rewards:\n  - {id: a, name: A, type: experience, cost: 5}\n"
       "  - {id: a, name: B, type: experience, cost: 5}\n",
       ":9:10: rewards[1].id: duplicate reward id 'a'"},
      {"rewards:\n  - {id: a, name: A, type: experience, cost: 5, available_from: "
       "\"2026-02-01T00:00:00Z\", available_until: \"2026-01-01T00:00:00Z\"}\n",
       ":8:106: rewards[0].available_until: must be after available_from"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> errors = errors_of(c.yaml);
    ASSERT_FALSE(errors.empty()) << c.yaml;
    EXPECT_EQ(errors.front(), c.error) << c.yaml;
  }
}

Reward variable_credit() {
  Reward r;
  r.id = "cash";
  r.type = RewardType::kStoreCredit;
  r.cost = RewardCost{true, 0, 100, 500, 10'000};
  return r;
}

TEST(RewardPricing, VariableCostGivesExactMoneyWithinItsBounds) {
  const Reward r = variable_credit();
  EXPECT_EQ(price_reward(r, 500, 2)->amount_minor, 500);        // 500 points = 5.00
  EXPECT_EQ(price_reward(r, 10'000, 2)->amount_minor, 10'000);  // the maximum
  EXPECT_EQ(price_reward(r, 499, 2).status().code(), ErrorCode::kInvalidRequest);
  EXPECT_EQ(price_reward(r, 10'001, 2).status().code(), ErrorCode::kInvalidRequest);
  EXPECT_EQ(price_reward(r, std::nullopt, 2).status().code(), ErrorCode::kInvalidRequest);
  // 150 points per unit: 1.00 needs a multiple of 3 points (150 / gcd(150, 100) = 3).
  Reward odd = r;
  odd.cost.points_per_unit = 150;
  EXPECT_EQ(price_reward(odd, 600, 2)->amount_minor, 400);
  auto inexact = price_reward(odd, 601, 2);
  EXPECT_EQ(inexact.status().code(), ErrorCode::kInvalidRequest);
  EXPECT_NE(inexact.status().message().find("use a multiple of 3"), std::string::npos);
}

TEST(RewardEligibility, TheFirstBlockingReasonIsReportedWithItsMessage) {
  const Instant now = *parse_rfc3339("2026-06-01T00:00:00Z");
  const std::vector<std::pair<std::string, std::string>> names = {{"gold", "Gold"}};
  Reward base;
  base.id = "r";
  base.cost.points = 1000;
  base.stock = 5;
  base.member_limit = RewardMemberLimit{RewardPeriod::kMonth, 1, 3};
  RewardFacts ok_facts;
  ok_facts.available_points = 1000;
  struct Case {
    const char* name;
    Reward reward;
    RewardFacts facts;
    RewardBlock block;
    const char* message;
  };
  auto with = [&](auto change) {
    Reward r = base;
    RewardFacts f = ok_facts;
    change(r, f);
    return std::make_pair(r, f);
  };
  std::vector<Case> cases;
  auto add = [&](const char* name, auto change, RewardBlock block, const char* message) {
    auto [r, f] = with(change);
    cases.push_back(Case{name, r, f, block, message});
  };
  add(
      "redeemable", [](Reward&, RewardFacts&) {}, RewardBlock::kNone, "");
  add(
      "inactive", [](Reward& r, RewardFacts&) { r.active = false; }, RewardBlock::kInactive,
      "not offered at the moment");
  add(
      "not yet", [&](Reward& r, RewardFacts&) { r.available_from = now + Duration::from_days(1); },
      RewardBlock::kNotYetAvailable, "not available until 2026-06-02T00:00:00Z");
  add(
      "ended at now", [&](Reward& r, RewardFacts&) { r.available_until = now; },
      RewardBlock::kNoLongerAvailable, "no longer available since 2026-06-01T00:00:00Z");
  add(
      "tier", [](Reward& r, RewardFacts&) { r.tiers = {"gold"}; }, RewardBlock::kTierRestricted,
      "Gold only");
  add(
      "condition", [](Reward&, RewardFacts& f) { f.condition_met = false; },
      RewardBlock::kConditionNotMet, "the member does not meet the reward's condition");
  add(
      "last unit taken", [](Reward&, RewardFacts& f) { f.stock_taken = 5; },
      RewardBlock::kOutOfStock, "out of stock");
  add(
      "lifetime", [](Reward&, RewardFacts& f) { f.member_lifetime = 3; },
      RewardBlock::kLimitReached, "limit reached: 3 per member");
  add(
      "period", [](Reward&, RewardFacts& f) { f.member_in_period = 1; }, RewardBlock::kLimitReached,
      "limit reached: 1 per month");
  add(
      "points", [](Reward&, RewardFacts& f) { f.available_points = 700; },
      RewardBlock::kInsufficientPoints, "needs 300 more points");
  for (const Case& c : cases) {
    RewardEligibility e = check_eligibility(c.reward, c.facts, 1000, now, names);
    EXPECT_EQ(e.block, c.block) << c.name;
    EXPECT_EQ(e.message, c.message) << c.name;
  }
}

TEST(CouponCodes, UseTheReadableAlphabetWithEnoughEntropy) {
  for (char c : std::string_view("0O1IL")) {
    EXPECT_EQ(kCouponAlphabet.find(c), std::string_view::npos) << c;
  }
  // At least 60 bits of entropy: 31^13 >= 2^60.
  unsigned __int128 codes = 1;
  for (size_t i = 0; i < kCouponCodeChars; ++i) codes *= kCouponAlphabet.size();
  EXPECT_GE(codes, static_cast<unsigned __int128>(1) << 60);
  std::vector<uint8_t> random(32);
  for (size_t i = 0; i < random.size(); ++i) random[i] = static_cast<uint8_t>(i * 37 + 250);
  auto code = coupon_code_from_random("MUG", random);
  ASSERT_TRUE(code);
  EXPECT_EQ(code->substr(0, 4), "MUG-");
  EXPECT_EQ(normalize_coupon_code(*code)->size(), 3 + kCouponCodeChars);
  // Bytes at or above 248 are skipped: all of them gives no code.
  EXPECT_FALSE(coupon_code_from_random("", std::vector<uint8_t>(64, 250)));
  EXPECT_EQ(normalize_coupon_code("mug-abcd efgh"), std::optional<std::string>("MUGABCDEFGH"));
  EXPECT_FALSE(normalize_coupon_code("ABC/../x"));
}

TEST(CouponDiscounts, EachTypeTakesWhatItsTermsSay) {
  Cart cart{10'000, 700, {{"MUG-1", 2, 1'200}, {"TEE", 1, 2'500}}};
  struct Case {
    const char* name;
    CouponTerms terms;
    CouponMismatch mismatch;
    int64_t discount;
    int64_t shipping;
  };
  const Case cases[] = {
      {"fixed", {RewardType::kFixedDiscount, 500, 0, 0, 0, ""}, CouponMismatch::kNone, 500, 0},
      {"fixed above subtotal",
       {RewardType::kFixedDiscount, 50'000, 0, 0, 0, ""},
       CouponMismatch::kNone,
       10'000,
       0},
      {"percent capped",
       {RewardType::kPercentDiscount, 0, 15, 1'000, 0, ""},
       CouponMismatch::kNone,
       1'000,
       0},
      {"percent", {RewardType::kPercentDiscount, 0, 15, 0, 0, ""}, CouponMismatch::kNone, 1'500, 0},
      {"minimum order met exactly",
       {RewardType::kFixedDiscount, 500, 0, 0, 10'000, ""},
       CouponMismatch::kNone,
       500,
       0},
      {"below minimum",
       {RewardType::kFixedDiscount, 500, 0, 0, 10'001, ""},
       CouponMismatch::kBelowMinimumOrder,
       0,
       0},
      {"free shipping", {RewardType::kFreeShipping, 0, 0, 0, 0, ""}, CouponMismatch::kNone, 0, 700},
      {"free product",
       {RewardType::kFreeProduct, 0, 0, 0, 0, "MUG-1"},
       CouponMismatch::kNone,
       1'200,
       0},
      {"product absent",
       {RewardType::kFreeProduct, 0, 0, 0, 0, "HAT"},
       CouponMismatch::kProductNotInCart,
       0,
       0},
      {"store credit",
       {RewardType::kStoreCredit, 2'000, 0, 0, 0, ""},
       CouponMismatch::kNone,
       2'000,
       0},
  };
  for (const Case& c : cases) {
    CouponDiscount d = apply_coupon(c.terms, cart);
    EXPECT_EQ(d.mismatch, c.mismatch) << c.name;
    EXPECT_EQ(d.discount_minor, c.discount) << c.name;
    EXPECT_EQ(d.shipping_discount_minor, c.shipping) << c.name;
  }
  Cart no_shipping{1'000, 0, {}};
  EXPECT_EQ(apply_coupon({RewardType::kFreeShipping, 0, 0, 0, 0, ""}, no_shipping).mismatch,
            CouponMismatch::kNoShipping);
}

}  // namespace
}  // namespace loyalty
