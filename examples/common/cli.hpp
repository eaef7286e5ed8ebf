// SPDX-License-Identifier: MIT
/// @file
/// The examples' command line: `--out DIR` (default ./dendrite-report), `--full` (the larger
/// versions), `--smoke` (tiny versions for the test suite), `--help`.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>

namespace dendrite::examples {

struct Options {
  std::filesystem::path out = "dendrite-report";
  bool full = false;
  bool smoke = false;  ///< tiny sizes, for the test suite: checks the plumbing, not the results
};

/// Parses argv; prints usage and exits on --help or a bad argument.
inline Options parse_options(int argc, char** argv, std::string_view what) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--out" && i + 1 < argc) {
      o.out = argv[++i];
    } else if (a == "--full") {
      o.full = true;
    } else if (a == "--quick") {
      o.full = false;
    } else if (a == "--smoke") {
      o.smoke = true;
      o.full = false;
    } else {
      const bool help = a == "--help" || a == "-h";
      (help ? std::cout : std::cerr)
          << "usage: " << argv[0] << " [--out DIR] [--full]\n  " << what
          << "\n  --out DIR  where to write index.html and the CSVs (default ./dendrite-report)\n"
             "  --full     run the larger versions (default: quick mode)\n"
             "  --smoke    tiny versions that only check that everything runs (for ctest)\n";
      std::exit(help ? 0 : 2);
    }
  }
  return o;
}

}  // namespace dendrite::examples
