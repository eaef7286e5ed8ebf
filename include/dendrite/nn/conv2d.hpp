// SPDX-License-Identifier: MIT
/// @file
/// Conv2D<T, Cin, Cout, KH, KW>: PyTorch's nn.Conv2d over maps (see maps.hpp), weight
/// (Cout, Cin, KH, KW) stored as Cout x (Cin KH KW):
///   y[o, i, j] = b[o] + sum_{c,u,v} W[o, c, u, v] x[c, i s + u - p, j s + v - p]
/// forward(Maps) and forward(tape, MapsVar); padding valid, same (stride 1) or zeros(p), and a
/// stride. No step form: a map is not a stream.
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
#include <dendrite/nn/conv_options.hpp>
#include <dendrite/nn/detail/kernels.hpp>
#include <dendrite/nn/detail/module.hpp>
#include <dendrite/nn/maps.hpp>
#include <dendrite/rt/contract.hpp>

namespace dendrite::nn {

/// 2-D convolution of C-channel maps (see the file comment).
template <Real T, int InCh, int OutCh, int KH, int KW = KH>
class Conv2D {
  static_assert(InCh > 0 && OutCh > 0 && KH > 0 && KW > 0,
                "Conv2D: channels and kernel sizes must be positive");
  static_assert(!is_batch_v<T>, "Conv2D: maps are analysis data; use float or double");

 public:
  using value_type = T;
  using Scalar = T;
  using Matrix = autodiff::Mat<Scalar>;
  using Param = autodiff::Parameter<Scalar>;
  static constexpr int input_size = InCh;  // channels
  static constexpr int output_size = OutCh;

  Param weight{OutCh, Index(InCh) * KH * KW};
  Param bias = Param::vector(OutCh);

  explicit Conv2D(const ConvOptions& options = {}) : options_(options) {
    static_assert(rt::Block<Conv2D> && rt::Trainable<Conv2D>);
    (void)detail::padding_of("Conv2D", options_, KH, 1, false);
    (void)detail::padding_of("Conv2D", options_, KW, 1, false);
    init(options_.seed);
  }
  /// Nothing to clear: a Conv2D over maps has no running state. Real-time safe.
  DENDRITE_REALTIME void reset() noexcept {}
  /// 0: the output answers the input of the same step.
  [[nodiscard]] std::size_t latency_samples() const noexcept { return 0; }


  void init(std::uint64_t seed) {
    detail::init_conv(weight, bias, Index(InCh) * KH * KW, seed);
    weight.shape = {OutCh, InCh, KH, KW};
  }
  [[nodiscard]] const ConvOptions& options() const noexcept { return options_; }

  [[nodiscard]] std::array<std::pair<std::string_view, Param*>, 2> named_parameters() noexcept {
    return {{{"weight", &weight}, {"bias", &bias}}};
  }
  [[nodiscard]] std::vector<Param*> parameters() { return {&weight, &bias}; }

  /// The geometry for maps of `in` (whose channels must be InCh).
  [[nodiscard]] autodiff::Conv2DShape shape(const MapShape& in) const {
    const auto [top, bottom] = detail::padding_of("Conv2D", options_, KH, 1, false);
    const auto [left, right] = detail::padding_of("Conv2D", options_, KW, 1, false);
    return {InCh, OutCh, KH, KW, options_.stride, top, bottom, left, right, in.height, in.width};
  }
  /// The shape of the output maps.
  [[nodiscard]] MapShape output_shape(const MapShape& in) const {
    const autodiff::Conv2DShape s = shape(in);
    return {OutCh, s.out_height(), s.out_width()};
  }

  [[nodiscard]] Maps<Scalar> forward(const Maps<Scalar>& x) const {
    detail::check_maps("Conv2D::forward", x.shape, x.data.rows(), InCh);
    const autodiff::Conv2DShape s = shape(x.shape);
    kernels::check_conv2d("Conv2D::forward", s, x.data.rows(), x.data.cols(),
                                   weight.rows(), weight.cols(), bias.rows(), bias.cols());
    Maps<Scalar> y{Matrix(), output_shape(x.shape)};
    Matrix cols;
    kernels::conv2d_forward<Scalar>(x.data, weight.value, bias.value, s, cols, y.data);
    return y;
  }

  MapsVar<Scalar> forward(autodiff::Tape<Scalar>& t, const MapsVar<Scalar>& x) {
    detail::check_maps("Conv2D::forward(tape)", x.shape, x.var.rows(), InCh);
    return {autodiff::conv2d(x.var, t.param(weight), t.param(bias), shape(x.shape)),
            output_shape(x.shape)};
  }

 private:
  ConvOptions options_;
};

}  // namespace dendrite::nn
