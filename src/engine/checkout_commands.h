// Points at checkout in the engine (docs/checkout.md): hold, capture, release,
// the holds job, and what an order's payment, cancellation or refund does to
// the holds linked to it. Everything runs in the caller's write transaction:
// the posting, the hold row and its outbox event commit together or not at all.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "common/time.h"
#include "domain/checkout_points.h"
#include "domain/ledger.h"
#include "domain/order.h"
#include "store/store.h"

namespace loyalty::engine {

class ProgramCache;

// Outbox event types (docs/events.md).
inline constexpr std::string_view kPointsHeld = "points.held";
inline constexpr std::string_view kPointsCaptured = "points.captured";
inline constexpr std::string_view kPointsReleased = "points.released";

// POST /v1/members/{id}/holds. Fails with kCurrencyMismatch, the errors of
// check_checkout_points, kMemberBlocked; changes nothing then.
struct HoldPoints {
  ProgramId program_id;
  MemberId member_id;
  Points points;
  int64_t order_total_minor = 0;
  std::string currency;
  std::string order_external_id;  // "" = not linked to an order yet
  bool capture_on_paid = false;
  std::string actor;
};
// POST /v1/holds/{id}:capture. points = 0 captures everything held; fewer
// than held releases the rest in the same posting. The order's external id,
// when given, links the hold to the order (a refund then returns points); a
// hold linked to another order fails with kConflict.
struct CaptureHold {
  ProgramId program_id;
  HoldId hold_id;
  Points points;
  std::string order_external_id;
  std::string actor;
};
// POST /v1/holds/{id}:release.
struct ReleaseHold {
  ProgramId program_id;
  HoldId hold_id;
  std::string actor;
};
// The holds job: releases up to `limit` open holds whose expires_at passed
// (status expired), points holds first, then gift card holds within what is
// left of the limit. Holds another transaction settled meanwhile are skipped.
struct ReleaseExpiredHolds {
  int limit = 200;
};

// A hold after a command, with its member's balance after it.
struct HoldResult {
  Hold hold;
  Balance balance;
};
struct ReleaseExpiredResult {
  int released = 0;
  bool complete = false;  // fewer than `limit` were due
};

Result<HoldResult> hold_points(store::StoreSession& s, ProgramCache& programs,
                               const HoldPoints& command, Instant now);
Result<HoldResult> capture_hold(store::StoreSession& s, ProgramCache& programs,
                                const CaptureHold& command, Instant now);
Result<HoldResult> release_hold(store::StoreSession& s, ProgramCache& programs,
                                const ReleaseHold& command, Instant now);
Result<ReleaseExpiredResult> release_expired_holds(store::StoreSession& s, ProgramCache& programs,
                                                   const ReleaseExpiredHolds& command, Instant now);

// After an order changed (order_commands.cpp), for every hold linked to it by
// the order's external id: an open hold with capture_on_paid is captured in
// full once the order is paid (and not cancelled or returned); an open hold is
// released when the order is cancelled or returned; a captured hold gives back
// points_to_refund (in proportion to refunded money; all of what is left when
// the order is cancelled, returned or fully refunded).
Status settle_order_holds(store::StoreSession& s, ProgramCache& programs, const Order& order,
                          Instant now);

// The member's ledger after catch-up, with `lots` loaded too when they are
// empty now (points held from them go back into them: holds, gifts).
Result<MemberLedger> ledger_with_lots(store::StoreSession& s, ProgramCache& programs,
                                      ProgramId program, MemberId member,
                                      const std::vector<LotId>& lots, Instant now);

// GET /v1/members/{id}/checkout/quote and POST .../checkout/quote, from a read
// transaction: the program's limits applied to the member's available points.
// kCurrencyMismatch for another currency; with `points`, the errors
// check_checkout_points gives a hold of that many points.
struct CheckoutQuoteView {
  CheckoutQuote quote;
  CheckoutConfig config;
  Points available;
  std::string currency;
  int64_t order_total_minor = 0;
  std::optional<Points> points;  // asked
  int64_t amount_minor = 0;      // what `points` pay
};
Result<CheckoutQuoteView> read_checkout_quote(store::StoreSession& s, ProgramId program,
                                              MemberId member, int64_t order_total_minor,
                                              std::string_view currency,
                                              std::optional<Points> points, Instant now);

}  // namespace loyalty::engine
