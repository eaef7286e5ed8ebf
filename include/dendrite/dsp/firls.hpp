// SPDX-License-Identifier: MIT
/// @file
/// Least-squares linear-phase FIR design, SciPy's `signal.firls`: the odd N = 2M + 1 taps whose
/// real amplitude A(v) = c_0 + sum_{k=1}^{M} c_k cos(pi k v) (v the frequency relative to fs / 2,
/// h[M] = c_0 and h[M +- k] = c_k / 2) minimise
///   J = sum over the bands of w_b * integral_{a_b}^{b_b} (A(v) - D_b(v))^2 dv,
/// D_b the line through the band's two desired values. J's gradient vanishes where G c = r, with
///   G_jk = (I(j - k) + I(j + k)) / 2,  I(n) = sum_b w_b integral_{a_b}^{b_b} cos(pi n v) dv
///        = sum_b w_b (b sinc(n b) - a sinc(n a)),
///   r_j = sum_b w_b integral_{a_b}^{b_b} D_b(v) cos(pi j v) dv   (in closed form by parts),
/// sinc(x) = sin(pi x) / (pi x). G is symmetric positive definite when the weighted bands have
/// measure; it is solved by LDL^T, or, where its reciprocal condition is below machine
/// epsilon (long filters with wide transitions, zero weights), by the minimum-norm least-squares
/// solution, as SciPy falls back to `lstsq` (the two then agree on J, not always on the taps).
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <numbers>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <Eigen/QR>

#include <dendrite/core/analysis.hpp>
#include <dendrite/core/error.hpp>

namespace dendrite::dsp {

/// SciPy's `firls(N, bands, desired, weight, fs)`: the N taps (N odd) of the least-squares
/// linear-phase filter for bands given as pairs of edges in the units of `fs` (within
/// [0, fs / 2], each of positive width, not overlapping), the desired amplitude at each edge
/// (linear across a band) and one weight per band (>= 0; empty for all 1). See the file comment.
/// Throws `numerical_error` for an even N, edges not in pairs or out of order, a `desired` or
/// `weight` of another length, a negative or non-finite value, and fs not finite and positive.
template <AnalysisScalar S = double>
[[nodiscard]] VectorX<S> firls(std::size_t numtaps, const std::vector<double>& bands,
                               const std::vector<double>& desired,
                               const std::vector<double>& weight = {}, double fs = 2.0) {
  if (numtaps % 2 == 0) {
    DENDRITE_THROW(numerical_error, "firls: need an odd number of taps, got ", numtaps);
  }
  if (!(std::isfinite(fs) && fs > 0)) {
    DENDRITE_THROW(numerical_error, "firls: need a finite fs > 0, got ", fs);
  }
  if (bands.empty() || bands.size() % 2 != 0 || desired.size() != bands.size()) {
    DENDRITE_THROW(numerical_error, "firls: need band edges in pairs and a desired value per",
                   " edge, got ", bands.size(), " edges and ", desired.size(), " values");
  }
  const std::size_t nb = bands.size() / 2;
  if (!weight.empty() && weight.size() != nb) {
    DENDRITE_THROW(numerical_error, "firls: need one weight per band (", nb, "), got ",
                   weight.size());
  }
  std::vector<double> v(bands.size()), w(nb, 1.0);
  for (std::size_t i = 0; i < bands.size(); ++i) {
    v[i] = bands[i] / (0.5 * fs);
    const bool ordered = i % 2 == 1 ? v[i] > v[i - 1] : (i == 0 || v[i] >= v[i - 1]);
    if (!(v[i] >= 0 && v[i] <= 1 && ordered && std::isfinite(desired[i]))) {
      DENDRITE_THROW(numerical_error, "firls: need band edges within [0, fs / 2 = ", 0.5 * fs,
                     "], each band of positive width, not overlapping, and finite desired",
                     " values; got edge ", i, " = ", bands[i], " (desired ", desired[i], ")");
    }
  }
  for (std::size_t b = 0; b < weight.size(); ++b) {
    if (!(weight[b] >= 0 && std::isfinite(weight[b]))) {
      DENDRITE_THROW(numerical_error, "firls: need finite weights >= 0, got ", weight[b],
                     " in band ", b);
    }
    w[b] = weight[b];
  }
  const double pi = std::numbers::pi;
  const auto sinc = [&](double x) { return x == 0 ? 1.0 : std::sin(pi * x) / (pi * x); };
  const std::size_t m = (numtaps - 1) / 2;
  // I(n) for n = 0 ... 2M
  std::vector<double> integral(2 * m + 1, 0.0);
  for (std::size_t n = 0; n <= 2 * m; ++n) {
    for (std::size_t b = 0; b < nb; ++b) {
      const double lo = v[2 * b], hi = v[2 * b + 1], k = double(n);
      integral[n] += w[b] * (hi * sinc(k * hi) - lo * sinc(k * lo));
    }
  }
  Eigen::MatrixXd g(Eigen::Index(m + 1), Eigen::Index(m + 1));
  Eigen::VectorXd r = Eigen::VectorXd::Zero(Eigen::Index(m + 1));
  for (std::size_t j = 0; j <= m; ++j) {
    for (std::size_t k = 0; k <= m; ++k) {
      const std::size_t diff = j > k ? j - k : k - j;
      g(Eigen::Index(j), Eigen::Index(k)) = 0.5 * (integral[diff] + integral[j + k]);
    }
    for (std::size_t b = 0; b < nb; ++b) {
      const double lo = v[2 * b], hi = v[2 * b + 1];
      const double slope = (desired[2 * b + 1] - desired[2 * b]) / (hi - lo);
      const double at0 = desired[2 * b] - slope * lo;  // D(v) = slope v + at0
      // the antiderivative of D(v) cos(pi j v)
      const auto prim = [&](double x) {
        if (j == 0) return slope * x * x / 2 + at0 * x;
        const double pj = pi * double(j);
        return (slope * x + at0) * std::sin(pj * x) / pj + slope * std::cos(pj * x) / (pj * pj);
      };
      r(Eigen::Index(j)) += w[b] * (prim(hi) - prim(lo));
    }
  }
  const Eigen::LDLT<Eigen::MatrixXd> ldlt(g);
  Eigen::VectorXd c;
  if (ldlt.info() == Eigen::Success && ldlt.isPositive() &&
      ldlt.rcond() >= std::numeric_limits<double>::epsilon()) {
    c = ldlt.solve(r);
  } else {
    c = g.completeOrthogonalDecomposition().solve(r);
  }
  VectorX<S> h(static_cast<Eigen::Index>(numtaps));
  h(Eigen::Index(m)) = S(c(0));
  for (std::size_t k = 1; k <= m; ++k) {
    h(Eigen::Index(m - k)) = h(Eigen::Index(m + k)) = S(c(Eigen::Index(k)) / 2);
  }
  return h;
}

}  // namespace dendrite::dsp
