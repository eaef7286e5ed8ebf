// SPDX-License-Identifier: MIT
/// @file
/// The plain arithmetic of conv, pooling, upsampling, normalisation and attention, shared by
/// the analysis `forward` of dendrite::nn and the reverse-mode ops of dendrite::autodiff (which
/// wrap it and add the backward rules). Functions allocate their outputs; none is real-time.
/// Shared names: `Index` (Eigen's) and `Mat<T>`, a dynamic column-major matrix.
#pragma once

#include <Eigen/Core>

namespace dendrite::kernels {

using Index = Eigen::Index;
template <class T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;

}  // namespace dendrite::kernels
