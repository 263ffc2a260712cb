// Referrals (docs/referrals.md): a member's code, link, invitations and
// referrals; attaching a code to a member already enrolled; the admin's review
// queue (approve / reject a held referral); the program's statistics.
// Enrollment and orders take `referral_code` and `referral_signals` in their
// own bodies (decode_referral_attach).
#include "api/decode_support.h"
#include "api/routes.h"
#include "api/support.h"
#include "common/json_writer.h"
#include "engine/engine.h"
#include "http/json_decode.h"

namespace loyalty::api {
namespace {

constexpr size_t kMaxReviewReasonLength = 500;
constexpr size_t kMaxInvitationEmailLength = 254;
constexpr int kMemberViewLimit = 100;

void write_code(JsonWriter& w, MemberId member, const std::string& code, const std::string& link) {
  w.field("member_id", format_id(member)).field("code", code);
  if (link.empty()) {
    w.field_null("link");
  } else {
    w.field("link", link);
  }
}

std::string referral_json(const Referral& r) {
  JsonWriter w;
  engine::write_referral(w, r);
  return w.take();
}

void submit_referral_write(http::RequestContext& ctx, const http::Responder& respond,
                           engine::CommandBody body, int status) {
  Write write;
  write.body = std::move(body);
  write.success_status = status;
  write.encode = [](const engine::Outcome& outcome, bool) {
    return referral_json(std::get<Referral>(outcome.value));
  };
  submit_write(ctx, respond, std::move(write));
}

// Percent with two decimals from integers ("33.33"); "0.00" for no referrals.
std::string percent_text(int64_t part, int64_t whole) {
  if (whole <= 0) return "0.00";
  const int64_t hundredths = part * 10'000 / whole;
  std::string frac = std::to_string(hundredths % 100);
  if (frac.size() < 2) frac.insert(0, "0");
  return std::to_string(hundredths / 100) + "." + frac;
}

}  // namespace

// GET /v1/members/{id}/referrals
void get_member_referrals(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = path_id<MemberTag>(ctx, 0);
  if (!id) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    const ProgramId program = program_of(ctx);
    LOYALTY_ASSIGN_OR_RETURN(auto member, s.find_member(program, *id));
    if (!member) return not_found("member", ctx.param(0));
    LOYALTY_ASSIGN_OR_RETURN(auto stored, s.latest_config(program));
    LOYALTY_ASSIGN_OR_RETURN(auto prog, s.find_program(program));
    ReferralConfig config;
    if (stored && prog) {
      LOYALTY_ASSIGN_OR_RETURN(ProgramConfig parsed, engine::parse_stored_config(*prog, *stored));
      config = parsed.referrals;
    }
    LOYALTY_ASSIGN_OR_RETURN(auto code, s.member_referral_code(program, *id));
    LOYALTY_ASSIGN_OR_RETURN(auto invitations,
                             s.list_referral_invitations(program, *id, kMemberViewLimit));
    LOYALTY_ASSIGN_OR_RETURN(auto referrals,
                             s.list_referrals_of_referrer(program, *id, kMemberViewLimit));
    LOYALTY_ASSIGN_OR_RETURN(auto referred_by, s.find_referral_of_referee(program, *id));
    LOYALTY_ASSIGN_OR_RETURN(auto lifetime, s.referral_usage(program, id->value, "life"));
    JsonWriter w;
    w.begin_object().field("member_id", format_id(*id)).field("enabled", config.enabled);
    if (code) {
      w.field("code", code->code);
      const std::string link = referral_link(config, code->code);
      if (link.empty()) {
        w.field_null("link");
      } else {
        w.field("link", link);
      }
    } else {
      w.field_null("code").field_null("link");
    }
    w.key("referred_by");
    if (referred_by) {
      engine::write_referral(w, *referred_by);
    } else {
      w.null();
    }
    w.key("invitations").begin_array();
    for (const ReferralInvitation& inv : invitations) {
      w.begin_object()
          .field("email", inv.email)
          .field("created_at", format_rfc3339(inv.created_at))
          .end_object();
    }
    w.end_array();
    int64_t counts[5] = {0, 0, 0, 0, 0};  // by ReferralStatus
    w.key("referrals").begin_array();
    for (const Referral& r : referrals) {
      ++counts[static_cast<int>(r.status)];
      engine::write_referral(w, r);
    }
    w.end_array();
    w.key("summary")
        .begin_object()
        .field("pending", counts[static_cast<int>(ReferralStatus::kPending)])
        .field("held", counts[static_cast<int>(ReferralStatus::kHeld)])
        .field("completed", counts[static_cast<int>(ReferralStatus::kCompleted)])
        .field("rejected", counts[static_cast<int>(ReferralStatus::kRejected)])
        .field("cancelled", counts[static_cast<int>(ReferralStatus::kCancelled)])
        .field("rewards_earned_points", lifetime.points)
        .field("rewards_earned", lifetime.rewards)
        .end_object();
    w.end_object();
    return http::Response{200, "application/json", w.take(), {}};
  });
}

// POST /v1/members/{id}/referral-code
void ensure_member_referral_code(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = path_id<MemberTag>(ctx, 0);
  if (!id) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  auto o = http::parse_optional_object(ctx.body, {});
  if (!o.ok()) return respond_error(ctx, respond, o.status());
  Write write;
  write.body = engine::EnsureReferralCode{program_of(ctx), *id};
  write.encode = [](const engine::Outcome& outcome, bool) {
    const auto& v = std::get<engine::ReferralCodeView>(outcome.value);
    JsonWriter w;
    w.begin_object();
    write_code(w, v.code.member, v.code.code, v.link);
    w.field("created_at", format_rfc3339(v.code.created_at)).end_object();
    return w.take();
  };
  submit_write(ctx, respond, std::move(write));
}

// POST /v1/members/{id}/referral-invitations {"email": "..."}
void invite_referral(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = path_id<MemberTag>(ctx, 0);
  if (!id) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  auto decoded = [&]() -> Result<engine::InviteReferral> {
    LOYALTY_ASSIGN_OR_RETURN(http::JsonObject o, http::parse_object(ctx.body, {"email"}));
    engine::InviteReferral c;
    c.program_id = program_of(ctx);
    c.member_id = *id;
    LOYALTY_ASSIGN_OR_RETURN(c.email, o.required_string("email", kMaxInvitationEmailLength));
    return c;
  }();
  if (!decoded.ok()) return respond_error(ctx, respond, decoded.status());
  Write write;
  write.body = std::move(decoded).value();
  write.success_status = 201;
  write.status_of = [](const engine::Outcome& outcome) {
    return std::get<engine::InvitationResult>(outcome.value).created ? 201 : 200;
  };
  write.encode = [](const engine::Outcome& outcome, bool) {
    const auto& v = std::get<engine::InvitationResult>(outcome.value);
    JsonWriter w;
    w.begin_object()
        .field("member_id", format_id(v.invitation.member))
        .field("email", v.invitation.email)
        .field("created", v.created)
        .field("created_at", format_rfc3339(v.invitation.created_at))
        .end_object();
    return w.take();
  };
  submit_write(ctx, respond, std::move(write));
}

// POST /v1/members/{id}/referral {"referral_code": "...", "referral_signals": {...}}
void attach_member_referral(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = path_id<MemberTag>(ctx, 0);
  if (!id) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  auto decoded = [&]() -> Result<engine::AttachReferral> {
    LOYALTY_ASSIGN_OR_RETURN(
        http::JsonObject o,
        http::parse_object(ctx.body, {kReferralCodeField, kReferralSignalsField}));
    engine::AttachReferral c;
    c.program_id = program_of(ctx);
    c.member_id = *id;
    LOYALTY_ASSIGN_OR_RETURN(c.attach, decode_referral_attach(o));
    if (c.attach.code.empty()) return http::field_error(kReferralCodeField, "is required");
    return c;
  }();
  if (!decoded.ok()) return respond_error(ctx, respond, decoded.status());
  submit_referral_write(ctx, respond, std::move(decoded).value(), 200);
}

// GET /v1/referrals?status=held&limit=&cursor=
void list_referrals(http::RequestContext& ctx, const http::Responder& respond) {
  if (Status st = ctx.query.check_allowed({"status", "limit", "cursor"}); !st.ok()) {
    return respond_error(ctx, respond, st);
  }
  auto page = cursor_page<ReferralTag>(ctx.query);
  if (!page.ok()) return respond_error(ctx, respond, page.status());
  std::optional<ReferralStatus> status;
  if (auto text = ctx.query.get("status")) {
    status = parse_referral_status(*text);
    if (!status) {
      return respond_error(ctx, respond,
                           Status(ErrorCode::kInvalidRequest,
                                  "status: must be pending, held, completed, rejected or "
                                  "cancelled"));
    }
  }
  const int limit = page->limit;
  const ReferralId after = page->cursor;
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    LOYALTY_ASSIGN_OR_RETURN(auto items,
                             s.list_referrals(program_of(ctx), status, after, limit + 1));
    return http::Response{
        200,
        "application/json",
        list_json(
            items, limit, [](JsonWriter& w, const Referral& r) { engine::write_referral(w, r); },
            [](const Referral& r) { return r.id; }),
        {}};
  });
}

// GET /v1/referrals/{id}
void get_referral(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = path_id<ReferralTag>(ctx, 0);
  if (!id) return respond_error(ctx, respond, not_found("referral", ctx.param(0)));
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    LOYALTY_ASSIGN_OR_RETURN(auto r, s.find_referral(program_of(ctx), *id));
    if (!r) return not_found("referral", ctx.param(0));
    return http::Response{200, "application/json", referral_json(*r), {}};
  });
}

// POST /v1/referrals/{id}:approve | :reject {"reason": "..."}
void referral_action(http::RequestContext& ctx, const http::Responder& respond) {
  auto action = split_action(ctx.param(0));
  auto id = action ? parse_id<ReferralTag>(action->first) : std::nullopt;
  if (!id || (action->second != "approve" && action->second != "reject")) {
    return respond_error(ctx, respond, not_found("referral action", ctx.param(0)));
  }
  auto decoded = [&]() -> Result<engine::ReviewReferral> {
    engine::ReviewReferral c;
    c.program_id = program_of(ctx);
    c.referral_id = *id;
    c.approve = action->second == "approve";
    c.actor = actor_of(ctx);
    if (ctx.body.empty()) return c;
    LOYALTY_ASSIGN_OR_RETURN(http::JsonObject o, http::parse_object(ctx.body, {"reason"}));
    LOYALTY_ASSIGN_OR_RETURN(auto reason, o.optional_string("reason", kMaxReviewReasonLength, 1));
    c.reason = reason.value_or("");
    return c;
  }();
  if (!decoded.ok()) return respond_error(ctx, respond, decoded.status());
  submit_referral_write(ctx, respond, std::move(decoded).value(), 200);
}

// GET /v1/reports/referrals
void referral_report(http::RequestContext& ctx, const http::Responder& respond) {
  if (Status st = ctx.query.check_allowed({}); !st.ok()) return respond_error(ctx, respond, st);
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    const ProgramId program = program_of(ctx);
    LOYALTY_ASSIGN_OR_RETURN(auto prog, s.find_program(program));
    if (!prog) return not_found("program", format_id(program));
    LOYALTY_ASSIGN_OR_RETURN(ReferralStats st, s.referral_stats(program));
    // The liability value of the points paid, like the ledger's (floor).
    const int64_t cost_minor =
        prog->point_value_points > 0
            ? static_cast<int64_t>(static_cast<__int128>(st.reward_points) *
                                   prog->point_value_minor / prog->point_value_points)
            : 0;
    JsonWriter w;
    w.begin_object()
        .field("invitations", st.invitations)
        .field("referrals", st.referrals)
        .field("conversions", st.conversions)
        .field("conversion_rate_percent", percent_text(st.conversions, st.referrals))
        .field("pending", st.referrals - st.conversions - st.held - st.rejected - st.cancelled)
        .field("held", st.held)
        .field("rejected", st.rejected)
        .field("cancelled", st.cancelled)
        .field("referee_revenue_minor", st.referee_revenue_minor)
        .field("reward_points", st.reward_points)
        .field("reward_cost_minor", cost_minor)
        .field("currency", prog->currency)
        .end_object();
    return http::Response{200, "application/json", w.take(), {}};
  });
}

}  // namespace loyalty::api
