// SPDX-License-Identifier: MIT
/// @file
/// The gate nonlinearities of the recurrent steps (GRU, LSTM and their packed forms), on SIMD
/// batches. For double they are dendrite::sigmoid and dendrite::tanh (<= 3 ulp). For float they
/// trade the last ulps near zero for a third of the work, with the error stated absolutely, as
/// a gate uses it:
///   e^x        Cody-Waite: x clamped to [-87, 87], x = n ln2 + r with ln2 split in two parts so
///              that n ln2_hi is exact, |r| <= ln2 / 2, e^r by its Taylor series to r^7
///              (truncation < 6e-9 relative), 2^n written into the exponent bits
///   sigmoid(x) = 1 / (1 + e^-x): |error| <= 1.2e-7 everywhere, relative <= 2.4e-7 for x >= -80
///   tanh(x)    = 1 - 2 / (1 + e^2x): |error| <= 2.4e-7 everywhere (relative error grows as
///              |x| -> 0, where tanh x ~ x is smaller than the absolute bound)
/// The float GEMV that feeds a gate already carries rounding of about 1e-6 for 64 inputs of
/// unit size, so these bounds are below what the step can resolve. tests/core/test_math.cpp
/// checks them against long double on a dense grid and on random arguments (measured: sigmoid
/// 8.9e-8 absolute and 1.5e-7 relative, tanh 1.8e-7). NaN stays NaN; +-Inf give the limits.
#pragma once

#include <cstdint>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include <dendrite/config.hpp>
#include <dendrite/core/math.hpp>
#include <dendrite/core/traits.hpp>

namespace dendrite::nn::detail {

/// e^x for a float batch, x clamped to [-87, 87] (see the file comment).
template <class B>
[[nodiscard]] DENDRITE_FORCE_INLINE B gate_exp(B x) noexcept {
  using I = xsimd::batch<std::int32_t, typename B::arch_type>;
  // the constant first: minps/maxps return their second operand when one is NaN, so a NaN
  // lane stays NaN (and then so does the result)
  x = xsimd::min(B(87.0F), xsimd::max(B(-87.0F), x));
  const B n = xsimd::nearbyint(x * B(1.44269504088896341F));  // x / ln 2
  B r = xsimd::fma(n, B(-0.693145751953125F), x);             // ln2_hi: 16 significant bits
  r = xsimd::fma(n, B(-1.428606765330187e-06F), r);           // ln2_lo = ln 2 - ln2_hi
  B p = xsimd::fma(r, B(1.0F / 5040.0F), B(1.0F / 720.0F));
  p = xsimd::fma(p, r, B(1.0F / 120.0F));
  p = xsimd::fma(p, r, B(1.0F / 24.0F));
  p = xsimd::fma(p, r, B(1.0F / 6.0F));
  p = xsimd::fma(p, r, B(0.5F));
  p = xsimd::fma(p, r, B(1.0F));
  p = xsimd::fma(p, r, B(1.0F));
  const I e = (xsimd::to_int(n) + I(127)) << 23;  // 2^n, n in [-126, 126]: a normal number
  return p * xsimd::bitwise_cast<B>(e);
}

/// The sigmoid a gate applies (see the file comment).
template <class B>
[[nodiscard]] DENDRITE_FORCE_INLINE B gate_sigmoid(const B& x) noexcept {
  if constexpr (std::is_same_v<scalar_t<B>, float> && is_batch_v<B>) {
    const B one(1.0F);
    return one / (one + gate_exp(-x));
  } else {
    return dendrite::sigmoid(x);
  }
}

/// The tanh a gate applies (see the file comment).
template <class B>
[[nodiscard]] DENDRITE_FORCE_INLINE B gate_tanh(const B& x) noexcept {
  if constexpr (std::is_same_v<scalar_t<B>, float> && is_batch_v<B>) {
    const B one(1.0F);
    return one - B(2.0F) / (one + gate_exp(x + x));
  } else {
    return dendrite::tanh(x);
  }
}

}  // namespace dendrite::nn::detail
