#include "api/decoders.h"

#include <fmt/format.h>

#include <map>

#include "api/decode_support.h"
#include "common/json_writer.h"
#include "http/json_decode.h"

namespace loyalty::api {

namespace {

using http::field_error;
using http::JsonObject;
using simdjson::dom::element;
using simdjson::dom::element_type;

constexpr int64_t kMaxPointValue = 1'000'000'000;
constexpr int64_t kMaxTransferLimitPoints = kMaxPointsPerPosting;
constexpr int64_t kMaxDailyLimitPoints = 1'000'000'000'000'000;

// Points of a ledger command: an integer, positive unless `signed_amount`
// (then non-zero), at most kMaxPointsPerPosting in absolute value.
Result<Points> decode_points(const JsonObject& o, bool signed_amount) {
  LOYALTY_ASSIGN_OR_RETURN(int64_t points, o.required_int("points", INT64_MIN, INT64_MAX));
  if (!signed_amount && points <= 0) return field_error("points", "must be a positive integer");
  if (signed_amount && points == 0) return field_error("points", "must not be zero");
  if (points > kMaxPointsPerPosting || points < -kMaxPointsPerPosting) {
    return Status(
        ErrorCode::kAmountOutOfRange,
        fmt::format("points: must be at most {} in absolute value", kMaxPointsPerPosting));
  }
  return Points{points};
}

Result<std::string> optional_text(const JsonObject& o, std::string_view name, size_t max_chars) {
  LOYALTY_ASSIGN_OR_RETURN(std::optional<std::string> text, o.optional_string(name, max_chars));
  return text.value_or("");
}

// A member id in a request body ("mem_42").
Result<MemberId> decode_member_id(const JsonObject& o, std::string_view name) {
  LOYALTY_ASSIGN_OR_RETURN(std::string text, o.required_string(name, 32));
  auto id = parse_id<MemberTag>(text);
  if (!id) return field_error(name, "must be a member id such as mem_42");
  return *id;
}

// Point value, negative-balance policy and transfer policy: shared by create
// and patch, written into a ProgramPatch.
Status decode_program_settings(const JsonObject& o, engine::ProgramPatch& patch) {
  LOYALTY_ASSIGN_OR_RETURN(patch.name, o.optional_string("name", kMaxProgramNameLength, 1));
  LOYALTY_ASSIGN_OR_RETURN(patch.timezone, o.optional_string("timezone", kMaxTimezoneLength, 1));
  LOYALTY_ASSIGN_OR_RETURN(patch.points_name,
                           o.optional_string("points_name", kMaxPointsNameLength, 1));
  LOYALTY_ASSIGN_OR_RETURN(auto point_value,
                           o.optional_object("point_value", {"amount_minor", "points"}));
  if (point_value) {
    LOYALTY_ASSIGN_OR_RETURN(patch.point_value_minor,
                             point_value->optional_int("amount_minor", 0, kMaxPointValue));
    LOYALTY_ASSIGN_OR_RETURN(patch.point_value_points,
                             point_value->optional_int("points", 1, kMaxPointValue));
  }
  LOYALTY_ASSIGN_OR_RETURN(auto policy, o.optional_string("negative_balance", 16));
  if (policy) {
    patch.negative_balance = parse_negative_balance_policy(*policy);
    if (!patch.negative_balance) {
      return field_error("negative_balance", "must be \"forbid\" or \"allow\"");
    }
  }
  LOYALTY_ASSIGN_OR_RETURN(auto transfers,
                           o.optional_object("transfers", {"enabled", "min_points", "max_points",
                                                           "daily_limit_points"}));
  if (transfers) {
    LOYALTY_ASSIGN_OR_RETURN(patch.transfers_enabled, transfers->optional_bool("enabled"));
    LOYALTY_ASSIGN_OR_RETURN(patch.transfer_min_points,
                             transfers->optional_int("min_points", 1, kMaxTransferLimitPoints));
    LOYALTY_ASSIGN_OR_RETURN(patch.transfer_max_points,
                             transfers->optional_int("max_points", 0, kMaxTransferLimitPoints));
    LOYALTY_ASSIGN_OR_RETURN(
        patch.transfer_daily_limit_points,
        transfers->optional_int("daily_limit_points", 0, kMaxDailyLimitPoints));
  }
  return {};
}

Result<MarketingConsent> decode_consent(const JsonObject& o) {
  MarketingConsent consent;
  LOYALTY_ASSIGN_OR_RETURN(consent.email, o.optional_bool("email"));
  LOYALTY_ASSIGN_OR_RETURN(consent.sms, o.optional_bool("sms"));
  LOYALTY_ASSIGN_OR_RETURN(consent.push, o.optional_bool("push"));
  return consent;
}

// first_name / last_name: a string, or null for none.
Result<std::optional<std::string>> decode_name(const JsonObject& o, std::string_view name) {
  if (o.is_null(name)) return std::optional<std::string>(std::string());
  return o.optional_string(name, kMaxNameLength);
}

// birthday: "YYYY-MM-DD", or null for none. Outer nullopt = absent.
Result<std::optional<std::optional<LocalDate>>> decode_birthday(const JsonObject& o) {
  using Birthday = std::optional<std::optional<LocalDate>>;
  if (!o.has("birthday")) return Birthday();
  if (o.is_null("birthday")) return Birthday(std::optional<LocalDate>());
  LOYALTY_ASSIGN_OR_RETURN(std::string text,
                           http::as_string(*o.get("birthday"), "birthday", 10, 1));
  auto date = parse_local_date(text);
  if (!date) return field_error("birthday", "must be a date YYYY-MM-DD");
  return Birthday(std::optional<LocalDate>(*date));
}

Result<std::string> decode_email(const JsonObject& o) {
  LOYALTY_ASSIGN_OR_RETURN(std::string email, o.required_string("email", kMaxEmailLength));
  auto normalized = normalize_email(email);
  if (!normalized.ok())
    return field_error("email", "must be an email address such as ada@example.com");
  return std::move(normalized).value();
}

// The common fields of enroll and patch, into a MemberPatch.
Status decode_member_fields(const JsonObject& o, engine::MemberPatch& patch) {
  if (o.has("email")) {
    LOYALTY_ASSIGN_OR_RETURN(patch.email, decode_email(o));
  }
  LOYALTY_ASSIGN_OR_RETURN(patch.first_name, decode_name(o, "first_name"));
  LOYALTY_ASSIGN_OR_RETURN(patch.last_name, decode_name(o, "last_name"));
  LOYALTY_ASSIGN_OR_RETURN(patch.birthday, decode_birthday(o));
  if (auto attributes = o.get("attributes")) {
    if (attributes->is_null()) {
      patch.attributes_json = "{}";
    } else {
      LOYALTY_ASSIGN_OR_RETURN(patch.attributes_json,
                               canonical_attributes_of(*attributes, "attributes"));
    }
  }
  LOYALTY_ASSIGN_OR_RETURN(auto consent,
                           o.optional_object("marketing_consent", {"email", "sms", "push"}));
  if (consent) {
    LOYALTY_ASSIGN_OR_RETURN(patch.consent, decode_consent(*consent));
  }
  return {};
}

}  // namespace

Result<engine::ReferralAttach> decode_referral_attach(const JsonObject& o) {
  constexpr size_t kMaxHashLength = 128;
  engine::ReferralAttach a;
  LOYALTY_ASSIGN_OR_RETURN(auto code,
                           o.optional_string(kReferralCodeField, kMaxReferralCodeTextLength, 1));
  a.code = code.value_or("");
  LOYALTY_ASSIGN_OR_RETURN(
      auto signals,
      o.optional_object(kReferralSignalsField, {"shipping_address_hash", "payment_fingerprint_hash",
                                                "device_hash", "ip_hash"}));
  if (signals) {
    std::string* targets[] = {&a.signals.shipping_hash, &a.signals.payment_hash,
                              &a.signals.device_hash, &a.signals.ip_hash};
    const std::string_view names[] = {"shipping_address_hash", "payment_fingerprint_hash",
                                      "device_hash", "ip_hash"};
    for (size_t i = 0; i < std::size(names); ++i) {
      LOYALTY_ASSIGN_OR_RETURN(auto v, signals->optional_string(names[i], kMaxHashLength));
      *targets[i] = v.value_or("");
    }
  }
  return a;
}

Result<std::string> canonical_attributes_of(element value, std::string_view path) {
  simdjson::dom::object object;
  if (value.get(object)) {
    return field_error(path, std::string("must be an object, not ") + http::json_type_name(value));
  }
  // Sorted keys make the stored text canonical: equal attributes, equal text.
  std::map<std::string_view, element> sorted;
  for (auto [key, v] : object) {
    std::string field = std::string(path) + "." + std::string(key);
    if (key.empty() || http::utf8_length(key) > kMaxAttributeKeyLength) {
      return field_error(
          field, fmt::format("attribute names must be 1 to {} characters", kMaxAttributeKeyLength));
    }
    if (!sorted.emplace(key, v).second) return field_error(field, "is given more than once");
    if (sorted.size() > kMaxAttributes) {
      return field_error(path, fmt::format("must have at most {} keys", kMaxAttributes));
    }
  }
  JsonWriter w;
  w.begin_object();
  for (auto [key, v] : sorted) {
    w.key(key);
    switch (v.type()) {
      case element_type::STRING: {
        LOYALTY_ASSIGN_OR_RETURN(std::string text,
                                 http::as_string(v, std::string(path) + "." + std::string(key),
                                                 kMaxAttributeStringLength, 0));
        w.value(text);
        break;
      }
      case element_type::INT64:
        w.value(v.get_int64().value_unsafe());
        break;
      case element_type::UINT64:
        w.raw(std::to_string(v.get_uint64().value_unsafe()));
        break;
      // The shortest text that reads back as the same double.
      case element_type::DOUBLE:
        w.raw(fmt::format("{}", v.get_double().value_unsafe()));
        break;
      case element_type::BOOL:
        w.value(v.get_bool().value_unsafe());
        break;
      case element_type::NULL_VALUE:
        w.null();
        break;
      default:
        return field_error(std::string(path) + "." + std::string(key),
                           "must be a string, number, boolean or null");
    }
  }
  w.end_object();
  std::string json = w.take();
  if (json.size() > kMaxAttributesJsonBytes) {
    return field_error(path,
                       fmt::format("must be at most {} bytes as JSON", kMaxAttributesJsonBytes));
  }
  return json;
}

Result<std::string> canonical_attributes(std::string_view object_json) {
  LOYALTY_ASSIGN_OR_RETURN(element root, http::parse_json(object_json));
  return canonical_attributes_of(root, "attributes");
}

Result<engine::CreateProgram> decode_create_program(std::string_view body) {
  LOYALTY_ASSIGN_OR_RETURN(
      JsonObject o, http::parse_object(body, {"name", "currency", "timezone", "points_name",
                                              "point_value", "negative_balance", "transfers"}));
  engine::CreateProgram command;
  Program& p = command.program;
  LOYALTY_ASSIGN_OR_RETURN(p.name, o.required_string("name", kMaxProgramNameLength));
  LOYALTY_ASSIGN_OR_RETURN(p.currency, o.required_string("currency", kMaxCurrencyLength, 3));
  LOYALTY_ASSIGN_OR_RETURN(p.timezone, o.required_string("timezone", kMaxTimezoneLength));
  engine::ProgramPatch settings;
  LOYALTY_RETURN_IF_ERROR(decode_program_settings(o, settings));
  p.points_name = settings.points_name.value_or(p.points_name);
  p.point_value_minor = settings.point_value_minor.value_or(p.point_value_minor);
  p.point_value_points = settings.point_value_points.value_or(p.point_value_points);
  p.negative_balance = settings.negative_balance.value_or(p.negative_balance);
  p.transfers.enabled = settings.transfers_enabled.value_or(p.transfers.enabled);
  p.transfers.min_points = settings.transfer_min_points.value_or(p.transfers.min_points);
  p.transfers.max_points = settings.transfer_max_points.value_or(p.transfers.max_points);
  p.transfers.daily_limit_points =
      settings.transfer_daily_limit_points.value_or(p.transfers.daily_limit_points);
  LOYALTY_RETURN_IF_ERROR(validate_program(p));
  return command;
}

Result<engine::ProgramPatch> decode_program_patch(std::string_view body) {
  LOYALTY_ASSIGN_OR_RETURN(
      JsonObject o, http::parse_object(body, {"name", "currency", "timezone", "points_name",
                                              "point_value", "negative_balance", "transfers"}));
  if (o.has("currency")) {
    return field_error("currency",
                       "cannot be changed: balances are valued in it; create a new program");
  }
  engine::ProgramPatch patch;
  LOYALTY_RETURN_IF_ERROR(decode_program_settings(o, patch));
  if (patch.timezone && !is_valid_timezone(*patch.timezone)) {
    return field_error("timezone", "must be an IANA time zone such as Europe/Berlin");
  }
  return patch;
}

Result<engine::CreateApiKey> decode_create_api_key(std::string_view body, ProgramId program) {
  LOYALTY_ASSIGN_OR_RETURN(JsonObject o, http::parse_object(body, {"name", "scopes"}));
  engine::CreateApiKey command;
  command.program_id = program;
  LOYALTY_ASSIGN_OR_RETURN(command.name, o.required_string("name", kMaxApiKeyNameLength));
  auto scopes = o.get("scopes");
  if (!scopes || scopes->is_null()) return field_error("scopes", "is required");
  simdjson::dom::array array;
  if (scopes->get(array)) {
    return field_error("scopes", std::string("must be an array of scope names, not ") +
                                     http::json_type_name(*scopes));
  }
  if (array.size() == 0 || array.size() > kMaxScopesPerKey) {
    return field_error("scopes", fmt::format("must hold 1 to {} scopes", kMaxScopesPerKey));
  }
  size_t index = 0;
  for (element e : array) {
    std::string field = fmt::format("scopes[{}]", index++);
    LOYALTY_ASSIGN_OR_RETURN(std::string scope, http::as_string(e, field, 32, 1));
    if (scope != "*" && !engine::is_known_scope(scope)) {
      return field_error(field,
                         "unknown scope; use \"*\" or one of program:read, program:write, "
                         "keys:write, members:read, members:write, ledger:read, ledger:write, "
                         "orders:read, orders:write");
    }
    for (const std::string& s : command.scopes) {
      if (s == scope) return field_error(field, "is listed twice");
    }
    command.scopes.push_back(std::move(scope));
  }
  return command;
}

Result<engine::EnrollMember> decode_enroll_member(std::string_view body, ProgramId program) {
  std::initializer_list<std::string_view> allowed = {"external_id",
                                                     "email",
                                                     "first_name",
                                                     "last_name",
                                                     "birthday",
                                                     "attributes",
                                                     "marketing_consent",
                                                     kReferralCodeField,
                                                     kReferralSignalsField,
                                                     "gift_token"};
  LOYALTY_ASSIGN_OR_RETURN(JsonObject o, http::parse_object(body, allowed));
  engine::EnrollMember command;
  LOYALTY_ASSIGN_OR_RETURN(command.referral, decode_referral_attach(o));
  LOYALTY_ASSIGN_OR_RETURN(auto gift_token, o.optional_string("gift_token", 64, 1));
  command.gift_token = gift_token.value_or("");
  Member& m = command.member;
  m.program_id = program;
  LOYALTY_ASSIGN_OR_RETURN(m.external_id, o.required_string("external_id", kMaxExternalIdLength));
  if (Status st = validate_external_id(m.external_id); !st.ok()) {
    return field_error("external_id", "must be 1 to 255 characters without control characters");
  }
  if (!o.has("email") || o.is_null("email")) return field_error("email", "is required");
  engine::MemberPatch fields;
  LOYALTY_RETURN_IF_ERROR(decode_member_fields(o, fields));
  m.email = std::move(*fields.email);
  m.first_name = fields.first_name.value_or("");
  m.last_name = fields.last_name.value_or("");
  if (fields.birthday) m.birthday = *fields.birthday;
  m.attributes_json = fields.attributes_json.value_or("{}");
  m.consent = fields.consent.value_or(MarketingConsent{});
  return command;
}

Result<engine::MemberPatch> decode_member_patch(std::string_view body) {
  std::initializer_list<std::string_view> allowed = {"external_id",      "email",    "first_name",
                                                     "last_name",        "birthday", "attributes",
                                                     "marketing_consent"};
  LOYALTY_ASSIGN_OR_RETURN(JsonObject o, http::parse_object(body, allowed));
  if (o.has("external_id")) {
    return field_error("external_id", "cannot be changed; it identifies the member in your shop");
  }
  if (o.is_null("email")) return field_error("email", "cannot be null");
  engine::MemberPatch patch;
  LOYALTY_RETURN_IF_ERROR(decode_member_fields(o, patch));
  return patch;
}

Result<engine::Credit> decode_credit(std::string_view body, ProgramId program, MemberId member,
                                     std::string_view actor) {
  LOYALTY_ASSIGN_OR_RETURN(JsonObject o, http::parse_object(body, {"points", "reason", "source",
                                                                   "expires_at", "available_at"}));
  engine::Credit command{program, member, {}};
  CreditRequest& r = command.request;
  LOYALTY_ASSIGN_OR_RETURN(r.points, decode_points(o, false));
  LOYALTY_ASSIGN_OR_RETURN(r.reason, optional_text(o, "reason", kMaxReasonLength));
  LOYALTY_ASSIGN_OR_RETURN(auto source, o.optional_string("source", kMaxSourceLength, 1));
  if (source) r.source = std::move(*source);
  LOYALTY_ASSIGN_OR_RETURN(r.expires_at, o.optional_instant("expires_at"));
  LOYALTY_ASSIGN_OR_RETURN(r.available_at, o.optional_instant("available_at"));
  if (r.expires_at && r.available_at && *r.expires_at <= *r.available_at) {
    return field_error("expires_at", "must be later than available_at");
  }
  r.actor = std::string(actor);
  return command;
}

Result<engine::Debit> decode_debit(std::string_view body, ProgramId program, MemberId member,
                                   std::string_view actor) {
  LOYALTY_ASSIGN_OR_RETURN(JsonObject o, http::parse_object(body, {"points", "reason"}));
  engine::Debit command{program, member, {}};
  DebitRequest& r = command.request;
  LOYALTY_ASSIGN_OR_RETURN(r.points, decode_points(o, false));
  LOYALTY_ASSIGN_OR_RETURN(r.reason, optional_text(o, "reason", kMaxReasonLength));
  r.actor = std::string(actor);
  return command;
}

Result<engine::Adjust> decode_adjustment(std::string_view body, ProgramId program, MemberId member,
                                         std::string_view actor) {
  LOYALTY_ASSIGN_OR_RETURN(
      JsonObject o,
      http::parse_object(body, {"points", "reason_code", "reason", "actor", "expires_at"}));
  engine::Adjust command{program, member, {}};
  AdjustmentRequest& r = command.request;
  LOYALTY_ASSIGN_OR_RETURN(r.points, decode_points(o, true));
  LOYALTY_ASSIGN_OR_RETURN(r.reason_code, o.required_string("reason_code", kMaxReasonCodeLength));
  for (char c : r.reason_code) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (!ok) return field_error("reason_code", "may hold only a-z, 0-9, '_', '-' and '.'");
  }
  LOYALTY_ASSIGN_OR_RETURN(r.reason, optional_text(o, "reason", kMaxReasonLength));
  LOYALTY_ASSIGN_OR_RETURN(auto person, o.optional_string("actor", kMaxActorLength, 1));
  r.actor = person ? fmt::format("{}:{}", actor, *person) : std::string(actor);
  LOYALTY_ASSIGN_OR_RETURN(r.expires_at, o.optional_instant("expires_at"));
  if (r.expires_at && r.points.value < 0) {
    return field_error("expires_at", "applies only to positive adjustments");
  }
  return command;
}

Result<engine::Transfer> decode_transfer(std::string_view body, ProgramId program,
                                         std::string_view actor) {
  LOYALTY_ASSIGN_OR_RETURN(JsonObject o, http::parse_object(body, {"from_member_id", "to_member_id",
                                                                   "points", "reason"}));
  engine::Transfer command;
  command.program_id = program;
  LOYALTY_ASSIGN_OR_RETURN(command.from_member_id, decode_member_id(o, "from_member_id"));
  LOYALTY_ASSIGN_OR_RETURN(command.to_member_id, decode_member_id(o, "to_member_id"));
  LOYALTY_ASSIGN_OR_RETURN(command.request.points, decode_points(o, false));
  LOYALTY_ASSIGN_OR_RETURN(command.request.reason, optional_text(o, "reason", kMaxReasonLength));
  command.request.actor = std::string(actor);
  return command;
}

Result<engine::Reverse> decode_reversal(std::string_view body, ProgramId program, PostingId posting,
                                        std::string_view actor) {
  engine::Reverse command{program, posting, "", std::string(actor)};
  if (body.empty()) return command;
  LOYALTY_ASSIGN_OR_RETURN(JsonObject o, http::parse_object(body, {"reason"}));
  LOYALTY_ASSIGN_OR_RETURN(command.reason, optional_text(o, "reason", kMaxReasonLength));
  return command;
}

Result<engine::RecordEvent> decode_record_event(std::string_view body, ProgramId program,
                                                std::string_view actor) {
  LOYALTY_ASSIGN_OR_RETURN(
      JsonObject o, http::parse_object(body, {"id", "member_id", "member_external_id", "type",
                                              "occurred_at", "attributes"}));
  engine::RecordEvent command;
  command.program_id = program;
  command.actor = std::string(actor);
  LOYALTY_ASSIGN_OR_RETURN(command.external_id, o.required_string("id", engine::kMaxEventIdLength));
  LOYALTY_ASSIGN_OR_RETURN(auto member_id, o.optional_string("member_id", 64, 1));
  LOYALTY_ASSIGN_OR_RETURN(auto member_external_id,
                           o.optional_string("member_external_id", kMaxExternalIdLength, 1));
  if (member_id.has_value() == member_external_id.has_value()) {
    return field_error("member_id", "give exactly one of member_id and member_external_id");
  }
  if (member_id) {
    auto id = parse_id<MemberTag>(*member_id);
    if (!id) return field_error("member_id", "is not a member id (mem_...)");
    command.member_id = *id;
  } else {
    command.member_external_id = std::move(*member_external_id);
  }
  LOYALTY_ASSIGN_OR_RETURN(command.type, o.required_string("type", engine::kMaxEventTypeLength));
  for (char c : command.type) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (!ok) return field_error("type", "may hold only a-z, 0-9, '_', '-' and '.'");
  }
  LOYALTY_ASSIGN_OR_RETURN(command.occurred_at, o.optional_instant("occurred_at"));
  if (auto attributes = o.get("attributes")) {
    simdjson::dom::object object;
    if (attributes->get(object)) {
      return field_error(
          "attributes", std::string("must be an object, not ") + http::json_type_name(*attributes));
    }
    std::map<std::string, std::string> sorted;
    for (auto [key, v] : object) {
      const std::string field = "attributes." + std::string(key);
      if (key.empty() || http::utf8_length(key) > engine::kMaxEventAttributeKeyLength) {
        return field_error(field, fmt::format("attribute names must be 1 to {} characters",
                                              engine::kMaxEventAttributeKeyLength));
      }
      std::string text;
      switch (v.type()) {
        case element_type::STRING: {
          LOYALTY_ASSIGN_OR_RETURN(
              text, http::as_string(v, field, engine::kMaxEventAttributeValueLength, 0));
          break;
        }
        case element_type::INT64:
          text = std::to_string(v.get_int64().value_unsafe());
          break;
        case element_type::BOOL:
          text = v.get_bool().value_unsafe() ? "true" : "false";
          break;
        default:
          return field_error(field, "must be a string, an integer or a boolean");
      }
      if (!sorted.emplace(std::string(key), std::move(text)).second) {
        return field_error(field, "is given more than once");
      }
      if (sorted.size() > engine::kMaxEventAttributes) {
        return field_error("attributes",
                           fmt::format("must have at most {} keys", engine::kMaxEventAttributes));
      }
    }
    command.attributes.assign(sorted.begin(), sorted.end());
  }
  return command;
}

}  // namespace loyalty::api
