// What a request handler sees and how it answers.
//
// The server parses, routes and authenticates a request, then calls the
// route's Handler with a RequestContext and a Responder. A handler answers
// exactly once through the Responder, either at once (reads, which run on the
// I/O thread) or later from another thread (writes, answered when the engine
// completes the command). The RequestContext and the strings it points into
// stay valid until the handler has answered.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "common/time.h"
#include "http/query_params.h"
#include "store/store.h"

namespace loyalty::engine {
class Engine;
}

namespace loyalty::http {

class ApiKeyCache;
class Metrics;

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Where a handler's answer goes. send() and post() are thread-safe: both hand
// their work to the connection's executor.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  // Sends the response; call exactly once per request.
  virtual void send(Response response) = 0;
  // Runs fn on the connection's executor (an I/O thread), e.g. to encode an
  // engine outcome there rather than on the engine's writer thread.
  virtual void post(std::function<void()> fn) = 0;
};
using Responder = std::shared_ptr<ResponseSink>;

// The I/O thread's own read session, opened on first use (see Server).
class ReadSessionProvider {
 public:
  virtual ~ReadSessionProvider() = default;
  // The calling I/O thread's session; kUnavailable when the store cannot be opened.
  virtual Result<store::StoreSession*> current() = 0;
  // Closes the calling thread's session after it failed with kUnavailable, so
  // the next request opens a fresh one (a PostgreSQL server restarted).
  virtual void discard_current() = 0;
};

// Process-wide parts every handler may use, owned by the Server.
struct Services {
  engine::Engine* engine = nullptr;
  const Clock* clock = nullptr;
  ApiKeyCache* keys = nullptr;
  Metrics* metrics = nullptr;
  ReadSessionProvider* sessions = nullptr;
  // True once shutdown began (/readyz answers 503).
  std::function<bool()> draining;
};

struct RequestContext {
  std::string_view method;  // "GET", "POST", ...
  std::string_view path;    // without the query string
  std::string_view body;
  QueryParams query;
  // Path parameters in the order of the route pattern's {placeholders}.
  std::vector<std::string_view> params;
  std::optional<std::string_view> idempotency_key;  // validated by the server
  // The Content-Type of a BodyKind::kConfigDocument route's body (see router.h).
  std::string_view content_type;
  std::string_view request_id;
  // The authenticated API key (routes with AuthMode::kApiKey), else nullptr.
  const store::ApiKey* key = nullptr;
  Services* services = nullptr;

  std::string_view param(size_t index) const { return params.at(index); }
};

using Handler = void (*)(RequestContext& ctx, const Responder& respond);

}  // namespace loyalty::http
