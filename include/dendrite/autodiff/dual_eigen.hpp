// SPDX-License-Identifier: MIT
/// @file
/// Dual numbers as Eigen scalars (`Eigen::Matrix<Dual<double, 3>, 3, 3>` products, `.norm()`,
/// mixed Dual/double expressions) and the helpers `gradient` and `jacobian` for fixed-size
/// vectors. Opt-in, like autodiff's forward/dual/eigen.hpp: dual.hpp itself does not need Eigen.
///   gradient(f, x):  f: R^N -> R,   returns df/dx (N values), one evaluation with N partials
///   jacobian(f, x):  f: R^N -> R^M, returns the M x N matrix df_i/dx_j
#pragma once

#include <limits>

#include <Eigen/Core>

#include <dendrite/autodiff/dual.hpp>

namespace dendrite::autodiff {

/// Gradient of f: Eigen::Matrix<Dual<S, N>, N, 1> -> Dual<S, N> at x (S float or double).
template <class S, int N, class F>
[[nodiscard]] Eigen::Matrix<S, N, 1> gradient(F&& f, const Eigen::Matrix<S, N, 1>& x) {
  Eigen::Matrix<Dual<S, N>, N, 1> xd;
  for (int k = 0; k < N; ++k) {
    xd(k) = Dual<S, N>(x(k), k);
  }
  const Dual<S, N> y = f(xd);
  Eigen::Matrix<S, N, 1> g;
  for (int k = 0; k < N; ++k) {
    g(k) = y.v[std::size_t(k)];
  }
  return g;
}

/// Jacobian of f: Eigen::Matrix<Dual<S, N>, N, 1> -> Eigen::Matrix<Dual<S, N>, M, 1> at x.
template <class S, int N, class F>
[[nodiscard]] auto jacobian(F&& f, const Eigen::Matrix<S, N, 1>& x) {
  Eigen::Matrix<Dual<S, N>, N, 1> xd;
  for (int k = 0; k < N; ++k) {
    xd(k) = Dual<S, N>(x(k), k);
  }
  const auto y = f(xd).eval();
  constexpr int M = std::decay_t<decltype(y)>::RowsAtCompileTime;
  Eigen::Matrix<S, M, N> j(y.rows(), N);
  for (Eigen::Index i = 0; i < y.rows(); ++i) {
    for (int k = 0; k < N; ++k) {
      j(i, k) = y(i).v[std::size_t(k)];
    }
  }
  return j;
}

}  // namespace dendrite::autodiff

namespace Eigen {

/// Eigen's description of Dual<T, N> for scalar T (float or double).
template <class T, int N>
requires(std::is_floating_point_v<T>) struct NumTraits<dendrite::autodiff::Dual<T, N>>
    : GenericNumTraits<dendrite::autodiff::Dual<T, N>> {
  using D = dendrite::autodiff::Dual<T, N>;
  using Real = D;
  using NonInteger = D;
  using Nested = D;
  using Literal = D;
  enum {
    IsComplex = 0,
    IsInteger = 0,
    IsSigned = 1,
    RequireInitialization = 1,
    ReadCost = 1 + N,
    AddCost = 1 + N,
    MulCost = 1 + 2 * N,
  };
  static D epsilon() { return D(std::numeric_limits<T>::epsilon()); }
  static D dummy_precision() { return D(NumTraits<T>::dummy_precision()); }
  static D highest() { return D(std::numeric_limits<T>::max()); }
  static D lowest() { return D(std::numeric_limits<T>::lowest()); }
  static int digits10() { return NumTraits<T>::digits10(); }
};

/// Dual op T and T op Dual are Dual.
template <class T, int N, class BinaryOp>
struct ScalarBinaryOpTraits<dendrite::autodiff::Dual<T, N>, T, BinaryOp> {
  using ReturnType = dendrite::autodiff::Dual<T, N>;
};
template <class T, int N, class BinaryOp>
struct ScalarBinaryOpTraits<T, dendrite::autodiff::Dual<T, N>, BinaryOp> {
  using ReturnType = dendrite::autodiff::Dual<T, N>;
};

}  // namespace Eigen
