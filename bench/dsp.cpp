// SPDX-License-Identifier: MIT
// The DSP front end: SOSFilter over many channels beside a plain per-channel loop (each channel's
// sections in transposed direct form II, one channel after another: what one writes from
// SciPy's sosfilt), in the same binary. items_per_second counts channel-samples.
#include <array>
#include <numbers>
#include <random>
#include <span>
#include <vector>

#include <benchmark/benchmark.h>
#include <unsupported/Eigen/FFT>

#include <dendrite/dsp.hpp>

#include "support.hpp"

namespace {

namespace dsp = dendrite::dsp;

Eigen::MatrixXd design(int sections) {
  return sections == 1 ? dsp::iirnotch(50.0, 30.0, 30000.0)
                       : dsp::butter(sections / 2, {300.0, 6000.0}, dsp::BandType::BandPass, 30000.0);
}

template <int C, int S>
void BM_SOSFilter(benchmark::State& state) {
  dsp::SOSFilter<float, C> filt(design(S));
  const auto xs = dendrite::bench::normal_samples<float, std::size_t(C), 64>(3);
  std::array<float, C> y{};
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(filt.step(xs[i++ & 63], y));
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * C);
}

// Baseline: per channel, its own state array, all sections, then the next channel; in double,
// as SciPy's sosfilt computes (float input gives a float64 result there) and as SOSFilter does.
template <int C, int S>
void BM_SOSFilterPerChannelBaseline(benchmark::State& state) {
  const Eigen::MatrixXd sos = design(S);
  std::vector<double> coef;
  for (Eigen::Index s = 0; s < sos.rows(); ++s) {
    for (int k : {0, 1, 2, 4, 5}) coef.push_back(sos(s, k));
  }
  std::vector<double> z(static_cast<std::size_t>(C) * static_cast<std::size_t>(sos.rows()) * 2, 0.0);
  const auto xs = dendrite::bench::normal_samples<float, std::size_t(C), 64>(3);
  std::array<float, C> y{};
  std::size_t i = 0;
  const std::size_t ns = std::size_t(sos.rows());
  for (auto _ : state) {
    const auto& x = xs[i++ & 63];
    for (std::size_t ch = 0; ch < std::size_t(C); ++ch) {
      double v = x[ch];
      double* zc = &z[ch * ns * 2];
      for (std::size_t s = 0; s < ns; ++s) {
        const double* k = &coef[s * 5];
        const double out = k[0] * v + zc[2 * s];
        zc[2 * s] = k[1] * v - k[3] * out + zc[2 * s + 1];
        zc[2 * s + 1] = k[2] * v - k[4] * out;
        v = out;
      }
      y[ch] = float(v);
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * C);
}

// Decimation by 8 over 64 channels (30 kHz -> 3.75 kHz, 80 dB): the polyphase Decimator,
// which evaluates the FIR only at kept samples, beside the plain way (filter every sample with
// the same taps, then keep every 8th). Per input sample.
void run_decimator(benchmark::State& state, dsp::Decimator<float, 64, 8>& dec) {
  const auto xs = dendrite::bench::normal_samples<float, 64, 64>(4);
  std::array<float, 64> y{};
  std::size_t i = 0;
  bool produced = false;
  for (auto _ : state) {
    benchmark::DoNotOptimize(dec.step(xs[i++ & 63], y, produced));
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 64);
  state.counters["taps"] = double(dec.taps());
}

void BM_Decimator64x8(benchmark::State& state) {
  dsp::Decimator<float, 64, 8> dec;
  run_decimator(state, dec);
}

// The same decimation with remez_lowpass's taps for the same specification (passband 0.8 of
// the output's Nyquist frequency, 80 dB): fewer taps, beside the Kaiser window's above.
void BM_Decimator64x8Equiripple(benchmark::State& state) {
  dsp::Decimator<float, 64, 8> dec(dsp::remez_lowpass(0.8 * 0.5 / 8, 0.5 / 8, 80.0));
  run_decimator(state, dec);
}

void BM_FilterThenKeepBaseline64x8(benchmark::State& state) {
  const dsp::Decimator<float, 64, 8> spec;
  const std::size_t n = spec.taps();
  std::vector<float> h(n);
  for (std::size_t k = 0; k < n; ++k) h[k] = float(spec.design().taps(Eigen::Index(k)));
  std::vector<float> hist(2 * n * 64, 0.0f);  // the same doubled ring as the Decimator's
  const auto xs = dendrite::bench::normal_samples<float, 64, 64>(4);
  std::array<float, 64> y{}, acc{};
  std::size_t i = 0, pos = 0, phase = 0;
  for (auto _ : state) {
    const auto& x = xs[i++ & 63];
    pos = pos + 1 == n ? 0 : pos + 1;
    for (std::size_t c = 0; c < 64; ++c) hist[pos * 64 + c] = hist[(pos + n) * 64 + c] = x[c];
    acc.fill(0.0f);  // every sample filtered...
    for (std::size_t k = 0; k < n; ++k) {
      const float* row = &hist[(pos + 1 + k) * 64];
      const float hk = h[n - 1 - k];
      for (std::size_t c = 0; c < 64; ++c) acc[c] += hk * row[c];
    }
    if (phase == 0) y = acc;  // ...and 7 of 8 thrown away
    phase = phase + 1 == 8 ? 0 : phase + 1;
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 64);
}

// 64 channels x 30 000 samples (1 s at 30 kHz) of white noise, for the offline filters.
Eigen::MatrixXd recording() {
  std::mt19937 rng(5);
  std::normal_distribution<double> normal;
  return Eigen::MatrixXd::NullaryExpr(64, 30000, [&] { return normal(rng); });
}

// Offline zero-phase filtering: 64 channels x 30 000 samples (1 s at 30 kHz) through the 4
// sections of butter(4, {300, 6000}, BandPass, 30 kHz), forward and backward. SciPy's
// sosfiltfilt on the same shape is the baseline (bench/README.md; not runnable here).
void BM_SosFiltFilt64x30000(benchmark::State& state) {
  const Eigen::MatrixXd sos = design(8);
  const Eigen::MatrixXd x = recording();
  for (auto _ : state) {
    Eigen::MatrixXd y = dsp::sosfiltfilt(sos, x);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 64 * 30000);
}

// Offline causal filtering of the same recording: `sosfilt`, and as the in-binary baseline the
// real-time `SOSFilter<double, 64>` stepped over its 30 000 columns (what one writes with the
// streaming block alone). SciPy's sosfilt on the same shape: bench/README.md.
void BM_Sosfilt64x30000(benchmark::State& state) {
  const Eigen::MatrixXd sos = design(8);
  const Eigen::MatrixXd x = recording();
  for (auto _ : state) {
    Eigen::MatrixXd y = dsp::sosfilt(sos, x);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 64 * 30000);
}

void BM_SOSFilterSteps64x30000Baseline(benchmark::State& state) {
  const Eigen::MatrixXd sos = design(8);
  const Eigen::MatrixXd x = recording();
  for (auto _ : state) {
    Eigen::MatrixXd y(64, 30000);
    dsp::SOSFilter<double, 64> filt(sos);
    for (Eigen::Index t = 0; t < x.cols(); ++t) {
      (void)filt.step(std::span<const double, 64>(x.col(t).data(), 64),
                      std::span<double, 64>(y.col(t).data(), 64));
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 64 * 30000);
}

// Welch's spectra of 64 channels x 60 000 samples (a minute at 1 kHz): SciPy's defaults (Hann,
// half overlap, the mean removed, a density) with segments of 256 samples (a power of two) and
// of 500 (Bluestein's transform here). The in-binary baseline is the same estimate written with
// Eigen's own FFT module (unsupported/Eigen/FFT, kissfft, a real transform of each segment);
// SciPy's welch on the same shape: bench/README.md.
Eigen::MatrixXd minute() {
  std::mt19937 rng(9);
  std::normal_distribution<double> normal;
  return Eigen::MatrixXd::NullaryExpr(64, 60000, [&] { return normal(rng); });
}

void BM_Welch64x60000(benchmark::State& state) {
  const Eigen::MatrixXd x = minute();
  dsp::WelchOptions o;
  o.nperseg = state.range(0);
  for (auto _ : state) {
    dsp::Spectrum s = dsp::welch(x, 1000.0, o);
    benchmark::DoNotOptimize(s.p.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 64 * 60000);
}

// The coherence of 64 pairs of channels (x and a scaled, offset copy), segments of 256 samples.
void BM_Coherence64x60000(benchmark::State& state) {
  const Eigen::MatrixXd x = minute();
  const Eigen::MatrixXd y = 0.5 * x + Eigen::MatrixXd::Ones(64, 60000);
  for (auto _ : state) {
    dsp::Spectrum s = dsp::coherence(x, y, 1000.0);
    benchmark::DoNotOptimize(s.p.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 64 * 60000);
}

// SciPy's stft with its defaults (256-sample Hann segments, half overlap, the boundary's zeros)
// over 64 channels, and the inverse of that STFT.
void BM_Stft64x60000(benchmark::State& state) {
  const Eigen::MatrixXd x = minute();
  for (auto _ : state) {
    dsp::Stft z = dsp::stft(x, 1000.0);
    benchmark::DoNotOptimize(z.z.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 64 * 60000);
}

// The same into one result kept from call to call (its memory mapped in once).
void BM_StftInto64x60000(benchmark::State& state) {
  const Eigen::MatrixXd x = minute();
  dsp::Stft<double> z;
  for (auto _ : state) {
    dsp::stft(x, 1000.0, {}, z);
    benchmark::DoNotOptimize(z.z.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 64 * 60000);
}

void BM_Istft64x60000(benchmark::State& state) {
  const dsp::Stft z = dsp::stft(minute(), 1000.0);
  for (auto _ : state) {
    Eigen::MatrixXd x = dsp::istft(z.z, 1000.0);
    benchmark::DoNotOptimize(x.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 64 * 60000);
}

void BM_WelchEigenFFTBaseline64x60000(benchmark::State& state) {
  const Eigen::MatrixXd x = minute();
  const Eigen::Index nperseg = state.range(0), step = nperseg / 2;
  const Eigen::Index segments = (x.cols() - (nperseg - step)) / step, bins = nperseg / 2 + 1;
  const Eigen::VectorXd w = dsp::window(dsp::Window::Hann, nperseg);
  const double scale = 1.0 / (1000.0 * w.squaredNorm());
  Eigen::FFT<double> fft;
  Eigen::VectorXd seg(nperseg);
  Eigen::VectorXcd bin(nperseg);
  for (auto _ : state) {
    Eigen::MatrixXd p = Eigen::MatrixXd::Zero(64, bins);
    for (Eigen::Index r = 0; r < 64; ++r) {
      for (Eigen::Index s = 0; s < segments; ++s) {
        seg = x.row(r).segment(s * step, nperseg).transpose();
        seg = (seg.array() - seg.mean()) * w.array();
        fft.fwd(bin, seg);
        p.row(r) += bin.head(bins).cwiseAbs2().transpose();
      }
    }
    p *= 2.0 * scale / double(segments);
    p.col(0) *= 0.5;
    if (nperseg % 2 == 0) p.col(bins - 1) *= 0.5;
    benchmark::DoNotOptimize(p.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 64 * 60000);
}

// Slepian tapers of a minute at 1 kHz (NW 4, 8 tapers; SciPy's periodic ones, as
// multitaper_psd uses).
void BM_Dpss60000x8(benchmark::State& state) {
  for (auto _ : state) {
    dsp::Dpss d = dsp::dpss(60000, 4.0, 8, false);
    benchmark::DoNotOptimize(d.tapers.data());
    benchmark::ClobberMemory();
  }
}

// MNE's multitaper PSD (NW 4, floor(2 NW) tapers less those below 0.9 concentration) of 64
// channels of `range(0)` samples, the tapers made in each call as MNE makes them.
void BM_MultitaperPsd64(benchmark::State& state) {
  const Eigen::MatrixXd x = minute().leftCols(state.range(0));
  for (auto _ : state) {
    dsp::Spectrum s = dsp::multitaper_psd(x, 1000.0);
    benchmark::DoNotOptimize(s.p.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 64 * state.range(0));
}

// Thomson's adaptive weights (MNE's adaptive=True), the tapers made in each call.
void BM_MultitaperPsdAdaptive64(benchmark::State& state) {
  const Eigen::MatrixXd x = minute().leftCols(state.range(0));
  dsp::MultitaperOptions o;
  o.adaptive = true;
  for (auto _ : state) {
    dsp::Spectrum s = dsp::multitaper_psd(x, 1000.0, o);
    benchmark::DoNotOptimize(s.p.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 64 * state.range(0));
}

// The same with the tapers and the transform made once, outside the loop (`MultitaperPsd`, for
// epochs of one length).
void BM_MultitaperPsdKept64(benchmark::State& state) {
  const Eigen::MatrixXd x = minute().leftCols(state.range(0));
  dsp::MultitaperPsd<double> estimate(x.cols(), 1000.0);
  dsp::Spectrum<double> s;
  for (auto _ : state) {
    estimate(x, s);
    benchmark::DoNotOptimize(s.p.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 64 * state.range(0));
}

// The multitaper coherence of 64 pairs of rows (x and half of x plus other noise), `range(0)`
// samples, the tapers made in each call.
void BM_MultitaperCoherence64(benchmark::State& state) {
  const Eigen::MatrixXd x = minute().leftCols(state.range(0));
  const Eigen::MatrixXd y = 0.5 * x + minute().rightCols(state.range(0));
  for (auto _ : state) {
    dsp::Spectrum s = dsp::multitaper_coherence(x, y, 1000.0);
    benchmark::DoNotOptimize(s.p.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 64 * state.range(0));
}

// Line noise removed from 64 channels of 10 s at 1 kHz (white noise plus 50.03 Hz and 100.06
// Hz lines): `remove_lines` as it is by default (transforms padded 8 times, peaks refined), and
// MNE's form of it (transforms of N, every bin over the threshold), as MNE's
// notch_filter(method='spectrum_fit', filter_length=N) in bench/dsp_scipy.py.
Eigen::MatrixXd lined() {
  Eigen::MatrixXd x = minute().leftCols(10000);
  for (Eigen::Index t = 0; t < x.cols(); ++t) {
    const double s = 2 * std::numbers::pi * double(t) / 1000.0;
    x.col(t).array() += 3.0 * std::cos(50.03 * s) + std::sin(100.06 * s);
  }
  return x;
}

void BM_RemoveLines64x10000(benchmark::State& state) {
  const Eigen::MatrixXd x = lined();
  dsp::LineOptions o;
  if (state.range(0) == 1) {  // MNE's form
    o.test.nfft = x.cols();
    o.peaks_only = false;
  }
  for (auto _ : state) {
    dsp::LineRemoval r = dsp::remove_lines(x, 1000.0, o);
    benchmark::DoNotOptimize(r.y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 64 * 10000);
}

// The Eigen baselines' tapers: NW 4, 8 tapers of n samples, those concentrated above 0.9 kept,
// and the sum of their ratios.
struct KeptTapers {
  dsp::Dpss<double> d;
  std::vector<Eigen::Index> kept;
  double total = 0;
};

KeptTapers kept_tapers(Eigen::Index n) {
  KeptTapers t{dsp::dpss(n, 4.0, 8, false), {}, 0.0};
  for (Eigen::Index k = 0; k < 8; ++k) {
    if (t.d.ratios(k) > 0.9) {
      t.kept.push_back(k);
      t.total += t.d.ratios(k);
    }
  }
  return t;
}

// The same estimate with Eigen's FFT module, one transform per taper and channel, the tapers made
// once outside the loop (it is not charged for them).
void BM_MultitaperEigenFFTBaseline64(benchmark::State& state) {
  const Eigen::MatrixXd x = minute().leftCols(state.range(0));
  const Eigen::Index n = x.cols(), bins = n / 2 + 1;
  const auto [d, kept, total] = kept_tapers(n);
  Eigen::FFT<double> fft;
  Eigen::VectorXd y(n), tapered(n);
  Eigen::VectorXcd bin(n);
  for (auto _ : state) {
    Eigen::MatrixXd p = Eigen::MatrixXd::Zero(64, bins);
    for (Eigen::Index r = 0; r < 64; ++r) {
      y = x.row(r).transpose().array() - x.row(r).mean();
      for (const Eigen::Index k : kept) {
        tapered = d.tapers.row(k).transpose().cwiseProduct(y);
        fft.fwd(bin, tapered);
        p.row(r) += d.ratios(k) * bin.head(bins).cwiseAbs2().transpose();
      }
    }
    p *= 2.0 / (1000.0 * total);
    p.col(0) *= 0.5;
    if (n % 2 == 0) p.col(bins - 1) *= 0.5;
    benchmark::DoNotOptimize(p.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 64 * n);
}

// The cross spectral matrices of 64 channels over 1-100 Hz, averaged over 10 epochs of 1 000
// samples at 1 kHz (MNE's csd_array_multitaper(X, 1000, fmin=0.5, fmax=100.5) in
// bench/dsp_scipy.py), the tapers made in each call.
std::vector<Eigen::MatrixXd> epochs10() {
  const Eigen::MatrixXd x = minute();
  std::vector<Eigen::MatrixXd> epochs;
  for (Eigen::Index e = 0; e < 10; ++e) epochs.push_back(x.middleCols(e * 1000, 1000));
  return epochs;
}

void BM_MultitaperCsdMatrices64x10(benchmark::State& state) {
  const std::vector<Eigen::MatrixXd> epochs = epochs10();
  for (auto _ : state) {
    dsp::CrossSpectralMatrices m = dsp::multitaper_csd_matrices(epochs, 1000.0, {}, 0.5, 100.5);
    benchmark::DoNotOptimize(m.p.back().data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 10 * 64 * 1000);
}

// The baselines' weighed transforms with Eigen's FFT module, one transform per taper and channel
// of the epoch x: a[j] (tapers x channels) holds sqrt(lambda_k / sum lambda) X_rk at bin
// first + j.
struct EigenWeighedTransforms {
  Eigen::Index n = 1000, first = 1, band = 100;
  KeptTapers t = kept_tapers(n);
  Eigen::FFT<double> fft;
  Eigen::VectorXd y = Eigen::VectorXd(n), tapered = Eigen::VectorXd(n);
  Eigen::VectorXcd bin = Eigen::VectorXcd(n);
  std::vector<Eigen::MatrixXcd> a = std::vector<Eigen::MatrixXcd>(
      std::size_t(band), Eigen::MatrixXcd(Eigen::Index(t.kept.size()), 64));

  void operator()(const Eigen::MatrixXd& x) {
    for (Eigen::Index r = 0; r < 64; ++r) {
      y = x.row(r).transpose().array() - x.row(r).mean();
      for (Eigen::Index i = 0; i < Eigen::Index(t.kept.size()); ++i) {
        const Eigen::Index k = t.kept[std::size_t(i)];
        tapered = t.d.tapers.row(k).transpose().cwiseProduct(y);
        fft.fwd(bin, tapered);
        for (Eigen::Index j = 0; j < band; ++j) {
          a[std::size_t(j)](i, r) = std::sqrt(t.d.ratios(k) / t.total) * bin(first + j);
        }
      }
    }
  }
};

// The same with Eigen's FFT module, then per bin the sum of A^H A, the tapers made once outside
// the loop (it is not charged for them).
void BM_MultitaperCsdMatricesEigenFFTBaseline64x10(benchmark::State& state) {
  const std::vector<Eigen::MatrixXd> epochs = epochs10();
  EigenWeighedTransforms w;
  for (auto _ : state) {
    std::vector<Eigen::MatrixXcd> p(std::size_t(w.band), Eigen::MatrixXcd::Zero(64, 64));
    for (const Eigen::MatrixXd& x : epochs) {
      w(x);
      for (std::size_t j = 0; j < p.size(); ++j) {
        p[j].noalias() += (2.0 / (1000.0 * 10)) * (w.a[j].adjoint() * w.a[j]);
      }
    }
    benchmark::DoNotOptimize(p.back().data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 10 * 64 * 1000);
}

// The phase sums of 64 channels over 1-100 Hz and 10 epochs of 1 000 samples, then their wPLI
// (mne-connectivity's spectral_connectivity_epochs(method='wpli', mode='multitaper'); not
// packaged for Debian 12, so not measured here).
void BM_MultitaperPhaseSums64x10(benchmark::State& state) {
  const std::vector<Eigen::MatrixXd> epochs = epochs10();
  for (auto _ : state) {
    const dsp::PhaseSums s = dsp::multitaper_phase_sums(epochs, 1000.0, {}, 0.5, 100.5);
    std::vector<Eigen::MatrixXd> c = dsp::phase_connectivity(s, dsp::PhaseMeasure::wpli);
    benchmark::DoNotOptimize(c.back().data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 10 * 64 * 1000);
}

// The same with Eigen's FFT module and products: per epoch and bin S = (2 / fs) A^H A, then the
// five sums over every entry in a plain loop, then the wPLI.
void BM_MultitaperPhaseSumsEigenFFTBaseline64x10(benchmark::State& state) {
  const std::vector<Eigen::MatrixXd> epochs = epochs10();
  EigenWeighedTransforms w;
  Eigen::MatrixXcd e(64, 64);
  for (auto _ : state) {
    const std::size_t band = std::size_t(w.band);
    std::vector<Eigen::MatrixXcd> unit(band, Eigen::MatrixXcd::Zero(64, 64));
    std::vector<Eigen::MatrixXd> sign(band, Eigen::MatrixXd::Zero(64, 64)), imag = sign,
                                 abs_imag = sign, square_imag = sign;
    for (const Eigen::MatrixXd& x : epochs) {
      w(x);
      for (std::size_t j = 0; j < band; ++j) {
        e.noalias() = (2.0 / 1000.0) * (w.a[j].adjoint() * w.a[j]);
        for (Eigen::Index i = 0; i < e.size(); ++i) {
          const std::complex<double> v = e(i);
          const double im = v.imag();
          if (v != 0.0) unit[j](i) += v / std::abs(v);
          sign[j](i) += (im > 0) - (im < 0);
          imag[j](i) += im;
          abs_imag[j](i) += std::abs(im);
          square_imag[j](i) += im * im;
        }
      }
    }
    std::vector<Eigen::MatrixXd> c;
    for (std::size_t j = 0; j < band; ++j) {
      c.push_back((abs_imag[j].array() == 0)
                      .select(0.0, imag[j].array().abs() / abs_imag[j].array()));
    }
    benchmark::DoNotOptimize(c.back().data());
    benchmark::DoNotOptimize(unit.back().data());
    benchmark::DoNotOptimize(sign.back().data());
    benchmark::DoNotOptimize(square_imag.back().data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 10 * 64 * 1000);
}

// The analytic signal of 64 channels x range(0) samples (SciPy's hilbert(x, axis=-1) in
// bench/dsp_scipy.py).
void BM_Hilbert64(benchmark::State& state) {
  const Eigen::MatrixXd x = minute().leftCols(state.range(0));
  for (auto _ : state) {
    Eigen::MatrixXcd a = dsp::hilbert(x);
    benchmark::DoNotOptimize(a.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * x.size());
}

// The same with Eigen's FFT module, what an Eigen user would write: per row a complex forward
// transform, the bins weighed by h (1, 2, ..., 2, 1 at n / 2, 0 above) and the inverse.
void BM_HilbertEigenFFTBaseline64(benchmark::State& state) {
  const Eigen::MatrixXd x = minute().leftCols(state.range(0));
  const Eigen::Index n = x.cols();
  Eigen::FFT<double> fft;
  Eigen::VectorXcd in(n), bins(n), back(n);
  for (auto _ : state) {
    Eigen::MatrixXcd a(x.rows(), n);
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
      in = x.row(r).transpose().cast<std::complex<double>>();
      fft.fwd(bins, in);
      for (Eigen::Index k = 1; k < n; ++k) bins(k) *= 2 * k < n ? 2.0 : 2 * k == n ? 1.0 : 0.0;
      fft.inv(back, bins);
      a.row(r) = back.transpose();
    }
    benchmark::DoNotOptimize(a.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * x.size());
}

// Lomb-Scargle: rows of n unevenly sampled values (uniform times over 10 s, white noise) at
// f angular frequencies up to 2 pi 100 rad/s; range(0) rows, range(1) samples, range(2)
// frequencies. SciPy 1.10's lombscargle (one row per call) in bench/dsp_scipy.py.
struct UnevenRows {
  Eigen::VectorXd t, w;
  Eigen::MatrixXd y;

  explicit UnevenRows(const benchmark::State& state) {
    const Eigen::Index rows = state.range(0), n = state.range(1), f = state.range(2);
    std::mt19937 rng(21);
    std::uniform_real_distribution<double> u(0.0, 10.0);
    std::normal_distribution<double> g;
    t.resize(n);
    for (Eigen::Index j = 0; j < n; ++j) t(j) = u(rng);
    y.resize(rows, n);
    for (Eigen::Index i = 0; i < y.size(); ++i) y(i) = g(rng);
    w = Eigen::VectorXd::LinSpaced(f, 0.1, 2 * std::numbers::pi * 100.0);
  }
};

void BM_LombScargle(benchmark::State& state) {
  const UnevenRows data(state);
  for (auto _ : state) {
    Eigen::MatrixXd p = dsp::lombscargle(data.t, data.y, data.w);
    benchmark::DoNotOptimize(p.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * data.y.size() * data.w.size());
}

// The same, Townsend's one pass written plainly per row and frequency with the C library's
// sin and cos (the loop of SciPy's Cython lombscargle, in C++).
void BM_LombScarglePlainBaseline(benchmark::State& state) {
  const UnevenRows data(state);
  const Eigen::Index n = data.t.size();
  for (auto _ : state) {
    Eigen::MatrixXd p(data.y.rows(), data.w.size());
    for (Eigen::Index r = 0; r < data.y.rows(); ++r) {
      for (Eigen::Index k = 0; k < data.w.size(); ++k) {
        const double w = data.w(k);
        double xc = 0, xs = 0, cc = 0, ss = 0, cs = 0;
        for (Eigen::Index j = 0; j < n; ++j) {
          const double c = std::cos(w * data.t(j)), s = std::sin(w * data.t(j));
          xc += data.y(r, j) * c;
          xs += data.y(r, j) * s;
          cc += c * c;
          ss += s * s;
          cs += c * s;
        }
        const double tau = std::atan2(2 * cs, cc - ss) / (2 * w);
        const double ct = std::cos(w * tau), st = std::sin(w * tau);
        const double a = ct * xc + st * xs, b = ct * xs - st * xc;
        p(r, k) = 0.5 * (a * a / (ct * ct * cc + 2 * ct * st * cs + st * st * ss) +
                         b * b / (ct * ct * ss - 2 * ct * st * cs + st * st * cc));
      }
    }
    benchmark::DoNotOptimize(p.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * data.y.size() * data.w.size());
}

// Equiripple design: remez on two of SciPy's cases, a 501-tap low-pass (0-0.1 and
// 0.105-0.5 cycles per sample; argument 0) and a 301-tap band-pass of three bands weighted
// 3, 1, 3 (argument 1). SciPy's remez on the same is in bench/dsp_scipy.py.
void BM_Remez(benchmark::State& state) {
  const bool lowpass = state.range(0) == 0;
  dsp::RemezOptions options;
  options.weight = lowpass ? std::vector<double>{1, 1} : std::vector<double>{3, 1, 3};
  const std::vector<double> bands = lowpass ? std::vector<double>{0, 0.1, 0.105, 0.5}
                                            : std::vector<double>{0, 0.05, 0.07, 0.2, 0.22, 0.5};
  const std::vector<double> desired =
      lowpass ? std::vector<double>{1, 0} : std::vector<double>{0, 1, 0};
  for (auto _ : state) {
    auto d = dsp::remez(lowpass ? 501 : 301, bands, desired, options);
    benchmark::DoNotOptimize(d.taps.data());
    benchmark::ClobberMemory();
  }
}

// The Decimator's specification (0.05 and 0.0625 cycles per sample, 80 dB) designed by
// remez_lowpass, which searches for the shortest length, beside kaiser_lowpass (the design a
// dendrite user had before); the taps they end with are the counters.
template <class Design>
void run_lowpass_design(benchmark::State& state, Design design) {
  std::size_t taps = 0;
  for (auto _ : state) {
    auto d = design(0.05, 0.0625, 80.0);
    taps = std::size_t(d.taps.size());
    benchmark::DoNotOptimize(d.taps.data());
    benchmark::ClobberMemory();
  }
  state.counters["taps"] = double(taps);
}

void BM_RemezLowpass80dB(benchmark::State& state) {
  run_lowpass_design(state, [](double p, double s, double a) {
    return dsp::remez_lowpass(p, s, a);
  });
}

void BM_KaiserLowpass80dBBaseline(benchmark::State& state) {
  run_lowpass_design(state, [](double p, double s, double a) {
    return dsp::kaiser_lowpass(p, s, a);
  });
}

// Frequency sampling: firwin2 of 255 taps for a band-pass with ramps and a step (the default
// 257 frequencies, one real inverse DFT of 512 points), beside firwin's window method for the
// nearest band-pass (the ideal response's closed form); SciPy's firwin2 is in
// bench/dsp_scipy.py.
void BM_Firwin2(benchmark::State& state) {
  const std::vector<double> freq{0, 0.1, 0.2, 0.5, 0.5, 0.7, 1}, gain{0, 0, 1, 1, 0.5, 0, 0};
  for (auto _ : state) {
    Eigen::VectorXd h = dsp::firwin2(255, freq, gain);
    benchmark::DoNotOptimize(h.data());
    benchmark::ClobberMemory();
  }
}

void BM_FirwinBaseline(benchmark::State& state) {
  dsp::FirwinOptions options;
  options.pass_zero = false;
  for (auto _ : state) {
    Eigen::VectorXd h = dsp::firwin(255, {0.15, 0.55}, options);
    benchmark::DoNotOptimize(h.data());
    benchmark::ClobberMemory();
  }
}

// minimum_phase of a 101-tap equiripple low-pass (0-0.1 and 0.12-0.5 cycles per sample) at
// SciPy's default L = 32768: the homomorphic method (argument 0, four transforms) and the
// Hilbert method (argument 1, four). SciPy's on the same taps is in bench/dsp_scipy.py.
void BM_MinimumPhase(benchmark::State& state) {
  const Eigen::VectorXd h = dsp::remez(101, {0, 0.1, 0.12, 0.5}, {1, 0}).taps;
  dsp::MinimumPhaseOptions options;
  options.method =
      state.range(0) == 0 ? dsp::MinimumPhaseMethod::Homomorphic : dsp::MinimumPhaseMethod::Hilbert;
  for (auto _ : state) {
    Eigen::VectorXd m = dsp::minimum_phase(h, options);
    benchmark::DoNotOptimize(m.data());
    benchmark::ClobberMemory();
  }
}

// rfft and irfft of one real sequence (white noise) of n points, n = 1000, 4096 and 60000,
// each building its plan (as the one-call forms do). Beside them: the same bins from a complex
// DFT of all n points (what rfft and irfft did before the real transform), and Eigen's FFT
// module (kissfft's real transform, a new plan each call); numpy's are in bench/dsp_scipy.py.
Eigen::VectorXd noise_signal(Eigen::Index n) {
  std::mt19937 rng(5);
  std::normal_distribution<double> normal;
  return Eigen::VectorXd::NullaryExpr(n, [&] { return normal(rng); });
}

// Complex white noise of n points, for the complex transforms.
Eigen::VectorXcd complex_noise(Eigen::Index n) {
  std::mt19937 rng(6);
  std::normal_distribution<double> normal;
  return Eigen::VectorXcd::NullaryExpr(n, [&] {
    const double re = normal(rng);
    return std::complex<double>(re, normal(rng));
  });
}

// The one-call rfft, its plan cached from the first call (dsp::detail::PlanCache).
void BM_Rfft(benchmark::State& state) {
  const Eigen::VectorXd x = noise_signal(state.range(0));
  for (auto _ : state) {
    Eigen::VectorXcd z = dsp::rfft(x);
    benchmark::DoNotOptimize(z.data());
    benchmark::ClobberMemory();
  }
}

// The same with the cache emptied before each call: a plan made each call, as every call did
// before the cache (a length the thread has not used lately).
void BM_RfftColdPlan(benchmark::State& state) {
  const Eigen::VectorXd x = noise_signal(state.range(0));
  for (auto _ : state) {
    benchmark::DoNotOptimize(dsp::release_fft_plans());
    Eigen::VectorXcd z = dsp::rfft(x);
    benchmark::DoNotOptimize(z.data());
    benchmark::ClobberMemory();
  }
  dsp::release_fft_plans();
}

void BM_RfftComplexBaseline(benchmark::State& state) {
  const Eigen::VectorXd x = noise_signal(state.range(0));
  for (auto _ : state) {
    dsp::FFT plan(x.size());
    Eigen::VectorXcd z = x.cast<std::complex<double>>();
    plan.forward(z.data(), z.data());
    Eigen::VectorXcd bins = z.head(x.size() / 2 + 1);
    benchmark::DoNotOptimize(bins.data());
    benchmark::ClobberMemory();
  }
}

// A complex transform of n points with the plan held (n = 512 ... 8192: a radix-2 stage beside
// the radix-4 ones at 512, 2048 and 8192), beside Eigen's FFT module with its plan cached.
void BM_FFTPlanned(benchmark::State& state) {
  const Eigen::Index n = state.range(0);
  const Eigen::VectorXcd x = complex_noise(n);
  dsp::FFT plan(n);
  Eigen::VectorXcd z(n);
  for (auto _ : state) {
    plan.forward(x.data(), z.data());
    benchmark::DoNotOptimize(z.data());
    benchmark::ClobberMemory();
  }
}

// Making a plan of n points (its roots of unity and buffers), n = 4096 and 60000.
void BM_FFTPlan(benchmark::State& state) {
  for (auto _ : state) {
    dsp::FFT plan(state.range(0));
    benchmark::DoNotOptimize(&plan);
    benchmark::ClobberMemory();
  }
}

void BM_FFTEigenFFTPlannedBaseline(benchmark::State& state) {
  const Eigen::Index n = state.range(0);
  const Eigen::VectorXcd x = complex_noise(n);
  Eigen::FFT<double> plan;
  Eigen::VectorXcd z;
  for (auto _ : state) {
    plan.fwd(z, x);
    benchmark::DoNotOptimize(z.data());
    benchmark::ClobberMemory();
  }
}

// The same forward transform with the plan held (a `RealFFT` made once, an Eigen::FFT object
// kept, which caches its plan): what a loop over many sequences of one length costs.
void BM_RealFFTPlanned(benchmark::State& state) {
  const Eigen::VectorXd x = noise_signal(state.range(0));
  dsp::RealFFT plan(x.size());
  Eigen::VectorXcd z(x.size() / 2 + 1);
  for (auto _ : state) {
    plan.forward(x.data(), z.data());
    benchmark::DoNotOptimize(z.data());
    benchmark::ClobberMemory();
  }
}

void BM_RfftEigenFFTPlannedBaseline(benchmark::State& state) {
  const Eigen::VectorXd x = noise_signal(state.range(0));
  Eigen::FFT<double> plan;
  plan.SetFlag(Eigen::FFT<double>::HalfSpectrum);
  Eigen::VectorXcd z;
  for (auto _ : state) {
    plan.fwd(z, x);
    benchmark::DoNotOptimize(z.data());
    benchmark::ClobberMemory();
  }
}

void BM_Irfft(benchmark::State& state) {
  const Eigen::Index n = state.range(0);
  const Eigen::VectorXcd z = dsp::rfft(noise_signal(n));
  for (auto _ : state) {
    Eigen::VectorXd x = dsp::irfft(z, n);
    benchmark::DoNotOptimize(x.data());
    benchmark::ClobberMemory();
  }
}

void BM_IrfftComplexBaseline(benchmark::State& state) {
  const Eigen::Index n = state.range(0);
  const Eigen::VectorXcd z = dsp::rfft(noise_signal(n));
  for (auto _ : state) {
    dsp::FFT plan(n);
    Eigen::VectorXcd full(n);
    full(0) = z(0).real();
    for (Eigen::Index k = 1; k < z.size(); ++k) {
      full(k) = z(k);
      full(n - k) = std::conj(z(k));
    }
    plan.inverse(full.data(), full.data());
    Eigen::VectorXd x = full.real();
    benchmark::DoNotOptimize(x.data());
    benchmark::ClobberMemory();
  }
}

void BM_RfftEigenFFTBaseline(benchmark::State& state) {
  const Eigen::VectorXd x = noise_signal(state.range(0));
  for (auto _ : state) {
    Eigen::FFT<double> plan;
    plan.SetFlag(Eigen::FFT<double>::HalfSpectrum);
    Eigen::VectorXcd z;
    plan.fwd(z, x);
    benchmark::DoNotOptimize(z.data());
    benchmark::ClobberMemory();
  }
}

}  // namespace

BENCHMARK(BM_Decimator64x8);
BENCHMARK(BM_Decimator64x8Equiripple);
BENCHMARK(BM_FilterThenKeepBaseline64x8);
BENCHMARK_TEMPLATE(BM_SOSFilter, 64, 1);
BENCHMARK_TEMPLATE(BM_SOSFilterPerChannelBaseline, 64, 1);
BENCHMARK_TEMPLATE(BM_SOSFilter, 384, 4);
BENCHMARK_TEMPLATE(BM_SOSFilterPerChannelBaseline, 384, 4);
BENCHMARK(BM_SosFiltFilt64x30000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Sosfilt64x30000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SOSFilterSteps64x30000Baseline)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Welch64x60000)->Arg(256)->Arg(500)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WelchEigenFFTBaseline64x60000)->Arg(256)->Arg(500)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Coherence64x60000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Stft64x60000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_StftInto64x60000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Istft64x60000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Dpss60000x8)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MultitaperPsd64)->Arg(1000)->Arg(60000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MultitaperPsdAdaptive64)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MultitaperPsdKept64)->Arg(1000)->Arg(60000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MultitaperEigenFFTBaseline64)->Arg(1000)->Arg(60000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MultitaperCoherence64)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MultitaperCsdMatrices64x10)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MultitaperCsdMatricesEigenFFTBaseline64x10)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MultitaperPhaseSums64x10)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MultitaperPhaseSumsEigenFFTBaseline64x10)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RemoveLines64x10000)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Hilbert64)->Arg(2000)->Arg(60000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HilbertEigenFFTBaseline64)->Arg(2000)->Arg(60000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LombScargle)->Args({1, 10000, 1000})->Args({64, 2000, 500})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LombScarglePlainBaseline)->Args({1, 10000, 1000})->Args({64, 2000, 500})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Remez)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RemezLowpass80dB)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_KaiserLowpass80dBBaseline)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Firwin2)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FirwinBaseline)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MinimumPhase)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Rfft)->Arg(1000)->Arg(4096)->Arg(60000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RfftColdPlan)->Arg(1000)->Arg(4096)->Arg(60000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RfftComplexBaseline)->Arg(1000)->Arg(4096)->Arg(60000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RfftEigenFFTBaseline)->Arg(1000)->Arg(4096)->Arg(60000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FFTPlanned)->RangeMultiplier(2)->Range(512, 8192)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FFTPlan)->Arg(4096)->Arg(60000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FFTEigenFFTPlannedBaseline)->RangeMultiplier(2)->Range(512, 8192)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RealFFTPlanned)->Arg(1000)->Arg(4096)->Arg(60000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_RfftEigenFFTPlannedBaseline)->Arg(1000)->Arg(4096)->Arg(60000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Irfft)->Arg(1000)->Arg(4096)->Arg(60000)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_IrfftComplexBaseline)->Arg(1000)->Arg(4096)->Arg(60000)
    ->Unit(benchmark::kMicrosecond);
