// WalCheckpointer: copies a SQLite WAL into the database file from its own
// thread and connection, so that the writer's commits only append to the WAL.
//
// SQLite's own autocheckpoint runs inside the commit that crosses the
// threshold: that commit (and every request in its batch) waits for the copy
// of up to a thousand pages and an fsync of the database file; a periodic
// stall. Here:
//   - every pass_interval a PASSIVE checkpoint copies what the writer committed
//     since the last pass (PASSIVE never blocks the writer or readers);
//   - once the WAL holds chase_frames, passes repeat back to back until every
//     frame is copied: the writer's next transaction then starts the WAL over
//     from its beginning (SQLite restarts a WAL only when all of it is copied),
//     which bounds the file;
//   - the writer keeps SQLite's autocheckpoint at backstop_frames only as a
//     backstop, should the thread fall behind (a disk slower than the writer).
// Durability is unchanged: a commit is durable once its WAL frames are synced
// (synchronous=FULL); checkpoints only move committed pages.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

#include "common/result.h"
#include "store/sql.h"

namespace loyalty::store {

class WalCheckpointer {
 public:
  static constexpr int kMaxChasePasses = 64;  // then wait for the next tick
  struct Options {
    std::chrono::milliseconds pass_interval{50};
    int64_t chase_frames = 8192;      // 32 MiB of 4 KiB pages
    int64_t backstop_frames = 65536;  // 256 MiB
  };

  // For a SQLite `url`: sets the backstop on `writer` (the connection that
  // commits), opens a connection of its own and starts the thread. For any
  // other URL: nullptr (PostgreSQL checkpoints by itself).
  static Result<std::unique_ptr<WalCheckpointer>> start(std::string_view url, SqlConnection& writer,
                                                        Options options);
  static Result<std::unique_ptr<WalCheckpointer>> start(std::string_view url,
                                                        SqlConnection& writer) {
    return start(url, writer, Options{});
  }
  ~WalCheckpointer();  // stops the thread; the WAL is left as it is
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Passes that copied at least one frame, and the largest WAL seen (frames).
  int64_t passes() const;
  int64_t max_wal_frames() const;

 private:
  WalCheckpointer(std::unique_ptr<SqlConnection> connection, Options options);
  void run();
  // One PASSIVE checkpoint: the WAL's frames and how many of them are copied
  // (both 0 after the WAL restarted); nullopt when SQLite reported busy or an
  // error (another checkpoint running: retried on the next tick).
  struct PassResult {
    int64_t log = 0;
    int64_t copied = 0;
  };
  std::optional<PassResult> pass();

  std::unique_ptr<SqlConnection> connection_;
  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  int64_t passes_ = 0;
  int64_t max_wal_frames_ = 0;
  std::thread thread_;
};

}  // namespace loyalty::store
