// Specification of the JSON writer: escaping, nesting and commas.
#include "common/json_writer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace loyalty {
namespace {

std::string json_literal(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

struct EscapeCase {
  std::string input;
  std::string json;
};

class JsonEscape : public ::testing::TestWithParam<EscapeCase> {};

TEST_P(JsonEscape, WritesAValidStringLiteral) {
  EXPECT_EQ(json_literal(GetParam().input), GetParam().json);
}

INSTANTIATE_TEST_SUITE_P(
    Table, JsonEscape,
    ::testing::Values(EscapeCase{"", R"("")"}, EscapeCase{"plain", R"("plain")"},
                      EscapeCase{"say \"hi\"", R"("say \"hi\"")"},
                      EscapeCase{"back\\slash", R"("back\\slash")"},
                      EscapeCase{"a\nb\rc\td", R"("a\nb\rc\td")"}, EscapeCase{"\b\f", R"("\b\f")"},
                      EscapeCase{std::string("\0", 1), R"("\u0000")"},
                      EscapeCase{"\x01\x1f", R"("\u0001\u001f")"},
                      // DEL and '/' need no escape.
                      EscapeCase{"\x7f/", "\"\x7f/\""},
                      // UTF-8 passes through byte for byte.
                      EscapeCase{"Zürich €5 \xF0\x9F\x98\x80", "\"Zürich €5 \xF0\x9F\x98\x80\""}));

TEST(JsonWriter, SeparatesObjectFieldsWithCommas) {
  JsonWriter w;
  w.begin_object().field("a", 1).field("b", "x").field("c", true).field_null("d").end_object();
  EXPECT_EQ(w.str(), R"({"a":1,"b":"x","c":true,"d":null})");
}

TEST(JsonWriter, NestsArraysAndObjects) {
  JsonWriter w;
  w.begin_object();
  w.key("items").begin_array();
  w.begin_object().field("id", 1).end_object();
  w.begin_object().field("id", 2).key("tags").begin_array().value("x").value("y").end_array();
  w.end_object();
  w.end_array();
  w.key("empty").begin_object().end_object();
  w.key("none").begin_array().end_array();
  w.field("after", false);
  w.end_object();
  EXPECT_EQ(w.str(),
            R"({"items":[{"id":1},{"id":2,"tags":["x","y"]}],"empty":{},"none":[],"after":false})");
}

TEST(JsonWriter, WritesInt64Extremes) {
  JsonWriter w;
  w.begin_array()
      .value(std::numeric_limits<int64_t>::min())
      .value(std::numeric_limits<int64_t>::max())
      .value(0)
      .value(-1)
      .end_array();
  EXPECT_EQ(w.str(), "[-9223372036854775808,9223372036854775807,0,-1]");
}

TEST(JsonWriter, InsertsRawJsonAsOneValue) {
  JsonWriter w;
  w.begin_object().field_raw("attrs", R"({"tier":"gold"})").field("n", 2).end_object();
  w.begin_array();  // a second top-level value starts without a comma
  w.raw("1").raw("[2]").end_array();
  EXPECT_EQ(w.str(), R"({"attrs":{"tier":"gold"},"n":2}[1,[2]])");
}

TEST(JsonWriter, EscapesKeysToo) {
  JsonWriter w;
  w.begin_object().field("we\"ird\n", "v").end_object();
  EXPECT_EQ(w.str(), R"({"we\"ird\n":"v"})");
}

TEST(JsonWriter, TakeLeavesTheWriterEmpty) {
  JsonWriter w;
  w.begin_array().end_array();
  EXPECT_EQ(w.take(), "[]");
  EXPECT_EQ(w.str(), "");
}

}  // namespace
}  // namespace loyalty
