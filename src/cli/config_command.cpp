// `loyaltyd config validate FILE`: the server's configuration validation, offline.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "cli/commands.h"
#include "domain/config_document.h"
#include "domain/program.h"

namespace loyalty::cli {

int run_config_validate(const ConfigValidateOptions& o) {
  auto exponent = currency_exponent(o.currency);
  if (!exponent) {
    std::fprintf(stderr, "loyaltyd: --currency must be an ISO 4217 code such as USD, got '%s'\n",
                 o.currency.c_str());
    return 2;
  }
  if (!is_valid_timezone(o.timezone)) {
    std::fprintf(stderr,
                 "loyaltyd: --timezone must be an IANA time zone such as Europe/Berlin, got '%s'\n",
                 o.timezone.c_str());
    return 2;
  }
  std::ifstream in(o.file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "loyaltyd: cannot read %s\n", o.file.c_str());
    return 1;
  }
  // One byte more than the limit is enough to know the document is too large.
  std::string text;
  text.resize(kMaxConfigDocumentBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (in.bad()) {
    std::fprintf(stderr, "loyaltyd: cannot read %s\n", o.file.c_str());
    return 1;
  }
  ConfigContext ctx{o.currency, *exponent, o.timezone};
  ConfigParseResult result = parse_config_document(text, ctx);
  if (!result.ok()) {
    for (const ConfigError& e : result.errors) {
      std::fprintf(stderr, "%s\n", format_config_error(e, o.file).c_str());
    }
    return 1;
  }
  const ProgramConfig& c = *result.config;
  std::printf("%s: valid (%s, %zu earn rule%s, expiry %s, currency %s, time zone %s)\n",
              o.file.c_str(), to_string(detect_config_format(text)), c.earn_rules.size(),
              c.earn_rules.size() == 1 ? "" : "s", to_string(c.expiry.mode), o.currency.c_str(),
              o.timezone.c_str());
  return 0;
}

}  // namespace loyalty::cli
