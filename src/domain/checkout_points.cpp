#include "domain/checkout_points.h"

#include <algorithm>
#include <numeric>

#include "common/assert.h"

namespace loyalty {

CheckoutUnit checkout_unit(const CheckoutConfig& config) {
  if (!config.enabled) return {};
  LOYALTY_ASSERT(config.rate_points > 0 && config.rate_amount_minor > 0);
  int64_t g = std::gcd(config.rate_points, config.rate_amount_minor);
  return CheckoutUnit{config.rate_points / g, config.rate_amount_minor / g};
}

int64_t checkout_amount_minor(const CheckoutConfig& config, Points points) {
  CheckoutUnit u = checkout_unit(config);
  LOYALTY_ASSERT(u.unit_points > 0 && points.value >= 0 && points.value % u.unit_points == 0);
  int64_t out = 0;
  LOYALTY_ASSERT(!__builtin_mul_overflow(points.value / u.unit_points, u.unit_minor, &out));
  return out;
}

namespace {

// The most money of the order that points may pay: floor(total * share / 100).
// total <= kMaxMoneyMinor-sized values times 100 fits int64 comfortably; a
// larger total is clamped rather than overflowing.
int64_t max_share_minor(const CheckoutConfig& config, int64_t order_total_minor) {
  int64_t scaled = 0;
  if (__builtin_mul_overflow(order_total_minor, config.max_order_share_percent, &scaled)) {
    return order_total_minor / 100 * config.max_order_share_percent;
  }
  return scaled / 100;
}

}  // namespace

CheckoutQuote quote_checkout(const CheckoutConfig& config, int64_t order_total_minor,
                             Points available) {
  CheckoutQuote q;
  if (!config.enabled) {
    q.limited_by = "disabled";
    return q;
  }
  CheckoutUnit u = checkout_unit(config);
  q.unit_points = u.unit_points;
  q.unit_minor = u.unit_minor;
  int64_t units_by_share =
      max_share_minor(config, std::max<int64_t>(0, order_total_minor)) / u.unit_minor;
  int64_t units_by_balance = std::max<int64_t>(0, available.value) / u.unit_points;
  int64_t units = std::min(units_by_share, units_by_balance);
  q.limited_by = units_by_balance <= units_by_share ? "balance" : "order_share";
  q.max_points = Points{units * u.unit_points};
  if (q.max_points.value < config.min_points || q.max_points.value == 0) {
    if (q.max_points.value > 0) q.limited_by = "min_points";
    q.max_points = Points{0};
  }
  q.max_amount_minor = checkout_amount_minor(config, q.max_points);
  LOYALTY_ASSERT(q.max_points.value <= std::max<int64_t>(0, available.value));
  LOYALTY_ASSERT(q.max_amount_minor <= std::max<int64_t>(0, order_total_minor));
  return q;
}

Status check_checkout_points(const CheckoutConfig& config, int64_t order_total_minor,
                             Points available, Points points) {
  if (!config.enabled) {
    return Status(ErrorCode::kCheckoutLimit,
                  "points at checkout are not enabled in the program's configuration (no "
                  "`checkout` section)");
  }
  CheckoutUnit u = checkout_unit(config);
  if (points.value <= 0 || points.value > kMaxPointsPerPosting ||
      points.value % u.unit_points != 0) {
    return Status(ErrorCode::kInvalidRequest,
                  "points: must be a positive multiple of " + std::to_string(u.unit_points) +
                      " (the rate pays " + std::to_string(u.unit_minor) + " minor units per " +
                      std::to_string(u.unit_points) + " points), at most " +
                      std::to_string(kMaxPointsPerPosting));
  }
  if (points.value < config.min_points) {
    return Status(ErrorCode::kCheckoutLimit, "at least " + std::to_string(config.min_points) +
                                                 " points must be used at checkout; " +
                                                 std::to_string(points.value) + " asked");
  }
  int64_t max_minor = max_share_minor(config, order_total_minor);
  if (checkout_amount_minor(config, points) > max_minor) {
    return Status(ErrorCode::kCheckoutLimit,
                  std::to_string(points.value) + " points pay " +
                      std::to_string(checkout_amount_minor(config, points)) +
                      " minor units, more than " + std::to_string(config.max_order_share_percent) +
                      "% of the order total " + std::to_string(order_total_minor) + " (" +
                      std::to_string(max_minor) + ")");
  }
  if (points > available) {
    return Status(ErrorCode::kInsufficientPoints,
                  "the member has " + std::to_string(std::max<int64_t>(0, available.value)) +
                      " available points; " + std::to_string(points.value) +
                      " are needed for the hold");
  }
  return {};
}

const char* to_string(HoldStatus s) {
  switch (s) {
    case HoldStatus::kOpen:
      return "open";
    case HoldStatus::kCaptured:
      return "captured";
    case HoldStatus::kReleased:
      return "released";
    case HoldStatus::kExpired:
      return "expired";
  }
  return "?";
}

std::optional<HoldStatus> parse_hold_status(std::string_view s) {
  for (HoldStatus h :
       {HoldStatus::kOpen, HoldStatus::kCaptured, HoldStatus::kReleased, HoldStatus::kExpired}) {
    if (s == to_string(h)) return h;
  }
  return std::nullopt;
}

Status check_release(const Hold& hold) {
  if (hold.status != HoldStatus::kOpen) {
    return Status(ErrorCode::kHoldNotOpen, format_id(hold.id) + " is " + to_string(hold.status) +
                                               " already; only an open hold can be released");
  }
  return {};
}

Status check_capture(const Hold& hold, Points points, Instant now) {
  if (hold.status != HoldStatus::kOpen) {
    return Status(ErrorCode::kHoldNotOpen, format_id(hold.id) + " is " + to_string(hold.status) +
                                               "; only an open hold can be captured");
  }
  if (hold.expires_at <= now) {
    return Status(ErrorCode::kHoldNotOpen, format_id(hold.id) + " expired at " +
                                               format_rfc3339(hold.expires_at) +
                                               "; its points go back to the member");
  }
  if (points.value <= 0) {
    return Status(ErrorCode::kInvalidRequest, "points: must be at least 1");
  }
  if (points > hold.points) {
    return Status(ErrorCode::kCaptureExceedsHold,
                  "the capture asks for " + std::to_string(points.value) + " points but " +
                      format_id(hold.id) + " holds " + std::to_string(hold.points.value));
  }
  return {};
}

std::vector<HoldLotReturn> split_capture(std::vector<HoldLotState>& lots, Points points) {
  std::vector<HoldLotReturn> rest;
  Points left = points;
  for (HoldLotState& l : lots) {
    LOYALTY_ASSERT(l.captured.value == 0 && l.refunded.value == 0);
    Points take{std::min(left.value, l.held.value)};
    l.captured = take;
    left -= take;
    if (l.held > take) rest.push_back(HoldLotReturn{l.lot, l.held - take});
  }
  LOYALTY_ASSERT(left.value == 0);
  return rest;
}

std::vector<HoldLotReturn> release_all(const std::vector<HoldLotState>& lots) {
  std::vector<HoldLotReturn> out;
  for (const HoldLotState& l : lots) {
    LOYALTY_ASSERT(l.held.value > 0);
    out.push_back(HoldLotReturn{l.lot, l.held});
  }
  return out;
}

std::vector<HoldLotReturn> split_refund(std::vector<HoldLotState>& lots, Points points) {
  std::vector<HoldLotReturn> out;
  Points left = points;
  for (auto it = lots.rbegin(); it != lots.rend() && left.value > 0; ++it) {
    Points refundable = it->captured - it->refunded;
    Points give{std::min(left.value, refundable.value)};
    if (give.value == 0) continue;
    it->refunded += give;
    left -= give;
    out.push_back(HoldLotReturn{it->lot, give});
  }
  LOYALTY_ASSERT(left.value == 0);
  return out;
}

int64_t captured_to_give_back(int64_t captured, int64_t already_refunded, int64_t order_total_minor,
                              int64_t order_refunded_minor, bool full) {
  LOYALTY_ASSERT(already_refunded <= captured);
  int64_t due = captured;
  if (!full && order_total_minor > 0 && order_refunded_minor < order_total_minor) {
    __int128 share = static_cast<__int128>(captured) * std::max<int64_t>(0, order_refunded_minor) /
                     order_total_minor;
    due = static_cast<int64_t>(share);
  }
  return due > already_refunded ? due - already_refunded : 0;
}

Points points_to_refund(const Hold& hold, int64_t order_total_minor, int64_t order_refunded_minor,
                        bool full) {
  if (hold.status != HoldStatus::kCaptured) return Points{0};
  return Points{captured_to_give_back(hold.captured.value, hold.refunded.value, order_total_minor,
                                      order_refunded_minor, full)};
}

}  // namespace loyalty
