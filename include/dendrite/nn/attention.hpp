// SPDX-License-Identifier: MIT
/// @file
/// Attention blocks: MultiHeadAttention (multihead_attention.hpp, with a streaming step),
/// AttentionGate (attention_gate.hpp) and SpatialAttention (spatial_attention.hpp).
#pragma once

#include <dendrite/nn/attention_gate.hpp>
#include <dendrite/nn/multihead_attention.hpp>
#include <dendrite/nn/spatial_attention.hpp>
