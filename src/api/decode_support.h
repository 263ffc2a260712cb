// Decoding pieces shared by the resource decoders (decoders.cpp,
// order_decoders.cpp). Internal to src/api.
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>

#include "common/result.h"

namespace loyalty::api {

// Canonical JSON text (keys sorted, no whitespace) of an attributes object of
// at most kMaxAttributes scalar values; `path` names it in errors
// ("attributes", "items[2].attributes").
Result<std::string> canonical_attributes_of(simdjson::dom::element value, std::string_view path);

}  // namespace loyalty::api
