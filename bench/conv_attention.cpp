// SPDX-License-Identifier: MIT
// Conv and attention kernels beside plain baselines in the same binary:
//  - Conv1D streaming step (8 in, 8 out, kernel 3..15, float): dendrite's shift register + GEMV
//    against a naive ring buffer with modulo indexing and three nested loops (items = samples);
//    the lane form (batch<float>: items = streams x samples);
//  - Conv2D forward on 64 x 64 maps (1 -> 8 and 8 -> 8 channels, 3 x 3, 'same'): im2col + GEMM
//    against the direct seven-loop convolution (items = maps);
//  - multi-head self-attention forward (dim 64, 4 heads) at sequence lengths 32..512, showing the
//    quadratic growth, against a naive per-query loop; and the streaming step with windows of
//    32 and 128.
#include <array>
#include <cmath>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include <Eigen/Core>

#include <dendrite/nn/attention.hpp>
#include <dendrite/nn/conv.hpp>

namespace {

namespace nn = dendrite::nn;
using dendrite::batchf;
using MatF = Eigen::MatrixXf;

MatF random(Eigen::Index r, Eigen::Index c, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n;
  MatF m(r, c);
  for (Eigen::Index k = 0; k < m.size(); ++k) m(k) = n(rng);
  return m;
}

template <int K>
void BM_Conv1DStep(benchmark::State& state) {
  nn::Conv1D<float, 8, 8, K> conv({.padding = nn::Padding::Causal, .seed = 1});
  const MatF x = random(8, 1024, 2);
  std::array<float, 8> in{}, out{};
  Eigen::Index t = 0;
  for (auto _ : state) {
    for (int i = 0; i < 8; ++i) in[std::size_t(i)] = x(i, t);
    t = (t + 1) & 1023;
    benchmark::DoNotOptimize(conv.step(in, out));
    benchmark::DoNotOptimize(out.data());  // y is what the step computes: it must be kept
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

/// Baseline: the causal convolution as one would write it plainly: a ring buffer of the last K
/// samples indexed modulo K, weights W[o][c][k], three nested loops.
template <int K>
void BM_Conv1DStepNaive(benchmark::State& state) {
  nn::Conv1D<float, 8, 8, K> conv({.seed = 1});
  float w[8][8][K];
  for (int o = 0; o < 8; ++o) {
    for (int c = 0; c < 8; ++c) {
      for (int k = 0; k < K; ++k) w[o][c][k] = conv.weight.value(o, c * K + k);
    }
  }
  float b[8];
  for (int o = 0; o < 8; ++o) b[o] = conv.bias.value(o, 0);
  float ring[K][8] = {};
  int head = 0;
  const MatF x = random(8, 1024, 2);
  std::array<float, 8> out{};
  Eigen::Index t = 0;
  for (auto _ : state) {
    for (int c = 0; c < 8; ++c) ring[head][c] = x(c, t);
    t = (t + 1) & 1023;
    for (int o = 0; o < 8; ++o) {
      float acc = b[o];
      for (int k = 0; k < K; ++k) {
        const float* s = ring[(head + 1 + k) % K];  // tap k: oldest first
        for (int c = 0; c < 8; ++c) acc += w[o][c][k] * s[c];
      }
      out[std::size_t(o)] = acc;
    }
    head = (head + 1) % K;
    benchmark::DoNotOptimize(out);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

template <int K>
void BM_Conv1DStepLanes(benchmark::State& state) {
  nn::Conv1D<batchf, 8, 8, K> conv({.seed = 1});
  std::array<batchf, 8> in{}, out{};
  for (std::size_t i = 0; i < 8; ++i) in[i] = batchf(0.1f * float(i));
  for (auto _ : state) {
    benchmark::DoNotOptimize(conv.step(in, out));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(batchf::size));
  state.counters["lanes"] = double(batchf::size);
}

BENCHMARK_TEMPLATE(BM_Conv1DStep, 3);
BENCHMARK_TEMPLATE(BM_Conv1DStepNaive, 3);
BENCHMARK_TEMPLATE(BM_Conv1DStep, 7);
BENCHMARK_TEMPLATE(BM_Conv1DStepNaive, 7);
BENCHMARK_TEMPLATE(BM_Conv1DStep, 11);
BENCHMARK_TEMPLATE(BM_Conv1DStepNaive, 11);
BENCHMARK_TEMPLATE(BM_Conv1DStep, 15);
BENCHMARK_TEMPLATE(BM_Conv1DStepNaive, 15);
BENCHMARK_TEMPLATE(BM_Conv1DStepLanes, 3);
BENCHMARK_TEMPLATE(BM_Conv1DStepLanes, 15);

template <int kCin, int kCout>
void BM_Conv2D(benchmark::State& state) {
  nn::Conv2D<float, kCin, kCout, 3> conv({.padding = nn::Padding::Same, .seed = 1});
  const nn::Maps<float> x{random(kCin * 64 * 64, 1, 3), {kCin, 64, 64}};
  for (auto _ : state) {
    nn::Maps<float> y = conv.forward(x);
    benchmark::DoNotOptimize(y.data.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * kCout * kCin * 9 * 64 * 64,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

/// Baseline: the direct convolution, seven loops, zero padding by bounds checks.
template <int kCin, int kCout>
void BM_Conv2DNaive(benchmark::State& state) {
  nn::Conv2D<float, kCin, kCout, 3> conv({.seed = 1});
  const MatF x = random(kCin * 64 * 64, 1, 3);
  std::vector<float> y(static_cast<std::size_t>(kCout) * 64 * 64);
  for (auto _ : state) {
    for (int o = 0; o < kCout; ++o) {
      for (int i = 0; i < 64; ++i) {
        for (int j = 0; j < 64; ++j) {
          float acc = conv.bias.value(o, 0);
          for (int c = 0; c < kCin; ++c) {
            for (int u = 0; u < 3; ++u) {
              const int r = i + u - 1;
              if (r < 0 || r >= 64) continue;
              for (int v = 0; v < 3; ++v) {
                const int q = j + v - 1;
                if (q < 0 || q >= 64) continue;
                acc += conv.weight.value(o, (c * 3 + u) * 3 + v) * x((c * 64 + r) * 64 + q, 0);
              }
            }
          }
          y[std::size_t((o * 64 + i) * 64 + j)] = acc;
        }
      }
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * kCout * kCin * 9 * 64 * 64,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK_TEMPLATE(BM_Conv2D, 1, 8);
BENCHMARK_TEMPLATE(BM_Conv2DNaive, 1, 8);
BENCHMARK_TEMPLATE(BM_Conv2D, 8, 8);
BENCHMARK_TEMPLATE(BM_Conv2DNaive, 8, 8);

void BM_Attention(benchmark::State& state) {
  nn::MultiHeadAttention<float, 64, 4> mha({.seed = 1});
  const MatF x = random(64, state.range(0), 4);
  for (auto _ : state) {
    MatF y = mha.forward(x);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));  // steps
}

/// Baseline: the same attention written per query, per head, per key (projections by Eigen).
void BM_AttentionNaive(benchmark::State& state) {
  nn::MultiHeadAttention<float, 64, 4> mha({.seed = 1});
  const Eigen::Index L = state.range(0);
  const MatF x = random(64, L, 4);
  std::vector<float> s(std::size_t(L), 0.f);
  for (auto _ : state) {
    const MatF qkv = (mha.in_proj_weight.value * x).colwise() + mha.in_proj_bias.value.col(0);
    MatF o = MatF::Zero(64, L);
    for (int h = 0; h < 4; ++h) {
      for (Eigen::Index i = 0; i < L; ++i) {
        float mx = -INFINITY;
        for (Eigen::Index j = 0; j < L; ++j) {
          float dot = 0;
          for (int e = 0; e < 16; ++e) dot += qkv(h * 16 + e, i) * qkv(64 + h * 16 + e, j);
          s[std::size_t(j)] = dot * 0.25f;
          mx = std::max(mx, s[std::size_t(j)]);
        }
        float z = 0;
        for (Eigen::Index j = 0; j < L; ++j) z += (s[std::size_t(j)] = std::exp(s[std::size_t(j)] - mx));
        for (Eigen::Index j = 0; j < L; ++j) {
          const float p = s[std::size_t(j)] / z;
          for (int e = 0; e < 16; ++e) o(h * 16 + e, i) += p * qkv(128 + h * 16 + e, j);
        }
      }
    }
    MatF y = (mha.out_proj_weight.value * o).colwise() + mha.out_proj_bias.value.col(0);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(state.iterations() * L);
}

BENCHMARK(BM_Attention)->RangeMultiplier(2)->Range(32, 512);
BENCHMARK(BM_AttentionNaive)->RangeMultiplier(2)->Range(32, 512);

template <int Window>
void BM_AttentionStep(benchmark::State& state) {
  nn::MultiHeadAttention<float, 64, 4, Window> mha({.causal = true, .window = Window, .seed = 1});
  const MatF x = random(64, 1024, 5);
  std::array<float, 64> in{}, out{};
  Eigen::Index t = 0;
  for (auto _ : state) {
    for (int i = 0; i < 64; ++i) in[std::size_t(i)] = x(i, t);
    t = (t + 1) & 1023;
    benchmark::DoNotOptimize(mha.step(in, out));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_TEMPLATE(BM_AttentionStep, 32);
BENCHMARK_TEMPLATE(BM_AttentionStep, 128);

}  // namespace
