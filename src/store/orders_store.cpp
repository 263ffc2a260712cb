// StoreSession: orders, their items and their timeline (migration 3).
//
// The write path of a paid order is lean on purpose (the order ingestion
// target): one INSERT for the order, one for all its items, one for its
// timeline entries, one UPDATE once its points are credited.
#include <algorithm>

#include "common/assert.h"
#include "store/sql_helpers.h"
#include "store/store.h"

namespace loyalty::store {

namespace {

using detail::insert_returning_id;
using detail::instant_value;
using detail::multi_row_insert;
using detail::opt_instant;

#define ORDER_COLUMNS                                                                           \
  "id, program_id, external_id, member_id, customer_external_id, customer_email, currency, "    \
  "channel, attributes, placed_at, subtotal_minor, items_discount_minor, discount_minor, "      \
  "shipping_minor, tax_minor, total_minor, refunded_minor, status, paid_at, shipped_at, "       \
  "delivered_at, cancelled_at, returned_at, carrier, tracking_number, promised_delivery_date, " \
  "delivered_on_time, points_earned, points_reversed, points_written_off, earn_posting_id, "    \
  "earn_lot_id, vests_at, config_version, request_fingerprint, events_count, created_at, "      \
  "updated_at"

Order read_order(const Row& r) {
  Order o;
  o.id = OrderId{r.get_int(0)};
  o.program_id = ProgramId{r.get_int(1)};
  o.external_id = std::string(r.get_text(2));
  o.member_id = MemberId{r.is_null(3) ? 0 : r.get_int(3)};
  o.customer_external_id = std::string(r.get_text(4));
  o.customer_email = std::string(r.get_text(5));
  o.currency = std::string(r.get_text(6));
  o.channel = std::string(r.get_text(7));
  o.attributes_json = std::string(r.get_text(8));
  o.placed_at = Instant{r.get_int(9)};
  o.subtotal_minor = r.get_int(10);
  o.items_discount_minor = r.get_int(11);
  o.discount_minor = r.get_int(12);
  o.shipping_minor = r.get_int(13);
  o.tax_minor = r.get_int(14);
  o.total_minor = r.get_int(15);
  o.refunded_minor = r.get_int(16);
  o.status = parse_order_status(r.get_text(17)).value_or(OrderStatus::kPlaced);
  o.paid_at = opt_instant(r, 18);
  o.shipped_at = opt_instant(r, 19);
  o.delivered_at = opt_instant(r, 20);
  o.cancelled_at = opt_instant(r, 21);
  o.returned_at = opt_instant(r, 22);
  o.shipment.carrier = std::string(r.get_text(23));
  o.shipment.tracking_number = std::string(r.get_text(24));
  if (!r.is_null(25)) o.shipment.promised_delivery_date = parse_local_date(r.get_text(25));
  if (!r.is_null(26)) o.delivered_on_time = r.get_int(26) != 0;
  o.points_earned = r.get_int(27);
  o.points_reversed = r.get_int(28);
  o.points_written_off = r.get_int(29);
  o.earn_posting = PostingId{r.is_null(30) ? 0 : r.get_int(30)};
  o.earn_lot = LotId{r.is_null(31) ? 0 : r.get_int(31)};
  o.vests_at = opt_instant(r, 32);
  o.config_version = static_cast<int>(r.get_int(33));
  o.request_fingerprint = std::string(r.get_text(34));
  o.events_count = static_cast<int>(r.get_int(35));
  o.created_at = Instant{r.get_int(36)};
  o.updated_at = Instant{r.get_int(37)};
  return o;
}

OrderItem read_item(const Row& r) {
  OrderItem i;
  i.line = static_cast<int>(r.get_int(0));
  i.sku = std::string(r.get_text(1));
  i.name = std::string(r.get_text(2));
  i.category = std::string(r.get_text(3));
  i.quantity = r.get_int(4);
  i.unit_price_minor = r.get_int(5);
  i.discount_minor = r.get_int(6);
  i.attributes_json = std::string(r.get_text(7));
  i.refunded_quantity = r.get_int(8);
  i.refunded_minor = r.get_int(9);
  i.points = r.get_int(10);
  i.points_reversed = r.get_int(11);
  return i;
}

// Rows per multi-row INSERT of items or events: bounds the statement's
// parameters (SQLite's limit is 32766) and the number of cached statements.
constexpr size_t kRowsPerInsert = 64;

// The columns an order's changes rewrite (update_order), in the order
// order_state_values gives their values; insert_order writes them too.
constexpr std::string_view kOrderStateColumns[] = {"member_id",
                                                   "refunded_minor",
                                                   "status",
                                                   "paid_at",
                                                   "shipped_at",
                                                   "delivered_at",
                                                   "cancelled_at",
                                                   "returned_at",
                                                   "carrier",
                                                   "tracking_number",
                                                   "promised_delivery_date",
                                                   "delivered_on_time",
                                                   "points_earned",
                                                   "points_reversed",
                                                   "points_written_off",
                                                   "earn_posting_id",
                                                   "earn_lot_id",
                                                   "vests_at",
                                                   "config_version",
                                                   "events_count",
                                                   "updated_at"};

// `promised` keeps the formatted promised date alive until the query ran.
void append_order_state_values(const Order& o, std::string& promised, std::vector<SqlValue>& out) {
  promised = o.shipment.promised_delivery_date
                 ? format_local_date(*o.shipment.promised_delivery_date)
                 : std::string();
  out.insert(out.end(), {o.member_id.valid() ? SqlValue(o.member_id.value) : SqlValue(),
                         SqlValue(o.refunded_minor),
                         SqlValue(to_string(o.status)),
                         instant_value(o.paid_at),
                         instant_value(o.shipped_at),
                         instant_value(o.delivered_at),
                         instant_value(o.cancelled_at),
                         instant_value(o.returned_at),
                         SqlValue(o.shipment.carrier),
                         SqlValue(o.shipment.tracking_number),
                         o.shipment.promised_delivery_date ? SqlValue(promised) : SqlValue(),
                         o.delivered_on_time ? SqlValue(*o.delivered_on_time) : SqlValue(),
                         SqlValue(o.points_earned),
                         SqlValue(o.points_reversed),
                         SqlValue(o.points_written_off),
                         o.earn_posting.valid() ? SqlValue(o.earn_posting.value) : SqlValue(),
                         o.earn_lot.valid() ? SqlValue(o.earn_lot.value) : SqlValue(),
                         instant_value(o.vests_at),
                         SqlValue(int64_t{o.config_version}),
                         SqlValue(int64_t{o.events_count}),
                         SqlValue(o.updated_at.micros_since_epoch)});
}

// The INSERT of an order: its fixed columns, then kOrderStateColumns
// (`values` parameters in all).
std::string insert_order_sql(Dialect dialect, size_t values) {
  std::string sql = std::string(dialect == Dialect::kSqlite ? "INSERT OR FAIL" : "INSERT") +
                    " INTO orders (program_id, external_id, customer_external_id, "
                    "customer_email, currency, channel, attributes, placed_at, subtotal_minor, "
                    "items_discount_minor, discount_minor, shipping_minor, tax_minor, "
                    "total_minor, request_fingerprint, created_at";
  for (std::string_view column : kOrderStateColumns) (sql += ", ") += column;
  sql += ") VALUES (?";
  for (size_t i = 1; i < values; ++i) sql += ", ?";
  return sql + ")";
}

}  // namespace

Result<OrderId> StoreSession::insert_order(const Order& o) {
  LOYALTY_ASSERT(o.program_id.valid() && !o.id.valid() && !o.items.empty());
  std::vector<SqlValue> params = {
      o.program_id.value,
      o.external_id,
      o.customer_external_id,
      o.customer_email,
      o.currency,
      o.channel,
      o.attributes_json,
      o.placed_at.micros_since_epoch,
      o.subtotal_minor,
      o.items_discount_minor,
      o.discount_minor,
      o.shipping_minor,
      o.tax_minor,
      o.total_minor,
      o.request_fingerprint,
      o.created_at.micros_since_epoch,
  };
  std::string promised;
  append_order_state_values(o, promised, params);
  static const std::string kInsertSqlite = insert_order_sql(Dialect::kSqlite, params.size());
  static const std::string kInsertPostgres = insert_order_sql(Dialect::kPostgres, params.size());
  const std::string& sql = dialect() == Dialect::kSqlite ? kInsertSqlite : kInsertPostgres;
  Result<int64_t> inserted = insert_returning_id(*connection_, sql, params);
  if (!inserted.ok() && inserted.status().code() == ErrorCode::kConflict) {
    return Status(ErrorCode::kConflict,
                  "an order with external_id '" + o.external_id + "' already exists");
  }
  LOYALTY_RETURN_IF_ERROR(inserted.status());
  const int64_t id = inserted.value();

  for (size_t first = 0; first < o.items.size(); first += kRowsPerInsert) {
    size_t rows = std::min(o.items.size() - first, kRowsPerInsert);
    std::vector<SqlValue> item_params;
    item_params.reserve(rows * 14);
    for (size_t k = first; k < first + rows; ++k) {
      const OrderItem& i = o.items[k];
      LOYALTY_ASSERT(i.line == static_cast<int>(k) + 1);
      for (SqlValue v :
           {SqlValue(o.program_id.value), SqlValue(id), SqlValue(i.line), SqlValue(i.sku),
            SqlValue(i.name), SqlValue(i.category), SqlValue(i.quantity),
            SqlValue(i.unit_price_minor), SqlValue(i.discount_minor), SqlValue(i.attributes_json),
            SqlValue(i.refunded_quantity), SqlValue(i.refunded_minor), SqlValue(i.points),
            SqlValue(i.points_reversed)}) {
        item_params.push_back(v);
      }
    }
    LOYALTY_RETURN_IF_ERROR(connection_->query(
        multi_row_insert("INSERT INTO order_items (program_id, order_id, line, sku, name, "
                         "category, quantity, unit_price_minor, discount_minor, attributes, "
                         "refunded_quantity, refunded_minor, points, points_reversed)",
                         "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows),
        item_params, nullptr));
  }
  return OrderId{id};
}

Status StoreSession::update_order(const Order& o, const std::vector<int>& changed_lines) {
  static const std::string kUpdate = [] {
    std::string sql = "UPDATE orders SET ";
    for (std::string_view column : kOrderStateColumns) {
      if (column != kOrderStateColumns[0]) sql += ", ";
      (sql += column) += " = ?";
    }
    return sql + " WHERE program_id = ? AND id = ?";
  }();
  std::vector<SqlValue> params;
  std::string promised;
  append_order_state_values(o, promised, params);
  params.insert(params.end(), {SqlValue(o.program_id.value), SqlValue(o.id.value)});
  LOYALTY_RETURN_IF_ERROR(connection_->query(kUpdate, params, nullptr));
  if (connection_->changes() != 1) return Status(ErrorCode::kNotFound, "order not found");
  for (int line : changed_lines) {
    LOYALTY_ASSERT(line >= 1 && static_cast<size_t>(line) <= o.items.size());
    const OrderItem& i = o.items[static_cast<size_t>(line - 1)];
    LOYALTY_RETURN_IF_ERROR(connection_->query(
        "UPDATE order_items SET refunded_quantity = ?, refunded_minor = ?, points = ?, "
        "points_reversed = ? WHERE program_id = ? AND order_id = ? AND line = ?",
        {i.refunded_quantity, i.refunded_minor, i.points, i.points_reversed, o.program_id.value,
         o.id.value, line}));
    LOYALTY_ASSERT(connection_->changes() == 1);
  }
  return {};
}

Status StoreSession::set_order_earning(const Order& o) {
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "UPDATE orders SET earn_posting_id = ?, earn_lot_id = ?, vests_at = ?, events_count = ? "
      "WHERE program_id = ? AND id = ?",
      {o.earn_posting.valid() ? SqlValue(o.earn_posting.value) : SqlValue(),
       o.earn_lot.valid() ? SqlValue(o.earn_lot.value) : SqlValue(), instant_value(o.vests_at),
       int64_t{o.events_count}, o.program_id.value, o.id.value}));
  if (connection_->changes() != 1) return Status(ErrorCode::kNotFound, "order not found");
  return {};
}

Result<bool> StoreSession::member_has_paid_order(ProgramId program, MemberId member,
                                                 OrderId except) {
  bool found = false;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT 1 FROM orders WHERE program_id = ? AND member_id = ? AND id <> ? AND paid_at IS "
      "NOT NULL LIMIT 1",
      {program.value, member.value, except.value}, [&](const Row&) { found = true; }));
  return found;
}

namespace {

Status read_items(SqlConnection& db, ProgramId program, std::vector<Order>& orders) {
  for (Order& o : orders) {
    o.items.clear();
    LOYALTY_RETURN_IF_ERROR(db.query(
        "SELECT line, sku, name, category, quantity, unit_price_minor, discount_minor, "
        "attributes, refunded_quantity, refunded_minor, points, points_reversed FROM "
        "order_items WHERE program_id = ? AND order_id = ? ORDER BY line",
        {program.value, o.id.value}, [&](const Row& r) { o.items.push_back(read_item(r)); }));
    compute_line_amounts(o);
  }
  return {};
}

Result<std::optional<Order>> find_one(SqlConnection& db, ProgramId program, const char* where,
                                      SqlValue key) {
  std::vector<Order> found;
  LOYALTY_RETURN_IF_ERROR(db.query(
      std::string("SELECT " ORDER_COLUMNS " FROM orders WHERE program_id = ? AND ") + where,
      {program.value, key}, [&](const Row& r) { found.push_back(read_order(r)); }));
  if (found.empty()) return std::optional<Order>();
  LOYALTY_RETURN_IF_ERROR(read_items(db, program, found));
  return std::optional<Order>(std::move(found.front()));
}

}  // namespace

Result<std::optional<Order>> StoreSession::find_order(ProgramId program, OrderId id) {
  return find_one(*connection_, program, "id = ?", id.value);
}

Result<std::optional<Order>> StoreSession::find_order_by_external_id(ProgramId program,
                                                                     std::string_view external_id) {
  return find_one(*connection_, program, "external_id = ?", external_id);
}

Status StoreSession::insert_order_events(ProgramId program, OrderId order,
                                         const std::vector<OrderEvent>& events) {
  for (size_t first = 0; first < events.size(); first += kRowsPerInsert) {
    size_t rows = std::min(events.size() - first, kRowsPerInsert);
    std::vector<SqlValue> params;
    params.reserve(rows * 8);
    for (size_t k = first; k < first + rows; ++k) {
      const OrderEvent& e = events[k];
      LOYALTY_ASSERT(e.seq > 0);
      for (SqlValue v : {SqlValue(program.value), SqlValue(order.value), SqlValue(e.seq),
                         SqlValue(e.type), e.event_id.empty() ? SqlValue() : SqlValue(e.event_id),
                         SqlValue(e.occurred_at.micros_since_epoch),
                         SqlValue(e.recorded_at.micros_since_epoch), SqlValue(e.details_json)}) {
        params.push_back(v);
      }
    }
    LOYALTY_RETURN_IF_ERROR(connection_->query(
        multi_row_insert("INSERT INTO order_events (program_id, order_id, seq, type, event_id, "
                         "occurred_at, recorded_at, details)",
                         "(?, ?, ?, ?, ?, ?, ?, ?)", rows),
        params, nullptr));
  }
  return {};
}

Result<std::vector<OrderEvent>> StoreSession::order_events(ProgramId program, OrderId order) {
  std::vector<OrderEvent> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT seq, type, event_id, occurred_at, recorded_at, details FROM order_events WHERE "
      "program_id = ? AND order_id = ? ORDER BY seq",
      {program.value, order.value}, [&](const Row& r) {
        OrderEvent e;
        e.seq = static_cast<int>(r.get_int(0));
        e.type = std::string(r.get_text(1));
        if (!r.is_null(2)) e.event_id = std::string(r.get_text(2));
        e.occurred_at = Instant{r.get_int(3)};
        e.recorded_at = Instant{r.get_int(4)};
        e.details_json = std::string(r.get_text(5));
        out.push_back(std::move(e));
      }));
  return out;
}

Result<std::optional<std::string>> StoreSession::find_order_event_type(ProgramId program,
                                                                       OrderId order,
                                                                       std::string_view event_id) {
  std::optional<std::string> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT type FROM order_events WHERE program_id = ? AND order_id = ? AND event_id = ?",
      {program.value, order.value, event_id},
      [&](const Row& r) { out = std::string(r.get_text(0)); }));
  return out;
}

Result<std::vector<Order>> StoreSession::list_member_orders(ProgramId program, MemberId member,
                                                            OrderId before, int limit) {
  std::vector<Order> out;
  int64_t before_id = before.valid() ? before.value : INT64_MAX;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT " ORDER_COLUMNS
      " FROM orders WHERE program_id = ? AND member_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
      {program.value, member.value, before_id, int64_t{std::clamp(limit, 1, 1000)}},
      [&](const Row& r) { out.push_back(read_order(r)); }));
  LOYALTY_RETURN_IF_ERROR(read_items(*connection_, program, out));
  return out;
}

Result<std::vector<Order>> StoreSession::list_guest_orders(ProgramId program,
                                                           std::string_view external_id,
                                                           std::string_view email, Instant since,
                                                           int limit) {
  std::vector<Order> out;
  auto add = [&](const char* column, std::string_view value) -> Status {
    if (value.empty()) return {};
    return connection_->query(
        std::string("SELECT " ORDER_COLUMNS
                    " FROM orders WHERE program_id = ? AND member_id IS NULL AND ") +
            column + " = ? AND placed_at >= ? ORDER BY id LIMIT ?",
        {program.value, value, since.micros_since_epoch, int64_t{std::clamp(limit, 1, 1000)}},
        [&](const Row& r) {
          Order o = read_order(r);
          for (const Order& seen : out) {
            if (seen.id == o.id) return;
          }
          out.push_back(std::move(o));
        });
  };
  LOYALTY_RETURN_IF_ERROR(add("customer_external_id", external_id));
  LOYALTY_RETURN_IF_ERROR(add("customer_email", email));
  std::sort(out.begin(), out.end(), [](const Order& a, const Order& b) { return a.id < b.id; });
  if (out.size() > static_cast<size_t>(std::max(limit, 1))) out.resize(static_cast<size_t>(limit));
  LOYALTY_RETURN_IF_ERROR(read_items(*connection_, program, out));
  return out;
}

Result<std::vector<CarrierDeliveries>> StoreSession::carrier_deliveries(ProgramId program,
                                                                        Instant from, Instant to) {
  std::vector<CarrierDeliveries> out;
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "SELECT carrier, COUNT(*), COUNT(delivered_on_time), "
      "COALESCE(SUM(CASE WHEN delivered_on_time = 1 THEN 1 ELSE 0 END), 0) FROM orders "
      "WHERE program_id = ? AND delivered_at IS NOT NULL AND delivered_at >= ? AND "
      "delivered_at < ? GROUP BY carrier ORDER BY carrier",
      {program.value, from.micros_since_epoch, to.micros_since_epoch}, [&](const Row& r) {
        out.push_back(CarrierDeliveries{std::string(r.get_text(0)), r.get_int(1), r.get_int(2),
                                        r.get_int(3)});
      }));
  return out;
}

Status StoreSession::schedule_lot_vesting(ProgramId program, const VestingSchedule& s) {
  LOYALTY_RETURN_IF_ERROR(connection_->query(
      "UPDATE lots SET available_at = ? WHERE program_id = ? AND member_id = ? AND id = ? AND "
      "pending = 1 AND available_at IS NULL",
      {s.available_at.micros_since_epoch, program.value, s.member.value, s.lot.value}));
  if (connection_->changes() != 1) {
    return Status(ErrorCode::kInternal, format_id(s.lot) + " is not an unscheduled pending lot");
  }
  return set_next_due_at(program, s.member, s.next_due_at);
}

}  // namespace loyalty::store
