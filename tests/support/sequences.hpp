// SPDX-License-Identifier: MIT
/// @file
/// Sequence helpers shared by the block tests: the step-major batch layout of the tape forms
/// (column t B + b is step t of sequence b), and a block's `step` run over a whole sequence.
#pragma once

#include <array>
#include <span>
#include <vector>

#include <Eigen/Core>

#include <dendrite/core/error.hpp>

#include <catch2/catch.hpp>

namespace dendrite::test {

using MatD = Eigen::MatrixXd;

inline double max_abs(const MatD& m) { return m.cwiseAbs().maxCoeff(); }

/// Sequences of equal length (features x steps) as one step-major batch.
inline MatD interleave(const std::vector<MatD>& seqs) {
  const Eigen::Index B = Eigen::Index(seqs.size());
  MatD m(seqs[0].rows(), seqs[0].cols() * B);
  for (Eigen::Index b = 0; b < B; ++b) {
    for (Eigen::Index t = 0; t < seqs[0].cols(); ++t) m.col(t * B + b) = seqs[std::size_t(b)].col(t);
  }
  return m;
}

/// Sequence b of a step-major batch of `batch` sequences.
inline MatD sequence_of(const MatD& batched, Eigen::Index b, Eigen::Index batch) {
  MatD s(batched.rows(), batched.cols() / batch);
  for (Eigen::Index t = 0; t < s.cols(); ++t) s.col(t) = batched.col(t * batch + b);
  return s;
}

/// The outputs of block.step over the columns of x (In x L) from reset(), as Out x L; every
/// step must return Ok.
template <class T, std::size_t In, std::size_t Out, class Block>
MatD stream(Block& block, const MatD& x) {
  block.reset();
  MatD y(Out, x.cols());
  std::array<T, In> in{};
  std::array<T, Out> out{};
  for (Eigen::Index t = 0; t < x.cols(); ++t) {
    for (std::size_t i = 0; i < In; ++i) in[i] = T(x(Eigen::Index(i), t));
    REQUIRE(block.step(std::span<const T, In>(in), std::span<T, Out>(out)) == Status::Ok);
    for (std::size_t o = 0; o < Out; ++o) y(Eigen::Index(o), t) = double(out[o]);
  }
  return y;
}

}  // namespace dendrite::test
