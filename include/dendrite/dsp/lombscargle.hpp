// SPDX-License-Identifier: MIT
/// @file
/// The Lomb-Scargle periodogram of unevenly sampled rows (Lomb, Astrophys. Space Sci. 1976;
/// Scargle, Astrophys. J. 1982), in Townsend's one-pass form (Astrophys. J. Suppl. 2010): SciPy's
/// `scipy.signal.lombscargle(t, y, w, precenter, normalize)` for each row of y, every row sampled
/// at the same times t, at angular frequencies w > 0:
///
///   P(w) = 1/2 [ (sum_j y_j cos w(t_j - tau))^2 / sum_j cos^2 w(t_j - tau)
///              + (sum_j y_j sin w(t_j - tau))^2 / sum_j sin^2 w(t_j - tau) ],
///   tan(2 w tau) = sum_j sin 2 w t_j / sum_j cos 2 w t_j,
///
/// half the energy (sum of squares) of the least-squares fit of a sinusoid at w to the row: A^2 N
/// / 4 for a sinusoid of amplitude A over N samples, and for evenly sampled rows at a Fourier
/// frequency 2 pi k / (N dt) the classical periodogram |sum_j y_j e^{-i w t_j}|^2 / N. It does
/// not fit a mean: `precenter` removes each row's mean first (SciPy's option), as the rows
/// should be centred. `normalize` gives 2 P / sum_j y_j^2, the fraction of the row's energy the
/// fit explains, in [0, 1]; as SciPy's, its energy is that of the row as given, not centred.
///
/// The rows share the trigonometry: cos(w t_j) and sin(w t_j) are made once per frequency, on
/// SIMD lanes (xsimd's `sincos`, within an ulp of the C library's), for blocks of frequencies,
/// and every row's sums over samples are matrix products, so a block of channels costs little
/// more than one. O(N F) sines and cosines and O(R N F) products for R rows, N samples and F
/// frequencies (no fast, approximate form such as Press and Rybicki's).
///
/// Where a denominator vanishes (both sums of squares are N together), its term would be rounding
/// over rounding; it is 0 there, the fit having one component: e.g. the sine term of an evenly
/// sampled row at its Nyquist frequency, where SciPy gives NaN. A denominator counts as vanished
/// below N (16 eps max_j |w t_j|)^2, the squared rounding of the phases.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include <xsimd/xsimd.hpp>

#include <dendrite/core/analysis.hpp>
#include <dendrite/core/error.hpp>

namespace dendrite::dsp {

/// `lombscargle`'s options, SciPy's.
struct LombScargleOptions {
  bool precenter = false;  ///< remove each row's mean before the periodogram
  bool normalize = false;  ///< 2 P / sum_j y_j^2 of the row as given (SciPy's, even with
                           ///< `precenter`): in [0, 1]
};

/// The Lomb-Scargle periodogram (see the file comment) of each row of y (rows x N), sampled at
/// the times t (N, any order, repeats allowed), at the angular frequencies w (rad per unit of
/// t, each > 0): rows x w.size(). A row of zeros gives 0, normalized or not. Throws
/// `dimension_error` for no sample or y's columns unlike t's size, and `numerical_error` for a
/// NaN or Inf in t, y or w, a frequency <= 0, or a phase |w t_j| over 1e15 rad (past double
/// precision).
template <AnalysisScalar S = double>
[[nodiscard]] MatrixX<S> lombscargle(const std::type_identity_t<Eigen::Ref<const VectorX<S>>>& t,
                                     const AnalysisRef<S>& y,
                                     const std::type_identity_t<Eigen::Ref<const VectorX<S>>>& w,
                                     const LombScargleOptions& o = {}) {
  static constexpr const char* name = "lombscargle";
  const Eigen::Index n = t.size(), rows = y.rows(), count = w.size();
  if (n < 1) DENDRITE_THROW(dimension_error, name, ": expected at least one sample time, got 0");
  if (y.cols() != n) {
    DENDRITE_THROW(dimension_error, name, ": expected rows of ", n, " samples (t's size), got ",
                   y.cols());
  }
  if (!t.allFinite()) DENDRITE_THROW(numerical_error, name, ": the times contain NaN or Inf");
  if (!y.allFinite()) DENDRITE_THROW(numerical_error, name, ": the signal contains NaN or Inf");
  for (Eigen::Index i = 0; i < count; ++i) {
    if (!(w(i) > 0) || !std::isfinite(w(i))) {
      DENDRITE_THROW(numerical_error, name, ": expected angular frequencies > 0 and finite, got ",
                     w(i), " at ", i);
    }
  }
  const double latest = t.cwiseAbs().maxCoeff();
  if (count > 0 && w.maxCoeff() * latest > 1e15) {
    DENDRITE_THROW(numerical_error, name, ": expected phases |w t| up to 1e15 rad, got ",
                   w.maxCoeff() * latest);
  }
  MatrixX<S> x = y;
  if (o.precenter) x.colwise() -= x.rowwise().mean();
  MatrixX<S> out(rows, count);
  if (count == 0) return out;

  // cos and sin of w t for a block of frequencies, one per row (row-major: a frequency's
  // samples contiguous), t padded with zeros to a multiple of the lanes
  using batch = xsimd::batch<double>;
  constexpr Eigen::Index lanes = Eigen::Index(batch::size);
  const Eigen::Index padded = (n + lanes - 1) / lanes * lanes;
  const Eigen::Index block =
      std::clamp<Eigen::Index>((Eigen::Index(1) << 17) / padded, 1, count);
  std::vector<double> times(std::size_t(padded), 0.0);
  for (Eigen::Index j = 0; j < n; ++j) times[std::size_t(j)] = t(j);
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  RowMajor c(block, padded), s(block, padded);
  MatrixX<S> xc, xs;
  const double eps = std::numeric_limits<double>::epsilon();
  for (Eigen::Index begin = 0; begin < count; begin += block) {
    const Eigen::Index size = std::min(block, count - begin);
    for (Eigen::Index i = 0; i < size; ++i) {
      const batch wi(w(begin + i));
      for (Eigen::Index j = 0; j < padded; j += lanes) {
        const auto [sine, cosine] = xsimd::sincos(wi * batch::load_unaligned(&times[j]));
        sine.store_unaligned(&s(i, j));
        cosine.store_unaligned(&c(i, j));
      }
    }
    const auto cs = c.topLeftCorner(size, n), ss = s.topLeftCorner(size, n);
    xc.noalias() = x * cs.transpose();
    xs.noalias() = x * ss.transpose();
    for (Eigen::Index i = 0; i < size; ++i) {
      const double wi = w(begin + i);
      const double cc = cs.row(i).squaredNorm(), sq = ss.row(i).squaredNorm();
      const double cross = cs.row(i).dot(ss.row(i));
      // tau's rotation: 2 w tau = atan2(2 sum cos sin, sum cos^2 - sum sin^2)
      const double half = 0.5 * std::atan2(2 * cross, cc - sq);
      const double ct = std::cos(half), st = std::sin(half);
      const double below_c = ct * ct * cc + 2 * ct * st * cross + st * st * sq;
      const double below_s = ct * ct * sq - 2 * ct * st * cross + st * st * cc;
      const double phase_rounding = 16 * eps * wi * latest;
      const double vanished = double(n) * phase_rounding * phase_rounding;
      for (Eigen::Index r = 0; r < rows; ++r) {
        const double a = ct * xc(r, i) + st * xs(r, i), b = ct * xs(r, i) - st * xc(r, i);
        double p = 0;
        if (below_c > vanished) p += a * a / below_c;
        if (below_s > vanished) p += b * b / below_s;
        out(r, begin + i) = S(0.5 * p);
      }
    }
  }
  if (o.normalize) {
    const VectorX<S> energy = y.rowwise().squaredNorm();  // SciPy's: before the centring
    for (Eigen::Index r = 0; r < rows; ++r) {
      if (energy(r) > 0) {
        out.row(r) *= 2 / energy(r);
      } else {
        out.row(r).setZero();
      }
    }
  }
  return out;
}

}  // namespace dendrite::dsp
