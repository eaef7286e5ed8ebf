// SPDX-License-Identifier: MIT
/// @file
/// The matrix-matrix kernels of ORICA's block update and of the batch covariances (`whiten`,
/// `fobi`, `geometry::PCA`), for column-major matrices of a float or double, in registers of
/// this target's width, without allocation:
///   gemm_nn     C = beta C + alpha A B    A m x k, B k x n read through two strides (so B may
///                                        be a transpose), C m x n
///   syrk_lower  C += A A^T, lower part     A m x k, C m x p: the tiles of gemm_nn that meet
///                                        C's lower triangle (half the flops of the full product)
///   transpose   dst = src^T               (A^T B is gemm_nn on a transposed copy of A)
/// gemm_nn keeps a 2-register x 6-column tile of C in registers over the whole inner dimension
/// (12 accumulators, 2 loads of A and 6 broadcasts of B per step), one row panel of A at a time,
/// so that A streams once per panel and its panel stays in L1 while the columns of C pass; a
/// single column (one sample) takes 8 registers of rows per pass instead. Every entry of C is
/// the same sequence of FMAs whatever the tile, so results do not depend on n.
/// Eigen's GEMM does as well, but it takes its packing buffers from the heap above 128 KB, which
/// a real-time call may not. Internal.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <utility>

#include <xsimd/xsimd.hpp>

#include <dendrite/config.hpp>
#include <dendrite/core/math.hpp>

namespace dendrite::ica::detail {

/// One tile of gemm_nn: R registers of rows from i, NC columns from j.
template <std::size_t R, std::size_t NC, class S>
DENDRITE_FORCE_INLINE void gemm_nn_tile(std::size_t i, std::size_t j, std::size_t k, S alpha,
                                        const S* a, std::size_t lda, const S* b, std::size_t bk,
                                        std::size_t bj, S beta, S* c, std::size_t ldc) noexcept {
  using V = xsimd::batch<S>;
  constexpr std::size_t w = V::size;
  std::array<std::array<V, NC>, R> acc;
  for (auto& row : acc)
    row.fill(V(S(0)));
  for (std::size_t kk = 0; kk < k; ++kk) {
    std::array<V, R> ar;
#pragma GCC unroll 8
    for (std::size_t r = 0; r < R; ++r)
      ar[r] = V::load_unaligned(a + kk * lda + i + r * w);
#pragma GCC unroll 8
    for (std::size_t q = 0; q < NC; ++q) {
      const V bq(b[kk * bk + (j + q) * bj]);
#pragma GCC unroll 8
      for (std::size_t r = 0; r < R; ++r)
        acc[r][q] = dendrite::fma(ar[r], bq, acc[r][q]);
    }
  }
  for (std::size_t q = 0; q < NC; ++q) {
    for (std::size_t r = 0; r < R; ++r) {
      S* p = c + (j + q) * ldc + i + r * w;
      const V scaled = V(alpha) * acc[r][q];
      const V out =
          beta == S(0) ? scaled : dendrite::fma(V(beta), V::load_unaligned(p), scaled);
      out.store_unaligned(p);
    }
  }
}

/// The tile of gemm_nn: 2 registers of rows by 6 columns, 12 accumulators (3 x 4 leaves GCC
/// one register short, and it then reloads A from memory in every FMA: 40 % of the FMA peak
/// against 70 % here, Zen 3, AVX2).
inline constexpr std::size_t kRows = 2, kCols = 6;

/// gemm_nn_tile over every column of C, kCols at a time.
template <std::size_t R, class S>
DENDRITE_FORCE_INLINE void gemm_nn_panel(std::size_t i, std::size_t n, std::size_t k, S alpha,
                                         const S* a, std::size_t lda, const S* b, std::size_t bk,
                                         std::size_t bj, S beta, S* c, std::size_t ldc) noexcept {
  std::size_t j = 0;
  for (; j + kCols <= n; j += kCols)
    gemm_nn_tile<R, kCols>(i, j, k, alpha, a, lda, b, bk, bj, beta, c, ldc);
  [&]<std::size_t... Q>(std::index_sequence<Q...>) {
    ((n - j == Q + 1 ? gemm_nn_tile<R, Q + 1>(i, j, k, alpha, a, lda, b, bk, bj, beta, c, ldc)
                     : void()),
     ...);
  }
  (std::make_index_sequence<kCols - 1>{});
}

/// C = beta C + alpha A B for column-major A (m x k, leading dimension lda) and C (m x n, ldc);
/// B(kk, j) is b[kk * bk + j * bj] (bk = 1, bj = ldb for a column-major B; bk = ldb, bj = 1
/// for the transpose of a column-major n x k matrix). beta = 0 does not read C. C must not
/// overlap A or B.
template <class S>
void gemm_nn(std::size_t m, std::size_t n, std::size_t k, S alpha, const S* a, std::size_t lda,
             const S* b, std::size_t bk, std::size_t bj, S beta, S* c, std::size_t ldc) noexcept {
  constexpr std::size_t w = xsimd::batch<S>::size;
  std::size_t i = 0;
  if (n == 1) {  // a matrix-vector product: 8 registers of rows per pass over A's columns
    for (; i + 8 * w <= m; i += 8 * w) {
      gemm_nn_tile<8, 1>(i, 0, k, alpha, a, lda, b, bk, bj, beta, c, ldc);
    }
  }
  for (; i + kRows * w <= m; i += kRows * w)
    gemm_nn_panel<kRows>(i, n, k, alpha, a, lda, b, bk, bj, beta, c, ldc);
  for (; i + w <= m; i += w)
    gemm_nn_panel<1>(i, n, k, alpha, a, lda, b, bk, bj, beta, c, ldc);
  for (; i < m; ++i) {  // the rows past the last full register
    for (std::size_t j = 0; j < n; ++j) {
      S s(0);
      for (std::size_t kk = 0; kk < k; ++kk)
        s += a[kk * lda + i] * b[kk * bk + j * bj];
      S& cij = c[j * ldc + i];
      cij = beta == S(0) ? alpha * s : beta * cij + alpha * s;
    }
  }
}

/// C += A A^T on the tiles that meet C's lower triangle, for column-major A (m x k, leading
/// dimension lda) and C (m x p, ldc), p <= m: every entry C(i, j) with i >= j is updated (and
/// some above the diagonal, inside diagonal tiles; read only the lower triangle). The
/// covariances and K of the batch methods (`covariance_about`, `fobi`, `geometry::PCA`): at 16
/// channels Eigen's `rankUpdate` spends as long packing its 16-row operands as multiplying them.
template <class S>
void syrk_lower(std::size_t m, std::size_t p, std::size_t k, const S* a, std::size_t lda, S* c,
                std::size_t ldc) noexcept {
  constexpr std::size_t w = xsimd::batch<S>::size;
  std::size_t i = 0;
  for (; i + kRows * w <= m; i += kRows * w)
    gemm_nn_panel<kRows>(i, std::min(p, i + kRows * w), k, S(1), a, lda, a, lda, 1, S(1), c, ldc);
  for (; i + w <= m; i += w)
    gemm_nn_panel<1>(i, std::min(p, i + w), k, S(1), a, lda, a, lda, 1, S(1), c, ldc);
  for (; i < m; ++i) {  // the rows past the last full register
    for (std::size_t j = 0; j < std::min(i + 1, p); ++j) {
      S s(0);
      for (std::size_t kk = 0; kk < k; ++kk)
        s += a[kk * lda + i] * a[kk * lda + j];
      c[j * ldc + i] += s;
    }
  }
}

/// dst (cols x rows, column-major, leading dimension cols) = src^T for a column-major src
/// (rows x cols, leading dimension lds): A^T B as gemm_nn(A^T, B), whose tiles keep operands in
/// registers where the dot products of columns needed a horizontal sum per entry.
template <class S>
void transpose(std::size_t rows, std::size_t cols, const S* src, std::size_t lds, S* dst) noexcept {
  for (std::size_t j = 0; j < cols; ++j) {
    for (std::size_t i = 0; i < rows; ++i)
      dst[i * cols + j] = src[j * lds + i];
  }
}

}  // namespace dendrite::ica::detail
