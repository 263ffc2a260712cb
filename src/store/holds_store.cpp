// StoreSession: checkout holds and the lots each took (migration 15,
// docs/checkout.md).
#include <algorithm>
#include <climits>

#include "common/assert.h"
#include "store/sql_helpers.h"
#include "store/store.h"

namespace loyalty::store {
namespace {

using detail::instant_value;
using detail::opt_instant;

// The columns read_hold reads, in its order.
constexpr const char* kHoldColumns =
    "id, program_id, member_id, status, points, amount_minor, currency, order_total_minor, "
    "order_external_id, capture_on_paid, captured, refunded, hold_posting_id, settle_posting_id, "
    "created_at, expires_at, settled_at, actor";

Result<Hold> read_hold(const Row& r) {
  Hold h;
  h.id = HoldId{r.get_int(0)};
  h.program_id = ProgramId{r.get_int(1)};
  h.member_id = MemberId{r.get_int(2)};
  auto status = parse_hold_status(r.get_text(3));
  if (!status) {
    return Status(ErrorCode::kInternal, "hold " + format_id(h.id) + " has an unknown status");
  }
  h.status = *status;
  h.points = Points{r.get_int(4)};
  h.amount_minor = r.get_int(5);
  h.currency = std::string(r.get_text(6));
  h.order_total_minor = r.get_int(7);
  h.order_external_id = std::string(r.get_text(8));
  h.capture_on_paid = r.get_int(9) != 0;
  h.captured = Points{r.get_int(10)};
  h.refunded = Points{r.get_int(11)};
  h.hold_posting = PostingId{r.get_int(12)};
  h.settle_posting = PostingId{r.is_null(13) ? 0 : r.get_int(13)};
  h.created_at = Instant{r.get_int(14)};
  h.expires_at = Instant{r.get_int(15)};
  h.settled_at = opt_instant(r, 16);
  h.actor = std::string(r.get_text(17));
  return h;
}

}  // namespace

Result<HoldId> StoreSession::insert_hold(const Hold& h) {
  LOYALTY_ASSERT(!h.lots.empty());
  LOYALTY_ASSIGN_OR_RETURN(
      int64_t id,
      detail::insert_returning_id(
          *connection_,
          "INSERT INTO holds (program_id, member_id, status, points, amount_minor, currency, "
          "order_total_minor, order_external_id, capture_on_paid, captured, refunded, "
          "hold_posting_id, settle_posting_id, created_at, expires_at, settled_at, actor) VALUES "
          "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
          {h.program_id.value, h.member_id.value, to_string(h.status), h.points.value,
           h.amount_minor, h.currency, h.order_total_minor, h.order_external_id,
           static_cast<int64_t>(h.capture_on_paid), h.captured.value, h.refunded.value,
           h.hold_posting.value,
           h.settle_posting.valid() ? SqlValue(h.settle_posting.value) : SqlValue(),
           h.created_at.micros_since_epoch, h.expires_at.micros_since_epoch,
           instant_value(h.settled_at), h.actor}));
  for (size_t i = 0; i < h.lots.size(); ++i) {
    const HoldLotState& l = h.lots[i];
    LOYALTY_RETURN_IF_ERROR(connection_->query(
        "INSERT INTO hold_lots (program_id, hold_id, seq, lot_id, held, captured, refunded) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        {h.program_id.value, id, static_cast<int64_t>(i), l.lot.value, l.held.value,
         l.captured.value, l.refunded.value},
        nullptr));
  }
  return HoldId{id};
}

namespace {

// Reads the lots of each hold (in the order they were taken).
Status read_hold_lots(SqlConnection& db, ProgramId program, std::vector<Hold>& holds) {
  for (Hold& h : holds) {
    h.lots.clear();
    LOYALTY_RETURN_IF_ERROR(
        db.query("SELECT lot_id, held, captured, refunded FROM hold_lots WHERE program_id = ? AND "
                 "hold_id = ? ORDER BY seq",
                 {program.value, h.id.value}, [&](const Row& r) {
                   h.lots.push_back(HoldLotState{LotId{r.get_int(0)}, Points{r.get_int(1)},
                                                 Points{r.get_int(2)}, Points{r.get_int(3)}});
                 }));
  }
  return {};
}

Result<std::vector<Hold>> query_holds(SqlConnection& db, ProgramId program,
                                      const std::string& where,
                                      std::initializer_list<SqlValue> params) {
  std::vector<Hold> out;
  Status bad;
  LOYALTY_RETURN_IF_ERROR(
      db.query(std::string("SELECT ") + kHoldColumns + " FROM holds WHERE " + where, params,
               [&](const Row& r) {
                 auto h = read_hold(r);
                 if (!h.ok()) {
                   bad = h.status();
                 } else {
                   out.push_back(std::move(h).value());
                 }
               }));
  LOYALTY_RETURN_IF_ERROR(bad);
  LOYALTY_RETURN_IF_ERROR(read_hold_lots(db, program, out));
  return out;
}

}  // namespace

Result<std::optional<Hold>> StoreSession::find_hold(ProgramId program, HoldId id) {
  LOYALTY_ASSIGN_OR_RETURN(
      auto found,
      query_holds(*connection_, program, "program_id = ? AND id = ?", {program.value, id.value}));
  if (found.empty()) return std::optional<Hold>();
  return std::optional<Hold>(std::move(found.front()));
}

Status StoreSession::update_hold(const Hold& h) {
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "UPDATE holds SET status = ?, captured = ?, refunded = ?, settle_posting_id = ?, "
      "settled_at = ?, order_external_id = ? WHERE program_id = ? AND id = ?",
      {to_string(h.status), h.captured.value, h.refunded.value,
       h.settle_posting.valid() ? SqlValue(h.settle_posting.value) : SqlValue(),
       instant_value(h.settled_at), h.order_external_id, h.program_id.value, h.id.value},
      nullptr));
  LOYALTY_ASSERT(connection_->changes() == 1);
  for (size_t i = 0; i < h.lots.size(); ++i) {
    const HoldLotState& l = h.lots[i];
    LOYALTY_RETURN_IF_ERROR(connection_->query(
        "UPDATE hold_lots SET captured = ?, refunded = ? WHERE program_id = ? AND hold_id = ? AND "
        "seq = ?",
        {l.captured.value, l.refunded.value, h.program_id.value, h.id.value,
         static_cast<int64_t>(i)},
        nullptr));
    LOYALTY_ASSERT(connection_->changes() == 1);
  }
  return {};
}

Result<std::vector<Hold>> StoreSession::holds_of_order(ProgramId program,
                                                       std::string_view order_external_id) {
  if (order_external_id.empty()) return std::vector<Hold>{};
  return query_holds(*connection_, program, "program_id = ? AND order_external_id = ? ORDER BY id",
                     {program.value, order_external_id});
}

Result<std::vector<Hold>> StoreSession::list_member_holds(ProgramId program, MemberId member,
                                                          HoldId before, int limit) {
  int64_t before_id = before.valid() ? before.value : INT64_MAX;
  return query_holds(*connection_, program,
                     "program_id = ? AND member_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
                     {program.value, member.value, before_id, int64_t{limit}});
}

Result<std::vector<std::pair<ProgramId, HoldId>>> StoreSession::expired_open_holds(Instant now,
                                                                                   int limit) {
  std::vector<std::pair<ProgramId, HoldId>> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT program_id, id FROM holds WHERE status = 'open' AND expires_at <= ? "
      "ORDER BY expires_at, id LIMIT ?",
      {now.micros_since_epoch, int64_t{limit}},
      [&](const Row& r) { out.emplace_back(ProgramId{r.get_int(0)}, HoldId{r.get_int(1)}); }));
  return out;
}

}  // namespace loyalty::store
