// SPDX-License-Identifier: MIT
/// @file
/// Conv1D as PyTorch's nn.Conv1d (cross-correlation, zero padding; weight (Cout, Cin, K) stored
/// as Cout x (Cin K), bias Cout; initialised as PyTorch, U(+-1/sqrt(Cin K))):
///   y[o, t] = b[o] + sum_{c,k} W[o, c, k] x[c, t s + k d - p]       (kernels/conv.hpp)
///
/// Conv1D<T, Cin, Cout, K, D> over sequences (Cin x L, channels x steps):
///   step(x, y)         real time, one sample in, one out: the causal, stride-1 convolution
///                      (padding (K - 1) D on the left) over a shift register of the last
///                      (K - 1) D + 1 inputs; no allocation, noexcept; a non-finite input lane
///                      is rejected and leaves the history and y untouched. Fed a sequence
///                      sample by sample from reset(), it gives exactly forward() with
///                      Padding::Causal, stride 1.
///   forward(X)         one sequence, Cin x L -> Cout x Lout, with the block's padding
///                      (valid: none; same: (K-1)D split as PyTorch, more on the right, stride
///                      1 only; causal: all on the left) and stride
///   forward(tape, x, B) a batch of B sequences in step-major layout (Cin x L B)
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include <dendrite/autodiff/conv_ops.hpp>
#include <dendrite/autodiff/ops.hpp>
#include <dendrite/config.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/kernels/conv.hpp>
#include <dendrite/nn/conv_options.hpp>
#include <dendrite/nn/detail/kernels.hpp>
#include <dendrite/nn/detail/module.hpp>
#include <dendrite/nn/maps.hpp>
#include <dendrite/rt/contract.hpp>

namespace dendrite::nn {

/// 1-D convolution of Cin-channel sequences with a causal real-time step (see the file comment).
template <Real T, int InCh, int OutCh, int Kernel, int Dilation = 1>
class Conv1D {
  static_assert(InCh > 0 && OutCh > 0 && Kernel > 0 && Dilation > 0,
                "Conv1D: channels, kernel and dilation must be positive");

  // The sizes as std::size_t, for spans and loops; input_size and output_size are the
  // public names.
  static constexpr std::size_t kIn = InCh;
  static constexpr std::size_t kOut = OutCh;
  /// Samples the streaming form remembers: the receptive field.
  static constexpr std::size_t kSpan = std::size_t(Kernel - 1) * Dilation + 1;

 public:
  using value_type = T;
  using Scalar = scalar_t<T>;
  using Matrix = autodiff::Mat<Scalar>;
  using Param = autodiff::Parameter<Scalar>;
  static constexpr int input_size = InCh;
  static constexpr int output_size = OutCh;

  Param weight{OutCh, Index(InCh) * Kernel};
  Param bias = Param::vector(OutCh);

  explicit Conv1D(const ConvOptions& options = {}) : options_(options) {
    static_assert(rt::StreamingBlock<Conv1D> && rt::Trainable<Conv1D>);
    (void)detail::padding_of("Conv1D", options_, Kernel, Dilation, true);
    init(options_.seed);
  }
  /// 0: the output answers the input of the same step.
  [[nodiscard]] std::size_t latency_samples() const noexcept { return 0; }
  /// FLOPs of one step, all lanes (rt/contract.hpp): one GEMV over the taps
  /// (2 Cout Cin K), + b (Cout).
  static constexpr std::size_t flops_per_step() noexcept {
    return lanes_v<T> * (2 * kOut * kIn * std::size_t(Kernel) + kOut);
  }
  /// Bytes one step reads: weights and biases, and the state.
  static constexpr std::size_t bytes_per_step() noexcept {
    return sizeof(Scalar) * (kOut * kIn * std::size_t(Kernel) + kOut) + sizeof(T) * (kIn * kSpan);
  }


  void init(std::uint64_t seed) {
    detail::init_conv(weight, bias, Index(InCh) * Kernel, seed);
    weight.shape = {OutCh, InCh, Kernel};
  }
  [[nodiscard]] const ConvOptions& options() const noexcept { return options_; }

  [[nodiscard]] std::array<std::pair<std::string_view, Param*>, 2> named_parameters() noexcept {
    return {{{"weight", &weight}, {"bias", &bias}}};
  }
  [[nodiscard]] std::vector<Param*> parameters() { return {&weight, &bias}; }

  /// The geometry of forward over `batch` sequences of `length` steps.
  [[nodiscard]] autodiff::Conv1DShape shape(Index length, Index batch = 1) const {
    const auto [left, right] = detail::padding_of("Conv1D", options_, Kernel, Dilation, true);
    return {InCh, OutCh, Kernel, Dilation, options_.stride, left, right, length, batch};
  }

  /// One sequence: Cin x L -> Cout x Lout.
  template <class Derived>
  [[nodiscard]] Matrix forward(const Eigen::MatrixBase<Derived>& x) const {
    static_assert(std::is_same_v<typename Derived::Scalar, Scalar>,
                  "Conv1D::forward: the input must have the weights' scalar type");
    detail::check_rows("Conv1D::forward", x.rows(), x.cols(), InCh);
    const autodiff::Conv1DShape s = shape(x.cols());
    kernels::check_conv1d("Conv1D::forward", s, x.rows(), x.cols(), weight.rows(),
                                   weight.cols(), bias.rows(), bias.cols());
    Matrix cols, y;
    kernels::conv1d_forward<Scalar>(x.derived(), weight.value, bias.value, s, cols, y);
    return y;
  }

  /// A batch of sequences on the tape, step-major: Cin x (L batch) -> Cout x (Lout batch).
  autodiff::Var<Scalar> forward(autodiff::Tape<Scalar>& t, autodiff::Var<Scalar> x,
                                Index batch = 1) {
    detail::check_batched("Conv1D::forward(tape)", x.rows(), x.cols(), InCh, batch);
    return autodiff::conv1d(x, t.param(weight), t.param(bias), shape(x.cols() / batch, batch));
  }

  /// Clears the streaming history (the zeros of causal padding).
  /// Clears the shift register of past inputs; keeps the weights. Real-time safe.
  DENDRITE_REALTIME void reset() noexcept { history_.fill(T(0)); }

  /// y = the causal convolution at the newest sample x (see the file comment). Real-time safe.
  DENDRITE_REALTIME Status step(std::span<const T, kIn> x, std::span<T, kOut> y) noexcept {
    const std::array<T, kIn> x_flushed = flush_denormals(x);  // denormals cost 10-100x
    x = std::span<const T, kIn>(x_flushed);
    const mask_t<T> finite = all_finite(x);
    if constexpr (!is_batch_v<T>) {
      if (!finite) return Status::RejectedNonFinite;
      push(x);
      convolve(y.data());
      return Status::Ok;
    } else {
      if (all_of(finite)) {
        push(x);
        convolve(y.data());
        return Status::Ok;
      }
      const std::array<T, kHistory> old = history_;  // rare path: keep rejected lanes' history
      push(x);
      for (std::size_t i = 0; i < kHistory; ++i) {
        history_[i] = dendrite::select<T>(finite, history_[i], old[i]);
      }
      std::array<T, kOut> out;
      convolve(out.data());
      for (std::size_t i = 0; i < kOut; ++i) y[i] = dendrite::select<T>(finite, out[i], y[i]);
      return Status::RejectedNonFinite;
    }
  }

 private:
  static constexpr std::size_t kHistory = kIn * kSpan;

  // history_[c kSpan + j]: channel c, j-th oldest of the last kSpan samples
  DENDRITE_FORCE_INLINE void push(std::span<const T, kIn> x) noexcept {
    // an indexed loop, not std::copy: both compilers made that a call to memmove (an
    // overlapping copy), where they vectorise this one inline; Conv1D<float, 8, 8, 3> with g++
    // 13.5-14.3 -> 10.5-10.9 ns, kernel 15 within noise (bench/README.md)
    for (std::size_t i = 0; i + 1 < kHistory; ++i) history_[i] = history_[i + 1];
    for (std::size_t c = 0; c < kIn; ++c) history_[c * kSpan + kSpan - 1] = x[c];
  }

  DENDRITE_FORCE_INLINE void convolve(T* y) const noexcept {
    std::array<T, kOut> acc;
    const Scalar* b = bias.value.data();
    for (std::size_t o = 0; o < kOut; ++o) acc[o] = T(b[o]);
    using V = detail::row_batch_t<Scalar, kOut>;
    constexpr bool kFewRows = [] {
      if constexpr (is_batch_v<T> || std::is_pointer_v<V>) {
        return false;
      } else {
        return kOut % V::size == 0 && kOut / V::size <= 2;
      }
    }();
    if constexpr (Dilation == 1 && kFewRows && kHistory >= 32) {
      // one or two row vectors over many taps: 8 partial sums in all, where gemv_acc keeps 4 a
      // row vector (its chain of Cin K / 4 dependent FMAs, 30 for 8 x 8 channels at K = 15,
      // bounded the step)
      constexpr std::size_t NB = kOut / V::size;
      detail::gemv_rows<T, V, NB, kOut, kHistory, 8 / NB>(weight.value.data(), history_.data(),
                                                          acc.data(), acc.data());
    } else if constexpr (Dilation == 1) {
      // tap k of channel c sits at c K + k, the weight's own column order
      detail::gemv_acc<T, kOut, kHistory>(weight.value.data(), history_.data(), acc.data());
    } else {
      std::array<T, kIn * Kernel> taps;
      for (std::size_t c = 0; c < kIn; ++c) {
        for (std::size_t k = 0; k < std::size_t(Kernel); ++k) {
          taps[c * Kernel + k] = history_[c * kSpan + k * Dilation];
        }
      }
      detail::gemv_acc<T, kOut, kIn * Kernel>(weight.value.data(), taps.data(), acc.data());
    }
    std::copy(acc.begin(), acc.end(), y);
  }

  ConvOptions options_;
  std::array<T, kHistory> history_{};
};

}  // namespace dendrite::nn
