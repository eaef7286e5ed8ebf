// SPDX-License-Identifier: MIT
/// @file
/// Linear-phase FIR low-pass design by the Kaiser window method (Kaiser 1974; Oppenheim &
/// Schafer, Discrete-Time Signal Processing, 3rd ed., section 7.6):
///   h[n] = 2 fc sinc(2 fc (n - (N-1)/2)) w[n],   w[n] = I0(beta sqrt(1 - r^2)) / I0(beta),
///   r = 2 n / (N - 1) - 1,
/// with fc the cut-off (the middle of the transition band, in cycles per sample), and for a
/// stopband attenuation A dB: beta = 0.1102 (A - 8.7) for A > 50,
/// 0.5842 (A - 21)^0.4 + 0.07886 (A - 21) for 21 <= A <= 50, 0 below; the length starts at
/// Kaiser's estimate N = (A - 7.95) / (14.36 dF) + 1 (dF the transition width in cycles per
/// sample). The Kaiser estimate is approximate, so `kaiser_lowpass` then measures the response
/// on a dense grid and lengthens the filter until both the passband deviation and the stopband
/// level are within 0.99 x 10^(-A/20) (Kaiser's windows give about equal ripples in both bands;
/// for 40-100 dB and transitions of 0.1 / M this ends 2-18 % above Kaiser's estimate). The
/// taps are normalised to unit gain at DC. SciPy's `firwin(N, 2 fc, window=('kaiser', beta))`
/// gives the same taps for the same N and beta.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <numbers>
#include <utility>

#include <Eigen/Core>

#include <dendrite/core/analysis.hpp>
#include <dendrite/core/error.hpp>

namespace dendrite::dsp {

/// The response of FIR taps at f (in cycles per sample, 0 <= f <= 0.5): sum_n h[n] e^{-2 pi i f n}.
template <AnalysisScalar S = double>
[[nodiscard]] std::complex<double> fir_response(const Eigen::Ref<const VectorX<S>>& taps, double f) {
  std::complex<double> h = 0;
  for (Eigen::Index n = 0; n < taps.size(); ++n) {
    h += double(taps(n)) * std::polar(1.0, -2.0 * std::numbers::pi * f * double(n));
  }
  return h;
}

/// A low-pass FIR design and the ripples it meets.
template <AnalysisScalar S = double>
struct FIRDesign {
  VectorX<S> taps;                 ///< N taps, symmetric (linear phase, delay (N - 1) / 2)
  double beta = 0;                 ///< the Kaiser window's shape parameter
  double passband_deviation = 0;   ///< max |1 - |H(f)|| over 0 <= f <= passband edge (measured)
  double stopband_level = 0;       ///< max |H(f)| over stopband edge <= f <= 0.5 (measured)
};

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

// |H(f)| of odd-length symmetric taps h (N = 2m + 1) through their real amplitude
// A(f) = h[m] + sum_{k=1}^{m} (h[m+k] + h[m-k]) cos(2 pi f k), with the cosines from the
// recurrence cos((k+1) w) = 2 cos w cos(k w) - cos((k-1) w): no trigonometric call per tap, which
// makes the design's ripple measurement (thousands of frequencies, tens of lengths) cheap.
template <class V>
double symmetric_gain(const V& h, double f) {
  const Eigen::Index m = (h.size() - 1) / 2;
  const double c1 = std::cos(2.0 * std::numbers::pi * f);
  double prev = 1.0, cur = c1;  // cos(0 w), cos(1 w)
  double a = double(h(m));
  for (Eigen::Index k = 1; k <= m; ++k) {
    a += (double(h(m + k)) + double(h(m - k))) * cur;
    const double next = 2.0 * c1 * cur - prev;
    prev = cur;
    cur = next;
  }
  return std::abs(a);
}

// The passband deviation max |1 - |H(f)|| over [0, pass_edge] and the stopband level
// max |H(f)| over [stop_edge, 0.5] of odd-length symmetric taps, on a grid of 16 points per
// 1 / N (at least 2048) per band: between grid points a ripple's peak is at most 0.5 % higher.
template <class V>
std::pair<double, double> lowpass_ripples(const V& h, double pass_edge, double stop_edge) {
  const std::size_t grid = std::max<std::size_t>(2048, 16 * std::size_t(h.size()));
  double pass = 0, stop = 0;
  for (std::size_t i = 0; i <= grid; ++i) {
    const double fp = pass_edge * double(i) / double(grid);
    const double fs = stop_edge + (0.5 - stop_edge) * double(i) / double(grid);
    pass = std::max(pass, std::abs(1.0 - symmetric_gain(h, fp)));
    stop = std::max(stop, symmetric_gain(h, fs));
  }
  return {pass, stop};
}

// A low-pass specification's checks (kaiser_lowpass, remez_lowpass).
inline void check_lowpass(const char* name, double pass_edge, double stop_edge, double db) {
  if (!(pass_edge > 0 && pass_edge < stop_edge && stop_edge <= 0.5)) {
    DENDRITE_THROW(numerical_error, name,
                   ": need 0 < pass_edge < stop_edge <= 0.5 (cycles per sample), got ", pass_edge,
                   " and ", stop_edge);
  }
  if (!(db >= 20 && db <= 150)) {
    DENDRITE_THROW(numerical_error, name, ": attenuation must lie in [20, 150] dB, got ", db);
  }
}

}  // namespace detail

/// The N taps of a Kaiser-windowed sinc low-pass with cut-off `fc` (cycles per sample) and
/// window shape `beta`, normalised to unit gain at DC (SciPy's `firwin(N, 2 fc,
/// window=('kaiser', beta))`). Throws `numerical_error` unless N >= 1, 0 < fc < 0.5, beta >= 0.
template <AnalysisScalar S = double>
[[nodiscard]] VectorX<S> kaiser_taps(std::size_t n, double fc, double beta) {
  if (n < 1 || !(fc > 0 && fc < 0.5) || !(beta >= 0)) {
    DENDRITE_THROW(numerical_error, "kaiser_taps: need N >= 1, 0 < fc < 0.5, beta >= 0, got N ", n,
                   ", fc ", fc, ", beta ", beta);
  }
  VectorX<S> h(static_cast<Eigen::Index>(n));
  const double mid = 0.5 * double(n - 1), i0_beta = detail::bessel_i0(beta);
  double sum = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const double t = double(k) - mid;
    const double x = 2.0 * std::numbers::pi * fc * t;
    const double sinc = t == 0 ? 1.0 : std::sin(x) / x;
    const double r = n == 1 ? 0.0 : 2.0 * double(k) / double(n - 1) - 1.0;
    const double w = detail::bessel_i0(beta * std::sqrt(std::max(0.0, 1.0 - r * r))) / i0_beta;
    const double v = 2.0 * fc * sinc * w;
    h(Eigen::Index(k)) = S(v);
    sum += v;
  }
  h /= S(sum);
  return h;
}

/// A Kaiser-window low-pass with passband [0, `pass_edge`] and stopband [`stop_edge`, 0.5]
/// (cycles per sample) attenuated by at least `attenuation_db` (see the file comment).
/// Throws `numerical_error` unless 0 < pass_edge < stop_edge <= 0.5 and
/// 20 <= attenuation_db <= 150, or if the design would need more than 16 384 taps.
template <AnalysisScalar S = double>
[[nodiscard]] FIRDesign<S> kaiser_lowpass(double pass_edge, double stop_edge,
                                          double attenuation_db) {
  detail::check_lowpass("kaiser_lowpass", pass_edge, stop_edge, attenuation_db);
  const double a = attenuation_db;
  const double beta = a > 50 ? 0.1102 * (a - 8.7)
                     : a >= 21 ? 0.5842 * std::pow(a - 21, 0.4) + 0.07886 * (a - 21)
                               : 0.0;
  const double df = stop_edge - pass_edge, fc = 0.5 * (pass_edge + stop_edge);
  const double ripple = std::pow(10.0, -a / 20.0);
  auto n = std::size_t(std::ceil((a - 7.95) / (14.36 * df))) + 1;
  n += (n % 2 == 0) ? 1 : 0;  // odd: a type I filter, integer delay
  FIRDesign<S> d;
  d.beta = beta;
  for (int attempt = 0; attempt < 64; ++attempt, n += 2) {
    if (n > 16384) break;
    VectorX<S> h = kaiser_taps<S>(n, fc, beta);
    // measure both bands, and keep 1 % in hand for the peaks between grid points
    const auto [pass, stop] = detail::lowpass_ripples(h, pass_edge, stop_edge);
    if (pass <= 0.99 * ripple && stop <= 0.99 * ripple) {
      d.taps = std::move(h);
      d.passband_deviation = pass;
      d.stopband_level = stop;
      return d;
    }
  }
  DENDRITE_THROW(numerical_error, "kaiser_lowpass: ", attenuation_db,
                 " dB over a transition of ", df, " cycles per sample needs more than 16384 taps");
}

}  // namespace dendrite::dsp
