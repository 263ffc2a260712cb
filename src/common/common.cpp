#include <cstdio>
#include <cstdlib>

#include "common/assert.h"
#include "common/result.h"

namespace loyalty {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "ok";
    case ErrorCode::kInvalidRequest:
      return "invalid_request";
    case ErrorCode::kUnauthenticated:
      return "unauthenticated";
    case ErrorCode::kForbidden:
      return "forbidden";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kIdempotencyMismatch:
      return "idempotency_mismatch";
    case ErrorCode::kConflict:
      return "conflict";
    case ErrorCode::kMemberBlocked:
      return "member_blocked";
    case ErrorCode::kTransferToSelf:
      return "transfer_to_self";
    case ErrorCode::kTransfersDisabled:
      return "transfers_disabled";
    case ErrorCode::kTransferLimitExceeded:
      return "transfer_limit_exceeded";
    case ErrorCode::kAlreadyReversed:
      return "already_reversed";
    case ErrorCode::kNotReversible:
      return "not_reversible";
    case ErrorCode::kInsufficientPoints:
      return "insufficient_points";
    case ErrorCode::kAmountOutOfRange:
      return "amount_out_of_range";
    case ErrorCode::kInvalidConfig:
      return "invalid_config";
    case ErrorCode::kCurrencyMismatch:
      return "currency_mismatch";
    case ErrorCode::kInvalidOrderTransition:
      return "invalid_order_transition";
    case ErrorCode::kRefundExceedsPaid:
      return "refund_exceeds_paid";
    case ErrorCode::kUnknownEventType:
      return "unknown_event_type";
    case ErrorCode::kUnknownTier:
      return "unknown_tier";
    case ErrorCode::kUnknownPlan:
      return "unknown_plan";
    case ErrorCode::kPaymentMismatch:
      return "payment_mismatch";
    case ErrorCode::kCheckoutLimit:
      return "checkout_limit";
    case ErrorCode::kCaptureExceedsHold:
      return "capture_exceeds_hold";
    case ErrorCode::kHoldNotOpen:
      return "hold_not_open";
    case ErrorCode::kRewardUnavailable:
      return "reward_unavailable";
    case ErrorCode::kRewardNotEligible:
      return "reward_not_eligible";
    case ErrorCode::kOutOfStock:
      return "out_of_stock";
    case ErrorCode::kRedemptionLimitReached:
      return "redemption_limit_reached";
    case ErrorCode::kCouponNotUsable:
      return "coupon_not_usable";
    case ErrorCode::kCouponNotApplicable:
      return "coupon_not_applicable";
    case ErrorCode::kNotCancellable:
      return "not_cancellable";
    case ErrorCode::kUnknownReferralCode:
      return "unknown_referral_code";
    case ErrorCode::kReferralNotAllowed:
      return "referral_not_allowed";
    case ErrorCode::kReferralNotReviewable:
      return "referral_not_reviewable";
    case ErrorCode::kTooManyAttempts:
      return "too_many_attempts";
    case ErrorCode::kGiftCardRejected:
      return "gift_card_rejected";
    case ErrorCode::kGiftCardNotUsable:
      return "gift_card_not_usable";
    case ErrorCode::kInsufficientBalance:
      return "insufficient_balance";
    case ErrorCode::kGiftNotAllowed:
      return "gift_not_allowed";
    case ErrorCode::kGiftToSelf:
      return "gift_to_self";
    case ErrorCode::kGiftLimitReached:
      return "gift_limit_reached";
    case ErrorCode::kGiftNotClaimable:
      return "gift_not_claimable";
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kRetryable:
      return "retryable";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "unknown";
}

namespace detail {
void assertion_failed(const char* condition, const char* file, int line, const char* message) {
  std::fprintf(stderr, "loyaltyd: invariant violated: %s (%s) at %s:%d\n", condition, message, file,
               line);
  std::fflush(stderr);
  std::abort();
}
}  // namespace detail

}  // namespace loyalty
