#include "engine/tier_commands.h"

#include <date/tz.h>

#include <map>
#include <mutex>
#include <vector>

#include "common/assert.h"
#include "common/json_writer.h"
#include "domain/earning.h"
#include "engine/engine.h"
#include "engine/outbox.h"
#include "engine/rule_context.h"

namespace loyalty::engine {
namespace {

using store::StoreSession;

// What the tier decisions need about a program, from the engine's cache or read.
struct TierSetup {
  std::shared_ptr<const ProgramConfig> config;
  const CompiledTiers* tiers = nullptr;
  const date::time_zone* zone = nullptr;
};

TierMetrics difference(const TierMetrics& after, const TierMetrics& before) {
  return TierMetrics{after.spend_minor - before.spend_minor, after.points - before.points,
                     after.orders - before.orders};
}

struct MemberMetric {
  TierMetrics metrics;
  int64_t value = 0;
};

// The member's metric over the window containing `now`: one range read of
// at most the window's months (all of them for lifetime).
Result<MemberMetric> window_metric(StoreSession& s, const TierSetup& t, ProgramId program,
                                   MemberId member, Instant now) {
  const MonthIndex month = month_of(t.zone, now);
  const WindowMonths w = window_months(t.config->tiers.window, month);
  LOYALTY_ASSIGN_OR_RETURN(auto buckets, s.tier_metric_buckets(program, member, w.first));
  MemberMetric out;
  out.metrics = sum_window(t.config->tiers.window, buckets, month);
  out.value = metric_value(*t.tiers, out.metrics);
  return out;
}

MemberTierState initial_state(Instant now) {
  MemberTierState s;
  s.since = now;
  s.actor = "system";
  return s;
}

std::string_view event_type_of(const TierConfig& config, const MemberTierState& before,
                               const TierDecision& d) {
  const int from = level_index(config, before.tier_id);
  const int to = level_index(config, d.next.tier_id);
  if (to > from) return "tier.upgraded";
  if (to < from) return "tier.downgraded";
  return "tier.renewed";
}

// A member left an invite-only tier (an admin ended or replaced the
// assignment, or the tier job stored its lapse): their VIP row goes, with a
// vip.removed event.
Status record_vip_removed(StoreSession& s, ProgramId program, MemberId member,
                          const MemberTierState& before, const TierDecision& d,
                          std::string_view reason, Instant now) {
  LOYALTY_RETURN_IF_ERROR(s.delete_vip_member(program, member));
  JsonWriter w;
  w.begin_object()
      .field("member_id", format_id(member))
      .field("from_tier", before.tier_id)
      .field("to_tier", d.next.tier_id)
      .field("lapsed", d.change != TierChange::kAssigned)
      .field("reason", reason)
      .field("actor", d.next.actor)
      .field("occurred_at", format_rfc3339(now))
      .end_object();
  auto event = s.append_outbox_event(program, member, "vip.removed", w.take(), now);
  return event.ok() ? Status() : event.status();
}

// An admin assigned an invite-only tier: the VIP row with its account manager
// and a vip.assigned event.
Status record_vip_assigned(StoreSession& s, ProgramId program, MemberId member,
                           const TierDecision& d, const AccountManager& manager, Instant now) {
  store::VipMember vip;
  vip.member_id = member;
  vip.tier_id = d.next.tier_id;
  vip.manager = manager;
  vip.reason = d.reason;
  vip.actor = d.next.actor;
  vip.assigned_at = now;
  LOYALTY_RETURN_IF_ERROR(s.save_vip_member(program, vip));
  JsonWriter w;
  w.begin_object().field("member_id", format_id(member)).field("tier", vip.tier_id);
  w.key("account_manager").begin_object();
  write_account_manager_fields(w, manager);
  w.end_object().field("reason", vip.reason);
  if (d.next.manual_expires_at) {
    w.field("expires_at", format_rfc3339(*d.next.manual_expires_at));
  } else {
    w.field_null("expires_at");
  }
  w.field("actor", vip.actor).field("occurred_at", format_rfc3339(now)).end_object();
  auto event = s.append_outbox_event(program, member, "vip.assigned", w.take(), now);
  return event.ok() ? Status() : event.status();
}

// Stores a decision: the state, and for a change its history row and outbox event.
Status record_decision(StoreSession& s, const TierConfig& config, ProgramId program,
                       MemberId member, const MemberTierState& before, const TierDecision& d,
                       int64_t value, Instant now) {
  if (d.next == before && d.change == TierChange::kNone) return {};
  LOYALTY_RETURN_IF_ERROR(s.save_member_tier(program, member, d.next, now));
  if (d.change == TierChange::kNone) return {};
  store::TierHistoryEntry h;
  h.program_id = program;
  h.member_id = member;
  h.change = d.change;
  h.from_tier = before.tier_id;
  h.to_tier = d.next.tier_id;
  h.metric_value = value;
  h.guaranteed_until = d.next.guaranteed_until;
  h.reason = !d.reason.empty()                      ? d.reason
             : d.next.source == TierSource::kManual ? d.next.manual_reason
                                                    : "";
  h.actor = d.next.actor;
  h.occurred_at = now;
  LOYALTY_ASSIGN_OR_RETURN(store::TierHistoryId id, s.insert_tier_history(h));
  JsonWriter w;
  w.begin_object()
      .field("member_id", format_id(member))
      .field("history_id", format_id(id))
      .field("from_tier", before.tier_id)
      .field("to_tier", d.next.tier_id)
      .field("change", to_string(d.change))
      .field("source", to_string(d.next.source))
      .field("metric_value", value);
  if (d.next.guaranteed_until) {
    w.field("guaranteed_until", format_rfc3339(*d.next.guaranteed_until));
  } else {
    w.field_null("guaranteed_until");
  }
  if (!h.reason.empty()) w.field("reason", h.reason);
  w.field("actor", h.actor).field("occurred_at", format_rfc3339(now)).end_object();
  auto event =
      s.append_outbox_event(program, member, event_type_of(config, before, d), w.take(), now);
  if (!event.ok()) return event.status();
  const bool was_vip = is_invite_only(config, level_index(config, before.tier_id));
  if (was_vip && !is_invite_only(config, level_index(config, d.next.tier_id))) {
    return record_vip_removed(s, program, member, before, d, h.reason, now);
  }
  return {};
}

Result<TierSetup> cached_setup(StoreSession& s, ProgramCache& programs, const Program& program) {
  TierSetup t;
  LOYALTY_ASSIGN_OR_RETURN(auto compiled, programs.get_compiled(s, program));
  LOYALTY_ASSIGN_OR_RETURN(t.config, programs.get_config(s, program.id));
  // The compiled config is cached per config version and kept by the cache.
  t.tiers = &compiled->tiers();
  t.zone = compiled->time_zone();
  return t;
}

MemberTierView view_of(const Program& program, const TierSetup& t, MemberId member,
                       const std::optional<MemberTierState>& stored, const MemberMetric& metric,
                       Instant now) {
  MemberTierView v;
  v.member_id = member;
  v.config = t.config;
  v.currency = program.currency;
  v.currency_exponent = currency_exponent(program.currency).value_or(2);
  v.stored = stored.has_value();
  const TierConfig& tiers = t.config->tiers;
  v.state = effective_state(tiers, stored.value_or(initial_state(now)), metric.value, t.zone, now);
  v.effective_tier = v.state.tier_id;
  // A guarantee that has passed promises nothing: the tier awaits the
  // period-end evaluation (docs/tiers.md, "Progress"), so none is shown.
  if (v.state.guaranteed_until && *v.state.guaranteed_until <= now) {
    v.state.guaranteed_until.reset();
  }
  v.metrics = metric.metrics;
  if (tiers.window.kind != TierWindowKind::kLifetime) {
    const WindowMonths w = window_months(tiers.window, month_of(t.zone, now));
    v.window_start = month_start(t.zone, w.first);
    v.window_end = month_start(t.zone, MonthIndex{w.last.value + 1});
  }
  v.progress = progress(tiers, v.state, metric.value, t.zone, now);
  v.message = progress_message(tiers, v.progress, v.currency, v.currency_exponent, t.zone);
  return v;
}

// The incremental step shared by every source of the metric: adds `delta` to
// the bucket of the month containing `counted_at`, then re-decides the
// member's tier over the window containing `now` (decide_on_event).
Status add_and_decide(StoreSession& s, ProgramCache& programs, const Program& program,
                      MemberId member, Instant counted_at, const TierMetrics& delta, Instant now,
                      const KnownTierState* known = nullptr) {
  LOYALTY_ASSIGN_OR_RETURN(TierSetup t, cached_setup(s, programs, program));
  const TierConfig& tiers = t.config->tiers;
  LOYALTY_RETURN_IF_ERROR(
      s.add_tier_metrics(program.id, member, month_of(t.zone, counted_at), delta));
  LOYALTY_ASSIGN_OR_RETURN(MemberMetric metric, window_metric(s, t, program.id, member, now));
  std::optional<MemberTierState> stored;
  if (known != nullptr && known->read) {
    stored = known->stored;
  } else {
    LOYALTY_ASSIGN_OR_RETURN(stored, s.find_member_tier(program.id, member));
  }
  const MemberTierState state = stored.value_or(initial_state(now));
  const TierDecision d = decide_on_event(tiers, state, metric.value, t.zone, now);
  if (!stored && d.change == TierChange::kNone) return {};  // still no tier: no row yet
  return record_decision(s, tiers, program.id, member, state, d, metric.value, now);
}

}  // namespace

void write_account_manager_fields(JsonWriter& w, const AccountManager& m) {
  if (!m.admin_id.empty()) {
    w.field("admin_id", m.admin_id);
  } else {
    w.field("name", m.name).field("email", m.email);
  }
}

Status record_tier_decision(StoreSession& s, const TierConfig& config, ProgramId program,
                            MemberId member, const MemberTierState& before, const TierDecision& d,
                            int64_t metric_value, Instant now) {
  return record_decision(s, config, program, member, before, d, metric_value, now);
}

TierMetrics order_tier_metrics(const Order& order, const EligibleSpendPolicy& policy) {
  if (!order.paid_at || order.status == OrderStatus::kCancelled ||
      order.status == OrderStatus::kReturned) {
    return {};
  }
  TierMetrics m;
  m.points = points_standing(order);
  const int64_t paid = order.total_minor;
  const int64_t kept = paid - order.refunded_minor;
  LOYALTY_ASSERT(kept >= 0);
  m.orders = kept > 0 || paid == 0 ? 1 : 0;
  // Eligible spend per the policy (no attributes needed: spend reads none).
  std::vector<rules::ItemView> items(order.items.size());
  for (size_t k = 0; k < order.items.size(); ++k) {
    const OrderItem& i = order.items[k];
    items[k] =
        rules::ItemView{i.sku, i.name, i.category, i.quantity, i.unit_price_minor, i.net_minor, {}};
  }
  rules::OrderView view;
  view.total_minor = order.total_minor;
  view.subtotal_minor = order.subtotal_minor;
  view.discount_minor = order.discount_minor;
  view.shipping_minor = order.shipping_minor;
  view.tax_minor = order.tax_minor;
  view.items = items;
  std::vector<int64_t> per_item(items.size(), 0);
  const int64_t eligible = eligible_spend(policy, view, per_item);
  m.spend_minor =
      paid == 0 ? eligible : static_cast<int64_t>(static_cast<__int128>(eligible) * kept / paid);
  return m;
}

Status update_tier_for_order(StoreSession& s, ProgramCache& programs, const Program& program,
                             const Order* before, const Order& after, Instant now,
                             const KnownTierState* known) {
  LOYALTY_ASSIGN_OR_RETURN(auto config, programs.get_config(s, program.id));
  if (!config->tiers.enabled() || !after.member_id.valid()) return {};
  const EligibleSpendPolicy& policy = config->earning.eligible_spend;
  // A claimed guest order counted for nobody before.
  const bool same_member = before != nullptr && before->member_id == after.member_id;
  const TierMetrics was = same_member ? order_tier_metrics(*before, policy) : TierMetrics{};
  const TierMetrics delta = difference(order_tier_metrics(after, policy), was);
  if (delta == TierMetrics{}) return {};
  LOYALTY_ASSERT(after.paid_at.has_value() || (before != nullptr && before->paid_at));
  const Instant paid_at = after.paid_at ? *after.paid_at : *before->paid_at;
  return add_and_decide(s, programs, program, after.member_id, paid_at, delta, now, known);
}

Status update_tier_for_points(StoreSession& s, ProgramCache& programs, const Program& program,
                              MemberId member, Instant counted_at, int64_t points, Instant now) {
  if (points == 0) return {};
  LOYALTY_ASSIGN_OR_RETURN(auto config, programs.get_config(s, program.id));
  if (!config->tiers.enabled()) return {};
  return add_and_decide(s, programs, program, member, counted_at, TierMetrics{0, points, 0}, now);
}

Status update_tier_for_reversal(StoreSession& s, ProgramCache& programs, const Program& program,
                                const Posting& original, Instant now) {
  const bool earned =
      original.kind == PostingKind::kCredit || original.kind == PostingKind::kAdjustment;
  if (!earned || original.order.valid()) return {};
  // What the original gave the member: a credit issues its points (kIssuance
  // -points), an adjustment grants them (kAdjustment -points) or takes them
  // (+points).
  int64_t issued = 0;
  for (const Entry& e : original.entries) {
    if (e.account == Account::kIssuance || e.account == Account::kAdjustment) {
      issued -= e.amount.value;
    }
  }
  return update_tier_for_points(s, programs, program, original.member, original.created_at, -issued,
                                now);
}

namespace {

// The tier held (member_tiers, a lapsed manual tier read as what the metric gives).
Result<std::string> held_tier(StoreSession& s, ProgramCache& programs, const Program& program,
                              const ProgramConfig& config, MemberId member, Instant now,
                              KnownTierState* read) {
  LOYALTY_ASSIGN_OR_RETURN(auto stored, s.find_member_tier(program.id, member));
  if (read != nullptr) *read = KnownTierState{true, stored};
  if (!stored) return std::string();
  if (stored->source != TierSource::kManual || !stored->manual_expires_at ||
      *stored->manual_expires_at > now) {
    return stored->tier_id;
  }
  // A lapsed manual tier: what the metric gives now.
  LOYALTY_ASSIGN_OR_RETURN(TierSetup t, cached_setup(s, programs, program));
  LOYALTY_ASSIGN_OR_RETURN(MemberMetric metric, window_metric(s, t, program.id, member, now));
  return effective_state(config.tiers, *stored, metric.value, t.zone, now).tier_id;
}

// The view with the tier a paid plan grants.
Result<MemberTierView> with_granted_tier(StoreSession& s, ProgramId program, MemberTierView v,
                                         Instant now) {
  if (!v.config->tiers.enabled()) return v;
  LOYALTY_ASSIGN_OR_RETURN(v.granted_tier, granted_tier(s, *v.config, program, v.member_id, now));
  v.effective_tier = higher_tier(v.config->tiers, v.state.tier_id, v.granted_tier);
  return v;
}

}  // namespace

Result<std::string> tier_for_earning(StoreSession& s, ProgramCache& programs,
                                     const Program& program, MemberId member, Instant now,
                                     KnownTierState* read) {
  LOYALTY_ASSIGN_OR_RETURN(auto config, programs.get_config(s, program.id));
  if (!config->tiers.enabled()) return std::string();
  LOYALTY_ASSIGN_OR_RETURN(std::string held,
                           held_tier(s, programs, program, *config, member, now, read));
  LOYALTY_ASSIGN_OR_RETURN(std::string granted, granted_tier(s, *config, program.id, member, now));
  return higher_tier(config->tiers, held, granted);
}

Result<MemberTierView> set_member_tier(StoreSession& s, ProgramCache& programs,
                                       const SetMemberTier& c, Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, c.program_id));
  LOYALTY_ASSIGN_OR_RETURN(auto member, s.find_member(program.id, c.member_id));
  if (!member)
    return Status(ErrorCode::kNotFound, "member " + format_id(c.member_id) + " not found");
  LOYALTY_ASSIGN_OR_RETURN(TierSetup t, cached_setup(s, programs, program));
  LOYALTY_ASSIGN_OR_RETURN(auto stored, s.find_member_tier(program.id, c.member_id));
  const MemberTierState state = stored.value_or(initial_state(now));
  const TierConfig& tiers = t.config->tiers;
  LOYALTY_ASSIGN_OR_RETURN(MemberMetric metric, window_metric(s, t, program.id, c.member_id, now));
  TierDecision d;
  if (c.tier_id.empty()) {
    if (!stored || stored->source != TierSource::kManual) {
      return Status(ErrorCode::kConflict, "member " + format_id(c.member_id) +
                                              " holds no tier assigned by an admin to end");
    }
    d = end_tier_assignment(tiers, state, metric.value, c.reason, c.actor, t.zone, now);
  } else {
    LOYALTY_ASSIGN_OR_RETURN(
        d, assign_tier(tiers, state, c.tier_id, c.reason, c.expires_at, c.actor, now));
  }
  const bool to_vip = is_invite_only(tiers, level_index(tiers, d.next.tier_id));
  if (to_vip && !c.account_manager) {
    return Status(ErrorCode::kInvalidRequest,
                  "account_manager: required for the invite-only tier '" + c.tier_id +
                      "' (an admin_id, or a name and an email)");
  }
  if (!to_vip && c.account_manager) {
    return Status(ErrorCode::kInvalidRequest,
                  "account_manager: only an invite-only tier has an account manager");
  }
  LOYALTY_RETURN_IF_ERROR(
      record_decision(s, tiers, program.id, c.member_id, state, d, metric.value, now));
  if (to_vip) {
    LOYALTY_RETURN_IF_ERROR(
        record_vip_assigned(s, program.id, c.member_id, d, *c.account_manager, now));
  }
  return with_granted_tier(s, program.id, view_of(program, t, c.member_id, d.next, metric, now),
                           now);
}

namespace {

// The read side's compiled tier model of a program's configuration version
// (GET /v1/members/{id}/tier runs on the HTTP threads, without the engine's
// ProgramCache, which only the writer thread uses). Parsed and compiled once
// per (program, configuration document, currency, time zone); then one read
// of the active configuration's row per request tells whether it is still
// current (its canonical JSON is compared, not only its version: one process
// may see several databases, tests do).
struct TierModel {
  std::shared_ptr<const ProgramConfig> config;
  CompiledTiers tiers;  // points into *config
  const date::time_zone* zone = nullptr;
};

class TierModelCache {
 public:
  Result<std::shared_ptr<const TierModel>> get(StoreSession& s, const Program& program) {
    LOYALTY_ASSIGN_OR_RETURN(auto stored, s.latest_config(program.id));
    const int version = stored ? stored->version : 0;
    const std::string_view document = stored ? std::string_view(stored->canonical_json) : "";
    {
      std::lock_guard lock(mutex_);
      auto it = entries_.find(program.id.value);
      if (it != entries_.end() && it->second.version == version &&
          it->second.document == document && it->second.currency == program.currency &&
          it->second.timezone == program.timezone) {
        return it->second.model;
      }
    }
    // Built outside the lock: two readers may both build it, the last one stays.
    auto model = std::make_shared<TierModel>();
    if (stored) {
      LOYALTY_ASSIGN_OR_RETURN(ProgramConfig parsed, parse_stored_config(program, *stored));
      model->config = std::make_shared<const ProgramConfig>(std::move(parsed));
    } else {
      model->config = std::make_shared<const ProgramConfig>();
    }
    LOYALTY_ASSIGN_OR_RETURN(
        model->tiers,
        compile_tiers(model->config->tiers, currency_exponent(program.currency).value_or(2)));
    try {
      model->zone = date::locate_zone(program.timezone);
    } catch (const std::exception&) {
      return Status(ErrorCode::kInternal, "unknown time zone '" + program.timezone + "'");
    }
    std::lock_guard lock(mutex_);
    if (entries_.size() >= kMaxEntries) entries_.clear();
    entries_[program.id.value] =
        Entry{version, std::string(document), program.currency, program.timezone, model};
    ++builds_;
    return std::shared_ptr<const TierModel>(std::move(model));
  }

  int64_t builds() const {
    std::lock_guard lock(mutex_);
    return builds_;
  }

 private:
  static constexpr size_t kMaxEntries = 4096;  // programs; past it the cache starts over
  struct Entry {
    int version = 0;
    std::string document;  // the canonical JSON it was built from
    std::string currency;
    std::string timezone;
    std::shared_ptr<const TierModel> model;
  };
  mutable std::mutex mutex_;
  std::map<int64_t, Entry> entries_;
  int64_t builds_ = 0;
};

TierModelCache& tier_model_cache() {
  static TierModelCache cache;
  return cache;
}

}  // namespace

int64_t tier_model_builds() { return tier_model_cache().builds(); }

Result<std::shared_ptr<const ProgramConfig>> read_active_config(StoreSession& s,
                                                                const Program& program) {
  LOYALTY_ASSIGN_OR_RETURN(auto model, tier_model_cache().get(s, program));
  return model->config;
}

Result<MemberTierView> read_member_tier(StoreSession& s, ProgramId program_id, MemberId member,
                                        Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(auto program, s.find_program(program_id));
  if (!program) return Status(ErrorCode::kNotFound, "program " + format_id(program_id));
  LOYALTY_ASSIGN_OR_RETURN(auto found, s.find_member(program_id, member));
  if (!found) return Status(ErrorCode::kNotFound, "member " + format_id(member) + " not found");
  LOYALTY_ASSIGN_OR_RETURN(auto model, tier_model_cache().get(s, *program));
  TierSetup t;
  t.config = model->config;
  t.tiers = &model->tiers;
  t.zone = model->zone;
  MemberMetric metric;
  std::optional<MemberTierState> state;
  if (t.config->tiers.enabled()) {
    LOYALTY_ASSIGN_OR_RETURN(metric, window_metric(s, t, program_id, member, now));
    LOYALTY_ASSIGN_OR_RETURN(state, s.find_member_tier(program_id, member));
  }
  return with_granted_tier(s, program_id, view_of(*program, t, member, state, metric, now), now);
}

}  // namespace loyalty::engine
