// SPDX-License-Identifier: MIT
/// @file
/// An R x C float matrix stored for a single-stream y = b + W x, as float or as bf16 (the
/// arithmetic is float either way). Rows are padded with zeros to a whole number of groups and
/// cut into blocks of up to kGemvUnits SIMD batches of rows (64 rows on AVX2, 256 on AVX-512),
/// the register-held accumulators of one pass (see gemv_rows); each block is stored column
/// after column, so a pass reads its block's weights in one sequential stream. Within a column
/// of a block:
///  - float: a group is one SIMD batch of L = xsimd::batch<float>::size rows, in order;
///  - bf16: a group is 2L rows in L 32-bit words, word i of group g holding row 2Lg + i in its
///    low half and row 2Lg + L + i in its high half. One load of L words then gives two float
///    batches by integer operations only: rows [2Lg, 2Lg + L) are (word << 16) and rows
///    [2Lg + L, 2Lg + 2L) are (word & 0xffff0000). This is the whole bf16 -> float conversion
///    on every target (SSE2, AVX2, AVX-512), and it halves the bytes the product reads.
///  - bf16 on a target with AVX512-BF16 (`rounds_input`): the product runs on VDPBF16PS, which
///    multiplies pairs of bf16 and accumulates in float: a group is one 16-word register of
///    rows, word i holding W(row i, 2p) in its low half and W(row i, 2p + 1) in its high half
///    for the column pair p (C padded to even with a zero column). The input is rounded to bf16
///    (VCVTNE2PS2BF16, to nearest, ties to even) once per product. Each product w x then
///    carries both roundings: |w~ x~ - w x| <= (2 u + u^2) |w| |x| with u = 2^-8, twice the
///    weights-only bound of the other targets.
#pragma once

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

#include <dendrite/config.hpp>
#include <dendrite/core/bf16.hpp>
#include <dendrite/nn/detail/kernels.hpp>

namespace dendrite::nn::detail {

/// AllowDot = false keeps the shift path on an AVX512-BF16 target too (the benchmarks' baseline).
template <class Weight, std::size_t R, std::size_t C, bool AllowDot = true>
class PackedWeights {
  static_assert(std::is_same_v<Weight, float> || std::is_same_v<Weight, bf16>,
                "PackedWeights: the storage is float or bf16");
  using V = xsimd::batch<float>;
  using U = xsimd::batch<std::uint32_t, typename V::arch_type>;
  static constexpr bool kHalf = std::is_same_v<Weight, bf16>;
  static constexpr std::size_t L = V::size;
  // bf16 pairs of columns on VDPBF16PS (xsimd's batch must be the 16-float AVX-512 register)
  static constexpr bool kDot = AllowDot && kHalf && DENDRITE_DETAIL_HAVE_DPBF16 != 0 && L == 16;
  static constexpr std::size_t kGroup = kHalf && !kDot ? 2 * L : L;
  static constexpr std::size_t kCols = kDot ? (C + 1) / 2 * 2 : C;  // C padded to even (kDot)

 public:
  /// Whether gemv rounds its input x to bf16 too (the AVX512-BF16 dot-product path).
  static constexpr bool rounds_input = kDot;
  /// No: the order of the float sums is the result's (see gemv_pair).
  static constexpr bool any_order = false;
  /// R rounded up to whole groups: the length of b and y in gemv.
  static constexpr std::size_t rows = (R + kGroup - 1) / kGroup * kGroup;
  using Word = std::conditional_t<kHalf, std::uint32_t, float>;

  PackedWeights() : words_(kWords, Word(0)) {}

  /// Stores w (R x C, column-major), rounded to bf16 (to nearest, ties to even) if Weight is.
  void pack(const float* w) {
    for (std::size_t j = 0; j < C; ++j) {
      for (std::size_t i = 0; i < R; ++i) {
        const auto [word, shift] = place(i, j);
        if constexpr (kHalf) {
          Word& wd = words_[word];
          wd = (wd & ~(Word(0xffffU) << shift)) | (Word(to_bf16(w[j * R + i]).bits) << shift);
        } else {
          words_[word] = w[j * R + i];
        }
      }
    }
  }

  /// The stored value of W(i, j), as float.
  [[nodiscard]] float weight(std::size_t i, std::size_t j) const noexcept {
    const auto [word, shift] = place(i, j);
    if constexpr (kHalf) {
      return to_float(bf16{static_cast<std::uint16_t>(words_[word] >> shift)});
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
  // values per word along the rows (bf16 shift path) and along the columns (kDot)
  static constexpr std::size_t kRowsPerWord = kHalf && !kDot ? 2 : 1;
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
    } else if constexpr (kHalf) {
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
    if constexpr (kHalf) {
      static_assert(NB % 2 == 0, "PackedWeights: a bf16 block is whole groups");
      // at most kGemvUnits accumulators: the conversion needs registers of its own
      constexpr std::size_t P = NB >= 6 ? 1 : (NB >= 4 ? 2 : 4);
      gemv_rows<float, V, NB, stride, C, P>(
          w, x, b + row, y + row, [](const Word* col, std::size_t k) DENDRITE_FORCE_INLINE_LAMBDA {
            const U u = U::load_unaligned(col + (k / 2) * L);
            const U bits = k % 2 == 0 ? U(u << 16) : U(u & U(0xffff0000U));
            return xsimd::bitwise_cast<V>(bits);
          });
    } else {
      gemv_rows<float, V, NB, stride, C, partial_sums(NB)>(
          w, x, b + row, y + row, [](const Word* col, std::size_t k) DENDRITE_FORCE_INLINE_LAMBDA {
            return V::load_unaligned(col + k * L);
          });
    }
  }

#if DENDRITE_DETAIL_HAVE_DPBF16
  // NB registers of rows from `row`: y = b + W x over the column pairs, VDPBF16PS per pair
  // (with 4 or fewer registers, two partial sums per row register keep more products in
  // flight).
  template <std::size_t NB>
  DENDRITE_FORCE_INLINE static void block_dot(const Word* w, std::size_t row,
                                              const std::uint32_t* xp, const float* b,
                                              float* y) noexcept {
    constexpr std::size_t P = NB >= 6 ? 1 : 2;
    constexpr std::size_t stride = NB * L;  // words per column pair of this block
    __m512 acc[P][NB];                      // NOLINT(*-avoid-c-arrays)
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

  std::vector<Word> words_;
};

}  // namespace dendrite::nn::detail
