// The deterministic randomized simulation of the ledger engine.
//
// Each seed drives the real Engine on a fresh SQLite file with a ManualClock
// through a random sequence of enrolments, credits (expiring, pending), debits
// (some above the balance), adjustments, transfers (to oneself, to blocked
// members, against limits), reversals (of anything, twice), block/unblock, clock
// jumps with and without the due-work job, and reused Idempotency-Keys (same
// request: replay; other request: mismatch).
//
// A reference model, written from the specification and not from ledger.cpp,
// predicts the outcome of every step (success or the exact error code) and every
// member's balances and open lots. After every step the members the step touched
// are read back through a separate read session and compared with the model;
// every kVerifyEvery steps and at the end of a seed, every member is compared and
// cli::verify_store must report no problem.
//
// Environment: LOYALTY_SIM_SEEDS (default 200), LOYALTY_SIM_STEPS (default 300),
// LOYALTY_SIM_SEED=<n> runs seed n only. A failure prints the seed and the log.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "cli/verify.h"
#include "common/crypto.h"
#include "jobs/scheduler.h"
#include "sim/sim_support.h"

namespace loyalty::sim {
namespace {

constexpr int kDefaultSeeds = 200;
constexpr int kDefaultSteps = 300;
constexpr int kVerifyEvery = 50;
constexpr int kMaxMembers = 12;
const Instant kStart = Instant::from_seconds(1'704'067'200);  // 2024-01-01T00:00:00Z

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atoi(v) : fallback;
}

std::string t(Instant i) { return format_rfc3339(i); }
std::string t(const std::optional<Instant>& i) { return i ? format_rfc3339(*i) : "-"; }

// ------------------------------------------------------------------ the model

// Everything below is the specification, restated:
// - a credit makes a lot; pending until available_at when that is in the future;
// - spending takes available lots oldest expiry first, lots without expiry last,
//   ties by creation instant, then creation order;
// - a debt ("deficit", allowed only by the allow policy) is paid by new points
//   as they become available, taken in that same order;
// - lots vest at available_at and expire at expires_at, in time order (vesting
//   first at equal instants), whenever the member is next touched or the job runs;
// - a reversal puts taken points back into the lots they came from (after paying
//   back the debt the original created), removes what the original added (from
//   its own lots first, then other available points, then debt if allowed), and
//   undoes the contra totals; points put back into an expired lot expire at once.
struct MLot {
  int member = 0;
  Instant created_at;
  bool pending = false;
  std::optional<Instant> available_at;
  std::optional<Instant> expires_at;
  int64_t original = 0;
  int64_t remaining = 0;
};

struct MMember {
  MemberId id;
  bool blocked = false;
  int64_t deficit = 0;  // <= 0
  int64_t earned = 0;
  int64_t spent = 0;
  int64_t expired = 0;
  int64_t adjusted = 0;
  int64_t transferred_net = 0;
};

struct Contra {
  int64_t earned = 0, spent = 0, adjusted = 0, transferred_net = 0;
};

struct MPosting {
  PostingId id;
  PostingKind kind = PostingKind::kCredit;
  int member = 0;
  int counterparty = -1;
  std::vector<std::pair<int, int64_t>> taken;  // lots of `member` it took points from
  int64_t into_deficit = 0;                    // debt it created for `member`
  int added_member = -1;
  std::vector<std::pair<int, int64_t>> added;  // lots it added points to (net of settling)
  int64_t settled = 0;                         // debt of added_member it paid
  std::map<int, Contra> contra;
  bool reversed = false;
};

struct IdemRecord {
  std::string fingerprint;
  engine::StoredResponse response;
};

bool consume_before(const MLot& a, int ia, const MLot& b, int ib) {
  if (a.expires_at.has_value() != b.expires_at.has_value()) return a.expires_at.has_value();
  if (a.expires_at && *a.expires_at != *b.expires_at) return *a.expires_at < *b.expires_at;
  if (a.created_at != b.created_at) return a.created_at < b.created_at;
  return ia < ib;
}

struct Model {
  Program program;
  std::vector<MMember> members;
  std::map<int64_t, int> member_index;  // MemberId value -> index
  std::vector<MLot> lots;
  std::vector<MPosting> postings;
  std::map<int64_t, int> posting_index;  // PostingId value -> index
  std::set<int64_t> system_postings;     // vesting/expiry postings seen in the store
  std::vector<std::tuple<Instant, int, int64_t>> transfers_sent;
  std::map<std::string, IdemRecord> idempotency;

  bool allow_debt() const { return program.negative_balance == NegativeBalancePolicy::kAllow; }

  std::vector<int> sorted_available(int m) const {
    std::vector<int> out;
    for (int i = 0; i < static_cast<int>(lots.size()); ++i) {
      if (lots[i].member == m && !lots[i].pending && lots[i].remaining > 0) out.push_back(i);
    }
    sort_consumption(out);
    return out;
  }
  void sort_consumption(std::vector<int>& v) const {
    std::sort(v.begin(), v.end(),
              [&](int a, int b) { return consume_before(lots[a], a, lots[b], b); });
  }
  int64_t available(int m) const {
    int64_t sum = members[m].deficit;
    for (const MLot& l : lots) {
      if (l.member == m && !l.pending) sum += l.remaining;
    }
    return sum;
  }
  int64_t pending(int m) const {
    int64_t sum = 0;
    for (const MLot& l : lots) {
      if (l.member == m && l.pending) sum += l.remaining;
    }
    return sum;
  }
  int64_t spendable(int m) const {
    int64_t sum = 0;
    for (int i : sorted_available(m)) sum += lots[i].remaining;
    return sum;
  }
  std::optional<Instant> next_due(int m) const {
    std::optional<Instant> due;
    for (const MLot& l : lots) {
      if (l.member != m || l.remaining <= 0) continue;
      for (auto when : {l.pending ? l.available_at : std::nullopt, l.expires_at}) {
        if (when && (!due || *when < *due)) due = when;
      }
    }
    return due;
  }

  int new_lot(int m, Instant now, int64_t points, bool pending, std::optional<Instant> available_at,
              std::optional<Instant> expires_at) {
    lots.push_back(MLot{m, now, pending, available_at, expires_at, points, points});
    return static_cast<int>(lots.size()) - 1;
  }

  // Pays the member's debt from these lots in consumption order; returns what
  // each lot paid.
  std::map<int, int64_t> settle(int m, std::vector<int> from) {
    std::map<int, int64_t> paid;
    sort_consumption(from);
    for (int i : from) {
      if (members[m].deficit == 0) break;
      if (lots[i].pending) continue;
      int64_t s = std::min(-members[m].deficit, lots[i].remaining);
      lots[i].remaining -= s;
      members[m].deficit += s;
      if (s > 0) paid[i] += s;
    }
    return paid;
  }

  // Takes `amount` available points in consumption order, then into debt when
  // allowed; false (and nothing changed) when the points do not suffice.
  bool take(int m, int64_t amount, bool allow_deficit, std::vector<std::pair<int, int64_t>>* taken,
            int64_t* into_deficit) {
    if (spendable(m) < amount && !allow_deficit) return false;
    int64_t left = amount;
    for (int i : sorted_available(m)) {
      if (left == 0) break;
      int64_t x = std::min(left, lots[i].remaining);
      lots[i].remaining -= x;
      left -= x;
      if (taken) taken->emplace_back(i, x);
    }
    members[m].deficit -= left;
    if (into_deficit) *into_deficit += left;
    return true;
  }

  // Vests and expires, in time order, everything due at or before now.
  void catch_up(int m, Instant now) {
    while (true) {
      int best = -1;
      bool best_vest = false;
      Instant best_at;
      for (int i = 0; i < static_cast<int>(lots.size()); ++i) {
        const MLot& l = lots[i];
        if (l.member != m || l.remaining <= 0) continue;
        bool vest = l.pending;
        std::optional<Instant> at = vest ? l.available_at : l.expires_at;
        if (!at || *at > now) continue;
        bool better =
            best < 0 || *at < best_at || (*at == best_at && vest && !best_vest) ||
            (*at == best_at && vest == best_vest && consume_before(l, i, lots[best], best));
        if (better) {
          best = i;
          best_vest = vest;
          best_at = *at;
        }
      }
      if (best < 0) return;
      if (best_vest) {
        lots[best].pending = false;
        settle(m, {best});
      } else {
        members[m].expired += lots[best].remaining;
        lots[best].remaining = 0;
      }
    }
  }
  void catch_up_all(Instant now) {
    for (int m = 0; m < static_cast<int>(members.size()); ++m) catch_up(m, now);
  }
};

bool valid_reason_code(const std::string& code) {
  if (code.empty() || code.size() > 64) return false;
  for (char c : code) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.')) {
      return false;
    }
  }
  return true;
}

// ------------------------------------------------------------------ commands

struct SimCmd {
  enum Kind { kEnroll, kCredit, kDebit, kAdjust, kTransfer, kReverse, kSetStatus } kind = kCredit;
  int64_t member = 0;  // MemberId value; may name no member
  int64_t other = 0;   // transfer receiver
  int64_t points = 0;
  std::optional<Instant> expires_at;
  std::optional<Instant> available_at;
  std::string reason_code;
  int64_t posting = 0;
  bool block = false;
  std::string external_id;

  // Also the idempotency fingerprint: equal strings mean equal requests.
  std::string describe() const {
    std::ostringstream o;
    switch (kind) {
      case kEnroll:
        o << "enroll " << external_id;
        break;
      case kCredit:
        o << "credit mem_" << member << " " << points << " expires=" << t(expires_at)
          << " available=" << t(available_at);
        break;
      case kDebit:
        o << "debit mem_" << member << " " << points;
        break;
      case kAdjust:
        o << "adjust mem_" << member << " " << points << " code=" << reason_code
          << " expires=" << t(expires_at);
        break;
      case kTransfer:
        o << "transfer mem_" << member << " -> mem_" << other << " " << points;
        break;
      case kReverse:
        o << "reverse pst_" << posting;
        break;
      case kSetStatus:
        o << (block ? "block" : "unblock") << " mem_" << member;
        break;
    }
    return o.str();
  }
};

struct Prediction {
  ErrorCode code = ErrorCode::kOk;
  std::optional<engine::StoredResponse> replay;
};

// ------------------------------------------------------------------ one seed

class SeedRun {
 public:
  SeedRun(uint64_t seed, int steps) : seed_(seed), steps_(steps), rng_(seed), clock_(kStart) {}

  // Runs the seed; false with failure() set on the first divergence.
  bool run() {
    TempDb db("seed" + std::to_string(seed_));
    auto started = engine::Engine::start(db.url(), clock_);
    if (!started.ok()) return fail("engine start: " + started.status().message());
    engine_ = std::move(started).value();
    auto reader = store::open_session(db.url());
    if (!reader.ok()) return fail("reader: " + reader.status().message());
    reader_ = std::move(reader).value();

    bool ok = setup() && steps();
    if (ok) ok = check_all_members("end of seed") && verify("end of seed");
    engine_->stop();
    reader_.reset();
    engine_.reset();
    return ok;
  }

  const std::string& failure() const { return failure_; }
  int steps_done() const { return step_; }

 private:
  // ---- random choices
  int64_t uniform(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  int64_t random_member() {
    if (chance(0.02)) return 999'999;  // no such member
    return model_.members[uniform(0, static_cast<int64_t>(model_.members.size()) - 1)].id.value;
  }
  int64_t random_amount(int64_t typical_max) {
    double r = std::uniform_real_distribution<double>(0, 1)(rng_);
    if (r < 0.01) return 0;
    if (r < 0.02) return -uniform(1, 100);
    if (r < 0.025) return kMaxPointsPerPosting + uniform(1, 10);
    if (r < 0.03) return kMaxPointsPerPosting;
    return uniform(1, typical_max);
  }
  Duration random_offset(int64_t max_seconds) {
    return Duration::from_seconds(uniform(1, max_seconds));
  }

  bool setup() {
    Program p;
    p.name = "sim " + std::to_string(seed_);
    p.currency = "EUR";
    p.timezone = "Europe/Berlin";
    p.negative_balance =
        chance(0.5) ? NegativeBalancePolicy::kAllow : NegativeBalancePolicy::kForbid;
    int64_t policy = uniform(0, 5);
    if (policy <= 2) {
      p.transfers = TransferPolicy{};  // no limits
    } else if (policy <= 4) {
      p.transfers = TransferPolicy{true, 5, 300, 500};
    } else {
      p.transfers = TransferPolicy{false, 1, 0, 0};
    }
    engine::Outcome out =
        engine_->execute(engine::Command{engine::CreateProgram{p}, std::nullopt, nullptr});
    if (!out.status.ok()) return fail("create program: " + out.status.message());
    model_.program = std::get<engine::ProgramCreated>(out.value).program;
    log("program " + format_id(model_.program.id) +
        " negative_balance=" + to_string(model_.program.negative_balance) + " transfers enabled=" +
        std::to_string(p.transfers.enabled) + " min=" + std::to_string(p.transfers.min_points) +
        " max=" + std::to_string(p.transfers.max_points) +
        " daily=" + std::to_string(p.transfers.daily_limit_points));
    for (int i = 0; i < 3; ++i) {
      if (!step_command(enroll_command(), std::nullopt)) return false;
    }
    return true;
  }

  SimCmd enroll_command() {
    SimCmd c;
    c.kind = SimCmd::kEnroll;
    c.external_id = "cust-" + std::to_string(next_external_++);
    return c;
  }

  SimCmd random_command() {
    SimCmd c;
    Instant now = clock_.now();
    int64_t r = uniform(0, 99);
    if (r < 3 && static_cast<int>(model_.members.size()) < kMaxMembers) return enroll_command();
    if (r < 30) {
      c.kind = SimCmd::kCredit;
      c.member = random_member();
      c.points = random_amount(500);
      if (chance(0.45)) {
        c.expires_at =
            chance(0.04) ? now - random_offset(86'400) : now + random_offset(120 * 86'400);
      }
      if (chance(0.3)) {
        c.available_at =
            chance(0.2) ? now - random_offset(86'400) : now + random_offset(30 * 86'400);
      }
    } else if (r < 48) {
      c.kind = SimCmd::kDebit;
      c.member = random_member();
      int m = index_of(c.member);
      c.points =
          (m >= 0 && chance(0.15)) ? std::max<int64_t>(1, model_.available(m)) : random_amount(600);
    } else if (r < 58) {
      c.kind = SimCmd::kAdjust;
      c.member = random_member();
      c.points = random_amount(300) * (chance(0.5) ? -1 : 1);
      c.reason_code = chance(0.05) ? "Bad Code" : "goodwill";
      if (chance(0.2)) c.expires_at = now + random_offset(60 * 86'400);
    } else if (r < 72) {
      c.kind = SimCmd::kTransfer;
      c.member = random_member();
      c.other = chance(0.06) ? c.member : random_member();
      c.points = random_amount(350);
    } else if (r < 88) {
      c.kind = SimCmd::kReverse;
      double which = std::uniform_real_distribution<double>(0, 1)(rng_);
      if (which < 0.03 || model_.postings.empty()) {
        c.posting = 999'999;  // no such posting
      } else if (which < 0.08 && !model_.system_postings.empty()) {
        auto it = model_.system_postings.begin();
        std::advance(it, uniform(0, static_cast<int64_t>(model_.system_postings.size()) - 1));
        c.posting = *it;
      } else {
        // Recent postings more often: they are still likely to be reversible.
        int64_t n = static_cast<int64_t>(model_.postings.size());
        int64_t i = chance(0.6) ? uniform(std::max<int64_t>(0, n - 8), n - 1) : uniform(0, n - 1);
        c.posting = model_.postings[i].id.value;
      }
    } else {
      c.kind = SimCmd::kSetStatus;
      c.member = random_member();
      int m = index_of(c.member);
      c.block = m >= 0 ? !model_.members[m].blocked : true;
      if (chance(0.2)) c.block = !c.block;  // no-op status changes too
    }
    return c;
  }

  int index_of(int64_t member_id) const {
    auto it = model_.member_index.find(member_id);
    return it == model_.member_index.end() ? -1 : it->second;
  }

  // ---- the model's prediction of one command, applied to `m` (a copy)
  ErrorCode predict(Model& m, const SimCmd& c, Instant now) {
    auto contra = [&](MPosting& p, int member) -> Contra& { return p.contra[member]; };
    switch (c.kind) {
      case SimCmd::kEnroll:
        return ErrorCode::kOk;
      case SimCmd::kSetStatus: {
        int i = index_of(c.member);
        if (i < 0) return ErrorCode::kNotFound;
        m.members[i].blocked = c.block;
        return ErrorCode::kOk;
      }
      case SimCmd::kCredit: {
        int i = index_of(c.member);
        if (i < 0) return ErrorCode::kNotFound;
        m.catch_up(i, now);
        if (c.points <= 0) return ErrorCode::kInvalidRequest;
        if (c.points > kMaxPointsPerPosting) return ErrorCode::kAmountOutOfRange;
        bool pending = c.available_at && *c.available_at > now;
        if (c.expires_at && *c.expires_at <= now) return ErrorCode::kInvalidRequest;
        if (c.expires_at && pending && *c.expires_at <= *c.available_at) {
          return ErrorCode::kInvalidRequest;
        }
        if (m.members[i].blocked) return ErrorCode::kMemberBlocked;
        MPosting p;
        p.kind = PostingKind::kCredit;
        p.member = p.added_member = i;
        int lot = m.new_lot(i, now, c.points, pending, pending ? c.available_at : std::nullopt,
                            c.expires_at);
        int64_t paid = pending ? 0 : m.settle(i, {lot})[lot];
        p.added = {{lot, c.points - paid}};
        p.settled = paid;
        m.members[i].earned += c.points;
        contra(p, i).earned = c.points;
        m.postings.push_back(p);
        return ErrorCode::kOk;
      }
      case SimCmd::kDebit: {
        int i = index_of(c.member);
        if (i < 0) return ErrorCode::kNotFound;
        m.catch_up(i, now);
        if (c.points <= 0) return ErrorCode::kInvalidRequest;
        if (c.points > kMaxPointsPerPosting) return ErrorCode::kAmountOutOfRange;
        if (m.members[i].blocked) return ErrorCode::kMemberBlocked;
        MPosting p;
        p.kind = PostingKind::kDebit;
        p.member = i;
        if (!m.take(i, c.points, false, &p.taken, nullptr)) return ErrorCode::kInsufficientPoints;
        m.members[i].spent += c.points;
        contra(p, i).spent = c.points;
        m.postings.push_back(p);
        return ErrorCode::kOk;
      }
      case SimCmd::kAdjust: {
        int i = index_of(c.member);
        if (i < 0) return ErrorCode::kNotFound;
        m.catch_up(i, now);
        if (c.points == 0) return ErrorCode::kInvalidRequest;
        int64_t magnitude = c.points < 0 ? -c.points : c.points;
        if (magnitude > kMaxPointsPerPosting) return ErrorCode::kAmountOutOfRange;
        if (!valid_reason_code(c.reason_code)) return ErrorCode::kInvalidRequest;
        if (c.expires_at && (c.points < 0 || *c.expires_at <= now)) {
          return ErrorCode::kInvalidRequest;
        }
        MPosting p;
        p.kind = PostingKind::kAdjustment;
        p.member = i;
        if (c.points > 0) {
          p.added_member = i;
          int lot = m.new_lot(i, now, magnitude, false, std::nullopt, c.expires_at);
          int64_t paid = m.settle(i, {lot})[lot];
          p.added = {{lot, magnitude - paid}};
          p.settled = paid;
        } else if (!m.take(i, magnitude, m.allow_debt(), &p.taken, &p.into_deficit)) {
          return ErrorCode::kInsufficientPoints;
        }
        m.members[i].adjusted += c.points;
        contra(p, i).adjusted = c.points;
        m.postings.push_back(p);
        return ErrorCode::kOk;
      }
      case SimCmd::kTransfer: {
        if (c.member == c.other) return ErrorCode::kTransferToSelf;
        int f = index_of(c.member);
        if (f < 0) return ErrorCode::kNotFound;
        m.catch_up(f, now);
        int to = index_of(c.other);
        if (to < 0) return ErrorCode::kNotFound;
        m.catch_up(to, now);
        if (c.points <= 0) return ErrorCode::kInvalidRequest;
        if (c.points > kMaxPointsPerPosting) return ErrorCode::kAmountOutOfRange;
        const TransferPolicy& policy = m.program.transfers;
        if (!policy.enabled) return ErrorCode::kTransfersDisabled;
        if (m.members[f].blocked || m.members[to].blocked) return ErrorCode::kMemberBlocked;
        if (c.points < policy.min_points) return ErrorCode::kTransferLimitExceeded;
        if (policy.max_points > 0 && c.points > policy.max_points) {
          return ErrorCode::kTransferLimitExceeded;
        }
        int64_t sent = 0;
        for (const auto& [at, from, points] : m.transfers_sent) {
          if (from == f && at >= now - Duration::from_days(1)) sent += points;
        }
        if (policy.daily_limit_points > 0 && sent + c.points > policy.daily_limit_points) {
          return ErrorCode::kTransferLimitExceeded;
        }
        MPosting p;
        p.kind = PostingKind::kTransfer;
        p.member = f;
        p.counterparty = to;
        p.added_member = to;
        if (!m.take(f, c.points, false, &p.taken, nullptr)) return ErrorCode::kInsufficientPoints;
        std::map<std::optional<Instant>, int64_t> by_expiry;
        for (const auto& [lot, x] : p.taken) by_expiry[m.lots[lot].expires_at] += x;
        std::vector<int> created;
        for (const auto& [expires_at, x] : by_expiry) {
          created.push_back(m.new_lot(to, now, x, false, std::nullopt, expires_at));
        }
        std::map<int, int64_t> paid = m.settle(to, created);
        for (int lot : created) {
          p.added.emplace_back(lot, m.lots[lot].original - paid[lot]);
          p.settled += paid[lot];
        }
        m.members[f].transferred_net -= c.points;
        m.members[to].transferred_net += c.points;
        contra(p, f).transferred_net = -c.points;
        contra(p, to).transferred_net = c.points;
        m.transfers_sent.emplace_back(now, f, c.points);
        m.postings.push_back(p);
        return ErrorCode::kOk;
      }
      case SimCmd::kReverse: {
        if (m.system_postings.count(c.posting)) return ErrorCode::kNotReversible;
        auto it = m.posting_index.find(c.posting);
        if (it == m.posting_index.end()) return ErrorCode::kNotFound;
        MPosting& orig = m.postings[it->second];
        if (orig.reversed) return ErrorCode::kAlreadyReversed;
        if (orig.kind == PostingKind::kReversal) return ErrorCode::kNotReversible;
        std::vector<int> involved = {orig.member};
        if (orig.counterparty >= 0) involved.push_back(orig.counterparty);
        for (int i : involved) m.catch_up(i, now);
        int owner = orig.member;
        // Put back what the original took: first the debt it created...
        if (orig.into_deficit > 0) {
          int64_t pay = std::min(orig.into_deficit, -m.members[owner].deficit);
          m.members[owner].deficit += pay;
          int64_t rest = orig.into_deficit - pay;
          if (rest > 0) m.new_lot(owner, now, rest, false, std::nullopt, std::nullopt);
        }
        // ...then the points into the very lots they came from.
        std::vector<int> restored;
        for (const auto& [lot, x] : orig.taken) {
          m.lots[lot].remaining += x;
          restored.push_back(lot);
        }
        m.settle(owner, restored);
        // Remove what it added: its own lots first, then other points, then debt.
        if (orig.added_member >= 0) {
          int a = orig.added_member;
          int64_t left = orig.settled;
          for (const auto& [lot, net] : orig.added) {
            int64_t x = std::min(net, m.lots[lot].remaining);
            m.lots[lot].remaining -= x;
            left += net - x;
          }
          if (left > 0 && !m.take(a, left, m.allow_debt(), nullptr, nullptr)) {
            return ErrorCode::kInsufficientPoints;
          }
        }
        for (const auto& [i, k] : orig.contra) {
          m.members[i].earned -= k.earned;
          m.members[i].spent -= k.spent;
          m.members[i].adjusted -= k.adjusted;
          m.members[i].transferred_net -= k.transferred_net;
        }
        orig.reversed = true;
        // Points put back into a lot that has expired meanwhile expire at once.
        for (int i : involved) m.catch_up(i, now);
        MPosting p;
        p.kind = PostingKind::kReversal;
        p.member = orig.member;
        p.counterparty = orig.counterparty;
        m.postings.push_back(p);
        return ErrorCode::kOk;
      }
    }
    return ErrorCode::kInternal;
  }

  std::vector<int> touched_by(const SimCmd& c) const {
    std::vector<int> out;
    auto add = [&](int64_t id) {
      int i = index_of(id);
      if (i >= 0 && std::find(out.begin(), out.end(), i) == out.end()) out.push_back(i);
    };
    add(c.member);
    add(c.other);
    if (c.kind == SimCmd::kReverse) {
      auto it = model_.posting_index.find(c.posting);
      if (it != model_.posting_index.end()) {
        const MPosting& p = model_.postings[it->second];
        out.push_back(p.member);
        if (p.counterparty >= 0 && p.counterparty != p.member) out.push_back(p.counterparty);
      }
    }
    return out;
  }

  engine::Command engine_command(const SimCmd& c) {
    ProgramId prg = model_.program.id;
    engine::CommandBody body;
    switch (c.kind) {
      case SimCmd::kEnroll: {
        Member mem;
        mem.program_id = prg;
        mem.external_id = c.external_id;
        mem.email = c.external_id + "@Example.com";
        body = engine::EnrollMember{mem, {}, {}};
        break;
      }
      case SimCmd::kCredit: {
        CreditRequest r;
        r.points = Points{c.points};
        r.reason = "sim credit";
        r.actor = "sim";
        r.expires_at = c.expires_at;
        r.available_at = c.available_at;
        body = engine::Credit{prg, MemberId{c.member}, r};
        break;
      }
      case SimCmd::kDebit: {
        DebitRequest r;
        r.points = Points{c.points};
        r.reason = "sim debit";
        r.actor = "sim";
        body = engine::Debit{prg, MemberId{c.member}, r};
        break;
      }
      case SimCmd::kAdjust: {
        AdjustmentRequest r;
        r.points = Points{c.points};
        r.reason_code = c.reason_code;
        r.reason = "sim adjustment";
        r.actor = "sim";
        r.expires_at = c.expires_at;
        body = engine::Adjust{prg, MemberId{c.member}, r};
        break;
      }
      case SimCmd::kTransfer: {
        TransferRequest r;
        r.points = Points{c.points};
        r.reason = "sim transfer";
        r.actor = "sim";
        body = engine::Transfer{prg, MemberId{c.member}, MemberId{c.other}, r};
        break;
      }
      case SimCmd::kReverse:
        body = engine::Reverse{prg, PostingId{c.posting}, "sim reversal", "sim"};
        break;
      case SimCmd::kSetStatus:
        body = engine::SetMemberStatus{prg, MemberId{c.member},
                                       c.block ? MemberStatus::kBlocked : MemberStatus::kActive};
        break;
    }
    return engine::Command{std::move(body), std::nullopt, nullptr};
  }

  // Executes one command against the engine and the model and compares.
  bool step_command(const SimCmd& c, std::optional<std::string> key) {
    Instant now = clock_.now();
    engine::Command cmd = engine_command(c);
    std::string fingerprint = sha256_hex(c.describe());
    if (key) {
      cmd.idempotency = engine::Idempotency{*key, fingerprint};
      cmd.render = render_outcome;
    }
    // Prediction.
    Model next = model_;
    Prediction want;
    auto known = key ? model_.idempotency.find(*key) : model_.idempotency.end();
    if (known != model_.idempotency.end()) {
      if (known->second.fingerprint == fingerprint) {
        want.replay = known->second.response;
      } else {
        want.code = ErrorCode::kIdempotencyMismatch;
      }
    } else {
      want.code = predict(next, c, now);
    }
    engine::Outcome out = engine_->execute(std::move(cmd));

    std::string line = "step " + std::to_string(step_) + " @" + t(now) + " " + c.describe() +
                       (key ? " key=" + *key : "") + " -> ";
    if (out.replay) {
      line += "replay";
    } else if (!out.status.ok()) {
      line += error_code_name(out.status.code());
    } else if (auto* p = std::get_if<Posting>(&out.value)) {
      line += "ok " + format_id(p->id);
    } else if (auto* mem = std::get_if<Member>(&out.value)) {
      line += "ok " + format_id(mem->id);
    } else {
      line += "ok";
    }
    log(line);

    if (want.replay) {
      if (!out.status.ok() || !out.replay) {
        return fail("expected a replay of the stored response, got " +
                    std::string(error_code_name(out.status.code())) + ": " + out.status.message());
      }
      if (out.replay->status_code != want.replay->status_code ||
          out.replay->body != want.replay->body) {
        return fail("replay differs from the first response:\n  first:  " + want.replay->body +
                    "\n  replay: " + out.replay->body);
      }
      return check_members(touched_by(c), "after replay");
    }
    if (out.replay) return fail("unexpected replay: " + out.replay->body);
    if (out.status.code() != want.code) {
      return fail(std::string("expected ") + error_code_name(want.code) + ", got " +
                  error_code_name(out.status.code()) + " (" + out.status.message() + ")");
    }
    if (want.code == ErrorCode::kOk) {
      model_ = std::move(next);
      if (c.kind == SimCmd::kEnroll) {
        const auto* mem = std::get_if<Member>(&out.value);
        if (mem == nullptr) return fail("enroll returned no member");
        MMember mm;
        mm.id = mem->id;
        model_.member_index[mem->id.value] = static_cast<int>(model_.members.size());
        model_.members.push_back(mm);
      } else if (c.kind != SimCmd::kSetStatus) {
        const auto* p = std::get_if<Posting>(&out.value);
        if (p == nullptr) return fail("ledger command returned no posting");
        if (model_.postings.empty()) return fail("model made no posting");
        MPosting& mp = model_.postings.back();
        if (mp.kind != p->kind) return fail("posting kind differs");
        mp.id = p->id;
        model_.posting_index[p->id.value] = static_cast<int>(model_.postings.size()) - 1;
        if (c.kind == SimCmd::kReverse && p->reverses.value != c.posting) {
          return fail("reversal does not name the posting it reverses");
        }
      }
      if (key) model_.idempotency[*key] = IdemRecord{fingerprint, render_outcome(out)};
    }
    return check_members(touched_by(c), "after step");
  }

  bool clock_jump() {
    int64_t r = uniform(0, 9);
    Duration d = r < 4   ? random_offset(3'600)
                 : r < 8 ? random_offset(3 * 86'400)
                         : random_offset(90 * 86'400);
    clock_.advance(d);
    bool run_job = chance(0.5);
    log("step " + std::to_string(step_) + " clock +" + std::to_string(d.micros / 1'000'000) +
        "s -> " + t(clock_.now()) + (run_job ? ", run due job" : ""));
    if (!run_job) return true;
    auto written = jobs::run_due_once(*reader_, *engine_, clock_);
    if (!written.ok()) return fail("run_due_once: " + written.status().message());
    model_.catch_up_all(clock_.now());
    std::vector<int> all(model_.members.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
    return check_members(all, "after the due job");
  }

  // Learns the ids of vesting/expiry postings so reversals can aim at them.
  bool learn_system_postings() {
    if (model_.members.empty()) return true;
    MemberId id = model_.members[uniform(0, static_cast<int64_t>(model_.members.size()) - 1)].id;
    auto postings = reader_->list_member_postings(model_.program.id, id, PostingId{}, 20);
    if (!postings.ok()) return fail("list postings: " + postings.status().message());
    for (const Posting& p : *postings) {
      if (p.kind == PostingKind::kVesting || p.kind == PostingKind::kExpiry) {
        model_.system_postings.insert(p.id.value);
      } else if (!model_.posting_index.count(p.id.value)) {
        return fail("the store holds " + format_id(p.id) + " (" + to_string(p.kind) +
                    ") that no command made");
      }
    }
    return true;
  }

  bool steps() {
    for (step_ = 1; step_ <= steps_; ++step_) {
      int64_t r = uniform(0, 99);
      bool ok = true;
      if (r < 9) {
        ok = clock_jump();
      } else if (r < 11) {
        ok = learn_system_postings();
      } else if (r < 17 && !used_keys_.empty()) {
        // Reuse an Idempotency-Key: with the same request, or another one.
        const auto& [key, cmd] =
            used_keys_[uniform(0, static_cast<int64_t>(used_keys_.size()) - 1)];
        std::string k = key;
        SimCmd c = chance(0.5) ? cmd : random_command();
        ok = step_command(c, k);
      } else {
        SimCmd c = random_command();
        std::optional<std::string> key;
        if (chance(0.25)) {
          key = "key-" + std::to_string(next_key_++);
          used_keys_.emplace_back(*key, c);
        }
        ok = step_command(c, key);
      }
      if (!ok) return false;
      if (step_ % kVerifyEvery == 0 &&
          !(check_all_members("periodic check") && verify("periodic check"))) {
        return false;
      }
    }
    step_ = steps_;
    return true;
  }

  // ---- comparisons
  bool check_all_members(const std::string& when) {
    std::vector<int> all(model_.members.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
    return check_members(all, when);
  }

  bool check_members(const std::vector<int>& members, const std::string& when) {
    for (int i : members) {
      const MMember& mm = model_.members[i];
      auto b = reader_->get_balance(model_.program.id, mm.id);
      if (!b.ok()) return fail("get_balance: " + b.status().message());
      std::ostringstream want, got;
      want << "available " << model_.available(i) << " pending " << model_.pending(i) << " earned "
           << mm.earned << " spent " << mm.spent << " expired " << mm.expired << " adjusted "
           << mm.adjusted << " transferred_net " << mm.transferred_net;
      got << "available " << b->available.value << " pending " << b->pending.value << " earned "
          << b->lifetime_earned.value << " spent " << b->lifetime_spent.value << " expired "
          << b->expired.value << " adjusted " << b->adjusted.value << " transferred_net "
          << b->transferred_net.value;
      if (want.str() != got.str()) {
        return fail(when + ": balance of " + format_id(mm.id) + " differs\n  model: " + want.str() +
                    "\n  store: " + got.str() + "\n  model lots: " + model_lots(i) +
                    "\n  store lots: " + store_lots(mm.id));
      }
      std::optional<Instant> due = model_.next_due(i);
      if (due && (!b->next_due_at || *b->next_due_at > *due)) {
        return fail(when + ": next_due_at of " + format_id(mm.id) + " is " + t(b->next_due_at) +
                    ", later than the first due lot at " + t(due));
      }
      if (model_lots(i) != store_lots(mm.id)) {
        return fail(when + ": open lots of " + format_id(mm.id) +
                    " differ\n  model: " + model_lots(i) + "\n  store: " + store_lots(mm.id));
      }
      auto member = reader_->find_member(model_.program.id, mm.id);
      if (!member.ok() || !member->has_value()) return fail("member vanished");
      if (((*member)->status == MemberStatus::kBlocked) != mm.blocked) {
        return fail(when + ": status of " + format_id(mm.id) + " differs");
      }
    }
    return true;
  }

  static std::string describe_lot(const std::optional<Instant>& expires_at, bool pending,
                                  const std::optional<Instant>& available_at, Instant created_at,
                                  int64_t original, int64_t remaining) {
    return "[" + std::to_string(remaining) + "/" + std::to_string(original) +
           " exp=" + t(expires_at) + (pending ? " pending" : "") + " avail=" + t(available_at) +
           " created=" + t(created_at) + "]";
  }
  std::string model_lots(int m) const {
    std::vector<std::string> out;
    for (const MLot& l : model_.lots) {
      if (l.member == m && l.remaining > 0) {
        out.push_back(describe_lot(l.expires_at, l.pending, l.available_at, l.created_at,
                                   l.original, l.remaining));
      }
    }
    std::sort(out.begin(), out.end());
    std::string s;
    for (const auto& x : out) s += x;
    return s;
  }
  std::string store_lots(MemberId id) const {
    auto lots = reader_->open_lots(model_.program.id, id);
    if (!lots.ok()) return "error: " + lots.status().message();
    std::vector<std::string> out;
    for (const Lot& l : *lots) {
      out.push_back(describe_lot(l.expires_at, l.pending, l.available_at, l.created_at,
                                 l.original.value, l.remaining.value));
    }
    std::sort(out.begin(), out.end());
    std::string s;
    for (const auto& x : out) s += x;
    return s;
  }

  bool verify(const std::string& when) {
    auto report = cli::verify_store(*reader_);
    if (!report.ok()) return fail("verify_store: " + report.status().message());
    if (!report->problems.empty()) return fail(when + ": " + cli::format_report(*report));
    return true;
  }

  void log(std::string line) { log_.push_back(std::move(line)); }
  bool fail(const std::string& what) {
    std::ostringstream o;
    o << "seed " << seed_ << " failed at step " << step_ << ": " << what
      << "\nreproduce with LOYALTY_SIM_SEED=" << seed_ << " (LOYALTY_SIM_STEPS=" << steps_
      << ")\nstep log:\n";
    for (const auto& l : log_) o << "  " << l << "\n";
    failure_ = o.str();
    return false;
  }

  uint64_t seed_;
  int steps_;
  std::mt19937_64 rng_;
  ManualClock clock_;
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<store::StoreSession> reader_;
  Model model_;
  int step_ = 0;
  int next_external_ = 1;
  int next_key_ = 1;
  std::vector<std::pair<std::string, SimCmd>> used_keys_;
  std::vector<std::string> log_;
  std::string failure_;
};

TEST(LedgerSimulation, EngineMatchesTheReferenceModelOnRandomWorkloads) {
  int seeds = env_int("LOYALTY_SIM_SEEDS", kDefaultSeeds);
  int steps = env_int("LOYALTY_SIM_STEPS", kDefaultSteps);
  std::vector<uint64_t> to_run;
  if (const char* one = std::getenv("LOYALTY_SIM_SEED"); one != nullptr && *one != '\0') {
    to_run.push_back(std::strtoull(one, nullptr, 10));
  } else {
    for (int s = 1; s <= seeds; ++s) to_run.push_back(static_cast<uint64_t>(s));
  }
  auto started = std::chrono::steady_clock::now();
  int64_t total_steps = 0;
  for (uint64_t seed : to_run) {
    SeedRun run(seed, steps);
    bool ok = run.run();
    total_steps += run.steps_done();
    ASSERT_TRUE(ok) << run.failure();
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("ledger simulation: %zu seeds x %d steps = %lld steps in %.1f s\n", to_run.size(),
              steps, static_cast<long long>(total_steps), seconds);
  EXPECT_EQ(total_steps, static_cast<int64_t>(to_run.size()) * steps);
}

}  // namespace
}  // namespace loyalty::sim
