// Orders and order tracking over HTTP (docs/orders.md): earning when paid,
// vesting after the return window, refunds and cancellations under each
// refund_overspend policy, replays, guest claims, the member's order view and
// the carrier report. Every scenario ends with `loyaltyd verify` on the store.
#include <gtest/gtest.h>

#include <string>

#include "api/api_fixture.h"
#include "cli/verify.h"

namespace loyalty::testing {
namespace {

// One point per USD of eligible spend (items after discounts, without shipping
// and tax), 14-day return window from delivery unless the test says otherwise.
std::string config_json(const std::string& earning) {
  return R"({"earning": {)" + earning + R"(},
  "earn_rules": [{"id": "spend", "name": "1 point per USD", "trigger": "order", "kind": "spend",
                  "points_per_unit": 1}]})";
}

class OrdersApi : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    program_ = create_program("Shop", R"(,"negative_balance":"allow")");
    use_config(R"("return_window_days": 14, "vest_from": "delivered")");
    alice_ = enroll(program_, "alice");
  }

  void use_config(const std::string& earning) { put_config(program_, config_json(earning)); }

  // An order of two lines: A 2 x 25.00 and B 1 x 10.00, shipping 5.00: total
  // 65.00, eligible spend 60.00 = 60 points (A 50, B 10).
  static std::string order_body(const std::string& external_id, const std::string& who,
                                const std::string& status = "paid", const std::string& extra = "") {
    return R"({"external_id":")" + external_id + R"(",)" + who +
           R"(,"currency":"USD","channel":"web","placed_at":"2024-06-01T00:00:00Z","status":")" +
           status + R"(","items":[{"sku":"A","name":"Shoe","category":"shoes","quantity":2,)" +
           R"("unit_price_minor":2500},{"sku":"B","name":"Socks","category":"socks",)" +
           R"("quantity":1,"unit_price_minor":1000}],"shipping_minor":500)" + extra + "}";
  }
  // `text` with the first `from` replaced by `to`.
  static std::string replaced(std::string text, std::string_view from, std::string_view to) {
    size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  }
  std::string member_is(const std::string& member) const {
    return R"("member_id":")" + member + R"(")";
  }

  HttpResponse create(const std::string& body, const ProgramHandle* program = nullptr) {
    return client().post("/v1/orders", body, auth((program ? *program : program_).key));
  }
  std::string create_paid(const std::string& external_id, const std::string& member) {
    HttpResponse r = create(order_body(external_id, member_is(member)));
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).str("/id");
  }
  HttpResponse set_status(const std::string& order, const std::string& event_id,
                          const std::string& status, const std::string& extra = "") {
    return client().post(
        "/v1/orders/" + order + "/status",
        R"({"event_id":")" + event_id + R"(","status":")" + status + R"(")" + extra + "}",
        auth(program_.key));
  }
  HttpResponse refund(const std::string& order, const std::string& body) {
    return client().post("/v1/orders/" + order + "/refunds", body, auth(program_.key));
  }
  Json order(const std::string& id) {
    HttpResponse r = client().get("/v1/orders/" + id, auth(program_.key));
    EXPECT_EQ(r.status, 200) << r.body;
    return Json(r.body);
  }
  Json balance(const std::string& member) {
    HttpResponse r = client().get("/v1/members/" + member + "/balance", auth(program_.key));
    EXPECT_EQ(r.status, 200) << r.body;
    return Json(r.body);
  }
  static std::vector<std::string> timeline_types(const Json& order) {
    std::vector<std::string> types;
    for (size_t i = 0; i < order.size("/timeline"); ++i) {
      types.push_back(order.str("/timeline/" + std::to_string(i) + "/type"));
    }
    return types;
  }
  // What the scheduler does every second in `serve`.
  void run_scheduler() {
    engine::Command command;
    command.body = engine::CatchUp{{}, 1000, {}};
    engine::Outcome out = engine_->execute(std::move(command));
    ASSERT_TRUE(out.status.ok()) << out.status.message();
  }
  void expect_ledger_verifies() {
    auto session = store::open_session(db_url_);
    ASSERT_TRUE(session.ok()) << session.status().message();
    auto report = cli::verify_store(**session);
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_TRUE(report->problems.empty()) << cli::format_report(*report);
  }

  ProgramHandle program_;
  std::string alice_;
};

TEST_F(OrdersApi, PaidOrderEarnsPendingPointsThatVestAfterTheWindowFromDelivery) {
  HttpResponse r = create(order_body("1001", member_is(alice_)));
  ASSERT_EQ(r.status, 201) << r.body;
  Json o(r.body);
  std::string id = o.str("/id");
  EXPECT_EQ(id.substr(0, 4), "ord_");
  EXPECT_EQ(o.str("/status"), "paid");
  EXPECT_EQ(o.num("/total_minor"), 6500);
  EXPECT_EQ(o.num("/points/earned"), 60);
  EXPECT_EQ(o.num("/points/pending"), 60);
  EXPECT_TRUE(o.is_null("/points/vests_at"));  // waits for delivery
  EXPECT_EQ(o.num("/items/0/points"), 50);
  EXPECT_EQ(o.num("/items/1/points"), 10);
  EXPECT_EQ(timeline_types(o), (std::vector<std::string>{"placed", "paid", "points_pending"}));
  EXPECT_EQ(balance(alice_).num("/pending"), 60);
  EXPECT_EQ(balance(alice_).num("/available"), 0);

  ASSERT_EQ(set_status(id, "e-ship", "shipped",
                       R"(,"carrier":"UPS","tracking_number":"1Z999","promised_delivery_date":)"
                       R"("2024-06-05")")
                .status,
            200);
  r = set_status(id, "e-deliver", "delivered", R"(,"occurred_at":"2024-06-04T10:00:00Z")");
  ASSERT_EQ(r.status, 200) << r.body;
  Json delivered(r.body);
  EXPECT_EQ(delivered.str("/points/vests_at"), "2024-06-18T10:00:00Z");
  EXPECT_TRUE(delivered.boolean("/shipment/on_time"));
  EXPECT_EQ(delivered.str("/shipment/tracking_number"), "1Z999");

  clock_.set(*parse_rfc3339("2024-06-18T09:59:59Z"));
  run_scheduler();
  EXPECT_EQ(balance(alice_).num("/available"), 0);
  clock_.set(*parse_rfc3339("2024-06-18T10:00:00Z"));
  run_scheduler();
  EXPECT_EQ(balance(alice_).num("/available"), 60);
  EXPECT_EQ(balance(alice_).num("/pending"), 0);
  Json after = order(id);
  EXPECT_EQ(after.num("/points/pending"), 0);
  EXPECT_EQ(after.num("/points/vested"), 60);
  expect_ledger_verifies();
}

TEST_F(OrdersApi, VestFromPaidWithoutWindowMakesPointsAvailableAtOnce) {
  use_config(R"("return_window_days": 0, "vest_from": "paid")");
  std::string id = create_paid("1002", alice_);
  EXPECT_EQ(balance(alice_).num("/available"), 60);
  EXPECT_EQ(order(id).num("/points/vested"), 60);
  expect_ledger_verifies();
}

TEST_F(OrdersApi, OrderPlacedThenPaidEarnsWhenPaid) {
  HttpResponse r = create(order_body("1003", member_is(alice_), "placed"));
  ASSERT_EQ(r.status, 201) << r.body;
  std::string id = Json(r.body).str("/id");
  EXPECT_EQ(Json(r.body).num("/points/earned"), 0);
  EXPECT_EQ(balance(alice_).num("/pending"), 0);
  r = set_status(id, "e-paid", "paid");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r.body).num("/points/earned"), 60);
  EXPECT_EQ(balance(alice_).num("/pending"), 60);
  expect_ledger_verifies();
}

TEST_F(OrdersApi, PartialRefundsByItemAndByAmountReverseInProportion) {
  std::string id = create_paid("1004", alice_);
  // One of the two A units: 25.00 of A's 50.00, half of A's 50 points.
  HttpResponse r = refund(id, R"({"event_id":"r1","items":[{"sku":"A","quantity":1}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  Json o(r.body);
  EXPECT_EQ(o.num("/refunded_minor"), 2500);
  EXPECT_EQ(o.num("/points/reversed"), 25);
  EXPECT_EQ(o.num("/items/0/refunded_quantity"), 1);
  EXPECT_EQ(balance(alice_).num("/pending"), 35);
  // 10.00 by amount, spread over what is left: A 25.00, B 10.00, shipping 5.00
  // (of 40.00): A 6.25 (floor(50 * 31.25 / 50) - 25 = 6 points), B 2.50
  // (floor(10 * 2.5 / 10) = 2 points), shipping 1.25.
  r = refund(id, R"({"event_id":"r2","amount_minor":1000})");
  ASSERT_EQ(r.status, 200) << r.body;
  Json o2(r.body);
  EXPECT_EQ(o2.num("/refunded_minor"), 3500);
  EXPECT_EQ(o2.num("/points/reversed"), 33);
  EXPECT_EQ(balance(alice_).num("/pending"), 27);
  // The rest in full: every point is reversed, none more.
  r = refund(id, R"({"event_id":"r3","amount_minor":3000})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r.body).num("/points/reversed"), 60);
  EXPECT_EQ(balance(alice_).num("/pending"), 0);
  EXPECT_EQ(balance(alice_).num("/lifetime_earned"), 0);
  expect_ledger_verifies();
}

TEST_F(OrdersApi, RefundAboveWhatWasPaidIsRefusedAndChangesNothing) {
  std::string id = create_paid("1005", alice_);
  struct Case {
    const char* body;
    const char* slug;
  };
  for (const Case& c : {
           Case{R"({"event_id":"x1","amount_minor":6501})", "refund-exceeds-paid"},
           Case{R"({"event_id":"x2","items":[{"sku":"A","quantity":3}]})", "refund-exceeds-paid"},
           Case{R"({"event_id":"x3","items":[{"line":2,"quantity":2}]})", "refund-exceeds-paid"},
           Case{R"({"event_id":"x4","items":[{"sku":"Z","quantity":1}]})", "invalid-request"},
           Case{R"({"event_id":"x5","amount_minor":-1})", "invalid-request"},
           Case{R"({"event_id":"x6"})", "invalid-request"},
       }) {
    HttpResponse r = refund(id, c.body);
    EXPECT_EQ(problem_slug(r), c.slug) << c.body << " -> " << r.body;
  }
  ASSERT_EQ(refund(id, R"({"event_id":"ok","amount_minor":6000})").status, 200);
  HttpResponse over = refund(id, R"({"event_id":"x7","amount_minor":501})");
  EXPECT_EQ(over.status, 422);
  Json o = order(id);
  EXPECT_EQ(o.num("/refunded_minor"), 6000);
  // Only the accepted refund is on the timeline.
  EXPECT_EQ(timeline_types(o), (std::vector<std::string>{"placed", "paid", "points_pending",
                                                         "refunded", "points_reversed"}));
  expect_ledger_verifies();
}

TEST_F(OrdersApi, StatusGoingBackwardsOrLeavingAFinalStateIs409) {
  std::string id = create_paid("1006", alice_);
  ASSERT_EQ(set_status(id, "s1", "delivered").status, 200);
  HttpResponse back = set_status(id, "s2", "paid");
  EXPECT_EQ(back.status, 409);
  EXPECT_EQ(problem_slug(back), "invalid-order-transition");
  EXPECT_EQ(set_status(id, "s3", "cancelled").status, 409);  // delivered: return it
  ASSERT_EQ(set_status(id, "s4", "returned").status, 200);
  EXPECT_EQ(set_status(id, "s5", "shipped").status, 409);
  EXPECT_EQ(order(id).str("/status"), "returned");
  expect_ledger_verifies();
}

TEST_F(OrdersApi, CancelBeforeVestingReversesEveryPendingPoint) {
  std::string id = create_paid("1007", alice_);
  HttpResponse r = set_status(id, "c1", "cancelled");
  ASSERT_EQ(r.status, 200) << r.body;
  Json o(r.body);
  EXPECT_EQ(o.num("/points/reversed"), 60);
  EXPECT_EQ(o.num("/points/standing"), 0);
  Json b = balance(alice_);
  EXPECT_EQ(b.num("/pending"), 0);
  EXPECT_EQ(b.num("/lifetime_earned"), 0);
  // The clawback posting names the order.
  Json postings(client().get("/v1/members/" + alice_ + "/postings", auth(program_.key)).body);
  EXPECT_EQ(postings.str("/data/0/kind"), "clawback");
  EXPECT_EQ(postings.str("/data/0/source"), "order");
  // An order's postings change only with the order.
  HttpResponse reverse = client().post("/v1/postings/" + postings.str("/data/1/id") + "/reversal",
                                       "", auth(program_.key));
  EXPECT_EQ(reverse.status, 422) << reverse.body;
  expect_ledger_verifies();
}

TEST_F(OrdersApi, BadInputIsAPreciseErrorAndWritesNothing) {
  struct Case {
    std::string body;
    int status;
    const char* slug;
  };
  std::string member = member_is(alice_);
  std::vector<Case> cases = {
      {replaced(order_body("b1", member), "USD", "EUR"), 422, "currency-mismatch"},
      {order_body("b2", R"("member_id":"mem_999")"), 404, "not-found"},
      {order_body("b3", R"("member_external_id":"nobody")"), 404, "not-found"},
      {replaced(order_body("b4", member), R"("quantity":2)", R"("quantity":-2)"), 400,
       "invalid-request"},
      {replaced(order_body("b5", member), "2500", "-2500"), 400, "invalid-request"},
      {order_body("b6", member, "delivered"), 400, "invalid-request"},
      {order_body("b7", member, "paid", R"(,"discount_minor":7000)"), 400, "invalid-request"},
  };
  for (const Case& c : cases) {
    HttpResponse r = create(c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    EXPECT_EQ(problem_slug(r), c.slug) << r.body;
  }
  Json list(client().get("/v1/members/" + alice_ + "/orders", auth(program_.key)).body);
  EXPECT_EQ(list.size("/data"), 0u);
  EXPECT_EQ(balance(alice_).num("/pending"), 0);
}

TEST_F(OrdersApi, DuplicatePlatformEventIdIsAReplay) {
  std::string id = create_paid("1008", alice_);
  ASSERT_EQ(set_status(id, "ship-1", "shipped", R"(,"carrier":"DHL")").status, 200);
  HttpResponse again = set_status(id, "ship-1", "shipped", R"(,"carrier":"DHL")");
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(Json(again.body).size("/timeline"), 4u);
  HttpResponse other = set_status(id, "ship-1", "delivered");
  EXPECT_EQ(other.status, 422);
  EXPECT_EQ(problem_slug(other), "idempotency-key-reused");

  ASSERT_EQ(refund(id, R"({"event_id":"rf","amount_minor":3250})").status, 200);
  HttpResponse replay = refund(id, R"({"event_id":"rf","amount_minor":3250})");
  ASSERT_EQ(replay.status, 200);
  EXPECT_EQ(Json(replay.body).num("/refunded_minor"), 3250);
  EXPECT_EQ(Json(replay.body).num("/points/reversed"), 30);
  EXPECT_EQ(balance(alice_).num("/pending"), 30);

  // The creation itself: the same body again is the same order; another body 409.
  HttpResponse same = create(order_body("1008", member_is(alice_)));
  EXPECT_EQ(same.status, 200) << same.body;
  EXPECT_EQ(Json(same.body).str("/id"), id);
  HttpResponse different = create(order_body("1008", member_is(alice_), "placed"));
  EXPECT_EQ(different.status, 409) << different.body;
  expect_ledger_verifies();
}

// A full refund of points the member already spent (60 earned, 50 spent).
struct OverspendCase {
  const char* policy;
  const char* negative_balance;  // the program's
  bool other_pending;            // a pending credit of 30 the clawback may take
  int64_t available_after;
  int64_t pending_after;
  int64_t reversed;
  int64_t written_off;
};

void PrintTo(const OverspendCase& c, std::ostream* os) {
  *os << c.policy << " (program " << c.negative_balance << ")";
}

class OrderOverspend : public OrdersApi, public ::testing::WithParamInterface<OverspendCase> {};

TEST_P(OrderOverspend, RefundAfterSpendingFollowsThePolicy) {
  const OverspendCase& c = GetParam();
  ASSERT_EQ(client()
                .patch("/v1/programs/" + program_.id,
                       std::string(R"({"negative_balance":")") + c.negative_balance + R"("})",
                       auth(program_.key))
                .status,
            200);
  use_config(std::string(R"("return_window_days": 0, "vest_from": "paid", "refund_overspend": ")") +
             c.policy + R"(")");
  std::string id = create_paid("2001", alice_);
  ASSERT_EQ(available(program_, alice_), 60);
  ASSERT_EQ(client()
                .post("/v1/members/" + alice_ + "/debits", R"({"points":50})", auth(program_.key))
                .status,
            201);
  if (c.other_pending) {
    ASSERT_EQ(
        client()
            .post("/v1/members/" + alice_ + "/credits",
                  R"({"points":30,"available_at":"2024-07-01T00:00:00Z"})", auth(program_.key))
            .status,
        201);
  }
  HttpResponse r = refund(id, R"({"event_id":"full","amount_minor":6500})");
  ASSERT_EQ(r.status, 200) << r.body;
  Json o(r.body);
  EXPECT_EQ(o.num("/points/reversed"), c.reversed);
  EXPECT_EQ(o.num("/points/written_off"), c.written_off);
  Json b = balance(alice_);
  EXPECT_EQ(b.num("/available"), c.available_after);
  EXPECT_EQ(b.num("/pending"), c.pending_after);
  if (c.written_off > 0) {
    EXPECT_EQ(timeline_types(o).back(), "points_written_off");
  }
  expect_ledger_verifies();
}

INSTANTIATE_TEST_SUITE_P(
    Policies, OrderOverspend,
    ::testing::Values(
        // The member owes the 50 spent points.
        OverspendCase{"negative_balance", "allow", false, -50, 0, 60, 0},
        // A program that forbids negative balances writes the debt off instead.
        OverspendCase{"negative_balance", "forbid", false, 0, 0, 10, 50},
        // 10 from the order's lot, 30 from the other pending credit, 20 written off.
        OverspendCase{"claw_back_pending", "forbid", true, 0, 0, 40, 20},
        // 10 from the order's lot; the merchant absorbs the 50 spent.
        OverspendCase{"write_off", "allow", true, 0, 30, 10, 50}),
    [](const auto& info) {
      return std::string(info.param.policy) + "_" + info.param.negative_balance;
    });

TEST_F(OrdersApi, GuestOrderIsClaimedWhenTheCustomerEnrollsWithinTheWindow) {
  use_config(R"("return_window_days": 14, "vest_from": "delivered", "guest_order_claim_days": 30)");
  clock_.set(*parse_rfc3339("2024-06-10T00:00:00Z"));
  HttpResponse guest = create(order_body(
      "3001", R"("customer":{"external_id":"shop-cust-9","email":"Guest@Example.com"})"));
  ASSERT_EQ(guest.status, 201) << guest.body;
  Json g(guest.body);
  EXPECT_TRUE(g.is_null("/member_id"));
  EXPECT_EQ(g.str("/customer/email"), "guest@example.com");
  EXPECT_EQ(g.num("/points/earned"), 0);
  // Placed 40 days before enrollment: outside the window.
  HttpResponse old =
      create(replaced(order_body("3002", R"("customer":{"email":"guest@example.com"})"),
                      "2024-06-01", "2024-05-01"));
  ASSERT_EQ(old.status, 201) << old.body;

  std::string member = enroll(program_, "new-member", "guest@example.com");
  Json mine(client().get("/v1/members/" + member + "/orders", auth(program_.key)).body);
  ASSERT_EQ(mine.size("/data"), 1u);
  EXPECT_EQ(mine.str("/data/0/external_id"), "3001");
  EXPECT_EQ(mine.num("/data/0/points/earned"), 60);
  EXPECT_EQ(mine.num("/data/0/points/pending"), 60);
  EXPECT_EQ(
      timeline_types(Json(client().get("/v1/orders/" + g.str("/id"), auth(program_.key)).body))
          .back(),
      "points_pending");
  EXPECT_EQ(balance(member).num("/pending"), 60);

  // A guest checkout after enrollment is claimed on request.
  ASSERT_EQ(create(order_body("3003", R"("customer":{"email":"guest@example.com"})")).status, 201);
  HttpResponse claim =
      client().post("/v1/members/" + member + "/orders:claim", "", auth(program_.key));
  ASSERT_EQ(claim.status, 200) << claim.body;
  EXPECT_EQ(Json(claim.body).num("/points"), 60);
  EXPECT_EQ(Json(claim.body).size("/orders"), 1u);
  EXPECT_EQ(balance(member).num("/pending"), 120);
  expect_ledger_verifies();
}

TEST_F(OrdersApi, WhereIsMyOrderListsOrdersNewestFirstWithTimelinesAndPoints) {
  std::string first = create_paid("4001", alice_);
  std::string second = create_paid("4002", alice_);
  std::string third = create_paid("4003", alice_);
  ASSERT_EQ(
      set_status(second, "sh", "shipped", R"(,"carrier":"UPS","tracking_number":"T2")").status,
      200);
  Json page(client().get("/v1/members/" + alice_ + "/orders?limit=2", auth(program_.key)).body);
  ASSERT_EQ(page.size("/data"), 2u);
  EXPECT_EQ(page.str("/data/0/id"), third);
  EXPECT_EQ(page.str("/data/1/id"), second);
  EXPECT_EQ(page.str("/data/1/shipment/carrier"), "UPS");
  EXPECT_EQ(page.str("/data/1/timeline/3/type"), "shipped");
  EXPECT_EQ(page.num("/data/1/points/pending"), 60);
  std::string cursor = page.str("/next_cursor");
  Json next(
      client()
          .get("/v1/members/" + alice_ + "/orders?limit=2&cursor=" + cursor, auth(program_.key))
          .body);
  ASSERT_EQ(next.size("/data"), 1u);
  EXPECT_EQ(next.str("/data/0/id"), first);
  EXPECT_TRUE(next.is_null("/next_cursor"));
  Json found(client().get("/v1/orders?external_id=4002", auth(program_.key)).body);
  ASSERT_EQ(found.size("/data"), 1u);
  EXPECT_EQ(found.str("/data/0/id"), second);
}

TEST_F(OrdersApi, CarrierReportGivesTheOnTimeRatePerCarrier) {
  struct Delivery {
    const char* carrier;
    const char* promised;
    const char* delivered_at;  // UTC; the program's zone is Europe/Berlin
  };
  int n = 0;
  for (const Delivery& d : {
           Delivery{"UPS", "2024-06-05", "2024-06-05T21:59:00Z"},  // 23:59 in Berlin: on time
           Delivery{"UPS", "2024-06-05", "2024-06-05T22:01:00Z"},  // 00:01 next day: late
           Delivery{"DHL", "2024-06-07", "2024-06-03T12:00:00Z"},
       }) {
    std::string id = create_paid("5" + std::to_string(n), alice_);
    ASSERT_EQ(set_status(id, "s" + std::to_string(n), "shipped",
                         std::string(R"(,"carrier":")") + d.carrier +
                             R"(","promised_delivery_date":")" + d.promised + R"(")")
                  .status,
              200);
    ASSERT_EQ(set_status(id, "d" + std::to_string(n), "delivered",
                         std::string(R"(,"occurred_at":")") + d.delivered_at + R"(")")
                  .status,
              200);
    ++n;
  }
  HttpResponse r = client().get(
      "/v1/reports/carriers?from=2024-06-01T00:00:00Z&to=2024-07-01T00:00:00Z", auth(program_.key));
  ASSERT_EQ(r.status, 200) << r.body;
  Json report(r.body);
  ASSERT_EQ(report.size("/carriers"), 2u);
  EXPECT_EQ(report.str("/carriers/0/carrier"), "DHL");
  EXPECT_EQ(report.num("/carriers/0/on_time_rate_bp"), 10000);
  EXPECT_EQ(report.str("/carriers/1/carrier"), "UPS");
  EXPECT_EQ(report.num("/carriers/1/delivered"), 2);
  EXPECT_EQ(report.num("/carriers/1/on_time"), 1);
  EXPECT_EQ(report.num("/carriers/1/on_time_rate_bp"), 5000);
  Json empty(client()
                 .get("/v1/reports/carriers?from=2024-07-01T00:00:00Z&to=2024-08-01T00:00:00Z",
                      auth(program_.key))
                 .body);
  EXPECT_EQ(empty.size("/carriers"), 0u);
}

TEST_F(OrdersApi, AnotherProgramsOrderIs404) {
  std::string id = create_paid("6001", alice_);
  ProgramHandle other = create_program("Other");
  Headers key = auth(other.key);
  EXPECT_EQ(client().get("/v1/orders/" + id, key).status, 404);
  EXPECT_EQ(client()
                .post("/v1/orders/" + id + "/status", R"({"event_id":"x","status":"shipped"})", key)
                .status,
            404);
  EXPECT_EQ(client()
                .post("/v1/orders/" + id + "/refunds", R"({"event_id":"x","amount_minor":1})", key)
                .status,
            404);
  EXPECT_EQ(client().get("/v1/members/" + alice_ + "/orders", key).status, 404);
  Json none(client().get("/v1/orders?external_id=6001", key).body);
  EXPECT_EQ(none.size("/data"), 0u);
  // The same external id is free in another program.
  HttpResponse mine = create(order_body("6001", R"("customer":{"external_id":"c"})"), &other);
  EXPECT_EQ(mine.status, 201) << mine.body;
}

}  // namespace
}  // namespace loyalty::testing
