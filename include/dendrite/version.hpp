// SPDX-License-Identifier: MIT
/// @file
/// The library version: the single source of truth, read by CMake as well.
#pragma once

#define DENDRITE_VERSION_MAJOR 0
#define DENDRITE_VERSION_MINOR 2
#define DENDRITE_VERSION_PATCH 0

#define DENDRITE_DETAIL_STRINGIFY2(x) #x
#define DENDRITE_DETAIL_STRINGIFY(x) DENDRITE_DETAIL_STRINGIFY2(x)

/// "MAJOR.MINOR.PATCH"
#define DENDRITE_VERSION_STRING                                                        \
  DENDRITE_DETAIL_STRINGIFY(DENDRITE_VERSION_MAJOR)                                    \
  "." DENDRITE_DETAIL_STRINGIFY(DENDRITE_VERSION_MINOR) "." DENDRITE_DETAIL_STRINGIFY( \
      DENDRITE_VERSION_PATCH)

/// MAJOR * 10000 + MINOR * 100 + PATCH, for preprocessor comparisons.
#define DENDRITE_VERSION \
  (DENDRITE_VERSION_MAJOR * 10000 + DENDRITE_VERSION_MINOR * 100 + DENDRITE_VERSION_PATCH)
