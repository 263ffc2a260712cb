// Redemptions racing on both stores (docs/rewards.md, "Redemption"): 64
// parallel redemptions through two engines on one database — two nodes on
// PostgreSQL, two writers of one file on SQLite — for the last 10 units of a
// reward's stock, and for a member's last points. Exactly the units and the
// points there are are taken; every other attempt fails with the precise
// error; `verify` holds afterwards.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/reward_commands.h"
#include "store/engine_scenario.h"

namespace loyalty {
namespace {

using store::testing::Backend;
using store::testing::must;

// A ticket with 10 units left; a $1 coupon with no stock limit.
constexpr const char* kRaceConfig = R"(
rewards:
  - {id: ticket, name: Ticket, type: experience, cost: 50, stock: 10}
  - {id: one-off, name: "$1 off", type: fixed_discount, cost: 100, amount: "1.00"}
)";

class RedemptionRace : public store::testing::EngineScenario {
 protected:
  void SetUp() override { start("Race", "USD", "UTC", kRaceConfig, /*nodes=*/2); }

  MemberId enroll_with(const std::string& external_id, int64_t points) {
    const MemberId id = enroll(external_id);
    engine::Credit c;
    c.program_id = program_;
    c.member_id = id;
    c.request.points = Points{points};
    c.request.reason = "test";
    c.request.actor = "test";
    ok<Posting>(c);
    return id;
  }

  struct Tally {
    std::atomic<int> redeemed{0};
    std::atomic<int> out_of_stock{0};
    std::atomic<int> insufficient{0};
    std::atomic<int> other{0};
  };
  // 64 redemptions at once, alternating between the two nodes; `member_of(i)`
  // picks the member of attempt i.
  template <typename MemberOf>
  void race(const std::string& reward, MemberOf member_of, Tally& tally) {
    constexpr int kAttempts = 64;
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < kAttempts; ++i) {
      threads.emplace_back([&, i] {
        while (!go.load()) std::this_thread::yield();
        engine::Redeem r;
        r.program_id = program_;
        r.member_id = member_of(i);
        r.reward_id = reward;
        r.actor = "test";
        engine::Outcome out = run(r, i % 2);
        if (out.status.ok()) {
          ++tally.redeemed;
        } else if (out.status.code() == ErrorCode::kOutOfStock) {
          ++tally.out_of_stock;
        } else if (out.status.code() == ErrorCode::kInsufficientPoints) {
          ++tally.insufficient;
        } else {
          ++tally.other;
          ADD_FAILURE() << out.status.message();
        }
      });
    }
    go.store(true);
    for (auto& t : threads) t.join();
  }
  int64_t available(MemberId m) { return must(reader_->get_balance(program_, m)).available.value; }
  int64_t redeemed_events() {
    int64_t n = 0;
    for (const auto& e : must(reader_->list_outbox_events(program_, {}, 1000))) {
      n += e.type == "reward.redeemed" ? 1 : 0;
    }
    return n;
  }
};

TEST_P(RedemptionRace, SixtyFourRedemptionsOfTheLastTenUnitsSellExactlyTen) {
  // 16 members with points for many tickets: only the stock limits.
  std::vector<MemberId> members;
  for (int i = 0; i < 16; ++i) members.push_back(enroll_with("m" + std::to_string(i), 1000));
  Tally tally;
  race(
      "ticket", [&](int i) { return members[i % members.size()]; }, tally);
  EXPECT_EQ(tally.redeemed.load(), 10);
  EXPECT_EQ(tally.out_of_stock.load(), 54);
  EXPECT_EQ(tally.other.load(), 0);
  int64_t spent = 0;
  for (MemberId m : members) spent += 1000 - available(m);
  EXPECT_EQ(spent, 10 * 50);  // points left only the members who got a unit
  EXPECT_EQ(redeemed_events(), 10);
}

TEST_P(RedemptionRace, SixtyFourRedemptionsOfAMembersLastPointsSpendThemOnce) {
  const MemberId m = enroll_with("last", 550);  // five coupons of 100, 50 left over
  Tally tally;
  race(
      "one-off", [&](int) { return m; }, tally);
  EXPECT_EQ(tally.redeemed.load(), 5);
  EXPECT_EQ(tally.insufficient.load(), 59);
  EXPECT_EQ(tally.other.load(), 0);
  EXPECT_EQ(available(m), 50);
  EXPECT_EQ(redeemed_events(), 5);
}

INSTANTIATE_TEST_SUITE_P(Stores, RedemptionRace,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const auto& info) { return store::testing::backend_name(info.param); });

}  // namespace
}  // namespace loyalty
