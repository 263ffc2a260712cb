#include "domain/program_config.h"

#include "common/assert.h"

namespace loyalty {

std::optional<Decimal> parse_decimal(std::string_view text) {
  // Digits, then optionally '.' and 1..6 digits. The integer part is bounded so
  // that the scaled value fits in int64 with room to spare.
  constexpr size_t kMaxIntegerDigits = 12;
  size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view fraction =
      dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  if (whole.empty() || whole.size() > kMaxIntegerDigits) return std::nullopt;
  if (dot != std::string_view::npos && (fraction.empty() || fraction.size() > 6)) {
    return std::nullopt;
  }
  int64_t value = 0;
  for (char c : whole) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  int64_t micros = 0;
  int64_t unit = Decimal::kScale / 10;
  for (char c : fraction) {
    if (c < '0' || c > '9') return std::nullopt;
    micros += (c - '0') * unit;
    unit /= 10;
  }
  return Decimal{value * Decimal::kScale + micros};
}

std::string format_decimal(Decimal d) {
  LOYALTY_ASSERT(d.micros >= 0);
  std::string out = std::to_string(d.micros / Decimal::kScale);
  int64_t fraction = d.micros % Decimal::kScale;
  if (fraction == 0) return out;
  std::string digits = std::to_string(fraction);
  digits.insert(0, 6 - digits.size(), '0');
  while (digits.back() == '0') digits.pop_back();
  return out + "." + digits;
}

const char* to_string(RoundingMode m) {
  switch (m) {
    case RoundingMode::kFloor:
      return "floor";
    case RoundingMode::kNearest:
      return "nearest";
    case RoundingMode::kCeil:
      return "ceil";
  }
  return "?";
}

const char* to_string(VestFrom v) {
  switch (v) {
    case VestFrom::kDelivered:
      return "delivered";
    case VestFrom::kPaid:
      return "paid";
  }
  return "?";
}

const char* to_string(RefundOverspendPolicy p) {
  switch (p) {
    case RefundOverspendPolicy::kNegativeBalance:
      return "negative_balance";
    case RefundOverspendPolicy::kClawBackPending:
      return "claw_back_pending";
    case RefundOverspendPolicy::kWriteOff:
      return "write_off";
  }
  return "?";
}

const char* to_string(ExpiryMode m) {
  switch (m) {
    case ExpiryMode::kNone:
      return "none";
    case ExpiryMode::kAfterEarn:
      return "after_earn";
    case ExpiryMode::kRolling:
      return "rolling";
    case ExpiryMode::kFixedDate:
      return "fixed_date";
  }
  return "?";
}

const char* to_string(EarnTrigger t) {
  switch (t) {
    case EarnTrigger::kOrder:
      return "order";
    case EarnTrigger::kSignup:
      return "signup";
    case EarnTrigger::kEvent:
      return "event";
    case EarnTrigger::kBirthday:
      return "birthday";
    case EarnTrigger::kAnniversary:
      return "anniversary";
  }
  return "?";
}

const char* to_string(EarnKind k) {
  switch (k) {
    case EarnKind::kSpend:
      return "spend";
    case EarnKind::kMultiplier:
      return "multiplier";
    case EarnKind::kFixed:
      return "fixed";
    case EarnKind::kFormula:
      return "formula";
  }
  return "?";
}

const char* to_string(CapPeriod p) {
  switch (p) {
    case CapPeriod::kDay:
      return "day";
    case CapPeriod::kWeek:
      return "week";
    case CapPeriod::kMonth:
      return "month";
    case CapPeriod::kYear:
      return "year";
    case CapPeriod::kLifetime:
      return "lifetime";
  }
  return "?";
}

const char* to_string(TierMetric m) {
  switch (m) {
    case TierMetric::kSpend:
      return "spend";
    case TierMetric::kPoints:
      return "points";
    case TierMetric::kOrders:
      return "orders";
    case TierMetric::kExpression:
      return "expression";
  }
  return "?";
}

const char* to_string(BillingPeriod p) { return p == BillingPeriod::kYear ? "year" : "month"; }

const char* to_string(TierWindowKind k) {
  switch (k) {
    case TierWindowKind::kCalendarYear:
      return "calendar_year";
    case TierWindowKind::kRollingMonths:
      return "rolling_months";
    case TierWindowKind::kLifetime:
      return "lifetime";
  }
  return "?";
}

}  // namespace loyalty
