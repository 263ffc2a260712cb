// The HTTP/1.1 server (Boost.Beast on Asio).
//
// One io_context served by `io_threads` threads; each connection runs on its
// own strand and serves one request at a time with keep-alive. Reads (GET) run
// on the I/O thread against that thread's own read StoreSession; writes become
// engine commands whose completion is posted back to the connection, so no I/O
// thread ever waits for the engine.
//
// Limits: request bodies above max_body_bytes get 413; headers above
// kMaxHeaderBytes 431; a request must arrive within kReadTimeout and a response
// leave within kWriteTimeout; at most kMaxConnections are open at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "common/time.h"
#include "engine/engine.h"

namespace loyalty::http {

inline constexpr std::chrono::seconds kReadTimeout{30};
inline constexpr std::chrono::seconds kWriteTimeout{30};
inline constexpr uint32_t kMaxHeaderBytes = 16 * 1024;
inline constexpr size_t kMaxConnections = 10'000;
inline constexpr int kMaxIoThreads = 64;

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0 = an ephemeral port (tests); see Server::port()
  int io_threads = 2;
  size_t max_body_bytes = 65536;
  // The instance admin token for POST /v1/programs; empty = program creation
  // over HTTP is disabled (403).
  std::string admin_token;
};

class Server {
 public:
  // Binds, listens and starts the I/O threads. Read sessions are opened on
  // db_url lazily, one per I/O thread. `engine` and `clock` must outlive the
  // Server (or at least its shutdown()).
  static Result<std::unique_ptr<Server>> start(ServerOptions options, engine::Engine& engine,
                                               const Clock& clock, std::string db_url);
  ~Server();  // shutdown(kDestructorGrace) unless already shut down
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  uint16_t port() const { return port_; }

  // Stops accepting connections, answers /readyz with 503, lets requests in
  // flight (including those waiting on the engine) finish for up to `grace`,
  // then stops the I/O threads. Connections still open are closed. Idempotent.
  void shutdown(std::chrono::milliseconds grace);

  static constexpr std::chrono::milliseconds kDestructorGrace{5000};

  struct Core;  // shared with connections and engine completions

 private:
  explicit Server(std::shared_ptr<Core> core);
  std::shared_ptr<Core> core_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  std::mutex shutdown_mu_;
  bool stopped_ = false;
};

}  // namespace loyalty::http
