// Gift cards in the engine (docs/gift-cards.md): issue, physical import and
// activation, balance checks, and holds captured or released at checkout.
// Everything runs in the caller's write transaction (the command's savepoint).
//
// Failed code/PIN checks are counted (gift_card_attempts) even though the
// command fails: a command that recorded a failure says so in
// GiftCardAttempt::failure_recorded, and the engine then commits the
// command's writes with its failure (Outcome::commit_on_failure) instead of
// rolling them back. Credentials are checked before anything else is written,
// so the counter is the only write such a failure keeps.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "common/time.h"
#include "domain/gift_cards.h"
#include "domain/order.h"
#include "store/gift_cards_store.h"
#include "store/store.h"

namespace loyalty::engine {

class ProgramCache;

// Outbox event types (docs/events.md).
inline constexpr std::string_view kGiftCardIssued = "gift_card.issued";
inline constexpr std::string_view kGiftCardActivated = "gift_card.activated";

// POST /v1/gift-cards: a digital card bought in the shop (source purchase,
// source_ref = the shop's order or payment id) or issued by an admin.
struct IssueGiftCard {
  ProgramId program_id;
  int64_t amount_minor = 0;
  std::string currency;  // must be the program's
  GiftCardSource source = GiftCardSource::kAdmin;
  std::string source_ref;
  std::string recipient_email;
  std::string message;
  std::optional<Instant> expires_at;
  std::string actor;
};
// POST /v1/gift-cards:import: physical cards, inactive until sold. All or
// nothing: a number already stored (or twice in the batch) fails the batch
// with kConflict naming it by index.
struct PhysicalCard {
  std::string number;
  std::string pin;
};
struct ImportPhysicalCards {
  ProgramId program_id;
  std::string batch_ref;
  std::vector<PhysicalCard> cards;
  std::optional<Instant> expires_at;
  std::string actor;
};
// POST /v1/gift-cards:activate: an imported card sold with this balance.
struct ActivateGiftCard {
  ProgramId program_id;
  std::string code;
  int64_t amount_minor = 0;
  std::string currency;
  std::string order_ref;
  std::string actor;
};
// POST /v1/gift-cards:check: the balance of a card, given its code and PIN.
// `key` is the API key whose failures are counted (0 = no key: the CLI).
struct CheckGiftCard {
  ProgramId program_id;
  std::string code;
  std::string pin;
  int64_t key = 0;
};
// POST /v1/gift-cards/holds: reserves money of the card for an order.
struct HoldGiftCard {
  ProgramId program_id;
  std::string code;
  std::string pin;
  int64_t key = 0;
  int64_t amount_minor = 0;
  std::string currency;
  std::string order_ref;
  int hold_minutes = kDefaultGiftCardHoldMinutes;
  bool capture_on_paid = false;  // needs order_ref
  std::string actor;
};
// POST /v1/gift-cards/holds/{id}:capture. amount_minor = 0 captures all; less
// than held releases the rest.
struct CaptureGiftCardHold {
  ProgramId program_id;
  store::GiftCardHoldId hold_id;
  int64_t amount_minor = 0;
  std::string actor;
};
// POST /v1/gift-cards/holds/{id}:release.
struct ReleaseGiftCardHold {
  ProgramId program_id;
  store::GiftCardHoldId hold_id;
  std::string actor;
};

// POST /v1/gift-cards/{id}:disable and :enable. A disabled card cannot be
// held (kGiftCardNotUsable; a check answers it, status disabled); holds made
// before stay and can still be captured or released, and an order's refund
// still gives captured money back onto it. kConflict when the card is not active (to
// disable) or not disabled (to enable).
struct SetGiftCardStatus {
  ProgramId program_id;
  store::GiftCardId card_id;
  bool disable = true;
  std::string actor;
};

// A card as issued: the code and PIN in clear exist only here, for the
// response of the command that issued it (never stored in clear, never in
// an idempotency record).
struct GiftCardIssued {
  store::GiftCard card;
  std::string code;
  std::string pin;
};
struct GiftCardsImported {
  int64_t imported = 0;
  std::vector<store::GiftCardId> ids;  // in the batch's order
};
struct GiftCardView {
  store::GiftCard card;
};
struct GiftCardHoldResult {
  store::GiftCardHold hold;
  store::GiftCard card;  // after the command
};

// Set by the commands that check a code and PIN.
struct GiftCardAttempt {
  bool failure_recorded = false;
};

Result<GiftCardIssued> issue_gift_card(store::StoreSession& s, ProgramCache& programs,
                                       const IssueGiftCard& c, Instant now);
// The card of a gift_card reward's redemption (reward_commands.cpp): a
// digital card of the reward's value for the member, its recipient the
// member's email.
Result<GiftCardIssued> issue_reward_gift_card(store::StoreSession& s, const Program& program,
                                              const Member& member, int64_t amount_minor,
                                              std::string_view redemption_ref,
                                              std::string_view actor, Instant now);
Result<GiftCardsImported> import_physical_cards(store::StoreSession& s, ProgramCache& programs,
                                                const ImportPhysicalCards& c, Instant now);
Result<GiftCardView> activate_gift_card(store::StoreSession& s, ProgramCache& programs,
                                        const ActivateGiftCard& c, Instant now);
Result<GiftCardView> check_gift_card(store::StoreSession& s, const CheckGiftCard& c, Instant now,
                                     GiftCardAttempt& attempt);
Result<GiftCardHoldResult> hold_gift_card(store::StoreSession& s, ProgramCache& programs,
                                          const HoldGiftCard& c, Instant now,
                                          GiftCardAttempt& attempt);
Result<GiftCardHoldResult> capture_gift_card_hold(store::StoreSession& s,
                                                  const CaptureGiftCardHold& c, Instant now);
Result<GiftCardHoldResult> release_gift_card_hold(store::StoreSession& s,
                                                  const ReleaseGiftCardHold& c, Instant now);
Result<GiftCardView> set_gift_card_status(store::StoreSession& s, const SetGiftCardStatus& c,
                                          Instant now);
// The order hook (checkout_commands.cpp, settle_order_holds), for the gift
// card holds made with the order's external id: an open hold is released when
// the order is cancelled or returned, and captured in full when it is paid if
// the hold says capture_on_paid; a captured hold gives money back to its card
// as the order is refunded — in proportion to the refunded share of the
// order's total, all of what is left when the order is cancelled, returned or
// fully refunded (the same rule as points paid at checkout).
Status settle_order_gift_card_holds(store::StoreSession& s, const Order& order, Instant now);
// The holds job's gift card part: releases up to `limit` open gift card holds
// whose expires_at passed (status expired). Returns how many.
Result<int> release_expired_gift_card_holds(store::StoreSession& s, int limit, Instant now);

}  // namespace loyalty::engine
