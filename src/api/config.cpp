// Program configuration: PUT /v1/programs/{id}/config (a new version),
// POST /v1/programs/{id}/config:validate, GET /v1/programs/{id}/config
// [?version=N] and GET /v1/programs/{id}/config/versions.
#include <charconv>

#include "api/routes.h"
#include "api/support.h"
#include "domain/config_document.h"
#include "http/media_type.h"

namespace loyalty::api {

namespace {

ConfigFormat format_of(std::string_view content_type) {
  return http::is_json_media_type(content_type) ? ConfigFormat::kJson : ConfigFormat::kYaml;
}

ConfigContext context_of(const Program& program) {
  return ConfigContext{program.currency, currency_exponent(program.currency).value_or(2),
                       program.timezone};
}

void write_version(JsonWriter& w, const store::StoredConfig& c) {
  w.field("version", c.version)
      .field("created_at", format_rfc3339(c.created_at))
      .field("actor", c.actor)
      .field("format", to_string(c.format));
}

std::string config_json(const store::StoredConfig& c) {
  JsonWriter w;
  w.begin_object().field("program_id", format_id(c.program_id));
  write_version(w, c);
  w.field("document", c.document).field_raw("config", c.canonical_json);
  w.end_object();
  return w.take();
}

// `version` query parameter: nullopt when absent.
Result<std::optional<int>> version_param(const http::QueryParams& query) {
  auto text = query.get("version");
  if (!text) return std::optional<int>();
  int version = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), version);
  if (ec != std::errc() || end != text->data() + text->size() || version < 1) {
    return Status(ErrorCode::kInvalidRequest, "version: must be a positive integer");
  }
  return std::optional<int>(version);
}

Status no_config(const ProgramId& id, std::optional<int> version) {
  if (version) {
    return Status(
        ErrorCode::kNotFound,
        "program " + format_id(id) + " has no configuration version " + std::to_string(*version));
  }
  return Status(ErrorCode::kNotFound, "program " + format_id(id) + " has no configuration yet");
}

}  // namespace

void put_program_config(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = own_program(ctx);
  if (!id) return respond_error(ctx, respond, not_found("program", ctx.param(0)));
  Write write;
  write.body =
      engine::PutConfig{*id, std::string(ctx.body), format_of(ctx.content_type), actor_of(ctx)};
  write.success_status = 201;
  write.encode = [](const engine::Outcome& outcome, bool) {
    return config_json(std::get<store::StoredConfig>(outcome.value));
  };
  submit_write(ctx, respond, std::move(write));
}

void validate_program_config(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = own_program(ctx);
  if (!id) return respond_error(ctx, respond, not_found("program", ctx.param(0)));
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    LOYALTY_ASSIGN_OR_RETURN(std::optional<Program> program, s.find_program(*id));
    if (!program) return not_found("program", ctx.param(0));
    ConfigContext config_ctx = context_of(*program);
    ConfigParseResult parsed = parse_config_document(ctx.body, config_ctx);
    if (!parsed.ok()) return invalid_config_status(parsed.errors);
    const ProgramConfig& c = *parsed.config;
    JsonWriter w;
    w.begin_object()
        .field("valid", true)
        .field("format", to_string(format_of(ctx.content_type)))
        .field("earn_rules", static_cast<int64_t>(c.earn_rules.size()))
        .field("expiry_mode", to_string(c.expiry.mode))
        .field_raw("config", config_to_json(c, config_ctx))
        .end_object();
    return http::Response{200, "application/json", w.take(), {}};
  });
}

void get_program_config(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = own_program(ctx);
  if (!id) return respond_error(ctx, respond, not_found("program", ctx.param(0)));
  auto version = version_param(ctx.query);
  if (!version.ok()) return respond_error(ctx, respond, version.status());
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    std::optional<store::StoredConfig> found;
    if (*version) {
      LOYALTY_ASSIGN_OR_RETURN(found, s.find_config(*id, **version));
    } else {
      LOYALTY_ASSIGN_OR_RETURN(found, s.latest_config(*id));
    }
    if (!found) return no_config(*id, *version);
    return http::Response{200, "application/json", config_json(*found), {}};
  });
}

void list_program_config_versions(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = own_program(ctx);
  if (!id) return respond_error(ctx, respond, not_found("program", ctx.param(0)));
  auto limit = page_limit(ctx.query);
  if (!limit.ok()) return respond_error(ctx, respond, limit.status());
  int before = 0;
  if (auto cursor = ctx.query.get("cursor")) {
    auto text = decode_cursor_text(*cursor);
    auto [end, ec] = text ? std::from_chars(text->data(), text->data() + text->size(), before)
                          : std::from_chars_result{nullptr, std::errc::invalid_argument};
    if (!text || ec != std::errc() || end != text->data() + text->size() || before < 2) {
      return respond_error(
          ctx, respond,
          Status(ErrorCode::kInvalidRequest, "cursor: is not a cursor from this list"));
    }
  }
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    LOYALTY_ASSIGN_OR_RETURN(auto versions, s.list_configs(*id, before, *limit + 1));
    JsonWriter w;
    w.begin_object().key("data").begin_array();
    size_t shown = std::min(versions.size(), static_cast<size_t>(*limit));
    for (size_t i = 0; i < shown; ++i) {
      w.begin_object();
      write_version(w, versions[i]);
      w.end_object();
    }
    w.end_array();
    if (versions.size() > shown && shown > 0) {
      w.field("next_cursor", encode_cursor_text(std::to_string(versions[shown - 1].version)));
    } else {
      w.field_null("next_cursor");
    }
    w.end_object();
    return http::Response{200, "application/json", w.take(), {}};
  });
}

}  // namespace loyalty::api
