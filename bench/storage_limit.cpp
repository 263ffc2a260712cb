// storage_limit: the storage limit for durable point credits on SQLite, and the
// fsync rate of the disk.
//
//   storage_limit --batch 37.5 [--members 10000] [--duration-s 10] [--points 10]
//                 [--reads engine|minimal] [--idempotency] [--dir DIR]
//                 [--credits N] [--wal-pages]
//   storage_limit --fsync-only [--duration-s 3] [--dir DIR]
//
// A bare loop writes the rows a credit writes (posting, entries, lot, balance)
// straight through store::StoreSession::apply_plan, with the same reads the
// engine makes for a credit, in transactions of the given mean batch size (a
// fractional mean alternates between the two neighbouring sizes), to a fresh
// SQLite file opened exactly as loyaltyd opens it (WAL, synchronous=FULL, the
// WAL copied into the database by a store::WalCheckpointer thread): so every
// commit is durable. No HTTP, no queue, no savepoints: what
// remains is the store's own cost, the limit the engine is compared against.
//
//   --reads engine   the statements the engine runs per credit: program, member,
//                    balance (catch-up check), balance + open lots, then the writes
//   --reads minimal  only the balance and open lots the plan needs, then the writes
//   --idempotency    also writes an idempotency row per credit (as with a key)
//   --credits N      stop after N credits instead of after --duration-s
//   --wal-pages      load-independent write volume: a reader pinned before the
//                    loop keeps every WAL frame the loop writes (no checkpoint can
//                    copy or reset them); afterwards the frames are counted per
//                    table and index (dbstat) and printed per credit
//
// Then a bare fsync probe in the same directory: append 4 KiB + fdatasync, in a
// loop; one commit per request could not go faster than this.
//
// Prints RESULT lines: {"bench":"storage_limit",...} and {"bench":"fsync",...}.
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "common/time.h"
#include "domain/ledger.h"
#include "store/store.h"
#include "store/wal_checkpointer.h"

namespace {

using namespace loyalty;
using SteadyClock = std::chrono::steady_clock;

struct Options {
  double batch = 1;
  int64_t members = 10'000;
  double duration_s = 10;
  int64_t points = 10;
  std::string reads = "engine";
  bool idempotency = false;
  bool fsync_only = false;
  int64_t credits = 0;  // 0: run for duration_s
  bool wal_pages = false;
  std::string dir;
};

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "storage_limit: %s\n", why.c_str());
  std::exit(1);
}

void check(const Status& st, const char* what) {
  if (!st.ok()) die(std::string(what) + ": " + st.message());
}

template <typename T>
T check(Result<T> r, const char* what) {
  if (!r.ok()) die(std::string(what) + ": " + r.status().message());
  return std::move(r).value();
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--batch")
      o.batch = std::stod(value());
    else if (a == "--members")
      o.members = std::stoll(value());
    else if (a == "--duration-s")
      o.duration_s = std::stod(value());
    else if (a == "--points")
      o.points = std::stoll(value());
    else if (a == "--reads")
      o.reads = value();
    else if (a == "--idempotency")
      o.idempotency = true;
    else if (a == "--fsync-only")
      o.fsync_only = true;
    else if (a == "--dir")
      o.dir = value();
    else if (a == "--credits")
      o.credits = std::stoll(value());
    else if (a == "--wal-pages")
      o.wal_pages = true;
    else
      die("unknown option " + a);
  }
  if (o.batch < 1 || o.batch > 100'000) die("--batch must be 1..100000");
  if (o.members < 1) die("--members must be positive");
  if (o.credits < 0) die("--credits must not be negative");
  if (o.reads != "engine" && o.reads != "minimal") die("--reads is engine or minimal");
  return o;
}

std::string make_temp_dir(const std::string& parent) {
  std::string base =
      parent.empty() ? (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") : parent;
  std::string pattern = base + "/loyaltyd-storage-limit.XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) die("mkdtemp in " + base);
  return pattern;
}

// --wal-pages: a read transaction on its own connection, opened before the loop,
// pins the WAL: no checkpoint copies or resets the frames written after it.
class WalPin {
 public:
  explicit WalPin(const std::string& db_path) : wal_path_(db_path + "-wal") {
    if (sqlite3_open_v2(db_path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      die("open pin connection");
    }
    exec("BEGIN");
    exec("SELECT count(*) FROM sqlite_schema");
    start_bytes_ = static_cast<int64_t>(std::filesystem::file_size(wal_path_));
  }
  ~WalPin() { sqlite3_close_v2(db_); }

  // Frames written since the pin, per table or index (pages owned at the end).
  std::map<std::string, int64_t> frames_by_btree() {
    exec("COMMIT");
    std::map<int64_t, std::string> owner;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, "SELECT name, pageno FROM dbstat", -1, &st, nullptr) != SQLITE_OK) {
      die(std::string("dbstat: ") + sqlite3_errmsg(db_));
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
      owner[sqlite3_column_int64(st, 1)] =
          reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    std::ifstream wal(wal_path_, std::ios::binary);
    std::vector<unsigned char> header(32);
    wal.read(reinterpret_cast<char*>(header.data()), 32);
    auto be32 = [](const unsigned char* b) {
      return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
    };
    const int64_t frame_bytes = 24 + int64_t{be32(header.data() + 8)};
    // Frames are whole: start where the pin found the end of the WAL.
    int64_t offset = start_bytes_ < 32 ? 32 : start_bytes_;
    std::map<std::string, int64_t> out;
    std::vector<unsigned char> frame_header(24);
    for (;; offset += frame_bytes) {
      wal.seekg(offset);
      if (!wal.read(reinterpret_cast<char*>(frame_header.data()), 24)) break;
      auto it = owner.find(be32(frame_header.data()));
      ++out[it == owner.end() ? std::string("(page 1 / free)") : it->second];
    }
    return out;
  }

 private:
  void exec(const char* sql) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      die(std::string(sql) + ": " + sqlite3_errmsg(db_));
    }
  }
  sqlite3* db_ = nullptr;
  std::string wal_path_;
  int64_t start_bytes_ = 0;
};

// Appends (the file grows: a WAL before its first checkpoint) or overwrites a
// preallocated 1 MiB file in a ring (a WAL being reused after a checkpoint).
double fsync_rate(const std::string& dir, double duration_s, bool overwrite) {
  std::string path = dir + "/fsync-probe";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) die("open " + path);
  std::vector<char> block(4096, 'x');
  constexpr int64_t kRingBlocks = 256;
  if (overwrite) {
    for (int64_t i = 0; i < kRingBlocks; ++i) {
      if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size())) {
        die("write");
      }
    }
    if (::fsync(fd) != 0) die("fsync");
  }
  auto start = SteadyClock::now();
  auto end = start + std::chrono::duration_cast<SteadyClock::duration>(
                         std::chrono::duration<double>(duration_s));
  int64_t n = 0;
  while (SteadyClock::now() < end) {
    ssize_t written = overwrite ? ::pwrite(fd, block.data(), block.size(),
                                           static_cast<off_t>((n % kRingBlocks) * 4096))
                                : ::write(fd, block.data(), block.size());
    if (written != static_cast<ssize_t>(block.size())) die("write");
    if (::fdatasync(fd) != 0) die("fdatasync");
    ++n;
  }
  double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  ::close(fd);
  ::unlink(path.c_str());
  return static_cast<double>(n) / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  std::string dir = make_temp_dir(o.dir);
  if (o.fsync_only) {
    double append = fsync_rate(dir, o.duration_s / 2, /*overwrite=*/false);
    double overwrite = fsync_rate(dir, o.duration_s / 2, /*overwrite=*/true);
    std::printf("fsync: %.0f fdatasync/s appending 4 KiB, %.0f/s overwriting 4 KiB, in %s\n",
                append, overwrite, dir.c_str());
    std::printf(
        "RESULT {\"bench\":\"fsync\",\"fsync_per_s\":%.1f,\"append_per_s\":%.1f,"
        "\"overwrite_per_s\":%.1f}\n",
        std::max(append, overwrite), append, overwrite);
    std::filesystem::remove_all(dir);
    return 0;
  }
  std::string url = "sqlite:" + dir + "/limit.db";
  auto session = check(store::open_session(url), "open");
  check(session->migrate(), "migrate");
  // Checkpoints as loyaltyd makes them: off the writer, on a thread of their own.
  auto checkpointer =
      check(store::WalCheckpointer::start(url, session->connection()), "checkpointer");

  SystemClock clock;
  Program program;
  program.name = "storage limit";
  program.currency = "USD";
  program.timezone = "UTC";
  program.created_at = program.updated_at = clock.now();
  check(session->begin_write(), "begin");
  program.id = check(session->insert_program(program), "insert program");
  std::vector<Member> members;
  members.reserve(static_cast<size_t>(o.members));
  for (int64_t i = 0; i < o.members; ++i) {
    Member m;
    m.program_id = program.id;
    m.external_id = "limit-" + std::to_string(i);
    m.email = m.external_id + "@example.com";
    m.created_at = m.updated_at = clock.now();
    m.id = check(session->insert_member(m), "insert member");
    members.push_back(std::move(m));
  }
  check(session->commit(), "commit members");

  std::unique_ptr<WalPin> pin;
  if (o.wal_pages) pin = std::make_unique<WalPin>(dir + "/limit.db");
  const bool engine_reads = o.reads == "engine";
  int64_t credits = 0;
  int64_t batches = 0;
  auto start = SteadyClock::now();
  auto end = start + std::chrono::duration_cast<SteadyClock::duration>(
                         std::chrono::duration<double>(o.duration_s));
  while (o.credits > 0 ? credits < o.credits : SteadyClock::now() < end) {
    // Batch k holds floor((k+1)*mean) - floor(k*mean) credits: the mean is exact.
    auto size =
        static_cast<int64_t>(std::floor((batches + 1) * o.batch) - std::floor(batches * o.batch));
    Instant now = clock.now();
    check(session->begin_write(), "begin");
    if (o.credits > 0) size = std::min(size, o.credits - credits);
    for (int64_t i = 0; i < size; ++i, ++credits) {
      const Member& member = members[static_cast<size_t>(
          (static_cast<uint64_t>(credits) * 2654435761u) % members.size())];
      MemberLedger ledger;
      if (engine_reads) {
        auto p = check(session->find_program(program.id), "find program");
        auto m = check(session->find_member(program.id, member.id), "find member");
        if (!p || !m) die("program or member vanished");
        ledger.member = *m;
        (void)check(session->get_balance(program.id, member.id), "balance (catch-up check)");
      } else {
        ledger.member = member;
      }
      ledger.balance = check(session->get_balance(program.id, member.id), "balance");
      ledger.open_lots = check(session->open_lots(program.id, member.id), "open lots");
      CreditRequest request;
      request.points = Points{o.points};
      request.reason = "bench";
      request.actor = "key_1";
      LedgerPlan plan = check(plan_credit(program, ledger, request, now), "plan");
      check(session->apply_plan(plan), "apply plan");
      if (o.idempotency) {
        store::IdempotencyRecord rec{
            "fingerprint-" + std::to_string(credits), 201,
            "{\"id\":\"pst_" + std::to_string(plan.posting.id.value) + "\"}"};
        bool inserted =
            check(session->insert_idempotency(program.id, "k-" + std::to_string(credits), rec, now),
                  "idempotency");
        if (!inserted) die("idempotency key collision");
      }
    }
    check(session->commit(), "commit");
    ++batches;
  }
  double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  double rate = static_cast<double>(credits) / seconds;
  std::printf(
      "storage limit: %lld credits in %lld batches (mean %.2f) in %.2f s = %.0f credits/s "
      "(reads: %s, idempotency rows: %s, %lld members)\n",
      static_cast<long long>(credits), static_cast<long long>(batches),
      static_cast<double>(credits) / static_cast<double>(batches), seconds, rate, o.reads.c_str(),
      o.idempotency ? "yes" : "no", static_cast<long long>(o.members));
  std::printf(
      "RESULT {\"bench\":\"storage_limit\",\"credits_per_s\":%.1f,\"batch\":%.3f,"
      "\"commits_per_s\":%.1f,\"reads\":\"%s\",\"idempotency\":%s,\"members\":%lld}\n",
      rate, o.batch, static_cast<double>(batches) / seconds, o.reads.c_str(),
      o.idempotency ? "true" : "false", static_cast<long long>(o.members));
  if (pin) {
    int64_t total = 0;
    for (const auto& [name, frames] : pin->frames_by_btree()) {
      total += frames;
      std::printf("wal frames per credit: %-24s %7.2f\n", name.c_str(),
                  static_cast<double>(frames) / static_cast<double>(credits));
    }
    std::printf("wal frames per credit: %-24s %7.2f (%.1f per commit)\n", "total",
                static_cast<double>(total) / static_cast<double>(credits),
                static_cast<double>(total) / static_cast<double>(batches));
    std::printf("RESULT {\"bench\":\"wal_pages\",\"frames_per_credit\":%.3f,\"batch\":%.3f}\n",
                static_cast<double>(total) / static_cast<double>(credits), o.batch);
    pin.reset();
  }
  checkpointer.reset();
  session.reset();
  std::filesystem::remove_all(dir);
  return 0;
}
