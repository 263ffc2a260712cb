// Tiers in the engine (docs/tiers.md): the incremental path that keeps each
// member's tier metric buckets current as orders change and upgrades at once,
// manual assignment by an admin, and the member's tier view for the API.
// Everything runs in the caller's write transaction (or read transaction for
// the view): the bucket, the tier, its history row and its outbox event commit
// together or not at all.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/ids.h"
#include "common/json_writer.h"
#include "common/result.h"
#include "common/time.h"
#include "domain/order.h"
#include "domain/program.h"
#include "domain/tiers.h"
#include "store/store.h"

namespace loyalty::engine {

class ProgramCache;

// What an order adds to its member's tier metric: once paid and until
// cancelled or returned, its eligible spend (per the earning policy) in
// proportion to what was paid and not refunded (rounded down), the points it
// earned net of reversals and write-offs, and 1 order unless fully refunded.
// The member's member_tiers row as one read of it found it (`read` false: not
// read, e.g. the program has no tiers).
struct KnownTierState {
  bool read = false;
  std::optional<MemberTierState> stored;
};

TierMetrics order_tier_metrics(const Order& order, const EligibleSpendPolicy& policy);

// The incremental path, after an order changed from `before` (null for a new
// or just claimed order) to `after`: adds the difference of their
// order_tier_metrics to the bucket of the month the order was paid in, then
// re-decides the member's tier (decide_on_event: an upgrade at once, a
// downgrade only with downgrade.on_refund) and records a change in the history
// and the outbox. Nothing is read or written when the program has no tiers or
// the order's contribution did not change.
//
// `known`: the member's stored state as tier_for_earning read it earlier in
// the same command (nothing written to member_tiers since), so it is not read
// again; null reads it.
Status update_tier_for_order(store::StoreSession& s, ProgramCache& programs, const Program& program,
                             const Order* before, const Order& after, Instant now,
                             const KnownTierState* known = nullptr);

// The same incremental path for points that are not an order's (custom
// events, signup, birthdays, anniversaries, a tier's birthday bonus, manual
// credits, manual adjustments of either sign; the reversal of such a
// posting: the opposite):
// adds them to the `points` counter of the month containing `counted_at` (the
// credit's time, also for its reversal, as a refund subtracts from its order's
// month), then re-decides the tier. An order's points are counted by
// update_tier_for_order from the order itself. Nothing when the program has no
// tiers.
Status update_tier_for_points(store::StoreSession& s, ProgramCache& programs,
                              const Program& program, MemberId member, Instant counted_at,
                              int64_t points, Instant now);

// After `original` was reversed: what a non-order credit or a manual
// adjustment gave leaves the `points` counter of the month it was posted in
// (update_tier_for_points with minus what it gave: a reversed negative
// adjustment gives its points back). Any other posting (a redemption, a
// transfer) changes nothing here: it never counted.
Status update_tier_for_reversal(store::StoreSession& s, ProgramCache& programs,
                                const Program& program, const Posting& original, Instant now);

// Stores a decision about the member's tier: the state, and for a change its
// tier_history row and outbox event (tier.upgraded, tier.downgraded,
// tier.renewed). The period-end job (tier_job.cpp) records through this.
Status record_tier_decision(store::StoreSession& s, const TierConfig& config, ProgramId program,
                            MemberId member, const MemberTierState& before, const TierDecision& d,
                            int64_t metric_value, Instant now);

// The tier id whose earn multiplier the member's earnings use now ("" = none):
// the higher of the tier held and the one a paid plan grants. With `read`,
// leaves there the member_tiers row it read (for update_tier_for_order).
Result<std::string> tier_for_earning(store::StoreSession& s, ProgramCache& programs,
                                     const Program& program, MemberId member, Instant now,
                                     KnownTierState* read = nullptr);

// PUT /v1/members/{id}/tier: an admin assigns a tier with a reason and an
// optional expiry, or (tier_id "") ends an assignment: the member then holds
// what the metric qualifies for. An invite-only tier (VIP) needs an account
// manager, stored in vip_members with a vip.assigned event; leaving it (ended,
// replaced, or lapsed and stored by the tier job) deletes that row with a
// vip.removed event (docs/tiers.md, "VIP"). kNotFound for an unknown member,
// kUnknownTier for a tier the active configuration does not define,
// kInvalidRequest for a missing or needless account manager, kConflict for
// ending an assignment the member does not have.
struct SetMemberTier {
  ProgramId program_id;
  MemberId member_id;
  std::string tier_id;  // "" = end the manual assignment
  std::string reason;
  std::optional<Instant> expires_at;
  std::optional<AccountManager> account_manager;  // required for an invite-only tier
  std::string actor;
};

// {"admin_id": ...} or {"name": ..., "email": ...} inside an open object: how
// events and the API show an account manager.
void write_account_manager_fields(JsonWriter& w, const AccountManager& manager);

// A member's tier as GET /v1/members/{id}/tier shows it.
struct MemberTierView {
  MemberId member_id;
  std::shared_ptr<const ProgramConfig> config;
  std::string currency;
  int currency_exponent = 2;
  MemberTierState state;     // effective (a lapsed manual tier shows what the metric gives)
  std::string granted_tier;  // by the member's paid plan now ("" = none)
  // The tier the member has: the higher of state.tier_id and granted_tier.
  std::string effective_tier;
  bool stored = false;                  // false: the member never had a tier state
  TierMetrics metrics;                  // counted over the window containing now
  std::optional<Instant> window_start;  // unset for lifetime
  std::optional<Instant> window_end;    // exclusive; unset for lifetime
  TierProgress progress;
  std::string message;  // progress_message
};

Result<MemberTierView> set_member_tier(store::StoreSession& s, ProgramCache& programs,
                                       const SetMemberTier& command, Instant now);

// The view from a read transaction (on any thread: not the engine's cache).
// The active configuration's tier model is parsed and compiled once per
// program and version and kept process-wide; each call reads the program, the
// active version number, the member, their buckets and tier state. kNotFound
// for an unknown member.
Result<MemberTierView> read_member_tier(store::StoreSession& s, ProgramId program, MemberId member,
                                        Instant now);
// The program's active configuration from a read transaction, from the same
// process-wide cache as read_member_tier (parsed once per version).
Result<std::shared_ptr<const ProgramConfig>> read_active_config(store::StoreSession& s,
                                                                const Program& program);
// How many tier models read_member_tier built so far in this process (tests:
// a second read of the same version builds none).
int64_t tier_model_builds();

}  // namespace loyalty::engine
