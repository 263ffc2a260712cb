// Specification of hashing, base64url and secret generation.
#include "common/crypto.h"

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>

namespace loyalty {
namespace {

TEST(Sha256, MatchesKnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

struct B64Case {
  std::string raw;
  std::string encoded;
};

class Base64Url : public ::testing::TestWithParam<B64Case> {};

TEST_P(Base64Url, EncodesWithoutPaddingAndDecodesBack) {
  EXPECT_EQ(base64url_encode(GetParam().raw), GetParam().encoded);
  EXPECT_EQ(base64url_decode(GetParam().encoded), GetParam().raw);
}

// RFC 4648 test vectors, unpadded; the last uses both URL-safe characters.
INSTANTIATE_TEST_SUITE_P(Rfc4648, Base64Url,
                         ::testing::Values(B64Case{"", ""}, B64Case{"f", "Zg"},
                                           B64Case{"fo", "Zm8"}, B64Case{"foo", "Zm9v"},
                                           B64Case{"foob", "Zm9vYg"}, B64Case{"fooba", "Zm9vYmE"},
                                           B64Case{"foobar", "Zm9vYmFy"},
                                           B64Case{"\xfb\xff\xfe", "-__-"}));

TEST(Base64Url, RoundTripsEveryByteValue) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t len = 0; len <= all.size(); len += 37) {
    std::string raw = all.substr(0, len);
    EXPECT_EQ(base64url_decode(base64url_encode(raw)), raw) << "length " << len;
  }
}

TEST(Base64Url, RejectsCharactersOutsideTheUrlAlphabetAndImpossibleLengths) {
  for (const char* bad : {"Zm9v=", "Zm+v", "Zm/v", "Zm9 v", "Z", "Zm9vY", "Zm9v\n", "é"}) {
    EXPECT_EQ(base64url_decode(bad), std::nullopt) << bad;
  }
}

TEST(RandomBase58, HasTheRequestedLengthAndOnlyUnambiguousCharacters) {
  const std::string alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  std::set<char> seen;
  for (size_t len : {size_t{0}, size_t{1}, size_t{40}, size_t{1000}}) {
    std::string s = random_base58(len);
    ASSERT_EQ(s.size(), len);
    for (char c : s) {
      ASSERT_NE(alphabet.find(c), std::string::npos) << "unexpected character " << c;
      seen.insert(c);
    }
  }
  // 1041 draws from 58 characters: every character shows up (missing one has p < 1e-6).
  EXPECT_EQ(seen.size(), 58u);
}

TEST(RandomBase58, TwoSecretsDiffer) { EXPECT_NE(random_base58(40), random_base58(40)); }

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("secret", "secret"));
  EXPECT_FALSE(constant_time_equal("secret", "secreT"));
  EXPECT_FALSE(constant_time_equal("secret", "secret2"));
  EXPECT_FALSE(constant_time_equal("", "a"));
}

}  // namespace
}  // namespace loyalty
