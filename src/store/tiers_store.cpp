// StoreSession: member tiers, tier metric buckets and tier history (migration 6,
// docs/tiers.md).
#include <algorithm>
#include <climits>

#include "common/assert.h"
#include "store/sql_helpers.h"
#include "store/store.h"

namespace loyalty::store {
namespace {

using detail::instant_value;
using detail::opt_instant;

std::optional<TierChange> parse_change(std::string_view text) {
  for (TierChange c : {TierChange::kUpgraded, TierChange::kDowngraded, TierChange::kRenewed,
                       TierChange::kAssigned}) {
    if (text == to_string(c)) return c;
  }
  return std::nullopt;
}

constexpr const char* kHistoryColumns =
    "id, program_id, member_id, kind, from_tier, to_tier, metric_value, guaranteed_until, reason, "
    "actor, occurred_at";

// The columns read_state reads, in its order.
constexpr const char* kStateColumns =
    "tier_id, since, guaranteed_until, source, manual_expires_at, manual_reason, actor, "
    "evaluated_through";

// A member_tiers row from column `c` on (kStateColumns); an unknown source is
// noted in `bad_source`.
MemberTierState read_state(const Row& r, int c, std::optional<std::string>& bad_source) {
  MemberTierState s;
  s.tier_id = std::string(r.get_text(c));
  s.since = Instant{r.get_int(c + 1)};
  s.guaranteed_until = opt_instant(r, c + 2);
  auto source = parse_tier_source(r.get_text(c + 3));
  if (!source) bad_source = std::string(r.get_text(c + 3));
  s.source = source.value_or(TierSource::kEarned);
  s.manual_expires_at = opt_instant(r, c + 4);
  s.manual_reason = std::string(r.get_text(c + 5));
  s.actor = std::string(r.get_text(c + 6));
  s.evaluated_through = opt_instant(r, c + 7);
  return s;
}

Status bad_source_status(const std::optional<std::string>& bad_source) {
  if (!bad_source) return {};
  return Status(ErrorCode::kInternal, "member_tiers.source holds '" + *bad_source + "'");
}

}  // namespace

Result<std::optional<MemberTierState>> StoreSession::find_member_tier(ProgramId program,
                                                                      MemberId member) {
  std::optional<MemberTierState> out;
  std::optional<std::string> bad_source;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      std::string("SELECT ") + kStateColumns +
          " FROM member_tiers WHERE program_id = ? AND member_id = ?",
      {program.value, member.value}, [&](const Row& r) { out = read_state(r, 0, bad_source); }));
  LOYALTY_RETURN_IF_ERROR(bad_source_status(bad_source));
  return out;
}

Result<std::vector<MemberId>> StoreSession::member_ids_after(ProgramId program, MemberId after,
                                                             int limit) {
  std::vector<MemberId> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT id FROM members WHERE program_id = ? AND id > ? ORDER BY id LIMIT ?",
      {program.value, after.value, int64_t{limit}},
      [&](const Row& r) { out.push_back(MemberId{r.get_int(0)}); }));
  return out;
}

Result<std::vector<std::pair<MemberId, MemberTierState>>> StoreSession::member_tiers_between(
    ProgramId program, MemberId first, MemberId last) {
  std::vector<std::pair<MemberId, MemberTierState>> out;
  std::optional<std::string> bad_source;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      std::string("SELECT member_id, ") + kStateColumns +
          " FROM member_tiers WHERE program_id = ? AND member_id BETWEEN ? AND ? ORDER BY "
          "member_id",
      {program.value, first.value, last.value}, [&](const Row& r) {
        out.emplace_back(MemberId{r.get_int(0)}, read_state(r, 1, bad_source));
      }));
  LOYALTY_RETURN_IF_ERROR(bad_source_status(bad_source));
  return out;
}

Result<std::vector<std::pair<MemberId, MetricBucket>>> StoreSession::tier_metric_buckets_between(
    ProgramId program, MemberId first, MemberId last, MonthIndex from, MonthIndex to) {
  std::vector<std::pair<MemberId, MetricBucket>> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT member_id, month, spend_minor, points, orders FROM tier_metric_buckets WHERE "
      "program_id = ? AND member_id BETWEEN ? AND ? AND month BETWEEN ? AND ? ORDER BY member_id, "
      "month",
      {program.value, first.value, last.value, int64_t{from.value}, int64_t{to.value}},
      [&](const Row& r) {
        out.emplace_back(MemberId{r.get_int(0)},
                         MetricBucket{MonthIndex{static_cast<int32_t>(r.get_int(1))},
                                      TierMetrics{r.get_int(2), r.get_int(3), r.get_int(4)}});
      }));
  return out;
}

Result<std::vector<MemberId>> StoreSession::lapsed_manual_tiers(ProgramId program, Instant now,
                                                                int limit) {
  std::vector<MemberId> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT member_id FROM member_tiers WHERE program_id = ? AND source = 'manual' AND "
      "manual_expires_at <= ? ORDER BY member_id LIMIT ?",
      {program.value, now.micros_since_epoch, int64_t{limit}},
      [&](const Row& r) { out.push_back(MemberId{r.get_int(0)}); }));
  return out;
}

Status StoreSession::save_member_tier(ProgramId program, MemberId member, const MemberTierState& s,
                                      Instant at) {
  LOYALTY_ASSERT(program.valid() && member.valid());
  return connection_->query(
      "INSERT INTO member_tiers (program_id, member_id, tier_id, since, guaranteed_until, source, "
      "manual_expires_at, manual_reason, actor, evaluated_through, updated_at) VALUES (?, ?, ?, ?, "
      "?, ?, ?, ?, ?, ?, ?) ON CONFLICT (program_id, member_id) DO UPDATE SET tier_id = "
      "excluded.tier_id, since = excluded.since, guaranteed_until = excluded.guaranteed_until, "
      "source = excluded.source, manual_expires_at = excluded.manual_expires_at, manual_reason = "
      "excluded.manual_reason, actor = excluded.actor, evaluated_through = "
      "excluded.evaluated_through, updated_at = excluded.updated_at",
      {program.value, member.value, s.tier_id, s.since.micros_since_epoch,
       instant_value(s.guaranteed_until), std::string_view(to_string(s.source)),
       instant_value(s.manual_expires_at), s.manual_reason, s.actor,
       instant_value(s.evaluated_through), at.micros_since_epoch},
      nullptr);
}

Result<std::vector<MetricBucket>> StoreSession::tier_metric_buckets(ProgramId program,
                                                                    MemberId member,
                                                                    MonthIndex from) {
  std::vector<MetricBucket> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT month, spend_minor, points, orders FROM tier_metric_buckets WHERE program_id = ? "
      "AND member_id = ? AND month >= ? ORDER BY month",
      {program.value, member.value, int64_t{from.value}}, [&](const Row& r) {
        MetricBucket b;
        b.month = MonthIndex{static_cast<int32_t>(r.get_int(0))};
        b.metrics = TierMetrics{r.get_int(1), r.get_int(2), r.get_int(3)};
        out.push_back(b);
      }));
  return out;
}

Status StoreSession::add_tier_metrics(ProgramId program, MemberId member, MonthIndex month,
                                      const TierMetrics& d) {
  LOYALTY_ASSERT(program.valid() && member.valid());
  if (d == TierMetrics{}) return {};
  return connection_->query(
      "INSERT INTO tier_metric_buckets (program_id, member_id, month, spend_minor, points, "
      "orders) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (program_id, member_id, month) DO UPDATE SET "
      "spend_minor = tier_metric_buckets.spend_minor + excluded.spend_minor, points = "
      "tier_metric_buckets.points + excluded.points, orders = tier_metric_buckets.orders + "
      "excluded.orders",
      {program.value, member.value, int64_t{month.value}, d.spend_minor, d.points, d.orders},
      nullptr);
}

Result<TierHistoryId> StoreSession::insert_tier_history(const TierHistoryEntry& e) {
  LOYALTY_ASSERT(e.program_id.valid() && e.member_id.valid() && !e.id.valid());
  LOYALTY_ASSERT(e.change != TierChange::kNone);
  const std::string sql =
      "INSERT INTO tier_history (program_id, member_id, kind, from_tier, to_tier, metric_value, "
      "guaranteed_until, reason, actor, occurred_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  LOYALTY_ASSIGN_OR_RETURN(
      int64_t id, detail::insert_returning_id(
                      *connection_, sql,
                      {e.program_id.value, e.member_id.value, std::string_view(to_string(e.change)),
                       e.from_tier, e.to_tier, e.metric_value, instant_value(e.guaranteed_until),
                       e.reason, e.actor, e.occurred_at.micros_since_epoch}));
  return TierHistoryId{id};
}

Result<std::vector<TierHistoryEntry>> StoreSession::list_tier_history(ProgramId program,
                                                                      MemberId member,
                                                                      TierHistoryId before,
                                                                      int limit) {
  std::vector<TierHistoryEntry> out;
  std::optional<std::string> bad_kind;
  const int64_t before_id = before.valid() ? before.value : INT64_MAX;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      std::string("SELECT ") + kHistoryColumns +
          " FROM tier_history WHERE program_id = ? AND member_id = ? AND id < ? ORDER BY id DESC "
          "LIMIT ?",
      {program.value, member.value, before_id, int64_t{std::clamp(limit, 1, 1000)}},
      [&](const Row& r) {
        TierHistoryEntry e;
        e.id = TierHistoryId{r.get_int(0)};
        e.program_id = ProgramId{r.get_int(1)};
        e.member_id = MemberId{r.get_int(2)};
        auto change = parse_change(r.get_text(3));
        if (!change) bad_kind = std::string(r.get_text(3));
        e.change = change.value_or(TierChange::kUpgraded);
        e.from_tier = std::string(r.get_text(4));
        e.to_tier = std::string(r.get_text(5));
        e.metric_value = r.get_int(6);
        e.guaranteed_until = opt_instant(r, 7);
        e.reason = std::string(r.get_text(8));
        e.actor = std::string(r.get_text(9));
        e.occurred_at = Instant{r.get_int(10)};
        out.push_back(std::move(e));
      }));
  if (bad_kind) return Status(ErrorCode::kInternal, "tier_history.kind holds '" + *bad_kind + "'");
  return out;
}

}  // namespace loyalty::store
