#include "system/harness.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/ids.h"
#include "store/store.h"

extern char** environ;

namespace loyalty::system_test {
namespace {

namespace fs = std::filesystem;
using std::chrono::steady_clock;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string random_suffix() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  return std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1)) + "_" +
         std::to_string(rd() % 1'000'000);
}

// Spawns loyaltyd with stdout and stderr redirected to files.
pid_t spawn_loyaltyd(const std::vector<std::string>& args, const std::string& stdout_path,
                     const std::string& stderr_path) {
  std::vector<std::string> argv_storage;
  argv_storage.push_back(LOYALTYD_BINARY);
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, LOYALTYD_BINARY, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw std::runtime_error(std::string("cannot spawn ") + LOYALTYD_BINARY + ": " +
                             std::strerror(rc));
  }
  return pid;
}

int exit_code_of(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return -1;
}

// Waits for pid up to timeout; the exit code, or nullopt on timeout.
std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  while (true) {
    int wstatus = 0;
    pid_t r = ::waitpid(pid, &wstatus, WNOHANG);
    if (r == pid) return exit_code_of(wstatus);
    if (r < 0) return -1;
    if (steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

struct PgResult {
  bool ok;
  std::string error;
};

PgResult pg_exec(const std::string& conninfo, const std::string& sql) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    PgResult r{false, PQerrorMessage(conn)};
    PQfinish(conn);
    return r;
  }
  PGresult* res = PQexec(conn, sql.c_str());
  PgResult r{PQresultStatus(res) == PGRES_COMMAND_OK, PQresultErrorMessage(res)};
  PQclear(res);
  PQfinish(conn);
  return r;
}

// postgresql://user@host:port/db?params -> the same with another database.
std::string with_database(const std::string& url, const std::string& database) {
  size_t scheme = url.find("://");
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (slash == std::string::npos) return url + "/" + database;
  size_t query = url.find('?', slash);
  return url.substr(0, slash + 1) + database +
         (query == std::string::npos ? "" : url.substr(query));
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace

// ---- TempDir ----

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/loyaltyd-sys.XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (std::getenv("LOYALTYD_KEEP_TEST_DIRS") == nullptr) fs::remove_all(path_, ec);
}

// ---- TestStore ----

std::unique_ptr<TestStore> TestStore::create(StoreKind kind, std::string* skip_reason) {
  std::unique_ptr<TestStore> store(new TestStore());
  store->kind_ = kind;
  if (kind == StoreKind::kSqlite) {
    store->sqlite_path_ = store->dir_.path() + "/loyalty.db";
    store->url_ = "sqlite:" + store->sqlite_path_;
    return store;
  }
  const char* admin = std::getenv("LOYALTYD_TEST_PG_ADMIN_URL");
  const char* user_url = std::getenv("LOYALTYD_TEST_PG_URL");
  if (admin == nullptr || user_url == nullptr || !*admin || !*user_url) {
    const char* require = std::getenv("LOYALTYD_REQUIRE_PG");
    std::string why =
        "LOYALTYD_TEST_PG_URL / LOYALTYD_TEST_PG_ADMIN_URL not set (run under "
        "scripts/with-postgres.sh)";
    if (require != nullptr && std::string(require) == "1") {
      throw std::runtime_error("LOYALTYD_REQUIRE_PG=1 but " + why);
    }
    *skip_reason = why;
    return nullptr;
  }
  store->pg_admin_url_ = admin;
  store->pg_database_ = "loyaltyd_sys_" + random_suffix();
  PgResult r = pg_exec(admin, "CREATE DATABASE " + store->pg_database_ + " OWNER loyaltyd");
  if (!r.ok) throw std::runtime_error("CREATE DATABASE failed: " + r.error);
  store->url_ = with_database(user_url, store->pg_database_);
  return store;
}

TestStore::~TestStore() {
  if (!pg_database_.empty()) {
    (void)pg_exec(pg_admin_url_, "DROP DATABASE IF EXISTS " + pg_database_ + " WITH (FORCE)");
  }
}

// ---- CLI ----

CliResult run_cli(const std::vector<std::string>& args, int timeout_s) {
  TempDir dir;
  std::string out_path = dir.path() + "/stdout";
  std::string err_path = dir.path() + "/stderr";
  pid_t pid = spawn_loyaltyd(args, out_path, err_path);
  CliResult result;
  auto code = wait_for_exit(pid, std::chrono::seconds(timeout_s));
  if (!code) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    throw std::runtime_error("loyaltyd did not finish within " + std::to_string(timeout_s) +
                             "s; stderr: " + read_file(err_path));
  }
  result.exit_code = *code;
  result.out = read_file(out_path);
  result.err = read_file(err_path);
  return result;
}

ProgramKey create_program(const TestStore& store, const std::string& currency) {
  CliResult r = run_cli({"program", "create", "--db", store.url(), "--name", "System Test Shop",
                         "--currency", currency, "--timezone", "Europe/Berlin"});
  if (r.exit_code != 0) {
    throw std::runtime_error("program create exited " + std::to_string(r.exit_code) + ": " + r.err);
  }
  auto id = json_string_field(r.out, "program_id");
  auto key = json_string_field(r.out, "api_key");
  if (!id || !key)
    throw std::runtime_error("program create printed no program_id/api_key: " + r.out);
  return ProgramKey{*id, *key};
}

// ---- ServerProcess ----

std::unique_ptr<ServerProcess> ServerProcess::start(const TestStore& store,
                                                    const std::vector<std::string>& extra_args,
                                                    int ready_timeout_s) {
  std::unique_ptr<ServerProcess> server(new ServerProcess());
  std::string tag = random_suffix();
  server->stdout_path_ = store.dir() + "/serve-" + tag + ".out";
  server->stderr_path_ = store.dir() + "/serve-" + tag + ".err";
  std::vector<std::string> args = {"serve", "--db", store.url(), "--listen", "127.0.0.1:0"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  server->pid_ = spawn_loyaltyd(args, server->stdout_path_, server->stderr_path_);
  const std::string marker = "loyaltyd is serving on http://127.0.0.1:";
  auto deadline = steady_clock::now() + std::chrono::seconds(ready_timeout_s);
  while (true) {
    std::string out = read_file(server->stdout_path_);
    size_t at = out.find(marker);
    if (at != std::string::npos && out.find('\n', at) != std::string::npos) {
      server->port_ = static_cast<uint16_t>(std::atoi(out.c_str() + at + marker.size()));
      if (server->port_ == 0) throw std::runtime_error("serve printed no port: " + out);
      return server;
    }
    int wstatus = 0;
    if (::waitpid(server->pid_, &wstatus, WNOHANG) == server->pid_) {
      server->pid_ = -1;
      throw std::runtime_error("serve exited with " + std::to_string(exit_code_of(wstatus)) +
                               " before it was ready; stderr: " + server->log());
    }
    if (steady_clock::now() >= deadline) {
      throw std::runtime_error("serve not ready within " + std::to_string(ready_timeout_s) +
                               "s; stderr: " + server->log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) kill_hard();
}

void ServerProcess::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

int ServerProcess::terminate(int timeout_s) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  auto code = wait_for_exit(pid_, std::chrono::seconds(timeout_s));
  if (!code) {
    kill_hard();
    return -1;
  }
  pid_ = -1;
  return *code;
}

std::string ServerProcess::log() const { return read_file(stderr_path_); }

int64_t ServerProcess::rss_kib() const {
  if (pid_ <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmRSS:")) return std::atoll(line.c_str() + 6);
  }
  return 0;
}

// ---- ApiClient ----

ApiClient::ApiClient(uint16_t port, std::string api_key, int timeout_ms)
    : api_key_(std::move(api_key)), http_("127.0.0.1", port, timeout_ms) {}

std::string ApiClient::enroll(const std::string& external_id) {
  std::string body = "{\"external_id\":\"" + json_escape(external_id) + "\",\"email\":\"" +
                     json_escape(external_id) + "@example.com\"}";
  auto r = http_.request("POST", "/v1/members", body, {{"Authorization", "Bearer " + api_key_}});
  if (!r || r->status != 201) {
    throw std::runtime_error("enroll " + external_id + ": " + describe(r, http_));
  }
  auto id = json_string_field(r->body, "id");
  if (!id) throw std::runtime_error("enroll answered without an id: " + r->body);
  return *id;
}

std::string points_body(int64_t points, const std::string& reason) {
  return "{\"points\":" + std::to_string(points) + ",\"reason\":\"" + json_escape(reason) + "\"}";
}

std::optional<HttpResponse> ApiClient::post_points(const std::string& member_id, const char* kind,
                                                   int64_t points, const std::string& reason,
                                                   const std::string& idempotency_key) {
  HttpHeaders headers = {{"Authorization", "Bearer " + api_key_}};
  if (!idempotency_key.empty()) headers.emplace_back("Idempotency-Key", idempotency_key);
  return http_.request("POST", "/v1/members/" + member_id + "/" + kind, points_body(points, reason),
                       headers);
}

std::optional<HttpResponse> ApiClient::credit(const std::string& member_id, int64_t points,
                                              const std::string& reason,
                                              const std::string& idempotency_key) {
  return post_points(member_id, "credits", points, reason, idempotency_key);
}

std::optional<HttpResponse> ApiClient::debit(const std::string& member_id, int64_t points,
                                             const std::string& reason,
                                             const std::string& idempotency_key) {
  return post_points(member_id, "debits", points, reason, idempotency_key);
}

int64_t ApiClient::available(const std::string& member_id) {
  auto r = http_.request("GET", "/v1/members/" + member_id + "/balance", {},
                         {{"Authorization", "Bearer " + api_key_}});
  if (!r || r->status != 200) {
    throw std::runtime_error("balance of " + member_id + ": " + describe(r, http_));
  }
  auto available = json_int_field(r->body, "available");
  if (!available) throw std::runtime_error("balance without available: " + r->body);
  return *available;
}

bool is_problem(const HttpResponse& response, int status, const std::string& type_suffix) {
  if (response.status != status) return false;
  auto type = json_string_field(response.body, "type");
  return type && type->size() >= type_suffix.size() &&
         type->compare(type->size() - type_suffix.size(), type_suffix.size(), type_suffix) == 0;
}

std::string describe(const std::optional<HttpResponse>& response, const HttpConnection& http) {
  if (!response) return "no answer (" + http.last_error() + ")";
  return std::to_string(response->status) + " " + response->body.substr(0, 400);
}

// ---- Reading the store ----

std::vector<std::pair<std::string, PostingRow>> read_postings_by_reason(
    const TestStore& store, const std::string& program_id) {
  auto program = parse_id<ProgramTag>(program_id);
  if (!program) throw std::runtime_error("not a program id: " + program_id);
  auto session = store::open_session(store.url());
  if (!session.ok()) throw std::runtime_error("open store: " + session.status().message());
  std::vector<std::pair<std::string, PostingRow>> rows;
  Status st = (*session)->connection().query(
      "SELECT reason, id, kind, member_id FROM postings WHERE program_id = ?", {program->value},
      [&](const store::Row& r) {
        rows.emplace_back(std::string(r.get_text(0)),
                          PostingRow{format_id(PostingId{r.get_int(1)}), std::string(r.get_text(2)),
                                     format_id(MemberId{r.get_int(3)})});
      });
  if (!st.ok()) throw std::runtime_error("read postings: " + st.message());
  return rows;
}

}  // namespace loyalty::system_test
