// Points at checkout, the pure part (domain/checkout_points.h): the quote
// arithmetic at its limits, the order of the checks, and which lots a
// capture, release or refund touches.
#include "domain/checkout_points.h"

#include <gtest/gtest.h>

#include "domain/config_document.h"

namespace loyalty {
namespace {

CheckoutConfig config(int64_t points, int64_t amount_minor, int64_t min_points = 0,
                      int share = 100) {
  CheckoutConfig c;
  c.enabled = true;
  c.rate_points = points;
  c.rate_amount_minor = amount_minor;
  c.min_points = min_points;
  c.max_order_share_percent = share;
  return c;
}

TEST(CheckoutQuote, AppliesBalanceShareStepAndMinimum) {
  struct Case {
    const char* what;
    CheckoutConfig config;
    int64_t total_minor;
    int64_t available;
    int64_t max_points;
    int64_t max_amount_minor;
    const char* limited_by;
  };
  const Case cases[] = {
      {"balance binds", config(100, 100), 10'000, 4'210, 4'210, 4'210, "balance"},
      {"half the order binds", config(100, 100, 0, 50), 10'001, 9'000, 5'000, 5'000, "order_share"},
      {"step of 3 points per 2 cents", config(3, 2), 1'000, 100, 99, 66, "balance"},
      {"share floor then step", config(3, 2, 0, 50), 101, 1'000, 75, 50, "order_share"},
      {"minimum exactly reached", config(100, 100, 500), 10'000, 500, 500, 500, "balance"},
      {"one point below the minimum", config(100, 100, 500), 10'000, 499, 0, 0, "min_points"},
      {"nothing available", config(100, 100), 10'000, 0, 0, 0, "balance"},
      {"a debt offers nothing", config(100, 100), 10'000, -50, 0, 0, "balance"},
      {"disabled", CheckoutConfig{}, 10'000, 5'000, 0, 0, "disabled"},
  };
  for (const Case& c : cases) {
    CheckoutQuote q = quote_checkout(c.config, c.total_minor, Points{c.available});
    EXPECT_EQ(q.max_points.value, c.max_points) << c.what;
    EXPECT_EQ(q.max_amount_minor, c.max_amount_minor) << c.what;
    EXPECT_EQ(q.limited_by, c.limited_by) << c.what;
  }
}

TEST(CheckoutPoints, ChecksInOrderOfPrecedence) {
  const CheckoutConfig c = config(100, 100, 200, 50);  // 1 point = 1 cent
  struct Case {
    const char* what;
    CheckoutConfig config;
    int64_t total_minor;
    int64_t available;
    int64_t points;
    ErrorCode code;
  };
  const Case cases[] = {
      {"disabled wins over everything", CheckoutConfig{}, 100, 0, -1, ErrorCode::kCheckoutLimit},
      {"zero points", c, 10'000, 1'000, 0, ErrorCode::kInvalidRequest},
      {"not a multiple of the step", config(3, 2), 10'000, 1'000, 4, ErrorCode::kInvalidRequest},
      {"below the minimum", c, 10'000, 1'000, 199, ErrorCode::kCheckoutLimit},
      {"the minimum", c, 10'000, 1'000, 200, ErrorCode::kOk},
      {"exactly half the order", c, 10'000, 10'000, 5'000, ErrorCode::kOk},
      {"one cent above half", c, 10'000, 10'000, 5'001, ErrorCode::kCheckoutLimit},
      {"above the balance", c, 10'000, 299, 300, ErrorCode::kInsufficientPoints},
      {"the whole balance", c, 10'000, 300, 300, ErrorCode::kOk},
  };
  for (const Case& k : cases) {
    Status st =
        check_checkout_points(k.config, k.total_minor, Points{k.available}, Points{k.points});
    EXPECT_EQ(st.code(), k.code) << k.what << ": " << st.message();
  }
}

Hold open_hold(int64_t points, std::vector<HoldLotState> lots) {
  Hold h;
  h.id = HoldId{7};
  h.points = Points{points};
  h.expires_at = Instant{1'000};
  h.lots = std::move(lots);
  return h;
}

TEST(CheckoutHold, CaptureAndReleaseNeedAnOpenUnexpiredHold) {
  Hold h = open_hold(500, {});
  EXPECT_TRUE(check_capture(h, Points{500}, Instant{999}).ok());
  EXPECT_EQ(check_capture(h, Points{501}, Instant{999}).code(), ErrorCode::kCaptureExceedsHold);
  EXPECT_EQ(check_capture(h, Points{0}, Instant{999}).code(), ErrorCode::kInvalidRequest);
  EXPECT_EQ(check_capture(h, Points{1}, Instant{1'000}).code(), ErrorCode::kHoldNotOpen);
  for (HoldStatus s : {HoldStatus::kCaptured, HoldStatus::kReleased, HoldStatus::kExpired}) {
    h.status = s;
    EXPECT_EQ(check_capture(h, Points{1}, Instant{0}).code(), ErrorCode::kHoldNotOpen);
    EXPECT_EQ(check_release(h).code(), ErrorCode::kHoldNotOpen);
  }
}

TEST(CheckoutHold, CaptureSpendsTheLotsTakenFirstAndReturnsTheRest) {
  std::vector<HoldLotState> lots = {{LotId{1}, Points{300}, {}, {}},
                                    {LotId{2}, Points{300}, {}, {}}};
  auto rest = split_capture(lots, Points{400});
  EXPECT_EQ(lots[0].captured.value, 300);
  EXPECT_EQ(lots[1].captured.value, 100);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].lot, LotId{2});
  EXPECT_EQ(rest[0].points.value, 200);
}

TEST(CheckoutHold, RefundsReturnTheLatestLotsFirstAndNeverMoreThanCaptured) {
  Hold h = open_hold(
      600, {{LotId{1}, Points{300}, Points{300}, {}}, {LotId{2}, Points{300}, Points{100}, {}}});
  h.status = HoldStatus::kCaptured;
  h.captured = Points{400};
  // 1/3 of 100.00 refunded: floor(400 / 3) = 133.
  EXPECT_EQ(points_to_refund(h, 10'000, 3'333, false).value, 133);
  auto back = split_refund(h.lots, Points{133});
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].lot, LotId{2});
  EXPECT_EQ(back[0].points.value, 100);
  EXPECT_EQ(back[1].lot, LotId{1});
  EXPECT_EQ(back[1].points.value, 33);
  h.refunded = Points{133};
  // Cumulative: 2/3 refunded in all returns 266 in all, 133 more.
  EXPECT_EQ(points_to_refund(h, 10'000, 6'666, false).value, 133);
  // A full refund (or a cancellation) returns everything left.
  EXPECT_EQ(points_to_refund(h, 10'000, 6'666, true).value, 267);
  EXPECT_EQ(points_to_refund(h, 10'000, 10'000, false).value, 267);
  h.status = HoldStatus::kReleased;
  EXPECT_EQ(points_to_refund(h, 10'000, 10'000, true).value, 0);
}

TEST(CheckoutConfigDocument, ParsesTheSectionAndReportsPositions) {
  ConfigContext ctx;  // USD
  auto ok = parse_config_document(
      "checkout:\n  points: 100\n  amount: \"1.00\"\n  min_points: 500\n"
      "  max_order_share_percent: 50\n  hold_minutes: 15\n",
      ctx);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.config->checkout, (CheckoutConfig{true, 100, 100, 500, 50, 15}));
  // Round trip through the canonical JSON.
  auto again = parse_config_document(config_to_json(*ok.config, ctx), ctx);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.config->checkout, ok.config->checkout);

  auto bad = parse_config_document(
      "checkout:\n  points: 0\n  amount: \"1.001\"\n  max_order_share_percent: 101\n"
      "  hold_minutes: 10081\n",
      ctx);
  ASSERT_FALSE(bad.ok());
  std::vector<std::string> where;
  for (const ConfigError& e : bad.errors) {
    where.push_back(e.path + "@" + std::to_string(e.line) + ":" + std::to_string(e.column));
  }
  EXPECT_EQ(where, (std::vector<std::string>{"checkout.points@2:11", "checkout.amount@3:11",
                                             "checkout.max_order_share_percent@4:28",
                                             "checkout.hold_minutes@5:17"}));
  auto missing = parse_config_document("checkout:\n  points: 100\n", ctx);
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_EQ(missing.errors[0].path, "checkout.amount");
}

}  // namespace
}  // namespace loyalty
