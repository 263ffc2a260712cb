// RFC 9457 problem details: the one table from ErrorCode to HTTP.
//
// Every error response is application/problem+json:
//   {"type": "/problems/<slug>", "title": ..., "status": ..., "detail": ...,
//    "instance": <request path>, "errors": [{"field", "message"}]?}
// The type URIs resolve: GET /problems/<slug> describes each type.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "http/handler.h"

namespace loyalty::http {

struct ProblemType {
  int status = 500;
  std::string_view slug;
  std::string_view title;
  std::string_view description;  // what it means and what a client should do
};

// The problem type of an ErrorCode (kOk is a programmer error).
const ProblemType& problem_type(ErrorCode code);

// Problems raised by the HTTP layer itself, not by an ErrorCode.
enum class HttpProblem { kMethodNotAllowed, kPayloadTooLarge, kUnsupportedMediaType, kBadRequest };
const ProblemType& problem_type(HttpProblem problem);

// Every problem type, for GET /problems/{slug} (unique slugs).
std::span<const ProblemType> all_problem_types();
const ProblemType* find_problem_type(std::string_view slug);

struct FieldError {
  std::string field;
  std::string message;
};

// Decoders report a field error as a Status whose message is
// "<field>: <message>", where <field> is a JSON path of [A-Za-z0-9_.[\]] (see
// json_decode.h); this recovers the parts, or nullopt for any other message.
std::optional<FieldError> field_error_of(const Status& status);

// A kTooManyAttempts message ends with "(retry after N seconds)": N, sent as
// the Retry-After header; nullopt for any other status.
std::optional<int64_t> retry_after_seconds_of(const Status& status);

// The problem response for a failed Status. kInternal details are replaced by a
// generic text (they may hold SQL or other internals; the caller logs them).
// kUnavailable and kRetryable add Retry-After: 1.
Response problem_response(const Status& status, std::string_view instance);
Response problem_response(const ProblemType& type, std::string_view detail,
                          std::string_view instance);

}  // namespace loyalty::http
