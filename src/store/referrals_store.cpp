// StoreSession: referral codes, invitations, referrals, the shop's signals per
// member and the referral usage counters (migration 17, docs/referrals.md).
#include "common/assert.h"
#include "store/sql_helpers.h"
#include "store/store.h"

namespace loyalty::store {
namespace {

constexpr const char* kReferralColumns =
    "id, program_id, referrer_id, referee_id, code, status, findings, decision_reason, "
    "order_external_id, order_value_minor, referrer_points, referee_points, referrer_skip, "
    "referee_skip, welcome_paid, created_at, updated_at, actor, due_at, referrer_posting_id, "
    "referee_posting_id, clawed_back, version";

Result<Referral> read_referral(const Row& r) {
  Referral x;
  x.id = ReferralId{r.get_int(0)};
  x.program = ProgramId{r.get_int(1)};
  x.referrer = MemberId{r.get_int(2)};
  x.referee = MemberId{r.get_int(3)};
  x.code = std::string(r.get_text(4));
  auto status = parse_referral_status(r.get_text(5));
  auto findings = findings_from_json(r.get_text(6));
  auto referrer_skip = parse_reward_skip(r.get_text(12));
  auto referee_skip = parse_reward_skip(r.get_text(13));
  if (!status || !findings || !referrer_skip || !referee_skip) {
    return Status(ErrorCode::kInternal, "referral " + format_id(x.id) + " has an unknown value");
  }
  x.status = *status;
  x.findings = std::move(*findings);
  x.decision_reason = std::string(r.get_text(7));
  x.order_external_id = r.is_null(8) ? std::string() : std::string(r.get_text(8));
  x.order_value_minor = r.get_int(9);
  x.referrer_points = r.get_int(10);
  x.referee_points = r.get_int(11);
  x.referrer_skip = *referrer_skip;
  x.referee_skip = *referee_skip;
  x.welcome_paid = r.get_int(14) != 0;
  x.created_at = Instant{r.get_int(15)};
  x.updated_at = Instant{r.get_int(16)};
  x.actor = std::string(r.get_text(17));
  if (!r.is_null(18)) x.due_at = Instant{r.get_int(18)};
  x.referrer_posting = PostingId{r.get_int(19)};
  x.referee_posting = PostingId{r.get_int(20)};
  x.clawed_back = r.get_int(21) != 0;
  x.version = r.get_int(22);
  return x;
}

Result<std::vector<Referral>> query_referrals(SqlConnection& db, const std::string& where,
                                              std::initializer_list<SqlValue> params) {
  std::vector<Referral> out;
  Status bad;
  LOYALTY_RETURN_IF_ERROR(
      db.query(std::string("SELECT ") + kReferralColumns + " FROM referrals WHERE " + where, params,
               [&](const Row& r) {
                 auto x = read_referral(r);
                 if (!x.ok()) {
                   bad = x.status();
                 } else {
                   out.push_back(std::move(x).value());
                 }
               }));
  LOYALTY_RETURN_IF_ERROR(bad);
  return out;
}

Result<std::optional<ReferralCode>> query_code(SqlConnection& db, const char* where,
                                               std::initializer_list<SqlValue> params) {
  std::optional<ReferralCode> out;
  LOYALTY_RETURN_IF_ERROR(db.query(
      std::string("SELECT member_id, code, active, created_at FROM referral_codes WHERE ") + where,
      params, [&](const Row& r) {
        out = ReferralCode{MemberId{r.get_int(0)}, std::string(r.get_text(1)), r.get_int(2) != 0,
                           Instant{r.get_int(3)}};
      }));
  return out;
}

SqlValue opt_text(const std::string& s) { return s.empty() ? SqlValue() : SqlValue(s); }
SqlValue opt_instant(const std::optional<Instant>& at) {
  return at ? SqlValue(at->micros_since_epoch) : SqlValue();
}

}  // namespace

Status StoreSession::insert_referral_code(ProgramId program, const ReferralCode& code) {
  LOYALTY_ASSERT(!code.code.empty());
  // DO NOTHING rather than a unique violation, which would abort the whole
  // transaction on PostgreSQL: the caller draws another code.
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "INSERT INTO referral_codes (program_id, member_id, code, active, created_at) VALUES (?, ?, "
      "?, ?, ?) ON CONFLICT DO NOTHING",
      {program.value, code.member.value, code.code, static_cast<int64_t>(code.active),
       code.created_at.micros_since_epoch},
      nullptr));
  if (connection_->changes() != 1) {
    return Status(ErrorCode::kConflict, "the member has a code, or the code is taken");
  }
  return {};
}

Result<std::optional<ReferralCode>> StoreSession::find_referral_code(ProgramId program,
                                                                     std::string_view code) {
  return query_code(*connection_, "program_id = ? AND code = ?", {program.value, code});
}

Result<std::optional<ReferralCode>> StoreSession::member_referral_code(ProgramId program,
                                                                       MemberId member) {
  return query_code(*connection_, "program_id = ? AND member_id = ?",
                    {program.value, member.value});
}

Result<bool> StoreSession::insert_referral_invitation(ProgramId program,
                                                      const ReferralInvitation& inv) {
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "INSERT INTO referral_invitations (program_id, member_id, email, created_at) VALUES (?, ?, "
      "?, ?) ON CONFLICT DO NOTHING",
      {program.value, inv.member.value, inv.email, inv.created_at.micros_since_epoch}, nullptr));
  return connection_->changes() == 1;
}

Result<std::vector<ReferralInvitation>> StoreSession::list_referral_invitations(ProgramId program,
                                                                                MemberId member,
                                                                                int limit) {
  std::vector<ReferralInvitation> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT id, member_id, email, created_at FROM referral_invitations WHERE program_id = ? AND "
      "member_id = ? ORDER BY id DESC LIMIT ?",
      {program.value, member.value, int64_t{limit}}, [&](const Row& r) {
        out.push_back(ReferralInvitation{r.get_int(0), MemberId{r.get_int(1)},
                                         std::string(r.get_text(2)), Instant{r.get_int(3)}});
      }));
  return out;
}

Result<ReferralId> StoreSession::insert_referral(const Referral& x) {
  LOYALTY_ASSERT(x.referrer != x.referee);
  const std::string findings = findings_to_json(x.findings);
  LOYALTY_ASSIGN_OR_RETURN(
      int64_t id,
      detail::insert_returning_id(
          *connection_,
          "INSERT INTO referrals (program_id, referrer_id, referee_id, code, status, findings, "
          "decision_reason, order_external_id, order_value_minor, referrer_points, "
          "referee_points, referrer_skip, referee_skip, welcome_paid, created_at, updated_at, "
          "actor, due_at, referrer_posting_id, referee_posting_id, clawed_back, version) VALUES "
          "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
          {x.program.value,
           x.referrer.value,
           x.referee.value,
           x.code,
           to_string(x.status),
           findings,
           x.decision_reason,
           opt_text(x.order_external_id),
           x.order_value_minor,
           x.referrer_points,
           x.referee_points,
           to_string(x.referrer_skip),
           to_string(x.referee_skip),
           static_cast<int64_t>(x.welcome_paid),
           x.created_at.micros_since_epoch,
           x.updated_at.micros_since_epoch,
           x.actor,
           opt_instant(x.due_at),
           x.referrer_posting.value,
           x.referee_posting.value,
           static_cast<int64_t>(x.clawed_back)}));
  return ReferralId{id};
}

Status StoreSession::update_referral(const Referral& x) {
  LOYALTY_ASSERT(x.id.valid());
  const std::string findings = findings_to_json(x.findings);
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "UPDATE referrals SET status = ?, findings = ?, decision_reason = ?, order_external_id = ?, "
      "order_value_minor = ?, referrer_points = ?, referee_points = ?, referrer_skip = ?, "
      "referee_skip = ?, welcome_paid = ?, updated_at = ?, actor = ?, due_at = ?, "
      "referrer_posting_id = ?, referee_posting_id = ?, clawed_back = ?, version = version + 1 "
      "WHERE program_id = ? AND id = ? AND version = ?",
      {to_string(x.status), findings, x.decision_reason, opt_text(x.order_external_id),
       x.order_value_minor, x.referrer_points, x.referee_points, to_string(x.referrer_skip),
       to_string(x.referee_skip), static_cast<int64_t>(x.welcome_paid),
       x.updated_at.micros_since_epoch, x.actor, opt_instant(x.due_at), x.referrer_posting.value,
       x.referee_posting.value, static_cast<int64_t>(x.clawed_back), x.program.value, x.id.value,
       x.version},
      nullptr));
  if (connection_->changes() != 1) {
    return Status(ErrorCode::kConflict,
                  "referral " + format_id(x.id) + " changed meanwhile (or does not exist)");
  }
  return {};
}

Result<std::optional<Referral>> StoreSession::find_referral(ProgramId program, ReferralId id) {
  LOYALTY_ASSIGN_OR_RETURN(auto found, query_referrals(*connection_, "program_id = ? AND id = ?",
                                                       {program.value, id.value}));
  if (found.empty()) return std::optional<Referral>();
  return std::optional<Referral>(std::move(found.front()));
}

Result<std::optional<Referral>> StoreSession::find_referral_of_referee(ProgramId program,
                                                                       MemberId referee) {
  LOYALTY_ASSIGN_OR_RETURN(auto found,
                           query_referrals(*connection_, "program_id = ? AND referee_id = ?",
                                           {program.value, referee.value}));
  if (found.empty()) return std::optional<Referral>();
  return std::optional<Referral>(std::move(found.front()));
}

Result<std::vector<Referral>> StoreSession::list_referrals_of_referrer(ProgramId program,
                                                                       MemberId referrer,
                                                                       int limit) {
  return query_referrals(*connection_,
                         "program_id = ? AND referrer_id = ? ORDER BY id DESC LIMIT ?",
                         {program.value, referrer.value, int64_t{limit}});
}

Result<std::vector<Referral>> StoreSession::list_referrals(ProgramId program,
                                                           std::optional<ReferralStatus> status,
                                                           ReferralId after, int limit) {
  if (status) {
    return query_referrals(*connection_,
                           "program_id = ? AND status = ? AND id > ? ORDER BY id LIMIT ?",
                           {program.value, to_string(*status), after.value, int64_t{limit}});
  }
  return query_referrals(*connection_, "program_id = ? AND id > ? ORDER BY id LIMIT ?",
                         {program.value, after.value, int64_t{limit}});
}

Result<std::vector<Referral>> StoreSession::due_referrals(ProgramId program, Instant now,
                                                          int limit) {
  return query_referrals(*connection_,
                         "program_id = ? AND status = 'pending' AND due_at <= ? ORDER BY due_at, "
                         "id LIMIT ?",
                         {program.value, now.micros_since_epoch, int64_t{limit}});
}

Result<std::optional<ReferralInvitation>> StoreSession::first_referral_invitation_of(
    ProgramId program, std::string_view email) {
  std::optional<ReferralInvitation> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT id, member_id, email, created_at FROM referral_invitations WHERE program_id = ? AND "
      "email = ? ORDER BY id LIMIT 1",
      {program.value, email}, [&](const Row& r) {
        out = ReferralInvitation{r.get_int(0), MemberId{r.get_int(1)}, std::string(r.get_text(2)),
                                 Instant{r.get_int(3)}};
      }));
  return out;
}

Result<int64_t> StoreSession::count_code_referrals_since(ProgramId program, std::string_view code,
                                                         Instant since) {
  int64_t n = 0;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT COUNT(*) FROM referrals WHERE program_id = ? AND code = ? AND created_at >= ?",
      {program.value, code, since.micros_since_epoch}, [&](const Row& r) { n = r.get_int(0); }));
  return n;
}

Status StoreSession::save_referral_signals(ProgramId program, MemberId member,
                                           const ReferralMemberSignals& s, Instant now) {
  // A hash the shop did not send this time keeps the one it sent before.
  return connection_->query(
      "INSERT INTO referral_signals (program_id, member_id, shipping_hash, payment_hash, "
      "device_hash, ip_hash, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (program_id, "
      "member_id) DO UPDATE SET "
      "shipping_hash = CASE WHEN excluded.shipping_hash = '' THEN referral_signals.shipping_hash "
      "ELSE excluded.shipping_hash END, "
      "payment_hash = CASE WHEN excluded.payment_hash = '' THEN referral_signals.payment_hash "
      "ELSE excluded.payment_hash END, "
      "device_hash = CASE WHEN excluded.device_hash = '' THEN referral_signals.device_hash "
      "ELSE excluded.device_hash END, "
      "ip_hash = CASE WHEN excluded.ip_hash = '' THEN referral_signals.ip_hash "
      "ELSE excluded.ip_hash END, updated_at = excluded.updated_at",
      {program.value, member.value, s.shipping_hash, s.payment_hash, s.device_hash, s.ip_hash,
       now.micros_since_epoch},
      nullptr);
}

Result<std::optional<ReferralMemberSignals>> StoreSession::find_referral_signals(ProgramId program,
                                                                                 MemberId member) {
  std::optional<ReferralMemberSignals> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT shipping_hash, payment_hash, device_hash, ip_hash FROM referral_signals WHERE "
      "program_id = ? AND member_id = ?",
      {program.value, member.value}, [&](const Row& r) {
        out = ReferralMemberSignals{std::string(r.get_text(0)), std::string(r.get_text(1)),
                                    std::string(r.get_text(2)), std::string(r.get_text(3))};
      }));
  return out;
}

Result<StoreSession::ReferralUsageRow> StoreSession::referral_usage(ProgramId program,
                                                                    int64_t scope_id,
                                                                    std::string_view period) {
  ReferralUsageRow out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT rewards, points FROM referral_usage WHERE program_id = ? AND scope_id = ? AND "
      "period = ?",
      {program.value, scope_id, period}, [&](const Row& r) {
        out.rewards = r.get_int(0);
        out.points = r.get_int(1);
      }));
  return out;
}

Result<bool> StoreSession::add_referral_usage(ProgramId program, int64_t scope_id,
                                              std::string_view period, int64_t rewards,
                                              int64_t points, int64_t cap_points) {
  LOYALTY_ASSERT(rewards >= 0 && points >= 0 && cap_points >= 0);
  if (cap_points > 0 && points > cap_points) return false;
  // The row first (0, 0), then one conditional UPDATE: the check and the write
  // are one statement, under the row's lock on PostgreSQL.
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "INSERT INTO referral_usage (program_id, scope_id, period, rewards, points) VALUES (?, ?, "
      "?, 0, 0) ON CONFLICT (program_id, scope_id, period) DO NOTHING",
      {program.value, scope_id, period}, nullptr));
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "UPDATE referral_usage SET rewards = rewards + ?, points = points + ? WHERE program_id = ? "
      "AND scope_id = ? AND period = ? AND (? = 0 OR points + ? <= ?)",
      {rewards, points, program.value, scope_id, period, cap_points, points, cap_points}, nullptr));
  return connection_->changes() == 1;
}

Result<ReferralStats> StoreSession::referral_stats(ProgramId program) {
  ReferralStats s;
  LOYALTY_RETURN_IF_ERROR(
      connection_->query("SELECT COUNT(*) FROM referral_invitations WHERE program_id = ?",
                         {program.value}, [&](const Row& r) { s.invitations = r.get_int(0); }));
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT status, COUNT(*), COALESCE(SUM(order_value_minor), 0), "
      "COALESCE(SUM(referrer_points + referee_points), 0) FROM referrals WHERE program_id = ? "
      "GROUP BY status",
      {program.value}, [&](const Row& r) {
        const int64_t n = r.get_int(1);
        s.referrals += n;
        s.reward_points += r.get_int(3);  // a held or cancelled referral may have paid a welcome
        auto status = parse_referral_status(r.get_text(0));
        if (!status) return;
        switch (*status) {
          case ReferralStatus::kCompleted:
            s.conversions = n;
            s.referee_revenue_minor = r.get_int(2);
            break;
          case ReferralStatus::kHeld:
            s.held = n;
            break;
          case ReferralStatus::kRejected:
            s.rejected = n;
            break;
          case ReferralStatus::kCancelled:
            s.cancelled = n;
            break;
          case ReferralStatus::kPending:
            break;
        }
      }));
  return s;
}

}  // namespace loyalty::store
