#include "domain/gift_cards.h"

#include <algorithm>

#include "common/assert.h"
#include "common/crypto.h"
#include "domain/rewards.h"

namespace loyalty {
namespace {

template <typename E, size_t N>
std::optional<E> parse_enum(std::string_view s, const E (&values)[N]) {
  for (E v : values) {
    if (s == to_string(v)) return v;
  }
  return std::nullopt;
}

constexpr GiftCardStatus kStatuses[] = {GiftCardStatus::kInactive, GiftCardStatus::kActive,
                                        GiftCardStatus::kDisabled};
constexpr GiftCardKind kKinds[] = {GiftCardKind::kDigital, GiftCardKind::kPhysical};
constexpr GiftCardSource kSources[] = {GiftCardSource::kReward, GiftCardSource::kPurchase,
                                       GiftCardSource::kAdmin, GiftCardSource::kImport};
constexpr GiftCardHoldStatus kHoldStatuses[] = {
    GiftCardHoldStatus::kOpen, GiftCardHoldStatus::kCaptured, GiftCardHoldStatus::kReleased,
    GiftCardHoldStatus::kExpired};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

const char* to_string(GiftCardStatus s) {
  switch (s) {
    case GiftCardStatus::kInactive:
      return "inactive";
    case GiftCardStatus::kActive:
      return "active";
    case GiftCardStatus::kDisabled:
      return "disabled";
  }
  return "?";
}
std::optional<GiftCardStatus> parse_gift_card_status(std::string_view s) {
  return parse_enum(s, kStatuses);
}

const char* to_string(GiftCardKind k) {
  return k == GiftCardKind::kPhysical ? "physical" : "digital";
}
std::optional<GiftCardKind> parse_gift_card_kind(std::string_view s) {
  return parse_enum(s, kKinds);
}

const char* to_string(GiftCardSource s) {
  switch (s) {
    case GiftCardSource::kReward:
      return "reward";
    case GiftCardSource::kPurchase:
      return "purchase";
    case GiftCardSource::kAdmin:
      return "admin";
    case GiftCardSource::kImport:
      return "import";
  }
  return "?";
}
std::optional<GiftCardSource> parse_gift_card_source(std::string_view s) {
  return parse_enum(s, kSources);
}

const char* to_string(GiftCardHoldStatus s) {
  switch (s) {
    case GiftCardHoldStatus::kOpen:
      return "open";
    case GiftCardHoldStatus::kCaptured:
      return "captured";
    case GiftCardHoldStatus::kReleased:
      return "released";
    case GiftCardHoldStatus::kExpired:
      return "expired";
  }
  return "?";
}
std::optional<GiftCardHoldStatus> parse_gift_card_hold_status(std::string_view s) {
  return parse_enum(s, kHoldStatuses);
}

std::optional<std::string> gift_card_code_from_random(std::span<const uint8_t> random) {
  constexpr size_t kAlphabet = kCouponAlphabet.size();
  constexpr unsigned kUsable = 256 - 256 % kAlphabet;  // uniform modulo 31
  std::string chars;
  for (uint8_t b : random) {
    if (chars.size() == kGiftCardCodeChars) break;
    if (b >= kUsable) continue;
    chars.push_back(kCouponAlphabet[b % kAlphabet]);
  }
  if (chars.size() < kGiftCardCodeChars) return std::nullopt;
  std::string code;
  for (size_t i = 0; i < chars.size(); ++i) {
    if (i > 0 && i % 4 == 0) code += '-';
    code += chars[i];
  }
  LOYALTY_ASSERT(code.size() == kGiftCardCodeChars + kGiftCardCodeChars / 4 - 1);
  return code;
}

std::optional<std::string> gift_card_pin_from_random(std::span<const uint8_t> random) {
  constexpr unsigned kUsable = 250;  // uniform modulo 10
  std::string pin;
  for (uint8_t b : random) {
    if (pin.size() == kGiftCardPinDigits) break;
    if (b >= kUsable) continue;
    pin.push_back(static_cast<char>('0' + b % 10));
  }
  if (pin.size() < kGiftCardPinDigits) return std::nullopt;
  return pin;
}

std::optional<std::string> normalize_gift_card_code(std::string_view code) {
  if (code.empty() || code.size() > kMaxGiftCardCodeLength) return std::nullopt;
  std::string out;
  for (char c : code) {
    if (c == '-' || c == ' ') continue;
    char u = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    if (!((u >= 'A' && u <= 'Z') || is_digit(u))) return std::nullopt;
    out += u;
  }
  if (out.empty()) return std::nullopt;
  return out;
}

Status check_gift_card_pin(std::string_view pin) {
  if (pin.size() < kMinGiftCardPinDigits || pin.size() > kMaxGiftCardPinDigits ||
      !std::all_of(pin.begin(), pin.end(), is_digit)) {
    return Status(ErrorCode::kInvalidRequest, "pin: expected 4 to 12 digits");
  }
  return {};
}

Status check_physical_card_number(std::string_view field, std::string_view number) {
  auto normalized = normalize_gift_card_code(number);
  if (!normalized || normalized->size() < kMinPhysicalCardNumberChars || normalized->size() > 32) {
    return Status(ErrorCode::kInvalidRequest,
                  std::string(field) +
                      ": expected a card number of 12 to 32 letters or digits (spaces and dashes "
                      "ignored)");
  }
  return {};
}

std::string gift_card_code_digest(std::string_view normalized_code) {
  LOYALTY_ASSERT(!normalized_code.empty());
  return sha256_hex("loyaltyd gift card code\n" + std::string(normalized_code));
}

std::string gift_card_pin_digest(std::string_view normalized_code, std::string_view pin) {
  LOYALTY_ASSERT(!normalized_code.empty() && !pin.empty());
  return sha256_hex("loyaltyd gift card pin\n" + std::string(normalized_code) + "\n" +
                    std::string(pin));
}

std::string gift_card_code_hint(std::string_view normalized_code) {
  if (normalized_code.size() <= kGiftCardCodeHintChars) return std::string(normalized_code);
  return std::string(normalized_code.substr(normalized_code.size() - kGiftCardCodeHintChars));
}

Status check_gift_card_usable(const GiftCardState& card, Instant now) {
  switch (card.status) {
    case GiftCardStatus::kInactive:
      return Status(ErrorCode::kGiftCardNotUsable, "the gift card is not activated yet");
    case GiftCardStatus::kDisabled:
      return Status(ErrorCode::kGiftCardNotUsable, "the gift card is disabled");
    case GiftCardStatus::kActive:
      break;
  }
  if (card.expires_at && now >= *card.expires_at) {
    return Status(ErrorCode::kGiftCardNotUsable,
                  "the gift card expired at " + format_rfc3339(*card.expires_at));
  }
  return {};
}

Status check_gift_card_spend(const GiftCardState& card, int64_t amount_minor, Instant now) {
  LOYALTY_ASSERT(amount_minor > 0);
  LOYALTY_RETURN_IF_ERROR(check_gift_card_usable(card, now));
  if (card.balance_minor < amount_minor) {
    return Status(ErrorCode::kInsufficientBalance,
                  "the gift card has " + std::to_string(card.balance_minor) +
                      " minor units available, " + std::to_string(amount_minor) + " were asked");
  }
  return {};
}

Status check_gift_card_activation(const GiftCardState& card, int64_t amount_minor) {
  LOYALTY_ASSERT(amount_minor > 0);
  if (card.status != GiftCardStatus::kInactive) {
    return Status(
        ErrorCode::kGiftCardNotUsable,
        std::string("the gift card cannot be activated: it is ") + to_string(card.status));
  }
  return {};
}

Status check_gift_card_capture(const GiftCardHoldState& hold, int64_t amount_minor, Instant now) {
  LOYALTY_ASSERT(amount_minor > 0);
  if (hold.status != GiftCardHoldStatus::kOpen) {
    return Status(ErrorCode::kHoldNotOpen,
                  std::string("the gift card hold is ") + to_string(hold.status));
  }
  if (now >= hold.expires_at) {
    return Status(ErrorCode::kHoldNotOpen,
                  "the gift card hold expired at " + format_rfc3339(hold.expires_at));
  }
  if (amount_minor > hold.amount_minor) {
    return Status(ErrorCode::kCaptureExceedsHold,
                  "the capture asks for " + std::to_string(amount_minor) +
                      " minor units but the hold holds " + std::to_string(hold.amount_minor));
  }
  return {};
}

Status check_gift_card_release(const GiftCardHoldState& hold) {
  if (hold.status != GiftCardHoldStatus::kOpen) {
    return Status(ErrorCode::kHoldNotOpen,
                  std::string("the gift card hold is ") + to_string(hold.status));
  }
  return {};
}

Instant attempt_window_start(Instant now, Duration window) {
  LOYALTY_ASSERT(window.micros > 0 && now.micros_since_epoch >= 0);
  return Instant{now.micros_since_epoch - now.micros_since_epoch % window.micros};
}

Status check_attempts(std::string_view what, int64_t failures, int64_t max, Instant now,
                      Duration window) {
  LOYALTY_ASSERT(max > 0 && failures >= 0);
  if (failures < max) return {};
  const Instant end = attempt_window_start(now, window) + window;
  const int64_t micros = (end - now).micros;
  LOYALTY_ASSERT(micros > 0);
  const int64_t seconds = (micros + 999'999) / 1'000'000;
  return Status(ErrorCode::kTooManyAttempts,
                std::to_string(failures) + " failed gift card checks for " + std::string(what) +
                    " in this window (retry after " + std::to_string(seconds) + " seconds)");
}

}  // namespace loyalty
