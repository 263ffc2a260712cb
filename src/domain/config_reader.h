// Reading one slot of a program configuration document (YAML or JSON) into its
// model, collecting every problem with its document path and byte offset; the
// document parser (domain/config_document.cpp) turns offsets into line and
// column. For slots whose model lives in its own file (referrals, ...).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace YAML {
class Node;
}

namespace loyalty {

// A validation error at a byte offset of the document.
struct ConfigIssue {
  std::string path;  // "referrals.fraud.velocity.max_referrals"
  size_t offset = 0;
  std::string message;
};

// The path of `key` under `path` in error messages: `path.key`, or
// `path["..."]` (escaped like a JSON string) when the key is not a plain name,
// so a path never holds ": " or a line break and survives the trip through a
// Status (config_errors_of).
std::string child_path(const std::string& path, std::string_view key);
// A user-supplied text inside a message: quoted, control characters escaped,
// shortened to 60 bytes, so that a message stays one line.
std::string quoted(std::string_view text);

class ConfigReader {
 public:
  ConfigReader(int currency_exponent, std::vector<ConfigIssue>& issues)
      : currency_exponent_(currency_exponent), issues_(issues) {}

  static size_t offset_of(const YAML::Node& n);
  void issue(const std::string& path, const YAML::Node& at, std::string message);

  // True when `n` is a mapping whose keys are all in `known` (each unknown key
  // is an issue at the key).
  bool check_map(const YAML::Node& n, const std::string& path,
                 const std::vector<std::string_view>& known);

  // Each reads `key` of mapping `m`: nullopt when absent or invalid (reported).
  std::optional<std::string> string(const YAML::Node& m, std::string_view key,
                                    const std::string& path, size_t max_length);
  std::optional<int64_t> integer(const YAML::Node& m, std::string_view key, const std::string& path,
                                 int64_t min, int64_t max);
  std::optional<bool> boolean(const YAML::Node& m, std::string_view key, const std::string& path);
  // "12.50" with at most the currency's decimals -> minor units, 0..max_minor.
  std::optional<int64_t> money(const YAML::Node& m, std::string_view key, const std::string& path,
                               int64_t max_minor);
  // One of `choices`; returns its index.
  std::optional<size_t> choice(const YAML::Node& m, std::string_view key, const std::string& path,
                               const std::vector<std::string_view>& choices);
  // A list of strings, each at most max_length, at most max_items.
  std::optional<std::vector<std::string>> string_list(const YAML::Node& m, std::string_view key,
                                                      const std::string& path, size_t max_items,
                                                      size_t max_length);

  // path.key, or path["key"] (escaped) when the key is not a plain name:
  // the same paths as the rest of the document (child_path).
  static std::string child(const std::string& path, std::string_view key);

 private:
  int currency_exponent_;
  std::vector<ConfigIssue>& issues_;
};

}  // namespace loyalty
