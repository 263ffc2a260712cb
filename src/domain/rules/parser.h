// The syntax tree of an expression and the parser that builds it.
//
// Grammar, lowest precedence first (binary operators are left-associative,
// ?: is right-associative):
//   expr     = or ["?" expr ":" expr]
//   or       = and {"||" and}
//   and      = rel {"&&" rel}
//   rel      = add {("==" | "!=" | "<" | "<=" | ">" | ">=" | "in") add}
//   add      = mul {("+" | "-") mul}
//   mul      = unary {("*" | "/" | "%") unary}
//   unary    = ("!" | "-") unary | postfix
//   postfix  = primary {"." name ["(" args ")"] | "[" expr "]"}
//   primary  = number | string | "true" | "false" | name ["(" args ")"]
//            | "(" expr ")" | "[" [expr {"," expr}] "]"
// `x.f(a)` is the method form of `f(x, a)`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "domain/rules/lexer.h"

namespace loyalty::rules::detail {

enum class AstKind : uint8_t {
  kInt,
  kDecimal,
  kString,
  kBool,
  kName,    // text
  kSelect,  // children[0].text
  kIndex,   // children[0][children[1]]
  kCall,    // text(children...)
  kUnary,   // op children[0]
  kBinary,  // children[0] op children[1]
  kConditional,
  kList,
};

struct AstNode {
  AstKind kind = AstKind::kInt;
  TokenKind op = TokenKind::kEnd;  // kUnary, kBinary
  int offset = 0;                  // where errors about this node point
  int start = 0;                   // offset of the subtree's first token
  int depth = 1;
  int64_t number = 0;  // kInt, kDecimal, kBool
  std::string text;    // kString value, kName / kSelect / kCall name
  std::vector<int> children;
};

struct Ast {
  std::vector<AstNode> nodes;
  int root = 0;
};

struct ParseError {
  int offset = 0;
  std::string message;
};

// Parses `source` (already checked against kMaxSourceBytes). Enforces
// kMaxDepth and kMaxNodes. Returns false and fills *error on failure.
bool parse(std::string_view source, Ast* ast, ParseError* error);

}  // namespace loyalty::rules::detail
