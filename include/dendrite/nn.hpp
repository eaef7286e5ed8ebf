// SPDX-License-Identifier: MIT
/// @file
/// Small models: Dense, leaky RNN, GRU and LSTM, each in real-time, analysis and tape forms.
#pragma once

#include <dendrite/nn/activation.hpp>
#include <dendrite/nn/dense.hpp>
#include <dendrite/nn/gru.hpp>
#include <dendrite/nn/lstm.hpp>
#include <dendrite/nn/rnn.hpp>
