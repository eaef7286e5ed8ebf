// SPDX-License-Identifier: MIT
/// @file
/// The small layers that conv generators and discriminators are built from: activation layers
/// (activation_layers.hpp), LayerNorm and InstanceNorm (norm.hpp), pooling (pool.hpp) and
/// upsampling (upsample.hpp).
#pragma once

#include <dendrite/nn/activation_layers.hpp>
#include <dendrite/nn/norm.hpp>
#include <dendrite/nn/pool.hpp>
#include <dendrite/nn/upsample.hpp>
