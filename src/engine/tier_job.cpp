// The tier job (docs/tiers.md, "The period-end job"): at each period end of a
// program's tiers, every member's tier re-evaluated in batches of members, one
// transaction per batch, with a cursor in job_state; and manual tiers whose
// expiry passed stored as what the metric gives. See run_tier_job in
// job_commands.h.
#include <charconv>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/job_commands.h"
#include "engine/tier_commands.h"

namespace loyalty::engine {

namespace {

using store::StoreSession;

// What the decisions need about a program (the engine's cached compilation).
struct TierSetup {
  std::shared_ptr<const ProgramConfig> config;
  const CompiledTiers* tiers = nullptr;
  const date::time_zone* zone = nullptr;
};

Result<TierSetup> cached_setup(StoreSession& s, ProgramCache& programs, const Program& program) {
  TierSetup t;
  LOYALTY_ASSIGN_OR_RETURN(auto compiled, programs.get_compiled(s, program));
  LOYALTY_ASSIGN_OR_RETURN(t.config, programs.get_config(s, program.id));
  t.tiers = &compiled->tiers();  // kept by the cache per config version
  t.zone = compiled->time_zone();
  return t;
}

// job_state.last_completed_key of the tier job: "<end>" once every member was
// evaluated for the period end `end` (micros since the epoch), "<end>/<member>"
// while that period end is in progress and the members up to <member> are done.
struct TierJobKey {
  Instant done_through;                // the last period end fully evaluated
  std::optional<Instant> in_progress;  // a period end being evaluated
  MemberId cursor;                     // in_progress: members <= cursor are done
};

std::optional<TierJobKey> parse_tier_job_key(std::string_view text) {
  auto number = [](std::string_view digits) -> std::optional<int64_t> {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
    return v;
  };
  TierJobKey key;
  const size_t slash = text.find('/');
  auto first = number(text.substr(0, slash));
  if (!first) return std::nullopt;
  if (slash == std::string_view::npos) {
    key.done_through = Instant{*first};
    return key;
  }
  auto member = number(text.substr(slash + 1));
  if (!member) return std::nullopt;
  key.in_progress = Instant{*first};
  key.cursor = MemberId{*member};
  return key;
}

// One batch of members for the period end `end`: their stored states and the
// buckets of the window that closed, one query each; decide_at_period_end for
// every member with a tier (or qualifying for one).
Result<int> evaluate_period_end_batch(StoreSession& s, const TierSetup& t, ProgramId program,
                                      const std::vector<MemberId>& ids, Instant end, Instant now) {
  const TierConfig& tiers = t.config->tiers;
  LOYALTY_RETURN_IF_ERROR(s.lock_members(program, ids));
  LOYALTY_ASSIGN_OR_RETURN(auto states, s.member_tiers_between(program, ids.front(), ids.back()));
  const MonthIndex last_month = month_of(t.zone, end - Duration{1});
  const WindowMonths w = window_months(tiers.window, last_month);
  LOYALTY_ASSIGN_OR_RETURN(auto buckets, s.tier_metric_buckets_between(
                                             program, ids.front(), ids.back(), w.first, w.last));
  int written = 0;
  size_t next_state = 0;
  size_t next_bucket = 0;
  for (MemberId id : ids) {
    TierMetrics metrics;
    for (; next_bucket < buckets.size() && buckets[next_bucket].first <= id; ++next_bucket) {
      if (buckets[next_bucket].first == id) metrics += buckets[next_bucket].second.metrics;
    }
    std::optional<MemberTierState> stored;
    for (; next_state < states.size() && states[next_state].first <= id; ++next_state) {
      if (states[next_state].first == id) stored = std::move(states[next_state].second);
    }
    const int64_t value = metric_value(*t.tiers, metrics);
    if (!stored && qualifying_level(tiers, value) < 0) continue;  // no tier, none reached
    MemberTierState state;
    if (stored) {
      state = std::move(*stored);
    } else {
      state.since = end;
      state.actor = "system";
    }
    const TierDecision d = decide_at_period_end(tiers, state, value, t.zone, end);
    if (d.next == state) continue;  // evaluated for this period end already
    LOYALTY_RETURN_IF_ERROR(record_tier_decision(s, tiers, program, id, state, d, value, now));
    ++written;
  }
  return written;
}

// Manual tiers whose expiry passed: stored as what the metric gives now.
Result<int> store_lapsed_manual_tiers(StoreSession& s, const TierSetup& t, ProgramId program,
                                      int limit, Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(auto ids, s.lapsed_manual_tiers(program, now, limit));
  if (ids.empty()) return 0;
  LOYALTY_RETURN_IF_ERROR(s.lock_members(program, ids));
  int written = 0;
  for (MemberId id : ids) {
    LOYALTY_ASSIGN_OR_RETURN(auto stored, s.find_member_tier(program, id));
    if (!stored) continue;
    const TierConfig& tiers = t.config->tiers;
    const MonthIndex month = month_of(t.zone, now);
    LOYALTY_ASSIGN_OR_RETURN(
        auto buckets, s.tier_metric_buckets(program, id, window_months(tiers.window, month).first));
    const int64_t value = metric_value(*t.tiers, sum_window(tiers.window, buckets, month));
    const TierDecision d = decide_on_event(tiers, *stored, value, t.zone, now);
    LOYALTY_RETURN_IF_ERROR(record_tier_decision(s, tiers, program, id, *stored, d, value, now));
    ++written;
  }
  return written;
}

}  // namespace

Result<JobStepResult> run_tier_job(StoreSession& s, ProgramCache& programs,
                                   const RunProgramJob& job, Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, job.program_id));
  LOYALTY_ASSIGN_OR_RETURN(auto config, programs.get_config(s, program.id));
  JobStepResult result;
  if (!config->tiers.enabled()) {
    result.complete = true;  // no tiers: nothing to evaluate, nothing written
    return result;
  }
  LOYALTY_ASSIGN_OR_RETURN(TierSetup t, cached_setup(s, programs, program));
  const TierWindow& window = config->tiers.window;
  // First run: no period ended before the program existed needs evaluating.
  const std::optional<Instant> created_period = period_start(window, t.zone, program.created_at);
  const std::string initial =
      std::to_string((created_period ? *created_period : program.created_at).micros_since_epoch);
  LOYALTY_ASSIGN_OR_RETURN(auto state, s.claim_job_state(program.id, kTiersJob, initial));
  if (!state) {
    result.skipped = true;
    return result;
  }
  const std::optional<TierJobKey> key = parse_tier_job_key(state->last_completed_key);
  if (!key) {
    return Status(ErrorCode::kInternal, "job_state.last_completed_key of the tier job holds '" +
                                            state->last_completed_key + "'");
  }
  std::optional<Instant> end = key->in_progress;
  if (!end) {
    // The next period end after the last one done, if it has passed (periods
    // missed while no job ran are evaluated one after the other).
    const std::optional<Instant> next = period_end(window, t.zone, key->done_through);
    if (next && *next <= now) end = next;
  }
  if (end) {
    LOYALTY_ASSIGN_OR_RETURN(auto ids, s.member_ids_after(program.id, key->cursor, job.max_items));
    if (!ids.empty()) {
      LOYALTY_ASSIGN_OR_RETURN(result.items,
                               evaluate_period_end_batch(s, t, program.id, ids, *end, now));
    }
    const bool last_batch = static_cast<int>(ids.size()) < job.max_items;
    state->last_completed_key = std::to_string(end->micros_since_epoch);
    if (!last_batch) state->last_completed_key += "/" + std::to_string(ids.back().value);
    state->last_run_by = job.node;
    state->last_run_at = now;
    LOYALTY_RETURN_IF_ERROR(s.save_job_state(program.id, kTiersJob, *state));
    return result;  // not complete: the next step continues (or finds nothing due)
  }
  LOYALTY_ASSIGN_OR_RETURN(result.items,
                           store_lapsed_manual_tiers(s, t, program.id, job.max_items, now));
  result.complete = result.items < job.max_items;
  return result;
}

}  // namespace loyalty::engine
