// Points and money: distinct integer types, no floating point anywhere.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

namespace loyalty {

// The largest amount one posting may move. Balances are int64; keeping every
// single movement below 10^12 leaves room for ~9 million maximal postings per
// account before overflow is even possible, and overflow is checked anyway.
inline constexpr int64_t kMaxPointsPerPosting = 1'000'000'000'000;

struct Points {
  int64_t value = 0;
  friend constexpr auto operator<=>(Points, Points) = default;
  friend constexpr Points operator+(Points a, Points b) { return Points{a.value + b.value}; }
  friend constexpr Points operator-(Points a, Points b) { return Points{a.value - b.value}; }
  constexpr Points operator-() const { return Points{-value}; }
  Points& operator+=(Points o) {
    value += o.value;
    return *this;
  }
  Points& operator-=(Points o) {
    value -= o.value;
    return *this;
  }
};

// Money in the minor unit of an ISO 4217 currency (cents for USD).
struct Money {
  int64_t amount_minor = 0;
  std::string currency;
  friend bool operator==(const Money&, const Money&) = default;
};

// Adds without overflow; false when a + b does not fit in int64.
inline bool checked_add(int64_t a, int64_t b, int64_t* out) {
  return !__builtin_add_overflow(a, b, out);
}

}  // namespace loyalty
