// Business events written to the outbox (docs/events.md) by engine commands, in
// the command's own transaction: an event exists if and only if its change
// committed. Delivery (webhooks, email, inbox) reads the outbox later.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "common/time.h"
#include "domain/ledger.h"
#include "store/store.h"

namespace loyalty::engine::events {

// Event types. Payloads are documented in docs/events.md.
inline constexpr std::string_view kPointsEarned = "points.earned";
inline constexpr std::string_view kPointsSpent = "points.spent";
inline constexpr std::string_view kPointsVested = "points.vested";
inline constexpr std::string_view kPointsExpired = "points.expired";
inline constexpr std::string_view kPointsExpiringSoon = "points.expiring_soon";
inline constexpr std::string_view kBirthdayAwarded = "birthday.awarded";
inline constexpr std::string_view kAnniversaryAwarded = "anniversary.awarded";

// Points a posting moved for its member: what vesting made available, what
// expiry took, what a credit added, what a debit spent.
Points posting_points(const Posting& posting);

// The common payload of a posting event:
//   {"member_id":"mem_1","posting_id":"pst_9","points":120,"source":"job:expiry",
//    "occurred_at":"2026-01-01T00:00:00Z"<, extra fields>}
// `extra_json` is "" or serialized `,"key":value` pairs appended verbatim.
std::string posting_payload(const Posting& posting, Points points,
                            std::string_view extra_json = {});

// Appends a posting event for posting.member (store.append_outbox_event).
Status emit_posting_event(store::StoreSession& store, std::string_view type, const Posting& posting,
                          std::string_view extra_json = {});

}  // namespace loyalty::engine::events
