// Result<T> and Status: how every layer below HTTP reports failure.
//
// A Status is ok, or an ErrorCode with a human message. ErrorCode values are
// stable: the HTTP layer maps each to one problem type and status code, in one
// table (src/http/problem.cpp). Domain outcomes are listed first, in the order of
// precedence in which the domain checks them; infrastructure failures last.
// When g++ gains std::expected in C++20 mode this can become std::expected.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace loyalty {

enum class ErrorCode {
  kOk = 0,
  // Request shape (checked first).
  kInvalidRequest,       // malformed JSON, wrong type, unknown field, bad value
  kUnauthenticated,      // missing or unknown API key
  kForbidden,            // key lacks the scope
  kNotFound,             // unknown resource (or another program's)
  kIdempotencyMismatch,  // same Idempotency-Key, different request
  // Domain outcomes, in the order they are checked.
  kConflict,  // unique value taken (external id), state conflict
  kMemberBlocked,
  kTransferToSelf,
  kTransfersDisabled,
  kTransferLimitExceeded,
  kAlreadyReversed,
  kNotReversible,
  kInsufficientPoints,
  kAmountOutOfRange,
  kInvalidConfig,           // a program configuration document fails validation
  kCurrencyMismatch,        // an order's currency is not the program's
  kInvalidOrderTransition,  // an order status going backwards, or from a final state
  kRefundExceedsPaid,       // a refund above what was paid (and not yet refunded)
  kUnknownEventType,        // a custom event with no earn rule for its type
  kUnknownTier,             // a tier id the program's configuration does not define
  kUnknownPlan,             // a paid-membership plan id the configuration does not define
  kPaymentMismatch,         // a paid-membership payment's amount or currency is not the plan's
  kCheckoutLimit,           // points at checkout disabled, below the minimum, above the share
  kCaptureExceedsHold,      // a capture of more points than the hold holds
  kHoldNotOpen,             // a capture or release of a hold captured, released or expired
  kRewardUnavailable,       // a reward inactive or outside its validity window
  kRewardNotEligible,       // a reward restricted to other tiers, or its condition is not met
  kOutOfStock,              // a reward's stock is exhausted
  kRedemptionLimitReached,  // the member's per-period or lifetime limit of a reward
  kCouponNotUsable,         // a coupon consumed (by another order), cancelled or expired
  kCouponNotApplicable,     // a coupon whose terms the cart does not meet (minimum order, SKU)
  kNotCancellable,          // a redemption already cancelled, or its coupon already used
  kUnknownReferralCode,     // no active referral code like this in the program
  kReferralNotAllowed,      // own code, an existing customer, a program without referrals
  kReferralNotReviewable,   // approve/reject of a referral that is not held (or pending)
  kTooManyAttempts,         // gift card code/PIN checks over the attempt limits (retry later)
  kGiftCardRejected,        // no gift card has this code, or its PIN is wrong
  kGiftCardNotUsable,       // a gift card not activated yet, disabled or expired
  kInsufficientBalance,     // a gift card's balance is below the amount
  kGiftNotAllowed,          // gifting off, a gift below/above the program's amounts, not giftable
  kGiftToSelf,              // a gift to the giver's own email, or claimed by the giver
  kGiftLimitReached,        // the giver's gifts or gifted points of the period
  kGiftNotClaimable,        // a gift claimed, returned or cancelled already
  // Infrastructure.
  kUnavailable,  // draining, queue full, store busy: retry later
  kRetryable,    // serialization failure / deadlock: the batch is retried
  kInternal,
};

const char* error_code_name(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return Status(); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!status_.ok() && "Result built from an ok Status carries no value");
  }
  Result(ErrorCode code, std::string message) : status_(code, std::move(message)) {}

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

// Propagates a failed Status/Result from an expression returning Status.
#define LOYALTY_RETURN_IF_ERROR(expr) \
  do {                                \
    ::loyalty::Status _st = (expr);   \
    if (!_st.ok()) return _st;        \
  } while (0)

// NOLINTBEGIN(bugprone-macro-parentheses): `lhs` is a declaration, `tmp` a name.
#define LOYALTY_CONCAT_INNER(a, b) a##b
#define LOYALTY_CONCAT(a, b) LOYALTY_CONCAT_INNER(a, b)
#define LOYALTY_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()
// `LOYALTY_ASSIGN_OR_RETURN(auto x, f());` binds x to f()'s value or returns its Status.
#define LOYALTY_ASSIGN_OR_RETURN(lhs, expr) \
  LOYALTY_ASSIGN_OR_RETURN_IMPL(LOYALTY_CONCAT(_res_, __LINE__), lhs, expr)
// NOLINTEND(bugprone-macro-parentheses)

}  // namespace loyalty
