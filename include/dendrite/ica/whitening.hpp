// SPDX-License-Identifier: MIT
/// @file
/// Centring and whitening of a `channels x samples` data matrix, returning a reusable `Whitener`.
///
/// With mean m and covariance C = (1/n) (X - m)(X - m)^T = E D E^T (population normalisation, as
/// in Bahroun et al. and FOBI), a whitener V makes V (X - m) have identity covariance:
///   ZCA (symmetric, "Mahalanobis"):  V = E D^{-1/2} E^T = C^{-1/2}; stays closest to the data.
///   PCA:                             V = D^{-1/2} E^T, rows ordered by decreasing variance,
///                                    each eigenvector with its first entry >= 0 (the signs of
///                                    scikit-learn's FastICA whitening, so that a `w_init` means
///                                    the same start in both).
/// The inverse (dewhitening) map is V^+ = E D^{1/2} E^T (ZCA) or E D^{1/2} (PCA).
/// Rank: eigenvalues below `rank_tolerance` times the largest count as zero. A rank-deficient
/// covariance is an error (naming the rank) unless `reduce_rank` is set, in which case the PCA
/// whitener keeps only the r significant directions (r x d matrix).
#pragma once

#include <algorithm>
#include <string>

#include <Eigen/Core>
#include <Eigen/Eigenvalues>

#include <dendrite/core/analysis.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/ica/detail/block_linalg.hpp>

namespace dendrite::ica {

/// Which whitening matrix to build.
enum class WhiteningKind { ZCA, PCA };

/// Settings of `whiten`.
struct WhiteningOptions {
  WhiteningKind kind = WhiteningKind::ZCA;
  double rank_tolerance = 1e-10;  ///< relative to the largest eigenvalue of C
  bool reduce_rank = false;       ///< drop null directions instead of throwing (PCA kind only)
};

/// A fitted whitening transform z = V (x - m), reusable on new data.
struct Whitener {
  Eigen::VectorXd mean;       ///< m, d channels
  Eigen::MatrixXd matrix;     ///< V, r x d
  Eigen::MatrixXd inverse;    ///< V^+, d x r: x = m + V^+ z on the whitened subspace
  Eigen::VectorXd variances;  ///< eigenvalues of C, descending (all d)
  Eigen::Index rank = 0;

  /// V (x - m) for every column of x (d x n). Throws `dimension_error` on a channel mismatch.
  template <AnalysisScalar S = double>
  [[nodiscard]] Eigen::MatrixXd apply(const AnalysisRef<S>& x) const {
    if (x.rows() != mean.size()) {
      DENDRITE_THROW(dimension_error, "Whitener::apply: expected ", mean.size(), " channels, got ",
                     x.rows());
    }
    return matrix * (x.colwise() - mean);
  }
  /// m + V^+ z for every column of z (r x n).
  template <AnalysisScalar S = double>
  [[nodiscard]] Eigen::MatrixXd unapply(const AnalysisRef<S>& z) const {
    if (z.rows() != inverse.cols()) {
      DENDRITE_THROW(dimension_error, "Whitener::unapply: expected ", inverse.cols(), " rows, got ",
                     z.rows());
    }
    return (inverse * z).colwise() + mean;
  }
};

/// Checks a channels x samples matrix for ICA: at least one channel, more samples than channels,
/// finite values, no constant channel. Throws with what was expected and what was given.
/// Returns the channels' means, summed in the same pass (so `whiten` reads the data once less).
template <AnalysisScalar S = double>
VectorX<S> check_ica_data(const AnalysisRef<S>& x, const char* who) {
  if (x.rows() < 1 || x.cols() <= x.rows()) {
    DENDRITE_THROW(dimension_error, who,
                   ": expected a channels x samples matrix with more samples than channels, got ",
                   x.rows(), " x ", x.cols());
  }
  // One pass down the columns (contiguous in memory), vectorised over the channels: each
  // channel's smallest and largest value, and the sum of x * 0, which is NaN exactly when the
  // channel holds a NaN or an Inf. Row-wise reductions over column-major data took 19 ms of a
  // 16-channel, 100 000-sample FOBI that takes 39 in all (bench/README.md); this pass takes 1.
  const Eigen::Index d = x.rows();
  ArrayX<S> lo = x.col(0).array(), hi = lo, nan_if_bad = ArrayX<S>::Zero(d),
            sum = ArrayX<S>::Zero(d);
  S* __restrict lo_p = lo.data();
  S* __restrict hi_p = hi.data();
  S* __restrict bad_p = nan_if_bad.data();
  S* __restrict sum_p = sum.data();
  for (Eigen::Index c = 0; c < x.cols(); ++c) {
    const S* __restrict col = x.data() + c * x.outerStride();
    for (Eigen::Index r = 0; r < d; ++r) {
      lo_p[r] = std::min(lo_p[r], col[r]);
      hi_p[r] = std::max(hi_p[r], col[r]);
      bad_p[r] += col[r] * S(0);
      sum_p[r] += col[r];
    }
  }
  if (!nan_if_bad.isFinite().all()) {
    Eigen::Index r = 0, c = 0;
    (!x.array().isFinite()).template cast<int>().maxCoeff(&r, &c);
    DENDRITE_THROW(numerical_error, who, ": the data contain NaN or Inf (first at channel ", r,
                   ", sample ", c, ")");
  }
  for (Eigen::Index r = 0; r < d; ++r) {
    if (lo(r) == hi(r)) {
      DENDRITE_THROW(numerical_error, who, ": channel ", r, " is constant (", x(r, 0),
                     "): it carries no source");
    }
  }
  return (sum / S(x.cols())).matrix();
}

/// Calls f(first_column, count) over consecutive blocks of at most `block` of n columns.
template <class F>
void for_column_blocks(Eigen::Index n, Eigen::Index block, F&& f) {
  for (Eigen::Index j0 = 0; j0 < n; j0 += block) {
    f(j0, std::min(block, n - j0));
  }
}

/// Columns per block so that a block of `rows` doubles stays within about 256 KiB (L2-sized):
/// big centred temporaries would cost more in page faults than the arithmetic they hold.
template <AnalysisScalar S = double>
[[nodiscard]] Eigen::Index cache_block(Eigen::Index rows) {
  return std::max<Eigen::Index>(64, (Eigen::Index(1) << 15) / std::max<Eigen::Index>(rows, 1));
}

/// Rows of a block padded to whole SIMD registers, so that the kernels of
/// `detail/block_linalg.hpp` run without a scalar tail (the padding rows hold zeros).
template <class S = double>
[[nodiscard]] Eigen::Index padded_rows(Eigen::Index rows) {
  constexpr auto w = Eigen::Index(xsimd::batch<S>::size);
  return (rows + w - 1) / w * w;
}

namespace detail {

/// sum_t (x_t - m)(x_t - m)^T over the columns of x (features x n, float or double), the whole
/// symmetric matrix: blocks of `cache_block` columns centred into a buffer whose rows are padded
/// to whole registers (zeros), accumulated on the lower triangle by `syrk_lower` (half the flops
/// of the full product, and no packing: at 16 channels Eigen's `rankUpdate` spent as long
/// packing as multiplying). The covariances of `covariance_about` and `geometry::PCA`.
/// Allocates.
template <class Derived, class S = typename Derived::Scalar>
[[nodiscard]] Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> centred_gram(
    const Eigen::MatrixBase<Derived>& x, const Eigen::Matrix<S, Eigen::Dynamic, 1>& mean) {
  using M = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
  const Eigen::Index d = x.rows(), ld = padded_rows<S>(d);
  const Eigen::Index block = cache_block(d);
  M buf = M::Zero(ld, std::min(block, x.cols()));
  M lower = M::Zero(ld, d);
  for_column_blocks(x.cols(), block, [&](Eigen::Index j0, Eigen::Index m) {
    buf.topLeftCorner(d, m) = x.middleCols(j0, m).colwise() - mean;
    syrk_lower<S>(std::size_t(ld), std::size_t(d), std::size_t(m), buf.data(), std::size_t(ld),
                  lower.data(), std::size_t(ld));
  });
  return lower.topRows(d).template selfadjointView<Eigen::Lower>();
}

}  // namespace detail

/// (1/n) (X - m)(X - m)^T about the given row means m (e.g. from `check_ica_data`), by
/// `detail::centred_gram`.
template <AnalysisScalar S = double>
Eigen::MatrixXd covariance_about(const AnalysisRef<S>& x, const Eigen::VectorXd& mean) {
  return detail::centred_gram(x, mean) / double(x.cols());
}

/// (1/n) (X - m)(X - m)^T with m the row means, and m.
template <AnalysisScalar S = double>
Eigen::MatrixXd covariance(const AnalysisRef<S>& x, Eigen::VectorXd& mean) {
  mean = x.rowwise().mean();
  return covariance_about<S>(x, mean);
}

/// Fits a whitener to `x` (channels x samples). See the file comment. Allocates.
/// Throws `dimension_error`/`numerical_error` for bad data, and `numerical_error` naming the rank
/// for a rank-deficient covariance unless `reduce_rank` is set.
template <AnalysisScalar S = double>
[[nodiscard]] Whitener whiten(const AnalysisRef<S>& x, const WhiteningOptions& opt = {}) {
  Whitener w;
  w.mean = check_ica_data(x, "whiten");
  const MatrixX<S> c = covariance_about<S>(x, w.mean);
  Eigen::SelfAdjointEigenSolver<MatrixX<S>> eig(c);
  if (eig.info() != Eigen::Success) {
    DENDRITE_THROW(numerical_error,
                   "whiten: the eigendecomposition of the covariance did not converge");
  }
  const Eigen::Index d = x.rows();
  const VectorX<S> lam = eig.eigenvalues().reverse();
  MatrixX<S> e = eig.eigenvectors().rowwise().reverse();
  // each eigenvector with its first channel's entry >= 0 (scikit-learn's FastICA whitening)
  for (Eigen::Index k = 0; k < e.cols(); ++k) {
    if (e(0, k) < 0) e.col(k) = -e.col(k);
  }
  w.variances = lam;
  Eigen::Index r = 0;
  while (r < d && lam(r) > opt.rank_tolerance * lam(0)) {
    ++r;
  }
  w.rank = r;
  if (r < d && !opt.reduce_rank) {
    DENDRITE_THROW(numerical_error, "whiten: the covariance has rank ", r, " of ", d,
                   " (eigenvalues below ", opt.rank_tolerance,
                   " x the largest); remove dependent channels or set reduce_rank");
  }
  if (r < d && opt.kind == WhiteningKind::ZCA) {
    DENDRITE_THROW(numerical_error, "whiten: a reduced-rank whitener must be of PCA kind (rank ", r,
                   " of ", d, ")");
  }
  const MatrixX<S> er = e.leftCols(r);
  const VectorX<S> s = lam.head(r).cwiseSqrt();
  if (opt.kind == WhiteningKind::ZCA) {
    w.matrix = er * s.cwiseInverse().asDiagonal() * er.transpose();
    w.inverse = er * s.asDiagonal() * er.transpose();
  } else {
    w.matrix = s.cwiseInverse().asDiagonal() * er.transpose();
    w.inverse = er * s.asDiagonal();
  }
  return w;
}

}  // namespace dendrite::ica
