// SPDX-License-Identifier: MIT
// Must not compile: a Dense with 8 outputs joined to a Dense expecting 16 inputs. The error must
// name both sizes (layer_sizes_must_match<8, 16>).
#include <dendrite/nn.hpp>

int main() {
  dendrite::nn::Sequential<dendrite::nn::Dense<float, 4, 8>, dendrite::nn::Dense<float, 16, 2>> bad;
  (void)bad;
}
