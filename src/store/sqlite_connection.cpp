// SQLite implementation of SqlConnection.
//
// Durability settings are fixed here, not configurable: WAL journal with
// synchronous=FULL, so a committed transaction survives power loss. The
// loyaltyd-wal VFS (store/sqlite_wal_vfs.h) relies on synchronous=FULL.
#include <sqlite3.h>

#include <mutex>
#include <string>
#include <unordered_map>

#include "store/sql.h"
#include "store/sqlite_wal_vfs.h"

namespace loyalty::store {
namespace {

class SqliteRow final : public Row {
 public:
  explicit SqliteRow(sqlite3_stmt* stmt) : stmt_(stmt) {}
  bool is_null(int c) const override { return sqlite3_column_type(stmt_, c) == SQLITE_NULL; }
  int64_t get_int(int c) const override { return sqlite3_column_int64(stmt_, c); }
  std::string_view get_text(int c) const override {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, c));
    if (p == nullptr) return {};
    return std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, c)));
  }

 private:
  sqlite3_stmt* stmt_;
};

class SqliteConnection final : public SqlConnection {
 public:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  ~SqliteConnection() override {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  Dialect dialect() const override { return Dialect::kSqlite; }

  Status execute(std::string_view sql) override {
    char* err = nullptr;
    std::string text(sql);
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string message = err != nullptr ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      return error(rc, message);
    }
    return {};
  }

  Status query(std::string_view sql, std::span<const SqlValue> params,
               const RowCallback& on_row) override {
    sqlite3_stmt* stmt = nullptr;
    auto it = statements_.find(sql);
    if (it != statements_.end()) {
      stmt = it->second;
    } else {
      int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                  SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
      if (rc != SQLITE_OK)
        return error(rc, std::string(sqlite3_errmsg(db_)) + " in: " + std::string(sql));
      statements_.emplace(std::string(sql), stmt);
    }
    struct Reset {
      sqlite3_stmt* s;
      ~Reset() {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
      }
    } reset{stmt};
    for (size_t i = 0; i < params.size(); ++i) {
      int idx = static_cast<int>(i) + 1;
      int rc = SQLITE_OK;
      const auto& v = params[i].v;
      if (std::holds_alternative<std::monostate>(v)) {
        rc = sqlite3_bind_null(stmt, idx);
      } else if (const auto* n = std::get_if<int64_t>(&v)) {
        rc = sqlite3_bind_int64(stmt, idx, *n);
      } else {
        auto s = std::get<std::string_view>(v);
        rc = sqlite3_bind_text(stmt, idx, s.data(), static_cast<int>(s.size()), SQLITE_STATIC);
      }
      if (rc != SQLITE_OK) return error(rc, sqlite3_errmsg(db_));
    }
    SqliteRow row(stmt);
    while (true) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_ROW) {
        if (on_row) on_row(row);
        continue;
      }
      if (rc == SQLITE_DONE) break;
      return error(rc, sqlite3_errmsg(db_));
    }
    changes_ = sqlite3_changes64(db_);
    return {};
  }

  int64_t changes() const override { return changes_; }
  int64_t total_changes() const override { return sqlite3_total_changes64(db_); }
  int64_t last_insert_rowid() const override { return sqlite3_last_insert_rowid(db_); }

 private:
  static Status error(int rc, const std::string& message) {
    int primary = rc & 0xFF;
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
      return Status(ErrorCode::kConflict, message);
    }
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
      return Status(ErrorCode::kUnavailable, "database is busy: " + message);
    }
    if (primary == SQLITE_FULL || primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN) {
      return Status(ErrorCode::kUnavailable, "storage error: " + message);
    }
    return Status(ErrorCode::kInternal, "sqlite: " + message);
  }

  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*, Hash, std::equal_to<>> statements_;
  int64_t changes_ = 0;
};

}  // namespace

Result<std::unique_ptr<SqlConnection>> open_sqlite(const std::string& path) {
  // No memory statistics: with them on, every SQLite allocation takes a
  // process-wide mutex (−4 % instructions of the expiry job). Nothing here reads
  // sqlite3_memory_used. Must precede SQLite's initialisation, so it is the
  // first thing the first open does; if something initialised SQLite earlier
  // the call fails harmlessly and the statistics stay on.
  static std::once_flag configured;
  std::call_once(configured, [] { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  // WAL writes gathered into one write per commit (store/sqlite_wal_vfs.h);
  // safe because every connection here commits with synchronous=FULL.
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, wal_gathering_vfs());
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Status(ErrorCode::kUnavailable,
                  "cannot open SQLite database '" + path + "': " + message);
  }
  sqlite3_extended_result_codes(db, 1);
  auto conn = std::make_unique<SqliteConnection>(db);
  // busy_timeout: the CLI (verify, program create) may touch the file while a
  // server runs; SQLite allows one writer, so wait for it rather than fail.
  Status st = conn->execute(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
      "PRAGMA busy_timeout=10000; PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;");
  if (!st.ok()) return st;
  return std::unique_ptr<SqlConnection>(std::move(conn));
}

Result<std::unique_ptr<SqlConnection>> open_connection(std::string_view url) {
  if (url.starts_with("sqlite:")) {
    std::string path(url.substr(7));
    if (path.starts_with("//")) path = path.substr(2);  // sqlite:///abs/path
    if (path.empty()) return Status(ErrorCode::kInvalidRequest, "sqlite: URL needs a path");
    return open_sqlite(path);
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    return open_postgres(std::string(url));
  }
  return Status(
      ErrorCode::kInvalidRequest,
      "database URL must start with sqlite: or postgresql://, got '" + std::string(url) + "'");
}

}  // namespace loyalty::store
