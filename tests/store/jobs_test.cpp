// The scheduled jobs end to end on both stores: the real engine and scheduler
// over a ManualClock, with exact balances, outbox events and `verify` after
// each scenario (docs/jobs.md).
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cli/verify.h"
#include "domain/expiry.h"
#include "engine/engine.h"
#include "jobs/scheduler.h"
#include "store/store_test_support.h"

namespace loyalty {
namespace {

using store::testing::Backend;
using store::testing::must;
using store::testing::TestDatabase;

using store::testing::at;

std::string text(std::optional<Instant> t) { return t ? format_rfc3339(*t) : "(none)"; }

class JobsTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres) LOYALTY_REQUIRE_POSTGRES_OR_SKIP();
    db_ = must(TestDatabase::create(GetParam()));
    engine_ = must(engine::Engine::start(db_->url(), clock_));
    reader_ = must(db_->open_session());
  }
  void TearDown() override {
    if (engine_) engine_->stop();
    if (reader_) {
      auto report = must(cli::verify_store(*reader_));
      EXPECT_TRUE(report.problems.empty()) << cli::format_report(report);
    }
  }

  engine::Outcome run(engine::CommandBody body) {
    return engine_->execute(engine::Command{std::move(body), std::nullopt, nullptr});
  }
  template <typename T>
  T ok(engine::CommandBody body) {
    engine::Outcome out = run(std::move(body));
    if (!out.status.ok()) throw store::testing::StoreTestError(out.status.message());
    return std::get<T>(out.value);
  }

  ProgramId create_program(const std::string& timezone, const std::string& config_yaml) {
    engine::CreateProgram create;
    create.program.name = "Jobs";
    create.program.currency = "EUR";
    create.program.timezone = timezone;
    ProgramId id = ok<engine::ProgramCreated>(create).program.id;
    if (!config_yaml.empty()) {
      engine::PutConfig put;
      put.program_id = id;
      put.document = config_yaml;
      put.actor = "test";
      engine::Outcome out = run(put);
      if (!out.status.ok()) throw store::testing::StoreTestError(out.status.message());
    }
    return id;
  }
  MemberId enroll(ProgramId program, const std::string& external_id,
                  std::optional<LocalDate> birthday = std::nullopt) {
    engine::EnrollMember e;
    e.member.program_id = program;
    e.member.external_id = external_id;
    e.member.email = external_id + "@example.com";
    e.member.birthday = birthday;
    return ok<Member>(e).id;
  }
  Posting credit(ProgramId program, MemberId member, int64_t points) {
    engine::Credit c;
    c.program_id = program;
    c.member_id = member;
    c.request.points = Points{points};
    c.request.reason = "test";
    c.request.actor = "test";
    return ok<Posting>(c);
  }
  engine::Outcome debit(ProgramId program, MemberId member, int64_t points) {
    engine::Debit d;
    d.program_id = program;
    d.member_id = member;
    d.request.points = Points{points};
    d.request.reason = "test";
    d.request.actor = "test";
    return run(d);
  }
  Balance balance(ProgramId program, MemberId member) {
    return must(reader_->get_balance(program, member));
  }
  jobs::JobRunCounts run_jobs(jobs::JobSelection selection = {}) {
    return must(jobs::run_jobs_once(*reader_, *engine_, clock_, selection));
  }
  // Outbox events of the program as "type member points", in order.
  std::vector<store::OutboxEvent> events(ProgramId program, std::string_view type = {}) {
    std::vector<store::OutboxEvent> out;
    for (const auto& e : must(reader_->list_outbox_events(program, {}, store::kMaxOutboxPage))) {
      if (type.empty() || e.type == type) out.push_back(e);
    }
    return out;
  }
  // Advances the clock to `until` in steps, running every job after each step.
  void run_daily_until(Instant until, Duration step = Duration::from_days(1)) {
    while (clock_.now() < until) {
      clock_.set(std::min(until, clock_.now() + step));
      run_jobs();
    }
  }
  int64_t count_postings(ProgramId program, std::string_view source) {
    int64_t n = 0;
    must(reader_->connection().query(
        "SELECT COUNT(*) FROM postings WHERE program_id = ? AND "
        "source = ?",
        {program.value, source}, [&](const store::Row& r) { n = r.get_int(0); }));
    return n;
  }

  ManualClock clock_{at("2025-01-01T12:00:00Z")};
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<store::StoreSession> reader_;
};

// ---- Expiry policies over a year ----

// Points expire a month after they were earned, without warnings.
constexpr const char* kExpireAMonthAfterEarning = R"(expiry:
  mode: after_earn
  months: 1
  warn_days_before: 0
)";

TEST_P(JobsTest, AfterEarnExpiresEachLotMonthsAfterItWasEarnedWithOneWarningEach) {
  ProgramId p = create_program("UTC", R"(expiry:
  mode: after_earn
  months: 3
  warn_days_before: 7
)");
  MemberId m = enroll(p, "a");
  clock_.set(at("2025-01-10T12:00:00Z"));
  Posting first = credit(p, m, 100);
  clock_.set(at("2025-02-20T12:00:00Z"));
  credit(p, m, 50);
  clock_.set(at("2025-03-01T12:00:00Z"));
  ASSERT_TRUE(debit(p, m, 30).status.ok());  // from the lot expiring first
  run_daily_until(at("2025-04-10T11:59:59Z"), Duration::from_seconds(6 * 3600));
  EXPECT_EQ(balance(p, m).available.value, 120);
  ASSERT_EQ(events(p, "points.expiring_soon").size(), 1u);
  run_daily_until(at("2025-04-10T12:00:00Z"));
  EXPECT_EQ(balance(p, m).available.value, 50);
  EXPECT_EQ(balance(p, m).expired.value, 70);
  run_daily_until(at("2025-12-31T00:00:00Z"), Duration::from_days(7));
  Balance end = balance(p, m);
  EXPECT_EQ(end.available.value, 0);
  EXPECT_EQ(end.expired.value, 120);
  EXPECT_EQ(end.lifetime_spent.value, 30);
  EXPECT_EQ(end.next_due_at, std::nullopt);

  auto warnings = events(p, "points.expiring_soon");
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_EQ(warnings[0].payload_json,
            "{\"member_id\":\"" + format_id(m) +
                "\",\"points\":70,\"expires_at\":\"2025-04-10T12:00:00Z\",\"warn_days_before\":7}");
  // Warned within the 6-hour step after the window opened (7 days before).
  EXPECT_GE(warnings[0].created_at, at("2025-04-03T12:00:00Z"));
  EXPECT_LT(warnings[0].created_at, at("2025-04-03T18:00:00Z"));
  EXPECT_EQ(warnings[1].payload_json,
            "{\"member_id\":\"" + format_id(m) +
                "\",\"points\":50,\"expires_at\":\"2025-05-20T12:00:00Z\",\"warn_days_before\":7}");
  auto expired = events(p, "points.expired");
  ASSERT_EQ(expired.size(), 2u);
  EXPECT_NE(expired[0].payload_json.find("\"points\":70"), std::string::npos);
  EXPECT_NE(expired[1].payload_json.find("\"points\":50"), std::string::npos);
  (void)first;
}

// One catch-up step expires several members, each with its lots read ahead in
// one query and written in UPDATEs of at most 16 lots (store.cpp): lot counts
// around that boundary, a partly spent lot, and a member with nothing due.
TEST_P(JobsTest, OneStepExpiresManyLotsOfManyMembersExactly) {
  ProgramId p = create_program("UTC", kExpireAMonthAfterEarning);
  struct Case {
    int lots;
    int64_t spent;
  };
  const Case cases[] = {{1, 0}, {15, 0}, {16, 5}, {17, 0}, {33, 250}};
  std::vector<MemberId> members;
  for (const Case& c : cases) {
    MemberId m = enroll(p, "m" + std::to_string(members.size()));
    for (int k = 0; k < c.lots; ++k) credit(p, m, 10 + k);
    if (c.spent > 0) {
      ASSERT_TRUE(debit(p, m, c.spent).status.ok());
    }
    members.push_back(m);
  }
  clock_.set(at("2025-01-15T12:00:00Z"));
  MemberId later = enroll(p, "later");
  credit(p, later, 7);  // due a month after the others
  clock_.set(at("2025-02-01T12:00:00Z"));
  jobs::JobRunCounts counts = run_jobs(jobs::JobSelection{true, false, false, false, false});
  EXPECT_EQ(counts.members_caught_up, static_cast<int64_t>(std::size(cases)));
  EXPECT_EQ(counts.postings, static_cast<int64_t>(std::size(cases)));
  for (size_t i = 0; i < std::size(cases); ++i) {
    int64_t earned = 0;
    for (int k = 0; k < cases[i].lots; ++k) earned += 10 + k;
    Balance b = balance(p, members[i]);
    EXPECT_EQ(b.available.value, 0) << "member " << i;
    EXPECT_EQ(b.expired.value, earned - cases[i].spent) << "member " << i;
    EXPECT_EQ(b.next_due_at, std::nullopt) << "member " << i;
  }
  EXPECT_EQ(balance(p, later).available.value, 7);
  EXPECT_EQ(balance(p, later).next_due_at, at("2025-02-15T12:00:00Z"));
  EXPECT_EQ(events(p, "points.expired").size(), std::size(cases));
}

// The scheduler plans expiries on its own thread from the reader (SQLite) in
// steps of members in the due order, the next step planned while the writer
// writes one: small steps, every member once.
TEST_P(JobsTest, StepsPlannedAheadExpireEveryDueMemberOnce) {
  ProgramId p = create_program("UTC", kExpireAMonthAfterEarning);
  std::vector<MemberId> members;
  for (int i = 0; i < 7; ++i) {
    members.push_back(enroll(p, "m" + std::to_string(i)));
    credit(p, members.back(), 10 + i);
    credit(p, members.back(), 1);
    clock_.advance(Duration::from_seconds(i % 2));  // some share a due instant
  }
  clock_.set(at("2025-03-01T00:00:00Z"));
  jobs::JobOptions options;
  options.catch_up_members_per_step = 2;
  jobs::JobRunCounts counts = must(jobs::run_jobs_once(
      *reader_, *engine_, clock_, jobs::JobSelection{true, false, false, false, false}, options));
  EXPECT_EQ(counts.members_caught_up, 7);
  EXPECT_EQ(counts.postings, 7);
  EXPECT_EQ(counts.stale_plans, 0);
  for (int i = 0; i < 7; ++i) {
    Balance b = balance(p, members[static_cast<size_t>(i)]);
    EXPECT_EQ(b.available.value, 0) << i;
    EXPECT_EQ(b.expired.value, 11 + i) << i;
    EXPECT_EQ(b.next_due_at, std::nullopt) << i;
  }
  EXPECT_EQ(events(p, "points.expired").size(), 7U);
  EXPECT_EQ(run_jobs(jobs::JobSelection{true, false, false, false, false}).postings, 0);
}

// A plan made from a read is written only if the member's balance version is
// still the one read; otherwise the writer catches the member up from the
// store, once.
TEST_P(JobsTest, APreparedExpiryIsWrittenOnlyIfTheMemberWasNotWrittenToSinceItWasPlanned) {
  ProgramId p = create_program("UTC", kExpireAMonthAfterEarning);
  MemberId a = enroll(p, "a");
  MemberId b = enroll(p, "b");
  MemberId c = enroll(p, "c");
  for (MemberId m : {a, b, c}) credit(p, m, 100);
  clock_.set(at("2025-02-02T00:00:00Z"));
  const Instant planned_at = clock_.now();
  Program program = *must(reader_->find_program(p));
  auto due = must(reader_->due_members_after(planned_at, std::nullopt, 10));
  ASSERT_EQ(due.size(), 3U);
  std::vector<engine::PreparedExpiry> prepared;
  for (const store::DueMember& d : due) {
    MemberLedger ml;
    ml.member.program_id = p;
    ml.member.id = d.member_id;
    ml.balance = *d.balance;
    ml.open_lots = must(reader_->open_lots(p, d.member_id));
    std::optional<LedgerPlan> plan = plan_expiry(program, ml, planned_at);
    ASSERT_TRUE(plan.has_value());
    plan->balances.at(d.member_id).next_due_at = std::nullopt;
    prepared.push_back(engine::PreparedExpiry{p, d.member_id, d.version, std::move(*plan)});
  }
  // After the plans were made: b is written to by a command (which catches it
  // up first: its points expire there), c's next_due_at is rewritten (still due).
  clock_.advance(Duration::from_seconds(5));
  credit(p, b, 7);
  const int64_t c_version = prepared[2].version;
  ASSERT_TRUE(reader_->set_next_due_at(p, c, balance(p, c).next_due_at).ok());
  auto again = must(reader_->due_members_after(clock_.now(), std::nullopt, 10));
  ASSERT_EQ(again.size(), 2U);  // a and c
  EXPECT_EQ(again[1].member_id, c);
  EXPECT_EQ(again[1].version, c_version + 1);

  engine::CatchUp cmd;
  cmd.prepared = prepared;
  auto result = ok<engine::CatchUpResult>(cmd);
  EXPECT_EQ(result.stale, 2);    // b and c
  EXPECT_EQ(result.members, 2);  // a (as planned) and c (from the store); b was done
  EXPECT_EQ(result.postings, 2);
  for (MemberId m : {a, c}) {
    EXPECT_EQ(balance(p, m).available.value, 0);
    EXPECT_EQ(balance(p, m).expired.value, 100);
    EXPECT_EQ(balance(p, m).next_due_at, std::nullopt);
  }
  EXPECT_EQ(balance(p, b).available.value, 7);
  EXPECT_EQ(balance(p, b).expired.value, 100);  // once, by the credit's catch-up
  auto expired = events(p, "points.expired");
  ASSERT_EQ(expired.size(), 3U);
  // Written plans carry the writer's time, not the planner's.
  std::vector<Posting> a_postings = must(reader_->list_member_postings(p, a, PostingId{}, 10));
  ASSERT_FALSE(a_postings.empty());
  EXPECT_EQ(a_postings.front().kind, PostingKind::kExpiry);
  EXPECT_EQ(a_postings.front().created_at, clock_.now());
  // The same plans again: nothing (every member moved on and is not due).
  auto replay = ok<engine::CatchUpResult>(engine::CatchUp{{}, 0, prepared});
  EXPECT_EQ(replay.stale, 3);
  EXPECT_EQ(replay.postings, 0);
  EXPECT_EQ(replay.members, 0);
}

TEST_P(JobsTest, FixedDateExpiresAYearsPointsWhenTheDateEndsInTheProgramsTimeZone) {
  ProgramId p = create_program("Europe/Berlin", R"(expiry:
  mode: fixed_date
  fixed_date: "12-31"
  warn_days_before: 30
)");
  MemberId m = enroll(p, "a");
  clock_.set(at("2025-03-01T12:00:00Z"));
  credit(p, m, 100);
  clock_.set(at("2025-12-31T22:30:00Z"));  // 23:30 local: still 2025
  credit(p, m, 10);
  clock_.set(at("2025-12-31T23:30:00Z"));  // 00:30 local on 1 January 2026
  credit(p, m, 1);
  run_daily_until(at("2026-12-31T22:59:59Z"), Duration::from_days(7));
  EXPECT_EQ(balance(p, m).available.value, 111);
  // 2025's points expire when 31 December 2026 ends in Berlin (23:00Z).
  run_daily_until(at("2026-12-31T23:00:00Z"));
  EXPECT_EQ(balance(p, m).available.value, 1);
  EXPECT_EQ(balance(p, m).expired.value, 110);
  run_daily_until(at("2027-12-31T23:00:00Z"), Duration::from_days(7));
  EXPECT_EQ(balance(p, m).available.value, 0);
  EXPECT_EQ(balance(p, m).expired.value, 111);
  auto warnings = events(p, "points.expiring_soon");
  ASSERT_EQ(warnings.size(), 2u);  // one per expiry instant, not per lot
  EXPECT_NE(warnings[0].payload_json.find("\"points\":110"), std::string::npos);
  EXPECT_NE(warnings[1].payload_json.find("\"points\":1,"), std::string::npos);
}

TEST_P(JobsTest, RollingExpiryRestartsOnEveryActivity) {
  ProgramId p = create_program("America/New_York", R"(expiry:
  mode: rolling
  months: 6
  warn_days_before: 10
)");
  MemberId m = enroll(p, "a");
  clock_.set(at("2025-01-15T15:00:00Z"));
  credit(p, m, 100);
  // Six months later at the same local time: 10:00 EST is 14:00Z in July (EDT).
  EXPECT_EQ(text(balance(p, m).rolling_expires_at), "2025-07-15T14:00:00Z");
  // A spend in May pushes everything to November.
  run_daily_until(at("2025-05-01T15:00:00Z"), Duration::from_days(7));
  ASSERT_TRUE(debit(p, m, 10).status.ok());
  EXPECT_EQ(text(balance(p, m).rolling_expires_at), "2025-11-01T15:00:00Z");
  // A credit in June, to December: 11:00 EDT is 16:00Z in December (EST).
  clock_.set(at("2025-06-01T15:00:00Z"));
  credit(p, m, 5);
  EXPECT_EQ(text(balance(p, m).rolling_expires_at), "2025-12-01T16:00:00Z");
  run_daily_until(at("2025-12-01T15:59:59Z"), Duration::from_days(7));
  EXPECT_EQ(balance(p, m).available.value, 95);
  run_daily_until(at("2025-12-01T16:00:00Z"));
  Balance b = balance(p, m);
  EXPECT_EQ(b.available.value, 0);
  EXPECT_EQ(b.expired.value, 95);
  // One warning: the July and November instants were moved (by the May spend
  // and the June credit) before their warning windows opened.
  auto warnings = events(p, "points.expiring_soon");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].payload_json.find("\"expires_at\":\"2025-12-01T16:00:00Z\""),
            std::string::npos);
}

// ---- Birthdays and anniversaries ----

constexpr const char* kOccasionRules = R"(earn_rules:
  - id: bday
    name: Happy birthday
    trigger: birthday
    kind: fixed
    points: 100
  - id: anniv
    name: Thank you for another year
    trigger: anniversary
    kind: fixed
    points: 40
)";

TEST_P(JobsTest, BirthdaysInBerlinAcrossDstAndTheTwentyNinthOfFebruary) {
  clock_.set(at("2024-12-01T12:00:00Z"));
  ProgramId p = create_program("Europe/Berlin", kOccasionRules);
  MemberId leapling = enroll(p, "leap", LocalDate{1992, 2, 29});
  MemberId dst = enroll(p, "dst", LocalDate{1980, 3, 30});  // DST starts 30 March 2025
  MemberId summer = enroll(p, "summer", LocalDate{1990, 7, 4});
  run_jobs();
  // 2025 has no 29 February: the leapling celebrates on the 28th, local time.
  run_daily_until(at("2025-02-27T22:59:59Z"), Duration::from_days(3));
  EXPECT_EQ(balance(p, leapling).available.value, 0);
  run_daily_until(at("2025-02-27T23:00:00Z"));
  EXPECT_EQ(balance(p, leapling).available.value, 100);
  // 30 March 2025 begins at 23:00Z on the 29th (CET); the day is 23 hours long.
  run_daily_until(at("2025-03-29T22:59:59Z"), Duration::from_days(3));
  EXPECT_EQ(balance(p, dst).available.value, 0);
  run_daily_until(at("2025-03-29T23:00:00Z"));
  EXPECT_EQ(balance(p, dst).available.value, 100);
  run_daily_until(at("2025-07-03T21:59:59Z"), Duration::from_days(3));
  EXPECT_EQ(balance(p, summer).available.value, 0);
  run_daily_until(at("2025-07-03T22:00:00Z"));  // 4 July begins at 22:00Z (CEST)
  EXPECT_EQ(balance(p, summer).available.value, 100);
  // 2028 is a leap year: the 29th, not the 28th.
  clock_.set(at("2028-02-20T12:00:00Z"));
  run_jobs();
  run_daily_until(at("2028-02-28T22:59:59Z"), Duration::from_days(3));
  EXPECT_EQ(balance(p, leapling).available.value, 100);
  run_daily_until(at("2028-02-28T23:00:00Z"));
  EXPECT_EQ(balance(p, leapling).available.value, 200);
  run_daily_until(at("2028-03-05T00:00:00Z"), Duration::from_days(3));
  EXPECT_EQ(balance(p, leapling).available.value, 200);

  auto awarded = events(p, "birthday.awarded");
  ASSERT_EQ(awarded.size(), 4u);
  EXPECT_NE(awarded[0].payload_json.find("\"date\":\"2025-02-28\""), std::string::npos);
  EXPECT_NE(awarded[0].payload_json.find("\"source\":\"job:birthday\""), std::string::npos);
  EXPECT_NE(awarded[3].payload_json.find("\"date\":\"2028-02-29\""), std::string::npos);
  EXPECT_EQ(count_postings(p, "job:birthday"), 4);
}

// Occasion rules are earn rules like any other: their conditions, formulas and
// caps apply (docs/earning.md), not only fixed points.
TEST_P(JobsTest, BirthdayRulesApplyTheirConditionsAndFormulas) {
  clock_.set(at("2025-01-01T12:00:00Z"));
  ProgramId p = create_program("UTC", R"(earn_rules:
  - id: bday
    name: Happy birthday
    trigger: birthday
    kind: fixed
    points: 100
    condition: member.available >= 500
  - id: bday-bonus
    name: Birthday bonus of 10 %
    trigger: birthday
    kind: formula
    formula: member.available / 10
)");
  MemberId rich = enroll(p, "rich", LocalDate{1990, 1, 5});
  MemberId poor = enroll(p, "poor", LocalDate{1990, 1, 5});
  credit(p, rich, 600);
  credit(p, poor, 50);
  run_jobs();
  run_daily_until(at("2025-01-06T00:00:00Z"));
  EXPECT_EQ(balance(p, rich).available.value, 600 + 100 + 60);
  EXPECT_EQ(balance(p, poor).available.value, 50 + 5);
  EXPECT_EQ(events(p, "birthday.awarded").size(), 3u);
  EXPECT_EQ(count_postings(p, "job:birthday"), 3);
}

// The tier's birthday bonus (benefits.birthday_bonus_points) is the size of
// the birthday award, with no birthday rule: Gold members get 500, Silver
// members 0 (no bonus configured), members without a tier nothing. The
// points metric counts manual credits, so the credits below set the tiers.
TEST_P(JobsTest, TheTiersBirthdayBonusIsAwardedOnTheBirthday) {
  clock_.set(at("2025-01-01T12:00:00Z"));
  ProgramId p = create_program("UTC", R"(tiers:
  metric: points
  window: lifetime
  levels:
    - {id: silver, name: Silver, threshold: 100}
    - {id: gold, name: Gold, threshold: 1000, benefits: {birthday_bonus_points: 500}}
)");
  MemberId gold = enroll(p, "gold", LocalDate{1990, 1, 5});
  MemberId silver = enroll(p, "silver", LocalDate{1990, 1, 5});
  MemberId none = enroll(p, "none", LocalDate{1990, 1, 5});
  credit(p, gold, 1000);
  credit(p, silver, 100);
  run_jobs();
  run_daily_until(at("2025-01-06T00:00:00Z"));
  EXPECT_EQ(balance(p, gold).available.value, 1000 + 500);
  EXPECT_EQ(balance(p, silver).available.value, 100);
  EXPECT_EQ(balance(p, none).available.value, 0);
  auto awarded = events(p, "birthday.awarded");
  ASSERT_EQ(awarded.size(), 1u);
  EXPECT_NE(awarded[0].payload_json.find("\"rule_id\":\"tier:gold\""), std::string::npos);
}

// Birthday and anniversary rules see the member's attributes and order
// statistics (docs/rules.md), like order and event rules.
TEST_P(JobsTest, OccasionRulesReadMemberAttributesAndOrderStatistics) {
  clock_.set(at("2024-01-10T12:00:00Z"));
  ProgramId p = create_program("UTC", R"(earn_rules:
  - id: vip-bday
    trigger: birthday
    kind: fixed
    points: 100
    condition: member.attributes["vip"] == "yes"
  - id: shopper-anniv
    trigger: anniversary
    kind: fixed
    points: 40
    condition: member.orders_count >= 1 && member.total_spent >= 20.00
)");
  auto enroll_with = [&](const std::string& id, const std::string& attributes) {
    engine::EnrollMember e;
    e.member.program_id = p;
    e.member.external_id = id;
    e.member.email = id + "@example.com";
    e.member.birthday = LocalDate{1990, 1, 15};
    e.member.attributes_json = attributes;
    return ok<Member>(e).id;
  };
  MemberId vip_shopper = enroll_with("vip", R"({"vip":"yes"})");
  MemberId regular = enroll_with("regular", R"({"vip":"no"})");
  // The VIP shops for 25.00; the regular member for 15.00.
  for (auto [member, minor] : {std::pair{vip_shopper, 2500}, std::pair{regular, 1500}}) {
    engine::CreateOrder order;
    order.program_id = p;
    order.customer.member_id = member;
    order.status = OrderStatus::kPaid;
    order.order.external_id = "o-" + format_id(member);
    order.order.currency = "EUR";
    order.order.placed_at = clock_.now();
    OrderItem item;
    item.sku = "S";
    item.name = "Shirt";
    item.quantity = 1;
    item.unit_price_minor = minor;
    order.order.items = {item};
    ok<engine::OrderResult>(order);
  }
  Member vip_row = *must(reader_->find_member(p, vip_shopper));
  EXPECT_EQ(vip_row.orders_count, 1);
  EXPECT_EQ(vip_row.total_spent_minor, 2500);
  run_jobs();
  run_daily_until(at("2024-01-16T00:00:00Z"));  // the birthday
  EXPECT_EQ(balance(p, vip_shopper).available.value, 100);
  EXPECT_EQ(balance(p, regular).available.value, 0);
  clock_.set(at("2025-01-09T12:00:00Z"));
  run_jobs();
  run_daily_until(at("2025-01-11T00:00:00Z"));  // the first anniversary
  EXPECT_EQ(balance(p, vip_shopper).available.value, 100 + 40);
  EXPECT_EQ(balance(p, regular).available.value, 0);
}

TEST_P(JobsTest, AnniversariesOncePerYearIncludingTheTwentyNinthOfFebruary) {
  clock_.set(at("2024-02-29T10:00:00Z"));
  ProgramId p = create_program("America/New_York", kOccasionRules);
  MemberId leap = enroll(p, "leap");  // enrolled 29 Feb 2024, local
  clock_.set(at("2024-06-10T15:00:00Z"));
  MemberId june = enroll(p, "june");
  run_jobs();
  run_daily_until(at("2025-02-28T04:59:59Z"), Duration::from_days(7));
  EXPECT_EQ(balance(p, leap).available.value, 0);
  run_daily_until(at("2025-02-28T05:00:00Z"));  // 28 Feb 2025 begins (EST)
  EXPECT_EQ(balance(p, leap).available.value, 40);
  run_daily_until(at("2025-06-10T04:00:00Z"), Duration::from_days(7));
  EXPECT_EQ(balance(p, june).available.value, 40);
  run_daily_until(at("2025-12-31T00:00:00Z"), Duration::from_days(7));
  EXPECT_EQ(balance(p, leap).available.value, 40);
  EXPECT_EQ(balance(p, june).available.value, 40);
  auto awarded = events(p, "anniversary.awarded");
  ASSERT_EQ(awarded.size(), 2u);
  EXPECT_NE(awarded[0].payload_json.find("\"years\":1"), std::string::npos);
}

TEST_P(JobsTest, ALateJobCatchesUpWithinTheWindowAndARepeatedRunDoesNothing) {
  clock_.set(at("2025-01-01T12:00:00Z"));
  ProgramId p = create_program("UTC", kOccasionRules);
  MemberId a = enroll(p, "a", LocalDate{1990, 1, 5});
  MemberId b = enroll(p, "b", LocalDate{1990, 1, 6});
  run_jobs();
  // The server was down from 2 to 12 January: a's birthday (5th) is 7 days
  // before the 12th, inside the window; nobody's birthday is lost twice.
  clock_.set(at("2025-01-12T00:30:00Z"));
  jobs::JobRunCounts first = run_jobs();
  EXPECT_EQ(first.birthdays, 2);
  jobs::JobRunCounts again = run_jobs();
  EXPECT_EQ(again.birthdays, 0);
  EXPECT_EQ(balance(p, a).available.value, 100);
  EXPECT_EQ(balance(p, b).available.value, 100);
  // Eight days late is outside the window.
  MemberId c = enroll(p, "c", LocalDate{1990, 1, 14});
  clock_.set(at("2025-01-22T00:30:00Z"));
  EXPECT_EQ(run_jobs().birthdays, 0);
  EXPECT_EQ(balance(p, c).available.value, 0);
}

TEST_P(JobsTest, AJobKilledMidRunResumesWithoutDoingAnyMemberTwice) {
  clock_.set(at("2025-01-01T12:00:00Z"));
  ProgramId p = create_program("UTC", kOccasionRules);
  std::vector<MemberId> members;
  for (int i = 0; i < 5; ++i)
    members.push_back(enroll(p, "m" + std::to_string(i), LocalDate{1990, 1, 2}));
  run_jobs();
  clock_.set(at("2025-01-02T08:00:00Z"));
  // The first node awards two members, then dies before the next step.
  engine::RunProgramJob step;
  step.program_id = p;
  step.job = engine::ProgramJob::kBirthdays;
  step.max_items = 2;
  step.node = "node-a";
  auto first = ok<engine::JobStepResult>(step);
  EXPECT_EQ(first.items, 2);
  EXPECT_FALSE(first.complete);
  engine_->stop();
  engine_ = must(engine::Engine::start(db_->url(), clock_));
  // Restarted: the rest, and only the rest.
  EXPECT_EQ(run_jobs().birthdays, 3);
  EXPECT_EQ(run_jobs().birthdays, 0);
  for (MemberId m : members) EXPECT_EQ(balance(p, m).available.value, 100) << format_id(m);
  EXPECT_EQ(events(p, "birthday.awarded").size(), 5u);
}

// ---- The outbox commits with its change ----

TEST_P(JobsTest, AFailedCommandLeavesNoOutboxEvent) {
  ProgramId p = create_program("UTC", "");
  MemberId m = enroll(p, "a");
  engine::Credit c;
  c.program_id = p;
  c.member_id = m;
  c.request.points = Points{100};
  c.request.reason = "short-lived";
  c.request.actor = "test";
  c.request.expires_at = at("2025-01-02T00:00:00Z");
  ok<Posting>(c);
  clock_.set(at("2025-01-03T00:00:00Z"));
  // The debit first expires the lot (writing an expiry posting and its event),
  // then fails: both roll back with it.
  engine::Outcome failed = debit(p, m, 50);
  EXPECT_EQ(failed.status.code(), ErrorCode::kInsufficientPoints);
  EXPECT_TRUE(events(p).empty());
  EXPECT_EQ(balance(p, m).expired.value, 0);
  EXPECT_EQ(run_jobs().postings, 1);
  auto expired = events(p, "points.expired");
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].member_id, m);
}

TEST_P(JobsTest, VestingEmitsAnEvent) {
  ProgramId p = create_program("UTC", "");
  MemberId m = enroll(p, "a");
  engine::Credit c;
  c.program_id = p;
  c.member_id = m;
  c.request.points = Points{80};
  c.request.actor = "test";
  c.request.available_at = at("2025-01-05T00:00:00Z");
  ok<Posting>(c);
  clock_.set(at("2025-01-05T00:00:00Z"));
  EXPECT_EQ(run_jobs(*jobs::parse_job_selection("vesting")).postings, 1);
  auto vested = events(p, "points.vested");
  ASSERT_EQ(vested.size(), 1u);
  EXPECT_NE(vested[0].payload_json.find("\"points\":80"), std::string::npos);
  EXPECT_EQ(balance(p, m).available.value, 80);
}

INSTANTIATE_TEST_SUITE_P(Stores, JobsTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return store::testing::backend_name(info.param);
                         });

// ---- Two nodes on one PostgreSQL ----

class JobsTwoNodes : public ::testing::Test {
 protected:
  void SetUp() override {
    LOYALTY_REQUIRE_POSTGRES_OR_SKIP();
    db_ = must(TestDatabase::create(Backend::kPostgres));
    for (auto& e : engines_) e = must(engine::Engine::start(db_->url(), clock_));
    for (auto& r : readers_) r = must(db_->open_session());
  }
  void TearDown() override {
    for (auto& e : engines_) {
      if (e) e->stop();
    }
    if (readers_[0]) {
      auto report = must(cli::verify_store(*readers_[0]));
      EXPECT_TRUE(report.problems.empty()) << cli::format_report(report);
    }
  }
  // Both nodes run the selected jobs at once; returns each node's counts.
  std::array<jobs::JobRunCounts, 2> run_both(jobs::JobSelection selection) {
    std::array<jobs::JobRunCounts, 2> counts;
    std::array<Status, 2> status;
    std::vector<std::thread> threads;
    for (size_t i = 0; i < 2; ++i) {
      threads.emplace_back([&, i] {
        jobs::JobOptions options;
        options.items_per_step = 25;  // many small steps: the nodes interleave
        options.catch_up_members_per_step = 25;
        options.node = "node-" + std::to_string(i);
        auto r = jobs::run_jobs_once(*readers_[i], *engines_[i], clock_, selection, options);
        if (r.ok()) {
          counts[i] = *r;
        } else {
          status[i] = r.status();
        }
      });
    }
    for (auto& t : threads) t.join();
    for (const Status& st : status) EXPECT_TRUE(st.ok()) << st.message();
    return counts;
  }

  ManualClock clock_{at("2025-01-01T12:00:00Z")};
  std::unique_ptr<TestDatabase> db_;
  std::array<std::unique_ptr<engine::Engine>, 2> engines_;
  std::array<std::unique_ptr<store::StoreSession>, 2> readers_;
};

TEST_F(JobsTwoNodes, EveryDueMemberIsExpiredOnceAndEveryBirthdayAwardedOnce) {
  engine::Engine& e = *engines_[0];
  auto exec = [&](engine::CommandBody body) {
    engine::Outcome out = e.execute(engine::Command{std::move(body), std::nullopt, nullptr});
    if (!out.status.ok()) throw store::testing::StoreTestError(out.status.message());
    return out;
  };
  engine::CreateProgram create;
  create.program.name = "Two nodes";
  create.program.currency = "EUR";
  create.program.timezone = "UTC";
  ProgramId p = std::get<engine::ProgramCreated>(exec(create).value).program.id;
  engine::PutConfig put;
  put.program_id = p;
  put.document = kOccasionRules;
  put.actor = "test";
  exec(put);
  constexpr int kMembers = 300;
  for (int i = 0; i < kMembers; ++i) {
    engine::EnrollMember enroll;
    enroll.member.program_id = p;
    enroll.member.external_id = "m" + std::to_string(i);
    enroll.member.email = "m" + std::to_string(i) + "@example.com";
    if (i % 3 == 0) enroll.member.birthday = LocalDate{1990, 1, 3};
    MemberId m = std::get<Member>(exec(enroll).value).id;
    engine::Credit c;
    c.program_id = p;
    c.member_id = m;
    c.request.points = Points{10};
    c.request.actor = "test";
    c.request.expires_at = at("2025-01-02T00:00:00Z");
    exec(c);
  }
  jobs::JobSelection all;
  run_both(all);  // starts the per-program jobs' state today
  clock_.set(at("2025-01-03T06:00:00Z"));
  auto counts = run_both(all);
  EXPECT_EQ(counts[0].members_caught_up + counts[1].members_caught_up, kMembers);
  EXPECT_EQ(counts[0].postings + counts[1].postings, kMembers);
  EXPECT_EQ(counts[0].birthdays + counts[1].birthdays, kMembers / 3);
  // Nothing left, nothing done twice.
  auto again = run_both(all);
  EXPECT_EQ(again[0].postings + again[1].postings + again[0].birthdays + again[1].birthdays, 0);
  int64_t expired_events = 0, birthday_events = 0;
  for (const auto& ev : must(readers_[0]->list_outbox_events(p, {}, store::kMaxOutboxPage))) {
    expired_events += ev.type == "points.expired";
    birthday_events += ev.type == "birthday.awarded";
  }
  EXPECT_EQ(expired_events, kMembers);
  EXPECT_EQ(birthday_events, kMembers / 3);
}

}  // namespace
}  // namespace loyalty
