// SPDX-License-Identifier: MIT
/// @file
/// Elementwise activation layers (any size: in a Sequential they take the width of the block
/// before them):
///   Activation<T, F>   y = F(x), F one of the policies of activation.hpp (Tanh, Sigmoid, ReLU, ...)
///   LeakyReLU<T>       y = x if x > 0 else slope x (PyTorch's default slope 0.01; GANs use 0.2)
/// Each in the analysis form (matrix or Maps), the tape form and the real-time step.
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



/// y = F(x) elementwise (any size; see the file comment).
template <Real T, class F>
class Activation : public detail::Stateless<T> {
 public:
  using Scalar = scalar_t<T>;
  using Matrix = autodiff::Mat<Scalar>;
  static constexpr int input_size = any_size;
  static constexpr int output_size = any_size;

  /// FLOPs of one step over `width` values, all lanes (rt/contract.hpp): F per element.
  static constexpr std::size_t flops_per_step(std::size_t width) noexcept {
    return lanes_v<T> * width * F::flops;
  }
  /// No weights, no state.
  static constexpr std::size_t bytes_per_step() noexcept { return 0; }

  template <class Derived>
  [[nodiscard]] Matrix forward(const Eigen::MatrixBase<Derived>& x) const {
    return F::array(x.derived().array()).matrix();
  }
  [[nodiscard]] Maps<Scalar> forward(const Maps<Scalar>& x) const {
    return {forward(x.data), x.shape};
  }
  autodiff::Var<Scalar> forward(autodiff::Tape<Scalar>&, autodiff::Var<Scalar> x) const {
    return F::tape(x);
  }
  MapsVar<Scalar> forward(autodiff::Tape<Scalar>&, const MapsVar<Scalar>& x) const {
    return {F::tape(x.var), x.shape};
  }

  /// y = F(x); a non-finite input lane leaves its outputs untouched. Real-time safe.
  template <std::size_t N>
  DENDRITE_REALTIME Status step(std::span<const T, N> x, std::span<T, N> y) const noexcept {
    const mask_t<T> finite = all_finite(x);
    std::array<T, N> out;
    detail::vmap<T, N>([](auto v) { return F::apply(v); }, out.data(), x.data());
    for (std::size_t i = 0; i < N; ++i)
      y[i] = dendrite::select<T>(finite, out[i], y[i]);
    return all_of(finite) ? Status::Ok : Status::RejectedNonFinite;
  }
  /// One sample in, one out. Real-time safe.
  template <std::size_t N>
  DENDRITE_REALTIME Status step(const std::array<T, N>& x, std::array<T, N>& y) const noexcept {
    return step(std::span<const T, N>(x), std::span<T, N>(y));
  }
};

/// y = x for x > 0, slope x otherwise (any size).
template <Real T>
class LeakyReLU : public detail::Stateless<T> {
 public:
  using Scalar = scalar_t<T>;
  using Matrix = autodiff::Mat<Scalar>;
  static constexpr int input_size = any_size;
  static constexpr int output_size = any_size;

  /// FLOPs of one step over `width` values, all lanes: a multiply and a select per element.
  static constexpr std::size_t flops_per_step(std::size_t width) noexcept {
    return lanes_v<T> * width * 2;
  }
  /// No weights, no state.
  static constexpr std::size_t bytes_per_step() noexcept { return 0; }

  explicit LeakyReLU(Scalar slope = Scalar(0.01)) noexcept : slope_(slope) {}
  [[nodiscard]] Scalar slope() const noexcept { return slope_; }

  template <class Derived>
  [[nodiscard]] Matrix forward(const Eigen::MatrixBase<Derived>& x) const {
    const auto a = x.derived().array();
    return (a > Scalar(0)).select(a, slope_ * a).matrix();
  }
  [[nodiscard]] Maps<Scalar> forward(const Maps<Scalar>& x) const {
    return {forward(x.data), x.shape};
  }
  autodiff::Var<Scalar> forward(autodiff::Tape<Scalar>&, autodiff::Var<Scalar> x) const {
    return autodiff::leaky_relu(x, slope_);
  }
  MapsVar<Scalar> forward(autodiff::Tape<Scalar>&, const MapsVar<Scalar>& x) const {
    return {autodiff::leaky_relu(x.var, slope_), x.shape};
  }

  /// One sample in, one out. Real-time safe.
  template <std::size_t N>
  DENDRITE_REALTIME Status step(std::span<const T, N> x, std::span<T, N> y) const noexcept {
    const mask_t<T> finite = all_finite(x);
    const T s(slope_);
    for (std::size_t i = 0; i < N; ++i) {
      const T v = dendrite::select<T>(x[i] > T(0), x[i], s * x[i]);
      y[i] = dendrite::select<T>(finite, v, y[i]);
    }
    return all_of(finite) ? Status::Ok : Status::RejectedNonFinite;
  }
  /// One sample in, one out. Real-time safe.
  template <std::size_t N>
  DENDRITE_REALTIME Status step(const std::array<T, N>& x, std::array<T, N>& y) const noexcept {
    return step(std::span<const T, N>(x), std::span<T, N>(y));
  }

 private:
  Scalar slope_;
};

}  // namespace dendrite::nn
