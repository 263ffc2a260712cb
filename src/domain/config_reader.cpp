#include "domain/config_reader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>

#include "common/json_writer.h"
#include "domain/program_config.h"

namespace loyalty {

// A user-supplied text inside a message: quoted, control characters escaped,
// shortened, so that a message stays one line.
std::string quoted(std::string_view text) {
  constexpr size_t kMaxShown = 60;
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (text.size() > kMaxShown) out += "...";
  return out + "'";
}

namespace {

bool is_identifier_key(std::string_view key) {
  if (key.empty()) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$' || c == '-';
  });
}

}  // namespace

std::string child_path(const std::string& path, std::string_view key) {
  if (!is_identifier_key(key)) {
    // Keys that are not plain names are shown as ["..."], escaped like a JSON
    // string, so a path never holds ": " or a line break.
    std::string escaped;
    append_json_string(escaped, key.substr(0, 60));
    std::string spaced;
    for (char c : escaped) spaced += c == ' ' ? std::string("\\u0020") : std::string(1, c);
    return path + "[" + spaced + "]";
  }
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

size_t ConfigReader::offset_of(const YAML::Node& n) {
  YAML::Mark m = n.Mark();
  return m.is_null() || m.pos < 0 ? 0 : static_cast<size_t>(m.pos);
}

void ConfigReader::issue(const std::string& path, const YAML::Node& at, std::string message) {
  issues_.push_back(ConfigIssue{path, offset_of(at), std::move(message)});
}

std::string ConfigReader::child(const std::string& path, std::string_view key) {
  return child_path(path, key);
}

bool ConfigReader::check_map(const YAML::Node& n, const std::string& path,
                             const std::vector<std::string_view>& known) {
  if (!n.IsMap()) {
    issue(path, n, "expected a mapping");
    return false;
  }
  bool ok = true;
  for (auto it = n.begin(); it != n.end(); ++it) {
    const std::string key = it->first.Scalar();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      issue(child(path, key), it->first, "unknown key " + quoted(key));
      ok = false;
    }
  }
  return ok;
}

std::optional<std::string> ConfigReader::string(const YAML::Node& m, std::string_view key,
                                                const std::string& path, size_t max_length) {
  YAML::Node v = m[std::string(key)];
  if (!v) return std::nullopt;
  if (!v.IsScalar()) {
    issue(child(path, key), v, "expected a string");
    return std::nullopt;
  }
  if (v.Scalar().size() > max_length) {
    issue(child(path, key), v, "at most " + std::to_string(max_length) + " characters");
    return std::nullopt;
  }
  return v.Scalar();
}

std::optional<int64_t> ConfigReader::integer(const YAML::Node& m, std::string_view key,
                                             const std::string& path, int64_t min, int64_t max) {
  YAML::Node v = m[std::string(key)];
  if (!v) return std::nullopt;
  int64_t out = 0;
  const std::string s = v.IsScalar() ? v.Scalar() : std::string();
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    issue(child(path, key), v, "expected an integer");
    return std::nullopt;
  }
  if (out < min || out > max) {
    issue(child(path, key), v,
          "expected an integer from " + std::to_string(min) + " to " + std::to_string(max) +
              ", got " + s);
    return std::nullopt;
  }
  return out;
}

std::optional<bool> ConfigReader::boolean(const YAML::Node& m, std::string_view key,
                                          const std::string& path) {
  YAML::Node v = m[std::string(key)];
  if (!v) return std::nullopt;
  if (v.IsScalar() && (v.Scalar() == "true" || v.Scalar() == "false")) return v.Scalar() == "true";
  issue(child(path, key), v, "expected true or false");
  return std::nullopt;
}

std::optional<int64_t> ConfigReader::money(const YAML::Node& m, std::string_view key,
                                           const std::string& path, int64_t max_minor) {
  YAML::Node v = m[std::string(key)];
  if (!v) return std::nullopt;
  const std::string s = v.IsScalar() ? v.Scalar() : std::string();
  int64_t unit = 1;
  for (int i = 0; i < currency_exponent_; ++i) unit *= 10;
  const int64_t per_minor = Decimal::kScale / unit;
  // The decimal grammar of the document, then the currency's precision.
  auto d = parse_decimal(s);
  if (!d || d->micros < 0 || d->micros % per_minor != 0 || d->micros / per_minor > max_minor) {
    const std::string example =
        currency_exponent_ == 0 ? "\"50\"" : "\"50." + std::string(currency_exponent_, '0') + "\"";
    issue(child(path, key), v,
          "expected an amount with at most " + std::to_string(currency_exponent_) +
              " decimal places, like " + example + ", from 0 to the limit, got '" + s + "'");
    return std::nullopt;
  }
  return d->micros / per_minor;
}

std::optional<size_t> ConfigReader::choice(const YAML::Node& m, std::string_view key,
                                           const std::string& path,
                                           const std::vector<std::string_view>& choices) {
  YAML::Node v = m[std::string(key)];
  if (!v) return std::nullopt;
  if (v.IsScalar()) {
    auto it = std::find(choices.begin(), choices.end(), v.Scalar());
    if (it != choices.end()) return static_cast<size_t>(it - choices.begin());
  }
  std::string expected;
  for (std::string_view c : choices) {
    expected += (expected.empty() ? "" : ", ") + std::string(c);
  }
  issue(child(path, key), v, "expected one of " + expected);
  return std::nullopt;
}

std::optional<std::vector<std::string>> ConfigReader::string_list(const YAML::Node& m,
                                                                  std::string_view key,
                                                                  const std::string& path,
                                                                  size_t max_items,
                                                                  size_t max_length) {
  YAML::Node v = m[std::string(key)];
  if (!v) return std::nullopt;
  const std::string p = child(path, key);
  if (!v.IsSequence()) {
    issue(p, v, "expected a list of strings");
    return std::nullopt;
  }
  if (v.size() > max_items) {
    issue(p, v, "at most " + std::to_string(max_items) + " items");
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (size_t i = 0; i < v.size(); ++i) {
    const YAML::Node item = v[i];
    const std::string ip = p + "[" + std::to_string(i) + "]";
    if (!item.IsScalar() || item.Scalar().empty() || item.Scalar().size() > max_length) {
      issue(ip, item, "expected a string of 1 to " + std::to_string(max_length) + " characters");
      ok = false;
      continue;
    }
    out.push_back(item.Scalar());
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace loyalty
