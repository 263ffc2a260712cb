// The compiler: type checking and lowering of the syntax tree to the
// evaluation tree (node.h), with constant folding.
//
// Every decision about types is taken here, once: implicit conversions become
// explicit nodes, fields become Field ids, functions become ops. A constant
// subtree (no field, no `now`) is evaluated at compile time, so an overflow
// or a division by zero among constants is a compile error.
#include <algorithm>
#include <array>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "common/assert.h"
#include "common/time.h"
#include "domain/rules/evaluator.h"
#include "domain/rules/fields.h"
#include "domain/rules/fixed_point.h"
#include "domain/rules/parser.h"
#include "domain/rules/rules.h"

namespace loyalty::rules {
namespace detail {
namespace {

constexpr std::array<Root, 6> kRoots = {Root::kOrder,  Root::kItem,    Root::kEvent,
                                        Root::kMember, Root::kProgram, Root::kNow};

constexpr const char* kFunctionNames[] = {
    "abs",         "all",        "any",
    "ceil",        "contains",   "count",
    "date",        "day",        "days",
    "days_since",  "days_until", "days_until_anniversary",
    "decimal",     "ends_with",  "equals_ignore_case",
    "floor",       "has",        "hours",
    "int",         "len",        "max",
    "min",         "minutes",    "money",
    "month",       "round",      "size",
    "starts_with", "sum",        "timestamp",
    "weekday",     "year",
};

// Levenshtein distance, for "did you mean" (names are short: O(n*m) is fine).
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The closest candidate within 2 edits (and less than the name's length), or "".
template <typename Range, typename NameOf>
std::string closest(std::string_view name, const Range& candidates, NameOf name_of) {
  std::string best;
  size_t best_distance = 3;
  for (const auto& c : candidates) {
    std::string_view candidate = name_of(c);
    size_t d = edit_distance(name, candidate);
    if (d < best_distance && d < name.size()) {
      best_distance = d;
      best = std::string(candidate);
    }
  }
  return best;
}

std::string format_decimal(int64_t scaled) {
  char buf[48];
  __int128 v = scaled;
  const char* sign = v < 0 ? "-" : "";
  if (v < 0) v = -v;
  std::snprintf(buf, sizeof buf, "%s%lld.%06lld", sign, static_cast<long long>(v / kDecimalScale),
                static_cast<long long>(v % kDecimalScale));
  std::string s = buf;
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

bool is_numeric(Type t) { return t == Type::kInt || t == Type::kDecimal || t == Type::kMoney; }

std::string describe(TypeSet set) {
  std::vector<std::string> names;
  for (Type t : {Type::kBool, Type::kInt, Type::kDecimal, Type::kMoney, Type::kString,
                 Type::kInstant, Type::kDate, Type::kDuration}) {
    if (set.contains(t)) names.emplace_back(type_name(t));
  }
  if (names.size() == 8) return "a value";
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

bool reads_context(Op op) {
  switch (op) {
    case Op::kNow:
    case Op::kLoad:
    case Op::kAttrGet:
    case Op::kAttrHas:
    case Op::kAttrHasKey:
    case Op::kAttrSize:
    case Op::kHasField:
    case Op::kAny:
    case Op::kAll:
    case Op::kCount:
    case Op::kSum:
    case Op::kSizeItems:
    case Op::kDaysSinceInstant:
    case Op::kDaysSinceDate:
    case Op::kDaysUntilInstant:
    case Op::kDaysUntilDate:
    case Op::kDaysUntilAnniversary:
      return true;
    default:
      return false;
  }
}

// A name chain that denotes something in the context: a root, a field, or
// one entry of an attributes map.
struct Path {
  enum Kind { kRoot, kField, kAttr } kind = kRoot;
  Root root = Root::kOrder;
  bool loop = false;                 // the macro's variable, not a root
  const FieldInfo* field = nullptr;  // kField; the map of kAttr
  std::string key;                   // kAttr
  std::string display;               // "member.attributes.vip"
};

class Compiler {
 public:
  Compiler(const Ast& ast, const Environment& env, CompiledProgram* out)
      : ast_(ast), env_(env), out_(out) {}

  int check(int a);

  int error_offset() const { return error_offset_; }
  const std::string& error_message() const { return error_message_; }

 private:
  const AstNode& ast(int a) const { return ast_.nodes[a]; }
  Type type_of(int node) const { return out_->nodes[node].type; }
  bool is_const(int node) const {
    Op op = out_->nodes[node].op;
    return op == Op::kConst || op == Op::kConstString;
  }
  bool is_path_shaped(int a) const {
    AstKind k = ast(a).kind;
    return k == AstKind::kName || k == AstKind::kSelect || k == AstKind::kIndex;
  }
  int64_t money_scale() const { return pow10(env_.currency_exponent); }
  int64_t decimal_per_minor() const { return pow10(kDecimalDigits - env_.currency_exponent); }

  int fail(int offset, std::string message) {
    if (error_offset_ < 0) {
      error_offset_ = offset;
      error_message_ = std::move(message);
    }
    return -1;
  }

  uint32_t intern(std::string_view s) {
    uint32_t offset = static_cast<uint32_t>(out_->pool.size());
    out_->pool.append(s);
    return offset;
  }

  // Appends a node with children a, b, c; folds it when it is constant and
  // `fold_if_constant`. -1 on error.
  int emit(Node node, std::initializer_list<int> children, bool fold_if_constant = true);
  int emit_op(Op op, Type type, int offset, std::initializer_list<int> children, int64_t imm = 0) {
    Node n;
    n.op = op;
    n.type = type;
    n.offset = offset;
    n.imm = imm;
    return emit(n, children);
  }
  int constant(Type type, int64_t value, int offset) {
    return emit_op(Op::kConst, type, offset, {}, value);
  }
  int fold(int node);
  int fuse_comparison(int node);

  bool resolve(int a, Path* path);
  int check_path(int a);
  int check_bool(int a);
  int convert(int node, Type to, int offset);
  bool unify(int* x, int* y, int offset, const char* what);
  int check_unary(int a);
  int check_binary(int a);
  int check_comparison(const AstNode& n, int l, int r);
  int check_additive(const AstNode& n, int l, int r);
  int check_multiplicative(const AstNode& n, int l, int r);
  int check_conditional(int a);
  int check_in(int a);
  int check_call(int a);
  int check_macro(int a);
  int check_has(int a);
  int check_size(int a);
  int check_function(int a);

  const Ast& ast_;
  const Environment& env_;
  CompiledProgram* out_;
  std::string loop_var_;  // the macro's variable while its body is checked
  int error_offset_ = -1;
  std::string error_message_;
};

int Compiler::emit(Node node, std::initializer_list<int> children, bool fold_if_constant) {
  if (out_->nodes.size() >= 0xFFFF) return fail(node.offset, "expression is too large");
  bool constant = !reads_context(node.op);
  int slot = 0;
  for (int child : children) {
    LOYALTY_ASSERT(child >= 0);
    constant = constant && is_const(child);
    uint16_t c = static_cast<uint16_t>(child);
    if (slot == 0) node.a = c;
    if (slot == 1) node.b = c;
    if (slot == 2) node.c = c;
    ++slot;
  }
  LOYALTY_ASSERT(slot <= 3);
  out_->nodes.push_back(node);
  int index = static_cast<int>(out_->nodes.size()) - 1;
  if (constant && fold_if_constant && node.op != Op::kConst && node.op != Op::kConstString) {
    return fold(index);
  }
  return index;
}

int Compiler::fold(int index) {
  EvalResult r = evaluate_node(*out_, static_cast<uint16_t>(index), Context{});
  Node& n = out_->nodes[index];
  switch (r.error) {
    case EvalError::kNone:
      break;
    case EvalError::kOverflow:
      return fail(n.offset, "constant expression overflows");
    case EvalError::kDivisionByZero:
      return fail(n.offset, "division by zero");
    case EvalError::kAbsent:
    case EvalError::kInvalidConversion:
      return fail(n.offset, "invalid conversion of a constant");
  }
  if (n.type == Type::kString) {
    std::string_view s = r.value.text;
    n.op = Op::kConstString;
    n.str_len = static_cast<uint32_t>(s.size());
    n.str_offset = s.empty() ? 0 : static_cast<uint32_t>(s.data() - out_->pool.data());
  } else {
    n.op = Op::kConst;
    n.imm = r.value.number;
  }
  return index;
}

bool Compiler::resolve(int a, Path* path) {
  const AstNode& n = ast(a);
  if (n.kind == AstKind::kName) {
    if (!loop_var_.empty() && n.text == loop_var_) {
      path->kind = Path::kRoot;
      path->root = Root::kItem;
      path->loop = true;
      path->display = n.text;
      return true;
    }
    for (Root r : kRoots) {
      if (n.text != root_name(r)) continue;
      if (!env_.allows(r)) {
        std::string allowed;
        for (Root other : kRoots) {
          if (!env_.allows(other)) continue;
          if (!allowed.empty()) allowed += ", ";
          allowed += root_name(other);
        }
        fail(n.offset,
             n.text + " is not available here (this expression may use: " + allowed + ")");
        return false;
      }
      out_->roots_used |= uint32_t{1} << static_cast<int>(r);
      path->kind = Path::kRoot;
      path->root = r;
      path->display = n.text;
      return true;
    }
    std::vector<std::string> names;
    for (Root r : kRoots) {
      if (env_.allows(r)) names.emplace_back(root_name(r));
    }
    if (!loop_var_.empty()) names.push_back(loop_var_);
    std::string guess =
        closest(n.text, names, [](const std::string& s) -> std::string_view { return s; });
    fail(n.offset,
         "unknown name " + n.text + (guess.empty() ? "" : " (did you mean " + guess + "?)"));
    return false;
  }
  if (n.kind != AstKind::kSelect && n.kind != AstKind::kIndex) {
    fail(n.start, "expected a field such as order.total");
    return false;
  }
  int parent_ast = n.children[0];
  if (!is_path_shaped(parent_ast)) {
    fail(n.offset, n.kind == AstKind::kSelect
                       ? "'." + n.text + "' can only follow a root (order, member, ...) or a field"
                       : "'[...]' can only follow an attributes map such as order.attributes");
    return false;
  }
  Path parent;
  if (!resolve(parent_ast, &parent)) return false;
  if (n.kind == AstKind::kIndex) {
    const AstNode& key = ast(n.children[1]);
    if (parent.kind != Path::kField || parent.field->type != Type::kAttributes) {
      fail(n.offset, "'[...]' can only follow an attributes map such as order.attributes");
      return false;
    }
    if (key.kind != AstKind::kString) {
      fail(key.start, "the key in " + parent.display + "[...] must be a string literal");
      return false;
    }
    *path = parent;
    path->kind = Path::kAttr;
    path->key = key.text;
    path->display = parent.display + "[\"" + key.text + "\"]";
    return true;
  }
  switch (parent.kind) {
    case Path::kRoot: {
      if (parent.root == Root::kNow) {
        fail(n.offset, "now is an instant and has no fields");
        return false;
      }
      for (const FieldInfo& f : fields_of(parent.root)) {
        if (f.name == n.text) {
          *path = parent;
          path->kind = Path::kField;
          path->field = &f;
          path->display = parent.display + "." + n.text;
          return true;
        }
      }
      std::string guess =
          closest(n.text, fields_of(parent.root), [](const FieldInfo& f) { return f.name; });
      fail(n.offset,
           "unknown field " + parent.display + "." + n.text +
               (guess.empty() ? "" : " (did you mean " + parent.display + "." + guess + "?)"));
      return false;
    }
    case Path::kField:
      if (parent.field->type == Type::kAttributes) {
        *path = parent;
        path->kind = Path::kAttr;
        path->key = n.text;
        path->display = parent.display + "." + n.text;
        return true;
      }
      fail(n.offset, parent.display + " is " + type_name(parent.field->type) +
                         " and has no field '" + n.text + "'");
      return false;
    case Path::kAttr:
      fail(n.offset,
           "attribute values are strings and have no fields (for a key with a dot, write " +
               parent.display.substr(0, parent.display.rfind('.')) + "[\"" + parent.key + "." +
               n.text + "\"])");
      return false;
  }
  return false;
}

int Compiler::check_path(int a) {
  const AstNode& n = ast(a);
  Path p;
  if (!resolve(a, &p)) return -1;
  if (p.kind == Path::kRoot) {
    if (p.root == Root::kNow) return emit_op(Op::kNow, Type::kInstant, n.offset, {});
    return fail(n.offset, p.display + " is not a value; use one of its fields, such as " +
                              p.display + "." + std::string(fields_of(p.root)[1].name));
  }
  Node node;
  node.offset = n.offset;
  node.imm = static_cast<int64_t>(p.field->field);
  node.flags = p.loop ? kFromLoopItem : 0;
  if (p.kind == Path::kAttr) {
    node.op = Op::kAttrGet;
    node.type = Type::kString;
    node.str_offset = intern(p.key);
    node.str_len = static_cast<uint32_t>(p.key.size());
    return emit(node, {});
  }
  if (p.field->type == Type::kItemList) {
    return fail(
        n.offset,
        p.display + " is a list of items: use it in any(), all(), count(), sum() or size()");
  }
  if (p.field->type == Type::kAttributes) {
    return fail(n.offset, p.display + " is an attributes map: read one entry with " + p.display +
                              ".name, or test one with has(" + p.display + ".name)");
  }
  node.op = Op::kLoad;
  node.type = p.field->type;
  return emit(node, {});
}

int Compiler::check_bool(int a) {
  int x = check(a);
  if (x < 0) return -1;
  if (type_of(x) != Type::kBool) {
    return fail(ast(a).start, std::string("expected bool, got ") + type_name(type_of(x)));
  }
  return x;
}

int Compiler::convert(int node, Type to, int offset) {
  Type from = type_of(node);
  if (from == to) return node;
  if (from == Type::kInt && to == Type::kDecimal) {
    return emit_op(Op::kScaleUp, to, offset, {node}, kDecimalScale);
  }
  if (from == Type::kInt && to == Type::kMoney) {
    return emit_op(Op::kScaleUp, to, offset, {node}, money_scale());
  }
  if (from == Type::kMoney && to == Type::kDecimal) {
    return emit_op(Op::kScaleUp, to, offset, {node}, decimal_per_minor());
  }
  if (from == Type::kDecimal && to == Type::kMoney) {
    const Node& n = out_->nodes[node];
    if (n.op == Op::kConst && n.imm % decimal_per_minor() != 0) {
      return fail(n.offset, format_decimal(n.imm) +
                                " has more decimal places than the currency's " +
                                std::to_string(env_.currency_exponent));
    }
    return emit_op(Op::kScaleDown, to, offset, {node}, decimal_per_minor());
  }
  if (from == Type::kDate && to == Type::kInstant) {
    return emit_op(Op::kScaleUp, to, offset, {node}, kMicrosPerDay);
  }
  LOYALTY_ASSERT_MSG(false, "rules: conversion the type checker did not allow");
  return -1;
}

// Brings *x and *y to one type for arithmetic, ?:, min/max and 'in': int <
// decimal < money (an int or decimal meeting money is major units), and a
// date meeting an instant is its midnight UTC. False (with an error) when the
// types do not mix.
bool Compiler::unify(int* x, int* y, int offset, const char* what) {
  Type a = type_of(*x);
  Type b = type_of(*y);
  Type to = a;
  if (a == b) return true;
  if (is_numeric(a) && is_numeric(b)) {
    to = (a == Type::kMoney || b == Type::kMoney) ? Type::kMoney : Type::kDecimal;
  } else if ((a == Type::kDate && b == Type::kInstant) ||
             (a == Type::kInstant && b == Type::kDate)) {
    to = Type::kInstant;
  } else {
    fail(offset, std::string(what) + " " + type_name(a) + " and " + type_name(b));
    return false;
  }
  *x = convert(*x, to, offset);
  if (*x < 0) return false;
  *y = convert(*y, to, offset);
  return *y >= 0;
}

int Compiler::check_unary(int a) {
  const AstNode& n = ast(a);
  if (n.op == TokenKind::kBang) {
    int x = check_bool(n.children[0]);
    if (x < 0) return -1;
    return emit_op(Op::kNot, Type::kBool, n.offset, {x});
  }
  int x = check(n.children[0]);
  if (x < 0) return -1;
  Type t = type_of(x);
  if (!is_numeric(t) && t != Type::kDuration) {
    return fail(n.offset, std::string("cannot negate ") + type_name(t));
  }
  return emit_op(Op::kNeg, t, n.offset, {x});
}

int Compiler::check_binary(int a) {
  const AstNode& n = ast(a);
  if (n.op == TokenKind::kAnd || n.op == TokenKind::kOr) {
    int l = check_bool(n.children[0]);
    if (l < 0) return -1;
    int r = check_bool(n.children[1]);
    if (r < 0) return -1;
    return emit_op(n.op == TokenKind::kAnd ? Op::kAnd : Op::kOr, Type::kBool, n.offset, {l, r});
  }
  if (n.op == TokenKind::kIn) return check_in(a);
  int l = check(n.children[0]);
  if (l < 0) return -1;
  int r = check(n.children[1]);
  if (r < 0) return -1;
  switch (n.op) {
    case TokenKind::kPlus:
    case TokenKind::kMinus:
      return check_additive(n, l, r);
    case TokenKind::kStar:
    case TokenKind::kSlash:
    case TokenKind::kPercent:
      return check_multiplicative(n, l, r);
    default:
      return check_comparison(n, l, r);
  }
}

int Compiler::check_comparison(const AstNode& n, int l, int r) {
  const bool equality = n.op == TokenKind::kEq || n.op == TokenKind::kNe;
  Type lt = type_of(l);
  Type rt = type_of(r);
  std::string op_text = token_description(Token{n.op, 0, 0, {}});
  if (lt == Type::kString && rt == Type::kString) {
    static constexpr Op kStringOps[] = {Op::kEqString, Op::kNeString, Op::kLtString,
                                        Op::kLeString, Op::kGtString, Op::kGeString};
    int which = static_cast<int>(n.op) - static_cast<int>(TokenKind::kEq);
    return fuse_comparison(emit_op(kStringOps[which], Type::kBool, n.offset, {l, r}));
  }
  if (lt == Type::kBool && rt == Type::kBool && !equality) {
    return fail(n.offset, "bool values are not ordered: " + op_text +
                              " needs numbers, strings, "
                              "instants, dates or durations");
  }
  if (lt == Type::kString || rt == Type::kString || lt == Type::kBool || rt == Type::kBool) {
    if (lt != rt) {
      return fail(n.offset,
                  std::string("cannot compare ") + type_name(lt) + " with " + type_name(rt));
    }
  }
  // money vs decimal: exact either way; a decimal constant that is a whole
  // number of minor units becomes money (the common `order.total >= 50.00`),
  // otherwise the money is read as a decimal.
  if ((lt == Type::kMoney && rt == Type::kDecimal) ||
      (lt == Type::kDecimal && rt == Type::kMoney)) {
    int& dec = lt == Type::kDecimal ? l : r;
    int& money = lt == Type::kMoney ? l : r;
    const Node& d = out_->nodes[dec];
    if (d.op == Op::kConst && d.imm % decimal_per_minor() == 0) {
      dec = convert(dec, Type::kMoney, d.offset);
    } else {
      money = convert(money, Type::kDecimal, n.offset);
    }
    if (l < 0 || r < 0) return -1;
  } else if (!unify(&l, &r, n.offset, "cannot compare")) {
    return -1;
  }
  static constexpr Op kOps[] = {Op::kEq, Op::kNe, Op::kLt, Op::kLe, Op::kGt, Op::kGe};
  int which = static_cast<int>(n.op) - static_cast<int>(TokenKind::kEq);
  return fuse_comparison(emit_op(kOps[which], Type::kBool, n.offset, {l, r}));
}

// "field op constant" (or "constant op field") becomes one kCompareLoad* node
// that reads the field and the constant without evaluating its children: the
// evaluator's cost per condition is mostly the calls per node (measured with
// bench/earning_bench: item filters and conditions are nearly all this shape).
int Compiler::fuse_comparison(int index) {
  if (index < 0) return index;
  Node& n = out_->nodes[static_cast<size_t>(index)];
  const bool strings = n.op >= Op::kEqString && n.op <= Op::kGeString;
  const bool numbers = n.op >= Op::kEq && n.op <= Op::kGe;
  if (!strings && !numbers) return index;  // folded into a constant
  const Op constant_op = strings ? Op::kConstString : Op::kConst;
  const Node& left = out_->nodes[n.a];
  const Node& right = out_->nodes[n.b];
  Op compare = n.op;
  if (left.op == Op::kLoad && right.op == constant_op) {
    // as it is
  } else if (right.op == Op::kLoad && left.op == constant_op) {
    std::swap(n.a, n.b);
    auto mirror = [](Op op, Op lt, Op le, Op gt, Op ge) {
      if (op == lt) return gt;
      if (op == le) return ge;
      if (op == gt) return lt;
      if (op == ge) return le;
      return op;  // == and != are symmetric
    };
    compare = strings ? mirror(compare, Op::kLtString, Op::kLeString, Op::kGtString, Op::kGeString)
                      : mirror(compare, Op::kLt, Op::kLe, Op::kGt, Op::kGe);
  } else {
    return index;
  }
  n.c = static_cast<uint16_t>(compare);
  n.op = strings ? Op::kCompareLoadString : Op::kCompareLoadConst;
  return index;
}

int Compiler::check_additive(const AstNode& n, int l, int r) {
  const bool plus = n.op == TokenKind::kPlus;
  Type lt = type_of(l);
  Type rt = type_of(r);
  const Op op = plus ? Op::kAdd : Op::kSub;
  if (is_numeric(lt) && is_numeric(rt)) {
    if (!unify(&l, &r, n.offset, plus ? "cannot add" : "cannot subtract")) return -1;
    return emit_op(op, type_of(l), n.offset, {l, r});
  }
  if (lt == Type::kDuration && rt == Type::kDuration) {
    return emit_op(op, Type::kDuration, n.offset, {l, r});
  }
  if (lt == Type::kInstant && rt == Type::kDuration) {
    return emit_op(op, Type::kInstant, n.offset, {l, r});
  }
  if (plus && lt == Type::kDuration && rt == Type::kInstant) {
    return emit_op(op, Type::kInstant, n.offset, {l, r});
  }
  if (lt == Type::kDate && rt == Type::kDuration) {
    Node node;
    node.op = Op::kDateAddDuration;
    node.type = Type::kDate;
    node.offset = n.offset;
    node.flags = plus ? 0 : kSubtract;
    return emit(node, {l, r});
  }
  if (plus && lt == Type::kDuration && rt == Type::kDate) {
    Node node;
    node.op = Op::kDateAddDuration;
    node.type = Type::kDate;
    node.offset = n.offset;
    return emit(node, {r, l});
  }
  if (!plus && (lt == Type::kInstant || lt == Type::kDate) &&
      (rt == Type::kInstant || rt == Type::kDate)) {
    if (lt == Type::kDate && rt == Type::kDate) {
      int days = emit_op(Op::kSub, Type::kInt, n.offset, {l, r});
      if (days < 0) return -1;
      return emit_op(Op::kScaleUp, Type::kDuration, n.offset, {days}, kMicrosPerDay);
    }
    if (!unify(&l, &r, n.offset, "cannot subtract")) return -1;
    return emit_op(Op::kSub, Type::kDuration, n.offset, {l, r});
  }
  if (plus && lt == Type::kString && rt == Type::kString) {
    return fail(n.offset, "strings cannot be concatenated (evaluation never builds strings)");
  }
  return fail(n.offset, std::string(plus ? "cannot add " : "cannot subtract ") + type_name(rt) +
                            (plus ? " to " : " from ") + type_name(lt));
}

int Compiler::check_multiplicative(const AstNode& n, int l, int r) {
  Type lt = type_of(l);
  Type rt = type_of(r);
  const char* verb = n.op == TokenKind::kStar    ? "multiply"
                     : n.op == TokenKind::kSlash ? "divide"
                                                 : "take";
  auto mismatch = [&]() {
    if (n.op == TokenKind::kPercent) {
      return fail(n.offset, std::string("'%' needs two ints, got ") + type_name(lt) + " and " +
                                type_name(rt));
    }
    return fail(n.offset,
                std::string("cannot ") + verb + " " + type_name(lt) + " by " + type_name(rt));
  };
  if (n.op == TokenKind::kPercent) {
    if (lt != Type::kInt || rt != Type::kInt) return mismatch();
    return emit_op(Op::kModInt, Type::kInt, n.offset, {l, r});
  }
  if (n.op == TokenKind::kStar) {
    // Put the scalar (int or decimal) on the right where one side is not.
    if ((lt == Type::kInt || lt == Type::kDecimal) &&
        (rt == Type::kMoney || rt == Type::kDuration ||
         (lt == Type::kInt && rt == Type::kDecimal))) {
      std::swap(l, r);
      std::swap(lt, rt);
    }
    if (rt == Type::kInt &&
        (lt == Type::kInt || lt == Type::kDecimal || lt == Type::kMoney || lt == Type::kDuration)) {
      return emit_op(Op::kMul, lt, n.offset, {l, r});  // the int scales the value exactly
    }
    if (rt == Type::kDecimal && (lt == Type::kDecimal || lt == Type::kMoney)) {
      return emit_op(Op::kMulScaled, lt, n.offset, {l, r}, kDecimalScale);
    }
    return mismatch();
  }
  // Division.
  if (lt == Type::kInt && rt == Type::kInt)
    return emit_op(Op::kDivInt, Type::kInt, n.offset, {l, r});
  if ((lt == Type::kDecimal || lt == Type::kMoney || lt == Type::kDuration) && rt == Type::kInt) {
    return emit_op(Op::kDivScaled, lt, n.offset, {l, r}, 1);
  }
  if ((lt == Type::kInt || lt == Type::kDecimal) && rt == Type::kDecimal) {
    l = convert(l, Type::kDecimal, n.offset);
    if (l < 0) return -1;
    return emit_op(Op::kDivScaled, Type::kDecimal, n.offset, {l, r}, kDecimalScale);
  }
  if (lt == Type::kMoney && rt == Type::kDecimal) {
    return emit_op(Op::kDivScaled, Type::kMoney, n.offset, {l, r}, kDecimalScale);
  }
  if (lt == Type::kMoney && rt == Type::kMoney) {
    return emit_op(Op::kDivScaled, Type::kDecimal, n.offset, {l, r}, kDecimalScale);
  }
  return mismatch();
}

int Compiler::check_conditional(int a) {
  const AstNode& n = ast(a);
  int c = check_bool(n.children[0]);
  if (c < 0) return -1;
  int t = check(n.children[1]);
  if (t < 0) return -1;
  int e = check(n.children[2]);
  if (e < 0) return -1;
  if (!unify(&t, &e, n.offset, "the branches of ?: have different types:")) return -1;
  return emit_op(Op::kCond, type_of(t), n.offset, {c, t, e});
}

int Compiler::check_in(int a) {
  const AstNode& n = ast(a);
  const int rhs = n.children[1];
  if (ast(rhs).kind == AstKind::kList) {
    int needle = check(n.children[0]);
    if (needle < 0) return -1;
    std::vector<int> elements;
    for (int child : ast(rhs).children) {
      int e = check(child);
      if (e < 0) return -1;
      if (!unify(&needle, &e, ast(child).start, "'in' compares")) return -1;
      elements.push_back(e);
    }
    // A later element may have widened the needle's type: widen the earlier ones.
    for (int& e : elements) {
      e = convert(e, type_of(needle), out_->nodes[e].offset);
      if (e < 0) return -1;
    }
    Node node;
    node.op = type_of(needle) == Type::kString ? Op::kInStringList : Op::kInList;
    node.type = Type::kBool;
    node.offset = n.offset;
    node.imm = static_cast<int64_t>(out_->operands.size());
    node.str_len = static_cast<uint32_t>(elements.size());
    bool constant = is_const(needle);
    for (int e : elements) {
      out_->operands.push_back(static_cast<uint16_t>(e));
      constant = constant && is_const(e);
    }
    int index = emit(node, {needle}, /*fold_if_constant=*/false);
    if (index < 0 || !constant) return index;
    return fold(index);
  }
  if (is_path_shaped(rhs)) {
    Path p;
    if (!resolve(rhs, &p)) return -1;
    if (p.kind == Path::kField && p.field->type == Type::kAttributes) {
      int key = check(n.children[0]);
      if (key < 0) return -1;
      if (type_of(key) != Type::kString) {
        return fail(ast(n.children[0]).start, std::string("keys of ") + p.display +
                                                  " are strings, got " + type_name(type_of(key)));
      }
      Node node;
      node.op = Op::kAttrHasKey;
      node.type = Type::kBool;
      node.offset = n.offset;
      node.imm = static_cast<int64_t>(p.field->field);
      node.flags = p.loop ? kFromLoopItem : 0;
      return emit(node, {key});
    }
  }
  int other = check(rhs);
  if (other < 0) return -1;
  return fail(ast(rhs).start,
              std::string("'in' needs a list [...] or an attributes map on its right, got ") +
                  type_name(type_of(other)));
}

int Compiler::check_call(int a) {
  const std::string& name = ast(a).text;
  if (name == "any" || name == "all" || name == "count" || name == "sum") return check_macro(a);
  if (name == "has") return check_has(a);
  if (name == "size" || name == "len") return check_size(a);
  return check_function(a);
}

int Compiler::check_macro(int a) {
  const AstNode& n = ast(a);
  const std::string& name = n.text;
  if (n.children.size() != 3) {
    return fail(n.offset, name + "() takes 3 arguments: a list of items, a variable name and " +
                              (name == "sum" ? "a number" : "a condition") + ", as in " + name +
                              "(order.items, i, " +
                              (name == "sum" ? "i.quantity" : "i.category == \"shoes\"") + ")");
  }
  if (!loop_var_.empty()) return fail(n.offset, name + "() cannot be nested inside another macro");
  const int list_ast = n.children[0];
  Path list;
  if (!is_path_shaped(list_ast)) {
    return fail(ast(list_ast).start, name + "() needs a list of items such as order.items first");
  }
  if (!resolve(list_ast, &list)) return -1;
  if (list.kind != Path::kField || list.field->type != Type::kItemList) {
    return fail(ast(list_ast).start, name + "() needs a list of items such as order.items first");
  }
  const AstNode& var = ast(n.children[1]);
  if (var.kind != AstKind::kName) {
    return fail(var.start, name + "() needs a variable name (such as i) as its second argument");
  }
  for (Root r : kRoots) {
    if (var.text == root_name(r)) {
      return fail(var.offset,
                  var.text + " is a root name; choose another variable name, such as i");
    }
  }
  loop_var_ = var.text;
  int body = check(n.children[2]);
  loop_var_.clear();
  if (body < 0) return -1;
  Type bt = type_of(body);
  Node node;
  node.offset = n.offset;
  node.imm = static_cast<int64_t>(list.field->field);
  if (name == "sum") {
    if (!is_numeric(bt) && bt != Type::kDuration) {
      return fail(ast(n.children[2]).start,
                  std::string("sum() adds numbers, got ") + type_name(bt));
    }
    node.op = Op::kSum;
    node.type = bt;
  } else {
    if (bt != Type::kBool) {
      return fail(ast(n.children[2]).start, std::string("expected bool, got ") + type_name(bt));
    }
    node.op = name == "any" ? Op::kAny : name == "all" ? Op::kAll : Op::kCount;
    node.type = name == "count" ? Type::kInt : Type::kBool;
  }
  node.b = static_cast<uint16_t>(body);
  return emit(node, {});
}

int Compiler::check_has(int a) {
  const AstNode& n = ast(a);
  const char* usage =
      "has() needs an attribute such as member.attributes.vip or an optional field such as "
      "member.birthday";
  if (n.children.size() != 1) return fail(n.offset, usage);
  const int arg = n.children[0];
  if (!is_path_shaped(arg)) return fail(ast(arg).start, usage);
  Path p;
  if (!resolve(arg, &p)) return -1;
  Node node;
  node.type = Type::kBool;
  node.offset = n.offset;
  node.flags = p.loop ? kFromLoopItem : 0;
  if (p.kind == Path::kAttr) {
    node.op = Op::kAttrHas;
    node.imm = static_cast<int64_t>(p.field->field);
    node.str_offset = intern(p.key);
    node.str_len = static_cast<uint32_t>(p.key.size());
    return emit(node, {});
  }
  if (p.kind == Path::kField && p.field->optional) {
    node.op = Op::kHasField;
    node.imm = static_cast<int64_t>(p.field->field);
    return emit(node, {});
  }
  return fail(ast(arg).start, std::string(usage) + "; " + p.display + " is always present");
}

int Compiler::check_size(int a) {
  const AstNode& n = ast(a);
  if (n.children.size() != 1) {
    return fail(n.offset, n.text + "() takes 1 argument, got " + std::to_string(n.children.size()));
  }
  const int arg = n.children[0];
  if (ast(arg).kind == AstKind::kList) {
    for (int child : ast(arg).children) {
      if (check(child) < 0) return -1;
    }
    return constant(Type::kInt, static_cast<int64_t>(ast(arg).children.size()), n.offset);
  }
  if (is_path_shaped(arg)) {
    Path p;
    if (!resolve(arg, &p)) return -1;
    if (p.kind == Path::kField && p.field->type == Type::kItemList) {
      Node node;
      node.op = Op::kSizeItems;
      node.type = Type::kInt;
      node.offset = n.offset;
      node.imm = static_cast<int64_t>(p.field->field);
      return emit(node, {});
    }
    if (p.kind == Path::kField && p.field->type == Type::kAttributes) {
      Node node;
      node.op = Op::kAttrSize;
      node.type = Type::kInt;
      node.offset = n.offset;
      node.imm = static_cast<int64_t>(p.field->field);
      node.flags = p.loop ? kFromLoopItem : 0;
      return emit(node, {});
    }
  }
  int x = check(arg);
  if (x < 0) return -1;
  if (type_of(x) != Type::kString) {
    return fail(ast(arg).start,
                n.text + "() needs a string, a list or a map, got " + type_name(type_of(x)));
  }
  return emit_op(Op::kSizeString, Type::kInt, n.offset, {x});
}

int Compiler::check_function(int a) {
  const AstNode& n = ast(a);
  const std::string& name = n.text;
  const bool known =
      std::find_if(std::begin(kFunctionNames), std::end(kFunctionNames),
                   [&](const char* f) { return name == f; }) != std::end(kFunctionNames);
  if (!known) {
    std::string guess = closest(name, kFunctionNames, [](const char* f) { return f; });
    return fail(n.offset, "unknown function " + name + "()" +
                              (guess.empty() ? "" : " (did you mean " + guess + "()?)"));
  }
  const size_t argc = n.children.size();
  auto arity = [&](size_t want) {
    if (argc == want) return true;
    fail(n.offset, name + "() takes " + std::to_string(want) + " argument" +
                       (want == 1 ? "" : "s") + ", got " + std::to_string(argc));
    return false;
  };
  // Literal-only forms: date("YYYY-MM-DD") and timestamp("RFC 3339").
  if ((name == "date" || name == "timestamp") && argc == 1 &&
      ast(n.children[0]).kind == AstKind::kString) {
    const AstNode& lit = ast(n.children[0]);
    if (name == "date") {
      std::optional<LocalDate> d = parse_local_date(lit.text);
      if (!d) {
        return fail(lit.offset, "invalid date \"" + lit.text +
                                    "\" (expected YYYY-MM-DD, a real day, year 1900 or later)");
      }
      return constant(Type::kDate, days_from_civil(d->year, d->month, d->day), n.offset);
    }
    std::optional<Instant> t = parse_rfc3339(lit.text);
    if (!t) {
      return fail(lit.offset, "invalid timestamp \"" + lit.text +
                                  "\" (expected RFC 3339, such as 2026-12-24T18:00:00Z)");
    }
    return constant(Type::kInstant, t->micros_since_epoch, n.offset);
  }
  if (name == "timestamp") {
    return fail(n.offset,
                "timestamp() needs a string literal such as "
                "timestamp(\"2026-12-24T18:00:00Z\")");
  }
  std::vector<int> args;
  for (int child : n.children) {
    int x = check(child);
    if (x < 0) return -1;
    args.push_back(x);
  }
  auto arg_type = [&](size_t i) { return type_of(args[i]); };
  auto wrong = [&](size_t i, const char* wanted) {
    return fail(ast(n.children[i]).start,
                name + "() needs " + wanted + ", got " + type_name(arg_type(i)));
  };
  auto to_date = [&](size_t i) {
    // An instant's UTC date.
    if (arg_type(i) == Type::kDate) return args[i];
    return emit_op(Op::kFloorDiv, Type::kDate, n.offset, {args[i]}, kMicrosPerDay);
  };

  if (name == "floor" || name == "ceil" || name == "round") {
    if (!arity(1)) return -1;
    Type t = arg_type(0);
    if (t == Type::kInt) return args[0];
    if (t != Type::kDecimal && t != Type::kMoney) return wrong(0, "int, decimal or money");
    Op op = name == "floor" ? Op::kFloorDiv : name == "ceil" ? Op::kCeilDiv : Op::kRoundDiv;
    return emit_op(op, Type::kInt, n.offset, {args[0]},
                   t == Type::kDecimal ? kDecimalScale : money_scale());
  }
  if (name == "abs") {
    if (!arity(1)) return -1;
    if (!is_numeric(arg_type(0)) && arg_type(0) != Type::kDuration) {
      return wrong(0, "int, decimal, money or duration");
    }
    return emit_op(Op::kAbs, arg_type(0), n.offset, {args[0]});
  }
  if (name == "min" || name == "max") {
    if (argc < 2) return fail(n.offset, name + "() takes 2 or more arguments");
    int acc = args[0];
    for (size_t i = 1; i < argc; ++i) {
      int next = args[i];
      if (!unify(&acc, &next, ast(n.children[i]).start, (name + "() cannot mix").c_str()))
        return -1;
      Type t = type_of(acc);
      if (t == Type::kString || t == Type::kBool)
        return wrong(0, "numbers, instants, dates or durations");
      acc = emit_op(name == "min" ? Op::kMin : Op::kMax, t, n.offset, {acc, next});
      if (acc < 0) return -1;
    }
    return acc;
  }
  if (name == "starts_with" || name == "ends_with" || name == "contains" ||
      name == "equals_ignore_case") {
    if (!arity(2)) return -1;
    for (size_t i = 0; i < 2; ++i) {
      if (arg_type(i) != Type::kString) return wrong(i, "strings");
    }
    Op op = name == "starts_with" ? Op::kStartsWith
            : name == "ends_with" ? Op::kEndsWith
            : name == "contains"  ? Op::kContains
                                  : Op::kEqualsIgnoreCase;
    return emit_op(op, Type::kBool, n.offset, {args[0], args[1]});
  }
  if (name == "date") {
    if (!arity(1)) return -1;
    if (arg_type(0) != Type::kInstant && arg_type(0) != Type::kDate) {
      return wrong(0, "a string literal such as \"2026-12-24\" or an instant");
    }
    return to_date(0);
  }
  if (name == "days" || name == "hours" || name == "minutes") {
    if (!arity(1)) return -1;
    if (arg_type(0) != Type::kInt) return wrong(0, "an int");
    int64_t unit = name == "days" ? kMicrosPerDay : name == "hours" ? 3'600'000'000 : 60'000'000;
    return emit_op(Op::kScaleUp, Type::kDuration, n.offset, {args[0]}, unit);
  }
  if (name == "days_since" || name == "days_until") {
    if (!arity(1)) return -1;
    Type t = arg_type(0);
    if (t != Type::kInstant && t != Type::kDate) return wrong(0, "an instant or a date");
    out_->roots_used |= uint32_t{1} << static_cast<int>(Root::kNow);
    Op op = name == "days_since" ? (t == Type::kDate ? Op::kDaysSinceDate : Op::kDaysSinceInstant)
                                 : (t == Type::kDate ? Op::kDaysUntilDate : Op::kDaysUntilInstant);
    return emit_op(op, Type::kInt, n.offset, {args[0]});
  }
  if (name == "days_until_anniversary" || name == "year" || name == "month" || name == "day" ||
      name == "weekday") {
    if (!arity(1)) return -1;
    Type t = arg_type(0);
    if (t != Type::kInstant && t != Type::kDate) return wrong(0, "an instant or a date");
    int d = to_date(0);
    if (d < 0) return -1;
    Op op = name == "year"      ? Op::kYear
            : name == "month"   ? Op::kMonth
            : name == "day"     ? Op::kDayOfMonth
            : name == "weekday" ? Op::kWeekday
                                : Op::kDaysUntilAnniversary;
    if (op == Op::kDaysUntilAnniversary)
      out_->roots_used |= uint32_t{1} << static_cast<int>(Root::kNow);
    return emit_op(op, Type::kInt, n.offset, {d});
  }
  if (name == "int" || name == "decimal" || name == "money") {
    if (!arity(1)) return -1;
    Type t = arg_type(0);
    Type target = name == "int" ? Type::kInt : name == "decimal" ? Type::kDecimal : Type::kMoney;
    if (t == target) return args[0];
    if (t == Type::kString) {
      int64_t digits = name == "int"       ? 0
                       : name == "decimal" ? kDecimalDigits
                                           : env_.currency_exponent;
      return emit_op(Op::kParseFixed, target, n.offset, {args[0]}, digits);
    }
    if (name == "int") {
      if (t != Type::kDecimal) {
        return wrong(0, t == Type::kMoney
                            ? "a string or a decimal (for money use floor, ceil or round)"
                            : "a string or a decimal");
      }
      return emit_op(Op::kTruncDiv, Type::kInt, n.offset, {args[0]}, kDecimalScale);
    }
    if (!is_numeric(t)) return wrong(0, "a string or a number");
    if (target == Type::kDecimal) return convert(args[0], Type::kDecimal, n.offset);
    return convert(args[0], Type::kMoney, n.offset);
  }
  LOYALTY_ASSERT_MSG(false, "rules: a listed function without a rule");
  return -1;
}

int Compiler::check(int a) {
  const AstNode& n = ast(a);
  switch (n.kind) {
    case AstKind::kInt:
      return constant(Type::kInt, n.number, n.offset);
    case AstKind::kDecimal:
      return constant(Type::kDecimal, n.number, n.offset);
    case AstKind::kBool:
      return constant(Type::kBool, n.number, n.offset);
    case AstKind::kString: {
      Node node;
      node.op = Op::kConstString;
      node.type = Type::kString;
      node.offset = n.offset;
      node.str_offset = intern(n.text);
      node.str_len = static_cast<uint32_t>(n.text.size());
      return emit(node, {});
    }
    case AstKind::kName:
    case AstKind::kSelect:
    case AstKind::kIndex:
      return check_path(a);
    case AstKind::kList:
      return fail(n.offset, "a list [...] can only appear on the right of 'in' or in size()");
    case AstKind::kUnary:
      return check_unary(a);
    case AstKind::kBinary:
      return check_binary(a);
    case AstKind::kConditional:
      return check_conditional(a);
    case AstKind::kCall:
      return check_call(a);
  }
  return fail(n.offset, "unsupported expression");
}

// Calls f(child) for every child of `n`, in evaluation order.
template <typename F>
void for_each_child(const Node& n, const std::vector<uint16_t>& operands, F f) {
  switch (n.op) {
    case Op::kConst:
    case Op::kConstString:
    case Op::kNow:
    case Op::kLoad:
    case Op::kAttrGet:
    case Op::kAttrHas:
    case Op::kAttrSize:
    case Op::kHasField:
    case Op::kSizeItems:
      return;
    case Op::kAttrHasKey:
    case Op::kNot:
    case Op::kNeg:
    case Op::kAbs:
    case Op::kScaleUp:
    case Op::kScaleDown:
    case Op::kFloorDiv:
    case Op::kCeilDiv:
    case Op::kRoundDiv:
    case Op::kTruncDiv:
    case Op::kSizeString:
    case Op::kDaysSinceInstant:
    case Op::kDaysSinceDate:
    case Op::kDaysUntilInstant:
    case Op::kDaysUntilDate:
    case Op::kDaysUntilAnniversary:
    case Op::kYear:
    case Op::kMonth:
    case Op::kDayOfMonth:
    case Op::kWeekday:
    case Op::kParseFixed:
      f(n.a);
      return;
    case Op::kAny:
    case Op::kAll:
    case Op::kCount:
    case Op::kSum:
      f(n.b);
      return;
    case Op::kCond:
      f(n.a);
      f(n.b);
      f(n.c);
      return;
    case Op::kInList:
    case Op::kInStringList:
      f(n.a);
      for (uint32_t k = 0; k < n.str_len; ++k) f(operands[static_cast<size_t>(n.imm) + k]);
      return;
    default:
      f(n.a);
      f(n.b);
      return;
  }
}

// Drops the nodes constant folding left unreachable: rebuilds the tree in
// post-order from the root, so that what is evaluated is contiguous.
void compact(CompiledProgram* program) {
  std::vector<Node> nodes;
  std::vector<uint16_t> operands;
  nodes.reserve(program->nodes.size());
  // Recursion depth is bounded by the tree's depth.
  auto copy = [&](auto& self, uint16_t old_index) -> uint16_t {
    Node n = program->nodes[old_index];
    std::vector<uint16_t> children;
    for_each_child(n, program->operands, [&](uint16_t c) { children.push_back(self(self, c)); });
    switch (n.op) {
      case Op::kAny:
      case Op::kAll:
      case Op::kCount:
      case Op::kSum:
        n.b = children[0];
        break;
      case Op::kInList:
      case Op::kInStringList:
        n.a = children[0];
        n.imm = static_cast<int64_t>(operands.size());
        operands.insert(operands.end(), children.begin() + 1, children.end());
        break;
      default:
        if (!children.empty()) n.a = children[0];
        if (children.size() > 1) n.b = children[1];
        if (children.size() > 2) n.c = children[2];
        break;
    }
    nodes.push_back(n);
    return static_cast<uint16_t>(nodes.size() - 1);
  };
  program->root = copy(copy, program->root);
  program->nodes = std::move(nodes);
  program->operands = std::move(operands);
}

}  // namespace
}  // namespace detail

Result<Expression> compile(std::string_view source, const Environment& env, TypeSet expected,
                           CompileError* error) {
  auto failure = [&](int offset, std::string message) -> Result<Expression> {
    CompileError e = position_of(source, offset, std::move(message));
    std::string text = e.to_string();
    if (error != nullptr) *error = std::move(e);
    return Status(ErrorCode::kInvalidRequest, std::move(text));
  };
  if (env.currency_exponent < 0 || env.currency_exponent > kMaxCurrencyExponent) {
    return failure(0, "currency exponent " + std::to_string(env.currency_exponent) +
                          " is outside 0.." + std::to_string(kMaxCurrencyExponent));
  }
  if (source.size() > kMaxSourceBytes) {
    return failure(static_cast<int>(kMaxSourceBytes),
                   "expression is longer than " + std::to_string(kMaxSourceBytes) + " bytes");
  }
  detail::Ast ast;
  detail::ParseError parse_error;
  if (!detail::parse(source, &ast, &parse_error)) {
    return failure(parse_error.offset, std::move(parse_error.message));
  }
  detail::CompiledProgram program;
  program.source = std::string(source);
  detail::Compiler compiler(ast, env, &program);
  int root = compiler.check(ast.root);
  if (root < 0) return failure(compiler.error_offset(), compiler.error_message());
  Type type = program.nodes[root].type;
  if (!expected.contains(type)) {
    return failure(ast.nodes[ast.root].start,
                   "expected " + detail::describe(expected) + ", got " + type_name(type));
  }
  program.root = static_cast<uint16_t>(root);
  program.type = type;
  detail::compact(&program);
  return Expression(std::move(program));
}

}  // namespace loyalty::rules
