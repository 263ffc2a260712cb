// `loyaltyd config validate FILE`: the server's validation, offline, from the
// real binary: exit 0 and a one-line summary, or exit 1 and one
// `FILE:LINE:COL: PATH: message` line per error.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "system/harness.h"

namespace loyalty::system_test {
namespace {

class ConfigValidateCli : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& content) {
    std::string path = "/tmp/loyalty_config_cli_" + std::to_string(::getpid()) + "_" + name;
    std::ofstream(path, std::ios::binary) << content;
    files_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const auto& f : files_) std::remove(f.c_str());
  }
  std::vector<std::string> files_;
};

std::string demo_path() { return std::string(LOYALTY_SOURCE_DIR) + "/examples/demo-program.yaml"; }

TEST_F(ConfigValidateCli, ValidDocumentExitsZeroWithASummary) {
  CliResult r = run_cli(
      {"config", "validate", demo_path(), "--currency", "USD", "--timezone", "America/New_York"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, demo_path() +
                       ": valid (yaml, 5 earn rules, expiry after_earn, currency USD, time zone "
                       "America/New_York)\n");
  EXPECT_EQ(r.err, "");
}

TEST_F(ConfigValidateCli, InvalidDocumentExitsOneWithOneLinePerError) {
  std::string file = write("bad.yaml",
                           "earning:\n"
                           "  rounding: flor\n"
                           "earn_rules:\n"
                           "  - id: a\n"
                           "    trigger: signup\n"
                           "    kind: fixed\n"
                           "    pionts: 5\n");
  CliResult r = run_cli({"config", "validate", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, file +
                       ":2:13: earning.rounding: expected floor, nearest or ceil, got 'flor' "
                       "(did you mean 'floor'?)\n" +
                       file +
                       ":4:5: earn_rules[0].points: required key missing: the points to "
                       "award (kind: fixed needs it)\n" +
                       file +
                       ":7:5: earn_rules[0].pionts: unknown key 'pionts' (did you mean "
                       "'points'?)\n");
}

TEST_F(ConfigValidateCli, JsonIsValidatedTheSameWay) {
  std::string file = write("c.json", R"({"earn_rules": [{"id": "x", "trigger": "order",
  "kind": "spend", "points_per_unit": 1, "min_order": "10.5"}]})");
  CliResult ok = run_cli({"config", "validate", file});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  // The same amount has too many decimals for a currency without minor units.
  CliResult yen = run_cli({"config", "validate", file, "--currency", "JPY"});
  EXPECT_EQ(yen.exit_code, 1);
  EXPECT_EQ(yen.err, file +
                         ":2:55: earn_rules[0].min_order: expected an amount in JPY with at "
                         "most 0 decimal places, like \"50\" (at most 1000000000), got '10.5'\n");
}

TEST_F(ConfigValidateCli, BadOptionsAndMissingFiles) {
  std::string file = write("ok.yaml", "earning: {}\n");
  EXPECT_EQ(run_cli({"config", "validate", file, "--currency", "XYZ"}).exit_code, 2);
  EXPECT_EQ(run_cli({"config", "validate", file, "--timezone", "Mars/Olympus"}).exit_code, 2);
  CliResult missing = run_cli({"config", "validate", "/nonexistent/shop.yaml"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "loyaltyd: cannot read /nonexistent/shop.yaml\n");
}

}  // namespace
}  // namespace loyalty::system_test
