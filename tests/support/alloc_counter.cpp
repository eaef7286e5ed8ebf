// SPDX-License-Identifier: MIT
// Replacement global operator new/delete that count allocations while a NoAllocScope is armed.
#include "support/alloc_counter.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace dendrite::test {
namespace {

thread_local bool g_armed = false;
thread_local AllocCounts g_counts{};

void* counted_malloc(std::size_t size) {
  if (g_armed) {
    ++g_counts.operator_new;
  }
  if (size == 0) {
    size = 1;
  }
  return std::malloc(size);
}

void* counted_aligned(std::size_t size, std::size_t alignment) {
  if (g_armed) {
    ++g_counts.operator_new;
  }
  if (size == 0) {
    size = alignment;
  }
  size = (size + alignment - 1) / alignment * alignment;  // aligned_alloc wants a multiple
  return std::aligned_alloc(alignment, size);
}

}  // namespace

void eigen_assert_failed(const char* expr, const char* file, int line) noexcept {
  if (std::strstr(expr, "heap allocation is forbidden") != nullptr) {
    ++g_counts.eigen;
    return;
  }
  std::fprintf(stderr, "%s:%d: Eigen assertion failed: %s\n", file, line, expr);
  std::abort();
}

NoAllocScope::NoAllocScope() noexcept
    : before_(g_counts),
      was_armed_(g_armed),
      eigen_was_allowed_(Eigen::internal::is_malloc_allowed()) {
  g_armed = true;
  Eigen::internal::set_is_malloc_allowed(false);
}

NoAllocScope::~NoAllocScope() {
  g_armed = was_armed_;
  Eigen::internal::set_is_malloc_allowed(eigen_was_allowed_);
}

AllocCounts NoAllocScope::counts() const noexcept {
  return {g_counts.operator_new - before_.operator_new, g_counts.eigen - before_.eigen};
}

}  // namespace dendrite::test

void* operator new(std::size_t size) {
  if (void* p = dendrite::test::counted_malloc(size)) {
    return p;
  }
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  return ::operator new(size);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return dendrite::test::counted_malloc(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return dendrite::test::counted_malloc(size);
}
void* operator new(std::size_t size, std::align_val_t al) {
  if (void* p = dendrite::test::counted_aligned(size, static_cast<std::size_t>(al))) {
    return p;
  }
  throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t al) {
  return ::operator new(size, al);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
