// enroll_direct: a synthetic generator for scale — enrolls N members (and
// optionally credits each once) through the Engine directly, in-process, on the
// store loyaltyd serves. Much faster than the API for 1M members, and it writes
// exactly what the API would (the same engine commands, batched and durable).
//
//   enroll_direct --db sqlite:PATH --program prg_1 --count 1000000
//                 [--credit-points 100] [--prefix synth-] [--members-file OUT]
//
// --members-file writes the member ids (one per line) for bench/load.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "engine/engine.h"

namespace {

using namespace loyalty;
using SteadyClock = std::chrono::steady_clock;

// Commands in flight at once: well under the engine's queue limit (100,000).
constexpr int64_t kMaxInFlight = 20'000;

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "enroll_direct: %s\n", why.c_str());
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  std::string db, program_text, prefix = "synth-", members_file;
  int64_t count = 0, credit_points = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--db")
      db = value();
    else if (a == "--program")
      program_text = value();
    else if (a == "--count")
      count = std::stoll(value());
    else if (a == "--credit-points")
      credit_points = std::stoll(value());
    else if (a == "--prefix")
      prefix = value();
    else if (a == "--members-file")
      members_file = value();
    else
      die("unknown option " + a);
  }
  auto program = parse_id<ProgramTag>(program_text);
  if (db.empty() || !program || count <= 0) die("needs --db, --program prg_N and --count N");

  SystemClock clock;
  auto engine = engine::Engine::start(db, clock);
  if (!engine.ok()) die(engine.status().message());

  std::mutex mu;
  std::condition_variable cv;
  int64_t in_flight = 0;
  std::atomic<int64_t> failures{0};
  std::vector<int64_t> ids(static_cast<size_t>(count), 0);
  auto start = SteadyClock::now();
  auto wait_below = [&](int64_t limit) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return in_flight < limit; });
  };
  auto done = [&] {
    std::lock_guard lock(mu);
    --in_flight;
    cv.notify_all();
  };
  for (int64_t i = 0; i < count; ++i) {
    wait_below(kMaxInFlight);
    {
      std::lock_guard lock(mu);
      ++in_flight;
    }
    engine::EnrollMember enroll;
    enroll.member.program_id = *program;
    enroll.member.external_id = prefix + std::to_string(i);
    enroll.member.email = prefix + std::to_string(i) + "@example.com";
    (*engine)->submit(engine::Command{enroll, std::nullopt, nullptr}, [&, i, credit_points](
                                                                          engine::Outcome o) {
      if (!o.status.ok()) {
        if (failures.fetch_add(1) < 3) {
          std::fprintf(stderr, "enroll failed: %s\n", o.status.message().c_str());
        }
      } else {
        MemberId id = std::get<Member>(o.value).id;
        ids[static_cast<size_t>(i)] = id.value;
        if (credit_points > 0) {
          // Runs on the writer thread: the credit joins the next batch.
          {
            std::lock_guard lock(mu);
            ++in_flight;
          }
          engine::Credit credit;
          credit.program_id = *program;
          credit.member_id = id;
          credit.request.points = Points{credit_points};
          credit.request.reason = "synthetic welcome";
          credit.request.actor = "bench";
          (*engine)->submit(engine::Command{credit, std::nullopt, nullptr}, [&](engine::Outcome c) {
            if (!c.status.ok()) failures.fetch_add(1);
            done();
          });
        }
      }
      done();
    });
    if ((i + 1) % 100'000 == 0) {
      double s = std::chrono::duration<double>(SteadyClock::now() - start).count();
      std::fprintf(stderr, "enroll_direct: %lld submitted, %.1f s\n", static_cast<long long>(i + 1),
                   s);
    }
  }
  wait_below(1);
  (*engine)->stop();
  double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  auto stats = (*engine)->stats();
  std::printf(
      "enroll_direct: %lld members%s in %.1f s = %.0f members/s (%llu commands in %llu "
      "batches), %lld failures\n",
      static_cast<long long>(count), credit_points > 0 ? " + one credit each" : "", seconds,
      static_cast<double>(count) / seconds, static_cast<unsigned long long>(stats.commands),
      static_cast<unsigned long long>(stats.batches), static_cast<long long>(failures.load()));
  if (!members_file.empty()) {
    std::ofstream out(members_file);
    for (int64_t id : ids) {
      if (id > 0) out << format_id(MemberId{id}) << "\n";
    }
  }
  return failures.load() == 0 ? 0 : 1;
}
