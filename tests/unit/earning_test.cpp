// Specification of earn-rule evaluation (src/domain/earning.h): one block per
// rule kind and feature, each with the exact points expected.
//
// Orders are in USD (exponent 2) and the program's time zone is
// America/New_York unless a test says otherwise; amounts are written in cents.
#include "domain/earning.h"

#include <date/date.h>
#include <date/tz.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace loyalty {
namespace {

constexpr const char* kZone = "America/New_York";

// The instant of a local wall time in `zone` (the earlier one when ambiguous).
Instant local(int y, int m, int d, int hh = 0, int mm = 0, int ss = 0, const char* zone = kZone) {
  const auto day = date::local_days{date::year{y} / m / d};
  const auto t = day + std::chrono::hours(hh) + std::chrono::minutes(mm) + std::chrono::seconds(ss);
  const auto sys = date::locate_zone(zone)->to_sys(t, date::choose::earliest);
  return Instant::from_seconds(sys.time_since_epoch().count());
}

const Instant kNow = local(2026, 11, 18, 12);  // a Wednesday

EarnRule rule(std::string id, EarnKind kind) {
  EarnRule r;
  r.id = std::move(id);
  r.name = "Rule " + r.id;
  r.kind = kind;
  return r;
}
EarnRule spend(std::string id, const char* per_unit, std::string item_filter = "") {
  EarnRule r = rule(std::move(id), EarnKind::kSpend);
  r.points_per_unit = *parse_decimal(per_unit);
  r.item_filter = std::move(item_filter);
  return r;
}
EarnRule multiplier(std::string id, const char* m, std::string item_filter) {
  EarnRule r = rule(std::move(id), EarnKind::kMultiplier);
  r.multiplier = *parse_decimal(m);
  r.item_filter = std::move(item_filter);
  return r;
}
EarnRule fixed(std::string id, int64_t points, std::string item_filter = "",
               bool per_unit = false) {
  EarnRule r = rule(std::move(id), EarnKind::kFixed);
  r.points = points;
  r.item_filter = std::move(item_filter);
  r.per_unit = per_unit;
  return r;
}
EarnRule formula(std::string id, std::string f, std::string item_filter = "") {
  EarnRule r = rule(std::move(id), EarnKind::kFormula);
  r.formula = std::move(f);
  r.item_filter = std::move(item_filter);
  return r;
}
EarnRule event_rule(std::string id, std::string type, int64_t points) {
  EarnRule r = fixed(std::move(id), points);
  r.trigger = EarnTrigger::kEvent;
  r.event_type = std::move(type);
  return r;
}

std::shared_ptr<const CompiledConfig> compile(std::vector<EarnRule> rules,
                                              EarningPolicy policy = {}, const char* zone = kZone) {
  ProgramConfig config;
  config.version = 1;
  config.earning = std::move(policy);
  config.earn_rules = std::move(rules);
  auto compiled = compile_config(config, 2, zone);
  EXPECT_TRUE(compiled.ok()) << compiled.status().message();
  return compiled.ok() ? *compiled : nullptr;
}

struct Item {
  std::string sku;
  std::string category;
  int64_t quantity = 1;
  int64_t unit_price_minor = 0;
  int64_t item_discount_minor = 0;
};

// An order and the views over it (kept alive together).
struct Order {
  std::vector<Item> lines;  // the views' strings point into these
  std::vector<rules::ItemView> items;
  rules::OrderView order;
  rules::MemberView member;
  rules::ProgramView program;

  Order(std::vector<Item> order_lines, int64_t order_discount = 0, int64_t shipping = 0,
        int64_t tax = 0)
      : lines(std::move(order_lines)) {
    for (const Item& l : lines) {
      rules::ItemView v;
      v.sku = l.sku;
      v.category = l.category;
      v.quantity = l.quantity;
      v.unit_price_minor = l.unit_price_minor;
      v.total_minor = l.quantity * l.unit_price_minor - l.item_discount_minor;
      items.push_back(v);
      order.subtotal_minor += v.total_minor;
    }
    order.id = "o-1";
    order.discount_minor = order_discount;
    order.shipping_minor = shipping;
    order.tax_minor = tax;
    order.total_minor = order.subtotal_minor - order_discount + shipping + tax;
    order.currency = "USD";
    order.items = items;
    order.item_count = static_cast<int64_t>(items.size());
    member.id = "mem_1";
    member.status = "active";
    program.id = "prg_1";
    program.currency = "USD";
    program.timezone = kZone;
  }
  Order(const Order&) = delete;
  rules::Context context(Instant now = kNow) const {
    rules::Context c;
    c.order = &order;
    c.member = &member;
    c.program = &program;
    c.now = now;
    return c;
  }
};

EarnResult evaluate(const CompiledConfig& config, const Order& order, Instant now = kNow,
                    std::vector<UsageCounter> usage = {}) {
  EarnResult out;
  evaluate_order(config, order.context(now), usage, now, &out);
  int64_t sum = 0;
  for (const Award& a : out.awards) {
    int64_t items = 0;
    for (uint32_t i = 0; i < a.item_count; ++i) items += out.item_points[a.first_item + i].points;
    EXPECT_EQ(items, a.points) << "item shares of " << a.rule_id << " must sum to its points";
    sum += a.points;
  }
  EXPECT_EQ(sum, out.total_points);
  return out;
}

// "rule_id=points" per award, "rule_id:reason" per skip, in evaluation order.
std::map<std::string, int64_t> awards_of(const EarnResult& r) {
  std::map<std::string, int64_t> out;
  for (const Award& a : r.awards) out[std::string(a.rule_id)] = a.points;
  return out;
}
std::map<std::string, std::string> skips_of(const EarnResult& r) {
  std::map<std::string, std::string> out;
  for (const Skip& s : r.skipped) out[std::string(s.rule_id)] = to_string(s.reason);
  return out;
}

// ---- Arithmetic ----

TEST(EarningArithmetic, LargestRemainderSplitsExactly) {
  struct Case {
    int64_t total;
    std::vector<int64_t> weights;
    std::vector<int64_t> parts;
  };
  const std::vector<Case> cases = {
      {100, {100, 200, 300}, {17, 33, 50}},  // remainders 400, 200, 0 (of 600)
      {10, {1, 1, 1}, {4, 3, 3}},            // ties go to the lower index
      {0, {5, 5}, {0, 0}},
      {7, {0, 0}, {4, 3}},  // all-zero weights split equally
      {5, {0, 3}, {0, 5}},
      {1'000'000'000'000, {1, 2}, {333'333'333'333, 666'666'666'667}},
  };
  for (const Case& c : cases) {
    std::vector<int64_t> parts(c.weights.size());
    distribute_largest_remainder(c.total, c.weights, parts);
    EXPECT_EQ(parts, c.parts) << "total " << c.total;
  }
}

// distribute_largest_remainder against a plain reference (sort by remainder,
// exact 128-bit arithmetic) over random inputs: few and many parts (the
// stack path and the general one), small and huge weights (the int64 and the
// 128-bit path), zero weights.
int64_t reference_part_floor(int64_t total, int64_t w, __int128 sum) {
  return static_cast<int64_t>(static_cast<__int128>(total) * w / sum);
}
std::vector<int64_t> reference_largest_remainder(int64_t total, const std::vector<int64_t>& w) {
  const size_t n = w.size();
  std::vector<int64_t> parts(n, 0);
  __int128 sum = 0;
  for (int64_t x : w) sum += x;
  if (sum == 0) {
    for (size_t i = 0; i < n; ++i) parts[i] = total / static_cast<int64_t>(n);
    for (size_t i = 0; i < static_cast<size_t>(total % static_cast<int64_t>(n)); ++i) ++parts[i];
    return parts;
  }
  std::vector<std::pair<__int128, size_t>> order;
  int64_t given = 0;
  for (size_t i = 0; i < n; ++i) {
    parts[i] = reference_part_floor(total, w[i], sum);
    given += parts[i];
    order.push_back({static_cast<__int128>(total) * w[i] % sum, i});
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (int64_t k = 0; k < total - given; ++k) ++parts[order[static_cast<size_t>(k)].second];
  return parts;
}

TEST(EarningArithmetic, LargestRemainderMatchesAReferenceOnRandomInputs) {
  std::mt19937_64 rng(20261124);
  const int64_t magnitudes[] = {0, 3, 1000, 1'000'000'000, int64_t{1} << 40, int64_t{1} << 61};
  for (int round = 0; round < 20'000; ++round) {
    const size_t n = 1 + rng() % (round % 2 == 0 ? 5 : 24);
    const int64_t magnitude = magnitudes[rng() % std::size(magnitudes)];
    std::vector<int64_t> w(n);
    for (int64_t& x : w) {
      x = magnitude == 0 || rng() % 7 == 0 ? 0 : static_cast<int64_t>(rng() % magnitude) + 1;
    }
    const int64_t total =
        static_cast<int64_t>(rng() % (round % 3 == 0 ? 100 : 1'000'000'000'000ULL));
    std::vector<int64_t> parts(n, -1);
    distribute_largest_remainder(total, w, parts);
    ASSERT_EQ(parts, reference_largest_remainder(total, w))
        << "round " << round << " total " << total << " n " << n;
  }
}

TEST(EarningArithmetic, RoundQuotientPerMode) {
  struct Case {
    int64_t num;
    int64_t den;
    RoundingMode mode;
    int64_t expected;
  };
  const std::vector<Case> cases = {
      {999, 100, RoundingMode::kFloor, 9},      {999, 100, RoundingMode::kNearest, 10},
      {999, 100, RoundingMode::kCeil, 10},      {950, 100, RoundingMode::kNearest, 10},
      {949, 100, RoundingMode::kNearest, 9},    {900, 100, RoundingMode::kCeil, 9},
      {-950, 100, RoundingMode::kNearest, -10}, {-901, 100, RoundingMode::kFloor, -10},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(round_quotient(c.num, c.den, c.mode), c.expected)
        << c.num << "/" << c.den << " " << to_string(c.mode);
  }
}

TEST(EarningArithmetic, EligibleSpendPerPolicy) {
  // Items: 100.00 shoes, 200.00 shirt (10.00 item discount), 50.00 gift card;
  // order discount 30.00, shipping 5.00, tax 20.00.
  Order o(
      {{"s1", "shoes", 1, 10000}, {"t1", "shirts", 2, 10000, 1000}, {"g1", "gift_card", 1, 5000}},
      3000, 500, 2000);
  struct Case {
    const char* name;
    EligibleSpendPolicy policy;
    std::vector<int64_t> per_item;
    int64_t total;
  };
  EligibleSpendPolicy defaults;
  EligibleSpendPolicy before_discounts;
  before_discounts.after_discounts = false;
  EligibleSpendPolicy with_extras;
  with_extras.include_shipping = true;
  with_extras.include_tax = true;
  EligibleSpendPolicy no_exclusions;
  no_exclusions.excluded_categories = {};
  // Order discount 3000 over item totals 10000, 19000, 5000 (sum 34000):
  // floors 882, 1676, 441 = 2999, remainders 12000, 16000, 6000 -> item 2 pays +1.
  // Before discounts, items count at quantity x unit price (no item discount either).
  const std::vector<Case> cases = {
      {"defaults", defaults, {9118, 17323, 0}, 26441},
      {"before discounts", before_discounts, {10000, 20000, 0}, 30000},
      {"with shipping and tax", with_extras, {9118, 17323, 0}, 28941},
      {"gift cards count", no_exclusions, {9118, 17323, 4559}, 31000},
  };
  for (const Case& c : cases) {
    std::vector<int64_t> per_item(3);
    EXPECT_EQ(eligible_spend(c.policy, o.order, per_item), c.total) << c.name;
    EXPECT_EQ(per_item, c.per_item) << c.name;
  }
}

// The order discount's shares per item are a largest-remainder split of the
// discount by item amounts, whatever the number of items (a stack path up to 16).
TEST(EarningArithmetic, EligibleSpendSharesTheDiscountByLargestRemainder) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 2'000; ++round) {
    const size_t n = 1 + rng() % 24;
    std::vector<Item> lines;
    std::vector<int64_t> amounts;
    for (size_t i = 0; i < n; ++i) {
      const int64_t price = static_cast<int64_t>(rng() % 50'000);
      const int64_t qty = 1 + static_cast<int64_t>(rng() % 3);
      lines.push_back(Item{"s" + std::to_string(i), "misc", qty, price});
      amounts.push_back(price * qty);
    }
    int64_t base = 0;
    for (int64_t a : amounts) base += a;
    const int64_t discount = static_cast<int64_t>(rng() % 60'000);
    Order o(lines, discount);
    std::vector<int64_t> per_item(n);
    EligibleSpendPolicy policy;
    policy.excluded_categories = {};
    const int64_t total = eligible_spend(policy, o.order, per_item);
    const std::vector<int64_t> shares =
        reference_largest_remainder(std::min(discount, base), amounts);
    int64_t expected_total = 0;
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(per_item[i], amounts[i] - shares[i]) << "round " << round << " item " << i;
      expected_total += per_item[i];
    }
    EXPECT_EQ(total, expected_total);
  }
}

// An award's item shares are the largest-remainder split of its points by the
// items' eligible spend, for few items (shared on the stack) and for more than
// 16 (through the result's scratch vectors) alike; only matching items share.
TEST(EarningArithmetic, AwardItemSharesFollowEligibleSpendForFewAndManyItems) {
  auto config =
      compile({fixed("bonus", 1001), fixed("shoe-bonus", 999, R"(item.category == "shoes")")});
  for (const size_t n : {size_t{5}, size_t{23}}) {
    std::vector<Item> lines;
    std::vector<int64_t> all_weights;
    std::vector<int64_t> shoe_weights;
    for (size_t i = 0; i < n; ++i) {
      const int64_t price = 700 + static_cast<int64_t>(i * i * 37 % 4'000);
      const bool shoes = i % 3 == 0;
      lines.push_back(Item{"s" + std::to_string(i), shoes ? "shoes" : "misc", 1, price});
      all_weights.push_back(price);
      if (shoes) shoe_weights.push_back(price);
    }
    Order o(lines);
    EarnResult res = evaluate(*config, o);
    ASSERT_EQ(res.awards.size(), 2u) << n;
    const Award& bonus = res.awards[0];
    ASSERT_EQ(bonus.item_count, n);
    const std::vector<int64_t> expected_all = reference_largest_remainder(1001, all_weights);
    for (uint32_t k = 0; k < bonus.item_count; ++k) {
      const ItemPoints& ip = res.item_points[bonus.first_item + k];
      EXPECT_EQ(ip.item_index, static_cast<int32_t>(k)) << n;
      EXPECT_EQ(ip.points, expected_all[k]) << n << " item " << k;
    }
    const Award& shoe = res.awards[1];
    ASSERT_EQ(shoe.item_count, shoe_weights.size());
    const std::vector<int64_t> expected_shoes = reference_largest_remainder(999, shoe_weights);
    for (uint32_t k = 0; k < shoe.item_count; ++k) {
      const ItemPoints& ip = res.item_points[shoe.first_item + k];
      EXPECT_EQ(ip.item_index, static_cast<int32_t>(3 * k)) << n;
      EXPECT_EQ(ip.points, expected_shoes[k]) << n << " shoe " << k;
    }
  }
}

TEST(EarningArithmetic, RefundReversalIsProportionalAndNeverDrifts) {
  // A line that earned 100 points for 30.00 refunded in three parts of 10.00.
  RefundLine line{100, 0, 3000, 0, 1000};
  std::vector<int64_t> reversed;
  for (int i = 0; i < 3; ++i) {
    const int64_t r = points_to_reverse(std::span<const RefundLine>(&line, 1));
    reversed.push_back(r);
    line.already_reversed_points += r;
    line.already_refunded_minor += line.refund_minor;
  }
  EXPECT_EQ(reversed, (std::vector<int64_t>{33, 33, 34}));
  // Nothing more once fully refunded, even if asked again.
  EXPECT_EQ(points_to_reverse(std::span<const RefundLine>(&line, 1)), 0);

  // Several lines at once, one refunded beyond what was paid.
  const std::vector<RefundLine> lines = {
      {50, 0, 1000, 0, 500},    // half of the line: 25
      {30, 10, 900, 300, 900},  // more than the rest: all that is left, 20
      {0, 0, 100, 0, 100},      // earned nothing
  };
  std::vector<int64_t> per_line(3);
  EXPECT_EQ(points_to_reverse(lines, per_line), 45);
  EXPECT_EQ(per_line, (std::vector<int64_t>{25, 20, 0}));
}

// ---- Spend ----

TEST(EarningSpend, PointsPerCurrencyUnitWithRounding) {
  struct Case {
    const char* per_unit;
    RoundingMode rounding;
    int64_t price_minor;
    int64_t expected;
  };
  const std::vector<Case> cases = {
      {"1", RoundingMode::kFloor, 999, 9},
      {"1", RoundingMode::kNearest, 999, 10},
      {"1", RoundingMode::kCeil, 901, 10},
      {"1", RoundingMode::kNearest, 949, 9},
      {"1.5", RoundingMode::kFloor, 999, 14},  // 14.985
      {"10", RoundingMode::kFloor, 12345, 1234},
      {"0.01", RoundingMode::kFloor, 9999, 0},  // 0.9999 -> zero points, rule skipped
  };
  for (const Case& c : cases) {
    EarningPolicy policy;
    policy.rounding = c.rounding;
    auto config = compile({spend("base", c.per_unit)}, policy);
    Order o({{"a", "misc", 1, c.price_minor}});
    EarnResult r = evaluate(*config, o);
    EXPECT_EQ(r.total_points, c.expected) << c.per_unit << " per unit on " << c.price_minor;
    if (c.expected == 0) {
      EXPECT_EQ(skips_of(r).at("base"), "zero_points");
    }
  }
}

TEST(EarningSpend, EligibleSpendExcludesGiftCardsAndDiscounts) {
  auto config = compile({spend("base", "1")});
  // 100.00 + 50.00 gift card, order discount 15.00 shared 10.00 / 5.00.
  Order o({{"a", "misc", 1, 10000}, {"g", "gift_card", 1, 5000}}, 1500);
  EarnResult r = evaluate(*config, o);
  EXPECT_EQ(r.eligible_spend_minor, 9000);
  EXPECT_EQ(r.total_points, 90);
  EXPECT_EQ(r.item_total_points, (std::vector<int64_t>{90, 0}));
}

TEST(EarningSpend, ShippingAndTaxCountOnlyWhenThePolicySaysSo) {
  EarningPolicy policy;
  policy.eligible_spend.include_shipping = true;
  policy.eligible_spend.include_tax = true;
  auto with = compile({spend("base", "1")}, policy);
  auto without = compile({spend("base", "1")});
  Order o({{"a", "misc", 1, 10000}, {"b", "misc", 1, 5000}}, 0, 1000, 1200);
  EXPECT_EQ(evaluate(*with, o).total_points, 172);
  EXPECT_EQ(evaluate(*without, o).total_points, 150);
  // Shipping and tax points are shared by the items in proportion: 172 over 2:1.
  EXPECT_EQ(evaluate(*with, o).item_total_points, (std::vector<int64_t>{115, 57}));
}

TEST(EarningSpend, ItemFilterLimitsSpendToMatchingItems) {
  auto config = compile({spend("shoes", "2", R"(item.category == "shoes")")});
  Order o({{"s", "shoes", 2, 2550}, {"t", "shirts", 1, 4000}});
  EarnResult r = evaluate(*config, o);
  EXPECT_EQ(r.total_points, 102);  // 51.00 * 2
  EXPECT_EQ(r.item_total_points, (std::vector<int64_t>{102, 0}));
  Order none({{"t", "shirts", 1, 4000}});
  EXPECT_EQ(skips_of(evaluate(*config, none)).at("shoes"), "no_matching_items");
}

// ---- Multipliers ----

TEST(EarningMultiplier, MultipliesTheSpendPointsOfMatchingItems) {
  auto config =
      compile({multiplier("double-shoes", "2", R"(item.category == "shoes")"), spend("base", "1")});
  Order o({{"s", "shoes", 1, 5000}, {"t", "shirts", 1, 3000}});
  EarnResult r = evaluate(*config, o);
  // The spend rule runs first at equal priority, whatever the document order.
  EXPECT_EQ(awards_of(r), (std::map<std::string, int64_t>{{"base", 80}, {"double-shoes", 50}}));
  EXPECT_EQ(r.item_total_points, (std::vector<int64_t>{100, 30}));
}

TEST(EarningMultiplier, LargestMultiplierWinsPerItem) {
  auto config = compile(
      {spend("base", "1"), multiplier("x2-shoes", "2", R"(item.category == "shoes")"),
       multiplier("x3-sale", "3", R"(item.sku == "s")"), multiplier("x1.5-all", "1.5", "")});
  // Shoes on sale (50 base): x3 wins -> 150. Shirt (30 base): x1.5 -> 45.
  Order o({{"s", "shoes", 1, 5000}, {"t", "shirts", 1, 3000}});
  EarnResult r = evaluate(*config, o);
  EXPECT_EQ(r.item_total_points, (std::vector<int64_t>{150, 45}));
  EXPECT_EQ(r.total_points, 195);
  // x2 gave the shoes +50, x3 the difference to x3 (+50), x1.5 only the shirt (+15).
  EXPECT_EQ(awards_of(r), (std::map<std::string, int64_t>{
                              {"base", 80}, {"x2-shoes", 50}, {"x3-sale", 50}, {"x1.5-all", 15}}));
}

TEST(EarningMultiplier, FractionalMultiplierRoundsOncePerRule) {
  auto config = compile({spend("base", "1"), multiplier("x1.25", "1.25", "")});
  Order o({{"a", "misc", 1, 1000}, {"b", "misc", 1, 1000}, {"c", "misc", 1, 1000}});
  // 3 x 10 base; extra 3 x 2.5 = 7.5 -> 7 (floor), shared 3/2/2.
  EarnResult r = evaluate(*config, o);
  EXPECT_EQ(awards_of(r).at("x1.25"), 7);
  EXPECT_EQ(r.item_total_points, (std::vector<int64_t>{13, 12, 12}));
}

// ---- Fixed and formula ----

TEST(EarningFixed, OncePerOrderOrPerMatchingUnit) {
  struct Case {
    const char* name;
    EarnRule rule;
    int64_t expected;
  };
  const std::vector<Case> cases = {
      {"per order", fixed("bonus", 100), 100},
      {"once when an item matches", fixed("bonus", 100, R"(item.category == "shoes")"), 100},
      {"per matching unit", fixed("bonus", 25, R"(item.category == "shoes")", true), 75},
  };
  for (const Case& c : cases) {
    auto config = compile({c.rule});
    Order o({{"s", "shoes", 3, 2000}, {"t", "shirts", 2, 1000}});
    EXPECT_EQ(evaluate(*config, o).total_points, c.expected) << c.name;
  }
}

TEST(EarningFormula, IntegerAndPerItemFormulas) {
  auto config = compile({formula("per-item-count", "order.item_count * 5"),
                         formula("per-unit", "item.quantity * 2", R"(item.category == "shoes")")});
  Order o({{"s", "shoes", 3, 2000}, {"t", "shirts", 2, 1000}});
  EarnResult r = evaluate(*config, o);
  EXPECT_EQ(awards_of(r),
            (std::map<std::string, int64_t>{{"per-item-count", 10}, {"per-unit", 6}}));
}

// ---- Gates: minimum, first order, conditions, windows ----

TEST(EarningGates, MinimumOrderValueOnEligibleSpend) {
  EarnRule r = fixed("big-order", 500);
  r.min_order_minor = 5000;
  auto config = compile({r});
  Order below({{"a", "misc", 1, 4999}});
  Order at({{"a", "misc", 1, 5000}});
  Order discounted({{"a", "misc", 1, 5500}}, 600);  // 49.00 after the discount
  EXPECT_EQ(skips_of(evaluate(*config, below)).at("big-order"), "below_minimum");
  EXPECT_EQ(evaluate(*config, at).total_points, 500);
  EXPECT_EQ(skips_of(evaluate(*config, discounted)).at("big-order"), "below_minimum");
}

TEST(EarningGates, FirstOrderBonus) {
  EarnRule r = fixed("welcome-order", 200);
  r.first_order_only = true;
  auto config = compile({r});
  Order o({{"a", "misc", 1, 1000}});
  o.order.is_first_order = true;
  EXPECT_EQ(evaluate(*config, o).total_points, 200);
  o.order.is_first_order = false;
  EXPECT_EQ(skips_of(evaluate(*config, o)).at("welcome-order"), "not_first_order");
}

TEST(EarningGates, ConditionDecides) {
  EarnRule r = fixed("web-only", 50);
  r.condition = R"(order.channel == "web")";
  auto config = compile({r});
  Order o({{"a", "misc", 1, 1000}});
  o.order.channel = "web";
  EXPECT_EQ(evaluate(*config, o).total_points, 50);
  o.order.channel = "pos";
  EXPECT_EQ(skips_of(evaluate(*config, o)).at("web-only"), "condition_false");
}

// order.eligible_spend is what the policy makes eligible (after the order
// discount, without shipping), whatever the caller left in the view.
TEST(EarningGates, ConditionsReadTheEligibleSpendThePolicyComputed) {
  EarnRule r = fixed("eligible-50", 50);
  r.condition = "order.eligible_spend >= 50.00";
  auto config = compile({r});
  Order enough({{"a", "misc", 1, 5500}}, 500, 1000);      // 50.00 eligible
  Order not_enough({{"a", "misc", 1, 5500}}, 600, 5000);  // 49.00 eligible, 104.00 total
  not_enough.order.eligible_spend_minor = 999'999;        // ignored
  EXPECT_EQ(evaluate(*config, enough).total_points, 50);
  EXPECT_EQ(skips_of(evaluate(*config, not_enough)).at("eligible-50"), "condition_false");
}

TEST(EarningGates, WindowInProgramTimeZoneAcrossDst) {
  // DST starts in New York on 2026-03-08 at 02:00 (clocks jump to 03:00). A
  // promotion from local 2026-03-07 00:00 to local 2026-03-09 00:00 lasts 47 hours.
  EarnRule r = fixed("weekend", 100);
  r.starts_at = local(2026, 3, 7);
  r.ends_at = local(2026, 3, 9);
  auto config = compile({r});
  Order o({{"a", "misc", 1, 1000}});
  ASSERT_EQ((*r.ends_at - *r.starts_at).micros, Duration::from_seconds(int64_t{47} * 3600).micros);
  struct Case {
    Instant at;
    int64_t expected;
  };
  const std::vector<Case> cases = {
      {local(2026, 3, 6, 23, 59, 59), 0},   {local(2026, 3, 7), 100},
      {local(2026, 3, 8, 1, 59, 59), 100},                           // EST
      {local(2026, 3, 8, 3, 0, 0), 100},                             // EDT, one second later
      {local(2026, 3, 8, 23, 59, 59), 100}, {local(2026, 3, 9), 0},  // ends_at is excluded
  };
  for (const Case& c : cases) {
    EarnResult res = evaluate(*config, o, c.at);
    EXPECT_EQ(res.total_points, c.expected) << format_rfc3339(c.at);
    if (c.expected == 0) {
      EXPECT_EQ(skips_of(res).at("weekend"), "outside_window");
    }
  }
}

// ---- Priority, exclusivity, stacking ----

TEST(EarningOrder, PriorityExclusiveAndStackable) {
  auto with = [](EarnRule r, int priority, bool exclusive, bool stackable) {
    r.priority = priority;
    r.exclusive = exclusive;
    r.stackable = stackable;
    return r;
  };
  struct Case {
    const char* name;
    std::vector<EarnRule> rules;
    std::map<std::string, int64_t> awards;
    std::map<std::string, std::string> skips;
  };
  const std::vector<Case> cases = {
      {"all stack",
       {with(fixed("a", 10), 0, false, true), with(fixed("b", 20), 5, false, true)},
       {{"a", 10}, {"b", 20}},
       {}},
      {"exclusive stops lower priorities",
       {with(fixed("low", 10), 0, false, true), with(fixed("vip", 50), 10, true, true),
        with(fixed("mid", 20), 5, false, true)},
       {{"vip", 50}},
       {{"low", "excluded_by_exclusive_rule"}, {"mid", "excluded_by_exclusive_rule"}}},
      {"exclusive that does not fire stops nothing",
       {with(fixed("low", 10), 0, false, true), with(fixed("vip", 0), 10, true, true)},
       {{"low", 10}},
       {{"vip", "zero_points"}}},
      {"non-stackable yields to an earlier award",
       {with(fixed("first", 10), 5, false, true), with(fixed("solo", 30), 0, false, false)},
       {{"first", 10}},
       {{"solo", "not_stackable"}}},
      {"non-stackable first still awards",
       {with(fixed("solo", 30), 5, false, false), with(fixed("after", 10), 0, false, true)},
       {{"solo", 30}, {"after", 10}},
       {}},
      {"equal priority keeps document order",
       {with(fixed("one", 10), 0, true, true), with(fixed("two", 20), 0, false, true)},
       {{"one", 10}},
       {{"two", "excluded_by_exclusive_rule"}}},
  };
  for (const Case& c : cases) {
    auto config = compile(c.rules);
    Order o({{"a", "misc", 1, 1000}});
    EarnResult r = evaluate(*config, o);
    EXPECT_EQ(awards_of(r), c.awards) << c.name;
    EXPECT_EQ(skips_of(r), c.skips) << c.name;
  }
}

TEST(EarningOrder, MaxPointsPerOrderCapsTheTotal) {
  EarningPolicy policy;
  policy.max_points_per_order = 120;
  auto config = compile({spend("base", "1"), fixed("bonus", 50), fixed("more", 10)}, policy);
  Order o({{"a", "misc", 1, 6000}, {"b", "misc", 1, 4000}});
  EarnResult r = evaluate(*config, o);
  EXPECT_EQ(r.total_points, 120);
  EXPECT_EQ(awards_of(r), (std::map<std::string, int64_t>{{"base", 100}, {"bonus", 20}}));
  EXPECT_TRUE(r.awards[1].capped);
  EXPECT_EQ(skips_of(r).at("more"), "order_limit_reached");
  EXPECT_EQ(r.item_total_points, (std::vector<int64_t>{72, 48}));
}

// ---- Caps ----

TEST(EarningCaps, PeriodKeysAtLocalMidnight) {
  const date::time_zone* ny = date::locate_zone(kZone);
  struct Case {
    Instant at;
    CapPeriod period;
    const char* key;
  };
  const std::vector<Case> cases = {
      // Sunday 2026-11-22 23:59:59 local is still ISO week 47; Monday 00:00 starts 48.
      {local(2026, 11, 22, 23, 59, 59), CapPeriod::kWeek, "2026-W47"},
      {local(2026, 11, 23), CapPeriod::kWeek, "2026-W48"},
      // 04:59 UTC on 1 Dec is still 30 Nov in New York.
      {Instant::from_seconds(1'796'101'140), CapPeriod::kMonth, "2026-11"},
      {local(2026, 12, 1), CapPeriod::kMonth, "2026-12"},
      {local(2026, 12, 31, 23, 59, 59), CapPeriod::kYear, "2026"},
      {local(2027, 1, 1), CapPeriod::kYear, "2027"},
      // 2027-01-01 (a Friday) belongs to ISO week 53 of 2026.
      {local(2027, 1, 1), CapPeriod::kWeek, "2026-W53"},
      {local(2026, 3, 8, 0, 30), CapPeriod::kDay, "2026-03-08"},
      {local(2026, 3, 8, 23, 59, 59), CapPeriod::kDay, "2026-03-08"},  // a 23-hour day
      {local(2026, 3, 9), CapPeriod::kDay, "2026-03-09"},
      {local(2026, 3, 9), CapPeriod::kLifetime, "life"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(period_key(c.period, ny, c.at).view(), c.key)
        << format_rfc3339(c.at) << " " << to_string(c.period);
  }
}

// Evaluations remember the local day per thread (earning.cpp, LocalDayCache):
// evaluations that step through DST changes, midnights, a year end, and
// alternate between two zones on one thread get the keys period_key() computes
// afresh.
TEST(EarningCaps, PeriodKeysStayRightAcrossEvaluationsOnOneThread) {
  std::vector<EarnRule> rules;
  const CapPeriod periods[] = {CapPeriod::kDay, CapPeriod::kWeek, CapPeriod::kMonth,
                               CapPeriod::kYear, CapPeriod::kLifetime};
  for (CapPeriod p : periods) {
    EarnRule r = fixed(std::string("cap-") + to_string(p), 1);
    r.member_cap = EarnCap{p, 1000, 0, ""};
    rules.push_back(r);
  }
  auto ny = compile(rules);
  auto lord_howe = compile(rules, {}, "Australia/Lord_Howe");  // a 30-minute DST shift
  ASSERT_TRUE(ny && lord_howe);
  Order o({{"a", "misc", 1, 1000}});
  const Instant starts[] = {local(2026, 3, 7), local(2026, 10, 31), local(2026, 12, 30),
                            local(2026, 4, 4, 0, 0, 0, "Australia/Lord_Howe")};
  int checked = 0;
  for (const Instant start : starts) {
    for (int step = 0; step < 160; ++step) {
      const Instant at = start + Duration::from_seconds(int64_t{step} * 17 * 60);
      for (const auto& config : {ny, lord_howe, ny}) {
        EarnResult res = evaluate(*config, o, at);
        ASSERT_EQ(res.usage_increments.size(), 5u);
        for (size_t k = 0; k < 5; ++k) {
          const PeriodKey expected = period_key(periods[k], config->time_zone(), at);
          ASSERT_EQ(res.usage_increments[k].key.period.view(), expected.view())
              << format_rfc3339(at) << " " << to_string(periods[k]) << " in "
              << config->time_zone()->name();
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 4 * 160 * 3 * 5);
}

TEST(EarningCaps, MemberCapPerPeriodCountsAwardsAndPoints) {
  EarnRule r = spend("base", "1");
  r.member_cap = EarnCap{CapPeriod::kWeek, 2, 150, ""};
  auto config = compile({r});
  Order o({{"a", "misc", 1, 10000}});
  const Instant sunday_late = local(2026, 11, 22, 23, 0);
  const Instant monday = local(2026, 11, 23, 0, 0);

  // The keys the evaluation needs: the member's counter of the current week.
  std::vector<UsageKey> keys;
  usage_keys_for_order(*config, o.context(sunday_late), sunday_late, &keys);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].period.view(), "2026-W47");
  EXPECT_EQ(keys[0].scope, CapScope::kMember);

  struct Case {
    const char* name;
    Instant at;
    int64_t used_awards;
    int64_t used_points;
    int64_t expected;
    const char* skip;
  };
  const std::vector<Case> cases = {
      {"unused", sunday_late, 0, 0, 100, nullptr},
      {"points partly used: capped", sunday_late, 1, 100, 50, nullptr},
      {"awards used up", sunday_late, 2, 20, 0, "member_cap_reached"},
      {"points used up", sunday_late, 1, 150, 0, "member_cap_reached"},
      {"next week starts afresh", monday, 2, 150, 100, nullptr},
  };
  for (const Case& c : cases) {
    UsageKey week47{CapScope::kMember, "base",
                    period_key(CapPeriod::kWeek, config->time_zone(), sunday_late), ""};
    std::vector<UsageCounter> usage = {{week47, c.used_awards, c.used_points}};
    EarnResult res = evaluate(*config, o, c.at, usage);
    EXPECT_EQ(res.total_points, c.expected) << c.name;
    if (c.skip) {
      EXPECT_EQ(skips_of(res).at("base"), c.skip) << c.name;
      EXPECT_TRUE(res.usage_increments.empty()) << c.name;
    } else {
      ASSERT_EQ(res.usage_increments.size(), 1u) << c.name;
      EXPECT_EQ(res.usage_increments[0].awards, 1);
      EXPECT_EQ(res.usage_increments[0].points, c.expected);
      EXPECT_EQ(res.usage_increments[0].key.period.view(),
                c.at == monday ? "2026-W48" : "2026-W47");
    }
  }
}

TEST(EarningCaps, GlobalCapAndMemberCapBothApply) {
  EarnRule r = fixed("launch", 100);
  r.member_cap = EarnCap{CapPeriod::kLifetime, 1, 0, ""};
  r.global_cap = EarnCap{CapPeriod::kMonth, 0, 1000, ""};
  auto config = compile({r});
  Order o({{"a", "misc", 1, 1000}});
  UsageKey member{CapScope::kMember, "launch", period_key(CapPeriod::kLifetime, nullptr, kNow), ""};
  UsageKey global{CapScope::kGlobal, "launch",
                  period_key(CapPeriod::kMonth, config->time_zone(), kNow), ""};
  EXPECT_EQ(global.period.view(), "2026-11");

  EarnResult fresh = evaluate(*config, o, kNow, {});
  EXPECT_EQ(fresh.total_points, 100);
  ASSERT_EQ(fresh.usage_increments.size(), 2u);
  EXPECT_EQ(fresh.usage_increments[0].key, member);
  EXPECT_EQ(fresh.usage_increments[1].key, global);

  EXPECT_EQ(evaluate(*config, o, kNow, {{global, 19, 960}}).total_points, 40);
  EXPECT_EQ(skips_of(evaluate(*config, o, kNow, {{global, 20, 1000}})).at("launch"),
            "global_cap_reached");
  EXPECT_EQ(skips_of(evaluate(*config, o, kNow, {{member, 1, 100}})).at("launch"),
            "member_cap_reached");
}

// ---- Events, signup ----

struct Event {
  std::vector<rules::Attribute> attributes;
  rules::EventView event;
  rules::MemberView member;
  rules::ProgramView program;
  explicit Event(std::string_view type, std::vector<rules::Attribute> attrs = {})
      : attributes(std::move(attrs)) {
    event.type = type;
    event.occurred_at = kNow;
    event.attributes = attributes;
    member.id = "mem_1";
    program.timezone = kZone;
  }
  rules::Context context(Instant now = kNow) const {
    rules::Context c;
    c.event = &event;
    c.member = &member;
    c.program = &program;
    c.now = now;
    return c;
  }
};

TEST(EarningEvents, FixedPointsPerEventType) {
  auto config = compile({event_rule("review", "review_written", 50),
                         event_rule("follow", "social_follow", 20),
                         event_rule("survey", "survey_completed", 30)});
  EarnResult out;
  Event e("social_follow");
  ASSERT_TRUE(evaluate_event(*config, e.context(), {}, kNow, &out).ok());
  EXPECT_EQ(awards_of(out), (std::map<std::string, int64_t>{{"follow", 20}}));
  EXPECT_TRUE(out.skipped.empty()) << "rules of other event types are not considered";

  Event unknown("app_install");
  Status st = evaluate_event(*config, unknown.context(), {}, kNow, &out);
  EXPECT_EQ(st.code(), ErrorCode::kUnknownEventType);
}

TEST(EarningEvents, DistinctByCapsOneRewardPerProduct) {
  EarnRule r = event_rule("review", "review_written", 50);
  r.member_cap = EarnCap{CapPeriod::kLifetime, 1, 0, "event.attributes.product_id"};
  auto config = compile({r});
  Event p1("review_written", {{"product_id", "p1"}});
  Event p2("review_written", {{"product_id", "p2"}});

  std::vector<UsageKey> keys;
  usage_keys_for_event(*config, p1.context(), kNow, &keys);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].distinct_key, "p1");
  EXPECT_EQ(keys[0].period.view(), "life");

  const std::vector<UsageCounter> usage = {{keys[0], 1, 50}};  // p1 was rewarded
  EarnResult out;
  ASSERT_TRUE(evaluate_event(*config, p1.context(), usage, kNow, &out).ok());
  EXPECT_EQ(out.total_points, 0);
  EXPECT_EQ(skips_of(out).at("review"), "member_cap_reached");
  ASSERT_TRUE(evaluate_event(*config, p2.context(), usage, kNow, &out).ok());
  EXPECT_EQ(out.total_points, 50);
  ASSERT_EQ(out.usage_increments.size(), 1u);
  EXPECT_EQ(out.usage_increments[0].key.distinct_key, "p2");
}

TEST(EarningEvents, DailyCapResetsAtLocalMidnight) {
  EarnRule r = event_rule("share", "social_share", 10);
  r.member_cap = EarnCap{CapPeriod::kDay, 3, 0, ""};
  auto config = compile({r});
  Event e("social_share");
  const Instant late = local(2026, 11, 18, 23, 59, 59);
  const Instant next = local(2026, 11, 19);
  UsageKey today{CapScope::kMember, "share", period_key(CapPeriod::kDay, config->time_zone(), late),
                 ""};
  const std::vector<UsageCounter> usage = {{today, 3, 30}};
  EarnResult out;
  ASSERT_TRUE(evaluate_event(*config, e.context(late), usage, late, &out).ok());
  EXPECT_EQ(out.total_points, 0);
  ASSERT_TRUE(evaluate_event(*config, e.context(next), usage, next, &out).ok());
  EXPECT_EQ(out.total_points, 10);
}

TEST(EarningSignup, SignupRulesAwardWithPendingDays) {
  EarnRule welcome = fixed("welcome", 100);
  welcome.trigger = EarnTrigger::kSignup;
  welcome.pending_days = 7;
  EarnRule order_rule = spend("base", "1");
  auto config = compile({welcome, order_rule});
  rules::MemberView member;
  rules::ProgramView program;
  rules::Context ctx;
  ctx.member = &member;
  ctx.program = &program;
  ctx.now = kNow;
  EarnResult out;
  evaluate_signup(*config, ctx, {}, kNow, &out);
  ASSERT_EQ(out.awards.size(), 1u);
  EXPECT_EQ(out.awards[0].rule_id, "welcome");
  EXPECT_EQ(out.awards[0].points, 100);
  EXPECT_EQ(out.awards[0].pending_days, 7);
}

// ---- Compilation ----

TEST(EarningCompile, ExpressionErrorsNameTheRule) {
  ProgramConfig config;
  config.earn_rules = {fixed("ok", 1), fixed("bad", 1, "item.categry == \"x\"")};
  auto compiled = compile_config(config, 2, kZone);
  ASSERT_FALSE(compiled.ok());
  EXPECT_EQ(compiled.status().code(), ErrorCode::kInvalidConfig);
  EXPECT_NE(compiled.status().message().find("earn_rules[1] (bad).item_filter: 1:"),
            std::string::npos)
      << compiled.status().message();
  EXPECT_EQ(compile_config(ProgramConfig{}, 2, "Mars/Olympus").status().code(),
            ErrorCode::kInvalidConfig);
}

TEST(EarningCompile, EvaluationDoesNotAllocateWithReservedCapacity) {
  // Every vector keeps its capacity across evaluations: after one warm-up
  // evaluation, the data pointers must not move (a reallocation would).
  auto config = compile({spend("base", "1"), multiplier("x2", "2", R"(item.category == "shoes")"),
                         fixed("bonus", 10, R"(item.quantity > 1)", true)});
  Order o({{"s", "shoes", 2, 5000}, {"t", "shirts", 1, 3000}, {"u", "misc", 1, 100}});
  EarnResult out;
  out.reserve(config->config().earn_rules.size(), 8);
  const void* awards = out.awards.data();
  const void* items = out.item_points.data();
  const void* skipped = out.skipped.data();
  for (int i = 0; i < 3; ++i) evaluate_order(*config, o.context(), {}, kNow, &out);
  EXPECT_EQ(out.total_points, 131 + 100 + 20);
  EXPECT_EQ(out.awards.data(), awards);
  EXPECT_EQ(out.item_points.data(), items);
  EXPECT_EQ(out.skipped.data(), skipped);
}

}  // namespace
}  // namespace loyalty
