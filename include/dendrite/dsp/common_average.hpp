// SPDX-License-Identifier: MIT
/// @file
/// Common average reference over C channels, one sample per step:
///   y_c = x_c - (1 / |G|) sum_{g in G} x_g       for every channel c,
/// with G the channels not excluded (bad channels are left out of the average, as MNE's
/// `set_eeg_reference` does, but are re-referenced like the others). Subtracting the mean of
/// the good channels removes what they share (a reference electrode's noise, common-mode
/// interference) and leaves the output's good channels summing to zero, so their covariance has
/// rank |G| - 1: an ICA after it sees one source fewer than channels.
#pragma once

#include <array>
#include <cstddef>
#include <span>

#include <dendrite/config.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/rt/contract.hpp>

namespace dendrite::dsp {

/// Re-references C channels to the average of the channels not excluded (see the file comment).
template <Real T, int C>
class CommonAverage {
  static_assert(C >= 1, "CommonAverage<T, C>: need at least one channel");
  static constexpr std::size_t kC = static_cast<std::size_t>(C);

 public:
  using value_type = T;
  static constexpr int input_size = C;
  static constexpr int output_size = C;

  CommonAverage() noexcept { good_.fill(true); }

  /// Leaves channel c out of (or puts it back into) the average. Returns false, changing
  /// nothing, for c >= C or for excluding the last channel still in the average.
  bool set_excluded(std::size_t c, bool excluded) noexcept {
    if (c >= kC) return false;
    if (excluded && good_[c] && included() == 1) return false;
    good_[c] = !excluded;
    return true;
  }
  [[nodiscard]] bool excluded(std::size_t c) const noexcept { return c < kC && !good_[c]; }
  /// The number of channels in the average.
  [[nodiscard]] std::size_t included() const noexcept {
    std::size_t n = 0;
    for (bool g : good_) n += g ? 1 : 0;
    return n;
  }

  /// Re-references one sample. A non-finite value in a channel in the average rejects the
  /// sample (outputs 0, `RejectedNonFinite`); one in an excluded channel passes through to that
  /// channel's output only. In place is allowed. Real-time safe.
  DENDRITE_REALTIME Status step(std::span<const T, kC> x, std::span<T, kC> y) noexcept {
    T sum(0);
    std::size_t n = 0;
    for (std::size_t c = 0; c < kC; ++c) {
      if (good_[c]) {
        sum += x[c];
        ++n;
      }
    }
    if (!all_of(dendrite::isfinite(sum))) {
      for (std::size_t c = 0; c < kC; ++c) y[c] = T(0);
      return Status::RejectedNonFinite;
    }
    const T mean = sum / T(scalar_t<T>(n));
    for (std::size_t c = 0; c < kC; ++c) y[c] = x[c] - mean;
    return Status::Ok;
  }

  /// Stateless: nothing to clear.
  DENDRITE_REALTIME void reset() noexcept {}
  [[nodiscard]] std::size_t latency_samples() const noexcept { return 0; }
  /// C additions, one division, C subtractions.
  [[nodiscard]] double flops_per_step() const noexcept {
    return (2.0 * double(C) + 1.0) * double(lanes_v<T>);
  }
  [[nodiscard]] double bytes_per_step() const noexcept { return 2.0 * double(C) * sizeof(T); }

 private:
  std::array<bool, kC> good_{};
};

}  // namespace dendrite::dsp
