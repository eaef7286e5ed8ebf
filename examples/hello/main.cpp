// SPDX-License-Identifier: MIT
// Prints the library version, the SIMD instruction set xsimd chose at compile time, and how many
// independent streams one batch step advances.
#include <cstdio>

#include <dendrite/dendrite.hpp>

int main() {
  std::printf("dendrite %s\n", DENDRITE_VERSION_STRING);
  std::printf("SIMD architecture: %s\n", dendrite::simd_arch_name());
  std::printf("float lanes: %zu, double lanes: %zu\n", dendrite::lanes_v<dendrite::batchf>,
              dendrite::lanes_v<dendrite::batchd>);
  // One call evaluates the logistic function on every lane.
  const auto x = dendrite::broadcast<dendrite::batchf>(2.0);
  std::printf("sigmoid(2) on every lane: %.6f\n",
              static_cast<double>(dendrite::lane(dendrite::sigmoid(x), 0)));
  return 0;
}
