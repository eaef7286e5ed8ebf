// SPDX-License-Identifier: MIT
/// @file
/// Long short-term memory with PyTorch's exact equations (torch.nn.LSTM / LSTMCell), gate order
/// i, f, g, o stacked in the rows of the weights:
///   i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)      f = sigmoid(W_if x + b_if + W_hf h + b_hf)
///   g = tanh(W_ig x + b_ig + W_hg h + b_hg)         o = sigmoid(W_io x + b_io + W_ho h + b_ho)
///   c' = f * c + i * g,    h' = o * tanh(c')
/// weight_ih (4H x In), weight_hh (4H x H), bias_ih, bias_hh (4H): PyTorch's names and shapes.
///
/// Forms and layouts as in gru.hpp: `step(x, h)` (real time, lanes = streams, rejects
/// non-finite input; the cell state c is internal), `forward(X)` (In x steps -> h, H x steps),
/// `forward(tape, x, batch)` (In x (steps * batch) -> H x (steps * batch), step-major; h0 = c0 =
/// 0).
/// For float the real-time step's gates use the sigmoid and tanh of
/// nn/detail/gate_activations.hpp (absolute error <= 4.5e-7 for tanh and 2.5e-7 for sigmoid,
/// below the float products' own rounding, with a rational tanh whose chain is about 30 cycles
/// long); double keeps the <= 3 ulp functions of core/math.hpp.
/// One float stream at hidden 65-128 on AVX-512: the 4H rows are one register block of 17-32
/// batches (detail::gemv_block), each column read whole: LSTM 128 1.14-1.55x RTNeural's (ten runs)
/// on the Zen 5 VM (g++ 12; bench/README.md), level with `PackedLSTM<float, In, H, float>`.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include <dendrite/autodiff/ops.hpp>
#include <dendrite/config.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/math.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/nn/detail/gate_activations.hpp>
#include <dendrite/nn/detail/kernels.hpp>
#include <dendrite/nn/detail/module.hpp>
#include <dendrite/nn/options.hpp>
#include <dendrite/rt/contract.hpp>

namespace dendrite::nn {
namespace detail {

/// The LSTM's cell from the gate pre-activations g = W_ih x + b_ih + W_hh h + b_hh (i, f, g, o
/// stacked): hc = [h; c] is replaced by [h'; c'] where `finite` holds (kept where it does not),
/// and h' copied to h_out. Both passes are forced inline: g++ 12 had kept them out of line, and
/// inlined they took LSTM<float> 64 from 904-912 to 865-874 ns, 128 from 2.6 to 2.4 µs, int8
/// 128 from 1.01-1.02 to 0.84-0.85 µs on the AVX-512 VM, the AVX2 build's LSTM 16 from 105 to
/// 97-98 ns, the rest within noise; the same results bit for bit.
/// For a scalar T the new state is selected into c_next and h_next first and then copied to the
/// state and to h_out, each copy reading only a local array. In one loop that stores hc[i] and
/// reads it back for h_out[i], the compiler must allow for h_out overlapping the state: clang 14
/// kept that loop scalar (48 scalar stores and their masked moves in LSTM 16's step), g++ 12
/// checks the overlap at run time. On the AVX-512 VM (peer binary, three rounds), with clang
/// `LSTM<float>` 8 58-59 -> 43-44 ns, 16 81.5 -> 65-66, `PackedLSTM` bf16 16 100-103 -> 88-92,
/// int8 8 99-102 -> 62-64; with g++ `LSTM<float>` 64 770-804 -> 699-714 ns, bf16 8 77-84 ->
/// 71-73 and 64 634-659 -> 593-603, int8 64 270-279 -> 288-293, the rest within noise. The lanes
/// keep the one loop (every element is a vector already). The GRU's and the leaky RNN's steps
/// keep theirs too: there the same change made clang's `GRU<float>` 64 7 % slower, int8
/// `PackedGRU` 64 8-15 % slower with either compiler, and clang's `RNN<float, 33, 100>` 3-6 %.
template <class T, std::size_t H>
DENDRITE_FORCE_INLINE Status lstm_update(mask_t<T> finite, const T* g, T* hc,
                                         std::span<T, H> h_out) noexcept {
  std::array<T, H> c_next, h_next;
  vmap<T, H, kGateInterleave>(
      [](auto gi, auto gf, auto gg, auto c) DENDRITE_FORCE_INLINE_LAMBDA {
        return gate_sigmoid(gf) * c + gate_sigmoid(gi) * gate_tanh(gg);
      },
      c_next.data(), g, g + H, g + 2 * H, hc + H);
  vmap<T, H, kGateInterleave>(
      [](auto go, auto c) DENDRITE_FORCE_INLINE_LAMBDA { return gate_sigmoid(go) * gate_tanh(c); },
      h_next.data(), g + 3 * H, c_next.data());
  if constexpr (is_batch_v<T>) {
    for (std::size_t i = 0; i < H; ++i) {
      hc[H + i] = dendrite::select<T>(finite, c_next[i], hc[H + i]);
      hc[i] = dendrite::select<T>(finite, h_next[i], hc[i]);
      h_out[i] = hc[i];
    }
  } else {
    // the selects into c_next and h_next, then plain copies (see the comment above)
    for (std::size_t i = 0; i < H; ++i) {
      c_next[i] = dendrite::select<T>(finite, c_next[i], hc[H + i]);
      h_next[i] = dendrite::select<T>(finite, h_next[i], hc[i]);
    }
    for (std::size_t i = 0; i < H; ++i) hc[H + i] = c_next[i];
    for (std::size_t i = 0; i < H; ++i) hc[i] = h_next[i];
    for (std::size_t i = 0; i < H; ++i) h_out[i] = h_next[i];
  }
  return all_of(finite) ? Status::Ok : Status::RejectedNonFinite;
}

}  // namespace detail

template <Real T, int In, int Hidden>
class LSTM : public detail::RecurrentParameters<scalar_t<T>, 4, In, Hidden> {
  static_assert(In > 0 && Hidden > 0, "LSTM: In and Hidden must be positive");

  // The sizes as std::size_t, for spans and loops; input_size and output_size are the
  // public names.
  static constexpr std::size_t kIn = In;
  static constexpr std::size_t kH = Hidden;
  static constexpr std::size_t kG = 4 * kH;

 public:
  using value_type = T;
  using Scalar = scalar_t<T>;
  using Matrix = autodiff::Mat<Scalar>;
  using Param = autodiff::Parameter<Scalar>;
  static constexpr int input_size = In;
  static constexpr int output_size = Hidden;
  static constexpr std::size_t state_size = 2 * kH;  ///< [h; c]

  using Base = detail::RecurrentParameters<Scalar, 4, In, Hidden>;
  using Base::bias_hh;
  using Base::bias_ih;
  using Base::init;
  using Base::named_parameters;
  using Base::parameters;
  using Base::weight_hh;
  using Base::weight_ih;

  /// Weights drawn as PyTorch does, U(-1/sqrt(H), 1/sqrt(H)), from `seed`; state zero.
  explicit LSTM(const BlockOptions& options = {}) {
    static_assert(rt::Stateful<LSTM> && rt::Trainable<LSTM>);
    init(options.seed);
    reset();
  }
  /// 0: the output answers the input of the same step.
  [[nodiscard]] std::size_t latency_samples() const noexcept { return 0; }
  /// FLOPs of one step, all lanes (rt/contract.hpp): two GEMVs of 4H rows
  /// (8 H (In + H)), both biases (8H), the gates' sums (4H) and nonlinearities (4H),
  /// c' = f c + i g (3H), h = o tanh(c') (2H).
  static constexpr std::size_t flops_per_step() noexcept {
    return lanes_v<T> * (8 * kH * (kIn + kH) + 21 * kH);
  }
  /// Bytes one step reads: weights and biases, and the state.
  static constexpr std::size_t bytes_per_step() noexcept {
    return sizeof(Scalar) * (4 * kH * (kIn + kH) + 8 * kH) + sizeof(T) * (2 * kH);
  }

  // ------------------------------------------------------------------ real time
  /// Clears h and c; keeps the weights. Real-time safe.
  DENDRITE_REALTIME void reset() noexcept { hc_.fill(T(0)); }
  /// The whole recurrent state [h; c] (2 H values), as `set_state` takes it.
  [[nodiscard]] std::span<const T, state_size> state() const noexcept { return hc_; }
  /// The hidden state h (the step's output).
  [[nodiscard]] std::span<const T, kH> hidden() const noexcept {
    return std::span<const T, kH>(hc_.data(), kH);
  }
  /// The cell state c.
  [[nodiscard]] std::span<const T, kH> cell() const noexcept {
    return std::span<const T, kH>(hc_.data() + kH, kH);
  }
  /// Sets [h; c] (2 H values, as `state()` returns them). Real-time safe.
  DENDRITE_REALTIME void set_state(std::span<const T, state_size> hc) noexcept {
    std::copy(hc.begin(), hc.end(), hc_.begin());
  }
  /// Sets h and c. Real-time safe.
  DENDRITE_REALTIME void set_state(std::span<const T, kH> h, std::span<const T, kH> c) noexcept {
    std::copy(h.begin(), h.end(), hc_.begin());
    std::copy(c.begin(), c.end(), hc_.begin() + kH);
  }

  /// One step: (h, c) <- LSTM(x, h, c); writes the new h to `h_out`. Real-time safe.
  DENDRITE_REALTIME Status step(std::span<const T, kIn> x, std::span<T, kH> h_out) noexcept {
    const std::array<T, kIn> x_flushed = flush_denormals(x);  // denormals cost 10-100x
    x = std::span<const T, kIn>(x_flushed);
    const mask_t<T> finite = all_finite(x);
    std::array<T, kG> g;
    std::array<Scalar, kG> b;
    detail::add_vectors<Scalar, kG>(bias_ih.value.data(), bias_hh.value.data(), b.data());
    detail::gemv_bias2<T, kG, kIn, kH>(weight_ih.value.data(), x.data(), weight_hh.value.data(),
                                       hc_.data(), b.data(), g.data());
    return detail::lstm_update<T, kH>(finite, g.data(), hc_.data(), h_out);
  }

  // ------------------------------------------------------------------ analysis
  /// Runs the sequence X (In x steps) from h0 = c0 = 0; returns h, H x steps.
  template <class Derived>
  [[nodiscard]] Matrix forward(const Eigen::MatrixBase<Derived>& x) const {
    static_assert(std::is_same_v<typename Derived::Scalar, Scalar>,
                  "LSTM::forward: the sequence must have the weights' scalar type");
    detail::check_rows("LSTM::forward", x.rows(), x.cols(), In);
    const Eigen::Index steps = x.cols();
    Matrix g = weight_ih.value * x;
    g.colwise() += (bias_ih.value + bias_hh.value).col(0);
    Matrix out(Hidden, steps);
    Eigen::Array<Scalar, Eigen::Dynamic, 1> c =
        Eigen::Array<Scalar, Eigen::Dynamic, 1>::Zero(Hidden);
    Eigen::Matrix<Scalar, Eigen::Dynamic, 1> h =
        Eigen::Matrix<Scalar, Eigen::Dynamic, 1>::Zero(Hidden);
    for (Eigen::Index k = 0; k < steps; ++k) {
      g.col(k).noalias() += weight_hh.value * h;
      const auto a = g.col(k).array();
      c = a.segment(Hidden, Hidden).logistic() * c +
          a.head(Hidden).logistic() * a.segment(2 * Hidden, Hidden).tanh();
      h = (a.tail(Hidden).logistic() * c.tanh()).matrix();
      out.col(k) = h;
    }
    return out;
  }

  // ------------------------------------------------------------------ training
  /// Records the sequence on the tape (see the file comment for the layout); h0 = c0 = 0.
  autodiff::Var<Scalar> forward(autodiff::Tape<Scalar>& t, autodiff::Var<Scalar> x,
                                Eigen::Index batch) {
    using namespace autodiff;
    detail::check_batched("LSTM::forward(tape)", x.rows(), x.cols(), In, batch);
    const Eigen::Index steps = x.cols() / batch;
    const Var<Scalar> g_all = addmm(t.param(bias_ih) + t.param(bias_hh), t.param(weight_ih), x);
    const Var<Scalar> whh = t.param(weight_hh);
    hs_.clear();
    Var<Scalar> h = t.constant(Matrix::Zero(Hidden, batch));
    Var<Scalar> c = h;
    for (Eigen::Index k = 0; k < steps; ++k) {
      const Var<Scalar> g = addmm(slice_cols(g_all, k * batch, batch), whh, h);
      const Var<Scalar> i = sigmoid(slice_rows(g, 0, Hidden));
      const Var<Scalar> f = sigmoid(slice_rows(g, Hidden, Hidden));
      const Var<Scalar> gg = tanh(slice_rows(g, 2 * Hidden, Hidden));
      const Var<Scalar> o = sigmoid(slice_rows(g, 3 * Hidden, Hidden));
      c = f * c + i * gg;
      h = o * tanh(c);
      hs_.push_back(h);
    }
    return concat_cols(hs_);
  }

 private:
  std::array<T, state_size> hc_{};         // [h; c]
  std::vector<autodiff::Var<Scalar>> hs_;  // per-step outputs of the tape form (kept)
};

}  // namespace dendrite::nn
