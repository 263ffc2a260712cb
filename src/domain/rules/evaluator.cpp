// The evaluator: a recursive walk over the compiled tree.
//
// No allocation, no exceptions, no floating point. Recursion depth is bounded
// by the tree's depth (kMaxDepth plus the conversion nodes the compiler
// inserts). Errors are recorded (the first one wins) and evaluation goes on
// with a zero value, which is safe because every operation is total; the
// caller sees only the error. This keeps the hot path free of error checks
// after every child.
#include "domain/rules/evaluator.h"

#include <string_view>

#include "common/assert.h"
#include "domain/rules/fields.h"
#include "domain/rules/fixed_point.h"

namespace loyalty::rules::detail {

int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  // Howard Hinnant's days_from_civil, in int64.
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int64_t* year, int64_t* month, int64_t* day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *day = doy - (153 * mp + 2) / 5 + 1;
  *month = mp < 10 ? mp + 3 : mp - 9;
  *year = yoe + era * 400 + (*month <= 2 ? 1 : 0);
}

namespace {

// A value during evaluation: 16 bytes, returned in registers. Strings use
// both fields (i is the length); every other type uses i only.
struct V {
  int64_t i = 0;
  const char* p = nullptr;
};

V number(int64_t i) { return V{i, nullptr}; }

// Whether a comparison (kEq..kGe or kEqString..kGeString) holds for operands
// whose three-way order is `order` (< 0, 0, > 0).
bool holds(Op comparison, int order) {
  switch (comparison) {
    case Op::kEq:
    case Op::kEqString:
      return order == 0;
    case Op::kNe:
    case Op::kNeString:
      return order != 0;
    case Op::kLt:
    case Op::kLtString:
      return order < 0;
    case Op::kLe:
    case Op::kLeString:
      return order <= 0;
    case Op::kGt:
    case Op::kGtString:
      return order > 0;
    default:  // kGe, kGeString
      return order >= 0;
  }
}

// String equality without a call to memcmp for the short strings conditions
// compare (categories, SKUs, tiers, channels): the call was ~8 % of an order's
// earn-rule evaluation (perf, bench/earning_bench).
bool same_text(std::string_view x, std::string_view y) {
  if (x.size() != y.size()) return false;
  constexpr size_t kShort = 16;
  if (x.size() > kShort) return x == y;
  for (size_t k = 0; k < x.size(); ++k) {
    if (x[k] != y[k]) return false;
  }
  return true;
}
V text(std::string_view s) { return V{static_cast<int64_t>(s.size()), s.data()}; }
std::string_view as_view(V v) { return {v.p, static_cast<size_t>(v.i)}; }

int64_t floor_div_i64(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

class Evaluator {
 public:
  Evaluator(const CompiledProgram& program, const Context& context)
      : nodes_(program.nodes.data()),
        operands_(program.operands.data()),
        pool_(program.pool.data()),
        ctx_(context) {}

  V eval(uint16_t index);
  // The less frequent ops, out of line so that eval's frequent cases run
  // without the stack frame these need.
  [[gnu::noinline]] V eval_rest(const Node& n);

  EvalError error() const { return error_; }
  int error_offset() const { return error_offset_; }

 private:
  V fail(EvalError e, const Node& n) {
    if (error_ == EvalError::kNone) {
      error_ = e;
      error_offset_ = n.offset;
    }
    return V{};
  }
  // `value` is read after `ok` is computed: call sites pass the out-parameter
  // of the check, so it must be bound by reference (argument order is unspecified).
  V checked(bool ok, const int64_t& value, const Node& n) {
    return ok ? number(value) : fail(EvalError::kOverflow, n);
  }
  const ItemView& item(const Node& n) const {
    return (n.flags & kFromLoopItem) != 0 ? *loop_item_ : *ctx_.item;
  }
  std::string_view pool_string(const Node& n) const { return {pool_ + n.str_offset, n.str_len}; }
  int64_t today() const { return floor_div_i64(ctx_.now.micros_since_epoch, kMicrosPerDay); }

  V load(const Node& n);
  AttributeList attributes(const Node& n) const;
  V attribute(const Node& n, std::string_view key, bool* found);
  V in_list(const Node& n, bool strings);
  V macro(const Node& n);
  V calendar(const Node& n, int64_t days);
  V parse_fixed(const Node& n, std::string_view s);

  const Node* nodes_;
  const uint16_t* operands_;
  const char* pool_;
  const Context& ctx_;
  const ItemView* loop_item_ = nullptr;
  EvalError error_ = EvalError::kNone;
  int error_offset_ = -1;
};

V Evaluator::load(const Node& n) {
  switch (static_cast<Field>(n.imm)) {
    case Field::kOrderId:
      return text(ctx_.order->id);
    case Field::kOrderTotal:
      return number(ctx_.order->total_minor);
    case Field::kOrderSubtotal:
      return number(ctx_.order->subtotal_minor);
    case Field::kOrderDiscount:
      return number(ctx_.order->discount_minor);
    case Field::kOrderShipping:
      return number(ctx_.order->shipping_minor);
    case Field::kOrderTax:
      return number(ctx_.order->tax_minor);
    case Field::kOrderEligibleSpend:
      return number(ctx_.order->eligible_spend_minor);
    case Field::kOrderCurrency:
      return text(ctx_.order->currency);
    case Field::kOrderChannel:
      return text(ctx_.order->channel);
    case Field::kOrderPlacedAt:
      return number(ctx_.order->placed_at.micros_since_epoch);
    case Field::kOrderItemCount:
      return number(ctx_.order->item_count);
    case Field::kOrderIsFirstOrder:
      return number(ctx_.order->is_first_order ? 1 : 0);
    case Field::kItemSku:
      return text(item(n).sku);
    case Field::kItemName:
      return text(item(n).name);
    case Field::kItemCategory:
      return text(item(n).category);
    case Field::kItemQuantity:
      return number(item(n).quantity);
    case Field::kItemUnitPrice:
      return number(item(n).unit_price_minor);
    case Field::kItemTotal:
      return number(item(n).total_minor);
    case Field::kEventType:
      return text(ctx_.event->type);
    case Field::kEventOccurredAt:
      return number(ctx_.event->occurred_at.micros_since_epoch);
    case Field::kMemberId:
      return text(ctx_.member->id);
    case Field::kMemberExternalId:
      return text(ctx_.member->external_id);
    case Field::kMemberEmail:
      return text(ctx_.member->email);
    case Field::kMemberStatus:
      return text(ctx_.member->status);
    case Field::kMemberTier:
      return text(ctx_.member->tier);
    case Field::kMemberEnrolledAt:
      return number(ctx_.member->enrolled_at.micros_since_epoch);
    case Field::kMemberBirthday: {
      const auto& b = ctx_.member->birthday;
      if (!b) return fail(EvalError::kAbsent, n);
      return number(days_from_civil(b->year, b->month, b->day));
    }
    case Field::kMemberLifetimeEarned:
      return number(ctx_.member->lifetime_earned_points);
    case Field::kMemberAvailable:
      return number(ctx_.member->available_points);
    case Field::kMemberOrdersCount:
      return number(ctx_.member->orders_count);
    case Field::kMemberTotalSpent:
      return number(ctx_.member->total_spent_minor);
    case Field::kProgramId:
      return text(ctx_.program->id);
    case Field::kProgramCurrency:
      return text(ctx_.program->currency);
    case Field::kProgramTimezone:
      return text(ctx_.program->timezone);
    case Field::kOrderItems:
    case Field::kOrderAttributes:
    case Field::kItemAttributes:
    case Field::kEventAttributes:
    case Field::kMemberAttributes:
      break;
  }
  LOYALTY_ASSERT_MSG(false, "rules: kLoad of a field that is not a value");
  return V{};
}

AttributeList Evaluator::attributes(const Node& n) const {
  switch (static_cast<Field>(n.imm)) {
    case Field::kOrderAttributes:
      return ctx_.order->attributes;
    case Field::kItemAttributes:
      return item(n).attributes;
    case Field::kEventAttributes:
      return ctx_.event->attributes;
    case Field::kMemberAttributes:
      return ctx_.member->attributes;
    default:
      LOYALTY_ASSERT_MSG(false, "rules: attribute access on a field that is not a map");
      return {};
  }
}

V Evaluator::attribute(const Node& n, std::string_view key, bool* found) {
  for (const Attribute& a : attributes(n)) {
    if (a.key == key) {
      *found = true;
      return text(a.value);
    }
  }
  *found = false;
  return text(std::string_view());
}

V Evaluator::in_list(const Node& n, bool strings) {
  V needle = eval(n.a);
  const uint16_t* first = operands_ + n.imm;
  for (uint32_t k = 0; k < n.str_len; ++k) {
    // Elements are nearly always constants: read them without a call.
    const Node& e = nodes_[first[k]];
    V element = e.op == Op::kConstString ? text(pool_string(e))
                : e.op == Op::kConst     ? number(e.imm)
                                         : eval(first[k]);
    bool equal = strings ? same_text(as_view(element), as_view(needle)) : element.i == needle.i;
    if (equal) return number(1);
  }
  return number(0);
}

V Evaluator::macro(const Node& n) {
  const ItemView* saved = loop_item_;
  int64_t acc = n.op == Op::kAll ? 1 : 0;
  for (const ItemView& it : ctx_.order->items) {
    loop_item_ = &it;
    V v = eval(n.b);
    switch (n.op) {
      case Op::kAny:
        if (v.i != 0) acc = 1;
        break;
      case Op::kAll:
        if (v.i == 0) acc = 0;
        break;
      case Op::kCount:
        acc += v.i != 0 ? 1 : 0;
        break;
      default:  // kSum
        if (__builtin_add_overflow(acc, v.i, &acc)) {
          loop_item_ = saved;
          return fail(EvalError::kOverflow, n);
        }
        break;
    }
    if ((n.op == Op::kAny && acc == 1) || (n.op == Op::kAll && acc == 0)) break;
  }
  loop_item_ = saved;
  return number(acc);
}

V Evaluator::calendar(const Node& n, int64_t days) {
  if (days < kMinDays || days > kMaxDays) return fail(EvalError::kOverflow, n);
  int64_t y, m, d;
  civil_from_days(days, &y, &m, &d);
  switch (n.op) {
    case Op::kYear:
      return number(y);
    case Op::kMonth:
      return number(m);
    case Op::kDayOfMonth:
      return number(d);
    case Op::kWeekday:
      // 1970-01-01 was a Thursday (4).
      return number((days % 7 + 7 + 3) % 7 + 1);
    default: {  // kDaysUntilAnniversary
      int64_t now_days = today();
      if (now_days < kMinDays || now_days > kMaxDays) return fail(EvalError::kOverflow, n);
      int64_t ty, tm, td;
      civil_from_days(now_days, &ty, &tm, &td);
      for (int64_t year = ty; year <= ty + 1; ++year) {
        int64_t day = d;
        if (m == 2 && d == 29 && !is_leap(year)) day = 28;
        int64_t candidate = days_from_civil(year, m, day);
        if (candidate >= now_days) return number(candidate - now_days);
      }
      return number(0);  // unreachable: next year's date is always ahead
    }
  }
}

V Evaluator::parse_fixed(const Node& n, std::string_view s) {
  const int fraction_digits = static_cast<int>(n.imm);
  size_t pos = 0;
  bool negative = false;
  if (pos < s.size() && (s[pos] == '-' || s[pos] == '+')) negative = s[pos++] == '-';
  __int128 value = 0;
  size_t int_digits = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
    value = value * 10 + (s[pos++] - '0');
    if (value > INT64_MAX) return fail(EvalError::kOverflow, n);
    ++int_digits;
  }
  int frac_seen = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (++frac_seen > fraction_digits) return fail(EvalError::kInvalidConversion, n);
      value = value * 10 + (s[pos++] - '0');
    }
    if (frac_seen == 0) return fail(EvalError::kInvalidConversion, n);
  }
  if (int_digits == 0 || pos != s.size()) return fail(EvalError::kInvalidConversion, n);
  value *= pow10(fraction_digits - frac_seen);
  if (negative) value = -value;
  int64_t out;
  return checked(fits_int64(value, &out), out, n);
}

V Evaluator::eval(uint16_t index) {
  const Node& n = nodes_[index];
  int64_t out = 0;
  switch (n.op) {
    case Op::kConst:
      return number(n.imm);
    case Op::kConstString:
      return text(pool_string(n));
    case Op::kNow:
      return number(ctx_.now.micros_since_epoch);
    case Op::kLoad:
      return load(n);
    case Op::kAttrGet: {
      bool found;
      return attribute(n, pool_string(n), &found);
    }
    case Op::kAttrHas: {
      bool found;
      attribute(n, pool_string(n), &found);
      return number(found ? 1 : 0);
    }
    case Op::kAttrHasKey: {
      bool found;
      attribute(n, as_view(eval(n.a)), &found);
      return number(found ? 1 : 0);
    }
    case Op::kAttrSize:
      return number(static_cast<int64_t>(attributes(n).size()));
    case Op::kHasField:
      return number(ctx_.member->birthday.has_value() ? 1 : 0);
    case Op::kNot:
      return number(eval(n.a).i == 0 ? 1 : 0);
    case Op::kNeg:
      return checked(!__builtin_sub_overflow(int64_t{0}, eval(n.a).i, &out), out, n);
    case Op::kAbs: {
      const int64_t v = eval(n.a).i;
      if (v >= 0) return number(v);
      return checked(!__builtin_sub_overflow(int64_t{0}, v, &out), out, n);
    }
    case Op::kAnd:
      return eval(n.a).i != 0 ? number(eval(n.b).i) : number(0);
    case Op::kOr:
      return eval(n.a).i != 0 ? number(1) : number(eval(n.b).i);
    case Op::kCond:
      return eval(n.a).i != 0 ? eval(n.b) : eval(n.c);
    // The most frequent ops of conditions are dispatched here, in the first switch.
    case Op::kEq: {
      const int64_t x = eval(n.a).i;
      return number(x == eval(n.b).i ? 1 : 0);
    }
    case Op::kNe: {
      const int64_t x = eval(n.a).i;
      return number(x != eval(n.b).i ? 1 : 0);
    }
    case Op::kLt: {
      const int64_t x = eval(n.a).i;
      return number(x < eval(n.b).i ? 1 : 0);
    }
    case Op::kLe: {
      const int64_t x = eval(n.a).i;
      return number(x <= eval(n.b).i ? 1 : 0);
    }
    case Op::kGt: {
      const int64_t x = eval(n.a).i;
      return number(x > eval(n.b).i ? 1 : 0);
    }
    case Op::kGe: {
      const int64_t x = eval(n.a).i;
      return number(x >= eval(n.b).i ? 1 : 0);
    }
    case Op::kEqString: {
      const std::string_view x = as_view(eval(n.a));
      return number(same_text(x, as_view(eval(n.b))) ? 1 : 0);
    }
    case Op::kNeString: {
      const std::string_view x = as_view(eval(n.a));
      return number(same_text(x, as_view(eval(n.b))) ? 0 : 1);
    }
    case Op::kCompareLoadConst: {
      const int64_t x = load(nodes_[n.a]).i;
      const int64_t y = nodes_[n.b].imm;
      return number(holds(static_cast<Op>(n.c), (x > y) - (x < y)) ? 1 : 0);
    }
    case Op::kCompareLoadString: {
      const std::string_view x = as_view(load(nodes_[n.a]));
      const std::string_view y = pool_string(nodes_[n.b]);
      const auto comparison = static_cast<Op>(n.c);
      if (comparison == Op::kEqString || comparison == Op::kNeString) {
        return number(same_text(x, y) == (comparison == Op::kEqString) ? 1 : 0);
      }
      return number(holds(comparison, x.compare(y)) ? 1 : 0);
    }
    case Op::kInList:
      return in_list(n, false);
    case Op::kInStringList:
      return in_list(n, true);
    case Op::kAny:
    case Op::kAll:
    case Op::kCount:
    case Op::kSum:
      return macro(n);
    default:
      break;
  }
  return eval_rest(n);
}

V Evaluator::eval_rest(const Node& n) {
  int64_t out = 0;
  // Binary operators on int64 representations.
  switch (n.op) {
    case Op::kAdd:
    case Op::kSub:
    case Op::kMul:
    case Op::kDivInt:
    case Op::kModInt:
    case Op::kMulScaled:
    case Op::kDivScaled:
    case Op::kMin:
    case Op::kMax:
    case Op::kDateAddDuration: {
      const int64_t x = eval(n.a).i;
      const int64_t y = eval(n.b).i;
      switch (n.op) {
        case Op::kAdd:
          return checked(!__builtin_add_overflow(x, y, &out), out, n);
        case Op::kSub:
          return checked(!__builtin_sub_overflow(x, y, &out), out, n);
        case Op::kMul:
          return checked(!__builtin_mul_overflow(x, y, &out), out, n);
        case Op::kDivInt:
          if (y == 0) return fail(EvalError::kDivisionByZero, n);
          if (y == -1) return checked(!__builtin_sub_overflow(int64_t{0}, x, &out), out, n);
          return number(x / y);
        case Op::kModInt:
          if (y == 0) return fail(EvalError::kDivisionByZero, n);
          return number(y == -1 ? 0 : x % y);
        case Op::kMulScaled:
          return checked(div_round_half_away(static_cast<__int128>(x) * y, n.imm, &out), out, n);
        case Op::kDivScaled:
          if (y == 0) return fail(EvalError::kDivisionByZero, n);
          return checked(div_round_half_away(static_cast<__int128>(x) * n.imm, y, &out), out, n);
        case Op::kMin:
          return number(x < y ? x : y);
        case Op::kMax:
          return number(x > y ? x : y);
        default: {  // kDateAddDuration
          __int128 micros = (n.flags & kSubtract) != 0 ? -static_cast<__int128>(y) : y;
          __int128 shift = micros / kMicrosPerDay;
          if (micros % kMicrosPerDay != 0 && micros < 0) --shift;
          __int128 days = x + shift;
          if (days < kMinDays || days > kMaxDays) return fail(EvalError::kOverflow, n);
          return number(static_cast<int64_t>(days));
        }
      }
    }
    default:
      break;
  }

  switch (n.op) {
    case Op::kScaleUp:
      return checked(!__builtin_mul_overflow(eval(n.a).i, n.imm, &out), out, n);
    case Op::kScaleDown:
      return checked(div_round_half_away(eval(n.a).i, n.imm, &out), out, n);
    case Op::kFloorDiv:
      return checked(div_floor(eval(n.a).i, n.imm, &out), out, n);
    case Op::kCeilDiv:
      return checked(div_ceil(eval(n.a).i, n.imm, &out), out, n);
    case Op::kRoundDiv:
      return checked(div_round_half_away(eval(n.a).i, n.imm, &out), out, n);
    case Op::kTruncDiv:
      return checked(div_trunc(eval(n.a).i, n.imm, &out), out, n);
    case Op::kLtString:
    case Op::kLeString:
    case Op::kGtString:
    case Op::kGeString: {
      const std::string_view x = as_view(eval(n.a));
      return number(holds(n.op, x.compare(as_view(eval(n.b)))) ? 1 : 0);
    }
    case Op::kSizeString: {
      int64_t count = 0;
      for (char c : as_view(eval(n.a))) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
      return number(count);
    }
    case Op::kSizeItems:
      return number(static_cast<int64_t>(ctx_.order->items.size()));
    case Op::kStartsWith: {
      std::string_view s = as_view(eval(n.a));
      return number(s.starts_with(as_view(eval(n.b))) ? 1 : 0);
    }
    case Op::kEndsWith: {
      std::string_view s = as_view(eval(n.a));
      return number(s.ends_with(as_view(eval(n.b))) ? 1 : 0);
    }
    case Op::kContains: {
      std::string_view s = as_view(eval(n.a));
      return number(s.find(as_view(eval(n.b))) != std::string_view::npos ? 1 : 0);
    }
    case Op::kEqualsIgnoreCase: {
      std::string_view s = as_view(eval(n.a));
      std::string_view t = as_view(eval(n.b));
      if (s.size() != t.size()) return number(0);
      for (size_t k = 0; k < s.size(); ++k) {
        if (ascii_lower(s[k]) != ascii_lower(t[k])) return number(0);
      }
      return number(1);
    }
    case Op::kDaysSinceInstant:
    case Op::kDaysUntilInstant: {
      __int128 delta = static_cast<__int128>(ctx_.now.micros_since_epoch) - eval(n.a).i;
      if (n.op == Op::kDaysUntilInstant) delta = -delta;
      return checked(div_floor(delta, kMicrosPerDay, &out), out, n);
    }
    case Op::kDaysSinceDate:
      return checked(!__builtin_sub_overflow(today(), eval(n.a).i, &out), out, n);
    case Op::kDaysUntilDate:
      return checked(!__builtin_sub_overflow(eval(n.a).i, today(), &out), out, n);
    case Op::kDaysUntilAnniversary:
    case Op::kYear:
    case Op::kMonth:
    case Op::kDayOfMonth:
    case Op::kWeekday:
      return calendar(n, eval(n.a).i);
    case Op::kParseFixed:
      return parse_fixed(n, as_view(eval(n.a)));
    default:
      break;
  }
  LOYALTY_ASSERT_MSG(false, "rules: unknown op");
  return V{};
}

}  // namespace

EvalResult evaluate_node(const CompiledProgram& program, uint16_t node, const Context& context) {
  Evaluator evaluator(program, context);
  V v = evaluator.eval(node);
  EvalResult result;
  result.error = evaluator.error();
  result.error_offset = evaluator.error_offset();
  const Type type = program.nodes[node].type;
  result.value.type = type;
  if (result.error != EvalError::kNone) return result;
  if (type == Type::kString) {
    result.value.text = as_view(v);
  } else {
    result.value.number = v.i;
  }
  return result;
}

}  // namespace loyalty::rules::detail

namespace loyalty::rules {
namespace {

uint32_t roots_present(const Context& c) {
  auto bit = [](bool present, Root r) {
    return static_cast<uint32_t>(present) << static_cast<int>(r);
  };
  return bit(true, Root::kNow) | bit(c.order != nullptr, Root::kOrder) |
         bit(c.item != nullptr, Root::kItem) | bit(c.event != nullptr, Root::kEvent) |
         bit(c.member != nullptr, Root::kMember) | bit(c.program != nullptr, Root::kProgram);
}

[[gnu::always_inline]] inline void check_roots(const detail::CompiledProgram& program,
                                               const Context& context) {
  LOYALTY_ASSERT_MSG((program.roots_used & ~roots_present(context)) == 0,
                     "rules: the context lacks a root the expression reads");
}

}  // namespace

EvalResult evaluate(const Expression& expression, const Context& context) {
  const detail::CompiledProgram& program = expression.program();
  check_roots(program, context);
  return detail::evaluate_node(program, program.root, context);
}

bool evaluate_condition(const Expression& expression, const Context& context, EvalResult* detail) {
  const detail::CompiledProgram& program = expression.program();
  LOYALTY_ASSERT(program.type == Type::kBool);
  check_roots(program, context);
  detail::Evaluator evaluator(program, context);
  const detail::V v = evaluator.eval(program.root);
  const bool ok = evaluator.error() == EvalError::kNone;
  if (detail != nullptr) {
    detail->error = evaluator.error();
    detail->error_offset = evaluator.error_offset();
    detail->value = Value{Type::kBool, ok ? v.i : 0, {}};
  }
  return ok && v.i != 0;
}

size_t evaluate_item_filter(const Expression& expression, const Context& context,
                            std::span<const ItemView> items, std::span<uint8_t> match) {
  const detail::CompiledProgram& program = expression.program();
  LOYALTY_ASSERT(program.type == Type::kBool);
  LOYALTY_ASSERT(match.size() >= items.size());
  Context item_context = context;
  size_t matching = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    item_context.item = &items[i];
    if (i == 0) check_roots(program, item_context);
    detail::Evaluator evaluator(program, item_context);
    const detail::V v = evaluator.eval(program.root);
    match[i] = evaluator.error() == EvalError::kNone && v.i != 0 ? 1 : 0;
    matching += match[i];
  }
  return matching;
}

}  // namespace loyalty::rules
