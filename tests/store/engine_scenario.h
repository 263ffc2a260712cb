// The fixture of the store-level scenario tests: the real engine (one or two
// "nodes") over a ManualClock on a fresh database of either backend, one
// program with a configuration document, a reader session, and `verify` of
// the whole store after each test.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <utility>

#include "cli/verify.h"
#include "engine/engine.h"
#include "store/store_test_support.h"

namespace loyalty::store::testing {

class EngineScenario : public ::testing::TestWithParam<Backend> {
 protected:
  // Call from SetUp: skips on PostgreSQL when none is available, then starts
  // `nodes` engines on one new database and creates the program (with
  // `config` stored as its first configuration version when not empty).
  void start(const std::string& name, const std::string& currency, const std::string& timezone,
             const std::string& config, int nodes = 1) {
    if (GetParam() == Backend::kPostgres) LOYALTY_REQUIRE_POSTGRES_OR_SKIP();
    db_ = must(TestDatabase::create(GetParam()));
    for (int i = 0; i < nodes; ++i) {
      engines_[i] = must(engine::Engine::start(db_->url(), clock_));
    }
    reader_ = must(db_->open_session());
    engine::CreateProgram create;
    create.program.name = name;
    create.program.currency = currency;
    create.program.timezone = timezone;
    program_ = ok<engine::ProgramCreated>(create).program.id;
    if (config.empty()) return;
    engine::PutConfig put;
    put.program_id = program_;
    put.document = config;
    put.actor = "test";
    ok<StoredConfig>(put);
  }
  // Fixtures that call start() from the test body (each test its own
  // configuration) skip here, before the body runs on engines never started.
  void SetUp() override {
    if (GetParam() == Backend::kPostgres) LOYALTY_REQUIRE_POSTGRES_OR_SKIP();
  }
  void TearDown() override {
    for (auto& e : engines_) {
      if (e) e->stop();
    }
    if (reader_) {
      auto report = must(cli::verify_store(*reader_));
      EXPECT_TRUE(report.problems.empty()) << cli::format_report(report);
    }
  }

  engine::Engine& engine(int node = 0) { return *engines_[node]; }
  engine::Outcome run(engine::CommandBody body, int node = 0) {
    return engines_[node]->execute(engine::Command{std::move(body), std::nullopt, nullptr});
  }
  // The command's value; a failure throws (the test fails with its message).
  template <typename T>
  T ok(engine::CommandBody body, int node = 0) {
    engine::Outcome out = run(std::move(body), node);
    if (!out.status.ok()) throw StoreTestError(out.status.message());
    return std::get<T>(out.value);
  }
  // Events of this type in the program's outbox (its first 1,000).
  int64_t events_of(std::string_view type) {
    auto events = must(reader_->list_outbox_events(program_, {}, 1000));
    int64_t n = 0;
    for (const auto& e : events) n += e.type == type ? 1 : 0;
    return n;
  }
  void clock_days(int d) { clock_.advance(Duration::from_days(d)); }
  // An order of one item at `price_minor` for `member`, placed now.
  engine::CreateOrder one_item_order(MemberId member, const std::string& external_id,
                                     int64_t price_minor, const std::string& currency,
                                     OrderStatus status) {
    engine::CreateOrder c;
    c.program_id = program_;
    c.order.external_id = external_id;
    c.order.currency = currency;
    c.order.placed_at = clock_.now();
    OrderItem item;
    item.sku = "SKU-1";
    item.name = "Thing";
    item.category = "things";
    item.quantity = 1;
    item.unit_price_minor = price_minor;
    c.order.items.push_back(item);
    c.customer.member_id = member;
    c.status = status;
    return c;
  }
  // A status change of an order, idempotent on event_id.
  void order_status(OrderId order, OrderStatus status, const std::string& event_id) {
    engine::UpdateOrderStatus u;
    u.program_id = program_;
    u.order_id = order;
    u.change.status = status;
    u.change.event_id = event_id;
    ok<engine::OrderResult>(u);
  }
  // A refund of an amount of an order, idempotent on event_id.
  void refund(OrderId order, int64_t amount_minor, const std::string& event_id) {
    engine::RefundOrder r;
    r.program_id = program_;
    r.order_id = order;
    r.change.event_id = event_id;
    r.change.amount_minor = amount_minor;
    ok<engine::OrderResult>(r);
  }
  MemberId enroll(const std::string& external_id) {
    engine::EnrollMember e;
    e.member.program_id = program_;
    e.member.external_id = external_id;
    e.member.email = external_id + "@example.com";
    return ok<Member>(e).id;
  }

  ManualClock clock_{Instant::from_seconds(1'780'000'000)};  // 2026-05-28T20:26:40Z
  std::unique_ptr<TestDatabase> db_;
  std::array<std::unique_ptr<engine::Engine>, 2> engines_;
  std::unique_ptr<StoreSession> reader_;
  ProgramId program_;
};

}  // namespace loyalty::store::testing
