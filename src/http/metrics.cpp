#include "http/metrics.h"

#include <fmt/format.h>

#include <cmath>

#include "common/assert.h"
#include "jobs/scheduler.h"

namespace loyalty::http {

namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;

std::vector<double> request_duration_bounds_seconds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

std::vector<double> batch_size_bounds() { return {1, 2, 4, 8, 16, 32, 64, 128, 256, 512}; }

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

std::string format_scaled(int64_t value, int64_t scale) {
  if (scale == 1) return std::to_string(value);
  return fmt::format("{}", static_cast<double>(value) / static_cast<double>(scale));
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Histogram::Histogram(std::vector<double> upper_bounds, int64_t scale)
    : upper_bounds_(std::move(upper_bounds)),
      scale_(scale),
      buckets_(new std::atomic<uint64_t>[upper_bounds_.size() + 1]) {
  LOYALTY_ASSERT(scale_ > 0);
  for (size_t i = 0; i < upper_bounds_.size(); ++i) {
    LOYALTY_ASSERT(i == 0 || upper_bounds_[i - 1] < upper_bounds_[i]);
    scaled_bounds_.push_back(std::llround(upper_bounds_[i] * static_cast<double>(scale_)));
  }
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(int64_t value_scaled) {
  size_t bucket = 0;
  while (bucket < scaled_bounds_.size() && value_scaled > scaled_bounds_[bucket]) ++bucket;
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_scaled_.fetch_add(value_scaled, std::memory_order_relaxed);
}

void Histogram::render(std::string& out, std::string_view name, std::string_view labels) const {
  auto it = std::back_inserter(out);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < upper_bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    fmt::format_to(it, "{}_bucket{{{}le=\"{}\"}} {}\n", name, labels, upper_bounds_[i], cumulative);
  }
  cumulative += buckets_[upper_bounds_.size()].load(std::memory_order_relaxed);
  fmt::format_to(it, "{}_bucket{{{}le=\"+Inf\"}} {}\n", name, labels, cumulative);
  std::string_view bare = labels.empty() ? "" : labels.substr(0, labels.size() - 1);
  std::string braces = bare.empty() ? "" : fmt::format("{{{}}}", bare);
  fmt::format_to(it, "{}_sum{} {}\n", name, braces, format_scaled(sum_scaled_.load(), scale_));
  // _count equals the +Inf bucket by definition; a concurrent observe between
  // the loads above must not make them disagree.
  fmt::format_to(it, "{}_count{} {}\n", name, braces, cumulative);
}

Metrics::Metrics()
    : batch_commands_(batch_size_bounds(), 1),
      batch_commit_seconds_(request_duration_bounds_seconds(), kMicrosPerSecond) {}

void Metrics::observe_request(std::string_view method, std::string_view route, int status,
                              int64_t duration_us) {
  std::atomic<uint64_t>* counter = nullptr;
  Histogram* histogram = nullptr;
  RequestKeyLess::View key{method, route, status};
  {
    std::shared_lock lock(mu_);
    auto c = requests_.find(key);
    auto h = durations_.find(route);
    if (c != requests_.end() && h != durations_.end()) {
      counter = c->second.get();
      histogram = h->second.get();
    }
  }
  if (counter == nullptr) {
    std::unique_lock lock(mu_);
    auto c = requests_.find(key);
    if (c == requests_.end()) {
      c = requests_
              .emplace(RequestKey{std::string(method), std::string(route), status},
                       std::make_unique<std::atomic<uint64_t>>(0))
              .first;
    }
    counter = c->second.get();
    auto h = durations_.find(route);
    if (h == durations_.end()) {
      h = durations_
              .emplace(std::string(route), std::make_unique<Histogram>(
                                               request_duration_bounds_seconds(), kMicrosPerSecond))
              .first;
    }
    histogram = h->second.get();
  }
  // Children are never removed, so the pointers stay valid outside the lock.
  counter->fetch_add(1, std::memory_order_relaxed);
  histogram->observe(duration_us);
}

void Metrics::observe_batch(size_t commands, int64_t commit_us) {
  batch_commands_.observe(static_cast<int64_t>(commands));
  batch_commit_seconds_.observe(commit_us);
}

std::string Metrics::render(const engine::EngineStats& stats) const {
  std::string out;
  auto it = std::back_inserter(out);
  std::shared_lock lock(mu_);

  header(out, "loyaltyd_http_requests_total", "counter",
         "HTTP requests by method, route and status.");
  for (const auto& [key, count] : requests_) {
    fmt::format_to(it,
                   "loyaltyd_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {}\n",
                   escape_label_value(key.method), escape_label_value(key.route), key.status,
                   count->load(std::memory_order_relaxed));
  }
  header(out, "loyaltyd_http_request_duration_seconds", "histogram",
         "Time from a request's last byte read to its response handed to the socket, by route.");
  for (const auto& [route, histogram] : durations_) {
    histogram->render(out, "loyaltyd_http_request_duration_seconds",
                      fmt::format("route=\"{}\",", escape_label_value(route)));
  }
  header(out, "loyaltyd_engine_batch_commands", "histogram",
         "Commands per committed engine batch (group commit).");
  batch_commands_.render(out, "loyaltyd_engine_batch_commands", "");
  header(out, "loyaltyd_engine_batch_commit_seconds", "histogram",
         "Time to execute and commit one engine batch.");
  batch_commit_seconds_.render(out, "loyaltyd_engine_batch_commit_seconds", "");
  header(out, "loyaltyd_engine_queue_depth", "gauge", "Commands waiting for the engine's writer.");
  fmt::format_to(it, "loyaltyd_engine_queue_depth {}\n", stats.queue_depth);
  header(out, "loyaltyd_engine_commands_total", "counter", "Commands executed by the engine.");
  fmt::format_to(it, "loyaltyd_engine_commands_total {}\n", stats.commands);
  header(out, "loyaltyd_engine_failed_commands_total", "counter",
         "Engine commands that failed (domain errors included).");
  fmt::format_to(it, "loyaltyd_engine_failed_commands_total {}\n", stats.failed_commands);
  header(out, "loyaltyd_engine_batches_total", "counter", "Batches committed by the engine.");
  fmt::format_to(it, "loyaltyd_engine_batches_total {}\n", stats.batches);
  jobs::render_job_metrics(out);
  return out;
}

}  // namespace loyalty::http
