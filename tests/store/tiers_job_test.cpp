// The tier job on both stores (docs/tiers.md, "The period-end job"): at the
// period end in the program's time zone every member with a tier is decided
// once (renewed, kept under a guarantee, downgraded), in batches; a run killed
// between batches resumes at its cursor; lapsed manual tiers are stored. The
// real engine and scheduler over a ManualClock; the members' metric buckets
// and tier states are seeded through the store (the order path that fills
// them is tested in tests/api/tiers_test.cpp).
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "jobs/scheduler.h"
#include "store/engine_scenario.h"

namespace loyalty {
namespace {

using store::testing::Backend;
using store::testing::must;

using store::testing::at;

// Spend per calendar year in New York, a year of grace (a tier qualified for
// in 2025 is guaranteed through 2026): Silver at 100.00, Gold at 300.00 (a
// downgrade from Gold lands no lower than Silver).
constexpr const char* kTiers = R"(
tiers:
  metric: spend
  window: calendar_year
  downgrade: {grace_periods: 1}
  levels:
    - {id: silver, name: Silver, threshold: "100.00"}
    - {id: gold, name: Gold, threshold: "300.00", downgrade_to: silver}
)";

// New Year 2026 in New York is 05:00 UTC.
constexpr const char* kNewYorkNewYear = "2026-01-01T05:00:00Z";

jobs::JobSelection tiers_only() {
  jobs::JobSelection s{false, false, false, false, false};
  s.tiers = true;
  return s;
}

class TierJob : public store::testing::EngineScenario {
 protected:
  void SetUp() override {
    clock_.set(at("2025-01-10T12:00:00Z"));
    // Two engines: the two-node test runs the job from both; the others use one.
    start("Tiers", "USD", "America/New_York", kTiers, /*nodes=*/2);
  }
  // Seeds what the order path would have stored: `spend_minor` in June 2025
  // and, when `tier` is not empty, an earned tier guaranteed until `until`.
  void seed(MemberId member, int64_t spend_minor, const std::string& tier = "",
            std::optional<Instant> until = std::nullopt) {
    auto s = must(db_->open_session());
    must(s->begin_write());
    must(s->add_tier_metrics(program_, member, MonthIndex::of(2025, 6),
                             TierMetrics{spend_minor, 0, 1}));
    if (!tier.empty()) {
      MemberTierState state;
      state.tier_id = tier;
      state.since = at("2025-06-15T12:00:00Z");
      state.guaranteed_until = until;
      state.actor = "system";
      must(s->save_member_tier(program_, member, state, state.since));
    }
    must(s->commit());
  }
  std::optional<MemberTierState> tier_of(MemberId member) {
    return must(reader_->find_member_tier(program_, member));
  }
  std::vector<store::TierHistoryEntry> history(MemberId member) {
    return must(reader_->list_tier_history(program_, member, {}, 100));
  }
  size_t events(std::string_view type) {
    size_t n = 0;
    for (const auto& e : must(reader_->list_outbox_events(program_, {}, store::kMaxOutboxPage))) {
      n += e.type == type ? 1 : 0;
    }
    return n;
  }
  jobs::JobRunCounts run_tier_job(int members_per_step = jobs::kTierMembersPerStep) {
    jobs::JobOptions options;
    options.tier_members_per_step = members_per_step;
    return must(jobs::run_jobs_once(*reader_, engine(), clock_, tiers_only(), options));
  }
  std::string job_key() {
    std::string key;
    must(reader_->connection().query(
        "SELECT last_completed_key FROM job_state WHERE program_id = ? AND job = 'tiers'",
        {program_.value}, [&](const store::Row& r) { key = std::string(r.get_text(0)); }));
    return key;
  }
};

TEST_P(TierJob, AtNewYorkNewYearEveryMemberIsRenewedKeptOrDowngradedOnce) {
  const Instant new_year = at(kNewYorkNewYear);
  const Instant end_of_2026 = at("2027-01-01T05:00:00Z");
  const MemberId renews = enroll("renews");  // Gold, spent 350.00: Gold again for 2026
  seed(renews, 350'00, "gold", new_year);
  const MemberId drops = enroll("drops");  // Gold, spent 150.00: down to Silver
  seed(drops, 150'00, "gold", new_year);
  const MemberId floor = enroll("floor");  // Gold, spent 20.00: no lower than Silver
  seed(floor, 20'00, "gold", new_year);
  const MemberId kept = enroll("kept");  // Gold guaranteed through 2026: kept
  seed(kept, 0, "gold", end_of_2026);
  const MemberId nobody = enroll("nobody");  // no tier, reached none: no row
  seed(nobody, 99'99);

  // 23:59 on New Year's Eve in New York (04:59 UTC on 1 January): not yet.
  clock_.set(at("2026-01-01T04:59:00Z"));
  EXPECT_EQ(run_tier_job().tier_states, 0);
  EXPECT_EQ(tier_of(drops)->tier_id, "gold");

  clock_.set(at("2026-01-01T05:00:00Z"));
  EXPECT_EQ(run_tier_job().tier_states, 4);  // renews, drops, floor and kept (evaluated)

  struct Expected {
    MemberId member;
    const char* tier;
    Instant guaranteed_until;
    const char* change;  // the history row written, "" for none
  };
  const Expected table[] = {
      {renews, "gold", end_of_2026, "renewed"},
      {drops, "silver", end_of_2026, "downgraded"},
      {floor, "silver", end_of_2026, "downgraded"},
      {kept, "gold", end_of_2026, ""},
  };
  for (const Expected& e : table) {
    SCOPED_TRACE(e.tier + std::string(" ") + e.change);
    auto state = tier_of(e.member);
    ASSERT_TRUE(state.has_value());
    EXPECT_EQ(state->tier_id, e.tier);
    EXPECT_EQ(state->guaranteed_until, e.guaranteed_until);
    EXPECT_EQ(state->evaluated_through, new_year);
    auto rows = history(e.member);
    ASSERT_EQ(rows.size(), std::string_view(e.change).empty() ? 0u : 1u);
    if (!rows.empty()) {
      EXPECT_EQ(to_string(rows[0].change), std::string_view(e.change));
    }
  }
  EXPECT_FALSE(tier_of(nobody).has_value());
  EXPECT_EQ(events("tier.renewed"), 1u);
  EXPECT_EQ(events("tier.downgraded"), 2u);
  EXPECT_EQ(job_key(), std::to_string(new_year.micros_since_epoch));

  // Again, and later in January: nothing more.
  EXPECT_EQ(run_tier_job().tier_states, 0);
  clock_.set(at("2026-01-20T00:00:00Z"));
  EXPECT_EQ(run_tier_job().tier_states, 0);
  EXPECT_EQ(events("tier.downgraded"), 2u);
}

TEST_P(TierJob, ARunKilledBetweenBatchesResumesAtItsCursorAndDecidesNoMemberTwice) {
  const Instant new_year = at(kNewYorkNewYear);
  std::vector<MemberId> members;
  for (int i = 0; i < 25; ++i) {
    members.push_back(enroll("m" + std::to_string(i)));
    seed(members.back(), 150'00, "gold", new_year);  // each is downgraded to Silver
  }
  clock_.set(at("2026-01-02T00:00:00Z"));
  // The first node decides one batch of 10 members, then dies.
  engine::RunProgramJob step;
  step.program_id = program_;
  step.job = engine::ProgramJob::kTiers;
  step.max_items = 10;
  step.node = "node-a";
  auto first = ok<engine::JobStepResult>(step);
  EXPECT_EQ(first.items, 10);
  EXPECT_FALSE(first.complete);
  EXPECT_EQ(job_key(),
            std::to_string(new_year.micros_since_epoch) + "/" + std::to_string(members[9].value));
  engines_[0]->stop();
  engines_[0] = must(engine::Engine::start(db_->url(), clock_));
  // Restarted with batches of 4: the other 15, and only those.
  EXPECT_EQ(run_tier_job(4).tier_states, 15);
  EXPECT_EQ(run_tier_job(4).tier_states, 0);
  for (MemberId m : members) {
    EXPECT_EQ(tier_of(m)->tier_id, "silver") << format_id(m);
    EXPECT_EQ(history(m).size(), 1u) << format_id(m);
  }
  EXPECT_EQ(events("tier.downgraded"), 25u);
  EXPECT_EQ(job_key(), std::to_string(new_year.micros_since_epoch));
}

TEST_P(TierJob, TwoNodesRunningTheJobAtOnceDecideEveryMemberOnce) {
  const Instant new_year = at(kNewYorkNewYear);
  std::vector<MemberId> members;
  for (int i = 0; i < 60; ++i) {
    members.push_back(enroll("m" + std::to_string(i)));
    seed(members.back(), 150'00, "gold", new_year);  // each is downgraded to Silver
  }
  clock_.set(at("2026-01-02T00:00:00Z"));
  // Both nodes run the whole job at once, in steps of 5 members, each with
  // its own reader (as two `loyaltyd serve` processes would).
  std::array<std::unique_ptr<store::StoreSession>, 2> readers = {must(db_->open_session()),
                                                                 must(db_->open_session())};
  std::array<int64_t, 2> decided{-1, -1};
  std::array<std::string, 2> errors;
  jobs::JobOptions options;
  options.tier_members_per_step = 5;
  std::vector<std::thread> nodes;
  for (int n = 0; n < 2; ++n) {
    nodes.emplace_back([&, n] {
      auto r = jobs::run_jobs_once(*readers[n], engine(n), clock_, tiers_only(), options);
      if (r.ok()) {
        decided[n] = r->tier_states;
      } else {
        errors[n] = r.status().message();
      }
    });
  }
  for (auto& t : nodes) t.join();
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
  EXPECT_EQ(decided[0] + decided[1], 60) << decided[0] << " + " << decided[1];
  for (MemberId m : members) {
    EXPECT_EQ(tier_of(m)->tier_id, "silver") << format_id(m);
    EXPECT_EQ(history(m).size(), 1u) << format_id(m);
  }
  EXPECT_EQ(events("tier.downgraded"), 60u);
  EXPECT_EQ(run_tier_job().tier_states, 0);  // nothing left for either
}

TEST_P(TierJob, ALapsedManualTierIsStoredAsWhatTheMetricGives) {
  const MemberId m = enroll("vip-for-a-month");
  seed(m, 0);
  clock_.set(at("2026-03-01T12:00:00Z"));
  EXPECT_EQ(run_tier_job().tier_states, 0);  // New Year 2026: nobody had a tier
  engine::SetMemberTier assign;
  assign.program_id = program_;
  assign.member_id = m;
  assign.tier_id = "gold";
  assign.reason = "goodwill";
  assign.expires_at = at("2026-04-01T00:00:00Z");
  assign.actor = "admin";
  ok<engine::MemberTierView>(assign);
  EXPECT_EQ(run_tier_job().tier_states, 0);  // still in force
  clock_.set(at("2026-04-01T00:00:00Z"));
  EXPECT_EQ(run_tier_job().tier_states, 1);
  auto state = tier_of(m);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->tier_id, "");  // spent nothing in 2026
  EXPECT_EQ(state->source, TierSource::kEarned);
  EXPECT_EQ(events("tier.downgraded"), 1u);
  EXPECT_EQ(run_tier_job().tier_states, 0);
}

INSTANTIATE_TEST_SUITE_P(Stores, TierJob, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return store::testing::backend_name(info.param);
                         });

}  // namespace
}  // namespace loyalty
