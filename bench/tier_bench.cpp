// tier_bench: the tier period-end job over a large store (docs/performance.md,
// "Tier period-end re-evaluation").
//
//   tier_bench --db sqlite:/path/bench.db [--members 1000000] [--members-per-step 1000]
//
// Builds a fresh store with one program (calendar-year spend tiers in
// Europe/Berlin, no grace: Silver 100.00, Gold 300.00) and N members, written
// straight through StoreSession in transactions of 5,000 members (the rows the
// order path leaves: two month buckets per member and, for three members in
// four, an earned tier guaranteed until New Year 2025). A quarter each: Gold
// that renews (350.00), Gold that falls to Silver (150.00), Silver that renews
// (120.00), no tier and none reached (50.00). Then moves the clock to New Year
// in Berlin and runs the scheduler's tier job (jobs::run_jobs_once through the
// engine), printing wall and CPU seconds and what it wrote. The store must not
// exist yet.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine/engine.h"
#include "jobs/scheduler.h"
#include "store/store.h"

namespace {

using namespace loyalty;
using SteadyClock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "tier_bench: %s\n", why.c_str());
  std::exit(1);
}
template <typename T>
T must(Result<T> r, const char* what) {
  if (!r.ok()) die(std::string(what) + ": " + r.status().message());
  return std::move(r).value();
}
void must(const Status& st, const char* what) {
  if (!st.ok()) die(std::string(what) + ": " + st.message());
}
// CPU seconds of the whole process (every thread): on a shared, loaded machine
// the wall time says more about the neighbours than about the job.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}
double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

constexpr int64_t kMembersPerTransaction = 5'000;

constexpr const char* kTiers = R"(
tiers:
  metric: spend
  window: calendar_year
  downgrade: {grace_periods: 0}
  levels:
    - {id: silver, name: Silver, threshold: "100.00"}
    - {id: gold, name: Gold, threshold: "300.00"}
)";

}  // namespace

int main(int argc, char** argv) {
  std::string db;
  int64_t members = 1'000'000;
  int members_per_step = jobs::kTierMembersPerStep;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--db") {
      db = value();
    } else if (a == "--members") {
      members = std::stoll(value());
    } else if (a == "--members-per-step") {
      members_per_step = std::stoi(value());
    } else {
      die("unknown option " + a);
    }
  }
  if (db.empty() || members < 1 || members_per_step < 1) {
    die("usage: tier_bench --db URL [--members N] [--members-per-step N]");
  }

  const Instant created = Instant::from_seconds(1'704'067'200);   // 2024-01-01T00:00:00Z
  const Instant new_year = Instant::from_seconds(1'735'686'000);  // 2025-01-01T00:00 Berlin
  ManualClock clock(created);

  // ---- Setup ----
  auto setup_started = SteadyClock::now();
  Program program;
  {
    auto engine = must(engine::Engine::start(db, clock), "start");
    engine::CreateProgram create;
    create.program.name = "tier bench";
    create.program.currency = "EUR";
    create.program.timezone = "Europe/Berlin";
    auto out = engine->execute(engine::Command{create, std::nullopt, nullptr});
    must(out.status, "create program");
    program = std::get<engine::ProgramCreated>(out.value).program;
    engine::PutConfig put;
    put.program_id = program.id;
    put.document = kTiers;
    put.actor = "bench";
    must(engine->execute(engine::Command{put, std::nullopt, nullptr}).status, "config");
    engine->stop();
  }
  struct Kind {
    const char* tier;
    int64_t spend_minor;  // over the year, in two months
  };
  const Kind kinds[] = {{"gold", 350'00}, {"gold", 150'00}, {"silver", 120'00}, {"", 50'00}};
  auto session = must(store::open_session(db), "open");
  for (int64_t first = 0; first < members; first += kMembersPerTransaction) {
    must(session->begin_write(), "begin");
    int64_t end = std::min(members, first + kMembersPerTransaction);
    for (int64_t i = first; i < end; ++i) {
      Member m;
      m.program_id = program.id;
      m.external_id = "bench-" + std::to_string(i);
      m.email = "bench-" + std::to_string(i) + "@example.com";
      m.created_at = created;
      m.updated_at = created;
      m.id = must(session->insert_member(m), "insert member");
      const Kind& k = kinds[i % 4];
      const int64_t half = k.spend_minor / 2;
      must(session->add_tier_metrics(program.id, m.id, MonthIndex::of(2024, 3),
                                     TierMetrics{half, 0, 1}),
           "bucket");
      must(session->add_tier_metrics(program.id, m.id, MonthIndex::of(2024, 9),
                                     TierMetrics{k.spend_minor - half, 0, 1}),
           "bucket");
      if (*k.tier != '\0') {
        MemberTierState s;
        s.tier_id = k.tier;
        s.since = created;
        s.guaranteed_until = new_year;
        s.actor = "system";
        must(session->save_member_tier(program.id, m.id, s, created), "tier");
      }
    }
    must(session->commit(), "commit");
    if ((end / kMembersPerTransaction) % 20 == 0) {
      std::fprintf(stderr, "setup: %lld members\n", static_cast<long long>(end));
    }
  }
  const double setup_seconds = seconds_since(setup_started);

  // ---- The tier job ----
  clock.set(new_year + Duration::from_seconds(60));
  auto engine = must(engine::Engine::start(db, clock), "start");
  auto reader = must(store::open_session(db), "open reader");
  jobs::JobSelection tiers_only{false, false, false, false, true};
  jobs::JobOptions options;
  options.max_steps_per_run = 1'000'000;
  options.tier_members_per_step = members_per_step;
  auto started = SteadyClock::now();
  const double cpu_before = cpu_seconds();
  auto counts = must(jobs::run_jobs_once(*reader, *engine, clock, tiers_only, options), "jobs");
  const double job_seconds = seconds_since(started);
  const double job_cpu_seconds = cpu_seconds() - cpu_before;
  engine->stop();
  int64_t events = 0;
  must(reader->connection().query("SELECT COUNT(*) FROM outbox_events", {},
                                  [&](const store::Row& r) { events = r.get_int(0); }),
       "count events");
  std::printf(
      "{\"members\": %lld, \"setup_seconds\": %.1f, \"tier_job_seconds\": %.2f, "
      "\"tier_job_cpu_seconds\": %.2f, \"tier_states\": %lld, \"outbox_events\": %lld, "
      "\"members_per_second\": %.0f}\n",
      static_cast<long long>(members), setup_seconds, job_seconds, job_cpu_seconds,
      static_cast<long long>(counts.tier_states), static_cast<long long>(events),
      static_cast<double>(members) / job_seconds);
  // Three members in four hold a tier and get a decision.
  const int64_t with_tier = members / 4 * 3 + std::min<int64_t>(members % 4, 3);
  return counts.tier_states == with_tier && counts.complete ? 0 : 1;
}
