// SPDX-License-Identifier: MIT
// The DSP front end: SOSFilter over many channels beside a plain per-channel loop (each channel's
// sections in transposed direct form II, one channel after another: what one writes from
// SciPy's sosfilt), in the same binary. items_per_second counts channel-samples.
#include <array>
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include <dendrite/dsp.hpp>

#include "support.hpp"

namespace {

namespace dsp = dendrite::dsp;

Eigen::MatrixXd design(int sections) {
  return sections == 1 ? dsp::iirnotch(50.0, 30.0, 30000.0)
                       : dsp::butter(sections / 2, {300.0, 6000.0}, dsp::BandType::BandPass, 30000.0);
}

template <int C, int S>
void BM_SOSFilter(benchmark::State& state) {
  dsp::SOSFilter<float, C> filt(design(S));
  const auto xs = dendrite::bench::normal_samples<float, std::size_t(C), 64>(3);
  std::array<float, C> y{};
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(filt.step(xs[i++ & 63], y));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * C);
}

// Baseline: per channel, its own state array, all sections, then the next channel.
template <int C, int S>
void BM_SOSFilterPerChannelBaseline(benchmark::State& state) {
  const Eigen::MatrixXd sos = design(S);
  std::vector<float> coef;
  for (Eigen::Index s = 0; s < sos.rows(); ++s) {
    for (int k : {0, 1, 2, 4, 5}) coef.push_back(float(sos(s, k)));
  }
  std::vector<float> z(static_cast<std::size_t>(C) * static_cast<std::size_t>(sos.rows()) * 2, 0.0f);
  const auto xs = dendrite::bench::normal_samples<float, std::size_t(C), 64>(3);
  std::array<float, C> y{};
  std::size_t i = 0;
  const std::size_t ns = std::size_t(sos.rows());
  for (auto _ : state) {
    const auto& x = xs[i++ & 63];
    for (std::size_t ch = 0; ch < std::size_t(C); ++ch) {
      float v = x[ch];
      float* zc = &z[ch * ns * 2];
      for (std::size_t s = 0; s < ns; ++s) {
        const float* k = &coef[s * 5];
        const float out = k[0] * v + zc[2 * s];
        zc[2 * s] = k[1] * v - k[3] * out + zc[2 * s + 1];
        zc[2 * s + 1] = k[2] * v - k[4] * out;
        v = out;
      }
      y[ch] = v;
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * C);
}

}  // namespace

BENCHMARK_TEMPLATE(BM_SOSFilter, 64, 1);
BENCHMARK_TEMPLATE(BM_SOSFilterPerChannelBaseline, 64, 1);
BENCHMARK_TEMPLATE(BM_SOSFilter, 384, 4);
BENCHMARK_TEMPLATE(BM_SOSFilterPerChannelBaseline, 384, 4);
