// Members: enroll, read, list/search, update, block and unblock.
#include "api/decoders.h"
#include "api/encoders.h"
#include "api/routes.h"
#include "api/support.h"
#include "http/json_decode.h"

namespace loyalty::api {

namespace {

Write member_write(engine::CommandBody body, int success_status) {
  Write write;
  write.body = std::move(body);
  write.success_status = success_status;
  write.encode = [](const engine::Outcome& outcome, bool) {
    return member_json(std::get<Member>(outcome.value));
  };
  return write;
}

void set_status(http::RequestContext& ctx, const http::Responder& respond, MemberStatus status) {
  auto id = path_id<MemberTag>(ctx, 0);
  if (!id) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  // No body, or an empty JSON object: nothing to say beyond the path.
  auto empty = http::parse_optional_object(ctx.body, {});
  if (!empty.ok()) return respond_error(ctx, respond, empty.status());
  submit_write(ctx, respond,
               member_write(engine::SetMemberStatus{program_of(ctx), *id, status}, 200));
}

}  // namespace

void enroll_member(http::RequestContext& ctx, const http::Responder& respond) {
  auto command = decode_enroll_member(ctx.body, program_of(ctx));
  if (!command.ok()) return respond_error(ctx, respond, command.status());
  submit_write(ctx, respond, member_write(std::move(command).value(), 201));
}

void list_members(http::RequestContext& ctx, const http::Responder& respond) {
  if (Status st = ctx.query.check_allowed({"external_id", "email", "status", "limit", "cursor"});
      !st.ok()) {
    return respond_error(ctx, respond, st);
  }
  store::MemberQuery query;
  query.program_id = program_of(ctx);
  auto page = cursor_page<MemberTag>(ctx.query);
  if (!page.ok()) return respond_error(ctx, respond, page.status());
  query.after = page->cursor;
  // One more than the page: its presence says whether a next page exists.
  query.limit = page->limit + 1;
  if (auto external_id = ctx.query.get("external_id"))
    query.external_id = std::string(*external_id);
  if (auto email = ctx.query.get("email")) {
    auto normalized = normalize_email(*email);
    if (!normalized.ok()) {
      return respond_error(ctx, respond,
                           Status(ErrorCode::kInvalidRequest, "email: is not an email address"));
    }
    query.email = std::move(normalized).value();
  }
  if (auto status = ctx.query.get("status")) {
    query.status = parse_member_status(*status);
    if (!query.status) {
      return respond_error(
          ctx, respond,
          Status(ErrorCode::kInvalidRequest, "status: must be \"active\" or \"blocked\""));
    }
  }
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    LOYALTY_ASSIGN_OR_RETURN(std::vector<Member> members, s.list_members(query));
    std::string body = list_json(
        members, page->limit, [](JsonWriter& w, const Member& m) { write_member(w, m); },
        [](const Member& m) { return m.id; });
    return http::Response{200, "application/json", std::move(body), {}};
  });
}

void get_member(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = path_id<MemberTag>(ctx, 0);
  if (!id) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    ProgramId program_id = program_of(ctx);
    LOYALTY_ASSIGN_OR_RETURN(std::optional<Member> member, s.find_member(program_id, *id));
    if (!member) return not_found("member", ctx.param(0));
    LOYALTY_ASSIGN_OR_RETURN(Balance balance, s.get_balance(program_id, *id));
    LOYALTY_ASSIGN_OR_RETURN(std::optional<Program> program, s.find_program(program_id));
    if (!program) return not_found("program", format_id(program_id));
    JsonWriter w;
    write_member(w, *member, &balance, &*program);
    return http::Response{200, "application/json", w.take(), {}};
  });
}

void patch_member(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = path_id<MemberTag>(ctx, 0);
  if (!id) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  auto patch = decode_member_patch(ctx.body);
  if (!patch.ok()) return respond_error(ctx, respond, patch.status());
  submit_write(
      ctx, respond,
      member_write(engine::UpdateMember{program_of(ctx), *id, std::move(patch).value()}, 200));
}

void block_member(http::RequestContext& ctx, const http::Responder& respond) {
  set_status(ctx, respond, MemberStatus::kBlocked);
}

void unblock_member(http::RequestContext& ctx, const http::Responder& respond) {
  set_status(ctx, respond, MemberStatus::kActive);
}

}  // namespace loyalty::api
