// The rules' context built from stored records (engine/rule_context.h): every
// documented member, program, order and item field is filled, attributes of
// every value type read as the strings docs/rules.md describes, and the
// expressions of real rules see them.
#include "engine/rule_context.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "domain/rules/rules.h"

namespace loyalty::engine {
namespace {

std::vector<std::pair<std::string, std::string>> pairs(rules::AttributeList list) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const rules::Attribute& a : list) out.emplace_back(a.key, a.value);
  return out;
}

TEST(RuleAttributes, StoredScalarsReadAsTheirTextAndNullIsAbsent) {
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  struct Case {
    const char* json;
    Pairs expected;
  };
  const Case cases[] = {
      {"{}", {}},
      {R"({"vip":"yes"})", {{"vip", "yes"}}},
      {R"({"n":12,"neg":-3})", {{"n", "12"}, {"neg", "-3"}}},
      {R"({"big":18446744073709551615})", {{"big", "18446744073709551615"}}},
      {R"({"ratio":0.5,"tiny":1e-07})", {{"ratio", "0.5"}, {"tiny", "1e-07"}}},
      {R"({"a":true,"b":false})", {{"a", "true"}, {"b", "false"}}},
      {R"({"gone":null,"kept":""})", {{"kept", ""}}},
      {R"({"q":"say \"hi\"\n","u":"Z\u00fcrich"})", {{"q", "say \"hi\"\n"}, {"u", "Zürich"}}},
      {R"({"gift.wrap":"yes"})", {{"gift.wrap", "yes"}}},
  };
  for (const Case& c : cases) {
    RuleAttributes attributes;
    ASSERT_TRUE(attributes.parse(c.json).ok()) << c.json;
    EXPECT_EQ(pairs(attributes.list()), c.expected) << c.json;
  }
}

TEST(RuleAttributes, WhatTheStoreNeverHoldsIsAnInternalErrorAndKeepsNothing) {
  for (const char* json : {"", "[]", "\"x\"", "{", R"({"a":[1]})", R"({"a":{"b":1}})"}) {
    RuleAttributes attributes;
    ASSERT_TRUE(attributes.parse(R"({"old":"x"})").ok());
    Status st = attributes.parse(json);
    EXPECT_EQ(st.code(), ErrorCode::kInternal) << json;
    EXPECT_TRUE(attributes.list().empty()) << json;
  }
}

Program sample_program() {
  Program p;
  p.id = ProgramId{7};
  p.currency = "USD";
  p.timezone = "Europe/Berlin";
  return p;
}

Member sample_member() {
  Member m;
  m.program_id = ProgramId{7};
  m.id = MemberId{42};
  m.external_id = "cust-42";
  m.email = "ada@example.com";
  m.birthday = LocalDate{1990, 12, 10};
  m.attributes_json = R"({"city":"Paris","visits":12,"vip":"yes"})";
  m.status = MemberStatus::kActive;
  m.created_at = *parse_rfc3339("2024-01-02T03:04:05Z");
  m.orders_count = 3;
  m.total_spent_minor = 12050;
  return m;
}

Order sample_order() {
  Order o;
  o.external_id = "1001";
  o.currency = "USD";
  o.channel = "web";
  o.attributes_json = R"({"channel_partner":"x"})";
  o.placed_at = *parse_rfc3339("2024-06-01T00:00:00Z");
  OrderItem shoe;
  shoe.sku = "A";
  shoe.name = "Shoe";
  shoe.category = "shoes";
  shoe.quantity = 2;
  shoe.unit_price_minor = 2500;
  shoe.discount_minor = 500;
  shoe.attributes_json = R"({"brand":"acme"})";
  OrderItem socks;
  socks.sku = "B";
  socks.name = "Socks";
  socks.category = "socks";
  socks.quantity = 1;
  socks.unit_price_minor = 1000;
  o.items = {shoe, socks};
  o.discount_minor = 1000;
  o.shipping_minor = 500;
  o.tax_minor = 300;
  EXPECT_TRUE(validate_new_order(o).ok());
  return o;
}

TEST(MemberContext, FillsEveryMemberAndProgramField) {
  const Program program = sample_program();
  const Member member = sample_member();
  Balance balance;
  balance.available = Points{150};
  balance.lifetime_earned = Points{900};
  MemberContext ctx;
  ASSERT_TRUE(ctx.fill(program, member, &balance, "gold").ok());
  const rules::MemberView& v = ctx.member;
  EXPECT_EQ(v.id, "mem_42");
  EXPECT_EQ(v.external_id, "cust-42");
  EXPECT_EQ(v.email, "ada@example.com");
  EXPECT_EQ(v.status, "active");
  EXPECT_EQ(v.enrolled_at, member.created_at);
  EXPECT_EQ(v.birthday, member.birthday);
  EXPECT_EQ(pairs(v.attributes), (std::vector<std::pair<std::string, std::string>>{
                                     {"city", "Paris"}, {"visits", "12"}, {"vip", "yes"}}));
  EXPECT_EQ(v.available_points, 150);
  EXPECT_EQ(v.lifetime_earned_points, 900);
  EXPECT_EQ(v.orders_count, 3);
  EXPECT_EQ(v.total_spent_minor, 12050);
  EXPECT_EQ(v.tier, "gold");
  EXPECT_EQ(ctx.program.id, "prg_7");
  EXPECT_EQ(ctx.program.currency, "USD");
  EXPECT_EQ(ctx.program.timezone, "Europe/Berlin");

  MemberContext without_balance;
  ASSERT_TRUE(without_balance.fill(program, member, nullptr, "").ok());
  EXPECT_EQ(without_balance.member.available_points, 0);
  EXPECT_EQ(without_balance.member.orders_count, 3);  // from the member row, not the balance
  EXPECT_EQ(without_balance.member.tier, "");
}

TEST(OrderContext, FillsTheOrderItsItemsAndTheirAttributes) {
  const Order order = sample_order();
  OrderContext ctx;
  ASSERT_TRUE(ctx.fill(order).ok());
  const rules::OrderView& v = ctx.order;
  EXPECT_EQ(v.id, "1001");
  EXPECT_EQ(v.total_minor, order.total_minor);
  EXPECT_EQ(v.subtotal_minor, 6000);
  EXPECT_EQ(v.discount_minor, 1000);
  EXPECT_EQ(v.shipping_minor, 500);
  EXPECT_EQ(v.tax_minor, 300);
  EXPECT_EQ(v.currency, "USD");
  EXPECT_EQ(v.channel, "web");
  EXPECT_EQ(v.placed_at, order.placed_at);
  EXPECT_EQ(v.item_count, 3);  // units
  EXPECT_EQ(pairs(v.attributes),
            (std::vector<std::pair<std::string, std::string>>{{"channel_partner", "x"}}));
  ASSERT_EQ(v.items.size(), 2u);
  EXPECT_EQ(v.items[0].sku, "A");
  EXPECT_EQ(v.items[0].total_minor, 4500);  // 2 x 25.00 - 5.00 line discount
  EXPECT_EQ(pairs(v.items[0].attributes),
            (std::vector<std::pair<std::string, std::string>>{{"brand", "acme"}}));
  EXPECT_TRUE(v.items[1].attributes.empty());
}

// Expressions of real rules against contexts built from records: each with a
// record where it holds and one where it does not.
TEST(RuleContext, RulesSeeAttributesAndStatistics) {
  const Program program = sample_program();
  Member vip = sample_member();
  Member newcomer = sample_member();
  newcomer.attributes_json = R"({"vip":"no"})";
  newcomer.orders_count = 0;
  newcomer.total_spent_minor = 0;
  Order partner = sample_order();
  Order direct = sample_order();
  direct.attributes_json = "{}";
  direct.items[0].attributes_json = R"({"brand":"other"})";

  const rules::Environment order_env = rules::Environment::order_rule(2);
  const struct {
    const char* expression;
    bool vip_partner;      // with `vip` and `partner`
    bool newcomer_direct;  // with `newcomer` and `direct`
  } cases[] = {
      {R"(member.attributes["vip"] == "yes")", true, false},
      {"int(member.attributes.visits) >= 10", true, false},
      {"member.orders_count >= 3", true, false},
      {"member.total_spent >= 100.00", true, false},
      {R"(order.attributes["channel_partner"] == "x")", true, false},
      {R"(any(order.items, i, i.attributes["brand"] == "acme"))", true, false},
      {R"(has(order.attributes.channel_partner))", true, false},
  };
  for (const auto& c : cases) {
    auto expression = rules::compile(c.expression, order_env, rules::Type::kBool);
    ASSERT_TRUE(expression.ok()) << c.expression << ": " << expression.status().message();
    for (bool first : {true, false}) {
      MemberContext m;
      ASSERT_TRUE(m.fill(program, first ? vip : newcomer, nullptr, "").ok());
      OrderContext o;
      ASSERT_TRUE(o.fill(first ? partner : direct).ok());
      rules::Context ctx;
      ctx.order = &o.order;
      ctx.member = &m.member;
      ctx.program = &m.program;
      EXPECT_EQ(rules::evaluate_condition(*expression, ctx),
                first ? c.vip_partner : c.newcomer_direct)
          << c.expression << (first ? " (vip, partner)" : " (newcomer, direct)");
    }
  }
  // An item filter reads the item of the rule.
  auto filter = rules::compile(R"(item.attributes["brand"] == "acme")",
                               rules::Environment::item_rule(2), rules::Type::kBool);
  ASSERT_TRUE(filter.ok());
  OrderContext o;
  ASSERT_TRUE(o.fill(partner).ok());
  MemberContext m;
  ASSERT_TRUE(m.fill(program, vip, nullptr, "").ok());
  rules::Context ctx;
  ctx.order = &o.order;
  ctx.member = &m.member;
  ctx.program = &m.program;
  ctx.item = &o.order.items[0];
  EXPECT_TRUE(rules::evaluate_condition(*filter, ctx));
  ctx.item = &o.order.items[1];
  EXPECT_FALSE(rules::evaluate_condition(*filter, ctx));
}

TEST(MemberOrderStats, PaidOrdersCountNetOfRefundsUntilCancelledOrReturned) {
  Order o = sample_order();  // total 53.00
  ASSERT_EQ(o.total_minor, 5300);
  struct Case {
    OrderStatus status;
    bool paid;
    int64_t refunded_minor;
    MemberOrderStats expected;
  };
  const Case cases[] = {
      {OrderStatus::kPlaced, false, 0, {0, 0}},      {OrderStatus::kPaid, true, 0, {1, 5300}},
      {OrderStatus::kPaid, true, 800, {1, 4500}},    {OrderStatus::kShipped, true, 0, {1, 5300}},
      {OrderStatus::kDelivered, true, 5300, {1, 0}},  // fully refunded: still an order
      {OrderStatus::kCancelled, false, 0, {0, 0}},   {OrderStatus::kCancelled, true, 0, {0, 0}},
      {OrderStatus::kReturned, true, 2000, {0, 0}},
  };
  for (const Case& c : cases) {
    o.status = c.status;
    o.paid_at = c.paid ? std::optional<Instant>(o.placed_at) : std::nullopt;
    o.refunded_minor = c.refunded_minor;
    EXPECT_EQ(member_order_stats(o), c.expected)
        << to_string(c.status) << " paid=" << c.paid << " refunded=" << c.refunded_minor;
  }
}

}  // namespace
}  // namespace loyalty::engine
