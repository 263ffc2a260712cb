// Tiers: which tier a member's metric qualifies for, when a tier changes, and
// how far the next one is (docs/tiers.md). Pure: no I/O, no clock (`now` is
// passed in); every date is in the program's time zone (a date::time_zone*).
//
// The metric is kept per member in month buckets (MetricBucket, one per local
// calendar month in the program's time zone). A window is a range of months:
// the calendar year is its 12 months, a rolling window of N months the current
// month and the N-1 before it, lifetime all of them. So an order adds to one
// bucket, a refund subtracts from the bucket of its order, and a window that
// slides drops whole buckets: nothing is ever recounted from orders.
//
//   TierMetrics m = sum_window(config.tiers.window, buckets, month_of(zone, now));
//   int64_t value = metric_value(compiled_tiers, m);
//   TierDecision d = decide_on_event(config.tiers, state, value, zone, now);
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/time.h"
#include "domain/program_config.h"
#include "domain/rules/rules.h"

namespace date {
class time_zone;
}

namespace loyalty {

// ---- Months and windows ----

// A local calendar month as year * 12 + (month - 1): consecutive months are
// consecutive numbers, so a window is an integer range.
struct MonthIndex {
  int32_t value = 0;
  static constexpr MonthIndex of(int year, int month) { return MonthIndex{year * 12 + month - 1}; }
  int year() const { return value / 12; }
  int month() const { return value % 12 + 1; }  // 1..12
  friend constexpr auto operator<=>(MonthIndex, MonthIndex) = default;
};

// The month containing `at` in the zone (nullptr = UTC).
MonthIndex month_of(const date::time_zone* zone, Instant at);
// The first instant of the month (local midnight of its first day).
Instant month_start(const date::time_zone* zone, MonthIndex month);

// What is counted for tiers, per member: a month bucket or a window's sum.
struct TierMetrics {
  int64_t spend_minor = 0;  // eligible spend of paid orders, net of refunds
  int64_t points = 0;       // points earned by orders, net of reversals
  int64_t orders = 0;       // paid orders, less those fully refunded or cancelled
  friend bool operator==(const TierMetrics&, const TierMetrics&) = default;
  TierMetrics& operator+=(const TierMetrics& o) {
    spend_minor += o.spend_minor;
    points += o.points;
    orders += o.orders;
    return *this;
  }
};
struct MetricBucket {
  MonthIndex month;
  TierMetrics metrics;
};

// The months [first, last] of the window that contains `month`; for lifetime
// first is MonthIndex{INT32_MIN}.
struct WindowMonths {
  MonthIndex first;
  MonthIndex last;
};
WindowMonths window_months(const TierWindow& window, MonthIndex month);
// The sum of the buckets inside the window containing `month`.
TierMetrics sum_window(const TierWindow& window, std::span<const MetricBucket> buckets,
                       MonthIndex month);
// The end (exclusive) of the qualification period containing `at`: the next New
// Year for a calendar year, the end of the month for a rolling window (when the
// oldest month leaves it), nullopt for lifetime (no period ends).
std::optional<Instant> period_end(const TierWindow& window, const date::time_zone* zone,
                                  Instant at);
// The start of the period containing `at`, which is the end of the period
// before it: the last period end at or before `at` (nullopt for lifetime). The
// period-end job evaluates every member once per such instant.
std::optional<Instant> period_start(const TierWindow& window, const date::time_zone* zone,
                                    Instant at);
// The end of the `periods`-th period after the one containing `at` (0 = that
// period's own end): how long a tier earned at `at` is guaranteed.
std::optional<Instant> guaranteed_until(const TierWindow& window, const date::time_zone* zone,
                                        Instant at, int periods);

// ---- The metric ----

// What a tier expression reads: member.total_spent, member.lifetime_earned and
// member.orders_count, each counted over the window (docs/tiers.md).
rules::Environment tier_expression_environment(int currency_exponent);

// The tier configuration with its expression compiled (once per version).
struct CompiledTiers {
  const TierConfig* config = nullptr;  // outlives this
  std::optional<rules::Expression> expression;
};
Result<CompiledTiers> compile_tiers(const TierConfig& config, int currency_exponent);

// The metric value the thresholds are compared with. An expression that fails
// to evaluate (overflow, division by zero) counts as 0: it qualifies for nothing.
int64_t metric_value(const CompiledTiers& tiers, const TierMetrics& metrics);

// ---- Decisions ----

// The index into config.levels of the highest tier whose threshold `value`
// reaches, invite-only tiers aside (the metric never reaches them); -1 when
// none (no tier: member.tier is "").
int qualifying_level(const TierConfig& config, int64_t value);
int level_index(const TierConfig& config, std::string_view tier_id);  // -1 when unknown
// The higher of two tier ids ("" = none; an unknown id counts as none): a
// member's effective tier is the higher of the tier they hold and the one a
// paid plan grants (docs/tiers.md, "Paid membership").
const std::string& higher_tier(const TierConfig& config, const std::string& a,
                               const std::string& b);
// Whether `level` (an index into config.levels, -1 = none) is invite-only (VIP).
bool is_invite_only(const TierConfig& config, int level);

enum class TierSource { kEarned, kManual };
const char* to_string(TierSource source);
std::optional<TierSource> parse_tier_source(std::string_view text);

// A member's tier as stored (table member_tiers). tier_id "" = no tier.
struct MemberTierState {
  std::string tier_id;
  Instant since;
  std::optional<Instant> guaranteed_until;  // unset: until the next evaluation says otherwise
  TierSource source = TierSource::kEarned;
  std::optional<Instant> manual_expires_at;  // kManual: when the assignment lapses (unset: never)
  std::string manual_reason;
  std::string actor;  // who made the last change: "system" or an API key / admin id
  // The end of the last period the period-end evaluation processed for this
  // member: evaluating the same period again is a no-op (idempotent job).
  std::optional<Instant> evaluated_through;
  friend bool operator==(const MemberTierState&, const MemberTierState&) = default;
};

enum class TierChange {
  kNone,
  kUpgraded,    // to a higher tier
  kDowngraded,  // to a lower tier (or none)
  kRenewed,     // the same tier, guaranteed for another period
  kAssigned,    // a manual assignment by an admin
};
const char* to_string(TierChange change);

struct TierDecision {
  TierChange change = TierChange::kNone;
  MemberTierState next;  // the state to store (== the input when change is kNone)
  std::string reason;    // an admin's reason for the history ("" for the system's decisions)
};

// After an event changed the metric (an order paid, refunded, cancelled; points
// earned). An upgrade happens at once when `value` reaches a higher tier than
// the current one (a manual tier is upgraded too when the earned one is higher).
// A drop below the current tier's threshold downgrades only with
// downgrade.on_refund (to the qualifying tier, never below downgrade_to), and
// never a manual tier or one still guaranteed. A member holding an
// invite-only tier (VIP) is neither upgraded nor downgraded.
TierDecision decide_on_event(const TierConfig& config, const MemberTierState& state, int64_t value,
                             const date::time_zone* zone, Instant now);

// At the end of a qualification period (`period_end`, exclusive end of the
// period `value` was counted over): a member who qualifies for the current
// tier again renews it, one who qualifies higher is upgraded, and one below it
// keeps it while it is guaranteed (guaranteed_until > period_end), else is
// downgraded to the qualifying tier, never lower than the tier's
// downgrade_to. An expired manual tier is replaced by the qualifying tier. A
// held invite-only tier (VIP, unless its assignment lapsed) is kept as it is.
// Idempotent: a state with evaluated_through >= period_end is left unchanged.
TierDecision decide_at_period_end(const TierConfig& config, const MemberTierState& state,
                                  int64_t value, const date::time_zone* zone, Instant period_end);

// A VIP's account manager: an admin user (admin_id) or a named contact (name
// and email). Exactly one of the two forms.
struct AccountManager {
  std::string name;
  std::string email;
  std::string admin_id;
  // What VIP lists filter on: the admin id, else the email.
  const std::string& key() const { return admin_id.empty() ? email : admin_id; }
  friend bool operator==(const AccountManager&, const AccountManager&) = default;
};
inline constexpr size_t kMaxAccountManagerFieldLength = 254;  // name, email, admin id
// kInvalidRequest naming the field: both forms or neither, an empty or too
// long value, an email without a local part and a domain.
Status validate_account_manager(const AccountManager& manager);

// An admin's assignment: `tier_id` (must be a level, or "" for none) until
// `expires_at` (unset: until changed).
Result<TierDecision> assign_tier(const TierConfig& config, const MemberTierState& state,
                                 std::string_view tier_id, std::string_view reason,
                                 std::optional<Instant> expires_at, std::string_view actor,
                                 Instant now);

// An admin ends a manual assignment (removes a VIP): the member holds what
// `value` qualifies for from `now`, earned, guaranteed like an upgrade at
// `now` (change kAssigned, with the reason and actor in the history).
TierDecision end_tier_assignment(const TierConfig& config, const MemberTierState& state,
                                 int64_t value, std::string_view reason, std::string_view actor,
                                 const date::time_zone* zone, Instant now);

// The tier a read shows: a manual tier past its expiry gives way to what the
// metric qualifies for (the next write or the period-end job stores that).
MemberTierState effective_state(const TierConfig& config, const MemberTierState& state,
                                int64_t value, const date::time_zone* zone, Instant now);

// ---- Progress ----

struct TierProgress {
  int current_level = -1;           // index into levels; -1 = none
  int next_level = -1;              // -1 = at the top, or holding an invite-only tier
  int64_t value = 0;                // the metric so far, in the window
  int64_t remaining = 0;            // to reach next_level's threshold (> 0 when next_level >= 0)
  std::optional<Instant> deadline;  // the window's (period's) end; unset for lifetime
};
TierProgress progress(const TierConfig& config, const MemberTierState& state, int64_t value,
                      const date::time_zone* zone, Instant now);

// "spend 42.10 USD more by 31 Dec 2026 to reach Gold" (the deadline is the last
// day of the period in the program's time zone; no "by" for lifetime); "" at
// the top.
std::string progress_message(const TierConfig& config, const TierProgress& p,
                             std::string_view currency, int currency_exponent,
                             const date::time_zone* zone);

// The earn multiplier of a tier id ("" or unknown: 1). It multiplies the
// awards of order rules only (purchase points, docs/tiers.md).
Decimal tier_earn_multiplier(const TierConfig& config, std::string_view tier_id);

// The tier's birthday bonus (benefits.birthday_bonus_points) for a tier id
// ("" or unknown: nullptr when the tier has none).
const TierLevel* tier_with_birthday_bonus(const TierConfig& config, std::string_view tier_id);
// Whether any tier has a birthday bonus (the birthday job runs for it).
bool any_birthday_bonus(const TierConfig& config);

}  // namespace loyalty
