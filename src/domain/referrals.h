// Referrals (the `referrals` slot of the program configuration,
// docs/referrals.md): member referral codes and links, who may be referred,
// when a referral completes and what each side earns, the limits on referral
// rewards, and the fraud controls that hold or reject a suspicious referral.
//
// Pure: no I/O, no clock, no randomness. `now`, the random bytes of a code and
// every count read from the store are passed in. Points are int64, money int64
// minor units of the program's currency; no floating point.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/ids.h"
#include "common/json_writer.h"
#include "common/result.h"
#include "common/time.h"
#include "domain/config_reader.h"
#include "domain/ledger.h"

namespace YAML {
class Node;
}

namespace loyalty {

// ---- Codes ----

// Readable: no 0/O, 1/I/L. 31 symbols, about 4.95 bits each.
inline constexpr std::string_view kReferralCodeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
// A code has at least kMinReferralCodeChars random characters: 31^8 ~ 2^39.6,
// so guessing one valid code among a million members takes ~850,000 tries on
// average, and code look-ups are rate limited (docs/referrals.md).
inline constexpr int kMinReferralCodeChars = 8;
inline constexpr int kMaxReferralCodeChars = 16;
inline constexpr size_t kMaxReferralPrefixLength = 8;
inline constexpr size_t kMaxReferralCodeTextLength = 40;  // what an API accepts before normalising
inline constexpr size_t kMaxLinkTemplateLength = 512;
inline constexpr size_t kMaxDisposableDomains = 5000;
inline constexpr size_t kMaxGmailStyleDomains = 50;
inline constexpr size_t kMaxDomainLength = 253;
inline constexpr int64_t kMaxReferralRewardPoints = 1'000'000'000;
inline constexpr int64_t kMaxReferralMinOrderMinor = 1'000'000'000'000;
inline constexpr int64_t kMaxReferralLimitCount = 1'000'000'000;
inline constexpr int64_t kMaxVelocityWindowMinutes = int64_t{60} * 24 * 365;

struct ReferralCodeFormat {
  std::string prefix;  // [A-Z0-9]{0,8}; written before a '-'
  int length = 8;      // random characters after the prefix
  friend bool operator==(const ReferralCodeFormat&, const ReferralCodeFormat&) = default;
};

// What one side of a referral earns. Points now; `reward_id` is reserved for a
// catalog reward (domain/rewards.h) and refused by validation until the
// catalog's redemption can be granted without points.
struct ReferralReward {
  int64_t points = 0;
  friend bool operator==(const ReferralReward&, const ReferralReward&) = default;
};

enum class RefereeRewardTiming {
  kOnCompletion,  // "on_completion": with the referrer's, once the first order vested
  kImmediate,     // "immediate": at once when the referee is attached (a welcome gift)
};

// A refund of the qualifying order after the referral completed.
enum class RefundAfterCompletion {
  kKeep,      // "keep": the rewards stay
  kClawBack,  // "claw_back": both sides' rewards are reversed (may go negative per ledger policy)
};

enum class FraudAction {
  kHold,    // "hold": pending review (POST /v1/referrals/{id}:approve | :reject)
  kReject,  // "reject": recorded as rejected with the reason
};

// The controls, in the order they are checked and reported.
enum class FraudControl {
  kSelfReferral,         // "self_referral": same normalised email as the referrer
  kDisposableEmail,      // "disposable_email": the referee's email domain is listed
  kSameShippingAddress,  // "same_shipping_address": hash equal to the referrer's
  kSamePayment,          // "same_payment": payment fingerprint hash equal to the referrer's
  kSameDevice,           // "same_device"
  kSameIp,               // "same_ip"
  kVelocity,             // "velocity": too many referrals from one code in a window
};
inline constexpr size_t kFraudControlCount = 7;
const char* to_string(FraudControl c);
const char* to_string(FraudAction a);
const char* to_string(RefereeRewardTiming t);
const char* to_string(RefundAfterCompletion p);

struct FraudControlConfig {
  bool enabled = true;
  FraudAction action = FraudAction::kHold;
  friend bool operator==(const FraudControlConfig&, const FraudControlConfig&) = default;
};

struct ReferralFraudConfig {
  // Indexed by FraudControl. Defaults: every control on; self-referral and
  // disposable email reject, the others hold.
  std::array<FraudControlConfig, kFraudControlCount> controls{};
  // Domains where dots and "+tags" of the local part do not matter.
  std::vector<std::string> gmail_style_domains = {"gmail.com", "googlemail.com"};
  std::vector<std::string> disposable_domains;  // lower case
  int64_t velocity_max_referrals = 5;           // more than this in the window trips
  int64_t velocity_window_minutes = 60;
  ReferralFraudConfig();
  const FraudControlConfig& operator[](FraudControl c) const {
    return controls[static_cast<size_t>(c)];
  }
  FraudControlConfig& operator[](FraudControl c) { return controls[static_cast<size_t>(c)]; }
  friend bool operator==(const ReferralFraudConfig&, const ReferralFraudConfig&) = default;
};

// Calendar periods of the limits, in the program's time zone (the engine keys
// them with period_key of domain/earning.h).
enum class ReferralPeriod { kDay, kWeek, kMonth, kYear };
const char* to_string(ReferralPeriod p);

struct ReferralLimits {
  ReferralPeriod period = ReferralPeriod::kMonth;
  int64_t referrer_rewards_per_period = 0;  // 0 = no limit
  int64_t referrer_rewards_lifetime = 0;    // 0 = no limit
  int64_t program_points_per_period = 0;    // both sides' points; 0 = no cap
  friend bool operator==(const ReferralLimits&, const ReferralLimits&) = default;
};

// Absent slot = referrals disabled.
struct ReferralConfig {
  bool enabled = false;
  ReferralCodeFormat code;
  std::string link_template;  // contains "{code}"; "" = no link
  int64_t min_order_minor = 0;
  ReferralReward referrer_reward;
  ReferralReward referee_reward;
  RefereeRewardTiming referee_timing = RefereeRewardTiming::kOnCompletion;
  // A code given for a member already enrolled (on their first order, or
  // attached later): true = allowed when they never ordered (a paid order);
  // false = codes are taken at enrollment only.
  bool allow_existing_customers = true;
  RefundAfterCompletion refund_after_completion = RefundAfterCompletion::kKeep;
  ReferralLimits limits;
  ReferralFraudConfig fraud;
  friend bool operator==(const ReferralConfig&, const ReferralConfig&) = default;
};

// Parses the `referrals` mapping into `out`; every problem found is returned
// (out is then incomplete and must not be used).
std::vector<ConfigIssue> parse_referrals(const YAML::Node& node, int currency_exponent,
                                         ReferralConfig* out);

// Each object of the slot and its keys ("referrals.fraud.velocity", ...): the
// JSON Schema is tested against these.
std::vector<std::pair<std::string_view, std::vector<std::string_view>>> referral_document_keys();

// Turns random bytes into a code by rejection sampling (bytes >= 248 are
// skipped so every character is equally likely): "PREFIX-" + `length`
// characters. nullopt when the bytes run out (the caller draws more).
std::optional<std::string> referral_code_from_random(const ReferralCodeFormat& format,
                                                     std::span<const uint8_t> random);
// Upper case; spaces removed. nullopt when the text cannot be a code (empty,
// too long, a character outside [A-Z0-9-]). Look-ups use the result.
std::optional<std::string> normalize_referral_code(std::string_view text);
// The member's shareable link: the template with "{code}" replaced.
std::string referral_link(const ReferralConfig& config, std::string_view code);

// Lower case; for a Gmail-style domain also without dots and "+tag" in the
// local part, and googlemail.com as gmail.com. "" for text without one '@'.
std::string normalize_email(std::string_view email, const std::vector<std::string>& gmail_style);
// The lower-case domain of an email ("" without '@').
std::string email_domain(std::string_view email);

// ---- Who may be referred ----

struct RefereeFacts {
  bool same_member = false;       // the code is the referee's own
  bool already_referred = false;  // the referee has a referral (any state)
  bool existing_member = false;   // the referee was a member before this referral
  bool has_ordered = false;       // the referee has an order (paid or placed)
};
// kOk, or the refusal in precedence order: own code (kInvalidRequest), a
// second code (kConflict), an existing customer not allowed (kConflict).
Status check_referee(const ReferralConfig& config, const RefereeFacts& facts);

// ---- Fraud screening ----

// What the shop sent about the referee, and what the store knows of the referrer.
struct ReferralSignals {
  std::string referrer_email;  // normalised
  std::string referee_email;   // normalised
  std::string referee_email_domain;
  // Hashes sent by the shop ("" = not sent): the referee's, and the referrer's last known.
  std::string referee_shipping_hash, referrer_shipping_hash;
  std::string referee_payment_hash, referrer_payment_hash;
  std::string referee_device_hash, referrer_device_hash;
  std::string referee_ip_hash, referrer_ip_hash;
  int64_t code_referrals_in_window =
      0;  // referrals from the code in the velocity window, before this one
};

struct FraudFinding {
  FraudControl control = FraudControl::kSelfReferral;
  FraudAction action = FraudAction::kHold;
  std::string reason;  // "referee email is the referrer's (normalised)"
  friend bool operator==(const FraudFinding&, const FraudFinding&) = default;
};

enum class ScreeningOutcome { kClean, kHeld, kRejected };
const char* to_string(ScreeningOutcome o);

struct Screening {
  ScreeningOutcome outcome = ScreeningOutcome::kClean;
  std::vector<FraudFinding> findings;  // every enabled control that tripped, in control order
};
// Every enabled control is checked; any reject finding rejects, else any hold
// finding holds. Empty hashes never match.
Screening screen_referral(const ReferralFraudConfig& fraud, const ReferralSignals& signals);

// ---- Completion and rewards ----

// Whether an order's value (its eligible total, minor units) qualifies.
bool order_qualifies(const ReferralConfig& config, int64_t order_value_minor);

struct ReferralUsage {
  int64_t referrer_rewards_in_period = 0;  // referrer rewards paid to this referrer in the period
  int64_t referrer_rewards_lifetime = 0;
  int64_t program_points_in_period = 0;  // referral points paid by the program in the period
};

enum class RewardSkip {
  kNone,
  kReferrerPeriodLimit,    // "referrer_period_limit"
  kReferrerLifetimeLimit,  // "referrer_lifetime_limit"
  kProgramCap,             // "program_cap"
  kAlreadyPaid,            // "already_paid": the referee's immediate welcome reward
  kMemberBlocked,          // "member_blocked": the member was blocked when it was due
};
const char* to_string(RewardSkip s);

struct ReferralPayout {
  int64_t referrer_points = 0;
  int64_t referee_points = 0;
  RewardSkip referrer_skip = RewardSkip::kNone;
  RewardSkip referee_skip = RewardSkip::kNone;
  int64_t total() const { return referrer_points + referee_points; }
};
// The points each side gets when the referral completes. The referee comes
// first (the promise made to a new customer), then the referrer; a side is paid
// in full or not at all, and never beyond the program cap:
// usage.program_points_in_period + total() <= program_points_per_period.
ReferralPayout plan_completion_payout(const ReferralConfig& config, const ReferralUsage& usage,
                                      bool referee_already_rewarded);
// The referee's welcome reward paid when attached (kImmediate timing), under
// the program cap; 0 when it does not fit or the timing is on completion.
ReferralPayout plan_welcome_payout(const ReferralConfig& config, const ReferralUsage& usage);

// ---- A referral's life ----

// pending -> completed | cancelled (refund before vesting) | held (fraud);
// held -> pending (approved) | rejected; pending -> rejected (screening).
enum class ReferralStatus {
  kPending,    // "pending": waiting for the referee's first qualifying order to vest
  kHeld,       // "held": a fraud control tripped; waiting for an admin's review
  kCompleted,  // "completed": rewards paid (as far as the limits allowed)
  kRejected,   // "rejected": by a fraud control or an admin; never pays
  kCancelled,  // "cancelled": the qualifying order was refunded before it vested
};
const char* to_string(ReferralStatus s);
std::optional<ReferralStatus> parse_referral_status(std::string_view s);

struct ReferralTag {
  static constexpr std::string_view kPrefix = "ref_";
};
using ReferralId = Id<ReferralTag>;

// One referral as stored (table referrals, migration 17).
struct Referral {
  ReferralId id;
  ProgramId program;
  MemberId referrer;
  MemberId referee;
  std::string code;  // the code used, normalised
  ReferralStatus status = ReferralStatus::kPending;
  std::vector<FraudFinding> findings;  // stored as JSON text
  std::string decision_reason;         // an admin's reason, or the refusal's
  std::string order_external_id;       // the qualifying order ("" until one)
  int64_t order_value_minor = 0;
  int64_t referrer_points = 0;  // paid
  int64_t referee_points = 0;   // paid (the welcome reward included)
  RewardSkip referrer_skip = RewardSkip::kNone;
  RewardSkip referee_skip = RewardSkip::kNone;
  bool welcome_paid = false;
  // When the qualifying order's return window ends (its points vest): the
  // referral completes then. Unset until known (vest_from delivered: at delivery).
  std::optional<Instant> due_at;
  PostingId referrer_posting;  // the rewards' postings (a claw back reverses them)
  PostingId referee_posting;
  bool clawed_back = false;
  int64_t version = 0;  // optimistic concurrency: update_referral checks and bumps it
  Instant created_at;
  Instant updated_at;
  std::string actor;
  friend bool operator==(const Referral&, const Referral&) = default;
};

// A member's referral code (table referral_codes).
struct ReferralCode {
  MemberId member;
  std::string code;
  bool active = true;
  Instant created_at;
  friend bool operator==(const ReferralCode&, const ReferralCode&) = default;
};

// Hashes the shop sent about a member (table referral_signals): compared with
// a later referee's by the fraud controls.
struct ReferralMemberSignals {
  std::string shipping_hash, payment_hash, device_hash, ip_hash;
  friend bool operator==(const ReferralMemberSignals&, const ReferralMemberSignals&) = default;
};

struct ReferralInvitation {
  int64_t id = 0;
  MemberId member;
  std::string email;  // normalised
  Instant created_at;
};

// Program statistics (GET /v1/referrals/stats).
struct ReferralStats {
  int64_t invitations = 0;
  int64_t referrals = 0;    // every referee attached
  int64_t conversions = 0;  // completed
  int64_t held = 0;
  int64_t rejected = 0;
  int64_t cancelled = 0;
  int64_t referee_revenue_minor = 0;  // qualifying order value of completed referrals
  int64_t reward_points = 0;          // both sides, paid
  friend bool operator==(const ReferralStats&, const ReferralStats&) = default;
};

// The findings as JSON text and back (the store keeps them in one column).
std::string findings_to_json(const std::vector<FraudFinding>& findings);
// The same array written into `w` (the API's and the events' referral object).
void write_findings(JsonWriter& w, const std::vector<FraudFinding>& findings);
std::optional<std::vector<FraudFinding>> findings_from_json(std::string_view json);
std::optional<RewardSkip> parse_reward_skip(std::string_view s);

}  // namespace loyalty
