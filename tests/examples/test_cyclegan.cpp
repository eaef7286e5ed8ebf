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

namespace {

/// AUROC by ranks (mid-ranks for ties): (sum of the positives' ranks - n1 (n1 + 1) / 2) / (n1 n0),
/// written apart from cg::auroc's pair count.
double auroc_by_ranks(const Eigen::VectorXd& score, const Eigen::MatrixXd& support) {
  const Index n = score.size();
  std::vector<Index> idx(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) idx[std::size_t(i)] = i;
  std::sort(idx.begin(), idx.end(), [&](Index i, Index j) { return score(i) < score(j); });
  std::vector<double> rank(static_cast<std::size_t>(n));
  for (Index i = 0; i < n;) {
    Index j = i;
    while (j + 1 < n && score(idx[std::size_t(j + 1)]) == score(idx[std::size_t(i)])) ++j;
    for (Index k = i; k <= j; ++k) rank[std::size_t(idx[std::size_t(k)])] = 0.5 * double(i + j) + 1;
    i = j + 1;
  }
  double n1 = 0, sum = 0;
  for (Index e = 0; e < n; ++e) {
    if (support(e / support.cols(), e % support.cols()) != 0) {
      ++n1;
      sum += rank[std::size_t(e)];
    }
  }
  const double n0 = double(n) - n1;
  return (sum - n1 * (n1 + 1) / 2) / (n1 * n0);
}

/// Mean over entry pairs (e, f), e != f, both in `mask`, of the correlation across trials.
double mean_pair_correlation(const Eigen::MatrixXd& x, const Eigen::MatrixXd& support) {
  std::vector<Index> rows;
  for (Index e = 0; e < x.rows(); ++e) {
    if (support(e / support.cols(), e % support.cols()) != 0) rows.push_back(e);
  }
  double sum = 0, pairs = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Eigen::VectorXd u = x.row(rows[i]).transpose().array() - x.row(rows[i]).mean();
    for (std::size_t j = i + 1; j < rows.size(); ++j) {
      const Eigen::VectorXd v = x.row(rows[j]).transpose().array() - x.row(rows[j]).mean();
      sum += u.dot(v) / (u.norm() * v.norm());
      ++pairs;
    }
  }
  return sum / pairs;
}

}  // namespace

TEST_CASE("each change type has its own support and hides from the simple maps it should",
          "[examples][cyclegan]") {
  cg::CorridorConfig cfg;
  cfg.neurons = 29;  // odd sizes
  cfg.bins = 31;
  cfg.trials = 301;
  const auto aurocs = [](const cg::Corridor& d) {
    std::vector<std::pair<std::string, double>> out;
    for (const cg::SimpleMap& m : cg::simple_maps(d.a, d.b)) {
      out.emplace_back(m.name, auroc_by_ranks(m.score, d.support));
      INFO(m.name);
      CHECK(cg::auroc(cg::as_map(m.score), [&] {  // the two AUROCs agree
        std::vector<int> l;
        for (Index r = 0; r < d.support.rows(); ++r)
          for (Index p = 0; p < d.support.cols(); ++p) l.push_back(d.support(r, p) != 0);
        return l;
      }()) == Approx(out.back().second).epsilon(1e-12));
    }
    return out;
  };
  const auto get = [](const std::vector<std::pair<std::string, double>>& v, const std::string& n) {
    for (const auto& [name, x] : v)
      if (name == n) return x;
    return -1.0;
  };
  const Eigen::MatrixXd gain_support = cg::make_corridor(cfg).support;
  REQUIRE(gain_support.sum() > 10);

  SECTION("variability at constant mean: the variance ratio sees it, the difference of means not") {
    cfg.change = cg::Change::Variability;
    const cg::Corridor d = cg::make_corridor(cfg);
    CHECK(d.support == gain_support);  // same cells and bins as the gain change
    const Eigen::VectorXd va = (d.a.colwise() - d.a.rowwise().mean()).rowwise().squaredNorm();
    const Eigen::VectorXd vb = (d.b.colwise() - d.b.rowwise().mean()).rowwise().squaredNorm();
    double in = 0, out = 0, n_in = 0, n_out = 0;
    for (Index e = 0; e < va.size(); ++e) {
      const bool s = d.support(e / cfg.bins, e % cfg.bins) != 0;
      (s ? in : out) += std::log(vb(e) / va(e));
      (s ? n_in : n_out) += 1;
    }
    // variances x gain^2 inside (log 6.25 = 1.83), unchanged outside; A and B are independent
    // draws, so the log ratio of one entry scatters by about 2 / sqrt(trials)
    CHECK(in / n_in == Approx(2 * std::log(cfg.gain)).margin(0.2));
    CHECK(std::abs(out / n_out) < 0.05);
    const auto r = aurocs(d);
    CHECK(get(r, "|log(var B / var A)|") > 0.95);
    // the changed cells are active ones, so any map that grows with activity or its noise
    // scores above 0.5 (mean(A) knows nothing of the change); the difference of means does no
    // better than that, and the t statistic, which divides the noise out, less
    CHECK(get(r, "|mean(B) - mean(A)|") < get(r, "mean(A)") + 0.05);
    CHECK(get(r, "|Welch t|") < 0.65);
  }
  SECTION("correlation at constant mean and variance: only the correlation map sees it") {
    cfg.change = cg::Change::Correlation;
    const cg::Corridor d = cg::make_corridor(cfg);
    CHECK(d.support == gain_support);
    CHECK(mean_pair_correlation(d.b, d.support) == Approx(cfg.correlation).margin(0.1));
    CHECK(std::abs(mean_pair_correlation(d.a, d.support)) < 0.15);
    const auto r = aurocs(d);
    CHECK(get(r, "change in mean squared correlation") > 0.95);
    CHECK(get(r, "|mean(B) - mean(A)|") < get(r, "mean(A)") + 0.05);  // see above
    CHECK(get(r, "|Welch t|") < 0.65);
    CHECK(get(r, "|log(var B / var A)|") < 0.65);
  }
  SECTION("a field shift in quiet cells: its support is where a quiet place cell's rate moves") {
    cfg.change = cg::Change::QuietShift;
    const cg::Corridor d = cg::make_corridor(cfg);
    REQUIRE(d.support.sum() > 5);
    for (Index r = 0; r < d.support.rows(); ++r) {
      if (d.support.row(r).sum() == 0) continue;
      const double c = d.centre[std::size_t(d.order[std::size_t(r)])];
      INFO("row " << r << ", field centre " << c);
      CHECK(c >= 0);  // a place cell
      // the entries lie within a field width and a shift of the old or new centre
      for (Index p = 0; p < d.support.cols(); ++p) {
        if (d.support(r, p) == 0) continue;
        const double x = d.bin_centre_cm(int(p));
        CHECK(x > c - 3 * 12.0);
        CHECK(x < c + cfg.shift_cm + 3 * 12.0);
      }
    }
    // low-activity cells: activity alone does not point at them
    const auto r = aurocs(d);
    CHECK(get(r, "mean(A)") < 0.7);
  }
  SECTION("a gain far from the reward zone moves the support with it") {
    cfg.change_start_cm = 20;
    cfg.change_end_cm = 50;
    const cg::Corridor d = cg::make_corridor(cfg);
    REQUIRE(d.support.sum() > 5);
    for (Index r = 0; r < d.support.rows(); ++r) {
      for (Index p = 0; p < d.support.cols(); ++p) {
        if (d.support(r, p) == 0) continue;
        CHECK(d.bin_centre_cm(int(p)) >= 20);
        CHECK(d.bin_centre_cm(int(p)) < 50);
      }
    }
  }
}

TEST_CASE("the CycleGAN comparison ranks the masks and the simple maps the same way on a tiny run",
          "[examples][cyclegan][training]") {
  cg::CorridorConfig cfg;
  cfg.neurons = 16;
  cfg.bins = 16;
  cfg.trials = 40;
  const cg::Corridor d = cg::make_corridor(cfg);
  const Index n_train = 32;
  const auto run = [&] {
    cg::CycleGAN<float, 4, 8> gan({1, 16, 16}, 5, 1e-3);
    ad::Tape<float> tape;
    for (int it = 0; it < 20; ++it) {
      const Index k = (2 * it) % (n_train - 1);
      (void)gan.train_step(tape, d.a.middleCols(k, 2).cast<float>(),
                           d.b.middleCols((k + 5) % (n_train - 1), 2).cast<float>());
    }
    return cg::evaluate(gan, d, n_train);
  };
  const cg::Evaluation first = run(), second = run();
  const auto ranking = [](const cg::Evaluation& e) {
    std::vector<std::pair<double, std::string>> all = {
        {e.auroc_ab, "G_AB mask"}, {e.auroc_ba, "G_BA mask"}, {e.auroc_d, "D_B map"}};
    for (const auto& [name, v] : e.simple) all.emplace_back(v, name);
    std::sort(all.begin(), all.end());
    return all;
  };
  CHECK(ranking(first) == ranking(second));  // the same AUROCs, hence the same order
  // the simple maps' AUROCs are those of maps computed here, on the held-out trials only
  const Eigen::MatrixXd a = d.a.rightCols(cfg.trials - n_train), b = d.b.rightCols(cfg.trials - n_train);
  Eigen::VectorXd diff(a.rows()), post(a.rows()), pre(a.rows());
  for (Index e = 0; e < a.rows(); ++e) {
    double sa = 0, sb = 0;
    for (Index t = 0; t < a.cols(); ++t) {
      sa += a(e, t);
      sb += b(e, t);
    }
    pre(e) = sa / double(a.cols());
    post(e) = sb / double(b.cols());
    diff(e) = std::abs(post(e) - pre(e));
  }
  CHECK(first.simple_auroc("|mean(B) - mean(A)|") ==
        Approx(auroc_by_ranks(diff, d.support)).epsilon(1e-12));
  CHECK(first.simple_auroc("mean(B)") == Approx(auroc_by_ranks(post, d.support)).epsilon(1e-12));
  CHECK(first.simple_auroc("mean(A)") == Approx(auroc_by_ranks(pre, d.support)).epsilon(1e-12));
  // and the masks' AUROCs those of the masks, which lie in (0, 1) after the gate's sigmoid
  CHECK(first.auroc_ab == Approx(auroc_by_ranks(first.mask_ab, d.support)).epsilon(1e-12));
  CHECK(first.mask_ab.minCoeff() > 0);
  CHECK(first.mask_ab.maxCoeff() < 1);
  CHECK(first.best_simple().second == std::max({first.simple_auroc("|mean(B) - mean(A)|"),
                                                 first.simple_auroc("|Welch t|"),
                                                 first.simple_auroc("mean(B)"),
                                                 first.simple_auroc("mean(A)"),
                                                 first.simple_auroc("|log(var B / var A)|"),
                                                 first.simple_auroc("change in mean squared correlation")}));
}
