// Gifting: what each command does inside its savepoint (see gift_commands.h,
// docs/gifting.md).
#include "engine/gift_commands.h"

#include <date/tz.h>

#include <algorithm>

#include "common/assert.h"
#include "common/crypto.h"
#include "domain/earning.h"
#include "engine/checkout_commands.h"
#include "engine/engine.h"
#include "engine/job_commands.h"
#include "engine/order_commands.h"
#include "engine/reward_commands.h"

namespace loyalty::engine {
namespace {

using store::Coupon;
using store::CouponStatus;
using store::Gift;
using store::GiftStore;
using store::RewardStore;
using store::StoreSession;

constexpr int kMaxTokenDraws = 4;

// The event of a gift; `token`/`link`/`coupon_code` in clear when given (what
// the shop's mailer sends: docs/events.md).
Status emit(StoreSession& s, std::string_view type, const Gift& g, Instant now,
            std::string_view token = {}, std::string_view link = {},
            std::string_view coupon_code = {}) {
  JsonWriter w;
  write_gift(w, g);
  std::string body = w.take();
  JsonWriter extra;
  extra.begin_object();
  if (!token.empty()) extra.field("token", token);
  if (!link.empty()) extra.field("link", link);
  if (!coupon_code.empty()) extra.field("coupon_code", coupon_code);
  extra.end_object();
  std::string more = extra.take();
  if (more.size() > 2) {  // splice the fields into the gift's object
    body.pop_back();
    body += "," + more.substr(1);
  }
  const MemberId member = type == kGiftClaimed ? g.recipient_id : g.giver_id;
  return s.append_outbox_event(g.program_id, member, type, body, now).status();
}

// The gift under its members' locks, as it is now; kNotFound when gone.
Result<Gift> reread(GiftStore& gifts, const Gift& g) {
  LOYALTY_ASSIGN_OR_RETURN(auto fresh, gifts.find_gift(g.program_id, g.id));
  if (!fresh) return Status(ErrorCode::kNotFound, "gift " + format_id(g.id) + " not found");
  return std::move(*fresh);
}

// The coupon a gift of a reward carries.
Result<Coupon> coupon_of(RewardStore& rewards, const Gift& g) {
  LOYALTY_ASSIGN_OR_RETURN(auto coupon, rewards.find_coupon(g.program_id, g.coupon_id));
  if (!coupon) return Status(ErrorCode::kInternal, "coupon " + format_id(g.coupon_id) + " is gone");
  return std::move(*coupon);
}

Status not_pending(const Gift& g) {
  switch (g.status) {
    case GiftStatus::kPending:
      return {};
    case GiftStatus::kClaimed:
      return Status(ErrorCode::kGiftNotClaimable,
                    "the gift was claimed at " + format_rfc3339(*g.settled_at));
    case GiftStatus::kReturned:
      return Status(ErrorCode::kGiftNotClaimable, "the gift went back to its giver at " +
                                                      format_rfc3339(*g.settled_at) +
                                                      " (nobody claimed it in time)");
    case GiftStatus::kCancelled:
      return Status(ErrorCode::kGiftNotClaimable,
                    "the gift was cancelled at " + format_rfc3339(*g.settled_at));
  }
  return {};
}

// Sends the gift back to its giver (a return or a cancellation): the points
// into the lots they came from (an expired lot's share expires), the coupon
// issued to the giver again. The gift is pending; its members are locked.
Result<GiftResult> give_back(StoreSession& s, ProgramCache& programs, Gift g, GiftStatus final,
                             std::string_view actor, Instant now) {
  LOYALTY_ASSERT(g.status == GiftStatus::kPending);
  GiftResult out;
  const char* what = final == GiftStatus::kCancelled ? "cancelled" : "returned";
  if (g.kind == GiftKind::kPoints) {
    LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, g.program_id));
    HoldReturnRequest req;
    req.kind = PostingKind::kHoldRelease;
    std::vector<LotId> lots;
    for (const store::GiftLot& l : g.lots) {
      req.restore.push_back(HoldLot{l.lot, l.points});
      lots.push_back(l.lot);
    }
    LOYALTY_ASSIGN_OR_RETURN(MemberLedger ml,
                             ledger_with_lots(s, programs, g.program_id, g.giver_id, lots, now));
    req.reason = "gift " + format_id(g.id) + " to " + g.recipient_email + " " + what;
    req.actor = std::string(actor);
    req.source = "gift";
    LOYALTY_ASSIGN_OR_RETURN(HoldReturnPlan plan, plan_hold_return(program, ml, req, now));
    LOYALTY_ASSERT(plan.restored + plan.expired == g.points);
    LOYALTY_RETURN_IF_ERROR(s.apply_plan(plan.plan));
    g.settle_posting = plan.plan.posting.id;
    g.expired_points = plan.expired;
    out.balance = plan.plan.balances.at(g.giver_id);
  } else {
    RewardStore rewards(s);
    LOYALTY_ASSIGN_OR_RETURN(Coupon coupon, coupon_of(rewards, g));
    coupon.status = CouponStatus::kIssued;
    LOYALTY_RETURN_IF_ERROR(rewards.update_coupon_holder(coupon, CouponStatus::kGifted));
    out.coupon = std::move(coupon);
  }
  g.status = final;
  g.settled_at = now;
  GiftStore gifts(s);
  LOYALTY_RETURN_IF_ERROR(gifts.settle_gift(g, GiftStatus::kPending));
  LOYALTY_RETURN_IF_ERROR(
      emit(s, final == GiftStatus::kCancelled ? kGiftCancelled : kGiftReturned, g, now));
  out.gift = std::move(g);
  return out;
}

// Delivers a pending gift to `recipient` (checked here), under both members'
// locks.
Result<GiftResult> deliver(StoreSession& s, ProgramCache& programs, const Program& program, Gift g,
                           const Member& recipient, std::string_view actor, Instant now) {
  LOYALTY_RETURN_IF_ERROR(not_pending(g));
  if (g.expires_at <= now) {
    return Status(ErrorCode::kGiftNotClaimable, "the gift's claim window ended at " +
                                                    format_rfc3339(g.expires_at) +
                                                    "; it goes back to its giver");
  }
  if (recipient.id == g.giver_id) {
    return Status(ErrorCode::kGiftToSelf, "a member cannot claim their own gift");
  }
  LOYALTY_ASSIGN_OR_RETURN(Member giver, require_member(s, program.id, g.giver_id));
  const std::string recipient_key = gift_email_key(recipient.email);
  if (!recipient_key.empty() && recipient_key == gift_email_key(giver.email)) {
    return Status(ErrorCode::kGiftToSelf,
                  "the member has the giver's email: a member cannot claim their own gift");
  }
  if (recipient.status == MemberStatus::kBlocked) {
    return Status(ErrorCode::kMemberBlocked, "member " + format_id(recipient.id) + " is blocked");
  }
  LOYALTY_RETURN_IF_ERROR(lock_member_pair(s, program.id, g.giver_id, recipient.id));
  GiftStore gifts(s);
  LOYALTY_ASSIGN_OR_RETURN(g, reread(gifts, g));
  LOYALTY_RETURN_IF_ERROR(not_pending(g));
  GiftResult out;
  if (g.kind == GiftKind::kPoints) {
    LOYALTY_ASSIGN_OR_RETURN(MemberLedger from,
                             caught_up_ledger(s, programs, program.id, g.giver_id, now,
                                              /*with_lots=*/false));
    LOYALTY_ASSIGN_OR_RETURN(MemberLedger to,
                             caught_up_ledger(s, programs, program.id, recipient.id, now,
                                              /*with_lots=*/false));
    GiftClaimRequest req;
    for (const store::GiftLot& l : g.lots) req.shares.push_back(GiftShare{l.points, l.expires_at});
    req.reason = "gift " + format_id(g.id) + " from " + format_id(g.giver_id);
    req.actor = std::string(actor);
    LOYALTY_ASSIGN_OR_RETURN(GiftClaimPlan plan, plan_gift_claim(program, from, to, req, now));
    LOYALTY_ASSERT(plan.delivered + plan.expired == g.points);
    LOYALTY_RETURN_IF_ERROR(s.apply_plan(plan.plan));
    g.settle_posting = plan.plan.posting.id;
    g.expired_points = plan.expired;
    out.balance = plan.plan.balances.at(recipient.id);
  } else {
    RewardStore rewards(s);
    LOYALTY_ASSIGN_OR_RETURN(Coupon coupon, coupon_of(rewards, g));
    // A new code: the giver saw the old one.
    LOYALTY_ASSIGN_OR_RETURN(auto config, programs.get_config(s, program.id));
    const Reward* reward = find_reward(config->rewards, coupon.reward_id);
    const std::string prefix = reward != nullptr ? reward->coupon_prefix : std::string();
    LOYALTY_ASSIGN_OR_RETURN(out.coupon_code, draw_coupon_code(rewards, prefix, &coupon.code_hash));
    coupon.code_hint = out.coupon_code.substr(out.coupon_code.size() - 4);
    coupon.member_id = recipient.id;
    coupon.status = CouponStatus::kIssued;
    LOYALTY_RETURN_IF_ERROR(rewards.update_coupon_holder(coupon, CouponStatus::kGifted));
    out.coupon = std::move(coupon);
  }
  g.status = GiftStatus::kClaimed;
  g.recipient_id = recipient.id;
  g.settled_at = now;
  LOYALTY_RETURN_IF_ERROR(gifts.settle_gift(g, GiftStatus::kPending));
  LOYALTY_RETURN_IF_ERROR(emit(s, kGiftClaimed, g, now, {}, {}, out.coupon_code));
  out.gift = std::move(g);
  return out;
}

// The program's gift of this token; kNotFound otherwise (also for another
// program's: the API is no oracle for tokens).
Result<Gift> gift_of_token(GiftStore& gifts, ProgramId program, std::string_view token) {
  Status unknown(ErrorCode::kNotFound, "no gift has this token");
  auto digest = gift_token_digest(token);
  if (!digest) return unknown;
  LOYALTY_ASSIGN_OR_RETURN(auto found, gifts.find_by_token(*digest));
  if (!found || found->program_id != program) return unknown;
  return std::move(*found);
}

}  // namespace

void write_gift(JsonWriter& w, const Gift& g) {
  w.begin_object()
      .field("id", format_id(g.id))
      .field("giver_id", format_id(g.giver_id))
      .field("kind", to_string(g.kind))
      .field("status", to_string(g.status))
      .field("recipient_email", g.recipient_email);
  if (g.kind == GiftKind::kPoints) {
    w.field("points", g.points.value);
  } else {
    w.field("redemption_id", format_id(g.redemption_id)).field("coupon_id", format_id(g.coupon_id));
  }
  w.field("message", g.message);
  if (g.recipient_id.valid()) {
    w.field("recipient_id", format_id(g.recipient_id));
  } else {
    w.field_null("recipient_id");
  }
  if (g.send_posting.valid()) w.field("send_posting_id", format_id(g.send_posting));
  if (g.settle_posting.valid()) w.field("settle_posting_id", format_id(g.settle_posting));
  w.field("expired_points", g.expired_points.value)
      .field("created_at", format_rfc3339(g.created_at))
      .field("expires_at", format_rfc3339(g.expires_at));
  if (g.settled_at) {
    w.field("settled_at", format_rfc3339(*g.settled_at));
  } else {
    w.field_null("settled_at");
  }
  w.end_object();
}

Result<GiftResult> send_gift(StoreSession& s, ProgramCache& programs, const SendGift& c,
                             Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, c.program_id));
  LOYALTY_ASSIGN_OR_RETURN(auto config, programs.get_config(s, program.id));
  const GiftingConfig& gc = config->gifting;
  LOYALTY_ASSIGN_OR_RETURN(Member giver, require_member(s, program.id, c.giver_id));
  if (giver.status == MemberStatus::kBlocked) {
    return Status(ErrorCode::kMemberBlocked, "member " + format_id(giver.id) + " is blocked");
  }
  const GiftKind kind = c.redemption_id.valid() ? GiftKind::kReward : GiftKind::kPoints;
  auto recipient_email = normalize_email(c.recipient_email);
  if (!recipient_email.ok()) {
    return Status(ErrorCode::kInvalidRequest,
                  "recipient_email: " + recipient_email.status().message());
  }
  const std::string period =
      std::string(period_key(gc.period, date::locate_zone(program.timezone), now).view());
  LOYALTY_RETURN_IF_ERROR(s.lock_members(program.id, {giver.id}));
  GiftStore gifts(s);
  LOYALTY_ASSIGN_OR_RETURN(GiftUsage usage, gifts.usage(program.id, giver.id, period));
  const std::string recipient_key = gift_email_key(*recipient_email);
  LOYALTY_RETURN_IF_ERROR(check_new_gift(gc, kind, c.points.value, gift_email_key(giver.email),
                                         recipient_key, c.message, usage));
  Gift g;
  g.program_id = program.id;
  g.giver_id = giver.id;
  g.kind = kind;
  g.status = GiftStatus::kPending;
  g.recipient_email = *recipient_email;
  g.recipient_key = recipient_key;
  g.message = c.message;
  g.period_key = period;
  g.created_at = now;
  g.expires_at = now + Duration::from_days(gc.claim_days);
  g.actor = c.actor;
  GiftResult out;
  if (kind == GiftKind::kPoints) {
    LOYALTY_ASSIGN_OR_RETURN(MemberLedger ml,
                             caught_up_ledger(s, programs, program.id, giver.id, now));
    HoldRequest req;
    req.points = c.points;
    req.reason = "gift to " + g.recipient_email;
    req.actor = c.actor;
    req.source = "gift";
    LOYALTY_ASSIGN_OR_RETURN(HoldPlan plan, plan_hold(program, ml, req, now));
    LOYALTY_RETURN_IF_ERROR(s.apply_plan(plan.plan));
    g.points = c.points;
    g.send_posting = plan.plan.posting.id;
    for (const HoldLot& l : plan.lots) {
      auto lot = std::find_if(ml.open_lots.begin(), ml.open_lots.end(),
                              [&](const Lot& x) { return x.id == l.lot; });
      LOYALTY_ASSERT(lot != ml.open_lots.end());
      g.lots.push_back(store::GiftLot{l.lot, l.points, lot->expires_at});
    }
    out.balance = plan.plan.balances.at(giver.id);
  } else {
    RewardStore rewards(s);
    LOYALTY_ASSIGN_OR_RETURN(auto r,
                             rewards.find_redemption(program.id, giver.id, c.redemption_id));
    if (!r) {
      return Status(ErrorCode::kNotFound,
                    "redemption " + format_id(c.redemption_id) + " not found");
    }
    const std::string name = "redemption " + format_id(r->id);
    if (r->status == store::RedemptionStatus::kCancelled) {
      return Status(ErrorCode::kGiftNotAllowed, name + " was cancelled");
    }
    if (!r->coupon_id.valid()) {
      return Status(ErrorCode::kGiftNotAllowed, name + " issued no coupon (a " +
                                                    to_string(r->reward_type) +
                                                    "): only a coupon can be gifted");
    }
    LOYALTY_ASSIGN_OR_RETURN(auto coupon, rewards.find_coupon(program.id, r->coupon_id));
    if (!coupon)
      return Status(ErrorCode::kInternal, "coupon " + format_id(r->coupon_id) + " is gone");
    if (coupon->member_id != giver.id) {
      return Status(ErrorCode::kGiftNotAllowed, "the coupon of " + name + " was given away");
    }
    if (coupon->status != CouponStatus::kIssued) {
      return Status(ErrorCode::kGiftNotAllowed, "the coupon of " + name + " is " +
                                                    to_string(coupon->status) +
                                                    ": only an unused coupon can be gifted");
    }
    if (coupon->expires_at && *coupon->expires_at <= now) {
      return Status(ErrorCode::kGiftNotAllowed,
                    "the coupon of " + name + " expired at " + format_rfc3339(*coupon->expires_at));
    }
    coupon->status = CouponStatus::kGifted;
    LOYALTY_RETURN_IF_ERROR(rewards.update_coupon_holder(*coupon, CouponStatus::kIssued));
    g.redemption_id = r->id;
    g.coupon_id = coupon->id;
    out.coupon = std::move(*coupon);
  }
  for (int attempt = 0;; ++attempt) {
    if (attempt == kMaxTokenDraws) {
      return Status(ErrorCode::kInternal,
                    "no unused gift token after " + std::to_string(kMaxTokenDraws) + " draws");
    }
    out.token = random_base58(kGiftTokenChars);
    g.token_hash = *gift_token_digest(out.token);
    LOYALTY_ASSIGN_OR_RETURN(auto taken, gifts.find_by_token(g.token_hash));
    if (!taken) break;
  }
  LOYALTY_ASSIGN_OR_RETURN(g.id, gifts.insert_gift(g));
  out.link = gift_claim_link(gc, out.token);
  LOYALTY_RETURN_IF_ERROR(emit(s, kGiftSent, g, now, out.token, out.link));
  out.gift = std::move(g);
  return out;
}

Result<GiftResult> claim_gift(StoreSession& s, ProgramCache& programs, const ClaimGift& c,
                              Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, c.program_id));
  LOYALTY_ASSIGN_OR_RETURN(Member recipient, require_member(s, program.id, c.member_id));
  GiftStore gifts(s);
  LOYALTY_ASSIGN_OR_RETURN(Gift g, gift_of_token(gifts, program.id, c.token));
  return deliver(s, programs, program, std::move(g), recipient, c.actor, now);
}

Result<GiftResult> cancel_gift(StoreSession& s, ProgramCache& programs, const CancelGift& c,
                               Instant now) {
  GiftStore gifts(s);
  LOYALTY_ASSIGN_OR_RETURN(auto found, gifts.find_gift(c.program_id, c.gift_id));
  if (!found) return Status(ErrorCode::kNotFound, "gift " + format_id(c.gift_id) + " not found");
  LOYALTY_RETURN_IF_ERROR(s.lock_members(c.program_id, {found->giver_id}));
  LOYALTY_ASSIGN_OR_RETURN(Gift g, reread(gifts, *found));
  LOYALTY_RETURN_IF_ERROR(not_pending(g));
  return give_back(s, programs, std::move(g), GiftStatus::kCancelled, c.actor, now);
}

Status gifts_on_enrollment(StoreSession& s, ProgramCache& programs, const Program& program,
                           const Member& member, std::string_view token, Instant now) {
  GiftStore gifts(s);
  if (!token.empty()) {
    LOYALTY_ASSIGN_OR_RETURN(Gift g, gift_of_token(gifts, program.id, token));
    LOYALTY_RETURN_IF_ERROR(
        deliver(s, programs, program, std::move(g), member, "system", now).status());
  }
  if (member.email.empty()) return {};
  LOYALTY_ASSIGN_OR_RETURN(auto config, programs.get_config(s, program.id));
  if (!config->gifting.enabled || !config->gifting.claim_on_enrollment) return {};
  const std::string key = gift_email_key(member.email);
  if (key.empty()) return {};
  LOYALTY_ASSIGN_OR_RETURN(auto pending, gifts.pending_for_email(program.id, key));
  for (Gift& g : pending) {
    if (g.expires_at <= now || g.giver_id == member.id) continue;  // the job returns it
    auto delivered = deliver(s, programs, program, std::move(g), member, "system", now);
    // A gift the member cannot take (a gift to oneself by another account
    // with the same email) stays pending for its link, or goes back.
    if (!delivered.ok() && delivered.status().code() != ErrorCode::kGiftToSelf &&
        delivered.status().code() != ErrorCode::kGiftNotClaimable) {
      return delivered.status();
    }
  }
  return {};
}

Result<JobStepResult> run_gift_job(StoreSession& s, ProgramCache& programs,
                                   const RunProgramJob& job, Instant now) {
  return run_due_items_step(s, job, kGiftsJob, now, [&]() -> Result<DueItems> {
    GiftStore gifts(s);
    LOYALTY_ASSIGN_OR_RETURN(auto due, gifts.due_pending(job.program_id, now, job.max_items));
    DueItems out{0, due.size()};
    for (const Gift& candidate : due) {
      LOYALTY_RETURN_IF_ERROR(s.lock_members(job.program_id, {candidate.giver_id}));
      LOYALTY_ASSIGN_OR_RETURN(Gift g, reread(gifts, candidate));
      if (g.status != GiftStatus::kPending || g.expires_at > now) continue;
      LOYALTY_RETURN_IF_ERROR(
          give_back(s, programs, std::move(g), GiftStatus::kReturned, "system", now).status());
      ++out.written;
    }
    return out;
  });
}

}  // namespace loyalty::engine
