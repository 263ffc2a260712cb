// Expiry policies and calendar occasions, computed in the program's time zone.
//
// Pure: every function takes the instant it reasons about; nothing reads a clock.
// Time zones are IANA names (Program::timezone, validated when the program was
// saved); calendar arithmetic is Howard Hinnant's date/tz.
//
// Policies (ExpiryPolicy in program_config.h):
// - after_earn: a lot earned at t expires at t + `months` calendar months, same
//   local wall time; the day is clamped to the target month's length
//   (31 Jan + 1 month = 28/29 Feb).
// - fixed_date: a lot earned in local year Y expires when local day
//   (Y+1)-MM-DD ends, i.e. at 00:00 local time of the day after; DD is clamped
//   to the month's length (02-31 means the last day of February).
// - rolling: lots carry no expiry of their own; every activity (earn or spend)
//   sets the member's rolling expiry to activity + `months` months, and when it
//   passes every available point of the member expires (Balance::rolling_expires_at).
// - none: nothing expires.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "common/time.h"
#include "domain/ledger.h"
#include "domain/program_config.h"

namespace loyalty {

// The local calendar date of `t` in time zone `tz`.
LocalDate local_date_of(Instant t, std::string_view tz);
// The instant local day `d` begins in `tz` (the first instant of that day when a
// DST change skips midnight).
Instant start_of_local_day(const LocalDate& d, std::string_view tz);
// `t` moved by `months` calendar months in `tz`, same wall time, day clamped to
// the target month's length. months >= 0.
Instant add_months_local(Instant t, int months, std::string_view tz);
LocalDate add_days(const LocalDate& d, int days);
bool is_leap_year(int year);
int days_in_month(int year, int month);

// The expiry a new lot earned at `earned_at` gets under the policy: a value for
// after_earn and fixed_date, nullopt for none and rolling (rolling expiry is
// kept per member, not per lot).
std::optional<Instant> lot_expiry_for(const ExpiryPolicy& policy, std::string_view tz,
                                      Instant earned_at);

// Under rolling expiry, the member's new rolling expiry after an activity at
// `activity_at`; nullopt for the other policies.
std::optional<Instant> rolling_expiry_after_activity(const ExpiryPolicy& policy,
                                                     std::string_view tz, Instant activity_at);

// Fills request.expires_at from the policy when the request did not give one.
// Every credit path (API, orders, events, jobs) calls this before plan_credit.
void apply_expiry_policy(const ExpiryPolicy& policy, std::string_view tz, CreditRequest& request,
                         Instant now);

// Marks an activity of `member` in `plan` (a credit or a debit the member
// made): under rolling expiry moves the member's rolling expiry to now + months
// and lowers next_due_at to it if needed. No-op for the other policies or when
// the plan does not touch the member.
void note_member_activity(const ExpiryPolicy& policy, std::string_view tz, LedgerPlan& plan,
                          MemberId member, Instant now);

// ---- Occasions (birthdays, anniversaries) ----

// The day a birthday of `month`/`day` is celebrated in `year`: 29 February is
// celebrated on 28 February in years that have none.
LocalDate observed_birthday(int year, int month, int day);
// The stored birthdays ("MM-DD" month-days) celebrated on local date `d`: its
// own, plus "02-29" on 28 February of a non-leap year.
std::vector<std::string> birthday_month_days_on(const LocalDate& d);
// The enrollment dates whose anniversary falls on `d` in `years_back` years
// (1 = enrolled a year before): the same month-day, plus 29 February on
// 28 February of a non-leap year when that earlier year was a leap year.
std::vector<LocalDate> anniversary_enrollment_dates(const LocalDate& d, int years_back);

}  // namespace loyalty
