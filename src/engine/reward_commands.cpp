#include "engine/reward_commands.h"

#include <array>
#include <map>
#include <mutex>

#include <date/tz.h>

#include "common/assert.h"
#include "common/crypto.h"
#include "common/json_writer.h"
#include "domain/earning.h"
#include "domain/expiry.h"
#include "engine/engine.h"
#include "engine/gift_card_commands.h"
#include "engine/order_commands.h"
#include "engine/outbox.h"
#include "engine/rule_context.h"
#include "engine/tier_commands.h"

namespace loyalty::engine {
namespace {

using store::Coupon;
using store::CouponStatus;
using store::Redemption;
using store::RedemptionStatus;
using store::RewardStore;
using store::StoreSession;

constexpr std::string_view kRewardRedeemed = "reward.redeemed";
constexpr std::string_view kRedemptionCancelled = "redemption.cancelled";
constexpr std::string_view kCouponConsumed = "coupon.consumed";
// Codes drawn before giving up on finding an unused one (each collides with
// probability below 2^-40 even with a million coupons issued).
constexpr int kMaxCodeDraws = 4;
constexpr size_t kCodeHintChars = 4;

// The rewards' conditions, compiled once per program and configuration
// version, shared by the writer and the readers (process-wide, bounded).
using CompiledConditions = std::vector<std::optional<rules::Expression>>;
constexpr size_t kMaxCachedConditionSets = 1024;

Result<std::shared_ptr<const CompiledConditions>> compiled_conditions(const ProgramConfig& config,
                                                                      const Program& program) {
  static std::mutex mu;
  static std::map<std::pair<int64_t, int>, std::shared_ptr<const CompiledConditions>> cache;
  const auto key = std::make_pair(program.id.value, config.version);
  {
    std::lock_guard lock(mu);
    auto it = cache.find(key);
    if (it != cache.end() && it->second->size() == config.rewards.size()) return it->second;
  }
  auto compiled = std::make_shared<CompiledConditions>();
  const int exponent = currency_exponent(program.currency).value_or(2);
  for (const Reward& r : config.rewards) {
    if (r.condition.empty()) {
      compiled->emplace_back();
      continue;
    }
    auto e =
        rules::compile(r.condition, reward_condition_environment(exponent), rules::Type::kBool);
    if (!e.ok()) {
      return Status(ErrorCode::kInternal,
                    "reward '" + r.id + "' condition no longer compiles: " + e.status().message());
    }
    compiled->push_back(std::move(e).value());
  }
  std::lock_guard lock(mu);
  if (cache.size() >= kMaxCachedConditionSets) cache.clear();
  cache[key] = compiled;
  return std::shared_ptr<const CompiledConditions>(compiled);
}

CapPeriod cap_period(RewardPeriod p) {
  switch (p) {
    case RewardPeriod::kDay:
      return CapPeriod::kDay;
    case RewardPeriod::kWeek:
      return CapPeriod::kWeek;
    case RewardPeriod::kMonth:
      return CapPeriod::kMonth;
    case RewardPeriod::kYear:
      return CapPeriod::kYear;
  }
  return CapPeriod::kLifetime;
}

// The current period of each reward with a period limit ("" without one).
std::map<std::string, std::string> period_keys(const ProgramConfig& config, const Program& program,
                                               Instant now) {
  std::map<std::string, std::string> out;
  const date::time_zone* zone = nullptr;
  for (const Reward& r : config.rewards) {
    if (!r.member_limit.period) continue;
    if (zone == nullptr) zone = date::locate_zone(program.timezone);  // validated with the program
    out[r.id] = std::string(period_key(cap_period(*r.member_limit.period), zone, now).view());
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> tier_names(const ProgramConfig& config) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const TierLevel& l : config.tiers.levels) out.emplace_back(l.id, l.name);
  return out;
}

// Everything eligibility reads, for every reward of the catalog.
struct OfferInputs {
  const ProgramConfig* config = nullptr;
  const Program* program = nullptr;
  const Member* member = nullptr;
  const Balance* balance = nullptr;
  std::string tier;
  std::map<std::string, int64_t> stock_taken;
  std::map<std::string, store::RewardUsage> usage;
};

Result<std::vector<RewardOffer>> evaluate_offers(const OfferInputs& in, Instant now,
                                                 const std::string* only_reward = nullptr) {
  LOYALTY_ASSIGN_OR_RETURN(auto conditions, compiled_conditions(*in.config, *in.program));
  MemberContext member_ctx;
  LOYALTY_RETURN_IF_ERROR(member_ctx.fill(*in.program, *in.member, in.balance, in.tier));
  rules::Context ctx;
  ctx.member = &member_ctx.member;
  ctx.program = &member_ctx.program;
  ctx.now = now;
  const auto names = tier_names(*in.config);
  std::vector<RewardOffer> out;
  for (size_t i = 0; i < in.config->rewards.size(); ++i) {
    const Reward& r = in.config->rewards[i];
    if (only_reward != nullptr && r.id != *only_reward) continue;
    RewardFacts facts;
    facts.tier = in.tier;
    facts.available_points = in.balance->available.value;
    const auto& condition = (*conditions)[i];
    facts.condition_met = !condition || rules::evaluate_condition(*condition, ctx);
    if (auto it = in.stock_taken.find(r.id); it != in.stock_taken.end()) {
      facts.stock_taken = it->second;
    }
    if (auto it = in.usage.find(r.id); it != in.usage.end()) {
      facts.member_in_period = it->second.in_period;
      facts.member_lifetime = it->second.lifetime;
    }
    RewardOffer offer;
    offer.reward = &r;
    offer.points = r.cost.variable ? r.cost.min_points : r.cost.points;
    offer.eligibility = check_eligibility(r, facts, offer.points, now, names);
    if (r.stock) offer.stock_left = std::max<int64_t>(0, *r.stock - facts.stock_taken);
    out.push_back(std::move(offer));
  }
  return out;
}

std::string redemption_payload(const Redemption& r, const std::optional<Coupon>& coupon,
                               std::string_view currency, PostingId posting) {
  JsonWriter w;
  w.begin_object()
      .field("member_id", format_id(r.member_id))
      .field("redemption_id", format_id(r.id))
      .field("reward_id", r.reward_id)
      .field("reward_type", to_string(r.reward_type))
      .field("points", r.points)
      .field("amount_minor", r.amount_minor)
      .field("currency", currency)
      .field("posting_id", format_id(posting));
  if (!r.cause_id.empty()) w.field("cause_id", r.cause_id);
  if (coupon) {
    w.field("coupon_id", format_id(coupon->id)).field("code_hint", coupon->code_hint);
    if (coupon->expires_at) w.field("coupon_expires_at", format_rfc3339(*coupon->expires_at));
  }
  w.field("occurred_at", format_rfc3339(r.cancelled_at.value_or(r.created_at)));
  w.end_object();
  return w.take();
}

Result<store::Coupon> find_program_coupon(RewardStore& rewards, ProgramId program,
                                          std::string_view code) {
  auto normalized = normalize_coupon_code(code);
  if (!normalized) return Status(ErrorCode::kNotFound, "no coupon has this code");
  LOYALTY_ASSIGN_OR_RETURN(auto coupon, rewards.find_coupon_by_hash(sha256_hex(*normalized)));
  if (!coupon) return Status(ErrorCode::kNotFound, "no coupon has this code");
  if (coupon->program_id != program) {
    return Status(ErrorCode::kCouponNotUsable, "the coupon belongs to another program");
  }
  return std::move(*coupon);
}

// Why an issued coupon cannot be used now, if it cannot.
Status usable(const Coupon& c, Instant now) {
  if (c.status == CouponStatus::kCancelled) {
    return Status(ErrorCode::kCouponNotUsable, "the coupon was cancelled with its redemption");
  }
  if (c.status == CouponStatus::kConsumed) {
    return Status(ErrorCode::kCouponNotUsable,
                  "the coupon was already consumed by order '" + c.order_ref + "'");
  }
  if (c.status == CouponStatus::kGifted) {
    return Status(ErrorCode::kCouponNotUsable,
                  "the coupon was gifted: it is usable again only if the gift comes back");
  }
  if (c.expires_at && now >= *c.expires_at) {
    return Status(ErrorCode::kCouponNotUsable,
                  "the coupon expired at " + format_rfc3339(*c.expires_at));
  }
  return {};
}

Result<CouponDiscount> discount_for(const Coupon& c, const Cart& cart) {
  CouponDiscount d = apply_coupon(c.terms, cart);
  if (d.mismatch != CouponMismatch::kNone) {
    return Status(ErrorCode::kCouponNotApplicable, d.message);
  }
  return d;
}

}  // namespace

Result<std::string> draw_coupon_code(RewardStore& rewards, std::string_view prefix,
                                     std::string* hash) {
  for (int attempt = 0; attempt < kMaxCodeDraws; ++attempt) {
    std::string code = draw_random_text(
        [&](std::span<const uint8_t> random) { return coupon_code_from_random(prefix, random); });
    *hash = sha256_hex(*normalize_coupon_code(code));
    LOYALTY_ASSIGN_OR_RETURN(auto existing, rewards.find_coupon_by_hash(*hash));
    if (!existing) return code;
  }
  return Status(ErrorCode::kInternal,
                "no unused coupon code after " + std::to_string(kMaxCodeDraws) + " draws");
}

Result<RedemptionResult> redeem_reward(StoreSession& s, ProgramCache& programs, const Redeem& c,
                                       Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, c.program_id));
  LOYALTY_ASSIGN_OR_RETURN(auto config, programs.get_config(s, program.id));
  const Reward* reward = find_reward(config->rewards, c.reward_id);
  if (reward == nullptr) {
    return Status(ErrorCode::kNotFound, "reward '" + c.reward_id + "' is not in the catalog");
  }
  const int exponent = currency_exponent(program.currency).value_or(2);
  LOYALTY_ASSIGN_OR_RETURN(RewardPrice price, price_reward(*reward, c.points, exponent));
  LOYALTY_ASSIGN_OR_RETURN(MemberLedger ledger,
                           caught_up_ledger(s, programs, program.id, c.member_id, now));
  if (ledger.member.status == MemberStatus::kBlocked) {
    return Status(ErrorCode::kMemberBlocked, "member " + format_id(c.member_id) + " is blocked");
  }
  RewardStore rewards(s);
  OfferInputs in;
  in.config = config.get();
  in.program = &program;
  in.member = &ledger.member;
  in.balance = &ledger.balance;
  LOYALTY_ASSIGN_OR_RETURN(in.tier, tier_for_earning(s, programs, program, c.member_id, now));
  LOYALTY_ASSIGN_OR_RETURN(in.stock_taken, rewards.stock_taken(program.id));
  const auto keys = period_keys(*config, program, now);
  LOYALTY_ASSIGN_OR_RETURN(in.usage, rewards.member_usage(program.id, c.member_id, keys));
  LOYALTY_ASSIGN_OR_RETURN(auto offers, evaluate_offers(in, now, &reward->id));
  LOYALTY_ASSERT(offers.size() == 1);
  RewardEligibility eligibility = offers.front().eligibility;
  if (eligibility.ok() && ledger.balance.available.value < price.points) {
    // A variable cost above its minimum.
    eligibility.block = RewardBlock::kInsufficientPoints;
    eligibility.message =
        "needs " + std::to_string(price.points - ledger.balance.available.value) + " more points";
  }
  if (!eligibility.ok()) {
    return Status(error_code_of(eligibility.block),
                  "reward '" + reward->id + "': " + eligibility.message);
  }

  // The points, through the ledger: oldest lots first.
  DebitRequest debit;
  debit.points = Points{price.points};
  debit.reason = "reward '" + reward->id + "' (" + reward->name + ")";
  debit.source = "redemption";
  debit.actor = c.actor;
  LOYALTY_ASSIGN_OR_RETURN(LedgerPlan plan, plan_debit(program, ledger, debit, now));
  note_member_activity(config->expiry, program.timezone, plan, c.member_id, now);
  LOYALTY_ASSERT(check_plan_invariants(plan).ok());
  LOYALTY_RETURN_IF_ERROR(s.apply_plan(plan));

  // The stock: decides under concurrency (the check above may be stale on
  // another node).
  if (reward->stock) {
    LOYALTY_ASSIGN_OR_RETURN(bool taken,
                             rewards.take_stock(program.id, reward->id, *reward->stock));
    if (!taken) return Status(ErrorCode::kOutOfStock, "reward '" + reward->id + "': out of stock");
  }

  RedemptionResult out;
  Redemption& r = out.redemption;
  r.program_id = program.id;
  r.member_id = c.member_id;
  r.reward_id = reward->id;
  r.reward_type = reward->type;
  r.reward_name = reward->name;
  r.points = price.points;
  r.amount_minor = price.amount_minor;
  r.cause_id = reward->cause_id;
  r.cause_name = reward->cause_name;
  r.posting_id = plan.posting.id;
  r.took_stock = reward->stock.has_value();
  r.status = RedemptionStatus::kCompleted;
  if (auto it = keys.find(reward->id); it != keys.end()) r.period_key = it->second;
  r.config_version = config->version;
  r.created_at = now;
  LOYALTY_ASSIGN_OR_RETURN(r.id, rewards.insert_redemption(r));

  if (issues_coupon(reward->type)) {
    Coupon coupon;
    coupon.program_id = program.id;
    coupon.member_id = c.member_id;
    coupon.redemption_id = r.id;
    LOYALTY_ASSIGN_OR_RETURN(out.code,
                             draw_coupon_code(rewards, reward->coupon_prefix, &coupon.code_hash));
    coupon.code_hint = out.code.substr(out.code.size() - kCodeHintChars);
    coupon.reward_id = reward->id;
    coupon.terms = CouponTerms{reward->type,
                               price.amount_minor,
                               reward->percent,
                               reward->max_discount_minor,
                               reward->min_order_minor,
                               reward->sku};
    coupon.release_on_cancel = reward->release_on_order_cancel;
    if (reward->coupon_valid_days > 0) {
      coupon.expires_at = now + Duration::from_days(reward->coupon_valid_days);
    }
    coupon.created_at = now;
    LOYALTY_ASSIGN_OR_RETURN(coupon.id, rewards.insert_coupon(coupon));
    LOYALTY_RETURN_IF_ERROR(
        rewards.set_redemption_coupon(program.id, c.member_id, r.id, coupon.id));
    r.coupon_id = coupon.id;
    out.coupon = std::move(coupon);
  }
  if (reward->type == RewardType::kGiftCard) {
    LOYALTY_ASSIGN_OR_RETURN(GiftCardIssued issued,
                             issue_reward_gift_card(s, program, ledger.member, price.amount_minor,
                                                    format_id(r.id), c.actor, now));
    out.gift_card = std::move(issued.card);
    out.gift_card_code = std::move(issued.code);
    out.gift_card_pin = std::move(issued.pin);
  }
  LOYALTY_ASSIGN_OR_RETURN(
      auto event_id, s.append_outbox_event(
                         program.id, c.member_id, kRewardRedeemed,
                         redemption_payload(r, out.coupon, program.currency, r.posting_id), now));
  (void)event_id;
  return out;
}

Result<RedemptionResult> cancel_redemption(StoreSession& s, ProgramCache& programs,
                                           const CancelRedemption& c, Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, c.program_id));
  RewardStore rewards(s);
  LOYALTY_ASSIGN_OR_RETURN(auto found,
                           rewards.find_redemption(program.id, c.member_id, c.redemption_id));
  if (!found) {
    return Status(ErrorCode::kNotFound, "redemption " + format_id(c.redemption_id) + " not found");
  }
  RedemptionResult out;
  out.redemption = std::move(*found);
  Redemption& r = out.redemption;
  if (r.status == RedemptionStatus::kCancelled) {
    return Status(ErrorCode::kNotCancellable, "redemption " + format_id(r.id) +
                                                  " was already cancelled at " +
                                                  format_rfc3339(*r.cancelled_at));
  }
  if (r.reward_type == RewardType::kGiftCard) {
    // The card's code and PIN were handed out: it cannot be taken back.
    return Status(
        ErrorCode::kNotCancellable,
        "redemption " + format_id(r.id) + " issued a gift card, which cannot be taken back");
  }
  if (r.coupon_id.valid()) {
    LOYALTY_ASSIGN_OR_RETURN(auto coupon, rewards.find_coupon(program.id, r.coupon_id));
    if (!coupon)
      return Status(ErrorCode::kInternal, "coupon " + format_id(r.coupon_id) + " is gone");
    if (coupon->status == CouponStatus::kConsumed) {
      return Status(ErrorCode::kNotCancellable, "the coupon of redemption " + format_id(r.id) +
                                                    " was used by order '" + coupon->order_ref +
                                                    "'");
    }
    if (coupon->status == CouponStatus::kGifted || coupon->member_id != r.member_id) {
      return Status(ErrorCode::kNotCancellable,
                    "the coupon of redemption " + format_id(r.id) +
                        " was gifted; cancel the gift first, or it belongs to its recipient");
    }
    const CouponStatus from = coupon->status;
    coupon->status = CouponStatus::kCancelled;
    LOYALTY_RETURN_IF_ERROR(rewards.update_coupon_use(*coupon, from));
    out.coupon = std::move(*coupon);
  }
  // The debit reversed lot by lot: the same lots get their points back (a lot
  // that expired meanwhile expires them again at once: docs/rewards.md).
  Reverse reverse;
  reverse.program_id = program.id;
  reverse.posting_id = r.posting_id;
  reverse.reason = c.reason.empty() ? "redemption " + format_id(r.id) + " cancelled" : c.reason;
  reverse.actor = c.actor;
  LOYALTY_ASSIGN_OR_RETURN(Posting reversal, reverse_posting(s, programs, reverse, now));
  // The unit this redemption took, whatever the catalog says now.
  if (r.took_stock) {
    LOYALTY_RETURN_IF_ERROR(rewards.return_stock(program.id, r.reward_id));
  }
  LOYALTY_RETURN_IF_ERROR(
      rewards.mark_redemption_cancelled(program.id, c.member_id, r.id, reversal.id, now));
  r.status = RedemptionStatus::kCancelled;
  r.reversal_id = reversal.id;
  r.cancelled_at = now;
  LOYALTY_ASSIGN_OR_RETURN(
      auto event_id,
      s.append_outbox_event(program.id, c.member_id, kRedemptionCancelled,
                            redemption_payload(r, out.coupon, program.currency, reversal.id), now));
  (void)event_id;
  return out;
}

Result<CouponUse> consume_coupon(StoreSession& s, ProgramCache& programs, const ConsumeCoupon& c,
                                 Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, c.program_id));
  RewardStore rewards(s);
  LOYALTY_ASSIGN_OR_RETURN(Coupon coupon, find_program_coupon(rewards, program.id, c.code));
  CouponUse out;
  if (coupon.status == CouponStatus::kConsumed && coupon.order_ref == c.order_ref) {
    out.replayed = true;  // the same order again: idempotent
    if (c.cart) {
      out.discount = apply_coupon(coupon.terms, *c.cart);
    }
    out.coupon = std::move(coupon);
    return out;
  }
  LOYALTY_RETURN_IF_ERROR(usable(coupon, now));
  if (c.cart) {
    LOYALTY_ASSIGN_OR_RETURN(out.discount, discount_for(coupon, *c.cart));
  }
  coupon.status = CouponStatus::kConsumed;
  coupon.order_ref = c.order_ref;
  coupon.consumed_at = now;
  LOYALTY_RETURN_IF_ERROR(rewards.update_coupon_use(coupon, CouponStatus::kIssued));
  JsonWriter w;
  w.begin_object()
      .field("member_id", format_id(coupon.member_id))
      .field("coupon_id", format_id(coupon.id))
      .field("redemption_id", format_id(coupon.redemption_id))
      .field("reward_id", coupon.reward_id)
      .field("order_id", coupon.order_ref)
      .field("discount_minor", out.discount.discount_minor)
      .field("shipping_discount_minor", out.discount.shipping_discount_minor)
      .field("occurred_at", format_rfc3339(now))
      .end_object();
  LOYALTY_ASSIGN_OR_RETURN(auto event_id, s.append_outbox_event(program.id, coupon.member_id,
                                                                kCouponConsumed, w.take(), now));
  (void)event_id;
  out.coupon = std::move(coupon);
  return out;
}

Status release_order_coupons(StoreSession& s, ProgramId program, std::string_view order_ref,
                             Instant now) {
  RewardStore rewards(s);
  LOYALTY_ASSIGN_OR_RETURN(auto coupons, rewards.coupons_of_order(program, order_ref));
  for (Coupon& coupon : coupons) {
    if (coupon.status != CouponStatus::kConsumed || !coupon.release_on_cancel) continue;
    coupon.status = CouponStatus::kIssued;
    coupon.order_ref.clear();
    coupon.consumed_at.reset();
    LOYALTY_RETURN_IF_ERROR(rewards.update_coupon_use(coupon, CouponStatus::kConsumed));
  }
  (void)now;
  return {};
}

Result<MemberRewards> read_member_rewards(StoreSession& s, ProgramId program_id, MemberId member,
                                          Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(auto program, s.find_program(program_id));
  if (!program) return Status(ErrorCode::kNotFound, "program " + format_id(program_id));
  LOYALTY_ASSIGN_OR_RETURN(auto found, s.find_member(program_id, member));
  if (!found) return Status(ErrorCode::kNotFound, "member " + format_id(member) + " not found");
  // The tier view carries the active configuration and the member's tier now.
  LOYALTY_ASSIGN_OR_RETURN(MemberTierView tier, read_member_tier(s, program_id, member, now));
  LOYALTY_ASSIGN_OR_RETURN(Balance balance, s.get_balance(program_id, member));
  RewardStore rewards(s);
  MemberRewards out;
  out.config = tier.config;
  out.currency = program->currency;
  out.available_points = balance.available.value;
  OfferInputs in;
  in.config = out.config.get();
  in.program = &*program;
  in.member = &*found;
  in.balance = &balance;
  in.tier = tier.config->tiers.enabled() ? tier.state.tier_id : std::string();
  LOYALTY_ASSIGN_OR_RETURN(in.stock_taken, rewards.stock_taken(program_id));
  LOYALTY_ASSIGN_OR_RETURN(
      in.usage, rewards.member_usage(program_id, member, period_keys(*out.config, *program, now)));
  LOYALTY_ASSIGN_OR_RETURN(out.offers, evaluate_offers(in, now));
  return out;
}

Result<CouponUse> validate_coupon(StoreSession& s, ProgramId program, std::string_view code,
                                  const Cart& cart, Instant now) {
  RewardStore rewards(s);
  LOYALTY_ASSIGN_OR_RETURN(Coupon coupon, find_program_coupon(rewards, program, code));
  LOYALTY_RETURN_IF_ERROR(usable(coupon, now));
  CouponUse out;
  LOYALTY_ASSIGN_OR_RETURN(out.discount, discount_for(coupon, cart));
  out.coupon = std::move(coupon);
  return out;
}

}  // namespace loyalty::engine
