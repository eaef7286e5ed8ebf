// SPDX-License-Identifier: MIT
/// @file
/// Decimation by an integer factor M over C channels: a linear-phase anti-alias FIR low-pass
/// (dsp/fir.hpp, Kaiser window) evaluated only at the kept samples (the polyphase saving: N / M
/// multiply-adds per channel and input sample instead of N), keeping input samples 0, M, 2M, ...
/// of the filtered signal (SciPy: `lfilter(h, 1, x)[::M]`):
///   out[m] = sum_{k=0}^{N-1} h[k] x[m M - k]      (x[n] = 0 for n < 0).
/// The default design passes [0, 0.8 fs_out / 2] with a deviation of at most 10^(-A/20) and
/// attenuates [fs_out / 2, fs / 2] by A = 80 dB, so nothing above the output's Nyquist frequency
/// aliases back above -80 dB. The delay is (N - 1) / 2 input samples.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include <dendrite/config.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/math.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/dsp/fir.hpp>
#include <dendrite/rt/process.hpp>

namespace dendrite::dsp {

/// What a block call of `Decimator::process` did.
struct DecimateResult : rt::BlockResult {
  std::size_t outputs = 0;  ///< output samples written
};

/// Decimates C channels by M (see the file comment).
/// @code
/// dendrite::dsp::Decimator<float, 64, 8> dec;  // 30 kHz -> 3.75 kHz, 80 dB anti-alias
/// bool ready = false;
/// dec.step(x, y, ready);                       // y holds a new output sample when ready
/// @endcode
template <Real T, int C, int M>
class Decimator {
  static_assert(C >= 1, "Decimator<T, C, M>: need at least one channel");
  static_assert(M >= 2, "Decimator<T, C, M>: the factor M must be at least 2");
  static constexpr std::size_t kC = static_cast<std::size_t>(C);
  using Scalar = scalar_t<T>;

 public:
  using value_type = T;
  static constexpr int input_size = C;
  static constexpr int output_size = C;
  static constexpr int factor = M;

  /// The default anti-alias design: passband 0.8 of the output's Nyquist frequency, 80 dB.
  Decimator() : Decimator(0.8, 80.0) {}
  /// Passband [0, `passband` fs_out / 2] (0 < passband < 1) and stopband attenuation
  /// `attenuation_db` from fs_out / 2 (see `kaiser_lowpass` for what it throws).
  Decimator(double passband, double attenuation_db)
      : Decimator(kaiser_lowpass(passband * 0.5 / M, 0.5 / M, attenuation_db)) {}
  /// Any FIR low-pass (e.g. SciPy's `firwin` taps). Throws `dimension_error` for no taps and
  /// `numerical_error` for a non-finite one.
  explicit Decimator(const FIRDesign<double>& design) : Decimator(design.taps) {
    design_ = design;
  }
  explicit Decimator(const Eigen::Ref<const Eigen::VectorXd>& taps) {
    if (taps.size() < 1) DENDRITE_THROW(dimension_error, "Decimator: expected at least one tap, got 0");
    if (!taps.allFinite()) DENDRITE_THROW(numerical_error, "Decimator: the taps must be finite");
    n_ = std::size_t(taps.size());
    reversed_.resize(n_);
    for (std::size_t k = 0; k < n_; ++k) reversed_[k] = Scalar(taps(Eigen::Index(n_ - 1 - k)));
    history_.assign(2 * n_ * kC, T(0));
    design_.taps = taps;
  }

  /// Takes one input sample of every channel. When it completes an output sample (every M-th
  /// accepted input, starting with the first), writes it to y and sets `produced`; otherwise
  /// leaves y alone. A non-finite input is rejected with the state untouched (it does not count
  /// towards the M). Real-time safe.
  DENDRITE_REALTIME Status step(std::span<const T, kC> x, std::span<T, kC> y,
                                bool& produced) noexcept {
    produced = false;
    if (!all_of(all_finite(x))) return Status::RejectedNonFinite;
    pos_ = pos_ + 1 == n_ ? 0 : pos_ + 1;
    T* a = &history_[pos_ * kC];
    T* b = &history_[(pos_ + n_) * kC];
    for (std::size_t c = 0; c < kC; ++c) a[c] = b[c] = x[c];
    if (phase_ == 0) {
      // the last N inputs, oldest first, are rows pos+1 .. pos+N of the doubled history
      std::array<T, kC> acc;
      acc.fill(T(0));
      const T* row = &history_[(pos_ + 1) * kC];
      for (std::size_t k = 0; k < n_; ++k, row += kC) {
        const T h(reversed_[k]);
        for (std::size_t c = 0; c < kC; ++c) acc[c] = dendrite::fma(h, row[c], acc[c]);
      }
      for (std::size_t c = 0; c < kC; ++c) y[c] = acc[c];
      produced = true;
    }
    phase_ = phase_ + 1 == std::size_t(M) ? 0 : phase_ + 1;
    return Status::Ok;
  }

  /// Decimates a block: `in` is C x n (any n >= 0), and `out` needs at least
  /// `outputs_for(n)` columns; output samples are written from its column 0. Bit-identical to
  /// stepping the samples one by one, so chunks of any sizes give the same output as one call.
  /// An integer `out` gets rounded, saturated samples (`rt::to_sample`).
  /// A too-small `out` processes nothing (`BlockError::SizeMismatch`). Pass a writable
  /// matrix, block or map as `out` (Eigen's const-reference idiom). Real-time safe.
  template <class DerivedIn, class DerivedOut>
    requires std::is_floating_point_v<T>
  DENDRITE_REALTIME DecimateResult process(const Eigen::MatrixBase<DerivedIn>& in,
                                           const Eigen::MatrixBase<DerivedOut>& out_) noexcept {
    auto& out = const_cast<Eigen::MatrixBase<DerivedOut>&>(out_);
    DecimateResult r;
    const auto n = std::size_t(in.cols());
    if (in.rows() != C || out.rows() != C || std::size_t(out.cols()) < outputs_for(n)) {
      r.error = rt::BlockError::SizeMismatch;
      return r;
    }
    std::array<T, kC> x, y;
    for (std::size_t t = 0; t < n; ++t) {
      for (std::size_t c = 0; c < kC; ++c) x[c] = T(in(Eigen::Index(c), Eigen::Index(t)));
      bool produced = false;
      const Status s = step(x, y, produced);
      rt::detail::count(r, s);
      if (produced) {
        for (std::size_t c = 0; c < kC; ++c) {
          out(Eigen::Index(c), Eigen::Index(r.outputs)) =
              rt::to_sample<typename DerivedOut::Scalar>(y[c]);
        }
        ++r.outputs;
      }
    }
    return r;
  }

  /// The most output samples the next n inputs can produce (all of them accepted).
  [[nodiscard]] std::size_t outputs_for(std::size_t n) const noexcept {
    if (n == 0) return 0;
    const std::size_t first = phase_ == 0 ? 0 : std::size_t(M) - phase_;  // inputs before one
    return n > first ? (n - first - 1) / std::size_t(M) + 1 : 0;
  }

  /// Fills the history with the constant input x0 and restarts the phase (as `reset`), so that a
  /// signal starting at an offset x0 is not ramped up from 0 over the first N inputs: the next
  /// output is sum(h) x0 when that input is x0. A non-finite x0 leaves the state untouched and
  /// returns `RejectedNonFinite`. Real-time safe.
  DENDRITE_REALTIME Status prime(std::span<const T, kC> x0) noexcept {
    if (!all_of(all_finite(x0))) return Status::RejectedNonFinite;
    for (std::size_t r = 0; r < 2 * n_; ++r) {
      for (std::size_t c = 0; c < kC; ++c) history_[r * kC + c] = x0[c];
    }
    pos_ = 0;
    phase_ = 0;
    return Status::Ok;
  }

  /// Clears the history: the next input is taken as the first (and produces an output).
  DENDRITE_REALTIME void reset() noexcept {
    std::fill(history_.begin(), history_.end(), T(0));
    pos_ = 0;
    phase_ = 0;
  }
  /// The filter's delay, (N - 1) / 2, in input samples (rounded down for an even N).
  [[nodiscard]] std::size_t latency_samples() const noexcept { return (n_ - 1) / 2; }
  [[nodiscard]] std::size_t taps() const noexcept { return n_; }
  /// The design (its taps, and the ripples measured when it came from `kaiser_lowpass`).
  [[nodiscard]] const FIRDesign<double>& design() const noexcept { return design_; }
  /// Per input sample, on average: N / M multiply-adds per channel.
  [[nodiscard]] double flops_per_step() const noexcept {
    return 2.0 * double(n_) * double(C) * double(lanes_v<T>) / double(M);
  }
  [[nodiscard]] double bytes_per_step() const noexcept {
    return double(n_) * (double(C) * sizeof(T) + sizeof(Scalar)) / double(M) + double(C) * sizeof(T);
  }

 private:
  std::size_t n_ = 0, pos_ = 0, phase_ = 0;
  aligned_vector<Scalar> reversed_;  // taps, last first: reversed_[k] multiplies the k-th oldest
  aligned_vector<T> history_;        // 2 N rows of C: each input written at rows pos and pos + N
  FIRDesign<double> design_;
};

}  // namespace dendrite::dsp
