#include "domain/expiry.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include <date/date.h>
#include <date/tz.h>

#include "common/assert.h"

namespace loyalty {
namespace {

using Micros = std::chrono::microseconds;
using SysMicros = date::sys_time<Micros>;
using LocalMicros = date::local_time<Micros>;

const date::time_zone* zone(std::string_view tz) {
  // Programs are validated on save (is_valid_timezone), so an unknown zone here
  // is a programmer error, not user input.
  const date::time_zone* z = date::locate_zone(tz);
  LOYALTY_ASSERT(z != nullptr);
  return z;
}

LocalMicros to_local(Instant t, const date::time_zone* z) {
  return z->to_local(SysMicros{Micros{t.micros_since_epoch}});
}

// A local time to an instant: a wall time skipped by a DST change maps to the
// instant of the change, a repeated one to its first occurrence.
Instant from_local(LocalMicros local, const date::time_zone* z) {
  SysMicros sys = z->to_sys(local, date::choose::earliest);
  return Instant{sys.time_since_epoch().count()};
}

date::year_month_day to_ymd(const LocalDate& d) {
  return date::year{d.year} / date::month{static_cast<unsigned>(d.month)} /
         date::day{static_cast<unsigned>(d.day)};
}
LocalDate from_ymd(date::year_month_day ymd) {
  return LocalDate{static_cast<int>(ymd.year()),
                   static_cast<int>(static_cast<unsigned>(ymd.month())),
                   static_cast<int>(static_cast<unsigned>(ymd.day()))};
}

}  // namespace

bool is_leap_year(int year) { return date::year{year}.is_leap(); }

int days_in_month(int year, int month) {
  LOYALTY_ASSERT(month >= 1 && month <= 12);
  return static_cast<int>(static_cast<unsigned>(
      (date::year{year} / date::month{static_cast<unsigned>(month)} / date::last).day()));
}

LocalDate local_date_of(Instant t, std::string_view tz) {
  LocalMicros local = to_local(t, zone(tz));
  return from_ymd(date::year_month_day{date::floor<date::days>(local)});
}

Instant start_of_local_day(const LocalDate& d, std::string_view tz) {
  const date::time_zone* z = zone(tz);
  LocalMicros midnight{date::local_days{to_ymd(d)}.time_since_epoch()};
  // choose::earliest maps a skipped midnight (zones that change at 00:00) to the
  // change itself, which is the first instant of that local day.
  return from_local(midnight, z);
}

LocalDate add_days(const LocalDate& d, int days) {
  return from_ymd(date::year_month_day{date::sys_days{to_ymd(d)} + date::days{days}});
}

Instant add_months_local(Instant t, int months, std::string_view tz) {
  LOYALTY_ASSERT(months >= 0);
  const date::time_zone* z = zone(tz);
  LocalMicros local = to_local(t, z);
  auto day = date::floor<date::days>(local);
  Micros time_of_day = local - day;
  date::year_month_day ymd{day};
  date::year_month target = date::year_month{ymd.year(), ymd.month()} + date::months{months};
  date::day last = (target / date::last).day();
  date::year_month_day moved = target / std::min(ymd.day(), last);
  return from_local(LocalMicros{date::local_days{moved}.time_since_epoch() + time_of_day}, z);
}

std::optional<Instant> lot_expiry_for(const ExpiryPolicy& policy, std::string_view tz,
                                      Instant earned_at) {
  switch (policy.mode) {
    case ExpiryMode::kNone:
    case ExpiryMode::kRolling:
      return std::nullopt;
    case ExpiryMode::kAfterEarn:
      return add_months_local(earned_at, policy.months, tz);
    case ExpiryMode::kFixedDate: {
      int year = local_date_of(earned_at, tz).year + 1;
      int day = std::min(policy.fixed_day, days_in_month(year, policy.fixed_month));
      return start_of_local_day(add_days(LocalDate{year, policy.fixed_month, day}, 1), tz);
    }
  }
  return std::nullopt;
}

std::optional<Instant> rolling_expiry_after_activity(const ExpiryPolicy& policy,
                                                     std::string_view tz, Instant activity_at) {
  if (policy.mode != ExpiryMode::kRolling) return std::nullopt;
  return add_months_local(activity_at, policy.months, tz);
}

void apply_expiry_policy(const ExpiryPolicy& policy, std::string_view tz, CreditRequest& request,
                         Instant now) {
  if (request.expires_at) return;
  // A pending lot's clock starts when it was earned, like an available one's.
  request.expires_at = lot_expiry_for(policy, tz, now);
}

void note_member_activity(const ExpiryPolicy& policy, std::string_view tz, LedgerPlan& plan,
                          MemberId member, Instant now) {
  auto rolling = rolling_expiry_after_activity(policy, tz, now);
  if (!rolling) return;
  auto it = plan.balances.find(member);
  if (it == plan.balances.end()) return;
  Balance& b = it->second;
  b.rolling_expires_at = rolling;
  if (b.available.value > 0 && (!b.next_due_at || *rolling < *b.next_due_at)) {
    b.next_due_at = rolling;
  }
}

LocalDate observed_birthday(int year, int month, int day) {
  if (month == 2 && day == 29 && !is_leap_year(year)) return LocalDate{year, 2, 28};
  return LocalDate{year, month, day};
}

std::vector<std::string> birthday_month_days_on(const LocalDate& d) {
  auto md = [](int m, int day) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%02d-%02d", m, day);
    return std::string(buf);
  };
  std::vector<std::string> out = {md(d.month, d.day)};
  if (d.month == 2 && d.day == 28 && !is_leap_year(d.year)) out.push_back(md(2, 29));
  return out;
}

std::vector<LocalDate> anniversary_enrollment_dates(const LocalDate& d, int years_back) {
  LOYALTY_ASSERT(years_back >= 1);
  int year = d.year - years_back;
  std::vector<LocalDate> out;
  if (d.month == 2 && d.day == 29 && !is_leap_year(year)) return out;  // no such day then
  out.push_back(LocalDate{year, d.month, d.day});
  if (d.month == 2 && d.day == 28 && !is_leap_year(d.year) && is_leap_year(year)) {
    out.push_back(LocalDate{year, 2, 29});
  }
  return out;
}

}  // namespace loyalty
