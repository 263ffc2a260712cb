#include "domain/rewards.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <numeric>
#include <set>

#include "common/assert.h"
#include "domain/order.h"
#include "domain/rules/rules.h"

namespace loyalty {
namespace {

constexpr RewardType kRewardTypes[] = {RewardType::kFixedDiscount,   RewardType::kPercentDiscount,
                                       RewardType::kFreeShipping,    RewardType::kFreeProduct,
                                       RewardType::kStoreCredit,     RewardType::kExperience,
                                       RewardType::kCharityDonation, RewardType::kGiftCard};
constexpr RewardPeriod kRewardPeriods[] = {RewardPeriod::kDay, RewardPeriod::kWeek,
                                           RewardPeriod::kMonth, RewardPeriod::kYear};

const std::vector<std::string_view> kRewardKeys = {"id",
                                                   "name",
                                                   "description",
                                                   "image_url",
                                                   "type",
                                                   "active",
                                                   "cost",
                                                   "amount",
                                                   "percent",
                                                   "max_discount",
                                                   "min_order",
                                                   "sku",
                                                   "cause",
                                                   "tiers",
                                                   "condition",
                                                   "member_limit",
                                                   "stock",
                                                   "available_from",
                                                   "available_until",
                                                   "coupon_valid_days",
                                                   "coupon_prefix",
                                                   "release_on_order_cancel"};
const std::vector<std::string_view> kCostKeys = {"points", "points_per_unit", "min_points",
                                                 "max_points"};
const std::vector<std::string_view> kLimitKeys = {"period", "max_per_period", "max_lifetime"};
const std::vector<std::string_view> kCauseKeys = {"id", "name"};

bool valid_id(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::string index_path(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// Reads one reward's fields, collecting issues with the node positions.
class RewardReader : public ConfigReader {
 public:
  RewardReader(const RewardParseContext& ctx, std::vector<ConfigIssue>& issues)
      : ConfigReader(ctx.currency_exponent, issues), ctx_(ctx), issues_(issues) {}

  // "12.50" (at most the currency's decimals) -> minor units.
  std::optional<int64_t> money(const YAML::Node& m, std::string_view key, const std::string& path) {
    return ConfigReader::money(m, key, path, kMaxRewardMoneyMinor);
  }

  std::optional<Instant> instant(const YAML::Node& m, std::string_view key,
                                 const std::string& path) {
    YAML::Node v = m[std::string(key)];
    if (!v) return std::nullopt;
    auto t = v.IsScalar() ? parse_rfc3339(v.Scalar()) : std::nullopt;
    if (!t) {
      issue(child(path, key), v, "expected an RFC 3339 instant like \"2026-12-01T00:00:00Z\"");
    }
    return t;
  }

  std::optional<Reward> read(const YAML::Node& n, const std::string& path);

 private:
  const RewardParseContext& ctx_;
  std::vector<ConfigIssue>& issues_;
};

std::optional<Reward> RewardReader::read(const YAML::Node& n, const std::string& path) {
  const size_t before = issues_.size();
  if (!check_map(n, path, kRewardKeys)) return std::nullopt;
  Reward r;
  r.id = string(n, "id", path, 64).value_or("");
  if (!valid_id(r.id)) {
    issue(path + ".id", n["id"] ? n["id"] : n,
          "expected a reward id of lower-case letters, digits, '_' and '-', 1 to 64 characters");
  }
  r.name = string(n, "name", path, 200).value_or("");
  if (r.name.empty()) issue(path + ".name", n["name"] ? n["name"] : n, "expected a name");
  r.description = string(n, "description", path, kMaxRewardTextLength).value_or("");
  r.image_url = string(n, "image_url", path, kMaxImageUrlLength).value_or("");
  if (!r.image_url.empty() && !r.image_url.starts_with("https://") &&
      !r.image_url.starts_with("http://")) {
    issue(path + ".image_url", n["image_url"], "expected an http(s) URL");
  }
  auto type_text = string(n, "type", path, 64);
  std::optional<RewardType> type = type_text ? parse_reward_type(*type_text) : std::nullopt;
  if (!type) {
    std::string names;
    for (RewardType t : kRewardTypes)
      names += std::string(names.empty() ? "" : ", ") + to_string(t);
    issue(path + ".type", n["type"] ? n["type"] : n, "expected one of " + names);
    return std::nullopt;
  }
  r.type = *type;
  r.active = boolean(n, "active", path).value_or(true);

  // Cost: an integer (fixed) or a mapping (variable).
  YAML::Node cost = n["cost"];
  const std::string cost_path = path + ".cost";
  if (!cost) {
    issue(cost_path, n,
          "expected the cost: points (an integer) or {points_per_unit, min_points, max_points}");
  } else if (cost.IsScalar()) {
    r.cost.points = integer(n, "cost", path, 1, kMaxRewardPoints).value_or(0);
  } else if (check_map(cost, cost_path, kCostKeys)) {
    r.cost.variable = true;
    if (cost["points"])
      issue(cost_path + ".points", cost["points"], "a variable cost has no fixed points");
    r.cost.points_per_unit =
        integer(cost, "points_per_unit", cost_path, 1, kMaxRewardPoints).value_or(0);
    r.cost.min_points = integer(cost, "min_points", cost_path, 1, kMaxRewardPoints).value_or(0);
    r.cost.max_points = integer(cost, "max_points", cost_path, 1, kMaxRewardPoints).value_or(0);
    for (std::string_view k : {"points_per_unit", "min_points", "max_points"}) {
      if (!cost[std::string(k)])
        issue(cost_path + "." + std::string(k), cost, "missing (a variable cost needs it)");
    }
    if (r.cost.min_points > 0 && r.cost.max_points > 0 && r.cost.min_points > r.cost.max_points) {
      issue(cost_path + ".min_points", cost["min_points"],
            "min_points (" + std::to_string(r.cost.min_points) + ") is above max_points (" +
                std::to_string(r.cost.max_points) + ")");
    }
    if (!has_money_amount(r.type)) {
      issue(cost_path, cost,
            std::string("a variable cost prices a money amount: only fixed_discount, "
                        "store_credit, charity_donation and gift_card take one, not ") +
                to_string(r.type));
    }
  }

  auto forbid = [&](std::string_view key, const char* why) {
    if (n[std::string(key)])
      issue(path + "." + std::string(key), n[std::string(key)], std::string(key) + " " + why);
  };
  // Type-specific values.
  if (has_money_amount(r.type)) {
    if (r.cost.variable) {
      forbid("amount", "is computed from a variable cost; leave it out");
    } else if (!n["amount"]) {
      issue(path + ".amount", n,
            std::string("missing: a ") + to_string(r.type) + " reward needs its amount");
    } else {
      r.amount_minor = money(n, "amount", path).value_or(0);
      if (r.amount_minor == 0 && n["amount"])
        issue(path + ".amount", n["amount"], "must be above zero");
    }
  } else {
    forbid("amount",
           "applies only to fixed_discount, store_credit, charity_donation and gift_card");
  }
  if (r.type == RewardType::kPercentDiscount) {
    if (!n["percent"])
      issue(path + ".percent", n, "missing: a percent_discount needs percent (1 to 100)");
    r.percent = static_cast<int>(integer(n, "percent", path, 1, 100).value_or(0));
    r.max_discount_minor = money(n, "max_discount", path).value_or(0);
  } else {
    forbid("percent", "applies only to percent_discount");
    forbid("max_discount", "applies only to percent_discount");
  }
  if (issues_coupon(r.type)) {
    r.min_order_minor = money(n, "min_order", path).value_or(0);
    r.coupon_valid_days =
        static_cast<int>(integer(n, "coupon_valid_days", path, 0, kMaxCouponValidDays).value_or(0));
    r.coupon_prefix = string(n, "coupon_prefix", path, kMaxCouponPrefixLength).value_or("");
    if (!std::all_of(r.coupon_prefix.begin(), r.coupon_prefix.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); })) {
      issue(path + ".coupon_prefix", n["coupon_prefix"], "expected upper-case letters and digits");
    }
    r.release_on_order_cancel = boolean(n, "release_on_order_cancel", path).value_or(true);
  } else {
    for (std::string_view k :
         {"min_order", "coupon_valid_days", "coupon_prefix", "release_on_order_cancel"}) {
      forbid(k,
             "applies only to rewards that issue a coupon (a donation or a gift card issues "
             "none)");
    }
  }
  if (r.type == RewardType::kFreeProduct) {
    r.sku = string(n, "sku", path, kMaxSkuLength).value_or("");
    if (r.sku.empty())
      issue(path + ".sku", n["sku"] ? n["sku"] : n,
            "missing: a free_product needs the product's sku");
  } else {
    forbid("sku", "applies only to free_product");
  }
  if (r.type == RewardType::kCharityDonation) {
    YAML::Node cause = n["cause"];
    if (!cause) {
      issue(path + ".cause", n, "missing: a charity_donation needs its cause {id, name}");
    } else if (check_map(cause, path + ".cause", kCauseKeys)) {
      r.cause_id = string(cause, "id", path + ".cause", 64).value_or("");
      r.cause_name = string(cause, "name", path + ".cause", 200).value_or("");
      if (!valid_id(r.cause_id))
        issue(path + ".cause.id", cause["id"] ? cause["id"] : cause,
              "expected a cause id of [a-z0-9_-], 1 to 64 characters");
      if (r.cause_name.empty())
        issue(path + ".cause.name", cause["name"] ? cause["name"] : cause,
              "expected the cause's name");
    }
  } else {
    forbid("cause", "applies only to charity_donation");
  }

  // Who may redeem.
  if (YAML::Node tiers = n["tiers"]) {
    if (!tiers.IsSequence()) {
      issue(path + ".tiers", tiers, "expected a list of tier ids");
    } else {
      for (size_t i = 0; i < tiers.size(); ++i) {
        const std::string t = tiers[i].IsScalar() ? tiers[i].Scalar() : std::string();
        if (std::find(ctx_.tier_ids.begin(), ctx_.tier_ids.end(), t) == ctx_.tier_ids.end()) {
          issue(index_path(path + ".tiers", i), tiers[i],
                "unknown tier '" + t + "'" +
                    (ctx_.tier_ids.empty() ? " (the program has no tiers)" : ""));
        } else {
          r.tiers.push_back(t);
        }
      }
    }
  }
  if (auto condition = string(n, "condition", path, rules::kMaxSourceBytes)) {
    rules::CompileError error;
    auto compiled = rules::compile(*condition, reward_condition_environment(ctx_.currency_exponent),
                                   rules::Type::kBool, &error);
    if (!compiled.ok()) {
      issue(path + ".condition", n["condition"],
            "in a condition (a bool expression) at offset " + std::to_string(error.offset) + ": " +
                (error.message.empty() ? compiled.status().message() : error.message));
    }
    r.condition = *condition;
  }
  if (YAML::Node limit = n["member_limit"]) {
    const std::string lp = path + ".member_limit";
    if (check_map(limit, lp, kLimitKeys)) {
      if (auto p = string(limit, "period", lp, 16)) {
        for (RewardPeriod rp : kRewardPeriods) {
          if (*p == to_string(rp)) r.member_limit.period = rp;
        }
        if (!r.member_limit.period)
          issue(lp + ".period", limit["period"], "expected day, week, month or year");
      }
      r.member_limit.max_per_period =
          integer(limit, "max_per_period", lp, 1, kMaxRewardStock).value_or(0);
      r.member_limit.max_lifetime =
          integer(limit, "max_lifetime", lp, 1, kMaxRewardStock).value_or(0);
      if (r.member_limit.period.has_value() != (r.member_limit.max_per_period > 0)) {
        issue(lp, limit, "period and max_per_period go together");
      }
      if (r.member_limit.max_lifetime > 0 &&
          r.member_limit.max_per_period > r.member_limit.max_lifetime) {
        issue(lp + ".max_per_period", limit["max_per_period"],
              "max_per_period is above max_lifetime");
      }
    }
  }
  if (n["stock"]) r.stock = integer(n, "stock", path, 0, kMaxRewardStock);
  r.available_from = instant(n, "available_from", path);
  r.available_until = instant(n, "available_until", path);
  if (r.available_from && r.available_until && *r.available_from >= *r.available_until) {
    issue(path + ".available_until", n["available_until"], "must be after available_from");
  }
  if (issues_.size() != before) return std::nullopt;
  return r;
}

int64_t pow10(int e) {
  int64_t p = 1;
  for (int i = 0; i < e; ++i) p *= 10;
  return p;
}

std::string format_points(int64_t p) { return std::to_string(p) + (p == 1 ? " point" : " points"); }

}  // namespace

rules::Environment reward_condition_environment(int currency_exponent) {
  rules::Environment env;
  env.currency_exponent = currency_exponent;
  env.allow(rules::Root::kMember).allow(rules::Root::kProgram).allow(rules::Root::kNow);
  return env;
}

const char* to_string(RewardType t) {
  switch (t) {
    case RewardType::kFixedDiscount:
      return "fixed_discount";
    case RewardType::kPercentDiscount:
      return "percent_discount";
    case RewardType::kFreeShipping:
      return "free_shipping";
    case RewardType::kFreeProduct:
      return "free_product";
    case RewardType::kStoreCredit:
      return "store_credit";
    case RewardType::kExperience:
      return "experience";
    case RewardType::kCharityDonation:
      return "charity_donation";
    case RewardType::kGiftCard:
      return "gift_card";
  }
  return "?";
}

std::optional<RewardType> parse_reward_type(std::string_view s) {
  for (RewardType t : kRewardTypes) {
    if (s == to_string(t)) return t;
  }
  return std::nullopt;
}

const char* to_string(RewardPeriod p) {
  switch (p) {
    case RewardPeriod::kDay:
      return "day";
    case RewardPeriod::kWeek:
      return "week";
    case RewardPeriod::kMonth:
      return "month";
    case RewardPeriod::kYear:
      return "year";
  }
  return "?";
}

std::vector<ConfigIssue> parse_rewards(const YAML::Node& list, const RewardParseContext& ctx,
                                       std::vector<Reward>* out) {
  std::vector<ConfigIssue> issues;
  RewardReader reader(ctx, issues);
  if (!list.IsSequence()) {
    reader.issue("rewards", list, "expected a list of rewards");
    return issues;
  }
  if (list.size() > kMaxRewards) {
    reader.issue(
        "rewards", list,
        "at most " + std::to_string(kMaxRewards) + " rewards, got " + std::to_string(list.size()));
    return issues;
  }
  std::set<std::string> ids;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = index_path("rewards", i);
    auto reward = reader.read(list[i], path);
    if (!reward) continue;
    if (!ids.insert(reward->id).second) {
      reader.issue(path + ".id", list[i]["id"], "duplicate reward id '" + reward->id + "'");
      continue;
    }
    out->push_back(std::move(*reward));
  }
  return issues;
}

const Reward* find_reward(const std::vector<Reward>& rewards, std::string_view id) {
  for (const Reward& r : rewards) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

Result<RewardPrice> price_reward(const Reward& reward, std::optional<int64_t> requested_points,
                                 int currency_exponent) {
  if (!reward.cost.variable) {
    if (requested_points) {
      return Status(ErrorCode::kInvalidRequest,
                    "points: reward '" + reward.id + "' has a fixed cost of " +
                        format_points(reward.cost.points) + "; leave points out");
    }
    return RewardPrice{reward.cost.points, reward.amount_minor};
  }
  const RewardCost& c = reward.cost;
  if (!requested_points) {
    return Status(ErrorCode::kInvalidRequest,
                  "points: reward '" + reward.id + "' has a variable cost: give points from " +
                      std::to_string(c.min_points) + " to " + std::to_string(c.max_points));
  }
  const int64_t p = *requested_points;
  if (p < c.min_points || p > c.max_points) {
    return Status(ErrorCode::kInvalidRequest,
                  "points: must be from " + std::to_string(c.min_points) + " to " +
                      std::to_string(c.max_points) + ", got " + std::to_string(p));
  }
  // money_minor = p * 10^exponent / points_per_unit, exactly (p <= 10^9, 10^exponent <= 10^6).
  const int64_t scaled = p * pow10(currency_exponent);
  if (scaled % c.points_per_unit != 0) {
    return Status(ErrorCode::kInvalidRequest,
                  "points: " + std::to_string(p) +
                      " points do not make a whole number of minor "
                      "units at " +
                      std::to_string(c.points_per_unit) + " points per unit; use a multiple of " +
                      std::to_string(c.points_per_unit /
                                     std::gcd(c.points_per_unit, pow10(currency_exponent))));
  }
  RewardPrice price{p, scaled / c.points_per_unit};
  LOYALTY_ASSERT(price.amount_minor >= 0);
  return price;
}

const char* to_string(RewardBlock b) {
  switch (b) {
    case RewardBlock::kNone:
      return "none";
    case RewardBlock::kInactive:
      return "inactive";
    case RewardBlock::kNotYetAvailable:
      return "not_yet_available";
    case RewardBlock::kNoLongerAvailable:
      return "no_longer_available";
    case RewardBlock::kTierRestricted:
      return "tier_restricted";
    case RewardBlock::kConditionNotMet:
      return "condition_not_met";
    case RewardBlock::kOutOfStock:
      return "out_of_stock";
    case RewardBlock::kLimitReached:
      return "limit_reached";
    case RewardBlock::kInsufficientPoints:
      return "insufficient_points";
  }
  return "?";
}

RewardEligibility check_eligibility(
    const Reward& reward, const RewardFacts& facts, int64_t points, Instant now,
    std::span<const std::pair<std::string, std::string>> tier_names) {
  RewardEligibility e;
  auto block = [&](RewardBlock b, std::string message) {
    e.block = b;
    e.message = std::move(message);
    return e;
  };
  if (!reward.active) return block(RewardBlock::kInactive, "not offered at the moment");
  if (reward.available_from && now < *reward.available_from) {
    return block(RewardBlock::kNotYetAvailable,
                 "not available until " + format_rfc3339(*reward.available_from));
  }
  if (reward.available_until && now >= *reward.available_until) {
    return block(RewardBlock::kNoLongerAvailable,
                 "no longer available since " + format_rfc3339(*reward.available_until));
  }
  if (!reward.tiers.empty() &&
      std::find(reward.tiers.begin(), reward.tiers.end(), facts.tier) == reward.tiers.end()) {
    std::string names;
    for (size_t i = 0; i < reward.tiers.size(); ++i) {
      std::string name = reward.tiers[i];
      for (const auto& [id, n] : tier_names) {
        if (id == reward.tiers[i]) name = n;
      }
      names += (i == 0 ? "" : i + 1 == reward.tiers.size() ? " or " : ", ") + name;
    }
    return block(RewardBlock::kTierRestricted, names + " only");
  }
  if (!facts.condition_met) {
    return block(RewardBlock::kConditionNotMet, "the member does not meet the reward's condition");
  }
  if (reward.stock && facts.stock_taken >= *reward.stock) {
    return block(RewardBlock::kOutOfStock, "out of stock");
  }
  const RewardMemberLimit& l = reward.member_limit;
  if (l.max_lifetime > 0 && facts.member_lifetime >= l.max_lifetime) {
    return block(RewardBlock::kLimitReached,
                 "limit reached: " + std::to_string(l.max_lifetime) + " per member");
  }
  if (l.max_per_period > 0 && l.period && facts.member_in_period >= l.max_per_period) {
    return block(RewardBlock::kLimitReached, "limit reached: " + std::to_string(l.max_per_period) +
                                                 " per " + to_string(*l.period));
  }
  if (facts.available_points < points) {
    e.points_short = points - facts.available_points;
    const int64_t short_by = points - facts.available_points;
    return block(
        RewardBlock::kInsufficientPoints,
        "needs " + std::to_string(short_by) + (short_by == 1 ? " more point" : " more points"));
  }
  return e;
}

ErrorCode error_code_of(RewardBlock block) {
  switch (block) {
    case RewardBlock::kNone:
      return ErrorCode::kOk;
    case RewardBlock::kInactive:
    case RewardBlock::kNotYetAvailable:
    case RewardBlock::kNoLongerAvailable:
      return ErrorCode::kRewardUnavailable;
    case RewardBlock::kTierRestricted:
    case RewardBlock::kConditionNotMet:
      return ErrorCode::kRewardNotEligible;
    case RewardBlock::kOutOfStock:
      return ErrorCode::kOutOfStock;
    case RewardBlock::kLimitReached:
      return ErrorCode::kRedemptionLimitReached;
    case RewardBlock::kInsufficientPoints:
      return ErrorCode::kInsufficientPoints;
  }
  return ErrorCode::kInternal;
}

std::optional<std::string> coupon_code_from_random(std::string_view prefix,
                                                   std::span<const uint8_t> random) {
  constexpr size_t kAlphabet = kCouponAlphabet.size();
  static_assert(kAlphabet == 31);
  constexpr unsigned kUsable = 256 - 256 % kAlphabet;  // 248: uniform modulo 31
  std::string chars;
  for (uint8_t b : random) {
    if (chars.size() == kCouponCodeChars) break;
    if (b >= kUsable) continue;
    chars.push_back(kCouponAlphabet[b % kAlphabet]);
  }
  if (chars.size() < kCouponCodeChars) return std::nullopt;
  std::string code(prefix);
  if (!code.empty()) code += '-';
  for (size_t i = 0; i < chars.size(); ++i) {
    if (i > 0 && i % 4 == 0) code += '-';
    code += chars[i];
  }
  return code;
}

std::optional<std::string> normalize_coupon_code(std::string_view code) {
  if (code.empty() || code.size() > kMaxCouponCodeLength) return std::nullopt;
  std::string out;
  for (char c : code) {
    if (c == '-' || c == ' ') continue;
    char u = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    if (!((u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9'))) return std::nullopt;
    out += u;
  }
  if (out.empty()) return std::nullopt;
  return out;
}

const char* to_string(CouponMismatch m) {
  switch (m) {
    case CouponMismatch::kNone:
      return "none";
    case CouponMismatch::kBelowMinimumOrder:
      return "below_minimum_order";
    case CouponMismatch::kProductNotInCart:
      return "product_not_in_cart";
    case CouponMismatch::kNoShipping:
      return "no_shipping";
  }
  return "?";
}

CouponDiscount apply_coupon(const CouponTerms& t, const Cart& cart) {
  CouponDiscount d;
  if (t.min_order_minor > 0 && cart.subtotal_minor < t.min_order_minor) {
    d.mismatch = CouponMismatch::kBelowMinimumOrder;
    d.message = "the cart's subtotal is below the coupon's minimum order (" +
                std::to_string(t.min_order_minor) + " minor units)";
    return d;
  }
  switch (t.type) {
    case RewardType::kFixedDiscount:
    case RewardType::kStoreCredit:
      d.discount_minor = std::min(t.amount_minor, cart.subtotal_minor);
      break;
    case RewardType::kPercentDiscount: {
      // floor(subtotal * percent / 100) without overflow: subtotal < 2^63 / 100 is checked.
      int64_t whole = cart.subtotal_minor / 100 * t.percent;
      int64_t rest = cart.subtotal_minor % 100 * t.percent / 100;
      d.discount_minor = whole + rest;
      if (t.max_discount_minor > 0)
        d.discount_minor = std::min(d.discount_minor, t.max_discount_minor);
      break;
    }
    case RewardType::kFreeShipping:
      if (cart.shipping_minor <= 0) {
        d.mismatch = CouponMismatch::kNoShipping;
        d.message = "the cart has no shipping to waive";
        return d;
      }
      d.shipping_discount_minor = cart.shipping_minor;
      break;
    case RewardType::kFreeProduct: {
      auto it = std::find_if(cart.items.begin(), cart.items.end(),
                             [&](const CartItem& i) { return i.sku == t.sku && i.quantity > 0; });
      if (it == cart.items.end()) {
        d.mismatch = CouponMismatch::kProductNotInCart;
        d.message = "the cart holds no unit of product '" + t.sku + "'";
        return d;
      }
      d.discount_minor = std::min(it->unit_price_minor, cart.subtotal_minor);
      break;
    }
    case RewardType::kExperience:
    case RewardType::kCharityDonation:
    case RewardType::kGiftCard:
      break;  // a ticket (or no coupon at all): nothing off the cart
  }
  LOYALTY_ASSERT(d.discount_minor >= 0 &&
                 d.discount_minor <= std::max<int64_t>(0, cart.subtotal_minor));
  return d;
}

}  // namespace loyalty
