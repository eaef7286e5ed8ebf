// SPDX-License-Identifier: MIT
/// @file
/// A linear-phase FIR filter made minimum phase, SciPy's `signal.minimum_phase`: the same (or
/// the square root of the) magnitude with the least delay, every zero on or inside the unit
/// circle. A linear-phase filter of N taps delays every frequency by (N - 1) / 2 samples; its
/// minimum-phase counterpart puts its energy first, which is what a closed-loop or low-latency
/// pipeline wants from the same band edges (at the cost of a frequency-dependent delay).
///
/// Homomorphic (the default; Oppenheim & Schafer, Discrete-Time Signal Processing, section
/// 13.8): with H = DFT_L(h) zero-padded to L points, the real cepstrum
/// c = IDFT_L(a log(|H| + 1e-7 min_{|H| > r} |H|)) is folded onto n >= 0, c_min[0] = c[0],
/// c_min[n] = 2 c[n] for 0 < n < K and c_min[K] = c[K] where K is reached, 0 beyond, and
/// h_min = Re IDFT_L(exp(DFT_L(c_min))), its first M values. SciPy's form (`half`, the default)
/// takes a = 1/2, K = (N + 1) / 2 (the last one kept at weight 1 for odd N) and M = (N + 1) / 2:
/// a filter of half the length whose magnitude approximates sqrt(|H|), so that a linear-phase
/// design of twice the attenuation in dB gives the attenuation wanted. The full form (SciPy 1.14's
/// `half=False`) takes a = 1, the whole fold K = L / 2, and M = N: the same length and magnitude.
///
/// Hilbert (Damera-Venkata, Evans & McCaslin; for equiripple designs with unit or zero bands):
/// the real amplitude A_k = Re(H_k e^{i 2 pi k floor(N / 2) / L}) is shifted by d_s = -min A and
/// scaled by 4 / (sqrt(1 + d_p + d_s) + sqrt(1 - d_p + d_s))^2, d_p = max A - 1, so that it is
/// nonnegative; its square root m (+ 1e-10) is given the phase of the discrete Hilbert transform
/// of log m: h_min = Re IDFT(m exp(DFT(s IDFT(log m)))), s = +1 on 0 < n < L / 2, -1 on
/// n > L / 2, 0 at 0 and L / 2, the first (N + 1) / 2 values. A is even in k, and is computed
/// for k <= L / 2 only: its least value, floored, then sits at both mirrored bins, where SciPy,
/// computing every k, leaves rounding to decide whether the second reaches the floor (its taps
/// move by up to 7e-4 of the peak under relative changes of 1e-15 in h).
///
/// r = 4 eps ceil(log2(L + 1)) sum |h| bounds the transform's rounding of |H|, and a bin at or
/// below it counts as 0: SciPy takes the least |H| > 0, which an exact zero at a bin (an even
/// N's at fs / 2, for an even L) makes a rounding error: two DFTs' roundings gave taps 1.7 % of
/// the peak apart (a 30-tap band-pass at L = 256) before this rule.
///
/// L defaults to SciPy's 2^ceil(log2(2 (N - 1) / 0.01)): the Hilbert method's deviation
/// 2 n_stop / L for n_stop stopband zeros is then at most 1 %. Every sequence is real and every
/// spectrum Hermitian, so the four transforms are real ones (`RealFFT`).
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>
#include <memory>
#include <numbers>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include <dendrite/core/analysis.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/dsp/spectrum.hpp>

namespace dendrite::dsp {

/// How `minimum_phase` finds the phase (see the file comment).
enum class MinimumPhaseMethod : std::uint8_t { Homomorphic, Hilbert };

/// `minimum_phase`'s options, SciPy's keywords.
struct MinimumPhaseOptions {
  MinimumPhaseMethod method = MinimumPhaseMethod::Homomorphic;
  /// L, the DFT's length (>= N); 0: 2^ceil(log2(2 (N - 1) / 0.01)), SciPy's
  Eigen::Index n_fft = 0;
  /// (N + 1) / 2 taps approximating sqrt(|H|) (SciPy's form); false: N taps approximating |H|
  /// (SciPy 1.14's `half=False`), homomorphic only
  bool half = true;
};

/// SciPy's `minimum_phase(h, method, n_fft, half)`: the minimum-phase filter of h's magnitude
/// (or its square root), (N + 1) / 2 or N taps (see the file comment). Meant for linear-phase h;
/// the homomorphic method serves any h with a nonzero response, and the Hilbert method needs h
/// symmetric (numpy's `allclose`, where SciPy warns). Throws `numerical_error` for fewer than 3
/// taps, non-finite taps, n_fft < N, an h whose response is 0 at every bin, `half = false` with
/// the Hilbert method, a non-symmetric h or an amplitude above 2 + d_s (whose scaled square root
/// would not be real) with the Hilbert method.
template <AnalysisScalar S = double>
[[nodiscard]] VectorX<S> minimum_phase(
    const std::type_identity_t<Eigen::Ref<const VectorX<S>>>& h,
    const MinimumPhaseOptions& options = {}) {
  using cplx = std::complex<double>;
  const Eigen::Index n = h.size();
  const bool hilbert = options.method == MinimumPhaseMethod::Hilbert;
  if (n <= 2) DENDRITE_THROW(numerical_error, "minimum_phase: need at least 3 taps, got ", n);
  if (!h.allFinite()) DENDRITE_THROW(numerical_error, "minimum_phase: need finite taps");
  if (hilbert && !options.half) {
    DENDRITE_THROW(numerical_error, "minimum_phase: half = false needs the homomorphic method");
  }
  const Eigen::Index n_half = n / 2;
  if (hilbert) {
    for (Eigen::Index k = 0; k < n_half; ++k) {
      const double a = double(h(n - 1 - k)), b = double(h(k));
      if (!(std::abs(a - b) <= 1e-8 + 1e-5 * std::abs(b))) {
        DENDRITE_THROW(numerical_error, "minimum_phase: the Hilbert method needs symmetric taps,",
                       " got h[", k, "] = ", b, " and h[", n - 1 - k, "] = ", a);
      }
    }
  }
  const Eigen::Index length =
      options.n_fft > 0 ? options.n_fft
                        : Eigen::Index(1) << int(std::ceil(std::log2(2.0 * double(n - 1) / 0.01)));
  if (length < n) {
    DENDRITE_THROW(numerical_error, "minimum_phase: need n_fft >= N = ", n, ", got ", length);
  }
  // every sequence below is real and every spectrum Hermitian: real transforms, bins 0 ... L / 2
  std::unique_ptr<RealFFT> uncached;
  RealFFT& plan = detail::PlanCache<RealFFT>::local().get(length, uncached);
  const auto len = std::size_t(length), bins = len / 2 + 1;
  std::vector<double> x(len, 0.0);
  std::vector<cplx> z(bins);
  for (Eigen::Index k = 0; k < n; ++k) x[std::size_t(k)] = double(h(k));
  plan.forward(x.data(), z.data());
  const Eigen::Index n_out = hilbert || options.half ? n_half + n % 2 : n;
  VectorX<S> out(n_out);

  if (hilbert) {
    // the real amplitude (even in k: the bins to L / 2 hold it whole), shifted and scaled to
    // [0, 1]-ish, and its square root
    std::vector<double> a(bins);
    const double turn = 2.0 * std::numbers::pi / double(length) * double(n_half);
    for (std::size_t k = 0; k < bins; ++k) {
      const double w = double(k) * turn;
      a[k] = z[k].real() * std::cos(w) - z[k].imag() * std::sin(w);
    }
    const auto [lo, hi] = std::minmax_element(a.begin(), a.end());
    const double dp = *hi - 1, ds = -*lo;
    if (!(1 - dp + ds >= 0)) {
      DENDRITE_THROW(numerical_error, "minimum_phase: the Hilbert method needs an amplitude of",
                     " at most 2 + d_s = ", 2 + ds, " (unit or zero bands), got ", *hi);
    }
    const double root = std::sqrt(1 + dp + ds) + std::sqrt(1 - dp + ds);
    const double scale = 4.0 / (root * root);
    for (std::size_t k = 0; k < bins; ++k) {
      a[k] = std::sqrt((a[k] + ds) * scale) + 1e-10;
      z[k] = std::log(a[k]);
    }
    // m exp(DFT(s IDFT(log m))): the phase of the discrete Hilbert transform of log m
    plan.inverse(z.data(), x.data());
    const std::size_t mid = len / 2;
    for (std::size_t k = 0; k < len; ++k) {
      x[k] *= k == 0 || k == mid ? 0.0 : (k < mid ? 1.0 : -1.0);
    }
    plan.forward(x.data(), z.data());
    for (std::size_t k = 0; k < bins; ++k) z[k] = a[k] * std::exp(z[k]);
  } else {
    // |H| at or below the transform's rounding is a zero of H (an even N's at fs / 2): 0, so
    // that the floor is 1e-7 of the least |H| above it
    const double noise = 4 * std::numeric_limits<double>::epsilon() *
                         std::ceil(std::log2(double(length) + 1)) * h.cwiseAbs().sum();
    std::vector<double> mag(bins);
    double least = std::numeric_limits<double>::infinity();
    for (std::size_t k = 0; k < bins; ++k) {
      mag[k] = std::abs(z[k]) > noise ? std::abs(z[k]) : 0.0;
      if (mag[k] > 0) least = std::min(least, mag[k]);
    }
    if (!std::isfinite(least)) {
      DENDRITE_THROW(numerical_error, "minimum_phase: h's response is 0 at every bin");
    }
    const double a = options.half ? 0.5 : 1.0;
    for (std::size_t k = 0; k < bins; ++k) z[k] = a * std::log(mag[k] + 1e-7 * least);
    plan.inverse(z.data(), x.data());
    // the cepstrum folded onto n >= 0: weight 1 at 0, 2 below `stop`, 1 at `stop` if `unit`
    const std::size_t stop = options.half ? std::size_t(n + 1) / 2 : (len + 1) / 2;
    const bool unit = options.half ? n % 2 == 1 : len % 2 == 0;
    for (std::size_t k = 0; k < len; ++k) {
      x[k] *= k == 0 ? 1.0 : k < stop ? 2.0 : (k == stop && unit) ? 1.0 : 0.0;
    }
    plan.forward(x.data(), z.data());
    for (cplx& v : z) v = std::exp(v);
  }
  plan.inverse(z.data(), x.data());
  for (Eigen::Index k = 0; k < n_out; ++k) out(k) = S(x[std::size_t(k)]);
  return out;
}

}  // namespace dendrite::dsp
