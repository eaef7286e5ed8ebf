// SPDX-License-Identifier: MIT
/// @file
/// Helpers shared by the nn blocks: PyTorch's default initialisation and input checks.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <dendrite/autodiff/tape.hpp>
#include <dendrite/core/error.hpp>

namespace dendrite::nn::detail {

/// Fills p with U(-bound, bound), PyTorch's default for RNN/GRU/LSTM (bound = 1/sqrt(hidden))
/// and Linear (bound = 1/sqrt(in)).
template <class S>
void init_uniform(autodiff::Parameter<S>& p, double bound, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-bound, bound);
  for (Eigen::Index k = 0; k < p.value.size(); ++k) {
    p.value(k) = S(u(rng));
  }
  p.grad.setZero(p.value.rows(), p.value.cols());
}

/// Throws unless x has `rows` rows (a sequence or batch for a block of that input size).
inline void check_rows(std::string_view who, Eigen::Index got_rows, Eigen::Index got_cols,
                       Eigen::Index rows) {
  if (got_rows != rows) {
    DENDRITE_THROW(dimension_error, who, ": expected an input of ", rows, " rows (features x ",
                   "samples), got ", got_rows, " x ", got_cols);
  }
}

/// Throws unless a tape input of shape rows x cols holds whole steps of `batch` columns.
inline void check_batched(std::string_view who, Eigen::Index got_rows, Eigen::Index got_cols,
                          Eigen::Index rows, Eigen::Index batch) {
  check_rows(who, got_rows, got_cols, rows);
  if (batch <= 0 || got_cols % batch != 0) {
    DENDRITE_THROW(dimension_error, who, ": expected the ", got_cols,
                   " columns to be whole steps of the batch size, got batch ", batch);
  }
}

/// The parameters of a recurrent block with `Gates` gate blocks stacked in the rows, named and
/// shaped as PyTorch's RNN/GRU/LSTM state_dicts: weight_ih (Gates H x In), weight_hh
/// (Gates H x H), bias_ih and bias_hh (Gates H). Initialised as PyTorch does,
/// U(-1/sqrt(H), 1/sqrt(H)).
template <class S, int Gates, int In, int Hidden>
struct RecurrentParameters {
  using Param = autodiff::Parameter<S>;
  static constexpr Eigen::Index kRows = Eigen::Index(Gates) * Hidden;

  Param weight_ih{kRows, In};
  Param weight_hh{kRows, Hidden};
  Param bias_ih = Param::vector(kRows);
  Param bias_hh = Param::vector(kRows);

  void init(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    const double bound = 1.0 / std::sqrt(double(Hidden));
    for (auto& [name, p] : named_parameters()) {
      init_uniform(*p, bound, rng);
    }
  }

  /// The parameters with their PyTorch state_dict names.
  [[nodiscard]] std::array<std::pair<std::string_view, Param*>, 4> named_parameters() noexcept {
    return {{{"weight_ih", &weight_ih},
             {"weight_hh", &weight_hh},
             {"bias_ih", &bias_ih},
             {"bias_hh", &bias_hh}}};
  }
  [[nodiscard]] std::vector<Param*> parameters() {
    return {&weight_ih, &weight_hh, &bias_ih, &bias_hh};
  }
};

/// Named parameters of composite blocks, as PyTorch's state_dict names nested modules.
template <class S>
using NamedParameters = std::vector<std::pair<std::string, autodiff::Parameter<S>*>>;

/// Appends the parameters of `inner` under `prefix` (e.g. "body." or "0.").
template <class S, class Inner>
void append_named_parameters(NamedParameters<S>& out, std::string_view prefix, Inner& inner) {
  for (auto& [name, p] : inner.named_parameters()) {
    out.emplace_back(std::string(prefix) + std::string(name), p);
  }
}

/// The parameters of a tuple of blocks named "<index>.<name>" (nn.Sequential, nn.ModuleList).
template <class S, class... Blocks>
NamedParameters<S> indexed_named_parameters(std::tuple<Blocks...>& blocks) {
  NamedParameters<S> out;
  std::apply(
      [&](auto&... b) {
        std::size_t i = 0;
        (append_named_parameters(out, std::to_string(i++) + ".", b), ...);
      },
      blocks);
  return out;
}

/// The parameters of a named list, in order, without their names.
template <class S>
std::vector<autodiff::Parameter<S>*> parameters_of(const NamedParameters<S>& named) {
  std::vector<autodiff::Parameter<S>*> out;
  out.reserve(named.size());
  for (const auto& [name, p] : named) out.push_back(p);
  return out;
}

}  // namespace dendrite::nn::detail
