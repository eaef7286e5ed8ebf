// SPDX-License-Identifier: MIT
/// @file
/// Principal component analysis of a `features x samples` data matrix, in the shape of an Eigen
/// solver (`fit`, then accessors) with scikit-learn's conventions.
///
/// With centred data Xc = X - mean (features x n), the covariance is C = Xc Xc^T / (n - 1) and the
/// components are its leading eigenvectors; the explained variances are its eigenvalues and the
/// singular values those of Xc, s_i = sqrt((n - 1) lambda_i). Two solvers give the same result:
///  - Covariance: C by a symmetric rank update over blocks of samples (SYRK, the register-tiled
///    `ica::detail::centred_gram` of ica/whitening.hpp), then a symmetric eigendecomposition
///    (`symmetric_eigen`: divide and conquer from 64 features, as LAPACK's `dsyevd`).
///    O(f^2 n + f^3); the choice when samples >> features.
///  - SVD: thin SVD of Xc (divide and conquer). O(f n min(f, n)); the choice when features are
///    comparable to or exceed samples, where forming C squares the condition number.
/// `Auto` takes Covariance when n >= 2 f, SVD otherwise.
///
/// Conventions: components are columns (features x k), sorted by decreasing variance, each with
/// its largest-magnitude loading positive so that results are reproducible: scikit-learn's sign
/// rule from 1.5 on (`svd_flip(u, v, u_based_decision=False)`). Before 1.5, as in Debian 12's
/// 1.2, scikit-learn took each sign from the scores instead, so a component can come out negated
/// beside those versions (and its scores with it); the rest agrees. `transform(X)` returns
/// k x n scores W^T (X - mean), divided by sqrt(lambda) when whitening.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <Eigen/SVD>

#include <dendrite/core/error.hpp>
#include <dendrite/core/symmetric_eigen.hpp>
#include <dendrite/ica/whitening.hpp>

namespace dendrite::geometry {

/// Which factorisation `PCA::fit` uses.
enum class PCASolver { Auto, Covariance, SVD };

/// What `PCA::fit` keeps and how.
struct PCAOptions {
  /// Number of components to keep; 0 keeps min(features, samples - 1), the most centred data
  /// can have (`fit` throws for more; scikit-learn raises too).
  Eigen::Index n_components = 0;
  /// In (0, 1]: keep the fewest components whose explained-variance ratio reaches this fraction
  /// (overrides n_components). 0 disables it. scikit-learn's float n_components keeps the
  /// fewest that exceed it: the two differ only where a cumulative ratio equals it exactly.
  double variance_fraction = 0.0;
  /// Scale the scores to unit variance in `transform` (and back in `inverse_transform`).
  bool whiten = false;
  PCASolver solver = PCASolver::Auto;
};

/// Principal component analysis (see the file comment for the equations).
/// @tparam Scalar_ float or double.
/// @code
/// dendrite::geometry::PCA<double> pca({.n_components = 3});
/// pca.fit(X);                       // X: features x samples
/// Eigen::MatrixXd Y = pca.transform(X);   // 3 x samples
/// @endcode
template <class Scalar_ = double>
class PCA {
 public:
  using Scalar = Scalar_;
  static_assert(
      std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>,
      "PCA<Scalar>: Scalar must be float or double (PCA branches on data, so no SIMD batches)");
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;

  PCA() = default;
  explicit PCA(const PCAOptions& options) : options_(options) { check_options(); }

  /// Fits the model to `x` (features x samples). Allocates.
  /// Throws `dimension_error` for fewer than 2 samples, no features or more components than
  /// min(features, samples - 1), `numerical_error` for non-finite data or options out of range.
  template <class Derived>
  PCA& fit(const Eigen::MatrixBase<Derived>& x) {
    const Eigen::Index f = x.rows();
    const Eigen::Index n = x.cols();
    if (f < 1 || n < 2) {
      DENDRITE_THROW(dimension_error,
                     "PCA::fit: expected a features x samples matrix with at least 1 feature and 2 "
                     "samples, got ",
                     f, " x ", n);
    }
    const Eigen::Index max_k = std::min(f, n - 1);
    if (options_.n_components > max_k) {
      DENDRITE_THROW(dimension_error, "PCA::fit: n_components must be at most min(features, ",
                     "samples - 1) = ", max_k, " for ", f, " x ", n, " data, got ",
                     options_.n_components);
    }
    if (!x.allFinite()) {
      DENDRITE_THROW(numerical_error, "PCA::fit: the data contain NaN or Inf");
    }
    mean_ = x.rowwise().mean();
    const bool use_cov = options_.solver == PCASolver::Covariance ||
                         (options_.solver == PCASolver::Auto && n >= 2 * f);
    Matrix vectors;  // all eigenvectors, descending variance
    Vector values;   // all variances, descending
    if (use_cov) {
      covariance_eigen(x, vectors, values);
    } else {
      svd_eigen(x, vectors, values);
    }
    values = values.cwiseMax(Scalar(0));  // rounding can leave -1e-17
    total_variance_ = values.sum();
    n_samples_ = n;
    Eigen::Index k = options_.n_components > 0 ? options_.n_components : max_k;
    if (options_.variance_fraction > 0.0) {
      double acc = 0.0;
      k = max_k;
      for (Eigen::Index i = 0; i < max_k; ++i) {
        acc += double(values(i));
        if (acc >= options_.variance_fraction * double(total_variance_) * (1.0 - 1e-12)) {
          k = i + 1;
          break;
        }
      }
    }
    components_ = vectors.leftCols(k);
    explained_variance_ = values.head(k);
    for (Eigen::Index j = 0; j < k; ++j) {  // sign: largest-magnitude loading positive
      Eigen::Index imax = 0;
      components_.col(j).cwiseAbs().maxCoeff(&imax);
      if (components_(imax, j) < Scalar(0)) {
        components_.col(j) = -components_.col(j);
      }
    }
    return *this;
  }

  /// Scores of `x` (features x m): k x m matrix W^T (x - mean), whitened if asked.
  template <class Derived>
  [[nodiscard]] Matrix transform(const Eigen::MatrixBase<Derived>& x) const {
    check_fitted("transform");
    if (x.rows() != mean_.size()) {
      DENDRITE_THROW(dimension_error, "PCA::transform: expected ", mean_.size(), " features, got ",
                     x.rows());
    }
    Matrix y = components_.transpose() * (x.colwise() - mean_);
    if (options_.whiten) {
      y.array().colwise() /=
          explained_variance_.array().sqrt().cwiseMax(std::numeric_limits<Scalar>::min());
    }
    return y;
  }

  /// Back to feature space: mean + W y (y: k x m), undoing the whitening if it was on.
  template <class Derived>
  [[nodiscard]] Matrix inverse_transform(const Eigen::MatrixBase<Derived>& y) const {
    check_fitted("inverse_transform");
    if (y.rows() != components_.cols()) {
      DENDRITE_THROW(dimension_error, "PCA::inverse_transform: expected ", components_.cols(),
                     " components, got ", y.rows());
    }
    Matrix s = y;
    if (options_.whiten) {
      s.array().colwise() *= explained_variance_.array().sqrt();
    }
    return (components_ * s).colwise() + mean_;
  }

  /// features x k, orthonormal columns, decreasing variance.
  [[nodiscard]] const Matrix& components() const noexcept { return components_; }
  /// Per-feature mean of the fitted data.
  [[nodiscard]] const Vector& mean() const noexcept { return mean_; }
  /// Variance along each kept component (eigenvalues of the covariance, 1/(n-1) normalisation).
  [[nodiscard]] const Vector& explained_variance() const noexcept { return explained_variance_; }
  /// explained_variance / total variance of the data.
  [[nodiscard]] Vector explained_variance_ratio() const {
    return explained_variance_ / std::max(total_variance_, std::numeric_limits<Scalar>::min());
  }
  /// Singular values of the centred data, sqrt((n - 1) lambda).
  [[nodiscard]] Vector singular_values() const {
    return (explained_variance_ * Scalar(n_samples_ - 1)).cwiseSqrt();
  }
  /// Sum of the variances of all features (trace of the covariance).
  [[nodiscard]] Scalar total_variance() const noexcept { return total_variance_; }
  [[nodiscard]] Eigen::Index n_components() const noexcept { return components_.cols(); }
  [[nodiscard]] Eigen::Index n_samples() const noexcept { return n_samples_; }
  [[nodiscard]] const PCAOptions& options() const noexcept { return options_; }

 private:
  void check_options() const {
    if (options_.n_components < 0) {
      DENDRITE_THROW(numerical_error, "PCAOptions: n_components must be >= 0, got ",
                     options_.n_components);
    }
    if (!(options_.variance_fraction >= 0.0 && options_.variance_fraction <= 1.0)) {
      DENDRITE_THROW(numerical_error, "PCAOptions: variance_fraction must lie in [0, 1], got ",
                     options_.variance_fraction);
    }
  }
  void check_fitted(const char* what) const {
    if (components_.size() == 0) {
      DENDRITE_THROW(dimension_error, "PCA::", what, ": the model is not fitted (call fit first)");
    }
  }

  template <class Derived>
  void covariance_eigen(const Eigen::MatrixBase<Derived>& x, Matrix& vectors,
                        Vector& values) const {
    const Eigen::Index n = x.cols();
    // the register-tiled centred Gram matrix that FOBI's covariance uses (Eigen's rankUpdate
    // spends as long packing few-row operands as multiplying them: 1.2-2.5x slower at 8-100
    // features, bench/README.md)
    Matrix cov = ica::detail::centred_gram(x, mean_);
    cov /= Scalar(n - 1);
    // divide and conquer from 64 features (core/symmetric_eigen.hpp), the QR iteration below
    Vector ascending;
    Matrix eigenvectors;
    if (!symmetric_eigen(cov, ascending, eigenvectors)) {
      DENDRITE_THROW(numerical_error,
                     "PCA::fit: the eigendecomposition of the covariance did not converge");
    }
    vectors = eigenvectors.rowwise().reverse();  // ascending -> descending
    values = ascending.reverse();
  }

  template <class Derived>
  void svd_eigen(const Eigen::MatrixBase<Derived>& x, Matrix& vectors, Vector& values) const {
    const Matrix xc = x.colwise() - mean_;
    Eigen::BDCSVD<Matrix> svd(xc, Eigen::ComputeThinU);
    if (svd.info() != Eigen::Success) {
      DENDRITE_THROW(numerical_error, "PCA::fit: the SVD of the data did not converge");
    }
    vectors = svd.matrixU();
    values = svd.singularValues().array().square() / Scalar(x.cols() - 1);
  }

  PCAOptions options_{};
  Vector mean_;                // features
  Matrix components_;          // features x k
  Vector explained_variance_;  // k
  Scalar total_variance_ = 0;
  Eigen::Index n_samples_ = 0;
};

/// Participation ratio (sum lambda)^2 / sum lambda^2 of a variance spectrum: an effective number
/// of dimensions, between 1 (one component carries everything) and the number of components
/// (all equal). Throws `numerical_error` for an empty, negative or all-zero spectrum.
template <class Derived>
[[nodiscard]] double participation_ratio(const Eigen::MatrixBase<Derived>& variances) {
  if (variances.size() == 0 || (variances.array() < 0).any() || !variances.allFinite()) {
    DENDRITE_THROW(
        numerical_error,
        "participation_ratio: expected a non-empty spectrum of finite, non-negative variances");
  }
  const double s = double(variances.sum());
  const double s2 = double(variances.squaredNorm());
  if (s2 == 0.0) {
    DENDRITE_THROW(numerical_error, "participation_ratio: all variances are zero");
  }
  return s * s / s2;
}

}  // namespace dendrite::geometry
