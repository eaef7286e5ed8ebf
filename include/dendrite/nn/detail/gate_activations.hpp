// SPDX-License-Identifier: MIT
/// @file
/// The gate nonlinearities of the recurrent steps (GRU, LSTM and their packed forms), on SIMD
/// batches. For double they are dendrite::sigmoid and dendrite::tanh (<= 3 ulp). For float they
/// trade the last ulps for a gate's latency, with the error stated absolutely, as a gate uses it:
///   tanh(x)    = x P(x^2) / Q(x^2) for |x| < 9, sign(x) from there. P and Q have degree 4 in x^2
///              and P(0) = Q(0) = 1 (so tanh x ~ x keeps its relative accuracy near 0); their
///              coefficients are our rational minimax fit of tanh on [0, 9] (weighted least
///              squares with Lawson's reweighting, in long double: |fit error| <= 2.1e-8, and
///              1 - tanh 9 = 3.0e-8). Estrin's order makes the chain y = x^2, y^2, y^4, an FMA,
///              x P and the division: about 30 cycles, where e^x and 1 / (1 + e^-x) took about 50.
///   sigmoid(x) = 1/2 + tanh(x / 2) / 2
///   |error| <= 4.5e-7 for tanh (relative too, everywhere), <= 2.5e-7 for sigmoid (absolute
///   only: its relative error grows as sigmoid(x) -> 0 for x -> -inf, and from x = -18 on the
///   result is exactly 0)
/// The bounds hold over every float below 20 in magnitude, checked one by one against long
/// double (largest: tanh 3.6e-7 with FMA, 4.1e-7 on SSE2 without it; sigmoid 2.1e-7 and 2.3e-7);
/// beyond 20 the results are the limits. Most of the error is the float evaluation of P and Q
/// (2.8e-7 of it on a dense grid), not the fit. The float GEMV that feeds a gate already carries
/// rounding of about 1e-6 for 64 inputs of unit size, so these bounds are below what the step
/// can resolve. tests/core/test_math.cpp checks them on a dense grid and on random arguments.
/// NaN stays NaN (the final select keeps the quotient, which carries it); +-Inf give the limits
/// exactly.
/// Before 2026-12-03 the float gates went through e^x (Cody-Waite reduction, its Taylor series to
/// r^7 in Estrin's order, then a division): more accurate (sigmoid 8.9e-8, tanh 1.8e-7), but its
/// chain set the time of the small steps. The rational form took LSTM 8's step from 72 to 58 ns,
/// LSTM 16's from 121 to 111, GRU 8's from 64 to 59 and GRU 32's from 199-207 to 187-188 on an
/// AVX2 Zen 3 core (bench/README.md). A refined reciprocal (VRCP14PS and a Newton step) in place
/// of the division broke even the e^x form's bounds and is not used.
#pragma once

#include <array>
#include <cstddef>
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

/// P(y) and Q(y) of the tanh fit (see the file comment) for K float batches, in Estrin's order:
/// (1 + c1 y) + y^2 (c2 + c3 y) + y^4 c4, a chain of 3 products and 2 FMAs. y is x^2 + 1e-7,
/// not x^2: with y = x^2, every |x| in [2e-6, 3e-5] made y^4 a subnormal number (and [3e-12,
/// 3e-10] y^2), and each such result costs a microcode assist: a gate took 35x its time
/// (150 ns instead of 4.5 for 16 lanes on AVX-512), a latency spike whenever a pre-activation
/// came that close to 0. With the offset y^4 >= 1e-28, and c4 y^4 >= 1.3e-36 where a target
/// without FMA rounds that product on its own: all normal. P / Q moves by (p1 - q1) 1e-7 =
/// 3.3e-8 relative, half a float ulp, inside the stated bounds. The sums are FMAs
/// (dendrite::fma: fused on every FMA target whatever the compiler's contraction setting; xsimd
/// 8.1 leaves AVX-512's to it).
template <class B, std::size_t K>
DENDRITE_FORCE_INLINE void tanh_pq(const std::array<B, K>& x, std::array<B, K>& p,
                                   std::array<B, K>& q) noexcept {
  // the minimax fit's coefficients (p0 = q0 = 1), in powers of y = x^2
  const B p1(1.338031228502e-01F), p2(3.494751962578e-03F), p3(2.059597389666e-05F),
      p4(1.333789815020e-08F);
  const B q1(4.671362971042e-01F), q2(2.587376795401e-02F), q3(3.284293878702e-04F),
      q4(7.769394373095e-07F);
  const B one(1.0F);
  std::array<B, K> y, y2;
  for (std::size_t k = 0; k < K; ++k) y[k] = dendrite::fma(x[k], x[k], B(1e-7F));
  for (std::size_t k = 0; k < K; ++k) y2[k] = y[k] * y[k];
  for (std::size_t k = 0; k < K; ++k) {
    p[k] = dendrite::fma(y2[k], dendrite::fma(y[k], p3, p2), dendrite::fma(y[k], p1, one));
    q[k] = dendrite::fma(y2[k], dendrite::fma(y[k], q3, q2), dendrite::fma(y[k], q1, one));
  }
  for (std::size_t k = 0; k < K; ++k) {
    const B y4 = y2[k] * y2[k];
    p[k] = dendrite::fma(y4, p4, p[k]);
    q[k] = dendrite::fma(y4, q4, q[k]);
  }
}

/// t = tanh of K float batches, interleaved (see the file comment): x P(x^2) / Q(x^2) below 9
/// in magnitude, +-1 from there (a select at the end, so that a NaN lane stays NaN: the
/// comparison is false for it, and the quotient carries it). t may be x. Into t, not returned:
/// g++ 12 assigned a returned array to its destination in 256-bit pieces, and the 512-bit reads
/// after that waited for them to reach the cache (`LSTM<float>` 64 with g++: 16 such reads).
template <class B, std::size_t K>
DENDRITE_FORCE_INLINE void gate_tanh_float(const std::array<B, K>& x,
                                           std::array<B, K>& t) noexcept {
  const B one(1.0F);
  std::array<B, K> p, q, r;
  tanh_pq(x, p, q);
  for (std::size_t k = 0; k < K; ++k) r[k] = (x[k] * p[k]) / q[k];
  for (std::size_t k = 0; k < K; ++k) {
    t[k] = xsimd::select(xsimd::abs(x[k]) >= B(9.0F), xsimd::copysign(one, x[k]), r[k]);
  }
}

/// The sigmoid a gate applies to K batches at once, interleaved.
template <class B, std::size_t K>
[[nodiscard]] DENDRITE_FORCE_INLINE Interleaved<B, K> gate_sigmoid(
    const Interleaved<B, K>& x) noexcept {
  Interleaved<B, K> out;
  if constexpr (std::is_same_v<scalar_t<B>, float> && is_batch_v<B>) {
    for (std::size_t k = 0; k < K; ++k) out.v[k] = x.v[k] * B(0.5F);
    gate_tanh_float(out.v, out.v);  // sigmoid(x) = 1/2 + tanh(x / 2) / 2
    for (std::size_t k = 0; k < K; ++k) out.v[k] = dendrite::fma(out.v[k], B(0.5F), B(0.5F));
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
    gate_tanh_float(x.v, out.v);
  } else {
    for (std::size_t k = 0; k < K; ++k) out.v[k] = dendrite::tanh(x.v[k]);
  }
  return out;
}

/// The GRU's new state h' = n + z (h - n), n = tanh(a_n), z = sigmoid(a_z), for K float batches
/// with one division instead of the two of gate_tanh and gate_sigmoid: with n = v P(v) / Q(v)
/// and z = (Q(u) + u P(u)) / (2 Q(u)), v = a_n and u = a_z / 2 clamped to the fit's range
/// [-9, 9] (where tanh 9 = 1 - 3.0e-8),
///   h' = (2 Q_u N_n + N_z (h Q_v - N_n)) / (2 Q_u Q_v),  N_n = v P_v,  N_z = Q_u + u P_u.
/// Q lies in [1, 420] there, so nothing overflows for |h| below 1e35. |error| <= (1 - z) 4.5e-7
/// + |h - n| 2.5e-7 + 2.5e-7: the gates' bounds carried through the blend, and the blend's
/// roundings (tests/core/test_math.cpp checks it point by point against long double). A NaN
/// argument gives NaN (the clamp keeps it: x86's max and min return their second operand when
/// either is NaN). The many-stream GRU steps use it (gru_update): their gates are bound by the
/// divider's throughput (a 16-lane division issues once in several cycles), and this took the
/// 16-lane gates of a 128-unit GRU from 2.9-3.2 to 2.4-2.6 µs on the AVX-512 VM, those of a
/// 32-unit GRU from 538 to 440 ns (bench/README.md). The
/// one-stream steps keep gate_tanh and gate_sigmoid: they wait on the chain's latency, which
/// this form does not shorten (the LSTM's analogue was slower there).
template <class B, std::size_t K>
[[nodiscard]] DENDRITE_FORCE_INLINE Interleaved<B, K> gru_state_float(
    const Interleaved<B, K>& an, const Interleaved<B, K>& az,
    const Interleaved<B, K>& h) noexcept {
  std::array<B, K> v, u, pv, qv, pu, qu;
  for (std::size_t k = 0; k < K; ++k) {
    v[k] = xsimd::min(B(9.0F), xsimd::max(B(-9.0F), an.v[k]));
    u[k] = xsimd::min(B(9.0F), xsimd::max(B(-9.0F), az.v[k] * B(0.5F)));
  }
  tanh_pq(v, pv, qv);
  tanh_pq(u, pu, qu);
  Interleaved<B, K> out;
  for (std::size_t k = 0; k < K; ++k) {
    const B nn = v[k] * pv[k];
    const B nz = dendrite::fma(u[k], pu[k], qu[k]);
    const B q2 = qu[k] + qu[k];
    const B num = dendrite::fma(nz, dendrite::fma(h.v[k], qv[k], -nn), nn * q2);
    out.v[k] = num / (q2 * qv[k]);
  }
  return out;
}

/// gru_state_float of one batch.
template <class B>
[[nodiscard]] DENDRITE_FORCE_INLINE B gru_state_float(const B& an, const B& az,
                                                      const B& h) noexcept {
  return gru_state_float(Interleaved<B, 1>{{an}}, Interleaved<B, 1>{{az}},
                         Interleaved<B, 1>{{h}})
      .v[0];
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
