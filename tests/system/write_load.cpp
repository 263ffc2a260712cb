#include "system/write_load.h"

#include <random>

namespace loyalty::system_test {

WriteLoad::WriteLoad(uint16_t port, std::string api_key, std::vector<std::string> member_ids,
                     int threads, uint32_t seed)
    : port_(port),
      api_key_(std::move(api_key)),
      member_ids_(std::move(member_ids)),
      thread_count_(threads),
      seed_(seed) {}

WriteLoad::~WriteLoad() { stop(); }

void WriteLoad::start() {
  running_ = thread_count_;
  for (int i = 0; i < thread_count_; ++i) threads_.emplace_back([this, i] { run(i); });
}

void WriteLoad::run(int thread_index) {
  std::mt19937 rng(seed_ * 7919u + static_cast<uint32_t>(thread_index));
  ApiClient client(port_, api_key_, /*timeout_ms=*/15'000);
  for (int n = 0; !stop_.load(); ++n) {
    WriteRecord rec;
    std::string tag =
        std::to_string(seed_) + "-" + std::to_string(thread_index) + "-" + std::to_string(n);
    rec.idempotency_key = "load-" + tag;
    rec.reason = "load " + tag;
    rec.member_id = member_ids_[rng() % member_ids_.size()];
    rec.is_credit = rng() % 3 != 0;
    rec.points = rec.is_credit ? 1 + rng() % 100 : 1 + rng() % 120;
    auto response = rec.is_credit
                        ? client.credit(rec.member_id, rec.points, rec.reason, rec.idempotency_key)
                        : client.debit(rec.member_id, rec.points, rec.reason, rec.idempotency_key);
    bool unanswered = !response.has_value();
    if (unanswered) {
      rec.outcome = WriteOutcome::kUnanswered;
    } else if (response->status == 201) {
      rec.outcome = WriteOutcome::kAcknowledged;
      rec.status = 201;
      rec.posting_id = json_string_field(response->body, "id").value_or("");
    } else {
      rec.outcome = WriteOutcome::kRejected;
      rec.status = response->status;
      rec.body = response->body;
      rec.answer = std::to_string(response->status) + " " + response->body.substr(0, 300);
    }
    {
      std::lock_guard lock(mu_);
      records_.push_back(std::move(rec));
    }
    if (!unanswered && response->status == 201) acknowledged_.fetch_add(1);
    if (unanswered) break;
  }
  running_.fetch_sub(1);
}

bool WriteLoad::wait_acknowledged(size_t count, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (acknowledged_.load() < count) {
    if (running_.load() == 0 || std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

void WriteLoad::stop() {
  stop_ = true;
  join();
}

void WriteLoad::join() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

std::vector<WriteRecord> WriteLoad::records() const {
  std::lock_guard lock(mu_);
  return records_;
}

std::map<std::string, std::vector<PostingRow>> postings_by_reason(const TestStore& store,
                                                                  const std::string& program_id) {
  std::map<std::string, std::vector<PostingRow>> out;
  for (auto& [reason, row] : read_postings_by_reason(store, program_id)) {
    out[reason].push_back(std::move(row));
  }
  return out;
}

}  // namespace loyalty::system_test
