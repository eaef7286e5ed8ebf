// SPDX-License-Identifier: MIT
/// @file
/// An R x C float matrix stored for a single-stream y = b + W x, as float or as bf16 (the
/// arithmetic is float either way). Rows are padded with zeros to a whole number of groups and
/// cut into blocks of up to 8 SIMD batches of rows (64 rows on AVX2), the register-held
/// accumulators of one pass (see gemv_rows); each block is stored column after column, so a
/// pass reads its block's weights in one sequential stream. Within a column of a block:
///  - float: a group is one SIMD batch of L = xsimd::batch<float>::size rows, in order;
///  - bf16: a group is 2L rows in L 32-bit words, word i of group g holding row 2Lg + i in its
///    low half and row 2Lg + L + i in its high half. One load of L words then gives two float
///    batches by integer operations only: rows [2Lg, 2Lg + L) are (word << 16) and rows
///    [2Lg + L, 2Lg + 2L) are (word & 0xffff0000). This is the whole bf16 -> float conversion
///    on every target (SSE2, AVX2, AVX-512), and it halves the bytes the product reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include <xsimd/xsimd.hpp>

#include <dendrite/config.hpp>
#include <dendrite/core/bf16.hpp>
#include <dendrite/nn/detail/kernels.hpp>

namespace dendrite::nn::detail {

template <class Weight, std::size_t R, std::size_t C>
class PackedWeights {
  static_assert(std::is_same_v<Weight, float> || std::is_same_v<Weight, bf16>,
                "PackedWeights: the storage is float or bf16");
  using V = xsimd::batch<float>;
  using U = xsimd::batch<std::uint32_t, typename V::arch_type>;
  static constexpr bool kHalf = std::is_same_v<Weight, bf16>;
  static constexpr std::size_t L = V::size;
  static constexpr std::size_t kGroup = kHalf ? 2 * L : L;

 public:
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
    for (std::size_t blk = 0; blk < kFull; ++blk) {
      block<kBlock>(w + blk * kBlockWords, blk * kBlock * L, x, b, y);
    }
    if constexpr (kRest > 0) block<kRest>(w + kFull * kBlockWords, kFull * kBlock * L, x, b, y);
  }

  /// Bytes of weights one gemv reads.
  static constexpr std::size_t bytes() noexcept { return sizeof(Word) * kWords; }

 private:
  static constexpr std::size_t kRowsPerWord = kHalf ? 2 : 1;
  static constexpr std::size_t kWords = rows / kRowsPerWord * C;  // the whole matrix
  static constexpr std::size_t kBlock = 8;  // batches per block: even, so a block is whole groups
  static constexpr std::size_t kUnits = rows / L;
  static constexpr std::size_t kFull = kUnits / kBlock;
  static constexpr std::size_t kRest = kUnits - kFull * kBlock;
  static constexpr std::size_t kBlockWords = kBlock * L / kRowsPerWord * C;  // a full block

  // (word index, bit shift) of W(i, j)
  static constexpr std::pair<std::size_t, unsigned> place(std::size_t i, std::size_t j) noexcept {
    const std::size_t blk = i / (kBlock * L), r = i % (kBlock * L);
    const std::size_t units = blk < kFull ? kBlock : kRest;
    const std::size_t col = blk * kBlockWords + j * (units * L / kRowsPerWord);
    if constexpr (kHalf) {
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
      // at most 8 accumulators: the conversion needs registers of its own (16 on AVX2)
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

  std::vector<Word> words_;
};

}  // namespace dendrite::nn::detail
