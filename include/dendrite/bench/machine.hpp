// SPDX-License-Identifier: MIT
/// @file
/// This core's limits, measured in well under a second with small kernels of dendrite's own
/// (optional; not in the umbrella header): the FMA throughput for float and double at the widest
/// vector xsimd targets, the read bandwidth from L1, L2 and memory, and the clock.
///
/// Method (each figure is the best of `repeats` runs; the spread of the runs is reported):
///  - FMA: after a warm-up of a few milliseconds, 12 independent accumulator chains acc = fma(acc, m, c) on `xsimd::batch<T>`, enough to
///    cover the FMA latency (4-5 cycles) times the units (2) of current x86 cores; flops =
///    2 x lanes x chains x iterations.
///  - Read bandwidth: sums of a buffer with 8 vector accumulators, repeated until about 2 ms have
///    passed (the clock read once per 4 MiB of passes): 16 KiB (L1), half of the L2 size sysfs
///    reports (256 KiB if unknown), 128 MiB (memory, past any L3 of this class of machine).
///  - Clock: on x86-64, a chain of 100 dependent integer additions of a register per loop
///    iteration (one cycle each: cycles = additions) timed by the steady clock, the best of
///    `repeats` (at least 3) runs of about 1.5 ms before the FMA runs and as many after them (a
///    preempted run or one before the core has ramped up reads low, never high: one 6 ms run
///    under ctest's parallel load once read 1.9 GHz on a 3.3 GHz core); elsewhere
///    /proc/cpuinfo's "cpu MHz", or 0 (unknown). The addend is a register, not an immediate:
///    Golden Cove cores (Sapphire Rapids) fold chains of immediate additions at rename, which
///    ran 3.6 of them per cycle and reported a 9-16 GHz clock.
///  - The derived peak: clock x lanes x 2 flops x 2 FMA units (the assumption: two full-width
///    FMA units per core, true of Intel's server cores since Skylake-SP with two AVX-512 units and
///    of AMD's Zen 2 and 3 at 256 bits; AMD Zen 4 runs 512-bit FMAs at half rate, so there the
///    measured figure is half the derived one).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <xsimd/xsimd.hpp>

#include <dendrite/core/math.hpp>
#include <dendrite/core/simd.hpp>

namespace dendrite::bench {

/// Best, median and worst of repeated runs of one measurement.
struct Spread {
  double best = 0, median = 0, worst = 0;
  /// (best - worst) / best: 0 when the runs agree.
  [[nodiscard]] double relative() const noexcept { return best > 0 ? (best - worst) / best : 0; }
};

/// What `measure_machine` found (rates in GFLOP/s and GB/s, clock in GHz; 0 = unknown).
struct MachineLimits {
  double clock_ghz = 0;
  std::string clock_method;
  int float_lanes = 0, double_lanes = 0;
  std::string arch;         ///< xsimd's name of the widest target, e.g. "avx2"
  Spread fma_float, fma_double;  ///< GFLOP/s
  Spread l1_read, l2_read, memory_read;  ///< GB/s
  std::size_t l2_bytes = 0;
  double derived_peak_float = 0, derived_peak_double = 0;  ///< clock x lanes x 2 x 2 (GFLOP/s)
  double seconds = 0;  ///< time the measurement took
};

namespace detail {

using clock = std::chrono::steady_clock;

inline Spread spread_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v.back(), v[v.size() / 2], v.front()};
}

// The independent FMA chains fma_gflops runs: each iteration is kFmaChains FMAs of a batch.
inline constexpr int kFmaChains = 12;

// Not inlined: the loop's code placement then does not depend on the caller (it moved the
// figure by 30 % on this machine's Zen 3 core).
template <class T>
[[gnu::noinline]] double fma_gflops(std::size_t iterations) {
  using B = xsimd::batch<T>;
  constexpr int kChains = kFmaChains;
  B acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = B(T(1) + T(i) * T(1e-3));
  // acc stays near 1: no overflow, no denormal. m, c and the count pass through volatiles: with
  // constants clang -O3 evaluated the whole loop at compile time (8e6 "GFLOP/s").
  volatile T mv = T(0.999999), cv = T(1e-6);
  volatile std::size_t nv = iterations;
  const B m = B(T(mv)), c = B(T(cv));
  const std::size_t n = nv;
  const auto t0 = clock::now();
  for (std::size_t k = 0; k < n; ++k) {
    for (int i = 0; i < kChains; ++i) acc[i] = dendrite::fma(acc[i], m, c);
  }
  const double s = std::chrono::duration<double>(clock::now() - t0).count();
  B sum(T(0));
  for (int i = 0; i < kChains; ++i) sum += acc[i];
  volatile T sink = xsimd::hadd(sum);  // keeps the chains alive
  (void)sink;
  return 2.0 * double(B::size) * kChains * double(iterations) / s * 1e-9;
}

template <class T>
T read_sum(const T* p, std::size_t n) {
  using B = xsimd::batch<T>;
  constexpr std::size_t L = B::size;
  // 8 accumulators: two loads per cycle with a 3-4 cycle add latency need 6-8 chains
  B a[8];
  for (auto& v : a) v = B(T(0));
  std::size_t i = 0;
  for (; i + 8 * L <= n; i += 8 * L) {
    for (std::size_t k = 0; k < 8; ++k) a[k] += B::load_aligned(p + i + k * L);
  }
  T s = xsimd::hadd(((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7])));
  for (const T* q = p + i; q != p + n; ++q) s += *q;
  return s;
}

inline double read_gbps(std::size_t bytes) {
  const std::size_t n = bytes / sizeof(float);
  // page-aligned: the same placement every run
  std::vector<float, AlignedAllocator<float, 4096>> buf(n, 1.0f);
  volatile float sink = read_sum(buf.data(), n);  // warm: pages touched, caches filled
  // the clock is read once per group of passes of about 4 MiB: a pass over 16 KiB takes about
  // 100 ns, and a VM's clock read 20-50 ns, which moved the L1 figure by 30 % between runs
  const std::size_t group = std::max<std::size_t>(1, (std::size_t(4) << 20) / bytes);
  std::size_t passes = 0;
  const auto t0 = clock::now();
  double s = 0;
  do {
    for (std::size_t g = 0; g < group; ++g) sink = read_sum(buf.data(), n);
    passes += group;
    s = std::chrono::duration<double>(clock::now() - t0).count();
  } while (s < 2e-3);
  (void)sink;
  return double(passes) * double(n * sizeof(float)) / s * 1e-9;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// Cycles per second from one timed chain of 5 million dependent integer additions.
inline double clock_ghz_once() {
  const std::uint64_t iterations = 50000;
  std::uint64_t x = 0;
  const std::uint64_t one = 1;  // in a register: its value is unknown at rename
  const auto t0 = clock::now();
  for (std::uint64_t k = 0; k < iterations; ++k) {
    // 100 dependent additions: 100 cycles on any x86-64 core (1-cycle integer add latency)
    asm volatile(
        ".rept 100\n\t"
        "add %1, %0\n\t"
        ".endr"
        : "+r"(x)
        : "r"(one));
  }
  const double s = std::chrono::duration<double>(clock::now() - t0).count();
  return x == 100 * iterations && s > 0 ? 100.0 * double(iterations) / s * 1e-9 : 0.0;
}
#endif

// Cycles per second: the best of `runs` timed chains of dependent integer additions (x86-64),
// else /proc/cpuinfo's figure.
inline double measure_clock_ghz(std::string& method, int runs) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  double best = 0;
  for (int r = 0; r < std::max(3, runs); ++r) best = std::max(best, clock_ghz_once());
  method = "a chain of dependent integer additions (1 cycle each), timed, best of runs";
  return best;
#else
  (void)runs;
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("cpu MHz", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        method = "/proc/cpuinfo cpu MHz";
        return std::stod(line.substr(colon + 1)) * 1e-3;
      }
    }
  }
  method = "unknown";
  return 0.0;
#endif
}

inline std::size_t l2_size_bytes() {
  std::ifstream in("/sys/devices/system/cpu/cpu0/cache/index2/size");
  std::string s;
  if (!(in >> s) || s.empty()) return 0;
  std::size_t v = 0;
  std::size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') v = v * 10 + std::size_t(s[i++] - '0');
  if (i < s.size() && (s[i] == 'K' || s[i] == 'k')) v *= 1024;
  if (i < s.size() && (s[i] == 'M' || s[i] == 'm')) v *= 1024 * 1024;
  return v;
}

}  // namespace detail

/// Measures this core's limits (see the file comment); `repeats` runs of each kernel.
/// Takes about 0.3 s on a 2.4 GHz core with the default 5 repeats. Not real-time (allocates).
inline MachineLimits measure_machine(int repeats = 5) {
  const auto t0 = detail::clock::now();
  MachineLimits m;
  repeats = std::max(1, repeats);
  m.float_lanes = int(xsimd::batch<float>::size);
  m.double_lanes = int(xsimd::batch<double>::size);
  m.arch = xsimd::default_arch::name();
  m.clock_ghz = detail::measure_clock_ghz(m.clock_method, repeats);
  m.l2_bytes = detail::l2_size_bytes();
  const std::size_t l2_probe = m.l2_bytes > 0 ? m.l2_bytes / 2 : 256 * 1024;
  std::vector<double> ff, fd, l1, l2, mem;
  // warm-up: cores power the upper halves of their vector units up only after some use (the
  // first milliseconds of 256-bit work ran at 40 % of the rate here)
  (void)detail::fma_gflops<float>(2000000);
  for (int r = 0; r < repeats; ++r) ff.push_back(detail::fma_gflops<float>(1000000));
  for (int r = 0; r < repeats; ++r) fd.push_back(detail::fma_gflops<double>(1000000));
  m.clock_ghz = std::max(m.clock_ghz, detail::measure_clock_ghz(m.clock_method, repeats));
  for (int r = 0; r < repeats; ++r) {
    l1.push_back(detail::read_gbps(16 * 1024));
    l2.push_back(detail::read_gbps(l2_probe));
  }
  for (int r = 0; r < std::min(repeats, 3); ++r) mem.push_back(detail::read_gbps(std::size_t(128) << 20));
  m.fma_float = detail::spread_of(ff);
  m.fma_double = detail::spread_of(fd);
  m.l1_read = detail::spread_of(l1);
  m.l2_read = detail::spread_of(l2);
  m.memory_read = detail::spread_of(mem);
  m.derived_peak_float = m.clock_ghz * m.float_lanes * 2 * 2;
  m.derived_peak_double = m.clock_ghz * m.double_lanes * 2 * 2;
  m.seconds = std::chrono::duration<double>(detail::clock::now() - t0).count();
  return m;
}

}  // namespace dendrite::bench
