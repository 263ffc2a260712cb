// Member tiers (docs/tiers.md): the member's tier with progress to the next,
// its history, and manual assignment by an admin.
#include <fmt/format.h>

#include "api/routes.h"
#include "api/support.h"
#include "common/json_writer.h"
#include "domain/config_document.h"
#include "engine/tier_commands.h"
#include "http/json_decode.h"

namespace loyalty::api {

namespace {

constexpr size_t kMaxTierIdLength = 64;
constexpr size_t kMaxTierReasonLength = 500;

void write_instant_or_null(JsonWriter& w, std::string_view key, std::optional<Instant> at) {
  if (at) {
    w.field(key, format_rfc3339(*at));
  } else {
    w.field_null(key);
  }
}

void write_level(JsonWriter& w, const TierLevel& level) {
  w.begin_object().field("id", level.id).field("name", level.name);
  w.field("threshold", level.threshold);
  w.key("benefits").begin_object();
  write_tier_benefit_fields(w, level.benefits);
  // The early-access flag a storefront reads, besides its offset.
  w.field("early_access", level.benefits.early_access_hours > 0);
  w.end_object().end_object();
}

void write_level_or_null(JsonWriter& w, std::string_view key, const TierConfig& config, int level) {
  w.key(key);
  if (level < 0) {
    w.null();
  } else {
    write_level(w, config.levels[static_cast<size_t>(level)]);
  }
}

std::string tier_view_json(const engine::MemberTierView& v) {
  const TierConfig& config = v.config->tiers;
  JsonWriter w;
  w.begin_object().field("member_id", format_id(v.member_id));
  w.field("tiers_enabled", config.enabled());
  // The effective tier: the higher of the one held and the one a paid plan grants.
  write_level_or_null(w, "tier", config, level_index(config, v.effective_tier));
  w.field("held_tier", v.state.tier_id).field("granted_tier", v.granted_tier);
  if (config.enabled()) {
    w.field("since", format_rfc3339(v.state.since));
  } else {
    w.field_null("since");
  }
  write_instant_or_null(w, "guaranteed_until", v.state.guaranteed_until);
  w.field("source", to_string(v.state.source));
  if (v.state.source == TierSource::kManual) {
    w.key("manual").begin_object().field("reason", v.state.manual_reason);
    write_instant_or_null(w, "expires_at", v.state.manual_expires_at);
    w.field("actor", v.state.actor).end_object();
  } else {
    w.field_null("manual");
  }
  w.key("metric").begin_object().field("kind", to_string(config.metric));
  w.field("value", v.progress.value)
      .field("spend_minor", v.metrics.spend_minor)
      .field("points", v.metrics.points)
      .field("orders", v.metrics.orders)
      .field("currency", v.currency)
      .field("window", to_string(config.window.kind));
  write_instant_or_null(w, "window_start", v.window_start);
  write_instant_or_null(w, "window_end", v.window_end);
  w.end_object();
  w.key("progress").begin_object();
  write_level_or_null(w, "next_tier", config, v.progress.next_level);
  if (v.progress.next_level >= 0) {
    w.field("remaining", v.progress.remaining);
  } else {
    w.field_null("remaining");
  }
  write_instant_or_null(
      w, "deadline", v.progress.next_level >= 0 ? v.progress.deadline : std::optional<Instant>());
  w.field("message", v.message).end_object();
  w.end_object();
  return w.take();
}

// {"admin_id"} or {"name", "email"}; the form is checked by
// validate_account_manager.
Result<std::optional<AccountManager>> decode_account_manager(const http::JsonObject& o) {
  LOYALTY_ASSIGN_OR_RETURN(auto m,
                           o.optional_object("account_manager", {"name", "email", "admin_id"}));
  if (!m) return std::optional<AccountManager>();
  AccountManager out;
  LOYALTY_ASSIGN_OR_RETURN(auto name, m->optional_string("name", kMaxAccountManagerFieldLength));
  LOYALTY_ASSIGN_OR_RETURN(auto email, m->optional_string("email", kMaxAccountManagerFieldLength));
  LOYALTY_ASSIGN_OR_RETURN(auto admin,
                           m->optional_string("admin_id", kMaxAccountManagerFieldLength));
  out.name = name.value_or("");
  out.email = email.value_or("");
  out.admin_id = admin.value_or("");
  LOYALTY_RETURN_IF_ERROR(validate_account_manager(out));
  return std::optional<AccountManager>(std::move(out));
}

Result<engine::SetMemberTier> decode_set_member_tier(std::string_view body, ProgramId program,
                                                     MemberId member, std::string_view actor) {
  LOYALTY_ASSIGN_OR_RETURN(
      http::JsonObject o,
      http::parse_object(body, {"tier", "reason", "expires_at", "account_manager", "actor"}));
  engine::SetMemberTier c;
  c.program_id = program;
  c.member_id = member;
  // "tier": null ends an admin's assignment (a VIP's too).
  if (!o.is_null("tier")) {
    LOYALTY_ASSIGN_OR_RETURN(c.tier_id, o.required_string("tier", kMaxTierIdLength));
  } else if (o.has("expires_at")) {
    return http::field_error("expires_at", "applies to an assignment, not to \"tier\": null");
  }
  LOYALTY_ASSIGN_OR_RETURN(c.reason, o.required_string("reason", kMaxTierReasonLength));
  LOYALTY_ASSIGN_OR_RETURN(c.expires_at, o.optional_instant("expires_at"));
  LOYALTY_ASSIGN_OR_RETURN(c.account_manager, decode_account_manager(o));
  LOYALTY_ASSIGN_OR_RETURN(auto person, o.optional_string("actor", kMaxTierReasonLength, 1));
  c.actor = person ? fmt::format("{}:{}", actor, *person) : std::string(actor);
  return c;
}

}  // namespace

void get_member_tier(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = path_id<MemberTag>(ctx, 0);
  if (!id) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  const Instant now = ctx.services->clock->now();
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    auto view = engine::read_member_tier(s, program_of(ctx), *id, now);
    if (!view.ok() && view.status().code() == ErrorCode::kNotFound) {
      return not_found("member", ctx.param(0));
    }
    LOYALTY_RETURN_IF_ERROR(view.status());
    return http::Response{200, "application/json", tier_view_json(*view), {}};
  });
}

void list_member_tier_history(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = path_id<MemberTag>(ctx, 0);
  if (!id) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  if (Status st = ctx.query.check_allowed({"limit", "cursor"}); !st.ok()) {
    return respond_error(ctx, respond, st);
  }
  auto page = cursor_page<store::TierHistoryTag>(ctx.query);
  if (!page.ok()) return respond_error(ctx, respond, page.status());
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    const ProgramId program = program_of(ctx);
    LOYALTY_ASSIGN_OR_RETURN(std::optional<Member> member, s.find_member(program, *id));
    if (!member) return not_found("member", ctx.param(0));
    LOYALTY_ASSIGN_OR_RETURN(auto entries,
                             s.list_tier_history(program, *id, page->cursor, page->limit + 1));
    std::string body = list_json(
        entries, page->limit,
        [](JsonWriter& w, const store::TierHistoryEntry& e) {
          w.begin_object()
              .field("id", format_id(e.id))
              .field("change", to_string(e.change))
              .field("from_tier", e.from_tier)
              .field("to_tier", e.to_tier)
              .field("metric_value", e.metric_value);
          write_instant_or_null(w, "guaranteed_until", e.guaranteed_until);
          w.field("reason", e.reason)
              .field("actor", e.actor)
              .field("occurred_at", format_rfc3339(e.occurred_at))
              .end_object();
        },
        [](const store::TierHistoryEntry& e) { return e.id; });
    return http::Response{200, "application/json", std::move(body), {}};
  });
}

// GET /v1/vip/members: the members holding an invite-only tier, by member id,
// optionally only one account manager's (`account_manager`: an admin id or an
// email).
void list_vip_members(http::RequestContext& ctx, const http::Responder& respond) {
  if (Status st = ctx.query.check_allowed({"limit", "cursor", "account_manager"}); !st.ok()) {
    return respond_error(ctx, respond, st);
  }
  auto page = cursor_page<MemberTag>(ctx.query);
  if (!page.ok()) return respond_error(ctx, respond, page.status());
  const std::string manager(ctx.query.get("account_manager").value_or(std::string_view()));
  if (manager.size() > kMaxAccountManagerFieldLength) {
    return respond_error(
        ctx, respond,
        http::field_error("account_manager",
                          fmt::format("at most {} characters", kMaxAccountManagerFieldLength)));
  }
  const Instant now = ctx.services->clock->now();
  respond_read(ctx, respond, [&](store::StoreSession& s) -> Result<http::Response> {
    LOYALTY_ASSIGN_OR_RETURN(auto vips, s.list_vip_members(program_of(ctx), manager, page->cursor,
                                                           now, page->limit + 1));
    std::string body = list_json(
        vips, page->limit,
        [](JsonWriter& w, const store::VipMember& v) {
          w.begin_object().field("member_id", format_id(v.member_id)).field("tier", v.tier_id);
          w.key("account_manager").begin_object();
          engine::write_account_manager_fields(w, v.manager);
          w.end_object()
              .field("reason", v.reason)
              .field("assigned_by", v.actor)
              .field("assigned_at", format_rfc3339(v.assigned_at));
          write_instant_or_null(w, "expires_at", v.expires_at);
          w.end_object();
        },
        [](const store::VipMember& v) { return v.member_id; });
    return http::Response{200, "application/json", std::move(body), {}};
  });
}

void put_member_tier(http::RequestContext& ctx, const http::Responder& respond) {
  auto id = path_id<MemberTag>(ctx, 0);
  if (!id) return respond_error(ctx, respond, not_found("member", ctx.param(0)));
  auto command = decode_set_member_tier(ctx.body, program_of(ctx), *id, actor_of(ctx));
  if (!command.ok()) return respond_error(ctx, respond, command.status());
  Write write;
  write.body = std::move(command).value();
  write.success_status = 200;
  write.encode = [](const engine::Outcome& outcome, bool) {
    return tier_view_json(std::get<engine::MemberTierView>(outcome.value));
  };
  submit_write(ctx, respond, std::move(write));
}

}  // namespace loyalty::api
