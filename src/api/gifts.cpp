// Gifting (docs/gifting.md): a member sends points or a redeemed reward's
// coupon to an email; the friend claims it with the link's token (also at
// enrollment: `gift_token` on POST /v1/members); the giver (or an admin)
// cancels a pending gift; the gifts job returns unclaimed ones.
#include "api/routes.h"
#include "api/support.h"
#include "common/json_writer.h"
#include "engine/engine.h"
#include "http/json_decode.h"

namespace loyalty::api {
namespace {

constexpr size_t kMaxEmailLength = 254;
constexpr size_t kMaxTokenTextLength = 64;

// The balance fields a gift's response shows.
void write_gift_balance(JsonWriter& w, const std::optional<Balance>& b) {
  w.key("balance");
  if (!b) {
    w.null();
    return;
  }
  w.begin_object()
      .field("available", b->available.value)
      .field("pending", b->pending.value)
      .field("held", b->held.value)
      .end_object();
}

// `stored`: the body kept for idempotent replays, without the token, link or
// coupon code (secrets are shown once).
std::string gift_result_json(const engine::GiftResult& r, bool stored) {
  JsonWriter w;
  engine::write_gift(w, r.gift);
  std::string gift = w.take();
  JsonWriter extra;
  extra.begin_object();
  if (!stored && !r.token.empty()) {
    extra.field("token", r.token);
    if (r.link.empty()) {
      extra.field_null("link");
    } else {
      extra.field("link", r.link);
    }
  }
  if (r.coupon) {
    extra.key("coupon")
        .begin_object()
        .field("id", format_id(r.coupon->id))
        .field("member_id", format_id(r.coupon->member_id))
        .field("status", to_string(r.coupon->status))
        .field("code_hint", r.coupon->code_hint);
    if (!stored && !r.coupon_code.empty()) extra.field("code", r.coupon_code);
    extra.end_object();
  }
  write_gift_balance(extra, r.balance);
  extra.end_object();
  std::string more = extra.take();
  gift.pop_back();
  return gift + "," + more.substr(1);
}

void submit_gift_write(const http::RequestContext& ctx, const http::Responder& respond,
                       engine::CommandBody body, int status) {
  Write write;
  write.body = std::move(body);
  write.success_status = status;
  write.encode = [](const engine::Outcome& outcome, bool stored) {
    return gift_result_json(std::get<engine::GiftResult>(outcome.value), stored);
  };
  submit_write(ctx, respond, std::move(write));
}

}  // namespace

// POST /v1/members/{id}/gifts
//   {"recipient_email", "points" | "redemption_id", "message"?}
void send_gift(http::RequestContext& ctx, const http::Responder& respond) {
  auto member = path_id<MemberTag>(ctx, 0);
  if (!member) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  auto decoded = [&]() -> Result<engine::SendGift> {
    LOYALTY_ASSIGN_OR_RETURN(
        http::JsonObject o,
        http::parse_object(ctx.body, {"recipient_email", "points", "redemption_id", "message"}));
    engine::SendGift c;
    c.program_id = program_of(ctx);
    c.giver_id = *member;
    c.actor = actor_of(ctx);
    LOYALTY_ASSIGN_OR_RETURN(c.recipient_email,
                             o.required_string("recipient_email", kMaxEmailLength));
    LOYALTY_ASSIGN_OR_RETURN(auto message, o.optional_string("message", kMaxGiftMessageLength, 0));
    c.message = message.value_or("");
    LOYALTY_ASSIGN_OR_RETURN(auto points, o.optional_int("points", 1, kMaxPointsPerPosting));
    LOYALTY_ASSIGN_OR_RETURN(auto redemption, o.optional_string("redemption_id", 40, 1));
    if (points.has_value() == redemption.has_value()) {
      return http::field_error("points",
                               "give either points (a gift of points) or redemption_id (a "
                               "redeemed reward's coupon), not both");
    }
    if (points) c.points = Points{*points};
    if (redemption) {
      auto id = parse_id<store::RedemptionTag>(*redemption);
      if (!id) return http::field_error("redemption_id", "expected a redemption id like rdm_12");
      c.redemption_id = *id;
    }
    return c;
  }();
  if (!decoded.ok()) return respond_error(ctx, respond, decoded.status());
  submit_gift_write(ctx, respond, std::move(decoded).value(), 201);
}

// GET /v1/members/{id}/gifts: sent and claimed, newest first.
void list_member_gifts(http::RequestContext& ctx, const http::Responder& respond) {
  auto member = path_id<MemberTag>(ctx, 0);
  if (!member) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  auto page = cursor_page<store::GiftTag>(ctx.query);
  if (!page.ok()) return respond_error(ctx, respond, page.status());
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    LOYALTY_ASSIGN_OR_RETURN(auto found, s.find_member(program_of(ctx), *member));
    if (!found) return not_found("member", ctx.param(0));
    store::GiftStore gifts(s);
    LOYALTY_ASSIGN_OR_RETURN(
        auto list, gifts.gifts_of_member(program_of(ctx), *member, page->cursor, page->limit + 1));
    std::string body = list_json(
        list, page->limit,
        [&](JsonWriter& w, const store::Gift& g) {
          JsonWriter one;
          engine::write_gift(one, g);
          // Which side the member is on.
          std::string item = one.take();
          item.pop_back();
          item += g.giver_id == *member ? R"(,"direction":"sent"})" : R"(,"direction":"received"})";
          w.raw(item);
        },
        [](const store::Gift& g) { return g.id; });
    return http::Response{200, "application/json", std::move(body), {}};
  });
}

// GET /v1/gifts/{id}
void get_gift(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = path_id<store::GiftTag>(ctx, 0);
  if (!id) return respond_error(ctx, respond, not_found("gift", ctx.param(0)));
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    store::GiftStore gifts(s);
    LOYALTY_ASSIGN_OR_RETURN(auto g, gifts.find_gift(program_of(ctx), *id));
    if (!g) return not_found("gift", ctx.param(0));
    JsonWriter w;
    engine::write_gift(w, *g);
    return http::Response{200, "application/json", w.take(), {}};
  });
}

// POST /v1/gifts/{id}:cancel
void gift_action(http::RequestContext& ctx, const http::Responder& respond) {
  auto action = split_action(ctx.param(0));
  auto id = action ? parse_id<store::GiftTag>(action->first) : std::nullopt;
  if (!id || action->second != "cancel") {
    return respond_error(ctx, respond, not_found("gift action", ctx.param(0)));
  }
  auto o = http::parse_optional_object(ctx.body, {});
  if (!o.ok()) return respond_error(ctx, respond, o.status());
  submit_gift_write(ctx, respond, engine::CancelGift{program_of(ctx), *id, actor_of(ctx)}, 200);
}

// POST /v1/gifts:claim {"token", "member_id"}
void claim_gift(http::RequestContext& ctx, const http::Responder& respond) {
  auto decoded = [&]() -> Result<engine::ClaimGift> {
    LOYALTY_ASSIGN_OR_RETURN(http::JsonObject o,
                             http::parse_object(ctx.body, {"token", "member_id"}));
    engine::ClaimGift c;
    c.program_id = program_of(ctx);
    c.actor = actor_of(ctx);
    LOYALTY_ASSIGN_OR_RETURN(c.token, o.required_string("token", kMaxTokenTextLength));
    LOYALTY_ASSIGN_OR_RETURN(std::string member, o.required_string("member_id", 40));
    auto id = parse_id<MemberTag>(member);
    if (!id) return http::field_error("member_id", "expected a member id like mem_12");
    c.member_id = *id;
    return c;
  }();
  if (!decoded.ok()) return respond_error(ctx, respond, decoded.status());
  submit_gift_write(ctx, respond, std::move(decoded).value(), 200);
}

// POST /v1/gifts:lookup {"token"}: what the claim page shows (the token in
// a body, never in a URL that proxies log).
void lookup_gift(http::RequestContext& ctx, const http::Responder& respond) {
  auto token = [&]() -> Result<std::string> {
    LOYALTY_ASSIGN_OR_RETURN(http::JsonObject o, http::parse_object(ctx.body, {"token"}));
    return o.required_string("token", kMaxTokenTextLength);
  }();
  if (!token.ok()) return respond_error(ctx, respond, token.status());
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    const Status unknown(ErrorCode::kNotFound, "no gift has this token");
    auto digest = gift_token_digest(*token);
    if (!digest) return unknown;
    store::GiftStore gifts(s);
    LOYALTY_ASSIGN_OR_RETURN(auto g, gifts.find_by_token(*digest));
    if (!g || g->program_id != program_of(ctx)) return unknown;
    LOYALTY_ASSIGN_OR_RETURN(auto giver, s.find_member(g->program_id, g->giver_id));
    JsonWriter w;
    engine::write_gift(w, *g);
    std::string body = w.take();
    body.pop_back();
    JsonWriter extra;
    extra.begin_object().field("giver_first_name", giver ? giver->first_name : "");
    if (g->kind == GiftKind::kReward) {
      store::RewardStore rewards(s);
      LOYALTY_ASSIGN_OR_RETURN(
          auto r, rewards.find_redemption(g->program_id, g->giver_id, g->redemption_id));
      extra.field("reward_id", r ? r->reward_id : "").field("reward_name", r ? r->reward_name : "");
    }
    extra.end_object();
    body += "," + extra.take().substr(1);
    return http::Response{200, "application/json", std::move(body), {}};
  });
}

}  // namespace loyalty::api
