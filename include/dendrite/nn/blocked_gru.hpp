// SPDX-License-Identifier: MIT
/// @file
/// G groups of GRU streams advanced by one call over shared weights: PyTorch's GRU equations
/// (nn/gru.hpp) for G independent inputs x_g and states h_g, with each weight read once per
/// call instead of once per group. With T = xsimd::batch<float> a call advances G x lanes
/// streams (G = 4 on AVX2: 32 streams), so the weights' memory traffic is shared by all of
/// them, where G separate `GRU<batch<float>>` steps would read the weights G times.
///
/// Layout: input_size = G In values, group g's input at [g In, (g + 1) In); output_size =
/// state_size = G H, group g's h at [g H, (g + 1) H). Every lane of every group is an independent
/// stream: a non-finite lane is rejected alone (that stream's state untouched), the others
/// advance; the status is RejectedNonFinite if any lane was. The weights are initialised as
/// GRU's from the same seed, so `BlockedGRU<T, In, H, G>({.seed = s})` and `GRU<T, In, H>({.seed =
/// s})` hold equal weights; load trained ones through the same names (weight_ih, ...).
#pragma once

#include <cstddef>
#include <span>

#include <dendrite/config.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/nn/detail/blocked.hpp>
#include <dendrite/nn/gru.hpp>
#include <dendrite/nn/options.hpp>
#include <dendrite/rt/contract.hpp>

namespace dendrite::nn {

template <Real T, int In, int Hidden, int Groups>
class BlockedGRU
    : public detail::BlockedRecurrent<T, 3, In, Hidden, Groups, std::size_t(Hidden)> {
  using Blocked = detail::BlockedRecurrent<T, 3, In, Hidden, Groups, std::size_t(Hidden)>;
  using Blocked::kGroups;
  using Blocked::kH;
  using Blocked::kIn;

 public:
  /// Weights as GRU<T, In, Hidden>(options) draws them; every state zero.
  explicit BlockedGRU(const BlockOptions& options = {}) : Blocked(options.seed) {
    static_assert(rt::Stateful<BlockedGRU> && rt::Trainable<BlockedGRU> && rt::Costed<BlockedGRU>);
  }

  /// FLOPs of one call: G GRU steps.
  static constexpr std::size_t flops_per_step() noexcept {
    return kGroups * GRU<T, In, Hidden>::flops_per_step();
  }

  /// One step of every stream (see the file comment for the layout). Real-time safe.
  DENDRITE_REALTIME Status step(std::span<const T, kIn * kGroups> x,
                                std::span<T, kH * kGroups> h_out) noexcept {
    return this->step_groups(x, h_out,
                             [](mask_t<T> finite, const T* gi, const T* gh, T* h,
                                std::span<T, kH> out) DENDRITE_FORCE_INLINE_LAMBDA {
                               return detail::gru_update<T, kH>(finite, gi, gh, h, out);
                             });
  }
};

}  // namespace dendrite::nn
