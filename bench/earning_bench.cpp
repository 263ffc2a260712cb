// earning_bench: evaluate_order on a realistic 50-rule program (domain/earning.h).
//
// The program has the rules a shop accumulates: spend rules (whole order and
// per category), category multipliers, fixed bonuses (per order, per unit,
// first order, minimum order), a formula, member caps, campaigns outside their
// date window, and event / signup / birthday / anniversary rules that an order
// does not evaluate. Each iteration evaluates one paid order of 3 items:
// items_per_second is orders evaluated per second on one core.
// allocs_per_order counts heap allocations inside the timed loop (must be 0).
//
//   build-earn/bench/earning_bench --benchmark_repetitions=3
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "allocation_counter.h"
#include "domain/earning.h"

namespace {

using namespace loyalty;

const Instant kNow = Instant::from_seconds(1'795'000'000);  // 2026-11-18

EarnRule make(std::string id, EarnKind kind) {
  EarnRule r;
  r.id = id;
  r.name = "Rule " + id;
  r.kind = kind;
  return r;
}

// The realistic program: 26 order rules, 24 rules of other triggers.
std::vector<EarnRule> realistic_rules() {
  std::vector<EarnRule> rules;
  auto spend = [&](std::string id, const char* ppu, std::string filter, std::string condition) {
    EarnRule r = make(std::move(id), EarnKind::kSpend);
    r.points_per_unit = *parse_decimal(ppu);
    r.item_filter = std::move(filter);
    r.condition = std::move(condition);
    rules.push_back(r);
  };
  auto mult = [&](std::string id, const char* m, std::string filter) {
    EarnRule r = make(std::move(id), EarnKind::kMultiplier);
    r.multiplier = *parse_decimal(m);
    r.item_filter = std::move(filter);
    rules.push_back(r);
  };
  auto fixed = [&](std::string id, int64_t points, std::string filter, std::string condition) {
    EarnRule r = make(std::move(id), EarnKind::kFixed);
    r.points = points;
    r.item_filter = std::move(filter);
    r.condition = std::move(condition);
    rules.push_back(r);
    return &rules.back();
  };
  spend("base", "1", "", "");
  spend("shoes-extra", "0.5", R"(item.category == "shoes")", "");
  spend("web-extra", "0.25", "", R"(order.channel == "web")");
  spend("gold-extra", "0.5", "", R"(member.tier == "gold")");
  mult("double-boots", "2", R"(item.category == "boots")");
  mult("triple-sale", "3", R"(item.sku in ["SKU-1", "SKU-7", "SKU-9"])");
  mult("x1.5-accessories", "1.5", R"(item.category in ["bags", "belts", "hats"])");
  mult("double-big-items", "2", "item.unit_price >= 200.00");
  mult("x1.25-all-weekend", "1.25", "");
  rules.back().condition = "weekday(now) >= 6";
  fixed("big-order", 200, "", "")->min_order_minor = 15000;
  fixed("first-order", 500, "", "")->first_order_only = true;
  fixed("per-pair", 10, R"(item.category == "shoes")", "")->per_unit = true;
  fixed("coupon-bonus", 50, "", R"(order.attributes.coupon == "WELCOME")");
  fixed("app-orders", 25, "", R"(order.channel == "app")");
  fixed("three-items", 30, "", "order.item_count >= 3");
  fixed("loyal", 40, "", "member.orders_count >= 10");
  EarnRule* capped = fixed("weekly-bonus", 20, "", "");
  capped->member_cap = EarnCap{CapPeriod::kWeek, 1, 0, ""};
  EarnRule* global = fixed("launch-week", 100, "", "");
  global->global_cap = EarnCap{CapPeriod::kMonth, 0, 1'000'000, ""};
  {
    EarnRule r = make("per-item-formula", EarnKind::kFormula);
    r.formula = "item.quantity * 3";
    r.item_filter = R"(item.category == "socks")";
    rules.push_back(r);
  }
  // Campaigns outside their window (past and future).
  for (int i = 0; i < 6; ++i) {
    EarnRule* r = fixed("campaign-" + std::to_string(i), 100, "", "order.total >= 20.00");
    if (i % 2 == 0) {
      r->ends_at = kNow - Duration::from_days(30 + i);
    } else {
      r->starts_at = kNow + Duration::from_days(30 + i);
    }
  }
  // Other triggers.
  const char* events[] = {"review_written",   "social_follow", "social_share",
                          "survey_completed", "app_install",   "newsletter_signup"};
  for (int i = 0; i < 20; ++i) {
    EarnRule r = make("event-" + std::to_string(i), EarnKind::kFixed);
    r.trigger = EarnTrigger::kEvent;
    r.event_type = events[i % 6];
    r.points = 10 + i;
    rules.push_back(r);
  }
  for (EarnTrigger t : {EarnTrigger::kSignup, EarnTrigger::kBirthday, EarnTrigger::kAnniversary,
                        EarnTrigger::kSignup}) {
    EarnRule r = make("other-" + std::to_string(rules.size()), EarnKind::kFixed);
    r.trigger = t;
    r.points = 100;
    rules.push_back(r);
  }
  return rules;
}

// The worst case: 50 order rules, each with a condition (and every other one an
// item filter), all inside their window.
std::vector<EarnRule> all_order_rules() {
  std::vector<EarnRule> rules;
  const char* categories[] = {"shoes", "boots", "bags", "socks", "hats"};
  for (int i = 0; i < 50; ++i) {
    EarnRule r = make("r" + std::to_string(i), i % 5 == 0 ? EarnKind::kSpend : EarnKind::kFixed);
    r.points = 5 + i;
    r.points_per_unit = *parse_decimal("0.1");
    r.condition = "order.total >= " + std::to_string(i) + ".00";
    if (i % 2 == 1) r.item_filter = std::string(R"(item.category == ")") + categories[i % 5] + "\"";
    rules.push_back(r);
  }
  return rules;
}

struct SampleOrder {
  std::vector<rules::ItemView> items;
  std::vector<rules::Attribute> attributes = {{"coupon", "WELCOME"}};
  rules::OrderView order;
  rules::MemberView member;
  rules::ProgramView program;
  SampleOrder() {
    items.push_back(rules::ItemView{"SKU-1", "Trail shoe", "shoes", 1, 12000, 12000, {}});
    items.push_back(rules::ItemView{"SKU-2", "Wool socks", "socks", 3, 900, 2700, {}});
    items.push_back(rules::ItemView{"SKU-3", "Leather belt", "belts", 1, 4500, 4000, {}});
    order.id = "o-1001";
    order.items = items;
    order.item_count = 3;
    for (const auto& i : items) order.subtotal_minor += i.total_minor;
    order.discount_minor = 1000;
    order.shipping_minor = 500;
    order.tax_minor = 1500;
    order.total_minor = order.subtotal_minor - 1000 + 500 + 1500;
    order.currency = "USD";
    order.channel = "web";
    order.placed_at = kNow;
    order.attributes = attributes;
    member.id = "mem_1";
    member.tier = "gold";
    member.status = "active";
    member.orders_count = 12;
    program.id = "prg_1";
    program.currency = "USD";
    program.timezone = "America/New_York";
  }
  rules::Context context() const {
    rules::Context c;
    c.order = &order;
    c.member = &member;
    c.program = &program;
    c.now = kNow;
    return c;
  }
};

void run(benchmark::State& state, const std::vector<EarnRule>& rules) {
  ProgramConfig config;
  config.version = 1;
  config.earn_rules = rules;
  auto compiled = compile_config(config, 2, "America/New_York");
  if (!compiled.ok()) {
    std::fprintf(stderr, "compile: %s\n", compiled.status().message().c_str());
    std::abort();
  }
  const CompiledConfig& cc = **compiled;
  SampleOrder sample;
  const rules::Context ctx = sample.context();
  std::vector<UsageKey> keys;
  usage_keys_for_order(cc, ctx, kNow, &keys);
  std::vector<UsageCounter> usage;
  for (const UsageKey& k : keys) usage.push_back(UsageCounter{k, 0, 0});
  EarnResult out;
  out.reserve(rules.size(), 16);
  evaluate_order(cc, ctx, usage, kNow, &out);  // warm-up (time zone data, capacities)
  const int64_t before = loyalty::bench::allocations();
  int64_t points = 0;
  for (auto _ : state) {
    evaluate_order(cc, ctx, usage, kNow, &out);
    points += out.total_points;
    benchmark::DoNotOptimize(points);
  }
  const int64_t allocations = loyalty::bench::allocations() - before;
  state.SetItemsProcessed(state.iterations());
  state.counters["allocs_per_order"] = benchmark::Counter(static_cast<double>(allocations) /
                                                          static_cast<double>(state.iterations()));
  state.counters["points_per_order"] = static_cast<double>(out.total_points);
  state.counters["awards"] = static_cast<double>(out.awards.size());
  state.counters["order_rules"] = static_cast<double>(cc.rules_for(EarnTrigger::kOrder).size());
}

void BM_RealisticFiftyRuleProgram(benchmark::State& state) { run(state, realistic_rules()); }
BENCHMARK(BM_RealisticFiftyRuleProgram);

void BM_FiftyOrderRules(benchmark::State& state) { run(state, all_order_rules()); }
BENCHMARK(BM_FiftyOrderRules);

}  // namespace

BENCHMARK_MAIN();
