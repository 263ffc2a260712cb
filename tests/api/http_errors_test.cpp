// Transport-level errors: malformed JSON, content types, sizes, routes, methods.
#include "api/api_fixture.h"

namespace loyalty::testing {
namespace {

class HttpErrors : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    program_ = create_program();
    member_ = enroll(program_, "m1");
  }
  ProgramHandle program_;
  std::string member_;
};

TEST_F(HttpErrors, MalformedJsonIs400) {
  std::string target = "/v1/members/" + member_ + "/credits";
  for (const char* body : {"{", "{\"points\":}", "[1,2]", "\"points\"", "{\"points\":10} x",
                           "{\"points\":10,}", "{'points':10}", "\xff\xfe", "null"}) {
    HttpResponse r = client().post(target, body, auth(program_.key));
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
    EXPECT_EQ(r.header("content-type"), "application/problem+json");
    Json problem(r.body);
    EXPECT_EQ(problem.str("/type"), "/problems/invalid-request");
    EXPECT_EQ(problem.str("/title"), "Invalid request");
    EXPECT_EQ(problem.num("/status"), 400);
    EXPECT_EQ(problem.str("/instance"), target);
  }
  HttpResponse dup = client().post(target, R"({"points":1,"points":2})", auth(program_.key));
  EXPECT_EQ(dup.status, 400);
  EXPECT_EQ(Json(dup.body).str("/errors/0/field"), "points");
  std::string deep = std::string(100, '[') + std::string(100, ']');
  EXPECT_EQ(client().post(target, deep, auth(program_.key)).status, 400);
  EXPECT_EQ(available(program_, member_), 0);
}

TEST_F(HttpErrors, UnknownFieldIsNamed) {
  HttpResponse r = client().post("/v1/members/" + member_ + "/credits",
                                 R"({"points":10,"pionts":10})", auth(program_.key));
  ASSERT_EQ(r.status, 400);
  Json problem(r.body);
  EXPECT_EQ(problem.str("/errors/0/field"), "pionts");
  EXPECT_EQ(problem.str("/errors/0/message"), "unknown field");
  EXPECT_EQ(problem.str("/detail"), "pionts: unknown field");
}

TEST_F(HttpErrors, WrongTypeIsNamed) {
  HttpResponse r =
      client().post("/v1/members/" + member_ + "/debits", R"({"points":true})", auth(program_.key));
  ASSERT_EQ(r.status, 400);
  EXPECT_EQ(Json(r.body).str("/errors/0/field"), "points");
  EXPECT_EQ(Json(r.body).str("/errors/0/message"), "must be an integer, not a boolean");
}

TEST_F(HttpErrors, WriteBodiesMustBeJson) {
  std::string target = "/v1/members/" + member_ + "/credits";
  Headers h = auth(program_.key);
  h.emplace_back("Content-Type", "text/plain");
  HttpResponse r = client().post(target, R"({"points":10})", h);
  EXPECT_EQ(r.status, 415) << r.body;
  EXPECT_EQ(problem_slug(r), "unsupported-media-type");
  Headers charset = auth(program_.key);
  charset.emplace_back("Content-Type", "Application/JSON; charset=utf-8");
  EXPECT_EQ(client().post(target, R"({"points":10})", charset).status, 201);
}

TEST_F(HttpErrors, OversizedBodyIs413) {
  std::string body = R"({"points":10,"reason":")" + std::string(70 * 1024, 'x') + R"("})";
  HttpResponse r = client().post("/v1/members/" + member_ + "/credits", body, auth(program_.key));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(problem_slug(r), "payload-too-large");
  // The server closed that connection; a new one works.
  EXPECT_EQ(available(program_, member_), 0);
}

TEST_F(HttpErrors, UnknownRoutesAndMethods) {
  HttpResponse missing = client().get("/v1/nothing", auth(program_.key));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(problem_slug(missing), "not-found");
  EXPECT_EQ(client().get("/v1/members/", auth(program_.key)).status, 404);
  HttpResponse method = client().del("/v1/members/" + member_, auth(program_.key));
  EXPECT_EQ(method.status, 405);
  EXPECT_EQ(method.header("allow"), "GET, PATCH");
  EXPECT_EQ(problem_slug(method), "method-not-allowed");
  EXPECT_EQ(client().request("PUT", "/v1/members", "{}", auth(program_.key)).header("allow"),
            "POST, GET");
}

TEST_F(HttpErrors, MalformedHttpIs400) {
  HttpClient raw("127.0.0.1", server_->port());
  HttpResponse r = raw.raw("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n");
  EXPECT_EQ(r.status, 400);
}

TEST_F(HttpErrors, RequestIdIsEchoedOrGenerated) {
  HttpResponse generated = client().get("/healthz");
  EXPECT_FALSE(generated.header("x-request-id").empty());
  HttpResponse echoed = client().get("/healthz", {{"X-Request-Id", "abc-123"}});
  EXPECT_EQ(echoed.header("x-request-id"), "abc-123");
  HttpResponse replaced = client().get("/healthz", {{"X-Request-Id", "bad id with spaces"}});
  EXPECT_NE(replaced.header("x-request-id"), "bad id with spaces");
  EXPECT_FALSE(replaced.header("x-request-id").empty());
}

}  // namespace
}  // namespace loyalty::testing
