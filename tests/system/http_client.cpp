#include "system/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <simdjson.h>

namespace loyalty::system_test {
namespace {

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

std::string HttpResponse::header(std::string_view lowercase_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lowercase_name) return value;
  }
  return "";
}

HttpConnection::HttpConnection(std::string host, uint16_t port, int timeout_ms)
    : host_(std::move(host)), port_(port), timeout_ms_(timeout_ms) {}

HttpConnection::~HttpConnection() { close(); }

void HttpConnection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

bool HttpConnection::connect_socket() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    last_error_ = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{timeout_ms_ / 1000, (timeout_ms_ % 1000) * 1000};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  if (::inet_pton(AF_INET, host_.c_str(), &addr.sin_addr) != 1) {
    last_error_ = "not an IPv4 address: " + host_;
    close();
    return false;
  }
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    last_error_ = std::string("connect: ") + std::strerror(errno);
    close();
    return false;
  }
  return true;
}

bool HttpConnection::read_more() {
  char chunk[16384];
  ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
  if (n > 0) {
    buffer_.append(chunk, static_cast<size_t>(n));
    if (buffer_.size() > kMaxResponseBytes) {
      last_error_ = "response larger than the client's limit";
      return false;
    }
    return true;
  }
  if (n == 0) {
    last_error_ = "connection closed by the server before a complete response";
  } else {
    last_error_ = std::string("recv: ") + std::strerror(errno);
  }
  return false;
}

std::optional<HttpResponse> HttpConnection::read_response() {
  size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!read_more()) return std::nullopt;
  }
  HttpResponse response;
  std::string_view head(buffer_.data(), header_end);
  size_t line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  // "HTTP/1.1 201 Created"
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12) {
    last_error_ = "malformed status line: " + std::string(status_line);
    return std::nullopt;
  }
  response.status = std::atoi(std::string(status_line.substr(9, 3)).c_str());
  bool chunked = false;
  std::optional<size_t> content_length;
  bool close_after = false;
  size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string_view::npos) end = head.size();
    std::string_view line = head.substr(pos, end - pos);
    pos = end + 2;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name = lowercase(trim(line.substr(0, colon)));
    std::string value(trim(line.substr(colon + 1)));
    if (name == "content-length") content_length = std::strtoull(value.c_str(), nullptr, 10);
    if (name == "transfer-encoding" && lowercase(value).find("chunked") != std::string::npos) {
      chunked = true;
    }
    if (name == "connection" && lowercase(value) == "close") close_after = true;
    response.headers.emplace_back(std::move(name), std::move(value));
  }
  buffer_.erase(0, header_end + 4);
  if (chunked) {
    while (true) {
      size_t size_end;
      while ((size_end = buffer_.find("\r\n")) == std::string::npos) {
        if (!read_more()) return std::nullopt;
      }
      size_t size = std::strtoull(buffer_.substr(0, size_end).c_str(), nullptr, 16);
      while (buffer_.size() < size_end + 2 + size + 2) {
        if (!read_more()) return std::nullopt;
      }
      response.body.append(buffer_, size_end + 2, size);
      buffer_.erase(0, size_end + 2 + size + 2);
      if (size == 0) break;  // no trailers are sent by our server
    }
  } else if (content_length) {
    while (buffer_.size() < *content_length) {
      if (!read_more()) return std::nullopt;
    }
    response.body = buffer_.substr(0, *content_length);
    buffer_.erase(0, *content_length);
  } else if (response.status != 204 && response.status != 304) {
    // Body until the server closes the connection.
    while (read_more()) {
    }
    response.body = std::move(buffer_);
    buffer_.clear();
    close_after = true;
  }
  if (close_after) close();
  return response;
}

std::optional<HttpResponse> HttpConnection::request(std::string_view method,
                                                    std::string_view target, std::string_view body,
                                                    const HttpHeaders& headers) {
  last_error_.clear();
  if (fd_ < 0 && !connect_socket()) return std::nullopt;
  std::string out;
  out.reserve(256 + body.size());
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ");
  out.append(host_).append(":").append(std::to_string(port_)).append("\r\n");
  for (const auto& [name, value] : headers)
    out.append(name).append(": ").append(value).append("\r\n");
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    out.append("Content-Type: application/json\r\nContent-Length: ");
    out.append(std::to_string(body.size())).append("\r\n");
  }
  out.append("\r\n").append(body);
  size_t sent = 0;
  while (sent < out.size()) {
    ssize_t n = ::send(fd_, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      last_error_ = std::string("send: ") + std::strerror(errno);
      close();
      return std::nullopt;
    }
    sent += static_cast<size_t>(n);
  }
  auto response = read_response();
  if (!response) close();
  return response;
}

std::optional<std::string> json_string_field(std::string_view json, std::string_view field) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json.data(), json.size()).get(doc)) return std::nullopt;
  std::string_view value;
  if (doc[field].get(value)) return std::nullopt;
  return std::string(value);
}

std::optional<int64_t> json_int_field(std::string_view json, std::string_view field) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json.data(), json.size()).get(doc)) return std::nullopt;
  int64_t value;
  if (doc[field].get(value)) return std::nullopt;
  return value;
}

}  // namespace loyalty::system_test
