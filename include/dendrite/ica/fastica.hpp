// SPDX-License-Identifier: MIT
/// @file
/// FastICA (Hyvärinen 1999), symmetric ("parallel") form, with scikit-learn's conventions so that
/// users can compare: the reference method for the streaming network.
///
/// On whitened data z (PCA whitening, unit variance), with W (d x d) orthogonal:
///   W+ = E[g(W z) z^T] - diag(E[g'(W z)]) W          fixed-point step for all rows at once
///   W  <- (W+ W+^T)^{-1/2} W+                        symmetric decorrelation
/// until max_i | |(W+ W^T)_ii| - 1 | < tol (scikit-learn's criterion). Nonlinearities:
///   logcosh: g(u) = tanh(a u),          g'(u) = a (1 - tanh^2(a u))     (a = 1 by default)
///   cube:    g(u) = u^3,                g'(u) = 3 u^2
///   exp:     g(u) = u exp(-u^2 / 2),    g'(u) = (1 - u^2) exp(-u^2 / 2)
/// The nonlinearity is evaluated with dendrite's SIMD math over the whole d x n block.
/// The unmixing returned maps centred data to sources: y = unmixing (x - mean).
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <Eigen/LU>

#include <dendrite/core/analysis.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/math.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/ica/whitening.hpp>

namespace dendrite::ica {

/// The contrast function of FastICA.
enum class FastICANonlinearity { LogCosh, Cube, Exp };

/// Settings of `fastica` (scikit-learn's defaults).
struct FastICAOptions {
  FastICANonlinearity fun = FastICANonlinearity::LogCosh;
  double alpha = 1.0;      ///< a of logcosh, in [1, 2]
  double tol = 1e-4;       ///< convergence tolerance
  int max_iter = 200;      ///< iterations at most
  std::uint64_t seed = 0;  ///< initial W ~ N(0, 1) from this seed
};

/// What `fastica` returns.
struct FastICAResult {
  Eigen::MatrixXd unmixing;  ///< d x d: y = unmixing (x - mean)
  Eigen::MatrixXd mixing;    ///< d x d, the inverse of unmixing
  Eigen::VectorXd mean;      ///< d
  int iterations = 0;        ///< iterations run
  bool converged = false;    ///< reached tol within max_iter
  double final_change = 0;   ///< the criterion at the last iteration
};

namespace detail {

/// W <- (W W^T)^{-1/2} W
template <AnalysisScalar S = double>
void symmetric_decorrelation(Eigen::MatrixXd& w) {
  Eigen::SelfAdjointEigenSolver<MatrixX<S>> eig(w * w.transpose());
  const VectorX<S> s = eig.eigenvalues().cwiseMax(std::numeric_limits<double>::min());
  w = eig.eigenvectors() * s.cwiseSqrt().cwiseInverse().asDiagonal() *
      eig.eigenvectors().transpose() * w;
}

/// In place over one contiguous source: u <- g(u); returns the mean of g'(u).
template <AnalysisScalar S = double>
double apply_nonlinearity(double* u, Eigen::Index count, const FastICAOptions& opt) {
  using B = xsimd::batch<double>;
  constexpr Eigen::Index L = Eigen::Index(lanes_v<B>);
  const auto kernel = [&opt](auto v, auto& g, auto& dg) {
    using T = std::decay_t<decltype(v)>;
    switch (opt.fun) {
      case FastICANonlinearity::LogCosh: {
        const T a = dendrite::broadcast<T>(opt.alpha);
        const T t = dendrite::tanh(a * v);
        g = t;
        dg = a * (T(1) - t * t);
        break;
      }
      case FastICANonlinearity::Cube:
        g = v * v * v;
        dg = dendrite::broadcast<T>(3.0) * v * v;
        break;
      case FastICANonlinearity::Exp: {
        const T v2 = v * v;
        const T e = dendrite::exp(dendrite::broadcast<T>(-0.5) * v2);
        g = v * e;
        dg = (T(1) - v2) * e;
        break;
      }
    }
  };
  B acc(0.0);
  Eigen::Index i = 0;
  for (; i + L <= count; i += L) {
    B g(0.0), dg(0.0);
    kernel(dendrite::load<B>(u + i), g, dg);
    dendrite::store(u + i, g);  // qualified: ADL would pick xsimd::store (aligned)
    acc += dg;
  }
  double sum = dendrite::reduce_add(acc);
  for (; i < count; ++i) {
    double g = 0, dg = 0;
    kernel(u[i], g, dg);
    u[i] = g;
    sum += dg;
  }
  return sum / double(count);
}

}  // namespace detail

/// Symmetric FastICA on x (channels x samples). Allocates. Throws like `whiten` for bad data and
/// `numerical_error` for options out of range. Non-convergence is reported, not thrown.
template <AnalysisScalar S = double>
[[nodiscard]] FastICAResult fastica(const AnalysisRef<S>& x, const FastICAOptions& opt = {}) {
  if (!(opt.tol > 0) || opt.max_iter < 1 || !(opt.alpha >= 1.0 && opt.alpha <= 2.0)) {
    DENDRITE_THROW(numerical_error,
                   "fastica: need tol > 0, max_iter >= 1 and alpha in [1, 2], got ", opt.tol, ", ",
                   opt.max_iter, ", ", opt.alpha);
  }
  const Whitener wh = whiten(x, {.kind = WhiteningKind::PCA});
  const Eigen::Index d = x.rows();
  const double n = double(x.cols());
  std::mt19937_64 rng(opt.seed);
  std::normal_distribution<double> normal;
  MatrixX<S> w(d, d);
  for (auto& v : w.reshaped()) {
    v = normal(rng);
  }
  detail::symmetric_decorrelation(w);
  FastICAResult r;
  // Each iteration streams x in cache-sized blocks and never forms the whitened data: with
  // y = W V (x - m), sum_t g(y_t) z_t^T = (sum_t g(y_t) (x_t - m)^T) V^T. Full-size temporaries
  // would cost more in page faults than the arithmetic.
  const Eigen::Index block = cache_block(d);
  MatrixX<S> xb(d, std::min(block, x.cols()));
  MatrixX<S> yt(xb.cols(), d);  // samples in rows: each source contiguous for the SIMD g
  MatrixX<S> w_eff(d, d), acc(d, d), w1(d, d);
  VectorX<S> mean_dg(d);
  for (r.iterations = 1; r.iterations <= opt.max_iter; ++r.iterations) {
    w_eff.noalias() = w * wh.matrix;
    acc.setZero();
    mean_dg.setZero();
    for_column_blocks(x.cols(), block, [&](Eigen::Index j0, Eigen::Index m) {
      xb.leftCols(m) = x.middleCols(j0, m).colwise() - wh.mean;
      yt.topRows(m).noalias() = xb.leftCols(m).transpose() * w_eff.transpose();
      for (Eigen::Index i = 0; i < d; ++i) {
        mean_dg(i) += double(m) * detail::apply_nonlinearity(yt.col(i).data(), m, opt);
      }
      acc.noalias() += yt.topRows(m).transpose() * xb.leftCols(m).transpose();
    });
    mean_dg /= n;
    w1.noalias() = acc * wh.matrix.transpose();
    w1 /= n;
    w1 -= mean_dg.asDiagonal() * w;
    detail::symmetric_decorrelation(w1);
    r.final_change = ((w1 * w.transpose()).diagonal().cwiseAbs().array() - 1.0).abs().maxCoeff();
    w = w1;
    if (r.final_change < opt.tol) {
      r.converged = true;
      break;
    }
  }
  r.iterations = std::min(r.iterations, opt.max_iter);
  r.unmixing = w * wh.matrix;
  r.mixing = r.unmixing.inverse();
  r.mean = wh.mean;
  return r;
}

}  // namespace dendrite::ica
