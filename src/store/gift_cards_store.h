// The gift card tables (migration 19, docs/gift-cards.md): cards, their holds,
// their append-only transaction history, and the failed-check counters, over a
// StoreSession's connection. Writes run in the caller's transaction (the
// engine's writer); reads in any.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "common/time.h"
#include "domain/gift_cards.h"
#include "store/store.h"

namespace loyalty::store {

struct GiftCardTag {
  static constexpr std::string_view kPrefix = "gc_";
};
using GiftCardId = Id<GiftCardTag>;
struct GiftCardHoldTag {
  static constexpr std::string_view kPrefix = "gch_";
};
using GiftCardHoldId = Id<GiftCardHoldTag>;
struct GiftCardTransactionTag {
  static constexpr std::string_view kPrefix = "gct_";
};
using GiftCardTransactionId = Id<GiftCardTransactionTag>;

struct GiftCard {
  GiftCardId id;
  ProgramId program_id;
  std::string code_hash;  // gift_card_code_digest of the normalized code
  std::string code_hint;  // its last 4 characters
  std::string pin_hash;   // gift_card_pin_digest
  GiftCardKind kind = GiftCardKind::kDigital;
  GiftCardSource source = GiftCardSource::kAdmin;
  std::string source_ref;  // the redemption id, the shop's purchase/order ref, the import batch
  MemberId member_id;      // invalid: not a member's (bought, admin, physical)
  GiftCardStatus status = GiftCardStatus::kInactive;
  std::string currency;
  int64_t initial_minor = 0;  // the first balance (issue or activation)
  int64_t balance_minor = 0;  // available to pay: not held
  int64_t held_minor = 0;     // in open holds
  std::string recipient_email;
  std::string message;
  std::optional<Instant> expires_at;
  Instant created_at;
  std::optional<Instant> activated_at;
  std::string actor;

  GiftCardState state() const { return GiftCardState{status, balance_minor, expires_at}; }
};

struct GiftCardHold {
  GiftCardHoldId id;
  ProgramId program_id;
  GiftCardId gift_card_id;
  GiftCardHoldStatus status = GiftCardHoldStatus::kOpen;
  int64_t amount_minor = 0;
  int64_t captured_minor = 0;
  int64_t refunded_minor = 0;    // of the captured money, given back by the order's refunds
  bool capture_on_paid = false;  // captured in full when its order is paid
  std::string order_ref;
  Instant created_at;
  Instant expires_at;
  std::optional<Instant> settled_at;
  std::string actor;

  GiftCardHoldState state() const { return GiftCardHoldState{status, amount_minor, expires_at}; }
};

// One line of a card's history. amount_minor: what the line did to the
// balance available (+ issue, activation, release, refund; - hold; 0 disable,
// enable) or, for a capture, the money spent (held -> gone).
struct GiftCardTransaction {
  GiftCardTransactionId id;
  ProgramId program_id;
  GiftCardId gift_card_id;
  std::string kind;  // issue, activate, hold, capture, release, expire, refund, disable, enable
  int64_t amount_minor = 0;
  int64_t balance_after_minor = 0;
  int64_t held_after_minor = 0;
  GiftCardHoldId hold_id;  // invalid for issue/activate
  std::string order_ref;
  Instant created_at;
  std::string actor;
};

// Failed code/PIN checks are counted per API key ("key") and per card ("card").
enum class AttemptScope { kKey, kCard };

class GiftCardStore {
 public:
  explicit GiftCardStore(StoreSession& session) : db_(session.connection()) {}

  // kConflict when the code's digest exists (the caller draws another code).
  Result<GiftCardId> insert_card(const GiftCard& c);
  // By digest, whatever the program (the caller tells another program's card apart).
  Result<std::optional<GiftCard>> find_card_by_hash(std::string_view code_hash);
  Result<std::optional<GiftCard>> find_card(ProgramId program, GiftCardId id);
  // The gift cards a member received (by redeeming rewards), newest first.
  Result<std::vector<GiftCard>> cards_of_member(ProgramId program, MemberId member);

  // Moves `amount_minor` from balance to held if the balance still covers it
  // and the card is active: one conditional UPDATE (row-locked on PostgreSQL),
  // so two holds never overspend. False when it does not.
  Result<bool> hold_balance(ProgramId program, GiftCardId id, int64_t amount_minor);
  // Held money leaves: `captured` is spent, `released` goes back to balance.
  Status settle_held(ProgramId program, GiftCardId id, int64_t captured, int64_t released);
  // Money a captured hold gives back (an order refund): onto the balance.
  Status credit_balance(ProgramId program, GiftCardId id, int64_t amount_minor);
  // Writes the card's status if it still is `from`; false otherwise.
  Result<bool> set_status(ProgramId program, GiftCardId id, GiftCardStatus from, GiftCardStatus to);
  // inactive -> active with its first balance; false when no longer inactive.
  Result<bool> activate(ProgramId program, GiftCardId id, int64_t amount_minor, Instant at);

  Result<GiftCardHoldId> insert_hold(const GiftCardHold& h);
  Result<std::optional<GiftCardHold>> find_hold(ProgramId program, GiftCardHoldId id);
  // Writes status, captured_minor and settled_at if the hold is still open;
  // kRetryable when another transaction settled it first.
  Status settle_hold(const GiftCardHold& h);
  // Adds to a captured hold's refunded_minor (never above captured_minor).
  Status add_hold_refund(ProgramId program, GiftCardHoldId id, int64_t amount_minor);
  // Open holds whose expires_at <= now, oldest first.
  Result<std::vector<std::pair<ProgramId, GiftCardHoldId>>> expired_open_holds(Instant now,
                                                                               int limit);
  Result<std::vector<GiftCardHold>> holds_of_card(ProgramId program, GiftCardId id);
  // The holds made for the shop's order `order_ref`, oldest first.
  Result<std::vector<GiftCardHold>> holds_of_order(ProgramId program, std::string_view order_ref);

  Result<GiftCardTransactionId> append_transaction(const GiftCardTransaction& t);
  Result<std::vector<GiftCardTransaction>> transactions_of_card(ProgramId program, GiftCardId id);

  // Failures counted in the window starting at window_start.
  Result<int64_t> failures(ProgramId program, AttemptScope scope, int64_t subject,
                           Instant window_start);
  // Adds one failure to the window (and forgets windows that ended a day before).
  Status record_failure(ProgramId program, AttemptScope scope, int64_t subject,
                        Instant window_start);

 private:
  SqlConnection& db_;
};

}  // namespace loyalty::store
