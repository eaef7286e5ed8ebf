// SPDX-License-Identifier: MIT
/// @file
/// A GRU for inference with its weights stored in reduced precision: PyTorch's GRU equations
/// (nn/gru.hpp) in float arithmetic, over weights packed once from a trained `GRU<float>`.
///
///   PackedGRU<float, In, H, bf16>   weights rounded to bfloat16 (to nearest, ties to even),
///                                   half the bytes per step; biases and state stay float
///   PackedGRU<float, In, H, f16>    weights rounded to IEEE half (to nearest, ties to even):
///                                   the same bytes as bf16, 8 times finer, |w| < 65520 only
///   PackedGRU<float, In, H, std::int8_t>  weights as int8 with a float scale per row, x and
///                                   h quantized to int8 at every step (dynamic quantization,
///                                   detail/packed_int8.hpp): a quarter of the bytes
///   PackedGRU<float, In, H, float>  the same layout in float: equal to GRU::step up to the
///                                   order of the sums (exactly equal when 3H is a multiple
///                                   of twice the SIMD width)
///
/// Why: at hidden 64 and above a single-stream step reads its weights from L2 (73 KB at 64)
/// and the step is bound by that bandwidth, not by the FMAs; bf16 halves the bytes. The bf16
/// to float conversion is a 16-bit shift or mask, done on whole SIMD words (see
/// detail/packed_weights.hpp), so it is the same exact conversion on SSE2, AVX2 and AVX-512.
/// Where the target has AVX512-BF16 (`rounds_input`), the products run on its bf16 pair
/// dot-product instruction instead (VDPBF16PS, float accumulation), which needs the product's
/// input (x, and h) rounded to bf16 as well: the products 1.2-1.6x faster at hidden 64-128 on a
/// Sapphire Rapids core (the whole step up to 1.4x; bench/README.md), and twice the
/// pre-activation error bound below.
///
/// Error against the float GRU: each weight moves by at most u = 2^-8 of itself (half a bf16
/// ulp), so each gate pre-activation moves by at most u sum_j |w_ij| |v_j| over its inputs v
/// ((2u + u^2) sum_j |w_ij| |v_j| where the input is rounded too, `rounds_input`), and the
/// step's output by at most that bound through the gates' slopes (sigmoid' <= 1/4,
/// tanh' <= 1). tests/nn/test_recurrent.cpp checks that one-step bound on random weights (the
/// largest difference measured was 0.39 of it), that the product is the rounded weights times
/// the (rounded) input up to float sums, and the drift over sequences, stated as below 1e-2
/// (2e-2 with `rounds_input`): measured 1.8e-3 (hidden 64) and 5.2e-3 (hidden 8) over 2000
/// steps of N(0, 1) input, and 5.8e-4 against PyTorch's own output on the GRU fixture; with
/// `rounds_input` 2.9-3.1e-3 (hidden 64), 6.8e-3 to 1.1e-2 (hidden 8, two input draws) and
/// 6.2e-4.
///
/// f16: each weight moves by at most 2^-11 of itself, or 2^-25 below 2^-14 (f16's subnormals),
/// so each pre-activation by at most 2^-11 sum_j |w_ij| |v_j| + 2^-25 sum_j |v_j|, propagated
/// as above (the input is never rounded). Widened by VCVTPH2PS where the target has F16C
/// (every AVX2 processor), by integer operations elsewhere (detail/packed_weights.hpp); exact
/// either way. On a Zen 3 core (AVX2) the f16 steps are as fast as bf16's or faster (GRU 64: 604
/// against 680 ns; 128: 1.86 against 2.09 µs; bench/README.md). The tests check
/// the one-step bound (largest measured 0.37 of it), the drift, stated as bf16's times 2^-11 /
/// 2^-8, below 1.25e-3 (measured 2.5e-4 at hidden 64 and 7.2e-4 at hidden 8 over 2000 steps),
/// and PyTorch's GRU fixture within the same 1.25e-3 (measured 5.8e-5). `pack` throws on a
/// weight of 65520 or more in magnitude (it would round to Inf), and on a non-finite one.
///
/// int8 (where the target has AVX512-VNNI, VPDPBUSD takes 64 weights per instruction, with
/// AVX-VNNI 32; with AVX2 alone, VPMADDUBSW and VPMADDWD take 32 in four instructions, exactly;
/// elsewhere, SSE2 or AVX-512 without VNNI, a portable float path, slower than bf16 there): the
/// error of each product is relative to the largest weight of its row and the largest value of
/// its input, not to each value:
///   |pre~_i - pre_i| <= (s_i / 2) sum_j |v_j| + (t / 2) sum_j |w_ij| + C s_i t / 4
/// per product (s_i = max_j |w_ij| / 127, t = max_j |v_j| / 127). tests/nn/test_recurrent.cpp
/// checks the product against that quantization written plainly (bit for bit where the sum is
/// exact), the one-step bound through the gates (largest measured 0.23 of it), and the drift,
/// stated as below 5e-2: measured 8.2e-3 (hidden 64) and 2.6e-2 (hidden 8) over 2000 steps of
/// N(0, 1) input, and 1.2e-3 against PyTorch's output on the GRU fixture (stated below 1e-2).
/// Beside RTNeural in one binary, hidden 64 and 128: 253-292 ns (RTNeural 721-835) and
/// 918-1002 ns (2241-2451) on a Sapphire Rapids core; 437-441 ns (976-991) and 1197-1237 ns
/// (3300-3338) on a Zen 3 core (AVX2). At hidden 8-32 the input's quantization costs what the
/// smaller weights save (bench/README.md). Every other int8 step reads the weights backwards,
/// so that a step starts on the weights the last one read last, still in L1 (at hidden 128
/// they exceed L1); the integer sums make the order exact.
///
/// Limits: T is float (one stream); the batch steps of GRU already read each weight once for
/// all lanes. int8 needs In and H <= 1040 (so that the portable path's float sums of integers
/// stay exact; a static_assert says so). The packed copy does not follow later changes to the
/// GRU's parameters: call `pack(gru)` again after training or loading.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>
#include <utility>

#include <dendrite/config.hpp>
#include <dendrite/core/bf16.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/f16.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/nn/detail/packed_int8.hpp>
#include <dendrite/nn/gru.hpp>
#include <dendrite/rt/contract.hpp>

namespace dendrite::nn {

template <class T, int In, int Hidden, class Weight = bf16>
class PackedGRU {
  static_assert(std::is_same_v<T, float>, "PackedGRU: T must be float (one stream)");
  static_assert(detail::is_packed_weight_v<Weight>,
                "PackedGRU: the weights are stored as float, bf16, f16 or std::int8_t");
  static_assert(In > 0 && Hidden > 0, "PackedGRU: In and Hidden must be positive");
  static constexpr std::size_t kIn = In;
  static constexpr std::size_t kH = Hidden;
  using Ih = detail::packed_weights_t<Weight, 3 * kH, kIn>;
  using Hh = detail::packed_weights_t<Weight, 3 * kH, kH>;
  static constexpr std::size_t kRows = Ih::rows;  // 3H padded to whole SIMD groups

 public:
  using value_type = float;
  using Scalar = float;  ///< the arithmetic (what `nn::Sequential` composes on)
  using weight_type = Weight;
  static constexpr int input_size = In;
  static constexpr int output_size = Hidden;
  static constexpr std::size_t state_size = kH;
  /// Whether the products round their input (x and h) too: to bf16 with bf16 weights on a
  /// target with AVX512-BF16, to int8 with int8 weights (see the file comment).
  static constexpr bool rounds_input = Ih::rounds_input;

  /// Zero weights and state (pack a trained GRU before use).
  PackedGRU() { static_assert(rt::Stateful<PackedGRU> && rt::Costed<PackedGRU>); }
  /// Packs `gru`'s weights; state zero.
  explicit PackedGRU(const GRU<float, In, Hidden>& gru) : PackedGRU() { pack(gru); }

  /// Copies and rounds `gru`'s parameters into this block; keeps the state. Throws
  /// dendrite::numerical_error, leaving the block as it was, on a weight the storage cannot
  /// hold: not finite (int8, f16), or 65520 or more in magnitude (f16).
  void pack(const GRU<float, In, Hidden>& gru) {
    Ih wih;
    Hh whh;
    wih.pack(gru.weight_ih.value.data());
    whh.pack(gru.weight_hh.value.data());
    wih_ = std::move(wih);
    whh_ = std::move(whh);
    for (std::size_t i = 0; i < 3 * kH; ++i) {
      bih_[i] = gru.bias_ih.value(Eigen::Index(i));
      bhh_[i] = gru.bias_hh.value(Eigen::Index(i));
    }
  }

  /// The stored weights as float (bf16 values widened exactly; int8 values times their row's
  /// scale): W_ih(i, j) and W_hh(i, j).
  [[nodiscard]] float weight_ih(std::size_t i, std::size_t j) const noexcept {
    return wih_.weight(i, j);
  }
  [[nodiscard]] float weight_hh(std::size_t i, std::size_t j) const noexcept {
    return whh_.weight(i, j);
  }

  /// 0: the output answers the input of the same step.
  [[nodiscard]] std::size_t latency_samples() const noexcept { return 0; }
  /// FLOPs of one step: as GRU (the padding rows are not counted).
  static constexpr std::size_t flops_per_step() noexcept {
    return GRU<float, In, Hidden>::flops_per_step();
  }
  /// Bytes one step reads: the packed weights (padding included), float biases, the state.
  static constexpr std::size_t bytes_per_step() noexcept {
    return Ih::bytes() + Hh::bytes() + sizeof(float) * (6 * kH + kH);
  }

  /// Clears the state h; keeps the weights. Real-time safe.
  DENDRITE_REALTIME void reset() noexcept { h_.fill(0.0F); }
  /// The recurrent state h (also the step's output).
  [[nodiscard]] std::span<const float, state_size> state() const noexcept { return h_; }
  /// Sets h. Real-time safe.
  DENDRITE_REALTIME void set_state(std::span<const float, state_size> h) noexcept {
    std::copy(h.begin(), h.end(), h_.begin());
  }

  /// One step: h <- GRU(x, h) with the packed weights; writes h to `h_out`. A non-finite input
  /// is rejected (state untouched, `Status::RejectedNonFinite`). Real-time safe.
  DENDRITE_REALTIME Status step(std::span<const float, kIn> x,
                                std::span<float, kH> h_out) noexcept {
    const std::array<float, kIn> xf = flush_denormals(x);  // denormals cost 10-100x
    const bool finite = all_finite(std::span<const float, kIn>(xf));
    std::array<float, kRows> gi, gh;
    detail::gemv_pair(backwards_, wih_, xf.data(), bih_.data(), gi.data(), whh_, h_.data(),
                      bhh_.data(), gh.data());
    return detail::gru_update<float, kH>(finite, gi.data(), gh.data(), h_.data(), h_out);
  }

 private:
  Ih wih_;
  Hh whh_;
  std::array<float, kRows> bih_{}, bhh_{};  // the padding rows stay 0
  std::array<float, kH> h_{};
  bool backwards_ = false;  // the order of the next step's reads, not the result's (int8)
};

}  // namespace dendrite::nn
