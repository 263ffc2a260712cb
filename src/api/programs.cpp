// Programs: POST /v1/programs (instance admin), GET and PATCH /v1/programs/{id}.
#include "api/decoders.h"
#include "api/encoders.h"
#include "api/routes.h"
#include "api/support.h"

namespace loyalty::api {

void create_program(http::RequestContext& ctx, const http::Responder& respond) {
  auto command = decode_create_program(ctx.body);
  if (!command.ok()) return respond_error(ctx, respond, command.status());
  Write write;
  write.body = std::move(command).value();
  write.success_status = 201;
  write.encode = [](const engine::Outcome& outcome, bool stored) {
    const auto& created = std::get<engine::ProgramCreated>(outcome.value);
    JsonWriter w;
    w.begin_object().key("program");
    write_program(w, created.program);
    w.key("api_key");
    // The secret is shown once; a replayed response does not repeat it.
    write_api_key(w, created.key.key,
                  stored ? std::nullopt : std::optional<std::string>(created.key.secret));
    w.end_object();
    return w.take();
  };
  submit_write(ctx, respond, std::move(write));
}

void get_program(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = own_program(ctx);
  if (!id) return respond_error(ctx, respond, not_found("program", ctx.param(0)));
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    LOYALTY_ASSIGN_OR_RETURN(std::optional<Program> program, s.find_program(*id));
    if (!program) return not_found("program", ctx.param(0));
    return http::Response{200, "application/json", program_json(*program), {}};
  });
}

void patch_program(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = own_program(ctx);
  if (!id) return respond_error(ctx, respond, not_found("program", ctx.param(0)));
  auto patch = decode_program_patch(ctx.body);
  if (!patch.ok()) return respond_error(ctx, respond, patch.status());
  Write write;
  write.body = engine::UpdateProgram{*id, std::move(patch).value()};
  write.success_status = 200;
  write.encode = [](const engine::Outcome& outcome, bool) {
    return program_json(std::get<Program>(outcome.value));
  };
  submit_write(ctx, respond, std::move(write));
}

}  // namespace loyalty::api
