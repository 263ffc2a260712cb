#include "http/json_decode.h"

#include <limits>
#include <memory>
#include <vector>

namespace loyalty::http {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

simdjson::dom::parser& thread_parser() {
  // One parser per thread: parsers reuse their buffers, and are not thread-safe.
  thread_local std::unique_ptr<simdjson::dom::parser> parser = [] {
    auto p = std::make_unique<simdjson::dom::parser>(kMaxJsonDocumentBytes);
    // Fixes the depth limit; capacity grows on demand up to the maximum above.
    // Should this allocation fail, parse() allocates again and reports it.
    simdjson::error_code ignored = p->allocate(size_t{64} * 1024, kMaxJsonDepth);
    (void)ignored;
    return p;
  }();
  return *parser;
}

Status invalid(std::string message) {
  return Status(ErrorCode::kInvalidRequest, std::move(message));
}

std::string parse_error_message(simdjson::error_code error) {
  switch (error) {
    case simdjson::EMPTY:
      return "the request body is empty; a JSON object is required";
    case simdjson::DEPTH_ERROR:
      return "the JSON document nests deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    case simdjson::CAPACITY:
      return "the JSON document is too large";
    case simdjson::NUMBER_ERROR:
      return "malformed JSON: a number is malformed or outside the range of a 64-bit integer";
    case simdjson::UTF8_ERROR:
      return "malformed JSON: the body is not valid UTF-8";
    default:
      return std::string("malformed JSON: ") + simdjson::error_message(error);
  }
}

}  // namespace

Status field_error(std::string_view field, std::string_view message) {
  std::string text;
  text.reserve(field.size() + 2 + message.size());
  text.append(field).append(": ").append(message);
  return invalid(std::move(text));
}

size_t utf8_length(std::string_view text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

const char* json_type_name(element e) {
  switch (e.type()) {
    case element_type::ARRAY:
      return "an array";
    case element_type::OBJECT:
      return "an object";
    case element_type::INT64:
    case element_type::UINT64:
      return "an integer";
    case element_type::DOUBLE:
      return "a number with a fraction or exponent";
    case element_type::STRING:
      return "a string";
    case element_type::BOOL:
      return "a boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "an unknown value";
}

Result<element> parse_json(std::string_view body) {
  if (body.size() > kMaxJsonDocumentBytes) return invalid(parse_error_message(simdjson::CAPACITY));
  element root;
  simdjson::error_code error = thread_parser().parse(body.data(), body.size()).get(root);
  if (error) return invalid(parse_error_message(error));
  return root;
}

Result<JsonObject> parse_object(std::string_view body,
                                std::initializer_list<std::string_view> allowed) {
  LOYALTY_ASSIGN_OR_RETURN(element root, parse_json(body));
  if (root.type() != element_type::OBJECT) {
    return invalid(std::string("the request body must be a JSON object, not ") +
                   json_type_name(root));
  }
  return JsonObject::from_element(root, "", allowed);
}

Result<JsonObject> parse_optional_object(std::string_view body,
                                         std::initializer_list<std::string_view> allowed) {
  return parse_object(body.empty() ? std::string_view("{}") : body, allowed);
}

Result<JsonObject> JsonObject::from_element(element e, std::string path,
                                            std::initializer_list<std::string_view> allowed) {
  simdjson::dom::object object;
  if (e.get(object)) {
    std::string field = path.empty() ? "(body)" : path.substr(0, path.size() - 1);
    return field_error(field, std::string("must be an object, not ") + json_type_name(e));
  }
  std::vector<std::string_view> seen;
  for (auto [key, value] : object) {
    bool known = false;
    for (std::string_view a : allowed) known = known || a == key;
    if (!known) return field_error(path + std::string(key), "unknown field");
    for (std::string_view s : seen) {
      if (s == key) return field_error(path + std::string(key), "is given more than once");
    }
    seen.push_back(key);
  }
  return JsonObject(object, std::move(path));
}

std::optional<element> JsonObject::get(std::string_view name) const {
  element value;
  if (object_.at_key(name).get(value)) return std::nullopt;
  return value;
}

bool JsonObject::is_null(std::string_view name) const {
  auto value = get(name);
  return value && value->is_null();
}

Result<std::string> as_string(element e, std::string_view field, size_t max_chars,
                              size_t min_chars) {
  std::string_view text;
  if (e.get(text)) {
    return field_error(field, std::string("must be a string, not ") + json_type_name(e));
  }
  size_t chars = utf8_length(text);
  if (chars < min_chars || chars > max_chars) {
    if (min_chars == max_chars) {
      return field_error(field, "must be exactly " + std::to_string(max_chars) + " characters");
    }
    if (min_chars > 0) {
      return field_error(field, "must be " + std::to_string(min_chars) + " to " +
                                    std::to_string(max_chars) + " characters");
    }
    return field_error(field, "must be at most " + std::to_string(max_chars) + " characters");
  }
  return std::string(text);
}

Result<int64_t> as_int(element e, std::string_view field, int64_t min, int64_t max) {
  int64_t value = 0;
  switch (e.type()) {
    case element_type::INT64:
      value = e.get_int64().value_unsafe();
      break;
    case element_type::UINT64:
      // simdjson types only integers above INT64_MAX as uint64.
      return field_error(field, "must be an integer between " + std::to_string(min) + " and " +
                                    std::to_string(max));
    case element_type::DOUBLE:
      return field_error(field, "must be an integer (no fraction or exponent)");
    default:
      return field_error(field, std::string("must be an integer, not ") + json_type_name(e));
  }
  if (value < min || value > max) {
    return field_error(
        field, "must be an integer between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return value;
}

Result<bool> as_bool(element e, std::string_view field) {
  bool value = false;
  if (e.get(value)) {
    return field_error(field, std::string("must be a boolean, not ") + json_type_name(e));
  }
  return value;
}

Result<Instant> as_instant(element e, std::string_view field) {
  std::string_view text;
  if (e.get(text)) {
    return field_error(
        field, std::string("must be an RFC 3339 timestamp string, not ") + json_type_name(e));
  }
  auto instant = parse_rfc3339(text);
  if (!instant) {
    return field_error(field, "must be an RFC 3339 timestamp such as 2024-03-01T12:00:00Z");
  }
  return *instant;
}

namespace {

// Shared shape of the optional_* accessors: absent -> nullopt, null -> error.
template <typename T, typename Convert>
Result<std::optional<T>> optional_field(const JsonObject& object, std::string_view name,
                                        const char* expected, Convert convert) {
  auto value = object.get(name);
  if (!value) return std::optional<T>();
  if (value->is_null())
    return field_error(object.path_of(name), std::string("must be ") + expected + ", not null");
  auto converted = convert(*value, object.path_of(name));
  if (!converted.ok()) return converted.status();
  return std::optional<T>(std::move(converted).value());
}

}  // namespace

Result<std::string> JsonObject::required_string(std::string_view name, size_t max_chars,
                                                size_t min_chars) const {
  auto value = get(name);
  if (!value || value->is_null()) return field_error(path_of(name), "is required");
  return as_string(*value, path_of(name), max_chars, min_chars);
}

Result<std::optional<std::string>> JsonObject::optional_string(std::string_view name,
                                                               size_t max_chars,
                                                               size_t min_chars) const {
  return optional_field<std::string>(*this, name, "a string", [&](element e, const std::string& f) {
    return as_string(e, f, max_chars, min_chars);
  });
}

Result<int64_t> JsonObject::required_int(std::string_view name, int64_t min, int64_t max) const {
  auto value = get(name);
  if (!value || value->is_null()) return field_error(path_of(name), "is required");
  return as_int(*value, path_of(name), min, max);
}

Result<std::optional<int64_t>> JsonObject::optional_int(std::string_view name, int64_t min,
                                                        int64_t max) const {
  return optional_field<int64_t>(*this, name, "an integer", [&](element e, const std::string& f) {
    return as_int(e, f, min, max);
  });
}

Result<std::optional<bool>> JsonObject::optional_bool(std::string_view name) const {
  return optional_field<bool>(*this, name, "a boolean",
                              [&](element e, const std::string& f) { return as_bool(e, f); });
}

Result<std::optional<Instant>> JsonObject::optional_instant(std::string_view name) const {
  return optional_field<Instant>(*this, name, "an RFC 3339 timestamp",
                                 [&](element e, const std::string& f) { return as_instant(e, f); });
}

Result<std::optional<JsonObject>> JsonObject::optional_object(
    std::string_view name, std::initializer_list<std::string_view> allowed) const {
  auto value = get(name);
  if (!value) return std::optional<JsonObject>();
  if (value->is_null()) return field_error(path_of(name), "must be an object, not null");
  auto object = from_element(*value, path_of(name) + ".", allowed);
  if (!object.ok()) return object.status();
  return std::optional<JsonObject>(std::move(object).value());
}

}  // namespace loyalty::http
