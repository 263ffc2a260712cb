// Conformance of the referral tables (migration 17: referral_codes,
// referral_invitations, referrals, referral_signals, referral_usage) on both
// stores, and the program cap under concurrent sessions.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "store/store.h"
#include "store/store_test_support.h"

namespace loyalty::store {
namespace {

using testing::Backend;
using testing::must;

constexpr Instant kT0 = Instant::from_seconds(1'700'000'000);

class ReferralsConformance : public testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (!store_) return;  // skipped
    program_ = testing::insert_test_program(*store_, "Coffee Club", kT0).id;
    other_program_ = testing::insert_test_program(*store_, "Tea Club", kT0).id;
    ann_ = testing::insert_test_member(*store_, program_, "ann", kT0);
    bob_ = testing::insert_test_member(*store_, program_, "bob", kT0);
    cy_ = testing::insert_test_member(*store_, program_, "cy", kT0);
  }

  Referral referral(MemberId referrer, MemberId referee) const {
    Referral r;
    r.program = program_;
    r.referrer = referrer;
    r.referee = referee;
    r.code = "FR-ABCD2345";
    r.created_at = kT0;
    r.updated_at = kT0;
    r.actor = "system";
    return r;
  }

  ProgramId program_, other_program_;
  MemberId ann_, bob_, cy_;
};

TEST_P(ReferralsConformance, CodesAreUniquePerProgramAndFoundByCodeOrMember) {
  must(store_->begin_write());
  const ReferralCode code{ann_, "FR-ABCD2345", true, kT0};
  must(store_->insert_referral_code(program_, code));
  EXPECT_EQ(must(store_->find_referral_code(program_, "FR-ABCD2345")), code);
  EXPECT_EQ(must(store_->member_referral_code(program_, ann_)), code);
  EXPECT_FALSE(must(store_->find_referral_code(other_program_, "FR-ABCD2345")).has_value());
  EXPECT_FALSE(must(store_->member_referral_code(program_, bob_)).has_value());
  must(store_->commit());
  must(store_->begin_write());
  // The same code for another member is a conflict (the engine draws again).
  EXPECT_EQ(store_->insert_referral_code(program_, {bob_, "FR-ABCD2345", true, kT0}).code(),
            ErrorCode::kConflict);
  must(store_->rollback());
}

TEST_P(ReferralsConformance, ReferralRoundTripsAndOneRefereeHasOneReferral) {
  must(store_->begin_write());
  Referral r = referral(ann_, bob_);
  r.status = ReferralStatus::kHeld;
  r.findings = {FraudFinding{FraudControl::kSameIp, FraudAction::kHold, "same IP"},
                FraudFinding{FraudControl::kVelocity, FraudAction::kHold, "6 in 60 minutes"}};
  r.id = must(store_->insert_referral(r));
  EXPECT_EQ(must(store_->find_referral(program_, r.id)), r);
  EXPECT_EQ(must(store_->find_referral_of_referee(program_, bob_)), r);
  EXPECT_FALSE(must(store_->find_referral(other_program_, r.id)).has_value());

  r.status = ReferralStatus::kCompleted;
  r.order_external_id = "o-1";
  r.order_value_minor = 4500;
  r.referrer_points = 500;
  r.referee_skip = RewardSkip::kProgramCap;
  r.welcome_paid = true;
  r.decision_reason = "approved: known customer";
  r.updated_at = kT0 + Duration::from_days(31);
  r.due_at = kT0 + Duration::from_days(30);
  r.referrer_posting = PostingId{41};
  r.referee_posting = PostingId{42};
  r.clawed_back = true;
  must(store_->update_referral(r));
  ++r.version;  // the store bumps it
  EXPECT_EQ(must(store_->find_referral(program_, r.id)), r);
  // A writer holding the version before that update changes nothing.
  Referral stale = r;
  stale.version = 0;
  stale.status = ReferralStatus::kCancelled;
  EXPECT_EQ(store_->update_referral(stale).code(), ErrorCode::kConflict);
  EXPECT_EQ(must(store_->find_referral(program_, r.id)), r);
  must(store_->commit());

  must(store_->begin_write());
  EXPECT_EQ(store_->insert_referral(referral(cy_, bob_)).status().code(), ErrorCode::kConflict);
  must(store_->rollback());
}

TEST_P(ReferralsConformance, ListsAReferrersReferralsNewestFirstAndCountsACodesRecentOnes) {
  must(store_->begin_write());
  Referral first = referral(ann_, bob_);
  first.id = must(store_->insert_referral(first));
  Referral second = referral(ann_, cy_);
  second.created_at = kT0 + Duration{2 * 3'600'000'000};
  second.id = must(store_->insert_referral(second));
  auto listed = must(store_->list_referrals_of_referrer(program_, ann_, 10));
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].id, second.id);
  EXPECT_EQ(listed[1].id, first.id);
  EXPECT_EQ(must(store_->list_referrals_of_referrer(program_, ann_, 1)).size(), 1u);
  EXPECT_EQ(must(store_->count_code_referrals_since(program_, "FR-ABCD2345", kT0)), 2);
  EXPECT_EQ(must(store_->count_code_referrals_since(program_, "FR-ABCD2345",
                                                    kT0 + Duration{3'600'000'000})),
            1);
  EXPECT_EQ(must(store_->count_code_referrals_since(program_, "OTHER", kT0)), 0);
  must(store_->commit());
}

TEST_P(ReferralsConformance, ListsByStateAndFindsDueReferrals) {
  must(store_->begin_write());
  Referral due = referral(ann_, bob_);
  due.due_at = kT0 + Duration::from_days(30);
  due.id = must(store_->insert_referral(due));
  Referral later = referral(ann_, cy_);
  later.due_at = kT0 + Duration::from_days(40);
  later.id = must(store_->insert_referral(later));
  auto at = [&](int days) {
    return must(store_->due_referrals(program_, kT0 + Duration::from_days(days), 10));
  };
  EXPECT_TRUE(at(29).empty());
  ASSERT_EQ(at(30).size(), 1u);
  EXPECT_EQ(at(30)[0].id, due.id);
  EXPECT_EQ(at(40).size(), 2u);
  EXPECT_TRUE(
      must(store_->due_referrals(other_program_, kT0 + Duration::from_days(40), 10)).empty());
  later.status = ReferralStatus::kHeld;
  must(store_->update_referral(later));
  EXPECT_EQ(at(40).size(), 1u);  // only pending ones are due
  EXPECT_EQ(must(store_->list_referrals(program_, ReferralStatus::kHeld, {}, 10)).size(), 1u);
  auto all = must(store_->list_referrals(program_, std::nullopt, {}, 10));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, due.id);
  EXPECT_EQ(must(store_->list_referrals(program_, std::nullopt, due.id, 10)).size(), 1u);
  must(store_->commit());
}

TEST_P(ReferralsConformance, SignalsKeepEarlierHashesTheShopDidNotResend) {
  must(store_->begin_write());
  EXPECT_FALSE(must(store_->find_referral_signals(program_, ann_)).has_value());
  must(store_->save_referral_signals(program_, ann_, {"ship-1", "pay-1", "dev-1", "ip-1"}, kT0));
  must(store_->save_referral_signals(program_, ann_, {"", "pay-2", "", ""}, kT0));
  EXPECT_EQ(must(store_->find_referral_signals(program_, ann_)),
            (ReferralMemberSignals{"ship-1", "pay-2", "dev-1", "ip-1"}));
  must(store_->commit());
}

TEST_P(ReferralsConformance, InvitationsAndStatistics) {
  must(store_->begin_write());
  EXPECT_TRUE(
      must(store_->insert_referral_invitation(program_, {0, ann_, "zoe@example.com", kT0})));
  EXPECT_TRUE(
      must(store_->insert_referral_invitation(program_, {0, ann_, "yan@example.com", kT0})));
  EXPECT_FALSE(
      must(store_->insert_referral_invitation(program_, {0, ann_, "zoe@example.com", kT0})));
  EXPECT_TRUE(must(store_->insert_referral_invitation(program_, {0, cy_, "zoe@example.com", kT0})));
  auto invitations = must(store_->list_referral_invitations(program_, ann_, 10));
  ASSERT_EQ(invitations.size(), 2u);
  EXPECT_EQ(invitations[0].email, "yan@example.com");
  auto first_zoe = must(store_->first_referral_invitation_of(program_, "zoe@example.com"));
  ASSERT_TRUE(first_zoe.has_value());
  EXPECT_EQ(first_zoe->member, ann_);
  EXPECT_FALSE(must(store_->first_referral_invitation_of(program_, "nobody@example.com")));
  Referral done = referral(ann_, bob_);
  done.status = ReferralStatus::kCompleted;
  done.order_value_minor = 4500;
  done.referrer_points = 500;
  done.referee_points = 200;
  must(store_->insert_referral(done));
  Referral rejected = referral(ann_, cy_);
  rejected.status = ReferralStatus::kRejected;
  must(store_->insert_referral(rejected));
  ReferralStats want;
  want.invitations = 3;  // ann 2, cy 1 (a repeat adds none)
  want.referrals = 2;
  want.conversions = 1;
  want.rejected = 1;
  want.referee_revenue_minor = 4500;
  want.reward_points = 700;
  EXPECT_EQ(must(store_->referral_stats(program_)), want);
  EXPECT_EQ(must(store_->referral_stats(other_program_)), ReferralStats{});
  must(store_->commit());
}

TEST_P(ReferralsConformance, UsageNeverPassesTheCap) {
  must(store_->begin_write());
  EXPECT_TRUE(must(store_->add_referral_usage(program_, 0, "2026-11", 1, 600, 1000)));
  EXPECT_TRUE(must(store_->add_referral_usage(program_, 0, "2026-11", 1, 400, 1000)));  // = cap
  EXPECT_FALSE(must(store_->add_referral_usage(program_, 0, "2026-11", 1, 1, 1000)));
  EXPECT_TRUE(must(store_->add_referral_usage(program_, 0, "2026-12", 1, 1, 1000)));
  EXPECT_TRUE(must(store_->add_referral_usage(program_, ann_.value, "life", 1, 0, 0)));
  auto row = must(store_->referral_usage(program_, 0, "2026-11"));
  EXPECT_EQ(row.points, 1000);
  EXPECT_EQ(row.rewards, 2);
  EXPECT_EQ(must(store_->referral_usage(program_, ann_.value, "life")).rewards, 1);
  EXPECT_EQ(must(store_->referral_usage(other_program_, 0, "2026-11")).points, 0);
  must(store_->commit());
}

// Sessions of their own (on PostgreSQL: as two server processes would) add to
// one counter at once: exactly as many fit as the cap allows.
TEST_P(ReferralsConformance, ConcurrentSessionsNeverPassTheCap) {
  constexpr int kSessions = 8;
  constexpr int kAddsPerSession = 5;
  constexpr int64_t kPoints = 100;
  constexpr int64_t kCap = 1'500;  // 15 of the 40 adds fit
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int s = 0; s < kSessions; ++s) {
    threads.emplace_back([&] {
      auto session = must(db_->open_session());
      for (int i = 0; i < kAddsPerSession; ++i) {
        for (int attempt = 0; attempt < 100; ++attempt) {
          Status st = session->begin_write();
          Result<bool> added =
              st.ok() ? session->add_referral_usage(program_, 0, "2026-11", 1, kPoints, kCap)
                      : Result<bool>(st);
          if (added.ok() && session->commit().ok()) {
            if (*added) accepted.fetch_add(1);
            break;
          }
          (void)session->rollback();
          std::this_thread::sleep_for(std::chrono::milliseconds(1 + attempt % 5));
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(accepted.load(), kCap / kPoints);
  must(store_->begin_write());
  EXPECT_EQ(must(store_->referral_usage(program_, 0, "2026-11")).points, kCap);
  must(store_->commit());
}

INSTANTIATE_TEST_SUITE_P(Stores, ReferralsConformance,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return testing::backend_name(info.param);
                         });

}  // namespace
}  // namespace loyalty::store
