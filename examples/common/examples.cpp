// SPDX-License-Identifier: MIT
#include "support/alloc_counter.hpp"

#include "examples.hpp"

#include <exception>
#include <iostream>

namespace dendrite::examples {

int run_main(int argc, char** argv, const char* what, void (*section)(Report&, const Options&)) {
  const Options options = parse_options(argc, argv, what);
  try {
    Report report(options.out);
    section(report, options);
    const auto page = report.write();
    report.print_summary();
    std::cout << "\nReport: " << page.string() << "\n";
  } catch (const std::exception& e) {
    std::cerr << argv[0] << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace dendrite::examples
