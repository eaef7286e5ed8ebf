// SPDX-License-Identifier: MIT
/// @file
/// The small layers that conv generators and discriminators are built from, each in the
/// analysis form (Eigen matrix or Maps), the tape form, and, where a layer maps one sample to
/// one sample, the real-time step:
///   Activation<T, F>     y = F(x), F one of the policies of activation.hpp (Tanh, Sigmoid,
///                        ReLU, ...), any size
///   LeakyReLU<T>         y = x if x > 0 else slope x (PyTorch's default slope 0.01; GANs use 0.2)
///   LayerNorm<T, N>      y = (x - mean) / sqrt(var + eps) * weight + bias over the N features
///                        of each sample (Ba et al. 2016; PyTorch's nn.LayerNorm(N), eps 1e-5,
///                        weight 1, bias 0)
///   InstanceNorm<T, C>   each channel of each map normalised over its H W positions (Ulyanov
///                        et al. 2016; PyTorch's nn.InstanceNorm2d(C) defaults: no affine, no
///                        running statistics, eps 1e-5)
///   MaxPool1D<T, K>, AvgPool1D<T, K>   windows of K steps of a sequence, stride K (floor)
///   MaxPool2D<T, K>, AvgPool2D<T, K>   K x K windows of maps, stride K (floor)
///   Upsample<T, F = 2>   nearest-neighbour upsampling by F: of a sequence (Matrix) or of maps
/// Layers marked "any size" work on whatever feature count they are given; in a Sequential
/// they take the size of the layer before them (input_size = any_size).
/// Pooling and upsampling change the sample rate, so they have no step.
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
#include <dendrite/nn/activation.hpp>
#include <dendrite/nn/detail/kernels.hpp>
#include <dendrite/nn/detail/module.hpp>
#include <dendrite/nn/maps.hpp>

namespace dendrite::nn {

/// The input_size/output_size of a layer that works on any number of features.
inline constexpr int any_size = -1;

namespace detail {

/// A layer without parameters.
template <class S>
struct Stateless {
  using Param = autodiff::Parameter<S>;
  [[nodiscard]] std::array<std::pair<std::string_view, Param*>, 0> named_parameters() noexcept {
    return {};
  }
  [[nodiscard]] std::vector<Param*> parameters() { return {}; }
};

}  // namespace detail

/// y = F(x) elementwise (any size; see the file comment).
template <Real T, class F>
class Activation : public detail::Stateless<scalar_t<T>> {
 public:
  using Scalar = scalar_t<T>;
  using Matrix = autodiff::Mat<Scalar>;
  static constexpr int input_size = any_size;
  static constexpr int output_size = any_size;

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

  /// y = F(x); a non-finite input lane leaves its outputs untouched.
  template <std::size_t N>
  DENDRITE_REALTIME Status step(std::span<const T, N> x, std::span<T, N> y) const noexcept {
    const mask_t<T> finite = all_finite(x);
    std::array<T, N> out;
    detail::vmap<T, N>([](auto v) { return F::apply(v); }, out.data(), x.data());
    for (std::size_t i = 0; i < N; ++i) y[i] = dendrite::select<T>(finite, out[i], y[i]);
    return all_of(finite) ? Status::Ok : Status::RejectedNonFinite;
  }
  template <std::size_t N>
  DENDRITE_REALTIME Status step(const std::array<T, N>& x, std::array<T, N>& y) const noexcept {
    return step(std::span<const T, N>(x), std::span<T, N>(y));
  }
};

/// y = x for x > 0, slope x otherwise (any size).
template <Real T>
class LeakyReLU : public detail::Stateless<scalar_t<T>> {
 public:
  using Scalar = scalar_t<T>;
  using Matrix = autodiff::Mat<Scalar>;
  static constexpr int input_size = any_size;
  static constexpr int output_size = any_size;

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
  template <std::size_t N>
  DENDRITE_REALTIME Status step(const std::array<T, N>& x, std::array<T, N>& y) const noexcept {
    return step(std::span<const T, N>(x), std::span<T, N>(y));
  }

 private:
  Scalar slope_;
};

/// Layer normalisation over the N features of each sample, with a learnable affine map.
template <Real T, int N>
class LayerNorm {
  static_assert(N > 1, "LayerNorm: N must be at least 2");

 public:
  using Scalar = scalar_t<T>;
  using Matrix = autodiff::Mat<Scalar>;
  using Param = autodiff::Parameter<Scalar>;
  static constexpr int input_size = N;
  static constexpr int output_size = N;
  static constexpr std::size_t kN = N;

  Param weight{Matrix::Ones(N, 1)};
  Param bias{N, 1};

  explicit LayerNorm(Scalar eps = Scalar(1e-5)) noexcept : eps_(eps) {}
  [[nodiscard]] Scalar eps() const noexcept { return eps_; }

  [[nodiscard]] std::array<std::pair<std::string_view, Param*>, 2> named_parameters() noexcept {
    return {{{"weight", &weight}, {"bias", &bias}}};
  }
  [[nodiscard]] std::vector<Param*> parameters() { return {&weight, &bias}; }

  template <class Derived>
  [[nodiscard]] Matrix forward(const Eigen::MatrixBase<Derived>& x) const {
    detail::check_rows("LayerNorm::forward", x.rows(), x.cols(), N);
    Matrix y, inv_std;
    autodiff::detail::normalize_forward<Scalar>(x.derived(), N, eps_, y, inv_std);
    y.array().colwise() *= weight.value.col(0).array();
    y.colwise() += bias.value.col(0);
    return y;
  }
  autodiff::Var<Scalar> forward(autodiff::Tape<Scalar>& t, autodiff::Var<Scalar> x) {
    detail::check_rows("LayerNorm::forward(tape)", x.rows(), x.cols(), N);
    return autodiff::normalize(x, N, eps_) * t.param(weight) + t.param(bias);
  }

  DENDRITE_REALTIME Status step(std::span<const T, kN> x, std::span<T, kN> y) const noexcept {
    const std::array<T, kN> x_flushed = flush_denormals(x);  // denormals cost 10-100x
    x = std::span<const T, kN>(x_flushed);
    const mask_t<T> finite = all_finite(x);
    T sum(0);
    for (std::size_t i = 0; i < kN; ++i) sum += x[i];
    const T mean = sum / T(Scalar(N));
    T sq(0);
    for (std::size_t i = 0; i < kN; ++i) sq += (x[i] - mean) * (x[i] - mean);
    const T inv = T(1) / dendrite::sqrt(sq / T(Scalar(N)) + T(eps_));
    const Scalar* w = weight.value.data();
    const Scalar* b = bias.value.data();
    for (std::size_t i = 0; i < kN; ++i) {
      y[i] = dendrite::select<T>(finite, (x[i] - mean) * inv * T(w[i]) + T(b[i]), y[i]);
    }
    return all_of(finite) ? Status::Ok : Status::RejectedNonFinite;
  }

 private:
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
    autodiff::detail::normalize_forward<Scalar>(x.data, x.shape.height * x.shape.width, eps_,
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

/// Pooling over non-overlapping windows of K (1-D: steps of a sequence; 2-D: K x K pixels).
template <Real T, autodiff::detail::PoolKind Kind, int K, bool TwoD>
class Pool : public detail::Stateless<T> {
  static_assert(K > 0, "Pool: the window must be positive");
  static_assert(!is_batch_v<T>, "Pool: an analysis layer; use float or double");

 public:
  using Scalar = T;
  using Matrix = autodiff::Mat<Scalar>;
  static constexpr int input_size = any_size;
  static constexpr int output_size = any_size;

  /// One sequence, C x L -> C x floor(L / K).
  template <class Derived>
  [[nodiscard]] Matrix forward(const Eigen::MatrixBase<Derived>& x) const
    requires(!TwoD)
  {
    const autodiff::detail::Resample r{x.rows(), 1, x.cols(), K, 1, false};
    autodiff::detail::check_resample("Pool1D::forward", r, false, x.rows(), x.cols());
    Matrix y;
    autodiff::detail::pool_forward<Scalar>(x.derived(), r, Kind, y, nullptr);
    return y;
  }
  /// B sequences, step-major.
  autodiff::Var<Scalar> forward(autodiff::Tape<Scalar>&, autodiff::Var<Scalar> x,
                                Index batch = 1) const
    requires(!TwoD)
  {
    detail::check_batched("Pool1D::forward(tape)", x.rows(), x.cols(), x.rows(), batch);
    return autodiff::detail::pool(x, {x.rows(), 1, x.cols() / batch, K, batch, false}, Kind);
  }

  [[nodiscard]] Maps<Scalar> forward(const Maps<Scalar>& x) const
    requires TwoD
  {
    const MapShape& s = x.shape;
    const autodiff::detail::Resample r{s.channels, s.height, s.width, K, x.data.cols(), true};
    autodiff::detail::check_resample("Pool2D::forward", r, false, x.data.rows(), x.data.cols());
    Maps<Scalar> y{{}, {s.channels, s.height / K, s.width / K}};
    autodiff::detail::pool_forward<Scalar>(x.data, r, Kind, y.data, nullptr);
    return y;
  }
  MapsVar<Scalar> forward(autodiff::Tape<Scalar>&, const MapsVar<Scalar>& x) const
    requires TwoD
  {
    const MapShape& s = x.shape;
    return {autodiff::detail::pool(x.var, {s.channels, s.height, s.width, K, x.var.cols(), true},
                                   Kind),
            {s.channels, s.height / K, s.width / K}};
  }
};

template <Real T, int K>
using MaxPool1D = Pool<T, autodiff::detail::PoolKind::max, K, false>;
template <Real T, int K>
using AvgPool1D = Pool<T, autodiff::detail::PoolKind::avg, K, false>;
template <Real T, int K>
using MaxPool2D = Pool<T, autodiff::detail::PoolKind::max, K, true>;
template <Real T, int K>
using AvgPool2D = Pool<T, autodiff::detail::PoolKind::avg, K, true>;

/// Nearest-neighbour upsampling by an integer factor, of sequences or of maps.
template <Real T, int Factor = 2>
class Upsample : public detail::Stateless<T> {
  static_assert(Factor > 0, "Upsample: the factor must be positive");
  static_assert(!is_batch_v<T>, "Upsample: an analysis layer; use float or double");

 public:
  using Scalar = T;
  using Matrix = autodiff::Mat<Scalar>;
  static constexpr int input_size = any_size;
  static constexpr int output_size = any_size;

  /// One sequence, C x L -> C x L Factor.
  template <class Derived>
  [[nodiscard]] Matrix forward(const Eigen::MatrixBase<Derived>& x) const {
    Matrix y;
    autodiff::detail::upsample_forward<Scalar>(
        x.derived(), autodiff::detail::Resample{x.rows(), 1, x.cols(), Factor, 1, false}, y);
    return y;
  }
  autodiff::Var<Scalar> forward(autodiff::Tape<Scalar>&, autodiff::Var<Scalar> x,
                                Index batch = 1) const {
    detail::check_batched("Upsample::forward(tape)", x.rows(), x.cols(), x.rows(), batch);
    return autodiff::upsample_nearest1d(x, Factor, x.cols() / batch, batch);
  }
  [[nodiscard]] Maps<Scalar> forward(const Maps<Scalar>& x) const {
    const MapShape& s = x.shape;
    const autodiff::detail::Resample r{s.channels, s.height, s.width, Factor, x.data.cols(), true};
    autodiff::detail::check_resample("Upsample::forward", r, true, x.data.rows(), x.data.cols());
    Maps<Scalar> y{{}, {s.channels, s.height * Factor, s.width * Factor}};
    autodiff::detail::upsample_forward<Scalar>(x.data, r, y.data);
    return y;
  }
  MapsVar<Scalar> forward(autodiff::Tape<Scalar>&, const MapsVar<Scalar>& x) const {
    const MapShape& s = x.shape;
    return {autodiff::upsample_nearest2d(x.var, Factor, s.channels, s.height, s.width),
            {s.channels, s.height * Factor, s.width * Factor}};
  }
};

}  // namespace dendrite::nn
