// SPDX-License-Identifier: MIT
/// @file
/// The plain arithmetic shared by nn's analysis forms and autodiff's tape ops: convolution,
/// pooling and upsampling, normalisation, attention (dendrite::kernels).
#pragma once

#include <dendrite/kernels/attention.hpp>
#include <dendrite/kernels/conv.hpp>
#include <dendrite/kernels/normalize.hpp>
#include <dendrite/kernels/resample.hpp>
