// The member order statistics columns (migration 9: members.orders_count,
// members.total_spent_minor) on both stores: add_member_order_stats adds in
// place, every member read returns them, and the member's other writes leave
// them alone.
#include <gtest/gtest.h>

#include "domain/order.h"
#include "store/migrations.h"
#include "store/store.h"
#include "store/store_test_support.h"

namespace loyalty::store {
namespace {

using testing::Backend;
using testing::must;

constexpr Instant kT0 = Instant::from_seconds(1'700'000'000);

class MemberStatsConformance : public testing::StoreTest {};

TEST_P(MemberStatsConformance, CountersStartAtZeroAndAddInPlace) {
  Program p = testing::insert_test_program(*store_, "Shop", kT0);
  MemberId m = testing::insert_test_member(*store_, p.id, "m", kT0);
  MemberId other = testing::insert_test_member(*store_, p.id, "other", kT0);
  Member fresh = *must(store_->find_member(p.id, m));
  EXPECT_EQ(fresh.orders_count, 0);
  EXPECT_EQ(fresh.total_spent_minor, 0);

  must(store_->begin_write());
  must(store_->add_member_order_stats(p.id, m, 1, 12000));
  must(store_->add_member_order_stats(p.id, m, 1, 500));
  must(store_->add_member_order_stats(p.id, m, 0, -2500));  // a refund
  must(store_->add_member_order_stats(p.id, m, -1, -500));  // a cancellation
  must(store_->commit());

  Member after = *must(store_->find_member(p.id, m));
  EXPECT_EQ(after.orders_count, 1);
  EXPECT_EQ(after.total_spent_minor, 9500);
  Member by_external = *must(store_->find_member_by_external_id(p.id, "m"));
  EXPECT_EQ(by_external.orders_count, 1);
  EXPECT_EQ(by_external.total_spent_minor, 9500);
  Member untouched = *must(store_->find_member(p.id, other));
  EXPECT_EQ(untouched.orders_count, 0);
  EXPECT_EQ(untouched.total_spent_minor, 0);
  MemberQuery q;
  q.program_id = p.id;
  q.limit = 10;
  auto listed = must(store_->list_members(q));
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].orders_count, 1);
  EXPECT_EQ(listed[0].total_spent_minor, 9500);
}

TEST_P(MemberStatsConformance, MemberUpdatesLeaveTheCountersAlone) {
  Program p = testing::insert_test_program(*store_, "Shop", kT0);
  MemberId m = testing::insert_test_member(*store_, p.id, "m", kT0);
  must(store_->begin_write());
  must(store_->add_member_order_stats(p.id, m, 2, 4000));
  Member stale = *must(store_->find_member(p.id, m));
  stale.first_name = "Ada";
  stale.orders_count = 99;  // not a column update_member writes
  stale.total_spent_minor = 99;
  must(store_->update_member(stale));
  must(store_->commit());
  Member after = *must(store_->find_member(p.id, m));
  EXPECT_EQ(after.first_name, "Ada");
  EXPECT_EQ(after.orders_count, 2);
  EXPECT_EQ(after.total_spent_minor, 4000);
}

TEST_P(MemberStatsConformance, AnUnknownMemberIsNotFoundAndNothingChanges) {
  Program p = testing::insert_test_program(*store_, "Shop", kT0);
  Program other = testing::insert_test_program(*store_, "Other", kT0);
  MemberId m = testing::insert_test_member(*store_, p.id, "m", kT0);
  must(store_->begin_write());
  EXPECT_EQ(store_->add_member_order_stats(p.id, MemberId{m.value + 100}, 1, 1).code(),
            ErrorCode::kNotFound);
  // Another program's member is unknown here.
  EXPECT_EQ(store_->add_member_order_stats(other.id, m, 1, 1).code(), ErrorCode::kNotFound);
  must(store_->commit());
  EXPECT_EQ(must(store_->find_member(p.id, m))->orders_count, 0);
}

// A store that has orders from before migration 9 gets its counters
// backfilled with member_order_stats' definition.
TEST_P(MemberStatsConformance, MigrationBackfillsTheCountersFromStoredOrders) {
  auto db = must(testing::TestDatabase::create(GetParam()));
  {
    auto connection = must(db->open_connection());
    must(connection->execute(
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, "
        "applied_at BIGINT NOT NULL)"));
    for (const Migration& m : migrations()) {
      if (m.version >= 9) continue;
      must(connection->execute(render_migration(m, connection->dialect())));
      must(connection->query("INSERT INTO schema_migrations VALUES (?, ?, 0)",
                             {int64_t{m.version}, m.name}, nullptr));
    }
  }
  auto s = must(db->open_session());
  Program p = testing::insert_test_program(*s, "Shop", kT0, "EUR");
  MemberId m = testing::insert_test_member(*s, p.id, "m", kT0);
  MemberId guest_later = testing::insert_test_member(*s, p.id, "nobody", kT0);
  auto order = [&](const char* id, MemberId member, OrderStatus status, bool paid,
                   int64_t refunded_minor) {
    Order o;
    o.program_id = p.id;
    o.external_id = id;
    o.member_id = member;
    o.currency = "EUR";
    o.placed_at = kT0;
    OrderItem item;
    item.sku = "S";
    item.name = "Shirt";
    item.quantity = 1;
    item.unit_price_minor = 4000;
    o.items = {item};
    must(validate_new_order(o));
    o.status = status;
    if (paid) o.paid_at = kT0;
    o.refunded_minor = refunded_minor;
    o.created_at = kT0;
    o.updated_at = kT0;
    must(s->insert_order(o));
  };
  must(s->begin_write());
  order("paid", m, OrderStatus::kPaid, true, 0);              // 1, 40.00
  order("refunded", m, OrderStatus::kDelivered, true, 1500);  // 1, 25.00
  order("cancelled", m, OrderStatus::kCancelled, true, 0);    // nothing
  order("returned", m, OrderStatus::kReturned, true, 0);      // nothing
  order("placed", m, OrderStatus::kPlaced, false, 0);         // nothing
  order("guest", MemberId{}, OrderStatus::kPaid, true, 0);    // nobody's
  must(s->commit());
  must(s->migrate());
  Member after = *must(s->find_member(p.id, m));
  EXPECT_EQ(after.orders_count, 2);
  EXPECT_EQ(after.total_spent_minor, 4000 + 2500);
  Member none = *must(s->find_member(p.id, guest_later));
  EXPECT_EQ(none.orders_count, 0);
  EXPECT_EQ(none.total_spent_minor, 0);
}

INSTANTIATE_TEST_SUITE_P(Stores, MemberStatsConformance,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return testing::backend_name(info.param);
                         });

}  // namespace
}  // namespace loyalty::store
