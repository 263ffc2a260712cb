// The due-work scheduler: vests pending points and expires lots on time.
//
// Every tick it asks the store for members whose next_due_at has passed and
// submits CatchUp commands for them (at most kMembersPerCommand each) to the
// engine, so due work is written like any other command: batched, durable,
// idempotent (a member with nothing due is a no-op). Several nodes on one
// PostgreSQL may pick the same member: the engine locks the member's row and
// re-reads the lots, so the second finds nothing due and writes nothing.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"
#include "common/time.h"
#include "engine/engine.h"

namespace loyalty::jobs {

inline constexpr int kMembersPerCommand = 200;
inline constexpr int kMembersPerTick = 10'000;

// Runs one pass: submits CatchUp for every member due at the clock's now (up
// to kMembersPerTick) and waits for the engine. Returns postings written.
Result<int> run_due_once(store::StoreSession& reader, engine::Engine& engine, const Clock& clock);

class Scheduler {
 public:
  Scheduler(std::string db_url, engine::Engine& engine, const Clock& clock,
            std::chrono::milliseconds interval);
  ~Scheduler();
  void start();
  void stop();

 private:
  void loop();
  std::string db_url_;
  engine::Engine& engine_;
  const Clock& clock_;
  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace loyalty::jobs
