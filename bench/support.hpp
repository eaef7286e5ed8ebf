// SPDX-License-Identifier: MIT
// Shared benchmark inputs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <random>

#include <Eigen/Core>

#include <dendrite/core/simd.hpp>

namespace dendrite::bench {

/// N samples of D standard-normal values (every lane equal), to cycle through in a timed loop.
template <class T, std::size_t D, std::size_t N>
std::array<std::array<T, D>, N> normal_samples(std::uint64_t seed) {
  std::array<std::array<T, D>, N> xs{};
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  for (auto& x : xs) {
    for (auto& v : x) {
      v = dendrite::broadcast<T>(normal(rng));
    }
  }
  return xs;
}

/// Streams columns [from, to) of x (D x n, double) through a float network, one sample a step.
template <int D, class Net>
void stream_columns(Net& net, const Eigen::MatrixXd& x, Eigen::Index from, Eigen::Index to) {
  std::array<float, std::size_t(D)> in{}, out{};
  for (Eigen::Index i = from; i < to; ++i) {
    for (int c = 0; c < D; ++c) in[std::size_t(c)] = float(x(c, i));
    (void)net.step(in, out);
  }
}

}  // namespace dendrite::bench
