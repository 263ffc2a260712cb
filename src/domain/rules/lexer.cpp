#include "domain/rules/lexer.h"

#include <cstdio>

#include "domain/rules/fixed_point.h"

namespace loyalty::rules::detail {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }

// Length of the valid UTF-8 sequence starting at s[0], or 0 when invalid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
size_t utf8_sequence_length(std::string_view s) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char b0 = byte(0);
  if (b0 < 0x80) return 1;
  size_t n = 0;
  uint32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (s.size() < n) return 0;
  for (size_t i = 1; i < n; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i) & 0x3F);
  }
  static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinForLength[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

void append_utf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Lexer {
 public:
  Lexer(std::string_view source, std::vector<Token>* tokens, LexError* error)
      : src_(source), tokens_(tokens), error_(error) {}

  bool run() {
    while (true) {
      while (pos_ < src_.size() && (src_[pos_] == ' ' || src_[pos_] == '\t' || src_[pos_] == '\n' ||
                                    src_[pos_] == '\r')) {
        ++pos_;
      }
      Token t;
      t.offset = static_cast<int>(pos_);
      if (pos_ == src_.size()) {
        tokens_->push_back(std::move(t));
        return true;
      }
      char c = src_[pos_];
      if (is_digit(c)) {
        if (!number(&t)) return false;
      } else if (is_ident_start(c)) {
        size_t start = pos_;
        while (pos_ < src_.size() && is_ident_char(src_[pos_])) ++pos_;
        t.text = std::string(src_.substr(start, pos_ - start));
        if (t.text == "true") {
          t.kind = TokenKind::kTrue;
        } else if (t.text == "false") {
          t.kind = TokenKind::kFalse;
        } else if (t.text == "in") {
          t.kind = TokenKind::kIn;
        } else {
          t.kind = TokenKind::kIdent;
        }
      } else if (c == '"' || c == '\'') {
        if (!string_literal(&t)) return false;
      } else if (!punctuation(&t)) {
        return false;
      }
      tokens_->push_back(std::move(t));
    }
  }

 private:
  bool fail(size_t offset, std::string message) {
    error_->offset = static_cast<int>(offset);
    error_->message = std::move(message);
    return false;
  }

  bool number(Token* t) {
    size_t start = pos_;
    __int128 integer = 0;
    while (pos_ < src_.size() && is_digit(src_[pos_])) {
      integer = integer * 10 + (src_[pos_] - '0');
      if (integer > INT64_MAX) return fail(start, "integer literal does not fit in 64 bits");
      ++pos_;
    }
    if (pos_ + 1 < src_.size() && src_[pos_] == '.' && is_digit(src_[pos_ + 1])) {
      ++pos_;
      int digits = 0;
      int64_t fraction = 0;
      while (pos_ < src_.size() && is_digit(src_[pos_])) {
        if (++digits > kDecimalDigits) {
          return fail(start, "decimal literal has more than 6 digits after the point");
        }
        fraction = fraction * 10 + (src_[pos_] - '0');
        ++pos_;
      }
      fraction *= pow10(kDecimalDigits - digits);
      __int128 scaled = integer * kDecimalScale + fraction;
      if (scaled > INT64_MAX) return fail(start, "decimal literal is too large");
      t->kind = TokenKind::kDecimal;
      t->number = static_cast<int64_t>(scaled);
    } else {
      t->kind = TokenKind::kInt;
      t->number = static_cast<int64_t>(integer);
    }
    if (pos_ < src_.size() && is_ident_char(src_[pos_])) {
      return fail(pos_, "unexpected character after a number");
    }
    return true;
  }

  bool string_literal(Token* t) {
    char quote = src_[pos_];
    size_t start = pos_++;
    t->kind = TokenKind::kString;
    while (true) {
      if (pos_ >= src_.size()) return fail(start, "unterminated string literal");
      char c = src_[pos_];
      if (c == quote) {
        ++pos_;
        return true;
      }
      if (c == '\n' || c == '\r') return fail(start, "unterminated string literal");
      if (c == '\\') {
        if (!escape(t)) return false;
        continue;
      }
      size_t n = utf8_sequence_length(src_.substr(pos_));
      if (n == 0) return fail(pos_, "invalid UTF-8 in string literal");
      t->text.append(src_.substr(pos_, n));
      pos_ += n;
    }
  }

  bool escape(Token* t) {
    size_t at = pos_;
    if (pos_ + 1 >= src_.size()) return fail(at, "unterminated string literal");
    char e = src_[pos_ + 1];
    pos_ += 2;
    switch (e) {
      case '"':
      case '\'':
      case '\\':
        t->text.push_back(e);
        return true;
      case 'n':
        t->text.push_back('\n');
        return true;
      case 't':
        t->text.push_back('\t');
        return true;
      case 'r':
        t->text.push_back('\r');
        return true;
      case 'u': {
        uint32_t cp = 0;
        for (int i = 0; i < 4; ++i) {
          int h = pos_ < src_.size() ? hex_value(src_[pos_]) : -1;
          if (h < 0) return fail(at, "\\u needs four hex digits");
          cp = cp * 16 + static_cast<uint32_t>(h);
          ++pos_;
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) return fail(at, "\\u escape of a surrogate");
        if (cp == 0) return fail(at, "\\u0000 is not allowed in strings");
        append_utf8(cp, &t->text);
        return true;
      }
      default:
        return fail(at, "unknown escape sequence in string literal");
    }
  }

  bool punctuation(Token* t) {
    char c = src_[pos_];
    char next = pos_ + 1 < src_.size() ? src_[pos_ + 1] : '\0';
    auto one = [&](TokenKind k) {
      t->kind = k;
      pos_ += 1;
      return true;
    };
    auto two = [&](TokenKind k) {
      t->kind = k;
      pos_ += 2;
      return true;
    };
    switch (c) {
      case '(':
        return one(TokenKind::kLParen);
      case ')':
        return one(TokenKind::kRParen);
      case '[':
        return one(TokenKind::kLBracket);
      case ']':
        return one(TokenKind::kRBracket);
      case ',':
        return one(TokenKind::kComma);
      case '.':
        return one(TokenKind::kDot);
      case '?':
        return one(TokenKind::kQuestion);
      case ':':
        return one(TokenKind::kColon);
      case '+':
        return one(TokenKind::kPlus);
      case '-':
        return one(TokenKind::kMinus);
      case '*':
        return one(TokenKind::kStar);
      case '/':
        return one(TokenKind::kSlash);
      case '%':
        return one(TokenKind::kPercent);
      case '!':
        return next == '=' ? two(TokenKind::kNe) : one(TokenKind::kBang);
      case '=':
        if (next == '=') return two(TokenKind::kEq);
        return fail(pos_, "'=' is not an operator; use '==' to compare");
      case '<':
        return next == '=' ? two(TokenKind::kLe) : one(TokenKind::kLt);
      case '>':
        return next == '=' ? two(TokenKind::kGe) : one(TokenKind::kGt);
      case '&':
        if (next == '&') return two(TokenKind::kAnd);
        return fail(pos_, "'&' is not an operator; use '&&'");
      case '|':
        if (next == '|') return two(TokenKind::kOr);
        return fail(pos_, "'|' is not an operator; use '||'");
      default:
        break;
    }
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7F) return fail(pos_, "unexpected character (only in string literals)");
    char buf[48];
    std::snprintf(buf, sizeof buf, "unexpected character '%c'", c);
    return fail(pos_, buf);
  }

  std::string_view src_;
  size_t pos_ = 0;
  std::vector<Token>* tokens_;
  LexError* error_;
};

}  // namespace

std::string token_description(const Token& token) {
  switch (token.kind) {
    case TokenKind::kEnd:
      return "end of input";
    case TokenKind::kInt:
    case TokenKind::kDecimal:
      return "a number";
    case TokenKind::kString:
      return "a string";
    case TokenKind::kIdent:
      return "'" + token.text + "'";
    case TokenKind::kTrue:
      return "'true'";
    case TokenKind::kFalse:
      return "'false'";
    case TokenKind::kIn:
      return "'in'";
    case TokenKind::kLParen:
      return "'('";
    case TokenKind::kRParen:
      return "')'";
    case TokenKind::kLBracket:
      return "'['";
    case TokenKind::kRBracket:
      return "']'";
    case TokenKind::kComma:
      return "','";
    case TokenKind::kDot:
      return "'.'";
    case TokenKind::kQuestion:
      return "'?'";
    case TokenKind::kColon:
      return "':'";
    case TokenKind::kPlus:
      return "'+'";
    case TokenKind::kMinus:
      return "'-'";
    case TokenKind::kStar:
      return "'*'";
    case TokenKind::kSlash:
      return "'/'";
    case TokenKind::kPercent:
      return "'%'";
    case TokenKind::kBang:
      return "'!'";
    case TokenKind::kEq:
      return "'=='";
    case TokenKind::kNe:
      return "'!='";
    case TokenKind::kLt:
      return "'<'";
    case TokenKind::kLe:
      return "'<='";
    case TokenKind::kGt:
      return "'>'";
    case TokenKind::kGe:
      return "'>='";
    case TokenKind::kAnd:
      return "'&&'";
    case TokenKind::kOr:
      return "'||'";
  }
  return "a token";
}

bool tokenize(std::string_view source, std::vector<Token>* tokens, LexError* error) {
  return Lexer(source, tokens, error).run();
}

}  // namespace loyalty::rules::detail
