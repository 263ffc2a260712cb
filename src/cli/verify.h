// `loyaltyd verify`: proves the ledger invariants over a whole store.
//
// Recomputes, from the append-only postings and entries alone, every member's
// balances and every lot's remaining points, and compares them with the
// materialized values; checks that every posting's entries sum to zero, that no
// lot is negative or above its original, that no balance is negative where the
// program forbids it, and that no lot due to vest or expire is hidden from the
// scheduler (next_due_at not later than the earliest due lot), and that every
// member's held points equal their open checkout holds, whose lots add up;
// and that every gift card's balance and held amount equal its transactions
// replayed, its open holds, and what it was given less what was captured.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "store/store.h"

namespace loyalty::cli {

struct VerifyReport {
  int64_t programs = 0;
  int64_t members = 0;
  int64_t postings = 0;
  int64_t entries = 0;
  int64_t lots = 0;
  int64_t holds = 0;  // checkout holds (their points and lots are checked too)
  int64_t gift_cards = 0;
  int64_t gifts = 0;                  // pending gifts of points (held like checkout holds)
  std::vector<std::string> problems;  // empty = every invariant holds
  bool truncated = false;             // more problems than kMaxReportedProblems
};

inline constexpr size_t kMaxReportedProblems = 1000;

Result<VerifyReport> verify_store(store::StoreSession& session);
std::string format_report(const VerifyReport& report);

}  // namespace loyalty::cli
