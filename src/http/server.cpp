#include "http/server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <optional>
#include <unordered_map>

#include "api/routes.h"
#include "common/assert.h"
#include "common/crypto.h"
#include "domain/program_config.h"
#include "http/auth.h"
#include "http/handler.h"
#include "http/media_type.h"
#include "http/metrics.h"
#include "http/problem.h"
#include "http/router.h"

namespace loyalty::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// After a response that closes the connection, unread request bytes are read
// and dropped for at most this long (and this much), so the kernel does not
// answer them with a reset that could destroy the response in flight (413).
constexpr std::chrono::seconds kLingerTimeout{2};
constexpr size_t kMaxLingerBytes = 1 << 20;
constexpr size_t kMaxRequestIdLength = 64;
constexpr size_t kMaxIdempotencyKeyLength = 255;
constexpr std::string_view kUnmatchedRoute = "unmatched";
// How long shutdown() waits for the I/O threads to run out of work after
// closing every connection, before it stops them outright.
constexpr std::chrono::seconds kThreadExitTimeout{2};

class Connection;

// Beast 1.74 speaks boost::string_view.
std::string_view sv(beast::string_view s) { return std::string_view(s.data(), s.size()); }

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdLength) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool valid_idempotency_key(std::string_view key) {
  if (key.empty() || key.size() > kMaxIdempotencyKeyLength) return false;
  for (char c : key) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

}  // namespace

// Everything the connections, the accept loop and engine completions share.
// Owned by shared_ptr so that a completion arriving after the Server is gone
// still finds a live io_context to post to.
struct Server::Core final : ReadSessionProvider {
  Core(ServerOptions opts, engine::Engine& eng, const Clock& clk, std::string url)
      : options(std::move(opts)), engine(eng), clock(clk), db_url(std::move(url)) {
    services.engine = &engine;
    services.clock = &clock;
    services.keys = &keys;
    services.metrics = metrics.get();
    services.sessions = this;
    services.draining = [this] { return draining.load(); };
    request_id_prefix = random_base58(8);
  }

  Result<store::StoreSession*> current() override;
  void discard_current() override;

  void request_started() { in_flight.fetch_add(1); }
  void request_finished() {
    if (in_flight.fetch_sub(1) == 1) {
      std::lock_guard lock(idle_mu);
      idle_cv.notify_all();
    }
  }
  std::string next_request_id() {
    return request_id_prefix + "-" + std::to_string(request_counter.fetch_add(1) + 1);
  }

  ServerOptions options;
  engine::Engine& engine;
  const Clock& clock;
  std::string db_url;

  net::io_context io;
  tcp::acceptor acceptor{net::make_strand(io)};
  Router router = api::build_router();
  ApiKeyCache keys;
  std::shared_ptr<Metrics> metrics = std::make_shared<Metrics>();
  Services services;

  // Read sessions, one slot per I/O thread (thread index), opened lazily.
  std::vector<std::unique_ptr<store::StoreSession>> sessions;

  std::atomic<bool> draining{false};
  // Set once the I/O threads are gone: completions then drop their work
  // instead of posting it where nothing would ever run it.
  std::atomic<bool> stopped{false};
  // Held while checking `stopped` and handing work to the io_context, and
  // while setting `stopped`: after that, nothing new enters the queue, so the
  // shutdown can drain it (a handler left there would own a Connection, which
  // owns this Core: a cycle that never frees).
  std::mutex dispatch_mu;
  // Work handed over by other threads (engine completions), waiting for the one
  // posted handler that runs it (see ConnectionSink::post). Under dispatch_mu.
  std::vector<std::pair<std::shared_ptr<Connection>, std::function<void()>>> handovers;
  bool handover_pending = false;
  std::atomic<int64_t> in_flight{0};
  std::mutex idle_mu;
  std::condition_variable idle_cv;

  std::mutex connections_mu;
  std::unordered_map<Connection*, std::weak_ptr<Connection>> connections;

  std::string request_id_prefix;
  std::atomic<uint64_t> request_counter{0};

  std::atomic<int> running_threads{0};
  // Keeps io.run() going while requests wait on the engine: such a request has
  // no asio operation pending, so without the guard the I/O threads would
  // return as soon as a drain closes the acceptor, and the engine's answers
  // would be posted where nothing runs them. Reset once in-flight is zero.
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_guard;
};

namespace {

thread_local Server::Core* t_core = nullptr;
thread_local size_t t_slot = 0;

// One TCP connection: reads a request, answers it, and repeats while the
// client keeps the connection alive. Everything runs on the connection's strand.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket&& socket, std::shared_ptr<Server::Core> core)
      : core_(std::move(core)), stream_(std::move(socket)) {}

  ~Connection() {
    std::lock_guard lock(core_->connections_mu);
    core_->connections.erase(this);
  }

  void start() {
    {
      std::lock_guard lock(core_->connections_mu);
      core_->connections.emplace(this, weak_from_this());
    }
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Connection::read_request, shared_from_this()));
  }

  // Closes the socket from the connection's strand (shutdown).
  void close() {
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->stream_.close(); });
  }

  tcp::socket::executor_type executor() { return stream_.get_executor(); }
  // True when the calling thread runs this connection's strand.
  bool on_strand() {
    const auto* strand =
        stream_.get_executor().target<net::strand<net::io_context::executor_type>>();
    return strand != nullptr && strand->running_in_this_thread();
  }
  Server::Core& core() { return *core_; }
  const std::shared_ptr<Server::Core>& shared_core() { return core_; }

  // Sends the response of the current request. On the strand only.
  void send(Response response);

 private:
  void read_request() {
    parser_.emplace();
    // The largest body any route takes; on_header narrows it to the route's.
    parser_->body_limit(std::max<size_t>(core_->options.max_body_bytes, kMaxConfigDocumentBytes));
    body_limit_ = core_->options.max_body_bytes;
    parser_->header_limit(kMaxHeaderBytes);
    stream_.expires_after(kReadTimeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&Connection::on_header, shared_from_this()));
  }

  static bool is_parse_error(const beast::error_code& ec) {
    return ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category() &&
           ec != bhttp::error::end_of_stream;
  }

  void on_header(beast::error_code ec, size_t) {
    if (ec == bhttp::error::end_of_stream) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    if (ec && !is_parse_error(ec)) return;  // timeout, reset, closed by shutdown()
    // From here the request is in flight: a drain waits for its answer.
    begin_request();
    if (ec) return answer_unreadable(ec);
    // Configuration documents may be larger than other bodies.
    {
      std::string_view target = sv(parser_->get().target());
      Router::Match match = core_->router.find(method_, target.substr(0, target.find('?')));
      if (match.route != nullptr && match.route->body == BodyKind::kConfigDocument) {
        body_limit_ = kMaxConfigDocumentBytes;
      }
      auto length = parser_->content_length();
      if (length && *length > body_limit_) return answer_unreadable(bhttp::error::body_limit);
      parser_->body_limit(body_limit_);
    }
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Connection::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t) {
    if (ec && !is_parse_error(ec)) {
      // The client went away (or timed out) mid-body: nobody to answer.
      core_->request_finished();
      return;
    }
    if (ec) return answer_unreadable(ec);
    request_ = parser_->release();
    handle();
  }

  // The request could not be parsed: answer it, then close.
  void answer_unreadable(const beast::error_code& ec) {
    keep_alive_ = false;
    std::string_view target = sv(parser_->get().target());
    path_ = std::string(target.substr(0, target.find('?')));
    if (ec == bhttp::error::body_limit) {
      return send(problem_response(
          problem_type(HttpProblem::kPayloadTooLarge),
          "the request body exceeds " + std::to_string(body_limit_) + " bytes", path_));
    }
    if (ec == bhttp::error::header_limit) {
      Response r = problem_response(
          problem_type(HttpProblem::kBadRequest),
          "the request headers exceed " + std::to_string(kMaxHeaderBytes) + " bytes", path_);
      r.status = 431;
      return send(std::move(r));
    }
    send(problem_response(problem_type(HttpProblem::kBadRequest),
                          "malformed HTTP request: " + ec.message(), path_));
  }

  void begin_request() {
    core_->request_started();
    started_ = std::chrono::steady_clock::now();
    sent_ = false;
    route_label_ = kUnmatchedRoute;
    method_ = std::string(sv(parser_->get().method_string()));
    std::string_view incoming_id = sv(parser_->get()["X-Request-Id"]);
    request_id_ =
        valid_request_id(incoming_id) ? std::string(incoming_id) : core_->next_request_id();
    // Read after request_started() (both seq_cst): either this request sees
    // the drain, or the drain sees this request in flight and waits for it.
    arrived_while_draining_ = core_->draining.load();
    keep_alive_ = parser_->get().keep_alive() && !arrived_while_draining_;
  }

  void fail(const Status& status) {
    Response r = problem_response(status, path_);
    if (status.code() == ErrorCode::kUnauthenticated) {
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"loyaltyd\"");
    }
    send(std::move(r));
  }

  void handle() {
    std::string_view target = sv(request_.target());
    size_t question = target.find('?');
    path_ = std::string(target.substr(0, question));
    std::string_view query =
        question == std::string_view::npos ? std::string_view() : target.substr(question + 1);

    Router::Match match = core_->router.find(method_, path_);
    if (match.route == nullptr) {
      if (!match.allowed.empty()) {
        Response r = problem_response(problem_type(HttpProblem::kMethodNotAllowed),
                                      method_ + " is not allowed here", path_);
        r.headers.emplace_back("Allow", match.allowed);
        return send(std::move(r));
      }
      return fail(Status(ErrorCode::kNotFound, "no route for " + path_));
    }
    const Route& route = *match.route;
    route_label_ = route.pattern;
    // A drain waits for the requests counted in flight when it began (their
    // bodies may still be arriving); one whose headers arrived after it began
    // is refused unexecuted, so the drain's close of the connection can never
    // drop the answer of an applied write.
    if (arrived_while_draining_ && route.auth != AuthMode::kNone) {
      keep_alive_ = false;
      Response r =
          problem_response(Status(ErrorCode::kUnavailable, "the server is shutting down"), path_);
      r.headers.emplace_back("Retry-After", "1");
      return send(std::move(r));
    }

    auto params = QueryParams::parse(query);
    if (!params.ok()) return fail(params.status());

    ctx_ = RequestContext{};
    ctx_.method = method_;
    ctx_.path = path_;
    ctx_.body = request_.body();
    ctx_.query = std::move(params).value();
    ctx_.params = std::move(match.params);
    ctx_.request_id = request_id_;
    ctx_.services = &core_->services;

    std::string_view authorization = sv(request_[bhttp::field::authorization]);
    if (route.auth == AuthMode::kApiKey) {
      auto session = core_->current();
      if (!session.ok()) return fail(session.status());
      auto key = authenticate_api_key(authorization, core_->keys, **session, &token_memo_);
      if (!key.ok()) {
        if (key.status().code() == ErrorCode::kUnavailable) core_->discard_current();
        return fail(key.status());
      }
      key_ = std::move(key).value();
      if (!has_scope(key_, route.scope)) {
        return fail(Status(ErrorCode::kForbidden,
                           "the API key lacks the scope '" + std::string(route.scope) + "'"));
      }
      ctx_.key = &key_;
    } else if (route.auth == AuthMode::kAdminToken) {
      if (core_->options.admin_token.empty()) {
        return fail(Status(ErrorCode::kForbidden,
                           "program creation over HTTP is disabled: start loyaltyd serve with "
                           "the environment variable LOYALTYD_ADMIN_TOKEN set to an instance "
                           "admin token and send it as a Bearer token, or create programs with "
                           "`loyaltyd program create`"));
      }
      auto token = bearer_token(authorization);
      if (!token || !constant_time_equal(*token, core_->options.admin_token)) {
        return fail(Status(ErrorCode::kUnauthenticated,
                           "this operation needs 'Authorization: Bearer <instance admin token>'"));
      }
    }

    if (route.is_write()) {
      std::string_view content_type = sv(request_[bhttp::field::content_type]);
      if (route.body == BodyKind::kConfigDocument) {
        if (!is_config_media_type(content_type)) {
          return send(problem_response(problem_type(HttpProblem::kUnsupportedMediaType),
                                       "send the configuration document with Content-Type: "
                                       "application/yaml, text/yaml or application/json",
                                       path_));
        }
        ctx_.content_type = content_type;
      } else if (!request_.body().empty() && !is_json_media_type(content_type)) {
        return send(problem_response(problem_type(HttpProblem::kUnsupportedMediaType),
                                     "send the body with Content-Type: application/json", path_));
      }
      auto it = request_.find("Idempotency-Key");
      if (it != request_.end()) {
        std::string_view key = sv(it->value());
        if (!valid_idempotency_key(key)) {
          return fail(Status(ErrorCode::kInvalidRequest,
                             "Idempotency-Key: must be 1 to 255 printable ASCII characters"));
        }
        ctx_.idempotency_key = key;
      }
    }

    try {
      route.handler(ctx_, make_responder());
    } catch (const std::exception& e) {
      spdlog::error("request_id={} route={} handler threw: {}", request_id_, route_label_,
                    e.what());
      if (!sent_) fail(Status(ErrorCode::kInternal, e.what()));
    }
  }

  Responder make_responder();

  void on_write(bool close, beast::error_code ec, size_t) {
    core_->request_finished();
    if (ec) return;
    if (close) return linger_close();
    read_request();
  }

  // Half-closes, then drains what the client still sends until it closes too.
  void linger_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLingerTimeout);
    drain();
  }

  void drain() {
    stream_.async_read_some(net::buffer(discard_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->lingered_bytes_ += n;
                              if (ec || self->lingered_bytes_ > kMaxLingerBytes)
                                return self->stream_.close();
                              self->drain();
                            });
  }

  // Declared first so it is destroyed last: the stream's destructor uses the
  // io_context that Core owns, and a Connection may be the last owner of Core
  // (an engine completion can outlive the Server object).
  std::shared_ptr<Server::Core> core_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::request<bhttp::string_body> request_;

  // The request being served.
  RequestContext ctx_;
  store::ApiKey key_;
  TokenHashMemo token_memo_;
  std::string method_;
  std::string path_;
  std::string_view route_label_;  // a route's pattern or kUnmatchedRoute: static strings
  std::string request_id_;
  size_t body_limit_ = 0;  // of the request being read (see on_header)
  std::chrono::steady_clock::time_point started_;
  bool keep_alive_ = true;
  bool sent_ = false;
  bool arrived_while_draining_ = false;

  std::array<char, 4096> discard_{};
  size_t lingered_bytes_ = 0;
};

class ConnectionSink final : public ResponseSink {
 public:
  explicit ConnectionSink(std::shared_ptr<Connection> connection)
      : connection_(std::move(connection)) {}

  void send(Response response) override {
    // On the connection's strand already (reads, and writes answered from a
    // post()): dispatch would run it inline, so the shared dispatch lock, which
    // only orders hand-overs from other threads with the shutdown, is not needed.
    if (connection_->on_strand()) {
      if (connection_->core().stopped.load()) return;
      connection_->send(std::move(response));
      return;
    }
    std::lock_guard lock(connection_->core().dispatch_mu);
    if (connection_->core().stopped.load()) return;
    net::dispatch(connection_->executor(),
                  [c = connection_, r = std::move(response)]() mutable { c->send(std::move(r)); });
  }

  // Called by the engine's writer for every command of a batch, one after the
  // other: the work is queued on the Core and one handler per burst (not one
  // per command) is posted to the io_context, which hands each item to its
  // connection's strand. The writer thus pays a mutex and a vector push per
  // command instead of a strand and scheduler hand-over that wakes an I/O
  // thread (a futex or eventfd write) every time.
  void post(std::function<void()> fn) override {
    Server::Core& core = connection_->core();
    std::lock_guard lock(core.dispatch_mu);
    if (core.stopped.load()) return;
    core.handovers.emplace_back(connection_, std::move(fn));
    if (core.handover_pending) return;
    core.handover_pending = true;
    net::post(core.io, [c = connection_->shared_core()] { run_handovers(*c); });
  }

  // On an I/O thread: takes every queued item and runs each on its connection's
  // strand (inline when that strand is free).
  static void run_handovers(Server::Core& core) {
    std::vector<std::pair<std::shared_ptr<Connection>, std::function<void()>>> items;
    {
      std::lock_guard lock(core.dispatch_mu);
      items.swap(core.handovers);
      core.handover_pending = false;
    }
    for (auto& [connection, fn] : items) {
      // One item that throws must not cost the others their answers (as
      // separate handlers, each one's exception ended only itself).
      try {
        net::dispatch(connection->executor(), std::move(fn));
      } catch (const std::exception& e) {
        spdlog::error("http I/O thread: unhandled exception in an engine answer: {}", e.what());
      }
    }
  }

 private:
  std::shared_ptr<Connection> connection_;
};

Responder Connection::make_responder() {
  return std::make_shared<ConnectionSink>(shared_from_this());
}

void Connection::send(Response r) {
  if (sent_) {
    spdlog::error("request_id={} route={} answered twice; second answer dropped", request_id_,
                  route_label_);
    return;
  }
  sent_ = true;
  // A drain that began while this request ran closes the connection after it.
  keep_alive_ = keep_alive_ && !core_->draining.load();

  auto response = std::make_shared<bhttp::response<bhttp::string_body>>();
  response->version(11);
  response->result(static_cast<unsigned>(r.status));
  response->set(bhttp::field::server, "loyaltyd");
  response->set(bhttp::field::content_type, r.content_type);
  response->set("X-Request-Id", request_id_);
  for (auto& [name, value] : r.headers) response->set(name, value);
  response->keep_alive(keep_alive_);
  response->body() = std::move(r.body);
  response->prepare_payload();

  int64_t duration_us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - started_)
                            .count();
  core_->metrics->observe_request(method_, route_label_, r.status, duration_us);
  // Never the Authorization header, keys or bodies: method, route pattern
  // (ids are not in it), status, time and the request id. The access log is
  // at debug level (LOYALTYD_LOG_LEVEL=debug): at info it was one synchronous
  // line per request on stderr, a write(2) under the sink's mutex shared by the
  // I/O threads plus ~3,500 instructions of formatting (docs/performance.md,
  // "Hot-path work"); /metrics counts every request by route and status anyway.
  // Server errors stay at info.
  spdlog::log(r.status >= 500 ? spdlog::level::info : spdlog::level::debug,
              "http method={} route={} status={} duration_us={} request_id={}", method_,
              route_label_, r.status, duration_us, request_id_);

  stream_.expires_after(kWriteTimeout);
  bool close = !keep_alive_;
  bhttp::async_write(stream_, *response,
                     [self = shared_from_this(), response, close](beast::error_code ec, size_t n) {
                       self->on_write(close, ec, n);
                     });
}

void accept_next(const std::shared_ptr<Server::Core>& core) {
  core->acceptor.async_accept(
      net::make_strand(core->io), [core](beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !core->acceptor.is_open()) return;
        if (ec) {
          spdlog::warn("http accept failed: {}", ec.message());
        } else {
          bool full;
          {
            std::lock_guard lock(core->connections_mu);
            full = core->connections.size() >= kMaxConnections;
          }
          if (full) {
            spdlog::warn("http connection refused: {} connections open", kMaxConnections);
            beast::error_code ignored;
            socket.close(ignored);
          } else {
            beast::error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
            std::make_shared<Connection>(std::move(socket), core)->start();
          }
        }
        accept_next(core);
      });
}

}  // namespace

Result<store::StoreSession*> Server::Core::current() {
  if (t_core != this) {
    return Status(ErrorCode::kInternal, "a read session was requested off the I/O threads");
  }
  std::unique_ptr<store::StoreSession>& session = sessions[t_slot];
  if (!session) {
    auto opened = store::open_session(db_url);
    if (!opened.ok()) {
      return Status(ErrorCode::kUnavailable,
                    "the store cannot be opened: " + opened.status().message());
    }
    session = std::move(opened).value();
  }
  return session.get();
}

void Server::Core::discard_current() {
  if (t_core == this) sessions[t_slot].reset();
}

Server::Server(std::shared_ptr<Core> core) : core_(std::move(core)) {}

Result<std::unique_ptr<Server>> Server::start(ServerOptions options, engine::Engine& engine,
                                              const Clock& clock, std::string db_url) {
  if (options.io_threads < 1 || options.io_threads > kMaxIoThreads) {
    return Status(ErrorCode::kInvalidRequest,
                  "io_threads must be between 1 and " + std::to_string(kMaxIoThreads));
  }
  if (options.max_body_bytes == 0) {
    return Status(ErrorCode::kInvalidRequest, "max_body_bytes must be positive");
  }
  auto core = std::make_shared<Core>(std::move(options), engine, clock, std::move(db_url));
  const ServerOptions& opts = core->options;

  beast::error_code ec;
  tcp::endpoint endpoint;
  auto address = net::ip::make_address(opts.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, opts.port);
  } else {
    tcp::resolver resolver(core->io);
    auto results = resolver.resolve(opts.host, std::to_string(opts.port), ec);
    if (ec || results.empty()) {
      return Status(ErrorCode::kUnavailable, "cannot resolve host '" + opts.host + "'");
    }
    endpoint = results.begin()->endpoint();
  }
  auto listen_error = [&](std::string_view step) {
    return Status(ErrorCode::kUnavailable, fmt::format("cannot listen on {}:{} ({}): {}", opts.host,
                                                       opts.port, step, ec.message()));
  };
  core->acceptor.open(endpoint.protocol(), ec);
  if (ec) return listen_error("open");
  core->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return listen_error("reuse_address");
  core->acceptor.bind(endpoint, ec);
  if (ec) return listen_error("bind");
  core->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return listen_error("listen");

  core->sessions.resize(static_cast<size_t>(opts.io_threads));
  // The observer holds the metrics, not the server: the engine may outlive us.
  engine.set_batch_observer([metrics = core->metrics](size_t commands, int64_t commit_us) {
    metrics->observe_batch(commands, commit_us);
  });

  std::unique_ptr<Server> server(new Server(core));
  server->port_ = core->acceptor.local_endpoint().port();
  accept_next(core);
  core->work_guard.emplace(net::make_work_guard(core->io));
  for (int i = 0; i < opts.io_threads; ++i) {
    core->running_threads.fetch_add(1);
    server->threads_.emplace_back([core, slot = static_cast<size_t>(i)] {
      t_core = core.get();
      t_slot = slot;
      for (;;) {
        try {
          core->io.run();
          break;
        } catch (const std::exception& e) {
          // A handler that throws must not take the thread (and its
          // connections' progress) with it.
          spdlog::error("http I/O thread: unhandled exception: {}", e.what());
        }
      }
      t_core = nullptr;
      {
        std::lock_guard lock(core->idle_mu);
        core->running_threads.fetch_sub(1);
      }
      core->idle_cv.notify_all();
    });
  }
  spdlog::info("http listening on {}:{} with {} I/O threads", opts.host, server->port_,
               opts.io_threads);
  return server;
}

void Server::shutdown(std::chrono::milliseconds grace) {
  std::lock_guard guard(shutdown_mu_);
  if (stopped_) return;
  stopped_ = true;
  Core& core = *core_;
  core.draining.store(true);
  net::post(core.acceptor.get_executor(), [c = core_] {
    beast::error_code ignored;
    c->acceptor.close(ignored);
  });

  {
    std::unique_lock lock(core.idle_mu);
    bool drained = core.idle_cv.wait_for(lock, grace, [&] { return core.in_flight.load() <= 0; });
    if (!drained) {
      spdlog::warn("http shutdown: {} requests still in flight after {} ms", core.in_flight.load(),
                   grace.count());
    }
  }

  core.work_guard.reset();
  // Close every connection (idle keep-alive ones wait in a read); the I/O
  // threads then run out of work and return.
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard lock(core.connections_mu);
    for (auto& [ptr, weak] : core.connections) {
      if (auto c = weak.lock()) open.push_back(std::move(c));
    }
  }
  for (auto& c : open) c->close();
  open.clear();
  {
    std::unique_lock lock(core.idle_mu);
    if (!core.idle_cv.wait_for(lock, kThreadExitTimeout,
                               [&] { return core.running_threads.load() == 0; })) {
      core.io.stop();
    }
  }
  for (auto& t : threads_) t.join();
  threads_.clear();
  {
    std::lock_guard lock(core.dispatch_mu);
    core.stopped.store(true);
  }
  // Run what is still queued (aborted reads and writes of closed connections,
  // answers that arrived after the threads left) so that it releases its
  // connections now.
  core.io.restart();
  while (core.io.poll() > 0) {
  }
  core.sessions.clear();
  spdlog::info("http server stopped");
}

Server::~Server() { shutdown(kDestructorGrace); }

}  // namespace loyalty::http
