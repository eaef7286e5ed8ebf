// SPDX-License-Identifier: MIT
// dendrite-demo: runs every example in its quick mode (or --full) and writes one report folder
// (index.html with inline SVG plots, and the CSV behind every plot), printing a summary.
#include "support/alloc_counter.hpp"

#include <chrono>
#include <exception>
#include <iostream>
#include <string>

#include <dendrite/core/traits.hpp>
#include <dendrite/version.hpp>

#include "../common/examples.hpp"

int main(int argc, char** argv) {
  using namespace dendrite::examples;
  const Options options = parse_options(
      argc, argv, "runs the dendrite examples (ICA separation, real-time pipeline, working memory, CycleGAN) into one report");
  const char* mode = options.smoke ? "smoke" : (options.full ? "full" : "quick");
  std::cout << "dendrite " << DENDRITE_VERSION_STRING << " demo (" << mode
            << " mode; SIMD: " << dendrite::simd_arch_name() << ")\n";
  try {
    Report report(options.out);
    const auto t0 = std::chrono::steady_clock::now();
    run_ica_separation(report, options);
    run_realtime_pipeline(report, options);
#if defined(DENDRITE_EXAMPLES_HAVE_EDF)
    run_eeg_closed_loop(report, options);
#else
    std::cout << "[eeg closed loop] skipped: EDFlib (libedf-dev) was not found when this was built\n";
#endif
    run_working_memory(report, options);
    run_cyclegan(report, options);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    report.summary("demo run time", fmt(s, 3) + " s", std::string(mode) + " mode");
    const auto page = report.write();
    report.print_summary();
    std::cout << "\nReport: " << page.string() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "dendrite-demo: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
