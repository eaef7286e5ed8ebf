// SPDX-License-Identifier: MIT
/// @file
/// The discrete Fourier transform and Welch's spectral estimates (power, cross power,
/// coherence, spectrogram), in NumPy's and SciPy's conventions: what a lab checks a recording
/// with (line noise, drift, a filter's effect) and how two channels' coupling is measured.
///
/// `FFT` transforms n complex samples, any n >= 1: X[k] = sum_t x[t] e^{-2 pi i k t / n}, and
/// the inverse x[t] = (1 / n) sum_k X[k] e^{2 pi i k t / n} (`numpy.fft.fft` and `ifft`). An n
/// whose prime factors are at most 31 runs as a mixed-radix Cooley-Tukey transform (decimation
/// in time: X[k + (n / p) q] = sum_j W_n^{j k} W_p^{j q} Y_j[k], Y_j the transform of
/// x[j + p t]; radix 4 first, then 2, 3 and 5 written out, other primes as plain p-point sums).
/// Any other n goes through Bluestein's chirp z-transform, X[k] = c[k] sum_t (x[t] c[t])
/// conj(c[k - t]) with c[t] = e^{-i pi t^2 / n}, a convolution done by transforms of a power of
/// two m >= 2n - 1 (t^2 is reduced modulo 2n in integers, so the chirp is exact to rounding at
/// any n). `FFT` keeps the real and imaginary parts in two work arrays and runs a stage's
/// butterflies of consecutive k on SIMD lanes (4 with AVX2 or AVX-512, 2 on SSE2), where the
/// stage (radix 2 to 5) has that many, and the inverse as the forward transform read backwards,
/// x[t] = X'[(n - t) mod n] / n with X' = DFT(X). Built once per length; its transforms then
/// allocate nothing. `RealFFT(n)` is the plan for real signals (the n / 2 + 1 bins,
/// `numpy.fft.rfft`, and back), an even n a complex transform of n / 2 points. `fft`, `ifft`,
/// `rfft` and `irfft` are the one-call forms, which reuse the plans of recent lengths (each
/// thread keeps up to 8 plans of each kind, 32 MiB of them at most; `release_fft_plans()`);
/// `hilbert` gives SciPy's analytic signal of each row (envelope and phase). The spectral
/// estimates below and those of `multitaper.hpp` run the same butterflies with W transforms on
/// the SIMD lanes instead (`detail::LaneFFT`; W = 4 with AVX2 or AVX-512, whose 8 lanes were
/// slower on long rows, and 2 on SSE2), each lane holding two real segments or tapered rows.
///
/// `welch(x, fs)` is `scipy.signal.welch(x, fs)` for each row of x (channels x samples): the
/// rows are cut into segments of `nperseg` samples that start every nperseg - noverlap samples
/// (the last partial one dropped), each segment is detrended (its mean removed by default, or its
/// least-squares line) and multiplied by the window w, and its periodogram |DFT_nfft(w x)|^2 is
/// scaled by 1 / (fs sum w^2) (a density, V^2/Hz) or by 1 / (sum w)^2 (a power spectrum, V^2),
/// doubled at every bin but 0 and, for even nfft, nfft / 2 (one-sided), and averaged over the
/// segments: their mean, or their median divided by SciPy's bias of the median of chi^2_2
/// variables, 1 + sum_{j=1}^{(K-1)/2} (1 / (2j + 1) - 1 / (2j)) for K segments. The windows are
/// SciPy's periodic ones (`get_window(..., fftbins=True)`): Hann 0.5 - 0.5 cos(2 pi t / N),
/// Hamming 0.54 - 0.46 cos(2 pi t / N), Blackman 0.42 - 0.5 cos(2 pi t / N) + 0.08 cos(4 pi t /
/// N), Tukey's or Kaiser's (see `window`, dsp/window.hpp) or boxcar; or any window given as
/// values. The frequencies are k fs / nfft, k = 0 ... nfft / 2. Two real segments share one
/// complex transform (z = a + i b, then A[k] = (Z[k] + conj Z[n - k]) / 2 and B[k] = (Z[k] -
/// conj Z[n - k]) / 2i). SciPy's `periodogram(x, fs)` is `welch` with `Window::Boxcar`, nperseg
/// the signal's length and noverlap 0.
///
/// `csd(x, y, fs)` is SciPy's `csd`: the same segments of x and y (one complex transform for
/// both), conj(X_s[k]) Y_s[k] scaled and made one-sided as above, averaged (the median of the
/// real and the imaginary parts apart, as SciPy's). `coherence(x, y, fs)` is SciPy's
/// `coherence`, |Pxy|^2 / (Pxx Pyy) with the three averaged by the mean over the same segments.
/// `spectrogram(x, fs)` is SciPy's `spectrogram` (mode 'psd'): each segment's periodogram kept,
/// with SciPy's defaults for it (a Tukey window, alpha 0.25, and an eighth of overlap).
/// `stft(x, fs)` and `istft(z, fs)` are SciPy's `stft` and `istft`: each segment's complex
/// one-sided transform scaled by 1 / sum w, and the least-squares overlap-add inverse, so that a
/// lab can mask or weight time-frequency bins and return to a signal.
///
/// Checked (tests/dsp/test_dsp.cpp) against a plain O(n^2) DFT, Parseval's identity and a
/// tone's closed-form Hann spectrum, Welch's estimates and the STFT written plainly, the
/// inverse's round trip, and NumPy's `fft` and SciPy 1.10's windows, `welch`, `periodogram`,
/// `csd`, `coherence`, `spectrogram`, `stft` and `istft`. Where SciPy shortens a segment longer
/// than the signal with a warning, these throw; there is no `return_onesided=False`, no
/// `boundary` or `padded` for Welch's estimates (their defaults, None and False, are what they
/// do), no other spectrogram mode and no complex input.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <complex>
#include <cstdint>
#include <limits>
#include <memory>
#include <numbers>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <xsimd/xsimd.hpp>

#include <dendrite/config.hpp>
#include <dendrite/core/analysis.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/dsp/window.hpp>

namespace dendrite::dsp {

namespace detail {

// W complex values side by side, their real and imaginary parts apart (lane l is re[l] +
// i im[l]): the values of `LaneFFT`, which makes W transforms at once. W is AVX2's 4 doubles
// wherever AVX2 is there: AVX-512's 8 took longer on 60 000-sample rows (the lanes' values no
// longer fit in L2) and would leave half of them empty for 7 or 8 tapers; SSE2's 2 elsewhere.
struct ComplexLanes {
#if XSIMD_WITH_AVX2
  using batch = xsimd::batch<double, xsimd::avx2>;
#else
  using batch = xsimd::batch<double>;
#endif
  static constexpr std::size_t size = batch::size;
  batch re, im;
};

DENDRITE_FORCE_INLINE ComplexLanes operator+(ComplexLanes a, ComplexLanes b) noexcept {
  return {a.re + b.re, a.im + b.im};
}
DENDRITE_FORCE_INLINE ComplexLanes operator-(ComplexLanes a, ComplexLanes b) noexcept {
  return {a.re - b.re, a.im - b.im};
}
DENDRITE_FORCE_INLINE ComplexLanes& operator+=(ComplexLanes& a, ComplexLanes b) noexcept {
  return a = a + b;
}
DENDRITE_FORCE_INLINE ComplexLanes operator*(double s, ComplexLanes a) noexcept {
  return {s * a.re, s * a.im};
}
DENDRITE_FORCE_INLINE ComplexLanes conj(ComplexLanes a) noexcept { return {a.re, -a.im}; }

// a w, without the NaN recovery of std::complex's operator*
DENDRITE_FORCE_INLINE std::complex<double> fft_mul(std::complex<double> a,
                                                   std::complex<double> w) noexcept {
  return {a.real() * w.real() - a.imag() * w.imag(), a.real() * w.imag() + a.imag() * w.real()};
}
DENDRITE_FORCE_INLINE ComplexLanes fft_mul(ComplexLanes a, std::complex<double> w) noexcept {
  return {a.re * w.real() - a.im * w.imag(), a.re * w.imag() + a.im * w.real()};
}
DENDRITE_FORCE_INLINE ComplexLanes fft_mul(ComplexLanes a, ComplexLanes w) noexcept {
  return {a.re * w.re - a.im * w.im, a.re * w.im + a.im * w.re};
}

// -i a
DENDRITE_FORCE_INLINE std::complex<double> minus_i(std::complex<double> a) noexcept {
  return {a.imag(), -a.real()};
}
DENDRITE_FORCE_INLINE ComplexLanes minus_i(ComplexLanes a) noexcept { return {a.im, -a.re}; }

template <class V>
V fft_zero() noexcept {
  if constexpr (std::is_same_v<V, ComplexLanes>) {
    return {ComplexLanes::batch(0.0), ComplexLanes::batch(0.0)};
  } else {
    return V(0);
  }
}

// e^{-2 pi i j / m}, from the cosine and sine of an angle of at most pi / 4 where m allows (the
// circle's reflections about pi, pi / 2 and pi / 4 are exact), so that every root is as
// accurate as the small angles'.
inline std::complex<double> unit_root(std::size_t j, std::size_t m) noexcept {
  double sign_c = 1, sign_s = 1;
  bool swap = false;
  if (2 * j > m) {  // 2 pi - x
    j = m - j;
    sign_s = -1;
  }
  if (m % 2 == 0 && 4 * j > m) {  // pi - x
    j = m / 2 - j;
    sign_c = -1;
  }
  if (m % 4 == 0 && 8 * j > m) {  // pi / 2 - x
    j = m / 4 - j;
    swap = true;
  }
  const double x = 2.0 * std::numbers::pi * double(j) / double(m);
  double c = std::cos(x), s = std::sin(x);
  if (swap) std::swap(c, s);
  return {sign_c * c, -sign_s * s};
}

// unit_root(j, m) for j = 0 ... count - 1, the same values: the roots whose index is its own
// reflection (8j <= m where 4 divides m, 4j <= m for other even m, 2j <= m for odd m) take a
// cosine and sine, and the others reflect one made before, a range at a time.
inline std::vector<std::complex<double>> unit_roots(std::size_t m, std::size_t count) {
  std::vector<std::complex<double>> w(count);
  const std::size_t direct = m % 4 == 0 ? m / 8 : m % 2 == 0 ? m / 4 : m / 2;
  std::size_t j = 0;
  for (; j < count && j <= direct; ++j) {
    const double x = 2.0 * std::numbers::pi * double(j) / double(m);
    w[j] = {std::cos(x), -std::sin(x)};
  }
  if (m % 4 == 0) {
    for (; j < count && 4 * j <= m; ++j) {  // pi / 2 - x: cosine and sine swapped
      const std::complex<double> v = w[m / 4 - j];
      w[j] = {-v.imag(), -v.real()};
    }
  }
  if (m % 2 == 0) {
    for (; j < count && 2 * j <= m; ++j) {  // pi - x: the cosine negated
      const std::complex<double> v = w[m / 2 - j];
      w[j] = {-v.real(), v.imag()};
    }
  }
  for (; j < count; ++j) w[j] = std::conj(w[m - j]);  // 2 pi - x
  return w;
}

}  // namespace detail

/// A discrete Fourier transform of one length n (see the file comment), of values V:
/// `std::complex<double>` (`FFT`), or W complex values side by side for W transforms at once
/// (`detail::LaneFFT`, the same butterflies on SIMD lanes). Construction allocates and throws
/// `dimension_error` for n < 1; `forward` and `inverse` then allocate nothing. They use the
/// object's work buffers: one object per thread.
template <class V>
class BasicFFT {
 public:
  using cplx = std::complex<double>;

  explicit BasicFFT(Eigen::Index n) : n_(n) {
    if (n < 1) DENDRITE_THROW(dimension_error, "FFT: expected a length of at least 1, got ", n);
    const auto un = std::size_t(n);
    factors_ = factor(un);
    if (!factors_.empty() && factors_.back() > kLargestRadix) {
      // Bluestein: the chirp c[t] = e^{-i pi t^2 / n} and the transform of conj(c) placed
      // circularly (t and m - t), which the convolution multiplies by
      m_ = std::bit_ceil(2 * un - 1);
      factors_ = factor(m_);
      chirp_.resize(un);
      for (std::uint64_t t = 0; t < un; ++t) {
        const std::uint64_t t2 = (t * t) % (2 * std::uint64_t(un));
        chirp_[t] = std::polar(1.0, -std::numbers::pi * double(t2) / double(un));
      }
    } else {
      m_ = un;
    }
    // complex values other than Bluestein's need no copy of their input (see `transform`)
    work_.resize(kSplit && chirp_.empty() ? 0 : m_);
    split_.resize(kSplit || !chirp_.empty() ? 2 * m_ : 0);
    plan_stages();
    if (chirp_.empty()) return;
    kernel_.assign(m_, cplx(0));
    kernel_[0] = std::conj(chirp_[0]);
    for (std::size_t t = 1; t < un; ++t) kernel_[t] = kernel_[m_ - t] = std::conj(chirp_[t]);
    mixed<cplx>(kernel_.data(), kernel_.data());  // in place: complex values go through split_
    if constexpr (!kSplit) split_ = {};  // lanes need the split arrays only for the kernel
    conv_.resize(m_);
  }

  [[nodiscard]] Eigen::Index size() const noexcept { return n_; }

  /// The bytes the plan holds (its tables and work arrays; the object itself besides).
  [[nodiscard]] std::size_t bytes() const noexcept {
    const auto held = [](const auto& v) { return v.capacity() * sizeof(v[0]); };
    return held(factors_) + held(sub_) + held(step_) + held(lane_offset_) + held(twiddle_) +
           held(chirp_) + held(kernel_) + held(split_) + held(lane_twiddle_) + held(work_) +
           held(conv_);
  }

  /// out[k] = sum_t in[t] e^{-2 pi i k t / n}, for n values at `in` and at `out` (they may be
  /// the same array).
  void forward(const V* in, V* out) noexcept { transform(in, out, false); }

  /// out[t] = (1 / n) sum_k in[k] e^{2 pi i k t / n}.
  void inverse(const V* in, V* out) noexcept {
    transform(in, out, true);
    const double s = 1.0 / double(n_);
    for (Eigen::Index t = 0; t < n_; ++t) out[t] = s * out[t];
  }

  /// `forward` of n complex values stored as interleaved doubles, re, im, re, ... (2n doubles at
  /// `in` and at `out`; they may be the same array): `FFT` only. `RealFFT` hands its samples over
  /// this way, a pair of real samples as one complex value, without a copy.
  void forward(const double* in, double* out) noexcept
    requires std::is_same_v<V, std::complex<double>>
  {
    transform(Pairs{in}, PairsOut{out}, false);
  }

  /// `inverse` of n complex values stored as interleaved doubles (see the `forward` above).
  void inverse(const double* in, double* out) noexcept
    requires std::is_same_v<V, std::complex<double>>
  {
    transform(Pairs{in}, PairsOut{out}, true);
    const double s = 1.0 / double(n_);
    for (Eigen::Index t = 0; t < 2 * n_; ++t) out[t] *= s;
  }

 private:
  using Lanes = detail::ComplexLanes;
  // Complex values as interleaved doubles (re, im), read and written as doubles: the input and
  // output of the double overloads of forward and inverse. The transforms take `const V*` and
  // `V*` or these, read as in[i] and `in + i` and written through `put`.
  struct Pairs {
    const double* d;
    DENDRITE_FORCE_INLINE Pairs operator+(std::size_t i) const noexcept { return {d + 2 * i}; }
    DENDRITE_FORCE_INLINE cplx operator[](std::size_t i) const noexcept {
      return {d[2 * i], d[2 * i + 1]};
    }
  };
  struct PairsOut {
    double* d;
  };
  // m_ values in split arrays, the real parts at re and the imaginary parts at re + m_ (one
  // pointer: g++ passed a struct of two through the stack to each stage and read it back as
  // one 16-byte load, a quarter of a 4 096-point transform's time)
  struct Split {
    double* re;
  };

  // Radices above this go through Bluestein's transform (a generic radix p costs p operations
  // per point and stage).
  static constexpr std::size_t kLargestRadix = 31;
  // `FFT` (one transform of complex values) works in split arrays, and runs Lanes::size
  // butterflies of a stage at once, on consecutive k, where the stage has that many.
  static constexpr bool kSplit = std::is_same_v<V, cplx>;
  static constexpr std::size_t kWidth = Lanes::size;
  static constexpr std::size_t kNoLanes = std::size_t(-1);

  // n's prime factors as radices: the fours (one radix-4 stage for two radix-2 ones), then the
  // rest in increasing order, a 2 left over from the fours first of all: the outermost stage
  // (placed last, its leaves of two points made transforms of 512, 2048 and 8192 points
  // 1.1-1.7x slower than placed first, bench/README.md); empty for n = 1.
  static std::vector<std::size_t> factor(std::size_t n) {
    std::vector<std::size_t> f;
    while (n % 4 == 0) {
      f.push_back(4);
      n /= 4;
    }
    for (std::size_t p = 2; p * p <= n; ++p) {
      while (n % p == 0) {
        f.push_back(p);
        n /= p;
      }
    }
    if (n > 1) f.push_back(n);
    std::stable_sort(f.begin(), f.end(), [](std::size_t a, std::size_t b) {
      const auto rank = [](std::size_t p) { return p == 2 ? 0 : p == 4 ? 1 : p; };
      return rank(a) < rank(b);
    });
    return f;
  }

  // Stage f has len = p sub values (p = factors_[f], len = m_ for f = 0 and the last stage's
  // sub for each stage after), and its twiddles W_len^e = W_m^{e step_[f]}. For complex values,
  // each stage of radix p <= 5 with sub >= kWidth (a lane stage) gets its twiddles W_len^{j k} in
  // the order the lanes load them at lane_offset_[f]: the real parts of j = 1 (k = 0 ... sub -
  // 1), then the imaginary parts, then j = 2, and so on. The other stages, and LaneFFT's, read
  // the roots W_m^e in twiddle_. It is left empty where 4 divides m and every stage but the last
  // (whose radix <= 5 needs no twiddle) is a lane stage: the lane twiddles then come from a
  // quarter of the circle, and the plan holds (and first touches) 2 m values where it would
  // hold 3 m.
  void plan_stages() {
    const std::size_t stages = factors_.size();
    sub_.resize(stages);
    step_.resize(stages);
    lane_offset_.assign(kSplit ? stages : 0, kNoLanes);
    std::size_t len = m_, total = 0;
    for (std::size_t f = 0; f < stages; ++f) {
      step_[f] = m_ / len;
      sub_[f] = len / factors_[f];
      len = sub_[f];
      if (kSplit && factors_[f] <= 5 && sub_[f] >= kWidth) {
        lane_offset_[f] = total;
        total += 2 * (factors_[f] - 1) * sub_[f];
      }
    }
    bool quarter = kSplit && m_ % 4 == 0 && stages > 0 && factors_.back() <= 5;
    for (std::size_t f = 0; f + 1 < stages; ++f) quarter = quarter && lane_offset_[f] != kNoLanes;
    // W_m^e for e < m, or for e <= m / 4
    std::vector<cplx> roots = detail::unit_roots(m_, quarter ? m_ / 4 + 1 : m_);
    lane_twiddle_.resize(total);
    for (std::size_t f = 0; f < lane_offset_.size(); ++f) {
      if (lane_offset_[f] == kNoLanes) continue;
      const std::size_t sub = sub_[f];
      double* w = lane_twiddle_.data() + lane_offset_[f];
      for (std::size_t j = 1; j < factors_[f]; ++j, w += 2 * sub) {
        const std::size_t d = j * step_[f];  // W_len^{j k} = W_m^{k d}
        // with a quarter of the circle, k d in quarter q = 0 ... 3: W_m^e = (-i)^q W_m^{e - q m /
        // 4}, exact; with the whole circle, the one "quarter" q = 0 of length m
        const std::size_t span = quarter ? m_ / 4 : m_;
        std::size_t k = 0;
        for (std::size_t q = 0; q < (quarter ? 4 : 1); ++q) {
          const std::size_t base = q * span;
          for (; k < sub && k * d <= base + span; ++k) {
            const cplx v = roots[k * d - base];
            const cplx r = q == 0   ? v
                           : q == 1 ? cplx(v.imag(), -v.real())
                           : q == 2 ? -v
                                    : cplx(-v.imag(), v.real());
            w[k] = r.real();
            w[sub + k] = r.imag();
          }
        }
      }
    }
    if (!quarter) twiddle_ = std::move(roots);
  }

  // The inverse as conj(forward(conj(in))), or for complex values other than Bluestein's as the
  // forward transform read backwards, IDFT(X)[t] = DFT(X)[(n - t) mod n] / n (`mixed`'s
  // `reversed`): the split work arrays take every value of in before out is written, so they
  // need no copy.
  template <class In, class Out>
  void transform(In in, Out out, bool inverse) noexcept {
    using detail::conj;
    using detail::fft_mul;
    using std::conj;
    const auto n = std::size_t(n_);
    if (chirp_.empty()) {
      if constexpr (kSplit) {
        mixed<V>(in, out, inverse);
      } else {
        for (std::size_t t = 0; t < n; ++t) work_[t] = inverse ? conj(in[t]) : in[t];
        mixed<V>(work_.data(), out);
        if (inverse) {
          for (std::size_t k = 0; k < n; ++k) out[k] = conj(out[k]);
        }
      }
      return;
    }
    for (std::size_t t = 0; t < n; ++t) {
      work_[t] = fft_mul(inverse ? conj(in[t]) : in[t], chirp_[t]);
    }
    std::fill(work_.begin() + std::ptrdiff_t(n), work_.end(), detail::fft_zero<V>());
    mixed<V>(work_.data(), conv_.data());
    // the inverse transform of the product, again as conj(forward(conj(.)))
    for (std::size_t j = 0; j < m_; ++j) work_[j] = conj(fft_mul(conv_[j], kernel_[j]));
    mixed<V>(work_.data(), conv_.data());
    const double s = 1.0 / double(m_);
    for (std::size_t k = 0; k < n; ++k) {
      const V v = s * fft_mul(conj(conv_[k]), chirp_[k]);
      put(out, k, inverse ? conj(v) : v);
    }
  }

  // out = DFT_m(in), m_ values: decimation in time over the factors, into the split arrays for
  // complex values (then copied to out, out[(m - k) mod m] = X[k] where reversed), in out itself
  // for lanes.
  // T: the values' type; In: `const T*` or Pairs; Out: `T*` or PairsOut.
  template <class T, class In, class Out>
  void mixed(In in, Out out, bool reversed = false) noexcept {
    if (m_ == 1) {
      put(out, 0, T(in[0]));
      return;
    }
    if constexpr (std::is_same_v<T, cplx>) {
      const double* re = split_.data();
      const double* im = re + m_;
      stage<T>(in, Split{split_.data()}, 1, 0);
      if (reversed) {
        put(out, 0, cplx(re[0], im[0]));
        for (std::size_t k = 1; k < m_; ++k) put(out, m_ - k, cplx(re[k], im[k]));
      } else {
        for (std::size_t k = 0; k < m_; ++k) put(out, k, cplx(re[k], im[k]));
      }
    } else {
      stage<T>(in, out, 1, 0);
    }
  }

  // a stage's output, T* or split (or the transform's, T* or PairsOut): d values on, value i,
  // and value i set
  template <class T>
  DENDRITE_FORCE_INLINE static T* shift(T* p, std::size_t d) noexcept {
    return p + d;
  }
  DENDRITE_FORCE_INLINE static Split shift(Split s, std::size_t d) noexcept { return {s.re + d}; }
  template <class T>
  DENDRITE_FORCE_INLINE static T get(const T* p, std::size_t i) noexcept {
    return p[i];
  }
  DENDRITE_FORCE_INLINE cplx get(Split s, std::size_t i) const noexcept {
    return {s.re[i], s.re[m_ + i]};
  }
  template <class T>
  DENDRITE_FORCE_INLINE static void put(T* p, std::size_t i, T v) noexcept {
    p[i] = v;
  }
  DENDRITE_FORCE_INLINE void put(Split s, std::size_t i, cplx v) const noexcept {
    s.re[i] = v.real();
    s.re[m_ + i] = v.imag();
  }
  DENDRITE_FORCE_INLINE static void put(PairsOut out, std::size_t i, cplx v) noexcept {
    out.d[2 * i] = v.real();
    out.d[2 * i + 1] = v.imag();
  }

  // out[0 .. len) = the DFT of the len = p sub values in[0], in[stride], ... (p = factors_[f],
  // sub = sub_[f]): the p DFTs of in[j stride + p stride t] go to out[j sub ...] and are
  // combined in place: X[k + sub q] = sum_j W_len^{j k} W_p^{j q} Y_j[k]. The stage before the
  // last runs the last stage's DFTs itself (`leaf`): a call each cost more than their butterflies.
  template <class T, class In, class Out>
  void stage(In in, Out out, std::size_t stride, std::size_t f) const noexcept {
    const std::size_t p = factors_[f], sub = sub_[f];
    if (f + 1 == factors_.size()) {  // m_ = p
      leaf<T>(in, out, stride, f);
      return;
    }
    if (f + 2 == factors_.size()) {
      for (std::size_t j = 0; j < p; ++j) {
        leaf<T>(in + j * stride, shift(out, j * sub), stride * p, f + 1);
      }
    } else {
      for (std::size_t j = 0; j < p; ++j) {
        stage<T>(in + j * stride, shift(out, j * sub), stride * p, f + 1);
      }
    }
    combine_stage<T>(out, f);
  }

  // out[0 .. p) = the DFT of the p = factors_[f] values in[0], in[stride], ... (the last stage)
  template <class T, class In, class Out>
  DENDRITE_FORCE_INLINE void leaf(In in, Out out, std::size_t stride,
                                  std::size_t f) const noexcept {
    const auto at = [&](std::size_t j) DENDRITE_FORCE_INLINE_LAMBDA { return T(in[j * stride]); };
    const auto set = [&](std::size_t q, T v) DENDRITE_FORCE_INLINE_LAMBDA { put(out, q, v); };
    switch (factors_[f]) {
      case 2: radix<2>(at, set); break;
      case 3: radix<3>(at, set); break;
      case 4: radix<4>(at, set); break;
      case 5: radix<5>(at, set); break;
      default:
        for (std::size_t j = 0; j < factors_[f]; ++j) put(out, j, T(in[j * stride]));
        combine_stage<T>(out, f);
    }
  }

  // Stage f's butterflies on out (see `stage`), after its p DFTs.
  template <class T, class Out>
  void combine_stage(Out out, std::size_t f) const noexcept {
    using detail::fft_mul;
    const std::size_t p = factors_[f], sub = sub_[f], step = step_[f];
    switch (p) {
      case 2: combine<2, T>(out, sub, step, f); break;
      case 3: combine<3, T>(out, sub, step, f); break;
      case 4: combine<4, T>(out, sub, step, f); break;
      case 5: combine<5, T>(out, sub, step, f); break;
      default: {
        // any radix p <= kLargestRadix: the p-point DFT written out, W_p^e = twiddle_[e m / p]
        std::array<T, kLargestRadix> a{};
        const std::size_t root = m_ / p;
        for (std::size_t k = 0; k < sub; ++k) {
          for (std::size_t j = 0; j < p; ++j) {
            a[j] = fft_mul(get(out, k + j * sub), twiddle_[j * k * step]);
          }
          for (std::size_t q = 0; q < p; ++q) {
            T acc = a[0];
            for (std::size_t j = 1; j < p; ++j) acc += fft_mul(a[j], twiddle_[(j * q % p) * root]);
            put(out, k + q * sub, acc);
          }
        }
      }
    }
  }

  // The radix-P butterflies of stage f: kWidth at a time on split arrays where the stage has
  // lane twiddles, the rest one at a time, k = 0 (whose twiddles are 1) apart.
  template <std::size_t P, class T, class Out>
  DENDRITE_FORCE_INLINE void combine(Out out, std::size_t sub, std::size_t step,
                                     std::size_t f) const noexcept {
    std::size_t k = 0;
    if constexpr (std::is_same_v<Out, Split>) {
      if (!lane_offset_.empty() && lane_offset_[f] != kNoLanes) {
        const double* w = lane_twiddle_.data() + lane_offset_[f];
        for (; k + kWidth <= sub; k += kWidth) lane_butterfly<P>(out, k, sub, w);
        for (; k < sub; ++k) {  // the lane twiddles, for twiddle_ may be empty
          butterfly<P, true, T>(out, k, sub, [&](std::size_t j) DENDRITE_FORCE_INLINE_LAMBDA {
            return cplx(w[2 * (j - 1) * sub + k], w[(2 * j - 1) * sub + k]);
          });
        }
        return;
      }
    }
    const auto root = [&](std::size_t j) DENDRITE_FORCE_INLINE_LAMBDA {
      return twiddle_[j * k * step];
    };
    butterfly<P, false, T>(out, 0, sub, root);
    for (k = 1; k < sub; ++k) butterfly<P, true, T>(out, k, sub, root);
  }

  // Y_j[k] = out[k + sub j], twiddled by W_len^{j k} = root(j) where Twiddled, into `radix`.
  template <std::size_t P, bool Twiddled, class T, class Out, class Root>
  DENDRITE_FORCE_INLINE void butterfly(Out out, std::size_t k, std::size_t sub,
                                       const Root& root) const noexcept {
    const auto in = [&](std::size_t j) DENDRITE_FORCE_INLINE_LAMBDA {
      const T v = get(out, k + j * sub);
      if constexpr (Twiddled) return j == 0 ? v : detail::fft_mul(v, root(j));
      return v;
    };
    radix<P>(in, [&](std::size_t q, T v) DENDRITE_FORCE_INLINE_LAMBDA {
      put(out, k + q * sub, v);
    });
  }

  // The butterflies of k ... k + kWidth - 1, lane i for k + i, their twiddles from w (see
  // `plan_stages`).
  template <std::size_t P>
  DENDRITE_FORCE_INLINE void lane_butterfly(Split out, std::size_t k, std::size_t sub,
                                            const double* w) const noexcept {
    using B = Lanes::batch;
    const auto in = [&](std::size_t j) DENDRITE_FORCE_INLINE_LAMBDA {
      const std::size_t i = k + j * sub;
      const Lanes v{B::load_unaligned(out.re + i), B::load_unaligned(out.re + m_ + i)};
      if (j == 0) return v;
      const double* wj = w + 2 * (j - 1) * sub + k;
      return detail::fft_mul(v, Lanes{B::load_unaligned(wj), B::load_unaligned(wj + sub)});
    };
    radix<P>(in, [&](std::size_t q, Lanes v) DENDRITE_FORCE_INLINE_LAMBDA {
      v.re.store_unaligned(out.re + k + q * sub);
      v.im.store_unaligned(out.re + m_ + k + q * sub);
    });
  }

  // X_q = sum_j W_P^{j q} a_j for a_j = in(j), written by put(q, X_q): named values rather than
  // an array, which g++ kept in memory in one build (two 8-byte stores then a 16-byte load per
  // value: 1.6x the time of the whole welch).
  template <std::size_t P, class In, class Put>
  DENDRITE_FORCE_INLINE static void radix(const In& in, const Put& put) noexcept {
    using detail::minus_i;
    using T = decltype(in(0));
    if constexpr (P == 2) {
      const T a0 = in(0), a1 = in(1);
      put(0, a0 + a1);
      put(1, a0 - a1);
    } else if constexpr (P == 3) {
      // X1, X2 = a0 - (a1 + a2) / 2 -+ i (sqrt(3) / 2) (a1 - a2)
      const double h = 0.8660254037844386467637232;  // sqrt(3) / 2
      const T a0 = in(0), a1 = in(1), a2 = in(2);
      const T sum = a1 + a2, c = a0 - 0.5 * sum, r = minus_i(h * (a1 - a2));
      put(0, a0 + sum);
      put(1, c + r);
      put(2, c - r);
    } else if constexpr (P == 4) {
      const T a0 = in(0), a1 = in(1), a2 = in(2), a3 = in(3);
      const T t0 = a0 + a2, t1 = a0 - a2, t2 = a1 + a3, t3 = minus_i(a1 - a3);
      put(0, t0 + t2);
      put(1, t1 + t3);
      put(2, t0 - t2);
      put(3, t1 - t3);
    } else {
      // with b1 = a1 + a4, b2 = a2 + a3, d1 = a1 - a4, d2 = a2 - a3: X1, X4 = a0 + c1 b1 + c2 b2
      // -+ i (s1 d1 + s2 d2), X2, X3 = a0 + c2 b1 + c1 b2 -+ i (s2 d1 - s1 d2), with
      // cj = cos(2 pi j / 5), sj = sin(2 pi j / 5)
      static_assert(P == 5);
      const double c1 = 0.3090169943749474241022934, c2 = -0.8090169943749474241022934;
      const double s1 = 0.9510565162951535721164393, s2 = 0.5877852522924731291687060;
      const T a0 = in(0), a1 = in(1), a2 = in(2), a3 = in(3), a4 = in(4);
      const T b1 = a1 + a4, b2 = a2 + a3, d1 = a1 - a4, d2 = a2 - a3;
      const T e1 = a0 + c1 * b1 + c2 * b2, e2 = a0 + c2 * b1 + c1 * b2;
      const T g1 = minus_i(s1 * d1 + s2 * d2), g2 = minus_i(s2 * d1 - s1 * d2);
      put(0, a0 + b1 + b2);
      put(1, e1 + g1);
      put(2, e2 + g2);
      put(3, e2 - g2);
      put(4, e1 - g1);
    }
  }

  Eigen::Index n_;
  std::size_t m_ = 1;  // n, or Bluestein's power of two
  std::vector<std::size_t> factors_, sub_, step_, lane_offset_;
  std::vector<cplx> twiddle_, chirp_, kernel_;
  std::vector<double> split_, lane_twiddle_;  // 2 m_ values (re, then im); see plan_stages
  std::vector<V> work_, conv_;
};

/// The transform of `std::complex<double>` values (see `BasicFFT`).
using FFT = BasicFFT<std::complex<double>>;

namespace detail {
/// W transforms at once, one per lane of `ComplexLanes`.
using LaneFFT = BasicFFT<ComplexLanes>;
}  // namespace detail

/// The L-point DFT of a real sequence as its bins 0 ... L / 2 (`numpy.fft.rfft`), and back
/// (`numpy.fft.irfft`). An even L runs as one complex DFT of h = L / 2 points, z[t] = x[2t] +
/// i x[2t + 1]: with E and O the DFTs of the even and odd samples, E[k] = (Z[k] + conj
/// Z[h - k]) / 2, O[k] = (Z[k] - conj Z[h - k]) / 2i, and X[k] = E[k] + W_L^k O[k]; the
/// inverse solves these for E and O. Bins k and h - k come from Z[k] and Z[h - k] together:
/// E[h - k] = conj E[k], O[h - k] = conj O[k] and W_L^{h - k} = -conj W_L^k, so X[h - k] =
/// conj(E[k] - W_L^k O[k]) (and X[h / 2] = conj Z[h / 2]). Z is made in the output itself (the
/// bins, or the samples for the inverse) and combined there, and the twiddles W_L^k are kept for
/// k <= L / 4 only: beside its complex plan, a plan holds L / 4 + 1 roots and no work array. An
/// odd L runs as a complex DFT of L points, through a work array of L values. Built once per
/// length (it allocates, and throws `dimension_error` for L < 1); `forward` and `inverse` then
/// allocate nothing. They use the object's work buffers: one object per thread.
class RealFFT {
 public:
  using cplx = std::complex<double>;

  explicit RealFFT(Eigen::Index n) : n_(n), plan_(complex_length(n)) {
    if (n % 2 != 0) {
      work_.resize(std::size_t(n));
      return;
    }
    twiddle_ = detail::unit_roots(std::size_t(n), std::size_t(n / 4 + 1));
  }

  [[nodiscard]] Eigen::Index size() const noexcept { return n_; }

  /// The bytes the plan holds (its complex plan's, its twiddles and its work array).
  [[nodiscard]] std::size_t bytes() const noexcept {
    return plan_.bytes() + (twiddle_.capacity() + work_.capacity()) * sizeof(cplx);
  }

  /// bins[k] = sum_t x[t] e^{-2 pi i k t / L}, k = 0 ... L / 2, for L values at x.
  void forward(const double* x, cplx* bins) noexcept {
    const auto n = std::size_t(n_);
    if (n % 2 != 0) {
      for (std::size_t t = 0; t < n; ++t) work_[t] = x[t];
      plan_.forward(work_.data(), work_.data());
      for (std::size_t k = 0; k <= n / 2; ++k) bins[k] = work_[k];
      return;
    }
    const std::size_t h = n / 2;
    // Z (x read as h complex values) into bins[0 ... h), as doubles: std::complex is an array of
    // two, and g++ kept std::complex temporaries on the stack in the loop below (two 8-byte
    // stores, then a 16-byte load that cannot be forwarded from them): a held transform took
    // 2-3x as long
    double* z = reinterpret_cast<double*>(bins);
    plan_.forward(x, z);
    const double* w = reinterpret_cast<const double*>(twiddle_.data());
    // k = 0 and h: E = Re Z[0], O = Im Z[0]
    const double z0 = z[0], z1 = z[1];
    z[0] = z0 + z1;
    z[1] = 0;
    z[2 * h] = z0 - z1;
    z[2 * h + 1] = 0;
    for (std::size_t k = 1, j = h - 1; k < j; ++k, --j) {
      const double ar = z[2 * k], ai = z[2 * k + 1], br = z[2 * j], bi = z[2 * j + 1];
      const double wr = w[2 * k], wi = w[2 * k + 1];
      const double er = 0.5 * (ar + br), ei = 0.5 * (ai - bi);
      const double dr = 0.5 * (ar - br), di = 0.5 * (ai + bi);
      // X[k] = E + W O and X[j] = conj(E - W O), with E = (er, ei), O = (di, -dr)
      const double pr = di * wr + dr * wi, pi = di * wi - dr * wr;
      z[2 * k] = er + pr;
      z[2 * k + 1] = ei + pi;
      z[2 * j] = er - pr;
      z[2 * j + 1] = pi - ei;
    }
    // k = h / 2 (h even): E and O are real there, and W_L^{L / 4} = -i: X = E - i O = conj Z
    if (h % 2 == 0) z[h + 1] = -z[h + 1];
  }

  /// x[t] = (1 / L) sum_{k < L} X[k] e^{2 pi i k t / L}, X[L - k] = conj X[k], from bins
  /// X[0 ... L / 2] (the imaginary parts of X[0] and, for even L, X[L / 2] ignored).
  void inverse(const cplx* bins, double* x) noexcept {
    const auto n = std::size_t(n_);
    if (n % 2 != 0) {
      work_[0] = bins[0].real();
      for (std::size_t k = 1; k <= n / 2; ++k) {
        work_[k] = bins[k];
        work_[n - k] = std::conj(bins[k]);
      }
      plan_.inverse(work_.data(), work_.data());
      for (std::size_t t = 0; t < n; ++t) x[t] = work_[t].real();
      return;
    }
    const std::size_t h = n / 2;
    // Z into x, as h complex values; k = 0: E = (X[0] + X[h]) / 2, O = (X[0] - X[h]) / 2, both
    // real
    const double* in = reinterpret_cast<const double*>(bins);  // as forward's
    const double* w = reinterpret_cast<const double*>(twiddle_.data());
    x[0] = 0.5 * (in[0] + in[2 * h]);
    x[1] = 0.5 * (in[0] - in[2 * h]);
    for (std::size_t k = 1, j = h - 1; k < j; ++k, --j) {
      const double ar = in[2 * k], ai = in[2 * k + 1], br = in[2 * j], bi = in[2 * j + 1];
      const double wr = w[2 * k], wi = w[2 * k + 1];
      const double er = 0.5 * (ar + br), ei = 0.5 * (ai - bi);
      const double dr = 0.5 * (ar - br), di = 0.5 * (ai + bi);
      // O = (X[k] - conj X[j]) conj(W) / 2 = (dr, di) conj(W); Z[k] = E + i O and Z[j] =
      // conj(E) + i conj(O)
      const double o_re = dr * wr + di * wi, o_im = di * wr - dr * wi;
      x[2 * k] = er - o_im;
      x[2 * k + 1] = ei + o_re;
      x[2 * j] = er + o_im;
      x[2 * j + 1] = o_re - ei;
    }
    // k = h / 2 (h even): Z = conj X (as in forward)
    if (h % 2 == 0) {
      x[h] = in[h];
      x[h + 1] = -in[h + 1];
    }
    plan_.inverse(x, x);  // in place: x[2t] + i x[2t + 1] = z[t]
  }

 private:
  static Eigen::Index complex_length(Eigen::Index n) {
    if (n < 1) DENDRITE_THROW(dimension_error, "RealFFT: expected a length of at least 1, got ", n);
    return n % 2 == 0 ? n / 2 : n;
  }

  Eigen::Index n_;
  FFT plan_;
  std::vector<cplx> twiddle_;  // W_L^k, k = 0 ... L / 4 (even L)
  std::vector<cplx> work_;     // odd L: the values as complex ones
};

namespace detail {
/// The plans `fft`, `ifft`, `rfft`, `irfft` and `minimum_phase` reuse: each thread keeps its
/// last `count` plans of each kind (`FFT`, `RealFFT`), at most `budget` bytes of them, and drops
/// the least recently used first; a plan of more than `budget` bytes is made for the call and
/// dropped after it. pocketfft (SciPy's `scipy.fft`) keeps its last plans in the same way, one
/// cache for all threads behind a lock; these plans have work arrays of their own, so each
/// thread has its own cache and takes no lock. Without it every call made its plan: a plan of
/// 4 096 real points costs several times its transform, and a call's allocations then end at
/// the top of the heap, which glibc gives back to the system and takes again, page by page, on
/// the next call (bench/README.md). `release_fft_plans()` empties this thread's caches.
template <class Plan>
class PlanCache {
 public:
  static constexpr std::size_t kCount = 8;
  static constexpr std::size_t kBudget = std::size_t(32) << 20;

  /// This thread's cache of plans of this kind.
  static PlanCache& local() {
    thread_local PlanCache cache;
    return cache;
  }

  /// The plan for n: the cached one, or one made now and cached (dropping the least recently
  /// used to stay within `count` plans and `budget` bytes), or, past the budget, one made into
  /// `uncached`, which the caller holds for the call. Throws as the plan's constructor does
  /// (`dimension_error` for n < 1), and then leaves the cache as it was.
  Plan& get(Eigen::Index n, std::unique_ptr<Plan>& uncached, std::size_t count = kCount,
            std::size_t budget = kBudget) {
    for (std::size_t i = entries_.size(); i-- > 0;) {
      if (entries_[i].plan->size() != n) continue;
      // to the back: most recently used
      std::rotate(entries_.begin() + std::ptrdiff_t(i), entries_.begin() + std::ptrdiff_t(i) + 1,
                  entries_.end());
      return *entries_.back().plan;
    }
    auto plan = std::make_unique<Plan>(n);
    const std::size_t size = plan->bytes();
    if (size > budget || count == 0) {
      uncached = std::move(plan);
      return *uncached;
    }
    while (!entries_.empty() && (entries_.size() >= count || bytes_ + size > budget)) {
      bytes_ -= entries_.front().bytes;
      entries_.erase(entries_.begin());
    }
    entries_.push_back({std::move(plan), size});
    bytes_ += size;
    return *entries_.back().plan;
  }

  /// The plans held, least recently used first, and their bytes.
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
  [[nodiscard]] Eigen::Index length(std::size_t i) const noexcept {
    return entries_[i].plan->size();
  }
  [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }

  /// Drops every plan.
  void clear() noexcept {
    entries_.clear();
    bytes_ = 0;
  }

 private:
  struct Entry {
    std::unique_ptr<Plan> plan;
    std::size_t bytes;
  };
  std::vector<Entry> entries_;  // least recently used first
  std::size_t bytes_ = 0;
};
}  // namespace detail

/// Drops the plans this thread's `fft`, `ifft`, `rfft`, `irfft` and `minimum_phase` calls kept
/// for reuse (at most 8 plans and 32 MiB of each kind, `FFT` and `RealFFT`; see
/// `detail::PlanCache`), and returns the bytes they held.
inline std::size_t release_fft_plans() noexcept {
  auto& complex = detail::PlanCache<FFT>::local();
  auto& real = detail::PlanCache<RealFFT>::local();
  const std::size_t held = complex.bytes() + real.bytes();
  complex.clear();
  real.clear();
  return held;
}

/// A complex vector over the analysis scalar.
template <AnalysisScalar S>
using VectorXc = Eigen::Matrix<std::complex<S>, Eigen::Dynamic, 1>;
/// A complex matrix over the analysis scalar.
template <AnalysisScalar S>
using MatrixXc = Eigen::Matrix<std::complex<S>, Eigen::Dynamic, Eigen::Dynamic>;

namespace detail {
// The n-point spectrum of a real sequence from its one-sided bins (count of them at `bins`; only
// 0 ... n / 2 are read, those past count are 0), times `scale`, added to out[0 ... n), the
// imaginary parts of bins 0 and n / 2 ignored: istft's, two segments' spectra on one lane.
inline void add_hermitian(const std::complex<double>* bins, Eigen::Index count, Eigen::Index n,
                          std::complex<double> scale, std::complex<double>* out) noexcept {
  const Eigen::Index used = std::min(count, n / 2 + 1);
  for (Eigen::Index k = 0; k < used; ++k) {
    if (k == 0 || 2 * k == n) {
      out[k] += scale * bins[k].real();
    } else {
      out[k] += scale * bins[k];
      out[n - k] += scale * std::conj(bins[k]);
    }
  }
}

template <AnalysisScalar S>
VectorXc<S> transform_once(const VectorXc<S>& x, bool inverse) {
  std::unique_ptr<FFT> uncached;
  FFT& plan = PlanCache<FFT>::local().get(x.size(), uncached);
  VectorXc<S> out(x.size());
  if (inverse) {
    plan.inverse(x.data(), out.data());
  } else {
    plan.forward(x.data(), out.data());
  }
  return out;
}
}  // namespace detail

/// `numpy.fft.fft(x)`: the n-point DFT of x. Throws `dimension_error` for an empty x.
template <AnalysisScalar S = double>
[[nodiscard]] VectorXc<S> fft(const std::type_identity_t<VectorXc<S>>& x) {
  return detail::transform_once<S>(x, false);
}

/// `numpy.fft.ifft(x)`: the inverse DFT, 1 / n included. Throws `dimension_error` for an empty x.
template <AnalysisScalar S = double>
[[nodiscard]] VectorXc<S> ifft(const std::type_identity_t<VectorXc<S>>& x) {
  return detail::transform_once<S>(x, true);
}

/// `numpy.fft.rfft(x)`: bins 0 ... n / 2 of the DFT of a real x, by this thread's cached
/// `RealFFT` of length n (made on the first call; `detail::PlanCache`), an even n as a complex
/// DFT of n / 2 points. Throws `dimension_error` for an empty x.
template <AnalysisScalar S = double>
[[nodiscard]] VectorXc<S> rfft(const std::type_identity_t<Eigen::Ref<const VectorX<S>>>& x) {
  std::unique_ptr<RealFFT> uncached;
  RealFFT& plan = detail::PlanCache<RealFFT>::local().get(x.size(), uncached);
  VectorXc<S> z(x.size() / 2 + 1);
  plan.forward(x.data(), z.data());
  return z;
}

/// `numpy.fft.irfft(z, n)`: the real n-point sequence whose `rfft` is z, from z's bins 0 ... n / 2
/// (zero-padded or cut there), the imaginary parts of bin 0 and, for even n, of bin n / 2
/// ignored; n = -1: 2 (z.size() - 1). By a `RealFFT`, as `rfft`. Throws `dimension_error` for
/// n < 1 (or an n = -1 that gives one).
template <AnalysisScalar S = double>
[[nodiscard]] VectorX<S> irfft(const std::type_identity_t<VectorXc<S>>& z, Eigen::Index n = -1) {
  const Eigen::Index length = n < 0 ? 2 * (z.size() - 1) : n;
  if (length < 1) {
    DENDRITE_THROW(dimension_error, "irfft: expected an output length n >= 1, got ", length,
                   n < 0 ? " (2 (z.size() - 1))" : "");
  }
  const Eigen::Index bins = length / 2 + 1, given = std::min(bins, z.size());
  VectorXc<S> half = VectorXc<S>::Zero(bins);
  half.head(given) = z.head(given);
  std::unique_ptr<RealFFT> uncached;
  RealFFT& plan = detail::PlanCache<RealFFT>::local().get(length, uncached);
  VectorX<S> x(length);
  plan.inverse(half.data(), x.data());
  return x;
}

/// What `welch` removes from each segment before windowing (SciPy's `detrend`: False,
/// 'constant', 'linear').
enum class Detrend : std::uint8_t { None, Constant, Linear };

/// `welch`'s units: V^2/Hz (SciPy's 'density') or V^2 ('spectrum').
enum class SpectrumScaling : std::uint8_t { Density, Spectrum };

/// How `welch` averages the segments' periodograms (SciPy's `average`).
enum class SpectrumAverage : std::uint8_t { Mean, Median };

/// How `stft` extends a row of N samples by n = nperseg / 2 samples past each end (SciPy's
/// `boundary`): Zeros (the default), Even x[-k] = x[k], Odd x[-k] = 2 x[0] - x[k], Constant
/// x[-k] = x[0], and the mirror images at the far end, x[N-1+k] from x[N-1-k] and x[N-1]; None,
/// no extension. `istft` drops n samples at each end for any of them but None.
enum class StftBoundary : std::uint8_t { Zeros, Even, Odd, Constant, None };

/// `welch`'s options, SciPy's defaults: 256-sample Hann segments overlapping by half, each
/// transformed at its own length, its mean removed, a density, the mean over segments.
struct WelchOptions {
  Eigen::Index nperseg = 256;  ///< segment length (ignored when `values` are given)
  Eigen::Index noverlap = -1;  ///< samples shared by neighbouring segments; -1: nperseg / 2
  Eigen::Index nfft = -1;      ///< transform length >= nperseg (zero-padded); -1: nperseg
  Window window = Window::Hann;
  double alpha = 0.25;     ///< Tukey's taper fraction, or Kaiser's beta (`Window::Kaiser`)
  Eigen::VectorXd values;  ///< the window itself, with `Window::Values`; its size is nperseg
  Detrend detrend = Detrend::Constant;
  SpectrumScaling scaling = SpectrumScaling::Density;
  SpectrumAverage average = SpectrumAverage::Mean;
};

/// `welch`'s result: the frequencies (Hz) and one row of power per row of the signal.
template <AnalysisScalar S = double>
struct Spectrum {
  VectorX<S> f;  ///< nfft / 2 + 1 frequencies k fs / nfft
  MatrixX<S> p;  ///< channels x frequencies
};

/// `csd`'s result: the frequencies (Hz) and one row of complex cross power per pair of rows.
template <AnalysisScalar S = double>
struct CrossSpectrum {
  VectorX<S> f;   ///< k fs / nfft
  MatrixXc<S> p;  ///< channels x frequencies
};

namespace detail {

// Throws `numerical_error` unless the sampling rate fs is positive and finite.
inline void check_sampling_rate(const char* name, double fs) {
  if (!(fs > 0) || !std::isfinite(fs)) {
    DENDRITE_THROW(numerical_error, name, ": expected a sampling rate fs > 0, got ", fs);
  }
}

// Bin k of the transforms A and B of two real sequences a and b, from the n values of
// Z = DFT_n(a + i b) at z: A[k] = (Z[k] + conj Z[n - k]) / 2, B[k] = (Z[k] - conj Z[n - k]) / 2i
// (V: one complex value, or `ComplexLanes`, a pair of sequences per lane).
template <class V>
std::array<V, 2> real_pair_bins(const V* z, Eigen::Index n, Eigen::Index k) noexcept {
  using std::conj;
  const V zk = z[k], mirror = conj(z[k == 0 ? 0 : n - k]);
  return {0.5 * (zk + mirror), 0.5 * minus_i(zk - mirror)};
}

// Lane l of z[0 ... n) into out[l n ... (l + 1) n), for the lanes l < used.
inline void split_lanes(const ComplexLanes* z, Eigen::Index n, Eigen::Index used,
                        std::complex<double>* out) noexcept {
  constexpr auto lanes = Eigen::Index(ComplexLanes::size);
  alignas(64) std::array<double, 2 * ComplexLanes::size> parts{};
  for (Eigen::Index k = 0; k < n; ++k) {
    z[k].re.store_aligned(parts.data());
    z[k].im.store_aligned(parts.data() + lanes);
    for (Eigen::Index l = 0; l < used; ++l) {
      out[l * n + k] = {parts[std::size_t(l)], parts[std::size_t(lanes + l)]};
    }
  }
}

// The inverse of `split_lanes` over every lane: lane l of out[k] = in[l n + k], k < n.
inline void join_lanes(const std::complex<double>* in, Eigen::Index n, ComplexLanes* out) noexcept {
  constexpr auto lanes = Eigen::Index(ComplexLanes::size);
  alignas(64) std::array<double, 2 * ComplexLanes::size> parts{};
  for (Eigen::Index k = 0; k < n; ++k) {
    for (Eigen::Index l = 0; l < lanes; ++l) {
      parts[std::size_t(l)] = in[l * n + k].real();
      parts[std::size_t(lanes + l)] = in[l * n + k].imag();
    }
    out[k] = {ComplexLanes::batch::load_aligned(parts.data()),
              ComplexLanes::batch::load_aligned(parts.data() + lanes)};
  }
}

// Welch's segments, for `welch`, `csd`, `coherence` and `spectrogram`: the options checked, the
// window and the one-sided scale; then, from rows copied contiguous (`load`), two detrended and
// windowed segments per transform (`transform`), z = a + i b, whose transforms are A[k] = (Z[k] +
// conj Z[-k]) / 2 and B[k] = (Z[k] - conj Z[-k]) / 2i (`pair_bins`). A template, as the
// analysis functions are, so that a file that includes the header and calls none of them pays
// nothing for it.
template <AnalysisScalar S>
class WelchSegments {
 public:
  // overlap_divisor: noverlap = -1 means nperseg / overlap_divisor (2 for Welch's estimates,
  // 8 for the spectrogram)
  WelchSegments(const char* name, Eigen::Index n, double fs, const WelchOptions& o,
                Eigen::Index overlap_divisor = 2)
      : o_(o), n_(n) {
    const bool given = o.window == Window::Values;
    nperseg_ = given ? o.values.size() : o.nperseg;
    noverlap_ = o.noverlap < 0 ? nperseg_ / overlap_divisor : o.noverlap;
    nfft_ = o.nfft < 0 ? nperseg_ : o.nfft;
    check_sampling_rate(name, fs);
    if (nperseg_ < 1 || nperseg_ > n) {
      DENDRITE_THROW(dimension_error, name, ": expected segments of 1 to ", n,
                     " samples (the rows' length), got nperseg ", nperseg_,
                     given ? " (the window's size)" : "",
                     "; SciPy shortens such a segment to the signal with a warning");
    }
    if (noverlap_ >= nperseg_) {
      DENDRITE_THROW(dimension_error, name, ": expected noverlap below nperseg (", nperseg_,
                     "), got ", noverlap_);
    }
    if (nfft_ < nperseg_) {
      DENDRITE_THROW(dimension_error, name, ": expected nfft >= nperseg (", nperseg_, "), got ",
                     nfft_);
    }
    w_ = given ? ArrayX<S>(o.values) : window<S>(o.window, nperseg_, o.alpha).array();
    if (!w_.allFinite()) DENDRITE_THROW(numerical_error, name, ": the window contains NaN or Inf");
    step_ = nperseg_ - noverlap_;
    extend(0, n);
    bins_ = nfft_ / 2 + 1;
    // the scale, doubled but at 0 and, for even nfft, at nfft / 2 (the one-sided spectrum)
    const double scale = o.scaling == SpectrumScaling::Density
                             ? 1.0 / (fs * w_.square().sum())
                             : 1.0 / (w_.sum() * w_.sum());
    gain_ = ArrayX<S>::Constant(bins_, 2.0 * scale);
    gain_(0) = scale;
    if (nfft_ % 2 == 0) gain_(bins_ - 1) = scale;
    ramp_ = ArrayX<S>::LinSpaced(nperseg_, 0, double(nperseg_ - 1)) -
            0.5 * double(nperseg_ - 1);
    plan_.emplace(nfft_);
    lanes_.resize(std::size_t(nfft_));
    z_.resize(std::size_t(kLanes * nfft_));
    a_.resize(kLanes, nperseg_);
    b_.resize(kLanes, nperseg_);
    y_.resize(nperseg_);
  }

  [[nodiscard]] Eigen::Index segments() const noexcept { return segments_; }
  [[nodiscard]] Eigen::Index nperseg() const noexcept { return nperseg_; }
  [[nodiscard]] Eigen::Index nfft() const noexcept { return nfft_; }
  [[nodiscard]] Eigen::Index step() const noexcept { return step_; }
  [[nodiscard]] const ArrayX<S>& window_values() const noexcept { return w_; }
  // `load`'s rows of n samples, the signal's from sample `before`, `before` samples of the
  // kind `edge` past each of its ends and zeros after them (at construction the signal itself;
  // `stft` extends it after the checks)
  void extend(Eigen::Index before, Eigen::Index n,
              StftBoundary edge = StftBoundary::Zeros) noexcept {
    before_ = before;
    n_ = n;
    edge_ = edge;
    segments_ = (n - noverlap_) / step_;
  }
  [[nodiscard]] Eigen::Index length() const noexcept { return n_; }
  [[nodiscard]] Eigen::Index bins() const noexcept { return bins_; }
  [[nodiscard]] double gain(Eigen::Index k) const noexcept { return gain_(k); }
  [[nodiscard]] VectorX<S> frequencies(double fs) const {
    return VectorX<S>::LinSpaced(bins_, 0, double(bins_ - 1)) * (fs / double(nfft_));
  }
  // the segments' centres, (nperseg / 2 + s step) / fs
  [[nodiscard]] VectorX<S> times(double fs) const {
    VectorX<S> t(segments_);
    for (Eigen::Index s = 0; s < segments_; ++s) {
      t(s) = (0.5 * double(nperseg_) + double(s * step_)) / fs;
    }
    return t;
  }

  // Rows r ... r + 7 (fewer at the end) of x into `rows`, each whole and contiguous: a column
  // of x holds them side by side, so the copy reads whole cache lines (reading a row's
  // segments straight from x took half of `welch`'s time at 64 channels).
  static constexpr Eigen::Index kBlock = 8;
  void load(const AnalysisRef<S>& x, Eigen::Index r, std::vector<S>& rows) const {
    const Eigen::Index count = std::min(kBlock, x.rows() - r);
    rows.resize(std::size_t(std::min(kBlock, x.rows()) * n_));
    if (n_ != x.cols()) std::fill(rows.begin(), rows.end(), S(0));
    for (Eigen::Index t = 0; t < x.cols(); ++t) {
      for (Eigen::Index i = 0; i < count; ++i) {
        rows[std::size_t(i * n_ + before_ + t)] = x(r + i, t);
      }
    }
    if (edge_ == StftBoundary::Zeros || edge_ == StftBoundary::None) return;
    // x[-j] at before - j (from x[j]) and x[N-1+j] at before + N - 1 + j (from x[N-1-j]);
    // extend() is given before <= N - 1 for Even and Odd, so the sources are inside the signal
    const Eigen::Index last = x.cols() - 1;
    for (Eigen::Index i = 0; i < count; ++i) {
      S* row = rows.data() + i * n_ + before_;
      for (Eigen::Index j = 1; j <= before_; ++j) {
        S head = row[0], tail = row[last];
        if (edge_ != StftBoundary::Constant) {
          head = row[j];
          tail = row[last - j];
        }
        if (edge_ == StftBoundary::Odd) {
          head = 2 * row[0] - head;
          tail = 2 * row[last] - tail;
        }
        row[-j] = head;
        row[last + j] = tail;
      }
    }
  }

  // The transforms' lanes (`ComplexLanes`): this many complex transforms at once.
  static constexpr Eigen::Index kLanes = Eigen::Index(ComplexLanes::size);
  // A lane's transform: z = DFT_nfft(a + i b), a segment sa of row ra, b segment sb of row rb
  // (none if null).
  struct Pair {
    const double* ra;
    Eigen::Index sa;
    const double* rb;
    Eigen::Index sb;
  };
  // The transforms of pairs[0 ... used - 1] (used <= kLanes) on the lanes; lane 0 selected.
  void transform(const Pair* pairs, Eigen::Index used) noexcept {
    for (Eigen::Index l = 0; l < kLanes; ++l) {
      if (l < used) {
        prepare(pairs[l].ra, pairs[l].sa, y_);
        a_.row(l) = y_.transpose();
      } else {
        a_.row(l).setZero();
      }
      if (l < used && pairs[l].rb != nullptr) {
        prepare(pairs[l].rb, pairs[l].sb, y_);
        b_.row(l) = y_.transpose();
      } else {
        b_.row(l).setZero();
      }
    }
    using batch = ComplexLanes::batch;
    for (Eigen::Index t = 0; t < nperseg_; ++t) {
      lanes_[std::size_t(t)] = {batch::load_unaligned(a_.col(t).data()),
                                batch::load_unaligned(b_.col(t).data())};
    }
    std::fill(lanes_.begin() + std::ptrdiff_t(nperseg_), lanes_.end(),
              fft_zero<ComplexLanes>());
    plan_->forward(lanes_.data(), lanes_.data());
    split_lanes(lanes_.data(), nfft_, used, z_.data());  // each lane contiguous, for pair_bins
    lane_ = 0;
  }
  // pair_bins reads lane l's transform
  void select(Eigen::Index l) noexcept { lane_ = l; }
  // bin k of the transforms of a and b
  [[nodiscard]] std::array<std::complex<double>, 2> pair_bins(Eigen::Index k) const noexcept {
    return real_pair_bins(z_.data() + lane_ * nfft_, nfft_, k);
  }

 private:
  // y = segment s of `row`, detrended and windowed
  void prepare(const double* row, Eigen::Index s, VectorX<S>& y) const noexcept {
    y = Eigen::Map<const VectorX<S>>(row + s * step_, nperseg_);
    const double mean = o_.detrend == Detrend::None ? 0.0 : y.mean();
    double slope = 0;
    if (o_.detrend == Detrend::Linear && nperseg_ > 1) {
      slope = (ramp_ * (y.array() - mean)).sum() / ramp_.square().sum();
    }
    y = ((y.array() - mean) - slope * ramp_) * w_;
  }

  const WelchOptions& o_;
  Eigen::Index n_, before_ = 0, nperseg_ = 0, noverlap_ = 0, nfft_ = 0, step_ = 1, segments_ = 0,
      bins_ = 0;
  StftBoundary edge_ = StftBoundary::Zeros;
  ArrayX<S> w_, gain_, ramp_;
  std::optional<LaneFFT> plan_;
  std::vector<ComplexLanes> lanes_;   // the lanes' values
  std::vector<std::complex<double>> z_;  // lane l's transform at l nfft ... (l + 1) nfft - 1
  Eigen::Index lane_ = 0;
  MatrixX<S> a_, b_;  // kLanes x nperseg: the lanes' segments a and b, sample t in column t
  VectorX<S> y_;
};

// The median of v (the mean of the middle two for an even count; v is reordered) divided by
// SciPy's bias of the median of chi^2_2 variables, 1 + sum_{j=1}^{(K-1)/2} (1 / (2j + 1) -
// 1 / (2j)).
template <AnalysisScalar S>
S biased_median(std::vector<S>& v) {
  const auto mid = v.begin() + std::ptrdiff_t(v.size() / 2);
  std::nth_element(v.begin(), mid, v.end());
  S med = *mid;
  if (v.size() % 2 == 0) med = 0.5 * (med + *std::max_element(v.begin(), mid));
  S bias = 1;
  for (std::size_t j = 1; j <= (v.size() - 1) / 2; ++j) {
    bias += 1.0 / double(2 * j + 1) - 1.0 / double(2 * j);
  }
  return med / bias;
}

// Throws `numerical_error` if a sample of x is NaN or Inf.
template <AnalysisScalar S>
void check_finite(const char* name, const AnalysisRef<S>& x) {
  if (!x.allFinite()) DENDRITE_THROW(numerical_error, name, ": the signal contains NaN or Inf");
}

// Checks csd's and coherence's two signals: one shape, every sample finite.
template <AnalysisScalar S>
void check_pair(const char* name, const AnalysisRef<S>& x, const AnalysisRef<S>& y) {
  if (x.rows() != y.rows() || x.cols() != y.cols()) {
    DENDRITE_THROW(dimension_error, name, ": expected x and y of one shape, got ", x.rows(), " x ",
                   x.cols(), " and ", y.rows(), " x ", y.cols());
  }
  check_finite<S>(name, x);
  check_finite<S>(name, y);
}

// Transforms queued for the lanes in order: add(pair, r, s) queues row r's segment s (and its
// partner); when the lanes are full, and at flush(), they are transformed and each(r, s) is
// called with that lane selected.
template <AnalysisScalar S, class Each>
class LaneQueue {
 public:
  LaneQueue(WelchSegments<S>& seg, Each each) : seg_(seg), each_(each) {}
  void add(const typename WelchSegments<S>::Pair& pair, Eigen::Index r, Eigen::Index s) {
    pairs_[std::size_t(used_)] = pair;
    row_[std::size_t(used_)] = r;
    segment_[std::size_t(used_)] = s;
    if (++used_ == kLanes) flush();
  }
  void flush() {
    if (used_ == 0) return;
    seg_.transform(pairs_.data(), used_);
    for (Eigen::Index l = 0; l < used_; ++l) {
      seg_.select(l);
      each_(row_[std::size_t(l)], segment_[std::size_t(l)]);
    }
    used_ = 0;
  }

 private:
  static constexpr Eigen::Index kLanes = WelchSegments<S>::kLanes;
  WelchSegments<S>& seg_;
  Each each_;
  std::array<typename WelchSegments<S>::Pair, kLanes> pairs_{};
  std::array<Eigen::Index, kLanes> row_{}, segment_{};
  Eigen::Index used_ = 0;
};

// For each row r of x, the transforms of Welch's segments, segments s and s + 1 in one: visit(r,
// s, k, a, b) with a and b bin k of segments s and s + 1 (b = 0 when s is the last), then
// finish(r). The pairs of segments go to the transform's lanes in order, across rows of a block.
template <AnalysisScalar S, class Visit, class Finish>
void segment_transforms(WelchSegments<S>& seg, const AnalysisRef<S>& x, Visit visit,
                        Finish finish) {
  const Eigen::Index segments = seg.segments();
  std::vector<S> rows;
  LaneQueue queue(
      seg, [&](Eigen::Index r, Eigen::Index s) {
        const bool pair = s + 1 < segments;
        for (Eigen::Index k = 0; k < seg.bins(); ++k) {
          const auto [a, b] = seg.pair_bins(k);
          visit(r, s, k, a, pair ? b : std::complex<double>());
        }
        if (s + 2 >= segments) finish(r);
      });
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    if (r % seg.kBlock == 0) {
      queue.flush();
      seg.load(x, r, rows);
    }
    const double* row = rows.data() + (r % seg.kBlock) * seg.length();
    for (Eigen::Index s = 0; s < segments; s += 2) {
      queue.add({row, s, s + 1 < segments ? row : nullptr, s + 1}, r, s);
    }
  }
  queue.flush();
}

// One bins x segments matrix per row of x, m[r](k, s) = value(A, k) with A bin k of segment s's
// transform (`spectrogram`'s power, `stft`'s amplitudes).
template <AnalysisScalar S, class Matrix, class Value>
void segment_matrices(WelchSegments<S>& seg, const AnalysisRef<S>& x, std::vector<Matrix>& m,
                      Value value) {
  m.resize(std::size_t(x.rows()));
  for (Matrix& e : m) e.resize(seg.bins(), seg.segments());
  segment_transforms<S>(
      seg, x,
      [&](Eigen::Index r, Eigen::Index s, Eigen::Index k, std::complex<double> a,
          std::complex<double> b) {
        Matrix& e = m[std::size_t(r)];
        e(k, s) = value(a, k);
        if (s + 1 < e.cols()) e(k, s + 1) = value(b, k);
      },
      [](Eigen::Index) {});
}

// The samples the STFT's boundary adds past each end of the signal and `istft` drops:
// nperseg / 2, or none.
inline Eigen::Index stft_edge(StftBoundary boundary, Eigen::Index nperseg) noexcept {
  return boundary == StftBoundary::None ? 0 : nperseg / 2;
}

// The STFT's amplitude divisor: sum w ('spectrum') or sqrt(fs sum w^2) ('psd'); `stft` divides
// by it and `istft` multiplies by it.
template <AnalysisScalar S>
double stft_divisor(const ArrayX<S>& w, double fs, SpectrumScaling scaling) {
  return scaling == SpectrumScaling::Density ? std::sqrt(fs * w.square().sum()) : w.sum();
}

// For each row r of x and y: start(r), then visit(r, s) for each segment s, x's and y's
// segment s transformed together (`seg.pair_bins(k)` is x's and y's bin k), then finish(r). The
// segments go to the transform's lanes in order, across rows of a block.
template <AnalysisScalar S, class Start, class Visit, class Finish>
void cross_segments(WelchSegments<S>& seg, const AnalysisRef<S>& x, const AnalysisRef<S>& y,
                    Start start, Visit visit, Finish finish) {
  const Eigen::Index segments = seg.segments();
  std::vector<S> xrows, yrows;
  LaneQueue queue(
      seg, [&](Eigen::Index r, Eigen::Index s) {
        if (s == 0) start(r);
        visit(r, s);
        if (s + 1 == segments) finish(r);
      });
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    if (r % seg.kBlock == 0) {
      queue.flush();
      seg.load(x, r, xrows);
      seg.load(y, r, yrows);
    }
    const Eigen::Index at = (r % seg.kBlock) * seg.length();
    for (Eigen::Index s = 0; s < segments; ++s) {
      queue.add({xrows.data() + at, s, yrows.data() + at, s}, r, s);
    }
  }
  queue.flush();
}

}  // namespace detail

/// Welch's power spectral density of each row of x (channels x samples), sampled at fs Hz: SciPy's
/// `welch(x, fs, ...)` (see the file comment). Throws `dimension_error` for a segment longer
/// than the rows, noverlap outside [0, nperseg), nfft < nperseg or a window of the wrong size,
/// `numerical_error` for fs <= 0 or a NaN or Inf sample.
template <AnalysisScalar S = double>
[[nodiscard]] Spectrum<S> welch(const AnalysisRef<S>& x, double fs, const WelchOptions& o = {}) {
  detail::WelchSegments<S> seg("welch", x.cols(), fs, o);
  detail::check_finite<S>("welch", x);
  const Eigen::Index segments = seg.segments();
  const bool median = o.average == SpectrumAverage::Median;
  Spectrum<S> out;
  out.f = seg.frequencies(fs);
  out.p.setZero(x.rows(), seg.bins());
  Eigen::VectorXd sum(seg.bins());
  Eigen::MatrixXd each(seg.bins(), median ? segments : 0);  // one periodogram per column
  std::vector<S> col(static_cast<std::size_t>(segments));
  sum.setZero();
  detail::segment_transforms<S>(
      seg, x,
      [&](Eigen::Index, Eigen::Index s, Eigen::Index k, std::complex<double> a,
          std::complex<double> b) {
        const double pa = std::norm(a) * seg.gain(k), pb = std::norm(b) * seg.gain(k);
        if (median) {
          each(k, s) = pa;
          if (s + 1 < segments) each(k, s + 1) = pb;
        } else {
          sum(k) += pa + pb;
        }
      },
      [&](Eigen::Index r) {
        if (!median) {
          out.p.row(r) = sum.transpose() / double(segments);
          sum.setZero();
          return;
        }
        for (Eigen::Index k = 0; k < seg.bins(); ++k) {
          for (Eigen::Index s = 0; s < segments; ++s) col[std::size_t(s)] = each(k, s);
          out.p(r, k) = detail::biased_median<S>(col);
        }
      });
  return out;
}

/// The cross power spectral density of each row of x with the same row of y (both channels x
/// samples, at fs Hz): SciPy's `csd(x, y, fs, ...)`, Welch's method on conj(X_s[k]) Y_s[k] over
/// the segments s, scaled and made one-sided as `welch`'s (see the file comment); the median
/// takes the real and imaginary parts' medians apart, as SciPy does. csd(x, x) = welch(x).
/// Throws as `welch`, and `dimension_error` for x and y of different shapes.
template <AnalysisScalar S = double>
[[nodiscard]] CrossSpectrum<S> csd(const AnalysisRef<S>& x, const AnalysisRef<S>& y, double fs,
                                   const WelchOptions& o = {}) {
  detail::WelchSegments<S> seg("csd", x.cols(), fs, o);
  detail::check_pair<S>("csd", x, y);
  const Eigen::Index segments = seg.segments(), bins = seg.bins();
  const bool median = o.average == SpectrumAverage::Median;
  CrossSpectrum<S> out;
  out.f = seg.frequencies(fs);
  out.p.setZero(x.rows(), bins);
  Eigen::VectorXcd sum(bins);
  Eigen::MatrixXcd each(bins, median ? segments : 0);
  std::vector<S> re(static_cast<std::size_t>(segments)), im(static_cast<std::size_t>(segments));
  detail::cross_segments<S>(
      seg, x, y, [&](Eigen::Index) { sum.setZero(); },
      [&](Eigen::Index, Eigen::Index s) {
        for (Eigen::Index k = 0; k < bins; ++k) {
          const auto [a, b] = seg.pair_bins(k);
          const std::complex<double> v = std::conj(a) * b * seg.gain(k);
          if (median) {
            each(k, s) = v;
          } else {
            sum(k) += v;
          }
        }
      },
      [&](Eigen::Index r) {
        if (!median) {
          out.p.row(r) = sum.transpose() / double(segments);
          return;
        }
        for (Eigen::Index k = 0; k < bins; ++k) {
          for (Eigen::Index s = 0; s < segments; ++s) {
            re[std::size_t(s)] = each(k, s).real();
            im[std::size_t(s)] = each(k, s).imag();
          }
          out.p(r, k) = {detail::biased_median<S>(re), detail::biased_median<S>(im)};
        }
      });
  return out;
}

/// The magnitude-squared coherence of each row of x with the same row of y: SciPy's
/// `coherence(x, y, fs, ...)`, |Pxy|^2 / (Pxx Pyy) with Pxy, Pxx and Pyy Welch's estimates over
/// the same segments (the mean over segments, as SciPy's; in [0, 1], 1 where y is a linear
/// filter of x, about 1 / K for independent signals over K segments). Throws as `csd`, and
/// `dimension_error` for `SpectrumAverage::Median` (SciPy's coherence has only the mean).
template <AnalysisScalar S = double>
[[nodiscard]] Spectrum<S> coherence(const AnalysisRef<S>& x, const AnalysisRef<S>& y, double fs,
                                    const WelchOptions& o = {}) {
  if (o.average != SpectrumAverage::Mean) {
    DENDRITE_THROW(dimension_error, "coherence: expected SpectrumAverage::Mean (SciPy's "
                   "coherence averages by the mean), got Median");
  }
  detail::WelchSegments<S> seg("coherence", x.cols(), fs, o);
  detail::check_pair<S>("coherence", x, y);
  const Eigen::Index bins = seg.bins();
  Spectrum<S> out;
  out.f = seg.frequencies(fs);
  out.p.setZero(x.rows(), bins);
  Eigen::VectorXcd pxy(bins);
  Eigen::VectorXd pxx(bins), pyy(bins);
  detail::cross_segments<S>(
      seg, x, y,
      [&](Eigen::Index) {
        pxy.setZero();
        pxx.setZero();
        pyy.setZero();
      },
      [&](Eigen::Index, Eigen::Index) {
        for (Eigen::Index k = 0; k < bins; ++k) {
          const auto [a, b] = seg.pair_bins(k);
          pxy(k) += std::conj(a) * b;
          pxx(k) += std::norm(a);
          pyy(k) += std::norm(b);
        }
      },
      [&](Eigen::Index r) {  // the scale and the count of segments cancel
        out.p.row(r) = (pxy.cwiseAbs2().array() / pxx.array() / pyy.array()).matrix().transpose();
      });
  return out;
}

/// `spectrogram`'s options: SciPy's defaults, a Tukey window (alpha 0.25) and noverlap = -1
/// meaning nperseg / 8; the rest as `welch`'s (`average` is not used).
struct SpectrogramOptions : WelchOptions {
  SpectrogramOptions() { window = Window::Tukey; }
};

/// `spectrogram`'s result: the frequencies (Hz), the segments' centres (s), and per row of the
/// signal a frequencies x segments matrix of power.
template <AnalysisScalar S = double>
struct Spectrogram {
  VectorX<S> f;               ///< nfft / 2 + 1 frequencies k fs / nfft
  VectorX<S> t;               ///< (nperseg / 2 + s (nperseg - noverlap)) / fs
  std::vector<MatrixX<S>> p;  ///< p[channel](k, s)
};

/// The spectrogram of each row of x (channels x samples): SciPy's `spectrogram(x, fs, ...)` with
/// its default mode ('psd'), each of Welch's segments' scaled one-sided periodogram kept apart
/// (see the file comment); their mean over the segments is `welch` with the same options.
/// Throws as `welch`.
template <AnalysisScalar S = double>
[[nodiscard]] Spectrogram<S> spectrogram(const AnalysisRef<S>& x, double fs,
                                         const SpectrogramOptions& o = {}) {
  detail::WelchSegments<S> seg("spectrogram", x.cols(), fs, o, 8);
  detail::check_finite<S>("spectrogram", x);
  Spectrogram<S> out;
  out.f = seg.frequencies(fs);
  out.t = seg.times(fs);
  detail::segment_matrices<S>(seg, x, out.p, [&](std::complex<double> a, Eigen::Index k) {
    return std::norm(a) * seg.gain(k);
  });
  return out;
}

/// `stft`'s and `istft`'s options: SciPy's defaults, 256-sample Hann segments overlapping by
/// half, no detrending, 'spectrum' scaling (`SpectrumScaling::Density` is SciPy's 'psd'), the
/// signal extended by nperseg / 2 samples at each end (`boundary`, zeros as SciPy's default, or
/// SciPy's 'even', 'odd', 'constant' or None) and then by zeros to a whole number of segments
/// (`padded`); `average` is not used.
struct StftOptions : WelchOptions {
  StftBoundary boundary = StftBoundary::Zeros;  ///< the extension past each end
  bool padded = true;  ///< zeros after the extended signal up to a whole number of segments
  StftOptions() {
    detrend = Detrend::None;
    scaling = SpectrumScaling::Spectrum;
  }
};

/// `stft`'s result: the frequencies (Hz), the segments' centres (s) and per row of the signal a
/// frequencies x segments matrix of complex amplitudes.
template <AnalysisScalar S = double>
struct Stft {
  VectorX<S> f;                ///< nfft / 2 + 1 frequencies k fs / nfft
  VectorX<S> t;                ///< s (nperseg - noverlap) / fs, + nperseg / (2 fs) if unextended
  std::vector<MatrixXc<S>> z;  ///< z[channel](k, s)
};

/// The short-time Fourier transform of each row of x (channels x samples): SciPy's `stft(x, fs,
/// ...)`, Z_s[k] = c sum_t w[t] x_e[s H + t] e^{-2 pi i k t / nfft} for the rows x_e extended as
/// the options say (H = nperseg - noverlap), c = 1 / sum w ('spectrum': a tone A cos(2 pi f t)
/// at a bin has |Z| = A / 2) or 1 / sqrt(fs sum w^2) ('psd'); one-sided, k = 0 ... nfft / 2.
/// Throws as `welch` (nperseg is checked against the signal's length, where SciPy shortens it
/// with a warning), before `out` is touched. This form writes into `out`, reusing its storage
/// where the shapes match: a loop over recordings of one shape then maps its output's memory in
/// once (the first touch of fresh pages costs more than the transforms; see bench/README.md).
template <AnalysisScalar S = double>
void stft(const AnalysisRef<S>& x, double fs, const StftOptions& o, Stft<S>& out) {
  detail::WelchSegments<S> seg("stft", x.cols(), fs, o);
  detail::check_finite<S>("stft", x);
  const Eigen::Index half = detail::stft_edge(o.boundary, seg.nperseg());  // < x.cols() if > 0
  Eigen::Index length = x.cols() + 2 * half;
  if (o.padded) length += (seg.step() - (length - seg.nperseg()) % seg.step()) % seg.step();
  seg.extend(half, length, o.boundary);
  const double c = 1.0 / detail::stft_divisor<S>(seg.window_values(), fs, o.scaling);
  out.f = seg.frequencies(fs);
  out.t = seg.times(fs);
  if (o.boundary != StftBoundary::None) out.t.array() -= 0.5 * double(seg.nperseg()) / fs;
  detail::segment_matrices<S>(seg, x, out.z,
                              [c](std::complex<double> a, Eigen::Index) { return a * c; });
}

/// `stft` into a new result.
template <AnalysisScalar S = double>
[[nodiscard]] Stft<S> stft(const AnalysisRef<S>& x, double fs, const StftOptions& o = {}) {
  Stft<S> out;
  stft<S>(x, fs, o, out);
  return out;
}

/// The inverse short-time Fourier transform: SciPy's `istft(z, fs, ...)` with the options the
/// STFT was made with. Each segment's inverse transform (`numpy.fft.irfft` at nfft, its first
/// nperseg samples, c undone) is windowed and overlap-added, and the sum is divided by
/// sum_s w^2[t - s H], the least-squares signal of Griffin and Lim (IEEE TASSP 1984) whose STFT
/// is nearest to z; with a `boundary` but None, nperseg / 2 samples are dropped at each end
/// (whatever the extension was). One row per channel of nperseg + (K - 1) H - 2 (nperseg / 2)
/// samples for K segments: `istft(stft(x))` begins with x, then what `stft` appended to it (the
/// boundary's extension, then the padding's zeros). Throws
/// `dimension_error` for no channels, channels of different shapes or other than nfft / 2 + 1
/// bins, `numerical_error` for a NaN or Inf value or where the window and overlap fail the
/// nonzero overlap-add condition (sum_s w^2[t - s H] <= 1e-10 at a kept sample; SciPy warns and
/// leaves such samples undivided).
template <AnalysisScalar S = double>
[[nodiscard]] MatrixX<S> istft(const std::vector<MatrixXc<S>>& z, double fs,
                               const StftOptions& o = {}) {
  const Eigen::Index nperseg = o.window == Window::Values ? o.values.size() : o.nperseg;
  if (z.empty() || nperseg < 1) {
    DENDRITE_THROW(dimension_error, "istft: expected one STFT per channel and nperseg >= 1, got ",
                   z.size(), " channels and nperseg ", nperseg);
  }
  // the options' checks; no signal length limits the segments
  detail::WelchSegments<S> seg("istft", std::numeric_limits<Eigen::Index>::max(), fs, o);
  const Eigen::Index bins = seg.bins(), segments = z[0].cols(), step = seg.step();
  for (std::size_t c = 0; c < z.size(); ++c) {
    if (z[c].rows() != bins || z[c].cols() != segments || segments < 1) {
      DENDRITE_THROW(dimension_error, "istft: expected every channel's STFT of ", bins,
                     " bins (nfft / 2 + 1) x ", std::max<Eigen::Index>(segments, 1),
                     segments < 1 ? "+" : "", " segments, got ", z[c].rows(), " x ",
                     z[c].cols(), " in channel ", c);
    }
    if (!z[c].allFinite()) DENDRITE_THROW(numerical_error, "istft: the STFT contains NaN or Inf");
  }
  const ArrayX<S>& w = seg.window_values();
  const Eigen::Index length = nperseg + (segments - 1) * step;
  const Eigen::Index half = detail::stft_edge(o.boundary, nperseg), kept = length - 2 * half;
  ArrayX<S> norm = ArrayX<S>::Zero(length);
  for (Eigen::Index s = 0; s < segments; ++s) norm.segment(s * step, nperseg) += w.square();
  for (Eigen::Index t = half; t < half + kept; ++t) {
    if (!(norm(t) > 1e-10)) {
      DENDRITE_THROW(numerical_error, "istft: the window and noverlap fail the nonzero "
                     "overlap-add condition (sum of w^2 is ", norm(t), " at sample ", t - half,
                     ")");
    }
  }
  const double gain = detail::stft_divisor<S>(w, fs, o.scaling);
  const Eigen::Index nfft = seg.nfft();
  // pairs of segments on the transform's lanes, lane l's full spectrum at buffer[l nfft ...]
  constexpr auto lanes = Eigen::Index(detail::ComplexLanes::size);
  detail::LaneFFT plan(nfft);
  std::vector<detail::ComplexLanes> values(static_cast<std::size_t>(nfft));
  std::vector<std::complex<double>> buffer(static_cast<std::size_t>(lanes * nfft));
  MatrixX<S> out(Eigen::Index(z.size()), kept);
  ArrayX<S> sum(length);
  for (std::size_t c = 0; c < z.size(); ++c) {
    sum.setZero();
    for (Eigen::Index s0 = 0; s0 < segments; s0 += 2 * lanes) {
      // lane l: segments s0 + 2 l and s0 + 2 l + 1
      const Eigen::Index used = std::min(lanes, (segments - s0 + 1) / 2);
      std::fill(buffer.begin(), buffer.end(), std::complex<double>(0));
      // each segment's full spectrum from its one-sided bins, the second of a lane's pair
      // times i (two segments share one transform)
      for (Eigen::Index l = 0; l < used; ++l) {
        const Eigen::Index s = s0 + 2 * l;
        std::complex<double>* lane = buffer.data() + l * nfft;
        detail::add_hermitian(z[c].col(s).data(), bins, nfft, 1.0, lane);
        if (s + 1 < segments) {
          detail::add_hermitian(z[c].col(s + 1).data(), bins, nfft, {0, 1}, lane);
        }
      }
      detail::join_lanes(buffer.data(), nfft, values.data());
      plan.inverse(values.data(), values.data());
      // lane l's first nperseg values at buffer[l nperseg ...]: segment s0 + 2 l in the real
      // parts, s0 + 2 l + 1 in the imaginary parts
      detail::split_lanes(values.data(), nperseg, used, buffer.data());
      for (Eigen::Index l = 0; l < used; ++l) {
        const Eigen::Index s = s0 + 2 * l;
        const std::complex<double>* v = buffer.data() + l * nperseg;
        for (Eigen::Index t = 0; t < nperseg; ++t) sum(s * step + t) += v[t].real() * gain * w(t);
        if (s + 1 < segments) {
          for (Eigen::Index t = 0; t < nperseg; ++t) {
            sum((s + 1) * step + t) += v[t].imag() * gain * w(t);
          }
        }
      }
    }
    out.row(Eigen::Index(c)) = (sum.segment(half, kept) / norm.segment(half, kept)).transpose();
  }
  return out;
}

/// SciPy's `hilbert(x, n)` along each row of x (channels x samples): the analytic signal
/// x_a = IDFT_n(h DFT_n(x)), h = 1 at bin 0 and, for even n, at n / 2, 2 at the bins between, 0
/// above (Marple, IEEE Trans. Signal Process. 1999), each row zero-padded or cut to n samples
/// (n = -1: x.cols()); rows x n. With n = x.cols() its real part is x and its imaginary part x's
/// discrete Hilbert transform; |x_a| is the envelope and arg x_a the instantaneous phase, which
/// mean something for a narrow-band row (band-pass it first). The transform is circular: its
/// ends see each other. Two rows share a forward transform, 2 `ComplexLanes::size` at once on
/// SIMD lanes. Throws `dimension_error` for n < 1 (or no column with n = -1) and
/// `numerical_error` for a NaN or Inf sample.
template <AnalysisScalar S = double>
[[nodiscard]] MatrixXc<S> hilbert(const AnalysisRef<S>& x, Eigen::Index n = -1) {
  const Eigen::Index length = n < 0 ? x.cols() : n;
  if (length < 1) {
    DENDRITE_THROW(dimension_error, "hilbert: expected a length n >= 1, got ", length,
                   n < 0 ? " (the rows' length)" : "");
  }
  detail::check_finite<S>("hilbert", x);
  constexpr auto lanes = Eigen::Index(detail::ComplexLanes::size);
  const Eigen::Index kept = std::min(length, x.cols());
  detail::LaneFFT plan(length);
  std::vector<detail::ComplexLanes> z(static_cast<std::size_t>(length)), u = z, v = z;
  MatrixXc<S> out(x.rows(), length);
  // the lanes read and written a sample at a time across the rows of a group: x and out are
  // column-major, so a group's rows share their cache lines
  alignas(64) std::array<double, 4 * detail::ComplexLanes::size> parts{};
  double* const re = parts.data();
  double* const im = parts.data() + lanes;
  for (Eigen::Index r0 = 0; r0 < x.rows(); r0 += 2 * lanes) {
    // rows r0 + 2 l and r0 + 2 l + 1 in lane l's real and imaginary parts: one forward
    // transform for two rows, then each row's bins A and B apart (`real_pair_bins`), weighed
    // by h, and an inverse transform for each
    const Eigen::Index rows = std::min(2 * lanes, x.rows() - r0);
    parts.fill(0.0);
    for (Eigen::Index t = 0; t < length; ++t) {
      if (t < kept) {
        for (Eigen::Index l = 0; 2 * l < rows; ++l) re[l] = x(r0 + 2 * l, t);
        for (Eigen::Index l = 0; 2 * l + 1 < rows; ++l) im[l] = x(r0 + 2 * l + 1, t);
      } else {
        parts.fill(0.0);
      }
      z[std::size_t(t)] = {detail::ComplexLanes::batch::load_aligned(re),
                           detail::ComplexLanes::batch::load_aligned(im)};
    }
    plan.forward(z.data(), z.data());
    for (Eigen::Index k = 0; k < length; ++k) {
      const double h = k == 0 || 2 * k == length ? 1.0 : 2 * k < length ? 2.0 : 0.0;
      if (h == 0) {
        u[std::size_t(k)] = v[std::size_t(k)] = detail::fft_zero<detail::ComplexLanes>();
      } else {
        const auto [a, b] = detail::real_pair_bins(z.data(), length, k);
        u[std::size_t(k)] = h * a;
        v[std::size_t(k)] = h * b;
      }
    }
    plan.inverse(u.data(), u.data());
    plan.inverse(v.data(), v.data());
    // row r0 + 2 l from lane l of u, row r0 + 2 l + 1 from lane l of v
    double* const u_re = parts.data();
    double* const u_im = u_re + lanes;
    double* const v_re = u_im + lanes;
    double* const v_im = v_re + lanes;
    for (Eigen::Index t = 0; t < length; ++t) {
      u[std::size_t(t)].re.store_aligned(u_re);
      u[std::size_t(t)].im.store_aligned(u_im);
      v[std::size_t(t)].re.store_aligned(v_re);
      v[std::size_t(t)].im.store_aligned(v_im);
      for (Eigen::Index i = 0; i < rows; ++i) {
        const Eigen::Index l = i / 2;
        out(r0 + i, t) = i % 2 == 0 ? std::complex<S>(u_re[l], u_im[l])
                                    : std::complex<S>(v_re[l], v_im[l]);
      }
    }
  }
  return out;
}

}  // namespace dendrite::dsp
