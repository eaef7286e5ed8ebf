// SPDX-License-Identifier: MIT
// Denormal audit: the real-time steps fed normal inputs (the baseline), denormal inputs
// (7e-45 .. 1e-38 for float), and denormal inputs under rt::ScopedFlushDenormals. The
// hardening issue asks that denormals slow a step by at most 3x.
#include <array>
#include <cmath>
#include <limits>

#include <benchmark/benchmark.h>

#include <dendrite/geometry/streaming_pca.hpp>
#include <dendrite/ica/online_ica.hpp>
#include <dendrite/nn/conv.hpp>
#include <dendrite/nn/gru.hpp>
#include <dendrite/nn/rnn.hpp>
#include <dendrite/rt/denormals.hpp>

namespace {

namespace nn = dendrite::nn;

enum Input { kNormal = 0, kDenormal = 1, kDenormalFlushed = 2 };

/// 64 input vectors cycled through: sin values, or the same scaled into the denormal range.
template <std::size_t N>
std::array<std::array<float, N>, 64> inputs(int kind) {
  std::array<std::array<float, N>, 64> xs{};
  const float scale = kind == kNormal ? 1.0f : std::numeric_limits<float>::min() / 4;
  for (std::size_t k = 0; k < 64; ++k) {
    for (std::size_t i = 0; i < N; ++i) {
      xs[k][i] = scale * float(std::sin(0.37 * double(k) + 0.11 * double(i)));
    }
  }
  return xs;
}

/// Times `step(x)` over the 64 inputs of `state.range(0)`'s kind (flushed in the third).
template <std::size_t In, class Step>
void run(benchmark::State& state, Step step) {
  const int kind = int(state.range(0));
  const auto xs = inputs<In>(kind);
  std::size_t k = 0;
  const auto loop = [&] {
    for (auto _ : state) {
      benchmark::DoNotOptimize(step(xs[k]));
      k = (k + 1) & 63;
      benchmark::ClobberMemory();
    }
  };
  if (kind == kDenormalFlushed) {
    dendrite::rt::ScopedFlushDenormals ftz;
    loop();
  } else {
    loop();
  }
  state.SetLabel(kind == kNormal ? "normal" : (kind == kDenormal ? "denormal" : "denormal, FTZ+DAZ"));
}

/// A block with step(x, y): y lives beside it, and escapes after every step (a block without
/// state would otherwise compute nothing that is kept).
template <std::size_t In, std::size_t Out, class Block>
void run(benchmark::State& state, Block& block) {
  std::array<float, Out> y{};
  run<In>(state, [&](const std::array<float, In>& x) {
    const auto status = block.step(x, y);
    benchmark::DoNotOptimize(y.data());
    return status;
  });
}

void BM_GRU(benchmark::State& state) {
  nn::GRU<float, 32, 64> gru({.seed = 1});
  run<32, 64>(state, gru);
}
void BM_LeakyRNN(benchmark::State& state) {
  nn::RNN<float, 33, 100, nn::ReTanh> rnn({.alpha = 0.1, .seed = 1});
  run<33, 100>(state, rnn);
}
void BM_Conv1D(benchmark::State& state) {
  nn::Conv1D<float, 8, 8, 15> conv({.seed = 1});
  run<8, 8>(state, conv);
}
void BM_OnlineICA(benchmark::State& state) {
  dendrite::ica::OnlineICA<float, 16> ica;
  run<16, 16>(state, ica);
}
void BM_StreamingPCA(benchmark::State& state) {
  dendrite::geometry::StreamingPCA<float, 16, 4> pca;
  run<16>(state, [&](const std::array<float, 16>& x) { return pca.step(x); });
}

BENCHMARK(BM_GRU)->DenseRange(0, 2);
BENCHMARK(BM_LeakyRNN)->DenseRange(0, 2);
BENCHMARK(BM_Conv1D)->DenseRange(0, 2);
BENCHMARK(BM_OnlineICA)->DenseRange(0, 2);
BENCHMARK(BM_StreamingPCA)->DenseRange(0, 2);

}  // namespace
