// SPDX-License-Identifier: MIT
// dendrite's recurrent steps beside RTNeural's, in one Google Benchmark binary. Not part of the
// build (RTNeural is not a dependency): compile it by hand against a checkout of
// github.com/jatinchowdhury18/RTNeural (the figures in bench/README.md used commit 1fb1f07):
//
//   g++ -std=c++20 -O3 -march=native -DNDEBUG -DRTNEURAL_USE_EIGEN=1 \
//       -DRTNEURAL_DEFAULT_ALIGNMENT=32 -DEIGEN_STACK_ALLOCATION_LIMIT=4194304 \
//       -I<RTNeural> -isystem /usr/include/eigen3 -Iinclude bench/peers/rtneural_recurrent.cpp \
//       -lbenchmark -lpthread -o peer_recurrent
//   ./peer_recurrent --benchmark_repetitions=3 --benchmark_min_time=0.3
//
// Input 32, hidden 8..128, float, one stream, one sample per call; random weights (RTNeural's
// Keras layout for RTNeural, dendrite's PyTorch-style initialisation for dendrite: the cost of a
// step does not depend on the values). Dense: identity activation, In = Out. Conv1D: 8 channels
// in and out, dilation 1, kernel 3 and 15 (dendrite's causal step).
#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include <RTNeural/RTNeural.h>

#include <dendrite/nn/conv1d.hpp>
#include <dendrite/nn/dense.hpp>
#include <dendrite/nn/gru.hpp>
#include <dendrite/nn/lstm.hpp>
#include <dendrite/nn/packed_dense.hpp>
#include <dendrite/nn/packed_gru.hpp>
#include <dendrite/nn/packed_lstm.hpp>

namespace {

constexpr int kIn = 32;

std::vector<std::vector<float>> random_matrix(int rows, int cols, std::mt19937& rng) {
  std::normal_distribution<float> n(0.0f, 0.2f);
  std::vector<std::vector<float>> m(static_cast<std::size_t>(rows),
                                    std::vector<float>(static_cast<std::size_t>(cols)));
  for (auto& r : m) {
    for (auto& v : r) v = n(rng);
  }
  return m;
}

template <int In>
std::array<float, In> input() {
  std::array<float, In> x{};
  std::mt19937 rng(1);
  std::normal_distribution<float> n;
  for (auto& v : x) v = n(rng);
  return x;
}

template <class Model>
void time_rtneural(benchmark::State& state, Model& model) {
  alignas(64) std::array<float, kIn> x = input<kIn>();
  model.reset();
  for (auto _ : state) {
    benchmark::DoNotOptimize(model.forward(x.data()));
    benchmark::ClobberMemory();
  }
}

template <int H>
void BM_RTNeuralGru(benchmark::State& state) {
  RTNeural::ModelT<float, kIn, H, RTNeural::GRULayerT<float, kIn, H>> model;
  std::mt19937 rng(1);
  auto& gru = model.template get<0>();
  gru.setWVals(random_matrix(kIn, 3 * H, rng));
  gru.setUVals(random_matrix(H, 3 * H, rng));
  gru.setBVals(random_matrix(2, 3 * H, rng));
  time_rtneural(state, model);
}

template <int H>
void BM_RTNeuralLstm(benchmark::State& state) {
  RTNeural::ModelT<float, kIn, H, RTNeural::LSTMLayerT<float, kIn, H>> model;
  std::mt19937 rng(1);
  auto& lstm = model.template get<0>();
  lstm.setWVals(random_matrix(kIn, 4 * H, rng));
  lstm.setUVals(random_matrix(H, 4 * H, rng));
  lstm.setBVals(random_matrix(1, 4 * H, rng)[0]);
  time_rtneural(state, model);
}

template <int N>
void BM_RTNeuralDense(benchmark::State& state) {
  RTNeural::ModelT<float, N, N, RTNeural::DenseT<float, N, N>> model;
  std::mt19937 rng(1);
  model.template get<0>().setWeights(random_matrix(N, N, rng));
  model.template get<0>().setBias(random_matrix(1, N, rng)[0].data());
  alignas(64) std::array<float, N> x = input<N>();
  for (auto _ : state) {
    benchmark::DoNotOptimize(model.forward(x.data()));
    benchmark::ClobberMemory();
  }
}

template <class Block, int In, int Out>
void time_dendrite(benchmark::State& state, Block& block) {
  const std::array<float, In> x = input<In>();
  std::array<float, Out> h{};
  benchmark::DoNotOptimize(&block);
  for (auto _ : state) {
    benchmark::DoNotOptimize(block.step(x, h));
    benchmark::DoNotOptimize(h.data());  // the output must be computed (Dense keeps no state)
    benchmark::ClobberMemory();
  }
}

template <int H>
void BM_DendriteGru(benchmark::State& state) {
  dendrite::nn::GRU<float, kIn, H> gru({.seed = 1});
  time_dendrite<decltype(gru), kIn, H>(state, gru);
}
// Weight: float (the packed layout alone), dendrite::bf16, dendrite::f16 or std::int8_t.
template <int H, class Weight>
void BM_DendritePackedGru(benchmark::State& state) {
  const dendrite::nn::GRU<float, kIn, H> gru({.seed = 1});
  dendrite::nn::PackedGRU<float, kIn, H, Weight> packed(gru);
  time_dendrite<decltype(packed), kIn, H>(state, packed);
}
template <int H>
void BM_DendriteLstm(benchmark::State& state) {
  dendrite::nn::LSTM<float, kIn, H> lstm({.seed = 1});
  time_dendrite<decltype(lstm), kIn, H>(state, lstm);
}
template <int H, class Weight>
void BM_DendritePackedLstm(benchmark::State& state) {
  const dendrite::nn::LSTM<float, kIn, H> lstm({.seed = 1});
  dendrite::nn::PackedLSTM<float, kIn, H, Weight> packed(lstm);
  time_dendrite<decltype(packed), kIn, H>(state, packed);
}
template <int N>
void BM_DendriteDense(benchmark::State& state) {
  dendrite::nn::Dense<float, N, N> dense({.seed = 1});
  time_dendrite<decltype(dense), N, N>(state, dense);
}
template <int N, class Weight>
void BM_DendritePackedDense(benchmark::State& state) {
  const dendrite::nn::Dense<float, N, N> dense({.seed = 1});
  const dendrite::nn::PackedDense<float, N, N, Weight> packed(dense);
  time_dendrite<decltype(packed), N, N>(state, packed);
}

/// Conv1D, 8 channels in and out, kernel K, dilation 1, one sample a call (RTNeural's weights
/// [out][in][k]; dendrite's causal step).
template <int K>
void BM_RTNeuralConv1D(benchmark::State& state) {
  RTNeural::ModelT<float, 8, 8, RTNeural::Conv1DT<float, 8, 8, K, 1>> model;
  std::mt19937 rng(1);
  std::normal_distribution<float> n(0.0f, 0.2f);
  std::vector<std::vector<std::vector<float>>> w(
      8, std::vector<std::vector<float>>(8, std::vector<float>(std::size_t(K))));
  for (auto& out : w) {
    for (auto& in : out) {
      for (auto& v : in) v = n(rng);
    }
  }
  model.template get<0>().setWeights(w);
  model.template get<0>().setBias(std::vector<float>(8, 0.1f));
  model.reset();
  alignas(64) std::array<float, 8> x = input<8>();
  for (auto _ : state) {
    benchmark::DoNotOptimize(model.forward(x.data()));
    benchmark::ClobberMemory();
  }
}
template <int K>
void BM_DendriteConv1D(benchmark::State& state) {
  dendrite::nn::Conv1D<float, 8, 8, K> conv({.padding = dendrite::nn::Padding::Causal, .seed = 1});
  time_dendrite<decltype(conv), 8, 8>(state, conv);
}

}  // namespace

#define DENDRITE_PEER_SIZES(bench) \
  BENCHMARK_TEMPLATE(bench, 8);    \
  BENCHMARK_TEMPLATE(bench, 16);   \
  BENCHMARK_TEMPLATE(bench, 32);   \
  BENCHMARK_TEMPLATE(bench, 64);   \
  BENCHMARK_TEMPLATE(bench, 128)
// the packed forms at every size, for one weight type
#define DENDRITE_PEER_PACKED(bench, Weight) \
  BENCHMARK_TEMPLATE(bench, 8, Weight);     \
  BENCHMARK_TEMPLATE(bench, 16, Weight);    \
  BENCHMARK_TEMPLATE(bench, 32, Weight);    \
  BENCHMARK_TEMPLATE(bench, 64, Weight);    \
  BENCHMARK_TEMPLATE(bench, 128, Weight)
DENDRITE_PEER_SIZES(BM_RTNeuralGru);
DENDRITE_PEER_SIZES(BM_DendriteGru);
DENDRITE_PEER_SIZES(BM_RTNeuralLstm);
DENDRITE_PEER_SIZES(BM_DendriteLstm);
DENDRITE_PEER_PACKED(BM_DendritePackedGru, float);
DENDRITE_PEER_PACKED(BM_DendritePackedGru, dendrite::bf16);
DENDRITE_PEER_PACKED(BM_DendritePackedGru, dendrite::f16);
DENDRITE_PEER_PACKED(BM_DendritePackedGru, std::int8_t);
DENDRITE_PEER_PACKED(BM_DendritePackedLstm, float);
DENDRITE_PEER_PACKED(BM_DendritePackedLstm, dendrite::bf16);
DENDRITE_PEER_PACKED(BM_DendritePackedLstm, dendrite::f16);
DENDRITE_PEER_PACKED(BM_DendritePackedLstm, std::int8_t);
BENCHMARK_TEMPLATE(BM_RTNeuralDense, 16);
BENCHMARK_TEMPLATE(BM_DendriteDense, 16);
BENCHMARK_TEMPLATE(BM_RTNeuralDense, 64);
BENCHMARK_TEMPLATE(BM_DendriteDense, 64);
BENCHMARK_TEMPLATE(BM_RTNeuralDense, 128);
BENCHMARK_TEMPLATE(BM_DendriteDense, 128);
BENCHMARK_TEMPLATE(BM_RTNeuralDense, 256);
BENCHMARK_TEMPLATE(BM_DendriteDense, 256);
#define DENDRITE_PEER_PACKED_DENSE(N)                               \
  BENCHMARK_TEMPLATE(BM_DendritePackedDense, N, dendrite::bf16);    \
  BENCHMARK_TEMPLATE(BM_DendritePackedDense, N, dendrite::f16);     \
  BENCHMARK_TEMPLATE(BM_DendritePackedDense, N, std::int8_t)
DENDRITE_PEER_PACKED_DENSE(16);
DENDRITE_PEER_PACKED_DENSE(64);
DENDRITE_PEER_PACKED_DENSE(128);
DENDRITE_PEER_PACKED_DENSE(256);
BENCHMARK_TEMPLATE(BM_RTNeuralConv1D, 3);
BENCHMARK_TEMPLATE(BM_DendriteConv1D, 3);
BENCHMARK_TEMPLATE(BM_RTNeuralConv1D, 15);
BENCHMARK_TEMPLATE(BM_DendriteConv1D, 15);

BENCHMARK_MAIN();
