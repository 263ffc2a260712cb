// Paid membership (docs/tiers.md, "Paid membership"): what a member's plan
// state is at an instant, what a reported payment does to it, and what the
// paid_memberships job owes it (a renewal reminder, a lapse). Pure: `now` and
// the program's time zone are passed in.
//
//   period:  [period_start, period_end)  paid; grants apply
//   grace:   [period_end, period_end + grace_days)  unpaid, grants still apply
//   lapsed:  after the grace (or after period_end once cancelled)
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/time.h"
#include "domain/program_config.h"

namespace date {
class time_zone;
}

namespace loyalty {

// A member's membership as stored (table paid_memberships).
struct PaidMembership {
  std::string plan_id;
  Instant period_start;
  Instant period_end;  // exclusive: the paid period's end
  std::optional<Instant> cancelled_at;
  std::optional<Instant> reminded_through;  // the period_end a reminder was sent for
  std::optional<Instant> lapsed_at;         // set by the job once the lapse is stored
  friend bool operator==(const PaidMembership&, const PaidMembership&) = default;
};

enum class PaidStatus {
  kActive,     // paid period, not cancelled
  kGrace,      // the period ended unpaid; grants continue until grace_days passed
  kCancelled,  // cancelled: grants continue until the paid period's end, no grace
  kLapsed,     // nothing granted
};
const char* to_string(PaidStatus status);

const PaidPlan* find_plan(const PaidMembershipConfig& config, std::string_view plan_id);

// When the grants end: period_end once cancelled, else period_end + grace_days.
Instant grants_until(const PaidPlan& plan, const PaidMembership& m);
PaidStatus paid_status(const PaidPlan& plan, const PaidMembership& m, Instant now);
inline bool grants_now(PaidStatus s) { return s != PaidStatus::kLapsed; }

// The end of the period of `plan` that starts at `start`: the same local time
// one calendar month (or year) later in the zone; a day past the month's end
// is clamped (31 Jan + 1 month = 28/29 Feb).
Instant period_end_from(const PaidPlan& plan, const date::time_zone* zone, Instant start);

// A payment reported for `plan` (already checked: plan known, amount and
// currency the plan's). The period starts at `period_start` if given, else
// where the current one ends (a renewal, also in grace), or `now` for a new or
// lapsed membership. kConflict when the period would start before the current
// one ends (it is paid already) or more than a period ahead. A payment clears
// a cancellation and a lapse.
// `current_plan` is the plan of `current` (nullptr when it is no longer
// configured: such a membership grants nothing and is not continued).
Result<PaidMembership> apply_payment(const PaidPlan& plan,
                                     const std::optional<PaidMembership>& current,
                                     const PaidPlan* current_plan,
                                     std::optional<Instant> period_start,
                                     const date::time_zone* zone, Instant now);

// What the job owes a membership at `now`: a renewal reminder once
// `reminder_days` before the period end (not cancelled, not yet reminded for
// this period end), or the lapse once the grants ended.
enum class PaidAction { kNone, kRemind, kLapse };
PaidAction due_action(const PaidMembershipConfig& config, const PaidPlan& plan,
                      const PaidMembership& m, Instant now);
// When due_action next becomes something other than kNone (unset: never):
// the job finds memberships by it (index paid_memberships_due).
std::optional<Instant> next_action_at(const PaidMembershipConfig& config, const PaidPlan& plan,
                                      const PaidMembership& m);

}  // namespace loyalty
