// Request body decoders: one pure function per request body.
//
// Each takes the raw body and what the route already knows (the key's program,
// ids from the path, the actor = the API key id) and returns the engine command
// or a Status: kInvalidRequest for anything malformed ("<field>: <message>",
// see http/json_decode.h), kAmountOutOfRange for points beyond
// kMaxPointsPerPosting. They do no I/O and read no clock, so the fuzz targets
// (tests/fuzz/fuzz_*.cpp) call them directly.
#pragma once

#include <string_view>

#include "common/ids.h"
#include "common/result.h"
#include "engine/engine.h"

namespace loyalty::api {

inline constexpr size_t kMaxApiKeyNameLength = 100;
inline constexpr size_t kMaxScopesPerKey = 16;
inline constexpr size_t kMaxActorLength = 200;
inline constexpr size_t kMaxAttributeKeyLength = 64;
inline constexpr size_t kMaxAttributeStringLength = 500;
inline constexpr size_t kMaxCurrencyLength = 3;
inline constexpr size_t kMaxTimezoneLength = 64;

// POST /v1/programs. The program is also checked with validate_program.
Result<engine::CreateProgram> decode_create_program(std::string_view body);
// PATCH /v1/programs/{id}. `currency` is rejected: it cannot change.
Result<engine::ProgramPatch> decode_program_patch(std::string_view body);
// POST /v1/api-keys.
Result<engine::CreateApiKey> decode_create_api_key(std::string_view body, ProgramId program);
// POST /v1/members.
Result<engine::EnrollMember> decode_enroll_member(std::string_view body, ProgramId program);
// PATCH /v1/members/{id}. `external_id` is rejected: it cannot change.
Result<engine::MemberPatch> decode_member_patch(std::string_view body);
// POST /v1/members/{id}/credits.
Result<engine::Credit> decode_credit(std::string_view body, ProgramId program, MemberId member,
                                     std::string_view actor);
// POST /v1/members/{id}/debits.
Result<engine::Debit> decode_debit(std::string_view body, ProgramId program, MemberId member,
                                   std::string_view actor);
// POST /v1/members/{id}/adjustments. The recorded actor is `actor`, or
// "<actor>:<body actor>" when the body names the person behind the key.
Result<engine::Adjust> decode_adjustment(std::string_view body, ProgramId program, MemberId member,
                                         std::string_view actor);
// POST /v1/transfers.
Result<engine::Transfer> decode_transfer(std::string_view body, ProgramId program,
                                         std::string_view actor);
// POST /v1/postings/{id}/reversal. An empty body means no reason.
Result<engine::Reverse> decode_reversal(std::string_view body, ProgramId program, PostingId posting,
                                        std::string_view actor);

// POST /v1/events: {"id", "member_id" | "member_external_id", "type",
// "occurred_at"?, "attributes"?}. Attribute values are strings, integers or
// booleans (kept as their text: 5 -> "5", true -> "true"); keys are sorted.
Result<engine::RecordEvent> decode_record_event(std::string_view body, ProgramId program,
                                                std::string_view actor);

// Orders (order_decoders.cpp). Money is integer minor units (`*_minor`).
// POST /v1/orders. `request_fingerprint` identifies the body (a replay of the
// same external id must match it).
Result<engine::CreateOrder> decode_create_order(std::string_view body, ProgramId program,
                                                std::string_view request_fingerprint);
// POST /v1/orders/{id}/status.
Result<engine::UpdateOrderStatus> decode_order_status(std::string_view body, ProgramId program,
                                                      OrderId order);
// POST /v1/orders/{id}/refunds.
Result<engine::RefundOrder> decode_order_refund(std::string_view body, ProgramId program,
                                                OrderId order);

// Canonical JSON text of a member's attributes (keys sorted, no whitespace),
// from a JSON object of at most kMaxAttributes scalar values; `field` names it
// in errors. Exposed for the fuzz targets.
Result<std::string> canonical_attributes(std::string_view object_json);

}  // namespace loyalty::api
