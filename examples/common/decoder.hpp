// SPDX-License-Identifier: MIT
/// @file
/// The examples' decoder training: a recurrent block (GRU) and a linear readout fitted by BPTT
/// to map a multichannel signal to a target, on random windows (a burn-in, then the loss); and
/// the correlation that scores the decoder.
#pragma once

#include <cmath>
#include <random>
#include <string>

#include <Eigen/Core>

#include <dendrite/autodiff/optim.hpp>

#include "progress.hpp"
#include "report.hpp"

namespace dendrite::examples {

/// Window and optimiser settings of `train_decoder`.
struct DecoderTraining {
  Eigen::Index steps = 120;   ///< samples per window
  Eigen::Index burn_in = 40;  ///< of them, not in the loss
  Eigen::Index batch = 32;    ///< windows per iteration
  float lr = 3e-3f;           ///< Adam
  int iterations = 400;
  std::uint64_t seed = 5;
  const char* progress = nullptr;  ///< a progress bar's label, or none
};

/// Trains `rnn` + `readout` (x: channels x n, target: n) by Adam on the mean squared error of
/// the readout after the burn-in of each window. Returns the smoothed final loss.
template <class Recurrent, class Readout>
double train_decoder(Recurrent& rnn, Readout& readout, const Eigen::MatrixXf& x,
                     const Eigen::VectorXf& target, const DecoderTraining& o) {
  auto params = rnn.parameters();
  for (auto* p : readout.parameters()) params.push_back(p);
  autodiff::Adam<float> adam(params, {.lr = o.lr});
  autodiff::Tape<float> tape;
  const Eigen::Index kept = o.steps - o.burn_in;
  Eigen::MatrixXf xb(x.rows(), o.steps * o.batch), tb(1, kept * o.batch);
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<Eigen::Index> start(0, x.cols() - o.steps - 1);
  Progress bar(o.progress ? o.progress : "", o.progress ? o.iterations : 0, "it");
  double smooth = 0;
  for (int it = 0; it < o.iterations; ++it) {
    for (Eigen::Index b = 0; b < o.batch; ++b) {
      const Eigen::Index s0 = start(rng);
      for (Eigen::Index k = 0; k < o.steps; ++k) {
        xb.col(k * o.batch + b) = x.col(s0 + k);
        if (k >= o.burn_in) tb(0, (k - o.burn_in) * o.batch + b) = target(s0 + k);
      }
    }
    tape.clear();
    const auto hs = rnn.forward(tape, tape.input(xb), o.batch);
    const auto pred = readout.forward(tape, autodiff::slice_cols(hs, o.burn_in * o.batch, kept * o.batch));
    const auto loss = autodiff::mse(pred, tape.input(tb));
    tape.backward(loss);
    adam.clip_grad_norm(1.0f);
    adam.step();
    adam.zero_grad();
    smooth = it == 0 ? loss.item() : 0.95 * smooth + 0.05 * loss.item();
    if (o.progress) bar.update(it + 1, "loss " + fmt(smooth));
  }
  return smooth;
}

/// Pearson's correlation of two equally long series (a decoder's output and its target).
inline double correlation(const Eigen::Ref<const Eigen::VectorXd>& a,
                          const Eigen::Ref<const Eigen::VectorXd>& b) {
  const Eigen::ArrayXd x = a.array() - a.mean(), y = b.array() - b.mean();
  return (x * y).sum() / std::sqrt((x * x).sum() * (y * y).sum());
}

}  // namespace dendrite::examples
