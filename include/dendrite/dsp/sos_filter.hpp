// SPDX-License-Identifier: MIT
/// @file
/// A cascade of second-order IIR sections over C channels, in transposed direct form II, one
/// sample of every channel per step (SciPy's `sosfilt` applied channel by channel):
///   y = b0 x + z1,   z1 <- b1 x - a1 y + z2,   z2 <- b2 x - a2 y     (each section; a0 = 1)
/// The coefficients and the state are double whatever `T` is: `T` sets the samples' type only.
/// A float section cannot hold the designs an EEG or LFP front end needs. Its poles sit within
/// 2 pi fc / fs of z = 1 (0.0006 for 0.1 Hz at 1 kHz), where a float a1 ~ -2 and a2 ~ 1 keep
/// only a few bits of the distance, and the recursion's rounding is amplified by about
/// (fs / (2 pi fc))^2. Measured against this filter in double, 60 s of noise with a 10 Hz sine
/// on a random-walk baseline: float coefficients and state gave 2 % relative error for
/// butter(4, {1, 40}, BandPass, 512), 10 % for butter(2, {1}, HighPass, 30000) (68 % with a DC
/// offset of 100) and an unbounded output for butter(4, {0.1, 40}, BandPass, 1000).
/// `prime(x0)` sets the state a constant input x0 would have reached (SciPy:
/// `sosfilt(sos, x, zi=sosfilt_zi(sos) * x[0])`), so that a recording that starts far from 0, a
/// DC-coupled amplifier's electrode offset of tens of mV, passes with no start-up transient. From
/// rest, an order-4 band-pass answers a step of 2e4 uV with a transient above 1 uV for 4 s at
/// 1-40 Hz (512 Hz) and for 40 s at 0.1-40 Hz (1 kHz) (SciPy's `sosfilt` of the step, from
/// rest). Each section's steady state is y = g x with g = (b0 + b1 + b2) / (1 + a1 + a2),
/// z1 = y - b0 x, z2 = b2 x - a2 y; a section with a pole at z = 1 (1 + a1 + a2 = 0, an
/// integrator: no steady state) is primed at rest and passes 0 on to the next.
/// The state is stored section-major with the channels contiguous, so the channel loop
/// vectorises; with an xsimd batch `T` the lanes are further channels. State values below the
/// smallest normal number are flushed to zero every 16th step, so that a decaying filter cannot
/// stay slowed down by denormals.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include <Eigen/Core>

#include <dendrite/config.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/math.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/rt/contract.hpp>

namespace dendrite::dsp {

namespace detail {

/// `sos` (S x 6 rows [b0 b1 b2 a0 a1 a2]) checked and divided by a0: b0 b1 b2 a1 a2 for each
/// section. Throws `dimension_error` unless it has 6 columns and at least one row, and
/// `numerical_error` for a non-finite coefficient or a0 = 0. `SOSFilter`'s and the offline
/// filters' (filtfilt.hpp).
template <class Sos>
[[nodiscard]] std::vector<double> normalised_sections(const Sos& sos) {
  if (sos.cols() != 6 || sos.rows() < 1) {
    DENDRITE_THROW(dimension_error, "SOSFilter: expected S x 6 second-order sections, got ",
                   sos.rows(), " x ", sos.cols());
  }
  if (!sos.allFinite() || (sos.col(3).array() == 0).any()) {
    DENDRITE_THROW(numerical_error,
                   "SOSFilter: coefficients must be finite with a0 != 0 in every section");
  }
  std::vector<double> c(std::size_t(sos.rows()) * 5);
  for (std::size_t s = 0; s < std::size_t(sos.rows()); ++s) {
    const double a0 = sos(Eigen::Index(s), 3);
    for (int k = 0; k < 3; ++k) c[s * 5 + std::size_t(k)] = sos(Eigen::Index(s), k) / a0;
    c[s * 5 + 3] = sos(Eigen::Index(s), 4) / a0;
    c[s * 5 + 4] = sos(Eigen::Index(s), 5) / a0;
  }
  return c;
}

/// What `section_gain` returns for an integrator, a section with no steady state.
inline constexpr double kNoSteadyState = std::numeric_limits<double>::infinity();

/// A section's DC gain g = (b0 + b1 + b2) / (1 + a1 + a2) from its coefficients b0 b1 b2 a1 a2
/// (divided by a0) at `c`, or `kNoSteadyState` where |1 + a1 + a2| <= 2^-40 (a pole at z = 1).
[[nodiscard]] inline double section_gain(const double* c) noexcept {
  const double den = 1.0 + c[3] + c[4];
  return std::abs(den) > 0x1p-40 ? (c[0] + c[1] + c[2]) / den : kNoSteadyState;
}

}  // namespace detail

/// C channels through the same second-order sections (see the file comment).
/// @code
/// dendrite::dsp::SOSFilter<float, 64> bp(dendrite::dsp::butter(4, {1, 40}, BandType::BandPass, 512));
/// bp.step(x, y);  // real-time safe
/// @endcode
template <Real T, int C>
class SOSFilter {
  static_assert(C >= 1, "SOSFilter<T, C>: need at least one channel");
  static constexpr std::size_t kC = static_cast<std::size_t>(C);
  static constexpr std::size_t kL = lanes_v<T>;
  static constexpr std::size_t kN = kC * kL;  // channels of the double recursion

 public:
  using value_type = T;
  using Scalar = scalar_t<T>;
  static constexpr int input_size = C;
  static constexpr int output_size = C;

  /// `sos`: S x 6 rows [b0 b1 b2 a0 a1 a2] (from `butter`, `iirnotch` or SciPy). Throws
  /// `dimension_error` unless it has 6 columns and at least one row, and `numerical_error` for a
  /// non-finite coefficient or a0 = 0 (each row is divided by its a0).
  explicit SOSFilter(const Eigen::Ref<const Eigen::MatrixXd>& sos) {
    const std::vector<double> c = detail::normalised_sections(sos);
    sections_ = c.size() / 5;
    coef_.assign(c.begin(), c.end());
    z_.assign(sections_ * 2 * kN, 0.0);
    static_assert(rt::StreamingBlock<SOSFilter>);
  }

  /// Filters one sample of every channel. A non-finite input leaves the state untouched, writes
  /// 0 and returns `Status::RejectedNonFinite`. In place (x and y the same) is allowed.
  /// Real-time safe.
  DENDRITE_REALTIME Status step(std::span<const T, kC> x, std::span<T, kC> y) noexcept {
    if (!all_of(all_finite(x))) {
      for (std::size_t c = 0; c < kC; ++c) y[c] = T(0);
      return Status::RejectedNonFinite;
    }
    alignas(64) std::array<double, kN> v;
    widen_lanes(x, v);
    for (std::size_t s = 0; s < sections_; ++s) {
      const double b0 = coef_[s * 5], b1 = coef_[s * 5 + 1], b2 = coef_[s * 5 + 2];
      const double a1 = coef_[s * 5 + 3], a2 = coef_[s * 5 + 4];
      double* z1 = &z_[s * 2 * kN];
      double* z2 = z1 + kN;
      for (std::size_t c = 0; c < kN; ++c) {
        const double in = v[c];
        const double out = muladd(b0, in, z1[c]);
        z1[c] = muladd(b1, in, muladd(-a1, out, z2[c]));
        z2[c] = muladd(b2, in, -a2 * out);
        v[c] = out;
      }
    }
    // a double state decaying past float's smallest normal number would hand float denormals
    // to the next block for thousands of steps: those outputs are 0
    alignas(64) std::array<Scalar, kN> io;  // channel c's lane l at c kL + l
    for (std::size_t c = 0; c < kN; ++c) io[c] = flush_denormal(Scalar(v[c]));
    for (std::size_t c = 0; c < kC; ++c) y[c] = dendrite::load<T>(&io[c * kL]);
    // A decaying state reaches denormals only after many samples; flushing it every 16th step
    // bounds their cost to a few steps at a fraction of a per-step flush.
    if ((++steps_ & 15U) == 0) {
      for (double& z : z_) z = flush_denormal(z);
    }
    return Status::Ok;
  }

  /// Sets the state to the steady state of the constant input x0 (see the file comment): the next
  /// step with input x0 outputs the cascade's DC gain times x0, and a signal that starts at x0 has
  /// no start-up transient. Call it with the first sample before stepping it. A non-finite x0
  /// leaves the state untouched and returns `RejectedNonFinite`. Real-time safe.
  DENDRITE_REALTIME Status prime(std::span<const T, kC> x0) noexcept {
    if (!all_of(all_finite(x0))) return Status::RejectedNonFinite;
    alignas(64) std::array<double, kN> v;
    widen_lanes(x0, v);
    for (std::size_t s = 0; s < sections_; ++s) {
      const double b0 = coef_[s * 5], b2 = coef_[s * 5 + 2], a2 = coef_[s * 5 + 4];
      const double gain = detail::section_gain(&coef_[s * 5]);
      const bool integrator = gain == detail::kNoSteadyState;  // no steady state: prime at rest
      const double g = integrator ? 0.0 : gain;
      double* z1 = &z_[s * 2 * kN];
      double* z2 = z1 + kN;
      for (std::size_t c = 0; c < kN; ++c) {
        const double in = integrator ? 0.0 : v[c];
        const double out = g * in;
        z1[c] = out - b0 * in;
        z2[c] = b2 * in - a2 * out;
        v[c] = out;
      }
    }
    return Status::Ok;
  }

  /// Clears the filter state (the coefficients stay). Real-time safe.
  DENDRITE_REALTIME void reset() noexcept { std::fill(z_.begin(), z_.end(), 0.0); }
  /// 0: an IIR filter answers in the same step (its group delay is a property of the design).
  [[nodiscard]] std::size_t latency_samples() const noexcept { return 0; }
  /// The number of sections.
  [[nodiscard]] std::size_t sections() const noexcept { return sections_; }

  /// 9 flops per section and channel (5 multiply-adds, counted as 2, minus the a0 division).
  [[nodiscard]] double flops_per_step() const noexcept {
    return 9.0 * double(sections_) * double(C) * double(lanes_v<T>);
  }
  [[nodiscard]] double bytes_per_step() const noexcept {
    return double(sections_) * (2.0 * double(kN) * sizeof(double) * 2.0 + 5.0 * sizeof(double));
  }

 private:
  std::size_t sections_ = 0;
  aligned_vector<double> coef_;  // per section: b0 b1 b2 a1 a2 (divided by a0)
  aligned_vector<double> z_;     // per section: z1 for the kN channels, then z2
  std::uint32_t steps_ = 0;
};

}  // namespace dendrite::dsp
