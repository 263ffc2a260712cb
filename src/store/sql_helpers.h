// Helpers the StoreSession's source files share (store-internal: included by
// src/store/*.cpp only): NULL-able column values, the SQLite OR FAIL verbs,
// inserts that return the new id, and multi-row INSERT text.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/assert.h"
#include "common/result.h"
#include "common/time.h"
#include "store/sql.h"

namespace loyalty::store::detail {

inline std::optional<Instant> opt_instant(const Row& r, int c) {
  if (r.is_null(c)) return std::nullopt;
  return Instant{r.get_int(c)};
}
inline SqlValue instant_value(const std::optional<Instant>& t) {
  return t ? SqlValue(t->micros_since_epoch) : SqlValue();
}
inline SqlValue opt_bool_value(const std::optional<bool>& b) {
  return b ? SqlValue(static_cast<int64_t>(*b)) : SqlValue();
}
inline std::optional<bool> opt_bool(const Row& r, int c) {
  if (r.is_null(c)) return std::nullopt;
  return r.get_int(c) != 0;
}

// The hot single-row writes on SQLite use OR FAIL: a single-row statement checks
// every constraint before it writes, so it is atomic without the statement
// journal that the default ABORT makes SQLite keep (a copy of each page the
// statement touches).
inline std::string sqlite_fail_or(Dialect d, const char* verb) {
  return d == Dialect::kSqlite ? std::string(verb) + " OR FAIL" : std::string(verb);
}

// Runs a single-row INSERT and returns the new row's id: RETURNING id on
// PostgreSQL, sqlite3_last_insert_rowid on SQLite (see SqlConnection). Errors
// are the connection's (kConflict for a taken unique value).
inline Result<int64_t> insert_returning_id(SqlConnection& db, const std::string& insert_sql,
                                           std::span<const SqlValue> params) {
  int64_t id = 0;
  if (db.dialect() == Dialect::kSqlite) {
    LOYALTY_RETURN_IF_ERROR(db.query(insert_sql, params, nullptr));
    id = db.last_insert_rowid();
  } else {
    LOYALTY_RETURN_IF_ERROR(
        db.query(insert_sql + " RETURNING id", params, [&](const Row& r) { id = r.get_int(0); }));
  }
  LOYALTY_ASSERT(id > 0);
  return id;
}
inline Result<int64_t> insert_returning_id(SqlConnection& db, const std::string& insert_sql,
                                           std::initializer_list<SqlValue> params) {
  return insert_returning_id(db, insert_sql,
                             std::span<const SqlValue>(params.begin(), params.size()));
}

// Reading enum columns: the first column holding text the store never
// writes (a corrupted row) is remembered and turned into kInternal.
struct BadText {
  std::optional<std::string> where;
  template <typename T>
  T check(std::optional<T> parsed, const char* column, std::string_view text, T fallback) {
    if (!parsed && !where) where = std::string(column) + " holds '" + std::string(text) + "'";
    return parsed.value_or(fallback);
  }
  Status status() const { return where ? Status(ErrorCode::kInternal, *where) : Status(); }
};

// "HEAD VALUES ROW, ROW, ..." with `rows` copies of ROW (rows >= 1).
inline std::string multi_row_insert(std::string_view head, std::string_view row, size_t rows) {
  std::string sql(head);
  for (size_t i = 0; i < rows; ++i) {
    sql += i == 0 ? " VALUES " : ", ";
    sql += row;
  }
  return sql;
}

}  // namespace loyalty::store::detail
