// Replay of the real CDNOW purchase log through the engine (issue 3).
//
// One member per customer; each line is an order paid on its date (00:00 UTC)
// for its dollar value, under a simple program: 1 point per dollar (floor),
// points pending for a 30-day return window after payment, 12-month rolling
// expiry (all of a member's points expire 12 months after their last earn or
// spend). The clock walks day by day through the log and the scheduler runs
// every day, as `loyaltyd serve` would run it. The expected totals: see
// sim/cdnow_support.h.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "cli/verify.h"
#include "domain/config_document.h"
#include "domain/expiry.h"
#include "jobs/scheduler.h"
#include "sim/cdnow_support.h"
#include "sim/sim_support.h"

namespace loyalty::sim {
namespace {

TEST(CdnowReplay, EngineTotalsEqualAnIndependentComputation) {
  const std::vector<CdnowOrder> orders = read_cdnow(cdnow_path());
  ASSERT_EQ(orders.size(), kCdnowOrders);
  const LocalDate end = kCdnowEnd;
  const Totals want = expected_totals(orders, end);

  TempDb db("cdnow");
  ManualClock clock(midnight_utc(LocalDate{1997, 1, 1}));
  auto started = engine::Engine::start(db.url(), clock);
  ASSERT_TRUE(started.ok()) << started.status().message();
  std::unique_ptr<engine::Engine> engine = std::move(started).value();
  auto reader_or = store::open_session(db.url());
  ASSERT_TRUE(reader_or.ok());
  std::unique_ptr<store::StoreSession> reader = std::move(reader_or).value();

  Program p;
  p.name = "CDNOW";
  p.currency = "USD";
  p.timezone = "UTC";
  engine::Outcome created =
      engine->execute(engine::Command{engine::CreateProgram{p}, std::nullopt, nullptr});
  ASSERT_TRUE(created.status.ok()) << created.status.message();
  const ProgramId program = std::get<engine::ProgramCreated>(created.value).program.id;
  engine::Outcome configured = engine->execute(
      engine::Command{engine::PutConfig{program, kCdnowProgramConfig, ConfigFormat::kYaml, "test"},
                      std::nullopt, nullptr});
  ASSERT_TRUE(configured.status.ok()) << configured.status.message();

  // Orders by day; members enrolled on their first day.
  std::map<LocalDate, std::vector<const CdnowOrder*>> by_day;
  for (const CdnowOrder& o : orders) by_day[o.date].push_back(&o);
  std::map<std::string, MemberId> members;
  std::mutex members_mu;
  int order_number = 0;
  for (LocalDate day{1997, 1, 1}; day < end; day = add_days(day, 1)) {
    clock.set(midnight_utc(day));
    auto due = jobs::run_due_once(*reader, *engine, clock);
    ASSERT_TRUE(due.ok()) << due.status().message();
    auto it = by_day.find(day);
    if (it == by_day.end()) continue;
    Batch enrolls(*engine);
    for (const CdnowOrder* o : it->second) {
      if (members.count(o->customer) != 0) continue;
      members[o->customer] = MemberId{};  // claimed; filled by the completion
      Member m;
      m.program_id = program;
      m.external_id = "cdnow-" + o->customer;
      m.email = "c" + o->customer + "@cdnow.example";
      std::string customer = o->customer;
      enrolls.submit(engine::EnrollMember{m, {}, {}}, [&, customer](const engine::Outcome& out) {
        if (!out.status.ok()) return;
        std::lock_guard<std::mutex> lock(members_mu);
        members[customer] = std::get<Member>(out.value).id;
      });
    }
    ASSERT_EQ(enrolls.wait(), "");
    Batch day_orders(*engine);
    for (const CdnowOrder* o : it->second) {
      engine::CreateOrder c;
      c.program_id = program;
      c.customer.member_id = members.at(o->customer);
      c.order.external_id = "cdnow-" + std::to_string(++order_number);
      c.order.currency = "USD";
      c.order.channel = "web";
      c.order.placed_at = midnight_utc(day);
      OrderItem item;
      item.sku = "cds";
      item.name = std::to_string(o->cds) + " CDs";
      item.category = "music";
      item.quantity = 1;
      item.unit_price_minor = o->cents;
      c.order.items.push_back(item);
      c.status = OrderStatus::kPaid;
      c.paid_at = midnight_utc(day);
      day_orders.submit(std::move(c), [](const engine::Outcome&) {});
    }
    ASSERT_EQ(day_orders.wait(), "") << "on " << format_local_date(day);
  }
  clock.set(midnight_utc(end));
  for (int pass = 0; pass < 100; ++pass) {
    auto due = jobs::run_due_once(*reader, *engine, clock);
    ASSERT_TRUE(due.ok()) << due.status().message();
    if (due.value() == 0) break;
  }
  engine->stop();

  Totals got;
  for (const auto& [customer, id] : members) {
    auto b = reader->get_balance(program, id);
    ASSERT_TRUE(b.ok());
    got.earned += b.value().lifetime_earned.value;
    got.expired += b.value().expired.value;
    got.pending += b.value().pending.value;
    if (b.value().available.value > 0) ++got.members_with_points;
    EXPECT_EQ(b.value().lifetime_spent.value, 0) << customer;
  }
  got.vested = got.earned - got.pending;
  std::printf("CDNOW expected: earned=%lld vested=%lld expired=%lld pending=%lld members>0=%lld\n",
              static_cast<long long>(want.earned), static_cast<long long>(want.vested),
              static_cast<long long>(want.expired), static_cast<long long>(want.pending),
              static_cast<long long>(want.members_with_points));
  EXPECT_EQ(members.size(), kCdnowCustomers);
  EXPECT_EQ(got, want);
  // The computation is not vacuous: each total is a real share of the log.
  EXPECT_GT(want.expired, want.earned / 10);
  EXPECT_GT(want.pending, 0);
  EXPECT_GT(want.members_with_points, 1000);

  auto report = cli::verify_store(*reader);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report.value().problems.empty()) << cli::format_report(report.value());
}

}  // namespace
}  // namespace loyalty::sim
