// SPDX-License-Identifier: MIT
/// @file
/// The sections of the flagship demo; each adds its plots, tables and summary lines to the
/// report. `dendrite-demo` runs them all; each also has its own executable.
#pragma once

#include "cli.hpp"
#include "report.hpp"

namespace dendrite::examples {

/// Bahroun et al.'s synthetic set: FOBI, FastICA and the online network side by side.
void run_ica_separation(Report& report, const Options& options);

/// The 16-channel, 30 kHz acquisition pipeline (OnlineICA, StreamingPCA, GRU decoder).
void run_realtime_pipeline(Report& report, const Options& options);

/// Cueva et al.'s two-orientation working-memory task: train the RNN, find the torus.
void run_working_memory(Report& report, const Options& options);

/// Li et al.'s CycleGAN with attention masks on a synthetic corridor task with a known change.
void run_cyclegan(Report& report, const Options& options);

/// The 64-channel EEG closed loop: a BDF recording replayed through band-pass, notch, common
/// average, ORICA, artifact removal and a GRU decoder (built where EDFlib is installed).
void run_eeg_closed_loop(Report& report, const Options& options);

/// main() of a one-section executable: parses the options, runs `section`, writes the report.
int run_main(int argc, char** argv, const char* what, void (*section)(Report&, const Options&));

}  // namespace dendrite::examples
