// The loyaltyd-wal VFS (store/sqlite_wal_vfs.h): a WAL's writes gathered into
// few write calls must leave SQLite exactly as correct as one call per write:
// transactions larger than the buffer and than the unix VFS's largest write,
// pages spilled to the WAL and read back inside their transaction, rollbacks,
// and a process killed with frames still buffered.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdint>
#include <filesystem>
#include <string>

#include "store/sql.h"
#include "store/sqlite_wal_vfs.h"
#include "store/store_test_support.h"

namespace loyalty::store {
namespace {

using testing::must;

class WalVfs : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("loyaltyd-walvfs-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "t.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<SqlConnection> open() const { return must(open_sqlite(path_)); }

  static int64_t scalar(SqlConnection& db, const std::string& sql) {
    int64_t v = -1;
    must(db.query(sql, {}, [&](const Row& r) { v = r.get_int(0); }));
    return v;
  }
  static std::string integrity(SqlConnection& db) {
    std::string out;
    must(db.query("PRAGMA integrity_check", {}, [&](const Row& r) { out += r.get_text(0); }));
    return out;
  }
  // Rows first..last of ~1 KiB each whose content is a function of the id, so
  // that a sum over them checks every byte came back.
  static void insert_rows(SqlConnection& db, int64_t first, int64_t last) {
    must(
        db.query("WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
                 "INSERT INTO t (id, v) SELECT i, printf('%.1000c', char(65 + i % 26)) FROM n",
                 {SqlValue(first), SqlValue(last)}, nullptr));
  }
  static int64_t checksum(SqlConnection& db) {
    return scalar(db, "SELECT coalesce(sum(id * unicode(v) + length(v)), 0) FROM t");
  }
  static int64_t expected_checksum(int64_t first, int64_t last) {
    int64_t sum = 0;
    for (int64_t i = first; i <= last; ++i) sum += i * (65 + i % 26) + 1000;
    return sum;
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(WalVfs, IsRegisteredAndUsedByOpenSqlite) {
  ASSERT_NE(wal_gathering_vfs(), nullptr);
  auto db = open();
  must(db->execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"));
  const WalGatherStats before = wal_gather_stats();
  must(db->execute("BEGIN"));
  insert_rows(*db, 1, 200);
  must(db->execute("COMMIT"));
  const WalGatherStats after = wal_gather_stats();
  // ~60 pages, two writes each (frame header, page), handed over in a few
  // 64 KiB pieces.
  const long long gathered = after.writes_gathered - before.writes_gathered;
  const long long issued = after.writes_issued - before.writes_issued;
  EXPECT_GE(gathered, 100);
  EXPECT_GE(issued, 1);
  EXPECT_LE(issued * 10, gathered);
}

// The VFS is only safe when every commit syncs the WAL (the header says why):
// open_sqlite must leave its connections at synchronous=FULL (2).
TEST_F(WalVfs, OpenSqliteConnectionsSyncEveryCommit) {
  auto db = open();
  EXPECT_EQ(scalar(*db, "PRAGMA synchronous"), 2)
      << "store/sqlite_wal_vfs.h gathers WAL writes until the commit's sync: "
         "a connection that does not sync at commit must not use it";
  EXPECT_EQ(scalar(*db, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
}

// 12 MiB in one transaction: the buffer fills (4 MiB) and is written out
// mid-transaction, each time in pieces below the unix VFS's 128 KiB limit;
// another connection then reads every byte.
TEST_F(WalVfs, TransactionsLargerThanTheBufferCommitWhole) {
  auto writer = open();
  auto reader = open();
  must(writer->execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"));
  must(writer->execute("BEGIN"));
  insert_rows(*writer, 1, 12'000);
  must(writer->execute("COMMIT"));
  EXPECT_EQ(scalar(*reader, "SELECT count(*) FROM t"), 12'000);
  EXPECT_EQ(checksum(*reader), expected_checksum(1, 12'000));
  EXPECT_EQ(integrity(*reader), "ok");
  // And after the WAL is copied into the database file.
  must(reader->execute("PRAGMA wal_checkpoint(TRUNCATE)"));
  EXPECT_EQ(checksum(*reader), expected_checksum(1, 12'000));
}

// A page cache of 16 pages makes SQLite spill a transaction's pages to the WAL
// before the commit (frames in our buffer) and read them back from there.
TEST_F(WalVfs, SpilledPagesAreReadBackWithinTheirTransaction) {
  auto writer = open();
  auto reader = open();
  must(writer->execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"));
  must(writer->execute("PRAGMA cache_size=16"));
  must(writer->execute("BEGIN"));
  insert_rows(*writer, 1, 3'000);
  EXPECT_EQ(checksum(*writer), expected_checksum(1, 3'000));  // inside the transaction
  EXPECT_EQ(scalar(*reader, "SELECT count(*) FROM t"), 0);    // nothing visible yet
  must(writer->execute("UPDATE t SET v = printf('%.1000c', char(65 + id % 26)) WHERE id % 7 = 0"));
  must(writer->execute("COMMIT"));
  EXPECT_EQ(checksum(*reader), expected_checksum(1, 3'000));
  EXPECT_EQ(integrity(*reader), "ok");
}

TEST_F(WalVfs, ARolledBackSpilledTransactionLeavesNothing) {
  auto writer = open();
  must(writer->execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"));
  must(writer->execute("BEGIN"));
  insert_rows(*writer, 1, 100);
  must(writer->execute("COMMIT"));
  must(writer->execute("PRAGMA cache_size=16"));
  must(writer->execute("BEGIN"));
  insert_rows(*writer, 101, 3'000);
  must(writer->execute("ROLLBACK"));
  must(writer->execute("BEGIN"));
  insert_rows(*writer, 101, 150);
  must(writer->execute("COMMIT"));
  auto reader = open();
  EXPECT_EQ(checksum(*reader), expected_checksum(1, 150));
  EXPECT_EQ(integrity(*reader), "ok");
}

// A process killed while a transaction's frames sit in the buffer (and others
// were already written out by spills): reopened, the database holds exactly
// the committed transactions.
TEST_F(WalVfs, KilledMidTransactionKeepsExactlyTheCommits) {
  // The child is a fork of this process (the default "fast" style; the
  // "threadsafe" style would run SetUp again in a fresh process).
  {
    auto db = open();
    must(db->execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"));
  }
  EXPECT_EXIT(
      {
        auto db = open();
        for (int64_t i = 0; i < 20; ++i) {
          must(db->execute("BEGIN"));
          insert_rows(*db, i * 10 + 1, i * 10 + 10);
          must(db->execute("COMMIT"));
        }
        must(db->execute("PRAGMA cache_size=16"));
        must(db->execute("BEGIN"));
        insert_rows(*db, 201, 3'000);
        std::raise(SIGKILL);
      },
      ::testing::KilledBySignal(SIGKILL), "");
  auto db = open();
  EXPECT_EQ(scalar(*db, "SELECT count(*) FROM t"), 200);
  EXPECT_EQ(checksum(*db), expected_checksum(1, 200));
  EXPECT_EQ(integrity(*db), "ok");
  must(db->execute("BEGIN"));
  insert_rows(*db, 201, 210);
  must(db->execute("COMMIT"));
  EXPECT_EQ(checksum(*db), expected_checksum(1, 210));
}

}  // namespace
}  // namespace loyalty::store
