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

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "common/time.h"
#include "domain/ledger.h"
#include "domain/member.h"
#include "domain/program.h"
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

struct DueMember {
  ProgramId program_id;
  MemberId member_id;
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
  Result<std::vector<Member>> list_members(const MemberQuery& query);
  // Locks the members' rows until commit (PostgreSQL: SELECT ... FOR UPDATE in
  // ascending id order; SQLite: no-op, the write transaction is exclusive).
  Status lock_members(ProgramId program, const std::vector<MemberId>& ascending_ids);

  // Ledger.
  Result<Balance> get_balance(ProgramId program, MemberId member);  // zeros if none
  Result<std::vector<Lot>> open_lots(ProgramId program, MemberId member);
  Result<std::vector<Lot>> lots_by_ids(ProgramId program, const std::vector<LotId>& ids);
  // Lots of a member, newest first, with id < before (0 = from the newest).
  Result<std::vector<Lot>> list_lots(ProgramId program, MemberId member, bool open_only,
                                     LotId before, int limit);
  // Writes the posting, its entries, new lots, lot changes and balances. Assigns
  // ids: plan.posting.id, entry lot refs to new lots become existing ids.
  Status apply_plan(LedgerPlan& plan);
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

  // Idempotency keys.
  Result<std::optional<IdempotencyRecord>> find_idempotency(ProgramId program,
                                                            std::string_view key);
  // false when the key exists already (another request stored it first).
  Result<bool> insert_idempotency(ProgramId program, std::string_view key,
                                  const IdempotencyRecord& record, Instant at);

 private:
  Status read_postings_entries(ProgramId program, std::vector<Posting>& postings);
  std::unique_ptr<SqlConnection> connection_;
};

// Opens and returns a session on url (see open_connection).
Result<std::unique_ptr<StoreSession>> open_session(std::string_view url);

}  // namespace loyalty::store
