// The PostgreSQL driver under the store: placeholder rewriting, values in and
// out, error classes, session settings and reconnecting.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "store/sql.h"
#include "store/store_test_support.h"

namespace loyalty::store {
namespace {

using testing::Backend;
using testing::describe;
using testing::must;
using testing::TestDatabase;

class PostgresDriver : public ::testing::Test {
 protected:
  void SetUp() override {
    LOYALTY_REQUIRE_POSTGRES_OR_SKIP();
    db_ = must(TestDatabase::create(Backend::kPostgres));
    conn_ = must(db_->open_connection());
    ASSERT_EQ(conn_->dialect(), Dialect::kPostgres);
  }

  // The single text value of a one-row, one-column query.
  std::string text_of(std::string_view sql, std::initializer_list<SqlValue> params = {}) {
    std::string out;
    int rows = 0;
    must(conn_->query(sql, params, [&](const Row& r) {
      out = std::string(r.get_text(0));
      ++rows;
    }));
    if (rows != 1) throw testing::StoreTestError("expected one row, got " + std::to_string(rows));
    return out;
  }

  int64_t int_of(std::string_view sql, std::initializer_list<SqlValue> params = {}) {
    int64_t out = 0;
    must(conn_->query(sql, params, [&](const Row& r) { out = r.get_int(0); }));
    return out;
  }

  int64_t backend_pid() { return int_of("SELECT pg_backend_pid()"); }

  // Terminates the connection's server process and waits until it is gone.
  void terminate_backend(int64_t pid) {
    auto admin = must(open_postgres(testing::postgres_admin_url()));
    must(admin->query("SELECT pg_terminate_backend(?)", {pid}));
    for (int i = 0; i < 10'000; ++i) {
      int64_t alive = 1;
      must(admin->query("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ?", {pid},
                        [&](const Row& r) { alive = r.get_int(0); }));
      if (alive == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    throw testing::StoreTestError("backend " + std::to_string(pid) + " did not terminate");
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<SqlConnection> conn_;
};

TEST_F(PostgresDriver, QuestionMarksInLiteralsIdentifiersAndCommentsAreNotPlaceholders) {
  std::vector<std::string> columns;
  must(conn_->query(
      "SELECT '?' || ?, 'it''s ?', \"?col\" /* ? */ FROM (SELECT ? AS \"?col\") t -- ?\n",
      {"x", "y"}, [&](const Row& r) {
        for (int c = 0; c < 3; ++c) columns.emplace_back(r.get_text(c));
      }));
  EXPECT_EQ(columns, (std::vector<std::string>{"?x", "it's ?", "y"}));
}

TEST_F(PostgresDriver, NullRoundTripsThroughIntegerAndTextColumns) {
  must(conn_->execute("CREATE TABLE t (i BIGINT, s TEXT)"));
  must(conn_->query("INSERT INTO t (i, s) VALUES (?, ?)", {nullptr, SqlValue()}));
  int rows = 0;
  must(conn_->query("SELECT i, s FROM t", {}, [&](const Row& r) {
    ++rows;
    EXPECT_TRUE(r.is_null(0));
    EXPECT_TRUE(r.is_null(1));
    EXPECT_EQ(r.get_optional_int(0), std::nullopt);
    EXPECT_EQ(r.get_text(1), "");
  }));
  EXPECT_EQ(rows, 1);
}

TEST_F(PostgresDriver, ParameterOfUnknownTypeTakesTheTypeOfItsValueEvenInATransaction) {
  // `? IS NULL` gives the server no type to infer; the driver declares one.
  EXPECT_EQ(int_of("SELECT ? IS NULL", {nullptr}), 1);
  must(conn_->execute("CREATE TABLE t (i BIGINT)"));
  must(conn_->execute("BEGIN"));
  EXPECT_EQ(int_of("SELECT CASE WHEN ? IS NULL THEN 1 ELSE 0 END + 10", {"text"}), 10);
  must(conn_->query("INSERT INTO t (i) VALUES (?)", {int64_t{5}}));
  must(conn_->execute("COMMIT"));
  EXPECT_EQ(int_of("SELECT COUNT(*) FROM t"), 1);
}

TEST_F(PostgresDriver, Int64ExtremesRoundTripExactly) {
  must(conn_->execute("CREATE TABLE t (seq BIGINT, v BIGINT)"));
  const std::vector<int64_t> values = {
      std::numeric_limits<int64_t>::min(),     std::numeric_limits<int64_t>::min() + 1, -1, 0, 1,
      std::numeric_limits<int64_t>::max() - 1, std::numeric_limits<int64_t>::max()};
  for (size_t i = 0; i < values.size(); ++i) {
    must(
        conn_->query("INSERT INTO t (seq, v) VALUES (?, ?)", {static_cast<int64_t>(i), values[i]}));
  }
  std::vector<int64_t> read;
  std::vector<std::string> texts;
  must(conn_->query("SELECT v FROM t ORDER BY seq", {}, [&](const Row& r) {
    read.push_back(r.get_int(0));
    texts.emplace_back(r.get_text(0));
  }));
  EXPECT_EQ(read, values);
  EXPECT_EQ(texts.front(), "-9223372036854775808");
  EXPECT_EQ(texts.back(), "9223372036854775807");
}

TEST_F(PostgresDriver, IntegerSumsAndBooleansReadAsIntegers) {
  must(conn_->execute("CREATE TABLE t (v BIGINT)"));
  must(conn_->query("INSERT INTO t (v) VALUES (?), (?)",
                    {std::numeric_limits<int64_t>::max() - 10, int64_t{7}}));
  // SUM(bigint) is numeric in PostgreSQL.
  EXPECT_EQ(int_of("SELECT SUM(v) FROM t"), std::numeric_limits<int64_t>::max() - 3);
  EXPECT_EQ(int_of("SELECT true"), 1);
  EXPECT_EQ(int_of("SELECT false"), 0);
}

TEST_F(PostgresDriver, Utf8TextRoundTrips) {
  std::string text = "Zoë 😀 Köln 東京";
  EXPECT_EQ(text_of("SELECT ?::text", {text}), text);
}

TEST_F(PostgresDriver, TextWithANulCharacterIsRejected) {
  std::string text("a\0b", 3);
  EXPECT_EQ(conn_->query("SELECT ?::text", {text}).code(), ErrorCode::kInvalidRequest);
}

TEST_F(PostgresDriver, UniqueViolationIsConflict) {
  must(conn_->execute("CREATE TABLE t (k TEXT PRIMARY KEY)"));
  must(conn_->query("INSERT INTO t (k) VALUES (?)", {"a"}));
  Status st = conn_->query("INSERT INTO t (k) VALUES (?)", {"a"});
  EXPECT_EQ(st.code(), ErrorCode::kConflict) << describe(st);
  EXPECT_NE(st.message().find("duplicate key"), std::string::npos) << st.message();
}

TEST_F(PostgresDriver, ChangesCountsTheRowsOfTheLastWrite) {
  must(conn_->execute("CREATE TABLE t (k BIGINT PRIMARY KEY, v BIGINT)"));
  must(conn_->query("INSERT INTO t (k, v) VALUES (1, 0), (2, 0), (3, 0)", {}));
  EXPECT_EQ(conn_->changes(), 3);
  must(conn_->query("UPDATE t SET v = ? WHERE k >= ?", {int64_t{9}, int64_t{2}}));
  EXPECT_EQ(conn_->changes(), 2);
  must(conn_->query("SELECT k FROM t", {}));
  EXPECT_EQ(conn_->changes(), 2) << "a SELECT does not change the count";
  must(conn_->query("INSERT INTO t (k, v) VALUES (?, 0) ON CONFLICT (k) DO NOTHING", {int64_t{1}}));
  EXPECT_EQ(conn_->changes(), 0);
  int64_t id = 0;
  must(conn_->query("INSERT INTO t (k, v) VALUES (?, 0) RETURNING k", {int64_t{4}},
                    [&](const Row& r) { id = r.get_int(0); }));
  EXPECT_EQ(id, 4);
  EXPECT_EQ(conn_->changes(), 1);
  must(conn_->query("DELETE FROM t", {}));
  EXPECT_EQ(conn_->changes(), 4);
}

TEST_F(PostgresDriver, ExecuteRunsEveryStatementOfAScript) {
  must(conn_->execute(
      "CREATE TABLE t (v BIGINT); INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)"));
  EXPECT_EQ(int_of("SELECT COUNT(*) FROM t"), 2);
}

TEST_F(PostgresDriver, ParameterCountMismatchIsInternalError) {
  EXPECT_EQ(conn_->query("SELECT ?::bigint", {}).code(), ErrorCode::kInternal);
  EXPECT_EQ(conn_->query("SELECT 1", {int64_t{1}}).code(), ErrorCode::kInternal);
}

TEST_F(PostgresDriver, SqlErrorIsInternalWithTheServerMessage) {
  Status st = conn_->execute("SELEC 1");
  EXPECT_EQ(st.code(), ErrorCode::kInternal);
  EXPECT_NE(st.message().find("syntax error"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("42601"), std::string::npos) << st.message();
}

TEST_F(PostgresDriver, SessionIsDurableUtf8AndUtc) {
  EXPECT_EQ(text_of("SHOW synchronous_commit"), "on");
  EXPECT_EQ(text_of("SHOW client_encoding"), "UTF8");
  EXPECT_EQ(text_of("SHOW TimeZone"), "UTC");
  EXPECT_EQ(text_of("SHOW application_name"), "loyaltyd");
}

TEST_F(PostgresDriver, ManyDistinctStatementsBeyondTheCacheStillRun) {
  int64_t sum = 0;
  for (int64_t i = 0; i < 2'100; ++i) {
    sum += int_of("SELECT ?::bigint + " + std::to_string(i), {int64_t{1}});
  }
  EXPECT_EQ(sum, 2'100 + 2'100 * 2'099 / 2);
}

TEST_F(PostgresDriver, UnreachableServerIsUnavailable) {
  auto conn = open_postgres("postgresql://loyaltyd@127.0.0.1:1/none?connect_timeout=5");
  EXPECT_EQ(conn.status().code(), ErrorCode::kUnavailable) << describe(conn.status());
}

TEST_F(PostgresDriver, LostConnectionIsUnavailableAndTheNextStatementReconnects) {
  int64_t pid = backend_pid();
  EXPECT_EQ(int_of("SELECT ?::bigint", {int64_t{1}}), 1);  // prepared before the loss
  terminate_backend(pid);
  Status st = conn_->query("SELECT ?::bigint", {int64_t{1}});
  EXPECT_EQ(st.code(), ErrorCode::kUnavailable) << describe(st);
  EXPECT_EQ(int_of("SELECT ?::bigint", {int64_t{2}}), 2);
  EXPECT_NE(backend_pid(), pid);
  EXPECT_EQ(text_of("SHOW synchronous_commit"), "on") << "settings are restored on reconnect";
}

TEST_F(PostgresDriver, ConnectionLostInsideATransactionFailsEveryStatementUntilRollback) {
  must(conn_->execute("CREATE TABLE t (v BIGINT)"));
  must(conn_->execute("BEGIN"));
  must(conn_->query("INSERT INTO t (v) VALUES (?)", {int64_t{1}}));
  terminate_backend(backend_pid());
  EXPECT_EQ(conn_->query("INSERT INTO t (v) VALUES (?)", {int64_t{2}}).code(),
            ErrorCode::kUnavailable);
  // The rest of the transaction must not run on its own, outside of one.
  EXPECT_EQ(conn_->query("INSERT INTO t (v) VALUES (?)", {int64_t{3}}).code(),
            ErrorCode::kUnavailable);
  EXPECT_EQ(conn_->execute("COMMIT").code(), ErrorCode::kUnavailable);
  must(conn_->execute("ROLLBACK"));
  EXPECT_EQ(int_of("SELECT COUNT(*) FROM t"), 0);
}

}  // namespace
}  // namespace loyalty::store
