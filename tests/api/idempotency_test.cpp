// Idempotency-Key: replays, mismatches, and concurrent duplicates.
#include <thread>

#include "api/api_fixture.h"

namespace loyalty::testing {
namespace {

class IdempotencyApi : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    program_ = create_program();
    member_ = enroll(program_, "m1");
  }
  ProgramHandle program_;
  std::string member_;
};

TEST_F(IdempotencyApi, ReplayReturnsTheFirstResponse) {
  std::string target = "/v1/members/" + member_ + "/credits";
  std::string body = R"({"points":10,"reason":"order 1"})";
  HttpResponse first = client().post(target, body, auth(program_.key, "order-1"));
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_EQ(first.header("idempotent-replayed"), "");
  clock_.advance(Duration::from_seconds(30));
  HttpResponse second = client().post(target, body, auth(program_.key, "order-1"));
  EXPECT_EQ(second.status, 201);
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(second.header("idempotent-replayed"), "true");
  EXPECT_EQ(available(program_, member_), 10);
}

TEST_F(IdempotencyApi, SameKeyWithAnotherBodyIs422) {
  std::string target = "/v1/members/" + member_ + "/credits";
  ASSERT_EQ(client().post(target, R"({"points":10})", auth(program_.key, "k")).status, 201);
  HttpResponse other = client().post(target, R"({"points":11})", auth(program_.key, "k"));
  EXPECT_EQ(other.status, 422) << other.body;
  EXPECT_EQ(problem_slug(other), "idempotency-key-reused");
  // Another path with the same key is another request too.
  HttpResponse debit = client().post("/v1/members/" + member_ + "/debits", R"({"points":10})",
                                     auth(program_.key, "k"));
  EXPECT_EQ(debit.status, 422) << debit.body;
  EXPECT_EQ(available(program_, member_), 10);
}

TEST_F(IdempotencyApi, FailedRequestsStoreNothing) {
  std::string target = "/v1/members/" + member_ + "/debits";
  HttpResponse refused = client().post(target, R"({"points":5})", auth(program_.key, "d1"));
  EXPECT_EQ(refused.status, 422);
  ASSERT_EQ(credit(program_, member_, 5).status, 201);
  HttpResponse retried = client().post(target, R"({"points":5})", auth(program_.key, "d1"));
  EXPECT_EQ(retried.status, 201) << retried.body;
  EXPECT_EQ(available(program_, member_), 0);
}

TEST_F(IdempotencyApi, KeysAreValidated) {
  std::string target = "/v1/members/" + member_ + "/credits";
  for (const std::string& key : {std::string(256, 'k'), std::string("tab\there")}) {
    HttpResponse r = client().post(target, R"({"points":1})", auth(program_.key, key));
    EXPECT_EQ(r.status, 400) << r.body;
  }
  EXPECT_EQ(
      client().post(target, R"({"points":1})", auth(program_.key, std::string(255, 'k'))).status,
      201);
}

TEST_F(IdempotencyApi, EnrollmentReplaysAndKeysAreScopedToTheProgram) {
  std::string body = R"({"external_id":"x1","email":"x1@example.com"})";
  HttpResponse first = client().post("/v1/members", body, auth(program_.key, "enroll-x1"));
  ASSERT_EQ(first.status, 201);
  HttpResponse replay = client().post("/v1/members", body, auth(program_.key, "enroll-x1"));
  EXPECT_EQ(replay.status, 201);
  EXPECT_EQ(replay.body, first.body);
  // The same key in another program is another key.
  ProgramHandle other = create_program("Other");
  HttpResponse elsewhere = client().post("/v1/members", body, auth(other.key, "enroll-x1"));
  EXPECT_EQ(elsewhere.status, 201);
  EXPECT_EQ(elsewhere.header("idempotent-replayed"), "");
  EXPECT_NE(Json(elsewhere.body).str("/id"), Json(first.body).str("/id"));
}

TEST_F(IdempotencyApi, ApiKeySecretIsNotReplayed) {
  std::string body = R"({"name":"pos","scopes":["*"]})";
  HttpResponse first = client().post("/v1/api-keys", body, auth(program_.key, "key-1"));
  ASSERT_EQ(first.status, 201);
  EXPECT_TRUE(Json(first.body).has("/secret"));
  HttpResponse replay = client().post("/v1/api-keys", body, auth(program_.key, "key-1"));
  EXPECT_EQ(replay.status, 201);
  EXPECT_EQ(replay.header("idempotent-replayed"), "true");
  EXPECT_FALSE(Json(replay.body).has("/secret"));
  EXPECT_EQ(Json(replay.body).str("/id"), Json(first.body).str("/id"));
}

TEST_F(IdempotencyApi, ConcurrentDuplicatesExecuteOnce) {
  constexpr int kThreads = 16;
  std::string target = "/v1/members/" + member_ + "/credits";
  std::string body = R"({"points":7,"reason":"once"})";
  std::vector<HttpResponse> responses(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      HttpClient c("127.0.0.1", server_->port());
      responses[i] = c.post(target, body, auth(program_.key, "same-key"));
    });
  }
  for (auto& t : threads) t.join();
  int replayed = 0;
  for (const HttpResponse& r : responses) {
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.body, responses[0].body);
    replayed += r.header("idempotent-replayed") == "true";
  }
  EXPECT_EQ(replayed, kThreads - 1);
  EXPECT_EQ(available(program_, member_), 7);
  Json history(client().get("/v1/members/" + member_ + "/postings", auth(program_.key)).body);
  EXPECT_EQ(history.size("/data"), 1u);
}

}  // namespace
}  // namespace loyalty::testing
