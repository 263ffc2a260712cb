// Paid membership (docs/tiers.md, "Paid membership"): the payments and
// cancellations the merchant's system reports, and the member's membership
// with its history of periods.
#include "api/routes.h"
#include "api/support.h"
#include "common/json_writer.h"
#include "domain/config_document.h"
#include "engine/engine.h"
#include "http/json_decode.h"

namespace loyalty::api {
namespace {

constexpr size_t kMaxPlanIdLength = 64;
constexpr size_t kMaxCancelReasonLength = 500;
constexpr int64_t kMaxPaymentMinor = 1'000'000'000'000;

void write_instant_or_null(JsonWriter& w, std::string_view key, std::optional<Instant> at) {
  if (at) {
    w.field(key, format_rfc3339(*at));
  } else {
    w.field_null(key);
  }
}

std::string membership_json(const engine::PaidMembershipView& v) {
  JsonWriter w;
  w.begin_object().field("member_id", format_id(v.member_id));
  if (!v.membership) {
    w.field("status", "none").field_null("plan").field_null("current_period");
  } else {
    w.field("status", to_string(v.status));
    w.key("plan");
    if (v.plan) {
      const PaidPlan& p = *v.plan;
      w.begin_object()
          .field("id", p.id)
          .field("name", p.name)
          .field("price_minor", p.price_minor)
          .field("currency", v.currency)
          .field("period", to_string(p.period))
          .field("grace_days", p.grace_days);
      write_plan_grants(w, p);
      w.end_object();
    } else {
      w.begin_object().field("id", v.membership->plan_id).end_object();
    }
    w.key("current_period")
        .begin_object()
        .field("start", format_rfc3339(v.membership->period_start))
        .field("end", format_rfc3339(v.membership->period_end))
        .end_object();
    write_instant_or_null(w, "grants_until", v.grants_until);
    write_instant_or_null(w, "cancelled_at", v.membership->cancelled_at);
    write_instant_or_null(w, "lapsed_at", v.membership->lapsed_at);
  }
  w.key("periods").begin_array();
  for (const store::PaidPayment& p : v.periods) {
    w.begin_object()
        .field("payment_id", format_id(p.id))
        .field("external_payment_id", p.external_payment_id)
        .field("plan_id", p.plan_id)
        .field("start", format_rfc3339(p.period_start))
        .field("end", format_rfc3339(p.period_end))
        .field("amount_minor", p.amount_minor)
        .field("currency", p.currency)
        .field("recorded_at", format_rfc3339(p.recorded_at))
        .end_object();
  }
  w.end_array().field("replayed", v.replayed).end_object();
  return w.take();
}

Result<engine::RecordPaidPayment> decode_payment(std::string_view body, ProgramId program,
                                                 MemberId member) {
  LOYALTY_ASSIGN_OR_RETURN(http::JsonObject o,
                           http::parse_object(body, {"plan_id", "period_start", "amount_minor",
                                                     "currency", "external_payment_id"}));
  engine::RecordPaidPayment c;
  c.program_id = program;
  c.member_id = member;
  LOYALTY_ASSIGN_OR_RETURN(c.plan_id, o.required_string("plan_id", kMaxPlanIdLength));
  LOYALTY_ASSIGN_OR_RETURN(c.period_start, o.optional_instant("period_start"));
  LOYALTY_ASSIGN_OR_RETURN(c.amount_minor, o.required_int("amount_minor", 1, kMaxPaymentMinor));
  LOYALTY_ASSIGN_OR_RETURN(c.currency, o.required_string("currency", 3, 3));
  LOYALTY_ASSIGN_OR_RETURN(
      c.external_payment_id,
      o.required_string("external_payment_id", engine::kMaxExternalPaymentIdLength));
  return c;
}

void submit_membership_write(http::RequestContext& ctx, const http::Responder& respond,
                             engine::CommandBody body) {
  Write write;
  write.body = std::move(body);
  write.success_status = 200;
  write.encode = [](const engine::Outcome& outcome, bool) {
    return membership_json(std::get<engine::PaidMembershipView>(outcome.value));
  };
  submit_write(ctx, respond, std::move(write));
}

}  // namespace

void post_paid_membership_payment(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = path_id<MemberTag>(ctx, 0);
  if (!id) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  auto command = decode_payment(ctx.body, program_of(ctx), *id);
  if (!command.ok()) return respond_error(ctx, respond, command.status());
  submit_membership_write(ctx, respond, std::move(command).value());
}

void post_paid_membership_cancel(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = path_id<MemberTag>(ctx, 0);
  if (!id) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  auto o = http::parse_optional_object(ctx.body, {"reason"});
  if (!o.ok()) return respond_error(ctx, respond, o.status());
  auto reason = o->optional_string("reason", kMaxCancelReasonLength);
  if (!reason.ok()) return respond_error(ctx, respond, reason.status());
  engine::CancelPaidMembership c;
  c.program_id = program_of(ctx);
  c.member_id = *id;
  c.reason = reason->value_or("");
  c.actor = actor_of(ctx);
  submit_membership_write(ctx, respond, std::move(c));
}

void get_paid_membership(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = path_id<MemberTag>(ctx, 0);
  if (!id) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  const Instant now = ctx.services->clock->now();
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    auto view = engine::read_paid_membership(s, program_of(ctx), *id, now);
    if (!view.ok() && view.status().code() == ErrorCode::kNotFound) {
      return not_found("member", ctx.param(0));
    }
    LOYALTY_RETURN_IF_ERROR(view.status());
    return http::Response{200, "application/json", membership_json(*view), {}};
  });
}

}  // namespace loyalty::api
