// The rewards catalog (the `rewards` slot of the program configuration,
// docs/rewards.md): what members spend points on, who may redeem what, what a
// redemption costs and what coupon it issues, and what a coupon takes off a
// cart.
//
// Pure: no I/O, no clock, no randomness. `now` and the random bytes of a coupon
// code are passed in. Points are int64, money int64 minor units of the
// program's currency; no floating point anywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/time.h"
#include "domain/config_reader.h"
#include "domain/rules/rules.h"

namespace YAML {
class Node;
}

namespace loyalty {

enum class RewardType {
  kFixedDiscount,    // "fixed_discount": a coupon taking `amount` off an order
  kPercentDiscount,  // "percent_discount": `percent` off the subtotal, capped by max_discount
  kFreeShipping,     // "free_shipping": a coupon waiving the cart's shipping
  kFreeProduct,      // "free_product": a coupon making one unit of `sku` free
  kStoreCredit,      // "store_credit": a coupon of a money amount (cashback), spent like cash
  kExperience,       // "experience": a ticket coupon (event, class); limited by stock
  kCharityDonation,  // "charity_donation": points become money for a cause; no coupon
  kGiftCard,         // "gift_card": a digital gift card of `amount` (docs/gift-cards.md); no coupon
};
const char* to_string(RewardType t);
std::optional<RewardType> parse_reward_type(std::string_view s);
inline bool issues_coupon(RewardType t) {
  return t != RewardType::kCharityDonation && t != RewardType::kGiftCard;
}
// Types whose value is a money amount: the only ones a variable cost may price.
inline bool has_money_amount(RewardType t) {
  return t == RewardType::kFixedDiscount || t == RewardType::kStoreCredit ||
         t == RewardType::kCharityDonation || t == RewardType::kGiftCard;
}

// Calendar periods of a per-member limit, in the program's time zone.
enum class RewardPeriod { kDay, kWeek, kMonth, kYear };
const char* to_string(RewardPeriod p);

// What a redemption costs. Fixed: `points`. Variable: the member chooses the
// points, between min_points and max_points, and gets 1 major unit of money
// per points_per_unit points (the money must come out exact: see price_reward).
struct RewardCost {
  bool variable = false;
  int64_t points = 0;           // fixed
  int64_t points_per_unit = 0;  // variable: N points = 1 major unit of money
  int64_t min_points = 0;       // variable
  int64_t max_points = 0;       // variable
  friend bool operator==(const RewardCost&, const RewardCost&) = default;
};

struct RewardMemberLimit {
  std::optional<RewardPeriod> period;  // with max_per_period
  int64_t max_per_period = 0;          // 0 = no period limit
  int64_t max_lifetime = 0;            // 0 = no lifetime limit
  friend bool operator==(const RewardMemberLimit&, const RewardMemberLimit&) = default;
};

struct Reward {
  std::string id;  // [a-z0-9_-]{1,64}, unique in the document
  std::string name;
  std::string description;
  std::string image_url;
  RewardType type = RewardType::kFixedDiscount;
  bool active = true;  // false: listed as unavailable, never redeemable
  RewardCost cost;
  // Money value: fixed_discount / store_credit / charity_donation with a fixed
  // cost (a variable cost computes it).
  int64_t amount_minor = 0;
  int percent = 0;                 // percent_discount: 1..100
  int64_t max_discount_minor = 0;  // percent_discount: cap; 0 = none
  int64_t min_order_minor = 0;     // coupons: minimum cart subtotal; 0 = none
  std::string sku;                 // free_product
  std::string cause_id;            // charity_donation: [a-z0-9_-]{1,64}
  std::string cause_name;          // charity_donation
  std::vector<std::string> tiers;  // tier ids that may redeem; empty = everyone
  std::string condition;           // bool expression over member, program, now; "" = always
  RewardMemberLimit member_limit;
  std::optional<int64_t> stock;  // units in total; unset = unlimited
  std::optional<Instant> available_from;
  std::optional<Instant> available_until;  // exclusive
  int coupon_valid_days = 0;               // 0 = the coupon never expires
  std::string coupon_prefix;               // [A-Z0-9]{0,8}; "" = none
  bool release_on_order_cancel = true;  // a consumed coupon is released when its order is cancelled
  friend bool operator==(const Reward&, const Reward&) = default;
};

inline constexpr size_t kMaxRewards = 500;
inline constexpr size_t kMaxRewardTextLength = 2000;  // description
inline constexpr size_t kMaxImageUrlLength = 2048;
inline constexpr size_t kMaxCouponPrefixLength = 8;
inline constexpr int kMaxCouponValidDays = 3660;
inline constexpr int64_t kMaxRewardPoints = 1'000'000'000;
inline constexpr int64_t kMaxRewardStock = 1'000'000'000;
inline constexpr int64_t kMaxRewardMoneyMinor = 1'000'000'000'000;

// ---- Parsing and validation (hooked into domain/config_document.cpp) ----

struct RewardParseContext {
  int currency_exponent = 2;
  std::vector<std::string> tier_ids;  // the document's tiers (validated before rewards)
};
// Parses the `rewards` list into `out`; every problem found is returned (out is
// then incomplete and must not be used).
std::vector<ConfigIssue> parse_rewards(const YAML::Node& list, const RewardParseContext& ctx,
                                       std::vector<Reward>* out);

// What a reward's condition may read: member, program, now.
rules::Environment reward_condition_environment(int currency_exponent);

const Reward* find_reward(const std::vector<Reward>& rewards, std::string_view id);

// ---- Pricing ----

struct RewardPrice {
  int64_t points = 0;
  int64_t amount_minor = 0;  // the money value (types with a money amount; else 0)
};
// The points and money of one redemption. `requested_points` is required for a
// variable cost (kInvalidRequest when missing, out of min..max, or not giving
// an exact amount of minor units) and refused for a fixed one.
Result<RewardPrice> price_reward(const Reward& reward, std::optional<int64_t> requested_points,
                                 int currency_exponent);

// ---- Eligibility: what the member can redeem now, and why not ----

// In the order they are checked; the first that applies is the reason.
enum class RewardBlock {
  kNone,
  kInactive,            // "inactive"
  kNotYetAvailable,     // "not_yet_available"
  kNoLongerAvailable,   // "no_longer_available"
  kTierRestricted,      // "tier_restricted"
  kConditionNotMet,     // "condition_not_met"
  kOutOfStock,          // "out_of_stock"
  kLimitReached,        // "limit_reached" (per period or lifetime)
  kInsufficientPoints,  // "insufficient_points"
};
const char* to_string(RewardBlock b);

// What eligibility reads about the member and the reward's usage.
struct RewardFacts {
  std::string_view tier;       // the member's tier id; "" = none
  std::string_view tier_name;  // for messages
  bool condition_met = true;   // the reward's condition evaluated by the caller
  int64_t available_points = 0;
  int64_t stock_taken = 0;       // units redeemed and not cancelled
  int64_t member_in_period = 0;  // the member's redemptions in the current period
  int64_t member_lifetime = 0;   // the member's redemptions, ever
};
struct RewardEligibility {
  RewardBlock block = RewardBlock::kNone;
  std::string message;       // "needs 300 more points", "Gold only", ...
  int64_t points_short = 0;  // kInsufficientPoints
  bool ok() const { return block == RewardBlock::kNone; }
};
// `points` is the cost to check (the minimum for a variable cost). Tier names
// for the message come from `tier_names` (id -> name pairs).
RewardEligibility check_eligibility(
    const Reward& reward, const RewardFacts& facts, int64_t points, Instant now,
    std::span<const std::pair<std::string, std::string>> tier_names);
// The ErrorCode of a failed redemption for each block.
ErrorCode error_code_of(RewardBlock block);

// ---- Coupons ----

// Codes: characters of kCouponAlphabet (no 0, O, 1, I, L), kCouponCodeChars of
// them (31^13 ~ 2^64.4: at least 60 bits of entropy), after the reward's prefix
// and a '-', grouped by 4 with '-'. Stored only as SHA-256 of the normalized code.
inline constexpr std::string_view kCouponAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
inline constexpr size_t kCouponCodeChars = 13;
inline constexpr size_t kMaxCouponCodeLength = 64;  // what :validate/:consume accept
// Turns random bytes into a code by rejection sampling (bytes >= 248 are
// skipped so every character is equally likely); nullopt when the bytes run
// out (the caller draws more).
std::optional<std::string> coupon_code_from_random(std::string_view prefix,
                                                   std::span<const uint8_t> random);
// Upper case, '-' and spaces removed: what is hashed. nullopt for characters
// that cannot be in a code.
std::optional<std::string> normalize_coupon_code(std::string_view code);

// What a coupon grants, copied from its reward when issued (a later
// configuration change does not change an issued coupon).
struct CouponTerms {
  RewardType type = RewardType::kFixedDiscount;
  int64_t amount_minor = 0;
  int percent = 0;
  int64_t max_discount_minor = 0;
  int64_t min_order_minor = 0;
  std::string sku;
};

struct CartItem {
  std::string sku;
  int64_t quantity = 0;
  int64_t unit_price_minor = 0;
};
struct Cart {
  int64_t subtotal_minor = 0;
  int64_t shipping_minor = 0;
  std::vector<CartItem> items;
};
inline constexpr size_t kMaxCartItems = 500;

enum class CouponMismatch {
  kNone,
  kBelowMinimumOrder,  // "below_minimum_order"
  kProductNotInCart,   // "product_not_in_cart"
  kNoShipping,         // "no_shipping": free shipping on a cart without shipping
};
const char* to_string(CouponMismatch m);
struct CouponDiscount {
  CouponMismatch mismatch = CouponMismatch::kNone;
  std::string message;
  int64_t discount_minor = 0;           // off the subtotal (or the product)
  int64_t shipping_discount_minor = 0;  // off shipping
};
// What the coupon takes off this cart. Never more than the subtotal (shipping).
CouponDiscount apply_coupon(const CouponTerms& terms, const Cart& cart);

}  // namespace loyalty
