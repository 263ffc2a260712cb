// A small synchronous HTTP/1.1 client for tests (Boost.Beast), with keep-alive.
//
// Header-only so API and system tests can share it. Not thread-safe: use one
// client per thread.
#pragma once

// g++ 12 with -fsanitize reports a false maybe-uninitialized inside Beast's
// response parser (boost::optional in content_length()); the code is Boost's.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <simdjson.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loyalty::testing {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  // The header's value, "" when absent (name in any case).
  std::string header(std::string_view name) const {
    std::string lower;
    for (char c : name)
      lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    auto it = headers.find(lower);
    return it == headers.end() ? std::string() : it->second;
  }
};

using Headers = std::vector<std::pair<std::string, std::string>>;

class HttpClient {
 public:
  HttpClient(std::string host, uint16_t port) : host_(std::move(host)), port_(port) {}
  ~HttpClient() { close(); }
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request; a body gets `Content-Type: application/json` unless
  // `headers` sets a Content-Type. Throws on network errors.
  HttpResponse request(std::string_view method, std::string_view target, std::string_view body = {},
                       const Headers& headers = {}) {
    namespace http = boost::beast::http;
    // A kept-alive connection may have been closed by the server while idle
    // (kReadTimeout); like any HTTP client, send once more on a new one when
    // the old one fails before a response arrived.
    const bool reused = stream_ != nullptr;
    connect_if_needed();
    http::request<http::string_body> req;
    req.method_string(boost::beast::string_view(method.data(), method.size()));
    req.target(boost::beast::string_view(target.data(), target.size()));
    req.version(11);
    req.set(http::field::host, host_);
    req.keep_alive(true);
    bool has_content_type = false;
    for (const auto& [name, value] : headers) {
      req.set(name, value);
      has_content_type = has_content_type || iequals(name, "content-type");
    }
    if (!body.empty() && !has_content_type) req.set(http::field::content_type, "application/json");
    req.body() = std::string(body);
    req.prepare_payload();
    HttpResponse out;
    try {
      out = exchange(req);
    } catch (const boost::system::system_error& e) {
      if (!reused || !closed_by_peer(e.code())) throw;
      close();
      connect_if_needed();
      out = exchange(req);
    }
    if (out.header("connection") == "close") close();
    return out;
  }

  HttpResponse get(std::string_view target, const Headers& headers = {}) {
    return request("GET", target, {}, headers);
  }
  HttpResponse post(std::string_view target, std::string_view body, const Headers& headers = {}) {
    return request("POST", target, body, headers);
  }
  HttpResponse patch(std::string_view target, std::string_view body, const Headers& headers = {}) {
    return request("PATCH", target, body, headers);
  }
  HttpResponse del(std::string_view target, const Headers& headers = {}) {
    return request("DELETE", target, {}, headers);
  }

  // Sends raw bytes and reads one response (malformed requests, oversized bodies).
  HttpResponse raw(std::string_view bytes) {
    send_raw(bytes);
    HttpResponse out = read_response();
    close();
    return out;
  }

  // Writes bytes as they are (part of a request, to hold it in flight).
  void send_raw(std::string_view bytes) {
    connect_if_needed();
    boost::asio::write(stream_->socket(), boost::asio::buffer(bytes.data(), bytes.size()));
  }

  // Reads one response on the current connection.
  HttpResponse read_response() {
    namespace http = boost::beast::http;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    http::read(*stream_, buffer_, parser);
    auto res = parser.release();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      std::string name(field.name_string().data(), field.name_string().size());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string(field.value().data(), field.value().size());
    }
    out.body = std::move(res.body());
    return out;
  }

  void close() {
    if (stream_) {
      boost::beast::error_code ignored;
      stream_->socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
      stream_->close();
      stream_.reset();
    }
    buffer_.clear();
  }

 private:
  static bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(a[i])) !=
          std::tolower(static_cast<unsigned char>(b[i]))) {
        return false;
      }
    }
    return true;
  }

  HttpResponse exchange(const boost::beast::http::request<boost::beast::http::string_body>& req) {
    stream_->expires_after(std::chrono::seconds(60));
    boost::beast::http::write(*stream_, req);
    return read_response();
  }

  static bool closed_by_peer(const boost::system::error_code& ec) {
    return ec == boost::beast::http::error::end_of_stream || ec == boost::asio::error::eof ||
           ec == boost::asio::error::connection_reset || ec == boost::asio::error::broken_pipe;
  }

  void connect_if_needed() {
    if (stream_) return;
    stream_ = std::make_unique<boost::beast::tcp_stream>(io_);
    boost::asio::ip::tcp::resolver resolver(io_);
    stream_->connect(resolver.resolve(host_, std::to_string(port_)));
  }

  std::string host_;
  uint16_t port_;
  boost::asio::io_context io_;
  std::unique_ptr<boost::beast::tcp_stream> stream_;
  boost::beast::flat_buffer buffer_;
};

// A parsed JSON document with JSON-pointer accessors that throw on mismatch.
class Json {
 public:
  explicit Json(std::string_view text) : text_(text) {
    auto error = parser_.parse(text_).get(root_);
    if (error) throw std::runtime_error("not JSON: " + std::string(text));
  }
  simdjson::dom::element at(std::string_view pointer) const {
    simdjson::dom::element e;
    if (root_.at_pointer(pointer).get(e)) {
      throw std::runtime_error("no " + std::string(pointer) + " in " + text_);
    }
    return e;
  }
  std::string str(std::string_view pointer) const {
    std::string_view s;
    if (at(pointer).get(s)) throw std::runtime_error(std::string(pointer) + " is not a string");
    return std::string(s);
  }
  int64_t num(std::string_view pointer) const {
    int64_t v = 0;
    if (at(pointer).get(v)) throw std::runtime_error(std::string(pointer) + " is not an integer");
    return v;
  }
  bool boolean(std::string_view pointer) const {
    bool v = false;
    if (at(pointer).get(v)) throw std::runtime_error(std::string(pointer) + " is not a boolean");
    return v;
  }
  bool is_null(std::string_view pointer) const { return at(pointer).is_null(); }
  bool has(std::string_view pointer) const {
    simdjson::dom::element e;
    return !root_.at_pointer(pointer).get(e);
  }
  size_t size(std::string_view pointer) const {
    simdjson::dom::array a;
    if (at(pointer).get(a)) throw std::runtime_error(std::string(pointer) + " is not an array");
    return a.size();
  }
  simdjson::dom::element root() const { return root_; }

 private:
  std::string text_;
  simdjson::dom::parser parser_;
  simdjson::dom::element root_;
};

}  // namespace loyalty::testing

#pragma GCC diagnostic pop
