// Earn-rule evaluation: which rules of a program's configuration fire for an
// order, a custom event, a signup, a birthday or an anniversary, and how many
// points each awards. Pure: no I/O, no clock (`now` is passed in).
//
// Two steps, both without heap allocation once the output vectors have capacity:
//
//   auto compiled = compile_config(config, currency_exponent, "Europe/Berlin");   // once per
//   version usage_keys_for_order(**compiled, ctx, now, &keys);   // the cap counters the rules need
//   ... the caller reads those counters from the store (rule_usage) into `usage` ...
//   evaluate_order(**compiled, ctx, usage, now, &result);
//   ... the caller credits result.total_points and adds result.usage_increments ...
//
// Evaluation order. The rules of one trigger are evaluated by priority (higher
// first); at equal priority spend rules come before multiplier rules (so a
// multiplier sees the points of the spend rules it multiplies), then fixed and
// formula rules; at equal priority and phase, in document order. Along that order:
//   - an `exclusive` rule that awards stops every later rule (reason kExcluded);
//   - a rule with stackable = false does not award when an earlier rule awarded
//     (reason kNotStackable);
//   - a multiplier multiplies the points that earlier spend rules gave the items
//     matching its item_filter; when several multipliers match an item the
//     largest applies (a later, larger multiplier awards the difference);
//   - on orders, the member's tier multiplies every award (ctx.member->tier's
//     benefits.earn_multiplier, rounded per the policy, docs/tiers.md) before
//     its caps; event, signup, birthday and anniversary awards are not
//     multiplied (their rules may read member.tier);
//   - caps, then max_points_per_order, can reduce an award (Award::capped) or
//     stop it (kMemberCapReached, kGlobalCapReached, kOrderLimitReached).
// docs/earning.md has worked examples of every rule kind.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/time.h"
#include "domain/program_config.h"
#include "domain/rules/context.h"
#include "domain/rules/rules.h"
#include "domain/tiers.h"

namespace date {
class time_zone;
}

namespace loyalty {

// ---- Compiled configuration ----

struct CompiledRule {
  int document_index = 0;  // index into ProgramConfig::earn_rules
  std::optional<rules::Expression> condition;
  std::optional<rules::Expression> item_filter;  // over `item`
  std::optional<rules::Expression> formula;      // over `item` when item_filter is set
  std::optional<rules::Expression> distinct_by;  // member_cap->distinct_by
};

// A ProgramConfig with every rule's expressions compiled, and the rules of each
// trigger in evaluation order. Immutable once built; share it between threads.
class CompiledConfig {
 public:
  CompiledConfig(const CompiledConfig&) = delete;
  CompiledConfig& operator=(const CompiledConfig&) = delete;

  const ProgramConfig& config() const { return config_; }
  int currency_exponent() const { return currency_exponent_; }
  const date::time_zone* time_zone() const { return time_zone_; }
  // The rules of `trigger`, in evaluation order (see the top of this file).
  std::span<const CompiledRule> rules_for(EarnTrigger trigger) const;
  const EarnRule& rule(const CompiledRule& r) const { return config_.earn_rules[r.document_index]; }
  // Whether any event rule names this event type (otherwise kUnknownEventType).
  bool has_event_type(std::string_view type) const;
  // The tier configuration with its metric expression compiled (domain/tiers.h).
  const CompiledTiers& tiers() const { return tiers_; }

 private:
  friend Result<std::shared_ptr<const CompiledConfig>> compile_config(const ProgramConfig&, int,
                                                                      std::string_view);
  CompiledConfig() = default;
  ProgramConfig config_;
  int currency_exponent_ = 2;
  const date::time_zone* time_zone_ = nullptr;
  CompiledTiers tiers_;
  std::vector<CompiledRule> rules_;  // grouped by trigger, each group in evaluation order
  std::array<std::pair<size_t, size_t>, 5> trigger_ranges_{};  // [begin, end) per EarnTrigger
};

// Compiles every condition, item filter, formula and distinct_by of `config`.
// Fails with kInvalidConfig naming the rule and the expression's error
// ("earn_rules[2] (double-shoes).item_filter: 1:6: unknown field 'categry'"),
// or an unknown time zone / currency exponent out of 0..6.
Result<std::shared_ptr<const CompiledConfig>> compile_config(const ProgramConfig& config,
                                                             int currency_exponent,
                                                             std::string_view timezone);

// ---- Cap usage ----

// The calendar period of a cap that contains an instant, in the program's time
// zone: "2026-11-23" (day), "2026-W48" (ISO week: Monday to Sunday, ISO
// week-numbering year), "2026-11" (month), "2026" (year), "life" (lifetime).
struct PeriodKey {
  std::array<char, 12> text{};
  uint8_t size = 0;
  std::string_view view() const { return {text.data(), size}; }
  friend bool operator==(const PeriodKey& a, const PeriodKey& b) { return a.view() == b.view(); }
};
PeriodKey period_key(CapPeriod period, const date::time_zone* zone, Instant at);

enum class CapScope : uint8_t { kMember, kGlobal };

// One usage counter of a rule's cap: a row of the store's rule_usage table
// (member_id = 0 for kGlobal). The string_views point into the CompiledConfig
// (rule_id) and the evaluation context (distinct_key): copy them before either dies.
struct UsageKey {
  CapScope scope = CapScope::kMember;
  std::string_view rule_id;
  PeriodKey period;
  std::string_view distinct_key;  // always empty for kGlobal
  friend bool operator==(const UsageKey& a, const UsageKey& b) {
    return a.scope == b.scope && a.rule_id == b.rule_id && a.period == b.period &&
           a.distinct_key == b.distinct_key;
  }
};
struct UsageCounter {
  UsageKey key;
  int64_t awards = 0;
  int64_t points = 0;
};
// The current value of every counter the evaluation may consult (from
// usage_keys_for_*); a counter that is absent counts as zero.
using CapUsage = std::span<const UsageCounter>;

// Appends to *out the cap counters the rules of the trigger may consult for this
// context at `now` (deduplicated). A rule whose distinct_by fails to evaluate
// needs no counter (it will not award: kDistinctKeyError).
void usage_keys_for_order(const CompiledConfig& config, const rules::Context& ctx, Instant now,
                          std::vector<UsageKey>* out);
void usage_keys_for_event(const CompiledConfig& config, const rules::Context& ctx, Instant now,
                          std::vector<UsageKey>* out);
void usage_keys_for(EarnTrigger trigger, const CompiledConfig& config, const rules::Context& ctx,
                    Instant now, std::vector<UsageKey>* out);

// ---- Results ----

// Why a rule did not award. Listed in the order they are checked.
enum class SkipReason : uint8_t {
  kNotApplicable,      // the kind means nothing for the trigger (spend rule on an event)
  kOutsideWindow,      // now is not in [starts_at, ends_at)
  kExcluded,           // an earlier exclusive rule awarded
  kNotStackable,       // stackable = false and an earlier rule awarded
  kNotFirstOrder,      // first_order_only and the member ordered before
  kBelowMinimum,       // eligible spend below min_order_minor
  kConditionFalse,     // the condition is false
  kConditionError,     // the condition failed to evaluate (see Skip::eval_error)
  kNoMatchingItems,    // item_filter matched no item
  kFormulaError,       // the formula failed to evaluate
  kDistinctKeyError,   // distinct_by failed to evaluate
  kZeroPoints,         // the rule computed 0 points
  kMemberCapReached,   // the member's cap for the period is used up
  kGlobalCapReached,   // the program-wide cap for the period is used up
  kOrderLimitReached,  // max_points_per_order is reached
};
const char* to_string(SkipReason reason);

// Points one award gave one order item (for proportional reversal on refunds).
struct ItemPoints {
  int32_t item_index = 0;  // into OrderView::items
  int64_t points = 0;
};

struct Award {
  int32_t rule_index = 0;  // into ProgramConfig::earn_rules
  std::string_view rule_id;
  std::string_view rule_name;
  EarnKind kind = EarnKind::kFixed;
  int64_t points = 0;  // > 0
  int pending_days = 0;
  bool capped = false;  // reduced by a cap or max_points_per_order
  // This award's share per item: EarnResult::item_points[first_item, first_item + item_count).
  // Empty for non-order triggers. The shares sum to `points`.
  uint32_t first_item = 0;
  uint32_t item_count = 0;
};

struct Skip {
  int32_t rule_index = 0;
  std::string_view rule_id;
  SkipReason reason = SkipReason::kConditionFalse;
  rules::EvalError eval_error = rules::EvalError::kNone;  // for the *Error reasons
};

struct EarnResult {
  int64_t total_points = 0;
  std::vector<Award> awards;  // in evaluation order
  std::vector<ItemPoints> item_points;
  std::vector<Skip> skipped;  // every rule of the trigger that did not award, in evaluation order
  // What the caller adds to the rule_usage counters (awards = 1 and the points,
  // per awarding rule with a cap, member and global counters).
  std::vector<UsageCounter> usage_increments;
  // Per order item: its eligible spend (minor units) and the points all awards gave it.
  std::vector<int64_t> item_eligible_minor;
  std::vector<int64_t> item_total_points;
  int64_t eligible_spend_minor = 0;  // the order's, including shipping/tax per the policy

  void clear();
  // Gives every vector room for a program with `rule_count` rules and orders of
  // up to `max_items` items, so that evaluation allocates nothing.
  void reserve(size_t rule_count, size_t max_items);

  // Scratch for the evaluation (per item), kept here so evaluation does not allocate.
  std::vector<int64_t> scratch_base_points;
  std::vector<int64_t> scratch_multiplier_micros;
  std::vector<uint8_t> scratch_match;
};

// What the expressions of a rule with this trigger may read: order rules read
// the order (and, per_item, the item: item filters and per-item formulas),
// event rules the event, every rule the member, the program and now. The
// config document's validation and compile_config use this one definition.
rules::Environment rule_environment(EarnTrigger trigger, int currency_exponent, bool per_item);

// ---- Evaluation ----

// An order that became paid. ctx.order (and ctx.member, ctx.program) must be
// set; ctx.item is ignored. The eligible spend is computed here from the
// order's items per config.earning.eligible_spend (see eligible_spend below).
void evaluate_order(const CompiledConfig& config, const rules::Context& ctx, CapUsage usage,
                    Instant now, EarnResult* out);
// A custom event: ctx.event must be set. kUnknownEventType when no event rule of
// the config names ctx.event->type (whatever its window or condition).
Status evaluate_event(const CompiledConfig& config, const rules::Context& ctx, CapUsage usage,
                      Instant now, EarnResult* out);
// Signup, birthday, anniversary: ctx.member must be set.
void evaluate_signup(const CompiledConfig& config, const rules::Context& ctx, CapUsage usage,
                     Instant now, EarnResult* out);
void evaluate_birthday(const CompiledConfig& config, const rules::Context& ctx, CapUsage usage,
                       Instant now, EarnResult* out);
void evaluate_anniversary(const CompiledConfig& config, const rules::Context& ctx, CapUsage usage,
                          Instant now, EarnResult* out);

// ---- Arithmetic shared with orders and refunds ----

// Eligible spend per item (into per_item_minor, one per order item) and in total
// (the return value, with shipping and tax when the policy includes them):
// item total (after the item's own discount), minus its share of the order-level
// discount (order.discount_minor, shared pro rata to item totals by largest
// remainder so the shares sum exactly) when after_discounts, zero for items of
// an excluded category, never below zero.
int64_t eligible_spend(const EligibleSpendPolicy& policy, const rules::OrderView& order,
                       std::span<int64_t> per_item_minor);

// Splits `total` (>= 0) into parts proportional to `weights` (>= 0) by the
// largest-remainder method: parts sum to exactly `total`; ties go to the lower
// index. All-zero weights split by equal weights. Empty weights need total == 0.
void distribute_largest_remainder(int64_t total, std::span<const int64_t> weights,
                                  std::span<int64_t> parts);

// numerator / denominator rounded per the mode (denominator > 0; 128-bit numerator).
int64_t round_quotient(__int128 numerator, int64_t denominator, RoundingMode mode);

// One order line for a refund: what it earned and what was paid and refunded.
struct RefundLine {
  int64_t awarded_points = 0;  // points the line earned (EarnResult::item_total_points)
  int64_t already_reversed_points = 0;
  int64_t paid_minor = 0;  // what was paid for the line
  int64_t already_refunded_minor = 0;
  int64_t refund_minor = 0;  // refunded now
};
// Points to reverse for a refund, in total; per line the cumulative reversal is
// floor(awarded * refunded_so_far / paid) (all of it when fully refunded), so
// successive partial refunds never drift and never reverse more than awarded.
// per_line_points (optional, one per line) receives each line's part.
int64_t points_to_reverse(std::span<const RefundLine> lines,
                          std::span<int64_t> per_line_points = {});

}  // namespace loyalty
