// SPDX-License-Identifier: MIT
/// @file
/// Seeded random inputs for tests: a stream of normal/uniform numbers, random matrices and random
/// orthonormal bases. Every helper takes an explicit seed so a failure can be replayed.
#pragma once

#include <cstdint>
#include <random>

#include <Eigen/Core>
#include <Eigen/QR>

namespace dendrite::test {

/// A reproducible stream of random numbers.
class SeededStream {
 public:
  explicit SeededStream(std::uint64_t seed) : engine_(seed) {}
  double normal(double mean = 0.0, double sd = 1.0) {
    return std::normal_distribution<double>(mean, sd)(engine_);
  }
  double uniform(double lo = 0.0, double hi = 1.0) {
    return std::uniform_real_distribution<double>(lo, hi)(engine_);
  }
  std::mt19937_64& engine() noexcept { return engine_; }

 private:
  std::mt19937_64 engine_;
};

/// rows x cols matrix with independent N(0, sd^2) entries.
template <class Scalar = double>
Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> random_matrix(Eigen::Index rows,
                                                                    Eigen::Index cols,
                                                                    std::uint64_t seed,
                                                                    double sd = 1.0) {
  SeededStream s(seed);
  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> m(rows, cols);
  for (Eigen::Index j = 0; j < cols; ++j) {
    for (Eigen::Index i = 0; i < rows; ++i) {
      m(i, j) = static_cast<Scalar>(s.normal(0.0, sd));
    }
  }
  return m;
}

/// n x k matrix with orthonormal columns (k <= n), Haar-distributed up to column signs.
inline Eigen::MatrixXd random_orthonormal(Eigen::Index n, Eigen::Index k, std::uint64_t seed) {
  const Eigen::MatrixXd g = random_matrix(n, k, seed);
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(g);
  return qr.householderQ() * Eigen::MatrixXd::Identity(n, k);
}

}  // namespace dendrite::test
