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
#include "jobs/scheduler.h"
#include "sim/sim_support.h"

#ifndef LOYALTY_SPEC_DIR
#error "LOYALTY_SPEC_DIR must name the directory of the .spec files"
#endif

namespace loyalty::spec {
namespace {

const Instant kDefaultStart = Instant::from_seconds(1'704'067'200);  // 2024-01-01T00:00:00Z

// One parsed line: the verb, positional words, key=value options, and the
// expected outcome after `->` (empty when the step must succeed).
struct Step {
  int line = 0;
  std::string verb;
  std::vector<std::string> words;
  std::map<std::string, std::string> options;
  std::string expect;
};

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
    std::string raw;
    int line = 0;
    while (std::getline(in, raw)) {
      ++line;
      std::optional<Step> step = parse_line(raw, line);
      if (!step) continue;
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
        {"program", &Scenario::program}, {"clock", &Scenario::set_clock},
        {"tick", &Scenario::tick},       {"enroll", &Scenario::enroll},
        {"block", &Scenario::block},     {"unblock", &Scenario::unblock},
        {"credit", &Scenario::credit},   {"debit", &Scenario::debit},
        {"adjust", &Scenario::adjust},   {"transfer", &Scenario::transfer},
        {"reverse", &Scenario::reverse}, {"jobs", &Scenario::jobs},
        {"balance", &Scenario::balance}, {"verify", &Scenario::verify},
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
    for (const auto& w : s.words) all += w + " ";
    for (const auto& [k, v] : s.options) {
      if (k != "as") all += k + "=" + v + " ";
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
    clock_.set(t);
  }

  void tick(const Step& s) {
    std::optional<Duration> d = parse_duration(word(s, 0, "duration"));
    if (!d) fail("a duration is a number and d, h, m or s: " + s.words[0]);
    clock_.advance(*d);
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
    engine::Outcome out = execute(s, engine::EnrollMember{m});
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

  void jobs(const Step& s) {
    auto written = jobs::run_due_once(*reader_, *engine_, clock_);
    if (!written.ok()) fail("run_due_once: " + written.status().message());
    if (auto it = s.options.find("postings"); it != s.options.end()) {
      if (written.value() != integer(it->second)) {
        fail("expected " + it->second + " postings, the jobs wrote " +
             std::to_string(written.value()));
      }
    }
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
    if (s.options.empty()) fail("name at least one of available, pending, earned, ...");
    for (const auto& [key, want] : s.options) {
      auto it = fields.find(key);
      if (it == fields.end()) fail("unknown balance field " + key);
      if (it->second != integer(want)) {
        fail(name + "." + key + " is " + std::to_string(it->second) + ", expected " + want);
      }
    }
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

// The runner itself must fail on a wrong expectation, or no spec proves anything.
TEST(SpecRunner, FailsOnAWrongBalance) {
  std::string path = std::filesystem::temp_directory_path() /
                     ("loyalty-spec-selftest-" + std::to_string(::getpid()) + ".spec");
  {
    std::ofstream out(path);
    out << "program USD UTC\nenroll a\ncredit a 10\nbalance a available=11\n";
  }
  Scenario scenario("selftest");
  try {
    scenario.run(path);
    ADD_FAILURE() << "a wrong balance passed";
  } catch (const ScenarioError& e) {
    EXPECT_NE(std::string(e.what()).find("a.available is 10, expected 11"), std::string::npos)
        << e.what();
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace loyalty::spec
