// SPDX-License-Identifier: MIT
// Working-memory reproduction: train the two-orientation leaky RNN with dendrite's tape (BPTT,
// Adam) and look for the torus in its delay activity, early in training and at the end.
#include "support/alloc_counter.hpp"

#include <array>
#include <chrono>
#include <limits>
#include <iostream>
#include <numbers>

#include <dendrite/geometry/pca.hpp>
#include <dendrite/geometry/torus_generators.hpp>

#include "../common/examples.hpp"
#include "../common/progress.hpp"
#include "working_memory.hpp"
#include <dendrite/core/eigen_instantiations.hpp>  // the decompositions, compiled once

namespace dendrite::examples {

namespace {

struct Stage {
  std::string name;
  int step = 0;
  double error = 0;
  geometry::AngleGrid grid;          ///< end of the second delay
  geometry::TorusAnalysis torus;     ///< of grid
  geometry::AngleGrid grid1;         ///< end of the first delay (theta2 not yet seen)
  geometry::TorusAnalysis torus1;    ///< of grid1
  double theta1_share2 = 0;          ///< of grid: share of the variance theta1 explains
  double theta1_share1 = 0;          ///< of grid1
};

/// Share of the grid's variance explained by theta1 alone: the variance of the theta1-marginal
/// means (over theta2) over the total variance.
double theta1_share(const geometry::AngleGrid& g) {
  const Eigen::VectorXd mean = g.activity.rowwise().mean();
  double between = 0, total = 0;
  for (Eigen::Index i = 0; i < g.n1; ++i) {
    Eigen::VectorXd m = Eigen::VectorXd::Zero(g.activity.rows());
    for (Eigen::Index j = 0; j < g.n2; ++j) m += g.point(i, j);
    between += (m / double(g.n2) - mean).squaredNorm() * double(g.n2);
  }
  total = (g.activity.colwise() - mean).squaredNorm();
  return total > 0 ? between / total : 0.0;
}

double held_out_error(const wm::Model& m, const wm::Timing& tm, int trials, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Eigen::MatrixXf x, y;
  const auto tr = wm::make_batch(tm, trials, rng, x, y);
  Eigen::MatrixXf out(wm::kOutputs, x.cols());
  Eigen::MatrixXf xt(wm::kInputs, tm.steps);
  for (int b = 0; b < trials; ++b) {
    for (int t = 0; t < tm.steps; ++t) xt.col(t) = x.col(Eigen::Index(t) * trials + b);
    const Eigen::MatrixXf o = m.readout.forward(m.rnn.forward(xt));
    for (int t = 0; t < tm.steps; ++t) out.col(Eigen::Index(t) * trials + b) = o.col(t);
  }
  return wm::normalised_error(out, y, tr, tm);
}

Stage analyse(const wm::Model& m, const wm::Timing& tm, const std::string& name, int step) {
  Stage s;
  s.name = name;
  s.step = step;
  s.error = held_out_error(m, tm, 256, 777);
  auto grids = wm::delay_activity(m, tm, 16);
  s.grid = std::move(grids.second);
  s.grid1 = std::move(grids.first);
  s.torus = geometry::analyze_torus(s.grid, {.shuffles = 200});
  s.torus1 = geometry::analyze_torus(s.grid1, {.shuffles = 200});
  s.theta1_share2 = theta1_share(s.grid);
  s.theta1_share1 = theta1_share(s.grid1);
  return s;
}

/// The torus statistics under synthetic families with the network's sampling (16 x 16 grid),
/// units (100), scale and estimated noise: what each statistic looks like on a Clifford torus, a
/// standard torus, a flat torus with radii 1 : 0.3 and a non-torus (a Gaussian cloud in 4
/// dimensions with the Clifford torus's variance), over `seeds` draws.
struct NullRow {
  std::string family;
  std::vector<double> a1, a2, orth, ratio;
  int clifford = 0, flat = 0, standard = 0, neither = 0;
};

std::vector<NullRow> torus_nulls(const Stage& net, int seeds) {
  const auto& t = net.torus;
  const double r = std::sqrt(t.theta1_rings.mean_radius * t.theta2_rings.mean_radius);
  const geometry::TorusTestOptions opt{.shuffles = 50, .radius_surrogates = 20};
  std::vector<NullRow> rows = {{"Clifford torus", {}, {}, {}, {}},
                               {"standard torus", {}, {}, {}, {}},
                               {"flat torus, radii 1 : 0.3", {}, {}, {}, {}},
                               {"non-torus (4-D Gaussian cloud)", {}, {}, {}, {}}};
  for (int k = 0; k < seeds; ++k) {
    const geometry::TorusGridSpec spec{.units = net.grid.activity.rows(), .n1 = net.grid.n1,
                                       .n2 = net.grid.n2, .noise = t.noise_sd,
                                       .seed = 9000 + std::uint64_t(k)};
    const geometry::AngleGrid grids[4] = {
        geometry::clifford_torus(spec, r, r), geometry::standard_torus(spec, r, r / 2),
        geometry::clifford_torus(spec, r, 0.3 * r),
        geometry::gaussian_cloud(spec, 4, r * std::sqrt(0.5))};
    for (std::size_t f = 0; f < 4; ++f) {
      auto seeded = opt;
      seeded.seed = spec.seed;
      const auto a = geometry::analyze_torus(grids[f], seeded);
      NullRow& row = rows[f];
      row.a1.push_back(a.theta1_rings.mean_largest_angle * 180 / std::numbers::pi);
      row.a2.push_back(a.theta2_rings.mean_largest_angle * 180 / std::numbers::pi);
      row.orth.push_back(a.orthogonality);
      row.ratio.push_back(a.radius_ratio);
      row.clifford += a.classification == geometry::TorusClass::Clifford;
      row.flat += a.classification == geometry::TorusClass::FlatUnequal;
      row.standard += a.classification == geometry::TorusClass::Standard;
      row.neither += a.classification == geometry::TorusClass::Neither;
    }
  }
  return rows;
}

double mean_of(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m += x;
  return m / double(v.size());
}

/// The synthetic family whose mean statistics are nearest the network's, each statistic scaled
/// by the standard deviation of its mean across the families (log for the radius ratio).
std::string nearest_family(const geometry::TorusAnalysis& t, const std::vector<NullRow>& nulls) {
  const auto stats = [](const NullRow& n) {
    return std::array<double, 4>{mean_of(n.a1), mean_of(n.a2), mean_of(n.orth),
                                 std::log(mean_of(n.ratio))};
  };
  const std::array<double, 4> net = {t.theta1_rings.mean_largest_angle * 180 / std::numbers::pi,
                                     t.theta2_rings.mean_largest_angle * 180 / std::numbers::pi,
                                     t.orthogonality, std::log(t.radius_ratio)};
  std::array<double, 4> scale{};
  for (std::size_t k = 0; k < 4; ++k) {
    double m = 0, q = 0;
    for (const NullRow& n : nulls) m += stats(n)[k] / double(nulls.size());
    for (const NullRow& n : nulls) q += (stats(n)[k] - m) * (stats(n)[k] - m) / double(nulls.size());
    scale[k] = std::max(std::sqrt(q), 1e-12);
  }
  std::string best;
  double best_d = std::numeric_limits<double>::infinity();
  for (const NullRow& n : nulls) {
    double d = 0;
    for (std::size_t k = 0; k < 4; ++k) d += std::pow((net[k] - stats(n)[k]) / scale[k], 2);
    if (d < best_d) {
      best_d = d;
      best = n.family;
    }
  }
  return best;
}

}  // namespace

void run_working_memory(Report& report, const Options& options) {
  const wm::Timing tm;
  const int steps = options.smoke ? 20 : (options.full ? 12000 : 2500);
  const int checkpoint = options.smoke ? 10 : (options.full ? 200 : 50);
  const Eigen::Index batch = 64;
  std::cout << "[working memory] leaky retanh RNN, 100 units, " << steps
            << " training steps of 64 fresh trials (" << tm.steps << " time steps each)\n";
  wm::Model model(2021);
  autodiff::Adam<float> adam(model.parameters(), {.lr = 1e-3});
  autodiff::Tape<float> tape;
  std::mt19937_64 rng(42);
  Eigen::MatrixXf x, y;
  std::vector<double> curve_t, curve_loss;
  std::vector<Stage> stages;
  double smooth = 0, analysis_seconds = 0;  // the analyses inside the loop are not training
  const auto t0 = std::chrono::steady_clock::now();
  {
    Progress bar("training", steps, "steps");
    for (int it = 1; it <= steps; ++it) {
      (void)wm::make_batch(tm, batch, rng, x, y);
      const float loss = wm::train_step(model, adam, tape, x, y, batch);
      smooth = it == 1 ? loss : 0.98 * smooth + 0.02 * loss;
      if (it % 10 == 0) {
        curve_t.push_back(it);
        curve_loss.push_back(smooth);
      }
      bar.update(it, "loss " + fmt(smooth));
      if (it == checkpoint || it == steps / 2) {
        bar.finish();
        const std::string when = it == checkpoint ? "early" : "middle";
        const auto a0 = std::chrono::steady_clock::now();
        stages.push_back(analyse(model, tm, when + " (step " + std::to_string(it) + ")", it));
        analysis_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - a0).count();
      }
    }
  }
  const double train_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() - analysis_seconds;
  stages.push_back(analyse(model, tm, "end (step " + std::to_string(steps) + ")", steps));
  const Stage& last = stages.back();
  std::cout << "  trained in " << fmt(train_seconds) << " s; normalised error " << fmt(last.error)
            << "%; delay 2 activity: " << geometry::to_string(last.torus.classification)
            << " (radius ratio " << fmt(last.torus.radius_ratio) << ", p " << fmt(last.torus.radius_ratio_p)
            << "); delay 1: " << geometry::to_string(last.torus1.classification) << " (theta1 explains "
            << fmt(last.theta1_share1) << " of the variance)\n";

  report.section("Working memory of two orientations (Cueva et al. 2021)",
                 "A leaky retanh RNN (100 units, dt/tau = 0.1, unit noise 0.1 in training) sees two "
                 "oriented stimuli through 32 tuned input lines, separated and followed by random "
                 "delays, and must report sin/cos of both doubled angles after a go cue. Trained "
                 "with dendrite's reverse-mode tape (BPTT over 120 steps), Adam 1e-3, clipping at "
                 "norm 1, 64 fresh random trials per step. Analysis: the population activity at the "
                 "end of the second delay on a 16 x 16 grid of (theta1, theta2), its PCA spectrum, "
                 "2-D projections on the top components, and the torus tests (parallelism of the "
                 "theta1- and theta2-rings, orthogonality of their planes, shuffle p-values, 200 "
                 "shuffles; the radius ratio against 100 equal-radii surrogates with the grid's "
                 "noise), early in training, in the middle and at the end; and the same at the end "
                 "of the first delay, where only theta1 has been seen and the activity should be a "
                 "ring.");
  report.line_plot("wm_loss", "Training loss (MSE, smoothed)", {{"loss", curve_t, curve_loss}},
                   {.xlabel = "training step", .ylabel = "MSE", .logy = true});
  std::vector<std::vector<std::string>> rows = {
      {"stage", "delay", "normalised error (%)", "variance in PCs 1-4", "theta1 share of variance",
       "theta1 rings: mean angle (deg)", "theta2 rings: mean angle (deg)", "orthogonality (p)",
       "radius ratio (p)", "classification"}};
  std::vector<Series> spectra;
  const auto deg = [](double rad) { return fmt(rad * 180 / std::numbers::pi); };
  for (const Stage& s : stages) {
    for (int delay = 1; delay <= 2; ++delay) {
      const auto& t = delay == 1 ? s.torus1 : s.torus;
      rows.push_back({s.name, delay == 1 ? "1 (theta1 seen)" : "2 (both seen)", fmt(s.error),
                      fmt(t.explained_variance_ratio.head(4).sum()),
                      fmt(delay == 1 ? s.theta1_share1 : s.theta1_share2),
                      deg(t.theta1_rings.mean_largest_angle) + " (p " + fmt(t.theta1_rings.p_value) + ")",
                      deg(t.theta2_rings.mean_largest_angle) + " (p " + fmt(t.theta2_rings.p_value) + ")",
                      fmt(t.orthogonality) + " (p " + fmt(t.orthogonality_p) + ")",
                      fmt(t.radius_ratio) + " (p " + fmt(t.radius_ratio_p) + ")",
                      geometry::to_string(t.classification)});
    }
    const auto& t = s.torus;
    Series sp{s.name, {}, {}};
    for (Eigen::Index k = 0; k < std::min<Eigen::Index>(10, t.explained_variance_ratio.size()); ++k) {
      sp.x.push_back(double(k + 1));
      sp.y.push_back(t.explained_variance_ratio(k));
    }
    spectra.push_back(sp);
  }
  report.table("wm_torus", rows);
  report.paragraph("Decision of the torus test at the end of the second delay: " + last.torus.reason);
  {
    const int seeds = options.smoke ? 2 : 10;
    const auto nulls = torus_nulls(last, seeds);
    const auto& t = last.torus;
    std::vector<std::vector<std::string>> nrows = {
        {"grid", "theta1 rings: mean angle (deg)", "theta2 rings: mean angle (deg)", "orthogonality",
         "radius ratio", "verdicts (Clifford / flat unequal / standard / neither)"}};
    nrows.push_back({"the network, end of delay 2", fmt(t.theta1_rings.mean_largest_angle * 180 / std::numbers::pi),
                     fmt(t.theta2_rings.mean_largest_angle * 180 / std::numbers::pi), fmt(t.orthogonality),
                     fmt(t.radius_ratio), geometry::to_string(t.classification)});
    for (const NullRow& n : nulls) {
      nrows.push_back({n.family, mean_sd(n.a1), mean_sd(n.a2), mean_sd(n.orth), mean_sd(n.ratio),
                       std::to_string(n.clifford) + " / " + std::to_string(n.flat) + " / " +
                           std::to_string(n.standard) + " / " + std::to_string(n.neither)});
    }
    report.table("wm_torus_nulls", nrows);
    report.paragraph("Each statistic under synthetic grids with the network's sampling (16 x 16), units "
                     "(100), scale (radius " + fmt(std::sqrt(t.theta1_rings.mean_radius * t.theta2_rings.mean_radius)) +
                     ") and estimated noise (sd " + fmt(t.noise_sd) + "), mean ± sd over " + std::to_string(seeds) +
                     " draws. Nearest family to the network: " + nearest_family(t, nulls) +
                     " (squared differences of the four statistics' means, each scaled by that "
                     "statistic's spread across the families).");
  }
  report.paragraph("At the end of the first delay only theta1 has been shown: theta2 cannot move the "
                   "activity, which is a ring (theta1 explains " + fmt(last.theta1_share1) +
                   " of its variance); the test says: " + last.torus1.reason);
  report.line_plot("wm_pca_spectrum", "PCA spectrum of the delay activity (16 x 16 grid)", spectra,
                   {.xlabel = "component", .ylabel = "fraction of variance", .logy = true});
  for (const Stage& s : stages) {
    geometry::PCA<double> pca;
    pca.fit(s.grid.activity);
    const Eigen::MatrixXd z = pca.transform(s.grid.activity);  // components x points
    std::vector<double> p1, p2, p3, p4, th1, th2;
    for (Eigen::Index j = 0; j < s.grid.n2; ++j) {
      for (Eigen::Index i = 0; i < s.grid.n1; ++i) {
        const Eigen::Index c = i + s.grid.n1 * j;
        p1.push_back(z(0, c));
        p2.push_back(z(1, c));
        p3.push_back(z.rows() > 2 ? z(2, c) : 0.0);
        p4.push_back(z.rows() > 3 ? z(3, c) : 0.0);
        th1.push_back(std::numbers::pi * double(i) / double(s.grid.n1));
        th2.push_back(std::numbers::pi * double(j) / double(s.grid.n2));
      }
    }
    const std::string tag = s.name.substr(0, s.name.find(' '));  // early, middle, end
    report.scatter("wm_pc12_theta1_" + tag, s.name + ": PC1 vs PC2, coloured by theta1", p1, p2, th1,
                   "theta1", std::numbers::pi, {.xlabel = "PC1", .ylabel = "PC2"});
    report.scatter("wm_pc34_theta2_" + tag, s.name + ": PC3 vs PC4, coloured by theta2", p3, p4, th2,
                   "theta2", std::numbers::pi, {.xlabel = "PC3", .ylabel = "PC4"});
  }
  report.summary("working memory normalised error", fmt(last.error) + " %",
                 "held-out trials after " + std::to_string(steps) + " steps (target < 10 %); early: " +
                     fmt(stages.front().error) + " %");
  std::string over_training;
  for (const Stage& s : stages) {
    over_training += (over_training.empty() ? "" : "; ") + s.name.substr(0, s.name.find(' ')) +
                     ": " + geometry::to_string(s.torus.classification);
  }
  report.summary("working memory torus", geometry::to_string(last.torus.classification),
                 "end of delay 2 over training: " + over_training + "; end of delay 1: " +
                     geometry::to_string(last.torus1.classification));
  report.summary("working memory training", fmt(1e3 * train_seconds / steps) + " ms/step",
                 "forward + backward + Adam, batch 64, 120 time steps");
}

}  // namespace dendrite::examples
