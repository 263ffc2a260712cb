// Rewards (docs/rewards.md): what a member can redeem, redemptions and their
// cancellation, coupons at checkout, and the charity donation report.
#include <fmt/format.h>

#include "api/routes.h"
#include "api/support.h"
#include "common/json_writer.h"
#include "engine/reward_commands.h"
#include "http/json_decode.h"

namespace loyalty::api {

namespace {

using store::Coupon;
using store::Redemption;

constexpr size_t kMaxRewardIdLength = 64;
constexpr size_t kMaxOrderRefLength = 255;
constexpr size_t kMaxCancelReasonLength = 500;
// A donation report spans at most this many days.
constexpr int kMaxDonationReportDays = 366;

void write_instant_or_null(JsonWriter& w, std::string_view key, std::optional<Instant> at) {
  if (at) {
    w.field(key, format_rfc3339(*at));
  } else {
    w.field_null(key);
  }
}

void write_coupon_fields(JsonWriter& w, const Coupon& c) {
  w.field("id", format_id(c.id))
      .field("code_hint", c.code_hint)
      .field("status", to_string(c.status))
      .field("type", to_string(c.terms.type));
  write_instant_or_null(w, "expires_at", c.expires_at);
  if (c.order_ref.empty()) {
    w.field_null("order_id");
  } else {
    w.field("order_id", c.order_ref);
  }
  write_instant_or_null(w, "consumed_at", c.consumed_at);
}

// `code` is the clear code: only in the response of the redemption that
// issued it, and never in what is stored for idempotent replays.
void write_redemption(JsonWriter& w, const Redemption& r, const std::optional<Coupon>& coupon,
                      std::string_view code, const engine::RedemptionResult* issued = nullptr,
                      bool stored = true) {
  w.begin_object()
      .field("id", format_id(r.id))
      .field("member_id", format_id(r.member_id))
      .field("reward_id", r.reward_id)
      .field("reward_type", to_string(r.reward_type))
      .field("reward_name", r.reward_name)
      .field("points", r.points)
      .field("amount_minor", r.amount_minor)
      .field("status", to_string(r.status))
      .field("posting_id", format_id(r.posting_id));
  if (r.reversal_id.valid()) {
    w.field("reversal_posting_id", format_id(r.reversal_id));
  } else {
    w.field_null("reversal_posting_id");
  }
  if (r.cause_id.empty()) {
    w.field_null("cause");
  } else {
    w.key("cause").begin_object().field("id", r.cause_id).field("name", r.cause_name).end_object();
  }
  w.key("coupon");
  if (coupon) {
    w.begin_object();
    write_coupon_fields(w, *coupon);
    if (code.empty()) {
      w.field_null("code");
    } else {
      w.field("code", code);
    }
    w.end_object();
  } else {
    w.null();
  }
  // A gift_card reward's card: in the redemption's own response only, its code
  // and PIN in clear unless stored for an idempotent replay
  // (docs/gift-cards.md; GET /v1/gift-cards/{id} reads it later).
  if (issued != nullptr && issued->gift_card) {
    const store::GiftCard& g = *issued->gift_card;
    w.key("gift_card")
        .begin_object()
        .field("id", format_id(g.id))
        .field("code_hint", g.code_hint)
        .field("balance_minor", g.balance_minor)
        .field("currency", g.currency);
    if (stored) {
      w.field_null("code").field_null("pin");
    } else {
      w.field("code", issued->gift_card_code).field("pin", issued->gift_card_pin);
    }
    w.end_object();
  }
  w.field("created_at", format_rfc3339(r.created_at));
  write_instant_or_null(w, "cancelled_at", r.cancelled_at);
  w.end_object();
}

// The gift cards the member's gift_card redemptions issued, by redemption id
// (reads show the card without its code and PIN).
Result<std::map<std::string, engine::RedemptionResult>> redemption_gift_cards(
    store::StoreSession& s, ProgramId program, MemberId member) {
  store::GiftCardStore gift_cards(s);
  LOYALTY_ASSIGN_OR_RETURN(auto cards, gift_cards.cards_of_member(program, member));
  std::map<std::string, engine::RedemptionResult> out;
  for (store::GiftCard& c : cards) {
    if (c.source != GiftCardSource::kReward) continue;
    std::string ref = c.source_ref;
    out[ref].gift_card = std::move(c);
  }
  return out;
}
const engine::RedemptionResult* gift_card_of(
    const std::map<std::string, engine::RedemptionResult>& cards, const Redemption& r) {
  auto it = cards.find(format_id(r.id));
  return it == cards.end() ? nullptr : &it->second;
}

std::string redemption_json(const engine::RedemptionResult& r, bool stored) {
  JsonWriter w;
  write_redemption(w, r.redemption, r.coupon, stored ? std::string_view() : r.code, &r, stored);
  return w.take();
}

std::string coupon_use_json(const engine::CouponUse& u) {
  JsonWriter w;
  w.begin_object().field("valid", true).key("coupon").begin_object();
  write_coupon_fields(w, u.coupon);
  w.field("reward_id", u.coupon.reward_id)
      .field("redemption_id", format_id(u.coupon.redemption_id))
      .field("member_id", format_id(u.coupon.member_id))
      .end_object();
  w.field("discount_minor", u.discount.discount_minor)
      .field("shipping_discount_minor", u.discount.shipping_discount_minor)
      .field("replayed", u.replayed)
      .end_object();
  return w.take();
}

// {"subtotal_minor", "shipping_minor", "items": [{"sku","quantity","unit_price_minor"}]}
Result<Cart> decode_cart(const http::JsonObject& o) {
  Cart cart;
  LOYALTY_ASSIGN_OR_RETURN(cart.subtotal_minor,
                           o.required_int("subtotal_minor", 0, kMaxRewardMoneyMinor));
  LOYALTY_ASSIGN_OR_RETURN(auto shipping,
                           o.optional_int("shipping_minor", 0, kMaxRewardMoneyMinor));
  cart.shipping_minor = shipping.value_or(0);
  if (auto items = o.get("items")) {
    simdjson::dom::array list;
    if (items->get_array().get(list) != simdjson::SUCCESS) {
      return http::field_error(o.path_of("items"), "expected an array of items");
    }
    if (list.size() > kMaxCartItems) {
      return http::field_error(o.path_of("items"),
                               "at most " + std::to_string(kMaxCartItems) + " items");
    }
    size_t i = 0;
    for (simdjson::dom::element e : list) {
      const std::string path = o.path_of("items") + "[" + std::to_string(i++) + "].";
      LOYALTY_ASSIGN_OR_RETURN(auto item, http::JsonObject::from_element(
                                              e, path, {"sku", "quantity", "unit_price_minor"}));
      CartItem ci;
      LOYALTY_ASSIGN_OR_RETURN(ci.sku, item.required_string("sku", kMaxSkuLength));
      LOYALTY_ASSIGN_OR_RETURN(ci.quantity, item.required_int("quantity", 1, 1'000'000));
      LOYALTY_ASSIGN_OR_RETURN(ci.unit_price_minor,
                               item.required_int("unit_price_minor", 0, kMaxRewardMoneyMinor));
      cart.items.push_back(std::move(ci));
    }
  }
  return cart;
}

void write_offer(JsonWriter& w, const engine::RewardOffer& o) {
  const Reward& r = *o.reward;
  w.begin_object()
      .field("id", r.id)
      .field("name", r.name)
      .field("description", r.description)
      .field("image_url", r.image_url)
      .field("type", to_string(r.type))
      .field("points", o.points);
  if (r.cost.variable) {
    w.key("variable_cost")
        .begin_object()
        .field("points_per_unit", r.cost.points_per_unit)
        .field("min_points", r.cost.min_points)
        .field("max_points", r.cost.max_points)
        .end_object();
  } else {
    w.field_null("variable_cost");
  }
  if (has_money_amount(r.type) && !r.cost.variable) {
    w.field("amount_minor", r.amount_minor);
  } else {
    w.field_null("amount_minor");
  }
  if (o.stock_left) {
    w.field("stock_left", *o.stock_left);
  } else {
    w.field_null("stock_left");
  }
  w.field("redeemable", o.eligibility.ok());
  if (o.eligibility.ok()) {
    w.field_null("reason");
  } else {
    w.key("reason")
        .begin_object()
        .field("code", to_string(o.eligibility.block))
        .field("message", o.eligibility.message);
    if (o.eligibility.block == RewardBlock::kInsufficientPoints) {
      w.field("points_short", o.eligibility.points_short);
    }
    w.end_object();
  }
  w.end_object();
}

}  // namespace

void list_member_rewards(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = path_id<MemberTag>(ctx, 0);
  if (!id) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  if (Status st = ctx.query.check_allowed({}); !st.ok()) return respond_error(ctx, respond, st);
  const Instant now = ctx.services->clock->now();
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    auto view = engine::read_member_rewards(s, program_of(ctx), *id, now);
    if (!view.ok() && view.status().code() == ErrorCode::kNotFound) {
      return not_found("member", ctx.param(0));
    }
    LOYALTY_RETURN_IF_ERROR(view.status());
    JsonWriter w;
    w.begin_object()
        .field("member_id", format_id(*id))
        .field("available_points", view->available_points)
        .field("currency", view->currency);
    w.key("available").begin_array();
    for (const auto& o : view->offers) {
      if (o.eligibility.ok()) write_offer(w, o);
    }
    w.end_array().key("unavailable").begin_array();
    for (const auto& o : view->offers) {
      if (!o.eligibility.ok()) write_offer(w, o);
    }
    w.end_array().end_object();
    return http::Response{200, "application/json", w.take(), {}};
  });
}

void create_redemption(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = path_id<MemberTag>(ctx, 0);
  if (!id) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  auto decoded = [&]() -> Result<engine::Redeem> {
    LOYALTY_ASSIGN_OR_RETURN(http::JsonObject o,
                             http::parse_object(ctx.body, {"reward_id", "points", "actor"}));
    engine::Redeem c;
    c.program_id = program_of(ctx);
    c.member_id = *id;
    LOYALTY_ASSIGN_OR_RETURN(c.reward_id, o.required_string("reward_id", kMaxRewardIdLength));
    LOYALTY_ASSIGN_OR_RETURN(c.points, o.optional_int("points", 1, kMaxRewardPoints));
    LOYALTY_ASSIGN_OR_RETURN(auto person, o.optional_string("actor", kMaxCancelReasonLength, 1));
    c.actor = person ? fmt::format("{}:{}", actor_of(ctx), *person) : actor_of(ctx);
    return c;
  }();
  if (!decoded.ok()) return respond_error(ctx, respond, decoded.status());
  Write write;
  write.body = std::move(decoded).value();
  write.success_status = 201;
  write.encode = [](const engine::Outcome& outcome, bool stored) {
    return redemption_json(std::get<engine::RedemptionResult>(outcome.value), stored);
  };
  submit_write(ctx, respond, std::move(write));
}

void list_member_redemptions(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = path_id<MemberTag>(ctx, 0);
  if (!id) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  if (Status st = ctx.query.check_allowed({"limit", "cursor"}); !st.ok()) {
    return respond_error(ctx, respond, st);
  }
  auto page = cursor_page<store::RedemptionTag>(ctx.query);
  if (!page.ok()) return respond_error(ctx, respond, page.status());
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    const ProgramId program = program_of(ctx);
    LOYALTY_ASSIGN_OR_RETURN(std::optional<Member> member, s.find_member(program, *id));
    if (!member) return not_found("member", ctx.param(0));
    store::RewardStore rewards(s);
    LOYALTY_ASSIGN_OR_RETURN(auto list,
                             rewards.list_redemptions(program, *id, page->cursor, page->limit + 1));
    LOYALTY_ASSIGN_OR_RETURN(auto cards, redemption_gift_cards(s, program, *id));
    std::map<int64_t, Coupon> coupons;
    for (const Redemption& r : list) {
      if (!r.coupon_id.valid()) continue;
      LOYALTY_ASSIGN_OR_RETURN(auto c, rewards.find_coupon(program, r.coupon_id));
      if (c) coupons.emplace(r.id.value, std::move(*c));
    }
    std::string body = list_json(
        list, page->limit,
        [&](JsonWriter& w, const Redemption& r) {
          auto it = coupons.find(r.id.value);
          write_redemption(w, r, it == coupons.end() ? std::nullopt : std::optional(it->second), {},
                           gift_card_of(cards, r), /*stored=*/true);
        },
        [](const Redemption& r) { return r.id; });
    return http::Response{200, "application/json", std::move(body), {}};
  });
}

void get_member_redemption(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = path_id<MemberTag>(ctx, 0);
  auto rid = path_id<store::RedemptionTag>(ctx, 1);
  if (!id || !rid) return respond_error(ctx, respond, not_found("redemption", ctx.param(1)));
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    const ProgramId program = program_of(ctx);
    store::RewardStore rewards(s);
    LOYALTY_ASSIGN_OR_RETURN(auto r, rewards.find_redemption(program, *id, *rid));
    if (!r) return not_found("redemption", ctx.param(1));
    std::optional<Coupon> coupon;
    if (r->coupon_id.valid()) {
      LOYALTY_ASSIGN_OR_RETURN(coupon, rewards.find_coupon(program, r->coupon_id));
    }
    LOYALTY_ASSIGN_OR_RETURN(auto cards, redemption_gift_cards(s, program, *id));
    JsonWriter w;
    write_redemption(w, *r, coupon, {}, gift_card_of(cards, *r), /*stored=*/true);
    return http::Response{200, "application/json", w.take(), {}};
  });
}

// POST /v1/members/{id}/redemptions/{rid}:cancel
void redemption_action(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = path_id<MemberTag>(ctx, 0);
  auto action = split_action(ctx.param(1));
  auto rid = action ? parse_id<store::RedemptionTag>(action->first) : std::nullopt;
  if (!id || !rid || action->second != "cancel") {
    return respond_error(ctx, respond, not_found("redemption action", ctx.param(1)));
  }
  auto decoded = [&]() -> Result<engine::CancelRedemption> {
    engine::CancelRedemption c;
    c.program_id = program_of(ctx);
    c.member_id = *id;
    c.redemption_id = *rid;
    c.actor = actor_of(ctx);
    if (ctx.body.empty()) return c;
    LOYALTY_ASSIGN_OR_RETURN(http::JsonObject o, http::parse_object(ctx.body, {"reason"}));
    LOYALTY_ASSIGN_OR_RETURN(auto reason, o.optional_string("reason", kMaxCancelReasonLength, 1));
    c.reason = reason.value_or("");
    return c;
  }();
  if (!decoded.ok()) return respond_error(ctx, respond, decoded.status());
  Write write;
  write.body = std::move(decoded).value();
  write.encode = [](const engine::Outcome& outcome, bool stored) {
    return redemption_json(std::get<engine::RedemptionResult>(outcome.value), stored);
  };
  submit_write(ctx, respond, std::move(write));
}

// POST /v1/coupons/{code}:validate and POST /v1/coupons/{code}:consume
void coupon_action(http::RequestContext& ctx, const http::Responder& respond) {
  auto action = split_action(ctx.param(0));
  if (!action || (action->second != "validate" && action->second != "consume") ||
      action->first.size() > kMaxCouponCodeLength) {
    return respond_error(ctx, respond, Status(ErrorCode::kNotFound, "no such coupon action"));
  }
  const std::string code(action->first);
  if (action->second == "validate") {
    auto cart = [&]() -> Result<Cart> {
      LOYALTY_ASSIGN_OR_RETURN(http::JsonObject o, http::parse_object(ctx.body, {"cart"}));
      LOYALTY_ASSIGN_OR_RETURN(
          auto c, o.optional_object("cart", {"subtotal_minor", "shipping_minor", "items"}));
      if (!c) return http::field_error("cart", "required");
      return decode_cart(*c);
    }();
    if (!cart.ok()) return respond_error(ctx, respond, cart.status());
    const Instant now = ctx.services->clock->now();
    return respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
      LOYALTY_ASSIGN_OR_RETURN(auto use,
                               engine::validate_coupon(s, program_of(ctx), code, *cart, now));
      return http::Response{200, "application/json", coupon_use_json(use), {}};
    });
  }
  auto decoded = [&]() -> Result<engine::ConsumeCoupon> {
    LOYALTY_ASSIGN_OR_RETURN(http::JsonObject o,
                             http::parse_object(ctx.body, {"order_id", "cart"}));
    engine::ConsumeCoupon c;
    c.program_id = program_of(ctx);
    c.code = code;
    LOYALTY_ASSIGN_OR_RETURN(c.order_ref, o.required_string("order_id", kMaxOrderRefLength));
    LOYALTY_ASSIGN_OR_RETURN(
        auto cart, o.optional_object("cart", {"subtotal_minor", "shipping_minor", "items"}));
    if (cart) {
      LOYALTY_ASSIGN_OR_RETURN(c.cart, decode_cart(*cart));
    }
    return c;
  }();
  if (!decoded.ok()) return respond_error(ctx, respond, decoded.status());
  Write write;
  write.body = std::move(decoded).value();
  write.encode = [](const engine::Outcome& outcome, bool) {
    return coupon_use_json(std::get<engine::CouponUse>(outcome.value));
  };
  submit_write(ctx, respond, std::move(write));
}

// GET /v1/programs/{id}/donations?from=&to=: per cause, what the merchant owes.
void program_donations(http::RequestContext& ctx, const http::Responder& respond) {
  auto program = own_program(ctx);
  if (!program) return respond_error(ctx, respond, not_found("program", ctx.param(0)));
  if (Status st = ctx.query.check_allowed({"from", "to"}); !st.ok()) {
    return respond_error(ctx, respond, st);
  }
  auto bound = [&](std::string_view name) -> Result<Instant> {
    auto text = ctx.query.get(name);
    if (!text) return http::field_error(name, "required: an RFC 3339 instant");
    auto t = parse_rfc3339(*text);
    if (!t) return http::field_error(name, "expected an RFC 3339 instant");
    return *t;
  };
  auto from = bound("from");
  if (!from.ok()) return respond_error(ctx, respond, from.status());
  auto to = bound("to");
  if (!to.ok()) return respond_error(ctx, respond, to.status());
  if (*to <= *from || *to - *from > Duration::from_days(kMaxDonationReportDays)) {
    return respond_error(
        ctx, respond,
        http::field_error("to", "must be after from, at most " +
                                    std::to_string(kMaxDonationReportDays) + " days later"));
  }
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    LOYALTY_ASSIGN_OR_RETURN(auto p, s.find_program(*program));
    if (!p) return not_found("program", ctx.param(0));
    store::RewardStore rewards(s);
    LOYALTY_ASSIGN_OR_RETURN(auto totals, rewards.donation_totals(*program, *from, *to));
    JsonWriter w;
    w.begin_object()
        .field("program_id", format_id(*program))
        .field("currency", p->currency)
        .field("from", format_rfc3339(*from))
        .field("to", format_rfc3339(*to));
    int64_t points = 0;
    int64_t amount = 0;
    w.key("causes").begin_array();
    for (const auto& t : totals) {
      points += t.points;
      amount += t.amount_minor;
      w.begin_object()
          .field("cause_id", t.cause_id)
          .field("cause_name", t.cause_name)
          .field("donations", t.donations)
          .field("points", t.points)
          .field("amount_minor", t.amount_minor)
          .end_object();
    }
    w.end_array().field("total_points", points).field("total_amount_minor", amount).end_object();
    return http::Response{200, "application/json", w.take(), {}};
  });
}

}  // namespace loyalty::api
