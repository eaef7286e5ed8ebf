// SPDX-License-Identifier: MIT
/// @file
/// The base of the nn layers that have neither parameters nor running state: the members of
/// the block contract (rt/contract.hpp) that such a layer has trivially.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>
#include <utility>
#include <vector>

#include <dendrite/autodiff/tape.hpp>
#include <dendrite/config.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/rt/contract.hpp>

namespace dendrite::nn {

using rt::any_size;

namespace detail {

/// A layer without parameters or running state.
template <class T>
struct Stateless {
  using value_type = T;
  using Param = autodiff::Parameter<scalar_t<T>>;
  /// Nothing to clear. Real-time safe.
  DENDRITE_REALTIME void reset() noexcept {}
  /// 0: the output answers the input of the same step.
  [[nodiscard]] std::size_t latency_samples() const noexcept { return 0; }
  [[nodiscard]] std::array<std::pair<std::string_view, Param*>, 0> named_parameters() noexcept {
    return {};
  }
  [[nodiscard]] std::vector<Param*> parameters() { return {}; }
};

}  // namespace detail
}  // namespace dendrite::nn
