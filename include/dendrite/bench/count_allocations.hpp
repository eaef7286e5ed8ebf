// SPDX-License-Identifier: MIT
/// @file
/// Counts `operator new` for `profile_step` (bench/step_profile.hpp): replaces the global
/// allocation functions with ones that count and then call `std::malloc` / `std::aligned_alloc`,
/// and installs the count as `dendrite::bench::allocation_counter`.
///
/// Include it in exactly one file of a benchmark program (it defines the replacements, which the
/// language allows once per program), and not in a program that replaces them already (a test
/// suite's allocation counter): there, install that counter instead. Eigen's own allocations go
/// through `std::malloc` and are not counted.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

#include <dendrite/bench/step_profile.hpp>

namespace dendrite::bench::detail {

inline std::atomic<std::size_t> operator_new_calls{0};

inline std::size_t count_operator_new() noexcept {
  return operator_new_calls.load(std::memory_order_relaxed);
}

inline const bool operator_new_counter_installed = [] {
  allocation_counter = &count_operator_new;
  return true;
}();

[[nodiscard]] inline void* counted_alloc(std::size_t n, std::size_t align) {
  operator_new_calls.fetch_add(1, std::memory_order_relaxed);
  n = n == 0 ? 1 : n;
  void* p = align <= alignof(std::max_align_t)
                ? std::malloc(n)
                : std::aligned_alloc(align, (n + align - 1) / align * align);
  if (p == nullptr) {
    throw std::bad_alloc();
  }
  return p;
}

// Not inlined: GCC's -Wmismatched-new-delete would otherwise see `free` applied to what the
// replaced `operator new` returned, not knowing that it came from `malloc`.
[[gnu::noinline]] inline void counted_free(void* p) noexcept { std::free(p); }

}  // namespace dendrite::bench::detail

void* operator new(std::size_t n) { return dendrite::bench::detail::counted_alloc(n, 1); }
void* operator new[](std::size_t n) { return dendrite::bench::detail::counted_alloc(n, 1); }
void* operator new(std::size_t n, std::align_val_t a) {
  return dendrite::bench::detail::counted_alloc(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return dendrite::bench::detail::counted_alloc(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { dendrite::bench::detail::counted_free(p); }
void operator delete[](void* p) noexcept { dendrite::bench::detail::counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { dendrite::bench::detail::counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { dendrite::bench::detail::counted_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { dendrite::bench::detail::counted_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { dendrite::bench::detail::counted_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { dendrite::bench::detail::counted_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { dendrite::bench::detail::counted_free(p); }
