// Gifting (docs/gifting.md): a member gives points, or a reward they redeemed
// (its unused coupon), to a friend by email. The friend claims the gift with
// the secret token of a link, as a member — also at enrollment, before they
// had an account. A gift not claimed within the program's claim window goes
// back to the giver.
//
// This header is the pure part: the `gifting` section of the configuration
// document, the checks a gift must pass (amounts, limits per period, gifts to
// oneself) and the claim tokens. The ledger side is plan_hold (sending: the
// giver's points are reserved, account `held`), plan_hold_return (a return:
// back into the same lots) and plan_gift_claim (domain/ledger.h); the engine
// (engine/gift_commands.h) glues them to the store. No I/O, no clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "domain/config_reader.h"
#include "domain/periods.h"

namespace YAML {
class Node;
}

namespace loyalty {

// ---- Configuration: the `gifting` section ----

inline constexpr int kDefaultGiftClaimDays = 30;
inline constexpr int kMaxGiftClaimDays = 365;
inline constexpr int64_t kMaxGiftPoints = 1'000'000'000'000;
inline constexpr int64_t kMaxGiftsPerPeriod = 1'000'000;
inline constexpr size_t kMaxGiftMessageLength = 500;
inline constexpr size_t kMaxGiftLinkTemplateLength = 500;

// Absent section = gifting disabled.
struct GiftingConfig {
  bool enabled = false;
  // Days a gift waits for its claim; then the gifts job returns it to the giver.
  int claim_days = kDefaultGiftClaimDays;
  int64_t min_points = 1;     // the smallest gift of points
  int64_t max_points = 0;     // the largest; 0 = no limit
  bool allow_rewards = true;  // a redeemed reward's unused coupon may be gifted
  // A member who enrolls with the recipient email of pending gifts receives
  // them at once (without the link).
  bool claim_on_enrollment = true;
  // The claim link: contains "{token}"; "" = the API gives no link.
  std::string link_template;
  // Limits per giver, per calendar period in the program's time zone. Every
  // gift sent counts, whatever became of it (a returned or cancelled gift too).
  CapPeriod period = CapPeriod::kMonth;  // day, week, month or year
  int64_t max_gifts_per_period = 0;      // 0 = no limit
  int64_t max_points_per_period = 0;     // points gifted; 0 = no limit
  friend bool operator==(const GiftingConfig&, const GiftingConfig&) = default;
};

// Parses the `gifting` mapping into `out`; every problem found is returned
// (out is then incomplete and must not be used).
std::vector<ConfigIssue> parse_gifting(const YAML::Node& node, GiftingConfig* out);
// The section in canonical JSON (what GET .../config returns).
std::string gifting_json(const GiftingConfig& config);
// The section's object and its keys: the JSON Schema is tested against these.
std::vector<std::pair<std::string_view, std::vector<std::string_view>>> gifting_document_keys();

// ---- Checks ----

enum class GiftKind { kPoints, kReward };
const char* to_string(GiftKind k);
std::optional<GiftKind> parse_gift_kind(std::string_view s);

// pending -> claimed | returned (the claim window passed) | cancelled (by the
// giver or an admin, before the claim).
enum class GiftStatus { kPending, kClaimed, kReturned, kCancelled };
const char* to_string(GiftStatus s);
std::optional<GiftStatus> parse_gift_status(std::string_view s);

// What the giver sent in the current period (GiftingConfig::period).
struct GiftUsage {
  int64_t gifts = 0;
  int64_t points = 0;
};

// A new gift, in this order: kGiftNotAllowed when gifting is off, for a reward
// when allow_rewards is off, or for points outside [min_points, max_points];
// kInvalidRequest for a message that is too long or a recipient email that is
// not one; kGiftToSelf when the normalized recipient email is the giver's;
// kGiftLimitReached when the gift would pass a limit of the period.
// `points` is 0 for a reward.
Status check_new_gift(const GiftingConfig& config, GiftKind kind, int64_t points,
                      std::string_view giver_email_key, std::string_view recipient_email_key,
                      std::string_view message, const GiftUsage& usage);

// The key gifts are matched by at enrollment and compared for gifts to
// oneself: the email in lower case, without dots and "+tag" for Gmail
// (normalize_email of domain/referrals.h with gmail.com and googlemail.com).
// "" for text that is no email.
std::string gift_email_key(std::string_view email);

// ---- Claim tokens ----

// Characters of a token (base58: ~146 bits): cannot be enumerated.
inline constexpr size_t kGiftTokenChars = 25;
// The token's digest: what the store keeps and looks up (never the token).
// nullopt for text that cannot be a token.
std::optional<std::string> gift_token_digest(std::string_view token);
// The claim link: the template with "{token}" replaced ("" without template).
std::string gift_claim_link(const GiftingConfig& config, std::string_view token);

}  // namespace loyalty
