// Shared helpers of the engine-level simulation tests: a temporary SQLite
// file, engine start-up, and readable renderings of outcomes.
#pragma once

#include <unistd.h>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
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
