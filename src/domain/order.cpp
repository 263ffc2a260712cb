#include "domain/order.h"

#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <numeric>

#include "common/assert.h"
#include "common/json_writer.h"
#include "domain/earning.h"

namespace loyalty {

namespace {

Status invalid(std::string message) {
  return Status(ErrorCode::kInvalidRequest, std::move(message));
}

Status check_length(std::string_view value, size_t max, std::string_view field) {
  if (value.size() > max) {
    return invalid(fmt::format("{}: must be at most {} characters", field, max));
  }
  return {};
}

Status check_money(int64_t value, std::string_view field) {
  if (value < 0) return invalid(fmt::format("{}: must not be negative", field));
  if (value > kMaxMoneyMinor) {
    return Status(ErrorCode::kAmountOutOfRange,
                  fmt::format("{}: must be at most {}", field, kMaxMoneyMinor));
  }
  return {};
}

Status overflow(std::string_view what) {
  return Status(ErrorCode::kAmountOutOfRange, fmt::format("{} does not fit in 64 bits", what));
}

// a * b / c rounded down, for non-negative values with c > 0 (128-bit exact).
int64_t mul_div_floor(int64_t a, int64_t b, int64_t c) {
  LOYALTY_ASSERT(a >= 0 && b >= 0 && c > 0);
  __int128 r = static_cast<__int128>(a) * b / c;
  LOYALTY_ASSERT(r <= INT64_MAX);
  return static_cast<int64_t>(r);
}

int rank(OrderStatus s) {
  switch (s) {
    case OrderStatus::kPlaced:
      return 0;
    case OrderStatus::kPaid:
      return 1;
    case OrderStatus::kShipped:
      return 2;
    case OrderStatus::kDelivered:
      return 3;
    case OrderStatus::kCancelled:
    case OrderStatus::kReturned:
      return 4;
  }
  return 4;
}

std::optional<Instant>* status_instant(Order& o, OrderStatus s) {
  switch (s) {
    case OrderStatus::kPaid:
      return &o.paid_at;
    case OrderStatus::kShipped:
      return &o.shipped_at;
    case OrderStatus::kDelivered:
      return &o.delivered_at;
    case OrderStatus::kCancelled:
      return &o.cancelled_at;
    case OrderStatus::kReturned:
      return &o.returned_at;
    case OrderStatus::kPlaced:
      return nullptr;
  }
  return nullptr;
}

LocalDate local_date_in(Instant t, std::string_view timezone) {
  using namespace std::chrono;
  sys_time<microseconds> tp{microseconds{t.micros_since_epoch}};
  const date::time_zone* zone = nullptr;
  try {
    zone = date::locate_zone(timezone);
  } catch (const std::exception&) {
    zone = date::locate_zone("UTC");
  }
  auto local = zone->to_local(tp);
  date::year_month_day ymd{date::floor<date::days>(local)};
  return LocalDate{static_cast<int>(ymd.year()), static_cast<int>(unsigned(ymd.month())),
                   static_cast<int>(unsigned(ymd.day()))};
}

std::string event_details(const Order& o, OrderStatus status) {
  JsonWriter w;
  w.begin_object();
  if (status == OrderStatus::kShipped || status == OrderStatus::kDelivered) {
    if (!o.shipment.carrier.empty()) w.field("carrier", o.shipment.carrier);
    if (!o.shipment.tracking_number.empty()) {
      w.field("tracking_number", o.shipment.tracking_number);
    }
    if (o.shipment.promised_delivery_date) {
      w.field("promised_delivery_date", format_local_date(*o.shipment.promised_delivery_date));
    }
    if (status == OrderStatus::kDelivered && o.delivered_on_time) {
      w.field("on_time", *o.delivered_on_time);
    }
  }
  w.end_object();
  return w.take();
}

OrderEvent make_event(int seq, std::string type, std::string event_id, Instant occurred_at,
                      Instant now, std::string details) {
  OrderEvent e;
  e.seq = seq;
  e.type = std::move(type);
  e.event_id = std::move(event_id);
  e.occurred_at = occurred_at;
  e.recorded_at = now;
  e.details_json = std::move(details);
  return e;
}

Status check_event_capacity(const Order& o, int adding) {
  if (o.events_count + adding > kMaxOrderEvents) {
    return invalid(fmt::format("order {} already holds {} timeline entries (the most is {})",
                               o.external_id, o.events_count, kMaxOrderEvents));
  }
  return {};
}

// A replay of a recorded event id: same type = replay, another = mismatch.
Result<bool> is_replay(const std::optional<std::string>& recorded, std::string_view type,
                       std::string_view event_id) {
  if (!recorded) return false;
  if (*recorded != type) {
    return Status(ErrorCode::kIdempotencyMismatch,
                  fmt::format("event_id '{}' was already recorded for a '{}' event of this order",
                              event_id, *recorded));
  }
  return true;
}

}  // namespace

MemberOrderStats member_order_stats(const Order& order) {
  if (!order.paid_at || order.status == OrderStatus::kCancelled ||
      order.status == OrderStatus::kReturned) {
    return {};
  }
  LOYALTY_ASSERT(order.refunded_minor >= 0 && order.refunded_minor <= order.total_minor);
  return MemberOrderStats{1, order.total_minor - order.refunded_minor};
}

const char* to_string(OrderStatus s) {
  switch (s) {
    case OrderStatus::kPlaced:
      return "placed";
    case OrderStatus::kPaid:
      return "paid";
    case OrderStatus::kShipped:
      return "shipped";
    case OrderStatus::kDelivered:
      return "delivered";
    case OrderStatus::kCancelled:
      return "cancelled";
    case OrderStatus::kReturned:
      return "returned";
  }
  return "?";
}

std::optional<OrderStatus> parse_order_status(std::string_view s) {
  for (int i = 0; i <= static_cast<int>(OrderStatus::kReturned); ++i) {
    auto status = static_cast<OrderStatus>(i);
    if (s == to_string(status)) return status;
  }
  return std::nullopt;
}

bool is_final(OrderStatus s) { return s == OrderStatus::kCancelled || s == OrderStatus::kReturned; }

Status validate_new_order(Order& o) {
  if (o.external_id.empty()) return invalid("external_id: is required");
  LOYALTY_RETURN_IF_ERROR(check_length(o.external_id, kMaxOrderExternalIdLength, "external_id"));
  LOYALTY_RETURN_IF_ERROR(check_length(o.channel, kMaxChannelLength, "channel"));
  if (o.attributes_json.size() > kMaxOrderAttributesJsonBytes) {
    return invalid(
        fmt::format("attributes: must be at most {} bytes of JSON", kMaxOrderAttributesJsonBytes));
  }
  if (o.items.empty()) return invalid("items: must hold at least one item");
  if (o.items.size() > kMaxOrderItems) {
    return invalid(fmt::format("items: must hold at most {} items", kMaxOrderItems));
  }
  int64_t subtotal = 0;
  int64_t item_discounts = 0;
  int64_t nets = 0;
  for (size_t k = 0; k < o.items.size(); ++k) {
    OrderItem& i = o.items[k];
    std::string at = fmt::format("items[{}]", k);
    i.line = static_cast<int>(k) + 1;
    i.refunded_quantity = 0;
    if (i.sku.empty()) return invalid(at + ".sku: is required");
    LOYALTY_RETURN_IF_ERROR(check_length(i.sku, kMaxSkuLength, at + ".sku"));
    LOYALTY_RETURN_IF_ERROR(check_length(i.name, kMaxItemNameLength, at + ".name"));
    LOYALTY_RETURN_IF_ERROR(check_length(i.category, kMaxCategoryLength, at + ".category"));
    if (i.quantity <= 0 || i.quantity > kMaxItemQuantity) {
      return invalid(fmt::format("{}.quantity: must be 1 to {}", at, kMaxItemQuantity));
    }
    LOYALTY_RETURN_IF_ERROR(check_money(i.unit_price_minor, at + ".unit_price_minor"));
    LOYALTY_RETURN_IF_ERROR(check_money(i.discount_minor, at + ".discount_minor"));
    int64_t gross = 0;
    if (__builtin_mul_overflow(i.quantity, i.unit_price_minor, &gross)) {
      return overflow(at + " quantity * unit_price_minor");
    }
    if (i.discount_minor > gross) {
      return invalid(at + ".discount_minor: must not exceed quantity * unit_price_minor");
    }
    i.net_minor = gross - i.discount_minor;
    if (!checked_add(subtotal, gross, &subtotal)) return overflow("the order's subtotal");
    item_discounts += i.discount_minor;  // <= subtotal: cannot overflow
    nets += i.net_minor;
  }
  LOYALTY_RETURN_IF_ERROR(check_money(o.discount_minor, "discount_minor"));
  LOYALTY_RETURN_IF_ERROR(check_money(o.shipping_minor, "shipping_minor"));
  LOYALTY_RETURN_IF_ERROR(check_money(o.tax_minor, "tax_minor"));
  if (o.discount_minor > nets) {
    return invalid("discount_minor: must not exceed the items' amount after their discounts");
  }
  int64_t total = nets - o.discount_minor;
  if (!checked_add(total, o.shipping_minor, &total) || !checked_add(total, o.tax_minor, &total)) {
    return overflow("the order's total");
  }
  o.subtotal_minor = subtotal;
  o.items_discount_minor = item_discounts;
  o.total_minor = total;
  o.refunded_minor = 0;
  for (OrderItem& i : o.items) {
    i.refunded_minor = 0;
    i.points = 0;
    i.points_reversed = 0;
  }
  compute_line_amounts(o);
  LOYALTY_ASSERT(o.total_minor >= 0 &&
                 o.total_minor <= o.subtotal_minor + o.shipping_minor + o.tax_minor);
  return {};
}

Status check_transition(OrderStatus from, OrderStatus to) {
  auto refuse = [&](std::string_view why) {
    return Status(
        ErrorCode::kInvalidOrderTransition,
        fmt::format("an order cannot go from {} to {}: {}", to_string(from), to_string(to), why));
  };
  if (is_final(from)) return refuse("the order is final");
  if (to == OrderStatus::kPlaced) return refuse("placed is the first status");
  if (to == from && to != OrderStatus::kShipped) return refuse("it already is");
  switch (to) {
    case OrderStatus::kCancelled:
      if (from == OrderStatus::kDelivered) return refuse("a delivered order is returned");
      return {};
    case OrderStatus::kReturned:
      if (rank(from) < rank(OrderStatus::kShipped)) return refuse("it has not shipped; cancel it");
      return {};
    case OrderStatus::kShipped:
    case OrderStatus::kDelivered:
      if (from == OrderStatus::kPlaced) return refuse("it must be paid first");
      break;
    default:
      break;
  }
  if (rank(to) < rank(from)) return refuse("statuses only move forward");
  return {};
}

Result<OrderPlan> plan_status_change(const Order& order, const StatusChange& change,
                                     const std::optional<std::string>& recorded_event_type,
                                     const EarningPolicy& policy, std::string_view timezone,
                                     Instant now) {
  OrderPlan plan;
  plan.order = order;
  if (change.event_id.empty() || change.event_id.size() > kMaxPlatformEventIdLength) {
    return invalid(fmt::format("event_id: must be 1 to {} characters", kMaxPlatformEventIdLength));
  }
  LOYALTY_ASSIGN_OR_RETURN(
      bool replay, is_replay(recorded_event_type, to_string(change.status), change.event_id));
  if (replay) {
    plan.replay = true;
    return plan;
  }
  LOYALTY_RETURN_IF_ERROR(check_transition(order.status, change.status));
  LOYALTY_RETURN_IF_ERROR(check_event_capacity(order, 1));
  Order& o = plan.order;
  Instant at = change.occurred_at.value_or(now);
  o.status = change.status;
  if (std::optional<Instant>* field = status_instant(o, change.status)) {
    // A repeated shipped report keeps the first shipping instant.
    if (!field->has_value()) *field = at;
  }
  if (change.carrier) {
    LOYALTY_RETURN_IF_ERROR(check_length(*change.carrier, kMaxCarrierLength, "carrier"));
    o.shipment.carrier = *change.carrier;
  }
  if (change.tracking_number) {
    LOYALTY_RETURN_IF_ERROR(
        check_length(*change.tracking_number, kMaxTrackingNumberLength, "tracking_number"));
    o.shipment.tracking_number = *change.tracking_number;
  }
  if (change.promised_delivery_date)
    o.shipment.promised_delivery_date = change.promised_delivery_date;
  switch (change.status) {
    case OrderStatus::kPaid:
      plan.points.earn = o.member_id.valid();
      break;
    case OrderStatus::kDelivered:
      if (o.shipment.promised_delivery_date) {
        o.delivered_on_time = local_date_in(at, timezone) <= *o.shipment.promised_delivery_date;
      }
      if (o.member_id.valid() && o.earn_lot.valid() && policy.vest_from == VestFrom::kDelivered &&
          points_standing(o) > 0) {
        plan.points.schedule_vesting_at = vesting_after_delivery(policy, at);
      }
      break;
    case OrderStatus::kCancelled:
    case OrderStatus::kReturned: {
      // Everything the order still gives is taken back.
      int64_t due = 0;
      for (OrderItem& i : o.items) {
        if (i.points_reversed == i.points) continue;
        due += i.points - i.points_reversed;
        i.points_reversed = i.points;
        plan.changed_lines.push_back(i.line);
      }
      plan.points.clawback = Points{due};
      break;
    }
    default:
      break;
  }
  o.updated_at = now;
  plan.new_events.push_back(make_event(o.events_count + 1, to_string(change.status),
                                       change.event_id, at, now, event_details(o, change.status)));
  o.events_count += 1;
  LOYALTY_ASSERT(plan.points.clawback.value >= 0);
  return plan;
}

int64_t line_refund_minor(const OrderItem& item, int64_t quantity) {
  LOYALTY_ASSERT(quantity >= 0 && item.refunded_quantity + quantity <= item.quantity);
  int64_t before = mul_div_floor(item.paid_minor, item.refunded_quantity, item.quantity);
  int64_t after = mul_div_floor(item.paid_minor, item.refunded_quantity + quantity, item.quantity);
  // Amount refunds may have taken part of the line already.
  return std::max<int64_t>(0, std::min(after - before, item.paid_minor - item.refunded_minor));
}

void compute_line_amounts(Order& o) {
  std::vector<int64_t> nets(o.items.size());
  for (size_t k = 0; k < o.items.size(); ++k) {
    OrderItem& i = o.items[k];
    i.net_minor = i.quantity * i.unit_price_minor - i.discount_minor;  // validated: fits
    nets[k] = i.net_minor;
  }
  std::vector<int64_t> shares(o.items.size(), 0);
  if (o.discount_minor > 0) distribute_largest_remainder(o.discount_minor, nets, shares);
  for (size_t k = 0; k < o.items.size(); ++k) {
    o.items[k].paid_minor = o.items[k].net_minor - shares[k];
    LOYALTY_ASSERT(o.items[k].paid_minor >= 0);
  }
}

void set_order_points(Order& o, int64_t points, const std::vector<int64_t>& item_points) {
  LOYALTY_ASSERT(item_points.empty() || item_points.size() == o.items.size());
  o.points_earned = points;
  int64_t sum = 0;
  for (size_t k = 0; k < o.items.size(); ++k) {
    o.items[k].points = item_points.empty() ? 0 : item_points[k];
    o.items[k].points_reversed = 0;
    sum += o.items[k].points;
  }
  // Points no line carries (none, when the earning function shares every
  // award over the items) are put on the line that paid most, so refunds
  // can reverse them.
  if (sum != points && !o.items.empty()) {
    size_t top = 0;
    for (size_t k = 1; k < o.items.size(); ++k) {
      if (o.items[k].paid_minor > o.items[top].paid_minor) top = k;
    }
    o.items[top].points += points - sum;
  }
}

Result<OrderPlan> plan_refund(const Order& order, const RefundChange& change,
                              const std::optional<std::string>& recorded_event_type, Instant now) {
  OrderPlan plan;
  plan.order = order;
  if (change.event_id.empty() || change.event_id.size() > kMaxPlatformEventIdLength) {
    return invalid(fmt::format("event_id: must be 1 to {} characters", kMaxPlatformEventIdLength));
  }
  LOYALTY_ASSIGN_OR_RETURN(bool replay,
                           is_replay(recorded_event_type, "refunded", change.event_id));
  if (replay) {
    plan.replay = true;
    return plan;
  }
  if (change.lines.empty() == !change.amount_minor.has_value()) {
    return invalid("a refund names either items or amount_minor");
  }
  if (change.lines.size() > kMaxRefundLines) {
    return invalid(fmt::format("items: must hold at most {} lines", kMaxRefundLines));
  }
  Order& o = plan.order;
  if (!o.paid_at) {
    return Status(ErrorCode::kRefundExceedsPaid,
                  fmt::format("order {} was not paid: there is nothing to refund", o.external_id));
  }
  LOYALTY_RETURN_IF_ERROR(check_event_capacity(order, 1));
  std::vector<int64_t> line_refund(o.items.size(), 0);
  std::vector<bool> named(o.items.size(), false);
  int64_t amount = 0;
  JsonWriter details;
  details.begin_object();
  if (change.amount_minor) {
    if (*change.amount_minor <= 0) return invalid("amount_minor: must be positive");
    amount = *change.amount_minor;
    if (amount > o.total_minor - o.refunded_minor) {
      return Status(ErrorCode::kRefundExceedsPaid,
                    fmt::format("the refund of {} exceeds the {} paid and not yet refunded", amount,
                                o.total_minor - o.refunded_minor));
    }
    // Spread over what is left of each line and of shipping + tax, pro rata.
    std::vector<int64_t> left(o.items.size() + 1);
    int64_t lines_refunded = 0;
    for (size_t k = 0; k < o.items.size(); ++k) {
      left[k] = o.items[k].paid_minor - o.items[k].refunded_minor;
      lines_refunded += o.items[k].refunded_minor;
    }
    left.back() = (o.total_minor - o.refunded_minor) -
                  std::accumulate(left.begin(), left.end() - 1, int64_t{0});
    LOYALTY_ASSERT(left.back() >= 0 && lines_refunded <= o.refunded_minor);
    std::vector<int64_t> parts(left.size(), 0);
    distribute_largest_remainder(amount, left, parts);
    for (size_t k = 0; k < o.items.size(); ++k) line_refund[k] = std::min(parts[k], left[k]);
  } else {
    details.key("items").begin_array();
    for (size_t k = 0; k < change.lines.size(); ++k) {
      const OrderRefundLine& r = change.lines[k];
      std::string at = fmt::format("items[{}]", k);
      OrderItem* item = nullptr;
      if (r.line > 0) {
        if (static_cast<size_t>(r.line) > o.items.size()) {
          return invalid(fmt::format("{}.line: the order has {} lines", at, o.items.size()));
        }
        item = &o.items[static_cast<size_t>(r.line - 1)];
      } else {
        for (OrderItem& i : o.items) {
          if (i.sku != r.sku) continue;
          if (item != nullptr) {
            return invalid(at + ".sku: is on several lines of the order; name the line");
          }
          item = &i;
        }
        if (item == nullptr) return invalid(at + ".sku: is not in the order");
      }
      if (r.quantity <= 0) return invalid(at + ".quantity: must be positive");
      if (r.quantity > item->quantity - item->refunded_quantity) {
        return Status(
            ErrorCode::kRefundExceedsPaid,
            fmt::format("{}: line {} has {} units not yet refunded; {} asked", at, item->line,
                        item->quantity - item->refunded_quantity, r.quantity));
      }
      // Money first (it depends on the units refunded before), then the units.
      int64_t money = line_refund_minor(*item, r.quantity);
      item->refunded_quantity += r.quantity;
      size_t index = static_cast<size_t>(item->line - 1);
      line_refund[index] += money;
      named[index] = true;
      item->refunded_minor += money;  // line_refund_minor keeps it <= paid_minor
      amount += money;
      details.begin_object()
          .field("line", item->line)
          .field("sku", item->sku)
          .field("quantity", r.quantity)
          .field("amount_minor", money)
          .end_object();
    }
    details.end_array();
    // Undo the per-line money: it is applied below with the points.
    for (size_t k = 0; k < o.items.size(); ++k) o.items[k].refunded_minor -= line_refund[k];
  }
  LOYALTY_ASSERT(amount <= o.total_minor - o.refunded_minor);
  // Points follow each line's money (domain/earning.h points_to_reverse).
  std::vector<RefundLine> lines(o.items.size());
  for (size_t k = 0; k < o.items.size(); ++k) {
    const OrderItem& i = o.items[k];
    lines[k] =
        RefundLine{i.points, i.points_reversed, i.paid_minor, i.refunded_minor, line_refund[k]};
  }
  std::vector<int64_t> per_line(o.items.size(), 0);
  int64_t points = points_to_reverse(lines, per_line);
  for (size_t k = 0; k < o.items.size(); ++k) {
    OrderItem& i = o.items[k];
    i.refunded_minor += line_refund[k];
    i.points_reversed += per_line[k];
    LOYALTY_ASSERT(i.refunded_minor <= i.paid_minor && i.points_reversed <= i.points);
    if (named[k] || line_refund[k] != 0 || per_line[k] != 0) plan.changed_lines.push_back(i.line);
  }
  o.refunded_minor += amount;
  details.field("amount_minor", amount).field("refunded_minor", o.refunded_minor);
  if (!change.reason.empty()) details.field("reason", change.reason);
  details.end_object();
  plan.points.clawback = Points{points};
  o.updated_at = now;
  plan.new_events.push_back(make_event(o.events_count + 1, "refunded", change.event_id,
                                       change.occurred_at.value_or(now), now, details.take()));
  o.events_count += 1;
  LOYALTY_ASSERT(o.refunded_minor <= o.total_minor);
  return plan;
}

Instant vesting_after_delivery(const EarningPolicy& policy, Instant delivered_at) {
  return delivered_at + Duration::from_days(policy.return_window_days);
}

std::optional<Instant> order_vesting_instant(const Order& order, const EarningPolicy& policy) {
  if (!order.paid_at || order.status == OrderStatus::kCancelled ||
      order.status == OrderStatus::kReturned) {
    return std::nullopt;
  }
  if (policy.vest_from == VestFrom::kPaid) {
    return *order.paid_at + Duration::from_days(policy.return_window_days);
  }
  if (!order.delivered_at) return std::nullopt;
  return vesting_after_delivery(policy, *order.delivered_at);
}

int64_t order_net_merchandise_minor(const Order& order) {
  if (!order.paid_at || order.status == OrderStatus::kCancelled ||
      order.status == OrderStatus::kReturned) {
    return 0;
  }
  const int64_t net =
      order.total_minor - order.shipping_minor - order.tax_minor - order.refunded_minor;
  return net > 0 ? net : 0;
}

CreditRequest earn_credit_request(const Order& order, Points points, const EarningPolicy& policy,
                                  Instant now) {
  LOYALTY_ASSERT(order.paid_at.has_value());
  CreditRequest r;
  r.points = points;
  r.reason = "order " + order.external_id;
  r.source = "order";
  r.actor = "system";
  r.order = order.id;
  if (policy.vest_from == VestFrom::kPaid) {
    Instant at = *order.paid_at + Duration::from_days(policy.return_window_days);
    if (at > now) r.available_at = at;
  } else if (order.delivered_at) {
    // Paid after delivery (or claimed later): the window runs from delivery.
    Instant at = vesting_after_delivery(policy, *order.delivered_at);
    if (at > now) r.available_at = at;
  } else {
    r.pending_until_scheduled = true;
  }
  return r;
}

ClawbackShortfall shortfall_of(RefundOverspendPolicy policy) {
  switch (policy) {
    case RefundOverspendPolicy::kNegativeBalance:
      return ClawbackShortfall::kDebt;
    case RefundOverspendPolicy::kClawBackPending:
      return ClawbackShortfall::kPendingThenWriteOff;
    case RefundOverspendPolicy::kWriteOff:
      return ClawbackShortfall::kWriteOff;
  }
  return ClawbackShortfall::kWriteOff;
}

OrderEvent points_event(std::string type, std::string details_json, Instant now) {
  OrderEvent e;
  e.type = std::move(type);
  e.occurred_at = now;
  e.recorded_at = now;
  e.details_json = std::move(details_json);
  return e;
}

}  // namespace loyalty
