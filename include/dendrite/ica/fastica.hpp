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
///
/// Saddle points (on by default, `saddle_test`; scikit-learn has no such step). The fixed-point
/// step also stops at saddles of the contrast, where two outputs are the two 45-degree mixtures
/// (s_k +- s_l) / sqrt 2 of a pair of sources: on 3-channel mixtures of two espeak-ng voices and
/// noise, 2 of 48 stopped there from the default seed (Amari index 0.32 against 0.001-0.003).
/// After convergence, EFICA's test of saddle points (Koldovsky, Tichavsky & Oja, IEEE TNN 2006)
/// rotates by 45 degrees every pair (k, l) whose rotated outputs u+- = (y_k +- y_l) / sqrt 2 are
/// further from Gaussian in the contrast G (g = G'):
///   (E G(u+) - E G(nu))^2 + (E G(u-) - E G(nu))^2
///       > (E G(y_k) - E G(nu))^2 + (E G(y_l) - E G(nu))^2
/// (by 5 %; nu standard normal), each output in one pair at most, and the iteration resumes from
/// the rotated W, for at most 3 rounds. Only the pairs that a fourth-moment screen flags are
/// tested (see `detail::rotate_saddle_pairs`), which keeps the cost to two passes over the data:
/// on `eeg_like` at 256 Hz, 60 s, a fit of 3 channels went from 2.5 to 3.3 ms, of 16 from 21 to
/// 23 ms, of 64 from 391 to 411 ms, with no pair turned at any of 3-64 channels over 20 seeds
/// (at 5 channels x 5 s one was: 0.090 -> 0.028).
///   logcosh: G(u) = log cosh(a u) / a     cube: G(u) = u^4 / 4     exp: G(u) = -exp(-u^2 / 2)
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <vector>

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
  bool saddle_test = true;  ///< rotate pairs stopped at a saddle (see the file comment)
  /// The starting W, d x d, on the whitened data (scikit-learn's `w_init`; decorrelated
  /// before use); empty: N(0, 1) draws from `seed`.
  Eigen::MatrixXd w_init{};
};

/// What `fastica` returns.
struct FastICAResult {
  Eigen::MatrixXd unmixing;  ///< d x d: y = unmixing (x - mean)
  Eigen::MatrixXd mixing;    ///< d x d, the inverse of unmixing
  Eigen::VectorXd mean;      ///< d
  int iterations = 0;        ///< iterations run
  bool converged = false;    ///< reached tol within max_iter
  double final_change = 0;   ///< the criterion at the last iteration
  int saddle_rotations = 0;  ///< pairs the saddle test rotated (then iterated on)
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

/// The contrast G whose derivative is the nonlinearity g (see the file comment).
template <class T>
[[nodiscard]] T contrast(const T& u, const FastICAOptions& opt) noexcept {
  switch (opt.fun) {
    case FastICANonlinearity::LogCosh: {
      // log cosh v = |v| + log(1 + e^(-2 |v|)) - log 2, which cannot overflow
      const T a = dendrite::broadcast<T>(opt.alpha);
      const T v = dendrite::abs(a * u);
      return (v + dendrite::log1p(dendrite::exp(dendrite::broadcast<T>(-2.0) * v)) -
              dendrite::broadcast<T>(std::log(2.0))) /
             a;
    }
    case FastICANonlinearity::Cube: {
      const T u2 = u * u;
      return dendrite::broadcast<T>(0.25) * u2 * u2;
    }
    case FastICANonlinearity::Exp:
      return -dendrite::exp(dendrite::broadcast<T>(-0.5) * u * u);
  }
  return T(0);
}

/// Sum over t < count of G((a_t + sb b_t) c): one output's contrast (sb = 0) or a rotated pair's.
template <AnalysisScalar S = double>
double contrast_sum(const double* a, const double* b, double sb, double c, Eigen::Index count,
                    const FastICAOptions& opt) {
  using B = xsimd::batch<double>;
  constexpr Eigen::Index L = Eigen::Index(lanes_v<B>);
  const B vb(sb), vc(c);
  B acc(0.0);
  Eigen::Index i = 0;
  for (; i + L <= count; i += L) {
    const B u = dendrite::fma(vb, dendrite::load<B>(b + i), dendrite::load<B>(a + i));
    acc += contrast(vc * u, opt);
  }
  double sum = dendrite::reduce_add(acc);
  for (; i < count; ++i) sum += contrast(c * (a[i] + sb * b[i]), opt);
  return sum;
}

/// E G(nu) for a standard normal nu, by Simpson's rule on [-12, 12] in steps of 1/200 (the tails
/// beyond hold less than 1e-32 of the mass, and G grows at most like u^4).
template <AnalysisScalar S = double>
double gaussian_contrast(const FastICAOptions& opt) {
  constexpr int kHalf = 2400;
  constexpr double kStep = 12.0 / kHalf;
  double sum = 0;
  for (int i = -kHalf; i <= kHalf; ++i) {
    const double u = i * kStep;
    const double weight = (i == -kHalf || i == kHalf) ? 1.0 : ((i + kHalf) % 2 == 1 ? 4.0 : 2.0);
    sum += weight * contrast(u, opt) * std::exp(-0.5 * u * u);
  }
  return sum * kStep / 3.0 / std::sqrt(2.0 * std::numbers::pi);
}

/// The test of saddle points (see the file comment) on y = w V (x - m): rotates by 45 degrees,
/// in w, the pairs of outputs whose rotation is further from Gaussian in the contrast, each
/// output at most once, largest gain first; returns how many. Two passes over the data:
///  1. a screen by fourth moments, O(d^2 n) in two matrix products: for u+- = (y_k +- y_l) /
///     sqrt 2, E u+-^4 = (E y_k^4 + E y_l^4 +- 4 E y_k^3 y_l +- 4 E y_k y_l^3 + 6 E y_k^2 y_l^2)
///     / 4. At a saddle the outputs are (s_k +- s_l) / sqrt 2, with excess kurtoses (kappa_k +
///     kappa_l) / 4, so the rotation multiplies kappa(.)^2 + kappa(.)^2 by 8 (a^2 + b^2) /
///     (a + b)^2 >= 4. Pairs where it at least doubles go on, at most d of them, largest first;
///  2. the contrast itself on those pairs, over every sample: rotate when (E G(u+) - E G(nu))^2
///     + (E G(u-) - E G(nu))^2 exceeds (E G(y_k) - E G(nu))^2 + (E G(y_l) - E G(nu))^2 by 5 %.
/// The screen alone turns good pairs of weakly non-Gaussian, autocorrelated outputs (EEG-like
/// background at 16-64 channels: 14-161 pairs over 20 recordings, most of them for the worse),
/// and the contrast over every pair costs d^2 n evaluations of G (2-3 times FastICA's time at 64
/// channels x 60 s), so the first pass picks the pairs and the second decides.
template <AnalysisScalar S = double>
int rotate_saddle_pairs(const AnalysisRef<S>& x, const Whitener& wh, Eigen::MatrixXd& w,
                        const FastICAOptions& opt) {
  const Eigen::Index d = x.rows();
  const double n = double(x.cols());
  const MatrixX<S> w_eff = w * wh.matrix;
  const Eigen::Index block = cache_block(d);
  MatrixX<S> xb(d, std::min(block, x.cols()));
  MatrixX<S> yt(xb.cols(), d), y2(xb.cols(), d), y3(xb.cols(), d);  // samples in rows
  const auto outputs = [&](Eigen::Index j0, Eigen::Index m) {
    xb.leftCols(m) = x.middleCols(j0, m).colwise() - wh.mean;
    yt.topRows(m).noalias() = xb.leftCols(m).transpose() * w_eff.transpose();
  };
  MatrixX<S> m22 = MatrixX<S>::Zero(d, d), m31 = MatrixX<S>::Zero(d, d);
  for_column_blocks(x.cols(), block, [&](Eigen::Index j0, Eigen::Index m) {
    outputs(j0, m);
    y2.topRows(m) = yt.topRows(m).array().square().matrix();
    y3.topRows(m) = (y2.topRows(m).array() * yt.topRows(m).array()).matrix();
    m22.noalias() += y2.topRows(m).transpose() * y2.topRows(m);  // n E y_k^2 y_l^2
    m31.noalias() += y3.topRows(m).transpose() * yt.topRows(m);  // n E y_k^3 y_l
  });
  m22 /= n;
  m31 /= n;
  struct Pair {
    double gain;
    Eigen::Index k, l;
    double plus = 0, minus = 0;  // sums of G(u+), G(u-)
  };
  std::vector<Pair> pairs;
  for (Eigen::Index k = 0; k < d; ++k) {
    for (Eigen::Index l = k + 1; l < d; ++l) {
      const double even = (m22(k, k) + m22(l, l) + 6 * m22(k, l)) / 4;
      const double odd = m31(k, l) + m31(l, k);
      const double kp = even + odd - 3, km = even - odd - 3;
      const double kk = m22(k, k) - 3, kl = m22(l, l) - 3;
      const double before = kk * kk + kl * kl;
      if (kp * kp + km * km > 2 * before) pairs.push_back({kp * kp + km * km - before, k, l});
    }
  }
  if (pairs.empty()) return 0;
  const auto by_gain = [](const Pair& a, const Pair& b) { return a.gain > b.gain; };
  std::sort(pairs.begin(), pairs.end(), by_gain);
  if (Eigen::Index(pairs.size()) > d) pairs.resize(std::size_t(d));
  std::vector<bool> in_pair(std::size_t(d), false);
  for (const Pair& p : pairs) in_pair[std::size_t(p.k)] = in_pair[std::size_t(p.l)] = true;
  VectorX<S> single = VectorX<S>::Zero(d);  // sums of G(y_k), for the outputs in a pair
  const double r2 = 1.0 / std::sqrt(2.0);
  for_column_blocks(x.cols(), block, [&](Eigen::Index j0, Eigen::Index m) {
    outputs(j0, m);
    for (Eigen::Index k = 0; k < d; ++k) {
      if (!in_pair[std::size_t(k)]) continue;
      single(k) += contrast_sum(yt.col(k).data(), yt.col(k).data(), 0.0, 1.0, m, opt);
    }
    for (Pair& p : pairs) {
      p.plus += contrast_sum(yt.col(p.k).data(), yt.col(p.l).data(), 1.0, r2, m, opt);
      p.minus += contrast_sum(yt.col(p.k).data(), yt.col(p.l).data(), -1.0, r2, m, opt);
    }
  });
  const double g0 = gaussian_contrast(opt);
  const auto sq = [g0, n](double sum) { return (sum / n - g0) * (sum / n - g0); };
  for (Pair& p : pairs) {
    const double before = sq(single(p.k)) + sq(single(p.l));
    p.gain = sq(p.plus) + sq(p.minus) - before;
    if (!(p.gain > 0.05 * before)) p.gain = 0;
  }
  std::sort(pairs.begin(), pairs.end(), by_gain);
  std::vector<bool> used(std::size_t(d), false);
  int rotated = 0;
  for (const Pair& p : pairs) {
    if (p.gain <= 0) break;
    if (used[std::size_t(p.k)] || used[std::size_t(p.l)]) continue;
    used[std::size_t(p.k)] = used[std::size_t(p.l)] = true;
    const VectorX<S> wk = w.row(p.k).transpose(), wl = w.row(p.l).transpose();
    w.row(p.k) = r2 * (wk + wl).transpose();
    w.row(p.l) = r2 * (wk - wl).transpose();
    ++rotated;
  }
  return rotated;
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
  if (opt.w_init.size() != 0) {
    if (opt.w_init.rows() != d || opt.w_init.cols() != d || !opt.w_init.allFinite()) {
      DENDRITE_THROW(dimension_error, "fastica: w_init must be a finite ", d, " x ", d,
                     " matrix, got ", opt.w_init.rows(), " x ", opt.w_init.cols());
    }
    w = opt.w_init;
  } else {
    for (auto& v : w.reshaped()) {
      v = normal(rng);
    }
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
  // the fixed-point iteration from w, within the budget left: true when it converged
  const auto iterate = [&] {
    while (r.iterations < opt.max_iter) {
      ++r.iterations;
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
      r.final_change =
          ((w1 * w.transpose()).diagonal().cwiseAbs().array() - 1.0).abs().maxCoeff();
      w = w1;
      if (r.final_change < opt.tol) return true;
    }
    return false;
  };
  r.converged = iterate();
  for (int round = 0; r.converged && opt.saddle_test && round < 3; ++round) {
    const int rotated = detail::rotate_saddle_pairs<S>(x, wh, w, opt);
    if (rotated == 0) break;
    r.saddle_rotations += rotated;
    r.converged = iterate();
  }
  r.unmixing = w * wh.matrix;
  r.mixing = r.unmixing.inverse();
  r.mean = wh.mean;
  return r;
}

}  // namespace dendrite::ica
