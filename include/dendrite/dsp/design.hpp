// SPDX-License-Identifier: MIT
/// @file
/// IIR filter design in SciPy's conventions: `butter` (Butterworth low-, high-, band-pass and
/// band-stop, edges in Hz) and `iirnotch`, as second-order sections, one row
/// [b0 b1 b2 a0 a1 a2] per section with a0 = 1 (SciPy's `output='sos'`).
/// Butterworth: the analog prototype's poles exp(i pi (2k + n - 1) / (2n)), k = 1..n, mapped to
/// the band by the usual substitutions (s -> s / wo, wo / s, (s^2 + wo^2) / (s bw),
/// s bw / (s^2 + wo^2)) at pre-warped edges wo = 2 fs tan(pi f / fs), then to z by the bilinear
/// transform z = (2 fs + s) / (2 fs - s). The digital low-pass then has exactly
/// |H(e^{iw})|^2 = 1 / (1 + (tan(w / 2) / tan(wc / 2))^{2n}). Poles are paired with their
/// conjugates and with the nearest zeros; the overall gain sits in the first section. The
/// sections' order may differ from SciPy's; the filter (its transfer function) is the same.
/// Notch: SciPy's `iirnotch`, b = g [1, -2 cos w0, 1], a = [1, -2 g cos w0, 2 g - 1] with
/// g = 1 / (1 + tan(w0 / (2 Q))).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <cstdint>
#include <initializer_list>
#include <numbers>
#include <vector>

#include <Eigen/Core>

#include <dendrite/core/analysis.hpp>
#include <dendrite/core/error.hpp>

namespace dendrite::dsp {

/// The band a filter passes.
enum class BandType : std::uint8_t { LowPass, HighPass, BandPass, BandStop };

namespace detail {

using cplx = std::complex<double>;

// Second-order sections from zeros, poles and gain of a digital filter whose zeros and poles come
// in conjugate pairs (or are real). Pairs each pole (pair) with the nearest remaining zero (pair).
template <AnalysisScalar S>
MatrixX<S> zpk_to_sos(std::vector<cplx> z, std::vector<cplx> p, double k) {
  auto take_pair = [](std::vector<cplx>& v, cplx near) {
    // the element nearest `near` and, if complex, its conjugate; or two reals
    std::size_t best = 0;
    for (std::size_t i = 1; i < v.size(); ++i) {
      if (std::abs(v[i] - near) < std::abs(v[best] - near)) best = i;
    }
    std::vector<cplx> out{v[best]};
    v.erase(v.begin() + std::ptrdiff_t(best));
    if (std::abs(out[0].imag()) > 1e-12 * std::max(1.0, std::abs(out[0]))) {
      std::size_t conj = 0;
      for (std::size_t i = 1; i < v.size(); ++i) {
        if (std::abs(v[i] - std::conj(out[0])) < std::abs(v[conj] - std::conj(out[0]))) conj = i;
      }
      out.push_back(std::conj(out[0]));
      v.erase(v.begin() + std::ptrdiff_t(conj));
    } else if (!v.empty()) {  // a real root pairs with the next nearest real root
      std::size_t other = v.size();
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (std::abs(v[i].imag()) <= 1e-12 * std::max(1.0, std::abs(v[i])) &&
            (other == v.size() || std::abs(v[i] - near) < std::abs(v[other] - near))) {
          other = i;
        }
      }
      if (other < v.size()) {
        out.push_back(cplx(v[other].real(), 0));
        v.erase(v.begin() + std::ptrdiff_t(other));
      }
    }
    out[0] = out.size() == 1 ? cplx(out[0].real(), 0) : out[0];
    return out;
  };
  const std::size_t sections = (std::max(z.size(), p.size()) + 1) / 2;
  MatrixX<S> sos(Eigen::Index(sections), 6);
  // poles farthest from the unit circle first (SciPy orders the other way round for its
  // default; either order realises the same filter)
  std::sort(p.begin(), p.end(), [](cplx a, cplx b) { return std::abs(a) < std::abs(b); });
  for (std::size_t s = 0; s < sections; ++s) {
    const std::vector<cplx> ps = take_pair(p, p.empty() ? cplx(0) : p.front());
    const cplx target = ps.front();
    const std::vector<cplx> zs = z.empty() ? std::vector<cplx>{} : take_pair(z, target);
    auto poly = [](const std::vector<cplx>& r) {  // monic, degree 2: [1, -sum, prod]
      if (r.empty()) return std::array<double, 3>{1, 0, 0};
      if (r.size() == 1) return std::array<double, 3>{1, -r[0].real(), 0};
      return std::array<double, 3>{1, -(r[0] + r[1]).real(), (r[0] * r[1]).real()};
    };
    const auto b = poly(zs);
    const auto a = poly(ps);
    const double g = s == 0 ? k : 1.0;
    sos.row(Eigen::Index(s)) << g * b[0], g * b[1], g * b[2], a[0], a[1], a[2];
  }
  return sos;
}

}  // namespace detail

/// Butterworth filter of `order` as second-order sections (see the file comment). `edges` holds
/// one edge (LowPass, HighPass) or two (BandPass, BandStop), in Hz, each in (0, fs / 2).
/// Throws `dimension_error` for the wrong number of edges and `numerical_error` for an order < 1
/// or an edge outside (0, fs / 2).
template <AnalysisScalar S = double>
[[nodiscard]] MatrixX<S> butter(int order, std::initializer_list<double> edges,
                                            BandType type, double fs) {
  using detail::cplx;
  const bool two = type == BandType::BandPass || type == BandType::BandStop;
  if (edges.size() != (two ? 2U : 1U)) {
    DENDRITE_THROW(dimension_error, "butter: expected ", two ? 2 : 1, " band edge(s), got ",
                   edges.size());
  }
  if (order < 1 || !(fs > 0)) {
    DENDRITE_THROW(numerical_error, "butter: need order >= 1 and fs > 0, got order ", order,
                   " and fs ", fs);
  }
  std::vector<double> f(edges);
  for (double e : f) {
    if (!(e > 0 && e < fs / 2)) {
      DENDRITE_THROW(numerical_error, "butter: band edges must lie in (0, fs / 2) = (0, ", fs / 2,
                     "), got ", e);
    }
  }
  if (two && !(f[0] < f[1])) {
    DENDRITE_THROW(numerical_error, "butter: band edges must increase, got ", f[0], " and ", f[1]);
  }
  const double pi = std::numbers::pi;
  const double fs2 = 2.0 * fs;
  std::vector<double> w;
  for (double e : f) w.push_back(fs2 * std::tan(pi * e / fs));  // pre-warped, rad/s
  // analog prototype (cutoff 1 rad/s)
  std::vector<cplx> p;
  for (int k = 1; k <= order; ++k) {
    p.push_back(std::polar(1.0, pi * double(2 * k + order - 1) / double(2 * order)));
  }
  std::vector<cplx> z;
  double gain = 1.0;
  auto prod_neg = [](const std::vector<cplx>& v) {
    cplx r(1);
    for (cplx x : v) r *= -x;
    return r;
  };
  switch (type) {
    case BandType::LowPass:
      for (cplx& x : p) x *= w[0];
      gain = std::pow(w[0], order);
      break;
    case BandType::HighPass:
      gain = (cplx(1) / prod_neg(p)).real();  // k * prod(-z) / prod(-p) with no zeros, k = 1
      for (cplx& x : p) x = w[0] / x;
      z.assign(std::size_t(order), cplx(0));
      break;
    case BandType::BandPass: {
      const double bw = w[1] - w[0], wo = std::sqrt(w[0] * w[1]);
      std::vector<cplx> q;
      for (cplx x : p) {
        const cplx h = x * bw / 2.0;
        const cplx r = std::sqrt(h * h - wo * wo);
        q.push_back(h + r);
        q.push_back(h - r);
      }
      p = q;
      z.assign(std::size_t(order), cplx(0));
      gain = std::pow(bw, order);
      break;
    }
    case BandType::BandStop: {
      const double bw = w[1] - w[0], wo = std::sqrt(w[0] * w[1]);
      gain = (cplx(1) / prod_neg(p)).real();
      std::vector<cplx> q;
      for (cplx x : p) {
        const cplx h = (bw / 2.0) / x;
        const cplx r = std::sqrt(h * h - wo * wo);
        q.push_back(h + r);
        q.push_back(h - r);
      }
      p = q;
      for (int k = 0; k < order; ++k) {
        z.push_back(cplx(0, wo));
        z.push_back(cplx(0, -wo));
      }
      break;
    }
  }
  // bilinear transform; zeros at infinity go to z = -1
  cplx num(1), den(1);
  for (cplx x : z) num *= fs2 - x;
  for (cplx x : p) den *= fs2 - x;
  gain *= (num / den).real();
  for (cplx& x : z) x = (fs2 + x) / (fs2 - x);
  for (cplx& x : p) x = (fs2 + x) / (fs2 - x);
  while (z.size() < p.size()) z.push_back(cplx(-1));
  return detail::zpk_to_sos<S>(z, p, gain);
}

/// SciPy's `iirnotch(f0, Q, fs)`: one section [b0 b1 b2 1 a1 a2] that removes f0 (Hz) with a
/// -3 dB bandwidth of f0 / Q. Throws `numerical_error` for f0 outside (0, fs / 2) or Q <= 0.
template <AnalysisScalar S = double>
[[nodiscard]] MatrixX<S> iirnotch(double f0, double q, double fs) {
  if (!(fs > 0) || !(f0 > 0 && f0 < fs / 2) || !(q > 0)) {
    DENDRITE_THROW(numerical_error, "iirnotch: need 0 < f0 < fs / 2 and Q > 0, got f0 ", f0,
                   ", Q ", q, ", fs ", fs);
  }
  const double w0 = 2.0 * std::numbers::pi * f0 / fs;
  const double g = 1.0 / (1.0 + std::tan(w0 / (2.0 * q)));
  MatrixX<S> sos(1, 6);
  sos << g, -2.0 * g * std::cos(w0), g, 1.0, -2.0 * g * std::cos(w0), 2.0 * g - 1.0;
  return sos;
}

/// The complex response of second-order sections at frequency f (Hz): prod_s B_s(z) / A_s(z),
/// z = e^{2 pi i f / fs}. For tests and plots.
template <AnalysisScalar S = double>
[[nodiscard]] std::complex<S> sos_response(const AnalysisRef<S>& sos,
                                                       double f, double fs) {
  const std::complex<S> zi = std::polar(S(1), S(-2.0 * std::numbers::pi * f / fs));  // z^-1
  std::complex<S> h(1);
  for (Eigen::Index s = 0; s < sos.rows(); ++s) {
    h *= (sos(s, 0) + zi * (sos(s, 1) + zi * sos(s, 2))) /
         (sos(s, 3) + zi * (sos(s, 4) + zi * sos(s, 5)));
  }
  return h;
}

}  // namespace dendrite::dsp
