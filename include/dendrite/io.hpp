// SPDX-License-Identifier: MIT
/// @file
/// NPY files to and from Eigen matrices, and PyTorch state_dict directories to and from blocks.
#pragma once

#include <dendrite/io/npy.hpp>
#include <dendrite/io/pytorch.hpp>
