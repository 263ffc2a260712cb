#include "engine/config_commands.h"

#include "common/assert.h"
#include "domain/config_document.h"

namespace loyalty::engine {

Result<store::StoredConfig> put_config(store::StoreSession& s, ProgramCache& programs,
                                       const PutConfig& c, Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, c.program_id));
  if (c.document.size() > kMaxConfigDocumentBytes) {
    return invalid_config_status({ConfigError{
        "", 0, 0,
        "the document is larger than " + std::to_string(kMaxConfigDocumentBytes) + " bytes"}});
  }
  ConfigContext ctx{program.currency, currency_exponent(program.currency).value_or(2),
                    program.timezone};
  ConfigParseResult parsed = parse_config_document(c.document, ctx);
  if (!parsed.ok()) return invalid_config_status(parsed.errors);

  LOYALTY_ASSIGN_OR_RETURN(auto latest, s.latest_config(program.id));
  store::StoredConfig stored;
  stored.program_id = program.id;
  stored.version = latest ? latest->version + 1 : 1;
  stored.format = c.format;
  stored.document = c.document;
  stored.canonical_json = config_to_json(*parsed.config, ctx);
  stored.created_at = now;
  stored.actor = c.actor;
  Status inserted = s.insert_config(stored);
  if (inserted.code() == ErrorCode::kConflict) {
    // Another node stored the same version first (PostgreSQL): rerun the
    // batch, which then numbers this one after it.
    return Status(ErrorCode::kRetryable,
                  "configuration version " + std::to_string(stored.version) + " was taken");
  }
  LOYALTY_RETURN_IF_ERROR(inserted);
  parsed.config->version = stored.version;
  programs.set_config(program.id, std::make_shared<const ProgramConfig>(std::move(*parsed.config)));
  return stored;
}

}  // namespace loyalty::engine
