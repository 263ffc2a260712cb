// Gift cards (docs/gift-cards.md): issue, physical import and activation,
// balance checks, holds captured or released at checkout, and reads.
//
// Codes and PINs travel only in request and response bodies, never in a URL
// (the server logs route patterns, and problem+json's `instance` is the path).
#include "api/routes.h"
#include "api/support.h"
#include "common/json_writer.h"
#include "domain/member.h"
#include "engine/gift_card_commands.h"
#include "http/json_decode.h"
#include "store/gift_cards_store.h"

namespace loyalty::api {

namespace {

using store::GiftCard;
using store::GiftCardHold;

constexpr size_t kCurrencyLength = 3;
constexpr size_t kMaxRefLength = 255;

void instant_or_null(JsonWriter& w, std::string_view key, const std::optional<Instant>& at) {
  if (at) {
    w.field(key, format_rfc3339(*at));
  } else {
    w.field_null(key);
  }
}

// A card as any read shows it: never its code (only the last 4 characters).
void write_card_fields(JsonWriter& w, const GiftCard& c) {
  w.field("id", format_id(c.id))
      .field("kind", to_string(c.kind))
      .field("source", to_string(c.source))
      .field("source_ref", c.source_ref);
  if (c.member_id.valid()) {
    w.field("member_id", format_id(c.member_id));
  } else {
    w.field_null("member_id");
  }
  w.field("status", to_string(c.status))
      .field("code_hint", c.code_hint)
      .field("currency", c.currency)
      .field("initial_minor", c.initial_minor)
      .field("balance_minor", c.balance_minor)
      .field("held_minor", c.held_minor)
      .field("recipient_email", c.recipient_email)
      .field("message", c.message);
  instant_or_null(w, "expires_at", c.expires_at);
  w.field("created_at", format_rfc3339(c.created_at));
  instant_or_null(w, "activated_at", c.activated_at);
}

void write_card(JsonWriter& w, const GiftCard& c) {
  w.begin_object();
  write_card_fields(w, c);
  w.end_object();
}

void write_hold(JsonWriter& w, const GiftCardHold& h) {
  w.begin_object()
      .field("id", format_id(h.id))
      .field("gift_card_id", format_id(h.gift_card_id))
      .field("status", to_string(h.status))
      .field("amount_minor", h.amount_minor)
      .field("captured_minor", h.captured_minor)
      .field("refunded_minor", h.refunded_minor)
      .field("capture_on_paid", h.capture_on_paid)
      .field("order_ref", h.order_ref)
      .field("created_at", format_rfc3339(h.created_at))
      .field("expires_at", format_rfc3339(h.expires_at));
  instant_or_null(w, "settled_at", h.settled_at);
  w.end_object();
}

std::string hold_result_json(const engine::GiftCardHoldResult& r) {
  JsonWriter w;
  w.begin_object().key("hold");
  write_hold(w, r.hold);
  w.key("gift_card");
  write_card(w, r.card);
  w.end_object();
  return w.take();
}

// The issue response: the code and PIN in clear, only when not `stored` (an
// idempotent replay answers them null, like a coupon's code).
std::string issued_json(const engine::GiftCardIssued& r, bool stored) {
  JsonWriter w;
  w.begin_object().key("gift_card");
  write_card(w, r.card);
  if (stored) {
    w.field_null("code").field_null("pin");
  } else {
    w.field("code", r.code).field("pin", r.pin);
  }
  w.end_object();
  return w.take();
}

int64_t key_of(const http::RequestContext& ctx) {
  return ctx.key != nullptr ? ctx.key->id.value : 0;
}

Result<std::string> decode_currency(const http::JsonObject& o) {
  return o.required_string("currency", kCurrencyLength, kCurrencyLength);
}

Result<engine::IssueGiftCard> decode_issue(const http::RequestContext& ctx) {
  LOYALTY_ASSIGN_OR_RETURN(
      http::JsonObject o,
      http::parse_object(ctx.body, {"amount_minor", "currency", "source", "source_ref",
                                    "recipient_email", "message", "expires_at"}));
  engine::IssueGiftCard c;
  c.program_id = program_of(ctx);
  c.actor = actor_of(ctx);
  LOYALTY_ASSIGN_OR_RETURN(c.amount_minor, o.required_int("amount_minor", 1, kMaxGiftCardMinor));
  LOYALTY_ASSIGN_OR_RETURN(c.currency, decode_currency(o));
  LOYALTY_ASSIGN_OR_RETURN(std::string source, o.required_string("source", 16));
  if (source == "purchase") {
    c.source = GiftCardSource::kPurchase;
  } else if (source == "admin") {
    c.source = GiftCardSource::kAdmin;
  } else {
    return http::field_error("source",
                             "expected \"purchase\" or \"admin\" (reward cards come from "
                             "redemptions, physical ones from :import)");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto ref, o.optional_string("source_ref", kMaxRefLength, 1));
  c.source_ref = ref.value_or("");
  if (c.source == GiftCardSource::kPurchase && c.source_ref.empty()) {
    return http::field_error("source_ref", "required for a purchase: the shop's order id");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto email,
                           o.optional_string("recipient_email", kMaxGiftCardEmailLength, 1));
  if (email) {
    auto normalized = normalize_email(*email);
    if (!normalized.ok()) {
      return http::field_error("recipient_email", "must look like name@example.com");
    }
    c.recipient_email = std::move(normalized).value();
  }
  LOYALTY_ASSIGN_OR_RETURN(auto message, o.optional_string("message", kMaxGiftCardMessageLength));
  c.message = message.value_or("");
  LOYALTY_ASSIGN_OR_RETURN(c.expires_at, o.optional_instant("expires_at"));
  return c;
}

Result<engine::ImportPhysicalCards> decode_import(const http::RequestContext& ctx) {
  LOYALTY_ASSIGN_OR_RETURN(http::JsonObject o,
                           http::parse_object(ctx.body, {"batch_ref", "cards", "expires_at"}));
  engine::ImportPhysicalCards c;
  c.program_id = program_of(ctx);
  c.actor = actor_of(ctx);
  LOYALTY_ASSIGN_OR_RETURN(c.batch_ref, o.required_string("batch_ref", kMaxRefLength));
  LOYALTY_ASSIGN_OR_RETURN(c.expires_at, o.optional_instant("expires_at"));
  auto cards = o.get("cards");
  simdjson::dom::array list;
  if (!cards || cards->get_array().get(list) != simdjson::SUCCESS || list.size() == 0) {
    return http::field_error("cards", "required: a non-empty array of {number, pin}");
  }
  if (list.size() > kMaxGiftCardImportCards) {
    return http::field_error("cards",
                             "at most " + std::to_string(kMaxGiftCardImportCards) + " cards");
  }
  size_t i = 0;
  for (simdjson::dom::element e : list) {
    const std::string path = "cards[" + std::to_string(i++) + "].";
    LOYALTY_ASSIGN_OR_RETURN(auto item, http::JsonObject::from_element(e, path, {"number", "pin"}));
    engine::PhysicalCard card;
    LOYALTY_ASSIGN_OR_RETURN(card.number, item.required_string("number", kMaxGiftCardCodeLength));
    LOYALTY_ASSIGN_OR_RETURN(card.pin, item.required_string("pin", kMaxGiftCardPinDigits));
    c.cards.push_back(std::move(card));
  }
  return c;
}

// The code and PIN of a check or hold. Their shape is not checked here: a
// malformed one is a failed attempt like a wrong one (the engine counts it).
struct Credentials {
  std::string code;
  std::string pin;
};
Result<Credentials> decode_credentials(const http::JsonObject& o) {
  Credentials c;
  LOYALTY_ASSIGN_OR_RETURN(c.code, o.required_string("code", kMaxGiftCardCodeLength));
  LOYALTY_ASSIGN_OR_RETURN(c.pin, o.required_string("pin", kMaxGiftCardPinDigits));
  return c;
}

Result<engine::HoldGiftCard> decode_hold(const http::RequestContext& ctx) {
  LOYALTY_ASSIGN_OR_RETURN(
      http::JsonObject o,
      http::parse_object(ctx.body, {"code", "pin", "amount_minor", "currency", "order_ref",
                                    "hold_minutes", "capture_on_paid"}));
  engine::HoldGiftCard c;
  c.program_id = program_of(ctx);
  c.actor = actor_of(ctx);
  c.key = key_of(ctx);
  LOYALTY_ASSIGN_OR_RETURN(Credentials credentials, decode_credentials(o));
  c.code = std::move(credentials.code);
  c.pin = std::move(credentials.pin);
  LOYALTY_ASSIGN_OR_RETURN(c.amount_minor, o.required_int("amount_minor", 1, kMaxGiftCardMinor));
  LOYALTY_ASSIGN_OR_RETURN(c.currency, decode_currency(o));
  LOYALTY_ASSIGN_OR_RETURN(c.order_ref, o.required_string("order_ref", kMaxRefLength));
  LOYALTY_ASSIGN_OR_RETURN(auto minutes,
                           o.optional_int("hold_minutes", 1, kMaxGiftCardHoldMinutes));
  c.hold_minutes = static_cast<int>(minutes.value_or(kDefaultGiftCardHoldMinutes));
  LOYALTY_ASSIGN_OR_RETURN(auto capture_on_paid, o.optional_bool("capture_on_paid"));
  c.capture_on_paid = capture_on_paid.value_or(false);
  return c;
}

std::optional<store::GiftCardHoldId> hold_path_id(const http::RequestContext& ctx) {
  return path_id<store::GiftCardHoldTag>(ctx, 0);
}

void submit_hold_write(const http::RequestContext& ctx, const http::Responder& respond,
                       engine::CommandBody body, int status) {
  Write write;
  write.body = std::move(body);
  write.success_status = status;
  write.encode = [](const engine::Outcome& outcome, bool) {
    return hold_result_json(std::get<engine::GiftCardHoldResult>(outcome.value));
  };
  submit_write(ctx, respond, std::move(write));
}

void submit_card_write(const http::RequestContext& ctx, const http::Responder& respond,
                       engine::CommandBody body) {
  Write write;
  write.body = std::move(body);
  write.encode = [](const engine::Outcome& outcome, bool) {
    JsonWriter w;
    write_card(w, std::get<engine::GiftCardView>(outcome.value).card);
    return w.take();
  };
  submit_write(ctx, respond, std::move(write));
}

}  // namespace

void issue_gift_card(http::RequestContext& ctx, const http::Responder& respond) {
  auto command = decode_issue(ctx);
  if (!command.ok()) return respond_error(ctx, respond, command.status());
  Write write;
  write.body = std::move(command).value();
  write.success_status = 201;
  write.encode = [](const engine::Outcome& outcome, bool stored) {
    return issued_json(std::get<engine::GiftCardIssued>(outcome.value), stored);
  };
  submit_write(ctx, respond, std::move(write));
}

void import_gift_cards(http::RequestContext& ctx, const http::Responder& respond) {
  auto command = decode_import(ctx);
  if (!command.ok()) return respond_error(ctx, respond, command.status());
  Write write;
  write.body = std::move(command).value();
  write.success_status = 201;
  write.encode = [](const engine::Outcome& outcome, bool) {
    const auto& r = std::get<engine::GiftCardsImported>(outcome.value);
    JsonWriter w;
    w.begin_object().field("imported", r.imported).key("ids").begin_array();
    for (const store::GiftCardId& id : r.ids) w.value(format_id(id));
    w.end_array().end_object();
    return w.take();
  };
  submit_write(ctx, respond, std::move(write));
}

void activate_gift_card(http::RequestContext& ctx, const http::Responder& respond) {
  auto command = [&]() -> Result<engine::ActivateGiftCard> {
    LOYALTY_ASSIGN_OR_RETURN(
        http::JsonObject o,
        http::parse_object(ctx.body, {"code", "amount_minor", "currency", "order_ref"}));
    engine::ActivateGiftCard c;
    c.program_id = program_of(ctx);
    c.actor = actor_of(ctx);
    LOYALTY_ASSIGN_OR_RETURN(c.code, o.required_string("code", kMaxGiftCardCodeLength));
    LOYALTY_ASSIGN_OR_RETURN(c.amount_minor, o.required_int("amount_minor", 1, kMaxGiftCardMinor));
    LOYALTY_ASSIGN_OR_RETURN(c.currency, decode_currency(o));
    LOYALTY_ASSIGN_OR_RETURN(auto ref, o.optional_string("order_ref", kMaxRefLength, 1));
    c.order_ref = ref.value_or("");
    return c;
  }();
  if (!command.ok()) return respond_error(ctx, respond, command.status());
  submit_card_write(ctx, respond, std::move(command).value());
}

void check_gift_card(http::RequestContext& ctx, const http::Responder& respond) {
  auto command = [&]() -> Result<engine::CheckGiftCard> {
    LOYALTY_ASSIGN_OR_RETURN(http::JsonObject o, http::parse_object(ctx.body, {"code", "pin"}));
    LOYALTY_ASSIGN_OR_RETURN(Credentials credentials, decode_credentials(o));
    engine::CheckGiftCard c;
    c.program_id = program_of(ctx);
    c.code = std::move(credentials.code);
    c.pin = std::move(credentials.pin);
    c.key = key_of(ctx);
    return c;
  }();
  if (!command.ok()) return respond_error(ctx, respond, command.status());
  submit_card_write(ctx, respond, std::move(command).value());
}

void create_gift_card_hold(http::RequestContext& ctx, const http::Responder& respond) {
  auto command = decode_hold(ctx);
  if (!command.ok()) return respond_error(ctx, respond, command.status());
  submit_hold_write(ctx, respond, std::move(command).value(), 201);
}

void capture_gift_card_hold(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = hold_path_id(ctx);
  if (!id) return respond_error(ctx, respond, not_found("gift card hold", ctx.param(0)));
  auto o = http::parse_optional_object(ctx.body, {"amount_minor"});
  if (!o.ok()) return respond_error(ctx, respond, o.status());
  auto amount = o->optional_int("amount_minor", 1, kMaxGiftCardMinor);
  if (!amount.ok()) return respond_error(ctx, respond, amount.status());
  engine::CaptureGiftCardHold c;
  c.program_id = program_of(ctx);
  c.hold_id = *id;
  c.amount_minor = amount->value_or(0);
  c.actor = actor_of(ctx);
  submit_hold_write(ctx, respond, std::move(c), 200);
}

void release_gift_card_hold(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = hold_path_id(ctx);
  if (!id) return respond_error(ctx, respond, not_found("gift card hold", ctx.param(0)));
  auto o = http::parse_optional_object(ctx.body, {});
  if (!o.ok()) return respond_error(ctx, respond, o.status());
  engine::ReleaseGiftCardHold c;
  c.program_id = program_of(ctx);
  c.hold_id = *id;
  c.actor = actor_of(ctx);
  submit_hold_write(ctx, respond, std::move(c), 200);
}

void get_gift_card(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = path_id<store::GiftCardTag>(ctx, 0);
  if (!id) return respond_error(ctx, respond, not_found("gift card", ctx.param(0)));
  if (Status st = ctx.query.check_allowed({}); !st.ok()) return respond_error(ctx, respond, st);
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    store::GiftCardStore cards(s);
    LOYALTY_ASSIGN_OR_RETURN(auto card, cards.find_card(program_of(ctx), *id));
    if (!card) return not_found("gift card", ctx.param(0));
    LOYALTY_ASSIGN_OR_RETURN(auto holds, cards.holds_of_card(card->program_id, card->id));
    LOYALTY_ASSIGN_OR_RETURN(auto lines, cards.transactions_of_card(card->program_id, card->id));
    JsonWriter w;
    w.begin_object();
    write_card_fields(w, *card);
    w.key("holds").begin_array();
    for (const GiftCardHold& h : holds) write_hold(w, h);
    w.end_array().key("transactions").begin_array();
    for (const store::GiftCardTransaction& t : lines) {
      w.begin_object()
          .field("id", format_id(t.id))
          .field("kind", t.kind)
          .field("amount_minor", t.amount_minor)
          .field("balance_after_minor", t.balance_after_minor)
          .field("held_after_minor", t.held_after_minor);
      if (t.hold_id.valid()) {
        w.field("hold_id", format_id(t.hold_id));
      } else {
        w.field_null("hold_id");
      }
      w.field("order_ref", t.order_ref)
          .field("created_at", format_rfc3339(t.created_at))
          .field("actor", t.actor)
          .end_object();
    }
    w.end_array().end_object();
    return http::Response{200, "application/json", w.take(), {}};
  });
}

namespace {
// POST /v1/gift-cards/{id}:disable and :enable
void submit_card_status(http::RequestContext& ctx, const http::Responder& respond, bool disable) {
  auto id = path_id<store::GiftCardTag>(ctx, 0);
  if (!id) return respond_error(ctx, respond, not_found("gift card", ctx.param(0)));
  auto o = http::parse_optional_object(ctx.body, {});
  if (!o.ok()) return respond_error(ctx, respond, o.status());
  submit_card_write(ctx, respond,
                    engine::SetGiftCardStatus{program_of(ctx), *id, disable, actor_of(ctx)});
}
}  // namespace

void disable_gift_card(http::RequestContext& ctx, const http::Responder& respond) {
  submit_card_status(ctx, respond, /*disable=*/true);
}
void enable_gift_card(http::RequestContext& ctx, const http::Responder& respond) {
  submit_card_status(ctx, respond, /*disable=*/false);
}

// GET /v1/members/{id}/gift-cards: the cards the member received by redeeming
// gift_card rewards, newest first (no codes).
void list_member_gift_cards(http::RequestContext& ctx, const http::Responder& respond) {
  auto member = path_id<MemberTag>(ctx, 0);
  if (!member) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  if (Status st = ctx.query.check_allowed({}); !st.ok()) return respond_error(ctx, respond, st);
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    LOYALTY_ASSIGN_OR_RETURN(auto found, s.find_member(program_of(ctx), *member));
    if (!found) return not_found("member", ctx.param(0));
    store::GiftCardStore cards(s);
    LOYALTY_ASSIGN_OR_RETURN(auto list, cards.cards_of_member(program_of(ctx), *member));
    JsonWriter w;
    w.begin_object().key("data").begin_array();
    for (const GiftCard& c : list) write_card(w, c);
    w.end_array().end_object();
    return http::Response{200, "application/json", w.take(), {}};
  });
}

}  // namespace loyalty::api
