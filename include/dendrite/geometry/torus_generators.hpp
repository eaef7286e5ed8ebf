// SPDX-License-Identifier: MIT
/// @file
/// Synthetic tori sampled on the grid of two angles that `analyze_torus` (torus.hpp) takes, for
/// tests, examples and null distributions: a Clifford-type torus (two circles in orthogonal
/// planes, radii r1 and r2), a standard torus (a tube of radius r around a circle of radius R),
/// and a non-torus (a Gaussian cloud that ignores the angles), each embedded in R^units by a
/// random orthonormal map, plus iid Gaussian noise.
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

/// Clifford-type torus r1 (cos 2a, sin 2a, 0, 0) + r2 (0, 0, cos 2b, sin 2b) on the grid
/// a = pi i / n1, b = pi j / n2, embedded in R^units by a random orthonormal map, plus noise.
template <AnalysisScalar S = double>
[[nodiscard]] AngleGrid clifford_torus(const TorusGridSpec& spec, double r1 = 1.0,
                                       double r2 = 1.0) {
  return detail::make_torus<S>(spec, 4, [&](double a2, double b2, VectorX<S>& c) {
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
  return detail::make_torus<S>(spec, 3, [&](double a2, double b2, VectorX<S>& c) {
    const double ring = big_r + small_r * std::cos(b2);
    c << ring * std::cos(a2), ring * std::sin(a2), small_r * std::sin(b2);
  });
}

/// A non-torus on the same grid: each grid point an independent draw of N(0, sd^2 I) in `dims`
/// dimensions, whatever its angles, embedded and noised like the tori. With dims = 4 and
/// sd = r / sqrt(2) it has the variance of clifford_torus(spec, r, r).
template <AnalysisScalar S = double>
[[nodiscard]] AngleGrid gaussian_cloud(const TorusGridSpec& spec, Eigen::Index dims = 4,
                                       double sd = 1.0) {
  if (dims < 1 || !(sd >= 0)) {
    DENDRITE_THROW(dimension_error, "gaussian_cloud: need dims >= 1 and sd >= 0, got ", dims,
                   " and ", sd);
  }
  std::mt19937_64 rng(spec.seed ^ 0x9e3779b97f4a7c15ULL);  // apart from the embedding's draws
  std::normal_distribution<double> normal;
  return detail::make_torus<S>(spec, dims, [&](double, double, VectorX<S>& c) {
    for (Eigen::Index k = 0; k < dims; ++k) c(k) = sd * normal(rng);
  });
}

}  // namespace dendrite::geometry
