// `loyaltyd import orders` (docs/import.md) through the real binary, on SQLite
// and PostgreSQL: the three formats give the same orders and points, a re-run
// imports nothing twice, customers become members only with --create-members,
// and every bad line is reported as FILE:LINE: what, stopping the import
// (nothing of that batch written) or, with --skip-invalid, going on.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "common/ids.h"
#include "engine/engine.h"
#include "system/harness.h"
#include "system/http_client.h"

namespace loyalty::system_test {
namespace {

// 1 point per unit of currency; points vest 14 days after delivery.
constexpr const char* kConfig = R"(
earning:
  rounding: floor
  return_window_days: 14
earn_rules:
  - id: spend
    name: 1 point per unit
    trigger: order
    kind: spend
    points_per_unit: 1
)";
constexpr const char* kAsOf = "2024-07-01T00:00:00Z";

// The same four orders in CSV and NDJSON: alice's delivered order of two lines
// (60.00: 60 points, vested), alice's paid order of 30.00 with 10.00 refunded
// (20 points pending), bob's paid order of 42.00 (42 pending), carol's order
// that was only placed (no points).
constexpr const char* kCsv =
    "external_id,customer_external_id,customer_email,status,placed_at,delivered_at,"
    "refunded_minor,total_minor,sku,name,category,quantity,unit_price_minor\n"
    "1001,alice,alice@example.com,delivered,2024-01-10T10:00:00Z,2024-01-15T10:00:00Z,,,A,Shoe,"
    "shoes,2,2500\n"
    "1001,,,,,,,,B,Socks,socks,1,1000\n"
    "1002,bob,bob@example.com,paid,2024-06-25,,,4200,,,,,\n"
    "1003,alice,,paid,2024-02-01T00:00:00Z,,1000,3000,,,,,\n"
    "1004,carol,\"carol@example.com\",placed,2024-03-01T00:00:00Z,,,1500,,,,,\n";
constexpr const char* kNdjson =
    R"({"external_id":"1001","member_external_id":"alice","customer":{"email":"alice@example.com"},"status":"delivered","placed_at":"2024-01-10T10:00:00Z","delivered_at":"2024-01-15T10:00:00Z","items":[{"sku":"A","name":"Shoe","category":"shoes","quantity":2,"unit_price_minor":2500},{"sku":"B","name":"Socks","category":"socks","quantity":1,"unit_price_minor":1000}]})"
    "\n"
    R"({"external_id":"1002","customer":{"external_id":"bob","email":"bob@example.com"},"status":"paid","placed_at":"2024-06-25","total_minor":4200})"
    "\n"
    R"({"external_id":"1003","member_external_id":"alice","status":"paid","placed_at":"2024-02-01T00:00:00Z","refunded_minor":1000,"total_minor":3000})"
    "\n\n"
    R"({"external_id":"1004","member_external_id":"carol","customer":{"email":"carol@example.com"},"status":"placed","placed_at":"2024-03-01T00:00:00Z","total_minor":1500})"
    "\n";

struct Summary {
  int64_t imported = -1, duplicates = -1, invalid = -1, members_created = -1, points = -1;
};
int64_t summary_field(const std::string& out, const std::string& label) {
  std::smatch m;
  if (!std::regex_search(out, m, std::regex(label + ": +([0-9]+)"))) return -1;
  return std::stoll(m[1]);
}
Summary summary_of(const CliResult& r) {
  return Summary{summary_field(r.out, "orders imported"),
                 summary_field(r.out, "duplicates skipped"), summary_field(r.out, "invalid lines"),
                 summary_field(r.out, "members created"), summary_field(r.out, "points earned")};
}

class ImportCli : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    std::string skip;
    store_ = TestStore::create(GetParam(), &skip);
    if (!store_) GTEST_SKIP() << skip;
    program_ = create_program(*store_, "USD").program_id;
    SystemClock clock;
    auto engine = engine::Engine::start(store_->url(), clock);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    engine::Outcome put = (*engine)->execute(engine::Command{
        engine::PutConfig{*parse_id<ProgramTag>(program_), kConfig, ConfigFormat::kYaml, "test"},
        std::nullopt, nullptr});
    ASSERT_TRUE(put.status.ok()) << put.status.message();
  }

  std::string write(const std::string& name, const std::string& content) {
    std::string path = store_->dir() + "/" + name;
    std::ofstream(path) << content;
    return path;
  }
  CliResult import(const std::string& path, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"import",    "orders", path,      "--db", store_->url(),
                                     "--program", program_, "--as-of", kAsOf};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cli(args);
  }
  std::unique_ptr<store::StoreSession> reader() {
    auto s = store::open_session(store_->url());
    EXPECT_TRUE(s.ok());
    return std::move(s).value();
  }
  ProgramId program_id() const { return *parse_id<ProgramTag>(program_); }
  // available/pending of the member with this external id; nullopt: no member.
  std::optional<std::pair<int64_t, int64_t>> balance(const std::string& external_id) {
    auto r = reader();
    auto m = r->find_member_by_external_id(program_id(), external_id);
    EXPECT_TRUE(m.ok());
    if (!*m) return std::nullopt;
    auto b = r->get_balance(program_id(), (*m)->id);
    EXPECT_TRUE(b.ok());
    return std::pair{b->available.value, b->pending.value};
  }
  std::optional<Order> order(const std::string& external_id) {
    auto o = reader()->find_order_by_external_id(program_id(), external_id);
    EXPECT_TRUE(o.ok());
    return *o;
  }
  void expect_verified() {
    CliResult v = run_cli({"verify", "--db", store_->url()});
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  }

  std::unique_ptr<TestStore> store_;
  std::string program_;
};

TEST_P(ImportCli, CsvAndNdjsonGiveTheSameOrdersAndPointsAndAReRunImportsNothing) {
  for (const auto& [name, content] :
       {std::pair{"orders.csv", kCsv}, std::pair{"orders.ndjson", kNdjson}}) {
    SCOPED_TRACE(name);
    SetUp();  // a fresh store and program per format
    std::string path = write(name, content);
    CliResult first = import(path, {"--create-members"});
    ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
    Summary s = summary_of(first);
    EXPECT_EQ(s.imported, 4);
    EXPECT_EQ(s.duplicates, 0);
    EXPECT_EQ(s.invalid, 0);
    EXPECT_EQ(s.members_created, 3);
    EXPECT_EQ(s.points, 60 + 42 + 30);
    EXPECT_EQ(balance("alice"), (std::pair<int64_t, int64_t>{60, 20}));
    EXPECT_EQ(balance("bob"), (std::pair<int64_t, int64_t>{0, 42}));
    EXPECT_EQ(balance("carol"), (std::pair<int64_t, int64_t>{0, 0}));
    auto o1001 = order("1001");
    ASSERT_TRUE(o1001.has_value());
    EXPECT_EQ(o1001->items.size(), 2u);
    EXPECT_EQ(o1001->total_minor, 6000);
    EXPECT_EQ(o1001->status, OrderStatus::kDelivered);
    EXPECT_EQ(o1001->delivered_at, parse_rfc3339("2024-01-15T10:00:00Z"));
    auto o1003 = order("1003");
    ASSERT_TRUE(o1003.has_value());
    EXPECT_EQ(o1003->refunded_minor, 1000);
    EXPECT_EQ(o1003->points_reversed, 10);
    EXPECT_EQ(order("1004")->status, OrderStatus::kPlaced);
    expect_verified();

    CliResult again = import(path, {"--create-members"});
    ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
    Summary a = summary_of(again);
    EXPECT_EQ(a.imported, 0);
    EXPECT_EQ(a.duplicates, 4);
    EXPECT_EQ(a.members_created, 0);
    EXPECT_EQ(balance("alice"), (std::pair<int64_t, int64_t>{60, 20}));
    EXPECT_EQ(balance("bob"), (std::pair<int64_t, int64_t>{0, 42}));
  }
}

TEST_P(ImportCli, WithoutCreateMembersUnknownCustomersGetGuestOrders) {
  CliResult r = import(write("orders.csv", kCsv), {"--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(summary_of(r).imported, 4);
  EXPECT_EQ(summary_of(r).members_created, 0);
  EXPECT_EQ(summary_of(r).points, 0);
  EXPECT_EQ(balance("alice"), std::nullopt);
  auto o = order("1001");
  ASSERT_TRUE(o.has_value());
  EXPECT_FALSE(o->member_id.valid());
  EXPECT_EQ(o->customer_external_id, "alice");
  EXPECT_EQ(o->customer_email, "alice@example.com");
  EXPECT_TRUE(r.err.empty()) << "--quiet prints no progress: " << r.err;
  expect_verified();
}

TEST_P(ImportCli, CdnowLinesAreOrdersOfTheirCustomerPaidOnTheirDate) {
  std::string path = write("cdnow.txt",
                           " customer_id  date number_of_cds  dollar_value\n"
                           " 00001 19970101  1   11.77\n"
                           " 00002 19970112  1   12.00\n"
                           " 00001 19970220  2   20.5\n");
  CliResult r = import(path, {"--format", "cdnow", "--create-members"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(summary_of(r).imported, 3);
  EXPECT_EQ(summary_of(r).members_created, 2);
  EXPECT_EQ(summary_of(r).points, 11 + 12 + 20);
  auto o = order("cdnow-4");
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->total_minor, 2050);
  EXPECT_EQ(o->paid_at, parse_rfc3339("1997-02-19T23:00:00Z"));  // midnight in Berlin
  EXPECT_EQ(o->customer_external_id, "00001");
  // Not delivered: the points wait (vest_from: delivered).
  EXPECT_EQ(balance("00001"), (std::pair<int64_t, int64_t>{0, 31}));
  expect_verified();
}

// Each bad line: the file (after the header, where there is one) and the message.
struct BadLine {
  const char* name;
  const char* file;
  std::vector<std::string> options;
  const char* error;  // after "FILE:"
};

const BadLine kBadLines[] = {
    {"unknown_column", "external_id,colour\n1,red\n", {}, "1: unknown column 'colour'"},
    {"missing_external_id",
     "external_id,placed_at,total_minor\n,2024-01-01,100\n",
     {},
     "2: external_id: is required"},
    {"other_currency",
     "external_id,currency,placed_at,total_minor\n1,EUR,2024-01-01,100\n",
     {},
     "2: currency: the order is in EUR but the program counts in USD"},
    {"bad_instant",
     "external_id,placed_at,total_minor\n1,yesterday,100\n",
     {},
     "2: placed_at: must be an RFC 3339 timestamp or a date YYYY-MM-DD, not 'yesterday'"},
    {"bad_status",
     "external_id,status,placed_at,total_minor\n1,lost,2024-01-01,100\n",
     {},
     "2: status: must be placed, paid, shipped, delivered, cancelled or returned, not 'lost'"},
    {"status_without_instant",
     "external_id,status,placed_at,total_minor\n1,delivered,2024-01-01,100\n",
     {},
     "2: delivered_at: is required when the status is delivered"},
    {"instants_out_of_order",
     "external_id,placed_at,paid_at,delivered_at,total_minor\n"
     "1,2024-01-01,2024-01-05,2024-01-03,100\n",
     {},
     "2: delivered_at: before paid_at"},
    {"no_items_no_total",
     "external_id,placed_at\n1,2024-01-01\n",
     {},
     "2: items: give the order's items or its total_minor"},
    {"total_disagrees",
     "external_id,placed_at,total_minor,sku,quantity,unit_price_minor\n1,2024-01-01,5000,A,1,"
     "4000\n",
     {},
     "2: total_minor: 5000 but the items add up to 4000"},
    {"refund_above_total",
     "external_id,status,placed_at,refunded_minor,total_minor\n1,paid,2024-01-01,6000,5000\n",
     {},
     "2: refunded_minor: 6000 is more than the order's total 5000"},
    {"not_an_integer",
     "external_id,placed_at,sku,quantity,unit_price_minor\n1,2024-01-01,A,two,100\n",
     {},
     "2: quantity: must be an integer, not 'two'"},
    {"in_the_future",
     "external_id,placed_at,total_minor\n1,2030-01-01T00:00:00Z,100\n",
     {},
     "2: placed_at: 2030-01-01T00:00:00Z is in the future (the import runs as of "
     "2024-07-01T00:00:00Z)"},
    {"customer_out_of_order",
     "external_id,customer_external_id,status,placed_at,total_minor\n"
     "1,ann,paid,2024-02-01,100\n2,ann,paid,2024-01-01,100\n",
     {},
     "3: the order is earlier than this customer's order on line 2: a customer's orders must "
     "come in time order"},
    {"field_count",
     "external_id,placed_at,total_minor\n1,2024-01-01\n",
     {},
     "2: expected 3 fields as in the header, found 2"},
    {"bad_row_after_an_order",
     "external_id,placed_at,total_minor\n1,2024-01-01,100\n2,2024-01-02\n",
     {},
     "3: expected 3 fields as in the header, found 2"},
    {"ndjson_unknown_field",
     R"({"external_id":"1","colour":"red"})",
     {"--format", "ndjson"},
     "1: colour: unknown field"},
    {"ndjson_not_json", "{\"external_id\":", {"--format", "ndjson"}, "1: "},
    {"cdnow_bad_amount",
     "00001 19970101 1 12,00\n",
     {"--format", "cdnow"},
     "1: dollars: must be an amount such as 12.34, not '12,00'"},
};

TEST_P(ImportCli, EachBadLineIsReportedWithItsFileAndLineAndNothingOfItsBatchIsWritten) {
  for (const BadLine& c : kBadLines) {
    SCOPED_TRACE(c.name);
    std::string path = write(std::string(c.name) + ".csv", c.file);
    CliResult r = import(path, c.options);
    EXPECT_EQ(r.exit_code, 1) << r.out;
    EXPECT_NE(r.err.find(path + ":" + c.error), std::string::npos) << r.err;
    EXPECT_EQ(summary_of(r).imported, 0) << r.out;
  }
  auto none = reader()->find_order_by_external_id(program_id(), "1");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_P(ImportCli, StoppingKeepsEarlierBatchesAndSkipInvalidGoesOnAndListsEveryBadLine) {
  std::string path = write("mixed.csv",
                           "external_id,status,placed_at,total_minor\n"
                           "1,paid,2024-01-01,100\n"
                           "2,paid,2024-01-02,200\n"
                           "3,paid,someday,300\n"
                           "4,paid,2024-01-04,400\n"
                           "5,lost,2024-01-05,500\n"
                           "6,paid,2024-01-06,600\n");
  // Batches of two: 1-2 commit, the batch of line 4 is not written at all.
  CliResult stopped = import(path, {"--batch-size", "2"});
  EXPECT_EQ(stopped.exit_code, 1);
  EXPECT_EQ(summary_of(stopped).imported, 2) << stopped.out;
  EXPECT_TRUE(order("2").has_value());
  EXPECT_FALSE(order("4").has_value());

  CliResult skipped = import(path, {"--skip-invalid"});
  EXPECT_EQ(skipped.exit_code, 1) << "something was skipped";
  Summary s = summary_of(skipped);
  EXPECT_EQ(s.imported, 2);  // 4 and 6; 1 and 2 are duplicates
  EXPECT_EQ(s.duplicates, 2);
  EXPECT_EQ(s.invalid, 2);
  EXPECT_NE(skipped.err.find(path + ":4: placed_at:"), std::string::npos) << skipped.err;
  EXPECT_NE(skipped.err.find(path + ":6: status:"), std::string::npos) << skipped.err;
  EXPECT_TRUE(order("6").has_value());
  expect_verified();
}

TEST_P(ImportCli, BadOptionsAreRefusedBeforeAnythingIsRead) {
  std::string path = write("orders.txt", kCsv);
  CliResult no_format = import(path);
  EXPECT_EQ(no_format.exit_code, 1);
  EXPECT_NE(no_format.err.find("cannot tell the format of"), std::string::npos) << no_format.err;
  CliResult bad_batch = import(write("o.csv", kCsv), {"--batch-size", "0"});
  EXPECT_EQ(bad_batch.exit_code, 1);
  EXPECT_NE(bad_batch.err.find("--batch-size must be between 1 and 100000"), std::string::npos);
  CliResult bad_program = run_cli(
      {"import", "orders", write("p.csv", kCsv), "--db", store_->url(), "--program", "prg_999"});
  EXPECT_EQ(bad_program.exit_code, 1);
  EXPECT_NE(bad_program.err.find("program prg_999 not found"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Stores, ImportCli,
                         ::testing::Values(StoreKind::kSqlite, StoreKind::kPostgres),
                         [](const auto& info) {
                           return info.param == StoreKind::kSqlite ? "Sqlite" : "Postgres";
                         });

}  // namespace
}  // namespace loyalty::system_test
