// The store conformance suite: every StoreSession method, through its
// contract, on both stores. A store that passes here can replace the other.
//
// Ledger tests build their postings with the pure plan_* functions, exactly as
// the engine does, then read everything back through the store.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "domain/ledger.h"
#include "store/migrations.h"
#include "store/store.h"
#include "store/store_test_support.h"

namespace loyalty::store {
namespace {

using testing::Backend;
using testing::describe;
using testing::must;
using testing::TestDatabase;

constexpr Instant kT0 = Instant::from_seconds(1'700'000'000);
constexpr Duration kMicro = Duration{1};
constexpr Duration kHour = Duration::from_seconds(3600);
Duration hours(int n) { return Duration::from_seconds(3600 * int64_t{n}); }
Duration days(int n) { return Duration::from_days(n); }
CreditRequest credit_of(int64_t points) {
  CreditRequest r;
  r.points = Points{points};
  return r;
}

class StoreConformance : public testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (!store_) return;  // skipped
    program_ = add_program("Coffee Club");
  }

  static Program program_template(const std::string& name) {
    Program p;
    p.name = name;
    p.currency = "EUR";
    p.timezone = "Europe/Berlin";
    p.points_name = "beans";
    p.point_value_minor = 1;
    p.point_value_points = 100;
    p.created_at = kT0;
    p.updated_at = kT0;
    return p;
  }

  Program add_program(const std::string& name) {
    Program p = program_template(name);
    p.id = must(store_->insert_program(p));
    return p;
  }

  static Member member_template(ProgramId program, const std::string& external_id,
                                const std::string& email) {
    Member m;
    m.program_id = program;
    m.external_id = external_id;
    m.email = email;
    m.created_at = kT0;
    m.updated_at = kT0;
    return m;
  }

  MemberId add_member(const std::string& external_id, const std::string& email = "a@example.com",
                      std::optional<ProgramId> program = std::nullopt) {
    return must(
        store_->insert_member(member_template(program.value_or(program_.id), external_id, email)));
  }

  // The member's ledger as the engine loads it before planning.
  MemberLedger ledger_of(MemberId id, const Program& program) {
    MemberLedger l;
    auto member = must(store_->find_member(program.id, id));
    if (!member) throw testing::StoreTestError("no member " + format_id(id));
    l.member = *member;
    l.balance = must(store_->get_balance(program.id, id));
    l.open_lots = must(store_->open_lots(program.id, id));
    return l;
  }
  MemberLedger ledger_of(MemberId id) { return ledger_of(id, program_); }

  // Writes a plan in its own write transaction, as the engine does.
  LedgerPlan apply(Result<LedgerPlan> planned) {
    LedgerPlan plan = must(std::move(planned));
    must(store_->begin_write());
    Status st = store_->apply_plan(plan);
    if (!st.ok()) {
      (void)store_->rollback();
      must(st);
    }
    must(store_->commit());
    return plan;
  }

  LedgerPlan credit(MemberId m, int64_t points, std::optional<Instant> expires_at = std::nullopt,
                    std::optional<Instant> available_at = std::nullopt, Instant now = kT0) {
    CreditRequest r;
    r.points = Points{points};
    r.reason = "purchase";
    r.actor = "key_1";
    r.expires_at = expires_at;
    r.available_at = available_at;
    return apply(plan_credit(program_, ledger_of(m), r, now));
  }

  LedgerPlan debit(MemberId m, int64_t points, Instant now) {
    DebitRequest r;
    r.points = Points{points};
    r.reason = "reward";
    r.actor = "key_1";
    return apply(plan_debit(program_, ledger_of(m), r, now));
  }

  LedgerPlan transfer(MemberId from, MemberId to, int64_t points, Instant now) {
    TransferRequest r;
    r.points = Points{points};
    r.reason = "gift";
    r.actor = "key_1";
    return apply(plan_transfer(program_, ledger_of(from), ledger_of(to), r, Points{0}, now));
  }

  Result<LedgerPlan> plan_reversal_of(const Posting& original, Instant now) {
    std::map<MemberId, MemberLedger> members;
    for (const Entry& e : original.entries) {
      if (members.find(e.member) == members.end()) members[e.member] = ledger_of(e.member);
    }
    return plan_reversal(program_, original, members, "refund", "key_1", now);
  }

  // The lot an entry of an applied plan points at.
  static LotId lot_of(const LedgerPlan& plan, size_t entry) {
    return plan.posting.entries.at(entry).lot.existing;
  }

  Lot lot(LotId id, MemberId member, PostingId posting, int64_t original, int64_t remaining,
          std::optional<Instant> expires_at, Instant created_at = kT0) {
    Lot l;
    l.id = id;
    l.member = member;
    l.posting = posting;
    l.original = Points{original};
    l.remaining = Points{remaining};
    l.created_at = created_at;
    l.expires_at = expires_at;
    return l;
  }

  static std::vector<Lot> sorted_by_id(std::vector<Lot> lots) {
    std::sort(lots.begin(), lots.end(), [](const Lot& a, const Lot& b) { return a.id < b.id; });
    return lots;
  }

  std::vector<MemberId> ids_of(const std::vector<Member>& members) {
    std::vector<MemberId> out;
    for (const Member& m : members) out.push_back(m.id);
    return out;
  }

  static std::vector<int64_t> posting_ids(const std::vector<Posting>& postings) {
    std::vector<int64_t> out;
    for (const Posting& p : postings) out.push_back(p.id.value);
    return out;
  }

  static std::vector<int64_t> lot_ids(const std::vector<Lot>& lots) {
    std::vector<int64_t> out;
    for (const Lot& l : lots) out.push_back(l.id.value);
    return out;
  }

  Program program_;
};

// ---- Schema ----

TEST_P(StoreConformance, MigrateBringsSchemaToTheLatestVersion) {
  EXPECT_EQ(must(store_->schema_version()), migrations().back().version);
}

TEST_P(StoreConformance, MigrateTwiceIsANoOpThatKeepsData) {
  MemberId m = add_member("c-1");
  must(store_->migrate());
  EXPECT_EQ(must(store_->schema_version()), migrations().back().version);
  EXPECT_TRUE(must(store_->find_member(program_.id, m)).has_value());
  int64_t rows = 0;
  must(store_->connection().query("SELECT COUNT(*) FROM schema_migrations", {},
                                  [&](const Row& r) { rows = r.get_int(0); }));
  EXPECT_EQ(rows, static_cast<int64_t>(migrations().size()));
}

TEST_P(StoreConformance, ConcurrentMigrateFromTwoSessionsAppliesEachMigrationOnce) {
  auto fresh = must(TestDatabase::create(GetParam()));
  auto first = must(fresh->open_session());
  auto second = must(fresh->open_session());
  Status first_status;
  Status second_status;
  std::thread other([&] { second_status = second->migrate(); });
  first_status = first->migrate();
  other.join();
  EXPECT_TRUE(first_status.ok()) << describe(first_status);
  EXPECT_TRUE(second_status.ok()) << describe(second_status);
  EXPECT_EQ(must(first->schema_version()), migrations().back().version);
  int64_t rows = 0;
  must(first->connection().query("SELECT COUNT(*) FROM schema_migrations", {},
                                 [&](const Row& r) { rows = r.get_int(0); }));
  EXPECT_EQ(rows, static_cast<int64_t>(migrations().size()));
}

// ---- Programs ----

TEST_P(StoreConformance, InsertedProgramReadsBackEveryField) {
  Program p = program_template("Tea Society");
  p.currency = "JPY";
  p.timezone = "Asia/Tokyo";
  p.points_name = "leaves";
  p.point_value_minor = 3;
  p.point_value_points = 7;
  p.negative_balance = NegativeBalancePolicy::kAllow;
  p.transfers = TransferPolicy{false, 5, 500, 1000};
  p.created_at = kT0 + kMicro;
  p.updated_at = kT0 + kHour;
  p.id = must(store_->insert_program(p));
  EXPECT_TRUE(p.id.valid());
  EXPECT_NE(p.id, program_.id);
  EXPECT_EQ(describe(must(store_->find_program(p.id))), describe(p));
}

TEST_P(StoreConformance, UnknownProgramIsNotFound) {
  EXPECT_FALSE(must(store_->find_program(ProgramId{program_.id.value + 1000})).has_value());
}

TEST_P(StoreConformance, UpdateProgramChangesItsSettings) {
  Program p = program_;
  p.name = "Coffee Club Gold";
  p.timezone = "America/New_York";
  p.points_name = "stars";
  p.point_value_minor = 5;
  p.point_value_points = 10;
  p.negative_balance = NegativeBalancePolicy::kAllow;
  p.transfers = TransferPolicy{false, 2, 20, 200};
  p.updated_at = kT0 + days(1);
  must(store_->update_program(p));
  EXPECT_EQ(describe(must(store_->find_program(p.id))), describe(p));
}

TEST_P(StoreConformance, UpdateOfUnknownProgramIsNotFound) {
  Program p = program_;
  p.id = ProgramId{program_.id.value + 1000};
  EXPECT_EQ(store_->update_program(p).code(), ErrorCode::kNotFound);
}

// ---- API keys ----

ApiKey key_template(ProgramId program, const std::string& hash) {
  ApiKey k;
  k.program_id = program;
  k.name = "backend";
  k.prefix = "lk_" + hash.substr(0, 4);
  k.key_hash = hash;
  k.scopes = {"members:read", "members:write", "ledger:write"};
  k.created_at = kT0;
  return k;
}

TEST_P(StoreConformance, ApiKeyReadsBackByHashAndById) {
  ApiKey k = key_template(program_.id, std::string(64, 'a'));
  k.id = must(store_->insert_api_key(k));
  EXPECT_TRUE(k.id.valid());
  EXPECT_EQ(describe(must(store_->find_api_key_by_hash(k.key_hash))), describe(k));
  EXPECT_EQ(describe(must(store_->find_api_key(program_.id, k.id))), describe(k));
  EXPECT_FALSE(must(store_->find_api_key_by_hash(std::string(64, 'b'))).has_value());
}

TEST_P(StoreConformance, ApiKeyOfAnotherProgramIsNotFound) {
  Program other = add_program("Other");
  ApiKey k = key_template(other.id, std::string(64, 'c'));
  k.id = must(store_->insert_api_key(k));
  EXPECT_FALSE(must(store_->find_api_key(program_.id, k.id)).has_value());
  EXPECT_EQ(store_->revoke_api_key(program_.id, k.id, kT0).code(), ErrorCode::kNotFound);
  EXPECT_TRUE(must(store_->list_api_keys(program_.id)).empty());
}

TEST_P(StoreConformance, ListApiKeysReturnsTheProgramsKeysInCreationOrder) {
  ApiKey a = key_template(program_.id, std::string(64, 'a'));
  ApiKey b = key_template(program_.id, std::string(64, 'b'));
  b.name = "storefront";
  b.scopes = {};
  a.id = must(store_->insert_api_key(a));
  b.id = must(store_->insert_api_key(b));
  Program other = add_program("Other");
  (void)must(store_->insert_api_key(key_template(other.id, std::string(64, 'c'))));
  EXPECT_EQ(describe(must(store_->list_api_keys(program_.id))), describe(std::vector{a, b}));
}

TEST_P(StoreConformance, RevokeApiKeyKeepsTheFirstRevocationTime) {
  ApiKey k = key_template(program_.id, std::string(64, 'd'));
  k.id = must(store_->insert_api_key(k));
  must(store_->revoke_api_key(program_.id, k.id, kT0 + kHour));
  must(store_->revoke_api_key(program_.id, k.id, kT0 + days(2)));
  k.revoked_at = kT0 + kHour;
  EXPECT_EQ(describe(must(store_->find_api_key(program_.id, k.id))), describe(k));
  EXPECT_EQ(store_->revoke_api_key(program_.id, ApiKeyId{k.id.value + 1000}, kT0).code(),
            ErrorCode::kNotFound);
}

TEST_P(StoreConformance, DuplicateApiKeyHashIsConflict) {
  (void)must(store_->insert_api_key(key_template(program_.id, std::string(64, 'e'))));
  EXPECT_EQ(store_->insert_api_key(key_template(program_.id, std::string(64, 'e'))).status().code(),
            ErrorCode::kConflict);
}

// ---- Members ----

TEST_P(StoreConformance, InsertedMemberReadsBackEveryField) {
  Member m = member_template(program_.id, "shopify:8812", "zoe@example.com");
  m.first_name = "Zoë";
  m.last_name = "O'Brien";
  m.birthday = LocalDate{1990, 2, 28};
  m.attributes_json = R"({"city":"Köln","vip":true})";
  m.consent = MarketingConsent{true, false, std::nullopt};
  m.status = MemberStatus::kBlocked;
  m.created_at = kT0 + kMicro;
  m.updated_at = kT0 + kHour;
  m.id = must(store_->insert_member(m));
  EXPECT_TRUE(m.id.valid());
  EXPECT_EQ(describe(must(store_->find_member(program_.id, m.id))), describe(m));
  EXPECT_EQ(describe(must(store_->find_member_by_external_id(program_.id, "shopify:8812"))),
            describe(m));
}

TEST_P(StoreConformance, MemberWithoutOptionalFieldsReadsBackWithoutThem) {
  Member m = member_template(program_.id, "c-1", "a@example.com");
  m.id = must(store_->insert_member(m));
  auto found = must(store_->find_member(program_.id, m.id));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->birthday, std::nullopt);
  EXPECT_EQ(found->consent, MarketingConsent{});
  EXPECT_EQ(found->attributes_json, "{}");
  EXPECT_EQ(describe(found), describe(m));
}

TEST_P(StoreConformance, MemberOfAnotherProgramIsNotFound) {
  Program other = add_program("Other");
  MemberId m = add_member("c-1", "a@example.com", other.id);
  EXPECT_FALSE(must(store_->find_member(program_.id, m)).has_value());
  EXPECT_FALSE(must(store_->find_member_by_external_id(program_.id, "c-1")).has_value());
  EXPECT_TRUE(must(store_->find_member_by_external_id(other.id, "c-1")).has_value());
}

TEST_P(StoreConformance, DuplicateExternalIdInAProgramIsConflict) {
  add_member("c-1");
  auto again = store_->insert_member(member_template(program_.id, "c-1", "other@example.com"));
  EXPECT_EQ(again.status().code(), ErrorCode::kConflict) << describe(again.status());
  Program other = add_program("Other");
  EXPECT_TRUE(store_->insert_member(member_template(other.id, "c-1", "a@example.com")).ok());
}

TEST_P(StoreConformance, UpdateMemberChangesItsProfileAndStatus) {
  Member m = member_template(program_.id, "c-1", "a@example.com");
  m.id = must(store_->insert_member(m));
  m.email = "new@example.com";
  m.first_name = "Ann";
  m.last_name = "Lee";
  m.birthday = LocalDate{2000, 1, 1};
  m.attributes_json = R"({"tier":"gold"})";
  m.consent = MarketingConsent{false, true, true};
  m.status = MemberStatus::kBlocked;
  m.updated_at = kT0 + days(3);
  must(store_->update_member(m));
  EXPECT_EQ(describe(must(store_->find_member(program_.id, m.id))), describe(m));

  m.birthday = std::nullopt;
  m.consent = MarketingConsent{};
  m.status = MemberStatus::kActive;
  must(store_->update_member(m));
  EXPECT_EQ(describe(must(store_->find_member(program_.id, m.id))), describe(m));
}

TEST_P(StoreConformance, UpdateOfUnknownMemberIsNotFound) {
  Member m = member_template(program_.id, "c-1", "a@example.com");
  m.id = MemberId{12345};
  EXPECT_EQ(store_->update_member(m).code(), ErrorCode::kNotFound);
}

TEST_P(StoreConformance, ListMembersFiltersByEmailExternalIdAndStatus) {
  MemberId ann1 = add_member("c-1", "ann@example.com");
  MemberId bob = add_member("c-2", "bob@example.com");
  MemberId ann2 = add_member("c-3", "ann@example.com");
  Member blocked = *must(store_->find_member(program_.id, bob));
  blocked.status = MemberStatus::kBlocked;
  must(store_->update_member(blocked));
  Program other = add_program("Other");
  add_member("c-1", "ann@example.com", other.id);

  auto list = [&](std::optional<std::string> email, std::optional<std::string> external_id,
                  std::optional<MemberStatus> status) {
    MemberQuery q;
    q.program_id = program_.id;
    q.email = email;
    q.external_id = external_id;
    q.status = status;
    return ids_of(must(store_->list_members(q)));
  };
  using V = std::vector<MemberId>;
  EXPECT_EQ(list({}, {}, {}), (V{ann1, bob, ann2}));
  EXPECT_EQ(list("ann@example.com", {}, {}), (V{ann1, ann2}));
  EXPECT_EQ(list({}, "c-2", {}), (V{bob}));
  EXPECT_EQ(list({}, {}, MemberStatus::kBlocked), (V{bob}));
  EXPECT_EQ(list({}, {}, MemberStatus::kActive), (V{ann1, ann2}));
  EXPECT_EQ(list("ann@example.com", "c-3", MemberStatus::kActive), (V{ann2}));
  EXPECT_EQ(list("ann@example.com", {}, MemberStatus::kBlocked), V{});
  EXPECT_EQ(list("nobody@example.com", {}, {}), V{});
}

TEST_P(StoreConformance, ListMembersPagesWithTheLastIdAsCursor) {
  std::vector<MemberId> all;
  for (int i = 1; i <= 7; ++i) all.push_back(add_member("c-" + std::to_string(i)));
  MemberQuery q;
  q.program_id = program_.id;
  q.limit = 3;
  std::vector<std::vector<MemberId>> pages;
  for (int page = 0; page < 4; ++page) {
    auto members = ids_of(must(store_->list_members(q)));
    pages.push_back(members);
    if (!members.empty()) q.after = members.back();
  }
  using V = std::vector<MemberId>;
  EXPECT_EQ(pages[0], (V{all[0], all[1], all[2]}));
  EXPECT_EQ(pages[1], (V{all[3], all[4], all[5]}));
  EXPECT_EQ(pages[2], (V{all[6]}));
  EXPECT_EQ(pages[3], V{});
}

TEST_P(StoreConformance, LockMembersSucceedsInsideAWriteTransaction) {
  MemberId a = add_member("c-1");
  MemberId b = add_member("c-2");
  must(store_->begin_write());
  Status both = store_->lock_members(program_.id, {a, b});
  EXPECT_TRUE(both.ok()) << describe(both);
  Status none = store_->lock_members(program_.id, {});
  EXPECT_TRUE(none.ok()) << describe(none);
  must(store_->commit());
}

// ---- Ledger ----

TEST_P(StoreConformance, BalanceOfAMemberWithoutPostingsIsZero) {
  MemberId m = add_member("c-1");
  EXPECT_EQ(must(store_->get_balance(program_.id, m)), Balance{});
  EXPECT_TRUE(must(store_->open_lots(program_.id, m)).empty());
  EXPECT_TRUE(must(store_->list_member_postings(program_.id, m, PostingId{}, 10)).empty());
}

TEST_P(StoreConformance, CreditWritesPostingLotAndBalance) {
  MemberId m = add_member("c-1");
  LedgerPlan plan = credit(m, 100, kT0 + days(30));
  PostingId id = plan.posting.id;
  ASSERT_TRUE(id.valid());
  LotId lot_id = lot_of(plan, 1);
  ASSERT_TRUE(lot_id.valid()) << "apply_plan turns new-lot references into lot ids";

  Posting expected;
  expected.id = id;
  expected.program_id = program_.id;
  expected.member = m;
  expected.kind = PostingKind::kCredit;
  expected.reason = "purchase";
  expected.source = "api";
  expected.actor = "key_1";
  expected.created_at = kT0;
  expected.entries = {Entry{m, Account::kIssuance, LotRef{}, Points{-100}},
                      Entry{m, Account::kAvailable, LotRef{lot_id, -1}, Points{100}}};
  EXPECT_EQ(describe(plan.posting), describe(expected));
  EXPECT_EQ(describe(must(store_->find_posting(program_.id, id))), describe(expected));

  EXPECT_EQ(describe(must(store_->open_lots(program_.id, m))),
            describe(std::vector{lot(lot_id, m, id, 100, 100, kT0 + days(30))}));
  Balance b;
  b.available = Points{100};
  b.lifetime_earned = Points{100};
  b.next_due_at = kT0 + days(30);
  EXPECT_EQ(must(store_->get_balance(program_.id, m)), b);
}

TEST_P(StoreConformance, DebitConsumesOldestExpiryFirst) {
  MemberId m = add_member("c-1");
  LotId late = lot_of(credit(m, 100, kT0 + days(30)), 1);
  LotId soon = lot_of(credit(m, 100, kT0 + days(10)), 1);
  LotId never = lot_of(credit(m, 100), 1);
  LedgerPlan d = debit(m, 150, kT0 + days(1));

  std::vector<Entry> entries = {Entry{m, Account::kAvailable, LotRef{soon, -1}, Points{-100}},
                                Entry{m, Account::kAvailable, LotRef{late, -1}, Points{-50}},
                                Entry{m, Account::kRedemption, LotRef{}, Points{150}}};
  auto stored = must(store_->find_posting(program_.id, d.posting.id));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->kind, PostingKind::kDebit);
  EXPECT_EQ(describe(stored->entries), describe(entries));

  auto open = sorted_by_id(must(store_->open_lots(program_.id, m)));
  EXPECT_EQ(lot_ids(open), (std::vector<int64_t>{late.value, never.value}));
  EXPECT_EQ(open[0].remaining, Points{50});
  EXPECT_EQ(open[1].remaining, Points{100});
  auto consumed = must(store_->lots_by_ids(program_.id, {soon}));
  ASSERT_EQ(consumed.size(), 1u);
  EXPECT_EQ(consumed[0].remaining, Points{0});
  EXPECT_EQ(consumed[0].original, Points{100});

  Balance b;
  b.available = Points{150};
  b.lifetime_earned = Points{300};
  b.lifetime_spent = Points{150};
  b.next_due_at = kT0 + days(30);
  EXPECT_EQ(must(store_->get_balance(program_.id, m)), b);
}

TEST_P(StoreConformance, PendingCreditBecomesDueAndVests) {
  MemberId m = add_member("c-1");
  Instant vests_at = kT0 + days(7);
  LedgerPlan c = credit(m, 100, kT0 + days(60), vests_at);
  LotId id = lot_of(c, 1);
  Lot pending = lot(id, m, c.posting.id, 100, 100, kT0 + days(60));
  pending.pending = true;
  pending.available_at = vests_at;
  EXPECT_EQ(describe(must(store_->open_lots(program_.id, m))), describe(std::vector{pending}));
  Balance b;
  b.pending = Points{100};
  b.lifetime_earned = Points{100};
  b.next_due_at = vests_at;
  EXPECT_EQ(must(store_->get_balance(program_.id, m)), b);

  EXPECT_TRUE(must(store_->members_due(vests_at - kMicro, 100)).empty());
  auto due = must(store_->members_due(vests_at, 100));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].program_id, program_.id);
  EXPECT_EQ(due[0].member_id, m);

  auto vesting = plan_vesting(program_, ledger_of(m), vests_at);
  ASSERT_TRUE(vesting.has_value());
  LedgerPlan v = apply(std::move(*vesting));
  auto stored = must(store_->find_posting(program_.id, v.posting.id));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(describe(stored->entries),
            describe(std::vector{Entry{m, Account::kPending, LotRef{id, -1}, Points{-100}},
                                 Entry{m, Account::kAvailable, LotRef{id, -1}, Points{100}}}));
  Lot vested = pending;
  vested.pending = false;
  EXPECT_EQ(describe(must(store_->open_lots(program_.id, m))), describe(std::vector{vested}));
  b.pending = Points{0};
  b.available = Points{100};
  b.next_due_at = kT0 + days(60);
  EXPECT_EQ(must(store_->get_balance(program_.id, m)), b);
  EXPECT_TRUE(must(store_->members_due(vests_at, 100)).empty());
}

TEST_P(StoreConformance, ExpiryRemovesWhatIsLeftOfDueLots) {
  MemberId m = add_member("c-1");
  LedgerPlan c = credit(m, 100, kT0 + days(1));
  LotId id = lot_of(c, 1);
  debit(m, 30, kT0 + kHour);
  auto expiry = plan_expiry(program_, ledger_of(m), kT0 + days(1));
  ASSERT_TRUE(expiry.has_value());
  LedgerPlan e = apply(std::move(*expiry));

  auto stored = must(store_->find_posting(program_.id, e.posting.id));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->kind, PostingKind::kExpiry);
  EXPECT_EQ(describe(stored->entries),
            describe(std::vector{Entry{m, Account::kAvailable, LotRef{id, -1}, Points{-70}},
                                 Entry{m, Account::kExpiry, LotRef{}, Points{70}}}));
  EXPECT_TRUE(must(store_->open_lots(program_.id, m)).empty());
  EXPECT_EQ(describe(must(store_->list_lots(program_.id, m, false, LotId{}, 10))),
            describe(std::vector{lot(id, m, c.posting.id, 100, 0, kT0 + days(1))}));
  Balance b;
  b.lifetime_earned = Points{100};
  b.lifetime_spent = Points{30};
  b.expired = Points{70};
  EXPECT_EQ(must(store_->get_balance(program_.id, m)), b);
  EXPECT_TRUE(must(store_->members_due(kT0 + days(365), 100)).empty());
}

TEST_P(StoreConformance, TransferMovesPointsWithTheirExpiry) {
  MemberId from = add_member("c-1");
  MemberId to = add_member("c-2");
  Instant expires = kT0 + days(90);
  LotId expiring = lot_of(credit(from, 100, expires), 1);
  LotId forever = lot_of(credit(from, 50), 1);
  LedgerPlan t = transfer(from, to, 120, kT0 + days(1));

  // The order of the receiver's new lots is the ledger's business; the store
  // must give back exactly what was planned.
  auto stored = must(store_->find_posting(program_.id, t.posting.id));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->counterparty, to);
  EXPECT_EQ(describe(stored), describe(t.posting));
  ASSERT_EQ(stored->entries.size(), 6u);
  EXPECT_EQ(
      describe(std::vector(stored->entries.begin(), stored->entries.begin() + 4)),
      describe(std::vector{Entry{from, Account::kAvailable, LotRef{expiring, -1}, Points{-100}},
                           Entry{from, Account::kAvailable, LotRef{forever, -1}, Points{-20}},
                           Entry{from, Account::kTransfer, LotRef{}, Points{120}},
                           Entry{to, Account::kTransfer, LotRef{}, Points{-120}}}));
  EXPECT_EQ(describe(must(store_->list_member_postings(program_.id, to, PostingId{}, 10))),
            describe(std::vector{t.posting}));

  // One lot per expiry the points had, each named by the posting's entries.
  auto received = must(store_->open_lots(program_.id, to));
  std::sort(received.begin(), received.end(),
            [](const Lot& a, const Lot& b) { return a.original < b.original; });
  ASSERT_EQ(received.size(), 2u);
  Instant at = kT0 + days(1);
  EXPECT_EQ(describe(received),
            describe(std::vector{lot(received[0].id, to, t.posting.id, 20, 20, std::nullopt, at),
                                 lot(received[1].id, to, t.posting.id, 100, 100, expires, at)}));
  std::vector<LotId> named = {stored->entries[4].lot.existing, stored->entries[5].lot.existing};
  std::sort(named.begin(), named.end());
  EXPECT_EQ(lot_ids(sorted_by_id(received)),
            (std::vector<int64_t>{named[0].value, named[1].value}));

  Balance sender;
  sender.available = Points{30};
  sender.lifetime_earned = Points{150};
  sender.transferred_net = Points{-120};
  EXPECT_EQ(must(store_->get_balance(program_.id, from)), sender);
  Balance receiver;
  receiver.available = Points{120};
  receiver.transferred_net = Points{120};
  receiver.next_due_at = expires;
  EXPECT_EQ(must(store_->get_balance(program_.id, to)), receiver);
}

TEST_P(StoreConformance, TransferredOutSinceSumsTheSendersTransfersFromAnInstant) {
  MemberId a = add_member("c-1");
  MemberId b = add_member("c-2");
  credit(a, 1000);
  credit(b, 1000);
  transfer(a, b, 100, kT0 + kHour);
  transfer(a, b, 30, kT0 + hours(2));
  transfer(b, a, 7, kT0 + hours(2));
  debit(a, 500, kT0 + hours(3));
  EXPECT_EQ(must(store_->transferred_out_since(program_.id, a, kT0)), Points{130});
  EXPECT_EQ(must(store_->transferred_out_since(program_.id, a, kT0 + kHour)), Points{130});
  EXPECT_EQ(must(store_->transferred_out_since(program_.id, a, kT0 + kHour + kMicro)), Points{30});
  EXPECT_EQ(must(store_->transferred_out_since(program_.id, a, kT0 + hours(3))), Points{0});
  EXPECT_EQ(must(store_->transferred_out_since(program_.id, b, kT0)), Points{7});
}

TEST_P(StoreConformance, ReversalCompensatesAndIsFoundFromTheOriginal) {
  MemberId m = add_member("c-1");
  LedgerPlan c = credit(m, 100);
  LotId id = lot_of(c, 1);
  EXPECT_FALSE(must(store_->find_reversal_of(program_.id, c.posting.id)).has_value());
  LedgerPlan r = apply(plan_reversal_of(c.posting, kT0 + kHour));

  auto stored = must(store_->find_posting(program_.id, r.posting.id));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->kind, PostingKind::kReversal);
  EXPECT_EQ(stored->reverses, c.posting.id);
  EXPECT_EQ(describe(stored->entries),
            describe(std::vector{Entry{m, Account::kAvailable, LotRef{id, -1}, Points{-100}},
                                 Entry{m, Account::kIssuance, LotRef{}, Points{100}}}));
  EXPECT_EQ(must(store_->find_reversal_of(program_.id, c.posting.id)), r.posting.id);
  EXPECT_FALSE(must(store_->find_reversal_of(program_.id, r.posting.id)).has_value());
  EXPECT_EQ(must(store_->get_balance(program_.id, m)), Balance{});
}

TEST_P(StoreConformance, ReversalOfATransferReadsBackInPostingOrder) {
  MemberId from = add_member("c-1");
  MemberId to = add_member("c-2");
  credit(from, 100, kT0 + days(90));
  LedgerPlan t = transfer(from, to, 60, kT0 + kHour);
  LedgerPlan r = apply(plan_reversal_of(t.posting, kT0 + hours(2)));
  EXPECT_EQ(describe(must(store_->find_posting(program_.id, r.posting.id))), describe(r.posting));
  EXPECT_EQ(describe(must(store_->list_member_postings(program_.id, to, PostingId{}, 1))),
            describe(std::vector{r.posting}));
  Balance sender;
  sender.available = Points{100};
  sender.lifetime_earned = Points{100};
  sender.next_due_at = kT0 + days(90);
  EXPECT_EQ(must(store_->get_balance(program_.id, from)), sender);
  EXPECT_EQ(must(store_->get_balance(program_.id, to)), Balance{});
}

TEST_P(StoreConformance, APostingIsReversedAtMostOnceEvenByRacingWriters) {
  MemberId m = add_member("c-1");
  credit(m, 500);
  LedgerPlan c = credit(m, 100);
  // Both writers planned from the same state; the second must not land.
  LedgerPlan first = must(plan_reversal_of(c.posting, kT0 + kHour));
  LedgerPlan second = must(plan_reversal_of(c.posting, kT0 + kHour));
  apply(std::move(first));
  must(store_->begin_write());
  EXPECT_EQ(store_->apply_plan(second).code(), ErrorCode::kConflict);
  must(store_->rollback());
  Balance b;
  b.available = Points{500};
  b.lifetime_earned = Points{500};
  EXPECT_EQ(must(store_->get_balance(program_.id, m)), b);
}

TEST_P(StoreConformance, MemberPostingsAreNewestFirstWithTheLastIdAsCursor) {
  MemberId m = add_member("c-1");
  MemberId other = add_member("c-2");
  LedgerPlan c1 = credit(m, 10);
  LedgerPlan c2 = credit(m, 20);
  PostingId p1 = c1.posting.id;
  PostingId p2 = c2.posting.id;
  credit(other, 5);
  PostingId p3 = credit(m, 30).posting.id;
  PostingId p4 = debit(m, 15, kT0 + kHour).posting.id;
  auto page1 = must(store_->list_member_postings(program_.id, m, PostingId{}, 3));
  EXPECT_EQ(posting_ids(page1), (std::vector<int64_t>{p4.value, p3.value, p2.value}));
  auto page2 = must(store_->list_member_postings(program_.id, m, page1.back().id, 3));
  EXPECT_EQ(posting_ids(page2), (std::vector<int64_t>{p1.value}));
  EXPECT_TRUE(must(store_->list_member_postings(program_.id, m, p1, 3)).empty());
  EXPECT_EQ(
      describe(page1[0].entries),
      describe(std::vector{Entry{m, Account::kAvailable, LotRef{lot_of(c1, 1), -1}, Points{-10}},
                           Entry{m, Account::kAvailable, LotRef{lot_of(c2, 1), -1}, Points{-5}},
                           Entry{m, Account::kRedemption, LotRef{}, Points{15}}}));
}

TEST_P(StoreConformance, ListLotsIsNewestFirstAndCanSkipConsumedLots) {
  MemberId m = add_member("c-1");
  LotId l1 = lot_of(credit(m, 10, kT0 + days(1)), 1);
  LotId l2 = lot_of(credit(m, 10, kT0 + days(2)), 1);
  LotId l3 = lot_of(credit(m, 10, kT0 + days(3)), 1);
  LotId l4 = lot_of(credit(m, 10, kT0 + days(4)), 1);
  debit(m, 10, kT0 + kHour);  // consumes l1, the oldest expiry
  using V = std::vector<int64_t>;
  auto page1 = must(store_->list_lots(program_.id, m, false, LotId{}, 2));
  EXPECT_EQ(lot_ids(page1), (V{l4.value, l3.value}));
  auto page2 = must(store_->list_lots(program_.id, m, false, page1.back().id, 2));
  EXPECT_EQ(lot_ids(page2), (V{l2.value, l1.value}));
  EXPECT_TRUE(must(store_->list_lots(program_.id, m, false, l1, 2)).empty());
  EXPECT_EQ(lot_ids(must(store_->list_lots(program_.id, m, true, LotId{}, 10))),
            (V{l4.value, l3.value, l2.value}));
}

// The member's lots are indexed as two halves, open and spent (migration 11):
// a page of all lots merges them in id order, whichever half each lot is in.
TEST_P(StoreConformance, ListLotsMergesOpenAndSpentLotsInIdOrder) {
  MemberId m = add_member("c-1");
  // Expiries out of id order, so that the debit spends l2 and l4 (the earliest).
  const std::vector<int> expiry_days = {5, 1, 6, 2, 7};
  std::vector<int64_t> ids;
  for (int d : expiry_days) ids.push_back(lot_of(credit(m, 10, kT0 + days(d)), 1).value);
  debit(m, 20, kT0 + kHour);
  using V = std::vector<int64_t>;
  struct Case {
    bool open_only;
    int64_t before;  // 0: from the newest
    int limit;
    V expected;
  };
  const std::vector<Case> cases = {
      {false, 0, 2, V{ids[4], ids[3]}},  // an open lot, then a spent one
      {false, ids[3], 2, V{ids[2], ids[1]}},
      {false, ids[1], 2, V{ids[0]}},
      {false, 0, 10, V{ids[4], ids[3], ids[2], ids[1], ids[0]}},
      {true, 0, 10, V{ids[4], ids[2], ids[0]}},
      {true, ids[4], 1, V{ids[2]}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(::testing::Message()
                 << "open_only=" << c.open_only << " before=" << c.before << " limit=" << c.limit);
    EXPECT_EQ(
        lot_ids(must(store_->list_lots(program_.id, m, c.open_only, LotId{c.before}, c.limit))),
        c.expected);
  }
  EXPECT_EQ(lot_ids(sorted_by_id(must(store_->open_lots(program_.id, m)))),
            (V{ids[0], ids[2], ids[4]}));
}

TEST_P(StoreConformance, LotsByIdsReturnsOnlyTheProgramsLots) {
  MemberId m = add_member("c-1");
  LedgerPlan c1 = credit(m, 10);
  LedgerPlan c2 = credit(m, 20, kT0 + days(5));
  LotId l1 = lot_of(c1, 1);
  LotId l2 = lot_of(c2, 1);
  auto lots = sorted_by_id(must(store_->lots_by_ids(program_.id, {l2, l1, LotId{l2.value + 99}})));
  EXPECT_EQ(describe(lots),
            describe(std::vector{lot(l1, m, c1.posting.id, 10, 10, std::nullopt),
                                 lot(l2, m, c2.posting.id, 20, 20, kT0 + days(5))}));
  Program other = add_program("Other");
  EXPECT_TRUE(must(store_->lots_by_ids(other.id, {l1, l2})).empty());
}

TEST_P(StoreConformance, PostingOfAnotherProgramIsNotFound) {
  MemberId m = add_member("c-1");
  PostingId id = credit(m, 10).posting.id;
  Program other = add_program("Other");
  EXPECT_FALSE(must(store_->find_posting(other.id, id)).has_value());
  EXPECT_FALSE(must(store_->find_posting(program_.id, PostingId{id.value + 1})).has_value());
}

TEST_P(StoreConformance, MembersDueListsEveryProgramsMembersDueAtOrBeforeNow) {
  MemberId expiring = add_member("c-1");
  MemberId vesting = add_member("c-2");
  MemberId never = add_member("c-3");
  credit(expiring, 10, kT0 + days(5));
  credit(vesting, 10, std::nullopt, kT0 + days(3));
  credit(never, 10);
  Program other_program = add_program("Other");
  MemberId other = add_member("c-1", "a@example.com", other_program.id);
  {
    CreditRequest r;
    r.points = Points{10};
    r.expires_at = kT0 + days(4);
    apply(plan_credit(other_program, ledger_of(other, other_program), r, kT0));
  }
  auto due = [&](Instant now, int limit) {
    std::vector<std::pair<int64_t, int64_t>> out;
    for (const DueMember& d : must(store_->members_due(now, limit))) {
      out.emplace_back(d.program_id.value, d.member_id.value);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  using V = std::vector<std::pair<int64_t, int64_t>>;
  EXPECT_EQ(due(kT0 + days(3) - kMicro, 10), V{});
  EXPECT_EQ(due(kT0 + days(3), 10), (V{{program_.id.value, vesting.value}}));
  EXPECT_EQ(due(kT0 + days(5), 10), (V{{program_.id.value, expiring.value},
                                       {program_.id.value, vesting.value},
                                       {other_program.id.value, other.value}}));
  EXPECT_EQ(due(kT0 + days(5), 2).size(), 2u);
}

// ---- Idempotency ----

TEST_P(StoreConformance, IdempotencyKeyIsStoredOnceAndTheFirstRecordWins) {
  IdempotencyRecord first{"sha256:aaa", 201, R"({"id":"pst_1"})"};
  IdempotencyRecord second{"sha256:bbb", 422, R"({"type":"x"})"};
  EXPECT_TRUE(must(store_->insert_idempotency(program_.id, "order-1", first, kT0)));
  EXPECT_FALSE(must(store_->insert_idempotency(program_.id, "order-1", second, kT0 + kHour)));
  EXPECT_EQ(describe(must(store_->find_idempotency(program_.id, "order-1"))), describe(first));
  EXPECT_FALSE(must(store_->find_idempotency(program_.id, "order-2")).has_value());
}

TEST_P(StoreConformance, IdempotencyKeysArePerProgram) {
  Program other = add_program("Other");
  IdempotencyRecord mine{"f1", 201, "{}"};
  IdempotencyRecord theirs{"f2", 200, "[]"};
  EXPECT_TRUE(must(store_->insert_idempotency(program_.id, "k", mine, kT0)));
  EXPECT_TRUE(must(store_->insert_idempotency(other.id, "k", theirs, kT0)));
  EXPECT_EQ(describe(must(store_->find_idempotency(program_.id, "k"))), describe(mine));
  EXPECT_EQ(describe(must(store_->find_idempotency(other.id, "k"))), describe(theirs));
}

// ---- Transactions ----

TEST_P(StoreConformance, RollbackUndoesEveryWriteOfTheTransaction) {
  MemberId kept = add_member("c-0");
  must(store_->begin_write());
  MemberId m = must(store_->insert_member(member_template(program_.id, "c-1", "a@example.com")));
  LedgerPlan plan = must(plan_credit(program_, ledger_of(kept), credit_of(10), kT0));
  must(store_->apply_plan(plan));
  EXPECT_TRUE(must(store_->insert_idempotency(program_.id, "k", {"f", 201, "{}"}, kT0)));
  must(store_->rollback());

  EXPECT_FALSE(must(store_->find_member(program_.id, m)).has_value());
  EXPECT_FALSE(must(store_->find_posting(program_.id, plan.posting.id)).has_value());
  EXPECT_EQ(must(store_->get_balance(program_.id, kept)), Balance{});
  EXPECT_TRUE(must(store_->open_lots(program_.id, kept)).empty());
  EXPECT_FALSE(must(store_->find_idempotency(program_.id, "k")).has_value());
}

TEST_P(StoreConformance, RollbackToSavepointUndoesExactlyTheInnerWrites) {
  must(store_->begin_write());
  MemberId outer = must(store_->insert_member(member_template(program_.id, "c-1", "a@x.com")));
  must(store_->savepoint());
  MemberId inner = must(store_->insert_member(member_template(program_.id, "c-2", "b@x.com")));
  LedgerPlan undone = must(plan_credit(program_, ledger_of(outer), credit_of(7), kT0));
  must(store_->apply_plan(undone));
  must(store_->rollback_to_savepoint());
  must(store_->release_savepoint());
  must(store_->savepoint());
  LedgerPlan kept = must(plan_credit(program_, ledger_of(outer), credit_of(5), kT0));
  must(store_->apply_plan(kept));
  must(store_->release_savepoint());
  must(store_->commit());

  EXPECT_TRUE(must(store_->find_member(program_.id, outer)).has_value());
  EXPECT_FALSE(must(store_->find_member(program_.id, inner)).has_value());
  // (SQLite may hand the undone posting's id to the kept one: it never left the transaction.)
  EXPECT_EQ(describe(must(store_->list_member_postings(program_.id, outer, PostingId{}, 10))),
            describe(std::vector{kept.posting}));
  EXPECT_EQ(must(store_->get_balance(program_.id, outer)).available, Points{5});
  EXPECT_EQ(must(store_->open_lots(program_.id, outer)).size(), 1u);
}

TEST_P(StoreConformance, AFailedStatementInsideASavepointLeavesTheTransactionUsable) {
  must(store_->begin_write());
  MemberId first = must(store_->insert_member(member_template(program_.id, "c-1", "a@x.com")));
  must(store_->savepoint());
  auto duplicate = store_->insert_member(member_template(program_.id, "c-1", "b@x.com"));
  EXPECT_EQ(duplicate.status().code(), ErrorCode::kConflict);
  must(store_->rollback_to_savepoint());
  must(store_->release_savepoint());
  MemberId second = must(store_->insert_member(member_template(program_.id, "c-2", "c@x.com")));
  must(store_->commit());
  MemberQuery q;
  q.program_id = program_.id;
  EXPECT_EQ(ids_of(must(store_->list_members(q))), (std::vector<MemberId>{first, second}));
}

TEST_P(StoreConformance, UncommittedWritesAreInvisibleToAnotherSession) {
  auto reader = must(db_->open_session());
  must(store_->begin_write());
  MemberId m = must(store_->insert_member(member_template(program_.id, "c-1", "a@x.com")));
  EXPECT_FALSE(must(reader->find_member(program_.id, m)).has_value());
  must(store_->commit());
  EXPECT_TRUE(must(reader->find_member(program_.id, m)).has_value());
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreConformance,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return testing::backend_name(info.param);
                         });

}  // namespace
}  // namespace loyalty::store
