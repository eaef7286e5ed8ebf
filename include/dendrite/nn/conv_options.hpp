// SPDX-License-Identifier: MIT
/// @file
/// Padding and the options of dendrite's convolutions (`Padding`, `ConvOptions`), and how
/// they turn into PyTorch's padding of each side.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include <dendrite/autodiff/conv_ops.hpp>
#include <dendrite/autodiff/ops.hpp>
#include <dendrite/config.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/kernels/conv.hpp>
#include <dendrite/nn/detail/kernels.hpp>
#include <dendrite/nn/detail/module.hpp>
#include <dendrite/nn/maps.hpp>
#include <dendrite/rt/contract.hpp>

namespace dendrite::nn {

/// Zero padding of a convolution.
enum class Padding {
  Valid,   ///< none (PyTorch's default)
  Same,    ///< output as long as the input (stride 1); total (K - 1) d, the odd one on the right
  Causal,  ///< 1-D: (K - 1) d on the left, so y[t] sees x[<= t]
  Zeros,   ///< `pad` zeros on every side (PyTorch's padding=int)
};

struct ConvOptions {
  Padding padding = Padding::Valid;
  int stride = 1;
  int pad = 0;  ///< for Padding::Zeros
  std::uint64_t seed = 0;  ///< the initial weights are drawn from this seed (PyTorch's scheme)
};

namespace detail {

/// (before, after) padding of one dimension.
inline std::pair<Index, Index> padding_of(std::string_view who, const ConvOptions& o, Index kernel,
                                          Index dilation, bool one_d) {
  if (o.stride < 1 || o.pad < 0) {
    DENDRITE_THROW(dimension_error, who, ": expected a positive stride and a padding >= 0, got ",
                   "stride ", o.stride, " and pad ", o.pad);
  }
  const Index total = (kernel - 1) * dilation;
  switch (o.padding) {
    case Padding::Valid:
      return {0, 0};
    case Padding::Same:
      if (o.stride != 1) {
        DENDRITE_THROW(dimension_error, who, ": padding 'same' needs stride 1, got stride ",
                       o.stride);
      }
      return {total / 2, total - total / 2};
    case Padding::Causal:
      if (!one_d) {
        DENDRITE_THROW(dimension_error, who, ": causal padding is for 1-D convolutions");
      }
      return {total, 0};
    case Padding::Zeros:
      return {o.pad, o.pad};
  }
  return {0, 0};
}

template <class S>
void init_conv(autodiff::Parameter<S>& w, autodiff::Parameter<S>& b, Index fan_in,
               std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const double bound = 1.0 / std::sqrt(double(fan_in));
  init_uniform(w, bound, rng);
  init_uniform(b, bound, rng);
}

}  // namespace detail

}  // namespace dendrite::nn
