// SPDX-License-Identifier: MIT
/// @file
/// Convolutions: Conv1D (conv1d.hpp, with a real-time causal step) and Conv2D (conv2d.hpp),
/// with their options (conv_options.hpp).
#pragma once

#include <dendrite/nn/conv1d.hpp>
#include <dendrite/nn/conv2d.hpp>
#include <dendrite/nn/conv_options.hpp>
