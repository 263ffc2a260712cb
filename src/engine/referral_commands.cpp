#include "engine/referral_commands.h"

#include <algorithm>
#include <array>

#include <date/tz.h>

#include "common/assert.h"
#include "common/crypto.h"
#include "common/json_writer.h"
#include "domain/earning.h"
#include "engine/engine.h"
#include "engine/job_commands.h"
#include "engine/order_commands.h"
#include "engine/reward_commands.h"

namespace loyalty::engine {
namespace {

using store::StoreSession;

constexpr int kMaxCodeDraws = 8;
constexpr std::string_view kLifetime = "life";

bool has_signals(const ReferralMemberSignals& x) {
  return !x.shipping_hash.empty() || !x.payment_hash.empty() || !x.device_hash.empty() ||
         !x.ip_hash.empty();
}

CapPeriod cap_period(ReferralPeriod p) {
  switch (p) {
    case ReferralPeriod::kDay:
      return CapPeriod::kDay;
    case ReferralPeriod::kWeek:
      return CapPeriod::kWeek;
    case ReferralPeriod::kMonth:
      return CapPeriod::kMonth;
    case ReferralPeriod::kYear:
      return CapPeriod::kYear;
  }
  return CapPeriod::kMonth;
}

std::string period_of(const ReferralConfig& config, const Program& program, Instant now) {
  const date::time_zone* zone = date::locate_zone(program.timezone);
  return std::string(period_key(cap_period(config.limits.period), zone, now).view());
}

Status emit(StoreSession& s, const Referral& r, std::string_view type, Instant now) {
  JsonWriter w;
  write_referral(w, r);
  return s.append_outbox_event(r.program, r.referrer, type, w.take(), now).status();
}

Result<ReferralUsage> load_usage(StoreSession& s, const Program& program,
                                 const ReferralConfig& config, MemberId referrer, Instant now) {
  const std::string period = period_of(config, program, now);
  ReferralUsage u;
  LOYALTY_ASSIGN_OR_RETURN(auto in_period, s.referral_usage(program.id, referrer.value, period));
  LOYALTY_ASSIGN_OR_RETURN(auto lifetime, s.referral_usage(program.id, referrer.value, kLifetime));
  LOYALTY_ASSIGN_OR_RETURN(auto program_row, s.referral_usage(program.id, 0, period));
  u.referrer_rewards_in_period = in_period.rewards;
  u.referrer_rewards_lifetime = lifetime.rewards;
  u.program_points_in_period = program_row.points;
  return u;
}

Result<PostingId> pay(StoreSession& s, ProgramCache& programs, const Program& program,
                      MemberId member, int64_t points, std::string reason, Instant now) {
  CreditRequest request;
  request.points = Points{points};
  request.reason = std::move(reason);
  request.source = "referral";
  request.actor = "system";
  LOYALTY_ASSIGN_OR_RETURN(Posting posting,
                           credit_member(s, programs, program.id, member, request, now));
  return posting.id;
}

Result<bool> is_blocked(StoreSession& s, ProgramId program, MemberId id) {
  LOYALTY_ASSIGN_OR_RETURN(auto m, s.find_member(program, id));
  return !m || m->status == MemberStatus::kBlocked;
}

// The referee's immediate welcome reward, under the program cap.
Status pay_welcome(StoreSession& s, ProgramCache& programs, const Program& program,
                   const ReferralConfig& config, Referral& r, Instant now) {
  if (r.welcome_paid || config.referee_timing != RefereeRewardTiming::kImmediate) return {};
  LOYALTY_ASSIGN_OR_RETURN(ReferralUsage usage, load_usage(s, program, config, r.referrer, now));
  ReferralPayout plan = plan_welcome_payout(config, usage);
  if (plan.referee_points > 0) {
    LOYALTY_ASSIGN_OR_RETURN(
        bool fits,
        s.add_referral_usage(program.id, 0, period_of(config, program, now), 0, plan.referee_points,
                             config.limits.program_points_per_period));
    if (!fits) {
      plan.referee_points = 0;
      plan.referee_skip = RewardSkip::kProgramCap;
    }
  }
  if (plan.referee_points > 0) {
    LOYALTY_ASSIGN_OR_RETURN(r.referee_posting,
                             pay(s, programs, program, r.referee, plan.referee_points,
                                 "Referral welcome reward (" + format_id(r.id) + ")", now));
    r.referee_points += plan.referee_points;
    r.welcome_paid = true;
  }
  r.referee_skip = plan.referee_skip;
  return {};
}

// Pays both sides (as far as the limits allow) and marks the referral
// completed. The caller holds both members' locks and writes `r` afterwards.
Status complete(StoreSession& s, ProgramCache& programs, const Program& program,
                const ReferralConfig& config, Referral& r, Instant now) {
  LOYALTY_ASSERT(r.status == ReferralStatus::kPending);
  const std::string period = period_of(config, program, now);
  LOYALTY_ASSIGN_OR_RETURN(bool referrer_blocked, is_blocked(s, program.id, r.referrer));
  LOYALTY_ASSIGN_OR_RETURN(bool referee_blocked, is_blocked(s, program.id, r.referee));
  ReferralPayout plan;
  for (int attempt = 0; attempt < 2; ++attempt) {
    LOYALTY_ASSIGN_OR_RETURN(ReferralUsage usage, load_usage(s, program, config, r.referrer, now));
    plan = plan_completion_payout(config, usage, r.welcome_paid);
    if (referrer_blocked && plan.referrer_points > 0) {
      plan.referrer_points = 0;
      plan.referrer_skip = RewardSkip::kMemberBlocked;
    }
    if (referee_blocked && plan.referee_points > 0) {
      plan.referee_points = 0;
      plan.referee_skip = RewardSkip::kMemberBlocked;
    }
    if (plan.total() == 0) break;
    LOYALTY_ASSIGN_OR_RETURN(bool fits,
                             s.add_referral_usage(program.id, 0, period, 0, plan.total(),
                                                  config.limits.program_points_per_period));
    if (fits) break;
    // Another node paid referrals meanwhile: plan again with what it left.
    if (attempt == 1) {
      if (plan.referee_points > 0) plan.referee_skip = RewardSkip::kProgramCap;
      if (plan.referrer_points > 0) plan.referrer_skip = RewardSkip::kProgramCap;
      plan.referee_points = 0;
      plan.referrer_points = 0;
    }
  }
  if (plan.referrer_points > 0) {
    for (std::string_view key : {std::string_view(period), kLifetime}) {
      LOYALTY_ASSIGN_OR_RETURN(bool counted,
                               s.add_referral_usage(program.id, r.referrer.value, key, 1,
                                                    plan.referrer_points, /*cap_points=*/0));
      LOYALTY_ASSERT(counted);
    }
  }
  if (plan.referee_points > 0) {
    LOYALTY_ASSIGN_OR_RETURN(r.referee_posting,
                             pay(s, programs, program, r.referee, plan.referee_points,
                                 "Referral reward (" + format_id(r.id) + ")", now));
    r.referee_points += plan.referee_points;
  }
  if (plan.referrer_points > 0) {
    LOYALTY_ASSIGN_OR_RETURN(r.referrer_posting,
                             pay(s, programs, program, r.referrer, plan.referrer_points,
                                 "Referral reward (" + format_id(r.id) + ")", now));
    r.referrer_points += plan.referrer_points;
  }
  if (plan.referee_skip != RewardSkip::kNone) r.referee_skip = plan.referee_skip;
  r.referrer_skip = plan.referrer_skip;
  r.status = ReferralStatus::kCompleted;
  return emit(s, r, "referral.completed", now);
}

// Reverses both sides' rewards of a completed referral whose order a refund
// un-qualified (refund_after_completion: claw_back). A reward the ledger cannot
// take back (the member spent it and the policy forbids a negative balance)
// stays, and the reason says so.
Status claw_back(StoreSession& s, ProgramCache& programs, Referral& r, Instant now) {
  std::string failures;
  for (PostingId posting : {r.referrer_posting, r.referee_posting}) {
    if (!posting.valid()) continue;
    Reverse reverse;
    reverse.program_id = r.program;
    reverse.posting_id = posting;
    reverse.reason = "referral " + format_id(r.id) + " clawed back: its order was refunded";
    reverse.actor = "system";
    auto reversed = reverse_posting(s, programs, reverse, now);
    if (!reversed.ok() && reversed.status().code() != ErrorCode::kAlreadyReversed) {
      if (reversed.status().code() == ErrorCode::kInternal ||
          reversed.status().code() == ErrorCode::kRetryable ||
          reversed.status().code() == ErrorCode::kUnavailable) {
        return reversed.status();
      }
      failures += "; " + format_id(posting) + " kept: " + reversed.status().message();
    }
  }
  r.clawed_back = true;
  r.decision_reason = "rewards clawed back: order " + r.order_external_id + " refunded" + failures;
  return emit(s, r, "referral.clawed_back", now);
}

Result<ReferralCode> draw_code(StoreSession& s, ProgramId program, MemberId member,
                               const ReferralCodeFormat& format, Instant now) {
  for (int attempt = 0; attempt < kMaxCodeDraws; ++attempt) {
    std::string code = draw_random_text(
        [&](std::span<const uint8_t> random) { return referral_code_from_random(format, random); });
    ReferralCode out{member, std::move(code), true, now};
    Status inserted = s.insert_referral_code(program, out);
    if (inserted.ok()) return out;
    if (inserted.code() != ErrorCode::kConflict) return inserted;
  }
  return Status(ErrorCode::kInternal,
                "no unused referral code after " + std::to_string(kMaxCodeDraws) + " draws");
}

Result<ReferralCode> code_of(StoreSession& s, const Program& program, const ReferralConfig& config,
                             MemberId member, Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(auto existing, s.member_referral_code(program.id, member));
  if (existing) return *existing;
  return draw_code(s, program.id, member, config.code, now);
}

// A new referral of `referee` by the owner of `code`, screened; the caller
// checked who may be referred and holds both members' locks.
// `referee_signals`: the referee's stored hashes when the caller knows them
// (a new member: what the enrollment sent), else null (read here).
Result<Referral> create_referral(StoreSession& s, ProgramCache& programs, const Program& program,
                                 const ReferralConfig& config, const Member& referrer,
                                 const Member& referee, const std::string& code, Instant now,
                                 const ReferralMemberSignals* known_referee_signals = nullptr) {
  ReferralSignals sig;
  const auto& gmail = config.fraud.gmail_style_domains;
  sig.referrer_email = normalize_email(referrer.email, gmail);
  sig.referee_email = normalize_email(referee.email, gmail);
  sig.referee_email_domain = email_domain(referee.email);
  LOYALTY_ASSIGN_OR_RETURN(auto referrer_signals, s.find_referral_signals(program.id, referrer.id));
  std::optional<ReferralMemberSignals> referee_signals;
  if (known_referee_signals != nullptr) {
    referee_signals = *known_referee_signals;
  } else {
    LOYALTY_ASSIGN_OR_RETURN(referee_signals, s.find_referral_signals(program.id, referee.id));
  }
  if (referrer_signals) {
    sig.referrer_shipping_hash = referrer_signals->shipping_hash;
    sig.referrer_payment_hash = referrer_signals->payment_hash;
    sig.referrer_device_hash = referrer_signals->device_hash;
    sig.referrer_ip_hash = referrer_signals->ip_hash;
  }
  if (referee_signals) {
    sig.referee_shipping_hash = referee_signals->shipping_hash;
    sig.referee_payment_hash = referee_signals->payment_hash;
    sig.referee_device_hash = referee_signals->device_hash;
    sig.referee_ip_hash = referee_signals->ip_hash;
  }
  if (config.fraud[FraudControl::kVelocity].enabled) {
    const Instant since = now - Duration::from_seconds(config.fraud.velocity_window_minutes * 60);
    LOYALTY_ASSIGN_OR_RETURN(sig.code_referrals_in_window,
                             s.count_code_referrals_since(program.id, code, since));
  }
  Screening screening = screen_referral(config.fraud, sig);
  Referral r;
  r.program = program.id;
  r.referrer = referrer.id;
  r.referee = referee.id;
  r.code = code;
  r.findings = screening.findings;
  r.created_at = now;
  r.updated_at = now;
  r.actor = "system";
  switch (screening.outcome) {
    case ScreeningOutcome::kClean:
      r.status = ReferralStatus::kPending;
      break;
    case ScreeningOutcome::kHeld:
      r.status = ReferralStatus::kHeld;
      break;
    case ScreeningOutcome::kRejected:
      r.status = ReferralStatus::kRejected;
      r.decision_reason = "rejected by fraud controls";
      break;
  }
  LOYALTY_ASSIGN_OR_RETURN(r.id, s.insert_referral(r));
  LOYALTY_RETURN_IF_ERROR(emit(s, r, "referral.created", now));
  if (r.status == ReferralStatus::kHeld) {
    LOYALTY_RETURN_IF_ERROR(emit(s, r, "referral.flagged", now));
  } else if (r.status == ReferralStatus::kRejected) {
    LOYALTY_RETURN_IF_ERROR(emit(s, r, "referral.rejected", now));
  } else if (config.referee_timing == RefereeRewardTiming::kImmediate) {
    LOYALTY_RETURN_IF_ERROR(pay_welcome(s, programs, program, config, r, now));
    LOYALTY_RETURN_IF_ERROR(s.update_referral(r));
    ++r.version;
  }
  return r;
}

// Attaches `code_text` to the referee: the code's checks, then the referral.
// The same code as the referee's referral returns it unchanged. At enrollment
// the referee is new (no referral yet) and `enrollment_signals` are all the
// hashes stored for them.
Result<Referral> attach_code(StoreSession& s, ProgramCache& programs, const Program& program,
                             const ReferralConfig& config, const Member& referee,
                             std::string_view code_text, bool at_enrollment, Instant now,
                             const ReferralMemberSignals* enrollment_signals = nullptr) {
  if (!config.enabled) {
    return Status(ErrorCode::kReferralNotAllowed, "the program has no referrals");
  }
  std::optional<std::string> code = normalize_referral_code(code_text);
  if (!code) {
    return Status(ErrorCode::kUnknownReferralCode,
                  "referral_code: not a referral code (letters, digits and '-', at most " +
                      std::to_string(kMaxReferralCodeTextLength) + " characters)");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto found, s.find_referral_code(program.id, *code));
  if (!found || !found->active) {
    return Status(ErrorCode::kUnknownReferralCode, "no active referral code '" + *code + "'");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto referrer, s.find_member(program.id, found->member));
  if (!referrer || referrer->status == MemberStatus::kBlocked) {
    return Status(ErrorCode::kUnknownReferralCode,
                  "referral code '" + *code + "' is inactive (its member is blocked)");
  }
  LOYALTY_RETURN_IF_ERROR(lock_member_pair(s, program.id, referrer->id, referee.id));
  std::optional<Referral> existing;
  if (!at_enrollment) {
    LOYALTY_ASSIGN_OR_RETURN(existing, s.find_referral_of_referee(program.id, referee.id));
  }
  if (existing && existing->code == *code) return *existing;
  RefereeFacts facts;
  facts.same_member = referrer->id == referee.id;
  facts.already_referred = existing.has_value();
  facts.existing_member = !at_enrollment;
  facts.has_ordered = referee.orders_count > 0;
  LOYALTY_RETURN_IF_ERROR(check_referee(config, facts));
  return create_referral(s, programs, program, config, *referrer, referee, *code, now,
                         at_enrollment ? enrollment_signals : nullptr);
}

Status save_signals(StoreSession& s, ProgramId program, MemberId member,
                    const ReferralMemberSignals& signals, Instant now) {
  if (!has_signals(signals)) return {};
  return s.save_referral_signals(program, member, signals, now);
}

// The configuration for attaching a referee (enrollment, an order, the attach
// command): with referrals, the shop's signals are saved first; without,
// nullptr, or kReferralNotAllowed when a code was sent.
Result<std::shared_ptr<const ProgramConfig>> config_for_attach(
    StoreSession& s, ProgramCache& programs, const Program& program, MemberId member,
    const ReferralAttach& attach, Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(auto config, programs.get_config(s, program.id));
  if (!config->referrals.enabled) {
    if (!attach.code.empty()) {
      return Status(ErrorCode::kReferralNotAllowed, "the program has no referrals");
    }
    return std::shared_ptr<const ProgramConfig>();
  }
  LOYALTY_RETURN_IF_ERROR(save_signals(s, program.id, member, attach.signals, now));
  return config;
}

bool open_for_order(ReferralStatus st) {
  return st == ReferralStatus::kPending || st == ReferralStatus::kHeld;
}

}  // namespace

void write_referral(JsonWriter& w, const Referral& r) {
  w.begin_object()
      .field("id", format_id(r.id))
      .field("referrer_id", format_id(r.referrer))
      .field("referee_id", format_id(r.referee))
      .field("code", r.code)
      .field("status", to_string(r.status));
  w.key("findings");
  write_findings(w, r.findings);
  w.field("decision_reason", r.decision_reason);
  if (r.order_external_id.empty()) {
    w.field_null("order_external_id");
  } else {
    w.field("order_external_id", r.order_external_id);
  }
  w.field("order_value_minor", r.order_value_minor);
  if (r.due_at) {
    w.field("due_at", format_rfc3339(*r.due_at));
  } else {
    w.field_null("due_at");
  }
  w.field("referrer_points", r.referrer_points)
      .field("referee_points", r.referee_points)
      .field("referrer_skip", to_string(r.referrer_skip))
      .field("referee_skip", to_string(r.referee_skip))
      .field("welcome_paid", r.welcome_paid)
      .field("clawed_back", r.clawed_back)
      .field("created_at", format_rfc3339(r.created_at))
      .field("updated_at", format_rfc3339(r.updated_at))
      .field("actor", r.actor)
      .end_object();
}

Result<ReferralCodeView> ensure_referral_code(StoreSession& s, ProgramCache& programs,
                                              const EnsureReferralCode& c, Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, c.program_id));
  LOYALTY_ASSIGN_OR_RETURN(auto config, programs.get_config(s, program.id));
  LOYALTY_ASSIGN_OR_RETURN(Member member, require_member(s, program.id, c.member_id));
  if (!config->referrals.enabled) {
    return Status(ErrorCode::kReferralNotAllowed, "the program has no referrals");
  }
  LOYALTY_ASSIGN_OR_RETURN(ReferralCode code,
                           code_of(s, program, config->referrals, member.id, now));
  return ReferralCodeView{code, referral_link(config->referrals, code.code)};
}

Result<InvitationResult> invite_referral(StoreSession& s, ProgramCache& programs,
                                         const InviteReferral& c, Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, c.program_id));
  LOYALTY_ASSIGN_OR_RETURN(auto config, programs.get_config(s, program.id));
  LOYALTY_ASSIGN_OR_RETURN(Member member, require_member(s, program.id, c.member_id));
  const ReferralConfig& rc = config->referrals;
  if (!rc.enabled) return Status(ErrorCode::kReferralNotAllowed, "the program has no referrals");
  if (member.status == MemberStatus::kBlocked) {
    return Status(ErrorCode::kMemberBlocked, "member " + format_id(member.id) + " is blocked");
  }
  auto valid = normalize_email(c.email);  // the member model's email check
  if (!valid.ok()) return Status(ErrorCode::kInvalidRequest, "email: " + valid.status().message());
  const std::string email = normalize_email(*valid, rc.fraud.gmail_style_domains);
  if (email == normalize_email(member.email, rc.fraud.gmail_style_domains)) {
    return Status(ErrorCode::kReferralNotAllowed, "a member cannot invite their own email");
  }
  LOYALTY_ASSIGN_OR_RETURN(ReferralCode code, code_of(s, program, rc, member.id, now));
  InvitationResult out;
  out.invitation = ReferralInvitation{0, member.id, email, now};
  LOYALTY_ASSIGN_OR_RETURN(out.created, s.insert_referral_invitation(program.id, out.invitation));
  if (!out.created) return out;
  JsonWriter w;
  w.begin_object()
      .field("member_id", format_id(member.id))
      .field("email", email)
      .field("code", code.code)
      .field("link", referral_link(rc, code.code))
      .field("referrer_first_name", member.first_name)
      .field("occurred_at", format_rfc3339(now))
      .end_object();
  LOYALTY_RETURN_IF_ERROR(
      s.append_outbox_event(program.id, member.id, "referral.invited", w.take(), now).status());
  return out;
}

Result<Referral> review_referral(StoreSession& s, ProgramCache& programs, const ReviewReferral& c,
                                 Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, c.program_id));
  LOYALTY_ASSIGN_OR_RETURN(auto config, programs.get_config(s, program.id));
  LOYALTY_ASSIGN_OR_RETURN(auto found, s.find_referral(program.id, c.referral_id));
  if (!found) {
    return Status(ErrorCode::kNotFound, "referral " + format_id(c.referral_id) + " not found");
  }
  LOYALTY_RETURN_IF_ERROR(lock_member_pair(s, program.id, found->referrer, found->referee));
  LOYALTY_ASSIGN_OR_RETURN(found, s.find_referral(program.id, c.referral_id));  // under the locks
  Referral r = std::move(*found);
  const bool may =
      c.approve ? r.status == ReferralStatus::kHeld
                : (r.status == ReferralStatus::kHeld || r.status == ReferralStatus::kPending);
  if (!may) {
    return Status(ErrorCode::kReferralNotReviewable,
                  "referral " + format_id(r.id) + " is " + to_string(r.status) +
                      (c.approve ? ": only a held referral can be approved"
                                 : ": only a held or pending referral can be rejected"));
  }
  r.decision_reason = c.reason;
  r.actor = c.actor;
  r.updated_at = now;
  if (c.approve) {
    r.status = ReferralStatus::kPending;
    LOYALTY_RETURN_IF_ERROR(emit(s, r, "referral.approved", now));
    if (config->referrals.enabled) {
      LOYALTY_RETURN_IF_ERROR(pay_welcome(s, programs, program, config->referrals, r, now));
      if (r.due_at && *r.due_at <= now) {
        LOYALTY_RETURN_IF_ERROR(complete(s, programs, program, config->referrals, r, now));
      }
    }
  } else {
    r.status = ReferralStatus::kRejected;
    LOYALTY_RETURN_IF_ERROR(emit(s, r, "referral.rejected", now));
  }
  LOYALTY_RETURN_IF_ERROR(s.update_referral(r));
  ++r.version;
  return r;
}

Result<Referral> attach_referral(StoreSession& s, ProgramCache& programs, const AttachReferral& c,
                                 Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, c.program_id));
  LOYALTY_ASSIGN_OR_RETURN(Member member, require_member(s, program.id, c.member_id));
  if (c.attach.code.empty()) {
    return Status(ErrorCode::kInvalidRequest, "referral_code: required");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto config,
                           config_for_attach(s, programs, program, member.id, c.attach, now));
  return attach_code(s, programs, program, config->referrals, member, c.attach.code,
                     /*at_enrollment=*/false, now);
}

Status referrals_on_enrollment(StoreSession& s, ProgramCache& programs, const Program& program,
                               const Member& member, const ReferralAttach& attach, Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(auto config,
                           config_for_attach(s, programs, program, member.id, attach, now));
  if (!config) return {};
  const ReferralConfig& rc = config->referrals;
  if (!attach.code.empty()) {
    return attach_code(s, programs, program, rc, member, attach.code, /*at_enrollment=*/true, now,
                       &attach.signals)
        .status();
  }
  if (member.email.empty()) return {};
  // Referred by email: the first member who invited this address.
  LOYALTY_ASSIGN_OR_RETURN(
      auto invitation,
      s.first_referral_invitation_of(program.id,
                                     normalize_email(member.email, rc.fraud.gmail_style_domains)));
  if (!invitation) return {};
  LOYALTY_ASSIGN_OR_RETURN(auto inviter, s.find_member(program.id, invitation->member));
  if (!inviter || inviter->status == MemberStatus::kBlocked) return {};
  LOYALTY_ASSIGN_OR_RETURN(ReferralCode code, code_of(s, program, rc, inviter->id, now));
  LOYALTY_RETURN_IF_ERROR(lock_member_pair(s, program.id, inviter->id, member.id));
  return create_referral(s, programs, program, rc, *inviter, member, code.code, now,
                         &attach.signals)
      .status();
}

Status referrals_before_order(StoreSession& s, ProgramCache& programs, const Program& program,
                              const Member& member, const ReferralAttach& attach, Instant now) {
  if (attach.empty()) return {};
  LOYALTY_ASSIGN_OR_RETURN(auto config,
                           config_for_attach(s, programs, program, member.id, attach, now));
  if (!config || attach.code.empty()) return {};
  return attach_code(s, programs, program, config->referrals, member, attach.code,
                     /*at_enrollment=*/false, now)
      .status();
}

Status referrals_after_order(StoreSession& s, ProgramCache& programs, const Program& program,
                             const Order& order, Instant now) {
  if (!order.member_id.valid()) return {};
  LOYALTY_ASSIGN_OR_RETURN(auto config, programs.get_config(s, program.id));
  const ReferralConfig& rc = config->referrals;
  if (!rc.enabled) return {};
  LOYALTY_ASSIGN_OR_RETURN(auto found, s.find_referral_of_referee(program.id, order.member_id));
  if (!found) return {};
  const bool mine = found->order_external_id == order.external_id;
  const bool completed_mine = found->status == ReferralStatus::kCompleted && mine &&
                              rc.refund_after_completion == RefundAfterCompletion::kClawBack &&
                              !found->clawed_back;
  const bool open = open_for_order(found->status) && (mine || found->order_external_id.empty());
  if (!completed_mine && !open) return {};
  const int64_t value = order_net_merchandise_minor(order);
  if (found->order_external_id.empty() && !order_qualifies(rc, value)) return {};
  // A change to make: under the members' locks, on the referral as it is now.
  LOYALTY_RETURN_IF_ERROR(lock_member_pair(s, program.id, found->referrer, found->referee));
  LOYALTY_ASSIGN_OR_RETURN(found, s.find_referral_of_referee(program.id, order.member_id));
  Referral r = std::move(*found);
  const Referral before = r;
  if (r.status == ReferralStatus::kCompleted) {
    if (r.order_external_id == order.external_id && !r.clawed_back &&
        rc.refund_after_completion == RefundAfterCompletion::kClawBack &&
        !order_qualifies(rc, value)) {
      LOYALTY_RETURN_IF_ERROR(claw_back(s, programs, r, now));
    }
  } else if (open_for_order(r.status)) {
    if (r.order_external_id.empty()) {
      if (!order_qualifies(rc, value)) return {};
      r.order_external_id = order.external_id;
    } else if (r.order_external_id != order.external_id) {
      return {};
    }
    r.order_value_minor = value;
    r.due_at = order_vesting_instant(order, config->earning);
    if (!order_qualifies(rc, value)) {
      r.status = ReferralStatus::kCancelled;
      r.decision_reason = "order " + order.external_id +
                          " no longer qualifies (refunded, cancelled or returned before it vested)";
      LOYALTY_RETURN_IF_ERROR(emit(s, r, "referral.cancelled", now));
    } else if (r.status == ReferralStatus::kPending && r.due_at && *r.due_at <= now) {
      LOYALTY_RETURN_IF_ERROR(complete(s, programs, program, rc, r, now));
    }
  }
  if (r == before) return {};
  r.updated_at = now;
  return s.update_referral(r);
}

Result<JobStepResult> run_referral_job(StoreSession& s, ProgramCache& programs,
                                       const RunProgramJob& job, Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, job.program_id));
  LOYALTY_ASSIGN_OR_RETURN(auto config, programs.get_config(s, program.id));
  JobStepResult result;
  if (!config->referrals.enabled) {
    result.complete = true;
    return result;
  }
  return run_due_items_step(s, job, kReferralsJob, now, [&]() -> Result<DueItems> {
    LOYALTY_ASSIGN_OR_RETURN(auto due, s.due_referrals(program.id, now, job.max_items));
    DueItems out{0, due.size()};
    for (const Referral& candidate : due) {
      LOYALTY_RETURN_IF_ERROR(
          lock_member_pair(s, program.id, candidate.referrer, candidate.referee));
      LOYALTY_ASSIGN_OR_RETURN(auto fresh, s.find_referral(program.id, candidate.id));
      if (!fresh || fresh->status != ReferralStatus::kPending || !fresh->due_at ||
          *fresh->due_at > now) {
        continue;
      }
      Referral r = std::move(*fresh);
      LOYALTY_RETURN_IF_ERROR(complete(s, programs, program, config->referrals, r, now));
      r.updated_at = now;
      LOYALTY_RETURN_IF_ERROR(s.update_referral(r));
      ++out.written;
    }
    return out;
  });
}

}  // namespace loyalty::engine
