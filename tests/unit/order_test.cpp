// Specification of orders as pure functions (src/domain/order.h) and of the
// ledger's order operations (plan_clawback, plan_schedule_vesting).
#include "domain/order.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace loyalty {
namespace {

const Instant kT0 = Instant::from_seconds(1'717'200'000);  // 2024-06-01T00:00:00Z
Instant day(int n) { return kT0 + Duration::from_days(n); }

OrderItem item(std::string sku, int64_t quantity, int64_t unit_price_minor,
               int64_t discount_minor = 0) {
  OrderItem i;
  i.sku = std::move(sku);
  i.quantity = quantity;
  i.unit_price_minor = unit_price_minor;
  i.discount_minor = discount_minor;
  return i;
}

// A paid order: A 2 x 25.00, B 1 x 10.00, shipping 5.00; 60 points (A 50, B 10).
Order paid_order() {
  Order o;
  o.id = OrderId{1};
  o.program_id = ProgramId{1};
  o.member_id = MemberId{1};
  o.external_id = "1001";
  o.currency = "USD";
  o.placed_at = kT0;
  o.items = {item("A", 2, 2500), item("B", 1, 1000)};
  o.shipping_minor = 500;
  EXPECT_TRUE(validate_new_order(o).ok());
  o.status = OrderStatus::kPaid;
  o.paid_at = kT0;
  set_order_points(o, 60, {50, 10});
  o.events_count = 2;
  return o;
}

TEST(OrderValidation, ComputesTotalsAndLineAmounts) {
  Order o;
  o.external_id = "x";
  o.items = {item("A", 3, 1000, 300), item("B", 1, 700)};
  o.discount_minor = 100;
  o.shipping_minor = 495;
  o.tax_minor = 200;
  ASSERT_TRUE(validate_new_order(o).ok());
  EXPECT_EQ(o.subtotal_minor, 3700);
  EXPECT_EQ(o.items_discount_minor, 300);
  EXPECT_EQ(o.total_minor, 3700 - 300 - 100 + 495 + 200);
  // The order discount is shared 27:7 by largest remainder: 79 + 21 = 100.
  EXPECT_EQ(o.items[0].paid_minor, 2700 - 79);
  EXPECT_EQ(o.items[1].paid_minor, 700 - 21);
  EXPECT_EQ(o.items[0].line, 1);
  EXPECT_EQ(o.items[1].line, 2);
}

TEST(OrderValidation, RejectsBadAmountsAndLimitsAtTheBoundary) {
  struct Case {
    const char* name;
    void (*mutate)(Order&);
    ErrorCode code;
  };
  const Case cases[] = {
      {"no items", [](Order& o) { o.items.clear(); }, ErrorCode::kInvalidRequest},
      {"zero quantity", [](Order& o) { o.items[0].quantity = 0; }, ErrorCode::kInvalidRequest},
      {"negative price", [](Order& o) { o.items[0].unit_price_minor = -1; },
       ErrorCode::kInvalidRequest},
      {"discount above the line", [](Order& o) { o.items[0].discount_minor = 1001; },
       ErrorCode::kInvalidRequest},
      {"order discount above the items", [](Order& o) { o.discount_minor = 1001; },
       ErrorCode::kInvalidRequest},
      {"price above the limit", [](Order& o) { o.items[0].unit_price_minor = kMaxMoneyMinor + 1; },
       ErrorCode::kAmountOutOfRange},
      {"quantity above the limit", [](Order& o) { o.items[0].quantity = kMaxItemQuantity + 1; },
       ErrorCode::kInvalidRequest},
      {"too many items", [](Order& o) { o.items.assign(kMaxOrderItems + 1, item("A", 1, 1)); },
       ErrorCode::kInvalidRequest},
      {"subtotal overflow",
       [](Order& o) { o.items.assign(10, item("A", kMaxItemQuantity, kMaxMoneyMinor)); },
       ErrorCode::kAmountOutOfRange},
      {"sku too long", [](Order& o) { o.items[0].sku = std::string(kMaxSkuLength + 1, 's'); },
       ErrorCode::kInvalidRequest},
  };
  for (const Case& c : cases) {
    Order o;
    o.external_id = "x";
    o.items = {item("A", 1, 1000)};
    c.mutate(o);
    EXPECT_EQ(validate_new_order(o).code(), c.code) << c.name;
  }
  Order at_limit;
  at_limit.external_id = "x";
  at_limit.items.assign(kMaxOrderItems, item("A", 1, 1));
  EXPECT_TRUE(validate_new_order(at_limit).ok());
}

TEST(OrderTransitions, MoveForwardOnlyAndFinalStatesStay) {
  using S = OrderStatus;
  const S all[] = {S::kPlaced, S::kPaid, S::kShipped, S::kDelivered, S::kCancelled, S::kReturned};
  // allowed[from][to]
  const bool allowed[6][6] = {
      //            placed paid   shipped delivered cancelled returned
      /* placed */ {false, true, false, false, true, false},
      /* paid   */ {false, false, true, true, true, false},
      /* shipped*/ {false, false, true, true, true, true},
      /* deliv. */ {false, false, false, false, false, true},
      /* cancel */ {false, false, false, false, false, false},
      /* return */ {false, false, false, false, false, false},
  };
  for (int f = 0; f < 6; ++f) {
    for (int t = 0; t < 6; ++t) {
      Status st = check_transition(all[f], all[t]);
      EXPECT_EQ(st.ok(), allowed[f][t]) << to_string(all[f]) << " -> " << to_string(all[t]);
      if (!st.ok()) {
        EXPECT_EQ(st.code(), ErrorCode::kInvalidOrderTransition);
      }
    }
  }
}

TEST(OrderStatusChange, ReplayedEventIdChangesNothingAndAnotherTypeIsAMismatch) {
  Order o = paid_order();
  StatusChange change{OrderStatus::kShipped, "evt-1", day(1), "UPS", "1Z", std::nullopt};
  auto replay = plan_status_change(o, change, std::string("shipped"), {}, "UTC", day(2));
  ASSERT_TRUE(replay.ok());
  EXPECT_TRUE(replay->replay);
  EXPECT_TRUE(replay->new_events.empty());
  auto mismatch = plan_status_change(o, change, std::string("paid"), {}, "UTC", day(2));
  EXPECT_EQ(mismatch.status().code(), ErrorCode::kIdempotencyMismatch);
}

TEST(OrderStatusChange, DeliverySchedulesVestingAndJudgesOnTimeInTheProgramZone) {
  Order o = paid_order();
  o.earn_lot = LotId{7};
  o.shipment.promised_delivery_date = LocalDate{2024, 6, 5};
  EarningPolicy policy;
  policy.return_window_days = 14;
  // 23:30 UTC on the 5th is already the 6th in Berlin: late.
  Instant delivered = *parse_rfc3339("2024-06-05T23:30:00Z");
  StatusChange change{OrderStatus::kDelivered, "d", delivered, {}, {}, {}};
  auto plan = plan_status_change(o, change, std::nullopt, policy, "Europe/Berlin", day(10));
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->order.delivered_on_time, false);
  EXPECT_EQ(plan->points.schedule_vesting_at, delivered + Duration::from_days(14));
  auto utc = plan_status_change(o, change, std::nullopt, policy, "UTC", day(10));
  EXPECT_EQ(utc->order.delivered_on_time, true);
}

TEST(OrderRefund, ByItemReversesThatLinesPointsCumulativelyAndExactly) {
  Order o = paid_order();
  o.items[0].quantity = 3;  // A: 3 units sharing 50 points
  o.items[0].paid_minor = 7500;
  o.total_minor = 9000;
  // Three refunds of one unit: floor(50/3) = 16, floor(100/3) - 16 = 17, 50 - 33 = 17.
  int64_t expected[] = {16, 17, 17};
  int64_t total = 0;
  for (int k = 0; k < 3; ++k) {
    RefundChange change;
    change.event_id = "r" + std::to_string(k);
    change.lines = {OrderRefundLine{1, "", 1}};
    auto plan = plan_refund(o, change, std::nullopt, day(1));
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    EXPECT_EQ(plan->points.clawback.value, expected[k]) << k;
    total += plan->points.clawback.value;
    o = plan->order;
  }
  EXPECT_EQ(total, 50);
  EXPECT_EQ(o.items[0].points_reversed, 50);
  EXPECT_EQ(o.items[1].points_reversed, 0);
  EXPECT_EQ(o.refunded_minor, 7500);
}

TEST(OrderRefund, ByAmountSpreadsOverLinesAndShippingAndEndsExact) {
  Order o = paid_order();
  int64_t reversed = 0;
  for (int64_t amount : {1000, 2999, 2500, 1}) {
    RefundChange change;
    change.event_id = "a" + std::to_string(amount);
    change.amount_minor = amount;
    auto plan = plan_refund(o, change, std::nullopt, day(1));
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    reversed += plan->points.clawback.value;
    EXPECT_LE(reversed, 60);
    o = plan->order;
  }
  EXPECT_EQ(o.refunded_minor, 6500);
  EXPECT_EQ(reversed, 60);  // fully refunded: every point, exactly
}

TEST(OrderRefund, AboveWhatIsLeftIsRefused) {
  struct Case {
    const char* name;
    RefundChange change;
    ErrorCode code;
  };
  auto lines = [](std::vector<OrderRefundLine> l) {
    RefundChange c;
    c.event_id = "e";
    c.lines = std::move(l);
    return c;
  };
  auto amount = [](int64_t a) {
    RefundChange c;
    c.event_id = "e";
    c.amount_minor = a;
    return c;
  };
  const Case cases[] = {
      {"amount above the total", amount(6501), ErrorCode::kRefundExceedsPaid},
      {"more units than bought", lines({{0, "A", 3}}), ErrorCode::kRefundExceedsPaid},
      {"the same line twice beyond its units", lines({{1, "", 2}, {0, "A", 1}}),
       ErrorCode::kRefundExceedsPaid},
      {"unknown sku", lines({{0, "Z", 1}}), ErrorCode::kInvalidRequest},
      {"line out of range", lines({{3, "", 1}}), ErrorCode::kInvalidRequest},
      {"nothing named", lines({}), ErrorCode::kInvalidRequest},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(plan_refund(paid_order(), c.change, std::nullopt, day(1)).status().code(), c.code)
        << c.name;
  }
  Order unpaid = paid_order();
  unpaid.paid_at.reset();
  unpaid.status = OrderStatus::kPlaced;
  EXPECT_EQ(plan_refund(unpaid, amount(1), std::nullopt, day(1)).status().code(),
            ErrorCode::kRefundExceedsPaid);
}

TEST(OrderEarning, CreditVestsPerPolicy) {
  Order o = paid_order();
  EarningPolicy policy;
  policy.return_window_days = 30;
  policy.vest_from = VestFrom::kDelivered;
  CreditRequest waiting = earn_credit_request(o, Points{60}, policy, day(0));
  EXPECT_TRUE(waiting.pending_until_scheduled);
  EXPECT_FALSE(waiting.available_at.has_value());
  EXPECT_EQ(waiting.order, o.id);
  policy.vest_from = VestFrom::kPaid;
  EXPECT_EQ(earn_credit_request(o, Points{60}, policy, day(0)).available_at, day(30));
  policy.return_window_days = 0;
  EXPECT_FALSE(earn_credit_request(o, Points{60}, policy, day(0)).available_at.has_value());
}

// ---- The ledger's order operations ----

Program program(NegativeBalancePolicy policy) {
  Program p;
  p.id = ProgramId{1};
  p.currency = "USD";
  p.timezone = "UTC";
  p.negative_balance = policy;
  return p;
}

Lot lot(int64_t id, int64_t remaining, bool pending, std::optional<Instant> available_at = {}) {
  Lot l;
  l.id = LotId{id};
  l.member = MemberId{1};
  l.posting = PostingId{id};
  l.original = Points{remaining};
  l.remaining = Points{remaining};
  l.pending = pending;
  l.created_at = kT0;
  l.available_at = available_at;
  return l;
}

MemberLedger ledger(std::vector<Lot> lots) {
  MemberLedger ml;
  ml.member.id = MemberId{1};
  ml.member.program_id = ProgramId{1};
  for (const Lot& l : lots) {
    Balance& b = ml.balance;
    (l.pending ? b.pending : b.available) += l.remaining;
    b.lifetime_earned += l.remaining;
  }
  ml.open_lots = std::move(lots);
  return ml;
}

TEST(Clawback, TakesTheOrdersLotThenOtherPointsThenFollowsThePolicy) {
  struct Case {
    const char* name;
    NegativeBalancePolicy program_policy;
    ClawbackShortfall shortfall;
    int64_t taken;
    int64_t written_off;
    int64_t available_after;
    int64_t pending_after;
  };
  // The order's pending lot L1 has 10 left, the member has 15 available (L2)
  // and 20 pending from another order (L3); the clawback wants 60.
  const Case cases[] = {
      {"debt", NegativeBalancePolicy::kAllow, ClawbackShortfall::kDebt, 60, 0, -35, 20},
      {"debt forbidden", NegativeBalancePolicy::kForbid, ClawbackShortfall::kDebt, 25, 35, 0, 20},
      {"pending", NegativeBalancePolicy::kForbid, ClawbackShortfall::kPendingThenWriteOff, 45, 15,
       0, 0},
      {"write off", NegativeBalancePolicy::kAllow, ClawbackShortfall::kWriteOff, 25, 35, 0, 20},
  };
  for (const Case& c : cases) {
    MemberLedger ml = ledger({lot(1, 10, true), lot(2, 15, false), lot(3, 20, true, day(5))});
    ClawbackRequest request;
    request.lot = LotId{1};
    request.points = Points{60};
    request.shortfall = c.shortfall;
    request.order = OrderId{9};
    auto plan = plan_clawback(program(c.program_policy), ml, request, day(1));
    ASSERT_TRUE(plan.ok()) << c.name << ": " << plan.status().message();
    EXPECT_EQ(plan->taken.value, c.taken) << c.name;
    EXPECT_EQ(plan->written_off.value, c.written_off) << c.name;
    ASSERT_TRUE(plan->plan.has_value()) << c.name;
    EXPECT_TRUE(check_plan_invariants(*plan->plan).ok()) << c.name;
    const Balance& after = plan->plan->balances.at(MemberId{1});
    EXPECT_EQ(after.available.value, c.available_after) << c.name;
    EXPECT_EQ(after.pending.value, c.pending_after) << c.name;
    EXPECT_EQ(plan->plan->posting.kind, PostingKind::kClawback);
    EXPECT_EQ(plan->plan->posting.order, OrderId{9});
  }
}

TEST(Clawback, NothingToTakeIsNoPosting) {
  MemberLedger ml = ledger({});
  ClawbackRequest request;
  request.lot = LotId{1};
  request.points = Points{5};
  request.shortfall = ClawbackShortfall::kWriteOff;
  auto plan = plan_clawback(program(NegativeBalancePolicy::kForbid), ml, request, day(1));
  ASSERT_TRUE(plan.ok());
  EXPECT_FALSE(plan->plan.has_value());
  EXPECT_EQ(plan->written_off.value, 5);
}

TEST(ScheduleVesting, SetsTheDateOfAnUnscheduledPendingLotOnly) {
  MemberLedger ml = ledger({lot(1, 10, true), lot(2, 5, true, day(9)), lot(3, 5, false)});
  ml.balance.next_due_at = day(9);
  auto s = plan_schedule_vesting(ml, LotId{1}, day(3));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->available_at, day(3));
  EXPECT_EQ(s->next_due_at, day(3));
  auto later = plan_schedule_vesting(ml, LotId{1}, day(20));
  EXPECT_EQ(later->next_due_at, day(9));
  EXPECT_EQ(plan_schedule_vesting(ml, LotId{2}, day(3)).status().code(), ErrorCode::kInternal);
  EXPECT_EQ(plan_schedule_vesting(ml, LotId{3}, day(3)).status().code(), ErrorCode::kInternal);
}

TEST(PendingUntilScheduled, CreditsAPendingLotWithoutVestingDate) {
  MemberLedger ml = ledger({});
  ml.lots_loaded = false;
  CreditRequest r;
  r.points = Points{60};
  r.pending_until_scheduled = true;
  auto plan = plan_credit(program(NegativeBalancePolicy::kForbid), ml, r, day(0));
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->new_lots.size(), 1u);
  EXPECT_TRUE(plan->new_lots[0].pending);
  EXPECT_FALSE(plan->new_lots[0].available_at.has_value());
  EXPECT_EQ(plan->balances.at(MemberId{1}).pending.value, 60);
  EXPECT_FALSE(plan->balances.at(MemberId{1}).next_due_at.has_value());
  r.available_at = day(1);
  EXPECT_EQ(plan_credit(program(NegativeBalancePolicy::kForbid), ml, r, day(0)).status().code(),
            ErrorCode::kInvalidRequest);
}

}  // namespace
}  // namespace loyalty
