// The command line of the real binary: `program create` output, `verify`
// verdicts, and how bad input is refused.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <regex>

#include "common/ids.h"
#include "system/harness.h"

namespace loyalty::system_test {
namespace {

std::unique_ptr<TestStore> sqlite_store() {
  std::string unused;
  return TestStore::create(StoreKind::kSqlite, &unused);
}

size_t line_count(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')) +
         (!s.empty() && s.back() != '\n' ? 1 : 0);
}

void sqlite_exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
  EXPECT_EQ(sqlite3_changes(db), 1) << sql;
  sqlite3_free(err);
  sqlite3_close(db);
}

TEST(Cli, ProgramCreatePrintsOneJsonObjectWithIdAndKey) {
  auto store = sqlite_store();
  CliResult r = run_cli({"program", "create", "--db", store->url(), "--name", "Coffee Club",
                         "--currency", "EUR", "--timezone", "Europe/Berlin"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(line_count(r.out), 1u) << r.out;
  auto program_id = json_string_field(r.out, "program_id");
  auto api_key = json_string_field(r.out, "api_key");
  ASSERT_TRUE(program_id.has_value()) << r.out;
  ASSERT_TRUE(api_key.has_value()) << r.out;
  EXPECT_TRUE(parse_id<ProgramTag>(*program_id).has_value()) << *program_id;
  EXPECT_TRUE(api_key->starts_with("lk_")) << *api_key;
  EXPECT_GE(api_key->size(), 30u);
  // A second program gets another id and another key.
  CliResult again = run_cli({"program", "create", "--db", store->url(), "--name", "Tea Club",
                             "--currency", "USD", "--timezone", "America/New_York"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(json_string_field(again.out, "program_id"), program_id);
  EXPECT_NE(json_string_field(again.out, "api_key"), api_key);
}

TEST(Cli, ProgramKeyWorksAgainstTheServer) {
  auto store = sqlite_store();
  ProgramKey program = create_program(*store);
  auto server = ServerProcess::start(*store);
  ApiClient api(server->port(), program.api_key);
  std::string member = api.enroll("cli-1");
  EXPECT_TRUE(member.starts_with("mem_")) << member;
  EXPECT_EQ(api.available(member), 0);
  ApiClient wrong(server->port(), "lk_not_a_real_key");
  auto r = wrong.connection().request("GET", "/v1/members/" + member + "/balance", {},
                                      {{"Authorization", "Bearer lk_not_a_real_key"}});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 401) << r->body;
  EXPECT_EQ(server->terminate(), 0);
}

TEST(Cli, VerifyPassesOnAGoodStoreAndNamesTheMemberOfACorruptBalance) {
  auto store = sqlite_store();
  ProgramKey program = create_program(*store);
  auto server = ServerProcess::start(*store);
  ApiClient api(server->port(), program.api_key);
  std::string alice = api.enroll("alice");
  std::string bob = api.enroll("bob");
  for (const auto& [member, points] : {std::pair{alice, 500}, std::pair{bob, 70}}) {
    auto r = api.credit(member, points, "welcome");
    ASSERT_TRUE(r && r->status == 201) << describe(r, api.connection());
  }
  auto d = api.debit(alice, 120, "coffee");
  ASSERT_TRUE(d && d->status == 201) << describe(d, api.connection());
  ASSERT_EQ(server->terminate(), 0) << server->log();

  CliResult good = run_cli({"verify", "--db", store->url()});
  EXPECT_EQ(good.exit_code, 0) << good.out << good.err;
  EXPECT_NE(good.out.find("OK"), std::string::npos) << good.out;

  // One point too many on Bob's materialized balance.
  auto bob_id = parse_id<MemberTag>(bob);
  ASSERT_TRUE(bob_id.has_value());
  sqlite_exec(store->sqlite_path(),
              "UPDATE balances SET available = available + 1 WHERE "
              "member_id = " +
                  std::to_string(bob_id->value));
  CliResult bad = run_cli({"verify", "--db", store->url()});
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  // The report names Bob by his public id, not Alice.
  std::regex names_bob("\\bmem_" + std::to_string(bob_id->value) + "\\b");
  std::regex names_alice("\\bmem_" + alice.substr(4) + "\\b");
  std::string report = bad.out + bad.err;
  EXPECT_TRUE(std::regex_search(report, names_bob)) << report;
  EXPECT_FALSE(std::regex_search(report, names_alice)) << report;
  EXPECT_NE(report.find("71"), std::string::npos) << "the stored value is shown: " << report;
}

struct BadInvocation {
  const char* what;
  std::vector<std::string> args;  // "{db}" is replaced by a fresh store's URL
};

TEST(Cli, BadInputGetsOneLineOnStderrAndNonZeroExit) {
  auto store = sqlite_store();
  const std::vector<BadInvocation> cases = {
      {"no subcommand", {}},
      {"unknown subcommand", {"frobnicate"}},
      {"verify without --db", {"verify"}},
      {"serve without --db", {"serve", "--listen", "127.0.0.1:0"}},
      {"program create without --db",
       {"program", "create", "--name", "X", "--currency", "USD", "--timezone", "UTC"}},
      {"unknown URL scheme", {"verify", "--db", "mysql://localhost/x"}},
      {"sqlite URL without a path", {"verify", "--db", "sqlite:"}},
      {"sqlite file in a missing directory",
       {"verify", "--db", "sqlite:/nonexistent-dir-for-loyaltyd/x.db"}},
      {"currency not ISO 4217",
       {"program", "create", "--db", "{db}", "--name", "X", "--currency", "DOLLARS", "--timezone",
        "Europe/Berlin"}},
      {"lowercase currency",
       {"program", "create", "--db", "{db}", "--name", "X", "--currency", "usd", "--timezone",
        "Europe/Berlin"}},
      {"unknown time zone",
       {"program", "create", "--db", "{db}", "--name", "X", "--currency", "USD", "--timezone",
        "Mars/Olympus_Mons"}},
      {"empty name",
       {"program", "create", "--db", "{db}", "--name", "", "--currency", "USD", "--timezone",
        "Europe/Berlin"}},
      {"bad listen address", {"serve", "--db", "{db}", "--listen", "localhost"}},
      {"io threads out of range",
       {"serve", "--db", "{db}", "--listen", "127.0.0.1:0", "--io-threads", "0"}},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = c.args;
    for (auto& a : args) {
      if (a == "{db}") a = store->url();
    }
    CliResult r = run_cli(args, /*timeout_s=*/30);
    EXPECT_NE(r.exit_code, 0) << c.what;
    EXPECT_EQ(line_count(r.err), 1u) << c.what << ": stderr was:\n" << r.err;
    EXPECT_TRUE(r.err.starts_with("loyaltyd: ")) << c.what << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << c.what << ": stdout was:\n" << r.out;
  }
}

}  // namespace
}  // namespace loyalty::system_test
