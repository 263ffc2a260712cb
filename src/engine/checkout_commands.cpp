// Points at checkout: what each command does inside its savepoint (see
// checkout_commands.h, docs/checkout.md).
#include "engine/checkout_commands.h"

#include <algorithm>
#include <set>

#include "common/assert.h"
#include "common/json_writer.h"
#include "domain/expiry.h"
#include "engine/engine.h"
#include "engine/gift_card_commands.h"
#include "engine/order_commands.h"
#include "engine/outbox.h"

namespace loyalty::engine {
namespace {

using store::StoreSession;

// Why points went back to the member: in the points.released payload.
constexpr std::string_view kCauseRelease = "released";
constexpr std::string_view kCauseExpired = "expired";
constexpr std::string_view kCauseOrderCancelled = "order_cancelled";
constexpr std::string_view kCauseCaptureRest = "capture_rest";
constexpr std::string_view kCauseOrderRefunded = "order_refunded";

Status emit_hold_event(StoreSession& s, std::string_view type, const Posting& posting,
                       const Hold& hold, Points points, std::string_view cause,
                       Points expired = Points{0}) {
  JsonWriter w;
  w.begin_object().field("hold_id", format_id(hold.id));
  if (!hold.order_external_id.empty()) w.field("order_external_id", hold.order_external_id);
  if (!cause.empty()) w.field("cause", cause);
  if (expired.value > 0) w.field("expired_points", expired.value);
  w.end_object();
  // posting_payload wants `,"key":value` pairs: the object's inside.
  std::string extra = w.take();
  extra = "," + extra.substr(1, extra.size() - 2);
  std::string payload = events::posting_payload(posting, points, extra);
  auto id =
      s.append_outbox_event(posting.program_id, posting.member, type, payload, posting.created_at);
  return id.ok() ? Status() : id.status();
}

// The hold's member's ledger after catch-up, with every lot the hold took.
Result<MemberLedger> ledger_with_hold_lots(StoreSession& s, ProgramCache& programs,
                                           const Hold& hold, Instant now) {
  std::vector<LotId> lots;
  lots.reserve(hold.lots.size());
  for (const HoldLotState& l : hold.lots) lots.push_back(l.lot);
  return ledger_with_lots(s, programs, hold.program_id, hold.member_id, lots, now);
}

std::vector<HoldLot> to_hold_lots(const std::vector<HoldLotReturn>& returns) {
  std::vector<HoldLot> out;
  out.reserve(returns.size());
  for (const HoldLotReturn& r : returns) out.push_back(HoldLot{r.lot, r.points});
  return out;
}

// Finds the hold and locks its member (PostgreSQL: another node settling the
// same hold waits here), then reads the hold again under the lock.
Result<Hold> lock_hold(StoreSession& s, ProgramId program, HoldId id) {
  LOYALTY_ASSIGN_OR_RETURN(auto found, s.find_hold(program, id));
  if (!found) return Status(ErrorCode::kNotFound, "hold " + format_id(id) + " not found");
  LOYALTY_RETURN_IF_ERROR(s.lock_members(program, {found->member_id}));
  LOYALTY_ASSIGN_OR_RETURN(found, s.find_hold(program, id));
  LOYALTY_ASSERT(found.has_value());
  return std::move(*found);
}

// Releases every held point of an open hold back into its lots.
Result<HoldResult> release_open_hold(StoreSession& s, ProgramCache& programs, Hold hold,
                                     HoldStatus final_status, std::string_view cause,
                                     std::string_view actor, Instant now) {
  LOYALTY_RETURN_IF_ERROR(check_release(hold));
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, hold.program_id));
  LOYALTY_ASSIGN_OR_RETURN(MemberLedger ml, ledger_with_hold_lots(s, programs, hold, now));
  HoldReturnRequest req;
  req.kind = PostingKind::kHoldRelease;
  req.restore = to_hold_lots(release_all(hold.lots));
  req.reason = "checkout hold " + format_id(hold.id) + " " + std::string(cause);
  req.actor = std::string(actor);
  LOYALTY_ASSIGN_OR_RETURN(HoldReturnPlan plan, plan_hold_return(program, ml, req, now));
  LOYALTY_ASSERT(check_plan_invariants(plan.plan).ok());
  LOYALTY_ASSERT(plan.restored + plan.expired == hold.points);
  LOYALTY_RETURN_IF_ERROR(s.apply_plan(plan.plan));
  hold.status = final_status;
  hold.settle_posting = plan.plan.posting.id;
  hold.settled_at = now;
  LOYALTY_RETURN_IF_ERROR(s.update_hold(hold));
  LOYALTY_RETURN_IF_ERROR(emit_hold_event(s, kPointsReleased, plan.plan.posting, hold, hold.points,
                                          cause, plan.expired));
  return HoldResult{std::move(hold), plan.plan.balances.at(ml.member.id)};
}

// Captures `points` of an open hold (check_capture passed); the rest goes back.
Result<HoldResult> capture_open_hold(StoreSession& s, ProgramCache& programs, Hold hold,
                                     Points points, std::string_view actor, Instant now) {
  LOYALTY_RETURN_IF_ERROR(check_capture(hold, points, now));
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, hold.program_id));
  LOYALTY_ASSIGN_OR_RETURN(auto config, programs.get_config(s, hold.program_id));
  LOYALTY_ASSIGN_OR_RETURN(MemberLedger ml, ledger_with_hold_lots(s, programs, hold, now));
  HoldReturnRequest req;
  req.kind = PostingKind::kHoldCapture;
  req.capture = points;
  req.restore = to_hold_lots(split_capture(hold.lots, points));
  req.reason = "checkout hold " + format_id(hold.id) + " captured";
  req.actor = std::string(actor);
  LOYALTY_ASSIGN_OR_RETURN(HoldReturnPlan plan, plan_hold_return(program, ml, req, now));
  // Spending points is activity (rolling expiry), as a debit is.
  note_member_activity(config->expiry, program.timezone, plan.plan, hold.member_id, now);
  LOYALTY_ASSERT(check_plan_invariants(plan.plan).ok());
  LOYALTY_ASSERT(points + plan.restored + plan.expired == hold.points);
  LOYALTY_RETURN_IF_ERROR(s.apply_plan(plan.plan));
  hold.status = HoldStatus::kCaptured;
  hold.captured = points;
  hold.settle_posting = plan.plan.posting.id;
  hold.settled_at = now;
  LOYALTY_RETURN_IF_ERROR(s.update_hold(hold));
  LOYALTY_RETURN_IF_ERROR(emit_hold_event(s, kPointsCaptured, plan.plan.posting, hold, points, ""));
  if (points < hold.points) {
    LOYALTY_RETURN_IF_ERROR(emit_hold_event(s, kPointsReleased, plan.plan.posting, hold,
                                            hold.points - points, kCauseCaptureRest, plan.expired));
  }
  return HoldResult{std::move(hold), plan.plan.balances.at(ml.member.id)};
}

// Returns `points` of a captured hold (an order refund).
Status refund_captured_hold(StoreSession& s, ProgramCache& programs, Hold hold, Points points,
                            Instant now) {
  LOYALTY_ASSERT(hold.status == HoldStatus::kCaptured && points.value > 0);
  LOYALTY_ASSERT(hold.refunded + points <= hold.captured);
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, hold.program_id));
  LOYALTY_ASSIGN_OR_RETURN(MemberLedger ml, ledger_with_hold_lots(s, programs, hold, now));
  HoldReturnRequest req;
  req.kind = PostingKind::kHoldRefund;
  req.restore = to_hold_lots(split_refund(hold.lots, points));
  req.reason = "order " + hold.order_external_id + " refunded: points paid with " +
               format_id(hold.id) + " returned";
  req.actor = "system";
  LOYALTY_ASSIGN_OR_RETURN(HoldReturnPlan plan, plan_hold_return(program, ml, req, now));
  LOYALTY_ASSERT(check_plan_invariants(plan.plan).ok());
  LOYALTY_RETURN_IF_ERROR(s.apply_plan(plan.plan));
  hold.refunded += points;
  LOYALTY_RETURN_IF_ERROR(s.update_hold(hold));
  return emit_hold_event(s, kPointsReleased, plan.plan.posting, hold, points, kCauseOrderRefunded,
                         plan.expired);
}

}  // namespace

Result<MemberLedger> ledger_with_lots(StoreSession& s, ProgramCache& programs, ProgramId program,
                                      MemberId member, const std::vector<LotId>& lots,
                                      Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(MemberLedger ml, caught_up_ledger(s, programs, program, member, now));
  std::set<LotId> needed(lots.begin(), lots.end());
  for (const Lot& l : ml.open_lots) needed.erase(l.id);
  if (!needed.empty()) {
    LOYALTY_ASSIGN_OR_RETURN(
        auto loaded, s.lots_by_ids(program, std::vector<LotId>(needed.begin(), needed.end())));
    ml.open_lots.insert(ml.open_lots.end(), loaded.begin(), loaded.end());
  }
  return ml;
}

Result<HoldResult> hold_points(StoreSession& s, ProgramCache& programs, const HoldPoints& c,
                               Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, c.program_id));
  if (c.currency != program.currency) {
    return Status(
        ErrorCode::kCurrencyMismatch,
        "the order is in " + c.currency + " but the program counts in " + program.currency);
  }
  LOYALTY_ASSIGN_OR_RETURN(auto config, programs.get_config(s, program.id));
  LOYALTY_ASSIGN_OR_RETURN(MemberLedger ml,
                           caught_up_ledger(s, programs, c.program_id, c.member_id, now));
  LOYALTY_RETURN_IF_ERROR(
      check_checkout_points(config->checkout, c.order_total_minor, ml.balance.available, c.points));
  HoldRequest req;
  req.points = c.points;
  req.reason = c.order_external_id.empty() ? "checkout hold"
                                           : "checkout hold for order " + c.order_external_id;
  req.actor = c.actor;
  LOYALTY_ASSIGN_OR_RETURN(HoldPlan plan, plan_hold(program, ml, req, now));
  LOYALTY_ASSERT(check_plan_invariants(plan.plan).ok());
  LOYALTY_RETURN_IF_ERROR(s.apply_plan(plan.plan));
  Hold hold;
  hold.program_id = program.id;
  hold.member_id = c.member_id;
  hold.status = HoldStatus::kOpen;
  hold.points = c.points;
  hold.amount_minor = checkout_amount_minor(config->checkout, c.points);
  hold.currency = program.currency;
  hold.order_total_minor = c.order_total_minor;
  hold.order_external_id = c.order_external_id;
  hold.capture_on_paid = c.capture_on_paid;
  hold.hold_posting = plan.plan.posting.id;
  hold.created_at = now;
  hold.expires_at = now + Duration::from_seconds(int64_t{config->checkout.hold_minutes} * 60);
  hold.actor = c.actor;
  for (const HoldLot& l : plan.lots) {
    hold.lots.push_back(HoldLotState{l.lot, l.points, Points{0}, Points{0}});
  }
  LOYALTY_ASSIGN_OR_RETURN(hold.id, s.insert_hold(hold));
  LOYALTY_RETURN_IF_ERROR(emit_hold_event(s, kPointsHeld, plan.plan.posting, hold, c.points, ""));
  return HoldResult{std::move(hold), plan.plan.balances.at(c.member_id)};
}

Result<HoldResult> capture_hold(StoreSession& s, ProgramCache& programs, const CaptureHold& c,
                                Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(Hold hold, lock_hold(s, c.program_id, c.hold_id));
  if (!c.order_external_id.empty()) {
    if (!hold.order_external_id.empty() && hold.order_external_id != c.order_external_id) {
      return Status(ErrorCode::kConflict, format_id(hold.id) + " is for order '" +
                                              hold.order_external_id + "', not '" +
                                              c.order_external_id + "'");
    }
    hold.order_external_id = c.order_external_id;
  }
  Points points = c.points.value == 0 ? hold.points : c.points;
  return capture_open_hold(s, programs, std::move(hold), points, c.actor, now);
}

Result<HoldResult> release_hold(StoreSession& s, ProgramCache& programs, const ReleaseHold& c,
                                Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(Hold hold, lock_hold(s, c.program_id, c.hold_id));
  return release_open_hold(s, programs, std::move(hold), HoldStatus::kReleased, kCauseRelease,
                           c.actor, now);
}

Result<ReleaseExpiredResult> release_expired_holds(StoreSession& s, ProgramCache& programs,
                                                   const ReleaseExpiredHolds& c, Instant now) {
  LOYALTY_ASSERT(c.limit > 0);
  ReleaseExpiredResult out;
  LOYALTY_ASSIGN_OR_RETURN(auto due, s.expired_open_holds(now, c.limit));
  for (const auto& [program, id] : due) {
    LOYALTY_ASSIGN_OR_RETURN(Hold hold, lock_hold(s, program, id));
    // Settled by another node (or a capture) since the list was read.
    if (hold.status != HoldStatus::kOpen || hold.expires_at > now) continue;
    LOYALTY_ASSIGN_OR_RETURN(HoldResult r,
                             release_open_hold(s, programs, std::move(hold), HoldStatus::kExpired,
                                               kCauseExpired, "system", now));
    (void)r;
    ++out.released;
  }
  out.complete = static_cast<int>(due.size()) < c.limit;
  // Gift card holds in the same step, within what is left of the limit.
  const int left = c.limit - out.released;
  if (left > 0) {
    LOYALTY_ASSIGN_OR_RETURN(int gift, release_expired_gift_card_holds(s, left, now));
    out.released += gift;
    out.complete = out.complete && gift < left;
  } else {
    out.complete = false;
  }
  return out;
}

Status settle_order_holds(StoreSession& s, ProgramCache& programs, const Order& order,
                          Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(auto holds, s.holds_of_order(order.program_id, order.external_id));
  const bool ended = is_final(order.status);  // cancelled or returned
  const bool paid = order.paid_at.has_value() && !ended;
  // Gift card holds for the order follow it too (docs/gift-cards.md).
  LOYALTY_RETURN_IF_ERROR(settle_order_gift_card_holds(s, order, now));
  for (Hold& listed : holds) {
    LOYALTY_ASSIGN_OR_RETURN(Hold hold, lock_hold(s, order.program_id, listed.id));
    if (hold.status == HoldStatus::kOpen) {
      if (ended) {
        LOYALTY_ASSIGN_OR_RETURN(
            HoldResult r, release_open_hold(s, programs, std::move(hold), HoldStatus::kReleased,
                                            kCauseOrderCancelled, "system", now));
        (void)r;
      } else if (paid && hold.capture_on_paid && hold.expires_at > now) {
        Points all = hold.points;
        LOYALTY_ASSIGN_OR_RETURN(
            HoldResult r, capture_open_hold(s, programs, std::move(hold), all, "system", now));
        (void)r;
      }
      continue;
    }
    if (hold.status != HoldStatus::kCaptured) continue;
    const bool full = ended || order.refunded_minor >= order.total_minor;
    Points due = points_to_refund(hold, order.total_minor, order.refunded_minor, full);
    if (due.value > 0) {
      LOYALTY_RETURN_IF_ERROR(refund_captured_hold(s, programs, std::move(hold), due, now));
    }
  }
  return {};
}

Result<CheckoutQuoteView> read_checkout_quote(StoreSession& s, ProgramId program_id,
                                              MemberId member_id, int64_t order_total_minor,
                                              std::string_view currency,
                                              std::optional<Points> points, Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(auto program, s.find_program(program_id));
  if (!program) return Status(ErrorCode::kNotFound, "program not found");
  LOYALTY_ASSIGN_OR_RETURN(auto member, s.find_member(program_id, member_id));
  if (!member) {
    return Status(ErrorCode::kNotFound, "member " + format_id(member_id) + " not found");
  }
  if (currency != program->currency) {
    return Status(ErrorCode::kCurrencyMismatch, "the order is in " + std::string(currency) +
                                                    " but the program counts in " +
                                                    program->currency);
  }
  CheckoutQuoteView v;
  LOYALTY_ASSIGN_OR_RETURN(auto stored, s.latest_config(program_id));
  if (stored) {
    LOYALTY_ASSIGN_OR_RETURN(ProgramConfig config, parse_stored_config(*program, *stored));
    v.config = config.checkout;
  }
  LOYALTY_ASSIGN_OR_RETURN(Balance balance, s.get_balance(program_id, member_id));
  v.available = balance.available;
  if (balance.next_due_at && *balance.next_due_at <= now) {
    // The scheduler is behind: points that expired are not offered (a hold
    // catches the member up first and would not find them either).
    LOYALTY_ASSIGN_OR_RETURN(auto lots, s.open_lots(program_id, member_id));
    const bool rolling_passed = balance.rolling_expires_at && *balance.rolling_expires_at <= now;
    Points spendable{0};
    for (const Lot& lot : lots) {
      if (lot.pending || rolling_passed || (lot.expires_at && *lot.expires_at <= now)) continue;
      spendable += lot.remaining;
    }
    v.available = spendable;
  }
  v.currency = program->currency;
  v.order_total_minor = order_total_minor;
  v.quote = quote_checkout(v.config, order_total_minor, v.available);
  if (points) {
    LOYALTY_RETURN_IF_ERROR(
        check_checkout_points(v.config, order_total_minor, v.available, *points));
    v.points = points;
    v.amount_minor = checkout_amount_minor(v.config, *points);
  }
  return v;
}

}  // namespace loyalty::engine
