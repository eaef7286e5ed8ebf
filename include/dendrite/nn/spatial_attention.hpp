// SPDX-License-Identifier: MIT
/// @file
/// SpatialAttention<T, C>: the discriminator-side map: a = sigmoid(w^T f + b) per pixel
/// (a 1 x 1 conv to one channel), y = a * f, `map()` holding a after each forward.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <dendrite/autodiff/nn_ops.hpp>
#include <dendrite/autodiff/ops.hpp>
#include <dendrite/config.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/kernels/attention.hpp>
#include <dendrite/nn/conv.hpp>
#include <dendrite/nn/conv2d.hpp>
#include <dendrite/nn/detail/kernels.hpp>
#include <dendrite/nn/detail/module.hpp>
#include <dendrite/nn/detail/repeat_channels.hpp>
#include <dendrite/nn/maps.hpp>
#include <dendrite/nn/options.hpp>
#include <dendrite/rt/contract.hpp>

namespace dendrite::nn {

/// The discriminator-side spatial attention map (see the file comment).
template <Real T, int C>
class SpatialAttention {
  static_assert(!is_batch_v<T>, "SpatialAttention: maps are analysis data; use float or double");

 public:
  using value_type = T;
  using Scalar = T;
  using Matrix = autodiff::Mat<Scalar>;
  using Param = autodiff::Parameter<Scalar>;
  static constexpr int input_size = C;
  static constexpr int output_size = C;

  Conv2D<T, C, 1, 1, 1> score;

  explicit SpatialAttention(const BlockOptions& options = {}) : score({.seed = options.seed}) {
    static_assert(rt::Block<SpatialAttention> && rt::Trainable<SpatialAttention>);
  }

  /// Nothing to clear: the map works on whole maps. Real-time safe.
  DENDRITE_REALTIME void reset() noexcept {}
  /// 0: the output answers the input of the same step.
  [[nodiscard]] std::size_t latency_samples() const noexcept { return 0; }


  [[nodiscard]] detail::NamedParameters<Scalar> named_parameters() {
    detail::NamedParameters<Scalar> out;
    detail::append_named_parameters(out, "score.", score);
    return out;
  }
  [[nodiscard]] std::vector<Param*> parameters() { return score.parameters(); }

  [[nodiscard]] Maps<Scalar> forward(const Maps<Scalar>& f) {
    const Maps<Scalar> a = score.forward(f);
    map_ = Maps<Scalar>{a.data.array().logistic().matrix(), a.shape};
    const Index hw = f.shape.height * f.shape.width;
    Maps<Scalar> y{Matrix(f.data.rows(), f.data.cols()), f.shape};
    for (Index c = 0; c < C; ++c) {
      y.data.middleRows(c * hw, hw) = f.data.middleRows(c * hw, hw).cwiseProduct(map_.data);
    }
    return y;
  }
  MapsVar<Scalar> forward(autodiff::Tape<Scalar>& t, const MapsVar<Scalar>& f) {
    const MapsVar<Scalar> a = score.forward(t, f);
    const autodiff::Var<Scalar> m = autodiff::sigmoid(a.var);
    map_var_ = {m, a.shape};
    map_ = Maps<Scalar>{m.value(), a.shape};
    const autodiff::Var<Scalar> mc = detail::repeat_channels<C>(m);
    return {f.var * mc, f.shape};
  }

  /// The attention map a of the last forward: 1 x H x W maps.
  [[nodiscard]] const Maps<Scalar>& map() const noexcept { return map_; }
  [[nodiscard]] const MapsVar<Scalar>& map_var() const noexcept { return map_var_; }

 private:
  Maps<Scalar> map_;
  MapsVar<Scalar> map_var_;
};

}  // namespace dendrite::nn
