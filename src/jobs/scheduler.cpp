#include "jobs/scheduler.h"

#include <unistd.h>

#include <array>

#include <spdlog/spdlog.h>

#include "common/json_writer.h"

namespace loyalty::jobs {
namespace {

// Job counters, process-wide (one registry for /metrics).
enum MetricJob {
  kCatchUp,
  kWarnings,
  kBirthdays,
  kAnniversaries,
  kTiers,
  kHolds,
  kPaidMemberships,
  kReferrals,
  kGifts,
  kMetricJobs
};
constexpr std::array<const char*, kMetricJobs> kMetricJobNames = {
    "catch_up", "expiry_warnings",  "birthdays", "anniversaries", "tiers",
    "holds",    "paid_memberships", "referrals", "gifts"};
struct JobCounters {
  std::atomic<uint64_t> ok_runs{0};
  std::atomic<uint64_t> failed_runs{0};
  std::atomic<uint64_t> items{0};
};
std::array<JobCounters, kMetricJobs>& counters() {
  static std::array<JobCounters, kMetricJobs> c;
  return c;
}
void count_run(MetricJob job, const Status& st, int64_t items) {
  JobCounters& c = counters()[job];
  (st.ok() ? c.ok_runs : c.failed_runs).fetch_add(1);
  c.items.fetch_add(static_cast<uint64_t>(items));
}

Status run_catch_up(engine::Engine& engine, const JobOptions& options, JobRunCounts& counts) {
  for (int step = 0; step < options.max_steps_per_run; ++step) {
    engine::CatchUp cmd;
    cmd.claim_due = options.catch_up_members_per_step;
    engine::Outcome out = engine.execute(engine::Command{std::move(cmd), std::nullopt, nullptr});
    if (!out.status.ok()) return out.status;
    const auto& r = std::get<engine::CatchUpResult>(out.value);
    counts.members_caught_up += r.members;
    counts.postings += r.postings;
    if (r.members < options.catch_up_members_per_step) return {};
  }
  counts.complete = false;
  return {};
}

// Releases timed-out checkout holds, one engine command per step.
Status run_holds(engine::Engine& engine, const JobOptions& options, JobRunCounts& counts) {
  for (int step = 0; step < options.max_steps_per_run; ++step) {
    engine::ReleaseExpiredHolds cmd;
    cmd.limit = options.items_per_step;
    engine::Outcome out = engine.execute(engine::Command{cmd, std::nullopt, nullptr});
    if (!out.status.ok()) return out.status;
    const auto& r = std::get<engine::ReleaseExpiredResult>(out.value);
    counts.holds_released += r.released;
    if (r.complete) return {};
  }
  counts.complete = false;
  return {};
}

// Runs one per-program job to completion (or the step limit) for one program.
Status run_program_job(engine::Engine& engine, ProgramId program, engine::ProgramJob job,
                       const JobOptions& options, JobRunCounts& counts, int64_t& items) {
  for (int step = 0; step < options.max_steps_per_run; ++step) {
    engine::RunProgramJob cmd;
    cmd.program_id = program;
    cmd.job = job;
    cmd.max_items =
        job == engine::ProgramJob::kTiers ? options.tier_members_per_step : options.items_per_step;
    cmd.catch_up_days = options.occasion_catch_up_days;
    cmd.node = options.node;
    engine::Outcome out = engine.execute(engine::Command{std::move(cmd), std::nullopt, nullptr});
    if (!out.status.ok()) return out.status;
    const auto& r = std::get<engine::JobStepResult>(out.value);
    items += r.items;
    if (r.skipped) {
      ++counts.skipped_programs;
      return {};
    }
    if (r.complete) return {};
  }
  counts.complete = false;
  return {};
}

}  // namespace

Result<JobSelection> parse_job_selection(std::string_view name) {
  JobSelection none{false, false, false, false, false, false, false, false, false};
  if (name == "all") return JobSelection{};
  if (name == "vesting") {
    none.due = true;
    return none;
  }
  if (name == "expiry") {
    none.due = true;
    none.expiry_warnings = true;
    return none;
  }
  if (name == "birthdays") {
    none.birthdays = true;
    return none;
  }
  if (name == "anniversaries") {
    none.anniversaries = true;
    return none;
  }
  if (name == "tiers") {
    none.tiers = true;
    return none;
  }
  if (name == "holds") {
    none.holds = true;
    return none;
  }
  if (name == "paid_memberships") {
    none.paid_memberships = true;
    return none;
  }
  if (name == "referrals") {
    none.referrals = true;
    return none;
  }
  if (name == "gifts") {
    none.gifts = true;
    return none;
  }
  return Status(ErrorCode::kInvalidRequest,
                "--job must be vesting, expiry, birthdays, anniversaries, tiers, holds, "
                "paid_memberships, referrals, gifts or all, got '" +
                    std::string(name) + "'");
}

std::string to_json(const JobRunCounts& c) {
  JsonWriter w;
  w.begin_object()
      .field("members_caught_up", c.members_caught_up)
      .field("postings", c.postings)
      .field("expiry_warnings", c.warnings)
      .field("birthdays", c.birthdays)
      .field("anniversaries", c.anniversaries)
      .field("tier_states", c.tier_states)
      .field("holds_released", c.holds_released)
      .field("paid_membership_actions", c.paid_membership_actions)
      .field("referrals_completed", c.referrals_completed)
      .field("gifts_returned", c.gifts_returned)
      .field("skipped_programs", c.skipped_programs)
      .field("complete", c.complete)
      .end_object();
  return w.take();
}

Result<JobRunCounts> run_jobs_once(store::StoreSession& reader, engine::Engine& engine,
                                   const Clock& clock, const JobSelection& selection,
                                   const JobOptions& options) {
  (void)clock;  // the engine stamps every step with its clock's now
  JobRunCounts counts;
  if (selection.due) {
    int64_t before = counts.members_caught_up;
    Status st = run_catch_up(engine, options, counts);
    count_run(kCatchUp, st, counts.members_caught_up - before);
    LOYALTY_RETURN_IF_ERROR(st);
  }
  if (selection.holds) {
    int64_t before = counts.holds_released;
    Status st = run_holds(engine, options, counts);
    count_run(kHolds, st, counts.holds_released - before);
    LOYALTY_RETURN_IF_ERROR(st);
  }
  if (!selection.expiry_warnings && !selection.birthdays && !selection.anniversaries &&
      !selection.tiers && !selection.paid_memberships && !selection.referrals && !selection.gifts) {
    return counts;
  }
  LOYALTY_ASSIGN_OR_RETURN(auto programs, reader.list_program_ids());
  struct PerProgram {
    bool selected;
    engine::ProgramJob job;
    MetricJob metric;
    int64_t* total;
  };
  const PerProgram jobs[] = {
      {selection.expiry_warnings, engine::ProgramJob::kExpiryWarnings, kWarnings, &counts.warnings},
      {selection.birthdays, engine::ProgramJob::kBirthdays, kBirthdays, &counts.birthdays},
      {selection.anniversaries, engine::ProgramJob::kAnniversaries, kAnniversaries,
       &counts.anniversaries},
      {selection.tiers, engine::ProgramJob::kTiers, kTiers, &counts.tier_states},
      {selection.paid_memberships, engine::ProgramJob::kPaidMemberships, kPaidMemberships,
       &counts.paid_membership_actions},
      {selection.referrals, engine::ProgramJob::kReferrals, kReferrals,
       &counts.referrals_completed},
      {selection.gifts, engine::ProgramJob::kGifts, kGifts, &counts.gifts_returned},
  };
  for (const PerProgram& j : jobs) {
    if (!j.selected) continue;
    int64_t items = 0;
    Status st;
    for (ProgramId program : programs) {
      st = run_program_job(engine, program, j.job, options, counts, items);
      if (!st.ok()) break;
    }
    *j.total += items;
    count_run(j.metric, st, items);
    LOYALTY_RETURN_IF_ERROR(st);
  }
  return counts;
}

Result<int> run_due_once(store::StoreSession& reader, engine::Engine& engine, const Clock& clock) {
  JobSelection due_only{true, false, false, false, false, false, false, false};
  LOYALTY_ASSIGN_OR_RETURN(JobRunCounts counts, run_jobs_once(reader, engine, clock, due_only));
  return static_cast<int>(counts.postings);
}

void render_job_metrics(std::string& out) {
  out += "# HELP loyaltyd_job_runs_total Scheduled job runs by job and result.\n";
  out += "# TYPE loyaltyd_job_runs_total counter\n";
  for (size_t i = 0; i < kMetricJobs; ++i) {
    const JobCounters& c = counters()[i];
    out += std::string("loyaltyd_job_runs_total{job=\"") + kMetricJobNames[i] +
           "\",result=\"ok\"} " + std::to_string(c.ok_runs.load()) + "\n";
    out += std::string("loyaltyd_job_runs_total{job=\"") + kMetricJobNames[i] +
           "\",result=\"error\"} " + std::to_string(c.failed_runs.load()) + "\n";
  }
  out +=
      "# HELP loyaltyd_job_items_total Items scheduled jobs handled (members caught up, "
      "warnings, awards).\n";
  out += "# TYPE loyaltyd_job_items_total counter\n";
  for (size_t i = 0; i < kMetricJobs; ++i) {
    out += std::string("loyaltyd_job_items_total{job=\"") + kMetricJobNames[i] + "\"} " +
           std::to_string(counters()[i].items.load()) + "\n";
  }
}

std::string default_node_id() {
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  return std::string(host.data()) + ":" + std::to_string(getpid());
}

Scheduler::Scheduler(std::string db_url, engine::Engine& engine, const Clock& clock,
                     std::chrono::milliseconds interval, JobOptions options)
    : db_url_(std::move(db_url)),
      engine_(engine),
      clock_(clock),
      interval_(interval),
      options_(std::move(options)) {}

Scheduler::~Scheduler() { stop(); }

void Scheduler::start() {
  thread_ = std::thread([this] { loop(); });
}

void Scheduler::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::loop() {
  std::unique_ptr<store::StoreSession> reader;
  while (true) {
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, interval_, [&] { return stopping_; })) return;
    }
    if (!reader) {
      auto opened = store::open_session(db_url_);
      if (!opened.ok()) {
        spdlog::warn("msg=\"scheduler cannot open the store\" error=\"{}\"",
                     opened.status().message());
        continue;
      }
      reader = std::move(opened).value();
    }
    auto result = run_jobs_once(*reader, engine_, clock_, JobSelection{}, options_);
    if (!result.ok()) {
      spdlog::warn("msg=\"scheduled jobs failed\" error=\"{}\"", result.status().message());
      reader.reset();  // reconnect next tick
    } else if (result->postings + result->warnings + result->birthdays + result->anniversaries +
                   result->tier_states + result->holds_released + result->paid_membership_actions +
                   result->referrals_completed + result->gifts_returned >
               0) {
      spdlog::info("msg=\"scheduled jobs ran\" counts={}", to_json(*result));
    }
  }
}

}  // namespace loyalty::jobs
