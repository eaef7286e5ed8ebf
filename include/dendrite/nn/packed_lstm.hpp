// SPDX-License-Identifier: MIT
/// @file
/// An LSTM for inference with its weights stored in reduced precision: PyTorch's LSTM equations
/// (nn/lstm.hpp) in float arithmetic, over weights packed once from a trained `LSTM<float>`.
///
///   PackedLSTM<float, In, H, bf16>   weights rounded to bfloat16 (to nearest, ties to even)
///   PackedLSTM<float, In, H, f16>    weights rounded to IEEE half (see packed_gru.hpp)
///   PackedLSTM<float, In, H, std::int8_t>  weights as int8 with a float scale per row, the
///                                    input quantized to int8 per step (detail/packed_int8.hpp)
///   PackedLSTM<float, In, H, float>  the same layout in float
///
/// The two products W_ih x and W_hh h are one product [W_ih W_hh] [x; h] (4H x (In + H)), and
/// the two biases are summed once when packing (as LSTM::step sums them per step, so in the same
/// float rounding). The weights are stored as in PackedGRU (detail/packed_weights.hpp), and as
/// there, a target with AVX512-BF16 multiplies bf16 pairs (`rounds_input`: [x; h] is rounded to
/// bf16 too, which doubles the pre-activation bound below).
///
/// Error against the float LSTM: each weight moves by at most u = 2^-8 of itself, so each gate
/// pre-activation moves by at most u sum_j |w_ij| |v_j| over v = [x; h] ((2u + u^2) times the
/// sum where v is rounded too); through the gates
/// (sigmoid' <= 1/4, tanh' <= 1) c' moves by at most |c| df + |g| di + i dg + di dg and h' by
/// o dc + |tanh c'| do + do dc. tests/nn/test_recurrent.cpp checks that one-step bound on random
/// weights (the largest difference measured was 0.22 of it), that the product is the rounded
/// weights times the (rounded) input up to float sums, and the drift over sequences, stated as
/// below 1e-2 (2e-2 with `rounds_input`): measured 1.2e-3 over 2000 steps of N(0, 1) input
/// (hidden 64) and 2.8e-4 against PyTorch's own output on the LSTM fixture; with
/// `rounds_input` 1.8e-3 and 2.9e-4.
///
/// f16: each pre-activation within 2^-11 sum_j |w_ij| |v_j| + 2^-25 sum_j |v_j|, propagated as
/// above; the one-step bound checked as for bf16 (largest measured 0.16 of it), the drift
/// stated below 1.25e-3 (measured 1.6e-4 at hidden 64 over 2000 steps) and the LSTM fixture's
/// error too (measured 3.9e-5).
///
/// int8: the products W_ih x and W_hh h stay two (each quantizes its own input, so a large x
/// does not coarsen h), each within (s_i / 2) sum_j |v_j| + (t / 2) sum_j |w_ij| + C s_i t / 4
/// (see packed_gru.hpp); the one-step bound is checked as above (largest measured 0.16 of it),
/// the drift is stated below 5e-2 (measured 5.0e-3 at hidden 64 over 2000 steps) and the LSTM
/// fixture's error below 1e-2 (measured 1.3e-3).
///
/// Limits: T is float (one stream); the packed copy does not follow later changes to the LSTM's
/// parameters: call `pack(lstm)` again after training or loading.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include <dendrite/config.hpp>
#include <dendrite/core/bf16.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/f16.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/nn/detail/packed_int8.hpp>
#include <dendrite/nn/lstm.hpp>
#include <dendrite/rt/contract.hpp>

namespace dendrite::nn {

template <class T, int In, int Hidden, class Weight = bf16>
class PackedLSTM {
  static_assert(std::is_same_v<T, float>, "PackedLSTM: T must be float (one stream)");
  static_assert(detail::is_packed_weight_v<Weight>,
                "PackedLSTM: the weights are stored as float, bf16, f16 or std::int8_t");
  static_assert(In > 0 && Hidden > 0, "PackedLSTM: In and Hidden must be positive");
  static constexpr std::size_t kIn = In;
  static constexpr std::size_t kH = Hidden;
  static constexpr std::size_t kV = kIn + kH;  // the product's input [x; h]
  // int8 quantizes its input with one scale per product: x and h get a product each, so that
  // a large x does not coarsen h's rounding
  static constexpr bool kSplit = std::is_same_v<Weight, std::int8_t>;
  using W = detail::packed_weights_t<Weight, 4 * kH, kSplit ? kIn : kV>;
  using Wh = detail::packed_weights_t<Weight, 4 * kH, kH>;  // used when kSplit
  static constexpr std::size_t kRows = W::rows;  // 4H padded to whole SIMD groups
  struct None {
    static constexpr std::size_t bytes() noexcept { return 0; }
  };

 public:
  using value_type = float;
  using Scalar = float;  ///< the arithmetic (what `nn::Sequential` composes on)
  using weight_type = Weight;
  static constexpr int input_size = In;
  static constexpr int output_size = Hidden;
  static constexpr std::size_t state_size = 2 * kH;  ///< [h; c], as LSTM
  /// Whether the product rounds its input [x; h] to bf16 too (bf16 weights, AVX512-BF16).
  static constexpr bool rounds_input = W::rounds_input;

  /// Zero weights and state (pack a trained LSTM before use).
  PackedLSTM() { static_assert(rt::Stateful<PackedLSTM> && rt::Costed<PackedLSTM>); }
  /// Packs `lstm`'s weights; state zero.
  explicit PackedLSTM(const LSTM<float, In, Hidden>& lstm) : PackedLSTM() { pack(lstm); }

  /// Copies and rounds `lstm`'s parameters into this block; keeps the state. Throws
  /// dendrite::numerical_error, leaving the block as it was, on a weight the storage cannot
  /// hold: not finite (int8, f16), or 65520 or more in magnitude (f16; the message's column
  /// counts along [W_ih W_hh]).
  void pack(const LSTM<float, In, Hidden>& lstm) {
    const float* wih = lstm.weight_ih.value.data();
    const float* whh = lstm.weight_hh.value.data();
    W w;
    if constexpr (kSplit) {
      Wh wh;
      w.pack(wih);
      wh.pack(whh);
      wh_ = std::move(wh);
    } else {
      std::vector<float> both(4 * kH * kV);  // [W_ih W_hh], column-major
      std::copy(wih, wih + 4 * kH * kIn, both.begin());
      std::copy(whh, whh + 4 * kH * kH, both.begin() + std::ptrdiff_t(4 * kH * kIn));
      w.pack(both.data());
    }
    w_ = std::move(w);
    for (std::size_t i = 0; i < 4 * kH; ++i) {
      b_[i] = lstm.bias_ih.value(Eigen::Index(i)) + lstm.bias_hh.value(Eigen::Index(i));
    }
  }

  /// The stored weights as float (bf16 values widened exactly): W_ih(i, j) and W_hh(i, j).
  [[nodiscard]] float weight_ih(std::size_t i, std::size_t j) const noexcept {
    return w_.weight(i, j);
  }
  [[nodiscard]] float weight_hh(std::size_t i, std::size_t j) const noexcept {
    if constexpr (kSplit) {
      return wh_.weight(i, j);
    } else {
      return w_.weight(i, kIn + j);
    }
  }

  /// 0: the output answers the input of the same step.
  [[nodiscard]] std::size_t latency_samples() const noexcept { return 0; }
  /// FLOPs of one step: as LSTM (the padding rows are not counted).
  static constexpr std::size_t flops_per_step() noexcept {
    return LSTM<float, In, Hidden>::flops_per_step();
  }
  /// Bytes one step reads: the packed weights (padding included), the summed bias, the state.
  static constexpr std::size_t bytes_per_step() noexcept {
    return W::bytes() + decltype(wh_)::bytes() + sizeof(float) * (4 * kH + 2 * kH);
  }

  /// Clears h and c; keeps the weights. Real-time safe.
  DENDRITE_REALTIME void reset() noexcept { hc_.fill(0.0F); }
  /// The whole recurrent state [h; c] (2 H values), as `set_state` takes it.
  [[nodiscard]] std::span<const float, state_size> state() const noexcept { return hc_; }
  /// Sets [h; c]. Real-time safe.
  DENDRITE_REALTIME void set_state(std::span<const float, state_size> hc) noexcept {
    std::copy(hc.begin(), hc.end(), hc_.begin());
  }

  /// One step: (h, c) <- LSTM(x, h, c) with the packed weights; writes h to `h_out`. A
  /// non-finite input is rejected (state untouched, `Status::RejectedNonFinite`). Real-time
  /// safe.
  DENDRITE_REALTIME Status step(std::span<const float, kIn> x,
                                std::span<float, kH> h_out) noexcept {
    const std::array<float, kIn> xf = flush_denormals(x);  // denormals cost 10-100x
    const bool finite = all_finite(std::span<const float, kIn>(xf));
    std::array<float, kRows> g;
    if constexpr (kSplit) {
      // two products summed after, so that the order gemv_pair reads them in does not matter
      std::array<float, kRows> gx, gh;
      detail::gemv_pair(backwards_, w_, xf.data(), b_.data(), gx.data(), wh_, hc_.data(),
                        zero_.data(), gh.data());
      detail::add_vectors<float, kRows>(gx.data(), gh.data(), g.data());
    } else {
      std::array<float, kV> v;  // [x; h]
      detail::copy_vectors<float, kIn>(xf.data(), v.data());
      detail::copy_vectors<float, kH>(hc_.data(), v.data() + kIn);
      w_.gemv(v.data(), b_.data(), g.data());
    }
    return detail::lstm_update<float, kH>(finite, g.data(), hc_.data(), h_out);
  }

 private:
  W w_;
  [[no_unique_address]] std::conditional_t<kSplit, Wh, None> wh_;
  [[no_unique_address]] std::conditional_t<kSplit, std::array<float, kRows>, None> zero_{};
  bool backwards_ = false;  // the order of the next step's reads, not the result's (int8)
  std::array<float, kRows> b_{};  // b_ih + b_hh; the padding rows stay 0
  std::array<float, 2 * kH> hc_{};
};

}  // namespace dendrite::nn
