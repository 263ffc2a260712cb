// Points at checkout (docs/checkout.md): a member pays part of an order with
// points, two-phase like a card authorisation — quote, hold (points reserved
// with an expiry), then capture when the order is paid or release on cancel or
// timeout; a refund of the order returns captured points.
//
// This header is the pure part: the program's limits (the `checkout` section of
// the configuration document), the quote arithmetic, the hold's state and the
// rules that decide which lots a capture, release or refund touches. The ledger
// postings themselves are planned by plan_hold / plan_hold_return
// (domain/ledger.h); the engine (engine/checkout_commands.h) glues both to the
// store. No I/O, no clock, no floating point: money is int64 minor units.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "common/time.h"
#include "domain/points.h"

namespace loyalty {

// ---- Configuration: the `checkout` section ----

// Limits of the section, checked by validation and documented.
inline constexpr int64_t kMaxCheckoutRatePoints = 1'000'000;         // `points` of the rate
inline constexpr int64_t kMaxCheckoutMinPoints = 1'000'000'000'000;  // `min_points`
inline constexpr int kMaxHoldMinutes = 7 * 24 * 60;                  // `hold_minutes`: a week
inline constexpr int kDefaultHoldMinutes = 30;

struct CheckoutConfig {
  // The section is present: members may pay with points. Absent: every quote
  // offers 0 points and a hold fails with kCheckoutLimit.
  bool enabled = false;
  // The redemption rate: `rate_points` points pay `rate_amount_minor` of the
  // program's currency (100 points = 1.00 USD is {100, 100}).
  int64_t rate_points = 0;
  int64_t rate_amount_minor = 0;
  int64_t min_points = 0;             // the smallest hold
  int max_order_share_percent = 100;  // of the order total payable in points, 1..100
  int hold_minutes = kDefaultHoldMinutes;
  friend bool operator==(const CheckoutConfig&, const CheckoutConfig&) = default;
};

// The rate reduced to its smallest whole step: `unit_points` points pay exactly
// `unit_minor` minor units, and only multiples of unit_points are payable (so
// the money is always exact). {0, 0} when checkout is not enabled.
struct CheckoutUnit {
  int64_t unit_points = 0;
  int64_t unit_minor = 0;
};
CheckoutUnit checkout_unit(const CheckoutConfig& config);

// The money `points` pay at the rate; points must be a multiple of unit_points.
int64_t checkout_amount_minor(const CheckoutConfig& config, Points points);

// What a member may pay with points for an order of `order_total_minor`.
struct CheckoutQuote {
  int64_t unit_points = 0;  // holds are multiples of this
  int64_t unit_minor = 0;
  Points max_points;             // 0 when nothing may be paid with points
  int64_t max_amount_minor = 0;  // what max_points pay
  // Why max_points is not higher: "disabled", "balance", "order_share",
  // "min_points" (the most the member could pay is below min_points).
  std::string limited_by;
};
CheckoutQuote quote_checkout(const CheckoutConfig& config, int64_t order_total_minor,
                             Points available);

// Checks a hold of `points` for an order of `order_total_minor` against the
// program's limits, in this order: kCheckoutLimit when checkout is disabled;
// kInvalidRequest when points is not a positive multiple of unit_points;
// kCheckoutLimit below min_points or above the order share; kInsufficientPoints
// above `available`.
Status check_checkout_points(const CheckoutConfig& config, int64_t order_total_minor,
                             Points available, Points points);

// ---- Holds ----

struct HoldTag {
  static constexpr std::string_view kPrefix = "hld_";
};
using HoldId = Id<HoldTag>;

enum class HoldStatus {
  kOpen,      // points held, waiting for capture or release
  kCaptured,  // captured (all or part; the rest went back)
  kReleased,  // released by the shop or an order cancellation
  kExpired,   // released by the holds job after expires_at
};
const char* to_string(HoldStatus s);
std::optional<HoldStatus> parse_hold_status(std::string_view s);

// What a hold took from one lot, and what became of it.
struct HoldLotState {
  LotId lot;
  Points held;      // taken from the lot by the hold
  Points captured;  // of held, spent by the capture
  Points refunded;  // of captured, returned by refunds
  friend bool operator==(const HoldLotState&, const HoldLotState&) = default;
};

struct Hold {
  HoldId id;
  ProgramId program_id;
  MemberId member_id;
  HoldStatus status = HoldStatus::kOpen;
  Points points;                  // held
  int64_t amount_minor = 0;       // what the held points pay
  std::string currency;           // the program's
  int64_t order_total_minor = 0;  // the order total it was quoted against
  // The shop's order id ("" = not linked): an order with this external_id
  // captures the hold when it becomes paid (if capture_on_paid), releases it
  // when cancelled, and returns captured points when refunded.
  std::string order_external_id;
  bool capture_on_paid = false;
  Points captured;  // set by the capture
  Points refunded;  // of captured, returned by order refunds
  PostingId hold_posting;
  PostingId settle_posting;  // the capture's or release's
  Instant created_at;
  Instant expires_at;
  std::optional<Instant> settled_at;  // captured, released or expired at
  std::string actor;
  std::vector<HoldLotState> lots;  // in the order taken
};

// A capture must find the hold open and not past its expiry: kHoldNotOpen
// otherwise (naming what happened); kInvalidRequest for points <= 0;
// kCaptureExceedsHold above the held points.
Status check_capture(const Hold& hold, Points points, Instant now);
// A release must find the hold open: kHoldNotOpen otherwise.
Status check_release(const Hold& hold);

// Splits a capture of `points` over the hold's lots in the order they were
// taken (the oldest-expiring points are spent); sets each lot's `captured` and
// returns what goes back into each lot (the rest).
struct HoldLotReturn {
  LotId lot;
  Points points;
};
std::vector<HoldLotReturn> split_capture(std::vector<HoldLotState>& lots, Points points);
// Every held point back (a release).
std::vector<HoldLotReturn> release_all(const std::vector<HoldLotState>& lots);
// Refunds `points` of what was captured, from the lots taken last first (the
// member gets back the points that would have expired last); sets `refunded`.
std::vector<HoldLotReturn> split_refund(std::vector<HoldLotState>& lots, Points points);

// Captured points a refund returns: in proportion to the money refunded,
// rounded down, cumulative so that partial refunds never sum to more than a
// full one: floor(captured * order_refunded_minor / order_total_minor) minus
// what was refunded already; everything left when `full` (the order cancelled,
// returned or refunded in full).
Points points_to_refund(const Hold& hold, int64_t order_total_minor, int64_t order_refunded_minor,
                        bool full);
// The same rule on plain amounts, for anything captured against an order (a
// points hold above, a gift card hold's money): what to give back now of
// `captured`, of which `already_refunded` went back before.
int64_t captured_to_give_back(int64_t captured, int64_t already_refunded, int64_t order_total_minor,
                              int64_t order_refunded_minor, bool full);

}  // namespace loyalty
