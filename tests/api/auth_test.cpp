// Authentication, scopes, and object-level authorization (OWASP API1): a key
// of one program never reaches another program's resources.
#include "api/api_fixture.h"

namespace loyalty::testing {
namespace {

class AuthApi : public ApiTest {};

TEST_F(AuthApi, MissingMalformedAndUnknownKeysAre401) {
  ProgramHandle p = create_program();
  const Headers cases[] = {
      {},
      {{"Authorization", "Basic dXNlcjpwYXNz"}},
      {{"Authorization", "Bearer"}},
      {{"Authorization", "Bearer lk_notarealkey"}},
      {{"Authorization", "Bearer " + p.key + "x"}},
      {{"Authorization", "Bearer " + std::string(300, 'a')}},
  };
  for (const Headers& h : cases) {
    HttpResponse r = client().get("/v1/members", h);
    EXPECT_EQ(r.status, 401) << (h.empty() ? "" : h[0].second.substr(0, 40));
    EXPECT_EQ(r.header("www-authenticate").substr(0, 6), "Bearer");
    EXPECT_EQ(problem_slug(r), "unauthenticated");
  }
  // The scheme is case-insensitive.
  EXPECT_EQ(client().get("/v1/members", {{"Authorization", "bearer " + p.key}}).status, 200);
}

TEST_F(AuthApi, ScopesLimitWhatAKeyMayDo) {
  ProgramHandle p = create_program();
  std::string member = enroll(p, "m1");
  HttpResponse created = client().post(
      "/v1/api-keys", R"({"name":"reader","scopes":["members:read","ledger:read"]})", auth(p.key));
  ASSERT_EQ(created.status, 201);
  std::string reader = Json(created.body).str("/secret");

  EXPECT_EQ(client().get("/v1/members/" + member, auth(reader)).status, 200);
  EXPECT_EQ(client().get("/v1/members/" + member + "/balance", auth(reader)).status, 200);
  struct Case {
    const char* method;
    std::string target;
    std::string body;
  };
  const Case forbidden[] = {
      {"POST", "/v1/members", R"({"external_id":"m2","email":"m2@example.com"})"},
      {"POST", "/v1/members/" + member + "/credits", R"({"points":5})"},
      {"POST", "/v1/api-keys", R"({"name":"x","scopes":["*"]})"},
      {"GET", "/v1/api-keys", ""},
      {"GET", "/v1/programs/" + p.id, ""},
      {"PATCH", "/v1/programs/" + p.id, R"({"name":"x"})"},
      {"DELETE", "/v1/api-keys/" + p.key_id, ""},
  };
  for (const Case& c : forbidden) {
    HttpResponse r = client().request(c.method, c.target, c.body, auth(reader));
    EXPECT_EQ(r.status, 403) << c.method << " " << c.target << " -> " << r.body;
    EXPECT_EQ(problem_slug(r), "forbidden");
  }
  EXPECT_EQ(available(p, member), 0);
}

TEST_F(AuthApi, AnotherProgramsResourcesAreNotFound) {
  ProgramHandle a = create_program("A");
  ProgramHandle b = create_program("B");
  std::string b_member = enroll(b, "shared-external-id");
  HttpResponse credited = credit(b, b_member, 100);
  ASSERT_EQ(credited.status, 201);
  std::string b_posting = Json(credited.body).str("/id");
  std::string a_member = enroll(a, "a-member");
  ASSERT_EQ(credit(a, a_member, 100).status, 201);

  struct Case {
    const char* method;
    std::string target;
    std::string body;
  };
  const Case cases[] = {
      {"GET", "/v1/programs/" + b.id, ""},
      {"PATCH", "/v1/programs/" + b.id, R"({"name":"pwned"})"},
      {"DELETE", "/v1/api-keys/" + b.key_id, ""},
      {"GET", "/v1/members/" + b_member, ""},
      {"PATCH", "/v1/members/" + b_member, R"({"first_name":"pwned"})"},
      {"POST", "/v1/members/" + b_member + "/block", ""},
      {"POST", "/v1/members/" + b_member + "/unblock", ""},
      {"POST", "/v1/members/" + b_member + "/credits", R"({"points":5})"},
      {"POST", "/v1/members/" + b_member + "/debits", R"({"points":5})"},
      {"POST", "/v1/members/" + b_member + "/adjustments", R"({"points":5,"reason_code":"x"})"},
      {"POST", "/v1/transfers",
       R"({"from_member_id":")" + b_member + R"(","to_member_id":")" + a_member +
           R"(","points":5})"},
      {"POST", "/v1/transfers",
       R"({"from_member_id":")" + a_member + R"(","to_member_id":")" + b_member +
           R"(","points":5})"},
      {"GET", "/v1/postings/" + b_posting, ""},
      {"POST", "/v1/postings/" + b_posting + "/reversal", ""},
      {"GET", "/v1/members/" + b_member + "/postings", ""},
      {"GET", "/v1/members/" + b_member + "/lots", ""},
      {"GET", "/v1/members/" + b_member + "/balance", ""},
  };
  for (const Case& c : cases) {
    HttpResponse r = client().request(c.method, c.target, c.body, auth(a.key));
    EXPECT_EQ(r.status, 404) << c.method << " " << c.target << " -> " << r.body;
    EXPECT_EQ(r.body.find("pwned"), std::string::npos);
  }
  // Searches only ever see the key's own program.
  Json search(client().get("/v1/members?external_id=shared-external-id", auth(a.key)).body);
  EXPECT_EQ(search.size("/data"), 0u);
  Json all(client().get("/v1/members", auth(a.key)).body);
  ASSERT_EQ(all.size("/data"), 1u);
  EXPECT_EQ(all.str("/data/0/id"), a_member);
  Json keys(client().get("/v1/api-keys", auth(a.key)).body);
  ASSERT_EQ(keys.size("/data"), 1u);
  EXPECT_EQ(keys.str("/data/0/id"), a.key_id);

  // B's data is untouched.
  EXPECT_EQ(available(b, b_member), 100);
  EXPECT_EQ(available(a, a_member), 100);
  Json bm(client().get("/v1/members/" + b_member, auth(b.key)).body);
  EXPECT_EQ(bm.str("/status"), "active");
  EXPECT_EQ(bm.str("/first_name"), "");
  EXPECT_EQ(Json(client().get("/v1/programs/" + b.id, auth(b.key)).body).str("/name"), "B");
  EXPECT_EQ(client().get("/v1/members", auth(b.key)).status, 200);  // B's key not revoked
}

// A connection remembers the hash of the last key it presented (keep-alive
// clients send the same one every time): a connection that switches keys must
// still be authenticated and authorized per request, and a revoke applies to
// the very next request on the same connection.
TEST_F(AuthApi, OneConnectionSwitchingKeysIsCheckedPerRequest) {
  ProgramHandle a = create_program("A");
  ProgramHandle b = create_program("B");
  std::string member = enroll(a, "m1");
  HttpResponse created =
      client().post("/v1/api-keys", R"({"name":"reader","scopes":["members:read"]})", auth(a.key));
  ASSERT_EQ(created.status, 201);
  Json reader_json(created.body);
  std::string reader = reader_json.str("/secret");
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(client().get("/v1/members/" + member, auth(a.key)).status, 200);
    EXPECT_EQ(client().get("/v1/members/" + member, auth(b.key)).status, 404);
    EXPECT_EQ(client().get("/v1/members/" + member, auth(a.key + "x")).status, 401);
    EXPECT_EQ(client().get("/v1/members/" + member, auth(reader)).status, 200);
    EXPECT_EQ(
        client().post("/v1/members/" + member + "/credits", R"({"points":5})", auth(reader)).status,
        403);
    EXPECT_EQ(
        client().post("/v1/members/" + member + "/credits", R"({"points":5})", auth(a.key)).status,
        201);
  }
  EXPECT_EQ(available(a, member), 10);
  EXPECT_EQ(client().get("/v1/members/" + member, auth(reader)).status, 200);
  EXPECT_EQ(client().del("/v1/api-keys/" + reader_json.str("/id"), auth(a.key)).status, 200);
  EXPECT_EQ(client().get("/v1/members/" + member, auth(reader)).status, 401);
  EXPECT_EQ(client().get("/v1/members/" + member, auth(a.key)).status, 200);
}

}  // namespace
}  // namespace loyalty::testing
