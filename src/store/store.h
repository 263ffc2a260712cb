// The store: every query loyaltyd runs, typed, over one SqlConnection.
//
// A StoreSession wraps one connection. The engine's writer owns one session and
// runs every write inside begin_write()/commit(); readers (HTTP GET handlers,
// verify) each use their own session. All methods take the ProgramId first:
// every table's key starts with it, and no query ever crosses programs.
//
// Errors follow SqlConnection: kConflict for a taken unique value, kRetryable
// for a serialization failure or deadlock (PostgreSQL), kUnavailable, kInternal.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "common/time.h"
#include "domain/checkout_points.h"
#include "domain/config_document.h"
#include "domain/ledger.h"
#include "domain/member.h"
#include "domain/order.h"
#include "domain/paid_membership.h"
#include "domain/program.h"
#include "domain/tiers.h"
#include "store/sql.h"

namespace loyalty::store {

struct ApiKey {
  ApiKeyId id;
  ProgramId program_id;
  std::string name;
  std::string prefix;    // first characters of the secret, for display
  std::string key_hash;  // SHA-256 hex of the whole secret
  std::vector<std::string> scopes;
  Instant created_at;
  std::optional<Instant> revoked_at;
};

struct MemberQuery {
  ProgramId program_id;
  std::optional<std::string> email;        // exact, already normalized
  std::optional<std::string> external_id;  // exact
  std::optional<MemberStatus> status;
  MemberId after;  // cursor: members with id > after, ascending
  int limit = 50;
};

struct IdempotencyRecord {
  std::string fingerprint;
  int status_code = 0;
  std::string response_body;
};

// GET /v1/reports/carriers: one carrier's deliveries in a period.
struct CarrierDeliveries {
  std::string carrier;  // "" for deliveries without a carrier
  int64_t delivered = 0;
  int64_t with_promise = 0;  // deliveries that had a promised date
  int64_t on_time = 0;       // of those, delivered on or before it
};

struct DueMember {
  ProgramId program_id;
  MemberId member_id;
  // The member's balance as claimed (claim_due_members reads it with the
  // claim, so the catch-up need not read it again); nullopt elsewhere.
  std::optional<Balance> balance;
  // The balance row's version as read with `balance` (due_members_after): every
  // write to the member's balance or lots adds one (apply_plan,
  // set_next_due_at), so a plan made from what was read can be applied only
  // if the version is still the same (apply_plan_if_version).
  int64_t version = 0;
};

// A position in the order of due members: (next_due_at, program, member).
struct DueKey {
  Instant due;
  ProgramId program_id;
  MemberId member_id;
};

// A business event in the outbox (docs/events.md), written in the transaction
// of the change that caused it; ids ascend per program in commit order on
// SQLite (one writer) and in allocation order on PostgreSQL.
struct OutboxEventTag {
  static constexpr std::string_view kPrefix = "oev_";
};
using OutboxEventId = Id<OutboxEventTag>;
struct OutboxEvent {
  OutboxEventId id;
  ProgramId program_id;
  MemberId member_id;  // invalid when the event is about no member
  std::string type;    // "points.expired", ...
  std::string payload_json;
  Instant created_at;
  std::optional<Instant> delivered_at;
};

// A scheduled job's progress for one program (docs/jobs.md).
struct JobState {
  std::string last_completed_key;  // job-specific: a local date, an instant
  std::string last_run_by;         // node id
  Instant last_run_at;
};
inline constexpr int kMaxOutboxPage = 1000;

// A cap counter of an earn rule (table rule_usage, docs/earning.md): how often
// and how many points the rule awarded in a period, to one member (member =
// MemberId{0} for the program-wide counter of a global cap) per distinct key.
struct RuleUsage {
  MemberId member;  // MemberId{0}: global
  std::string rule_id;
  std::string period_key;    // "2026-11-23", "2026-W48", "2026-11", "2026", "life"
  std::string distinct_key;  // "" when the cap has no distinct_by
  int64_t awards = 0;
  int64_t points = 0;
  friend bool operator==(const RuleUsage&, const RuleUsage&) = default;
};

// A custom event a member did (POST /v1/events), with what it earned.
struct MemberEventTag {
  static constexpr std::string_view kPrefix = "mev_";
};
using MemberEventId = Id<MemberEventTag>;
struct MemberEvent {
  MemberEventId id;
  ProgramId program_id;
  MemberId member_id;
  std::string external_id;  // the client's event id, unique per program
  std::string type;
  std::string attributes_json;  // a JSON object of strings
  Instant occurred_at;
  Instant created_at;
  int64_t points = 0;       // awarded in total
  PostingId posting_id;     // the first award's posting; invalid when nothing was awarded
  std::string awards_json;  // [{"rule_id","rule_name","points","posting_id"}...]
};

// One change of a member's tier (table tier_history, docs/tiers.md).
struct TierHistoryTag {
  static constexpr std::string_view kPrefix = "thi_";
};
using TierHistoryId = Id<TierHistoryTag>;
struct TierHistoryEntry {
  TierHistoryId id;
  ProgramId program_id;
  MemberId member_id;
  TierChange change = TierChange::kUpgraded;
  std::string from_tier;  // "" = no tier
  std::string to_tier;
  int64_t metric_value = 0;  // the window's metric when it happened
  std::optional<Instant> guaranteed_until;
  std::string reason;  // a manual assignment's reason; "" otherwise
  std::string actor;   // "system" or who assigned
  Instant occurred_at;
};

// A reported paid-membership payment: one paid period (table
// paid_membership_payments, migration 16, docs/tiers.md "Paid membership").
struct PaidPaymentTag {
  static constexpr std::string_view kPrefix = "pmp_";
};
using PaidPaymentId = Id<PaidPaymentTag>;
struct PaidPayment {
  PaidPaymentId id;
  MemberId member_id;
  std::string plan_id;
  std::string external_payment_id;  // the merchant's: unique per program
  Instant period_start;
  Instant period_end;
  int64_t amount_minor = 0;
  std::string currency;
  Instant recorded_at;
};

// A member an admin assigned an invite-only tier (table vip_members, migration
// 13, docs/tiers.md "VIP").
struct VipMember {
  MemberId member_id;
  std::string tier_id;
  AccountManager manager;
  std::string reason;
  std::string actor;
  Instant assigned_at;
  std::optional<Instant> expires_at;  // read from member_tiers (unset: until removed)
};

// One version of a program's configuration document (domain/config_document.h).
struct StoredConfig {
  ProgramId program_id;
  int version = 0;  // 1, 2, ... per program
  ConfigFormat format = ConfigFormat::kYaml;
  std::string document;        // the text as submitted
  std::string canonical_json;  // config_to_json of the validated config
  Instant created_at;
  std::string actor;
};

class StoreSession {
 public:
  explicit StoreSession(std::unique_ptr<SqlConnection> connection);
  ~StoreSession();

  Dialect dialect() const { return connection_->dialect(); }
  SqlConnection& connection() { return *connection_; }

  // Applies the numbered migrations not yet applied. Safe to call concurrently
  // from several processes (PostgreSQL: advisory lock).
  Status migrate();
  // Schema version after migrate().
  Result<int> schema_version();

  // Transactions. begin_write takes the write lock at once on SQLite (BEGIN
  // IMMEDIATE); savepoints nest one level (one per command in a batch).
  Status begin_write();
  Status begin_read();
  Status commit();
  Status rollback();
  Status savepoint();
  Status release_savepoint();
  Status rollback_to_savepoint();

  // Programs.
  Result<ProgramId> insert_program(const Program& program);
  Result<std::optional<Program>> find_program(ProgramId id);
  Status update_program(const Program& program);

  // API keys.
  Result<ApiKeyId> insert_api_key(const ApiKey& key);
  Result<std::optional<ApiKey>> find_api_key_by_hash(std::string_view key_hash);
  Result<std::optional<ApiKey>> find_api_key(ProgramId program, ApiKeyId id);
  Result<std::vector<ApiKey>> list_api_keys(ProgramId program);
  Status revoke_api_key(ProgramId program, ApiKeyId id, Instant at);

  // Members. insert_member fails with kConflict when the external id is taken.
  Result<MemberId> insert_member(const Member& member);
  Result<std::optional<Member>> find_member(ProgramId program, MemberId id);
  Result<std::optional<Member>> find_member_by_external_id(ProgramId program,
                                                           std::string_view external_id);
  Status update_member(const Member& member);
  // Adds to the member's order statistics (Member::orders_count,
  // total_spent_minor) in one UPDATE; kNotFound for an unknown member.
  Status add_member_order_stats(ProgramId program, MemberId member, int64_t orders_delta,
                                int64_t spent_delta_minor);
  Result<std::vector<Member>> list_members(const MemberQuery& query);
  // Calls `each` with the external id and id of every member of the program
  // that has an external id (the importer's in-memory lookup).
  Status for_each_member_external_id(ProgramId program,
                                     const std::function<void(std::string_view, MemberId)>& each);
  // Locks the members' rows until commit (PostgreSQL: SELECT ... FOR UPDATE in
  // ascending id order; SQLite: no-op, the write transaction is exclusive).
  Status lock_members(ProgramId program, const std::vector<MemberId>& ascending_ids);

  // Ledger.
  Result<Balance> get_balance(ProgramId program, MemberId member);  // zeros if none
  Result<std::vector<Lot>> open_lots(ProgramId program, MemberId member);
  // The open lots of several members of one program, by member then id: one
  // query per kMembersPerLotsQuery members (the catch-up's batch read).
  Result<std::vector<Lot>> open_lots_of_members(ProgramId program,
                                                std::span<const MemberId> members);
  Result<std::vector<Lot>> lots_by_ids(ProgramId program, const std::vector<LotId>& ids);
  // Lots of a member, newest first, with id < before (0 = from the newest).
  Result<std::vector<Lot>> list_lots(ProgramId program, MemberId member, bool open_only,
                                     LotId before, int limit);
  // Writes the posting, its entries, new lots, lot changes and balances. Assigns
  // ids: plan.posting.id, entry lot refs to new lots become existing ids.
  Status apply_plan(LedgerPlan& plan);
  // apply_plan for a plan made outside this transaction (the scheduler plans
  // expiries on its own thread, jobs/scheduler.cpp): writes it only if the
  // balance row of the posting's member still has `version`, and returns
  // false with nothing written otherwise. The plan must change that member's
  // balance only.
  Result<bool> apply_plan_if_version(LedgerPlan& plan, int64_t version);
  Result<std::optional<Posting>> find_posting(ProgramId program, PostingId id);
  // Postings with an entry of the member, newest first, id < before (0 = newest).
  Result<std::vector<Posting>> list_member_postings(ProgramId program, MemberId member,
                                                    PostingId before, int limit);
  Result<std::optional<PostingId>> find_reversal_of(ProgramId program, PostingId original);
  // Points the member sent in transfer postings created at or after `since`.
  Result<Points> transferred_out_since(ProgramId program, MemberId member, Instant since);
  // Sets the member's next_due_at (after a catch-up found it early).
  Status set_next_due_at(ProgramId program, MemberId member, std::optional<Instant> due);
  // Members with a lot due to vest or expire at or before `now`.
  Result<std::vector<DueMember>> members_due(Instant now, int limit);
  // Up to `limit` due members (next_due_at <= now) after `after` in the order
  // of DueKey, with their balances and versions; no locks (a reader's read).
  Result<std::vector<DueMember>> due_members_after(Instant now, const std::optional<DueKey>& after,
                                                   int limit);

  // Scheduled jobs (writer transaction). Claims up to `limit` members whose
  // next_due_at <= now, locking their member rows; on PostgreSQL rows another
  // transaction holds are skipped (FOR UPDATE SKIP LOCKED), so nodes share the
  // work and never wait for each other.
  Result<std::vector<DueMember>> claim_due_members(Instant now, int limit);
  // Locks the (program, job) state row, creating it with `initial_key` if
  // missing; nullopt when another transaction holds it (PostgreSQL SKIP LOCKED):
  // another node runs that job now.
  Result<std::optional<JobState>> claim_job_state(ProgramId program, std::string_view job,
                                                  std::string_view initial_key);
  Status save_job_state(ProgramId program, std::string_view job, const JobState& state);
  // Records that `job` did `period_key` for the member; false when it already
  // had (the unique key makes every job item happen once).
  Result<bool> insert_job_mark(ProgramId program, MemberId member, std::string_view job,
                               std::string_view period_key, Instant at);
  // Active members whose birthday's "MM-DD" is one of `month_days`, enrolled
  // before `enrolled_before`, without a `job`/`period_key` mark; ascending ids.
  Result<std::vector<MemberId>> birthday_candidates(ProgramId program,
                                                    const std::vector<std::string>& month_days,
                                                    Instant enrolled_before, std::string_view job,
                                                    std::string_view period_key, int limit);
  // Active members enrolled in [from, to) without a `job`/`period_key` mark.
  Result<std::vector<MemberId>> enrolled_between_candidates(ProgramId program, Instant from,
                                                            Instant to, std::string_view job,
                                                            std::string_view period_key, int limit);
  struct ExpiringPoints {
    MemberId member;
    Instant expires_at;
    Points points;
  };
  // Available points expiring in (after, until]: per member and expiry instant,
  // from lots and from rolling expiry, without a `job` mark keyed by the instant
  // (format_rfc3339); ordered by instant then member.
  Result<std::vector<ExpiringPoints>> expiring_points(ProgramId program, Instant after,
                                                      Instant until, std::string_view job,
                                                      int limit);
  // Program ids, ascending.
  Result<std::vector<ProgramId>> list_program_ids();

  // Outbox. append_outbox_event runs in the caller's write transaction, so the
  // event commits with the change or not at all.
  Result<OutboxEventId> append_outbox_event(ProgramId program, MemberId member,
                                            std::string_view type, std::string_view payload_json,
                                            Instant at);
  // Events with id > after, ascending, at most `limit` (1..kMaxOutboxPage).
  Result<std::vector<OutboxEvent>> list_outbox_events(ProgramId program, OutboxEventId after,
                                                      int limit);

  // Earn-rule cap counters (src/store/rule_usage.cpp). read_rule_usage returns
  // the stored rows among `keys` (their counters are ignored; absent rows are
  // left out). With lock_global, the global rows (member 0) are created at zero
  // when missing and row-locked until commit on PostgreSQL (INSERT .. ON
  // CONFLICT DO NOTHING, then SELECT .. FOR UPDATE), so two nodes evaluating a
  // global cap at once serialize on it and never exceed it; SQLite's single
  // writer needs no lock. add_rule_usage adds `delta`'s awards and points to its
  // row (creating it).
  Result<std::vector<RuleUsage>> read_rule_usage(ProgramId program,
                                                 const std::vector<RuleUsage>& keys,
                                                 bool lock_global);
  Status add_rule_usage(ProgramId program, const RuleUsage& delta);

  // Tiers (src/store/tiers_store.cpp, migration 6). find_member_tier: nullopt
  // for a member who never had a tier state. save_member_tier inserts or
  // replaces it. tier_metric_buckets: the member's buckets with month >= from,
  // ascending. add_tier_metrics adds `delta` to one bucket (creating it).
  Result<std::optional<MemberTierState>> find_member_tier(ProgramId program, MemberId member);
  Status save_member_tier(ProgramId program, MemberId member, const MemberTierState& state,
                          Instant at);
  Result<std::vector<MetricBucket>> tier_metric_buckets(ProgramId program, MemberId member,
                                                        MonthIndex from);
  Status add_tier_metrics(ProgramId program, MemberId member, MonthIndex month,
                          const TierMetrics& delta);
  Result<TierHistoryId> insert_tier_history(const TierHistoryEntry& entry);
  // For the period-end job (src/engine/tier_job.cpp): up to `limit` member ids
  // of the program above `after`, ascending; the stored tier states of the
  // members in [first, last]; their buckets of the months [from, to], by member
  // then month; up to `limit` members whose manual tier lapsed at or before `now`
  // (index member_tiers_manual_expiry, migration 12), ascending.
  Result<std::vector<MemberId>> member_ids_after(ProgramId program, MemberId after, int limit);
  Result<std::vector<std::pair<MemberId, MemberTierState>>> member_tiers_between(ProgramId program,
                                                                                 MemberId first,
                                                                                 MemberId last);
  Result<std::vector<std::pair<MemberId, MetricBucket>>> tier_metric_buckets_between(
      ProgramId program, MemberId first, MemberId last, MonthIndex from, MonthIndex to);
  Result<std::vector<MemberId>> lapsed_manual_tiers(ProgramId program, Instant now, int limit);
  // VIP members (src/store/vip_store.cpp, migration 13). save_vip_member
  // inserts or replaces the member's row; list_vip_members: the members above
  // `after` by id, at most `limit`, whose assignment still holds at `now` (their
  // member_tiers row has the VIP's tier and has not lapsed), only those of
  // `manager_key` (AccountManager::key) unless it is empty.
  Status save_vip_member(ProgramId program, const VipMember& vip);
  // Paid membership (src/store/paid_membership_store.cpp, migration 16).
  // save_paid_membership inserts or replaces the member's row with when the
  // job next owes it something; due_paid_memberships: up to `limit` members
  // whose next_action_at is at or before `now`, by that time then member.
  // find_paid_payment finds a payment by the merchant's id; list_paid_payments:
  // the member's, newest first, at most `limit`.
  Result<std::optional<PaidMembership>> find_paid_membership(ProgramId program, MemberId member);
  Status save_paid_membership(ProgramId program, MemberId member, const PaidMembership& m,
                              std::optional<Instant> next_action_at, Instant now);
  Result<std::vector<MemberId>> due_paid_memberships(ProgramId program, Instant now, int limit);
  Result<std::optional<PaidPayment>> find_paid_payment(ProgramId program,
                                                       std::string_view external_payment_id);
  Result<PaidPaymentId> insert_paid_payment(ProgramId program, const PaidPayment& payment);
  Result<std::vector<PaidPayment>> list_paid_payments(ProgramId program, MemberId member,
                                                      int limit);
  Status delete_vip_member(ProgramId program, MemberId member);
  Result<std::vector<VipMember>> list_vip_members(ProgramId program, std::string_view manager_key,
                                                  MemberId after, Instant now, int limit);
  // Newest first, id < before (0 = from the newest), at most `limit` (1..1000).
  Result<std::vector<TierHistoryEntry>> list_tier_history(ProgramId program, MemberId member,
                                                          TierHistoryId before, int limit);

  // Custom events. insert_member_event fails with kConflict when the program
  // already has an event with that external id.
  Result<MemberEventId> insert_member_event(const MemberEvent& event);
  Result<std::optional<MemberEvent>> find_member_event(ProgramId program,
                                                       std::string_view external_id);
  // The member's events, newest first, id < before (0 = from the newest).
  Result<std::vector<MemberEvent>> list_member_events(ProgramId program, MemberId member,
                                                      MemberEventId before, int limit);

  // Orders (store/orders_store.cpp). insert_order writes the order and its
  // items and fails with kConflict when the external id is taken; ids and line
  // numbers come from the Order (validate_new_order).
  Result<OrderId> insert_order(const Order& order);
  // Writes the order's mutable columns, and the refund and points columns of
  // `changed_lines` (1-based).
  Status update_order(const Order& order, const std::vector<int>& changed_lines = {});
  // Writes only what crediting a new order's points changes: its earning
  // posting and lot, vests_at and events_count (a narrower UPDATE than
  // update_order's, which also rewrites the indexed member and status columns).
  Status set_order_earning(const Order& order);
  // Whether the member has a paid order other than `except` (is_first_order).
  Result<bool> member_has_paid_order(ProgramId program, MemberId member, OrderId except);
  Result<std::optional<Order>> find_order(ProgramId program, OrderId id);
  Result<std::optional<Order>> find_order_by_external_id(ProgramId program,
                                                         std::string_view external_id);
  // Appends timeline entries (their seq are the order's next ones); kConflict
  // when an event id is already recorded for the order.
  Status insert_order_events(ProgramId program, OrderId order,
                             const std::vector<OrderEvent>& events);
  Result<std::vector<OrderEvent>> order_events(ProgramId program, OrderId order);
  // The type of the timeline entry with this platform event id, if any.
  Result<std::optional<std::string>> find_order_event_type(ProgramId program, OrderId order,
                                                           std::string_view event_id);
  // A member's orders, newest first, id < before (0 = from the newest), with items.
  Result<std::vector<Order>> list_member_orders(ProgramId program, MemberId member, OrderId before,
                                                int limit);
  // Guest orders (no member) of the shop customer with this external id or this
  // normalized email (either may be empty), placed at or after `since`, oldest
  // first, with items.
  Result<std::vector<Order>> list_guest_orders(ProgramId program, std::string_view external_id,
                                               std::string_view email, Instant since, int limit);
  // Deliveries per carrier with delivered_at in [from, to).
  Result<std::vector<CarrierDeliveries>> carrier_deliveries(ProgramId program, Instant from,
                                                            Instant to);
  // Sets a pending lot's vesting instant and the member's next_due_at.
  Status schedule_lot_vesting(ProgramId program, const VestingSchedule& schedule);

  // apply_plan stamps a posting whose config_version is 0 with the version this
  // returns for its program (the engine's active configuration); unset = no stamp.
  using ConfigVersionSource = std::function<Result<int>(ProgramId)>;
  void set_config_version_source(ConfigVersionSource source) {
    config_version_source_ = std::move(source);
  }

  // Program configuration versions. insert_config fails with kConflict when the
  // version exists. list_configs: newest first, versions below `before` (0 =
  // from the newest), without document and canonical_json.
  Status insert_config(const StoredConfig& config);
  Result<std::optional<StoredConfig>> find_config(ProgramId program, int version);
  Result<std::optional<StoredConfig>> latest_config(ProgramId program);
  Result<std::vector<StoredConfig>> list_configs(ProgramId program, int before, int limit);

  // Checkout holds (store/holds_store.cpp, migration 15, docs/checkout.md).
  // insert_hold writes the hold and its lots; update_hold its status,
  // captured/refunded points, settle posting and settled_at, and its lots'
  // captured/refunded points. holds_of_order: the program's holds of one shop
  // order, oldest first. list_member_holds: newest first, id < before (0 =
  // from the newest). expired_open_holds: open holds of any program with
  // expires_at <= now, soonest first (the holds job).
  Result<HoldId> insert_hold(const Hold& hold);
  Result<std::optional<Hold>> find_hold(ProgramId program, HoldId id);
  Status update_hold(const Hold& hold);
  Result<std::vector<Hold>> holds_of_order(ProgramId program, std::string_view order_external_id);
  Result<std::vector<Hold>> list_member_holds(ProgramId program, MemberId member, HoldId before,
                                              int limit);
  Result<std::vector<std::pair<ProgramId, HoldId>>> expired_open_holds(Instant now, int limit);

  // Referrals (store/referrals_store.cpp, migration 17, docs/referrals.md).
  // insert_referral_code: kConflict when the code is taken (the caller draws
  // another). insert_referral: kConflict when the referee already has one (one
  // referral per referee, whatever its state). add_referral_usage adds to a
  // usage row (scope 0 = the program, else a referrer's member id) only if the
  // points stay within cap_points (0 = no cap): false, and nothing written,
  // when they would not; a single conditional UPDATE, so two nodes never pass
  // the cap together. update_referral writes only over the version it read
  // (and bumps it): kConflict when another writer changed the referral
  // meanwhile. insert_referral_invitation: false when the member invited that
  // email already (nothing written).
  Status insert_referral_code(ProgramId program, const ReferralCode& code);
  Result<std::optional<ReferralCode>> find_referral_code(ProgramId program, std::string_view code);
  Result<std::optional<ReferralCode>> member_referral_code(ProgramId program, MemberId member);
  Result<bool> insert_referral_invitation(ProgramId program, const ReferralInvitation& invitation);
  Result<std::vector<ReferralInvitation>> list_referral_invitations(ProgramId program,
                                                                    MemberId member, int limit);
  Result<ReferralId> insert_referral(const Referral& referral);
  Status update_referral(const Referral& referral);
  Result<std::optional<Referral>> find_referral(ProgramId program, ReferralId id);
  Result<std::optional<Referral>> find_referral_of_referee(ProgramId program, MemberId referee);
  // The member's referrals as referrer, newest first, at most `limit`.
  Result<std::vector<Referral>> list_referrals_of_referrer(ProgramId program, MemberId referrer,
                                                           int limit);
  // Referrals by id (after the cursor), optionally in one state, at most `limit`.
  Result<std::vector<Referral>> list_referrals(ProgramId program,
                                               std::optional<ReferralStatus> status,
                                               ReferralId after, int limit);
  // Pending referrals whose due_at is at or before `now`, earliest first.
  Result<std::vector<Referral>> due_referrals(ProgramId program, Instant now, int limit);
  // The earliest invitation of this (normalised) email in the program.
  Result<std::optional<ReferralInvitation>> first_referral_invitation_of(ProgramId program,
                                                                         std::string_view email);
  Result<int64_t> count_code_referrals_since(ProgramId program, std::string_view code,
                                             Instant since);
  Status save_referral_signals(ProgramId program, MemberId member,
                               const ReferralMemberSignals& signals, Instant now);
  Result<std::optional<ReferralMemberSignals>> find_referral_signals(ProgramId program,
                                                                     MemberId member);
  struct ReferralUsageRow {
    int64_t rewards = 0;
    int64_t points = 0;
  };
  Result<ReferralUsageRow> referral_usage(ProgramId program, int64_t scope_id,
                                          std::string_view period);
  Result<bool> add_referral_usage(ProgramId program, int64_t scope_id, std::string_view period,
                                  int64_t rewards, int64_t points, int64_t cap_points);
  Result<ReferralStats> referral_stats(ProgramId program);

  // Idempotency keys.
  Result<std::optional<IdempotencyRecord>> find_idempotency(ProgramId program,
                                                            std::string_view key);
  // false when the key exists already (another request stored it first).
  Result<bool> insert_idempotency(ProgramId program, std::string_view key,
                                  const IdempotencyRecord& record, Instant at);

 private:
  Status read_postings_entries(ProgramId program, std::vector<Posting>& postings);
  std::unique_ptr<SqlConnection> connection_;
  Result<bool> apply_plan_checked(LedgerPlan& plan, std::optional<int64_t> expected_version);
  Result<bool> write_balance(int64_t program, MemberId member, const Balance& b,
                             std::optional<int64_t> expected_version);
  ConfigVersionSource config_version_source_;
  struct LedgerStatements;
  std::unique_ptr<const LedgerStatements> ledger_sql_;
};

// Opens and returns a session on url (see open_connection).
Result<std::unique_ptr<StoreSession>> open_session(std::string_view url);

}  // namespace loyalty::store
