// Conformance of the earn-rule cap counters (rule_usage) and custom events
// (member_events) on both stores, and, on PostgreSQL, that two sessions
// evaluating one global cap at once serialize on its row.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "store/store.h"
#include "store/store_test_support.h"

namespace loyalty::store {
namespace {

using testing::Backend;
using testing::describe;
using testing::must;
using testing::TestDatabase;

constexpr Instant kT0 = Instant::from_seconds(1'700'000'000);

RuleUsage usage(MemberId member, const char* rule, const char* period, const char* distinct,
                int64_t awards = 0, int64_t points = 0) {
  return RuleUsage{member, rule, period, distinct, awards, points};
}

class RuleUsageConformance : public testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (!store_) return;  // skipped
    program_ = testing::insert_test_program(*store_, "Coffee Club", kT0).id;
    other_program_ = testing::insert_test_program(*store_, "Tea Club", kT0).id;
    member_ = testing::insert_test_member(*store_, program_, "c-1", kT0);
  }

  ProgramId program_;
  ProgramId other_program_;
  MemberId member_;
};

TEST_P(RuleUsageConformance, AddAccumulatesPerKeyAndReadReturnsOnlyStoredRows) {
  const MemberId global{0};
  must(store_->begin_write());
  must(store_->add_rule_usage(program_, usage(member_, "review", "life", "p1", 1, 50)));
  must(store_->add_rule_usage(program_, usage(member_, "review", "life", "p1", 1, 50)));
  must(store_->add_rule_usage(program_, usage(member_, "review", "life", "p2", 1, 50)));
  must(store_->add_rule_usage(program_, usage(member_, "share", "2026-W48", "", 1, 10)));
  must(store_->add_rule_usage(program_, usage(global, "share", "2026-11", "", 1, 10)));
  // Another program's counter with the same key stays apart.
  must(store_->add_rule_usage(other_program_, usage(member_, "review", "life", "p1", 1, 7)));
  must(store_->commit());

  const std::vector<RuleUsage> keys = {
      usage(member_, "review", "life", "p1"),  usage(member_, "review", "life", "p3"),
      usage(member_, "share", "2026-W48", ""), usage(member_, "share", "2026-W49", ""),
      usage(global, "share", "2026-11", ""),
  };
  must(store_->begin_read());
  auto rows = must(store_->read_rule_usage(program_, keys, /*lock_global=*/false));
  must(store_->commit());
  const std::vector<RuleUsage> expected = {
      usage(member_, "review", "life", "p1", 2, 100),
      usage(member_, "share", "2026-W48", "", 1, 10),
      usage(global, "share", "2026-11", "", 1, 10),
  };
  EXPECT_EQ(rows, expected);
}

TEST_P(RuleUsageConformance, LockingAGlobalCounterCreatesItAtZero) {
  const MemberId global{0};
  must(store_->begin_write());
  auto rows = must(store_->read_rule_usage(program_, {usage(global, "launch", "2026", "")},
                                           /*lock_global=*/true));
  must(store_->commit());
  // PostgreSQL creates the row to lock it (at zero); SQLite needs no lock. Either
  // way the counter reads as zero.
  for (const RuleUsage& r : rows) {
    EXPECT_EQ(r.awards, 0);
    EXPECT_EQ(r.points, 0);
  }
  EXPECT_EQ(rows.size(), GetParam() == Backend::kPostgres ? 1u : 0u);
}

TEST_P(RuleUsageConformance, MemberEventsAreUniquePerProgramAndListNewestFirst) {
  MemberEvent e;
  e.program_id = program_;
  e.member_id = member_;
  e.external_id = "evt-1";
  e.type = "review_written";
  e.attributes_json = R"({"product_id":"p1"})";
  e.occurred_at = kT0;
  e.created_at = kT0;
  e.points = 50;
  e.posting_id = PostingId{7};
  e.awards_json = R"([{"rule_id":"review"}])";
  must(store_->begin_write());
  e.id = must(store_->insert_member_event(e));
  MemberEvent second = e;
  second.id = {};
  second.external_id = "evt-2";
  second.points = 0;
  second.posting_id = {};
  second.awards_json = "[]";
  second.id = must(store_->insert_member_event(second));
  MemberEvent duplicate = e;
  duplicate.id = {};
  EXPECT_EQ(store_->insert_member_event(duplicate).status().code(), ErrorCode::kConflict);
  must(store_->rollback());

  // Rolled back: insert both again for good.
  e.id = {};
  second.id = {};
  must(store_->begin_write());
  e.id = must(store_->insert_member_event(e));
  second.id = must(store_->insert_member_event(second));
  // The same external id in another program is another event.
  MemberId stranger = testing::insert_test_member(*store_, other_program_, "c-x", kT0);
  MemberEvent elsewhere = e;
  elsewhere.id = {};
  elsewhere.program_id = other_program_;
  elsewhere.member_id = stranger;
  must(store_->insert_member_event(elsewhere));
  must(store_->commit());

  must(store_->begin_read());
  auto found = must(store_->find_member_event(program_, "evt-1"));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, e.id);
  EXPECT_EQ(found->member_id, member_);
  EXPECT_EQ(found->type, "review_written");
  EXPECT_EQ(found->attributes_json, e.attributes_json);
  EXPECT_EQ(found->occurred_at, kT0);
  EXPECT_EQ(found->points, 50);
  EXPECT_EQ(found->posting_id, PostingId{7});
  EXPECT_EQ(found->awards_json, e.awards_json);
  EXPECT_FALSE(must(store_->find_member_event(program_, "evt-3")).has_value());
  auto list = must(store_->list_member_events(program_, member_, MemberEventId{}, 10));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].external_id, "evt-2");
  EXPECT_FALSE(list[0].posting_id.valid());
  EXPECT_EQ(list[1].external_id, "evt-1");
  auto page = must(store_->list_member_events(program_, member_, list[0].id, 10));
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].external_id, "evt-1");
  must(store_->commit());
}

INSTANTIATE_TEST_SUITE_P(Stores, RuleUsageConformance,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return testing::backend_name(info.param);
                         });

// ---- PostgreSQL: a global cap across two nodes ----

class GlobalCapOnPostgres : public ::testing::Test {
 protected:
  void SetUp() override {
    LOYALTY_REQUIRE_POSTGRES_OR_SKIP();
    db_ = must(TestDatabase::create(Backend::kPostgres));
    first_ = must(db_->open_session());
    second_ = must(db_->open_session());
    must(first_->migrate());
    program_ = testing::insert_test_program(*first_, "Coffee Club", kT0).id;
  }

  // What one node does for a rule with a global cap of kCap awards: lock and
  // read the counter, award when under the cap, add to the counter, commit.
  // Returns whether it awarded.
  bool award_once(StoreSession& s) {
    const RuleUsage key = usage(MemberId{0}, "launch", "2026", "");
    for (;;) {
      must(s.begin_write());
      auto rows = s.read_rule_usage(program_, {key}, /*lock_global=*/true);
      if (!rows.ok() && rows.status().code() == ErrorCode::kRetryable) {
        must(s.rollback());
        continue;
      }
      const int64_t used = must(std::move(rows)).at(0).awards;
      const bool award = used < kCap;
      if (award) must(s.add_rule_usage(program_, usage(MemberId{0}, "launch", "2026", "", 1, 10)));
      Status st = s.commit();
      if (st.code() == ErrorCode::kRetryable) {
        must(s.rollback());
        continue;
      }
      must(st);
      return award;
    }
  }

  static constexpr int64_t kCap = 50;
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<StoreSession> first_;
  std::unique_ptr<StoreSession> second_;
  ProgramId program_;
};

TEST_F(GlobalCapOnPostgres, TwoNodesNeverAwardBeyondTheCap) {
  // Two sessions race for the last awards of the cap, 40 attempts each.
  std::atomic<int> awarded{0};
  auto node = [&](StoreSession& s) {
    for (int i = 0; i < 40; ++i) {
      if (award_once(s)) awarded.fetch_add(1);
    }
  };
  std::thread a([&] { node(*first_); });
  std::thread b([&] { node(*second_); });
  a.join();
  b.join();
  EXPECT_EQ(awarded.load(), kCap);
  must(first_->begin_read());
  auto rows = must(first_->read_rule_usage(program_, {usage(MemberId{0}, "launch", "2026", "")},
                                           /*lock_global=*/false));
  must(first_->commit());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].awards, kCap);
  EXPECT_EQ(rows[0].points, kCap * 10);
}

}  // namespace
}  // namespace loyalty::store
