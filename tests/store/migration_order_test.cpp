// Migrations are applied by presence, not by the highest version: branches
// reserve their numbers (18 referrals, 19 gift cards) and a database may get
// the higher one first; the lower one must still be applied when it arrives.
#include <gtest/gtest.h>

#include "store/migrations.h"
#include "store/store_test_support.h"

namespace loyalty::store {
namespace {

using testing::Backend;
using testing::must;

class MigrationOrder : public testing::StoreTest {};

TEST_P(MigrationOrder, AMigrationBelowTheHighestAppliedIsStillApplied) {
  // Pretend migration 17 (referrals) had not been applied yet while 19 (gift
  // cards) has: its tables and its record are gone.
  SqlConnection& db = store_->connection();
  for (const char* table : {"referral_codes", "referral_invitations", "referrals",
                            "referral_signals", "referral_usage"}) {
    ASSERT_TRUE(db.execute(std::string("DROP TABLE ") + table).ok()) << table;
  }
  ASSERT_TRUE(db.query("DELETE FROM schema_migrations WHERE version = 17", {}).ok());
  ASSERT_EQ(must(store_->schema_version()), migrations().back().version);

  must(store_->migrate());
  int64_t rows = 0;
  must(db.query("SELECT COUNT(*) FROM schema_migrations WHERE version = 17", {},
                [&](const Row& r) { rows = r.get_int(0); }));
  EXPECT_EQ(rows, 1);
  int64_t codes = -1;
  must(db.query("SELECT COUNT(*) FROM referral_codes", {},
                [&](const Row& r) { codes = r.get_int(0); }));
  EXPECT_EQ(codes, 0);
}

INSTANTIATE_TEST_SUITE_P(Stores, MigrationOrder,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& info) { return testing::backend_name(info.param); });

}  // namespace
}  // namespace loyalty::store
