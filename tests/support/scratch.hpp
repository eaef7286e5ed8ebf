// SPDX-License-Identifier: MIT
/// @file
/// Scratch directories for tests that write files: one root per process,
/// `<temp>/dendrite_tests_<pid>` (test runs of several builds may share the machine), removed
/// with everything in it when the process exits, so runs leave nothing behind.
#pragma once

#include <filesystem>
#include <string>
#include <system_error>

#include <unistd.h>

namespace dendrite::test {

/// This process's scratch root, created on first use and removed at exit.
inline const std::filesystem::path& scratch_root() {
  struct Root {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("dendrite_tests_" + std::to_string(::getpid()));
    Root() { std::filesystem::create_directories(path); }
    Root(const Root&) = delete;
    Root& operator=(const Root&) = delete;
    ~Root() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  };
  static const Root root;
  return root.path;
}

/// An empty directory `name` under the scratch root (emptied if a test case made it before).
inline std::filesystem::path scratch_dir(const std::string& name) {
  const std::filesystem::path d = scratch_root() / name;
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

}  // namespace dendrite::test
