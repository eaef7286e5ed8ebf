// SPDX-License-Identifier: MIT
/// @file
/// autodiff-lite: forward-mode dual numbers over scalars and SIMD batches, with Eigen support.
#pragma once

#include <dendrite/autodiff/dual.hpp>
#include <dendrite/autodiff/dual_eigen.hpp>
