// The referral policy (domain/referrals.h): the `referrals` slot of the
// configuration document and its errors, codes and links, email
// normalisation, who may be referred, each fraud control, and the payout under
// the referrer limits and the program cap.
#include "domain/referrals.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <set>
#include <string>
#include <vector>

#include "config_test_support.h"
#include "domain/config_document.h"

namespace loyalty {
namespace {

const char* kFullPolicy = R"(referrals:
  code: {prefix: FR, length: 10}
  link_template: "https://shop.example/r/{code}"
  min_order: "25.00"
  referrer_reward: {points: 500}
  referee_reward: {points: 200, timing: immediate}
  allow_existing_customers: true
  refund_after_completion: claw_back
  limits:
    period: week
    referrer_rewards_per_period: 3
    referrer_rewards_lifetime: 20
    program_points_per_period: 100000
  fraud:
    disposable_domains: [Mailinator.com, trashmail.de]
    same_ip: {enabled: false}
    same_device: {action: reject}
    velocity: {max_referrals: 4, window_minutes: 30, action: reject}
)";

// ---- The configuration slot ----

TEST(ReferralConfig, ParsesEveryKeyOfTheSlot) {
  ConfigParseResult r = parse_config_document(kFullPolicy, usd());
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const ReferralConfig& c = r.config->referrals;
  EXPECT_TRUE(c.enabled);
  EXPECT_EQ(c.code, (ReferralCodeFormat{"FR", 10}));
  EXPECT_EQ(c.link_template, "https://shop.example/r/{code}");
  EXPECT_EQ(c.min_order_minor, 2500);
  EXPECT_EQ(c.referrer_reward.points, 500);
  EXPECT_EQ(c.referee_reward.points, 200);
  EXPECT_EQ(c.referee_timing, RefereeRewardTiming::kImmediate);
  EXPECT_TRUE(c.allow_existing_customers);
  EXPECT_EQ(c.refund_after_completion, RefundAfterCompletion::kClawBack);
  EXPECT_EQ(c.limits.period, ReferralPeriod::kWeek);
  EXPECT_EQ(c.limits.referrer_rewards_per_period, 3);
  EXPECT_EQ(c.limits.referrer_rewards_lifetime, 20);
  EXPECT_EQ(c.limits.program_points_per_period, 100000);
  EXPECT_EQ(c.fraud.disposable_domains,
            (std::vector<std::string>{"mailinator.com", "trashmail.de"}));
  EXPECT_FALSE(c.fraud[FraudControl::kSameIp].enabled);
  EXPECT_EQ(c.fraud[FraudControl::kSameDevice].action, FraudAction::kReject);
  EXPECT_EQ(c.fraud[FraudControl::kSameShippingAddress].action, FraudAction::kHold);
  EXPECT_EQ(c.fraud[FraudControl::kSelfReferral].action, FraudAction::kReject);
  EXPECT_EQ(c.fraud.velocity_max_referrals, 4);
  EXPECT_EQ(c.fraud.velocity_window_minutes, 30);
  EXPECT_EQ(c.fraud[FraudControl::kVelocity].action, FraudAction::kReject);
}

TEST(ReferralConfig, AbsentOrEmptySlotMeansNoReferrals) {
  for (const char* doc : {"earning: {}\n", "referrals: {}\n"}) {
    ConfigParseResult r = parse_config_document(doc, usd());
    ASSERT_TRUE(r.ok()) << errors_of(r);
    EXPECT_FALSE(r.config->referrals.enabled) << doc;
    EXPECT_EQ(r.config->referrals, ReferralConfig{}) << doc;
  }
}

TEST(ReferralConfig, DefaultsOfAMinimalPolicy) {
  ConfigParseResult r = parse_config_document("referrals: {referrer_reward: {points: 1}}\n", usd());
  ASSERT_TRUE(r.ok()) << errors_of(r);
  const ReferralConfig& c = r.config->referrals;
  EXPECT_TRUE(c.enabled);
  EXPECT_EQ(c.code.length, kMinReferralCodeChars);
  EXPECT_EQ(c.referee_timing, RefereeRewardTiming::kOnCompletion);
  EXPECT_TRUE(c.allow_existing_customers);
  EXPECT_EQ(c.refund_after_completion, RefundAfterCompletion::kKeep);
  for (size_t i = 0; i < kFraudControlCount; ++i) EXPECT_TRUE(c.fraud.controls[i].enabled) << i;
  EXPECT_EQ(c.fraud.gmail_style_domains, (std::vector<std::string>{"gmail.com", "googlemail.com"}));
}

TEST(ReferralConfig, CanonicalJsonParsesBackToTheSameModel) {
  ConfigParseResult r = parse_config_document(kFullPolicy, usd());
  ASSERT_TRUE(r.ok()) << errors_of(r);
  ConfigParseResult again = parse_config_document(config_to_json(*r.config, usd()), usd());
  ASSERT_TRUE(again.ok()) << errors_of(again);
  EXPECT_EQ(again.config->referrals, r.config->referrals);
}

// Each error names the path, line and column of the offending value.
TEST(ReferralConfig, RejectsBadValuesWithTheirPosition) {
  struct Case {
    const char* doc;
    const char* error;
  };
  const Case cases[] = {
      {"referrals:\n  code: {length: 7}\n  referrer_reward: {points: 1}\n",
       ":2:18: referrals.code.length: expected an integer from 8 to 16, got 7"},
      {"referrals:\n  code: {length: 17}\n  referrer_reward: {points: 1}\n",
       ":2:18: referrals.code.length: expected an integer from 8 to 16, got 17"},
      {"referrals:\n  code: {prefix: fr}\n  referrer_reward: {points: 1}\n",
       ":2:18: referrals.code.prefix: expected upper-case letters and digits only"},
      {"referrals:\n  code: {prefix: ABCDEFGHI}\n  referrer_reward: {points: 1}\n",
       ":2:18: referrals.code.prefix: at most 8 characters"},
      {"referrals:\n  link_template: https://x.example/r\n  referrer_reward: {points: 1}\n",
       ":2:18: referrals.link_template: expected a URL containing {code}"},
      {"referrals:\n  min_order: \"10.001\"\n  referrer_reward: {points: 1}\n",
       ":2:14: referrals.min_order: expected an amount with at most 2 decimal places"},
      {"referrals:\n  referrer_reward: {points: 0}\n",
       ":2:29: referrals.referrer_reward.points: expected an integer from 1 to 1000000000, got 0"},
      {"referrals:\n  referrer_reward: {points: 5, reward: mug}\n",
       ":2:40: referrals.referrer_reward.reward: catalog rewards are not yet available"},
      {"referrals:\n  referee_reward: {points: 5, timing: later}\n",
       ":2:39: referrals.referee_reward.timing: expected one of on_completion, immediate"},
      {"referrals:\n  enabled: true\n",
       ":2:3: referrals: expected referrer_reward or referee_reward"},
      {"referrals:\n  referrer_reward: {points: 1}\n  bonus: 3\n",
       ":3:3: referrals.bonus: unknown key 'bonus'"},
      {"referrals:\n  referrer_reward: {points: 1}\n  limits: {referrer_rewards_per_period: 5, "
       "referrer_rewards_lifetime: 4}\n",
       ":3:41: referrals.limits.referrer_rewards_per_period: exceeds referrer_rewards_lifetime "
       "(4)"},
      {"referrals:\n  referrer_reward: {points: 1}\n  fraud: {velocity: {max_referrals: 0}}\n",
       ":3:37: referrals.fraud.velocity.max_referrals: expected an integer from 1"},
      {"referrals:\n  referrer_reward: {points: 1}\n  fraud: {disposable_domains: [x.io, X.io]}\n",
       ":3:38: referrals.fraud.disposable_domains[1]: domain \"x.io\" is listed twice"},
      {"referrals:\n  referrer_reward: {points: 1}\n  fraud: {disposable_domains: [nodot]}\n",
       ":3:32: referrals.fraud.disposable_domains[0]: expected a domain"},
      {"referrals:\n  referrer_reward: {points: 1}\n  fraud: {disposable_email: {action: "
       "reject}}\n",
       ":3:29: referrals.fraud.disposable_email: the control needs fraud.disposable_domains"},
      {"referrals:\n  referrer_reward: {points: 1}\n  fraud: {same_ip: {action: drop}}\n",
       ":3:29: referrals.fraud.same_ip.action: expected one of hold, reject"},
  };
  for (const Case& c : cases) {
    ConfigParseResult r = parse_config_document(c.doc, usd());
    ASSERT_FALSE(r.ok()) << c.doc;
    EXPECT_NE(errors_of(r).find(c.error), std::string::npos)
        << c.doc << "\nwant: " << c.error << "\ngot:  " << errors_of(r);
  }
}

TEST(ReferralConfig, SchemaKnowsExactlyTheParsersKeys) {
  YAML::Node schema = load_config_schema();
  const YAML::Node ref = schema["properties"]["referrals"];
  const YAML::Node fraud = ref["properties"]["fraud"];
  std::map<std::string, YAML::Node> objects = {
      {"referrals", ref},
      {"referrals.code", ref["properties"]["code"]},
      {"referrals.referrer_reward", ref["properties"]["referrer_reward"]},
      {"referrals.referee_reward", ref["properties"]["referee_reward"]},
      {"referrals.limits", ref["properties"]["limits"]},
      {"referrals.fraud", fraud},
      {"referrals.fraud.velocity", fraud["properties"]["velocity"]},
      {"referrals.fraud.<control>", schema["$defs"]["referral_fraud_control"]},
  };
  expect_schema_knows_parser_keys(objects, referral_document_keys());
}

// ---- Codes and links ----

TEST(ReferralCode, DrawsLengthCharactersOfTheReadableAlphabetAfterThePrefix) {
  std::vector<uint8_t> bytes(64);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 37);
  auto code = referral_code_from_random(ReferralCodeFormat{"FR", 10}, bytes);
  ASSERT_TRUE(code.has_value());
  ASSERT_EQ(code->size(), 3u + 10u);
  EXPECT_EQ(code->substr(0, 3), "FR-");
  for (char c : code->substr(3)) {
    EXPECT_NE(kReferralCodeAlphabet.find(c), std::string_view::npos) << c;
  }
  for (char ambiguous : std::string("01OIL")) {
    EXPECT_EQ(kReferralCodeAlphabet.find(ambiguous), std::string_view::npos) << ambiguous;
  }
}

TEST(ReferralCode, SkipsBiasedBytesAndAsksForMoreWhenTheyRunOut) {
  // 248..255 would favour the first 8 symbols: they are skipped.
  const std::vector<uint8_t> bytes = {248, 0, 255, 1, 2, 3, 4, 5, 6, 7, 30};
  EXPECT_EQ(referral_code_from_random(ReferralCodeFormat{"", 8}, bytes), "23456789");
  const std::vector<uint8_t> short_bytes = {0, 1, 2, 3, 4, 5, 250, 251};
  EXPECT_EQ(referral_code_from_random(ReferralCodeFormat{"", 8}, short_bytes), std::nullopt);
}

TEST(ReferralCode, NormalisesWhatACustomerTypes) {
  struct Case {
    std::string text;  // owned: a pointer into a temporary would dangle in the loop
    std::optional<std::string> want;
  };
  const std::vector<Case> cases = {
      {"fr-abcd 2345", "FR-ABCD2345"},
      {"  XY23  ", "XY23"},
      {"", std::nullopt},
      {"FR_ABC", std::nullopt},
      {"ÄBC", std::nullopt},
      {std::string(kMaxReferralCodeTextLength + 1, 'A'), std::nullopt}};
  for (const Case& c : cases) {
    EXPECT_EQ(normalize_referral_code(c.text), c.want) << c.text;
  }
  EXPECT_EQ(normalize_referral_code(std::string(kMaxReferralCodeTextLength, 'A')),
            std::string(kMaxReferralCodeTextLength, 'A'));
}

TEST(ReferralCode, LinkFillsTheTemplate) {
  ReferralConfig c;
  c.link_template = "https://shop.example/r/{code}?src=ref";
  EXPECT_EQ(referral_link(c, "FR-ABC"), "https://shop.example/r/FR-ABC?src=ref");
  c.link_template.clear();
  EXPECT_EQ(referral_link(c, "FR-ABC"), "");
}

// ---- Emails ----

TEST(ReferralEmail, NormalisesCaseEverywhereAndDotsAndTagsOnGmailStyleDomains) {
  const std::vector<std::string> gmail = {"gmail.com", "googlemail.com"};
  struct Case {
    const char* email;
    const char* want;
  };
  for (const Case& c :
       {Case{"Ann.Lee+promo@GMail.com", "annlee@gmail.com"},
        Case{"a.n.n.lee@googlemail.com", "annlee@gmail.com"},
        Case{"Ann.Lee+promo@example.com", "ann.lee+promo@example.com"}, Case{"no-at-sign", ""},
        Case{"@gmail.com", ""}, Case{"a@b@c.com", ""}, Case{"ann@", ""}}) {
    EXPECT_EQ(normalize_email(c.email, gmail), c.want) << c.email;
  }
  EXPECT_EQ(email_domain("x@Mailinator.COM"), "mailinator.com");
}

// ---- Who may be referred, in precedence order ----

TEST(ReferralReferee, RefusalsInPrecedenceOrder) {
  ReferralConfig c;
  c.enabled = true;
  struct Case {
    RefereeFacts facts;
    bool allow_existing;
    ErrorCode want;
  };
  const Case cases[] = {
      {{}, false, ErrorCode::kOk},
      {{.same_member = true, .already_referred = true}, false, ErrorCode::kReferralNotAllowed},
      {{.already_referred = true, .existing_member = true}, true, ErrorCode::kConflict},
      {{.existing_member = true}, false, ErrorCode::kReferralNotAllowed},
      {{.existing_member = true}, true, ErrorCode::kOk},
      {{.existing_member = true, .has_ordered = true}, true, ErrorCode::kReferralNotAllowed},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    c.allow_existing_customers = cases[i].allow_existing;
    EXPECT_EQ(check_referee(c, cases[i].facts).code(), cases[i].want) << "case " << i;
  }
  c.enabled = false;
  EXPECT_EQ(check_referee(c, {}).code(), ErrorCode::kReferralNotAllowed);
}

// ---- Fraud screening: one case per control ----

ReferralSignals honest() {
  ReferralSignals s;
  s.referrer_email = "ann@example.com";
  s.referee_email = "bob@example.com";
  s.referee_email_domain = "example.com";
  s.referrer_shipping_hash = "ship-a";
  s.referee_shipping_hash = "ship-b";
  s.referrer_payment_hash = "pay-a";
  s.referee_payment_hash = "pay-b";
  s.referrer_device_hash = "dev-a";
  s.referee_device_hash = "dev-b";
  s.referrer_ip_hash = "ip-a";
  s.referee_ip_hash = "ip-b";
  return s;
}

TEST(ReferralFraud, EachControlTripsOnItsSignalWithItsDefaultAction) {
  ReferralFraudConfig fraud;
  fraud.disposable_domains = {"mailinator.com"};
  struct Case {
    void (*tamper)(ReferralSignals&);
    FraudControl control;
    ScreeningOutcome outcome;
  };
  const Case cases[] = {
      {[](ReferralSignals& s) { s.referee_email = s.referrer_email; }, FraudControl::kSelfReferral,
       ScreeningOutcome::kRejected},
      {[](ReferralSignals& s) { s.referee_email_domain = "mailinator.com"; },
       FraudControl::kDisposableEmail, ScreeningOutcome::kRejected},
      {[](ReferralSignals& s) { s.referee_shipping_hash = "ship-a"; },
       FraudControl::kSameShippingAddress, ScreeningOutcome::kHeld},
      {[](ReferralSignals& s) { s.referee_payment_hash = "pay-a"; }, FraudControl::kSamePayment,
       ScreeningOutcome::kHeld},
      {[](ReferralSignals& s) { s.referee_device_hash = "dev-a"; }, FraudControl::kSameDevice,
       ScreeningOutcome::kHeld},
      {[](ReferralSignals& s) { s.referee_ip_hash = "ip-a"; }, FraudControl::kSameIp,
       ScreeningOutcome::kHeld},
      {[](ReferralSignals& s) { s.code_referrals_in_window = 5; }, FraudControl::kVelocity,
       ScreeningOutcome::kHeld},
  };
  EXPECT_EQ(screen_referral(fraud, honest()).outcome, ScreeningOutcome::kClean);
  for (const Case& c : cases) {
    ReferralSignals s = honest();
    c.tamper(s);
    Screening got = screen_referral(fraud, s);
    EXPECT_EQ(got.outcome, c.outcome) << to_string(c.control);
    ASSERT_EQ(got.findings.size(), 1u) << to_string(c.control);
    EXPECT_EQ(got.findings[0].control, c.control);
    EXPECT_FALSE(got.findings[0].reason.empty());
    // Switched off, the same signal passes.
    ReferralFraudConfig off = fraud;
    off[c.control].enabled = false;
    EXPECT_EQ(screen_referral(off, s).outcome, ScreeningOutcome::kClean) << to_string(c.control);
  }
}

TEST(ReferralFraud, VelocityTripsOnlyAboveTheLimit) {
  ReferralFraudConfig fraud;
  fraud.velocity_max_referrals = 3;
  ReferralSignals s = honest();
  s.code_referrals_in_window = 2;  // this one is the 3rd: allowed
  EXPECT_EQ(screen_referral(fraud, s).outcome, ScreeningOutcome::kClean);
  s.code_referrals_in_window = 3;  // the 4th
  EXPECT_EQ(screen_referral(fraud, s).outcome, ScreeningOutcome::kHeld);
}

TEST(ReferralFraud, MissingHashesNeverMatchAndRejectWinsOverHold) {
  ReferralFraudConfig fraud;
  ReferralSignals s;  // nothing sent by the shop
  EXPECT_EQ(screen_referral(fraud, s).outcome, ScreeningOutcome::kClean);
  s = honest();
  s.referee_ip_hash = s.referrer_ip_hash;  // hold
  s.referee_email = s.referrer_email;      // reject
  Screening got = screen_referral(fraud, s);
  EXPECT_EQ(got.outcome, ScreeningOutcome::kRejected);
  ASSERT_EQ(got.findings.size(), 2u);
  EXPECT_EQ(got.findings[0].control, FraudControl::kSelfReferral);  // control order
  EXPECT_EQ(got.findings[1].control, FraudControl::kSameIp);
}

// ---- Qualification and payout ----

TEST(ReferralCompletion, MinimumOrderIsInclusive) {
  ReferralConfig c;
  c.min_order_minor = 2500;
  EXPECT_FALSE(order_qualifies(c, 2499));
  EXPECT_TRUE(order_qualifies(c, 2500));
  c.min_order_minor = 0;
  EXPECT_FALSE(order_qualifies(c, 0)) << "an order of nothing never qualifies";
}

TEST(ReferralCompletion, PayoutUnderReferrerLimitsAndTheProgramCap) {
  ReferralConfig c;
  c.enabled = true;
  c.referrer_reward.points = 500;
  c.referee_reward.points = 200;
  c.limits.referrer_rewards_per_period = 2;
  c.limits.referrer_rewards_lifetime = 5;
  c.limits.program_points_per_period = 1000;
  struct Case {
    ReferralUsage usage;
    bool referee_paid;
    int64_t referrer, referee;
    RewardSkip referrer_skip, referee_skip;
  };
  const Case cases[] = {
      {{0, 0, 0}, false, 500, 200, RewardSkip::kNone, RewardSkip::kNone},
      {{0, 0, 300}, false, 500, 200, RewardSkip::kNone, RewardSkip::kNone},  // exactly the cap
      {{0, 0, 301}, false, 0, 200, RewardSkip::kProgramCap, RewardSkip::kNone},
      {{0, 0, 801}, false, 0, 0, RewardSkip::kProgramCap, RewardSkip::kProgramCap},
      {{1, 4, 0}, false, 500, 200, RewardSkip::kNone, RewardSkip::kNone},
      {{2, 4, 0}, false, 0, 200, RewardSkip::kReferrerPeriodLimit, RewardSkip::kNone},
      {{0, 5, 0}, false, 0, 200, RewardSkip::kReferrerLifetimeLimit, RewardSkip::kNone},
      {{0, 0, 0}, true, 500, 0, RewardSkip::kNone, RewardSkip::kAlreadyPaid},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    const Case& k = cases[i];
    ReferralPayout p = plan_completion_payout(c, k.usage, k.referee_paid);
    EXPECT_EQ(p.referrer_points, k.referrer) << "case " << i;
    EXPECT_EQ(p.referee_points, k.referee) << "case " << i;
    EXPECT_EQ(p.referrer_skip, k.referrer_skip) << "case " << i;
    EXPECT_EQ(p.referee_skip, k.referee_skip) << "case " << i;
    EXPECT_LE(k.usage.program_points_in_period + p.total(), c.limits.program_points_per_period);
  }
}

TEST(ReferralCompletion, WelcomeRewardOnlyWhenImmediateAndUnderTheCap) {
  ReferralConfig c;
  c.enabled = true;
  c.referee_reward.points = 200;
  c.limits.program_points_per_period = 1000;
  EXPECT_EQ(plan_welcome_payout(c, {}).referee_points, 0) << "on_completion by default";
  c.referee_timing = RefereeRewardTiming::kImmediate;
  EXPECT_EQ(plan_welcome_payout(c, {0, 0, 800}).referee_points, 200);
  ReferralPayout over = plan_welcome_payout(c, {0, 0, 801});
  EXPECT_EQ(over.referee_points, 0);
  EXPECT_EQ(over.referee_skip, RewardSkip::kProgramCap);
}

}  // namespace
}  // namespace loyalty
