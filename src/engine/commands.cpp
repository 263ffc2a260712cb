// What each engine command does inside its savepoint: load state, ask the pure
// domain for a plan, write it.
#include <algorithm>
#include <map>
#include <set>

#include "common/assert.h"
#include "domain/expiry.h"
#include "engine/config_commands.h"
#include "engine/engine.h"
#include "engine/import_commands.h"
#include "engine/job_commands.h"
#include "engine/order_commands.h"
#include "engine/outbox.h"
#include "engine/tier_commands.h"

namespace loyalty::engine {
namespace {

using store::StoreSession;

Outcome not_found(const std::string& what) {
  return Outcome::failed(Status(ErrorCode::kNotFound, what));
}
template <typename T>
Outcome success(T value) {
  Outcome o;
  o.value = std::move(value);
  return o;
}

// NOLINTBEGIN(bugprone-macro-parentheses): `lhs` is a declaration, `tmp` a name.
#define OUTCOME_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr)  \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return Outcome::failed(tmp.status()); \
  lhs = std::move(tmp).value()
#define OUTCOME_ASSIGN_OR_RETURN(lhs, expr) \
  OUTCOME_ASSIGN_OR_RETURN_IMPL(LOYALTY_CONCAT(_out_, __LINE__), lhs, expr)
// NOLINTEND(bugprone-macro-parentheses)
#define OUTCOME_RETURN_IF_ERROR(expr)         \
  do {                                        \
    ::loyalty::Status _s = (expr);            \
    if (!_s.ok()) return Outcome::failed(_s); \
  } while (0)

// A gift card command's result; a failure that recorded a failed code/PIN
// check commits that record (Outcome::commit_on_failure).
template <typename T>
Outcome counted(Result<T> result, const GiftCardAttempt& attempt) {
  if (!result.ok()) {
    Outcome o = Outcome::failed(result.status());
    o.commit_on_failure = attempt.failure_recorded;
    return o;
  }
  return success(std::move(result).value());
}

Result<MemberLedger> load_ledger(StoreSession& s, const Member& member, bool with_lots = true) {
  MemberLedger ml;
  ml.member = member;
  ml.lots_loaded = with_lots;
  LOYALTY_ASSIGN_OR_RETURN(ml.balance, s.get_balance(member.program_id, member.id));
  if (with_lots) {
    LOYALTY_ASSIGN_OR_RETURN(ml.open_lots, s.open_lots(member.program_id, member.id));
  }
  return ml;
}

// Vests and expires the member's due lots before anything else touches the
// member, so a debit never spends points that have expired and a balance read
// after a command is current. Returns the number of postings written.
// `open_lots`, when given, are the member's open lots as read in this
// transaction (the CatchUp command reads them for all its members at once).
Result<int> catch_up(StoreSession& s, const Program& program, const Member& member, Instant now,
                     const Balance& balance, std::vector<Lot>* open_lots = nullptr) {
  if (!balance.next_due_at || *balance.next_due_at > now) return 0;
  int written = 0;
  // `balance` was just read by the caller: only the lots are missing.
  MemberLedger ml;
  ml.member = member;
  ml.balance = balance;
  if (open_lots != nullptr) {
    ml.open_lots = std::move(*open_lots);
  } else {
    LOYALTY_ASSIGN_OR_RETURN(ml.open_lots, s.open_lots(member.program_id, member.id));
  }
  if (auto plan = plan_vesting(program, ml, now)) {
    LOYALTY_RETURN_IF_ERROR(s.apply_plan(*plan));
    LOYALTY_RETURN_IF_ERROR(events::emit_posting_event(s, events::kPointsVested, plan->posting));
    ++written;
    LOYALTY_ASSIGN_OR_RETURN(ml, load_ledger(s, member));
  }
  if (auto plan = plan_expiry(program, ml, now)) {
    LOYALTY_RETURN_IF_ERROR(s.apply_plan(*plan));
    LOYALTY_RETURN_IF_ERROR(events::emit_posting_event(s, events::kPointsExpired, plan->posting));
    ++written;
    // The plan holds the member's state after it: no need to read it back.
    apply_to_ledger(*plan, ml);
  }
  // next_due_at may only be early, never late; make it exact so the scheduler
  // does not pick the member again.
  std::optional<Instant> due = earliest_due(ml.balance, ml.open_lots);
  if (due != ml.balance.next_due_at) {
    LOYALTY_RETURN_IF_ERROR(s.set_next_due_at(program.id, member.id, due));
  }
  return written;
}

Result<Program> require_program(StoreSession& s, ProgramId id) {
  LOYALTY_ASSIGN_OR_RETURN(auto p, s.find_program(id));
  if (!p) return Status(ErrorCode::kNotFound, "program " + format_id(id) + " not found");
  return *p;
}

}  // namespace

Result<Member> require_member(StoreSession& s, ProgramId program, MemberId id) {
  LOYALTY_ASSIGN_OR_RETURN(auto m, s.find_member(program, id));
  if (!m) return Status(ErrorCode::kNotFound, "member " + format_id(id) + " not found");
  return *m;
}

namespace {

// Loads program and member, catches the member up, and returns its ledger.
struct MemberContext {
  Program program;
  MemberLedger ledger;
};
// with_lots = false for commands that only add points (see MemberLedger).
Result<MemberContext> prepare_member(StoreSession& s, ProgramCache& programs, ProgramId program_id,
                                     MemberId member_id, Instant now, bool with_lots = true) {
  MemberContext ctx;
  LOYALTY_ASSIGN_OR_RETURN(ctx.program, programs.get(s, program_id));
  LOYALTY_ASSIGN_OR_RETURN(Member member, require_member(s, program_id, member_id));
  LOYALTY_ASSIGN_OR_RETURN(Balance balance, s.get_balance(program_id, member_id));
  LOYALTY_ASSIGN_OR_RETURN(int caught_up, catch_up(s, ctx.program, member, now, balance));
  if (caught_up > 0 || with_lots) {
    LOYALTY_ASSIGN_OR_RETURN(ctx.ledger, load_ledger(s, member, with_lots));
  } else {
    ctx.ledger.member = std::move(member);
    ctx.ledger.balance = balance;
    ctx.ledger.lots_loaded = false;
  }
  return ctx;
}

Outcome write_plan(StoreSession& s, Result<LedgerPlan> plan) {
  if (!plan.ok()) return Outcome::failed(plan.status());
  LOYALTY_ASSERT(check_plan_invariants(*plan).ok());
  OUTCOME_RETURN_IF_ERROR(s.apply_plan(*plan));
  return success(std::move(plan->posting));
}

Status apply_program_patch(Program& p, const ProgramPatch& patch) {
  if (patch.name) p.name = *patch.name;
  if (patch.timezone) p.timezone = *patch.timezone;
  if (patch.points_name) p.points_name = *patch.points_name;
  if (patch.point_value_minor) p.point_value_minor = *patch.point_value_minor;
  if (patch.point_value_points) p.point_value_points = *patch.point_value_points;
  if (patch.negative_balance) p.negative_balance = *patch.negative_balance;
  if (patch.transfers_enabled) p.transfers.enabled = *patch.transfers_enabled;
  if (patch.transfer_min_points) p.transfers.min_points = *patch.transfer_min_points;
  if (patch.transfer_max_points) p.transfers.max_points = *patch.transfer_max_points;
  if (patch.transfer_daily_limit_points) {
    p.transfers.daily_limit_points = *patch.transfer_daily_limit_points;
  }
  return validate_program(p);
}

Status validate_key_request(const std::string& name, const std::vector<std::string>& scopes) {
  if (name.empty() || name.size() > 100) {
    return Status(ErrorCode::kInvalidRequest, "name must be 1 to 100 characters");
  }
  if (scopes.empty()) {
    return Status(ErrorCode::kInvalidRequest, "scopes must list at least one scope");
  }
  for (const auto& s : scopes) {
    if (!is_known_scope(s)) {
      return Status(ErrorCode::kInvalidRequest, "unknown scope '" + s + "'");
    }
  }
  return {};
}

Status validate_member(const Member& m) {
  LOYALTY_RETURN_IF_ERROR(validate_external_id(m.external_id));
  if (m.first_name.size() > kMaxNameLength || m.last_name.size() > kMaxNameLength) {
    return Status(ErrorCode::kInvalidRequest,
                  "first_name and last_name must be at most 100 characters");
  }
  if (m.attributes_json.size() > kMaxAttributesJsonBytes) {
    return Status(ErrorCode::kInvalidRequest, "attributes must be at most 8192 bytes of JSON");
  }
  return {};
}

}  // namespace

Status lock_member_pair(StoreSession& s, ProgramId program, MemberId a, MemberId b) {
  std::vector<MemberId> ids = {a};
  if (b != a) ids.push_back(b);
  std::sort(ids.begin(), ids.end());
  return s.lock_members(program, ids);
}

Result<MemberLedger> caught_up_ledger(StoreSession& s, ProgramCache& programs, ProgramId program_id,
                                      MemberId member_id, Instant now, bool with_lots) {
  LOYALTY_ASSIGN_OR_RETURN(auto ctx,
                           prepare_member(s, programs, program_id, member_id, now, with_lots));
  return std::move(ctx.ledger);
}

Result<Member> enroll_member(StoreSession& s, ProgramCache& programs, const Member& member,
                             Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(Program p, programs.get(s, member.program_id));
  Member m = member;
  LOYALTY_RETURN_IF_ERROR(validate_member(m));
  // No email: a member an import enrolled from an order history that has none
  // (the API requires one).
  if (!m.email.empty()) {
    LOYALTY_ASSIGN_OR_RETURN(m.email, normalize_email(m.email));
  }
  m.program_id = p.id;
  m.status = MemberStatus::kActive;
  m.created_at = now;
  m.updated_at = now;
  m.orders_count = 0;  // the store keeps these from the member's orders
  m.total_spent_minor = 0;
  LOYALTY_ASSIGN_OR_RETURN(m.id, s.insert_member(m));
  // The signup bonus of the active configuration (engine/earning_commands.h).
  LOYALTY_ASSIGN_OR_RETURN(auto signup,
                           award_occasion(s, programs, p, m, EarnTrigger::kSignup, "signup", now));
  (void)signup;
  // "Join now and claim your points": the new member's guest orders.
  LOYALTY_ASSIGN_OR_RETURN(ClaimResult claimed, claim_guest_orders(s, programs, m, now));
  for (const OrderResult& r : claimed.orders) {  // what the store added to the member's stats
    const MemberOrderStats stats = member_order_stats(r.order);
    m.orders_count += stats.orders;
    m.total_spent_minor += stats.spent_minor;
  }
  return m;
}

Result<Posting> credit_member(StoreSession& s, ProgramCache& programs, ProgramId program_id,
                              MemberId member_id, CreditRequest request, Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(auto ctx, prepare_member(s, programs, program_id, member_id, now,
                                                    /*with_lots=*/false));
  LOYALTY_ASSIGN_OR_RETURN(auto config, programs.get_config(s, ctx.program.id));
  apply_expiry_policy(config->expiry, ctx.program.timezone, request, now);
  LOYALTY_ASSIGN_OR_RETURN(LedgerPlan plan, plan_credit(ctx.program, ctx.ledger, request, now));
  note_member_activity(config->expiry, ctx.program.timezone, plan, member_id, now);
  LOYALTY_ASSERT(check_plan_invariants(plan).ok());
  LOYALTY_RETURN_IF_ERROR(s.apply_plan(plan));
  // Points earned outside orders count for tiers here; an order's points are
  // counted from the order (update_tier_for_order, docs/tiers.md).
  if (!request.order.valid()) {
    LOYALTY_RETURN_IF_ERROR(update_tier_for_points(s, programs, ctx.program, member_id, now,
                                                   request.points.value, now));
  }
  return std::move(plan.posting);
}

// The Reverse command; also cancels a redemption (engine/reward_commands.h).
Result<Posting> reverse_posting(StoreSession& s, ProgramCache& programs, const Reverse& c,
                                Instant now) {
  LOYALTY_ASSIGN_OR_RETURN(Program p, programs.get(s, c.program_id));
  LOYALTY_ASSIGN_OR_RETURN(auto original, s.find_posting(c.program_id, c.posting_id));
  if (!original) {
    return Status(ErrorCode::kNotFound, "posting " + format_id(c.posting_id) + " not found");
  }
  // Lock the posting's members before looking for an earlier reversal,
  // so a reversal committed meanwhile by another node is seen.
  std::vector<MemberId> ids = {original->member};
  if (original->counterparty.valid()) ids.push_back(original->counterparty);
  std::sort(ids.begin(), ids.end());
  LOYALTY_RETURN_IF_ERROR(s.lock_members(c.program_id, ids));
  LOYALTY_ASSIGN_OR_RETURN(auto existing, s.find_reversal_of(c.program_id, original->id));
  if (existing) {
    return Status(
        ErrorCode::kAlreadyReversed,
        "posting " + format_id(original->id) + " was already reversed by " + format_id(*existing));
  }
  std::map<MemberId, MemberLedger> ledgers;
  for (MemberId id : ids) {
    LOYALTY_ASSIGN_OR_RETURN(auto ctx, prepare_member(s, programs, c.program_id, id, now));
    ledgers[id] = std::move(ctx.ledger);
  }
  // The reversal must see every lot the original touched, empty ones too.
  std::set<LotId> needed;
  for (const Entry& e : original->entries) {
    if (e.lot.existing.valid()) needed.insert(e.lot.existing);
  }
  for (auto& [id, ml] : ledgers) {
    for (const Lot& l : ml.open_lots) needed.erase(l.id);
  }
  if (!needed.empty()) {
    LOYALTY_ASSIGN_OR_RETURN(
        auto lots, s.lots_by_ids(c.program_id, std::vector<LotId>(needed.begin(), needed.end())));
    for (Lot& l : lots) ledgers.at(l.member).open_lots.push_back(l);
  }
  LOYALTY_ASSIGN_OR_RETURN(LedgerPlan plan,
                           plan_reversal(p, *original, ledgers, c.reason, c.actor, now));
  LOYALTY_ASSERT(check_plan_invariants(plan).ok());
  LOYALTY_RETURN_IF_ERROR(s.apply_plan(plan));
  LOYALTY_RETURN_IF_ERROR(update_tier_for_reversal(s, programs, p, *original, now));
  // Points put back into a lot that expired meanwhile are due at once:
  // expire them now, so the balance after the reversal is current.
  for (const auto& [id, ml] : ledgers) {
    LOYALTY_ASSIGN_OR_RETURN(Balance after, s.get_balance(c.program_id, id));
    LOYALTY_ASSIGN_OR_RETURN(int written, catch_up(s, p, ml.member, now, after));
    (void)written;
  }
  return std::move(plan.posting);
}

Outcome Engine::execute_body(const CommandBody& body, Instant now) {
  StoreSession& s = *session_;
  return std::visit(
      [&](const auto& c) -> Outcome {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, CreateProgram>) {
          Program p = c.program;
          p.created_at = now;
          p.updated_at = now;
          OUTCOME_RETURN_IF_ERROR(validate_program(p));
          OUTCOME_ASSIGN_OR_RETURN(p.id, s.insert_program(p));
          ApiKeyCreated key = make_api_key(p.id, c.key_name, {"*"}, now);
          OUTCOME_ASSIGN_OR_RETURN(key.key.id, s.insert_api_key(key.key));
          return success(ProgramCreated{std::move(p), std::move(key)});
        } else if constexpr (std::is_same_v<T, UpdateProgram>) {
          OUTCOME_ASSIGN_OR_RETURN(Program p, require_program(s, c.program_id));
          OUTCOME_RETURN_IF_ERROR(apply_program_patch(p, c.patch));
          p.updated_at = now;
          OUTCOME_RETURN_IF_ERROR(s.update_program(p));
          programs_.invalidate(p.id);
          return success(std::move(p));
        } else if constexpr (std::is_same_v<T, CreateApiKey>) {
          OUTCOME_ASSIGN_OR_RETURN(Program p, programs_.get(s, c.program_id));
          OUTCOME_RETURN_IF_ERROR(validate_key_request(c.name, c.scopes));
          ApiKeyCreated key = make_api_key(p.id, c.name, c.scopes, now);
          OUTCOME_ASSIGN_OR_RETURN(key.key.id, s.insert_api_key(key.key));
          return success(std::move(key));
        } else if constexpr (std::is_same_v<T, RevokeApiKey>) {
          OUTCOME_ASSIGN_OR_RETURN(auto key, s.find_api_key(c.program_id, c.key_id));
          if (!key) return not_found("API key " + format_id(c.key_id) + " not found");
          OUTCOME_RETURN_IF_ERROR(s.revoke_api_key(c.program_id, c.key_id, now));
          if (!key->revoked_at) key->revoked_at = now;
          return success(std::move(*key));
        } else if constexpr (std::is_same_v<T, EnrollMember>) {
          OUTCOME_ASSIGN_OR_RETURN(Member m, enroll_member(s, programs_, c.member, now));
          OUTCOME_ASSIGN_OR_RETURN(Program p, programs_.get(s, m.program_id));
          OUTCOME_RETURN_IF_ERROR(referrals_on_enrollment(s, programs_, p, m, c.referral, now));
          OUTCOME_RETURN_IF_ERROR(gifts_on_enrollment(s, programs_, p, m, c.gift_token, now));
          return success(std::move(m));
        } else if constexpr (std::is_same_v<T, UpdateMember>) {
          OUTCOME_ASSIGN_OR_RETURN(Member m, require_member(s, c.program_id, c.member_id));
          const MemberPatch& patch = c.patch;
          if (patch.email) {
            OUTCOME_ASSIGN_OR_RETURN(m.email, normalize_email(*patch.email));
          }
          if (patch.first_name) m.first_name = *patch.first_name;
          if (patch.last_name) m.last_name = *patch.last_name;
          if (patch.birthday) m.birthday = *patch.birthday;
          if (patch.attributes_json) m.attributes_json = *patch.attributes_json;
          if (patch.consent) {
            if (patch.consent->email) m.consent.email = patch.consent->email;
            if (patch.consent->sms) m.consent.sms = patch.consent->sms;
            if (patch.consent->push) m.consent.push = patch.consent->push;
          }
          OUTCOME_RETURN_IF_ERROR(validate_member(m));
          m.updated_at = now;
          OUTCOME_RETURN_IF_ERROR(s.update_member(m));
          return success(std::move(m));
        } else if constexpr (std::is_same_v<T, SetMemberStatus>) {
          OUTCOME_ASSIGN_OR_RETURN(Member m, require_member(s, c.program_id, c.member_id));
          if (m.status != c.status) {
            m.status = c.status;
            m.updated_at = now;
            OUTCOME_RETURN_IF_ERROR(s.update_member(m));
          }
          return success(std::move(m));
        } else if constexpr (std::is_same_v<T, Credit>) {
          OUTCOME_ASSIGN_OR_RETURN(Posting posting, credit_member(s, programs_, c.program_id,
                                                                  c.member_id, c.request, now));
          return success(std::move(posting));
        } else if constexpr (std::is_same_v<T, Debit>) {
          OUTCOME_ASSIGN_OR_RETURN(auto ctx,
                                   prepare_member(s, programs_, c.program_id, c.member_id, now));
          OUTCOME_ASSIGN_OR_RETURN(auto config, programs_.get_config(s, ctx.program.id));
          auto plan = plan_debit(ctx.program, ctx.ledger, c.request, now);
          if (plan.ok()) {
            note_member_activity(config->expiry, ctx.program.timezone, *plan, c.member_id, now);
          }
          return write_plan(s, std::move(plan));
        } else if constexpr (std::is_same_v<T, Adjust>) {
          OUTCOME_ASSIGN_OR_RETURN(auto ctx, prepare_member(s, programs_, c.program_id, c.member_id,
                                                            now, c.request.points.value < 0));
          Outcome out = write_plan(s, plan_adjustment(ctx.program, ctx.ledger, c.request, now));
          if (!out.status.ok()) return out;
          // An adjustment counts as points earned (or taken back) for tiers.
          OUTCOME_RETURN_IF_ERROR(update_tier_for_points(s, programs_, ctx.program, c.member_id,
                                                         now, c.request.points.value, now));
          return out;
        } else if constexpr (std::is_same_v<T, Transfer>) {
          if (c.from_member_id == c.to_member_id) {
            return Outcome::failed(Status(ErrorCode::kTransferToSelf,
                                          "a member cannot transfer points to themselves"));
          }
          OUTCOME_ASSIGN_OR_RETURN(
              auto from, prepare_member(s, programs_, c.program_id, c.from_member_id, now));
          OUTCOME_ASSIGN_OR_RETURN(
              auto to,
              prepare_member(s, programs_, c.program_id, c.to_member_id, now, /*with_lots=*/false));
          OUTCOME_ASSIGN_OR_RETURN(Points sent,
                                   s.transferred_out_since(c.program_id, c.from_member_id,
                                                           now - Duration::from_days(1)));
          return write_plan(
              s, plan_transfer(from.program, from.ledger, to.ledger, c.request, sent, now));
        } else if constexpr (std::is_same_v<T, Reverse>) {
          // A redemption's debit is given back by cancelling the redemption,
          // which also returns its stock and voids its coupon (docs/rewards.md).
          OUTCOME_ASSIGN_OR_RETURN(auto original, s.find_posting(c.program_id, c.posting_id));
          if (original && original->source == "redemption") {
            return Outcome::failed(Status(ErrorCode::kNotReversible,
                                          "posting " + format_id(c.posting_id) +
                                              " paid a redemption: cancel the redemption instead"));
          }
          OUTCOME_ASSIGN_OR_RETURN(Posting reversal, reverse_posting(s, programs_, c, now));
          return success(std::move(reversal));
        } else if constexpr (std::is_same_v<T, RecordEvent>) {
          OUTCOME_ASSIGN_OR_RETURN(EventRecorded recorded, record_event(s, programs_, c, now));
          return success(std::move(recorded));
        } else if constexpr (std::is_same_v<T, CatchUp>) {
          CatchUpResult result;
          for (const PreparedExpiry& prepared : c.prepared) {
            LedgerPlan plan = prepared.plan;
            LOYALTY_ASSERT(plan.posting.member == prepared.member_id &&
                           plan.posting.program_id == prepared.program_id &&
                           plan.posting.kind == PostingKind::kExpiry);
            plan.posting.created_at = now;
            OUTCOME_ASSIGN_OR_RETURN(bool applied, s.apply_plan_if_version(plan, prepared.version));
            if (applied) {
              OUTCOME_RETURN_IF_ERROR(
                  events::emit_posting_event(s, events::kPointsExpired, plan.posting));
              ++result.postings;
              ++result.members;
              continue;
            }
            // Written to since it was planned: caught up from what this
            // transaction reads, if it is still due.
            ++result.stale;
            OUTCOME_ASSIGN_OR_RETURN(Program p, programs_.get(s, prepared.program_id));
            Member m;
            m.program_id = prepared.program_id;
            m.id = prepared.member_id;
            OUTCOME_ASSIGN_OR_RETURN(Balance b, s.get_balance(m.program_id, m.id));
            if (!b.next_due_at || *b.next_due_at > now) continue;
            OUTCOME_ASSIGN_OR_RETURN(int n, catch_up(s, p, m, now, b));
            result.postings += n;
            ++result.members;
          }
          std::vector<store::DueMember> members = c.members;
          if (c.claim_due > 0) {
            OUTCOME_ASSIGN_OR_RETURN(auto claimed, s.claim_due_members(now, c.claim_due));
            members.insert(members.end(), claimed.begin(), claimed.end());
          }
          // The balances came with the claim; the open lots of every claimed
          // member are read in a few queries (catching one member up touches
          // no other member's lots). Members named in the command are read
          // one by one, and then nothing read ahead is used: a member named
          // and claimed would be caught up twice from the same state.
          const bool use_read_ahead = c.members.empty();
          std::map<std::pair<ProgramId, MemberId>, std::vector<Lot>> lots;
          std::map<ProgramId, std::vector<MemberId>> claimed_by_program;
          for (const store::DueMember& due : members) {
            if (use_read_ahead) claimed_by_program[due.program_id].push_back(due.member_id);
          }
          for (const auto& [program, ids] : claimed_by_program) {
            OUTCOME_ASSIGN_OR_RETURN(auto read, s.open_lots_of_members(program, ids));
            for (const MemberId& id : ids) lots[{program, id}];
            for (const Lot& lot : read) lots[{program, lot.member}].push_back(lot);
          }
          for (const store::DueMember& due : members) {
            OUTCOME_ASSIGN_OR_RETURN(Program p, programs_.get(s, due.program_id));
            // Vesting and expiry need only the member's ids (they apply to
            // blocked members too): no need to read the member row.
            Member m;
            m.program_id = due.program_id;
            m.id = due.member_id;
            Balance b;
            std::vector<Lot>* read_ahead = nullptr;
            if (use_read_ahead && due.balance) {
              b = *due.balance;
              read_ahead = &lots.at({due.program_id, due.member_id});
            } else {
              OUTCOME_ASSIGN_OR_RETURN(b, s.get_balance(due.program_id, due.member_id));
            }
            OUTCOME_ASSIGN_OR_RETURN(int n, catch_up(s, p, m, now, b, read_ahead));
            result.postings += n;
            ++result.members;
          }
          return success(result);
        } else if constexpr (std::is_same_v<T, RunProgramJob>) {
          OUTCOME_ASSIGN_OR_RETURN(JobStepResult step, run_program_job(s, programs_, c, now));
          return success(step);
        } else if constexpr (std::is_same_v<T, PutConfig>) {
          OUTCOME_ASSIGN_OR_RETURN(store::StoredConfig stored, put_config(s, programs_, c, now));
          return success(std::move(stored));
        } else if constexpr (std::is_same_v<T, CreateOrder>) {
          OUTCOME_ASSIGN_OR_RETURN(OrderResult r, create_order(s, programs_, c, now));
          return success(std::move(r));
        } else if constexpr (std::is_same_v<T, UpdateOrderStatus>) {
          OUTCOME_ASSIGN_OR_RETURN(OrderResult r, update_order_status(s, programs_, c, now));
          return success(std::move(r));
        } else if constexpr (std::is_same_v<T, RefundOrder>) {
          OUTCOME_ASSIGN_OR_RETURN(OrderResult r, refund_order(s, programs_, c, now));
          return success(std::move(r));
        } else if constexpr (std::is_same_v<T, ImportOrders>) {
          OUTCOME_ASSIGN_OR_RETURN(ImportResult r, import_orders(s, programs_, c, now));
          return success(std::move(r));
        } else if constexpr (std::is_same_v<T, SetMemberTier>) {
          OUTCOME_ASSIGN_OR_RETURN(MemberTierView v, set_member_tier(s, programs_, c, now));
          return success(std::move(v));
        } else if constexpr (std::is_same_v<T, EnsureReferralCode>) {
          OUTCOME_ASSIGN_OR_RETURN(ReferralCodeView v, ensure_referral_code(s, programs_, c, now));
          return success(std::move(v));
        } else if constexpr (std::is_same_v<T, InviteReferral>) {
          OUTCOME_ASSIGN_OR_RETURN(InvitationResult v, invite_referral(s, programs_, c, now));
          return success(std::move(v));
        } else if constexpr (std::is_same_v<T, ReviewReferral>) {
          OUTCOME_ASSIGN_OR_RETURN(Referral v, review_referral(s, programs_, c, now));
          return success(std::move(v));
        } else if constexpr (std::is_same_v<T, AttachReferral>) {
          OUTCOME_ASSIGN_OR_RETURN(Referral v, attach_referral(s, programs_, c, now));
          return success(std::move(v));
        } else if constexpr (std::is_same_v<T, RecordPaidPayment>) {
          OUTCOME_ASSIGN_OR_RETURN(PaidMembershipView v, record_paid_payment(s, programs_, c, now));
          return success(std::move(v));
        } else if constexpr (std::is_same_v<T, CancelPaidMembership>) {
          OUTCOME_ASSIGN_OR_RETURN(PaidMembershipView v,
                                   cancel_paid_membership(s, programs_, c, now));
          return success(std::move(v));
        } else if constexpr (std::is_same_v<T, Redeem>) {
          OUTCOME_ASSIGN_OR_RETURN(RedemptionResult r, redeem_reward(s, programs_, c, now));
          return success(std::move(r));
        } else if constexpr (std::is_same_v<T, CancelRedemption>) {
          OUTCOME_ASSIGN_OR_RETURN(RedemptionResult r, cancel_redemption(s, programs_, c, now));
          return success(std::move(r));
        } else if constexpr (std::is_same_v<T, ConsumeCoupon>) {
          OUTCOME_ASSIGN_OR_RETURN(CouponUse u, consume_coupon(s, programs_, c, now));
          return success(std::move(u));
        } else if constexpr (std::is_same_v<T, HoldPoints>) {
          OUTCOME_ASSIGN_OR_RETURN(HoldResult r, hold_points(s, programs_, c, now));
          return success(std::move(r));
        } else if constexpr (std::is_same_v<T, CaptureHold>) {
          OUTCOME_ASSIGN_OR_RETURN(HoldResult r, capture_hold(s, programs_, c, now));
          return success(std::move(r));
        } else if constexpr (std::is_same_v<T, ReleaseHold>) {
          OUTCOME_ASSIGN_OR_RETURN(HoldResult r, release_hold(s, programs_, c, now));
          return success(std::move(r));
        } else if constexpr (std::is_same_v<T, ReleaseExpiredHolds>) {
          OUTCOME_ASSIGN_OR_RETURN(ReleaseExpiredResult r,
                                   release_expired_holds(s, programs_, c, now));
          return success(r);
        } else if constexpr (std::is_same_v<T, IssueGiftCard>) {
          OUTCOME_ASSIGN_OR_RETURN(GiftCardIssued r, issue_gift_card(s, programs_, c, now));
          return success(std::move(r));
        } else if constexpr (std::is_same_v<T, ImportPhysicalCards>) {
          OUTCOME_ASSIGN_OR_RETURN(GiftCardsImported r,
                                   import_physical_cards(s, programs_, c, now));
          return success(std::move(r));
        } else if constexpr (std::is_same_v<T, ActivateGiftCard>) {
          OUTCOME_ASSIGN_OR_RETURN(GiftCardView r, activate_gift_card(s, programs_, c, now));
          return success(std::move(r));
        } else if constexpr (std::is_same_v<T, CheckGiftCard>) {
          GiftCardAttempt attempt;
          return counted(check_gift_card(s, c, now, attempt), attempt);
        } else if constexpr (std::is_same_v<T, HoldGiftCard>) {
          GiftCardAttempt attempt;
          return counted(hold_gift_card(s, programs_, c, now, attempt), attempt);
        } else if constexpr (std::is_same_v<T, CaptureGiftCardHold>) {
          OUTCOME_ASSIGN_OR_RETURN(GiftCardHoldResult r, capture_gift_card_hold(s, c, now));
          return success(std::move(r));
        } else if constexpr (std::is_same_v<T, ReleaseGiftCardHold>) {
          OUTCOME_ASSIGN_OR_RETURN(GiftCardHoldResult r, release_gift_card_hold(s, c, now));
          return success(std::move(r));
        } else if constexpr (std::is_same_v<T, SetGiftCardStatus>) {
          OUTCOME_ASSIGN_OR_RETURN(GiftCardView r, set_gift_card_status(s, c, now));
          return success(std::move(r));
        } else if constexpr (std::is_same_v<T, SendGift>) {
          OUTCOME_ASSIGN_OR_RETURN(GiftResult r, send_gift(s, programs_, c, now));
          return success(std::move(r));
        } else if constexpr (std::is_same_v<T, ClaimGift>) {
          OUTCOME_ASSIGN_OR_RETURN(GiftResult r, claim_gift(s, programs_, c, now));
          return success(std::move(r));
        } else if constexpr (std::is_same_v<T, CancelGift>) {
          OUTCOME_ASSIGN_OR_RETURN(GiftResult r, cancel_gift(s, programs_, c, now));
          return success(std::move(r));
        } else if constexpr (std::is_same_v<T, ClaimGuestOrders>) {
          OUTCOME_ASSIGN_OR_RETURN(Member m, require_member(s, c.program_id, c.member_id));
          OUTCOME_ASSIGN_OR_RETURN(ClaimResult r, claim_guest_orders(s, programs_, m, now));
          return success(std::move(r));
        }
      },
      body);
}

}  // namespace loyalty::engine
