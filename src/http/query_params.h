// The query string of a request, percent-decoded.
//
// Strict like the JSON decoders: a parameter a route does not know, or one
// given twice, is a 400, so a typo ("limt=10") never silently means "default".
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace loyalty::http {

inline constexpr size_t kMaxQueryParams = 32;

class QueryParams {
 public:
  // Parses "a=1&b=x%40y" (without the '?'). '+' decodes to a space, as in HTML
  // forms; a literal plus is %2B. kInvalidRequest on bad escapes, repeated
  // names, empty names or more than kMaxQueryParams parameters.
  static Result<QueryParams> parse(std::string_view query);

  // kInvalidRequest naming the first parameter not in `allowed`.
  Status check_allowed(std::initializer_list<std::string_view> allowed) const;
  std::optional<std::string_view> get(std::string_view name) const;
  bool empty() const { return params_.empty(); }

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

// Decodes %XX escapes ('+' as space when plus_is_space); nullopt on a bad escape.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

}  // namespace loyalty::http
