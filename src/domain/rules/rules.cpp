#include "domain/rules/rules.h"

#include "common/assert.h"
#include "domain/rules/evaluator.h"

namespace loyalty::rules {

const char* type_name(Type type) {
  switch (type) {
    case Type::kBool:
      return "bool";
    case Type::kInt:
      return "int";
    case Type::kDecimal:
      return "decimal";
    case Type::kMoney:
      return "money";
    case Type::kString:
      return "string";
    case Type::kInstant:
      return "instant";
    case Type::kDate:
      return "date";
    case Type::kDuration:
      return "duration";
    case Type::kItem:
      return "item";
    case Type::kItemList:
      return "list of items";
    case Type::kAttributes:
      return "attributes map";
    case Type::kList:
      return "list";
  }
  return "?";
}

const char* root_name(Root root) {
  switch (root) {
    case Root::kOrder:
      return "order";
    case Root::kItem:
      return "item";
    case Root::kEvent:
      return "event";
    case Root::kMember:
      return "member";
    case Root::kProgram:
      return "program";
    case Root::kNow:
      return "now";
  }
  return "?";
}

const char* eval_error_name(EvalError error) {
  switch (error) {
    case EvalError::kNone:
      return "none";
    case EvalError::kOverflow:
      return "overflow";
    case EvalError::kDivisionByZero:
      return "division_by_zero";
    case EvalError::kAbsent:
      return "absent";
    case EvalError::kInvalidConversion:
      return "invalid_conversion";
  }
  return "?";
}

Environment Environment::order_rule(int currency_exponent) {
  Environment env;
  env.currency_exponent = currency_exponent;
  env.allow(Root::kOrder).allow(Root::kMember).allow(Root::kProgram).allow(Root::kNow);
  return env;
}

Environment Environment::item_rule(int currency_exponent) {
  return order_rule(currency_exponent).allow(Root::kItem);
}

Environment Environment::event_rule(int currency_exponent) {
  Environment env;
  env.currency_exponent = currency_exponent;
  env.allow(Root::kEvent).allow(Root::kMember).allow(Root::kProgram).allow(Root::kNow);
  return env;
}

std::string CompileError::to_string() const {
  return std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

CompileError position_of(std::string_view source, int offset, std::string message) {
  CompileError e;
  e.offset = offset;
  e.message = std::move(message);
  e.line = 1;
  e.column = 1;
  const size_t end = std::min(source.size(), static_cast<size_t>(offset < 0 ? 0 : offset));
  for (size_t i = 0; i < end; ++i) {
    const unsigned char c = static_cast<unsigned char>(source[i]);
    if (c == '\n') {
      ++e.line;
      e.column = 1;
    } else if ((c & 0xC0) != 0x80) {
      ++e.column;
    }
  }
  // An offset at or past the end (e.g. "longer than 4096 bytes") counts the missing bytes.
  if (offset > static_cast<int>(source.size()))
    e.column += offset - static_cast<int>(source.size());
  return e;
}

// evaluate(), evaluate_condition() and evaluate_item_filter() are defined in
// evaluator.cpp, next to the evaluator they call (one call less per condition).

}  // namespace loyalty::rules
