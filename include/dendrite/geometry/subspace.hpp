// SPDX-License-Identifier: MIT
/// @file
/// Subspaces of R^n given by spanning vectors: an orthonormal basis, the orthogonal projector,
/// and the principal angles between two subspaces.
///
/// Principal angles (Björck & Golub 1973). For orthonormal bases Qa (n x p) and Qb (n x q),
/// k = min(p, q), the cosines of the angles 0 <= theta_1 <= ... <= theta_k <= pi/2 are the
/// singular values of Qa^T Qb. Near 0 the cosine loses all precision (cos(1e-8) == 1 in double),
/// so the sines are taken from the singular values of the part of the smaller basis that lies
/// outside the larger subspace, Q_small - Q_large (Q_large^T Q_small), and each angle is computed
/// from whichever of its sine and cosine is smaller (Knyazev & Argentati 2002): arcsin for
/// cos^2 >= 1/2, arccos otherwise. Accurate to ~1e-15 absolute over the whole range.
#pragma once

#include <algorithm>
#include <cmath>

#include <Eigen/Core>
#include <Eigen/QR>
#include <Eigen/SVD>

#include <dendrite/core/analysis.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/traits.hpp>

namespace dendrite::geometry {

/// Orthonormal basis (n x r) of the column span of `a` (n x m), r = numerical rank: columns of the
/// pivoted QR whose |R_ii| exceed `rel_tol` times the largest. Throws `dimension_error` for an
/// empty matrix, `numerical_error` for non-finite entries or a zero matrix.
template <AnalysisScalar S = double>
[[nodiscard]] Eigen::MatrixXd orthonormal_basis(const AnalysisRef<S>& a, double rel_tol = 1e-10) {
  if (a.rows() == 0 || a.cols() == 0) {
    DENDRITE_THROW(dimension_error, "orthonormal_basis: expected a non-empty matrix, got ",
                   a.rows(), " x ", a.cols());
  }
  if (!a.allFinite()) {
    DENDRITE_THROW(numerical_error, "orthonormal_basis: the vectors contain NaN or Inf");
  }
  Eigen::ColPivHouseholderQR<MatrixX<S>> qr(a);
  qr.setThreshold(rel_tol);
  const Eigen::Index r = qr.rank();
  if (r == 0) {
    DENDRITE_THROW(numerical_error, "orthonormal_basis: the vectors span only the zero subspace");
  }
  return qr.householderQ() * MatrixX<S>::Identity(a.rows(), r);
}

/// Orthogonal projector Q Q^T (n x n) onto the span of the orthonormal columns of `q`.
template <AnalysisScalar S = double>
[[nodiscard]] Eigen::MatrixXd projector(const AnalysisRef<S>& q) {
  return q * q.transpose();
}

/// Principal angles (radians, ascending, min(p, q) of them) between span(a) and span(b), where
/// a is n x p and b is n x q (any spanning vectors; they are orthonormalised first).
/// `scipy.linalg.subspace_angles(a, b)` returns the same angles in descending order.
/// Throws `dimension_error` when the row counts differ.
template <AnalysisScalar S = double>
[[nodiscard]] Eigen::VectorXd principal_angles(const AnalysisRef<S>& a, const AnalysisRef<S>& b) {
  if (a.rows() != b.rows()) {
    DENDRITE_THROW(dimension_error,
                   "principal_angles: both subspaces must live in the same space, got ", a.rows(),
                   " and ", b.rows(), " rows");
  }
  MatrixX<S> qa = orthonormal_basis(a);
  MatrixX<S> qb = orthonormal_basis(b);
  if (qa.cols() > qb.cols()) {
    qa.swap(qb);  // qa is now the smaller basis
  }
  const Eigen::Index k = qa.cols();
  const MatrixX<S> c = qb.transpose() * qa;  // q x k
  Eigen::JacobiSVD<MatrixX<S>> svd_cos(c);
  const MatrixX<S> outside = qa - qb * c;  // component of span(qa) outside span(qb)
  Eigen::JacobiSVD<MatrixX<S>> svd_sin(outside);
  const VectorX<S>& cosines = svd_cos.singularValues();     // descending: smallest angle first
  const VectorX<S>& sines_desc = svd_sin.singularValues();  // descending: largest angle first
  VectorX<S> angles(k);
  for (Eigen::Index i = 0; i < k; ++i) {
    const double cs = std::min(cosines(i), 1.0);
    const double sn = std::min(sines_desc(k - 1 - i), 1.0);
    angles(i) = cs * cs >= 0.5 ? std::asin(sn) : std::acos(cs);
  }
  std::sort(angles.data(), angles.data() + k);
  return angles;
}

/// Largest principal angle between span(a) and span(b) (radians): 0 when one subspace contains the
/// other, pi/2 when some direction of the smaller one is orthogonal to the larger.
template <AnalysisScalar S = double>
[[nodiscard]] double largest_principal_angle(const AnalysisRef<S>& a, const AnalysisRef<S>& b) {
  const VectorX<S> t = principal_angles(a, b);
  return t(t.size() - 1);
}

}  // namespace dendrite::geometry
