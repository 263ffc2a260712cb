// The engine side of the rewards catalog (docs/rewards.md): redemptions, their
// cancellation, coupons at checkout, and what a member can redeem.
//
// A redemption is one command in one savepoint: the points are debited through
// the ledger (plan_debit, oldest lots first), a unit of stock is taken, the
// member's limits are checked, the coupon is issued and reward.redeemed is
// written to the outbox — or, on any failure, nothing at all.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "common/time.h"
#include "domain/ledger.h"
#include "domain/program.h"
#include "domain/program_config.h"
#include "domain/rewards.h"
#include "store/gift_cards_store.h"
#include "store/rewards_store.h"
#include "store/store.h"

namespace loyalty::engine {

class ProgramCache;
struct Reverse;

// POST /v1/members/{id}/redemptions. `points` is the chosen points of a
// variable-cost reward (refused for a fixed cost).
struct Redeem {
  ProgramId program_id;
  MemberId member_id;
  std::string reward_id;
  std::optional<int64_t> points;
  std::string actor;
};
// POST /v1/members/{id}/redemptions/{rid}:cancel: reverses the debit lot by
// lot, returns the unit of stock, cancels the unused coupon.
struct CancelRedemption {
  ProgramId program_id;
  MemberId member_id;
  store::RedemptionId redemption_id;
  std::string reason;
  std::string actor;
};
// POST /v1/coupons/{code}:consume. Idempotent for the same order; kCouponNotUsable
// for another order. With a cart, the coupon must apply to it.
struct ConsumeCoupon {
  ProgramId program_id;
  std::string code;
  std::string order_ref;  // the shop's order id
  std::optional<Cart> cart;
};

struct RedemptionResult {
  store::Redemption redemption;
  std::optional<store::Coupon> coupon;
  // The coupon's code, in clear: only in the response of the redemption that
  // issued it (never stored, never in the idempotency record).
  std::string code;
  // A gift_card reward's card, with its code and PIN in clear under the same
  // rule as `code`.
  std::optional<store::GiftCard> gift_card;
  std::string gift_card_code;
  std::string gift_card_pin;
};
struct CouponUse {
  store::Coupon coupon;
  CouponDiscount discount;  // with a cart; zero otherwise
  bool replayed = false;    // consumed before by the same order
};

Result<RedemptionResult> redeem_reward(store::StoreSession& s, ProgramCache& programs,
                                       const Redeem& command, Instant now);
Result<RedemptionResult> cancel_redemption(store::StoreSession& s, ProgramCache& programs,
                                           const CancelRedemption& command, Instant now);
Result<CouponUse> consume_coupon(store::StoreSession& s, ProgramCache& programs,
                                 const ConsumeCoupon& command, Instant now);
// The order-cancel hook (engine/order_commands.cpp): coupons consumed by the
// order whose reward says release_on_order_cancel become issued again.
Status release_order_coupons(store::StoreSession& s, ProgramId program, std::string_view order_ref,
                             Instant now);

// A fresh coupon code, "PREFIX-..." from the CSPRNG, that no coupon has; its
// digest in *hash. kInternal when every draw collided.
Result<std::string> draw_coupon_code(store::RewardStore& rewards, std::string_view prefix,
                                     std::string* hash);

// Reverses a posting (the Reverse command; defined in commands.cpp).
Result<Posting> reverse_posting(store::StoreSession& s, ProgramCache& programs, const Reverse& c,
                                Instant now);

// ---- Reads (any thread, in a read transaction) ----

// One reward as this member sees it now.
struct RewardOffer {
  const Reward* reward = nullptr;  // into MemberRewards::config
  int64_t points = 0;              // the cost (the minimum of a variable cost)
  RewardEligibility eligibility;
  std::optional<int64_t> stock_left;  // unset = unlimited
};
struct MemberRewards {
  std::shared_ptr<const ProgramConfig> config;
  std::string currency;
  int64_t available_points = 0;
  std::vector<RewardOffer> offers;  // in catalog order
};
// GET /v1/members/{id}/rewards. kNotFound for an unknown member.
Result<MemberRewards> read_member_rewards(store::StoreSession& s, ProgramId program,
                                          MemberId member, Instant now);

// POST /v1/coupons/{code}:validate: the coupon of this program and what it
// takes off the cart. kNotFound (no such code), kCouponNotUsable (consumed,
// cancelled, expired, or another program's), kCouponNotApplicable (the cart).
Result<CouponUse> validate_coupon(store::StoreSession& s, ProgramId program, std::string_view code,
                                  const Cart& cart, Instant now);

}  // namespace loyalty::engine
