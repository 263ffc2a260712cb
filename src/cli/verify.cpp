#include "cli/verify.h"

#include <map>
#include <unordered_map>

#include "domain/ledger.h"
#include "store/gift_cards_store.h"
#include "store/gifts_store.h"

namespace loyalty::cli {
namespace {

struct Key {
  int64_t program;
  int64_t id;
  friend auto operator<=>(const Key&, const Key&) = default;
};

struct LotState {
  int64_t member = 0;
  int64_t original = 0;
  int64_t remaining = 0;
  bool pending = false;
  std::optional<int64_t> available_at;
  std::optional<int64_t> expires_at;
  int64_t from_entries = 0;
  int64_t pending_entries = 0;  // entries on the pending account
};

struct MemberState {
  Balance stored;
  bool has_stored = false;
  Balance computed;
  bool exists = false;
  int64_t lots_available = 0;
  int64_t lots_pending = 0;
  int64_t deficit = 0;     // available entries with no lot
  int64_t open_holds = 0;  // points of the member's open holds (table holds)
  std::optional<int64_t> earliest_due;
};

// Gift cards (docs/gift-cards.md): each card's balance and held amount
// recomputed from its append-only transactions equal the stored ones; held
// equals its open holds; what it was given equals balance + held + captured -
// refunded (captured money an order's refund gave back).
template <typename Problem>
Status verify_gift_cards(store::SqlConnection& db, VerifyReport& report, Problem& problem) {
  struct Card {
    std::string status;
    int64_t initial = 0;
    int64_t balance = 0;
    int64_t held = 0;
    int64_t open_holds = 0;
    int64_t captured = 0;
    int64_t refunded = 0;
    int64_t replayed_balance = 0;
    int64_t replayed_held = 0;
  };
  std::map<Key, Card> cards;
  LOYALTY_RETURN_IF_ERROR(db.query(
      "SELECT program_id, id, status, initial_minor, balance_minor, held_minor FROM gift_cards", {},
      [&](const store::Row& r) {
        Card& c = cards[Key{r.get_int(0), r.get_int(1)}];
        c.status = std::string(r.get_text(2));
        c.initial = r.get_int(3);
        c.balance = r.get_int(4);
        c.held = r.get_int(5);
        ++report.gift_cards;
      }));
  LOYALTY_RETURN_IF_ERROR(db.query(
      "SELECT program_id, gift_card_id, status, amount_minor, captured_minor, refunded_minor "
      "FROM gift_card_holds",
      {}, [&](const store::Row& r) {
        Card& c = cards[Key{r.get_int(0), r.get_int(1)}];
        if (r.get_text(2) == "open") c.open_holds += r.get_int(3);
        if (r.get_int(4) < 0 || r.get_int(4) > r.get_int(3)) {
          problem("gift card hold of " + format_id(store::GiftCardId{r.get_int(1)}) + " captured " +
                  std::to_string(r.get_int(4)) + " of " + std::to_string(r.get_int(3)));
        }
        if (r.get_int(5) < 0 || r.get_int(5) > r.get_int(4)) {
          problem("gift card hold of " + format_id(store::GiftCardId{r.get_int(1)}) + " refunded " +
                  std::to_string(r.get_int(5)) + " of " + std::to_string(r.get_int(4)) +
                  " captured");
        }
        c.captured += r.get_int(4);
        c.refunded += r.get_int(5);
      }));
  LOYALTY_RETURN_IF_ERROR(db.query(
      "SELECT program_id, gift_card_id, kind, amount_minor, balance_after_minor, "
      "held_after_minor, id FROM gift_card_transactions ORDER BY id",
      {}, [&](const store::Row& r) {
        Card& c = cards[Key{r.get_int(0), r.get_int(1)}];
        const std::string_view kind = r.get_text(2);
        const int64_t amount = r.get_int(3);
        if (kind == "issue" || kind == "activate" || kind == "refund") {
          c.replayed_balance += amount;
        } else if (kind == "disable" || kind == "enable") {
          if (amount != 0)
            problem(format_id(store::GiftCardId{r.get_int(1)}) + ": a " + std::string(kind) +
                    " line moves money");
        } else if (kind == "hold") {  // negative: balance -> held
          c.replayed_balance += amount;
          c.replayed_held -= amount;
        } else if (kind == "capture") {
          c.replayed_held -= amount;
        } else if (kind == "release" || kind == "expire") {
          c.replayed_held -= amount;
          c.replayed_balance += amount;
        } else {
          problem(format_id(store::GiftCardId{r.get_int(1)}) + ": unknown transaction kind '" +
                  std::string(kind) + "'");
        }
        // A card's lines are written under its row lock: in id order.
        if (r.get_int(4) != c.replayed_balance || r.get_int(5) != c.replayed_held) {
          problem(format_id(store::GiftCardTransactionId{r.get_int(6)}) + ": says " +
                  std::to_string(r.get_int(4)) + " / " + std::to_string(r.get_int(5)) +
                  " after it, the lines before it give " + std::to_string(c.replayed_balance) +
                  " / " + std::to_string(c.replayed_held));
        }
      }));
  for (const auto& [key, c] : cards) {
    const std::string name = format_id(store::GiftCardId{key.id});
    if (c.status.empty()) {
      problem(name + ": holds or transactions of a card that does not exist");
      continue;
    }
    if (c.balance < 0 || c.held < 0) problem(name + ": a negative balance or held amount");
    if (c.balance != c.replayed_balance || c.held != c.replayed_held) {
      problem(name + ": balance " + std::to_string(c.balance) + " / held " +
              std::to_string(c.held) + " differ from its transactions " +
              std::to_string(c.replayed_balance) + " / " + std::to_string(c.replayed_held));
    }
    if (c.held != c.open_holds) {
      problem(name + ": held " + std::to_string(c.held) + " differs from its open holds " +
              std::to_string(c.open_holds));
    }
    if (c.initial != c.balance + c.held + c.captured - c.refunded) {
      problem(name + ": was given " + std::to_string(c.initial) + " but balance + held + " +
              "captured - refunded is " +
              std::to_string(c.balance + c.held + c.captured - c.refunded));
    }
  }
  return {};
}

}  // namespace

Result<VerifyReport> verify_store(store::StoreSession& s) {
  VerifyReport report;
  auto problem = [&](std::string p) {
    if (report.problems.size() < kMaxReportedProblems) {
      report.problems.push_back(std::move(p));
    } else {
      report.truncated = true;
    }
  };
  store::SqlConnection& db = s.connection();
  LOYALTY_RETURN_IF_ERROR(s.begin_read());
  // A single read transaction: on SQLite a WAL snapshot, on PostgreSQL make it
  // a repeatable-read snapshot so a running server's writes do not skew sums.
  if (s.dialect() == store::Dialect::kPostgres) {
    LOYALTY_RETURN_IF_ERROR(db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"));
  }
  std::map<int64_t, bool> forbid_negative;  // program -> forbids
  LOYALTY_RETURN_IF_ERROR(
      db.query("SELECT id, negative_balance FROM programs", {}, [&](const store::Row& r) {
        forbid_negative[r.get_int(0)] = r.get_text(1) != "allow";
        ++report.programs;
      }));
  std::map<Key, MemberState> members;
  LOYALTY_RETURN_IF_ERROR(
      db.query("SELECT program_id, id FROM members", {}, [&](const store::Row& r) {
        members[Key{r.get_int(0), r.get_int(1)}].exists = true;
        ++report.members;
      }));
  LOYALTY_RETURN_IF_ERROR(
      db.query("SELECT program_id, member_id, available, pending, lifetime_earned, lifetime_spent, "
               "expired, adjusted, transferred_net, next_due_at, rolling_expires_at, held FROM "
               "balances",
               {}, [&](const store::Row& r) {
                 MemberState& m = members[Key{r.get_int(0), r.get_int(1)}];
                 m.has_stored = true;
                 m.stored.available = Points{r.get_int(2)};
                 m.stored.pending = Points{r.get_int(3)};
                 m.stored.lifetime_earned = Points{r.get_int(4)};
                 m.stored.lifetime_spent = Points{r.get_int(5)};
                 m.stored.expired = Points{r.get_int(6)};
                 m.stored.adjusted = Points{r.get_int(7)};
                 m.stored.transferred_net = Points{r.get_int(8)};
                 if (!r.is_null(9)) m.stored.next_due_at = Instant{r.get_int(9)};
                 if (!r.is_null(10)) m.stored.rolling_expires_at = Instant{r.get_int(10)};
                 m.stored.held = Points{r.get_int(11)};
               }));
  // Checkout holds: the held account must equal the open holds, and each
  // hold's lots must add up to it (docs/checkout.md).
  std::map<Key, int64_t> hold_points;  // (program, hold) -> points
  LOYALTY_RETURN_IF_ERROR(
      db.query("SELECT program_id, id, member_id, status, points, captured, refunded FROM holds",
               {}, [&](const store::Row& r) {
                 Key hold{r.get_int(0), r.get_int(1)};
                 std::string name = format_id(HoldId{hold.id});
                 int64_t points = r.get_int(4);
                 int64_t captured = r.get_int(5);
                 int64_t refunded = r.get_int(6);
                 hold_points[hold] = points;
                 ++report.holds;
                 if (r.get_text(3) == "open")
                   members[Key{hold.program, r.get_int(2)}].open_holds += points;
                 if (captured < 0 || captured > points || refunded < 0 || refunded > captured) {
                   problem(name + ": captured " + std::to_string(captured) + " / refunded " +
                           std::to_string(refunded) + " outside 0.." + std::to_string(points));
                 }
               }));
  std::map<Key, int64_t> hold_lot_sums;
  LOYALTY_RETURN_IF_ERROR(
      db.query("SELECT program_id, hold_id, held, captured, refunded FROM hold_lots", {},
               [&](const store::Row& r) {
                 Key hold{r.get_int(0), r.get_int(1)};
                 hold_lot_sums[hold] += r.get_int(2);
                 if (r.get_int(3) < 0 || r.get_int(3) > r.get_int(2) || r.get_int(4) < 0 ||
                     r.get_int(4) > r.get_int(3)) {
                   problem(format_id(HoldId{hold.id}) +
                           ": a lot's captured or refunded points exceed "
                           "what it held");
                 }
               }));
  for (const auto& [hold, points] : hold_points) {
    if (hold_lot_sums[hold] != points) {
      problem(format_id(HoldId{hold.id}) + ": holds " + std::to_string(points) +
              " points but its lots hold " + std::to_string(hold_lot_sums[hold]));
    }
  }
  // Gifts of points on their way sit in the giver's held account too, and
  // what each took from the giver's lots adds up to its points (docs/gifting.md).
  LOYALTY_RETURN_IF_ERROR(
      db.query("SELECT program_id, id, giver_id, points, lots FROM gifts "
               "WHERE kind = 'points' AND status = 'pending'",
               {}, [&](const store::Row& r) {
                 const std::string name = format_id(store::GiftId{r.get_int(1)});
                 members[Key{r.get_int(0), r.get_int(2)}].open_holds += r.get_int(3);
                 ++report.gifts;
                 auto lots = store::decode_gift_lots(r.get_text(4));
                 int64_t sum = 0;
                 if (lots) {
                   for (const store::GiftLot& l : *lots) sum += l.points.value;
                 }
                 if (!lots || sum != r.get_int(3)) {
                   problem(name + ": holds " + std::to_string(r.get_int(3)) +
                           " points but its lots hold " + std::to_string(sum));
                 }
               }));
  LOYALTY_RETURN_IF_ERROR(verify_gift_cards(db, report, problem));
  std::unordered_map<int64_t, LotState> lots;  // lot ids are unique store-wide
  std::map<Key, int64_t> lot_program;
  LOYALTY_RETURN_IF_ERROR(db.query(
      "SELECT program_id, id, member_id, original, remaining, pending, available_at, expires_at "
      "FROM lots",
      {}, [&](const store::Row& r) {
        LotState& l = lots[r.get_int(1)];
        l.member = r.get_int(2);
        l.original = r.get_int(3);
        l.remaining = r.get_int(4);
        l.pending = r.get_int(5) != 0;
        l.available_at = r.get_optional_int(6);
        l.expires_at = r.get_optional_int(7);
        lot_program[Key{r.get_int(0), r.get_int(1)}] = r.get_int(2);
        ++report.lots;
      }));
  // Entries, grouped by posting, in one pass.
  std::map<Key, int64_t> posting_sums;
  std::map<Key, int64_t> posting_entry_counts;
  Status entry_status;
  LOYALTY_RETURN_IF_ERROR(
      db.query("SELECT program_id, member_id, posting_id, account, lot_id, amount FROM entries", {},
               [&](const store::Row& r) {
                 ++report.entries;
                 Key posting{r.get_int(0), r.get_int(2)};
                 int64_t amount = r.get_int(5);
                 posting_sums[posting] += amount;
                 posting_entry_counts[posting] += 1;
                 auto account = static_cast<Account>(r.get_int(3));
                 MemberState& m = members[Key{r.get_int(0), r.get_int(1)}];
                 if (!apply_entry(m.computed, account, Points{amount})) {
                   problem(format_id(MemberId{r.get_int(1)}) + ": balance overflow");
                 }
                 if (is_member_balance_account(account)) {
                   if (r.is_null(4)) {
                     if (account == Account::kPending) {
                       problem(format_id(PostingId{posting.id}) + ": pending entry without a lot");
                     }
                     m.deficit += amount;
                   } else {
                     auto it = lots.find(r.get_int(4));
                     if (it == lots.end() || it->second.member != r.get_int(1)) {
                       problem(format_id(PostingId{posting.id}) + ": entry on unknown lot " +
                               format_id(LotId{r.get_int(4)}));
                     } else {
                       it->second.from_entries += amount;
                       if (account == Account::kPending) it->second.pending_entries += amount;
                     }
                   }
                 } else if (!r.is_null(4)) {
                   problem(format_id(PostingId{posting.id}) + ": contra entry with a lot");
                 }
               }));
  LOYALTY_RETURN_IF_ERROR(
      db.query("SELECT program_id, id FROM postings", {}, [&](const store::Row& r) {
        ++report.postings;
        Key k{r.get_int(0), r.get_int(1)};
        if (posting_entry_counts.find(k) == posting_entry_counts.end()) {
          problem(format_id(PostingId{k.id}) + " has no entries");
        }
      }));
  (void)s.rollback();

  for (const auto& [k, sum] : posting_sums) {
    if (sum != 0) {
      problem(format_id(PostingId{k.id}) + " (" + format_id(ProgramId{k.program}) +
              "): entries sum to " + std::to_string(sum) + ", not 0");
    }
  }
  for (const auto& [k, member_id] : lot_program) {
    const LotState& l = lots.at(k.id);
    std::string name = format_id(LotId{k.id}) + " (" + format_id(MemberId{member_id}) + ")";
    if (l.remaining != l.from_entries) {
      problem(name + ": remaining " + std::to_string(l.remaining) + " but entries sum to " +
              std::to_string(l.from_entries));
    }
    if (l.remaining < 0 || l.remaining > l.original) {
      problem(name + ": remaining " + std::to_string(l.remaining) + " outside 0.." +
              std::to_string(l.original));
    }
    if (l.pending && l.pending_entries != l.from_entries) {
      problem(name + ": pending lot holds points on the available account");
    }
    if (!l.pending && l.pending_entries != 0) {
      problem(name + ": available lot still holds pending points");
    }
    MemberState& m = members[Key{k.program, member_id}];
    if (l.pending) {
      m.lots_pending += l.remaining;
    } else {
      m.lots_available += l.remaining;
    }
    if (l.remaining > 0) {
      auto consider = [&](std::optional<int64_t> t) {
        if (t && (!m.earliest_due || *t < *m.earliest_due)) m.earliest_due = t;
      };
      if (l.pending) consider(l.available_at);
      consider(l.expires_at);
    }
  }
  for (auto& [k, m] : members) {
    std::string name = format_id(MemberId{k.id}) + " (" + format_id(ProgramId{k.program}) + ")";
    if (!m.exists) {
      problem(name + ": ledger rows for a member that does not exist");
      continue;
    }
    const Balance& stored = m.stored;
    const Balance& computed = m.computed;
    // Field by field: next_due_at is not a sum of entries (checked below).
    bool same = stored.available == computed.available && stored.pending == computed.pending &&
                stored.lifetime_earned == computed.lifetime_earned &&
                stored.lifetime_spent == computed.lifetime_spent &&
                stored.expired == computed.expired && stored.adjusted == computed.adjusted &&
                stored.transferred_net == computed.transferred_net && stored.held == computed.held;
    if (!same) {
      problem(name + ": stored balance (available " + std::to_string(stored.available.value) +
              ", pending " + std::to_string(stored.pending.value) + ", earned " +
              std::to_string(stored.lifetime_earned.value) + ", spent " +
              std::to_string(stored.lifetime_spent.value) + ", expired " +
              std::to_string(stored.expired.value) + ", held " + std::to_string(stored.held.value) +
              ") differs from the postings (available " + std::to_string(computed.available.value) +
              ", pending " + std::to_string(computed.pending.value) + ", earned " +
              std::to_string(computed.lifetime_earned.value) + ", spent " +
              std::to_string(computed.lifetime_spent.value) + ", expired " +
              std::to_string(computed.expired.value) + ", held " +
              std::to_string(computed.held.value) + ")");
    }
    if (computed.held.value != m.open_holds) {
      problem(name + ": held " + std::to_string(computed.held.value) +
              " differs from its open holds and pending gifts " + std::to_string(m.open_holds));
    }
    if (computed.available.value != m.lots_available + m.deficit) {
      problem(name + ": available " + std::to_string(computed.available.value) +
              " differs from its lots " + std::to_string(m.lots_available) + " plus debt " +
              std::to_string(m.deficit));
    }
    if (computed.pending.value != m.lots_pending) {
      problem(name + ": pending " + std::to_string(computed.pending.value) +
              " differs from its pending lots " + std::to_string(m.lots_pending));
    }
    if (m.deficit > 0) problem(name + ": debt entries sum above zero");
    if (m.deficit < 0 && m.lots_available > 0) {
      problem(name + ": holds available lots while in debt");
    }
    bool forbids = forbid_negative.count(k.program) ? forbid_negative[k.program] : true;
    if (forbids && (computed.available.value < 0 || m.deficit < 0)) {
      problem(name + ": negative available balance " + std::to_string(computed.available.value) +
              " in a program that forbids it");
    }
    if (computed.pending.value < 0) problem(name + ": negative pending balance");
    // Rolling expiry makes every available point due when it passes.
    if (m.stored.rolling_expires_at && m.lots_available > 0 &&
        (!m.earliest_due || m.stored.rolling_expires_at->micros_since_epoch < *m.earliest_due)) {
      m.earliest_due = m.stored.rolling_expires_at->micros_since_epoch;
    }
    if (m.earliest_due &&
        (!m.stored.next_due_at || m.stored.next_due_at->micros_since_epoch > *m.earliest_due)) {
      problem(name + ": a lot is due at " + format_rfc3339(Instant{*m.earliest_due}) +
              " but the scheduler would only look at " +
              (m.stored.next_due_at ? format_rfc3339(*m.stored.next_due_at) : "never"));
    }
  }
  return report;
}

std::string format_report(const VerifyReport& r) {
  std::string out = "loyaltyd verify: " + std::to_string(r.programs) + " programs, " +
                    std::to_string(r.members) + " members, " + std::to_string(r.postings) +
                    " postings, " + std::to_string(r.entries) + " entries, " +
                    std::to_string(r.lots) + " lots, " + std::to_string(r.holds) + " holds, " +
                    std::to_string(r.gift_cards) + " gift cards, " + std::to_string(r.gifts) +
                    " gifts on their way\n";
  if (r.problems.empty()) {
    out +=
        "OK: every posting sums to zero; balances and lots equal the postings; no forbidden "
        "negative balance.\n";
    return out;
  }
  out += "FAILED: " + std::to_string(r.problems.size()) + (r.truncated ? "+" : "") + " problems\n";
  for (const auto& p : r.problems) out += "  - " + p + "\n";
  return out;
}

}  // namespace loyalty::cli
