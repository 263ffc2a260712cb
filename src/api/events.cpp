// Custom events: POST /v1/events, GET /v1/members/{id}/events (docs/earning.md).
//
// Scope ledger:write to record (an event credits points), ledger:read to list.
// Idempotent on the event's id: the write's idempotency key is "event:" + id,
// so a replay returns the first response and the same id with another body is
// 422 idempotency-key-reused; an Idempotency-Key header is not needed.
#include "api/decoders.h"
#include "api/routes.h"
#include "api/support.h"

namespace loyalty::api {
namespace {

void write_event(JsonWriter& w, const store::MemberEvent& e,
                 const std::vector<engine::RuleExplanation>* rules) {
  w.begin_object()
      .field("id", format_id(e.id))
      .field("external_id", e.external_id)
      .field("member_id", format_id(e.member_id))
      .field("type", e.type)
      .field("occurred_at", format_rfc3339(e.occurred_at))
      .field_raw("attributes", e.attributes_json)
      .field("points", e.points)
      .field_raw("awards", e.awards_json)
      .field("created_at", format_rfc3339(e.created_at));
  if (rules != nullptr) {
    // Why each rule of the event's type awarded or not.
    w.key("rules").begin_array();
    for (const engine::RuleExplanation& x : *rules) {
      w.begin_object()
          .field("rule_id", x.rule_id)
          .field("rule_name", x.rule_name)
          .field("outcome", x.outcome)
          .field("points", x.points)
          .end_object();
    }
    w.end_array();
  }
  w.end_object();
}

}  // namespace

void record_event(http::RequestContext& ctx, const http::Responder& respond) {
  auto command = decode_record_event(ctx.body, program_of(ctx), actor_of(ctx));
  if (!command.ok()) return respond_error(ctx, respond, command.status());
  Write write;
  write.natural_idempotency_key = "event:" + command->external_id;
  write.body = std::move(command).value();
  write.success_status = 201;
  write.encode = [](const engine::Outcome& outcome, bool) {
    const auto& recorded = std::get<engine::EventRecorded>(outcome.value);
    JsonWriter w;
    write_event(w, recorded.event, &recorded.rules);
    return w.take();
  };
  submit_write(ctx, respond, std::move(write));
}

void list_member_events(http::RequestContext& ctx, const http::Responder& respond) {
  auto member = path_id<MemberTag>(ctx, 0);
  if (!member) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  if (Status st = ctx.query.check_allowed({"limit", "cursor"}); !st.ok()) {
    return respond_error(ctx, respond, st);
  }
  auto page = cursor_page<store::MemberEventTag>(ctx.query);
  if (!page.ok()) return respond_error(ctx, respond, page.status());
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    LOYALTY_ASSIGN_OR_RETURN(std::optional<Member> found, s.find_member(program_of(ctx), *member));
    if (!found) return not_found("member", ctx.param(0));
    LOYALTY_ASSIGN_OR_RETURN(
        std::vector<store::MemberEvent> events,
        s.list_member_events(program_of(ctx), *member, page->cursor, page->limit + 1));
    std::string body = list_json(
        events, page->limit,
        [](JsonWriter& w, const store::MemberEvent& e) { write_event(w, e, nullptr); },
        [](const store::MemberEvent& e) { return e.id; });
    return http::Response{200, "application/json", std::move(body), {}};
  });
}

}  // namespace loyalty::api
