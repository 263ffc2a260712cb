#include "api/encoders.h"

#include "common/ids.h"
#include "common/time.h"

namespace loyalty::api {

namespace {

void field_instant(JsonWriter& w, std::string_view name, const std::optional<Instant>& t) {
  if (t) {
    w.field(name, format_rfc3339(*t));
  } else {
    w.field_null(name);
  }
}

void field_optional_bool(JsonWriter& w, std::string_view name, const std::optional<bool>& b) {
  if (b) {
    w.field(name, *b);
  } else {
    w.field_null(name);
  }
}

}  // namespace

void write_program(JsonWriter& w, const Program& p) {
  w.begin_object()
      .field("id", format_id(p.id))
      .field("name", p.name)
      .field("currency", p.currency)
      .field("timezone", p.timezone)
      .field("points_name", p.points_name);
  w.key("point_value")
      .begin_object()
      .field("amount_minor", p.point_value_minor)
      .field("points", p.point_value_points)
      .end_object();
  w.field("negative_balance", to_string(p.negative_balance));
  w.key("transfers")
      .begin_object()
      .field("enabled", p.transfers.enabled)
      .field("min_points", p.transfers.min_points)
      .field("max_points", p.transfers.max_points)
      .field("daily_limit_points", p.transfers.daily_limit_points)
      .end_object();
  w.field("created_at", format_rfc3339(p.created_at))
      .field("updated_at", format_rfc3339(p.updated_at))
      .end_object();
}

void write_api_key(JsonWriter& w, const store::ApiKey& key,
                   const std::optional<std::string>& secret) {
  w.begin_object()
      .field("id", format_id(key.id))
      .field("program_id", format_id(key.program_id))
      .field("name", key.name)
      .field("prefix", key.prefix);
  if (secret) w.field("secret", *secret);
  w.key("scopes").begin_array();
  for (const std::string& s : key.scopes) w.value(s);
  w.end_array();
  w.field("created_at", format_rfc3339(key.created_at));
  field_instant(w, "revoked_at", key.revoked_at);
  w.end_object();
}

void write_member(JsonWriter& w, const Member& m, const Balance* balance, const Program* program) {
  w.begin_object()
      .field("id", format_id(m.id))
      .field("external_id", m.external_id)
      .field("email", m.email)
      .field("first_name", m.first_name)
      .field("last_name", m.last_name);
  if (m.birthday) {
    w.field("birthday", format_local_date(*m.birthday));
  } else {
    w.field_null("birthday");
  }
  w.field_raw("attributes", m.attributes_json);
  w.key("marketing_consent").begin_object();
  field_optional_bool(w, "email", m.consent.email);
  field_optional_bool(w, "sms", m.consent.sms);
  field_optional_bool(w, "push", m.consent.push);
  w.end_object();
  w.field("status", to_string(m.status))
      .field("orders_count", m.orders_count)
      .field("total_spent_minor", m.total_spent_minor)
      .field("created_at", format_rfc3339(m.created_at))
      .field("updated_at", format_rfc3339(m.updated_at));
  if (balance != nullptr && program != nullptr) {
    w.key("balance");
    write_balance(w, m.id, *balance, *program);
  }
  w.end_object();
}

int64_t posting_member_points(const Posting& posting) {
  int64_t net = 0;
  for (const Entry& e : posting.entries) {
    if (e.member == posting.member && is_member_balance_account(e.account)) net += e.amount.value;
  }
  return net;
}

void write_posting(JsonWriter& w, const Posting& p) {
  w.begin_object()
      .field("id", format_id(p.id))
      .field("kind", to_string(p.kind))
      .field("member_id", format_id(p.member));
  if (p.counterparty.valid()) {
    w.field("counterparty_member_id", format_id(p.counterparty));
  } else {
    w.field_null("counterparty_member_id");
  }
  w.field("points", posting_member_points(p)).field("reason", p.reason).field("source", p.source);
  if (p.reason_code.empty()) {
    w.field_null("reason_code");
  } else {
    w.field("reason_code", p.reason_code);
  }
  w.field("actor", p.actor);
  if (p.reverses.valid()) {
    w.field("reverses", format_id(p.reverses));
  } else {
    w.field_null("reverses");
  }
  w.field("created_at", format_rfc3339(p.created_at));
  // The configuration version active when the posting was made (absent for
  // postings made before the program had a configuration).
  if (p.config_version > 0) w.field("config_version", p.config_version);
  w.key("entries").begin_array();
  for (const Entry& e : p.entries) {
    w.begin_object().field("member_id", format_id(e.member)).field("account", to_string(e.account));
    if (e.lot.existing.valid()) {
      w.field("lot_id", format_id(e.lot.existing));
    } else {
      w.field_null("lot_id");
    }
    w.field("points", e.amount.value).end_object();
  }
  w.end_array().end_object();
}

void write_lot(JsonWriter& w, const Lot& lot) {
  w.begin_object()
      .field("id", format_id(lot.id))
      .field("member_id", format_id(lot.member))
      .field("posting_id", format_id(lot.posting))
      .field("original_points", lot.original.value)
      .field("remaining_points", lot.remaining.value)
      .field("pending", lot.pending)
      .field("created_at", format_rfc3339(lot.created_at));
  field_instant(w, "available_at", lot.available_at);
  field_instant(w, "expires_at", lot.expires_at);
  w.end_object();
}

void write_balance(JsonWriter& w, MemberId member, const Balance& b, const Program& program) {
  int64_t held = 0;
  // Only a corrupt ledger could overflow here; the value then saturates
  // rather than wrapping into a nonsense liability.
  // Held points (checkout holds) are owed until captured: part of the liability.
  if (!checked_add(b.available.value, b.pending.value, &held) ||
      !checked_add(held, b.held.value, &held)) {
    held = b.available.value > 0 ? INT64_MAX : INT64_MIN;
  }
  w.begin_object()
      .field("member_id", format_id(member))
      .field("available", b.available.value)
      .field("pending", b.pending.value)
      .field("held", b.held.value)
      .field("lifetime_earned", b.lifetime_earned.value)
      .field("lifetime_spent", b.lifetime_spent.value)
      .field("expired", b.expired.value)
      .field("adjusted", b.adjusted.value)
      .field("transferred_net", b.transferred_net.value);
  w.key("points_value")
      .begin_object()
      .field("amount_minor", points_value_minor(program, held))
      .field("currency", program.currency)
      .end_object();
  w.end_object();
}

std::string program_json(const Program& program) {
  JsonWriter w;
  write_program(w, program);
  return w.take();
}

std::string member_json(const Member& member) {
  JsonWriter w;
  write_member(w, member);
  return w.take();
}

std::string posting_json(const Posting& posting) {
  JsonWriter w;
  write_posting(w, posting);
  return w.take();
}

}  // namespace loyalty::api
