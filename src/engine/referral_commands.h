// Referrals in the engine (docs/referrals.md): codes, invitations, attaching a
// referee (at enrollment, on an order, or by an invitation's email), fraud
// screening, the qualifying order, completion when its return window ended,
// cancellation and claw back on refunds, and an admin's review. The pure
// decisions are domain/referrals.h; this file loads what they need and writes
// what they decide, inside the caller's write transaction: the referral, its
// postings (through the ledger), its usage counters and its outbox events
// commit together or not at all.
//
// Concurrency: every change of a referral locks its referee's member row first
// (and the referrer's when rewards are paid; lock_members, PostgreSQL) and
// writes over the version it read, so two nodes never attach, complete or pay
// one referral twice; the program cap is one conditional UPDATE.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/json_writer.h"
#include "common/result.h"
#include "common/time.h"
#include "domain/member.h"
#include "domain/order.h"
#include "domain/program.h"
#include "domain/referrals.h"
#include "store/store.h"

namespace loyalty::engine {

class ProgramCache;
struct RunProgramJob;
struct JobStepResult;

// A referral code given with an enrollment or an order, with the hashes the
// shop sent about the customer (any may be empty).
struct ReferralAttach {
  std::string code;
  ReferralMemberSignals signals;
  bool empty() const {
    return code.empty() && signals.shipping_hash.empty() && signals.payment_hash.empty() &&
           signals.device_hash.empty() && signals.ip_hash.empty();
  }
};

// POST /v1/members/{id}/referral-code: the member's code, drawn now if they
// have none (members enrolled before the program had referrals).
struct EnsureReferralCode {
  ProgramId program_id;
  MemberId member_id;
};
// POST /v1/members/{id}/referral-invitations: the member refers a friend by
// email; the friend enrolling with that email (and no code) becomes their
// referee. Writes referral.invited (what the shop's mailer needs).
struct InviteReferral {
  ProgramId program_id;
  MemberId member_id;
  std::string email;
};
// POST /v1/referrals/{id}:approve | :reject.
struct ReviewReferral {
  ProgramId program_id;
  ReferralId referral_id;
  bool approve = false;
  std::string reason;
  std::string actor;
};
// POST /v1/members/{id}/referral: a code for a member already enrolled (the
// policy's allow_existing_customers decides).
struct AttachReferral {
  ProgramId program_id;
  MemberId member_id;
  ReferralAttach attach;
};

struct ReferralCodeView {
  ReferralCode code;
  std::string link;  // "" without a link template
};
struct InvitationResult {
  ReferralInvitation invitation;
  bool created = false;  // false: the member had invited this email before
};

Result<ReferralCodeView> ensure_referral_code(store::StoreSession& s, ProgramCache& programs,
                                              const EnsureReferralCode& command, Instant now);
Result<InvitationResult> invite_referral(store::StoreSession& s, ProgramCache& programs,
                                         const InviteReferral& command, Instant now);
Result<Referral> review_referral(store::StoreSession& s, ProgramCache& programs,
                                 const ReviewReferral& command, Instant now);
Result<Referral> attach_referral(store::StoreSession& s, ProgramCache& programs,
                                 const AttachReferral& command, Instant now);

// EnrollMember, after the member is inserted: saves the shop's signals and
// attaches the referral of `attach.code` (or of the first invitation of the
// member's email). The member's own code is drawn when first asked for
// (EnsureReferralCode, an invitation), not here: most members never share one. kUnknownReferralCode
// / kReferralNotAllowed fail the enrollment (nothing written). Nothing happens when the program has
// no referrals and no code was given.
Status referrals_on_enrollment(store::StoreSession& s, ProgramCache& programs,
                               const Program& program, const Member& member,
                               const ReferralAttach& attach, Instant now);
// CreateOrder, before the order is written: saves the signals and attaches the
// code for the order's member (a member already enrolled). The same code as
// the member's referral is no change.
Status referrals_before_order(store::StoreSession& s, ProgramCache& programs,
                              const Program& program, const Member& member,
                              const ReferralAttach& attach, Instant now);
// After any change of a member's order (created, paid, delivered, refunded,
// cancelled, returned): picks the referee's first qualifying order, keeps its
// value and due time current, completes the referral when due, cancels it when
// a refund un-qualified the order before, claws the rewards back after (per
// policy). One indexed read when the program has referrals; none otherwise.
Status referrals_after_order(store::StoreSession& s, ProgramCache& programs, const Program& program,
                             const Order& order, Instant now);
// The referrals job: completes up to job.max_items due pending referrals.
Result<JobStepResult> run_referral_job(store::StoreSession& s, ProgramCache& programs,
                                       const RunProgramJob& job, Instant now);

inline constexpr std::string_view kReferralsJob = "referrals";

// A referral as JSON (the API's referral object and the events' payload).
void write_referral(JsonWriter& w, const Referral& r);

}  // namespace loyalty::engine
