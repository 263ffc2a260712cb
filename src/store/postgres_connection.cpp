// The PostgreSQL driver: SqlConnection over libpq.
//
// Statements arrive in the store's portable SQL with '?' placeholders; each
// distinct text is rewritten to $1..$n, prepared once per connection under a
// generated name and run with PQexecPrepared. Parameters and results travel in
// text format, which keeps the driver free of binary-format endianness and OID
// handling: an int64 is its decimal spelling, NULL is a null pointer.
//
// Session settings that durability and determinism depend on (synchronous
// commit, UTF-8, UTC) are set on every (re)connect, whatever the server's
// defaults are.
#include <libpq-fe.h>

#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "common/assert.h"
#include "store/sql.h"

namespace loyalty::store {
namespace {

// Distinct statement texts prepared per connection. The store's queries are a
// fixed set, but a few of them grow with their input (IN lists), so the cache is
// bounded; beyond it statements run through the unnamed prepared statement.
constexpr size_t kMaxPreparedStatements = 2'000;
// PostgreSQL's limit on parameters of one statement (a 16-bit count).
constexpr size_t kMaxParameters = 65'535;
// How much of a failing statement's text an error message quotes.
constexpr size_t kMaxSqlInErrorMessage = 200;
// Used when the URL does not set its own connect_timeout.
constexpr const char* kDefaultConnectTimeoutSeconds = "10";

constexpr const char* kSessionSetup =
    "SET synchronous_commit = on; SET client_encoding = 'UTF8'; SET TimeZone = 'UTC'; "
    "SET application_name = 'loyaltyd'";

// OIDs of the built-in types used when the server cannot infer a parameter's type.
constexpr Oid kInt8Oid = 20;
constexpr Oid kTextOid = 25;

// Rewrites '?' placeholders to $1, $2, ... outside of single-quoted literals,
// double-quoted identifiers and comments. Returns the number of placeholders.
int rewrite_placeholders(std::string_view sql, std::string& out) {
  out.clear();
  out.reserve(sql.size() + 16);
  int count = 0;
  size_t i = 0;
  const size_t n = sql.size();
  while (i < n) {
    char c = sql[i];
    if (c == '\'' || c == '"') {
      // A quoted run ends at the next unescaped quote; a doubled quote is an
      // escaped one and simply reopens the run on the next iteration.
      size_t end = sql.find(c, i + 1);
      end = end == std::string_view::npos ? n : end + 1;
      out.append(sql.substr(i, end - i));
      i = end;
    } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      size_t end = sql.find('\n', i);
      end = end == std::string_view::npos ? n : end;
      out.append(sql.substr(i, end - i));
      i = end;
    } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      size_t end = sql.find("*/", i + 2);
      end = end == std::string_view::npos ? n : end + 2;
      out.append(sql.substr(i, end - i));
      i = end;
    } else if (c == '?') {
      ++count;
      out.push_back('$');
      out.append(std::to_string(count));
      ++i;
    } else {
      out.push_back(c);
      ++i;
    }
  }
  return count;
}

bool starts_with(const char* text, std::string_view prefix) {
  return text != nullptr && std::string_view(text).substr(0, prefix.size()) == prefix;
}

ErrorCode classify_sqlstate(const char* sqlstate) {
  if (sqlstate == nullptr) return ErrorCode::kInternal;
  std::string_view s(sqlstate);
  if (s == "23505") return ErrorCode::kConflict;                    // unique_violation
  if (s == "40001" || s == "40P01") return ErrorCode::kRetryable;   // serialization, deadlock
  if (starts_with(sqlstate, "08")) return ErrorCode::kUnavailable;  // connection exception
  if (s == "57P01" || s == "57P02" || s == "57P03") return ErrorCode::kUnavailable;  // shutdown
  if (s == "53300") return ErrorCode::kUnavailable;  // too_many_connections
  if (s == "55P03") return ErrorCode::kUnavailable;  // lock_not_available (lock_timeout)
  return ErrorCode::kInternal;
}

std::string trimmed(const char* message) {
  std::string m = message != nullptr ? message : "";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

// A row of a text-format result.
class PostgresRow final : public Row {
 public:
  PostgresRow(const PGresult* result, int row) : result_(result), row_(row) {}

  bool is_null(int column) const override {
    check_column(column);
    return PQgetisnull(result_, row_, column) != 0;
  }

  int64_t get_int(int column) const override {
    std::string_view text = get_text(column);
    if (text.empty()) return 0;  // NULL reads as 0, as in SQLite
    if (text == "t") return 1;
    if (text == "f") return 0;
    int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    // numeric results of integer sums print without a fraction; tolerate ".000".
    if (ec == std::errc() && end < text.data() + text.size() && *end == '.') {
      const char* p = end + 1;
      while (p < text.data() + text.size() && *p == '0') ++p;
      if (p == text.data() + text.size()) end = p;
    }
    LOYALTY_ASSERT_MSG(ec == std::errc() && end == text.data() + text.size(),
                       "get_int on a column that does not hold an int64");
    return value;
  }

  std::string_view get_text(int column) const override {
    check_column(column);
    if (PQgetisnull(result_, row_, column)) return {};
    return std::string_view(PQgetvalue(result_, row_, column),
                            static_cast<size_t>(PQgetlength(result_, row_, column)));
  }

 private:
  void check_column(int column) const {
    LOYALTY_ASSERT_MSG(column >= 0 && column < PQnfields(result_), "column index out of range");
  }
  const PGresult* result_;
  int row_;
};

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnDeleter>;

void ignore_notice(void* /*arg*/, const char* /*message*/) {}

class PostgresConnection final : public SqlConnection {
 public:
  explicit PostgresConnection(ConnPtr conn) : conn_(std::move(conn)) {}

  Dialect dialect() const override { return Dialect::kPostgres; }

  // Applies the session settings; called after every (re)connect.
  Status setup_session() {
    PQsetNoticeProcessor(conn_.get(), ignore_notice, nullptr);
    ResultPtr res(PQexec(conn_.get(), kSessionSetup));
    return check(res.get(), PGRES_COMMAND_OK, kSessionSetup);
  }

  Status execute(std::string_view sql) override {
    if (lost_transaction_ && is_plain_rollback(sql)) {
      // The server already rolled the lost transaction back.
      lost_transaction_ = false;
      return {};
    }
    LOYALTY_RETURN_IF_ERROR(ensure_connected());
    std::string text(sql);
    ResultPtr res(PQexec(conn_.get(), text.c_str()));
    note_transaction_status();
    // A script's last statement decides the status; a failure stops the script.
    if (res && PQresultStatus(res.get()) == PGRES_TUPLES_OK) return {};
    return check(res.get(), PGRES_COMMAND_OK, sql);
  }

  Status query(std::string_view sql, std::span<const SqlValue> params,
               const RowCallback& on_row) override {
    LOYALTY_RETURN_IF_ERROR(ensure_connected());
    LOYALTY_ASSIGN_OR_RETURN(const Prepared* prepared, prepare(sql, params));
    if (static_cast<size_t>(prepared->parameter_count) != params.size()) {
      return Status(ErrorCode::kInternal, "postgres: statement has " +
                                              std::to_string(prepared->parameter_count) +
                                              " placeholders but " + std::to_string(params.size()) +
                                              " parameters were bound: " + excerpt(sql));
    }

    // Text-format values must be NUL-terminated (libpq ignores lengths for
    // them): int64s are spelled into `numbers`, text is copied into `texts`.
    std::vector<std::array<char, 24>> numbers(params.size());
    std::vector<std::string> texts;
    texts.reserve(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    std::vector<int> lengths(params.size(), 0);
    for (size_t i = 0; i < params.size(); ++i) {
      const auto& v = params[i].v;
      if (const int64_t* number = std::get_if<int64_t>(&v)) {
        auto [end, ec] =
            std::to_chars(numbers[i].data(), numbers[i].data() + numbers[i].size() - 1, *number);
        LOYALTY_ASSERT(ec == std::errc());
        *end = '\0';
        values[i] = numbers[i].data();
        lengths[i] = static_cast<int>(end - numbers[i].data());
      } else if (const std::string_view* text = std::get_if<std::string_view>(&v)) {
        if (text->find('\0') != std::string_view::npos) {
          return Status(ErrorCode::kInvalidRequest, "text must not contain a NUL character");
        }
        texts.emplace_back(*text);
        values[i] = texts.back().c_str();
        lengths[i] = static_cast<int>(text->size());
      }
    }
    ResultPtr res(PQexecPrepared(conn_.get(), prepared->name.c_str(),
                                 static_cast<int>(params.size()), values.data(), lengths.data(),
                                 /*paramFormats=*/nullptr, /*resultFormat=*/0));
    note_transaction_status();
    if (!res) return connection_error(sql);
    ExecStatusType status = PQresultStatus(res.get());
    if (status == PGRES_TUPLES_OK) {
      if (on_row) {
        int rows = PQntuples(res.get());
        for (int r = 0; r < rows; ++r) on_row(PostgresRow(res.get(), r));
      }
    } else {
      LOYALTY_RETURN_IF_ERROR(check(res.get(), PGRES_COMMAND_OK, sql));
    }
    // Like sqlite3_changes(): only INSERT/UPDATE/DELETE set the count.
    std::string_view tag = PQcmdStatus(res.get());
    if (tag.starts_with("INSERT") || tag.starts_with("UPDATE") || tag.starts_with("DELETE") ||
        tag.starts_with("MERGE")) {
      std::string_view tuples = PQcmdTuples(res.get());
      int64_t affected = 0;
      std::from_chars(tuples.data(), tuples.data() + tuples.size(), affected);
      changes_ = affected;
      total_changes_ += affected;
    }
    return {};
  }

  int64_t changes() const override { return changes_; }
  int64_t total_changes() const override { return total_changes_; }

 private:
  struct Prepared {
    std::string name;  // "" = the unnamed statement (not cached)
    int parameter_count = 0;
  };

  // Reconnects a connection that went bad (the statement that noticed the
  // loss has already failed with kUnavailable). When the loss happened inside a
  // transaction, the server rolled it back: every statement then fails with
  // kUnavailable until the caller sends ROLLBACK, so that the rest of the
  // caller's transaction cannot run (and commit) piecemeal outside of one.
  Status ensure_connected() {
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      if (in_transaction_) lost_transaction_ = true;
      in_transaction_ = false;
      prepared_.clear();
      PQreset(conn_.get());
      if (PQstatus(conn_.get()) != CONNECTION_OK) {
        return Status(ErrorCode::kUnavailable, "postgres: connection lost and reconnect failed: " +
                                                   trimmed(PQerrorMessage(conn_.get())));
      }
      LOYALTY_RETURN_IF_ERROR(setup_session());
    }
    if (lost_transaction_) {
      return Status(ErrorCode::kUnavailable,
                    "postgres: the connection was lost inside a transaction, which the server "
                    "rolled back; ROLLBACK and start again");
    }
    return {};
  }

  static bool is_plain_rollback(std::string_view sql) {
    while (!sql.empty() && (sql.front() == ' ' || sql.front() == '\n')) sql.remove_prefix(1);
    while (!sql.empty() && (sql.back() == ' ' || sql.back() == '\n' || sql.back() == ';')) {
      sql.remove_suffix(1);
    }
    std::string upper(sql);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return upper == "ROLLBACK" || upper == "ROLLBACK WORK" || upper == "ROLLBACK TRANSACTION" ||
           upper == "ABORT";
  }

  void note_transaction_status() {
    switch (PQtransactionStatus(conn_.get())) {
      case PQTRANS_IDLE:
        in_transaction_ = false;
        break;
      case PQTRANS_INTRANS:
      case PQTRANS_INERROR:
        in_transaction_ = true;
        break;
      default:
        break;  // unknown (connection bad) or active: keep what we knew
    }
  }

  Result<const Prepared*> prepare(std::string_view sql, std::span<const SqlValue> params) {
    std::string key(sql);
    if (auto it = prepared_.find(key); it != prepared_.end()) return &it->second;

    std::string rewritten;
    int count = rewrite_placeholders(sql, rewritten);
    if (static_cast<size_t>(count) > kMaxParameters) {
      return Status(ErrorCode::kInternal, "postgres: too many parameters: " + excerpt(sql));
    }
    bool cache = prepared_.size() < kMaxPreparedStatements;
    Prepared p;
    p.name = cache ? "loyaltyd_" + std::to_string(++statement_counter_) : "";
    p.parameter_count = count;

    // First let the server infer every parameter's type from its context (so
    // '1' binds to a boolean or an integer column alike). Where the context says
    // nothing (`? IS NULL`), declare the types of the values bound now. A failed
    // prepare would abort the caller's transaction, so inside one the attempt
    // runs under a savepoint of its own (once per statement and connection).
    bool guard = PQtransactionStatus(conn_.get()) == PQTRANS_INTRANS;
    if (guard) LOYALTY_RETURN_IF_ERROR(run_simple("SAVEPOINT loyaltyd_prepare"));
    ResultPtr res(PQprepare(conn_.get(), p.name.c_str(), rewritten.c_str(), count, nullptr));
    const char* sqlstate = res ? PQresultErrorField(res.get(), PG_DIAG_SQLSTATE) : nullptr;
    if (sqlstate != nullptr && std::string_view(sqlstate) == "42P18" &&
        params.size() == static_cast<size_t>(count) && (guard || !in_transaction_failed())) {
      if (guard) LOYALTY_RETURN_IF_ERROR(run_simple("ROLLBACK TO SAVEPOINT loyaltyd_prepare"));
      std::vector<Oid> types(params.size(), kTextOid);
      for (size_t i = 0; i < params.size(); ++i) {
        if (std::holds_alternative<int64_t>(params[i].v)) types[i] = kInt8Oid;
      }
      res.reset(PQprepare(conn_.get(), p.name.c_str(), rewritten.c_str(), count, types.data()));
    }
    if (guard) {
      bool failed = in_transaction_failed();
      if (failed) LOYALTY_RETURN_IF_ERROR(run_simple("ROLLBACK TO SAVEPOINT loyaltyd_prepare"));
      LOYALTY_RETURN_IF_ERROR(run_simple("RELEASE SAVEPOINT loyaltyd_prepare"));
    }
    note_transaction_status();
    LOYALTY_RETURN_IF_ERROR(check(res.get(), PGRES_COMMAND_OK, sql));
    if (!cache) {
      unnamed_ = std::move(p);
      return &unnamed_;
    }
    auto [it, inserted] = prepared_.emplace(std::move(key), std::move(p));
    LOYALTY_ASSERT(inserted);
    return &it->second;
  }

  Status run_simple(const char* sql) {
    ResultPtr res(PQexec(conn_.get(), sql));
    note_transaction_status();
    return check(res.get(), PGRES_COMMAND_OK, sql);
  }

  bool in_transaction_failed() const { return PQtransactionStatus(conn_.get()) == PQTRANS_INERROR; }

  static std::string excerpt(std::string_view sql) {
    if (sql.size() <= kMaxSqlInErrorMessage) return std::string(sql);
    return std::string(sql.substr(0, kMaxSqlInErrorMessage)) + "...";
  }

  Status connection_error(std::string_view sql) {
    return Status(ErrorCode::kUnavailable, "postgres: " + trimmed(PQerrorMessage(conn_.get())) +
                                               " (in: " + excerpt(sql) + ")");
  }

  // Maps a result to a Status: ok when its status is `expected`.
  Status check(const PGresult* res, ExecStatusType expected, std::string_view sql) {
    if (res == nullptr) return connection_error(sql);
    ExecStatusType status = PQresultStatus(res);
    if (status == expected) return {};
    const char* sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    ErrorCode code = classify_sqlstate(sqlstate);
    if (PQstatus(conn_.get()) != CONNECTION_OK) code = ErrorCode::kUnavailable;
    std::string message = trimmed(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
    if (message.empty()) message = trimmed(PQresultErrorMessage(res));
    if (message.empty()) message = std::string("unexpected result ") + PQresStatus(status);
    const char* detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
    if (detail != nullptr) message += " (" + trimmed(detail) + ")";
    if (sqlstate != nullptr) message += " [" + std::string(sqlstate) + "]";
    return Status(code, "postgres: " + message + " in: " + excerpt(sql));
  }

  ConnPtr conn_;
  std::unordered_map<std::string, Prepared> prepared_;
  Prepared unnamed_;
  int64_t statement_counter_ = 0;
  int64_t changes_ = 0;
  int64_t total_changes_ = 0;
  bool in_transaction_ = false;
  bool lost_transaction_ = false;
};

}  // namespace

Result<std::unique_ptr<SqlConnection>> open_postgres(const std::string& conninfo) {
  // Later keywords override earlier ones: the URL may set its own connect
  // timeout, but not the settings loyaltyd's correctness depends on.
  const char* keywords[] = {"connect_timeout", "dbname", "client_encoding", "application_name",
                            nullptr};
  const char* values[] = {kDefaultConnectTimeoutSeconds, conninfo.c_str(), "UTF8", "loyaltyd",
                          nullptr};
  ConnPtr conn(PQconnectdbParams(keywords, values, /*expand_dbname=*/1));
  if (!conn) return Status(ErrorCode::kUnavailable, "postgres: out of memory connecting");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return Status(ErrorCode::kUnavailable,
                  "postgres: cannot connect: " + trimmed(PQerrorMessage(conn.get())));
  }
  auto connection = std::make_unique<PostgresConnection>(std::move(conn));
  LOYALTY_RETURN_IF_ERROR(connection->setup_session());
  return std::unique_ptr<SqlConnection>(std::move(connection));
}

}  // namespace loyalty::store
