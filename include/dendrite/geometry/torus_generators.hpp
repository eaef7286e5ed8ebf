// SPDX-License-Identifier: MIT
/// @file
/// Synthetic tori sampled on the grid of two angles that `analyze_torus` (torus.hpp) takes, for
/// tests, examples and null distributions: a Clifford-type torus (two circles in orthogonal
/// planes, radii r1 and r2) and a standard torus (a tube of radius r around a circle of radius
/// R), each embedded in R^units by a random orthonormal map, plus iid Gaussian noise.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>

#include <Eigen/Core>

#include <dendrite/core/analysis.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/geometry/torus.hpp>

namespace dendrite::geometry {

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
[[nodiscard]] Eigen::MatrixXd random_embedding(Eigen::Index n, Eigen::Index k,
                                               std::mt19937_64& rng) {
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

template <class F>
[[nodiscard]] AngleGrid make_torus(const TorusGridSpec& spec, Eigen::Index dims, F coords) {
  if (spec.n1 < 3 || spec.n2 < 3) {
    DENDRITE_THROW(dimension_error, "torus generator: need at least 3 x 3 grid points, got ",
                   spec.n1, " x ", spec.n2);
  }
  std::mt19937_64 rng(spec.seed);
  const Eigen::MatrixXd u = random_embedding(spec.units, dims, rng);
  std::normal_distribution<double> normal(0.0, spec.noise);
  AngleGrid g{Eigen::MatrixXd(spec.units, spec.n1 * spec.n2), spec.n1, spec.n2};
  Eigen::VectorXd c(dims);
  for (Eigen::Index j = 0; j < spec.n2; ++j) {
    for (Eigen::Index i = 0; i < spec.n1; ++i) {
      coords(2.0 * std::numbers::pi * double(i) / double(spec.n1),
             2.0 * std::numbers::pi * double(j) / double(spec.n2), c);
      auto col = g.activity.col(i + spec.n1 * j);
      col = u * c;
      if (spec.noise > 0) {
        for (Eigen::Index k = 0; k < spec.units; ++k) {
          col(k) += normal(rng);
        }
      }
    }
  }
  return g;
}

}  // namespace detail

/// Clifford-type torus r1 (cos 2a, sin 2a, 0, 0) + r2 (0, 0, cos 2b, sin 2b) on the grid
/// a = pi i / n1, b = pi j / n2, embedded in R^units by a random orthonormal map, plus noise.
template <AnalysisScalar S = double>
[[nodiscard]] AngleGrid clifford_torus(const TorusGridSpec& spec, double r1 = 1.0,
                                       double r2 = 1.0) {
  return detail::make_torus(spec, 4, [&](double a2, double b2, VectorX<S>& c) {
    c << r1 * std::cos(a2), r1 * std::sin(a2), r2 * std::cos(b2), r2 * std::sin(b2);
  });
}

/// Standard torus ((R + r cos 2b) cos 2a, (R + r cos 2b) sin 2a, r sin 2b), R > r, on the same grid
/// and embedding: theta1 runs around the big circle, theta2 around the tube.
template <AnalysisScalar S = double>
[[nodiscard]] AngleGrid standard_torus(const TorusGridSpec& spec, double big_r = 2.0,
                                       double small_r = 1.0) {
  if (!(big_r > small_r && small_r > 0)) {
    DENDRITE_THROW(numerical_error, "standard_torus: need R > r > 0, got R = ", big_r,
                   ", r = ", small_r);
  }
  return detail::make_torus(spec, 3, [&](double a2, double b2, VectorX<S>& c) {
    const double ring = big_r + small_r * std::cos(b2);
    c << ring * std::cos(a2), ring * std::sin(a2), small_r * std::sin(b2);
  });
}

}  // namespace dendrite::geometry
