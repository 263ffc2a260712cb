// What earn rules read, over HTTP (docs/rules.md "What an expression can read"):
// member attributes and order statistics on every trigger, the attributes of
// orders and their items sent with POST /v1/orders. Each rule has a case where
// it fires and one where it does not.
#include <gtest/gtest.h>

#include <string>

#include "api/api_fixture.h"

namespace loyalty::testing {
namespace {

// USD program; every rule awards a distinct amount so the balance tells which fired.
constexpr const char* kConfig = R"({
  "earn_rules": [
    {"id": "vip-review", "trigger": "event", "event_type": "review_written", "kind": "fixed",
     "points": 7, "condition": "member.attributes[\"vip\"] == \"yes\""},
    {"id": "big-spender-review", "trigger": "event", "event_type": "review_written",
     "kind": "fixed", "points": 1000, "condition": "member.total_spent >= 100"},
    {"id": "store-signup", "trigger": "signup", "kind": "fixed", "points": 3,
     "condition": "member.attributes.source == \"store\""},
    {"id": "loyal-order", "trigger": "order", "kind": "fixed", "points": 50,
     "condition": "member.orders_count >= 3"},
    {"id": "partner-order", "trigger": "order", "kind": "fixed", "points": 20,
     "condition": "order.attributes[\"channel_partner\"] == \"x\""},
    {"id": "acme-items", "trigger": "order", "kind": "fixed", "points": 2, "per_unit": true,
     "item_filter": "item.attributes[\"brand\"] == \"acme\""}
  ]
})";

class RuleContextApi : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    program_ = create_program();
    put_config(program_, kConfig);
  }

  std::string enroll_with(const std::string& external_id, const std::string& attributes) {
    HttpResponse r =
        client().post("/v1/members",
                      R"({"external_id":")" + external_id + R"(","email":")" + external_id +
                          R"(@example.com","attributes":)" + attributes + "}",
                      auth(program_.key));
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).str("/id");
  }

  // A paid order of one line `quantity` x 10.00 USD; `extra` adds fields (attributes).
  HttpResponse order(const std::string& member, const std::string& external_id,
                     const std::string& item_attributes = "{}", const std::string& extra = "",
                     int quantity = 1) {
    return client().post(
        "/v1/orders",
        R"({"external_id":")" + external_id + R"(","member_id":")" + member +
            R"(","currency":"USD","placed_at":"2024-06-01T00:00:00Z","status":"paid",)" +
            R"("items":[{"sku":"S","name":"Shirt","category":"shirts","quantity":)" +
            std::to_string(quantity) + R"(,"unit_price_minor":1000,"attributes":)" +
            item_attributes + "}]" + extra + "}",
        auth(program_.key));
  }
  int64_t order_points(const HttpResponse& r) {
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).num("/points/earned");
  }
  HttpResponse review(const std::string& member, const std::string& id) {
    return client().post(
        "/v1/events",
        R"({"id":")" + id + R"(","member_id":")" + member + R"(","type":"review_written"})",
        auth(program_.key));
  }
  Json member(const std::string& id) {
    HttpResponse r = client().get("/v1/members/" + id, auth(program_.key));
    EXPECT_EQ(r.status, 200) << r.body;
    return Json(r.body);
  }

  ProgramHandle program_;
};

TEST_F(RuleContextApi, EventRuleReadsMemberAttributes) {
  const std::string vip = enroll_with("vip", R"({"vip":"yes"})");
  const std::string regular = enroll_with("regular", R"({"vip":"no"})");
  Json awarded(review(vip, "r-1").body);
  EXPECT_EQ(awarded.num("/points"), 7);
  EXPECT_EQ(awarded.str("/rules/0/outcome"), "awarded");
  Json skipped(review(regular, "r-2").body);
  EXPECT_EQ(skipped.num("/points"), 0);
  EXPECT_EQ(skipped.str("/rules/0/outcome"), "condition_false");
}

TEST_F(RuleContextApi, SignupRuleReadsTheNewMembersAttributes) {
  EXPECT_EQ(available(program_, enroll_with("in-store", R"({"source":"store","age":41})")), 3);
  EXPECT_EQ(available(program_, enroll_with("online", R"({"source":"web"})")), 0);
}

TEST_F(RuleContextApi, OrderRuleReadsHowManyOrdersTheMemberPaidBefore) {
  const std::string m = enroll_with("m", "{}");
  // The first three orders see 0, 1, 2 earlier paid orders: no bonus.
  EXPECT_EQ(order_points(order(m, "o-1")), 0);
  EXPECT_EQ(order_points(order(m, "o-2")), 0);
  EXPECT_EQ(order_points(order(m, "o-3")), 0);
  EXPECT_EQ(member(m).num("/orders_count"), 3);
  EXPECT_EQ(order_points(order(m, "o-4")), 50);
  // A cancelled order stops counting: the next order sees 3 again, then one
  // cancelled more, 2.
  for (const char* id : {"o-1", "o-2"}) {
    std::string order_id =
        Json(client().get(std::string("/v1/orders?external_id=") + id, auth(program_.key)).body)
            .str("/data/0/id");
    HttpResponse c = client().post(
        "/v1/orders/" + order_id + "/status",
        std::string(R"({"event_id":"c-)") + id + R"(","status":"cancelled"})", auth(program_.key));
    ASSERT_EQ(c.status, 200) << c.body;
  }
  EXPECT_EQ(member(m).num("/orders_count"), 2);
  EXPECT_EQ(order_points(order(m, "o-5")), 0);
  EXPECT_EQ(member(m).num("/orders_count"), 3);
}

TEST_F(RuleContextApi, MemberTotalSpentIsPaidOrdersNetOfRefunds) {
  const std::string m = enroll_with("m", "{}");
  EXPECT_EQ(order_points(order(m, "o-1", "{}", "", 12)), 0);  // 120.00 USD
  Json after_order = member(m);
  EXPECT_EQ(after_order.num("/orders_count"), 1);
  EXPECT_EQ(after_order.num("/total_spent_minor"), 12000);
  EXPECT_EQ(Json(review(m, "r-1").body).num("/points"), 1000);  // total_spent >= 100

  std::string order_id =
      Json(client().get("/v1/orders?external_id=o-1", auth(program_.key)).body).str("/data/0/id");
  HttpResponse refund =
      client().post("/v1/orders/" + order_id + "/refunds",
                    R"({"event_id":"rf-1","amount_minor":2500})", auth(program_.key));
  ASSERT_EQ(refund.status, 200) << refund.body;
  Json after_refund = member(m);
  EXPECT_EQ(after_refund.num("/orders_count"), 1);
  EXPECT_EQ(after_refund.num("/total_spent_minor"), 9500);
  EXPECT_EQ(Json(review(m, "r-2").body).num("/points"), 0);  // 95.00 < 100
}

TEST_F(RuleContextApi, OrderRuleReadsOrderAttributes) {
  const std::string m = enroll_with("m", "{}");
  EXPECT_EQ(order_points(order(m, "o-x", "{}", R"(,"attributes":{"channel_partner":"x"})")), 20);
  EXPECT_EQ(order_points(order(m, "o-y", "{}", R"(,"attributes":{"channel_partner":"y"})")), 0);
  EXPECT_EQ(order_points(order(m, "o-none")), 0);
  // GET returns the attributes as they were sent.
  Json got(client().get("/v1/orders?external_id=o-x", auth(program_.key)).body);
  EXPECT_EQ(got.str("/data/0/attributes/channel_partner"), "x");
}

TEST_F(RuleContextApi, ItemFilterReadsItemAttributes) {
  const std::string m = enroll_with("m", "{}");
  // 2 points per unit of an acme item: 3 units.
  HttpResponse acme = order(m, "o-acme", R"({"brand":"acme","size":42})", "", 3);
  EXPECT_EQ(order_points(acme), 6);
  EXPECT_EQ(Json(acme.body).str("/items/0/attributes/brand"), "acme");
  EXPECT_EQ(order_points(order(m, "o-other", R"({"brand":"other"})", "", 3)), 0);
}

}  // namespace
}  // namespace loyalty::testing
