// SPDX-License-Identifier: MIT
/// @file
/// Setup helpers shared by the streaming ICA engines and blocks, for D x D column-major matrices
/// of `T` (one matrix per lane): the identity, a seeded random rotation (QR of a Gaussian
/// matrix), a double matrix copied into every lane, and one lane read back as an Eigen matrix.
/// Not real-time except `set_identity`. Internal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include <Eigen/Core>
#include <Eigen/QR>

#include <dendrite/core/analysis.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>

namespace dendrite::ica::detail {

/// a = I (D x D, column-major).
template <Real T>
void set_identity(T* a, std::size_t d) noexcept {
  for (std::size_t j = 0; j < d; ++j) {
    for (std::size_t i = 0; i < d; ++i) a[j * d + i] = T(i == j ? scalar_t<T>(1) : scalar_t<T>(0));
  }
}

/// A random orthogonal d x d matrix from `seed` (the Q of a Gaussian matrix's QR).
template <AnalysisScalar S = double>
MatrixX<S> random_rotation(Eigen::Index d, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<S> normal;
  MatrixX<S> g(d, d);
  for (auto& v : g.reshaped()) v = normal(rng);
  return Eigen::HouseholderQR<MatrixX<S>>(g).householderQ();
}

/// Every lane of `out` (D x D column-major) set to `m`.
template <Real T, class Alloc>
void broadcast_matrix(const Eigen::MatrixXd& m, std::vector<T, Alloc>& out) {
  const auto d = std::size_t(m.rows());
  for (std::size_t j = 0; j < d; ++j) {
    for (std::size_t i = 0; i < d; ++i) {
      out[j * d + i] = broadcast<T>(m(Eigen::Index(i), Eigen::Index(j)));
    }
  }
}

/// Lane `lane_index` of a D x D column-major matrix of `T`, as doubles.
template <Real T, class Alloc>
Eigen::MatrixXd lane_matrix(const std::vector<T, Alloc>& a, std::size_t d,
                            std::size_t lane_index) {
  Eigen::MatrixXd m(static_cast<Eigen::Index>(d), static_cast<Eigen::Index>(d));
  for (std::size_t j = 0; j < d; ++j) {
    for (std::size_t i = 0; i < d; ++i) {
      m(Eigen::Index(i), Eigen::Index(j)) = double(lane(a[j * d + i], lane_index));
    }
  }
  return m;
}

/// Lane `lane_index` of a vector of `T`, as doubles.
template <Real T, class Alloc>
Eigen::VectorXd lane_vector(const std::vector<T, Alloc>& a, std::size_t lane_index) {
  Eigen::VectorXd v(static_cast<Eigen::Index>(a.size()));
  for (std::size_t i = 0; i < a.size(); ++i) v(Eigen::Index(i)) = double(lane(a[i], lane_index));
  return v;
}

}  // namespace dendrite::ica::detail
