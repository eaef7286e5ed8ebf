// SPDX-License-Identifier: MIT
/// @file
/// SciPy's windows (`scipy.signal.get_window`), periodic (`fftbins=True`, for spectral
/// estimates: the first N of the symmetric window of N + 1 points) or symmetric (`fftbins=False`,
/// for FIR design), with M = N + 1 or N points in the formulas and t = 0 ... N - 1:
///   Hann 0.5 - 0.5 cos(2 pi t / (M - 1)), Hamming 0.54 - 0.46 cos(2 pi t / (M - 1)),
///   Blackman 0.42 - 0.5 cos(2 pi t / (M - 1)) + 0.08 cos(4 pi t / (M - 1)), boxcar 1,
///   Tukey's with taper fraction alpha (below), and Kaiser's with shape beta,
///   I0(beta sqrt(1 - (2 t / (M - 1) - 1)^2)) / I0(beta).
/// A window of one point is 1.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>

#include <Eigen/Core>

#include <dendrite/core/analysis.hpp>
#include <dendrite/core/error.hpp>

namespace dendrite::dsp {

/// SciPy's windows (`get_window(name, N)`; Tukey's as `get_window(('tukey', alpha), N)`,
/// Kaiser's as `get_window(('kaiser', beta), N)`); `Values` means the window is given.
enum class Window : std::uint8_t { Hann, Hamming, Blackman, Boxcar, Tukey, Values, Kaiser };

namespace detail {

// The modified Bessel function of the first kind, order 0, by its power series
// sum_k ((x/2)^k / k!)^2 (converges for every x; 60 terms reach double precision for x < 40).
inline double bessel_i0(double x) {
  const double q = 0.25 * x * x;
  double term = 1, sum = 1;
  for (int k = 1; k < 200 && term > 1e-17 * sum; ++k) {
    term *= q / (double(k) * double(k));
    sum += term;
  }
  return sum;
}

}  // namespace detail

/// The N values of a window (see the file comment): periodic (SciPy's `get_window(name, N)`),
/// or with `symmetric` SciPy's `get_window(name, N, fftbins=False)`. `shape` is Tukey's taper
/// fraction alpha (width = floor(alpha (M - 1) / 2): 0.5 (1 + cos(pi (-1 + 2 t / (alpha (M -
/// 1))))) for t <= width, 1 up to M - width - 2, and the mirror image after; alpha <= 0 is the
/// boxcar, alpha >= 1 Hann), or Kaiser's beta (>= 0). Throws `dimension_error` for N < 1 or
/// `Window::Values`, and `numerical_error` for a negative or non-finite Kaiser beta.
template <AnalysisScalar S = double>
[[nodiscard]] VectorX<S> window(Window kind, Eigen::Index n, double shape = 0.25,
                                bool symmetric = false) {
  if (n < 1 || kind == Window::Values) {
    DENDRITE_THROW(dimension_error, "window: expected a named window of at least 1 point, got ",
                   n, " points", kind == Window::Values ? " of Window::Values" : "");
  }
  if (kind == Window::Kaiser && !(shape >= 0 && std::isfinite(shape))) {
    DENDRITE_THROW(numerical_error, "window: Kaiser's beta must be finite and >= 0, got ", shape);
  }
  const double alpha = shape;
  if (kind == Window::Tukey && alpha >= 1.0) kind = Window::Hann;
  VectorX<S> w(n);
  if (n == 1) return w.setOnes();  // as SciPy's, for every window
  const Eigen::Index m = symmetric ? n : n + 1;  // the symmetric window's points
  if (kind == Window::Tukey) {
    const auto width = Eigen::Index(std::floor(alpha * double(m - 1) / 2.0));
    const double span = alpha * double(m - 1);
    for (Eigen::Index t = 0; t < n; ++t) {
      if (alpha <= 0 || (t > width && t < m - width - 1)) {
        w(t) = 1.0;
      } else if (t <= width) {
        w(t) = 0.5 * (1.0 + std::cos(std::numbers::pi * (-1.0 + 2.0 * double(t) / span)));
      } else {
        w(t) = 0.5 * (1.0 + std::cos(std::numbers::pi * (-2.0 / alpha + 1.0 + 2.0 * double(t) /
                                                                                span)));
      }
    }
    return w;
  }
  if (kind == Window::Kaiser) {
    const double i0_beta = detail::bessel_i0(shape);
    for (Eigen::Index t = 0; t < n; ++t) {
      const double r = 2.0 * double(t) / double(m - 1) - 1.0;
      w(t) = detail::bessel_i0(shape * std::sqrt(std::max(0.0, 1.0 - r * r))) / i0_beta;
    }
    return w;
  }
  for (Eigen::Index t = 0; t < n; ++t) {
    const double x = 2.0 * std::numbers::pi * double(t) / double(m - 1);
    switch (kind) {
      case Window::Hann: w(t) = 0.5 - 0.5 * std::cos(x); break;
      case Window::Hamming: w(t) = 0.54 - 0.46 * std::cos(x); break;
      case Window::Blackman: w(t) = 0.42 - 0.5 * std::cos(x) + 0.08 * std::cos(2.0 * x); break;
      default: w(t) = 1.0; break;
    }
  }
  return w;
}

}  // namespace dendrite::dsp
