#include "domain/config_document.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include <date/date.h>
#include <date/tz.h>

#include "common/assert.h"
#include "common/json_writer.h"
#include "domain/config_reader.h"
#include "domain/earning.h"
#include "domain/rules/rules.h"
#include "domain/tiers.h"

namespace loyalty {
namespace {

// ---- The document's keys (the JSON Schema is tested against these) ----

using KeyList = std::vector<std::string_view>;

const KeyList kTopKeys = {"$schema",   "earning",  "expiry",          "earn_rules",
                          "tiers",     "rewards",  "campaigns",       "challenges",
                          "referrals", "checkout", "paid_membership", "gifting"};
const KeyList kPaidMembershipKeys = {"reminder_days", "plans"};
const KeyList kPaidPlanKeys = {"id", "name", "price", "period", "grace_days", "grants"};
const KeyList kPaidGrantKeys = {"tier", "benefits"};
const KeyList kCheckoutKeys = {"points", "amount", "min_points", "max_order_share_percent",
                               "hold_minutes"};
const KeyList kEarningKeys = {"eligible_spend",      "rounding",         "return_window_days",
                              "vest_from",           "refund_overspend", "guest_order_claim_days",
                              "max_points_per_order"};
const KeyList kEligibleSpendKeys = {"after_discounts", "include_shipping", "include_tax",
                                    "excluded_categories"};
const KeyList kExpiryKeys = {"mode", "months", "fixed_date", "warn_days_before"};
const KeyList kRuleKeys = {
    "id",         "name",        "trigger",         "event_type",       "kind",
    "points",     "per_unit",    "points_per_unit", "multiplier",       "formula",
    "condition",  "item_filter", "min_order",       "first_order_only", "starts_at",
    "ends_at",    "priority",    "exclusive",       "stackable",        "member_cap",
    "global_cap", "pending_days"};
const KeyList kMemberCapKeys = {"period", "max_awards", "max_points", "distinct_by"};
const KeyList kGlobalCapKeys = {"period", "max_awards", "max_points"};
const KeyList kTierKeys = {"metric",        "expression", "window",
                           "window_months", "downgrade",  "levels"};
const KeyList kTierDowngradeKeys = {"grace_periods", "on_refund"};
const KeyList kTierLevelKeys = {"id",           "name",        "threshold",
                                "downgrade_to", "invite_only", "benefits"};
const KeyList kTierBenefitKeys = {"earn_multiplier",       "free_shipping", "early_access_hours",
                                  "birthday_bonus_points", "perks",         "rewards"};

// Bounds of the integer settings.
constexpr int kMaxReturnWindowDays = 365;
constexpr int kMaxGuestOrderClaimDays = 365;
constexpr int64_t kMaxPointsPerOrderLimit = 1'000'000'000'000;
constexpr int kMaxExpiryMonths = 120;
constexpr int kMaxWarnDaysBefore = 365;
constexpr int kMaxPendingDays = 365;
constexpr size_t kMaxEventTypeLength = 64;

constexpr RoundingMode kRoundingModes[] = {RoundingMode::kFloor, RoundingMode::kNearest,
                                           RoundingMode::kCeil};
constexpr VestFrom kVestFroms[] = {VestFrom::kDelivered, VestFrom::kPaid};
constexpr RefundOverspendPolicy kRefundPolicies[] = {RefundOverspendPolicy::kNegativeBalance,
                                                     RefundOverspendPolicy::kClawBackPending,
                                                     RefundOverspendPolicy::kWriteOff};
constexpr ExpiryMode kExpiryModes[] = {ExpiryMode::kNone, ExpiryMode::kAfterEarn,
                                       ExpiryMode::kRolling, ExpiryMode::kFixedDate};
constexpr EarnTrigger kTriggers[] = {EarnTrigger::kOrder, EarnTrigger::kSignup, EarnTrigger::kEvent,
                                     EarnTrigger::kBirthday, EarnTrigger::kAnniversary};
constexpr EarnKind kKinds[] = {EarnKind::kSpend, EarnKind::kMultiplier, EarnKind::kFixed,
                               EarnKind::kFormula};
constexpr TierMetric kTierMetrics[] = {TierMetric::kSpend, TierMetric::kPoints, TierMetric::kOrders,
                                       TierMetric::kExpression};
constexpr TierWindowKind kTierWindows[] = {
    TierWindowKind::kCalendarYear, TierWindowKind::kRollingMonths, TierWindowKind::kLifetime};
constexpr int64_t kMaxTierThreshold = 1'000'000'000'000;
constexpr BillingPeriod kBillingPeriods[] = {BillingPeriod::kMonth, BillingPeriod::kYear};
constexpr CapPeriod kCapPeriods[] = {CapPeriod::kDay, CapPeriod::kWeek, CapPeriod::kMonth,
                                     CapPeriod::kYear, CapPeriod::kLifetime};

// ---- Small helpers ----

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t substitute = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitute});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// The closest candidate within a third of the word's length (at least 1, at most 3 edits).
std::optional<std::string_view> closest(std::string_view word, const KeyList& candidates) {
  size_t limit = std::clamp<size_t>(word.size() / 3, 1, 3);
  std::optional<std::string_view> best;
  size_t best_distance = limit + 1;
  for (std::string_view c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::string index_path(const std::string& path, size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

template <typename E, size_t N>
std::string names_list(const E (&values)[N]) {
  std::string out;
  for (size_t i = 0; i < N; ++i) {
    if (i > 0) out += i + 1 == N ? " or " : ", ";
    out += to_string(values[i]);
  }
  return out;
}

// ---- Plain scalars, resolved as the YAML 1.2 core schema does ----

enum class PlainKind { kNull, kBool, kInt, kFloat, kString };

bool all_digits(std::string_view s, bool hex = false) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [hex](char c) {
    return (c >= '0' && c <= '9') || (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
  });
}

PlainKind classify_plain(std::string_view s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return PlainKind::kNull;
  if (s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False" || s == "FALSE") {
    return PlainKind::kBool;
  }
  std::string_view body = s;
  if (body.front() == '-' || body.front() == '+') body.remove_prefix(1);
  if (all_digits(body)) return PlainKind::kInt;
  if (s.starts_with("0x") && all_digits(s.substr(2), true)) return PlainKind::kInt;
  if (s.starts_with("0o") && all_digits(s.substr(2))) return PlainKind::kInt;
  if (body == ".inf" || body == ".Inf" || body == ".INF" || s == ".nan" || s == ".NaN" ||
      s == ".NAN") {
    return PlainKind::kFloat;
  }
  // [0-9]*(\.[0-9]*)?([eE][-+]?[0-9]+)? with at least one digit before the exponent.
  size_t i = 0;
  size_t digits = 0;
  while (i < body.size() && body[i] >= '0' && body[i] <= '9') ++i, ++digits;
  if (i < body.size() && body[i] == '.') {
    ++i;
    while (i < body.size() && body[i] >= '0' && body[i] <= '9') ++i, ++digits;
  }
  if (digits == 0) return PlainKind::kString;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    if (i < body.size() && (body[i] == '-' || body[i] == '+')) ++i;
    if (!all_digits(body.substr(std::min(i, body.size())))) return PlainKind::kString;
    i = body.size();
  }
  return i == body.size() ? PlainKind::kFloat : PlainKind::kString;
}

bool is_plain(const YAML::Node& n) { return n.Tag() == "?"; }
bool is_string_tagged(const YAML::Node& n) {
  return n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str";
}

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return "nothing (null)";
    case YAML::NodeType::Scalar:
      break;
  }
  if (!is_plain(n)) return "the string " + quoted(n.Scalar());
  switch (classify_plain(n.Scalar())) {
    case PlainKind::kNull:
      return "nothing (null)";
    case PlainKind::kBool:
      return n.Scalar();
    case PlainKind::kInt:
    case PlainKind::kFloat:
      return "the number " + n.Scalar();
    case PlainKind::kString:
      return "the string " + quoted(n.Scalar());
  }
  return "a value";
}

// ---- Positions ----

// Line and column (1-based, the column in code points) of a byte offset.
// The root of each document of a YAML stream, read with yaml-cpp's event
// parser. yaml-cpp 0.7 (Debian 12) loops forever in YAML::LoadAll, allocating
// without bound, when a ',' stands where a document's root should be (", a";
// yaml-cpp issue #1040, fixed in 0.8 by PR #1319): the parser reports an empty
// root without consuming the token, again and again. So the documents are
// counted here, stopping when a root makes no progress, and only the first is
// loaded (YAML::Load reads one document and stops).
class DocumentRoots final : public YAML::EventHandler {
 public:
  struct Root {
    bool null = false;  // an empty root (no node at all)
    YAML::Mark mark;
  };
  // Reads up to `max_documents` roots; throws YAML::Exception on a syntax error.
  static std::vector<Root> read(const std::string& text, size_t max_documents) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    DocumentRoots handler;
    std::vector<Root> roots;
    while (roots.size() < max_documents) {
      handler.root_.reset();
      if (!parser.HandleNextDocument(handler)) break;
      Root root = handler.root_.value_or(Root{true, YAML::Mark::null_mark()});
      const bool stuck = root.null && !roots.empty() && roots.back().null &&
                         roots.back().mark.pos == root.mark.pos;
      if (stuck) break;  // the token at this root is never consumed
      roots.push_back(root);
    }
    return roots;
  }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { seen(mark, true); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { seen(mark, false); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    seen(mark, false);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    seen(mark, false);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    seen(mark, false);
  }
  void OnMapEnd() override {}

 private:
  void seen(const YAML::Mark& mark, bool null) {
    if (!root_) root_ = Root{null, mark};  // the first event of a document is its root
  }
  std::optional<Root> root_;
};

class LineIndex {
 public:
  explicit LineIndex(std::string_view text) : text_(text) {
    starts_.push_back(0);
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') starts_.push_back(i + 1);
    }
  }
  std::pair<int, int> at(size_t offset) const {
    offset = std::min(offset, text_.size());
    auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
    size_t line = static_cast<size_t>(it - starts_.begin());
    size_t start = starts_[line - 1];
    int column = 1;
    for (size_t i = start; i < offset; ++i) {
      if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) ++column;
    }
    return {static_cast<int>(line), column};
  }

 private:
  std::string_view text_;
  std::vector<size_t> starts_;
};

// The byte offset in the document of the character at `offset` of the decoded
// scalar that starts at `start` (its mark): follows quotes, escapes, block
// scalar indentation and line folding closely enough to land on the character.
size_t document_offset_of(std::string_view doc, size_t start, size_t offset) {
  if (start >= doc.size()) return start;
  size_t i = start;
  char style = doc[i];
  auto skip_indentation = [&] {
    while (i < doc.size() && (doc[i] == ' ' || doc[i] == '\t')) ++i;
  };
  if (style == '|' || style == '>') {
    while (i < doc.size() && doc[i] != '\n') ++i;  // the header line
    if (i < doc.size()) ++i;
    size_t indent = 0;
    while (i + indent < doc.size() && doc[i + indent] == ' ') ++indent;
    for (size_t decoded = 0; i < doc.size() && decoded < offset; ++decoded) {
      if (doc[i] == '\n') {
        ++i;
        for (size_t k = 0; k < indent && i < doc.size() && doc[i] == ' '; ++k) ++i;
      } else {
        ++i;
      }
    }
    return i;
  }
  bool double_quoted = style == '"';
  bool single_quoted = style == '\'';
  if (double_quoted || single_quoted) ++i;
  for (size_t decoded = 0; i < doc.size() && decoded < offset; ++decoded) {
    if (double_quoted && doc[i] == '\\' && i + 1 < doc.size()) {
      char e = doc[i + 1];
      i += e == 'x' ? 4 : e == 'u' ? 6 : e == 'U' ? 10 : 2;
    } else if (single_quoted && doc[i] == '\'' && i + 1 < doc.size() && doc[i + 1] == '\'') {
      i += 2;
    } else if (doc[i] == '\n') {
      ++i;
      skip_indentation();
    } else {
      ++i;
    }
  }
  return std::min(i, doc.size());
}

// ---- The parser ----

class DocumentParser {
 public:
  DocumentParser(std::string_view text, const ConfigContext& ctx)
      : text_(text), lines_(text), ctx_(ctx) {}

  ConfigParseResult run();

 private:
  // Fields of one mapping, after unknown and duplicate keys were reported.
  struct Fields {
    std::string path;
    YAML::Node map;
    std::map<std::string, std::pair<YAML::Node, YAML::Node>, std::less<>>
        present;  // key -> (key, value)
    std::optional<YAML::Node> value(std::string_view key) const {
      auto it = present.find(key);
      if (it == present.end()) return std::nullopt;
      return it->second.second;
    }
    YAML::Node key_node(std::string_view key) const { return present.find(key)->second.first; }
    bool has(std::string_view key) const { return present.find(key) != present.end(); }
  };

  void error_at(const std::string& path, size_t offset, std::string message) {
    if (errors_.size() > kMaxConfigErrors) return;
    if (errors_.size() == kMaxConfigErrors) {
      errors_.push_back(ConfigError{
          "", 0, 0,
          "too many errors; only the first " + std::to_string(kMaxConfigErrors) + " are reported"});
      return;
    }
    auto [line, column] = lines_.at(offset);
    // One line per error, whatever a message quotes (see invalid_config_status).
    std::replace_if(
        message.begin(), message.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    errors_.push_back(ConfigError{path, line, column, std::move(message)});
  }
  // Reports at a node; a null node without a position (an empty value) is
  // reported at `fallback`.
  void error(const std::string& path, const YAML::Node& node, std::string message,
             const YAML::Node* fallback = nullptr) {
    error_at(path, offset_of(node, fallback), std::move(message));
  }
  size_t offset_of(const YAML::Node& node, const YAML::Node* fallback = nullptr) const {
    if (node.IsNull() && fallback != nullptr) return offset_of(*fallback);
    YAML::Mark m = node.Mark();
    if (m.is_null() || m.pos < 0) return 0;
    return static_cast<size_t>(m.pos);
  }
  bool count_node() {
    if (++nodes_visited_ <= kMaxConfigNodes) return true;
    if (!node_budget_reported_) {
      node_budget_reported_ = true;
      error_at("", 0,
               "the document has more than " + std::to_string(kMaxConfigNodes) +
                   " values (aliases count each time they are used)");
    }
    return false;
  }

  std::optional<Fields> read_map(const YAML::Node& node, const std::string& path,
                                 const KeyList& known, const YAML::Node* where = nullptr);
  void report_missing(const Fields& f, std::string_view key, const std::string& expected);

  std::optional<bool> read_bool(const Fields& f, std::string_view key);
  std::optional<int64_t> read_int(const Fields& f, std::string_view key, int64_t min, int64_t max);
  std::optional<std::string> read_string(const YAML::Node& node, const std::string& path,
                                         const YAML::Node* key_node);
  std::optional<std::string> read_string(const Fields& f, std::string_view key) {
    auto v = f.value(key);
    if (!v) return std::nullopt;
    YAML::Node k = f.key_node(key);
    return read_string(*v, child_path(f.path, key), &k);
  }
  template <typename E, size_t N>
  std::optional<E> read_enum(const Fields& f, std::string_view key, const E (&values)[N]);
  std::optional<Decimal> read_decimal(const Fields& f, std::string_view key);
  std::optional<int64_t> read_money(const Fields& f, std::string_view key);
  std::optional<Instant> read_local_time(const Fields& f, std::string_view key);
  std::optional<std::string> read_expression(const Fields& f, std::string_view key,
                                             const rules::Environment& env, rules::TypeSet expected,
                                             const char* what);
  // A scalar's text when it is a number or a string (decimals and money
  // accept both), else an error.
  std::optional<std::string> read_number_text(const Fields& f, std::string_view key,
                                              const std::string& expected);

  void parse_earning(const YAML::Node& node, const YAML::Node& key, EarningPolicy& out);
  void parse_expiry(const YAML::Node& node, const YAML::Node& key, ExpiryPolicy& out);
  void parse_rules(const YAML::Node& node, const YAML::Node& key, std::vector<EarnRule>& out);
  std::optional<EarnRule> parse_rule(const YAML::Node& node, const std::string& path,
                                     std::map<std::string, std::string>& ids);
  std::optional<EarnCap> parse_cap(const Fields& rule, std::string_view key, bool member,
                                   const rules::Environment& env);
  void parse_tiers(const YAML::Node& node, const YAML::Node& key, TierConfig& out);
  // A tier's (or a paid plan's) `benefits` mapping under `f`.
  std::optional<TierBenefits> read_benefits(const Fields& f);
  void parse_paid_membership(const YAML::Node& node, const YAML::Node& key, const TierConfig& tiers,
                             PaidMembershipConfig& out);
  std::optional<PaidPlan> parse_paid_plan(const YAML::Node& node, const std::string& path,
                                          const TierConfig& tiers);
  void parse_checkout(const YAML::Node& node, const YAML::Node& key, CheckoutConfig& out);
  std::optional<TierLevel> parse_tier_level(const YAML::Node& node, const std::string& path,
                                            TierMetric metric);
  std::vector<std::string> read_id_list(const Fields& f, std::string_view key, size_t max,
                                        const char* what);
  std::string parse_slot(const YAML::Node& node, const YAML::Node& key, std::string_view name,
                         bool list);
  bool write_json(JsonWriter& w, const YAML::Node& node, const std::string& path, size_t depth);

  std::string_view text_;
  LineIndex lines_;
  const ConfigContext& ctx_;
  std::vector<ConfigError> errors_;
  size_t nodes_visited_ = 0;
  bool node_budget_reported_ = false;
};

std::optional<DocumentParser::Fields> DocumentParser::read_map(const YAML::Node& node,
                                                               const std::string& path,
                                                               const KeyList& known,
                                                               const YAML::Node* where) {
  if (!node.IsMap()) {
    error(path, node, "expected a mapping, got " + describe(node), where);
    return std::nullopt;
  }
  Fields f;
  f.path = path;
  f.map = node;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!count_node()) return std::nullopt;
    YAML::Node key = it->first;  // a copy: it-> is a temporary proxy
    if (!key.IsScalar()) {
      error(path, key, "keys must be strings, got " + describe(key));
      continue;
    }
    const std::string& name = key.Scalar();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string message = "unknown key " + quoted(name);
      if (name == "distinct_by" && &known == &kGlobalCapKeys) {
        message += ": distinct_by applies only to member_cap";
      } else if (auto suggestion = closest(name, known)) {
        message += " (did you mean '" + std::string(*suggestion) + "'?)";
      } else {
        message += "; expected one of: ";
        for (size_t i = 0; i < known.size(); ++i) {
          if (i > 0) message += ", ";
          message += known[i];
        }
      }
      error(child_path(path, name), key, std::move(message));
      continue;
    }
    if (f.present.count(name) > 0) {
      auto [line, column] = lines_.at(offset_of(f.present[name].first));
      error(child_path(path, name), key,
            "duplicate key: already given at line " + std::to_string(line) + ", column " +
                std::to_string(column));
      continue;
    }
    f.present.emplace(name, std::make_pair(key, it->second));
  }
  return f;
}

void DocumentParser::report_missing(const Fields& f, std::string_view key,
                                    const std::string& expected) {
  error(child_path(f.path, key), f.map, "required key missing: " + expected);
}

std::optional<bool> DocumentParser::read_bool(const Fields& f, std::string_view key) {
  auto v = f.value(key);
  if (!v) return std::nullopt;
  if (v->IsScalar() && is_plain(*v) && classify_plain(v->Scalar()) == PlainKind::kBool) {
    char c = v->Scalar()[0];
    return c == 't' || c == 'T';
  }
  YAML::Node k = f.key_node(key);
  error(child_path(f.path, key), *v, "expected true or false, got " + describe(*v), &k);
  return std::nullopt;
}

std::optional<int64_t> DocumentParser::read_int(const Fields& f, std::string_view key, int64_t min,
                                                int64_t max) {
  auto v = f.value(key);
  if (!v) return std::nullopt;
  std::string path = child_path(f.path, key);
  YAML::Node k = f.key_node(key);
  std::string range = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (!v->IsScalar() || !is_plain(*v) || classify_plain(v->Scalar()) != PlainKind::kInt ||
      v->Scalar().starts_with("0x") || v->Scalar().starts_with("0o")) {
    error(path, *v, "expected " + range + ", got " + describe(*v), &k);
    return std::nullopt;
  }
  std::string_view text = v->Scalar();
  if (text.front() == '+') text.remove_prefix(1);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    error(path, *v, "expected " + range + ", got " + v->Scalar());
    return std::nullopt;
  }
  return value;
}

std::optional<std::string> DocumentParser::read_string(const YAML::Node& node,
                                                       const std::string& path,
                                                       const YAML::Node* key_node) {
  if (node.IsScalar() &&
      (is_string_tagged(node) ||
       (is_plain(node) && classify_plain(node.Scalar()) == PlainKind::kString))) {
    return node.Scalar();
  }
  std::string message = "expected a string, got " + describe(node);
  if (node.IsScalar() && is_plain(node)) message += " (put it in quotes to make it a string)";
  error(path, node, std::move(message), key_node);
  return std::nullopt;
}

template <typename E, size_t N>
std::optional<E> DocumentParser::read_enum(const Fields& f, std::string_view key,
                                           const E (&values)[N]) {
  auto v = f.value(key);
  if (!v) return std::nullopt;
  YAML::Node k = f.key_node(key);
  std::string path = child_path(f.path, key);
  if (!v->IsScalar()) {
    error(path, *v, "expected " + names_list(values) + ", got " + describe(*v), &k);
    return std::nullopt;
  }
  for (E e : values) {
    if (v->Scalar() == to_string(e)) return e;
  }
  KeyList names;
  for (E e : values) names.emplace_back(to_string(e));
  std::string message = "expected " + names_list(values) + ", got " + quoted(v->Scalar());
  if (auto s = closest(v->Scalar(), names)) message += " (did you mean '" + std::string(*s) + "'?)";
  error(path, *v, std::move(message));
  return std::nullopt;
}

std::optional<std::string> DocumentParser::read_number_text(const Fields& f, std::string_view key,
                                                            const std::string& expected) {
  auto v = f.value(key);
  if (!v) return std::nullopt;
  bool number = v->IsScalar() && is_plain(*v) &&
                (classify_plain(v->Scalar()) == PlainKind::kInt ||
                 classify_plain(v->Scalar()) == PlainKind::kFloat);
  if (number || (v->IsScalar() && is_string_tagged(*v))) return v->Scalar();
  YAML::Node k = f.key_node(key);
  error(child_path(f.path, key), *v, "expected " + expected + ", got " + describe(*v), &k);
  return std::nullopt;
}

std::optional<Decimal> DocumentParser::read_decimal(const Fields& f, std::string_view key) {
  const std::string expected =
      "a number greater than 0 and at most 1000000 with at most 6 decimal places, like 1 or 1.5";
  auto text = read_number_text(f, key, expected);
  if (!text) return std::nullopt;
  auto d = parse_decimal(*text);
  if (!d || d->micros == 0 || d->micros > 1'000'000 * Decimal::kScale) {
    error(child_path(f.path, key), *f.value(key),
          "expected " + expected + ", got " + quoted(*text));
    return std::nullopt;
  }
  return d;
}

std::optional<int64_t> DocumentParser::read_money(const Fields& f, std::string_view key) {
  int exponent = ctx_.currency_exponent;
  std::string example = exponent == 0 ? "\"50\"" : "\"50." + std::string(exponent, '0') + "\"";
  std::string expected = "an amount in " + ctx_.currency + " with at most " +
                         std::to_string(exponent) + " decimal places, like " + example;
  auto text = read_number_text(f, key, expected);
  if (!text) return std::nullopt;
  // Reuse the decimal grammar, then require the currency's precision.
  auto d = parse_decimal(*text);
  int64_t unit = 1;
  for (int i = 0; i < exponent; ++i) unit *= 10;
  int64_t per_minor = Decimal::kScale / unit;
  if (!d || d->micros % per_minor != 0 || d->micros / Decimal::kScale > 1'000'000'000) {
    error(child_path(f.path, key), *f.value(key),
          "expected " + expected + " (at most 1000000000), got " + quoted(*text));
    return std::nullopt;
  }
  return d->micros / per_minor;
}

std::optional<Instant> DocumentParser::read_local_time(const Fields& f, std::string_view key) {
  auto v = f.value(key);
  if (!v) return std::nullopt;
  std::string path = child_path(f.path, key);
  YAML::Node k = f.key_node(key);
  auto text = read_string(*v, path, &k);
  if (!text) return std::nullopt;
  const std::string expected = "a local date-time in the program's time zone (" + ctx_.timezone +
                               ") like \"2026-11-27T00:00\", or an RFC 3339 instant with an offset";
  if (auto instant = parse_rfc3339(*text)) return instant;
  // YYYY-MM-DDTHH:MM[:SS]
  std::string_view s = *text;
  auto number = [&](size_t at, size_t len, int* out) {
    if (at + len > s.size() || !all_digits(s.substr(at, len))) return false;
    *out = 0;
    for (size_t i = at; i < at + len; ++i) *out = *out * 10 + (s[i] - '0');
    return true;
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  bool shape = (s.size() == 16 || s.size() == 19) && number(0, 4, &y) && s[4] == '-' &&
               number(5, 2, &mo) && s[7] == '-' && number(8, 2, &d) && s[10] == 'T' &&
               number(11, 2, &h) && s[13] == ':' && number(14, 2, &mi) &&
               (s.size() == 16 || (s[16] == ':' && number(17, 2, &sec)));
  date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(mo)},
                           date::day{static_cast<unsigned>(d)}};
  if (!shape || !ymd.ok() || y < 1970 || h > 23 || mi > 59 || sec > 59) {
    error(path, *v, "expected " + expected + ", got " + quoted(*text));
    return std::nullopt;
  }
  const date::time_zone* zone = nullptr;
  try {
    zone = date::locate_zone(ctx_.timezone);
  } catch (const std::exception&) {
    error(path, *v, "the program's time zone " + quoted(ctx_.timezone) + " is unknown");
    return std::nullopt;
  }
  auto local = date::local_days{ymd} + std::chrono::hours{h} + std::chrono::minutes{mi} +
               std::chrono::seconds{sec};
  date::local_info info = zone->get_info(local);
  if (info.result == date::local_info::nonexistent) {
    error(path, *v,
          quoted(*text) + " does not exist in " + ctx_.timezone +
              " (clocks skip it for daylight saving time); choose another time");
    return std::nullopt;
  }
  // An ambiguous time (clocks fall back) is its first occurrence.
  auto sys = zone->to_sys(local, date::choose::earliest);
  return Instant::from_seconds(sys.time_since_epoch().count());
}

std::optional<std::string> DocumentParser::read_expression(const Fields& f, std::string_view key,
                                                           const rules::Environment& env,
                                                           rules::TypeSet expected,
                                                           const char* what) {
  auto v = f.value(key);
  if (!v) return std::nullopt;
  std::string path = child_path(f.path, key);
  YAML::Node k = f.key_node(key);
  // Expressions are strings; a plain `true` or `100` is a valid expression too.
  if (!v->IsScalar() || (is_plain(*v) && classify_plain(v->Scalar()) == PlainKind::kNull)) {
    error(path, *v, std::string("expected ") + what + " as a string, got " + describe(*v), &k);
    return std::nullopt;
  }
  const std::string& source = v->Scalar();
  if (source.find_first_not_of(" \t\r\n") == std::string::npos) {
    error(path, *v, std::string("expected ") + what + ", got an empty string (leave the key out)");
    return std::nullopt;
  }
  rules::CompileError compile_error;
  auto compiled = rules::compile(source, env, expected, &compile_error);
  if (!compiled.ok()) {
    size_t at = document_offset_of(text_, offset_of(*v),
                                   static_cast<size_t>(std::max(0, compile_error.offset)));
    std::string message =
        compile_error.message.empty() ? compiled.status().message() : compile_error.message;
    error_at(path, at,
             "in " + std::string(what) + " at offset " + std::to_string(compile_error.offset) +
                 ": " + message);
    return std::nullopt;
  }
  return source;
}

void DocumentParser::parse_earning(const YAML::Node& node, const YAML::Node& key,
                                   EarningPolicy& out) {
  auto f = read_map(node, "earning", kEarningKeys, &key);
  if (!f) return;
  if (auto spend = f->value("eligible_spend")) {
    YAML::Node k = f->key_node("eligible_spend");
    if (auto s = read_map(*spend, "earning.eligible_spend", kEligibleSpendKeys, &k)) {
      EligibleSpendPolicy& e = out.eligible_spend;
      e.after_discounts = read_bool(*s, "after_discounts").value_or(e.after_discounts);
      e.include_shipping = read_bool(*s, "include_shipping").value_or(e.include_shipping);
      e.include_tax = read_bool(*s, "include_tax").value_or(e.include_tax);
      if (auto cats = s->value("excluded_categories")) {
        std::string path = "earning.eligible_spend.excluded_categories";
        YAML::Node ck = s->key_node("excluded_categories");
        if (!cats->IsSequence()) {
          error(path, *cats, "expected a list of category names, got " + describe(*cats), &ck);
        } else if (cats->size() > kMaxExcludedCategories) {
          error(path, *cats,
                "at most " + std::to_string(kMaxExcludedCategories) + " categories, got " +
                    std::to_string(cats->size()));
        } else {
          e.excluded_categories.clear();
          std::set<std::string> seen;
          for (size_t i = 0; i < cats->size(); ++i) {
            if (!count_node()) return;
            YAML::Node c = (*cats)[i];
            auto name = read_string(c, index_path(path, i), &ck);
            if (!name) continue;
            if (name->empty() || name->size() > kMaxConfigNameLength) {
              error(index_path(path, i), c,
                    "expected a category name of 1 to " + std::to_string(kMaxConfigNameLength) +
                        " characters");
            } else if (!seen.insert(*name).second) {
              error(index_path(path, i), c, "category " + quoted(*name) + " is listed twice");
            } else {
              e.excluded_categories.push_back(*name);
            }
          }
        }
      }
    }
  }
  out.rounding = read_enum(*f, "rounding", kRoundingModes).value_or(out.rounding);
  out.return_window_days = static_cast<int>(
      read_int(*f, "return_window_days", 0, kMaxReturnWindowDays).value_or(out.return_window_days));
  out.vest_from = read_enum(*f, "vest_from", kVestFroms).value_or(out.vest_from);
  out.refund_overspend =
      read_enum(*f, "refund_overspend", kRefundPolicies).value_or(out.refund_overspend);
  out.guest_order_claim_days =
      static_cast<int>(read_int(*f, "guest_order_claim_days", 0, kMaxGuestOrderClaimDays)
                           .value_or(out.guest_order_claim_days));
  out.max_points_per_order = read_int(*f, "max_points_per_order", 0, kMaxPointsPerOrderLimit)
                                 .value_or(out.max_points_per_order);
}

void DocumentParser::parse_expiry(const YAML::Node& node, const YAML::Node& key,
                                  ExpiryPolicy& out) {
  auto f = read_map(node, "expiry", kExpiryKeys, &key);
  if (!f) return;
  if (!f->has("mode")) {
    report_missing(*f, "mode", "expected " + names_list(kExpiryModes));
    return;
  }
  auto mode = read_enum(*f, "mode", kExpiryModes);
  if (!mode) return;
  out.mode = *mode;
  bool by_months = out.mode == ExpiryMode::kAfterEarn || out.mode == ExpiryMode::kRolling;
  auto not_for_mode = [&](std::string_view k, const std::string& which) {
    if (f->has(k)) {
      error(child_path("expiry", k), f->key_node(k),
            std::string(k) + " applies only to " + which + ", not to mode " + to_string(out.mode));
    }
  };
  if (by_months) {
    out.months = static_cast<int>(read_int(*f, "months", 1, kMaxExpiryMonths).value_or(out.months));
  } else {
    not_for_mode("months", "modes after_earn and rolling");
  }
  if (out.mode == ExpiryMode::kFixedDate) {
    if (auto v = f->value("fixed_date")) {
      YAML::Node k = f->key_node("fixed_date");
      if (auto text = read_string(*v, "expiry.fixed_date", &k)) {
        int month = 0, day = 0;
        bool ok = text->size() == 5 && all_digits(text->substr(0, 2)) && (*text)[2] == '-' &&
                  all_digits(text->substr(3, 2));
        if (ok) {
          month = std::stoi(text->substr(0, 2));
          day = std::stoi(text->substr(3, 2));
          ok = date::month_day{date::month{static_cast<unsigned>(month)},
                               date::day{static_cast<unsigned>(day)}}
                   .ok();
        }
        if (!ok) {
          error("expiry.fixed_date", *v,
                "expected a month and day as \"MM-DD\", like \"12-31\", got " + quoted(*text));
        } else {
          out.fixed_month = month;
          out.fixed_day = day;
        }
      }
    }
  } else {
    not_for_mode("fixed_date", "mode fixed_date");
  }
  if (out.mode != ExpiryMode::kNone) {
    out.warn_days_before = static_cast<int>(
        read_int(*f, "warn_days_before", 0, kMaxWarnDaysBefore).value_or(out.warn_days_before));
  } else {
    not_for_mode("warn_days_before", "modes that expire points");
  }
}

// Points at checkout (domain/checkout_points.h, docs/checkout.md): the rate
// (`points` pay `amount`) is required; the limits have defaults.
void DocumentParser::parse_checkout(const YAML::Node& node, const YAML::Node& key,
                                    CheckoutConfig& out) {
  auto f = read_map(node, "checkout", kCheckoutKeys, &key);
  if (!f) return;
  for (std::string_view required : {"points", "amount"}) {
    if (!f->has(required)) {
      report_missing(*f, required,
                     required == "points" ? "expected the points that pay `amount`, like 100"
                                          : "expected the money `points` pay, like \"1.00\"");
    }
  }
  auto points = read_int(*f, "points", 1, kMaxCheckoutRatePoints);
  int64_t amount_minor = 0;  // 0: missing or invalid (reported)
  if (f->has("amount")) {
    if (auto amount = read_money(*f, "amount"); amount && *amount <= 0) {
      error("checkout.amount", *f->value("amount"), "expected an amount above 0");
    } else if (amount) {
      amount_minor = *amount;
    }
  }
  out.min_points = read_int(*f, "min_points", 0, kMaxCheckoutMinPoints).value_or(out.min_points);
  out.max_order_share_percent = static_cast<int>(
      read_int(*f, "max_order_share_percent", 1, 100).value_or(out.max_order_share_percent));
  out.hold_minutes =
      static_cast<int>(read_int(*f, "hold_minutes", 1, kMaxHoldMinutes).value_or(out.hold_minutes));
  if (points && amount_minor > 0) {
    out.enabled = true;
    out.rate_points = *points;
    out.rate_amount_minor = amount_minor;
  }
}

bool valid_rule_id(std::string_view id) {
  return !id.empty() && id.size() <= kMaxRuleIdLength &&
         std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
         });
}

bool valid_event_type(std::string_view type) {
  return !type.empty() && type.size() <= kMaxEventTypeLength &&
         std::all_of(type.begin(), type.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                  c == '.';
         });
}

void DocumentParser::parse_rules(const YAML::Node& node, const YAML::Node& key,
                                 std::vector<EarnRule>& out) {
  if (!node.IsSequence()) {
    error("earn_rules", node, "expected a list of earn rules, got " + describe(node), &key);
    return;
  }
  if (node.size() > kMaxEarnRules) {
    error("earn_rules", node,
          "at most " + std::to_string(kMaxEarnRules) + " earn rules, got " +
              std::to_string(node.size()));
    return;
  }
  std::map<std::string, std::string> ids;  // id -> where it was first defined
  for (size_t i = 0; i < node.size(); ++i) {
    if (!count_node()) return;
    if (auto rule = parse_rule(node[i], index_path("earn_rules", i), ids)) {
      out.push_back(std::move(*rule));
    }
  }
}

std::optional<EarnRule> DocumentParser::parse_rule(const YAML::Node& node, const std::string& path,
                                                   std::map<std::string, std::string>& ids) {
  size_t errors_before = errors_.size();
  auto f = read_map(node, path, kRuleKeys);
  if (!f) return std::nullopt;
  EarnRule r;
  auto here = [&](std::string_view key) { return child_path(path, key); };

  if (!f->has("id")) {
    report_missing(*f, "id", "a rule id of [a-z0-9_-], 1 to 64 characters");
  } else if (auto id = read_string(*f, "id")) {
    if (!valid_rule_id(*id)) {
      error(here("id"), *f->value("id"),
            "expected a rule id of lower-case letters, digits, '_' and '-', 1 to " +
                std::to_string(kMaxRuleIdLength) + " characters, got " + quoted(*id));
    } else if (auto [it, inserted] = ids.emplace(*id, path); !inserted) {
      error(here("id"), *f->value("id"),
            "duplicate rule id " + quoted(*id) + " (already used by " + it->second + ")");
    } else {
      r.id = *id;
    }
  }
  if (auto name = read_string(*f, "name")) {
    if (name->size() > kMaxConfigNameLength) {
      error(here("name"), *f->value("name"),
            "expected at most " + std::to_string(kMaxConfigNameLength) + " characters");
    }
    r.name = *name;
  }

  std::optional<EarnTrigger> trigger;
  std::optional<EarnKind> kind;
  if (!f->has("trigger")) {
    report_missing(*f, "trigger", "expected " + names_list(kTriggers));
  } else {
    trigger = read_enum(*f, "trigger", kTriggers);
  }
  if (!f->has("kind")) {
    report_missing(*f, "kind", "expected " + names_list(kKinds));
  } else {
    kind = read_enum(*f, "kind", kKinds);
  }
  if (!trigger || !kind) return std::nullopt;  // the rest depends on both
  r.trigger = *trigger;
  r.kind = *kind;
  const bool on_order = r.trigger == EarnTrigger::kOrder;
  const std::string trigger_text = std::string("trigger: ") + to_string(r.trigger);
  const std::string kind_text = std::string("kind: ") + to_string(r.kind);

  // A key that this trigger or kind does not use is an error: it would be ignored.
  auto only_for = [&](std::string_view key, bool allowed, const std::string& which) {
    if (f->has(key) && !allowed) {
      error(here(key), f->key_node(key),
            std::string(key) + " applies only to " + which + "; this rule has " +
                (which.starts_with("kind") ? kind_text : trigger_text));
      return false;
    }
    return f->has(key);
  };
  auto required_for = [&](std::string_view key, const std::string& which,
                          const std::string& expected) {
    if (!f->has(key)) report_missing(*f, key, expected + " (" + which + " needs it)");
  };

  if ((r.kind == EarnKind::kSpend || r.kind == EarnKind::kMultiplier) && !on_order) {
    error(here("kind"), *f->value("kind"),
          kind_text + " needs trigger: order; this rule has " + trigger_text);
  }

  // The trigger's own fields.
  if (r.trigger == EarnTrigger::kEvent) {
    required_for("event_type", trigger_text, "an event type of [a-z0-9_.-], 1 to 64 characters");
  }
  if (only_for("event_type", r.trigger == EarnTrigger::kEvent, "trigger: event")) {
    if (auto type = read_string(*f, "event_type")) {
      if (!valid_event_type(*type)) {
        error(here("event_type"), *f->value("event_type"),
              "expected an event type of lower-case letters, digits, '_', '-' and '.', 1 to " +
                  std::to_string(kMaxEventTypeLength) + " characters, got " + quoted(*type));
      } else {
        r.event_type = *type;
      }
    }
  }

  // The kind's amount: exactly the field it needs.
  switch (r.kind) {
    case EarnKind::kSpend:
      required_for("points_per_unit", kind_text, "points per 1 " + ctx_.currency + " of spend");
      break;
    case EarnKind::kMultiplier:
      required_for("multiplier", kind_text, "the factor applied to spend points, like 2");
      break;
    case EarnKind::kFixed:
      required_for("points", kind_text, "the points to award");
      break;
    case EarnKind::kFormula:
      required_for("formula", kind_text, "an expression giving the points");
      break;
  }
  if (only_for("points", r.kind == EarnKind::kFixed, "kind: fixed")) {
    r.points = read_int(*f, "points", 1, kMaxRulePoints).value_or(0);
  }
  if (only_for("points_per_unit", r.kind == EarnKind::kSpend, "kind: spend")) {
    r.points_per_unit = read_decimal(*f, "points_per_unit").value_or(Decimal{});
  }
  if (only_for("multiplier", r.kind == EarnKind::kMultiplier, "kind: multiplier")) {
    r.multiplier = read_decimal(*f, "multiplier").value_or(Decimal{});
  }
  rules::Environment env = rule_environment(r.trigger, ctx_.currency_exponent, false);
  if (only_for("formula", r.kind == EarnKind::kFormula, "kind: formula")) {
    // With an item filter the formula is evaluated per matching item (as
    // compile_config compiles it), so it may read `item`.
    const bool per_item = on_order && f->has("item_filter");
    r.formula = read_expression(*f, "formula",
                                rule_environment(r.trigger, ctx_.currency_exponent, per_item),
                                rules::TypeSet(rules::Type::kInt) | rules::Type::kDecimal,
                                "a formula (an int or decimal expression)")
                    .value_or("");
  }
  if (f->has("per_unit") && on_order && r.kind == EarnKind::kFixed && !f->has("item_filter")) {
    error(here("per_unit"), f->key_node("per_unit"),
          "per_unit needs an item_filter: it awards the points per unit of each matching item");
  } else if (only_for("per_unit", on_order && r.kind == EarnKind::kFixed,
                      "kind: fixed with trigger: order")) {
    r.per_unit = read_bool(*f, "per_unit").value_or(false);
  }

  // Order-only fields.
  if (only_for("item_filter", on_order, "trigger: order")) {
    r.item_filter = read_expression(*f, "item_filter",
                                    rule_environment(r.trigger, ctx_.currency_exponent, true),
                                    rules::Type::kBool, "an item filter (a bool expression)")
                        .value_or("");
  }
  if (only_for("min_order", on_order, "trigger: order")) {
    r.min_order_minor = read_money(*f, "min_order").value_or(0);
  }
  if (only_for("first_order_only", on_order, "trigger: order")) {
    r.first_order_only = read_bool(*f, "first_order_only").value_or(false);
  }
  if (only_for("pending_days", !on_order,
               "triggers other than order (order points vest per earning.return_window_days)")) {
    r.pending_days = static_cast<int>(read_int(*f, "pending_days", 0, kMaxPendingDays).value_or(0));
  }

  // Fields of every rule.
  r.condition =
      read_expression(*f, "condition", env, rules::Type::kBool, "a condition (a bool expression)")
          .value_or("");
  r.starts_at = read_local_time(*f, "starts_at");
  r.ends_at = read_local_time(*f, "ends_at");
  if (r.starts_at && r.ends_at && *r.starts_at >= *r.ends_at) {
    error(here("ends_at"), *f->value("ends_at"), "ends_at must be later than starts_at");
  }
  r.priority =
      static_cast<int>(read_int(*f, "priority", -kMaxRulePriority, kMaxRulePriority).value_or(0));
  r.exclusive = read_bool(*f, "exclusive").value_or(false);
  r.stackable = read_bool(*f, "stackable").value_or(true);
  r.member_cap = parse_cap(*f, "member_cap", true, env);
  r.global_cap = parse_cap(*f, "global_cap", false, env);

  if (errors_.size() != errors_before) return std::nullopt;
  return r;
}

std::optional<EarnCap> DocumentParser::parse_cap(const Fields& rule, std::string_view key,
                                                 bool member, const rules::Environment& env) {
  auto v = rule.value(key);
  if (!v) return std::nullopt;
  std::string path = child_path(rule.path, key);
  YAML::Node k = rule.key_node(key);
  auto f = read_map(*v, path, member ? kMemberCapKeys : kGlobalCapKeys, &k);
  if (!f) return std::nullopt;
  EarnCap cap;
  if (!f->has("period")) {
    report_missing(*f, "period", "expected " + names_list(kCapPeriods));
  } else {
    cap.period = read_enum(*f, "period", kCapPeriods).value_or(cap.period);
  }
  cap.max_awards = read_int(*f, "max_awards", 1, kMaxCapValue).value_or(0);
  cap.max_points = read_int(*f, "max_points", 1, kMaxCapValue).value_or(0);
  if (!f->has("max_awards") && !f->has("max_points")) {
    error(path, *v, "a cap needs max_awards, max_points or both");
  }
  if (member) {
    cap.distinct_by = read_expression(*f, "distinct_by", env, rules::Type::kString,
                                      "a distinct_by key (a string expression)")
                          .value_or("");
  }
  return cap;
}

std::vector<std::string> DocumentParser::read_id_list(const Fields& f, std::string_view key,
                                                      size_t max, const char* what) {
  std::vector<std::string> out;
  auto v = f.value(key);
  if (!v) return out;
  const std::string path = child_path(f.path, key);
  YAML::Node k = f.key_node(key);
  if (!v->IsSequence()) {
    error(path, *v, std::string("expected a list of ") + what + ", got " + describe(*v), &k);
    return out;
  }
  if (v->size() > max) {
    error(path, *v,
          "at most " + std::to_string(max) + " " + what + ", got " + std::to_string(v->size()));
    return out;
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < v->size(); ++i) {
    if (!count_node()) return out;
    YAML::Node item = (*v)[i];
    auto id = read_string(item, index_path(path, i), &k);
    if (!id) continue;
    if (!valid_rule_id(*id)) {
      error(index_path(path, i), item,
            "expected an id of lower-case letters, digits, '_' and '-', 1 to " +
                std::to_string(kMaxRuleIdLength) + " characters, got " + quoted(*id));
    } else if (!seen.insert(*id).second) {
      error(index_path(path, i), item, quoted(*id) + " is listed twice");
    } else {
      out.push_back(*id);
    }
  }
  return out;
}

std::optional<TierLevel> DocumentParser::parse_tier_level(const YAML::Node& node,
                                                          const std::string& path,
                                                          TierMetric metric) {
  const size_t errors_before = errors_.size();
  auto f = read_map(node, path, kTierLevelKeys);
  if (!f) return std::nullopt;
  TierLevel level;
  auto here = [&](std::string_view key) { return child_path(path, key); };
  if (!f->has("id")) {
    report_missing(*f, "id", "a tier id of [a-z0-9_-], 1 to 64 characters");
  } else if (auto id = read_string(*f, "id")) {
    if (!valid_rule_id(*id)) {
      error(here("id"), *f->value("id"),
            "expected a tier id of lower-case letters, digits, '_' and '-', 1 to " +
                std::to_string(kMaxRuleIdLength) + " characters, got " + quoted(*id));
    }
    level.id = *id;
  }
  if (!f->has("name")) {
    report_missing(*f, "name", "the tier's name, shown to members");
  } else if (auto name = read_string(*f, "name")) {
    if (name->empty() || name->size() > kMaxConfigNameLength) {
      error(here("name"), *f->value("name"),
            "expected a name of 1 to " + std::to_string(kMaxConfigNameLength) + " characters");
    }
    level.name = *name;
  }
  level.invite_only = read_bool(*f, "invite_only").value_or(false);
  if (level.invite_only) {
    // VIP: reached and left only by an admin's assignment (docs/tiers.md).
    if (f->has("threshold")) {
      error(here("threshold"), *f->value("threshold"),
            "an invite-only tier has no threshold: only an admin's assignment reaches it");
    }
    if (f->has("downgrade_to")) {
      error(here("downgrade_to"), *f->value("downgrade_to"),
            "an invite-only tier has no downgrade_to: only an admin's assignment leaves it");
    }
  } else if (!f->has("threshold")) {
    report_missing(*f, "threshold",
                   metric == TierMetric::kSpend ? "the spend that qualifies, like \"500.00\""
                                                : "the metric value that qualifies");
  } else if (metric == TierMetric::kSpend) {
    level.threshold = read_money(*f, "threshold").value_or(-1);
  } else {
    level.threshold = read_int(*f, "threshold", 0, kMaxTierThreshold).value_or(-1);
  }
  if (auto to = read_string(*f, "downgrade_to")) level.downgrade_to = *to;
  if (auto benefits = read_benefits(*f)) level.benefits = std::move(*benefits);
  if (errors_.size() != errors_before) return std::nullopt;
  return level;
}

std::optional<TierBenefits> DocumentParser::read_benefits(const Fields& f) {
  auto b = f.value("benefits");
  if (!b) return std::nullopt;
  YAML::Node k = f.key_node("benefits");
  auto bf = read_map(*b, child_path(f.path, "benefits"), kTierBenefitKeys, &k);
  if (!bf) return std::nullopt;
  TierBenefits out;
  if (bf->has("earn_multiplier")) {
    out.earn_multiplier = read_decimal(*bf, "earn_multiplier").value_or(out.earn_multiplier);
  }
  out.free_shipping = read_bool(*bf, "free_shipping").value_or(false);
  out.early_access_hours =
      static_cast<int>(read_int(*bf, "early_access_hours", 0, kMaxEarlyAccessHours).value_or(0));
  out.birthday_bonus_points = read_int(*bf, "birthday_bonus_points", 0, kMaxRulePoints).value_or(0);
  out.perks = read_id_list(*bf, "perks", kMaxTierPerks, "perk names");
  out.reward_ids = read_id_list(*bf, "rewards", kMaxTierPerks, "reward ids");
  for (std::string_view earning : {"earn_multiplier", "birthday_bonus_points"}) {
    if (f.path.starts_with("paid_membership") && bf->has(earning)) {
      error(child_path(bf->path, earning), bf->key_node(earning),
            std::string(earning) +
                " is a tier's benefit: a plan that changes earning grants a tier (grants.tier)");
    }
  }
  return out;
}

std::optional<PaidPlan> DocumentParser::parse_paid_plan(const YAML::Node& node,
                                                        const std::string& path,
                                                        const TierConfig& tiers) {
  const size_t errors_before = errors_.size();
  auto f = read_map(node, path, kPaidPlanKeys);
  if (!f) return std::nullopt;
  PaidPlan plan;
  for (auto [key, expected] :
       {std::pair{"id", "a plan id of [a-z0-9_-], 1 to 64 characters"},
        std::pair{"name", "the plan's name, shown to members"},
        std::pair{"price", "the price per period in the program's currency, like \"9.99\""},
        std::pair{"period", "the billing period: month or year"},
        std::pair{"grants", "what the plan grants: {tier: <tier id>} or {benefits: {...}}"}}) {
    if (!f->has(key)) report_missing(*f, key, expected);
  }
  if (auto id = read_string(*f, "id")) {
    if (!valid_rule_id(*id)) {
      error(child_path(path, "id"), *f->value("id"),
            "expected a plan id of lower-case letters, digits, '_' and '-', 1 to " +
                std::to_string(kMaxRuleIdLength) + " characters, got " + quoted(*id));
    }
    plan.id = *id;
  }
  if (auto name = read_string(*f, "name")) {
    if (name->empty() || name->size() > kMaxConfigNameLength) {
      error(child_path(path, "name"), *f->value("name"),
            "expected a name of 1 to " + std::to_string(kMaxConfigNameLength) + " characters");
    }
    plan.name = *name;
  }
  if (f->has("price")) {
    if (auto price = read_money(*f, "price"); price && *price <= 0) {
      error(child_path(path, "price"), *f->value("price"), "expected a price above 0");
    } else if (price) {
      plan.price_minor = *price;
    }
  }
  plan.period = read_enum(*f, "period", kBillingPeriods).value_or(plan.period);
  plan.grace_days = static_cast<int>(read_int(*f, "grace_days", 0, kMaxPaidGraceDays).value_or(0));
  if (auto g = f->value("grants")) {
    YAML::Node k = f->key_node("grants");
    if (auto gf = read_map(*g, child_path(path, "grants"), kPaidGrantKeys, &k)) {
      if (gf->has("tier") == gf->has("benefits")) {
        error(child_path(path, "grants"), *g,
              "expected exactly one of tier (a tier id) and benefits (a mapping)");
      } else if (auto tier = read_string(*gf, "tier")) {
        const int level = level_index(tiers, *tier);
        if (level < 0) {
          error(child_path(gf->path, "tier"), *gf->value("tier"),
                "granted tier " + quoted(*tier) + " is not a tier of this program");
        } else if (is_invite_only(tiers, level)) {
          error(child_path(gf->path, "tier"), *gf->value("tier"),
                "granted tier " + quoted(*tier) +
                    " is invite-only: only an admin's assignment reaches it");
        }
        plan.grants_tier = *tier;
      } else {
        plan.grants_benefits = read_benefits(*gf);
      }
    }
  }
  if (errors_.size() != errors_before) return std::nullopt;
  return plan;
}

void DocumentParser::parse_paid_membership(const YAML::Node& node, const YAML::Node& key,
                                           const TierConfig& tiers, PaidMembershipConfig& out) {
  auto f = read_map(node, "paid_membership", kPaidMembershipKeys, &key);
  if (!f) return;
  out.reminder_days = static_cast<int>(
      read_int(*f, "reminder_days", 0, kMaxPaidReminderDays).value_or(out.reminder_days));
  auto plans = f->value("plans");
  if (!plans) return;
  if (!plans->IsSequence()) {
    YAML::Node pk = f->key_node("plans");
    error("paid_membership.plans", *plans, "expected a list of plans, got " + describe(*plans),
          &pk);
    return;
  }
  if (plans->size() > kMaxPaidPlans) {
    error("paid_membership.plans", *plans,
          "at most " + std::to_string(kMaxPaidPlans) + " plans, got " +
              std::to_string(plans->size()));
    return;
  }
  std::map<std::string, size_t> ids;
  std::vector<PaidPlan> parsed;
  for (size_t i = 0; i < plans->size(); ++i) {
    if (!count_node()) return;
    const std::string path = index_path("paid_membership.plans", i);
    auto plan = parse_paid_plan((*plans)[i], path, tiers);
    if (!plan) continue;
    if (auto [it, inserted] = ids.emplace(plan->id, i); !inserted) {
      error(path + ".id", (*plans)[i]["id"],
            "duplicate plan id " + quoted(plan->id) + " (already used by paid_membership.plans[" +
                std::to_string(it->second) + "])");
      continue;
    }
    parsed.push_back(std::move(*plan));
  }
  if (parsed.size() == plans->size()) out.plans = std::move(parsed);
}

void DocumentParser::parse_tiers(const YAML::Node& node, const YAML::Node& key, TierConfig& out) {
  auto f = read_map(node, "tiers", kTierKeys, &key);
  if (!f) return;
  out.metric = read_enum(*f, "metric", kTierMetrics).value_or(out.metric);
  if (out.metric == TierMetric::kExpression) {
    if (!f->has("expression")) {
      report_missing(*f, "expression",
                     "an int expression over member.total_spent, member.lifetime_earned and "
                     "member.orders_count (metric: expression needs it)");
    }
    out.expression =
        read_expression(*f, "expression", tier_expression_environment(ctx_.currency_exponent),
                        rules::Type::kInt, "a tier metric (an int expression)")
            .value_or("");
  } else if (f->has("expression")) {
    error("tiers.expression", f->key_node("expression"),
          std::string("expression applies only to metric: expression; this program has metric: ") +
              to_string(out.metric));
  }
  out.window.kind = read_enum(*f, "window", kTierWindows).value_or(out.window.kind);
  if (out.window.kind == TierWindowKind::kRollingMonths) {
    out.window.months = static_cast<int>(
        read_int(*f, "window_months", 1, kMaxTierRollingMonths).value_or(out.window.months));
  } else if (f->has("window_months")) {
    error("tiers.window_months", f->key_node("window_months"),
          std::string("window_months applies only to window: rolling_months, not to window: ") +
              to_string(out.window.kind));
  }
  if (auto d = f->value("downgrade")) {
    YAML::Node k = f->key_node("downgrade");
    if (auto df = read_map(*d, "tiers.downgrade", kTierDowngradeKeys, &k)) {
      out.downgrade.grace_periods =
          static_cast<int>(read_int(*df, "grace_periods", 0, kMaxTierGracePeriods).value_or(0));
      out.downgrade.on_refund = read_bool(*df, "on_refund").value_or(false);
    }
  }
  auto levels = f->value("levels");
  if (!levels) return;
  YAML::Node lk = f->key_node("levels");
  if (!levels->IsSequence()) {
    error("tiers.levels", *levels, "expected a list of tiers, got " + describe(*levels), &lk);
    return;
  }
  if (levels->size() > kMaxTierLevels) {
    error("tiers.levels", *levels,
          "at most " + std::to_string(kMaxTierLevels) + " tiers, got " +
              std::to_string(levels->size()));
    return;
  }
  // Each tier is checked alone, then against the others (ids, names,
  // thresholds, downgrade targets), each error at the offending value.
  std::vector<std::pair<size_t, TierLevel>> parsed;
  for (size_t i = 0; i < levels->size(); ++i) {
    if (!count_node()) return;
    if (auto level = parse_tier_level((*levels)[i], index_path("tiers.levels", i), out.metric)) {
      parsed.emplace_back(i, std::move(*level));
    }
  }
  if (parsed.size() != levels->size()) return;
  std::map<std::string, size_t> ids, names;
  bool ok = true;
  std::optional<size_t> below_index;  // the last tier with a threshold
  for (const auto& [i, level] : parsed) {
    const YAML::Node n = (*levels)[i];
    const std::string path = index_path("tiers.levels", i);
    if (auto [it, inserted] = ids.emplace(level.id, i); !inserted) {
      error(path + ".id", n["id"],
            "duplicate tier id " + quoted(level.id) + " (already used by tiers.levels[" +
                std::to_string(it->second) + "])");
      ok = false;
    }
    if (auto [it, inserted] = names.emplace(level.name, i); !inserted) {
      error(path + ".name", n["name"],
            "duplicate tier name " + quoted(level.name) + " (already used by tiers.levels[" +
                std::to_string(it->second) + "])");
      ok = false;
    }
    // Thresholds rise along the tiers that have one (invite-only tiers have none).
    if (level.invite_only) continue;
    if (below_index) {
      const TierLevel& below = parsed[*below_index].second;
      if (level.threshold == below.threshold) {
        error(path + ".threshold", n["threshold"],
              "threshold overlaps tier " + quoted(below.id) +
                  ": both qualify at the same value; thresholds must rise strictly with the "
                  "tiers (lowest tier first)");
        ok = false;
      } else if (level.threshold < below.threshold) {
        error(path + ".threshold", n["threshold"],
              "threshold is lower than that of tier " + quoted(below.id) +
                  ", the tier before it; thresholds must rise strictly with the tiers (lowest "
                  "tier first)");
        ok = false;
      }
    }
    below_index = i;
  }
  for (const auto& [i, level] : parsed) {
    if (level.downgrade_to.empty()) continue;
    const YAML::Node n = (*levels)[i];
    const std::string path = index_path("tiers.levels", i) + ".downgrade_to";
    auto it = ids.find(level.downgrade_to);
    if (it == ids.end()) {
      error(path, n["downgrade_to"],
            "downgrade target " + quoted(level.downgrade_to) + " is not a tier of this program");
      ok = false;
    } else if (it->second >= i) {
      error(path, n["downgrade_to"],
            "downgrade target " + quoted(level.downgrade_to) + " must be a lower tier than " +
                quoted(level.id));
      ok = false;
    } else if (parsed[it->second].second.invite_only) {
      error(path, n["downgrade_to"],
            "downgrade target " + quoted(level.downgrade_to) +
                " is invite-only: only an admin's assignment reaches it");
      ok = false;
    }
  }
  if (!ok) return;
  for (auto& [i, level] : parsed) out.levels.push_back(std::move(level));
}

// The opaque slots of later issues: converted to canonical JSON (keys sorted)
// after checking their outer type.
std::string DocumentParser::parse_slot(const YAML::Node& node, const YAML::Node& key,
                                       std::string_view name, bool list) {
  std::string path(name);
  if (list ? !node.IsSequence() : !node.IsMap()) {
    error(path, node,
          std::string("expected ") + (list ? "a list" : "a mapping") + ", got " + describe(node),
          &key);
    return list ? "[]" : "{}";
  }
  JsonWriter w;
  if (!write_json(w, node, path, 0)) return list ? "[]" : "{}";
  return w.take();
}

bool DocumentParser::write_json(JsonWriter& w, const YAML::Node& node, const std::string& path,
                                size_t depth) {
  if (!count_node()) return false;
  if (depth > kMaxConfigDepth) {
    error(path, node, "nested deeper than " + std::to_string(kMaxConfigDepth) + " levels");
    return false;
  }
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      std::map<std::string, YAML::Node> sorted;
      for (auto it = node.begin(); it != node.end(); ++it) {
        if (!it->first.IsScalar()) {
          error(path, it->first, "keys must be strings, got " + describe(it->first));
          return false;
        }
        if (!sorted.emplace(it->first.Scalar(), it->second).second) {
          error(child_path(path, it->first.Scalar()), it->first, "duplicate key");
          return false;
        }
      }
      w.begin_object();
      for (const auto& [k, v] : sorted) {
        w.key(k);
        if (!write_json(w, v, child_path(path, k), depth + 1)) return false;
      }
      w.end_object();
      return true;
    }
    case YAML::NodeType::Sequence: {
      w.begin_array();
      for (size_t i = 0; i < node.size(); ++i) {
        if (!write_json(w, node[i], index_path(path, i), depth + 1)) return false;
      }
      w.end_array();
      return true;
    }
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      w.null();
      return true;
    case YAML::NodeType::Scalar:
      break;
  }
  const std::string& s = node.Scalar();
  if (!is_plain(node)) {
    w.value(s);
    return true;
  }
  switch (classify_plain(s)) {
    case PlainKind::kNull:
      w.null();
      return true;
    case PlainKind::kBool:
      w.value(s[0] == 't' || s[0] == 'T');
      return true;
    case PlainKind::kInt:
    case PlainKind::kFloat: {
      // Written as the JSON number it is when JSON can spell it that way.
      std::string_view body = s;
      if (body.front() == '-') body.remove_prefix(1);
      bool json_number = !body.empty() && body.front() >= '0' && body.front() <= '9' &&
                         !(body.size() > 1 && body.front() == '0' && body[1] != '.' &&
                           body[1] != 'e' && body[1] != 'E') &&
                         body.find_first_not_of("0123456789.eE+-") == std::string_view::npos &&
                         body.back() != '.';
      if (json_number) {
        w.raw(s);
      } else {
        w.value(s);
      }
      return true;
    }
    case PlainKind::kString:
      w.value(s);
      return true;
  }
  return true;
}

ConfigParseResult DocumentParser::run() {
  ConfigParseResult result;
  if (text_.size() > kMaxConfigDocumentBytes) {
    result.errors.push_back(ConfigError{
        "", 1, 1,
        "the document is larger than " + std::to_string(kMaxConfigDocumentBytes) + " bytes"});
    return result;
  }
  // More than one document is an error; counting to a few names how many.
  constexpr size_t kDocumentsCounted = 16;
  std::vector<DocumentRoots::Root> roots;
  YAML::Node root;
  try {
    const std::string text(text_);
    roots = DocumentRoots::read(text, kDocumentsCounted);
    if (!roots.empty() && !roots.front().null) root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    int line = e.mark.is_null() ? 0 : e.mark.line + 1;
    int column = e.mark.is_null() ? 0 : e.mark.column + 1;
    if (!e.mark.is_null() && e.mark.pos >= 0) {
      std::tie(line, column) = lines_.at(static_cast<size_t>(e.mark.pos));
    }
    std::string message = "not valid YAML or JSON: " + e.msg;
    std::replace_if(
        message.begin(), message.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    result.errors.push_back(ConfigError{"", line, column, std::move(message)});
    return result;
  } catch (const std::exception& e) {
    // yaml-cpp may throw outside its own hierarchy (e.g. bad_alloc on huge input).
    result.errors.push_back(ConfigError{"", 0, 0, std::string("cannot parse: ") + e.what()});
    return result;
  }
  auto position_of = [&](const YAML::Mark& mark) {
    return mark.is_null() || mark.pos < 0 ? std::pair<int, int>{1, 1}
                                          : lines_.at(static_cast<size_t>(mark.pos));
  };
  if (roots.empty() || roots.front().null) {
    // An empty root where the text has a token: a token no node may start with.
    const YAML::Mark mark = roots.empty() ? YAML::Mark::null_mark() : roots.front().mark;
    const size_t pos =
        mark.is_null() || mark.pos < 0 ? text_.size() : static_cast<size_t>(mark.pos);
    if (pos < text_.size() && (text_[pos] == ',' || text_[pos] == ']' || text_[pos] == '}')) {
      auto [line, column] = position_of(mark);
      result.errors.push_back(ConfigError{"", line, column,
                                          std::string("not valid YAML or JSON: unexpected '") +
                                              text_[pos] + "' where a value starts"});
      return result;
    }
    result.errors.push_back(
        ConfigError{"", 1, 1,
                    "the document is empty; expected a mapping with earning, expiry "
                    "and earn_rules"});
    return result;
  }
  if (roots.size() > 1) {
    const YAML::Mark& second = roots[1].mark;
    error_at(
        "", second.is_null() || second.pos < 0 ? 0 : static_cast<size_t>(second.pos),
        "expected one document, found " +
            (roots.size() < kDocumentsCounted ? std::to_string(roots.size())
                                              : "more than " + std::to_string(roots.size() - 1)) +
            " (remove the extra '---')");
  }
  ProgramConfig config;
  try {
    if (auto f = read_map(root, "", kTopKeys)) {
      if (auto schema = f->value("$schema")) {
        YAML::Node k = f->key_node("$schema");
        (void)read_string(*schema, "$schema", &k);
      }
      if (auto v = f->value("earning")) parse_earning(*v, f->key_node("earning"), config.earning);
      if (auto v = f->value("expiry")) parse_expiry(*v, f->key_node("expiry"), config.expiry);
      if (auto v = f->value("earn_rules")) {
        parse_rules(*v, f->key_node("earn_rules"), config.earn_rules);
      }
      if (auto v = f->value("tiers")) parse_tiers(*v, f->key_node("tiers"), config.tiers);
      if (auto v = f->value("paid_membership")) {
        parse_paid_membership(*v, f->key_node("paid_membership"), config.tiers,
                              config.paid_membership);
      }
      if (auto v = f->value("checkout")) {
        parse_checkout(*v, f->key_node("checkout"), config.checkout);
      }
      struct Slot {
        std::string_view name;
        bool list;
        std::string* out;
      };
      for (const Slot& slot : {Slot{"rewards", true, &config.rewards_json},
                               Slot{"campaigns", true, &config.campaigns_json},
                               Slot{"challenges", true, &config.challenges_json},
                               Slot{"referrals", false, &config.referrals_json}}) {
        if (auto v = f->value(slot.name)) {
          *slot.out = parse_slot(*v, f->key_node(slot.name), slot.name, slot.list);
        }
      }
      // The referral policy's model (domain/referrals.h).
      if (auto v = f->value("referrals")) {
        for (ConfigIssue& issue : parse_referrals(*v, ctx_.currency_exponent, &config.referrals)) {
          error_at(issue.path, issue.offset, std::move(issue.message));
        }
      }
      // Gifting (domain/gifting.h).
      if (auto v = f->value("gifting")) {
        for (ConfigIssue& issue : parse_gifting(*v, &config.gifting)) {
          error_at(issue.path, issue.offset, std::move(issue.message));
        }
      }
      // The rewards catalog's model (domain/rewards.h), after the tiers it names.
      if (auto v = f->value("rewards"); v && v->IsSequence()) {
        RewardParseContext rctx{ctx_.currency_exponent, {}};
        for (const TierLevel& level : config.tiers.levels) rctx.tier_ids.push_back(level.id);
        for (ConfigIssue& issue : parse_rewards(*v, rctx, &config.rewards)) {
          error_at(issue.path, issue.offset, std::move(issue.message));
        }
      }
    }
  } catch (const YAML::Exception& e) {
    // Node access does not throw for the shapes checked above; this is a guard.
    error_at("", 0, std::string("cannot read the document: ") + e.msg);
  }
  if (!errors_.empty()) {
    // In document order; the "too many errors" note (no position) stays last.
    auto end = errors_.size() > kMaxConfigErrors ? errors_.end() - 1 : errors_.end();
    std::stable_sort(errors_.begin(), end, [](const ConfigError& a, const ConfigError& b) {
      return std::tie(a.line, a.column) < std::tie(b.line, b.column);
    });
    result.errors = std::move(errors_);
    return result;
  }
  result.config = std::move(config);
  return result;
}

// ---- Canonical JSON ----

std::string format_money(int64_t minor, int exponent) {
  std::string digits = std::to_string(minor);
  if (exponent == 0) return digits;
  if (digits.size() <= static_cast<size_t>(exponent)) {
    digits.insert(0, static_cast<size_t>(exponent) + 1 - digits.size(), '0');
  }
  digits.insert(digits.size() - static_cast<size_t>(exponent), ".");
  return digits;
}

void write_cap(JsonWriter& w, const EarnCap& cap, bool member) {
  w.begin_object().field("period", to_string(cap.period));
  if (cap.max_awards > 0) w.field("max_awards", cap.max_awards);
  if (cap.max_points > 0) w.field("max_points", cap.max_points);
  if (member && !cap.distinct_by.empty()) w.field("distinct_by", cap.distinct_by);
  w.end_object();
}

void write_rule(JsonWriter& w, const EarnRule& r, const ConfigContext& ctx) {
  const bool on_order = r.trigger == EarnTrigger::kOrder;
  w.begin_object().field("id", r.id).field("name", r.name);
  w.field("trigger", to_string(r.trigger));
  if (r.trigger == EarnTrigger::kEvent) w.field("event_type", r.event_type);
  w.field("kind", to_string(r.kind));
  switch (r.kind) {
    case EarnKind::kSpend:
      w.key("points_per_unit").raw(format_decimal(r.points_per_unit));
      break;
    case EarnKind::kMultiplier:
      w.key("multiplier").raw(format_decimal(r.multiplier));
      break;
    case EarnKind::kFixed:
      w.field("points", r.points);
      if (on_order && !r.item_filter.empty()) w.field("per_unit", r.per_unit);
      break;
    case EarnKind::kFormula:
      w.field("formula", r.formula);
      break;
  }
  if (!r.condition.empty()) w.field("condition", r.condition);
  if (on_order) {
    if (!r.item_filter.empty()) w.field("item_filter", r.item_filter);
    if (r.min_order_minor > 0) {
      w.field("min_order", format_money(r.min_order_minor, ctx.currency_exponent));
    }
    w.field("first_order_only", r.first_order_only);
  }
  if (r.starts_at) w.field("starts_at", format_rfc3339(*r.starts_at));
  if (r.ends_at) w.field("ends_at", format_rfc3339(*r.ends_at));
  w.field("priority", r.priority).field("exclusive", r.exclusive).field("stackable", r.stackable);
  if (r.member_cap) {
    w.key("member_cap");
    write_cap(w, *r.member_cap, true);
  }
  if (r.global_cap) {
    w.key("global_cap");
    write_cap(w, *r.global_cap, false);
  }
  if (!on_order) w.field("pending_days", r.pending_days);
  w.end_object();
}

void write_tiers(JsonWriter& w, const TierConfig& t, const ConfigContext& ctx) {
  w.key("tiers").begin_object().field("metric", to_string(t.metric));
  if (t.metric == TierMetric::kExpression) w.field("expression", t.expression);
  w.field("window", to_string(t.window.kind));
  if (t.window.kind == TierWindowKind::kRollingMonths) w.field("window_months", t.window.months);
  w.key("downgrade")
      .begin_object()
      .field("grace_periods", t.downgrade.grace_periods)
      .field("on_refund", t.downgrade.on_refund)
      .end_object();
  w.key("levels").begin_array();
  for (const TierLevel& l : t.levels) {
    w.begin_object().field("id", l.id).field("name", l.name);
    if (l.invite_only) {
      w.field("invite_only", true);
    } else if (t.metric == TierMetric::kSpend) {
      w.field("threshold", format_money(l.threshold, ctx.currency_exponent));
    } else {
      w.field("threshold", l.threshold);
    }
    if (!l.downgrade_to.empty()) w.field("downgrade_to", l.downgrade_to);
    w.key("benefits").begin_object();
    write_tier_benefit_fields(w, l.benefits);
    w.end_object().end_object();
  }
  w.end_array().end_object();
}

}  // namespace

std::string format_minor_units(int64_t minor, int exponent) {
  return format_money(minor, exponent);
}

void write_plan_grants(JsonWriter& w, const PaidPlan& plan) {
  w.key("grants").begin_object();
  if (plan.grants_benefits) {
    const TierBenefits& b = *plan.grants_benefits;
    w.key("benefits")
        .begin_object()
        .field("free_shipping", b.free_shipping)
        .field("early_access_hours", b.early_access_hours);
    w.key("perks").begin_array();
    for (const std::string& p : b.perks) w.value(p);
    w.end_array().key("rewards").begin_array();
    for (const std::string& r : b.reward_ids) w.value(r);
    w.end_array().end_object();
  } else {
    w.field("tier", plan.grants_tier);
  }
  w.end_object();
}

void write_tier_benefit_fields(JsonWriter& w, const TierBenefits& b) {
  w.key("earn_multiplier").raw(format_decimal(b.earn_multiplier));
  w.field("free_shipping", b.free_shipping)
      .field("early_access_hours", b.early_access_hours)
      .field("birthday_bonus_points", b.birthday_bonus_points);
  w.key("perks").begin_array();
  for (const std::string& p : b.perks) w.value(p);
  w.end_array().key("rewards").begin_array();
  for (const std::string& r : b.reward_ids) w.value(r);
  w.end_array();
}

const char* to_string(ConfigFormat format) {
  return format == ConfigFormat::kJson ? "json" : "yaml";
}

std::optional<ConfigFormat> parse_config_format(std::string_view text) {
  if (text == "json") return ConfigFormat::kJson;
  if (text == "yaml") return ConfigFormat::kYaml;
  return std::nullopt;
}

ConfigFormat detect_config_format(std::string_view document) {
  size_t first = document.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && document[first] == '{' ? ConfigFormat::kJson
                                                                   : ConfigFormat::kYaml;
}

ConfigParseResult parse_config_document(std::string_view text, const ConfigContext& ctx) {
  DocumentParser parser(text, ctx);
  ConfigParseResult result = parser.run();
  LOYALTY_ASSERT(result.config.has_value() == result.errors.empty());
  return result;
}

std::string config_to_json(const ProgramConfig& c, const ConfigContext& ctx) {
  JsonWriter w;
  w.begin_object();
  const EarningPolicy& e = c.earning;
  w.key("earning").begin_object();
  w.key("eligible_spend").begin_object();
  w.field("after_discounts", e.eligible_spend.after_discounts)
      .field("include_shipping", e.eligible_spend.include_shipping)
      .field("include_tax", e.eligible_spend.include_tax);
  w.key("excluded_categories").begin_array();
  for (const auto& cat : e.eligible_spend.excluded_categories) w.value(cat);
  w.end_array().end_object();
  w.field("rounding", to_string(e.rounding))
      .field("return_window_days", e.return_window_days)
      .field("vest_from", to_string(e.vest_from))
      .field("refund_overspend", to_string(e.refund_overspend))
      .field("guest_order_claim_days", e.guest_order_claim_days)
      .field("max_points_per_order", e.max_points_per_order);
  w.end_object();

  const ExpiryPolicy& x = c.expiry;
  w.key("expiry").begin_object().field("mode", to_string(x.mode));
  if (x.mode == ExpiryMode::kAfterEarn || x.mode == ExpiryMode::kRolling) {
    w.field("months", x.months);
  }
  if (x.mode == ExpiryMode::kFixedDate) {
    char md[8];
    std::snprintf(md, sizeof md, "%02d-%02d", x.fixed_month, x.fixed_day);
    w.field("fixed_date", std::string_view(md));
  }
  if (x.mode != ExpiryMode::kNone) w.field("warn_days_before", x.warn_days_before);
  w.end_object();

  w.key("earn_rules").begin_array();
  for (const EarnRule& r : c.earn_rules) write_rule(w, r, ctx);
  w.end_array();
  write_tiers(w, c.tiers, ctx);
  if (c.paid_membership.enabled()) {  // absent without plans: older documents keep their form
    w.key("paid_membership").begin_object();
    w.field("reminder_days", c.paid_membership.reminder_days).key("plans").begin_array();
    for (const PaidPlan& p : c.paid_membership.plans) {
      w.begin_object()
          .field("id", p.id)
          .field("name", p.name)
          .field("price", format_money(p.price_minor, ctx.currency_exponent))
          .field("period", to_string(p.period))
          .field("grace_days", p.grace_days);
      write_plan_grants(w, p);
      w.end_object();
    }
    w.end_array().end_object();
  }
  w.field_raw("rewards", c.rewards_json)
      .field_raw("campaigns", c.campaigns_json)
      .field_raw("challenges", c.challenges_json)
      .field_raw("referrals", c.referrals_json);
  if (c.checkout.enabled) {  // absent when disabled: older documents keep their canonical form
    const CheckoutConfig& k = c.checkout;
    w.key("checkout")
        .begin_object()
        .field("points", k.rate_points)
        .field("amount", format_money(k.rate_amount_minor, ctx.currency_exponent))
        .field("min_points", k.min_points)
        .field("max_order_share_percent", k.max_order_share_percent)
        .field("hold_minutes", k.hold_minutes)
        .end_object();
  }
  if (c.gifting != GiftingConfig{}) {  // absent when never written: canonical forms stay
    w.field_raw("gifting", gifting_json(c.gifting));
  }
  w.end_object();
  return w.take();
}

std::string format_config_error(const ConfigError& e, std::string_view file) {
  std::string out(file);
  out += ":" + std::to_string(e.line) + ":" + std::to_string(e.column) + ": ";
  if (!e.path.empty()) out += e.path + ": ";
  return out + e.message;
}

Status invalid_config_status(const std::vector<ConfigError>& errors) {
  LOYALTY_ASSERT(!errors.empty());
  std::string message = "the configuration document has " + std::to_string(errors.size()) +
                        (errors.size() == 1 ? " error" : " errors");
  for (const ConfigError& e : errors) message += "\n" + format_config_error(e, "");
  return Status(ErrorCode::kInvalidConfig, std::move(message));
}

std::vector<ConfigError> config_errors_of(const Status& status) {
  std::vector<ConfigError> out;
  if (status.code() != ErrorCode::kInvalidConfig) return out;
  std::string_view rest = status.message();
  size_t nl = rest.find('\n');
  while (nl != std::string_view::npos) {
    rest.remove_prefix(nl + 1);
    nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    // ":LINE:COL: PATH: message" (see format_config_error); paths hold no ": ".
    ConfigError e;
    if (line.empty() || line.front() != ':') continue;
    line.remove_prefix(1);
    auto number = [&line](int* out) {
      auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), *out);
      if (ec != std::errc()) return false;
      line.remove_prefix(static_cast<size_t>(end - line.data()));
      return true;
    };
    if (!number(&e.line) || !line.starts_with(":")) continue;
    line.remove_prefix(1);
    if (!number(&e.column) || !line.starts_with(": ")) continue;
    line.remove_prefix(2);
    size_t sep = line.find(": ");
    bool has_path = sep != std::string_view::npos && sep > 0 &&
                    line.substr(0, sep).find(' ') == std::string_view::npos;
    if (has_path) {
      e.path = std::string(line.substr(0, sep));
      line.remove_prefix(sep + 2);
    }
    e.message = std::string(line);
    out.push_back(std::move(e));
  }
  return out;
}

std::span<const ConfigObjectKeys> config_document_keys() {
  static const std::vector<ConfigObjectKeys> kKeys = {
      {"", kTopKeys},
      {"earning", kEarningKeys},
      {"earning.eligible_spend", kEligibleSpendKeys},
      {"expiry", kExpiryKeys},
      {"earn_rules[]", kRuleKeys},
      {"earn_rules[].member_cap", kMemberCapKeys},
      {"earn_rules[].global_cap", kGlobalCapKeys},
      {"tiers", kTierKeys},
      {"tiers.downgrade", kTierDowngradeKeys},
      {"tiers.levels[]", kTierLevelKeys},
      {"tiers.levels[].benefits", kTierBenefitKeys},
      {"checkout", kCheckoutKeys},
      {"paid_membership", kPaidMembershipKeys},
      {"paid_membership.plans[]", kPaidPlanKeys},
      {"paid_membership.plans[].grants", kPaidGrantKeys},
      {"paid_membership.plans[].grants.benefits", kTierBenefitKeys},
  };
  return kKeys;
}

}  // namespace loyalty
