#include "store/store_test_support.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <ostream>
#include <string_view>

namespace loyalty::store::testing {
namespace {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

// Unique per process and per call: ctest runs test processes in parallel.
std::string unique_suffix() {
  static std::atomic<int> counter{0};
  return std::to_string(::getpid()) + "_" + std::to_string(++counter);
}

// The URL with a session whose search_path is `schema` (libpq's `options`).
std::string with_search_path(const std::string& url, const std::string& schema) {
  char separator = url.find('?') == std::string::npos ? '?' : '&';
  return url + separator + "options=-c%20search_path%3D" + schema;
}

std::string opt_instant(const std::optional<Instant>& t) {
  return t ? std::to_string(t->micros_since_epoch) : "-";
}
std::string opt_bool(const std::optional<bool>& b) { return b ? (*b ? "true" : "false") : "-"; }

}  // namespace

std::string backend_name(Backend backend) {
  return backend == Backend::kSqlite ? "sqlite" : "postgres";
}

std::optional<std::string> postgres_unavailable_reason() {
  if (!env("LOYALTYD_TEST_PG_URL")) return "LOYALTYD_TEST_PG_URL is not set";
  return std::nullopt;
}

bool postgres_required() { return env("LOYALTYD_REQUIRE_PG") == "1"; }

void StoreTest::SetUp() {
  if (GetParam() == Backend::kPostgres) LOYALTY_REQUIRE_POSTGRES_OR_SKIP();
  db_ = must(TestDatabase::create(GetParam()));
  store_ = must(db_->open_session());
  must(store_->migrate());
}

void StoreTest::TearDown() {
  store_.reset();
  db_.reset();
}

Program insert_test_program(StoreSession& s, const std::string& name, Instant at,
                            const std::string& currency, const std::string& timezone) {
  Program p;
  p.name = name;
  p.currency = currency;
  p.timezone = timezone;
  p.created_at = at;
  p.updated_at = at;
  p.id = must(s.insert_program(p));
  return p;
}

MemberId insert_test_member(StoreSession& s, ProgramId program, const std::string& external_id,
                            Instant at, const std::string& email) {
  Member m;
  m.program_id = program;
  m.external_id = external_id;
  m.email = email.empty() ? external_id + "@example.com" : email;
  m.created_at = at;
  m.updated_at = at;
  return must(s.insert_member(m));
}

std::string postgres_admin_url() {
  if (auto admin = env("LOYALTYD_TEST_PG_ADMIN_URL")) return *admin;
  return env("LOYALTYD_TEST_PG_URL").value_or("");
}

std::string describe(const Status& status) {
  if (status.ok()) return "ok";
  return std::string(error_code_name(status.code())) + ": " + status.message();
}

void must(const Status& status) {
  if (!status.ok()) throw StoreTestError(describe(status));
}

Result<std::unique_ptr<TestDatabase>> TestDatabase::create(Backend backend) {
  if (backend == Backend::kSqlite) {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("loyaltyd-store-test-" + unique_suffix() + ".db");
    std::filesystem::remove(path);
    return std::unique_ptr<TestDatabase>(
        new TestDatabase(backend, "sqlite:" + path.string(), path.string()));
  }
  auto base_url = env("LOYALTYD_TEST_PG_URL");
  if (!base_url) return Status(ErrorCode::kUnavailable, "LOYALTYD_TEST_PG_URL is not set");
  std::string schema = "loyaltyd_t_" + unique_suffix();
  LOYALTY_ASSIGN_OR_RETURN(auto conn, open_postgres(*base_url));
  LOYALTY_RETURN_IF_ERROR(conn->execute("CREATE SCHEMA " + schema));
  return std::unique_ptr<TestDatabase>(
      new TestDatabase(backend, with_search_path(*base_url, schema), schema));
}

TestDatabase::~TestDatabase() {
  if (backend_ == Backend::kSqlite) {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::error_code ignored;
      std::filesystem::remove(name_ + suffix, ignored);
    }
    return;
  }
  auto conn = open_postgres(env("LOYALTYD_TEST_PG_URL").value_or(""));
  if (conn.ok()) (void)(*conn)->execute("DROP SCHEMA IF EXISTS " + name_ + " CASCADE");
}

Result<std::unique_ptr<StoreSession>> TestDatabase::open_session() const {
  return store::open_session(url_);
}

Result<std::unique_ptr<SqlConnection>> TestDatabase::open_connection() const {
  return store::open_connection(url_);
}

std::string describe(const Program& p) {
  return "program " + format_id(p.id) + " name=" + p.name + " currency=" + p.currency +
         " timezone=" + p.timezone + " points_name=" + p.points_name +
         " value=" + std::to_string(p.point_value_minor) + "/" +
         std::to_string(p.point_value_points) + " negative=" + to_string(p.negative_balance) +
         " transfers=" + (p.transfers.enabled ? "on" : "off") + "," +
         std::to_string(p.transfers.min_points) + "," + std::to_string(p.transfers.max_points) +
         "," + std::to_string(p.transfers.daily_limit_points) +
         " created=" + std::to_string(p.created_at.micros_since_epoch) +
         " updated=" + std::to_string(p.updated_at.micros_since_epoch);
}

std::string describe(const ApiKey& k) {
  std::string scopes;
  for (const auto& s : k.scopes) scopes += (scopes.empty() ? "" : "|") + s;
  return "key " + format_id(k.id) + " program=" + format_id(k.program_id) + " name=" + k.name +
         " prefix=" + k.prefix + " hash=" + k.key_hash + " scopes=" + scopes +
         " created=" + std::to_string(k.created_at.micros_since_epoch) +
         " revoked=" + opt_instant(k.revoked_at);
}

std::string describe(const Member& m) {
  return "member " + format_id(m.id) + " program=" + format_id(m.program_id) +
         " external_id=" + m.external_id + " email=" + m.email + " name=" + m.first_name + "/" +
         m.last_name + " birthday=" + (m.birthday ? format_local_date(*m.birthday) : "-") +
         " attributes=" + m.attributes_json + " consent=" + opt_bool(m.consent.email) + "," +
         opt_bool(m.consent.sms) + "," + opt_bool(m.consent.push) +
         " status=" + to_string(m.status) +
         " created=" + std::to_string(m.created_at.micros_since_epoch) +
         " updated=" + std::to_string(m.updated_at.micros_since_epoch);
}

std::string describe(const Balance& b) {
  return "available=" + std::to_string(b.available.value) +
         " pending=" + std::to_string(b.pending.value) +
         " earned=" + std::to_string(b.lifetime_earned.value) +
         " spent=" + std::to_string(b.lifetime_spent.value) +
         " expired=" + std::to_string(b.expired.value) +
         " adjusted=" + std::to_string(b.adjusted.value) +
         " transferred_net=" + std::to_string(b.transferred_net.value) +
         " held=" + std::to_string(b.held.value) + " next_due_at=" + opt_instant(b.next_due_at);
}

std::string describe(const Lot& l) {
  return "lot " + format_id(l.id) + " member=" + format_id(l.member) +
         " posting=" + format_id(l.posting) + " original=" + std::to_string(l.original.value) +
         " remaining=" + std::to_string(l.remaining.value) + (l.pending ? " pending" : "") +
         " created=" + std::to_string(l.created_at.micros_since_epoch) +
         " available_at=" + opt_instant(l.available_at) +
         " expires_at=" + opt_instant(l.expires_at);
}

std::string describe(const Entry& e) {
  std::string lot = e.lot.existing.valid() ? format_id(e.lot.existing)
                    : e.lot.new_index >= 0 ? "new#" + std::to_string(e.lot.new_index)
                                           : "-";
  return format_id(e.member) + " " + to_string(e.account) + " " + lot + " " +
         std::to_string(e.amount.value);
}

std::string describe(const Posting& p) {
  std::string out = "posting " + format_id(p.id) + " program=" + format_id(p.program_id) + " " +
                    to_string(p.kind) + " member=" + format_id(p.member) +
                    " counterparty=" + (p.counterparty.valid() ? format_id(p.counterparty) : "-") +
                    " reverses=" + (p.reverses.valid() ? format_id(p.reverses) : "-") +
                    " reason=" + p.reason + " source=" + p.source +
                    " reason_code=" + p.reason_code + " actor=" + p.actor +
                    " created=" + std::to_string(p.created_at.micros_since_epoch) + " entries:";
  for (const Entry& e : p.entries) out += " [" + describe(e) + "]";
  return out;
}

std::string describe(const IdempotencyRecord& r) {
  return "fingerprint=" + r.fingerprint + " status=" + std::to_string(r.status_code) +
         " body=" + r.response_body;
}

}  // namespace loyalty::store::testing

namespace loyalty {
void PrintTo(const Balance& b, std::ostream* os) { *os << store::testing::describe(b); }
void PrintTo(const Status& s, std::ostream* os) { *os << store::testing::describe(s); }
}  // namespace loyalty
