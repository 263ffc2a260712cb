// The seam between the store and a database: one small driver interface with a
// SQLite and a PostgreSQL implementation.
//
// Every query of the store is written once, in the SQL both databases accept,
// with '?' placeholders (the PostgreSQL driver rewrites them to $1, $2, ...).
// What differs per database — the schema DDL, how a write transaction begins,
// row locks — is asked of dialect(). Statements are prepared once per
// connection and cached by their text.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "common/result.h"

namespace loyalty::store {

enum class Dialect { kSqlite, kPostgres };

// A bound parameter: NULL, an integer, or text. Text is a view: the string must
// outlive the query (a temporary std::string is refused at compile time).
struct SqlValue {
  std::variant<std::monostate, int64_t, std::string_view> v;
  SqlValue() = default;
  SqlValue(std::nullptr_t) {}                                 // NOLINT(google-explicit-constructor)
  SqlValue(int64_t i) : v(i) {}                               // NOLINT(google-explicit-constructor)
  SqlValue(int i) : v(static_cast<int64_t>(i)) {}             // NOLINT(google-explicit-constructor)
  SqlValue(bool b) : v(static_cast<int64_t>(b)) {}            // NOLINT(google-explicit-constructor)
  SqlValue(std::string_view s) : v(s) {}                      // NOLINT(google-explicit-constructor)
  SqlValue(const std::string& s) : v(std::string_view(s)) {}  // NOLINT
  SqlValue(std::string&&) = delete;
  SqlValue(const char* s) : v(std::string_view(s)) {}  // NOLINT
  template <typename T>
  static SqlValue from_optional(const std::optional<T>& o) {
    return o ? SqlValue(*o) : SqlValue();
  }
};

// One result row; valid only during the callback.
class Row {
 public:
  virtual ~Row() = default;
  virtual bool is_null(int column) const = 0;
  virtual int64_t get_int(int column) const = 0;
  virtual std::string_view get_text(int column) const = 0;
  std::optional<int64_t> get_optional_int(int column) const {
    return is_null(column) ? std::nullopt : std::optional<int64_t>(get_int(column));
  }
};

using RowCallback = std::function<void(const Row&)>;

// A database connection. Not thread-safe: one thread uses it at a time.
// Errors: a unique-constraint violation is kConflict; a serialization failure
// or deadlock is kRetryable (the caller reruns the transaction); a busy or
// unreachable database is kUnavailable; anything else kInternal.
class SqlConnection {
 public:
  virtual ~SqlConnection() = default;
  virtual Dialect dialect() const = 0;
  // Runs one or more statements without parameters or results (DDL, BEGIN, ...).
  virtual Status execute(std::string_view sql) = 0;
  // Runs one statement with parameters; calls on_row for each row it returns.
  virtual Status query(std::string_view sql, std::span<const SqlValue> params,
                       const RowCallback& on_row) = 0;
  // Rows changed by the last INSERT/UPDATE/DELETE run through query().
  virtual int64_t changes() const = 0;
  // Rows changed since the connection opened (SQLite: sqlite3_total_changes64;
  // PostgreSQL: the sum of changes()). Tells whether a command wrote anything.
  virtual int64_t total_changes() const = 0;
  // SQLite: rowid of the last INSERT (the store uses it instead of RETURNING,
  // which SQLite runs through a temporary trigger: ~20k instructions a row).
  // PostgreSQL: 0, the store uses RETURNING there.
  virtual int64_t last_insert_rowid() const { return 0; }

  Status query(std::string_view sql, std::initializer_list<SqlValue> params,
               const RowCallback& on_row = nullptr) {
    return query(sql, std::span<const SqlValue>(params.begin(), params.size()), on_row);
  }
};

// Opens a connection from a URL: "sqlite:PATH" (":memory:" allowed) or
// "postgresql://..." / "postgres://...".
Result<std::unique_ptr<SqlConnection>> open_connection(std::string_view url);

Result<std::unique_ptr<SqlConnection>> open_sqlite(const std::string& path);
Result<std::unique_ptr<SqlConnection>> open_postgres(const std::string& conninfo);

}  // namespace loyalty::store
