// SPDX-License-Identifier: MIT
// The real-time audit in one place: every public real-time entry point (step, and reset where
// there is one) of every block, for a scalar and a SIMD-batch lane type, is noexcept (checked at
// compile time) and allocates nothing over many calls, finite, non-finite and denormal inputs
// alike (operator new and Eigen counted). Denormal inputs are finite data: accepted, finite
// output. No step makes a subnormal number from normal inputs (the underflow flag). And
// rt::ScopedFlushDenormals sets flush-to-zero for its scope only.
#include "support/alloc_counter.hpp"

#include <algorithm>
#include <array>
#include <cfenv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <new>
#include <random>
#include <span>
#include <vector>

#include <catch2/catch.hpp>

#include <dendrite/bench/step_profile.hpp>
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
  nn::MultiHeadAttention<float, 16, 4, 8> mha({.causal = true, .window = 8, .positional = true, .seed = 1});

  std::array<T, 4> x4{}, y4{};
  std::array<T, 8> x8{}, y8{};
  std::array<T, 11> y11{};
  std::array<T, 16> y16{};
  std::array<float, 16> xf16{}, yf16{};
  static_assert(noexcept(ica.step(x4, y4)) && noexcept(ica.reset()) && noexcept(ica.restart()));
  static_assert(noexcept(pca.step(x8)) && noexcept(pca.reset()) && noexcept(pca.restart()));
  static_assert(noexcept(cov.step(x8)) && noexcept(cov.reset()) && noexcept(cov.restart()));
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
    ica.restart();
    pca.restart();
    cov.restart();
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

namespace {

/// Makes the compiler assume `p`'s memory is read here (so every store before is done).
void escape(const void* p) { asm volatile("" : : "g"(p) : "memory"); }

/// Steps of `block` (float) on 1000 random inputs at each scale from 1 to 1e-7 whose call
/// raised the underflow flag: a result below the smallest normal float (a subnormal, which x86
/// cores finish in a microcode assist, or a product flushed to 0).
template <std::size_t In, std::size_t Out, class Block>
int underflowing_steps(Block& block) {
  int raised = 0;
  std::array<float, In> x{};
  std::array<float, Out> y{};
  for (const float scale : {1.0f, 1e-3f, 1e-5f, 1e-7f}) {
    std::mt19937 rng(5);
    std::normal_distribution<float> n(0.0f, scale);
    for (int k = 0; k < 1000; ++k) {
      for (float& v : x) v = n(rng);
      std::feclearexcept(FE_ALL_EXCEPT);
      (void)block.step(std::span<const float, In>(x), std::span<float, Out>(y));
      // the outputs (and every state the step wrote) are in memory before the flags are read
      escape(y.data());
      if (std::fetestexcept(FE_UNDERFLOW)) ++raised;
    }
  }
  return raised;
}

}  // namespace

TEST_CASE("no real-time step makes a subnormal number from normal inputs",
          "[realtime][denormals]") {
  // The float gates once made one inside their polynomial for pre-activations with |x| in
  // [2e-6, 3e-5]: a GRU 64 with PyTorch's initialisation raised the flag in 46 of 3000 steps on
  // N(0, 1) inputs, and in every step with weights 1e-5 times smaller (a microcode assist each,
  // about 30x the gate's time). Inputs down to 1e-7 times the unit scale: a quiet channel.
  nn::Dense<float, 8, 4, nn::Tanh> dense;
  nn::RNN<float, 8, 16, nn::ReTanh> rnn({.alpha = 0.1});
  nn::GRU<float, 32, 64> gru;
  nn::LSTM<float, 32, 64> lstm;
  nn::GRU<float, 32, 64> gru_small;  // every pre-activation near 0
  nn::LSTM<float, 32, 64> lstm_small;
  for (auto* p : {&gru_small.weight_ih, &gru_small.weight_hh, &gru_small.bias_ih,
                  &gru_small.bias_hh, &lstm_small.weight_ih, &lstm_small.weight_hh,
                  &lstm_small.bias_ih, &lstm_small.bias_hh}) {
    p->value *= 1e-5f;
  }
  nn::Conv1D<float, 8, 8, 5, 2> conv;
  nn::LayerNorm<float, 8> norm;
  nn::Activation<float, nn::Sigmoid> sigmoid;
  dendrite::ica::OnlineICA<float, 4> ica;
  dendrite::ica::ORICA<float, 7> orica;
  nn::MultiHeadAttention<float, 16, 4, 8> mha({.causal = true, .window = 8, .positional = true,
                                               .seed = 1});
  CHECK(underflowing_steps<8, 4>(dense) == 0);
  CHECK(underflowing_steps<8, 16>(rnn) == 0);
  CHECK(underflowing_steps<32, 64>(gru) == 0);
  CHECK(underflowing_steps<32, 64>(lstm) == 0);
  CHECK(underflowing_steps<32, 64>(gru_small) == 0);
  CHECK(underflowing_steps<32, 64>(lstm_small) == 0);
  CHECK(underflowing_steps<8, 8>(conv) == 0);
  CHECK(underflowing_steps<8, 8>(norm) == 0);
  CHECK(underflowing_steps<8, 8>(sigmoid) == 0);
  CHECK(underflowing_steps<4, 4>(ica) == 0);
  CHECK(underflowing_steps<7, 7>(orica) == 0);
  CHECK(underflowing_steps<16, 16>(mha) == 0);
  // the check sees one: a product below the smallest normal float
  volatile float tiny = 1e-20f;
  std::feclearexcept(FE_ALL_EXCEPT);
  volatile float product = tiny * tiny;
  (void)product;
  CHECK(std::fetestexcept(FE_UNDERFLOW) != 0);
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

// ---------------------------------------------------------------------------------------------
// The block contract (rt/contract.hpp): which concept each block satisfies, stated once here
// for a scalar and a batch lane type, and the meanings of reset, restart and latency.

namespace {

/// Not a streaming block: its step may throw.
struct MayThrow {
  using value_type = float;
  static constexpr int input_size = 1;
  static constexpr int output_size = 1;
  Status step(std::span<const float, 1>, std::span<float, 1>) { return Status::Ok; }
  void reset() noexcept {}
  [[nodiscard]] std::size_t latency_samples() const noexcept { return 0; }
};

/// A block that answers k samples late, to check the latency arithmetic of the composites.
struct Delay {
  using value_type = float;
  using Scalar = float;
  static constexpr int input_size = 2;
  static constexpr int output_size = 2;
  std::size_t k = 0;
  Status step(std::span<const float, 2> x, std::span<float, 2> y) noexcept {
    y[0] = x[0];
    y[1] = x[1];
    return Status::Ok;
  }
  void reset() noexcept {}
  [[nodiscard]] std::size_t latency_samples() const noexcept { return k; }
  [[nodiscard]] std::array<std::pair<std::string_view, dendrite::autodiff::Parameter<float>*>, 0>
  named_parameters() noexcept {
    return {};
  }
};

}  // namespace

TEST_CASE("every real-time block satisfies the block contract", "[realtime][contract]") {
  namespace rt = dendrite::rt;
  namespace ica = dendrite::ica;
  namespace geometry = dendrite::geometry;
  using B = batchf;
  // streaming blocks, for a scalar and a batch lane type
  STATIC_REQUIRE(rt::StreamingBlock<nn::Dense<float, 3, 5>>);
  STATIC_REQUIRE(rt::StreamingBlock<nn::Dense<B, 3, 5, nn::Tanh>>);
  STATIC_REQUIRE(rt::Stateful<nn::GRU<float, 3, 5>> && rt::Stateful<nn::GRU<B, 3, 5>>);
  STATIC_REQUIRE(rt::Stateful<nn::LSTM<double, 3, 5>> && rt::Stateful<nn::LSTM<B, 3, 5>>);
  STATIC_REQUIRE(rt::Stateful<nn::RNN<float, 3, 5, nn::ReTanh>>);
  STATIC_REQUIRE(rt::StreamingBlock<nn::Conv1D<B, 3, 4, 3, 2>>);
  STATIC_REQUIRE(rt::StreamingBlock<nn::LayerNorm<float, 4>>);
  STATIC_REQUIRE(rt::StreamingBlock<nn::MultiHeadAttention<float, 8, 2, 4>>);
  STATIC_REQUIRE(rt::StreamingBlock<ica::OnlineICA<float, 5>>);
  STATIC_REQUIRE(rt::StreamingBlock<ica::OnlineICA<B, 3>>);
  STATIC_REQUIRE(rt::StreamingBlock<geometry::StreamingPCA<double, 7, 2>>);
  STATIC_REQUIRE(rt::StreamingBlock<geometry::StreamingCovariance<B, 3>>);
  using Chain = nn::Sequential<nn::Dense<float, 3, 6>, nn::Activation<float, nn::Tanh>,
                               nn::GRU<float, 6, 4>>;
  STATIC_REQUIRE(rt::StreamingBlock<Chain>);
  STATIC_REQUIRE(rt::StreamingBlock<nn::Residual<nn::Dense<float, 4, 4>>>);
  STATIC_REQUIRE(rt::Block<nn::Residual<nn::Dense<float, 4, 4>>>);
  STATIC_REQUIRE(rt::StreamingBlock<nn::Parallel<nn::Dense<float, 3, 2>, nn::GRU<float, 3, 4>>>);
  // blocks without a step, or of any size
  STATIC_REQUIRE(rt::Block<nn::Conv2D<float, 2, 3, 3>> && !rt::StreamingBlock<nn::Conv2D<float, 2, 3, 3>>);
  STATIC_REQUIRE(rt::Block<nn::Activation<float, nn::Tanh>> &&
                 !rt::StreamingBlock<nn::Activation<float, nn::Tanh>>);
  STATIC_REQUIRE(rt::Block<nn::MaxPool1D<float, 2>> && rt::Block<nn::Upsample<float>>);
  STATIC_REQUIRE(rt::Block<nn::InstanceNorm<float, 3>>);
  // state only where there is one; parameters where there are some
  STATIC_REQUIRE(!rt::Stateful<nn::Dense<float, 3, 5>> && !rt::Stateful<nn::Conv1D<float, 3, 4, 3>>);
  STATIC_REQUIRE(rt::Trainable<nn::GRU<float, 3, 5>> && rt::Trainable<Chain>);
  STATIC_REQUIRE(nn::LSTM<float, 3, 5>::state_size == 10 && nn::RNN<float, 3, 5>::state_size == 5);
  // not blocks: a plain type, a type whose step may throw
  STATIC_REQUIRE(rt::Block<MayThrow> && !rt::StreamingBlock<MayThrow>);
  STATIC_REQUIRE(!rt::Block<int> && !rt::Block<Eigen::MatrixXf>);
}

TEST_CASE("latency adds up along a chain and is the largest across branches",
          "[realtime][contract]") {
  nn::Sequential<nn::Dense<float, 3, 4>, nn::Conv1D<float, 4, 4, 5>, nn::GRU<float, 4, 2>> chain;
  CHECK(chain.latency_samples() == 0);  // every block answers in the same step
  nn::Sequential<Delay, nn::Dense<float, 2, 2>, Delay> delayed;
  delayed.get<0>().k = 3;
  delayed.get<2>().k = 4;
  CHECK(delayed.latency_samples() == 7);
  nn::Parallel<Delay, Delay, nn::Dense<float, 2, 1>> branches;
  std::get<0>(branches.blocks).k = 2;
  std::get<1>(branches.blocks).k = 5;
  CHECK(branches.latency_samples() == 5);
}

TEST_CASE("reset clears running state and keeps what was learned, and restart forgets it",
          "[realtime][contract]") {
  namespace ica = dendrite::ica;
  namespace geometry = dendrite::geometry;
  // a recurrent block: the state is cleared, the weights stay
  nn::GRU<double, 2, 3> gru({.seed = 4});
  const auto w = gru.weight_hh.value;
  std::array<double, 2> x{0.3, -0.7};
  std::array<double, 3> h{};
  REQUIRE(gru.step(x, h) == Status::Ok);
  gru.reset();
  CHECK(gru.weight_hh.value == w);
  for (double v : gru.state()) CHECK(v == 0.0);
  // a shift register: after reset the block continues as a new one with the same weights
  nn::Conv1D<double, 2, 2, 3> conv({.seed = 5}), fresh({.seed = 5});
  std::array<double, 2> y1{}, y2{};
  for (int k = 0; k < 4; ++k) REQUIRE(conv.step(x, y1) == Status::Ok);
  conv.reset();
  REQUIRE(conv.step(x, y1) == Status::Ok);
  REQUIRE(fresh.step(x, y2) == Status::Ok);
  CHECK(y1 == y2);
  // online learners: reset keeps the learned weights, restart returns to the seeded start
  ica::OnlineICA<double, 3> net;
  const auto w0 = net.feedforward();
  std::array<double, 3> xi{}, yi{};
  for (int t = 0; t < 200; ++t) {
    for (std::size_t i = 0; i < 3; ++i) xi[i] = std::sin(0.3 * t * double(i + 1)) + 0.1 * double(i);
    REQUIRE(net.step(xi, yi) == Status::Ok);
  }
  const auto learned = net.feedforward();
  REQUIRE(learned != w0);
  net.reset();
  CHECK(net.feedforward() == learned);
  net.restart();
  CHECK(net.feedforward() == w0);
  geometry::StreamingPCA<double, 3, 1> pca;
  const auto c0 = pca.components();
  for (int t = 0; t < 100; ++t) {
    for (std::size_t i = 0; i < 3; ++i) xi[i] = std::cos(0.2 * t) * double(i + 1);
    REQUIRE(pca.step(xi) == Status::Ok);
  }
  const auto c1 = pca.components();
  REQUIRE(c1 != c0);
  pca.reset();
  CHECK(pca.components() == c1);
  pca.restart();
  CHECK(pca.components() == c0);
}

TEST_CASE("StreamingPCA and StreamingCovariance steps with an output follow their definitions",
          "[realtime][contract]") {
  namespace geometry = dendrite::geometry;
  geometry::StreamingPCA<double, 4, 2> pca;
  geometry::StreamingCovariance<double, 4> cov;
  std::array<double, 4> x{};
  std::array<double, 2> y{};
  std::array<double, 4> centred{};
  Eigen::Vector4d sum = Eigen::Vector4d::Zero();
  for (int t = 1; t <= 50; ++t) {
    for (std::size_t i = 0; i < 4; ++i) x[i] = std::sin(0.1 * t + double(i)) * double(i + 1);
    const Eigen::Matrix<double, 4, 2> w_before = pca.components();
    REQUIRE(pca.step(x, y) == Status::Ok);
    // the scores of x under the W before this sample's update, centred by the updated mean
    const Eigen::Vector2d want = w_before.transpose() * (Eigen::Map<Eigen::Vector4d>(x.data()) - pca.mean());
    CHECK(y[0] == Approx(want(0)).margin(1e-12));
    CHECK(y[1] == Approx(want(1)).margin(1e-12));
    REQUIRE(cov.step(x, centred) == Status::Ok);
    for (std::size_t i = 0; i < 4; ++i) sum(Eigen::Index(i)) += x[i];
    for (std::size_t i = 0; i < 4; ++i) {
      CHECK(centred[i] == Approx(x[i] - sum(Eigen::Index(i)) / t).margin(1e-12));  // x - mean
    }
  }
  x[2] = std::nan("");
  const auto before = y;
  CHECK(pca.step(x, y) == Status::RejectedNonFinite);
  CHECK(y == before);
}

// ---------------------------------------------------------------------------------------------
// Block processing in the hosts' layouts (rt/process.hpp).

namespace {

/// A 3-channel signal of n samples, interleaved, with NaN at a few samples.
std::vector<float> recording(std::size_t n) {
  std::vector<float> x(3 * n);
  for (std::size_t t = 0; t < n; ++t) {
    for (std::size_t c = 0; c < 3; ++c) {
      x[3 * t + c] = float(std::sin(0.05 * double(t) * double(c + 1)) + 0.1 * double(c));
    }
  }
  for (std::size_t t : {std::size_t(17), std::size_t(400), n - 2}) x[3 * t + 1] = std::nanf("");
  return x;
}

/// The reference: step one sample at a time, written plainly.
template <class B>
std::vector<float> step_plainly(B block, const std::vector<float>& x, std::size_t& rejected) {
  const std::size_t n = x.size() / 3;
  std::vector<float> y(4 * n);
  std::array<double, 3> xi{};
  std::array<double, 4> yi{};
  rejected = 0;
  for (std::size_t t = 0; t < n; ++t) {
    for (std::size_t c = 0; c < 3; ++c) xi[c] = double(x[3 * t + c]);
    rejected += block.step(xi, yi) != Status::Ok;
    for (std::size_t o = 0; o < 4; ++o) y[4 * t + o] = float(yi[o]);
  }
  return y;
}

}  // namespace

TEST_CASE("process: any chunking, any host layout, the same samples as stepping one by one",
          "[realtime][process]") {
  namespace rt = dendrite::rt;
  using Block = nn::GRU<double, 3, 4>;
  const std::size_t n = 1001;  // odd
  const std::vector<float> x = recording(n);
  std::size_t rejected_ref = 0;
  const std::vector<float> ref = step_plainly(Block({.seed = 9}), x, rejected_ref);
  REQUIRE(rejected_ref == 3);

  // interleaved, in random chunks (0 included)
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<std::size_t> chunk(0, 70);
  for (int trial = 0; trial < 5; ++trial) {
    Block gru({.seed = 9});
    std::vector<float> y(4 * n, 0.0f);
    std::size_t t = 0, rejected = 0, samples = 0;
    while (t < n) {
      const std::size_t m = std::min(chunk(rng), n - t);
      const rt::BlockResult r = rt::process_interleaved(gru, x.data() + 3 * t, y.data() + 4 * t, m);
      REQUIRE(r.error == rt::BlockError::None);
      rejected += r.rejected;
      samples += r.samples;
      t += m;
    }
    CHECK(samples == n);
    CHECK(rejected == 3);
    CHECK(y == ref);  // bit-identical
  }

  // planar, float in and out (an Open Ephys / JUCE buffer)
  {
    Block gru({.seed = 9});
    std::vector<std::vector<float>> in(3, std::vector<float>(n)), out(4, std::vector<float>(n));
    for (std::size_t t = 0; t < n; ++t) {
      for (std::size_t c = 0; c < 3; ++c) in[c][t] = x[3 * t + c];
    }
    const float* in_ptr[3] = {in[0].data(), in[1].data(), in[2].data()};
    float* out_ptr[4] = {out[0].data(), out[1].data(), out[2].data(), out[3].data()};
    const rt::BlockResult r = rt::process_planar(gru, in_ptr, out_ptr, n);
    CHECK(r.samples == n);
    CHECK(r.rejected == 3);
    CHECK(!r.ok());
    bool same = true;
    for (std::size_t t = 0; t < n; ++t) {
      for (std::size_t o = 0; o < 4; ++o) same = same && out[o][t] == ref[4 * t + o];
    }
    CHECK(same);
  }

  // channels x samples, double (a BCI2000 / BrainFlow block), in two chunks of a matrix
  {
    Block gru({.seed = 9});
    Eigen::MatrixXd in(3, Eigen::Index(n)), out = Eigen::MatrixXd::Zero(4, Eigen::Index(n));
    for (std::size_t t = 0; t < n; ++t) {
      for (std::size_t c = 0; c < 3; ++c) in(Eigen::Index(c), Eigen::Index(t)) = x[3 * t + c];
    }
    CHECK(rt::process(gru, in.leftCols(500), out.leftCols(500)).samples == 500);
    CHECK(rt::process(gru, in.rightCols(501), out.rightCols(501)).samples == 501);
    bool same = true;
    for (std::size_t t = 0; t < n; ++t) {
      for (std::size_t o = 0; o < 4; ++o) {
        same = same && float(out(Eigen::Index(o), Eigen::Index(t))) == ref[4 * t + o];
      }
    }
    CHECK(same);
  }
}

TEST_CASE("process: bad buffers are refused whole, in place works, nothing allocates",
          "[realtime][process]") {
  namespace rt = dendrite::rt;
  nn::GRU<double, 3, 4> gru({.seed = 9}), twin({.seed = 9});
  std::vector<float> in0(8, 0.5f), in1(8, -0.25f), out0(8, 7.0f);
  const float* in_ptr[3] = {in0.data(), nullptr, in1.data()};
  float* out_ptr[4] = {out0.data(), out0.data(), out0.data(), out0.data()};
  {
    dendrite::test::NoAllocScope scope;
    const rt::BlockResult r = rt::process_planar(gru, in_ptr, out_ptr, 8);
    CHECK(r.error == rt::BlockError::NullPointer);
    CHECK(r.samples == 0);
    CHECK(rt::process_planar(gru, in_ptr, out_ptr, 0).ok());  // n = 0: nothing to read
    CHECK(scope.counts().total() == 0);
  }
  CHECK(out0 == std::vector<float>(8, 7.0f));  // nothing written
  for (std::size_t i = 0; i < 4; ++i) CHECK(gru.state()[i] == twin.state()[i]);  // untouched
  Eigen::MatrixXd wrong(2, 5), out(4, 5);
  CHECK(rt::process(gru, wrong, out).error == rt::BlockError::SizeMismatch);
  CHECK(rt::process(gru, Eigen::MatrixXd(3, 5), Eigen::MatrixXd(4, 6)).error ==
        rt::BlockError::SizeMismatch);
  STATIC_REQUIRE(noexcept(rt::process_interleaved(gru, in0.data(), out0.data(), 1)));

  // in place: interleaved and planar, a block that keeps the width
  nn::Dense<float, 3, 3, nn::Tanh> dense({.seed = 2});
  std::vector<float> buf(3 * 11), copy;
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = 0.1f * float(i) - 1.0f;
  copy = buf;
  std::vector<float> expect(buf.size());
  CHECK(rt::process_interleaved(dense, copy.data(), expect.data(), 11).ok());
  {
    dendrite::test::NoAllocScope scope;
    CHECK(rt::process_interleaved(dense, buf.data(), buf.data(), 11).ok());
    CHECK(scope.counts().total() == 0);
  }
  CHECK(buf == expect);
}

TEST_CASE("every block of the contract can be driven by process", "[realtime][process]") {
  namespace rt = dendrite::rt;
  STATIC_REQUIRE(rt::ScalarStreamingBlock<dendrite::ica::OnlineICA<float, 5>>);
  STATIC_REQUIRE(rt::ScalarStreamingBlock<dendrite::geometry::StreamingPCA<float, 7, 3>>);
  STATIC_REQUIRE(rt::ScalarStreamingBlock<nn::Conv1D<float, 3, 4, 5>>);
  STATIC_REQUIRE(!rt::ScalarStreamingBlock<nn::GRU<batchf, 3, 4>>);  // lanes: not a host layout
  // a 5-channel ICA over an interleaved block of an odd length, in place
  dendrite::ica::OnlineICA<float, 5> ica;
  std::vector<float> x(5 * 33);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = float(std::sin(0.37 * double(i)));
  const rt::BlockResult r = rt::process_interleaved(ica, x.data(), x.data(), 33);
  CHECK(r.samples == 33);
  CHECK(r.ok());
}

// Raw ADC counts in integer buffers (int16 from Open Ephys or Intan, int32, uint16). A unity
// section passes values through, so the conversion rules show on values picked by hand; a
// high-pass filter's overshoot past full scale must saturate (a cast wrapped 40000 to -25536).
TEST_CASE("process: integer host buffers get rounded, saturated samples", "[realtime][process]") {
  namespace rt = dendrite::rt;
  namespace dsp = dendrite::dsp;
  Eigen::MatrixXd unity(1, 6);
  unity << 1, 0, 0, 1, 0, 0;
  const std::vector<double> in = {2.4,     2.6,      -2.4,     -2.6, 2.5,   3.5,   -0.4, 32766.6,
                                  32767.5, 4e4,      -32768.4, -4e4, 1e30,  -1e30, 7.0};
  {
    dsp::SOSFilter<double, 1> pass(unity);
    std::vector<std::int16_t> got(in.size());
    CHECK(rt::process_interleaved(pass, in.data(), got.data(), in.size()).ok());
    CHECK(got == std::vector<std::int16_t>{2, 3, -2, -3, 2, 4, 0, 32767, 32767, 32767, -32768,
                                           -32768, 32767, -32768, 7});  // ties to even
  }
  {
    dsp::SOSFilter<double, 1> pass(unity);
    std::vector<std::uint16_t> got(in.size());
    CHECK(rt::process_interleaved(pass, in.data(), got.data(), in.size()).ok());
    CHECK(got == std::vector<std::uint16_t>{2, 3, 0, 0, 2, 4, 0, 32767, 32768, 40000, 0, 0, 65535,
                                            0, 7});
  }
  {
    dsp::SOSFilter<float, 1> pass(unity);  // float(32766.6) = 32766.5996; int32's max is 2^31 - 1
    std::vector<std::int32_t> got(in.size());
    CHECK(rt::process_interleaved(pass, in.data(), got.data(), in.size()).ok());
    const std::int32_t hi = std::numeric_limits<std::int32_t>::max();
    const std::int32_t lo = std::numeric_limits<std::int32_t>::lowest();
    CHECK(got == std::vector<std::int32_t>{2, 3, -2, -3, 2, 4, 0, 32767, 32768, 40000, -32768,
                                           -40000, hi, lo, 7});
  }
  CHECK(rt::to_sample<std::int16_t>(std::nan("")) == 0);
  CHECK(rt::to_sample<std::int64_t>(1e300) == std::numeric_limits<std::int64_t>::max());
  CHECK(rt::to_sample<std::int64_t>(-9.2e18) == std::int64_t(-9200000000000000000));

  // int16 planar in and out, 3 channels, 1001 samples: a full-scale square wave high-passed at
  // 5 Hz overshoots past 32767 at every edge. Reference: the float output, rounded by hand.
  const std::size_t n = 1001;
  std::vector<std::vector<std::int16_t>> x(3, std::vector<std::int16_t>(n));
  std::vector<std::vector<float>> xf(3, std::vector<float>(n)), yf = xf;
  for (std::size_t c = 0; c < 3; ++c) {
    for (std::size_t t = 0; t < n; ++t) {
      x[c][t] = ((t + 70 * c) / 150) % 2 ? std::int16_t(32767 - 5 * c) : std::int16_t(-32768);
      xf[c][t] = float(x[c][t]);
    }
  }
  const auto hp = dsp::butter(2, {5.0}, dsp::BandType::HighPass, 1000.0);
  dsp::SOSFilter<float, 3> filt(hp), twin(hp);
  const std::int16_t* in16[3] = {x[0].data(), x[1].data(), x[2].data()};
  std::int16_t* out16[3] = {x[0].data(), x[1].data(), x[2].data()};  // in place
  const float* inf[3] = {xf[0].data(), xf[1].data(), xf[2].data()};
  float* outf[3] = {yf[0].data(), yf[1].data(), yf[2].data()};
  {
    dendrite::test::NoAllocScope scope;
    CHECK(rt::process_planar(filt, in16, out16, n).ok());
    CHECK(scope.counts().total() == 0);
  }
  CHECK(rt::process_planar(twin, inf, outf, n).ok());
  std::size_t over = 0, same = 0;
  for (std::size_t c = 0; c < 3; ++c) {
    for (std::size_t t = 0; t < n; ++t) {
      const double v = yf[c][t];
      over += std::abs(v) > 32767.0;
      const double want = v >= 32767 ? 32767.0 : v <= -32768 ? -32768.0 : std::nearbyint(v);
      same += double(x[c][t]) == want;
    }
  }
  CHECK(over >= 3 * 6);  // each channel's edges overshoot
  CHECK(same == 3 * n);

  // Decimator::process into an int16 matrix: the float one's samples, rounded and saturated
  dsp::Decimator<float, 3, 4> dec, dec_twin;
  Eigen::MatrixXf xin(3, Eigen::Index(n));
  for (std::size_t c = 0; c < 3; ++c) {
    for (std::size_t t = 0; t < n; ++t) xin(Eigen::Index(c), Eigen::Index(t)) = 1.3f * xf[c][t];
  }
  Eigen::Matrix<std::int16_t, 3, Eigen::Dynamic> d16(3, 260);
  Eigen::MatrixXf dfl(3, 260);
  const auto r16 = dec.process(xin, d16);
  const auto rfl = dec_twin.process(xin, dfl);
  REQUIRE(r16.outputs == rfl.outputs);
  REQUIRE(r16.outputs == (n + 3) / 4);
  bool dec_same = true;
  for (Eigen::Index t = 0; t < Eigen::Index(r16.outputs); ++t) {
    for (Eigen::Index c = 0; c < 3; ++c) {
      const double v = dfl(c, t);
      const double want = v >= 32767 ? 32767.0 : v <= -32768 ? -32768.0 : std::nearbyint(v);
      dec_same = dec_same && double(d16(c, t)) == want;
    }
  }
  CHECK(dec_same);
  CHECK(dfl.cwiseAbs().maxCoeff() > 32767.0f);  // 1.3 x full scale: saturation was exercised
}

// ---------------------------------------------------------------------------------------------
// The cost model of the contract: FLOPs and bytes of one step, against counts written here from
// each block's equations (an R x C matrix-vector product 2 R C; every other add, multiply or
// nonlinearity 1; bytes = weights in the scalar type + running state in the lane type).

TEST_CASE("the cost of one step equals the count from the equations", "[realtime][cost]") {
  namespace rt = dendrite::rt;
  constexpr std::size_t L = dendrite::lanes_v<batchf>;
  // Dense<In 3, Out 5, tanh>: W x, + b, tanh
  STATIC_REQUIRE(nn::Dense<float, 3, 5, nn::Tanh>::flops_per_step() == 2 * 3 * 5 + 5 + 5);
  STATIC_REQUIRE(nn::Dense<float, 3, 5>::flops_per_step() == 2 * 3 * 5 + 5);  // identity: free
  STATIC_REQUIRE(nn::Dense<double, 3, 5>::bytes_per_step() == 8 * (3 * 5 + 5));
  STATIC_REQUIRE(nn::Dense<batchf, 3, 5, nn::Tanh>::flops_per_step() == L * 40);
  // GRU<In 3, H 4>, PyTorch's equations:
  //   r = s(W_ir x + b_ir + W_hr h + b_hr), z likewise: GEMV rows 2H of each product
  //   n = tanh(W_in x + b_in + r (W_hn h + b_hn)),  h' = (1 - z) n + z h = n + z (h - n)
  constexpr std::size_t H = 4, In = 3;
  constexpr std::size_t gru = 2 * 3 * H * In + 2 * 3 * H * H  // the two GEMVs of 3H rows
                              + 3 * H + 3 * H                 // + b_ih, + b_hh
                              + 2 * H + 2 * H                 // r, z: sum of the projections, sigmoid
                              + H + H + H                     // n: r * (.), + (W_in x + b_in), tanh
                              + 3 * H;                        // h - n, z * (.), n + (.)
  STATIC_REQUIRE(nn::GRU<float, 3, 4>::flops_per_step() == gru);
  STATIC_REQUIRE(nn::GRU<batchf, 3, 4>::flops_per_step() == L * gru);
  STATIC_REQUIRE(nn::GRU<float, 3, 4>::bytes_per_step() ==
                 4 * (3 * H * In + 3 * H * H + 6 * H) + 4 * H);
  STATIC_REQUIRE(nn::GRU<batchf, 3, 4>::bytes_per_step() ==
                 4 * (3 * H * In + 3 * H * H + 6 * H) + sizeof(batchf) * H);  // state per lane
  // LSTM<In 3, H 4>: i, f, g, o from two GEMVs of 4H rows; c' = f c + i g; h = o tanh(c')
  constexpr std::size_t lstm = 2 * 4 * H * In + 2 * 4 * H * H + 8 * H  // GEMVs, both biases
                               + 4 * H + 4 * H                         // sums, 3 sigmoids + tanh
                               + 3 * H + 2 * H;                        // c', h
  STATIC_REQUIRE(nn::LSTM<float, 3, 4>::flops_per_step() == lstm);
  STATIC_REQUIRE(nn::LSTM<double, 3, 4>::bytes_per_step() == 8 * (4 * H * (In + H) + 8 * H) + 8 * 2 * H);
  // leaky RNN<In 3, H 4, tanh>: p = W_ih x + b_ih + W_hh h + b_hh; s' = s + a (p - s); h = tanh(s')
  constexpr std::size_t rnn = 2 * H * In + 2 * H * H + 2 * H + H  // GEMVs, biases, their sum
                              + 3 * H + H;                        // the leak, tanh
  STATIC_REQUIRE(nn::RNN<float, 3, 4, nn::Tanh>::flops_per_step() == rnn);
  STATIC_REQUIRE(nn::RNN<float, 3, 4, nn::ReTanh>::flops_per_step() == rnn + H);  // tanh + max
  // Conv1D<Cin 2, Cout 3, K 4, dilation 2>: y[o] = b[o] + sum_{c,k} W[o, c, k] x[c, t - 2k]
  STATIC_REQUIRE(nn::Conv1D<float, 2, 3, 4, 2>::flops_per_step() == 2 * 3 * 2 * 4 + 3);
  STATIC_REQUIRE(nn::Conv1D<float, 2, 3, 4, 2>::bytes_per_step() ==
                 4 * (3 * 2 * 4 + 3) + 4 * 2 * ((4 - 1) * 2 + 1));  // the shift register
  // LayerNorm<N 6>: mean N, x - mean N, variance 2N, 1/sqrt(var + eps) 3, d s w + b 3N
  STATIC_REQUIRE(nn::LayerNorm<float, 6>::flops_per_step() == 6 + 6 + 12 + 3 + 18);
  // compositions add up, each part at the width the chain gives it
  using Chain = nn::Sequential<nn::Dense<float, 3, 6>, nn::Activation<float, nn::Tanh>,
                               nn::GRU<float, 6, 4>>;
  STATIC_REQUIRE(rt::Costed<Chain> && rt::Costed<nn::GRU<float, 3, 4>>);
  STATIC_REQUIRE(Chain::flops_per_step() == (2 * 3 * 6 + 6) + 6 + nn::GRU<float, 6, 4>::flops_per_step());
  STATIC_REQUIRE(Chain::bytes_per_step() ==
                 nn::Dense<float, 3, 6>::bytes_per_step() + nn::GRU<float, 6, 4>::bytes_per_step());
  STATIC_REQUIRE(nn::Residual<nn::Dense<float, 4, 4>>::flops_per_step() == 2 * 4 * 4 + 4 + 4);
  STATIC_REQUIRE(nn::Parallel<nn::Dense<float, 3, 2>, nn::GRU<float, 3, 4>>::flops_per_step() ==
                 2 * 3 * 2 + 2 + gru);
}

TEST_CASE("OnlineICA's cost equals a hand count of its step in each configuration",
          "[realtime][cost]") {
  // OnlineICA<D 3>, counted stage by stage for d = 3 (an FMA counts 2):
  //  fixed whitening: x - m 3, V (x - m) 9 FMAs = 18                              -> 21
  //  W h: 9 FMAs                                                                   -> 18
  //  Cholesky by full columns: (j, k < j) pairs 3, each a column of 3 FMAs = 6     -> 18
  //    per column: sqrt, reciprocal, 3 scalings = 5                                 -> 15
  //  forward and backward solves: per column 1 multiply + FMAs below it (2, 1, 0)  -> 9 + 9
  //  ||y||^2: 3 FMAs                                                               -> 6
  constexpr double frozen = 21 + 18 + 18 + 15 + 18 + 6;  // 96
  //  learning: the two gated rates 2, the clip 1, c = 2 eta (y - a Lambda2 c) 4 per unit 12,
  //  per column of W and M: eta y_j 1, 3 rows x 2 FMAs 12, M_jj - eta/tau 1 -> 3 x 14 = 42
  constexpr double learning = 2 + 1 + 12 + 42;  // 57
  //  online whitening: the mean's update (x - mu, FMA) 3 per unit 9, x - mu 3, V 18 -> 30
  //  (instead of 21); learning it: ||h||^2 6, the gain k 4, per column of V: (V^T h)_j 3 FMAs
  //  6 and 3 rows of (h r, subtraction, FMA) 12 -> 3 x 18 = 54
  constexpr double online = 30 - 21;
  constexpr double online_learning = 6 + 4 + 54;
  using ICA3 = dendrite::ica::OnlineICA<float, 3>;
  STATIC_REQUIRE(ICA3::step_flops(false, false, true) == frozen);
  STATIC_REQUIRE(ICA3::step_flops(false, true, true) == frozen + learning);
  STATIC_REQUIRE(ICA3::step_flops(false, true, false) == frozen + learning - 1);
  STATIC_REQUIRE(ICA3::step_flops(true, true, true) == frozen + online + learning + online_learning);
  STATIC_REQUIRE(dendrite::ica::OnlineICA<batchf, 3>::step_flops(false, true, true) ==
                 double(dendrite::lanes_v<batchf>) * (frozen + learning));
  ICA3 net;
  CHECK(net.flops_per_step() == frozen + learning);  // defaults: fixed whitener, clip, learning
  net.freeze();
  CHECK(net.flops_per_step() == frozen);
  const ICA3 white({.whitening_rate = 1e-3});
  CHECK(white.flops_per_step() == frozen + online + learning + online_learning);
  // bytes, float: V and m (9 + 3) x 4, W, M, L 3 x 9 x 4, L^T below its diagonal 3 x 4,
  // 1 / L_jj 3 x 4, Lambda2 3 x 4
  CHECK(net.bytes_per_step() == 48 + 108 + 12 + 12 + 12);
  // learned online, V and m are per lane (of T); for float the same size
  CHECK(white.bytes_per_step() == net.bytes_per_step());
  CHECK(dendrite::ica::OnlineICA<double, 3>().bytes_per_step() == 2 * net.bytes_per_step());
  // averaged outputs (direct solve: a column every sample): Ubar x 18, W V(:, j) 18, two
  // triangular solves 18, the update 9; Ubar's 9 floats
  const ICA3 averaged({.average_span = 5});
  CHECK(averaged.flops_per_step() == frozen + learning + 18 + 18 + 18 + 9);
  CHECK(averaged.bytes_per_step() == net.bytes_per_step() + 36);
}

namespace {

/// Test doubles for profile_step's flags: a step that allocates (an explicit call of operator
/// new, which no compiler may elide), and one that spins 200 times longer on subnormal input,
/// on a shared block contract: 2 in, 2 out, 2 flops, no weights.
struct TwoByTwoDouble {
  using value_type = float;
  static constexpr int input_size = 2, output_size = 2;
  static constexpr std::size_t flops_per_step() { return 2; }
  static constexpr std::size_t bytes_per_step() { return 0; }
  void reset() noexcept {}
  [[nodiscard]] std::size_t latency_samples() const noexcept { return 0; }
  static Status sum_and_product(std::span<const float, 2> x, std::span<float, 2> y) noexcept {
    y[0] = x[0] + x[1];
    y[1] = x[0] * x[1];
    return Status::Ok;
  }
};

struct AllocatingStep : TwoByTwoDouble {
  Status step(std::span<const float, 2> x, std::span<float, 2> y) noexcept {
    void* p = ::operator new(64);  // would terminate on failure: fine for a test double
    sink = p;
    ::operator delete(p);
    return sum_and_product(x, y);
  }
  void* volatile sink = nullptr;
};

struct SubnormalSlowStep : TwoByTwoDouble {
  Status step(std::span<const float, 2> x, std::span<float, 2> y) noexcept {
    const int spins = std::fpclassify(x[0]) == FP_SUBNORMAL ? 200 : 1;
    for (int i = 0; i < spins; ++i) {
      counter = counter + 1;
    }
    return sum_and_product(x, y);
  }
  volatile int counter = 0;
};

dendrite::test::NoAllocScope* g_profile_scope = nullptr;
std::size_t profile_allocations() { return g_profile_scope ? g_profile_scope->counts().total() : 0; }

}  // namespace

TEST_CASE("profile_step places a step against the machine and flags allocation and subnormal "
          "slow-downs", "[realtime][bench]") {
  namespace b = dendrite::bench;
  // best of 3 runs of each probe: with one, a probe preempted by another test (ctest runs two
  // at a time) read this VM's L1 bandwidth at a third of its rate, which put a 92 ns GRU step
  // at 2.9x its "bound"
  const b::MachineLimits limits = b::measure_machine(3);
  REQUIRE(limits.fma_float.best > 0);
  // the clock of any core this runs on (a chain the core shortcuts reads far above this), and
  // no core does more than two full-width FMAs per cycle
  INFO("clock " << limits.clock_ghz << " GHz, FMA " << limits.fma_float.best << " of "
                << limits.derived_peak_float << " GFLOP/s derived");
#if defined(__x86_64__)
  CHECK(limits.clock_ghz > 0.3);
  CHECK(limits.clock_ghz < 7.0);
  CHECK(limits.fma_float.best <= 1.15 * limits.derived_peak_float);
#endif
  dendrite::test::NoAllocScope scope;
  g_profile_scope = &scope;
  b::allocation_counter = &profile_allocations;

  nn::GRU<float, 8, 16> gru({.seed = 3});
  const b::StepProfile g = b::profile_step(gru, limits, {.calls = 20000});
  INFO("GRU 8x16: " << g.ns_per_step << " ns, p50 " << g.p50 << ", p99 " << g.p99 << ", p99.9 "
                    << g.p999 << ", max " << g.max << ", bound " << g.bound << " " << g.bound_ns
                    << " ns, subnormal x" << g.denormal_ratio);
  CHECK(g.allocations == 0);
  CHECK_FALSE(g.flagged());
  CHECK(g.flops == double(nn::GRU<float, 8, 16>::flops_per_step()));
  CHECK(g.gflops * g.ns_per_step == Approx(g.flops));  // flops per ns is GFLOP/s
  CHECK(g.p50 <= g.p99);
  CHECK(g.p99 <= g.p999);
  CHECK(g.p999 <= g.max);
  CHECK(std::isfinite(g.max));
  CHECK(g.bytes <= 32.0 * 1024);  // 1.9 KiB of weights and state: the bound is compute or L1
  CHECK((g.bound == "compute" || g.bound == "L1"));
  CHECK(g.bound_fraction > 0);
  CHECK(g.bound_fraction < 1.5);  // the roofline is a bound: above 1 only by timing noise

  AllocatingStep alloc;
  const b::StepProfile a = b::profile_step(alloc, limits, {.calls = 1000});
  CHECK(a.allocations >= 1000);  // one per timed step (and again for the percentiles)
  CHECK(a.flagged());

  SubnormalSlowStep slow;
  const b::StepProfile s = b::profile_step(slow, limits, {.calls = 2000});
  INFO("subnormal slow-down x" << s.denormal_ratio);
  CHECK(s.allocations == 0);
  CHECK(s.denormal_slow);
  CHECK(s.flagged());

  b::allocation_counter = nullptr;
  g_profile_scope = nullptr;
}
