#include "domain/paid_membership.h"

#include <date/date.h>
#include <date/tz.h>

#include <chrono>

#include "common/assert.h"

namespace loyalty {
namespace {

// The reminder instant of the current period (unset without reminders or
// once reminded or cancelled).
std::optional<Instant> reminder_at(const PaidMembershipConfig& config, const PaidMembership& m) {
  if (config.reminder_days == 0 || m.cancelled_at || m.lapsed_at) return std::nullopt;
  if (m.reminded_through && *m.reminded_through >= m.period_end) return std::nullopt;
  return m.period_end - Duration::from_days(config.reminder_days);
}

}  // namespace

const char* to_string(PaidStatus s) {
  switch (s) {
    case PaidStatus::kActive:
      return "active";
    case PaidStatus::kGrace:
      return "grace";
    case PaidStatus::kCancelled:
      return "cancelled";
    case PaidStatus::kLapsed:
      return "lapsed";
  }
  return "?";
}

const PaidPlan* find_plan(const PaidMembershipConfig& config, std::string_view plan_id) {
  for (const PaidPlan& p : config.plans) {
    if (p.id == plan_id) return &p;
  }
  return nullptr;
}

Instant grants_until(const PaidPlan& plan, const PaidMembership& m) {
  return m.cancelled_at ? m.period_end : m.period_end + Duration::from_days(plan.grace_days);
}

PaidStatus paid_status(const PaidPlan& plan, const PaidMembership& m, Instant now) {
  if (m.lapsed_at || now >= grants_until(plan, m)) return PaidStatus::kLapsed;
  if (m.cancelled_at) return PaidStatus::kCancelled;
  return now < m.period_end ? PaidStatus::kActive : PaidStatus::kGrace;
}

Instant period_end_from(const PaidPlan& plan, const date::time_zone* zone, Instant start) {
  using Micros = std::chrono::microseconds;
  const date::sys_time<Micros> sys{Micros(start.micros_since_epoch)};
  const auto local =
      zone != nullptr ? zone->to_local(sys) : date::local_time<Micros>(sys.time_since_epoch());
  const auto day = date::floor<date::days>(local);
  const auto time_of_day = local - day;
  date::year_month_day ymd{day};
  ymd = plan.period == BillingPeriod::kYear ? ymd + date::years{1} : ymd + date::months{1};
  if (!ymd.ok()) ymd = ymd.year() / ymd.month() / date::last;  // 31 Jan + 1 month: end of Feb
  const date::local_time<Micros> end_local{date::local_days{ymd} + time_of_day};
  const auto end_sys = zone != nullptr ? zone->to_sys(end_local, date::choose::earliest)
                                       : date::sys_time<Micros>(end_local.time_since_epoch());
  return Instant{std::chrono::duration_cast<Micros>(end_sys.time_since_epoch()).count()};
}

Result<PaidMembership> apply_payment(const PaidPlan& plan,
                                     const std::optional<PaidMembership>& current,
                                     const PaidPlan* current_plan,
                                     std::optional<Instant> period_start,
                                     const date::time_zone* zone, Instant now) {
  // A membership that still grants continues where its paid period ends (a
  // plan no longer configured grants nothing).
  const bool continuing = current && current_plan != nullptr &&
                          paid_status(*current_plan, *current, now) != PaidStatus::kLapsed;
  const Instant natural_start = continuing ? current->period_end : now;
  const Instant start = period_start.value_or(natural_start);
  if (continuing && start < current->period_end) {
    return Status(ErrorCode::kConflict, "period_start: the membership is paid until " +
                                            format_rfc3339(current->period_end) +
                                            "; a payment pays the period starting then or later");
  }
  if (start > period_end_from(plan, zone, natural_start)) {
    return Status(ErrorCode::kConflict, "period_start: more than one period ahead of " +
                                            format_rfc3339(natural_start) +
                                            " (pay the periods in order)");
  }
  PaidMembership next;
  next.plan_id = plan.id;
  next.period_start = start;
  next.period_end = period_end_from(plan, zone, start);
  if (continuing) next.reminded_through = current->reminded_through;
  LOYALTY_ASSERT(next.period_end > next.period_start);
  return next;
}

PaidAction due_action(const PaidMembershipConfig& config, const PaidPlan& plan,
                      const PaidMembership& m, Instant now) {
  if (m.lapsed_at) return PaidAction::kNone;
  if (now >= grants_until(plan, m)) return PaidAction::kLapse;
  const std::optional<Instant> remind = reminder_at(config, m);
  return remind && now >= *remind ? PaidAction::kRemind : PaidAction::kNone;
}

std::optional<Instant> next_action_at(const PaidMembershipConfig& config, const PaidPlan& plan,
                                      const PaidMembership& m) {
  if (m.lapsed_at) return std::nullopt;
  const Instant lapse = grants_until(plan, m);
  const std::optional<Instant> remind = reminder_at(config, m);
  return remind && *remind < lapse ? *remind : lapse;
}

}  // namespace loyalty
