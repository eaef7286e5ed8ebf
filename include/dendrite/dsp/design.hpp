// SPDX-License-Identifier: MIT
/// @file
/// IIR filter design in SciPy's conventions: `butter` (Butterworth), `cheby1` and `cheby2`
/// (Chebyshev types I and II) and `ellip` (elliptic) as low-, high-, band-pass and band-stop
/// filters with edges in Hz, and `iirnotch`, as second-order sections, one row
/// [b0 b1 b2 a0 a1 a2] per section with a0 = 1 (SciPy's `output='sos'`).
/// Each design starts from an analog low-pass prototype with cutoff 1 rad/s (Butterworth: the
/// poles -exp(i pi m / (2n)), m = 1 - n, 3 - n, ..., n - 1; the Chebyshev prototypes at their
/// functions), mapped to the band by the usual substitutions (s -> s / wo, wo / s,
/// (s^2 + wo^2) / (s bw), s bw / (s^2 + wo^2)) at pre-warped edges wo = 2 fs tan(pi f / fs), then
/// to z by the bilinear transform z = (2 fs + s) / (2 fs - s). The digital Butterworth low-pass
/// then has exactly |H(e^{iw})|^2 = 1 / (1 + (tan(w / 2) / tan(wc / 2))^{2n}). Poles and zeros go
/// into sections as SciPy's `zpk2sos` puts them (pairing 'nearest': the poles nearest the unit
/// circle in the last section, each with its nearest zeros; the overall gain in the first
/// section), so the sections equal `scipy.signal.butter(..., output='sos')` row for row: within
/// 4e-15 of each row's largest coefficient over 486 designs (orders 1-10, every band type,
/// 256 Hz-30 kHz); `cheby1`, `cheby2` and `ellip` follow SciPy's `cheb1ap`, `cheb2ap` and
/// `ellipap` the same way (tests/dsp/test_dsp.cpp compares their rows with SciPy's).
/// Notch: SciPy's `iirnotch`, b = g [1, -2 cos w0, 1], a = [1, -2 g cos w0, 2 g - 1] with
/// g = 1 / (1 + tan(w0 / (2 Q))).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <cstdint>
#include <initializer_list>
#include <limits>
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

// Second-order sections from the zeros, poles and gain of a digital filter whose complex roots
// come in conjugate pairs: SciPy's `zpk2sos` with its default pairing ('nearest'), so that the
// sections equal SciPy's row for row. Zeros or poles are padded with roots at the origin to equal
// counts, and an odd count gets one more of each. Each conjugate pair is kept as one root with a
// positive imaginary part (the mean of the two), listed before the real roots. Then, from the
// last section to the first, the pole nearest the unit circle is taken with its conjugate (a
// real one with the real pole nearest the circle after it) and paired with the zero nearest to
// it (a real one with the real zero nearest to the pole after it); the last real pole is paired
// with the real zero nearest to it and a pole and zero at the origin; when only one real pole
// and one real zero are left, a complex pole takes a complex zero. The gain goes to the first
// section.
template <AnalysisScalar S>
MatrixX<S> zpk_to_sos(std::vector<cplx> z, std::vector<cplx> p, double k) {
  while (p.size() < z.size()) p.push_back(cplx(0));
  while (z.size() < p.size()) z.push_back(cplx(0));
  const std::size_t sections = (p.size() + 1) / 2;
  if (p.size() % 2 == 1) {
    p.push_back(cplx(0));
    z.push_back(cplx(0));
  }
  // one root per conjugate pair (mean of the pair, imag > 0), then the real roots
  auto one_per_pair = [](std::vector<cplx> v) {
    const double tol = 100.0 * std::numeric_limits<double>::epsilon();
    std::stable_sort(v.begin(), v.end(), [](cplx a, cplx b) {
      return a.real() != b.real() ? a.real() < b.real() : std::abs(a.imag()) < std::abs(b.imag());
    });
    std::vector<cplx> real, upper, lower;
    for (cplx x : v) {
      if (std::abs(x.imag()) <= tol * std::abs(x)) {
        real.push_back(cplx(x.real(), 0));
      } else {
        (x.imag() > 0 ? upper : lower).push_back(x);
      }
    }
    if (upper.size() != lower.size()) {
      DENDRITE_THROW(numerical_error, "zpk_to_sos: a complex root has no conjugate (",
                     upper.size(), " above the real axis, ", lower.size(), " below)");
    }
    // within runs of equal real parts, order by the imaginary part's size
    auto by_imag = [](cplx a, cplx b) { return std::abs(a.imag()) < std::abs(b.imag()); };
    for (std::size_t s = 0; s < upper.size();) {
      std::size_t e = s + 1;
      while (e < upper.size() &&
             upper[e].real() - upper[e - 1].real() <= tol * std::abs(upper[e - 1])) {
        ++e;
      }
      std::stable_sort(upper.begin() + std::ptrdiff_t(s), upper.begin() + std::ptrdiff_t(e),
                       by_imag);
      std::stable_sort(lower.begin() + std::ptrdiff_t(s), lower.begin() + std::ptrdiff_t(e),
                       by_imag);
      s = e;
    }
    std::vector<cplx> out;
    for (std::size_t i = 0; i < upper.size(); ++i) {
      out.push_back((upper[i] + std::conj(lower[i])) / 2.0);
    }
    out.insert(out.end(), real.begin(), real.end());
    return out;
  };
  z = one_per_pair(std::move(z));
  p = one_per_pair(std::move(p));
  const auto is_real = [](cplx x) { return x.imag() == 0; };
  const auto count_real = [&](const std::vector<cplx>& v) {
    return std::size_t(std::count_if(v.begin(), v.end(), is_real));
  };
  // index of the root of v that `keep` accepts with the least `key` (the first of equals);
  // v.size() if `keep` accepts none
  const auto argmin = [](const std::vector<cplx>& v, auto keep, auto key) {
    std::size_t best = v.size();
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (keep(v[i]) && (best == v.size() || key(v[i]) < key(v[best]))) best = i;
    }
    return best;
  };
  const auto any = [](cplx) { return true; };
  // index of the root nearest the unit circle, among the real ones if `real_only`
  const auto worst = [&](const std::vector<cplx>& v, bool real_only) {
    return argmin(v, [&](cplx r) { return !real_only || is_real(r); },
                  [](cplx r) { return std::abs(1.0 - std::abs(r)); });
  };
  enum class Kind { Any, Real, Complex };
  // takes the root of v nearest `to` of the given kind (of any kind if v holds none of it)
  const auto take_nearest = [&](std::vector<cplx>& v, cplx to, Kind kind) {
    const auto distance = [to](cplx r) { return std::abs(r - to); };
    std::size_t best = argmin(
        v, [&](cplx r) { return kind == Kind::Any || is_real(r) == (kind == Kind::Real); },
        distance);
    if (best == v.size()) best = argmin(v, any, distance);  // not reached with conjugate pairs
    const cplx r = v[best];
    v.erase(v.begin() + std::ptrdiff_t(best));
    return r;
  };
  const auto take = [](std::vector<cplx>& v, std::size_t i) {
    const cplx r = v[i];
    v.erase(v.begin() + std::ptrdiff_t(i));
    return r;
  };
  // the monic polynomial of up to two roots, right-aligned in three coefficients
  const auto poly = [](std::initializer_list<cplx> r) {
    std::array<double, 3> c{0, 0, 0};
    if (r.size() == 0) {
      c[2] = 1;
    } else if (r.size() == 1) {
      c[1] = 1;
      c[2] = -r.begin()->real();
    } else {
      const cplx a = r.begin()[0], b = r.begin()[1];
      c = {1, -(a + b).real(), (a * b).real()};
    }
    return c;
  };
  MatrixX<S> sos(Eigen::Index(sections), 6);
  for (std::size_t s = sections; s-- > 0;) {
    const cplx p1 = take(p, worst(p, false));
    std::array<double, 3> b, a;
    if (is_real(p1) && count_real(p) == 0) {  // the last real pole
      const cplx z1 = take_nearest(z, p1, Kind::Real);
      b = poly({z1, cplx(0)});
      a = poly({p1, cplx(0)});
    } else if (p.size() + 1 == z.size() && !is_real(p1) && count_real(p) == 1 &&
               count_real(z) == 1) {  // a complex pole must take a complex zero
      const cplx z1 = take_nearest(z, p1, Kind::Complex);
      b = poly({z1, std::conj(z1)});
      a = poly({p1, std::conj(p1)});
    } else {
      const cplx p2 = is_real(p1) ? take(p, worst(p, true)) : std::conj(p1);
      a = poly({p1, p2});
      if (z.empty()) {
        b = poly({});
      } else {
        const cplx z1 = take_nearest(z, p1, Kind::Any);
        if (!is_real(z1)) {
          b = poly({z1, std::conj(z1)});
        } else if (!z.empty()) {
          b = poly({z1, take_nearest(z, p1, Kind::Real)});
        } else {
          b = poly({z1});
        }
      }
    }
    const double g = s == 0 ? k : 1.0;
    sos.row(Eigen::Index(s)) << g * b[0], g * b[1], g * b[2], a[0], a[1], a[2];
  }
  return sos;
}

// An edge (Hz) must lie strictly between 0 and Nyquist; `name` heads the message.
inline void check_band_edge(const char* name, double e, double fs) {
  if (!(e > 0 && e < fs / 2)) {
    DENDRITE_THROW(numerical_error, name, ": band edges must lie in (0, fs / 2) = (0, ", fs / 2,
                   "), got ", e);
  }
}

// An edge f (Hz) pre-warped for the bilinear transform at a sample rate of 2, tan(pi f / fs),
// in SciPy's sequence of operations (the edge as a fraction of Nyquist first).
inline double prewarp(double f, double fs) {
  return std::tan(std::numbers::pi * (2.0 * f / fs) / 2.0);
}

// 10^x - 1, accurate for small x (SciPy's `_pow10m1`).
inline double pow10m1(double x) { return std::expm1(std::numbers::ln10 * x); }

// The band edges of a design, checked: one (LowPass, HighPass) or two increasing (BandPass,
// BandStop), each in (0, fs / 2), and order >= 1. `name` heads the error messages.
inline std::vector<double> design_edges(const char* name, int order,
                                        const std::vector<double>& edges, BandType type,
                                        double fs) {
  const bool two = type == BandType::BandPass || type == BandType::BandStop;
  if (edges.size() != (two ? 2U : 1U)) {
    DENDRITE_THROW(dimension_error, name, ": expected ", two ? 2 : 1, " band edge(s), got ",
                   edges.size());
  }
  if (order < 1 || !(fs > 0)) {
    DENDRITE_THROW(numerical_error, name, ": need order >= 1 and fs > 0, got order ", order,
                   " and fs ", fs);
  }
  std::vector<double> f(edges);
  for (double e : f) check_band_edge(name, e, fs);
  if (two && !(f[0] < f[1])) {
    DENDRITE_THROW(numerical_error, name, ": band edges must increase, got ", f[0], " and ",
                   f[1]);
  }
  return f;
}

// prod(-v), 1 for no roots.
inline cplx prod_neg(const std::vector<cplx>& v) {
  cplx r(1);
  for (cplx x : v) r *= -x;
  return r;
}

// A digital filter from an analog low-pass prototype with cutoff 1 rad/s (zeros z, poles p,
// gain k; at least as many poles as zeros), as SciPy's `iirfilter` makes it: the edges f (Hz)
// as fractions of Nyquist, pre-warped for a sample rate of 2 (the digital filter does not
// depend on that rate), `lp2lp_zpk`, `lp2hp_zpk`, `lp2bp_zpk` or `lp2bs_zpk`, then
// `bilinear_zpk` and `zpk2sos`, in SciPy's sequence of operations so that the sections agree
// with its own to rounding.
template <AnalysisScalar S>
MatrixX<S> prototype_to_sos(std::vector<cplx> z, std::vector<cplx> p, double k,
                            const std::vector<double>& f, BandType type, double fs) {
  const double fs2 = 4.0;
  std::vector<double> w;
  for (double e : f) w.push_back(fs2 * prewarp(e, fs));  // rad/s
  const std::size_t degree = p.size() - z.size();
  // s -> (s^2 + wo^2) / (s bw) (band-pass) or its inverse (band-stop): each root r of the
  // prototype becomes h +- sqrt(h^2 - wo^2), h = r bw / 2 (band-pass) or bw / (2 r)
  // (band-stop); the + roots listed first, then the - roots
  const auto split = [](std::vector<cplx>& v, auto half, double wo) {
    std::vector<cplx> q(2 * v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
      const cplx h = half(v[i]);
      const cplx r = std::sqrt(h * h - wo * wo);
      q[i] = h + r;
      q[i + v.size()] = h - r;
    }
    v = q;
  };
  switch (type) {
    case BandType::LowPass:
      for (cplx& x : z) x *= w[0];
      for (cplx& x : p) x *= w[0];
      k *= std::pow(w[0], double(degree));
      break;
    case BandType::HighPass:
      k *= (prod_neg(z) / prod_neg(p)).real();
      for (cplx& x : z) x = w[0] / x;
      for (cplx& x : p) x = w[0] / x;
      z.insert(z.end(), degree, cplx(0));
      break;
    case BandType::BandPass: {
      const double bw = w[1] - w[0], wo = std::sqrt(w[0] * w[1]);
      const auto half = [bw](cplx x) { return x * (bw / 2.0); };
      split(z, half, wo);
      split(p, half, wo);
      z.insert(z.end(), degree, cplx(0));
      k *= std::pow(bw, double(degree));
      break;
    }
    case BandType::BandStop: {
      const double bw = w[1] - w[0], wo = std::sqrt(w[0] * w[1]);
      k *= (prod_neg(z) / prod_neg(p)).real();
      const auto half = [bw](cplx x) { return (bw / 2.0) / x; };
      split(z, half, wo);
      split(p, half, wo);
      z.insert(z.end(), degree, cplx(0, wo));
      z.insert(z.end(), degree, cplx(0, -wo));
      break;
    }
  }
  // bilinear transform; zeros at infinity go to z = -1
  cplx num(1), den(1);
  for (cplx x : z) num *= fs2 - x;
  for (cplx x : p) den *= fs2 - x;
  k *= (num / den).real();
  for (cplx& x : z) x = (fs2 + x) / (fs2 - x);
  for (cplx& x : p) x = (fs2 + x) / (fs2 - x);
  while (z.size() < p.size()) z.push_back(cplx(-1));
  return zpk_to_sos<S>(z, p, k);
}

// The ripple of a Chebyshev design: positive and finite.
inline void check_ripple(const char* name, const char* what, double db) {
  if (!(db > 0) || !std::isfinite(db)) {
    DENDRITE_THROW(numerical_error, name, ": the ", what,
                   " must be a positive, finite number of dB, got ", db);
  }
}

// Complete elliptic integral of the first kind K(m) = pi / (2 agm(1, sqrt(1 - m))), and
// K(1 - m1) = pi / (2 agm(1, sqrt(m1))) for the complementary parameter without forming 1 - m1.
inline double agm(double a, double b) {
  for (int i = 0; i < 64 && a != b; ++i) {
    const double mean = 0.5 * (a + b);
    b = std::sqrt(a * b);
    if (mean == a) break;  // settled to the last bit
    a = mean;
  }
  return a;
}
inline double ellipk(double m) { return std::numbers::pi / (2.0 * agm(1.0, std::sqrt(1.0 - m))); }
inline double ellipkm1(double m1) { return std::numbers::pi / (2.0 * agm(1.0, std::sqrt(m1))); }

// Jacobi's elliptic functions sn, cn, dn of u at parameter m in [0, 1] (Abramowitz and Stegun
// 16.4, the descending arithmetic-geometric mean; 16.13 and 16.15 near m = 0 and m = 1).
struct Jacobi {
  double sn, cn, dn;
};
inline Jacobi ellipj(double u, double m) {
  if (m < 1e-9) {
    const double s = std::sin(u), c = std::cos(u), t = 0.25 * m * (u - s * c);
    return {s - t * c, c + t * s, 1.0 - 0.5 * m * s * s};
  }
  if (m >= 0.9999999999) {
    const double m1 = 1.0 - m, sech = 1.0 / std::cosh(u), th = std::tanh(u);
    const double sc = std::sinh(u) * std::cosh(u);
    return {th + 0.25 * m1 * (sc - u) * sech * sech, sech - 0.25 * m1 * (sc - u) * th * sech,
            sech + 0.25 * m1 * (sc + u) * th * sech};
  }
  std::array<double, 16> a{}, c{};
  a[0] = 1.0;
  double b = std::sqrt(1.0 - m);
  c[0] = std::sqrt(m);
  std::size_t n = 0;
  while (n + 1 < a.size() && std::abs(c[n] / a[n]) > std::numeric_limits<double>::epsilon()) {
    a[n + 1] = 0.5 * (a[n] + b);
    c[n + 1] = 0.5 * (a[n] - b);
    b = std::sqrt(a[n] * b);
    ++n;
  }
  double phi = std::ldexp(a[n] * u, int(n)), next = phi;
  for (std::size_t i = n; i > 0; --i) {
    next = phi;
    phi = 0.5 * (phi + std::asin(c[i] * std::sin(phi) / a[i]));
  }
  const double cn = std::cos(phi);
  return {std::sin(phi), cn, n == 0 ? 1.0 : cn / std::cos(next - phi)};
}

// Solves u = sn^-1(w, m) for complex w by the descending Landen transformation (Orfanidis,
// "Lecture Notes on Elliptic Filter Design", eq. 56): k_{i+1} = (1 - k_i') / (1 + k_i'),
// w_{i+1} = 2 w_i / ((1 + k_{i+1}) (1 + sqrt(1 - k_i^2 w_i^2))), u = K asin(w_last) 2 / pi.
inline cplx arc_jac_sn(cplx w, double m) {
  const auto complement = [](auto x) { return std::sqrt((1.0 - x) * (1.0 + x)); };
  double k = std::sqrt(m);
  if (k == 1.0) return std::atanh(w);
  std::vector<double> ks{k};
  while (ks.back() != 0.0 && ks.size() < 12) {
    const double kp = complement(ks.back());
    ks.push_back((1.0 - kp) / (1.0 + kp));
  }
  double big_k = std::numbers::pi / 2.0;
  for (std::size_t i = 1; i < ks.size(); ++i) big_k *= 1.0 + ks[i];
  for (std::size_t i = 0; i + 1 < ks.size(); ++i) {
    w = 2.0 * w / ((1.0 + ks[i + 1]) * (1.0 + complement(ks[i] * w)));
  }
  return big_k * (2.0 / std::numbers::pi) * std::asin(w);
}

// The nome solution of the degree equation n K(m) / K'(m) = K(m1) / K'(m1) for m (Orfanidis,
// eq. 49; seven terms of each series, as SciPy).
inline double ellipdeg(int n, double m1) {
  const double q1 = std::exp(-std::numbers::pi * ellipkm1(m1) / ellipk(m1));
  const double q = std::pow(q1, 1.0 / double(n));
  double num = 0, den = 1;
  for (int i = 0; i <= 7; ++i) num += std::pow(q, double(i * (i + 1)));
  for (int i = 1; i <= 8; ++i) den += 2.0 * std::pow(q, double(i * i));
  return 16.0 * q * std::pow(num / den, 4);
}

}  // namespace detail

/// Butterworth filter of `order` as second-order sections (see the file comment). `edges` holds
/// one edge (LowPass, HighPass) or two (BandPass, BandStop), in Hz, each in (0, fs / 2).
/// Throws `dimension_error` for the wrong number of edges and `numerical_error` for an order < 1
/// or an edge outside (0, fs / 2).
template <AnalysisScalar S = double>
[[nodiscard]] MatrixX<S> butter(int order, const std::vector<double>& edges, BandType type,
                                double fs) {
  using detail::cplx;
  const std::vector<double> f = detail::design_edges("butter", order, edges, type, fs);
  // analog prototype (cutoff 1 rad/s): -exp(i pi m / (2 n)), m = 1 - n, 3 - n, ..., n - 1, so
  // that conjugates are exact and the middle pole of an odd order is exactly -1
  std::vector<cplx> p;
  for (int m = 1 - order; m < order; m += 2) {
    p.push_back(-std::exp(cplx(0, std::numbers::pi * double(m) / double(2 * order))));
  }
  return detail::prototype_to_sos<S>({}, p, 1.0, f, type, fs);
}

/// Chebyshev type I filter of `order` with `ripple_db` of ripple in the pass band, as
/// second-order sections: SciPy's `cheby1(order, rp, edges, btype, fs=fs, output='sos')`. The
/// edges (Hz, as for `butter`) are where the gain last leaves the band [-rp, 0] dB. Analog
/// prototype (cheb1ap): poles -sinh(mu + i pi m / (2n)), m = 1 - n, 3 - n, ..., n - 1, with
/// eps = sqrt(10^(rp / 10) - 1) and mu = asinh(1 / eps) / n, so that
/// |H(i W)|^2 = 1 / (1 + eps^2 T_n(W)^2) (T_n the Chebyshev polynomial; an even order's gain at
/// DC is -rp dB). Then the band transform and the bilinear transform as for `butter`. Throws as
/// `butter` does, and `numerical_error` for a ripple that is not positive and finite.
template <AnalysisScalar S = double>
[[nodiscard]] MatrixX<S> cheby1(int order, double ripple_db, const std::vector<double>& edges,
                                BandType type, double fs) {
  using detail::cplx;
  const std::vector<double> f = detail::design_edges("cheby1", order, edges, type, fs);
  detail::check_ripple("cheby1", "pass-band ripple", ripple_db);
  const double eps = std::sqrt(std::pow(10.0, 0.1 * ripple_db) - 1.0);
  const double mu = 1.0 / double(order) * std::asinh(1.0 / eps);
  std::vector<cplx> p;
  for (int m = 1 - order; m < order; m += 2) {
    p.push_back(-std::sinh(cplx(mu, std::numbers::pi * double(m) / double(2 * order))));
  }
  double k = detail::prod_neg(p).real();
  if (order % 2 == 0) k /= std::sqrt(1.0 + eps * eps);
  return detail::prototype_to_sos<S>({}, p, k, f, type, fs);
}

/// Chebyshev type II (inverse Chebyshev) filter of `order` with its stop band `attenuation_db`
/// below the pass band, as second-order sections: SciPy's `cheby2(order, rs, edges, btype,
/// fs=fs, output='sos')`. The edges (Hz, as for `butter`) are those of the stop band, where the
/// gain first reaches -rs dB. Analog prototype (cheb2ap): zeros i / sin(pi m / (2n)) for the odd
/// m in (-n, n) other than 0, poles 1 / (sinh(mu) Re q + i cosh(mu) Im q) with q the Butterworth
/// poles, de = 1 / sqrt(10^(rs / 10) - 1), mu = asinh(1 / de) / n, so that
/// |H(i W)|^2 = de^2 T_n(1 / W)^2 / (1 + de^2 T_n(1 / W)^2) (gain 1 at DC). Then the band
/// transform and the bilinear transform as for `butter`. Throws as `butter` does, and
/// `numerical_error` for an attenuation that is not positive and finite.
template <AnalysisScalar S = double>
[[nodiscard]] MatrixX<S> cheby2(int order, double attenuation_db,
                                const std::vector<double>& edges, BandType type, double fs) {
  using detail::cplx;
  const std::vector<double> f = detail::design_edges("cheby2", order, edges, type, fs);
  detail::check_ripple("cheby2", "stop-band attenuation", attenuation_db);
  const double pi = std::numbers::pi;
  const double de = 1.0 / std::sqrt(std::pow(10.0, 0.1 * attenuation_db) - 1.0);
  const double mu = std::asinh(1.0 / de) / double(order);
  std::vector<cplx> z;
  for (int m = 1 - order; m < order; m += 2) {
    if (m == 0) continue;  // an odd order has one zero fewer, at infinity
    // -conj(i / sin(x)) = i / sin(x), with SciPy's signs of zero
    z.push_back(-std::conj(cplx(0, 1) / cplx(std::sin(double(m) * pi / (2.0 * double(order))))));
  }
  std::vector<cplx> p;
  for (int m = 1 - order; m < order; m += 2) {
    const cplx q = -std::exp(cplx(0, pi * double(m) / double(2 * order)));
    p.push_back(1.0 / cplx(std::sinh(mu) * q.real(), std::cosh(mu) * q.imag()));
  }
  const double k = (detail::prod_neg(p) / detail::prod_neg(z)).real();
  return detail::prototype_to_sos<S>(z, p, k, f, type, fs);
}

/// Elliptic (Cauer) filter of `order` with `ripple_db` of ripple in the pass band and its stop
/// band `attenuation_db` below the pass band, as second-order sections: SciPy's `ellip(order,
/// rp, rs, edges, btype, fs=fs, output='sos')`. The edges (Hz, as for `butter`) are those of
/// the pass band, where the gain first drops below -rp dB; the stop band starts where the order
/// allows, its gain at most -rs dB and reaching it (equiripple in both bands). Analog
/// prototype (SciPy's `ellipap`, after Orfanidis, "Lecture Notes on Elliptic Filter Design"):
/// with eps^2 = 10^(rp / 10) - 1 and k1^2 = eps^2 / (10^(rs / 10) - 1), the selectivity m from
/// the degree equation n K(m) / K'(m) = K(k1^2) / K'(k1^2), zeros i / (sqrt(m) sn(j K / n, m)),
/// poles from sn, cn, dn at j K / n and at v0 = K sc^-1(1 / eps, k1'^2) / (n K(k1^2)), j = 1 - n
/// mod 2, ..., n - 1 step 2; gain 1 at DC (odd order) or -rp dB (even). Then the band transform
/// and the bilinear transform as for `butter`. Throws as `butter` does, and `numerical_error`
/// for a ripple or an attenuation that is not positive and finite, an attenuation not above the
/// ripple, or a specification past double precision: rs barely above rp at a high order (e.g.
/// order 7 with 5 and 6 dB), where m rounds to 1 and the prototype leaves its pass band by more
/// than 1e-3 dB (SciPy returns such filters).
template <AnalysisScalar S = double>
[[nodiscard]] MatrixX<S> ellip(int order, double ripple_db, double attenuation_db,
                               const std::vector<double>& edges, BandType type, double fs) {
  using detail::cplx;
  const std::vector<double> f = detail::design_edges("ellip", order, edges, type, fs);
  detail::check_ripple("ellip", "pass-band ripple", ripple_db);
  detail::check_ripple("ellip", "stop-band attenuation", attenuation_db);
  if (!(attenuation_db > ripple_db)) {
    DENDRITE_THROW(numerical_error, "ellip: the stop-band attenuation must exceed the pass-band "
                   "ripple, got ", attenuation_db, " and ", ripple_db, " dB");
  }
  const double eps2 = detail::pow10m1(0.1 * ripple_db);
  if (order == 1) {
    const double p = -std::sqrt(1.0 / eps2);
    return detail::prototype_to_sos<S>({}, {cplx(p)}, -p, f, type, fs);
  }
  const double eps = std::sqrt(eps2), k1sq = eps2 / detail::pow10m1(0.1 * attenuation_db);
  const double big_k1 = detail::ellipk(k1sq);
  const double m = detail::ellipdeg(order, k1sq);
  const double big_k = detail::ellipk(m);
  constexpr double tiny = 2e-16;  // SciPy's EPSILON: sn(0) = 0 gives no finite zero
  std::vector<double> sn, cn, dn;
  for (int j = 1 - order % 2; j < order; j += 2) {
    const detail::Jacobi e = detail::ellipj(double(j) * big_k / double(order), m);
    sn.push_back(e.sn);
    cn.push_back(e.cn);
    dn.push_back(e.dn);
  }
  std::vector<cplx> z;
  for (double s : sn) {
    if (std::abs(s) > tiny) z.push_back(cplx(0, 1.0 / (std::sqrt(m) * s)));
  }
  const std::size_t half = z.size();
  for (std::size_t i = 0; i < half; ++i) z.push_back(std::conj(z[i]));
  const double r = detail::arc_jac_sn(cplx(0, 1.0 / eps), k1sq).imag();  // sc^-1(1 / eps, 1 - k1^2)
  const double v0 = big_k * r / (double(order) * big_k1);
  const detail::Jacobi v = detail::ellipj(v0, 1.0 - m);
  std::vector<cplx> p;
  for (std::size_t i = 0; i < sn.size(); ++i) {
    const double dsv = dn[i] * v.sn;
    p.push_back(-cplx(cn[i] * dn[i] * v.sn * v.cn, sn[i] * v.dn) / (1.0 - dsv * dsv));
  }
  const std::size_t first = p.size();
  if (order % 2 == 1) {
    double norm2 = 0;
    for (cplx x : p) norm2 += std::norm(x);
    for (std::size_t i = 0; i < first; ++i) {
      if (std::abs(p[i].imag()) > tiny * std::sqrt(norm2)) p.push_back(std::conj(p[i]));
    }
  } else {
    for (std::size_t i = 0; i < first; ++i) p.push_back(std::conj(p[i]));
  }
  double k = (detail::prod_neg(p) / detail::prod_neg(z)).real();
  if (order % 2 == 0) k /= std::sqrt(1.0 + eps2);
  // Where rs is barely above rp at a high order, m rounds to 1 in double and the prototype
  // misses its own pass band (SciPy returns such a filter as it comes): refuse it
  double miss = 0;
  for (int i = 0; i <= 256; ++i) {
    const cplx s(0, double(i) / 256.0);
    cplx h(k);
    for (cplx x : z) h *= s - x;
    for (cplx x : p) h /= s - x;
    const double g = 10.0 * std::log10(std::norm(h));
    miss = std::max({miss, g, -ripple_db - g});
    if (!std::isfinite(g)) miss = std::numeric_limits<double>::infinity();
  }
  if (!(miss <= 1e-3)) {
    DENDRITE_THROW(numerical_error, "ellip: order ", order, " with ", ripple_db, " dB and ",
                   attenuation_db, " dB is past double precision (selectivity 1 - ", 1.0 - m,
                   "): the prototype leaves its pass band [-rp, 0] dB by ", miss,
                   " dB; lower the order or widen the gap between rp and rs");
  }
  return detail::prototype_to_sos<S>(z, p, k, f, type, fs);
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
