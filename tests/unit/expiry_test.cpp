// Expiry policies and occasions in the program's time zone (domain/expiry.h).
#include "domain/expiry.h"

#include <gtest/gtest.h>

namespace loyalty {
namespace {

Instant at(const char* rfc3339) {
  auto t = parse_rfc3339(rfc3339);
  EXPECT_TRUE(t.has_value()) << rfc3339;
  return t.value_or(Instant{});
}
std::string text(Instant t) { return format_rfc3339(t); }
std::string text(std::optional<Instant> t) { return t ? format_rfc3339(*t) : "(none)"; }

TEST(Expiry, AddMonthsKeepsWallTimeAndClampsTheDay) {
  struct Case {
    const char* from;
    int months;
    const char* tz;
    const char* expected;
  } cases[] = {
      // 31 January + 1 month: the last day of February (leap and not).
      {"2024-01-31T10:00:00Z", 1, "UTC", "2024-02-29T10:00:00Z"},
      {"2025-01-31T10:00:00Z", 1, "UTC", "2025-02-28T10:00:00Z"},
      // 29 February + 12 months: 28 February.
      {"2024-02-29T12:00:00Z", 12, "UTC", "2025-02-28T12:00:00Z"},
      // Across the spring DST change in Berlin: same wall time 09:00, one hour
      // less of UTC offset difference (CET +1 -> CEST +2).
      {"2025-03-01T08:00:00Z", 1, "Europe/Berlin", "2025-04-01T07:00:00Z"},
      // Local 23:30 on 31 March in New York is 03:30Z on 1 April; a month later
      // is local 23:30 on 30 April.
      {"2025-04-01T03:30:00Z", 1, "America/New_York", "2025-05-01T03:30:00Z"},
      {"2025-01-15T00:00:00Z", 0, "UTC", "2025-01-15T00:00:00Z"},
      {"2025-06-15T00:00:00Z", 120, "UTC", "2035-06-15T00:00:00Z"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(text(add_months_local(at(c.from), c.months, c.tz)), c.expected)
        << c.from << " + " << c.months << " months in " << c.tz;
  }
}

TEST(Expiry, LotExpiryPerPolicy) {
  ExpiryPolicy after_earn{ExpiryMode::kAfterEarn, 12, 12, 31, 14};
  ExpiryPolicy fixed{ExpiryMode::kFixedDate, 12, 12, 31, 14};
  ExpiryPolicy fixed_feb{ExpiryMode::kFixedDate, 12, 2, 31, 14};  // clamps to 28/29 Feb
  ExpiryPolicy rolling{ExpiryMode::kRolling, 6, 12, 31, 14};
  ExpiryPolicy none{};
  struct Case {
    const ExpiryPolicy* policy;
    const char* earned;
    const char* tz;
    const char* expected;
  } cases[] = {
      {&after_earn, "2025-03-10T12:00:00Z", "UTC", "2026-03-10T12:00:00Z"},
      // Earned in 2025 (local): expires when 31 Dec 2026 ends, local midnight.
      {&fixed, "2025-03-10T12:00:00Z", "Europe/Berlin", "2026-12-31T23:00:00Z"},
      // 31 Dec 2025 23:30 in New York is already 2026 in UTC but 2025 locally.
      {&fixed, "2026-01-01T04:30:00Z", "America/New_York", "2027-01-01T05:00:00Z"},
      // 02-31 is the last day of February: 2028 is a leap year.
      {&fixed_feb, "2027-05-01T00:00:00Z", "UTC", "2028-03-01T00:00:00Z"},
      {&fixed_feb, "2025-05-01T00:00:00Z", "UTC", "2026-03-01T00:00:00Z"},
      {&rolling, "2025-03-10T12:00:00Z", "UTC", "(none)"},
      {&none, "2025-03-10T12:00:00Z", "UTC", "(none)"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(text(lot_expiry_for(*c.policy, c.tz, at(c.earned))), c.expected)
        << to_string(c.policy->mode) << " earned " << c.earned << " in " << c.tz;
  }
}

TEST(Expiry, ApplyPolicyKeepsAnExplicitExpiry) {
  ExpiryPolicy after_earn{ExpiryMode::kAfterEarn, 1, 12, 31, 14};
  CreditRequest given;
  given.expires_at = at("2025-01-05T00:00:00Z");
  apply_expiry_policy(after_earn, "UTC", given, at("2025-01-01T00:00:00Z"));
  EXPECT_EQ(text(given.expires_at), "2025-01-05T00:00:00Z");
  CreditRequest unset;
  apply_expiry_policy(after_earn, "UTC", unset, at("2025-01-01T00:00:00Z"));
  EXPECT_EQ(text(unset.expires_at), "2025-02-01T00:00:00Z");
}

TEST(Expiry, ActivityMovesTheRollingExpiryAndNextDue) {
  ExpiryPolicy rolling{ExpiryMode::kRolling, 6, 12, 31, 14};
  LedgerPlan plan;
  MemberId m{7};
  Balance b;
  b.available = Points{100};
  b.next_due_at = at("2030-01-01T00:00:00Z");
  plan.balances[m] = b;
  note_member_activity(rolling, "UTC", plan, m, at("2025-01-31T00:00:00Z"));
  EXPECT_EQ(text(plan.balances[m].rolling_expires_at), "2025-07-31T00:00:00Z");
  EXPECT_EQ(text(plan.balances[m].next_due_at), "2025-07-31T00:00:00Z");
  // Other policies leave the plan alone.
  LedgerPlan untouched;
  untouched.balances[m] = b;
  note_member_activity(ExpiryPolicy{}, "UTC", untouched, m, at("2025-01-31T00:00:00Z"));
  EXPECT_EQ(untouched.balances[m], b);
}

TEST(Expiry, RollingExpiryExpiresEveryAvailableLotAndKeepsPendingOnes) {
  Program program;
  program.id = ProgramId{1};
  program.timezone = "UTC";
  MemberLedger ml;
  ml.member.program_id = program.id;
  ml.member.id = MemberId{1};
  ml.balance.available = Points{150};
  ml.balance.pending = Points{20};
  ml.balance.lifetime_earned = Points{170};
  ml.balance.rolling_expires_at = at("2025-07-01T00:00:00Z");
  ml.open_lots = {
      Lot{LotId{1}, MemberId{1}, PostingId{1}, Points{100}, Points{100}, false, Instant{}, {}, {}},
      Lot{LotId{2},
          MemberId{1},
          PostingId{2},
          Points{50},
          Points{50},
          false,
          Instant{},
          {},
          at("2030-01-01T00:00:00Z")},
      Lot{LotId{3},
          MemberId{1},
          PostingId{3},
          Points{20},
          Points{20},
          true,
          Instant{},
          at("2025-08-01T00:00:00Z"),
          {}},
  };
  EXPECT_FALSE(plan_expiry(program, ml, at("2025-06-30T23:59:59Z")).has_value());
  auto plan = plan_expiry(program, ml, at("2025-07-01T00:00:00Z"));
  ASSERT_TRUE(plan.has_value());
  const Balance& after = plan->balances.at(MemberId{1});
  EXPECT_EQ(after.available.value, 0);
  EXPECT_EQ(after.expired.value, 150);
  EXPECT_EQ(after.pending.value, 20);
  // Nothing available: the rolling expiry no longer makes the member due.
  EXPECT_EQ(text(after.next_due_at), "2025-08-01T00:00:00Z");
}

TEST(Occasions, TwentyNinthOfFebruaryIsCelebratedOnTheTwentyEighthInOtherYears) {
  EXPECT_EQ(observed_birthday(2024, 2, 29), (LocalDate{2024, 2, 29}));
  EXPECT_EQ(observed_birthday(2025, 2, 29), (LocalDate{2025, 2, 28}));
  EXPECT_EQ(observed_birthday(2100, 2, 29), (LocalDate{2100, 2, 28}));  // not a leap year
  EXPECT_EQ(observed_birthday(2025, 7, 4), (LocalDate{2025, 7, 4}));
  using V = std::vector<std::string>;
  EXPECT_EQ(birthday_month_days_on(LocalDate{2025, 2, 28}), (V{"02-28", "02-29"}));
  EXPECT_EQ(birthday_month_days_on(LocalDate{2024, 2, 28}), (V{"02-28"}));
  EXPECT_EQ(birthday_month_days_on(LocalDate{2024, 2, 29}), (V{"02-29"}));
  EXPECT_EQ(birthday_month_days_on(LocalDate{2025, 3, 1}), (V{"03-01"}));
}

TEST(Occasions, AnniversaryEnrollmentDates) {
  using V = std::vector<LocalDate>;
  // Enrolled 29 Feb 2024: the first anniversary is 28 Feb 2025.
  EXPECT_EQ(anniversary_enrollment_dates(LocalDate{2025, 2, 28}, 1),
            (V{{2024, 2, 28}, {2024, 2, 29}}));
  // Four years later, 2028 has a 29 February again.
  EXPECT_EQ(anniversary_enrollment_dates(LocalDate{2028, 2, 28}, 4), (V{{2024, 2, 28}}));
  EXPECT_EQ(anniversary_enrollment_dates(LocalDate{2028, 2, 29}, 4), (V{{2024, 2, 29}}));
  EXPECT_EQ(anniversary_enrollment_dates(LocalDate{2028, 2, 29}, 1), V{});
  EXPECT_EQ(anniversary_enrollment_dates(LocalDate{2026, 11, 23}, 3), (V{{2023, 11, 23}}));
}

TEST(Occasions, LocalDaysInTheProgramsTimeZone) {
  // 23:30 local on 30 March 2025 (after Berlin's spring change) is 21:30Z.
  EXPECT_EQ(local_date_of(at("2025-03-30T21:30:00Z"), "Europe/Berlin"), (LocalDate{2025, 3, 30}));
  EXPECT_EQ(local_date_of(at("2025-03-30T22:30:00Z"), "Europe/Berlin"), (LocalDate{2025, 3, 31}));
  // The day of the change is 23 hours long.
  Instant start = start_of_local_day(LocalDate{2025, 3, 30}, "Europe/Berlin");
  Instant next = start_of_local_day(LocalDate{2025, 3, 31}, "Europe/Berlin");
  EXPECT_EQ(text(start), "2025-03-29T23:00:00Z");
  EXPECT_EQ((next - start).micros, Duration::from_seconds(23 * 3600).micros);
  EXPECT_EQ(add_days(LocalDate{2024, 2, 28}, 1), (LocalDate{2024, 2, 29}));
  EXPECT_EQ(add_days(LocalDate{2025, 1, 1}, -1), (LocalDate{2024, 12, 31}));
}

}  // namespace
}  // namespace loyalty
