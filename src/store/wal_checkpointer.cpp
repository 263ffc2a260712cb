#include "store/wal_checkpointer.h"

#include <algorithm>
#include <string>

#include "common/assert.h"

namespace loyalty::store {

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::start(std::string_view url,
                                                                SqlConnection& writer,
                                                                Options options) {
  LOYALTY_ASSERT(options.chase_frames > 0 && options.backstop_frames >= options.chase_frames);
  if (writer.dialect() != Dialect::kSqlite) return std::unique_ptr<WalCheckpointer>();
  LOYALTY_RETURN_IF_ERROR(
      writer.execute("PRAGMA wal_autocheckpoint=" + std::to_string(options.backstop_frames)));
  LOYALTY_ASSIGN_OR_RETURN(auto connection, open_connection(url));
  return std::unique_ptr<WalCheckpointer>(new WalCheckpointer(std::move(connection), options));
}

WalCheckpointer::WalCheckpointer(std::unique_ptr<SqlConnection> connection, Options options)
    : connection_(std::move(connection)), options_(options) {
  thread_ = std::thread([this] { run(); });
}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

int64_t WalCheckpointer::passes() const {
  std::lock_guard lock(mu_);
  return passes_;
}
int64_t WalCheckpointer::max_wal_frames() const {
  std::lock_guard lock(mu_);
  return max_wal_frames_;
}

std::optional<WalCheckpointer::PassResult> WalCheckpointer::pass() {
  // The pragma's row: busy (1 when another checkpoint held the lock), the WAL's
  // frames, the frames copied into the database file.
  int64_t busy = 1;
  PassResult r;
  Status st = connection_->query("PRAGMA wal_checkpoint(PASSIVE)", {}, [&](const Row& row) {
    busy = row.get_int(0);
    r.log = row.get_int(1);
    r.copied = row.get_int(2);
  });
  if (!st.ok() || busy != 0) return std::nullopt;
  std::lock_guard lock(mu_);
  if (r.log > 0) ++passes_;
  max_wal_frames_ = std::max(max_wal_frames_, r.log);
  return r;
}

void WalCheckpointer::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, options_.pass_interval);
    if (stopping_) break;
    lock.unlock();
    std::optional<PassResult> r = pass();
    // A long WAL: copy until nothing is left, so that the writer's next
    // transaction restarts it. Each pass copies what was committed during the
    // previous one, so passes get short; a writer that outruns them is left to
    // the next tick (and, at worst, to the backstop).
    for (int i = 0;
         r && r->log >= options_.chase_frames && r->copied < r->log && i < kMaxChasePasses; ++i) {
      r = pass();
    }
    lock.lock();
  }
}

}  // namespace loyalty::store
