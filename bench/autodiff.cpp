// SPDX-License-Identifier: MIT
// Forward mode: value and derivative of f(x) = tanh(x) exp(-x^2) + sigmoid(x) at 1e6 points,
// one point per Dual<float, 1> (baseline) vs lanes_v points per Dual<batch<float>, 1>.
#include <vector>

#include <benchmark/benchmark.h>

#include <dendrite/autodiff/dual.hpp>

namespace {

constexpr std::size_t kPoints = 1 << 20;

template <class D>
D f(const D& x) {
  return dendrite::autodiff::tanh(x) * dendrite::autodiff::exp(-(x * x)) +
         dendrite::autodiff::sigmoid(x);
}

template <class T>
void BM_DualDerivative(benchmark::State& state) {
  std::vector<float> x(kPoints), y(kPoints), dy(kPoints);
  for (std::size_t i = 0; i < kPoints; ++i) {
    x[i] = -4.0f + 8.0f * float(i) / float(kPoints);
  }
  constexpr std::size_t L = dendrite::lanes_v<T>;
  for (auto _ : state) {
    for (std::size_t i = 0; i < kPoints; i += L) {
      const auto r = f(dendrite::autodiff::Dual<T, 1>(dendrite::load<T>(x.data() + i), 0));
      dendrite::store(y.data() + i, r.a);
      dendrite::store(dy.data() + i, r.v[0]);
    }
    benchmark::DoNotOptimize(dy.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(kPoints));
  state.counters["lanes"] = double(L);
}

using dendrite::batchf;

}  // namespace

BENCHMARK_TEMPLATE(BM_DualDerivative, float)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_DualDerivative, batchf)->Unit(benchmark::kMillisecond);
