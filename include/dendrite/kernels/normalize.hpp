// SPDX-License-Identifier: MIT
/// @file
/// Normalisation of groups of g consecutive rows in each column: (x - mean) / sqrt(var + eps),
/// var the biased variance (PyTorch's LayerNorm: g = rows; InstanceNorm2d: g = H W).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>
#include <type_traits>

#include <Eigen/Core>

#include <dendrite/core/error.hpp>
#include <dendrite/kernels/common.hpp>


namespace dendrite::kernels {

/// y = normalised groups of x; inv_std (groups x cols) keeps 1 / sqrt(var + eps).
template <class T, class X>
void normalize_forward(const X& x, Index group, T eps, Mat<T>& y, Mat<T>& inv_std) {
  const Index groups = x.rows() / group;
  y.resize(x.rows(), x.cols());
  inv_std.resize(groups, x.cols());
  for (Index c = 0; c < x.cols(); ++c) {
    for (Index g = 0; g < groups; ++g) {
      const auto xs = x.col(c).segment(g * group, group);
      const T mu = xs.mean();
      const T var = (xs.array() - mu).square().mean();
      const T s = T(1) / std::sqrt(var + eps);
      y.col(c).segment(g * group, group) = (xs.array() - mu) * s;
      inv_std(g, c) = s;
    }
  }
}

}  // namespace dendrite::kernels
