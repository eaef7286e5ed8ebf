// SPDX-License-Identifier: MIT
// The CycleGAN example's pieces: the corridor data (the change is confined to the stated
// neurons and bins; the pre-sorting orders place cells), a gradcheck through a tiny generator +
// discriminator pair (the whole CycleGAN loss, not one block), and a short training run that is
// deterministic for its seed and lowers the cycle loss.
#include "support/alloc_counter.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include <dendrite/autodiff/gradcheck.hpp>

#include "../../examples/cyclegan_attention/cyclegan.hpp"
#include "support/random.hpp"

namespace cg = dendrite::examples::cyclegan;
namespace ad = dendrite::autodiff;
using Eigen::Index;

TEST_CASE("the corridor's change is confined to the stated neurons and bins", "[examples][cyclegan]") {
  cg::CorridorConfig cfg;
  cfg.trials = 40;
  const cg::Corridor d = cg::make_corridor(cfg);
  const int N = cfg.neurons, P = cfg.bins;
  REQUIRE(d.a.rows() == Index(N) * P);
  REQUIRE(d.b.cols() == cfg.trials);
  // the support: exactly the place cells with centres in [80, 130] cm, in bins with centres in
  // [90, 120) cm; the row order is the sorted order
  int changed_neurons = 0;
  for (int r = 0; r < N; ++r) {
    const double c = d.centre[std::size_t(d.order[std::size_t(r)])];
    const bool changed = c >= cfg.change_start_cm - 10 && c <= cfg.change_end_cm + 10;
    changed_neurons += changed;
    for (int p = 0; p < P; ++p) {
      const double x = d.bin_centre_cm(p);
      const bool in_bins = x >= cfg.change_start_cm && x < cfg.change_end_cm;
      CHECK(d.support(r, p) == ((changed && in_bins) ? 1.0 : 0.0));
    }
  }
  CHECK(changed_neurons > 0);
  // T multiplies the support by the gain and leaves every other entry exactly as it was
  const Eigen::MatrixXd m = dendrite::test::random_matrix(Index(N) * P, 3, 5);
  const Eigen::MatrixXd tm = d.transform(m);
  for (int r = 0; r < N; ++r) {
    for (int p = 0; p < P; ++p) {
      const Index row = Index(r) * P + p;
      for (Index k = 0; k < 3; ++k) {
        CHECK(tm(row, k) == (d.support(r, p) != 0 ? cfg.gain * m(row, k) : m(row, k)));
      }
    }
  }
  // domain B's mean differs from A's by about (gain - 1) x A's mean inside the support, and
  // only by noise outside
  const Eigen::VectorXd ma = d.a.rowwise().mean(), mb = d.b.rowwise().mean();
  double inside = 0, inside_a = 0, outside = 0, n_in = 0, n_out = 0;
  for (int r = 0; r < N; ++r) {
    for (int p = 0; p < P; ++p) {
      const Index row = Index(r) * P + p;
      if (d.support(r, p) != 0) {
        inside += mb(row) - ma(row);
        inside_a += ma(row);
        ++n_in;
      } else {
        outside += std::abs(mb(row) - ma(row));
        ++n_out;
      }
    }
  }
  CHECK(std::abs(inside / inside_a - (cfg.gain - 1)) < 0.3 * (cfg.gain - 1));
  CHECK(outside / n_out < 0.2 * inside / n_in);
  // pre-sorting: consecutive place cells in the sorted order have nearby fields far more often
  // than in the original order
  const auto near_pairs = [&](const std::vector<int>& order) {
    int near = 0, pairs = 0;
    int prev = -1;
    for (int n : order) {
      if (d.centre[std::size_t(n)] < 0) continue;
      if (prev >= 0) {
        ++pairs;
        near += std::abs(d.centre[std::size_t(n)] - d.centre[std::size_t(prev)]) < 20;
      }
      prev = n;
    }
    return double(near) / pairs;
  };
  std::vector<int> shuffled(d.order);
  std::mt19937_64 rng(9);
  double random_orders = 0;
  for (int k = 0; k < 200; ++k) {
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    random_orders += near_pairs(shuffled) / 200;
  }
  INFO("sorted " << near_pairs(d.order) << ", random orders " << random_orders);
  CHECK(near_pairs(d.order) > 0.8);
  CHECK(random_orders < 0.4);
}

TEST_CASE("AUROC is the Mann-Whitney statistic", "[examples][cyclegan]") {
  CHECK(cg::auroc({0.1, 0.2, 0.8, 0.9}, {0, 0, 1, 1}) == 1.0);
  CHECK(cg::auroc({0.9, 0.8, 0.2, 0.1}, {0, 0, 1, 1}) == 0.0);
  CHECK(cg::auroc({0.5, 0.5, 0.5}, {0, 1, 0}) == 0.5);
  CHECK(cg::auroc({0.1, 0.7, 0.4, 0.6}, {0, 1, 1, 0}) == 0.75);  // 3 of 4 pairs ordered
}

TEST_CASE("gradcheck through a tiny generator and discriminator pair", "[examples][cyclegan][gradcheck]") {
  cg::CycleGAN<double, 2, 3> gan({1, 8, 8}, 11);
  for (ad::Parameter<double>* p : gan.parameters()) {  // break symmetries of zero biases
    p->value += dendrite::test::random_matrix(p->rows(), p->cols(), 12 + std::uint64_t(p->size()), 0.1);
  }
  const Eigen::MatrixXd a = dendrite::test::random_matrix(64, 2, 13, 0.3);
  const Eigen::MatrixXd b = dendrite::test::random_matrix(64, 2, 14, 0.3);
  const auto check = [](const char* what, const ad::GradcheckResult& r) {
    INFO(what << ": error " << r.max_error << " at parameter " << r.parameter << " element "
              << r.element << " (analytic " << r.analytic << ", numeric " << r.numeric << ")");
    CHECK(r.checked > 900);
    CHECK(r.max_error < 1e-6);
  };
  check("generator loss", ad::gradcheck([&](ad::Tape<double>& t) {
    return gan.generator_loss(t, t.constant(a), t.constant(b));
  }, gan.parameters()));
  const Eigen::MatrixXd fa = dendrite::test::random_matrix(64, 2, 15, 0.3);
  const Eigen::MatrixXd fb = dendrite::test::random_matrix(64, 2, 16, 0.3);
  check("discriminator loss", ad::gradcheck([&](ad::Tape<double>& t) {
    return gan.discriminator_loss(t, t.constant(a), t.constant(b), fa, fb);
  }, gan.parameters()));
}

TEST_CASE("a short training run is deterministic for its seed and lowers the cycle loss", "[examples][cyclegan][training]") {
  cg::CorridorConfig cfg;
  cfg.neurons = 16;
  cfg.bins = 16;
  cfg.trials = 32;
  const cg::Corridor d = cg::make_corridor(cfg);
  const auto run = [&] {
    cg::CycleGAN<float, 4, 8> gan({1, 16, 16}, 3, 1e-3);
    ad::Tape<float> tape;
    std::vector<double> cycle;
    for (int it = 0; it < 60; ++it) {
      const Index k = (2 * it) % cfg.trials;
      const Eigen::MatrixXf a = d.a.middleCols(k, 2).cast<float>();
      const Eigen::MatrixXf b = d.b.middleCols((k + 7) % (cfg.trials - 1), 2).cast<float>();
      cycle.push_back(gan.train_step(tape, a, b).cycle);
    }
    return cycle;
  };
  const std::vector<double> first = run(), second = run();
  CHECK(first == second);
  double early = 0, late = 0;
  for (int i = 0; i < 10; ++i) {
    early += first[std::size_t(i)];
    late += first[first.size() - 1 - std::size_t(i)];
  }
  INFO("cycle loss, mean of the first 10 steps " << early / 10 << ", of the last 10 " << late / 10);
  CHECK(late < 0.5 * early);
}
