// The rules language: typed expressions for conditions and formulas of a
// loyalty program, in the spirit of CEL (docs/rules.md is the reference).
//
//   Environment env = Environment::order_rule(/*currency_exponent=*/2);
//   Result<Expression> e = compile("order.total >= 50.00 && member.tier in [\"gold\"]",
//                                  env, Type::kBool);
//   bool fires = evaluate_condition(*e, context);
//
// An expression is compiled once per program-config version (all type errors
// are reported then, with their position) and evaluated many times: evaluation
// allocates nothing, uses no floating point, and is bounded by the limits below.
//
// Hand-written (lexer, precedence-climbing parser, type checker, tree
// evaluator) because no Debian package offers a CEL implementation for C++
// (cel-cpp is not packaged) and the language needs money and decimal types
// without floating point, which CEL lacks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "domain/rules/context.h"
#include "domain/rules/node.h"
#include "domain/rules/types.h"

namespace loyalty::rules {

// Limits, checked at compile time. Together they bound evaluation: at most
// kMaxNodes nodes, each visited once per item of order.items inside a macro
// (macros do not nest), with recursion no deeper than about 2 * kMaxDepth.
inline constexpr size_t kMaxSourceBytes = 4096;
// Nesting depth of the syntax tree: a literal or name is depth 1; an operator,
// call, field access, list or pair of parentheses adds one level above its
// deepest operand.
inline constexpr int kMaxDepth = 64;
// Syntax-tree nodes: every literal, name, field access, operator, call and list.
inline constexpr int kMaxNodes = 1024;
// Currencies with more minor digits than this cannot be mixed with decimals exactly.
inline constexpr int kMaxCurrencyExponent = 6;

// What an expression may read, decided where it is used.
struct Environment {
  uint32_t roots = 0;         // bit (1 << Root) per allowed root
  int currency_exponent = 2;  // minor-unit digits of the program currency (2 USD, 0 JPY)

  // order, member, program, now.
  static Environment order_rule(int currency_exponent);
  // order, item, member, program, now: a per-item rule or item filter.
  static Environment item_rule(int currency_exponent);
  // event, member, program, now.
  static Environment event_rule(int currency_exponent);

  bool allows(Root root) const { return (roots & (uint32_t{1} << static_cast<int>(root))) != 0; }
  Environment& allow(Root root) {
    roots |= uint32_t{1} << static_cast<int>(root);
    return *this;
  }
};

// Where and why compilation failed. line and column are 1-based (the column
// counts UTF-8 code points); offset is the 0-based byte offset in the source.
struct CompileError {
  int line = 0;
  int column = 0;
  int offset = 0;
  std::string message;  // "expected bool, got money"

  std::string to_string() const;  // "1:14: expected bool, got money"
};

// A compiled expression: immutable, cheap to evaluate, safe to share between threads.
class Expression {
 public:
  explicit Expression(detail::CompiledProgram program) : program_(std::move(program)) {}

  Type type() const { return program_.type; }
  const std::string& source() const { return program_.source; }
  // Nodes of the evaluation tree (after constant folding).
  size_t node_count() const { return program_.nodes.size(); }
  const detail::CompiledProgram& program() const { return program_; }

 private:
  detail::CompiledProgram program_;
};

// Compiles `source` for `env`. The expression's type must be in `expected`
// (e.g. Type::kBool for a condition, TypeSet::numbers() for a formula).
// On failure returns kInvalidRequest with the message "line:column: reason"
// of the first error, and fills *error when given.
Result<Expression> compile(std::string_view source, const Environment& env, TypeSet expected,
                           CompileError* error = nullptr);

// Why an evaluation failed. Listed in no particular precedence: the first
// error met in evaluation order is reported.
enum class EvalError : uint8_t {
  kNone = 0,
  kOverflow,           // a result does not fit in int64 (or its decimal/money scale)
  kDivisionByZero,     // x / 0 or x % 0
  kAbsent,             // an optional field (member.birthday) is absent: guard with has()
  kInvalidConversion,  // int("abc"), decimal("1.2.3"), money(""), ...
};
const char* eval_error_name(EvalError error);

// A value; `number` holds every type but string (see types.h for the scale of each).
struct Value {
  Type type = Type::kBool;
  int64_t number = 0;
  std::string_view text;  // kString only; points into the context or the expression
};

struct EvalResult {
  EvalError error = EvalError::kNone;
  int error_offset = -1;  // byte offset in the source of the node that failed
  Value value;
  bool ok() const { return error == EvalError::kNone; }
};

// Evaluates `expression` against `context`; never allocates, never throws. An
// error (overflow, division by zero, absent field, bad conversion) in any
// evaluated operand makes the whole result that error; operands skipped by
// &&, ||, ?: and macros that stop early are not evaluated. Every root the
// expression names must be non-null in `context` (checked, aborts otherwise).
EvalResult evaluate(const Expression& expression, const Context& context);

// For conditions (type bool): true only when evaluation succeeded and gave
// true. An evaluation error means the rule does not fire; it is returned in
// *detail (when given) so the caller can report it.
bool evaluate_condition(const Expression& expression, const Context& context,
                        EvalResult* detail = nullptr);

// An item filter over every item of an order: evaluates the bool `expression`
// with context.item set to each of `items` in turn, writes 1 (true) or 0 (false
// or an evaluation error) per item into match[0, items.size()), and returns the
// number of 1s. Same results as evaluate_condition per item, one setup for all.
size_t evaluate_item_filter(const Expression& expression, const Context& context,
                            std::span<const ItemView> items, std::span<uint8_t> match);

// Line and column (as in CompileError) of a byte offset in `source`.
CompileError position_of(std::string_view source, int offset, std::string message);

}  // namespace loyalty::rules
