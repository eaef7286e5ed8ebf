// SPDX-License-Identifier: MIT
/// @file
/// Artifact removal from any ICA solution, as a real-time block: with an unmixing U (y = U (x - m))
/// and its inverse A = U^-1, the input without the dropped components is
///   x_clean = m + A diag(keep) U (x - m) = m + P (x - m),   P = A diag(keep) U,
/// one D x D matrix-vector product per sample. `update` (not real-time, O(D^3)) takes the solution
/// of `ORICA` (`unmixing()`, `mean()`), `OnlineICA` (`unmixing()`, `input_mean()`), FOBI or
/// FastICA; between updates `step` is real-time safe. (ORICA can also reconstruct per sample from
/// its current estimate: `ORICA::reconstruct`.) With m = 0 it is x_clean = P x: the dropped
/// components leave at every time scale, where a running mean (ORICA's) would hand back their
/// slow part; on input with a DC offset o that shifts each channel by the constant (I - P) o.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <vector>

#include <Eigen/Core>
#include <Eigen/LU>

#include <dendrite/config.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/ica/detail/lanes_linalg.hpp>
#include <dendrite/ica/detail/lanes_matrix.hpp>
#include <dendrite/rt/contract.hpp>

namespace dendrite::ica {

/// Removes chosen ICA components from each sample (see the file comment).
/// @tparam T float, double or an xsimd batch (the same projector for every lane).
template <Real T, int D>
class ArtifactRemover {
  static_assert(D >= 2, "ArtifactRemover<T, D>: need at least 2 channels");
  static constexpr std::size_t kD = static_cast<std::size_t>(D);

 public:
  using value_type = T;
  using Scalar = scalar_t<T>;
  static constexpr int input_size = D;
  static constexpr int output_size = D;

  /// Starts as the identity (keeps everything).
  ArtifactRemover() : p_(kD * kD), mean_(kD, T(0)) {
    detail::set_identity(p_.data(), kD);
    static_assert(rt::StreamingBlock<ArtifactRemover>);
  }

  /// Sets P = U^-1 diag(keep) U and the mean m. Not real-time. Throws `dimension_error` for wrong
  /// sizes and `numerical_error` for a singular or non-finite unmixing.
  void update(const Eigen::Ref<const Eigen::MatrixXd>& unmixing,
              const Eigen::Ref<const Eigen::VectorXd>& mean, std::span<const bool, kD> keep) {
    if (unmixing.rows() != D || unmixing.cols() != D || mean.size() != D) {
      DENDRITE_THROW(dimension_error, "ArtifactRemover::update: expected a ", D, " x ", D,
                     " unmixing and ", D, " means, got ", unmixing.rows(), " x ", unmixing.cols(),
                     " and ", mean.size());
    }
    const Eigen::FullPivLU<Eigen::MatrixXd> lu(unmixing);
    if (!unmixing.allFinite() || !mean.allFinite() || !lu.isInvertible()) {
      DENDRITE_THROW(numerical_error,
                     "ArtifactRemover::update: the unmixing must be finite and invertible (rank ",
                     lu.rank(), " of ", D, ")");
    }
    Eigen::VectorXd k(D);
    for (std::size_t i = 0; i < kD; ++i) k(Eigen::Index(i)) = keep[i] ? 1.0 : 0.0;
    detail::broadcast_matrix(Eigen::MatrixXd(lu.inverse() * k.asDiagonal() * unmixing), p_);
    for (std::size_t j = 0; j < kD; ++j) mean_[j] = broadcast<T>(mean(Eigen::Index(j)));
  }

  /// x_clean = m + P (x - m). Non-finite input gives 0 out and `Status::RejectedNonFinite`.
  /// Real-time safe.
  DENDRITE_REALTIME Status step(std::span<const T, kD> x, std::span<T, kD> out) noexcept {
    std::array<T, kD> d;
    const mask_t<T> finite = all_finite(x);
    for (std::size_t i = 0; i < kD; ++i) d[i] = dendrite::select<T>(finite, x[i] - mean_[i], T(0));
    detail::gemv<T, D>(p_.data(), d.data(), out.data());
    for (std::size_t i = 0; i < kD; ++i) {
      out[i] = dendrite::select<T>(finite, out[i] + mean_[i], T(0));
    }
    return all_of(finite) ? Status::Ok : Status::RejectedNonFinite;
  }

  /// Nothing to clear: the projector is what was set. Real-time safe.
  DENDRITE_REALTIME void reset() noexcept {}
  /// 0: the cleaned sample answers the input of the same step.
  [[nodiscard]] std::size_t latency_samples() const noexcept { return 0; }

  /// The projector P (D x D).
  [[nodiscard]] Eigen::MatrixXd projector() const {
    return detail::lane_matrix(p_, kD, 0);
  }

  /// 2 D^2 flops per lane.
  [[nodiscard]] static constexpr double flops_per_step() noexcept {
    return 2.0 * double(D) * double(D) * double(lanes_v<T>);
  }
  [[nodiscard]] static constexpr double bytes_per_step() noexcept {
    return double(D) * double(D) * double(sizeof(T));
  }

 private:
  std::vector<T> p_;     // D x D column-major projector
  std::vector<T> mean_;  // D
};

}  // namespace dendrite::ica
