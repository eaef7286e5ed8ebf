// SPDX-License-Identifier: MIT
/// @file
/// The O(D^2) matrix-vector kernels of the streaming ICA engines, for a D x D column-major
/// matrix of `T` (a float/double or an xsimd batch, one independent matrix per lane):
///   gemv     y = A x          (axpy over columns: vectorises over rows, or over lanes)
///   gemv_t   y = A^T x        (a dot product per column)
///   ger2     A += a b^T + c d^T
/// For a scalar `T` the dot products run in xsimd registers (a plain loop's reduction does not
/// vectorise without -ffast-math); for a batch `T` every lane is a separate matrix and the
/// loops vectorise over lanes. Internal.
#pragma once

#include <cstddef>

#include <xsimd/xsimd.hpp>

#include <dendrite/config.hpp>
#include <dendrite/core/math.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>

namespace dendrite::ica::detail {

template <Real T, int D>
DENDRITE_FORCE_INLINE void gemv(const T* a, const T* x, T* y) noexcept {
  constexpr std::size_t n = static_cast<std::size_t>(D);
  for (std::size_t i = 0; i < n; ++i) y[i] = T(0);
  for (std::size_t j = 0; j < n; ++j) {
    const T* aj = a + j * n;
    const T xj = x[j];
    for (std::size_t i = 0; i < n; ++i) y[i] = dendrite::fma(aj[i], xj, y[i]);
  }
}

template <Real T, int D>
DENDRITE_FORCE_INLINE void gemv_t(const T* a, const T* x, T* y) noexcept {
  constexpr std::size_t n = static_cast<std::size_t>(D);
  if constexpr (is_batch_v<T>) {
    for (std::size_t j = 0; j < n; ++j) {
      const T* aj = a + j * n;
      T s(0);
      for (std::size_t i = 0; i < n; ++i) s = dendrite::fma(aj[i], x[i], s);
      y[j] = s;
    }
  } else {
    // Each dot product in SIMD registers of this target's width (xsimd's default batch), two
    // accumulators deep, then one horizontal sum: the reduction a plain loop cannot vectorise.
    using V = xsimd::batch<T>;
    constexpr std::size_t w = V::size;
    constexpr std::size_t full = n / w * w;
    for (std::size_t j = 0; j < n; ++j) {
      const T* aj = a + j * n;
      V s0(T(0)), s1(T(0));
      std::size_t i = 0;
      for (; i + 2 * w <= full; i += 2 * w) {
        s0 = dendrite::fma(V::load_unaligned(aj + i), V::load_unaligned(x + i), s0);
        s1 = dendrite::fma(V::load_unaligned(aj + i + w), V::load_unaligned(x + i + w), s1);
      }
      for (; i < full; i += w) {
        s0 = dendrite::fma(V::load_unaligned(aj + i), V::load_unaligned(x + i), s0);
      }
      T s = reduce_add(s0 + s1);
      for (; i < n; ++i) s = dendrite::fma(aj[i], x[i], s);
      y[j] = s;
    }
  }
}

/// A(:, j) += a * b_j + c * d_j for every column j.
template <Real T, int D>
DENDRITE_FORCE_INLINE void ger2(T* m, const T* a, const T* b, const T* c, const T* d) noexcept {
  constexpr std::size_t n = static_cast<std::size_t>(D);
  for (std::size_t j = 0; j < n; ++j) {
    T* mj = m + j * n;
    const T bj = b[j];
    const T dj = d[j];
    for (std::size_t i = 0; i < n; ++i) mj[i] = dendrite::fma(a[i], bj, dendrite::fma(c[i], dj, mj[i]));
  }
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
    for (std::size_t i = full; i < n; ++i) out[i] = dendrite::tanh(y[i]);
  }
}

/// The dot product of two D-vectors, per lane.
template <Real T, int D>
[[nodiscard]] DENDRITE_FORCE_INLINE T dot(const T* a, const T* b) noexcept {
  T s(0);
  for (std::size_t i = 0; i < static_cast<std::size_t>(D); ++i) s = dendrite::fma(a[i], b[i], s);
  return s;
}

}  // namespace dendrite::ica::detail
