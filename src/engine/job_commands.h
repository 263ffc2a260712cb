// The engine side of the scheduled jobs (src/jobs): what RunProgramJob does
// inside the writer's transaction, and the credit path shared by every command
// that credits points (API credits, orders, events, job awards).
//
// Engine-internal: included by src/engine/*.cpp only.
#pragma once

#include <functional>

#include <memory>
#include <string_view>

#include "common/result.h"
#include "domain/ledger.h"
#include "domain/program_config.h"
#include "engine/engine.h"
#include "store/store.h"

namespace loyalty::engine {

// Credits a member the way the Credit command does: catches the member up,
// gives the new lot the expiry policy's expires_at when the request has none,
// counts the credit as activity for rolling expiry, writes the posting.
// Commands of other kinds that credit points (orders, events) call this.
Result<Posting> credit_member(store::StoreSession& s, ProgramCache& programs, ProgramId program_id,
                              MemberId member_id, CreditRequest request, Instant now);

// Enrolls a member the way EnrollMember does (validation, signup bonus, claim
// of the member's guest orders), at `now`; kConflict when the external id is
// taken. An empty email stays empty (members an import enrolls from a history
// without emails; POST /v1/members requires one).
Result<Member> enroll_member(store::StoreSession& s, ProgramCache& programs, const Member& member,
                             Instant now);

// One step of a per-program job; see RunProgramJob.
Result<JobStepResult> run_program_job(store::StoreSession& s, ProgramCache& programs,
                                      const RunProgramJob& job, Instant now);

// One step of a per-program job whose work is the items due now (paid
// memberships, referrals, gifts): under the job's state row lock (another
// node holding it: skipped), `step` handles at most job.max_items due items
// and says how many it wrote and how many were due; the run is recorded in
// job_state, and the step is complete when fewer than max_items were due.
struct DueItems {
  int written = 0;
  size_t due = 0;
};
Result<JobStepResult> run_due_items_step(store::StoreSession& s, const RunProgramJob& job,
                                         std::string_view name, Instant now,
                                         const std::function<Result<DueItems>()>& step);

// The job names used in job_state and job_marks.
inline constexpr std::string_view kBirthdaysJob = "birthdays";
inline constexpr std::string_view kAnniversariesJob = "anniversaries";
inline constexpr std::string_view kExpiryWarningsJob = "expiry_warnings";
inline constexpr std::string_view kTiersJob = "tiers";

// One step of the tier job (docs/tiers.md, "The period-end job"), defined in
// tier_commands.cpp: while a period end at or before `now` is not done, the
// next batch of at most job.max_items members (by id, from the cursor in
// job_state) gets decide_at_period_end; then up to max_items lapsed manual
// tiers are stored. items = tier states written.
Result<JobStepResult> run_tier_job(store::StoreSession& s, ProgramCache& programs,
                                   const RunProgramJob& job, Instant now);

}  // namespace loyalty::engine
