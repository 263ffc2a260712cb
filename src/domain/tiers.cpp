#include "domain/tiers.h"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <chrono>
#include <climits>

#include "common/assert.h"

namespace loyalty {
namespace {

using LocalMicros = date::local_time<std::chrono::microseconds>;
using SysMicros = date::sys_time<std::chrono::microseconds>;

date::year_month_day local_ymd(const date::time_zone* zone, Instant at) {
  const SysMicros sys{std::chrono::microseconds(at.micros_since_epoch)};
  if (zone == nullptr) return date::year_month_day{date::floor<date::days>(sys)};
  const LocalMicros local = zone->to_local(sys);
  return date::year_month_day{date::floor<date::days>(local)};
}

Instant from_local_midnight(const date::time_zone* zone, date::year_month_day ymd) {
  const date::local_days day{ymd};
  if (zone == nullptr) {
    return Instant{SysMicros{date::sys_days{ymd}}.time_since_epoch().count()};
  }
  // Midnight may fall in a daylight-saving gap in a few zones: the earliest
  // instant that is that local time or, in a gap, the transition.
  const auto sys = zone->to_sys(LocalMicros{day.time_since_epoch()}, date::choose::earliest);
  return Instant{
      std::chrono::duration_cast<std::chrono::microseconds>(sys.time_since_epoch()).count()};
}

// The first month of the period containing `month` (calendar year: January;
// rolling window: the month itself, its period being one month).
MonthIndex period_first_month(const TierWindow& window, MonthIndex month) {
  return window.kind == TierWindowKind::kCalendarYear ? MonthIndex::of(month.year(), 1) : month;
}
int period_length_months(const TierWindow& window) {
  return window.kind == TierWindowKind::kCalendarYear ? 12 : 1;
}

std::string level_id(const TierConfig& config, int level) {
  return level < 0 ? std::string() : config.levels[static_cast<size_t>(level)].id;
}

// The lowest level a downgrade from `from` may land on (-1: none).
int downgrade_floor(const TierConfig& config, int from) {
  if (from < 0) return -1;
  const std::string& to = config.levels[static_cast<size_t>(from)].downgrade_to;
  if (to.empty()) return -1;
  const int floor = level_index(config, to);
  return floor < from ? floor : -1;
}

// A state that starts holding `level` at `at`, earned (not manual).
MemberTierState earned_state(const MemberTierState& before, const TierConfig& config, int level,
                             Instant at, std::optional<Instant> guarantee) {
  MemberTierState s;
  s.tier_id = level_id(config, level);
  s.since = at;
  s.guaranteed_until = level < 0 ? std::nullopt : guarantee;
  s.source = TierSource::kEarned;
  s.actor = "system";
  s.evaluated_through = before.evaluated_through;
  return s;
}

bool manual_active(const MemberTierState& state, Instant at) {
  return state.source == TierSource::kManual &&
         (!state.manual_expires_at || *state.manual_expires_at > at);
}

}  // namespace

MonthIndex month_of(const date::time_zone* zone, Instant at) {
  const date::year_month_day ymd = local_ymd(zone, at);
  return MonthIndex::of(static_cast<int>(ymd.year()), static_cast<int>(unsigned(ymd.month())));
}

Instant month_start(const date::time_zone* zone, MonthIndex month) {
  const date::year_month_day ymd{date::year{month.year()},
                                 date::month{static_cast<unsigned>(month.month())}, date::day{1}};
  return from_local_midnight(zone, ymd);
}

WindowMonths window_months(const TierWindow& window, MonthIndex month) {
  switch (window.kind) {
    case TierWindowKind::kCalendarYear:
      return {MonthIndex::of(month.year(), 1), MonthIndex::of(month.year(), 12)};
    case TierWindowKind::kRollingMonths:
      LOYALTY_ASSERT(window.months >= 1);
      return {MonthIndex{month.value - (window.months - 1)}, month};
    case TierWindowKind::kLifetime:
      break;
  }
  return {MonthIndex{INT32_MIN}, month};
}

TierMetrics sum_window(const TierWindow& window, std::span<const MetricBucket> buckets,
                       MonthIndex month) {
  const WindowMonths w = window_months(window, month);
  TierMetrics sum;
  for (const MetricBucket& b : buckets) {
    if (b.month >= w.first && b.month <= w.last) sum += b.metrics;
  }
  return sum;
}

std::optional<Instant> period_end(const TierWindow& window, const date::time_zone* zone,
                                  Instant at) {
  return guaranteed_until(window, zone, at, 0);
}

std::optional<Instant> period_start(const TierWindow& window, const date::time_zone* zone,
                                    Instant at) {
  if (window.kind == TierWindowKind::kLifetime) return std::nullopt;
  return month_start(zone, period_first_month(window, month_of(zone, at)));
}

std::optional<Instant> guaranteed_until(const TierWindow& window, const date::time_zone* zone,
                                        Instant at, int periods) {
  LOYALTY_ASSERT(periods >= 0);
  if (window.kind == TierWindowKind::kLifetime) return std::nullopt;
  const MonthIndex first = period_first_month(window, month_of(zone, at));
  const int length = period_length_months(window);
  return month_start(zone, MonthIndex{first.value + length * (1 + periods)});
}

rules::Environment tier_expression_environment(int currency_exponent) {
  rules::Environment env;
  env.currency_exponent = currency_exponent;
  env.allow(rules::Root::kMember);
  return env;
}

Result<CompiledTiers> compile_tiers(const TierConfig& config, int currency_exponent) {
  CompiledTiers out;
  out.config = &config;
  if (config.metric != TierMetric::kExpression) return out;
  rules::CompileError error;
  auto compiled = rules::compile(config.expression, tier_expression_environment(currency_exponent),
                                 rules::Type::kInt, &error);
  if (!compiled.ok()) {
    return Status(ErrorCode::kInvalidConfig, "tiers.expression: " + compiled.status().message());
  }
  out.expression.emplace(std::move(compiled).value());
  return out;
}

int64_t metric_value(const CompiledTiers& tiers, const TierMetrics& m) {
  LOYALTY_ASSERT(tiers.config != nullptr);
  switch (tiers.config->metric) {
    case TierMetric::kSpend:
      return m.spend_minor;
    case TierMetric::kPoints:
      return m.points;
    case TierMetric::kOrders:
      return m.orders;
    case TierMetric::kExpression:
      break;
  }
  LOYALTY_ASSERT(tiers.expression.has_value());
  rules::MemberView member;
  member.total_spent_minor = m.spend_minor;
  member.lifetime_earned_points = m.points;
  member.orders_count = m.orders;
  rules::Context ctx;
  ctx.member = &member;
  const rules::EvalResult r = rules::evaluate(*tiers.expression, ctx);
  return r.ok() ? r.value.number : 0;
}

int qualifying_level(const TierConfig& config, int64_t value) {
  int best = -1;
  for (size_t i = 0; i < config.levels.size(); ++i) {
    const TierLevel& l = config.levels[i];
    if (!l.invite_only && value >= l.threshold) best = static_cast<int>(i);
  }
  return best;
}

const std::string& higher_tier(const TierConfig& config, const std::string& a,
                               const std::string& b) {
  return level_index(config, b) > level_index(config, a) ? b : a;
}

bool is_invite_only(const TierConfig& config, int level) {
  return level >= 0 && config.levels[static_cast<size_t>(level)].invite_only;
}

int level_index(const TierConfig& config, std::string_view tier_id) {
  if (tier_id.empty()) return -1;
  for (size_t i = 0; i < config.levels.size(); ++i) {
    if (config.levels[i].id == tier_id) return static_cast<int>(i);
  }
  return -1;
}

const char* to_string(TierSource source) {
  return source == TierSource::kManual ? "manual" : "earned";
}

std::optional<TierSource> parse_tier_source(std::string_view text) {
  if (text == "earned") return TierSource::kEarned;
  if (text == "manual") return TierSource::kManual;
  return std::nullopt;
}

const char* to_string(TierChange change) {
  switch (change) {
    case TierChange::kNone:
      return "none";
    case TierChange::kUpgraded:
      return "upgraded";
    case TierChange::kDowngraded:
      return "downgraded";
    case TierChange::kRenewed:
      return "renewed";
    case TierChange::kAssigned:
      return "assigned";
  }
  return "?";
}

MemberTierState effective_state(const TierConfig& config, const MemberTierState& state,
                                int64_t value, const date::time_zone* zone, Instant now) {
  if (state.source != TierSource::kManual || manual_active(state, now)) return state;
  // The assignment lapsed: what the metric qualifies for, from its expiry.
  const Instant lapsed = *state.manual_expires_at;
  return earned_state(state, config, qualifying_level(config, value), lapsed,
                      guaranteed_until(config.window, zone, now, 0));
}

TierDecision decide_on_event(const TierConfig& config, const MemberTierState& state, int64_t value,
                             const date::time_zone* zone, Instant now) {
  TierDecision d;
  d.next = effective_state(config, state, value, zone, now);
  const int before = level_index(config, state.tier_id);
  const int current = level_index(config, d.next.tier_id);
  const int qualified = qualifying_level(config, value);
  if (is_invite_only(config, current)) {
    // A VIP: only an admin (or the assignment's expiry) moves them.
  } else if (qualified > current) {
    d.next =
        earned_state(state, config, qualified, now,
                     guaranteed_until(config.window, zone, now, config.downgrade.grace_periods));
  } else if (qualified < current && config.downgrade.on_refund &&
             d.next.source == TierSource::kEarned) {
    // Only a tier reached in the current period rests on this period's metric;
    // one renewed from an earlier period keeps its guarantee.
    const std::optional<Instant> end = period_end(config.window, zone, now);
    const bool this_period =
        !end ||
        d.next.since >= month_start(zone, period_first_month(config.window, month_of(zone, now)));
    const int target = std::max(qualified, downgrade_floor(config, current));
    if (this_period && target < current) {
      d.next = earned_state(state, config, target, now, end);
    }
  }
  // The same tier with other details (a lapsed assignment) is no change to report.
  const int after = level_index(config, d.next.tier_id);
  d.change = after > before   ? TierChange::kUpgraded
             : after < before ? TierChange::kDowngraded
                              : TierChange::kNone;
  return d;
}

TierDecision decide_at_period_end(const TierConfig& config, const MemberTierState& state,
                                  int64_t value, const date::time_zone* zone, Instant end) {
  TierDecision d;
  d.next = state;
  if (state.evaluated_through && *state.evaluated_through >= end) return d;  // done already
  LOYALTY_ASSERT(config.window.kind != TierWindowKind::kLifetime);
  const int current = level_index(config, state.tier_id);
  const int qualified = qualifying_level(config, value);
  // Guarantees are counted from inside the period that closes; whatever the
  // grace, a tier decided at its end is held at least until the end of the
  // period that starts there (its next evaluation), so with grace_periods: 0
  // the guarantee is that period's end, never the past.
  const Instant last_moment = end - Duration{1};
  const std::optional<Instant> earned_guarantee =
      std::max(*guaranteed_until(config.window, zone, last_moment, config.downgrade.grace_periods),
               *period_end(config.window, zone, end));
  if (is_invite_only(config, current) &&
      (manual_active(state, end) || state.source == TierSource::kEarned)) {
    // A VIP is never renewed, upgraded or downgraded by the metric.
  } else if (manual_active(state, end)) {
    if (qualified > current) {
      d.next = earned_state(state, config, qualified, end, earned_guarantee);
      d.change = TierChange::kUpgraded;
    }
  } else if (qualified > current) {
    d.next = earned_state(state, config, qualified, end, earned_guarantee);
    d.change = TierChange::kUpgraded;
  } else if (qualified == current && current >= 0) {
    d.next.guaranteed_until = earned_guarantee;
    d.next.source = TierSource::kEarned;
    d.next.manual_expires_at.reset();
    d.next.manual_reason.clear();
    d.next.actor = "system";
    d.change = TierChange::kRenewed;
  } else if (qualified < current) {
    const bool guaranteed = state.source == TierSource::kEarned && state.guaranteed_until &&
                            *state.guaranteed_until > end;
    if (!guaranteed) {
      const int target = std::max(qualified, downgrade_floor(config, current));
      d.next = earned_state(state, config, target, end, earned_guarantee);
      d.change = TierChange::kDowngraded;
    }
  }
  d.next.evaluated_through = end;
  return d;
}

Status validate_account_manager(const AccountManager& m) {
  const auto too_long = [](const std::string& v) {
    return v.size() > kMaxAccountManagerFieldLength;
  };
  if (!m.admin_id.empty()) {
    if (!m.name.empty() || !m.email.empty()) {
      return Status(ErrorCode::kInvalidRequest,
                    "account_manager: either admin_id, or name and email, not both");
    }
    if (too_long(m.admin_id)) {
      return Status(ErrorCode::kInvalidRequest, "account_manager.admin_id: at most " +
                                                    std::to_string(kMaxAccountManagerFieldLength) +
                                                    " characters");
    }
    return {};
  }
  if (m.name.empty() || too_long(m.name)) {
    return Status(ErrorCode::kInvalidRequest, "account_manager.name: 1 to " +
                                                  std::to_string(kMaxAccountManagerFieldLength) +
                                                  " characters (or give admin_id)");
  }
  const size_t at = m.email.find('@');
  if (too_long(m.email) || at == 0 || at == std::string::npos || at + 1 == m.email.size() ||
      m.email.find_first_of(" \t\r\n") != std::string::npos) {
    return Status(ErrorCode::kInvalidRequest,
                  "account_manager.email: expected an address like name@example.com, at most " +
                      std::to_string(kMaxAccountManagerFieldLength) + " characters");
  }
  return {};
}

Result<TierDecision> assign_tier(const TierConfig& config, const MemberTierState& state,
                                 std::string_view tier_id, std::string_view reason,
                                 std::optional<Instant> expires_at, std::string_view actor,
                                 Instant now) {
  if (level_index(config, tier_id) < 0) {
    std::string known;
    for (const TierLevel& l : config.levels) known += (known.empty() ? "" : ", ") + l.id;
    return Status(ErrorCode::kUnknownTier,
                  "tier '" + std::string(tier_id) + "' is not a tier of the program" +
                      (known.empty() ? " (it has no tiers)" : " (tiers: " + known + ")"));
  }
  if (expires_at && *expires_at <= now) {
    return Status(ErrorCode::kInvalidRequest, "expires_at: must be in the future");
  }
  TierDecision d;
  d.change = TierChange::kAssigned;
  d.reason = std::string(reason);
  d.next.tier_id = std::string(tier_id);
  d.next.since = now;
  d.next.guaranteed_until = expires_at;
  d.next.source = TierSource::kManual;
  d.next.manual_expires_at = expires_at;
  d.next.manual_reason = std::string(reason);
  d.next.actor = std::string(actor);
  d.next.evaluated_through = state.evaluated_through;
  return d;
}

TierDecision end_tier_assignment(const TierConfig& config, const MemberTierState& state,
                                 int64_t value, std::string_view reason, std::string_view actor,
                                 const date::time_zone* zone, Instant now) {
  TierDecision d;
  d.change = TierChange::kAssigned;
  d.reason = std::string(reason);
  d.next = earned_state(state, config, qualifying_level(config, value), now,
                        guaranteed_until(config.window, zone, now, config.downgrade.grace_periods));
  d.next.actor = std::string(actor);
  LOYALTY_ASSERT(!is_invite_only(config, level_index(config, d.next.tier_id)));
  return d;
}

TierProgress progress(const TierConfig& config, const MemberTierState& state, int64_t value,
                      const date::time_zone* zone, Instant now) {
  TierProgress p;
  p.value = value;
  p.current_level = level_index(config, state.tier_id);
  // The next tier is the first reachable one (not invite-only) above both the
  // current and the qualifying one; a VIP has none.
  const int base = std::max(p.current_level, qualifying_level(config, value));
  for (int next = base + 1;
       !is_invite_only(config, p.current_level) && next < static_cast<int>(config.levels.size());
       ++next) {
    if (is_invite_only(config, next)) continue;
    p.next_level = next;
    p.remaining = config.levels[static_cast<size_t>(next)].threshold - value;
    LOYALTY_ASSERT(p.remaining > 0);
    break;
  }
  p.deadline = period_end(config.window, zone, now);
  return p;
}

std::string progress_message(const TierConfig& config, const TierProgress& p,
                             std::string_view currency, int currency_exponent,
                             const date::time_zone* zone) {
  if (p.next_level < 0) return "";
  const TierLevel& next = config.levels[static_cast<size_t>(p.next_level)];
  std::string amount;
  switch (config.metric) {
    case TierMetric::kSpend: {
      std::string digits = std::to_string(p.remaining);
      if (currency_exponent > 0) {
        const auto exp = static_cast<size_t>(currency_exponent);
        if (digits.size() <= exp) digits.insert(0, exp + 1 - digits.size(), '0');
        digits.insert(digits.size() - exp, ".");
      }
      amount = "spend " + digits + " " + std::string(currency) + " more";
      break;
    }
    case TierMetric::kPoints:
      amount = "earn " + std::to_string(p.remaining) + " more points";
      break;
    case TierMetric::kOrders:
      amount = "place " + std::to_string(p.remaining) + " more " +
               (p.remaining == 1 ? "order" : "orders");
      break;
    case TierMetric::kExpression:
      amount = "score " + std::to_string(p.remaining) + " more";
      break;
  }
  std::string by;
  if (p.deadline) {
    // The last day of the period, in the program's time zone.
    const date::year_month_day last = local_ymd(zone, *p.deadline - Duration{1});
    by = " by " + date::format("%d %b %Y", date::sys_days{last});
  }
  return amount + by + " to reach " + next.name;
}

Decimal tier_earn_multiplier(const TierConfig& config, std::string_view tier_id) {
  const int level = level_index(config, tier_id);
  return level < 0 ? Decimal::from_int(1)
                   : config.levels[static_cast<size_t>(level)].benefits.earn_multiplier;
}

const TierLevel* tier_with_birthday_bonus(const TierConfig& config, std::string_view tier_id) {
  const int level = level_index(config, tier_id);
  if (level < 0) return nullptr;
  const TierLevel& l = config.levels[static_cast<size_t>(level)];
  return l.benefits.birthday_bonus_points > 0 ? &l : nullptr;
}

bool any_birthday_bonus(const TierConfig& config) {
  return std::any_of(config.levels.begin(), config.levels.end(),
                     [](const TierLevel& l) { return l.benefits.birthday_bonus_points > 0; });
}

}  // namespace loyalty
