// SPDX-License-Identifier: MIT
/// @file
/// The two-orientation working-memory task of Cueva et al. 2021 (../shared/PAPERS.md section 2)
/// in miniature, the leaky RNN that learns it, and the population analysis of its memory.
///
/// Task (per trial, one step = dt = tau / 10):
///   inputs  32 orientation-tuned lines r_k(theta) = 50 (0.5 (cos 2 (phi_k - theta) + 1))^4,
///           phi_k = k pi / 32, plus a go-cue line; a stimulus is one noisy draw
///           r ~ N(r_k, sqrt(0.1 r_k)) clipped at 0, held for its 10 steps; inputs are divided by
///           50 (the tuning peak; the precursor code divides by the batch maximum instead);
///   timing  stimulus 1 at steps [5, 15), delay U{20..30}, stimulus 2 for 10 steps, delay
///           U{20..30}, go cue on from then to the end (the go line is 1); `steps` = 120 (quick);
///   targets (sin 2 theta1, cos 2 theta1, sin 2 theta2, cos 2 theta2) from the go cue on, 0
///           before; theta1, theta2 independent and uniform in [0, pi).
/// Network: RNN<float, 33, 100, ReTanh> with dt/tau = 0.1 and unit noise (sd 0.1) in training,
/// linear readout to 4; loss MSE over all steps and outputs; Adam, gradient clipping.
/// Performance: Cueva's normalised error 100 sum (target - y)^2 / sum (target - mean target)^2
/// over the steps after the go cue, per output, averaged over the 4 outputs.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <vector>

#include <Eigen/Core>

#include <dendrite/autodiff/ops.hpp>
#include <dendrite/autodiff/optim.hpp>
#include <dendrite/geometry/torus.hpp>
#include <dendrite/nn/dense.hpp>
#include <dendrite/nn/rnn.hpp>

namespace dendrite::examples::wm {

constexpr int kTuned = 32;
constexpr int kInputs = kTuned + 1;  // + go cue
constexpr int kOutputs = 4;
constexpr int kHidden = 100;

struct Timing {
  int steps = 120;
  int stim1_start = 5;
  int stim_length = 10;
  int delay_min = 20;
  int delay_max = 30;
};

/// One trial's parameters.
struct Trial {
  double theta1 = 0, theta2 = 0;
  int delay1 = 25, delay2 = 25;
  [[nodiscard]] int stim2_start(const Timing& t) const { return t.stim1_start + t.stim_length + delay1; }
  [[nodiscard]] int go(const Timing& t) const { return stim2_start(t) + t.stim_length + delay2; }
};

/// Mean response of tuned line k to orientation theta, before normalisation (peak 50).
inline double tuning(int k, double theta) {
  const double phi = double(k) * std::numbers::pi / kTuned;
  return 50.0 * std::pow(0.5 * (std::cos(2.0 * (phi - theta)) + 1.0), 4);
}

/// Writes the inputs (kInputs x steps) and targets (kOutputs x steps) of one trial into column
/// `col0 + t * stride` for t = 0..steps-1 (stride = batch size: the tape's step-major layout).
/// `noise` false gives the mean tuning (for analysis).
template <class M>
void write_trial(const Trial& tr, const Timing& tm, bool noise, std::mt19937_64& rng, M& x, M& y,
                 Eigen::Index col0, Eigen::Index stride) {
  std::array<double, kTuned> s1{}, s2{};
  std::normal_distribution<double> normal;
  for (int k = 0; k < kTuned; ++k) {
    const double m1 = tuning(k, tr.theta1), m2 = tuning(k, tr.theta2);
    s1[std::size_t(k)] = std::max(0.0, noise ? m1 + std::sqrt(0.1 * m1) * normal(rng) : m1) / 50.0;
    s2[std::size_t(k)] = std::max(0.0, noise ? m2 + std::sqrt(0.1 * m2) * normal(rng) : m2) / 50.0;
  }
  const int a = tm.stim1_start, b = tr.stim2_start(tm), go = tr.go(tm);
  const double t1s = std::sin(2 * tr.theta1), t1c = std::cos(2 * tr.theta1);
  const double t2s = std::sin(2 * tr.theta2), t2c = std::cos(2 * tr.theta2);
  for (int t = 0; t < tm.steps; ++t) {
    const Eigen::Index c = col0 + Eigen::Index(t) * stride;
    const bool in1 = t >= a && t < a + tm.stim_length;
    const bool in2 = t >= b && t < b + tm.stim_length;
    for (int k = 0; k < kTuned; ++k) {
      x(k, c) = typename M::Scalar(in1 ? s1[std::size_t(k)] : (in2 ? s2[std::size_t(k)] : 0.0));
    }
    x(kTuned, c) = t >= go ? 1 : 0;
    const bool out = t >= go;
    y(0, c) = typename M::Scalar(out ? t1s : 0.0);
    y(1, c) = typename M::Scalar(out ? t1c : 0.0);
    y(2, c) = typename M::Scalar(out ? t2s : 0.0);
    y(3, c) = typename M::Scalar(out ? t2c : 0.0);
  }
}

/// A random trial: orientations uniform in [0, pi), delays uniform in [delay_min, delay_max].
inline Trial random_trial(const Timing& tm, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> angle(0.0, std::numbers::pi);
  std::uniform_int_distribution<int> delay(tm.delay_min, tm.delay_max);
  Trial tr;
  tr.theta1 = angle(rng);
  tr.theta2 = angle(rng);
  tr.delay1 = delay(rng);
  tr.delay2 = delay(rng);
  return tr;
}

/// A batch of fresh random noisy trials in the tape layout (step-major); returns the trials.
template <class M>
std::vector<Trial> make_batch(const Timing& tm, Eigen::Index batch, std::mt19937_64& rng, M& x, M& y) {
  x.resize(kInputs, tm.steps * batch);
  y.resize(kOutputs, tm.steps * batch);
  std::vector<Trial> trials;
  for (Eigen::Index b = 0; b < batch; ++b) {
    trials.push_back(random_trial(tm, rng));
    write_trial(trials.back(), tm, true, rng, x, y, b, batch);
  }
  return trials;
}

/// The trained network: leaky retanh RNN and a linear readout.
struct Model {
  nn::RNN<float, kInputs, kHidden, nn::ReTanh> rnn;
  nn::Dense<float, kHidden, kOutputs> readout;
  explicit Model(std::uint64_t seed, int hidden_noise_seed = 11)
      : rnn({.alpha = 0.1,
             .noise_std = 0.1,
             .noise_seed = std::uint64_t(hidden_noise_seed),
             .seed = seed}),
        readout({.seed = seed + 1}) {}
  std::vector<autodiff::Parameter<float>*> parameters() {
    auto p = rnn.parameters();
    for (auto* q : readout.parameters()) p.push_back(q);
    return p;
  }
};

/// One training step on a batch: forward, MSE over all steps and outputs, backward, clipping by
/// global norm, Adam. Returns the loss.
inline float train_step(Model& m, autodiff::Adam<float>& adam, autodiff::Tape<float>& tape,
                        const Eigen::MatrixXf& x, const Eigen::MatrixXf& y, Eigen::Index batch,
                        float clip = 1.0f) {
  tape.clear();
  const auto h = m.rnn.forward(tape, tape.input(x), batch);
  const auto loss = autodiff::mse(m.readout.forward(tape, h), tape.input(y));
  tape.backward(loss);
  adam.clip_grad_norm(clip);
  adam.step();
  adam.zero_grad();
  return loss.item();
}

/// Cueva's normalised error (percent) of outputs `out` against `y` on steps at or after each
/// trial's go cue (layout: step-major, `batch` trials).
inline double normalised_error(const Eigen::MatrixXf& out, const Eigen::MatrixXf& y,
                               const std::vector<Trial>& trials, const Timing& tm) {
  const Eigen::Index batch = Eigen::Index(trials.size());
  double total = 0;
  for (int d = 0; d < kOutputs; ++d) {
    double mean = 0, count = 0;
    for (Eigen::Index b = 0; b < batch; ++b)
      for (int t = trials[std::size_t(b)].go(tm); t < tm.steps; ++t, ++count) mean += y(d, t * batch + b);
    mean /= count;
    double err = 0, var = 0;
    for (Eigen::Index b = 0; b < batch; ++b) {
      for (int t = trials[std::size_t(b)].go(tm); t < tm.steps; ++t) {
        const double target = y(d, t * batch + b);
        err += (target - out(d, t * batch + b)) * (target - out(d, t * batch + b));
        var += (target - mean) * (target - mean);
      }
    }
    total += 100.0 * err / var;
  }
  return total / kOutputs;
}

/// Population activity h at the last step of the second delay (just before the go cue) on an
/// n x n grid theta_i = pi i / n, noiseless inputs, fixed delays of 25 steps.
/// The population activity on an n x n grid of (theta1, theta2) = (pi i / n, pi j / n), at the end
/// of each delay of a trial with the default delays: the first delay (only theta1 seen) and the
/// second (both seen, just before the go cue).
struct DelayGrids {
  geometry::AngleGrid first, second;
};

inline DelayGrids delay_activity(const Model& m, const Timing& tm, int n) {
  DelayGrids g;
  for (geometry::AngleGrid* grid : {&g.first, &g.second}) {
    grid->n1 = n;
    grid->n2 = n;
    grid->activity.resize(kHidden, n * n);
  }
  std::mt19937_64 unused(0);
  Eigen::MatrixXf x(kInputs, tm.steps), y(kOutputs, tm.steps);
  for (int j = 0; j < n; ++j) {
    for (int i = 0; i < n; ++i) {
      Trial tr;
      tr.theta1 = std::numbers::pi * i / n;
      tr.theta2 = std::numbers::pi * j / n;
      write_trial(tr, tm, false, unused, x, y, 0, 1);
      const Eigen::MatrixXf h = m.rnn.forward(x.leftCols(tr.go(tm)));
      g.first.activity.col(i + n * j) = h.col(tr.stim2_start(tm) - 1).cast<double>();
      g.second.activity.col(i + n * j) = h.col(h.cols() - 1).cast<double>();
    }
  }
  return g;
}

}  // namespace dendrite::examples::wm
