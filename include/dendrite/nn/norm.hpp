// SPDX-License-Identifier: MIT
/// @file
/// Normalisation layers (plain arithmetic in kernels/normalize.hpp):
///   LayerNorm<T, N>      y = (x - mean) / sqrt(var + eps) * weight + bias over the N features of
///                        each sample (Ba et al. 2016; PyTorch's nn.LayerNorm(N), eps 1e-5,
///                        weight 1, bias 0); with a real-time step
///   InstanceNorm<T, C>   each channel of each map normalised over its H W positions (Ulyanov et
///                        al. 2016; PyTorch's nn.InstanceNorm2d(C) defaults: no affine, no running
///                        statistics, eps 1e-5); maps only
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include <dendrite/autodiff/conv_ops.hpp>
#include <dendrite/autodiff/nn_ops.hpp>
#include <dendrite/autodiff/ops.hpp>
#include <dendrite/config.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/math.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/kernels/normalize.hpp>
#include <dendrite/kernels/resample.hpp>
#include <dendrite/nn/activation.hpp>
#include <dendrite/nn/detail/kernels.hpp>
#include <dendrite/nn/detail/module.hpp>
#include <dendrite/nn/detail/stateless.hpp>
#include <dendrite/nn/maps.hpp>
#include <dendrite/rt/contract.hpp>

namespace dendrite::nn {

/// Layer normalisation over the N features of each sample, with a learnable affine map.
template <Real T, int N>
class LayerNorm {
  static_assert(N > 1, "LayerNorm: N must be at least 2");

  // The sizes as std::size_t, for spans and loops; input_size and output_size are the
  // public names.
  static constexpr std::size_t kN = N;

 public:
  using Scalar = scalar_t<T>;
  using Matrix = autodiff::Mat<Scalar>;
  using Param = autodiff::Parameter<Scalar>;
  using value_type = T;
  static constexpr int input_size = N;
  static constexpr int output_size = N;

  Param weight = ones_vector();  // PyTorch's LayerNorm weight and bias are 1-D (N,)
  Param bias = Param::vector(N);

  explicit LayerNorm(Scalar eps = Scalar(1e-5)) noexcept : eps_(eps) {
    static_assert(rt::StreamingBlock<LayerNorm> && rt::Trainable<LayerNorm>);
  }
  /// Nothing to clear (no running statistics). Real-time safe.
  DENDRITE_REALTIME void reset() noexcept {}
  /// 0: the output answers the input of the same step.
  [[nodiscard]] std::size_t latency_samples() const noexcept { return 0; }
  /// FLOPs of one step, all lanes (rt/contract.hpp): mean (N), x - mean (N), the
  /// variance (2N), 1 / sqrt(var + eps) (3), y = d s w + b (3N).
  static constexpr std::size_t flops_per_step() noexcept {
    return lanes_v<T> * (7 * kN + 3);
  }
  /// Bytes one step reads: weights and biases.
  static constexpr std::size_t bytes_per_step() noexcept {
    return sizeof(Scalar) * (2 * kN);
  }

  [[nodiscard]] Scalar eps() const noexcept { return eps_; }

  [[nodiscard]] std::array<std::pair<std::string_view, Param*>, 2> named_parameters() noexcept {
    return {{{"weight", &weight}, {"bias", &bias}}};
  }
  [[nodiscard]] std::vector<Param*> parameters() { return {&weight, &bias}; }

  template <class Derived>
  [[nodiscard]] Matrix forward(const Eigen::MatrixBase<Derived>& x) const {
    detail::check_rows("LayerNorm::forward", x.rows(), x.cols(), N);
    Matrix y, inv_std;
    kernels::normalize_forward<Scalar>(x.derived(), N, eps_, y, inv_std);
    y.array().colwise() *= weight.value.col(0).array();
    y.colwise() += bias.value.col(0);
    return y;
  }
  autodiff::Var<Scalar> forward(autodiff::Tape<Scalar>& t, autodiff::Var<Scalar> x) {
    detail::check_rows("LayerNorm::forward(tape)", x.rows(), x.cols(), N);
    return autodiff::normalize(x, N, eps_) * t.param(weight) + t.param(bias);
  }

  /// One sample in, one out. Real-time safe.
  DENDRITE_REALTIME Status step(std::span<const T, kN> x, std::span<T, kN> y) const noexcept {
    const std::array<T, kN> x_flushed = flush_denormals(x);  // denormals cost 10-100x
    x = std::span<const T, kN>(x_flushed);
    const mask_t<T> finite = all_finite(x);
    T sum(0);
    for (std::size_t i = 0; i < kN; ++i)
      sum += x[i];
    const T mean = sum / T(Scalar(N));
    T sq(0);
    for (std::size_t i = 0; i < kN; ++i)
      sq += (x[i] - mean) * (x[i] - mean);
    const T inv = T(1) / dendrite::sqrt(sq / T(Scalar(N)) + T(eps_));
    const Scalar* w = weight.value.data();
    const Scalar* b = bias.value.data();
    for (std::size_t i = 0; i < kN; ++i) {
      y[i] = dendrite::select<T>(finite, (x[i] - mean) * inv * T(w[i]) + T(b[i]), y[i]);
    }
    return all_of(finite) ? Status::Ok : Status::RejectedNonFinite;
  }

 private:
  static Param ones_vector() {
    Param p = Param::vector(N);
    p.value.setOnes();
    return p;
  }
  Scalar eps_;
};

/// Instance normalisation of maps with C channels (see the file comment).
template <Real T, int C>
class InstanceNorm : public detail::Stateless<T> {
  static_assert(!is_batch_v<T>, "InstanceNorm: maps are analysis data; use float or double");

 public:
  using Scalar = T;
  static constexpr int input_size = C;
  static constexpr int output_size = C;

  explicit InstanceNorm(Scalar eps = Scalar(1e-5)) noexcept : eps_(eps) {}

  [[nodiscard]] Maps<Scalar> forward(const Maps<Scalar>& x) const {
    detail::check_maps("InstanceNorm::forward", x.shape, x.data.rows(), C);
    Maps<Scalar> y{{}, x.shape};
    autodiff::Mat<Scalar> inv_std;
    kernels::normalize_forward<Scalar>(x.data, x.shape.height * x.shape.width, eps_,
                                                y.data, inv_std);
    return y;
  }
  MapsVar<Scalar> forward(autodiff::Tape<Scalar>&, const MapsVar<Scalar>& x) const {
    detail::check_maps("InstanceNorm::forward(tape)", x.shape, x.var.rows(), C);
    return {autodiff::normalize(x.var, x.shape.height * x.shape.width, eps_), x.shape};
  }

 private:
  Scalar eps_;
};

}  // namespace dendrite::nn
