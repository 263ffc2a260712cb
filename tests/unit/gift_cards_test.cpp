// The pure gift card rules (domain/gift_cards.h): codes, PINs, digests, what a
// card and a hold may do, and the attempt windows.
#include "domain/gift_cards.h"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <string>
#include <vector>

#include "domain/rewards.h"

namespace loyalty {
namespace {

const Instant kNow = Instant::from_seconds(1'780'000'000);  // 2026-05-28T20:26:40Z

TEST(GiftCardCodes, ACodeIsSixteenCharactersOfTheCouponAlphabetInGroupsOfFour) {
  std::vector<uint8_t> random(64);
  for (size_t i = 0; i < random.size(); ++i) random[i] = static_cast<uint8_t>(i * 37 + 11);
  auto code = gift_card_code_from_random(random);
  ASSERT_TRUE(code.has_value());
  ASSERT_EQ(code->size(), 19u);
  for (size_t i = 0; i < code->size(); ++i) {
    if (i % 5 == 4) {
      EXPECT_EQ((*code)[i], '-') << *code;
    } else {
      EXPECT_NE(kCouponAlphabet.find((*code)[i]), std::string_view::npos) << *code;
    }
  }
  // Bytes >= 248 are skipped (uniform modulo 31): 16 of them give no code.
  std::vector<uint8_t> high(16, 250);
  EXPECT_FALSE(gift_card_code_from_random(high).has_value());
}

TEST(GiftCardCodes, PinsAreSixDigitsAndSkipBytesAbove249) {
  std::array<uint8_t, 8> random = {255, 250, 9, 19, 29, 249, 0, 123};
  EXPECT_EQ(gift_card_pin_from_random(random), "999903");
  std::array<uint8_t, 5> short_random = {1, 2, 3, 4, 5};
  EXPECT_FALSE(gift_card_pin_from_random(short_random).has_value());
}

TEST(GiftCardCodes, NormalizationIgnoresCaseSpacesAndDashes) {
  EXPECT_EQ(normalize_gift_card_code("7kq2-m9tr hw4p-x3cd"), "7KQ2M9TRHW4PX3CD");
  EXPECT_FALSE(normalize_gift_card_code("").has_value());
  EXPECT_FALSE(normalize_gift_card_code("ABC_123").has_value());
  EXPECT_FALSE(normalize_gift_card_code(std::string(65, 'A')).has_value());
}

TEST(GiftCardCodes, DigestsSeparateCodesPinsAndCoupons) {
  const std::string code = "7KQ2M9TRHW4PX3CD";
  EXPECT_EQ(gift_card_code_digest(code).size(), 64u);
  EXPECT_NE(gift_card_code_digest(code), gift_card_code_digest("7KQ2M9TRHW4PX3CE"));
  // The PIN's digest is salted by the code: the same PIN differs per card.
  EXPECT_NE(gift_card_pin_digest(code, "123456"), gift_card_pin_digest("OTHERCODE1234", "123456"));
  EXPECT_NE(gift_card_pin_digest(code, "123456"), gift_card_pin_digest(code, "123457"));
  EXPECT_EQ(gift_card_code_hint(code), "X3CD");
}

TEST(GiftCardCodes, PinsAndPhysicalNumbersAreChecked) {
  EXPECT_TRUE(check_gift_card_pin("1234").ok());
  EXPECT_TRUE(check_gift_card_pin("123456789012").ok());
  EXPECT_EQ(check_gift_card_pin("123").code(), ErrorCode::kInvalidRequest);
  EXPECT_EQ(check_gift_card_pin("12a4").code(), ErrorCode::kInvalidRequest);
  EXPECT_EQ(check_gift_card_pin("1234567890123").code(), ErrorCode::kInvalidRequest);
  EXPECT_TRUE(check_physical_card_number("n", "6035 1234 5678 9012").ok());
  Status short_number = check_physical_card_number("cards[2].number", "12345678901");
  EXPECT_EQ(short_number.code(), ErrorCode::kInvalidRequest);
  EXPECT_TRUE(short_number.message().starts_with("cards[2].number: ")) << short_number.message();
}

TEST(GiftCardRules, SpendingNeedsAnActiveUnexpiredCardWithTheBalance) {
  GiftCardState card{GiftCardStatus::kActive, 5000, kNow + Duration::from_days(1)};
  EXPECT_TRUE(check_gift_card_spend(card, 5000, kNow).ok());
  EXPECT_EQ(check_gift_card_spend(card, 5001, kNow).code(), ErrorCode::kInsufficientBalance);
  EXPECT_EQ(check_gift_card_spend(card, 1, kNow + Duration::from_days(1)).code(),
            ErrorCode::kGiftCardNotUsable);
  card.status = GiftCardStatus::kInactive;
  EXPECT_EQ(check_gift_card_spend(card, 1, kNow).message(), "the gift card is not activated yet");
  card.status = GiftCardStatus::kDisabled;
  EXPECT_EQ(check_gift_card_spend(card, 1, kNow).code(), ErrorCode::kGiftCardNotUsable);
}

TEST(GiftCardRules, OnlyAnInactiveCardIsActivated) {
  EXPECT_TRUE(check_gift_card_activation({GiftCardStatus::kInactive, 0, {}}, 100).ok());
  EXPECT_EQ(check_gift_card_activation({GiftCardStatus::kActive, 100, {}}, 100).code(),
            ErrorCode::kGiftCardNotUsable);
}

TEST(GiftCardRules, CapturesTakeAtMostTheHeldAmountOfAnOpenUnexpiredHold) {
  GiftCardHoldState hold{GiftCardHoldStatus::kOpen, 3000, kNow + Duration::from_seconds(60)};
  EXPECT_TRUE(check_gift_card_capture(hold, 3000, kNow).ok());
  EXPECT_EQ(check_gift_card_capture(hold, 3001, kNow).code(), ErrorCode::kCaptureExceedsHold);
  EXPECT_EQ(check_gift_card_capture(hold, 1, kNow + Duration::from_seconds(60)).code(),
            ErrorCode::kHoldNotOpen);
  EXPECT_TRUE(check_gift_card_release(hold).ok());
  hold.status = GiftCardHoldStatus::kCaptured;
  EXPECT_EQ(check_gift_card_capture(hold, 1, kNow).code(), ErrorCode::kHoldNotOpen);
  EXPECT_EQ(check_gift_card_release(hold).code(), ErrorCode::kHoldNotOpen);
}

TEST(GiftCardAttempts, WindowsAreFixedAndTheRetryAfterIsWhatIsLeftOfTheWindow) {
  const Duration hour = Duration::from_seconds(3600);
  const Instant start = Instant::from_seconds(1'779'998'400);  // a multiple of 3600
  EXPECT_EQ(attempt_window_start(start, hour), start);
  EXPECT_EQ(attempt_window_start(start + Duration::from_seconds(3599), hour), start);
  EXPECT_EQ(attempt_window_start(start + hour, hour), start + hour);

  EXPECT_TRUE(check_attempts("this gift card", 4, 5, start, hour).ok());
  Status st = check_attempts("this gift card", 5, 5, start + Duration{1'500'000}, hour);
  EXPECT_EQ(st.code(), ErrorCode::kTooManyAttempts);
  // 3598.5 seconds left: rounded up.
  EXPECT_TRUE(st.message().ends_with("(retry after 3599 seconds)")) << st.message();
}

}  // namespace
}  // namespace loyalty
