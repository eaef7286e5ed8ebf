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

template <class Block, std::size_t In, std::size_t Out>
void run(benchmark::State& state, Block& block) {
  const int kind = int(state.range(0));
  const auto xs = inputs<In>(kind);
  std::array<float, Out> y{};
  std::size_t k = 0;
  const auto loop = [&] {
    for (auto _ : state) {
      benchmark::DoNotOptimize(block.step(xs[k], y));
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

void BM_GRU(benchmark::State& state) {
  nn::GRU<float, 32, 64> gru(1);
  run<decltype(gru), 32, 64>(state, gru);
}
void BM_LeakyRNN(benchmark::State& state) {
  nn::RNN<float, 33, 100, nn::ReTanh> rnn({.alpha = 0.1}, 1);
  run<decltype(rnn), 33, 100>(state, rnn);
}
void BM_Conv1D(benchmark::State& state) {
  nn::Conv1D<float, 8, 8, 15> conv(1);
  run<decltype(conv), 8, 8>(state, conv);
}
void BM_OnlineICA(benchmark::State& state) {
  dendrite::ica::OnlineICA<float, 16> ica;
  run<decltype(ica), 16, 16>(state, ica);
}
void BM_StreamingPCA(benchmark::State& state) {
  dendrite::geometry::StreamingPCA<float, 16, 4> pca;
  const int kind = int(state.range(0));
  const auto xs = inputs<16>(kind);
  std::size_t k = 0;
  const auto loop = [&] {
    for (auto _ : state) {
      benchmark::DoNotOptimize(pca.step(xs[k]));
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

BENCHMARK(BM_GRU)->DenseRange(0, 2);
BENCHMARK(BM_LeakyRNN)->DenseRange(0, 2);
BENCHMARK(BM_Conv1D)->DenseRange(0, 2);
BENCHMARK(BM_OnlineICA)->DenseRange(0, 2);
BENCHMARK(BM_StreamingPCA)->DenseRange(0, 2);

}  // namespace
