// The engine: the one way anything is written.
//
// Commands from HTTP handlers, the CLI and jobs are queued and executed by one
// writer thread in batches: each batch is one store transaction, committed
// before any of its commands is acknowledged (group commit), so an acknowledged
// write is durable. Each command runs inside its own savepoint: a command that
// fails rolls back alone and its neighbours still commit.
//
// Natural batching: while a batch commits, new commands queue up and form the
// next batch; an idle engine commits a lone command at once. A batch holds at
// most options.max_batch_commands commands; the queue at most
// options.max_queue_commands (beyond that submit() answers kUnavailable).
//
// Idempotency: a command with an Idempotency-Key first looks the key up; a hit
// with the same fingerprint returns the stored response (Outcome::replay), a
// hit with another fingerprint fails with kIdempotencyMismatch. A successful
// command stores its rendered response under the key in the same transaction.
// Failed commands store nothing, so a client may retry them with the same key.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "common/time.h"
#include "domain/earning.h"
#include "domain/ledger.h"
#include "domain/member.h"
#include "domain/program.h"
#include "domain/program_config.h"
#include "engine/checkout_commands.h"
#include "engine/earning_commands.h"
#include "engine/gift_card_commands.h"
#include "engine/gift_commands.h"
#include "engine/paid_membership_commands.h"
#include "engine/referral_commands.h"
#include "engine/reward_commands.h"
#include "engine/tier_commands.h"
#include "store/store.h"
#include "store/wal_checkpointer.h"

namespace loyalty::engine {

// ---- Commands ----

struct CreateProgram {
  Program program;  // id and timestamps are assigned
  std::string key_name = "default";
};

// Fields left empty are not changed.
struct ProgramPatch {
  std::optional<std::string> name;
  std::optional<std::string> timezone;
  std::optional<std::string> points_name;
  std::optional<int64_t> point_value_minor;
  std::optional<int64_t> point_value_points;
  std::optional<NegativeBalancePolicy> negative_balance;
  std::optional<bool> transfers_enabled;
  std::optional<int64_t> transfer_min_points;
  std::optional<int64_t> transfer_max_points;
  std::optional<int64_t> transfer_daily_limit_points;
};
struct UpdateProgram {
  ProgramId program_id;
  ProgramPatch patch;
};

// The scopes an API key may hold. "*" grants all of them.
inline constexpr const char* kAllScopes[] = {
    "program:read", "program:write", "keys:write",  "members:read", "members:write",
    "ledger:read",  "ledger:write",  "orders:read", "orders:write",
};
bool is_known_scope(std::string_view scope);

struct CreateApiKey {
  ProgramId program_id;
  std::string name;
  std::vector<std::string> scopes;
};
struct RevokeApiKey {
  ProgramId program_id;
  ApiKeyId key_id;
};

struct EnrollMember {
  Member member;  // program_id set; id, status and timestamps are assigned
  // A referral code and the shop's hashes (docs/referrals.md); may be empty.
  ReferralAttach referral;
  // The claim token of a gift to the new member (docs/gifting.md); may be empty.
  std::string gift_token;
};

struct MemberPatch {
  std::optional<std::string> email;
  std::optional<std::string> first_name;
  std::optional<std::string> last_name;
  std::optional<std::optional<LocalDate>> birthday;  // nullopt inside = clear it
  std::optional<std::string> attributes_json;        // replaces the whole object
  std::optional<MarketingConsent> consent;           // channels given are replaced
};
struct UpdateMember {
  ProgramId program_id;
  MemberId member_id;
  MemberPatch patch;
};
struct SetMemberStatus {
  ProgramId program_id;
  MemberId member_id;
  MemberStatus status = MemberStatus::kActive;
};

struct Credit {
  ProgramId program_id;
  MemberId member_id;
  CreditRequest request;
};
struct Debit {
  ProgramId program_id;
  MemberId member_id;
  DebitRequest request;
};
struct Adjust {
  ProgramId program_id;
  MemberId member_id;
  AdjustmentRequest request;
};
struct Transfer {
  ProgramId program_id;
  MemberId from_member_id;
  MemberId to_member_id;
  TransferRequest request;
};
struct Reverse {
  ProgramId program_id;
  PostingId posting_id;
  std::string reason;
  std::string actor;
};
// Vests and expires the due lots of these members (the scheduler's work item).
// With claim_due > 0 it also claims up to that many due members itself
// (StoreSession::claim_due_members: SKIP LOCKED on PostgreSQL). Emits
// points.vested / points.expired outbox events.
//
// `prepared` are expiries the scheduler planned on its own thread from a
// reader's snapshot (jobs/scheduler.cpp): each is written only if the member's
// balance version is still the one it was planned from
// (StoreSession::apply_plan_if_version), stamped with the batch's time;
// otherwise the member is caught up here from what the transaction reads.
struct PreparedExpiry {
  ProgramId program_id;
  MemberId member_id;
  int64_t version = 0;
  // plan_expiry's plan, its balance's next_due_at already the member's next
  // due instant after it (earliest_due).
  LedgerPlan plan;
};
struct CatchUp {
  std::vector<store::DueMember> members;
  int claim_due = 0;
  std::vector<PreparedExpiry> prepared;
};
// One step of a per-program scheduled job (src/jobs, docs/jobs.md): at most
// max_items items, in one transaction, under the job's state row lock.
enum class ProgramJob {
  kBirthdays,
  kAnniversaries,
  kExpiryWarnings,
  kTiers,
  kPaidMemberships,
  kReferrals,
  kGifts
};
const char* to_string(ProgramJob job);
struct RunProgramJob {
  ProgramId program_id;
  ProgramJob job = ProgramJob::kBirthdays;
  int max_items = 200;
  int catch_up_days = 7;  // occasions: days a late job still awards
  std::string node;       // recorded as job_state.last_run_by
};

// Validates a configuration document (domain/config_document.h) and stores it
// as the program's next version, which becomes the active one. An invalid
// document fails with kInvalidConfig (invalid_config_status) and changes nothing.
struct PutConfig {
  ProgramId program_id;
  std::string document;
  ConfigFormat format = ConfigFormat::kYaml;
  std::string actor;
};

// ---- Orders (engine/order_commands.cpp, docs/orders.md) ----

// Who an order belongs to: a member (by id or external id), or a guest shop
// customer (external id and/or email) whose order a member may claim later.
struct OrderCustomer {
  MemberId member_id;
  std::string member_external_id;
  std::string customer_external_id;
  std::string customer_email;
};
// POST /v1/orders. The order's totals are computed (validate_new_order). A
// `paid` status (with paid_at, default placed_at) earns at once. An order with
// the same external id and the same request is a replay; with another request
// kConflict.
struct CreateOrder {
  ProgramId program_id;
  Order order;  // id, program_id, totals, status and timestamps are assigned
  OrderCustomer customer;
  OrderStatus status = OrderStatus::kPlaced;  // placed or paid
  std::optional<Instant> paid_at;
  std::string event_id;  // the platform's event id of the creation, optional
  // A referral code for the order's member and the shop's hashes
  // (docs/referrals.md); may be empty.
  ReferralAttach referral;
};
struct UpdateOrderStatus {
  ProgramId program_id;
  OrderId order_id;
  StatusChange change;
};
struct RefundOrder {
  ProgramId program_id;
  OrderId order_id;
  RefundChange change;
};
// Attaches the member's guest orders (same customer external id or email,
// placed within EarningPolicy::guest_order_claim_days before enrollment) and
// credits their points. EnrollMember runs it too.
struct ClaimGuestOrders {
  ProgramId program_id;
  MemberId member_id;
};

// ---- Bulk import of an order history (engine/import_commands.cpp, docs/import.md) ----

// One order of an imported file, with what happened to it later, each change at
// its own historical instant.
struct ImportRecord {
  int64_t line = 0;  // where it starts in the file, for messages
  // The order as POST /v1/orders would create it (status placed or paid); its
  // customer is set by the executor from member / customer_external_id.
  CreateOrder create;
  MemberId member;                     // a known member; else customer_external_id decides
  std::string customer_external_id;    // the shop's customer id
  std::string customer_email;          // for a member the import enrolls
  Instant created_at;                  // the instant of `create`: paid_at, else placed_at
  std::vector<StatusChange> changes;   // later statuses, each with occurred_at, in time order
  std::optional<RefundChange> refund;  // with occurred_at
};
// Imports orders, all or nothing: the records' steps (creation, later
// statuses, refund) run in time order, each at its instant. An order whose
// external id the program has already is skipped (a duplicate). A customer who
// is no member gets a guest order, or with create_members is enrolled at the
// order's placed_at. The first failing record fails the whole command with its
// status, the message starting with the record's line: "LINE: what".
struct ImportOrders {
  ProgramId program_id;
  std::vector<ImportRecord> records;
  bool create_members = false;
};

using CommandBody =
    std::variant<CreateProgram, UpdateProgram, CreateApiKey, RevokeApiKey, EnrollMember,
                 UpdateMember, SetMemberStatus, Credit, Debit, Adjust, Transfer, Reverse, CatchUp,
                 RunProgramJob, PutConfig, CreateOrder, UpdateOrderStatus, RefundOrder,
                 ClaimGuestOrders, RecordEvent, ImportOrders, SetMemberTier, HoldPoints,
                 CaptureHold, ReleaseHold, ReleaseExpiredHolds, Redeem, CancelRedemption,
                 ConsumeCoupon, RecordPaidPayment, CancelPaidMembership, EnsureReferralCode,
                 InviteReferral, ReviewReferral, AttachReferral, IssueGiftCard, ImportPhysicalCards,
                 ActivateGiftCard, CheckGiftCard, HoldGiftCard, CaptureGiftCardHold,
                 ReleaseGiftCardHold, SendGift, ClaimGift, CancelGift, SetGiftCardStatus>;

// ---- Outcomes ----

struct StoredResponse {
  int status_code = 0;
  std::string body;
};

struct ApiKeyCreated {
  store::ApiKey key;
  std::string secret;  // shown once, never stored
};
struct ProgramCreated {
  Program program;
  ApiKeyCreated key;
};
struct CatchUpResult {
  int postings = 0;  // vesting and expiry postings written
  int members = 0;   // members caught up (claimed, given or prepared)
  int stale = 0;     // prepared expiries not written: the member had moved on
};
struct JobStepResult {
  int items = 0;          // awards or warnings written
  bool complete = false;  // nothing left to do now
  bool skipped = false;   // another node holds the job (PostgreSQL)
};

// An order after a command, with what its view needs.
struct OrderResult {
  Order order;
  std::vector<OrderEvent> timeline;
  std::optional<Lot> earn_lot;  // the lot of its points (pending or vested), if any
  bool replayed = false;        // the request or platform event was seen before
};
struct ClaimResult {
  std::vector<OrderResult> orders;  // the orders claimed
  int64_t points = 0;               // credited for them
};

struct ImportResult {
  int64_t imported = 0;    // orders written
  int64_t duplicates = 0;  // orders whose external id was there already
  int64_t points_earned = 0;
  std::vector<std::pair<std::string, MemberId>> members_created;  // external id, id
};

using OutcomeValue =
    std::variant<std::monostate, Program, ProgramCreated, store::ApiKey, ApiKeyCreated, Member,
                 Posting, CatchUpResult, JobStepResult, store::StoredConfig, OrderResult,
                 ClaimResult, EventRecorded, ImportResult, MemberTierView, HoldResult,
                 ReleaseExpiredResult, RedemptionResult, CouponUse, PaidMembershipView,
                 ReferralCodeView, InvitationResult, Referral, GiftCardIssued, GiftCardsImported,
                 GiftCardView, GiftCardHoldResult, GiftResult>;

struct Outcome {
  static Outcome failed(Status status) {
    Outcome o;
    o.status = std::move(status);
    return o;
  }

  Status status;
  OutcomeValue value;
  // Set when an Idempotency-Key matched a stored response: send it as is.
  std::optional<StoredResponse> replay;
  // A failure whose writes commit anyway (its savepoint is released, not
  // rolled back): a failed gift card code/PIN check keeps its attempt counter
  // (engine/gift_card_commands.h). Nothing is stored under an idempotency key.
  bool commit_on_failure = false;
};

struct Idempotency {
  std::string key;
  std::string fingerprint;  // e.g. SHA-256 of method, path and body
};

struct Command {
  CommandBody body;
  std::optional<Idempotency> idempotency;
  // Renders a successful outcome as the response stored under the idempotency
  // key. Required when `idempotency` is set; runs on the writer thread.
  std::function<StoredResponse(const Outcome&)> render;
};

using Completion = std::function<void(Outcome)>;

// A stored configuration version parsed back (its canonical JSON) for the
// program; kInternal when it no longer parses.
Result<ProgramConfig> parse_stored_config(const Program& program,
                                          const store::StoredConfig& stored);

// Programs by id, as the writer reads them. On SQLite every program change goes
// through this engine, so entries never go stale; on PostgreSQL another node may
// change a program, so an entry is used for at most `ttl`. Writer thread only.
//
// Next to each program it keeps the program's active configuration (its latest
// stored version, parsed once per version): get_config. A program without a
// stored configuration has the default ProgramConfig (version 0).
class ProgramCache {
 public:
  explicit ProgramCache(std::chrono::milliseconds ttl) : ttl_(ttl) {}
  Result<Program> get(store::StoreSession& session, ProgramId id);
  Result<std::shared_ptr<const ProgramConfig>> get_config(store::StoreSession& session,
                                                          ProgramId id);
  // The active configuration's earn rules, compiled (compile_config) once per
  // version, and again when the program's currency or time zone changes.
  Result<std::shared_ptr<const CompiledConfig>> get_compiled(store::StoreSession& session,
                                                             const Program& program);
  // After PutConfig stored a new version (in the writer's open transaction).
  void set_config(ProgramId id, std::shared_ptr<const ProgramConfig> config);
  void invalidate(ProgramId id) {
    entries_.erase(id.value);
    configs_.erase(id.value);
    compiled_.erase(id.value);
  }
  // After a rolled-back batch: entries may hold values that never committed.
  void clear() {
    entries_.clear();
    configs_.clear();
    compiled_.clear();
  }

 private:
  struct Entry {
    Program program;
    std::chrono::steady_clock::time_point loaded_at;
  };
  struct ConfigEntry {
    std::shared_ptr<const ProgramConfig> config;
    std::chrono::steady_clock::time_point loaded_at;
  };
  std::chrono::milliseconds ttl_;
  std::map<int64_t, Entry> entries_;
  std::map<int64_t, ConfigEntry> configs_;
  struct CompiledEntry {
    std::shared_ptr<const ProgramConfig> source;
    std::string currency;
    std::string timezone;
    std::shared_ptr<const CompiledConfig> compiled;
  };
  std::map<int64_t, CompiledEntry> compiled_;
};

struct EngineOptions {
  size_t max_batch_commands = 512;
  size_t max_queue_commands = 100'000;
  // Transactions rerun on a serialization failure or deadlock (PostgreSQL).
  int max_batch_retries = 8;
};

struct EngineStats {
  uint64_t commands = 0;
  uint64_t batches = 0;
  uint64_t failed_commands = 0;
  uint64_t batch_retries = 0;
  size_t queue_depth = 0;
};

class Engine {
 public:
  // Opens the writer's own session on db_url, applies migrations, starts the
  // writer thread.
  static Result<std::unique_ptr<Engine>> start(std::string_view db_url, const Clock& clock,
                                               EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues a command; `done` runs on the writer thread after the batch holding
  // it committed (or failed). Thread-safe. After stop() or with a full queue,
  // `done` runs at once with kUnavailable.
  void submit(Command command, Completion done);
  // Submits and waits.
  Outcome execute(Command command);
  // Stops accepting commands, executes and commits everything queued, joins.
  void stop();

  EngineStats stats() const;
  // Observed batch sizes (for /metrics): callback per committed batch.
  void set_batch_observer(std::function<void(size_t commands, int64_t commit_us)> observer);

 private:
  struct Pending {
    Command command;
    Completion done;
  };
  Engine(std::unique_ptr<store::StoreSession> session, const Clock& clock, EngineOptions options);
  void run();
  void execute_batch(std::vector<Pending>& batch);
  // with_savepoint = false is the SQLite fast path: see execute_batch.
  Outcome execute_one(const Command& command, Instant now, bool with_savepoint,
                      bool* wrote_then_failed);
  Outcome execute_body(const CommandBody& body, Instant now);
  // SQLite, inside the batch's transaction: drops every cached program when
  // another connection committed since the last batch.
  Status forget_what_others_wrote();

  std::unique_ptr<store::StoreSession> session_;
  ProgramCache programs_;
  const Clock& clock_;
  EngineOptions options_;
  std::function<void(size_t, int64_t)> batch_observer_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::thread writer_;
  std::unique_ptr<store::WalCheckpointer> checkpointer_;  // SQLite only
  int64_t data_version_ = -1;                             // SQLite only: PRAGMA data_version

  std::atomic<uint64_t> commands_{0};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> retries_{0};
};

// Creates an API key secret ("lk_" + 40 base58 characters) and its record.
ApiKeyCreated make_api_key(ProgramId program, std::string name, std::vector<std::string> scopes,
                           Instant now);

}  // namespace loyalty::engine
