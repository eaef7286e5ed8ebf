// SPDX-License-Identifier: MIT
/// @file
/// Small models: Dense, leaky RNN, GRU, LSTM, Conv1D/Conv2D, norms, pooling, upsampling,
/// multi-head and streaming attention, attention gates, each in real-time (where a block maps
/// a sample to a sample), analysis and tape forms; Sequential/Residual/Parallel composition.
/// Every block satisfies the contract of rt/contract.hpp.
#pragma once

#include <dendrite/nn/activation.hpp>
#include <dendrite/nn/activation_layers.hpp>
#include <dendrite/nn/attention_gate.hpp>
#include <dendrite/nn/blocked_gru.hpp>
#include <dendrite/nn/blocked_lstm.hpp>
#include <dendrite/nn/conv1d.hpp>
#include <dendrite/nn/conv2d.hpp>
#include <dendrite/nn/conv_options.hpp>
#include <dendrite/nn/dense.hpp>
#include <dendrite/nn/gru.hpp>
#include <dendrite/nn/lstm.hpp>
#include <dendrite/nn/maps.hpp>
#include <dendrite/nn/multihead_attention.hpp>
#include <dendrite/nn/norm.hpp>
#include <dendrite/nn/options.hpp>
#include <dendrite/nn/packed_dense.hpp>
#include <dendrite/nn/packed_gru.hpp>
#include <dendrite/nn/packed_lstm.hpp>
#include <dendrite/nn/pool.hpp>
#include <dendrite/nn/rnn.hpp>
#include <dendrite/nn/sequential.hpp>
#include <dendrite/nn/spatial_attention.hpp>
#include <dendrite/nn/upsample.hpp>
