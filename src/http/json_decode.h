// Strict JSON request decoding on simdjson's DOM.
//
// Request bodies are decoded into typed structs field by field. Everything a
// client could get wrong is a 400 (kInvalidRequest) naming the field: malformed
// JSON, a body that is not an object, a field of the wrong type, a required
// field missing, an unknown field, a field given twice, a string too long, an
// integer that is not a JSON integer in range (1.0, 1e3 and "5" are rejected).
//
// Field errors are a Status(kInvalidRequest, "<field>: <message>") where
// <field> is the JSON path ("transfers.min_points", "scopes[2]"); the problem
// layer (problem.h, field_error_of) turns it into the `errors` array.
//
// Each thread parses with its own simdjson parser. A JsonObject and every
// element taken from it point into that parser: they are valid until the same
// thread parses the next document.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/time.h"

namespace loyalty::http {

// Deepest nesting a request body may have; our bodies need 3.
inline constexpr size_t kMaxJsonDepth = 16;
// Largest document the per-thread parser accepts (the server's body limit is
// lower; this bounds what a direct caller such as a fuzzer can make it allocate).
inline constexpr size_t kMaxJsonDocumentBytes = 1 << 20;

Status field_error(std::string_view field, std::string_view message);

class JsonObject {
 public:
  // Wraps `element`, which must be an object whose keys are all in `allowed`
  // and unique; `path` prefixes field names in errors ("" at the top level).
  static Result<JsonObject> from_element(simdjson::dom::element element, std::string path,
                                         std::initializer_list<std::string_view> allowed);

  // The field's value, nullopt when absent (a JSON null is present).
  std::optional<simdjson::dom::element> get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  bool is_null(std::string_view name) const;
  size_t size() const { return object_.size(); }
  simdjson::dom::object raw() const { return object_; }
  // The field's path for errors: path + name.
  std::string path_of(std::string_view name) const { return path_ + std::string(name); }

  // Typed accessors. required_* fail when the field is absent or null;
  // optional_* return nullopt when absent and fail on null (use is_null first
  // where null means "clear").
  Result<std::string> required_string(std::string_view name, size_t max_chars,
                                      size_t min_chars = 1) const;
  Result<std::optional<std::string>> optional_string(std::string_view name, size_t max_chars,
                                                     size_t min_chars = 0) const;
  Result<int64_t> required_int(std::string_view name, int64_t min, int64_t max) const;
  Result<std::optional<int64_t>> optional_int(std::string_view name, int64_t min,
                                              int64_t max) const;
  Result<std::optional<bool>> optional_bool(std::string_view name) const;
  Result<std::optional<Instant>> optional_instant(std::string_view name) const;
  Result<std::optional<JsonObject>> optional_object(
      std::string_view name, std::initializer_list<std::string_view> allowed) const;

 private:
  JsonObject(simdjson::dom::object object, std::string path)
      : object_(object), path_(std::move(path)) {}
  simdjson::dom::object object_;
  std::string path_;
};

// Parses `body` with the calling thread's parser; it must be one JSON object
// whose keys are in `allowed`.
Result<JsonObject> parse_object(std::string_view body,
                                std::initializer_list<std::string_view> allowed);
// The same for an action whose body may be left out: an empty body is `{}`.
Result<JsonObject> parse_optional_object(std::string_view body,
                                         std::initializer_list<std::string_view> allowed);
// Parses `body` with the calling thread's parser: any JSON value.
Result<simdjson::dom::element> parse_json(std::string_view body);

// Element conversions, `field` naming the value in errors.
Result<std::string> as_string(simdjson::dom::element element, std::string_view field,
                              size_t max_chars, size_t min_chars);
// Only JSON integers (no fraction, no exponent) within [min, max].
Result<int64_t> as_int(simdjson::dom::element element, std::string_view field, int64_t min,
                       int64_t max);
Result<bool> as_bool(simdjson::dom::element element, std::string_view field);
// An RFC 3339 timestamp string.
Result<Instant> as_instant(simdjson::dom::element element, std::string_view field);

// Number of Unicode code points in valid UTF-8 text.
size_t utf8_length(std::string_view text);
// The JSON type name of an element, for messages ("a string", "a number", ...).
const char* json_type_name(simdjson::dom::element element);

}  // namespace loyalty::http
