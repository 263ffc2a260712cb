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
#include "domain/ledger.h"
#include "domain/member.h"
#include "domain/program.h"
#include "store/store.h"

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
    "program:read",  "program:write", "keys:write",   "members:read",
    "members:write", "ledger:read",   "ledger:write",
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
struct CatchUp {
  std::vector<store::DueMember> members;
};

using CommandBody =
    std::variant<CreateProgram, UpdateProgram, CreateApiKey, RevokeApiKey, EnrollMember,
                 UpdateMember, SetMemberStatus, Credit, Debit, Adjust, Transfer, Reverse, CatchUp>;

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
  int postings = 0;
};

using OutcomeValue = std::variant<std::monostate, Program, ProgramCreated, store::ApiKey,
                                  ApiKeyCreated, Member, Posting, CatchUpResult>;

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

// Programs by id, as the writer reads them. On SQLite every program change goes
// through this engine, so entries never go stale; on PostgreSQL another node may
// change a program, so an entry is used for at most `ttl`. Writer thread only.
class ProgramCache {
 public:
  explicit ProgramCache(std::chrono::milliseconds ttl) : ttl_(ttl) {}
  Result<Program> get(store::StoreSession& session, ProgramId id);
  void invalidate(ProgramId id) { entries_.erase(id.value); }
  // After a rolled-back batch: entries may hold values that never committed.
  void clear() { entries_.clear(); }

 private:
  struct Entry {
    Program program;
    std::chrono::steady_clock::time_point loaded_at;
  };
  std::chrono::milliseconds ttl_;
  std::map<int64_t, Entry> entries_;
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

  // SQLite: checkpoints the WAL from its own connection, so that commits on the
  // writer never pay for copying pages into the database file.
  void run_checkpointer(std::unique_ptr<store::StoreSession> session);

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
  std::thread checkpointer_;
  std::condition_variable checkpoint_cv_;  // not cv_: submit's notify_one must reach the writer

  std::atomic<uint64_t> commands_{0};
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> retries_{0};
};

// Creates an API key secret ("lk_" + 40 base58 characters) and its record.
ApiKeyCreated make_api_key(ProgramId program, std::string name, std::vector<std::string> scopes,
                           Instant now);

}  // namespace loyalty::engine
