// StoreSession: paid memberships and their payments (migration 16,
// docs/tiers.md "Paid membership").
#include <algorithm>

#include "common/assert.h"
#include "store/sql_helpers.h"
#include "store/store.h"

namespace loyalty::store {
namespace {

using detail::instant_value;
using detail::opt_instant;

constexpr const char* kPaymentColumns =
    "id, member_id, plan_id, external_payment_id, period_start, period_end, amount_minor, "
    "currency, recorded_at";

PaidPayment read_payment(const Row& r) {
  PaidPayment p;
  p.id = PaidPaymentId{r.get_int(0)};
  p.member_id = MemberId{r.get_int(1)};
  p.plan_id = std::string(r.get_text(2));
  p.external_payment_id = std::string(r.get_text(3));
  p.period_start = Instant{r.get_int(4)};
  p.period_end = Instant{r.get_int(5)};
  p.amount_minor = r.get_int(6);
  p.currency = std::string(r.get_text(7));
  p.recorded_at = Instant{r.get_int(8)};
  return p;
}

}  // namespace

Result<std::optional<PaidMembership>> StoreSession::find_paid_membership(ProgramId program,
                                                                         MemberId member) {
  std::optional<PaidMembership> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT plan_id, period_start, period_end, cancelled_at, reminded_through, lapsed_at FROM "
      "paid_memberships WHERE program_id = ? AND member_id = ?",
      {program.value, member.value}, [&](const Row& r) {
        PaidMembership m;
        m.plan_id = std::string(r.get_text(0));
        m.period_start = Instant{r.get_int(1)};
        m.period_end = Instant{r.get_int(2)};
        m.cancelled_at = opt_instant(r, 3);
        m.reminded_through = opt_instant(r, 4);
        m.lapsed_at = opt_instant(r, 5);
        out = std::move(m);
      }));
  return out;
}

Status StoreSession::save_paid_membership(ProgramId program, MemberId member,
                                          const PaidMembership& m,
                                          std::optional<Instant> next_action_at, Instant now) {
  LOYALTY_ASSERT(program.valid() && member.valid() && m.period_end > m.period_start);
  return connection_->query(
      "INSERT INTO paid_memberships (program_id, member_id, plan_id, period_start, period_end, "
      "cancelled_at, reminded_through, lapsed_at, next_action_at, updated_at) VALUES (?, ?, ?, ?, "
      "?, ?, ?, ?, ?, ?) ON CONFLICT (program_id, member_id) DO UPDATE SET plan_id = "
      "excluded.plan_id, period_start = excluded.period_start, period_end = excluded.period_end, "
      "cancelled_at = excluded.cancelled_at, reminded_through = excluded.reminded_through, "
      "lapsed_at = excluded.lapsed_at, next_action_at = excluded.next_action_at, updated_at = "
      "excluded.updated_at",
      {program.value, member.value, m.plan_id, m.period_start.micros_since_epoch,
       m.period_end.micros_since_epoch, instant_value(m.cancelled_at),
       instant_value(m.reminded_through), instant_value(m.lapsed_at), instant_value(next_action_at),
       now.micros_since_epoch},
      nullptr);
}

Result<std::vector<MemberId>> StoreSession::due_paid_memberships(ProgramId program, Instant now,
                                                                 int limit) {
  std::vector<MemberId> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT member_id FROM paid_memberships WHERE program_id = ? AND next_action_at IS NOT NULL "
      "AND next_action_at <= ? ORDER BY next_action_at, member_id LIMIT ?",
      {program.value, now.micros_since_epoch, int64_t{std::max(limit, 1)}},
      [&](const Row& r) { out.push_back(MemberId{r.get_int(0)}); }));
  return out;
}

Result<std::optional<PaidPayment>> StoreSession::find_paid_payment(
    ProgramId program, std::string_view external_payment_id) {
  std::optional<PaidPayment> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      std::string("SELECT ") + kPaymentColumns +
          " FROM paid_membership_payments WHERE program_id = ? AND external_payment_id = ?",
      {program.value, external_payment_id}, [&](const Row& r) { out = read_payment(r); }));
  return out;
}

Result<PaidPaymentId> StoreSession::insert_paid_payment(ProgramId program, const PaidPayment& p) {
  LOYALTY_ASSERT(program.valid() && p.member_id.valid() && !p.id.valid());
  LOYALTY_ASSERT(p.period_end > p.period_start && p.amount_minor > 0);
  LOYALTY_ASSIGN_OR_RETURN(
      int64_t id,
      detail::insert_returning_id(
          *connection_,
          "INSERT INTO paid_membership_payments (program_id, member_id, plan_id, "
          "external_payment_id, period_start, period_end, amount_minor, currency, recorded_at) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
          {program.value, p.member_id.value, p.plan_id, p.external_payment_id,
           p.period_start.micros_since_epoch, p.period_end.micros_since_epoch, p.amount_minor,
           p.currency, p.recorded_at.micros_since_epoch}));
  return PaidPaymentId{id};
}

Result<std::vector<PaidPayment>> StoreSession::list_paid_payments(ProgramId program,
                                                                  MemberId member, int limit) {
  std::vector<PaidPayment> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      std::string("SELECT ") + kPaymentColumns +
          " FROM paid_membership_payments WHERE program_id = ? AND member_id = ? ORDER BY id DESC "
          "LIMIT ?",
      {program.value, member.value, int64_t{std::clamp(limit, 1, 1000)}},
      [&](const Row& r) { out.push_back(read_payment(r)); }));
  return out;
}

}  // namespace loyalty::store
