// SPDX-License-Identifier: MIT
/// @file
/// The O(D^2) matrix-vector kernels of the streaming ICA engines, for a D x D column-major
/// matrix of `T` (a float/double or an xsimd batch, one independent matrix per lane):
///   gemv     y = A x          (axpy over columns: vectorises over rows, or over lanes)
///   gemv_t   y = A^T x        (a dot product per column, `dot`)
///   scale_axpy, axpy2          a column's update, f a + s x and a + s x + r y
///   tanh_n   out = tanh(y), elementwise
/// For a scalar `T` the dot products run in xsimd registers (a plain loop's reduction does not
/// vectorise without -ffast-math); for a batch `T` every lane is a separate matrix and the
/// loops vectorise over lanes. Internal.
#pragma once

#include <array>
#include <cstddef>

#include <xsimd/xsimd.hpp>

#include <dendrite/config.hpp>
#include <dendrite/core/math.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>

namespace dendrite::ica::detail {

/// (The matrix may hold the scalar of a batch `T`: one matrix shared by every lane.)
template <Real T, int D, class A = T>
DENDRITE_FORCE_INLINE void gemv(const A* a, const T* x, T* y) noexcept {
  constexpr std::size_t n = static_cast<std::size_t>(D);
  for (std::size_t i = 0; i < n; ++i) y[i] = T(0);
  for (std::size_t j = 0; j < n; ++j) {
    const A* aj = a + j * n;
    const T xj = x[j];
    for (std::size_t i = 0; i < n; ++i) y[i] = dendrite::fma(T(aj[i]), xj, y[i]);
  }
}

/// The dot product of two D-vectors, per lane; for a scalar `T` in SIMD registers of this
/// target's width (two accumulators, one horizontal sum), the reduction a plain loop cannot
/// vectorise.
template <Real T, int D>
[[nodiscard]] DENDRITE_FORCE_INLINE T dot(const T* a, const T* x) noexcept {
  constexpr std::size_t n = static_cast<std::size_t>(D);
  if constexpr (is_batch_v<T>) {
    T s(0);
    for (std::size_t i = 0; i < n; ++i) s = dendrite::fma(a[i], x[i], s);
    return s;
  } else {
    using V = xsimd::batch<T>;
    constexpr std::size_t w = V::size;
    constexpr std::size_t full = n / w * w;
    T s(0);
    if constexpr (full > 0) {
      V s0(T(0)), s1(T(0));
      std::size_t i = 0;
      for (; i + 2 * w <= full; i += 2 * w) {
        s0 = dendrite::fma(V::load_unaligned(a + i), V::load_unaligned(x + i), s0);
        s1 = dendrite::fma(V::load_unaligned(a + i + w), V::load_unaligned(x + i + w), s1);
      }
      if constexpr ((full / w) % 2 == 1) {
        s0 = dendrite::fma(V::load_unaligned(a + full - w), V::load_unaligned(x + full - w), s0);
      }
      s = reduce_add(s0 + s1);
    }
    if constexpr (full < n) {
      for (std::size_t i = full; i < n; ++i) s = dendrite::fma(a[i], x[i], s);
    }
    return s;
  }
}

/// a <- f a + s x over D values (a and x distinct: the compiler may then vectorise without
/// run-time overlap checks, which g++ otherwise resolves by a scalar loop at small D).
template <Real T, int D>
DENDRITE_FORCE_INLINE void scale_axpy(T* __restrict a, T f, T s, const T* __restrict x) noexcept {
  for (std::size_t i = 0; i < static_cast<std::size_t>(D); ++i) {
    a[i] = dendrite::fma(x[i], s, f * a[i]);
  }
}

/// a <- a + s x + r y over D values (a distinct from x and y).
template <Real T, int D>
DENDRITE_FORCE_INLINE void axpy2(T* __restrict a, T s, const T* __restrict x, T r,
                                 const T* __restrict y) noexcept {
  for (std::size_t i = 0; i < static_cast<std::size_t>(D); ++i) {
    a[i] = dendrite::fma(x[i], s, dendrite::fma(y[i], r, a[i]));
  }
}

template <Real T, int D>
DENDRITE_FORCE_INLINE void gemv_t(const T* a, const T* x, T* y) noexcept {
  constexpr std::size_t n = static_cast<std::size_t>(D);
  for (std::size_t j = 0; j < n; ++j) y[j] = dot<T, D>(a + j * n, x);
}

/// out_i = tanh(y_i) for the D values (in SIMD registers for a scalar `T` too).
template <Real T, int D>
DENDRITE_FORCE_INLINE void tanh_n(const T* y, T* out) noexcept {
  constexpr std::size_t n = static_cast<std::size_t>(D);
  constexpr std::size_t w = is_batch_v<T> ? 1 : xsimd::batch<scalar_t<T>>::size;
  constexpr std::size_t full = is_batch_v<T> ? 0 : n / w * w;
  if constexpr (full > 0) {
    using V = xsimd::batch<scalar_t<T>>;
    for (std::size_t i = 0; i < full; i += w) {
      dendrite::tanh(V::load_unaligned(y + i)).store_unaligned(out + i);
    }
  }
  if constexpr (full < n) {
    if constexpr (is_batch_v<T>) {
      for (std::size_t i = full; i < n; ++i) out[i] = dendrite::tanh(y[i]);
    } else {  // the tail (or all of a short vector) padded to one register
      using V = xsimd::batch<scalar_t<T>>;
      alignas(64) std::array<T, w> buf{};
      for (std::size_t i = full; i < n; ++i) buf[i - full] = y[i];
      dendrite::tanh(V::load_aligned(buf.data())).store_aligned(buf.data());
      for (std::size_t i = full; i < n; ++i) out[i] = buf[i - full];
    }
  }
}

}  // namespace dendrite::ica::detail
