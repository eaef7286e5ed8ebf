// SPDX-License-Identifier: MIT
/// @file
/// Where one real-time block's `step` stands against this core's limits (optional; not in the
/// umbrella header; no Google Benchmark needed: `bench/step.hpp` registers it with it).
///
/// `profile_step(block, limits)` runs `step` on a cycle of 64 random inputs in [-1, 1] and
/// reports:
///  - ns per step: the mean over back-to-back steps, the best of 3 runs of `calls` / 3 steps
///    (`calls` at least 10^5 by default; a run preempted by another process reads high, never
///    low);
///  - latency percentiles p50 / p99 / p99.9 and the maximum: each of `calls` further steps timed
///    alone by the steady clock, less the clock's own cost (the median of back-to-back reads);
///  - GFLOP/s from the block's `flops_per_step()` (rt::Costed) and its fraction of the measured FMA
///    peak of its scalar (`MachineLimits::fma_float`/`fma_double`, best run);
///  - the roofline bound: the larger of flops / peak and bytes / bandwidth, where `bytes_per_step()`
///    is read from L1 if it fits in 32 KiB, from L2 if it fits in the L2 size, else from memory;
///    and the fraction of that bound the step reaches (bound time / measured time, <= 1 up to
///    measurement noise);
///  - allocations during the timed steps, through `allocation_counter` (a function the program
///    installs: `bench/count_allocations.hpp` provides one that counts `operator new`; Eigen's
///    own allocations go through `std::malloc` and are not seen); -1 when none is installed;
///  - the mean time per step again with every input scaled into the subnormal range (1e-39 for
///    float, 1e-310 for double), the best of 3 runs as well, and its ratio to the normal one.
/// `flagged()` says whether the step allocated or slowed by more than `denormal_ratio_max` (5x)
/// on subnormal input: either makes it unfit for a real-time callback.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <dendrite/bench/machine.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/rt/contract.hpp>

namespace dendrite::bench {

/// Returns the number of allocations made so far on this thread (or in the program); installed
/// by the program (see `bench/count_allocations.hpp`). Null: allocations are not counted.
inline std::size_t (*allocation_counter)() = nullptr;

/// Settings of profile_step.
struct StepProfileOptions {
  std::size_t calls = 100000;        ///< timed steps, for the mean and again for the percentiles
  std::uint64_t seed = 1;            ///< seed of the random inputs
  double denormal_ratio_max = 5.0;   ///< flag a step this much slower on subnormal input
};

/// Where a step stands (see the file comment). Times in ns.
struct StepProfile {
  double ns_per_step = 0;
  double p50 = 0, p99 = 0, p999 = 0, max = 0;
  double flops = 0, bytes = 0;  ///< per step, all lanes (rt::Costed)
  double gflops = 0;
  double peak_fraction = 0;     ///< gflops / measured FMA peak of the scalar
  std::string bound;            ///< "compute", "L1", "L2" or "memory": what limits the step
  double bound_ns = 0;          ///< the roofline's time per step
  double bound_fraction = 0;    ///< bound_ns / ns_per_step
  long long allocations = -1;   ///< during the timed steps; -1 = not counted
  double denormal_ns_per_step = 0;
  double denormal_ratio = 0;    ///< denormal_ns_per_step / ns_per_step
  bool denormal_slow = false;   ///< denormal_ratio > denormal_ratio_max

  /// The step allocated or is slow on subnormal input.
  [[nodiscard]] bool flagged() const noexcept { return allocations > 0 || denormal_slow; }
};

namespace detail {

template <class T>
[[nodiscard]] T random_lane_value(std::mt19937_64& rng, double scale) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  if constexpr (is_batch_v<T>) {
    alignas(64) scalar_t<T> v[lanes_v<T>];
    for (auto& e : v) {
      e = scalar_t<T>(scale * u(rng));
    }
    return T::load_aligned(v);
  } else {
    return T(scale * u(rng));
  }
}

/// A cycle of 64 random inputs of B, each element uniform in [-scale, scale].
template <class B>
[[nodiscard]] auto random_inputs(std::mt19937_64& rng, double scale) {
  using T = typename B::value_type;
  std::vector<std::array<T, std::size_t(B::input_size)>> v(64);
  for (auto& x : v) {
    for (auto& e : x) {
      e = random_lane_value<T>(rng, scale);
    }
  }
  return v;
}

/// The mean ns per step over `calls` steps cycling through `inputs`.
template <class B, class T, std::size_t In, std::size_t Out>
[[nodiscard]] double mean_step_ns(B& block, const std::vector<std::array<T, In>>& inputs,
                                  std::array<T, Out>& y, std::size_t calls) {
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < calls; ++i) {
    (void)block.step(std::span<const T, In>(inputs[i % inputs.size()]), std::span<T, Out>(y));
  }
  const auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::nano>(t1 - t0).count() / double(calls);
}

}  // namespace detail

/// Profiles `block.step` (see the file comment) against `limits` (from `measure_machine`).
/// Changes the block's state; `reset()` it afterwards if that matters.
template <class B>
  requires rt::StreamingBlock<B> && rt::Costed<B>
[[nodiscard]] StepProfile profile_step(B& block, const MachineLimits& limits,
                                       const StepProfileOptions& opt = {}) {
  using T = typename B::value_type;
  using S = scalar_t<T>;
  constexpr std::size_t In = std::size_t(B::input_size), Out = std::size_t(B::output_size);
  const std::size_t calls = std::max<std::size_t>(opt.calls, 1);
  std::mt19937_64 rng(opt.seed);
  const auto normal = detail::random_inputs<B>(rng, 1.0);
  const double tiny = std::is_same_v<S, float> ? 1e-39 : 1e-310;
  const auto subnormal = detail::random_inputs<B>(rng, tiny);
  std::array<T, Out> y{};

  StepProfile p;
  using clock = std::chrono::steady_clock;
  std::vector<double> ns(calls), overhead(1001);  // allocated before the counting starts
  (void)detail::mean_step_ns(block, normal, y, std::min<std::size_t>(calls, 1000));  // warm-up
  const std::size_t allocs0 = allocation_counter ? allocation_counter() : 0;
  // the best of 3 runs: under ctest's parallel load one run of 20 000 GRU steps (1.8 ms) can
  // span a preemption of a few milliseconds
  const std::size_t run = std::max<std::size_t>(calls / 3, 1);
  const auto best_mean_ns = [&](const auto& inputs) {
    double best = detail::mean_step_ns(block, inputs, y, run);
    for (int r = 1; r < 3; ++r) best = std::min(best, detail::mean_step_ns(block, inputs, y, run));
    return best;
  };
  p.ns_per_step = best_mean_ns(normal);

  // each step alone, less the clock's own cost
  for (auto& o : overhead) {
    const auto a = clock::now();
    const auto b = clock::now();
    o = std::chrono::duration<double, std::nano>(b - a).count();
  }
  std::nth_element(overhead.begin(), overhead.begin() + 500, overhead.end());
  const double clock_ns = overhead[500];
  for (std::size_t i = 0; i < calls; ++i) {
    const auto a = clock::now();
    (void)block.step(std::span<const T, In>(normal[i % normal.size()]), std::span<T, Out>(y));
    const auto b = clock::now();
    ns[i] = std::max(0.0, std::chrono::duration<double, std::nano>(b - a).count() - clock_ns);
  }
  if (allocation_counter) {
    p.allocations = static_cast<long long>(allocation_counter() - allocs0);
  }
  std::sort(ns.begin(), ns.end());
  const auto pct = [&](double q) {
    return ns[std::min(ns.size() - 1, static_cast<std::size_t>(q * double(ns.size())))];
  };
  p.p50 = pct(0.5);
  p.p99 = pct(0.99);
  p.p999 = pct(0.999);
  p.max = ns.back();

  p.flops = double(B::flops_per_step());
  p.bytes = double(B::bytes_per_step());
  p.gflops = p.flops / p.ns_per_step;  // flops per ns = GFLOP/s
  const double peak = std::is_same_v<S, float> ? limits.fma_float.best : limits.fma_double.best;
  p.peak_fraction = peak > 0 ? p.gflops / peak : 0;
  const std::size_t l2 = limits.l2_bytes > 0 ? limits.l2_bytes : 512 * 1024;
  const bool in_l1 = p.bytes <= 32.0 * 1024;
  const bool in_l2 = p.bytes <= double(l2);
  const double bw = in_l1 ? limits.l1_read.best : in_l2 ? limits.l2_read.best : limits.memory_read.best;
  const double compute_ns = peak > 0 ? p.flops / peak : 0;
  const double memory_ns = bw > 0 ? p.bytes / bw : 0;  // bytes per (GB/s) = ns
  p.bound_ns = std::max(compute_ns, memory_ns);
  p.bound = compute_ns >= memory_ns ? "compute" : in_l1 ? "L1" : in_l2 ? "L2" : "memory";
  p.bound_fraction = p.ns_per_step > 0 ? p.bound_ns / p.ns_per_step : 0;

  block.reset();
  (void)detail::mean_step_ns(block, subnormal, y, std::min<std::size_t>(calls, 1000));
  p.denormal_ns_per_step = best_mean_ns(subnormal);
  p.denormal_ratio = p.denormal_ns_per_step / std::max(p.ns_per_step, 1e-3);
  p.denormal_slow = p.denormal_ratio > opt.denormal_ratio_max;
  return p;
}

}  // namespace dendrite::bench
