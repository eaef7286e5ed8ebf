// SPDX-License-Identifier: MIT
/// @file
/// G groups of LSTM streams advanced by one call over shared weights: PyTorch's LSTM equations
/// (nn/lstm.hpp) for G independent inputs x_g and states (h_g, c_g), with each weight read once
/// per call instead of once per group. With T = xsimd::batch<float> a call advances G x lanes
/// streams, the LSTM counterpart of nn/blocked_gru.hpp.
///
/// Layout: input_size = G In values, group g's input at [g In, (g + 1) In); output_size = G H,
/// group g's h at [g H, (g + 1) H); state_size = 2 G H, group g's [h; c] at [2 g H, 2 (g + 1) H)
/// (each group's state laid out as LSTM's). Every lane of every group is an independent stream:
/// a non-finite lane is rejected alone (that stream's state untouched), the others advance; the
/// status is RejectedNonFinite if any lane was. The weights are initialised as LSTM's from the
/// same seed, so `BlockedLSTM<T, In, H, G>({.seed = s})` and `LSTM<T, In, H>({.seed = s})` hold
/// equal weights; load trained ones through the same names (weight_ih, ...).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>

#include <dendrite/config.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/nn/detail/kernels.hpp>
#include <dendrite/nn/detail/module.hpp>
#include <dendrite/nn/lstm.hpp>
#include <dendrite/nn/options.hpp>
#include <dendrite/rt/contract.hpp>

namespace dendrite::nn {

template <Real T, int In, int Hidden, int Groups>
class BlockedLSTM : public detail::RecurrentParameters<scalar_t<T>, 4, In, Hidden> {
  static_assert(In > 0 && Hidden > 0 && Groups > 0,
                "BlockedLSTM: In, Hidden and Groups must be positive");
  static constexpr std::size_t kIn = In;
  static constexpr std::size_t kH = Hidden;
  static constexpr std::size_t kG = 4 * kH;
  static constexpr std::size_t kGroups = Groups;

 public:
  using value_type = T;
  using Scalar = scalar_t<T>;
  static constexpr int input_size = In * Groups;
  static constexpr int output_size = Hidden * Groups;
  static constexpr std::size_t state_size = 2 * kH * kGroups;

  using Base = detail::RecurrentParameters<Scalar, 4, In, Hidden>;
  using Base::bias_hh;
  using Base::bias_ih;
  using Base::named_parameters;
  using Base::parameters;
  using Base::weight_hh;
  using Base::weight_ih;

  /// Weights as LSTM<T, In, Hidden>(options) draws them; every state zero.
  explicit BlockedLSTM(const BlockOptions& options = {}) {
    static_assert(rt::Stateful<BlockedLSTM> && rt::Trainable<BlockedLSTM> &&
                  rt::Costed<BlockedLSTM>);
    Base::init(options.seed);
    reset();
  }

  /// 0: the output answers the input of the same step.
  [[nodiscard]] std::size_t latency_samples() const noexcept { return 0; }
  /// FLOPs of one call: G LSTM steps.
  static constexpr std::size_t flops_per_step() noexcept {
    return kGroups * LSTM<T, In, Hidden>::flops_per_step();
  }
  /// Bytes one call reads: the weights and biases once, and every group's state.
  static constexpr std::size_t bytes_per_step() noexcept {
    return sizeof(Scalar) * (4 * kH * (kIn + kH) + 8 * kH) + sizeof(T) * state_size;
  }

  /// Clears every state; keeps the weights. Real-time safe.
  DENDRITE_REALTIME void reset() noexcept { hc_.fill(T(0)); }
  /// All groups' [h; c], group after group.
  [[nodiscard]] std::span<const T, state_size> state() const noexcept { return hc_; }
  /// Sets all groups' [h; c]. Real-time safe.
  DENDRITE_REALTIME void set_state(std::span<const T, state_size> hc) noexcept {
    std::copy(hc.begin(), hc.end(), hc_.begin());
  }

  /// One step of every stream (see the file comment for the layout). Real-time safe.
  DENDRITE_REALTIME Status step(std::span<const T, kIn * kGroups> x,
                                std::span<T, kH * kGroups> h_out) noexcept {
    const std::array<T, kIn * kGroups> xf = flush_denormals(x);  // denormals cost 10-100x
    std::array<T, kG * kGroups> gi, gh;
    detail::gemv_groups<T, kG, kIn, kGroups>(weight_ih.value.data(), xf.data(),
                                             bias_ih.value.data(), gi.data());
    // each group's h is the first half of its [h; c]: a group stride of 2H
    detail::gemv_groups<T, kG, kH, kGroups, 2 * kH>(weight_hh.value.data(), hc_.data(),
                                                    bias_hh.value.data(), gh.data());
    for (std::size_t i = 0; i < kG * kGroups; ++i) gi[i] = gi[i] + gh[i];
    bool all_ok = true;
    for (std::size_t g = 0; g < kGroups; ++g) {
      const mask_t<T> finite = all_finite(std::span<const T, kIn>(xf.data() + g * kIn, kIn));
      const Status s = detail::lstm_update<T, kH>(finite, gi.data() + g * kG,
                                                  hc_.data() + 2 * g * kH,
                                                  std::span<T, kH>(h_out.data() + g * kH, kH));
      all_ok = all_ok && s == Status::Ok;
    }
    return all_ok ? Status::Ok : Status::RejectedNonFinite;
  }

 private:
  std::array<T, state_size> hc_{};
};

}  // namespace dendrite::nn
