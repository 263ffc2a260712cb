// Custom events and the signup bonus over HTTP (POST /v1/events,
// GET /v1/members/{id}/events, POST /v1/members): docs/earning.md.
#include <gtest/gtest.h>

#include <string>

#include "api/api_fixture.h"

namespace loyalty::testing {
namespace {

// A program whose configuration rewards reviews (once per product), newsletter
// signups and enrollment.
constexpr const char* kConfig = R"({
  "earn_rules": [
    {"id": "review", "name": "Product review", "trigger": "event",
     "event_type": "review_written", "kind": "fixed", "points": 50,
     "member_cap": {"period": "lifetime", "max_awards": 1,
                    "distinct_by": "event.attributes.product_id"}},
    {"id": "newsletter", "name": "Newsletter", "trigger": "event",
     "event_type": "newsletter_signup", "kind": "fixed", "points": 20},
    {"id": "welcome", "name": "Welcome bonus", "trigger": "signup", "kind": "fixed",
     "points": 100}
  ]
})";

class EventsApi : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    program_ = create_program();
    put_config(program_, kConfig);
    member_ = enroll(program_, "cust-1");
  }

  HttpResponse post_event(const std::string& body) {
    return client().post("/v1/events", body, auth(program_.key));
  }
  std::string review(const std::string& id, const std::string& product,
                     const std::string& member = "") {
    return R"({"id":")" + id + R"(","member_id":")" + (member.empty() ? member_ : member) +
           R"(","type":"review_written","attributes":{"product_id":")" + product +
           R"(","rating":5}})";
  }

  ProgramHandle program_;
  std::string member_;
};

TEST_F(EventsApi, SignupBonusIsCreditedAtEnrollment) {
  EXPECT_EQ(available(program_, member_), 100);
  Json postings(client().get("/v1/members/" + member_ + "/postings", auth(program_.key)).body);
  ASSERT_EQ(postings.size("/data"), 1u);
  EXPECT_EQ(postings.str("/data/0/source"), "signup");
  EXPECT_EQ(postings.str("/data/0/reason"), "Welcome bonus");
}

TEST_F(EventsApi, EventAwardsItsRulePointsWithAnExplanation) {
  HttpResponse r = post_event(review("evt-1", "p1"));
  ASSERT_EQ(r.status, 201) << r.body;
  Json j(r.body);
  EXPECT_EQ(j.str("/external_id"), "evt-1");
  EXPECT_EQ(j.str("/member_id"), member_);
  EXPECT_EQ(j.str("/type"), "review_written");
  EXPECT_EQ(j.str("/attributes/product_id"), "p1");
  EXPECT_EQ(j.str("/attributes/rating"), "5");
  EXPECT_EQ(j.num("/points"), 50);
  EXPECT_EQ(j.str("/awards/0/rule_id"), "review");
  EXPECT_EQ(j.num("/awards/0/points"), 50);
  EXPECT_EQ(j.str("/rules/0/outcome"), "awarded");
  EXPECT_EQ(available(program_, member_), 150);

  Json posting(
      client().get("/v1/postings/" + j.str("/awards/0/posting_id"), auth(program_.key)).body);
  EXPECT_EQ(posting.str("/source"), "event");
  EXPECT_EQ(posting.str("/reason"), "Product review");
}

TEST_F(EventsApi, ReplayReturnsTheFirstResultAndAnotherBodyIsRefused) {
  HttpResponse first = post_event(review("evt-1", "p1"));
  ASSERT_EQ(first.status, 201) << first.body;
  HttpResponse again = post_event(review("evt-1", "p1"));
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(again.header("idempotent-replayed"), "true");
  EXPECT_EQ(available(program_, member_), 150);

  HttpResponse other = post_event(review("evt-1", "p2"));
  EXPECT_EQ(other.status, 422) << other.body;
  EXPECT_EQ(problem_slug(other), "idempotency-key-reused");
  EXPECT_EQ(available(program_, member_), 150);
}

TEST_F(EventsApi, CapReachedRecordsTheEventWithZeroPointsAndTheReason) {
  ASSERT_EQ(post_event(review("evt-1", "p1")).status, 201);
  HttpResponse same_product = post_event(review("evt-2", "p1"));
  ASSERT_EQ(same_product.status, 201) << same_product.body;
  Json j(same_product.body);
  EXPECT_EQ(j.num("/points"), 0);
  EXPECT_EQ(j.size("/awards"), 0u);
  EXPECT_EQ(j.str("/rules/0/rule_id"), "review");
  EXPECT_EQ(j.str("/rules/0/outcome"), "member_cap_reached");
  // Another product is rewarded again.
  EXPECT_EQ(Json(post_event(review("evt-3", "p2")).body).num("/points"), 50);
  EXPECT_EQ(available(program_, member_), 200);

  Json list(client().get("/v1/members/" + member_ + "/events", auth(program_.key)).body);
  ASSERT_EQ(list.size("/data"), 3u);
  EXPECT_EQ(list.str("/data/0/external_id"), "evt-3");  // newest first
  EXPECT_EQ(list.num("/data/1/points"), 0);
}

TEST_F(EventsApi, MemberByExternalId) {
  HttpResponse r =
      post_event(R"({"id":"n-1","member_external_id":"cust-1","type":"newsletter_signup"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(Json(r.body).num("/points"), 20);
  EXPECT_EQ(Json(r.body).str("/member_id"), member_);
}

TEST_F(EventsApi, BadEventsAreRefusedWithoutAnyWrite) {
  ProgramHandle other = create_program("Other");
  std::string stranger = enroll(other, "cust-x");
  ASSERT_EQ(client().post("/v1/members/" + member_ + "/block", "", auth(program_.key)).status, 200);
  std::string active = enroll(program_, "cust-2");
  struct Case {
    const char* name;
    std::string body;
    int status;
    const char* slug;
  };
  const std::vector<Case> cases = {
      {"unknown type", R"({"id":"e1","member_id":")" + active + R"(","type":"app_install"})", 422,
       "unknown-event-type"},
      {"unknown member", review("e2", "p1", "mem_999999"), 404, "not-found"},
      {"another program's member", review("e3", "p1", stranger), 404, "not-found"},
      {"blocked member", review("e4", "p1", member_), 422, "member-blocked"},
      {"both member fields",
       R"({"id":"e5","member_id":")" + active +
           R"(","member_external_id":"cust-2","type":"review_written"})",
       400, "invalid-request"},
      {"unknown field", R"({"id":"e6","member_id":")" + active + R"(","type":"x","extra":1})", 400,
       "invalid-request"},
      {"bad type characters", R"({"id":"e7","member_id":")" + active + R"(","type":"Review"})", 400,
       "invalid-request"},
      {"fractional attribute",
       R"({"id":"e8","member_id":")" + active +
           R"(","type":"review_written","attributes":{"r":4.5}})",
       400, "invalid-request"},
      {"in the future",
       R"({"id":"e9","member_id":")" + active +
           R"(","type":"review_written","occurred_at":"2030-01-01T00:00:00Z"})",
       400, "invalid-request"},
  };
  for (const Case& c : cases) {
    HttpResponse r = post_event(c.body);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    EXPECT_EQ(problem_slug(r), c.slug) << c.name;
  }
  EXPECT_EQ(available(program_, active), 100);  // the signup bonus only
  Json list(client().get("/v1/members/" + active + "/events", auth(program_.key)).body);
  EXPECT_EQ(list.size("/data"), 0u);
  // Another program's key cannot list this program's member events.
  EXPECT_EQ(client().get("/v1/members/" + member_ + "/events", auth(other.key)).status, 404);
}

}  // namespace
}  // namespace loyalty::testing
