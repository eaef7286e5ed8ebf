// SPDX-License-Identifier: MIT
/// @file
/// Helpers shared by the nn blocks: PyTorch's default initialisation and input checks.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <string_view>

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

}  // namespace dendrite::nn::detail
