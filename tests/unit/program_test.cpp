// Specification of program settings: validation and liability valuation.
#include "domain/program.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

namespace loyalty {
namespace {

Program valid_program() {
  Program p;
  p.name = "Coffee Club";
  p.currency = "EUR";
  p.timezone = "Europe/Berlin";
  return p;
}

struct ProgramCase {
  const char* what;
  std::function<void(Program&)> change;
  bool valid;
};

class ValidateProgram : public ::testing::TestWithParam<ProgramCase> {};

TEST_P(ValidateProgram, AcceptsOrRejectsWithInvalidRequest) {
  Program p = valid_program();
  GetParam().change(p);
  Status st = validate_program(p);
  if (GetParam().valid) {
    EXPECT_TRUE(st.ok()) << GetParam().what << ": " << st.message();
  } else {
    EXPECT_EQ(st.code(), ErrorCode::kInvalidRequest) << GetParam().what;
    EXPECT_FALSE(st.message().empty());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ValidateProgram,
    ::testing::Values(
        ProgramCase{"defaults", [](Program&) {}, true},
        ProgramCase{"USD", [](Program& p) { p.currency = "USD"; }, true},
        ProgramCase{"JPY", [](Program& p) { p.currency = "JPY"; }, true},
        ProgramCase{"lower-case currency", [](Program& p) { p.currency = "eur"; }, false},
        ProgramCase{"unknown currency", [](Program& p) { p.currency = "XXX"; }, false},
        ProgramCase{"two-letter currency", [](Program& p) { p.currency = "EU"; }, false},
        ProgramCase{"empty currency", [](Program& p) { p.currency = ""; }, false},
        ProgramCase{"UTC", [](Program& p) { p.timezone = "UTC"; }, true},
        ProgramCase{"America/New_York", [](Program& p) { p.timezone = "America/New_York"; }, true},
        ProgramCase{"Mars/Base", [](Program& p) { p.timezone = "Mars/Base"; }, false},
        ProgramCase{"empty zone", [](Program& p) { p.timezone = ""; }, false},
        ProgramCase{"offset as zone", [](Program& p) { p.timezone = "+02:00"; }, false},
        ProgramCase{"65-char zone", [](Program& p) { p.timezone = std::string(65, 'A'); }, false},
        ProgramCase{"empty name", [](Program& p) { p.name = ""; }, false},
        ProgramCase{"200-char name", [](Program& p) { p.name = std::string(200, 'n'); }, true},
        ProgramCase{"201-char name", [](Program& p) { p.name = std::string(201, 'n'); }, false},
        ProgramCase{"empty points name", [](Program& p) { p.points_name = ""; }, false},
        ProgramCase{"50-char points name", [](Program& p) { p.points_name = std::string(50, 'p'); },
                    true},
        ProgramCase{"51-char points name", [](Program& p) { p.points_name = std::string(51, 'p'); },
                    false},
        ProgramCase{"worthless points", [](Program& p) { p.point_value_minor = 0; }, true},
        ProgramCase{"negative value", [](Program& p) { p.point_value_minor = -1; }, false},
        ProgramCase{"max value", [](Program& p) { p.point_value_minor = 1'000'000'000; }, true},
        ProgramCase{"value above max", [](Program& p) { p.point_value_minor = 1'000'000'001; },
                    false},
        ProgramCase{"zero points per value", [](Program& p) { p.point_value_points = 0; }, false},
        ProgramCase{"max points per value",
                    [](Program& p) { p.point_value_points = 1'000'000'000; }, true},
        ProgramCase{"points per value above max",
                    [](Program& p) { p.point_value_points = 1'000'000'001; }, false},
        ProgramCase{"transfers disabled", [](Program& p) { p.transfers.enabled = false; }, true},
        ProgramCase{"min transfer 0", [](Program& p) { p.transfers.min_points = 0; }, false},
        ProgramCase{"max below min",
                    [](Program& p) {
                      p.transfers.min_points = 10;
                      p.transfers.max_points = 9;
                    },
                    false},
        ProgramCase{"max equals min",
                    [](Program& p) {
                      p.transfers.min_points = 10;
                      p.transfers.max_points = 10;
                    },
                    true},
        ProgramCase{"negative max", [](Program& p) { p.transfers.max_points = -1; }, false},
        ProgramCase{"daily limit", [](Program& p) { p.transfers.daily_limit_points = 500; }, true},
        ProgramCase{"negative daily limit", [](Program& p) { p.transfers.daily_limit_points = -1; },
                    false},
        ProgramCase{"min above max per posting",
                    [](Program& p) { p.transfers.min_points = 1'000'000'000'001; }, false}));

TEST(Currency, KnowsMinorUnitExponents) {
  EXPECT_EQ(currency_exponent("USD"), 2);
  EXPECT_EQ(currency_exponent("EUR"), 2);
  EXPECT_EQ(currency_exponent("JPY"), 0);
  EXPECT_EQ(currency_exponent("KWD"), 3);
  EXPECT_EQ(currency_exponent("usd"), std::nullopt);
  EXPECT_EQ(currency_exponent("XXX"), std::nullopt);
}

struct ValueCase {
  int64_t value_minor;
  int64_t value_points;
  int64_t points;
  int64_t expected_minor;
};

class PointsValue : public ::testing::TestWithParam<ValueCase> {};

TEST_P(PointsValue, RoundsHalfAwayFromZero) {
  Program p = valid_program();
  p.point_value_minor = GetParam().value_minor;
  p.point_value_points = GetParam().value_points;
  EXPECT_EQ(points_value_minor(p, GetParam().points), GetParam().expected_minor)
      << GetParam().points << " points at " << GetParam().value_minor << "/"
      << GetParam().value_points;
}

INSTANTIATE_TEST_SUITE_P(
    Table, PointsValue,
    ::testing::Values(ValueCase{1, 1, 100, 100}, ValueCase{1, 1, -100, -100}, ValueCase{1, 1, 0, 0},
                      ValueCase{0, 1, 12345, 0},
                      // 1 minor unit per 2 points: exact halves round away from zero.
                      ValueCase{1, 2, 1, 1}, ValueCase{1, 2, -1, -1}, ValueCase{1, 2, 3, 2},
                      ValueCase{1, 2, -3, -2}, ValueCase{1, 2, 4, 2},
                      // 1 per 3: thirds round to nearest.
                      ValueCase{1, 3, 1, 0}, ValueCase{1, 3, 2, 1}, ValueCase{1, 3, -1, 0},
                      ValueCase{1, 3, -2, -1},
                      // 5 per 100 points (1 point = 0.05): 10 points = 0.5 -> 1.
                      ValueCase{5, 100, 10, 1}, ValueCase{5, 100, 9, 0}, ValueCase{5, 100, -10, -1},
                      ValueCase{5, 100, -9, 0},
                      // No overflow for large balances (128-bit intermediate).
                      ValueCase{1'000'000'000, 1, 1'000'000'000, 1'000'000'000'000'000'000},
                      ValueCase{7, 1'000'000'000, 1'000'000'000'000, 7000}));

TEST(NegativeBalancePolicy, RoundTripsItsName) {
  EXPECT_STREQ(to_string(NegativeBalancePolicy::kForbid), "forbid");
  EXPECT_STREQ(to_string(NegativeBalancePolicy::kAllow), "allow");
  EXPECT_EQ(parse_negative_balance_policy("allow"), NegativeBalancePolicy::kAllow);
  EXPECT_EQ(parse_negative_balance_policy("forbid"), NegativeBalancePolicy::kForbid);
  EXPECT_EQ(parse_negative_balance_policy("Allow"), std::nullopt);
}

}  // namespace
}  // namespace loyalty
