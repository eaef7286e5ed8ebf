// SPDX-License-Identifier: MIT
/// @file
/// An R x C float matrix stored for a single-stream y = b + W x, as float, as bf16 or as f16
/// (IEEE half; the arithmetic is float in every case). Rows are padded with zeros to a whole
/// number of groups and cut into blocks of up to kGemvUnits SIMD batches of rows (64 rows on
/// AVX2, 256 on AVX-512), the register-held accumulators of one pass (see gemv_rows); each
/// block is stored column after column, so a pass reads its block's weights in one sequential
/// stream. Within a column of a block:
///  - float: a group is one SIMD batch of L = xsimd::batch<float>::size rows, in order;
///  - bf16, and f16 without F16C: a group is 2L rows in L 32-bit words, word i of group g
///    holding row 2Lg + i in its low half and row 2Lg + L + i in its high half. One load of L
///    words then gives two batches of 16-bit values in the top halves of 32-bit lanes by
///    integer operations only: (word << 16) and (word & 0xffff0000). For bf16 that is the whole
///    conversion to float on every target (SSE2, AVX2, AVX-512), and it halves the bytes the
///    product reads. For f16 the conversion goes on from there: the magnitude's bits shifted
///    into a float's exponent and mantissa fields, the exponent rebiased by an integer add
///    (normal values), or the 10-bit mantissa converted as an integer and scaled by 2^-24
///    (subnormal values: no float subnormal is formed, so a host that sets DAZ/FTZ reads the
///    same weights), then the sign.
///  - f16 on a target with F16C (every AVX2 processor): a group is one batch of L rows as L
///    halves in order, widened by VCVTPH2PS (exact, one instruction per batch).
///  - bf16 on a target with AVX512-BF16 (`rounds_input`): the product runs on VDPBF16PS, which
///    multiplies pairs of bf16 and accumulates in float: a group is one 16-word register of
///    rows, word i holding W(row i, 2p) in its low half and W(row i, 2p + 1) in its high half
///    for the column pair p (C padded to even with a zero column). The input is rounded to bf16
///    (VCVTNE2PS2BF16, to nearest, ties to even) once per product. Each product w x then
///    carries both roundings: |w~ x~ - w x| <= (2 u + u^2) |w| |x| with u = 2^-8, twice the
///    weights-only bound of the other targets.
#pragma once

#include <dendrite/core/detail/intrinsics_warnings_begin.hpp>  // GCC PR 105593 (VCVTPH2PS)

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include <xsimd/xsimd.hpp>

#if defined(__AVX512BF16__) && defined(__AVX512F__)
#include <immintrin.h>
#define DENDRITE_DETAIL_HAVE_DPBF16 1
#else
#define DENDRITE_DETAIL_HAVE_DPBF16 0
#endif

#if defined(__F16C__)
#include <immintrin.h>
#define DENDRITE_DETAIL_HAVE_F16C 1
#else
#define DENDRITE_DETAIL_HAVE_F16C 0
#endif

#include <dendrite/config.hpp>
#include <dendrite/core/bf16.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/f16.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/nn/detail/kernels.hpp>

namespace dendrite::nn::detail {

/// AllowDot = false keeps the portable integer paths on every target (bf16's shift where
/// AVX512-BF16 is, f16's widening where F16C is): the benchmarks' baseline and a test of them.
template <class Weight, std::size_t R, std::size_t C, bool AllowDot = true>
class PackedWeights {
  static_assert(std::is_same_v<Weight, float> || std::is_same_v<Weight, bf16> ||
                    std::is_same_v<Weight, f16>,
                "PackedWeights: the storage is float, bf16 or f16");
  using V = xsimd::batch<float>;
  using U = xsimd::batch<std::uint32_t, typename V::arch_type>;
  using I32 = xsimd::batch<std::int32_t, typename V::arch_type>;
  static constexpr bool kBf16 = std::is_same_v<Weight, bf16>;
  static constexpr bool kF16 = std::is_same_v<Weight, f16>;
  static constexpr std::size_t L = V::size;
  // bf16 pairs of columns on VDPBF16PS (xsimd's batch must be the 16-float AVX-512 register)
  static constexpr bool kDot = AllowDot && kBf16 && DENDRITE_DETAIL_HAVE_DPBF16 != 0 && L == 16;
  // f16 batches widened by VCVTPH2PS (F16C implies AVX: xsimd's batch is one __m256 or __m512)
  static constexpr bool kF16c =
      AllowDot && kF16 && DENDRITE_DETAIL_HAVE_F16C != 0 && (L == 8 || L == 16);
  // two rows of 16-bit values per 32-bit word (see the file comment)
  static constexpr bool kPaired = (kBf16 && !kDot) || (kF16 && !kF16c);
  static constexpr std::size_t kGroup = kPaired ? 2 * L : L;
  static constexpr std::size_t kCols = kDot ? (C + 1) / 2 * 2 : C;  // C padded to even (kDot)

 public:
  /// Whether gemv rounds its input x to bf16 too (the AVX512-BF16 dot-product path).
  static constexpr bool rounds_input = kDot;
  /// No: the order of the float sums is the result's (see gemv_pair).
  static constexpr bool any_order = false;
  /// R rounded up to whole groups: the length of b and y in gemv.
  static constexpr std::size_t rows = (R + kGroup - 1) / kGroup * kGroup;
  using Word = std::conditional_t<kF16c, std::uint16_t,
                                  std::conditional_t<kBf16 || kF16, std::uint32_t, float>>;

  PackedWeights() : words_(kWords, Word(0)) {}

  /// Stores w (R x C, column-major), rounded to bf16 or f16 (to nearest, ties to even) if
  /// Weight is. f16: throws dendrite::numerical_error, storing nothing, on a weight that is not
  /// finite or rounds past f16's largest value (|w| >= 65520).
  void pack(const float* w) {
    if constexpr (kF16) {
      for (std::size_t j = 0; j < C; ++j) {
        for (std::size_t i = 0; i < R; ++i) {
          const float v = w[j * R + i];
          if ((to_f16(v).bits & 0x7c00U) == 0x7c00U) {  // Inf or NaN
            DENDRITE_THROW(numerical_error,
                           "PackedWeights::pack: expected finite weights under 65520 in "
                           "magnitude (f16's largest is 65504), got ",
                           v, " at (", i, ", ", j, ")");
          }
        }
      }
    }
    for (std::size_t j = 0; j < C; ++j) {
      for (std::size_t i = 0; i < R; ++i) {
        const auto [word, shift] = place(i, j);
        if constexpr (kF16c) {
          words_[word] = to_f16(w[j * R + i]).bits;
        } else if constexpr (kBf16 || kF16) {
          const std::uint16_t bits = kF16 ? to_f16(w[j * R + i]).bits : to_bf16(w[j * R + i]).bits;
          Word& wd = words_[word];
          wd = (wd & ~(Word(0xffffU) << shift)) | (Word(bits) << shift);
        } else {
          words_[word] = w[j * R + i];
        }
      }
    }
  }

  /// The stored value of W(i, j), as float.
  [[nodiscard]] float weight(std::size_t i, std::size_t j) const noexcept {
    const auto [word, shift] = place(i, j);
    if constexpr (kBf16 || kF16) {
      const auto bits = static_cast<std::uint16_t>(words_[word] >> shift);
      if constexpr (kF16) {
        return to_float(f16{bits});
      } else {
        return to_float(bf16{bits});
      }
    } else {
      return words_[word];
    }
  }

  /// y = b + W x, b and y of `rows` floats (the padded rows give b's values). Real-time safe.
  DENDRITE_FORCE_INLINE void gemv(const float* __restrict x, const float* __restrict b,
                                  float* __restrict y) const noexcept {
    const Word* w = words_.data();
#if DENDRITE_DETAIL_HAVE_DPBF16
    if constexpr (kDot) {
      // x as bf16 pairs (x_2p low, x_2p+1 high), zero-padded to whole registers: masked loads
      // straight from x (a padded copy's scalar stores would stall the vector loads after them)
      constexpr std::size_t kX = (C + 31) / 32 * 32;
      alignas(64) std::uint32_t xp[kX / 2];  // NOLINT(*-avoid-c-arrays)
      const auto load16 = [x](std::size_t j) DENDRITE_FORCE_INLINE_LAMBDA {
        const std::size_t n = j < C ? std::min<std::size_t>(16, C - j) : 0;
        return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1U << n) - 1U), x + (n > 0 ? j : 0));
      };
      for (std::size_t j = 0; j < kX; j += 32) {  // bf16 of x[j..j+16) low, x[j+16..j+32) high
        const __m512bh h = _mm512_cvtne2ps_pbh(load16(j + 16), load16(j));
        _mm512_store_si512(xp + j / 2, std::bit_cast<__m512i>(h));
      }
      for (std::size_t blk = 0; blk < kFull; ++blk) {
        block_dot<kBlock>(w + blk * kBlockWords, blk * kBlock * L, xp, b, y);
      }
      if constexpr (kRest > 0) {
        block_dot<kRest>(w + kFull * kBlockWords, kFull * kBlock * L, xp, b, y);
      }
    } else
#endif
    {
      for (std::size_t blk = 0; blk < kFull; ++blk) {
        block<kBlock>(w + blk * kBlockWords, blk * kBlock * L, x, b, y);
      }
      if constexpr (kRest > 0) block<kRest>(w + kFull * kBlockWords, kFull * kBlock * L, x, b, y);
    }
  }

  /// Bytes of weights one gemv reads.
  static constexpr std::size_t bytes() noexcept { return sizeof(Word) * kWords; }

 private:
  // values per word along the rows (the paired 16-bit layout) and along the columns (kDot)
  static constexpr std::size_t kRowsPerWord = kPaired ? 2 : 1;
  static constexpr std::size_t kColsPerWord = kDot ? 2 : 1;
  static constexpr std::size_t kWordCols = kCols / kColsPerWord;  // words along a row
  static constexpr std::size_t kWords = rows / kRowsPerWord * kWordCols;  // the whole matrix
  // batches per block, as the float GEMV (so a float-stored block sums in its order); even, so
  // a block is whole groups
  static constexpr std::size_t kBlock = kGemvUnits;
  static constexpr std::size_t kUnits = rows / L;
  static constexpr std::size_t kFull = kUnits / kBlock;
  static constexpr std::size_t kRest = kUnits - kFull * kBlock;
  static constexpr std::size_t kBlockWords = kBlock * L / kRowsPerWord * kWordCols;  // a full block

  // (word index, bit shift) of W(i, j)
  static constexpr std::pair<std::size_t, unsigned> place(std::size_t i, std::size_t j) noexcept {
    const std::size_t blk = i / (kBlock * L), r = i % (kBlock * L);
    const std::size_t units = blk < kFull ? kBlock : kRest;
    const std::size_t col = blk * kBlockWords + j / kColsPerWord * (units * L / kRowsPerWord);
    if constexpr (kDot) {
      return {col + r, j % 2 == 0 ? 0U : 16U};
    } else if constexpr (kPaired) {
      const std::size_t g = r / kGroup, in = r % kGroup;
      return {col + g * L + in % L, in < L ? 0U : 16U};
    } else {
      return {col + r, 0U};
    }
  }

  template <std::size_t NB>
  DENDRITE_FORCE_INLINE static void block(const Word* w, std::size_t row, const float* x,
                                          const float* b, float* y) noexcept {
    constexpr std::size_t stride = NB * L / kRowsPerWord;  // words per column of this block
    // partial sums per row register: 16-bit storage keeps to at most kGemvUnits accumulators,
    // since its conversion needs registers of its own
    constexpr std::size_t P =
        kPaired || kF16c ? (NB >= 6 ? 1 : (NB >= 4 ? 2 : 4)) : partial_sums(NB);
    if constexpr (kPaired) {
      static_assert(NB % 2 == 0, "PackedWeights: a 16-bit block is whole groups");
      gemv_rows<float, V, NB, stride, C, P>(
          w, x, b + row, y + row, [](const Word* col, std::size_t k) DENDRITE_FORCE_INLINE_LAMBDA {
            const U u = U::load_unaligned(col + (k / 2) * L);
            const U top = k % 2 == 0 ? U(u << 16) : U(u & U(0xffff0000U));  // value << 16
            if constexpr (kBf16) {
              return xsimd::bitwise_cast<V>(top);
            } else {
              return widen_f16(top);
            }
          });
    } else if constexpr (kF16c) {
      gemv_rows<float, V, NB, stride, C, P>(
          w, x, b + row, y + row, [](const Word* col, std::size_t k) DENDRITE_FORCE_INLINE_LAMBDA {
            return widen_f16c(col + k * L);
          });
    } else {
      gemv_rows<float, V, NB, stride, C, P>(
          w, x, b + row, y + row, [](const Word* col, std::size_t k) DENDRITE_FORCE_INLINE_LAMBDA {
            return V::load_unaligned(col + k * L);
          });
    }
  }

  // f16 bits in the top halves of 32-bit lanes (low halves zero) as floats, exactly, with
  // integer operations and an integer conversion only (no float subnormal is formed)
  DENDRITE_FORCE_INLINE static V widen_f16(const U& top) noexcept {
    const U mag = (top & U(0x7fff0000U)) >> 3;  // exponent and mantissa at float's positions
    const V normal = xsimd::bitwise_cast<V>(mag + U(112U << 23));  // exponent 15 -> 127 bias
    // exponent 0: m 2^-24, m = the mantissa (< 1024, exact as a float)
    const V sub = xsimd::to_float(xsimd::bitwise_cast<I32>(mag >> 13)) * V(0x1p-24F);
    const I32 imag = xsimd::bitwise_cast<I32>(mag);  // < 2^27: signed compares are right
    const I32 v = xsimd::select(imag < I32(1 << 23), xsimd::bitwise_cast<I32>(sub),
                                xsimd::bitwise_cast<I32>(normal));
    return xsimd::bitwise_cast<V>(xsimd::bitwise_cast<U>(v) | (top & U(0x80000000U)));
  }

#if DENDRITE_DETAIL_HAVE_F16C
  // L halves from p as L floats: VCVTPH2PS (exact). The width by the preprocessor (F16C
  // implies AVX: xsimd's float batch is one __m256, or one __m512 with AVX-512), not by an if
  // constexpr on L, which clang would check in its discarded branch.
  DENDRITE_FORCE_INLINE static V widen_f16c(const std::uint16_t* p) noexcept {
#if defined(__AVX512F__)
    return V(_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))));
#else
    return V(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
#endif
  }
#endif

#if DENDRITE_DETAIL_HAVE_DPBF16
  // NB registers of rows from `row`: y = b + W x over the column pairs, VDPBF16PS per pair.
  // With 4 or fewer registers, and with fewer than 12 when they are the whole matrix, two
  // partial sums per row register keep more products in flight: on the Zen 5 VM VDPBF16PS
  // issues twice a cycle with a 6-cycle latency (12 chains to fill it; bench/README.md), and
  // 6-8 registers with one sum each left it latency-bound (peer binary: PackedLSTM bf16 32
  // 81-85 -> 70-72 ns, PackedGRU bf16 32 67-69 -> 55-58). Three sums did no better, four
  // worse; and GRU 128's last block of 8 registers, after a full one, was slower with two
  // (783-828 -> 876-899 ns), so a matrix of several blocks keeps one.
  template <std::size_t NB>
  DENDRITE_FORCE_INLINE static void block_dot(const Word* w, std::size_t row,
                                              const std::uint32_t* xp, const float* b,
                                              float* y) noexcept {
    constexpr std::size_t P = NB >= 12 || (NB >= 6 && kFull > 0) ? 1 : 2;
    constexpr std::size_t stride = NB * L;  // words per column pair of this block
    __m512 acc[P][NB];                      // NOLINT(*-avoid-c-arrays)
#pragma GCC unroll 16  // else g++ 12 copies b to the stack in 256-bit stores (see Int8Weights)
    for (std::size_t k = 0; k < NB; ++k) {
      acc[0][k] = _mm512_loadu_ps(b + row + k * L);
      for (std::size_t q = 1; q < P; ++q) acc[q][k] = _mm512_setzero_ps();
    }
    // the NB products of column pair p into the accumulators `a`
    const auto pair = [w, xp](__m512* a, std::size_t p) DENDRITE_FORCE_INLINE_LAMBDA {
      const __m512bh xv = std::bit_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(xp[p])));
      const Word* col = w + p * stride;
#pragma GCC unroll 16
      for (std::size_t k = 0; k < NB; ++k) {
        a[k] = _mm512_dpbf16_ps(a[k], std::bit_cast<__m512bh>(_mm512_loadu_si512(col + k * L)), xv);
      }
    };
    constexpr std::size_t pairs = kWordCols / P * P;
    for (std::size_t p = 0; p < pairs; p += P) {
      for (std::size_t q = 0; q < P; ++q) pair(acc[q], p + q);
    }
    for (std::size_t p = pairs; p < kWordCols; ++p) pair(acc[0], p);
    for (std::size_t k = 0; k < NB; ++k) {
      for (std::size_t q = 1; q < P; ++q) acc[0][k] = _mm512_add_ps(acc[0][k], acc[q][k]);
      _mm512_storeu_ps(y + row + k * L, acc[0][k]);
    }
  }
#endif

  // on whole cache lines: a 32-byte batch load from a 16-byte aligned std::vector crossed a
  // line every other load (PackedLSTM float, hidden 16: 161 ns against LSTM's 121)
  aligned_vector<Word> words_;
};

}  // namespace dendrite::nn::detail

#include <dendrite/core/detail/intrinsics_warnings_end.hpp>
