// SPDX-License-Identifier: MIT
// Shared benchmark inputs.
#pragma once

#include <array>
#include <cstdint>
#include <random>

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

}  // namespace dendrite::bench
