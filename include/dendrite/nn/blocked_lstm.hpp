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

#include <array>
#include <cstddef>
#include <span>

#include <dendrite/config.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/nn/detail/blocked.hpp>
#include <dendrite/nn/lstm.hpp>
#include <dendrite/nn/options.hpp>
#include <dendrite/rt/contract.hpp>

namespace dendrite::nn {

template <Real T, int In, int Hidden, int Groups>
class BlockedLSTM
    : public detail::BlockedRecurrent<T, 4, In, Hidden, Groups, 2 * std::size_t(Hidden)> {
  using Blocked = detail::BlockedRecurrent<T, 4, In, Hidden, Groups, 2 * std::size_t(Hidden)>;
  using Blocked::kGroups;
  using Blocked::kH;
  using Blocked::kIn;

 public:
  /// Weights as LSTM<T, In, Hidden>(options) draws them; every state zero.
  explicit BlockedLSTM(const BlockOptions& options = {}) : Blocked(options.seed) {
    static_assert(rt::Stateful<BlockedLSTM> && rt::Trainable<BlockedLSTM> &&
                  rt::Costed<BlockedLSTM>);
  }

  /// FLOPs of one call: G LSTM steps.
  static constexpr std::size_t flops_per_step() noexcept {
    return kGroups * LSTM<T, In, Hidden>::flops_per_step();
  }

  /// One step of every stream (see the file comment for the layout). Real-time safe.
  DENDRITE_REALTIME Status step(std::span<const T, kIn * kGroups> x,
                                std::span<T, kH * kGroups> h_out) noexcept {
    return this->step_groups_summed(x, h_out,
                                    [](mask_t<T> finite, const T* a, T* hc, std::span<T, kH> out)
                                        DENDRITE_FORCE_INLINE_LAMBDA {
                                          return detail::lstm_update<T, kH>(finite, a, hc, out);
                                        });
  }
};

}  // namespace dendrite::nn
