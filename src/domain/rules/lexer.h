// Tokens of the rules language.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loyalty::rules::detail {

enum class TokenKind : uint8_t {
  kEnd,
  kInt,      // number: the value
  kDecimal,  // number: the value scaled by 10^6
  kString,   // text: the decoded UTF-8 bytes
  kIdent,    // text: the name
  kTrue,
  kFalse,
  kIn,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kComma,
  kDot,
  kQuestion,
  kColon,
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kPercent,
  kBang,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kAnd,
  kOr,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  int offset = 0;  // byte offset of the first character
  int64_t number = 0;
  std::string text;
};

// "'&&'", "end of input", "a number", ...
std::string token_description(const Token& token);

struct LexError {
  int offset = 0;
  std::string message;
};

// Splits `source` into tokens, ending with kEnd. Integers must fit in int64,
// decimals have at most 6 fraction digits, strings are valid UTF-8 with the
// escapes \" \' \\ \n \t \r \uXXXX. Returns false and fills *error otherwise.
bool tokenize(std::string_view source, std::vector<Token>* tokens, LexError* error);

}  // namespace loyalty::rules::detail
