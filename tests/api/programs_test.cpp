// Programs and API keys over HTTP.
#include "api/api_fixture.h"

namespace loyalty::testing {
namespace {

class ProgramsApi : public ApiTest {};

TEST_F(ProgramsApi, CreateReturnsProgramAndAllScopesKeyOnce) {
  HttpResponse r = client().post(
      "/v1/programs",
      R"({"name":"Coffee Club","currency":"EUR","timezone":"Europe/Berlin","points_name":"beans",)"
      R"("point_value":{"amount_minor":1,"points":10},"negative_balance":"allow",)"
      R"("transfers":{"enabled":false,"min_points":5,"max_points":500,"daily_limit_points":1000}})",
      auth(kAdminToken));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
  Json j(r.body);
  EXPECT_EQ(j.str("/program/id").substr(0, 4), "prg_");
  EXPECT_EQ(j.str("/program/name"), "Coffee Club");
  EXPECT_EQ(j.str("/program/currency"), "EUR");
  EXPECT_EQ(j.str("/program/timezone"), "Europe/Berlin");
  EXPECT_EQ(j.str("/program/points_name"), "beans");
  EXPECT_EQ(j.num("/program/point_value/amount_minor"), 1);
  EXPECT_EQ(j.num("/program/point_value/points"), 10);
  EXPECT_EQ(j.str("/program/negative_balance"), "allow");
  EXPECT_FALSE(j.boolean("/program/transfers/enabled"));
  EXPECT_EQ(j.num("/program/transfers/min_points"), 5);
  EXPECT_EQ(j.num("/program/transfers/max_points"), 500);
  EXPECT_EQ(j.num("/program/transfers/daily_limit_points"), 1000);
  EXPECT_EQ(j.str("/program/created_at"), "2024-06-01T00:00:00Z");
  EXPECT_EQ(j.str("/api_key/id").substr(0, 4), "key_");
  EXPECT_EQ(j.str("/api_key/secret").substr(0, 3), "lk_");
  EXPECT_EQ(j.size("/api_key/scopes"), 1u);
  EXPECT_EQ(j.str("/api_key/scopes/0"), "*");

  // The key works and reads its own program.
  std::string id = j.str("/program/id");
  HttpResponse get = client().get("/v1/programs/" + id, auth(j.str("/api_key/secret")));
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(Json(get.body).str("/name"), "Coffee Club");
}

TEST_F(ProgramsApi, CreateNeedsTheAdminToken) {
  std::string body = R"({"name":"X","currency":"USD","timezone":"UTC"})";
  HttpResponse none = client().post("/v1/programs", body);
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.header("www-authenticate").substr(0, 6), "Bearer");
  HttpResponse wrong = client().post("/v1/programs", body, auth("not-the-token"));
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(problem_slug(wrong), "unauthenticated");
}

TEST_F(ProgramsApi, PatchChangesSettingsButNotCurrency) {
  ProgramHandle p = create_program();
  clock_.advance(Duration::from_seconds(60));
  HttpResponse r = client().patch(
      "/v1/programs/" + p.id, R"({"name":"Renamed","transfers":{"max_points":100}})", auth(p.key));
  ASSERT_EQ(r.status, 200) << r.body;
  Json j(r.body);
  EXPECT_EQ(j.str("/name"), "Renamed");
  EXPECT_EQ(j.num("/transfers/max_points"), 100);
  EXPECT_EQ(j.str("/currency"), "USD");
  EXPECT_EQ(j.str("/updated_at"), "2024-06-01T00:01:00Z");

  HttpResponse currency =
      client().patch("/v1/programs/" + p.id, R"({"currency":"EUR"})", auth(p.key));
  EXPECT_EQ(currency.status, 400);
  Json problem(currency.body);
  EXPECT_EQ(problem.str("/errors/0/field"), "currency");
  EXPECT_EQ(Json(client().get("/v1/programs/" + p.id, auth(p.key)).body).str("/currency"), "USD");
}

TEST_F(ProgramsApi, CreateRejectsInvalidSettings) {
  struct Case {
    const char* body;
    const char* field;  // "" when the problem has no single field
  };
  const Case cases[] = {
      {R"({"currency":"USD","timezone":"UTC"})", "name"},
      {R"({"name":"X","currency":"US","timezone":"UTC"})", "currency"},
      {R"({"name":"X","currency":"USD","timezone":"UTC","points_name":5})", "points_name"},
      {R"({"name":"X","currency":"USD","timezone":"UTC","negative_balance":"sometimes"})",
       "negative_balance"},
      {R"({"name":"X","currency":"USD","timezone":"UTC","point_value":{"points":0}})",
       "point_value.points"},
      {R"({"name":"X","currency":"USD","timezone":"UTC","transfers":{"limit":1}})",
       "transfers.limit"},
      {R"({"name":"X","currency":"USD","timezone":"UTC","colour":"red"})", "colour"},
      {R"({"name":"X","currency":"XXX","timezone":"UTC"})", ""},
      {R"({"name":"X","currency":"USD","timezone":"Mars/Olympus"})", ""},
  };
  for (const Case& c : cases) {
    HttpResponse r = client().post("/v1/programs", c.body, auth(kAdminToken));
    EXPECT_EQ(r.status, 400) << c.body << " -> " << r.body;
    EXPECT_EQ(r.header("content-type"), "application/problem+json");
    if (*c.field != '\0') {
      EXPECT_EQ(Json(r.body).str("/errors/0/field"), c.field) << r.body;
    }
  }
}

class ProgramsApiWithoutAdminToken : public ApiTest {
 protected:
  std::string admin_token() const override { return ""; }
};

TEST_F(ProgramsApiWithoutAdminToken, CreateIsForbiddenAndSaysHowToEnableIt) {
  HttpResponse r = client().post(
      "/v1/programs", R"({"name":"X","currency":"USD","timezone":"UTC"})", auth("anything"));
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(Json(r.body).str("/detail").find("LOYALTYD_ADMIN_TOKEN"), std::string::npos);
}

TEST_F(ProgramsApi, ApiKeysAreCreatedListedAndRevoked) {
  ProgramHandle p = create_program();
  HttpResponse created = client().post(
      "/v1/api-keys", R"({"name":"pos","scopes":["members:read","ledger:write"]})", auth(p.key));
  ASSERT_EQ(created.status, 201) << created.body;
  Json key(created.body);
  std::string secret = key.str("/secret");
  std::string key_id = key.str("/id");
  EXPECT_EQ(key.str("/name"), "pos");
  EXPECT_EQ(key.size("/scopes"), 2u);
  EXPECT_TRUE(key.is_null("/revoked_at"));
  EXPECT_EQ(secret.substr(0, key.str("/prefix").size()), key.str("/prefix"));

  HttpResponse list = client().get("/v1/api-keys", auth(p.key));
  ASSERT_EQ(list.status, 200) << list.body;
  Json keys(list.body);
  ASSERT_EQ(keys.size("/data"), 2u);
  EXPECT_FALSE(keys.has("/data/0/secret"));
  EXPECT_FALSE(keys.has("/data/1/secret"));
  EXPECT_EQ(list.body.find(secret), std::string::npos);
  EXPECT_TRUE(keys.is_null("/next_cursor"));

  EXPECT_EQ(client().get("/v1/members", auth(secret)).status, 200);
  HttpResponse revoked = client().del("/v1/api-keys/" + key_id, auth(p.key));
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_EQ(Json(revoked.body).str("/revoked_at"), "2024-06-01T00:00:00Z");
  // Immediately unusable, even though it was cached a moment ago.
  HttpResponse after = client().get("/v1/members", auth(secret));
  EXPECT_EQ(after.status, 401);
  EXPECT_EQ(after.header("www-authenticate").substr(0, 6), "Bearer");
}

TEST_F(ProgramsApi, ApiKeyScopesAreValidated) {
  ProgramHandle p = create_program();
  EXPECT_EQ(client()
                .post("/v1/api-keys", R"({"name":"x","scopes":["members:delete"]})", auth(p.key))
                .status,
            400);
  EXPECT_EQ(client().post("/v1/api-keys", R"({"name":"x","scopes":[]})", auth(p.key)).status, 400);
  EXPECT_EQ(client().post("/v1/api-keys", R"({"name":"x","scopes":"*"})", auth(p.key)).status, 400);
  EXPECT_EQ(client().post("/v1/api-keys", R"({"name":"x","scopes":["*","*"]})", auth(p.key)).status,
            400);
  EXPECT_EQ(client().post("/v1/api-keys", R"({"scopes":["*"]})", auth(p.key)).status, 400);
}

}  // namespace
}  // namespace loyalty::testing
