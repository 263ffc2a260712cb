// PostgreSQL with several sessions at once: what lets several loyaltyd nodes
// share one database. Row locks serialize writers of the same member; a
// deadlock or serialization failure is reported as kRetryable so the engine
// reruns its batch.
//
// No test sleeps for a guessed time: a test that needs a session to be blocked
// waits until pg_stat_activity shows that session waiting on a lock.
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
// Upper bound on waiting for a session to block; reached only when it never does.
constexpr auto kMaxWaitForLock = std::chrono::seconds(30);

int64_t backend_pid(StoreSession& session) {
  int64_t pid = 0;
  must(session.connection().query("SELECT pg_backend_pid()", {},
                                  [&](const Row& r) { pid = r.get_int(0); }));
  return pid;
}

// Waits until the backend `pid` waits on a heavyweight lock; false on timeout.
bool wait_until_blocked_on_lock(StoreSession& observer, int64_t pid) {
  auto deadline = std::chrono::steady_clock::now() + kMaxWaitForLock;
  while (std::chrono::steady_clock::now() < deadline) {
    int64_t waiting = 0;
    must(observer.connection().query(
        "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ? AND wait_event_type = 'Lock'", {pid},
        [&](const Row& r) { waiting = r.get_int(0); }));
    if (waiting == 1) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

class PostgresSessions : public ::testing::Test {
 protected:
  void SetUp() override {
    LOYALTY_REQUIRE_POSTGRES_OR_SKIP();
    db_ = must(TestDatabase::create(Backend::kPostgres));
    first_ = must(db_->open_session());
    second_ = must(db_->open_session());
    observer_ = must(db_->open_session());
    must(first_->migrate());
    program_ = testing::insert_test_program(*first_, "Coffee Club", kT0).id;
    a_ = add_member("c-1");
    b_ = add_member("c-2");
  }

  MemberId add_member(const std::string& external_id) {
    return testing::insert_test_member(*first_, program_, external_id, kT0);
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<StoreSession> first_;
  std::unique_ptr<StoreSession> second_;
  std::unique_ptr<StoreSession> observer_;
  ProgramId program_;
  MemberId a_;
  MemberId b_;
};

TEST_F(PostgresSessions, LockMembersMakesASecondWriterWaitUntilTheFirstCommits) {
  must(first_->begin_write());
  must(first_->lock_members(program_, {a_, b_}));

  std::atomic<bool> first_committed{false};
  std::atomic<bool> second_locked{false};
  bool second_saw_commit = false;
  Status second_status;
  int64_t second_pid = backend_pid(*second_);
  std::thread second([&] {
    second_status = second_->begin_write();
    if (second_status.ok()) second_status = second_->lock_members(program_, {a_});
    second_saw_commit = first_committed.load();
    second_locked = true;
    if (second_status.ok()) second_status = second_->commit();
  });

  bool blocked = wait_until_blocked_on_lock(*observer_, second_pid);
  EXPECT_TRUE(blocked) << "the second session never waited for the member lock";
  EXPECT_FALSE(second_locked.load()) << "the second session locked a member the first holds";
  first_committed = true;
  must(first_->commit());
  second.join();
  EXPECT_TRUE(second_status.ok()) << describe(second_status);
  EXPECT_TRUE(second_saw_commit) << "the second lock returned before the first commit";
}

TEST_F(PostgresSessions, LockingMembersInOppositeOrderIsADeadlockReportedAsRetryable) {
  must(first_->begin_write());
  must(first_->lock_members(program_, {a_}));
  must(second_->begin_write());
  must(second_->lock_members(program_, {b_}));

  Status first_status;
  int64_t first_pid = backend_pid(*first_);
  std::thread first([&] { first_status = first_->lock_members(program_, {b_}); });
  ASSERT_TRUE(wait_until_blocked_on_lock(*observer_, first_pid));
  Status second_status = second_->lock_members(program_, {a_});
  // PostgreSQL aborts one of the two; the other then gets its lock.
  if (!second_status.ok()) (void)second_->rollback();
  first.join();
  if (!first_status.ok()) (void)first_->rollback();

  bool first_victim = first_status.code() == ErrorCode::kRetryable;
  bool second_victim = second_status.code() == ErrorCode::kRetryable;
  EXPECT_TRUE(first_victim != second_victim)
      << "first: " << describe(first_status) << "; second: " << describe(second_status);
  EXPECT_TRUE(first_victim || first_status.ok()) << describe(first_status);
  EXPECT_TRUE(second_victim || second_status.ok()) << describe(second_status);
  if (first_status.ok()) must(first_->commit());
  if (second_status.ok()) must(second_->commit());
}

TEST_F(PostgresSessions, ConcurrentUpdateUnderRepeatableReadIsRetryable) {
  must(first_->connection().execute("BEGIN ISOLATION LEVEL REPEATABLE READ"));
  auto before = must(first_->find_member(program_, a_));  // takes the snapshot
  ASSERT_TRUE(before.has_value());

  Member changed = *before;
  changed.email = "changed@example.com";
  must(second_->update_member(changed));  // commits on its own

  Member mine = *before;
  mine.first_name = "Ann";
  Status st = first_->update_member(mine);
  EXPECT_EQ(st.code(), ErrorCode::kRetryable) << describe(st);
  must(first_->rollback());
  EXPECT_EQ(must(first_->find_member(program_, a_))->email, "changed@example.com");
}

TEST_F(PostgresSessions, ConcurrentIdempotencyInsertsStoreTheKeyOnce) {
  must(first_->begin_write());
  EXPECT_TRUE(must(first_->insert_idempotency(program_, "k", {"f1", 201, "{}"}, kT0)));
  std::atomic<bool> first_committed{false};
  Result<bool> second_result = false;
  bool second_saw_commit = false;
  int64_t second_pid = backend_pid(*second_);
  std::thread second([&] {
    second_result = second_->insert_idempotency(program_, "k", {"f2", 201, "{}"}, kT0);
    second_saw_commit = first_committed.load();
  });
  ASSERT_TRUE(wait_until_blocked_on_lock(*observer_, second_pid));
  first_committed = true;
  must(first_->commit());
  second.join();
  ASSERT_TRUE(second_result.ok()) << describe(second_result.status());
  EXPECT_FALSE(second_result.value()) << "the key was stored twice";
  EXPECT_TRUE(second_saw_commit);
  EXPECT_EQ(must(observer_->find_idempotency(program_, "k"))->fingerprint, "f1");
}

}  // namespace
}  // namespace loyalty::store
