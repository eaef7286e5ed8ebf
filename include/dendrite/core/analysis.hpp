// SPDX-License-Identifier: MIT
/// @file
/// How the analysis functions (FOBI, FastICA, whitening, metrics, principal angles, the
/// abstraction and torus tests) are declared: templates on their scalar, `double` by default,
/// with matrix arguments through which the scalar is not deduced. `fobi(x)` reads as before;
/// the template only makes an unused function cost nothing where the header is included.
#pragma once

#include <concepts>
#include <type_traits>

#include <Eigen/Core>

namespace dendrite {

/// The scalar of the analysis functions (FOBI, FastICA, whitening, PCA helpers, principal
/// angles, torus analysis): they compute in double. They are templates on it (`fobi(x)` means
/// `fobi<double>(x)`) so that a translation unit pays for the decompositions it calls and for no
/// other: a non-template inline function on `Eigen::MatrixXd` would be compiled in every file
/// that includes its header.
template <class S>
concept AnalysisScalar = std::same_as<S, double>;

/// The read-only matrix argument of an analysis function: `Eigen::Ref<const MatrixX<S>>`, taken
/// through `std::type_identity_t` so that S is not deduced (it defaults to double) and any
/// matrix, block or map converts as it would to a plain `Ref`. Being dependent on S, the
/// expressions in the function's body cost nothing until the function is used.
template <class S>
using AnalysisRef =
    std::type_identity_t<Eigen::Ref<const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>>>;

/// A matrix argument of an analysis function taken by const reference, S not deduced.
template <class S>
using AnalysisMatrix = std::type_identity_t<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>>;

/// Dynamic Eigen types over the analysis scalar, for the bodies of the analysis functions.
template <class S>
using MatrixX = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
template <class S>
using VectorX = Eigen::Matrix<S, Eigen::Dynamic, 1>;
template <class S>
using RowVectorX = Eigen::Matrix<S, 1, Eigen::Dynamic>;
template <class S>
using ArrayX = Eigen::Array<S, Eigen::Dynamic, 1>;
template <class S>
using ArrayXX = Eigen::Array<S, Eigen::Dynamic, Eigen::Dynamic>;

}  // namespace dendrite
