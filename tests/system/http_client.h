// A small blocking HTTP/1.1 client for the system tests: one keep-alive
// connection over POSIX sockets.
//
// The contract the crash tests depend on: a request is sent at most once. The
// client never retries; when a request gets no complete response (refused,
// reset, closed, timed out) request() returns nullopt and the connection is
// closed, so the caller knows the request is "unanswered" and may or may not
// have reached the server. The next request opens a new connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loyalty::system_test {

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased
  std::string body;

  // The first header of that (lowercase) name, or "".
  std::string header(std::string_view lowercase_name) const;
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

class HttpConnection {
 public:
  // Limits on what the client accepts: a response larger than this is a failure.
  static constexpr size_t kMaxResponseBytes = 16 * 1024 * 1024;

  HttpConnection(std::string host, uint16_t port, int timeout_ms = 10'000);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Sends one request and reads its response. `body` non-empty is sent as
  // application/json. nullopt when no complete response arrived.
  std::optional<HttpResponse> request(std::string_view method, std::string_view target,
                                      std::string_view body = {}, const HttpHeaders& headers = {});
  // Why the last request() returned nullopt (for failure messages).
  const std::string& last_error() const { return last_error_; }
  void close();

 private:
  bool connect_socket();
  bool read_more();
  std::optional<HttpResponse> read_response();

  std::string host_;
  uint16_t port_;
  int timeout_ms_;
  int fd_ = -1;
  std::string buffer_;  // bytes received and not yet consumed
  std::string last_error_;
};

// JSON helpers over simdjson; nullopt when the body is not a JSON object or
// the field is missing or of another type.
std::optional<std::string> json_string_field(std::string_view json, std::string_view field);
std::optional<int64_t> json_int_field(std::string_view json, std::string_view field);

}  // namespace loyalty::system_test
