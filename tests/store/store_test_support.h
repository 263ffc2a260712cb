// Shared by the store tests: a fresh database per test on either store, and
// readable descriptions of store values for exact comparisons.
//
// PostgreSQL tests need a server: run them through scripts/with-postgres.sh,
// which exports LOYALTYD_TEST_PG_URL (the database and role tests connect as)
// and LOYALTYD_TEST_PG_ADMIN_URL (a superuser).
// Without LOYALTYD_TEST_PG_URL the PostgreSQL tests are skipped, unless
// LOYALTYD_REQUIRE_PG=1 (set by `make test`), which makes them fail instead.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/time.h"
#include "domain/ledger.h"
#include "store/sql.h"
#include "store/store.h"

namespace loyalty::store::testing {

enum class Backend { kSqlite, kPostgres };
std::string backend_name(Backend backend);

// Why the PostgreSQL tests cannot run (no server configured), or nullopt.
std::optional<std::string> postgres_unavailable_reason();
bool postgres_required();

// In SetUp(): skips (or, with LOYALTYD_REQUIRE_PG=1, fails) a PostgreSQL test
// when no server is configured.
#define LOYALTY_REQUIRE_POSTGRES_OR_SKIP()                                      \
  do {                                                                          \
    if (auto _why = ::loyalty::store::testing::postgres_unavailable_reason()) { \
      if (::loyalty::store::testing::postgres_required()) {                     \
        FAIL() << "LOYALTYD_REQUIRE_PG=1 but " << *_why;                        \
      }                                                                         \
      GTEST_SKIP() << "PostgreSQL test skipped: " << *_why                      \
                   << " (run through scripts/with-postgres.sh to include it)";  \
    }                                                                           \
  } while (0)

// A failed Status or Result as an exception: `must(store.insert_member(m))`.
// gtest reports an exception thrown in a test as a failure with its message.
class StoreTestError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
std::string describe(const Status& status);
void must(const Status& status);
template <typename T>
T must(Result<T> result) {
  if (!result.ok()) throw StoreTestError(describe(result.status()));
  return std::move(result).value();
}
// An RFC 3339 instant written in a test: `at("2026-01-01T05:00:00Z")`; a typo
// throws (the test fails with the text) instead of dereferencing nothing.
inline Instant at(const char* rfc3339) {
  auto t = parse_rfc3339(rfc3339);
  if (!t) throw StoreTestError(std::string("bad instant ") + rfc3339);
  return *t;
}

// A fresh, empty database for one test: a temporary SQLite file, or, on
// PostgreSQL, a new schema in LOYALTYD_TEST_PG_URL's database that the test's
// sessions see alone (their search_path). A schema isolates a test as well as a
// database does for the store, whose SQL never names a schema, and costs
// milliseconds where CREATE/DROP DATABASE cost a second (checkpoints): ctest
// runs every test in a process of its own. Dropped when destroyed.
class TestDatabase {
 public:
  static Result<std::unique_ptr<TestDatabase>> create(Backend backend);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  Backend backend() const { return backend_; }
  const std::string& url() const { return url_; }
  Result<std::unique_ptr<StoreSession>> open_session() const;
  Result<std::unique_ptr<SqlConnection>> open_connection() const;

 private:
  TestDatabase(Backend backend, std::string url, std::string name)
      : backend_(backend), url_(std::move(url)), name_(std::move(name)) {}
  Backend backend_;
  std::string url_;
  std::string name_;  // PostgreSQL schema, or the SQLite file path
};

// A fresh, migrated database of the test's backend for each test of a
// TEST_P over Backend (PostgreSQL skipped or failed as
// LOYALTY_REQUIRE_POSTGRES_OR_SKIP says): store_ is a session on it.
class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override;
  void TearDown() override;
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<StoreSession> store_;
};

// Rows the store tests need but do not examine: a program (created and
// updated at `at`) and a member (email external_id@example.com unless given).
Program insert_test_program(StoreSession& s, const std::string& name, Instant at,
                            const std::string& currency = "EUR",
                            const std::string& timezone = "Europe/Berlin");
MemberId insert_test_member(StoreSession& s, ProgramId program, const std::string& external_id,
                            Instant at, const std::string& email = "");

// The superuser URL (LOYALTYD_TEST_PG_ADMIN_URL, else LOYALTYD_TEST_PG_URL),
// for what the test role may not do.
std::string postgres_admin_url();

// One-line descriptions that name every field, so that EXPECT_EQ on them
// compares values exactly and prints a readable difference.
std::string describe(const Program& p);
std::string describe(const ApiKey& k);
std::string describe(const Member& m);
std::string describe(const Balance& b);
std::string describe(const Lot& l);
std::string describe(const Entry& e);
std::string describe(const Posting& p);
std::string describe(const IdempotencyRecord& r);
template <typename T>
std::string describe(const std::vector<T>& values) {
  std::string out = "[";
  for (const T& v : values) {
    if (out.size() > 1) out += ",\n ";
    out += describe(v);
  }
  return out + "]";
}
template <typename T>
std::string describe(const std::optional<T>& value) {
  return value ? describe(*value) : std::string("(none)");
}

}  // namespace loyalty::store::testing

namespace loyalty {
// gtest printers for values compared directly.
void PrintTo(const Balance& b, std::ostream* os);
void PrintTo(const Status& s, std::ostream* os);
}  // namespace loyalty
