// Shared helpers of the engine-level simulation tests: a temporary SQLite
// file, engine start-up, a batch of commands in flight at once, and readable
// renderings of outcomes.
#pragma once

#include <unistd.h>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "common/json_writer.h"
#include "common/time.h"
#include "engine/engine.h"
#include "store/store.h"

namespace loyalty::sim {

// A fresh SQLite file, removed (with its WAL) on destruction. It lives in
// $LOYALTY_SIM_DIR, else /dev/shm when writable (fsync costs nothing there: the
// simulation tests ledger logic, not durability), else the temp directory.
class TempDb {
 public:
  explicit TempDb(const std::string& name) {
    std::filesystem::path dir;
    if (const char* env = std::getenv("LOYALTY_SIM_DIR")) {
      dir = env;
    } else if (::access("/dev/shm", W_OK) == 0) {
      dir = "/dev/shm";
    } else {
      dir = std::filesystem::temp_directory_path();
    }
    path_ = (dir / ("loyalty-sim-" + std::to_string(::getpid()) + "-" + name + ".db")).string();
    remove_files();
  }
  ~TempDb() { remove_files(); }
  TempDb(const TempDb&) = delete;
  TempDb& operator=(const TempDb&) = delete;
  std::string url() const { return "sqlite:" + path_; }

 private:
  void remove_files() {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      std::error_code ec;
      std::filesystem::remove(path_ + suffix, ec);
    }
  }
  std::string path_;
};

// Submits commands to the engine at once (so it batches them, as under real
// traffic) and waits for all of them; keeps the first failure.
class Batch {
 public:
  explicit Batch(engine::Engine& engine) : engine_(engine) {}
  void submit(engine::CommandBody body, std::function<void(const engine::Outcome&)> on_done) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++in_flight_;
    }
    engine_.submit(engine::Command{std::move(body), std::nullopt, nullptr},
                   [this, on_done = std::move(on_done)](engine::Outcome out) {
                     on_done(out);
                     std::lock_guard<std::mutex> lock(mu_);
                     if (!out.status.ok() && first_error_.empty()) {
                       first_error_ = out.status.message();
                     }
                     if (--in_flight_ == 0) cv_.notify_all();
                   });
  }
  // Waits; the first failure's message, or empty.
  std::string wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ == 0; });
    return first_error_;
  }

 private:
  engine::Engine& engine_;
  std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;
  std::string first_error_;
};

inline std::string render_posting(const Posting& p) {
  JsonWriter w;
  w.begin_object()
      .field("id", format_id(p.id))
      .field("kind", to_string(p.kind))
      .field("member", format_id(p.member))
      .field("counterparty", p.counterparty.valid() ? format_id(p.counterparty) : "")
      .field("reverses", p.reverses.valid() ? format_id(p.reverses) : "")
      .field("created_at", format_rfc3339(p.created_at));
  w.key("entries").begin_array();
  for (const Entry& e : p.entries) {
    w.begin_object()
        .field("member", format_id(e.member))
        .field("account", to_string(e.account))
        .field("lot", e.lot.existing.valid() ? format_id(e.lot.existing) : "")
        .field("amount", e.amount.value)
        .end_object();
  }
  w.end_array().end_object();
  return w.take();
}

// The response stored under an Idempotency-Key: deterministic in the outcome.
inline engine::StoredResponse render_outcome(const engine::Outcome& o) {
  if (const auto* p = std::get_if<Posting>(&o.value)) return {201, render_posting(*p)};
  if (const auto* m = std::get_if<Member>(&o.value)) {
    return {200, "member " + format_id(m->id) + " " + to_string(m->status)};
  }
  return {500, "unexpected outcome"};
}

}  // namespace loyalty::sim
