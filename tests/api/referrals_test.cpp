// Referrals over HTTP (docs/referrals.md): code and link, enrollment and first
// order with a code and the shop's hashes, invitations, the member's view, the
// review queue, the scheduled completion, statistics, outbox events, and every
// bad input answered with its problem type and nothing written.
#include <gtest/gtest.h>

#include "api/api_fixture.h"
#include "cli/verify.h"
#include "jobs/scheduler.h"
#include "store/store.h"

namespace loyalty::testing {
namespace {

constexpr const char* kConfig = R"(
earning:
  return_window_days: 14
  vest_from: paid
referrals:
  code: {prefix: FR}
  link_template: "https://shop.example/r/{code}"
  min_order: "25.00"
  referrer_reward: {points: 500}
  referee_reward: {points: 200, timing: immediate}
  fraud:
    disposable_domains: [mailinator.com]
)";

class ReferralsApi : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    program_ = create_program("Shop");
    put_config(program_, kConfig, /*yaml=*/true);
    ann_ = enroll(program_, "ann");
  }
  void TearDown() override {
    expect_store_verified();
    ApiTest::TearDown();
  }

  std::string code_of(const std::string& member) {
    HttpResponse r =
        client().post("/v1/members/" + member + "/referral-code", "", auth(program_.key));
    EXPECT_EQ(r.status, 200) << r.body;
    return Json(r.body).str("/code");
  }
  HttpResponse join(const std::string& external_id, const std::string& extra) {
    return client().post("/v1/members",
                         R"({"external_id":")" + external_id + R"(","email":")" + external_id +
                             R"(@example.com")" + extra + "}",
                         auth(program_.key));
  }
  HttpResponse order(const std::string& member, const std::string& id, int64_t price,
                     const std::string& extra = "") {
    return client().post(
        "/v1/orders",
        R"({"external_id":")" + id + R"(","member_id":")" + member +
            R"(","currency":"USD","placed_at":")" + format_rfc3339(clock_.now()) +
            R"(","status":"paid","items":[{"sku":"A","name":"A","quantity":1,"unit_price_minor":)" +
            std::to_string(price) + "}]" + extra + "}",
        auth(program_.key));
  }
  ProgramHandle program_;
  std::string ann_;
};

TEST_F(ReferralsApi, AReferralFromCodeToCompletion) {
  // The member's code and link; the same on every call.
  HttpResponse code =
      client().post("/v1/members/" + ann_ + "/referral-code", "", auth(program_.key));
  ASSERT_EQ(code.status, 200) << code.body;
  const std::string ann_code = Json(code.body).str("/code");
  EXPECT_EQ(ann_code.rfind("FR-", 0), 0u);
  EXPECT_EQ(Json(code.body).str("/link"), "https://shop.example/r/" + ann_code);
  EXPECT_EQ(code_of(ann_), ann_code);

  // Bob joins with the code and the shop's hashes.
  HttpResponse bob =
      join("bob", R"(,"referral_code":")" + ann_code +
                      R"(","referral_signals":{"device_hash":"d-bob","ip_hash":"i-bob"})");
  ASSERT_EQ(bob.status, 201) << bob.body;
  const std::string bob_id = Json(bob.body).str("/id");
  EXPECT_EQ(available(program_, bob_id), 200);  // the immediate welcome

  HttpResponse view = client().get("/v1/members/" + bob_id + "/referrals", auth(program_.key));
  ASSERT_EQ(view.status, 200) << view.body;
  Json v(view.body);
  EXPECT_EQ(v.str("/referred_by/status"), "pending");
  EXPECT_EQ(v.str("/referred_by/code"), ann_code);
  EXPECT_TRUE(v.boolean("/referred_by/welcome_paid"));
  EXPECT_TRUE(v.is_null("/code"));  // bob's own code is drawn when first asked for
  const std::string referral_id = v.str("/referred_by/id");

  // The first qualifying order; its return window ends 14 days later.
  ASSERT_EQ(order(bob_id, "o-1", 3000).status, 201);
  HttpResponse one = client().get("/v1/referrals/" + referral_id, auth(program_.key));
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(Json(one.body).str("/order_external_id"), "o-1");
  EXPECT_EQ(run_job("referrals").referrals_completed, 0);
  clock_.advance(Duration::from_days(14));
  EXPECT_EQ(run_job("referrals").referrals_completed, 1);
  EXPECT_EQ(available(program_, ann_), 500);

  HttpResponse mine = client().get("/v1/members/" + ann_ + "/referrals", auth(program_.key));
  Json m(mine.body);
  EXPECT_EQ(m.size("/referrals"), 1u);
  EXPECT_EQ(m.str("/referrals/0/status"), "completed");
  EXPECT_EQ(m.num("/referrals/0/referrer_points"), 500);
  EXPECT_EQ(m.num("/summary/completed"), 1);
  EXPECT_EQ(m.num("/summary/rewards_earned_points"), 500);

  HttpResponse report = client().get("/v1/reports/referrals", auth(program_.key));
  ASSERT_EQ(report.status, 200) << report.body;
  Json rep(report.body);
  EXPECT_EQ(rep.num("/referrals"), 1);
  EXPECT_EQ(rep.num("/conversions"), 1);
  EXPECT_EQ(rep.str("/conversion_rate_percent"), "100.00");
  EXPECT_EQ(rep.num("/referee_revenue_minor"), 3000);
  EXPECT_EQ(rep.num("/reward_points"), 700);
  EXPECT_EQ(count_outbox_events(program_, "referral.created"), 1);
  EXPECT_EQ(count_outbox_events(program_, "referral.completed"), 1);
}

TEST_F(ReferralsApi, AFirstOrderWithACodeAndAHeldReferralReviewed) {
  const std::string ann_code = code_of(ann_);
  // Ann's own order tells the shop's payment fingerprint of her card.
  ASSERT_EQ(
      order(ann_, "o-ann", 1000, R"(,"referral_signals":{"payment_fingerprint_hash":"card-1"})")
          .status,
      201);
  HttpResponse cy = join("cy", "");
  const std::string cy_id = Json(cy.body).str("/id");
  // Cy's first order carries ann's code and the same card: held for review.
  ASSERT_EQ(order(cy_id, "o-cy", 3000,
                  R"(,"referral_code":")" + ann_code +
                      R"(","referral_signals":{"payment_fingerprint_hash":"card-1"})")
                .status,
            201);
  HttpResponse queue = client().get("/v1/referrals?status=held", auth(program_.key));
  ASSERT_EQ(queue.status, 200) << queue.body;
  Json q(queue.body);
  ASSERT_EQ(q.size("/data"), 1u);
  EXPECT_EQ(q.str("/data/0/findings/0/control"), "same_payment");
  EXPECT_EQ(available(program_, cy_id), 0);  // no welcome while held
  EXPECT_EQ(count_outbox_events(program_, "referral.flagged"), 1);
  const std::string id = q.str("/data/0/id");
  clock_.advance(Duration::from_days(14));
  EXPECT_EQ(run_job("referrals").referrals_completed, 0);
  HttpResponse approved = client().post("/v1/referrals/" + id + ":approve",
                                        R"({"reason":"family card, checked"})", auth(program_.key));
  ASSERT_EQ(approved.status, 200) << approved.body;
  EXPECT_EQ(Json(approved.body).str("/status"), "completed");
  EXPECT_EQ(Json(approved.body).str("/decision_reason"), "family card, checked");
  EXPECT_EQ(available(program_, cy_id), 200);  // the welcome, paid on approval
  HttpResponse again = client().post("/v1/referrals/" + id + ":reject", "", auth(program_.key));
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(problem_slug(again), "referral-not-reviewable");
  EXPECT_EQ(client().post("/v1/referrals/" + id + ":explode", "", auth(program_.key)).status, 404);
  EXPECT_EQ(client().get("/v1/referrals/ref_999", auth(program_.key)).status, 404);
}

TEST_F(ReferralsApi, InvitationsReferByEmail) {
  HttpResponse inv = client().post("/v1/members/" + ann_ + "/referral-invitations",
                                   R"({"email":"Zoe.Q+hi@gmail.com"})", auth(program_.key));
  ASSERT_EQ(inv.status, 201) << inv.body;
  EXPECT_EQ(Json(inv.body).str("/email"), "zoeq@gmail.com");
  HttpResponse repeat = client().post("/v1/members/" + ann_ + "/referral-invitations",
                                      R"({"email":"zoeq@gmail.com"})", auth(program_.key));
  EXPECT_EQ(repeat.status, 200) << repeat.body;
  EXPECT_FALSE(Json(repeat.body).boolean("/created"));
  EXPECT_EQ(count_outbox_events(program_, "referral.invited"), 1);
  HttpResponse zoe = client().post(
      "/v1/members", R"({"external_id":"zoe","email":"zoeq@gmail.com"})", auth(program_.key));
  ASSERT_EQ(zoe.status, 201);
  HttpResponse view = client().get("/v1/members/" + ann_ + "/referrals", auth(program_.key));
  Json v(view.body);
  EXPECT_EQ(v.size("/invitations"), 1u);
  EXPECT_EQ(v.size("/referrals"), 1u);
  EXPECT_EQ(v.str("/referrals/0/referee_id"), Json(zoe.body).str("/id"));
}

TEST_F(ReferralsApi, BadInputIsAProblemAndWritesNothing) {
  const std::string ann_code = code_of(ann_);
  HttpResponse unknown = join("x1", R"(,"referral_code":"FR-ZZZZ2345")");
  EXPECT_EQ(unknown.status, 422);
  EXPECT_EQ(problem_slug(unknown), "unknown-referral-code");
  EXPECT_EQ(client().get("/v1/members?external_id=x1", auth(program_.key)).body.find("x1"),
            std::string::npos);
  HttpResponse long_code = join("x2", R"(,"referral_code":")" + std::string(41, 'A') + "\"");
  EXPECT_EQ(long_code.status, 400);
  HttpResponse bad_signals = join("x3", R"(,"referral_signals":{"shoe_size":"44"})");
  EXPECT_EQ(bad_signals.status, 400);
  HttpResponse own = client().post("/v1/members/" + ann_ + "/referral",
                                   R"({"referral_code":")" + ann_code + "\"}", auth(program_.key));
  EXPECT_EQ(own.status, 422);
  EXPECT_EQ(problem_slug(own), "referral-not-allowed");
  HttpResponse missing =
      client().post("/v1/members/" + ann_ + "/referral", "{}", auth(program_.key));
  EXPECT_EQ(missing.status, 400);
  HttpResponse bob = join("bob", R"(,"referral_code":")" + ann_code + "\"");
  ASSERT_EQ(bob.status, 201);
  const std::string bob_id = Json(bob.body).str("/id");
  HttpResponse cy = join("cy", "");
  const std::string cy_code = code_of(Json(cy.body).str("/id"));
  HttpResponse second = order(bob_id, "o-b", 3000, R"(,"referral_code":")" + cy_code + "\"");
  EXPECT_EQ(second.status, 409) << second.body;
  EXPECT_EQ(client().get("/v1/orders?external_id=o-b", auth(program_.key)).body.find("o-b"),
            std::string::npos);
  HttpResponse self_invite = client().post("/v1/members/" + ann_ + "/referral-invitations",
                                           R"({"email":"ann@example.com"})", auth(program_.key));
  EXPECT_EQ(problem_slug(self_invite), "referral-not-allowed");
  EXPECT_EQ(client().get("/v1/referrals?status=maybe", auth(program_.key)).status, 400);
  HttpResponse report = client().get("/v1/reports/referrals", auth(program_.key));
  EXPECT_EQ(Json(report.body).num("/referrals"), 1);
  EXPECT_EQ(Json(report.body).num("/invitations"), 0);
}

}  // namespace
}  // namespace loyalty::testing
