// SPDX-License-Identifier: MIT
/// @file
/// Pooling layers over non-overlapping windows, stride = window (PyTorch's floor rule):
///   MaxPool1D<T, K>, AvgPool1D<T, K>   windows of K steps of a sequence
///   MaxPool2D<T, K>, AvgPool2D<T, K>   K x K windows of maps
/// Pooling changes the sample rate, so it has no step. Plain arithmetic in kernels/resample.hpp.
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

/// Pooling over non-overlapping windows of K (1-D: steps of a sequence; 2-D: K x K pixels).
template <Real T, kernels::PoolKind Kind, int K, bool TwoD>
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
  [[nodiscard]] Matrix forward(const Eigen::MatrixBase<Derived>& x) const requires(!TwoD) {
    const kernels::Resample r{x.rows(), 1, x.cols(), K, 1, false};
    kernels::check_resample("Pool1D::forward", r, false, x.rows(), x.cols());
    Matrix y;
    kernels::pool_forward<Scalar>(x.derived(), r, Kind, y, nullptr);
    return y;
  }
  /// B sequences, step-major.
  autodiff::Var<Scalar> forward(autodiff::Tape<Scalar>&, autodiff::Var<Scalar> x,
                                Index batch = 1) const requires(!TwoD) {
    detail::check_batched("Pool1D::forward(tape)", x.rows(), x.cols(), x.rows(), batch);
    return autodiff::pool(x, {x.rows(), 1, x.cols() / batch, K, batch, false}, Kind);
  }

  [[nodiscard]] Maps<Scalar> forward(const Maps<Scalar>& x) const requires TwoD {
    const MapShape& s = x.shape;
    const kernels::Resample r{s.channels, s.height, s.width, K, x.data.cols(), true};
    kernels::check_resample("Pool2D::forward", r, false, x.data.rows(), x.data.cols());
    Maps<Scalar> y{{}, {s.channels, s.height / K, s.width / K}};
    kernels::pool_forward<Scalar>(x.data, r, Kind, y.data, nullptr);
    return y;
  }
  MapsVar<Scalar> forward(autodiff::Tape<Scalar>&, const MapsVar<Scalar>& x) const requires TwoD {
    const MapShape& s = x.shape;
    return {
        autodiff::pool(x.var, {s.channels, s.height, s.width, K, x.var.cols(), true}, Kind),
        {s.channels, s.height / K, s.width / K}};
  }
};

template <Real T, int K>
using MaxPool1D = Pool<T, kernels::PoolKind::Max, K, false>;
template <Real T, int K>
using AvgPool1D = Pool<T, kernels::PoolKind::Avg, K, false>;
template <Real T, int K>
using MaxPool2D = Pool<T, kernels::PoolKind::Max, K, true>;
template <Real T, int K>
using AvgPool2D = Pool<T, kernels::PoolKind::Avg, K, true>;

}  // namespace dendrite::nn
