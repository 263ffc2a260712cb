// Counts every heap allocation of the benchmark's process, so a benchmark can
// report allocations per iteration (read allocations() around the timed loop).
// Replaces the global operator new/delete: include it in exactly one source
// file of a benchmark executable.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace loyalty::bench {
inline std::atomic<int64_t> g_allocations{0};
inline int64_t allocations() { return g_allocations.load(std::memory_order_relaxed); }
}  // namespace loyalty::bench

__attribute__((noinline)) void* operator new(std::size_t size) {
  loyalty::bench::g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
// Not inlined: g++ 12 otherwise sees free() of a pointer from operator new
// (-Wmismatched-new-delete), which is exactly what this replacement pair does.
__attribute__((noinline)) void operator delete(void* p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete(void* p, std::size_t) noexcept { std::free(p); }
