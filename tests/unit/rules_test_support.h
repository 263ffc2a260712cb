// Shared fixtures of the rules-language tests: one sample order (3 items),
// member, program and event, and a rendering of values that reads well in
// tables ("money 120.50", "date 2026-12-24", "error overflow").
#pragma once

#include <array>
#include <cstdio>
#include <string>
#include <string_view>

#include "common/time.h"
#include "domain/rules/rules.h"

namespace loyalty::rules::testing {

// 2026-11-20T12:00:00Z, a Friday.
inline Instant sample_now() { return *parse_rfc3339("2026-11-20T12:00:00Z"); }

struct SampleData {
  std::array<Attribute, 1> shoe_attributes{{{"brand", "Acme"}}};
  std::array<ItemView, 3> items;
  std::array<Attribute, 2> order_attributes{{{"coupon", "WELCOME10"}, {"gift.wrap", "yes"}}};
  std::array<Attribute, 3> member_attributes{
      {{"vip", "true"}, {"city", "Zürich"}, {"rating", "4"}}};
  std::array<Attribute, 3> event_attributes{
      {{"rating", "5"}, {"product", "SH-1"}, {"weight", "1.25"}}};
  OrderView order;
  MemberView member;
  ProgramView program;
  EventView event;

  SampleData() {
    items[0] = ItemView{"SH-1", "Trail Runner", "shoes", 1, 8000, 8000, shoe_attributes};
    items[1] = ItemView{"SO-2", "Wool Socks", "socks", 2, 1000, 2000, {}};
    items[2] = ItemView{"HA-3", "Sun Hat", "hats", 1, 1000, 1000, {}};
    order.id = "ord_1001";
    order.total_minor = 12050;  // 11000 - 500 + 1000 + 550
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
    order.is_first_order = false;
    order.attributes = order_attributes;
    member.id = "mem_1";
    member.external_id = "cust-42";
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
    program.id = "prg_1";
    program.currency = "USD";
    program.timezone = "America/New_York";
    event.type = "review.posted";
    event.occurred_at = *parse_rfc3339("2026-11-19T08:00:00Z");
    event.attributes = event_attributes;
  }
  SampleData(const SampleData&) = delete;
  SampleData& operator=(const SampleData&) = delete;

  // Everything present: the order and its first item, the member, the event.
  Context context() const {
    Context c;
    c.order = &order;
    c.item = &items[0];
    c.event = &event;
    c.member = &member;
    c.program = &program;
    c.now = sample_now();
    return c;
  }
};

// An environment with every root, for tests of operators and functions.
inline Environment all_roots(int currency_exponent = 2) {
  Environment env = Environment::item_rule(currency_exponent);
  env.allow(Root::kEvent);
  return env;
}

inline std::string render_fixed(int64_t value, int digits) {
  __int128 v = value;
  std::string sign = v < 0 ? "-" : "";
  if (v < 0) v = -v;
  __int128 scale = 1;
  for (int i = 0; i < digits; ++i) scale *= 10;
  std::string out = sign + std::to_string(static_cast<long long>(v / scale));
  if (digits > 0) {
    std::string frac = std::to_string(static_cast<long long>(v % scale));
    out += "." + std::string(static_cast<size_t>(digits) - frac.size(), '0') + frac;
  }
  return out;
}

// "true", "int 5", "decimal 1.500000", "money 120.50", "string web",
// "date 2026-12-24", "instant 2026-11-20T10:00:00Z", "duration 86400s",
// or "error overflow".
inline std::string render(const EvalResult& r, int currency_exponent = 2) {
  if (!r.ok()) return std::string("error ") + eval_error_name(r.error);
  const Value& v = r.value;
  switch (v.type) {
    case Type::kBool:
      return v.number != 0 ? "true" : "false";
    case Type::kInt:
      return "int " + std::to_string(v.number);
    case Type::kDecimal:
      return "decimal " + render_fixed(v.number, 6);
    case Type::kMoney:
      return "money " + render_fixed(v.number, currency_exponent);
    case Type::kString:
      return "string " + std::string(v.text);
    case Type::kInstant:
      return "instant " + format_rfc3339(Instant{v.number});
    case Type::kDate: {
      int64_t days = v.number;
      Instant midnight{days * 86'400'000'000};
      return "date " + format_rfc3339(midnight).substr(0, 10);
    }
    case Type::kDuration:
      if (v.number % 1'000'000 == 0)
        return "duration " + std::to_string(v.number / 1'000'000) + "s";
      return "duration " + std::to_string(v.number) + "us";
    default:
      return "?";
  }
}

// Compiles (any value type) and evaluates against `data`; a compile error
// renders as "compile error LINE:COL: message".
inline std::string run(std::string_view source, const SampleData& data,
                       const Environment& env = all_roots()) {
  Result<Expression> e = compile(source, env, TypeSet::any_value());
  if (!e.ok()) return "compile error " + e.status().message();
  return render(evaluate(*e, data.context()), env.currency_exponent);
}

// The error of compiling `source`, as "LINE:COL: message", or "ok".
inline std::string compile_error(std::string_view source, const Environment& env = all_roots(),
                                 TypeSet expected = TypeSet::any_value()) {
  Result<Expression> e = compile(source, env, expected);
  return e.ok() ? "ok" : e.status().message();
}

}  // namespace loyalty::rules::testing
