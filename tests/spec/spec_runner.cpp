// Spec tests: readable scenario files run against the real engine.
//
// Every tests/spec/cases/*.spec file is one test. Each runs on a fresh SQLite
// file with a ManualClock, so a year of a program takes milliseconds. The
// language is line based; docs/testing.md has the reference. In short:
//
//   # a comment
//   program USD Europe/Berlin negative_balance=allow
//   clock 2024-01-01T00:00:00Z          set the clock (never backwards)
//   tick 30d                            advance it (d, h, m, s)
//   enroll alice birthday=1990-02-28    a member named alice in the scenario
//   credit alice 100 expires=2024-06-01T00:00:00Z as=c1
//   debit alice 500 -> insufficient_points
//   reverse c1 -> already_reversed
//   jobs                                run the due-work scheduler once
//   balance alice available=70 pending=0 expired=30
//   verify                              every ledger invariant holds
//
// Earning through the engine's own commands:
//
//   config                              the program configuration (YAML), as an
//     earn_rules: [...]                 indented block, or `config FILE` under
//                                       tests/spec/configs/
//   order o1 alice 2xshoes@25.00 1xsocks@10.00 shipping=5.00 status=paid
//   order o2 guest=bob total=30.00      a guest order (bob may claim it later)
//   order-status o1 delivered at=2024-03-01T10:00:00Z event=e7
//   refund o1 shoes:1                   by line (SKU or line number) and units,
//   refund o1 amount=10.00              or by amount
//   event alice review_written product=p1
//   order-points o1 earned=60 reversed=25 standing=35
//
// A step ending in `-> outcome` expects that outcome (`ok` or an error code name
// from common/result.h, e.g. insufficient_points); a step without it must
// succeed. `as=NAME` names the posting a step made so later steps can refer to
// it; `key=K` sends an Idempotency-Key. A failure names the file and line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/verify.h"
#include "common/crypto.h"
#include "domain/order.h"
#include "jobs/scheduler.h"
#include "sim/sim_support.h"

#ifndef LOYALTY_SPEC_DIR
#error "LOYALTY_SPEC_DIR must name the directory of the .spec files"
#endif

namespace loyalty::spec {
namespace {

const Instant kDefaultStart = Instant::from_seconds(1'704'067'200);  // 2024-01-01T00:00:00Z

// One parsed line: the verb, positional words, key=value options, and the
// expected outcome after `->` (empty when the step must succeed). `block` holds
// the indented lines that follow a `config` line.
struct Step {
  int line = 0;
  std::string verb;
  std::vector<std::string> words;
  std::map<std::string, std::string> options;
  std::string expect;
  std::string block;
};

bool is_indented(const std::string& raw) {
  return !raw.empty() && (raw[0] == ' ' || raw[0] == '\t');
}
bool is_blank(const std::string& raw) {
  return raw.find_first_not_of(" \t\r") == std::string::npos;
}

std::optional<Step> parse_line(const std::string& raw, int line) {
  std::string text = raw.substr(0, raw.find('#'));
  Step step;
  step.line = line;
  size_t arrow = text.find("->");
  if (arrow != std::string::npos) {
    std::istringstream expect(text.substr(arrow + 2));
    expect >> step.expect;
    text = text.substr(0, arrow);
  }
  std::istringstream in(text);
  std::string word;
  if (!(in >> step.verb)) return std::nullopt;
  while (in >> word) {
    size_t eq = word.find('=');
    if (eq != std::string::npos && eq > 0) {
      step.options[word.substr(0, eq)] = word.substr(eq + 1);
    } else {
      step.words.push_back(word);
    }
  }
  return step;
}

// "30d", "12h", "90m", "5s" -> a duration; nullopt otherwise.
std::optional<Duration> parse_duration(const std::string& text) {
  if (text.size() < 2) return std::nullopt;
  char unit = text.back();
  int64_t n = 0;
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    n = n * 10 + (text[i] - '0');
  }
  switch (unit) {
    case 'd':
      return Duration::from_days(n);
    case 'h':
      return Duration::from_seconds(n * 3600);
    case 'm':
      return Duration::from_seconds(n * 60);
    case 's':
      return Duration::from_seconds(n);
    default:
      return std::nullopt;
  }
}

class ScenarioError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Runs one scenario file; throws ScenarioError naming the line on a failure.
class Scenario {
 public:
  explicit Scenario(std::string name) : name_(std::move(name)), db_(name_), clock_(kDefaultStart) {}
  ~Scenario() {
    if (engine_) engine_->stop();
  }

  void run(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw ScenarioError("cannot open " + path);
    std::vector<std::string> lines;
    for (std::string raw; std::getline(in, raw);) lines.push_back(raw);
    for (size_t i = 0; i < lines.size(); ++i) {
      std::optional<Step> step = parse_line(lines[i], static_cast<int>(i) + 1);
      if (!step) continue;
      // A `config` line without a file name owns the indented lines after it.
      if (step->verb == "config" && step->words.empty()) {
        while (i + 1 < lines.size() && (is_indented(lines[i + 1]) || is_blank(lines[i + 1]))) {
          step->block += lines[++i] + "\n";
        }
      }
      current_ = &*step;
      dispatch(*step);
    }
    if (engine_) verify_ledger();  // every scenario ends with the invariants
  }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    throw ScenarioError(name_ + ".spec:" + std::to_string(current_->line) + ": " + current_->verb +
                        ": " + message);
  }

  void dispatch(const Step& s) {
    static const std::map<std::string, void (Scenario::*)(const Step&)> kVerbs = {
        {"program", &Scenario::program},
        {"clock", &Scenario::set_clock},
        {"tick", &Scenario::tick},
        {"enroll", &Scenario::enroll},
        {"block", &Scenario::block},
        {"unblock", &Scenario::unblock},
        {"credit", &Scenario::credit},
        {"debit", &Scenario::debit},
        {"adjust", &Scenario::adjust},
        {"transfer", &Scenario::transfer},
        {"reverse", &Scenario::reverse},
        {"jobs", &Scenario::jobs},
        {"balance", &Scenario::balance},
        {"verify", &Scenario::verify},
        {"config", &Scenario::config},
        {"order", &Scenario::order},
        {"order-status", &Scenario::order_status},
        {"refund", &Scenario::refund},
        {"event", &Scenario::event},
        {"order-points", &Scenario::order_points},
    };
    auto it = kVerbs.find(s.verb);
    if (it == kVerbs.end()) fail("unknown verb");
    if (s.verb != "program" && s.verb != "clock" && s.verb != "tick" && !engine_) {
      fail("the scenario needs a `program` line first");
    }
    (this->*(it->second))(s);
  }

  // ---- helpers

  const std::string& word(const Step& s, size_t i, const char* what) const {
    if (i >= s.words.size()) fail(std::string("missing ") + what);
    return s.words[i];
  }
  int64_t integer(const std::string& text) const {
    try {
      size_t used = 0;
      int64_t v = std::stoll(text, &used);
      if (used != text.size()) fail("not an integer: " + text);
      return v;
    } catch (const std::logic_error&) {
      fail("not an integer: " + text);
    }
  }
  Instant instant(const std::string& text) const {
    std::optional<Instant> t = parse_rfc3339(text);
    if (!t) fail("not an RFC 3339 instant: " + text);
    return *t;
  }
  std::optional<Instant> optional_instant(const Step& s, const char* key) const {
    auto it = s.options.find(key);
    if (it == s.options.end()) return std::nullopt;
    return instant(it->second);
  }
  MemberId member(const std::string& name) const {
    auto it = members_.find(name);
    if (it == members_.end()) fail("no member named " + name + " in this scenario");
    return it->second;
  }

  // Executes a command and checks the outcome against the step's expectation.
  engine::Outcome execute(const Step& s, engine::CommandBody body) {
    engine::Command command{std::move(body), std::nullopt, nullptr};
    if (auto key = s.options.find("key"); key != s.options.end()) {
      command.idempotency =
          engine::Idempotency{key->second, sha256_hex(s.verb + " " + join_words(s))};
      command.render = sim::render_outcome;
    }
    engine::Outcome out = engine_->execute(std::move(command));
    std::string got = out.status.ok() ? "ok" : error_code_name(out.status.code());
    if (out.replay) got = "replay";
    if (const auto* o = std::get_if<engine::OrderResult>(&out.value); o && o->replayed) {
      got = "replay";  // the platform's event id (or the same order) again
    }
    std::string want = s.expect.empty() ? "ok" : s.expect;
    if (got != want) {
      fail("expected " + want + ", got " + got +
           (out.status.ok() ? "" : " (" + out.status.message() + ")"));
    }
    if (auto as = s.options.find("as"); as != s.options.end() && out.status.ok()) {
      if (const auto* p = std::get_if<Posting>(&out.value)) postings_[as->second] = p->id;
    }
    return out;
  }
  static std::string join_words(const Step& s) {
    std::string all;
    for (const auto& w : s.words) all.append(w).append(" ");
    for (const auto& [k, v] : s.options) {
      if (k != "as") all.append(k).append("=").append(v).append(" ");
    }
    return all;
  }

  // ---- verbs

  void program(const Step& s) {
    if (engine_) fail("one program per scenario");
    Program p;
    p.name = name_;
    p.currency = word(s, 0, "currency");
    p.timezone = word(s, 1, "time zone");
    if (auto it = s.options.find("negative_balance"); it != s.options.end()) {
      auto policy = parse_negative_balance_policy(it->second);
      if (!policy) fail("negative_balance must be allow or forbid");
      p.negative_balance = *policy;
    }
    if (auto it = s.options.find("transfer_daily_limit"); it != s.options.end()) {
      p.transfers.daily_limit_points = integer(it->second);
    }
    auto started = engine::Engine::start(db_.url(), clock_);
    if (!started.ok()) fail("engine start: " + started.status().message());
    engine_ = std::move(started).value();
    auto reader = store::open_session(db_.url());
    if (!reader.ok()) fail("reader: " + reader.status().message());
    reader_ = std::move(reader).value();
    engine::Outcome out =
        engine_->execute(engine::Command{engine::CreateProgram{p}, std::nullopt, nullptr});
    if (!out.status.ok()) fail("create program: " + out.status.message());
    program_ = std::get<engine::ProgramCreated>(out.value).program;
  }

  void set_clock(const Step& s) {
    Instant t = instant(word(s, 0, "instant"));
    if (t < clock_.now()) fail("the clock never goes backwards");
    move_clock_to(s, t);
  }

  void tick(const Step& s) {
    std::optional<Duration> d = parse_duration(word(s, 0, "duration"));
    if (!d) fail("a duration is a number and d, h, m or s: " + s.words[0]);
    move_clock_to(s, clock_.now() + *d);
  }

  // `jobs=daily` walks there a day at a time and runs the scheduler after each
  // step (as `loyaltyd serve` would keep running it); otherwise the clock jumps.
  void move_clock_to(const Step& s, Instant target) {
    auto it = s.options.find("jobs");
    if (it == s.options.end()) {
      clock_.set(target);
      return;
    }
    if (it->second != "daily") fail("jobs= takes `daily`");
    if (!engine_) fail("jobs=daily needs a `program` line first");
    for (;;) {
      Instant next = clock_.now() + Duration::from_days(1);
      clock_.set(next < target ? next : target);
      run_jobs();
      if (!(clock_.now() < target)) break;
    }
  }

  jobs::JobRunCounts run_jobs() {
    auto counts = jobs::run_jobs_once(*reader_, *engine_, clock_, jobs::JobSelection{});
    if (!counts.ok()) fail("run_jobs_once: " + counts.status().message());
    if (!counts.value().complete) fail("a job did not finish in one run");
    return counts.value();
  }

  void enroll(const Step& s) {
    const std::string& name = word(s, 0, "member name");
    if (members_.count(name) != 0) fail("member " + name + " is enrolled already");
    Member m;
    m.program_id = program_.id;
    m.external_id = name;
    m.email = s.options.count("email") ? s.options.at("email") : name + "@example.com";
    if (auto it = s.options.find("birthday"); it != s.options.end()) {
      m.birthday = parse_local_date(it->second);
      if (!m.birthday) fail("birthday must be YYYY-MM-DD");
    }
    engine::Outcome out = execute(s, engine::EnrollMember{m, {}, {}});
    if (out.status.ok()) members_[name] = std::get<Member>(out.value).id;
  }

  void block(const Step& s) {
    execute(s, engine::SetMemberStatus{program_.id, member(word(s, 0, "member")),
                                       MemberStatus::kBlocked});
  }
  void unblock(const Step& s) {
    execute(s, engine::SetMemberStatus{program_.id, member(word(s, 0, "member")),
                                       MemberStatus::kActive});
  }

  void credit(const Step& s) {
    CreditRequest r;
    r.points = Points{integer(word(s, 1, "points"))};
    r.reason = "spec";
    r.actor = "spec";
    r.available_at = optional_instant(s, "available");
    r.expires_at = optional_instant(s, "expires");
    execute(s, engine::Credit{program_.id, member(word(s, 0, "member")), r});
  }

  void debit(const Step& s) {
    DebitRequest r;
    r.points = Points{integer(word(s, 1, "points"))};
    r.reason = "spec";
    r.actor = "spec";
    execute(s, engine::Debit{program_.id, member(word(s, 0, "member")), r});
  }

  void adjust(const Step& s) {
    AdjustmentRequest r;
    r.points = Points{integer(word(s, 1, "points"))};
    r.reason_code = s.options.count("code") ? s.options.at("code") : "spec";
    r.reason = "spec";
    r.actor = "spec";
    r.expires_at = optional_instant(s, "expires");
    execute(s, engine::Adjust{program_.id, member(word(s, 0, "member")), r});
  }

  void transfer(const Step& s) {
    TransferRequest r;
    r.points = Points{integer(word(s, 2, "points"))};
    r.reason = "spec";
    r.actor = "spec";
    execute(s, engine::Transfer{program_.id, member(word(s, 0, "sender")),
                                member(word(s, 1, "receiver")), r});
  }

  void reverse(const Step& s) {
    const std::string& name = word(s, 0, "posting name");
    auto it = postings_.find(name);
    if (it == postings_.end()) fail("no posting named " + name + " (name one with as=)");
    execute(s, engine::Reverse{program_.id, it->second, "spec", "spec"});
  }

  // Runs every job once (vesting, expiry, warnings, birthdays, anniversaries)
  // and checks the counts named: postings (vesting and expiry), warnings,
  // birthdays, anniversaries.
  void jobs(const Step& s) {
    const jobs::JobRunCounts counts = run_jobs();
    const std::map<std::string, int64_t> got = {
        {"postings", counts.postings},
        {"warnings", counts.warnings},
        {"birthdays", counts.birthdays},
        {"anniversaries", counts.anniversaries},
    };
    check_fields("jobs", got, s.options, /*require_one=*/false);
  }

  void balance(const Step& s) {
    const std::string& name = word(s, 0, "member");
    auto b = reader_->get_balance(program_.id, member(name));
    if (!b.ok()) fail("get_balance: " + b.status().message());
    const Balance& got = b.value();
    const std::map<std::string, int64_t> fields = {
        {"available", got.available.value},
        {"pending", got.pending.value},
        {"earned", got.lifetime_earned.value},
        {"spent", got.lifetime_spent.value},
        {"expired", got.expired.value},
        {"adjusted", got.adjusted.value},
        {"transferred", got.transferred_net.value},
    };
    check_fields(name, fields, s.options, /*require_one=*/true);
  }

  // Compares each option with the field of that name.
  void check_fields(const std::string& what, const std::map<std::string, int64_t>& fields,
                    const std::map<std::string, std::string>& want, bool require_one) const {
    if (require_one && want.empty()) fail("name at least one field to check");
    for (const auto& [key, value] : want) {
      auto it = fields.find(key);
      if (it == fields.end())
        fail(std::string("unknown field ").append(key).append(" of ").append(what));
      if (it->second != integer(value)) {
        fail(std::string(what)
                 .append(".")
                 .append(key)
                 .append(" is ")
                 .append(std::to_string(it->second))
                 .append(", expected ")
                 .append(value));
      }
    }
  }

  // ---- earning through orders, events and the configuration

  void config(const Step& s) {
    std::string document = s.block;
    ConfigFormat format = ConfigFormat::kYaml;
    if (!s.words.empty()) {
      if (!document.empty()) fail("a file or an indented block, not both");
      std::filesystem::path file =
          std::filesystem::path(LOYALTY_SPEC_DIR) / ".." / "configs" / s.words[0];
      std::ifstream in(file);
      if (!in) fail("cannot read " + file.string());
      std::ostringstream text;
      text << in.rdbuf();
      document = text.str();
      if (file.extension() == ".json") format = ConfigFormat::kJson;
    }
    if (document.empty()) fail("the configuration is an indented block after the line, or a file");
    execute(s, engine::PutConfig{program_.id, document, format, "spec"});
  }

  // "25.00" in the program's currency -> minor units.
  int64_t money(const std::string& text) const {
    const int exponent = currency_exponent(program_.currency).value_or(2);
    size_t dot = text.find('.');
    std::string whole = text.substr(0, dot);
    std::string fraction = dot == std::string::npos ? "" : text.substr(dot + 1);
    if (whole.empty() || static_cast<int>(fraction.size()) > exponent ||
        whole.find_first_not_of("0123456789") != std::string::npos ||
        fraction.find_first_not_of("0123456789") != std::string::npos) {
      fail("not an amount of " + program_.currency + ": " + text);
    }
    fraction.resize(static_cast<size_t>(exponent), '0');
    return integer(whole + fraction);
  }

  // order NAME (MEMBER | guest=EXTERNAL_ID) (ITEM... | total=AMOUNT) [options]
  // ITEM is QUANTITYxCATEGORY@UNIT_PRICE (the SKU is the category); options:
  // shipping=, tax=, discount= (order level), at= (placed_at, default now),
  // status=paid (paid when placed), event= (the platform's event id).
  void order(const Step& s) {
    const std::string& name = word(s, 0, "order name");
    if (orders_.count(name) != 0) fail("order " + name + " exists already");
    engine::CreateOrder c;
    c.program_id = program_.id;
    size_t first_item = 1;
    if (auto guest = s.options.find("guest"); guest != s.options.end()) {
      c.customer.customer_external_id = guest->second;
      c.customer.customer_email = guest->second + "@example.com";
    } else {
      c.customer.member_id = member(word(s, 1, "member (or guest=)"));
      first_item = 2;
    }
    c.order.external_id = name;
    c.order.currency = program_.currency;
    c.order.channel = "web";
    c.order.placed_at = optional_instant(s, "at").value_or(clock_.now());
    for (size_t i = first_item; i < s.words.size(); ++i)
      c.order.items.push_back(order_item(s.words[i]));
    if (auto total = s.options.find("total"); total != s.options.end()) {
      if (!c.order.items.empty()) fail("items or total=, not both");
      c.order.items.push_back(order_item("1xgoods@" + total->second));
    }
    if (c.order.items.empty()) fail("an order needs items (2xshoes@25.00) or total=");
    for (const char* key : {"shipping", "tax", "discount"}) {
      auto it = s.options.find(key);
      if (it == s.options.end()) continue;
      int64_t minor = money(it->second);
      if (std::string(key) == "shipping") c.order.shipping_minor = minor;
      if (std::string(key) == "tax") c.order.tax_minor = minor;
      if (std::string(key) == "discount") c.order.discount_minor = minor;
    }
    if (auto status = s.options.find("status"); status != s.options.end()) {
      std::optional<OrderStatus> parsed = parse_order_status(status->second);
      if (!parsed) fail("unknown order status " + status->second);
      c.status = *parsed;
    }
    if (auto event = s.options.find("event"); event != s.options.end()) c.event_id = event->second;
    engine::Outcome out = execute(s, std::move(c));
    if (out.status.ok()) orders_[name] = std::get<engine::OrderResult>(out.value).order.id;
  }

  OrderItem order_item(const std::string& text) const {
    size_t x = text.find('x');
    size_t at = text.find('@');
    if (x == std::string::npos || at == std::string::npos || at < x) {
      fail("an item is QUANTITYxCATEGORY@UNIT_PRICE, e.g. 2xshoes@25.00: " + text);
    }
    OrderItem item;
    item.quantity = integer(text.substr(0, x));
    item.category = text.substr(x + 1, at - x - 1);
    item.sku = item.category;
    item.name = item.category;
    item.unit_price_minor = money(text.substr(at + 1));
    return item;
  }

  OrderId order_named(const std::string& name) const {
    auto it = orders_.find(name);
    if (it == orders_.end()) fail("no order named " + name + " in this scenario");
    return it->second;
  }

  // The platform's event id: event=, else ORDER:WHAT (unique per step kind).
  static std::string event_id(const Step& s, const std::string& what) {
    auto it = s.options.find("event");
    return it != s.options.end() ? it->second : s.words[0] + ":" + what;
  }

  // order-status NAME STATUS [at=T] [event=ID] [carrier=C] [tracking=N] [promised=DATE]
  void order_status(const Step& s) {
    engine::UpdateOrderStatus u;
    u.program_id = program_.id;
    u.order_id = order_named(word(s, 0, "order name"));
    std::optional<OrderStatus> status = parse_order_status(word(s, 1, "status"));
    if (!status) fail("unknown order status " + s.words[1]);
    u.change.status = *status;
    u.change.event_id = event_id(s, s.words[1]);
    u.change.occurred_at = optional_instant(s, "at");
    if (auto it = s.options.find("carrier"); it != s.options.end()) u.change.carrier = it->second;
    if (auto it = s.options.find("tracking"); it != s.options.end()) {
      u.change.tracking_number = it->second;
    }
    if (auto it = s.options.find("promised"); it != s.options.end()) {
      u.change.promised_delivery_date = parse_local_date(it->second);
      if (!u.change.promised_delivery_date) fail("promised= is a date YYYY-MM-DD");
    }
    execute(s, std::move(u));
  }

  // refund NAME (LINE:QUANTITY... | amount=AMOUNT) [at=T] [event=ID]; LINE is a
  // SKU (the item's category) or a line number.
  void refund(const Step& s) {
    engine::RefundOrder r;
    r.program_id = program_.id;
    r.order_id = order_named(word(s, 0, "order name"));
    r.change.event_id = event_id(s, "refund" + std::to_string(s.line));
    r.change.occurred_at = optional_instant(s, "at");
    r.change.reason = "spec";
    for (size_t i = 1; i < s.words.size(); ++i) {
      size_t colon = s.words[i].find(':');
      if (colon == std::string::npos) fail("a refunded line is SKU:QUANTITY or LINE:QUANTITY");
      OrderRefundLine line;
      std::string which = s.words[i].substr(0, colon);
      if (which.find_first_not_of("0123456789") == std::string::npos) {
        line.line = static_cast<int>(integer(which));
      } else {
        line.sku = which;
      }
      line.quantity = integer(s.words[i].substr(colon + 1));
      r.change.lines.push_back(line);
    }
    if (auto amount = s.options.find("amount"); amount != s.options.end()) {
      r.change.amount_minor = money(amount->second);
    }
    if (r.change.lines.empty() == !r.change.amount_minor)
      fail("refund lines or amount=, one of them");
    execute(s, std::move(r));
  }

  // event MEMBER TYPE [id=ID] [at=T] [ATTRIBUTE=VALUE...]
  void event(const Step& s) {
    engine::RecordEvent e;
    e.program_id = program_.id;
    e.member_id = member(word(s, 0, "member"));
    e.type = word(s, 1, "event type");
    e.external_id =
        s.options.count("id") ? s.options.at("id") : "spec-event-" + std::to_string(s.line);
    e.occurred_at = optional_instant(s, "at");
    e.actor = "spec";
    for (const auto& [key, value] : s.options) {
      if (key != "id" && key != "at" && key != "key") e.attributes.emplace_back(key, value);
    }
    execute(s, std::move(e));
  }

  // order-points NAME [earned=] [reversed=] [written_off=] [standing=]
  void order_points(const Step& s) {
    const std::string& name = word(s, 0, "order name");
    auto found = reader_->find_order(program_.id, order_named(name));
    if (!found.ok()) fail("find_order: " + found.status().message());
    if (!found.value()) fail("order " + name + " is not in the store");
    const Order& o = *found.value();
    const std::map<std::string, int64_t> fields = {
        {"earned", o.points_earned},
        {"reversed", o.points_reversed},
        {"written_off", o.points_written_off},
        {"standing", points_standing(o)},
    };
    check_fields(name, fields, s.options, /*require_one=*/true);
  }

  void verify(const Step&) { verify_ledger(); }

  void verify_ledger() {
    auto report = cli::verify_store(*reader_);
    if (!report.ok()) fail("verify_store: " + report.status().message());
    if (!report.value().problems.empty()) fail(cli::format_report(report.value()));
  }

  std::string name_;
  sim::TempDb db_;
  ManualClock clock_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<store::StoreSession> reader_;
  Program program_;
  std::map<std::string, MemberId> members_;
  std::map<std::string, PostingId> postings_;
  std::map<std::string, OrderId> orders_;
  const Step* current_ = nullptr;
};

std::vector<std::string> spec_files() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(LOYALTY_SPEC_DIR)) {
    if (entry.path().extension() == ".spec") files.push_back(entry.path().stem().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class Spec : public ::testing::TestWithParam<std::string> {};

TEST_P(Spec, Holds) {
  Scenario scenario(GetParam());
  try {
    scenario.run(std::string(LOYALTY_SPEC_DIR) + "/" + GetParam() + ".spec");
  } catch (const ScenarioError& e) {
    FAIL() << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, Spec, ::testing::ValuesIn(spec_files()),
                         [](const auto& info) { return info.param; });

// Runs `text` as a scenario; the ScenarioError's message, or "" when it held.
std::string run_text(const std::string& text) {
  std::string path = std::filesystem::temp_directory_path() /
                     ("loyalty-spec-selftest-" + std::to_string(::getpid()) + ".spec");
  {
    std::ofstream out(path);
    out << text;
  }
  std::string error;
  try {
    Scenario scenario("selftest");
    scenario.run(path);
  } catch (const ScenarioError& e) {
    error = e.what();
  }
  std::filesystem::remove(path);
  return error;
}

// The runner itself must fail on a wrong expectation, or no spec proves
// anything; and a malformed step names its line and verb.
TEST(SpecRunner, FailsOnWrongExpectationsAndMalformedSteps) {
  const std::string program = "program EUR UTC\nenroll a\n";
  const std::string earning = program + "config one_point_per_eur.yaml\n";
  struct Case {
    std::string script;
    std::string error;  // "" = the scenario holds
  };
  const Case cases[] = {
      {program + "credit a 10\nbalance a available=11\n",
       "selftest.spec:4: balance: a.available is 10, expected 11"},
      {earning + "order o1 a 2xbooks@12.50 status=paid\nbalance a available=25\n", ""},
      {earning + "order o1 a total=9.99 status=paid\norder-points o1 earned=10\n",
       "selftest.spec:5: order-points: o1.earned is 9, expected 10"},
      {program + "config\n  earning:\n    return_window_days: 400\n",
       "selftest.spec:3: config: expected ok, got invalid_config"},
      {program + "config -> invalid_config\n  earning:\n    return_window_days: 400\n", ""},
      {program + "config\n  earning:\n    return_window_days: 7\njobs postings=0 birthdays=0\n",
       ""},
      {program + "config missing.yaml\n", "selftest.spec:3: config: cannot read"},
      {earning + "order o1 a 2books@12.50\n",
       "selftest.spec:4: order: an item is QUANTITYxCATEGORY@UNIT_PRICE"},
      {earning + "order o1 a total=1.001\n", "selftest.spec:4: order: not an amount of EUR: 1.001"},
      {earning + "order o1 a\n", "selftest.spec:4: order: an order needs items"},
      {earning + "order o1 nobody total=1.00\n", "selftest.spec:4: order: no member named nobody"},
      {earning + "order-status o9 paid\n", "selftest.spec:4: order-status: no order named o9"},
      {earning + "order o1 a total=5.00\norder-status o1 sent\n",
       "selftest.spec:5: order-status: unknown order status sent"},
      {earning + "order o1 a total=5.00 status=paid\nrefund o1\n",
       "selftest.spec:5: refund: refund lines or amount=, one of them"},
      {earning + "order o1 a total=5.00 status=paid\nrefund o1 amount=6.00\n",
       "selftest.spec:5: refund: expected ok, got refund_exceeds_paid"},
      {earning +
           "order o1 a total=5.00 status=paid\nrefund o1 amount=6.00 -> refund_exceeds_paid\n",
       ""},
      {earning + "event a review.written\n",
       "selftest.spec:4: event: expected ok, got unknown_event_type"},
      {earning + "jobs birthday=1\n", "selftest.spec:4: jobs: unknown field birthday of jobs"},
      {program + "tick 2d jobs=hourly\n", "selftest.spec:3: tick: jobs= takes `daily`"},
  };
  for (const Case& c : cases) {
    std::string error = run_text(c.script);
    if (c.error.empty()) {
      EXPECT_EQ(error, "") << c.script;
    } else {
      EXPECT_NE(error.find(c.error), std::string::npos)
          << c.script << "\nwanted: " << c.error << "\ngot:    " << error;
    }
  }
}

}  // namespace
}  // namespace loyalty::spec
