// GiftCardStore: gift cards, holds, transactions and attempt counters (migration 19).
#include "store/gift_cards_store.h"

#include <cstdint>

#include "common/assert.h"
#include "store/sql_helpers.h"

namespace loyalty::store {
namespace {

using detail::BadText;
using detail::insert_returning_id;
using detail::instant_value;
using detail::opt_instant;

constexpr const char* kCardColumns =
    "id, program_id, code_hash, code_hint, pin_hash, kind, source, source_ref, member_id, status, "
    "currency, initial_minor, balance_minor, held_minor, recipient_email, message, expires_at, "
    "created_at, activated_at, actor";
constexpr const char* kHoldColumns =
    "id, program_id, gift_card_id, status, amount_minor, captured_minor, order_ref, created_at, "
    "expires_at, settled_at, actor, refunded_minor, capture_on_paid";
constexpr const char* kTransactionColumns =
    "id, program_id, gift_card_id, kind, amount_minor, balance_after_minor, held_after_minor, "
    "hold_id, order_ref, created_at, actor";

GiftCard read_card(const Row& r, BadText& bad) {
  GiftCard c;
  c.id = GiftCardId{r.get_int(0)};
  c.program_id = ProgramId{r.get_int(1)};
  c.code_hash = std::string(r.get_text(2));
  c.code_hint = std::string(r.get_text(3));
  c.pin_hash = std::string(r.get_text(4));
  c.kind = bad.check(parse_gift_card_kind(r.get_text(5)), "gift_cards.kind", r.get_text(5),
                     GiftCardKind::kDigital);
  c.source = bad.check(parse_gift_card_source(r.get_text(6)), "gift_cards.source", r.get_text(6),
                       GiftCardSource::kAdmin);
  c.source_ref = std::string(r.get_text(7));
  c.member_id = MemberId{r.get_optional_int(8).value_or(0)};
  c.status = bad.check(parse_gift_card_status(r.get_text(9)), "gift_cards.status", r.get_text(9),
                       GiftCardStatus::kDisabled);
  c.currency = std::string(r.get_text(10));
  c.initial_minor = r.get_int(11);
  c.balance_minor = r.get_int(12);
  c.held_minor = r.get_int(13);
  c.recipient_email = std::string(r.get_text(14));
  c.message = std::string(r.get_text(15));
  c.expires_at = opt_instant(r, 16);
  c.created_at = Instant{r.get_int(17)};
  c.activated_at = opt_instant(r, 18);
  c.actor = std::string(r.get_text(19));
  return c;
}

GiftCardHold read_hold(const Row& r, BadText& bad) {
  GiftCardHold h;
  h.id = GiftCardHoldId{r.get_int(0)};
  h.program_id = ProgramId{r.get_int(1)};
  h.gift_card_id = GiftCardId{r.get_int(2)};
  h.status = bad.check(parse_gift_card_hold_status(r.get_text(3)), "gift_card_holds.status",
                       r.get_text(3), GiftCardHoldStatus::kReleased);
  h.amount_minor = r.get_int(4);
  h.captured_minor = r.get_int(5);
  h.order_ref = std::string(r.get_text(6));
  h.created_at = Instant{r.get_int(7)};
  h.expires_at = Instant{r.get_int(8)};
  h.settled_at = opt_instant(r, 9);
  h.actor = std::string(r.get_text(10));
  h.refunded_minor = r.get_int(11);
  h.capture_on_paid = r.get_int(12) != 0;
  return h;
}

GiftCardTransaction read_transaction(const Row& r) {
  GiftCardTransaction t;
  t.id = GiftCardTransactionId{r.get_int(0)};
  t.program_id = ProgramId{r.get_int(1)};
  t.gift_card_id = GiftCardId{r.get_int(2)};
  t.kind = std::string(r.get_text(3));
  t.amount_minor = r.get_int(4);
  t.balance_after_minor = r.get_int(5);
  t.held_after_minor = r.get_int(6);
  t.hold_id = GiftCardHoldId{r.get_optional_int(7).value_or(0)};
  t.order_ref = std::string(r.get_text(8));
  t.created_at = Instant{r.get_int(9)};
  t.actor = std::string(r.get_text(10));
  return t;
}

const char* scope_text(AttemptScope s) { return s == AttemptScope::kKey ? "key" : "card"; }

// Windows older than this are deleted when a new failure is recorded.
constexpr Duration kAttemptRetention = Duration::from_days(1);

}  // namespace

Result<GiftCardId> GiftCardStore::insert_card(const GiftCard& c) {
  LOYALTY_ASSERT(c.balance_minor >= 0 && c.held_minor == 0);
  const std::string sql =
      "INSERT INTO gift_cards (program_id, code_hash, code_hint, pin_hash, kind, source, "
      "source_ref, member_id, status, currency, initial_minor, balance_minor, held_minor, "
      "recipient_email, message, expires_at, created_at, activated_at, actor) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)";
  LOYALTY_ASSIGN_OR_RETURN(
      int64_t id, insert_returning_id(
                      db_, sql,
                      {c.program_id.value, c.code_hash, c.code_hint, c.pin_hash, to_string(c.kind),
                       to_string(c.source), c.source_ref,
                       c.member_id.valid() ? SqlValue(c.member_id.value) : SqlValue(),
                       to_string(c.status), c.currency, c.initial_minor, c.balance_minor,
                       c.recipient_email, c.message, instant_value(c.expires_at),
                       c.created_at.micros_since_epoch, instant_value(c.activated_at), c.actor}));
  return GiftCardId{id};
}

Result<std::optional<GiftCard>> GiftCardStore::find_card_by_hash(std::string_view code_hash) {
  std::optional<GiftCard> out;
  BadText bad;
  LOYALTY_RETURN_IF_ERROR(
      db_.query(std::string("SELECT ") + kCardColumns + " FROM gift_cards WHERE code_hash = ?",
                {code_hash}, [&](const Row& r) { out = read_card(r, bad); }));
  LOYALTY_RETURN_IF_ERROR(bad.status());
  return out;
}

Result<std::optional<GiftCard>> GiftCardStore::find_card(ProgramId program, GiftCardId id) {
  std::optional<GiftCard> out;
  BadText bad;
  LOYALTY_RETURN_IF_ERROR(db_.query(
      std::string("SELECT ") + kCardColumns + " FROM gift_cards WHERE program_id = ? AND id = ?",
      {program.value, id.value}, [&](const Row& r) { out = read_card(r, bad); }));
  LOYALTY_RETURN_IF_ERROR(bad.status());
  return out;
}

Result<std::vector<GiftCard>> GiftCardStore::cards_of_member(ProgramId program, MemberId member) {
  std::vector<GiftCard> out;
  BadText bad;
  LOYALTY_RETURN_IF_ERROR(db_.query(std::string("SELECT ") + kCardColumns +
                                        " FROM gift_cards WHERE program_id = ? AND member_id = ? "
                                        "ORDER BY id DESC",
                                    {program.value, member.value},
                                    [&](const Row& r) { out.push_back(read_card(r, bad)); }));
  LOYALTY_RETURN_IF_ERROR(bad.status());
  return out;
}

Result<bool> GiftCardStore::hold_balance(ProgramId program, GiftCardId id, int64_t amount_minor) {
  LOYALTY_ASSERT(amount_minor > 0);
  LOYALTY_RETURN_IF_ERROR(
      db_.query("UPDATE gift_cards SET balance_minor = balance_minor - ?, "
                "held_minor = held_minor + ? "
                "WHERE program_id = ? AND id = ? AND status = 'active' AND balance_minor >= ?",
                {amount_minor, amount_minor, program.value, id.value, amount_minor}));
  return db_.changes() == 1;
}

Status GiftCardStore::settle_held(ProgramId program, GiftCardId id, int64_t captured,
                                  int64_t released) {
  LOYALTY_ASSERT(captured >= 0 && released >= 0 && captured + released > 0);
  LOYALTY_RETURN_IF_ERROR(
      db_.query("UPDATE gift_cards SET held_minor = held_minor - ?, "
                "balance_minor = balance_minor + ? "
                "WHERE program_id = ? AND id = ? AND held_minor >= ?",
                {captured + released, released, program.value, id.value, captured + released}));
  if (db_.changes() != 1) {
    return Status(ErrorCode::kInternal,
                  "gift card " + format_id(id) + " holds less than its hold settles");
  }
  return {};
}

Status GiftCardStore::credit_balance(ProgramId program, GiftCardId id, int64_t amount_minor) {
  LOYALTY_ASSERT(amount_minor > 0);
  LOYALTY_RETURN_IF_ERROR(
      db_.query("UPDATE gift_cards SET balance_minor = balance_minor + ? "
                "WHERE program_id = ? AND id = ?",
                {amount_minor, program.value, id.value}));
  if (db_.changes() != 1) {
    return Status(ErrorCode::kInternal, "gift card " + format_id(id) + " is gone");
  }
  return {};
}

Result<bool> GiftCardStore::set_status(ProgramId program, GiftCardId id, GiftCardStatus from,
                                       GiftCardStatus to) {
  LOYALTY_RETURN_IF_ERROR(
      db_.query("UPDATE gift_cards SET status = ? WHERE program_id = ? AND id = ? AND status = ?",
                {to_string(to), program.value, id.value, to_string(from)}));
  return db_.changes() == 1;
}

Result<bool> GiftCardStore::activate(ProgramId program, GiftCardId id, int64_t amount_minor,
                                     Instant at) {
  LOYALTY_ASSERT(amount_minor > 0);
  LOYALTY_RETURN_IF_ERROR(
      db_.query("UPDATE gift_cards SET status = 'active', initial_minor = ?, balance_minor = ?, "
                "activated_at = ? WHERE program_id = ? AND id = ? AND status = 'inactive'",
                {amount_minor, amount_minor, at.micros_since_epoch, program.value, id.value}));
  return db_.changes() == 1;
}

Result<GiftCardHoldId> GiftCardStore::insert_hold(const GiftCardHold& h) {
  LOYALTY_ASSERT(h.amount_minor > 0 && h.status == GiftCardHoldStatus::kOpen);
  const std::string sql =
      "INSERT INTO gift_card_holds (program_id, gift_card_id, status, amount_minor, "
      "captured_minor, order_ref, created_at, expires_at, settled_at, actor, refunded_minor, "
      "capture_on_paid) VALUES (?, ?, ?, ?, 0, ?, ?, ?, NULL, ?, 0, ?)";
  LOYALTY_ASSIGN_OR_RETURN(
      int64_t id,
      insert_returning_id(db_, sql,
                          {h.program_id.value, h.gift_card_id.value, to_string(h.status),
                           h.amount_minor, h.order_ref, h.created_at.micros_since_epoch,
                           h.expires_at.micros_since_epoch, h.actor, h.capture_on_paid}));
  return GiftCardHoldId{id};
}

Result<std::optional<GiftCardHold>> GiftCardStore::find_hold(ProgramId program, GiftCardHoldId id) {
  std::optional<GiftCardHold> out;
  BadText bad;
  LOYALTY_RETURN_IF_ERROR(db_.query(std::string("SELECT ") + kHoldColumns +
                                        " FROM gift_card_holds WHERE program_id = ? AND id = ?",
                                    {program.value, id.value},
                                    [&](const Row& r) { out = read_hold(r, bad); }));
  LOYALTY_RETURN_IF_ERROR(bad.status());
  return out;
}

Status GiftCardStore::settle_hold(const GiftCardHold& h) {
  LOYALTY_ASSERT(h.status != GiftCardHoldStatus::kOpen && h.settled_at.has_value());
  LOYALTY_RETURN_IF_ERROR(
      db_.query("UPDATE gift_card_holds SET status = ?, captured_minor = ?, settled_at = ? "
                "WHERE program_id = ? AND id = ? AND status = 'open'",
                {to_string(h.status), h.captured_minor, instant_value(h.settled_at),
                 h.program_id.value, h.id.value}));
  if (db_.changes() != 1) {
    return Status(ErrorCode::kRetryable,
                  "gift card hold " + format_id(h.id) + " changed in another transaction");
  }
  return {};
}

Status GiftCardStore::add_hold_refund(ProgramId program, GiftCardHoldId id, int64_t amount_minor) {
  LOYALTY_ASSERT(amount_minor > 0);
  LOYALTY_RETURN_IF_ERROR(
      db_.query("UPDATE gift_card_holds SET refunded_minor = refunded_minor + ? "
                "WHERE program_id = ? AND id = ? AND status = 'captured' "
                "AND refunded_minor + ? <= captured_minor",
                {amount_minor, program.value, id.value, amount_minor}));
  if (db_.changes() != 1) {
    return Status(ErrorCode::kRetryable,
                  "gift card hold " + format_id(id) + " changed in another transaction");
  }
  return {};
}

Result<std::vector<std::pair<ProgramId, GiftCardHoldId>>> GiftCardStore::expired_open_holds(
    Instant now, int limit) {
  LOYALTY_ASSERT(limit > 0);
  std::vector<std::pair<ProgramId, GiftCardHoldId>> out;
  LOYALTY_RETURN_IF_ERROR(
      db_.query("SELECT program_id, id FROM gift_card_holds WHERE status = 'open' AND "
                "expires_at <= ? ORDER BY expires_at, id LIMIT ?",
                {now.micros_since_epoch, int64_t{limit}}, [&](const Row& r) {
                  out.emplace_back(ProgramId{r.get_int(0)}, GiftCardHoldId{r.get_int(1)});
                }));
  return out;
}

Result<std::vector<GiftCardHold>> GiftCardStore::holds_of_card(ProgramId program, GiftCardId id) {
  std::vector<GiftCardHold> out;
  BadText bad;
  LOYALTY_RETURN_IF_ERROR(db_.query(std::string("SELECT ") + kHoldColumns +
                                        " FROM gift_card_holds WHERE program_id = ? AND "
                                        "gift_card_id = ? ORDER BY id",
                                    {program.value, id.value},
                                    [&](const Row& r) { out.push_back(read_hold(r, bad)); }));
  LOYALTY_RETURN_IF_ERROR(bad.status());
  return out;
}

Result<std::vector<GiftCardHold>> GiftCardStore::holds_of_order(ProgramId program,
                                                                std::string_view order_ref) {
  std::vector<GiftCardHold> out;
  BadText bad;
  if (order_ref.empty()) return out;
  LOYALTY_RETURN_IF_ERROR(db_.query(std::string("SELECT ") + kHoldColumns +
                                        " FROM gift_card_holds WHERE program_id = ? AND "
                                        "order_ref = ? ORDER BY id",
                                    {program.value, order_ref},
                                    [&](const Row& r) { out.push_back(read_hold(r, bad)); }));
  LOYALTY_RETURN_IF_ERROR(bad.status());
  return out;
}

Result<GiftCardTransactionId> GiftCardStore::append_transaction(const GiftCardTransaction& t) {
  LOYALTY_ASSERT(t.balance_after_minor >= 0 && t.held_after_minor >= 0);
  const std::string sql =
      "INSERT INTO gift_card_transactions (program_id, gift_card_id, kind, amount_minor, "
      "balance_after_minor, held_after_minor, hold_id, order_ref, created_at, actor) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  LOYALTY_ASSIGN_OR_RETURN(
      int64_t id, insert_returning_id(db_, sql,
                                      {t.program_id.value, t.gift_card_id.value, t.kind,
                                       t.amount_minor, t.balance_after_minor, t.held_after_minor,
                                       t.hold_id.valid() ? SqlValue(t.hold_id.value) : SqlValue(),
                                       t.order_ref, t.created_at.micros_since_epoch, t.actor}));
  return GiftCardTransactionId{id};
}

Result<std::vector<GiftCardTransaction>> GiftCardStore::transactions_of_card(ProgramId program,
                                                                             GiftCardId id) {
  std::vector<GiftCardTransaction> out;
  LOYALTY_RETURN_IF_ERROR(db_.query(std::string("SELECT ") + kTransactionColumns +
                                        " FROM gift_card_transactions WHERE program_id = ? AND "
                                        "gift_card_id = ? ORDER BY id",
                                    {program.value, id.value},
                                    [&](const Row& r) { out.push_back(read_transaction(r)); }));
  return out;
}

Result<int64_t> GiftCardStore::failures(ProgramId program, AttemptScope scope, int64_t subject,
                                        Instant window_start) {
  int64_t out = 0;
  LOYALTY_RETURN_IF_ERROR(
      db_.query("SELECT failures FROM gift_card_attempts WHERE program_id = ? AND scope = ? AND "
                "subject_id = ? AND window_start = ?",
                {program.value, scope_text(scope), subject, window_start.micros_since_epoch},
                [&](const Row& r) { out = r.get_int(0); }));
  return out;
}

Status GiftCardStore::record_failure(ProgramId program, AttemptScope scope, int64_t subject,
                                     Instant window_start) {
  LOYALTY_RETURN_IF_ERROR(
      db_.query("INSERT INTO gift_card_attempts (program_id, scope, subject_id, window_start, "
                "failures) VALUES (?, ?, ?, ?, 1) ON CONFLICT (program_id, scope, subject_id, "
                "window_start) DO UPDATE SET failures = gift_card_attempts.failures + 1",
                {program.value, scope_text(scope), subject, window_start.micros_since_epoch}));
  return db_.query(
      "DELETE FROM gift_card_attempts WHERE program_id = ? AND scope = ? AND subject_id = ? AND "
      "window_start < ?",
      {program.value, scope_text(scope), subject,
       (window_start - kAttemptRetention).micros_since_epoch});
}

}  // namespace loyalty::store
