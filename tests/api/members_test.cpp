// Members over HTTP: enroll, read, search, paginate, update, block.
#include <set>

#include "api/api_fixture.h"

namespace loyalty::testing {
namespace {

class MembersApi : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    program_ = create_program();
  }
  ProgramHandle program_;
};

TEST_F(MembersApi, EnrollWithEveryFieldAndReadBack) {
  HttpResponse r = client().post(
      "/v1/members",
      R"({"external_id":"cust-1","email":"Ada@Example.COM","first_name":"Ada","last_name":"Lovelace",)"
      R"("birthday":"1990-12-10","attributes":{"tier":"gold","visits":12,"vip":true,"ratio":0.5,"note":null},)"
      R"("marketing_consent":{"email":true,"sms":false}})",
      auth(program_.key));
  ASSERT_EQ(r.status, 201) << r.body;
  Json m(r.body);
  std::string id = m.str("/id");
  EXPECT_EQ(id.substr(0, 4), "mem_");
  EXPECT_EQ(m.str("/external_id"), "cust-1");
  EXPECT_EQ(m.str("/email"), "ada@example.com");
  EXPECT_EQ(m.str("/first_name"), "Ada");
  EXPECT_EQ(m.str("/last_name"), "Lovelace");
  EXPECT_EQ(m.str("/birthday"), "1990-12-10");
  EXPECT_EQ(m.str("/status"), "active");
  EXPECT_TRUE(m.boolean("/marketing_consent/email"));
  EXPECT_FALSE(m.boolean("/marketing_consent/sms"));
  EXPECT_TRUE(m.is_null("/marketing_consent/push"));
  EXPECT_EQ(m.str("/created_at"), "2024-06-01T00:00:00Z");
  // Attributes are stored canonically: keys sorted, no whitespace.
  EXPECT_NE(
      r.body.find(R"("attributes":{"note":null,"ratio":0.5,"tier":"gold","vip":true,"visits":12})"),
      std::string::npos)
      << r.body;

  HttpResponse get = client().get("/v1/members/" + id, auth(program_.key));
  ASSERT_EQ(get.status, 200) << get.body;
  Json g(get.body);
  EXPECT_EQ(g.str("/external_id"), "cust-1");
  EXPECT_EQ(g.num("/balance/available"), 0);
  EXPECT_EQ(g.str("/balance/points_value/currency"), "USD");

  HttpResponse by_external = client().get("/v1/members?external_id=cust-1", auth(program_.key));
  ASSERT_EQ(by_external.status, 200) << by_external.body;
  Json list(by_external.body);
  ASSERT_EQ(list.size("/data"), 1u);
  EXPECT_EQ(list.str("/data/0/id"), id);
  EXPECT_TRUE(list.is_null("/next_cursor"));
  EXPECT_EQ(
      Json(client().get("/v1/members?external_id=nobody", auth(program_.key)).body).size("/data"),
      0u);
}

TEST_F(MembersApi, DuplicateExternalIdIsConflict) {
  enroll(program_, "dup");
  HttpResponse r = client().post("/v1/members", R"({"external_id":"dup","email":"x@example.com"})",
                                 auth(program_.key));
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(problem_slug(r), "conflict");
}

TEST_F(MembersApi, SearchByEmailAndStatus) {
  std::string a = enroll(program_, "a", "shared@example.com");
  std::string b = enroll(program_, "b", "other@example.com");
  std::string c = enroll(program_, "c", "shared@example.com");
  ASSERT_EQ(client().post("/v1/members/" + c + "/block", "", auth(program_.key)).status, 200);

  Json by_email(client().get("/v1/members?email=SHARED%40example.com", auth(program_.key)).body);
  ASSERT_EQ(by_email.size("/data"), 2u);
  EXPECT_EQ(by_email.str("/data/0/id"), a);
  EXPECT_EQ(by_email.str("/data/1/id"), c);

  Json blocked(client().get("/v1/members?status=blocked", auth(program_.key)).body);
  ASSERT_EQ(blocked.size("/data"), 1u);
  EXPECT_EQ(blocked.str("/data/0/id"), c);
  Json active(client()
                  .get("/v1/members?status=active&email=shared%40example.com", auth(program_.key))
                  .body);
  ASSERT_EQ(active.size("/data"), 1u);
  EXPECT_EQ(active.str("/data/0/id"), a);
  (void)b;

  EXPECT_EQ(client().get("/v1/members?status=gone", auth(program_.key)).status, 400);
  EXPECT_EQ(client().get("/v1/members?email=not-an-email", auth(program_.key)).status, 400);
  EXPECT_EQ(client().get("/v1/members?colour=red", auth(program_.key)).status, 400);
}

TEST_F(MembersApi, CursorWalksEveryMemberExactlyOnce) {
  constexpr int kMembers = 23;
  std::set<std::string> enrolled;
  for (int i = 0; i < kMembers; ++i) enrolled.insert(enroll(program_, "m" + std::to_string(i)));
  std::set<std::string> seen;
  std::string cursor;
  int pages = 0;
  while (true) {
    std::string target = "/v1/members?limit=5" + (cursor.empty() ? "" : "&cursor=" + cursor);
    HttpResponse r = client().get(target, auth(program_.key));
    ASSERT_EQ(r.status, 200) << r.body;
    Json page(r.body);
    ++pages;
    for (size_t i = 0; i < page.size("/data"); ++i) {
      EXPECT_TRUE(seen.insert(page.str("/data/" + std::to_string(i) + "/id")).second);
    }
    if (page.is_null("/next_cursor")) break;
    cursor = page.str("/next_cursor");
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(pages, 5);  // 5 + 5 + 5 + 5 + 3
  EXPECT_EQ(seen, enrolled);
}

TEST_F(MembersApi, PageLimitAndCursorAreValidated) {
  for (const char* q : {"limit=0", "limit=201", "limit=abc", "limit=-1", "limit=1.5", "cursor=%%%",
                        "cursor=bm90LWFuLWlk", "limit=5&limit=6"}) {
    HttpResponse r = client().get(std::string("/v1/members?") + q, auth(program_.key));
    EXPECT_EQ(r.status, 400) << q << " -> " << r.body;
  }
  EXPECT_EQ(client().get("/v1/members?limit=200", auth(program_.key)).status, 200);
}

TEST_F(MembersApi, PatchUpdatesGivenFieldsOnly) {
  HttpResponse created = client().post(
      "/v1/members",
      R"({"external_id":"p1","email":"p1@example.com","first_name":"Old","birthday":"2000-01-01",)"
      R"("marketing_consent":{"email":true}})",
      auth(program_.key));
  ASSERT_EQ(created.status, 201);
  std::string id = Json(created.body).str("/id");
  clock_.advance(Duration::from_seconds(5));
  HttpResponse r = client().patch("/v1/members/" + id,
                                  R"({"first_name":"New","birthday":null,"attributes":{"a":1},)"
                                  R"("marketing_consent":{"sms":true}})",
                                  auth(program_.key));
  ASSERT_EQ(r.status, 200) << r.body;
  Json m(r.body);
  EXPECT_EQ(m.str("/first_name"), "New");
  EXPECT_EQ(m.str("/email"), "p1@example.com");
  EXPECT_TRUE(m.is_null("/birthday"));
  EXPECT_TRUE(m.boolean("/marketing_consent/email"));
  EXPECT_TRUE(m.boolean("/marketing_consent/sms"));
  EXPECT_EQ(m.num("/attributes/a"), 1);
  EXPECT_EQ(m.str("/updated_at"), "2024-06-01T00:00:05Z");
  EXPECT_EQ(m.str("/created_at"), "2024-06-01T00:00:00Z");

  HttpResponse external =
      client().patch("/v1/members/" + id, R"({"external_id":"p2"})", auth(program_.key));
  EXPECT_EQ(external.status, 400);
  EXPECT_EQ(Json(external.body).str("/errors/0/field"), "external_id");
  EXPECT_EQ(
      client().patch("/v1/members/mem_999999", R"({"first_name":"X"})", auth(program_.key)).status,
      404);
}

TEST_F(MembersApi, BlockAndUnblock) {
  std::string id = enroll(program_, "b1");
  HttpResponse blocked = client().post("/v1/members/" + id + "/block", "", auth(program_.key));
  ASSERT_EQ(blocked.status, 200) << blocked.body;
  EXPECT_EQ(Json(blocked.body).str("/status"), "blocked");
  HttpResponse earn = credit(program_, id, 10);
  EXPECT_EQ(earn.status, 422) << earn.body;
  EXPECT_EQ(problem_slug(earn), "member-blocked");
  HttpResponse unblocked =
      client().post("/v1/members/" + id + "/unblock", "{}", auth(program_.key));
  ASSERT_EQ(unblocked.status, 200) << unblocked.body;
  EXPECT_EQ(Json(unblocked.body).str("/status"), "active");
  EXPECT_EQ(credit(program_, id, 10).status, 201);
  EXPECT_EQ(
      client().post("/v1/members/" + id + "/block", R"({"why":"x"})", auth(program_.key)).status,
      400);
}

TEST_F(MembersApi, EnrollRejectsBadFields) {
  struct Case {
    const char* body;
    const char* field;
  };
  const Case cases[] = {
      {R"({"email":"a@example.com"})", "external_id"},
      {R"({"external_id":"x"})", "email"},
      {R"({"external_id":"x","email":"nope"})", "email"},
      {R"({"external_id":"","email":"a@example.com"})", "external_id"},
      {R"({"external_id":7,"email":"a@example.com"})", "external_id"},
      {R"({"external_id":"x","email":"a@example.com","birthday":"1990-13-01"})", "birthday"},
      {R"({"external_id":"x","email":"a@example.com","birthday":19900101})", "birthday"},
      {R"({"external_id":"x","email":"a@example.com","attributes":[1]})", "attributes"},
      {R"({"external_id":"x","email":"a@example.com","attributes":{"a":{"b":1}}})", "attributes.a"},
      {R"({"external_id":"x","email":"a@example.com","marketing_consent":{"fax":true}})",
       "marketing_consent.fax"},
      {R"({"external_id":"x","email":"a@example.com","marketing_consent":{"sms":"yes"}})",
       "marketing_consent.sms"},
      {R"({"external_id":"x","email":"a@example.com","nickname":"x"})", "nickname"},
  };
  for (const Case& c : cases) {
    HttpResponse r = client().post("/v1/members", c.body, auth(program_.key));
    EXPECT_EQ(r.status, 400) << c.body << " -> " << r.body;
    EXPECT_EQ(Json(r.body).str("/errors/0/field"), c.field) << c.body << " -> " << r.body;
  }
  std::string many = R"({"external_id":"x","email":"a@example.com","attributes":{)";
  for (int i = 0; i < 51; ++i) many += (i ? "," : "") + ("\"k" + std::to_string(i) + "\":1");
  many += "}}";
  EXPECT_EQ(client().post("/v1/members", many, auth(program_.key)).status, 400);
  // Nothing was written by any of them.
  EXPECT_EQ(Json(client().get("/v1/members", auth(program_.key)).body).size("/data"), 0u);
}

}  // namespace
}  // namespace loyalty::testing
