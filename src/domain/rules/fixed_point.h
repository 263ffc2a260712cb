// Overflow-checked int64 arithmetic for decimals and money.
//
// Decimals are int64 scaled by 10^6 (kDecimalScale). Intermediate products
// are computed in 128 bits, so a rounding division of a product is exact
// before the final range check. Every function returns false when the result
// does not fit in int64 (or the divisor is zero), and never invokes UB.
#pragma once

#include <cstdint>

namespace loyalty::rules::detail {

inline constexpr int kDecimalDigits = 6;
inline constexpr int64_t kDecimalScale = 1'000'000;
inline constexpr int64_t kMicrosPerDay = 86'400'000'000;

// 10^n for 0 <= n <= 18.
constexpr int64_t pow10(int n) {
  int64_t v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

inline bool fits_int64(__int128 v, int64_t* out) {
  if (v > INT64_MAX || v < INT64_MIN) return false;
  *out = static_cast<int64_t>(v);
  return true;
}

inline bool both_fit_int64(__int128 num, __int128 den) {
  // den > INT64_MIN keeps -den and num / -1 representable.
  return num >= INT64_MIN && num <= INT64_MAX && den > INT64_MIN && den <= INT64_MAX &&
         !(num == INT64_MIN && den == -1);
}

// num / den rounded half away from zero.
inline bool div_round_half_away(__int128 num, __int128 den, int64_t* out) {
  if (den == 0) return false;
  if (both_fit_int64(num, den) && den > 0) {  // the common case, without 128-bit division
    const int64_t n = static_cast<int64_t>(num);
    const int64_t d = static_cast<int64_t>(den);
    int64_t q = n / d;
    const int64_t r = n % d;
    // 2|r| >= d without overflow: |r| >= d - |r|.
    if ((r < 0 ? -r : r) >= d - (r < 0 ? -r : r)) q += n < 0 ? -1 : 1;
    *out = q;
    return true;
  }
  if (den < 0) {
    num = -num;
    den = -den;
  }
  __int128 q = num / den;
  __int128 r = num % den;  // same sign as num
  if (r < 0) r = -r;
  if (2 * r >= den) q += num < 0 ? -1 : 1;
  return fits_int64(q, out);
}

// floor(num / den).
inline bool div_floor(__int128 num, __int128 den, int64_t* out) {
  if (den == 0) return false;
  if (both_fit_int64(num, den)) {  // the common case, without 128-bit division
    const int64_t n = static_cast<int64_t>(num);
    const int64_t d = static_cast<int64_t>(den);
    int64_t q = n / d;
    if ((n % d != 0) && ((n < 0) != (d < 0))) --q;
    *out = q;
    return true;
  }
  __int128 q = num / den;
  if ((num % den != 0) && ((num < 0) != (den < 0))) --q;
  return fits_int64(q, out);
}

// ceil(num / den).
inline bool div_ceil(__int128 num, __int128 den, int64_t* out) {
  if (den == 0) return false;
  __int128 q = num / den;
  if ((num % den != 0) && ((num < 0) == (den < 0))) ++q;
  return fits_int64(q, out);
}

// trunc(num / den), toward zero.
inline bool div_trunc(__int128 num, __int128 den, int64_t* out) {
  if (den == 0) return false;
  return fits_int64(num / den, out);
}

}  // namespace loyalty::rules::detail
