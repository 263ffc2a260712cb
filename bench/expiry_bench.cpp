// expiry_bench: the expiry job over a large store (docs/performance.md,
// "Expiry job").
//
//   expiry_bench --db sqlite:/path/bench.db [--members 1000000] [--lots 10]
//                [--items-per-step 500]
//
// Builds a fresh store with one program and N members holding `lots` lots each
// (one credit posting per member; written straight through StoreSession in
// transactions of 5,000 members: a fast setup, the same rows the engine would
// write), moves the clock past every lot's expiry, then runs the scheduler's
// expiry pass (jobs::run_jobs_once, vesting + expiry, through the engine) and
// prints the seconds it took, with the postings and outbox events it wrote.
// The store must not exist yet.
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
  std::fprintf(stderr, "expiry_bench: %s\n", why.c_str());
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
constexpr int64_t kPointsPerLot = 100;

}  // namespace

int main(int argc, char** argv) {
  std::string db;
  int64_t members = 1'000'000;
  int64_t lots = 10;
  int items_per_step = jobs::kCatchUpMembersPerStep;
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
    } else if (a == "--lots") {
      lots = std::stoll(value());
    } else if (a == "--items-per-step") {
      items_per_step = std::stoi(value());
    } else {
      die("unknown option " + a);
    }
  }
  if (db.empty() || members < 1 || lots < 1 || lots > 1000) {
    die("usage: expiry_bench --db URL [--members N] [--lots 1..1000]");
  }

  const Instant earned = Instant::from_seconds(1'735'689'600);  // 2025-01-01T00:00:00Z
  const Instant expires = earned + Duration::from_days(365);
  ManualClock clock(earned);

  // ---- Setup: members and lots, straight into the store ----
  auto setup_started = SteadyClock::now();
  Program program;
  {
    auto engine = must(engine::Engine::start(db, clock), "start");
    engine::CreateProgram create;
    create.program.name = "expiry bench";
    create.program.currency = "EUR";
    create.program.timezone = "Europe/Berlin";
    auto out = engine->execute(engine::Command{create, std::nullopt, nullptr});
    must(out.status, "create program");
    program = std::get<engine::ProgramCreated>(out.value).program;
    engine->stop();
  }
  auto session = must(store::open_session(db), "open");
  for (int64_t first = 0; first < members; first += kMembersPerTransaction) {
    must(session->begin_write(), "begin");
    int64_t end = std::min(members, first + kMembersPerTransaction);
    for (int64_t i = first; i < end; ++i) {
      Member m;
      m.program_id = program.id;
      m.external_id = "bench-" + std::to_string(i);
      m.email = "bench-" + std::to_string(i) + "@example.com";
      m.created_at = earned;
      m.updated_at = earned;
      m.id = must(session->insert_member(m), "insert member");
      // One credit posting with `lots` lots: what `lots` credits leave behind,
      // in one posting to keep the setup short.
      LedgerPlan plan;
      plan.posting.program_id = program.id;
      plan.posting.member = m.id;
      plan.posting.kind = PostingKind::kCredit;
      plan.posting.reason = "bench";
      plan.posting.source = "bench";
      plan.posting.actor = "bench";
      plan.posting.created_at = earned;
      plan.posting.entries.push_back(
          Entry{m.id, Account::kIssuance, LotRef{}, Points{-kPointsPerLot * lots}});
      for (int64_t l = 0; l < lots; ++l) {
        plan.new_lots.push_back(NewLot{m.id, Points{kPointsPerLot}, false, std::nullopt,
                                       expires + Duration::from_seconds(l)});
        plan.posting.entries.push_back(Entry{m.id, Account::kAvailable,
                                             LotRef{LotId{}, static_cast<int>(l)},
                                             Points{kPointsPerLot}});
      }
      Balance b;
      b.available = Points{kPointsPerLot * lots};
      b.lifetime_earned = b.available;
      b.next_due_at = expires;
      plan.balances[m.id] = b;
      must(session->apply_plan(plan), "apply");
    }
    must(session->commit(), "commit");
    if ((end / kMembersPerTransaction) % 20 == 0) {
      std::fprintf(stderr, "setup: %lld members\n", static_cast<long long>(end));
    }
  }
  const double setup_seconds = seconds_since(setup_started);

  // ---- The expiry job ----
  clock.set(expires + Duration::from_days(1));
  auto engine = must(engine::Engine::start(db, clock), "start");
  auto reader = must(store::open_session(db), "open reader");
  jobs::JobSelection due_only{true, false, false, false, false};
  jobs::JobOptions options;
  options.max_steps_per_run = 1'000'000;
  options.catch_up_members_per_step = items_per_step;
  auto started = SteadyClock::now();
  const double cpu_before = cpu_seconds();
  auto counts = must(jobs::run_jobs_once(*reader, *engine, clock, due_only, options), "jobs");
  const double job_seconds = seconds_since(started);
  const double job_cpu_seconds = cpu_seconds() - cpu_before;
  engine->stop();
  int64_t events = 0;
  must(reader->connection().query("SELECT COUNT(*) FROM outbox_events", {},
                                  [&](const store::Row& r) { events = r.get_int(0); }),
       "count events");

  std::printf(
      "{\"members\": %lld, \"lots\": %lld, \"setup_seconds\": %.1f, \"expiry_job_seconds\": %.2f, "
      "\"expiry_job_cpu_seconds\": %.2f, \"members_caught_up\": %lld, \"expiry_postings\": %lld, "
      "\"outbox_events\": %lld, \"stale_plans\": %lld, "
      "\"lots_per_second\": %.0f}\n",
      static_cast<long long>(members), static_cast<long long>(members * lots), setup_seconds,
      job_seconds, job_cpu_seconds, static_cast<long long>(counts.members_caught_up),
      static_cast<long long>(counts.postings), static_cast<long long>(events),
      static_cast<long long>(counts.stale_plans),
      static_cast<double>(members * lots) / job_seconds);
  return counts.postings == members ? 0 : 1;
}
