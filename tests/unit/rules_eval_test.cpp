// Specification of the rules language's evaluation: every operator and
// function, as tables of `source -> value` over one sample order
// (rules_test_support.h: $120.50 total, 3 items, member "gold", now =
// 2026-11-20T12:00:00Z, USD so money has 2 decimals).
#include <gtest/gtest.h>

#include <array>
#include <utility>

#include "domain/rules/node.h"
#include "rules_test_support.h"

namespace loyalty::rules {
namespace {

using testing::run;
using testing::SampleData;

struct EvalCase {
  const char* source;
  const char* expected;  // see testing::render
};

class RulesEval : public ::testing::TestWithParam<EvalCase> {
 protected:
  static void SetUpTestSuite() { data_ = new SampleData(); }
  static void TearDownTestSuite() {
    delete data_;
    data_ = nullptr;
  }
  static SampleData* data_;
};
SampleData* RulesEval::data_ = nullptr;

TEST_P(RulesEval, EvaluatesToTheExpectedValue) {
  EXPECT_EQ(run(GetParam().source, *data_), GetParam().expected) << GetParam().source;
}

INSTANTIATE_TEST_SUITE_P(
    Precedence, RulesEval,
    ::testing::Values(EvalCase{"1 + 2 * 3", "int 7"}, EvalCase{"(1 + 2) * 3", "int 9"},
                      EvalCase{"10 - 4 - 3", "int 3"},  // left-associative
                      EvalCase{"100 / 10 / 5", "int 2"}, EvalCase{"-2 * 3", "int -6"},
                      EvalCase{"--2", "int 2"}, EvalCase{"2 * -3 + 1", "int -5"},
                      EvalCase{"1 + 1 == 2", "true"},  // arithmetic binds tighter than ==
                      EvalCase{"true || false && false", "true"},  // && before ||
                      EvalCase{"(true || false) && false", "false"},
                      EvalCase{"!false && false", "false"},  // ! binds tightest
                      EvalCase{"!(false && false)", "true"},
                      EvalCase{"1 < 2 == true", "true"},  // relations are left-associative
                      EvalCase{"false ? 1 : true ? 2 : 3", "int 2"},  // ?: is right-associative
                      EvalCase{"1 + 2 > 2 ? \"yes\" : \"no\"", "string yes"},
                      EvalCase{"2 in [1, 2] && 3 in [3]", "true"}, EvalCase{"7 % 4 * 2", "int 6"}));

INSTANTIATE_TEST_SUITE_P(
    IntegerArithmetic, RulesEval,
    ::testing::Values(EvalCase{"7 / 2", "int 3"},    // truncates toward zero
                      EvalCase{"-7 / 2", "int -3"},  // ... also when negative
                      EvalCase{"7 % 3", "int 1"},
                      EvalCase{"-7 % 3", "int -1"},  // the sign of the dividend
                      EvalCase{"order.item_count * 25", "int 100"},
                      EvalCase{"member.available - 200", "int 1000"}, EvalCase{"abs(-5)", "int 5"},
                      EvalCase{"min(3, 1, 2)", "int 1"}, EvalCase{"max(3, 1, 2)", "int 3"},
                      EvalCase{"9223372036854775807 - 1", "int 9223372036854775806"},
                      EvalCase{"-9223372036854775807 - 1", "int -9223372036854775808"}));

INSTANTIATE_TEST_SUITE_P(
    DecimalAndMoney, RulesEval,
    ::testing::Values(
        EvalCase{"1.5 + 1", "decimal 2.500000"}, EvalCase{"0.1 + 0.2 == 0.3", "true"},
        EvalCase{"2 * 1.25", "decimal 2.500000"}, EvalCase{"1.5 * 1.5", "decimal 2.250000"},
        EvalCase{"1 / 3.0", "decimal 0.333333"},  // 6 places, half away from zero
        EvalCase{"2 / 3.0", "decimal 0.666667"}, EvalCase{"-2 / 3.0", "decimal -0.666667"},
        EvalCase{"0.000001 * 0.5", "decimal 0.000001"},  // 0.0000005 rounds away from zero
        EvalCase{"order.total", "money 120.50"},
        EvalCase{"order.total >= 50.00", "true"},  // a decimal meeting money is major units
        EvalCase{"order.total >= 50", "true"}, EvalCase{"order.total == 120.5", "true"},
        EvalCase{"order.total > 120.505", "false"},  // compared exactly, not rounded
        EvalCase{"order.total < 120.505", "true"}, EvalCase{"order.total + 10", "money 130.50"},
        EvalCase{"order.total - 0.50", "money 120.00"}, EvalCase{"order.total * 2", "money 241.00"},
        EvalCase{"order.total * 1.5", "money 180.75"},
        EvalCase{"order.total * 0.333", "money 40.13"},  // 40.1265 -> 40.13
        EvalCase{"order.total / 3", "money 40.17"},      // 40.1666.. -> 40.17
        EvalCase{"order.total / 4", "money 30.13"},      // 30.125 -> 30.13 (half away)
        EvalCase{"-order.total / 4", "money -30.13"}, EvalCase{"order.total / 2.5", "money 48.20"},
        EvalCase{"order.total / order.subtotal", "decimal 1.095455"},
        EvalCase{"order.subtotal - order.discount + order.shipping + order.tax == order.total",
                 "true"},
        EvalCase{"floor(order.total)", "int 120"},  // whole major units
        EvalCase{"ceil(order.total)", "int 121"}, EvalCase{"round(order.total)", "int 121"},
        EvalCase{"floor(order.total / 10)", "int 12"}, EvalCase{"floor(2.7)", "int 2"},
        EvalCase{"floor(-2.5)", "int -3"}, EvalCase{"ceil(-2.5)", "int -2"},
        EvalCase{"round(2.5)", "int 3"}, EvalCase{"round(-2.5)", "int -3"},
        EvalCase{"round(2.4999)", "int 2"}, EvalCase{"floor(7)", "int 7"},
        EvalCase{"abs(-1.5)", "decimal 1.500000"}, EvalCase{"abs(-order.total)", "money 120.50"},
        EvalCase{"min(order.total, 100)", "money 100.00"},
        EvalCase{"max(1, 2.5)", "decimal 2.500000"},
        EvalCase{"sum(order.items, i, i.total) == order.subtotal", "true"}));

INSTANTIATE_TEST_SUITE_P(
    Comparison, RulesEval,
    ::testing::Values(
        EvalCase{"1 == 1", "true"}, EvalCase{"1 != 1", "false"}, EvalCase{"1 < 2", "true"},
        EvalCase{"2 <= 2", "true"}, EvalCase{"3 > 2", "true"}, EvalCase{"2 >= 3", "false"},
        EvalCase{"1 == 1.0", "true"}, EvalCase{"true == true", "true"},
        EvalCase{"true != false", "true"}, EvalCase{"\"a\" < \"b\"", "true"},
        EvalCase{"\"abc\" <= \"abd\"", "true"}, EvalCase{"\"b\" > \"abc\"", "true"},
        EvalCase{"\"b\" >= \"b\"", "true"}, EvalCase{"\"B\" == \"b\"", "false"},
        EvalCase{"order.channel != \"pos\"", "true"}, EvalCase{"order.placed_at < now", "true"},
        EvalCase{"order.placed_at >= date(\"2026-11-20\")", "true"},  // a date is its midnight UTC
        EvalCase{"order.placed_at < date(\"2026-11-21\")", "true"},
        EvalCase{"date(\"2026-11-20\") == date(order.placed_at)", "true"},
        EvalCase{"days(1) > hours(23)", "true"}));

INSTANTIATE_TEST_SUITE_P(
    Logic, RulesEval,
    ::testing::Values(EvalCase{"true && true", "true"}, EvalCase{"true && false", "false"},
                      EvalCase{"false || true", "true"}, EvalCase{"false || false", "false"},
                      EvalCase{"!true", "false"},
                      // Short-circuit: the right side is not evaluated, so its error is not met.
                      EvalCase{"false && order.total / 0 > 1", "false"},
                      EvalCase{"true || order.total / 0 > 1", "true"},
                      EvalCase{"order.is_first_order ? order.total / 0 > 1 : true", "true"},
                      EvalCase{"true && order.total / 0 > 1", "error division_by_zero"},
                      EvalCase{"order.is_first_order", "false"},
                      EvalCase{"order.total > 100 ? 2 : 1.5", "decimal 2.000000"}));

INSTANTIATE_TEST_SUITE_P(
    Strings, RulesEval,
    ::testing::Values(EvalCase{"order.channel", "string web"},
                      EvalCase{"starts_with(order.id, \"ord_\")", "true"},
                      EvalCase{"order.id.starts_with(\"ord_\")", "true"},  // method form
                      EvalCase{"ends_with(member.email, \"@example.com\")", "true"},
                      EvalCase{"contains(member.email, \"@\")", "true"},
                      EvalCase{"contains(member.email, \"\")", "true"},
                      EvalCase{"member.email.contains(\"nobody\")", "false"},
                      EvalCase{"equals_ignore_case(member.tier, \"GOLD\")", "true"},
                      EvalCase{"equals_ignore_case(\"Zürich\", \"ZÜRICH\")",
                               "false"},  // ASCII letters only
                      EvalCase{"size(\"abc\")", "int 3"}, EvalCase{"len(\"\")", "int 0"},
                      EvalCase{"size(\"Zürich\")", "int 6"},  // code points, not bytes
                      EvalCase{"size(\"日本\")", "int 2"},
                      EvalCase{"member.attributes.city == \"Zürich\"", "true"},
                      EvalCase{"\"\\u00fc\" == \"ü\"", "true"},  // \u escapes
                      EvalCase{"'single' == \"single\"", "true"},
                      EvalCase{"\"tab\\there\" != \"tab here\"", "true"},
                      EvalCase{"\"🎉 party\".starts_with(\"🎉\")", "true"}));

INSTANTIATE_TEST_SUITE_P(
    Membership, RulesEval,
    ::testing::Values(
        EvalCase{"member.tier in [\"gold\", \"platinum\"]", "true"},
        EvalCase{"member.tier in [\"silver\"]", "false"}, EvalCase{"member.tier in []", "false"},
        EvalCase{"2 in [1, 2, 3]", "true"}, EvalCase{"2 in [1.5, 2.0]", "true"},
        EvalCase{"order.total in [100, 120.50]", "true"},
        EvalCase{"order.channel in [\"web\", member.tier]", "true"},  // elements may be fields
        EvalCase{"item.category in [\"shoes\", \"boots\"]", "true"},
        EvalCase{"\"vip\" in member.attributes", "true"},  // key of an attributes map
        EvalCase{"\"tier\" in member.attributes", "false"},
        EvalCase{"!(\"x\" in order.attributes)", "true"}, EvalCase{"size([1, 2, 3])", "int 3"}));

INSTANTIATE_TEST_SUITE_P(
    Attributes, RulesEval,
    ::testing::Values(
        EvalCase{"order.attributes.coupon", "string WELCOME10"},
        EvalCase{"order.attributes[\"gift.wrap\"]", "string yes"},
        // A missing key reads as "": comparisons with it are ordinary string comparisons.
        EvalCase{"member.attributes.nickname", "string "},
        EvalCase{"member.attributes.nickname == \"\"", "true"},
        EvalCase{"has(member.attributes.nickname)", "false"},
        EvalCase{"has(member.attributes.vip)", "true"},
        EvalCase{"has(order.attributes[\"gift.wrap\"])", "true"},
        EvalCase{"size(order.attributes)", "int 2"},
        EvalCase{"item.attributes.brand", "string Acme"},
        EvalCase{"int(event.attributes.rating) >= 4", "true"},
        EvalCase{"decimal(event.attributes.weight)", "decimal 1.250000"},
        EvalCase{"int(member.attributes.nickname)", "error invalid_conversion"},
        EvalCase{"has(member.attributes.nickname) && int(member.attributes.nickname) > 1", "false"},
        EvalCase{"event.type == \"review.posted\"", "true"},
        EvalCase{"program.currency", "string USD"}));

INSTANTIATE_TEST_SUITE_P(
    Macros, RulesEval,
    ::testing::Values(
        EvalCase{"any(order.items, i, i.category == \"shoes\")", "true"},
        EvalCase{"any(order.items, i, i.category == \"boots\")", "false"},
        EvalCase{"all(order.items, i, i.quantity >= 1)", "true"},
        EvalCase{"all(order.items, i, i.unit_price >= 10)", "true"},
        EvalCase{"all(order.items, i, i.category == \"shoes\")", "false"},
        EvalCase{"count(order.items, i, i.total >= 15)", "int 2"},
        EvalCase{"sum(order.items, i, i.quantity)", "int 4"},
        EvalCase{"sum(order.items, i, i.total)", "money 110.00"},
        EvalCase{"sum(order.items, i, i.category in [\"shoes\", \"socks\"] ? i.total : 0)",
                 "money 100.00"},
        EvalCase{"any(order.items, item_line, item_line.attributes.brand == \"Acme\")", "true"},
        EvalCase{"any(order.items, i, has(i.attributes.brand))", "true"},
        EvalCase{"size(order.items)", "int 3"},
        // The macro stops at the first match: the failing item comes after it.
        EvalCase{"any(order.items, i, i.category == \"shoes\" || i.total / 0 > 1)", "true"},
        EvalCase{"all(order.items, i, i.total / 0 > 1)", "error division_by_zero"}));

INSTANTIATE_TEST_SUITE_P(
    DatesAndDurations, RulesEval,
    ::testing::Values(
        EvalCase{"date(\"2026-12-24\")", "date 2026-12-24"},
        EvalCase{"timestamp(\"2026-12-24T18:00:00+01:00\")", "instant 2026-12-24T17:00:00Z"},
        EvalCase{"now", "instant 2026-11-20T12:00:00Z"}, EvalCase{"date(now)", "date 2026-11-20"},
        EvalCase{"days(30)", "duration 2592000s"}, EvalCase{"hours(2)", "duration 7200s"},
        EvalCase{"minutes(90)", "duration 5400s"},
        EvalCase{"now - days(3)", "instant 2026-11-17T12:00:00Z"},
        EvalCase{"days(1) + now", "instant 2026-11-21T12:00:00Z"},
        EvalCase{"now - order.placed_at", "duration 7200s"},
        EvalCase{"now - order.placed_at < hours(3)", "true"},
        EvalCase{"date(\"2026-12-24\") + days(8)", "date 2027-01-01"},
        EvalCase{"date(\"2026-03-01\") - days(1)", "date 2026-02-28"},
        EvalCase{"date(\"2026-12-24\") + hours(25)", "date 2026-12-25"},  // floored to days
        EvalCase{"date(\"2026-12-24\") - hours(1)", "date 2026-12-23"},
        EvalCase{"date(\"2026-12-24\") - date(\"2026-12-01\")", "duration 1987200s"},
        EvalCase{"days_since(member.enrolled_at)", "int 674"},
        EvalCase{"days_since(order.placed_at)", "int 0"},  // whole days, floored
        EvalCase{"days_since(date(\"2026-11-19\"))", "int 1"},
        EvalCase{"days_until(date(\"2026-12-24\"))", "int 34"},
        EvalCase{"days_until(timestamp(\"2026-11-21T11:00:00Z\"))", "int 0"},
        EvalCase{"year(member.birthday)", "int 1990"},
        EvalCase{"month(member.birthday) == month(now)", "false"},
        EvalCase{"day(member.birthday)", "int 1"},
        EvalCase{"weekday(now)", "int 5"},  // Friday; Monday is 1
        EvalCase{"weekday(date(\"2026-11-22\"))", "int 7"},
        EvalCase{"days_until_anniversary(member.birthday)", "int 11"},
        EvalCase{"days_until_anniversary(date(\"2000-11-20\"))", "int 0"},
        EvalCase{"days_until_anniversary(date(\"2000-11-19\"))", "int 364"},
        EvalCase{"days_until_anniversary(date(\"2000-02-29\"))", "int 100"},  // Feb 28 in 2027
        EvalCase{"has(member.birthday)", "true"},
        EvalCase{"order.placed_at >= date(\"2026-11-01\") && "
                 "order.placed_at < date(\"2026-12-01\")",
                 "true"},
        EvalCase{"abs(-days(1))", "duration 86400s"},
        EvalCase{"min(days(1), hours(2))", "duration 7200s"}));

INSTANTIATE_TEST_SUITE_P(
    Conversions, RulesEval,
    ::testing::Values(EvalCase{"int(\"42\")", "int 42"}, EvalCase{"int(\"-42\")", "int -42"},
                      EvalCase{"int(2.9)", "int 2"}, EvalCase{"int(-2.9)", "int -2"},  // truncates
                      EvalCase{"decimal(\"1.5\")", "decimal 1.500000"},
                      EvalCase{"decimal(3)", "decimal 3.000000"},
                      EvalCase{"decimal(order.total)", "decimal 120.500000"},
                      EvalCase{"money(\"12.5\")", "money 12.50"},
                      EvalCase{"money(12)", "money 12.00"}, EvalCase{"money(1.25)", "money 1.25"},
                      EvalCase{"int(member.attributes.rating) * 10", "int 40"},
                      EvalCase{"decimal(member.attributes.city)", "error invalid_conversion"},
                      EvalCase{"money(event.attributes.weight)", "money 1.25"}));

INSTANTIATE_TEST_SUITE_P(
    RuntimeErrors, RulesEval,
    ::testing::Values(
        EvalCase{"order.total / 0", "error division_by_zero"},
        EvalCase{"member.available % 0", "error division_by_zero"},
        EvalCase{"order.total / (order.total - order.total)", "error division_by_zero"},
        EvalCase{"member.available * 9223372036854775807", "error overflow"},
        EvalCase{"order.total * 100000000000000000", "error overflow"},
        EvalCase{"-9223372036854775807 - member.available", "error overflow"},
        EvalCase{"decimal(order.total) * 100000000000", "error overflow"},  // > 9.2e12
        EvalCase{"days(member.available * 100000000000000)", "error overflow"},
        EvalCase{"int(event.attributes.product)", "error invalid_conversion"},
        EvalCase{"sum(order.items, i, i.total * 1000000000000000)", "error overflow"},
        // An error anywhere evaluated poisons the result, even under !.
        EvalCase{"!(order.total / 0 > 1)", "error division_by_zero"}));

// "field op constant" and "constant op field" compile to one fused node
// (kCompareLoadConst / kCompareLoadString, the constant side mirrored): every
// operator, both ways round, on each kind of value.
INSTANTIATE_TEST_SUITE_P(
    FieldAgainstConstant, RulesEval,
    ::testing::Values(
        EvalCase{"order.total == 120.50", "true"}, EvalCase{"120.50 == order.total", "true"},
        EvalCase{"order.total != 120.50", "false"}, EvalCase{"120.50 != order.total", "false"},
        EvalCase{"order.total < 200", "true"}, EvalCase{"200 < order.total", "false"},
        EvalCase{"order.total > 200", "false"}, EvalCase{"200 > order.total", "true"},
        EvalCase{"order.total <= 120.50", "true"}, EvalCase{"120.51 <= order.total", "false"},
        EvalCase{"120.50 <= order.total", "true"}, EvalCase{"order.total >= 120.51", "false"},
        EvalCase{"121 >= order.total", "true"}, EvalCase{"120.49 >= order.total", "false"},
        EvalCase{"order.item_count >= 3", "true"}, EvalCase{"5 <= order.item_count", "false"},
        EvalCase{"member.tier == \"gold\"", "true"}, EvalCase{"\"gold\" == member.tier", "true"},
        EvalCase{"\"gold\" != member.tier", "false"}, EvalCase{"member.tier != \"Gold\"", "true"},
        EvalCase{"member.tier < \"h\"", "true"}, EvalCase{"\"h\" < member.tier", "false"},
        EvalCase{"\"h\" > member.tier", "true"}, EvalCase{"member.tier > \"h\"", "false"},
        EvalCase{"\"gold\" <= member.tier", "true"}, EvalCase{"\"golda\" <= member.tier", "false"},
        EvalCase{"member.tier >= \"golda\"", "false"}, EvalCase{"\"f\" >= member.tier", "false"},
        EvalCase{"item.category == \"shoes\"", "true"}, EvalCase{"\"\" == item.category", "false"},
        EvalCase{"order.placed_at >= date(\"2026-11-01\")", "true"},
        EvalCase{"date(\"2026-11-01\") >= order.placed_at", "false"},
        EvalCase{"member.birthday == date(\"1990-12-01\")", "true"},
        EvalCase{"date(\"1990-12-02\") > member.birthday", "true"}));

TEST(RulesEvalFused, FieldAgainstConstantIsOneNodeWithTheComparisonMirrored) {
  auto root_of = [](const char* source) {
    auto e = compile(source, testing::all_roots(), Type::kBool);
    EXPECT_TRUE(e.ok()) << source;
    const detail::CompiledProgram& p = e->program();
    const detail::Node& n = p.nodes[p.root];
    return std::pair<detail::Op, detail::Op>{n.op, static_cast<detail::Op>(n.c)};
  };
  using detail::Op;
  EXPECT_EQ(root_of("item.category == \"shoes\""),
            std::make_pair(Op::kCompareLoadString, Op::kEqString));
  EXPECT_EQ(root_of("\"h\" < member.tier"), std::make_pair(Op::kCompareLoadString, Op::kGtString));
  EXPECT_EQ(root_of("order.total >= 50.00"), std::make_pair(Op::kCompareLoadConst, Op::kGe));
  EXPECT_EQ(root_of("3 <= order.item_count"), std::make_pair(Op::kCompareLoadConst, Op::kGe));
  // Not that shape: stays a plain comparison of two evaluated children.
  EXPECT_EQ(root_of("order.total >= order.subtotal").first, Op::kGe);
  EXPECT_EQ(root_of("order.attributes.coupon == \"X\"").first, Op::kEqString);
}

TEST(RulesEvalFused, AbsentFieldInAFusedComparisonIsStillAnError) {
  SampleData data;
  data.member.birthday.reset();
  EXPECT_EQ(run("member.birthday == date(\"1990-12-01\")", data), "error absent");
  EXPECT_EQ(run("date(\"1990-12-01\") < member.birthday", data), "error absent");
}

TEST(RulesEvalItemFilter, MatchesWhatEvaluateConditionSaysPerItem) {
  SampleData data;
  for (const char* source : {"item.category == \"socks\"", "item.quantity >= 1",
                             "item.category in [\"hats\", \"shoes\"]", "item.total / 0 > 1",
                             "item.attributes.brand == \"Acme\"", "false"}) {
    auto e = compile(source, testing::all_roots(), Type::kBool);
    ASSERT_TRUE(e.ok()) << source;
    std::array<uint8_t, 3> match{9, 9, 9};
    const size_t n = evaluate_item_filter(*e, data.context(), data.order.items, match);
    size_t expected_n = 0;
    for (size_t i = 0; i < data.items.size(); ++i) {
      Context c = data.context();
      c.item = &data.items[i];
      const bool expected = evaluate_condition(*e, c);
      EXPECT_EQ(match[i], expected ? 1 : 0) << source << " item " << i;
      expected_n += expected ? 1 : 0;
    }
    EXPECT_EQ(n, expected_n) << source;
  }
}

TEST(RulesEvalErrors, AbsentOptionalFieldIsAnErrorUnlessGuardedByHas) {
  SampleData data;
  data.member.birthday.reset();
  EXPECT_EQ(run("month(member.birthday) == 12", data), "error absent");
  EXPECT_EQ(run("has(member.birthday) && month(member.birthday) == 12", data), "false");
  EXPECT_EQ(run("!has(member.birthday)", data), "true");
}

TEST(RulesEvalErrors, ErrorsPointAtTheFailingNode) {
  SampleData data;
  auto e = compile("order.total > 0 && order.total / 0 > 1", testing::all_roots(), Type::kBool);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EvalResult r;
  EXPECT_FALSE(evaluate_condition(*e, data.context(), &r));
  EXPECT_EQ(r.error, EvalError::kDivisionByZero);
  EXPECT_EQ(r.error_offset, 31);  // the '/'
  CompileError where = position_of(e->source(), r.error_offset, eval_error_name(r.error));
  EXPECT_EQ(where.to_string(), "1:32: division_by_zero");
}

TEST(RulesEvalErrors, EmptyItemListMakesAnyFalseAllTrueAndSumZero) {
  SampleData data;
  data.order.items = {};
  EXPECT_EQ(run("any(order.items, i, true)", data), "false");
  EXPECT_EQ(run("all(order.items, i, false)", data), "true");
  EXPECT_EQ(run("count(order.items, i, true)", data), "int 0");
  EXPECT_EQ(run("sum(order.items, i, i.total)", data), "money 0.00");
}

}  // namespace
}  // namespace loyalty::rules
