// The CDNOW replay through the HTTP API, on the sample (tests/data/cdnow/
// CDNOW_sample.txt: 6,919 purchases of 2,357 customers), under the replay's
// program (sim/cdnow_support.h: 1 point per dollar, 30-day return window after
// payment, 12-month rolling expiry).
//
// Everything a shop would send goes over real sockets with the program's
// Bearer key: each customer is enrolled with POST /v1/members on the day of
// their first purchase; each purchase is POST /v1/orders (placed), then
// POST /v1/orders/{id}/status paid the same day and delivered the next day.
// The test clock (the fixture's ManualClock, given to the engine and the
// server) walks day by day, and the scheduler runs once a day, as `loyaltyd
// serve` runs it. At the end the totals read back with GET
// /v1/members/{id}/balance equal the independent computation of
// sim/cdnow_support.h, which the engine-level replay checks on the full log.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/api_fixture.h"
#include "cli/verify.h"
#include "jobs/scheduler.h"
#include "sim/cdnow_support.h"

namespace loyalty::testing {
namespace {

using sim::CdnowOrder;

// Clients sending at once, so that the engine batches as under real traffic.
constexpr int kClients = 4;

class CdnowHttp : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    for (int i = 0; i < kClients; ++i) clients_.push_back(new_client());
  }
  void TearDown() override {
    clients_.clear();
    ApiTest::TearDown();
  }

  // Runs work(client, i) for i in [0, n), spread over the clients; the first
  // failure's message, or "".
  std::string on_clients(size_t n, const std::function<std::string(HttpClient&, size_t)>& work) {
    std::mutex mu;
    std::string first_error;
    std::vector<std::thread> threads;
    threads.reserve(kClients);
    for (int c = 0; c < kClients; ++c) {
      threads.emplace_back([&, c] {
        for (size_t i = static_cast<size_t>(c); i < n; i += kClients) {
          std::string error = work(*clients_[static_cast<size_t>(c)], i);
          if (error.empty()) continue;
          std::lock_guard<std::mutex> lock(mu);
          if (first_error.empty()) first_error = error;
          return;
        }
      });
    }
    for (std::thread& t : threads) t.join();
    return first_error;
  }

  static std::string unexpected(const char* what, const HttpResponse& r) {
    return std::string(what) + ": " + std::to_string(r.status) + " " + r.body;
  }

  std::vector<std::unique_ptr<HttpClient>> clients_;
};

TEST_F(CdnowHttp, SampleTotalsOverHttpEqualTheIndependentComputation) {
  const std::vector<CdnowOrder> orders =
      sim::read_cdnow(std::string(LOYALTY_TEST_DATA_DIR) + "/cdnow/CDNOW_sample.txt");
  ASSERT_EQ(orders.size(), 6'919u);
  const sim::Totals want = sim::expected_totals(orders, sim::kCdnowEnd);

  clock_.set(sim::midnight_utc(LocalDate{1997, 1, 1}));
  const ProgramHandle program = create_program("CDNOW", "", "UTC");
  const Headers key = auth(program.key);
  put_config(program, sim::kCdnowProgramConfig, /*yaml=*/true);

  auto reader_or = store::open_session(db_url_);
  ASSERT_TRUE(reader_or.ok()) << reader_or.status().message();
  std::unique_ptr<store::StoreSession> reader = std::move(reader_or).value();
  const auto run_jobs = [&] {
    auto counts = jobs::run_jobs_once(*reader, *engine_, clock_, jobs::JobSelection{});
    return counts.ok() && counts.value().complete;
  };

  std::map<LocalDate, std::vector<size_t>> by_day;  // indexes into orders
  for (size_t i = 0; i < orders.size(); ++i) by_day[orders[i].date].push_back(i);
  std::map<std::string, std::string> members;  // customer -> member id
  std::vector<std::string> order_ids(orders.size());
  std::vector<size_t> to_deliver;  // yesterday's orders
  std::mutex mu;

  for (LocalDate day{1997, 1, 1};; day = add_days(day, 1)) {
    clock_.set(sim::midnight_utc(day));
    ASSERT_TRUE(run_jobs()) << format_local_date(day);
    std::string error = on_clients(to_deliver.size(), [&](HttpClient& c, size_t i) {
      const std::string& id = order_ids[to_deliver[i]];
      HttpResponse r =
          c.post("/v1/orders/" + id + "/status",
                 R"({"event_id":"delivered-)" + id + R"(","status":"delivered"})", key);
      return r.status == 200 ? "" : unexpected("delivered", r);
    });
    ASSERT_EQ(error, "") << format_local_date(day);
    to_deliver.clear();
    if (!(day < sim::kCdnowEnd)) break;
    auto today = by_day.find(day);
    if (today == by_day.end()) continue;

    std::vector<std::string> newcomers;
    for (size_t i : today->second) {
      if (members.emplace(orders[i].customer, "").second) newcomers.push_back(orders[i].customer);
    }
    error = on_clients(newcomers.size(), [&](HttpClient& c, size_t i) {
      const std::string& customer = newcomers[i];
      std::string body = R"({"external_id":"cdnow-)";
      body.append(customer)
          .append(R"(","email":"c)")
          .append(customer)
          .append(R"(@cdnow.example"})");
      HttpResponse r = c.post("/v1/members", body, key);
      if (r.status != 201) return unexpected("enroll", r);
      std::lock_guard<std::mutex> lock(mu);
      members[customer] = Json(r.body).str("/id");
      return std::string();
    });
    ASSERT_EQ(error, "") << format_local_date(day);

    const std::string midnight = format_rfc3339(clock_.now());
    error = on_clients(today->second.size(), [&](HttpClient& c, size_t i) {
      const size_t n = today->second[i];
      const CdnowOrder& o = orders[n];
      HttpResponse placed = c.post(
          "/v1/orders",
          R"({"external_id":"cdnow-)" + std::to_string(n) + R"(","member_id":")" +
              members.at(o.customer) + R"(","currency":"USD","channel":"web","placed_at":")" +
              midnight + R"(","items":[{"sku":"cds","name":")" + std::to_string(o.cds) +
              R"( CDs","category":"music","quantity":1,"unit_price_minor":)" +
              std::to_string(o.cents) + "}]}",
          key);
      if (placed.status != 201) return unexpected("order", placed);
      const std::string id = Json(placed.body).str("/id");
      std::string paid_body = R"({"event_id":"paid-)";
      paid_body.append(id)
          .append(R"(","status":"paid","occurred_at":")")
          .append(midnight)
          .append(R"("})");
      HttpResponse paid = c.post("/v1/orders/" + id + "/status", paid_body, key);
      if (paid.status != 200) return unexpected("paid", paid);
      order_ids[n] = id;  // one writer per index
      return std::string();
    });
    ASSERT_EQ(error, "") << format_local_date(day);
    to_deliver = today->second;
  }
  // The end instant: whatever fell due by now is vested or expired.
  for (int pass = 0; pass < 10; ++pass) ASSERT_TRUE(run_jobs());

  sim::Totals got;
  for (const auto& [customer, id] : members) {
    HttpResponse r = client().get("/v1/members/" + id + "/balance", key);
    ASSERT_EQ(r.status, 200) << r.body;
    Json b(r.body);
    got.earned += b.num("/lifetime_earned");
    got.expired += b.num("/expired");
    got.pending += b.num("/pending");
    if (b.num("/available") > 0) ++got.members_with_points;
    EXPECT_EQ(b.num("/lifetime_spent"), 0) << customer;
  }
  got.vested = got.earned - got.pending;
  EXPECT_EQ(members.size(), 2'357u);
  EXPECT_EQ(got, want);
  // The sample is not vacuous: each total is a real share of it.
  EXPECT_GT(want.expired, want.earned / 10);
  EXPECT_GT(want.pending, 0);
  EXPECT_GT(want.members_with_points, 100);

  auto report = cli::verify_store(*reader);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_TRUE(report.value().problems.empty()) << cli::format_report(report.value());
}

}  // namespace
}  // namespace loyalty::testing
