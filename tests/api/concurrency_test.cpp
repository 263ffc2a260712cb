// Many clients at once, and draining on shutdown.
#include <atomic>
#include <thread>

#include "api/api_fixture.h"
#include "store/store.h"

namespace loyalty::testing {
namespace {

class ConcurrencyApi : public ApiTest {};

TEST_F(ConcurrencyApi, ThirtyTwoClientsDebitingOneMemberNeverOverspend) {
  constexpr int kClients = 32;
  constexpr int kDebitsPerClient = 5;
  constexpr int kBalance = 1000;
  constexpr int kDebitPoints = 7;  // 142 debits fit into 1000, 160 are attempted
  ProgramHandle p = create_program();
  std::string member = enroll(p, "popular");
  ASSERT_EQ(credit(p, member, kBalance).status, 201);

  std::atomic<int> created{0};
  std::atomic<int> refused{0};
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&] {
      HttpClient c("127.0.0.1", server_->port());
      for (int j = 0; j < kDebitsPerClient; ++j) {
        HttpResponse r = c.post("/v1/members/" + member + "/debits",
                                R"({"points":)" + std::to_string(kDebitPoints) + "}", auth(p.key));
        if (r.status == 201) {
          created.fetch_add(1);
        } else if (r.status == 422 && problem_slug(r) == "insufficient-points") {
          refused.fetch_add(1);
        } else {
          other.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(created.load(), kBalance / kDebitPoints);
  EXPECT_EQ(refused.load(), kClients * kDebitsPerClient - kBalance / kDebitPoints);
  EXPECT_EQ(available(p, member), kBalance % kDebitPoints);
  Json b(client().get("/v1/members/" + member + "/balance", auth(p.key)).body);
  EXPECT_EQ(b.num("/lifetime_spent"), (kBalance / kDebitPoints) * kDebitPoints);
}

TEST_F(ConcurrencyApi, ShutdownDrainsARequestInFlight) {
  ProgramHandle p = create_program();
  std::string member = enroll(p, "m1");
  // A keep-alive connection opened before the drain, to ask /readyz during it.
  HttpClient watcher("127.0.0.1", server_->port());
  ASSERT_EQ(watcher.get("/readyz").status, 200);

  // A request whose headers arrived but whose body has not: it is in flight.
  std::string body = R"({"points":42})";
  HttpClient slow("127.0.0.1", server_->port());
  slow.send_raw("POST /v1/members/" + member +
                "/credits HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Authorization: Bearer " +
                p.key + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  std::atomic<bool> shut{false};
  std::thread stopper([&] {
    server_->shutdown(std::chrono::seconds(10));
    shut.store(true);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(shut.load());  // waiting for the request in flight
  HttpResponse ready = watcher.get("/readyz");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_EQ(ready.header("connection"), "close");
  EXPECT_EQ(ready.header("retry-after"), "1");

  slow.send_raw(body);
  HttpResponse answered = slow.read_response();
  EXPECT_EQ(answered.status, 201) << answered.body;
  EXPECT_EQ(Json(answered.body).num("/points"), 42);
  stopper.join();
  EXPECT_TRUE(shut.load());

  // The write is committed.
  auto session = store::open_session(db_url_);
  ASSERT_TRUE(session.ok());
  auto member_id = parse_id<MemberTag>(member);
  auto program_id = parse_id<ProgramTag>(p.id);
  auto balance = (*session)->get_balance(*program_id, *member_id);
  ASSERT_TRUE(balance.ok());
  EXPECT_EQ(balance->available.value, 42);
}

}  // namespace
}  // namespace loyalty::testing
