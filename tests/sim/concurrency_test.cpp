// Many clients on one member at once, through the real Engine: the writer
// serializes them, nobody overspends, and duplicates execute once.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "cli/verify.h"
#include "sim/sim_support.h"

namespace loyalty::sim {
namespace {

constexpr int kClients = 32;

struct Fixture {
  TempDb db;
  ManualClock clock{Instant::from_seconds(1'704'067'200)};
  std::unique_ptr<engine::Engine> engine;
  std::unique_ptr<store::StoreSession> reader;
  ProgramId program;
  MemberId member;

  explicit Fixture(const std::string& name) : db(name) {
    auto started = engine::Engine::start(db.url(), clock);
    EXPECT_TRUE(started.ok()) << started.status().message();
    engine = std::move(started).value();
    auto opened = store::open_session(db.url());
    EXPECT_TRUE(opened.ok()) << opened.status().message();
    reader = std::move(opened).value();
    Program p;
    p.name = "concurrency";
    p.currency = "USD";
    p.timezone = "UTC";
    auto created =
        engine->execute(engine::Command{engine::CreateProgram{p}, std::nullopt, nullptr});
    EXPECT_TRUE(created.status.ok()) << created.status.message();
    program = std::get<engine::ProgramCreated>(created.value).program.id;
    Member m;
    m.program_id = program;
    m.external_id = "shared";
    m.email = "shared@example.com";
    auto enrolled =
        engine->execute(engine::Command{engine::EnrollMember{m, {}, {}}, std::nullopt, nullptr});
    EXPECT_TRUE(enrolled.status.ok()) << enrolled.status.message();
    member = std::get<Member>(enrolled.value).id;
  }
  ~Fixture() { engine->stop(); }

  void credit(int64_t points) {
    CreditRequest r;
    r.points = Points{points};
    auto out =
        engine->execute(engine::Command{engine::Credit{program, member, r}, std::nullopt, nullptr});
    EXPECT_TRUE(out.status.ok()) << out.status.message();
  }
  void expect_verify_clean() {
    auto report = cli::verify_store(*reader);
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_TRUE(report->problems.empty()) << cli::format_report(*report);
  }
};

TEST(EngineConcurrency, ThirtyTwoClientsDebitingOneMemberNeverOverspend) {
  Fixture f("debits");
  // 1000 points in three lots; 32 debits of 70 points each: 14 fit.
  f.credit(500);
  f.credit(300);
  f.credit(200);
  constexpr int64_t kDebit = 70;
  constexpr int64_t kBalance = 1000;
  std::atomic<int> ok{0}, insufficient{0}, other{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      DebitRequest r;
      r.points = Points{kDebit};
      auto out = f.engine->execute(
          engine::Command{engine::Debit{f.program, f.member, r}, std::nullopt, nullptr});
      if (out.status.ok()) {
        ++ok;
      } else if (out.status.code() == ErrorCode::kInsufficientPoints) {
        ++insufficient;
      } else {
        ++other;
      }
    });
  }
  go = true;
  for (auto& c : clients) c.join();
  EXPECT_EQ(ok.load(), kBalance / kDebit);
  EXPECT_EQ(insufficient.load(), kClients - kBalance / kDebit);
  EXPECT_EQ(other.load(), 0);
  auto b = f.reader->get_balance(f.program, f.member);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->available.value, kBalance % kDebit);
  EXPECT_EQ(b->lifetime_spent.value, (kBalance / kDebit) * kDebit);
  EXPECT_EQ(b->lifetime_earned.value, kBalance);
  auto lots = f.reader->open_lots(f.program, f.member);
  ASSERT_TRUE(lots.ok());
  int64_t in_lots = 0;
  for (const Lot& l : *lots) in_lots += l.remaining.value;
  EXPECT_EQ(in_lots, kBalance % kDebit);
  f.expect_verify_clean();
}

TEST(EngineConcurrency, ConcurrentDuplicatesOfOneIdempotentCreditExecuteOnce) {
  Fixture f("duplicates");
  std::vector<engine::Outcome> outcomes(kClients);
  std::atomic<bool> go{false};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      CreditRequest r;
      r.points = Points{25};
      engine::Command cmd{engine::Credit{f.program, f.member, r},
                          engine::Idempotency{"order-1", "fingerprint-of-order-1"}, render_outcome};
      outcomes[i] = f.engine->execute(std::move(cmd));
    });
  }
  go = true;
  for (auto& c : clients) c.join();
  int fresh = 0;
  std::string first_body;
  for (const auto& o : outcomes) {
    ASSERT_TRUE(o.status.ok()) << o.status.message();
    if (!o.replay) {
      ++fresh;
      first_body = render_outcome(o).body;
    }
  }
  EXPECT_EQ(fresh, 1);
  for (const auto& o : outcomes) {
    if (o.replay) {
      EXPECT_EQ(o.replay->status_code, 201);
      EXPECT_EQ(o.replay->body, first_body);
    }
  }
  auto b = f.reader->get_balance(f.program, f.member);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->available.value, 25);
  auto postings = f.reader->list_member_postings(f.program, f.member, PostingId{}, 100);
  ASSERT_TRUE(postings.ok());
  EXPECT_EQ(postings->size(), 1u);
  // Another request under the same key is refused.
  CreditRequest other;
  other.points = Points{26};
  auto mismatch =
      f.engine->execute(engine::Command{engine::Credit{f.program, f.member, other},
                                        engine::Idempotency{"order-1", "another"}, render_outcome});
  EXPECT_EQ(mismatch.status.code(), ErrorCode::kIdempotencyMismatch);
  f.expect_verify_clean();
}

}  // namespace
}  // namespace loyalty::sim
