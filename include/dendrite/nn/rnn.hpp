// SPDX-License-Identifier: MIT
/// @file
/// Leaky vanilla RNN in the continuous-time form of Cueva et al. 2021 (and of Ding, Cueva,
/// Tsodyks & Qian 2017), discretised with leak a = dt / tau in (0, 1]:
///   s' = (1 - a) s + a (W_hh h + W_ih x + b_ih + b_hh + noise),   h' = f(s')
/// The state is s (the pre-activation); the output is h = f(s). With a = 1 and f = tanh this is
/// exactly PyTorch's nn.RNNCell (nonlinearity 'tanh') on h, with the same parameter names and
/// shapes: weight_ih (H x In), weight_hh (H x H), bias_ih, bias_hh (H).
/// f is an activation policy (activation.hpp): Tanh, ReLU, ReTanh = max(0, tanh) or Identity.
/// `noise` is Gaussian with standard deviation `noise_std` per unit and step, drawn only in the
/// training (tape) form, from a stream seeded by `noise_seed` that advances with every call
/// (Cueva et al. train with noise on the units; the real-time and analysis forms are noiseless).
///
/// Forms and layouts as in gru.hpp: `step(x, h)` (real time, lanes = streams, rejects
/// non-finite input), `forward(X)` (In x steps -> H x steps), `forward(tape, x, batch)`
/// (In x (steps * batch) -> H x (steps * batch), step-major).
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
#include <dendrite/nn/activation.hpp>
#include <dendrite/nn/detail/kernels.hpp>
#include <dendrite/nn/detail/module.hpp>
#include <dendrite/nn/options.hpp>
#include <dendrite/rt/contract.hpp>

namespace dendrite::nn {

struct RNNOptions {
  double alpha = 1.0;      ///< leak dt / tau, in (0, 1]; 1 is PyTorch's RNNCell
  double noise_std = 0.0;  ///< training-form noise on the units' input, per step
  std::uint64_t noise_seed = 0;  ///< the training noise is drawn from this seed
  std::uint64_t seed = 0;        ///< the initial weights are drawn from this seed
};

template <Real T, int In, int Hidden, class Activation = Tanh>
class RNN : public detail::RecurrentParameters<scalar_t<T>, 1, In, Hidden> {
  static_assert(In > 0 && Hidden > 0, "RNN: In and Hidden must be positive");

  // The sizes as std::size_t, for spans and loops; input_size and output_size are the
  // public names.
  static constexpr std::size_t kIn = In;
  static constexpr std::size_t kH = Hidden;

 public:
  using value_type = T;
  using Scalar = scalar_t<T>;
  using Matrix = autodiff::Mat<Scalar>;
  using Param = autodiff::Parameter<Scalar>;
  static constexpr int input_size = In;
  static constexpr int output_size = Hidden;
  static constexpr std::size_t state_size = kH;  ///< s

  using Base = detail::RecurrentParameters<Scalar, 1, In, Hidden>;
  using Base::bias_hh;
  using Base::bias_ih;
  using Base::init;
  using Base::named_parameters;
  using Base::parameters;
  using Base::weight_hh;
  using Base::weight_ih;

  /// Weights U(-1/sqrt(H), 1/sqrt(H)) as PyTorch, from `options.seed`; state zero.
  explicit RNN(const RNNOptions& options = {})
      : opt_(options), noise_rng_(options.noise_seed) {
    static_assert(rt::Stateful<RNN> && rt::Trainable<RNN>);
    if (!(opt_.alpha > 0 && opt_.alpha <= 1) || !(opt_.noise_std >= 0)) {
      DENDRITE_THROW(error, "RNN: expected alpha in (0, 1] and noise_std >= 0, got alpha ",
                     opt_.alpha, ", noise_std ", opt_.noise_std);
    }
    init(opt_.seed);
    reset();
  }
  /// 0: the output answers the input of the same step.
  [[nodiscard]] std::size_t latency_samples() const noexcept { return 0; }
  /// FLOPs of one step, all lanes (rt/contract.hpp): two GEMVs (2 H (In + H)),
  /// both biases (2H), their sum (H), the leak s + a (p - s) (3H), h = f(s') (H f).
  static constexpr std::size_t flops_per_step() noexcept {
    return lanes_v<T> * (2 * kH * (kIn + kH) + 6 * kH + kH * Activation::flops);
  }
  /// Bytes one step reads: weights and biases, and the state.
  static constexpr std::size_t bytes_per_step() noexcept {
    return sizeof(Scalar) * (kH * (kIn + kH) + 2 * kH) + sizeof(T) * (2 * kH);
  }

  [[nodiscard]] const RNNOptions& options() const noexcept { return opt_; }
  /// Changes the training noise and restarts its stream.
  void set_noise(double noise_std, std::uint64_t seed) {
    if (!(noise_std >= 0)) {
      DENDRITE_THROW(error, "RNN::set_noise: expected noise_std >= 0, got ", noise_std);
    }
    opt_.noise_std = noise_std;
    opt_.noise_seed = seed;
    noise_rng_.seed(seed);
  }

  // ------------------------------------------------------------------ real time
  /// Clears the state (s = 0, h = f(0)); keeps the weights and the options. Real-time safe.
  DENDRITE_REALTIME void reset() noexcept {
    s_.fill(T(0));
    update_output();
  }
  /// The recurrent state: the pre-activation s (h = f(s) follows from it).
  [[nodiscard]] std::span<const T, state_size> state() const noexcept { return s_; }
  /// Sets the pre-activation s (and so h = f(s)). Real-time safe.
  DENDRITE_REALTIME void set_state(std::span<const T, state_size> s) noexcept {
    std::copy(s.begin(), s.end(), s_.begin());
    update_output();
  }
  /// The output h = f(s) of the last step.
  [[nodiscard]] std::span<const T, kH> output() const noexcept { return h_; }

  /// One step (noiseless); writes h' to `h_out`. Real-time safe.
  DENDRITE_REALTIME Status step(std::span<const T, kIn> x, std::span<T, kH> h_out) noexcept {
    const std::array<T, kIn> x_flushed = flush_denormals(x);  // denormals cost 10-100x
    x = std::span<const T, kIn>(x_flushed);
    const mask_t<T> finite = all_finite(x);
    std::array<T, kH> pre;
    detail::add_vectors<T, kH>(bias_ih.value.data(), bias_hh.value.data(), pre.data());
    detail::gemv_acc<T, kH, kIn>(weight_ih.value.data(), x.data(), pre.data());
    detail::gemv_acc<T, kH, kH>(weight_hh.value.data(), h_.data(), pre.data());
    std::array<T, kH> s_next, h_next;
    const Scalar a = Scalar(opt_.alpha);
    detail::vmap<T, kH>(
        [a](auto p, auto s) {
          using V = decltype(s);
          return dendrite::fma(V(a), p - s, s);
        },
        s_next.data(), pre.data(), s_.data());
    detail::vmap<T, kH>([](auto s) { return Activation::apply(s); }, h_next.data(), s_next.data());
    for (std::size_t i = 0; i < kH; ++i) {
      s_[i] = dendrite::select<T>(finite, s_next[i], s_[i]);
      h_[i] = dendrite::select<T>(finite, h_next[i], h_[i]);
      h_out[i] = h_[i];
    }
    return all_of(finite) ? Status::Ok : Status::RejectedNonFinite;
  }

  // ------------------------------------------------------------------ analysis
  /// Runs X (In x steps) from pre-activation s0 (default zero); returns h, H x steps.
  /// If `states` is given it receives s, H x steps.
  template <class Derived>
  [[nodiscard]] Matrix forward(const Eigen::MatrixBase<Derived>& x) const {
    return forward(x, Matrix::Zero(Hidden, 1));
  }
  template <class Derived>
  [[nodiscard]] Matrix forward(const Eigen::MatrixBase<Derived>& x, const Matrix& s0,
                               Matrix* states = nullptr) const {
    static_assert(std::is_same_v<typename Derived::Scalar, Scalar>,
                  "RNN::forward: the sequence must have the weights' scalar type");
    detail::check_rows("RNN::forward", x.rows(), x.cols(), In);
    detail::check_rows("RNN::forward (initial state)", s0.rows(), s0.cols(), Hidden);
    const Eigen::Index steps = x.cols();
    Matrix pre = weight_ih.value * x;
    pre.colwise() += (bias_ih.value + bias_hh.value).col(0);
    Matrix out(Hidden, steps);
    if (states != nullptr)
      states->resize(Hidden, steps);
    Eigen::Matrix<Scalar, Eigen::Dynamic, 1> s = s0.col(0);
    Eigen::Matrix<Scalar, Eigen::Dynamic, 1> h = Activation::array(s.array()).matrix();
    const Scalar a = Scalar(opt_.alpha);
    for (Eigen::Index k = 0; k < steps; ++k) {
      pre.col(k).noalias() += weight_hh.value * h;
      s += a * (pre.col(k) - s);
      h = Activation::array(s.array()).matrix();
      out.col(k) = h;
      if (states != nullptr)
        states->col(k) = s;
    }
    return out;
  }

  // ------------------------------------------------------------------ training
  /// Records the sequence on the tape from s0 = 0, adding the training noise if set.
  autodiff::Var<Scalar> forward(autodiff::Tape<Scalar>& t, autodiff::Var<Scalar> x,
                                Eigen::Index batch) {
    detail::check_batched("RNN::forward(tape)", x.rows(), x.cols(), In, batch);
    return forward(t, x, batch, t.constant(Matrix::Zero(Hidden, batch)));
  }
  /// As above from a given pre-activation s0 (H x batch).
  autodiff::Var<Scalar> forward(autodiff::Tape<Scalar>& t, autodiff::Var<Scalar> x,
                                Eigen::Index batch, autodiff::Var<Scalar> s0) {
    using namespace autodiff;
    detail::check_batched("RNN::forward(tape)", x.rows(), x.cols(), In, batch);
    detail::check_rows("RNN::forward(tape) (initial state)", s0.rows(), s0.cols(), Hidden);
    const Eigen::Index steps = x.cols() / batch;
    const Var<Scalar> pre_all = addmm(t.param(bias_ih) + t.param(bias_hh), t.param(weight_ih), x);
    const Var<Scalar> whh = t.param(weight_hh);
    const Scalar a = Scalar(opt_.alpha);
    hs_.clear();
    Var<Scalar> s = s0;
    Var<Scalar> h = Activation::tape(s);
    std::normal_distribution<double> normal(0.0, opt_.noise_std);
    for (Eigen::Index k = 0; k < steps; ++k) {
      Var<Scalar> pre = addmm(slice_cols(pre_all, k * batch, batch), whh, h);
      if (opt_.noise_std > 0) {
        noise_.resize(Hidden, batch);
        for (Eigen::Index i = 0; i < noise_.size(); ++i)
          noise_(i) = Scalar(normal(noise_rng_));
        pre = pre + t.constant(noise_);
      }
      s = a == Scalar(1) ? pre : s + a * (pre - s);
      h = Activation::tape(s);
      hs_.push_back(h);
    }
    return concat_cols(hs_);
  }

 private:
  // h = f(s), through the same vectorised path as step(): the scalar and the SIMD tanh differ
  // in the last bit, and a block set to another's state must continue it exactly.
  void update_output() noexcept {
    detail::vmap<T, kH>([](auto s) { return Activation::apply(s); }, h_.data(), s_.data());
  }

  RNNOptions opt_;
  std::mt19937_64 noise_rng_;
  Matrix noise_;
  std::array<T, kH> s_{};
  std::array<T, kH> h_{};
  std::vector<autodiff::Var<Scalar>> hs_;
};

}  // namespace dendrite::nn
