// SPDX-License-Identifier: MIT
// Prints this core's measured limits (dendrite/bench/machine.hpp) beside the peak derived from
// the vector width and the measured clock: the figures every kernel's time is compared with.
#include <cstdio>

#include <dendrite/bench/machine.hpp>

int main() {
  const auto m = dendrite::bench::measure_machine();
  std::printf("target %s (float lanes %d, double lanes %d); measured in %.2f s\n", m.arch.c_str(),
              m.float_lanes, m.double_lanes, m.seconds);
  std::printf("clock %.3f GHz (%s)\n", m.clock_ghz, m.clock_method.c_str());
  std::printf("%-22s %10s %10s %10s %14s %8s\n", "", "best", "median", "worst", "derived peak", "ratio");
  auto row = [](const char* what, const dendrite::bench::Spread& s, double peak) {
    std::printf("%-22s %10.1f %10.1f %10.1f", what, s.best, s.median, s.worst);
    if (peak > 0) {
      std::printf(" %14.1f %8.3f\n", peak, s.best / peak);
    } else {
      std::printf("\n");
    }
  };
  row("FMA float (GFLOP/s)", m.fma_float, m.derived_peak_float);
  row("FMA double (GFLOP/s)", m.fma_double, m.derived_peak_double);
  row("L1 read (GB/s)", m.l1_read, 0);
  row("L2 read (GB/s)", m.l2_read, 0);
  row("memory read (GB/s)", m.memory_read, 0);
  std::printf("L2 size %zu KiB (sysfs; the L2 probe reads half of it)\n", m.l2_bytes / 1024);
  return 0;
}
