// StoreSession: VIP members and their account managers (migration 13,
// docs/tiers.md "VIP").
#include <algorithm>

#include "common/assert.h"
#include "store/sql_helpers.h"
#include "store/store.h"

namespace loyalty::store {

Status StoreSession::save_vip_member(ProgramId program, const VipMember& v) {
  LOYALTY_ASSERT(program.valid() && v.member_id.valid() && !v.tier_id.empty());
  LOYALTY_ASSERT(!v.manager.key().empty());
  return connection_->query(
      "INSERT INTO vip_members (program_id, member_id, tier_id, manager_key, manager_name, "
      "manager_email, manager_admin_id, reason, actor, assigned_at) VALUES (?, ?, ?, ?, ?, ?, ?, "
      "?, ?, ?) ON CONFLICT (program_id, member_id) DO UPDATE SET tier_id = excluded.tier_id, "
      "manager_key = excluded.manager_key, manager_name = excluded.manager_name, manager_email = "
      "excluded.manager_email, manager_admin_id = excluded.manager_admin_id, reason = "
      "excluded.reason, actor = excluded.actor, assigned_at = excluded.assigned_at",
      {program.value, v.member_id.value, v.tier_id, v.manager.key(), v.manager.name,
       v.manager.email, v.manager.admin_id, v.reason, v.actor, v.assigned_at.micros_since_epoch},
      nullptr);
}

Status StoreSession::delete_vip_member(ProgramId program, MemberId member) {
  return connection_->query("DELETE FROM vip_members WHERE program_id = ? AND member_id = ?",
                            {program.value, member.value}, nullptr);
}

Result<std::vector<VipMember>> StoreSession::list_vip_members(ProgramId program,
                                                              std::string_view manager_key,
                                                              MemberId after, Instant now,
                                                              int limit) {
  std::vector<VipMember> out;
  // A lapsed assignment is no longer a VIP although the tier job has not
  // stored the lapse yet (it deletes the row when it does).
  std::string sql =
      "SELECT v.member_id, v.tier_id, v.manager_name, v.manager_email, v.manager_admin_id, "
      "v.reason, v.actor, v.assigned_at, t.manual_expires_at FROM vip_members v JOIN "
      "member_tiers t ON t.program_id = v.program_id AND t.member_id = v.member_id AND t.tier_id "
      "= v.tier_id WHERE v.program_id = ? AND v.member_id > ? AND (t.manual_expires_at IS NULL "
      "OR t.manual_expires_at > ?)";
  std::vector<SqlValue> params{program.value, after.value, now.micros_since_epoch};
  if (!manager_key.empty()) {
    sql += " AND v.manager_key = ?";
    params.emplace_back(manager_key);
  }
  sql += " ORDER BY v.member_id LIMIT ?";
  params.emplace_back(int64_t{std::clamp(limit, 1, 1001)});
  LOYALTY_RETURN_IF_ERROR(connection_->query(sql, params, [&](const Row& r) {
    VipMember v;
    v.member_id = MemberId{r.get_int(0)};
    v.tier_id = std::string(r.get_text(1));
    v.manager.name = std::string(r.get_text(2));
    v.manager.email = std::string(r.get_text(3));
    v.manager.admin_id = std::string(r.get_text(4));
    v.reason = std::string(r.get_text(5));
    v.actor = std::string(r.get_text(6));
    v.assigned_at = Instant{r.get_int(7)};
    v.expires_at = detail::opt_instant(r, 8);
    out.push_back(std::move(v));
  }));
  return out;
}

}  // namespace loyalty::store
