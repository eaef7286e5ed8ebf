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
#include <dendrite/nn/gru.hpp>
#include <dendrite/nn/options.hpp>
#include <dendrite/rt/contract.hpp>

namespace dendrite::nn {

template <Real T, int In, int Hidden, int Groups>
class BlockedGRU : public detail::RecurrentParameters<scalar_t<T>, 3, In, Hidden> {
  static_assert(In > 0 && Hidden > 0 && Groups > 0,
                "BlockedGRU: In, Hidden and Groups must be positive");
  static constexpr std::size_t kIn = In;
  static constexpr std::size_t kH = Hidden;
  static constexpr std::size_t kG = 3 * kH;
  static constexpr std::size_t kGroups = Groups;

 public:
  using value_type = T;
  using Scalar = scalar_t<T>;
  static constexpr int input_size = In * Groups;
  static constexpr int output_size = Hidden * Groups;
  static constexpr std::size_t state_size = kH * kGroups;

  using Base = detail::RecurrentParameters<Scalar, 3, In, Hidden>;
  using Base::bias_hh;
  using Base::bias_ih;
  using Base::named_parameters;
  using Base::parameters;
  using Base::weight_hh;
  using Base::weight_ih;

  /// Weights as GRU<T, In, Hidden>(options) draws them; every state zero.
  explicit BlockedGRU(const BlockOptions& options = {}) {
    static_assert(rt::Stateful<BlockedGRU> && rt::Trainable<BlockedGRU> && rt::Costed<BlockedGRU>);
    Base::init(options.seed);
    reset();
  }

  /// 0: the output answers the input of the same step.
  [[nodiscard]] std::size_t latency_samples() const noexcept { return 0; }
  /// FLOPs of one call: G GRU steps.
  static constexpr std::size_t flops_per_step() noexcept {
    return kGroups * GRU<T, In, Hidden>::flops_per_step();
  }
  /// Bytes one call reads: the weights and biases once, and every group's state.
  static constexpr std::size_t bytes_per_step() noexcept {
    return sizeof(Scalar) * (3 * kH * (kIn + kH) + 6 * kH) + sizeof(T) * state_size;
  }

  /// Clears every state; keeps the weights. Real-time safe.
  DENDRITE_REALTIME void reset() noexcept { h_.fill(T(0)); }
  /// All groups' h, group after group.
  [[nodiscard]] std::span<const T, state_size> state() const noexcept { return h_; }
  /// Sets all groups' h. Real-time safe.
  DENDRITE_REALTIME void set_state(std::span<const T, state_size> h) noexcept {
    std::copy(h.begin(), h.end(), h_.begin());
  }

  /// One step of every stream (see the file comment for the layout). Real-time safe.
  DENDRITE_REALTIME Status step(std::span<const T, kIn * kGroups> x,
                                std::span<T, kH * kGroups> h_out) noexcept {
    const std::array<T, kIn * kGroups> xf = flush_denormals(x);  // denormals cost 10-100x
    std::array<T, kG * kGroups> gi, gh;
    detail::gemv_groups<T, kG, kIn, kGroups>(weight_ih.value.data(), xf.data(),
                                             bias_ih.value.data(), gi.data());
    detail::gemv_groups<T, kG, kH, kGroups>(weight_hh.value.data(), h_.data(),
                                            bias_hh.value.data(), gh.data());
    bool all_ok = true;
    for (std::size_t g = 0; g < kGroups; ++g) {
      const mask_t<T> finite = all_finite(std::span<const T, kIn>(xf.data() + g * kIn, kIn));
      const Status s = detail::gru_update<T, kH>(finite, gi.data() + g * kG, gh.data() + g * kG,
                                                 h_.data() + g * kH,
                                                 std::span<T, kH>(h_out.data() + g * kH, kH));
      all_ok = all_ok && s == Status::Ok;
    }
    return all_ok ? Status::Ok : Status::RejectedNonFinite;
  }

 private:
  std::array<T, state_size> h_{};
};

}  // namespace dendrite::nn
