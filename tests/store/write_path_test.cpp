// SQLite's write path: what a posting costs in B-trees, and the WAL
// checkpointer that keeps copying pages off the writer's commits
// (docs/performance.md, "The SQLite write path").
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include "store/store.h"
#include "store/store_test_support.h"
#include "store/wal_checkpointer.h"

namespace loyalty::store {
namespace {

using testing::Backend;
using testing::must;
using testing::TestDatabase;

constexpr Instant kT0 = Instant::from_seconds(1'700'000'000);

std::set<std::string> index_names(SqlConnection& db, const std::string& table) {
  std::set<std::string> out;
  must(db.query("SELECT name FROM pragma_index_list('" + table + "')", {},
                [&](const Row& r) { out.emplace(r.get_text(0)); }));
  return out;
}

// A credit writes its lot into every index of lots keyed by member, each at a
// random place (one page per index per credit): the member's open and spent
// lots share one index.
TEST(SqliteWritePath, LotsHaveOneIndexByMemberAndOneByExpiry) {
  auto db = must(TestDatabase::create(Backend::kSqlite));
  auto session = must(db->open_session());
  must(session->migrate());
  EXPECT_EQ(index_names(session->connection(), "lots"),
            (std::set<std::string>{"lots_member", "lots_expiring"}));
}

// The WAL's checkpoint sequence number (header bytes 12..15): SQLite increments
// it each time the WAL starts over from its beginning.
uint32_t wal_restarts(const std::string& db_path) {
  std::ifstream wal(db_path + "-wal", std::ios::binary);
  unsigned char h[16] = {};
  if (!wal.read(reinterpret_cast<char*>(h), sizeof h)) return 0;
  return (uint32_t{h[12]} << 24) | (uint32_t{h[13]} << 16) | (uint32_t{h[14]} << 8) | h[15];
}

// With SQLite's own checkpoint out of reach (a backstop far above what the test
// writes), the checkpointer alone copies the WAL and gets it started over, so
// the WAL stays bounded while the writer keeps committing.
TEST(SqliteWritePath, CheckpointerRestartsTheWalWithoutTheWriter) {
  auto db = must(TestDatabase::create(Backend::kSqlite));
  const std::string path = db->url().substr(std::string("sqlite:").size());
  auto writer = must(db->open_session());
  must(writer->migrate());
  WalCheckpointer::Options options;
  options.pass_interval = std::chrono::milliseconds(2);
  options.chase_frames = 32;
  options.backstop_frames = 1 << 20;
  auto checkpointer = must(WalCheckpointer::start(db->url(), writer->connection(), options));
  ASSERT_NE(checkpointer, nullptr);
  const ProgramId program = testing::insert_test_program(*writer, "wal", kT0).id;
  const uint32_t restarts_before = wal_restarts(path);
  // Commits until the WAL started over twice (each one needs chase_frames of
  // WAL first); a checkpointer that never restarts it fails at the deadline.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int commits = 0;
  while (wal_restarts(path) < restarts_before + 2) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline)
        << "the WAL never started over after " << commits << " commits";
    must(writer->begin_write());
    for (int i = 0; i < 20; ++i) {
      testing::insert_test_member(*writer, program,
                                  "m-" + std::to_string(commits) + "-" + std::to_string(i), kT0);
    }
    must(writer->commit());
    ++commits;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_GT(checkpointer->passes(), 0);
  EXPECT_GE(checkpointer->max_wal_frames(), options.chase_frames);
  checkpointer.reset();
  // Everything committed is there, whichever file it is in now.
  auto reader = must(db->open_session());
  int64_t members = 0;
  must(reader->connection().query("SELECT count(*) FROM members", {},
                                  [&](const Row& r) { members = r.get_int(0); }));
  EXPECT_EQ(members, int64_t{commits} * 20);
}

TEST(SqliteWritePath, NoCheckpointerOnPostgres) {
  LOYALTY_REQUIRE_POSTGRES_OR_SKIP();
  auto db = must(TestDatabase::create(Backend::kPostgres));
  auto session = must(db->open_session());
  EXPECT_EQ(must(WalCheckpointer::start(db->url(), session->connection())), nullptr);
}

}  // namespace
}  // namespace loyalty::store
