// Gift cards over HTTP (docs/gift-cards.md): issue with the code and PIN shown
// once, balance checks, partial spend through a hold and its capture,
// release, over-capture, wrong PINs counted and then 429 with Retry-After,
// physical import and activation, a gift_card reward's redemption, bad input
// changing nothing, and codes and PINs absent from the server's logs.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <memory>
#include <sstream>
#include <string>

#include "api/api_fixture.h"
#include "domain/gift_cards.h"

namespace loyalty::testing {
namespace {

constexpr const char* kGiftCatalog = R"(
rewards:
  - {id: gift-25, name: "25.00 gift card", type: gift_card, cost: 2500, amount: "25.00"}
)";

class GiftCardsApi : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    program_ = create_program("Shop");
  }

  HttpResponse post(const std::string& path, const std::string& body,
                    const std::string& idempotency_key = "") {
    return client().post(
        path, body,
        idempotency_key.empty() ? auth(program_.key) : auth(program_.key, idempotency_key));
  }
  // Issues a card bought in the shop; returns the response body.
  Json issue(int64_t amount_minor) {
    HttpResponse r = post("/v1/gift-cards", R"({"amount_minor":)" + std::to_string(amount_minor) +
                                                R"(,"currency":"USD","source":"purchase",)"
                                                R"("source_ref":"order-7",)"
                                                R"("recipient_email":"Friend@Example.com",)"
                                                R"("message":"Enjoy!"})");
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body);
  }
  HttpResponse check(const std::string& code, const std::string& pin) {
    return post("/v1/gift-cards:check", R"({"code":")" + code + R"(","pin":")" + pin + R"("})");
  }
  HttpResponse hold(const std::string& code, const std::string& pin, int64_t amount_minor) {
    return post("/v1/gift-cards/holds", R"({"code":")" + code + R"(","pin":")" + pin +
                                            R"(","amount_minor":)" + std::to_string(amount_minor) +
                                            R"(,"currency":"USD","order_ref":"A-1"})");
  }
  Json card(const std::string& id) {
    HttpResponse r = client().get("/v1/gift-cards/" + id, auth(program_.key));
    EXPECT_EQ(r.status, 200) << r.body;
    return Json(r.body);
  }

  ProgramHandle program_;
};

TEST_F(GiftCardsApi, AnIssuedCardIsCheckedAndSpentInPartThroughAHold) {
  Json issued = issue(5000);
  const std::string id = issued.str("/gift_card/id");
  const std::string code = issued.str("/code");
  const std::string pin = issued.str("/pin");
  EXPECT_EQ(issued.str("/gift_card/status"), "active");
  EXPECT_EQ(issued.str("/gift_card/recipient_email"), "friend@example.com");
  const std::string normalized = *normalize_gift_card_code(code);
  EXPECT_EQ(issued.str("/gift_card/code_hint"), normalized.substr(normalized.size() - 4));

  // Reads never show the code.
  HttpResponse read = client().get("/v1/gift-cards/" + id, auth(program_.key));
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.body.find(code), std::string::npos);
  EXPECT_EQ(read.body.find(normalized), std::string::npos);

  // Lower case and without dashes is the same code.
  std::string typed = normalized;
  for (char& c : typed) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  HttpResponse checked = check(typed, pin);
  ASSERT_EQ(checked.status, 200) << checked.body;
  EXPECT_EQ(Json(checked.body).num("/balance_minor"), 5000);

  HttpResponse held = hold(code, pin, 3000);
  ASSERT_EQ(held.status, 201) << held.body;
  const std::string hold_id = Json(held.body).str("/hold/id");
  EXPECT_EQ(Json(held.body).num("/gift_card/balance_minor"), 2000);
  EXPECT_EQ(Json(held.body).num("/gift_card/held_minor"), 3000);

  HttpResponse over =
      post("/v1/gift-cards/holds/" + hold_id + ":capture", R"({"amount_minor":3001})");
  EXPECT_EQ(over.status, 422) << over.body;
  EXPECT_EQ(problem_slug(over), "capture-exceeds-hold");
  HttpResponse captured =
      post("/v1/gift-cards/holds/" + hold_id + ":capture", R"({"amount_minor":1200})", "cap-1");
  ASSERT_EQ(captured.status, 200) << captured.body;
  EXPECT_EQ(Json(captured.body).str("/hold/status"), "captured");
  EXPECT_EQ(Json(captured.body).num("/gift_card/balance_minor"), 3800);
  HttpResponse again =
      post("/v1/gift-cards/holds/" + hold_id + ":capture", R"({"amount_minor":1200})", "cap-1");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.header("Idempotent-Replayed"), "true");
  HttpResponse twice = post("/v1/gift-cards/holds/" + hold_id + ":capture", "{}");
  EXPECT_EQ(twice.status, 409) << twice.body;
  EXPECT_EQ(problem_slug(twice), "hold-not-open");

  // A second hold released: everything comes back.
  HttpResponse second = hold(code, pin, 800);
  ASSERT_EQ(second.status, 201) << second.body;
  HttpResponse released =
      post("/v1/gift-cards/holds/" + Json(second.body).str("/hold/id") + ":release", "");
  ASSERT_EQ(released.status, 200) << released.body;
  EXPECT_EQ(Json(released.body).num("/gift_card/balance_minor"), 3800);

  HttpResponse too_much = hold(code, pin, 3801);
  EXPECT_EQ(too_much.status, 422) << too_much.body;
  EXPECT_EQ(problem_slug(too_much), "insufficient-balance");

  Json detail = card(id);
  EXPECT_EQ(detail.num("/balance_minor"), 3800);
  EXPECT_EQ(detail.size("/holds"), 2u);
  EXPECT_EQ(detail.size("/transactions"), 6u);  // issue, hold, capture, release, hold, release
  EXPECT_EQ(detail.str("/transactions/2/kind"), "capture");
  EXPECT_EQ(detail.num("/transactions/2/amount_minor"), 1200);
}

TEST_F(GiftCardsApi, AReplayedIssueAnswersTheCardWithoutItsCodeAndPin) {
  const std::string body =
      R"({"amount_minor":1000,"currency":"USD","source":"admin","message":"Thanks"})";
  HttpResponse first = post("/v1/gift-cards", body, "issue-1");
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_FALSE(Json(first.body).is_null("/code"));
  HttpResponse replay = post("/v1/gift-cards", body, "issue-1");
  ASSERT_EQ(replay.status, 201) << replay.body;
  EXPECT_EQ(replay.header("Idempotent-Replayed"), "true");
  EXPECT_TRUE(Json(replay.body).is_null("/code"));
  EXPECT_TRUE(Json(replay.body).is_null("/pin"));
  EXPECT_EQ(Json(replay.body).str("/gift_card/id"), Json(first.body).str("/gift_card/id"));
}

TEST_F(GiftCardsApi, BadInputIsAPreciseProblemAndWritesNothing) {
  struct Case {
    std::string body;
    int status;
    std::string slug;
    std::string field;
  };
  const Case cases[] = {
      {R"({"amount_minor":0,"currency":"USD","source":"admin"})", 400, "invalid-request",
       "amount_minor"},
      {R"({"amount_minor":1.5,"currency":"USD","source":"admin"})", 400, "invalid-request",
       "amount_minor"},
      {R"({"amount_minor":100,"currency":"USD","source":"reward"})", 400, "invalid-request",
       "source"},
      {R"({"amount_minor":100,"currency":"USD","source":"purchase"})", 400, "invalid-request",
       "source_ref"},
      {R"({"amount_minor":100,"currency":"USD","source":"admin","recipient_email":"nope"})", 400,
       "invalid-request", "recipient_email"},
      {R"({"amount_minor":100,"currency":"USD","source":"admin","pin":"1234"})", 400,
       "invalid-request", "pin"},
      {R"({"amount_minor":100,"currency":"EUR","source":"admin"})", 422, "currency-mismatch", ""},
  };
  for (const Case& c : cases) {
    HttpResponse r = post("/v1/gift-cards", c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    EXPECT_EQ(problem_slug(r), c.slug) << r.body;
    if (!c.field.empty()) {
      EXPECT_EQ(Json(r.body).str("/errors/0/field"), c.field) << r.body;
    }
  }
  // A batch with one bad number imports nothing.
  HttpResponse bad = post("/v1/gift-cards:import",
                          R"({"batch_ref":"b1","cards":[{"number":"603500000000001","pin":"1234"},)"
                          R"({"number":"12-34","pin":"1234"}]})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(Json(bad.body).str("/errors/0/field"), "cards[1].number");
  HttpResponse activate = post("/v1/gift-cards:activate",
                               R"({"code":"603500000000001","amount_minor":100,"currency":"USD"})");
  EXPECT_EQ(activate.status, 404) << activate.body;
  HttpResponse outbox = client().get("/v1/outbox", auth(program_.key));
  ASSERT_EQ(outbox.status, 200);
  EXPECT_EQ(Json(outbox.body).size("/data"), 0u);
}

TEST_F(GiftCardsApi, WrongPinsAreCountedThen429WithRetryAfter) {
  Json issued = issue(1000);
  const std::string code = issued.str("/code");
  const std::string pin = issued.str("/pin");
  const std::string wrong = pin == "000000" ? "000001" : "000000";
  for (int i = 0; i < kGiftCardAttemptLimits.card_failures; ++i) {
    HttpResponse r = i % 2 == 0 ? check(code, wrong) : hold(code, wrong, 100);
    EXPECT_EQ(r.status, 422) << r.body;
    EXPECT_EQ(problem_slug(r), "gift-card-rejected");
  }
  HttpResponse locked = check(code, pin);
  EXPECT_EQ(locked.status, 429) << locked.body;
  EXPECT_EQ(problem_slug(locked), "too-many-attempts");
  const std::string retry_after = locked.header("Retry-After");
  ASSERT_FALSE(retry_after.empty());
  EXPECT_GT(std::stoll(retry_after), 0);
  EXPECT_LE(std::stoll(retry_after), 3600);
  EXPECT_EQ(locked.body.find(code), std::string::npos);
  // The window ends: the right PIN works again and nothing was spent.
  clock_.advance(Duration::from_seconds(std::stoll(retry_after)));
  HttpResponse fine = check(code, pin);
  ASSERT_EQ(fine.status, 200) << fine.body;
  EXPECT_EQ(Json(fine.body).num("/balance_minor"), 1000);
}

TEST_F(GiftCardsApi, PhysicalCardsAreImportedThenActivatedOnSale) {
  HttpResponse imported =
      post("/v1/gift-cards:import",
           R"({"batch_ref":"print-2026-05","cards":[{"number":"6035 1111 2222 3333","pin":"4321"},)"
           R"({"number":"6035 1111 2222 4444","pin":"8765"}]})");
  ASSERT_EQ(imported.status, 201) << imported.body;
  EXPECT_EQ(Json(imported.body).num("/imported"), 2);
  const std::string id = Json(imported.body).str("/ids/0");
  EXPECT_EQ(card(id).str("/status"), "inactive");
  EXPECT_EQ(card(id).str("/code_hint"), "3333");

  HttpResponse unsold = hold("6035111122223333", "4321", 100);
  EXPECT_EQ(unsold.status, 409) << unsold.body;
  EXPECT_EQ(problem_slug(unsold), "gift-card-not-usable");
  HttpResponse sold = post(
      "/v1/gift-cards:activate",
      R"({"code":"6035-1111-2222-3333","amount_minor":2000,"currency":"USD","order_ref":"P-1"})");
  ASSERT_EQ(sold.status, 200) << sold.body;
  EXPECT_EQ(Json(sold.body).str("/status"), "active");
  EXPECT_EQ(Json(sold.body).num("/balance_minor"), 2000);
  HttpResponse resold = post("/v1/gift-cards:activate",
                             R"({"code":"6035111122223333","amount_minor":2000,"currency":"USD"})");
  EXPECT_EQ(resold.status, 409) << resold.body;
  HttpResponse checked = check("6035 1111 2222 3333", "4321");
  ASSERT_EQ(checked.status, 200) << checked.body;
  EXPECT_EQ(Json(checked.body).num("/balance_minor"), 2000);
  HttpResponse duplicate = post("/v1/gift-cards:import",
                                R"({"batch_ref":"again","cards":[{"number":"6035 1111 2222 4444",)"
                                R"("pin":"1111"}]})");
  EXPECT_EQ(duplicate.status, 409) << duplicate.body;
}

TEST_F(GiftCardsApi, RedeemingAGiftCardRewardIssuesACardOfItsValue) {
  put_config(program_, kGiftCatalog, /*yaml=*/true);
  const std::string alice = enroll(program_, "alice");
  ASSERT_EQ(credit(program_, alice, 3000).status, 201);
  HttpResponse redeemed =
      post("/v1/members/" + alice + "/redemptions", R"({"reward_id":"gift-25"})", "redeem-1");
  ASSERT_EQ(redeemed.status, 201) << redeemed.body;
  Json r(redeemed.body);
  EXPECT_EQ(r.str("/reward_type"), "gift_card");
  EXPECT_EQ(r.num("/amount_minor"), 2500);
  EXPECT_TRUE(r.is_null("/coupon"));
  EXPECT_EQ(available(program_, alice), 500);
  const std::string code = r.str("/gift_card/code");
  const std::string pin = r.str("/gift_card/pin");
  Json issued = card(r.str("/gift_card/id"));
  EXPECT_EQ(issued.str("/source"), "reward");
  EXPECT_EQ(issued.str("/source_ref"), r.str("/id"));
  EXPECT_EQ(issued.str("/member_id"), alice);
  EXPECT_EQ(issued.str("/recipient_email"), "alice@example.com");
  EXPECT_EQ(issued.num("/balance_minor"), 2500);

  HttpResponse replay =
      post("/v1/members/" + alice + "/redemptions", R"({"reward_id":"gift-25"})", "redeem-1");
  EXPECT_EQ(replay.status, 201);
  EXPECT_TRUE(Json(replay.body).is_null("/gift_card/code"));

  HttpResponse held = hold(code, pin, 2500);
  ASSERT_EQ(held.status, 201) << held.body;
  // Reads of the redemption show the card, live, without its code and PIN.
  HttpResponse read =
      client().get("/v1/members/" + alice + "/redemptions/" + r.str("/id"), auth(program_.key));
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(Json(read.body).str("/gift_card/id"), r.str("/gift_card/id"));
  EXPECT_TRUE(Json(read.body).is_null("/gift_card/code"));
  EXPECT_TRUE(Json(read.body).is_null("/gift_card/pin"));
  EXPECT_EQ(Json(read.body).num("/gift_card/balance_minor"), 0);
  EXPECT_EQ(read.body.find(code), std::string::npos);
  HttpResponse list = client().get("/v1/members/" + alice + "/redemptions", auth(program_.key));
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(Json(list.body).str("/data/0/gift_card/id"), r.str("/gift_card/id"));
  HttpResponse cancel =
      post("/v1/members/" + alice + "/redemptions/" + r.str("/id") + ":cancel", "");
  EXPECT_EQ(cancel.status, 409) << cancel.body;
  EXPECT_EQ(problem_slug(cancel), "not-cancellable");
  EXPECT_EQ(available(program_, alice), 500);
}

TEST_F(GiftCardsApi, AMembersCardsAreListedWithoutCodes) {
  put_config(program_, kGiftCatalog, /*yaml=*/true);
  const std::string alice = enroll(program_, "alice");
  ASSERT_EQ(credit(program_, alice, 6000).status, 201);
  std::string codes;
  for (int i = 0; i < 2; ++i) {
    HttpResponse r = post("/v1/members/" + alice + "/redemptions", R"({"reward_id":"gift-25"})");
    ASSERT_EQ(r.status, 201) << r.body;
    codes += Json(r.body).str("/gift_card/code") + " ";
  }
  issue(1000);  // bought in the shop: nobody's
  HttpResponse list = client().get("/v1/members/" + alice + "/gift-cards", auth(program_.key));
  ASSERT_EQ(list.status, 200) << list.body;
  Json l(list.body);
  EXPECT_EQ(l.size("/data"), 2u);
  EXPECT_EQ(l.str("/data/0/member_id"), alice);
  EXPECT_EQ(l.num("/data/0/balance_minor"), 2500);
  for (size_t at = 0; (at = codes.find(' ')) != std::string::npos; codes.erase(0, at + 1)) {
    EXPECT_EQ(list.body.find(codes.substr(0, at)), std::string::npos);
  }
  EXPECT_EQ(client().get("/v1/members/mem_999/gift-cards", auth(program_.key)).status, 404);
}

TEST_F(GiftCardsApi, PaidOrdersCaptureTheirHoldsRefundsCreditTheCardAndAdminsDisableCards) {
  Json issued = issue(10'000);
  const std::string id = issued.str("/gift_card/id");
  HttpResponse held =
      post("/v1/gift-cards/holds", R"({"code":")" + issued.str("/code") + R"(","pin":")" +
                                       issued.str("/pin") +
                                       R"(","amount_minor":4000,"currency":"USD",)"
                                       R"("order_ref":"A-1","capture_on_paid":true})");
  ASSERT_EQ(held.status, 201) << held.body;
  EXPECT_TRUE(Json(held.body).boolean("/hold/capture_on_paid"));
  const std::string member = enroll(program_, "bob");
  HttpResponse order =
      post("/v1/orders",
           R"({"external_id":"A-1","member_id":")" + member +
               R"(","currency":"USD","placed_at":"2024-06-01T00:00:00Z","status":"paid",)"
               R"("items":[{"sku":"S","name":"S","quantity":1,"unit_price_minor":8000}]})");
  ASSERT_EQ(order.status, 201) << order.body;
  Json after_paid = card(id);
  EXPECT_EQ(after_paid.str("/holds/0/status"), "captured");
  EXPECT_EQ(after_paid.num("/balance_minor"), 6000);
  HttpResponse refunded = post("/v1/orders/" + Json(order.body).str("/id") + "/refunds",
                               R"({"event_id":"r-1","amount_minor":2000})");
  ASSERT_EQ(refunded.status, 200) << refunded.body;
  Json after_refund = card(id);
  EXPECT_EQ(after_refund.num("/holds/0/refunded_minor"), 1000);  // a quarter of 4000
  EXPECT_EQ(after_refund.num("/balance_minor"), 7000);

  HttpResponse off = post("/v1/gift-cards/" + id + ":disable", "");
  ASSERT_EQ(off.status, 200) << off.body;
  EXPECT_EQ(Json(off.body).str("/status"), "disabled");
  HttpResponse refused = hold(issued.str("/code"), issued.str("/pin"), 100);
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(problem_slug(refused), "gift-card-not-usable");
  HttpResponse twice = post("/v1/gift-cards/" + id + ":disable", "");
  EXPECT_EQ(twice.status, 409) << twice.body;
  EXPECT_EQ(problem_slug(twice), "conflict");
  ASSERT_EQ(post("/v1/gift-cards/" + id + ":enable", "").status, 200);
  EXPECT_EQ(hold(issued.str("/code"), issued.str("/pin"), 100).status, 201);
  EXPECT_EQ(post("/v1/gift-cards/gc_999:disable", "").status, 404);
}

TEST_F(GiftCardsApi, CodesAndPinsNeverReachTheLogs) {
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  sink->set_level(spdlog::level::trace);
  auto logger = spdlog::default_logger();
  logger->sinks().push_back(sink);
  const auto level = logger->level();
  logger->set_level(spdlog::level::trace);

  Json issued = issue(1000);
  const std::string code = issued.str("/code");
  const std::string pin = issued.str("/pin");
  EXPECT_EQ(check(code, "999999" == pin ? "999998" : "999999").status, 422);
  EXPECT_EQ(hold(code, pin, 100).status, 201);
  EXPECT_EQ(post("/v1/gift-cards:import",
                 R"({"batch_ref":"b","cards":[{"number":"6035 9999 8888 7777","pin":"2468"}]})")
                .status,
            201);
  EXPECT_EQ(post("/v1/gift-cards:activate",
                 R"({"code":"6035999988887777","amount_minor":500,"currency":"USD"})")
                .status,
            200);

  logger->set_level(level);
  logger->sinks().pop_back();
  const std::string text = log.str();
  EXPECT_NE(text.find("route="), std::string::npos) << "the access log was not captured";
  const std::string normalized = *normalize_gift_card_code(code);
  for (const std::string& secret :
       {code, normalized, pin, std::string("6035999988887777"), std::string("2468")}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in:\n" << text;
  }
}

}  // namespace
}  // namespace loyalty::testing
