// The routing table: method + path pattern -> handler, auth mode and scope.
//
// Patterns are literal segments and {placeholders} ("/v1/members/{id}/credits");
// a placeholder matches one non-empty segment. Routes are matched exactly (no
// trailing slash, no prefixes). The table is the single list of endpoints: the
// OpenAPI document is tested against it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/handler.h"

namespace loyalty::http {

enum class AuthMode {
  kNone,        // ops endpoints, documentation
  kApiKey,      // `Authorization: Bearer <api key>`, with `scope`
  kAdminToken,  // `Authorization: Bearer <instance admin token>`
};

// What a write route's request body is. kJson: application/json, up to
// ServerOptions::max_body_bytes. kConfigDocument: a program configuration
// document (application/json, application/yaml or text/yaml), up to
// kMaxConfigDocumentBytes (domain/program_config.h).
enum class BodyKind { kJson, kConfigDocument };

struct Route {
  std::string_view method;   // "GET", "POST", "PATCH", "DELETE"
  std::string_view pattern;  // "/v1/members/{id}"
  AuthMode auth = AuthMode::kApiKey;
  std::string_view scope;  // required for kApiKey routes
  Handler handler = nullptr;
  BodyKind body = BodyKind::kJson;
  bool is_write() const { return method != "GET"; }
};

class Router {
 public:
  // Asserts that every route has a handler, kApiKey routes a scope, and no
  // method+pattern appears twice.
  explicit Router(std::vector<Route> routes);

  struct Match {
    const Route* route = nullptr;          // set when method and path match
    std::vector<std::string_view> params;  // the placeholders' values, in order
    std::string allowed;                   // path matched only other methods: "GET, POST"
  };
  Match find(std::string_view method, std::string_view path) const;
  const std::vector<Route>& routes() const { return routes_; }
  // Index of a route in routes() (for per-route metrics).
  size_t index_of(const Route* route) const { return static_cast<size_t>(route - routes_.data()); }

 private:
  std::vector<Route> routes_;
  std::vector<std::vector<std::string_view>> segments_;  // per route
};

// Splits "/a/b/c" into {"a", "b", "c"}; "/" into {""}.
std::vector<std::string_view> split_path(std::string_view path);

}  // namespace loyalty::http
