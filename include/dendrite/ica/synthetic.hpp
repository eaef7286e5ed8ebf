// SPDX-License-Identifier: MIT
/// @file
/// The synthetic data set of Bahroun, Chklovskii & Sengupta (NeurIPS 2021, Fig. 2A), as their
/// notebook builds it (../shared/PAPERS.md 1.9): t = linspace(0, 1e-4 n, n) (about 10 kHz) and
///   s0 = sign(cos(2 pi 155 t))      square wave, kurtosis 1
///   s1 = sin(2 pi 180 t)            sine, kurtosis 1.5
///   s2 = sawtooth(2 pi 200 t)       ramp from -1 to 1, kurtosis 1.8
///   s3 = Laplace(0, 1)              kurtosis 6
/// mixed by A with entries uniform in [-0.5, 0.5]: x = A s. The sources are not standardised.
/// The random numbers come from the C++ standard library, not numpy, so the values differ from the
/// paper's while the distributions are the same.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>

#include <Eigen/Core>

#include <dendrite/core/analysis.hpp>
#include <dendrite/core/traits.hpp>

namespace dendrite::ica {

/// Sources, mixing matrix and mixtures of one draw.
struct SyntheticMixture {
  Eigen::MatrixXd sources;  ///< 4 x n
  Eigen::MatrixXd mixing;   ///< 4 x 4
  Eigen::MatrixXd mixed;    ///< 4 x n, mixing * sources
};

/// The paper's synthetic set with n samples; `seed` drives the Laplace source and the mixing.
template <AnalysisScalar S = double>
[[nodiscard]] SyntheticMixture bahroun_synthetic(Eigen::Index n = 10000, std::uint64_t seed = 101) {
  std::mt19937_64 rng(seed);
  SyntheticMixture m;
  m.sources.resize(4, n);
  std::exponential_distribution<double> expo(1.0);
  std::bernoulli_distribution coin(0.5);
  const double two_pi = 2.0 * std::numbers::pi;
  for (Eigen::Index i = 0; i < n; ++i) {
    const double t = n > 1 ? 1e-4 * double(n) * double(i) / double(n - 1) : 0.0;
    const double c = std::cos(two_pi * 155.0 * t);
    m.sources(0, i) = c > 0 ? 1.0 : (c < 0 ? -1.0 : 0.0);
    m.sources(1, i) = std::sin(two_pi * 180.0 * t);
    const double phase = 200.0 * t - std::floor(200.0 * t);  // sawtooth(2 pi f t) = 2 frac(f t) - 1
    m.sources(2, i) = 2.0 * phase - 1.0;
    m.sources(3, i) = coin(rng) ? expo(rng) : -expo(rng);  // Laplace(0, 1)
  }
  std::uniform_real_distribution<double> uni(-0.5, 0.5);
  m.mixing.resize(4, 4);
  for (auto& a : m.mixing.reshaped()) {
    a = uni(rng);
  }
  m.mixed = m.mixing * m.sources;
  return m;
}

}  // namespace dendrite::ica
