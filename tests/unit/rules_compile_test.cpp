// Specification of the rules language's compile-time checks: syntax, types,
// environments and limits, each error with its line:column and message.
#include <gtest/gtest.h>

#include <string>

#include "rules_test_support.h"

namespace loyalty::rules {
namespace {

using testing::all_roots;
using testing::compile_error;

struct ErrorCase {
  const char* source;
  const char* error;  // "line:column: message", or "ok"
};

class RulesCompileError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(RulesCompileError, ReportsTheFirstErrorWithItsPosition) {
  EXPECT_EQ(compile_error(GetParam().source), GetParam().error) << GetParam().source;
}

INSTANTIATE_TEST_SUITE_P(
    Syntax, RulesCompileError,
    ::testing::Values(
        ErrorCase{"", "1:1: expected a value, got end of input"},
        ErrorCase{"1 +", "1:4: expected a value, got end of input"},
        ErrorCase{"(1 + 2", "1:7: expected ')', got end of input"},
        ErrorCase{"1 2", "1:3: unexpected a number after the expression"},
        ErrorCase{"order.total = 5", "1:13: '=' is not an operator; use '==' to compare"},
        ErrorCase{"true & false", "1:6: '&' is not an operator; use '&&'"},
        ErrorCase{"true | false", "1:6: '|' is not an operator; use '||'"},
        ErrorCase{"order.total >= 50$", "1:18: unexpected character '$'"},
        ErrorCase{"\"abc", "1:1: unterminated string literal"},
        ErrorCase{"\"a\\qb\"", "1:3: unknown escape sequence in string literal"},
        ErrorCase{"\"\\u12\"", "1:2: \\u needs four hex digits"},
        ErrorCase{"\"\xff\"", "1:2: invalid UTF-8 in string literal"},
        ErrorCase{"\"\xc3\x28\"", "1:2: invalid UTF-8 in string literal"},
        ErrorCase{"1.1234567", "1:1: decimal literal has more than 6 digits after the point"},
        ErrorCase{"9223372036854775808", "1:1: integer literal does not fit in 64 bits"},
        ErrorCase{"12abc", "1:3: unexpected character after a number"},
        ErrorCase{"1.5.3", "1:5: expected a field name after '.', got a number"},
        ErrorCase{"f(1,", "1:5: expected a value, got end of input"},
        ErrorCase{"[1, 2", "1:6: expected ']' or ',', got end of input"},
        ErrorCase{"true ? 1", "1:9: expected ':' of '?:', got end of input"},
        ErrorCase{"order.total >= 50.00 &&\n  order.totl > 1",
                  "2:9: unknown field order.totl (did you mean order.total?)"}));

INSTANTIATE_TEST_SUITE_P(
    Names, RulesCompileError,
    ::testing::Values(
        ErrorCase{"order.totl > 1", "1:7: unknown field order.totl (did you mean order.total?)"},
        ErrorCase{"member.teir == \"gold\"",
                  "1:8: unknown field member.teir (did you mean member.tier?)"},
        ErrorCase{"order.frobnicate", "1:7: unknown field order.frobnicate"},
        ErrorCase{"ordr.total > 1", "1:1: unknown name ordr (did you mean order?)"},
        ErrorCase{"flor(1.5)", "1:1: unknown function flor() (did you mean floor()?)"},
        ErrorCase{"order", "1:1: order is not a value; use one of its fields, such as order.total"},
        ErrorCase{"now.day", "1:5: now is an instant and has no fields"},
        ErrorCase{"order.total.amount", "1:13: order.total is money and has no field 'amount'"},
        ErrorCase{"order.items",
                  "1:7: order.items is a list of items: use it in any(), all(), count(), sum() "
                  "or size()"},
        ErrorCase{"member.attributes",
                  "1:8: member.attributes is an attributes map: read one entry with "
                  "member.attributes.name, or test one with has(member.attributes.name)"},
        ErrorCase{"member.attributes.a.b",
                  "1:21: attribute values are strings and have no fields (for a key with a dot, "
                  "write member.attributes[\"a.b\"])"},
        ErrorCase{"member.attributes[member.tier]",
                  "1:19: the key in member.attributes[...] must be a string literal"},
        ErrorCase{"order.total[\"x\"]",
                  "1:12: '[...]' can only follow an attributes map such as order.attributes"}));

INSTANTIATE_TEST_SUITE_P(
    Types, RulesCompileError,
    ::testing::Values(
        ErrorCase{"order.total && true", "1:1: expected bool, got money"},
        ErrorCase{"true && order.total", "1:9: expected bool, got money"},
        ErrorCase{"!1", "1:2: expected bool, got int"},
        ErrorCase{"1 ? 2 : 3", "1:1: expected bool, got int"},
        ErrorCase{"order.total + \"x\"", "1:13: cannot add string to money"},
        ErrorCase{"now - 1", "1:5: cannot subtract int from instant"},
        ErrorCase{"\"a\" + \"b\"",
                  "1:5: strings cannot be concatenated (evaluation never builds strings)"},
        ErrorCase{"order.total * order.total", "1:13: cannot multiply money by money"},
        ErrorCase{"2 / order.total", "1:3: cannot divide int by money"},
        ErrorCase{"1 % 2.0", "1:3: '%' needs two ints, got int and decimal"},
        ErrorCase{"member.tier > 3", "1:13: cannot compare string with int"},
        ErrorCase{"now == 1", "1:5: cannot compare instant and int"},
        ErrorCase{"true < false",
                  "1:6: bool values are not ordered: '<' needs numbers, strings, instants, dates "
                  "or durations"},
        ErrorCase{"-\"x\"", "1:1: cannot negate string"},
        ErrorCase{"true ? 1 : \"a\"",
                  "1:6: the branches of ?: have different types: int and string"},
        ErrorCase{"1 in member.tier",
                  "1:6: 'in' needs a list [...] or an attributes map on its right, got string"},
        ErrorCase{"1 in [2, \"a\"]", "1:10: 'in' compares int and string"},
        ErrorCase{"1 in member.attributes", "1:1: keys of member.attributes are strings, got int"},
        ErrorCase{"[1, 2]", "1:1: a list [...] can only appear on the right of 'in' or in size()"},
        ErrorCase{"order.total + 0.005",
                  "1:15: 0.005 has more decimal places than the currency's 2"},
        ErrorCase{"order.total in [0.001]",
                  "1:17: 0.001 has more decimal places than the currency's 2"},
        ErrorCase{"has(order.total)",
                  "1:5: has() needs an attribute such as member.attributes.vip or an optional "
                  "field such as member.birthday; order.total is always present"},
        ErrorCase{"has(1)",
                  "1:5: has() needs an attribute such as member.attributes.vip or an optional "
                  "field such as member.birthday"},
        ErrorCase{"floor(\"x\")", "1:7: floor() needs int, decimal or money, got string"},
        ErrorCase{"abs(1, 2)", "1:1: abs() takes 1 argument, got 2"},
        ErrorCase{"min(1)", "1:1: min() takes 2 or more arguments"},
        ErrorCase{"max(1, \"a\")", "1:8: max() cannot mix int and string"},
        ErrorCase{"starts_with(order.id, 1)", "1:23: starts_with() needs strings, got int"},
        ErrorCase{"days(1.5)", "1:6: days() needs an int, got decimal"},
        ErrorCase{"days_since(order.total)",
                  "1:12: days_since() needs an instant or a date, got money"},
        ErrorCase{"int(order.total)",
                  "1:5: int() needs a string or a decimal (for money use floor, ceil or round), "
                  "got money"},
        ErrorCase{"size(order.total)", "1:6: size() needs a string, a list or a map, got money"},
        ErrorCase{"date(\"2026-02-30\")",
                  "1:6: invalid date \"2026-02-30\" (expected YYYY-MM-DD, a real day, year 1900 "
                  "or later)"},
        ErrorCase{"date(member.tier)",
                  "1:6: date() needs a string literal such as \"2026-12-24\" or an instant, got "
                  "string"},
        ErrorCase{"timestamp(\"yesterday\")",
                  "1:11: invalid timestamp \"yesterday\" (expected RFC 3339, such as "
                  "2026-12-24T18:00:00Z)"},
        ErrorCase{"1 / 0", "1:3: division by zero"},
        ErrorCase{"9223372036854775807 + 1", "1:21: constant expression overflows"},
        ErrorCase{"int(\"x\")", "1:1: invalid conversion of a constant"}));

INSTANTIATE_TEST_SUITE_P(
    Macros, RulesCompileError,
    ::testing::Values(
        ErrorCase{"any(order.items, i, i.total)", "1:21: expected bool, got money"},
        ErrorCase{"sum(order.items, i, i.sku)", "1:21: sum() adds numbers, got string"},
        ErrorCase{"any(member.attributes, i, true)",
                  "1:5: any() needs a list of items such as order.items first"},
        ErrorCase{"any(order.items, order, true)",
                  "1:18: order is a root name; choose another variable name, such as i"},
        ErrorCase{"any(order.items, \"i\", true)",
                  "1:18: any() needs a variable name (such as i) as its second argument"},
        ErrorCase{"any(order.items, i, any(order.items, j, true))",
                  "1:21: any() cannot be nested inside another macro"},
        ErrorCase{"count(order.items, i)",
                  "1:1: count() takes 3 arguments: a list of items, a variable name and a "
                  "condition, as in count(order.items, i, i.category == \"shoes\")"},
        ErrorCase{"any(order.items, i, j.total > 1)", "1:21: unknown name j"},
        ErrorCase{"any(order.items, i, true) && i.total > 1", "1:30: unknown name i"}));

TEST(RulesCompile, ErrorCarriesLineColumnAndByteOffset) {
  CompileError error;
  Result<Expression> e = compile("\"日本\" == order.chanel", all_roots(), Type::kBool, &error);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), ErrorCode::kInvalidRequest);
  EXPECT_EQ(error.line, 1);
  EXPECT_EQ(error.column, 15);  // code points: 日 and 本 are one column each
  EXPECT_EQ(error.offset, 18);  // bytes: each is three
  EXPECT_EQ(error.message, "unknown field order.chanel (did you mean order.channel?)");
  EXPECT_EQ(e.status().message(), "1:15: " + error.message);
}

TEST(RulesCompile, TheExpectedTypeIsChecked) {
  EXPECT_EQ(compile_error("order.total", all_roots(), Type::kBool),
            "1:1: expected bool, got money");
  EXPECT_EQ(compile_error("(order.total + 1) * 2", all_roots(), Type::kBool),
            "1:1: expected bool, got money");
  EXPECT_EQ(compile_error("\"x\"", all_roots(), TypeSet::numbers()),
            "1:1: expected int, decimal or money, got string");
  EXPECT_EQ(compile_error("floor(order.total / 10)", all_roots(), TypeSet::numbers()), "ok");
  EXPECT_EQ(compile_error("true", all_roots(), TypeSet(Type::kInt) | Type::kBool), "ok");
}

TEST(RulesCompile, TheEnvironmentDecidesWhichRootsExist) {
  const Environment order = Environment::order_rule(2);
  const Environment item = Environment::item_rule(2);
  const Environment event = Environment::event_rule(2);
  EXPECT_EQ(compile_error("order.total > 1 && member.tier == \"gold\" && program.id != \"\" && "
                          "now > order.placed_at",
                          order),
            "ok");
  EXPECT_EQ(compile_error("item.category == \"shoes\"", order),
            "1:1: item is not available here (this expression may use: order, member, program, "
            "now)");
  EXPECT_EQ(compile_error("event.type == \"x\"", order),
            "1:1: event is not available here (this expression may use: order, member, program, "
            "now)");
  EXPECT_EQ(compile_error("item.category == \"shoes\" && order.total > 1", item), "ok");
  EXPECT_EQ(compile_error("int(event.attributes.rating) > 3", event), "ok");
  EXPECT_EQ(compile_error("member.tier == \"gold\" && order.total > 1", event),
            "1:26: order is not available here (this expression may use: event, member, "
            "program, now)");
}

TEST(RulesCompile, CurrencyExponentDecidesWhatADecimalMeansInMoney) {
  const Environment jpy = Environment::order_rule(0);
  EXPECT_EQ(compile_error("order.total >= 5000", jpy), "ok");
  EXPECT_EQ(compile_error("order.total >= 50.5", jpy), "ok");  // compared exactly
  EXPECT_EQ(compile_error("order.total + 0.5", jpy),
            "1:15: 0.5 has more decimal places than the currency's 0");
  EXPECT_EQ(compile_error("money(\"12.5\")", jpy), "1:1: invalid conversion of a constant");
  const Environment bhd = Environment::order_rule(3);
  EXPECT_EQ(compile_error("order.total + 0.005", bhd), "ok");
  EXPECT_EQ(compile_error("true", Environment::order_rule(7)),
            "1:1: currency exponent 7 is outside 0..6");
}

// --- Limits, each tested at the boundary -------------------------------------

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST(RulesLimits, SourceOfExactlyMaxBytesCompilesOneMoreIsRejected) {
  std::string at_limit = "true" + std::string(kMaxSourceBytes - 4, ' ');
  ASSERT_EQ(at_limit.size(), kMaxSourceBytes);
  EXPECT_EQ(compile_error(at_limit), "ok");
  EXPECT_EQ(compile_error(at_limit + " "), "1:4097: expression is longer than 4096 bytes");
}

TEST(RulesLimits, UnaryNestingAtMaxDepthCompilesOneMoreIsRejected) {
  // A literal is depth 1; each '!' adds one.
  EXPECT_EQ(compile_error(repeat("!", kMaxDepth - 1) + "true"), "ok");
  EXPECT_EQ(compile_error(repeat("!", kMaxDepth) + "true"),
            "1:1: expression nests deeper than 64 levels");
}

TEST(RulesLimits, ParenthesesCountAsALevel) {
  const int n = kMaxDepth - 1;
  EXPECT_EQ(compile_error(repeat("(", n) + "1" + repeat(")", n)), "ok");
  EXPECT_EQ(compile_error(repeat("(", n + 1) + "1" + repeat(")", n + 1)),
            "1:1: expression nests deeper than 64 levels");
}

TEST(RulesLimits, LeftAssociativeChainsCountTheirDepth) {
  // "1 + 1 + ... + 1" with k operators is k + 1 levels deep.
  EXPECT_EQ(compile_error("1" + repeat(" + 1", kMaxDepth - 1)), "ok");
  EXPECT_EQ(compile_error("1" + repeat(" + 1", kMaxDepth)),
            "1:255: expression nests deeper than 64 levels");
}

TEST(RulesLimits, DeepInputIsRejectedWithoutExhaustingTheStack) {
  EXPECT_EQ(compile_error(repeat("(", 4000)), "1:65: expression nests deeper than 64 levels");
  EXPECT_EQ(compile_error(repeat("-", 4000) + "1"), "1:65: expression nests deeper than 64 levels");
  EXPECT_EQ(compile_error(repeat("true ? 1 : ", 300) + "1"),
            "1:710: expression nests deeper than 64 levels");
  EXPECT_EQ(compile_error(repeat("f(", 2000)), "1:130: expression nests deeper than 64 levels");
}

TEST(RulesLimits, MaxNodesCompileOneMoreIsRejected) {
  // "1 in [1, 1, ...]" with n elements has n + 3 nodes (needle, list, in, elements).
  auto membership = [](int elements) {
    std::string s = "1 in [1";
    for (int i = 1; i < elements; ++i) s += ",1";
    return s + "]";
  };
  EXPECT_EQ(compile_error(membership(kMaxNodes - 3)), "ok");
  std::string over = membership(kMaxNodes - 2);
  // Nodes are counted as they are built: the needle, the elements, the list, then 'in'.
  EXPECT_EQ(compile_error(over), "1:3: expression has more than 1024 nodes");
}

TEST(RulesLimits, MacrosDoNotNestSoCostIsNodesTimesItems) {
  EXPECT_EQ(compile_error("any(order.items, i, true) && all(order.items, j, true)"), "ok");
  EXPECT_NE(compile_error("count(order.items, i, sum(order.items, j, j.quantity) > 1) > 0"), "ok");
}

TEST(RulesCompile, ConstantsAreFoldedAtCompileTime) {
  Result<Expression> e = compile("order.total >= 50.00 * 2 + 0.5", all_roots(), Type::kBool);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->node_count(), 3u);  // load, one constant (100.50 as money), >=
  Result<Expression> same = compile("order.total >= 100.50", all_roots(), Type::kBool);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->node_count(), 3u);
}

}  // namespace
}  // namespace loyalty::rules
