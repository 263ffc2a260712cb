// Gifting over HTTP (docs/gifting.md): a gift of points from send to claim,
// the claim page's lookup, a claim at enrollment with the link's token, a
// redeemed reward's coupon given with a new code, cancellation and the gifts
// job, idempotent replays without the token, the member's list, outbox
// events, and every bad input answered with its problem type and nothing
// written.
#include <gtest/gtest.h>

#include "api/api_fixture.h"
#include "cli/verify.h"
#include "jobs/scheduler.h"
#include "store/store.h"

namespace loyalty::testing {
namespace {

constexpr const char* kConfig = R"(
gifting:
  claim_days: 7
  min_points: 10
  link_template: "https://shop.example/gift?t={token}"
  limits: {period: day, max_gifts: 5}
rewards:
  - id: five-off
    name: 5 off
    type: fixed_discount
    amount: "5.00"
    cost: 100
)";

class GiftsApi : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    program_ = create_program("Shop");
    put_config(program_, kConfig, /*yaml=*/true);
    ann_ = enroll(program_, "ann");
    ASSERT_EQ(credit(program_, ann_, 1000).status, 201);
  }
  void TearDown() override {
    expect_store_verified();
    ApiTest::TearDown();
  }
  HttpResponse send(const std::string& body, const std::string& member = "") {
    return client().post("/v1/members/" + (member.empty() ? ann_ : member) + "/gifts", body,
                         auth(program_.key));
  }
  HttpResponse claim(const std::string& token, const std::string& member) {
    return client().post("/v1/gifts:claim",
                         R"({"token":")" + token + R"(","member_id":")" + member + R"("})",
                         auth(program_.key));
  }
  int64_t held(const std::string& member) {
    HttpResponse r = client().get("/v1/members/" + member + "/balance", auth(program_.key));
    return Json(r.body).num("/held");
  }
  ProgramHandle program_;
  std::string ann_;
};

TEST_F(GiftsApi, AGiftOfPointsFromSendToClaim) {
  HttpResponse sent =
      send(R"({"recipient_email":"Bob@Example.com","points":300,"message":"Happy birthday!"})");
  ASSERT_EQ(sent.status, 201) << sent.body;
  Json s(sent.body);
  EXPECT_EQ(s.str("/status"), "pending");
  EXPECT_EQ(s.str("/kind"), "points");
  EXPECT_EQ(s.num("/points"), 300);
  EXPECT_EQ(s.str("/recipient_email"), "bob@example.com");
  EXPECT_EQ(s.str("/message"), "Happy birthday!");
  EXPECT_TRUE(s.is_null("/recipient_id"));
  EXPECT_EQ(s.num("/balance/available"), 700);
  EXPECT_EQ(s.num("/balance/held"), 300);
  const std::string token = s.str("/token");
  const std::string gift_id = s.str("/id");
  EXPECT_EQ(s.str("/link"), "https://shop.example/gift?t=" + token);
  EXPECT_EQ(held(ann_), 300);

  // The claim page shows the gift without claiming it.
  HttpResponse look =
      client().post("/v1/gifts:lookup", R"({"token":")" + token + R"("})", auth(program_.key));
  ASSERT_EQ(look.status, 200) << look.body;
  EXPECT_EQ(Json(look.body).str("/id"), gift_id);
  EXPECT_EQ(Json(look.body).num("/points"), 300);
  EXPECT_EQ(look.body.find(token), std::string::npos);  // never echoed

  // Bob joins from the link: the gift is his at enrollment.
  HttpResponse bob = client().post(
      "/v1/members",
      R"({"external_id":"bob","email":"robert@example.com","gift_token":")" + token + R"("})",
      auth(program_.key));
  ASSERT_EQ(bob.status, 201) << bob.body;
  const std::string bob_id = Json(bob.body).str("/id");
  EXPECT_EQ(available(program_, bob_id), 300);
  EXPECT_EQ(held(ann_), 0);
  HttpResponse one = client().get("/v1/gifts/" + gift_id, auth(program_.key));
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(Json(one.body).str("/status"), "claimed");
  EXPECT_EQ(Json(one.body).str("/recipient_id"), bob_id);

  // Both members see it, each from their side.
  HttpResponse mine = client().get("/v1/members/" + ann_ + "/gifts", auth(program_.key));
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(Json(mine.body).str("/data/0/direction"), "sent");
  HttpResponse his = client().get("/v1/members/" + bob_id + "/gifts", auth(program_.key));
  EXPECT_EQ(Json(his.body).str("/data/0/direction"), "received");
  EXPECT_EQ(Json(his.body).size("/data"), 1u);

  // The claim posting is in both histories.
  HttpResponse postings = client().get("/v1/members/" + bob_id + "/postings", auth(program_.key));
  EXPECT_NE(postings.body.find("\"gift_claim\""), std::string::npos) << postings.body;

  HttpResponse again = claim(token, bob_id);
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(problem_slug(again), "gift-not-claimable");
  EXPECT_EQ(count_outbox_events(program_, "gift.sent"), 1);
  EXPECT_EQ(count_outbox_events(program_, "gift.claimed"), 1);
}

TEST_F(GiftsApi, AReplayedSendGivesTheSameGiftWithoutItsToken) {
  const std::string body = R"({"recipient_email":"bob@example.com","points":50})";
  HttpResponse first =
      client().post("/v1/members/" + ann_ + "/gifts", body, auth(program_.key, "gift-1"));
  ASSERT_EQ(first.status, 201) << first.body;
  HttpResponse replay =
      client().post("/v1/members/" + ann_ + "/gifts", body, auth(program_.key, "gift-1"));
  ASSERT_EQ(replay.status, 201) << replay.body;
  EXPECT_EQ(Json(replay.body).str("/id"), Json(first.body).str("/id"));
  EXPECT_FALSE(Json(replay.body).has("/token"));
  EXPECT_EQ(replay.body.find(Json(first.body).str("/token")), std::string::npos);
  EXPECT_EQ(available(program_, ann_), 950);  // sent once
}

TEST_F(GiftsApi, AGiftedCouponIsClaimedWithANewCode) {
  HttpResponse redeemed = client().post("/v1/members/" + ann_ + "/redemptions",
                                        R"({"reward_id":"five-off"})", auth(program_.key));
  ASSERT_EQ(redeemed.status, 201) << redeemed.body;
  const std::string redemption = Json(redeemed.body).str("/id");
  const std::string ann_code = Json(redeemed.body).str("/coupon/code");
  HttpResponse sent =
      send(R"({"recipient_email":"bob@example.com","redemption_id":")" + redemption + R"("})");
  ASSERT_EQ(sent.status, 201) << sent.body;
  EXPECT_EQ(Json(sent.body).str("/kind"), "reward");
  EXPECT_EQ(Json(sent.body).str("/coupon/status"), "gifted");
  const std::string cart = R"({"cart":{"subtotal_minor":2000}})";
  HttpResponse used =
      client().post("/v1/coupons/" + ann_code + ":validate", cart, auth(program_.key));
  EXPECT_EQ(used.status, 409) << used.body;
  EXPECT_EQ(problem_slug(used), "coupon-not-usable");

  const std::string bob = enroll(program_, "bob", "robert@example.com");
  HttpResponse got = claim(Json(sent.body).str("/token"), bob);
  ASSERT_EQ(got.status, 200) << got.body;
  Json g(got.body);
  EXPECT_EQ(g.str("/status"), "claimed");
  EXPECT_EQ(g.str("/coupon/member_id"), bob);
  EXPECT_EQ(g.str("/coupon/status"), "issued");
  const std::string bob_code = g.str("/coupon/code");
  EXPECT_NE(bob_code, ann_code);
  EXPECT_EQ(client().post("/v1/coupons/" + ann_code + ":validate", cart, auth(program_.key)).status,
            404);
  HttpResponse valid =
      client().post("/v1/coupons/" + bob_code + ":validate", cart, auth(program_.key));
  EXPECT_EQ(valid.status, 200) << valid.body;
  // The redemption stays the giver's, and cannot be cancelled any more.
  HttpResponse cancel = client().post(
      "/v1/members/" + ann_ + "/redemptions/" + redemption + ":cancel", "", auth(program_.key));
  EXPECT_EQ(cancel.status, 409) << cancel.body;
  EXPECT_EQ(problem_slug(cancel), "not-cancellable");
}

TEST_F(GiftsApi, CancelledAndUnclaimedGiftsComeBack) {
  HttpResponse a = send(R"({"recipient_email":"bob@example.com","points":100})");
  HttpResponse b = send(R"({"recipient_email":"carol@example.com","points":200})");
  ASSERT_EQ(a.status, 201);
  ASSERT_EQ(b.status, 201);
  HttpResponse cancelled =
      client().post("/v1/gifts/" + Json(a.body).str("/id") + ":cancel", "", auth(program_.key));
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(Json(cancelled.body).str("/status"), "cancelled");
  EXPECT_EQ(Json(cancelled.body).num("/balance/available"), 800);
  HttpResponse twice =
      client().post("/v1/gifts/" + Json(a.body).str("/id") + ":cancel", "", auth(program_.key));
  EXPECT_EQ(problem_slug(twice), "gift-not-claimable");

  EXPECT_EQ(run_job("gifts").gifts_returned, 0);
  clock_.advance(Duration::from_days(7));
  EXPECT_EQ(run_job("gifts").gifts_returned, 1);
  EXPECT_EQ(available(program_, ann_), 1000);
  EXPECT_EQ(held(ann_), 0);
  HttpResponse late = claim(Json(b.body).str("/token"), enroll(program_, "carl", "c@x.example"));
  EXPECT_EQ(problem_slug(late), "gift-not-claimable");
  EXPECT_EQ(count_outbox_events(program_, "gift.cancelled"), 1);
  EXPECT_EQ(count_outbox_events(program_, "gift.returned"), 1);
}

TEST_F(GiftsApi, BadInputIsAnsweredPreciselyAndWritesNothing) {
  struct Case {
    std::string body;
    int status;
    std::string slug;
  };
  const Case cases[] = {
      {R"({"recipient_email":"ann@example.com","points":100})", 422, "gift-to-self"},
      {R"({"recipient_email":"bob@example.com","points":5})", 422, "gift-not-allowed"},
      {R"({"recipient_email":"bob@example.com","points":5000})", 422, "insufficient-points"},
      {R"({"recipient_email":"bob@example.com"})", 400, "invalid-request"},
      {R"({"recipient_email":"bob@example.com","points":10,"redemption_id":"rdm_1"})", 400,
       "invalid-request"},
      {R"({"recipient_email":"bob@example.com","redemption_id":"rdm_99"})", 404, "not-found"},
      {R"({"recipient_email":"bob@example.com","redemption_id":"pst_1"})", 400, "invalid-request"},
      {R"({"recipient_email":"no-at-sign","points":10})", 400, "invalid-request"},
      {R"({"recipient_email":"bob@example.com","points":10,"wrap":"red"})", 400, "invalid-request"},
  };
  for (const Case& c : cases) {
    HttpResponse r = send(c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    EXPECT_EQ(problem_slug(r), c.slug) << c.body << " -> " << r.body;
    EXPECT_EQ(r.header("Content-Type"), "application/problem+json") << c.body;
  }
  EXPECT_EQ(available(program_, ann_), 1000);
  EXPECT_EQ(held(ann_), 0);
  HttpResponse list = client().get("/v1/members/" + ann_ + "/gifts", auth(program_.key));
  EXPECT_EQ(Json(list.body).size("/data"), 0u);

  // Claims: unknown token, own gift, unknown member.
  HttpResponse sent = send(R"({"recipient_email":"bob@example.com","points":100})");
  const std::string token = Json(sent.body).str("/token");
  EXPECT_EQ(problem_slug(claim("1111111111111111111111111", ann_)), "not-found");
  EXPECT_EQ(problem_slug(claim(token, ann_)), "gift-to-self");
  EXPECT_EQ(claim(token, "mem_999").status, 404);
  EXPECT_EQ(claim(token, "bob").status, 400);
  EXPECT_EQ(client().get("/v1/gifts/gft_999", auth(program_.key)).status, 404);
  EXPECT_EQ(client().post("/v1/gifts/gft_1:open", "", auth(program_.key)).status, 404);
  // Another program's key sees none of it.
  ProgramHandle other = create_program("Other");
  const std::string olga = enroll(other, "olga");
  HttpResponse foreign = client().post(
      "/v1/gifts:claim", R"({"token":")" + token + R"(","member_id":")" + olga + R"("})",
      auth(other.key));
  EXPECT_EQ(foreign.status, 404) << foreign.body;
  EXPECT_EQ(held(ann_), 100);
}

}  // namespace
}  // namespace loyalty::testing
