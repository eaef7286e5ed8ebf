// SPDX-License-Identifier: MIT
/// @file
/// Fixed-size kernels shared by the real-time `step` of the nn blocks, written once for scalar
/// and batch `T`:
///   gemv_acc<R, C>(W, x, y)   y += W x, W an R x C column-major matrix of scalar_t<T>
///                             (an axpy per column: vectorised over rows for a scalar T, over
///                             lanes for a batch T)
///   vmap<N>(f, out, in...)    out[i] = f(in[i]...), for a scalar T in SIMD chunks of the
///                             machine's batch width (so the activations vectorise) plus a tail
#pragma once

#include <cstddef>

#include <dendrite/config.hpp>
#include <dendrite/core/math.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>

namespace dendrite::nn::detail {

template <class T, std::size_t R, std::size_t C>
DENDRITE_FORCE_INLINE void gemv_acc(const scalar_t<T>* w, const T* x, T* y) noexcept {
  for (std::size_t j = 0; j < C; ++j) {
    const T xj = x[j];
    const scalar_t<T>* col = w + j * R;
    for (std::size_t i = 0; i < R; ++i) {
      if constexpr (is_batch_v<T>) {
        y[i] = dendrite::fma(T(col[i]), xj, y[i]);
      } else {
        y[i] += col[i] * xj;  // left to the compiler, which vectorises it over i
      }
    }
  }
}

template <class T, std::size_t N, class F, class... In>
DENDRITE_FORCE_INLINE void vmap(F f, T* out, const In*... in) noexcept {
  std::size_t i = 0;
  if constexpr (!is_batch_v<T>) {
    using B = xsimd::batch<T>;
    constexpr std::size_t L = B::size;
    constexpr std::size_t full = N / L * L;
    for (; i < full; i += L) {
      f(B::load_unaligned(in + i)...).store_unaligned(out + i);
    }
  }
  for (; i < N; ++i) {
    out[i] = f(in[i]...);
  }
}

}  // namespace dendrite::nn::detail
