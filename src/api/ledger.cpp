// The points ledger: credits, debits, adjustments, transfers, reversals,
// postings, lots and balances.
#include "api/decoders.h"
#include "api/encoders.h"
#include "api/routes.h"
#include "api/support.h"

namespace loyalty::api {

namespace {

Write posting_write(engine::CommandBody body) {
  Write write;
  write.body = std::move(body);
  write.success_status = 201;
  write.encode = [](const engine::Outcome& outcome, bool) {
    return posting_json(std::get<Posting>(outcome.value));
  };
  return write;
}

// Decodes a member-scoped ledger command and submits it; 404 for an id that is
// not a member id (members of other programs are the engine's 404).
template <typename Decode>
void member_ledger_write(http::RequestContext& ctx, const http::Responder& respond, Decode decode) {
  auto member = path_id<MemberTag>(ctx, 0);
  if (!member) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  auto command = decode(ctx.body, program_of(ctx), *member, actor_of(ctx));
  if (!command.ok()) return respond_error(ctx, respond, command.status());
  submit_write(ctx, respond, posting_write(std::move(command).value()));
}

// Reads the member (404 when it is not in the key's program) before a
// member-scoped listing.
Status require_member(store::StoreSession& s, const http::RequestContext& ctx, MemberId id) {
  LOYALTY_ASSIGN_OR_RETURN(std::optional<Member> member, s.find_member(program_of(ctx), id));
  if (!member) return not_found("member", ctx.param(0));
  return {};
}

}  // namespace

void credit_member(http::RequestContext& ctx, const http::Responder& respond) {
  member_ledger_write(ctx, respond, decode_credit);
}

void debit_member(http::RequestContext& ctx, const http::Responder& respond) {
  member_ledger_write(ctx, respond, decode_debit);
}

void adjust_member(http::RequestContext& ctx, const http::Responder& respond) {
  member_ledger_write(ctx, respond, decode_adjustment);
}

void transfer_points(http::RequestContext& ctx, const http::Responder& respond) {
  auto command = decode_transfer(ctx.body, program_of(ctx), actor_of(ctx));
  if (!command.ok()) return respond_error(ctx, respond, command.status());
  submit_write(ctx, respond, posting_write(std::move(command).value()));
}

void reverse_posting(http::RequestContext& ctx, const http::Responder& respond) {
  auto posting = path_id<PostingTag>(ctx, 0);
  if (!posting) return respond_error(ctx, respond, not_found("posting", ctx.param(0)));
  auto command = decode_reversal(ctx.body, program_of(ctx), *posting, actor_of(ctx));
  if (!command.ok()) return respond_error(ctx, respond, command.status());
  submit_write(ctx, respond, posting_write(std::move(command).value()));
}

void get_posting(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = path_id<PostingTag>(ctx, 0);
  if (!id) return respond_error(ctx, respond, not_found("posting", ctx.param(0)));
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    LOYALTY_ASSIGN_OR_RETURN(std::optional<Posting> posting, s.find_posting(program_of(ctx), *id));
    if (!posting) return not_found("posting", ctx.param(0));
    return http::Response{200, "application/json", posting_json(*posting), {}};
  });
}

void list_member_postings(http::RequestContext& ctx, const http::Responder& respond) {
  auto member = path_id<MemberTag>(ctx, 0);
  if (!member) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  if (Status st = ctx.query.check_allowed({"limit", "cursor"}); !st.ok()) {
    return respond_error(ctx, respond, st);
  }
  auto page = cursor_page<PostingTag>(ctx.query);
  if (!page.ok()) return respond_error(ctx, respond, page.status());
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    LOYALTY_RETURN_IF_ERROR(require_member(s, ctx, *member));
    LOYALTY_ASSIGN_OR_RETURN(
        std::vector<Posting> postings,
        s.list_member_postings(program_of(ctx), *member, page->cursor, page->limit + 1));
    std::string body = list_json(
        postings, page->limit, [](JsonWriter& w, const Posting& p) { write_posting(w, p); },
        [](const Posting& p) { return p.id; });
    return http::Response{200, "application/json", std::move(body), {}};
  });
}

void list_member_lots(http::RequestContext& ctx, const http::Responder& respond) {
  auto member = path_id<MemberTag>(ctx, 0);
  if (!member) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  if (Status st = ctx.query.check_allowed({"open", "limit", "cursor"}); !st.ok()) {
    return respond_error(ctx, respond, st);
  }
  bool open_only = false;
  if (auto open = ctx.query.get("open")) {
    if (*open != "true" && *open != "false") {
      return respond_error(ctx, respond,
                           Status(ErrorCode::kInvalidRequest, "open: must be true or false"));
    }
    open_only = *open == "true";
  }
  auto page = cursor_page<LotTag>(ctx.query);
  if (!page.ok()) return respond_error(ctx, respond, page.status());
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    LOYALTY_RETURN_IF_ERROR(require_member(s, ctx, *member));
    LOYALTY_ASSIGN_OR_RETURN(std::vector<Lot> lots, s.list_lots(program_of(ctx), *member, open_only,
                                                                page->cursor, page->limit + 1));
    std::string body = list_json(
        lots, page->limit, [](JsonWriter& w, const Lot& lot) { write_lot(w, lot); },
        [](const Lot& lot) { return lot.id; });
    return http::Response{200, "application/json", std::move(body), {}};
  });
}

void get_member_balance(http::RequestContext& ctx, const http::Responder& respond) {
  auto member = path_id<MemberTag>(ctx, 0);
  if (!member) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    ProgramId program_id = program_of(ctx);
    LOYALTY_RETURN_IF_ERROR(require_member(s, ctx, *member));
    LOYALTY_ASSIGN_OR_RETURN(Balance balance, s.get_balance(program_id, *member));
    LOYALTY_ASSIGN_OR_RETURN(std::optional<Program> program, s.find_program(program_id));
    if (!program) return not_found("program", format_id(program_id));
    JsonWriter w;
    write_balance(w, *member, balance, *program);
    return http::Response{200, "application/json", w.take(), {}};
  });
}

}  // namespace loyalty::api
