// The points ledger, as pure functions.
//
// Every points movement is a Posting: entries across accounts that sum to zero.
// Accounts are per member: a member's spendable `available` and not-yet-vested
// `pending` points, and contra accounts that say where points came from or went
// (issuance, redemption, expiry, adjustment, transfer). Program-level totals are
// sums over members, so every entry belongs to exactly one member and a sharded
// store can keep a member's ledger in one place.
//
// Points sit in lots (one per credit) that remember their expiry; debits consume
// lots oldest expiry first (lots without expiry last). When the program allows a
// negative balance, a debt is recorded as entries on the `available` account with
// no lot ("deficit"); later credits settle it first.
//
// Nothing here does I/O or reads a clock: each plan_* function takes the
// member's current ledger state and `now`, and returns the posting to append and
// the new materialized state (lots and balances), or a domain error.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "common/time.h"
#include "domain/member.h"
#include "domain/points.h"
#include "domain/program.h"

namespace loyalty {

enum class Account : int {
  kAvailable = 1,   // member: spendable points
  kPending = 2,     // member: earned, not yet vested
  kIssuance = 3,    // contra: points the program issued (negative = issued)
  kRedemption = 4,  // contra: points spent
  kExpiry = 5,      // contra: points expired
  kAdjustment = 6,  // contra: manual adjustments (negative = granted)
  kTransfer = 7,    // contra: member-to-member transfers (negative = received)
  kHeld = 8,        // member: reserved by a checkout hold, no lot (docs/checkout.md)
};
const char* to_string(Account a);
std::optional<Account> parse_account(std::string_view s);
inline bool is_member_balance_account(Account a) {
  return a == Account::kAvailable || a == Account::kPending;
}

// kClawback: points an order refund or cancellation takes back (domain/order.h).
// kHold .. kHoldRefund: points at checkout (plan_hold, plan_hold_return), also
// gifts of points on their way (sent = kHold, returned = kHoldRelease).
// kGiftClaim: a gift of points claimed by its recipient (plan_gift_claim).
enum class PostingKind {
  kCredit,
  kDebit,
  kAdjustment,
  kTransfer,
  kReversal,
  kVesting,
  kExpiry,
  kClawback,
  kHold,
  kHoldCapture,
  kHoldRelease,
  kHoldRefund,
  kGiftClaim,
};
const char* to_string(PostingKind k);
std::optional<PostingKind> parse_posting_kind(std::string_view s);

// A lot reference inside a plan: an existing lot, a lot created by the same
// posting (index into LedgerPlan::new_lots), or none (a deficit entry, or a
// contra account).
struct LotRef {
  LotId existing;
  int new_index = -1;
  bool is_none() const { return !existing.valid() && new_index < 0; }
  friend bool operator==(const LotRef&, const LotRef&) = default;
};

struct Entry {
  MemberId member;
  Account account = Account::kAvailable;
  LotRef lot;
  Points amount;
};

struct Lot {
  LotId id;
  MemberId member;
  PostingId posting;  // the posting that created it
  Points original;
  Points remaining;
  bool pending = false;
  Instant created_at;
  std::optional<Instant> available_at;  // set for lots created pending
  std::optional<Instant> expires_at;
};

// Materialized per-member balances. Contra totals use the member's sign:
// lifetime_earned = -(issuance account), lifetime_spent = redemption account,
// expired = expiry account, adjusted = -(adjustment account), transferred_net =
// -(transfer account), held = held account. Hence always:
//   available + pending + held ==
//       lifetime_earned - lifetime_spent - expired + adjusted + transferred_net
struct Balance {
  Points available;
  Points pending;
  Points lifetime_earned;
  Points lifetime_spent;
  Points expired;
  Points adjusted;
  Points transferred_net;
  // Points reserved by open checkout holds (account `held`): not spendable, not
  // yet spent. On the left of the identity with available and pending.
  Points held;
  // Earliest instant at which one of the member's lots vests or expires; no value
  // when none will. May be earlier than the truth (then a catch-up finds nothing),
  // never later.
  std::optional<Instant> next_due_at;
  // Rolling expiry (domain/expiry.h): when set and it passes, every available
  // point of the member expires. Moved forward by each activity; not a sum of
  // entries. next_due_at is never later than it while available > 0.
  std::optional<Instant> rolling_expires_at;
  friend bool operator==(const Balance&, const Balance&) = default;
};

// Applies one entry to the member's balance; false on int64 overflow.
bool apply_entry(Balance& balance, Account account, Points amount);

struct Posting {
  PostingId id;
  ProgramId program_id;
  MemberId member;        // the member it is about (the sender, for a transfer)
  MemberId counterparty;  // the receiver of a transfer
  PostingKind kind = PostingKind::kCredit;
  std::string reason;       // free text shown to the member
  std::string source;       // where it came from: "api", "order", "job:vesting", ...
  std::string reason_code;  // adjustments: a machine-readable code
  std::string actor;        // who asked for it: "key_3", "key_3:alice@shop.com", "system"
  PostingId reverses;       // for a reversal: the posting it compensates
  OrderId order;            // the order whose payment, refund or cancellation made it
  // The program configuration version that was active when it was made (see
  // domain/program_config.h); 0 for postings made before any configuration.
  int config_version = 0;
  Instant created_at;
  std::vector<Entry> entries;
};

struct NewLot {
  MemberId member;
  Points points;
  bool pending = false;
  std::optional<Instant> available_at;
  std::optional<Instant> expires_at;
};

// A change to an existing lot (its remaining points and state after the posting).
struct LotChange {
  LotId id;
  MemberId member;
  Points remaining;
  bool pending = false;
};

// Everything the store must write, in one transaction, to apply a posting.
struct LedgerPlan {
  Posting posting;
  std::vector<NewLot> new_lots;
  std::vector<LotChange> lot_changes;
  std::map<MemberId, Balance> balances;  // new balance of every member touched
};

// A member's ledger as the planner needs it: its materialized balance and its
// open lots (remaining > 0) in any order. Plans that only add points (credits,
// positive adjustments, the receiving side of a transfer) do not need the lots:
// load them with lots_loaded = false and open_lots empty. A member's debt is
// min(0, available): a member never holds available lots while in debt.
struct MemberLedger {
  Member member;
  Balance balance;
  std::vector<Lot> open_lots;
  bool lots_loaded = true;
};

// ---- Commands ----

struct CreditRequest {
  Points points;
  std::string reason;
  std::string source = "api";
  std::string actor;
  std::optional<Instant> available_at;  // in the future: pending until then
  // Pending with no vesting instant yet (an order's points wait for delivery);
  // plan_schedule_vesting sets it later. available_at must then be empty.
  bool pending_until_scheduled = false;
  OrderId order;  // recorded on the posting
  std::optional<Instant> expires_at;
};

struct DebitRequest {
  Points points;
  std::string reason;
  std::string source = "api";
  std::string actor;
};

struct AdjustmentRequest {
  Points points;  // signed, non-zero
  std::string reason_code;
  std::string reason;
  std::string actor;
  std::optional<Instant> expires_at;  // for positive adjustments
};

struct TransferRequest {
  Points points;
  std::string reason;
  std::string actor;
};

inline constexpr size_t kMaxReasonLength = 500;
inline constexpr size_t kMaxReasonCodeLength = 64;
inline constexpr size_t kMaxSourceLength = 64;
// Lots one posting may touch; a debit needing more fails rather than writing an
// unbounded posting (a member would need this many distinct small credits).
inline constexpr size_t kMaxLotsPerPosting = 10'000;

Result<LedgerPlan> plan_credit(const Program& program, const MemberLedger& member,
                               const CreditRequest& request, Instant now);
Result<LedgerPlan> plan_debit(const Program& program, const MemberLedger& member,
                              const DebitRequest& request, Instant now);
Result<LedgerPlan> plan_adjustment(const Program& program, const MemberLedger& member,
                                   const AdjustmentRequest& request, Instant now);
// `sent_last_24h` is what the sender transferred out in the 24 hours before now.
Result<LedgerPlan> plan_transfer(const Program& program, const MemberLedger& from,
                                 const MemberLedger& to, const TransferRequest& request,
                                 Points sent_last_24h, Instant now);
// `members` holds the ledger of every member the original posting touched.
Result<LedgerPlan> plan_reversal(const Program& program, const Posting& original,
                                 const std::map<MemberId, MemberLedger>& members,
                                 std::string_view reason, std::string_view actor, Instant now);
// Vests every pending lot whose available_at <= now; nullopt when none is due.
std::optional<LedgerPlan> plan_vesting(const Program& program, const MemberLedger& member,
                                       Instant now);
// Expires every available lot whose expires_at <= now, and every available lot
// when the member's rolling_expires_at <= now; nullopt when none is due.
std::optional<LedgerPlan> plan_expiry(const Program& program, const MemberLedger& member,
                                      Instant now);

// The member's ledger as a plan for it leaves it (its lots' changes and its
// balance): what reading it back after apply_plan would give, without the read.
// The plan must not open new lots for the member.
void apply_to_ledger(const LedgerPlan& plan, MemberLedger& member);

// Earliest vesting/expiry instant among open lots.
std::optional<Instant> earliest_due(const std::vector<Lot>& open_lots);
// The value next_due_at should have: earliest_due(open_lots), and the rolling
// expiry while the member has available points.
std::optional<Instant> earliest_due(const Balance& balance, const std::vector<Lot>& open_lots);

// Checks that a plan is internally consistent: entries sum to zero, every member
// entry's lot is known, no lot goes negative. Called by the engine before every
// write (LOYALTY_ASSERT): a violation is a bug, never user input.
Status check_plan_invariants(const LedgerPlan& plan);

// ---- Orders: taking earned points back, scheduling their vesting ----

// What happens to points a clawback should take but the member no longer has
// (EarningPolicy::refund_overspend).
enum class ClawbackShortfall {
  kDebt,                 // a debt, if the program allows a negative balance; else written off
  kPendingThenWriteOff,  // from the member's other pending points, the rest written off
  kWriteOff,             // written off: the member keeps them
};

struct ClawbackRequest {
  LotId lot;  // the lot the order's credit created; taken from first (may be gone)
  Points points;
  ClawbackShortfall shortfall = ClawbackShortfall::kDebt;
  std::string reason;
  std::string actor;
  OrderId order;
};

struct ClawbackPlan {
  std::optional<LedgerPlan> plan;  // none when nothing could be taken
  Points taken;                    // taken from the member: plan's issuance entry
  Points written_off;              // points - taken
};

// Takes back up to `points` earned points: from the order's lot (pending or
// available), then the member's other available points, then as `shortfall`
// says. Works on blocked members. Needs the member's lots.
Result<ClawbackPlan> plan_clawback(const Program& program, const MemberLedger& member,
                                   const ClawbackRequest& request, Instant now);

// Sets when a pending lot created with pending_until_scheduled vests: not a
// posting (no points move), a change of the lot and of next_due_at.
struct VestingSchedule {
  MemberId member;
  LotId lot;
  Instant available_at;
  std::optional<Instant> next_due_at;  // the member's new next_due_at
};
// kInternal when the lot is not an open, unscheduled pending lot of the member.
Result<VestingSchedule> plan_schedule_vesting(const MemberLedger& member, LotId lot,
                                              Instant available_at);

// ---- Points at checkout: holds (docs/checkout.md, docs/ledger.md) ----

// Points a hold took from one lot (remembered with the hold, so that a release
// puts them back into the same lot).
struct HoldLot {
  LotId lot;
  Points points;
  friend bool operator==(const HoldLot&, const HoldLot&) = default;
};

struct HoldRequest {
  Points points;
  std::string reason;
  std::string actor;
  OrderId order;                    // the order it pays for, when known
  std::string source = "checkout";  // "gift" for a gift of points
};

struct HoldPlan {
  LedgerPlan plan;
  std::vector<HoldLot> lots;  // in the order taken (consumption order)
};

// Moves `points` available points to `held`: available -x per lot taken in
// consumption order (as a debit), held +points. Never creates a debt:
// kInsufficientPoints when the available lots hold less. Needs the member's
// lots; the member must be active.
Result<HoldPlan> plan_hold(const Program& program, const MemberLedger& member,
                           const HoldRequest& request, Instant now);

// Ends a hold, or part of what it captured:
//   kHoldCapture: held -capture, redemption +capture, and the rest of the hold
//                 (`restore`) back as a release does;
//   kHoldRelease: held -sum(restore), the points back into their lots;
//   kHoldRefund:  redemption -sum(restore), the points back into their lots.
// A point that goes back into a lot that has expired meanwhile (its expires_at
// or the member's rolling expiry is at or before now) goes to `expiry` instead,
// in the same posting; the lot stays as it is. Restored points settle a debt
// first. `member` must hold every lot of `restore` in open_lots (empty ones
// too). Works on blocked members.
struct HoldReturnRequest {
  PostingKind kind = PostingKind::kHoldRelease;
  Points capture;                // kHoldCapture only
  std::vector<HoldLot> restore;  // points going back, per lot
  std::string reason;
  std::string actor;
  OrderId order;
  std::string source = "checkout";
};
struct HoldReturnPlan {
  LedgerPlan plan;
  Points restored;  // put back into lots
  Points expired;   // went to expiry (their lot had expired)
};
Result<HoldReturnPlan> plan_hold_return(const Program& program, const MemberLedger& member,
                                        const HoldReturnRequest& request, Instant now);

// ---- Gifts of points (docs/gifting.md) ----

// Points a gift took from one of the giver's lots, with that lot's expiry.
struct GiftShare {
  Points points;
  std::optional<Instant> expires_at;
  friend bool operator==(const GiftShare&, const GiftShare&) = default;
};
struct GiftClaimRequest {
  std::vector<GiftShare> shares;  // everything the gift holds (the giver's `held`)
  std::string reason;
  std::string actor;
};
struct GiftClaimPlan {
  LedgerPlan plan;
  Points delivered;  // to the recipient
  Points expired;    // expired on the way (their lot's expiry passed): the giver's expiry
};
// Delivers a gift the giver's `held` account holds: giver held -all, giver
// transfer +delivered, recipient transfer -delivered, recipient available
// +delivered in one new lot per distinct expiry (points keep the expiry they
// had, as in a transfer; a debt of the recipient is paid first). A share whose
// expiry is at or before now goes to the giver's expiry account instead.
// Needs neither member's lots. kMemberBlocked for a blocked recipient;
// kTransferToSelf when both are the same member.
Result<GiftClaimPlan> plan_gift_claim(const Program& program, const MemberLedger& giver,
                                      const MemberLedger& recipient,
                                      const GiftClaimRequest& request, Instant now);

}  // namespace loyalty
