// GET /v1/outbox: events in order, polling with `after`, another program's
// events invisible, bad parameters as problems.
#include "api/api_fixture.h"
#include "jobs/scheduler.h"

namespace loyalty::testing {
namespace {

TEST_F(ApiTest, OutboxListsExpiryEventsInOrderAndPollsWithAfter) {
  ProgramHandle p = create_program();
  ProgramHandle other = create_program("Other");
  std::string m = enroll(p, "a");
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = client().post("/v1/members/" + m + "/credits",
                                   R"({"points":10,"reason":"t","expires_at":"2024-06-0)" +
                                       std::to_string(2 + i) + R"(T00:00:00Z"})",
                                   auth(p.key));
    ASSERT_EQ(r.status, 201) << r.body;
  }
  HttpResponse empty = client().get("/v1/outbox", auth(p.key));
  ASSERT_EQ(empty.status, 200) << empty.body;
  EXPECT_EQ(empty.body, R"({"data":[],"next_after":null})");

  auto reader = store::open_session(db_url_);
  ASSERT_TRUE(reader.ok());
  for (int day = 1; day <= 3; ++day) {
    clock_.set(Instant::from_seconds(1'717'200'000) + Duration::from_days(day));
    ASSERT_TRUE(jobs::run_due_once(**reader, *engine_, clock_).ok());
  }
  HttpResponse first = client().get("/v1/outbox?limit=2", auth(p.key));
  ASSERT_EQ(first.status, 200) << first.body;
  Json j(first.body);
  EXPECT_EQ(j.str("/data/0/type"), "points.expired");
  EXPECT_EQ(j.str("/data/0/member_id"), m);
  EXPECT_EQ(j.num("/data/0/payload/points"), 10);
  EXPECT_EQ(j.str("/data/0/created_at"), "2024-06-02T00:00:00Z");
  EXPECT_EQ(j.str("/data/1/created_at"), "2024-06-03T00:00:00Z");
  std::string next = j.str("/next_after");
  EXPECT_EQ(next, j.str("/data/1/id"));
  HttpResponse rest = client().get("/v1/outbox?after=" + next, auth(p.key));
  Json k(rest.body);
  EXPECT_EQ(k.str("/data/0/created_at"), "2024-06-04T00:00:00Z");
  HttpResponse none = client().get("/v1/outbox?after=" + k.str("/next_after"), auth(p.key));
  EXPECT_EQ(none.body, R"({"data":[],"next_after":")" + k.str("/next_after") + R"("})");
  // Another program sees none of them.
  EXPECT_EQ(client().get("/v1/outbox", auth(other.key)).body, R"({"data":[],"next_after":null})");
}

TEST_F(ApiTest, OutboxRejectsBadParameters) {
  ProgramHandle p = create_program();
  for (const char* query : {"?after=mem_1", "?after=oev_0", "?limit=0", "?limit=201", "?x=1"}) {
    HttpResponse r = client().get(std::string("/v1/outbox") + query, auth(p.key));
    EXPECT_EQ(r.status, 400) << query << " " << r.body;
  }
  EXPECT_EQ(client().get("/v1/outbox?limit=200", auth(p.key)).status, 200);
}

}  // namespace
}  // namespace loyalty::testing
