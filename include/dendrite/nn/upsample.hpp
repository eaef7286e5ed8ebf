// SPDX-License-Identifier: MIT
/// @file
/// Upsample<T, F = 2>: nearest-neighbour upsampling by F of a sequence (matrix) or of maps.
/// It changes the sample rate, so it has no step. Plain arithmetic in kernels/resample.hpp.
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
    kernels::upsample_forward<Scalar>(
        x.derived(), kernels::Resample{x.rows(), 1, x.cols(), Factor, 1, false}, y);
    return y;
  }
  autodiff::Var<Scalar> forward(autodiff::Tape<Scalar>&, autodiff::Var<Scalar> x,
                                Index batch = 1) const {
    detail::check_batched("Upsample::forward(tape)", x.rows(), x.cols(), x.rows(), batch);
    return autodiff::upsample_nearest1d(x, Factor, x.cols() / batch, batch);
  }
  [[nodiscard]] Maps<Scalar> forward(const Maps<Scalar>& x) const {
    const MapShape& s = x.shape;
    const kernels::Resample r{s.channels, s.height, s.width, Factor, x.data.cols(), true};
    kernels::check_resample("Upsample::forward", r, true, x.data.rows(), x.data.cols());
    Maps<Scalar> y{{}, {s.channels, s.height * Factor, s.width * Factor}};
    kernels::upsample_forward<Scalar>(x.data, r, y.data);
    return y;
  }
  MapsVar<Scalar> forward(autodiff::Tape<Scalar>&, const MapsVar<Scalar>& x) const {
    const MapShape& s = x.shape;
    return {autodiff::upsample_nearest2d(x.var, Factor, s.channels, s.height, s.width),
            {s.channels, s.height * Factor, s.width * Factor}};
  }
};

}  // namespace dendrite::nn
