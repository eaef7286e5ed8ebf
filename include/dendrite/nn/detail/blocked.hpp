// SPDX-License-Identifier: MIT
/// @file
/// What the blocked multi-stream recurrent blocks (nn/blocked_gru.hpp, nn/blocked_lstm.hpp)
/// share: the single block's parameters, drawn as it draws them from the same seed; G groups'
/// state of `PerGroup` values each, group after group; the block contract's queries; and the
/// step's shared part (`step_groups`: both products for every group, each weight read once). A
/// blocked block adds its cell update and `flops_per_step`.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include <dendrite/config.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/nn/detail/kernels.hpp>
#include <dendrite/nn/detail/module.hpp>

namespace dendrite::nn::detail {

template <class T, std::size_t Gates, int In, int Hidden, int Groups, std::size_t PerGroup>
class BlockedRecurrent : public RecurrentParameters<scalar_t<T>, Gates, In, Hidden> {
  static_assert(In > 0 && Hidden > 0 && Groups > 0,
                "a blocked recurrent block: In, Hidden and Groups must be positive");

 protected:
  static constexpr std::size_t kIn = In;
  static constexpr std::size_t kH = Hidden;
  static constexpr std::size_t kGroups = Groups;
  static constexpr std::size_t kRows = Gates * kH;

 public:
  using value_type = T;
  using Scalar = scalar_t<T>;
  static constexpr int input_size = In * Groups;
  static constexpr int output_size = Hidden * Groups;
  static constexpr std::size_t state_size = PerGroup * std::size_t(Groups);

  /// 0: the output answers the input of the same step.
  [[nodiscard]] std::size_t latency_samples() const noexcept { return 0; }
  /// Bytes one call reads: the weights and biases once, and every group's state.
  static constexpr std::size_t bytes_per_step() noexcept {
    return sizeof(Scalar) * (kRows * (kIn + kH) + 2 * kRows) + sizeof(T) * state_size;
  }

  /// Clears every state; keeps the weights. Real-time safe.
  DENDRITE_REALTIME void reset() noexcept { state_.fill(T(0)); }
  /// All groups' states, group after group.
  [[nodiscard]] std::span<const T, state_size> state() const noexcept { return state_; }
  /// Sets all groups' states. Real-time safe.
  DENDRITE_REALTIME void set_state(std::span<const T, state_size> s) noexcept {
    std::copy(s.begin(), s.end(), state_.begin());
  }

 protected:
  explicit BlockedRecurrent(std::uint64_t seed) {
    this->init(seed);
    reset();
  }

  /// The products of every group, gi_g = b_ih + W_ih x_g and gh_g = b_hh + W_hh h_g (h_g the
  /// first Hidden values of group g's state), then `update(finite_g, gi_g, gh_g, state_g,
  /// h_out_g)` per group, which returns that group's status. RejectedNonFinite if any group's
  /// was not Ok.
  template <class Update>
  DENDRITE_FORCE_INLINE Status step_groups(std::span<const T, kIn * kGroups> x,
                                           std::span<T, kH * kGroups> h_out,
                                           Update update) noexcept {
    const std::array<T, kIn * kGroups> xf = flush_denormals(x);  // denormals cost 10-100x
    std::array<T, kRows * kGroups> gi, gh;
    gemv_groups<T, kRows, kIn, kGroups>(this->weight_ih.value.data(), xf.data(),
                                        this->bias_ih.value.data(), gi.data());
    gemv_groups<T, kRows, kH, kGroups, PerGroup>(this->weight_hh.value.data(), state_.data(),
                                                 this->bias_hh.value.data(), gh.data());
    return update_groups(xf, h_out,
                         [&](mask_t<T> finite, std::size_t g, T* state, std::span<T, kH> out)
                             DENDRITE_FORCE_INLINE_LAMBDA {
                               return update(finite, gi.data() + g * kRows, gh.data() + g * kRows,
                                             state, out);
                             });
  }

  /// step_groups for a cell that needs only the sum of both products: a_g = (b_ih + b_hh) +
  /// W_ih x_g + W_hh h_g, each sum going on from W_ih's columns to W_hh's (as the single
  /// block's step sums them), then `update(finite_g, a_g, state_g, h_out_g)` per group. No
  /// second set of G products is stored and added back: `BlockedLSTM` 128 x 4 spent 6.5 % of
  /// its step on that addition (perf, AVX-512 VM).
  template <class Update>
  DENDRITE_FORCE_INLINE Status step_groups_summed(std::span<const T, kIn * kGroups> x,
                                                  std::span<T, kH * kGroups> h_out,
                                                  Update update) noexcept {
    const std::array<T, kIn * kGroups> xf = flush_denormals(x);  // denormals cost 10-100x
    std::array<Scalar, kRows> b;
    add_vectors<Scalar, kRows>(this->bias_ih.value.data(), this->bias_hh.value.data(), b.data());
    std::array<T, kRows * kGroups> a;
    gemv_groups<T, kRows, kIn, kGroups>(this->weight_ih.value.data(), xf.data(), b.data(),
                                        a.data());
    gemv_groups_acc<T, kRows, kH, kGroups, PerGroup>(this->weight_hh.value.data(), state_.data(),
                                                     a.data());
    return update_groups(xf, h_out,
                         [&](mask_t<T> finite, std::size_t g, T* state, std::span<T, kH> out)
                             DENDRITE_FORCE_INLINE_LAMBDA {
                               return update(finite, a.data() + g * kRows, state, out);
                             });
  }

  std::array<T, state_size> state_{};

 private:
  /// f(finite_g, g, state_g, h_out_g) for every group g, finite_g from group g's input;
  /// RejectedNonFinite if any group's status was not Ok.
  template <class F>
  DENDRITE_FORCE_INLINE Status update_groups(const std::array<T, kIn * kGroups>& xf,
                                             std::span<T, kH * kGroups> h_out, F f) noexcept {
    bool all_ok = true;
    for (std::size_t g = 0; g < kGroups; ++g) {
      const mask_t<T> finite = all_finite(std::span<const T, kIn>(xf.data() + g * kIn, kIn));
      const Status s =
          f(finite, g, state_.data() + g * PerGroup, std::span<T, kH>(h_out.data() + g * kH, kH));
      all_ok = all_ok && s == Status::Ok;
    }
    return all_ok ? Status::Ok : Status::RejectedNonFinite;
  }
};

}  // namespace dendrite::nn::detail
