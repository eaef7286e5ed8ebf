// SPDX-License-Identifier: MIT
/// @file
/// Is a population's activity over two angles a Clifford torus, a standard torus, or neither?
/// The tests follow Cueva, Ardalan, Tsodyks & Qian (arXiv 2111.01275) in spirit; the paper's own
/// definitions are not public, so the operational definitions below are dendrite's own
/// (../shared/PAPERS.md section 2.5) and are stated exactly here.
///
/// Geometry. A Clifford-type torus x = c + r1 (cos 2a u1 + sin 2a u2) + r2 (cos 2b u3 + sin 2b u4),
/// {u} orthonormal, fills 4 principal components; its a-rings (b fixed) all lie in parallel planes
/// span{u1, u2}, its b-rings in span{u3, u4}, orthogonal to the first. A standard torus
/// ((R + r cos 2b) cos 2a, (R + r cos 2b) sin 2a, r sin 2b) fills 3 components; its a-rings are
/// parallel but their radii vary, its b-rings lie in span{(cos 2a, sin 2a, 0), e3}, which rotate
/// with a (principal angles 0 and |2 da|), and an a-ring plane meets a b-ring plane along the
/// radial direction (principal angles 0 and 90 degrees).
///
/// Data: an `AngleGrid`, N units x (n1 n2) grid points, column i + n1 j = the population vector
/// at (theta1_i, theta2_j), each angle at equal steps over one period. The statistics are computed
/// in a low-dimensional space, where a random plane is not automatically orthogonal to every other
/// as it is in high dimension, so that the shuffle nulls are informative (`TorusSpace`):
///  - the grid's top `n_pcs` principal components (default 4), unless
///  - the angles' fundamental planes are not inside them: the first Fourier mode of each angle's
///    marginal mean (the mean over the other angle) gives two vectors per angle, the plane its
///    circle lies in; when less than `fundamental_capture_min` (0.9) of their squared length lies
///    in the top components (harmonics of one angle, or a third variable, outrank the other
///    circle), the statistics are computed in their span instead. There the spectrum test compares
///    each component with the noise: lambda4 / noise variance instead of lambda4 / lambda5.
/// Noise: the per-unit noise variance is estimated from the grid's spectrum past its 8th
/// component (room for both circles and their second harmonics), scaled by r / (r - 8) for the
/// noise the first 8 components absorb (r = min(N, n1 n2 - 1)); 0 when r <= 8. The noise's own
/// largest components are among the first 8, so the estimate runs about 5 % low (100 units,
/// 144 points, sd 0.1 -> 0.094-0.095); components of the signal past the 8th make it high.
///  - Ring planes: for each j, the theta1-ring {x(i, j)}_i: its centroid, its top-2 PCA plane
///    (orthonormal Q, m x 2) and radius sqrt(lambda1 + lambda2) (the RMS distance from the
///    centroid); likewise a theta2-ring for each i.
///  - Parallelism of a family: the largest principal angle between the planes of every pair of
///    rings of the family; reported as its mean and max over pairs, with the radii's coefficient of
///    variation (std / mean).
///  - Orthogonality: at every grid point (i, j), ||Q1(j)^T Q2(i)||_F^2 / 2, the mean squared cosine
///    of the two principal angles between the theta1-ring and theta2-ring planes through it,
///    averaged over the grid: 0 for a Clifford torus, 1/2 for a standard torus, 1/2 on average
///    for random planes in 4 dimensions.
///  - Nulls: the same statistics after a seeded random permutation of the grid labels; one-sided
///    p = (1 + #{null <= observed}) / (1 + shuffles).
///  - Radius ratio: mean theta2-ring radius / mean theta1-ring radius, and its p-value against
///    `radius_surrogates` Clifford tori of equal radii (the geometric mean of the observed two,
///    less the noise's share 2 sigma^2 of a ring's squared radius) with
///    the grid's units, sampling and estimated noise, put through the same space and ring fits:
///    p = (1 + #{|log ratio_null| >= |log ratio|}) / (1 + surrogates).
///  - Classification (thresholds in `TorusTestOptions`):
///      Clifford-like: 4 dominant components (lambda4 >= spectrum_gap * lambda5), both families
///        parallel (mean largest angle < parallel_angle and p < alpha), orthogonality <
///        orthogonal_max and its p < alpha, and comparable radii: the families' mean ring radii
///        within a factor radius_ratio_max (2) of each other, or a ratio outside that window that
///        equal-radii surrogates reach with p >= alpha (the noise can explain it);
///      flat torus, unequal radii: all of that but the radii (a product of two circles in
///        orthogonal planes, one much smaller: flat, but not Clifford, which treats both angles
///        alike); the smaller family's parallelism is then judged by its angle alone, because
///        its shuffle null is uninformative (shuffled points spread along the larger circle, so
///        shuffled "rings" look parallel too);
///      standard-like: 3 dominant components (lambda3 >= spectrum_gap * lambda4), exactly one
///        family parallel, orthogonality within [standard_min, standard_max];
///      neither otherwise, and whenever one angle's rings have no radius (below 1e-6 of the
///        other's: that angle does not move the activity).
///    The spectrum is judged by a gap rather than by a variance fraction because isotropic noise
///    in many units adds a large total variance spread thinly over every component.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <Eigen/Eigenvalues>

#include <dendrite/core/analysis.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/geometry/pca.hpp>
#include <dendrite/geometry/subspace.hpp>

namespace dendrite::geometry {

/// Population activity sampled on a grid of two angles.
struct AngleGrid {
  Eigen::MatrixXd activity;  ///< N x (n1 n2); column i + n1 j is the point (theta1_i, theta2_j)
  Eigen::Index n1 = 0;       ///< number of theta1 values
  Eigen::Index n2 = 0;       ///< number of theta2 values

  /// The population vector at (theta1_i, theta2_j).
  [[nodiscard]] auto point(Eigen::Index i, Eigen::Index j) const {
    return activity.col(i + n1 * j);
  }
};

/// Checks an AngleGrid: at least 3 x 3 points, N >= 2 units, n1 n2 columns, finite values.
/// Throws `dimension_error` or `numerical_error` naming what was expected and given.
template <AnalysisScalar S = double>
void validate(const AngleGrid& g) {
  if (g.n1 < 3 || g.n2 < 3) {
    DENDRITE_THROW(dimension_error, "AngleGrid: need at least 3 x 3 grid points, got ", g.n1, " x ",
                   g.n2);
  }
  if (g.activity.cols() != g.n1 * g.n2) {
    DENDRITE_THROW(dimension_error, "AngleGrid: expected n1 * n2 = ", g.n1 * g.n2, " columns, got ",
                   g.activity.cols());
  }
  if (g.activity.rows() < 2) {
    DENDRITE_THROW(dimension_error, "AngleGrid: need at least 2 units (rows), got ",
                   g.activity.rows());
  }
  if (!g.activity.allFinite()) {
    DENDRITE_THROW(numerical_error, "AngleGrid: the activity contains NaN or Inf");
  }
}

/// One ring of the grid: the points with one angle fixed.
struct RingFit {
  Eigen::VectorXd centre;  ///< centroid (m)
  Eigen::MatrixXd plane;   ///< m x 2, orthonormal: the ring's top-2 PCA plane
  double radius = 0;  ///< sqrt(lambda1 + lambda2): RMS distance of the points from the centroid
};

/// Which angle a ring family varies: theta1-rings have theta2 fixed (one per theta2_j).
enum class RingFamily { Theta1, Theta2 };

/// Fits every ring of one family; `x` is m x (n1 n2) in grid order.
template <AnalysisScalar S = double>
[[nodiscard]] std::vector<RingFit> fit_rings(const AnalysisMatrix<S>& x, Eigen::Index n1,
                                             Eigen::Index n2, RingFamily family) {
  const bool vary1 = family == RingFamily::Theta1;
  const Eigen::Index rings = vary1 ? n2 : n1;
  const Eigen::Index len = vary1 ? n1 : n2;
  std::vector<RingFit> out(static_cast<std::size_t>(rings));
  MatrixX<S> pts(x.rows(), len);
  Eigen::SelfAdjointEigenSolver<MatrixX<S>> eig;
  for (Eigen::Index r = 0; r < rings; ++r) {
    for (Eigen::Index t = 0; t < len; ++t) {
      pts.col(t) = vary1 ? x.col(t + n1 * r) : x.col(r + n1 * t);
    }
    RingFit& fit = out[static_cast<std::size_t>(r)];
    fit.centre = pts.rowwise().mean();
    pts.colwise() -= fit.centre;
    eig.compute(pts * pts.transpose() / double(len));
    const Eigen::Index m = x.rows();
    fit.plane = eig.eigenvectors().rightCols(2).rowwise().reverse();
    fit.radius = std::sqrt(std::max(0.0, eig.eigenvalues()(m - 1) + eig.eigenvalues()(m - 2)));
  }
  return out;
}

namespace detail {

/// For orthonormal 2-planes qa, qb (m x 2): ||qa^T qb||_F^2 and the largest principal angle,
/// from the 2 x 2 matrix c = qa^T qb in closed form. Singular values: s_max^2 = (f + disc) / 2 and
/// s_min^2 = det^2 / s_max^2 (no cancellation). Below 45 degrees the angle comes from its sine,
/// the largest singular value of the residual qb - qa c, as in principal_angles.
struct PlanePair {
  double frob2;
  double largest_angle;
};
template <AnalysisScalar S = double>
[[nodiscard]] PlanePair compare_planes(const AnalysisMatrix<S>& qa, const AnalysisMatrix<S>& qb) {
  const Eigen::Matrix2d c = qa.transpose() * qb;
  const double f = c.squaredNorm();
  const double det = c.determinant();
  const double smax2 = 0.5 * (f + std::sqrt(std::max(0.0, f * f - 4.0 * det * det)));
  const double smin2 = smax2 > 0 ? det * det / smax2 : 0.0;  // cos^2 of the largest angle
  if (smin2 < 0.5) {
    return {f, std::acos(std::min(1.0, std::sqrt(smin2)))};
  }
  const MatrixX<S> r = qb - qa * c;
  const Eigen::Matrix2d gram = r.transpose() * r;
  const double t = gram.trace();
  const double sin2 = 0.5 * (t + std::sqrt(std::max(0.0, t * t - 4.0 * gram.determinant())));
  return {f, std::asin(std::min(1.0, std::sqrt(sin2)))};
}

}  // namespace detail

/// Parallelism statistics of one ring family.
struct FamilyParallelism {
  double mean_largest_angle = 0;  ///< radians, mean over pairs of rings
  double max_largest_angle = 0;   ///< radians, worst pair
  double radius_cv = 0;           ///< std / mean of the ring radii
  double mean_radius = 0;         ///< mean of the ring radii (in the PCA space of the test)
  double p_value = 1;             ///< shuffle null, P(null mean angle <= observed)
};

/// Parallelism of a fitted family (p_value left at 1).
template <AnalysisScalar S = double>
[[nodiscard]] FamilyParallelism parallelism(const std::vector<RingFit>& rings) {
  FamilyParallelism out;
  double sum = 0;
  std::size_t pairs = 0;
  for (std::size_t a = 0; a < rings.size(); ++a) {
    for (std::size_t b = a + 1; b < rings.size(); ++b) {
      const double ang = detail::compare_planes(rings[a].plane, rings[b].plane).largest_angle;
      sum += ang;
      out.max_largest_angle = std::max(out.max_largest_angle, ang);
      ++pairs;
    }
  }
  out.mean_largest_angle = pairs > 0 ? sum / double(pairs) : 0.0;
  double mean_r = 0, var_r = 0;
  for (const auto& r : rings) {
    mean_r += r.radius;
  }
  mean_r /= double(rings.size());
  for (const auto& r : rings) {
    var_r += (r.radius - mean_r) * (r.radius - mean_r);
  }
  out.radius_cv = mean_r > 0 ? std::sqrt(var_r / double(rings.size())) / mean_r : 0.0;
  out.mean_radius = mean_r;
  return out;
}

/// Mean over grid points of ||Q1(j)^T Q2(i)||_F^2 / 2 (0 = orthogonal planes, 1 = equal planes).
template <AnalysisScalar S = double>
[[nodiscard]] double orthogonality(const std::vector<RingFit>& theta1_rings,
                                   const std::vector<RingFit>& theta2_rings) {
  double sum = 0;
  for (const auto& a : theta1_rings) {
    for (const auto& b : theta2_rings) {
      sum += 0.5 * detail::compare_planes(a.plane, b.plane).frob2;
    }
  }
  return sum / double(theta1_rings.size() * theta2_rings.size());
}

/// Shape of a synthetic torus grid.
struct TorusGridSpec {
  Eigen::Index units = 100;  ///< N, the embedding dimension
  Eigen::Index n1 = 16;      ///< theta1_i = pi i / n1
  Eigen::Index n2 = 16;      ///< theta2_j = pi j / n2
  double noise = 0.0;        ///< sd of iid Gaussian noise added to every coordinate
  std::uint64_t seed = 1;    ///< seed of the embedding and the noise
};

namespace detail {

/// Random N x k matrix with orthonormal columns (Gram-Schmidt on Gaussian columns).
template <AnalysisScalar S = double>
[[nodiscard]] MatrixX<S> random_embedding(Eigen::Index n, Eigen::Index k, std::mt19937_64& rng) {
  if (n < k) {
    DENDRITE_THROW(dimension_error, "torus generator: need at least ", k, " units, got ", n);
  }
  std::normal_distribution<double> normal;
  MatrixX<S> q(n, k);
  for (Eigen::Index j = 0; j < k; ++j) {
    for (Eigen::Index i = 0; i < n; ++i) {
      q(i, j) = normal(rng);
    }
    for (int pass = 0; pass < 2; ++pass) {  // twice is enough for orthogonality to rounding
      for (Eigen::Index l = 0; l < j; ++l) {
        q.col(j) -= q.col(l).dot(q.col(j)) * q.col(l);
      }
    }
    q.col(j).normalize();
  }
  return q;
}

template <AnalysisScalar S = double, class F>
[[nodiscard]] AngleGrid make_torus(const TorusGridSpec& spec, Eigen::Index dims, F coords) {
  if (spec.n1 < 3 || spec.n2 < 3) {
    DENDRITE_THROW(dimension_error, "torus generator: need at least 3 x 3 grid points, got ",
                   spec.n1, " x ", spec.n2);
  }
  std::mt19937_64 rng(spec.seed);
  const MatrixX<S> u = random_embedding<S>(spec.units, dims, rng);
  std::normal_distribution<double> normal;  // scaled by spec.noise (which may be 0)
  AngleGrid g{Eigen::MatrixXd(spec.units, spec.n1 * spec.n2), spec.n1, spec.n2};
  VectorX<S> c(dims);
  for (Eigen::Index j = 0; j < spec.n2; ++j) {
    for (Eigen::Index i = 0; i < spec.n1; ++i) {
      coords(2.0 * std::numbers::pi * double(i) / double(spec.n1),
             2.0 * std::numbers::pi * double(j) / double(spec.n2), c);
      auto col = g.activity.col(i + spec.n1 * j);
      col = u * c;
      if (spec.noise > 0) {
        for (Eigen::Index k = 0; k < spec.units; ++k) {
          col(k) += spec.noise * normal(rng);
        }
      }
    }
  }
  return g;
}

}  // namespace detail

/// Where analyze_torus computes its statistics.
enum class TorusSpace {
  /// TopPcs, unless the two angles' fundamental planes lie outside the top n_pcs components
  /// (captured fraction below fundamental_capture_min): then Fundamentals
  Auto,
  /// the grid's top n_pcs principal components (the torus fills 4 of them, a standard torus 3)
  TopPcs,
  /// span of the first Fourier mode of each angle's marginal mean: the planes of the two
  /// circles, whatever outranks them (harmonics of one angle, a third variable)
  Fundamentals
};

/// Settings of analyze_torus. Angles in radians.
struct TorusTestOptions {
  Eigen::Index n_pcs = 4;  ///< PCA space of the statistics (TopPcs)
  int shuffles = 100;      ///< permutations for the nulls
  std::uint64_t seed = 1;  ///< seed of the permutations and the surrogates
  double alpha = 0.05;     ///< significance level
  double parallel_angle =
      20.0 * std::numbers::pi / 180.0;  ///< max mean largest angle of a parallel family
  double orthogonal_max = 0.2;          ///< Clifford: orthogonality below this
  double standard_min = 0.3;            ///< standard: orthogonality within
  double standard_max = 0.7;            ///<   [standard_min, standard_max]
  double spectrum_gap = 3.0;  ///< lambda4 / lambda5 (Clifford) or lambda3 / lambda4 (standard)
  /// Clifford: the two families' mean radii within a factor of this of each other (a Clifford
  /// torus treats both angles alike: equal radii); outside it, and with radius_ratio_p < alpha,
  /// the verdict is FlatUnequal
  double radius_ratio_max = 2.0;
  int radius_surrogates = 100;  ///< equal-radii surrogates for radius_ratio_p (>= 19 to reach 0.05)
  TorusSpace space = TorusSpace::Auto;  ///< see TorusSpace
  double fundamental_capture_min = 0.9;  ///< Auto: switch to Fundamentals below this
};

/// What analyze_torus decided.
enum class TorusClass { Clifford, FlatUnequal, Standard, Neither };

/// "Clifford-like", "standard-like" or "neither".
[[nodiscard]] inline const char* to_string(TorusClass c) noexcept {
  switch (c) {
    case TorusClass::Clifford:
      return "Clifford-like";
    case TorusClass::FlatUnequal:
      return "flat torus, unequal radii";
    case TorusClass::Standard:
      return "standard-like";
    case TorusClass::Neither:
      return "neither";
  }
  return "?";
}

/// The statistics of analyze_torus and the verdict they gave.
struct TorusAnalysis {
  Eigen::VectorXd explained_variance_ratio;  ///< of the grid points, all components
  double participation_ratio = 0;            ///< (sum lambda)^2 / sum lambda^2 of the grid points
  FamilyParallelism theta1_rings;            ///< rings along theta1 (theta2 fixed)
  FamilyParallelism theta2_rings;            ///< rings along theta2 (theta1 fixed)
  double orthogonality = 0;                  ///< see the file comment
  double orthogonality_p = 1;                ///< shuffle null, P(null <= observed)
  double radius_ratio = 1;  ///< mean theta2-ring radius / mean theta1-ring radius
  /// P(|log ratio| >= observed) under Clifford tori of equal radii with this grid's sampling, units
  /// and noise (see the file comment); 1 when radius_surrogates is 0 or one angle does not move
  /// the activity
  double radius_ratio_p = 1;
  double noise_sd = 0;  ///< noise per unit and point, estimated from the spectrum past 8 components
  TorusSpace space = TorusSpace::TopPcs;  ///< the space the statistics were computed in
  double fundamental_capture = 1;  ///< fraction of the fundamental planes inside the top n_pcs
  TorusClass classification = TorusClass::Neither;
  std::string reason;  ///< the statistics that decided, in words
};

namespace detail {

/// The grid in the space analyze_torus works in, with the spectrum gaps judged there.
template <AnalysisScalar S = double>
struct TorusSpaceFit {
  MatrixX<S> y;  ///< dims x (n1 n2)
  TorusSpace space = TorusSpace::TopPcs;
  double capture = 1;
  double gap3 = 0, gap4 = 0;  ///< see the file comment
  double noise_var = 0;
};

/// The first Fourier mode of each angle's marginal mean, N x 4 (columns cos/sin of theta1, then
/// of theta2), from the centred activity; the grid covers one period at equal steps.
template <AnalysisScalar S = double>
[[nodiscard]] MatrixX<S> fundamental_vectors(const AngleGrid& g, const VectorX<S>& mean) {
  const Eigen::Index n = g.activity.rows();
  MatrixX<S> f = MatrixX<S>::Zero(n, 4);
  const double two_pi = 2.0 * std::numbers::pi;
  for (Eigen::Index j = 0; j < g.n2; ++j) {
    const double b = two_pi * double(j) / double(g.n2);
    for (Eigen::Index i = 0; i < g.n1; ++i) {
      const double a = two_pi * double(i) / double(g.n1);
      const auto x = g.point(i, j) - mean;
      f.col(0) += std::cos(a) * x;
      f.col(1) += std::sin(a) * x;
      f.col(2) += std::cos(b) * x;
      f.col(3) += std::sin(b) * x;
    }
  }
  return f * (2.0 / double(g.n1 * g.n2));  // amplitude of each circle's mode
}

/// Per-unit noise variance: the components past the 8th (room for both circles and their second
/// harmonics), corrected for the share of noise the first 8 take, r = rank of the centred grid.
template <AnalysisScalar S = double>
[[nodiscard]] double noise_variance(const VectorX<S>& ev, Eigen::Index units, Eigen::Index points) {
  const Eigen::Index r = std::min<Eigen::Index>(units, points - 1);
  const Eigen::Index k = 8;
  if (r <= k || ev.size() <= k) {
    return 0.0;
  }
  return ev.tail(ev.size() - k).sum() * double(r) / (double(units) * double(r - k));
}

/// The grid in its torus space. `pca` is the grid's fitted PCA. With `force`, the space is taken
/// as given and only `y` is computed (the surrogates need nothing else).
template <AnalysisScalar S = double>
[[nodiscard]] TorusSpaceFit<S> torus_space(const AngleGrid& g, const TorusTestOptions& opt,
                                           const PCA<S>& pca,
                                           std::optional<TorusSpace> force = std::nullopt) {
  TorusSpaceFit<S> out;
  const auto& ev = pca.explained_variance();
  const Eigen::Index m = std::min(opt.n_pcs, pca.n_components());
  if (m < 2) {
    DENDRITE_THROW(dimension_error, "analyze_torus: the grid spans fewer than 2 dimensions");
  }
  const bool y_only = force.has_value();
  MatrixX<S> f;
  if (!y_only || *force == TorusSpace::Fundamentals) {
    f = fundamental_vectors(g, pca.mean());
  }
  if (!y_only) {
    out.noise_var = noise_variance(ev, g.activity.rows(), g.activity.cols());
    const double f2 = f.squaredNorm();
    out.capture = f2 > 0 ? (pca.components().leftCols(m).transpose() * f).squaredNorm() / f2 : 1.0;
  }
  out.space = force ? *force
              : opt.space != TorusSpace::Auto ? opt.space
              : out.capture < opt.fundamental_capture_min ? TorusSpace::Fundamentals
                                                          : TorusSpace::TopPcs;
  const auto gap = [](double a, double b) {
    return a / std::max(b, std::numeric_limits<double>::min());
  };
  if (out.space == TorusSpace::TopPcs) {
    out.y = pca.transform(g.activity).topRows(m);
    if (!y_only) {
      const auto lam = [&](Eigen::Index k) {  // 1-based; 0 past the end
        return ev.size() >= k ? ev(k - 1) : 0.0;
      };
      out.gap3 = gap(lam(3), lam(4));
      out.gap4 = gap(lam(4), lam(5));
    }
    return out;
  }
  const MatrixX<S> q = orthonormal_basis(f, 1e-6);
  out.y = q.transpose() * (g.activity.colwise() - pca.mean());
  if (y_only) {
    return out;
  }
  // the spectrum inside the fundamental space, each component against the noise per dimension
  Eigen::SelfAdjointEigenSolver<MatrixX<S>> eig(out.y * out.y.transpose() /
                                                double(g.activity.cols() - 1));
  const VectorX<S> lp = eig.eigenvalues().reverse();
  const auto lam = [&](Eigen::Index k) { return lp.size() >= k ? lp(k - 1) : 0.0; };
  out.gap3 = gap(lam(3), std::max(lam(4), out.noise_var));
  out.gap4 = gap(lam(4), out.noise_var);
  return out;
}

/// Mean theta2-ring radius / mean theta1-ring radius of a grid in its torus space.
template <AnalysisScalar S = double>
[[nodiscard]] double radius_ratio(const MatrixX<S>& y, Eigen::Index n1, Eigen::Index n2) {
  const double r1 = parallelism(fit_rings(y, n1, n2, RingFamily::Theta1)).mean_radius;
  const double r2 = parallelism(fit_rings(y, n1, n2, RingFamily::Theta2)).mean_radius;
  return r1 > 0 ? r2 / r1 : std::numeric_limits<double>::infinity();
}

}  // namespace detail

/// Runs the ring fits, the parallelism and orthogonality tests with their shuffle nulls, the
/// radius-ratio test against equal-radii surrogates, and the classification described in the
/// file comment. Allocates; O(shuffles * (n1^2 + n2^2 + n1 n2) + surrogates * PCA of the grid).
template <AnalysisScalar S = double>
[[nodiscard]] TorusAnalysis analyze_torus(const AngleGrid& grid, const TorusTestOptions& opt = {}) {
  validate(grid);
  if (opt.n_pcs < 2 || opt.shuffles < 0 || opt.radius_surrogates < 0) {
    DENDRITE_THROW(dimension_error,
                   "analyze_torus: need n_pcs >= 2, shuffles >= 0 and radius_surrogates >= 0, got ",
                   opt.n_pcs, ", ", opt.shuffles, " and ", opt.radius_surrogates);
  }
  TorusAnalysis out;
  PCA<S> pca;
  pca.fit(grid.activity);
  out.explained_variance_ratio = pca.explained_variance_ratio();
  out.participation_ratio = participation_ratio(pca.explained_variance());
  const detail::TorusSpaceFit<S> space = detail::torus_space(grid, opt, pca);
  const MatrixX<S>& y = space.y;
  out.space = space.space;
  out.fundamental_capture = space.capture;
  out.noise_sd = std::sqrt(space.noise_var);

  const auto stats = [&](const MatrixX<S>& x, FamilyParallelism& p1, FamilyParallelism& p2) {
    const auto r1 = fit_rings(x, grid.n1, grid.n2, RingFamily::Theta1);
    const auto r2 = fit_rings(x, grid.n1, grid.n2, RingFamily::Theta2);
    p1 = parallelism(r1);
    p2 = parallelism(r2);
    return orthogonality(r1, r2);
  };
  out.orthogonality = stats(y, out.theta1_rings, out.theta2_rings);
  out.radius_ratio = out.theta1_rings.mean_radius > 0
                         ? out.theta2_rings.mean_radius / out.theta1_rings.mean_radius
                         : std::numeric_limits<double>::infinity();

  std::mt19937_64 rng(opt.seed);
  std::vector<Eigen::Index> perm(static_cast<std::size_t>(y.cols()));
  int below1 = 0, below2 = 0, below_o = 0;
  MatrixX<S> shuffled(y.rows(), y.cols());
  for (int s = 0; s < opt.shuffles; ++s) {
    for (std::size_t k = 0; k < perm.size(); ++k) {
      perm[k] = Eigen::Index(k);
    }
    std::shuffle(perm.begin(), perm.end(), rng);
    for (Eigen::Index c = 0; c < y.cols(); ++c) {
      shuffled.col(c) = y.col(perm[static_cast<std::size_t>(c)]);
    }
    FamilyParallelism n1, n2;
    const double o = stats(shuffled, n1, n2);
    below1 += n1.mean_largest_angle <= out.theta1_rings.mean_largest_angle;
    below2 += n2.mean_largest_angle <= out.theta2_rings.mean_largest_angle;
    below_o += o <= out.orthogonality;
  }
  const double denom = 1.0 + opt.shuffles;
  out.theta1_rings.p_value = (1.0 + below1) / denom;
  out.theta2_rings.p_value = (1.0 + below2) / denom;
  out.orthogonality_p = (1.0 + below_o) / denom;

  // An angle that does not move the activity (a ring of one angle, e.g. before the second
  // stimulus of a working-memory trial) leaves its rings as points with arbitrary planes: no
  // radius test, and the verdict below is Neither.
  const double rmax = std::max(out.theta1_rings.mean_radius, out.theta2_rings.mean_radius);
  const double rmin = std::min(out.theta1_rings.mean_radius, out.theta2_rings.mean_radius);
  const bool one_angle = !(rmin > 1e-6 * rmax);

  // Equal-radii surrogates: Clifford tori with both radii the geometric mean of the observed
  // ones, in as many units, on the same grid, with the estimated noise, through the same space
  // and ring fits. The noise inflates and scatters the radii; the surrogates carry it.
  if (opt.radius_surrogates > 0 && !one_angle) {
    // a ring's radius carries about 2 noise variances (its plane's share); the surrogates add
    // their own, so the common radius is taken without it
    const double r0 = std::sqrt(std::max(
        out.theta1_rings.mean_radius * out.theta2_rings.mean_radius - 2.0 * space.noise_var,
        1e-12 * out.theta1_rings.mean_radius * out.theta2_rings.mean_radius));
    const double observed = std::abs(std::log(out.radius_ratio));
    int as_far = 0;
    for (int s = 0; s < opt.radius_surrogates; ++s) {
      const TorusGridSpec spec{.units = grid.activity.rows(), .n1 = grid.n1, .n2 = grid.n2,
                               .noise = out.noise_sd, .seed = rng()};
      const AngleGrid sur = detail::make_torus<S>(spec, 4, [&](double a, double b, VectorX<S>& c) {
        c << r0 * std::cos(a), r0 * std::sin(a), r0 * std::cos(b), r0 * std::sin(b);
      });
      PCA<S> sur_pca;
      sur_pca.fit(sur.activity);
      const auto sy = detail::torus_space(sur, opt, sur_pca, space.space).y;
      as_far += std::abs(std::log(detail::radius_ratio(sy, grid.n1, grid.n2))) >= observed;
    }
    out.radius_ratio_p = (1.0 + as_far) / (1.0 + opt.radius_surrogates);
  }

  const double gap3 = space.gap3, gap4 = space.gap4;
  const auto is_parallel = [&](const FamilyParallelism& f) {
    return f.mean_largest_angle < opt.parallel_angle && f.p_value < opt.alpha;
  };
  const bool par1 = is_parallel(out.theta1_rings);
  const bool par2 = is_parallel(out.theta2_rings);
  const double deg = 180.0 / std::numbers::pi;
  const bool fundamentals = space.space == TorusSpace::Fundamentals;
  out.reason = dendrite::detail::concat(
      fundamentals ? "fundamental planes (top components hold " : "top components (they hold ",
      space.capture, " of them); ", fundamentals ? "lambda3/max(lambda4, noise) " : "lambda3/lambda4 ",
      gap3, fundamentals ? ", lambda4/noise " : ", lambda4/lambda5 ", gap4, "; theta1-rings ",
      par1 ? "parallel" : "not parallel", " (mean largest angle ",
      out.theta1_rings.mean_largest_angle * deg, " deg, p ", out.theta1_rings.p_value,
      "); theta2-rings ", par2 ? "parallel" : "not parallel", " (",
      out.theta2_rings.mean_largest_angle * deg, " deg, p ", out.theta2_rings.p_value,
      "); orthogonality ", out.orthogonality, " (p ", out.orthogonality_p, "); radius ratio ",
      out.radius_ratio, " (p ", out.radius_ratio_p, ", noise sd ", out.noise_sd, ")");
  // Radii are unequal when the ratio leaves the window and equal-radii surrogates with this
  // noise rarely leave 1 as far.
  const bool in_window = out.radius_ratio <= opt.radius_ratio_max &&
                         out.radius_ratio >= 1.0 / opt.radius_ratio_max;
  const bool equal_radii = in_window || out.radius_ratio_p >= opt.alpha;
  // With unequal radii the shuffle null of the smaller family is uninformative: shuffled points
  // spread mostly along the larger circle, so every shuffled "ring" lies near its plane and looks
  // parallel. There the smaller family must be parallel by angle only.
  const bool small1 = out.theta1_rings.mean_radius < out.theta2_rings.mean_radius;
  const bool flat_unequal =
      !equal_radii && gap4 >= opt.spectrum_gap &&
      out.theta1_rings.mean_largest_angle < opt.parallel_angle &&
      out.theta2_rings.mean_largest_angle < opt.parallel_angle && (small1 ? par2 : par1) &&
      out.orthogonality < opt.orthogonal_max && out.orthogonality_p < opt.alpha;
  if (one_angle) {
    out.classification = TorusClass::Neither;
    out.reason = dendrite::detail::concat(
        out.theta1_rings.mean_radius < out.theta2_rings.mean_radius ? "theta1" : "theta2",
        " does not move the activity (ring radius ", rmin, " against ", rmax, "): a ring, not a torus; ",
        out.reason);
    return out;
  }
  if (gap4 >= opt.spectrum_gap && par1 && par2 && out.orthogonality < opt.orthogonal_max &&
      out.orthogonality_p < opt.alpha && equal_radii) {
    out.classification = TorusClass::Clifford;
  } else if (flat_unequal) {
    out.classification = TorusClass::FlatUnequal;
  } else if (gap3 >= opt.spectrum_gap && par1 != par2 && out.orthogonality >= opt.standard_min &&
             out.orthogonality <= opt.standard_max) {
    out.classification = TorusClass::Standard;
  } else {
    out.classification = TorusClass::Neither;
  }
  return out;
}

}  // namespace dendrite::geometry
