// The scheduler: runs the due work of every program, exactly once per item,
// on one node or several sharing a PostgreSQL (docs/jobs.md).
//
// Jobs:
//   vesting, expiry  members whose next_due_at passed get CatchUp: pending lots
//                    vest, expired lots (and rolling expiry) expire. The engine
//                    claims the members inside its transaction with FOR UPDATE
//                    SKIP LOCKED (PostgreSQL), so nodes split the members and
//                    never wait for each other. "expiry" also runs the
//                    expiring-soon warnings of every program.
//   birthdays        per program, each local day: the birthday earn rules.
//   anniversaries    per program, each local day: the anniversary earn rules.
//   paid_memberships per program: renewal reminders N days before a paid
//                    period ends, lapses once the grace passed (docs/tiers.md).
//   tiers            per program, at each tier period end: every member's tier
//                    re-evaluated (decide_at_period_end) in batches; lapsed
//                    manual tiers stored (docs/tiers.md).
//   holds            checkout holds past their expires_at are released (status
//                    expired), kItemsPerStep per step (docs/checkout.md).
//   referrals        per program: pending referrals whose qualifying order's
//                    return window ended complete and pay (docs/referrals.md).
//   gifts            per program: pending gifts whose claim window ended go
//                    back to their givers (docs/gifting.md).
//
// Every step is one engine command (one transaction) of at most kItemsPerStep
// items; a crash loses at most the uncommitted step, and the next run resumes:
// job_marks (unique per program, member, job, period) make every award and
// warning happen once, job_state keeps each per-program job's progress, and the
// catch-up of a member is idempotent by construction (nothing due, nothing
// written). Per-program jobs lock their job_state row with SKIP LOCKED: a
// second node skips a program another node is working on.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"
#include "common/time.h"
#include "engine/engine.h"

namespace loyalty::jobs {

// Items one engine command handles (awards, warnings).
inline constexpr int kItemsPerStep = 200;
// Members one catch-up command claims: larger, as a catch-up is the bulk job
// (fewer commits), yet small enough that a step holds the writer for tens of
// milliseconds, not seconds (~40 us per member with ten lots).
inline constexpr int kCatchUpMembersPerStep = 500;
// Steps one run takes per job before yielding to the next tick.
inline constexpr int kMaxStepsPerRun = 5'000;
// Days a late occasion job still awards (a server down over a birthday).
inline constexpr int kDefaultOccasionCatchUpDays = 7;
// Members one tier step evaluates: many per transaction (three reads per batch,
// writes only for members with a tier), so 1M members take 1,000 commits.
inline constexpr int kTierMembersPerStep = 1'000;

struct JobSelection {
  bool due = true;  // vesting and expiry (CatchUp)
  bool expiry_warnings = true;
  bool birthdays = true;
  bool anniversaries = true;
  bool tiers = true;
  bool holds = true;
  bool paid_memberships = true;  // renewal reminders and lapses (docs/tiers.md)
  bool referrals = true;         // due referrals complete (docs/referrals.md)
  bool gifts = true;             // unclaimed gifts return (docs/gifting.md)
};
// "vesting", "expiry", "birthdays", "anniversaries", "tiers", "holds",
// "paid_memberships", "referrals", "gifts" or "all".
Result<JobSelection> parse_job_selection(std::string_view name);

struct JobOptions {
  int items_per_step = kItemsPerStep;
  int catch_up_members_per_step = kCatchUpMembersPerStep;
  int max_steps_per_run = kMaxStepsPerRun;
  int occasion_catch_up_days = kDefaultOccasionCatchUpDays;
  int tier_members_per_step = kTierMembersPerStep;
  // Vesting and expiry on SQLite: expiries read and planned on the calling
  // thread, the engine's writer only writing them (run_jobs_once). false (and
  // always on PostgreSQL): the writer claims, reads and plans every step itself.
  bool plan_catch_up_on_reader = true;
  std::string node = "local";  // recorded in job_state.last_run_by
};

struct JobRunCounts {
  int64_t members_caught_up = 0;
  int64_t postings = 0;  // vesting and expiry postings
  // Expiries planned from the reader that the writer did not write because the
  // member was written to meanwhile (it caught them up itself).
  int64_t stale_plans = 0;
  int64_t warnings = 0;  // points.expiring_soon events
  int64_t birthdays = 0;
  int64_t anniversaries = 0;
  int64_t tier_states = 0;     // member tier states written (period ends, lapsed manual tiers)
  int64_t holds_released = 0;  // checkout holds that timed out
  int64_t paid_membership_actions = 0;  // renewal reminders sent and lapses stored
  int64_t referrals_completed = 0;
  int64_t gifts_returned = 0;
  int64_t skipped_programs = 0;  // held by another node
  bool complete = true;          // false when kMaxStepsPerRun stopped a job
};
std::string to_json(const JobRunCounts& counts);

// Runs the selected jobs once for everything due at the clock's now. `reader`
// lists the programs.
Result<JobRunCounts> run_jobs_once(store::StoreSession& reader, engine::Engine& engine,
                                   const Clock& clock, const JobSelection& selection,
                                   const JobOptions& options = {});

// Vesting and expiry only (the CatchUp pass); returns the postings written.
Result<int> run_due_once(store::StoreSession& reader, engine::Engine& engine, const Clock& clock);

// Process-wide job counters for /metrics: loyaltyd_job_runs_total{job,result}
// and loyaltyd_job_items_total{job}.
void render_job_metrics(std::string& out);

class Scheduler {
 public:
  Scheduler(std::string db_url, engine::Engine& engine, const Clock& clock,
            std::chrono::milliseconds interval, JobOptions options = {});
  ~Scheduler();
  void start();
  void stop();

 private:
  void loop();
  std::string db_url_;
  engine::Engine& engine_;
  const Clock& clock_;
  std::chrono::milliseconds interval_;
  JobOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// A node id for job_state.last_run_by: host name and process id.
std::string default_node_id();

}  // namespace loyalty::jobs
