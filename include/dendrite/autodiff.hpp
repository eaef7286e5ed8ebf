// SPDX-License-Identifier: MIT
/// @file
/// autodiff-lite: forward-mode dual numbers over scalars and SIMD batches (with Eigen support),
/// and reverse mode: a tape of matrix operations, gradient checking and optimisers.
#pragma once

#include <dendrite/autodiff/dual.hpp>
#include <dendrite/autodiff/dual_eigen.hpp>
#include <dendrite/autodiff/gradcheck.hpp>
#include <dendrite/autodiff/ops.hpp>
#include <dendrite/autodiff/optim.hpp>
#include <dendrite/autodiff/tape.hpp>
