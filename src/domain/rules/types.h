// The static types of the rules language.
//
// Every expression has one type, known at compile time; the evaluator never
// inspects a type tag. Runtime representations (all int64, no floating point):
//   bool      0 or 1
//   int       int64
//   decimal   int64 fixed point, scaled by 10^6 (kDecimalScale): 1.5 is 1'500'000
//   money     int64 minor units of the program's currency (cents for USD)
//   instant   int64 microseconds since the Unix epoch, UTC
//   date      int64 days since 1970-01-01 (a calendar date, no time zone)
//   duration  int64 microseconds
//   string    a string_view (UTF-8) into the evaluation context or the expression
// The remaining types exist only at compile time, to name what a sub-expression
// is in an error message (an item, the list order.items, an attribute map, a
// list literal); they never are the type of a whole expression.
#pragma once

#include <cstdint>

namespace loyalty::rules {

enum class Type : uint8_t {
  kBool,
  kInt,
  kDecimal,
  kMoney,
  kString,
  kInstant,
  kDate,
  kDuration,
  // Compile-time only.
  kItem,
  kItemList,
  kAttributes,
  kList,
};

// "bool", "int", "decimal", "money", ...: the names used in error messages and docs.
const char* type_name(Type type);

// A set of types, for "this expression must be one of ...". Implicit from one Type.
class TypeSet {
 public:
  constexpr TypeSet(Type type) : bits_(bit(type)) {}  // NOLINT(google-explicit-constructor)
  static constexpr TypeSet any_value() {
    return TypeSet(bit(Type::kBool) | bit(Type::kInt) | bit(Type::kDecimal) | bit(Type::kMoney) |
                   bit(Type::kString) | bit(Type::kInstant) | bit(Type::kDate) |
                   bit(Type::kDuration));
  }
  // int, decimal or money.
  static constexpr TypeSet numbers() {
    return TypeSet(bit(Type::kInt) | bit(Type::kDecimal) | bit(Type::kMoney));
  }
  constexpr TypeSet operator|(TypeSet other) const { return TypeSet(bits_ | other.bits_); }
  constexpr bool contains(Type type) const { return (bits_ & bit(type)) != 0; }

 private:
  explicit constexpr TypeSet(uint32_t bits) : bits_(bits) {}
  static constexpr uint32_t bit(Type type) { return uint32_t{1} << static_cast<unsigned>(type); }
  uint32_t bits_;
};

}  // namespace loyalty::rules
