// Decoding pieces shared by the resource decoders (decoders.cpp,
// order_decoders.cpp). Internal to src/api.
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>

#include "common/result.h"
#include "engine/referral_commands.h"
#include "http/json_decode.h"

namespace loyalty::api {

// Canonical JSON text (keys sorted, no whitespace) of an attributes object of
// at most kMaxAttributes scalar values; `path` names it in errors
// ("attributes", "items[2].attributes").
Result<std::string> canonical_attributes_of(simdjson::dom::element value, std::string_view path);

// The referral fields of an enrollment or an order (docs/referrals.md):
// "referral_code" (at most 40 characters) and "referral_signals" {
// "shipping_address_hash", "payment_fingerprint_hash", "device_hash",
// "ip_hash" } (each at most 128 characters; hashes the shop computed).
inline constexpr std::string_view kReferralCodeField = "referral_code";
inline constexpr std::string_view kReferralSignalsField = "referral_signals";
Result<engine::ReferralAttach> decode_referral_attach(const http::JsonObject& o);

}  // namespace loyalty::api
