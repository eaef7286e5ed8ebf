// SPDX-License-Identifier: MIT
/// @file
/// Bessel-Thomson filters as second-order sections, SciPy's `bessel(order, edges, btype,
/// norm=..., fs=fs, output='sos')`: the analog low-pass with the flattest group delay at DC
/// (Thomson's criterion), for waveforms whose shape must survive filtering (spikes, patch-clamp
/// currents). The bilinear transform keeps its magnitude and phase on the warped axis, not its
/// delay's flatness at high frequencies.
/// The analog prototype is 1 / theta_n(s) scaled: theta_n(s) = sum_k a_k s^k, the reverse
/// Bessel polynomial, a_k = (2n - k)! / (2^(n - k) k! (n - k)!), whose roots are the poles
/// ("delay" normalisation: group delay 1 at DC, gain theta_n(0) = a_0). `BesselNorm::Phase`
/// (SciPy's default) scales s by a_0^(1/n), so that the high-frequency asymptote is a
/// Butterworth's with the same edge, (Wc / W)^n, and the phase at the edge is near half its
/// total shift (-n pi / 4 at orders 1 and 2, 0.99 of it at 4, 0.967 at 10); `Magnitude` scales
/// it so that the gain is -3 dB at the edge. The roots
/// are the eigenvalues of the balanced companion matrix (`tf2sos`'s root finder), each polished
/// by Newton's method on theta_n in long double (80-bit on x86); then the band transform, the
/// bilinear transform and the pairing into sections as for `butter`. The digital low-pass
/// therefore equals a_0 / theta_n(c W / Wc) to rounding, W = 2 fs tan(w / 2) and Wc the edge
/// pre-warped, c = 1 (delay), a_0^(1/n) (phase) or the -3 dB scale (magnitude).
#pragma once

#include <array>
#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>
#include <vector>

#include <dendrite/core/error.hpp>
#include <dendrite/dsp/design.hpp>
#include <dendrite/dsp/transfer_function.hpp>

namespace dendrite::dsp {

/// Where a Bessel filter's edge sits: SciPy's `norm` of `bessel`.
enum class BesselNorm : std::uint8_t {
  Phase,      ///< a Butterworth's asymptote; about half the phase shift at the edge (SciPy's)
  Delay,      ///< the group delay at DC is 1 / Wc (the edge sets the delay, not a cut-off)
  Magnitude,  ///< the gain is -3 dB at the edge
};

namespace detail {

// theta_n's coefficients a_0 ... a_n, from a_n = 1 by a_k = a_{k+1} (2n - k)(k + 1) / (2 (n - k)),
// exact integers while they stay below 2^53 (n <= 15).
inline std::vector<double> reverse_bessel(int n) {
  std::vector<double> a(std::size_t(n) + 1);
  a[std::size_t(n)] = 1.0;
  for (int k = n - 1; k >= 0; --k) {
    a[std::size_t(k)] =
        a[std::size_t(k) + 1] * double(2 * n - k) * double(k + 1) / double(2 * (n - k));
  }
  return a;
}

// theta_n(s) and its derivative by the three-term recurrence theta_k = (2k - 1) theta_{k-1} +
// s^2 theta_{k-2} (theta_0 = 1, theta_1 = s + 1), in long double.
inline std::array<std::complex<long double>, 2> theta_at(int n, cplx s0) {
  using lc = std::complex<long double>;
  const lc s(s0);
  lc t2(1), d2(0), t1 = s + 1.0L, d1(1);
  if (n == 0) return {t2, d2};
  for (int k = 2; k <= n; ++k) {
    const lc t = (2.0L * k - 1.0L) * t1 + s * s * t2;
    const lc d = (2.0L * k - 1.0L) * d1 + 2.0L * s * t2 + s * s * d2;
    t2 = t1;
    d2 = d1;
    t1 = t;
    d1 = d;
  }
  return {t1, d1};
}

// The roots of theta_n, polished by Newton's method, in exact conjugate pairs (the one real
// root of an odd order exactly real).
template <class Matrix = Eigen::MatrixXd>
std::vector<cplx> bessel_poles(int n) {
  const std::vector<double> a = reverse_bessel(n);
  std::vector<cplx> p = polynomial_roots<Matrix>(std::vector<double>(a.rbegin(), a.rend()));
  for (cplx& x : p) {
    for (int it = 0; it < 12; ++it) {
      const auto [v, d] = theta_at(n, x);
      if (d == std::complex<long double>(0)) break;
      x = cplx(std::complex<long double>(x) - v / d);
    }
  }
  for (cplx& x : p) {
    if (std::abs(x.imag()) <= 1e-12 * std::abs(x)) x = cplx(x.real(), 0.0);
  }
  // each pair's mean, so that the conjugates are exact
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i].imag() <= 0) continue;
    std::size_t best = i;
    double gap = std::numeric_limits<double>::infinity();
    for (std::size_t j = 0; j < p.size(); ++j) {
      if (p[j].imag() < 0 && std::abs(p[j] - std::conj(p[i])) < gap) {
        gap = std::abs(p[j] - std::conj(p[i]));
        best = j;
      }
    }
    const cplx mean = 0.5 * (p[i] + std::conj(p[best]));
    p[i] = mean;
    p[best] = std::conj(mean);
  }
  return p;
}

}  // namespace detail

/// Bessel filter of `order` (1 to 12) as second-order sections (see the file comment), edges in
/// Hz as for `butter`, normalised by `norm`. Throws as `butter` does, and `numerical_error` for
/// an order above 12: theta_n's roots grow ill-conditioned with the order, and the polished
/// poles depend on the build from there (the low-pass against a_0 / theta_n: within 9.1e-15 to
/// order 12 in five builds, SSE2 to AVX-512, g++ and clang; 1.4e-12 at 15 in one, 1e-8 at 25;
/// SciPy finds the roots from modified Bessel functions of complex argument). Where long double
/// is double (MSVC, some ARM ABIs) they lose about two more digits.
template <AnalysisScalar S = double>
[[nodiscard]] MatrixX<S> bessel(int order, const std::vector<double>& edges, BandType type,
                                double fs, BesselNorm norm = BesselNorm::Phase) {
  const std::vector<double> f = detail::design_edges("bessel", order, edges, type, fs);
  if (order > 12) {
    DENDRITE_THROW(numerical_error, "bessel: need order <= 12 (the poles' accuracy), got ",
                   order);
  }
  std::vector<detail::cplx> p = detail::bessel_poles(order);
  const double a0 = detail::reverse_bessel(order)[0];
  double k = a0;
  const auto gain = [&](double w) {  // |a0 / prod(i w - p)|
    detail::cplx h(a0);
    for (detail::cplx x : p) h /= detail::cplx(0, w) - x;
    return std::abs(h);
  };
  switch (norm) {
    case BesselNorm::Delay: break;
    case BesselNorm::Phase: {
      const double scale = std::pow(10.0, -std::log10(a0) / double(order));
      for (detail::cplx& x : p) x *= scale;
      k = 1.0;
      break;
    }
    case BesselNorm::Magnitude: {
      // the gain falls monotonically: bisect for |H(i w)| = 1 / sqrt(2)
      double lo = 0.0, hi = 1.0;
      while (gain(hi) > std::sqrt(0.5)) hi *= 2.0;
      for (int it = 0; it < 200 && lo < hi; ++it) {
        const double mid = 0.5 * (lo + hi);
        if (mid == lo || mid == hi) break;
        (gain(mid) > std::sqrt(0.5) ? lo : hi) = mid;
      }
      const double w = 0.5 * (lo + hi);
      for (detail::cplx& x : p) x /= w;
      k = std::pow(w, -double(order)) * a0;
      break;
    }
  }
  return detail::prototype_to_sos<S>({}, p, k, f, type, fs);
}

}  // namespace dendrite::dsp
