// Replay of the real CDNOW purchase log through the engine (issue 3).
//
// One member per customer; each line is an order paid on its date (00:00 UTC)
// for its dollar value, under a simple program: 1 point per dollar (floor),
// points pending for a 30-day return window after payment, 12-month rolling
// expiry (all of a member's points expire 12 months after their last earn or
// spend). The clock walks day by day through the log and the scheduler runs
// every day, as `loyaltyd serve` would run it.
//
// The expected totals come from an independent computation written here from
// those three sentences, not from the engine's code: per customer, walk the
// orders in date order; when an order comes 12 months or more after the
// previous one, everything earned before has expired; at the end instant,
// points of orders within the last 30 days are pending, the rest vested, and
// all of it expired if the last order is 12 months old.
#include <gtest/gtest.h>

#include <condition_variable>
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
#include "sim/sim_support.h"

#ifndef LOYALTY_TEST_DATA_DIR
#error "LOYALTY_TEST_DATA_DIR must name tests/data"
#endif

namespace loyalty::sim {
namespace {

struct CdnowOrder {
  std::string customer;
  LocalDate date;
  int64_t cds = 0;
  int64_t cents = 0;
};

// Lines "customer [sample-id] YYYYMMDD cds dollars"; the dollar value is parsed
// exactly into cents.
std::vector<CdnowOrder> read_cdnow(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::vector<CdnowOrder> orders;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string x; words >> x;) w.push_back(x);
    if (w.size() < 4 || w[0] == "customer_id") continue;
    CdnowOrder o;
    o.customer = w[0];
    const std::string& d = w[w.size() - 3];
    o.date =
        LocalDate{std::stoi(d.substr(0, 4)), std::stoi(d.substr(4, 2)), std::stoi(d.substr(6, 2))};
    o.cds = std::stoll(w[w.size() - 2]);
    const std::string& dollars = w.back();
    size_t dot = dollars.find('.');
    std::string whole = dollars.substr(0, dot);
    std::string frac = dot == std::string::npos ? "" : dollars.substr(dot + 1);
    frac = (frac + "00").substr(0, 2);
    o.cents = std::stoll(whole) * 100 + std::stoll(frac);
    orders.push_back(o);
  }
  return orders;
}

Instant midnight_utc(const LocalDate& d) {
  auto t = parse_rfc3339(format_local_date(d) + "T00:00:00Z");
  return *t;
}
LocalDate plus_one_year(const LocalDate& d) { return LocalDate{d.year + 1, d.month, d.day}; }

struct Totals {
  int64_t earned = 0;
  int64_t vested = 0;
  int64_t expired = 0;
  int64_t pending = 0;
  int64_t members_with_points = 0;
};

// The independent computation (see the top of the file).
Totals expected_totals(const std::vector<CdnowOrder>& orders, const LocalDate& end) {
  std::map<std::string, std::vector<const CdnowOrder*>> by_customer;
  for (const CdnowOrder& o : orders) by_customer[o.customer].push_back(&o);
  Totals t;
  const Instant end_at = midnight_utc(end);
  for (auto& [customer, list] : by_customer) {
    std::stable_sort(list.begin(), list.end(),
                     [](const auto* a, const auto* b) { return a->date < b->date; });
    int64_t held = 0;  // earned and not expired
    LocalDate last{};
    for (const CdnowOrder* o : list) {
      if (held > 0 && !(o->date < plus_one_year(last))) {
        t.expired += held;
        held = 0;
      }
      int64_t points = o->cents / 100;
      t.earned += points;
      held += points;
      last = o->date;
    }
    if (held > 0 && !(end < plus_one_year(last))) {
      t.expired += held;
      held = 0;
    }
    int64_t pending = 0;
    for (const CdnowOrder* o : list) {
      if (held > 0 && midnight_utc(o->date) + Duration::from_days(30) > end_at) {
        pending += o->cents / 100;
      }
    }
    t.pending += pending;
    if (held - pending > 0) ++t.members_with_points;
  }
  t.vested = t.earned - t.pending;
  return t;
}

constexpr const char* kProgramConfig = R"(
earning:
  rounding: floor
  return_window_days: 30
  vest_from: paid
expiry:
  mode: rolling
  months: 12
  warn_days_before: 0
earn_rules:
  - id: spend
    name: 1 point per dollar
    trigger: order
    kind: spend
    points_per_unit: 1
)";

// Submits commands and waits for all of them; counts failures.
class Batch {
 public:
  explicit Batch(engine::Engine& engine) : engine_(engine) {}
  void submit(engine::CommandBody body, std::function<void(const engine::Outcome&)> on_done) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++in_flight_;
    }
    engine_.submit(engine::Command{std::move(body), std::nullopt, nullptr},
                   [this, on_done = std::move(on_done)](engine::Outcome out) {
                     on_done(out);
                     std::lock_guard<std::mutex> lock(mu_);
                     if (!out.status.ok() && first_error_.empty()) {
                       first_error_ = out.status.message();
                     }
                     if (--in_flight_ == 0) cv_.notify_all();
                   });
  }
  // Waits; the first failure's message, or empty.
  std::string wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ == 0; });
    return first_error_;
  }

 private:
  engine::Engine& engine_;
  std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;
  std::string first_error_;
};

TEST(CdnowReplay, EngineTotalsEqualAnIndependentComputation) {
  const std::vector<CdnowOrder> orders =
      read_cdnow(std::string(LOYALTY_TEST_DATA_DIR) + "/cdnow/CDNOW_master.txt");
  ASSERT_EQ(orders.size(), 69'659u);
  const LocalDate end{1998, 7, 1};  // the day after the last purchase
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
      engine::Command{engine::PutConfig{program, kProgramConfig, ConfigFormat::kYaml, "test"},
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
      enrolls.submit(engine::EnrollMember{m}, [&, customer](const engine::Outcome& out) {
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
  EXPECT_EQ(members.size(), 23'570u);
  EXPECT_EQ(got.earned, want.earned);
  EXPECT_EQ(got.vested, want.vested);
  EXPECT_EQ(got.expired, want.expired);
  EXPECT_EQ(got.pending, want.pending);
  EXPECT_EQ(got.members_with_points, want.members_with_points);
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
