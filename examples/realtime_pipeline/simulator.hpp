// SPDX-License-Identifier: MIT
/// @file
/// A simulated 16-channel acquisition at 30 kHz: 16 independent sources, mixed by a fixed random
/// matrix, plus sensor noise, produced one sample at a time by a seeded generator (no allocation
/// per sample). The sources are chosen so that every one has a different kurtosis (FOBI and the
/// online network tell sources apart by it):
///   6 oscillations: square 13 Hz (kurtosis 1.0), sine 7 Hz (1.5), sawtooth 40 Hz (1.8), and
///     sines at 80, 97 and 113 Hz (independent carriers: with one shared carrier the three were
///     not independent) amplitude-modulated at 3, 5 and 4 Hz with depth 0.5, 1 and 0.75 (2.1,
///     2.9, 2.6);
///   9 spiking-like bursts: Gaussian activity switched on and off by a two-state Markov chain
///     (mean on-time 10 ms), on a fraction p of the time, kurtosis 3 / p for p from 0.9 to 0.2
///     (3.3 ... 15);
///   1 Laplace noise (6.0).
/// Every source has unit variance; the mixing gives the first three oscillations gains 4, 3 and
/// 2.5, so that the channels' top-3 principal subspace stands out. Optional faults: a NaN channel or
/// a 1e30 spike on a few samples, so that a pipeline can show it rejects them; and an electrode
/// shift, a sudden change of the mixing, so that it can show it follows.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <span>

#include <Eigen/Core>

namespace dendrite::examples {

class AcquisitionSimulator {
 public:
  static constexpr int kChannels = 16;
  static constexpr double kRate = 30000.0;

  explicit AcquisitionSimulator(std::uint64_t seed, double sensor_noise = 0.05)
      : rng_(seed), noise_sd_(sensor_noise) {
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    for (auto& a : mixing_.reshaped()) a = u(rng_);
    // three large oscillations (like field potentials seen on every channel) dominate the
    // channels' covariance, so its top-3 subspace is well separated from the rest
    mixing_.col(0) *= 4.0;
    mixing_.col(1) *= 3.0;
    mixing_.col(2) *= 2.5;
    for (double& ph : phase_) ph = u(rng_) * std::numbers::pi;
  }

  /// The 16 x 16 mixing matrix: x = A s + noise.
  [[nodiscard]] const Eigen::Matrix<double, 16, 16>& mixing() const noexcept { return mixing_; }
  /// The sources of the last sample.
  [[nodiscard]] const std::array<double, 16>& sources() const noexcept { return s_; }
  /// Whether burst source k (0..8, i.e. source 6 + k) is in its active state.
  [[nodiscard]] bool burst_active(int k) const noexcept { return burst_on_[std::size_t(k)]; }
  /// Samples produced so far.
  [[nodiscard]] std::uint64_t samples() const noexcept { return n_; }

  /// Faults: each sample is NaN on one channel with probability p_nan, and a 1e30 spike with
  /// probability p_spike.
  void set_faults(double p_nan, double p_spike) noexcept {
    p_nan_ = p_nan;
    p_spike_ = p_spike;
  }

  /// An electrode shift: every mixing entry moves by `amount` times a uniform draw in [-1, 1]
  /// (relative to the column's scale), from now on.
  void shift_electrodes(double amount) noexcept {
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    for (int j = 0; j < 16; ++j) {
      const double scale = mixing_.col(j).cwiseAbs().maxCoeff();
      for (int i = 0; i < 16; ++i) mixing_(i, j) += amount * scale * u(rng_);
    }
  }

  /// Produces the next sample of the 16 channels. Returns true if a fault was injected.
  bool next(std::span<float, 16> x) noexcept {
    const double t = double(n_++) / kRate;
    const double tau = 2.0 * std::numbers::pi;
    // oscillations, each normalised to unit variance
    const double sq = std::sin(tau * 13.0 * t + phase_[0]);
    s_[0] = sq >= 0 ? 1.0 : -1.0;
    s_[1] = std::sqrt(2.0) * std::sin(tau * 7.0 * t + phase_[1]);
    const double saw = 40.0 * t + phase_[2];
    s_[2] = std::sqrt(3.0) * (2.0 * (saw - std::floor(saw)) - 1.0);
    s_[3] = am(t, 80.0, 3.0, 0.5, phase_[3]);
    s_[4] = am(t, 97.0, 5.0, 1.0, phase_[4]);
    s_[5] = am(t, 113.0, 4.0, 0.75, phase_[5]);
    // bursts
    for (int k = 0; k < 9; ++k) {
      const double p = kBurstOn[k];
      // two-state chain with stationary on-probability p and mean on-time 10 ms (300 samples)
      const double off_rate = 1.0 / 300.0;
      const double on_rate = off_rate * p / (1.0 - p);
      bool& on = burst_on_[std::size_t(k)];
      on = on ? unit_(rng_) >= off_rate : unit_(rng_) < on_rate;
      s_[std::size_t(6 + k)] = on ? normal_(rng_) / std::sqrt(p) : 0.0;
    }
    // Laplace with unit variance: scale 1 / sqrt(2)
    const double e = -std::log(1.0 - unit_(rng_));
    s_[15] = (unit_(rng_) < 0.5 ? -e : e) / std::sqrt(2.0);
    for (int i = 0; i < 16; ++i) {
      double v = noise_sd_ * normal_(rng_);
      for (int j = 0; j < 16; ++j) v += mixing_(i, j) * s_[std::size_t(j)];
      x[std::size_t(i)] = float(v);
    }
    bool fault = false;
    if (p_nan_ > 0 && unit_(rng_) < p_nan_) {
      x[std::size_t(n_ % 16)] = std::numeric_limits<float>::quiet_NaN();
      fault = true;
    }
    if (p_spike_ > 0 && unit_(rng_) < p_spike_) {
      x[std::size_t((n_ + 5) % 16)] = 1e30f;
      fault = true;
    }
    return fault;
  }

 private:
  static constexpr double kBurstOn[9] = {0.9, 0.75, 0.62, 0.55, 0.45, 0.36, 0.3, 0.25, 0.2};

  /// A carrier at fc Hz, modulated at f Hz with depth m, unit variance.
  static double am(double t, double fc, double f, double m, double phase) {
    const double tau = 2.0 * std::numbers::pi;
    const double v = (1.0 + m * std::sin(tau * f * t + phase)) * std::sin(tau * fc * t);
    return v / std::sqrt((1.0 + m * m / 2.0) / 2.0);
  }

  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> unit_{0.0, 1.0};
  std::normal_distribution<double> normal_{0.0, 1.0};
  Eigen::Matrix<double, 16, 16> mixing_;
  std::array<double, 6> phase_{};
  std::array<bool, 9> burst_on_{};
  std::array<double, 16> s_{};
  double noise_sd_;
  double p_nan_ = 0;
  double p_spike_ = 0;
  std::uint64_t n_ = 0;
};

}  // namespace dendrite::examples
