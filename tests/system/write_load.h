// A write load for the crash and drain tests: client threads, each with its own
// keep-alive connection, sending credits and debits with unique
// Idempotency-Keys and recording what became of every request.
//
// A thread stops after its first unanswered request (the server is gone or
// closed the connection) or when stop() is called. Every request is recorded
// before the next is sent, so the records are complete for every request that
// may have reached the server.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "system/harness.h"

namespace loyalty::system_test {

enum class WriteOutcome {
  kAcknowledged,  // 201: durable, with a posting id
  kRejected,      // any other complete answer: must not have been applied
  kUnanswered,    // no complete answer: may or may not have been applied
};

struct WriteRecord {
  std::string idempotency_key;
  std::string member_id;
  bool is_credit = true;
  int64_t points = 0;
  std::string reason;  // unique per request: finds its postings in the store
  WriteOutcome outcome = WriteOutcome::kUnanswered;
  int status = 0;          // kAcknowledged / kRejected
  std::string posting_id;  // kAcknowledged
  std::string body;        // kRejected: the response body
  std::string answer;      // kRejected: the status and body, for messages
};

class WriteLoad {
 public:
  // Credits of 1..100 points and (a third of the requests) debits of 1..120,
  // so that some debits meet an insufficient balance.
  WriteLoad(uint16_t port, std::string api_key, std::vector<std::string> member_ids, int threads,
            uint32_t seed);
  ~WriteLoad();

  void start();
  // Waits until at least `count` writes were acknowledged; false on timeout or
  // when every thread stopped first.
  bool wait_acknowledged(size_t count, std::chrono::milliseconds timeout);
  // Asks the threads to stop after their current request and joins them.
  void stop();
  // Joins threads that stop by themselves (the server went away).
  void join();

  size_t acknowledged() const { return acknowledged_.load(); }
  // Every request sent, in no particular order (after join/stop).
  std::vector<WriteRecord> records() const;

 private:
  void run(int thread_index);

  uint16_t port_;
  std::string api_key_;
  std::vector<std::string> member_ids_;
  int thread_count_;
  uint32_t seed_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> acknowledged_{0};
  std::atomic<int> running_{0};
  std::vector<std::thread> threads_;
  mutable std::mutex mu_;
  std::vector<WriteRecord> records_;
};

// What the store holds for each request, read directly: reason -> postings.
std::map<std::string, std::vector<PostingRow>> postings_by_reason(const TestStore& store,
                                                                  const std::string& program_id);

}  // namespace loyalty::system_test
