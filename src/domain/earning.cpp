#include "domain/earning.h"

#include <date/date.h>
#include <date/iso_week.h>
#include <date/tz.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <string>
#include <type_traits>

#include "common/assert.h"
#include "domain/points.h"

namespace loyalty {
namespace {

constexpr int64_t kMicros = Decimal::kScale;

int64_t pow10(int exponent) {
  int64_t v = 1;
  for (int i = 0; i < exponent; ++i) v *= 10;
  return v;
}

// Saturating conversion of a non-negative 128-bit quantity of points.
int64_t clamp_points(__int128 v) {
  if (v < 0) return 0;
  if (v > kMaxPointsPerPosting) return kMaxPointsPerPosting;
  return static_cast<int64_t>(v);
}

int phase_of(EarnKind kind) {
  switch (kind) {
    case EarnKind::kSpend:
      return 0;
    case EarnKind::kMultiplier:
      return 1;
    case EarnKind::kFixed:
    case EarnKind::kFormula:
      return 2;
  }
  return 2;
}

bool kind_applies(EarnTrigger trigger, EarnKind kind) {
  if (trigger == EarnTrigger::kOrder) return true;
  return kind == EarnKind::kFixed || kind == EarnKind::kFormula;
}

}  // namespace

rules::Environment rule_environment(EarnTrigger trigger, int exponent, bool per_item) {
  switch (trigger) {
    case EarnTrigger::kOrder:
      return per_item ? rules::Environment::item_rule(exponent)
                      : rules::Environment::order_rule(exponent);
    case EarnTrigger::kEvent:
      return rules::Environment::event_rule(exponent);
    case EarnTrigger::kSignup:
    case EarnTrigger::kBirthday:
    case EarnTrigger::kAnniversary:
      break;
  }
  rules::Environment env;
  env.currency_exponent = exponent;
  env.allow(rules::Root::kMember).allow(rules::Root::kProgram).allow(rules::Root::kNow);
  return env;
}

namespace {

Status compile_into(std::optional<rules::Expression>* slot, const std::string& source,
                    const rules::Environment& env, rules::TypeSet expected, size_t rule_index,
                    const EarnRule& rule, const char* field) {
  if (source.empty()) return {};
  rules::CompileError error;
  auto compiled = rules::compile(source, env, expected, &error);
  if (!compiled.ok()) {
    return Status(ErrorCode::kInvalidConfig, "earn_rules[" + std::to_string(rule_index) + "] (" +
                                                 rule.id + ")." + field + ": " +
                                                 compiled.status().message());
  }
  slot->emplace(std::move(compiled).value());
  return {};
}

}  // namespace

// ---- Arithmetic ----

namespace {
// round_quotient in the integer type T (int64_t when the numerator fits: a
// 64-bit division is several times cheaper than a 128-bit one).
template <typename T>
T rounded_quotient(T numerator, T denominator, RoundingMode mode) {
  T q = numerator / denominator;
  const T r = numerator % denominator;  // sign of the numerator
  switch (mode) {
    case RoundingMode::kFloor:
      if (r < 0) --q;
      break;
    case RoundingMode::kCeil:
      if (r > 0) ++q;
      break;
    case RoundingMode::kNearest:
      // |r| >= denominator - |r| is 2|r| >= denominator without overflow.
      if ((r < 0 ? -r : r) >= denominator - (r < 0 ? -r : r)) q += (numerator < 0 ? -1 : 1);
      break;
  }
  return q;
}
}  // namespace

int64_t round_quotient(__int128 numerator, int64_t denominator, RoundingMode mode) {
  LOYALTY_ASSERT(denominator > 0);
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  if (numerator > kMin && numerator <= kMax) {
    return rounded_quotient<int64_t>(static_cast<int64_t>(numerator), denominator, mode);
  }
  const __int128 q = rounded_quotient<__int128>(numerator, denominator, mode);
  if (q > kMax) return kMax;
  if (q < kMin) return kMin;
  return static_cast<int64_t>(q);
}

namespace {
// Largest remainder in the integer type T, where total * weight and the sum of
// the weights fit.
template <typename T, typename W>
void distribute_in(int64_t total, std::span<const W> weights, std::span<int64_t> parts, T sum) {
  const size_t n = weights.size();
  // Remainders of up to kStackItems parts are kept on the stack, so the top-up
  // below needs no second division per part (orders have a few items).
  constexpr size_t kStackItems = 16;
  std::array<T, kStackItems> remainders;
  const bool on_stack = n <= kStackItems;
  int64_t given = 0;
  for (size_t i = 0; i < n; ++i) {
    const T exact = static_cast<T>(total) * static_cast<T>(weights[i]);
    const T floor_part = exact / sum;
    parts[i] = static_cast<int64_t>(floor_part);
    if (on_stack) remainders[i] = exact - floor_part * sum;
    given += parts[i];
  }
  // Hand out the rest, one point each, to the largest remainders (lowest index
  // first among equals). Fewer than n points remain. Beyond kStackItems parts
  // the remainders are recomputed, a part already topped up being recognised by
  // being above its floor: O(n^2) divisions, no buffer.
  int64_t rest = total - given;
  LOYALTY_ASSERT(rest >= 0 && rest < static_cast<int64_t>(n));
  while (rest > 0) {
    size_t best = n;
    T best_rem = -1;
    for (size_t i = 0; i < n; ++i) {
      T rem = 0;
      if (on_stack) {
        rem = remainders[i];
      } else {
        const T exact = static_cast<T>(total) * static_cast<T>(weights[i]);
        const T floor_part = exact / sum;
        if (parts[i] != static_cast<int64_t>(floor_part)) continue;  // already topped up
        rem = exact - floor_part * sum;
      }
      if (rem > best_rem) {
        best_rem = rem;
        best = i;
      }
    }
    LOYALTY_ASSERT(best < n);
    ++parts[best];
    if (on_stack) remainders[best] = -1;  // topped up
    --rest;
  }
}

// The common case of distribute(): a few non-negative int64 weights whose
// products with the total fit in int64. One division per part, the remainders
// on the stack; false (nothing written) when the case does not apply. Orders
// call this a dozen times per evaluation (measured: the generic path below was
// ~12 % of bench/earning_bench).
bool distribute_small(int64_t total, std::span<const int64_t> weights, std::span<int64_t> parts) {
  constexpr size_t kMaxParts = 16;
  const size_t n = weights.size();
  if (n == 0 || n > kMaxParts) return false;
  int64_t sum = 0;
  int64_t max_weight = 0;
  for (const int64_t w : weights) {
    if (w < 0 || __builtin_add_overflow(sum, w, &sum)) return false;
    max_weight = std::max(max_weight, w);
  }
  int64_t product = 0;
  if (sum == 0 || __builtin_mul_overflow(total, max_weight, &product)) return false;
  std::array<int64_t, kMaxParts> remainders;  // NOLINT(cppcoreguidelines-pro-type-member-init)
  int64_t given = 0;
  constexpr int64_t k32 = std::numeric_limits<uint32_t>::max();
  if (product <= k32 && sum <= k32) {
    // Points times minor units of a few items: 32-bit divisions, several
    // times cheaper than 64-bit ones on the machines we measure on.
    const auto total32 = static_cast<uint32_t>(total);
    const auto sum32 = static_cast<uint32_t>(sum);
    for (size_t i = 0; i < n; ++i) {
      const uint32_t exact = total32 * static_cast<uint32_t>(weights[i]);
      parts[i] = exact / sum32;
      remainders[i] = exact % sum32;
      given += parts[i];
    }
  } else {
    for (size_t i = 0; i < n; ++i) {
      const int64_t exact = total * weights[i];
      parts[i] = exact / sum;
      remainders[i] = exact % sum;
      given += parts[i];
    }
  }
  // Fewer than n points remain: one each to the largest remainders, the lowest
  // index first among equals (a topped-up part's remainder becomes -1).
  for (int64_t rest = total - given; rest > 0; --rest) {
    size_t best = 0;
    for (size_t i = 1; i < n; ++i) {
      if (remainders[i] > remainders[best]) best = i;
    }
    ++parts[best];
    remainders[best] = -1;
  }
  return true;
}

// Largest remainder over weights of any integer type (int64 or __int128).
template <typename W>
void distribute(int64_t total, std::span<const W> weights, std::span<int64_t> parts) {
  LOYALTY_ASSERT(parts.size() == weights.size());
  LOYALTY_ASSERT(total >= 0);
  if constexpr (std::is_same_v<W, int64_t>) {
    if (distribute_small(total, weights, parts)) return;
  }
  const size_t n = weights.size();
  if (n == 0) {
    LOYALTY_ASSERT(total == 0);
    return;
  }
  __int128 sum = 0;
  W max_weight = 0;
  for (W w : weights) {
    LOYALTY_ASSERT(w >= 0);
    sum += w;
    max_weight = std::max(max_weight, w);
  }
  if (sum == 0) {
    int64_t given = 0;
    for (size_t i = 0; i < n; ++i) {
      parts[i] = total / static_cast<int64_t>(n);
      given += parts[i];
    }
    for (size_t i = 0; given < total; ++i, ++given) ++parts[i];
    return;
  }
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t product = 0;
  if (sum <= kMax && max_weight <= kMax &&
      !__builtin_mul_overflow(total, static_cast<int64_t>(max_weight), &product)) {
    distribute_in<int64_t>(total, weights, parts, static_cast<int64_t>(sum));
  } else {
    distribute_in<__int128>(total, weights, parts, sum);
  }
}
}  // namespace

void distribute_largest_remainder(int64_t total, std::span<const int64_t> weights,
                                  std::span<int64_t> parts) {
  distribute<int64_t>(total, weights, parts);
}

int64_t eligible_spend(const EligibleSpendPolicy& policy, const rules::OrderView& order,
                       std::span<int64_t> per_item_minor) {
  LOYALTY_ASSERT(per_item_minor.size() == order.items.size());
  const size_t n = order.items.size();
  // An item's amount before the order-level discount: its total (after its own
  // discount), or before discounts its list price, quantity x unit price.
  auto amount_of = [&policy](const rules::ItemView& item) -> int64_t {
    const __int128 amount = policy.after_discounts
                                ? static_cast<__int128>(item.total_minor)
                                : static_cast<__int128>(item.quantity) * item.unit_price_minor;
    return static_cast<int64_t>(
        std::clamp<__int128>(amount, 0, std::numeric_limits<int64_t>::max()));
  };
  for (size_t i = 0; i < n; ++i) per_item_minor[i] = amount_of(order.items[i]);
  if (policy.after_discounts && order.discount_minor > 0 && n > 0) {
    // The order-level discount is shared by every item (excluded ones too, so an
    // excluded gift card does not shift its share onto the others). The shares
    // are written into per_item_minor in place: weights are read first.
    int64_t base = 0;
    for (size_t i = 0; i < n; ++i) base += per_item_minor[i];
    int64_t discount = std::min(order.discount_minor, base);
    constexpr size_t kStackItems = 16;
    if (n <= kStackItems) {
      // Orders have a few items: the shares by distribute() (int64 arithmetic
      // when it fits) from a copy of the weights on the stack.
      std::array<int64_t, kStackItems> weights;  // NOLINT(cppcoreguidelines-pro-type-member-init)
      std::array<int64_t, kStackItems> shares;   // NOLINT(cppcoreguidelines-pro-type-member-init)
      std::copy_n(per_item_minor.begin(), n, weights.begin());
      distribute<int64_t>(discount, std::span<const int64_t>(weights.data(), n),
                          std::span<int64_t>(shares.data(), n));
      for (size_t i = 0; i < n; ++i) per_item_minor[i] -= shares[i];
    } else {
      // Largest remainder without a second buffer: share_i = discount * w_i / base.
      // Compute floor shares and the leftover, then top up in remainder order.
      // distribute() needs separate parts, so reuse the trick of subtracting in place.
      int64_t given = 0;
      // First pass: floors (store item minus floor share).
      for (size_t i = 0; i < n; ++i) {
        int64_t w = per_item_minor[i];
        int64_t share =
            base == 0 ? 0 : static_cast<int64_t>(static_cast<__int128>(discount) * w / base);
        given += share;
        per_item_minor[i] = w - share;
      }
      int64_t rest = discount - given;
      // Top-up pass: the item with the largest remainder pays one more unit. The
      // remainder of item i is (discount * w_i) mod base, with w_i = current + floor share.
      while (rest > 0) {
        size_t best = n;
        __int128 best_rem = -1;
        for (size_t i = 0; i < n; ++i) {
          const int64_t w = amount_of(order.items[i]);
          __int128 exact = static_cast<__int128>(discount) * w;
          __int128 floor_share = exact / base;
          if (per_item_minor[i] != w - floor_share) continue;  // already topped up
          __int128 rem = exact - floor_share * base;
          if (rem > best_rem && per_item_minor[i] > 0) {
            best_rem = rem;
            best = i;
          }
        }
        LOYALTY_ASSERT(best < n);
        --per_item_minor[best];
        --rest;
      }
    }
  }
  int64_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    const std::string_view category = order.items[i].category;
    for (const std::string& excluded : policy.excluded_categories) {
      if (category == excluded) {
        per_item_minor[i] = 0;
        break;
      }
    }
    total += per_item_minor[i];
  }
  if (policy.include_shipping) total += std::max<int64_t>(0, order.shipping_minor);
  if (policy.include_tax) total += std::max<int64_t>(0, order.tax_minor);
  return total;
}

int64_t points_to_reverse(std::span<const RefundLine> lines, std::span<int64_t> per_line_points) {
  LOYALTY_ASSERT(per_line_points.empty() || per_line_points.size() == lines.size());
  int64_t total = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const RefundLine& l = lines[i];
    int64_t reverse = 0;
    const int64_t left = l.awarded_points - l.already_reversed_points;
    if (left > 0 && l.refund_minor > 0) {
      const int64_t refunded = l.already_refunded_minor + l.refund_minor;
      int64_t target = 0;
      if (l.paid_minor <= 0 || refunded >= l.paid_minor) {
        target = l.awarded_points;
      } else {
        target =
            static_cast<int64_t>(static_cast<__int128>(l.awarded_points) * refunded / l.paid_minor);
      }
      reverse = std::clamp<int64_t>(target - l.already_reversed_points, 0, left);
    }
    if (!per_line_points.empty()) per_line_points[i] = reverse;
    total += reverse;
  }
  return total;
}

// ---- Periods ----

namespace {

// The local calendar day of `at` in `zone`.
date::sys_days local_day_of(const date::time_zone* zone, Instant at) {
  LOYALTY_ASSERT(zone != nullptr);
  const auto sys =
      date::sys_time<std::chrono::microseconds>(std::chrono::microseconds(at.micros_since_epoch));
  return date::sys_days(date::floor<date::days>(zone->to_local(sys)).time_since_epoch());
}

PeriodKey format_period(CapPeriod period, date::sys_days day) {
  PeriodKey key;
  auto put = [&key](std::string_view s) {
    for (char c : s) key.text[key.size++] = c;
  };
  auto put_number = [&key](int64_t v, int width) {
    std::array<char, 20> digits{};
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v > 0);
    for (int i = n; i < width; ++i) key.text[key.size++] = '0';
    while (n > 0) key.text[key.size++] = digits[--n];
  };
  const date::year_month_day ymd{day};
  switch (period) {
    case CapPeriod::kDay:
      put_number(static_cast<int>(ymd.year()), 4);
      put("-");
      put_number(static_cast<unsigned>(ymd.month()), 2);
      put("-");
      put_number(static_cast<unsigned>(ymd.day()), 2);
      break;
    case CapPeriod::kWeek: {
      const iso_week::year_weeknum_weekday iso{day};
      put_number(static_cast<int>(iso.year()), 4);
      put("-W");
      put_number(static_cast<unsigned>(iso.weeknum()), 2);
      break;
    }
    case CapPeriod::kMonth:
      put_number(static_cast<int>(ymd.year()), 4);
      put("-");
      put_number(static_cast<unsigned>(ymd.month()), 2);
      break;
    case CapPeriod::kYear:
      put_number(static_cast<int>(ymd.year()), 4);
      break;
    case CapPeriod::kLifetime:
      put("life");
      break;
  }
  return key;
}

}  // namespace

PeriodKey period_key(CapPeriod period, const date::time_zone* zone, Instant at) {
  if (period == CapPeriod::kLifetime) return format_period(period, date::sys_days{});
  return format_period(period, local_day_of(zone, at));
}

// ---- Compilation ----

std::span<const CompiledRule> CompiledConfig::rules_for(EarnTrigger trigger) const {
  const auto [begin, end] = trigger_ranges_[static_cast<size_t>(trigger)];
  return std::span<const CompiledRule>(rules_).subspan(begin, end - begin);
}

bool CompiledConfig::has_event_type(std::string_view type) const {
  for (const CompiledRule& r : rules_for(EarnTrigger::kEvent)) {
    if (rule(r).event_type == type) return true;
  }
  return false;
}

Result<std::shared_ptr<const CompiledConfig>> compile_config(const ProgramConfig& config,
                                                             int currency_exponent,
                                                             std::string_view timezone) {
  if (currency_exponent < 0 || currency_exponent > rules::kMaxCurrencyExponent) {
    return Status(ErrorCode::kInvalidConfig,
                  "currency exponent " + std::to_string(currency_exponent) + " is out of 0..6");
  }
  std::shared_ptr<CompiledConfig> out(new CompiledConfig());
  try {
    out->time_zone_ = date::locate_zone(timezone);
  } catch (const std::exception&) {
    return Status(ErrorCode::kInvalidConfig, "unknown time zone '" + std::string(timezone) + "'");
  }
  out->config_ = config;
  out->currency_exponent_ = currency_exponent;
  LOYALTY_ASSIGN_OR_RETURN(out->tiers_, compile_tiers(out->config_.tiers, currency_exponent));
  const auto& rules = out->config_.earn_rules;
  std::vector<CompiledRule> compiled;
  compiled.reserve(rules.size());
  for (size_t i = 0; i < rules.size(); ++i) {
    const EarnRule& rule = rules[i];
    CompiledRule c;
    c.document_index = static_cast<int>(i);
    const bool has_filter = !rule.item_filter.empty() && rule.trigger == EarnTrigger::kOrder;
    const rules::Environment whole = rule_environment(rule.trigger, currency_exponent, false);
    const rules::Environment per_item = rule_environment(rule.trigger, currency_exponent, true);
    LOYALTY_RETURN_IF_ERROR(compile_into(&c.condition, rule.condition, whole, rules::Type::kBool, i,
                                         rule, "condition"));
    if (rule.trigger == EarnTrigger::kOrder) {
      LOYALTY_RETURN_IF_ERROR(compile_into(&c.item_filter, rule.item_filter, per_item,
                                           rules::Type::kBool, i, rule, "item_filter"));
    }
    if (rule.kind == EarnKind::kFormula) {
      if (rule.formula.empty()) {
        return Status(ErrorCode::kInvalidConfig,
                      "earn_rules[" + std::to_string(i) + "] (" + rule.id + ").formula: required");
      }
      LOYALTY_RETURN_IF_ERROR(compile_into(
          &c.formula, rule.formula, has_filter ? per_item : whole,
          rules::TypeSet(rules::Type::kInt) | rules::Type::kDecimal, i, rule, "formula"));
    }
    if (rule.member_cap && !rule.member_cap->distinct_by.empty()) {
      LOYALTY_RETURN_IF_ERROR(compile_into(&c.distinct_by, rule.member_cap->distinct_by, whole,
                                           rules::TypeSet::any_value(), i, rule,
                                           "member_cap.distinct_by"));
    }
    compiled.push_back(std::move(c));
  }
  // Group by trigger, then evaluation order within each trigger.
  std::stable_sort(compiled.begin(), compiled.end(),
                   [&rules](const CompiledRule& a, const CompiledRule& b) {
                     const EarnRule& ra = rules[a.document_index];
                     const EarnRule& rb = rules[b.document_index];
                     if (ra.trigger != rb.trigger) return ra.trigger < rb.trigger;
                     if (ra.priority != rb.priority) return ra.priority > rb.priority;
                     if (phase_of(ra.kind) != phase_of(rb.kind)) {
                       return phase_of(ra.kind) < phase_of(rb.kind);
                     }
                     return a.document_index < b.document_index;
                   });
  out->rules_ = std::move(compiled);
  size_t pos = 0;
  for (size_t t = 0; t < out->trigger_ranges_.size(); ++t) {
    size_t begin = pos;
    while (pos < out->rules_.size() &&
           static_cast<size_t>(rules[out->rules_[pos].document_index].trigger) == t) {
      ++pos;
    }
    out->trigger_ranges_[t] = {begin, pos};
  }
  LOYALTY_ASSERT(pos == out->rules_.size());
  return std::shared_ptr<const CompiledConfig>(std::move(out));
}

// ---- Results ----

const char* to_string(SkipReason reason) {
  switch (reason) {
    case SkipReason::kNotApplicable:
      return "not_applicable";
    case SkipReason::kOutsideWindow:
      return "outside_window";
    case SkipReason::kExcluded:
      return "excluded_by_exclusive_rule";
    case SkipReason::kNotStackable:
      return "not_stackable";
    case SkipReason::kNotFirstOrder:
      return "not_first_order";
    case SkipReason::kBelowMinimum:
      return "below_minimum";
    case SkipReason::kConditionFalse:
      return "condition_false";
    case SkipReason::kConditionError:
      return "condition_error";
    case SkipReason::kNoMatchingItems:
      return "no_matching_items";
    case SkipReason::kFormulaError:
      return "formula_error";
    case SkipReason::kDistinctKeyError:
      return "distinct_key_error";
    case SkipReason::kZeroPoints:
      return "zero_points";
    case SkipReason::kMemberCapReached:
      return "member_cap_reached";
    case SkipReason::kGlobalCapReached:
      return "global_cap_reached";
    case SkipReason::kOrderLimitReached:
      return "order_limit_reached";
  }
  return "unknown";
}

void EarnResult::clear() {
  total_points = 0;
  eligible_spend_minor = 0;
  awards.clear();
  item_points.clear();
  skipped.clear();
  usage_increments.clear();
  item_eligible_minor.clear();
  item_total_points.clear();
  scratch_base_points.clear();
  scratch_multiplier_micros.clear();
  scratch_match.clear();
}

void EarnResult::reserve(size_t rule_count, size_t max_items) {
  awards.reserve(rule_count);
  item_points.reserve(rule_count * max_items);
  skipped.reserve(rule_count);
  usage_increments.reserve(rule_count * 2);
  item_eligible_minor.reserve(max_items);
  item_total_points.reserve(max_items);
  scratch_base_points.reserve(max_items);
  scratch_multiplier_micros.reserve(max_items);
  scratch_match.reserve(max_items);
}

// ---- Evaluation ----

namespace {

const UsageCounter* find_usage(CapUsage usage, const UsageKey& key) {
  for (const UsageCounter& c : usage) {
    if (c.key == key) return &c;
  }
  return nullptr;
}

// The period keys of the local day an evaluation runs in, remembered per thread
// across evaluations: nearly every evaluation of a thread falls on the day of
// the one before, and a time zone conversion (a binary search over the zone's
// transitions) plus the formatting of a week key cost ~6 % of an order's
// evaluation (measured with bench/earning_bench). The UTC offset is remembered
// with the interval it holds for, so a DST change is seen at its instant.
struct LocalDayCache {
  const date::time_zone* zone = nullptr;
  int64_t valid_from_us = 0;  // [valid_from_us, valid_until_us): the offset holds
  int64_t valid_until_us = 0;
  int64_t offset_us = 0;
  int64_t day = 0;  // days since 1970-01-01, local
  bool day_set = false;
  std::array<PeriodKey, 5> keys{};
  std::array<bool, 5> known{};
};
thread_local LocalDayCache t_local_day;

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Seconds of a sys_info bound as microseconds, saturated (the first and last
// intervals of a zone reach far beyond what int64 microseconds hold).
int64_t bound_micros(std::chrono::seconds s) {
  constexpr int64_t kLimit = std::numeric_limits<int64_t>::max() / 1'000'000;
  if (s.count() >= kLimit) return std::numeric_limits<int64_t>::max();
  if (s.count() <= -kLimit) return std::numeric_limits<int64_t>::min();
  return s.count() * 1'000'000;
}

const PeriodKey& cached_period_key(const date::time_zone* zone, Instant at, CapPeriod period) {
  LocalDayCache& c = t_local_day;
  const int64_t us = at.micros_since_epoch;
  if (c.zone != zone || us < c.valid_from_us || us >= c.valid_until_us) {
    LOYALTY_ASSERT(zone != nullptr);
    const auto info = zone->get_info(date::floor<std::chrono::seconds>(
        date::sys_time<std::chrono::microseconds>(std::chrono::microseconds(us))));
    c.zone = zone;
    c.valid_from_us = bound_micros(info.begin.time_since_epoch());
    c.valid_until_us = bound_micros(info.end.time_since_epoch());
    c.offset_us = info.offset.count() * 1'000'000;
    c.day_set = false;
  }
  const int64_t day = floor_div(us + c.offset_us, int64_t{86'400'000'000});
  if (!c.day_set || c.day != day) {
    c.day = day;
    c.day_set = true;
    c.known.fill(false);
  }
  const auto i = static_cast<size_t>(period);
  if (!c.known[i]) {
    c.keys[i] = format_period(period, date::sys_days(date::days(day)));
    c.known[i] = true;
  }
  return c.keys[i];
}

// The period keys of one evaluation (all at `now`).
class PeriodCache {
 public:
  PeriodCache(const date::time_zone* zone, Instant now) : zone_(zone), now_(now) {}
  PeriodKey get(CapPeriod p) const {
    if (p == CapPeriod::kLifetime) return format_period(p, date::sys_days{});
    return cached_period_key(zone_, now_, p);
  }

 private:
  const date::time_zone* zone_;
  Instant now_;
};

// The distinct key of a member cap: the string value of distinct_by (a key must
// be a view into the context, so only string-valued expressions can key a cap;
// anything else is reported as kInvalidConversion).
bool distinct_key_of(const CompiledRule& r, const rules::Context& ctx, std::string_view* key,
                     rules::EvalError* error) {
  *key = {};
  if (!r.distinct_by) return true;
  rules::EvalResult v = rules::evaluate(*r.distinct_by, ctx);
  if (!v.ok()) {
    *error = v.error;
    return false;
  }
  if (v.value.type != rules::Type::kString) {
    *error = rules::EvalError::kInvalidConversion;
    return false;
  }
  *key = v.value.text;
  return true;
}

void add_keys_for_rule(const CompiledConfig& config, const CompiledRule& r,
                       const rules::Context& ctx, PeriodCache& periods,
                       std::vector<UsageKey>* out) {
  const EarnRule& rule = config.rule(r);
  auto push = [out](const UsageKey& k) {
    if (std::find(out->begin(), out->end(), k) == out->end()) out->push_back(k);
  };
  if (rule.member_cap) {
    UsageKey k;
    k.scope = CapScope::kMember;
    k.rule_id = rule.id;
    k.period = periods.get(rule.member_cap->period);
    rules::EvalError error = rules::EvalError::kNone;
    if (distinct_key_of(r, ctx, &k.distinct_key, &error)) push(k);
  }
  if (rule.global_cap) {
    UsageKey k;
    k.scope = CapScope::kGlobal;
    k.rule_id = rule.id;
    k.period = periods.get(rule.global_cap->period);
    push(k);
  }
}

// Everything one evaluation carries along.
struct Evaluation {
  const CompiledConfig& config;
  const rules::Context& ctx;
  CapUsage usage;
  Instant now;
  EarnResult* out;
  PeriodCache periods;
  bool any_awarded = false;
  bool exclusive_awarded = false;
  int64_t max_total = 0;  // 0 = no limit
  // The member's tier's earn multiplier: set for order rules only (purchase
  // points, docs/tiers.md "Earn multiplier"); 1 for every other trigger.
  Decimal tier_multiplier = Decimal::from_int(1);

  void skip(const CompiledRule& r, SkipReason reason,
            rules::EvalError error = rules::EvalError::kNone) {
    const EarnRule& rule = config.rule(r);
    out->skipped.push_back(Skip{r.document_index, rule.id, reason, error});
  }

  // Checks every gate a rule passes before its points are computed. False = skipped.
  bool pre_checks(const CompiledRule& r, EarnTrigger trigger) {
    const EarnRule& rule = config.rule(r);
    if (!kind_applies(trigger, rule.kind)) return skip(r, SkipReason::kNotApplicable), false;
    if ((rule.starts_at && now < *rule.starts_at) || (rule.ends_at && now >= *rule.ends_at)) {
      return skip(r, SkipReason::kOutsideWindow), false;
    }
    if (exclusive_awarded) return skip(r, SkipReason::kExcluded), false;
    if (!rule.stackable && any_awarded) return skip(r, SkipReason::kNotStackable), false;
    if (trigger == EarnTrigger::kOrder) {
      if (rule.first_order_only && !ctx.order->is_first_order) {
        return skip(r, SkipReason::kNotFirstOrder), false;
      }
      if (rule.min_order_minor > 0 && out->eligible_spend_minor < rule.min_order_minor) {
        return skip(r, SkipReason::kBelowMinimum), false;
      }
    }
    if (r.condition) {
      rules::EvalResult detail;
      if (!rules::evaluate_condition(*r.condition, ctx, &detail)) {
        if (!detail.ok()) return skip(r, SkipReason::kConditionError, detail.error), false;
        return skip(r, SkipReason::kConditionFalse), false;
      }
    }
    return true;
  }

  // Applies caps and the order limit to `points` (> 0), then records the award
  // whose item shares are item_points[first_item, end). False = skipped (and the
  // item shares are dropped).
  bool finish_award(const CompiledRule& r, int64_t rule_points, uint32_t first_item) {
    const EarnRule& rule = config.rule(r);
    auto drop_items = [&] { out->item_points.resize(first_item); };
    // The item shares sum to rule_points; the tier multiplier scales the award.
    const int64_t points = tier_multiplier == Decimal::from_int(1) || rule_points <= 0
                               ? rule_points
                               : clamp_points(rounded_quotient<__int128>(
                                     static_cast<__int128>(rule_points) * tier_multiplier.micros,
                                     kMicros, config.config().earning.rounding));
    if (points <= 0) {
      drop_items();
      return skip(r, SkipReason::kZeroPoints), false;
    }
    int64_t allowed = points;
    UsageKey member_key;
    UsageKey global_key;
    if (rule.member_cap) {
      member_key.scope = CapScope::kMember;
      member_key.rule_id = rule.id;
      member_key.period = periods.get(rule.member_cap->period);
      rules::EvalError error = rules::EvalError::kNone;
      if (!distinct_key_of(r, ctx, &member_key.distinct_key, &error)) {
        drop_items();
        return skip(r, SkipReason::kDistinctKeyError, error), false;
      }
      const UsageCounter* used = find_usage(usage, member_key);
      const int64_t awards = used ? used->awards : 0;
      const int64_t used_points = used ? used->points : 0;
      const EarnCap& cap = *rule.member_cap;
      if ((cap.max_awards > 0 && awards >= cap.max_awards) ||
          (cap.max_points > 0 && used_points >= cap.max_points)) {
        drop_items();
        return skip(r, SkipReason::kMemberCapReached), false;
      }
      if (cap.max_points > 0) allowed = std::min(allowed, cap.max_points - used_points);
    }
    if (rule.global_cap) {
      global_key.scope = CapScope::kGlobal;
      global_key.rule_id = rule.id;
      global_key.period = periods.get(rule.global_cap->period);
      const UsageCounter* used = find_usage(usage, global_key);
      const int64_t awards = used ? used->awards : 0;
      const int64_t used_points = used ? used->points : 0;
      const EarnCap& cap = *rule.global_cap;
      if ((cap.max_awards > 0 && awards >= cap.max_awards) ||
          (cap.max_points > 0 && used_points >= cap.max_points)) {
        drop_items();
        return skip(r, SkipReason::kGlobalCapReached), false;
      }
      if (cap.max_points > 0) allowed = std::min(allowed, cap.max_points - used_points);
    }
    if (max_total > 0) {
      if (out->total_points >= max_total) {
        drop_items();
        return skip(r, SkipReason::kOrderLimitReached), false;
      }
      allowed = std::min(allowed, max_total - out->total_points);
    }
    const auto item_count = static_cast<uint32_t>(out->item_points.size() - first_item);
    if (allowed != rule_points && item_count > 0) {
      // Scale the item shares to `allowed`, in proportion, exactly. The
      // shares are the weights; scratch_base_points (one slot per order item)
      // gets the weights and the new parts appended, and is restored after.
      auto& tmp = out->scratch_base_points;
      const size_t base = tmp.size();
      for (uint32_t i = 0; i < item_count; ++i) {
        tmp.push_back(out->item_points[first_item + i].points);
      }
      for (uint32_t i = 0; i < item_count; ++i) tmp.push_back(0);
      distribute<int64_t>(allowed, std::span<const int64_t>(tmp.data() + base, item_count),
                          std::span<int64_t>(tmp.data() + base + item_count, item_count));
      for (uint32_t i = 0; i < item_count; ++i) {
        out->item_points[first_item + i].points = tmp[base + item_count + i];
      }
      tmp.resize(base);
    }
    // Built in place: a stack copy pushed back costs a store-forwarding stall
    // per award (measured: ~8 % of evaluate_order).
    Award& a = out->awards.emplace_back();
    a.rule_index = r.document_index;
    a.rule_id = rule.id;
    a.rule_name = rule.name;
    a.kind = rule.kind;
    a.points = allowed;
    a.pending_days = rule.pending_days;
    a.capped = allowed < points;
    a.first_item = first_item;
    a.item_count = item_count;
    out->total_points += allowed;
    for (uint32_t i = 0; i < item_count; ++i) {
      const ItemPoints& ip = out->item_points[first_item + i];
      out->item_total_points[static_cast<size_t>(ip.item_index)] += ip.points;
    }
    if (rule.member_cap) out->usage_increments.push_back(UsageCounter{member_key, 1, allowed});
    if (rule.global_cap) out->usage_increments.push_back(UsageCounter{global_key, 1, allowed});
    any_awarded = true;
    if (rule.exclusive) exclusive_awarded = true;
    return true;
  }

  // Marks the items matching the rule's item filter in scratch_match (all items
  // when it has none). Returns the number matching.
  size_t match_items(const CompiledRule& r) {
    const auto items = ctx.order->items;
    auto& match = out->scratch_match;
    match.assign(items.size(), 1);
    if (!r.item_filter) return items.size();
    return rules::evaluate_item_filter(*r.item_filter, ctx, items, match);
  }

  // Appends item shares of `points` over the matching items, weighted by their
  // eligible spend (by quantity when that is all zero).
  void share_over_matching(int64_t points) {
    const auto items = ctx.order->items;
    const auto& match = out->scratch_match;
    constexpr size_t kStackItems = 16;
    if (items.size() <= kStackItems) {
      // Orders have a few items: weights and parts on the stack, and no
      // division at all when one item matches.
      // Not zeroed: only [0, count) is read.
      std::array<int64_t, kStackItems> weights;  // NOLINT(cppcoreguidelines-pro-type-member-init)
      std::array<int64_t, kStackItems> parts;    // NOLINT(cppcoreguidelines-pro-type-member-init)
      std::array<int32_t, kStackItems> index;    // NOLINT(cppcoreguidelines-pro-type-member-init)
      size_t count = 0;
      int64_t eligible_sum = 0;
      for (size_t i = 0; i < items.size(); ++i) {
        if (!match[i]) continue;
        index[count] = static_cast<int32_t>(i);
        weights[count] = out->item_eligible_minor[i];
        eligible_sum += weights[count];
        ++count;
      }
      if (count == 0) return;
      if (count == 1) {
        out->item_points.push_back(ItemPoints{index[0], points});
        return;
      }
      if (eligible_sum <= 0) {
        for (size_t k = 0; k < count; ++k) {
          weights[k] = std::max<int64_t>(0, items[static_cast<size_t>(index[k])].quantity);
        }
      }
      distribute<int64_t>(points, std::span<const int64_t>(weights.data(), count),
                          std::span<int64_t>(parts.data(), count));
      for (size_t k = 0; k < count; ++k) out->item_points.push_back(ItemPoints{index[k], parts[k]});
      return;
    }
    auto& weights = out->scratch_base_points;  // temporarily extended, restored below
    const size_t base = weights.size();
    int64_t eligible_sum = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      if (match[i]) eligible_sum += out->item_eligible_minor[i];
    }
    for (size_t i = 0; i < items.size(); ++i) {
      if (!match[i]) continue;
      weights.push_back(eligible_sum > 0 ? out->item_eligible_minor[i]
                                         : std::max<int64_t>(0, items[i].quantity));
    }
    const size_t count = weights.size() - base;
    for (size_t i = 0; i < count; ++i) weights.push_back(0);
    distribute<int64_t>(points, std::span<const int64_t>(weights.data() + base, count),
                        std::span<int64_t>(weights.data() + base + count, count));
    size_t k = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      if (!match[i]) continue;
      out->item_points.push_back(ItemPoints{static_cast<int32_t>(i), weights[base + count + k]});
      ++k;
    }
    weights.resize(base);
  }

  void order_rule(const CompiledRule& r) {
    const EarnRule& rule = config.rule(r);
    if (!pre_checks(r, EarnTrigger::kOrder)) return;
    const auto items = ctx.order->items;
    const uint32_t first_item = static_cast<uint32_t>(out->item_points.size());
    const RoundingMode rounding = config.config().earning.rounding;
    const size_t matching = match_items(r);
    if (r.item_filter && matching == 0) return skip(r, SkipReason::kNoMatchingItems);
    const auto& match = out->scratch_match;
    int64_t points = 0;
    switch (rule.kind) {
      case EarnKind::kSpend: {
        // Whole order: the eligible spend with shipping/tax; filtered: the items'.
        int64_t spend = 0;
        if (r.item_filter) {
          for (size_t i = 0; i < items.size(); ++i) {
            if (match[i]) spend += out->item_eligible_minor[i];
          }
        } else {
          spend = out->eligible_spend_minor;
        }
        const __int128 numerator = static_cast<__int128>(spend) * rule.points_per_unit.micros;
        const __int128 denominator =
            static_cast<__int128>(pow10(config.currency_exponent())) * kMicros;
        // denominator <= 10^6 * 10^6 fits in int64.
        points =
            clamp_points(round_quotient(numerator, static_cast<int64_t>(denominator), rounding));
        if (points <= 0) return skip(r, SkipReason::kZeroPoints);
        share_over_matching(points);
        break;
      }
      case EarnKind::kMultiplier: {
        // Extra points: base_i * (M - current_i) over items whose current
        // multiplier is below M; rounded once for the rule.
        const int64_t m = rule.multiplier.micros;
        auto& base = out->scratch_base_points;
        auto& current = out->scratch_multiplier_micros;
        __int128 numerator = 0;
        for (size_t i = 0; i < items.size(); ++i) {
          if (match[i] && m > current[i] && base[i] > 0) {
            numerator += static_cast<__int128>(base[i]) * (m - current[i]);
          }
        }
        points = clamp_points(round_quotient(numerator, kMicros, rounding));
        if (points <= 0) return skip(r, SkipReason::kZeroPoints);
        // Shares weighted by each item's exact extra (in micro-points, clamped
        // to int64 for absurd orders).
        const size_t mark = base.size();
        size_t count = 0;
        for (size_t i = 0; i < items.size(); ++i) {
          if (match[i] && m > current[i] && base[i] > 0) {
            const __int128 w = static_cast<__int128>(base[i]) * (m - current[i]);
            base.push_back(
                static_cast<int64_t>(std::min<__int128>(w, std::numeric_limits<int64_t>::max())));
            ++count;
          }
        }
        for (size_t i = 0; i < count; ++i) base.push_back(0);
        distribute<int64_t>(points, std::span<const int64_t>(base.data() + mark, count),
                            std::span<int64_t>(base.data() + mark + count, count));
        size_t k = 0;
        for (size_t i = 0; i < items.size(); ++i) {
          if (match[i] && m > current[i] && base[i] > 0) {
            out->item_points.push_back(ItemPoints{static_cast<int32_t>(i), base[mark + count + k]});
            ++k;
          }
        }
        base.resize(mark);
        if (!finish_award(r, points, first_item)) return;
        for (size_t i = 0; i < items.size(); ++i) {
          if (match[i] && m > current[i] && base[i] > 0) current[i] = m;
        }
        return;
      }
      case EarnKind::kFixed: {
        if (r.item_filter && rule.per_unit) {
          __int128 total = 0;
          for (size_t i = 0; i < items.size(); ++i) {
            if (!match[i] || items[i].quantity <= 0) continue;
            const int64_t p = clamp_points(static_cast<__int128>(rule.points) * items[i].quantity);
            out->item_points.push_back(ItemPoints{static_cast<int32_t>(i), p});
            total += p;
          }
          points = clamp_points(total);
        } else {
          points = rule.points;
          if (points > 0) share_over_matching(points);
        }
        break;
      }
      case EarnKind::kFormula: {
        if (r.item_filter) {
          __int128 total = 0;
          rules::Context item_ctx = ctx;
          for (size_t i = 0; i < items.size(); ++i) {
            if (!match[i]) continue;
            item_ctx.item = &items[i];
            rules::EvalResult v = rules::evaluate(*r.formula, item_ctx);
            if (!v.ok()) {
              out->item_points.resize(first_item);
              return skip(r, SkipReason::kFormulaError, v.error);
            }
            const int64_t p = formula_points(v.value, rounding);
            if (p > 0) out->item_points.push_back(ItemPoints{static_cast<int32_t>(i), p});
            total += p;
          }
          points = clamp_points(total);
        } else {
          rules::EvalResult v = rules::evaluate(*r.formula, ctx);
          if (!v.ok()) return skip(r, SkipReason::kFormulaError, v.error);
          points = formula_points(v.value, rounding);
          if (points > 0) share_over_matching(points);
        }
        break;
      }
    }
    if (!finish_award(r, points, first_item)) return;
    if (rule.kind == EarnKind::kSpend) {
      const Award& a = out->awards.back();
      for (uint32_t i = 0; i < a.item_count; ++i) {
        const ItemPoints& ip = out->item_points[a.first_item + i];
        out->scratch_base_points[static_cast<size_t>(ip.item_index)] += ip.points;
      }
    }
  }

  static int64_t formula_points(const rules::Value& v, RoundingMode rounding) {
    if (v.type == rules::Type::kDecimal)
      return clamp_points(round_quotient(v.number, kMicros, rounding));
    return clamp_points(v.number);
  }

  // Fixed and formula rules of the non-order triggers.
  void simple_rule(const CompiledRule& r, EarnTrigger trigger) {
    const EarnRule& rule = config.rule(r);
    if (!pre_checks(r, trigger)) return;
    const auto first_item = static_cast<uint32_t>(out->item_points.size());
    int64_t points = 0;
    if (rule.kind == EarnKind::kFixed) {
      points = rule.points;
    } else {
      rules::EvalResult v = rules::evaluate(*r.formula, ctx);
      if (!v.ok()) return skip(r, SkipReason::kFormulaError, v.error);
      points = formula_points(v.value, config.config().earning.rounding);
    }
    finish_award(r, points, first_item);
  }
};

void start(EarnResult* out, const CompiledConfig& config) {
  out->clear();
  (void)config;
}

}  // namespace

void usage_keys_for(EarnTrigger trigger, const CompiledConfig& config, const rules::Context& ctx,
                    Instant now, std::vector<UsageKey>* out) {
  PeriodCache periods(config.time_zone(), now);
  for (const CompiledRule& r : config.rules_for(trigger)) {
    const EarnRule& rule = config.rule(r);
    if (!rule.member_cap && !rule.global_cap) continue;
    if (trigger == EarnTrigger::kEvent &&
        (ctx.event == nullptr || rule.event_type != ctx.event->type)) {
      continue;
    }
    add_keys_for_rule(config, r, ctx, periods, out);
  }
}

void usage_keys_for_order(const CompiledConfig& config, const rules::Context& ctx, Instant now,
                          std::vector<UsageKey>* out) {
  usage_keys_for(EarnTrigger::kOrder, config, ctx, now, out);
}

void usage_keys_for_event(const CompiledConfig& config, const rules::Context& ctx, Instant now,
                          std::vector<UsageKey>* out) {
  usage_keys_for(EarnTrigger::kEvent, config, ctx, now, out);
}

void evaluate_order(const CompiledConfig& config, const rules::Context& ctx, CapUsage usage,
                    Instant now, EarnResult* out) {
  LOYALTY_ASSERT(ctx.order != nullptr);
  start(out, config);
  const size_t n = ctx.order->items.size();
  out->item_eligible_minor.resize(n);
  out->item_total_points.assign(n, 0);
  out->scratch_base_points.assign(n, 0);
  out->scratch_multiplier_micros.assign(n, kMicros);
  out->eligible_spend_minor =
      eligible_spend(config.config().earning.eligible_spend, *ctx.order, out->item_eligible_minor);
  // Expressions read order.eligible_spend as the policy computed it (a copy of
  // the views on the stack: no allocation).
  rules::OrderView order = *ctx.order;
  order.eligible_spend_minor = out->eligible_spend_minor;
  rules::Context with_spend = ctx;
  with_spend.order = &order;
  Evaluation ev{config, with_spend, usage, now, out, PeriodCache(config.time_zone(), now)};
  ev.max_total = config.config().earning.max_points_per_order;
  if (ctx.member != nullptr) {
    ev.tier_multiplier = tier_earn_multiplier(config.config().tiers, ctx.member->tier);
  }
  for (const CompiledRule& r : config.rules_for(EarnTrigger::kOrder)) ev.order_rule(r);
  LOYALTY_ASSERT(ev.max_total == 0 || out->total_points <= ev.max_total);
}

namespace {
void evaluate_simple(EarnTrigger trigger, const CompiledConfig& config, const rules::Context& ctx,
                     CapUsage usage, Instant now, EarnResult* out) {
  start(out, config);
  Evaluation ev{config, ctx, usage, now, out, PeriodCache(config.time_zone(), now)};
  ev.max_total = config.config().earning.max_points_per_order;
  for (const CompiledRule& r : config.rules_for(trigger)) {
    if (trigger == EarnTrigger::kEvent && config.rule(r).event_type != ctx.event->type) continue;
    ev.simple_rule(r, trigger);
  }
}
}  // namespace

Status evaluate_event(const CompiledConfig& config, const rules::Context& ctx, CapUsage usage,
                      Instant now, EarnResult* out) {
  LOYALTY_ASSERT(ctx.event != nullptr);
  if (!config.has_event_type(ctx.event->type)) {
    out->clear();
    return Status(ErrorCode::kUnknownEventType,
                  "no earn rule of the active configuration handles events of type '" +
                      std::string(ctx.event->type) + "'");
  }
  evaluate_simple(EarnTrigger::kEvent, config, ctx, usage, now, out);
  return {};
}

void evaluate_signup(const CompiledConfig& config, const rules::Context& ctx, CapUsage usage,
                     Instant now, EarnResult* out) {
  evaluate_simple(EarnTrigger::kSignup, config, ctx, usage, now, out);
}

void evaluate_birthday(const CompiledConfig& config, const rules::Context& ctx, CapUsage usage,
                       Instant now, EarnResult* out) {
  evaluate_simple(EarnTrigger::kBirthday, config, ctx, usage, now, out);
}

void evaluate_anniversary(const CompiledConfig& config, const rules::Context& ctx, CapUsage usage,
                          Instant now, EarnResult* out) {
  evaluate_simple(EarnTrigger::kAnniversary, config, ctx, usage, now, out);
}

}  // namespace loyalty
