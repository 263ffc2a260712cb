// Durability of the real server: kill -9 under a write load, and SIGTERM
// draining, on SQLite and on PostgreSQL.
//
// What "durable" means here, checked request by request (every request has a
// unique reason, so its postings can be found in the store):
//   - acknowledged (201): present exactly once, with the posting id the client
//     was given, and a replay of its Idempotency-Key returns that posting;
//   - answered otherwise (422, 503, ...): not applied;
//   - unanswered: applied at most once, and resending it with its key after
//     the restart applies it at most once in total;
//   - every balance equals the sum of the postings present (`loyaltyd verify`
//     and the balances the API reports against a model built from the
//     postings).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "system/harness.h"
#include "system/write_load.h"

namespace loyalty::system_test {
namespace {

constexpr int kClientThreads = 16;
constexpr int kMembers = 24;
// Writes acknowledged before the server is killed: enough that the crash lands
// in the middle of many batches.
constexpr size_t kAcknowledgedBeforeCrash = 600;
constexpr size_t kAcknowledgedBeforeTerm = 300;

std::vector<std::string> enroll_members(uint16_t port, const std::string& key, int count,
                                        const std::string& prefix) {
  ApiClient api(port, key);
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) ids.push_back(api.enroll(prefix + std::to_string(i)));
  return ids;
}

uint32_t test_seed() {
  std::random_device rd;
  uint32_t seed = rd() % 1'000'000;
  std::printf("seed=%u\n", seed);
  return seed;
}

struct Tally {
  size_t acknowledged = 0;
  size_t rejected = 0;
  size_t unanswered = 0;
};

Tally tally(const std::vector<WriteRecord>& records) {
  Tally t;
  for (const auto& r : records) {
    if (r.outcome == WriteOutcome::kAcknowledged) ++t.acknowledged;
    if (r.outcome == WriteOutcome::kRejected) ++t.rejected;
    if (r.outcome == WriteOutcome::kUnanswered) ++t.unanswered;
  }
  return t;
}

void expect_verify_passes(const TestStore& store, const std::string& when) {
  CliResult v = run_cli({"verify", "--db", store.url()});
  EXPECT_EQ(v.exit_code, 0) << "verify " << when << ":\n" << v.out << v.err;
}

// Checks the store against the records: acknowledged exactly once with their
// id, rejected never; returns the unanswered requests that were applied
// (reason -> posting id).
std::map<std::string, std::string> check_acknowledged_exactly_once(
    const TestStore& store, const std::string& program_id, const std::vector<WriteRecord>& records,
    bool unanswered_must_be_absent) {
  auto postings = postings_by_reason(store, program_id);
  std::map<std::string, std::string> applied_unanswered;
  size_t expected_postings = 0;
  for (const auto& r : records) {
    auto it = postings.find(r.reason);
    size_t present = it == postings.end() ? 0 : it->second.size();
    switch (r.outcome) {
      case WriteOutcome::kAcknowledged:
        ++expected_postings;
        EXPECT_EQ(present, 1u) << "acknowledged " << r.idempotency_key << " (" << r.posting_id
                               << ") is present " << present << " times";
        if (present == 1) {
          EXPECT_EQ(it->second[0].id, r.posting_id) << r.idempotency_key;
          EXPECT_EQ(it->second[0].member_id, r.member_id) << r.idempotency_key;
          EXPECT_EQ(it->second[0].kind, r.is_credit ? "credit" : "debit") << r.idempotency_key;
        }
        break;
      case WriteOutcome::kRejected:
        EXPECT_EQ(present, 0u) << "request " << r.idempotency_key << " was answered " << r.answer
                               << " but is applied";
        break;
      case WriteOutcome::kUnanswered:
        EXPECT_LE(present, 1u) << "unanswered " << r.idempotency_key << " applied " << present
                               << " times";
        if (unanswered_must_be_absent) {
          EXPECT_EQ(present, 0u) << "request " << r.idempotency_key
                                 << " got no answer but was applied: the drain dropped a response";
        }
        if (present == 1) {
          applied_unanswered[r.reason] = it->second[0].id;
          ++expected_postings;
        }
        break;
    }
  }
  size_t total = 0;
  for (const auto& [reason, rows] : postings) total += rows.size();
  EXPECT_EQ(total, expected_postings) << "postings the load did not ask for";
  return applied_unanswered;
}

// Resends requests with their original Idempotency-Key from several threads;
// returns the responses in the order of `to_send`.
std::vector<std::optional<HttpResponse>> resend(uint16_t port, const std::string& key,
                                                const std::vector<const WriteRecord*>& to_send) {
  constexpr int kThreads = 8;
  std::vector<std::optional<HttpResponse>> responses(to_send.size());
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ApiClient api(port, key);
      for (size_t i = static_cast<size_t>(t); i < to_send.size(); i += kThreads) {
        const WriteRecord& r = *to_send[i];
        responses[i] = r.is_credit ? api.credit(r.member_id, r.points, r.reason, r.idempotency_key)
                                   : api.debit(r.member_id, r.points, r.reason, r.idempotency_key);
      }
    });
  }
  for (auto& t : threads) t.join();
  return responses;
}

// A store with a program and kMembers members, served by loyaltyd.
struct LoadedServer {
  std::unique_ptr<TestStore> store;
  uint32_t seed = 0;
  ProgramKey program;
  std::unique_ptr<ServerProcess> server;
  std::vector<std::string> members;
};

// Empty store when the kind is unavailable (the reason is in *skip).
LoadedServer start_loaded_server(StoreKind kind, const std::string& member_prefix,
                                 std::string* skip) {
  LoadedServer s;
  s.store = TestStore::create(kind, skip);
  if (!s.store) return s;
  s.seed = test_seed();
  s.program = create_program(*s.store);
  s.server = ServerProcess::start(*s.store);
  s.members = enroll_members(s.server->port(), s.program.api_key, kMembers, member_prefix);
  return s;
}

void run_crash_test(StoreKind kind) {
  std::string skip;
  LoadedServer loaded = start_loaded_server(kind, "crash-", &skip);
  if (!loaded.store) GTEST_SKIP() << skip;
  auto& store = loaded.store;
  uint32_t seed = loaded.seed;
  ProgramKey program = loaded.program;
  auto& server = loaded.server;
  auto& members = loaded.members;

  WriteLoad load(server->port(), program.api_key, members, kClientThreads, seed);
  load.start();
  bool reached = load.wait_acknowledged(kAcknowledgedBeforeCrash, std::chrono::seconds(60));
  server->kill_hard();
  load.join();
  ASSERT_TRUE(reached) << "only " << load.acknowledged() << " writes acknowledged; server log:\n"
                       << server->log();
  auto records = load.records();
  Tally t = tally(records);
  std::printf("before the crash: %zu acknowledged, %zu rejected, %zu unanswered\n", t.acknowledged,
              t.rejected, t.unanswered);
  EXPECT_GE(t.unanswered, 1u) << "the kill did not land while requests were in flight";

  // 1. The store exactly as the crash left it (SQLite: recovered from the WAL).
  expect_verify_passes(*store, "right after kill -9");
  auto applied_unanswered = check_acknowledged_exactly_once(*store, program.program_id, records,
                                                            /*unanswered_must_be_absent=*/false);
  std::printf("unanswered requests found applied: %zu\n", applied_unanswered.size());

  // 2. Restart on the same store; replay every acknowledged request and resend
  // every unanswered one, each with its own key.
  server = ServerProcess::start(*store);
  std::vector<const WriteRecord*> to_send;
  for (const auto& r : records) {
    if (r.outcome != WriteOutcome::kRejected) to_send.push_back(&r);
  }
  auto responses = resend(server->port(), program.api_key, to_send);
  std::map<std::string, int64_t> expected_available;
  for (const auto& m : members) expected_available[m] = 0;
  std::vector<WriteRecord> after = records;  // outcomes after the resend
  std::map<std::string, const WriteRecord*> by_reason;
  for (auto& r : after) by_reason[r.reason] = &r;
  for (size_t i = 0; i < to_send.size(); ++i) {
    const WriteRecord& r = *to_send[i];
    const auto& resp = responses[i];
    WriteRecord& now = after[static_cast<size_t>(to_send[i] - records.data())];
    ASSERT_TRUE(resp.has_value()) << "resend of " << r.idempotency_key << " got no answer";
    if (r.outcome == WriteOutcome::kAcknowledged) {
      EXPECT_EQ(resp->status, 201) << "replay of " << r.idempotency_key << ": " << resp->body;
      EXPECT_EQ(json_string_field(resp->body, "id").value_or(""), r.posting_id)
          << "replay of " << r.idempotency_key << " returned another posting";
      continue;
    }
    // Unanswered before the crash.
    auto applied = applied_unanswered.find(r.reason);
    if (resp->status == 201) {
      now.outcome = WriteOutcome::kAcknowledged;
      now.posting_id = json_string_field(resp->body, "id").value_or("");
      if (applied != applied_unanswered.end()) {
        EXPECT_EQ(now.posting_id, applied->second)
            << r.idempotency_key << " was applied before the crash; the resend must replay it";
      }
    } else {
      EXPECT_FALSE(r.is_credit) << "resent credit " << r.idempotency_key << ": " << resp->body;
      EXPECT_TRUE(is_problem(*resp, 422, "insufficient-points"))
          << r.idempotency_key << ": " << resp->status << " " << resp->body;
      EXPECT_EQ(applied, applied_unanswered.end())
          << r.idempotency_key << " was applied before the crash but its resend is rejected";
      now.outcome = WriteOutcome::kRejected;
      now.answer = std::to_string(resp->status) + " " + resp->body;
    }
  }

  // 3. Now every request is either applied exactly once or not at all, and
  // each balance is the sum of the postings present.
  auto none_unanswered = check_acknowledged_exactly_once(*store, program.program_id, after, false);
  EXPECT_TRUE(none_unanswered.empty());
  for (const auto& r : after) {
    if (r.outcome == WriteOutcome::kAcknowledged) {
      expected_available[r.member_id] += r.is_credit ? r.points : -r.points;
    }
  }
  ApiClient api(server->port(), program.api_key);
  for (const auto& [member, points] : expected_available) {
    EXPECT_EQ(api.available(member), points) << member;
  }
  expect_verify_passes(*store, "after the resend");
  EXPECT_EQ(server->terminate(), 0) << server->log();
}

void run_drain_test(StoreKind kind) {
  std::string skip;
  LoadedServer loaded = start_loaded_server(kind, "drain-", &skip);
  if (!loaded.store) GTEST_SKIP() << skip;
  auto& store = loaded.store;
  uint32_t seed = loaded.seed;
  ProgramKey program = loaded.program;
  auto& server = loaded.server;
  auto& members = loaded.members;

  WriteLoad load(server->port(), program.api_key, members, kClientThreads, seed);
  load.start();
  bool reached = load.wait_acknowledged(kAcknowledgedBeforeTerm, std::chrono::seconds(60));
  int exit_code = server->terminate(/*timeout_s=*/30);
  // Threads still sending after the exit stop at their first unanswered request.
  load.join();
  ASSERT_TRUE(reached) << "only " << load.acknowledged() << " writes acknowledged";
  EXPECT_EQ(exit_code, 0) << "SIGTERM must drain and exit 0; log:\n" << server->log();
  auto records = load.records();
  Tally t = tally(records);
  std::printf("around SIGTERM: %zu acknowledged, %zu rejected, %zu unanswered\n", t.acknowledged,
              t.rejected, t.unanswered);

  expect_verify_passes(*store, "after SIGTERM");
  // A draining server answers every request it accepted: nothing is applied
  // without an answer.
  check_acknowledged_exactly_once(*store, program.program_id, records,
                                  /*unanswered_must_be_absent=*/true);
  for (const auto& r : records) {
    if (r.outcome == WriteOutcome::kRejected) {
      HttpResponse answer{r.status, {}, r.body};
      bool expected =
          is_problem(answer, 503, "unavailable") || is_problem(answer, 422, "insufficient-points");
      EXPECT_TRUE(expected) << r.idempotency_key << " answered " << r.answer;
    }
  }
  // Restarted, the server replays every acknowledged write.
  server = ServerProcess::start(*store);
  std::vector<const WriteRecord*> acknowledged;
  for (const auto& r : records) {
    if (r.outcome == WriteOutcome::kAcknowledged) acknowledged.push_back(&r);
  }
  auto responses = resend(server->port(), program.api_key, acknowledged);
  for (size_t i = 0; i < acknowledged.size(); ++i) {
    ASSERT_TRUE(responses[i].has_value());
    EXPECT_EQ(json_string_field(responses[i]->body, "id").value_or(""), acknowledged[i]->posting_id)
        << "replay of " << acknowledged[i]->idempotency_key << ": " << responses[i]->body;
  }
  EXPECT_EQ(server->terminate(), 0);
}

TEST(Crash, KillNineUnderWriteLoadLosesNoAcknowledgedWrite_Sqlite) {
  run_crash_test(StoreKind::kSqlite);
}
TEST(Crash, KillNineUnderWriteLoadLosesNoAcknowledgedWrite_Postgres) {
  run_crash_test(StoreKind::kPostgres);
}
TEST(Drain, SigtermUnderWriteLoadAnswersEverythingAndExitsZero_Sqlite) {
  run_drain_test(StoreKind::kSqlite);
}
TEST(Drain, SigtermUnderWriteLoadAnswersEverythingAndExitsZero_Postgres) {
  run_drain_test(StoreKind::kPostgres);
}

}  // namespace
}  // namespace loyalty::system_test
