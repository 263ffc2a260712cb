// StoreSession: earn-rule cap counters (rule_usage) and custom events
// (member_events), migration 4.
#include <algorithm>
#include <cstdint>

#include "common/assert.h"
#include "store/sql_helpers.h"
#include "store/store.h"

namespace loyalty::store {
namespace {

constexpr const char* kEventColumns =
    "id, program_id, member_id, external_id, type, attributes, occurred_at, created_at, points, "
    "posting_id, awards";

MemberEvent read_event(const Row& r) {
  MemberEvent e;
  e.id = MemberEventId{r.get_int(0)};
  e.program_id = ProgramId{r.get_int(1)};
  e.member_id = MemberId{r.get_int(2)};
  e.external_id = std::string(r.get_text(3));
  e.type = std::string(r.get_text(4));
  e.attributes_json = std::string(r.get_text(5));
  e.occurred_at = Instant{r.get_int(6)};
  e.created_at = Instant{r.get_int(7)};
  e.points = r.get_int(8);
  if (!r.is_null(9)) e.posting_id = PostingId{r.get_int(9)};
  e.awards_json = std::string(r.get_text(10));
  return e;
}

}  // namespace

Result<std::vector<RuleUsage>> StoreSession::read_rule_usage(ProgramId program,
                                                             const std::vector<RuleUsage>& keys,
                                                             bool lock_global) {
  const bool pg = dialect() == Dialect::kPostgres;
  std::vector<RuleUsage> out;
  out.reserve(keys.size());
  for (const RuleUsage& k : keys) {
    const bool global = !k.member.valid();
    LOYALTY_ASSERT(!global || k.distinct_key.empty());
    const bool lock = pg && lock_global && global;
    if (lock) {
      // The row must exist to be locked: a missing row cannot be locked, and two
      // nodes would both read "no usage".
      LOYALTY_RETURN_IF_ERROR(connection_->query(
          "INSERT INTO rule_usage (program_id, member_id, rule_id, period_key, distinct_key, "
          "awards, points) VALUES (?, 0, ?, ?, '', 0, 0) ON CONFLICT DO NOTHING",
          {program.value, k.rule_id, k.period_key}, nullptr));
    }
    std::string sql =
        "SELECT awards, points FROM rule_usage WHERE program_id = ? AND member_id = ? AND "
        "rule_id = ? AND period_key = ? AND distinct_key = ?";
    if (lock) sql += " FOR UPDATE";
    LOYALTY_RETURN_IF_ERROR(connection_->query(
        sql, {program.value, k.member.value, k.rule_id, k.period_key, k.distinct_key},
        [&](const Row& r) {
          RuleUsage u = k;
          u.awards = r.get_int(0);
          u.points = r.get_int(1);
          out.push_back(std::move(u));
        }));
  }
  return out;
}

Status StoreSession::add_rule_usage(ProgramId program, const RuleUsage& delta) {
  LOYALTY_ASSERT(delta.awards >= 0 && delta.points >= 0);
  LOYALTY_ASSERT(delta.member.valid() || delta.distinct_key.empty());
  return connection_->query(
      "INSERT INTO rule_usage (program_id, member_id, rule_id, period_key, distinct_key, awards, "
      "points) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (program_id, member_id, rule_id, "
      "period_key, distinct_key) DO UPDATE SET awards = rule_usage.awards + excluded.awards, "
      "points = rule_usage.points + excluded.points",
      {program.value, delta.member.value, delta.rule_id, delta.period_key, delta.distinct_key,
       delta.awards, delta.points},
      nullptr);
}

Result<MemberEventId> StoreSession::insert_member_event(const MemberEvent& e) {
  LOYALTY_ASSERT(e.program_id.valid() && e.member_id.valid() && !e.id.valid());
  const std::string sql =
      "INSERT INTO member_events (program_id, member_id, external_id, type, attributes, "
      "occurred_at, created_at, points, posting_id, awards) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  const std::initializer_list<SqlValue> params = {
      e.program_id.value,
      e.member_id.value,
      e.external_id,
      e.type,
      e.attributes_json,
      e.occurred_at.micros_since_epoch,
      e.created_at.micros_since_epoch,
      e.points,
      e.posting_id.valid() ? SqlValue(e.posting_id.value) : SqlValue(),
      e.awards_json};
  LOYALTY_ASSIGN_OR_RETURN(int64_t id, detail::insert_returning_id(*connection_, sql, params));
  return MemberEventId{id};
}

Result<std::optional<MemberEvent>> StoreSession::find_member_event(ProgramId program,
                                                                   std::string_view external_id) {
  std::optional<MemberEvent> out;
  LOYALTY_RETURN_IF_ERROR(
      connection_->query(std::string("SELECT ") + kEventColumns +
                             " FROM member_events WHERE program_id = ? AND external_id = ?",
                         {program.value, external_id}, [&](const Row& r) { out = read_event(r); }));
  return out;
}

Result<std::vector<MemberEvent>> StoreSession::list_member_events(ProgramId program,
                                                                  MemberId member,
                                                                  MemberEventId before, int limit) {
  std::vector<MemberEvent> out;
  const int64_t before_id = before.valid() ? before.value : INT64_MAX;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      std::string("SELECT ") + kEventColumns +
          " FROM member_events WHERE program_id = ? AND member_id = ? AND id < ? ORDER BY id "
          "DESC LIMIT ?",
      {program.value, member.value, before_id, int64_t{std::clamp(limit, 1, 1000)}},
      [&](const Row& r) { out.push_back(read_event(r)); }));
  return out;
}

}  // namespace loyalty::store
