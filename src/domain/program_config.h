// A program's configuration document: everything that decides how members earn,
// vest, lose and (later) spend points. One versioned document per program,
// written in YAML or JSON (docs/program-config.md; JSON Schema at
// /schemas/program-config.json). Parsing and validation live in
// domain/config_document.h; this header is only the validated model.
//
// Rules of the model:
// - Every amount is an integer: points as int64, money as int64 minor units of
//   the program's currency, rates as fixed-point decimals (Decimal, 6 places).
// - Every expression is kept as its source text here; the compiled form lives in
//   CompiledConfig (domain/earning.h), built once per version.
// - Times of day and dates are in the program's time zone.
// - Slots for later capabilities (rewards, campaigns, challenges, referrals) are kept as canonical
// JSON text until their issues give them a
//   model; validation only checks their outer shape.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"
#include "domain/checkout_points.h"
#include "domain/gifting.h"
#include "domain/periods.h"
#include "domain/referrals.h"
#include "domain/rewards.h"

namespace loyalty {

// A non-negative fixed-point rate with 6 decimal places: 1.5 is {1'500'000}.
struct Decimal {
  static constexpr int64_t kScale = 1'000'000;
  int64_t micros = 0;
  static constexpr Decimal from_int(int64_t v) { return Decimal{v * kScale}; }
  friend constexpr auto operator<=>(Decimal, Decimal) = default;
};
// Parses "1", "1.5", "0.000001" (at most 6 decimals, no sign, no exponent).
std::optional<Decimal> parse_decimal(std::string_view text);
std::string format_decimal(Decimal d);  // shortest form: "1.5", "2"

// How a fractional number of points becomes an integer.
enum class RoundingMode {
  kFloor,    // "floor" (default): 9.99 USD at 1 point/USD earns 9
  kNearest,  // "nearest": half away from zero
  kCeil,     // "ceil"
};

// What counts as eligible spend for spend-based rules.
struct EligibleSpendPolicy {
  bool after_discounts = true;    // subtract order and item discounts
  bool include_shipping = false;  // add shipping
  bool include_tax = false;       // add tax
  // Items in these categories never count (gift cards bought with money must not
  // earn twice).
  std::vector<std::string> excluded_categories = {"gift_card"};
  friend bool operator==(const EligibleSpendPolicy&, const EligibleSpendPolicy&) = default;
};

// When the points of a paid order vest (become available).
enum class VestFrom {
  kDelivered,  // "delivered" (default): return_window_days after delivery
  kPaid,       // "paid": return_window_days after payment
};

// What happens when a refund reverses points the member already spent.
enum class RefundOverspendPolicy {
  kNegativeBalance,  // "negative_balance": the member owes the points (a debt)
  kClawBackPending,  // "claw_back_pending": take from pending points, the rest is written off
  kWriteOff,         // "write_off": the merchant absorbs what cannot be reversed
};

struct EarningPolicy {
  EligibleSpendPolicy eligible_spend;
  RoundingMode rounding = RoundingMode::kFloor;
  int return_window_days = 30;  // 0..365; 0 = vest immediately at the VestFrom event
  VestFrom vest_from = VestFrom::kDelivered;
  RefundOverspendPolicy refund_overspend = RefundOverspendPolicy::kNegativeBalance;
  // A member who enrolls within this many days of a guest order (same email or
  // external customer id) can claim its points; 0 disables claims.
  int guest_order_claim_days = 30;
  // Upper bound on the points one order or event may earn in total; 0 = none.
  int64_t max_points_per_order = 0;
  friend bool operator==(const EarningPolicy&, const EarningPolicy&) = default;
};

enum class ExpiryMode {
  kNone,       // "none": points never expire
  kAfterEarn,  // "after_earn": each lot expires `months` after it was earned
  kRolling,    // "rolling": all points expire `months` after the member's last activity
  kFixedDate,  // "fixed_date": points earned in a year expire on month/day of the next year
};

struct ExpiryPolicy {
  ExpiryMode mode = ExpiryMode::kNone;
  int months = 12;            // after_earn, rolling: 1..120
  int fixed_month = 12;       // fixed_date: 1..12
  int fixed_day = 31;         // fixed_date: 1..31 (clamped to the month's length)
  int warn_days_before = 14;  // "points expiring soon" event; 0 = no warning
  friend bool operator==(const ExpiryPolicy&, const ExpiryPolicy&) = default;
};

// What starts an earn rule.
enum class EarnTrigger {
  kOrder,        // "order": an order became paid
  kSignup,       // "signup": a member enrolled
  kEvent,        // "event": a custom event of `event_type` arrived (POST /v1/events)
  kBirthday,     // "birthday": the member's birthday in the program's time zone
  kAnniversary,  // "anniversary": each year since enrollment
};

// How an earn rule computes its points.
enum class EarnKind {
  // "spend": points_per_unit points per 1 major unit of eligible spend (of the
  // items matching item_filter, or of the whole order), rounded per the policy.
  kSpend,
  // "multiplier": the points that spend rules gave the items matching
  // item_filter are multiplied by `multiplier` (2 = double points). When several
  // multiplier rules match one item the largest applies.
  kMultiplier,
  // "fixed": `points` once (per order / event / signup / birthday), or per unit
  // of each matching item when item_filter is set and per_unit is true.
  kFixed,
  // "formula": points = the integer value of the `formula` expression.
  kFormula,
};

// A limit on how often a rule awards, per member or for the whole program.
struct EarnCap {
  CapPeriod period = CapPeriod::kLifetime;
  int64_t max_awards = 0;  // times the rule may award in the period; 0 = no limit
  int64_t max_points = 0;  // points it may award in the period; 0 = no limit
  // Per-member caps only: an expression whose string value keys the cap, so the
  // cap counts per distinct value (e.g. `event.attributes.product_id`: one review
  // reward per product). Empty = one counter.
  std::string distinct_by;
  friend bool operator==(const EarnCap&, const EarnCap&) = default;
};

struct EarnRule {
  std::string id;  // unique in the document: [a-z0-9_-]{1,64}; recorded on postings
  std::string name;
  EarnTrigger trigger = EarnTrigger::kOrder;
  std::string event_type;  // kEvent only: [a-z0-9_.-]{1,64}
  EarnKind kind = EarnKind::kFixed;
  int64_t points = 0;           // kFixed
  bool per_unit = false;        // kFixed with item_filter: per unit instead of once
  Decimal points_per_unit;      // kSpend
  Decimal multiplier;           // kMultiplier: > 0
  std::string formula;          // kFormula: expression of type int or decimal (rounded)
  std::string condition;        // bool expression; empty = always
  std::string item_filter;      // bool expression over `item`; empty = whole order
  int64_t min_order_minor = 0;  // order rules: minimum eligible spend; 0 = none
  bool first_order_only = false;
  // Local date-times in the program's time zone; the rule is active within
  // [starts_at, ends_at). Unset = open.
  std::optional<Instant> starts_at;
  std::optional<Instant> ends_at;
  // Higher priority evaluates first. An `exclusive` rule that awards stops every
  // rule of lower priority of the same trigger; a rule with stackable = false
  // does not award when a rule of higher priority already did.
  int priority = 0;
  bool exclusive = false;
  bool stackable = true;
  std::optional<EarnCap> member_cap;
  std::optional<EarnCap> global_cap;
  // Pending until vested (order rules follow EarningPolicy; other triggers vest
  // after this many days, 0 = available at once).
  int pending_days = 0;
  friend bool operator==(const EarnRule&, const EarnRule&) = default;
};

// ---- Tiers (docs/tiers.md) ----

// What a member's tier is qualified on, counted over the TierWindow.
enum class TierMetric {
  kSpend,       // "spend": eligible spend of paid orders, minor units (net of refunds)
  kPoints,      // "points": points earned by orders (net of reversals)
  kOrders,      // "orders": paid orders (a fully refunded or cancelled one no longer counts)
  kExpression,  // "expression": an int expression over the three (TierConfig::expression)
};

enum class TierWindowKind {
  kCalendarYear,   // "calendar_year": 1 Jan to 31 Dec in the program's time zone
  kRollingMonths,  // "rolling_months": the current month and the months-1 before it
  kLifetime,       // "lifetime": everything since enrollment
};

struct TierWindow {
  TierWindowKind kind = TierWindowKind::kCalendarYear;
  int months = 12;  // kRollingMonths: 1..kMaxTierRollingMonths
  friend bool operator==(const TierWindow&, const TierWindow&) = default;
};

// What a tier gives. Storefronts read these through GET /v1/members/{id}/tier.
struct TierBenefits {
  Decimal earn_multiplier = Decimal::from_int(1);  // > 0; multiplies every earn rule's award
  bool free_shipping = false;
  // Early access to sales: enabled with a start-time offset (hours before the
  // public start); 0 = no early access.
  int early_access_hours = 0;
  int64_t birthday_bonus_points = 0;    // 0 = none (a birthday earn rule may read member.tier)
  std::vector<std::string> perks;       // merchant-defined flags, [a-z0-9_-]
  std::vector<std::string> reward_ids;  // tier-only rewards (the rewards issue resolves them)
  friend bool operator==(const TierBenefits&, const TierBenefits&) = default;
};

struct TierLevel {
  std::string id;    // unique, [a-z0-9_-]{1,64}; member.tier in rules
  std::string name;  // unique, shown to members
  // The metric value that qualifies: minor units for spend, points, orders, or
  // the expression's value. Strictly increasing along TierConfig::levels; only
  // the first may be 0 (a base tier every member holds).
  int64_t threshold = 0;
  // Where a downgrade from this tier lands at the lowest ("" = wherever the
  // closed period's metric qualifies). Must name a lower tier that is not
  // invite-only.
  std::string downgrade_to;
  TierBenefits benefits;
  // VIP: reached only by an admin's assignment (PUT /v1/members/{id}/tier),
  // never by the metric; it has no threshold (0 here) and no downgrade_to, and
  // the incremental path and the period-end job never move a member into or
  // out of it (docs/tiers.md, "VIP").
  bool invite_only = false;
  friend bool operator==(const TierLevel&, const TierLevel&) = default;
};

struct TierDowngradePolicy {
  // Periods a tier is guaranteed after the period it was earned or renewed in:
  // 1 with a calendar year = kept until the end of next year.
  int grace_periods = 0;
  // Refunds and cancellations that drop the metric below the tier's threshold
  // downgrade at once (true) or only at the period end (false, the default).
  bool on_refund = false;
  friend bool operator==(const TierDowngradePolicy&, const TierDowngradePolicy&) = default;
};

// No levels = the program has no tiers.
struct TierConfig {
  TierMetric metric = TierMetric::kSpend;
  // kExpression: an int expression reading member.total_spent (money),
  // member.lifetime_earned and member.orders_count, each counted over the window.
  std::string expression;
  TierWindow window;
  TierDowngradePolicy downgrade;
  std::vector<TierLevel> levels;  // lowest first
  bool enabled() const { return !levels.empty(); }
  friend bool operator==(const TierConfig&, const TierConfig&) = default;
};

inline constexpr size_t kMaxTierLevels = 20;
inline constexpr int kMaxTierRollingMonths = 36;
inline constexpr int kMaxTierGracePeriods = 5;
inline constexpr size_t kMaxTierPerks = 50;
inline constexpr int kMaxEarlyAccessHours = 24 * 30;

// ---- Paid membership (docs/tiers.md, "Paid membership") ----

enum class BillingPeriod {
  kMonth,  // "month": a calendar month in the program's time zone
  kYear,   // "year": a calendar year from the period's start
};

// A plan members pay for (the merchant's system bills them and reports the
// payments; we do not process cards). While paid (and in grace) it grants a
// tier or a set of benefits.
struct PaidPlan {
  std::string id;           // unique, [a-z0-9_-]{1,64}
  std::string name;         // shown to members
  int64_t price_minor = 0;  // per period, in the program's currency (> 0)
  BillingPeriod period = BillingPeriod::kMonth;
  int grace_days = 0;  // 0..kMaxPaidGraceDays: grants continue after an unpaid period end
  // Exactly one: a tier id (not invite-only), or benefits (no earn_multiplier
  // and no birthday bonus: a plan that changes earning grants a tier).
  std::string grants_tier;
  std::optional<TierBenefits> grants_benefits;
  friend bool operator==(const PaidPlan&, const PaidPlan&) = default;
};

struct PaidMembershipConfig {
  int reminder_days = 7;  // 0..kMaxPaidReminderDays before a period end; 0 = no reminders
  std::vector<PaidPlan> plans;
  bool enabled() const { return !plans.empty(); }
  friend bool operator==(const PaidMembershipConfig&, const PaidMembershipConfig&) = default;
};

inline constexpr size_t kMaxPaidPlans = 20;
inline constexpr int kMaxPaidGraceDays = 90;
inline constexpr int kMaxPaidReminderDays = 60;

struct ProgramConfig {
  int version = 0;  // assigned by the store: 1, 2, ...
  EarningPolicy earning;
  ExpiryPolicy expiry;
  std::vector<EarnRule> earn_rules;
  TierConfig tiers;
  PaidMembershipConfig paid_membership;  // docs/tiers.md, "Paid membership"
  CheckoutConfig checkout;               // points at checkout (domain/checkout_points.h)
  // Later issues' slots, canonical JSON ("[]" / "{}" when absent).
  // The rewards catalog (domain/rewards.h, docs/rewards.md): its model, and
  // the slot's canonical JSON (what config_to_json writes back).
  std::vector<Reward> rewards;
  std::string rewards_json = "[]";
  std::string campaigns_json = "[]";
  std::string challenges_json = "[]";
  // Referrals (domain/referrals.h, docs/referrals.md): the model, and the
  // slot's canonical JSON.
  ReferralConfig referrals;
  std::string referrals_json = "{}";
  // Gifting (domain/gifting.h, docs/gifting.md); disabled when absent.
  GiftingConfig gifting;
  friend bool operator==(const ProgramConfig&, const ProgramConfig&) = default;
};

// Limits on a document, checked by validation and documented.
inline constexpr size_t kMaxConfigDocumentBytes = 1 << 20;
inline constexpr size_t kMaxEarnRules = 500;
inline constexpr size_t kMaxRuleIdLength = 64;

const char* to_string(RoundingMode m);
const char* to_string(VestFrom v);
const char* to_string(RefundOverspendPolicy p);
const char* to_string(ExpiryMode m);
const char* to_string(EarnTrigger t);
const char* to_string(EarnKind k);
const char* to_string(CapPeriod p);
const char* to_string(TierMetric m);
const char* to_string(TierWindowKind k);
const char* to_string(BillingPeriod p);

}  // namespace loyalty
