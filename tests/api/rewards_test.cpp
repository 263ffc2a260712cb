// Rewards over HTTP (docs/rewards.md): the member's catalog with reasons,
// redemption end to end (ledger debit, stock, coupon, outbox), coupons at
// checkout, cancellation, charity totals, every bad input with no partial
// change, and 64 parallel redemptions racing for the last stock or points.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include "api/api_fixture.h"
#include "cli/verify.h"
#include "store/store.h"

namespace loyalty::testing {
namespace {

constexpr const char* kCatalog = R"(
tiers:
  metric: spend
  levels:
    - {id: silver, name: Silver, threshold: "0.00"}
    - {id: gold, name: Gold, threshold: "1000.00"}
rewards:
  - {id: five-off, name: "$5 off", type: fixed_discount, cost: 500, amount: "5.00", min_order: "20.00", coupon_prefix: SHOP}
  - {id: pct, name: "15% off", type: percent_discount, cost: 800, percent: 15, max_discount: "30.00"}
  - {id: ship, name: Free shipping, type: free_shipping, cost: 300, coupon_valid_days: 7}
  - {id: mug, name: Free mug, type: free_product, cost: 900, sku: MUG-1}
  - id: cash
    name: Cashback
    type: store_credit
    cost: {points_per_unit: 100, min_points: 500, max_points: 10000}
  - {id: tour, name: Factory tour, type: experience, cost: 100, stock: 10}
  - {id: vip-lounge, name: Lounge, type: experience, cost: 100, tiers: [gold]}
  - {id: old, name: Old offer, type: experience, cost: 100, active: false}
  - {id: later, name: Next year, type: experience, cost: 100, available_from: "2030-01-01T00:00:00Z"}
  - id: trees
    name: Plant trees
    type: charity_donation
    cost: 1000
    amount: "10.00"
    cause: {id: trees, name: One Tree Planted}
    member_limit: {period: month, max_per_period: 1}
)";

class RewardsApi : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    program_ = create_program("Shop");
    put_config(program_, kCatalog, /*yaml=*/true);
    alice_ = enroll(program_, "alice");
  }

  HttpResponse redeem(const std::string& member, const std::string& body,
                      const std::string& idempotency_key = "") {
    return client().post(
        "/v1/members/" + member + "/redemptions", body,
        idempotency_key.empty() ? auth(program_.key) : auth(program_.key, idempotency_key));
  }
  std::string must_redeem(const std::string& reward) {
    HttpResponse r = redeem(alice_, R"({"reward_id":")" + reward + R"("})");
    EXPECT_EQ(r.status, 201) << r.body;
    return r.body;
  }
  HttpResponse coupon(const std::string& code, const std::string& action, const std::string& body) {
    return client().post("/v1/coupons/" + code + ":" + action, body, auth(program_.key));
  }
  int64_t stock_left(const std::string& reward) {
    HttpResponse r = client().get("/v1/members/" + alice_ + "/rewards", auth(program_.key));
    EXPECT_EQ(r.status, 200) << r.body;
    Json j(r.body);
    for (const char* list : {"/available", "/unavailable"}) {
      simdjson::dom::array a = j.at(list).get_array();
      for (simdjson::dom::element e : a) {
        if (std::string_view(e["id"].get_string()) == reward) return e["stock_left"].get_int64();
      }
    }
    ADD_FAILURE() << reward << " not listed";
    return -1;
  }
  ProgramHandle program_;
  std::string alice_;
};

TEST_F(RewardsApi, TheCatalogSaysWhatTheMemberCanRedeemAndWhyNot) {
  ASSERT_EQ(credit(program_, alice_, 700).status, 201);
  HttpResponse r = client().get("/v1/members/" + alice_ + "/rewards", auth(program_.key));
  ASSERT_EQ(r.status, 200) << r.body;
  Json j(r.body);
  std::map<std::string, std::pair<std::string, std::string>> unavailable;
  for (simdjson::dom::element e : j.at("/unavailable").get_array()) {
    unavailable[std::string(e["id"].get_string().value())] = {
        std::string(e["reason"]["code"].get_string().value()),
        std::string(e["reason"]["message"].get_string().value())};
  }
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(unavailable["pct"], P("insufficient_points", "needs 100 more points"));
  EXPECT_EQ(unavailable["vip-lounge"], P("tier_restricted", "Gold only"));
  EXPECT_EQ(unavailable["old"], P("inactive", "not offered at the moment"));
  EXPECT_EQ(unavailable["later"],
            P("not_yet_available", "not available until 2030-01-01T00:00:00Z"));
  EXPECT_EQ(unavailable.count("five-off"), 0u);
  EXPECT_EQ(stock_left("tour"), 10);
}

TEST_F(RewardsApi, ARedemptionDebitsIssuesACouponThatAnOrderConsumesOnce) {
  ASSERT_EQ(credit(program_, alice_, 2000).status, 201);
  Json redemption(must_redeem("five-off"));
  EXPECT_EQ(available(program_, alice_), 1500);
  const std::string code = redemption.str("/coupon/code");
  EXPECT_EQ(code.substr(0, 5), "SHOP-");
  EXPECT_EQ(redemption.str("/status"), "completed");
  // The code is shown once: reads show only its hint.
  HttpResponse again = client().get(
      "/v1/members/" + alice_ + "/redemptions/" + redemption.str("/id"), auth(program_.key));
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_TRUE(Json(again.body).at("/coupon/code").is_null());
  EXPECT_EQ(Json(again.body).str("/coupon/code_hint"), code.substr(code.size() - 4));

  const std::string small_cart = R"({"cart":{"subtotal_minor":1999}})";
  HttpResponse below = coupon(code, "validate", small_cart);
  EXPECT_EQ(below.status, 422) << below.body;
  EXPECT_EQ(problem_slug(below), "coupon-not-applicable");
  HttpResponse ok = coupon(code, "validate", R"({"cart":{"subtotal_minor":2000}})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(Json(ok.body).num("/discount_minor"), 500);

  HttpResponse consumed = coupon(code, "consume", R"({"order_id":"A-1"})");
  ASSERT_EQ(consumed.status, 200) << consumed.body;
  HttpResponse same_order = coupon(code, "consume", R"({"order_id":"A-1"})");
  ASSERT_EQ(same_order.status, 200) << same_order.body;
  EXPECT_TRUE(Json(same_order.body).at("/replayed").get_bool().value());
  HttpResponse other_order = coupon(code, "consume", R"({"order_id":"B-2"})");
  EXPECT_EQ(other_order.status, 409) << other_order.body;
  EXPECT_EQ(problem_slug(other_order), "coupon-not-usable");
  // A used coupon's redemption cannot be cancelled.
  HttpResponse cancel =
      client().post("/v1/members/" + alice_ + "/redemptions/" + redemption.str("/id") + ":cancel",
                    "", auth(program_.key));
  EXPECT_EQ(cancel.status, 409) << cancel.body;
  EXPECT_EQ(problem_slug(cancel), "not-cancellable");

  HttpResponse outbox = client().get("/v1/outbox", auth(program_.key));
  EXPECT_NE(outbox.body.find("reward.redeemed"), std::string::npos);
  EXPECT_NE(outbox.body.find("coupon.consumed"), std::string::npos);
  expect_store_verified();
}

TEST_F(RewardsApi, CancellingRefundsTheSameLotsAndRestoresStock) {
  ASSERT_EQ(credit(program_, alice_, 60).status, 201);
  ASSERT_EQ(credit(program_, alice_, 60).status, 201);
  Json r(must_redeem("tour"));  // 100 points: all of the first lot, 40 of the second
  EXPECT_EQ(available(program_, alice_), 20);
  EXPECT_EQ(stock_left("tour"), 9);
  HttpResponse cancel =
      client().post("/v1/members/" + alice_ + "/redemptions/" + r.str("/id") + ":cancel",
                    R"({"reason":"changed my mind"})", auth(program_.key));
  ASSERT_EQ(cancel.status, 200) << cancel.body;
  EXPECT_EQ(Json(cancel.body).str("/status"), "cancelled");
  EXPECT_EQ(Json(cancel.body).str("/coupon/status"), "cancelled");
  EXPECT_EQ(available(program_, alice_), 120);
  EXPECT_EQ(stock_left("tour"), 10);
  HttpResponse lots = client().get("/v1/members/" + alice_ + "/lots", auth(program_.key));
  ASSERT_EQ(lots.status, 200);
  Json l(lots.body);
  ASSERT_EQ(l.size("/data"), 2u) << lots.body;
  EXPECT_EQ(l.num("/data/0/remaining_points"), 60) << lots.body;
  EXPECT_EQ(l.num("/data/1/remaining_points"), 60) << lots.body;
  HttpResponse twice = client().post(
      "/v1/members/" + alice_ + "/redemptions/" + r.str("/id") + ":cancel", "", auth(program_.key));
  EXPECT_EQ(twice.status, 409) << twice.body;
  EXPECT_EQ(problem_slug(twice), "not-cancellable");
  // The cancelled coupon is refused at checkout.
  HttpResponse list =
      client().get("/v1/members/" + alice_ + "/redemptions?limit=1", auth(program_.key));
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(Json(list.body).str("/data/0/status"), "cancelled");
  expect_store_verified();
}

TEST_F(RewardsApi, CharityDonationsAreTotalledPerCause) {
  ASSERT_EQ(credit(program_, alice_, 3000).status, 201);
  Json d(must_redeem("trees"));
  EXPECT_TRUE(d.at("/coupon").is_null());
  EXPECT_EQ(d.num("/amount_minor"), 1000);
  // One per month.
  HttpResponse second = redeem(alice_, R"({"reward_id":"trees"})");
  EXPECT_EQ(second.status, 422) << second.body;
  EXPECT_EQ(problem_slug(second), "redemption-limit-reached");
  HttpResponse report = client().get("/v1/programs/" + program_.id +
                                         "/donations?from=2024-06-01T00:00:00Z&to=2024-07-01T00:"
                                         "00:00Z",
                                     auth(program_.key));
  ASSERT_EQ(report.status, 200) << report.body;
  Json j(report.body);
  EXPECT_EQ(j.str("/causes/0/cause_name"), "One Tree Planted");
  EXPECT_EQ(j.num("/causes/0/points"), 1000);
  EXPECT_EQ(j.num("/total_amount_minor"), 1000);
}

TEST_F(RewardsApi, BadRedemptionsAndCouponsFailPreciselyAndChangeNothing) {
  ASSERT_EQ(credit(program_, alice_, 450).status, 201);
  ProgramHandle other = create_program("Other");
  put_config(other, kCatalog, true);
  std::string bob = enroll(other, "bob");
  ASSERT_EQ(credit(other, bob, 1000).status, 201);
  HttpResponse bobs = client().post("/v1/members/" + bob + "/redemptions",
                                    R"({"reward_id":"five-off"})", auth(other.key));
  ASSERT_EQ(bobs.status, 201) << bobs.body;
  const std::string bobs_code = Json(bobs.body).str("/coupon/code");

  struct Case {
    std::string body;
    int status;
    std::string slug;
  };
  const std::vector<Case> cases = {
      {R"({"reward_id":"nope"})", 404, "not-found"},
      {R"({"reward_id":"old"})", 422, "reward-unavailable"},
      {R"({"reward_id":"later"})", 422, "reward-unavailable"},
      {R"({"reward_id":"five-off"})", 422, "insufficient-points"},
      {R"({"reward_id":"vip-lounge"})", 422, "reward-not-eligible"},
      {R"({"reward_id":"cash","points":499})", 400, "invalid-request"},
      {R"({"reward_id":"tour","points":100})", 400, "invalid-request"},
  };
  for (const Case& c : cases) {
    HttpResponse r = redeem(alice_, c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " " << r.body;
    EXPECT_EQ(problem_slug(r), c.slug) << c.body;
    EXPECT_EQ(available(program_, alice_), 450) << c.body;
  }
  HttpResponse foreign = coupon(bobs_code, "validate", R"({"cart":{"subtotal_minor":5000}})");
  EXPECT_EQ(foreign.status, 409) << foreign.body;
  EXPECT_NE(foreign.body.find("another program"), std::string::npos);
  HttpResponse unknown = coupon("SHOP-2222-2222-22222", "consume", R"({"order_id":"X"})");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  // An expired coupon (valid 7 days).
  ASSERT_EQ(credit(program_, alice_, 300).status, 201);
  Json ship(must_redeem("ship"));
  clock_.advance(Duration::from_days(8));
  HttpResponse expired = coupon(ship.str("/coupon/code"), "consume", R"({"order_id":"late"})");
  EXPECT_EQ(expired.status, 409) << expired.body;
  EXPECT_NE(expired.body.find("expired"), std::string::npos);
  expect_store_verified();
}

// 64 clients redeem the last 10 units at once: exactly 10 succeed.
TEST_F(RewardsApi, ParallelRedemptionsNeverOversellTheLastStock) {
  constexpr int kClients = 64;
  std::vector<std::string> members;
  for (int i = 0; i < kClients; ++i) {
    members.push_back(enroll(program_, "m" + std::to_string(i)));
    ASSERT_EQ(credit(program_, members.back(), 100).status, 201);
  }
  std::atomic<int> succeeded{0}, out_of_stock{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      auto c = new_client();
      HttpResponse r = c->post("/v1/members/" + members[static_cast<size_t>(i)] + "/redemptions",
                               R"({"reward_id":"tour"})", auth(program_.key));
      if (r.status == 201) {
        ++succeeded;
      } else if (r.status == 409 && problem_slug(r) == "out-of-stock") {
        ++out_of_stock;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(succeeded.load(), 10);
  EXPECT_EQ(out_of_stock.load(), kClients - 10);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(stock_left("tour"), 0);
  expect_store_verified();
}

// 64 redemptions of 300 points race for a member's 1,000: exactly 3 succeed.
TEST_F(RewardsApi, ParallelRedemptionsNeverOverspendTheLastPoints) {
  constexpr int kClients = 64;
  ASSERT_EQ(credit(program_, alice_, 1000).status, 201);
  std::atomic<int> succeeded{0}, short_of_points{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&] {
      auto c = new_client();
      HttpResponse r = c->post("/v1/members/" + alice_ + "/redemptions", R"({"reward_id":"ship"})",
                               auth(program_.key));
      if (r.status == 201) {
        ++succeeded;
      } else if (r.status == 422 && problem_slug(r) == "insufficient-points") {
        ++short_of_points;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(succeeded.load(), 3);  // 3 x 300 of 1,000
  EXPECT_EQ(short_of_points.load(), kClients - 3);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(available(program_, alice_), 100);
  expect_store_verified();
}

TEST_F(RewardsApi, ARedemptionReplaysUnderItsIdempotencyKeyWithoutTheCode) {
  ASSERT_EQ(credit(program_, alice_, 1000).status, 201);
  HttpResponse first = redeem(alice_, R"({"reward_id":"mug"})", "k1");
  ASSERT_EQ(first.status, 201) << first.body;
  HttpResponse replay = redeem(alice_, R"({"reward_id":"mug"})", "k1");
  ASSERT_EQ(replay.status, 201) << replay.body;
  EXPECT_EQ(Json(replay.body).str("/id"), Json(first.body).str("/id"));
  EXPECT_TRUE(Json(replay.body).at("/coupon/code").is_null());
  EXPECT_EQ(available(program_, alice_), 100);
}

TEST_F(RewardsApi, ACancelledOrderReleasesItsCoupon) {
  ASSERT_EQ(credit(program_, alice_, 1000).status, 201);
  const std::string code = Json(must_redeem("pct")).str("/coupon/code");
  const std::string now = format_rfc3339(clock_.now());
  HttpResponse order = client().post(
      "/v1/orders",
      R"({"external_id":"O-9","member_id":")" + alice_ + R"(","currency":"USD","placed_at":")" +
          now + R"(","items":[{"sku":"A","name":"Shoe","category":"shoes","quantity":1,)" +
          R"("unit_price_minor":5000}]})",
      auth(program_.key));
  ASSERT_EQ(order.status, 201) << order.body;
  ASSERT_EQ(coupon(code, "consume", R"({"order_id":"O-9"})").status, 200);
  HttpResponse cancelled =
      client().post("/v1/orders/" + Json(order.body).str("/id") + "/status",
                    R"({"event_id":"c-1","status":"cancelled","occurred_at":")" + now + R"("})",
                    auth(program_.key));
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  HttpResponse again = coupon(code, "consume", R"({"order_id":"O-10"})");
  EXPECT_EQ(again.status, 200) << again.body;
}

}  // namespace
}  // namespace loyalty::testing
