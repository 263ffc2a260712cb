// What the system tests need to drive the real `loyaltyd` binary: stores (a
// temporary SQLite file or a fresh PostgreSQL database), the server process,
// CLI runs, and a thin client of the fixed HTTP interface.
//
// Setup failures throw std::runtime_error with a message that says what went
// wrong (gtest reports it as the test's failure); assertions about the
// behaviour under test stay in the tests.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "system/http_client.h"

namespace loyalty::system_test {

// A directory under $TMPDIR (or /tmp), removed with its content on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

enum class StoreKind { kSqlite, kPostgres };

// A store for one test: a SQLite file in a temporary directory, or a fresh
// PostgreSQL database created through LOYALTYD_TEST_PG_ADMIN_URL and dropped
// afterwards.
class TestStore {
 public:
  // nullptr with *skip_reason set when PostgreSQL is not configured and
  // LOYALTYD_REQUIRE_PG is not "1" (then a missing URL throws instead).
  static std::unique_ptr<TestStore> create(StoreKind kind, std::string* skip_reason);
  ~TestStore();

  StoreKind kind() const { return kind_; }
  const std::string& url() const { return url_; }         // what --db takes
  const std::string& dir() const { return dir_.path(); }  // for logs, always exists
  // The SQLite file (kSqlite only).
  const std::string& sqlite_path() const { return sqlite_path_; }

 private:
  TestStore() = default;
  StoreKind kind_ = StoreKind::kSqlite;
  TempDir dir_;
  std::string url_;
  std::string sqlite_path_;
  std::string pg_admin_url_;
  std::string pg_database_;
};

struct CliResult {
  int exit_code = -1;  // 128 + signal when killed by a signal
  std::string out;
  std::string err;
};

// Runs `loyaltyd ARGS...` to completion (killed after timeout_s).
CliResult run_cli(const std::vector<std::string>& args, int timeout_s = 60);

// `loyaltyd serve` as a child process, listening on a free port of 127.0.0.1.
class ServerProcess {
 public:
  // Starts serve on the store and waits until it prints that it is serving.
  // Throws when it exits or is not ready within `ready_timeout_s`.
  static std::unique_ptr<ServerProcess> start(const TestStore& store,
                                              const std::vector<std::string>& extra_args = {},
                                              int ready_timeout_s = 30);
  // Kills the process (SIGKILL) if still running.
  ~ServerProcess();

  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  // kill -9 and reap.
  void kill_hard();
  // Sends SIGTERM and waits up to timeout_s for the exit; returns the exit code
  // (128 + signal when killed by one, -1 on timeout: then it is killed).
  int terminate(int timeout_s = 30);
  // The server's stderr so far (its structured log), for failure messages.
  std::string log() const;
  // Resident memory from /proc/PID/status, in KiB (0 when gone).
  int64_t rss_kib() const;

 private:
  ServerProcess() = default;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string stdout_path_;
  std::string stderr_path_;
};

// The program `loyaltyd program create` made: its id and secret key.
struct ProgramKey {
  std::string program_id;
  std::string api_key;
};
ProgramKey create_program(const TestStore& store, const std::string& currency = "USD");

// The fixed HTTP interface over one keep-alive connection.
class ApiClient {
 public:
  ApiClient(uint16_t port, std::string api_key, int timeout_ms = 10'000);

  // POST /v1/members; returns the member id ("mem_..."); throws unless 201.
  std::string enroll(const std::string& external_id);
  // POST /v1/members/{id}/credits and /debits; nullopt when unanswered.
  std::optional<HttpResponse> credit(const std::string& member_id, int64_t points,
                                     const std::string& reason,
                                     const std::string& idempotency_key = "");
  std::optional<HttpResponse> debit(const std::string& member_id, int64_t points,
                                    const std::string& reason,
                                    const std::string& idempotency_key = "");
  // GET /v1/members/{id}/balance "available"; throws unless 200.
  int64_t available(const std::string& member_id);

  HttpConnection& connection() { return http_; }

 private:
  std::optional<HttpResponse> post_points(const std::string& member_id, const char* kind,
                                          int64_t points, const std::string& reason,
                                          const std::string& idempotency_key);
  std::string api_key_;
  HttpConnection http_;
};

// The body the ApiClient sends for a credit or debit (for replays by hand).
std::string points_body(int64_t points, const std::string& reason);

// True when the response is a problem+json whose type ends with `suffix`.
bool is_problem(const HttpResponse& response, int status, const std::string& type_suffix);

// A short description for failure messages: "201 {...}" or "no answer (why)".
std::string describe(const std::optional<HttpResponse>& response, const HttpConnection& http);

// Reads the store directly (through loyaltyd's own store layer): every posting
// of the program as (reason -> posting ids), to check what a crash left.
struct PostingRow {
  std::string id;  // "pst_..."
  std::string kind;
  std::string member_id;  // "mem_..."
};
std::vector<std::pair<std::string, PostingRow>> read_postings_by_reason(
    const TestStore& store, const std::string& program_id);

}  // namespace loyalty::system_test
