#include "cli/import_command.h"

#include <fmt/format.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "engine/engine.h"
#include "importer/order_file.h"
#include "jobs/scheduler.h"

namespace loyalty::cli {
namespace {

using Clock = std::chrono::steady_clock;

int fail(const std::string& message) {
  std::fprintf(stderr, "loyaltyd: %s\n", message.c_str());
  return 1;
}

// What the reading thread hands to the writer: records and bad lines, in file order.
struct Batch {
  std::vector<engine::ImportRecord> records;
  std::vector<importer::LineError> errors;
  uint64_t bytes_done = 0;
  bool last = false;
};

// A bounded hand-over from the reading thread to the writing one.
class BatchQueue {
 public:
  static constexpr size_t kCapacity = 4;
  void push(Batch batch) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return queue_.size() < kCapacity || closed_; });
    if (closed_) return;
    queue_.push_back(std::move(batch));
    not_empty_.notify_one();
  }
  Batch pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return !queue_.empty(); });
    Batch b = std::move(queue_.front());
    queue_.pop_front();
    not_full_.notify_one();
    return b;
  }
  // The writer stops early: the reader's pushes return at once.
  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_full_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<Batch> queue_;
  bool closed_ = false;
};

// Progress on stderr: a redrawn bar on a terminal, else a line every
// kPlainInterval; nothing with --quiet.
class Progress {
 public:
  static constexpr auto kRedrawInterval = std::chrono::milliseconds(100);
  static constexpr auto kPlainInterval = std::chrono::seconds(10);

  Progress(bool quiet, uint64_t file_size)
      : enabled_(!quiet), tty_(isatty(STDERR_FILENO) == 1), size_(file_size) {}

  void update(uint64_t bytes, int64_t orders, bool force = false) {
    if (!enabled_) return;
    auto now = Clock::now();
    if (!force && now - last_ < (tty_ ? kRedrawInterval : kPlainInterval)) return;
    last_ = now;
    double seconds = std::chrono::duration<double>(now - start_).count();
    double rate = seconds > 0 ? static_cast<double>(orders) / seconds : 0;
    int percent = size_ > 0 ? static_cast<int>(bytes * 100 / size_) : 100;
    std::string eta = "?";
    if (bytes > 0 && seconds > 0 && size_ >= bytes) {
      auto left = static_cast<int64_t>(seconds * static_cast<double>(size_ - bytes) /
                                       static_cast<double>(bytes));
      eta = fmt::format("{}:{:02}", left / 60, left % 60);
    }
    if (tty_) {
      constexpr int kWidth = 30;
      int filled = percent * kWidth / 100;
      std::fprintf(stderr, "\r[%s%s] %3d%%  %lld orders  %.0f orders/s  ETA %s  ",
                   std::string(static_cast<size_t>(filled), '#').c_str(),
                   std::string(static_cast<size_t>(kWidth - filled), '.').c_str(), percent,
                   static_cast<long long>(orders), rate, eta.c_str());
      drawn_ = true;
    } else {
      std::fprintf(stderr, "import: %d%%, %lld orders, %.0f orders/s, ETA %s\n", percent,
                   static_cast<long long>(orders), rate, eta.c_str());
    }
    std::fflush(stderr);
  }
  // Before a message on stderr: end the bar's line.
  void interrupt() {
    if (drawn_) std::fputc('\n', stderr);
    drawn_ = false;
  }

 private:
  bool enabled_;
  bool tty_;
  uint64_t size_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_{};
  bool drawn_ = false;
};

// The line a failed ImportOrders names ("LINE: what"), 0 when none.
int64_t failed_line(const Status& status) {
  const std::string& m = status.message();
  int64_t line = 0;
  auto [end, ec] = std::from_chars(m.data(), m.data() + m.size(), line);
  if (ec != std::errc() || end == m.data() + m.size() || *end != ':') return 0;
  return line;
}

bool is_record_error(ErrorCode code) {
  return code != ErrorCode::kUnavailable && code != ErrorCode::kRetryable &&
         code != ErrorCode::kInternal;
}

}  // namespace

int run_import_orders(const ImportOrdersOptions& o) {
  auto format = importer::detect_format(o.file, o.format);
  if (!format.ok()) return fail(format.status().message());
  if (o.batch_size < kMinImportBatch || o.batch_size > kMaxImportBatch) {
    return fail(
        fmt::format("--batch-size must be between {} and {}", kMinImportBatch, kMaxImportBatch));
  }
  auto program_id = parse_id<ProgramTag>(o.program);
  if (!program_id)
    return fail("--program must be a program id such as prg_1, not '" + o.program + "'");
  Instant as_of = SystemClock().now();
  if (!o.as_of.empty()) {
    auto t = parse_rfc3339(o.as_of);
    if (!t) return fail("--as-of must be an RFC 3339 timestamp, not '" + o.as_of + "'");
    as_of = *t;
  }
  // The engine runs at the import's "now": records must not be later, and the
  // final catch-up of vesting and expiry runs up to it.
  ManualClock clock(as_of);
  auto engine = engine::Engine::start(o.db_url, clock);
  if (!engine.ok()) return fail("cannot open the store: " + engine.status().message());
  auto reader_or = store::open_session(o.db_url);
  if (!reader_or.ok()) return fail("cannot open the store: " + reader_or.status().message());
  store::StoreSession& reader = **reader_or;
  auto program = reader.find_program(*program_id);
  if (!program.ok()) return fail(program.status().message());
  if (!*program) return fail("program " + o.program + " not found");

  std::unordered_map<std::string, MemberId> members;
  Status loaded = reader.for_each_member_external_id(
      *program_id, [&](std::string_view external_id, MemberId id) {
        members.emplace(std::string(external_id), id);
      });
  if (!loaded.ok()) return fail(loaded.message());

  auto file = importer::OrderFileReader::open(
      o.file, *format, importer::ReadContext{(*program)->currency, (*program)->timezone, as_of});
  if (!file.ok()) return fail(file.status().message());
  importer::OrderFileReader& orders_file = **file;

  const auto started = Clock::now();
  Progress progress(o.quiet, orders_file.file_size());
  BatchQueue queue;
  // Reading and checking on this thread; writing on the caller's.
  std::thread reading([&] {
    Batch batch;
    engine::ImportRecord record;
    importer::LineError error;
    while (true) {
      auto next = orders_file.next(&record, &error);
      if (next == importer::OrderFileReader::Next::kEnd) break;
      if (next == importer::OrderFileReader::Next::kRecord) {
        batch.records.push_back(std::move(record));
      } else {
        batch.errors.push_back(std::move(error));
        if (!o.skip_invalid) break;
      }
      if (batch.records.size() >= static_cast<size_t>(o.batch_size)) {
        batch.bytes_done = orders_file.bytes_read();
        queue.push(std::move(batch));
        batch = Batch{};
      }
    }
    batch.bytes_done = orders_file.bytes_read();
    batch.last = true;
    queue.push(std::move(batch));
  });

  int64_t imported = 0;
  int64_t duplicates = 0;
  int64_t invalid = 0;
  int64_t members_created = 0;
  int64_t points = 0;
  bool stopped = false;
  std::string fatal;
  auto report = [&](int64_t line, const std::string& message) {
    progress.interrupt();
    std::fprintf(stderr, "%s:%lld: %s\n", o.file.c_str(), static_cast<long long>(line),
                 message.c_str());
    ++invalid;
  };
  while (true) {
    Batch batch = queue.pop();
    for (const importer::LineError& e : batch.errors) report(e.line, e.message);
    if (!batch.errors.empty() && !o.skip_invalid) {
      // Nothing of the batch holding the bad line is written.
      stopped = true;
      break;
    }
    for (engine::ImportRecord& r : batch.records) {
      if (auto it = members.find(r.customer_external_id);
          !r.customer_external_id.empty() && it != members.end()) {
        r.member = it->second;
      }
    }
    engine::ImportOrders command{*program_id, std::move(batch.records), o.create_members};
    while (!command.records.empty()) {
      engine::Outcome out = (*engine)->execute(engine::Command{command, std::nullopt, nullptr});
      if (out.status.ok()) {
        const auto& result = std::get<engine::ImportResult>(out.value);
        imported += result.imported;
        duplicates += result.duplicates;
        points += result.points_earned;
        members_created += static_cast<int64_t>(result.members_created.size());
        for (const auto& [external_id, id] : result.members_created) members[external_id] = id;
        break;
      }
      int64_t line = failed_line(out.status);
      if (line == 0 || !is_record_error(out.status.code())) {
        fatal = out.status.message();
        break;
      }
      size_t colon = out.status.message().find(": ");
      report(line, out.status.message().substr(colon + 2));
      if (!o.skip_invalid) {
        stopped = true;
        break;
      }
      // The batch again without that record (it was all rolled back).
      std::erase_if(command.records, [&](const engine::ImportRecord& r) { return r.line == line; });
    }
    if (!fatal.empty() || stopped) break;
    progress.update(batch.bytes_done, imported + duplicates, batch.last);
    if (batch.last) break;
  }
  queue.close();
  reading.join();
  progress.interrupt();

  // Vesting and expiry that came due between the orders and now, through the
  // scheduler's own work item.
  for (int pass = 0; fatal.empty(); ++pass) {
    auto due = jobs::run_due_once(reader, **engine, clock);
    if (!due.ok()) {
      fatal = "catching up vesting and expiry: " + due.status().message();
      break;
    }
    if (*due == 0) break;
  }
  (*engine)->stop();
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  if (!fatal.empty()) return fail(fatal);
  std::printf("orders imported:    %lld\n", static_cast<long long>(imported));
  std::printf("duplicates skipped: %lld\n", static_cast<long long>(duplicates));
  std::printf("invalid lines:      %lld%s\n", static_cast<long long>(invalid),
              stopped ? " (stopped at the first; --skip-invalid goes on)" : "");
  std::printf("members created:    %lld\n", static_cast<long long>(members_created));
  std::printf("points earned:      %lld\n", static_cast<long long>(points));
  std::printf("seconds:            %.2f\n", seconds);
  std::printf("orders/s:           %.0f\n",
              seconds > 0 ? static_cast<double>(imported + duplicates) / seconds : 0.0);
  return invalid == 0 ? 0 : 1;
}

}  // namespace loyalty::cli
