// Store conformance for orders (migration 3, store/orders_store.cpp), on
// SQLite and PostgreSQL: every order method through its contract.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "domain/ledger.h"
#include "domain/order.h"
#include "store/store.h"
#include "store/store_test_support.h"

namespace loyalty::store {
namespace {

using testing::Backend;
using testing::must;
using testing::TestDatabase;

constexpr Instant kT0 = Instant::from_seconds(1'717'200'000);  // 2024-06-01T00:00:00Z
Instant day(int n) { return kT0 + Duration::from_days(n); }

class OrderStore : public testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (!store_) return;  // skipped
    program_ = add_program("Shop");
    member_ = testing::insert_test_member(*store_, program_.id, "alice", kT0);
  }

  Program add_program(const std::string& name) {
    return testing::insert_test_program(*store_, name, kT0, "USD", "UTC");
  }

  // A valid order of two lines with every optional column set.
  Order order_template(const std::string& external_id, ProgramId program) const {
    Order o;
    o.program_id = program;
    o.external_id = external_id;
    o.member_id = member_;
    o.customer_external_id = "alice";
    o.customer_email = "alice@example.com";
    o.currency = "USD";
    o.channel = "web";
    o.attributes_json = R"({"coupon":"SUMMER"})";
    o.placed_at = kT0;
    OrderItem a;
    a.sku = "A";
    a.name = "Shoe";
    a.category = "shoes";
    a.quantity = 2;
    a.unit_price_minor = 2500;
    a.discount_minor = 100;
    a.attributes_json = R"({"size":"42"})";
    OrderItem b = a;
    b.sku = "B";
    b.quantity = 1;
    b.unit_price_minor = 1000;
    b.discount_minor = 0;
    o.items = {a, b};
    o.discount_minor = 300;
    o.shipping_minor = 500;
    o.tax_minor = 120;
    must(validate_new_order(o));
    o.status = OrderStatus::kPaid;
    o.paid_at = kT0;
    set_order_points(o, 56, {46, 10});
    o.config_version = 3;
    o.request_fingerprint = "abc";
    o.events_count = 2;
    o.created_at = kT0;
    o.updated_at = kT0;
    return o;
  }

  Order insert(Order o) {
    must(store_->begin_write());
    o.id = must(store_->insert_order(o));
    must(store_->commit());
    return o;
  }

  static void expect_same(const Order& a, const Order& b) {
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.external_id, b.external_id);
    EXPECT_EQ(a.member_id, b.member_id);
    EXPECT_EQ(a.customer_external_id, b.customer_external_id);
    EXPECT_EQ(a.customer_email, b.customer_email);
    EXPECT_EQ(a.currency, b.currency);
    EXPECT_EQ(a.channel, b.channel);
    EXPECT_EQ(a.attributes_json, b.attributes_json);
    EXPECT_EQ(a.placed_at, b.placed_at);
    EXPECT_EQ(a.subtotal_minor, b.subtotal_minor);
    EXPECT_EQ(a.items_discount_minor, b.items_discount_minor);
    EXPECT_EQ(a.discount_minor, b.discount_minor);
    EXPECT_EQ(a.shipping_minor, b.shipping_minor);
    EXPECT_EQ(a.tax_minor, b.tax_minor);
    EXPECT_EQ(a.total_minor, b.total_minor);
    EXPECT_EQ(a.refunded_minor, b.refunded_minor);
    EXPECT_EQ(a.status, b.status);
    EXPECT_EQ(a.paid_at, b.paid_at);
    EXPECT_EQ(a.shipped_at, b.shipped_at);
    EXPECT_EQ(a.delivered_at, b.delivered_at);
    EXPECT_EQ(a.shipment.carrier, b.shipment.carrier);
    EXPECT_EQ(a.shipment.tracking_number, b.shipment.tracking_number);
    EXPECT_EQ(a.shipment.promised_delivery_date, b.shipment.promised_delivery_date);
    EXPECT_EQ(a.delivered_on_time, b.delivered_on_time);
    EXPECT_EQ(a.points_earned, b.points_earned);
    EXPECT_EQ(a.points_reversed, b.points_reversed);
    EXPECT_EQ(a.points_written_off, b.points_written_off);
    EXPECT_EQ(a.earn_posting, b.earn_posting);
    EXPECT_EQ(a.earn_lot, b.earn_lot);
    EXPECT_EQ(a.vests_at, b.vests_at);
    EXPECT_EQ(a.config_version, b.config_version);
    EXPECT_EQ(a.request_fingerprint, b.request_fingerprint);
    EXPECT_EQ(a.events_count, b.events_count);
    ASSERT_EQ(a.items.size(), b.items.size());
    for (size_t k = 0; k < a.items.size(); ++k) {
      const OrderItem& x = a.items[k];
      const OrderItem& y = b.items[k];
      EXPECT_EQ(x.line, y.line);
      EXPECT_EQ(x.sku, y.sku);
      EXPECT_EQ(x.name, y.name);
      EXPECT_EQ(x.category, y.category);
      EXPECT_EQ(x.quantity, y.quantity);
      EXPECT_EQ(x.unit_price_minor, y.unit_price_minor);
      EXPECT_EQ(x.discount_minor, y.discount_minor);
      EXPECT_EQ(x.attributes_json, y.attributes_json);
      EXPECT_EQ(x.refunded_quantity, y.refunded_quantity);
      EXPECT_EQ(x.refunded_minor, y.refunded_minor);
      EXPECT_EQ(x.points, y.points);
      EXPECT_EQ(x.points_reversed, y.points_reversed);
      EXPECT_EQ(x.net_minor, y.net_minor);
      EXPECT_EQ(x.paid_minor, y.paid_minor);
    }
  }

  Program program_;
  MemberId member_;
};

TEST_P(OrderStore, InsertedOrderReadsBackEveryFieldByIdAndExternalId) {
  Order o = insert(order_template("1001", program_.id));
  EXPECT_EQ(format_id(o.id).substr(0, 4), "ord_");
  auto by_id = must(store_->find_order(program_.id, o.id));
  ASSERT_TRUE(by_id.has_value());
  expect_same(*by_id, o);
  auto by_external = must(store_->find_order_by_external_id(program_.id, "1001"));
  ASSERT_TRUE(by_external.has_value());
  expect_same(*by_external, o);
  EXPECT_FALSE(must(store_->find_order_by_external_id(program_.id, "nope")).has_value());
}

TEST_P(OrderStore, ExternalIdIsUniquePerProgramAndOrdersStayInTheirProgram) {
  Order o = insert(order_template("1001", program_.id));
  must(store_->begin_write());
  Result<OrderId> again = store_->insert_order(order_template("1001", program_.id));
  EXPECT_EQ(again.status().code(), ErrorCode::kConflict);
  must(store_->rollback());
  Program other = add_program("Other");
  Order theirs = order_template("1001", other.id);
  theirs.member_id = MemberId{};
  Order inserted = insert(theirs);
  EXPECT_NE(inserted.id, o.id);
  EXPECT_FALSE(must(store_->find_order(other.id, o.id)).has_value());
  EXPECT_FALSE(must(store_->find_order(program_.id, inserted.id)).has_value());
}

TEST_P(OrderStore, UpdateWritesTheMutableColumnsAndTheChangedLines) {
  Order o = insert(order_template("1001", program_.id));
  o.status = OrderStatus::kDelivered;
  o.shipped_at = day(1);
  o.delivered_at = day(3);
  o.shipment = Shipment{"UPS", "1Z999", LocalDate{2024, 6, 4}};
  o.delivered_on_time = true;
  o.refunded_minor = 1200;
  o.points_reversed = 12;
  o.points_written_off = 3;
  o.earn_posting = PostingId{77};
  o.earn_lot = LotId{78};
  o.vests_at = day(17);
  o.events_count = 6;
  o.updated_at = day(3);
  o.items[1].refunded_quantity = 1;
  o.items[1].refunded_minor = 950;
  o.items[1].points_reversed = 10;
  must(store_->begin_write());
  must(store_->update_order(o, {2}));
  must(store_->commit());
  expect_same(must(store_->find_order(program_.id, o.id)).value(), o);
  // A line not named keeps its stored columns.
  Order stale = o;
  stale.items[0].refunded_quantity = 1;
  must(store_->begin_write());
  must(store_->update_order(stale, {}));
  must(store_->commit());
  EXPECT_EQ(must(store_->find_order(program_.id, o.id))->items[0].refunded_quantity, 0);
}

TEST_P(OrderStore, SetOrderEarningWritesOnlyTheEarningColumns) {
  Order o = insert(order_template("1001", program_.id));
  Order credited = o;
  credited.earn_posting = PostingId{77};
  credited.earn_lot = LotId{78};
  credited.vests_at = day(30);
  credited.events_count = 3;
  // What set_order_earning does not write: the stored values stay.
  Order other = credited;
  other.status = OrderStatus::kDelivered;
  other.points_reversed = 5;
  must(store_->begin_write());
  must(store_->set_order_earning(other));
  must(store_->commit());
  expect_same(must(store_->find_order(program_.id, o.id)).value(), credited);
  Order missing = credited;
  missing.id = OrderId{o.id.value + 1000};
  must(store_->begin_write());
  EXPECT_EQ(store_->set_order_earning(missing).code(), ErrorCode::kNotFound);
  must(store_->rollback());
}

// is_first_order: another paid order of the member, however old, counts;
// unpaid ones, the order itself, guests' and other members' orders do not.
TEST_P(OrderStore, MemberHasPaidOrderLooksAtEveryOtherPaidOrderOfTheMember) {
  const MemberId bob = testing::insert_test_member(*store_, program_.id, "bob", kT0);
  EXPECT_FALSE(must(store_->member_has_paid_order(program_.id, member_, OrderId{})));
  Order first = insert(order_template("1", program_.id));
  EXPECT_FALSE(must(store_->member_has_paid_order(program_.id, member_, first.id)));
  EXPECT_TRUE(must(store_->member_has_paid_order(program_.id, member_, OrderId{})));
  EXPECT_FALSE(must(store_->member_has_paid_order(program_.id, bob, OrderId{})));
  for (int k = 0; k < 3; ++k) {  // newer unpaid orders do not hide the paid one
    Order placed = order_template("placed-" + std::to_string(k), program_.id);
    placed.status = OrderStatus::kPlaced;
    placed.paid_at.reset();
    const Order stored = insert(placed);
    EXPECT_TRUE(must(store_->member_has_paid_order(program_.id, member_, stored.id)));
  }
  Order guest = order_template("guest", program_.id);
  guest.member_id = MemberId{};
  insert(guest);
  EXPECT_FALSE(must(store_->member_has_paid_order(program_.id, bob, OrderId{})));
}

TEST_P(OrderStore, TimelineKeepsOrderAndRefusesARecordedPlatformEventId) {
  Order o = insert(order_template("1001", program_.id));
  std::vector<OrderEvent> events(3);
  const char* types[] = {"placed", "paid", "points_pending"};
  for (int k = 0; k < 3; ++k) {
    events[k].seq = k + 1;
    events[k].type = types[k];
    events[k].event_id = k == 1 ? "evt-paid" : "";
    events[k].occurred_at = day(k);
    events[k].recorded_at = day(k) + Duration::from_seconds(1);
    events[k].details_json = k == 2 ? R"({"points":56})" : "{}";
  }
  must(store_->begin_write());
  must(store_->insert_order_events(program_.id, o.id, events));
  must(store_->commit());
  auto read = must(store_->order_events(program_.id, o.id));
  ASSERT_EQ(read.size(), 3u);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(read[k].seq, k + 1);
    EXPECT_EQ(read[k].type, types[k]);
    EXPECT_EQ(read[k].event_id, events[k].event_id);
    EXPECT_EQ(read[k].occurred_at, events[k].occurred_at);
    EXPECT_EQ(read[k].recorded_at, events[k].recorded_at);
    EXPECT_EQ(read[k].details_json, events[k].details_json);
  }
  EXPECT_EQ(must(store_->find_order_event_type(program_.id, o.id, "evt-paid")), "paid");
  EXPECT_FALSE(must(store_->find_order_event_type(program_.id, o.id, "other")).has_value());
  OrderEvent dup = events[1];
  dup.seq = 4;
  must(store_->begin_write());
  EXPECT_EQ(store_->insert_order_events(program_.id, o.id, {dup}).code(), ErrorCode::kConflict);
  must(store_->rollback());
}

TEST_P(OrderStore, MemberOrdersPageNewestFirst) {
  std::vector<OrderId> ids;
  for (int k = 0; k < 3; ++k)
    ids.push_back(insert(order_template(std::to_string(k), program_.id)).id);
  Order guest = order_template("guest", program_.id);
  guest.member_id = MemberId{};
  insert(guest);
  auto page = must(store_->list_member_orders(program_.id, member_, OrderId{}, 2));
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].id, ids[2]);
  EXPECT_EQ(page[1].id, ids[1]);
  EXPECT_EQ(page[0].items.size(), 2u);
  auto rest = must(store_->list_member_orders(program_.id, member_, page[1].id, 2));
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].id, ids[0]);
}

TEST_P(OrderStore, GuestOrdersAreFoundByCustomerIdOrEmailSinceAnInstant) {
  auto guest = [&](const std::string& id, const std::string& customer, const std::string& email,
                   Instant placed) {
    Order o = order_template(id, program_.id);
    o.member_id = MemberId{};
    o.customer_external_id = customer;
    o.customer_email = email;
    o.placed_at = placed;
    return insert(o).id;
  };
  OrderId by_id = guest("g1", "cust-9", "", day(0));
  OrderId by_email = guest("g2", "", "ada@example.com", day(1));
  OrderId both = guest("g3", "cust-9", "ada@example.com", day(2));
  guest("g4", "cust-9", "", day(-10));  // too early
  guest("g5", "other", "other@example.com", day(2));
  Order member_order = insert(order_template("m1", program_.id));
  (void)member_order;
  auto found =
      must(store_->list_guest_orders(program_.id, "cust-9", "ada@example.com", day(-1), 10));
  std::vector<OrderId> ids;
  for (const Order& o : found) ids.push_back(o.id);
  EXPECT_EQ(ids, (std::vector<OrderId>{by_id, by_email, both}));
  EXPECT_EQ(must(store_->list_guest_orders(program_.id, "", "", day(-1), 10)).size(), 0u);
  EXPECT_EQ(must(store_->list_guest_orders(program_.id, "cust-9", "", day(-1), 1)).size(), 1u);
}

TEST_P(OrderStore, CarrierDeliveriesCountOnTimeWithinThePeriod) {
  auto delivered = [&](const std::string& id, const std::string& carrier, Instant at,
                       std::optional<bool> on_time) {
    Order o = insert(order_template(id, program_.id));
    o.status = OrderStatus::kDelivered;
    o.delivered_at = at;
    o.shipment.carrier = carrier;
    o.delivered_on_time = on_time;
    must(store_->begin_write());
    must(store_->update_order(o));
    must(store_->commit());
  };
  delivered("1", "UPS", day(1), true);
  delivered("2", "UPS", day(2), false);
  delivered("3", "UPS", day(3), std::nullopt);  // no promised date
  delivered("4", "DHL", day(2), true);
  delivered("5", "DHL", day(30), false);     // outside
  insert(order_template("6", program_.id));  // not delivered
  auto rows = must(store_->carrier_deliveries(program_.id, day(0), day(10)));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].carrier, "DHL");
  EXPECT_EQ(rows[0].delivered, 1);
  EXPECT_EQ(rows[0].with_promise, 1);
  EXPECT_EQ(rows[0].on_time, 1);
  EXPECT_EQ(rows[1].carrier, "UPS");
  EXPECT_EQ(rows[1].delivered, 3);
  EXPECT_EQ(rows[1].with_promise, 2);
  EXPECT_EQ(rows[1].on_time, 1);
}

TEST_P(OrderStore, PostingsKeepTheirOrderAndAPendingLotGetsItsVestingDateOnce) {
  MemberLedger ml;
  ml.member = must(store_->find_member(program_.id, member_)).value();
  ml.balance = must(store_->get_balance(program_.id, member_));
  CreditRequest r;
  r.points = Points{56};
  r.pending_until_scheduled = true;
  r.order = OrderId{41};
  LedgerPlan plan = must(plan_credit(program_, ml, r, kT0));
  must(store_->begin_write());
  must(store_->apply_plan(plan));
  must(store_->commit());
  auto posting = must(store_->find_posting(program_.id, plan.posting.id));
  ASSERT_TRUE(posting.has_value());
  EXPECT_EQ(posting->order, OrderId{41});
  auto lots = must(store_->open_lots(program_.id, member_));
  ASSERT_EQ(lots.size(), 1u);
  EXPECT_TRUE(lots[0].pending);
  EXPECT_FALSE(lots[0].available_at.has_value());

  ml.balance = must(store_->get_balance(program_.id, member_));
  ml.open_lots = lots;
  VestingSchedule schedule = must(plan_schedule_vesting(ml, lots[0].id, day(14)));
  must(store_->begin_write());
  must(store_->schedule_lot_vesting(program_.id, schedule));
  must(store_->commit());
  EXPECT_EQ(must(store_->open_lots(program_.id, member_))[0].available_at, day(14));
  EXPECT_EQ(must(store_->get_balance(program_.id, member_)).next_due_at, day(14));
  EXPECT_EQ(must(store_->members_due(day(14), 10)).size(), 1u);
  must(store_->begin_write());
  EXPECT_EQ(store_->schedule_lot_vesting(program_.id, schedule).code(), ErrorCode::kInternal);
  must(store_->rollback());
}

INSTANTIATE_TEST_SUITE_P(Stores, OrderStore,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return testing::backend_name(info.param);
                         });

}  // namespace
}  // namespace loyalty::store
