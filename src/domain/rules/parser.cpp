#include "domain/rules/parser.h"

#include <algorithm>
#include <utility>

#include "domain/rules/rules.h"

namespace loyalty::rules::detail {
namespace {

// Binding power of a binary operator; 0 when the token is not one.
int binary_precedence(TokenKind kind) {
  switch (kind) {
    case TokenKind::kOr:
      return 1;
    case TokenKind::kAnd:
      return 2;
    case TokenKind::kEq:
    case TokenKind::kNe:
    case TokenKind::kLt:
    case TokenKind::kLe:
    case TokenKind::kGt:
    case TokenKind::kGe:
    case TokenKind::kIn:
      return 3;
    case TokenKind::kPlus:
    case TokenKind::kMinus:
      return 4;
    case TokenKind::kStar:
    case TokenKind::kSlash:
    case TokenKind::kPercent:
      return 5;
    default:
      return 0;
  }
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, Ast* ast, ParseError* error)
      : tokens_(std::move(tokens)), ast_(ast), error_(error) {}

  bool run() {
    int root = expression();
    if (root < 0) return false;
    if (peek().kind != TokenKind::kEnd) {
      return fail(peek().offset,
                  "unexpected " + token_description(peek()) + " after the expression");
    }
    ast_->root = root;
    return true;
  }

 private:
  const Token& peek() const { return tokens_[pos_]; }
  Token& take() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }

  bool fail(int offset, std::string message) {
    if (!failed_) {
      failed_ = true;
      error_->offset = offset;
      error_->message = std::move(message);
    }
    return false;
  }

  // Adds a node; its depth is one more than its deepest child. -1 on a limit.
  int add(AstNode node) {
    node.start = node.offset;
    for (int child : node.children) {
      node.depth = std::max(node.depth, ast_->nodes[child].depth + 1);
      node.start = std::min(node.start, ast_->nodes[child].start);
    }
    if (node.depth > kMaxDepth) {
      fail(node.offset, "expression nests deeper than " + std::to_string(kMaxDepth) + " levels");
      return -1;
    }
    if (static_cast<int>(ast_->nodes.size()) >= kMaxNodes) {
      fail(node.offset, "expression has more than " + std::to_string(kMaxNodes) + " nodes");
      return -1;
    }
    ast_->nodes.push_back(std::move(node));
    return static_cast<int>(ast_->nodes.size()) - 1;
  }

  bool expect(TokenKind kind, const char* what) {
    if (peek().kind == kind) {
      take();
      return true;
    }
    return fail(peek().offset,
                std::string("expected ") + what + ", got " + token_description(peek()));
  }

  // Recursion guard: parser recursion only happens where the tree also gets
  // one level deeper, so this never rejects what the depth limit accepts; it
  // keeps the parser's own stack bounded before the nodes exist.
  bool enter(int offset) {
    if (++nesting_ > kMaxDepth) {
      return fail(offset, "expression nests deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    return true;
  }
  void leave() { --nesting_; }

  int expression() {
    int condition = binary(1);
    if (condition < 0 || peek().kind != TokenKind::kQuestion) return condition;
    int offset = take().offset;
    if (!enter(offset)) return -1;
    int then_branch = expression();
    if (then_branch < 0 || !expect(TokenKind::kColon, "':' of '?:'")) return -1;
    int else_branch = expression();
    leave();
    if (else_branch < 0) return -1;
    AstNode node;
    node.kind = AstKind::kConditional;
    node.offset = offset;
    node.children = {condition, then_branch, else_branch};
    return add(std::move(node));
  }

  // Precedence climbing: operators binding at least `min_precedence`.
  int binary(int min_precedence) {
    int lhs = unary();
    while (lhs >= 0) {
      int precedence = binary_precedence(peek().kind);
      if (precedence == 0 || precedence < min_precedence) break;
      const Token& op = take();
      AstNode node;
      node.kind = AstKind::kBinary;
      node.op = op.kind;
      node.offset = op.offset;
      int rhs = binary(precedence + 1);
      if (rhs < 0) return -1;
      node.children = {lhs, rhs};
      lhs = add(std::move(node));
    }
    return lhs;
  }

  int unary() {
    if (peek().kind != TokenKind::kBang && peek().kind != TokenKind::kMinus) return postfix();
    const Token& op = take();
    AstNode node;
    node.kind = AstKind::kUnary;
    node.op = op.kind;
    node.offset = op.offset;
    if (!enter(op.offset)) return -1;
    int operand = unary();
    leave();
    if (operand < 0) return -1;
    node.children = {operand};
    return add(std::move(node));
  }

  int postfix() {
    int node_index = primary();
    while (node_index >= 0) {
      if (peek().kind == TokenKind::kDot) {
        take();
        if (peek().kind != TokenKind::kIdent) {
          fail(peek().offset, "expected a field name after '.', got " + token_description(peek()));
          return -1;
        }
        Token& name = take();
        AstNode node;
        node.offset = name.offset;
        node.text = std::move(name.text);
        if (peek().kind == TokenKind::kLParen) {
          node.kind = AstKind::kCall;  // method form: receiver is the first argument
          node.children.push_back(node_index);
          if (!arguments(&node.children)) return -1;
        } else {
          node.kind = AstKind::kSelect;
          node.children = {node_index};
        }
        node_index = add(std::move(node));
      } else if (peek().kind == TokenKind::kLBracket) {
        AstNode node;
        node.kind = AstKind::kIndex;
        node.offset = take().offset;
        if (!enter(node.offset)) return -1;
        int key = expression();
        leave();
        if (key < 0 || !expect(TokenKind::kRBracket, "']'")) return -1;
        node.children = {node_index, key};
        node_index = add(std::move(node));
      } else {
        break;
      }
    }
    return node_index;
  }

  // "(" [expr {"," expr}] ")"
  bool arguments(std::vector<int>* out) {
    int open = peek().offset;
    if (!expect(TokenKind::kLParen, "'('") || !enter(open)) return false;
    if (peek().kind != TokenKind::kRParen) {
      while (true) {
        int arg = expression();
        if (arg < 0) return false;
        out->push_back(arg);
        if (peek().kind != TokenKind::kComma) break;
        take();
      }
    }
    leave();
    return expect(TokenKind::kRParen, "')' or ','");
  }

  int primary() {
    Token& t = take();
    AstNode node;
    node.offset = t.offset;
    switch (t.kind) {
      case TokenKind::kInt:
        node.kind = AstKind::kInt;
        node.number = t.number;
        return add(std::move(node));
      case TokenKind::kDecimal:
        node.kind = AstKind::kDecimal;
        node.number = t.number;
        return add(std::move(node));
      case TokenKind::kString:
        node.kind = AstKind::kString;
        node.text = std::move(t.text);
        return add(std::move(node));
      case TokenKind::kTrue:
      case TokenKind::kFalse:
        node.kind = AstKind::kBool;
        node.number = t.kind == TokenKind::kTrue ? 1 : 0;
        return add(std::move(node));
      case TokenKind::kIdent:
        node.text = std::move(t.text);
        if (peek().kind == TokenKind::kLParen) {
          node.kind = AstKind::kCall;
          if (!arguments(&node.children)) return -1;
        } else {
          node.kind = AstKind::kName;
        }
        return add(std::move(node));
      case TokenKind::kLParen: {
        if (!enter(t.offset)) return -1;
        int inner = expression();
        leave();
        if (inner < 0 || !expect(TokenKind::kRParen, "')'")) return -1;
        // Parentheses count as one level, so that the depth bounds the parser too.
        AstNode& n = ast_->nodes[inner];
        if (n.depth + 1 > kMaxDepth) {
          fail(t.offset, "expression nests deeper than " + std::to_string(kMaxDepth) + " levels");
          return -1;
        }
        n.depth += 1;
        n.start = t.offset;
        return inner;
      }
      case TokenKind::kLBracket: {
        node.kind = AstKind::kList;
        if (!enter(t.offset)) return -1;
        if (peek().kind != TokenKind::kRBracket) {
          while (true) {
            int element = expression();
            if (element < 0) return -1;
            node.children.push_back(element);
            if (peek().kind != TokenKind::kComma) break;
            take();
          }
        }
        leave();
        if (!expect(TokenKind::kRBracket, "']' or ','")) return -1;
        return add(std::move(node));
      }
      default:
        fail(t.offset, "expected a value, got " + token_description(t));
        return -1;
    }
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int nesting_ = 0;
  bool failed_ = false;
  Ast* ast_;
  ParseError* error_;
};

}  // namespace

bool parse(std::string_view source, Ast* ast, ParseError* error) {
  std::vector<Token> tokens;
  LexError lex_error;
  if (!tokenize(source, &tokens, &lex_error)) {
    error->offset = lex_error.offset;
    error->message = std::move(lex_error.message);
    return false;
  }
  return Parser(std::move(tokens), ast, error).run();
}

}  // namespace loyalty::rules::detail
