// SPDX-License-Identifier: MIT
// Elementwise activations over a 4096-value buffer: std:: scalar loop (baseline) vs dendrite's
// generic functions on float and on xsimd batches. items_per_second counts values.
#include <cmath>
#include <vector>

#include <benchmark/benchmark.h>

#include <dendrite/core.hpp>

namespace {

constexpr std::size_t kN = 4096;

std::vector<float> inputs() {
  std::vector<float> v(kN);
  for (std::size_t i = 0; i < kN; ++i) {
    v[i] = -8.0f + 16.0f * static_cast<float>(i) / float(kN);
  }
  return v;
}

void BM_StdTanh(benchmark::State& state) {
  const auto in = inputs();
  std::vector<float> out(kN);
  for (auto _ : state) {
    for (std::size_t i = 0; i < kN; ++i) {
      out[i] = std::tanh(in[i]);
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kN));
}

void BM_StdSigmoid(benchmark::State& state) {
  const auto in = inputs();
  std::vector<float> out(kN);
  for (auto _ : state) {
    for (std::size_t i = 0; i < kN; ++i) {
      out[i] = 1.0f / (1.0f + std::exp(-in[i]));
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kN));
}

struct Tanh {
  template <class T>
  static T apply(const T& x) noexcept {
    return dendrite::tanh(x);
  }
};
struct Sigmoid {
  template <class T>
  static T apply(const T& x) noexcept {
    return dendrite::sigmoid(x);
  }
};

template <class T, class F>
void BM_Dendrite(benchmark::State& state) {
  const auto in = inputs();
  std::vector<float> out(kN);
  constexpr std::size_t L = dendrite::lanes_v<T>;
  for (auto _ : state) {
    for (std::size_t i = 0; i < kN; i += L) {
      dendrite::store(out.data() + i, F::apply(dendrite::load<T>(in.data() + i)));
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kN));
  state.counters["lanes"] = static_cast<double>(L);
}

using dendrite::batchf;

}  // namespace

BENCHMARK(BM_StdTanh);
BENCHMARK_TEMPLATE(BM_Dendrite, float, Tanh);
BENCHMARK_TEMPLATE(BM_Dendrite, batchf, Tanh);
BENCHMARK(BM_StdSigmoid);
BENCHMARK_TEMPLATE(BM_Dendrite, float, Sigmoid);
BENCHMARK_TEMPLATE(BM_Dendrite, batchf, Sigmoid);
