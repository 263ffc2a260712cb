// rules_bench: evaluation speed of the rules language on a realistic program.
//
// 50 earn-rule conditions (spend thresholds, category any(), `in` lists,
// member attributes and tier, date windows, item sums) are compiled once,
// then every iteration evaluates all 50 against one order of 3 items:
// items_per_second is orders evaluated per second on one core.
// allocs_per_order counts heap allocations inside the timed loop (must be 0).
//
//   build-rules/bench/rules_bench --benchmark_repetitions=3
#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <vector>

#include "allocation_counter.h"
#include "domain/rules/rules.h"

namespace {

using namespace loyalty;
using namespace loyalty::rules;

constexpr const char* kConditions[] = {
    // Spend thresholds.
    "order.total >= 50.00",
    "order.total >= 100.00 && order.total < 250.00",
    "order.eligible_spend > 75",
    "order.subtotal - order.discount >= 80.00",
    "order.total * 0.1 >= 10.00",
    "order.shipping == 0 && order.total >= 35.00",
    "floor(order.eligible_spend / 25) >= 3",
    "order.discount > order.subtotal * 0.2",
    "order.total >= 500.00 || member.tier == \"platinum\"",
    "max(order.total, order.subtotal) > 120",
    // Categories and items.
    "any(order.items, i, i.category == \"shoes\")",
    "any(order.items, i, i.category in [\"boots\", \"sandals\", \"sneakers\"])",
    "all(order.items, i, i.category != \"gift-card\")",
    "count(order.items, i, i.quantity >= 2) >= 1",
    "sum(order.items, i, i.quantity) >= 3",
    "sum(order.items, i, i.category == \"socks\" ? i.total : 0) >= 15.00",
    "any(order.items, i, starts_with(i.sku, \"SH-\") && i.unit_price >= 60)",
    "any(order.items, i, i.attributes.brand == \"Acme\")",
    "size(order.items) >= 3",
    "order.item_count >= 4 && !order.is_first_order",
    // Channels, coupons, order attributes.
    "order.channel in [\"web\", \"app\"]",
    "order.channel == \"pos\" && order.total > 20",
    "has(order.attributes.coupon) && order.attributes.coupon == \"WELCOME10\"",
    "starts_with(order.attributes.coupon, \"VIP\")",
    "order.attributes[\"gift.wrap\"] == \"yes\"",
    "order.currency == program.currency",
    "order.is_first_order",
    "!(\"employee\" in order.attributes)",
    "order.channel != \"marketplace\" && order.total >= 25.00",
    "contains(order.id, \"test\") == false",
    // Member.
    "member.tier in [\"gold\", \"platinum\"]",
    "member.tier == \"silver\" && order.total >= 60.00",
    "member.status == \"active\"",
    "member.attributes.vip == \"true\"",
    "has(member.attributes.city) && member.attributes.city in [\"Zürich\", \"Berlin\", \"Paris\"]",
    "member.orders_count >= 5",
    "member.lifetime_earned >= 5000 && member.available < 10000",
    "member.total_spent >= 500.00",
    "ends_with(member.email, \"@example.com\")",
    "int(member.attributes.rating) >= 4",
    // Dates and windows.
    "order.placed_at >= date(\"2026-11-27\") && order.placed_at < date(\"2026-12-01\")",
    "date(order.placed_at) == date(\"2026-11-20\")",
    "weekday(order.placed_at) in [6, 7]",
    "has(member.birthday) && month(member.birthday) == month(now)",
    "has(member.birthday) && days_until_anniversary(member.birthday) <= 7",
    "days_since(member.enrolled_at) <= 30",
    "days_since(member.enrolled_at) >= 365 && member.tier != \"\"",
    "now - order.placed_at < hours(24)",
    "order.placed_at >= timestamp(\"2026-11-20T00:00:00-05:00\")",
    "month(now) == 12 && order.total >= 40",
};
static_assert(std::size(kConditions) == 50);

struct SampleOrder {
  std::array<Attribute, 1> shoe_attributes{{{"brand", "Acme"}}};
  std::array<ItemView, 3> items;
  std::array<Attribute, 2> order_attributes{{{"coupon", "WELCOME10"}, {"gift.wrap", "yes"}}};
  std::array<Attribute, 3> member_attributes{
      {{"vip", "true"}, {"city", "Zürich"}, {"rating", "4"}}};
  OrderView order;
  MemberView member;
  ProgramView program{"prg_1", "USD", "America/New_York"};

  SampleOrder() {
    items[0] = ItemView{"SH-1", "Trail Runner", "shoes", 1, 8000, 8000, shoe_attributes};
    items[1] = ItemView{"SO-2", "Wool Socks", "socks", 2, 1000, 2000, {}};
    items[2] = ItemView{"HA-3", "Sun Hat", "hats", 1, 1000, 1000, {}};
    order.id = "ord_1001";
    order.total_minor = 12050;
    order.subtotal_minor = 11000;
    order.discount_minor = 500;
    order.shipping_minor = 1000;
    order.tax_minor = 550;
    order.eligible_spend_minor = 11000;
    order.currency = "USD";
    order.channel = "web";
    order.placed_at = *parse_rfc3339("2026-11-20T10:00:00Z");
    order.items = items;
    order.item_count = 4;
    order.attributes = order_attributes;
    member.id = "mem_1";
    member.email = "ana@example.com";
    member.status = "active";
    member.tier = "gold";
    member.enrolled_at = *parse_rfc3339("2025-01-15T09:00:00Z");
    member.birthday = LocalDate{1990, 12, 1};
    member.attributes = member_attributes;
    member.lifetime_earned_points = 5200;
    member.available_points = 1200;
    member.orders_count = 7;
    member.total_spent_minor = 98000;
  }
};

std::vector<Expression> compile_program() {
  std::vector<Expression> rules;
  const Environment env = Environment::order_rule(2);
  for (const char* source : kConditions) {
    Result<Expression> e = compile(source, env, Type::kBool);
    if (!e.ok()) {
      std::fprintf(stderr, "rules_bench: %s: %s\n", source, e.status().message().c_str());
      std::abort();
    }
    rules.push_back(std::move(e).value());
  }
  return rules;
}

void BM_FiftyRulesPerOrder(benchmark::State& state) {
  const std::vector<Expression> rules = compile_program();
  SampleOrder sample;
  Context context;
  context.order = &sample.order;
  context.member = &sample.member;
  context.program = &sample.program;
  context.now = *parse_rfc3339("2026-11-20T12:00:00Z");
  int64_t fired = 0;
  const int64_t allocations_before = loyalty::bench::allocations();
  for (auto _ : state) {
    for (const Expression& rule : rules) fired += evaluate_condition(rule, context) ? 1 : 0;
    benchmark::DoNotOptimize(fired);
  }
  const int64_t allocations = loyalty::bench::allocations() - allocations_before;
  state.SetItemsProcessed(state.iterations());
  state.counters["rules_fired_per_order"] =
      static_cast<double>(fired) / static_cast<double>(state.iterations());
  state.counters["allocs_per_order"] =
      static_cast<double>(allocations) / static_cast<double>(state.iterations());
  state.counters["ns_per_rule"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * 50,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_FiftyRulesPerOrder);

void BM_CompileFiftyRules(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(compile_program());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CompileFiftyRules);

}  // namespace

BENCHMARK_MAIN();
