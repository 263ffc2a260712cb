// Program configuration over HTTP: versions stored by PUT, read by GET,
// checked by :validate; precise errors; an invalid document never replaces a
// valid one; postings record the active version.
#include <gtest/gtest.h>

#include <string>

#include "api/api_fixture.h"
#include "domain/program_config.h"

namespace loyalty::testing {
namespace {

constexpr const char* kYamlV1 = R"(earning:
  return_window_days: 14
expiry:
  mode: after_earn
  months: 12
earn_rules:
  - id: base-spend
    trigger: order
    kind: spend
    points_per_unit: 1
)";

constexpr const char* kJsonV2 = R"({"earning": {"return_window_days": 30},
 "earn_rules": [{"id": "signup", "trigger": "signup", "kind": "fixed", "points": 100}]})";

constexpr const char* kInvalid = R"(earning:
  return_window_days: 400
earn_rules:
  - id: bad
    trigger: order
    kind: fixed
    points: 5
    condition: "order.total + 1"
)";

class ConfigApiTest : public ApiTest {
 protected:
  static Headers yaml(const std::string& key) {
    return {{"Authorization", "Bearer " + key}, {"Content-Type", "application/yaml"}};
  }
  HttpResponse put(const ProgramHandle& p, const std::string& doc, const Headers& headers) {
    return client().request("PUT", "/v1/programs/" + p.id + "/config", doc, headers);
  }
  HttpResponse put_yaml(const ProgramHandle& p, const std::string& doc) {
    return put(p, doc, yaml(p.key));
  }
};

TEST_F(ConfigApiTest, PutStoresVersionOneAndGetReturnsIt) {
  ProgramHandle p = create_program();
  HttpResponse r = put_yaml(p, kYamlV1);
  ASSERT_EQ(r.status, 201) << r.body;
  Json created(r.body);
  EXPECT_EQ(created.num("/version"), 1);
  EXPECT_EQ(created.str("/format"), "yaml");
  EXPECT_EQ(created.str("/actor"), p.key_id);
  EXPECT_EQ(created.str("/created_at"), "2024-06-01T00:00:00Z");
  EXPECT_EQ(created.str("/document"), kYamlV1);
  EXPECT_EQ(created.num("/config/earning/return_window_days"), 14);
  EXPECT_EQ(created.str("/config/earn_rules/0/id"), "base-spend");

  HttpResponse got = client().get("/v1/programs/" + p.id + "/config", auth(p.key));
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body, r.body);
}

TEST_F(ConfigApiTest, EachPutIsANewVersionAndOldOnesStayReadable) {
  ProgramHandle p = create_program();
  ASSERT_EQ(put_yaml(p, kYamlV1).status, 201);
  clock_.advance(Duration::from_seconds(60));
  HttpResponse r = put(p, kJsonV2, auth(p.key));  // application/json by default
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(Json(r.body).num("/version"), 2);
  EXPECT_EQ(Json(r.body).str("/format"), "json");

  Json latest(client().get("/v1/programs/" + p.id + "/config", auth(p.key)).body);
  EXPECT_EQ(latest.num("/version"), 2);
  EXPECT_EQ(latest.str("/config/earn_rules/0/id"), "signup");
  Json first(client().get("/v1/programs/" + p.id + "/config?version=1", auth(p.key)).body);
  EXPECT_EQ(first.num("/version"), 1);
  EXPECT_EQ(first.str("/document"), kYamlV1);

  HttpResponse versions = client().get("/v1/programs/" + p.id + "/config/versions", auth(p.key));
  ASSERT_EQ(versions.status, 200) << versions.body;
  Json list(versions.body);
  ASSERT_EQ(list.size("/data"), 2u);
  EXPECT_EQ(list.num("/data/0/version"), 2);
  EXPECT_EQ(list.str("/data/0/created_at"), "2024-06-01T00:01:00Z");
  EXPECT_EQ(list.str("/data/0/format"), "json");
  EXPECT_EQ(list.num("/data/1/version"), 1);
  EXPECT_EQ(list.str("/data/1/actor"), p.key_id);
  EXPECT_TRUE(list.is_null("/next_cursor"));
}

TEST_F(ConfigApiTest, VersionsArePaged) {
  ProgramHandle p = create_program();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(put_yaml(p, kYamlV1).status, 201);
  Json page(client().get("/v1/programs/" + p.id + "/config/versions?limit=2", auth(p.key)).body);
  ASSERT_EQ(page.size("/data"), 2u);
  std::string cursor = page.str("/next_cursor");
  Json rest(
      client()
          .get("/v1/programs/" + p.id + "/config/versions?limit=2&cursor=" + cursor, auth(p.key))
          .body);
  ASSERT_EQ(rest.size("/data"), 1u);
  EXPECT_EQ(rest.num("/data/0/version"), 1);
}

TEST_F(ConfigApiTest, InvalidDocumentIs422WithEveryErrorAndNeverReplacesTheValidOne) {
  ProgramHandle p = create_program();
  ASSERT_EQ(put_yaml(p, kYamlV1).status, 201);
  HttpResponse r = put_yaml(p, kInvalid);
  ASSERT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(problem_slug(r), "invalid-config");
  Json problem(r.body);
  EXPECT_EQ(problem.str("/detail"), "the configuration document has 2 errors");
  ASSERT_EQ(problem.size("/errors"), 2u);
  EXPECT_EQ(problem.str("/errors/0/path"), "earning.return_window_days");
  EXPECT_EQ(problem.num("/errors/0/line"), 2);
  EXPECT_EQ(problem.num("/errors/0/column"), 23);
  EXPECT_EQ(problem.str("/errors/0/message"), "expected an integer from 0 to 365, got 400");
  EXPECT_EQ(problem.str("/errors/1/path"), "earn_rules[0].condition");
  EXPECT_EQ(problem.num("/errors/1/line"), 8);
  EXPECT_GE(problem.num("/errors/1/column"), 17);
  EXPECT_FALSE(problem.str("/errors/1/message").empty());

  Json current(client().get("/v1/programs/" + p.id + "/config", auth(p.key)).body);
  EXPECT_EQ(current.num("/version"), 1);
  // The failed attempt took no version number.
  EXPECT_EQ(Json(put(p, kJsonV2, auth(p.key)).body).num("/version"), 2);
}

TEST_F(ConfigApiTest, ValidateChecksWithoutStoring) {
  ProgramHandle p = create_program();
  HttpResponse ok =
      client().post("/v1/programs/" + p.id + "/config:validate", kYamlV1, yaml(p.key));
  ASSERT_EQ(ok.status, 200) << ok.body;
  Json summary(ok.body);
  EXPECT_TRUE(summary.boolean("/valid"));
  EXPECT_EQ(summary.num("/earn_rules"), 1);
  EXPECT_EQ(summary.str("/expiry_mode"), "after_earn");
  EXPECT_EQ(summary.num("/config/expiry/months"), 12);

  HttpResponse bad =
      client().post("/v1/programs/" + p.id + "/config:validate", kInvalid, yaml(p.key));
  ASSERT_EQ(bad.status, 422) << bad.body;
  EXPECT_EQ(problem_slug(bad), "invalid-config");
  EXPECT_EQ(Json(bad.body).size("/errors"), 2u);

  EXPECT_EQ(client().get("/v1/programs/" + p.id + "/config", auth(p.key)).status, 404)
      << "validate stores nothing";
}

TEST_F(ConfigApiTest, YamlAndJsonContentTypesAreAcceptedOthersAre415) {
  ProgramHandle p = create_program();
  for (const char* type : {"application/yaml", "text/yaml", "application/x-yaml",
                           "application/json; charset=utf-8", "TEXT/YAML; charset=utf-8"}) {
    HttpResponse r =
        put(p, kYamlV1, {{"Authorization", "Bearer " + p.key}, {"Content-Type", type}});
    EXPECT_EQ(r.status, 201) << type << ": " << r.body;
  }
  HttpResponse r =
      put(p, kYamlV1, {{"Authorization", "Bearer " + p.key}, {"Content-Type", "text/plain"}});
  EXPECT_EQ(r.status, 415) << r.body;
  EXPECT_EQ(problem_slug(r), "unsupported-media-type");
  // Other write routes still take JSON only.
  HttpResponse member =
      client().post("/v1/members", R"({"external_id":"x"})",
                    {{"Authorization", "Bearer " + p.key}, {"Content-Type", "application/yaml"}});
  EXPECT_EQ(member.status, 415) << member.body;
}

TEST_F(ConfigApiTest, DocumentsUpToTheLimitAreReadLargerOnesAre413) {
  ProgramHandle p = create_program();
  std::string doc = "earning: {}\n";
  doc += std::string(kMaxConfigDocumentBytes - doc.size() - 1, '#') + "\n";
  ASSERT_EQ(doc.size(), kMaxConfigDocumentBytes);
  HttpResponse at_limit = put_yaml(p, doc);
  EXPECT_EQ(at_limit.status, 201) << at_limit.body.substr(0, 300);
  HttpResponse over = put_yaml(p, doc + "\n");
  EXPECT_EQ(over.status, 413) << over.body;
  EXPECT_EQ(problem_slug(over), "payload-too-large");
  // The larger limit is for configuration documents only.
  HttpResponse member = client().post("/v1/members", std::string(70'000, ' '), auth(p.key));
  EXPECT_EQ(member.status, 413);
}

TEST_F(ConfigApiTest, AnotherProgramsConfigIs404) {
  ProgramHandle a = create_program("A");
  ProgramHandle b = create_program("B");
  ASSERT_EQ(put_yaml(a, kYamlV1).status, 201);
  const std::string base = "/v1/programs/" + a.id + "/config";
  EXPECT_EQ(client().get(base, auth(b.key)).status, 404);
  EXPECT_EQ(client().get(base + "?version=1", auth(b.key)).status, 404);
  EXPECT_EQ(client().get(base + "/versions", auth(b.key)).status, 404);
  EXPECT_EQ(put_yaml(ProgramHandle{a.id, b.key, b.key_id}, kJsonV2).status, 404);
  EXPECT_EQ(client().post(base + ":validate", kYamlV1, yaml(b.key)).status, 404);
  EXPECT_EQ(Json(client().get(base, auth(a.key)).body).num("/version"), 1);
  EXPECT_EQ(client().get("/v1/programs/" + b.id + "/config", auth(b.key)).status, 404)
      << "B has no configuration";
}

TEST_F(ConfigApiTest, UnknownVersionIs404AndAMalformedOneIs400) {
  ProgramHandle p = create_program();
  ASSERT_EQ(put_yaml(p, kYamlV1).status, 201);
  EXPECT_EQ(client().get("/v1/programs/" + p.id + "/config?version=2", auth(p.key)).status, 404);
  for (const char* v : {"0", "-1", "x", "1.5", ""}) {
    HttpResponse r = client().get("/v1/programs/" + p.id + "/config?version=" + v, auth(p.key));
    EXPECT_EQ(r.status, 400) << v << ": " << r.body;
  }
}

TEST_F(ConfigApiTest, ScopesArePutNeedsProgramWriteReadsNeedProgramRead) {
  ProgramHandle p = create_program();
  HttpResponse k =
      client().post("/v1/api-keys", R"({"name":"reader","scopes":["program:read"]})", auth(p.key));
  ASSERT_EQ(k.status, 201) << k.body;
  std::string reader = Json(k.body).str("/secret");
  EXPECT_EQ(put(p, kYamlV1, yaml(reader)).status, 403);
  ASSERT_EQ(put_yaml(p, kYamlV1).status, 201);
  EXPECT_EQ(client().get("/v1/programs/" + p.id + "/config", auth(reader)).status, 200);
  EXPECT_EQ(
      client().post("/v1/programs/" + p.id + "/config:validate", kYamlV1, yaml(reader)).status,
      200);
}

TEST_F(ConfigApiTest, IdempotencyKeyReplaysThePut) {
  ProgramHandle p = create_program();
  Headers h = yaml(p.key);
  h.emplace_back("Idempotency-Key", "config-1");
  HttpResponse first = put(p, kYamlV1, h);
  ASSERT_EQ(first.status, 201) << first.body;
  HttpResponse again = put(p, kYamlV1, h);
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(again.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(again.body, first.body);
  Json list(client().get("/v1/programs/" + p.id + "/config/versions", auth(p.key)).body);
  EXPECT_EQ(list.size("/data"), 1u) << "a replay stores no second version";
  HttpResponse other = put(p, kJsonV2, h);
  EXPECT_EQ(other.status, 422);
  EXPECT_EQ(problem_slug(other), "idempotency-key-reused");
}

TEST_F(ConfigApiTest, PostingsRecordTheActiveConfigVersion) {
  ProgramHandle p = create_program();
  std::string member = enroll(p, "m1");
  HttpResponse before = credit(p, member, 10);
  ASSERT_EQ(before.status, 201) << before.body;
  EXPECT_FALSE(Json(before.body).has("/config_version")) << "no configuration yet";
  ASSERT_EQ(put_yaml(p, kYamlV1).status, 201);
  HttpResponse v1 = credit(p, member, 10);
  EXPECT_EQ(Json(v1.body).num("/config_version"), 1) << v1.body;
  ASSERT_EQ(put(p, kJsonV2, auth(p.key)).status, 201);
  HttpResponse v2 = credit(p, member, 10);
  EXPECT_EQ(Json(v2.body).num("/config_version"), 2) << v2.body;
  // And as stored: read back.
  std::string id = Json(v2.body).str("/id");
  EXPECT_EQ(Json(client().get("/v1/postings/" + id, auth(p.key)).body).num("/config_version"), 2);
}

TEST_F(ConfigApiTest, TheSchemaIsServed) {
  HttpResponse r = client().get("/schemas/program-config.json");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Content-Type"), "application/schema+json");
  Json schema(r.body);
  EXPECT_EQ(schema.str("/$schema"), "https://json-schema.org/draft/2020-12/schema");
  EXPECT_TRUE(schema.has("/$defs/earn_rule/properties/condition"));
}

}  // namespace
}  // namespace loyalty::testing
