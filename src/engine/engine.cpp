#include "engine/engine.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <random>
#include <set>

#include "common/assert.h"
#include "common/crypto.h"

namespace loyalty::engine {
namespace {

// The members a command will write, for PostgreSQL row locks taken in key
// order at the start of a batch (reversals lock theirs when they learn them).
void collect_members(const CommandBody& body, std::set<std::pair<int64_t, int64_t>>& out) {
  std::visit(
      [&](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, Credit> || std::is_same_v<T, Debit> ||
                      std::is_same_v<T, Adjust> || std::is_same_v<T, UpdateMember> ||
                      std::is_same_v<T, SetMemberStatus> || std::is_same_v<T, SetMemberTier> ||
                      std::is_same_v<T, HoldPoints> || std::is_same_v<T, Redeem> ||
                      std::is_same_v<T, CancelRedemption> || std::is_same_v<T, RecordPaidPayment> ||
                      std::is_same_v<T, CancelPaidMembership>) {
          out.emplace(c.program_id.value, c.member_id.value);
        } else if constexpr (std::is_same_v<T, Transfer>) {
          out.emplace(c.program_id.value, c.from_member_id.value);
          out.emplace(c.program_id.value, c.to_member_id.value);
        } else if constexpr (std::is_same_v<T, CatchUp>) {
          for (const auto& m : c.members) out.emplace(m.program_id.value, m.member_id.value);
          for (const auto& m : c.prepared) out.emplace(m.program_id.value, m.member_id.value);
        }
      },
      body);
}

}  // namespace

Result<ProgramConfig> parse_stored_config(const Program& program,
                                          const store::StoredConfig& stored) {
  // The stored canonical JSON was valid when stored; it names instants in
  // UTC and amounts in the program's currency, which never changes.
  ConfigContext ctx{program.currency, currency_exponent(program.currency).value_or(2),
                    program.timezone};
  ConfigParseResult parsed = parse_config_document(stored.canonical_json, ctx);
  if (!parsed.ok()) {
    return Status(ErrorCode::kInternal,
                  "stored configuration version " + std::to_string(stored.version) + " of " +
                      format_id(program.id) + " no longer parses: " +
                      format_config_error(parsed.errors.front(), "canonical_json"));
  }
  parsed.config->version = stored.version;
  return std::move(*parsed.config);
}

bool is_known_scope(std::string_view scope) {
  if (scope == "*") return true;
  for (const char* s : kAllScopes) {
    if (scope == s) return true;
  }
  return false;
}

ApiKeyCreated make_api_key(ProgramId program, std::string name, std::vector<std::string> scopes,
                           Instant now) {
  ApiKeyCreated out;
  out.secret = "lk_" + random_base58(40);
  out.key.program_id = program;
  out.key.name = std::move(name);
  out.key.prefix = out.secret.substr(0, 10);
  out.key.key_hash = sha256_hex(out.secret);
  out.key.scopes = std::move(scopes);
  out.key.created_at = now;
  return out;
}

Result<Program> ProgramCache::get(store::StoreSession& session, ProgramId id) {
  auto now = std::chrono::steady_clock::now();
  auto it = entries_.find(id.value);
  if (it != entries_.end() && now - it->second.loaded_at < ttl_) return it->second.program;
  LOYALTY_ASSIGN_OR_RETURN(auto found, session.find_program(id));
  if (!found) return Status(ErrorCode::kNotFound, "program " + format_id(id) + " not found");
  entries_[id.value] = Entry{*found, now};
  return *found;
}

Result<std::shared_ptr<const ProgramConfig>> ProgramCache::get_config(store::StoreSession& session,
                                                                      ProgramId id) {
  auto now = std::chrono::steady_clock::now();
  auto it = configs_.find(id.value);
  if (it != configs_.end() && now - it->second.loaded_at < ttl_) return it->second.config;
  LOYALTY_ASSIGN_OR_RETURN(Program program, get(session, id));
  // The newest version's number first (no document text): most checks find
  // the cached version still current.
  LOYALTY_ASSIGN_OR_RETURN(auto newest, session.list_configs(id, 0, 1));
  const int version = newest.empty() ? 0 : newest.front().version;
  std::shared_ptr<const ProgramConfig> config;
  if (it != configs_.end() && it->second.config->version == version) {
    config = it->second.config;  // unchanged: no need to parse again
  } else if (version == 0) {
    config = std::make_shared<const ProgramConfig>();
  } else {
    LOYALTY_ASSIGN_OR_RETURN(auto stored, session.find_config(id, version));
    if (!stored) {
      return Status(ErrorCode::kInternal, "configuration version " + std::to_string(version) +
                                              " of " + format_id(id) + " vanished");
    }
    LOYALTY_ASSIGN_OR_RETURN(ProgramConfig parsed, parse_stored_config(program, *stored));
    config = std::make_shared<const ProgramConfig>(std::move(parsed));
  }
  configs_[id.value] = ConfigEntry{config, now};
  return config;
}

Result<std::shared_ptr<const CompiledConfig>> ProgramCache::get_compiled(
    store::StoreSession& session, const Program& program) {
  LOYALTY_ASSIGN_OR_RETURN(auto config, get_config(session, program.id));
  auto it = compiled_.find(program.id.value);
  if (it != compiled_.end() && it->second.source == config &&
      it->second.currency == program.currency && it->second.timezone == program.timezone) {
    return it->second.compiled;
  }
  const std::optional<int> exponent = currency_exponent(program.currency);
  if (!exponent) {
    return Status(ErrorCode::kInternal, "program currency " + program.currency + " is unknown");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto compiled, compile_config(*config, *exponent, program.timezone));
  compiled_[program.id.value] = CompiledEntry{config, program.currency, program.timezone, compiled};
  return compiled;
}

void ProgramCache::set_config(ProgramId id, std::shared_ptr<const ProgramConfig> config) {
  LOYALTY_ASSERT(config != nullptr && config->version > 0);
  configs_[id.value] = ConfigEntry{std::move(config), std::chrono::steady_clock::now()};
}

// ---- Lifecycle ----

Result<std::unique_ptr<Engine>> Engine::start(std::string_view db_url, const Clock& clock,
                                              EngineOptions options) {
  LOYALTY_ASSIGN_OR_RETURN(auto session, store::open_session(db_url));
  LOYALTY_RETURN_IF_ERROR(session->migrate());
  // SQLite: the WAL is copied into the database file by a thread of its own,
  // off the writer's commits (store/wal_checkpointer.h).
  LOYALTY_ASSIGN_OR_RETURN(auto checkpointer,
                           store::WalCheckpointer::start(db_url, session->connection()));
  std::unique_ptr<Engine> engine(new Engine(std::move(session), clock, options));
  engine->checkpointer_ = std::move(checkpointer);
  return engine;
}

Engine::Engine(std::unique_ptr<store::StoreSession> session, const Clock& clock,
               EngineOptions options)
    : session_(std::move(session)),
      programs_(session_->dialect() == store::Dialect::kSqlite ? std::chrono::hours(24 * 365)
                                                               : std::chrono::seconds(1)),
      clock_(clock),
      options_(options) {
  LOYALTY_ASSERT(options_.max_batch_commands > 0 && options_.max_queue_commands > 0);
  // Every posting the engine writes records the configuration version that
  // was active when it was made.
  session_->set_config_version_source([this](ProgramId program) -> Result<int> {
    LOYALTY_ASSIGN_OR_RETURN(auto config, programs_.get_config(*session_, program));
    return config->version;
  });
  writer_ = std::thread([this] { run(); });
}

Engine::~Engine() { stop(); }

void Engine::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  checkpointer_.reset();
}

void Engine::submit(Command command, Completion done) {
  LOYALTY_ASSERT(!command.idempotency || command.render);
  {
    std::unique_lock lock(mu_);
    if (!stopping_ && queue_.size() < options_.max_queue_commands) {
      queue_.push_back(Pending{std::move(command), std::move(done)});
      lock.unlock();
      cv_.notify_one();
      return;
    }
  }
  done(Outcome::failed(Status(ErrorCode::kUnavailable, stopping_ ? "the server is shutting down"
                                                                 : "the write queue is full")));
}

Outcome Engine::execute(Command command) {
  std::promise<Outcome> promise;
  auto future = promise.get_future();
  submit(std::move(command), [&promise](Outcome o) { promise.set_value(std::move(o)); });
  return future.get();
}

EngineStats Engine::stats() const {
  EngineStats s;
  s.commands = commands_.load();
  s.batches = batches_.load();
  s.failed_commands = failed_.load();
  s.batch_retries = retries_.load();
  std::lock_guard lock(mu_);
  s.queue_depth = queue_.size();
  return s;
}

void Engine::set_batch_observer(std::function<void(size_t, int64_t)> observer) {
  std::lock_guard lock(mu_);
  batch_observer_ = std::move(observer);
}

void Engine::run() {
  std::vector<Pending> batch;
  while (true) {
    batch.clear();
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      while (!queue_.empty() && batch.size() < options_.max_batch_commands) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    execute_batch(batch);
  }
}

// ---- Batches ----

void Engine::execute_batch(std::vector<Pending>& batch) {
  std::vector<Outcome> outcomes(batch.size());
  std::mt19937 jitter(static_cast<unsigned>(batch.size()));
  auto started = std::chrono::steady_clock::now();
  // On SQLite a savepoint per command costs a copy of every page the command
  // touches (the statement journal), so commands run without one: they
  // validate before they write, and a command that fails after writing (rare:
  // a store error mid-way) makes the whole batch rerun with savepoints. On
  // PostgreSQL an error aborts the transaction, so savepoints are always used.
  bool with_savepoints = session_->dialect() == store::Dialect::kPostgres;
  for (int attempt = 0;; ++attempt) {
    Instant now = clock_.now();
    bool retry = false;
    bool rerun_with_savepoints = false;
    Status st = session_->begin_write();
    if (st.ok()) {
      std::set<std::pair<int64_t, int64_t>> members;
      for (const Pending& p : batch) collect_members(p.command.body, members);
      for (const auto& [program, member] : members) {
        st = session_->lock_members(ProgramId{program}, {MemberId{member}});
        if (!st.ok()) break;
      }
    }
    if (st.ok() && session_->dialect() == store::Dialect::kSqlite) {
      st = forget_what_others_wrote();
    }
    if (st.ok()) {
      for (size_t i = 0; i < batch.size(); ++i) {
        bool wrote_then_failed = false;
        outcomes[i] = execute_one(batch[i].command, now, with_savepoints, &wrote_then_failed);
        if (outcomes[i].status.code() == ErrorCode::kRetryable) {
          retry = true;
          break;
        }
        if (wrote_then_failed) {
          rerun_with_savepoints = true;
          break;
        }
      }
      if (!retry && !rerun_with_savepoints) st = session_->commit();
    }
    if (rerun_with_savepoints) {
      (void)session_->rollback();
      programs_.clear();
      with_savepoints = true;
      --attempt;  // not a contention retry
      continue;
    }
    if (retry || st.code() == ErrorCode::kRetryable) {
      (void)session_->rollback();
      programs_.clear();
      if (attempt < options_.max_batch_retries) {
        retries_.fetch_add(1);
        std::this_thread::sleep_for(std::chrono::microseconds(
            std::uniform_int_distribution<int>(100, 2000 << std::min(attempt, 4))(jitter)));
        continue;
      }
      st = Status(ErrorCode::kUnavailable, "the store stayed contended; retry the request");
    }
    if (!st.ok()) {
      (void)session_->rollback();
      programs_.clear();
      for (Outcome& o : outcomes) o = Outcome::failed(st);
    }
    break;
  }
  auto commit_us = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::steady_clock::now() - started)
                       .count();
  batches_.fetch_add(1);
  commands_.fetch_add(batch.size());
  std::function<void(size_t, int64_t)> observer;
  {
    std::lock_guard lock(mu_);
    observer = batch_observer_;
  }
  if (observer) observer(batch.size(), commit_us);
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!outcomes[i].status.ok()) failed_.fetch_add(1);
    // Released right after the call: what the completion owns (a connection)
    // should not linger in the engine until the next batch.
    Completion done = std::move(batch[i].done);
    done(std::move(outcomes[i]));
  }
}

Status Engine::forget_what_others_wrote() {
  // Inside BEGIN IMMEDIATE no other connection can commit, so the value read
  // here holds for the whole batch. Our own commits do not change it.
  int64_t version = 0;
  LOYALTY_RETURN_IF_ERROR(session_->connection().query(
      "PRAGMA data_version", {}, [&](const store::Row& r) { version = r.get_int(0); }));
  if (version != data_version_) {
    programs_.clear();
    data_version_ = version;
  }
  return {};
}

Outcome Engine::execute_one(const Command& command, Instant now, bool with_savepoint,
                            bool* wrote_then_failed) {
  const int64_t changes_before = session_->connection().total_changes();
  if (with_savepoint) {
    Status st = session_->savepoint();
    if (!st.ok()) return Outcome::failed(st);
  }
  auto abandon = [&](Outcome o) {
    if (!with_savepoint) {
      if (session_->connection().total_changes() != changes_before) *wrote_then_failed = true;
      return o;
    }
    Status rb = session_->rollback_to_savepoint();
    if (rb.ok()) rb = session_->release_savepoint();
    if (!rb.ok() && o.status.code() != ErrorCode::kRetryable) return Outcome::failed(rb);
    return o;
  };
  auto release = [&]() -> Status {
    return with_savepoint ? session_->release_savepoint() : Status();
  };
  auto replay_or_mismatch = [&](const store::IdempotencyRecord& rec) {
    if (rec.fingerprint != command.idempotency->fingerprint) {
      return Outcome::failed(Status(ErrorCode::kIdempotencyMismatch,
                                    "Idempotency-Key '" + command.idempotency->key +
                                        "' was already used with a different request"));
    }
    Outcome o;
    o.replay = StoredResponse{rec.status_code, rec.response_body};
    return o;
  };
  ProgramId program;
  std::visit(
      [&](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, CreateProgram> || std::is_same_v<T, CatchUp> ||
                      std::is_same_v<T, ReleaseExpiredHolds>) {
        } else if constexpr (std::is_same_v<T, EnrollMember>) {
          program = c.member.program_id;
        } else {
          program = c.program_id;
        }
      },
      command.body);
  if (command.idempotency) {
    auto found = session_->find_idempotency(program, command.idempotency->key);
    if (!found.ok()) return abandon(Outcome::failed(found.status()));
    if (found->has_value()) {
      Status rel = release();
      if (!rel.ok()) return Outcome::failed(rel);
      return replay_or_mismatch(**found);
    }
  }
  Outcome out = execute_body(command.body, now);
  if (!out.status.ok() && out.commit_on_failure) {
    Status st = release();
    if (!st.ok()) return Outcome::failed(st);
    return out;
  }
  if (!out.status.ok()) return abandon(std::move(out));
  if (command.idempotency) {
    StoredResponse response = command.render(out);
    store::IdempotencyRecord rec{command.idempotency->fingerprint, response.status_code,
                                 std::move(response.body)};
    auto inserted = session_->insert_idempotency(program, command.idempotency->key, rec, now);
    if (!inserted.ok()) return abandon(Outcome::failed(inserted.status()));
    if (!*inserted) {
      // Another node stored the key first (it waited for that node's commit):
      // undo ours and answer with theirs. Only possible on PostgreSQL.
      LOYALTY_ASSERT(with_savepoint);
      abandon(Outcome{});
      auto found = session_->find_idempotency(program, command.idempotency->key);
      if (!found.ok()) return Outcome::failed(found.status());
      LOYALTY_ASSERT(found->has_value());
      return replay_or_mismatch(**found);
    }
  }
  Status st = release();
  if (!st.ok()) return Outcome::failed(st);
  return out;
}

}  // namespace loyalty::engine
