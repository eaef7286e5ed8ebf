// SPDX-License-Identifier: MIT
// Must not compile: a part of a Sequential that is not a dendrite block (no reset(), no
// latency_samples()). The error must say that every part must be a block.
#include <dendrite/nn.hpp>

struct NotABlock {
  using value_type = float;
  using Scalar = float;
  static constexpr int input_size = 4;
  static constexpr int output_size = 4;
};

int main() {
  dendrite::nn::Sequential<dendrite::nn::Dense<float, 4, 4>, NotABlock> bad;
  (void)bad;
}
