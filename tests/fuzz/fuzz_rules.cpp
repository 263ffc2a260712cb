// Fuzz target: the rules language, compiled and (when it compiles) evaluated.
//
// The first byte picks the environment (order, item or event rule) and the
// expected type; the rest is the source. Properties checked beyond "does not
// crash, leak or hit UB": a compile failure is kInvalidRequest with a message
// and a position inside the source (or just past it); a compiled expression
// has the expected type and at most a bounded number of nodes; evaluation
// against a fixed sample context gives a value of the expression's type or an
// error whose offset points into the source.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "domain/rules/rules.h"

namespace {

using namespace loyalty;
using namespace loyalty::rules;

void check(bool condition) {
  if (!condition) std::abort();
}

struct Sample {
  std::array<Attribute, 1> shoe_attributes{{{"brand", "Acme"}}};
  std::array<ItemView, 3> items;
  std::array<Attribute, 2> order_attributes{{{"coupon", "WELCOME10"}, {"n", "12.5"}}};
  std::array<Attribute, 2> member_attributes{{{"vip", "true"}, {"city", "Zürich"}}};
  std::array<Attribute, 1> event_attributes{{{"rating", "5"}}};
  OrderView order;
  MemberView member;
  ProgramView program{"prg_1", "USD", "America/New_York"};
  EventView event;
  Context context;

  Sample() {
    items[0] = ItemView{"SH-1", "Trail Runner", "shoes", 1, 8000, 8000, shoe_attributes};
    items[1] = ItemView{"SO-2", "Wool Socks", "socks", 2, 1000, 2000, {}};
    items[2] = ItemView{"XX", "Huge", "x", INT64_MAX, INT64_MAX, INT64_MIN, {}};
    order.id = "ord_1";
    order.total_minor = 12050;
    order.subtotal_minor = INT64_MAX;
    order.discount_minor = INT64_MIN;
    order.channel = "web";
    order.placed_at = Instant{INT64_MAX};
    order.items = items;
    order.item_count = 4;
    order.attributes = order_attributes;
    member.tier = "gold";
    member.enrolled_at = Instant{INT64_MIN};
    member.birthday = LocalDate{2000, 2, 29};
    member.attributes = member_attributes;
    member.available_points = -1;
    event.type = "review";
    event.occurred_at = Instant{0};
    event.attributes = event_attributes;
    context.order = &order;
    context.item = &items[0];
    context.event = &event;
    context.member = &member;
    context.program = &program;
    context.now = Instant{1'795'176'000'000'000};  // 2026-11-20T12:00:00Z
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Sample sample;
  if (size == 0) return 0;
  std::string_view source(reinterpret_cast<const char*>(data) + 1, size - 1);
  const int exponent = data[0] & 3 ? 2 : 0;
  Environment env;
  switch ((data[0] >> 2) % 3) {
    case 0:
      env = Environment::order_rule(exponent);
      break;
    case 1:
      env = Environment::item_rule(exponent);
      break;
    default:
      env = Environment::event_rule(exponent);
      break;
  }
  const TypeSet expected = (data[0] & 0x40) != 0 ? TypeSet(Type::kBool) : TypeSet::any_value();

  CompileError error;
  Result<Expression> e = compile(source, env, expected, &error);
  if (!e.ok()) {
    check(e.status().code() == ErrorCode::kInvalidRequest);
    check(!error.message.empty());
    check(error.offset >= 0 && static_cast<size_t>(error.offset) <= source.size());
    check(error.line >= 1 && error.column >= 1);
    return 0;
  }
  check(expected.contains(e->type()));
  check(e->node_count() >= 1 && e->node_count() <= 4 * static_cast<size_t>(kMaxNodes));
  EvalResult r = evaluate(*e, sample.context);
  if (r.ok()) {
    check(r.value.type == e->type());
    if (r.value.type == Type::kBool) check(r.value.number == 0 || r.value.number == 1);
  } else {
    check(r.error_offset >= 0 && static_cast<size_t>(r.error_offset) < source.size());
  }
  if (e->type() == Type::kBool) {
    EvalResult detail;
    const bool holds = evaluate_condition(*e, sample.context, &detail);
    check(holds == (r.ok() && r.value.number == 1));  // deterministic
  }
  return 0;
}
