// SPDX-License-Identifier: MIT
/// @file
/// Convolutions as PyTorch's nn.Conv1d / nn.Conv2d (cross-correlation, zero padding; weight
/// (Cout, Cin, K) or (Cout, Cin, KH, KW) stored as Cout x (Cin K ...), bias Cout; initialised
/// as PyTorch, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = Cin K ...):
///   y[o, t] = b[o] + sum_{c,k} W[o, c, k] x[c, t s + k d - p]           (equations in
///   y[o, i, j] = b[o] + sum_{c,u,v} W[o, c, u, v] x[c, i s + u - p, j s + v - p]   conv_ops.hpp)
///
/// Conv1D<T, Cin, Cout, K, D> over sequences (Cin x L, channels x steps):
///   step(x, y)         real time, one sample in, one out: the causal, stride-1 convolution
///                      (padding (K - 1) D on the left) over a shift register of the last
///                      (K - 1) D + 1 inputs; no allocation, noexcept; a non-finite input lane
///                      is rejected and leaves the history and y untouched. Fed a sequence
///                      sample by sample from reset(), it gives exactly forward() with
///                      Padding::causal, stride 1.
///   forward(X)         one sequence, Cin x L -> Cout x Lout, with the block's padding
///                      (valid: none; same: (K-1)D split as PyTorch, more on the right, stride
///                      1 only; causal: all on the left) and stride
///   forward(tape, x, B) a batch of B sequences in step-major layout (Cin x L B)
/// Conv2D<T, Cin, Cout, KH, KW> over maps (see maps.hpp): forward(Maps) and forward(tape,
/// MapsVar), padding valid, same (stride 1) or zeros(p), and a stride. No step form: a map is
/// not a stream.
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
#include <dendrite/nn/detail/kernels.hpp>
#include <dendrite/nn/detail/module.hpp>
#include <dendrite/nn/maps.hpp>

namespace dendrite::nn {

/// Zero padding of a convolution.
enum class Padding {
  valid,   ///< none (PyTorch's default)
  same,    ///< output as long as the input (stride 1); total (K - 1) d, the odd one on the right
  causal,  ///< 1-D: (K - 1) d on the left, so y[t] sees x[<= t]
  zeros,   ///< `pad` zeros on every side (PyTorch's padding=int)
};

struct ConvOptions {
  Padding padding = Padding::valid;
  int stride = 1;
  int pad = 0;  ///< for Padding::zeros
};

namespace detail {

/// (before, after) padding of one dimension.
inline std::pair<Index, Index> padding_of(std::string_view who, const ConvOptions& o, Index kernel,
                                          Index dilation, bool one_d) {
  if (o.stride < 1 || o.pad < 0) {
    DENDRITE_THROW(dimension_error, who, ": expected a positive stride and a padding >= 0, got ",
                   "stride ", o.stride, " and pad ", o.pad);
  }
  const Index total = (kernel - 1) * dilation;
  switch (o.padding) {
    case Padding::valid:
      return {0, 0};
    case Padding::same:
      if (o.stride != 1) {
        DENDRITE_THROW(dimension_error, who, ": padding 'same' needs stride 1, got stride ",
                       o.stride);
      }
      return {total / 2, total - total / 2};
    case Padding::causal:
      if (!one_d) {
        DENDRITE_THROW(dimension_error, who, ": causal padding is for 1-D convolutions");
      }
      return {total, 0};
    case Padding::zeros:
      return {o.pad, o.pad};
  }
  return {0, 0};
}

template <class S>
void init_conv(autodiff::Parameter<S>& w, autodiff::Parameter<S>& b, Index fan_in,
               std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const double bound = 1.0 / std::sqrt(double(fan_in));
  init_uniform(w, bound, rng);
  init_uniform(b, bound, rng);
}

}  // namespace detail

template <Real T, int InCh, int OutCh, int Kernel, int Dilation = 1>
class Conv1D {
  static_assert(InCh > 0 && OutCh > 0 && Kernel > 0 && Dilation > 0,
                "Conv1D: channels, kernel and dilation must be positive");

 public:
  using Scalar = scalar_t<T>;
  using Matrix = autodiff::Mat<Scalar>;
  using Param = autodiff::Parameter<Scalar>;
  static constexpr int input_size = InCh;
  static constexpr int output_size = OutCh;
  static constexpr std::size_t kIn = InCh;
  static constexpr std::size_t kOut = OutCh;
  /// Samples the streaming form remembers: the receptive field.
  static constexpr std::size_t kSpan = std::size_t(Kernel - 1) * Dilation + 1;

  Param weight{OutCh, Index(InCh) * Kernel};
  Param bias{OutCh, 1};

  explicit Conv1D(std::uint64_t seed = 0, ConvOptions options = {}) : options_(options) {
    (void)detail::padding_of("Conv1D", options_, Kernel, Dilation, true);
    init(seed);
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
    autodiff::detail::check_conv1d("Conv1D::forward", s, x.rows(), x.cols(), weight.rows(),
                                   weight.cols(), bias.rows(), bias.cols());
    Matrix cols, y;
    autodiff::detail::conv1d_forward<Scalar>(x.derived(), weight.value, bias.value, s, cols, y);
    return y;
  }

  /// A batch of sequences on the tape, step-major: Cin x (L batch) -> Cout x (Lout batch).
  autodiff::Var<Scalar> forward(autodiff::Tape<Scalar>& t, autodiff::Var<Scalar> x,
                                Index batch = 1) {
    detail::check_batched("Conv1D::forward(tape)", x.rows(), x.cols(), InCh, batch);
    return autodiff::conv1d(x, t.param(weight), t.param(bias), shape(x.cols() / batch, batch));
  }

  /// Clears the streaming history (the zeros of causal padding).
  void reset() noexcept { history_.fill(T(0)); }

  /// y = the causal convolution at the newest sample x (see the file comment).
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
    std::copy(history_.begin() + 1, history_.end(), history_.begin());
    for (std::size_t c = 0; c < kIn; ++c) history_[c * kSpan + kSpan - 1] = x[c];
  }

  DENDRITE_FORCE_INLINE void convolve(T* y) const noexcept {
    std::array<T, kOut> acc;
    const Scalar* b = bias.value.data();
    for (std::size_t o = 0; o < kOut; ++o) acc[o] = T(b[o]);
    if constexpr (Dilation == 1) {
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

template <Real T, int InCh, int OutCh, int KH, int KW = KH>
class Conv2D {
  static_assert(InCh > 0 && OutCh > 0 && KH > 0 && KW > 0,
                "Conv2D: channels and kernel sizes must be positive");
  static_assert(!is_batch_v<T>, "Conv2D: maps are analysis data; use float or double");

 public:
  using Scalar = T;
  using Matrix = autodiff::Mat<Scalar>;
  using Param = autodiff::Parameter<Scalar>;
  static constexpr int input_size = InCh;  // channels
  static constexpr int output_size = OutCh;

  Param weight{OutCh, Index(InCh) * KH * KW};
  Param bias{OutCh, 1};

  explicit Conv2D(std::uint64_t seed = 0, ConvOptions options = {}) : options_(options) {
    (void)detail::padding_of("Conv2D", options_, KH, 1, false);
    (void)detail::padding_of("Conv2D", options_, KW, 1, false);
    init(seed);
  }

  void init(std::uint64_t seed) {
    detail::init_conv(weight, bias, Index(InCh) * KH * KW, seed);
    weight.shape = {OutCh, InCh, KH, KW};
  }
  [[nodiscard]] const ConvOptions& options() const noexcept { return options_; }

  [[nodiscard]] std::array<std::pair<std::string_view, Param*>, 2> named_parameters() noexcept {
    return {{{"weight", &weight}, {"bias", &bias}}};
  }
  [[nodiscard]] std::vector<Param*> parameters() { return {&weight, &bias}; }

  /// The geometry for maps of `in` (whose channels must be InCh).
  [[nodiscard]] autodiff::Conv2DShape shape(const MapShape& in) const {
    const auto [top, bottom] = detail::padding_of("Conv2D", options_, KH, 1, false);
    const auto [left, right] = detail::padding_of("Conv2D", options_, KW, 1, false);
    return {InCh, OutCh, KH, KW, options_.stride, top, bottom, left, right, in.height, in.width};
  }
  /// The shape of the output maps.
  [[nodiscard]] MapShape output_shape(const MapShape& in) const {
    const autodiff::Conv2DShape s = shape(in);
    return {OutCh, s.out_height(), s.out_width()};
  }

  [[nodiscard]] Maps<Scalar> forward(const Maps<Scalar>& x) const {
    detail::check_maps("Conv2D::forward", x.shape, x.data.rows(), InCh);
    const autodiff::Conv2DShape s = shape(x.shape);
    autodiff::detail::check_conv2d("Conv2D::forward", s, x.data.rows(), x.data.cols(),
                                   weight.rows(), weight.cols(), bias.rows(), bias.cols());
    Maps<Scalar> y{Matrix(), output_shape(x.shape)};
    Matrix cols;
    autodiff::detail::conv2d_forward<Scalar>(x.data, weight.value, bias.value, s, cols, y.data);
    return y;
  }

  MapsVar<Scalar> forward(autodiff::Tape<Scalar>& t, const MapsVar<Scalar>& x) {
    detail::check_maps("Conv2D::forward(tape)", x.shape, x.var.rows(), InCh);
    return {autodiff::conv2d(x.var, t.param(weight), t.param(bias), shape(x.shape)),
            output_shape(x.shape)};
  }

 private:
  ConvOptions options_;
};

}  // namespace dendrite::nn
