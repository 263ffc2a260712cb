// Helpers of the configuration documents' unit tests: a context, the errors
// of a parse as text, and the JSON Schema (api/program-config.schema.json)
// against a parser's keys: each object closed (additionalProperties: false)
// and listing exactly the keys the parser reads.
#pragma once

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/config_document.h"

namespace loyalty {

inline ConfigContext usd() { return ConfigContext{"USD", 2, "Europe/Berlin"}; }

// Every error of the parse, one formatted line each.
inline std::string errors_of(const ConfigParseResult& r) {
  std::string out;
  for (const ConfigError& e : r.errors) out += format_config_error(e, "") + "\n";
  return out;
}

inline YAML::Node load_config_schema() {
  return YAML::LoadFile(std::string(LOYALTY_SOURCE_DIR) + "/api/program-config.schema.json");
}

// `objects`: the schema node of each object path the parser names in `keys`.
inline void expect_schema_knows_parser_keys(
    const std::map<std::string, YAML::Node>& objects,
    const std::vector<std::pair<std::string_view, std::vector<std::string_view>>>& keys) {
  ASSERT_EQ(keys.size(), objects.size());
  for (const auto& [object, parser_keys] : keys) {
    auto it = objects.find(std::string(object));
    ASSERT_NE(it, objects.end()) << object;
    const YAML::Node& node = it->second;
    ASSERT_TRUE(node.IsMap()) << object;
    EXPECT_FALSE(node["additionalProperties"].as<bool>(true)) << object;
    std::set<std::string> schema_keys;
    for (auto k = node["properties"].begin(); k != node["properties"].end(); ++k) {
      schema_keys.insert(k->first.as<std::string>());
    }
    EXPECT_EQ(schema_keys, std::set<std::string>(parser_keys.begin(), parser_keys.end())) << object;
  }
}

}  // namespace loyalty
