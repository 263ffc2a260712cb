// The randomized simulation of spending (issue 5's tests): on both stores,
// each seed drives the real engine over a ManualClock through a random
// sequence of credits, debits, redemptions (a reward with stock and a coupon
// reward), cancellations of redemptions (twice, after their coupon was used),
// coupon consumption (again by the same order, by another order, after
// cancellation), checkout holds, captures (all, part, more than held, after
// expiry), releases, gifts of points and of coupons (to oneself too), their
// claims (by the giver, twice, after the claim window), cancellations and the
// gifts job, clock jumps of minutes and of hours, and the holds job.
//
// A small reference model predicts every step's outcome (success or the
// exact error code) from the rules in docs/rewards.md and docs/checkout.md:
// available, held and lifetime-spent points per member, the reward's stock,
// each hold's, redemption's and gift's state. After every step every member's balance
// and the stock are read back and compared; every kVerifyEvery steps and at
// the end `loyaltyd verify`'s checks must find nothing.
//
// Environment: LOYALTY_SPEND_SIM_SEEDS (default 40 on SQLite, 6 on
// PostgreSQL), LOYALTY_SPEND_SIM_STEPS (default 250), LOYALTY_SPEND_SIM_SEED=<n>
// runs seed n only. A failure prints the seed and the steps so far.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cli/verify.h"
#include "engine/gift_commands.h"
#include "engine/reward_commands.h"
#include "store/engine_scenario.h"
#include "store/rewards_store.h"

namespace loyalty {
namespace {

using store::testing::Backend;
using store::testing::must;

constexpr int kMembers = 5;
constexpr int kVerifyEvery = 50;
constexpr int64_t kTicketCost = 150;
constexpr int64_t kTicketStock = 6;
constexpr int64_t kCouponCost = 500;
constexpr int64_t kHoldMinutes = 30;
constexpr int64_t kOrderTotalMinor = 100'000;  // 1000.00 EUR: the 50% share never binds

// No expiry (lots never expire, so a cancellation gives back exactly what was
// taken); 100 points pay 1.00 EUR at checkout, at least 200 points.
constexpr const char* kConfig = R"(
expiry:
  mode: none
checkout:
  points: 100
  amount: "1.00"
  min_points: 200
  max_order_share_percent: 50
  hold_minutes: 30
rewards:
  - {id: ticket, name: Ticket, type: experience, cost: 150, stock: 6}
  - {id: five-off, name: "5 off", type: fixed_discount, cost: 500, amount: "5.00"}
gifting:
  claim_days: 1
  claim_on_enrollment: false
)";

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

// ------------------------------------------------------------------ the model

struct MMember {
  MemberId id;
  int64_t available = 0;
  int64_t held = 0;
  int64_t spent = 0;
};

enum class MHoldState { kOpen, kCaptured, kReleased, kExpired };

struct MHold {
  HoldId id;
  int member = 0;
  int64_t points = 0;
  Instant expires_at;
  MHoldState state = MHoldState::kOpen;
};

struct MRedemption {
  store::RedemptionId id;
  int member = 0;
  int64_t points = 0;
  bool ticket = false;
  bool cancelled = false;
  std::string code;         // the coupon's code, "" when the reward issues none
  std::string consumed;     // the order that used the coupon, "" while unused
  bool gifted = false;      // its coupon is on its way to a friend (a pending gift)
  bool given_away = false;  // a friend claimed the coupon (code = the friend's)
};

enum class MGiftState { kPending, kClaimed, kReturned, kCancelled };

struct MGift {
  store::GiftId id;
  std::string token;
  int giver = 0;
  int64_t points = 0;   // a gift of points
  int redemption = -1;  // a gift of a coupon: index into Model::redemptions
  Instant expires_at;
  MGiftState state = MGiftState::kPending;
};

struct Model {
  std::vector<MMember> members;
  std::vector<MHold> holds;
  std::vector<MRedemption> redemptions;
  std::vector<MGift> gifts;
  int64_t tickets_taken = 0;
};

// ------------------------------------------------------------------ the run

class SpendingSimulation : public store::testing::EngineScenario {
 protected:
  void run_seed(uint64_t seed, int steps) {
    rng_.seed(seed);
    log_.clear();
    model_ = Model{};
    // A program of its own per seed (its own stock); the clock only moves on.
    engine::CreateProgram create;
    create.program.name = "Spending " + std::to_string(seed);
    create.program.currency = "EUR";
    create.program.timezone = "UTC";
    program_ = ok<engine::ProgramCreated>(create).program.id;
    engine::PutConfig put;
    put.program_id = program_;
    put.document = kConfig;
    put.actor = "sim";
    ok<store::StoredConfig>(put);
    for (int i = 0; i < kMembers; ++i) {
      MMember m;
      m.id = enroll(member_name(seed, i));
      model_.members.push_back(m);
    }
    seed_ = seed;
    for (int step = 0; step < steps && !HasFailure(); ++step) {
      one_step(step);
      compare_all();
      if (step % kVerifyEvery == kVerifyEvery - 1) verify();
    }
    // Every hold still open expires now, so the next seed's job counts only
    // its own.
    clock_.advance(Duration::from_seconds((kHoldMinutes + 1) * 60));
    holds_job();
    compare_all();
    verify();
    if (HasFailure()) {
      std::ostringstream out;
      for (const auto& line : log_) out << "  " << line << "\n";
      ADD_FAILURE() << "seed " << seed << " (replay: LOYALTY_SPEND_SIM_SEED=" << seed
                    << "), steps:\n"
                    << out.str();
    }
  }

 private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  int64_t between(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }

  // The step's expected error (kOk for success) against what the engine did.
  bool expect(const engine::Outcome& out, ErrorCode want, const std::string& what) {
    const ErrorCode got = out.status.ok() ? ErrorCode::kOk : out.status.code();
    log_.push_back(what + " -> " + (out.status.ok() ? "ok" : out.status.message()));
    ++tally_[what.substr(0, what.find(' ')) + " " + std::string(error_code_name(got))];
    EXPECT_EQ(got, want) << what << ": " << out.status.message();
    return got == want && got == ErrorCode::kOk;
  }

  void one_step(int step) {
    const int r = pick(120);
    if (r < 14) {
      credit();
    } else if (r < 20) {
      debit();
    } else if (r < 34) {
      redeem(pick(2) == 0);
    } else if (r < 42) {
      cancel();
    } else if (r < 50) {
      consume(step);
    } else if (r < 66) {
      hold();
    } else if (r < 76) {
      capture();
    } else if (r < 83) {
      release();
    } else if (r < 93) {
      const int64_t minutes = between(1, 15);
      clock_.advance(Duration::from_seconds(minutes * 60));
      log_.push_back("clock +" + std::to_string(minutes) + " min");
    } else if (r < 100) {
      holds_job();
    } else if (r < 106) {
      gift(pick(3) == 0);
    } else if (r < 112) {
      claim();
    } else if (r < 115) {
      cancel_gift();
    } else if (r < 117) {
      const int64_t hours = between(2, 20);
      clock_.advance(Duration::from_seconds(hours * 3600));
      log_.push_back("clock +" + std::to_string(hours) + " h");
    } else {
      gifts_job();
    }
  }

  // Mostly an open hold (when there is one), else any: settled ones too.
  MHold& pick_hold() {
    std::vector<int> open;
    for (int i = 0; i < static_cast<int>(model_.holds.size()); ++i) {
      if (model_.holds[i].state == MHoldState::kOpen) open.push_back(i);
    }
    if (!open.empty() && pick(4) != 0)
      return model_.holds[open[pick(static_cast<int>(open.size()))]];
    return model_.holds[pick(static_cast<int>(model_.holds.size()))];
  }

  void credit() {
    const int m = pick(kMembers);
    engine::Credit c;
    c.program_id = program_;
    c.member_id = model_.members[m].id;
    c.request.points = Points{between(1, 20) * 100};
    c.request.reason = "sim";
    c.request.actor = "sim";
    if (expect(run(c), ErrorCode::kOk,
               "credit m" + std::to_string(m) + " " + std::to_string(c.request.points.value))) {
      model_.members[m].available += c.request.points.value;
    }
  }

  void debit() {
    const int m = pick(kMembers);
    MMember& mm = model_.members[m];
    engine::Debit d;
    d.program_id = program_;
    d.member_id = mm.id;
    d.request.points = Points{between(1, 1500)};
    d.request.reason = "sim";
    d.request.actor = "sim";
    const int64_t points = d.request.points.value;
    const ErrorCode want = points > mm.available ? ErrorCode::kInsufficientPoints : ErrorCode::kOk;
    if (expect(run(d), want, "debit m" + std::to_string(m) + " " + std::to_string(points))) {
      mm.available -= points;
      mm.spent += points;
    }
  }

  void redeem(bool ticket) {
    const int m = pick(kMembers);
    MMember& mm = model_.members[m];
    const int64_t cost = ticket ? kTicketCost : kCouponCost;
    engine::Redeem c;
    c.program_id = program_;
    c.member_id = mm.id;
    c.reward_id = ticket ? "ticket" : "five-off";
    c.actor = "sim";
    const bool poor = mm.available < cost;
    const bool sold_out = ticket && model_.tickets_taken >= kTicketStock;
    engine::Outcome out = run(c);
    const std::string what = "redeem m" + std::to_string(m) + " " + c.reward_id;
    if (poor && sold_out) {
      // Both reasons hold; the engine may name either. Nothing changes.
      log_.push_back(what + " -> " + out.status.message());
      EXPECT_TRUE(out.status.code() == ErrorCode::kInsufficientPoints ||
                  out.status.code() == ErrorCode::kOutOfStock)
          << what << ": " << out.status.message();
      return;
    }
    const ErrorCode want = poor       ? ErrorCode::kInsufficientPoints
                           : sold_out ? ErrorCode::kOutOfStock
                                      : ErrorCode::kOk;
    if (!expect(out, want, what)) return;
    const auto& result = std::get<engine::RedemptionResult>(out.value);
    EXPECT_EQ(result.redemption.points, cost);
    mm.available -= cost;
    mm.spent += cost;
    if (ticket) ++model_.tickets_taken;
    MRedemption red;
    red.id = result.redemption.id;
    red.member = m;
    red.points = cost;
    red.ticket = ticket;
    red.code = result.code;
    // The coupon reward always issues a code, shown once.
    if (!ticket) {
      EXPECT_FALSE(red.code.empty()) << what;
    }
    model_.redemptions.push_back(red);
  }

  void cancel() {
    if (model_.redemptions.empty()) return;
    MRedemption& red = model_.redemptions[pick(static_cast<int>(model_.redemptions.size()))];
    MMember& mm = model_.members[red.member];
    engine::CancelRedemption c;
    c.program_id = program_;
    c.member_id = mm.id;
    c.redemption_id = red.id;
    c.reason = "sim";
    c.actor = "sim";
    const ErrorCode want = red.cancelled || !red.consumed.empty() || red.gifted || red.given_away
                               ? ErrorCode::kNotCancellable
                               : ErrorCode::kOk;
    if (!expect(run(c), want, "cancel redemption " + std::to_string(red.id.value))) return;
    red.cancelled = true;
    mm.available += red.points;
    mm.spent -= red.points;
    if (red.ticket) --model_.tickets_taken;
  }

  void consume(int step) {
    std::vector<int> with_code;
    for (int i = 0; i < static_cast<int>(model_.redemptions.size()); ++i) {
      if (!model_.redemptions[i].code.empty()) with_code.push_back(i);
    }
    if (with_code.empty()) return;
    MRedemption& red = model_.redemptions[with_code[pick(static_cast<int>(with_code.size()))]];
    // Half the time the order that used it already (a replay), if any.
    const std::string order =
        !red.consumed.empty() && pick(2) == 0 ? red.consumed : "order-" + std::to_string(step);
    engine::ConsumeCoupon c;
    c.program_id = program_;
    c.code = red.code;
    c.order_ref = order;
    const bool usable =
        !red.cancelled && !red.gifted && (red.consumed.empty() || red.consumed == order);
    const ErrorCode want = usable ? ErrorCode::kOk : ErrorCode::kCouponNotUsable;
    engine::Outcome out = run(c);
    if (!expect(out, want, "consume redemption " + std::to_string(red.id.value) + " " + order)) {
      return;
    }
    EXPECT_EQ(std::get<engine::CouponUse>(out.value).replayed, !red.consumed.empty());
    red.consumed = order;
  }

  void hold() {
    const int m = pick(kMembers);
    MMember& mm = model_.members[m];
    engine::HoldPoints c;
    c.program_id = program_;
    c.member_id = mm.id;
    c.points = Points{between(1, 12) * 100};
    c.order_total_minor = kOrderTotalMinor;
    c.currency = "EUR";
    c.actor = "sim";
    const int64_t points = c.points.value;
    const ErrorCode want = points < 200            ? ErrorCode::kCheckoutLimit
                           : points > mm.available ? ErrorCode::kInsufficientPoints
                                                   : ErrorCode::kOk;
    engine::Outcome out = run(c);
    if (!expect(out, want, "hold m" + std::to_string(m) + " " + std::to_string(points))) return;
    const auto& result = std::get<engine::HoldResult>(out.value);
    mm.available -= points;
    mm.held += points;
    MHold h;
    h.id = result.hold.id;
    h.member = m;
    h.points = points;
    h.expires_at = clock_.now() + Duration::from_seconds(kHoldMinutes * 60);
    EXPECT_EQ(result.hold.expires_at, h.expires_at);
    model_.holds.push_back(h);
  }

  void capture() {
    if (model_.holds.empty()) return;
    MHold& h = pick_hold();
    MMember& mm = model_.members[h.member];
    engine::CaptureHold c;
    c.program_id = program_;
    c.hold_id = h.id;
    // All (0), part, or more than held.
    const int kind = pick(3);
    c.points = Points{kind == 0   ? 0
                      : kind == 1 ? between(1, h.points)
                                  : h.points + between(1, 300)};
    c.actor = "sim";
    const int64_t points = c.points.value == 0 ? h.points : c.points.value;
    const bool open = h.state == MHoldState::kOpen && h.expires_at > clock_.now();
    const ErrorCode want = !open               ? ErrorCode::kHoldNotOpen
                           : points > h.points ? ErrorCode::kCaptureExceedsHold
                                               : ErrorCode::kOk;
    if (!expect(
            run(c), want,
            "capture hold " + std::to_string(h.id.value) + " " + std::to_string(c.points.value))) {
      return;
    }
    h.state = MHoldState::kCaptured;
    mm.held -= h.points;
    mm.available += h.points - points;
    mm.spent += points;
  }

  void release() {
    if (model_.holds.empty()) return;
    MHold& h = pick_hold();
    engine::ReleaseHold c;
    c.program_id = program_;
    c.hold_id = h.id;
    c.actor = "sim";
    // A hold past its expiry the job has not reached yet can still be released.
    const ErrorCode want = h.state == MHoldState::kOpen ? ErrorCode::kOk : ErrorCode::kHoldNotOpen;
    if (!expect(run(c), want, "release hold " + std::to_string(h.id.value))) return;
    h.state = MHoldState::kReleased;
    model_.members[h.member].held -= h.points;
    model_.members[h.member].available += h.points;
  }

  void holds_job() {
    int due = 0;
    for (MHold& h : model_.holds) {
      if (h.state != MHoldState::kOpen || h.expires_at > clock_.now()) continue;
      ++due;
      h.state = MHoldState::kExpired;
      model_.members[h.member].held -= h.points;
      model_.members[h.member].available += h.points;
    }
    engine::Outcome out = run(engine::ReleaseExpiredHolds{200});
    if (!expect(out, ErrorCode::kOk, "holds job (" + std::to_string(due) + " due)")) return;
    EXPECT_EQ(std::get<engine::ReleaseExpiredResult>(out.value).released, due);
  }

  static std::string member_name(uint64_t seed, int i) {
    return "seed" + std::to_string(seed) + "-m" + std::to_string(i);
  }
  std::string email_of(int m) const { return member_name(seed_, m) + "@example.com"; }

  // A gift of points, or of a coupon (a redemption with a code), to another
  // member's email or (sometimes) the giver's own.
  void gift(bool coupon) {
    const int m = pick(kMembers);
    MMember& mm = model_.members[m];
    const int to = pick(6) == 0 ? m : (m + 1 + pick(kMembers - 1)) % kMembers;
    engine::SendGift c;
    c.program_id = program_;
    c.giver_id = mm.id;
    c.recipient_email = email_of(to);
    c.actor = "sim";
    std::string what = "gift m" + std::to_string(m) + "->m" + std::to_string(to);
    ErrorCode want = ErrorCode::kOk;
    int red_index = -1;
    if (coupon) {
      std::vector<int> mine;
      for (int i = 0; i < static_cast<int>(model_.redemptions.size()); ++i) {
        if (model_.redemptions[i].member == m && !model_.redemptions[i].code.empty()) {
          mine.push_back(i);
        }
      }
      if (mine.empty()) return;
      red_index = mine[pick(static_cast<int>(mine.size()))];
      const MRedemption& red = model_.redemptions[red_index];
      c.redemption_id = red.id;
      what += " redemption " + std::to_string(red.id.value);
      const bool giftable =
          !red.cancelled && red.consumed.empty() && !red.gifted && !red.given_away;
      want = to == m     ? ErrorCode::kGiftToSelf
             : !giftable ? ErrorCode::kGiftNotAllowed
                         : ErrorCode::kOk;
    } else {
      c.points = Points{between(1, 15) * 100};
      what += " " + std::to_string(c.points.value);
      want = to == m                         ? ErrorCode::kGiftToSelf
             : c.points.value > mm.available ? ErrorCode::kInsufficientPoints
                                             : ErrorCode::kOk;
    }
    engine::Outcome out = run(c);
    if (!expect(out, want, what)) return;
    const auto& result = std::get<engine::GiftResult>(out.value);
    MGift g;
    g.id = result.gift.id;
    g.token = result.token;
    g.giver = m;
    g.points = c.points.value;
    g.redemption = red_index;
    g.expires_at = clock_.now() + Duration::from_days(1);
    EXPECT_EQ(result.gift.expires_at, g.expires_at);
    if (coupon) {
      model_.redemptions[red_index].gifted = true;
    } else {
      mm.available -= g.points;
      mm.held += g.points;
    }
    model_.gifts.push_back(g);
  }

  void claim() {
    if (model_.gifts.empty()) return;
    MGift& g = model_.gifts[pick(static_cast<int>(model_.gifts.size()))];
    const int by = pick(kMembers);
    engine::ClaimGift c{program_, g.token, model_.members[by].id, "sim"};
    const ErrorCode want = g.state != MGiftState::kPending || g.expires_at <= clock_.now()
                               ? ErrorCode::kGiftNotClaimable
                           : by == g.giver ? ErrorCode::kGiftToSelf
                                           : ErrorCode::kOk;
    engine::Outcome out = run(c);
    if (!expect(out, want,
                "claim gift " + std::to_string(g.id.value) + " by m" + std::to_string(by))) {
      return;
    }
    g.state = MGiftState::kClaimed;
    if (g.redemption >= 0) {
      MRedemption& red = model_.redemptions[g.redemption];
      const auto& result = std::get<engine::GiftResult>(out.value);
      EXPECT_FALSE(result.coupon_code.empty());
      EXPECT_NE(result.coupon_code, red.code);
      red.code = result.coupon_code;
      red.gifted = false;
      red.given_away = true;
    } else {
      model_.members[g.giver].held -= g.points;
      model_.members[by].available += g.points;
    }
  }

  void give_back(MGift& g, MGiftState state) {
    g.state = state;
    if (g.redemption >= 0) {
      model_.redemptions[g.redemption].gifted = false;
    } else {
      model_.members[g.giver].held -= g.points;
      model_.members[g.giver].available += g.points;
    }
  }

  void cancel_gift() {
    if (model_.gifts.empty()) return;
    MGift& g = model_.gifts[pick(static_cast<int>(model_.gifts.size()))];
    // A pending gift past its window the job has not reached yet is still
    // cancellable.
    const ErrorCode want =
        g.state == MGiftState::kPending ? ErrorCode::kOk : ErrorCode::kGiftNotClaimable;
    if (!expect(run(engine::CancelGift{program_, g.id, "sim"}), want,
                "cancel gift " + std::to_string(g.id.value))) {
      return;
    }
    give_back(g, MGiftState::kCancelled);
  }

  void gifts_job() {
    int due = 0;
    for (MGift& g : model_.gifts) {
      if (g.state != MGiftState::kPending || g.expires_at > clock_.now()) continue;
      ++due;
      give_back(g, MGiftState::kReturned);
    }
    engine::RunProgramJob job;
    job.program_id = program_;
    job.job = engine::ProgramJob::kGifts;
    engine::Outcome out = run(job);
    if (!expect(out, ErrorCode::kOk, "gifts job (" + std::to_string(due) + " due)")) return;
    EXPECT_EQ(std::get<engine::JobStepResult>(out.value).items, due);
  }

  void compare_all() {
    for (int m = 0; m < kMembers; ++m) {
      const MMember& mm = model_.members[m];
      const Balance b = must(reader_->get_balance(program_, mm.id));
      EXPECT_EQ(b.available.value, mm.available) << "m" << m << " available";
      EXPECT_EQ(b.held.value, mm.held) << "m" << m << " held";
      EXPECT_EQ(b.lifetime_spent.value, mm.spent) << "m" << m << " lifetime_spent";
      EXPECT_EQ(b.pending.value, 0) << "m" << m << " pending";
    }
    store::RewardStore rewards(*reader_);
    auto taken = must(rewards.stock_taken(program_));
    const int64_t tickets = taken.count("ticket") != 0 ? taken.at("ticket") : 0;
    EXPECT_EQ(tickets, model_.tickets_taken) << "ticket stock taken";
  }

  void verify() {
    auto report = must(cli::verify_store(*reader_));
    EXPECT_TRUE(report.problems.empty()) << cli::format_report(report);
  }

  std::mt19937_64 rng_;
  std::map<std::string, int> tally_;  // "step outcome" -> count, printed at the end

 protected:
  void print_tally() const {
    std::string line = "outcomes:";
    for (const auto& [k, n] : tally_) line += " [" + k + "] " + std::to_string(n);
    std::printf("%s\n", line.c_str());
  }

 private:
  Model model_;
  uint64_t seed_ = 0;
  std::vector<std::string> log_;
};

TEST_P(SpendingSimulation, EngineMatchesTheModelOnRandomRedemptionsAndHolds) {
  clock_.set(store::testing::at("2026-03-01T10:00:00Z"));
  start("Spending", "EUR", "UTC", kConfig);
  if (IsSkipped()) return;
  const bool pg = GetParam() == Backend::kPostgres;
  const int seeds = env_int("LOYALTY_SPEND_SIM_SEEDS", pg ? 6 : 40);
  const int steps = env_int("LOYALTY_SPEND_SIM_STEPS", 250);
  const int only = env_int("LOYALTY_SPEND_SIM_SEED", -1);
  const int first = only >= 0 ? only : 1;
  const int last = only >= 0 ? only : seeds;
  for (int seed = first; seed <= last && !HasFailure(); ++seed) {
    run_seed(static_cast<uint64_t>(seed), steps);
  }
  print_tally();
}

INSTANTIATE_TEST_SUITE_P(Stores, SpendingSimulation,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& info) { return store::testing::backend_name(info.param); });

}  // namespace
}  // namespace loyalty
