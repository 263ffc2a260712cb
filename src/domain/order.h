// Orders and their tracking, as pure functions.
//
// An order arrives from a shop (POST /v1/orders) and then moves through
// statuses reported by the shop's platform, each report carrying the
// platform's event id:
//
//   placed -> paid -> shipped -> delivered
//   cancelled: from placed, paid or shipped (not after delivery)
//   returned:  from shipped or delivered
//
// Moves go forward only (skipping is allowed: paid -> delivered); cancelled
// and returned are final; shipping and delivery need a paid order. A report
// whose event id the order already recorded is a replay: it changes nothing.
// Refunds (by line and quantity, or by amount) are not statuses: they may come
// any time after payment, up to what was paid and not yet refunded.
//
// Points: when an order of a member becomes paid, the earning function decides
// its points and they are credited as a pending lot. They vest
// `return_window_days` after delivery (or after payment: EarningPolicy) — a
// lot whose vesting waits for delivery has no available_at until then.
// Refunds take points back in proportion to the money refunded; a cancel or
// return takes back all. What the member already spent follows the program's
// refund_overspend policy (ledger.h plan_clawback).
//
// Money is int64 minor units of the order's currency, which must be the
// program's; every sum is overflow-checked. Nothing here does I/O or reads a
// clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "common/time.h"
#include "domain/ledger.h"
#include "domain/points.h"
#include "domain/program_config.h"

namespace loyalty {

// Limits, checked by validate_new_order and the decoders.
inline constexpr size_t kMaxOrderItems = 500;
inline constexpr size_t kMaxOrderExternalIdLength = 255;
inline constexpr size_t kMaxSkuLength = 100;
inline constexpr size_t kMaxItemNameLength = 500;
inline constexpr size_t kMaxCategoryLength = 100;
inline constexpr size_t kMaxChannelLength = 64;
inline constexpr size_t kMaxCarrierLength = 100;
inline constexpr size_t kMaxTrackingNumberLength = 200;
inline constexpr size_t kMaxPlatformEventIdLength = 255;
inline constexpr size_t kMaxOrderAttributesJsonBytes = 8192;
inline constexpr int64_t kMaxItemQuantity = 1'000'000;
// Any single money amount (unit price, discount, shipping, tax): 10^12 minor
// units; totals are checked for overflow on top.
inline constexpr int64_t kMaxMoneyMinor = 1'000'000'000'000;
// Timeline entries one order may hold (replays add none).
inline constexpr int kMaxOrderEvents = 1000;
// Lines one refund may name.
inline constexpr size_t kMaxRefundLines = kMaxOrderItems;

enum class OrderStatus { kPlaced, kPaid, kShipped, kDelivered, kCancelled, kReturned };
const char* to_string(OrderStatus s);
std::optional<OrderStatus> parse_order_status(std::string_view s);
bool is_final(OrderStatus s);

struct OrderItem {
  int line = 0;  // 1-based position in the order
  std::string sku;
  std::string name;
  std::string category;
  int64_t quantity = 0;
  int64_t unit_price_minor = 0;
  int64_t discount_minor = 0;  // on the whole line
  std::string attributes_json = "{}";
  int64_t refunded_quantity = 0;
  // Money refunded on the line (by quantity, or its share of amount refunds).
  int64_t refunded_minor = 0;
  // Points the line earned (EarnResult::item_total_points) and the part of
  // them refunds and cancellations reversed (taken or written off).
  int64_t points = 0;
  int64_t points_reversed = 0;
  // Derived (compute_line_amounts): quantity * unit_price - discount, and that
  // minus the line's share of the order-level discount = what was paid for it.
  int64_t net_minor = 0;
  int64_t paid_minor = 0;
};

struct Shipment {
  std::string carrier;
  std::string tracking_number;
  std::optional<LocalDate> promised_delivery_date;  // in the program's time zone
};

// One entry of an order's timeline.
struct OrderEvent {
  int seq = 0;           // 1, 2, ... per order
  std::string type;      // "placed", "paid", ..., "refunded", "points_pending", ...
  std::string event_id;  // the platform's event id; empty for entries loyaltyd adds
  Instant occurred_at;   // when it happened (the platform's time, else now)
  Instant recorded_at;   // when loyaltyd recorded it
  std::string details_json = "{}";
};

struct Order {
  OrderId id;
  ProgramId program_id;
  std::string external_id;  // the shop's order id: unique per program
  MemberId member_id;       // invalid for a guest order
  // The shop's customer: how a guest order finds its member later.
  std::string customer_external_id;
  std::string customer_email;  // normalized
  std::string currency;
  std::string channel;
  std::string attributes_json = "{}";
  Instant placed_at;
  std::vector<OrderItem> items;
  int64_t subtotal_minor = 0;        // sum of quantity * unit_price
  int64_t items_discount_minor = 0;  // sum of line discounts
  int64_t discount_minor = 0;        // order-level discount
  int64_t shipping_minor = 0;
  int64_t tax_minor = 0;
  int64_t total_minor = 0;  // subtotal - discounts + shipping + tax: what was paid
  int64_t refunded_minor = 0;
  OrderStatus status = OrderStatus::kPlaced;
  std::optional<Instant> paid_at;
  std::optional<Instant> shipped_at;
  std::optional<Instant> delivered_at;
  std::optional<Instant> cancelled_at;
  std::optional<Instant> returned_at;
  Shipment shipment;
  // Delivered on or before the promised date (local date in the program's
  // time zone); unset until delivered with a promised date.
  std::optional<bool> delivered_on_time;
  // Points of the order: earned when paid, reversed by refunds and cancels
  // (taken from the member), written off (should have been reversed but the
  // member had spent them and the policy absorbs them).
  int64_t points_earned = 0;
  int64_t points_reversed = 0;
  int64_t points_written_off = 0;
  PostingId earn_posting;
  LotId earn_lot;
  std::optional<Instant> vests_at;  // once known
  int config_version = 0;           // of the configuration that computed points_earned
  std::string request_fingerprint;  // of the creating request: a replay must match
  int events_count = 0;             // timeline entries so far
  Instant created_at;
  Instant updated_at;
};

// Points still standing for the order (earned minus reversed minus written off).
inline int64_t points_standing(const Order& o) {
  return o.points_earned - o.points_reversed - o.points_written_off;
}

// What one order adds to its member's order statistics (Member::orders_count,
// total_spent_minor; the rules' member.orders_count and member.total_spent):
// an order counts from the moment it is paid until it is cancelled or returned,
// as one order and what was paid for it net of refunds (total_minor -
// refunded_minor, in the order's currency, which is the program's). Placed
// (unpaid), cancelled and returned orders add nothing; a guest order adds to
// nobody until it is claimed. The engine applies the difference of this before
// and after each change of an order.
struct MemberOrderStats {
  int64_t orders = 0;
  int64_t spent_minor = 0;
  friend bool operator==(const MemberOrderStats&, const MemberOrderStats&) = default;
};
MemberOrderStats member_order_stats(const Order& order);

// Checks a new order (limits, non-negative amounts) and fills the line numbers,
// net amounts and totals; kInvalidRequest naming the field, kAmountOutOfRange
// when a total overflows.
Status validate_new_order(Order& order);

// kInvalidOrderTransition when `to` may not follow `from` (see the top).
// `to == from` is allowed only for shipped (a new shipment report updates it).
Status check_transition(OrderStatus from, OrderStatus to);

// A status report from the platform.
struct StatusChange {
  OrderStatus status = OrderStatus::kPaid;
  std::string event_id;
  std::optional<Instant> occurred_at;  // default: now
  std::optional<std::string> carrier;
  std::optional<std::string> tracking_number;
  std::optional<LocalDate> promised_delivery_date;
};

struct OrderRefundLine {
  int line = 0;     // 1-based; or 0 and sku set
  std::string sku;  // must name exactly one line
  int64_t quantity = 0;
};
// Either lines or amount_minor (not both).
struct RefundChange {
  std::string event_id;
  std::optional<Instant> occurred_at;
  std::vector<OrderRefundLine> lines;
  std::optional<int64_t> amount_minor;
  std::string reason;
};

// What the ledger must do after an order change.
struct OrderPointsIntent {
  bool earn = false;  // the order became paid: compute and credit its points
  // The order was delivered: its pending lot (if unscheduled) vests at this instant.
  std::optional<Instant> schedule_vesting_at;
  Points clawback;  // points to take back now (> 0 means do it)
};

struct OrderPlan {
  Order order;  // the new state
  std::vector<OrderEvent> new_events;
  OrderPointsIntent points;
  bool replay = false;             // the event id was recorded already: nothing changes
  std::vector<int> changed_lines;  // lines whose refund columns changed
};

// Fills each line's net_minor and paid_minor from the stored columns (the order
// discount is shared pro rata to line nets, largest remainder: the shares sum
// exactly). validate_new_order calls it; the store after reading items.
void compute_line_amounts(Order& order);

// The order's next state after a status report. `recorded_event_type` is the
// type of the timeline entry already carrying change.event_id, if any (then the
// plan is a replay; kIdempotencyMismatch when that entry is of another type).
// `timezone` is the program's (for on-time delivery).
Result<OrderPlan> plan_status_change(const Order& order, const StatusChange& change,
                                     const std::optional<std::string>& recorded_event_type,
                                     const EarningPolicy& policy, std::string_view timezone,
                                     Instant now);

// The order's next state after a refund: kRefundExceedsPaid above what was paid
// and not yet refunded (or above a line's quantity not yet refunded).
Result<OrderPlan> plan_refund(const Order& order, const RefundChange& change,
                              const std::optional<std::string>& recorded_event_type, Instant now);

// Money a refund of `quantity` more units of the line adds: the line's paid
// amount in proportion to the units, computed cumulatively so refunding all
// units refunds exactly what was paid for the line (never more than is left).
int64_t line_refund_minor(const OrderItem& item, int64_t quantity);

// Records the points of a paid order on the order and its lines
// (`item_points`: one per line, summing to `points`).
void set_order_points(Order& order, int64_t points, const std::vector<int64_t>& item_points);

// The credit for an order's points under the policy, paid at order.paid_at:
// vest_from paid: available at paid_at + window (at once when that passed);
// vest_from delivered: pending until delivery schedules it.
CreditRequest earn_credit_request(const Order& order, Points points, const EarningPolicy& policy,
                                  Instant now);

// The instant points vest after delivery at `delivered_at`.
Instant vesting_after_delivery(const EarningPolicy& policy, Instant delivered_at);
// When an order's return window ends under the policy (after payment or after
// delivery), whether or not it earned points; nullopt while unknown (not paid,
// or waiting for delivery) and for an order cancelled or returned.
std::optional<Instant> order_vesting_instant(const Order& order, const EarningPolicy& policy);
// Merchandise after discounts, net of refunds (total - shipping - tax -
// refunded, never below 0), minor units; 0 for an unpaid, cancelled or
// returned order. A referral's qualifying value (docs/referrals.md).
int64_t order_net_merchandise_minor(const Order& order);

ClawbackShortfall shortfall_of(RefundOverspendPolicy policy);

// Timeline entries the engine adds once the ledger has acted.
OrderEvent points_event(std::string type, std::string details_json, Instant now);

}  // namespace loyalty
