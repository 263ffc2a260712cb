#include "engine/import_commands.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "engine/job_commands.h"
#include "engine/order_commands.h"

namespace loyalty::engine {
namespace {

using store::StoreSession;

// Whose order the record is: a known member, a member enrolled now
// (create_members), or nobody (a guest order of the customer).
Result<MemberId> resolve_member(StoreSession& s, ProgramCache& programs,
                                const ImportOrders& command, const ImportRecord& record,
                                std::map<std::string, MemberId, std::less<>>& created,
                                ImportResult& result) {
  if (record.member.valid()) return record.member;
  if (!command.create_members || record.customer_external_id.empty()) return MemberId{};
  if (auto it = created.find(record.customer_external_id); it != created.end()) {
    return it->second;
  }
  // Enrolled meanwhile (through the API) after the caller loaded its members?
  LOYALTY_ASSIGN_OR_RETURN(
      auto existing, s.find_member_by_external_id(command.program_id, record.customer_external_id));
  if (existing) return existing->id;
  Member m;
  m.program_id = command.program_id;
  m.external_id = record.customer_external_id;
  m.email = record.customer_email;
  // Enrolled when the customer's first order was placed.
  LOYALTY_ASSIGN_OR_RETURN(Member enrolled,
                           enroll_member(s, programs, m, record.create.order.placed_at));
  created.emplace(enrolled.external_id, enrolled.id);
  result.members_created.emplace_back(enrolled.external_id, enrolled.id);
  return enrolled.id;
}

// A step of a record: its creation (0), a later status (1..changes), its refund.
struct Step {
  Instant at;
  size_t record = 0;
  size_t step = 0;
};

}  // namespace

Result<ImportResult> import_orders(StoreSession& s, ProgramCache& programs,
                                   const ImportOrders& command, Instant now) {
  ImportResult result;
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, command.program_id));
  (void)program;
  // Like every writer of a member: lock the known members (PostgreSQL), in id
  // order; members enrolled here are new rows, locked by their insert.
  std::vector<MemberId> members;
  for (const ImportRecord& r : command.records) {
    if (r.member.valid()) members.push_back(r.member);
  }
  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
  LOYALTY_RETURN_IF_ERROR(s.lock_members(command.program_id, members));

  // Every step of every record in time order (ties: file order), so that a
  // member's vesting and expiry see the batch's orders as they happened.
  std::vector<Step> steps;
  for (size_t k = 0; k < command.records.size(); ++k) {
    const ImportRecord& r = command.records[k];
    if (r.created_at > now) {
      return Status(ErrorCode::kInvalidRequest,
                    fmt::format("{}: the order's instants must not be in the future", r.line));
    }
    steps.push_back(Step{r.created_at, k, 0});
    for (size_t c = 0; c < r.changes.size(); ++c) {
      steps.push_back(Step{*r.changes[c].occurred_at, k, c + 1});
    }
    if (r.refund) steps.push_back(Step{*r.refund->occurred_at, k, r.changes.size() + 1});
  }
  std::stable_sort(steps.begin(), steps.end(),
                   [](const Step& a, const Step& b) { return a.at < b.at; });

  std::map<std::string, MemberId, std::less<>> created;
  std::vector<OrderId> orders(command.records.size());  // invalid: a duplicate
  for (const Step& step : steps) {
    const ImportRecord& record = command.records[step.record];
    auto fail = [&](const Status& st) {
      return Status(st.code(), fmt::format("{}: {}", record.line, st.message()));
    };
    if (step.step == 0) {
      auto existing =
          s.find_order_by_external_id(command.program_id, record.create.order.external_id);
      if (!existing.ok()) return fail(existing.status());
      if (*existing) {
        ++result.duplicates;
        continue;
      }
      CreateOrder create = record.create;
      create.program_id = command.program_id;
      auto member = resolve_member(s, programs, command, record, created, result);
      if (!member.ok()) return fail(member.status());
      if (member->valid()) {
        create.customer.member_id = *member;
      } else {
        create.customer.customer_external_id = record.customer_external_id;
        create.customer.customer_email = record.customer_email;
      }
      auto made = create_order(s, programs, create, step.at);
      if (!made.ok()) return fail(made.status());
      result.points_earned += made->order.points_earned;
      orders[step.record] = made->order.id;
      ++result.imported;
      continue;
    }
    const OrderId order = orders[step.record];
    if (!order.valid()) continue;  // a duplicate: nothing of it is imported
    if (step.step <= record.changes.size()) {
      UpdateOrderStatus update{command.program_id, order, record.changes[step.step - 1]};
      auto changed = update_order_status(s, programs, update, step.at);
      if (!changed.ok()) return fail(changed.status());
    } else {
      auto refunded = refund_order(s, programs,
                                   RefundOrder{command.program_id, order, *record.refund}, step.at);
      if (!refunded.ok()) return fail(refunded.status());
    }
  }
  return result;
}

}  // namespace loyalty::engine
