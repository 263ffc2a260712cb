// Gifting in the engine (docs/gifting.md): sending a gift of points or of a
// redeemed reward's coupon, claiming it by its token (also at enrollment, and
// by email when the program says so), cancelling it, and the gifts job that
// returns unclaimed gifts after the claim window. Everything runs in the
// caller's write transaction: the posting, the coupon, the gift row and its
// outbox event commit together or not at all.
#pragma once

#include <optional>
#include <string>

#include "common/ids.h"
#include "common/json_writer.h"
#include "common/result.h"
#include "common/time.h"
#include "domain/gifting.h"
#include "domain/ledger.h"
#include "domain/member.h"
#include "domain/program.h"
#include "store/gifts_store.h"
#include "store/store.h"

namespace loyalty::engine {

class ProgramCache;
struct RunProgramJob;
struct JobStepResult;

// Outbox event types (docs/events.md).
inline constexpr std::string_view kGiftSent = "gift.sent";
inline constexpr std::string_view kGiftClaimed = "gift.claimed";
inline constexpr std::string_view kGiftReturned = "gift.returned";
inline constexpr std::string_view kGiftCancelled = "gift.cancelled";
inline constexpr std::string_view kGiftsJob = "gifts";

// POST /v1/members/{id}/gifts: `points` > 0 for a gift of points, or a
// redemption whose unused coupon is given. Fails with the errors of
// check_new_gift, kInsufficientPoints, kMemberBlocked, kNotFound (the
// redemption), kGiftNotAllowed (a redemption without an unused coupon);
// changes nothing then.
struct SendGift {
  ProgramId program_id;
  MemberId giver_id;
  std::string recipient_email;
  std::string message;
  Points points;
  store::RedemptionId redemption_id;
  std::string actor;
};
// POST /v1/gifts:claim. kNotFound for a token no gift of the program has;
// kGiftNotClaimable, kGiftToSelf, kMemberBlocked.
struct ClaimGift {
  ProgramId program_id;
  std::string token;
  MemberId member_id;
  std::string actor;
};
// POST /v1/gifts/{id}:cancel: a pending gift goes back to its giver now.
struct CancelGift {
  ProgramId program_id;
  store::GiftId gift_id;
  std::string actor;
};

// A gift after a command.
struct GiftResult {
  store::Gift gift;
  // A sent gift's claim token and link, in clear: only in the response of the
  // command that drew it (and in gift.sent), never stored.
  std::string token;
  std::string link;
  // A claimed reward: the coupon's new code, in clear, under the same rule.
  std::string coupon_code;
  std::optional<store::Coupon> coupon;
  std::optional<Balance> balance;  // the giver's after a send, the recipient's after a claim
};

Result<GiftResult> send_gift(store::StoreSession& s, ProgramCache& programs, const SendGift& c,
                             Instant now);
Result<GiftResult> claim_gift(store::StoreSession& s, ProgramCache& programs, const ClaimGift& c,
                              Instant now);
Result<GiftResult> cancel_gift(store::StoreSession& s, ProgramCache& programs, const CancelGift& c,
                               Instant now);

// After an enrollment (engine.cpp, in the enrollment's savepoint): the gift of
// `token`, when given, is claimed (its errors fail the enrollment), then —
// when the program's gifting says claim_on_enrollment — every pending gift to
// the member's email.
Status gifts_on_enrollment(store::StoreSession& s, ProgramCache& programs, const Program& program,
                           const Member& member, std::string_view token, Instant now);

// The gifts job: returns up to max_items pending gifts whose claim window
// ended to their givers (status returned).
Result<JobStepResult> run_gift_job(store::StoreSession& s, ProgramCache& programs,
                                   const RunProgramJob& job, Instant now);

// The gift as JSON (API responses and events share it); no token, no code.
void write_gift(JsonWriter& w, const store::Gift& g);

}  // namespace loyalty::engine
