// Orders and order tracking (docs/orders.md): creation, status reports,
// refunds, guest-order claims, the member's "where is my order" view and the
// carrier on-time report.
#include "api/decoders.h"
#include "api/routes.h"
#include "api/support.h"
#include "common/crypto.h"
#include "http/json_decode.h"

namespace loyalty::api {

namespace {

// Default period of the carrier report when `from` is not given.
constexpr int kDefaultCarrierReportDays = 30;

void field_instant(JsonWriter& w, std::string_view name, const std::optional<Instant>& t) {
  if (t) {
    w.field(name, format_rfc3339(*t));
  } else {
    w.field_null(name);
  }
}

void field_text_or_null(JsonWriter& w, std::string_view name, const std::string& text) {
  if (text.empty()) {
    w.field_null(name);
  } else {
    w.field(name, text);
  }
}

// The order resource. `lot` is the lot of its points, when it has one: its
// state tells pending from vested points.
void write_order(JsonWriter& w, const Order& o, const std::vector<OrderEvent>& timeline,
                 const std::optional<Lot>& lot) {
  w.begin_object().field("id", format_id(o.id)).field("external_id", o.external_id);
  if (o.member_id.valid()) {
    w.field("member_id", format_id(o.member_id));
  } else {
    w.field_null("member_id");
  }
  w.key("customer").begin_object();
  field_text_or_null(w, "external_id", o.customer_external_id);
  field_text_or_null(w, "email", o.customer_email);
  w.end_object();
  w.field("status", to_string(o.status))
      .field("currency", o.currency)
      .field("channel", o.channel)
      .field("placed_at", format_rfc3339(o.placed_at));
  field_instant(w, "paid_at", o.paid_at);
  field_instant(w, "shipped_at", o.shipped_at);
  field_instant(w, "delivered_at", o.delivered_at);
  field_instant(w, "cancelled_at", o.cancelled_at);
  field_instant(w, "returned_at", o.returned_at);
  w.key("items").begin_array();
  for (const OrderItem& i : o.items) {
    w.begin_object()
        .field("line", i.line)
        .field("sku", i.sku)
        .field("name", i.name)
        .field("category", i.category)
        .field("quantity", i.quantity)
        .field("unit_price_minor", i.unit_price_minor)
        .field("discount_minor", i.discount_minor)
        .field("paid_minor", i.paid_minor)
        .field_raw("attributes", i.attributes_json)
        .field("refunded_quantity", i.refunded_quantity)
        .field("refunded_minor", i.refunded_minor)
        .field("points", i.points)
        .end_object();
  }
  w.end_array();
  w.field("subtotal_minor", o.subtotal_minor)
      .field("items_discount_minor", o.items_discount_minor)
      .field("discount_minor", o.discount_minor)
      .field("shipping_minor", o.shipping_minor)
      .field("tax_minor", o.tax_minor)
      .field("total_minor", o.total_minor)
      .field("refunded_minor", o.refunded_minor)
      .field_raw("attributes", o.attributes_json);
  w.key("shipment").begin_object();
  field_text_or_null(w, "carrier", o.shipment.carrier);
  field_text_or_null(w, "tracking_number", o.shipment.tracking_number);
  if (o.shipment.promised_delivery_date) {
    w.field("promised_delivery_date", format_local_date(*o.shipment.promised_delivery_date));
  } else {
    w.field_null("promised_delivery_date");
  }
  if (o.delivered_on_time) {
    w.field("on_time", *o.delivered_on_time);
  } else {
    w.field_null("on_time");
  }
  w.end_object();
  int64_t standing = points_standing(o);
  int64_t pending = 0;
  if (lot && lot->pending) pending = std::min(lot->remaining.value, standing);
  w.key("points")
      .begin_object()
      .field("earned", o.points_earned)
      .field("reversed", o.points_reversed)
      .field("written_off", o.points_written_off)
      .field("standing", standing)
      .field("pending", pending)
      .field("vested", standing - pending);
  field_instant(w, "vests_at", lot && lot->pending ? lot->available_at : o.vests_at);
  if (o.earn_posting.valid()) {
    w.field("posting_id", format_id(o.earn_posting));
  } else {
    w.field_null("posting_id");
  }
  if (o.config_version > 0) {
    w.field("config_version", o.config_version);
  } else {
    w.field_null("config_version");
  }
  w.end_object();
  w.key("timeline").begin_array();
  for (const OrderEvent& e : timeline) {
    w.begin_object().field("seq", e.seq).field("type", e.type);
    field_text_or_null(w, "event_id", e.event_id);
    w.field("occurred_at", format_rfc3339(e.occurred_at))
        .field("recorded_at", format_rfc3339(e.recorded_at))
        .field_raw("details", e.details_json)
        .end_object();
  }
  w.end_array();
  w.field("created_at", format_rfc3339(o.created_at))
      .field("updated_at", format_rfc3339(o.updated_at))
      .end_object();
}

std::string order_json(const engine::OrderResult& r) {
  JsonWriter w;
  write_order(w, r.order, r.timeline, r.earn_lot);
  return w.take();
}

Write order_write(engine::CommandBody body, int created_status) {
  Write write;
  write.body = std::move(body);
  write.success_status = created_status;
  write.encode = [](const engine::Outcome& outcome, bool) {
    return order_json(std::get<engine::OrderResult>(outcome.value));
  };
  write.status_of = [created_status](const engine::Outcome& outcome) {
    return std::get<engine::OrderResult>(outcome.value).replayed ? 200 : created_status;
  };
  return write;
}

// An order with what its view needs, read in the handler's snapshot.
Result<engine::OrderResult> read_order_view(store::StoreSession& s, Order order) {
  engine::OrderResult r;
  LOYALTY_ASSIGN_OR_RETURN(r.timeline, s.order_events(order.program_id, order.id));
  if (order.earn_lot.valid()) {
    LOYALTY_ASSIGN_OR_RETURN(auto lots, s.lots_by_ids(order.program_id, {order.earn_lot}));
    if (!lots.empty()) r.earn_lot = lots.front();
  }
  r.order = std::move(order);
  return r;
}

Result<std::optional<Instant>> query_instant(const http::QueryParams& query,
                                             std::string_view name) {
  auto text = query.get(name);
  if (!text) return std::optional<Instant>();
  auto t = parse_rfc3339(*text);
  if (!t) {
    return Status(
        ErrorCode::kInvalidRequest,
        std::string(name) + ": must be an RFC 3339 timestamp such as 2024-06-01T00:00:00Z");
  }
  return std::optional<Instant>(*t);
}

}  // namespace

void create_order(http::RequestContext& ctx, const http::Responder& respond) {
  auto command = decode_create_order(ctx.body, program_of(ctx), sha256_hex(ctx.body));
  if (!command.ok()) return respond_error(ctx, respond, command.status());
  submit_write(ctx, respond, order_write(std::move(command).value(), 201));
}

void get_order(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = path_id<OrderTag>(ctx, 0);
  if (!id) return respond_error(ctx, respond, not_found("order", ctx.param(0)));
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    LOYALTY_ASSIGN_OR_RETURN(std::optional<Order> order, s.find_order(program_of(ctx), *id));
    if (!order) return not_found("order", ctx.param(0));
    LOYALTY_ASSIGN_OR_RETURN(engine::OrderResult view, read_order_view(s, std::move(*order)));
    return http::Response{200, "application/json", order_json(view), {}};
  });
}

void find_orders(http::RequestContext& ctx, const http::Responder& respond) {
  if (Status st = ctx.query.check_allowed({"external_id"}); !st.ok()) {
    return respond_error(ctx, respond, st);
  }
  auto external_id = ctx.query.get("external_id");
  if (!external_id || external_id->empty()) {
    return respond_error(ctx, respond,
                         Status(ErrorCode::kInvalidRequest, "external_id: is required"));
  }
  std::string wanted(*external_id);
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    LOYALTY_ASSIGN_OR_RETURN(std::optional<Order> order,
                             s.find_order_by_external_id(program_of(ctx), wanted));
    JsonWriter w;
    w.begin_object().key("data").begin_array();
    if (order) {
      LOYALTY_ASSIGN_OR_RETURN(engine::OrderResult view, read_order_view(s, std::move(*order)));
      write_order(w, view.order, view.timeline, view.earn_lot);
    }
    w.end_array().field_null("next_cursor").end_object();
    return http::Response{200, "application/json", w.take(), {}};
  });
}

void update_order_status(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = path_id<OrderTag>(ctx, 0);
  if (!id) return respond_error(ctx, respond, not_found("order", ctx.param(0)));
  auto command = decode_order_status(ctx.body, program_of(ctx), *id);
  if (!command.ok()) return respond_error(ctx, respond, command.status());
  submit_write(ctx, respond, order_write(std::move(command).value(), 200));
}

void refund_order(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = path_id<OrderTag>(ctx, 0);
  if (!id) return respond_error(ctx, respond, not_found("order", ctx.param(0)));
  auto command = decode_order_refund(ctx.body, program_of(ctx), *id);
  if (!command.ok()) return respond_error(ctx, respond, command.status());
  submit_write(ctx, respond, order_write(std::move(command).value(), 200));
}

void list_member_orders(http::RequestContext& ctx, const http::Responder& respond) {
  auto member = path_id<MemberTag>(ctx, 0);
  if (!member) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  if (Status st = ctx.query.check_allowed({"limit", "cursor"}); !st.ok()) {
    return respond_error(ctx, respond, st);
  }
  auto page = cursor_page<OrderTag>(ctx.query);
  if (!page.ok()) return respond_error(ctx, respond, page.status());
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    ProgramId program = program_of(ctx);
    LOYALTY_ASSIGN_OR_RETURN(std::optional<Member> found, s.find_member(program, *member));
    if (!found) return not_found("member", ctx.param(0));
    LOYALTY_ASSIGN_OR_RETURN(std::vector<Order> orders,
                             s.list_member_orders(program, *member, page->cursor, page->limit + 1));
    std::vector<engine::OrderResult> views;
    views.reserve(orders.size());
    for (Order& o : orders) {
      LOYALTY_ASSIGN_OR_RETURN(engine::OrderResult view, read_order_view(s, std::move(o)));
      views.push_back(std::move(view));
    }
    std::string body = list_json(
        views, page->limit,
        [](JsonWriter& w, const engine::OrderResult& v) {
          write_order(w, v.order, v.timeline, v.earn_lot);
        },
        [](const engine::OrderResult& v) { return v.order.id; });
    return http::Response{200, "application/json", std::move(body), {}};
  });
}

void claim_member_orders(http::RequestContext& ctx, const http::Responder& respond) {
  auto member = path_id<MemberTag>(ctx, 0);
  if (!member) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  auto empty = http::parse_optional_object(ctx.body, {});
  if (!empty.ok()) return respond_error(ctx, respond, empty.status());
  Write write;
  write.body = engine::ClaimGuestOrders{program_of(ctx), *member};
  write.success_status = 200;
  write.encode = [](const engine::Outcome& outcome, bool) {
    const auto& claim = std::get<engine::ClaimResult>(outcome.value);
    JsonWriter w;
    w.begin_object().field("points", claim.points).key("orders").begin_array();
    for (const engine::OrderResult& r : claim.orders) {
      write_order(w, r.order, r.timeline, r.earn_lot);
    }
    w.end_array().end_object();
    return w.take();
  };
  submit_write(ctx, respond, std::move(write));
}

void carrier_report(http::RequestContext& ctx, const http::Responder& respond) {
  if (Status st = ctx.query.check_allowed({"from", "to"}); !st.ok()) {
    return respond_error(ctx, respond, st);
  }
  auto to = query_instant(ctx.query, "to");
  if (!to.ok()) return respond_error(ctx, respond, to.status());
  auto from = query_instant(ctx.query, "from");
  if (!from.ok()) return respond_error(ctx, respond, from.status());
  Instant end = to->value_or(ctx.services->clock->now());
  Instant start = from->value_or(end - Duration::from_days(kDefaultCarrierReportDays));
  if (start >= end) {
    return respond_error(ctx, respond,
                         Status(ErrorCode::kInvalidRequest, "from: must be before to"));
  }
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    LOYALTY_ASSIGN_OR_RETURN(auto rows, s.carrier_deliveries(program_of(ctx), start, end));
    JsonWriter w;
    w.begin_object()
        .field("from", format_rfc3339(start))
        .field("to", format_rfc3339(end))
        .key("carriers")
        .begin_array();
    for (const store::CarrierDeliveries& r : rows) {
      w.begin_object();
      field_text_or_null(w, "carrier", r.carrier);
      w.field("delivered", r.delivered)
          .field("with_promised_date", r.with_promise)
          .field("on_time", r.on_time);
      // A rate in basis points (integer: 9750 = 97.50 %); null without promises.
      if (r.with_promise > 0) {
        w.field("on_time_rate_bp", r.on_time * 10'000 / r.with_promise);
      } else {
        w.field_null("on_time_rate_bp");
      }
      w.end_object();
    }
    w.end_array().end_object();
    return http::Response{200, "application/json", w.take(), {}};
  });
}

}  // namespace loyalty::api
