// SPDX-License-Identifier: MIT
/// @file
/// FIR design by frequency sampling, SciPy's `signal.firwin2` (Oppenheim & Schafer,
/// Discrete-Time Signal Processing, section 7.4; Smith, The Scientist and Engineer's Guide to
/// DSP, ch. 17): the desired gain G, given as a piecewise-linear curve through points
/// (f_i, g_i) from 0 to fs / 2, is sampled at the F uniform frequencies v_k = k / (F - 1) (relative
/// to fs / 2), given the linear phase of N taps, e^{-i pi v_k (N - 1) / 2} (times i for an
/// antisymmetric filter), and inverted by a real DFT of 2 (F - 1) points; the first N values of
/// that kernel times a symmetric window are the taps:
///   h[n] = w[n] irfft(G(v_k) e^{-i pi v_k (N - 1) / 2} [i])[n],   n = 0 ... N - 1.
/// A frequency given twice is a step: the two copies are moved apart by eps fs / 2 so that the
/// curve is a function. F defaults to 1 + 2^ceil(log2 N), SciPy's. The four linear-phase types
/// constrain the gain: an even N (type II) vanishes at fs / 2, an odd antisymmetric one (type III)
/// at 0 and fs / 2, an even antisymmetric one (type IV) at 0.
#pragma once

#include <bit>
#include <cmath>
#include <complex>
#include <cstddef>
#include <limits>
#include <numbers>
#include <vector>

#include <Eigen/Core>

#include <dendrite/core/analysis.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/dsp/spectrum.hpp>
#include <dendrite/dsp/window.hpp>

namespace dendrite::dsp {

/// `firwin2`'s options, SciPy's keywords.
struct Firwin2Options {
  /// symmetric (SciPy's `fftbins=False`); `Boxcar` is SciPy's `window=None`; not `Values`
  Window window = Window::Hamming;
  double shape = 0.25;          ///< Tukey's alpha, or Kaiser's beta
  Eigen::Index nfreqs = 0;      ///< F, the frequencies sampled (> N); 0: 1 + 2^ceil(log2 N)
  bool antisymmetric = false;   ///< types III and IV (differentiators, Hilbert transformers)
  double fs = 2.0;              ///< the sampling rate of `freq` (SciPy's default, 2)
};

/// SciPy's `firwin2(N, freq, gain, nfreqs, window, antisymmetric, fs)`: the N taps whose
/// response follows the gain curve through (freq[i], gain[i]) (see the file comment). `freq` runs
/// from 0 to fs / 2, nondecreasing, no value more than twice, 0 and fs / 2 once. Throws
/// `numerical_error` for no taps, `freq` and `gain` of different lengths or fewer than 2 points,
/// freq not so ordered, non-finite values, fs not finite and positive, nfreqs <= N, `Values`, a
/// nonzero gain where the filter's type vanishes, and a step whose copies cannot be moved apart
/// (a neighbour within eps fs / 2).
template <AnalysisScalar S = double>
[[nodiscard]] VectorX<S> firwin2(std::size_t numtaps, const std::vector<double>& freq,
                                 const std::vector<double>& gain,
                                 const Firwin2Options& options = {}) {
  const double fs = options.fs;
  if (numtaps < 1) DENDRITE_THROW(numerical_error, "firwin2: need at least 1 tap, got 0");
  if (!(std::isfinite(fs) && fs > 0)) {
    DENDRITE_THROW(numerical_error, "firwin2: need a finite fs > 0, got ", fs);
  }
  if (freq.size() != gain.size() || freq.size() < 2) {
    DENDRITE_THROW(numerical_error, "firwin2: need freq and gain of the same length, at least",
                   " 2, got ", freq.size(), " and ", gain.size());
  }
  const double nyq = 0.5 * fs;
  const std::size_t m = freq.size();
  for (std::size_t i = 0; i < m; ++i) {
    if (!std::isfinite(freq[i]) || !std::isfinite(gain[i])) {
      DENDRITE_THROW(numerical_error, "firwin2: need finite frequencies and gains, got ", freq[i],
                     " and ", gain[i], " at index ", i);
    }
  }
  if (freq.front() != 0 || freq.back() != nyq) {
    DENDRITE_THROW(numerical_error, "firwin2: need freq from 0 to fs / 2 = ", nyq, ", got ",
                   freq.front(), " to ", freq.back());
  }
  for (std::size_t i = 1; i < m; ++i) {
    if (freq[i] < freq[i - 1]) {
      DENDRITE_THROW(numerical_error, "firwin2: need nondecreasing freq, got ", freq[i - 1],
                     " then ", freq[i], " at index ", i);
    }
    if (i >= 2 && freq[i] == freq[i - 2]) {
      DENDRITE_THROW(numerical_error, "firwin2: a frequency may occur at most twice, ", freq[i],
                     " occurs three times");
    }
  }
  if (freq[1] == 0 || freq[m - 2] == nyq) {
    DENDRITE_THROW(numerical_error, "firwin2: 0 and fs / 2 may occur only once in freq");
  }
  const bool odd = numtaps % 2 == 1;
  const int type = options.antisymmetric ? (odd ? 3 : 4) : (odd ? 1 : 2);
  if ((type == 2 || type == 3) && gain.back() != 0) {
    DENDRITE_THROW(numerical_error, "firwin2: a type ", type == 2 ? "II (even N, symmetric)" :
                   "III (odd N, antisymmetric)", " filter vanishes at fs / 2, got gain ",
                   gain.back());
  }
  if ((type == 3 || type == 4) && gain.front() != 0) {
    DENDRITE_THROW(numerical_error, "firwin2: a type ", type == 3 ? "III (odd N," : "IV (even N,",
                   " antisymmetric) filter vanishes at 0, got gain ", gain.front());
  }
  const auto n_taps = Eigen::Index(numtaps);
  const Eigen::Index nfreqs =
      options.nfreqs > 0 ? options.nfreqs : 1 + Eigen::Index(std::bit_ceil(numtaps));
  if (nfreqs <= n_taps) {
    DENDRITE_THROW(numerical_error, "firwin2: need nfreqs > N = ", numtaps, ", got ", nfreqs);
  }
  // the window first: it rejects Window::Values and a bad Kaiser beta before any work
  if (options.window == Window::Values) {
    DENDRITE_THROW(numerical_error, "firwin2: need a named window, got Window::Values");
  }
  const VectorX<double> w = window<double>(options.window, n_taps, options.shape, true);

  // a step (a frequency given twice) becomes a ramp over 2 eps nyq
  std::vector<double> f = freq;
  const double eps = std::numeric_limits<double>::epsilon() * nyq;
  for (std::size_t k = 0; k + 1 < m; ++k) {
    if (f[k] == f[k + 1]) {
      f[k] -= eps;
      f[k + 1] += eps;
    }
  }
  for (std::size_t k = 1; k < m; ++k) {
    if (!(f[k] > f[k - 1])) {
      DENDRITE_THROW(numerical_error, "firwin2: a step at ", freq[k], " has a neighbour within",
                     " eps fs / 2 = ", eps);
    }
  }

  // G sampled at F uniform frequencies (numpy's linspace and interp), with the linear phase
  VectorXc<double> bins(nfreqs);
  const double step = nyq / double(nfreqs - 1);
  const double delay = -double(n_taps - 1) / 2.0 * std::numbers::pi;
  std::size_t j = 0;  // f[j] <= x < f[j + 1]
  for (Eigen::Index k = 0; k < nfreqs; ++k) {
    const double x = k + 1 == nfreqs ? nyq : double(k) * step;
    while (j + 2 < m && x >= f[j + 1]) ++j;
    double g = gain[m - 1];
    if (x < f[m - 1]) {
      const double slope = (gain[j + 1] - gain[j]) / (f[j + 1] - f[j]);
      g = slope * (x - f[j]) + gain[j];
    }
    const std::complex<double> shift = std::polar(1.0, delay * x / nyq);
    bins(k) = g * (type > 2 ? std::complex<double>(-shift.imag(), shift.real()) : shift);
  }
  const VectorX<double> kernel = irfft<double>(bins);
  VectorX<S> taps(n_taps);
  for (Eigen::Index n = 0; n < n_taps; ++n) taps(n) = S(kernel(n) * w(n));
  if (type == 3) taps(n_taps / 2) = S(0);
  return taps;
}

}  // namespace dendrite::dsp
