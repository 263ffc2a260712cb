#include "engine/earning_commands.h"

#include <algorithm>

#include "common/assert.h"
#include "common/json_writer.h"
#include "engine/engine.h"
#include "engine/job_commands.h"
#include "engine/rule_context.h"
#include "engine/tier_commands.h"

namespace loyalty::engine {
namespace {

bool is_event_type_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

// Reads the counters the rules need (global ones locked on PostgreSQL) and keeps
// them alive for the evaluation.
struct LoadedUsage {
  std::vector<store::RuleUsage> rows;
  std::vector<UsageCounter> counters;  // views into rows
};

Status load_usage(store::StoreSession& s, ProgramId program, MemberId member,
                  const std::vector<UsageKey>& keys, LoadedUsage* out) {
  std::vector<store::RuleUsage> wanted;
  wanted.reserve(keys.size());
  for (const UsageKey& k : keys) {
    store::RuleUsage u;
    u.member = k.scope == CapScope::kGlobal ? MemberId{0} : member;
    u.rule_id = std::string(k.rule_id);
    u.period_key = std::string(k.period.view());
    u.distinct_key = std::string(k.distinct_key);
    wanted.push_back(std::move(u));
  }
  LOYALTY_ASSIGN_OR_RETURN(out->rows, s.read_rule_usage(program, wanted, /*lock_global=*/true));
  out->counters.clear();
  for (const store::RuleUsage& row : out->rows) {
    for (const UsageKey& k : keys) {
      const bool global = k.scope == CapScope::kGlobal;
      if (global == !row.member.valid() && k.rule_id == row.rule_id &&
          k.period.view() == row.period_key && k.distinct_key == row.distinct_key) {
        out->counters.push_back(UsageCounter{k, row.awards, row.points});
        break;
      }
    }
  }
  return {};
}

Status add_usage(store::StoreSession& s, ProgramId program, MemberId member,
                 const EarnResult& result) {
  for (const UsageCounter& inc : result.usage_increments) {
    store::RuleUsage u;
    u.member = inc.key.scope == CapScope::kGlobal ? MemberId{0} : member;
    u.rule_id = std::string(inc.key.rule_id);
    u.period_key = std::string(inc.key.period.view());
    u.distinct_key = std::string(inc.key.distinct_key);
    u.awards = inc.awards;
    u.points = inc.points;
    LOYALTY_RETURN_IF_ERROR(s.add_rule_usage(program, u));
  }
  return {};
}

// Credits every award of `result`, in order; returns the postings.
Result<std::vector<Posting>> credit_awards(store::StoreSession& s, ProgramCache& programs,
                                           const Program& program, MemberId member,
                                           const EarnResult& result, const char* source,
                                           const std::string& actor, Instant now) {
  std::vector<Posting> postings;
  for (const Award& a : result.awards) {
    LOYALTY_ASSERT(a.points > 0);
    CreditRequest request;
    request.points = Points{a.points};
    request.reason = std::string(a.rule_name.empty() ? a.rule_id : a.rule_name);
    request.source = source;
    request.actor = actor;
    if (a.pending_days > 0) request.available_at = now + Duration::from_days(a.pending_days);
    LOYALTY_ASSIGN_OR_RETURN(Posting p,
                             credit_member(s, programs, program.id, member, request, now));
    postings.push_back(std::move(p));
  }
  return postings;
}

std::string attributes_json(const std::vector<std::pair<std::string, std::string>>& attributes) {
  JsonWriter w;
  w.begin_object();
  for (const auto& [k, v] : attributes) w.field(k, v);
  w.end_object();
  return w.take();
}

}  // namespace

Status validate_event(const RecordEvent& e, Instant now) {
  auto invalid = [](std::string message) {
    return Status(ErrorCode::kInvalidRequest, std::move(message));
  };
  if (e.external_id.empty() || e.external_id.size() > kMaxEventIdLength) {
    return invalid("id: must be 1 to 255 characters");
  }
  if (e.type.empty() || e.type.size() > kMaxEventTypeLength ||
      !std::all_of(e.type.begin(), e.type.end(), is_event_type_char)) {
    return invalid("type: must be 1 to 64 characters of a-z, 0-9, '_', '.', '-'");
  }
  if (!e.member_id.valid() && e.member_external_id.empty()) {
    return invalid("member_id or member_external_id is required");
  }
  if (e.attributes.size() > kMaxEventAttributes) {
    return invalid("attributes: at most 32 entries");
  }
  for (size_t i = 0; i < e.attributes.size(); ++i) {
    const auto& [k, v] = e.attributes[i];
    if (k.empty() || k.size() > kMaxEventAttributeKeyLength) {
      return invalid("attributes: keys must be 1 to 64 characters");
    }
    if (v.size() > kMaxEventAttributeValueLength) {
      return invalid("attributes." + k + ": at most 1024 characters");
    }
    for (size_t j = 0; j < i; ++j) {
      if (e.attributes[j].first == k) return invalid("attributes: duplicate key '" + k + "'");
    }
  }
  if (e.occurred_at && *e.occurred_at > now) {
    return invalid("occurred_at: must not be in the future");
  }
  return {};
}

Result<EventRecorded> record_event(store::StoreSession& s, ProgramCache& programs,
                                   const RecordEvent& c, Instant now) {
  LOYALTY_RETURN_IF_ERROR(validate_event(c, now));
  LOYALTY_ASSIGN_OR_RETURN(Program program, programs.get(s, c.program_id));
  // The member, locked (PostgreSQL) before anything of it is read.
  std::optional<Member> member;
  if (c.member_id.valid()) {
    LOYALTY_ASSIGN_OR_RETURN(member, s.find_member(c.program_id, c.member_id));
  } else {
    LOYALTY_ASSIGN_OR_RETURN(member,
                             s.find_member_by_external_id(c.program_id, c.member_external_id));
  }
  if (!member) {
    return Status(ErrorCode::kNotFound,
                  c.member_id.valid()
                      ? "member " + format_id(c.member_id) + " not found"
                      : "member with external_id '" + c.member_external_id + "' not found");
  }
  LOYALTY_RETURN_IF_ERROR(s.lock_members(c.program_id, {member->id}));
  if (member->status == MemberStatus::kBlocked) {
    return Status(ErrorCode::kMemberBlocked,
                  "member " + format_id(member->id) + " is blocked and cannot earn points");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto existing, s.find_member_event(c.program_id, c.external_id));
  if (existing) {
    return Status(ErrorCode::kConflict,
                  "an event with id '" + c.external_id + "' was already recorded");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto config, programs.get_compiled(s, program));
  if (!config->has_event_type(c.type)) {
    return Status(ErrorCode::kUnknownEventType,
                  "no earn rule of the active configuration (version " +
                      std::to_string(config->config().version) + ") handles events of type '" +
                      c.type + "'");
  }
  LOYALTY_ASSIGN_OR_RETURN(Balance balance, s.get_balance(c.program_id, member->id));

  // The rules' view of the event.
  std::vector<rules::Attribute> attributes;
  attributes.reserve(c.attributes.size());
  for (const auto& [k, v] : c.attributes) attributes.push_back(rules::Attribute{k, v});
  rules::EventView event;
  event.type = c.type;
  event.occurred_at = c.occurred_at.value_or(now);
  event.attributes = attributes;
  LOYALTY_ASSIGN_OR_RETURN(std::string tier,
                           tier_for_earning(s, programs, program, member->id, now));
  MemberContext views;
  LOYALTY_RETURN_IF_ERROR(views.fill(program, *member, &balance, tier));
  rules::Context ctx;
  ctx.event = &event;
  ctx.member = &views.member;
  ctx.program = &views.program;
  ctx.now = now;

  std::vector<UsageKey> keys;
  usage_keys_for_event(*config, ctx, now, &keys);
  LoadedUsage usage;
  LOYALTY_RETURN_IF_ERROR(load_usage(s, c.program_id, member->id, keys, &usage));
  EarnResult result;
  LOYALTY_RETURN_IF_ERROR(evaluate_event(*config, ctx, usage.counters, now, &result));

  LOYALTY_ASSIGN_OR_RETURN(
      std::vector<Posting> postings,
      credit_awards(s, programs, program, member->id, result, "event", c.actor, now));
  LOYALTY_RETURN_IF_ERROR(add_usage(s, c.program_id, member->id, result));

  EventRecorded out;
  // The explanation: awards and skips merged back into evaluation order.
  for (const CompiledRule& r : config->rules_for(EarnTrigger::kEvent)) {
    const EarnRule& rule = config->rule(r);
    if (rule.event_type != c.type) continue;
    RuleExplanation x;
    x.rule_id = rule.id;
    x.rule_name = rule.name;
    for (size_t i = 0; i < result.awards.size(); ++i) {
      if (result.awards[i].rule_index == r.document_index) {
        x.outcome = "awarded";
        x.points = result.awards[i].points;
        x.posting_id = postings[i].id;
      }
    }
    for (const Skip& skip : result.skipped) {
      if (skip.rule_index == r.document_index) x.outcome = to_string(skip.reason);
    }
    LOYALTY_ASSERT(!x.outcome.empty());
    out.rules.push_back(std::move(x));
  }

  store::MemberEvent& e = out.event;
  e.program_id = c.program_id;
  e.member_id = member->id;
  e.external_id = c.external_id;
  e.type = c.type;
  e.attributes_json = attributes_json(c.attributes);
  e.occurred_at = event.occurred_at;
  e.created_at = now;
  e.points = result.total_points;
  if (!postings.empty()) e.posting_id = postings.front().id;
  JsonWriter awards;
  awards.begin_array();
  for (const RuleExplanation& x : out.rules) {
    if (x.outcome != "awarded") continue;
    awards.begin_object()
        .field("rule_id", x.rule_id)
        .field("rule_name", x.rule_name)
        .field("points", x.points)
        .field("posting_id", format_id(x.posting_id))
        .end_object();
  }
  awards.end_array();
  e.awards_json = awards.take();
  LOYALTY_ASSIGN_OR_RETURN(e.id, s.insert_member_event(e));
  return out;
}

Result<std::vector<OccasionAward>> award_occasion(store::StoreSession& s, ProgramCache& programs,
                                                  const Program& program, const Member& member,
                                                  EarnTrigger trigger, const char* source,
                                                  Instant now) {
  LOYALTY_ASSERT(trigger == EarnTrigger::kSignup || trigger == EarnTrigger::kBirthday ||
                 trigger == EarnTrigger::kAnniversary);
  LOYALTY_ASSIGN_OR_RETURN(auto config, programs.get_compiled(s, program));
  const TierConfig& tiers = config->config().tiers;
  const bool birthday = trigger == EarnTrigger::kBirthday;
  if (config->rules_for(trigger).empty() && !(birthday && any_birthday_bonus(tiers))) {
    return std::vector<OccasionAward>{};
  }
  // A member just enrolled has no balance yet; the jobs' members may.
  Balance balance;
  if (trigger != EarnTrigger::kSignup) {
    LOYALTY_ASSIGN_OR_RETURN(balance, s.get_balance(program.id, member.id));
  }
  LOYALTY_ASSIGN_OR_RETURN(std::string tier,
                           tier_for_earning(s, programs, program, member.id, now));
  MemberContext views;
  LOYALTY_RETURN_IF_ERROR(views.fill(program, member, &balance, tier));
  rules::Context ctx;
  ctx.member = &views.member;
  ctx.program = &views.program;
  ctx.now = now;
  std::vector<UsageKey> keys;
  usage_keys_for(trigger, *config, ctx, now, &keys);
  LoadedUsage usage;
  LOYALTY_RETURN_IF_ERROR(load_usage(s, program.id, member.id, keys, &usage));
  EarnResult result;
  switch (trigger) {
    case EarnTrigger::kSignup:
      evaluate_signup(*config, ctx, usage.counters, now, &result);
      break;
    case EarnTrigger::kBirthday:
      evaluate_birthday(*config, ctx, usage.counters, now, &result);
      break;
    default:
      evaluate_anniversary(*config, ctx, usage.counters, now, &result);
      break;
  }
  LOYALTY_ASSIGN_OR_RETURN(
      auto postings, credit_awards(s, programs, program, member.id, result, source, "system", now));
  LOYALTY_RETURN_IF_ERROR(add_usage(s, program.id, member.id, result));
  std::vector<OccasionAward> out;
  for (size_t i = 0; i < postings.size(); ++i) {
    out.push_back(OccasionAward{std::string(result.awards[i].rule_id), std::move(postings[i])});
  }
  // The tier's birthday bonus (benefits.birthday_bonus_points), besides the
  // birthday rules: its size is the tier's, never multiplied.
  if (const TierLevel* level = birthday ? tier_with_birthday_bonus(tiers, tier) : nullptr) {
    CreditRequest request;
    request.points = Points{level->benefits.birthday_bonus_points};
    request.reason = level->name + " birthday bonus";
    request.source = source;
    request.actor = "system";
    LOYALTY_ASSIGN_OR_RETURN(Posting p,
                             credit_member(s, programs, program.id, member.id, request, now));
    out.push_back(OccasionAward{std::string(kTierBirthdayBonusRule) + level->id, std::move(p)});
  }
  return out;
}

}  // namespace loyalty::engine
