// SPDX-License-Identifier: MIT
/// @file
/// The streaming DSP front end: Butterworth and notch design as second-order sections (SciPy's
/// conventions) and `SOSFilter`, a multichannel real-time cascade.
#pragma once

#include <dendrite/dsp/design.hpp>
#include <dendrite/dsp/sos_filter.hpp>
