// The compiled form of an expression: a typed tree in a flat vector.
//
// Internal to the rules library (the compiler writes it, the evaluator reads
// it); public only because Expression holds it by value. Children are indexes
// into `nodes`, always smaller than their parent's (post-order); field
// accesses are resolved to Field ids and every implicit conversion (int to
// money, date to instant, ...) is an explicit node, so the evaluator never
// looks at a type.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "domain/rules/types.h"

namespace loyalty::rules::detail {

enum class Op : uint8_t {
  kConst,        // imm
  kConstString,  // pool[str_offset, str_len)
  kNow,          // context.now
  kLoad,         // field imm (flags & kFromLoopItem: the macro's item)
  kAttrGet,      // map field imm, key pool[str]: value or ""
  kAttrHas,      // map field imm, key pool[str]: present?
  kAttrHasKey,   // map field imm, key a (a string expression)
  kAttrSize,     // map field imm: number of entries
  kHasField,     // optional field imm present?
  kNot,
  kNeg,
  kAbs,
  kAnd,
  kOr,
  kCond,  // a ? b : c
  kAdd,
  kSub,
  kMul,
  kDivInt,           // truncating toward zero
  kModInt,           // sign of the dividend
  kMulScaled,        // a * b / imm, rounded half away from zero
  kDivScaled,        // a * imm / b, rounded half away from zero
  kScaleUp,          // a * imm
  kScaleDown,        // a / imm, rounded half away from zero
  kFloorDiv,         // floor(a / imm)
  kCeilDiv,          // ceil(a / imm)
  kRoundDiv,         // round(a / imm), half away from zero
  kTruncDiv,         // trunc(a / imm)
  kDateAddDuration,  // date a + duration b (flags & kSubtract: minus), floored to days
  kMin,
  kMax,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kEqString,
  kNeString,
  kLtString,
  kLeString,
  kGtString,
  kGeString,
  kInList,        // a in operands[imm, imm + str_len) (int64 equality)
  kInStringList,  // same, string equality
  kAny,           // items field imm, predicate b
  kAll,
  kCount,
  kSum,         // items field imm, body b
  kSizeString,  // UTF-8 code points
  kSizeItems,   // items field imm
  kStartsWith,
  kEndsWith,
  kContains,
  kEqualsIgnoreCase,  // ASCII letters only
  kDaysSinceInstant,
  kDaysSinceDate,
  kDaysUntilInstant,
  kDaysUntilDate,
  kDaysUntilAnniversary,
  kYear,
  kMonth,
  kDayOfMonth,
  kWeekday,     // 1 = Monday .. 7 = Sunday
  kParseFixed,  // string a as a number with at most imm fraction digits, scaled by 10^imm
  // Fused by the compiler from the most frequent shape of a condition, "field
  // op constant": a is the kLoad node, b the kConst / kConstString node, c the
  // comparison (kEq..kGe / kEqString..kGeString, mirrored when the constant
  // was on the left). Evaluated without a call per child.
  kCompareLoadConst,
  kCompareLoadString,
};

// Node::flags
inline constexpr uint8_t kFromLoopItem = 1;
inline constexpr uint8_t kSubtract = 2;

struct Node {
  Op op = Op::kConst;
  Type type = Type::kBool;
  uint8_t flags = 0;
  uint16_t a = 0;
  uint16_t b = 0;
  uint16_t c = 0;
  int32_t offset = 0;  // byte offset in the source, for error reports
  int64_t imm = 0;
  uint32_t str_offset = 0;
  uint32_t str_len = 0;
};

struct CompiledProgram {
  std::string source;
  std::vector<Node> nodes;
  std::vector<uint16_t> operands;  // children of variadic nodes (kInList)
  std::string pool;                // bytes of string constants
  uint16_t root = 0;
  Type type = Type::kBool;
  uint32_t roots_used = 0;  // bit (1 << Root) per root the expression reads
};

}  // namespace loyalty::rules::detail
