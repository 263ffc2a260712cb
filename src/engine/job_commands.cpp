#include "engine/job_commands.h"
#include "engine/referral_commands.h"

#include <algorithm>
#include <string>

#include "common/assert.h"
#include "common/json_writer.h"
#include "domain/expiry.h"
#include "engine/outbox.h"

namespace loyalty::engine {
namespace {

using store::StoreSession;

std::string_view job_name(ProgramJob job) {
  switch (job) {
    case ProgramJob::kBirthdays:
      return kBirthdaysJob;
    case ProgramJob::kAnniversaries:
      return kAnniversariesJob;
    case ProgramJob::kExpiryWarnings:
      return kExpiryWarningsJob;
    case ProgramJob::kTiers:
      return kTiersJob;
    case ProgramJob::kPaidMemberships:
      return kPaidMembershipsJob;
    case ProgramJob::kReferrals:
      return kReferralsJob;
    case ProgramJob::kGifts:
      return kGiftsJob;
  }
  return "?";
}

// Awards the member's birthday or anniversary rules (engine/earning_commands.h:
// conditions, caps and amounts as configured) and emits an event per award.
Status award_member_occasion(StoreSession& s, ProgramCache& programs, const Program& program,
                             MemberId member_id, ProgramJob job, const LocalDate& day, int years,
                             Instant now) {
  const bool birthday = job == ProgramJob::kBirthdays;
  // The job's members are found inside the transaction, so they were not locked
  // with the batch's: lock now (PostgreSQL), like every writer of a member.
  LOYALTY_RETURN_IF_ERROR(s.lock_members(program.id, {member_id}));
  LOYALTY_ASSIGN_OR_RETURN(std::optional<Member> member, s.find_member(program.id, member_id));
  if (!member || member->status != MemberStatus::kActive) return {};  // blocked: no awards
  LOYALTY_ASSIGN_OR_RETURN(
      auto awards, award_occasion(s, programs, program, *member,
                                  birthday ? EarnTrigger::kBirthday : EarnTrigger::kAnniversary,
                                  birthday ? "job:birthday" : "job:anniversary", now));
  for (const OccasionAward& award : awards) {
    JsonWriter extra;
    extra.begin_object().field("rule_id", award.rule_id).field("date", format_local_date(day));
    if (!birthday) extra.field("years", years);
    // The fields after '{': appended to the common payload.
    std::string extra_json = "," + extra.take().substr(1);
    LOYALTY_RETURN_IF_ERROR(events::emit_posting_event(
        s, birthday ? events::kBirthdayAwarded : events::kAnniversaryAwarded, award.posting,
        extra_json));
  }
  return {};
}

// Birthdays and anniversaries: every local day from the day after the last
// completed one (at most catch_up_days back) through today.
Result<JobStepResult> run_occasions(StoreSession& s, ProgramCache& programs, const Program& program,
                                    const ProgramConfig& config, const RunProgramJob& job,
                                    store::JobState state, Instant now) {
  const std::string_view name = job_name(job.job);
  const LocalDate today = local_date_of(now, program.timezone);
  // Tiers' birthday bonuses are awarded on birthdays without any birthday rule.
  const bool has_rules = std::any_of(config.earn_rules.begin(), config.earn_rules.end(),
                                     [&](const EarnRule& r) {
                                       return r.trigger == (job.job == ProgramJob::kBirthdays
                                                                ? EarnTrigger::kBirthday
                                                                : EarnTrigger::kAnniversary);
                                     }) ||
                         (job.job == ProgramJob::kBirthdays && any_birthday_bonus(config.tiers));
  JobStepResult result;
  auto last = parse_local_date(state.last_completed_key);
  LOYALTY_ASSERT(last.has_value());
  LocalDate day = std::max(add_days(*last, 1), add_days(today, -job.catch_up_days));
  const int first_year = local_date_of(program.created_at, program.timezone).year;
  auto save = [&](const LocalDate& completed) {
    state.last_completed_key = format_local_date(completed);
    state.last_run_by = job.node;
    state.last_run_at = now;
    return s.save_job_state(program.id, name, state);
  };
  if (day > today) {  // today is done already: nothing to write
    result.complete = true;
    return result;
  }
  for (; has_rules && day <= today; day = add_days(day, 1)) {
    const std::string period = std::to_string(day.year);
    const int budget = job.max_items - result.items;
    if (budget <= 0) {  // this step is full: the next one starts with this day
      LOYALTY_RETURN_IF_ERROR(save(add_days(day, -1)));
      return result;
    }
    // Candidates with the years of membership they celebrate (anniversaries).
    std::vector<std::pair<MemberId, int>> candidates;
    if (job.job == ProgramJob::kBirthdays) {
      LOYALTY_ASSIGN_OR_RETURN(
          auto ids, s.birthday_candidates(program.id, birthday_month_days_on(day),
                                          start_of_local_day(add_days(day, 1), program.timezone),
                                          name, period, budget));
      for (MemberId id : ids) candidates.emplace_back(id, 0);
    } else {
      for (int years = 1; day.year - years >= first_year; ++years) {
        for (const LocalDate& enrolled : anniversary_enrollment_dates(day, years)) {
          int left = budget - static_cast<int>(candidates.size());
          if (left <= 0) break;
          LOYALTY_ASSIGN_OR_RETURN(
              auto ids,
              s.enrolled_between_candidates(
                  program.id, start_of_local_day(enrolled, program.timezone),
                  start_of_local_day(add_days(enrolled, 1), program.timezone), name, period, left));
          for (MemberId id : ids) candidates.emplace_back(id, years);
        }
      }
    }
    for (const auto& [member, years] : candidates) {
      LOYALTY_ASSIGN_OR_RETURN(bool first_time,
                               s.insert_job_mark(program.id, member, name, period, now));
      if (!first_time) continue;  // another node awarded it meanwhile
      LOYALTY_RETURN_IF_ERROR(
          award_member_occasion(s, programs, program, member, job.job, day, years, now));
      ++result.items;
    }
    if (static_cast<int>(candidates.size()) >= budget) {
      // Maybe more on this day: the next step resumes it (marks skip the done).
      LOYALTY_RETURN_IF_ERROR(save(add_days(day, -1)));
      return result;
    }
  }
  LOYALTY_RETURN_IF_ERROR(save(today));
  result.complete = true;
  return result;
}

// The warning window advances at least this much per step, so a scheduler
// ticking every second writes job_state once a minute, not every second.
constexpr Duration kWarningWindowStep = Duration::from_seconds(60);

// "Points expiring soon": one event per member and expiry instant, when the
// instant comes within warn_days_before.
Result<JobStepResult> run_expiry_warnings(StoreSession& s, const Program& program,
                                          const ProgramConfig& config, const RunProgramJob& job,
                                          store::JobState state, Instant now) {
  const std::string_view name = job_name(job.job);
  JobStepResult result;
  const Instant after{std::stoll(state.last_completed_key)};
  const Instant until = now + Duration::from_days(config.expiry.warn_days_before);
  auto save = [&](Instant completed) {
    state.last_completed_key = std::to_string(completed.micros_since_epoch);
    state.last_run_by = job.node;
    state.last_run_at = now;
    return s.save_job_state(program.id, name, state);
  };
  if (until < after + kWarningWindowStep) {
    result.complete = true;  // too little new window to look at: nothing written
    return result;
  }
  if (config.expiry.warn_days_before <= 0) {
    LOYALTY_RETURN_IF_ERROR(save(std::max(after, now)));
    result.complete = true;
    return result;
  }
  LOYALTY_ASSIGN_OR_RETURN(auto rows,
                           s.expiring_points(program.id, after, until, name, job.max_items));
  for (const auto& row : rows) {
    LOYALTY_ASSIGN_OR_RETURN(
        bool first_time, s.insert_job_mark(program.id, row.member, name,
                                           std::to_string(row.expires_at.micros_since_epoch), now));
    if (!first_time) continue;
    JsonWriter w;
    w.begin_object()
        .field("member_id", format_id(row.member))
        .field("points", row.points.value)
        .field("expires_at", format_rfc3339(row.expires_at))
        .field("warn_days_before", config.expiry.warn_days_before)
        .end_object();
    LOYALTY_ASSIGN_OR_RETURN(
        auto id,
        s.append_outbox_event(program.id, row.member, events::kPointsExpiringSoon, w.str(), now));
    (void)id;
    ++result.items;
  }
  if (static_cast<int>(rows.size()) >= job.max_items) {
    LOYALTY_RETURN_IF_ERROR(save(after));  // resume the same window; marks skip the done
    return result;
  }
  LOYALTY_RETURN_IF_ERROR(save(until));
  result.complete = true;
  return result;
}

}  // namespace

const char* to_string(ProgramJob job) { return job_name(job).data(); }

Result<JobStepResult> run_due_items_step(StoreSession& s, const RunProgramJob& job,
                                         std::string_view name, Instant now,
                                         const std::function<Result<DueItems>()>& step) {
  JobStepResult result;
  LOYALTY_ASSIGN_OR_RETURN(
      auto state, s.claim_job_state(job.program_id, name, std::to_string(now.micros_since_epoch)));
  if (!state) {
    result.skipped = true;
    return result;
  }
  LOYALTY_ASSIGN_OR_RETURN(DueItems done, step());
  state->last_completed_key = std::to_string(now.micros_since_epoch);
  state->last_run_by = job.node;
  state->last_run_at = now;
  LOYALTY_RETURN_IF_ERROR(s.save_job_state(job.program_id, name, *state));
  result.items = done.written;
  result.complete = done.due < static_cast<size_t>(job.max_items);
  return result;
}

Result<JobStepResult> run_program_job(StoreSession& s, ProgramCache& programs,
                                      const RunProgramJob& job, Instant now) {
  LOYALTY_ASSERT(job.max_items > 0 && job.catch_up_days >= 0);
  if (job.job == ProgramJob::kTiers) return run_tier_job(s, programs, job, now);
  if (job.job == ProgramJob::kPaidMemberships) {
    return run_paid_membership_job(s, programs, job, now);
  }
  if (job.job == ProgramJob::kReferrals) return run_referral_job(s, programs, job, now);
  if (job.job == ProgramJob::kGifts) return run_gift_job(s, programs, job, now);
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, job.program_id));
  LOYALTY_ASSIGN_OR_RETURN(auto config_ptr, programs.get_config(s, program.id));
  const ProgramConfig& config = *config_ptr;
  const std::string_view name = job_name(job.job);
  // First run: start today (occasions) / now (warnings); nothing retroactive.
  std::string initial = job.job == ProgramJob::kExpiryWarnings
                            ? std::to_string(now.micros_since_epoch)
                            : format_local_date(add_days(local_date_of(now, program.timezone), -1));
  LOYALTY_ASSIGN_OR_RETURN(auto state, s.claim_job_state(program.id, name, initial));
  if (!state) {
    JobStepResult skipped;
    skipped.skipped = true;
    return skipped;
  }
  if (job.job == ProgramJob::kExpiryWarnings) {
    return run_expiry_warnings(s, program, config, job, std::move(*state), now);
  }
  return run_occasions(s, programs, program, config, job, std::move(*state), now);
}

}  // namespace loyalty::engine
