#include "store/store.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <set>
#include <span>

#include "common/assert.h"
#include "store/migrations.h"
#include "store/sql_helpers.h"

namespace loyalty::store {
namespace {

using detail::insert_returning_id;
using detail::instant_value;
using detail::multi_row_insert;
using detail::opt_bool;
using detail::opt_bool_value;
using detail::opt_instant;
using detail::sqlite_fail_or;

std::string join_scopes(const std::vector<std::string>& scopes) {
  std::string out;
  for (const auto& s : scopes) {
    if (!out.empty()) out.push_back(' ');
    out += s;
  }
  return out;
}
std::vector<std::string> split_scopes(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find(' ', start);
    if (end == std::string_view::npos) end = s.size();
    if (end > start) out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

constexpr const char* kProgramColumns =
    "id, name, currency, timezone, points_name, point_value_minor, point_value_points, "
    "negative_balance, transfers_enabled, transfer_min_points, transfer_max_points, "
    "transfer_daily_limit_points, created_at, updated_at";

Program read_program(const Row& r) {
  Program p;
  p.id = ProgramId{r.get_int(0)};
  p.name = std::string(r.get_text(1));
  p.currency = std::string(r.get_text(2));
  p.timezone = std::string(r.get_text(3));
  p.points_name = std::string(r.get_text(4));
  p.point_value_minor = r.get_int(5);
  p.point_value_points = r.get_int(6);
  p.negative_balance =
      parse_negative_balance_policy(r.get_text(7)).value_or(NegativeBalancePolicy::kForbid);
  p.transfers.enabled = r.get_int(8) != 0;
  p.transfers.min_points = r.get_int(9);
  p.transfers.max_points = r.get_int(10);
  p.transfers.daily_limit_points = r.get_int(11);
  p.created_at = Instant{r.get_int(12)};
  p.updated_at = Instant{r.get_int(13)};
  return p;
}

constexpr const char* kApiKeyColumns =
    "id, program_id, name, prefix, key_hash, scopes, created_at, revoked_at";

ApiKey read_api_key(const Row& r) {
  ApiKey k;
  k.id = ApiKeyId{r.get_int(0)};
  k.program_id = ProgramId{r.get_int(1)};
  k.name = std::string(r.get_text(2));
  k.prefix = std::string(r.get_text(3));
  k.key_hash = std::string(r.get_text(4));
  k.scopes = split_scopes(r.get_text(5));
  k.created_at = Instant{r.get_int(6)};
  k.revoked_at = opt_instant(r, 7);
  return k;
}

#define MEMBER_COLUMNS                                                                       \
  "id, program_id, external_id, email, first_name, last_name, birthday, attributes, "        \
  "consent_email, consent_sms, consent_push, status, created_at, updated_at, orders_count, " \
  "total_spent_minor"

Member read_member(const Row& r) {
  Member m;
  m.id = MemberId{r.get_int(0)};
  m.program_id = ProgramId{r.get_int(1)};
  m.external_id = std::string(r.get_text(2));
  m.email = std::string(r.get_text(3));
  m.first_name = std::string(r.get_text(4));
  m.last_name = std::string(r.get_text(5));
  if (!r.is_null(6)) m.birthday = parse_local_date(r.get_text(6));
  m.attributes_json = std::string(r.get_text(7));
  m.consent.email = opt_bool(r, 8);
  m.consent.sms = opt_bool(r, 9);
  m.consent.push = opt_bool(r, 10);
  m.status = parse_member_status(r.get_text(11)).value_or(MemberStatus::kActive);
  m.created_at = Instant{r.get_int(12)};
  m.updated_at = Instant{r.get_int(13)};
  m.orders_count = r.get_int(14);
  m.total_spent_minor = r.get_int(15);
  return m;
}

#define LOT_COLUMNS \
  "id, member_id, posting_id, original, remaining, pending, created_at, available_at, expires_at"

// An open lot. On SQLite the member's lots index is (program_id, member_id, id)
// (migration 22) and the condition is checked on the row; PostgreSQL uses its
// partial index lots_open.
#define LOT_IS_OPEN "remaining > 0"

Lot read_lot(const Row& r) {
  Lot l;
  l.id = LotId{r.get_int(0)};
  l.member = MemberId{r.get_int(1)};
  l.posting = PostingId{r.get_int(2)};
  l.original = Points{r.get_int(3)};
  l.remaining = Points{r.get_int(4)};
  l.pending = r.get_int(5) != 0;
  l.created_at = Instant{r.get_int(6)};
  l.available_at = opt_instant(r, 7);
  l.expires_at = opt_instant(r, 8);
  return l;
}

#define POSTING_COLUMNS                                                                     \
  "id, member_id, counterparty_id, kind, reason, source, reason_code, actor, reverses_id, " \
  "created_at, config_version, order_id"

Posting read_posting(const Row& r, ProgramId program) {
  Posting p;
  p.id = PostingId{r.get_int(0)};
  p.program_id = program;
  p.member = MemberId{r.get_int(1)};
  p.counterparty = MemberId{r.is_null(2) ? 0 : r.get_int(2)};
  p.kind = parse_posting_kind(r.get_text(3)).value_or(PostingKind::kCredit);
  p.reason = std::string(r.get_text(4));
  p.source = std::string(r.get_text(5));
  p.reason_code = std::string(r.get_text(6));
  p.actor = std::string(r.get_text(7));
  p.reverses = PostingId{r.is_null(8) ? 0 : r.get_int(8)};
  p.created_at = Instant{r.get_int(9)};
  p.config_version = r.is_null(10) ? 0 : static_cast<int>(r.get_int(10));
  p.order = OrderId{r.is_null(11) ? 0 : r.get_int(11)};
  return p;
}

}  // namespace

// The SQL of apply_plan, built once per session: the texts depend on the
// dialect (OR FAIL on SQLite), and building them on every posting cost ~6 % of
// the expiry job's writer (allocations and copies of ~150-byte strings).
struct StoreSession::LedgerStatements {
  static constexpr size_t kEntriesPerInsert = 16;
  explicit LedgerStatements(Dialect d)
      : insert_posting(sqlite_fail_or(d, "INSERT") +
                       " INTO postings (program_id, member_id, counterparty_id, kind, reason, "
                       "source, reason_code, actor, reverses_id, created_at, config_version, "
                       "order_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        insert_lot(sqlite_fail_or(d, "INSERT") +
                   " INTO lots (program_id, member_id, posting_id, original, remaining, pending, "
                   "created_at, available_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        update_lot(sqlite_fail_or(d, "UPDATE") +
                   " lots SET remaining = ?, pending = ? WHERE program_id = ? AND member_id = ? "
                   "AND id = ?"),
        update_balance(sqlite_fail_or(d, "UPDATE") +
                       " balances SET available = ?, pending = ?, lifetime_earned = ?, "
                       "lifetime_spent = ?, expired = ?, adjusted = ?, transferred_net = ?, "
                       "next_due_at = ?, rolling_expires_at = ?, held = ?, version = version + 1 "
                       "WHERE program_id = ? AND member_id = ?"),
        update_balance_at_version(update_balance + " AND version = ?"),
        insert_balance(sqlite_fail_or(d, "INSERT") +
                       " INTO balances (program_id, member_id, available, pending, "
                       "lifetime_earned, lifetime_spent, expired, adjusted, transferred_net, "
                       "next_due_at, rolling_expires_at, held, version) VALUES (?, ?, ?, ?, ?, "
                       "?, ?, ?, ?, ?, ?, ?, 1)") {
    for (size_t rows = 1; rows <= kEntriesPerInsert; ++rows) {
      insert_entries[rows] = multi_row_insert(
          sqlite_fail_or(d, "INSERT") +
              " INTO entries (program_id, member_id, posting_id, seq, account, lot_id, amount)",
          "(?, ?, ?, ?, ?, ?, ?)", rows);
    }
  }
  std::string insert_posting;
  std::string insert_lot;
  std::string update_lot;
  std::string update_balance;
  std::string update_balance_at_version;
  std::string insert_balance;
  std::array<std::string, kEntriesPerInsert + 1> insert_entries;  // by row count
};

StoreSession::StoreSession(std::unique_ptr<SqlConnection> connection)
    : connection_(std::move(connection)),
      ledger_sql_(std::make_unique<const LedgerStatements>(connection_->dialect())) {}
StoreSession::~StoreSession() = default;

Result<std::unique_ptr<StoreSession>> open_session(std::string_view url) {
  LOYALTY_ASSIGN_OR_RETURN(auto conn, open_connection(url));
  return std::make_unique<StoreSession>(std::move(conn));
}

// ---- Schema ----

Status StoreSession::migrate() {
  bool pg = dialect() == Dialect::kPostgres;
  LOYALTY_RETURN_IF_ERROR(begin_write());
  auto fail = [&](Status st) {
    (void)rollback();
    return st;
  };
  if (pg) {
    // Several nodes may start at once: serialize migrations on an advisory lock.
    Status st = connection_->execute("SELECT pg_advisory_xact_lock(7346201)");
    if (!st.ok()) return fail(st);
  }
  Status st = connection_->execute(
      pg ? "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
           "name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
         : "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
           "name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
  if (!st.ok()) return fail(st);
  // Every migration not applied yet, in order, even one numbered below an
  // applied one: branches developed side by side reserve their numbers (18
  // referrals, 19 gift cards), and a database may get the higher one first.
  std::set<int64_t> applied;
  st = connection_->query("SELECT version FROM schema_migrations", {},
                          [&](const Row& r) { applied.insert(r.get_int(0)); });
  if (!st.ok()) return fail(st);
  for (const Migration& m : migrations()) {
    if (applied.contains(m.version)) continue;
    // A migration may have nothing to do on one dialect ({SQLITE} lines only).
    const std::string sql = render_migration(m, dialect());
    st = sql.find_first_not_of(" \n") == std::string::npos ? Status() : connection_->execute(sql);
    if (!st.ok()) {
      return fail(Status(st.code(), "migration " + std::to_string(m.version) + " (" + m.name +
                                        ") failed: " + st.message()));
    }
    st = connection_->query(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
        {int64_t{m.version}, m.name, SystemClock().now().micros_since_epoch});
    if (!st.ok()) return fail(st);
  }
  return commit();
}

Result<int> StoreSession::schema_version() {
  int64_t v = 0;
  LOYALTY_RETURN_IF_ERROR(
      connection_->query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", {},
                         [&](const Row& r) { v = r.get_int(0); }));
  return static_cast<int>(v);
}

// ---- Transactions ----

// BEGIN and COMMIT run once per read request and per batch: on SQLite as
// cached prepared statements, like the savepoints below (sqlite3_exec would
// compile them every time: ~11,000 instructions, a tenth of a balance read).
Status StoreSession::begin_write() {
  if (dialect() == Dialect::kSqlite) return connection_->query("BEGIN IMMEDIATE", {});
  return connection_->execute("BEGIN");
}
Status StoreSession::begin_read() {
  if (dialect() == Dialect::kSqlite) return connection_->query("BEGIN", {});
  return connection_->execute("BEGIN");
}
Status StoreSession::commit() {
  if (dialect() == Dialect::kSqlite) return connection_->query("COMMIT", {});
  return connection_->execute("COMMIT");
}
Status StoreSession::rollback() { return connection_->execute("ROLLBACK"); }
// Savepoints run once per command: on SQLite as cached prepared statements
// (sqlite3_exec would compile them every time).
Status StoreSession::savepoint() {
  if (dialect() == Dialect::kSqlite) return connection_->query("SAVEPOINT cmd", {});
  return connection_->execute("SAVEPOINT cmd");
}
Status StoreSession::release_savepoint() {
  if (dialect() == Dialect::kSqlite) return connection_->query("RELEASE SAVEPOINT cmd", {});
  return connection_->execute("RELEASE SAVEPOINT cmd");
}
Status StoreSession::rollback_to_savepoint() {
  if (dialect() == Dialect::kSqlite) return connection_->query("ROLLBACK TO SAVEPOINT cmd", {});
  return connection_->execute("ROLLBACK TO SAVEPOINT cmd");
}

// ---- Programs ----

Result<ProgramId> StoreSession::insert_program(const Program& p) {
  LOYALTY_ASSIGN_OR_RETURN(
      int64_t id,
      insert_returning_id(
          *connection_,
          "INSERT INTO programs (name, currency, timezone, points_name, point_value_minor, "
          "point_value_points, negative_balance, transfers_enabled, transfer_min_points, "
          "transfer_max_points, transfer_daily_limit_points, created_at, updated_at) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
          {p.name, p.currency, p.timezone, p.points_name, p.point_value_minor, p.point_value_points,
           to_string(p.negative_balance), p.transfers.enabled, p.transfers.min_points,
           p.transfers.max_points, p.transfers.daily_limit_points, p.created_at.micros_since_epoch,
           p.updated_at.micros_since_epoch}));
  return ProgramId{id};
}

Result<std::optional<Program>> StoreSession::find_program(ProgramId id) {
  std::optional<Program> out;
  LOYALTY_RETURN_IF_ERROR(
      connection_->query(std::string("SELECT ") + kProgramColumns + " FROM programs WHERE id = ?",
                         {id.value}, [&](const Row& r) { out = read_program(r); }));
  return out;
}

Status StoreSession::update_program(const Program& p) {
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "UPDATE programs SET name = ?, timezone = ?, points_name = ?, point_value_minor = ?, "
      "point_value_points = ?, negative_balance = ?, transfers_enabled = ?, "
      "transfer_min_points = ?, transfer_max_points = ?, transfer_daily_limit_points = ?, "
      "updated_at = ? WHERE id = ?",
      {p.name, p.timezone, p.points_name, p.point_value_minor, p.point_value_points,
       to_string(p.negative_balance), p.transfers.enabled, p.transfers.min_points,
       p.transfers.max_points, p.transfers.daily_limit_points, p.updated_at.micros_since_epoch,
       p.id.value}));
  if (connection_->changes() != 1) return Status(ErrorCode::kNotFound, "program not found");
  return {};
}

// ---- API keys ----

Result<ApiKeyId> StoreSession::insert_api_key(const ApiKey& k) {
  const std::string scopes = join_scopes(k.scopes);
  LOYALTY_ASSIGN_OR_RETURN(
      int64_t id,
      insert_returning_id(
          *connection_,
          "INSERT INTO api_keys (program_id, name, prefix, key_hash, scopes, created_at, "
          "revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
          {k.program_id.value, k.name, k.prefix, k.key_hash, scopes,
           k.created_at.micros_since_epoch, instant_value(k.revoked_at)}));
  return ApiKeyId{id};
}

Result<std::optional<ApiKey>> StoreSession::find_api_key_by_hash(std::string_view key_hash) {
  std::optional<ApiKey> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      std::string("SELECT ") + kApiKeyColumns + " FROM api_keys WHERE key_hash = ?", {key_hash},
      [&](const Row& r) { out = read_api_key(r); }));
  return out;
}

Result<std::optional<ApiKey>> StoreSession::find_api_key(ProgramId program, ApiKeyId id) {
  std::optional<ApiKey> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      std::string("SELECT ") + kApiKeyColumns + " FROM api_keys WHERE program_id = ? AND id = ?",
      {program.value, id.value}, [&](const Row& r) { out = read_api_key(r); }));
  return out;
}

Result<std::vector<ApiKey>> StoreSession::list_api_keys(ProgramId program) {
  std::vector<ApiKey> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      std::string("SELECT ") + kApiKeyColumns + " FROM api_keys WHERE program_id = ? ORDER BY id",
      {program.value}, [&](const Row& r) { out.push_back(read_api_key(r)); }));
  return out;
}

Status StoreSession::revoke_api_key(ProgramId program, ApiKeyId id, Instant at) {
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE program_id = ? AND id = ?",
      {at.micros_since_epoch, program.value, id.value}));
  if (connection_->changes() != 1) return Status(ErrorCode::kNotFound, "API key not found");
  return {};
}

// ---- Members ----

Result<MemberId> StoreSession::insert_member(const Member& m) {
  std::string birthday = m.birthday ? format_local_date(*m.birthday) : std::string();
  Result<int64_t> id = insert_returning_id(
      *connection_,
      sqlite_fail_or(dialect(), "INSERT") +
          " INTO members (program_id, external_id, email, first_name, last_name, birthday, "
          "attributes, consent_email, consent_sms, consent_push, status, created_at, updated_at) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {m.program_id.value, m.external_id, m.email, m.first_name, m.last_name,
       m.birthday ? SqlValue(birthday) : SqlValue(), m.attributes_json,
       opt_bool_value(m.consent.email), opt_bool_value(m.consent.sms),
       opt_bool_value(m.consent.push), to_string(m.status), m.created_at.micros_since_epoch,
       m.updated_at.micros_since_epoch});
  if (!id.ok() && id.status().code() == ErrorCode::kConflict) {
    return Status(ErrorCode::kConflict,
                  "a member with external_id '" + m.external_id + "' already exists");
  }
  if (!id.ok()) return id.status();
  return MemberId{*id};
}

Result<std::optional<Member>> StoreSession::find_member(ProgramId program, MemberId id) {
  std::optional<Member> out;
  LOYALTY_RETURN_IF_ERROR(
      connection_->query("SELECT " MEMBER_COLUMNS " FROM members WHERE program_id = ? AND id = ?",
                         {program.value, id.value}, [&](const Row& r) { out = read_member(r); }));
  return out;
}

Result<std::optional<Member>> StoreSession::find_member_by_external_id(
    ProgramId program, std::string_view external_id) {
  std::optional<Member> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT " MEMBER_COLUMNS " FROM members WHERE program_id = ? AND external_id = ?",
      {program.value, external_id}, [&](const Row& r) { out = read_member(r); }));
  return out;
}

Status StoreSession::update_member(const Member& m) {
  std::string birthday = m.birthday ? format_local_date(*m.birthday) : std::string();
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "UPDATE members SET email = ?, first_name = ?, last_name = ?, birthday = ?, "
      "attributes = ?, consent_email = ?, consent_sms = ?, consent_push = ?, status = ?, "
      "updated_at = ? WHERE program_id = ? AND id = ?",
      {m.email, m.first_name, m.last_name, m.birthday ? SqlValue(birthday) : SqlValue(),
       m.attributes_json, opt_bool_value(m.consent.email), opt_bool_value(m.consent.sms),
       opt_bool_value(m.consent.push), to_string(m.status), m.updated_at.micros_since_epoch,
       m.program_id.value, m.id.value}));
  if (connection_->changes() != 1) return Status(ErrorCode::kNotFound, "member not found");
  return {};
}

Status StoreSession::add_member_order_stats(ProgramId program, MemberId member,
                                            int64_t orders_delta, int64_t spent_delta_minor) {
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "UPDATE members SET orders_count = orders_count + ?, "
      "total_spent_minor = total_spent_minor + ? WHERE program_id = ? AND id = ?",
      {orders_delta, spent_delta_minor, program.value, member.value}));
  if (connection_->changes() != 1) {
    return Status(ErrorCode::kNotFound, "member " + format_id(member) + " not found");
  }
  return {};
}

Status StoreSession::for_each_member_external_id(
    ProgramId program, const std::function<void(std::string_view, MemberId)>& each) {
  return connection_->query(
      "SELECT external_id, id FROM members WHERE program_id = ? AND external_id <> ''",
      {program.value}, [&](const Row& r) { each(r.get_text(0), MemberId{r.get_int(1)}); });
}

Result<std::vector<Member>> StoreSession::list_members(const MemberQuery& q) {
  std::string sql = "SELECT " MEMBER_COLUMNS " FROM members WHERE program_id = ? AND id > ?";
  std::vector<SqlValue> params = {q.program_id.value, q.after.value};
  std::string status;
  if (q.email) {
    sql += " AND email = ?";
    params.emplace_back(*q.email);
  }
  if (q.external_id) {
    sql += " AND external_id = ?";
    params.emplace_back(*q.external_id);
  }
  if (q.status) {
    status = to_string(*q.status);
    sql += " AND status = ?";
    params.emplace_back(status);
  }
  sql += " ORDER BY id LIMIT ?";
  params.emplace_back(int64_t{std::clamp(q.limit, 1, 1000)});
  std::vector<Member> out;
  LOYALTY_RETURN_IF_ERROR(
      connection_->query(sql, params, [&](const Row& r) { out.push_back(read_member(r)); }));
  return out;
}

Status StoreSession::lock_members(ProgramId program, const std::vector<MemberId>& ids) {
  if (dialect() != Dialect::kPostgres) return {};
  LOYALTY_ASSERT(std::is_sorted(ids.begin(), ids.end()));
  for (MemberId id : ids) {
    LOYALTY_RETURN_IF_ERROR(
        connection_->query("SELECT id FROM members WHERE program_id = ? AND id = ? FOR UPDATE",
                           {program.value, id.value}));
  }
  return {};
}

// ---- Ledger ----

namespace {

// The balance columns, in the order read_balance reads them from `first` on.
#define BALANCE_COLUMNS(prefix)                                             \
  prefix "available, " prefix "pending, " prefix "lifetime_earned, " prefix \
         "lifetime_spent, " prefix "expired, " prefix "adjusted, " prefix   \
         "transferred_net, " prefix "next_due_at, " prefix "rolling_expires_at, " prefix "held"

Balance read_balance(const Row& r, int first) {
  Balance b;
  b.available = Points{r.get_int(first)};
  b.pending = Points{r.get_int(first + 1)};
  b.lifetime_earned = Points{r.get_int(first + 2)};
  b.lifetime_spent = Points{r.get_int(first + 3)};
  b.expired = Points{r.get_int(first + 4)};
  b.adjusted = Points{r.get_int(first + 5)};
  b.transferred_net = Points{r.get_int(first + 6)};
  b.next_due_at = opt_instant(r, first + 7);
  b.rolling_expires_at = opt_instant(r, first + 8);
  b.held = Points{r.get_int(first + 9)};
  return b;
}

// Members per query of open_lots_of_members (bounds the statement's parameters
// and the number of cached statements).
constexpr size_t kMembersPerLotsQuery = 100;

}  // namespace

Result<Balance> StoreSession::get_balance(ProgramId program, MemberId member) {
  Balance b;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT " BALANCE_COLUMNS("") " FROM balances WHERE program_id = ? AND member_id = ?",
      {program.value, member.value}, [&](const Row& r) { b = read_balance(r, 0); }));
  return b;
}

Result<std::vector<Lot>> StoreSession::open_lots(ProgramId program, MemberId member) {
  std::vector<Lot> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT " LOT_COLUMNS " FROM lots WHERE program_id = ? AND member_id = ? AND " LOT_IS_OPEN
      " ORDER BY id",
      {program.value, member.value}, [&](const Row& r) { out.push_back(read_lot(r)); }));
  return out;
}

Result<std::vector<Lot>> StoreSession::open_lots_of_members(ProgramId program,
                                                            std::span<const MemberId> members) {
  std::vector<Lot> out;
  std::vector<SqlValue> params;
  for (size_t first = 0; first < members.size(); first += kMembersPerLotsQuery) {
    const size_t n = std::min(kMembersPerLotsQuery, members.size() - first);
    std::string sql = "SELECT " LOT_COLUMNS " FROM lots WHERE program_id = ? AND " LOT_IS_OPEN
                      " AND member_id IN (?";
    for (size_t i = 1; i < n; ++i) sql += ", ?";
    sql += ") ORDER BY member_id, id";
    params.assign({SqlValue(program.value)});
    for (size_t i = first; i < first + n; ++i) params.emplace_back(members[i].value);
    LOYALTY_RETURN_IF_ERROR(
        connection_->query(sql, params, [&](const Row& r) { out.push_back(read_lot(r)); }));
  }
  return out;
}

Result<std::vector<Lot>> StoreSession::lots_by_ids(ProgramId program,
                                                   const std::vector<LotId>& ids) {
  std::vector<Lot> out;
  for (LotId id : ids) {
    LOYALTY_RETURN_IF_ERROR(connection_->query(
        "SELECT " LOT_COLUMNS " FROM lots WHERE program_id = ? AND id = ?",
        {program.value, id.value}, [&](const Row& r) { out.push_back(read_lot(r)); }));
  }
  return out;
}

Result<std::vector<Lot>> StoreSession::list_lots(ProgramId program, MemberId member, bool open_only,
                                                 LotId before, int limit) {
  std::vector<Lot> out;
  int64_t before_id = before.valid() ? before.value : INT64_MAX;
  const int64_t lim = std::clamp(limit, 1, 1000);
  // The member's lots index (program_id, member_id, id), newest first.
  const char* sql = open_only ? "SELECT " LOT_COLUMNS
                                " FROM lots WHERE program_id = ? AND member_id = ? AND "
                                "id < ? AND " LOT_IS_OPEN " ORDER BY id DESC LIMIT ?"
                              : "SELECT " LOT_COLUMNS
                                " FROM lots WHERE program_id = ? AND member_id = ? AND "
                                "id < ? ORDER BY id DESC LIMIT ?";
  const std::vector<SqlValue> params{program.value, member.value, before_id, lim};
  LOYALTY_RETURN_IF_ERROR(
      connection_->query(sql, params, [&](const Row& r) { out.push_back(read_lot(r)); }));
  return out;
}

Status StoreSession::apply_plan(LedgerPlan& plan) {
  LOYALTY_ASSIGN_OR_RETURN(bool applied, apply_plan_checked(plan, std::nullopt));
  LOYALTY_ASSERT(applied);
  return {};
}

Result<bool> StoreSession::apply_plan_if_version(LedgerPlan& plan, int64_t version) {
  LOYALTY_ASSERT(plan.balances.size() == 1 && plan.balances.contains(plan.posting.member));
  return apply_plan_checked(plan, version);
}

Result<bool> StoreSession::apply_plan_checked(LedgerPlan& plan,
                                              std::optional<int64_t> expected_version) {
  Posting& p = plan.posting;
  const int64_t program = p.program_id.value;
  LOYALTY_ASSERT(program > 0 && p.member.valid() && !p.id.valid());
  if (p.config_version == 0 && config_version_source_) {
    LOYALTY_ASSIGN_OR_RETURN(p.config_version, config_version_source_(p.program_id));
  }
  // A plan made elsewhere: its member's balance first, and only at the version
  // it was made from; nothing is written when the version moved.
  if (expected_version) {
    const Balance& b = plan.balances.at(p.member);
    LOYALTY_ASSIGN_OR_RETURN(bool written, write_balance(program, p.member, b, expected_version));
    if (!written) return false;
  }
  LOYALTY_ASSIGN_OR_RETURN(
      int64_t posting_id,
      insert_returning_id(*connection_, ledger_sql_->insert_posting,
                          {program, p.member.value,
                           p.counterparty.valid() ? SqlValue(p.counterparty.value) : SqlValue(),
                           to_string(p.kind), p.reason, p.source, p.reason_code, p.actor,
                           p.reverses.valid() ? SqlValue(p.reverses.value) : SqlValue(),
                           p.created_at.micros_since_epoch,
                           p.config_version > 0 ? SqlValue(p.config_version) : SqlValue(),
                           p.order.valid() ? SqlValue(p.order.value) : SqlValue()}));
  LOYALTY_ASSERT(posting_id > 0);
  p.id = PostingId{posting_id};

  std::vector<LotId> new_ids(plan.new_lots.size());
  for (size_t i = 0; i < plan.new_lots.size(); ++i) {
    const NewLot& nl = plan.new_lots[i];
    // remaining is what the entries leave in the lot (a credit that settles a
    // deficit leaves less than it brought).
    int64_t remaining = 0;
    for (const Entry& e : p.entries) {
      if (e.lot.new_index == static_cast<int>(i)) remaining += e.amount.value;
    }
    LOYALTY_ASSIGN_OR_RETURN(
        int64_t id,
        insert_returning_id(*connection_, ledger_sql_->insert_lot,
                            {program, nl.member.value, posting_id, nl.points.value, remaining,
                             nl.pending, p.created_at.micros_since_epoch,
                             instant_value(nl.available_at), instant_value(nl.expires_at)}));
    new_ids[i] = LotId{id};
  }
  // Entries go in multi-row INSERTs of up to kEntriesPerInsert rows: one
  // statement step instead of one per entry (postings touching many lots, such
  // as an expiry of ten lots, write eleven entries). One cached statement per
  // row count (LedgerStatements). OR FAIL on SQLite even though a statement
  // writes several rows (no statement journal: −3 % instructions of the expiry
  // job): a row failing mid-statement leaves the rows before it, but the
  // posting row above was written first, so the engine sees a command that
  // wrote and failed and reruns its batch with savepoints
  // (Engine::execute_batch).
  constexpr size_t kEntriesPerInsert = LedgerStatements::kEntriesPerInsert;
  for (Entry& e : p.entries) {
    if (e.lot.new_index >= 0) {
      e.lot = LotRef{new_ids[static_cast<size_t>(e.lot.new_index)], -1};
    }
  }
  std::vector<SqlValue> params;
  params.reserve(std::min(p.entries.size(), kEntriesPerInsert) * 7);
  for (size_t first = 0; first < p.entries.size(); first += kEntriesPerInsert) {
    const size_t rows = std::min(kEntriesPerInsert, p.entries.size() - first);
    const std::string& sql = ledger_sql_->insert_entries[rows];
    params.clear();
    for (size_t i = first; i < first + rows; ++i) {
      const Entry& e = p.entries[i];
      params.insert(params.end(),
                    {SqlValue(program), SqlValue(e.member.value), SqlValue(posting_id),
                     SqlValue(static_cast<int64_t>(i)), SqlValue(static_cast<int64_t>(e.account)),
                     e.lot.existing.valid() ? SqlValue(e.lot.existing.value) : SqlValue(),
                     SqlValue(e.amount.value)});
    }
    LOYALTY_RETURN_IF_ERROR(connection_->query(sql, params, nullptr));
  }
  // One UPDATE per lot: grouping a member's lots into one UPDATE ... CASE id
  // ... WHERE id IN (...) was measured (callgrind, expiry_bench, 5,000 members
  // of 10 lots): the IN list costs an ephemeral table per statement and the
  // job's instructions fell by 1 % only (docs/performance.md, "Expiry job").
  for (const LotChange& c : plan.lot_changes) {
    LOYALTY_RETURN_IF_ERROR(
        connection_->query(ledger_sql_->update_lot,
                           {c.remaining.value, c.pending, program, c.member.value, c.id.value}));
    LOYALTY_ASSERT(connection_->changes() == 1);
  }
  for (const auto& [member, b] : plan.balances) {
    if (expected_version && member == p.member) continue;  // written above
    LOYALTY_RETURN_IF_ERROR(write_balance(program, member, b, std::nullopt).status());
  }
  return true;
}

// A member's balance row exists after its first posting: UPDATE (one B-tree
// seek), and INSERT only when it changed nothing. An upsert would try the
// INSERT first and seek twice on every posting. Every write adds one to the
// row's version. With `expected_version`, only a row at that version is
// updated (false: the row moved on, nothing written).
Result<bool> StoreSession::write_balance(int64_t program, MemberId member, const Balance& b,
                                         std::optional<int64_t> expected_version) {
  const std::array<SqlValue, 13> params{b.available.value,
                                        b.pending.value,
                                        b.lifetime_earned.value,
                                        b.lifetime_spent.value,
                                        b.expired.value,
                                        b.adjusted.value,
                                        b.transferred_net.value,
                                        instant_value(b.next_due_at),
                                        instant_value(b.rolling_expires_at),
                                        b.held.value,
                                        program,
                                        member.value,
                                        expected_version.value_or(0)};
  if (expected_version) {
    LOYALTY_RETURN_IF_ERROR(
        connection_->query(ledger_sql_->update_balance_at_version, params, nullptr));
    return connection_->changes() == 1;
  }
  LOYALTY_RETURN_IF_ERROR(connection_->query(ledger_sql_->update_balance,
                                             std::span<const SqlValue>(params).first(12), nullptr));
  if (connection_->changes() == 1) return true;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      ledger_sql_->insert_balance,
      {program, member.value, b.available.value, b.pending.value, b.lifetime_earned.value,
       b.lifetime_spent.value, b.expired.value, b.adjusted.value, b.transferred_net.value,
       instant_value(b.next_due_at), instant_value(b.rolling_expires_at), b.held.value}));
  return true;
}

Status StoreSession::read_postings_entries(ProgramId program, std::vector<Posting>& postings) {
  for (Posting& p : postings) {
    p.entries.clear();
    // Entries are keyed by member (shardable); read each member's, then restore
    // the posting's order by seq.
    std::vector<std::pair<int64_t, Entry>> by_seq;
    auto read = [&](MemberId m) {
      return connection_->query(
          "SELECT member_id, seq, account, lot_id, amount FROM entries WHERE program_id = ? AND "
          "member_id = ? AND posting_id = ? ORDER BY seq",
          {program.value, m.value, p.id.value}, [&](const Row& r) {
            Entry e;
            e.member = MemberId{r.get_int(0)};
            e.account = static_cast<Account>(r.get_int(2));
            e.lot = LotRef{LotId{r.is_null(3) ? 0 : r.get_int(3)}, -1};
            e.amount = Points{r.get_int(4)};
            by_seq.emplace_back(r.get_int(1), e);
          });
    };
    LOYALTY_RETURN_IF_ERROR(read(p.member));
    if (p.counterparty.valid() && p.counterparty != p.member) {
      LOYALTY_RETURN_IF_ERROR(read(p.counterparty));
    }
    std::stable_sort(by_seq.begin(), by_seq.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [seq, e] : by_seq) p.entries.push_back(e);
  }
  return {};
}

Result<std::optional<Posting>> StoreSession::find_posting(ProgramId program, PostingId id) {
  std::vector<Posting> found;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT " POSTING_COLUMNS " FROM postings WHERE program_id = ? AND id = ?",
      {program.value, id.value}, [&](const Row& r) { found.push_back(read_posting(r, program)); }));
  if (found.empty()) return std::optional<Posting>();
  LOYALTY_RETURN_IF_ERROR(read_postings_entries(program, found));
  return std::optional<Posting>(std::move(found.front()));
}

Result<std::vector<Posting>> StoreSession::list_member_postings(ProgramId program, MemberId member,
                                                                PostingId before, int limit) {
  std::vector<int64_t> ids;
  int64_t before_id = before.valid() ? before.value : INT64_MAX;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT DISTINCT posting_id FROM entries WHERE program_id = ? AND member_id = ? AND "
      "posting_id < ? ORDER BY posting_id DESC LIMIT ?",
      {program.value, member.value, before_id, int64_t{std::clamp(limit, 1, 1000)}},
      [&](const Row& r) { ids.push_back(r.get_int(0)); }));
  std::vector<Posting> out;
  for (int64_t id : ids) {
    LOYALTY_RETURN_IF_ERROR(connection_->query(
        "SELECT " POSTING_COLUMNS " FROM postings WHERE program_id = ? AND id = ?",
        {program.value, id}, [&](const Row& r) { out.push_back(read_posting(r, program)); }));
  }
  LOYALTY_RETURN_IF_ERROR(read_postings_entries(program, out));
  return out;
}

Result<std::optional<PostingId>> StoreSession::find_reversal_of(ProgramId program,
                                                                PostingId original) {
  std::optional<PostingId> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT id FROM postings WHERE program_id = ? AND reverses_id = ?",
      {program.value, original.value}, [&](const Row& r) { out = PostingId{r.get_int(0)}; }));
  return out;
}

Result<Points> StoreSession::transferred_out_since(ProgramId program, MemberId member,
                                                   Instant since) {
  int64_t sum = 0;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT COALESCE(SUM(e.amount), 0) FROM postings p JOIN entries e ON e.program_id = "
      "p.program_id AND e.member_id = p.member_id AND e.posting_id = p.id WHERE p.program_id = ? "
      "AND p.member_id = ? AND p.kind = 'transfer' AND p.created_at >= ? AND e.account = ?",
      {program.value, member.value, since.micros_since_epoch,
       static_cast<int64_t>(Account::kTransfer)},
      [&](const Row& r) { sum = r.get_int(0); }));
  return Points{sum};
}

Status StoreSession::set_next_due_at(ProgramId program, MemberId member,
                                     std::optional<Instant> due) {
  return connection_->query(
      "UPDATE balances SET next_due_at = ?, version = version + 1 WHERE program_id = ? AND "
      "member_id = ?",
      {instant_value(due), program.value, member.value});
}

Result<std::vector<DueMember>> StoreSession::members_due(Instant now, int limit) {
  std::vector<DueMember> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT program_id, member_id FROM balances WHERE next_due_at IS NOT NULL AND "
      "next_due_at <= ? ORDER BY next_due_at LIMIT ?",
      {now.micros_since_epoch, int64_t{std::clamp(limit, 1, 100000)}}, [&](const Row& r) {
        out.push_back(DueMember{ProgramId{r.get_int(0)}, MemberId{r.get_int(1)}, std::nullopt});
      }));
  return out;
}

Result<std::vector<DueMember>> StoreSession::due_members_after(Instant now,
                                                               const std::optional<DueKey>& after,
                                                               int limit) {
  std::vector<DueMember> out;
  // balances_next_due holds (next_due_at) and then the row's key (program_id,
  // member_id) on SQLite: the row-value condition is a range of it.
  std::string sql = "SELECT program_id, member_id, version, " BALANCE_COLUMNS(
      "") " FROM balances WHERE next_due_at IS NOT NULL AND next_due_at <= ?";
  std::vector<SqlValue> params{now.micros_since_epoch};
  if (after) {
    sql += " AND (next_due_at, program_id, member_id) > (?, ?, ?)";
    params.insert(params.end(),
                  {SqlValue(after->due.micros_since_epoch), SqlValue(after->program_id.value),
                   SqlValue(after->member_id.value)});
  }
  sql += " ORDER BY next_due_at, program_id, member_id LIMIT ?";
  params.emplace_back(int64_t{std::clamp(limit, 1, 100000)});
  LOYALTY_RETURN_IF_ERROR(connection_->query(sql, params, [&](const Row& r) {
    DueMember d{ProgramId{r.get_int(0)}, MemberId{r.get_int(1)}, read_balance(r, 3)};
    d.version = r.get_int(2);
    out.push_back(d);
  }));
  return out;
}

// ---- Scheduled jobs ----

Result<std::vector<DueMember>> StoreSession::claim_due_members(Instant now, int limit) {
  std::vector<DueMember> out;
  // PostgreSQL: lock the member rows (every writer locks members first) and the
  // balance rows, skipping members another transaction holds either of. Locking
  // the balance row too makes PostgreSQL re-check next_due_at on its latest
  // version, so a member another node just caught up is not claimed again.
  // SQLite has one writer.
  std::string sql =
      "SELECT m.program_id, m.id, " BALANCE_COLUMNS("b.") " FROM balances b JOIN members m "
      "ON m.program_id = b.program_id "
      "AND m.id = b.member_id WHERE b.next_due_at IS NOT NULL AND b.next_due_at <= ? "
      "ORDER BY b.next_due_at LIMIT ?";
  if (dialect() == Dialect::kPostgres) sql += " FOR UPDATE OF m, b SKIP LOCKED";
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      sql, {now.micros_since_epoch, int64_t{std::clamp(limit, 1, 100000)}}, [&](const Row& r) {
        out.push_back(
            DueMember{ProgramId{r.get_int(0)}, MemberId{r.get_int(1)}, read_balance(r, 2)});
      }));
  return out;
}

Result<std::optional<JobState>> StoreSession::claim_job_state(ProgramId program,
                                                              std::string_view job,
                                                              std::string_view initial_key) {
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "INSERT INTO job_state (program_id, job, last_completed_key, last_run_by, last_run_at) "
      "VALUES (?, ?, ?, '', 0) ON CONFLICT (program_id, job) DO NOTHING",
      {program.value, job, initial_key}));
  std::string sql =
      "SELECT last_completed_key, last_run_by, last_run_at FROM job_state WHERE program_id = ? "
      "AND job = ?";
  if (dialect() == Dialect::kPostgres) sql += " FOR UPDATE SKIP LOCKED";
  std::optional<JobState> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(sql, {program.value, job}, [&](const Row& r) {
    out = JobState{std::string(r.get_text(0)), std::string(r.get_text(1)), Instant{r.get_int(2)}};
  }));
  return out;
}

Status StoreSession::save_job_state(ProgramId program, std::string_view job,
                                    const JobState& state) {
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "UPDATE job_state SET last_completed_key = ?, last_run_by = ?, last_run_at = ? "
      "WHERE program_id = ? AND job = ?",
      {state.last_completed_key, state.last_run_by, state.last_run_at.micros_since_epoch,
       program.value, job}));
  if (connection_->changes() != 1) return Status(ErrorCode::kInternal, "job state row missing");
  return {};
}

Result<bool> StoreSession::insert_job_mark(ProgramId program, MemberId member, std::string_view job,
                                           std::string_view period_key, Instant at) {
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "INSERT INTO job_marks (program_id, member_id, job, period_key, done_at) "
      "VALUES (?, ?, ?, ?, ?) ON CONFLICT (program_id, member_id, job, period_key) DO NOTHING",
      {program.value, member.value, job, period_key, at.micros_since_epoch}));
  return connection_->changes() == 1;
}

namespace {
constexpr const char* kNotMarked =
    " AND NOT EXISTS (SELECT 1 FROM job_marks j WHERE j.program_id = members.program_id AND "
    "j.member_id = members.id AND j.job = ? AND j.period_key = ?)";
}  // namespace

Result<std::vector<MemberId>> StoreSession::birthday_candidates(
    ProgramId program, const std::vector<std::string>& month_days, Instant enrolled_before,
    std::string_view job, std::string_view period_key, int limit) {
  LOYALTY_ASSERT(month_days.size() == 1 || month_days.size() == 2);
  const std::string& second = month_days.back();
  std::vector<MemberId> out;
  // The expression matches the members_birthday_md index.
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      std::string("SELECT id FROM members WHERE program_id = ? AND birthday IS NOT NULL AND "
                  "substr(birthday, 6, 5) IN (?, ?) AND status = 'active' AND created_at < ?") +
          kNotMarked + " ORDER BY id LIMIT ?",
      {program.value, month_days.front(), second, enrolled_before.micros_since_epoch, job,
       period_key, int64_t{std::clamp(limit, 1, 100000)}},
      [&](const Row& r) { out.push_back(MemberId{r.get_int(0)}); }));
  return out;
}

Result<std::vector<MemberId>> StoreSession::enrolled_between_candidates(ProgramId program,
                                                                        Instant from, Instant to,
                                                                        std::string_view job,
                                                                        std::string_view period_key,
                                                                        int limit) {
  std::vector<MemberId> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      std::string("SELECT id FROM members WHERE program_id = ? AND created_at >= ? AND "
                  "created_at < ? AND status = 'active'") +
          kNotMarked + " ORDER BY id LIMIT ?",
      {program.value, from.micros_since_epoch, to.micros_since_epoch, job, period_key,
       int64_t{std::clamp(limit, 1, 100000)}},
      [&](const Row& r) { out.push_back(MemberId{r.get_int(0)}); }));
  return out;
}

Result<std::vector<StoreSession::ExpiringPoints>> StoreSession::expiring_points(
    ProgramId program, Instant after, Instant until, std::string_view job, int limit) {
  std::vector<ExpiringPoints> out;
  auto add = [&](const Row& r) {
    out.push_back(
        ExpiringPoints{MemberId{r.get_int(0)}, Instant{r.get_int(1)}, Points{r.get_int(2)}});
  };
  const int64_t lim = std::clamp(limit, 1, 100000);
  // The mark's period key is the expiry instant in microseconds, as text.
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT l.member_id, l.expires_at, SUM(l.remaining) FROM lots l WHERE l.program_id = ? "
      "AND l.remaining > 0 AND l.expires_at IS NOT NULL AND l.expires_at > ? AND "
      "l.expires_at <= ? AND l.pending = 0 AND NOT EXISTS (SELECT 1 FROM job_marks j WHERE "
      "j.program_id = l.program_id AND j.member_id = l.member_id AND j.job = ? AND "
      "j.period_key = CAST(l.expires_at AS TEXT)) GROUP BY l.member_id, l.expires_at "
      "ORDER BY l.expires_at, l.member_id LIMIT ?",
      {program.value, after.micros_since_epoch, until.micros_since_epoch, job, lim}, add));
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT b.member_id, b.rolling_expires_at, b.available FROM balances b WHERE "
      "b.program_id = ? AND b.rolling_expires_at IS NOT NULL AND b.rolling_expires_at > ? AND "
      "b.rolling_expires_at <= ? AND b.available > 0 AND NOT EXISTS (SELECT 1 FROM job_marks j "
      "WHERE j.program_id = b.program_id AND j.member_id = b.member_id AND j.job = ? AND "
      "j.period_key = CAST(b.rolling_expires_at AS TEXT)) "
      "ORDER BY b.rolling_expires_at, b.member_id LIMIT ?",
      {program.value, after.micros_since_epoch, until.micros_since_epoch, job, lim}, add));
  std::sort(out.begin(), out.end(), [](const ExpiringPoints& a, const ExpiringPoints& b) {
    if (a.expires_at != b.expires_at) return a.expires_at < b.expires_at;
    return a.member < b.member;
  });
  if (out.size() > static_cast<size_t>(lim)) out.resize(static_cast<size_t>(lim));
  return out;
}

Result<std::vector<ProgramId>> StoreSession::list_program_ids() {
  std::vector<ProgramId> out;
  LOYALTY_RETURN_IF_ERROR(
      connection_->query("SELECT id FROM programs ORDER BY id", {},
                         [&](const Row& r) { out.push_back(ProgramId{r.get_int(0)}); }));
  return out;
}

// ---- Outbox ----

Result<OutboxEventId> StoreSession::append_outbox_event(ProgramId program, MemberId member,
                                                        std::string_view type,
                                                        std::string_view payload_json, Instant at) {
  LOYALTY_ASSERT(program.valid() && !type.empty());
  LOYALTY_ASSIGN_OR_RETURN(
      int64_t id,
      insert_returning_id(*connection_,
                          sqlite_fail_or(dialect(), "INSERT") +
                              " INTO outbox_events (program_id, member_id, type, payload, "
                              "created_at) VALUES (?, ?, ?, ?, ?)",
                          {program.value, member.valid() ? SqlValue(member.value) : SqlValue(),
                           type, payload_json, at.micros_since_epoch}));
  return OutboxEventId{id};
}

Result<std::vector<OutboxEvent>> StoreSession::list_outbox_events(ProgramId program,
                                                                  OutboxEventId after, int limit) {
  std::vector<OutboxEvent> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT id, member_id, type, payload, created_at, delivered_at FROM outbox_events "
      "WHERE program_id = ? AND id > ? ORDER BY id LIMIT ?",
      {program.value, after.value, int64_t{std::clamp(limit, 1, kMaxOutboxPage)}},
      [&](const Row& r) {
        OutboxEvent e;
        e.id = OutboxEventId{r.get_int(0)};
        e.program_id = program;
        e.member_id = MemberId{r.is_null(1) ? 0 : r.get_int(1)};
        e.type = std::string(r.get_text(2));
        e.payload_json = std::string(r.get_text(3));
        e.created_at = Instant{r.get_int(4)};
        e.delivered_at = opt_instant(r, 5);
        out.push_back(std::move(e));
      }));
  return out;
}

// ---- Program configurations ----

namespace {
constexpr const char* kConfigColumns =
    "program_id, version, format, document, canonical_json, created_at, actor";
StoredConfig read_config(const Row& r) {
  StoredConfig c;
  c.program_id = ProgramId{r.get_int(0)};
  c.version = static_cast<int>(r.get_int(1));
  c.format = parse_config_format(r.get_text(2)).value_or(ConfigFormat::kYaml);
  c.document = std::string(r.get_text(3));
  c.canonical_json = std::string(r.get_text(4));
  c.created_at = Instant{r.get_int(5)};
  c.actor = std::string(r.get_text(6));
  return c;
}
}  // namespace

Status StoreSession::insert_config(const StoredConfig& c) {
  LOYALTY_ASSERT(c.program_id.valid() && c.version > 0);
  return connection_->query(
      "INSERT INTO program_configs (program_id, version, format, document, canonical_json, "
      "created_at, actor) VALUES (?, ?, ?, ?, ?, ?, ?)",
      {c.program_id.value, c.version, to_string(c.format), c.document, c.canonical_json,
       c.created_at.micros_since_epoch, c.actor});
}

Result<std::optional<StoredConfig>> StoreSession::find_config(ProgramId program, int version) {
  std::optional<StoredConfig> out;
  LOYALTY_RETURN_IF_ERROR(
      connection_->query(std::string("SELECT ") + kConfigColumns +
                             " FROM program_configs WHERE program_id = ? AND version = ?",
                         {program.value, version}, [&](const Row& r) { out = read_config(r); }));
  return out;
}

Result<std::optional<StoredConfig>> StoreSession::latest_config(ProgramId program) {
  std::optional<StoredConfig> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      std::string("SELECT ") + kConfigColumns +
          " FROM program_configs WHERE program_id = ? ORDER BY version DESC LIMIT 1",
      {program.value}, [&](const Row& r) { out = read_config(r); }));
  return out;
}

Result<std::vector<StoredConfig>> StoreSession::list_configs(ProgramId program, int before,
                                                             int limit) {
  std::vector<StoredConfig> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT program_id, version, format, '', '', created_at, actor FROM program_configs "
      "WHERE program_id = ? AND version < ? ORDER BY version DESC LIMIT ?",
      {program.value, before > 0 ? int64_t{before} : INT64_MAX,
       int64_t{std::clamp(limit, 1, 1000)}},
      [&](const Row& r) { out.push_back(read_config(r)); }));
  return out;
}

// ---- Idempotency ----

Result<std::optional<IdempotencyRecord>> StoreSession::find_idempotency(ProgramId program,
                                                                        std::string_view key) {
  std::optional<IdempotencyRecord> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT fingerprint, status_code, response FROM idempotency_keys WHERE program_id = ? AND "
      "idem_key = ?",
      {program.value, key}, [&](const Row& r) {
        out = IdempotencyRecord{std::string(r.get_text(0)), static_cast<int>(r.get_int(1)),
                                std::string(r.get_text(2))};
      }));
  return out;
}

Result<bool> StoreSession::insert_idempotency(ProgramId program, std::string_view key,
                                              const IdempotencyRecord& rec, Instant at) {
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "INSERT INTO idempotency_keys (program_id, idem_key, fingerprint, status_code, response, "
      "created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (program_id, idem_key) DO NOTHING",
      {program.value, key, rec.fingerprint, int64_t{rec.status_code}, rec.response_body,
       at.micros_since_epoch}));
  return connection_->changes() == 1;
}

}  // namespace loyalty::store
