// SPDX-License-Identifier: MIT
/// @file
/// The streaming DSP front end: Butterworth, Chebyshev (types I and II), elliptic, Bessel and
/// notch design as second-order sections (SciPy's conventions) with the orders that meet a
/// specification (`buttord`, ...), `tf2sos` for filters given as b and a,
/// and `SOSFilter`, a multichannel real-time cascade; FIR design by windows (`firwin`, SciPy's
/// windows), frequency sampling (`firwin2`), least squares (`firls`) and equiripple (`remez`,
/// SciPy's, and `remez_lowpass`), made minimum phase (`minimum_phase`), and `Decimator`;
/// `DCBlocker` and `CommonAverage`; offline, `sosfilt` and `sosfiltfilt` (SciPy's, zero-phase
/// for the second), `fft`, `rfft`, `irfft` (plans: `FFT`, `RealFFT`), `hilbert`, `welch`, `csd`,
/// `coherence`, `spectrogram`, `stft` and `istft` (NumPy's and SciPy's), and Slepian's tapers
/// (`dpss`) with Thomson's multitaper spectrum (MNE's), his F test for lines and line noise
/// removed by fitting them
/// (`remove_lines`), the cross spectral matrices and phase connectivity over epochs; the
/// Lomb-Scargle periodogram of unevenly sampled rows (SciPy's `lombscargle`).
#pragma once

#include <dendrite/dsp/bessel.hpp>
#include <dendrite/dsp/common_average.hpp>
#include <dendrite/dsp/dc_blocker.hpp>
#include <dendrite/dsp/decimator.hpp>
#include <dendrite/dsp/design.hpp>
#include <dendrite/dsp/filter_order.hpp>
#include <dendrite/dsp/filtfilt.hpp>
#include <dendrite/dsp/fir.hpp>
#include <dendrite/dsp/firls.hpp>
#include <dendrite/dsp/firwin2.hpp>
#include <dendrite/dsp/lombscargle.hpp>
#include <dendrite/dsp/minimum_phase.hpp>
#include <dendrite/dsp/multitaper.hpp>
#include <dendrite/dsp/remez.hpp>
#include <dendrite/dsp/sos_filter.hpp>
#include <dendrite/dsp/spectrum.hpp>
#include <dendrite/dsp/transfer_function.hpp>
#include <dendrite/dsp/window.hpp>
