// SPDX-License-Identifier: MIT
/// @file
/// Everything dendrite offers, in one include. Library headers never include this file.
#pragma once

#include <dendrite/autodiff.hpp>
#include <dendrite/core.hpp>
#include <dendrite/dsp.hpp>
#include <dendrite/geometry.hpp>
#include <dendrite/ica.hpp>
#include <dendrite/io.hpp>
#include <dendrite/nn.hpp>
#include <dendrite/kernels.hpp>
#include <dendrite/rt.hpp>
