// Earning outside orders, inside the engine's writer transaction: custom events
// (RecordEvent, POST /v1/events) and the signup bonus (EnrollMember). Both
// evaluate the active configuration's rules (domain/earning.h), credit each
// award through the ledger, and add to the rules' cap counters in the same
// transaction. docs/earning.md describes the rules.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "common/time.h"
#include "domain/earning.h"
#include "domain/member.h"
#include "domain/program.h"
#include "store/store.h"

namespace loyalty::engine {

class ProgramCache;

// Limits of a custom event, checked by the decoder and again by the engine.
inline constexpr size_t kMaxEventIdLength = 255;
inline constexpr size_t kMaxEventTypeLength = 64;
inline constexpr size_t kMaxEventAttributes = 32;
inline constexpr size_t kMaxEventAttributeKeyLength = 64;
inline constexpr size_t kMaxEventAttributeValueLength = 1024;

// A custom event of a member. Idempotent on external_id: the HTTP layer submits
// it with the idempotency key "event:" + external_id, so a replay returns the
// first response and the same id with another body is kIdempotencyMismatch; a
// caller without that key gets kConflict for an id already recorded.
struct RecordEvent {
  ProgramId program_id;
  MemberId member_id;              // or
  std::string member_external_id;  // when member_id is not set
  std::string external_id;
  std::string type;                                             // [a-z0-9_.-]{1,64}
  std::vector<std::pair<std::string, std::string>> attributes;  // unique keys
  std::optional<Instant> occurred_at;                           // default: now; never after now
  std::string actor;
};

// Why a rule of the event did not award, for the response's explanation.
struct RuleExplanation {
  std::string rule_id;
  std::string rule_name;
  std::string outcome;  // "awarded" or a SkipReason name ("member_cap_reached", ...)
  int64_t points = 0;
  PostingId posting_id;  // awarded only
};

struct EventRecorded {
  store::MemberEvent event;
  std::vector<RuleExplanation> rules;  // every rule of the event's type, in evaluation order
};

// Validates the event (shape and limits; kInvalidRequest).
Status validate_event(const RecordEvent& event, Instant now);

// Runs RecordEvent: kNotFound for an unknown member, kMemberBlocked for a
// blocked one, kUnknownEventType when no rule of the active configuration has
// the event's type. Awards of 0 points (caps reached, conditions false) still
// record the event (201 with 0 points and the reasons).
Result<EventRecorded> record_event(store::StoreSession& session, ProgramCache& programs,
                                   const RecordEvent& command, Instant now);

// A member occasion's earn rules: signup (a member just enrolled), birthday,
// anniversary. Evaluates the active configuration's rules of `trigger` (their
// conditions, windows, caps and amounts: domain/earning.h) for the member and
// credits each award in the same transaction: one posting per awarding rule,
// with `source` ("signup", "job:birthday", ...), reason the rule's name.
// On a birthday, the member's tier's birthday bonus is credited too (one more
// posting, rule_id "tier:<tier id>", docs/tiers.md).
inline constexpr std::string_view kTierBirthdayBonusRule = "tier:";
struct OccasionAward {
  std::string rule_id;
  Posting posting;
};
Result<std::vector<OccasionAward>> award_occasion(store::StoreSession& session,
                                                  ProgramCache& programs, const Program& program,
                                                  const Member& member, EarnTrigger trigger,
                                                  const char* source, Instant now);

}  // namespace loyalty::engine
