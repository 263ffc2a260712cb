#include "domain/ledger.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "common/assert.h"

namespace loyalty {

const char* to_string(Account a) {
  switch (a) {
    case Account::kAvailable:
      return "available";
    case Account::kPending:
      return "pending";
    case Account::kIssuance:
      return "issuance";
    case Account::kRedemption:
      return "redemption";
    case Account::kExpiry:
      return "expiry";
    case Account::kAdjustment:
      return "adjustment";
    case Account::kTransfer:
      return "transfer";
    case Account::kHeld:
      return "held";
  }
  return "?";
}

std::optional<Account> parse_account(std::string_view s) {
  for (int i = 1; i <= static_cast<int>(Account::kHeld); ++i) {
    auto a = static_cast<Account>(i);
    if (s == to_string(a)) return a;
  }
  return std::nullopt;
}

const char* to_string(PostingKind k) {
  switch (k) {
    case PostingKind::kCredit:
      return "credit";
    case PostingKind::kDebit:
      return "debit";
    case PostingKind::kAdjustment:
      return "adjustment";
    case PostingKind::kTransfer:
      return "transfer";
    case PostingKind::kReversal:
      return "reversal";
    case PostingKind::kVesting:
      return "vesting";
    case PostingKind::kExpiry:
      return "expiry";
    case PostingKind::kClawback:
      return "clawback";
    case PostingKind::kHold:
      return "hold";
    case PostingKind::kHoldCapture:
      return "hold_capture";
    case PostingKind::kHoldRelease:
      return "hold_release";
    case PostingKind::kHoldRefund:
      return "hold_refund";
    case PostingKind::kGiftClaim:
      return "gift_claim";
  }
  return "?";
}

std::optional<PostingKind> parse_posting_kind(std::string_view s) {
  for (int i = 0; i <= static_cast<int>(PostingKind::kGiftClaim); ++i) {
    auto k = static_cast<PostingKind>(i);
    if (s == to_string(k)) return k;
  }
  return std::nullopt;
}

bool apply_entry(Balance& b, Account account, Points amount) {
  int64_t* field = nullptr;
  int64_t delta = amount.value;
  switch (account) {
    case Account::kAvailable:
      field = &b.available.value;
      break;
    case Account::kPending:
      field = &b.pending.value;
      break;
    case Account::kIssuance:
      field = &b.lifetime_earned.value;
      delta = -delta;
      break;
    case Account::kRedemption:
      field = &b.lifetime_spent.value;
      break;
    case Account::kExpiry:
      field = &b.expired.value;
      break;
    case Account::kAdjustment:
      field = &b.adjusted.value;
      delta = -delta;
      break;
    case Account::kTransfer:
      field = &b.transferred_net.value;
      delta = -delta;
      break;
    case Account::kHeld:
      field = &b.held.value;
      break;
  }
  if (field == nullptr) return false;
  int64_t out = 0;
  if (!checked_add(*field, delta, &out)) return false;
  *field = out;
  return true;
}

std::optional<Instant> earliest_due(const std::vector<Lot>& lots) {
  std::optional<Instant> due;
  auto consider = [&](std::optional<Instant> t) {
    if (t && (!due || *t < *due)) due = t;
  };
  for (const Lot& lot : lots) {
    if (lot.remaining.value <= 0) continue;
    if (lot.pending) consider(lot.available_at);
    consider(lot.expires_at);
  }
  return due;
}

void apply_to_ledger(const LedgerPlan& plan, MemberLedger& member) {
  const MemberId id = member.member.id;
  for (const NewLot& lot : plan.new_lots) LOYALTY_ASSERT(lot.member != id);
  for (const LotChange& c : plan.lot_changes) {
    if (c.member != id) continue;
    for (Lot& lot : member.open_lots) {
      if (lot.id == c.id) {
        lot.remaining = c.remaining;
        lot.pending = c.pending;
      }
    }
  }
  if (auto it = plan.balances.find(id); it != plan.balances.end()) member.balance = it->second;
}

std::optional<Instant> earliest_due(const Balance& balance, const std::vector<Lot>& lots) {
  std::optional<Instant> due = earliest_due(lots);
  if (balance.rolling_expires_at && balance.available.value > 0 &&
      (!due || *balance.rolling_expires_at < *due)) {
    due = balance.rolling_expires_at;
  }
  return due;
}

namespace {

Status invalid(std::string message) {
  return Status(ErrorCode::kInvalidRequest, std::move(message));
}

Status check_points_range(Points p, std::string_view field) {
  if (p.value <= 0) return invalid(std::string(field) + " must be a positive integer");
  if (p.value > kMaxPointsPerPosting) {
    return Status(ErrorCode::kAmountOutOfRange,
                  std::string(field) + " must be at most " + std::to_string(kMaxPointsPerPosting));
  }
  return {};
}

Status check_text(std::string_view value, size_t max_len, std::string_view field) {
  if (value.size() > max_len) {
    return invalid(std::string(field) + " must be at most " + std::to_string(max_len) +
                   " characters");
  }
  return {};
}

Status check_reason_code(std::string_view code) {
  if (code.empty() || code.size() > kMaxReasonCodeLength) {
    return invalid("reason_code must be 1 to 64 characters of a-z, 0-9, '_', '-', '.'");
  }
  for (char c : code) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (!ok) return invalid("reason_code must be 1 to 64 characters of a-z, 0-9, '_', '-', '.'");
  }
  return {};
}

// Lots are consumed oldest expiry first; lots that never expire last; ties by
// creation, then id, so the order is total and deterministic.
bool consume_before(const Lot& a, const Lot& b) {
  if (a.expires_at.has_value() != b.expires_at.has_value()) return a.expires_at.has_value();
  if (a.expires_at && *a.expires_at != *b.expires_at) return *a.expires_at < *b.expires_at;
  if (a.created_at != b.created_at) return a.created_at < b.created_at;
  return a.id < b.id;
}

// The working state of one plan: lots and balances of the members involved,
// mutated as entries are added, then turned into a LedgerPlan.
class Workspace {
 public:
  Workspace(const Program& program, Instant now) : program_(program), now_(now) {}

  void add_member(const MemberLedger& m) {
    MemberState& st = members_[m.member.id];
    st.balance = m.balance;
    st.lots_loaded = m.lots_loaded;
    st.debt = Points{std::min<int64_t>(0, m.balance.available.value)};
    LOYALTY_ASSERT(m.lots_loaded || m.open_lots.empty());
    for (const Lot& lot : m.open_lots) {
      LOYALTY_ASSERT(lot.member == m.member.id);
      st.lots[lot.id] = lot;
      original_lots_[lot.id] = lot;
    }
  }

  const Program& program() const { return program_; }
  Instant now() const { return now_; }
  Balance& balance(MemberId m) { return state(m).balance; }

  int add_new_lot(const NewLot& lot) {
    new_lots_.push_back(lot);
    new_lots_.back().points = Points{0};  // grows as entries are added
    new_lot_remaining_.push_back(Points{0});
    return static_cast<int>(new_lots_.size()) - 1;
  }

  Status add_entry(MemberId member, Account account, LotRef lot, Points amount) {
    if (amount.value == 0) return {};
    MemberState& st = state(member);
    if (!apply_entry(st.balance, account, amount)) {
      return Status(ErrorCode::kAmountOutOfRange, "the balance would overflow");
    }
    if (is_member_balance_account(account)) {
      if (lot.is_none()) {
        LOYALTY_ASSERT(account == Account::kAvailable);
        st.debt += amount;
        LOYALTY_ASSERT_MSG(st.debt.value <= 0, "debt above zero");
      } else if (lot.existing.valid()) {
        auto it = st.lots.find(lot.existing);
        LOYALTY_ASSERT_MSG(it != st.lots.end(), "entry on a lot that was not loaded");
        it->second.remaining += amount;
        LOYALTY_ASSERT(it->second.remaining.value >= 0);
        touched_lots_.insert(lot.existing);
      } else if (lot.new_index >= 0) {
        auto idx = static_cast<size_t>(lot.new_index);
        LOYALTY_ASSERT(idx < new_lots_.size() && new_lots_[idx].member == member);
        new_lot_remaining_[idx] += amount;
        if (amount.value > 0) new_lots_[idx].points += amount;
        LOYALTY_ASSERT(new_lot_remaining_[idx].value >= 0);
      }
    }
    entries_.push_back(Entry{member, account, lot, amount});
    return {};
  }

  // Points on the available account not covered by lots (the debt): <= 0.
  Points deficit(MemberId member) { return state(member).debt; }

  Points lot_remaining(LotRef lot, MemberId member) {
    if (lot.existing.valid()) return state(member).lots.at(lot.existing).remaining;
    return new_lot_remaining_.at(static_cast<size_t>(lot.new_index));
  }

  // Moves points from an available lot into the member's deficit, if any.
  Status settle_deficit(MemberId member, LotRef lot) {
    Points d = deficit(member);
    if (d.value == 0) return {};
    Points s{std::min(-d.value, lot_remaining(lot, member).value)};
    if (s.value == 0) return {};
    LOYALTY_RETURN_IF_ERROR(add_entry(member, Account::kAvailable, lot, -s));
    return add_entry(member, Account::kAvailable, LotRef{}, s);
  }

  // Takes `amount` available points: first from `preferred` (if it is an
  // available lot), then lots in consumption order, then (if allowed) into the
  // deficit. Appends the (lot, points) pairs taken to `taken`.
  Status take_available(MemberId member, Points amount, bool allow_deficit,
                        std::vector<std::pair<const Lot*, Points>>* taken = nullptr) {
    MemberState& st = state(member);
    LOYALTY_ASSERT_MSG(st.lots_loaded, "taking points needs the member's lots");
    std::vector<Lot*> order;
    for (auto& [id, lot] : st.lots) {
      if (!lot.pending && lot.remaining.value > 0) order.push_back(&lot);
    }
    std::sort(order.begin(), order.end(),
              [](const Lot* a, const Lot* b) { return consume_before(*a, *b); });
    Points have{0};
    for (Lot* lot : order) have += lot->remaining;
    if (have < amount && !allow_deficit) {
      return Status(ErrorCode::kInsufficientPoints,
                    "the member has " + std::to_string(have.value) + " available points; " +
                        std::to_string(amount.value) + " are needed");
    }
    Points left = amount;
    size_t lots_used = 0;
    for (Lot* lot : order) {
      if (left.value == 0) break;
      if (++lots_used > kMaxLotsPerPosting) {
        return Status(ErrorCode::kAmountOutOfRange, "the debit would touch more than " +
                                                        std::to_string(kMaxLotsPerPosting) +
                                                        " lots; split it into smaller debits");
      }
      Points t{std::min(left.value, lot->remaining.value)};
      if (taken != nullptr) taken->emplace_back(lot, t);
      LOYALTY_RETURN_IF_ERROR(add_entry(member, Account::kAvailable, LotRef{lot->id, -1}, -t));
      left -= t;
    }
    if (left.value > 0) {
      LOYALTY_ASSERT(allow_deficit);
      LOYALTY_RETURN_IF_ERROR(add_entry(member, Account::kAvailable, LotRef{}, -left));
    }
    return {};
  }

  Lot* find_lot(MemberId member, LotId id) {
    auto& lots = state(member).lots;
    auto it = lots.find(id);
    return it == lots.end() ? nullptr : &it->second;
  }

  Result<LedgerPlan> finish(Posting posting) {
    LedgerPlan plan;
    posting.entries = std::move(entries_);
    plan.posting = std::move(posting);
    for (size_t i = 0; i < new_lots_.size(); ++i) {
      LOYALTY_ASSERT(new_lots_[i].points.value > 0);
    }
    plan.new_lots = std::move(new_lots_);
    for (LotId id : touched_lots_) {
      for (auto& [m, st] : members_) {
        auto it = st.lots.find(id);
        if (it != st.lots.end()) {
          plan.lot_changes.push_back(LotChange{id, m, it->second.remaining, it->second.pending});
        }
      }
    }
    for (auto& [m, st] : members_) {
      if (st.lots_loaded) {
        // Available points sit in available lots or are debt, never elsewhere.
        Points in_lots{0};
        for (auto& [id, lot] : st.lots) {
          if (!lot.pending) in_lots += lot.remaining;
        }
        for (size_t i = 0; i < plan.new_lots.size(); ++i) {
          if (plan.new_lots[i].member == m && !plan.new_lots[i].pending) {
            in_lots += new_lot_remaining_[i];
          }
        }
        LOYALTY_ASSERT(st.balance.available == in_lots + st.debt);
        LOYALTY_ASSERT(st.debt.value == 0 || in_lots.value == 0);
      }
      std::vector<Lot> after;
      after.reserve(st.lots.size());
      for (auto& [id, lot] : st.lots) after.push_back(lot);
      for (size_t i = 0; i < plan.new_lots.size(); ++i) {
        const NewLot& nl = plan.new_lots[i];
        if (nl.member != m) continue;
        Lot l;
        l.remaining = new_lot_remaining_[i];
        l.pending = nl.pending;
        l.available_at = nl.available_at;
        l.expires_at = nl.expires_at;
        after.push_back(l);
      }
      if (st.lots_loaded) {
        st.balance.next_due_at = earliest_due(st.balance, after);
      } else {
        // Lots were not loaded: only new lots were added, so the old value
        // stays a lower bound of the truth, and the new lots may come earlier.
        std::optional<Instant> due = earliest_due(st.balance, after);
        if (due && (!st.balance.next_due_at || *due < *st.balance.next_due_at)) {
          st.balance.next_due_at = due;
        }
      }
      plan.balances[m] = st.balance;
    }
    LOYALTY_RETURN_IF_ERROR(check_plan_invariants(plan));
    return plan;
  }

  // Marks a lot as vested (pending -> available) in the working state.
  void mark_vested(MemberId member, LotId id) {
    Lot* lot = find_lot(member, id);
    LOYALTY_ASSERT(lot != nullptr && lot->pending);
    lot->pending = false;
    touched_lots_.insert(id);
  }

 private:
  struct MemberState {
    Balance balance;
    std::map<LotId, Lot> lots;
    bool lots_loaded = true;
    Points debt;
  };
  MemberState& state(MemberId m) {
    auto it = members_.find(m);
    LOYALTY_ASSERT_MSG(it != members_.end(), "member not loaded into the plan");
    return it->second;
  }

  const Program& program_;
  Instant now_;
  std::map<MemberId, MemberState> members_;
  std::map<LotId, Lot> original_lots_;
  std::set<LotId> touched_lots_;
  std::vector<NewLot> new_lots_;
  std::vector<Points> new_lot_remaining_;
  std::vector<Entry> entries_;
};

Posting base_posting(const Program& program, MemberId member, PostingKind kind, Instant now) {
  Posting p;
  p.program_id = program.id;
  p.member = member;
  p.kind = kind;
  p.created_at = now;
  return p;
}

Status require_active(const Member& m) {
  if (m.status == MemberStatus::kBlocked) {
    return Status(ErrorCode::kMemberBlocked, "member " + format_id(m.id) + " is blocked");
  }
  return {};
}

bool allow_deficit(const Program& program) {
  return program.negative_balance == NegativeBalancePolicy::kAllow;
}

// Points a member receives from another (a transfer, a gift), one new
// available lot per distinct expiry. A debt of the receiver is paid with them
// in consumption order: soonest expiry first, points that never expire (first
// in the map) last.
Status receive_by_expiry(Workspace& ws, MemberId receiver,
                         const std::map<std::optional<Instant>, Points>& by_expiry) {
  std::vector<std::pair<std::optional<Instant>, Points>> received(by_expiry.begin(),
                                                                  by_expiry.end());
  if (!received.empty() && !received.front().first) {
    std::rotate(received.begin(), received.begin() + 1, received.end());
  }
  for (auto& [expires_at, pts] : received) {
    int idx = ws.add_new_lot(NewLot{receiver, Points{0}, false, std::nullopt, expires_at});
    LotRef ref{LotId{}, idx};
    LOYALTY_RETURN_IF_ERROR(ws.add_entry(receiver, Account::kAvailable, ref, pts));
    LOYALTY_RETURN_IF_ERROR(ws.settle_deficit(receiver, ref));
  }
  return {};
}

}  // namespace

Result<LedgerPlan> plan_credit(const Program& program, const MemberLedger& member,
                               const CreditRequest& request, Instant now) {
  LOYALTY_RETURN_IF_ERROR(check_points_range(request.points, "points"));
  LOYALTY_RETURN_IF_ERROR(check_text(request.reason, kMaxReasonLength, "reason"));
  LOYALTY_RETURN_IF_ERROR(check_text(request.source, kMaxSourceLength, "source"));
  if (request.pending_until_scheduled && request.available_at) {
    return invalid("available_at must be empty for points pending until scheduled");
  }
  bool pending = request.pending_until_scheduled ||
                 (request.available_at.has_value() && *request.available_at > now);
  if (request.expires_at) {
    if (*request.expires_at <= now) return invalid("expires_at must be in the future");
    if (pending && *request.expires_at <= *request.available_at) {
      return invalid("expires_at must be after available_at");
    }
  }
  LOYALTY_RETURN_IF_ERROR(require_active(member.member));

  Workspace ws(program, now);
  ws.add_member(member);
  MemberId m = member.member.id;
  int lot = ws.add_new_lot(NewLot{
      m, Points{0}, pending, pending ? request.available_at : std::nullopt, request.expires_at});
  LotRef ref{LotId{}, lot};
  LOYALTY_RETURN_IF_ERROR(ws.add_entry(m, Account::kIssuance, LotRef{}, -request.points));
  LOYALTY_RETURN_IF_ERROR(
      ws.add_entry(m, pending ? Account::kPending : Account::kAvailable, ref, request.points));
  if (!pending) LOYALTY_RETURN_IF_ERROR(ws.settle_deficit(m, ref));

  Posting p = base_posting(program, m, PostingKind::kCredit, now);
  p.reason = request.reason;
  p.source = request.source;
  p.actor = request.actor;
  p.order = request.order;
  return ws.finish(std::move(p));
}

Result<LedgerPlan> plan_debit(const Program& program, const MemberLedger& member,
                              const DebitRequest& request, Instant now) {
  LOYALTY_RETURN_IF_ERROR(check_points_range(request.points, "points"));
  LOYALTY_RETURN_IF_ERROR(check_text(request.reason, kMaxReasonLength, "reason"));
  LOYALTY_RETURN_IF_ERROR(check_text(request.source, kMaxSourceLength, "source"));
  LOYALTY_RETURN_IF_ERROR(require_active(member.member));

  Workspace ws(program, now);
  ws.add_member(member);
  MemberId m = member.member.id;
  LOYALTY_RETURN_IF_ERROR(ws.take_available(m, request.points, /*allow_deficit=*/false));
  LOYALTY_RETURN_IF_ERROR(ws.add_entry(m, Account::kRedemption, LotRef{}, request.points));

  Posting p = base_posting(program, m, PostingKind::kDebit, now);
  p.reason = request.reason;
  p.source = request.source;
  p.actor = request.actor;
  return ws.finish(std::move(p));
}

Result<LedgerPlan> plan_adjustment(const Program& program, const MemberLedger& member,
                                   const AdjustmentRequest& request, Instant now) {
  if (request.points.value == 0) return invalid("points must not be zero");
  Points magnitude{request.points.value < 0 ? -request.points.value : request.points.value};
  LOYALTY_RETURN_IF_ERROR(check_points_range(magnitude, "points"));
  LOYALTY_RETURN_IF_ERROR(check_reason_code(request.reason_code));
  LOYALTY_RETURN_IF_ERROR(check_text(request.reason, kMaxReasonLength, "reason"));
  if (request.expires_at) {
    if (request.points.value < 0) return invalid("expires_at applies only to positive adjustments");
    if (*request.expires_at <= now) return invalid("expires_at must be in the future");
  }

  Workspace ws(program, now);
  ws.add_member(member);
  MemberId m = member.member.id;
  if (request.points.value > 0) {
    int lot = ws.add_new_lot(NewLot{m, Points{0}, false, std::nullopt, request.expires_at});
    LotRef ref{LotId{}, lot};
    LOYALTY_RETURN_IF_ERROR(ws.add_entry(m, Account::kAdjustment, LotRef{}, -magnitude));
    LOYALTY_RETURN_IF_ERROR(ws.add_entry(m, Account::kAvailable, ref, magnitude));
    LOYALTY_RETURN_IF_ERROR(ws.settle_deficit(m, ref));
  } else {
    LOYALTY_RETURN_IF_ERROR(ws.take_available(m, magnitude, allow_deficit(program)));
    LOYALTY_RETURN_IF_ERROR(ws.add_entry(m, Account::kAdjustment, LotRef{}, magnitude));
  }
  Posting p = base_posting(program, m, PostingKind::kAdjustment, now);
  p.reason = request.reason;
  p.reason_code = request.reason_code;
  p.source = "admin";
  p.actor = request.actor;
  return ws.finish(std::move(p));
}

Result<LedgerPlan> plan_transfer(const Program& program, const MemberLedger& from,
                                 const MemberLedger& to, const TransferRequest& request,
                                 Points sent_last_24h, Instant now) {
  LOYALTY_RETURN_IF_ERROR(check_points_range(request.points, "points"));
  LOYALTY_RETURN_IF_ERROR(check_text(request.reason, kMaxReasonLength, "reason"));
  if (from.member.id == to.member.id) {
    return Status(ErrorCode::kTransferToSelf, "a member cannot transfer points to themselves");
  }
  const TransferPolicy& policy = program.transfers;
  if (!policy.enabled) {
    return Status(ErrorCode::kTransfersDisabled, "this program does not allow transfers");
  }
  LOYALTY_RETURN_IF_ERROR(require_active(from.member));
  LOYALTY_RETURN_IF_ERROR(require_active(to.member));
  int64_t p = request.points.value;
  if (p < policy.min_points) {
    return Status(ErrorCode::kTransferLimitExceeded,
                  "a transfer must move at least " + std::to_string(policy.min_points) + " points");
  }
  if (policy.max_points > 0 && p > policy.max_points) {
    return Status(ErrorCode::kTransferLimitExceeded,
                  "a transfer may move at most " + std::to_string(policy.max_points) + " points");
  }
  if (policy.daily_limit_points > 0 && sent_last_24h.value + p > policy.daily_limit_points) {
    return Status(ErrorCode::kTransferLimitExceeded,
                  "the sender may transfer at most " + std::to_string(policy.daily_limit_points) +
                      " points in 24 hours and has already sent " +
                      std::to_string(sent_last_24h.value));
  }

  Workspace ws(program, now);
  ws.add_member(from);
  ws.add_member(to);
  MemberId f = from.member.id;
  MemberId t = to.member.id;
  std::vector<std::pair<const Lot*, Points>> taken;
  LOYALTY_RETURN_IF_ERROR(ws.take_available(f, request.points, false, &taken));
  LOYALTY_RETURN_IF_ERROR(ws.add_entry(f, Account::kTransfer, LotRef{}, request.points));
  LOYALTY_RETURN_IF_ERROR(ws.add_entry(t, Account::kTransfer, LotRef{}, -request.points));
  // The receiver's points keep the expiry they had: one new lot per distinct expiry.
  std::map<std::optional<Instant>, Points> by_expiry;
  for (auto& [lot, pts] : taken) by_expiry[lot->expires_at] += pts;
  LOYALTY_RETURN_IF_ERROR(receive_by_expiry(ws, t, by_expiry));
  Posting posting = base_posting(program, f, PostingKind::kTransfer, now);
  posting.counterparty = t;
  posting.reason = request.reason;
  posting.source = "api";
  posting.actor = request.actor;
  return ws.finish(std::move(posting));
}

Result<LedgerPlan> plan_reversal(const Program& program, const Posting& original,
                                 const std::map<MemberId, MemberLedger>& members,
                                 std::string_view reason, std::string_view actor, Instant now) {
  LOYALTY_RETURN_IF_ERROR(check_text(reason, kMaxReasonLength, "reason"));
  if (original.kind == PostingKind::kReversal || original.kind == PostingKind::kVesting ||
      original.kind == PostingKind::kExpiry || original.kind == PostingKind::kHold ||
      original.kind == PostingKind::kHoldCapture || original.kind == PostingKind::kHoldRelease ||
      original.kind == PostingKind::kHoldRefund || original.kind == PostingKind::kGiftClaim) {
    return Status(ErrorCode::kNotReversible,
                  std::string("a ") + to_string(original.kind) +
                      " posting cannot be reversed; post an adjustment instead");
  }
  if (original.order.valid()) {
    return Status(ErrorCode::kNotReversible,
                  "the points of an order change with the order: refund or cancel " +
                      format_id(original.order) + " instead");
  }
  Workspace ws(program, now);
  for (const auto& [id, ml] : members) ws.add_member(ml);

  // Net effect of the original per (member, lot) on balance accounts and per
  // (member, account) on contra accounts.
  std::map<std::pair<MemberId, LotId>, Points> lot_net;
  std::map<std::pair<MemberId, Account>, Points> contra_net;
  for (const Entry& e : original.entries) {
    if (members.find(e.member) == members.end()) {
      return Status(ErrorCode::kInternal, "reversal: member of the posting was not loaded");
    }
    if (is_member_balance_account(e.account)) {
      lot_net[{e.member, e.lot.existing}] += e.amount;
    } else {
      contra_net[{e.member, e.account}] += e.amount;
    }
  }
  bool deficit_ok = allow_deficit(program);
  // Restore first: points the original took out of lots go back into them.
  std::vector<std::pair<MemberId, Lot*>> restored;
  for (const auto& [key, net] : lot_net) {
    if (net.value >= 0) continue;
    auto [member, lot_id] = key;
    Points give = -net;
    if (lot_id.valid()) {
      Lot* lot = ws.find_lot(member, lot_id);
      if (lot == nullptr) return Status(ErrorCode::kInternal, "reversal: lot not loaded");
      LOYALTY_RETURN_IF_ERROR(ws.add_entry(member,
                                           lot->pending ? Account::kPending : Account::kAvailable,
                                           LotRef{lot_id, -1}, give));
      if (!lot->pending) restored.emplace_back(member, lot);
    } else {
      // The original ran into the deficit: pay it back, and keep any rest in a new lot.
      Points d = ws.deficit(member);
      Points into_deficit{std::min(give.value, -d.value)};
      LOYALTY_RETURN_IF_ERROR(ws.add_entry(member, Account::kAvailable, LotRef{}, into_deficit));
      Points rest = give - into_deficit;
      if (rest.value > 0) {
        int idx = ws.add_new_lot(NewLot{member, Points{0}, false, std::nullopt, std::nullopt});
        LOYALTY_RETURN_IF_ERROR(
            ws.add_entry(member, Account::kAvailable, LotRef{LotId{}, idx}, rest));
      }
    }
  }
  // A debt left after that is paid from the restored lots in consumption order.
  std::sort(restored.begin(), restored.end(),
            [](const auto& a, const auto& b) { return consume_before(*a.second, *b.second); });
  for (const auto& [member, lot] : restored) {
    LOYALTY_RETURN_IF_ERROR(ws.settle_deficit(member, LotRef{lot->id, -1}));
  }
  // Then remove what the original added: from the same lot while it lasts, then
  // from the member's other available points, then (if allowed) into a deficit.
  for (const auto& [key, net] : lot_net) {
    if (net.value <= 0) continue;
    auto [member, lot_id] = key;
    Points left = net;
    if (lot_id.valid()) {
      Lot* lot = ws.find_lot(member, lot_id);
      if (lot == nullptr) return Status(ErrorCode::kInternal, "reversal: lot not loaded");
      Points t{std::min(left.value, lot->remaining.value)};
      LOYALTY_RETURN_IF_ERROR(ws.add_entry(
          member, lot->pending ? Account::kPending : Account::kAvailable, LotRef{lot_id, -1}, -t));
      left -= t;
    }
    if (left.value > 0) {
      Status st = ws.take_available(member, left, deficit_ok);
      if (st.code() == ErrorCode::kInsufficientPoints) {
        return Status(
            ErrorCode::kInsufficientPoints,
            "the points of " + format_id(original.id) +
                " were already spent and the program does not allow a negative balance; " +
                st.message());
      }
      LOYALTY_RETURN_IF_ERROR(st);
    }
  }
  for (const auto& [key, net] : contra_net) {
    LOYALTY_RETURN_IF_ERROR(ws.add_entry(key.first, key.second, LotRef{}, -net));
  }
  Posting p = base_posting(program, original.member, PostingKind::kReversal, now);
  p.counterparty = original.counterparty;
  p.reverses = original.id;
  p.reason = std::string(reason);
  p.source = "api";
  p.actor = std::string(actor);
  return ws.finish(std::move(p));
}

std::optional<LedgerPlan> plan_vesting(const Program& program, const MemberLedger& member,
                                       Instant now) {
  std::vector<const Lot*> due;
  for (const Lot& lot : member.open_lots) {
    if (lot.pending && lot.remaining.value > 0 && lot.available_at && *lot.available_at <= now) {
      due.push_back(&lot);
    }
  }
  if (due.empty()) return std::nullopt;
  // In the order they became available (then consumption order), so that a
  // debt is paid by the same lot whether the job ran on time or later.
  std::sort(due.begin(), due.end(), [](const Lot* a, const Lot* b) {
    if (*a->available_at != *b->available_at) return *a->available_at < *b->available_at;
    return consume_before(*a, *b);
  });
  Workspace ws(program, now);
  ws.add_member(member);
  MemberId m = member.member.id;
  for (const Lot* lot : due) {
    LotRef ref{lot->id, -1};
    LOYALTY_ASSERT(ws.add_entry(m, Account::kPending, ref, -lot->remaining).ok());
    ws.mark_vested(m, lot->id);
    LOYALTY_ASSERT(ws.add_entry(m, Account::kAvailable, ref, lot->remaining).ok());
    LOYALTY_ASSERT(ws.settle_deficit(m, ref).ok());
  }
  Posting p = base_posting(program, m, PostingKind::kVesting, now);
  p.reason = "pending points became available";
  p.source = "job:vesting";
  p.actor = "system";
  auto plan = ws.finish(std::move(p));
  LOYALTY_ASSERT(plan.ok());
  return std::move(plan).value();
}

std::optional<LedgerPlan> plan_expiry(const Program& program, const MemberLedger& member,
                                      Instant now) {
  std::vector<const Lot*> due;
  const bool rolling_passed =
      member.balance.rolling_expires_at && *member.balance.rolling_expires_at <= now;
  for (const Lot& lot : member.open_lots) {
    if (!lot.pending && lot.remaining.value > 0 &&
        (rolling_passed || (lot.expires_at && *lot.expires_at <= now))) {
      due.push_back(&lot);
    }
  }
  if (due.empty()) return std::nullopt;
  std::sort(due.begin(), due.end(), [](const Lot* a, const Lot* b) { return a->id < b->id; });
  Workspace ws(program, now);
  ws.add_member(member);
  MemberId m = member.member.id;
  Points total{0};
  for (const Lot* lot : due) {
    LOYALTY_ASSERT(ws.add_entry(m, Account::kAvailable, LotRef{lot->id, -1}, -lot->remaining).ok());
    total += lot->remaining;
  }
  LOYALTY_ASSERT(ws.add_entry(m, Account::kExpiry, LotRef{}, total).ok());
  Posting p = base_posting(program, m, PostingKind::kExpiry, now);
  p.reason = "points expired";
  p.source = "job:expiry";
  p.actor = "system";
  auto plan = ws.finish(std::move(p));
  LOYALTY_ASSERT(plan.ok());
  return std::move(plan).value();
}

Status check_plan_invariants(const LedgerPlan& plan) {
  int64_t sum = 0;
  for (const Entry& e : plan.posting.entries) {
    if (e.amount.value == 0) return Status(ErrorCode::kInternal, "zero entry");
    if (!checked_add(sum, e.amount.value, &sum)) return Status(ErrorCode::kInternal, "overflow");
    if (!is_member_balance_account(e.account) && !e.lot.is_none()) {
      return Status(ErrorCode::kInternal, "contra entry with a lot");
    }
    if (e.lot.new_index >= static_cast<int>(plan.new_lots.size())) {
      return Status(ErrorCode::kInternal, "entry on an unknown new lot");
    }
    if (plan.balances.find(e.member) == plan.balances.end()) {
      return Status(ErrorCode::kInternal, "entry for a member without a balance");
    }
  }
  if (sum != 0) return Status(ErrorCode::kInternal, "posting entries do not sum to zero");
  if (plan.posting.entries.empty()) return Status(ErrorCode::kInternal, "empty posting");
  for (const LotChange& c : plan.lot_changes) {
    if (c.remaining.value < 0) return Status(ErrorCode::kInternal, "negative lot");
  }
  for (const auto& [m, b] : plan.balances) {
    int64_t lhs = b.available.value + b.pending.value + b.held.value;
    int64_t rhs = b.lifetime_earned.value - b.lifetime_spent.value - b.expired.value +
                  b.adjusted.value + b.transferred_net.value;
    if (lhs != rhs) return Status(ErrorCode::kInternal, "balance identity broken");
    if (b.pending.value < 0) return Status(ErrorCode::kInternal, "negative pending balance");
    if (b.held.value < 0) return Status(ErrorCode::kInternal, "negative held balance");
  }
  return {};
}

Result<ClawbackPlan> plan_clawback(const Program& program, const MemberLedger& member,
                                   const ClawbackRequest& request, Instant now) {
  LOYALTY_RETURN_IF_ERROR(check_points_range(request.points, "points"));
  LOYALTY_RETURN_IF_ERROR(check_text(request.reason, kMaxReasonLength, "reason"));
  LOYALTY_ASSERT_MSG(member.lots_loaded, "a clawback needs the member's lots");
  Workspace ws(program, now);
  ws.add_member(member);
  MemberId m = member.member.id;
  Points left = request.points;
  // 1. The order's own lot, pending or available.
  if (request.lot.valid()) {
    if (Lot* lot = ws.find_lot(m, request.lot); lot != nullptr && lot->remaining.value > 0) {
      Points t{std::min(left.value, lot->remaining.value)};
      LOYALTY_RETURN_IF_ERROR(ws.add_entry(
          m, lot->pending ? Account::kPending : Account::kAvailable, LotRef{lot->id, -1}, -t));
      left -= t;
    }
  }
  // 2. The member's other available points (in consumption order).
  Points spendable{std::max<int64_t>(0, ws.balance(m).available.value)};
  if (left.value > 0 && spendable.value > 0) {
    Points t{std::min(left.value, spendable.value)};
    LOYALTY_RETURN_IF_ERROR(ws.take_available(m, t, /*allow_deficit=*/false));
    left -= t;
  }
  // 3. The shortfall, as the program's policy says.
  if (left.value > 0 && request.shortfall == ClawbackShortfall::kDebt && allow_deficit(program)) {
    LOYALTY_RETURN_IF_ERROR(ws.take_available(m, left, /*allow_deficit=*/true));
    left = Points{0};
  }
  if (left.value > 0 && request.shortfall == ClawbackShortfall::kPendingThenWriteOff) {
    // Points that would vest last go first; unscheduled ones are the latest.
    std::vector<const Lot*> pending;
    for (const Lot& lot : member.open_lots) {
      if (lot.pending && lot.id != request.lot) pending.push_back(&lot);
    }
    std::sort(pending.begin(), pending.end(), [](const Lot* a, const Lot* b) {
      if (a->available_at.has_value() != b->available_at.has_value()) {
        return !a->available_at.has_value();
      }
      if (a->available_at && *a->available_at != *b->available_at) {
        return *a->available_at > *b->available_at;
      }
      return a->id > b->id;
    });
    for (const Lot* original : pending) {
      if (left.value == 0) break;
      Lot* lot = ws.find_lot(m, original->id);
      Points t{std::min(left.value, lot->remaining.value)};
      if (t.value == 0) continue;
      LOYALTY_RETURN_IF_ERROR(ws.add_entry(m, Account::kPending, LotRef{lot->id, -1}, -t));
      left -= t;
    }
  }
  ClawbackPlan out;
  out.taken = request.points - left;
  out.written_off = left;
  if (out.taken.value == 0) return out;
  LOYALTY_RETURN_IF_ERROR(ws.add_entry(m, Account::kIssuance, LotRef{}, out.taken));
  Posting p = base_posting(program, m, PostingKind::kClawback, now);
  p.reason = request.reason;
  p.source = "order";
  p.actor = request.actor;
  p.order = request.order;
  LOYALTY_ASSIGN_OR_RETURN(LedgerPlan plan, ws.finish(std::move(p)));
  out.plan = std::move(plan);
  LOYALTY_ASSERT(out.taken.value + out.written_off.value == request.points.value);
  return out;
}

Result<VestingSchedule> plan_schedule_vesting(const MemberLedger& member, LotId lot_id,
                                              Instant available_at) {
  LOYALTY_ASSERT_MSG(member.lots_loaded, "scheduling vesting needs the member's lots");
  std::vector<Lot> after = member.open_lots;
  Lot* lot = nullptr;
  for (Lot& l : after) {
    if (l.id == lot_id) lot = &l;
  }
  if (lot == nullptr || !lot->pending || lot->available_at.has_value()) {
    return Status(ErrorCode::kInternal,
                  format_id(lot_id) + " is not an unscheduled pending lot of the member");
  }
  lot->available_at = available_at;
  VestingSchedule out{member.member.id, lot_id, available_at, std::nullopt};
  out.next_due_at = earliest_due(member.balance, after);
  // Never later than before: next_due_at may be early, never late.
  if (member.balance.next_due_at &&
      (!out.next_due_at || *member.balance.next_due_at < *out.next_due_at)) {
    out.next_due_at = member.balance.next_due_at;
  }
  return out;
}

Result<HoldPlan> plan_hold(const Program& program, const MemberLedger& member,
                           const HoldRequest& request, Instant now) {
  LOYALTY_RETURN_IF_ERROR(check_points_range(request.points, "points"));
  LOYALTY_RETURN_IF_ERROR(check_text(request.reason, kMaxReasonLength, "reason"));
  LOYALTY_RETURN_IF_ERROR(require_active(member.member));
  Workspace ws(program, now);
  ws.add_member(member);
  MemberId m = member.member.id;
  std::vector<std::pair<const Lot*, Points>> taken;
  LOYALTY_RETURN_IF_ERROR(ws.take_available(m, request.points, /*allow_deficit=*/false, &taken));
  LOYALTY_RETURN_IF_ERROR(ws.add_entry(m, Account::kHeld, LotRef{}, request.points));
  Posting p = base_posting(program, m, PostingKind::kHold, now);
  p.reason = request.reason;
  p.source = request.source;
  p.actor = request.actor;
  p.order = request.order;
  HoldPlan out;
  Points total{0};
  for (const auto& [lot, points] : taken) {
    out.lots.push_back(HoldLot{lot->id, points});
    total += points;
  }
  LOYALTY_ASSERT(total == request.points);
  LOYALTY_ASSIGN_OR_RETURN(out.plan, ws.finish(std::move(p)));
  return out;
}

Result<HoldReturnPlan> plan_hold_return(const Program& program, const MemberLedger& member,
                                        const HoldReturnRequest& request, Instant now) {
  const bool capture = request.kind == PostingKind::kHoldCapture;
  LOYALTY_ASSERT(capture || request.kind == PostingKind::kHoldRelease ||
                 request.kind == PostingKind::kHoldRefund);
  LOYALTY_ASSERT(capture || request.capture.value == 0);
  LOYALTY_ASSERT_MSG(member.lots_loaded, "returning held points needs the member's lots");
  LOYALTY_RETURN_IF_ERROR(check_text(request.reason, kMaxReasonLength, "reason"));
  const Account from =
      request.kind == PostingKind::kHoldRefund ? Account::kRedemption : Account::kHeld;
  Workspace ws(program, now);
  ws.add_member(member);
  MemberId m = member.member.id;
  const bool rolling_passed =
      member.balance.rolling_expires_at && *member.balance.rolling_expires_at <= now;
  HoldReturnPlan out;
  if (capture && request.capture.value > 0) {
    LOYALTY_RETURN_IF_ERROR(ws.add_entry(m, Account::kHeld, LotRef{}, -request.capture));
    LOYALTY_RETURN_IF_ERROR(ws.add_entry(m, Account::kRedemption, LotRef{}, request.capture));
  }
  std::vector<Lot*> restored;
  for (const HoldLot& share : request.restore) {
    LOYALTY_ASSERT(share.points.value > 0);
    Lot* lot = ws.find_lot(m, share.lot);
    if (lot == nullptr) return Status(ErrorCode::kInternal, "hold return: lot not loaded");
    LOYALTY_ASSERT(!lot->pending);
    LOYALTY_RETURN_IF_ERROR(ws.add_entry(m, from, LotRef{}, -share.points));
    if (rolling_passed || (lot->expires_at && *lot->expires_at <= now)) {
      LOYALTY_RETURN_IF_ERROR(ws.add_entry(m, Account::kExpiry, LotRef{}, share.points));
      out.expired += share.points;
    } else {
      LOYALTY_RETURN_IF_ERROR(
          ws.add_entry(m, Account::kAvailable, LotRef{share.lot, -1}, share.points));
      out.restored += share.points;
      restored.push_back(lot);
    }
  }
  // A debt (allowed by the program) is paid from the restored lots first.
  std::sort(restored.begin(), restored.end(),
            [](const Lot* a, const Lot* b) { return consume_before(*a, *b); });
  for (const Lot* lot : restored) {
    LOYALTY_RETURN_IF_ERROR(ws.settle_deficit(m, LotRef{lot->id, -1}));
  }
  Posting p = base_posting(program, m, request.kind, now);
  p.reason = request.reason;
  p.source = request.source;
  p.actor = request.actor;
  p.order = request.order;
  LOYALTY_ASSIGN_OR_RETURN(out.plan, ws.finish(std::move(p)));
  return out;
}

Result<GiftClaimPlan> plan_gift_claim(const Program& program, const MemberLedger& giver,
                                      const MemberLedger& recipient,
                                      const GiftClaimRequest& request, Instant now) {
  LOYALTY_RETURN_IF_ERROR(check_text(request.reason, kMaxReasonLength, "reason"));
  if (giver.member.id == recipient.member.id) {
    return Status(ErrorCode::kTransferToSelf, "a member cannot receive their own gift");
  }
  LOYALTY_RETURN_IF_ERROR(require_active(recipient.member));
  Workspace ws(program, now);
  ws.add_member(giver);
  ws.add_member(recipient);
  MemberId g = giver.member.id;
  MemberId r = recipient.member.id;
  GiftClaimPlan out;
  std::map<std::optional<Instant>, Points> by_expiry;
  Points total{0};
  for (const GiftShare& share : request.shares) {
    LOYALTY_ASSERT(share.points.value > 0);
    total += share.points;
    if (share.expires_at && *share.expires_at <= now) {
      out.expired += share.points;
    } else {
      by_expiry[share.expires_at] += share.points;
      out.delivered += share.points;
    }
  }
  LOYALTY_RETURN_IF_ERROR(ws.add_entry(g, Account::kHeld, LotRef{}, -total));
  LOYALTY_RETURN_IF_ERROR(ws.add_entry(g, Account::kExpiry, LotRef{}, out.expired));
  LOYALTY_RETURN_IF_ERROR(ws.add_entry(g, Account::kTransfer, LotRef{}, out.delivered));
  LOYALTY_RETURN_IF_ERROR(ws.add_entry(r, Account::kTransfer, LotRef{}, -out.delivered));
  LOYALTY_RETURN_IF_ERROR(receive_by_expiry(ws, r, by_expiry));
  Posting p = base_posting(program, g, PostingKind::kGiftClaim, now);
  p.counterparty = r;
  p.reason = request.reason;
  p.source = "gift";
  p.actor = request.actor;
  LOYALTY_ASSIGN_OR_RETURN(out.plan, ws.finish(std::move(p)));
  return out;
}

}  // namespace loyalty
