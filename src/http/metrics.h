// Prometheus metrics, text exposition format 0.0.4, served at /metrics.
//
// A small registry of our own rather than prometheus-cpp: Debian 12 packages it
// (prometheus-cpp-dev), but the -dev package pulls in civetweb, libcurl and the
// push/pull libraries — an embedded web server and an HTTP client — to give us
// counters, histograms and a text serializer we need a few hundred lines for,
// next to an HTTP server we already have.
//
// Counters and histogram buckets are atomics; finding a labelled child takes a
// shared lock and a map lookup without allocating (every request does it, from
// every I/O thread); only a child seen for the first time takes the lock
// exclusively.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "engine/engine.h"

namespace loyalty::http {

class Histogram {
 public:
  // `upper_bounds` in the exposed unit (seconds, commands), ascending;
  // observations are integers in units of 1/`scale` of it (microseconds for
  // scale 1e6), so no floating point is summed concurrently.
  Histogram(std::vector<double> upper_bounds, int64_t scale);
  void observe(int64_t value_scaled);
  // Appends the _bucket, _sum and _count lines; `labels` is "" or `a="b",`.
  void render(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::vector<double> upper_bounds_;
  std::vector<int64_t> scaled_bounds_;
  int64_t scale_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // per bucket, not cumulative
  std::atomic<uint64_t> count_{0};
  std::atomic<int64_t> sum_scaled_{0};
};

class Metrics {
 public:
  Metrics();
  void observe_request(std::string_view method, std::string_view route, int status,
                       int64_t duration_us);
  // Engine::set_batch_observer callback: one call per committed batch.
  void observe_batch(size_t commands, int64_t commit_us);
  // Every metric; the engine's counters and queue depth are read from `stats`.
  std::string render(const engine::EngineStats& stats) const;

 private:
  struct RequestKey {
    std::string method;
    std::string route;
    int status;
  };
  // Orders keys and the (method, route, status) views observe_request looks up.
  struct RequestKeyLess {
    using is_transparent = void;
    using View = std::tuple<std::string_view, std::string_view, int>;
    static View view(const RequestKey& k) { return {k.method, k.route, k.status}; }
    static const View& view(const View& v) { return v; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return view(a) < view(b);
    }
  };
  mutable std::shared_mutex mu_;
  std::map<RequestKey, std::unique_ptr<std::atomic<uint64_t>>, RequestKeyLess> requests_;
  std::map<std::string, std::unique_ptr<Histogram>, std::less<>> durations_;
  Histogram batch_commands_;
  Histogram batch_commit_seconds_;
};

// Escapes a label value (backslash, double quote, newline).
std::string escape_label_value(std::string_view value);

}  // namespace loyalty::http
