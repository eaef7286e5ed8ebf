// SPDX-License-Identifier: MIT
/// @file
/// A fully connected layer for inference with its weights stored in reduced precision:
/// y = f(W x + b) (nn/dense.hpp, PyTorch's nn.Linear and an activation) in float arithmetic,
/// over weights packed once from a trained `Dense<float>`, as `PackedGRU` packs a GRU's.
///
///   PackedDense<float, In, Out, bf16>         weights rounded to bfloat16 (to nearest, ties
///                                             to even): half the bytes; bias stays float
///   PackedDense<float, In, Out, f16>          weights rounded to IEEE half: the same bytes, 8
///                                             times finer, |w| < 65520 only
///   PackedDense<float, In, Out, std::int8_t>  int8 weights with a float scale per row, x
///                                             quantized to int8 at every step: a quarter
///   PackedDense<float, In, Out, float>        the same layout in float
///
/// Why: a float `Dense` step reads its Out x In weights every call, 64 KB at 128 x 128, more
/// than a 48 KB L1, so the step waits on L2 (its time is the bytes over L2's bandwidth), as
/// RTNeural's does. f16 and bf16 halve the bytes, int8 quarters them: 128 x 128 fits L1 as f16
/// or int8. Measured beside the float step and RTNeural in bench/README.md.
///
/// Error against `Dense<float>`, per output i, before the activation (pre_i = b_i + sum_j
/// w_ij x_j), with the bounds and the products of `PackedGRU` (nn/packed_gru.hpp,
/// detail/packed_weights.hpp, detail/packed_int8.hpp):
///   bf16: |pre~_i - pre_i| <= u sum_j |w_ij| |x_j|, u = 2^-8 ((2u + u^2) where the target has
///         AVX512-BF16: the product then rounds x to bf16 too, `rounds_input`)
///   f16:  <= 2^-11 sum_j |w_ij| |x_j| + 2^-25 sum_j |x_j|
///   int8: <= (s_i / 2) sum_j |x_j| + (t / 2) sum_j |w_ij| + In s_i t / 4,
///         s_i = max_j |w_ij| / 127, t = max_j |x_j| / 127
/// plus the float sums' own rounding; the output moves by at most that times the activation's
/// largest slope (1 for Identity, ReLU, Tanh and ReTanh, 1/4 for Sigmoid).
/// tests/nn/test_recurrent.cpp checks the step against f(b + W~ x) written plainly from the
/// stored weights, and against `Dense<float>` within these bounds, at odd sizes.
///
/// Real time: `step` is const, noexcept and allocates nothing; a non-finite input leaves y
/// untouched and returns `Status::RejectedNonFinite`, as `Dense::step` does. It composes with
/// the other blocks in `nn::Sequential` (the real-time step). Limits: one stream (T = float); no
/// analysis or tape form (train the float Dense, then pack); int8 needs In <= 1040; the packed
/// copy does not follow later changes to the Dense's parameters: call `pack` again.
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
#include <dendrite/nn/activation.hpp>
#include <dendrite/nn/dense.hpp>
#include <dendrite/nn/detail/kernels.hpp>
#include <dendrite/nn/detail/packed_int8.hpp>
#include <dendrite/rt/contract.hpp>

namespace dendrite::nn {

template <class T, int In, int Out, class Weight = bf16, class Activation = Identity>
class PackedDense {
  static_assert(std::is_same_v<T, float>, "PackedDense: T must be float (one stream)");
  static_assert(detail::is_packed_weight_v<Weight>,
                "PackedDense: the weights are stored as float, bf16, f16 or std::int8_t");
  static_assert(In > 0 && Out > 0, "PackedDense: In and Out must be positive");
  static constexpr std::size_t kIn = In;
  static constexpr std::size_t kOut = Out;
  using Packed = detail::packed_weights_t<Weight, kOut, kIn>;
  static constexpr std::size_t kRows = Packed::rows;  // Out padded to whole SIMD groups

 public:
  using value_type = float;
  using Scalar = float;  ///< the arithmetic (what `nn::Sequential` composes on)
  using weight_type = Weight;
  static constexpr int input_size = In;
  static constexpr int output_size = Out;
  /// Whether the product rounds its input x too: to bf16 with bf16 weights on a target with
  /// AVX512-BF16, to int8 with int8 weights (see the file comment).
  static constexpr bool rounds_input = Packed::rounds_input;

  /// Zero weights and bias (pack a trained Dense before use).
  PackedDense() { static_assert(rt::StreamingBlock<PackedDense> && rt::Costed<PackedDense>); }
  /// Packs `dense`'s weights and bias.
  explicit PackedDense(const Dense<float, In, Out, Activation>& dense) : PackedDense() {
    pack(dense);
  }

  /// Copies and rounds `dense`'s parameters into this layer. Throws dendrite::numerical_error,
  /// leaving the layer as it was, on a weight the storage cannot hold: not finite (int8, f16),
  /// or 65520 or more in magnitude (f16).
  void pack(const Dense<float, In, Out, Activation>& dense) {
    Packed w;
    w.pack(dense.weight.value.data());
    w_ = std::move(w);
    for (std::size_t i = 0; i < kOut; ++i) b_[i] = dense.bias.value(Eigen::Index(i));
  }

  /// The stored weight W(i, j) as float (bf16 and f16 widened exactly; int8 times its row's
  /// scale).
  [[nodiscard]] float weight(std::size_t i, std::size_t j) const noexcept {
    return w_.weight(i, j);
  }
  /// The bias b(i).
  [[nodiscard]] float bias(std::size_t i) const noexcept { return b_[i]; }

  /// Nothing to clear: the layer has no running state. Real-time safe.
  DENDRITE_REALTIME void reset() noexcept {}
  /// 0: the output answers the input of the same step.
  [[nodiscard]] std::size_t latency_samples() const noexcept { return 0; }
  /// FLOPs of one step: as Dense (the padding rows are not counted).
  static constexpr std::size_t flops_per_step() noexcept {
    return Dense<float, In, Out, Activation>::flops_per_step();
  }
  /// Bytes one step reads: the packed weights (padding included) and the float bias.
  static constexpr std::size_t bytes_per_step() noexcept {
    return Packed::bytes() + sizeof(float) * kRows;
  }

  /// y = f(W x + b) with the packed weights. A non-finite input leaves y untouched and returns
  /// `Status::RejectedNonFinite`. Real-time safe.
  DENDRITE_REALTIME Status step(std::span<const float, kIn> x,
                                std::span<float, kOut> y) const noexcept {
    const std::array<float, kIn> xf = flush_denormals(x);  // denormals cost 10-100x
    const bool finite = all_finite(std::span<const float, kIn>(xf));
    std::array<float, kRows> acc;
    w_.gemv(xf.data(), b_.data(), acc.data());
    std::array<float, kOut> out;
    detail::vmap<float, kOut>([](auto v) { return Activation::apply(v); }, out.data(),
                              acc.data());
    if (finite) std::copy(out.begin(), out.end(), y.begin());
    return finite ? Status::Ok : Status::RejectedNonFinite;
  }

 private:
  Packed w_;
  std::array<float, kRows> b_{};  // the padding rows stay 0
};

}  // namespace dendrite::nn
