// Points at checkout (docs/checkout.md): quote, hold, capture, release.
#include <fmt/format.h>

#include "api/routes.h"
#include "api/support.h"
#include "common/json_writer.h"
#include "domain/order.h"
#include "engine/checkout_commands.h"
#include "http/json_decode.h"

namespace loyalty::api {

namespace {

constexpr size_t kMaxCurrencyLength = 3;

void write_hold(JsonWriter& w, const Hold& h) {
  w.begin_object()
      .field("id", format_id(h.id))
      .field("member_id", format_id(h.member_id))
      .field("status", to_string(h.status))
      .field("points", h.points.value)
      .field("amount_minor", h.amount_minor)
      .field("currency", h.currency)
      .field("order_total_minor", h.order_total_minor);
  if (h.order_external_id.empty()) {
    w.field_null("order_external_id");
  } else {
    w.field("order_external_id", h.order_external_id);
  }
  w.field("capture_on_paid", h.capture_on_paid)
      .field("captured", h.captured.value)
      .field("refunded", h.refunded.value)
      .field("hold_posting_id", format_id(h.hold_posting));
  if (h.settle_posting.valid()) {
    w.field("settle_posting_id", format_id(h.settle_posting));
  } else {
    w.field_null("settle_posting_id");
  }
  w.field("created_at", format_rfc3339(h.created_at))
      .field("expires_at", format_rfc3339(h.expires_at));
  if (h.settled_at) {
    w.field("settled_at", format_rfc3339(*h.settled_at));
  } else {
    w.field_null("settled_at");
  }
  w.key("lots").begin_array();
  for (const HoldLotState& l : h.lots) {
    w.begin_object()
        .field("lot_id", format_id(l.lot))
        .field("held", l.held.value)
        .field("captured", l.captured.value)
        .field("refunded", l.refunded.value)
        .end_object();
  }
  w.end_array();
  w.end_object();
}

std::string hold_result_json(const engine::HoldResult& r) {
  JsonWriter w;
  w.begin_object().key("hold");
  write_hold(w, r.hold);
  w.key("balance")
      .begin_object()
      .field("available", r.balance.available.value)
      .field("held", r.balance.held.value)
      .end_object();
  w.end_object();
  return w.take();
}

std::string quote_json(MemberId member, const engine::CheckoutQuoteView& v) {
  JsonWriter w;
  w.begin_object()
      .field("member_id", format_id(member))
      .field("currency", v.currency)
      .field("order_total_minor", v.order_total_minor)
      .field("available", v.available.value)
      .field("enabled", v.config.enabled);
  if (v.config.enabled) {
    w.key("rate")
        .begin_object()
        .field("points", v.config.rate_points)
        .field("amount_minor", v.config.rate_amount_minor)
        .end_object();
  } else {
    w.field_null("rate");
  }
  w.field("points_step", v.quote.unit_points)
      .field("min_points", v.config.min_points)
      .field("max_order_share_percent", v.config.max_order_share_percent)
      .field("hold_minutes", v.config.hold_minutes)
      .field("max_points", v.quote.max_points.value)
      .field("max_amount_minor", v.quote.max_amount_minor)
      .field("limited_by", v.quote.limited_by);
  if (v.points) {
    w.field("points", v.points->value).field("amount_minor", v.amount_minor);
  }
  w.end_object();
  return w.take();
}

struct OrderFields {
  int64_t order_total_minor = 0;
  std::string currency;
};
Result<OrderFields> decode_order_fields(const http::JsonObject& o) {
  OrderFields f;
  LOYALTY_ASSIGN_OR_RETURN(f.order_total_minor,
                           o.required_int("order_total_minor", 1, kMaxMoneyMinor));
  LOYALTY_ASSIGN_OR_RETURN(f.currency,
                           o.required_string("currency", kMaxCurrencyLength, kMaxCurrencyLength));
  return f;
}

Result<engine::HoldPoints> decode_hold(std::string_view body, ProgramId program, MemberId member,
                                       std::string_view actor) {
  LOYALTY_ASSIGN_OR_RETURN(http::JsonObject o,
                           http::parse_object(body, {"points", "order_total_minor", "currency",
                                                     "order_external_id", "capture_on_paid"}));
  engine::HoldPoints c;
  c.program_id = program;
  c.member_id = member;
  c.actor = std::string(actor);
  LOYALTY_ASSIGN_OR_RETURN(int64_t points, o.required_int("points", 1, kMaxPointsPerPosting));
  c.points = Points{points};
  LOYALTY_ASSIGN_OR_RETURN(OrderFields order, decode_order_fields(o));
  c.order_total_minor = order.order_total_minor;
  c.currency = std::move(order.currency);
  LOYALTY_ASSIGN_OR_RETURN(auto external,
                           o.optional_string("order_external_id", kMaxOrderExternalIdLength, 1));
  c.order_external_id = external.value_or("");
  LOYALTY_ASSIGN_OR_RETURN(auto capture_on_paid, o.optional_bool("capture_on_paid"));
  c.capture_on_paid = capture_on_paid.value_or(false);
  if (c.capture_on_paid && c.order_external_id.empty()) {
    return http::field_error("capture_on_paid",
                             "needs order_external_id: the order whose "
                             "payment captures the hold");
  }
  return c;
}

// The hold of `/v1/holds/{id}:...`; nullopt (-> 404) when malformed.
std::optional<HoldId> hold_path_id(const http::RequestContext& ctx) {
  return path_id<HoldTag>(ctx, 0);
}

void submit_hold_write(const http::RequestContext& ctx, const http::Responder& respond,
                       engine::CommandBody body, int status) {
  Write write;
  write.body = std::move(body);
  write.success_status = status;
  write.encode = [](const engine::Outcome& outcome, bool) {
    return hold_result_json(std::get<engine::HoldResult>(outcome.value));
  };
  submit_write(ctx, respond, std::move(write));
}

}  // namespace

void quote_checkout(http::RequestContext& ctx, const http::Responder& respond) {
  auto member = path_id<MemberTag>(ctx, 0);
  if (!member) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  auto o = http::parse_object(ctx.body, {"order_total_minor", "currency", "points"});
  if (!o.ok()) return respond_error(ctx, respond, o.status());
  auto order = decode_order_fields(*o);
  if (!order.ok()) return respond_error(ctx, respond, order.status());
  auto points = o->optional_int("points", 1, kMaxPointsPerPosting);
  if (!points.ok()) return respond_error(ctx, respond, points.status());
  std::optional<Points> asked;
  if (*points) asked = Points{**points};
  const Instant now = ctx.services->clock->now();
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    LOYALTY_ASSIGN_OR_RETURN(
        engine::CheckoutQuoteView view,
        engine::read_checkout_quote(s, program_of(ctx), *member, order->order_total_minor,
                                    order->currency, asked, now));
    return http::Response{200, "application/json", quote_json(*member, view), {}};
  });
}

void create_hold(http::RequestContext& ctx, const http::Responder& respond) {
  auto member = path_id<MemberTag>(ctx, 0);
  if (!member) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  auto command = decode_hold(ctx.body, program_of(ctx), *member, actor_of(ctx));
  if (!command.ok()) return respond_error(ctx, respond, command.status());
  submit_hold_write(ctx, respond, std::move(command).value(), 201);
}

void list_member_holds(http::RequestContext& ctx, const http::Responder& respond) {
  auto member = path_id<MemberTag>(ctx, 0);
  if (!member) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  auto page = cursor_page<HoldTag>(ctx.query);
  if (!page.ok()) return respond_error(ctx, respond, page.status());
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    LOYALTY_ASSIGN_OR_RETURN(auto found, s.find_member(program_of(ctx), *member));
    if (!found) return not_found("member", ctx.param(0));
    LOYALTY_ASSIGN_OR_RETURN(
        auto holds, s.list_member_holds(program_of(ctx), *member, page->cursor, page->limit + 1));
    std::string body = list_json(
        holds, page->limit, [](JsonWriter& w, const Hold& h) { write_hold(w, h); },
        [](const Hold& h) { return h.id; });
    return http::Response{200, "application/json", std::move(body), {}};
  });
}

void get_hold(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = hold_path_id(ctx);
  if (!id) return respond_error(ctx, respond, not_found("hold", ctx.param(0)));
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    LOYALTY_ASSIGN_OR_RETURN(auto hold, s.find_hold(program_of(ctx), *id));
    if (!hold) return not_found("hold", ctx.param(0));
    JsonWriter w;
    write_hold(w, *hold);
    return http::Response{200, "application/json", w.take(), {}};
  });
}

void capture_hold(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = hold_path_id(ctx);
  if (!id) return respond_error(ctx, respond, not_found("hold", ctx.param(0)));
  auto o = http::parse_optional_object(ctx.body, {"points", "order_external_id"});
  if (!o.ok()) return respond_error(ctx, respond, o.status());
  engine::CaptureHold c;
  c.program_id = program_of(ctx);
  c.hold_id = *id;
  c.actor = actor_of(ctx);
  auto points = o->optional_int("points", 1, kMaxPointsPerPosting);
  if (!points.ok()) return respond_error(ctx, respond, points.status());
  c.points = Points{points->value_or(0)};
  auto external = o->optional_string("order_external_id", kMaxOrderExternalIdLength, 1);
  if (!external.ok()) return respond_error(ctx, respond, external.status());
  c.order_external_id = external->value_or("");
  submit_hold_write(ctx, respond, std::move(c), 200);
}

void release_hold(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = hold_path_id(ctx);
  if (!id) return respond_error(ctx, respond, not_found("hold", ctx.param(0)));
  auto o = http::parse_optional_object(ctx.body, {});
  if (!o.ok()) return respond_error(ctx, respond, o.status());
  engine::ReleaseHold c;
  c.program_id = program_of(ctx);
  c.hold_id = *id;
  c.actor = actor_of(ctx);
  submit_hold_write(ctx, respond, std::move(c), 200);
}

}  // namespace loyalty::api
