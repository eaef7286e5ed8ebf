// SPDX-License-Identifier: MIT
/// @file
/// The settings every nn block is constructed from. Blocks with settings of their own take a
/// struct that ends with the same `seed` field (`RNNOptions`, `ConvOptions`,
/// `AttentionOptions`), so every block is built the same way:
///
///     nn::GRU<float, 32, 64> gru({.seed = 7});
///     nn::Conv1D<float, 8, 8, 3> conv({.padding = nn::Padding::Causal, .seed = 7});
#pragma once

#include <cstdint>

namespace dendrite::nn {

/// Settings of a block that has no others than its initial weights.
struct BlockOptions {
  std::uint64_t seed = 0;  ///< the initial weights are drawn from this seed (PyTorch's schemes)
};

}  // namespace dendrite::nn
