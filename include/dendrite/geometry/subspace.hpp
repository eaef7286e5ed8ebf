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

#include <dendrite/core/error.hpp>

namespace dendrite::geometry {

/// Orthonormal basis (n x r) of the column span of `a` (n x m), r = numerical rank: columns of the
/// pivoted QR whose |R_ii| exceed `rel_tol` times the largest. Throws `dimension_error` for an
/// empty matrix, `numerical_error` for non-finite entries or a zero matrix.
[[nodiscard]] inline Eigen::MatrixXd orthonormal_basis(const Eigen::Ref<const Eigen::MatrixXd>& a,
                                                       double rel_tol = 1e-10) {
  if (a.rows() == 0 || a.cols() == 0) {
    DENDRITE_THROW(dimension_error, "orthonormal_basis: expected a non-empty matrix, got ",
                   a.rows(), " x ", a.cols());
  }
  if (!a.allFinite()) {
    DENDRITE_THROW(numerical_error, "orthonormal_basis: the vectors contain NaN or Inf");
  }
  Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(a);
  qr.setThreshold(rel_tol);
  const Eigen::Index r = qr.rank();
  if (r == 0) {
    DENDRITE_THROW(numerical_error, "orthonormal_basis: the vectors span only the zero subspace");
  }
  return qr.householderQ() * Eigen::MatrixXd::Identity(a.rows(), r);
}

/// Orthogonal projector Q Q^T (n x n) onto the span of the orthonormal columns of `q`.
[[nodiscard]] inline Eigen::MatrixXd projector(const Eigen::Ref<const Eigen::MatrixXd>& q) {
  return q * q.transpose();
}

/// Principal angles (radians, ascending, min(p, q) of them) between span(a) and span(b), where
/// a is n x p and b is n x q (any spanning vectors; they are orthonormalised first).
/// Throws `dimension_error` when the row counts differ.
[[nodiscard]] inline Eigen::VectorXd principal_angles(const Eigen::Ref<const Eigen::MatrixXd>& a,
                                                      const Eigen::Ref<const Eigen::MatrixXd>& b) {
  if (a.rows() != b.rows()) {
    DENDRITE_THROW(dimension_error,
                   "principal_angles: both subspaces must live in the same space, got ", a.rows(),
                   " and ", b.rows(), " rows");
  }
  Eigen::MatrixXd qa = orthonormal_basis(a);
  Eigen::MatrixXd qb = orthonormal_basis(b);
  if (qa.cols() > qb.cols()) {
    qa.swap(qb);  // qa is now the smaller basis
  }
  const Eigen::Index k = qa.cols();
  const Eigen::MatrixXd c = qb.transpose() * qa;  // q x k
  Eigen::JacobiSVD<Eigen::MatrixXd> svd_cos(c);
  const Eigen::MatrixXd outside = qa - qb * c;  // component of span(qa) outside span(qb)
  Eigen::JacobiSVD<Eigen::MatrixXd> svd_sin(outside);
  const Eigen::VectorXd& cosines = svd_cos.singularValues();     // descending: smallest angle first
  const Eigen::VectorXd& sines_desc = svd_sin.singularValues();  // descending: largest angle first
  Eigen::VectorXd angles(k);
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
[[nodiscard]] inline double largest_principal_angle(const Eigen::Ref<const Eigen::MatrixXd>& a,
                                                    const Eigen::Ref<const Eigen::MatrixXd>& b) {
  const Eigen::VectorXd t = principal_angles(a, b);
  return t(t.size() - 1);
}

}  // namespace dendrite::geometry
