// Specification of member identity fields: e-mail normalization, external ids.
#include "domain/member.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace loyalty {
namespace {

struct EmailCase {
  std::string input;
  std::optional<std::string> normalized;  // nullopt: rejected with kInvalidRequest
};

class NormalizeEmail : public ::testing::TestWithParam<EmailCase> {};

TEST_P(NormalizeEmail, LowerCasesValidAddressesAndRejectsTheRest) {
  Result<std::string> got = normalize_email(GetParam().input);
  if (GetParam().normalized) {
    ASSERT_TRUE(got.ok()) << GetParam().input << ": " << got.status().message();
    EXPECT_EQ(*got, *GetParam().normalized);
  } else {
    ASSERT_FALSE(got.ok()) << GetParam().input << " accepted as " << *got;
    EXPECT_EQ(got.status().code(), ErrorCode::kInvalidRequest);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, NormalizeEmail,
    ::testing::Values(
        EmailCase{"alice@example.com", "alice@example.com"},
        EmailCase{"Alice.Smith@Example.COM", "alice.smith@example.com"},
        EmailCase{"a+tag@sub.example.co.uk", "a+tag@sub.example.co.uk"},
        EmailCase{"a@b.c", "a@b.c"},
        // Non-ASCII bytes are kept as they are (only A-Z is folded).
        EmailCase{"JÖRG@example.de", "jÖrg@example.de"},
        EmailCase{std::string(64, 'x') + "@" + std::string(185, 'd') + ".com",
                  std::string(64, 'x') + "@" + std::string(185, 'd') + ".com"},
        EmailCase{std::string(64, 'x') + "@" + std::string(186, 'd') + ".com",
                  std::nullopt},  // 255 characters
        EmailCase{"", std::nullopt}, EmailCase{"a@", std::nullopt},
        EmailCase{"@example.com", std::nullopt}, EmailCase{"alice.example.com", std::nullopt},
        EmailCase{"alice@example", std::nullopt}, EmailCase{"alice@.com", std::nullopt},
        EmailCase{"alice@example.", std::nullopt}, EmailCase{"al@ice@example.com", std::nullopt},
        EmailCase{"alice @example.com", std::nullopt},
        EmailCase{"alice@example.com\n", std::nullopt},
        EmailCase{"alice@exam\x7fple.com", std::nullopt},
        EmailCase{"alice@example.com\t", std::nullopt}));

struct ExternalIdCase {
  std::string id;
  bool valid;
};

class ValidateExternalId : public ::testing::TestWithParam<ExternalIdCase> {};

TEST_P(ValidateExternalId, AcceptsOneTo255PrintableBytes) {
  Status st = validate_external_id(GetParam().id);
  if (GetParam().valid) {
    EXPECT_TRUE(st.ok()) << st.message();
  } else {
    EXPECT_EQ(st.code(), ErrorCode::kInvalidRequest);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, ValidateExternalId,
                         ::testing::Values(ExternalIdCase{"cust-1", true},
                                           ExternalIdCase{"1", true},
                                           ExternalIdCase{"shopify:42 / ü", true},
                                           ExternalIdCase{std::string(255, 'e'), true},
                                           ExternalIdCase{std::string(256, 'e'), false},
                                           ExternalIdCase{"", false}, ExternalIdCase{"a\tb", false},
                                           ExternalIdCase{"a\nb", false},
                                           ExternalIdCase{std::string("a\0b", 3), false},
                                           ExternalIdCase{"a\x7f", false}));

TEST(MemberStatus, RoundTripsItsName) {
  EXPECT_STREQ(to_string(MemberStatus::kActive), "active");
  EXPECT_STREQ(to_string(MemberStatus::kBlocked), "blocked");
  EXPECT_EQ(parse_member_status("blocked"), MemberStatus::kBlocked);
  EXPECT_EQ(parse_member_status("active"), MemberStatus::kActive);
  EXPECT_EQ(parse_member_status("Blocked"), std::nullopt);
}

}  // namespace
}  // namespace loyalty
