// SPDX-License-Identifier: MIT
/// @file
/// Equiripple linear-phase FIR design by the Parks-McClellan algorithm (Parks & McClellan 1972;
/// McClellan, Parks & Rabiner 1973), with SciPy's `signal.remez` arguments and grid. For N taps
/// it finds the real amplitude H(f) (the response with its linear phase taken out) minimising
///   max over the bands of |W(f) (D(f) - H(f))|
/// on a grid of `grid_density` points per 1 / (2 r) cycles per sample in each band. Written as
/// H(f) = Q(f) P(f), with P(f) = sum_{k<r} a_k cos(2 pi k f) and Q(f) = 1, cos(pi f),
/// sin(2 pi f) or sin(pi f) for the four linear-phase types, this is a Chebyshev approximation
/// by r cosines; the Remez exchange moves r + 1 extremal frequencies until the weighted error
/// alternates in sign at them with equal magnitude |delta| and nowhere on the grid exceeds it
/// (the alternation theorem: then the design is the unique optimum on the grid). P is
/// interpolated in Lagrange's barycentric form in x = cos(2 pi f); its cosines come from samples
/// at f = m / (2 r - 1) by the inverse DFT, and give P on the grid by Clenshaw's recurrence
/// wherever its rounding stays far below delta. Between the grid's points the error can peak a
/// few per cent higher (raise `grid_density`). Past about 150 dB the first reference's delta is
/// below the error's rounding, and the extremals move one for one until it is not.
///   - bandpass: D(f) = desired of the band, W(f) = its weight; symmetric taps (types I, II).
///   - differentiator: D(f) = desired f and W(f) = weight / f (f in cycles per sample, where the
///     desired value is at least 1e-4), antisymmetric taps (types III, IV).
///   - hilbert: D(f) = desired, W(f) = weight, antisymmetric taps.
/// Where SciPy returns the last iterate when the exchange has not converged in `maxiter` steps
/// (often a useless filter), this throws.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numbers>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <xsimd/xsimd.hpp>

#include <dendrite/core/analysis.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/dsp/fir.hpp>

namespace dendrite::dsp {

/// What the design approximates (SciPy's `type`).
enum class RemezType { bandpass, differentiator, hilbert };

/// The design's options beyond the bands (SciPy's keywords and defaults).
struct RemezOptions {
  std::vector<double> weight;  ///< one per band, > 0; empty for all 1
  RemezType type = RemezType::bandpass;
  double fs = 1.0;        ///< the sampling rate the band edges are given in
  int maxiter = 25;       ///< exchanges before giving up
  int grid_density = 16;  ///< grid points per 1 / (2 r) cycles per sample
};

/// An equiripple design: its taps and the weighted error it reaches.
template <AnalysisScalar S = double>
struct RemezDesign {
  VectorX<S> taps;       ///< N taps, symmetric (bandpass) or antisymmetric, delay (N - 1) / 2
  /// the largest weighted error |W (D - H)| on the grid: |delta|, or past about 170 dB the
  /// taps' rounding
  double deviation = 0;
  int iterations = 0;    ///< exchanges made
};

namespace detail {

// The dense grid: frequencies (cycles per sample), D and W there, and where each band starts.
struct RemezGrid {
  std::vector<double> f, d, w;
  std::vector<std::size_t> start;  // band b holds indices [start[b], start[b + 1])
};

// The points of each band from its lower edge in steps of 0.5 / (density r), the last one
// moved onto the upper edge (McClellan, Parks & Rabiner's grid, which SciPy uses). The
// antisymmetric types vanish at f = 0, so a grid starting there starts one step later; types II
// and III vanish at f = 0.5, so a last point within a step of it is dropped.
inline RemezGrid remez_grid(const std::vector<double>& edges, const std::vector<double>& desired,
                            const std::vector<double>& weight, RemezType type, std::size_t r,
                            int density, bool odd) {
  const bool anti = type != RemezType::bandpass;
  const double step = 0.5 / (double(density) * double(r));
  const auto value = [&](std::size_t b, double f) {
    return type == RemezType::differentiator ? desired[b] * f : desired[b];
  };
  const auto weigh = [&](std::size_t b, double f) {
    return type == RemezType::differentiator && desired[b] >= 1e-4 ? weight[b] / f : weight[b];
  };
  RemezGrid g;
  for (std::size_t b = 0; b < desired.size(); ++b) {
    g.start.push_back(g.f.size());
    const double hi = edges[2 * b + 1];
    double f = edges[2 * b];
    if (b == 0 && anti && f < step) f = step;
    do {
      g.f.push_back(f);
      f += step;
    } while (f <= hi);
    g.f.back() = hi;
    for (std::size_t j = g.start.back(); j < g.f.size(); ++j) {
      g.d.push_back(value(b, g.f[j]));
      g.w.push_back(weigh(b, g.f[j]));
    }
  }
  if (anti == odd && g.f.back() > 0.5 - step) {
    g.f.pop_back();
    g.d.pop_back();
    g.w.pop_back();
  }
  g.start.push_back(g.f.size());
  return g;
}

// Barycentric weights 1 / prod_{j != k} (x_k - x_j) of the points x, scaled by a common factor
// (the barycentric formulas are ratios): each product is kept as a mantissa and a binary
// exponent, so hundreds of factors neither underflow nor overflow. Returns false where two
// points coincide or the weights span more than doubles hold.
inline bool barycentric_weights(const std::vector<double>& x, std::vector<double>& out) {
  const std::size_t n = x.size();
  std::vector<long> exponent(n);
  // four products at a time, so that their multiplications' latencies overlap; a product of
  // 16 differences of doubles in [-1, 1] (each 0 or above 1e-19) stays normal
  for (std::size_t k0 = 0; k0 < n; k0 += 4) {
    double m[4] = {1, 1, 1, 1}, xk[4];
    long e[4] = {0, 0, 0, 0};
    for (std::size_t i = 0; i < 4; ++i) xk[i] = x[std::min(k0 + i, n - 1)];
    for (std::size_t j0 = 0; j0 < n; j0 += 16) {
      for (std::size_t j = j0; j < std::min(n, j0 + 16); ++j) {
        for (std::size_t i = 0; i < 4; ++i) m[i] *= k0 + i == j ? 1.0 : xk[i] - x[j];
      }
      for (std::size_t i = 0; i < 4; ++i) {
        int ej = 0;
        m[i] = std::frexp(m[i], &ej);
        e[i] += ej;
      }
    }
    for (std::size_t i = 0; i < 4 && k0 + i < n; ++i) {
      if (m[i] == 0) return false;
      out[k0 + i] = 1.0 / m[i];
      exponent[k0 + i] = -e[i];
    }
  }
  const long top = *std::max_element(exponent.begin(), exponent.end());
  for (std::size_t k = 0; k < n; ++k) {
    if (exponent[k] - top < -1000) return false;
    out[k] = std::ldexp(out[k], int(exponent[k] - top));
  }
  return true;
}

// P(x) from its values c at the nodes xn with barycentric weights bw (the second form).
inline double barycentric_value(double x, const std::vector<double>& xn,
                                const std::vector<double>& bw, const std::vector<double>& c) {
  double num = 0, den = 0;
  for (std::size_t k = 0; k < xn.size(); ++k) {
    const double dx = x - xn[k];
    if (dx == 0) return c[k];
    const double t = bw[k] / dx;
    num += t * c[k];
    den += t;
  }
  return num / den;
}

// The r + 1 or more frequencies where the weighted error `err` alternates in sign at or above
// |delta| (and above `floor`, the error's rounding): its local extrema band by band, of
// neighbours with one sign the larger. The present extremals `ext` reach the level exactly but
// for rounding, so they count, with their exact signs, extrema or not: a larger extremum of
// one sign beside them replaces them, and the alternation never breaks (`old` is scratch,
// zero on entry and exit).
inline void remez_alternation(const RemezGrid& g, const std::vector<double>& err, double delta,
                              double floor, const std::vector<std::size_t>& ext,
                              std::vector<signed char>& old, std::vector<std::size_t>& cand,
                              std::vector<double>& cand_sign, std::vector<std::size_t>& next) {
  const double level = std::max(std::abs(delta) * (1 - 1e-9), floor);
  for (std::size_t k = 0; k < ext.size(); ++k) {
    old[ext[k]] = ((k % 2 == 0) == (delta >= 0)) ? 1 : -1;
  }
  cand.clear();
  cand_sign.clear();
  for (std::size_t b = 0; b + 1 < g.start.size(); ++b) {
    const std::size_t lo = g.start[b], hi = g.start[b + 1];
    for (std::size_t j = lo; j < hi; ++j) {
      const double e = err[j], s = old[j] != 0 ? old[j] : e > 0 ? 1.0 : -1.0;
      if (old[j] == 0 && (std::abs(e) < level || e == 0)) continue;
      const bool left = j == lo || s * (e - err[j - 1]) >= 0;
      const bool right = j + 1 == hi || s * (e - err[j + 1]) > 0;
      if (old[j] != 0 || (left && right)) {
        cand.push_back(j);
        cand_sign.push_back(s);
      }
    }
  }
  for (std::size_t j : ext) old[j] = 0;
  next.clear();
  for (std::size_t i = 0; i < cand.size(); ++i) {
    const std::size_t j = cand[i];
    if (!next.empty() && cand_sign[i] == cand_sign[i - 1]) {
      if (std::abs(err[j]) > std::abs(err[next.back()])) next.back() = j;
    } else {
      next.push_back(j);
    }
  }
}

// barycentric_value at count points, on SIMD lanes; a lane that meets a node exactly (where the
// sums turn infinite) takes the node's value.
inline void barycentric_values(const std::vector<double>& xn, const std::vector<double>& bw,
                               const std::vector<double>& c, const double* x, double* y,
                               std::size_t count) {
  using batch = xsimd::batch<double>;
  constexpr std::size_t lanes = batch::size;
  std::size_t j = 0;
  for (; j + lanes <= count; j += lanes) {
    const batch xv = batch::load_unaligned(x + j);
    batch num(0.0), den(0.0), at_node(0.0);
    auto hit = xv != xv;
    for (std::size_t k = 0; k < xn.size(); ++k) {
      const batch dx = xv - batch(xn[k]);
      const auto zero = dx == batch(0.0);
      hit = hit || zero;
      at_node = xsimd::select(zero, batch(c[k]), at_node);
      const batch t = batch(bw[k]) / dx;
      num = xsimd::fma(t, batch(c[k]), num);
      den += t;
    }
    xsimd::select(hit, at_node, num / den).store_unaligned(y + j);
  }
  for (; j < count; ++j) y[j] = barycentric_value(x[j], xn, bw, c);
}

// While |delta| is below the error's rounding (a first reference that nearly interpolates
// D, as in designs past about 140 dB), the error's small extrema are noise, and a multiple
// exchange among them can gather the extremals where they cannot be interpolated. This moves
// each extremal instead to the largest error of its sign between its new left neighbour and
// its old right one: the order and spread are kept, and |delta| grows.
inline void remez_local_exchange(const std::vector<double>& err, double delta,
                                 const std::vector<std::size_t>& ext,
                                 std::vector<std::size_t>& next) {
  const std::size_t r1 = ext.size();
  next.assign(ext.begin(), ext.end());
  for (std::size_t k = 0; k < r1; ++k) {
    const double s = ((k % 2 == 0) == (delta >= 0)) ? 1.0 : -1.0;
    const std::size_t lo = k == 0 ? 0 : next[k - 1] + 1;
    const std::size_t hi = k + 1 == r1 ? err.size() : ext[k + 1];
    for (std::size_t j = lo; j < hi; ++j) {
      if (s * err[j] > s * err[next[k]]) next[k] = j;
    }
  }
}

// y[j] = sum_{k<n} a[k] T_k(x[j]) by Clenshaw's recurrence b_k = a_k + 2 x b_{k+1} - b_{k+2},
// y = a_0 + x b_1 - b_2; four SIMD batches of points at a time, held in registers, so that the
// recurrences' latencies overlap.
inline void cosine_series(const double* a, std::size_t n, const double* x, double* y,
                          std::size_t count) {
  using batch = xsimd::batch<double>;
  constexpr std::size_t lanes = batch::size, group = 4 * lanes;
  std::size_t j = 0;
  for (; j + group <= count; j += group) {
    batch x2[4], b1[4], b2[4];
    for (std::size_t g = 0; g < 4; ++g) {
      x2[g] = 2.0 * batch::load_unaligned(x + j + g * lanes);
      b1[g] = b2[g] = batch(0.0);
    }
    for (std::size_t k = n - 1; k >= 1; --k) {
      const batch ak(a[k]);
      for (std::size_t g = 0; g < 4; ++g) {
        const batch t = xsimd::fma(x2[g], b1[g], ak - b2[g]);
        b2[g] = b1[g];
        b1[g] = t;
      }
    }
    for (std::size_t g = 0; g < 4; ++g) {
      const batch v = xsimd::fma(0.5 * x2[g], b1[g], batch(a[0]) - b2[g]);
      v.store_unaligned(y + j + g * lanes);
    }
  }
  for (; j < count; ++j) {
    double b1 = 0, b2 = 0;
    for (std::size_t k = n - 1; k >= 1; --k) {
      const double t = a[k] + 2 * x[j] * b1 - b2;
      b2 = b1;
      b1 = t;
    }
    y[j] = a[0] + x[j] * b1 - b2;
  }
}

// The exchange and the taps for validated arguments (edges in cycles per sample); returns why
// it failed, or nothing.
template <AnalysisScalar S>
std::string remez_exchange(std::size_t numtaps, const std::vector<double>& edges,
                           const std::vector<double>& desired, const std::vector<double>& weight,
                           RemezType type, int maxiter, int density, RemezDesign<S>& out) {
  const bool anti = type != RemezType::bandpass, odd = numtaps % 2 == 1;
  const std::size_t r = numtaps / 2 + (odd && !anti ? 1 : 0);  // cosines in P
  if (r < 1) {
    return dendrite::detail::concat("need at least 1 tap (2 for an antisymmetric filter), got ",
                                    numtaps);
  }
  RemezGrid g = remez_grid(edges, desired, weight, type, r, density, odd);
  const std::size_t ng = g.f.size();
  if (ng < r + 1) {
    return dendrite::detail::concat("the grid has ", ng, " points, fewer than the ", r + 1,
                                    " extremal frequencies of ", numtaps,
                                    " taps: raise grid_density or widen the bands");
  }
  // H = Q P: approximate D / Q with weight W Q
  const double pi = std::numbers::pi;
  for (std::size_t j = 0; j < ng; ++j) {
    const double q = !anti ? (odd ? 1.0 : std::cos(pi * g.f[j]))
                           : (odd ? std::sin(2 * pi * g.f[j]) : std::sin(pi * g.f[j]));
    g.d[j] /= q;
    g.w[j] *= q;
  }
  std::vector<double> x(ng);
  double scale = 0;  // the size of W D, for the exact-fit test
  for (std::size_t j = 0; j < ng; ++j) {
    x[j] = std::cos(2 * pi * g.f[j]);
    scale = std::max(scale, std::abs(g.w[j] * g.d[j]));
  }

  std::vector<std::size_t> ext(r + 1), next, cand;
  for (std::size_t k = 0; k < r; ++k) ext[k] = std::size_t(double(k) * double(ng - 1) / double(r));
  ext[r] = ng - 1;
  std::vector<double> xe(r + 1), ad(r + 1), xn(r), bw(r), c(r), err(ng);
  std::vector<double> cand_sign;
  const std::size_t len = 2 * r - 1;
  std::vector<double> p(r), a(r + 2, 0.0), ctab(len);  // a[r], a[r + 1] stay 0
  for (std::size_t i = 0; i < len; ++i) ctab[i] = std::cos(2 * pi * double(i) / double(len));
  std::vector<signed char> old(ng, 0);  // the present extremals' error signs
  double delta = 0, worst = 0;
  int iter = 0;
  bool converged = false;
  while (!converged) {
    if (iter == maxiter) {
      return dendrite::detail::concat(
          "no convergence in ", maxiter, " iterations (largest weighted error ", worst,
          " against the level ", std::abs(delta), "); transition bands too narrow for ", numtaps,
          " taps? Widen them, change N, or raise maxiter");
    }
    ++iter;
    for (std::size_t k = 0; k <= r; ++k) xe[k] = x[ext[k]];
    // delta makes the r-th divided difference of P's values vanish: P has degree r - 1
    double num = 0, den = 0;
    const bool spread = barycentric_weights(xe, ad);
    for (std::size_t k = 0; spread && k <= r; ++k) {
      num += ad[k] * g.d[ext[k]];
      den += ad[k] * ((k % 2 == 0) ? 1.0 : -1.0) / g.w[ext[k]];
    }
    delta = num / den;
    if (!spread || !std::isfinite(delta)) {
      return dendrite::detail::concat(
          "at iteration ", iter, " the ", r + 1,
          " extremal frequencies are too unevenly spread to interpolate in double",
          " precision; transition bands too narrow for ", numtaps, " taps?");
    }
    for (std::size_t k = 0; k < r; ++k) {
      xn[k] = xe[k];
      bw[k] = ad[k] * (xe[k] - xe[r]);  // the weights without the last node
      c[k] = g.d[ext[k]] - ((k % 2 == 0) ? 1.0 : -1.0) * delta / g.w[ext[k]];
    }
    // P's cosine coefficients from its values at f = m / L, L = 2 r - 1 (the inverse DFT of a
    // symmetric sequence), then P on the grid from them by Clenshaw's recurrence: r divisions
    // per grid point in the barycentric form would cost ten times as much
    barycentric_values(xn, bw, c, ctab.data(), p.data(), r);
    for (std::size_t k = 0; k < r; ++k) {
      // sum_m p_m cos(2 pi k m / L) in four interleaved sums (m = 1, 2, 3, 4 mod 4)
      const std::size_t step = (4 * k) % len;
      std::size_t idx[4] = {k % len, (2 * k) % len, (3 * k) % len, (4 * k) % len};
      double sum[4] = {0, 0, 0, 0};
      std::size_t m = 1;
      for (; m + 3 < r; m += 4) {
        for (std::size_t i = 0; i < 4; ++i) {
          sum[i] += p[m + i] * ctab[idx[i]];
          idx[i] = idx[i] + step >= len ? idx[i] + step - len : idx[i] + step;
        }
      }
      for (; m < r; ++m) sum[0] += p[m] * ctab[(k * m) % len];
      const double total = (sum[0] + sum[1]) + (sum[2] + sum[3]);
      a[k] = (k == 0 ? 1.0 : 2.0) * (p[0] + 2 * total) / double(len);
    }
    // Clenshaw's rounding grows with sum |a_k| (and up to r^2 times at x = +-1), which is large
    // while the extremals are far from the optimum's and delta is small. There the barycentric
    // form, which interpolates exactly, is used; and it checks a step that Clenshaw's values
    // find converged. (Both exchanges keep r + 1 alternating extremals: remez_alternation counts
    // the present ones, remez_local_exchange moves them one for one.)
    double asum = 0;
    for (std::size_t k = 0; k < r; ++k) asum += std::abs(a[k]);
    bool exact = asum * double(r) * double(r) * 1e-16 > 1e-3 * std::abs(delta), optimal = false;
    for (;;) {
      if (exact) {
        barycentric_values(xn, bw, c, x.data(), err.data(), ng);
      } else {
        cosine_series(a.data(), r, x.data(), err.data(), ng);
      }
      worst = 0;
      for (std::size_t j = 0; j < ng; ++j) {
        err[j] = g.w[j] * (g.d[j] - err[j]);
        if (!(std::abs(err[j]) <= worst)) worst = std::abs(err[j]);  // NaN stays
      }
      if (!std::isfinite(worst)) {
        return dendrite::detail::concat("at iteration ", iter, " the error is not",
                                        " finite; transition bands too narrow for ", numtaps,
                                        " taps?");
      }
      // nowhere above the level: optimal (de la Vallee Poussin bounds the optimum between them)
      optimal = worst <= std::abs(delta) * (1 + 1e-13) + 1e-15 * scale;
      if (optimal) break;
      if (std::abs(delta) > 1e-14 * scale) {
        remez_alternation(g, err, delta, 1e-14 * scale, ext, old, cand, cand_sign, next);
      } else {
        remez_local_exchange(err, delta, ext, next);
      }
      if (exact || next != ext) break;
      exact = true;
    }
    if (optimal) break;
    // too many: drop the weaker end, or the smallest extremum with the weaker of its
    // neighbours (which then share a sign)
    while (next.size() > r + 1) {
      const auto mag = [&](std::size_t i) { return std::abs(err[next[i]]); };
      if (next.size() == r + 2) {
        next.erase(mag(0) < mag(next.size() - 1) ? next.begin() : next.end() - 1);
        continue;
      }
      std::size_t i = 0;
      for (std::size_t k = 1; k < next.size(); ++k) i = mag(k) < mag(i) ? k : i;
      next.erase(next.begin() + std::ptrdiff_t(i));
      if (i > 0 && i < next.size()) {
        next.erase(next.begin() + std::ptrdiff_t(mag(i - 1) < mag(i) ? i - 1 : i));
      }
    }
    converged = next == ext;
    ext.swap(next);
  }

  // the error of the cosines the taps are made from, on the grid: past about 170 dB their
  // rounding, not delta, is the error (701 taps for edges 0.2 and 0.22, where an AVX-512 build
  // converges: 1.2e-9, where delta is 2.5e-11)
  cosine_series(a.data(), r, x.data(), err.data(), ng);
  for (std::size_t j = 0; j < ng; ++j) {
    worst = std::max(worst, std::abs(g.w[j] * (g.d[j] - err[j])));
  }
  // the taps of H = Q P by the product-to-sum identities, half of each term's coefficient on
  // either side of the centre
  out.taps.resize(Eigen::Index(numtaps));
  auto& h = out.taps;
  const auto at = [&](std::size_t i) { return Eigen::Index(i); };
  if (!anti && odd) {  // type I: H = P
    const std::size_t mid = r - 1;
    h(at(mid)) = S(a[0]);
    for (std::size_t k = 1; k < r; ++k) h(at(mid - k)) = h(at(mid + k)) = S(a[k] / 2);
  } else if (!anti) {  // type II: cos(pi f) P = sum_j b_j cos(2 pi (j - 1/2) f)
    for (std::size_t j = 1; j <= r; ++j) {
      const double b = j == 1 ? a[0] + a[1] / 2 : (a[j - 1] + a[j]) / 2;
      h(at(r - j)) = h(at(r - 1 + j)) = S(b / 2);
    }
  } else if (odd) {  // type III: sin(2 pi f) P = sum_j c_j sin(2 pi j f)
    h(at(r)) = S(0);
    for (std::size_t j = 1; j <= r; ++j) {
      const double cj = j == 1 ? a[0] - a[2] / 2 : (a[j - 1] - a[j + 1]) / 2;
      h(at(r - j)) = S(cj / 2);
      h(at(r + j)) = S(-cj / 2);
    }
  } else {  // type IV: sin(pi f) P = sum_j d_j sin(2 pi (j - 1/2) f)
    for (std::size_t j = 1; j <= r; ++j) {
      const double dj = j == 1 ? a[0] - a[1] / 2 : (a[j - 1] - a[j]) / 2;
      h(at(r - j)) = S(dj / 2);
      h(at(r - 1 + j)) = S(-dj / 2);
    }
  }
  out.deviation = std::max(std::abs(delta), worst);
  out.iterations = iter;
  return {};
}

}  // namespace detail

/// The N-tap equiripple filter for the bands `bands` (pairs of edges, increasing, within
/// [0, fs / 2], in the units of `options.fs`) with one `desired` value per band (SciPy's
/// `remez(N, bands, desired, weight, type=..., maxiter, grid_density, fs)`). Throws
/// `numerical_error` for an odd or empty edge list, edges out of order or outside [0, fs / 2],
/// bands that touch, a `desired` or `weight` list of another length than the bands, weights
/// that are not positive, values that are not finite, no taps (an antisymmetric filter needs
/// 2), a grid with fewer points than r + 1, and an exchange that has not converged in `maxiter`
/// iterations or has run out of double precision (transition bands too narrow for N, typically;
/// the message says which).
template <AnalysisScalar S = double>
[[nodiscard]] RemezDesign<S> remez(std::size_t numtaps, const std::vector<double>& bands,
                                   const std::vector<double>& desired,
                                   const RemezOptions& options = {}) {
  const double fs = options.fs;
  if (!(std::isfinite(fs) && fs > 0)) {
    DENDRITE_THROW(numerical_error, "remez: need a finite fs > 0, got ", fs);
  }
  if (bands.empty() || bands.size() % 2 != 0) {
    DENDRITE_THROW(numerical_error, "remez: need band edges in pairs, got ", bands.size(),
                   " edges");
  }
  const std::size_t nb = bands.size() / 2;
  for (std::size_t i = 0; i < bands.size(); ++i) {
    const double prev = i == 0 ? 0.0 : bands[i - 1];
    const bool ok = std::isfinite(bands[i]) && bands[i] <= 0.5 * fs &&
                    (i == 0 ? bands[i] >= 0 : bands[i] > prev);
    if (!ok) {
      DENDRITE_THROW(numerical_error,
                     "remez: need band edges increasing within [0, fs / 2 = ", 0.5 * fs,
                     "] (bands may not touch), got edge ", i, " = ", bands[i],
                     i == 0 ? "" : " after ", i == 0 ? 0.0 : prev);
    }
  }
  if (desired.size() != nb) {
    DENDRITE_THROW(numerical_error, "remez: need one desired value per band (", nb, "), got ",
                   desired.size());
  }
  std::vector<double> weight =
      options.weight.empty() ? std::vector<double>(nb, 1.0) : options.weight;
  if (weight.size() != nb) {
    DENDRITE_THROW(numerical_error, "remez: need one weight per band (", nb, "), got ",
                   weight.size());
  }
  for (std::size_t b = 0; b < nb; ++b) {
    if (!std::isfinite(desired[b]) || !std::isfinite(weight[b]) || !(weight[b] > 0)) {
      DENDRITE_THROW(numerical_error, "remez: need finite desired values and finite weights > 0,",
                     " got desired ", desired[b], " and weight ", weight[b], " in band ", b);
    }
  }
  if (options.maxiter < 1 || options.grid_density < 1) {
    DENDRITE_THROW(numerical_error, "remez: need maxiter >= 1 and grid_density >= 1, got ",
                   options.maxiter, " and ", options.grid_density);
  }
  std::vector<double> edges(bands);
  for (double& e : edges) e /= fs;
  RemezDesign<S> out;
  const std::string why = detail::remez_exchange(numtaps, edges, desired, weight, options.type,
                                                 options.maxiter, options.grid_density, out);
  if (!why.empty()) DENDRITE_THROW(numerical_error, "remez: ", why);
  return out;
}

/// The shortest odd-length equiripple low-pass with passband [0, `pass_edge`] and stopband
/// [`stop_edge`, 0.5] (cycles per sample) whose stopband level is within 0.99 x 10^(-A/20) and
/// whose passband deviation is within 0.99 x `passband_deviation` (0: the same as the
/// stopband's, `kaiser_lowpass`'s specification, which this meets with fewer taps), both
/// measured as `kaiser_lowpass` measures them. The bands are weighted by the inverse of their
/// ripples (McClellan, Parks & Rabiner); the search starts at Kaiser's estimate for equiripple
/// filters, N = (-20 log10 sqrt(dp ds) - 13) / (14.6 dF) + 1, and steps by 2. `beta` is 0.
/// Throws `numerical_error` for the arguments `kaiser_lowpass` refuses, a passband deviation
/// outside [0, 0.5], and where no length up to 4095 taps meets the specification.
template <AnalysisScalar S = double>
[[nodiscard]] FIRDesign<S> remez_lowpass(double pass_edge, double stop_edge, double attenuation_db,
                                         double passband_deviation = 0) {
  detail::check_lowpass("remez_lowpass", pass_edge, stop_edge, attenuation_db);
  if (!(passband_deviation >= 0 && passband_deviation <= 0.5)) {
    DENDRITE_THROW(numerical_error, "remez_lowpass: the passband deviation must lie in [0, 0.5]",
                   " (0: the stopband's), got ", passband_deviation);
  }
  const double ds = std::pow(10.0, -attenuation_db / 20.0);
  const double dp = passband_deviation > 0 ? passband_deviation : ds;
  const std::vector<double> edges{0.0, pass_edge, stop_edge, 0.5}, desired{1.0, 0.0},
      weight{1.0, dp / ds};
  constexpr std::size_t longest = 4095;
  // the design of n taps if it meets the specification
  const auto meets = [&](std::size_t n, FIRDesign<S>& out) {
    RemezDesign<S> d;
    const auto why = detail::remez_exchange(n, edges, desired, weight, RemezType::bandpass, 25,
                                            16, d);
    if (!why.empty()) return false;
    const auto [pass, stop] = detail::lowpass_ripples(d.taps, pass_edge, stop_edge);
    if (pass > 0.99 * dp || stop > 0.99 * ds) return false;
    out.taps = std::move(d.taps);
    out.beta = 0;
    out.passband_deviation = pass;
    out.stopband_level = stop;
    return true;
  };
  const double estimate = (-10 * std::log10(dp * ds) - 13) / (14.6 * (stop_edge - pass_edge)) + 1;
  auto n = std::size_t(std::max(3.0, std::ceil(std::min(estimate, double(longest)))));
  n += n % 2 == 0 ? 1 : 0;
  FIRDesign<S> best, trial;
  if (meets(n, best)) {
    while (n >= 5 && meets(n - 2, trial)) {
      n -= 2;
      best = std::move(trial);
    }
    return best;
  }
  for (n += 2; n <= longest; n += 2) {
    if (meets(n, best)) return best;
  }
  DENDRITE_THROW(numerical_error, "remez_lowpass: no equiripple design of up to ", longest,
                 " taps meets ", attenuation_db, " dB over a transition of ", stop_edge - pass_edge,
                 " cycles per sample");
}

}  // namespace dendrite::dsp
