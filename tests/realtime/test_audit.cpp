// SPDX-License-Identifier: MIT
// The real-time audit in one place: every public real-time entry point (step, and reset where
// there is one) of every block, for a scalar and a SIMD-batch lane type, is noexcept (checked at
// compile time) and allocates nothing over many calls, finite, non-finite and denormal inputs
// alike (operator new and Eigen counted). Denormal inputs are finite data: accepted, finite
// output. And rt::ScopedFlushDenormals sets flush-to-zero for its scope only.
#include "support/alloc_counter.hpp"

#include <array>
#include <cmath>
#include <limits>
#include <random>
#include <span>

#include <catch2/catch.hpp>

#include <dendrite/dendrite.hpp>

namespace nn = dendrite::nn;
using dendrite::batchf;
using dendrite::Status;

namespace {

/// Inputs cycling through normal values, a denormal, NaN, Inf and 1e30.
template <class T, std::size_t N>
std::array<T, N> input(int k) {
  using S = dendrite::scalar_t<T>;
  std::array<T, N> x{};
  for (std::size_t i = 0; i < N; ++i) {
    double v = std::sin(0.37 * double(k) + 0.11 * double(i));
    switch (k % 10) {
      case 3: v = double(std::numeric_limits<S>::denorm_min()) * 7; break;
      case 5: if (i == 1) v = std::numeric_limits<double>::quiet_NaN(); break;
      case 7: if (i == 0) v = std::numeric_limits<double>::infinity(); break;
      case 9: if (i == 2) v = 1e30; break;
      default: break;
    }
    x[i] = T(S(v));
  }
  return x;
}

struct Tally {
  int calls = 0, ok = 0, rejected = 0;
};

/// Calls `step(x)` 200 times on inputs from `input`, under the allocation counter.
template <std::size_t In, class T, class Step>
Tally audit_calls(Step step, dendrite::test::AllocCounts& counts) {
  Tally t;
  dendrite::test::NoAllocScope scope;
  for (int k = 0; k < 200; ++k) {
    const std::array<T, In> x = input<T, In>(k);
    const Status s = step(std::span<const T, In>(x));
    ++t.calls;
    t.ok += s == Status::Ok;
    t.rejected += s != Status::Ok;
  }
  counts.operator_new += scope.counts().operator_new;
  counts.eigen += scope.counts().eigen;
  return t;
}

/// A block with step(x, y).
template <std::size_t In, std::size_t Out, class T, class Block>
Tally audit(Block& block, dendrite::test::AllocCounts& counts) {
  std::array<T, Out> y{};
  return audit_calls<In, T>([&](std::span<const T, In> x) { return block.step(x, std::span<T, Out>(y)); },
                            counts);
}

/// A block with step(x) only (the streaming statistics).
template <std::size_t In, class T, class Block>
Tally audit_in(Block& block, dendrite::test::AllocCounts& counts) {
  return audit_calls<In, T>([&](std::span<const T, In> x) { return block.step(x); }, counts);
}

}  // namespace

TEMPLATE_TEST_CASE("every real-time step is noexcept and allocates nothing", "[realtime][audit]",
                   float, batchf) {
  using T = TestType;
  constexpr bool scalar = !dendrite::is_batch_v<T>;
  dendrite::ica::OnlineICA<T, 4> ica;
  dendrite::geometry::StreamingPCA<T, 8, 3> pca;
  dendrite::geometry::StreamingCovariance<T, 8> cov;
  nn::Dense<T, 8, 4, nn::Tanh> dense;
  nn::RNN<T, 8, 16, nn::ReTanh> rnn({.alpha = 0.1});
  nn::GRU<T, 8, 16> gru;
  nn::LSTM<T, 8, 16> lstm;
  nn::Conv1D<T, 8, 8, 5, 2> conv;
  nn::LayerNorm<T, 8> norm;
  nn::LeakyReLU<T> leaky(0.2f);
  nn::Activation<T, nn::Sigmoid> sigmoid;
  nn::Sequential<nn::Conv1D<T, 8, 16, 3>, nn::LeakyReLU<T>, nn::GRU<T, 16, 8>, nn::Dense<T, 8, 4>> seq;
  nn::Residual<nn::Sequential<nn::Dense<T, 8, 8>, nn::Activation<T, nn::Tanh>>> residual;
  nn::Parallel<nn::Dense<T, 8, 3>, nn::LayerNorm<T, 8>> parallel;
  nn::MultiHeadAttention<float, 16, 4, 8> mha(1, {.causal = true, .window = 8, .positional = true});

  std::array<T, 4> x4{}, y4{};
  std::array<T, 8> x8{}, y8{};
  std::array<T, 11> y11{};
  std::array<T, 16> y16{};
  std::array<float, 16> xf16{}, yf16{};
  static_assert(noexcept(ica.step(x4, y4)) && noexcept(ica.reset()));
  static_assert(noexcept(pca.step(x8)) && noexcept(pca.reset()));
  static_assert(noexcept(cov.step(x8)) && noexcept(cov.reset()));
  static_assert(noexcept(dense.step(x8, y4)));
  static_assert(noexcept(rnn.step(x8, y16)));
  static_assert(noexcept(gru.step(x8, y16)));
  static_assert(noexcept(lstm.step(x8, y16)));
  static_assert(noexcept(conv.step(x8, y8)) && noexcept(conv.reset()));
  static_assert(noexcept(norm.step(x8, y8)));
  static_assert(noexcept(leaky.step(x8, y8)));
  static_assert(noexcept(sigmoid.step(x8, y8)));
  static_assert(noexcept(seq.template step<T>(x8, y4)) && noexcept(seq.reset()));
  static_assert(noexcept(residual.step(x8, y8)));
  static_assert(noexcept(parallel.template step<T>(x8, y11)));
  static_assert(noexcept(mha.step(xf16, yf16)) && noexcept(mha.reset()));

  dendrite::test::AllocCounts counts;
  std::vector<std::pair<const char*, Tally>> tallies;
  tallies.emplace_back("OnlineICA", audit<4, 4, T>(ica, counts));
  tallies.emplace_back("StreamingPCA", audit_in<8, T>(pca, counts));
  tallies.emplace_back("StreamingCovariance", audit_in<8, T>(cov, counts));
  tallies.emplace_back("Dense", audit<8, 4, T>(dense, counts));
  tallies.emplace_back("RNN", audit<8, 16, T>(rnn, counts));
  tallies.emplace_back("GRU", audit<8, 16, T>(gru, counts));
  tallies.emplace_back("LSTM", audit<8, 16, T>(lstm, counts));
  tallies.emplace_back("Conv1D", audit<8, 8, T>(conv, counts));
  tallies.emplace_back("LayerNorm", audit<8, 8, T>(norm, counts));
  tallies.emplace_back("LeakyReLU", audit<8, 8, T>(leaky, counts));
  tallies.emplace_back("Activation", audit<8, 8, T>(sigmoid, counts));
  tallies.emplace_back("Sequential", audit<8, 4, T>(seq, counts));
  tallies.emplace_back("Residual", audit<8, 8, T>(residual, counts));
  tallies.emplace_back("Parallel", audit<8, 11, T>(parallel, counts));
  if constexpr (scalar) tallies.emplace_back("MultiHeadAttention", audit<16, 16, float>(mha, counts));
  {
    dendrite::test::NoAllocScope scope;
    ica.reset();
    pca.reset();
    cov.reset();
    conv.reset();
    seq.reset();
    mha.reset();
    counts.operator_new += scope.counts().operator_new;
    counts.eigen += scope.counts().eigen;
  }
  CHECK(counts.operator_new == 0);
  CHECK(counts.eigen == 0);
  for (const auto& [name, t] : tallies) {
    INFO(name);
    CHECK(t.calls == 200);
    // NaN, Inf and 1e30 come every 10 calls; NaN and Inf are always rejected, 1e30 may be
    // (an outlier gate or an overflow); the denormal and normal samples are never
    CHECK(t.rejected >= 40);
    CHECK(t.rejected <= 60);
    CHECK(t.ok + t.rejected == 200);
  }
  CHECK(std::isfinite(dendrite::lane(y16[0], 0)));
  (void)y8;
}

TEST_CASE("ScopedFlushDenormals flushes denormals in its scope only", "[realtime][denormals]") {
  volatile float tiny = std::numeric_limits<float>::min() / 8;  // a denormal
  volatile float one = 1.0f;
  REQUIRE(std::fpclassify(tiny * one) == FP_SUBNORMAL);
  if (!dendrite::rt::ScopedFlushDenormals::active()) {
    SUCCEED("no MXCSR on this target: the scope does nothing");
    return;
  }
  {
    dendrite::rt::ScopedFlushDenormals ftz;
    CHECK(float(tiny * one) == 0.0f);                                 // DAZ: read as zero
    volatile float half_min = std::numeric_limits<float>::min();
    CHECK(float(half_min * 0.25f) == 0.0f);                           // FTZ: result flushed
    {
      dendrite::rt::ScopedFlushDenormals nested;
      CHECK(float(tiny * one) == 0.0f);
    }
    CHECK(float(tiny * one) == 0.0f);  // the inner scope restored the outer one's state
  }
  CHECK(std::fpclassify(tiny * one) == FP_SUBNORMAL);  // restored
}
