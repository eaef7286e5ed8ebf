// SPDX-License-Identifier: MIT
/// @file
/// Counts heap allocations made inside a scope, from both sources a real-time path can hit:
///  - `operator new` (std::vector, std::string, ...), counted by the replacement in
///  alloc_counter.cpp;
///  - Eigen's own allocations, which go through `std::malloc` and never reach `operator new`.
///    With EIGEN_RUNTIME_NO_MALLOC Eigen calls `eigen_assert(is_malloc_allowed() && ...)` before
///    each allocation; the `eigen_assert` defined below counts that one instead of aborting.
/// This header must be included before any Eigen header in every test TU (it checks).
#pragma once

#ifdef EIGEN_WORLD_VERSION
#error "tests/support/alloc_counter.hpp must be included before any Eigen header"
#endif

#ifndef EIGEN_RUNTIME_NO_MALLOC
#define EIGEN_RUNTIME_NO_MALLOC
#endif

#include <cstddef>

namespace dendrite::test {

/// Called by the replacement eigen_assert. Counts a forbidden Eigen allocation, aborts otherwise.
void eigen_assert_failed(const char* expr, const char* file, int line) noexcept;

/// Allocations counted since the innermost armed NoAllocScope on this thread started.
struct AllocCounts {
  std::size_t operator_new = 0;
  std::size_t eigen = 0;
  [[nodiscard]] std::size_t total() const noexcept { return operator_new + eigen; }
};

/// While alive, counts every allocation on this thread (operator new and Eigen's malloc).
class NoAllocScope {
 public:
  NoAllocScope() noexcept;
  ~NoAllocScope();
  NoAllocScope(const NoAllocScope&) = delete;
  NoAllocScope& operator=(const NoAllocScope&) = delete;
  /// Allocations seen so far in this scope.
  [[nodiscard]] AllocCounts counts() const noexcept;

 private:
  AllocCounts before_;
  bool was_armed_;
  bool eigen_was_allowed_;
};

/// The allocations f() makes, counted by a NoAllocScope around it: the common shape of the
/// "a step allocates nothing" checks, with the CHECK outside the counted region.
template <class F>
[[nodiscard]] AllocCounts allocations_during(F&& f) {
  NoAllocScope scope;
  static_cast<F&&>(f)();
  return scope.counts();
}

}  // namespace dendrite::test

// Eigen's allocation check becomes a counter; every other Eigen assertion still aborts (in
// release builds too, which is a feature for tests).
#define eigen_assert(x) \
  ((x) ? static_cast<void>(0) : ::dendrite::test::eigen_assert_failed(#x, __FILE__, __LINE__))

#include <Eigen/Core>
