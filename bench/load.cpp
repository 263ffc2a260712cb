// load: a small HTTP/1.1 keep-alive load generator for loyaltyd (Boost.Asio,
// async, one or two threads: the machine has 2 cores and the server needs them).
//
//   load --mode credits|balance|orders|healthz --url http://127.0.0.1:8080 --key lk_...
//        --members-file FILE [--connections 64] [--duration-s 10] [--warmup-s 1]
//        [--rate 0] [--idempotency] [--points 10] [--threads 1]
//   load --mode enroll --count N --members-file OUT [--prefix bench-]   (writes member ids)
//        [--referral-codes-file F]  (each member joins with one of F's codes and hashes)
//   load --mode cdnow --cdnow FILE                  (enrolls one member per customer,
//                                                    then credits floor(dollars) per order)
//   load --mode orders --members-file FILE [--first-orders] ...      (POST /v1/orders: a paid order
//   with
//                                                    3 line items for a random member)
//   load --mode fund --members-file FILE --points P (one credit of P points per member)
//   load --mode redeem --members-file FILE --reward ID [--codes-file OUT]
//                                                   (POST .../redemptions of reward ID for a
//                                                    random member; writes the coupon codes)
//   load --mode validate --codes-file FILE [--subtotal-minor 5000]
//                                                   (POST /v1/coupons/{code}:validate with a
//                                                    cart, codes in turn: a read)
//
// --rate 0 is a closed loop (each connection sends its next request when the
// previous one is answered: the maximum throughput). --rate R > 0 is an open
// loop at R requests/s spread over the connections; latency is measured from
// the moment a request was due, not from when it could be sent, so a stalled
// server is not hidden (no coordinated omission).
//
// Prints a human summary and one machine-readable line:
//   RESULT {"mode":..., "requests":..., "seconds":..., "rps":..., "p50_ms":..., ...}
#include <strings.h>

#include <utility>  // before Boost 1.74 Asio: its awaitable.hpp uses std::exchange

#include <boost/asio.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// Limits of the generator itself.
constexpr int kMaxConnections = 4096;
constexpr size_t kMaxResponseBytes = 1 << 20;

struct Options {
  std::string mode = "credits";
  std::string host = "127.0.0.1";
  std::string port = "8080";
  std::string key;
  int connections = 64;
  double duration_s = 10;
  double warmup_s = 1;
  double rate = 0;
  int threads = 1;
  bool idempotency = false;
  int64_t points = 10;
  std::string members_file;
  int64_t count = 0;
  std::string prefix = "bench-";
  std::string cdnow_file;
  std::string reward;
  std::string codes_file;
  int64_t subtotal_minor = 5000;
  std::string referral_codes_file;  // enroll: each member joins with one of these codes
  bool first_orders = false;        // orders: one order per member, in file order, then stop
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "load: %s\n", why.c_str());
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--mode")
      o.mode = value();
    else if (a == "--url") {
      std::string url = value();
      if (!url.starts_with("http://")) usage("--url must start with http://");
      std::string hostport = url.substr(7);
      if (auto slash = hostport.find('/'); slash != std::string::npos) hostport.resize(slash);
      auto colon = hostport.rfind(':');
      if (colon == std::string::npos) usage("--url needs a port");
      o.host = hostport.substr(0, colon);
      o.port = hostport.substr(colon + 1);
    } else if (a == "--key")
      o.key = value();
    else if (a == "--connections")
      o.connections = std::stoi(value());
    else if (a == "--duration-s")
      o.duration_s = std::stod(value());
    else if (a == "--warmup-s")
      o.warmup_s = std::stod(value());
    else if (a == "--rate")
      o.rate = std::stod(value());
    else if (a == "--threads")
      o.threads = std::stoi(value());
    else if (a == "--idempotency")
      o.idempotency = true;
    else if (a == "--points")
      o.points = std::stoll(value());
    else if (a == "--members-file" || a == "--members")
      o.members_file = value();
    else if (a == "--count")
      o.count = std::stoll(value());
    else if (a == "--prefix")
      o.prefix = value();
    else if (a == "--cdnow")
      o.cdnow_file = value();
    else if (a == "--reward")
      o.reward = value();
    else if (a == "--codes-file")
      o.codes_file = value();
    else if (a == "--subtotal-minor")
      o.subtotal_minor = std::stoll(value());
    else if (a == "--referral-codes-file")
      o.referral_codes_file = value();
    else if (a == "--first-orders")
      o.first_orders = true;
    else
      usage("unknown option " + a);
  }
  if (o.connections < 1 || o.connections > kMaxConnections) usage("--connections out of range");
  if (o.threads < 1 || o.threads > 16) usage("--threads must be 1..16");
  return o;
}

// ---- Workloads: request number -> request bytes ----

struct Workload {
  virtual ~Workload() = default;
  // The request with this sequence number, or nullopt when the workload is done.
  virtual std::optional<std::string> request(uint64_t seq) = 0;
  // Sees every 2xx response body (e.g. to collect created ids).
  virtual void on_success(uint64_t seq, std::string_view body) {}
};

std::string http_request(const Options& o, std::string_view method, const std::string& target,
                         const std::string& body, const std::string& idempotency_key = "") {
  std::string r;
  r.reserve(256 + body.size());
  r.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ");
  r.append(o.host).append(":").append(o.port).append("\r\n");
  if (!o.key.empty()) r.append("Authorization: Bearer ").append(o.key).append("\r\n");
  if (!idempotency_key.empty())
    r.append("Idempotency-Key: ").append(idempotency_key).append("\r\n");
  if (method == "POST") {
    r.append("Content-Type: application/json\r\nContent-Length: ");
    r.append(std::to_string(body.size())).append("\r\n");
  }
  r.append("\r\n").append(body);
  return r;
}

// A member for request `seq`, spread over all members (a multiplicative hash,
// so consecutive requests hit different members).
const std::string& pick_member(const std::vector<std::string>& members, uint64_t seq) {
  return members[(seq * 2654435761u) % members.size()];
}

struct CreditsWorkload : Workload {
  const Options& o;
  std::vector<std::string> members;
  std::string run_tag;
  CreditsWorkload(const Options& options, std::vector<std::string> m)
      : o(options), members(std::move(m)) {
    run_tag = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  }
  std::optional<std::string> request(uint64_t seq) override {
    const std::string& member = pick_member(members, seq);
    std::string body = "{\"points\":" + std::to_string(o.points) + ",\"reason\":\"bench\"}";
    return http_request(o, "POST", "/v1/members/" + member + "/credits", body,
                        o.idempotency ? "b" + run_tag + "-" + std::to_string(seq) : "");
  }
};

struct BalanceWorkload : Workload {
  const Options& o;
  std::vector<std::string> members;
  BalanceWorkload(const Options& options, std::vector<std::string> m)
      : o(options), members(std::move(m)) {}
  std::optional<std::string> request(uint64_t seq) override {
    return http_request(o, "GET", "/v1/members/" + pick_member(members, seq) + "/balance", "");
  }
};

struct HealthzWorkload : Workload {
  std::string bytes;
  explicit HealthzWorkload(const Options& o) { bytes = http_request(o, "GET", "/healthz", ""); }
  std::optional<std::string> request(uint64_t) override { return bytes; }
};

// POST /v1/orders: a paid order of 3 line items (3 categories, prices varying
// with the sequence number) for a member spread over all members, with an
// external id unique to the run, so every request creates an order and earns.
struct OrdersWorkload : Workload {
  static constexpr std::array<std::string_view, 3> kCategories = {"shoes", "apparel", "socks"};
  const Options& o;
  std::vector<std::string> members;
  std::string run_tag;
  std::string placed_at;  // now, UTC, to the second
  OrdersWorkload(const Options& options, std::vector<std::string> m)
      : o(options), members(std::move(m)) {
    auto now = std::chrono::system_clock::now();
    run_tag = std::to_string(now.time_since_epoch().count());
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::array<char, 32> buf{};
    std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    placed_at = buf.data();
  }
  std::optional<std::string> request(uint64_t seq) override {
    if (o.first_orders && seq >= members.size()) return std::nullopt;
    std::string body;
    body.reserve(640);
    body.append("{\"external_id\":\"o").append(run_tag).append("-").append(std::to_string(seq));
    body.append("\",\"member_id\":\"")
        .append(o.first_orders ? members[seq] : pick_member(members, seq));
    body.append("\",\"currency\":\"USD\",\"channel\":\"web\",\"status\":\"paid\",");
    body.append("\"placed_at\":\"").append(placed_at).append("\",\"items\":[");
    for (uint64_t i = 0; i < 3; ++i) {
      uint64_t sku = (seq * 7 + i * 131) % 500;
      if (i > 0) body.append(",");
      body.append("{\"sku\":\"SKU-").append(std::to_string(sku));
      body.append("\",\"name\":\"Product ").append(std::to_string(sku));
      body.append("\",\"category\":\"").append(kCategories[i]);
      body.append("\",\"quantity\":").append(std::to_string(1 + (seq + i) % 3));
      body.append(",\"unit_price_minor\":").append(std::to_string(499 + (sku % 50) * 100));
      body.append("}");
    }
    body.append("],\"shipping_minor\":495,\"tax_minor\":380}");
    return http_request(o, "POST", "/v1/orders", body);
  }
};

// The string value of `"key":"` in a JSON body (no unescaping: ids and codes
// have no escapes), or empty.
std::string_view json_string_field(std::string_view body, std::string_view key) {
  const std::string needle = "\"" + std::string(key) + "\":\"";
  auto at = body.find(needle);
  if (at == std::string_view::npos) return {};
  at += needle.size();
  auto end = body.find('"', at);
  return end == std::string_view::npos ? std::string_view() : body.substr(at, end - at);
}

// One credit of --points for each member, in order (finite).
struct FundWorkload : Workload {
  const Options& o;
  std::vector<std::string> members;
  FundWorkload(const Options& options, std::vector<std::string> m)
      : o(options), members(std::move(m)) {}
  std::optional<std::string> request(uint64_t seq) override {
    if (seq >= members.size()) return std::nullopt;
    return http_request(o, "POST", "/v1/members/" + members[seq] + "/credits",
                        "{\"points\":" + std::to_string(o.points) + ",\"reason\":\"bench funds\"}");
  }
};

// POST /v1/members/{id}/redemptions of --reward for a random member; keeps
// the coupon code of each (shown once, in this response).
struct RedeemWorkload : Workload {
  const Options& o;
  std::vector<std::string> members;
  std::string body;
  std::mutex mu;
  std::vector<std::string> codes;
  RedeemWorkload(const Options& options, std::vector<std::string> m)
      : o(options), members(std::move(m)) {
    body = "{\"reward_id\":\"" + o.reward + "\"}";
  }
  std::optional<std::string> request(uint64_t seq) override {
    return http_request(o, "POST", "/v1/members/" + pick_member(members, seq) + "/redemptions",
                        body);
  }
  void on_success(uint64_t, std::string_view response) override {
    std::string_view code = json_string_field(response, "code");
    if (code.empty()) return;
    std::lock_guard lock(mu);
    codes.emplace_back(code);
  }
};

// POST /v1/coupons/{code}:validate with a cart, cycling through the codes.
struct ValidateWorkload : Workload {
  const Options& o;
  std::vector<std::string> codes;
  std::string body;
  ValidateWorkload(const Options& options, std::vector<std::string> c)
      : o(options), codes(std::move(c)) {
    body = "{\"cart\":{\"subtotal_minor\":" + std::to_string(o.subtotal_minor) +
           ",\"shipping_minor\":495}}";
  }
  std::optional<std::string> request(uint64_t seq) override {
    return http_request(o, "POST", "/v1/coupons/" + codes[seq % codes.size()] + ":validate", body);
  }
};

// Enrolls members with the given external ids; collects their ids.
struct EnrollWorkload : Workload {
  const Options& o;
  std::vector<std::string> external_ids;
  std::vector<std::string> ids;    // by seq
  std::vector<std::string> codes;  // referral codes to join with (none: plain enrollments)
  std::mutex mu;
  EnrollWorkload(const Options& options, std::vector<std::string> ext,
                 std::vector<std::string> referral_codes = {})
      : o(options),
        external_ids(std::move(ext)),
        ids(external_ids.size()),
        codes(std::move(referral_codes)) {}
  std::optional<std::string> request(uint64_t seq) override {
    if (seq >= external_ids.size()) return std::nullopt;
    const std::string& e = external_ids[seq];
    std::string body = "{\"external_id\":\"" + e + "\",\"email\":\"" + e + "@example.com\"";
    if (!codes.empty()) {
      // A referral with the shop's hashes, so every fraud control has work.
      body += ",\"referral_code\":\"" + pick_member(codes, seq) +
              "\",\"referral_signals\":{\"device_hash\":\"d-" + e + "\",\"ip_hash\":\"i-" + e +
              "\",\"payment_fingerprint_hash\":\"p-" + e + "\"}";
    }
    return http_request(o, "POST", "/v1/members", body + "}");
  }
  void on_success(uint64_t seq, std::string_view body) override {
    auto at = body.find("\"id\":\"");
    if (at == std::string_view::npos) return;
    auto end = body.find('"', at + 6);
    std::lock_guard lock(mu);
    ids[seq] = std::string(body.substr(at + 6, end - at - 6));
  }
};

// One credit per (member, points), in order.
struct ListCreditsWorkload : Workload {
  const Options& o;
  std::vector<std::pair<std::string, int64_t>> credits;
  ListCreditsWorkload(const Options& options, std::vector<std::pair<std::string, int64_t>> c)
      : o(options), credits(std::move(c)) {}
  std::optional<std::string> request(uint64_t seq) override {
    if (seq >= credits.size()) return std::nullopt;
    const auto& [member, points] = credits[seq];
    return http_request(o, "POST", "/v1/members/" + member + "/credits",
                        "{\"points\":" + std::to_string(points) + ",\"reason\":\"cdnow order\"}");
  }
};

// ---- The engine of the generator ----

struct Stats {
  std::vector<uint32_t> latencies_us;  // of requests completed inside the window
  uint64_t completed_in_window = 0;
  uint64_t completed = 0;
  uint64_t non2xx = 0;
  uint64_t errors = 0;  // connection failures, malformed responses
  std::map<int, uint64_t> statuses;
  std::string first_non2xx;
};

class Run;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::io_context& io, Run& run, int index);
  void start(const tcp::resolver::results_type& endpoints);

 private:
  void send_next();
  void send_at(Clock::time_point due);
  void write();
  void read();
  bool parse_response();
  void fail(const boost::system::error_code& ec);

  Run& run_;
  int index_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  tcp::resolver::results_type endpoints_;
  std::string out_;
  std::string in_;
  char chunk_[16384];
  uint64_t seq_ = 0;
  Clock::time_point due_;  // when the current request was due (latency origin)
  uint64_t slot_ = 0;      // open loop: this connection's next slot
  friend class Run;
};

class Run {
 public:
  Run(const Options& o, Workload& w, bool finite)
      : o_(o), workload_(w), finite_(finite), stats_(static_cast<size_t>(o.connections)) {}

  Stats execute() {
    std::vector<std::unique_ptr<asio::io_context>> ios;
    for (int t = 0; t < o_.threads; ++t) ios.push_back(std::make_unique<asio::io_context>());
    tcp::resolver resolver(*ios[0]);
    auto endpoints = resolver.resolve(o_.host, o_.port);
    start_ = Clock::now();
    window_start_ = start_ + to_duration(finite_ ? 0 : o_.warmup_s);
    deadline_ = finite_ ? Clock::time_point::max() : window_start_ + to_duration(o_.duration_s);
    for (int c = 0; c < o_.connections; ++c) {
      auto conn = std::make_shared<Connection>(*ios[static_cast<size_t>(c % o_.threads)], *this, c);
      conn->start(endpoints);
    }
    std::vector<std::thread> threads;
    for (auto& io : ios) threads.emplace_back([&io] { io->run(); });
    for (auto& t : threads) t.join();
    end_ = Clock::now();
    Stats total;
    for (auto& s : stats_) {
      total.latencies_us.insert(total.latencies_us.end(), s.latencies_us.begin(),
                                s.latencies_us.end());
      total.completed_in_window += s.completed_in_window;
      total.completed += s.completed;
      total.non2xx += s.non2xx;
      total.errors += s.errors;
      for (auto [k, v] : s.statuses) total.statuses[k] += v;
      if (total.first_non2xx.empty()) total.first_non2xx = s.first_non2xx;
    }
    return total;
  }

  double window_seconds() const {
    if (finite_) return std::chrono::duration<double>(end_ - start_).count();
    return o_.duration_s;
  }

 private:
  static Clock::duration to_duration(double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  }
  // The next request for a connection, or nullopt to stop it.
  std::optional<std::pair<uint64_t, std::string>> next_request() {
    if (Clock::now() >= deadline_) return std::nullopt;
    uint64_t seq = next_seq_.fetch_add(1);
    auto r = workload_.request(seq);
    if (!r) return std::nullopt;
    return std::make_pair(seq, std::move(*r));
  }
  // Open loop: when slot k of connection c is due.
  Clock::time_point slot_time(int c, uint64_t k) const {
    double interval_s = o_.connections / o_.rate;
    double offset_s =
        (static_cast<double>(k) + static_cast<double>(c) / o_.connections) * interval_s;
    return start_ + to_duration(offset_s);
  }

  const Options& o_;
  Workload& workload_;
  bool finite_;
  std::vector<Stats> stats_;  // one per connection: no sharing between threads
  std::atomic<uint64_t> next_seq_{0};
  Clock::time_point start_, window_start_, deadline_, end_;
  friend class Connection;
};

Connection::Connection(asio::io_context& io, Run& run, int index)
    : run_(run), index_(index), socket_(io), timer_(io) {}

void Connection::start(const tcp::resolver::results_type& endpoints) {
  endpoints_ = endpoints;
  auto self = shared_from_this();
  asio::async_connect(socket_, endpoints_,
                      [self](boost::system::error_code ec, const tcp::endpoint&) {
                        if (ec) return self->fail(ec);
                        self->socket_.set_option(tcp::no_delay(true));
                        self->send_next();
                      });
}

void Connection::send_next() {
  if (run_.o_.rate > 0) {
    send_at(run_.slot_time(index_, slot_++));
  } else {
    send_at(Clock::now());
  }
}

void Connection::send_at(Clock::time_point due) {
  auto self = shared_from_this();
  auto go = [self, due] {
    auto next = self->run_.next_request();
    if (!next) {
      boost::system::error_code ignored;
      self->socket_.close(ignored);
      return;
    }
    self->seq_ = next->first;
    self->out_ = std::move(next->second);
    self->due_ = due;
    self->write();
  };
  if (due > Clock::now()) {
    timer_.expires_at(due);
    timer_.async_wait([go](boost::system::error_code ec) {
      if (!ec) go();
    });
  } else {
    go();
  }
}

void Connection::write() {
  auto self = shared_from_this();
  asio::async_write(socket_, asio::buffer(out_), [self](boost::system::error_code ec, size_t) {
    if (ec) return self->fail(ec);
    self->read();
  });
}

void Connection::read() {
  auto self = shared_from_this();
  socket_.async_read_some(asio::buffer(chunk_), [self](boost::system::error_code ec, size_t n) {
    if (ec) return self->fail(ec);
    self->in_.append(self->chunk_, n);
    if (self->in_.size() > kMaxResponseBytes) {
      return self->fail(asio::error::message_size);
    }
    if (!self->parse_response()) return self->read();
    self->send_next();
  });
}

// True when a complete response was consumed and recorded.
bool Connection::parse_response() {
  size_t head_end = in_.find("\r\n\r\n");
  if (head_end == std::string::npos) return false;
  size_t content_length = 0;
  size_t pos = 0;
  while (true) {
    size_t line = in_.find("\r\n", pos);
    if (line == std::string::npos || line > head_end) break;
    if (line - pos > 15 && strncasecmp(in_.data() + pos, "content-length:", 15) == 0) {
      content_length = std::strtoull(in_.c_str() + pos + 15, nullptr, 10);
    }
    pos = line + 2;
  }
  if (in_.size() < head_end + 4 + content_length) return false;
  int status = in_.size() > 12 ? std::atoi(in_.c_str() + 9) : 0;
  auto now = Clock::now();
  Stats& s = run_.stats_[static_cast<size_t>(index_)];
  ++s.completed;
  ++s.statuses[status];
  std::string_view body(in_.data() + head_end + 4, content_length);
  if (status >= 200 && status < 300) {
    run_.workload_.on_success(seq_, body);
  } else {
    ++s.non2xx;
    if (s.first_non2xx.empty())
      s.first_non2xx = std::to_string(status) + " " + std::string(body.substr(0, 200));
  }
  if (due_ >= run_.window_start_ && now <= run_.deadline_) {
    ++s.completed_in_window;
    s.latencies_us.push_back(static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(now - due_).count()));
  }
  in_.erase(0, head_end + 4 + content_length);
  return true;
}

void Connection::fail(const boost::system::error_code& ec) {
  Stats& s = run_.stats_[static_cast<size_t>(index_)];
  ++s.errors;
  if (s.errors <= 3)
    std::fprintf(stderr, "load: connection %d: %s\n", index_, ec.message().c_str());
  boost::system::error_code ignored;
  socket_.close(ignored);
  in_.clear();
  // Reconnect and go on, unless the run is over or this connection keeps failing.
  if (Clock::now() < run_.deadline_ && s.errors < 100) {
    socket_ = tcp::socket(socket_.get_executor());
    start(endpoints_);
  }
}

double percentile_ms(std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  i = std::min(sorted.size() - 1, i == 0 ? 0 : i - 1);
  return sorted[i] / 1000.0;
}

void report(const Options& o, const std::string& mode, Stats s, double seconds) {
  std::sort(s.latencies_us.begin(), s.latencies_us.end());
  double rps = static_cast<double>(s.completed_in_window) / seconds;
  double p50 = percentile_ms(s.latencies_us, 0.50), p90 = percentile_ms(s.latencies_us, 0.90),
         p99 = percentile_ms(s.latencies_us, 0.99);
  double max = s.latencies_us.empty() ? 0 : s.latencies_us.back() / 1000.0;
  std::printf("%s: %llu requests in %.2f s = %.0f req/s (%d connections, %s)\n", mode.c_str(),
              static_cast<unsigned long long>(s.completed_in_window), seconds, rps, o.connections,
              o.rate > 0
                  ? ("open loop at " + std::to_string(static_cast<int64_t>(o.rate)) + "/s").c_str()
                  : "closed loop");
  std::printf("  latency ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n", p50, p90, p99, max);
  std::printf("  non-2xx: %llu  errors: %llu  statuses:", static_cast<unsigned long long>(s.non2xx),
              static_cast<unsigned long long>(s.errors));
  for (auto [k, v] : s.statuses) std::printf(" %d=%llu", k, static_cast<unsigned long long>(v));
  std::printf("\n");
  if (!s.first_non2xx.empty()) std::printf("  first non-2xx: %s\n", s.first_non2xx.c_str());
  std::printf(
      "RESULT {\"mode\":\"%s\",\"requests\":%llu,\"seconds\":%.3f,\"rps\":%.1f,\"p50_ms\":%.3f,"
      "\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"non2xx\":%llu,\"errors\":%llu,"
      "\"connections\":%d,\"rate\":%.0f}\n",
      mode.c_str(), static_cast<unsigned long long>(s.completed_in_window), seconds, rps, p50, p90,
      p99, max, static_cast<unsigned long long>(s.non2xx),
      static_cast<unsigned long long>(s.errors), o.connections, o.rate);
  std::fflush(stdout);
}

// The non-empty lines of a file (member ids, coupon codes); exits when none.
std::vector<std::string> read_lines(const std::string& path, const char* option, const char* what) {
  std::ifstream in(path);
  if (!in) usage(std::string("cannot read ") + option + " " + path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  if (lines.empty()) usage(std::string("no ") + what + " in " + path);
  return lines;
}
std::vector<std::string> read_members(const std::string& path) {
  return read_lines(path, "--members-file", "member ids");
}

// Enrolls the external ids; returns their member ids (aborts on failures).
std::vector<std::string> enroll(const Options& o, std::vector<std::string> external_ids) {
  std::vector<std::string> codes;
  if (!o.referral_codes_file.empty()) {
    codes = read_lines(o.referral_codes_file, "--referral-codes-file", "referral codes");
  }
  EnrollWorkload w(o, std::move(external_ids), std::move(codes));
  Run run(o, w, /*finite=*/true);
  Stats s = run.execute();
  report(o, "enroll", s, run.window_seconds());
  for (const auto& id : w.ids) {
    if (id.empty()) usage("some enrollments failed; see the non-2xx above");
  }
  return w.ids;
}

int run_cdnow(const Options& o) {
  std::ifstream in(o.cdnow_file);
  if (!in) usage("cannot read --cdnow " + o.cdnow_file);
  // customer_id, date YYYYMMDD, number_of_cds, dollar_value (a header line first).
  std::vector<std::pair<std::string, int64_t>> orders;  // customer, points
  std::map<std::string, size_t> customer_index;
  std::vector<std::string> customers;
  std::string line;
  int64_t zero_value = 0;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::string customer, date, cds, dollars;
    if (!(ss >> customer >> date >> cds >> dollars)) continue;
    if (customer == "customer_id") continue;
    auto points = static_cast<int64_t>(std::floor(std::stod(dollars)));
    if (!customer_index.count(customer)) {
      customer_index[customer] = customers.size();
      customers.push_back(customer);
    }
    if (points <= 0) {
      ++zero_value;  // a credit must be positive: orders under $1 earn nothing
      continue;
    }
    orders.emplace_back(customer, points);
  }
  std::printf("cdnow: %zu customers, %zu orders with points >= 1 (%lld orders under $1 skipped)\n",
              customers.size(), orders.size(), static_cast<long long>(zero_value));
  std::vector<std::string> external;
  std::string tag = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  for (const auto& c : customers) external.push_back("cdnow-" + tag + "-" + c);
  auto ids = enroll(o, external);
  std::vector<std::pair<std::string, int64_t>> credits;
  int64_t total_points = 0;
  for (const auto& [customer, points] : orders) {
    credits.emplace_back(ids[customer_index[customer]], points);
    total_points += points;
  }
  ListCreditsWorkload w(o, std::move(credits));
  Run run(o, w, /*finite=*/true);
  Stats s = run.execute();
  report(o, "cdnow-credits", s, run.window_seconds());
  std::printf("cdnow: %lld points credited in total\n", static_cast<long long>(total_points));
  return s.non2xx == 0 && s.errors == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse_options(argc, argv);
  if (o.mode == "cdnow") {
    if (o.cdnow_file.empty()) usage("--mode cdnow needs --cdnow FILE");
    return run_cdnow(o);
  }
  if (o.mode == "enroll") {
    if (o.count <= 0 || o.members_file.empty())
      usage("--mode enroll needs --count and --members-file");
    std::vector<std::string> external;
    for (int64_t i = 0; i < o.count; ++i) external.push_back(o.prefix + std::to_string(i));
    auto ids = enroll(o, external);
    std::ofstream out(o.members_file);
    for (const auto& id : ids) out << id << "\n";
    return 0;
  }
  if (o.mode == "fund") {
    FundWorkload w(o, read_members(o.members_file));
    Run run(o, w, /*finite=*/true);
    Stats s = run.execute();
    report(o, "fund", s, run.window_seconds());
    return s.non2xx == 0 && s.errors == 0 ? 0 : 1;
  }
  if (o.mode == "redeem") {
    if (o.reward.empty()) usage("--mode redeem needs --reward");
    RedeemWorkload w(o, read_members(o.members_file));
    Run run(o, w, /*finite=*/false);
    Stats s = run.execute();
    report(o, "redeem", s, run.window_seconds());
    if (!o.codes_file.empty()) {
      std::ofstream out(o.codes_file);
      for (const auto& c : w.codes) out << c << "\n";
    }
    return s.errors == 0 ? 0 : 1;
  }
  std::unique_ptr<Workload> w;
  if (o.mode == "validate") {
    if (o.codes_file.empty()) usage("--mode validate needs --codes-file");
    w = std::make_unique<ValidateWorkload>(
        o, read_lines(o.codes_file, "--codes-file", "coupon codes"));
  } else if (o.mode == "credits") {
    w = std::make_unique<CreditsWorkload>(o, read_members(o.members_file));
  } else if (o.mode == "balance") {
    w = std::make_unique<BalanceWorkload>(o, read_members(o.members_file));
  } else if (o.mode == "orders") {
    w = std::make_unique<OrdersWorkload>(o, read_members(o.members_file));
  } else if (o.mode == "healthz") {
    w = std::make_unique<HealthzWorkload>(o);
  } else {
    usage("unknown --mode " + o.mode);
  }
  Run run(o, *w, /*finite=*/o.first_orders);
  Stats s = run.execute();
  report(o, o.mode, s, run.window_seconds());
  return s.errors == 0 ? 0 : 1;
}
