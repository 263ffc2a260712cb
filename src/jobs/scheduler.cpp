#include "jobs/scheduler.h"

#include <unistd.h>

#include <array>
#include <future>
#include <map>

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

// One catch-up step planned on the scheduler's thread (run_catch_up):
// expiries ready to write, and the due members the writer must catch up from
// its own reads (a vesting to do, or no expiry but a next_due_at to correct).
struct PlannedStep {
  std::vector<engine::PreparedExpiry> prepared;
  std::vector<store::DueMember> members;
  std::optional<store::DueKey> last;  // the step's last member in the due order
  size_t size() const { return prepared.size() + members.size(); }
};

// Reads up to `limit` due members after `after` and their open lots through
// the reader, and plans their expiries: the same plan catch_up would make
// (engine/commands.cpp), its balance carrying the member's next due instant.
Result<PlannedStep> plan_step(store::StoreSession& reader, Instant now,
                              const std::optional<store::DueKey>& after, int limit,
                              std::map<int64_t, Program>& programs) {
  PlannedStep step;
  LOYALTY_ASSIGN_OR_RETURN(std::vector<store::DueMember> due,
                           reader.due_members_after(now, after, limit));
  if (due.empty()) return step;
  const store::DueMember& last = due.back();
  step.last = store::DueKey{*last.balance->next_due_at, last.program_id, last.member_id};
  std::map<ProgramId, std::vector<MemberId>> by_program;
  for (const store::DueMember& d : due) by_program[d.program_id].push_back(d.member_id);
  std::map<std::pair<ProgramId, MemberId>, std::vector<Lot>> lots;
  for (const auto& [program, ids] : by_program) {
    LOYALTY_ASSIGN_OR_RETURN(std::vector<Lot> read, reader.open_lots_of_members(program, ids));
    for (const Lot& lot : read) lots[{program, lot.member}].push_back(lot);
  }
  for (const store::DueMember& d : due) {
    auto it = programs.find(d.program_id.value);
    if (it == programs.end()) {
      LOYALTY_ASSIGN_OR_RETURN(std::optional<Program> found, reader.find_program(d.program_id));
      if (!found) {
        step.members.push_back(d);
        continue;
      }
      it = programs.emplace(d.program_id.value, std::move(*found)).first;
    }
    MemberLedger ml;
    ml.member.program_id = d.program_id;
    ml.member.id = d.member_id;
    ml.balance = *d.balance;
    ml.open_lots = std::move(lots[{d.program_id, d.member_id}]);
    std::optional<LedgerPlan> plan;
    if (!plan_vesting(it->second, ml, now)) plan = plan_expiry(it->second, ml, now);
    if (!plan) {
      step.members.push_back(d);
      continue;
    }
    apply_to_ledger(*plan, ml);
    plan->balances.at(d.member_id).next_due_at = earliest_due(ml.balance, ml.open_lots);
    step.prepared.push_back(
        engine::PreparedExpiry{d.program_id, d.member_id, d.version, std::move(*plan)});
  }
  return step;
}

void add_catch_up(const engine::CatchUpResult& r, JobRunCounts& counts) {
  counts.members_caught_up += r.members;
  counts.postings += r.postings;
  counts.stale_plans += r.stale;
}

// Vesting and expiry of every due member. First a pass in the due order with
// the expiries planned here, on the scheduler's thread, from the reader: while
// the writer writes one step, the next is read and planned (the writer's
// thread then only writes: the job's reads and planning are about a quarter of
// its work, docs/performance.md "Expiry job: under 30 s"). A plan is written
// only if its member was not written to since it was read (balance versions,
// StoreSession::apply_plan_if_version); otherwise the writer catches the member
// up itself. Then whatever is still due (members written to meanwhile, or due
// since) is claimed and caught up by the writer alone, as is everything on
// PostgreSQL.
Status run_catch_up(store::StoreSession& reader, engine::Engine& engine, const Clock& clock,
                    const JobOptions& options, JobRunCounts& counts) {
  const int per_step = options.catch_up_members_per_step;
  int step = 0;
  // SQLite only: there the one writer is the limit. On PostgreSQL several
  // nodes share the work through SKIP LOCKED claims, which planning from a
  // snapshot would not (two nodes would plan the same members).
  if (options.plan_catch_up_on_reader && reader.dialect() == store::Dialect::kSqlite) {
    std::map<int64_t, Program> programs;
    LOYALTY_ASSIGN_OR_RETURN(PlannedStep next,
                             plan_step(reader, clock.now(), std::nullopt, per_step, programs));
    while (next.size() > 0 && step < options.max_steps_per_run) {
      ++step;
      PlannedStep current = std::move(next);
      const bool full = current.size() == static_cast<size_t>(per_step);
      engine::CatchUp cmd;
      cmd.prepared = std::move(current.prepared);
      cmd.members = std::move(current.members);
      std::promise<engine::Outcome> written;
      std::future<engine::Outcome> outcome = written.get_future();
      engine.submit(engine::Command{std::move(cmd), std::nullopt, nullptr},
                    [&written](engine::Outcome o) { written.set_value(std::move(o)); });
      // The members after this step's last: none of them is in this step.
      Result<PlannedStep> planned =
          full ? plan_step(reader, clock.now(), current.last, per_step, programs)
               : Result<PlannedStep>(PlannedStep{});
      engine::Outcome out = outcome.get();
      if (!out.status.ok()) return out.status;
      add_catch_up(std::get<engine::CatchUpResult>(out.value), counts);
      LOYALTY_RETURN_IF_ERROR(planned.status());
      next = std::move(planned).value();
    }
  }
  for (; step < options.max_steps_per_run; ++step) {
    engine::CatchUp cmd;
    cmd.claim_due = options.catch_up_members_per_step;
    engine::Outcome out = engine.execute(engine::Command{std::move(cmd), std::nullopt, nullptr});
    if (!out.status.ok()) return out.status;
    const auto& r = std::get<engine::CatchUpResult>(out.value);
    add_catch_up(r, counts);
    if (r.members < per_step) return {};
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
      .field("stale_plans", c.stale_plans)
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
  JobRunCounts counts;
  if (selection.due) {
    int64_t before = counts.members_caught_up;
    Status st = run_catch_up(reader, engine, clock, options, counts);
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
