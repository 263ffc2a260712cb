#include "engine/paid_membership_commands.h"

#include <date/tz.h>

#include <algorithm>

#include "common/assert.h"
#include "common/json_writer.h"
#include "domain/config_document.h"
#include "engine/engine.h"
#include "engine/job_commands.h"
#include "engine/tier_commands.h"

namespace loyalty::engine {
namespace {

using store::StoreSession;

std::string money_text(int64_t minor, const std::string& currency) {
  return format_minor_units(minor, currency_exponent(currency).value_or(2)) + " " + currency;
}

Status member_exists(StoreSession& s, ProgramId program, MemberId member) {
  LOYALTY_ASSIGN_OR_RETURN(auto found, s.find_member(program, member));
  if (!found) return Status(ErrorCode::kNotFound, "member " + format_id(member) + " not found");
  return {};
}

Status save(StoreSession& s, const PaidMembershipConfig& config, const PaidPlan* plan,
            ProgramId program, MemberId member, const PaidMembership& m, Instant now) {
  const std::optional<Instant> next =
      plan != nullptr ? next_action_at(config, *plan, m) : std::optional<Instant>(now);
  return s.save_paid_membership(program, member, m, next, now);
}

Status emit(StoreSession& s, ProgramId program, MemberId member, std::string_view type,
            const PaidMembership& m, const PaidPlan* plan, Instant now,
            std::string_view extra_field = "", std::string_view extra_value = "") {
  JsonWriter w;
  w.begin_object()
      .field("member_id", format_id(member))
      .field("plan_id", m.plan_id)
      .field("period_start", format_rfc3339(m.period_start))
      .field("period_end", format_rfc3339(m.period_end));
  if (plan != nullptr) {
    w.field("grants_until", format_rfc3339(grants_until(*plan, m)));
    w.field("granted_tier", plan->grants_tier);
  }
  if (!extra_field.empty()) w.field(extra_field, extra_value);
  w.field("occurred_at", format_rfc3339(now)).end_object();
  auto event = s.append_outbox_event(program, member, type, w.take(), now);
  return event.ok() ? Status() : event.status();
}

Result<PaidMembershipView> view_of(StoreSession& s, const Program& program,
                                   const ProgramConfig& config, MemberId member, Instant now) {
  PaidMembershipView v;
  v.member_id = member;
  v.currency = program.currency;
  v.currency_exponent = currency_exponent(program.currency).value_or(2);
  LOYALTY_ASSIGN_OR_RETURN(v.membership, s.find_paid_membership(program.id, member));
  if (v.membership) {
    if (const PaidPlan* plan = find_plan(config.paid_membership, v.membership->plan_id)) {
      v.plan = *plan;
      v.status = paid_status(*plan, *v.membership, now);
      v.grants_until = grants_until(*plan, *v.membership);
    }
  }
  LOYALTY_ASSIGN_OR_RETURN(v.periods,
                           s.list_paid_payments(program.id, member, kPaidMembershipHistoryLimit));
  return v;
}

const date::time_zone* zone_of(const Program& program) {
  try {
    return date::locate_zone(program.timezone);
  } catch (const std::exception&) {
    return nullptr;  // validated on creation; UTC as a last resort
  }
}

}  // namespace

Result<PaidMembershipView> record_paid_payment(StoreSession& s, ProgramCache& programs,
                                               const RecordPaidPayment& c, Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, c.program_id));
  LOYALTY_RETURN_IF_ERROR(member_exists(s, program.id, c.member_id));
  LOYALTY_ASSIGN_OR_RETURN(auto config, programs.get_config(s, program.id));
  const PaidMembershipConfig& paid = config->paid_membership;
  const PaidPlan* plan = find_plan(paid, c.plan_id);
  if (plan == nullptr) {
    std::string known;
    for (const PaidPlan& p : paid.plans) known += (known.empty() ? "" : ", ") + p.id;
    return Status(ErrorCode::kUnknownPlan,
                  "plan '" + c.plan_id + "' is not a plan of the program" +
                      (known.empty() ? " (it has none)" : " (plans: " + known + ")"));
  }
  if (c.currency != program.currency) {
    return Status(ErrorCode::kPaymentMismatch, "currency: the plan '" + plan->id + "' is paid in " +
                                                   program.currency + ", not " + c.currency);
  }
  if (c.amount_minor != plan->price_minor) {
    return Status(ErrorCode::kPaymentMismatch, "amount_minor: the plan '" + plan->id + "' costs " +
                                                   money_text(plan->price_minor, program.currency) +
                                                   " per " + to_string(plan->period) + ", not " +
                                                   money_text(c.amount_minor, program.currency));
  }
  LOYALTY_ASSIGN_OR_RETURN(auto seen, s.find_paid_payment(program.id, c.external_payment_id));
  if (seen) {
    const bool same = seen->member_id == c.member_id && seen->plan_id == c.plan_id &&
                      seen->amount_minor == c.amount_minor && seen->currency == c.currency &&
                      (!c.period_start || *c.period_start == seen->period_start);
    if (!same) {
      return Status(ErrorCode::kConflict, "external_payment_id: '" + c.external_payment_id +
                                              "' is already recorded for another payment");
    }
    LOYALTY_ASSIGN_OR_RETURN(PaidMembershipView v, view_of(s, program, *config, c.member_id, now));
    v.replayed = true;
    return v;
  }
  LOYALTY_ASSIGN_OR_RETURN(auto current, s.find_paid_membership(program.id, c.member_id));
  const PaidPlan* current_plan = current ? find_plan(paid, current->plan_id) : nullptr;
  LOYALTY_ASSIGN_OR_RETURN(
      PaidMembership next,
      apply_payment(*plan, current, current_plan, c.period_start, zone_of(program), now));
  store::PaidPayment payment;
  payment.member_id = c.member_id;
  payment.plan_id = plan->id;
  payment.external_payment_id = c.external_payment_id;
  payment.period_start = next.period_start;
  payment.period_end = next.period_end;
  payment.amount_minor = c.amount_minor;
  payment.currency = c.currency;
  payment.recorded_at = now;
  LOYALTY_ASSIGN_OR_RETURN(store::PaidPaymentId id, s.insert_paid_payment(program.id, payment));
  LOYALTY_RETURN_IF_ERROR(save(s, paid, plan, program.id, c.member_id, next, now));
  LOYALTY_RETURN_IF_ERROR(emit(s, program.id, c.member_id, "paid_membership.paid", next, plan, now,
                               "payment_id", format_id(id)));
  return view_of(s, program, *config, c.member_id, now);
}

Result<PaidMembershipView> cancel_paid_membership(StoreSession& s, ProgramCache& programs,
                                                  const CancelPaidMembership& c, Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, c.program_id));
  LOYALTY_RETURN_IF_ERROR(member_exists(s, program.id, c.member_id));
  LOYALTY_ASSIGN_OR_RETURN(auto config, programs.get_config(s, program.id));
  LOYALTY_ASSIGN_OR_RETURN(auto current, s.find_paid_membership(program.id, c.member_id));
  const PaidPlan* plan = current ? find_plan(config->paid_membership, current->plan_id) : nullptr;
  const PaidStatus status = plan ? paid_status(*plan, *current, now) : PaidStatus::kLapsed;
  if (status == PaidStatus::kLapsed) {
    return Status(ErrorCode::kNotFound,
                  "member " + format_id(c.member_id) + " has no paid membership to cancel");
  }
  if (status == PaidStatus::kCancelled) {
    return Status(ErrorCode::kConflict, "the paid membership of member " + format_id(c.member_id) +
                                            " is cancelled already");
  }
  PaidMembership next = *current;
  next.cancelled_at = now;
  LOYALTY_RETURN_IF_ERROR(
      save(s, config->paid_membership, plan, program.id, c.member_id, next, now));
  LOYALTY_RETURN_IF_ERROR(emit(s, program.id, c.member_id, "paid_membership.cancelled", next, plan,
                               now, "reason", c.reason));
  return view_of(s, program, *config, c.member_id, now);
}

Result<PaidMembershipView> read_paid_membership(StoreSession& s, ProgramId program_id,
                                                MemberId member, Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(auto program, s.find_program(program_id));
  if (!program) return Status(ErrorCode::kNotFound, "program " + format_id(program_id));
  LOYALTY_RETURN_IF_ERROR(member_exists(s, program_id, member));
  LOYALTY_ASSIGN_OR_RETURN(auto config, read_active_config(s, *program));
  return view_of(s, *program, *config, member, now);
}

Result<std::string> granted_tier(StoreSession& s, const ProgramConfig& config, ProgramId program,
                                 MemberId member, Instant now) {
  const auto& plans = config.paid_membership.plans;
  if (std::none_of(plans.begin(), plans.end(),
                   [](const PaidPlan& p) { return !p.grants_tier.empty(); })) {
    return std::string();
  }
  LOYALTY_ASSIGN_OR_RETURN(auto m, s.find_paid_membership(program, member));
  if (!m) return std::string();
  const PaidPlan* plan = find_plan(config.paid_membership, m->plan_id);
  if (plan == nullptr || !grants_now(paid_status(*plan, *m, now))) return std::string();
  return plan->grants_tier;
}

Result<JobStepResult> run_paid_membership_job(StoreSession& s, ProgramCache& programs,
                                              const RunProgramJob& job, Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, job.program_id));
  LOYALTY_ASSIGN_OR_RETURN(auto config, programs.get_config(s, program.id));
  JobStepResult result;
  if (!config->paid_membership.enabled()) {
    result.complete = true;  // no plans: nothing due, nothing written
    return result;
  }
  return run_due_items_step(s, job, kPaidMembershipsJob, now, [&]() -> Result<DueItems> {
    LOYALTY_ASSIGN_OR_RETURN(auto due, s.due_paid_memberships(program.id, now, job.max_items));
    std::sort(due.begin(), due.end());
    if (!due.empty()) LOYALTY_RETURN_IF_ERROR(s.lock_members(program.id, due));
    DueItems out{0, due.size()};
    const PaidMembershipConfig& paid = config->paid_membership;
    for (MemberId member : due) {
      LOYALTY_ASSIGN_OR_RETURN(auto m, s.find_paid_membership(program.id, member));
      if (!m) continue;
      const PaidPlan* plan = find_plan(paid, m->plan_id);
      PaidMembership next = *m;
      // A plan no longer configured grants nothing: it lapses now.
      const PaidAction action = plan ? due_action(paid, *plan, *m, now) : PaidAction::kLapse;
      if (action == PaidAction::kRemind) {
        next.reminded_through = m->period_end;
        LOYALTY_RETURN_IF_ERROR(emit(s, program.id, member, "paid_membership.renewal_reminder",
                                     next, plan, now, "amount",
                                     money_text(plan->price_minor, program.currency)));
      } else if (action == PaidAction::kLapse) {
        next.lapsed_at = plan ? grants_until(*plan, *m) : now;
        LOYALTY_RETURN_IF_ERROR(
            emit(s, program.id, member, "paid_membership.lapsed", next, plan, now));
      }
      LOYALTY_RETURN_IF_ERROR(s.save_paid_membership(
          program.id, member, next, plan ? next_action_at(paid, *plan, next) : std::nullopt, now));
      if (action != PaidAction::kNone) ++out.written;
    }
    return out;
  });
}

}  // namespace loyalty::engine
