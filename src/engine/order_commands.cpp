#include "engine/order_commands.h"
#include "engine/referral_commands.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "common/assert.h"
#include "common/json_writer.h"
#include "domain/earning.h"
#include "engine/checkout_commands.h"
#include "engine/job_commands.h"
#include "engine/rule_context.h"
#include "engine/tier_commands.h"

namespace loyalty::engine {

namespace {

using store::StoreSession;

bool rules_mention(const ProgramConfig& config, std::string_view text) {
  for (const EarnRule& r : config.earn_rules) {
    if (r.condition.find(text) != std::string::npos || r.formula.find(text) != std::string::npos ||
        r.item_filter.find(text) != std::string::npos) {
      return true;
    }
  }
  return false;
}

struct OrderEarning {
  int64_t points = 0;
  std::vector<int64_t> item_points;
  int config_version = 0;
  std::vector<store::RuleUsage> usage_increments;
  KnownTierState tier_state;  // the member_tiers row the earning read, if it did
};

store::RuleUsage usage_row(const UsageKey& key, MemberId member) {
  store::RuleUsage row;
  row.member = key.scope == CapScope::kMember ? member : MemberId{};
  row.rule_id = std::string(key.rule_id);
  row.period_key = std::string(key.period.view());
  row.distinct_key = std::string(key.distinct_key);
  return row;
}

// What the program's earn rules give the order of `member`, evaluated at `now`.
Result<OrderEarning> evaluate_order_points(StoreSession& s, ProgramCache& programs,
                                           const Program& program, const Member& member,
                                           const Order& order, Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(auto config, programs.get_config(s, program.id));
  LOYALTY_ASSIGN_OR_RETURN(auto compiled, programs.get_compiled(s, program));
  OrderEarning out;
  out.config_version = config->version;
  out.item_points.assign(order.items.size(), 0);
  if (config->earn_rules.empty()) return out;

  OrderContext order_context;
  LOYALTY_RETURN_IF_ERROR(order_context.fill(order));
  rules::OrderView& view = order_context.order;
  bool needs_first = rules_mention(*config, "is_first_order");
  for (const EarnRule& r : config->earn_rules) needs_first = needs_first || r.first_order_only;
  if (needs_first) {
    LOYALTY_ASSIGN_OR_RETURN(bool ordered_before,
                             s.member_has_paid_order(program.id, member.id, order.id));
    view.is_first_order = !ordered_before;
  }
  // The member as before this order: its statistics do not count it yet.
  std::optional<Balance> balance;
  if (rules_mention(*config, "member.")) {
    LOYALTY_ASSIGN_OR_RETURN(balance, s.get_balance(program.id, member.id));
  }
  // member.tier, and the tier's earn multiplier (docs/tiers.md).
  LOYALTY_ASSIGN_OR_RETURN(std::string tier,
                           tier_for_earning(s, programs, program, member.id, now, &out.tier_state));
  MemberContext member_context;
  LOYALTY_RETURN_IF_ERROR(
      member_context.fill(program, member, balance ? &*balance : nullptr, tier));
  rules::Context ctx;
  ctx.order = &view;
  ctx.member = &member_context.member;
  ctx.program = &member_context.program;
  ctx.now = now;

  std::vector<UsageKey> keys;
  usage_keys_for_order(*compiled, ctx, now, &keys);
  std::vector<UsageCounter> usage;
  if (!keys.empty()) {
    std::vector<store::RuleUsage> wanted;
    wanted.reserve(keys.size());
    for (const UsageKey& k : keys) wanted.push_back(usage_row(k, member.id));
    LOYALTY_ASSIGN_OR_RETURN(auto rows, s.read_rule_usage(program.id, wanted, true));
    for (size_t k = 0; k < keys.size(); ++k) {
      for (const store::RuleUsage& row : rows) {
        if (row.member == wanted[k].member && row.rule_id == wanted[k].rule_id &&
            row.period_key == wanted[k].period_key && row.distinct_key == wanted[k].distinct_key) {
          usage.push_back(UsageCounter{keys[k], row.awards, row.points});
        }
      }
    }
  }
  EarnResult result;
  evaluate_order(*compiled, ctx, usage, now, &result);
  out.points = result.total_points;
  for (size_t k = 0; k < order.items.size() && k < result.item_total_points.size(); ++k) {
    out.item_points[k] = result.item_total_points[k];
  }
  for (const UsageCounter& inc : result.usage_increments) {
    store::RuleUsage row = usage_row(inc.key, member.id);
    row.awards = inc.awards;
    row.points = inc.points;
    out.usage_increments.push_back(std::move(row));
  }
  return out;
}

// Moves the member's order statistics (member_order_stats, domain/order.h) from
// what the order added before a change (`before`; null for a new order) to what
// it adds after: at most one UPDATE per member, none when nothing changed.
Status update_member_stats(StoreSession& s, const Order* before, const Order& after) {
  auto share = [](const Order* o) {
    return o != nullptr && o->member_id.valid() ? member_order_stats(*o) : MemberOrderStats{};
  };
  const MemberOrderStats was = share(before);
  const MemberOrderStats is = share(&after);
  const MemberId was_member = before != nullptr ? before->member_id : MemberId{};
  if (was_member == after.member_id) {
    if (was == is) return {};
    return s.add_member_order_stats(after.program_id, after.member_id, is.orders - was.orders,
                                    is.spent_minor - was.spent_minor);
  }
  if (was != MemberOrderStats{}) {
    LOYALTY_RETURN_IF_ERROR(
        s.add_member_order_stats(after.program_id, was_member, -was.orders, -was.spent_minor));
  }
  if (is != MemberOrderStats{}) {
    LOYALTY_RETURN_IF_ERROR(
        s.add_member_order_stats(after.program_id, after.member_id, is.orders, is.spent_minor));
  }
  return {};
}

// ---- Timeline helpers ----

void add_event(Order& order, std::vector<OrderEvent>& events, OrderEvent event) {
  event.seq = order.events_count + 1;
  order.events_count += 1;
  events.push_back(std::move(event));
}

std::string points_details(int64_t points, std::optional<Instant> vests_at, PostingId posting) {
  JsonWriter w;
  w.begin_object().field("points", points);
  if (vests_at) w.field("vests_at", format_rfc3339(*vests_at));
  if (posting.valid()) w.field("posting_id", format_id(posting));
  w.end_object();
  return w.take();
}

// The lot a credit posting created.
LotId credited_lot(const Posting& posting) {
  for (const Entry& e : posting.entries) {
    if (is_member_balance_account(e.account) && e.amount.value > 0 && e.lot.existing.valid()) {
      return e.lot.existing;
    }
  }
  return LotId{};
}

Result<Program> order_program(StoreSession& s, ProgramCache& programs, ProgramId id) {
  return programs.get(s, id);
}

Result<std::shared_ptr<const ProgramConfig>> order_config(StoreSession& s, ProgramCache& programs,
                                                          ProgramId id) {
  return programs.get_config(s, id);
}

// The points of an order that just became paid (or was claimed), recorded on
// the order and its lines; refunds made before (a claimed guest order) take
// their share at once. Returns what is left to credit.
struct DecidedPoints {
  int64_t net = 0;
  std::vector<store::RuleUsage> usage_increments;
  KnownTierState tier_state;  // for update_tier_for_order in the same command
};
// `known` is the order's member when the caller has just read it.
Result<DecidedPoints> decide_order_points(StoreSession& s, ProgramCache& programs,
                                          const Program& program, Order& order, Instant now,
                                          const Member* known = nullptr) {
  LOYALTY_ASSERT(order.member_id.valid() && order.paid_at.has_value());
  std::optional<Member> member;
  if (known != nullptr && known->id == order.member_id) {
    member = *known;
  } else {
    LOYALTY_ASSIGN_OR_RETURN(member, s.find_member(program.id, order.member_id));
  }
  if (!member) return Status(ErrorCode::kNotFound, "member " + format_id(order.member_id));
  LOYALTY_ASSIGN_OR_RETURN(OrderEarning earning,
                           evaluate_order_points(s, programs, program, *member, order, now));
  set_order_points(order, earning.points, earning.item_points);
  order.config_version = earning.config_version;
  std::vector<RefundLine> lines(order.items.size());
  for (size_t k = 0; k < order.items.size(); ++k) {
    const OrderItem& i = order.items[k];
    lines[k] = RefundLine{i.points, 0, i.paid_minor, 0, i.refunded_minor};
  }
  std::vector<int64_t> per_line(order.items.size(), 0);
  int64_t refunded_points =
      is_final(order.status) ? earning.points : points_to_reverse(lines, per_line);
  for (size_t k = 0; k < order.items.size(); ++k) {
    OrderItem& i = order.items[k];
    i.points_reversed = is_final(order.status) ? i.points : per_line[k];
  }
  order.points_reversed = refunded_points;
  return DecidedPoints{earning.points - refunded_points, std::move(earning.usage_increments),
                       std::move(earning.tier_state)};
}

// Credits what decide_order_points left. A blocked member earns nothing (the
// order stands): the order's points are reset and *lines_changed set.
Status credit_order_points(StoreSession& s, ProgramCache& programs, const Program& program,
                           const ProgramConfig& config, Order& order, const DecidedPoints& decided,
                           std::vector<OrderEvent>& events, Instant now, bool* lines_changed) {
  if (decided.net <= 0) {
    if (order.points_reversed > 0) {
      add_event(
          order, events,
          points_event("points_reversed", points_details(order.points_reversed, {}, {}), now));
    }
    return {};
  }
  CreditRequest request = earn_credit_request(order, Points{decided.net}, config.earning, now);
  Result<Posting> posting = credit_member(s, programs, program.id, order.member_id, request, now);
  if (!posting.ok() && posting.status().code() == ErrorCode::kMemberBlocked) {
    set_order_points(order, 0, {});
    order.points_reversed = 0;
    *lines_changed = true;
    JsonWriter w;
    w.begin_object().field("points", decided.net).field("reason", "member_blocked").end_object();
    add_event(order, events, points_event("points_not_earned", w.take(), now));
    return {};
  }
  LOYALTY_RETURN_IF_ERROR(posting.status());
  for (const store::RuleUsage& inc : decided.usage_increments) {
    LOYALTY_RETURN_IF_ERROR(s.add_rule_usage(program.id, inc));
  }
  order.earn_posting = posting->id;
  order.earn_lot = credited_lot(*posting);
  bool pending = request.pending_until_scheduled || request.available_at.has_value();
  order.vests_at = pending ? request.available_at : std::optional<Instant>(now);
  add_event(order, events,
            points_event(pending ? "points_pending" : "points_available",
                         points_details(decided.net, request.available_at, posting->id), now));
  return {};
}

Status earn_order_points(StoreSession& s, ProgramCache& programs, const Program& program,
                         const ProgramConfig& config, Order& order, std::vector<OrderEvent>& events,
                         Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(DecidedPoints decided,
                           decide_order_points(s, programs, program, order, now));
  bool lines_changed = false;
  return credit_order_points(s, programs, program, config, order, decided, events, now,
                             &lines_changed);
}

// Takes back `points` of the order's points under the program's policy.
Status claw_back(StoreSession& s, ProgramCache& programs, const Program& program,
                 const ProgramConfig& config, Order& order, Points points,
                 std::vector<OrderEvent>& events, std::string_view why, Instant now) {
  if (points.value <= 0) return {};
  if (!order.member_id.valid() || !order.earn_posting.valid()) {
    // Nothing was credited (a guest order, or earning was refused): the
    // reversal is bookkeeping on the order only.
    order.points_reversed += points.value;
    return {};
  }
  LOYALTY_ASSIGN_OR_RETURN(MemberLedger ledger,
                           caught_up_ledger(s, programs, program.id, order.member_id, now));
  ClawbackRequest request;
  request.lot = order.earn_lot;
  request.points = points;
  request.shortfall = shortfall_of(config.earning.refund_overspend);
  request.reason = fmt::format("order {} {}", order.external_id, why);
  request.actor = "system";
  request.order = order.id;
  LOYALTY_ASSIGN_OR_RETURN(ClawbackPlan plan, plan_clawback(program, ledger, request, now));
  PostingId posting;
  if (plan.plan) {
    LOYALTY_ASSERT(check_plan_invariants(*plan.plan).ok());
    LOYALTY_RETURN_IF_ERROR(s.apply_plan(*plan.plan));
    posting = plan.plan->posting.id;
    add_event(order, events,
              points_event("points_reversed", points_details(plan.taken.value, {}, posting), now));
  }
  if (plan.written_off.value > 0) {
    JsonWriter w;
    w.begin_object()
        .field("points", plan.written_off.value)
        .field("policy", to_string(config.earning.refund_overspend))
        .end_object();
    add_event(order, events, points_event("points_written_off", w.take(), now));
  }
  order.points_reversed += plan.taken.value;
  order.points_written_off += plan.written_off.value;
  return {};
}

// Delivery fixes the vesting instant of points that waited for it.
Status schedule_vesting(StoreSession& s, ProgramCache& programs, const Program& program,
                        Order& order, Instant vests_at, std::vector<OrderEvent>& events,
                        Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(MemberLedger ledger,
                           caught_up_ledger(s, programs, program.id, order.member_id, now));
  const Lot* lot = nullptr;
  for (const Lot& l : ledger.open_lots) {
    if (l.id == order.earn_lot) lot = &l;
  }
  // Already vesting on a date (vest_from paid when it was credited), or all taken back.
  if (lot == nullptr || !lot->pending || lot->available_at) return {};
  LOYALTY_ASSIGN_OR_RETURN(VestingSchedule schedule,
                           plan_schedule_vesting(ledger, lot->id, vests_at));
  LOYALTY_RETURN_IF_ERROR(s.schedule_lot_vesting(program.id, schedule));
  order.vests_at = vests_at;
  add_event(
      order, events,
      points_event("points_scheduled", points_details(lot->remaining.value, vests_at, {}), now));
  if (vests_at <= now) {
    // The return window has passed already: vest now, like the scheduler would.
    LOYALTY_ASSIGN_OR_RETURN(MemberLedger after,
                             caught_up_ledger(s, programs, program.id, order.member_id, now));
    (void)after;
  }
  return {};
}

Result<OrderResult> result_of(StoreSession& s, Order order, bool replayed) {
  OrderResult r;
  LOYALTY_ASSIGN_OR_RETURN(r.timeline, s.order_events(order.program_id, order.id));
  if (order.earn_lot.valid()) {
    LOYALTY_ASSIGN_OR_RETURN(auto lots, s.lots_by_ids(order.program_id, {order.earn_lot}));
    if (!lots.empty()) r.earn_lot = lots.front();
  }
  r.order = std::move(order);
  r.replayed = replayed;
  return r;
}

Result<Order> require_order(StoreSession& s, ProgramId program, OrderId id) {
  LOYALTY_ASSIGN_OR_RETURN(std::optional<Order> order, s.find_order(program, id));
  if (!order) return Status(ErrorCode::kNotFound, "order " + format_id(id) + " not found");
  return std::move(*order);
}

// Writes the order's new state and timeline entries.
Status save_order(StoreSession& s, const Order& order, const std::vector<int>& changed_lines,
                  const std::vector<OrderEvent>& events) {
  LOYALTY_RETURN_IF_ERROR(s.update_order(order, changed_lines));
  return s.insert_order_events(order.program_id, order.id, events);
}

std::vector<int> all_lines(const Order& order) {
  std::vector<int> lines;
  for (const OrderItem& i : order.items) lines.push_back(i.line);
  return lines;
}

}  // namespace

Result<OrderResult> create_order(StoreSession& s, ProgramCache& programs,
                                 const CreateOrder& command, Instant now) {
  Order order = command.order;
  order.program_id = command.program_id;
  LOYALTY_ASSIGN_OR_RETURN(Program program, order_program(s, programs, order.program_id));
  if (order.currency != program.currency) {
    return Status(ErrorCode::kCurrencyMismatch,
                  fmt::format("the order is in {} but the program counts in {}", order.currency,
                              program.currency));
  }
  LOYALTY_RETURN_IF_ERROR(validate_new_order(order));
  if (command.status != OrderStatus::kPlaced && command.status != OrderStatus::kPaid) {
    return Status(ErrorCode::kInvalidRequest, "status: a new order is placed or paid");
  }
  // A replay of the same request answers with the order as it is now.
  LOYALTY_ASSIGN_OR_RETURN(std::optional<Order> existing,
                           s.find_order_by_external_id(program.id, order.external_id));
  if (existing) {
    if (existing->request_fingerprint != order.request_fingerprint) {
      return Status(ErrorCode::kConflict,
                    "an order with external_id '" + order.external_id +
                        "' already exists with other content; change it through its status "
                        "and refunds");
    }
    return result_of(s, std::move(*existing), /*replayed=*/true);
  }
  // Whose order it is.
  const OrderCustomer& c = command.customer;
  std::optional<Member> member;
  if (c.member_id.valid()) {
    LOYALTY_ASSIGN_OR_RETURN(member, s.find_member(program.id, c.member_id));
    if (!member) {
      return Status(ErrorCode::kNotFound, "member " + format_id(c.member_id) + " not found");
    }
  } else if (!c.member_external_id.empty()) {
    LOYALTY_ASSIGN_OR_RETURN(member,
                             s.find_member_by_external_id(program.id, c.member_external_id));
    if (!member) {
      return Status(ErrorCode::kNotFound,
                    "no member has external_id '" + c.member_external_id + "'");
    }
  } else if (!c.customer_external_id.empty()) {
    // A shop customer who is a member already.
    LOYALTY_ASSIGN_OR_RETURN(member,
                             s.find_member_by_external_id(program.id, c.customer_external_id));
  }
  if (!command.referral.code.empty() && !member) {
    return Status(ErrorCode::kReferralNotAllowed,
                  "referral_code: a referral needs the order's member (member_id or "
                  "member_external_id); enroll the customer with the code instead");
  }
  if (member && !command.referral.empty()) {
    // Before the order is written: the member "never ordered" means before it.
    LOYALTY_RETURN_IF_ERROR(
        referrals_before_order(s, programs, program, *member, command.referral, now));
  }
  order.customer_external_id = c.customer_external_id;
  order.customer_email = c.customer_email;
  if (member) {
    order.member_id = member->id;
    if (order.customer_external_id.empty()) order.customer_external_id = member->external_id;
    if (order.customer_email.empty()) order.customer_email = member->email;
  }
  order.status = OrderStatus::kPlaced;
  order.created_at = now;
  order.updated_at = now;
  order.events_count = 0;
  std::vector<OrderEvent> events;
  auto timeline_entry = [&](std::string type, std::string event_id, Instant at) {
    OrderEvent e;
    e.type = std::move(type);
    e.event_id = std::move(event_id);
    e.occurred_at = at;
    e.recorded_at = now;
    add_event(order, events, std::move(e));
  };
  bool paid = command.status == OrderStatus::kPaid;
  timeline_entry("placed", paid ? "" : command.event_id, order.placed_at);
  if (paid) {
    order.status = OrderStatus::kPaid;
    order.paid_at = command.paid_at.value_or(order.placed_at);
    timeline_entry("paid", command.event_id, *order.paid_at);
  }
  // The points are decided before the insert, so the items go in with theirs:
  // the write path of a paid order is the order, its items, the credit, one
  // UPDATE of the order's earning columns (its posting and lot) and the timeline.
  std::optional<DecidedPoints> decided;
  if (paid && order.member_id.valid()) {
    LOYALTY_ASSIGN_OR_RETURN(decided, decide_order_points(s, programs, program, order, now,
                                                          member ? &*member : nullptr));
  }
  LOYALTY_ASSIGN_OR_RETURN(order.id, s.insert_order(order));
  if (decided) {
    LOYALTY_ASSIGN_OR_RETURN(auto config, order_config(s, programs, program.id));
    bool lines_changed = false;
    LOYALTY_RETURN_IF_ERROR(credit_order_points(s, programs, program, *config, order, *decided,
                                                events, now, &lines_changed));
    if (lines_changed) {
      LOYALTY_RETURN_IF_ERROR(s.update_order(order, all_lines(order)));
    } else if (order.earn_posting.valid()) {
      LOYALTY_RETURN_IF_ERROR(s.set_order_earning(order));
    }
  }
  LOYALTY_RETURN_IF_ERROR(s.insert_order_events(program.id, order.id, events));
  LOYALTY_RETURN_IF_ERROR(update_member_stats(s, nullptr, order));
  // Nothing since decide_order_points wrote member_tiers: its read stands.
  LOYALTY_RETURN_IF_ERROR(update_tier_for_order(s, programs, program, nullptr, order, now,
                                                decided ? &decided->tier_state : nullptr));
  // Points at checkout: a hold for this order with capture_on_paid is captured.
  if (paid) LOYALTY_RETURN_IF_ERROR(settle_order_holds(s, programs, order, now));
  // A referee's first qualifying order (docs/referrals.md).
  if (paid) LOYALTY_RETURN_IF_ERROR(referrals_after_order(s, programs, program, order, now));
  OrderResult r;
  r.timeline = std::move(events);
  if (order.earn_lot.valid()) {
    LOYALTY_ASSIGN_OR_RETURN(auto lots, s.lots_by_ids(program.id, {order.earn_lot}));
    if (!lots.empty()) r.earn_lot = lots.front();
  }
  r.order = std::move(order);
  return r;
}

Result<OrderResult> update_order_status(StoreSession& s, ProgramCache& programs,
                                        const UpdateOrderStatus& command, Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(Program program, order_program(s, programs, command.program_id));
  LOYALTY_ASSIGN_OR_RETURN(Order order, require_order(s, program.id, command.order_id));
  LOYALTY_ASSIGN_OR_RETURN(auto recorded,
                           s.find_order_event_type(program.id, order.id, command.change.event_id));
  LOYALTY_ASSIGN_OR_RETURN(auto config, order_config(s, programs, program.id));
  LOYALTY_ASSIGN_OR_RETURN(
      OrderPlan plan,
      plan_status_change(order, command.change, recorded, config->earning, program.timezone, now));
  if (plan.replay) return result_of(s, std::move(order), /*replayed=*/true);
  Order& next = plan.order;
  std::vector<OrderEvent> events = std::move(plan.new_events);
  std::vector<int> changed = plan.changed_lines;
  if (plan.points.earn) {
    LOYALTY_RETURN_IF_ERROR(earn_order_points(s, programs, program, *config, next, events, now));
    changed = all_lines(next);
  }
  if (plan.points.schedule_vesting_at) {
    LOYALTY_RETURN_IF_ERROR(schedule_vesting(s, programs, program, next,
                                             *plan.points.schedule_vesting_at, events, now));
  }
  LOYALTY_RETURN_IF_ERROR(claw_back(s, programs, program, *config, next, plan.points.clawback,
                                    events, to_string(next.status), now));
  LOYALTY_RETURN_IF_ERROR(update_member_stats(s, &order, next));
  LOYALTY_RETURN_IF_ERROR(update_tier_for_order(s, programs, program, &order, next, now));
  LOYALTY_RETURN_IF_ERROR(save_order(s, next, changed, events));
  // Points at checkout (docs/checkout.md): paid captures, cancelled or returned
  // releases or returns the holds linked to the order.
  if (next.status != order.status &&
      (next.status == OrderStatus::kPaid || next.status == OrderStatus::kCancelled ||
       next.status == OrderStatus::kReturned)) {
    LOYALTY_RETURN_IF_ERROR(settle_order_holds(s, programs, next, now));
  }
  // Coupons the order consumed are released when their reward says so
  // (docs/rewards.md).
  if (next.status == OrderStatus::kCancelled && order.status != OrderStatus::kCancelled) {
    LOYALTY_RETURN_IF_ERROR(release_order_coupons(s, program.id, next.external_id, now));
  }
  LOYALTY_RETURN_IF_ERROR(referrals_after_order(s, programs, program, next, now));
  return result_of(s, std::move(next), false);
}

Result<OrderResult> refund_order(StoreSession& s, ProgramCache& programs,
                                 const RefundOrder& command, Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(Program program, order_program(s, programs, command.program_id));
  LOYALTY_ASSIGN_OR_RETURN(Order order, require_order(s, program.id, command.order_id));
  LOYALTY_ASSIGN_OR_RETURN(auto recorded,
                           s.find_order_event_type(program.id, order.id, command.change.event_id));
  LOYALTY_ASSIGN_OR_RETURN(OrderPlan plan, plan_refund(order, command.change, recorded, now));
  if (plan.replay) return result_of(s, std::move(order), /*replayed=*/true);
  LOYALTY_ASSIGN_OR_RETURN(auto config, order_config(s, programs, program.id));
  Order& next = plan.order;
  std::vector<OrderEvent> events = std::move(plan.new_events);
  LOYALTY_RETURN_IF_ERROR(
      claw_back(s, programs, program, *config, next, plan.points.clawback, events, "refund", now));
  LOYALTY_RETURN_IF_ERROR(update_member_stats(s, &order, next));
  LOYALTY_RETURN_IF_ERROR(update_tier_for_order(s, programs, program, &order, next, now));
  LOYALTY_RETURN_IF_ERROR(save_order(s, next, plan.changed_lines, events));
  // Captured points of the order come back in proportion to the refund.
  LOYALTY_RETURN_IF_ERROR(settle_order_holds(s, programs, next, now));
  LOYALTY_RETURN_IF_ERROR(referrals_after_order(s, programs, program, next, now));
  return result_of(s, std::move(next), false);
}

Result<ClaimResult> claim_guest_orders(StoreSession& s, ProgramCache& programs,
                                       const Member& member, Instant now) {
  ClaimResult out;
  LOYALTY_ASSIGN_OR_RETURN(Program program, order_program(s, programs, member.program_id));
  LOYALTY_ASSIGN_OR_RETURN(auto config, order_config(s, programs, program.id));
  int days = config->earning.guest_order_claim_days;
  if (days <= 0) return out;
  Instant since = member.created_at - Duration::from_days(days);
  LOYALTY_ASSIGN_OR_RETURN(auto orders,
                           s.list_guest_orders(program.id, member.external_id, member.email, since,
                                               kMaxClaimedOrdersPerClaim));
  for (Order& order : orders) {
    LOYALTY_ASSERT(!order.member_id.valid());  // a guest order counts for nobody yet
    std::vector<OrderEvent> events;
    order.member_id = member.id;
    order.updated_at = now;
    JsonWriter w;
    w.begin_object().field("member_id", format_id(member.id)).end_object();
    add_event(order, events, points_event("claimed", w.take(), now));
    if (order.paid_at) {
      LOYALTY_RETURN_IF_ERROR(earn_order_points(s, programs, program, *config, order, events, now));
      out.points += points_standing(order);
    }
    LOYALTY_RETURN_IF_ERROR(update_member_stats(s, nullptr, order));
    LOYALTY_RETURN_IF_ERROR(update_tier_for_order(s, programs, program, nullptr, order, now));
    LOYALTY_RETURN_IF_ERROR(save_order(s, order, all_lines(order), events));
    LOYALTY_ASSIGN_OR_RETURN(OrderResult r, result_of(s, std::move(order), false));
    out.orders.push_back(std::move(r));
  }
  return out;
}

}  // namespace loyalty::engine
