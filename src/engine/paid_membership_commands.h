// Paid membership in the engine (docs/tiers.md, "Paid membership"): payments
// and cancellations the merchant's system reports, the member's view, the tier
// a plan grants, and the paid_memberships job (renewal reminders, lapses).
// Writes run in the engine's transaction: the membership, the payment and
// their outbox events commit together or not at all.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "common/time.h"
#include "domain/paid_membership.h"
#include "store/store.h"

namespace loyalty::engine {

class ProgramCache;
struct RunProgramJob;
struct JobStepResult;

inline constexpr std::string_view kPaidMembershipsJob = "paid_memberships";
inline constexpr size_t kMaxExternalPaymentIdLength = 128;
// Periods GET /v1/members/{id}/paid-membership shows, newest first.
inline constexpr int kPaidMembershipHistoryLimit = 100;

// POST /v1/members/{id}/paid-membership/payments. Idempotent on
// external_payment_id: the same payment again returns the membership
// (replayed = true); another payment under the same id is kConflict. Errors,
// in this order: kNotFound (member), kUnknownPlan, kPaymentMismatch (currency,
// then amount), kConflict (the period is paid already or too far ahead).
struct RecordPaidPayment {
  ProgramId program_id;
  MemberId member_id;
  std::string plan_id;
  std::optional<Instant> period_start;  // unset: where the paid period ends, or now
  int64_t amount_minor = 0;
  std::string currency;
  std::string external_payment_id;
};

// POST /v1/members/{id}/paid-membership:cancel: no renewal; the grants last
// until the paid period's end (no grace). kNotFound without a membership that
// still grants; cancelling twice is kConflict.
struct CancelPaidMembership {
  ProgramId program_id;
  MemberId member_id;
  std::string reason;
  std::string actor;
};

struct PaidMembershipView {
  MemberId member_id;
  std::string currency;
  int currency_exponent = 2;
  std::optional<PaidMembership> membership;  // unset: never paid
  std::optional<PaidPlan> plan;  // the membership's plan (unset if no longer configured)
  PaidStatus status = PaidStatus::kLapsed;
  std::optional<Instant> grants_until;
  std::vector<store::PaidPayment> periods;  // newest first
  bool replayed = false;                    // a payment seen before
};

Result<PaidMembershipView> record_paid_payment(store::StoreSession& s, ProgramCache& programs,
                                               const RecordPaidPayment& command, Instant now);
Result<PaidMembershipView> cancel_paid_membership(store::StoreSession& s, ProgramCache& programs,
                                                  const CancelPaidMembership& command, Instant now);
// The view from a read transaction (any thread). kNotFound for an unknown member.
Result<PaidMembershipView> read_paid_membership(store::StoreSession& s, ProgramId program,
                                                MemberId member, Instant now);

// The tier a member's plan grants at `now` ("" = none: no plan, a plan of
// benefits, or lapsed). One read when some plan grants a tier, none otherwise.
Result<std::string> granted_tier(store::StoreSession& s, const ProgramConfig& config,
                                 ProgramId program, MemberId member, Instant now);

// One step of the paid_memberships job: up to job.max_items memberships whose
// next action is due get it (a paid_membership.renewal_reminder event, or the
// lapse with a paid_membership.lapsed event), under the job's state row lock
// (another node skips the program). items = actions taken.
Result<JobStepResult> run_paid_membership_job(store::StoreSession& s, ProgramCache& programs,
                                              const RunProgramJob& job, Instant now);

}  // namespace loyalty::engine
