// SPDX-License-Identifier: MIT
/// @file
/// Small models: Dense, leaky RNN, GRU, LSTM, Conv1D/Conv2D, norms, pooling, upsampling,
/// multi-head and streaming attention, attention gates, each in real-time (where a block maps
/// a sample to a sample), analysis and tape forms; Sequential/Residual/Parallel composition.
#pragma once

#include <dendrite/nn/activation.hpp>
#include <dendrite/nn/attention.hpp>
#include <dendrite/nn/conv.hpp>
#include <dendrite/nn/dense.hpp>
#include <dendrite/nn/gru.hpp>
#include <dendrite/nn/layers.hpp>
#include <dendrite/nn/lstm.hpp>
#include <dendrite/nn/maps.hpp>
#include <dendrite/nn/rnn.hpp>
#include <dendrite/nn/sequential.hpp>
