// SPDX-License-Identifier: MIT
/// @file
/// The gate nonlinearities of the recurrent steps (GRU, LSTM and their packed forms), on SIMD
/// batches. For double they are dendrite::sigmoid and dendrite::tanh (<= 3 ulp). For float they
/// trade the last ulps near zero for a third of the work, with the error stated absolutely, as
/// a gate uses it:
///   e^x        Cody-Waite: x clamped to [-87, 87], x = n ln2 + r with ln2 split in two parts so
///              that n ln2_hi is exact, |r| <= ln2 / 2, e^r by its Taylor series to r^7
///              (truncation < 6e-9 relative) in Estrin's order (a chain of 4 FMAs where
///              Horner's is 7: a lone gate is bound by its latency), 2^n written into the
///              exponent bits
///   sigmoid(x) = 1 / (1 + e^-x): |error| <= 1.2e-7 everywhere, relative <= 2.4e-7 for x >= -80
///   tanh(x)    = 1 - 2 / (1 + e^2x): |error| <= 2.4e-7 everywhere (relative error grows as
///              |x| -> 0, where tanh x ~ x is smaller than the absolute bound)
/// The float GEMV that feeds a gate already carries rounding of about 1e-6 for 64 inputs of
/// unit size, so these bounds are below what the step can resolve. tests/core/test_math.cpp
/// checks them against long double on a dense grid and on random arguments (measured: sigmoid
/// 8.9e-8 absolute and 2.2e-7 relative, tanh 1.8e-7; Horner's order gave 1.5e-7 relative). NaN
/// stays NaN; +-Inf give the limits. A refined reciprocal (VRCP14PS and a Newton step) in place
/// of the division broke these bounds (1.4e-7 absolute, tanh 2.9e-7) and is not used.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include <dendrite/config.hpp>
#include <dendrite/core/math.hpp>
#include <dendrite/core/traits.hpp>

namespace dendrite::nn::detail {

/// K independent batches that go through the gate arithmetic together, operation by operation,
/// so that their dependency chains interleave in program order. A gate is a chain of about 30
/// dependent operations (the exponential's polynomial, the division); one chain at a time keeps
/// the out-of-order core waiting on latency, with its scheduler full of the same chain's
/// operations. The recurrent steps' elementwise updates run on these (see vmap's K), which took
/// the 16-lane gates of a 64-unit GRU from 1.8 to 1.4 us (bench/README.md). Each batch gets
/// the same operations as alone: the results are bit for bit those of one batch at a time.
template <class B, std::size_t K>
struct Interleaved {
  std::array<B, K> v;

#define DENDRITE_DETAIL_INTERLEAVED_OP(op)                                                     \
  [[nodiscard]] friend DENDRITE_FORCE_INLINE Interleaved operator op(const Interleaved& a,     \
                                                                     const Interleaved& b) {   \
    Interleaved r;                                                                             \
    for (std::size_t k = 0; k < K; ++k) r.v[k] = a.v[k] op b.v[k];                              \
    return r;                                                                                  \
  }
  DENDRITE_DETAIL_INTERLEAVED_OP(+)
  DENDRITE_DETAIL_INTERLEAVED_OP(-)
  DENDRITE_DETAIL_INTERLEAVED_OP(*)
#undef DENDRITE_DETAIL_INTERLEAVED_OP
  [[nodiscard]] friend DENDRITE_FORCE_INLINE Interleaved operator-(const Interleaved& a) {
    Interleaved r;
    for (std::size_t k = 0; k < K; ++k) r.v[k] = -a.v[k];
    return r;
  }
};

/// e^x of K float batches, x clamped to [-87, 87] (see the file comment), interleaved.
template <class B, std::size_t K>
[[nodiscard]] DENDRITE_FORCE_INLINE std::array<B, K> gate_exp(std::array<B, K> x) noexcept {
  using I = xsimd::batch<std::int32_t, typename B::arch_type>;
  // t = x / ln 2 + 1.5 2^23 rounds x / ln 2 to the nearest integer n in one FMA, and leaves n in
  // t's low mantissa bits; n = t - 1.5 2^23
  const B magic(12582912.0F);
  std::array<B, K> t, r, p;
  // the constant first: minps/maxps return their second operand when one is NaN, so a NaN
  // lane stays NaN (and then so does the result)
  for (std::size_t k = 0; k < K; ++k) x[k] = xsimd::min(B(87.0F), xsimd::max(B(-87.0F), x[k]));
  for (std::size_t k = 0; k < K; ++k) t[k] = xsimd::fma(x[k], B(1.44269504088896341F), magic);
  for (std::size_t k = 0; k < K; ++k) {
    const B n = t[k] - magic;
    r[k] = xsimd::fma(n, B(-0.693145751953125F), x[k]);  // ln2_hi: 16 significant bits
    r[k] = xsimd::fma(n, B(-1.428606765330187e-06F), r[k]);  // ln2_lo = ln 2 - ln2_hi
  }
  // e^r to r^7 by Estrin's scheme (depth 4 instead of Horner's 7):
  // (1 + r) + r^2 (1/2 + r/6) + r^4 ((1/24 + r/120) + r^2 (1/720 + r/5040))
  for (std::size_t k = 0; k < K; ++k) {
    const B r2 = r[k] * r[k];
    const B lo = xsimd::fma(r2, xsimd::fma(r[k], B(1.0F / 6.0F), B(0.5F)), r[k] + B(1.0F));
    const B hi = xsimd::fma(r2, xsimd::fma(r[k], B(1.0F / 5040.0F), B(1.0F / 720.0F)),
                            xsimd::fma(r[k], B(1.0F / 120.0F), B(1.0F / 24.0F)));
    p[k] = xsimd::fma(r2 * r2, hi, lo);
  }
  for (std::size_t k = 0; k < K; ++k) {
    // 2^n from t's bits: (n + 127) << 23 (the magic's own bits shift out), n in [-126, 126]
    const I e = (xsimd::bitwise_cast<I>(t[k]) + I(127)) << 23;
    p[k] = p[k] * xsimd::bitwise_cast<B>(e);
  }
  return p;
}

/// e^x for a float batch (see the file comment).
template <class B>
[[nodiscard]] DENDRITE_FORCE_INLINE B gate_exp(B x) noexcept {
  return gate_exp(std::array<B, 1>{x})[0];
}

/// The sigmoid a gate applies to K batches at once, interleaved.
template <class B, std::size_t K>
[[nodiscard]] DENDRITE_FORCE_INLINE Interleaved<B, K> gate_sigmoid(
    const Interleaved<B, K>& x) noexcept {
  Interleaved<B, K> out;
  if constexpr (std::is_same_v<scalar_t<B>, float> && is_batch_v<B>) {
    out.v = gate_exp((-x).v);
    for (std::size_t k = 0; k < K; ++k) out.v[k] = B(1.0F) / (B(1.0F) + out.v[k]);
  } else {
    for (std::size_t k = 0; k < K; ++k) out.v[k] = dendrite::sigmoid(x.v[k]);
  }
  return out;
}

/// The tanh a gate applies to K batches at once, interleaved.
template <class B, std::size_t K>
[[nodiscard]] DENDRITE_FORCE_INLINE Interleaved<B, K> gate_tanh(
    const Interleaved<B, K>& x) noexcept {
  Interleaved<B, K> out;
  if constexpr (std::is_same_v<scalar_t<B>, float> && is_batch_v<B>) {
    out.v = gate_exp((x + x).v);
    for (std::size_t k = 0; k < K; ++k) out.v[k] = B(1.0F) - B(2.0F) / (B(1.0F) + out.v[k]);
  } else {
    for (std::size_t k = 0; k < K; ++k) out.v[k] = dendrite::tanh(x.v[k]);
  }
  return out;
}

/// The sigmoid a gate applies (see the file comment).
template <class B>
[[nodiscard]] DENDRITE_FORCE_INLINE B gate_sigmoid(const B& x) noexcept {
  return gate_sigmoid(Interleaved<B, 1>{{x}}).v[0];
}

/// The tanh a gate applies (see the file comment).
template <class B>
[[nodiscard]] DENDRITE_FORCE_INLINE B gate_tanh(const B& x) noexcept {
  return gate_tanh(Interleaved<B, 1>{{x}}).v[0];
}

}  // namespace dendrite::nn::detail
