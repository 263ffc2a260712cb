// The points ledger over HTTP.
#include "api/api_fixture.h"

namespace loyalty::testing {
namespace {

class LedgerApi : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    program_ = create_program("Shop", R"(,"point_value":{"amount_minor":1,"points":2})");
    alice_ = enroll(program_, "alice");
    bob_ = enroll(program_, "bob");
  }
  HttpResponse post(const std::string& target, const std::string& body) {
    return client().post(target, body, auth(program_.key));
  }
  ProgramHandle program_;
  std::string alice_;
  std::string bob_;
};

TEST_F(LedgerApi, CreditReturnsThePosting) {
  HttpResponse r = post("/v1/members/" + alice_ + "/credits",
                        R"({"points":150,"reason":"welcome","source":"signup",)"
                        R"("expires_at":"2025-06-01T00:00:00Z"})");
  ASSERT_EQ(r.status, 201) << r.body;
  Json p(r.body);
  EXPECT_EQ(p.str("/id").substr(0, 4), "pst_");
  EXPECT_EQ(p.str("/kind"), "credit");
  EXPECT_EQ(p.str("/member_id"), alice_);
  EXPECT_TRUE(p.is_null("/counterparty_member_id"));
  EXPECT_EQ(p.num("/points"), 150);
  EXPECT_EQ(p.str("/reason"), "welcome");
  EXPECT_EQ(p.str("/source"), "signup");
  EXPECT_TRUE(p.is_null("/reason_code"));
  EXPECT_EQ(p.str("/actor"), program_.key_id);
  EXPECT_TRUE(p.is_null("/reverses"));
  EXPECT_EQ(p.str("/created_at"), "2024-06-01T00:00:00Z");
  // Entries sum to zero; the member's entry is on its available account in a lot.
  ASSERT_GE(p.size("/entries"), 2u);
  int64_t sum = 0;
  bool member_entry = false;
  for (size_t i = 0; i < p.size("/entries"); ++i) {
    std::string e = "/entries/" + std::to_string(i);
    sum += p.num(e + "/points");
    if (p.str(e + "/account") == "available") {
      member_entry = true;
      EXPECT_EQ(p.num(e + "/points"), 150);
      EXPECT_EQ(p.str(e + "/lot_id").substr(0, 4), "lot_");
    }
  }
  EXPECT_EQ(sum, 0);
  EXPECT_TRUE(member_entry);

  HttpResponse get = client().get("/v1/postings/" + p.str("/id"), auth(program_.key));
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(get.body, r.body);

  HttpResponse balance = client().get("/v1/members/" + alice_ + "/balance", auth(program_.key));
  ASSERT_EQ(balance.status, 200);
  Json b(balance.body);
  EXPECT_EQ(b.str("/member_id"), alice_);
  EXPECT_EQ(b.num("/available"), 150);
  EXPECT_EQ(b.num("/pending"), 0);
  EXPECT_EQ(b.num("/lifetime_earned"), 150);
  EXPECT_EQ(b.num("/lifetime_spent"), 0);
  EXPECT_EQ(b.num("/expired"), 0);
  EXPECT_EQ(b.num("/points_value/amount_minor"), 75);  // 1 cent per 2 points
  EXPECT_EQ(b.str("/points_value/currency"), "USD");
}

TEST_F(LedgerApi, DebitSpendsAndRefusesMoreThanTheBalance) {
  ASSERT_EQ(credit(program_, alice_, 100).status, 201);
  HttpResponse debit = post("/v1/members/" + alice_ + "/debits", R"({"points":60,"reason":"mug"})");
  ASSERT_EQ(debit.status, 201) << debit.body;
  EXPECT_EQ(Json(debit.body).str("/kind"), "debit");
  EXPECT_EQ(Json(debit.body).num("/points"), -60);

  HttpResponse over = post("/v1/members/" + alice_ + "/debits", R"({"points":41})");
  EXPECT_EQ(over.status, 422) << over.body;
  EXPECT_EQ(over.header("content-type"), "application/problem+json");
  Json problem(over.body);
  EXPECT_EQ(problem.str("/type"), "/problems/insufficient-points");
  EXPECT_EQ(problem.num("/status"), 422);
  EXPECT_EQ(problem.str("/instance"), "/v1/members/" + alice_ + "/debits");
  EXPECT_EQ(available(program_, alice_), 40);
  Json b(client().get("/v1/members/" + alice_ + "/balance", auth(program_.key)).body);
  EXPECT_EQ(b.num("/lifetime_spent"), 60);
}

TEST_F(LedgerApi, AdjustmentsRecordReasonCodeAndActor) {
  HttpResponse up = post("/v1/members/" + alice_ + "/adjustments",
                         R"({"points":30,"reason_code":"goodwill","reason":"late parcel",)"
                         R"("actor":"support@shop.example"})");
  ASSERT_EQ(up.status, 201) << up.body;
  Json a(up.body);
  EXPECT_EQ(a.str("/kind"), "adjustment");
  EXPECT_EQ(a.num("/points"), 30);
  EXPECT_EQ(a.str("/reason_code"), "goodwill");
  EXPECT_EQ(a.str("/actor"), program_.key_id + ":support@shop.example");
  HttpResponse down =
      post("/v1/members/" + alice_ + "/adjustments", R"({"points":-10,"reason_code":"fix"})");
  ASSERT_EQ(down.status, 201) << down.body;
  EXPECT_EQ(Json(down.body).str("/actor"), program_.key_id);
  EXPECT_EQ(available(program_, alice_), 20);
  Json b(client().get("/v1/members/" + alice_ + "/balance", auth(program_.key)).body);
  EXPECT_EQ(b.num("/adjusted"), 20);

  EXPECT_EQ(
      post("/v1/members/" + alice_ + "/adjustments", R"({"points":0,"reason_code":"x"})").status,
      400);
  EXPECT_EQ(post("/v1/members/" + alice_ + "/adjustments", R"({"points":5})").status, 400);
  EXPECT_EQ(
      post("/v1/members/" + alice_ + "/adjustments", R"({"points":5,"reason_code":"Bad Code"})")
          .status,
      400);
}

TEST_F(LedgerApi, TransferMovesPointsBetweenMembers) {
  ASSERT_EQ(credit(program_, alice_, 100).status, 201);
  HttpResponse r =
      post("/v1/transfers", R"({"from_member_id":")" + alice_ + R"(","to_member_id":")" + bob_ +
                                R"(","points":25,"reason":"gift"})");
  ASSERT_EQ(r.status, 201) << r.body;
  Json t(r.body);
  EXPECT_EQ(t.str("/kind"), "transfer");
  EXPECT_EQ(t.str("/member_id"), alice_);
  EXPECT_EQ(t.str("/counterparty_member_id"), bob_);
  EXPECT_EQ(t.num("/points"), -25);
  EXPECT_EQ(available(program_, alice_), 75);
  EXPECT_EQ(available(program_, bob_), 25);
  Json b(client().get("/v1/members/" + bob_ + "/balance", auth(program_.key)).body);
  EXPECT_EQ(b.num("/transferred_net"), 25);

  HttpResponse self =
      post("/v1/transfers", R"({"from_member_id":")" + alice_ + R"(","to_member_id":")" + alice_ +
                                R"(","points":5})");
  EXPECT_EQ(self.status, 422) << self.body;
  EXPECT_EQ(problem_slug(self), "transfer-to-self");

  ASSERT_EQ(client().post("/v1/members/" + bob_ + "/block", "", auth(program_.key)).status, 200);
  HttpResponse blocked =
      post("/v1/transfers",
           R"({"from_member_id":")" + alice_ + R"(","to_member_id":")" + bob_ + R"(","points":5})");
  EXPECT_EQ(blocked.status, 422) << blocked.body;
  EXPECT_EQ(problem_slug(blocked), "member-blocked");

  HttpResponse unknown = post("/v1/transfers", R"({"from_member_id":")" + alice_ +
                                                   R"(","to_member_id":"mem_999999","points":5})");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  HttpResponse malformed = post(
      "/v1/transfers", R"({"from_member_id":")" + alice_ + R"(","to_member_id":"bob","points":5})");
  EXPECT_EQ(malformed.status, 400) << malformed.body;
  EXPECT_EQ(Json(malformed.body).str("/errors/0/field"), "to_member_id");
  EXPECT_EQ(available(program_, alice_), 75);
}

TEST_F(LedgerApi, ReversalCompensatesOnce) {
  HttpResponse c = credit(program_, alice_, 80);
  ASSERT_EQ(c.status, 201);
  std::string posting = Json(c.body).str("/id");
  HttpResponse r = post("/v1/postings/" + posting + "/reversal", R"({"reason":"order cancelled"})");
  ASSERT_EQ(r.status, 201) << r.body;
  Json rev(r.body);
  EXPECT_EQ(rev.str("/kind"), "reversal");
  EXPECT_EQ(rev.str("/reverses"), posting);
  EXPECT_EQ(rev.num("/points"), -80);
  EXPECT_EQ(available(program_, alice_), 0);

  HttpResponse again = post("/v1/postings/" + posting + "/reversal", "");
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(problem_slug(again), "already-reversed");
  EXPECT_EQ(post("/v1/postings/pst_999999/reversal", "").status, 404);
  EXPECT_EQ(post("/v1/postings/nonsense/reversal", "").status, 404);
}

TEST_F(LedgerApi, HistoryIsNewestFirstWithCursor) {
  std::vector<std::string> ids;
  for (int i = 1; i <= 7; ++i) {
    HttpResponse r = credit(program_, alice_, i);
    ASSERT_EQ(r.status, 201);
    ids.push_back(Json(r.body).str("/id"));
  }
  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 5; ++page) {
    HttpResponse r = client().get(
        "/v1/members/" + alice_ + "/postings?limit=3" + (cursor.empty() ? "" : "&cursor=" + cursor),
        auth(program_.key));
    ASSERT_EQ(r.status, 200) << r.body;
    Json j(r.body);
    for (size_t i = 0; i < j.size("/data"); ++i)
      seen.push_back(j.str("/data/" + std::to_string(i) + "/id"));
    if (j.is_null("/next_cursor")) break;
    cursor = j.str("/next_cursor");
  }
  std::vector<std::string> expected(ids.rbegin(), ids.rend());
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(client().get("/v1/members/mem_999999/postings", auth(program_.key)).status, 404);
}

TEST_F(LedgerApi, PendingPointsAndLots) {
  HttpResponse pending = post("/v1/members/" + alice_ + "/credits",
                              R"({"points":40,"available_at":"2024-06-15T00:00:00Z"})");
  ASSERT_EQ(pending.status, 201) << pending.body;
  ASSERT_EQ(post("/v1/members/" + alice_ + "/credits",
                 R"({"points":10,"expires_at":"2024-12-31T00:00:00Z"})")
                .status,
            201);
  Json b(client().get("/v1/members/" + alice_ + "/balance", auth(program_.key)).body);
  EXPECT_EQ(b.num("/available"), 10);
  EXPECT_EQ(b.num("/pending"), 40);
  EXPECT_EQ(b.num("/points_value/amount_minor"), 25);

  HttpResponse lots = client().get("/v1/members/" + alice_ + "/lots", auth(program_.key));
  ASSERT_EQ(lots.status, 200) << lots.body;
  Json l(lots.body);
  ASSERT_EQ(l.size("/data"), 2u);
  EXPECT_EQ(l.num("/data/0/remaining_points"), 10);  // newest first
  EXPECT_EQ(l.str("/data/0/expires_at"), "2024-12-31T00:00:00Z");
  EXPECT_FALSE(l.boolean("/data/0/pending"));
  EXPECT_EQ(l.num("/data/1/remaining_points"), 40);
  EXPECT_TRUE(l.boolean("/data/1/pending"));
  EXPECT_EQ(l.str("/data/1/available_at"), "2024-06-15T00:00:00Z");

  ASSERT_EQ(post("/v1/members/" + alice_ + "/debits", R"({"points":10})").status, 201);
  Json open(client().get("/v1/members/" + alice_ + "/lots?open=true", auth(program_.key)).body);
  EXPECT_EQ(open.size("/data"), 1u);
  Json all(client().get("/v1/members/" + alice_ + "/lots?open=false", auth(program_.key)).body);
  EXPECT_EQ(all.size("/data"), 2u);
  EXPECT_EQ(client().get("/v1/members/" + alice_ + "/lots?open=maybe", auth(program_.key)).status,
            400);
  Json page(client().get("/v1/members/" + alice_ + "/lots?limit=1", auth(program_.key)).body);
  ASSERT_EQ(page.size("/data"), 1u);
  Json next(client()
                .get("/v1/members/" + alice_ + "/lots?limit=1&cursor=" + page.str("/next_cursor"),
                     auth(program_.key))
                .body);
  ASSERT_EQ(next.size("/data"), 1u);
  EXPECT_EQ(next.num("/data/0/original_points"), 40);
  EXPECT_TRUE(next.is_null("/next_cursor"));
}

TEST_F(LedgerApi, AmountsAreValidated) {
  struct Case {
    const char* body;
    int status;
  };
  const Case cases[] = {
      {R"({"points":0})", 400},
      {R"({"points":-5})", 400},
      {R"({"points":1.0})", 400},
      {R"({"points":1e3})", 400},
      {R"({"points":"10"})", 400},
      {R"({"points":null})", 400},
      {R"({})", 400},
      {R"({"points":1000000000001})", 422},
      {R"({"points":9223372036854775807})", 422},
      {R"({"points":9223372036854775808})", 400},
      {R"({"points":123456789012345678901234567890})", 400},
      {R"({"points":10,"expires_at":"tomorrow"})", 400},
      {R"({"points":10,"reason":5})", 400},
  };
  for (const Case& c : cases) {
    HttpResponse r = post("/v1/members/" + alice_ + "/credits", c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    EXPECT_EQ(r.header("content-type"), "application/problem+json") << c.body;
  }
  HttpResponse big = post("/v1/members/" + alice_ + "/credits", R"({"points":1000000000001})");
  EXPECT_EQ(problem_slug(big), "amount-out-of-range");
  EXPECT_EQ(post("/v1/members/mem_999999/credits", R"({"points":5})").status, 404);
  EXPECT_EQ(post("/v1/members/alice/credits", R"({"points":5})").status, 404);
  EXPECT_EQ(available(program_, alice_), 0);
  EXPECT_EQ(Json(client().get("/v1/members/" + alice_ + "/postings", auth(program_.key)).body)
                .size("/data"),
            0u);
}

}  // namespace
}  // namespace loyalty::testing
