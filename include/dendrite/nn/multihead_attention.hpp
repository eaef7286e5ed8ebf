// SPDX-License-Identifier: MIT
/// @file
/// Attention blocks.
///
/// MultiHeadAttention<T, Dim, Heads, Window = 32>: self-attention over a sequence (Dim x L,
/// features x steps) as PyTorch's nn.MultiheadAttention(Dim, Heads) with q = k = v = x
/// (Vaswani et al. 2017): [Q; K; V] = W_in x + b_in, per head h (d = Dim / Heads rows)
///   O_h = V_h softmax_keys(K_h^T Q_h / sqrt(d) + mask),   y = W_out [O_1; ...; O_H] + b_out,
/// parameters named as its state_dict (in_proj_weight 3Dim x Dim, in_proj_bias,
/// out_proj.weight, out_proj.bias) and initialised as PyTorch (Xavier-uniform in_proj, zero
/// biases, out_proj U(+-1/sqrt(Dim))). Options: a causal mask, a causal window of w steps
/// (query i sees keys i - w < j <= i), and the sinusoidal positional encoding of Vaswani et
/// al. added to x first (PE[t, 2i] = sin(t / 10000^(2i/Dim)), PE[t, 2i+1] = cos(same)).
///   forward(X[, &weights])   one sequence; `weights` receives the attention of each head as
///                            an L x L matrix (row = query, column = key, rows sum to 1:
///                            PyTorch's convention), for plotting
///   forward(tape, x, B)      B sequences, step-major (Dim x L B)
///   step(x, y)               streaming: keys and values of the last Window steps live in a
///                            ring buffer; y equals forward with {causal, window = Window} (and
///                            the block's positional encoding) over the stream since reset().
///                            No allocation; O(Dim^2 + Window Dim) per sample. Scalar T only
///                            (lanes would need one stream position each).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <dendrite/autodiff/nn_ops.hpp>
#include <dendrite/autodiff/ops.hpp>
#include <dendrite/config.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/kernels/attention.hpp>
#include <dendrite/nn/conv.hpp>
#include <dendrite/nn/detail/kernels.hpp>
#include <dendrite/nn/detail/module.hpp>
#include <dendrite/nn/maps.hpp>
#include <dendrite/nn/options.hpp>
#include <dendrite/rt/contract.hpp>

namespace dendrite::nn {

/// Settings of MultiHeadAttention.
struct AttentionOptions {
  bool causal = false;
  int window = 0;            ///< > 0: causal window of this many steps
  bool positional = false;   ///< add the sinusoidal positional encoding to the input
  std::uint64_t seed = 0;    ///< the initial weights are drawn from this seed (PyTorch's scheme)
};

/// The angular frequency of feature i of the sinusoidal positional encoding, 10000^(-2k/dim)
/// for features 2k and 2k + 1 (Vaswani et al. 2017).
inline double positional_frequency(int i, int dim) noexcept {
  return std::pow(10000.0, -double(i - i % 2) / double(dim));
}

/// The sinusoidal positional encoding of feature i at step t, given its frequency.
inline double positional_encoding(std::int64_t t, int i, double frequency) noexcept {
  return (i % 2 == 0) ? std::sin(double(t) * frequency) : std::cos(double(t) * frequency);
}


/// Multi-head self-attention as nn.MultiheadAttention, with a streaming step (see the file
/// comment).
template <Real T, int Dim, int Heads, int Window = 32>
class MultiHeadAttention {
  static_assert(Dim > 0 && Heads > 0 && Dim % Heads == 0,
                "MultiHeadAttention: Dim must be a positive multiple of Heads");
  static_assert(Window > 0, "MultiHeadAttention: the streaming window must be positive");

  // The sizes as std::size_t, for spans and loops; input_size and output_size are the
  // public names.
  static constexpr std::size_t kDim = Dim;
  static constexpr std::size_t kHead = Dim / Heads;

 public:
  using value_type = T;
  using Scalar = scalar_t<T>;
  using Matrix = autodiff::Mat<Scalar>;
  using Param = autodiff::Parameter<Scalar>;
  static constexpr int input_size = Dim;
  static constexpr int output_size = Dim;

  Param in_proj_weight{3 * Dim, Dim};
  Param in_proj_bias = Param::vector(3 * Dim);
  Param out_proj_weight{Dim, Dim};
  Param out_proj_bias = Param::vector(Dim);

  explicit MultiHeadAttention(const AttentionOptions& options = {}) : options_(options) {
    static_assert(rt::Block<MultiHeadAttention> && rt::Trainable<MultiHeadAttention>);
    static_assert(is_batch_v<T> || rt::StreamingBlock<MultiHeadAttention>);
    if (options_.window < 0) {
      DENDRITE_THROW(dimension_error, "MultiHeadAttention: expected a window >= 0, got ",
                     options_.window);
    }
    init(options_.seed);
  }
  /// 0: the output answers the input of the same step.
  [[nodiscard]] std::size_t latency_samples() const noexcept { return 0; }


  void init(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    detail::init_uniform(in_proj_weight, std::sqrt(6.0 / (Dim + 3.0 * Dim)), rng);
    detail::init_uniform(out_proj_weight, 1.0 / std::sqrt(double(Dim)), rng);
    in_proj_bias.value.setZero();
    out_proj_bias.value.setZero();
  }
  [[nodiscard]] const AttentionOptions& options() const noexcept { return options_; }

  [[nodiscard]] std::array<std::pair<std::string_view, Param*>, 4> named_parameters() noexcept {
    return {{{"in_proj_weight", &in_proj_weight},
             {"in_proj_bias", &in_proj_bias},
             {"out_proj.weight", &out_proj_weight},
             {"out_proj.bias", &out_proj_bias}}};
  }
  [[nodiscard]] std::vector<Param*> parameters() {
    return {&in_proj_weight, &in_proj_bias, &out_proj_weight, &out_proj_bias};
  }

  [[nodiscard]] autodiff::AttentionShape shape(Index length, Index batch) const noexcept {
    return {Heads, length, batch, options_.causal, options_.window};
  }

  /// One sequence (Dim x L); `weights`, if given, receives one L x L matrix per head.
  template <class Derived>
  [[nodiscard]] Matrix forward(const Eigen::MatrixBase<Derived>& x,
                               std::vector<Matrix>* weights = nullptr) const {
    static_assert(std::is_same_v<typename Derived::Scalar, Scalar>,
                  "MultiHeadAttention::forward: the input must have the weights' scalar type");
    detail::check_rows("MultiHeadAttention::forward", x.rows(), x.cols(), Dim);
    const Index L = x.cols();
    if (L < 1) {
      DENDRITE_THROW(dimension_error, "MultiHeadAttention::forward: expected a sequence of at ",
                     "least one step, got 0");
    }
    Matrix in = x;
    if (options_.positional) add_positional(in, 1);
    Matrix qkv = in_proj_weight.value * in;
    qkv.colwise() += in_proj_bias.value.col(0);
    const Matrix q = qkv.topRows(Dim), k = qkv.middleRows(Dim, Dim), v = qkv.bottomRows(Dim);
    Matrix o, p;
    kernels::attention_forward<Scalar>(q, k, v, shape(L, 1), o, p);
    if (weights != nullptr) {
      weights->resize(Heads);
      for (int h = 0; h < Heads; ++h) (*weights)[std::size_t(h)] = p.middleCols(h * L, L).transpose();
    }
    Matrix y = out_proj_weight.value * o;
    y.colwise() += out_proj_bias.value.col(0);
    return y;
  }

  /// B sequences on the tape, step-major: Dim x (L B) -> Dim x (L B).
  autodiff::Var<Scalar> forward(autodiff::Tape<Scalar>& t, autodiff::Var<Scalar> x,
                                Index batch = 1) {
    detail::check_batched("MultiHeadAttention::forward(tape)", x.rows(), x.cols(), Dim, batch);
    const Index L = x.cols() / batch;
    if (options_.positional) {
      Matrix pe = Matrix::Zero(Dim, x.cols());
      add_positional(pe, batch);
      x = x + t.constant(pe);
    }
    const autodiff::Var<Scalar> qkv = autodiff::addmm(t.param(in_proj_bias), t.param(in_proj_weight), x);
    const autodiff::Var<Scalar> o = autodiff::attention(autodiff::slice_rows(qkv, 0, Dim),
                                                        autodiff::slice_rows(qkv, Dim, Dim),
                                                        autodiff::slice_rows(qkv, 2 * Dim, Dim),
                                                        shape(L, batch));
    last_attention_ = o;
    return autodiff::addmm(t.param(out_proj_bias), t.param(out_proj_weight), o);
  }
  /// The attention node of the last tape forward (see autodiff::attention_weights).
  [[nodiscard]] autodiff::Var<Scalar> attention_var() const noexcept { return last_attention_; }

  /// Forgets the stream: the window empties and positions restart at 0; keeps the weights.
  /// Real-time safe.
  DENDRITE_REALTIME void reset() noexcept {
    count_ = 0;
    head_ = 0;
  }

  /// One step of streaming causal-window attention (see the file comment). Real-time safe.
  DENDRITE_REALTIME Status step(std::span<const T, kDim> x, std::span<T, kDim> y) noexcept
    requires(!is_batch_v<T>)
  {
    if (!all_finite(x)) return Status::RejectedNonFinite;
    const std::array<T, kDim> x_flushed = flush_denormals(x);  // denormals cost 10-100x
    x = std::span<const T, kDim>(x_flushed);
    std::array<T, kDim> in;
    for (std::size_t i = 0; i < kDim; ++i) {
      in[i] = x[i];
      if (options_.positional) in[i] += T(positional_encoding(count_, int(i), pe_frequency_[i]));
    }
    std::array<T, 3 * kDim> qkv;
    const Scalar* b = in_proj_bias.value.data();
    for (std::size_t i = 0; i < 3 * kDim; ++i) qkv[i] = b[i];
    detail::gemv_acc<T, 3 * kDim, kDim>(in_proj_weight.value.data(), in.data(), qkv.data());
    T* k_slot = keys_.data() + head_ * kDim;
    T* v_slot = values_.data() + head_ * kDim;
    std::copy(qkv.begin() + kDim, qkv.begin() + 2 * kDim, k_slot);
    std::copy(qkv.begin() + 2 * kDim, qkv.end(), v_slot);
    head_ = (head_ + 1) % std::size_t(Window);
    ++count_;
    const std::size_t n = count_ < Window ? std::size_t(count_) : std::size_t(Window);
    const T scale = T(1) / std::sqrt(T(kHead));
    std::array<T, kDim> o;
    // padded to whole 64-byte vectors: GCC's bounds analysis cannot see that n <= Window
    std::array<T, (std::size_t(Window) + 15) / 16 * 16> score;
    using Slots = Eigen::Map<const Eigen::Matrix<T, Index(kHead), Eigen::Dynamic>, 0,
                             Eigen::OuterStride<Index(kDim)>>;
    using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
    Eigen::Map<Vec> p(score.data(), Index(n));
    for (std::size_t h = 0; h < std::size_t(Heads); ++h) {
      // keys and values of head h in the n filled slots: kHead x n, one slot per column
      const Slots kh(keys_.data() + h * kHead, kHead, Index(n));
      const Slots vh(values_.data() + h * kHead, kHead, Index(n));
      const Eigen::Map<const Eigen::Matrix<T, Index(kHead), 1>> q(qkv.data() + h * kHead);
      p.noalias() = kh.transpose() * q;
      p = ((p.array() - p.maxCoeff()) * scale).exp();
      p /= p.sum();
      Eigen::Map<Eigen::Matrix<T, Index(kHead), 1>>(o.data() + h * kHead).noalias() = vh * p;
    }
    const Scalar* bo = out_proj_bias.value.data();
    std::array<T, kDim> out;
    for (std::size_t i = 0; i < kDim; ++i) out[i] = bo[i];
    detail::gemv_acc<T, kDim, kDim>(out_proj_weight.value.data(), o.data(), out.data());
    std::copy(out.begin(), out.end(), y.begin());
    return Status::Ok;
  }

 private:
  void add_positional(Matrix& m, Index batch) const {
    for (Index c = 0; c < m.cols(); ++c) {
      for (int i = 0; i < Dim; ++i) {
        m(i, c) += Scalar(positional_encoding(c / batch, i, pe_frequency_[std::size_t(i)]));
      }
    }
  }

  AttentionOptions options_;
  std::array<double, kDim> pe_frequency_ = [] {  // the step needs no pow()
    std::array<double, kDim> f{};
    for (std::size_t i = 0; i < kDim; ++i) f[i] = positional_frequency(int(i), Dim);
    return f;
  }();
  autodiff::Var<Scalar> last_attention_;
  std::array<T, std::size_t(Window) * kDim> keys_{};
  std::array<T, std::size_t(Window) * kDim> values_{};
  std::size_t head_ = 0;
  std::int64_t count_ = 0;
};

}  // namespace dendrite::nn
