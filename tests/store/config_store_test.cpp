// Store conformance for program configuration versions and the configuration
// version recorded on postings, on both stores.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "domain/ledger.h"
#include "store/store.h"
#include "store/store_test_support.h"

namespace loyalty::store {
namespace {

using testing::Backend;
using testing::must;
using testing::TestDatabase;

constexpr Instant kT0 = Instant::from_seconds(1'700'000'000);

std::string describe(const StoredConfig& c) {
  return format_id(c.program_id) + " v" + std::to_string(c.version) + " " + to_string(c.format) +
         " doc=" + c.document + " json=" + c.canonical_json +
         " at=" + std::to_string(c.created_at.micros_since_epoch) + " by=" + c.actor;
}

class ConfigStore : public testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (!store_) return;  // skipped
    program_ = add_program("Coffee Club");
  }

  Program add_program(const std::string& name) {
    return testing::insert_test_program(*store_, name, kT0);
  }

  StoredConfig config(ProgramId program, int version, ConfigFormat format = ConfigFormat::kYaml) {
    StoredConfig c;
    c.program_id = program;
    c.version = version;
    c.format = format;
    c.document = "earning:\n  rounding: floor  # version " + std::to_string(version) + "\n";
    c.canonical_json = R"({"v":)" + std::to_string(version) + "}";
    c.created_at = kT0 + Duration::from_seconds(version);
    c.actor = "key_" + std::to_string(version);
    return c;
  }

  Program program_;
};

TEST_P(ConfigStore, StoresEveryVersionAndFindsEach) {
  EXPECT_FALSE(must(store_->latest_config(program_.id)).has_value());
  EXPECT_FALSE(must(store_->find_config(program_.id, 1)).has_value());
  StoredConfig v1 = config(program_.id, 1);
  StoredConfig v2 = config(program_.id, 2, ConfigFormat::kJson);
  must(store_->insert_config(v1));
  must(store_->insert_config(v2));
  EXPECT_EQ(describe(*must(store_->find_config(program_.id, 1))), describe(v1));
  EXPECT_EQ(describe(*must(store_->find_config(program_.id, 2))), describe(v2));
  EXPECT_EQ(describe(*must(store_->latest_config(program_.id))), describe(v2));
  EXPECT_FALSE(must(store_->find_config(program_.id, 3)).has_value());
}

TEST_P(ConfigStore, AVersionIsStoredOnce) {
  must(store_->insert_config(config(program_.id, 1)));
  ASSERT_TRUE(store_->begin_write().ok());
  EXPECT_EQ(store_->insert_config(config(program_.id, 1)).code(), ErrorCode::kConflict);
  (void)store_->rollback();
  EXPECT_EQ(describe(*must(store_->latest_config(program_.id))), describe(config(program_.id, 1)));
}

TEST_P(ConfigStore, ListsVersionsNewestFirstWithoutTheirText) {
  for (int v = 1; v <= 5; ++v) must(store_->insert_config(config(program_.id, v)));
  auto page = must(store_->list_configs(program_.id, 0, 2));
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].version, 5);
  EXPECT_EQ(page[1].version, 4);
  EXPECT_EQ(page[0].actor, "key_5");
  EXPECT_EQ(page[0].created_at, kT0 + Duration::from_seconds(5));
  EXPECT_TRUE(page[0].document.empty());
  EXPECT_TRUE(page[0].canonical_json.empty());
  auto rest = must(store_->list_configs(program_.id, 4, 10));
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest[0].version, 3);
  EXPECT_EQ(rest[2].version, 1);
}

TEST_P(ConfigStore, ProgramsDoNotSeeEachOthersVersions) {
  Program other = add_program("Tea Club");
  must(store_->insert_config(config(program_.id, 1)));
  EXPECT_FALSE(must(store_->latest_config(other.id)).has_value());
  EXPECT_FALSE(must(store_->find_config(other.id, 1)).has_value());
  EXPECT_TRUE(must(store_->list_configs(other.id, 0, 10)).empty());
  must(store_->insert_config(config(other.id, 1)));  // versions count per program
  EXPECT_EQ(must(store_->latest_config(other.id))->program_id, other.id);
}

class PostingConfigVersion : public ConfigStore {
 protected:
  Posting credit(int config_version) {
    Member m;
    m.program_id = program_.id;
    m.external_id = "m" + std::to_string(++members_);
    m.email = m.external_id + "@example.com";
    m.created_at = kT0;
    m.updated_at = kT0;
    m.id = must(store_->insert_member(m));
    MemberLedger ledger;
    ledger.member = m;
    CreditRequest r;
    r.points = Points{10};
    LedgerPlan plan = must(plan_credit(program_, ledger, r, kT0));
    plan.posting.config_version = config_version;
    must(store_->apply_plan(plan));
    return *must(store_->find_posting(program_.id, plan.posting.id));
  }
  int members_ = 0;
};

TEST_P(PostingConfigVersion, IsStoredAndReadBack) {
  EXPECT_EQ(credit(3).config_version, 3);
  EXPECT_EQ(credit(0).config_version, 0) << "postings before any configuration have none";
}

TEST_P(PostingConfigVersion, TheEnginesSourceStampsPostingsWithoutOne) {
  std::vector<ProgramId> asked;
  store_->set_config_version_source([&](ProgramId p) -> Result<int> {
    asked.push_back(p);
    return 7;
  });
  EXPECT_EQ(credit(0).config_version, 7);
  EXPECT_EQ(asked, std::vector<ProgramId>{program_.id});
  EXPECT_EQ(credit(2).config_version, 2) << "a version set by the command is kept";
  store_->set_config_version_source(
      [](ProgramId) -> Result<int> { return Status(ErrorCode::kInternal, "no config"); });
  Member m;
  m.program_id = program_.id;
  m.external_id = "failing";
  m.email = "failing@example.com";
  m.id = must(store_->insert_member(m));
  MemberLedger ledger;
  ledger.member = m;
  CreditRequest r;
  r.points = Points{10};
  LedgerPlan plan = must(plan_credit(program_, ledger, r, kT0));
  EXPECT_EQ(store_->apply_plan(plan).code(), ErrorCode::kInternal)
      << "a posting whose version cannot be known is not written";
}

auto backend_name = [](const ::testing::TestParamInfo<Backend>& info) {
  return testing::backend_name(info.param);
};
INSTANTIATE_TEST_SUITE_P(Stores, ConfigStore,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), backend_name);
INSTANTIATE_TEST_SUITE_P(Stores, PostingConfigVersion,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), backend_name);

}  // namespace
}  // namespace loyalty::store
