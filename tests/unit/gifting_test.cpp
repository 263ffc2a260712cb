// Gifting, the pure part (domain/gifting.h, plan_gift_claim of
// domain/ledger.h): the `gifting` section of the configuration document and
// its errors, the checks of a new gift, claim tokens and links, and the
// posting that delivers a gift of points.
#include "domain/gifting.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "config_test_support.h"
#include "domain/config_document.h"
#include "domain/ledger.h"

namespace loyalty {
namespace {

// ---- The configuration section ----

TEST(GiftingConfig, AbsentMeansDisabledAndAnEmptySectionMeansTheDefaults) {
  ConfigParseResult none = parse_config_document("earning: {return_window_days: 14}\n", usd());
  ASSERT_TRUE(none.ok()) << errors_of(none);
  EXPECT_FALSE(none.config->gifting.enabled);
  EXPECT_EQ(config_to_json(*none.config, usd()).find("gifting"), std::string::npos);

  ConfigParseResult empty = parse_config_document("gifting: {}\n", usd());
  ASSERT_TRUE(empty.ok()) << errors_of(empty);
  const GiftingConfig& c = empty.config->gifting;
  EXPECT_TRUE(c.enabled);
  EXPECT_EQ(c.claim_days, kDefaultGiftClaimDays);
  EXPECT_EQ(c.min_points, 1);
  EXPECT_EQ(c.max_points, 0);
  EXPECT_TRUE(c.allow_rewards);
  EXPECT_TRUE(c.claim_on_enrollment);
  EXPECT_EQ(c.period, CapPeriod::kMonth);
  EXPECT_EQ(c.max_gifts_per_period, 0);
}

TEST(GiftingConfig, ParsesEveryKeyAndSurvivesTheCanonicalForm) {
  const char* doc = R"(gifting:
  claim_days: 14
  min_points: 50
  max_points: 5000
  allow_rewards: false
  claim_on_enrollment: false
  link_template: "https://shop.example/gift/{token}"
  limits: {period: week, max_gifts: 5, max_points: 2000}
)";
  ConfigParseResult r = parse_config_document(doc, usd());
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const GiftingConfig& c = r.config->gifting;
  EXPECT_EQ(c.claim_days, 14);
  EXPECT_EQ(c.min_points, 50);
  EXPECT_EQ(c.max_points, 5000);
  EXPECT_FALSE(c.allow_rewards);
  EXPECT_FALSE(c.claim_on_enrollment);
  EXPECT_EQ(c.link_template, "https://shop.example/gift/{token}");
  EXPECT_EQ(c.period, CapPeriod::kWeek);
  EXPECT_EQ(c.max_gifts_per_period, 5);
  EXPECT_EQ(c.max_points_per_period, 2000);
  // The canonical JSON parses back to the same model.
  const std::string canonical = config_to_json(*r.config, usd());
  ConfigParseResult again = parse_config_document(canonical, usd());
  ASSERT_TRUE(again.ok()) << errors_of(again) << canonical;
  EXPECT_EQ(again.config->gifting, c);
}

TEST(GiftingConfig, ReportsEachProblemAtItsPlace) {
  struct Case {
    const char* doc;
    const char* error;
  };
  const Case cases[] = {
      {"gifting: {claim_days: 0}\n", "gifting.claim_days"},
      {"gifting: {claim_days: 366}\n", "gifting.claim_days"},
      {"gifting: {min_points: 0}\n", "gifting.min_points"},
      {"gifting: {min_points: 100, max_points: 50}\n", "gifting.max_points: expected at least"},
      {"gifting: {link_template: \"https://x.example/\"}\n", "expected a link containing {token}"},
      {"gifting: {limits: {period: hour}}\n", "gifting.limits.period"},
      {"gifting: {limits: {max_gifts: -1}}\n", "gifting.limits.max_gifts"},
      {"gifting: {limits: {per: 3}}\n", "gifting.limits.per"},
      {"gifting: {giftwrap: true}\n", "gifting.giftwrap"},
      {"gifting: [1]\n", "gifting"},
  };
  for (const Case& c : cases) {
    ConfigParseResult r = parse_config_document(c.doc, usd());
    ASSERT_FALSE(r.ok()) << c.doc;
    EXPECT_NE(errors_of(r).find(c.error), std::string::npos)
        << c.doc << "\nwant: " << c.error << "\ngot:  " << errors_of(r);
  }
}

TEST(GiftingConfig, SchemaKnowsExactlyTheParsersKeys) {
  const YAML::Node gifting = load_config_schema()["properties"]["gifting"];
  expect_schema_knows_parser_keys(
      {{"gifting", gifting}, {"gifting.limits", gifting["properties"]["limits"]}},
      gifting_document_keys());
}

// ---- Checks of a new gift ----

GiftingConfig policy() {
  GiftingConfig c;
  c.enabled = true;
  c.min_points = 10;
  c.max_points = 1000;
  c.max_gifts_per_period = 3;
  c.max_points_per_period = 1500;
  return c;
}

ErrorCode check(const GiftingConfig& c, GiftKind kind, int64_t points, GiftUsage usage = {},
                std::string_view to = "bob@example.com", std::string_view message = "") {
  return check_new_gift(c, kind, points, gift_email_key("ann@example.com"), gift_email_key(to),
                        message, usage)
      .code();
}

TEST(GiftChecks, EachRuleInItsOrder) {
  GiftingConfig off;
  EXPECT_EQ(check(off, GiftKind::kPoints, 100), ErrorCode::kGiftNotAllowed);
  GiftingConfig c = policy();
  EXPECT_EQ(check(c, GiftKind::kPoints, 100), ErrorCode::kOk);
  EXPECT_EQ(check(c, GiftKind::kPoints, 9), ErrorCode::kGiftNotAllowed);
  EXPECT_EQ(check(c, GiftKind::kPoints, 10), ErrorCode::kOk);
  EXPECT_EQ(check(c, GiftKind::kPoints, 1000), ErrorCode::kOk);
  EXPECT_EQ(check(c, GiftKind::kPoints, 1001), ErrorCode::kGiftNotAllowed);
  EXPECT_EQ(check(c, GiftKind::kReward, 0), ErrorCode::kOk);
  c.allow_rewards = false;
  EXPECT_EQ(check(c, GiftKind::kReward, 0), ErrorCode::kGiftNotAllowed);
  c = policy();
  EXPECT_EQ(check(c, GiftKind::kPoints, 100, {}, "not an email"), ErrorCode::kInvalidRequest);
  EXPECT_EQ(check(c, GiftKind::kPoints, 100, {}, "bob@example.com",
                  std::string(kMaxGiftMessageLength + 1, 'x')),
            ErrorCode::kInvalidRequest);
  EXPECT_EQ(check(c, GiftKind::kPoints, 100, {}, "ANN@example.com"), ErrorCode::kGiftToSelf);
  EXPECT_EQ(check(c, GiftKind::kPoints, 100, {2, 500}), ErrorCode::kOk);
  EXPECT_EQ(check(c, GiftKind::kPoints, 100, {3, 500}), ErrorCode::kGiftLimitReached);
  EXPECT_EQ(check(c, GiftKind::kPoints, 500, {1, 1000}), ErrorCode::kOk);
  EXPECT_EQ(check(c, GiftKind::kPoints, 501, {1, 1000}), ErrorCode::kGiftLimitReached);
  EXPECT_EQ(check(c, GiftKind::kReward, 0, {2, 1500}), ErrorCode::kOk);  // points: no reward
}

TEST(GiftChecks, GmailStyleAddressesAreOneRecipient) {
  EXPECT_EQ(gift_email_key("A.n.n+promo@GMail.com"), "ann@gmail.com");
  EXPECT_EQ(gift_email_key("ann@googlemail.com"), "ann@gmail.com");
  EXPECT_EQ(gift_email_key("a.nn+x@example.com"), "a.nn+x@example.com");
  EXPECT_EQ(gift_email_key("nope"), "");
}

// ---- Tokens ----

TEST(GiftTokens, OnlyBase58TextOfTheRightLengthIsAToken) {
  const std::string token(kGiftTokenChars, 'a');
  ASSERT_TRUE(gift_token_digest(token).has_value());
  EXPECT_EQ(gift_token_digest(token)->size(), 64u);
  EXPECT_NE(gift_token_digest(token), gift_token_digest(std::string(kGiftTokenChars, 'b')));
  EXPECT_FALSE(gift_token_digest(token.substr(1)).has_value());
  EXPECT_FALSE(gift_token_digest(token + "a").has_value());
  std::string zero = token;
  zero[3] = '0';  // not in base58
  EXPECT_FALSE(gift_token_digest(zero).has_value());
  GiftingConfig c;
  EXPECT_EQ(gift_claim_link(c, token), "");
  c.link_template = "https://shop.example/g?t={token}&x=1";
  EXPECT_EQ(gift_claim_link(c, "abc"), "https://shop.example/g?t=abc&x=1");
}

// ---- The claim posting ----

const Instant kNow = Instant::from_seconds(1'780'000'000);

Program program() {
  Program p;
  p.id = ProgramId{1};
  p.currency = "USD";
  p.timezone = "Europe/Berlin";
  p.negative_balance = NegativeBalancePolicy::kAllow;
  return p;
}

MemberLedger ledger(int64_t id, Balance balance) {
  MemberLedger m;
  m.member.id = MemberId{id};
  m.member.program_id = ProgramId{1};
  m.balance = balance;
  m.lots_loaded = false;
  return m;
}

TEST(GiftClaim, DeliversEachExpiryAsItsOwnLotAndExpiresWhatPassedOnTheWay) {
  Balance giver;
  giver.held = Points{600};
  giver.lifetime_earned = Points{600};
  const Instant later = kNow + Duration::from_days(30);
  GiftClaimRequest req;
  req.shares = {GiftShare{Points{100}, kNow - Duration::from_days(1)},  // expired on the way
                GiftShare{Points{200}, later}, GiftShare{Points{300}, std::nullopt}};
  req.reason = "gift";
  auto plan = plan_gift_claim(program(), ledger(1, giver), ledger(2, Balance{}), req, kNow);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->delivered.value, 500);
  EXPECT_EQ(plan->expired.value, 100);
  EXPECT_EQ(plan->plan.posting.kind, PostingKind::kGiftClaim);
  EXPECT_EQ(plan->plan.posting.member, MemberId{1});
  EXPECT_EQ(plan->plan.posting.counterparty, MemberId{2});
  ASSERT_EQ(plan->plan.new_lots.size(), 2u);
  std::map<std::optional<Instant>, int64_t> lots;
  for (const NewLot& l : plan->plan.new_lots) {
    EXPECT_EQ(l.member, MemberId{2});
    lots[l.expires_at] += l.points.value;
  }
  EXPECT_EQ(lots[later], 200);
  EXPECT_EQ(lots[std::nullopt], 300);
  const Balance& g = plan->plan.balances.at(MemberId{1});
  EXPECT_EQ(g.held.value, 0);
  EXPECT_EQ(g.expired.value, 100);
  EXPECT_EQ(g.transferred_net.value, -500);
  const Balance& r = plan->plan.balances.at(MemberId{2});
  EXPECT_EQ(r.available.value, 500);
  EXPECT_EQ(r.transferred_net.value, 500);
  EXPECT_EQ(r.next_due_at, later);
}

TEST(GiftClaim, PaysTheRecipientsDebtFirst) {
  Balance giver;
  giver.held = Points{100};
  giver.lifetime_earned = Points{100};
  Balance debtor;
  debtor.available = Points{-30};
  debtor.lifetime_spent = Points{30};
  GiftClaimRequest req;
  req.shares = {GiftShare{Points{100}, std::nullopt}};
  auto plan = plan_gift_claim(program(), ledger(1, giver), ledger(2, debtor), req, kNow);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->plan.balances.at(MemberId{2}).available.value, 70);
  ASSERT_EQ(plan->plan.new_lots.size(), 1u);
  EXPECT_EQ(plan->plan.new_lots[0].points.value, 100);
}

TEST(GiftClaim, RefusesABlockedRecipientAndTheGiverHimself) {
  Balance giver;
  giver.held = Points{10};
  giver.lifetime_earned = Points{10};
  GiftClaimRequest req;
  req.shares = {GiftShare{Points{10}, std::nullopt}};
  MemberLedger blocked = ledger(2, Balance{});
  blocked.member.status = MemberStatus::kBlocked;
  EXPECT_EQ(plan_gift_claim(program(), ledger(1, giver), blocked, req, kNow).status().code(),
            ErrorCode::kMemberBlocked);
  EXPECT_EQ(
      plan_gift_claim(program(), ledger(1, giver), ledger(1, giver), req, kNow).status().code(),
      ErrorCode::kTransferToSelf);
}

}  // namespace
}  // namespace loyalty
