// API keys: POST /v1/api-keys, GET /v1/api-keys, DELETE /v1/api-keys/{id}.
#include "api/decoders.h"
#include "api/encoders.h"
#include "api/routes.h"
#include "api/support.h"
#include "http/auth.h"

namespace loyalty::api {

void create_api_key(http::RequestContext& ctx, const http::Responder& respond) {
  auto command = decode_create_api_key(ctx.body, program_of(ctx));
  if (!command.ok()) return respond_error(ctx, respond, command.status());
  Write write;
  write.body = std::move(command).value();
  write.success_status = 201;
  write.encode = [](const engine::Outcome& outcome, bool stored) {
    const auto& created = std::get<engine::ApiKeyCreated>(outcome.value);
    JsonWriter w;
    // The secret is shown once and never stored, not even in the idempotency
    // record: a replay answers without it.
    write_api_key(w, created.key,
                  stored ? std::nullopt : std::optional<std::string>(created.secret));
    return w.take();
  };
  submit_write(ctx, respond, std::move(write));
}

void list_api_keys(http::RequestContext& ctx, const http::Responder& respond) {
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    LOYALTY_ASSIGN_OR_RETURN(std::vector<store::ApiKey> keys, s.list_api_keys(program_of(ctx)));
    JsonWriter w;
    w.begin_object().key("data").begin_array();
    for (const store::ApiKey& key : keys) write_api_key(w, key);
    w.end_array().field_null("next_cursor").end_object();
    return http::Response{200, "application/json", w.take(), {}};
  });
}

void revoke_api_key(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = path_id<ApiKeyTag>(ctx, 0);
  if (!id) return respond_error(ctx, respond, not_found("API key", ctx.param(0)));
  Write write;
  write.body = engine::RevokeApiKey{program_of(ctx), *id};
  write.success_status = 200;
  write.encode = [](const engine::Outcome& outcome, bool) {
    JsonWriter w;
    write_api_key(w, std::get<store::ApiKey>(outcome.value));
    return w.take();
  };
  // The revoke must hold for the very next request through this process.
  http::ApiKeyCache* cache = ctx.services->keys;
  write.on_success = [cache, key_id = *id](const engine::Outcome&) { cache->forget(key_id); };
  submit_write(ctx, respond, std::move(write));
}

}  // namespace loyalty::api
