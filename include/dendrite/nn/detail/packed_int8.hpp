// SPDX-License-Identifier: MIT
/// @file
/// An R x C float matrix stored as int8 with one float scale per row, for a single-stream
/// y = b + W x whose input x is quantized to int8 at every call (dynamic quantization, as
/// PyTorch's `quantize_dynamic` does for its GRU and LSTM, here symmetric):
///
///   weights  m_i = max_j |w_ij|, s_i = m_i / 127, q_ij = round(127 w_ij / m_i)  (once, in double)
///   input    m = max_j |x_j|,    t = m / 127,     r_j = round(x_j (127 / m))   (per call, float)
///   y_i      = b_i + s_i t sum_j q_ij r_j,        q_ij and r_j in [-127, 127]
///
/// (round: to nearest, ties to even; an all-zero row or input has scale 0, and so does an input
/// whose largest magnitude is below the smallest normal float.)
///
/// The integer sum is exact (int32 on AVX512-VNNI and AVX2; float sums of integers elsewhere,
/// exact while every partial sum stays below 2^24, which C <= 1040 guarantees). So the only
/// errors are the two roundings, |s_i q_ij - w_ij| <= s_i / 2 and |t r_j - x_j| <= t / 2:
///
///   |y_i - (b_i + sum_j w_ij x_j)| <= (s_i / 2) sum_j |x_j| + (t / 2) sum_j |w_ij|
///                                     + C s_i t / 4    (+ float rounding of the last step)
///
/// Unlike bf16's relative 2^-8 per value, both roundings are relative to the largest value of
/// the row or of the input: a row with one large weight and many small ones, or an input with
/// one large value, loses the small ones' precision.
///
/// Layout: rows padded with zeros to whole SIMD batches of L rows and cut into blocks of up to
/// kGemvUnits batches (as PackedWeights); each block is stored column quad after column quad
/// (C padded to a multiple of 4 with zero columns), one 32-bit word per row holding the row's
/// 4 weights of the quad, column 4p + k in byte k.
///  - AVX512-VNNI (with 16-float batches): VPDPBUSD multiplies the 4 bytes of a word by 4
///    unsigned bytes and adds the 4 products to an int32 lane, so one instruction takes 64
///    weights. The input is stored as r_j + 128 (unsigned); each row's accumulator starts at
///    -128 sum_j q_ij, which removes the offset exactly.
///  - AVX-VNNI (AVX2 CPUs with the 256-bit VPDPBUSD: Alder Lake and later Intel clients,
///    -mavxvnni or -march=alderlake): as AVX512-VNNI, on 8-float batches, 32 weights in one
///    instruction.
///  - AVX2 (with 8-float batches): VPMADDUBSW multiplies |r_j| by the weight bytes with r_j's
///    sign moved onto them (VPSIGNB) and adds pairs to int16, which is exact: a pair is at most
///    2 127^2 = 32 258 < 2^15; VPMADDWD adds the pairs to int32. Four instructions (with the
///    sign and the int32 addition) for 32 weights.
///  - elsewhere (SSE2, AVX-512 without VNNI, and `AllowDot = false`): byte k of each word is
///    sign-extended by two shifts, converted to float and multiplied by r_{4p+k} in float.
///    Correct, but slower than the bf16 or float products on those targets.
#pragma once

#include <dendrite/core/detail/intrinsics_warnings_begin.hpp>  // GCC PR 105593

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include <xsimd/xsimd.hpp>

// The integer dot product of the target, for its float batch width: 16 with AVX512-VNNI
// (VPDPBUSD), 8 with AVX2 (VPDPBUSD with AVX-VNNI, else VPMADDUBSW + VPMADDWD); 0 elsewhere
// (the portable float path).
#if defined(__AVX512VNNI__) && defined(__AVX512F__) && defined(__AVX512BW__)
#include <immintrin.h>
#define DENDRITE_DETAIL_INT8_WIDTH 16
#elif defined(__AVX2__)
#include <immintrin.h>
#define DENDRITE_DETAIL_INT8_WIDTH 8
#else
#define DENDRITE_DETAIL_INT8_WIDTH 0
#endif
#if DENDRITE_DETAIL_INT8_WIDTH == 8 && defined(__AVXVNNI__)
#define DENDRITE_DETAIL_INT8_AVXVNNI 1
#else
#define DENDRITE_DETAIL_INT8_AVXVNNI 0
#endif

#include <dendrite/config.hpp>
#include <dendrite/core/bf16.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/f16.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/nn/detail/kernels.hpp>
#include <dendrite/nn/detail/packed_weights.hpp>

namespace dendrite::nn::detail {

#if DENDRITE_DETAIL_INT8_WIDTH != 0
/// The target's integer dot product of 4 bytes per 32-bit lane: acc_i + sum_k r_k q_ik, with
/// r the input quad (4 signed bytes, in [-127, 127]) broadcast to every lane and q_i a row's
/// 4 signed weights. AVX512-VNNI and AVX-VNNI (`vnni`): VPDPBUSD takes the input unsigned
/// (`quantize` stores r + 128), so the accumulator starts at -128 sum_k q_ik. AVX2: VPMADDUBSW
/// multiplies |r_k| (unsigned) by q_ik with r_k's sign moved onto it (VPSIGNB) and adds pairs
/// to int16 exactly (|r q| <= 127^2, a pair <= 32 258 < 2^15); VPMADDWD adds the pairs to int32.
struct Int8Dot {
#if DENDRITE_DETAIL_INT8_WIDTH == 16
  using reg = __m512i;
  using operand = __m512i;  // r + 128, unsigned
  static constexpr bool vnni = true;
  DENDRITE_FORCE_INLINE static reg load(const void* p) noexcept { return _mm512_loadu_si512(p); }
  DENDRITE_FORCE_INLINE static reg zero() noexcept { return _mm512_setzero_si512(); }
  DENDRITE_FORCE_INLINE static operand quad(std::uint32_t u) noexcept {
    return _mm512_set1_epi32(static_cast<int>(u));
  }
  DENDRITE_FORCE_INLINE static reg dot(reg acc, operand x, reg q) noexcept {
    return _mm512_dpbusd_epi32(acc, x, q);
  }
  /// The first n of 16 lanes.
  static constexpr __mmask16 first(std::size_t n) noexcept {
    return static_cast<__mmask16>((1U << n) - 1U);
  }
  /// Bytes r_j + 128, r_j = round(x_j inv) clamped to [-127, 127], for j < n (n <= 16), and 128
  /// (r = 0) up to 16, at out.
  DENDRITE_FORCE_INLINE static void quantize(const float* x, std::size_t n, float inv,
                                             std::uint32_t* out) noexcept {
    const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(first(n), x), _mm512_set1_ps(inv));
    const __m512 c = _mm512_min_ps(
        _mm512_max_ps(_mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC),
                      _mm512_set1_ps(-127.0F)),
        _mm512_set1_ps(127.0F));
    const __m512i u = _mm512_add_epi32(_mm512_cvtps_epi32(c), _mm512_set1_epi32(128));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm512_cvtepi32_epi8(u));
  }
#elif DENDRITE_DETAIL_INT8_AVXVNNI
  using reg = __m256i;
  using operand = __m256i;  // r + 128, unsigned
  static constexpr bool vnni = true;
  DENDRITE_FORCE_INLINE static reg load(const void* p) noexcept {
    return _mm256_loadu_si256(static_cast<const __m256i*>(p));
  }
  DENDRITE_FORCE_INLINE static reg zero() noexcept { return _mm256_setzero_si256(); }
  DENDRITE_FORCE_INLINE static operand quad(std::uint32_t u) noexcept {
    return _mm256_set1_epi32(static_cast<int>(u));
  }
  DENDRITE_FORCE_INLINE static reg dot(reg acc, operand x, reg q) noexcept {
    return _mm256_dpbusd_avx_epi32(acc, x, q);
  }
  /// Bytes r_j + 128, r_j = round(x_j inv) clamped to [-127, 127], for j < n (n <= 8), and 128
  /// (r = 0) up to 8, at out.
  DENDRITE_FORCE_INLINE static void quantize(const float* x, std::size_t n, float inv,
                                             std::uint32_t* out) noexcept {
    const __m256i u = _mm256_add_epi32(rounded(x, n, inv), _mm256_set1_epi32(128));
    // int32 -> int16 -> uint8 (1 to 255: no saturation) within each 128-bit half
    const __m256i b = _mm256_packus_epi16(_mm256_packs_epi32(u, u), _mm256_setzero_si256());
    out[0] = static_cast<std::uint32_t>(_mm256_extract_epi32(b, 0));
    out[1] = static_cast<std::uint32_t>(_mm256_extract_epi32(b, 4));
  }
#else
  using reg = __m256i;
  static constexpr bool vnni = false;
  struct operand {
    __m256i abs;   // |r|
    __m256i sign;  // r (VPSIGNB moves its sign onto q)
  };
  DENDRITE_FORCE_INLINE static reg load(const void* p) noexcept {
    return _mm256_loadu_si256(static_cast<const __m256i*>(p));
  }
  DENDRITE_FORCE_INLINE static reg zero() noexcept { return _mm256_setzero_si256(); }
  DENDRITE_FORCE_INLINE static operand quad(std::uint32_t r) noexcept {
    const __m256i v = _mm256_set1_epi32(static_cast<int>(r));
    return {_mm256_abs_epi8(v), v};
  }
  DENDRITE_FORCE_INLINE static reg dot(reg acc, const operand& x, reg q) noexcept {
    const __m256i p = _mm256_maddubs_epi16(x.abs, _mm256_sign_epi8(q, x.sign));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
  }
  /// Bytes r_j = round(x_j inv) clamped to [-127, 127] for j < n (n <= 8), 0 up to 8, at out.
  DENDRITE_FORCE_INLINE static void quantize(const float* x, std::size_t n, float inv,
                                             std::uint32_t* out) noexcept {
    const __m256i r = rounded(x, n, inv);
    // int32 -> int16 -> int8 within each 128-bit half: bytes 0-3 of each half hold 4 values
    const __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(r, r), _mm256_setzero_si256());
    out[0] = static_cast<std::uint32_t>(_mm256_extract_epi32(b, 0));
    out[1] = static_cast<std::uint32_t>(_mm256_extract_epi32(b, 4));
  }
#endif
#if DENDRITE_DETAIL_INT8_WIDTH == 8
  /// r_j = round(x_j inv) clamped to [-127, 127] as int32, for j < n (n <= 8), 0 up to 8.
  DENDRITE_FORCE_INLINE static __m256i rounded(const float* x, std::size_t n, float inv) noexcept {
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                                         _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256 v = _mm256_mul_ps(_mm256_maskload_ps(x, m), _mm256_set1_ps(inv));
    const __m256 c = _mm256_min_ps(
        _mm256_max_ps(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC),
                      _mm256_set1_ps(-127.0F)),
        _mm256_set1_ps(127.0F));
    return _mm256_cvtps_epi32(c);
  }
#endif
};
#endif

/// AllowDot = false keeps the portable float path on an AVX512-VNNI or AVX2 target too (the
/// benchmarks' baseline, and the tests of that path on such a machine).
template <std::size_t R, std::size_t C, bool AllowDot = true>
class Int8Weights {
  static_assert(R > 0 && C > 0 && C <= 1040, "Int8Weights: C must be in [1, 1040]");
  using V = xsimd::batch<float>;
  using I = xsimd::batch<std::int32_t, typename V::arch_type>;
  static constexpr std::size_t L = V::size;
  static constexpr bool kDot = AllowDot && DENDRITE_DETAIL_INT8_WIDTH == L;
  static constexpr std::size_t kQuads = (C + 3) / 4;
  static constexpr std::size_t kX = (C + L - 1) / L * L;  // the quantized input, padded

 public:
  /// The input is rounded too (to int8, at every call).
  static constexpr bool rounds_input = true;
  /// gemv<true> reads the weights backwards for the same result (the sums are exact).
  static constexpr bool any_order = true;
  /// R rounded up to whole SIMD batches: the length of b and y in gemv.
  static constexpr std::size_t rows = (R + L - 1) / L * L;

  Int8Weights() : words_(kWords, 0U), scale_(rows, 0.0F), offset_(rows, 0) {}

  /// Stores w (R x C, column-major) as int8 with a scale per row (the row's largest magnitude
  /// over 127; an all-zero row has scale 0). Throws dendrite::numerical_error on a non-finite
  /// weight.
  void pack(const float* w) {
    std::fill(words_.begin(), words_.end(), 0U);
    for (std::size_t i = 0; i < R; ++i) {
      double m = 0;
      for (std::size_t j = 0; j < C; ++j) {
        const float v = w[j * R + i];
        if (!std::isfinite(v)) {
          DENDRITE_THROW(numerical_error, "Int8Weights::pack: expected finite weights, got ", v,
                         " at (", i, ", ", j, ")");
        }
        m = std::max(m, std::abs(double(v)));
      }
      scale_[i] = float(m / 127);
      std::int32_t sum = 0;
      for (std::size_t j = 0; j < C; ++j) {
        const double q = m > 0 ? std::nearbyint(double(w[j * R + i]) * 127 / m) : 0.0;
        const auto b = static_cast<std::int8_t>(std::clamp(q, -127.0, 127.0));
        const auto [word, shift] = place(i, j);
        words_[word] |= std::uint32_t(std::uint8_t(b)) << shift;
        sum += b;
      }
      offset_[i] = -128 * sum;
    }
  }

  /// The stored value of W(i, j), s_i q_ij, as float.
  [[nodiscard]] float weight(std::size_t i, std::size_t j) const noexcept {
    return scale_[i] * float(quantum(i, j));
  }
  /// q_ij, the stored integer of W(i, j).
  [[nodiscard]] std::int8_t quantum(std::size_t i, std::size_t j) const noexcept {
    const auto [word, shift] = place(i, j);
    return static_cast<std::int8_t>(std::uint8_t(words_[word] >> shift));
  }
  /// s_i, the scale of row i.
  [[nodiscard]] float scale(std::size_t i) const noexcept { return scale_[i]; }

  /// t, the input's scale gemv uses for x: max_j |x_j| / 127, or 0 where that is 0 or below
  /// the smallest normal float.
  [[nodiscard]] static float input_scale(const float* x) noexcept {
    const float m = max_abs(x);
    return m >= std::numeric_limits<float>::min() ? m / 127.0F : 0.0F;
  }

  /// y = b + s t (q r), b and y of `rows` floats (the padded rows give b's values). x is read
  /// as C floats; a non-finite x gives an unspecified (but harmless) y. Reverse = true reads
  /// the weights in the opposite order, last word first, for the same result (the sums are
  /// exact): a caller that alternates the order finds the part it read last still in L1.
  /// Real-time safe.
  template <bool Reverse = false>
  DENDRITE_FORCE_INLINE void gemv(const float* __restrict x, const float* __restrict b,
                                  float* __restrict y) const noexcept {
    const float m = max_abs(x);
    const bool any = m >= std::numeric_limits<float>::min();
    const float inv = any ? 127.0F / m : 0.0F, t = any ? m / 127.0F : 0.0F;
#if DENDRITE_DETAIL_INT8_WIDTH != 0
    if constexpr (kDot) {
      // NOLINTNEXTLINE(*-avoid-c-arrays): the quantized input, bytes as Int8Dot::quantize stores
      alignas(64) std::uint32_t xw[kX / 4];
      for (std::size_t j = 0; j < kX; j += L) {
        Int8Dot::quantize(x + j, std::min<std::size_t>(L, C - j), inv, xw + j / 4);
      }
      for_blocks<Reverse>([&]<std::size_t NB>(std::size_t blk) DENDRITE_FORCE_INLINE_LAMBDA {
        block_dot<NB, Reverse>(words_.data() + blk * kBlockWords, blk * kBlock * L, xw, t, b, y);
      });
      return;
    }
#endif
    alignas(64) float xr[kQuads * 4];  // NOLINT(*-avoid-c-arrays): r_j, zero-padded
    for (std::size_t j = 0; j < C; ++j) {
      xr[j] = std::clamp(std::nearbyint(x[j] * inv), -127.0F, 127.0F);
    }
    for (std::size_t j = C; j < kQuads * 4; ++j) xr[j] = 0.0F;
    for_blocks<Reverse>([&]<std::size_t NB>(std::size_t blk) DENDRITE_FORCE_INLINE_LAMBDA {
      block<NB, Reverse>(words_.data() + blk * kBlockWords, blk * kBlock * L, xr, t, b, y);
    });
  }

  /// Bytes of weights, scales and row offsets one gemv reads.
  static constexpr std::size_t bytes() noexcept {
    return sizeof(std::uint32_t) * kWords + (sizeof(float) + sizeof(std::int32_t)) * rows;
  }

 private:
  static constexpr std::size_t kBlock = kGemvUnits;
  static constexpr std::size_t kUnits = rows / L;
  static constexpr std::size_t kFull = kUnits / kBlock;
  static constexpr std::size_t kRest = kUnits - kFull * kBlock;
  static constexpr std::size_t kBlockWords = kBlock * L * kQuads;  // a full block
  static constexpr std::size_t kWords = rows * kQuads;

  // (word index, bit shift) of W(i, j)
  static constexpr std::pair<std::size_t, unsigned> place(std::size_t i, std::size_t j) noexcept {
    const std::size_t blk = i / (kBlock * L), r = i % (kBlock * L);
    const std::size_t units = blk < kFull ? kBlock : kRest;
    return {blk * kBlockWords + j / 4 * (units * L) + r, unsigned(8 * (j % 4))};
  }

  // f.template operator()<NB>(blk) for every block: the full ones (NB = kBlock), then the rest
  // (NB = kRest), or the other way round
  template <bool Reverse, class F>
  DENDRITE_FORCE_INLINE static void for_blocks(F f) noexcept {
    if constexpr (Reverse) {
      if constexpr (kRest > 0) f.template operator()<kRest>(kFull);
      for (std::size_t blk = kFull; blk-- > 0;) f.template operator()<kBlock>(blk);
    } else {
      for (std::size_t blk = 0; blk < kFull; ++blk) f.template operator()<kBlock>(blk);
      if constexpr (kRest > 0) f.template operator()<kRest>(kFull);
    }
  }

  // the p-th column quad a pass reads
  template <bool Reverse>
  static constexpr std::size_t quad(std::size_t i) noexcept {
    return Reverse ? kQuads - 1 - i : i;
  }

  // max_j |x_j| (a NaN may or may not propagate: the caller rejects such an input)
  DENDRITE_FORCE_INLINE static float max_abs(const float* x) noexcept {
    float m = 0.0F;
#if DENDRITE_DETAIL_INT8_WIDTH == 16
    if constexpr (kDot) {
      __m512 a = _mm512_setzero_ps();
      for (std::size_t j = 0; j < kX; j += 16) {
        const __mmask16 live = Int8Dot::first(std::min<std::size_t>(16, C - j));
        a = _mm512_max_ps(a, _mm512_abs_ps(_mm512_maskz_loadu_ps(live, x + j)));
      }
      return _mm512_reduce_max_ps(a);
    }
#endif
    if constexpr (C >= L) {
      V a(0.0F);
      dendrite::detail::for_each_chunk<L, C>([&](std::size_t j) DENDRITE_FORCE_INLINE_LAMBDA {
        a = xsimd::max(a, xsimd::abs(V::load_unaligned(x + j)));
      });
      m = dendrite::reduce_max(a);
    } else {
      for (std::size_t j = 0; j < C; ++j) m = std::max(m, std::abs(x[j]));
    }
    return m;
  }

  // NB batches of rows from `row`, the portable path: float products of the sign-extended bytes
  template <std::size_t NB, bool Reverse>
  DENDRITE_FORCE_INLINE void block(const std::uint32_t* w, std::size_t row, const float* xr,
                                   float t, const float* b, float* y) const noexcept {
    constexpr std::size_t stride = NB * L;  // words per column quad of this block
    V acc[NB];  // NOLINT(*-avoid-c-arrays)
    for (std::size_t k = 0; k < NB; ++k) acc[k] = V(0.0F);
    for (std::size_t i = 0; i < kQuads; ++i) {
      const std::size_t p = quad<Reverse>(i);
      const V x0(xr[4 * p]), x1(xr[4 * p + 1]), x2(xr[4 * p + 2]), x3(xr[4 * p + 3]);
      const std::uint32_t* col = w + p * stride;
#pragma GCC unroll 16
      for (std::size_t k = 0; k < NB; ++k) {
        const I u = xsimd::bitwise_cast<I>(
            xsimd::batch<std::uint32_t, typename V::arch_type>::load_unaligned(col + k * L));
        acc[k] = dendrite::fma(xsimd::batch_cast<float>(I(u << 24) >> 24), x0, acc[k]);
        acc[k] = dendrite::fma(xsimd::batch_cast<float>(I(u << 16) >> 24), x1, acc[k]);
        acc[k] = dendrite::fma(xsimd::batch_cast<float>(I(u << 8) >> 24), x2, acc[k]);
        acc[k] = dendrite::fma(xsimd::batch_cast<float>(u >> 24), x3, acc[k]);
      }
    }
    for (std::size_t k = 0; k < NB; ++k) {
      const V st = V::load_unaligned(scale_.data() + row + k * L) * V(t);
      const V yk = dendrite::fma(acc[k], st, V::load_unaligned(b + row + k * L));
      yk.store_unaligned(y + row + k * L);
    }
  }

#if DENDRITE_DETAIL_INT8_WIDTH != 0
  // NB registers of rows from `row`: int32 sums of the target's dot product over the quads
  template <std::size_t NB, bool Reverse>
  DENDRITE_FORCE_INLINE void block_dot(const std::uint32_t* w, std::size_t row,
                                       const std::uint32_t* xw, float t, const float* b,
                                       float* y) const noexcept {
    constexpr std::size_t stride = NB * L;  // words per column quad of this block
    Int8Dot::reg acc[NB];                   // NOLINT(*-avoid-c-arrays)
    // unrolled: g++ 12 made this loop a copy to the stack in 256-bit stores, which the 512-bit
    // reads of the accumulators then waited on (int8 GRU 16 with g++: 89-92 -> 72-75 ns)
#pragma GCC unroll 16
    for (std::size_t k = 0; k < NB; ++k) {
      acc[k] = Int8Dot::vnni ? Int8Dot::load(offset_.data() + row + k * L) : Int8Dot::zero();
    }
    for (std::size_t i = 0; i < kQuads; ++i) {
      const std::size_t p = quad<Reverse>(i);
      const Int8Dot::operand xq = Int8Dot::quad(xw[p]);
      const std::uint32_t* col = w + p * stride;
#pragma GCC unroll 16
      for (std::size_t k = 0; k < NB; ++k) {
        acc[k] = Int8Dot::dot(acc[k], xq, Int8Dot::load(col + k * L));
      }
    }
    for (std::size_t k = 0; k < NB; ++k) {
      const V st = V::load_unaligned(scale_.data() + row + k * L) * V(t);
      const V yk = dendrite::fma(xsimd::batch_cast<float>(I(acc[k])), st,
                                 V::load_unaligned(b + row + k * L));
      yk.store_unaligned(y + row + k * L);
    }
  }
#endif

  // on whole cache lines, so that no batch load crosses one (see PackedWeights)
  aligned_vector<std::uint32_t> words_;
  aligned_vector<float> scale_;          // s_i (0 on the padded rows)
  aligned_vector<std::int32_t> offset_;  // -128 sum_j q_ij: removes VPDPBUSD's unsigned offset
};

/// Whether `packed_weights_t` stores weights of this type: float, bf16 or f16 (PackedWeights),
/// or std::int8_t (Int8Weights). What the packed blocks' static_asserts check.
template <class Weight>
inline constexpr bool is_packed_weight_v =
    std::is_same_v<Weight, float> || std::is_same_v<Weight, bf16> ||
    std::is_same_v<Weight, f16> || std::is_same_v<Weight, std::int8_t>;

/// The storage of a packed product for a weight type: float, bf16 or f16 (PackedWeights), or
/// std::int8_t (Int8Weights).
template <class Weight, std::size_t R, std::size_t C>
using packed_weights_t = std::conditional_t<std::is_same_v<Weight, std::int8_t>, Int8Weights<R, C>,
                                            PackedWeights<Weight, R, C>>;

/// y1 = b1 + P1 x1 and y2 = b2 + P2 x2, two packed products of one step. Where both storages
/// give the same result in either order (`any_order`, int8), every other call reads them
/// backwards (P2 first, each from its last word), as `backwards` says and toggles: a call then
/// starts on the weights the last one read last, still in L1 where all of them do not fit.
/// Elsewhere (float, bf16: the order of their float sums is the result's) always forwards.
template <class P1, class P2>
DENDRITE_FORCE_INLINE void gemv_pair(bool& backwards, const P1& p1, const float* x1,
                                     const float* b1, float* y1, const P2& p2, const float* x2,
                                     const float* b2, float* y2) noexcept {
  if constexpr (P1::any_order && P2::any_order) {
    if (backwards) {
      p2.template gemv<true>(x2, b2, y2);
      p1.template gemv<true>(x1, b1, y1);
    } else {
      p1.gemv(x1, b1, y1);
      p2.gemv(x2, b2, y2);
    }
    backwards = !backwards;
  } else {
    p1.gemv(x1, b1, y1);
    p2.gemv(x2, b2, y2);
  }
}

}  // namespace dendrite::nn::detail

#include <dendrite/core/detail/intrinsics_warnings_end.hpp>
