// SPDX-License-Identifier: MIT
// The working-memory example's pieces: the task generator's statistics, a short deterministic
// training run that must cut the loss, and the analysis pipeline on synthetic tori.
#include "support/alloc_counter.hpp"

#include <cmath>
#include <numbers>

#include <catch2/catch.hpp>

#include <dendrite/geometry/torus_generators.hpp>

#include "../../examples/working_memory/working_memory.hpp"

namespace wm = dendrite::examples::wm;
namespace geo = dendrite::geometry;
using Eigen::MatrixXf;

TEST_CASE("the task's inputs peak at the right line and its targets are the drawn angles",
          "[examples][working_memory]") {
  const wm::Timing tm;
  std::mt19937_64 rng(3);
  MatrixXf x, y;
  const Eigen::Index batch = 50;
  const auto trials = wm::make_batch(tm, batch, rng, x, y);
  REQUIRE(x.rows() == wm::kInputs);
  REQUIRE(x.cols() == tm.steps * batch);
  double mean_t1 = 0;
  for (Eigen::Index b = 0; b < batch; ++b) {
    const wm::Trial& tr = trials[std::size_t(b)];
    mean_t1 += tr.theta1 / double(batch);
    CHECK(tr.theta1 >= 0);
    CHECK(tr.theta1 < std::numbers::pi);
    CHECK(tr.delay1 >= tm.delay_min);
    CHECK(tr.delay2 <= tm.delay_max);
    const auto col = [&](int t) { return Eigen::Index(t) * batch + b; };
    // stimulus 1: the most active tuned line is the one nearest theta1 (phi_k = k pi / 32)
    Eigen::Index peak = 0;
    x.col(col(tm.stim1_start + 3)).head(wm::kTuned).maxCoeff(&peak);
    const double nearest = std::round(tr.theta1 / (std::numbers::pi / 32));
    const double dist = std::abs(double(peak) - nearest);
    // input noise (sd sqrt(0.1 r), 2.2 at the peak) can lift a line 2 away (mean 42.8) above it
    CHECK(std::min(dist, 32 - dist) <= 2.0);
    // silent before stimulus 1, during the delays; go line 0 before the go cue, 1 from it on
    CHECK(x.col(col(0)).norm() == 0.0f);
    CHECK(x.col(col(tr.stim2_start(tm) - 1)).norm() == 0.0f);
    CHECK(x(wm::kTuned, col(tr.go(tm) - 1)) == 0.0f);
    CHECK(x(wm::kTuned, col(tr.go(tm))) == 1.0f);
    CHECK(x(wm::kTuned, col(tm.steps - 1)) == 1.0f);
    // targets: zero before the go cue, (sin 2t1, cos 2t1, sin 2t2, cos 2t2) from it on
    CHECK(y.col(col(tr.go(tm) - 1)).norm() == 0.0f);
    CHECK(y(0, col(tr.go(tm))) == Approx(std::sin(2 * tr.theta1)).margin(1e-6));
    CHECK(y(1, col(tm.steps - 1)) == Approx(std::cos(2 * tr.theta1)).margin(1e-6));
    CHECK(y(2, col(tr.go(tm) + 5)) == Approx(std::sin(2 * tr.theta2)).margin(1e-6));
    CHECK(y(3, col(tr.go(tm))) == Approx(std::cos(2 * tr.theta2)).margin(1e-6));
  }
  CHECK(mean_t1 == Approx(std::numbers::pi / 2).margin(0.4));  // 50 uniform draws: sd 0.13
  // noiseless inputs peak exactly at the nearest line, at 50 / 50 = 1
  for (double theta : {0.0, 0.7, 1.9, 3.1}) {
    wm::Trial tr;
    tr.theta1 = theta;
    MatrixXf xn(wm::kInputs, tm.steps), yn(wm::kOutputs, tm.steps);
    wm::write_trial(tr, tm, false, rng, xn, yn, 0, 1);
    Eigen::Index peak = 0;
    const float top = xn.col(tm.stim1_start).head(wm::kTuned).maxCoeff(&peak);
    const double nearest = std::fmod(std::round(theta / (std::numbers::pi / 32)), 32.0);
    CHECK(double(peak) == nearest);
    CHECK(top == Approx(std::pow(0.5 * (std::cos(2 * (nearest * std::numbers::pi / 32 - theta)) + 1), 4)));
  }
  // the mean tuning: peak 50 at theta = phi_k, zero at theta = phi_k + pi / 2
  CHECK(wm::tuning(8, 8 * std::numbers::pi / 32) == Approx(50.0));
  CHECK(wm::tuning(8, 8 * std::numbers::pi / 32 + std::numbers::pi / 2) == Approx(0.0).margin(1e-12));
}

TEST_CASE("a short training run cuts the loss, the same way for the same seed",
          "[examples][working_memory][training]") {
  // Smaller than the example (fewer steps per trial, smaller batch) to keep the test quick.
  wm::Timing tm;
  tm.steps = 60;
  tm.delay_min = 5;
  tm.delay_max = 10;
  const auto run = [&] {
    wm::Model model(5);
    dendrite::autodiff::Adam<float> adam(model.parameters(), {.lr = 3e-3});
    dendrite::autodiff::Tape<float> tape;
    std::mt19937_64 rng(9);
    MatrixXf x, y;
    std::vector<float> losses;
    for (int it = 0; it < 150; ++it) {
      (void)wm::make_batch(tm, 16, rng, x, y);
      losses.push_back(wm::train_step(model, adam, tape, x, y, 16));
    }
    return losses;
  };
  const std::vector<float> a = run();
  const std::vector<float> b = run();
  CHECK(a == b);  // deterministic for a seed (noise, trials and initial weights)
  double first = 0, last = 0;
  for (int k = 0; k < 10; ++k) {
    first += a[std::size_t(k)] / 10.0;
    last += a[a.size() - 1 - std::size_t(k)] / 10.0;
  }
  INFO("mean loss of the first 10 steps " << first << ", of the last 10 " << last);
  CHECK(last < first / 3);  // measured: 0.160 -> 0.0187, 8.5x
}

TEST_CASE("the analysis tells a Clifford torus from a standard one on 16 x 16 grids",
          "[examples][working_memory][geometry]") {
  geo::TorusGridSpec spec;
  spec.units = 100;
  spec.noise = 0.05;
  const geo::TorusAnalysis c = geo::analyze_torus(geo::clifford_torus(spec), {.shuffles = 100});
  const geo::TorusAnalysis s = geo::analyze_torus(geo::standard_torus(spec), {.shuffles = 100});
  CHECK(c.classification == geo::TorusClass::Clifford);
  CHECK(s.classification == geo::TorusClass::Standard);
  CHECK(c.orthogonality < 0.1);
  CHECK(s.orthogonality > 0.3);
}
