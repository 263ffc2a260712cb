// The request decoders as pure functions (what the fuzz targets call).
#include <gtest/gtest.h>

#include "api/decoders.h"
#include "http/problem.h"

namespace loyalty::api {
namespace {

constexpr ProgramId kProgram{1};
constexpr MemberId kMember{2};

TEST(Decoders, CreditReadsEveryField) {
  auto c = decode_credit(
      R"({"points":5,"reason":"r","source":"s","expires_at":"2025-01-01T00:00:00Z","available_at":"2024-07-01T00:00:00+02:00"})",
      kProgram, kMember, "key_9");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->program_id, kProgram);
  EXPECT_EQ(c->member_id, kMember);
  EXPECT_EQ(c->request.points.value, 5);
  EXPECT_EQ(c->request.reason, "r");
  EXPECT_EQ(c->request.source, "s");
  EXPECT_EQ(c->request.actor, "key_9");
  EXPECT_EQ(c->request.expires_at, parse_rfc3339("2025-01-01T00:00:00Z"));
  EXPECT_EQ(c->request.available_at, parse_rfc3339("2024-06-30T22:00:00Z"));
}

TEST(Decoders, FieldErrorsNameTheField) {
  struct Case {
    const char* body;
    ErrorCode code;
    const char* field;
  };
  const Case cases[] = {
      {R"({"points":5,"extra":1})", ErrorCode::kInvalidRequest, "extra"},
      {R"({"points":"5"})", ErrorCode::kInvalidRequest, "points"},
      {R"({"points":5.5})", ErrorCode::kInvalidRequest, "points"},
      {R"({"points":-1})", ErrorCode::kInvalidRequest, "points"},
      {R"({"points":1000000000001})", ErrorCode::kAmountOutOfRange, ""},
      {R"({"points":5,"available_at":"2025-01-01T00:00:00Z","expires_at":"2024-01-01T00:00:00Z"})",
       ErrorCode::kInvalidRequest, "expires_at"},
      {R"({"points":5,"source":""})", ErrorCode::kInvalidRequest, "source"},
      {R"({"points":5,"reason":null})", ErrorCode::kInvalidRequest, "reason"},
  };
  for (const Case& c : cases) {
    auto r = decode_credit(c.body, kProgram, kMember, "key_1");
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.status().code(), c.code) << c.body << ": " << r.status().message();
    auto field = http::field_error_of(r.status());
    if (*c.field == '\0') {
      EXPECT_FALSE(field.has_value()) << r.status().message();
    } else {
      ASSERT_TRUE(field.has_value()) << r.status().message();
      EXPECT_EQ(field->field, c.field);
    }
  }
}

TEST(Decoders, AdjustmentActorIsQualifiedByTheKey) {
  auto a = decode_adjustment(R"({"points":-3,"reason_code":"fix","actor":"ann"})", kProgram,
                             kMember, "key_4");
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->request.points.value, -3);
  EXPECT_EQ(a->request.actor, "key_4:ann");
  EXPECT_FALSE(
      decode_adjustment(R"({"points":-3,"reason_code":"fix","expires_at":"2025-01-01T00:00:00Z"})",
                        kProgram, kMember, "key_4")
          .ok());
}

TEST(Decoders, AttributesAreCanonical) {
  auto a = canonical_attributes(R"({ "b" : 1, "a" : "x", "c" : [1] })");
  EXPECT_FALSE(a.ok());
  auto b = canonical_attributes(R"({ "b" : 1.50, "a" : "x\u0041", "z": null, "t": true })");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(*b, R"({"a":"xA","b":1.5,"t":true,"z":null})");
  EXPECT_FALSE(canonical_attributes(R"({"a":1,"a":2})").ok());
  EXPECT_FALSE(canonical_attributes(R"({"":1})").ok());
}

TEST(Decoders, EnrollNormalizesEmail) {
  auto m = decode_enroll_member(R"({"external_id":"e","email":"A@B.Example"})", kProgram);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->member.email, "a@b.example");
  EXPECT_EQ(m->member.attributes_json, "{}");
  EXPECT_EQ(m->member.program_id, kProgram);
}

TEST(Decoders, ReversalAcceptsAnEmptyBody) {
  auto r = decode_reversal("", kProgram, PostingId{3}, "key_1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->posting_id, PostingId{3});
  EXPECT_EQ(r->reason, "");
  EXPECT_FALSE(decode_reversal("[]", kProgram, PostingId{3}, "key_1").ok());
}

TEST(Decoders, GarbageNeverCrashes) {
  const std::string inputs[] = {"",
                                "{",
                                "}",
                                std::string(1, '\0'),
                                "{\"points\":1e999}",
                                std::string(5000, '['),
                                "{\"a\":\"\xff\"}",
                                "nul",
                                "{}"};
  for (const std::string& in : inputs) {
    EXPECT_FALSE(decode_credit(in, kProgram, kMember, "k").ok());
    EXPECT_FALSE(decode_transfer(in, kProgram, "k").ok());
    EXPECT_FALSE(decode_create_program(in).ok());
    EXPECT_FALSE(decode_enroll_member(in, kProgram).ok());
  }
}

}  // namespace
}  // namespace loyalty::api
