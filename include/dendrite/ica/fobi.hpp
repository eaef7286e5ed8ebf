// SPDX-License-Identifier: MIT
/// @file
/// FOBI, fourth-order blind identification (Cardoso 1989), the batch method that the network of
/// Bahroun, Chklovskii & Sengupta (NeurIPS 2021, section 2.1) emulates.
///
///   1. whiten:  h_t = C^{-1/2} (x_t - m)                        (ZCA, C with 1/n)
///   2. K = (1/n) sum_t ||h_t||^2 h_t h_t^T                      (= E[z z^T] with z = ||h|| h)
///   3. K = V diag(k) V^T; unmixing W = V^T C^{-1/2}; y_t = W (x_t - m)
/// If h = R s with R orthogonal and s independent with unit variance, K = R diag(kurt_i + d - 1)
/// R^T (kurt = Pearson kurtosis), so the eigenvalues estimate kurt_i + d - 1 and the sources are
/// identifiable exactly when their kurtoses are distinct. Rows of W are ordered by decreasing
/// eigenvalue (most kurtotic source first).
///
/// Identifiability is reported, not assumed: each eigenvalue k_i is the mean of
/// ||h_t||^2 (v_i^T h_t)^2 over t, so its standard error is the sample standard deviation of that
/// product over sqrt(n). A gap between neighbouring eigenvalues smaller than `gap_z` standard
/// errors cannot be told from sampling noise: the result then says `identifiable = false` and
/// carries a warning naming the pair. FOBI cannot separate sources of equal kurtosis; it says so
/// rather than return a rotation of them silently.
#pragma once

#include <cmath>
#include <string>

#include <Eigen/Core>
#include <Eigen/Eigenvalues>

#include <dendrite/core/analysis.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/ica/whitening.hpp>

namespace dendrite::ica {

/// Settings of `fobi`.
struct FOBIOptions {
  double gap_z = 3.0;  ///< neighbouring eigenvalues must differ by this many standard errors
};

/// What `fobi` returns. With y = unmixing (x - mean), the rows of y are the estimated sources.
struct FOBIResult {
  Eigen::MatrixXd unmixing;         ///< W, d x d
  Eigen::MatrixXd mixing;           ///< W^{-1}, d x d: x = mean + mixing y
  Eigen::VectorXd mean;             ///< d
  Eigen::VectorXd eigenvalues;      ///< of K, descending: kurt_i + d - 1
  Eigen::VectorXd standard_errors;  ///< of each eigenvalue
  double min_relative_gap = 0;      ///< min_i (k_i - k_{i+1}) / k_i
  double min_gap_z = 0;             ///< min_i (k_i - k_{i+1}) / sqrt(se_i^2 + se_{i+1}^2)
  bool identifiable = true;         ///< min_gap_z >= gap_z
  std::string warning;              ///< empty when identifiable

  /// The estimated sources of data x (d x n).
  template <AnalysisScalar S = double>
  [[nodiscard]] Eigen::MatrixXd sources(const AnalysisRef<S>& x) const {
    if (x.rows() != mean.size()) {
      DENDRITE_THROW(dimension_error, "FOBIResult::sources: expected ", mean.size(),
                     " channels, got ", x.rows());
    }
    return unmixing * (x.colwise() - mean);
  }
};

/// Runs FOBI on x (channels x samples). Allocates. Throws `dimension_error` for fewer samples than
/// channels, `numerical_error` for NaN/Inf, constant channels or a rank-deficient covariance.
template <AnalysisScalar S = double>
[[nodiscard]] FOBIResult fobi(const AnalysisRef<S>& x, const FOBIOptions& opt = {}) {
  if (x.rows() < 2) {
    DENDRITE_THROW(dimension_error, "fobi: need at least 2 channels, got ", x.rows());
  }
  const Whitener wh = whiten(x, {.kind = WhiteningKind::ZCA});
  const Eigen::Index d = x.rows(), ld = padded_rows<S>(d);
  const double n = double(x.cols());
  const Eigen::Index block = cache_block(d);
  // No full-size temporary: each pass maps one cache-sized block of columns at a time, as
  // h = P x + b with P the map padded to whole registers (zero rows) and b = -P m, in the
  // register-tiled product of detail/block_linalg.hpp.
  MatrixX<S> h(ld, std::min(block, x.cols()));
  RowVectorX<S> scale(h.cols());
  const auto affine_block = [&](const MatrixX<S>& p, const VectorX<S>& b, Eigen::Index j0,
                                Eigen::Index m) {
    detail::gemm_nn<S>(std::size_t(ld), std::size_t(m), std::size_t(d), S(1), p.data(),
                       std::size_t(ld), x.data() + j0 * x.outerStride(), 1,
                       std::size_t(x.outerStride()), S(0), h.data(), std::size_t(ld));
    h.leftCols(m).colwise() += b;
    return h.leftCols(m);
  };
  const auto padded = [&](const MatrixX<S>& map, VectorX<S>& offset) {
    MatrixX<S> p = MatrixX<S>::Zero(ld, d);
    p.topRows(d) = map;
    offset = -(p * wh.mean);
    return p;
  };
  // K = (1/n) sum_t ||h_t||^2 h_t h_t^T = (1/n) G G^T with g_t = ||h_t|| h_t: its lower
  // triangle accumulated block by block (half the flops of the full product)
  VectorX<S> b;
  const MatrixX<S> wp = padded(wh.matrix, b);
  MatrixX<S> k = MatrixX<S>::Zero(ld, d);
  for_column_blocks(x.cols(), block, [&](Eigen::Index j0, Eigen::Index m) {
    auto hb = affine_block(wp, b, j0, m);
    scale.head(m) = hb.colwise().norm();
    hb.array().rowwise() *= scale.head(m).array();
    detail::syrk_lower<S>(std::size_t(ld), std::size_t(d), std::size_t(m), h.data(),
                          std::size_t(ld), k.data(), std::size_t(ld));
  });
  const MatrixX<S> k_full = k.topRows(d).template selfadjointView<Eigen::Lower>();
  Eigen::SelfAdjointEigenSolver<MatrixX<S>> eig(k_full / n);
  if (eig.info() != Eigen::Success) {
    DENDRITE_THROW(numerical_error, "fobi: the eigendecomposition of K did not converge");
  }
  FOBIResult r;
  const MatrixX<S> v = eig.eigenvectors().rowwise().reverse();
  r.eigenvalues = eig.eigenvalues().reverse();
  r.unmixing = v.transpose() * wh.matrix;
  r.mixing = wh.inverse * v;
  r.mean = wh.mean;
  // standard error of k_i = mean_t of q_it = ||h_t||^2 (v_i^T h_t)^2, whose mean is k_i itself;
  // with g_t = V^T h_t = W (x_t - m) in one product, and ||h_t|| = ||g_t|| (V orthogonal)
  const MatrixX<S> up = padded(r.unmixing, b);
  ArrayX<S> sq_dev = ArrayX<S>::Zero(d);
  for_column_blocks(x.cols(), block, [&](Eigen::Index j0, Eigen::Index m) {
    const auto g = affine_block(up, b, j0, m).topRows(d).array();
    scale.head(m) = g.matrix().colwise().squaredNorm();
    for (Eigen::Index t = 0; t < m; ++t) {
      sq_dev += (g.col(t).square() * scale(t) - r.eigenvalues.array()).square();
    }
  });
  r.standard_errors = (sq_dev / (n - 1.0) / n).sqrt().matrix();
  r.min_relative_gap = std::numeric_limits<double>::infinity();
  r.min_gap_z = std::numeric_limits<double>::infinity();
  Eigen::Index worst = 0;
  for (Eigen::Index i = 0; i + 1 < d; ++i) {
    const double gap = r.eigenvalues(i) - r.eigenvalues(i + 1);
    r.min_relative_gap = std::min(r.min_relative_gap, gap / r.eigenvalues(i));
    const double z = gap / std::sqrt(r.standard_errors(i) * r.standard_errors(i) +
                                     r.standard_errors(i + 1) * r.standard_errors(i + 1));
    if (z < r.min_gap_z) {
      r.min_gap_z = z;
      worst = i;
    }
  }
  r.identifiable = r.min_gap_z >= opt.gap_z;
  if (!r.identifiable) {
    r.warning = dendrite::detail::concat(
        "fobi: eigenvalues ", worst, " and ", worst + 1, " of K (", r.eigenvalues(worst), ", ",
        r.eigenvalues(worst + 1), ") differ by only ", r.min_gap_z,
        " standard errors: those sources have (nearly) equal kurtosis and are not separated");
  }
  return r;
}

}  // namespace dendrite::ica
