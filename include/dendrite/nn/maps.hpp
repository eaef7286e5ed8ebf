// SPDX-License-Identifier: MIT
/// @file
/// A batch of 2-D maps (channels x height x width, e.g. one channel of neurons x position bins)
/// as the 2-D blocks of dendrite::nn pass it along: the data matrix is (C H W) x B, column b
/// holding map b in C order (element c H W + h W + w), byte for byte PyTorch's (B, C, H, W)
/// array; the extents travel with it so that a chain of blocks needs no hand-carried shapes.
///   Maps<S>     analysis form (an Eigen matrix)
///   MapsVar<S>  tape form (a Var)
#pragma once

#include <string_view>

#include <dendrite/autodiff/tape.hpp>
#include <dendrite/core/error.hpp>

namespace dendrite::nn {

using autodiff::Index;

/// Channels, height and width of one map.
struct MapShape {
  Index channels = 1, height = 1, width = 1;
  [[nodiscard]] Index size() const noexcept { return channels * height * width; }
  friend bool operator==(const MapShape&, const MapShape&) = default;
};

/// A batch of maps as an Eigen matrix: data is (C H W) x B.
template <class S>
struct Maps {
  autodiff::Mat<S> data;
  MapShape shape;

  [[nodiscard]] Index batch() const noexcept { return data.cols(); }
  /// Element (c, h, w) of map b.
  [[nodiscard]] S operator()(Index b, Index c, Index h, Index w) const {
    return data((c * shape.height + h) * shape.width + w, b);
  }
};

/// A batch of maps on the tape: var is (C H W) x B.
template <class S>
struct MapsVar {
  autodiff::Var<S> var;
  MapShape shape;
};

namespace detail {

/// Throws unless `rows` is the size of a map of `shape` with `channels` channels.
inline void check_maps(std::string_view who, const MapShape& shape, Index rows, Index channels) {
  if (shape.channels != channels || shape.size() != rows || shape.height < 1 || shape.width < 1) {
    DENDRITE_THROW(dimension_error, who, ": expected maps of ", channels,
                   " channels whose data has channels x height x width rows, got ",
                   shape.channels, " x ", shape.height, " x ", shape.width, " maps in ", rows,
                   " rows");
  }
}

}  // namespace detail

}  // namespace dendrite::nn
