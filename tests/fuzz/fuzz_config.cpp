// Fuzz target: program configuration documents (YAML and JSON). Whatever the
// input, parsing returns a config or errors, never crashes; a config's
// canonical JSON parses back to the same config; errors survive the trip
// through a Status to the HTTP problem.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "domain/config_document.h"

namespace {
void check(bool condition) {
  if (!condition) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace loyalty;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const ConfigContext ctx{"USD", 2, "America/New_York"};
  ConfigParseResult result = parse_config_document(text, ctx);
  if (result.ok()) {
    std::string canonical = config_to_json(*result.config, ctx);
    ConfigParseResult again = parse_config_document(canonical, ctx);
    check(again.ok() && *again.config == *result.config);
    check(config_to_json(*again.config, ctx) == canonical);
  } else {
    check(!result.errors.empty() && result.errors.size() <= kMaxConfigErrors + 1);
    for (const ConfigError& e : result.errors) check(!e.message.empty());
    check(config_errors_of(invalid_config_status(result.errors)) == result.errors);
  }
  return 0;
}
