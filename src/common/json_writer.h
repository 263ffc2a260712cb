// A small streaming JSON writer.
//
// simdjson (our parser) does not serialize, and responses here are small flat
// objects, so a 100-line writer that appends to one std::string beats pulling in
// a second JSON library. It handles commas and escaping; callers keep keys and
// nesting balanced (asserted in debug builds).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loyalty {

class JsonWriter {
 public:
  // Responses are a few hundred bytes: one allocation up front instead of a
  // growth step every few fields.
  JsonWriter() { out_.reserve(512); }

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(int64_t v);
  JsonWriter& value(int v) { return value(static_cast<int64_t>(v)); }
  JsonWriter& value(bool b);
  JsonWriter& null();
  // Inserts already-serialized JSON (e.g. a stored attributes object).
  JsonWriter& raw(std::string_view json);

  // key + value shorthands.
  template <typename T>
  JsonWriter& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }
  JsonWriter& field_null(std::string_view k) {
    key(k);
    return null();
  }
  JsonWriter& field_raw(std::string_view k, std::string_view json) {
    key(k);
    return raw(json);
  }

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void before_value();
  std::string out_;
  // One flag per open container: true once it holds an element.
  std::vector<char> has_element_;  // char, not bool: no bit twiddling per value
  bool after_key_ = false;
};

// Appends s to out as a JSON string literal, with quotes.
void append_json_string(std::string& out, std::string_view s);

}  // namespace loyalty
