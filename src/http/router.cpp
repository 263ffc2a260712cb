#include "http/router.h"

#include "common/assert.h"

namespace loyalty::http {

namespace {

bool is_placeholder(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// The literal action after a placeholder ("{id}:capture" -> ":capture"), or ""
// when the segment is not a placeholder with an action suffix.
std::string_view action_suffix(std::string_view segment) {
  if (segment.size() < 4 || segment.front() != '{') return {};
  size_t close = segment.find('}');
  if (close == std::string_view::npos || close + 1 >= segment.size()) return {};
  return segment.substr(close + 1);
}

}  // namespace

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

Router::Router(std::vector<Route> routes) : routes_(std::move(routes)) {
  for (size_t i = 0; i < routes_.size(); ++i) {
    const Route& r = routes_[i];
    LOYALTY_ASSERT(r.handler != nullptr);
    LOYALTY_ASSERT(r.auth != AuthMode::kApiKey || !r.scope.empty());
    for (size_t j = 0; j < i; ++j) {
      LOYALTY_ASSERT(!(routes_[j].method == r.method && routes_[j].pattern == r.pattern));
    }
    segments_.push_back(split_path(r.pattern));
  }
}

Router::Match Router::find(std::string_view method, std::string_view path) const {
  Match match;
  std::vector<std::string_view> segments = split_path(path);
  std::vector<std::string_view> params;
  for (size_t i = 0; i < routes_.size(); ++i) {
    const auto& pattern = segments_[i];
    if (pattern.size() != segments.size()) continue;
    params.clear();
    bool matches = true;
    for (size_t s = 0; s < pattern.size() && matches; ++s) {
      if (is_placeholder(pattern[s])) {
        matches = !segments[s].empty();
        params.push_back(segments[s]);
      } else if (std::string_view suffix = action_suffix(pattern[s]); !suffix.empty()) {
        matches = segments[s].size() > suffix.size() && segments[s].ends_with(suffix);
        params.push_back(segments[s].substr(0, segments[s].size() - suffix.size()));
      } else {
        matches = pattern[s] == segments[s];
      }
    }
    if (!matches) continue;
    if (routes_[i].method == method) {
      match.route = &routes_[i];
      match.params = params;
      match.allowed.clear();
      return match;
    }
    if (!match.allowed.empty()) match.allowed += ", ";
    match.allowed += routes_[i].method;
  }
  return match;
}

}  // namespace loyalty::http
