#include "domain/gifting.h"

#include <yaml-cpp/yaml.h>

#include "common/assert.h"
#include "common/crypto.h"
#include "common/json_writer.h"
#include "domain/referrals.h"

namespace loyalty {
namespace {

const std::vector<std::string_view> kGiftingKeys = {
    "enabled",       "claim_days",          "min_points",    "max_points",
    "allow_rewards", "claim_on_enrollment", "link_template", "limits"};
const std::vector<std::string_view> kGiftLimitKeys = {"period", "max_gifts", "max_points"};
const std::vector<std::string_view> kGiftPeriods = {"day", "week", "month", "year"};

// The base58 alphabet of random_base58 (common/crypto.h).
constexpr std::string_view kBase58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

const char* period_name(CapPeriod p) { return kGiftPeriods.at(static_cast<size_t>(p)).data(); }

}  // namespace

std::vector<ConfigIssue> parse_gifting(const YAML::Node& node, GiftingConfig* out) {
  LOYALTY_ASSERT(out != nullptr);
  std::vector<ConfigIssue> issues;
  *out = GiftingConfig{};
  ConfigReader r(/*currency_exponent=*/0, issues);
  const std::string path = "gifting";
  if (!r.check_map(node, path, kGiftingKeys)) return issues;
  GiftingConfig& c = *out;
  c.enabled = r.boolean(node, "enabled", path).value_or(true);
  c.claim_days = static_cast<int>(
      r.integer(node, "claim_days", path, 1, kMaxGiftClaimDays).value_or(c.claim_days));
  c.min_points = r.integer(node, "min_points", path, 1, kMaxGiftPoints).value_or(c.min_points);
  c.max_points = r.integer(node, "max_points", path, 0, kMaxGiftPoints).value_or(c.max_points);
  if (c.max_points > 0 && c.max_points < c.min_points) {
    r.issue(
        ConfigReader::child(path, "max_points"), node["max_points"],
        "expected at least min_points (" + std::to_string(c.min_points) + "), or 0 for no limit");
  }
  c.allow_rewards = r.boolean(node, "allow_rewards", path).value_or(c.allow_rewards);
  c.claim_on_enrollment =
      r.boolean(node, "claim_on_enrollment", path).value_or(c.claim_on_enrollment);
  if (auto link = r.string(node, "link_template", path, kMaxGiftLinkTemplateLength)) {
    if (link->find("{token}") == std::string::npos) {
      r.issue(ConfigReader::child(path, "link_template"), node["link_template"],
              "expected a link containing {token}, like \"https://shop.example/gift?t={token}\"");
    } else {
      c.link_template = *link;
    }
  }
  if (YAML::Node limits = node["limits"]) {
    const std::string lp = ConfigReader::child(path, "limits");
    if (r.check_map(limits, lp, kGiftLimitKeys)) {
      if (auto p = r.choice(limits, "period", lp, kGiftPeriods)) {
        c.period = static_cast<CapPeriod>(*p);  // kGiftPeriods is in CapPeriod's order
      }
      c.max_gifts_per_period =
          r.integer(limits, "max_gifts", lp, 0, kMaxGiftsPerPeriod).value_or(0);
      c.max_points_per_period = r.integer(limits, "max_points", lp, 0, kMaxGiftPoints).value_or(0);
    }
  }
  return issues;
}

std::string gifting_json(const GiftingConfig& c) {
  JsonWriter w;
  w.begin_object()
      .field("enabled", c.enabled)
      .field("claim_days", int64_t{c.claim_days})
      .field("min_points", c.min_points)
      .field("max_points", c.max_points)
      .field("allow_rewards", c.allow_rewards)
      .field("claim_on_enrollment", c.claim_on_enrollment);
  if (!c.link_template.empty()) w.field("link_template", c.link_template);
  w.key("limits")
      .begin_object()
      .field("period", period_name(c.period))
      .field("max_gifts", c.max_gifts_per_period)
      .field("max_points", c.max_points_per_period)
      .end_object();
  w.end_object();
  return w.take();
}

std::vector<std::pair<std::string_view, std::vector<std::string_view>>> gifting_document_keys() {
  return {{"gifting", kGiftingKeys}, {"gifting.limits", kGiftLimitKeys}};
}

const char* to_string(GiftKind k) { return k == GiftKind::kPoints ? "points" : "reward"; }

std::optional<GiftKind> parse_gift_kind(std::string_view s) {
  if (s == "points") return GiftKind::kPoints;
  if (s == "reward") return GiftKind::kReward;
  return std::nullopt;
}

const char* to_string(GiftStatus s) {
  switch (s) {
    case GiftStatus::kPending:
      return "pending";
    case GiftStatus::kClaimed:
      return "claimed";
    case GiftStatus::kReturned:
      return "returned";
    case GiftStatus::kCancelled:
      return "cancelled";
  }
  return "?";
}

std::optional<GiftStatus> parse_gift_status(std::string_view s) {
  for (GiftStatus v : {GiftStatus::kPending, GiftStatus::kClaimed, GiftStatus::kReturned,
                       GiftStatus::kCancelled}) {
    if (s == to_string(v)) return v;
  }
  return std::nullopt;
}

std::string gift_email_key(std::string_view email) {
  static const std::vector<std::string> kGmailStyle = {"gmail.com", "googlemail.com"};
  return normalize_email(email, kGmailStyle);
}

Status check_new_gift(const GiftingConfig& config, GiftKind kind, int64_t points,
                      std::string_view giver_email_key, std::string_view recipient_email_key,
                      std::string_view message, const GiftUsage& usage) {
  if (!config.enabled) {
    return Status(ErrorCode::kGiftNotAllowed, "this program has no gifting");
  }
  if (kind == GiftKind::kReward && !config.allow_rewards) {
    return Status(ErrorCode::kGiftNotAllowed, "this program lets members gift points only");
  }
  if (kind == GiftKind::kPoints) {
    if (points < config.min_points) {
      return Status(ErrorCode::kGiftNotAllowed,
                    "a gift must hold at least " + std::to_string(config.min_points) + " points");
    }
    if (config.max_points > 0 && points > config.max_points) {
      return Status(ErrorCode::kGiftNotAllowed,
                    "a gift may hold at most " + std::to_string(config.max_points) + " points");
    }
  }
  if (message.size() > kMaxGiftMessageLength) {
    return Status(ErrorCode::kInvalidRequest,
                  "message: at most " + std::to_string(kMaxGiftMessageLength) + " bytes");
  }
  if (recipient_email_key.empty()) {
    return Status(ErrorCode::kInvalidRequest, "recipient_email: expected an email address");
  }
  if (!giver_email_key.empty() && giver_email_key == recipient_email_key) {
    return Status(ErrorCode::kGiftToSelf,
                  "the recipient email is the giver's own: a member cannot gift to themselves");
  }
  const char* period = period_name(config.period);
  if (config.max_gifts_per_period > 0 && usage.gifts + 1 > config.max_gifts_per_period) {
    return Status(ErrorCode::kGiftLimitReached, "the member already sent " +
                                                    std::to_string(usage.gifts) + " gifts this " +
                                                    period + "; the program allows " +
                                                    std::to_string(config.max_gifts_per_period));
  }
  if (config.max_points_per_period > 0 && usage.points + points > config.max_points_per_period) {
    return Status(ErrorCode::kGiftLimitReached, "the member already gifted " +
                                                    std::to_string(usage.points) + " points this " +
                                                    period + "; the program allows " +
                                                    std::to_string(config.max_points_per_period));
  }
  return {};
}

std::optional<std::string> gift_token_digest(std::string_view token) {
  if (token.size() != kGiftTokenChars) return std::nullopt;
  for (char ch : token) {
    if (kBase58.find(ch) == std::string_view::npos) return std::nullopt;
  }
  return sha256_hex(token);
}

std::string gift_claim_link(const GiftingConfig& config, std::string_view token) {
  std::string link = config.link_template;
  const size_t at = link.find("{token}");
  if (at == std::string::npos) return {};
  link.replace(at, 7, token);
  return link;
}

}  // namespace loyalty
