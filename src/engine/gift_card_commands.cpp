// Gift cards: what each command does inside its savepoint (see
// gift_card_commands.h, docs/gift-cards.md).
#include "engine/gift_card_commands.h"

#include <array>
#include <set>

#include "common/assert.h"
#include "common/crypto.h"
#include "common/json_writer.h"
#include "domain/checkout_points.h"
#include "engine/engine.h"

namespace loyalty::engine {
namespace {

using store::AttemptScope;
using store::GiftCard;
using store::GiftCardHold;
using store::GiftCardStore;
using store::GiftCardTransaction;
using store::StoreSession;

// Codes drawn before giving up on an unused one (a clash has probability
// below 2^-50 even with a billion cards).
constexpr int kMaxCodeDraws = 4;

Status check_currency(const Program& program, std::string_view currency) {
  if (currency != program.currency) {
    return Status(ErrorCode::kCurrencyMismatch, "the amount is in " + std::string(currency) +
                                                    " but the program counts in " +
                                                    program.currency);
  }
  return {};
}

Status append(GiftCardStore& cards, const GiftCard& card, std::string_view kind,
              int64_t amount_minor, store::GiftCardHoldId hold, std::string_view order_ref,
              std::string_view actor, Instant now) {
  GiftCardTransaction t;
  t.program_id = card.program_id;
  t.gift_card_id = card.id;
  t.kind = std::string(kind);
  t.amount_minor = amount_minor;
  t.balance_after_minor = card.balance_minor;
  t.held_after_minor = card.held_minor;
  t.hold_id = hold;
  t.order_ref = std::string(order_ref);
  t.created_at = now;
  t.actor = std::string(actor);
  auto id = cards.append_transaction(t);
  return id.ok() ? Status() : id.status();
}

// The gift_card.issued payload: what the shop's mailer needs to send the card,
// code and PIN included (docs/events.md: the outbox's consumers must be trusted).
std::string issued_payload(const GiftCard& card, std::string_view code, std::string_view pin) {
  JsonWriter w;
  w.begin_object().field("gift_card_id", format_id(card.id));
  if (card.member_id.valid()) w.field("member_id", format_id(card.member_id));
  w.field("kind", to_string(card.kind))
      .field("source", to_string(card.source))
      .field("source_ref", card.source_ref)
      .field("amount_minor", card.initial_minor)
      .field("currency", card.currency)
      .field("recipient_email", card.recipient_email)
      .field("message", card.message)
      .field("code", code)
      .field("pin", pin)
      .field("code_hint", card.code_hint);
  if (card.expires_at) w.field("expires_at", format_rfc3339(*card.expires_at));
  w.field("occurred_at", format_rfc3339(card.created_at)).end_object();
  return w.take();
}

// Draws a code and PIN, writes the active digital card, its issue line and
// gift_card.issued.
Result<GiftCardIssued> write_digital_card(StoreSession& s, GiftCard card, Instant now) {
  LOYALTY_ASSERT(card.initial_minor > 0 && card.initial_minor <= kMaxGiftCardMinor);
  GiftCardStore cards(s);
  GiftCardIssued out;
  std::string normalized;
  for (int attempt = 0;; ++attempt) {
    if (attempt == kMaxCodeDraws) {
      return Status(ErrorCode::kInternal,
                    "no unused gift card code after " + std::to_string(kMaxCodeDraws) + " draws");
    }
    out.code =
        draw_random_text([](std::span<const uint8_t> r) { return gift_card_code_from_random(r); });
    normalized = *normalize_gift_card_code(out.code);
    card.code_hash = gift_card_code_digest(normalized);
    LOYALTY_ASSIGN_OR_RETURN(auto existing, cards.find_card_by_hash(card.code_hash));
    if (!existing) break;
  }
  out.pin =
      draw_random_text([](std::span<const uint8_t> r) { return gift_card_pin_from_random(r); });
  card.code_hint = gift_card_code_hint(normalized);
  card.pin_hash = gift_card_pin_digest(normalized, out.pin);
  card.kind = GiftCardKind::kDigital;
  card.status = GiftCardStatus::kActive;
  card.balance_minor = card.initial_minor;
  card.held_minor = 0;
  card.created_at = now;
  card.activated_at = now;
  LOYALTY_ASSIGN_OR_RETURN(card.id, cards.insert_card(card));
  LOYALTY_RETURN_IF_ERROR(
      append(cards, card, "issue", card.initial_minor, {}, card.source_ref, card.actor, now));
  LOYALTY_ASSIGN_OR_RETURN(auto event_id,
                           s.append_outbox_event(card.program_id, card.member_id, kGiftCardIssued,
                                                 issued_payload(card, out.code, out.pin), now));
  (void)event_id;
  out.card = std::move(card);
  return out;
}

// The card of `code` in this program, or kNotFound. No PIN: activation and
// reads by an operator.
Result<GiftCard> find_program_card(GiftCardStore& cards, ProgramId program, std::string_view code) {
  auto normalized = normalize_gift_card_code(code);
  if (!normalized) return Status(ErrorCode::kNotFound, "no gift card has this code");
  LOYALTY_ASSIGN_OR_RETURN(auto card, cards.find_card_by_hash(gift_card_code_digest(*normalized)));
  if (!card || card->program_id != program) {
    return Status(ErrorCode::kNotFound, "no gift card has this code");
  }
  return std::move(*card);
}

// Checks the code and PIN under the attempt limits (kGiftCardAttemptLimits):
// the key's limit first, then the code, then the card's limit, then the PIN.
// A wrong code counts against the key; a wrong PIN against the key and the
// card. Nothing but the counters is written here.
Result<GiftCard> verify_credentials(StoreSession& s, ProgramId program, std::string_view code,
                                    std::string_view pin, int64_t key, Instant now,
                                    GiftCardAttempt& attempt) {
  const AttemptLimits& limits = kGiftCardAttemptLimits;
  GiftCardStore cards(s);
  const Instant key_window = attempt_window_start(now, limits.key_window);
  LOYALTY_ASSIGN_OR_RETURN(int64_t key_failures,
                           cards.failures(program, AttemptScope::kKey, key, key_window));
  LOYALTY_RETURN_IF_ERROR(
      check_attempts("this API key", key_failures, limits.key_failures, now, limits.key_window));
  auto count_key = [&]() -> Status {
    LOYALTY_RETURN_IF_ERROR(cards.record_failure(program, AttemptScope::kKey, key, key_window));
    attempt.failure_recorded = true;
    return Status(ErrorCode::kGiftCardRejected, "no gift card has this code, or the PIN is wrong");
  };
  auto normalized = normalize_gift_card_code(code);
  if (!normalized || check_gift_card_pin(pin).code() != ErrorCode::kOk) return count_key();
  LOYALTY_ASSIGN_OR_RETURN(auto card, cards.find_card_by_hash(gift_card_code_digest(*normalized)));
  if (!card || card->program_id != program) return count_key();
  const Instant card_window = attempt_window_start(now, limits.card_window);
  LOYALTY_ASSIGN_OR_RETURN(int64_t card_failures, cards.failures(program, AttemptScope::kCard,
                                                                 card->id.value, card_window));
  LOYALTY_RETURN_IF_ERROR(check_attempts("this gift card", card_failures, limits.card_failures, now,
                                         limits.card_window));
  if (!constant_time_equal(gift_card_pin_digest(*normalized, pin), card->pin_hash)) {
    LOYALTY_RETURN_IF_ERROR(
        cards.record_failure(program, AttemptScope::kCard, card->id.value, card_window));
    return count_key();
  }
  return std::move(*card);
}

// Settles an open hold: `captured` spent, the rest back to the balance.
Result<GiftCardHoldResult> settle(StoreSession& s, GiftCardHold hold, int64_t captured,
                                  GiftCardHoldStatus final_status, std::string_view actor,
                                  Instant now) {
  LOYALTY_ASSERT(hold.status == GiftCardHoldStatus::kOpen);
  LOYALTY_ASSERT(captured >= 0 && captured <= hold.amount_minor);
  GiftCardStore cards(s);
  const int64_t released = hold.amount_minor - captured;
  // The hold first: its conditional update decides a race between two nodes
  // settling it (the loser reruns its batch and finds it settled).
  hold.status = final_status;
  hold.captured_minor = captured;
  hold.settled_at = now;
  LOYALTY_RETURN_IF_ERROR(cards.settle_hold(hold));
  LOYALTY_RETURN_IF_ERROR(
      cards.settle_held(hold.program_id, hold.gift_card_id, captured, released));
  LOYALTY_ASSIGN_OR_RETURN(auto card, cards.find_card(hold.program_id, hold.gift_card_id));
  LOYALTY_ASSERT(card.has_value() && card->held_minor >= 0);
  if (captured > 0) {
    // Each line states the card right after it: the capture line before the
    // rest of the hold came back.
    GiftCard after_capture = *card;
    after_capture.balance_minor -= released;
    after_capture.held_minor += released;
    LOYALTY_RETURN_IF_ERROR(
        append(cards, after_capture, "capture", captured, hold.id, hold.order_ref, actor, now));
  }
  if (released > 0) {
    LOYALTY_RETURN_IF_ERROR(
        append(cards, *card, final_status == GiftCardHoldStatus::kExpired ? "expire" : "release",
               released, hold.id, hold.order_ref, actor, now));
  }
  return GiftCardHoldResult{std::move(hold), std::move(*card)};
}

Result<GiftCardHold> require_hold(GiftCardStore& cards, ProgramId program,
                                  store::GiftCardHoldId id) {
  LOYALTY_ASSIGN_OR_RETURN(auto hold, cards.find_hold(program, id));
  if (!hold) return Status(ErrorCode::kNotFound, "gift card hold " + format_id(id) + " not found");
  return std::move(*hold);
}

}  // namespace

Result<GiftCardIssued> issue_gift_card(StoreSession& s, ProgramCache& programs,
                                       const IssueGiftCard& c, Instant now) {
  LOYALTY_ASSERT(c.source == GiftCardSource::kPurchase || c.source == GiftCardSource::kAdmin);
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, c.program_id));
  LOYALTY_RETURN_IF_ERROR(check_currency(program, c.currency));
  if (c.expires_at && *c.expires_at <= now) {
    return Status(ErrorCode::kInvalidRequest, "expires_at: must be in the future");
  }
  GiftCard card;
  card.program_id = program.id;
  card.source = c.source;
  card.source_ref = c.source_ref;
  card.currency = program.currency;
  card.initial_minor = c.amount_minor;
  card.recipient_email = c.recipient_email;
  card.message = c.message;
  card.expires_at = c.expires_at;
  card.actor = c.actor;
  return write_digital_card(s, std::move(card), now);
}

Result<GiftCardIssued> issue_reward_gift_card(StoreSession& s, const Program& program,
                                              const Member& member, int64_t amount_minor,
                                              std::string_view redemption_ref,
                                              std::string_view actor, Instant now) {
  if (amount_minor > kMaxGiftCardMinor) {
    return Status(
        ErrorCode::kAmountOutOfRange,
        "a gift card holds at most " + std::to_string(kMaxGiftCardMinor) + " minor units");
  }
  GiftCard card;
  card.program_id = program.id;
  card.source = GiftCardSource::kReward;
  card.source_ref = std::string(redemption_ref);
  card.member_id = member.id;
  card.currency = program.currency;
  card.initial_minor = amount_minor;
  card.recipient_email = member.email;
  card.actor = std::string(actor);
  return write_digital_card(s, std::move(card), now);
}

Result<GiftCardsImported> import_physical_cards(StoreSession& s, ProgramCache& programs,
                                                const ImportPhysicalCards& c, Instant now) {
  LOYALTY_ASSERT(!c.cards.empty() && c.cards.size() <= kMaxGiftCardImportCards);
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, c.program_id));
  if (c.expires_at && *c.expires_at <= now) {
    return Status(ErrorCode::kInvalidRequest, "expires_at: must be in the future");
  }
  GiftCardStore cards(s);
  // Everything is checked before the first card is written.
  std::vector<GiftCard> rows;
  std::set<std::string> seen;
  for (size_t i = 0; i < c.cards.size(); ++i) {
    const std::string field = "cards[" + std::to_string(i) + "]";
    LOYALTY_RETURN_IF_ERROR(check_physical_card_number(field + ".number", c.cards[i].number));
    if (Status st = check_gift_card_pin(c.cards[i].pin); !st.ok()) {
      return Status(ErrorCode::kInvalidRequest, field + "." + st.message());
    }
    const std::string normalized = *normalize_gift_card_code(c.cards[i].number);
    GiftCard card;
    card.program_id = program.id;
    card.code_hash = gift_card_code_digest(normalized);
    if (!seen.insert(card.code_hash).second) {
      return Status(ErrorCode::kConflict, field + ": the number is twice in the batch");
    }
    LOYALTY_ASSIGN_OR_RETURN(auto existing, cards.find_card_by_hash(card.code_hash));
    if (existing) return Status(ErrorCode::kConflict, field + ": the number is already stored");
    card.code_hint = gift_card_code_hint(normalized);
    card.pin_hash = gift_card_pin_digest(normalized, c.cards[i].pin);
    card.kind = GiftCardKind::kPhysical;
    card.source = GiftCardSource::kImport;
    card.source_ref = c.batch_ref;
    card.status = GiftCardStatus::kInactive;
    card.currency = program.currency;
    card.expires_at = c.expires_at;
    card.created_at = now;
    card.actor = c.actor;
    rows.push_back(std::move(card));
  }
  GiftCardsImported out;
  for (GiftCard& card : rows) {
    LOYALTY_ASSIGN_OR_RETURN(card.id, cards.insert_card(card));
    out.ids.push_back(card.id);
  }
  out.imported = static_cast<int64_t>(rows.size());
  return out;
}

Result<GiftCardView> activate_gift_card(StoreSession& s, ProgramCache& programs,
                                        const ActivateGiftCard& c, Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, c.program_id));
  LOYALTY_RETURN_IF_ERROR(check_currency(program, c.currency));
  GiftCardStore cards(s);
  LOYALTY_ASSIGN_OR_RETURN(GiftCard card, find_program_card(cards, program.id, c.code));
  LOYALTY_RETURN_IF_ERROR(check_gift_card_activation(card.state(), c.amount_minor));
  if (card.expires_at && *card.expires_at <= now) {
    return Status(ErrorCode::kGiftCardNotUsable,
                  "the gift card expired at " + format_rfc3339(*card.expires_at));
  }
  LOYALTY_ASSIGN_OR_RETURN(bool activated,
                           cards.activate(program.id, card.id, c.amount_minor, now));
  if (!activated) {
    return Status(ErrorCode::kRetryable,
                  "gift card " + format_id(card.id) + " changed in another transaction");
  }
  card.status = GiftCardStatus::kActive;
  card.initial_minor = c.amount_minor;
  card.balance_minor = c.amount_minor;
  card.activated_at = now;
  LOYALTY_RETURN_IF_ERROR(
      append(cards, card, "activate", c.amount_minor, {}, c.order_ref, c.actor, now));
  JsonWriter w;
  w.begin_object()
      .field("gift_card_id", format_id(card.id))
      .field("kind", to_string(card.kind))
      .field("amount_minor", card.initial_minor)
      .field("currency", card.currency)
      .field("order_ref", c.order_ref)
      .field("code_hint", card.code_hint)
      .field("occurred_at", format_rfc3339(now))
      .end_object();
  LOYALTY_ASSIGN_OR_RETURN(
      auto event_id, s.append_outbox_event(program.id, {}, kGiftCardActivated, w.take(), now));
  (void)event_id;
  return GiftCardView{std::move(card)};
}

Result<GiftCardView> check_gift_card(StoreSession& s, const CheckGiftCard& c, Instant now,
                                     GiftCardAttempt& attempt) {
  LOYALTY_ASSIGN_OR_RETURN(GiftCard card,
                           verify_credentials(s, c.program_id, c.code, c.pin, c.key, now, attempt));
  return GiftCardView{std::move(card)};
}

Result<GiftCardHoldResult> hold_gift_card(StoreSession& s, ProgramCache& programs,
                                          const HoldGiftCard& c, Instant now,
                                          GiftCardAttempt& attempt) {
  LOYALTY_ASSERT(c.amount_minor > 0);
  LOYALTY_ASSERT(c.hold_minutes > 0 && c.hold_minutes <= kMaxGiftCardHoldMinutes);
  LOYALTY_ASSIGN_OR_RETURN(GiftCard card,
                           verify_credentials(s, c.program_id, c.code, c.pin, c.key, now, attempt));
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, c.program_id));
  LOYALTY_RETURN_IF_ERROR(check_currency(program, c.currency));
  LOYALTY_RETURN_IF_ERROR(check_gift_card_spend(card.state(), c.amount_minor, now));
  GiftCardStore cards(s);
  // The authority under concurrency: the balance read above may be stale on
  // another node; the conditional UPDATE is not.
  LOYALTY_ASSIGN_OR_RETURN(bool held, cards.hold_balance(program.id, card.id, c.amount_minor));
  if (!held) {
    return Status(ErrorCode::kInsufficientBalance,
                  "the gift card's balance no longer covers " + std::to_string(c.amount_minor));
  }
  // Read back under the row lock the UPDATE took: on PostgreSQL another node
  // may have changed the card since it was read above (READ COMMITTED).
  LOYALTY_ASSIGN_OR_RETURN(auto fresh, cards.find_card(program.id, card.id));
  LOYALTY_ASSERT(fresh.has_value() && fresh->balance_minor >= 0);
  card = std::move(*fresh);
  GiftCardHold hold;
  hold.program_id = program.id;
  hold.gift_card_id = card.id;
  hold.status = GiftCardHoldStatus::kOpen;
  hold.amount_minor = c.amount_minor;
  hold.order_ref = c.order_ref;
  hold.capture_on_paid = c.capture_on_paid;
  hold.created_at = now;
  hold.expires_at = now + Duration::from_seconds(int64_t{c.hold_minutes} * 60);
  hold.actor = c.actor;
  LOYALTY_ASSIGN_OR_RETURN(hold.id, cards.insert_hold(hold));
  LOYALTY_RETURN_IF_ERROR(
      append(cards, card, "hold", -c.amount_minor, hold.id, c.order_ref, c.actor, now));
  return GiftCardHoldResult{std::move(hold), std::move(card)};
}

Result<GiftCardHoldResult> capture_gift_card_hold(StoreSession& s, const CaptureGiftCardHold& c,
                                                  Instant now) {
  GiftCardStore cards(s);
  LOYALTY_ASSIGN_OR_RETURN(GiftCardHold hold, require_hold(cards, c.program_id, c.hold_id));
  const int64_t amount = c.amount_minor == 0 ? hold.amount_minor : c.amount_minor;
  LOYALTY_RETURN_IF_ERROR(check_gift_card_capture(hold.state(), amount, now));
  return settle(s, std::move(hold), amount, GiftCardHoldStatus::kCaptured, c.actor, now);
}

Result<GiftCardHoldResult> release_gift_card_hold(StoreSession& s, const ReleaseGiftCardHold& c,
                                                  Instant now) {
  GiftCardStore cards(s);
  LOYALTY_ASSIGN_OR_RETURN(GiftCardHold hold, require_hold(cards, c.program_id, c.hold_id));
  LOYALTY_RETURN_IF_ERROR(check_gift_card_release(hold.state()));
  return settle(s, std::move(hold), 0, GiftCardHoldStatus::kReleased, c.actor, now);
}

Result<GiftCardView> set_gift_card_status(StoreSession& s, const SetGiftCardStatus& c,
                                          Instant now) {
  GiftCardStore cards(s);
  LOYALTY_ASSIGN_OR_RETURN(auto card, cards.find_card(c.program_id, c.card_id));
  if (!card)
    return Status(ErrorCode::kNotFound, "gift card " + format_id(c.card_id) + " not found");
  const GiftCardStatus from = c.disable ? GiftCardStatus::kActive : GiftCardStatus::kDisabled;
  const GiftCardStatus to = c.disable ? GiftCardStatus::kDisabled : GiftCardStatus::kActive;
  LOYALTY_ASSIGN_OR_RETURN(bool changed, cards.set_status(c.program_id, card->id, from, to));
  if (!changed) {
    return Status(ErrorCode::kConflict, "gift card " + format_id(card->id) + " is " +
                                            to_string(card->status) + ", not " + to_string(from));
  }
  card->status = to;
  LOYALTY_RETURN_IF_ERROR(
      append(cards, *card, c.disable ? "disable" : "enable", 0, {}, "", c.actor, now));
  return GiftCardView{std::move(*card)};
}

Status settle_order_gift_card_holds(StoreSession& s, const Order& order, Instant now) {
  GiftCardStore cards(s);
  LOYALTY_ASSIGN_OR_RETURN(auto holds, cards.holds_of_order(order.program_id, order.external_id));
  const bool ended = is_final(order.status);  // cancelled or returned
  const bool paid = order.paid_at.has_value() && !ended;
  const bool full = ended || order.refunded_minor >= order.total_minor;
  for (GiftCardHold& hold : holds) {
    if (hold.status == GiftCardHoldStatus::kOpen) {
      if (ended) {
        LOYALTY_RETURN_IF_ERROR(
            settle(s, std::move(hold), 0, GiftCardHoldStatus::kReleased, "system", now).status());
      } else if (paid && hold.capture_on_paid && hold.expires_at > now) {
        const int64_t all = hold.amount_minor;
        LOYALTY_RETURN_IF_ERROR(
            settle(s, std::move(hold), all, GiftCardHoldStatus::kCaptured, "system", now).status());
      }
      continue;
    }
    if (hold.status != GiftCardHoldStatus::kCaptured || hold.captured_minor == 0) continue;
    // What the refunds so far give back: the refunded share of the total,
    // floored, as for points captured at checkout (domain/checkout_points.h).
    const int64_t back = captured_to_give_back(hold.captured_minor, hold.refunded_minor,
                                               order.total_minor, order.refunded_minor, full);
    if (back <= 0) continue;
    LOYALTY_RETURN_IF_ERROR(cards.add_hold_refund(hold.program_id, hold.id, back));
    LOYALTY_RETURN_IF_ERROR(cards.credit_balance(hold.program_id, hold.gift_card_id, back));
    LOYALTY_ASSIGN_OR_RETURN(auto card, cards.find_card(hold.program_id, hold.gift_card_id));
    LOYALTY_ASSERT(card.has_value());
    LOYALTY_RETURN_IF_ERROR(
        append(cards, *card, "refund", back, hold.id, hold.order_ref, "system", now));
  }
  return {};
}

Result<int> release_expired_gift_card_holds(StoreSession& s, int limit, Instant now) {
  LOYALTY_ASSERT(limit > 0);
  GiftCardStore cards(s);
  LOYALTY_ASSIGN_OR_RETURN(auto due, cards.expired_open_holds(now, limit));
  int released = 0;
  for (const auto& [program, id] : due) {
    LOYALTY_ASSIGN_OR_RETURN(GiftCardHold hold, require_hold(cards, program, id));
    // Settled meanwhile (PostgreSQL: another node); settle_hold's condition
    // decides under a race.
    if (hold.status != GiftCardHoldStatus::kOpen || hold.expires_at > now) continue;
    LOYALTY_ASSIGN_OR_RETURN(
        auto r, settle(s, std::move(hold), 0, GiftCardHoldStatus::kExpired, "system", now));
    (void)r;
    ++released;
  }
  return released;
}

}  // namespace loyalty::engine
