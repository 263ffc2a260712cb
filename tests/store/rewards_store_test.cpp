// Conformance of the rewards tables (migration 14) on both stores: stock taken
// up to its limit and returned, usage per period, redemptions listed newest
// first, coupons found by hash whatever the program, a coupon's use updated
// only from the status it was read in, donation totals per cause.
#include "store/rewards_store.h"

#include <gtest/gtest.h>

#include "store/store_test_support.h"

namespace loyalty::store {
namespace {

using testing::Backend;
using testing::must;

constexpr Instant kT0 = Instant::from_seconds(1'700'000'000);

class RewardStoreConformance : public testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (!store_) return;  // skipped
    program_ = testing::insert_test_program(*store_, "Coffee Club", kT0).id;
    other_ = testing::insert_test_program(*store_, "Tea Club", kT0).id;
    member_ = testing::insert_test_member(*store_, program_, "c-1", kT0);
  }

  Redemption redemption(const std::string& reward, const std::string& period, Instant at,
                        const std::string& cause = "") {
    Redemption r;
    r.program_id = program_;
    r.member_id = member_;
    r.reward_id = reward;
    r.reward_type = cause.empty() ? RewardType::kExperience : RewardType::kCharityDonation;
    r.reward_name = reward;
    r.points = 100;
    r.amount_minor = cause.empty() ? 0 : 250;
    r.cause_id = cause;
    r.cause_name = cause.empty() ? "" : "Cause " + cause;
    r.posting_id = PostingId{7};
    r.period_key = period;
    r.config_version = 1;
    r.created_at = at;
    return r;
  }

  ProgramId program_;
  ProgramId other_;
  MemberId member_;
};

TEST_P(RewardStoreConformance, StockIsTakenUpToItsLimitAndReturned) {
  RewardStore rewards(*store_);
  must(store_->begin_write());
  EXPECT_TRUE(must(rewards.take_stock(program_, "tour", 2)));
  EXPECT_TRUE(must(rewards.take_stock(program_, "tour", 2)));
  EXPECT_FALSE(must(rewards.take_stock(program_, "tour", 2)));  // the limit, exactly
  EXPECT_FALSE(must(rewards.take_stock(program_, "none", 0)));  // stock 0: never
  must(rewards.return_stock(program_, "tour"));
  EXPECT_TRUE(must(rewards.take_stock(program_, "tour", 2)));
  must(store_->commit());
  auto taken = must(rewards.stock_taken(program_));
  EXPECT_EQ(taken["tour"], 2);
  EXPECT_TRUE(must(rewards.stock_taken(other_)).empty());
}

TEST_P(RewardStoreConformance, UsageCountsCompletedRedemptionsPerPeriodAndEver) {
  RewardStore rewards(*store_);
  must(store_->begin_write());
  must(rewards.insert_redemption(redemption("tour", "2026-05", kT0)));
  RedemptionId cancelled = must(rewards.insert_redemption(redemption("tour", "2026-06", kT0)));
  must(rewards.insert_redemption(redemption("tour", "2026-06", kT0)));
  must(rewards.mark_redemption_cancelled(program_, member_, cancelled, PostingId{9}, kT0));
  must(store_->commit());
  auto usage = must(rewards.member_usage(program_, member_, {{"tour", "2026-06"}}));
  EXPECT_EQ(usage["tour"].lifetime, 2);
  EXPECT_EQ(usage["tour"].in_period, 1);
  auto listed = must(rewards.list_redemptions(program_, member_, RedemptionId{}, 10));
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_GT(listed[0].id, listed[1].id);
  EXPECT_EQ(listed[1].status, RedemptionStatus::kCancelled);
  EXPECT_EQ(listed[1].reversal_id, PostingId{9});
  auto page = must(rewards.list_redemptions(program_, member_, listed[0].id, 1));
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].id, listed[1].id);
}

TEST_P(RewardStoreConformance, CouponsAreFoundByHashAndUsedOnlyFromTheStatusRead) {
  RewardStore rewards(*store_);
  Coupon c;
  c.program_id = program_;
  c.member_id = member_;
  c.redemption_id = RedemptionId{1};
  c.code_hash = "ab12";
  c.code_hint = "WXYZ";
  c.reward_id = "pct";
  c.terms = CouponTerms{RewardType::kPercentDiscount, 0, 15, 3000, 2000, ""};
  c.expires_at = kT0 + Duration::from_days(7);
  c.created_at = kT0;
  must(store_->begin_write());
  c.id = must(rewards.insert_coupon(c));
  Coupon clash = c;
  clash.program_id = other_;
  EXPECT_EQ(rewards.insert_coupon(clash).status().code(), ErrorCode::kConflict);
  must(store_->rollback());
  must(store_->begin_write());
  c.id = must(rewards.insert_coupon(c));
  c.status = CouponStatus::kConsumed;
  c.order_ref = "A-1";
  c.consumed_at = kT0;
  must(rewards.update_coupon_use(c, CouponStatus::kIssued));
  // Read as issued, but it is consumed now: refused, to be retried.
  EXPECT_EQ(rewards.update_coupon_use(c, CouponStatus::kIssued).code(), ErrorCode::kRetryable);
  must(store_->commit());
  auto found = must(rewards.find_coupon_by_hash("ab12"));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->terms.percent, 15);
  EXPECT_EQ(found->terms.min_order_minor, 2000);
  EXPECT_EQ(found->status, CouponStatus::kConsumed);
  EXPECT_EQ(found->expires_at, c.expires_at);
  EXPECT_EQ(must(rewards.coupons_of_order(program_, "A-1")).size(), 1u);
  EXPECT_TRUE(must(rewards.coupons_of_order(other_, "A-1")).empty());
  EXPECT_FALSE(must(rewards.find_coupon(other_, c.id)));
}

TEST_P(RewardStoreConformance, DonationsAreTotalledPerCauseInThePeriod) {
  RewardStore rewards(*store_);
  must(store_->begin_write());
  must(rewards.insert_redemption(redemption("trees", "", kT0, "trees")));
  must(rewards.insert_redemption(redemption("trees", "", kT0 + Duration::from_days(1), "trees")));
  must(rewards.insert_redemption(redemption("water", "", kT0, "water")));
  must(rewards.insert_redemption(redemption("trees", "", kT0 + Duration::from_days(30), "trees")));
  must(rewards.insert_redemption(redemption("tour", "", kT0)));  // not a donation
  must(store_->commit());
  auto totals = must(rewards.donation_totals(program_, kT0, kT0 + Duration::from_days(30)));
  ASSERT_EQ(totals.size(), 2u);
  EXPECT_EQ(totals[0].cause_id, "trees");
  EXPECT_EQ(totals[0].donations, 2);
  EXPECT_EQ(totals[0].points, 200);
  EXPECT_EQ(totals[0].amount_minor, 500);
  EXPECT_EQ(totals[1].cause_name, "Cause water");
}

INSTANTIATE_TEST_SUITE_P(Stores, RewardStoreConformance,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return testing::backend_name(info.param);
                         });

}  // namespace
}  // namespace loyalty::store
