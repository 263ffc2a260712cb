// Concurrency against the real server: many clients spending one member's
// points at once never overspend, and concurrent duplicates of one
// Idempotency-Key execute once. On PostgreSQL both with two `loyaltyd`
// processes on the same database, clients split between them.
#include <gtest/gtest.h>

#include <barrier>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "system/harness.h"
#include "system/write_load.h"

namespace loyalty::system_test {
namespace {

constexpr int kClients = 32;
constexpr int kDebitsPerClient = 10;
constexpr int64_t kStartingBalance = 1000;
constexpr int64_t kDebitPoints = 7;

struct Servers {
  std::unique_ptr<TestStore> store;
  ProgramKey program;
  std::vector<std::unique_ptr<ServerProcess>> processes;
  uint16_t port_for(int client) const {
    return processes[static_cast<size_t>(client) % processes.size()]->port();
  }
};

// A store with one program and `process_count` servers on it; nullopt = skip.
std::optional<Servers> start_servers(StoreKind kind, int process_count, std::string* skip) {
  Servers s;
  s.store = TestStore::create(kind, skip);
  if (!s.store) return std::nullopt;
  s.program = create_program(*s.store);
  for (int i = 0; i < process_count; ++i) s.processes.push_back(ServerProcess::start(*s.store));
  return s;
}

void run_overspend_test(StoreKind kind, int process_count) {
  std::string skip;
  auto servers = start_servers(kind, process_count, &skip);
  if (!servers) GTEST_SKIP() << skip;
  ApiClient setup(servers->port_for(0), servers->program.api_key);
  std::string member = setup.enroll("spender");
  auto funded = setup.credit(member, kStartingBalance, "funds", "funds-1");
  ASSERT_TRUE(funded && funded->status == 201) << describe(funded, setup.connection());

  std::barrier start(kClients);
  std::mutex mu;
  std::map<std::string, int> answers;  // "201", "422 insufficient-points", other answers
  std::set<std::string> posting_ids;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      ApiClient api(servers->port_for(c), servers->program.api_key);
      start.arrive_and_wait();
      for (int i = 0; i < kDebitsPerClient; ++i) {
        std::string key = "spend-" + std::to_string(c) + "-" + std::to_string(i);
        auto r = api.debit(member, kDebitPoints, key, key);
        std::string answer;
        std::string id;
        if (r && r->status == 201) {
          answer = "201";
          id = json_string_field(r->body, "id").value_or("");
        } else if (r && is_problem(*r, 422, "insufficient-points")) {
          answer = "422 insufficient-points";
        } else {
          answer = describe(r, api.connection());
        }
        std::lock_guard lock(mu);
        ++answers[answer];
        if (!id.empty()) posting_ids.insert(id);
      }
    });
  }
  for (auto& t : clients) t.join();

  const int attempts = kClients * kDebitsPerClient;
  const int64_t affordable = kStartingBalance / kDebitPoints;  // 142
  ASSERT_GT(attempts, affordable) << "the test must ask for more than the balance holds";
  EXPECT_EQ(answers["201"], affordable);
  EXPECT_EQ(answers["422 insufficient-points"], attempts - affordable);
  EXPECT_EQ(answers.size(), 2u) << "unexpected answers, e.g. " << answers.rbegin()->first;
  EXPECT_EQ(posting_ids.size(), static_cast<size_t>(affordable)) << "a posting id was repeated";
  for (size_t p = 0; p < servers->processes.size(); ++p) {
    ApiClient api(servers->processes[p]->port(), servers->program.api_key);
    EXPECT_EQ(api.available(member), kStartingBalance - affordable * kDebitPoints)
        << "as seen by process " << p;
  }
  CliResult v = run_cli({"verify", "--db", servers->store->url()});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  for (auto& p : servers->processes) EXPECT_EQ(p->terminate(), 0) << p->log();
}

// Every key is sent by all clients at the same moment (a barrier per key),
// clients split across the processes.
void run_duplicate_key_test(StoreKind kind, int process_count) {
  constexpr int kDuplicateClients = 16;
  constexpr int kKeys = 40;
  constexpr int64_t kPoints = 10;
  std::string skip;
  auto servers = start_servers(kind, process_count, &skip);
  if (!servers) GTEST_SKIP() << skip;
  ApiClient setup(servers->port_for(0), servers->program.api_key);
  std::string member = setup.enroll("duplicated");

  std::barrier round(kDuplicateClients);
  std::mutex mu;
  std::map<int, std::vector<std::string>> answers;  // key index -> "201 pst_..." or other
  std::vector<std::thread> clients;
  for (int c = 0; c < kDuplicateClients; ++c) {
    clients.emplace_back([&, c] {
      ApiClient api(servers->port_for(c), servers->program.api_key);
      for (int k = 0; k < kKeys; ++k) {
        std::string key = "dup-" + std::to_string(k);
        round.arrive_and_wait();
        auto r = api.credit(member, kPoints, key, key);
        std::string answer = r && r->status == 201
                                 ? "201 " + json_string_field(r->body, "id").value_or("?")
                                 : describe(r, api.connection());
        std::lock_guard lock(mu);
        answers[k].push_back(answer);
      }
    });
  }
  for (auto& t : clients) t.join();

  auto postings = postings_by_reason(*servers->store, servers->program.program_id);
  for (int k = 0; k < kKeys; ++k) {
    std::string reason = "dup-" + std::to_string(k);
    const auto& got = answers[k];
    ASSERT_EQ(got.size(), static_cast<size_t>(kDuplicateClients));
    std::set<std::string> distinct(got.begin(), got.end());
    EXPECT_EQ(distinct.size(), 1u) << reason << ": the duplicates got different answers, e.g. "
                                   << *distinct.begin() << " and " << *distinct.rbegin();
    EXPECT_TRUE(got[0].starts_with("201 pst_")) << reason << ": " << got[0];
    ASSERT_EQ(postings[reason].size(), 1u)
        << reason << " executed " << postings[reason].size() << " times";
    EXPECT_EQ("201 " + postings[reason][0].id, got[0]) << reason;
  }
  EXPECT_EQ(setup.available(member), kKeys * kPoints);
  CliResult v = run_cli({"verify", "--db", servers->store->url()});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  for (auto& p : servers->processes) EXPECT_EQ(p->terminate(), 0) << p->log();
}

TEST(Concurrency, ThirtyTwoClientsDebitingOneMemberNeverOverspend_Sqlite) {
  run_overspend_test(StoreKind::kSqlite, 1);
}
TEST(Concurrency, ThirtyTwoClientsOnTwoProcessesNeverOverspend_Postgres) {
  run_overspend_test(StoreKind::kPostgres, 2);
}
TEST(Concurrency, ConcurrentDuplicateIdempotencyKeysExecuteOnce_Sqlite) {
  run_duplicate_key_test(StoreKind::kSqlite, 1);
}
TEST(Concurrency, ConcurrentDuplicatesAcrossTwoProcessesExecuteOnce_Postgres) {
  run_duplicate_key_test(StoreKind::kPostgres, 2);
}

}  // namespace
}  // namespace loyalty::system_test
