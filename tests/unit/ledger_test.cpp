// Specification of the pure points ledger (src/domain/ledger.h).
//
// A small in-memory Book plays the store: it applies each plan the way
// StoreSession::apply_plan does (ids for the posting and new lots, lot refs
// resolved, lot changes and balances written) and checks, for every plan, that
// it is internally consistent: check_plan_invariants holds, every member's new
// balance equals the old one plus the plan's entries, and every lot's new
// remaining equals the old one plus the entries on it.
#include "domain/ledger.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <vector>

namespace loyalty {

// gtest prints balances readably (found by argument-dependent lookup).
void PrintTo(const Balance& b, std::ostream* os) {
  *os << "{available " << b.available.value << ", pending " << b.pending.value << ", earned "
      << b.lifetime_earned.value << ", spent " << b.lifetime_spent.value << ", expired "
      << b.expired.value << ", adjusted " << b.adjusted.value << ", transferred_net "
      << b.transferred_net.value << ", next_due_at "
      << (b.next_due_at ? format_rfc3339(*b.next_due_at) : "none") << "}";
}

namespace {

const Instant kT0 = Instant::from_seconds(1'704'067'200);  // 2024-01-01T00:00:00Z
Instant day(int n) { return kT0 + Duration::from_days(n); }

Program program(NegativeBalancePolicy policy = NegativeBalancePolicy::kForbid) {
  Program p;
  p.id = ProgramId{1};
  p.name = "Test";
  p.currency = "EUR";
  p.timezone = "Europe/Berlin";
  p.negative_balance = policy;
  return p;
}

// "m<member> <account> <lot> <amount>", lot as L<id>, new<i> or "-".
std::string describe(const Entry& e) {
  std::string lot = e.lot.existing.valid() ? "L" + std::to_string(e.lot.existing.value)
                    : e.lot.new_index >= 0 ? "new" + std::to_string(e.lot.new_index)
                                           : "-";
  return "m" + std::to_string(e.member.value) + " " + to_string(e.account) + " " + lot + " " +
         std::to_string(e.amount.value);
}
std::vector<std::string> describe(const std::vector<Entry>& entries) {
  std::vector<std::string> out;
  for (const Entry& e : entries) out.push_back(describe(e));
  return out;
}

class Book {
 public:
  explicit Book(Program p) : program_(std::move(p)) {}

  const Program& program() const { return program_; }
  Program& mutable_program() { return program_; }

  MemberId add_member(MemberStatus status = MemberStatus::kActive) {
    Member m;
    m.program_id = program_.id;
    m.id = MemberId{next_member_++};
    m.external_id = "ext-" + std::to_string(m.id.value);
    m.status = status;
    members_[m.id] = m;
    balances_[m.id] = Balance{};
    return m.id;
  }
  void set_status(MemberId m, MemberStatus s) { members_.at(m).status = s; }

  MemberLedger ledger(MemberId m) const {
    MemberLedger ml;
    ml.member = members_.at(m);
    ml.balance = balances_.at(m);
    for (const auto& [id, lot] : lots_) {
      if (lot.member == m && lot.remaining.value > 0) ml.open_lots.push_back(lot);
    }
    return ml;
  }
  // The ledgers plan_reversal needs: every member of the posting, with every
  // lot the posting touched (empty ones too), as the engine loads them.
  std::map<MemberId, MemberLedger> ledgers_for(const Posting& original) const {
    std::map<MemberId, MemberLedger> out;
    for (const Entry& e : original.entries) {
      if (!out.count(e.member)) out[e.member] = ledger(e.member);
    }
    for (const Entry& e : original.entries) {
      if (!e.lot.existing.valid()) continue;
      const Lot& lot = lots_.at(e.lot.existing);
      auto& open = out[e.member].open_lots;
      bool loaded = false;
      for (const Lot& l : open) loaded = loaded || l.id == lot.id;
      if (!loaded) open.push_back(lot);
    }
    return out;
  }

  const Balance& balance(MemberId m) const { return balances_.at(m); }
  const Lot& lot(LotId id) const { return lots_.at(id); }
  Points remaining(LotId id) const { return lots_.at(id).remaining; }

  // Applies a plan as the store does; returns the stored posting.
  Posting apply(const LedgerPlan& plan_in) {
    LedgerPlan plan = plan_in;
    Status inv = check_plan_invariants(plan);
    EXPECT_TRUE(inv.ok()) << inv.message();
    // Balances: old + entries == new (next_due_at aside).
    std::map<MemberId, Balance> expected;
    for (const auto& [m, b] : plan.balances) {
      expected[m] = balances_.at(m);
      expected[m].next_due_at.reset();
    }
    for (const Entry& e : plan.posting.entries) {
      EXPECT_TRUE(expected.count(e.member)) << "entry for a member without a new balance";
      EXPECT_TRUE(apply_entry(expected[e.member], e.account, e.amount));
    }
    for (const auto& [m, b] : plan.balances) {
      Balance got = b;
      got.next_due_at.reset();
      EXPECT_EQ(got, expected[m]) << "balance of member " << m.value << " does not follow entries";
    }
    // Lots: changes == old remaining + entries on the lot.
    std::map<LotId, int64_t> lot_delta;
    for (const Entry& e : plan.posting.entries) {
      if (e.lot.existing.valid()) lot_delta[e.lot.existing] += e.amount.value;
    }
    std::set<LotId> changed;
    for (const LotChange& c : plan.lot_changes) {
      changed.insert(c.id);
      const Lot& before = lots_.at(c.id);
      EXPECT_EQ(c.remaining.value, before.remaining.value + lot_delta[c.id])
          << "lot " << c.id.value;
      EXPECT_GE(c.remaining.value, 0);
    }
    for (const auto& [id, delta] : lot_delta) {
      EXPECT_TRUE(changed.count(id)) << "entries on lot " << id.value << " without a lot change";
    }

    Posting p = plan.posting;
    p.id = PostingId{next_posting_++};
    std::vector<LotId> new_ids;
    for (size_t i = 0; i < plan.new_lots.size(); ++i) {
      const NewLot& nl = plan.new_lots[i];
      Lot l;
      l.id = LotId{next_lot_++};
      l.member = nl.member;
      l.posting = p.id;
      l.original = nl.points;
      l.pending = nl.pending;
      l.created_at = p.created_at;
      l.available_at = nl.available_at;
      l.expires_at = nl.expires_at;
      for (const Entry& e : p.entries) {
        if (e.lot.new_index == static_cast<int>(i)) l.remaining += e.amount;
      }
      EXPECT_GE(l.remaining.value, 0);
      EXPECT_LE(l.remaining.value, l.original.value);
      lots_[l.id] = l;
      new_ids.push_back(l.id);
    }
    for (Entry& e : p.entries) {
      if (e.lot.new_index >= 0)
        e.lot = LotRef{new_ids.at(static_cast<size_t>(e.lot.new_index)), -1};
    }
    for (const LotChange& c : plan.lot_changes) {
      lots_.at(c.id).remaining = c.remaining;
      lots_.at(c.id).pending = c.pending;
    }
    for (const auto& [m, b] : plan.balances) balances_[m] = b;
    // The identity and the lot cover hold after every plan.
    for (const auto& [m, b] : balances_) {
      EXPECT_EQ(b.available.value + b.pending.value,
                b.lifetime_earned.value - b.lifetime_spent.value - b.expired.value +
                    b.adjusted.value + b.transferred_net.value);
      int64_t pending_lots = 0;
      int64_t available_lots = 0;
      for (const auto& [id, l] : lots_) {
        if (l.member != m) continue;
        (l.pending ? pending_lots : available_lots) += l.remaining.value;
      }
      EXPECT_EQ(b.pending.value, pending_lots);
      EXPECT_LE(b.available.value, available_lots);  // below only by a deficit
      if (b.available.value < available_lots) {
        EXPECT_EQ(available_lots, 0) << "lots while in debt";
      }
      EXPECT_EQ(b.next_due_at, earliest_due(ledger(m).open_lots)) << "member " << m.value;
    }
    return p;
  }

  // Convenience: plan + apply, failing the test if the plan is refused.
  Posting credit(MemberId m, int64_t points, Instant now, std::optional<Instant> expires_at = {},
                 std::optional<Instant> available_at = {}) {
    CreditRequest r;
    r.points = Points{points};
    r.expires_at = expires_at;
    r.available_at = available_at;
    auto plan = plan_credit(program_, ledger(m), r, now);
    EXPECT_TRUE(plan.ok()) << plan.status().message();
    return apply(*plan);
  }
  Posting debit(MemberId m, int64_t points, Instant now) {
    DebitRequest r;
    r.points = Points{points};
    auto plan = plan_debit(program_, ledger(m), r, now);
    EXPECT_TRUE(plan.ok()) << plan.status().message();
    return apply(*plan);
  }
  Posting adjust(MemberId m, int64_t points, Instant now) {
    AdjustmentRequest r;
    r.points = Points{points};
    r.reason_code = "goodwill";
    auto plan = plan_adjustment(program_, ledger(m), r, now);
    EXPECT_TRUE(plan.ok()) << plan.status().message();
    return apply(*plan);
  }
  Posting transfer(MemberId from, MemberId to, int64_t points, Instant now) {
    TransferRequest r;
    r.points = Points{points};
    auto plan = plan_transfer(program_, ledger(from), ledger(to), r, Points{0}, now);
    EXPECT_TRUE(plan.ok()) << plan.status().message();
    return apply(*plan);
  }
  Result<LedgerPlan> plan_reverse(const Posting& original, Instant now) const {
    return plan_reversal(program_, original, ledgers_for(original), "undo", "test", now);
  }
  Posting reverse(const Posting& original, Instant now) {
    auto plan = plan_reverse(original, now);
    EXPECT_TRUE(plan.ok()) << plan.status().message();
    return apply(*plan);
  }
  // The id of the only lot a posting created for a member.
  LotId lot_of(const Posting& p, MemberId m) const {
    std::optional<LotId> found;
    for (const auto& [id, l] : lots_) {
      if (l.posting == p.id && l.member == m) {
        EXPECT_FALSE(found.has_value()) << "posting created several lots";
        found = id;
      }
    }
    EXPECT_TRUE(found.has_value());
    return found.value_or(LotId{});
  }

 private:
  Program program_;
  int64_t next_member_ = 1;
  int64_t next_posting_ = 1;
  int64_t next_lot_ = 1;
  std::map<MemberId, Member> members_;
  std::map<MemberId, Balance> balances_;
  std::map<LotId, Lot> lots_;
};

Balance balance_of(int64_t available, int64_t pending, int64_t earned, int64_t spent,
                   int64_t expired, int64_t adjusted = 0, int64_t transferred_net = 0) {
  Balance b;
  b.available = Points{available};
  b.pending = Points{pending};
  b.lifetime_earned = Points{earned};
  b.lifetime_spent = Points{spent};
  b.expired = Points{expired};
  b.adjusted = Points{adjusted};
  b.transferred_net = Points{transferred_net};
  return b;
}
Balance without_due(Balance b) {
  b.next_due_at.reset();
  return b;
}

// ---------------------------------------------------------------- credit

TEST(Credit, AddsAnAvailableLotFundedByIssuance) {
  Book book(program());
  MemberId m = book.add_member();
  CreditRequest r;
  r.points = Points{100};
  r.expires_at = day(365);
  auto plan = plan_credit(book.program(), book.ledger(m), r, kT0);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(describe(plan->posting.entries),
            (std::vector<std::string>{"m1 issuance - -100", "m1 available new0 100"}));
  ASSERT_EQ(plan->new_lots.size(), 1u);
  EXPECT_EQ(plan->new_lots[0].points, Points{100});
  EXPECT_FALSE(plan->new_lots[0].pending);
  EXPECT_EQ(plan->new_lots[0].expires_at, day(365));
  EXPECT_EQ(plan->posting.kind, PostingKind::kCredit);
  EXPECT_EQ(plan->posting.created_at, kT0);
  EXPECT_EQ(without_due(plan->balances.at(m)), balance_of(100, 0, 100, 0, 0));
  EXPECT_EQ(plan->balances.at(m).next_due_at, day(365));
  book.apply(*plan);
}

TEST(Credit, WithAvailableAtInTheFutureIsPendingUntilThen) {
  Book book(program());
  MemberId m = book.add_member();
  CreditRequest r;
  r.points = Points{40};
  r.available_at = day(14);
  r.expires_at = day(100);
  auto plan = plan_credit(book.program(), book.ledger(m), r, kT0);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(describe(plan->posting.entries),
            (std::vector<std::string>{"m1 issuance - -40", "m1 pending new0 40"}));
  EXPECT_TRUE(plan->new_lots[0].pending);
  EXPECT_EQ(plan->new_lots[0].available_at, day(14));
  EXPECT_EQ(without_due(plan->balances.at(m)), balance_of(0, 40, 40, 0, 0));
  EXPECT_EQ(plan->balances.at(m).next_due_at, day(14));
  book.apply(*plan);
}

TEST(Credit, WithAvailableAtNowOrInThePastIsAvailableAtOnce) {
  for (Instant available_at : {kT0, kT0 - Duration::from_seconds(1)}) {
    Book book(program());
    MemberId m = book.add_member();
    CreditRequest r;
    r.points = Points{40};
    r.available_at = available_at;
    auto plan = plan_credit(book.program(), book.ledger(m), r, kT0);
    ASSERT_TRUE(plan.ok());
    EXPECT_FALSE(plan->new_lots[0].pending);
    EXPECT_EQ(plan->new_lots[0].available_at, std::nullopt);
    EXPECT_EQ(without_due(plan->balances.at(m)), balance_of(40, 0, 40, 0, 0));
    EXPECT_EQ(plan->balances.at(m).next_due_at, std::nullopt);
  }
}

TEST(Credit, ExpiresAtNotInTheFutureIsRejected) {
  Book book(program());
  MemberId m = book.add_member();
  for (Instant expires_at : {kT0, kT0 - Duration::from_days(1)}) {
    CreditRequest r;
    r.points = Points{10};
    r.expires_at = expires_at;
    auto plan = plan_credit(book.program(), book.ledger(m), r, kT0);
    ASSERT_FALSE(plan.ok());
    EXPECT_EQ(plan.status().code(), ErrorCode::kInvalidRequest);
  }
}

TEST(Credit, ThatWouldExpireBeforeItVestsIsRejected) {
  Book book(program());
  MemberId m = book.add_member();
  for (Instant expires_at : {day(10), day(5)}) {
    CreditRequest r;
    r.points = Points{10};
    r.available_at = day(10);
    r.expires_at = expires_at;
    auto plan = plan_credit(book.program(), book.ledger(m), r, kT0);
    ASSERT_FALSE(plan.ok());
    EXPECT_EQ(plan.status().code(), ErrorCode::kInvalidRequest);
  }
}

TEST(Credit, OfABlockedMemberIsRefused) {
  Book book(program());
  MemberId m = book.add_member(MemberStatus::kBlocked);
  CreditRequest r;
  r.points = Points{10};
  auto plan = plan_credit(book.program(), book.ledger(m), r, kT0);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), ErrorCode::kMemberBlocked);
}

TEST(Credit, ReasonAndSourceLengthsAreLimited) {
  Book book(program());
  MemberId m = book.add_member();
  CreditRequest r;
  r.points = Points{10};
  r.reason = std::string(kMaxReasonLength, 'r');
  r.source = std::string(kMaxSourceLength, 's');
  EXPECT_TRUE(plan_credit(book.program(), book.ledger(m), r, kT0).ok());
  r.reason += "r";
  EXPECT_EQ(plan_credit(book.program(), book.ledger(m), r, kT0).status().code(),
            ErrorCode::kInvalidRequest);
  r.reason.pop_back();
  r.source += "s";
  EXPECT_EQ(plan_credit(book.program(), book.ledger(m), r, kT0).status().code(),
            ErrorCode::kInvalidRequest);
}

TEST(Credit, SettlesAnExistingDeficitFirst) {
  Book book(program(NegativeBalancePolicy::kAllow));
  MemberId m = book.add_member();
  book.adjust(m, -30, kT0);  // debt of 30, no lot
  EXPECT_EQ(without_due(book.balance(m)), balance_of(-30, 0, 0, 0, 0, -30));

  CreditRequest r;
  r.points = Points{100};
  auto plan = plan_credit(book.program(), book.ledger(m), r, day(1));
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(describe(plan->posting.entries),
            (std::vector<std::string>{"m1 issuance - -100", "m1 available new0 100",
                                      "m1 available new0 -30", "m1 available - 30"}));
  EXPECT_EQ(plan->new_lots[0].points, Points{100});
  Posting p = book.apply(*plan);
  EXPECT_EQ(book.remaining(book.lot_of(p, m)), Points{70});
  EXPECT_EQ(without_due(book.balance(m)), balance_of(70, 0, 100, 0, 0, -30));
}

TEST(Credit, ThatIsPendingLeavesTheDeficitUntilItVests) {
  Book book(program(NegativeBalancePolicy::kAllow));
  MemberId m = book.add_member();
  book.adjust(m, -30, kT0);
  Posting p = book.credit(m, 100, kT0, std::nullopt, day(2));
  EXPECT_EQ(without_due(book.balance(m)), balance_of(-30, 100, 100, 0, 0, -30));

  auto vest = plan_vesting(book.program(), book.ledger(m), day(2));
  ASSERT_TRUE(vest.has_value());
  LotId lot = book.lot_of(p, m);
  std::string l = "L" + std::to_string(lot.value);
  EXPECT_EQ(describe(vest->posting.entries),
            (std::vector<std::string>{"m1 pending " + l + " -100", "m1 available " + l + " 100",
                                      "m1 available " + l + " -30", "m1 available - 30"}));
  book.apply(*vest);
  EXPECT_EQ(book.remaining(lot), Points{70});
  EXPECT_EQ(without_due(book.balance(m)), balance_of(70, 0, 100, 0, 0, -30));
}

// ---------------------------------------------------------------- amounts

struct AmountCase {
  int64_t points;
  ErrorCode expected;  // kOk: accepted
};

class CreditAmount : public ::testing::TestWithParam<AmountCase> {};

TEST_P(CreditAmount, IsPositiveAndAtMostTheLimitPerPosting) {
  Book book(program());
  MemberId m = book.add_member();
  CreditRequest r;
  r.points = Points{GetParam().points};
  auto plan = plan_credit(book.program(), book.ledger(m), r, kT0);
  EXPECT_EQ(plan.ok() ? ErrorCode::kOk : plan.status().code(), GetParam().expected)
      << GetParam().points;
  if (plan.ok()) book.apply(*plan);
}

INSTANTIATE_TEST_SUITE_P(Table, CreditAmount,
                         ::testing::Values(AmountCase{0, ErrorCode::kInvalidRequest},
                                           AmountCase{-1, ErrorCode::kInvalidRequest},
                                           AmountCase{INT64_MIN, ErrorCode::kInvalidRequest},
                                           AmountCase{1, ErrorCode::kOk},
                                           AmountCase{kMaxPointsPerPosting, ErrorCode::kOk},
                                           AmountCase{kMaxPointsPerPosting + 1,
                                                      ErrorCode::kAmountOutOfRange},
                                           AmountCase{INT64_MAX, ErrorCode::kAmountOutOfRange}));

class DebitAmount : public ::testing::TestWithParam<AmountCase> {};

TEST_P(DebitAmount, IsPositiveAndAtMostTheLimitPerPosting) {
  Book book(program());
  MemberId m = book.add_member();
  book.credit(m, kMaxPointsPerPosting, kT0);
  book.credit(m, kMaxPointsPerPosting, kT0);
  DebitRequest r;
  r.points = Points{GetParam().points};
  auto plan = plan_debit(book.program(), book.ledger(m), r, kT0);
  EXPECT_EQ(plan.ok() ? ErrorCode::kOk : plan.status().code(), GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(Table, DebitAmount,
                         ::testing::Values(AmountCase{0, ErrorCode::kInvalidRequest},
                                           AmountCase{-5, ErrorCode::kInvalidRequest},
                                           AmountCase{kMaxPointsPerPosting, ErrorCode::kOk},
                                           AmountCase{kMaxPointsPerPosting + 1,
                                                      ErrorCode::kAmountOutOfRange}));

class AdjustmentAmount : public ::testing::TestWithParam<AmountCase> {};

TEST_P(AdjustmentAmount, IsNonZeroAndAtMostTheLimitEitherWay) {
  Book book(program(NegativeBalancePolicy::kAllow));
  MemberId m = book.add_member();
  AdjustmentRequest r;
  r.points = Points{GetParam().points};
  r.reason_code = "fix";
  auto plan = plan_adjustment(book.program(), book.ledger(m), r, kT0);
  EXPECT_EQ(plan.ok() ? ErrorCode::kOk : plan.status().code(), GetParam().expected)
      << GetParam().points;
}

INSTANTIATE_TEST_SUITE_P(
    Table, AdjustmentAmount,
    ::testing::Values(AmountCase{0, ErrorCode::kInvalidRequest},
                      AmountCase{kMaxPointsPerPosting, ErrorCode::kOk},
                      AmountCase{-kMaxPointsPerPosting, ErrorCode::kOk},
                      AmountCase{kMaxPointsPerPosting + 1, ErrorCode::kAmountOutOfRange},
                      AmountCase{-kMaxPointsPerPosting - 1, ErrorCode::kAmountOutOfRange}));

TEST(Credit, ThatWouldOverflowTheBalanceIsOutOfRange) {
  Book book(program());
  MemberId m = book.add_member();
  MemberLedger ml = book.ledger(m);
  // A balance at the edge of int64 (as if after ~9 million maximal credits).
  const int64_t near_max = INT64_MAX - 10;
  ml.balance = balance_of(near_max, 0, near_max, 0, 0);
  Lot lot;
  lot.id = LotId{77};
  lot.member = m;
  lot.original = Points{near_max};
  lot.remaining = Points{near_max};
  ml.open_lots.push_back(lot);
  CreditRequest r;
  r.points = Points{11};
  auto plan = plan_credit(book.program(), ml, r, kT0);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), ErrorCode::kAmountOutOfRange);
  r.points = Points{10};
  EXPECT_TRUE(plan_credit(book.program(), ml, r, kT0).ok());
}

// ---------------------------------------------------------------- debit

TEST(Debit, ConsumesOldestExpiryFirstAndLotsWithoutExpiryLast) {
  Book book(program());
  MemberId m = book.add_member();
  Posting never = book.credit(m, 50, kT0);                          // L1: no expiry
  Posting late = book.credit(m, 40, kT0, day(30));                  // L2
  Posting soon_a = book.credit(m, 30, kT0, day(10));                // L3
  Posting soon_b = book.credit(m, 20, kT0 + Duration{1}, day(10));  // L4: same expiry, newer
  Posting pending = book.credit(m, 500, kT0, day(60), day(5));      // L5: pending, never spent
  ASSERT_EQ(book.lot_of(soon_b, m), LotId{4});
  (void)never, (void)late, (void)soon_a, (void)pending;

  DebitRequest r;
  r.points = Points{100};
  auto plan = plan_debit(book.program(), book.ledger(m), r, day(1));
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(
      describe(plan->posting.entries),
      (std::vector<std::string>{"m1 available L3 -30", "m1 available L4 -20", "m1 available L2 -40",
                                "m1 available L1 -10", "m1 redemption - 100"}));
  EXPECT_TRUE(plan->new_lots.empty());
  book.apply(*plan);
  EXPECT_EQ(book.remaining(LotId{1}), Points{40});
  EXPECT_EQ(book.remaining(LotId{5}), Points{500});
  EXPECT_EQ(without_due(book.balance(m)), balance_of(40, 500, 640, 100, 0));
  EXPECT_EQ(book.balance(m).next_due_at, day(5));  // the pending lot vests next
}

TEST(Debit, TiesOnExpiryGoToTheOlderLotThenTheLowerId) {
  Book book(program());
  MemberId m = book.add_member();
  book.credit(m, 10, day(1), day(50));  // L1, created later
  book.credit(m, 10, kT0, day(50));     // L2, created earlier
  book.credit(m, 10, kT0, day(50));     // L3, same creation instant, higher id
  DebitRequest r;
  r.points = Points{15};
  auto plan = plan_debit(book.program(), book.ledger(m), r, day(2));
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(describe(plan->posting.entries),
            (std::vector<std::string>{"m1 available L2 -10", "m1 available L3 -5",
                                      "m1 redemption - 15"}));
}

TEST(Debit, AboveTheAvailablePointsIsInsufficientAndPlansNothing) {
  for (auto policy : {NegativeBalancePolicy::kForbid, NegativeBalancePolicy::kAllow}) {
    Book book(program(policy));
    MemberId m = book.add_member();
    book.credit(m, 60, kT0);
    book.credit(m, 1000, kT0, std::nullopt, day(3));  // pending points are not spendable
    DebitRequest r;
    r.points = Points{61};
    auto plan = plan_debit(book.program(), book.ledger(m), r, day(1));
    ASSERT_FALSE(plan.ok());
    EXPECT_EQ(plan.status().code(), ErrorCode::kInsufficientPoints);
    r.points = Points{60};
    EXPECT_TRUE(plan_debit(book.program(), book.ledger(m), r, day(1)).ok());
  }
}

TEST(Debit, OfABlockedMemberIsRefusedBeforeTheBalanceIsChecked) {
  Book book(program());
  MemberId m = book.add_member();
  book.credit(m, 60, kT0);
  book.set_status(m, MemberStatus::kBlocked);
  for (int64_t points : {10, 1000}) {
    DebitRequest r;
    r.points = Points{points};
    auto plan = plan_debit(book.program(), book.ledger(m), r, kT0);
    ASSERT_FALSE(plan.ok());
    EXPECT_EQ(plan.status().code(), ErrorCode::kMemberBlocked);
  }
}

// ---------------------------------------------------------------- adjustment

TEST(Adjustment, PositiveCreatesALotFundedByTheAdjustmentAccount) {
  Book book(program());
  MemberId m = book.add_member();
  AdjustmentRequest r;
  r.points = Points{25};
  r.reason_code = "goodwill";
  r.expires_at = day(90);
  r.actor = "key_1:alice";
  auto plan = plan_adjustment(book.program(), book.ledger(m), r, kT0);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(describe(plan->posting.entries),
            (std::vector<std::string>{"m1 adjustment - -25", "m1 available new0 25"}));
  EXPECT_EQ(plan->new_lots[0].expires_at, day(90));
  EXPECT_EQ(plan->posting.reason_code, "goodwill");
  EXPECT_EQ(plan->posting.actor, "key_1:alice");
  EXPECT_EQ(plan->posting.kind, PostingKind::kAdjustment);
  book.apply(*plan);
  EXPECT_EQ(without_due(book.balance(m)), balance_of(25, 0, 0, 0, 0, 25));
}

TEST(Adjustment, NegativeTakesLotsInConsumptionOrder) {
  Book book(program());
  MemberId m = book.add_member();
  book.credit(m, 50, kT0);          // L1
  book.credit(m, 20, kT0, day(9));  // L2
  AdjustmentRequest r;
  r.points = Points{-30};
  r.reason_code = "fraud";
  auto plan = plan_adjustment(book.program(), book.ledger(m), r, kT0);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(describe(plan->posting.entries),
            (std::vector<std::string>{"m1 available L2 -20", "m1 available L1 -10",
                                      "m1 adjustment - 30"}));
  book.apply(*plan);
  EXPECT_EQ(without_due(book.balance(m)), balance_of(40, 0, 70, 0, 0, -30));
}

TEST(Adjustment, NegativeBeyondTheBalanceIsInsufficientWhenTheProgramForbidsDebt) {
  Book book(program(NegativeBalancePolicy::kForbid));
  MemberId m = book.add_member();
  book.credit(m, 30, kT0);
  AdjustmentRequest r;
  r.points = Points{-31};
  r.reason_code = "fraud";
  auto plan = plan_adjustment(book.program(), book.ledger(m), r, kT0);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), ErrorCode::kInsufficientPoints);
}

TEST(Adjustment, NegativeBeyondTheBalanceLeavesADeficitWithoutLotWhenAllowed) {
  Book book(program(NegativeBalancePolicy::kAllow));
  MemberId m = book.add_member();
  book.credit(m, 30, kT0);  // L1
  AdjustmentRequest r;
  r.points = Points{-50};
  r.reason_code = "fraud";
  auto plan = plan_adjustment(book.program(), book.ledger(m), r, kT0);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(describe(plan->posting.entries),
            (std::vector<std::string>{"m1 available L1 -30", "m1 available - -20",
                                      "m1 adjustment - 50"}));
  book.apply(*plan);
  EXPECT_EQ(without_due(book.balance(m)), balance_of(-20, 0, 30, 0, 0, -50));
  // A further debt grows the deficit.
  book.adjust(m, -5, kT0);
  EXPECT_EQ(book.balance(m).available, Points{-25});
}

TEST(Adjustment, WorksForABlockedMember) {
  Book book(program());
  MemberId m = book.add_member(MemberStatus::kBlocked);
  book.adjust(m, 40, kT0);
  book.adjust(m, -15, kT0);
  EXPECT_EQ(without_due(book.balance(m)), balance_of(25, 0, 0, 0, 0, 25));
}

TEST(Adjustment, ExpiresAtOnlyForPositiveAmountsAndInTheFuture) {
  Book book(program());
  MemberId m = book.add_member();
  book.credit(m, 100, kT0);
  AdjustmentRequest r;
  r.reason_code = "fix";
  r.points = Points{-10};
  r.expires_at = day(5);
  EXPECT_EQ(plan_adjustment(book.program(), book.ledger(m), r, kT0).status().code(),
            ErrorCode::kInvalidRequest);
  r.points = Points{10};
  r.expires_at = kT0;
  EXPECT_EQ(plan_adjustment(book.program(), book.ledger(m), r, kT0).status().code(),
            ErrorCode::kInvalidRequest);
}

struct ReasonCodeCase {
  std::string code;
  bool valid;
};

class AdjustmentReasonCode : public ::testing::TestWithParam<ReasonCodeCase> {};

TEST_P(AdjustmentReasonCode, IsOneTo64CharactersOfLowerCaseDigitsAndPunctuation) {
  Book book(program());
  MemberId m = book.add_member();
  AdjustmentRequest r;
  r.points = Points{5};
  r.reason_code = GetParam().code;
  auto plan = plan_adjustment(book.program(), book.ledger(m), r, kT0);
  EXPECT_EQ(plan.ok(), GetParam().valid) << "'" << GetParam().code << "'";
  if (!plan.ok()) {
    EXPECT_EQ(plan.status().code(), ErrorCode::kInvalidRequest);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, AdjustmentReasonCode,
    ::testing::Values(ReasonCodeCase{"goodwill", true}, ReasonCodeCase{"fix_2024-01.a", true},
                      ReasonCodeCase{"0", true}, ReasonCodeCase{std::string(64, 'a'), true},
                      ReasonCodeCase{std::string(65, 'a'), false}, ReasonCodeCase{"", false},
                      ReasonCodeCase{"Goodwill", false}, ReasonCodeCase{"good will", false},
                      ReasonCodeCase{"good/will", false}, ReasonCodeCase{"güt", false}));

// ---------------------------------------------------------------- transfer

struct Pair {
  Book book;
  MemberId from;
  MemberId to;
};
Pair funded_pair(TransferPolicy policy, int64_t points = 1000) {
  Program p = program();
  p.transfers = policy;
  Pair pair{Book(p), MemberId{}, MemberId{}};
  pair.from = pair.book.add_member();
  pair.to = pair.book.add_member();
  pair.book.credit(pair.from, points, kT0);
  return pair;
}

ErrorCode transfer_code(Pair& pair, int64_t points, int64_t sent_last_24h = 0) {
  TransferRequest r;
  r.points = Points{points};
  auto plan = plan_transfer(pair.book.program(), pair.book.ledger(pair.from),
                            pair.book.ledger(pair.to), r, Points{sent_last_24h}, kT0);
  if (plan.ok()) pair.book.apply(*plan);
  return plan.ok() ? ErrorCode::kOk : plan.status().code();
}

TEST(Transfer, ToOneselfIsRefused) {
  Pair pair = funded_pair(TransferPolicy{});
  TransferRequest r;
  r.points = Points{10};
  auto plan = plan_transfer(pair.book.program(), pair.book.ledger(pair.from),
                            pair.book.ledger(pair.from), r, Points{0}, kT0);
  EXPECT_EQ(plan.status().code(), ErrorCode::kTransferToSelf);
}

TEST(Transfer, IsRefusedWhenTheProgramDisablesTransfers) {
  Pair pair = funded_pair(TransferPolicy{.enabled = false});
  EXPECT_EQ(transfer_code(pair, 10), ErrorCode::kTransfersDisabled);
}

TEST(Transfer, FromOrToABlockedMemberIsRefused) {
  Pair pair = funded_pair(TransferPolicy{});
  pair.book.set_status(pair.to, MemberStatus::kBlocked);
  EXPECT_EQ(transfer_code(pair, 10), ErrorCode::kMemberBlocked);
  pair.book.set_status(pair.to, MemberStatus::kActive);
  pair.book.set_status(pair.from, MemberStatus::kBlocked);
  EXPECT_EQ(transfer_code(pair, 10), ErrorCode::kMemberBlocked);
}

struct LimitCase {
  int64_t points;
  int64_t sent_last_24h;
  ErrorCode expected;
};

class TransferLimits : public ::testing::TestWithParam<LimitCase> {};

TEST_P(TransferLimits, BoundEachTransferAndTheSendersDay) {
  // min 10, max 300 per transfer, 500 per 24 h; the sender holds 1000.
  Pair pair = funded_pair(TransferPolicy{true, 10, 300, 500});
  EXPECT_EQ(transfer_code(pair, GetParam().points, GetParam().sent_last_24h), GetParam().expected)
      << GetParam().points << " after " << GetParam().sent_last_24h;
}

INSTANTIATE_TEST_SUITE_P(Table, TransferLimits,
                         ::testing::Values(LimitCase{9, 0, ErrorCode::kTransferLimitExceeded},
                                           LimitCase{10, 0, ErrorCode::kOk},
                                           LimitCase{300, 0, ErrorCode::kOk},
                                           LimitCase{301, 0, ErrorCode::kTransferLimitExceeded},
                                           LimitCase{300, 200, ErrorCode::kOk},
                                           LimitCase{300, 201, ErrorCode::kTransferLimitExceeded},
                                           LimitCase{10, 491, ErrorCode::kTransferLimitExceeded},
                                           LimitCase{0, 0, ErrorCode::kInvalidRequest},
                                           LimitCase{-10, 0, ErrorCode::kInvalidRequest}));

TEST(Transfer, AboveTheSendersAvailablePointsIsInsufficient) {
  Pair pair = funded_pair(TransferPolicy{}, 100);
  EXPECT_EQ(transfer_code(pair, 101), ErrorCode::kInsufficientPoints);
  EXPECT_EQ(transfer_code(pair, 100), ErrorCode::kOk);
  EXPECT_EQ(without_due(pair.book.balance(pair.from)), balance_of(0, 0, 100, 0, 0, 0, -100));
  EXPECT_EQ(without_due(pair.book.balance(pair.to)), balance_of(100, 0, 0, 0, 0, 0, 100));
}

TEST(Transfer, ReceiverLotsKeepTheExpiryOfTheSendersLotsOnePerDistinctExpiry) {
  Book book(program());
  MemberId from = book.add_member();
  MemberId to = book.add_member();
  book.credit(from, 30, kT0, day(10));  // L1
  book.credit(from, 20, kT0, day(10));  // L2: same expiry as L1
  book.credit(from, 50, kT0);           // L3: never expires
  book.credit(from, 40, kT0, day(20));  // L4
  TransferRequest r;
  r.points = Points{100};
  auto plan =
      plan_transfer(book.program(), book.ledger(from), book.ledger(to), r, Points{0}, day(1));
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  std::map<std::optional<Instant>, int64_t> received;
  for (const NewLot& nl : plan->new_lots) {
    EXPECT_EQ(nl.member, to);
    EXPECT_FALSE(nl.pending);
    EXPECT_EQ(received.count(nl.expires_at), 0u) << "two lots with one expiry";
    received[nl.expires_at] += nl.points.value;
  }
  EXPECT_EQ(received, (std::map<std::optional<Instant>, int64_t>{
                          {std::nullopt, 10}, {day(10), 50}, {day(20), 40}}));
  Posting p = book.apply(*plan);
  EXPECT_EQ(p.counterparty, to);
  EXPECT_EQ(without_due(book.balance(from)), balance_of(40, 0, 140, 0, 0, 0, -100));
  EXPECT_EQ(without_due(book.balance(to)), balance_of(100, 0, 0, 0, 0, 0, 100));
  EXPECT_EQ(book.balance(to).next_due_at, day(10));
  EXPECT_EQ(book.remaining(LotId{3}), Points{40});
}

TEST(Transfer, ToAMemberInDebtSettlesTheDebtWithTheSoonestExpiringPointsFirst) {
  Book book(program(NegativeBalancePolicy::kAllow));
  MemberId from = book.add_member();
  MemberId to = book.add_member();
  book.credit(from, 30, kT0, day(10));  // L1
  book.credit(from, 50, kT0);           // L2: never expires
  book.adjust(to, -40, kT0);            // the receiver owes 40
  book.transfer(from, to, 80, day(1));
  EXPECT_EQ(without_due(book.balance(to)), balance_of(40, 0, 0, 0, 0, -40, 80));
  // The debt is paid like a debit: with the 30 points that expire on day 10
  // first, then 10 of those that never expire; the receiver keeps 40 that never expire.
  MemberLedger ml = book.ledger(to);
  ASSERT_EQ(ml.open_lots.size(), 1u);
  EXPECT_EQ(ml.open_lots[0].expires_at, std::nullopt);
  EXPECT_EQ(ml.open_lots[0].remaining, Points{40});
  EXPECT_EQ(book.balance(to).next_due_at, std::nullopt);
}

// ---------------------------------------------------------------- reversal

TEST(Reversal, OfAnUnspentCreditEmptiesItsLotAndUndoesTheIssuance) {
  Book book(program());
  MemberId m = book.add_member();
  Posting credit = book.credit(m, 100, kT0, day(30));
  LotId lot = book.lot_of(credit, m);
  auto plan = book.plan_reverse(credit, day(1));
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  std::string l = "L" + std::to_string(lot.value);
  EXPECT_EQ(describe(plan->posting.entries),
            (std::vector<std::string>{"m1 available " + l + " -100", "m1 issuance - 100"}));
  EXPECT_EQ(plan->posting.kind, PostingKind::kReversal);
  EXPECT_EQ(plan->posting.reverses, credit.id);
  book.apply(*plan);
  EXPECT_EQ(book.remaining(lot), Points{0});
  EXPECT_EQ(book.balance(m), balance_of(0, 0, 0, 0, 0));
}

TEST(Reversal, OfAPartlySpentCreditTakesTheRestFromOtherLots) {
  Book book(program());
  MemberId m = book.add_member();
  Posting credit = book.credit(m, 100, kT0, day(30));  // L1
  book.credit(m, 80, kT0);                             // L2
  book.debit(m, 60, kT0);                              // L1 -> 40
  book.reverse(credit, day(1));
  EXPECT_EQ(book.remaining(LotId{1}), Points{0});
  EXPECT_EQ(book.remaining(LotId{2}), Points{20});
  EXPECT_EQ(without_due(book.balance(m)), balance_of(20, 0, 80, 60, 0));
}

TEST(Reversal, OfASpentCreditIsInsufficientWhenTheProgramForbidsDebt) {
  Book book(program(NegativeBalancePolicy::kForbid));
  MemberId m = book.add_member();
  Posting credit = book.credit(m, 100, kT0);
  book.debit(m, 60, kT0);
  auto plan = book.plan_reverse(credit, day(1));
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), ErrorCode::kInsufficientPoints);
}

TEST(Reversal, OfASpentCreditLeavesADeficitWhenTheProgramAllowsDebt) {
  Book book(program(NegativeBalancePolicy::kAllow));
  MemberId m = book.add_member();
  Posting credit = book.credit(m, 100, kT0);
  book.debit(m, 60, kT0);
  auto plan = book.plan_reverse(credit, day(1));
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(
      describe(plan->posting.entries),
      (std::vector<std::string>{"m1 available L1 -40", "m1 available - -60", "m1 issuance - 100"}));
  book.apply(*plan);
  EXPECT_EQ(without_due(book.balance(m)), balance_of(-60, 0, 0, 60, 0));
}

TEST(Reversal, OfADebitReturnsThePointsToTheVeryLotsConsumed) {
  Book book(program());
  MemberId m = book.add_member();
  book.credit(m, 30, kT0, day(10));        // L1
  book.credit(m, 50, kT0);                 // L2
  book.credit(m, 40, kT0, day(20));        // L3
  Posting debit = book.debit(m, 80, kT0);  // L1 -30, L3 -40, L2 -10
  auto plan = book.plan_reverse(debit, day(1));
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  std::vector<std::string> entries = describe(plan->posting.entries);
  EXPECT_EQ(std::multiset<std::string>(entries.begin(), entries.end()),
            (std::multiset<std::string>{"m1 available L1 30", "m1 available L2 10",
                                        "m1 available L3 40", "m1 redemption - -80"}));
  book.apply(*plan);
  EXPECT_EQ(book.remaining(LotId{1}), Points{30});
  EXPECT_EQ(book.remaining(LotId{2}), Points{50});
  EXPECT_EQ(book.remaining(LotId{3}), Points{40});
  EXPECT_EQ(without_due(book.balance(m)), balance_of(120, 0, 120, 0, 0));
  EXPECT_EQ(book.balance(m).next_due_at, day(10));
}

TEST(Reversal, OfATransferGivesTheSenderItsLotsBackAndEmptiesTheReceivers) {
  Book book(program());
  MemberId from = book.add_member();
  MemberId to = book.add_member();
  book.credit(from, 30, kT0, day(10));  // L1
  book.credit(from, 50, kT0);           // L2
  Posting transfer = book.transfer(from, to, 60, kT0);
  book.reverse(transfer, day(1));
  EXPECT_EQ(book.remaining(LotId{1}), Points{30});
  EXPECT_EQ(book.remaining(LotId{2}), Points{50});
  EXPECT_EQ(book.ledger(to).open_lots.size(), 0u);
  EXPECT_EQ(without_due(book.balance(from)), balance_of(80, 0, 80, 0, 0));
  EXPECT_EQ(book.balance(to), balance_of(0, 0, 0, 0, 0));
}

TEST(Reversal, OfATransferWhoseReceiverSpentThePointsIsInsufficientUnderForbid) {
  Book book(program());
  MemberId from = book.add_member();
  MemberId to = book.add_member();
  book.credit(from, 100, kT0);
  Posting transfer = book.transfer(from, to, 60, kT0);
  book.debit(to, 30, kT0);
  auto plan = book.plan_reverse(transfer, day(1));
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), ErrorCode::kInsufficientPoints);
}

TEST(Reversal, OfAPendingCreditBeforeItVestsEmptiesThePendingLot) {
  Book book(program());
  MemberId m = book.add_member();
  Posting credit = book.credit(m, 100, kT0, std::nullopt, day(7));
  auto plan = book.plan_reverse(credit, day(1));
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(describe(plan->posting.entries),
            (std::vector<std::string>{"m1 pending L1 -100", "m1 issuance - 100"}));
  book.apply(*plan);
  EXPECT_EQ(book.balance(m), balance_of(0, 0, 0, 0, 0));
  EXPECT_EQ(plan_vesting(book.program(), book.ledger(m), day(8)), std::nullopt);
}

TEST(Reversal, OfAPendingCreditAfterItVestedTakesTheAvailablePoints) {
  Book book(program());
  MemberId m = book.add_member();
  Posting credit = book.credit(m, 100, kT0, std::nullopt, day(7));
  book.apply(*plan_vesting(book.program(), book.ledger(m), day(7)));
  auto plan = book.plan_reverse(credit, day(8));
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(describe(plan->posting.entries),
            (std::vector<std::string>{"m1 available L1 -100", "m1 issuance - 100"}));
  book.apply(*plan);
  EXPECT_EQ(book.balance(m), balance_of(0, 0, 0, 0, 0));
}

TEST(Reversal, OfANegativeAdjustmentIntoDebtRepaysTheDebtAndRestoresTheLots) {
  Book book(program(NegativeBalancePolicy::kAllow));
  MemberId m = book.add_member();
  book.credit(m, 30, kT0, day(10));        // L1
  Posting adj = book.adjust(m, -50, kT0);  // L1 -30, debt 20
  book.reverse(adj, day(1));
  EXPECT_EQ(book.remaining(LotId{1}), Points{30});
  EXPECT_EQ(without_due(book.balance(m)), balance_of(30, 0, 30, 0, 0));
}

TEST(Reversal, OfAPositiveAdjustmentRemovesItsLot) {
  Book book(program());
  MemberId m = book.add_member();
  Posting adj = book.adjust(m, 25, kT0);
  book.reverse(adj, day(1));
  EXPECT_EQ(book.balance(m), balance_of(0, 0, 0, 0, 0));
}

TEST(Reversal, OfReversalsVestingsAndExpiriesIsRefused) {
  Book book(program());
  MemberId m = book.add_member();
  Posting credit = book.credit(m, 100, kT0, day(5), day(2));
  Posting vesting = book.apply(*plan_vesting(book.program(), book.ledger(m), day(2)));
  Posting expiry = book.apply(*plan_expiry(book.program(), book.ledger(m), day(5)));
  Posting credit2 = book.credit(m, 10, day(5));
  Posting reversal = book.reverse(credit2, day(5));
  for (const Posting* p : {&vesting, &expiry, &reversal}) {
    auto plan = book.plan_reverse(*p, day(6));
    ASSERT_FALSE(plan.ok()) << to_string(p->kind);
    EXPECT_EQ(plan.status().code(), ErrorCode::kNotReversible) << to_string(p->kind);
  }
  (void)credit;
}

// ---------------------------------------------------------------- vesting and expiry

TEST(Vesting, MovesEveryDuePendingLotToAvailableAndNothingElse) {
  Book book(program());
  MemberId m = book.add_member();
  book.credit(m, 100, kT0, std::nullopt, day(3));  // L1
  book.credit(m, 50, kT0, day(30), day(5));        // L2
  book.credit(m, 70, kT0, std::nullopt, day(9));   // L3
  EXPECT_EQ(plan_vesting(book.program(), book.ledger(m), day(3) - Duration{1}), std::nullopt);
  auto plan = plan_vesting(book.program(), book.ledger(m), day(5));
  ASSERT_TRUE(plan.has_value());
  EXPECT_EQ(describe(plan->posting.entries),
            (std::vector<std::string>{"m1 pending L1 -100", "m1 available L1 100",
                                      "m1 pending L2 -50", "m1 available L2 50"}));
  EXPECT_EQ(plan->posting.kind, PostingKind::kVesting);
  EXPECT_EQ(plan->posting.actor, "system");
  ASSERT_EQ(plan->lot_changes.size(), 2u);
  for (const LotChange& c : plan->lot_changes) EXPECT_FALSE(c.pending);
  EXPECT_EQ(without_due(plan->balances.at(m)), balance_of(150, 70, 220, 0, 0));
  EXPECT_EQ(plan->balances.at(m).next_due_at, day(9));
  book.apply(*plan);
}

TEST(Vesting, SettlesADeficitWithTheLotThatVestsFirst) {
  Book book(program(NegativeBalancePolicy::kAllow));
  MemberId m = book.add_member();
  book.adjust(m, -30, kT0);
  book.credit(m, 100, kT0, std::nullopt, day(4));  // L1: vests later
  book.credit(m, 100, kT0, std::nullopt, day(2));  // L2: vests first
  // Whether the job runs on day 2 and day 4 or once on day 5, the debt is paid
  // by the lot that became available first.
  book.apply(*plan_vesting(book.program(), book.ledger(m), day(5)));
  EXPECT_EQ(book.remaining(LotId{1}), Points{100});
  EXPECT_EQ(book.remaining(LotId{2}), Points{70});
  EXPECT_EQ(without_due(book.balance(m)), balance_of(170, 0, 200, 0, 0, -30));
}

TEST(Expiry, ExpiresEveryDueAvailableLotAndNothingElse) {
  Book book(program());
  MemberId m = book.add_member();
  book.credit(m, 100, kT0, day(10));          // L1
  book.credit(m, 50, kT0, day(12));           // L2
  book.credit(m, 70, kT0, day(40));           // L3
  book.credit(m, 20, kT0);                    // L4: never
  book.credit(m, 90, kT0, day(11), day(10));  // L5: pending, vests day 10, expires day 11
  book.debit(m, 30, kT0);                     // L1 -> 70
  EXPECT_EQ(plan_expiry(book.program(), book.ledger(m), day(10) - Duration{1}), std::nullopt);
  auto plan = plan_expiry(book.program(), book.ledger(m), day(12));
  ASSERT_TRUE(plan.has_value());
  // L5 is still pending (nobody vested it): it is not expired by this plan.
  EXPECT_EQ(
      describe(plan->posting.entries),
      (std::vector<std::string>{"m1 available L1 -70", "m1 available L2 -50", "m1 expiry - 120"}));
  EXPECT_EQ(plan->posting.kind, PostingKind::kExpiry);
  EXPECT_EQ(without_due(plan->balances.at(m)), balance_of(90, 90, 330, 30, 120));
  EXPECT_EQ(plan->balances.at(m).next_due_at, day(10));
  book.apply(*plan);
  EXPECT_EQ(book.remaining(LotId{3}), Points{70});
}

TEST(Expiry, OfAFullySpentLotIsNothing) {
  Book book(program());
  MemberId m = book.add_member();
  book.credit(m, 100, kT0, day(10));
  book.debit(m, 100, kT0);
  EXPECT_EQ(plan_expiry(book.program(), book.ledger(m), day(11)), std::nullopt);
  EXPECT_EQ(book.balance(m).next_due_at, std::nullopt);
}

// ---------------------------------------------------------------- invariants

TEST(PlanInvariants, RejectUnbalancedPostings) {
  Book book(program());
  MemberId m = book.add_member();
  CreditRequest r;
  r.points = Points{10};
  auto plan = plan_credit(book.program(), book.ledger(m), r, kT0);
  ASSERT_TRUE(plan.ok());
  ASSERT_TRUE(check_plan_invariants(*plan).ok());
  LedgerPlan broken = *plan;
  broken.posting.entries[0].amount = Points{-9};
  EXPECT_EQ(check_plan_invariants(broken).code(), ErrorCode::kInternal);
}

TEST(PlanInvariants, RejectABrokenBalanceIdentity) {
  Book book(program());
  MemberId m = book.add_member();
  CreditRequest r;
  r.points = Points{10};
  auto plan = plan_credit(book.program(), book.ledger(m), r, kT0);
  ASSERT_TRUE(plan.ok());
  LedgerPlan broken = *plan;
  broken.balances.at(m).available = Points{11};
  EXPECT_EQ(check_plan_invariants(broken).code(), ErrorCode::kInternal);
}

TEST(PlanInvariants, RejectAContraEntryWithALotAndAnEmptyPosting) {
  Book book(program());
  MemberId m = book.add_member();
  CreditRequest r;
  r.points = Points{10};
  auto plan = plan_credit(book.program(), book.ledger(m), r, kT0);
  ASSERT_TRUE(plan.ok());
  LedgerPlan broken = *plan;
  broken.posting.entries[0].lot = LotRef{LotId{}, 0};
  EXPECT_EQ(check_plan_invariants(broken).code(), ErrorCode::kInternal);
  broken = *plan;
  broken.posting.entries.clear();
  EXPECT_EQ(check_plan_invariants(broken).code(), ErrorCode::kInternal);
}

TEST(Accounts, NamesRoundTrip) {
  for (int i = 1; i <= 7; ++i) {
    auto a = static_cast<Account>(i);
    EXPECT_EQ(parse_account(to_string(a)), a);
  }
  for (int i = 0; i <= 6; ++i) {
    auto k = static_cast<PostingKind>(i);
    EXPECT_EQ(parse_posting_kind(to_string(k)), k);
  }
  EXPECT_EQ(parse_account("cash"), std::nullopt);
  EXPECT_EQ(parse_posting_kind("refund"), std::nullopt);
}

}  // namespace
}  // namespace loyalty
