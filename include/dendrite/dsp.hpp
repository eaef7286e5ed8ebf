// SPDX-License-Identifier: MIT
/// @file
/// The streaming DSP front end: Butterworth and notch design as second-order sections (SciPy's
/// conventions) and `SOSFilter`, a multichannel real-time cascade; Kaiser-window FIR design and
/// `Decimator`; `DCBlocker` and `CommonAverage`; offline, `sosfiltfilt` (zero-phase, SciPy's).
#pragma once

#include <dendrite/dsp/common_average.hpp>
#include <dendrite/dsp/dc_blocker.hpp>
#include <dendrite/dsp/decimator.hpp>
#include <dendrite/dsp/design.hpp>
#include <dendrite/dsp/filtfilt.hpp>
#include <dendrite/dsp/fir.hpp>
#include <dendrite/dsp/sos_filter.hpp>
