// JSON representations of the API's resources (the schemas in api/openapi.json).
//
// Ids are prefixed strings, instants RFC 3339 UTC, points and money integers.
#pragma once

#include <optional>
#include <string>

#include "common/json_writer.h"
#include "domain/ledger.h"
#include "domain/member.h"
#include "domain/program.h"
#include "store/store.h"

namespace loyalty::api {

void write_program(JsonWriter& w, const Program& program);
// `secret` is written only when given (a key's creation response).
void write_api_key(JsonWriter& w, const store::ApiKey& key,
                   const std::optional<std::string>& secret = std::nullopt);
// `balance` is embedded as "balance" when given (GET /v1/members/{id}).
void write_member(JsonWriter& w, const Member& member, const Balance* balance = nullptr,
                  const Program* program = nullptr);
void write_posting(JsonWriter& w, const Posting& posting);
void write_lot(JsonWriter& w, const Lot& lot);
// The balance object; `program` values available + pending in money.
void write_balance(JsonWriter& w, MemberId member, const Balance& balance, const Program& program);

// The posting's net effect on its member's available + pending points.
int64_t posting_member_points(const Posting& posting);

// Convenience: one resource as a complete JSON document.
std::string program_json(const Program& program);
std::string member_json(const Member& member);
std::string posting_json(const Posting& posting);

}  // namespace loyalty::api
