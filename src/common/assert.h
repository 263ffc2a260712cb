// LOYALTY_ASSERT: invariants that stay checked in release builds.
//
// A broken ledger must stop, not drift: a failed assertion logs the condition
// and its location and aborts the process. Use it for programmer errors and
// ledger invariants, never for user input (that gets a Status).
#pragma once

namespace loyalty::detail {
[[noreturn]] void assertion_failed(const char* condition, const char* file, int line,
                                   const char* message);
}  // namespace loyalty::detail

#define LOYALTY_ASSERT(cond)                                                         \
  do {                                                                               \
    if (!(cond)) ::loyalty::detail::assertion_failed(#cond, __FILE__, __LINE__, ""); \
  } while (0)

#define LOYALTY_ASSERT_MSG(cond, msg)                                                 \
  do {                                                                                \
    if (!(cond)) ::loyalty::detail::assertion_failed(#cond, __FILE__, __LINE__, msg); \
  } while (0)
