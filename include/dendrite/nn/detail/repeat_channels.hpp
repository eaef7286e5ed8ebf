// SPDX-License-Identifier: MIT
/// @file
/// A one-channel map on the tape repeated over C channels (the attention gate's and the
/// spatial map's mask, shared by every channel).
#pragma once

#include <cstddef>
#include <vector>

#include <dendrite/autodiff/ops.hpp>

namespace dendrite::nn::detail {

/// A one-channel map on the tape ((H W) rows) repeated over C channels ((C H W) rows).
template <int C, class S>
autodiff::Var<S> repeat_channels(autodiff::Var<S> m) {
  if constexpr (C == 1) {
    return m;
  } else {
    std::vector<autodiff::Var<S>> copies(static_cast<std::size_t>(C), m);
    return autodiff::concat_rows(copies);
  }
}

}  // namespace dendrite::nn::detail
