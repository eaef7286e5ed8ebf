// SPDX-License-Identifier: MIT
/// @file
/// Independent component analysis: whitening, FOBI, FastICA, the streaming network of Bahroun et
/// al. (NeurIPS 2021), Online Recursive ICA (Hsu et al. 2016) and its tracker (a batch refit
/// after a detected change, on a worker thread), artifact removal, metrics, the
/// paper's synthetic data set and EEG-like mixtures.
#pragma once

#include <dendrite/ica/artifact_remover.hpp>
#include <dendrite/ica/eeg_like.hpp>
#include <dendrite/ica/fastica.hpp>
#include <dendrite/ica/fobi.hpp>
#include <dendrite/ica/metrics.hpp>
#include <dendrite/ica/online_ica.hpp>
#include <dendrite/ica/orica.hpp>
#include <dendrite/ica/orica_tracker.hpp>
#include <dendrite/ica/synthetic.hpp>
#include <dendrite/ica/whitening.hpp>
