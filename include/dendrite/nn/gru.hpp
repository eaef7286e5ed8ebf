// SPDX-License-Identifier: MIT
/// @file
/// Gated recurrent unit with PyTorch's exact equations (torch.nn.GRU / GRUCell), gate order
/// r, z, n stacked in the rows of the weights:
///   r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
///   z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
///   n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))
///   h' = (1 - z) * n + z * h
/// weight_ih = [W_ir; W_iz; W_in] (3H x In), weight_hh = [W_hr; W_hz; W_hn] (3H x H),
/// bias_ih, bias_hh (3H): the shapes and names of a PyTorch state_dict, so its arrays load
/// directly (io/pytorch.hpp). Both biases are kept (b_hn sits inside r * (...)).
///
/// Three forms over the same weights:
///  - `step(x, h)`: real time, one sample of `T` (scalar, or a SIMD batch whose lanes are
///    independent streams sharing the weights); no allocation, no exception; a non-finite input
///    lane is rejected (state untouched, `Status::RejectedNonFinite`).
///  - `forward(X)`: a sequence, X of In x steps (one sample per column), returns H x steps.
///  - `forward(tape, x, batch)`: the differentiable form for training, x of In x (steps * batch)
///    with step k in columns [k batch, (k + 1) batch) (PyTorch's (steps, batch, In) C-order
///    array), returns H x (steps * batch) in the same layout.
/// For float the real-time step's gates use the sigmoid and tanh of
/// nn/detail/gate_activations.hpp (absolute error <= 4.5e-7 for tanh and 2.5e-7 for sigmoid,
/// below the float products' own rounding, with a rational tanh whose chain is about 30 cycles
/// long); double keeps the <= 3 ulp functions of core/math.hpp.
/// One float stream at hidden 86-170 on AVX-512: the 3H rows are one register block of 17-32
/// batches (detail::gemv_block), each column read whole: GRU 128 1.26-1.50x RTNeural's (five runs)
/// on the Zen 5 VM (g++ 12; bench/README.md), level with `PackedGRU<float, In, H, float>`.
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

/// Units from which gru_update's one-pass cell (AVX-512) is inlined into the step; see there.
inline constexpr std::size_t kInlineGatesFrom = 32;

/// Whether GRU<T, In, H>::step takes the r and z rows of both products in one pass (float
/// lanes whose units fill whole registers, on the across-rows path; see GRU::step) and so hands
/// gru_update their sums (SummedRZ).
template <class T, std::size_t In, std::size_t H>
inline constexpr bool kGruOnePassRZ =
    kGemvAcrossRows<T, 3 * H, In> && kGemvAcrossRows<T, 3 * H, H> && H % lanes_v<T> == 0;

/// The GRU's gates from gi = W_ih x + b_ih and gh = W_hh h + b_hh (r, z, n stacked): h is
/// replaced by h' where `finite` holds (kept where it does not) and copied to h_out. For float
/// SIMD lanes (the many-stream steps) z, n and h' come from gru_state_float, one division where
/// there were two (gate_activations.hpp).
/// For one stream on 16-register targets (SSE2, AVX2), two passes: r and z first, over all 2H
/// rows (independent short chains), then n and h' (a chain through n). In one pass, a chunk's
/// chain ran through all three gates (about 100 instructions), and the out-of-order core held
/// only two or three chunks; on Zen 3 (AVX2) the two passes took GRU 32 from 230 to 198 ns and
/// int8 GRU 64 from 501 to 455 ns (bench/README.md). Where the gates run kGateInterleave = 4
/// chunks together (AVX-512), one pass: the four chunks' chains already overlap, and the second
/// pass only added the round trip of r and z through memory. On the AVX-512 VM (2026-12-04,
/// one binary, interleaved repetitions) one pass took GRU<float> 8 from 71-73 to 46 ns, 16 from
/// 80 to 70, 32 from 171-172 to 139-140, 64 from 729-734 to 672-675, 128 from 2.20-2.36 to
/// 2.01-2.07 µs, int8 32 / 64 / 128 from 161 / 292 / 861-868 to 119-120 / 245 / 746-759 ns
/// (g++ 12); with clang 14, which schedules the two passes better, 8 went from 52-62 to 44 ns
/// and 16 and 64 lost 5-8 % (58 -> 61-63 ns, 549-551 -> 557-566 ns), 32 unchanged.
/// Both forms do the same operations on each element: the same results bit for bit. The LSTM's
/// cell keeps its two passes everywhere (one pass, or a third, was slower, AVX-512 included).
/// The one-pass cell is forced inline from kInlineGatesFrom units and kept out of line below:
/// g++ 12 left it out of line by itself, and forced inline at 8 and 16 units it spilled (GRU 8
/// 46 -> 73 ns, 16 70 -> 79), while from 32 inlining paid (64 676 -> 571 ns, 128 2.0 -> 1.83 µs,
/// int8 64 / 128 230 / 750 -> 186-191 / 594-600 ns); clang 14 within noise either way. The
/// lanes' two cells are forced inline too: out of line (g++ 12) the 16-lane gates of GRU 32 /
/// 64 / 128 took 883 / 1 767 / 3 942 ns, inlined 381 / 772 / 1 905; AVX2 build unchanged.
/// With SummedRZ (float lanes only, GRU::step's one-pass form), gi's r and z rows hold the sums
/// of both products and gh's r and z rows are not read.
template <class T, std::size_t H, bool SummedRZ = false>
DENDRITE_FORCE_INLINE Status gru_update(mask_t<T> finite, const T* gi, const T* gh, T* h,
                                        std::span<T, H> h_out) noexcept {
  std::array<T, H> next;
  if constexpr (SummedRZ) {
    // lanes, r and z pre-activations summed already (gi's first 2H rows; gh's are not read)
    std::array<T, H> reset;
    vmap<T, H, kGateInterleave>(
        [](auto a) DENDRITE_FORCE_INLINE_LAMBDA { return gate_sigmoid(a); }, reset.data(), gi);
    vmap<T, H, kGateInterleave>(
        [](auto in, auto hn, auto r, auto z, auto hp) DENDRITE_FORCE_INLINE_LAMBDA {
          return gru_state_float(in + r * hn, z, hp);
        },
        next.data(), gi + 2 * H, gh + 2 * H, reset.data(), gi + H, h);
  } else if constexpr (is_batch_v<T> && std::is_same_v<scalar_t<T>, float>) {
    // lanes: r first, then n, z and h' with one division (gru_state_float)
    std::array<T, H> reset;  // r
    vmap<T, H, kGateInterleave>(
        [](auto a, auto b) DENDRITE_FORCE_INLINE_LAMBDA { return gate_sigmoid(a + b); },
        reset.data(), gi, gh);
    vmap<T, H, kGateInterleave>(
        [](auto in, auto hn, auto r, auto giz, auto ghz, auto hp) DENDRITE_FORCE_INLINE_LAMBDA {
          return gru_state_float(in + r * hn, giz + ghz, hp);
        },
        next.data(), gi + 2 * H, gh + 2 * H, reset.data(), gi + H, gh + H, h);
  } else if constexpr (!is_batch_v<T> && kGateInterleave > 1) {
    const auto cell = [](auto ir, auto iz, auto in, auto hr, auto hz, auto hn, auto hp)
                          DENDRITE_FORCE_INLINE_LAMBDA {
                            const auto r = gate_sigmoid(ir + hr);
                            const auto z = gate_sigmoid(iz + hz);
                            const auto n = gate_tanh(in + r * hn);
                            return n + z * (hp - n);
                          };
    if constexpr (H >= kInlineGatesFrom) {
      vmap<T, H, kGateInterleave>(cell, next.data(), gi, gi + H, gi + 2 * H, gh, gh + H, gh + 2 * H,
                                  h);
    } else {
      vmap<T, H, kGateInterleave>([cell](auto... a) DENDRITE_NOINLINE_LAMBDA { return cell(a...); },
                                  next.data(), gi, gi + H, gi + 2 * H, gh, gh + H, gh + 2 * H, h);
    }
  } else {
    std::array<T, 2 * H> rz;
    vmap<T, 2 * H, kGateInterleave>([](auto a, auto b) { return gate_sigmoid(a + b); },
                                    rz.data(), gi, gh);
    vmap<T, H, kGateInterleave>(
        [](auto in, auto hn, auto r, auto z, auto hp) {
          const auto n = gate_tanh(in + r * hn);
          return n + z * (hp - n);
        },
        next.data(), gi + 2 * H, gh + 2 * H, rz.data(), rz.data() + H, h);
  }
  for (std::size_t i = 0; i < H; ++i) {
    h[i] = dendrite::select<T>(finite, next[i], h[i]);
    h_out[i] = h[i];
  }
  return all_of(finite) ? Status::Ok : Status::RejectedNonFinite;
}

}  // namespace detail

template <Real T, int In, int Hidden>
class GRU : public detail::RecurrentParameters<scalar_t<T>, 3, In, Hidden> {
  static_assert(In > 0 && Hidden > 0, "GRU: In and Hidden must be positive");

  // The sizes as std::size_t, for spans and loops; input_size and output_size are the
  // public names.
  static constexpr std::size_t kIn = In;
  static constexpr std::size_t kH = Hidden;
  static constexpr std::size_t kG = 3 * kH;

 public:
  using value_type = T;
  using Scalar = scalar_t<T>;
  using Matrix = autodiff::Mat<Scalar>;
  using Param = autodiff::Parameter<Scalar>;
  static constexpr int input_size = In;
  static constexpr int output_size = Hidden;
  static constexpr std::size_t state_size = kH;  ///< h

  using Base = detail::RecurrentParameters<Scalar, 3, In, Hidden>;
  using Base::bias_hh;
  using Base::bias_ih;
  using Base::init;
  using Base::named_parameters;
  using Base::parameters;
  using Base::weight_hh;
  using Base::weight_ih;

  /// Weights drawn as PyTorch does, U(-1/sqrt(H), 1/sqrt(H)), from `seed`; state zero.
  explicit GRU(const BlockOptions& options = {}) {
    static_assert(rt::Stateful<GRU> && rt::Trainable<GRU>);
    init(options.seed);
    reset();
  }
  /// 0: the output answers the input of the same step.
  [[nodiscard]] std::size_t latency_samples() const noexcept { return 0; }
  /// FLOPs of one step, all lanes (rt/contract.hpp): two GEMVs of 3H rows
  /// (6 H (In + H)), both biases (6H), r and z (sums 2H, sigmoids 2H), n (r * (.) H, + H,
  /// tanh H), h' = n + z (h - n) (3H).
  static constexpr std::size_t flops_per_step() noexcept {
    return lanes_v<T> * (6 * kH * (kIn + kH) + 16 * kH);
  }
  /// Bytes one step reads: weights and biases, and the state.
  static constexpr std::size_t bytes_per_step() noexcept {
    return sizeof(Scalar) * (3 * kH * (kIn + kH) + 6 * kH) + sizeof(T) * (kH);
  }

  // ------------------------------------------------------------------ real time
  /// Clears the state h; keeps the weights. Real-time safe.
  DENDRITE_REALTIME void reset() noexcept { h_.fill(T(0)); }
  /// The recurrent state h (also the step's output).
  [[nodiscard]] std::span<const T, state_size> state() const noexcept { return h_; }
  /// Sets h. Real-time safe.
  DENDRITE_REALTIME void set_state(std::span<const T, state_size> h) noexcept {
    std::copy(h.begin(), h.end(), h_.begin());
  }

  /// One step: h <- GRU(x, h); writes the new state to `h_out`. Real-time safe.
  DENDRITE_REALTIME Status step(std::span<const T, kIn> x, std::span<T, kH> h_out) noexcept {
    const std::array<T, kIn> x_flushed = flush_denormals(x);  // denormals cost 10-100x
    x = std::span<const T, kIn>(x_flushed);
    const mask_t<T> finite = all_finite(x);
    std::array<T, kG> gi, gh;
#if DENDRITE_DETAIL_GEMV_ACROSS_ROWS
    if constexpr (detail::kGruOnePassRZ<T, kIn, kH>) {
      // float lanes with whole registers of units, across rows: the r and z rows take both
      // products in one pass (one set of sums and one transpose for them, not two), the n rows
      // one pass each. The 16-lane step on the Zen 5 VM, g++ 12 (bench/README.md): 32 / 64 /
      // 128 units 1.36-1.43 / 3.69-4.60 / 11.1-13.3 -> 1.31-1.35 / 3.41-3.72 / 10.6-10.8 us;
      // clang 14 level or slightly faster; the 8-lane AVX2 build level or up to 4 % faster.
      std::array<Scalar, 2 * kH> b;
      detail::add_vectors<Scalar, 2 * kH>(bias_ih.value.data(), bias_hh.value.data(), b.data());
      detail::gemv_across_row_range<kG, kIn, kH, 0, 2 * kH>(weight_ih.value.data(), x.data(),
                                                          b.data(), gi.data(),
                                                          weight_hh.value.data(), h_.data());
      detail::gemv_across_row_range<kG, kIn, 0, 2 * kH, kG>(weight_ih.value.data(), x.data(),
                                                          bias_ih.value.data(), gi.data());
      detail::gemv_across_row_range<kG, kH, 0, 2 * kH, kG>(weight_hh.value.data(), h_.data(),
                                                         bias_hh.value.data(), gh.data());
      return detail::gru_update<T, kH, true>(finite, gi.data(), gh.data(), h_.data(), h_out);
    }
#endif
    detail::gemv_bias<T, kG, kIn>(weight_ih.value.data(), x.data(), bias_ih.value.data(),
                                  gi.data());
    detail::gemv_bias<T, kG, kH>(weight_hh.value.data(), h_.data(), bias_hh.value.data(),
                                 gh.data());
    return detail::gru_update<T, kH>(finite, gi.data(), gh.data(), h_.data(), h_out);
  }

  // ------------------------------------------------------------------ analysis
  /// Runs the sequence X (In x steps) from state h0 (default zero); returns H x steps.
  template <class Derived>
  [[nodiscard]] Matrix forward(const Eigen::MatrixBase<Derived>& x) const {
    return forward(x, Matrix::Zero(Hidden, 1));
  }
  template <class Derived>
  [[nodiscard]] Matrix forward(const Eigen::MatrixBase<Derived>& x, const Matrix& h0) const {
    static_assert(std::is_same_v<typename Derived::Scalar, Scalar>,
                  "GRU::forward: the sequence must have the weights' scalar type");
    detail::check_rows("GRU::forward", x.rows(), x.cols(), In);
    detail::check_rows("GRU::forward (initial state)", h0.rows(), h0.cols(), Hidden);
    const Eigen::Index steps = x.cols();
    Matrix gi = weight_ih.value * x;
    gi.colwise() += bias_ih.value.col(0);
    Matrix out(Hidden, steps);
    Eigen::Matrix<Scalar, Eigen::Dynamic, 1> h = h0.col(0), gh(kG);
    for (Eigen::Index k = 0; k < steps; ++k) {
      gh.noalias() = weight_hh.value * h;
      gh += bias_hh.value.col(0);
      const auto g = gi.col(k).array();
      const auto r = (g.head(Hidden) + gh.head(Hidden).array()).logistic().eval();
      const auto z = (g.segment(Hidden, Hidden) + gh.segment(Hidden, Hidden).array()).logistic().eval();
      const auto n = (g.tail(Hidden) + r * gh.tail(Hidden).array()).tanh().eval();
      h = (n + z * (h.array() - n)).matrix();
      out.col(k) = h;
    }
    return out;
  }

  // ------------------------------------------------------------------ training
  /// Records the sequence on the tape (see the file comment for the layout); h0 zero.
  autodiff::Var<Scalar> forward(autodiff::Tape<Scalar>& t, autodiff::Var<Scalar> x,
                                Eigen::Index batch) {
    detail::check_batched("GRU::forward(tape)", x.rows(), x.cols(), In, batch);
    return forward(t, x, batch, t.constant(Matrix::Zero(Hidden, batch)));
  }
  autodiff::Var<Scalar> forward(autodiff::Tape<Scalar>& t, autodiff::Var<Scalar> x,
                                Eigen::Index batch, autodiff::Var<Scalar> h0) {
    using namespace autodiff;
    detail::check_batched("GRU::forward(tape)", x.rows(), x.cols(), In, batch);
    detail::check_rows("GRU::forward(tape) (initial state)", h0.rows(), h0.cols(), Hidden);
    const Eigen::Index steps = x.cols() / batch;
    const Var<Scalar> gi_all = addmm(t.param(bias_ih), t.param(weight_ih), x);
    const Var<Scalar> whh = t.param(weight_hh);
    const Var<Scalar> bhh = t.param(bias_hh);
    hs_.clear();
    Var<Scalar> h = h0;
    for (Eigen::Index k = 0; k < steps; ++k) {
      const Var<Scalar> gi = slice_cols(gi_all, k * batch, batch);
      const Var<Scalar> gh = addmm(bhh, whh, h);
      const Var<Scalar> r = sigmoid(slice_rows(gi, 0, Hidden) + slice_rows(gh, 0, Hidden));
      const Var<Scalar> z =
          sigmoid(slice_rows(gi, Hidden, Hidden) + slice_rows(gh, Hidden, Hidden));
      const Var<Scalar> n =
          tanh(slice_rows(gi, 2 * Hidden, Hidden) + r * slice_rows(gh, 2 * Hidden, Hidden));
      h = n + z * (h - n);
      hs_.push_back(h);
    }
    return concat_cols(hs_);
  }

 private:
  std::array<T, kH> h_{};
  std::vector<autodiff::Var<Scalar>> hs_;  // per-step outputs of the tape form (kept)
};

}  // namespace dendrite::nn
