// SPDX-License-Identifier: MIT
/// @file
/// Time a real-time block with Google Benchmark and see where it stands against this core's
/// limits (optional; needs Google Benchmark, `libbenchmark-dev`; not in the umbrella header).
///
///     #include <dendrite/bench/count_allocations.hpp>  // one file: counts operator new
///     #include <dendrite/bench/step.hpp>
///     using Model = dendrite::nn::Sequential<dendrite::nn::GRU<float, 32, 64>,
///                                            dendrite::nn::Dense<float, 64, 8>>;
///     int main(int argc, char** argv) {
///       dendrite::bench::register_step<Model>("gru32x64+dense");
///       benchmark::Initialize(&argc, argv);
///       benchmark::RunSpecifiedBenchmarks();
///     }
///
/// `register_step<B>(name, args...)` registers these benchmarks on a block built as `B(args...)`:
///  - `name`: Google Benchmark's timing of `step` on a cycle of random inputs, with the counter
///    `GFLOP/s` from `B::flops_per_step()`;
///  - `name/process256` (blocks of a scalar type only): `rt::process_interleaved` over 256
///    samples per call, the form a host calls, with `ns/sample` and `GFLOP/s`;
///  - `name/profile`: one run of `profile_step` (bench/step_profile.hpp) against the machine's
///    limits (measured once per program by `measure_machine`), reported as counters: `ns`,
///    `GFLOP/s`, `peak` (fraction of the measured FMA peak), `bound_ns` and `of_bound` (fraction
///    of the roofline bound), `p50`, `p99`, `p99.9`, `max` (ns), `allocs` (-1: not counted) and
///    `denormal_x` (slow-down on subnormal input); its label names the bound ("compute", "L1",
///    "L2", "memory") and says FLAGGED when the step allocated or slowed more than 5x.
#pragma once

#include <array>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include <dendrite/bench/machine.hpp>
#include <dendrite/bench/step_profile.hpp>
#include <dendrite/rt/process.hpp>

namespace dendrite::bench {

/// The machine's limits, measured on first use (about half a second) and kept for the program.
inline const MachineLimits& machine_limits() {
  static const MachineLimits limits = measure_machine(3);
  return limits;
}

/// Registers `name` and `name/profile` for a block `B(args...)` (see the file comment).
template <class B, class... Args>
  requires rt::StreamingBlock<B> && rt::Costed<B>
void register_step(const std::string& name, Args... args) {
  using T = typename B::value_type;
  constexpr std::size_t In = std::size_t(B::input_size), Out = std::size_t(B::output_size);
  benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) {
    auto block = std::make_unique<B>(args...);  // on the heap: a block can be large
    std::mt19937_64 rng(1);
    const auto inputs = detail::random_inputs<B>(rng, 1.0);
    std::array<T, Out> y{};
    std::size_t i = 0;
    for (auto _ : state) {
      (void)block->step(std::span<const T, In>(inputs[i++ % inputs.size()]), std::span<T, Out>(y));
      benchmark::DoNotOptimize(y.data());
      benchmark::ClobberMemory();
    }
    state.counters["GFLOP/s"] = benchmark::Counter(double(B::flops_per_step()),
                                                   benchmark::Counter::kIsIterationInvariantRate,
                                                   benchmark::Counter::kIs1000);
  });
  if constexpr (rt::ScalarStreamingBlock<B>) {
    // the block form a host calls: process_interleaved over 256 samples per call
    benchmark::RegisterBenchmark((name + "/process256").c_str(), [=](benchmark::State& state) {
      auto block = std::make_unique<B>(args...);
      constexpr std::size_t n = 256;
      std::mt19937_64 rng(1);
      std::vector<T> in(n * In), out(n * Out);
      for (auto& v : in) v = detail::random_lane_value<T>(rng, 1.0);
      for (auto _ : state) {
        (void)rt::process_interleaved(*block, in.data(), out.data(), n);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
      }
      state.counters["ns/sample"] = benchmark::Counter(
          double(n), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
      state.counters["GFLOP/s"] = benchmark::Counter(double(n) * double(B::flops_per_step()),
                                                     benchmark::Counter::kIsIterationInvariantRate,
                                                     benchmark::Counter::kIs1000);
    });
  }
  benchmark::RegisterBenchmark((name + "/profile").c_str(), [=](benchmark::State& state) {
    auto block = std::make_unique<B>(args...);
    const MachineLimits& limits = machine_limits();
    StepProfile p;
    for (auto _ : state) {
      p = profile_step(*block, limits);
      state.SetIterationTime(p.ns_per_step * 1e-9);
    }
    state.counters["ns"] = p.ns_per_step;
    state.counters["GFLOP/s"] = p.gflops;
    state.counters["peak"] = p.peak_fraction;
    state.counters["bound_ns"] = p.bound_ns;
    state.counters["of_bound"] = p.bound_fraction;
    state.counters["p50"] = p.p50;
    state.counters["p99"] = p.p99;
    state.counters["p99.9"] = p.p999;
    state.counters["max"] = p.max;
    state.counters["allocs"] = double(p.allocations);
    state.counters["denormal_x"] = p.denormal_ratio;
    state.SetLabel(std::string(p.bound) + (p.flagged() ? " FLAGGED:" : "") +
                   (p.allocations > 0 ? " allocates" : "") +
                   (p.denormal_slow ? " slow on subnormals" : ""));
  })->Iterations(1)->UseManualTime();
}

}  // namespace dendrite::bench
