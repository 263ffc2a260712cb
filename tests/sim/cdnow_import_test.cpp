// `loyaltyd import orders --format cdnow` of the real CDNOW log (issue 3): the
// bulk import, with each order earning at its own historical instant and the
// final catch-up of vesting and expiry, reaches the same totals as the
// independent computation of sim/cdnow_support.h under the same program as
// the day-by-day engine replay (cdnow_replay_test.cpp).
#include <gtest/gtest.h>

#include "cli/import_command.h"
#include "cli/verify.h"
#include "sim/cdnow_support.h"
#include "sim/sim_support.h"

namespace loyalty::sim {
namespace {

struct LedgerTotals {
  Totals totals;
  int64_t members = 0;
};

LedgerTotals read_totals(store::StoreSession& reader, ProgramId program) {
  std::vector<MemberId> ids;
  Status st = reader.for_each_member_external_id(
      program, [&](std::string_view, MemberId id) { ids.push_back(id); });
  EXPECT_TRUE(st.ok()) << st.message();
  LedgerTotals out;
  out.members = static_cast<int64_t>(ids.size());
  for (MemberId id : ids) {
    auto b = reader.get_balance(program, id);
    EXPECT_TRUE(b.ok());
    out.totals.earned += b->lifetime_earned.value;
    out.totals.expired += b->expired.value;
    out.totals.pending += b->pending.value;
    if (b->available.value > 0) ++out.totals.members_with_points;
  }
  out.totals.vested = out.totals.earned - out.totals.pending;
  return out;
}

TEST(CdnowImport, ImportedTotalsEqualTheIndependentComputation) {
  const Totals want = expected_totals(read_cdnow(cdnow_path()), kCdnowEnd);

  TempDb db("cdnow-import");
  ProgramId program;
  {
    ManualClock clock(midnight_utc(LocalDate{1997, 1, 1}));
    auto engine = engine::Engine::start(db.url(), clock);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    Program p;
    p.name = "CDNOW";
    p.currency = "USD";
    p.timezone = "UTC";
    engine::Outcome created =
        (*engine)->execute(engine::Command{engine::CreateProgram{p}, std::nullopt, nullptr});
    ASSERT_TRUE(created.status.ok()) << created.status.message();
    program = std::get<engine::ProgramCreated>(created.value).program.id;
    engine::Outcome configured = (*engine)->execute(engine::Command{
        engine::PutConfig{program, kCdnowProgramConfig, ConfigFormat::kYaml, "test"}, std::nullopt,
        nullptr});
    ASSERT_TRUE(configured.status.ok()) << configured.status.message();
  }

  cli::ImportOrdersOptions options;
  options.file = cdnow_path();
  options.db_url = db.url();
  options.program = format_id(program);
  options.format = "cdnow";
  options.as_of = format_rfc3339(midnight_utc(kCdnowEnd));
  options.create_members = true;
  options.quiet = true;
  ASSERT_EQ(cli::run_import_orders(options), 0);

  auto reader = store::open_session(db.url());
  ASSERT_TRUE(reader.ok());
  LedgerTotals got = read_totals(**reader, program);
  EXPECT_EQ(got.members, static_cast<int64_t>(kCdnowCustomers));
  EXPECT_EQ(got.totals.earned, want.earned);
  EXPECT_EQ(got.totals.vested, want.vested);
  EXPECT_EQ(got.totals.expired, want.expired);
  EXPECT_EQ(got.totals.pending, want.pending);
  EXPECT_EQ(got.totals.members_with_points, want.members_with_points);
  auto report = cli::verify_store(**reader);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->problems.empty()) << cli::format_report(*report);

  // The same file again imports nothing: every order is a duplicate.
  ASSERT_EQ(cli::run_import_orders(options), 0);
  LedgerTotals again = read_totals(**reader, program);
  EXPECT_EQ(again.members, got.members);
  EXPECT_EQ(again.totals.earned, got.totals.earned);
  EXPECT_EQ(again.totals.expired, got.totals.expired);
  EXPECT_EQ(again.totals.pending, got.totals.pending);
}

}  // namespace
}  // namespace loyalty::sim
