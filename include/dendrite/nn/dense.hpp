// SPDX-License-Identifier: MIT
/// @file
/// Fully connected layer y = f(W x + b), PyTorch's nn.Linear followed by an activation:
/// weight (Out x In), bias (Out), named as in a state_dict. Initialised as PyTorch does,
/// U(-1/sqrt(In), 1/sqrt(In)) for both.
/// Forms: `step(x, y)` (real time, lanes = independent samples; a non-finite input lane leaves
/// its output untouched and is reported), `forward(X)` (In x N -> Out x N), and
/// `forward(tape, x)` (any number of columns).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include <dendrite/autodiff/ops.hpp>
#include <dendrite/config.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/nn/activation.hpp>
#include <dendrite/nn/detail/kernels.hpp>
#include <dendrite/nn/detail/module.hpp>
#include <dendrite/nn/options.hpp>
#include <dendrite/rt/contract.hpp>

namespace dendrite::nn {

template <Real T, int In, int Out, class Activation = Identity>
class Dense {
  static_assert(In > 0 && Out > 0, "Dense: In and Out must be positive");

  // The sizes as std::size_t, for spans and loops; input_size and output_size are the
  // public names.
  static constexpr std::size_t kIn = In;
  static constexpr std::size_t kOut = Out;

 public:
  using value_type = T;
  using Scalar = scalar_t<T>;
  using Matrix = autodiff::Mat<Scalar>;
  using Param = autodiff::Parameter<Scalar>;
  static constexpr int input_size = In;
  static constexpr int output_size = Out;

  Param weight{Out, In};
  Param bias = Param::vector(Out);

  /// Weights drawn as PyTorch's nn.Linear, U(-1/sqrt(In), 1/sqrt(In)), from `options.seed`.
  explicit Dense(const BlockOptions& options = {}) {
    static_assert(rt::StreamingBlock<Dense> && rt::Trainable<Dense>);
    init(options.seed);
  }

  /// Nothing to clear: a Dense layer has no running state. Real-time safe.
  DENDRITE_REALTIME void reset() noexcept {}
  /// 0: the output answers the input of the same step.
  [[nodiscard]] std::size_t latency_samples() const noexcept { return 0; }
  /// FLOPs of one step, all lanes (rt/contract.hpp): W x (2 In Out), + b, f
  static constexpr std::size_t flops_per_step() noexcept {
    return lanes_v<T> * (2 * kIn * kOut + kOut + kOut * Activation::flops);
  }
  /// Bytes one step reads: weights and biases.
  static constexpr std::size_t bytes_per_step() noexcept {
    return sizeof(Scalar) * (kIn * kOut + kOut);
  }

  void init(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    const double bound = 1.0 / std::sqrt(double(In));
    detail::init_uniform(weight, bound, rng);
    detail::init_uniform(bias, bound, rng);
  }

  [[nodiscard]] std::array<std::pair<std::string_view, Param*>, 2> named_parameters() noexcept {
    return {{{"weight", &weight}, {"bias", &bias}}};
  }
  [[nodiscard]] std::vector<Param*> parameters() { return {&weight, &bias}; }

  /// y = f(W x + b). Real-time safe.
  DENDRITE_REALTIME Status step(std::span<const T, kIn> x, std::span<T, kOut> y) const noexcept {
    const std::array<T, kIn> x_flushed = flush_denormals(x);  // denormals cost 10-100x
    x = std::span<const T, kIn>(x_flushed);
    const mask_t<T> finite = all_finite(x);
    std::array<T, kOut> acc;
    detail::gemv_bias<T, kOut, kIn>(weight.value.data(), x.data(), bias.value.data(), acc.data());
    std::array<T, kOut> out;
    detail::vmap<T, kOut>([](auto v) { return Activation::apply(v); }, out.data(), acc.data());
    for (std::size_t i = 0; i < kOut; ++i) y[i] = dendrite::select<T>(finite, out[i], y[i]);
    return all_of(finite) ? Status::Ok : Status::RejectedNonFinite;
  }

  /// Y = f(W X + b) for X of In x N.
  template <class Derived>
  [[nodiscard]] Matrix forward(const Eigen::MatrixBase<Derived>& x) const {
    static_assert(std::is_same_v<typename Derived::Scalar, Scalar>,
                  "Dense::forward: the input must have the weights' scalar type");
    detail::check_rows("Dense::forward", x.rows(), x.cols(), In);
    Matrix y = weight.value * x;
    y.colwise() += bias.value.col(0);
    return Activation::array(y.array()).matrix();
  }

  autodiff::Var<Scalar> forward(autodiff::Tape<Scalar>& t, autodiff::Var<Scalar> x) {
    detail::check_rows("Dense::forward(tape)", x.rows(), x.cols(), In);
    return Activation::tape(autodiff::addmm(t.param(bias), t.param(weight), x));
  }
};

}  // namespace dendrite::nn
