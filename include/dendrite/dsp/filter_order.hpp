// SPDX-License-Identifier: MIT
/// @file
/// The lowest filter order that meets a specification, in SciPy's conventions: `buttord`,
/// `cheb1ord`, `cheb2ord` and `ellipord` take pass-band and stop-band edges (Hz), the largest
/// loss allowed over the pass band `gpass` and the smallest attenuation wanted over the stop
/// band `gstop` (dB), and return the order with the edges to design at (`FilterSpec`, for
/// `butter`, `cheby1`, `cheby2` and `ellip`); `iirdesign` returns that design's sections. The
/// band type follows from the edges: one pass edge below the stop edge is a low-pass, above it
/// a high-pass; two pass edges inside the stop edges a band-pass, outside them a band-stop.
/// With the edges pre-warped, W = tan(pi f / fs), the stop edges map to the low-pass
/// prototype's frequency nat = min over the stop edges of Ws / Wp (low-pass), Wp / Ws
/// (high-pass), |Ws^2 - Wp1 Wp2| / (Ws |Wp1 - Wp2|) (band-pass) or its inverse (band-stop), and
/// with G = 10^(g / 10):
///   Butterworth  n = ceil(log10((Gs - 1) / (Gp - 1)) / (2 log10 nat)),
///   Chebyshev    n = ceil(acosh(sqrt((Gs - 1) / (Gp - 1))) / acosh(nat)),
///   elliptic     n = ceil(K(1 / nat^2) K'(k1^2) / (K'(1 / nat^2) K(k1^2))),
///                k1^2 = (Gp - 1) / (Gs - 1), K'(m) = K(1 - m).
/// A band-stop's pass edges first move toward the stop band as far as makes nat largest (SciPy
/// minimises the order over each edge numerically, to 1e-5 in W; here the optimum is exact: the
/// crossing Wp1 = Ws1 Ws2 / Wp2 where it lies in range, else the best of the range's ends and
/// poles). The edges
/// returned are SciPy's: Butterworth's natural frequencies (where that order's gain is -3 dB,
/// so that the pass edges lose exactly gpass), Chebyshev I's and the elliptic's pass edges, and
/// Chebyshev II's stop edges for that order (where its gain first reaches -gstop dB).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <vector>

#include <dendrite/core/error.hpp>
#include <dendrite/dsp/design.hpp>

namespace dendrite::dsp {

/// An order and the edges (Hz) to design at, with the band type the edges implied.
struct FilterSpec {
  int order = 0;
  std::vector<double> edges;
  BandType type = BandType::LowPass;
};

/// A family of IIR designs: `butter`, `cheby1`, `cheby2`, `ellip`.
enum class FilterFamily : std::uint8_t { Butterworth, Chebyshev1, Chebyshev2, Elliptic };

namespace detail {

// The pre-warped edges of a specification, checked, and its band type.
struct OrderProblem {
  std::vector<double> passb, stopb;
  BandType type = BandType::LowPass;
};

inline OrderProblem order_problem(const char* name, const std::vector<double>& pass,
                                  const std::vector<double>& stop, double gpass, double gstop,
                                  double fs) {
  if (!(gpass > 0) || !(gstop > 0) || !std::isfinite(gpass) || !std::isfinite(gstop) ||
      !(gpass < gstop)) {
    DENDRITE_THROW(numerical_error, name, ": need 0 < gpass < gstop (dB, finite), got gpass ",
                   gpass, " and gstop ", gstop);
  }
  if (!(fs > 0) || !std::isfinite(fs)) {
    DENDRITE_THROW(numerical_error, name, ": need fs > 0, got ", fs);
  }
  if (pass.size() != stop.size() || pass.empty() || pass.size() > 2) {
    DENDRITE_THROW(dimension_error, name,
                   ": expected one pass and one stop edge, or two of each, got ", pass.size(),
                   " and ", stop.size());
  }
  for (const std::vector<double>* v : {&pass, &stop}) {
    for (double e : *v) check_band_edge(name, e, fs);
  }
  OrderProblem r;
  if (pass.size() == 1) {
    if (pass[0] == stop[0]) {
      DENDRITE_THROW(numerical_error, name, ": the pass and stop edges must differ, got ",
                     pass[0], " for both");
    }
    r.type = pass[0] < stop[0] ? BandType::LowPass : BandType::HighPass;
  } else {
    const bool band_pass = stop[0] < pass[0] && pass[0] < pass[1] && pass[1] < stop[1];
    const bool band_stop = pass[0] < stop[0] && stop[0] < stop[1] && stop[1] < pass[1];
    if (!band_pass && !band_stop) {
      DENDRITE_THROW(numerical_error, name, ": two edges each must nest, stop < pass < pass < "
                     "stop (band-pass) or pass < stop < stop < pass (band-stop), got pass ",
                     pass[0], ", ", pass[1], " and stop ", stop[0], ", ", stop[1]);
    }
    r.type = band_pass ? BandType::BandPass : BandType::BandStop;
  }
  for (double e : pass) r.passb.push_back(prewarp(e, fs));
  for (double e : stop) r.stopb.push_back(prewarp(e, fs));
  return r;
}

// min over the stop edges of the prototype frequency they map to.
inline double natural_stop(const OrderProblem& q, const std::vector<double>& passb) {
  double nat = std::numeric_limits<double>::infinity();
  for (double s : q.stopb) {
    double v = 0;
    switch (q.type) {
      case BandType::LowPass: v = s / passb[0]; break;
      case BandType::HighPass: v = passb[0] / s; break;
      case BandType::BandPass:
        v = (s * s - passb[0] * passb[1]) / (s * (passb[0] - passb[1]));
        break;
      case BandType::BandStop:
        v = (s * (passb[0] - passb[1])) / (s * s - passb[0] * passb[1]);
        break;
    }
    nat = std::min(nat, std::abs(v));
  }
  return nat;
}

// A band-stop's pass edges moved toward the stop band, first the lower then the upper, each to
// where the prototype's stop frequency is largest (the order smallest). That frequency is the
// smaller of two functions of the edge, each monotone between its pole (Ws^2 / Wp) and the
// stop edge; they cross only at Wp1 Wp2 = Ws1 Ws2, so the largest is at a crossing, a pole or an
// end of the range (SciPy's ranges: up to 1e-12 short of the stop edge).
inline void widen_band_stop(OrderProblem& q) {
  const auto best = [&](std::size_t i, double lo, double hi, std::vector<double> candidates) {
    double arg = q.passb[i], value = natural_stop(q, q.passb);
    std::vector<double> trial = q.passb;
    for (double x : candidates) {
      if (!(x >= lo && x <= hi)) continue;
      trial[i] = x;
      const double v = natural_stop(q, trial);
      if (v > value) {
        value = v;
        arg = x;
      }
    }
    q.passb[i] = arg;
  };
  const double s0 = q.stopb[0], s1 = q.stopb[1];
  {
    const double p1 = q.passb[1];
    best(0, q.passb[0], s0 - 1e-12, {s0 * s1 / p1, s0 * s0 / p1, s1 * s1 / p1, s0 - 1e-12});
  }
  {
    const double p0 = q.passb[0];
    best(1, s1 + 1e-12, q.passb[1], {s0 * s1 / p0, s0 * s0 / p0, s1 * s1 / p0, s1 + 1e-12});
  }
}

// The inverse of `prewarp`: the edge (Hz) whose tan(pi f / fs) is w.
inline double from_warped(double w, double fs) {
  return (2.0 / std::numbers::pi) * std::atan(w) * fs / 2.0;
}

inline FilterSpec filter_order(FilterFamily family, const char* name,
                               const std::vector<double>& pass, const std::vector<double>& stop,
                               double gpass, double gstop, double fs) {
  OrderProblem q = order_problem(name, pass, stop, gpass, gstop, fs);
  if (q.type == BandType::BandStop) widen_band_stop(q);
  const double nat = natural_stop(q, q.passb);
  const double big_gstop = std::pow(10.0, 0.1 * gstop), big_gpass = std::pow(10.0, 0.1 * gpass);
  const double ratio = (big_gstop - 1.0) / (big_gpass - 1.0);
  double n = 0;
  switch (family) {
    case FilterFamily::Butterworth: n = std::log10(ratio) / (2.0 * std::log10(nat)); break;
    case FilterFamily::Chebyshev1:
    case FilterFamily::Chebyshev2: n = std::acosh(std::sqrt(ratio)) / std::acosh(nat); break;
    case FilterFamily::Elliptic: {
      const double arg1_sq = pow10m1(0.1 * gpass) / pow10m1(0.1 * gstop);
      const double arg0 = 1.0 / nat;
      n = ellipk(arg0 * arg0) * ellipkm1(arg1_sq) / (ellipkm1(arg0 * arg0) * ellipk(arg1_sq));
      break;
    }
  }
  if (!std::isfinite(n) || !(n < 1e6)) {
    DENDRITE_THROW(numerical_error, name, ": no finite order meets gpass ", gpass,
                   " dB and gstop ", gstop, " dB at these edges (the transition is too narrow)");
  }
  FilterSpec r;
  r.type = q.type;
  r.order = std::max(1, int(std::ceil(n)));
  std::vector<double> wn = q.passb;
  if (family == FilterFamily::Butterworth) {
    const double w0 = std::pow(big_gpass - 1.0, -1.0 / (2.0 * double(r.order)));
    switch (q.type) {
      case BandType::LowPass: wn = {w0 * q.passb[0]}; break;
      case BandType::HighPass: wn = {q.passb[0] / w0}; break;
      case BandType::BandStop: {
        const double d = q.passb[1] - q.passb[0];
        const double discr = std::sqrt(d * d + 4.0 * w0 * w0 * q.passb[0] * q.passb[1]);
        wn = {std::abs((d + discr) / (2.0 * w0)), std::abs((d - discr) / (2.0 * w0))};
        break;
      }
      case BandType::BandPass: {
        const double d = q.passb[1] - q.passb[0];
        wn.clear();
        for (double w : {-w0, w0}) {
          wn.push_back(std::abs(-w * d / 2.0 + std::sqrt(w * w / 4.0 * d * d +
                                                           q.passb[0] * q.passb[1])));
        }
        break;
      }
    }
  } else if (family == FilterFamily::Chebyshev2) {
    const double new_freq =
        1.0 / std::cosh(1.0 / double(r.order) * std::acosh(std::sqrt(ratio)));
    const double p0 = q.passb[0];
    switch (q.type) {
      case BandType::LowPass: wn = {p0 / new_freq}; break;
      case BandType::HighPass: wn = {p0 * new_freq}; break;
      case BandType::BandStop: {
        const double p1 = q.passb[1];
        const double a = new_freq / 2.0 * (p0 - p1) +
                         std::sqrt(new_freq * new_freq * (p1 - p0) * (p1 - p0) / 4.0 + p1 * p0);
        wn = {a, p1 * p0 / a};
        break;
      }
      case BandType::BandPass: {
        const double p1 = q.passb[1];
        const double a = 1.0 / (2.0 * new_freq) * (p0 - p1) +
                         std::sqrt((p1 - p0) * (p1 - p0) / (4.0 * new_freq * new_freq) + p1 * p0);
        wn = {a, p0 * p1 / a};
        break;
      }
    }
  }
  std::sort(wn.begin(), wn.end());
  for (double w : wn) r.edges.push_back(from_warped(w, fs));
  return r;
}

}  // namespace detail

/// SciPy's `buttord(wp, ws, gpass, gstop, fs=fs)`: the lowest Butterworth order whose filter
/// loses at most `gpass` dB at the pass edges and attenuates at least `gstop` dB from the stop
/// edges on, and the edges to give `butter` (its natural frequencies, between the pass and stop
/// edges). Edges in Hz: one each (low- or high-pass) or two each (band-pass or band-stop; see
/// the file comment). Throws `dimension_error` for mismatched edge counts and
/// `numerical_error` for edges outside (0, fs / 2) or not nested, or not 0 < gpass < gstop.
[[nodiscard]] inline FilterSpec buttord(const std::vector<double>& pass,
                                        const std::vector<double>& stop, double gpass,
                                        double gstop, double fs) {
  return detail::filter_order(FilterFamily::Butterworth, "buttord", pass, stop, gpass, gstop,
                              fs);
}

/// SciPy's `cheb1ord`: the lowest Chebyshev type I order, and the pass edges to give `cheby1`
/// with `gpass` as its ripple. Edges and errors as `buttord`'s.
[[nodiscard]] inline FilterSpec cheb1ord(const std::vector<double>& pass,
                                         const std::vector<double>& stop, double gpass,
                                         double gstop, double fs) {
  return detail::filter_order(FilterFamily::Chebyshev1, "cheb1ord", pass, stop, gpass, gstop,
                              fs);
}

/// SciPy's `cheb2ord`: the lowest Chebyshev type II order, and the stop edges to give `cheby2`
/// with `gstop` as its attenuation (where that order's gain reaches -gstop dB, at or inside the
/// given stop band). Edges and errors as `buttord`'s.
[[nodiscard]] inline FilterSpec cheb2ord(const std::vector<double>& pass,
                                         const std::vector<double>& stop, double gpass,
                                         double gstop, double fs) {
  return detail::filter_order(FilterFamily::Chebyshev2, "cheb2ord", pass, stop, gpass, gstop,
                              fs);
}

/// SciPy's `ellipord`: the lowest elliptic order, and the pass edges to give `ellip` with `gpass`
/// and `gstop`. Edges and errors as `buttord`'s.
[[nodiscard]] inline FilterSpec ellipord(const std::vector<double>& pass,
                                         const std::vector<double>& stop, double gpass,
                                         double gstop, double fs) {
  return detail::filter_order(FilterFamily::Elliptic, "ellipord", pass, stop, gpass, gstop, fs);
}

/// SciPy's `iirdesign(wp, ws, gpass, gstop, ftype=..., output='sos', fs=fs)`: the sections of
/// the lowest-order filter of `family` (elliptic by default, as SciPy's) that meets the
/// specification, designed at the edges its order function returns. Edges and errors as
/// `buttord`'s.
template <AnalysisScalar S = double>
[[nodiscard]] MatrixX<S> iirdesign(const std::vector<double>& pass,
                                   const std::vector<double>& stop, double gpass, double gstop,
                                   double fs, FilterFamily family = FilterFamily::Elliptic) {
  const char* names[] = {"iirdesign (butter)", "iirdesign (cheby1)", "iirdesign (cheby2)",
                         "iirdesign (ellip)"};
  const FilterSpec s =
      detail::filter_order(family, names[int(family)], pass, stop, gpass, gstop, fs);
  switch (family) {
    case FilterFamily::Butterworth: return butter<S>(s.order, s.edges, s.type, fs);
    case FilterFamily::Chebyshev1: return cheby1<S>(s.order, gpass, s.edges, s.type, fs);
    case FilterFamily::Chebyshev2: return cheby2<S>(s.order, gstop, s.edges, s.type, fs);
    case FilterFamily::Elliptic: break;
  }
  return ellip<S>(s.order, gpass, gstop, s.edges, s.type, fs);
}

}  // namespace dendrite::dsp
