// The engine side of orders (docs/orders.md): what CreateOrder,
// UpdateOrderStatus, RefundOrder and ClaimGuestOrders do inside the writer's
// transaction. The order's next state comes from the pure domain
// (domain/order.h), its points from the earning function (domain/earning.h),
// every points movement from the ledger planner (credit, clawback, vesting
// schedule).
//
// Engine-internal: included by src/engine/*.cpp only.
#pragma once

#include "common/result.h"
#include "engine/engine.h"
#include "store/store.h"

namespace loyalty::engine {

Result<OrderResult> create_order(store::StoreSession& s, ProgramCache& programs,
                                 const CreateOrder& command, Instant now);
Result<OrderResult> update_order_status(store::StoreSession& s, ProgramCache& programs,
                                        const UpdateOrderStatus& command, Instant now);
Result<OrderResult> refund_order(store::StoreSession& s, ProgramCache& programs,
                                 const RefundOrder& command, Instant now);
// Also run by EnrollMember for the new member.
Result<ClaimResult> claim_guest_orders(store::StoreSession& s, ProgramCache& programs,
                                       const Member& member, Instant now);

// The most guest orders one claim attaches (a claim is one transaction).
inline constexpr int kMaxClaimedOrdersPerClaim = 100;

// The member's ledger with its lots after catching up due vesting and expiry
// (commands.cpp: the path every member command takes).
// with_lots = false: only what plans that add points need (lots_loaded false).
Result<MemberLedger> caught_up_ledger(store::StoreSession& s, ProgramCache& programs,
                                      ProgramId program_id, MemberId member_id, Instant now,
                                      bool with_lots = true);
// Locks two members of the program (one when a == b) in ascending id order,
// as every write touching two members must (commands.cpp).
Status lock_member_pair(store::StoreSession& s, ProgramId program, MemberId a, MemberId b);
// The member, or kNotFound "member <id> not found" (commands.cpp).
Result<Member> require_member(store::StoreSession& s, ProgramId program, MemberId id);

}  // namespace loyalty::engine
