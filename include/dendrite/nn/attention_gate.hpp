// SPDX-License-Identifier: MIT
/// @file
/// AttentionGate<T, Body, C, K = 3>: the attention-mask generator head of attention-guided
/// GANs (Mejjati et al. 2018, AGGAN; Tang et al. 2019): Body maps C-channel maps to features,
/// a K x K 'same' conv of them gives C content channels and one mask channel, and
///   y = m * tanh(content) + (1 - m) * x,   m = sigmoid(mask) in [0, 1] per pixel,
/// the mask shared by the channels. `mask()` holds the mask of the last forward (1 x H x W
/// maps), `mask_var()` the tape's.
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

/// The attention-mask generator head (see the file comment).
template <Real T, class Body, int C, int K = 3>
class AttentionGate {
  static_assert(!is_batch_v<T>, "AttentionGate: maps are analysis data; use float or double");
  static_assert(Body::input_size == C,
                "AttentionGate: the body's input channels must be the gate's channels");
  static_assert(Body::output_size > 0, "AttentionGate: the body must have a fixed channel count");

 public:
  using value_type = T;
  using Scalar = T;
  using Matrix = autodiff::Mat<Scalar>;
  using Param = autodiff::Parameter<Scalar>;
  using Head = Conv2D<T, Body::output_size, C + 1, K, K>;
  static constexpr int input_size = C;
  static constexpr int output_size = C;

  Body body;
  Head head;

  /// A default-constructed body; the head's weights from `options.seed`.
  explicit AttentionGate(const BlockOptions& options = {})
      : body(), head({.padding = Padding::Same, .seed = options.seed}) {
    static_assert(rt::Block<AttentionGate> && rt::Trainable<AttentionGate>);
  }
  AttentionGate(Body b, const BlockOptions& options)
      : body(std::move(b)), head({.padding = Padding::Same, .seed = options.seed}) {}

  /// Nothing to clear: the gate works on whole maps. Real-time safe.
  DENDRITE_REALTIME void reset() noexcept {}
  /// 0: the output answers the input of the same step.
  [[nodiscard]] std::size_t latency_samples() const noexcept { return 0; }


  [[nodiscard]] detail::NamedParameters<Scalar> named_parameters() {
    detail::NamedParameters<Scalar> out;
    detail::append_named_parameters(out, "body.", body);
    detail::append_named_parameters(out, "head.", head);
    return out;
  }
  [[nodiscard]] std::vector<Param*> parameters() {
    return detail::parameters_of(named_parameters());
  }

  [[nodiscard]] Maps<Scalar> forward(const Maps<Scalar>& x) {
    detail::check_maps("AttentionGate::forward", x.shape, x.data.rows(), C);
    const Maps<Scalar> f = body.forward(x);
    check_extent(f.shape, x.shape);
    const Maps<Scalar> h = head.forward(f);
    const Index hw = x.shape.height * x.shape.width;
    mask_ = Maps<Scalar>{h.data.bottomRows(hw).array().logistic().matrix(), {1, x.shape.height, x.shape.width}};
    Maps<Scalar> y{Matrix(x.data.rows(), x.data.cols()), x.shape};
    for (Index c = 0; c < C; ++c) {
      const auto m = mask_.data.array();
      y.data.middleRows(c * hw, hw).array() =
          m * h.data.middleRows(c * hw, hw).array().tanh() + (1 - m) * x.data.middleRows(c * hw, hw).array();
    }
    return y;
  }

  MapsVar<Scalar> forward(autodiff::Tape<Scalar>& t, const MapsVar<Scalar>& x) {
    detail::check_maps("AttentionGate::forward(tape)", x.shape, x.var.rows(), C);
    const MapsVar<Scalar> f = body.forward(t, x);
    check_extent(f.shape, x.shape);
    const MapsVar<Scalar> h = head.forward(t, f);
    const Index hw = x.shape.height * x.shape.width;
    const autodiff::Var<Scalar> content = autodiff::tanh(autodiff::slice_rows(h.var, 0, C * hw));
    const autodiff::Var<Scalar> m = autodiff::sigmoid(autodiff::slice_rows(h.var, C * hw, hw));
    mask_var_ = {m, {1, x.shape.height, x.shape.width}};
    mask_ = Maps<Scalar>{m.value(), mask_var_.shape};
    const autodiff::Var<Scalar> mc = detail::repeat_channels<C>(m);
    return {mc * content + (Scalar(1) - mc) * x.var, x.shape};
  }

  /// The mask m of the last forward: 1 x H x W maps, one per input map.
  [[nodiscard]] const Maps<Scalar>& mask() const noexcept { return mask_; }
  /// The mask of the last tape forward, on the tape (e.g. for a mask penalty).
  [[nodiscard]] const MapsVar<Scalar>& mask_var() const noexcept { return mask_var_; }

 private:
  static void check_extent(const MapShape& f, const MapShape& x) {
    if (f.height != x.height || f.width != x.width) {
      DENDRITE_THROW(dimension_error, "AttentionGate: the body must keep the map size ",
                     x.height, " x ", x.width, ", got ", f.height, " x ", f.width);
    }
  }

  Maps<Scalar> mask_;
  MapsVar<Scalar> mask_var_;
};

}  // namespace dendrite::nn
