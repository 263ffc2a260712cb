#include "domain/referrals.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "common/assert.h"
#include "common/json_writer.h"

namespace loyalty {
namespace {

const std::vector<std::string_view> kReferralKeys = {"enabled",
                                                     "code",
                                                     "link_template",
                                                     "min_order",
                                                     "referrer_reward",
                                                     "referee_reward",
                                                     "allow_existing_customers",
                                                     "refund_after_completion",
                                                     "limits",
                                                     "fraud"};
const std::vector<std::string_view> kCodeKeys = {"prefix", "length"};
const std::vector<std::string_view> kReferrerRewardKeys = {"points", "reward"};
const std::vector<std::string_view> kRefereeRewardKeys = {"points", "reward", "timing"};
const std::vector<std::string_view> kLimitKeys = {"period", "referrer_rewards_per_period",
                                                  "referrer_rewards_lifetime",
                                                  "program_points_per_period"};
const std::vector<std::string_view> kFraudKeys = {"gmail_style_domains",
                                                  "disposable_domains",
                                                  "self_referral",
                                                  "disposable_email",
                                                  "same_shipping_address",
                                                  "same_payment",
                                                  "same_device",
                                                  "same_ip",
                                                  "velocity"};
const std::vector<std::string_view> kControlKeys = {"enabled", "action"};
const std::vector<std::string_view> kVelocityKeys = {"enabled", "action", "max_referrals",
                                                     "window_minutes"};
const std::vector<std::string_view> kActions = {"hold", "reject"};
const std::vector<std::string_view> kTimings = {"on_completion", "immediate"};
const std::vector<std::string_view> kRefundPolicies = {"keep", "claw_back"};
const std::vector<std::string_view> kPeriods = {"day", "week", "month", "year"};

constexpr FraudControl kControls[] = {
    FraudControl::kSelfReferral, FraudControl::kDisposableEmail, FraudControl::kSameShippingAddress,
    FraudControl::kSamePayment,  FraudControl::kSameDevice,      FraudControl::kSameIp,
    FraudControl::kVelocity};
static_assert(std::size(kControls) == kFraudControlCount);

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return out;
}

bool code_char(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

bool valid_domain(std::string_view d) {
  return !d.empty() && d.size() <= kMaxDomainLength && d.find('.') != std::string_view::npos &&
         std::all_of(d.begin(), d.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
         });
}

class ReferralReader {
 public:
  ReferralReader(int currency_exponent, std::vector<ConfigIssue>& issues)
      : r_(currency_exponent, issues) {}

  void read(const YAML::Node& n, ReferralConfig& out);

 private:
  void read_code(const YAML::Node& n, const std::string& path, ReferralCodeFormat& out);
  void read_reward(const YAML::Node& n, const std::string& path, bool referee, ReferralConfig& out);
  void read_limits(const YAML::Node& n, const std::string& path, ReferralLimits& out);
  void read_fraud(const YAML::Node& n, const std::string& path, ReferralFraudConfig& out);
  std::vector<std::string> read_domains(const YAML::Node& m, std::string_view key,
                                        const std::string& path, size_t max_items);

  ConfigReader r_;
};

void ReferralReader::read(const YAML::Node& n, ReferralConfig& out) {
  const std::string path = "referrals";
  if (!r_.check_map(n, path, kReferralKeys)) return;
  if (n.size() == 0) return;  // {}: referrals disabled
  out.enabled = r_.boolean(n, "enabled", path).value_or(true);
  if (YAML::Node c = n["code"]) read_code(c, path + ".code", out.code);
  if (auto t = r_.string(n, "link_template", path, kMaxLinkTemplateLength)) {
    if (t->find("{code}") == std::string::npos) {
      r_.issue(path + ".link_template", n["link_template"],
               "expected a URL containing {code}, like \"https://shop.example/r/{code}\"");
    } else if (t->rfind("https://", 0) != 0 && t->rfind("http://", 0) != 0) {
      r_.issue(path + ".link_template", n["link_template"], "expected an http:// or https:// URL");
    } else {
      out.link_template = *t;
    }
  }
  out.min_order_minor =
      r_.money(n, "min_order", path, kMaxReferralMinOrderMinor).value_or(out.min_order_minor);
  if (YAML::Node v = n["referrer_reward"]) read_reward(v, path + ".referrer_reward", false, out);
  if (YAML::Node v = n["referee_reward"]) read_reward(v, path + ".referee_reward", true, out);
  if (out.enabled && out.referrer_reward.points == 0 && out.referee_reward.points == 0 &&
      !n["referrer_reward"] && !n["referee_reward"]) {
    r_.issue(path, n, "expected referrer_reward or referee_reward with points");
  }
  out.allow_existing_customers =
      r_.boolean(n, "allow_existing_customers", path).value_or(out.allow_existing_customers);
  if (auto p = r_.choice(n, "refund_after_completion", path, kRefundPolicies)) {
    out.refund_after_completion = static_cast<RefundAfterCompletion>(*p);
  }
  if (YAML::Node v = n["limits"]) read_limits(v, path + ".limits", out.limits);
  if (YAML::Node v = n["fraud"]) read_fraud(v, path + ".fraud", out.fraud);
}

void ReferralReader::read_code(const YAML::Node& n, const std::string& path,
                               ReferralCodeFormat& out) {
  if (!r_.check_map(n, path, kCodeKeys)) return;
  if (auto p = r_.string(n, "prefix", path, kMaxReferralPrefixLength)) {
    if (!std::all_of(p->begin(), p->end(), code_char)) {
      r_.issue(path + ".prefix", n["prefix"], "expected upper-case letters and digits only");
    } else {
      out.prefix = *p;
    }
  }
  out.length =
      static_cast<int>(r_.integer(n, "length", path, kMinReferralCodeChars, kMaxReferralCodeChars)
                           .value_or(out.length));
}

void ReferralReader::read_reward(const YAML::Node& n, const std::string& path, bool referee,
                                 ReferralConfig& out) {
  if (!r_.check_map(n, path, referee ? kRefereeRewardKeys : kReferrerRewardKeys)) return;
  if (n["reward"]) {
    r_.issue(path + ".reward", n["reward"],
             "catalog rewards are not yet available for referrals; use points");
  }
  ReferralReward& reward = referee ? out.referee_reward : out.referrer_reward;
  if (!n["points"]) {
    r_.issue(path, n, "expected points, like 500");
  }
  reward.points = r_.integer(n, "points", path, 1, kMaxReferralRewardPoints).value_or(0);
  if (referee) {
    if (auto t = r_.choice(n, "timing", path, kTimings)) {
      out.referee_timing = static_cast<RefereeRewardTiming>(*t);
    }
  }
}

void ReferralReader::read_limits(const YAML::Node& n, const std::string& path,
                                 ReferralLimits& out) {
  if (!r_.check_map(n, path, kLimitKeys)) return;
  if (auto p = r_.choice(n, "period", path, kPeriods)) out.period = static_cast<ReferralPeriod>(*p);
  out.referrer_rewards_per_period =
      r_.integer(n, "referrer_rewards_per_period", path, 1, kMaxReferralLimitCount).value_or(0);
  out.referrer_rewards_lifetime =
      r_.integer(n, "referrer_rewards_lifetime", path, 1, kMaxReferralLimitCount).value_or(0);
  out.program_points_per_period =
      r_.integer(n, "program_points_per_period", path, 1, kMaxReferralRewardPoints).value_or(0);
  if (out.referrer_rewards_per_period > 0 && out.referrer_rewards_lifetime > 0 &&
      out.referrer_rewards_per_period > out.referrer_rewards_lifetime) {
    r_.issue(path + ".referrer_rewards_per_period", n["referrer_rewards_per_period"],
             "exceeds referrer_rewards_lifetime (" + std::to_string(out.referrer_rewards_lifetime) +
                 ")");
  }
}

std::vector<std::string> ReferralReader::read_domains(const YAML::Node& m, std::string_view key,
                                                      const std::string& path, size_t max_items) {
  auto list = r_.string_list(m, key, path, max_items, kMaxDomainLength);
  if (!list) return {};
  std::set<std::string> seen;
  std::vector<std::string> out;
  for (size_t i = 0; i < list->size(); ++i) {
    std::string d = lower((*list)[i]);
    const YAML::Node at = m[std::string(key)][i];
    const std::string ip = ConfigReader::child(path, key) + "[" + std::to_string(i) + "]";
    if (!valid_domain(d)) {
      r_.issue(ip, at, "expected a domain like \"mailinator.com\"");
    } else if (!seen.insert(d).second) {
      r_.issue(ip, at, "domain \"" + d + "\" is listed twice");
    } else {
      out.push_back(std::move(d));
    }
  }
  return out;
}

void ReferralReader::read_fraud(const YAML::Node& n, const std::string& path,
                                ReferralFraudConfig& out) {
  if (!r_.check_map(n, path, kFraudKeys)) return;
  if (n["gmail_style_domains"]) {
    out.gmail_style_domains = read_domains(n, "gmail_style_domains", path, kMaxGmailStyleDomains);
  }
  out.disposable_domains = read_domains(n, "disposable_domains", path, kMaxDisposableDomains);
  for (FraudControl c : kControls) {
    const char* name = to_string(c);
    YAML::Node v = n[name];
    if (!v) continue;
    const std::string cp = ConfigReader::child(path, name);
    const bool velocity = c == FraudControl::kVelocity;
    if (!r_.check_map(v, cp, velocity ? kVelocityKeys : kControlKeys)) continue;
    out[c].enabled = r_.boolean(v, "enabled", cp).value_or(true);
    if (auto a = r_.choice(v, "action", cp, kActions)) out[c].action = static_cast<FraudAction>(*a);
    if (velocity) {
      out.velocity_max_referrals = r_.integer(v, "max_referrals", cp, 1, kMaxReferralLimitCount)
                                       .value_or(out.velocity_max_referrals);
      out.velocity_window_minutes =
          r_.integer(v, "window_minutes", cp, 1, kMaxVelocityWindowMinutes)
              .value_or(out.velocity_window_minutes);
    }
  }
  if (out[FraudControl::kDisposableEmail].enabled && n["disposable_email"] &&
      out.disposable_domains.empty() && !n["disposable_domains"]) {
    r_.issue(path + ".disposable_email", n["disposable_email"],
             "the control needs fraud.disposable_domains (a list of domains)");
  }
}

}  // namespace

ReferralFraudConfig::ReferralFraudConfig() {
  (*this)[FraudControl::kSelfReferral].action = FraudAction::kReject;
  (*this)[FraudControl::kDisposableEmail].action = FraudAction::kReject;
}

const char* to_string(FraudControl c) {
  switch (c) {
    case FraudControl::kSelfReferral:
      return "self_referral";
    case FraudControl::kDisposableEmail:
      return "disposable_email";
    case FraudControl::kSameShippingAddress:
      return "same_shipping_address";
    case FraudControl::kSamePayment:
      return "same_payment";
    case FraudControl::kSameDevice:
      return "same_device";
    case FraudControl::kSameIp:
      return "same_ip";
    case FraudControl::kVelocity:
      return "velocity";
  }
  return "?";
}

const char* to_string(ReferralPeriod p) { return kPeriods[static_cast<size_t>(p)].data(); }

const char* to_string(ReferralStatus s) {
  switch (s) {
    case ReferralStatus::kPending:
      return "pending";
    case ReferralStatus::kHeld:
      return "held";
    case ReferralStatus::kCompleted:
      return "completed";
    case ReferralStatus::kRejected:
      return "rejected";
    case ReferralStatus::kCancelled:
      return "cancelled";
  }
  return "?";
}

std::optional<ReferralStatus> parse_referral_status(std::string_view s) {
  for (ReferralStatus v :
       {ReferralStatus::kPending, ReferralStatus::kHeld, ReferralStatus::kCompleted,
        ReferralStatus::kRejected, ReferralStatus::kCancelled}) {
    if (s == to_string(v)) return v;
  }
  return std::nullopt;
}

const char* to_string(FraudAction a) { return a == FraudAction::kHold ? "hold" : "reject"; }

const char* to_string(RefereeRewardTiming t) {
  return t == RefereeRewardTiming::kImmediate ? "immediate" : "on_completion";
}

const char* to_string(RefundAfterCompletion p) {
  return p == RefundAfterCompletion::kKeep ? "keep" : "claw_back";
}

const char* to_string(ScreeningOutcome o) {
  switch (o) {
    case ScreeningOutcome::kClean:
      return "clean";
    case ScreeningOutcome::kHeld:
      return "held";
    case ScreeningOutcome::kRejected:
      return "rejected";
  }
  return "?";
}

const char* to_string(RewardSkip s) {
  switch (s) {
    case RewardSkip::kNone:
      return "none";
    case RewardSkip::kReferrerPeriodLimit:
      return "referrer_period_limit";
    case RewardSkip::kReferrerLifetimeLimit:
      return "referrer_lifetime_limit";
    case RewardSkip::kProgramCap:
      return "program_cap";
    case RewardSkip::kAlreadyPaid:
      return "already_paid";
    case RewardSkip::kMemberBlocked:
      return "member_blocked";
  }
  return "?";
}

std::vector<ConfigIssue> parse_referrals(const YAML::Node& node, int currency_exponent,
                                         ReferralConfig* out) {
  LOYALTY_ASSERT(out != nullptr);
  std::vector<ConfigIssue> issues;
  *out = ReferralConfig{};
  ReferralReader(currency_exponent, issues).read(node, *out);
  return issues;
}

std::vector<std::pair<std::string_view, std::vector<std::string_view>>> referral_document_keys() {
  std::vector<std::pair<std::string_view, std::vector<std::string_view>>> out = {
      {"referrals", kReferralKeys},
      {"referrals.code", kCodeKeys},
      {"referrals.referrer_reward", kReferrerRewardKeys},
      {"referrals.referee_reward", kRefereeRewardKeys},
      {"referrals.limits", kLimitKeys},
      {"referrals.fraud", kFraudKeys},
      {"referrals.fraud.velocity", kVelocityKeys},
      {"referrals.fraud.<control>", kControlKeys}};  // every control but velocity
  return out;
}

std::optional<std::string> referral_code_from_random(const ReferralCodeFormat& format,
                                                     std::span<const uint8_t> random) {
  LOYALTY_ASSERT(format.length >= kMinReferralCodeChars && format.length <= kMaxReferralCodeChars);
  constexpr size_t kSymbols = kReferralCodeAlphabet.size();
  // The largest multiple of the alphabet size below 256: bytes above it would bias.
  constexpr unsigned kAcceptBelow = 256 / kSymbols * kSymbols;
  static_assert(kAcceptBelow == 248);
  std::string code = format.prefix.empty() ? std::string() : format.prefix + "-";
  const size_t want = code.size() + static_cast<size_t>(format.length);
  for (uint8_t b : random) {
    if (code.size() == want) break;
    if (b >= kAcceptBelow) continue;
    code.push_back(kReferralCodeAlphabet[b % kSymbols]);
  }
  if (code.size() != want) return std::nullopt;
  return code;
}

std::optional<std::string> normalize_referral_code(std::string_view text) {
  if (text.size() > kMaxReferralCodeTextLength) return std::nullopt;
  std::string out;
  for (char c : text) {
    if (c == ' ') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!code_char(c) && c != '-') return std::nullopt;
    out.push_back(c);
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::string referral_link(const ReferralConfig& config, std::string_view code) {
  std::string link = config.link_template;
  const size_t at = link.find("{code}");
  if (at == std::string::npos) return {};
  link.replace(at, 6, code);
  return link;
}

std::string email_domain(std::string_view email) {
  const size_t at = email.rfind('@');
  if (at == std::string_view::npos) return {};
  return lower(email.substr(at + 1));
}

std::string normalize_email(std::string_view email, const std::vector<std::string>& gmail_style) {
  const size_t at = email.find('@');
  if (at == std::string_view::npos || at == 0 ||
      email.find('@', at + 1) != std::string_view::npos) {
    return {};
  }
  std::string local = lower(email.substr(0, at));
  std::string domain = lower(email.substr(at + 1));
  if (domain.empty()) return {};
  if (std::find(gmail_style.begin(), gmail_style.end(), domain) != gmail_style.end()) {
    local = local.substr(0, local.find('+'));
    std::erase(local, '.');
    if (domain == "googlemail.com") domain = "gmail.com";
  }
  return local + "@" + domain;
}

Status check_referee(const ReferralConfig& config, const RefereeFacts& facts) {
  if (!config.enabled) {
    return Status(ErrorCode::kReferralNotAllowed, "the program has no referrals");
  }
  if (facts.same_member) {
    return Status(ErrorCode::kReferralNotAllowed, "a member cannot use their own referral code");
  }
  if (facts.already_referred) {
    return Status(ErrorCode::kConflict, "the member was already referred (one code per referee)");
  }
  if (facts.existing_member && !config.allow_existing_customers) {
    return Status(ErrorCode::kReferralNotAllowed,
                  "existing members cannot be referred in this program (codes are taken at "
                  "enrollment)");
  }
  if (facts.existing_member && facts.has_ordered) {
    return Status(ErrorCode::kReferralNotAllowed,
                  "the member has already ordered: only new customers can be referred");
  }
  return Status::ok_status();
}

Screening screen_referral(const ReferralFraudConfig& fraud, const ReferralSignals& s) {
  Screening out;
  auto same = [](const std::string& a, const std::string& b) { return !a.empty() && a == b; };
  for (FraudControl c : kControls) {
    if (!fraud[c].enabled) continue;
    std::string reason;
    switch (c) {
      case FraudControl::kSelfReferral:
        if (same(s.referee_email, s.referrer_email)) {
          reason = "the referee's email is the referrer's (" + s.referee_email + ")";
        }
        break;
      case FraudControl::kDisposableEmail:
        if (!s.referee_email_domain.empty() &&
            std::find(fraud.disposable_domains.begin(), fraud.disposable_domains.end(),
                      s.referee_email_domain) != fraud.disposable_domains.end()) {
          reason = "the referee's email domain " + s.referee_email_domain + " is disposable";
        }
        break;
      case FraudControl::kSameShippingAddress:
        if (same(s.referee_shipping_hash, s.referrer_shipping_hash)) {
          reason = "the referee's shipping address is the referrer's";
        }
        break;
      case FraudControl::kSamePayment:
        if (same(s.referee_payment_hash, s.referrer_payment_hash)) {
          reason = "the referee's payment fingerprint is the referrer's";
        }
        break;
      case FraudControl::kSameDevice:
        if (same(s.referee_device_hash, s.referrer_device_hash)) {
          reason = "the referee's device is the referrer's";
        }
        break;
      case FraudControl::kSameIp:
        if (same(s.referee_ip_hash, s.referrer_ip_hash)) {
          reason = "the referee's IP address is the referrer's";
        }
        break;
      case FraudControl::kVelocity:
        if (s.code_referrals_in_window >= fraud.velocity_max_referrals) {
          reason = "more than " + std::to_string(fraud.velocity_max_referrals) +
                   " referrals from the code within " +
                   std::to_string(fraud.velocity_window_minutes) + " minutes";
        }
        break;
    }
    if (reason.empty()) continue;
    out.findings.push_back(FraudFinding{c, fraud[c].action, std::move(reason)});
    if (fraud[c].action == FraudAction::kReject) {
      out.outcome = ScreeningOutcome::kRejected;
    } else if (out.outcome == ScreeningOutcome::kClean) {
      out.outcome = ScreeningOutcome::kHeld;
    }
  }
  LOYALTY_ASSERT((out.outcome == ScreeningOutcome::kClean) == out.findings.empty());
  return out;
}

bool order_qualifies(const ReferralConfig& config, int64_t order_value_minor) {
  return order_value_minor > 0 && order_value_minor >= config.min_order_minor;
}

namespace {
// Whether `points` more fit under the program cap.
bool fits_cap(const ReferralLimits& limits, int64_t used, int64_t points) {
  return limits.program_points_per_period == 0 || used + points <= limits.program_points_per_period;
}
}  // namespace

ReferralPayout plan_completion_payout(const ReferralConfig& config, const ReferralUsage& usage,
                                      bool referee_already_rewarded) {
  ReferralPayout p;
  const ReferralLimits& limits = config.limits;
  int64_t used = usage.program_points_in_period;
  if (referee_already_rewarded) {
    p.referee_skip = RewardSkip::kAlreadyPaid;
  } else if (config.referee_reward.points > 0) {
    if (fits_cap(limits, used, config.referee_reward.points)) {
      p.referee_points = config.referee_reward.points;
      used += p.referee_points;
    } else {
      p.referee_skip = RewardSkip::kProgramCap;
    }
  }
  if (config.referrer_reward.points > 0) {
    if (limits.referrer_rewards_lifetime > 0 &&
        usage.referrer_rewards_lifetime >= limits.referrer_rewards_lifetime) {
      p.referrer_skip = RewardSkip::kReferrerLifetimeLimit;
    } else if (limits.referrer_rewards_per_period > 0 &&
               usage.referrer_rewards_in_period >= limits.referrer_rewards_per_period) {
      p.referrer_skip = RewardSkip::kReferrerPeriodLimit;
    } else if (!fits_cap(limits, used, config.referrer_reward.points)) {
      p.referrer_skip = RewardSkip::kProgramCap;
    } else {
      p.referrer_points = config.referrer_reward.points;
    }
  }
  LOYALTY_ASSERT(fits_cap(limits, usage.program_points_in_period, p.total()));
  LOYALTY_ASSERT(p.referrer_points >= 0 && p.referee_points >= 0);
  return p;
}

ReferralPayout plan_welcome_payout(const ReferralConfig& config, const ReferralUsage& usage) {
  ReferralPayout p;
  if (config.referee_timing != RefereeRewardTiming::kImmediate ||
      config.referee_reward.points == 0) {
    return p;
  }
  if (fits_cap(config.limits, usage.program_points_in_period, config.referee_reward.points)) {
    p.referee_points = config.referee_reward.points;
  } else {
    p.referee_skip = RewardSkip::kProgramCap;
  }
  LOYALTY_ASSERT(fits_cap(config.limits, usage.program_points_in_period, p.total()));
  return p;
}

std::optional<RewardSkip> parse_reward_skip(std::string_view s) {
  for (RewardSkip v :
       {RewardSkip::kNone, RewardSkip::kReferrerPeriodLimit, RewardSkip::kReferrerLifetimeLimit,
        RewardSkip::kProgramCap, RewardSkip::kAlreadyPaid, RewardSkip::kMemberBlocked}) {
    if (s == to_string(v)) return v;
  }
  return std::nullopt;
}

void write_findings(JsonWriter& w, const std::vector<FraudFinding>& findings) {
  w.begin_array();
  for (const FraudFinding& f : findings) {
    w.begin_object()
        .field("control", to_string(f.control))
        .field("action", to_string(f.action))
        .field("reason", f.reason)
        .end_object();
  }
  w.end_array();
}

std::string findings_to_json(const std::vector<FraudFinding>& findings) {
  JsonWriter w;
  write_findings(w, findings);
  return w.take();
}

std::optional<std::vector<FraudFinding>> findings_from_json(std::string_view json) {
  try {
    // JSON is YAML: the document parser's library reads it.
    const YAML::Node list = YAML::Load(std::string(json));
    if (!list.IsSequence()) return std::nullopt;
    std::vector<FraudFinding> out;
    for (const YAML::Node& n : list) {
      FraudFinding f;
      const std::string control = n["control"].as<std::string>("");
      auto it = std::find_if(std::begin(kControls), std::end(kControls),
                             [&](FraudControl c) { return control == to_string(c); });
      if (it == std::end(kControls)) return std::nullopt;
      f.control = *it;
      const std::string action = n["action"].as<std::string>("");
      if (action != "hold" && action != "reject") return std::nullopt;
      f.action = action == "hold" ? FraudAction::kHold : FraudAction::kReject;
      f.reason = n["reason"].as<std::string>("");
      out.push_back(std::move(f));
    }
    return out;
  } catch (const YAML::Exception&) {
    return std::nullopt;
  }
}

}  // namespace loyalty
