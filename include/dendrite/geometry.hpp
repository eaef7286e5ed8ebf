// SPDX-License-Identifier: MIT
/// @file
/// Manifold geometry: PCA (batch and streaming), subspaces and principal angles, the torus tests,
/// and Bernardi et al.'s abstraction measures.
#pragma once

#include <dendrite/geometry/abstraction.hpp>
#include <dendrite/geometry/pca.hpp>
#include <dendrite/geometry/streaming_pca.hpp>
#include <dendrite/geometry/subspace.hpp>
#include <dendrite/geometry/torus.hpp>
#include <dendrite/geometry/torus_generators.hpp>
