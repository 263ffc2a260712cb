// Conformance of the tier tables (migration 6: member_tiers,
// tier_metric_buckets, tier_history) on both stores.
#include <gtest/gtest.h>

#include "store/store.h"
#include "store/store_test_support.h"

namespace loyalty::store {
namespace {

using testing::Backend;
using testing::must;

constexpr Instant kT0 = Instant::from_seconds(1'700'000'000);

class TiersConformance : public testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (!store_) return;  // skipped
    program_ = testing::insert_test_program(*store_, "Coffee Club", kT0).id;
    other_program_ = testing::insert_test_program(*store_, "Tea Club", kT0).id;
    member_ = testing::insert_test_member(*store_, program_, "c-1", kT0);
    other_member_ = testing::insert_test_member(*store_, program_, "c-2", kT0);
  }

  ProgramId program_;
  ProgramId other_program_;
  MemberId member_;
  MemberId other_member_;
};

TEST_P(TiersConformance, MemberTierStateRoundTripsAndIsReplaced) {
  must(store_->begin_write());
  EXPECT_FALSE(must(store_->find_member_tier(program_, member_)).has_value());
  MemberTierState earned;
  earned.tier_id = "gold";
  earned.since = kT0;
  earned.guaranteed_until = kT0 + Duration::from_days(400);
  earned.actor = "system";
  must(store_->save_member_tier(program_, member_, earned, kT0));
  EXPECT_EQ(must(store_->find_member_tier(program_, member_)), earned);

  MemberTierState manual;
  manual.tier_id = "silver";
  manual.since = kT0 + Duration::from_days(1);
  manual.source = TierSource::kManual;
  manual.manual_expires_at = kT0 + Duration::from_days(30);
  manual.manual_reason = "goodwill: late delivery";
  manual.actor = "key_7:ana";
  manual.evaluated_through = kT0;
  must(store_->save_member_tier(program_, member_, manual, kT0 + Duration::from_days(1)));
  EXPECT_EQ(must(store_->find_member_tier(program_, member_)), manual);
  // Per member and per program.
  EXPECT_FALSE(must(store_->find_member_tier(program_, other_member_)).has_value());
  EXPECT_FALSE(must(store_->find_member_tier(other_program_, member_)).has_value());
  must(store_->commit());
}

TEST_P(TiersConformance, MetricBucketsAccumulatePerMonthAndReadFromAMonth) {
  must(store_->begin_write());
  const MonthIndex dec = MonthIndex::of(2025, 12);
  const MonthIndex jan = MonthIndex::of(2026, 1);
  must(store_->add_tier_metrics(program_, member_, dec, TierMetrics{10'000, 100, 1}));
  must(store_->add_tier_metrics(program_, member_, jan, TierMetrics{5'000, 50, 1}));
  must(store_->add_tier_metrics(program_, member_, jan, TierMetrics{2'500, 25, 1}));
  // A refund subtracts from the order's month.
  must(store_->add_tier_metrics(program_, member_, dec, TierMetrics{-4'000, -40, 0}));
  must(store_->add_tier_metrics(program_, other_member_, jan, TierMetrics{1, 1, 1}));
  must(store_->add_tier_metrics(other_program_, member_, jan, TierMetrics{1, 1, 1}));

  auto all = must(store_->tier_metric_buckets(program_, member_, MonthIndex{INT32_MIN}));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].month, dec);
  EXPECT_EQ(all[0].metrics, (TierMetrics{6'000, 60, 1}));
  EXPECT_EQ(all[1].month, jan);
  EXPECT_EQ(all[1].metrics, (TierMetrics{7'500, 75, 2}));
  auto from_jan = must(store_->tier_metric_buckets(program_, member_, jan));
  ASSERT_EQ(from_jan.size(), 1u);
  EXPECT_EQ(from_jan[0].month, jan);
  must(store_->commit());
}

TEST_P(TiersConformance, HistoryListsNewestFirstWithACursor) {
  must(store_->begin_write());
  TierHistoryEntry e;
  e.program_id = program_;
  e.member_id = member_;
  e.change = TierChange::kUpgraded;
  e.from_tier = "";
  e.to_tier = "silver";
  e.metric_value = 50'000;
  e.guaranteed_until = kT0 + Duration::from_days(365);
  e.actor = "system";
  e.occurred_at = kT0;
  const TierHistoryId first = must(store_->insert_tier_history(e));
  e.change = TierChange::kAssigned;
  e.from_tier = "silver";
  e.to_tier = "gold";
  e.guaranteed_until.reset();
  e.reason = "VIP trial";
  e.actor = "key_1";
  e.occurred_at = kT0 + Duration::from_days(2);
  const TierHistoryId second = must(store_->insert_tier_history(e));
  TierHistoryEntry other = e;
  other.member_id = other_member_;
  (void)must(store_->insert_tier_history(other));

  auto list = must(store_->list_tier_history(program_, member_, TierHistoryId{}, 10));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, second);
  EXPECT_EQ(list[0].change, TierChange::kAssigned);
  EXPECT_EQ(list[0].reason, "VIP trial");
  EXPECT_EQ(list[0].actor, "key_1");
  EXPECT_FALSE(list[0].guaranteed_until.has_value());
  EXPECT_EQ(list[1].id, first);
  EXPECT_EQ(list[1].change, TierChange::kUpgraded);
  EXPECT_EQ(list[1].from_tier, "");
  EXPECT_EQ(list[1].metric_value, 50'000);
  EXPECT_EQ(list[1].guaranteed_until, kT0 + Duration::from_days(365));
  EXPECT_EQ(list[1].occurred_at, kT0);
  auto page = must(store_->list_tier_history(program_, member_, second, 10));
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].id, first);
  EXPECT_TRUE(
      must(store_->list_tier_history(other_program_, member_, TierHistoryId{}, 10)).empty());
  must(store_->commit());
}

INSTANTIATE_TEST_SUITE_P(Stores, TiersConformance,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return testing::backend_name(info.param);
                         });

}  // namespace
}  // namespace loyalty::store
