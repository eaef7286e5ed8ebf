// SPDX-License-Identifier: MIT
// Eigen's decompositions on Matrix<float, Dynamic, Dynamic>, compiled once for every test and example
// program (the others include dendrite/core/eigen_instantiations.hpp and compile none of them).
// The allocation counter comes first, as in every file of these programs, so that the
// decompositions' eigen_assert is the counting one everywhere.
#include "support/alloc_counter.hpp"

#define DENDRITE_EIGEN_INSTANTIATE_FLOAT
#include <dendrite/core/eigen_instantiations.hpp>
