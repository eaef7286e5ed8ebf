// SPDX-License-Identifier: MIT
/// @file
/// The numeric core: the `Real` concept and its traits, lane helpers, elementwise math, errors.
#pragma once

#include <dendrite/config.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/math.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/version.hpp>
