// SPDX-License-Identifier: MIT
/// @file
/// Slepian's tapers and Thomson's multitaper spectrum: the spectral estimate that trades a
/// chosen frequency resolution for low variance and low leakage, used throughout
/// electrophysiology (Chronux, MNE's `psd_array_multitaper`).
///
/// `dpss(M, NW, K)` is SciPy's `scipy.signal.windows.dpss(M, NW, K, return_ratios=True)`: the
/// K discrete prolate spheroidal sequences of M samples most concentrated in the band
/// |f| <= W = NW / M (Slepian, Bell Syst. Tech. J. 1978), found as the eigenvectors of the K
/// largest eigenvalues of the tridiagonal matrix with diagonal ((M - 1 - 2t) / 2)^2 cos(2 pi W)
/// and off-diagonal t (M - t) / 2 (Percival and Walden 1993), which has the same eigenvectors as
/// the concentration problem. Its eigenvalues are found by bisection with Sturm counts and its
/// eigenvectors by inverse iteration (a tridiagonal solve with partial pivoting), O(K M) in all,
/// so a taper of a whole recording is cheap. Each taper has unit norm; by SciPy's (Percival and
/// Walden's) convention the even orders have a positive sum and the odd orders begin with a
/// positive lobe (the first sample whose square exceeds max(1e-7, 1 / M) is positive). The
/// concentration ratios lambda_k = sum_j r_k[j] a[j], the taper's autocorrelation r_k against
/// a[0] = 2W, a[j] = 2 sin(2 pi W j) / (pi j) (the energy fraction inside the band), are
/// computed by transforms. `sym = false` gives SciPy's periodic tapers: those of M + 1 samples
/// (their ratios too), the last sample dropped.
///
/// `multitaper_psd(x, fs)` is MNE's `psd_array_multitaper(x, fs, normalization='full')`, the
/// eigenvalue-weighted estimate of each row of x (channels x samples): the row's mean removed,
/// X_k = DFT_nfft(v_k x) for the periodic tapers v_k of `dpss(N, NW, floor(2 NW), sym=false)`
/// whose ratio exceeds 0.9 (`low_bias`; the most concentrated one if none does), and
/// P[f] = (2 / fs) sum_k lambda_k |X_k[f]|^2 / sum_k lambda_k, not doubled at bin 0 nor, for
/// even nfft, at nfft / 2: a density in V^2/Hz as `welch`'s. Its resolution is the full
/// bandwidth 2 NW fs / N Hz. Two tapered rows share one complex transform. `MultitaperPsd(N, fs)`
/// makes the tapers and the transform once, for a loop over epochs of one length.
///
/// With `adaptive`, Thomson's adaptive weights (Thomson, Proc. IEEE 1982; Percival and Walden 1993)
/// replace sqrt(lambda_k), iterated as MNE iterates them (`adaptive=True`, see
/// `MultitaperPsd::adapt`); with fewer than 3 tapers kept MNE, and this, weigh by the
/// eigenvalues instead.
///
/// `harmonic_f_test` is Thomson's F test for a line (a sinusoid) at each frequency, and
/// `remove_lines` subtracts the significant lines' fits, as MNE's
/// `notch_filter(method='spectrum_fit')`: line noise removed without a notch in the band.
/// `multitaper_csd` and `multitaper_coherence` are the cross spectrum (MNE's
/// `csd_array_multitaper`) and the magnitude-squared coherence of pairs of rows;
/// `multitaper_csd_matrices` the cross spectral matrices of all channels averaged over epochs,
/// and `coherence_matrices` and `imaginary_coherence_matrices` every pair's coherence and
/// imaginary coherency from them; `multitaper_phase_sums` and `phase_connectivity` the
/// phase-based measures over epochs (PLV, PPC, PLI, wPLI and their variants).
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numbers>
#include <optional>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <dendrite/core/analysis.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/dsp/spectrum.hpp>

namespace dendrite::dsp {

/// `dpss`'s result: the tapers (one per row, K x M) and their concentration ratios.
template <AnalysisScalar S = double>
struct Dpss {
  MatrixX<S> tapers;  ///< row k: the taper of order k
  VectorX<S> ratios;  ///< lambda_k, the fraction of taper k's energy in |f| <= W
};

namespace detail {

// The numbers of eigenvalues of the symmetric tridiagonal matrix (diagonal d, squared
// off-diagonal e2[t] between t - 1 and t; e2[0] unused) below each of 32 points x: the negative
// pivots of the LDL^T factors of T - x I (Sylvester's law of inertia), a vanishing pivot counted
// as a tiny negative one. The 32 recurrences are independent, so their divisions overlap (one
// recurrence alone waits on each division in turn).
inline constexpr std::size_t kSturmLanes = 32;
template <AnalysisScalar S>
void sturm_counts(const VectorX<S>& d, const VectorX<S>& e2,
                  const std::array<double, kSturmLanes>& x, double tiny,
                  std::array<double, kSturmLanes>& count) {
  std::array<double, kSturmLanes> q{};
  for (std::size_t j = 0; j < kSturmLanes; ++j) {
    q[j] = d(0) - x[j];
    count[j] = 0;
  }
  for (Eigen::Index t = 0;; ++t) {
    for (std::size_t j = 0; j < kSturmLanes; ++j) {
      const double v = std::abs(q[j]) < tiny ? -tiny : q[j];
      count[j] += v < 0 ? 1.0 : 0.0;
      q[j] = v;
    }
    if (t + 1 == d.size()) return;
    const double dt = d(t + 1), et = e2(t + 1);
    for (std::size_t j = 0; j < kSturmLanes; ++j) q[j] = dt - x[j] - et / q[j];
  }
}

// Solves (T - lambda I) y = b in place by Gaussian elimination with partial pivoting (the
// factors have a second superdiagonal where rows were exchanged); a vanishing pivot, as
// lambda is an eigenvalue to rounding, becomes `tiny` so that y grows along its eigenvector.
template <AnalysisScalar S>
void shifted_tridiagonal_solve(const VectorX<S>& d, const VectorX<S>& e, double lambda,
                               double tiny, VectorX<S>& b, VectorX<S>& diag, VectorX<S>& up,
                               VectorX<S>& up2) {
  const Eigen::Index n = d.size();
  diag = d.array() - lambda;
  up.head(n - 1) = e.tail(n - 1);
  up(n - 1) = 0;
  up2.setZero(n);
  for (Eigen::Index t = 0; t + 1 < n; ++t) {
    const double below = e(t + 1);  // row t + 1's entry in column t
    if (std::abs(diag(t)) >= std::abs(below)) {
      const double l = diag(t) == 0 ? 0.0 : below / diag(t);
      diag(t + 1) -= l * up(t);
      b(t + 1) -= l * b(t);
    } else {  // exchange rows t and t + 1
      const double l = diag(t) / below;
      diag(t) = below;
      const double upper = up(t);
      up(t) = diag(t + 1);
      diag(t + 1) = upper - l * diag(t + 1);
      if (t + 2 < n) {
        up2(t) = up(t + 1);
        up(t + 1) = -l * up(t + 1);
      }
      const double bt = b(t);
      b(t) = b(t + 1);
      b(t + 1) = bt - l * b(t);
    }
  }
  for (Eigen::Index t = n - 1; t >= 0; --t) {
    if (std::abs(diag(t)) < tiny) diag(t) = diag(t) < 0 ? -tiny : tiny;
    double v = b(t);
    if (t + 1 < n) v -= up(t) * b(t + 1);
    if (t + 2 < n) v -= up2(t) * b(t + 2);
    b(t) = v / diag(t);
  }
}

// The autocorrelations r[j] = sum_t v[t] v[t + j], j = 0 ... M - 1, of the columns of v, by
// transforms of a power of two >= 2M - 1 (two columns per complex transform).
template <AnalysisScalar S>
MatrixX<S> autocorrelations(const MatrixX<S>& v) {
  const Eigen::Index m = v.rows();
  const auto n = Eigen::Index(std::bit_ceil(std::uint64_t(2 * m - 1)));
  FFT plan(n);
  std::vector<std::complex<double>> z(static_cast<std::size_t>(n));
  MatrixX<S> r(v.cols(), m);
  for (Eigen::Index k = 0; k < v.cols(); k += 2) {
    const bool pair = k + 1 < v.cols();
    std::fill(z.begin(), z.end(), std::complex<double>(0));
    for (Eigen::Index t = 0; t < m; ++t) z[std::size_t(t)] = {v(t, k), pair ? v(t, k + 1) : 0.0};
    plan.forward(z.data(), z.data());
    // |A|^2 + i |B|^2, the transforms of the two columns' autocorrelations
    for (Eigen::Index f = 0; f <= n / 2; ++f) {
      const auto [a, b] = real_pair_bins(z.data(), n, f);
      z[std::size_t(f)] = z[std::size_t((n - f) % n)] = {std::norm(a), std::norm(b)};
    }
    plan.inverse(z.data(), z.data());
    for (Eigen::Index j = 0; j < m; ++j) {
      r(k, j) = z[std::size_t(j)].real();
      if (pair) r(k + 1, j) = z[std::size_t(j)].imag();
    }
  }
  return r;
}

}  // namespace detail

/// The K discrete prolate spheroidal sequences of M samples and time-half-bandwidth NW, with
/// their concentration ratios: SciPy's `dpss(M, NW, K, sym, return_ratios=True)` (see the file
/// comment). Throws `dimension_error` unless M >= 2 and 1 <= K <= M, `numerical_error` unless
/// 0 < NW < M / 2.
template <AnalysisScalar S = double>
[[nodiscard]] Dpss<S> dpss(Eigen::Index m, double nw, Eigen::Index k, bool sym = true) {
  if (m < 2 || k < 1 || k > m) {
    DENDRITE_THROW(dimension_error, "dpss: expected M >= 2 samples and 1 to M tapers, got M ", m,
                   " and K ", k);
  }
  if (!(nw > 0) || !(nw < 0.5 * double(m))) {
    DENDRITE_THROW(numerical_error, "dpss: expected 0 < NW < M / 2 = ", 0.5 * double(m), ", got ",
                   nw);
  }
  const Eigen::Index n = sym ? m : m + 1;  // SciPy's periodic tapers: M + 1 points, truncated
  const double w = nw / double(n), c = std::cos(2 * std::numbers::pi * w);
  VectorX<S> d(n), e(n), e2(n);
  for (Eigen::Index t = 0; t < n; ++t) {
    const double h = 0.5 * double(n - 1 - 2 * t);
    d(t) = h * h * c;
    e(t) = t == 0 ? 0.0 : 0.5 * double(t) * double(n - t);
  }
  e2 = e.array().square();
  // Gershgorin's interval holds every eigenvalue
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (Eigen::Index t = 0; t < n; ++t) {
    const double radius = std::abs(e(t)) + (t + 1 < n ? std::abs(e(t + 1)) : 0.0);
    lo = std::min(lo, d(t) - radius);
    hi = std::max(hi, d(t) + radius);
  }
  const double scale = std::max(std::abs(lo), std::abs(hi));
  const double tiny = std::numeric_limits<double>::min() / std::numeric_limits<double>::epsilon() *
                      std::max(1.0, e2.maxCoeff());
  // the K largest eigenvalues by multisection, 8 at a time, each interval [a, b] cut at 4
  // points in a pass: the (n - 1 - j)-th smallest eigenvalue is the least x with more than
  // n - 1 - j eigenvalues below it
  constexpr std::size_t kGroup = 8, kCuts = detail::kSturmLanes / kGroup;
  VectorX<S> lambda(k);
  for (Eigen::Index j0 = 0; j0 < k; j0 += Eigen::Index(kGroup)) {
    std::array<double, kGroup> a{}, b{};
    std::array<double, detail::kSturmLanes> x{}, count{};
    a.fill(lo);
    b.fill(hi);
    for (int it = 0; it < 200; ++it) {
      bool open = false;
      for (std::size_t i = 0; i < kGroup; ++i) {
        for (std::size_t cut = 0; cut < kCuts; ++cut) {
          x[i * kCuts + cut] = a[i] + (b[i] - a[i]) * double(cut + 1) / double(kCuts + 1);
        }
        open = open || (b[i] - a[i] > 2 * std::numeric_limits<double>::epsilon() * scale &&
                        x[i * kCuts] > a[i] && x[i * kCuts + kCuts - 1] < b[i]);
      }
      if (!open) break;
      detail::sturm_counts<S>(d, e2, x, tiny, count);
      for (std::size_t i = 0; i < kGroup; ++i) {
        const Eigen::Index index = n - 1 - std::min(j0 + Eigen::Index(i), k - 1);
        for (std::size_t cut = 0; cut < kCuts; ++cut) {  // the counts rise with x
          const double xc = x[i * kCuts + cut];
          if (count[i * kCuts + cut] > double(index)) {
            b[i] = std::min(b[i], xc);
          } else {
            a[i] = std::max(a[i], xc);
          }
        }
      }
    }
    for (Eigen::Index j = j0; j < std::min(k, j0 + Eigen::Index(kGroup)); ++j) {
      lambda(j) = 0.5 * (a[std::size_t(j - j0)] + b[std::size_t(j - j0)]);
    }
  }
  Dpss<S> out;
  MatrixX<S> v(n, k);  // a taper per column
  // inverse iteration from a start with a part along every eigenvector, kept orthogonal to the
  // tapers before it (three solves: two left 1e-10 errors in some tapers of order >= 10)
  VectorX<S> start(n), y(n), diag(n), up(n), up2(n);
  for (Eigen::Index t = 0; t < n; ++t) start(t) = 1.0 + 0.5 * std::sin(0.7 * double(t) + 0.3);
  for (Eigen::Index j = 0; j < k; ++j) {
    y = start;
    for (int it = 0; it < 3; ++it) {
      detail::shifted_tridiagonal_solve<S>(d, e, lambda(j), tiny * scale, y, diag, up, up2);
      for (Eigen::Index i = 0; i < j; ++i) y -= v.col(i).dot(y) * v.col(i);
      y /= y.norm();
    }
    // the sign convention: a positive sum for the even orders, a positive first lobe for the odd
    bool flip = false;
    if (j % 2 == 0) {
      flip = y.sum() < 0;
    } else {
      const double threshold = std::max(1e-7, 1.0 / double(n));
      for (Eigen::Index t = 0; t < n; ++t) {
        if (y(t) * y(t) > threshold) {
          flip = y(t) < 0;
          break;
        }
      }
    }
    v.col(j) = flip ? VectorX<S>(-y) : y;
  }
  const MatrixX<S> r = detail::autocorrelations<S>(v);
  VectorX<S> a(n);
  a(0) = 2 * w;
  for (Eigen::Index j = 1; j < n; ++j) {
    a(j) = 2 * std::sin(2 * std::numbers::pi * w * double(j)) / (std::numbers::pi * double(j));
  }
  out.ratios = r * a;
  out.tapers = v.topRows(m).transpose();
  return out;
}

namespace detail {

// The taper count asked for: `tapers`, or floor(2 NW) for -1.
inline Eigen::Index taper_count(Eigen::Index tapers, double nw) {
  return tapers < 0 ? Eigen::Index(std::floor(2 * nw)) : tapers;
}

// The orders of the tapers kept: all, or with `low_bias` those concentrated above 0.9.
inline std::vector<Eigen::Index> concentrated(const VectorX<double>& ratios, bool low_bias) {
  std::vector<Eigen::Index> kept;
  for (Eigen::Index k = 0; k < ratios.size(); ++k) {
    if (!low_bias || ratios(k) > 0.9) kept.push_back(k);
  }
  return kept;
}

// Row r of x into `row` as doubles, its mean removed.
template <AnalysisScalar S>
void demeaned_row(const AnalysisRef<S>& x, Eigen::Index r, Eigen::VectorXd& row) {
  row = x.row(r).transpose().template cast<double>();
  row.array() -= row.mean();
}

// The nfft-point transforms X_i of each column v_i of v times the row (N samples), two columns
// per complex transform, W complex transforms at once on the lanes of z (nfft points, by plan):
// put(f, i, X_i[f]) for f = 0 ... nfft / 2.
template <class Put>
void tapered_transforms(const Eigen::MatrixXd& v, const Eigen::VectorXd& row, LaneFFT& plan,
                        std::vector<ComplexLanes>& z, Put&& put) {
  constexpr auto lanes = Eigen::Index(ComplexLanes::size);
  using batch = ComplexLanes::batch;
  const Eigen::Index n = v.rows(), count = v.cols(), nfft = Eigen::Index(z.size());
  alignas(64) std::array<double, 4 * ComplexLanes::size> parts{};
  double* re = parts.data();
  double* im = re + lanes;
  for (Eigen::Index i0 = 0; i0 < count; i0 += 2 * lanes) {
    // lane l: columns i0 + 2 l and i0 + 2 l + 1 (the second 0 past the last column)
    const Eigen::Index used = std::min(lanes, (count - i0 + 1) / 2);
    for (Eigen::Index t = 0; t < n; ++t) {
      for (Eigen::Index l = 0; l < used; ++l) {
        const Eigen::Index i = i0 + 2 * l;
        re[l] = v(t, i) * row(t);
        im[l] = i + 1 < count ? v(t, i + 1) * row(t) : 0.0;
      }
      z[std::size_t(t)] = {batch::load_aligned(re), batch::load_aligned(im)};
    }
    std::fill(z.begin() + n, z.end(), fft_zero<ComplexLanes>());
    plan.forward(z.data(), z.data());
    double* are = parts.data();
    double* aim = are + lanes;
    double* bre = aim + lanes;
    double* bim = bre + lanes;
    for (Eigen::Index f = 0; f <= nfft / 2; ++f) {
      const auto [a, b] = real_pair_bins(z.data(), nfft, f);
      a.re.store_aligned(are);
      a.im.store_aligned(aim);
      b.re.store_aligned(bre);
      b.im.store_aligned(bim);
      for (Eigen::Index l = 0; l < used; ++l) {
        const Eigen::Index i = i0 + 2 * l;
        put(f, i, std::complex<double>(are[l], aim[l]));
        if (i + 1 < count) put(f, i + 1, std::complex<double>(bre[l], bim[l]));
      }
    }
  }
}

}  // namespace detail

/// `multitaper_psd`'s options: MNE's defaults, NW = 4 (a full bandwidth of 8 fs / N Hz),
/// floor(2 NW) tapers of which those concentrated below 0.9 are dropped, transforms of the
/// signal's length.
struct MultitaperOptions {
  double nw = 4.0;           ///< time-half-bandwidth product (MNE: bandwidth N / (2 fs))
  Eigen::Index tapers = -1;  ///< -1: floor(2 NW)
  bool low_bias = true;      ///< keep only tapers with ratio > 0.9
  Eigen::Index nfft = -1;    ///< transform length >= N (zero-padded); -1: N
  bool adaptive = false;     ///< Thomson's adaptive weights (with 3 tapers or more kept)
  int max_iterations = 150;  ///< of the adaptive weights (MNE's max_iter), >= 1
};

/// `multitaper_csd_matrices`' result: the frequencies kept and, at each, the cross spectral
/// matrix of the channels averaged over `epochs` epochs: p[j](a, b) = P_{x_a x_b}(f[j]), row a's
/// cross spectrum with row b (conj(X_a) X_b, `multitaper_csd`'s orientation), Hermitian with a
/// real diagonal, row a's estimate.
template <AnalysisScalar S = double>
struct CrossSpectralMatrices {
  VectorX<S> f;                ///< the bins k fs / nfft in the band asked for
  std::vector<MatrixXc<S>> p;  ///< one channels x channels matrix per frequency
  Eigen::Index epochs = 0;     ///< the epochs averaged
};

/// `multitaper_phase_sums`' result: at each frequency kept, sums over the epochs e of each
/// pair's cross spectrum S_e(a, b) in one epoch (`multitaper_csd`'s estimate, conj(X_a) X_b), the
/// statistics the phase-based connectivity measures of `phase_connectivity` are made of. Each is
/// one channels x channels matrix per frequency; `unit` is Hermitian, `sign` and `imag`
/// antisymmetric, `abs_imag` and `square_imag` symmetric.
template <AnalysisScalar S = double>
struct PhaseSums {
  VectorX<S> f;                         ///< the bins k fs / nfft in the band asked for
  std::vector<MatrixXc<S>> unit;        ///< sum_e S_e / |S_e| (a term 0 where S_e = 0)
  std::vector<MatrixX<S>> sign;         ///< sum_e sign(Im S_e)
  std::vector<MatrixX<S>> imag;         ///< sum_e Im S_e
  std::vector<MatrixX<S>> abs_imag;     ///< sum_e |Im S_e|
  std::vector<MatrixX<S>> square_imag;  ///< sum_e (Im S_e)^2
  Eigen::Index epochs = 0;              ///< the epochs summed
};

/// Thomson's multitaper estimate for rows of one length N (see the file comment), and with
/// `cross` and `coherence` the cross spectrum and coherence of pairs of rows, its tapers, their
/// selection and its transform made once at construction, so that a loop over epochs of one
/// length pays for them once. The constructor throws `dimension_error` for N < 2, a taper
/// count outside [1, N] or nfft < N, `numerical_error` for fs <= 0, NW outside (0, N / 2) or
/// max_iterations < 1; a call throws `dimension_error` for rows of another length and
/// `numerical_error` for a NaN or Inf sample, before `out` is touched. A call uses the object's
/// buffers: one object per thread.
template <AnalysisScalar S = double>
class MultitaperPsd {
 public:
  MultitaperPsd(Eigen::Index n, double fs, const MultitaperOptions& o = {})
      : n_(n), fs_(fs), nfft_(o.nfft < 0 ? n : o.nfft) {
    detail::check_sampling_rate("multitaper_psd", fs);
    if (nfft_ < n) {
      DENDRITE_THROW(dimension_error, "multitaper_psd: expected nfft >= the rows' length (", n,
                     "), got ", nfft_);
    }
    const Eigen::Index count = detail::taper_count(o.tapers, o.nw);
    all_ = dpss<S>(n, o.nw, std::max<Eigen::Index>(count, 1), false);
    if (count < 1) {
      DENDRITE_THROW(dimension_error, "multitaper_psd: expected at least one taper, got ", count,
                     o.tapers < 0 ? " (floor(2 NW))" : "");
    }
    // the tapers kept: concentrated above 0.9, or the most concentrated one
    kept_ = detail::concentrated(all_.ratios, o.low_bias);
    if (kept_.empty()) {
      Eigen::Index best = 0;
      all_.ratios.maxCoeff(&best);
      kept_.push_back(best);
    }
    double total = 0;
    for (const Eigen::Index k : kept_) total += all_.ratios(k);
    tapers_.resize(n, Eigen::Index(kept_.size()));
    weights_.resize(Eigen::Index(kept_.size()));
    lambda_.resize(Eigen::Index(kept_.size()));
    for (std::size_t i = 0; i < kept_.size(); ++i) {
      tapers_.col(Eigen::Index(i)) = all_.tapers.row(kept_[i]).transpose();
      lambda_(Eigen::Index(i)) = all_.ratios(kept_[i]);
      weights_(Eigen::Index(i)) = all_.ratios(kept_[i]) * 2.0 / (fs * total);
    }
    if (o.max_iterations < 1) {
      DENDRITE_THROW(numerical_error, "multitaper_psd: expected max_iterations >= 1, got ",
                     o.max_iterations);
    }
    adaptive_ = o.adaptive && kept_.size() >= 3;  // MNE: too few tapers to weigh adaptively
    max_iterations_ = o.max_iterations;
    // the fixed weights sqrt(lambda_k) at every bin (with adaptive weights, each row's instead)
    if (!adaptive_) wx_ = lambda_.cwiseSqrt().transpose().replicate(nfft_ / 2 + 1, 1);
    plan_.emplace(nfft_);
    z_.resize(std::size_t(nfft_));
    row_.resize(n);
  }

  /// The estimate of each row of x into `out` (its storage reused where the shapes match).
  void operator()(const AnalysisRef<S>& x, Spectrum<S>& out) {
    check("multitaper_psd", x);
    const Eigen::Index bins = nfft_ / 2 + 1;
    out.f = frequencies();
    out.p.resize(x.rows(), bins);
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
      tapered(x, r, xs_);
      if (adaptive_) {
        adapt();
        out.p.row(r) = estimate_.transpose() / fs_;
      } else {
        out.p.row(r).noalias() = (power_ * weights_).transpose();
      }
    }
  }

  /// The cross spectral density of each row of x with the same row of y into `out`:
  /// P_xy[f] = (2 / fs) sum_k a_k b_k conj(X_k[f]) Y_k[f] / sqrt(sum_k a_k^2 sum_k b_k^2), with
  /// the weights a of x's row and b of y's (sqrt(lambda_k), or each row's adaptive weights),
  /// X_k and Y_k their tapered transforms scaled by 1 / sqrt 2 at bin 0 and, for even nfft, at
  /// nfft / 2. MNE's `csd_array_multitaper` for one epoch, conjugated: SciPy's orientation, as
  /// `csd`'s. P_xx is x's `multitaper_psd`. Throws as a call for either signal, and
  /// `dimension_error` unless x and y have one shape.
  void cross(const AnalysisRef<S>& x, const AnalysisRef<S>& y, CrossSpectrum<S>& out) {
    check_pair(x, y);
    out.f = frequencies();
    out.p.resize(x.rows(), nfft_ / 2 + 1);
    pairs(x, y, [&](Eigen::Index r, Eigen::Index f, std::complex<double> xy, double, double,
                    double ax, double by) {
      out.p(r, f) = std::complex<S>(2.0 * xy / (std::sqrt(ax * by) * fs_));
    });
  }

  /// The magnitude-squared coherence of each row of x with the same row of y into `out`:
  /// |P_xy|^2 / (P_xx P_yy) of `cross`'s estimates, the same weights in all three (in [0, 1]; 1
  /// where y is a multiple of x; for independent noise about 1 / K with K tapers of equal
  /// weight, where it follows Beta(1, K - 1)). NaN where a row has no power at a bin.
  void coherence(const AnalysisRef<S>& x, const AnalysisRef<S>& y, Spectrum<S>& out) {
    check_pair(x, y);
    out.f = frequencies();
    out.p.resize(x.rows(), nfft_ / 2 + 1);
    pairs(x, y, [&](Eigen::Index r, Eigen::Index f, std::complex<double> xy, double xx, double yy,
                    double, double) { out.p(r, f) = S(std::norm(xy) / (xx * yy)); });
  }

  /// The cross spectral matrices of x's rows (one epoch, channels x N samples) at the bins in
  /// [fmin, fmax] Hz, added to `out`'s mean as one more epoch: P(f) = (2 / fs) V(f) V(f)^H with
  /// V_ck = conj(w_ck X_ck) / sqrt(sum_k w_ck^2), the tapered transforms X_ck of row c weighed by
  /// sqrt(lambda_k) or by row c's adaptive weights, scaled as `cross`'s; each entry is `cross`'s
  /// estimate for that pair of rows. MNE's `csd_array_multitaper` with its epochs given one at a
  /// time, conjugated (MNE keeps X_a conj(X_b)) and over a closed band (MNE's is open, and leaves
  /// bin 0 out at fmin = 0). An empty `out` (or `out.epochs = 0`) starts a new mean. Throws as a
  /// call, `numerical_error` unless fmin <= fmax, and `dimension_error` for a band holding no bin
  /// or, when `out` holds epochs, for x with another row count or a band with other bins; `out`
  /// is untouched then.
  void cross_matrices(const AnalysisRef<S>& x, CrossSpectralMatrices<S>& out, double fmin = 0,
                      double fmax = std::numeric_limits<double>::infinity()) {
    add_epochs(
        1, [&](Eigen::Index) -> const AnalysisRef<S>& { return x; }, out, fmin, fmax);
  }

  /// `cross_matrices` for several epochs (each channels x N samples, one row count), added to
  /// `out`'s mean together: the same mean as one call per epoch, its matrices read and written
  /// once per call rather than once per epoch (in groups of epochs whose weighed transforms take
  /// up to 16 MB). Throws as `cross_matrices` for any epoch, before `out` is touched.
  void cross_matrices(const std::vector<MatrixX<S>>& epochs, CrossSpectralMatrices<S>& out,
                      double fmin = 0, double fmax = std::numeric_limits<double>::infinity()) {
    add_epochs(
        Eigen::Index(epochs.size()),
        [&](Eigen::Index e) -> const MatrixX<S>& { return epochs[std::size_t(e)]; }, out, fmin,
        fmax);
  }

  /// The cross spectrum S(a, b) of every pair of x's rows (one epoch, channels x N samples) at
  /// the bins in [fmin, fmax] Hz, `cross_matrices`' P for this epoch alone, added to `out`'s sums
  /// (see `PhaseSums`) as one more epoch. The statistics mne-connectivity's
  /// `spectral_connectivity_epochs(mode='multitaper')` accumulates for its phase measures. An
  /// empty `out` (or `out.epochs = 0`) starts new sums. Throws as `cross_matrices` (the messages
  /// name `multitaper_phase_sums`); `out` is untouched then.
  void phase_sums(const AnalysisRef<S>& x, PhaseSums<S>& out, double fmin = 0,
                  double fmax = std::numeric_limits<double>::infinity()) {
    add_phases(
        1, [&](Eigen::Index) -> const AnalysisRef<S>& { return x; }, out, fmin, fmax);
  }

  /// `phase_sums` for several epochs (each channels x N samples, one row count): the same sums
  /// as one call per epoch. Throws as `phase_sums` for any epoch, before `out` is touched.
  void phase_sums(const std::vector<MatrixX<S>>& epochs, PhaseSums<S>& out, double fmin = 0,
                  double fmax = std::numeric_limits<double>::infinity()) {
    add_phases(
        Eigen::Index(epochs.size()),
        [&](Eigen::Index e) -> const MatrixX<S>& { return epochs[std::size_t(e)]; }, out, fmin,
        fmax);
  }

  /// The estimate into a new result.
  [[nodiscard]] Spectrum<S> operator()(const AnalysisRef<S>& x) {
    Spectrum<S> out;
    (*this)(x, out);
    return out;
  }

  /// Every taper made, kept or not, with its concentration ratio.
  [[nodiscard]] const Dpss<S>& tapers() const noexcept { return all_; }
  /// The orders of the tapers the estimate uses.
  [[nodiscard]] const std::vector<Eigen::Index>& kept() const noexcept { return kept_; }
  /// Whether the estimate weighs the tapers adaptively (asked for, and 3 tapers or more kept).
  [[nodiscard]] bool adaptive() const noexcept { return adaptive_; }

 private:
  void check(const char* name, const AnalysisRef<S>& x) const {
    if (x.cols() != n_) {
      DENDRITE_THROW(dimension_error, name, ": expected rows of ", n_, " samples, got ", x.cols());
    }
    detail::check_finite<S>(name, x);
  }

  void check_pair(const AnalysisRef<S>& x, const AnalysisRef<S>& y) const {
    detail::check_pair<S>("multitaper_csd", x, y);
    check("multitaper_csd", x);
  }

  [[nodiscard]] VectorX<S> frequencies() const {
    const Eigen::Index bins = nfft_ / 2 + 1;
    return VectorX<S>::LinSpaced(bins, 0, double(bins - 1)) * (fs_ / double(nfft_));
  }

  // The tapered transforms X_i of row r of x, demeaned, into spectra (bins x kept), scaled by
  // 1 / sqrt 2 at bin 0 and, for even nfft, at nfft / 2 (their powers halved there, as MNE's);
  // |X_i|^2 into power_ (with `power`: the estimate and the adaptive weights use it). Tapers i
  // and i + 1 share one complex transform.
  void tapered(const AnalysisRef<S>& x, Eigen::Index r, Eigen::MatrixXcd& spectra,
               bool power = true) {
    const Eigen::Index bins = nfft_ / 2 + 1, count = tapers_.cols();
    spectra.resize(bins, count);
    detail::demeaned_row<S>(x, r, row_);
    detail::tapered_transforms(tapers_, row_, *plan_, z_,
                               [&](Eigen::Index f, Eigen::Index i, std::complex<double> value) {
                                 spectra(f, i) = value;
                               });
    spectra.row(0) *= std::sqrt(0.5);
    if (nfft_ % 2 == 0) spectra.row(bins - 1) *= std::sqrt(0.5);
    if (power) power_ = spectra.cwiseAbs2();
  }

  // For each row r and bin f: visit(r, f, sum_k a_k b_k conj(X_k) Y_k, sum_k a_k^2 |X_k|^2,
  // sum_k b_k^2 |Y_k|^2, sum_k a_k^2, sum_k b_k^2) with the weights a of x's row and b of y's.
  template <class Visit>
  void pairs(const AnalysisRef<S>& x, const AnalysisRef<S>& y, Visit&& visit) {
    const Eigen::Index bins = nfft_ / 2 + 1, count = tapers_.cols();
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
      tapered(x, r, xs_, adaptive_);
      if (adaptive_) {
        adapt();
        wx_ = d_;
      }
      tapered(y, r, ys_, adaptive_);
      if (adaptive_) adapt();
      const Eigen::MatrixXd& wy = adaptive_ ? d_ : wx_;
      for (Eigen::Index f = 0; f < bins; ++f) {
        std::complex<double> xy = 0;
        double xx = 0, yy = 0, ax = 0, by = 0;
        for (Eigen::Index k = 0; k < count; ++k) {
          const double a = wx_(f, k), b = wy(f, k);
          xy += a * b * std::conj(xs_(f, k)) * ys_(f, k);
          xx += a * a * std::norm(xs_(f, k));
          yy += b * b * std::norm(ys_(f, k));
          ax += a * a;
          by += b * b;
        }
        visit(r, f, xy, xx, yy, ax, by);
      }
    }
  }

  // The band's bins first ... first + size - 1 and the epochs' row count.
  struct Band {
    Eigen::Index first, size, channels;
  };

  // Epochs epoch(0) ... epoch(count - 1) checked (for `name`'s messages), and the bins of the
  // band [fmin, fmax], checked against a result holding `held` epochs over the bins f of
  // `channels` rows, in `matrices` matrices (one per bin of f unless the result was altered).
  template <class Epoch>
  Band checked_band(const char* name, Eigen::Index count, Epoch& epoch, double fmin, double fmax,
                    Eigen::Index held, const VectorX<S>& f, Eigen::Index channels,
                    std::size_t matrices) const {
    if (count == 0) {
      DENDRITE_THROW(dimension_error, name, ": expected at least one epoch, got 0");
    }
    Band band{0, 0, epoch(0).rows()};
    for (Eigen::Index e = 0; e < count; ++e) {
      check(name, epoch(e));
      if (epoch(e).rows() != band.channels) {
        DENDRITE_THROW(dimension_error, name, ": expected epochs of one row count (",
                       band.channels, "), got ", epoch(e).rows(), " in epoch ", e);
      }
    }
    if (!(fmin <= fmax)) {
      DENDRITE_THROW(numerical_error, name, ": expected fmin <= fmax, got ", fmin, " and ", fmax);
    }
    const VectorX<S> all = frequencies();
    while (band.first < all.size() && all(band.first) < fmin) ++band.first;
    while (band.first + band.size < all.size() && all(band.first + band.size) <= fmax) {
      ++band.size;
    }
    if (band.size == 0) {
      DENDRITE_THROW(dimension_error, name, ": expected a band holding a bin (a multiple of fs / ",
                     "nfft = ", fs_ / double(nfft_), " Hz up to ", fs_ / 2, "), got [", fmin, ", ",
                     fmax, "] Hz");
    }
    if (held > 0 && Eigen::Index(matrices) != f.size()) {
      DENDRITE_THROW(dimension_error, name, ": expected a result with one matrix per bin, got ",
                     matrices, " for ", f.size(), " bins (set its epochs to 0 to start anew)");
    }
    if (held > 0 && (f.size() != band.size || f(0) != all(band.first) ||
                     channels != band.channels)) {
      DENDRITE_THROW(dimension_error, name, ": expected an epoch of ", channels, " rows over ",
                     f.size(), " bins from ", f(0), " Hz, as those held, got ", band.channels,
                     " rows over ", band.size, " bins from ", all(band.first), " Hz");
    }
    return band;
  }

  // Epochs epoch(0) ... epoch(count - 1), checked, in groups of up to 16 MB of weighed
  // transforms: per group, v_ holds V(f) (see `cross_matrices`) for every bin of the band and
  // every epoch of the group, bin j in columns j G K ... (j + 1) G K - 1 and epoch e's K tapers
  // from j G K + e K; visit(j, G) for each bin j of the band.
  template <class Epoch, class Visit>
  void weighed_groups(Eigen::Index count, Epoch& epoch, const Band& band, Visit&& visit) {
    const Eigen::Index tapers = tapers_.cols();
    const Eigen::Index per =
        band.channels * band.size * tapers * Eigen::Index(sizeof(std::complex<double>));
    const Eigen::Index group = std::max<Eigen::Index>(1, (Eigen::Index(1) << 24) / per);
    for (Eigen::Index begin = 0; begin < count; begin += group) {
      const Eigen::Index size = std::min(group, count - begin), width = size * tapers;
      v_.resize(band.channels, band.size * width);
      for (Eigen::Index e = 0; e < size; ++e) {
        for (Eigen::Index c = 0; c < band.channels; ++c) {
          tapered(epoch(begin + e), c, xs_, adaptive_);
          if (adaptive_) {
            adapt();
            wx_ = d_;
          }
          for (Eigen::Index j = 0; j < band.size; ++j) {
            const Eigen::Index f = band.first + j;
            const double norm = wx_.row(f).norm();
            for (Eigen::Index k = 0; k < tapers; ++k) {
              v_(c, j * width + e * tapers + k) = std::conj(xs_(f, k)) * (wx_(f, k) / norm);
            }
          }
        }
      }
      for (Eigen::Index j = 0; j < band.size; ++j) visit(j, size);
    }
  }

  // Epochs epoch(0) ... epoch(count - 1) added to out's mean (see `cross_matrices`), every
  // epoch checked first. Per bin of a group of epochs, the lower triangle of (2 / fs) V V^H goes
  // to epoch_, and the mean is mixed with it in one pass.
  template <class Epoch>
  void add_epochs(Eigen::Index count, Epoch&& epoch, CrossSpectralMatrices<S>& out, double fmin,
                  double fmax) {
    const bool fresh = out.epochs <= 0 || out.p.empty();
    const Band band =
        checked_band("multitaper_csd_matrices", count, epoch, fmin, fmax, fresh ? 0 : out.epochs,
                     out.f, fresh ? 0 : out.p.front().rows(), out.p.size());
    if (fresh) {
      out.f = frequencies().segment(band.first, band.size);
      out.p.assign(std::size_t(band.size), MatrixXc<S>(band.channels, band.channels));
      out.epochs = 0;
    }
    const Eigen::Index tapers = tapers_.cols();
    weighed_groups(count, epoch, band, [&](Eigen::Index j, Eigen::Index size) {
      const double total = double(out.epochs + size), keep = double(out.epochs) / total;
      epoch_.setZero(band.channels, band.channels);
      epoch_.template selfadjointView<Eigen::Lower>().rankUpdate(
          v_.middleCols(j * size * tapers, size * tapers), 2.0 / (fs_ * total));
      full_ = epoch_.template selfadjointView<Eigen::Lower>();
      full_.diagonal().imag().setZero();
      MatrixXc<S>& mean = out.p[std::size_t(j)];
      if (out.epochs == 0) {
        mean = full_;
      } else {
        mean = keep * mean + full_;
      }
      if (j + 1 == band.size) out.epochs += size;
    });
  }

  // Epochs epoch(0) ... epoch(count - 1) added to out's sums (see `phase_sums`), every epoch
  // checked first. Per bin and epoch, the lower triangle of S = (2 / fs) V V^H goes to epoch_
  // and is added to the sums' lower triangles; the upper ones are mirrored at the end.
  template <class Epoch>
  void add_phases(Eigen::Index count, Epoch&& epoch, PhaseSums<S>& out, double fmin,
                  double fmax) {
    const bool fresh = out.epochs <= 0 || out.unit.empty();
    // sums whose five vectors differ in length were altered: none matches the band then
    const std::size_t bins = out.unit.size();
    const bool whole = out.sign.size() == bins && out.imag.size() == bins &&
                       out.abs_imag.size() == bins && out.square_imag.size() == bins;
    const Band band =
        checked_band("multitaper_phase_sums", count, epoch, fmin, fmax, fresh ? 0 : out.epochs,
                     out.f, fresh ? 0 : out.unit.front().rows(), whole ? bins : 0);
    const Eigen::Index channels = band.channels, tapers = tapers_.cols();
    if (fresh) {
      out.f = frequencies().segment(band.first, band.size);
      out.unit.assign(std::size_t(band.size), MatrixXc<S>::Zero(channels, channels));
      out.sign.assign(std::size_t(band.size), MatrixX<S>::Zero(channels, channels));
      out.imag = out.sign;
      out.abs_imag = out.sign;
      out.square_imag = out.sign;
      out.epochs = 0;
    }
    weighed_groups(count, epoch, band, [&](Eigen::Index j, Eigen::Index size) {
      const std::size_t at = std::size_t(j);
      MatrixXc<S>& unit = out.unit[at];
      MatrixX<S>& sign = out.sign[at];
      MatrixX<S>& imag = out.imag[at];
      MatrixX<S>& abs_imag = out.abs_imag[at];
      MatrixX<S>& square_imag = out.square_imag[at];
      for (Eigen::Index e = 0; e < size; ++e) {
        epoch_.setZero(channels, channels);
        epoch_.template selfadjointView<Eigen::Lower>().rankUpdate(
            v_.middleCols((j * size + e) * tapers, tapers), 2.0 / fs_);
        for (Eigen::Index b = 0; b < channels; ++b) {
          for (Eigen::Index a = b; a < channels; ++a) {
            const double re = epoch_(a, b).real(), im = a == b ? 0.0 : epoch_(a, b).imag();
            // |S| by a square root (std::abs's hypot took half the time), by hypot where the
            // square under- or overflows
            const double square = re * re + im * im;
            const double magnitude =
                square >= std::numeric_limits<double>::min() &&
                        square <= std::numeric_limits<double>::max()
                    ? std::sqrt(square)
                    : std::hypot(re, im);
            if (magnitude > 0) unit(a, b) += std::complex<S>(re / magnitude, im / magnitude);
            sign(a, b) += S((im > 0) - (im < 0));
            imag(a, b) += S(im);
            abs_imag(a, b) += S(std::abs(im));
            square_imag(a, b) += S(im * im);
          }
        }
      }
      // the upper triangles: S_ba = conj(S_ab)
      for (Eigen::Index b = 0; b < channels; ++b) {
        for (Eigen::Index a = b + 1; a < channels; ++a) {
          unit(b, a) = std::conj(unit(a, b));
          sign(b, a) = -sign(a, b);
          imag(b, a) = -imag(a, b);
          abs_imag(b, a) = abs_imag(a, b);
          square_imag(b, a) = square_imag(a, b);
        }
      }
      if (j + 1 == band.size) out.epochs += size;
    });
  }

  // Thomson's adaptive weights d_ as MNE iterates them, from power_: the variance
  // sigma^2 = trapz(S, dx = pi / bins) / (2 pi) of the eigenvalue-weighted estimate S (per
  // sample, before the division by fs); from S the estimate of the first two tapers,
  // d_k = sqrt(lambda_k) S / (lambda_k S + (1 - lambda_k) sigma^2) and S = 2 sum_k d_k^2 P_k /
  // sum_k d_k^2, until the weights move by less than 1e-10 in mean square at every bin; the
  // last S (per sample) in estimate_.
  void adapt() {
    const Eigen::Index bins = power_.rows(), count = power_.cols();
    estimate_.noalias() = power_ * weights_ * fs_;  // the per-sample estimate
    const double variance = (estimate_.sum() - 0.5 * (estimate_(0) + estimate_(bins - 1))) *
                            (std::numbers::pi / double(bins)) / (2 * std::numbers::pi);
    estimate_ = 2.0 * (lambda_(0) * power_.col(0) + lambda_(1) * power_.col(1)) /
                (lambda_(0) + lambda_(1));
    d_.setZero(bins, count);
    for (int it = 0; it < max_iterations_; ++it) {
      double worst = 0;
      for (Eigen::Index f = 0; f < bins; ++f) {
        double moved = 0;
        for (Eigen::Index k = 0; k < count; ++k) {
          const double lk = lambda_(k);
          const double dk = std::sqrt(lk) * estimate_(f) /
                            (lk * estimate_(f) + (1 - lk) * variance);
          moved += (d_(f, k) - dk) * (d_(f, k) - dk);
          d_(f, k) = dk;
        }
        worst = std::max(worst, moved / double(count));
      }
      if (worst < 1e-10) break;
      for (Eigen::Index f = 0; f < bins; ++f) {
        const auto d2 = d_.row(f).array().square();
        estimate_(f) = 2.0 * (d2 * power_.row(f).array()).sum() / d2.sum();
      }
    }
  }

  Eigen::Index n_;
  double fs_;
  Eigen::Index nfft_;
  Dpss<S> all_;
  std::vector<Eigen::Index> kept_;
  MatrixX<S> tapers_;   // n x kept, a taper per column
  VectorX<S> weights_;  // 2 lambda_k / (fs sum lambda)
  VectorX<S> lambda_;   // the kept tapers' ratios
  bool adaptive_;
  int max_iterations_;
  MatrixX<S> power_;    // bins x kept
  MatrixX<S> d_;        // the adaptive weights, bins x kept
  Eigen::MatrixXcd xs_, ys_;  // tapered transforms, bins x kept
  Eigen::MatrixXd wx_;        // x's weights, bins x kept: sqrt(lambda), or the row's adaptive
  Eigen::MatrixXcd v_;        // cross_matrices' weighed transforms, channels x (bins x kept)
  Eigen::MatrixXcd epoch_;    // one bin's matrix of a group of epochs (its lower triangle)
  Eigen::MatrixXcd full_;     // the same, whole
  VectorX<S> estimate_;
  std::optional<detail::LaneFFT> plan_;
  std::vector<detail::ComplexLanes> z_;  // W transforms' values
  VectorX<S> row_;
};

/// The multitaper power spectral density of each row of x (channels x samples), sampled at fs
/// Hz (see the file comment): `MultitaperPsd(x.cols(), fs, o)(x)`, its errors first those of the
/// constructor, then those of a call.
template <AnalysisScalar S = double>
[[nodiscard]] Spectrum<S> multitaper_psd(const AnalysisRef<S>& x, double fs,
                                         const MultitaperOptions& o = {}) {
  MultitaperPsd<S> estimate(x.cols(), fs, o);
  return estimate(x);
}

/// The multitaper cross spectral density of each row of x with the same row of y (see
/// `MultitaperPsd::cross`): MNE's `csd_array_multitaper` for one epoch, conjugated to SciPy's
/// orientation (conj(X) Y, as `csd`). Throws as `multitaper_psd`, and `dimension_error` unless
/// x and y have one shape.
template <AnalysisScalar S = double>
[[nodiscard]] CrossSpectrum<S> multitaper_csd(const AnalysisRef<S>& x, const AnalysisRef<S>& y,
                                              double fs, const MultitaperOptions& o = {}) {
  MultitaperPsd<S> estimate(x.cols(), fs, o);
  CrossSpectrum<S> out;
  estimate.cross(x, y, out);
  return out;
}

/// The multitaper magnitude-squared coherence of each row of x with the same row of y (see
/// `MultitaperPsd::coherence`). Throws as `multitaper_csd`.
template <AnalysisScalar S = double>
[[nodiscard]] Spectrum<S> multitaper_coherence(const AnalysisRef<S>& x, const AnalysisRef<S>& y,
                                               double fs, const MultitaperOptions& o = {}) {
  MultitaperPsd<S> estimate(x.cols(), fs, o);
  Spectrum<S> out;
  estimate.coherence(x, y, out);
  return out;
}

/// The multitaper cross spectral matrices of the rows of each epoch (channels x N samples, one
/// N and one row count for all) at the bins in [fmin, fmax] Hz, averaged over the epochs (see
/// `MultitaperPsd::cross_matrices`): MNE's `csd_array_multitaper(epochs, fs, fmin, fmax)`,
/// conjugated and over a closed band. Throws as `MultitaperPsd::cross_matrices`, and
/// `dimension_error` for no epoch.
template <AnalysisScalar S = double>
[[nodiscard]] CrossSpectralMatrices<S> multitaper_csd_matrices(
    const std::vector<MatrixX<S>>& epochs, double fs, const MultitaperOptions& o = {},
    double fmin = 0, double fmax = std::numeric_limits<double>::infinity()) {
  if (epochs.empty()) {
    DENDRITE_THROW(dimension_error, "multitaper_csd_matrices: expected at least one epoch, got 0");
  }
  MultitaperPsd<S> estimate(epochs.front().cols(), fs, o);
  CrossSpectralMatrices<S> out;
  estimate.cross_matrices(epochs, out, fmin, fmax);
  return out;
}

/// The magnitude-squared coherence of every pair of channels from their cross spectral
/// matrices: C[j](a, b) = |P_ab|^2 / (P_aa P_bb) at f[j] (1 on the diagonal; NaN where a channel
/// has no power). mne-connectivity's 'coh' is its square root, |P_ab| / sqrt(P_aa P_bb).
template <AnalysisScalar S = double>
[[nodiscard]] std::vector<MatrixX<S>> coherence_matrices(const CrossSpectralMatrices<S>& c) {
  std::vector<MatrixX<S>> out;
  out.reserve(c.p.size());
  for (const MatrixXc<S>& p : c.p) {
    const VectorX<S> power = p.diagonal().real();
    out.push_back(p.cwiseAbs2().array() / (power * power.transpose()).array());
  }
  return out;
}

/// The imaginary part of every pair's coherency from their cross spectral matrices:
/// I[j](a, b) = Im P_ab / sqrt(P_aa P_bb) at f[j] (Nolte et al., Clin. Neurophysiol. 2004), in
/// [-1, 1], antisymmetric, 0 on the diagonal. It is 0 in expectation for any instantaneous
/// (zero-lag) mixture of sources, as volume conduction makes; with P's orientation
/// (conj(X_a) X_b) it is negative where b lags a by less than half a period. Nolte's (and
/// mne-connectivity's 'imcoh', from X_a conj(X_b)) is its transpose. NaN where a channel has no
/// power.
template <AnalysisScalar S = double>
[[nodiscard]] std::vector<MatrixX<S>> imaginary_coherence_matrices(
    const CrossSpectralMatrices<S>& c) {
  std::vector<MatrixX<S>> out;
  out.reserve(c.p.size());
  for (const MatrixXc<S>& p : c.p) {
    const VectorX<S> power = p.diagonal().real();
    out.push_back(p.imag().array() / (power * power.transpose()).array().sqrt());
  }
  return out;
}

/// The multitaper cross spectrum of every pair of rows in each epoch (channels x N samples, one
/// N and one row count for all) at the bins in [fmin, fmax] Hz, summed over the epochs as
/// `PhaseSums` (see `MultitaperPsd::phase_sums`), for `phase_connectivity`. Throws as
/// `MultitaperPsd::phase_sums`, and `dimension_error` for no epoch.
template <AnalysisScalar S = double>
[[nodiscard]] PhaseSums<S> multitaper_phase_sums(
    const std::vector<MatrixX<S>>& epochs, double fs, const MultitaperOptions& o = {},
    double fmin = 0, double fmax = std::numeric_limits<double>::infinity()) {
  if (epochs.empty()) {
    DENDRITE_THROW(dimension_error, "multitaper_phase_sums: expected at least one epoch, got 0");
  }
  MultitaperPsd<S> estimate(epochs.front().cols(), fs, o);
  PhaseSums<S> out;
  estimate.phase_sums(epochs, out, fmin, fmax);
  return out;
}

/// The phase-based connectivity measures of mne-connectivity's `spectral_connectivity_epochs`,
/// from the per-epoch cross spectra S_e of n epochs (`PhaseSums`). They ignore the amplitudes
/// (PLV, PPC, PLI) or weigh by |Im S_e| (wPLI), and those built on Im S_e are blind to
/// zero-lag coupling, hence to volume conduction.
enum class PhaseMeasure {
  plv,             ///< |sum_e S_e / |S_e|| / n (Lachaux et al. 1999): 1 for a fixed phase lag
  ciplv,           ///< |Im U| / sqrt(1 - (Re U)^2) with U = sum_e S_e / |S_e| / n (Bruna et
                   ///< al. 2018); 0 where |Re U| = 1
  ppc,             ///< (|sum_e S_e / |S_e||^2 - n) / (n (n - 1)) (Vinck et al. 2010): PLV^2
                   ///< without its bias 1 / n, the mean over pairs of epochs of cos(phase
                   ///< difference); n >= 2
  pli,             ///< |sum_e sign(Im S_e)| / n (Stam et al. 2007)
  pli2_unbiased,   ///< ((sum_e sign(Im S_e))^2 / n - 1) / (n - 1) (Vinck et al. 2011, eq. 30):
                   ///< PLI^2 without its bias; n >= 2
  dpli,            ///< 1/2 - sum_e sign(Im S_e) / (2 n) (Stam and van Straaten 2012): the
                   ///< fraction of epochs in which a leads b (ties counted half), as MNE's
  wpli,            ///< |sum_e Im S_e| / sum_e |Im S_e| (Vinck et al. 2011); 0 where the
                   ///< denominator is
  wpli2_debiased,  ///< ((sum Im S_e)^2 - sum (Im S_e)^2) / ((sum |Im S_e|)^2 - sum (Im S_e)^2)
                   ///< (Vinck et al. 2011): wPLI^2 over pairs of epochs; 0 where the
                   ///< denominator is; n >= 2
};

/// One phase-based measure (see `PhaseMeasure`) for every pair of channels: out[j](a, b) at
/// s.f[j]. All but `dpli` are symmetric and equal mne-connectivity's for either orientation;
/// the diagonal (a channel with itself, S_e real) holds what each formula gives there (PLV 1,
/// PLI 0). Throws `dimension_error` for sums over no epoch, and for `ppc`, `pli2_unbiased` or
/// `wpli2_debiased` over fewer than 2.
template <AnalysisScalar S = double>
[[nodiscard]] std::vector<MatrixX<S>> phase_connectivity(const PhaseSums<S>& s,
                                                         PhaseMeasure measure) {
  const bool pairs = measure == PhaseMeasure::ppc || measure == PhaseMeasure::pli2_unbiased ||
                     measure == PhaseMeasure::wpli2_debiased;
  if (s.epochs < (pairs ? 2 : 1) || s.unit.empty()) {
    DENDRITE_THROW(dimension_error, "phase_connectivity: expected sums over at least ",
                   pairs ? "2 epochs for ppc, pli2_unbiased and wpli2_debiased"
                         : "one epoch",
                   ", got ", s.unit.empty() ? Eigen::Index(0) : s.epochs);
  }
  const S n = S(s.epochs);
  // a / b, 0 where b is 0
  const auto ratio = [](const auto& a, const auto& b) {
    return (b.array() == S(0)).select(S(0), a.array() / b.array());
  };
  std::vector<MatrixX<S>> out;
  out.reserve(s.unit.size());
  for (std::size_t j = 0; j < s.unit.size(); ++j) {
    const MatrixXc<S>& unit = s.unit[j];
    switch (measure) {
      case PhaseMeasure::plv:
        out.push_back(unit.cwiseAbs() / n);
        break;
      case PhaseMeasure::ciplv: {
        const MatrixX<S> re = (unit.real() / n).cwiseMax(S(-1)).cwiseMin(S(1));
        const MatrixX<S> rest = (re.array().abs() == S(1)).select(S(1), 1 - re.array().square());
        out.push_back((re.array().abs() == S(1))
                          .select(S(0), (unit.imag() / n).array().abs() / rest.array().sqrt()));
        break;
      }
      case PhaseMeasure::ppc:
        out.push_back((unit.cwiseAbs2().array() - n) / (n * (n - 1)));
        break;
      case PhaseMeasure::pli:
        out.push_back(s.sign[j].cwiseAbs() / n);
        break;
      case PhaseMeasure::pli2_unbiased:
        out.push_back((s.sign[j].array().square() / n - 1) / (n - 1));
        break;
      case PhaseMeasure::dpli:
        out.push_back(S(0.5) - s.sign[j].array() / (2 * n));
        break;
      case PhaseMeasure::wpli:
        out.push_back(ratio(s.imag[j].cwiseAbs(), s.abs_imag[j]));
        break;
      case PhaseMeasure::wpli2_debiased:
        out.push_back(ratio(s.imag[j].array().square() - s.square_imag[j].array(),
                            s.abs_imag[j].array().square() - s.square_imag[j].array()));
        break;
    }
  }
  return out;
}

/// `harmonic_f_test`'s and `remove_lines`' tapers: NW = 4 and floor(2 NW) periodic tapers, all
/// kept (MNE's `notch_filter(method='spectrum_fit')` keeps them all).
struct HarmonicOptions {
  double nw = 4.0;           ///< time-half-bandwidth product
  Eigen::Index tapers = -1;  ///< -1: floor(2 NW); at least 2 must be kept
  bool low_bias = false;     ///< keep only tapers with ratio > 0.9
  Eigen::Index nfft = -1;    ///< >= N: the transform length; -p (p >= 1): p N, zero-padded
};

/// `harmonic_f_test`'s result: per row and frequency, Thomson's F statistic and the complex
/// amplitude of a line there.
template <AnalysisScalar S = double>
struct HarmonicFTest {
  VectorX<S> f;             ///< nfft / 2 + 1 frequencies k fs / nfft (Hz)
  MatrixX<S> statistic;     ///< channels x frequencies, F(2, 2K - 2) where no line is
  MatrixXc<S> amplitude;    ///< channels x frequencies: c of a line Re(c e^{2 pi i f t / fs})
  Eigen::Index tapers = 0;  ///< K, the tapers used
};

/// The probability that Thomson's statistic with K tapers exceeds F where no line is: the
/// survival function of F(2, 2K - 2), (1 + F / (K - 1))^-(K - 1), in closed form.
[[nodiscard]] inline double harmonic_f_p_value(double f, Eigen::Index k) {
  if (k < 2) DENDRITE_THROW(dimension_error, "harmonic_f_p_value: expected K >= 2, got ", k);
  if (!(f >= 0)) return 1.0;
  return std::pow(1.0 + f / double(k - 1), -double(k - 1));
}

/// The statistic that no-line rows exceed with probability p (0 < p <= 1), K tapers: the
/// inverse of `harmonic_f_p_value`, (K - 1) (p^(-1 / (K - 1)) - 1).
[[nodiscard]] inline double harmonic_f_threshold(double p, Eigen::Index k) {
  if (k < 2) DENDRITE_THROW(dimension_error, "harmonic_f_threshold: expected K >= 2, got ", k);
  if (!(p > 0 && p <= 1)) {
    DENDRITE_THROW(numerical_error, "harmonic_f_threshold: expected 0 < p <= 1, got ", p);
  }
  return double(k - 1) * (std::pow(p, -1.0 / double(k - 1)) - 1.0);
}

namespace detail {

// Thomson's F test for rows of N samples (see `harmonic_f_test`): the kept tapers v_k, their
// sums H_k (even orders; 0 for odd ones) and a transform of nfft points, made once.
class HarmonicFit {
 public:
  HarmonicFit(const char* name, Eigen::Index n, double fs, const HarmonicOptions& o) : n_(n) {
    check_sampling_rate(name, fs);
    nfft_ = o.nfft < 0 ? -o.nfft * n : o.nfft;
    if (n < 2 || o.nfft == 0 || nfft_ < n) {
      DENDRITE_THROW(dimension_error, name, ": expected rows of at least 2 samples and nfft >= ",
                     "their length or -p (p >= 1), got ", n, " samples and nfft ", o.nfft);
    }
    const Eigen::Index count = taper_count(o.tapers, o.nw);
    const Dpss<double> all = dpss<double>(n, o.nw, std::max<Eigen::Index>(count, 1), false);
    const std::vector<Eigen::Index> kept = concentrated(all.ratios.head(count), o.low_bias);
    const auto tapers = Eigen::Index(kept.size());
    if (tapers < 2) {
      DENDRITE_THROW(dimension_error, name, ": expected at least 2 tapers kept, got ", tapers,
                     " of ", count);
    }
    v_.resize(n, tapers);
    h_ = Eigen::VectorXd::Zero(tapers);
    for (Eigen::Index i = 0; i < tapers; ++i) {
      const Eigen::Index k = kept[std::size_t(i)];
      v_.col(i) = all.tapers.row(k).transpose();
      if (k % 2 == 0) h_(i) = v_.col(i).sum();
    }
    h2_ = h_.squaredNorm();
    plan_.emplace(nfft_);
    z_.resize(std::size_t(nfft_));
    y_.resize(tapers, nfft_ / 2 + 1);
    coefficients_.resize(tapers);
    cos_.resize(n);
    sin_.resize(n);
  }

  [[nodiscard]] Eigen::Index nfft() const noexcept { return nfft_; }
  [[nodiscard]] Eigen::Index tapers() const noexcept { return v_.cols(); }

  // F and mu from the K eigencoefficients y_k at one frequency (contiguous at y).
  [[nodiscard]] std::pair<double, std::complex<double>> test(
      const std::complex<double>* y) const noexcept {
    const Eigen::Index tapers = v_.cols();
    std::complex<double> projection = 0;
    for (Eigen::Index k = 0; k < tapers; ++k) projection += h_(k) * y[k];
    const std::complex<double> mu = projection / h2_;
    double residual = 0;
    for (Eigen::Index k = 0; k < tapers; ++k) residual += std::norm(y[k] - mu * h_(k));
    const double num = double(tapers - 1) * std::norm(mu) * h2_;
    return {residual > 0 ? num / residual : 0.0, mu};
  }

  // y(i, f) = DFT_nfft(v_i row)[f] for the demeaned row, two tapers per complex transform: the
  // eigencoefficients of bin f in column f.
  const Eigen::MatrixXcd& spectra(const Eigen::VectorXd& row) {
    tapered_transforms(v_, row, *plan_, z_,
                       [&](Eigen::Index f, Eigen::Index i, std::complex<double> value) {
                         y_(i, f) = value;
                       });
    return y_;
  }

  // The eigencoefficients of the demeaned row at nu cycles per sample, summed directly.
  const Eigen::VectorXcd& at(const Eigen::VectorXd& row, double nu) {
    phasors(-nu);
    cos_.array() *= row.array();
    sin_.array() *= row.array();
    coefficients_.real().noalias() = v_.transpose() * cos_;
    coefficients_.imag().noalias() = v_.transpose() * sin_;
    return coefficients_;
  }

  // cos_ and sin_ hold cos and sin of 2 pi nu t, t = 0 ... N - 1: a rotation by 2 pi nu per
  // sample, restarted from the exact phase every 256 samples.
  void phasors(double nu) {
    const std::complex<double> step = std::polar(1.0, 2 * std::numbers::pi * nu);
    std::complex<double> w = 1;
    for (Eigen::Index t = 0; t < n_; ++t) {
      if (t % 256 == 0) {
        const double cycles = nu * double(t);
        w = std::polar(1.0, 2 * std::numbers::pi * (cycles - std::round(cycles)));
      }
      cos_(t) = w.real();
      sin_(t) = w.imag();
      w *= step;
    }
  }
  [[nodiscard]] const Eigen::VectorXd& cosines() const noexcept { return cos_; }
  [[nodiscard]] const Eigen::VectorXd& sines() const noexcept { return sin_; }

 private:
  Eigen::Index n_, nfft_ = 0;
  Eigen::MatrixXd v_;  // n x K, a kept taper per column
  Eigen::VectorXd h_;
  double h2_ = 0;
  std::optional<detail::LaneFFT> plan_;
  std::vector<detail::ComplexLanes> z_;  // W transforms' values
  Eigen::MatrixXcd y_;  // K x bins
  Eigen::VectorXcd coefficients_;
  Eigen::VectorXd cos_, sin_;
};

}  // namespace detail

/// Thomson's harmonic F test (Proc. IEEE 1982, section XIII), as MNE 1.3 computes it for
/// `notch_filter(method='spectrum_fit')`, on each row of x (channels x samples) sampled at fs Hz.
/// With the row's mean removed and y_k[f] = DFT_nfft(v_k x)[f] for the tapers v_k of `dpss(N,
/// NW, K, sym=false)` (those kept, see `HarmonicOptions`), H_k = sum_t v_k[t] for even orders k
/// and 0 for odd ones (their sums vanish by symmetry; MNE puts their whole power in the
/// residual):
///
///   mu[f] = sum_k H_k y_k[f] / sum_k H_k^2,
///   F[f]  = (K - 1) |mu[f]|^2 sum_k H_k^2 / sum_k |y_k[f] - mu[f] H_k|^2,
///
/// 0 where the residual vanishes. Where the row is a line a cos(2 pi f0 t / fs + phi) (t from 0)
/// and noise, y_k[f0] = (a / 2) e^{i phi} H_k up to the taper's leakage from -f0, so
/// `amplitude` = 2 mu = a e^{i phi}; without a line, for Gaussian noise, F follows F(2, 2K - 2)
/// (`harmonic_f_p_value`). F peaks within a fraction of a bin of a line: zero-padding (nfft
/// = -4) samples it finely enough to find lines between the bins of N. Bins 0 and nfft / 2 hold
/// the same formula (MNE scales mu there by 1 / sqrt 2, F unchanged) but are no sinusoid's
/// amplitude. Throws `dimension_error` for N < 2, fewer than 2 tapers kept or nfft < N,
/// `numerical_error` for fs <= 0, NW outside (0, N / 2) or a NaN or Inf sample.
template <AnalysisScalar S = double>
[[nodiscard]] HarmonicFTest<S> harmonic_f_test(const AnalysisRef<S>& x, double fs,
                                               const HarmonicOptions& o = {}) {
  detail::HarmonicFit fit("harmonic_f_test", x.cols(), fs, o);
  detail::check_finite<S>("harmonic_f_test", x);
  const Eigen::Index nfft = fit.nfft(), bins = nfft / 2 + 1;
  HarmonicFTest<S> out;
  out.f = VectorX<S>::LinSpaced(bins, 0, double(bins - 1)) * (fs / double(nfft));
  out.statistic.resize(x.rows(), bins);
  out.amplitude.resize(x.rows(), bins);
  out.tapers = fit.tapers();
  Eigen::VectorXd row;
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    detail::demeaned_row<S>(x, r, row);
    const Eigen::MatrixXcd& y = fit.spectra(row);
    for (Eigen::Index f = 0; f < bins; ++f) {
      const auto [statistic, mu] = fit.test(&y(0, f));
      out.statistic(r, f) = S(statistic);
      out.amplitude(r, f) = std::complex<S>(2.0 * mu);
    }
  }
  return out;
}

/// A line `remove_lines` found and subtracted from samples start ... start + length - 1 of its
/// row: a(t) = Re(amplitude e^{2 pi i frequency (t - start) / fs}) there.
struct Line {
  double frequency;                ///< Hz
  std::complex<double> amplitude;  ///< a e^{i phi}, phi at the window's first sample
  double statistic;                ///< Thomson's F there
  Eigen::Index start = 0;          ///< the window's first sample
  Eigen::Index length = 0;         ///< the window's length
};

/// `remove_lines`' options: the test's tapers (transforms zero-padded 4 times), either a
/// significance level or the lines' frequencies, and the windows.
struct LineOptions {
  HarmonicOptions test{4.0, -1, false, -4};  ///< the tapers and the transform length
  double p_value = 0.05;            ///< per window: F over the threshold of p / nfft
  bool peaks_only = true;           ///< local maxima of F, their frequency refined (false: MNE's,
                                    ///< every bin over the threshold, a padded line's many times)
  std::vector<double> frequencies;  ///< if given: the lines at these frequencies' nearest bins
  Eigen::Index window = 0;          ///< samples per window (MNE's filter_length); 0: whole rows
};

/// `remove_lines`' result: the rows with their lines subtracted, and the lines per row.
template <AnalysisScalar S = double>
struct LineRemoval {
  MatrixX<S> y;                          ///< channels x samples
  std::vector<std::vector<Line>> lines;  ///< per row, by window, in increasing frequency
};

namespace detail {

// The lines of each row of x (one window, fit's length) found and fitted as `remove_lines`
// says, subtracted from the rows of y (x on entry) and added to lines[row], marked with start.
template <AnalysisScalar S>
void fit_lines(HarmonicFit& fit, const AnalysisRef<S>& x, double fs, const LineOptions& o,
               MatrixX<S>& y, std::vector<std::vector<Line>>& lines, Eigen::Index start) {
  const Eigen::Index n = x.cols(), nfft = fit.nfft(), bins = nfft / 2 + 1;
  const Eigen::Index last = nfft % 2 == 0 ? bins - 2 : bins - 1;  // below fs / 2
  const double threshold = harmonic_f_threshold(o.p_value / double(nfft), fit.tapers());
  std::vector<Eigen::Index> given;
  for (const double f : o.frequencies) {
    given.push_back(std::clamp<Eigen::Index>(std::lround(f * double(nfft) / fs), 1, last));
  }
  std::sort(given.begin(), given.end());
  given.erase(std::unique(given.begin(), given.end()), given.end());
  Eigen::VectorXd stat(bins), row;
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    demeaned_row<S>(x, r, row);
    const Eigen::MatrixXcd& coefficients = fit.spectra(row);
    const auto first = Eigen::Index(lines[std::size_t(r)].size());
    const auto add = [&](double nu, const std::complex<double>* at) {
      const auto [statistic, mu] = fit.test(at);
      lines[std::size_t(r)].push_back({nu * fs, 2.0 * mu, statistic, start, n});
    };
    for (const Eigen::Index f : given) add(double(f) / double(nfft), &coefficients(0, f));
    if (o.frequencies.empty()) {  // the test: F at every bin
      for (Eigen::Index f = 0; f < bins; ++f) stat(f) = fit.test(&coefficients(0, f)).first;
    }
    for (Eigen::Index f = 1; o.frequencies.empty() && f <= last; ++f) {
      if (!(stat(f) > threshold)) continue;
      if (!o.peaks_only) {
        add(double(f) / double(nfft), &coefficients(0, f));
        continue;
      }
      if ((f > 1 && stat(f) < stat(f - 1)) || (f < last && stat(f) <= stat(f + 1))) continue;
      // the maximum of |mu|^2 near the bin: three parabolas' vertices, through points h apart
      double nu = double(f) / double(nfft);
      for (const double h : {0.5 / double(nfft), 0.25 / double(nfft), 0.125 / double(nfft)}) {
        const auto power = [&](double at) {
          return std::norm(fit.test(fit.at(row, at).data()).second);
        };
        const double below = power(nu - h), middle = power(nu), above = power(nu + h);
        const double curvature = below - 2 * middle + above;
        if (curvature < 0) nu += h * std::clamp(0.5 * (below - above) / curvature, -1.0, 1.0);
      }
      add(nu, fit.at(row, nu).data());
    }
    for (auto line = lines[std::size_t(r)].begin() + first; line != lines[std::size_t(r)].end();
         ++line) {  // subtract Re(c e^{2 pi i nu t})
      fit.phasors(line->frequency / fs);
      const Eigen::VectorXd& c = fit.cosines();
      const Eigen::VectorXd& s = fit.sines();
      for (Eigen::Index t = 0; t < n; ++t) {
        y(r, t) -= S(line->amplitude.real() * c(t) - line->amplitude.imag() * s(t));
      }
    }
  }
}

// MNE's overlap-add weights for windows of w samples at a step of w - (w + 1) / 2 over n
// samples (its _COLA): a Hann window (periodic for even w, symmetric for odd), divided by the
// median of its summed shifts; the first window's leading part and the last's trailing part
// (which runs to the end) raised by the shifts that would have overlapped them, so that the
// weights sum to one at every sample. The first window's, the others', the last's (with one
// window, the last holds both raises).
inline std::array<Eigen::VectorXd, 3> overlap_add_weights(Eigen::Index w, Eigen::Index step,
                                                         Eigen::Index windows,
                                                         Eigen::Index last_length) {
  Eigen::VectorXd hann(w);
  const double period = w % 2 == 0 ? double(w) : double(w - 1);
  for (Eigen::Index t = 0; t < w; ++t) {
    hann(t) = 0.5 - 0.5 * std::cos(2 * std::numbers::pi * double(t) / period);
  }
  std::vector<double> sums(std::size_t(step), 0.0);
  for (Eigen::Index i = 0; i + step <= w; i += step) {
    for (Eigen::Index t = 0; t < step; ++t) sums[std::size_t(t)] += hann(i + t);
  }
  for (Eigen::Index t = 0; t < w % step; ++t) sums[std::size_t(t)] += hann(w - w % step + t);
  std::sort(sums.begin(), sums.end());
  const std::size_t mid = sums.size() / 2;
  hann /= sums.size() % 2 == 1 ? sums[mid] : 0.5 * (sums[mid - 1] + sums[mid]);
  std::array<Eigen::VectorXd, 3> out{hann, hann, Eigen::VectorXd::Zero(last_length)};
  for (Eigen::Index offset = 0; offset < last_length; offset += step) {
    const Eigen::Index used = std::min(w, last_length - offset);
    out[2].segment(offset, used) += hann.head(used);
  }
  Eigen::VectorXd& head = out[windows == 1 ? 2 : 0];
  for (Eigen::Index offset = w - step; offset > 0; offset -= step) {
    head.head(offset) += hann.tail(offset);
  }
  return out;
}

}  // namespace detail

/// Line noise removed by fitting sinusoids (Thomson 1982; Chronux's `rmlinesc`; MNE's
/// `notch_filter(method='spectrum_fit')`) on the rows of x (channels x samples), whole or in
/// overlapping windows. In each window, for each row, `harmonic_f_test` on a transform
/// zero-padded 4 times; the bins between 0 and fs / 2 (both excluded) where F exceeds
/// `harmonic_f_threshold(p / nfft, K)` and is a local maximum; each such line's frequency moved
/// to the nearby maximum of |mu|^2 (the vertices of three parabolas through |mu|^2 at points
/// 1/2, 1/4 and 1/8 of a bin apart, by direct sums: near the least-squares frequency for white
/// noise), and its amplitude c = 2 mu and F computed there; then each line's fit
/// Re(c e^{2 pi i f t / fs}) subtracted, all fitted on the window as given. Unlike a notch
/// filter it leaves the rest of the band as it was. Given `frequencies`, the lines are fitted at
/// their nearest bins, without a test or refinement.
///
/// With `window` = w < N, the windows start every w - (w + 1) / 2 samples (half overlap), the
/// last one running to the end, and the cleaned windows are added under MNE's weights (Hann,
/// summing to one at every sample; see `detail::overlap_add_weights`), so that a line whose
/// amplitude, frequency or phase wanders is followed window by window. With `test.nfft = N`
/// (-1) and `peaks_only = false` it is MNE 1.3's `notch_filter(x, fs, None,
/// method='spectrum_fit', filter_length=w, p_value=p)`, which misses lines more than a tenth of
/// a bin (fs / w) from a bin. Throws as `harmonic_f_test` (for each window's length), and
/// `numerical_error` for p outside (0, 1], a frequency outside (0, fs / 2) or a window of 1
/// sample or fewer than 0.
template <AnalysisScalar S = double>
[[nodiscard]] LineRemoval<S> remove_lines(const AnalysisRef<S>& x, double fs,
                                          const LineOptions& o = {}) {
  const char* name = "remove_lines";
  const Eigen::Index n = x.cols(), w = o.window == 0 ? n : std::min(o.window, n);
  if (o.window < 0 || o.window == 1) {
    DENDRITE_THROW(numerical_error, name, ": expected a window of 0 (whole rows) or at least 2 "
                   "samples, got ", o.window);
  }
  detail::HarmonicFit fit(name, w, fs, o.test);
  for (const double f : o.frequencies) {
    if (!(f > 0 && f < 0.5 * fs)) {
      DENDRITE_THROW(numerical_error, name, ": expected frequencies in (0, fs / 2 = ", 0.5 * fs,
                     "), got ", f);
    }
  }
  if (!(o.p_value > 0 && o.p_value <= 1)) {
    DENDRITE_THROW(numerical_error, name, ": expected 0 < p_value <= 1, got ", o.p_value);
  }
  detail::check_finite<S>(name, x);
  LineRemoval<S> out;
  out.lines.resize(std::size_t(x.rows()));
  if (w == n) {
    out.y = x;
    detail::fit_lines<S>(fit, x, fs, o, out.y, out.lines, 0);
    return out;
  }
  const Eigen::Index step = w - (w + 1) / 2, windows = (n - w) / step + 1;
  const Eigen::Index last_start = (windows - 1) * step, last_length = n - last_start;
  const std::array<Eigen::VectorXd, 3> weights =
      detail::overlap_add_weights(w, step, windows, last_length);
  std::optional<detail::HarmonicFit> last_fit;
  if (last_length != w) last_fit.emplace(name, last_length, fs, o.test);
  out.y = MatrixX<S>::Zero(x.rows(), n);
  MatrixX<S> chunk;
  for (Eigen::Index i = 0; i < windows; ++i) {
    const Eigen::Index start = i * step, length = i + 1 == windows ? last_length : w;
    chunk = x.middleCols(start, length);
    detail::fit_lines<S>(length == w ? fit : *last_fit, x.middleCols(start, length), fs, o, chunk,
                         out.lines, start);
    const Eigen::VectorXd& weight = weights[i + 1 == windows ? 2 : i == 0 ? 0 : 1];
    out.y.middleCols(start, length).array() +=
        chunk.array().rowwise() * weight.transpose().array().template cast<S>();
  }
  return out;
}

}  // namespace dendrite::dsp
