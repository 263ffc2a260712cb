// The outbox: GET /v1/outbox?after=&limit= (docs/events.md).
//
// Until delivery (webhooks, email, inbox) lands, integrators and tests poll the
// business events here: ascending ids, from the one after `after`.
#include "api/routes.h"
#include "api/support.h"

namespace loyalty::api {

void list_outbox_events(http::RequestContext& ctx, const http::Responder& respond) {
  if (Status st = ctx.query.check_allowed({"after", "limit"}); !st.ok()) {
    return respond_error(ctx, respond, st);
  }
  auto limit = page_limit(ctx.query);
  if (!limit.ok()) return respond_error(ctx, respond, limit.status());
  store::OutboxEventId after;
  if (auto text = ctx.query.get("after")) {
    auto id = parse_id<store::OutboxEventTag>(*text);
    if (!id) {
      return respond_error(
          ctx, respond,
          Status(ErrorCode::kInvalidRequest, "after: must be an outbox event id like \"oev_42\""));
    }
    after = *id;
  }
  respond_read(ctx, respond, [&, page = *limit](store::StoreSession& s) -> Result<http::Response> {
    LOYALTY_ASSIGN_OR_RETURN(auto events, s.list_outbox_events(program_of(ctx), after, page));
    JsonWriter w;
    w.begin_object().key("data").begin_array();
    for (const store::OutboxEvent& e : events) {
      w.begin_object().field("id", format_id(e.id)).field("type", e.type);
      if (e.member_id.valid()) {
        w.field("member_id", format_id(e.member_id));
      } else {
        w.field_null("member_id");
      }
      w.field_raw("payload", e.payload_json).field("created_at", format_rfc3339(e.created_at));
      if (e.delivered_at) {
        w.field("delivered_at", format_rfc3339(*e.delivered_at));
      } else {
        w.field_null("delivered_at");
      }
      w.end_object();
    }
    w.end_array();
    // Where the next poll starts: the last event shown, or `after` again.
    store::OutboxEventId next = events.empty() ? after : events.back().id;
    if (next.valid()) {
      w.field("next_after", format_id(next));
    } else {
      w.field_null("next_after");
    }
    w.end_object();
    return http::Response{200, "application/json", w.take(), {}};
  });
}

}  // namespace loyalty::api
