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
///
/// `firwin` is SciPy's window method for every band layout (low-, high-, band-pass, band-stop,
/// multiband; see its comment), with SciPy's `kaiser_beta`, `kaiser_atten` and `kaiserord`.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <numbers>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <dendrite/core/analysis.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/dsp/window.hpp>

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

/// Kaiser's window shape for a stopband attenuation of A dB (SciPy's `kaiser_beta`):
/// 0.1102 (A - 8.7) above 50 dB, 0.5842 (A - 21)^0.4 + 0.07886 (A - 21) above 21, else 0.
[[nodiscard]] inline double kaiser_beta(double attenuation_db) {
  const double a = attenuation_db;
  return a > 50 ? 0.1102 * (a - 8.7)
         : a > 21 ? 0.5842 * std::pow(a - 21, 0.4) + 0.07886 * (a - 21)
                  : 0.0;
}

/// Kaiser's estimate of the attenuation (dB) of N taps over a transition `width` given as a
/// fraction of the Nyquist frequency (SciPy's `kaiser_atten`): 2.285 (N - 1) pi width + 7.95.
[[nodiscard]] inline double kaiser_atten(std::size_t numtaps, double width) {
  return 2.285 * (double(numtaps) - 1) * std::numbers::pi * width + 7.95;
}

/// The taps and window shape of Kaiser's estimate (SciPy's `kaiserord`).
struct KaiserOrder {
  std::size_t numtaps = 0;
  double beta = 0;
};

/// Kaiser's estimate for a ripple of `ripple_db` dB (both bands) over a transition `width` given
/// as a fraction of the Nyquist frequency (SciPy's `kaiserord`): N = ceil((A - 7.95) / (2.285 pi
/// width) + 1) and beta = kaiser_beta(A). Throws `numerical_error` for A < 8 (where the formula
/// fails) and a width outside (0, 1].
[[nodiscard]] inline KaiserOrder kaiserord(double ripple_db, double width) {
  const double a = std::abs(ripple_db);
  if (!(a >= 8 && std::isfinite(a)) || !(width > 0 && width <= 1)) {
    DENDRITE_THROW(numerical_error, "kaiserord: need a ripple of at least 8 dB and a width in",
                   " (0, 1] of the Nyquist frequency, got ", ripple_db, " dB and ", width);
  }
  const double n = (a - 7.95) / 2.285 / (std::numbers::pi * width) + 1;
  return {std::size_t(std::ceil(n)), kaiser_beta(a)};
}

/// `firwin`'s options (SciPy's keywords and defaults).
struct FirwinOptions {
  Window window = Window::Hamming;  ///< symmetric (SciPy's `fftbins=False`); not `Values`
  double shape = 0.25;              ///< Tukey's alpha, or Kaiser's beta
  /// > 0: SciPy's `width` (in the units of fs), a Kaiser window of beta kaiser_beta(
  /// kaiser_atten(N, width / (fs / 2))) in place of `window`
  double width = 0;
  bool pass_zero = true;            ///< the band from 0 to the first cut-off passes
  bool scale = true;                ///< unit gain at the first passband's centre (see `firwin`)
  double fs = 2.0;                  ///< the sampling rate of the cut-offs (SciPy's default, 2)
};

/// SciPy's `firwin(N, cutoff, window=..., pass_zero=..., scale=..., fs=...)`: the N taps of the
/// ideal response with cut-offs c_1 < ... < c_K (in the units of fs, strictly between 0 and
/// fs / 2), passing [0, c_1] if `pass_zero`, then every other band, times the symmetric window:
///   h[n] = w[n] sum over the passbands [a, b] of (b sinc(b m) - a sinc(a m)),
/// m = n - (N - 1) / 2, a and b relative to fs / 2, sinc(x) = sin(pi x) / (pi x). With `scale`,
/// the taps are divided by the response's real amplitude at the first passband's centre (0 if
/// it starts at 0, fs / 2 if it ends there). The taps are computed for the first half and
/// mirrored: exactly symmetric. Throws `numerical_error` for no taps, cut-offs not increasing or
/// outside (0, fs / 2), fs not finite and positive, `Window::Values`, a `width` outside
/// [0, fs / 2), an even N with a passband at fs / 2 (its taps vanish there), and taps with no
/// gain to scale by (SciPy's NaN).
template <AnalysisScalar S = double>
[[nodiscard]] VectorX<S> firwin(std::size_t numtaps, const std::vector<double>& cutoff,
                                const FirwinOptions& options = {}) {
  const double nyq = 0.5 * options.fs;
  if (!(std::isfinite(options.fs) && options.fs > 0) || numtaps < 1 || cutoff.empty() ||
      options.window == Window::Values || !(options.width >= 0 && options.width < nyq)) {
    DENDRITE_THROW(numerical_error, "firwin: need N >= 1, at least one cut-off, a finite fs > 0,",
                   " a named window and a width in [0, fs / 2), got N ", numtaps, ", ",
                   cutoff.size(), " cut-offs, fs ", options.fs, ", width ", options.width,
                   options.window == Window::Values ? ", Window::Values" : "");
  }
  for (std::size_t k = 0; k < cutoff.size(); ++k) {
    if (!(cutoff[k] > (k == 0 ? 0.0 : cutoff[k - 1]) && cutoff[k] < nyq)) {
      DENDRITE_THROW(numerical_error, "firwin: need cut-offs increasing strictly between 0 and",
                     " fs / 2 = ", nyq, ", got cut-off ", k, " = ", cutoff[k]);
    }
  }
  const bool pass_nyquist = (cutoff.size() % 2 == 1) != options.pass_zero;
  if (pass_nyquist && numtaps % 2 == 0) {
    DENDRITE_THROW(numerical_error, "firwin: an even number of taps (", numtaps, ") vanishes at",
                   " fs / 2, where this filter passes; use an odd N");
  }
  std::vector<double> edges;  // the passbands' edges, relative to fs / 2
  if (options.pass_zero) edges.push_back(0.0);
  for (double c : cutoff) edges.push_back(c / nyq);
  if (pass_nyquist) edges.push_back(1.0);
  const auto sinc = [](double x) {
    return x == 0 ? 1.0 : std::sin(std::numbers::pi * x) / (std::numbers::pi * x);
  };
  const bool by_width = options.width > 0;
  const double beta = by_width ? kaiser_beta(kaiser_atten(numtaps, options.width / nyq)) : 0.0;
  const VectorX<double> w =
      window<double>(by_width ? Window::Kaiser : options.window, Eigen::Index(numtaps),
                     by_width ? beta : options.shape, true);
  const double mid = 0.5 * double(numtaps - 1);
  VectorX<double> h(static_cast<Eigen::Index>(numtaps));
  for (std::size_t n = 0; n < (numtaps + 1) / 2; ++n) {
    const double m = double(n) - mid;
    double v = 0;
    for (std::size_t b = 0; b + 1 < edges.size(); b += 2) {
      v += edges[b + 1] * sinc(edges[b + 1] * m) - edges[b] * sinc(edges[b] * m);
    }
    h(Eigen::Index(n)) = h(Eigen::Index(numtaps - 1 - n)) = v * w(Eigen::Index(n));
  }
  if (options.scale) {
    const double a = edges[0], b = edges[1];
    const double f = a == 0 ? 0.0 : b == 1 ? 1.0 : 0.5 * (a + b);  // relative to fs / 2
    double gain = 0;
    for (std::size_t n = 0; n < numtaps; ++n) {
      gain += h(Eigen::Index(n)) * std::cos(std::numbers::pi * (double(n) - mid) * f);
    }
    if (!(std::abs(gain) > 0)) {  // e.g. a symmetric Hann window of 2 points, all zeros
      DENDRITE_THROW(numerical_error, "firwin: the windowed taps have no gain to scale by at ",
                     f * nyq, " (the window of ", numtaps, " points vanishes there)");
    }
    h /= gain;
  }
  return h.template cast<S>();
}

/// The N taps of a Kaiser-windowed sinc low-pass with cut-off `fc` (cycles per sample) and
/// window shape `beta`, normalised to unit gain at DC (SciPy's `firwin(N, 2 fc,
/// window=('kaiser', beta))`, which this calls). Throws `numerical_error` unless N >= 1,
/// 0 < fc < 0.5, beta >= 0.
template <AnalysisScalar S = double>
[[nodiscard]] VectorX<S> kaiser_taps(std::size_t n, double fc, double beta) {
  if (n < 1 || !(fc > 0 && fc < 0.5) || !(beta >= 0)) {
    DENDRITE_THROW(numerical_error, "kaiser_taps: need N >= 1, 0 < fc < 0.5, beta >= 0, got N ", n,
                   ", fc ", fc, ", beta ", beta);
  }
  FirwinOptions options;
  options.window = Window::Kaiser;
  options.shape = beta;
  return firwin<S>(n, {2 * fc}, options);
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
  const double beta = kaiser_beta(a);
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
