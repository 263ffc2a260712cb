// Gift cards (docs/gift-cards.md): codes and PINs, what a card may pay, its
// holds, and the brute-force limits on code/PIN checks.
//
// Pure: no I/O, no clock, no randomness. `now` and the random bytes of a code
// or PIN are passed in. Money is int64 minor units of the card's currency (the
// program's); no floating point.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/time.h"

namespace loyalty {

enum class GiftCardStatus {
  kInactive,  // "inactive": imported physical card, not sold yet
  kActive,    // "active": can pay
  kDisabled,  // "disabled": blocked by an admin (POST /v1/gift-cards/{id}:disable)
};
const char* to_string(GiftCardStatus s);
std::optional<GiftCardStatus> parse_gift_card_status(std::string_view s);

enum class GiftCardKind { kDigital, kPhysical };  // "digital", "physical"
const char* to_string(GiftCardKind k);
std::optional<GiftCardKind> parse_gift_card_kind(std::string_view s);

// How the card came to be: "reward" (a redemption of a gift_card reward),
// "purchase" (bought in the shop, reported by its system), "admin", "import"
// (a physical card number of an imported batch).
enum class GiftCardSource { kReward, kPurchase, kAdmin, kImport };
const char* to_string(GiftCardSource s);
std::optional<GiftCardSource> parse_gift_card_source(std::string_view s);

enum class GiftCardHoldStatus { kOpen, kCaptured, kReleased, kExpired };
const char* to_string(GiftCardHoldStatus s);
std::optional<GiftCardHoldStatus> parse_gift_card_hold_status(std::string_view s);

// ---- Limits ----

inline constexpr int64_t kMaxGiftCardMinor = 100'000'000;  // 1,000,000.00 in a 2-decimal currency
inline constexpr size_t kMaxGiftCardMessageLength = 1000;
inline constexpr size_t kMaxGiftCardEmailLength = 254;
inline constexpr size_t kMaxGiftCardImportCards = 1000;  // cards per import request
inline constexpr int kMaxGiftCardHoldMinutes = 10080;    // a week
inline constexpr int kDefaultGiftCardHoldMinutes = 30;

// ---- Codes and PINs ----

// Digital codes: kGiftCardCodeChars characters of kCouponAlphabet (31^16 ~
// 2^79), grouped by 4 with '-': "7KQ2-M9TR-HW4P-X3CD".
inline constexpr size_t kGiftCardCodeChars = 16;
// Physical card numbers as printed: 12 to 32 letters or digits (spaces and
// dashes ignored). The PIN is what protects them: see docs/gift-cards.md.
inline constexpr size_t kMinPhysicalCardNumberChars = 12;
inline constexpr size_t kMaxGiftCardCodeLength = 64;  // what the API accepts, with separators
inline constexpr size_t kGiftCardPinDigits = 6;       // generated PINs
inline constexpr size_t kMinGiftCardPinDigits = 4;    // imported PINs
inline constexpr size_t kMaxGiftCardPinDigits = 12;
inline constexpr size_t kGiftCardCodeHintChars = 4;

// A code from random bytes by rejection sampling (uniform); nullopt when the
// bytes run out (the caller draws more).
std::optional<std::string> gift_card_code_from_random(std::span<const uint8_t> random);
// kGiftCardPinDigits decimal digits from random bytes (rejection sampling).
std::optional<std::string> gift_card_pin_from_random(std::span<const uint8_t> random);
// Upper case, '-' and spaces removed; nullopt when empty, too long, or holding
// a character that cannot be in a code.
std::optional<std::string> normalize_gift_card_code(std::string_view code);
// kInvalidRequest unless 4..12 decimal digits.
Status check_gift_card_pin(std::string_view pin);
// kInvalidRequest (naming the field) unless a physical card number of
// kMinPhysicalCardNumberChars..32 letters or digits.
Status check_physical_card_number(std::string_view field, std::string_view number);

// What is stored: the lookup digest of a normalized code (SHA-256 with a
// domain prefix, so a gift card digest never equals a coupon's) and of its
// PIN (salted by the card's code: a dump holds no code, so the short PIN
// cannot be brute-forced offline without it).
std::string gift_card_code_digest(std::string_view normalized_code);
std::string gift_card_pin_digest(std::string_view normalized_code, std::string_view pin);
// The last kGiftCardCodeHintChars characters of a normalized code.
std::string gift_card_code_hint(std::string_view normalized_code);

// ---- What a card may do ----

struct GiftCardState {
  GiftCardStatus status = GiftCardStatus::kInactive;
  int64_t balance_minor = 0;  // available: not held
  std::optional<Instant> expires_at;
};
// Why the card cannot pay (or be checked for a balance) now: kGiftCardNotUsable
// (inactive, disabled, expired).
Status check_gift_card_usable(const GiftCardState& card, Instant now);
// kGiftCardNotUsable as above, then kInsufficientBalance.
Status check_gift_card_spend(const GiftCardState& card, int64_t amount_minor, Instant now);
// An inactive card can be activated (a sale) once, with its first balance.
Status check_gift_card_activation(const GiftCardState& card, int64_t amount_minor);

struct GiftCardHoldState {
  GiftCardHoldStatus status = GiftCardHoldStatus::kOpen;
  int64_t amount_minor = 0;
  Instant expires_at;
};
// kHoldNotOpen (captured, released, expired, or past expires_at), then
// kCaptureExceedsHold. amount_minor >= 1.
Status check_gift_card_capture(const GiftCardHoldState& hold, int64_t amount_minor, Instant now);
// kHoldNotOpen unless open (an expired one the job has not reached yet may
// still be released by hand).
Status check_gift_card_release(const GiftCardHoldState& hold);

// ---- Brute-force limits on code/PIN checks ----

// Failed checks are counted in fixed windows, per API key and per card; at the
// limit, checks fail with kTooManyAttempts until the window ends.
struct AttemptLimits {
  int64_t key_failures = 20;  // per API key and window
  Duration key_window = Duration::from_seconds(int64_t{15} * 60);
  int64_t card_failures = 5;  // per card and window (wrong PINs of a known code)
  Duration card_window = Duration::from_seconds(int64_t{60} * 60);
};
inline constexpr AttemptLimits kGiftCardAttemptLimits{};

// The start of the fixed window holding `now`.
Instant attempt_window_start(Instant now, Duration window);
// kTooManyAttempts when `failures` reached `max`, the message ending with
// "(retry after N seconds)" (N >= 1: the rest of the window, rounded up).
Status check_attempts(std::string_view what, int64_t failures, int64_t max, Instant now,
                      Duration window);

}  // namespace loyalty
