#include "jobs/scheduler.h"

#include <spdlog/spdlog.h>

namespace loyalty::jobs {

Result<int> run_due_once(store::StoreSession& reader, engine::Engine& engine, const Clock& clock) {
  LOYALTY_ASSIGN_OR_RETURN(auto due, reader.members_due(clock.now(), kMembersPerTick));
  int postings = 0;
  for (size_t i = 0; i < due.size(); i += kMembersPerCommand) {
    engine::CatchUp cmd;
    size_t end = std::min(due.size(), i + kMembersPerCommand);
    cmd.members.assign(due.begin() + static_cast<std::ptrdiff_t>(i),
                       due.begin() + static_cast<std::ptrdiff_t>(end));
    engine::Outcome out = engine.execute(engine::Command{std::move(cmd), std::nullopt, nullptr});
    if (!out.status.ok()) return out.status;
    postings += std::get<engine::CatchUpResult>(out.value).postings;
  }
  return postings;
}

Scheduler::Scheduler(std::string db_url, engine::Engine& engine, const Clock& clock,
                     std::chrono::milliseconds interval)
    : db_url_(std::move(db_url)), engine_(engine), clock_(clock), interval_(interval) {}

Scheduler::~Scheduler() { stop(); }

void Scheduler::start() {
  thread_ = std::thread([this] { loop(); });
}

void Scheduler::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::loop() {
  std::unique_ptr<store::StoreSession> reader;
  while (true) {
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, interval_, [&] { return stopping_; })) return;
    }
    if (!reader) {
      auto opened = store::open_session(db_url_);
      if (!opened.ok()) {
        spdlog::warn("scheduler: cannot open store: {}", opened.status().message());
        continue;
      }
      reader = std::move(opened).value();
    }
    auto result = run_due_once(*reader, engine_, clock_);
    if (!result.ok()) {
      spdlog::warn("scheduler: due work failed: {}", result.status().message());
      reader.reset();  // reconnect next tick
    } else if (*result > 0) {
      spdlog::info("scheduler: wrote {} vesting/expiry postings", *result);
    }
  }
}

}  // namespace loyalty::jobs
