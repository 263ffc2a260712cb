// Specification of typed ids and their public spelling ("mem_42").
#include "common/ids.h"

#include <gtest/gtest.h>

#include <optional>

namespace loyalty {
namespace {

TEST(Ids, FormatAddsTheTypePrefix) {
  EXPECT_EQ(format_id(MemberId{42}), "mem_42");
  EXPECT_EQ(format_id(ProgramId{1}), "prg_1");
  EXPECT_EQ(format_id(PostingId{7}), "pst_7");
  EXPECT_EQ(format_id(LotId{900}), "lot_900");
  EXPECT_EQ(format_id(ApiKeyId{3}), "key_3");
}

struct IdCase {
  const char* text;
  std::optional<int64_t> member_id;
};

class ParseMemberId : public ::testing::TestWithParam<IdCase> {};

TEST_P(ParseMemberId, AcceptsOnlyCanonicalSpellings) {
  const IdCase& c = GetParam();
  std::optional<MemberId> got = parse_id<MemberTag>(c.text);
  if (!c.member_id) {
    EXPECT_FALSE(got.has_value()) << c.text << " parsed as " << got->value;
  } else {
    ASSERT_TRUE(got.has_value()) << c.text;
    EXPECT_EQ(got->value, *c.member_id);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseMemberId,
    ::testing::Values(IdCase{"mem_1", 1}, IdCase{"mem_42", 42},
                      IdCase{"mem_999999999999999999", 999999999999999999},
                      IdCase{"mem_", std::nullopt}, IdCase{"mem_0", std::nullopt},
                      IdCase{"mem_042", std::nullopt}, IdCase{"mem_00", std::nullopt},
                      IdCase{"pst_42", std::nullopt}, IdCase{"MEM_42", std::nullopt},
                      IdCase{"mem42", std::nullopt}, IdCase{"42", std::nullopt},
                      IdCase{" mem_42", std::nullopt}, IdCase{"mem_42 ", std::nullopt},
                      IdCase{"mem_-1", std::nullopt}, IdCase{"mem_+1", std::nullopt},
                      IdCase{"mem_4x2", std::nullopt},
                      // 19 digits could overflow int64: rejected.
                      IdCase{"mem_9223372036854775807", std::nullopt},
                      IdCase{"mem_1000000000000000000", std::nullopt},
                      IdCase{"mem_99999999999999999999999", std::nullopt},
                      IdCase{"", std::nullopt}));

TEST(Ids, ParseInvertsFormatForEveryKind) {
  for (int64_t v : {int64_t{1}, int64_t{10}, int64_t{123456789012345678}}) {
    EXPECT_EQ(parse_id<ProgramTag>(format_id(ProgramId{v})), ProgramId{v});
    EXPECT_EQ(parse_id<PostingTag>(format_id(PostingId{v})), PostingId{v});
    EXPECT_EQ(parse_id<LotTag>(format_id(LotId{v})), LotId{v});
    EXPECT_EQ(parse_id<ApiKeyTag>(format_id(ApiKeyId{v})), ApiKeyId{v});
  }
}

TEST(Ids, AnIdOfOneKindIsNotAcceptedAsAnother) {
  EXPECT_FALSE(parse_id<PostingTag>(format_id(MemberId{5})).has_value());
  EXPECT_FALSE(parse_id<ProgramTag>(format_id(ApiKeyId{5})).has_value());
}

TEST(Ids, OnlyPositiveIdsAreValid) {
  EXPECT_FALSE(MemberId{}.valid());
  EXPECT_FALSE(MemberId{-1}.valid());
  EXPECT_TRUE(MemberId{1}.valid());
}

}  // namespace
}  // namespace loyalty
