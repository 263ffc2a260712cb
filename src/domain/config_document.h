// The program configuration document: parsing, validation and the canonical
// JSON form of a ProgramConfig (docs/program-config.md is the reference;
// api/program-config.schema.json the published JSON Schema).
//
// A document is YAML or JSON (JSON is read by the same YAML 1.2 parser, so
// positions are reported the same way for both). Validation is complete: it
// reports every error it finds (up to kMaxConfigErrors), each with its path in
// the document ("earn_rules[3].condition", 0-based indexes), its 1-based line
// and column, and what was expected. Expressions are compiled with the rules
// language; a compile error points at the offending character inside the
// expression.
//
// Pure: no I/O, no clock. Local date-times are converted in ctx.timezone.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_writer.h"
#include "common/result.h"
#include "domain/program_config.h"

namespace loyalty {

// What a document is validated against: the program it configures.
struct ConfigContext {
  std::string currency = "USD";
  int currency_exponent = 2;  // minor-unit digits (2 for USD, 0 for JPY)
  std::string timezone = "UTC";
};

struct ConfigError {
  std::string path;  // "" for the document itself
  int line = 0;      // 1-based; 0 when the position is unknown
  int column = 0;    // 1-based
  std::string message;
  friend bool operator==(const ConfigError&, const ConfigError&) = default;
};

enum class ConfigFormat { kYaml, kJson };
const char* to_string(ConfigFormat format);
std::optional<ConfigFormat> parse_config_format(std::string_view text);
// kJson when the first non-blank character is '{', else kYaml.
ConfigFormat detect_config_format(std::string_view document);

// Limits of a document beyond those in program_config.h.
inline constexpr size_t kMaxConfigErrors = 100;     // reported; then one "too many" error
inline constexpr size_t kMaxConfigNodes = 100'000;  // YAML nodes visited (aliases count)
inline constexpr size_t kMaxConfigDepth = 32;       // nesting inside the opaque slots
inline constexpr size_t kMaxExcludedCategories = 100;
inline constexpr size_t kMaxConfigNameLength = 200;         // rule names, category names
inline constexpr int64_t kMaxRulePoints = 1'000'000'000;    // points of a fixed rule
inline constexpr int64_t kMaxCapValue = 1'000'000'000'000;  // max_awards, max_points
inline constexpr int kMaxRulePriority = 1000;               // priority in -1000..1000

struct ConfigParseResult {
  std::optional<ProgramConfig> config;  // set exactly when errors is empty
  std::vector<ConfigError> errors;
  bool ok() const { return config.has_value(); }
};

// Parses and validates a document. The returned config has version 0.
ConfigParseResult parse_config_document(std::string_view text, const ConfigContext& ctx);

// The canonical JSON of a config: every key the config's values allow, in the
// order of the reference, with defaults spelled out; local date-times as RFC
// 3339 UTC instants. parse_config_document(config_to_json(c)) == c.
std::string config_to_json(const ProgramConfig& config, const ConfigContext& ctx);

// A tier's benefits as their configuration keys (earn_multiplier, free_shipping,
// early_access_hours, birthday_bonus_points, perks, rewards), written into an
// object the caller opened: the one writer for config_to_json and the tier API.
void write_tier_benefit_fields(JsonWriter& w, const TierBenefits& benefits);
// Money as the documents spell it: 1999 with exponent 2 is "19.99".
std::string format_minor_units(int64_t minor, int exponent);
// A paid plan's "grants" member: a tier, or benefits (the tier ones without the
// earning ones: a plan grants a tier for those). The config document and the
// membership API both write it.
void write_plan_grants(JsonWriter& w, const PaidPlan& plan);

// "FILE:LINE:COL: PATH: message" (PATH and its ": " left out when empty).
std::string format_config_error(const ConfigError& error, std::string_view file);

// A kInvalidConfig Status carrying the errors: the message is a one-line
// summary followed by one line per error (format_config_error with an empty
// file name), which config_errors_of reads back for the HTTP problem.
Status invalid_config_status(const std::vector<ConfigError>& errors);
std::vector<ConfigError> config_errors_of(const Status& status);

// Every key the parser knows, per object of the document ("" is the top
// level, "earn_rules[]" an earn rule, "earn_rules[].member_cap" a cap...), for
// the test that keeps the JSON Schema in step with the parser.
struct ConfigObjectKeys {
  std::string_view object;
  std::vector<std::string_view> keys;
};
std::span<const ConfigObjectKeys> config_document_keys();

}  // namespace loyalty
