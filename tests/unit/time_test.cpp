// Specification of instants and calendar dates: RFC 3339 in, RFC 3339 UTC out.
#include "common/time.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace loyalty {
namespace {

constexpr int64_t kMarch1Noon2024Seconds = 1'709'294'400;  // 2024-03-01T12:00:00Z

TEST(Rfc3339, FormatsTheEpochWithoutFraction) {
  EXPECT_EQ(format_rfc3339(Instant{0}), "1970-01-01T00:00:00Z");
}

TEST(Rfc3339, FormatsMicrosecondsOnlyWhenNotZero) {
  EXPECT_EQ(format_rfc3339(Instant::from_seconds(kMarch1Noon2024Seconds)), "2024-03-01T12:00:00Z");
  EXPECT_EQ(format_rfc3339(Instant{kMarch1Noon2024Seconds * 1'000'000 + 250'000}),
            "2024-03-01T12:00:00.250000Z");
  EXPECT_EQ(format_rfc3339(Instant{kMarch1Noon2024Seconds * 1'000'000 + 1}),
            "2024-03-01T12:00:00.000001Z");
}

struct ParseCase {
  const char* text;
  std::optional<int64_t> micros;  // nullopt: must be rejected
};

class Rfc3339Parse : public ::testing::TestWithParam<ParseCase> {};

TEST_P(Rfc3339Parse, ParsesToTheExactInstantOrRejects) {
  const ParseCase& c = GetParam();
  std::optional<Instant> got = parse_rfc3339(c.text);
  if (!c.micros) {
    EXPECT_FALSE(got.has_value()) << c.text << " parsed as " << format_rfc3339(*got);
  } else {
    ASSERT_TRUE(got.has_value()) << c.text;
    EXPECT_EQ(got->micros_since_epoch, *c.micros) << c.text;
  }
}

constexpr int64_t kNoonUs = kMarch1Noon2024Seconds * 1'000'000;
constexpr int64_t kHourUs = 3'600'000'000;

INSTANTIATE_TEST_SUITE_P(
    Table, Rfc3339Parse,
    ::testing::Values(
        ParseCase{"2024-03-01T12:00:00Z", kNoonUs}, ParseCase{"2024-03-01t12:00:00z", kNoonUs},
        ParseCase{"2024-03-01 12:00:00Z", kNoonUs}, ParseCase{"2024-03-01T14:00:00+02:00", kNoonUs},
        ParseCase{"2024-03-01T06:30:00-05:30", kNoonUs},
        ParseCase{"2024-03-01T12:00:00+00:00", kNoonUs},
        ParseCase{"2024-03-01T12:00:00-00:00", kNoonUs},
        ParseCase{"2024-03-01T12:00:00.5Z", kNoonUs + 500'000},
        ParseCase{"2024-03-01T12:00:00.25Z", kNoonUs + 250'000},
        ParseCase{"2024-03-01T12:00:00.000001Z", kNoonUs + 1},
        // More than six digits are truncated (not rounded) to microseconds.
        ParseCase{"2024-03-01T12:00:00.123456789Z", kNoonUs + 123'456},
        ParseCase{"2024-03-01T12:00:00.9999999Z", kNoonUs + 999'999},
        ParseCase{"2024-03-01T13:00:00.5+01:00", kNoonUs + 500'000},
        ParseCase{"1970-01-01T00:00:00Z", 0},
        ParseCase{"2024-02-29T00:00:00Z", 1'709'164'800'000'000},
        // A leap second is clamped to :59 (instants are POSIX time).
        ParseCase{"2016-12-31T23:59:60Z", 1'483'228'799'000'000},
        ParseCase{"9999-12-31T23:59:59Z", 253'402'300'799'000'000},
        ParseCase{"2024-03-01T23:00:00-01:00", kNoonUs + 12 * kHourUs},
        // Rejected.
        ParseCase{"", std::nullopt}, ParseCase{"2024-03-01", std::nullopt},
        ParseCase{"2024-03-01T12:00:00", std::nullopt},
        ParseCase{"2024-03-01T12:00Z", std::nullopt},
        ParseCase{"2024-03-01T12:00:00+0200", std::nullopt},
        ParseCase{"2024-03-01T12:00:00+02", std::nullopt},
        ParseCase{"2024-03-01T12:00:00+02:0", std::nullopt},
        ParseCase{"2024-03-01T12:00:00+24:00", std::nullopt},
        ParseCase{"2024-03-01T12:00:00+02:60", std::nullopt},
        ParseCase{"2024-03-01T12:00:00.Z", std::nullopt},
        ParseCase{"2024-03-01T12:00:00.1234567890Z", std::nullopt},
        ParseCase{"2024-03-01T12:00:00ZZ", std::nullopt},
        ParseCase{"2024-03-01T12:00:00Z ", std::nullopt},
        ParseCase{"2024-03-01X12:00:00Z", std::nullopt},
        ParseCase{"2023-02-29T00:00:00Z", std::nullopt},
        ParseCase{"2024-02-30T00:00:00Z", std::nullopt},
        ParseCase{"2024-13-01T00:00:00Z", std::nullopt},
        ParseCase{"2024-00-01T00:00:00Z", std::nullopt},
        ParseCase{"2024-03-00T00:00:00Z", std::nullopt},
        ParseCase{"2024-03-01T24:00:00Z", std::nullopt},
        ParseCase{"2024-03-01T12:60:00Z", std::nullopt},
        ParseCase{"2024-03-01T12:00:61Z", std::nullopt},
        ParseCase{"1969-12-31T23:59:59Z", std::nullopt},
        // An offset must not carry the instant out of 1970..9999 (found
        // by fuzz_text_formats: it formatted as a five-digit year).
        ParseCase{"9999-12-31T23:00:00-05:30", std::nullopt},
        ParseCase{"1970-01-01T00:00:00+01:00", std::nullopt},
        ParseCase{"1970-01-01T01:00:00+01:00", 0}, ParseCase{"20x4-03-01T12:00:00Z", std::nullopt},
        ParseCase{"+2024-03-01T12:00:00Z", std::nullopt},
        ParseCase{"2024-03-01T12:00:00-0:00", std::nullopt}));

TEST(Rfc3339, RoundTripsEveryFormattedInstant) {
  const int64_t samples[] = {0,
                             1,
                             999'999,
                             kNoonUs,
                             kNoonUs + 250'000,
                             1'709'164'800'000'000 + 86'399'999'999,  // last microsecond of 29 Feb
                             253'402'300'799'999'999};
  for (int64_t us : samples) {
    std::string text = format_rfc3339(Instant{us});
    std::optional<Instant> back = parse_rfc3339(text);
    ASSERT_TRUE(back.has_value()) << text;
    EXPECT_EQ(back->micros_since_epoch, us) << text;
  }
}

TEST(Rfc3339, OffsetsNameTheSameInstantAsUtc) {
  EXPECT_EQ(parse_rfc3339("2024-12-31T23:30:00-01:00"), parse_rfc3339("2025-01-01T00:30:00Z"));
  EXPECT_EQ(format_rfc3339(*parse_rfc3339("2024-12-31T23:30:00-01:00")), "2025-01-01T00:30:00Z");
}

struct DateCase {
  const char* text;
  std::optional<LocalDate> date;
};

class LocalDateParse : public ::testing::TestWithParam<DateCase> {};

TEST_P(LocalDateParse, ParsesValidCalendarDatesOnly) {
  const DateCase& c = GetParam();
  EXPECT_EQ(parse_local_date(c.text), c.date) << c.text;
  if (c.date) {
    EXPECT_EQ(format_local_date(*c.date), c.text);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, LocalDateParse,
    ::testing::Values(DateCase{"2024-02-29", LocalDate{2024, 2, 29}},
                      DateCase{"2000-02-29", LocalDate{2000, 2, 29}},
                      DateCase{"1900-01-01", LocalDate{1900, 1, 1}},
                      DateCase{"1999-12-31", LocalDate{1999, 12, 31}},
                      DateCase{"2023-02-29", std::nullopt},  // not a leap year
                      DateCase{"1900-02-29", std::nullopt},  // century, not a leap year
                      DateCase{"2024-04-31", std::nullopt}, DateCase{"2024-13-01", std::nullopt},
                      DateCase{"2024-00-10", std::nullopt}, DateCase{"1899-12-31", std::nullopt},
                      DateCase{"2024-2-29", std::nullopt}, DateCase{"2024-02-29T", std::nullopt},
                      DateCase{"2024/02/29", std::nullopt}, DateCase{"", std::nullopt}));

TEST(LocalDate, FormatsWithZeroPadding) {
  EXPECT_EQ(format_local_date(LocalDate{987, 1, 2}), "0987-01-02");
}

TEST(ManualClock, MovesOnlyWhenTold) {
  ManualClock clock(Instant::from_seconds(100));
  EXPECT_EQ(clock.now(), Instant::from_seconds(100));
  clock.advance(Duration::from_days(1));
  EXPECT_EQ(clock.now(), Instant::from_seconds(100 + 86'400));
  clock.set(Instant{5});
  EXPECT_EQ(clock.now(), Instant{5});
}

}  // namespace
}  // namespace loyalty
