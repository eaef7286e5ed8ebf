// SPDX-License-Identifier: MIT
// CycleGAN reproduction in miniature (Li et al. 2021): map pre-learning to post-learning
// population activity of a synthetic corridor task and read where the attention masks put
// their mass. Trained with dendrite's conv/attention blocks and tape.
#include "support/alloc_counter.hpp"

#include <chrono>
#include <iostream>

#include "../common/examples.hpp"
#include "../common/progress.hpp"
#include "cyclegan.hpp"
#include <dendrite/core/eigen_instantiations.hpp>  // the decompositions, compiled once

namespace dendrite::examples {

namespace {

using cyclegan::Corridor;
using Eigen::Index;
using MatF = Eigen::MatrixXf;

double mse(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  return (a - b).squaredNorm() / double(a.size());
}

/// Row-major neurons x bins values of a (neurons bins) vector in C order.
std::vector<double> as_map(const Eigen::VectorXd& v) { return {v.data(), v.data() + v.size()}; }

struct Evaluation {
  double g_error = 0, g_baseline = 0, f_error = 0, f_baseline = 0;
  double cycle_a = 0, cycle_b = 0, change_size = 0;
  Eigen::VectorXd mask_ab, mask_ba, d_map;  // mean over trials, (neurons bins)
  double auroc_ab = 0, auroc_ba = 0, auroc_d = 0;
  // the simplest maps that could find the change, from the same held-out trials, no GAN
  double auroc_diff = 0, auroc_post = 0, auroc_pre = 0, auroc_t = 0;
  Eigen::MatrixXd example_in, example_out;  // first test trial: A and G_AB(A)
};

template <class Gan>
Evaluation evaluate(Gan& gan, const Corridor& d, Index first_test) {
  Evaluation e;
  const nn::MapShape shape = gan.shape();
  const Index n_test = d.a.cols() - first_test;
  const Eigen::MatrixXd a = d.a.rightCols(n_test), b = d.b.rightCols(n_test);
  const nn::Maps<float> ma{a.cast<float>(), shape}, mb{b.cast<float>(), shape};
  const nn::Maps<float> gab = gan.g_ab.forward(ma);
  e.mask_ab = gan.g_ab.mask().data.template cast<double>().rowwise().mean();
  const nn::Maps<float> gba = gan.g_ba.forward(mb);
  e.mask_ba = gan.g_ba.mask().data.template cast<double>().rowwise().mean();
  const Eigen::MatrixXd ta = d.transform(a);
  Eigen::MatrixXd tinv_b = b;  // T^-1: divide the support by the gain
  for (Index r = 0; r < d.support.rows(); ++r) {
    for (Index p = 0; p < d.support.cols(); ++p) {
      if (d.support(r, p) != 0) tinv_b.row(r * d.support.cols() + p) /= d.cfg.gain;
    }
  }
  e.g_error = mse(gab.data.cast<double>(), ta);
  e.g_baseline = mse(a, ta);
  e.f_error = mse(gba.data.cast<double>(), tinv_b);
  e.f_baseline = mse(b, tinv_b);
  e.cycle_a = mse(gan.g_ba.forward(gab).data.template cast<double>(), a);
  e.cycle_b = mse(gan.g_ab.forward(gba).data.template cast<double>(), b);
  e.change_size = e.g_baseline;
  e.example_in = a.col(0);
  e.example_out = gab.data.col(0).cast<double>();
  // D_B's spatial attention on real B maps, each patch cell spread over the pixels it covers
  (void)gan.d_b.forward(mb);
  const auto& dm = gan.d_b.template get<5>().map();
  const Eigen::VectorXd dmean = dm.data.template cast<double>().rowwise().mean();
  const Index fh = shape.height / dm.shape.height, fw = shape.width / dm.shape.width;
  e.d_map.resize(shape.height * shape.width);
  for (Index r = 0; r < shape.height; ++r) {
    for (Index p = 0; p < shape.width; ++p) e.d_map(r * shape.width + p) = dmean((r / fh) * dm.shape.width + p / fw);
  }
  std::vector<int> label;
  for (Index r = 0; r < d.support.rows(); ++r) {
    for (Index p = 0; p < d.support.cols(); ++p) label.push_back(d.support(r, p) != 0);
  }
  e.auroc_ab = cyclegan::auroc(as_map(e.mask_ab), label);
  e.auroc_ba = cyclegan::auroc(as_map(e.mask_ba), label);
  e.auroc_d = cyclegan::auroc(as_map(e.d_map), label);
  // per cell (neuron, bin): |mean(B) - mean(A)|, mean(B), mean(A), and |Welch's t|
  const Eigen::VectorXd ma_ = a.rowwise().mean(), mb_ = b.rowwise().mean();
  const Eigen::VectorXd va = (a.colwise() - ma_).rowwise().squaredNorm() / double(std::max<Index>(1, n_test - 1));
  const Eigen::VectorXd vb = (b.colwise() - mb_).rowwise().squaredNorm() / double(std::max<Index>(1, n_test - 1));
  const Eigen::VectorXd diff = (mb_ - ma_).cwiseAbs();
  const Eigen::VectorXd t =
      diff.array() / ((va + vb).array() / double(n_test) + 1e-12).sqrt();
  e.auroc_diff = cyclegan::auroc(as_map(diff), label);
  e.auroc_post = cyclegan::auroc(as_map(mb_), label);
  e.auroc_pre = cyclegan::auroc(as_map(ma_), label);
  e.auroc_t = cyclegan::auroc(as_map(t), label);
  return e;
}

Series per_bin(const std::string& label, const Eigen::VectorXd& map, const Corridor& d) {
  Series s{label, {}, {}};
  for (int p = 0; p < d.cfg.bins; ++p) {
    double m = 0;
    for (int r = 0; r < d.cfg.neurons; ++r) m += map(Index(r) * d.cfg.bins + p) / d.cfg.neurons;
    s.x.push_back(d.bin_centre_cm(p));
    s.y.push_back(m);
  }
  return s;
}

}  // namespace

void run_cyclegan(Report& report, const Options& options) {
  cyclegan::CorridorConfig cfg;
  int steps = 1500, batch = 4;
  double lr = 5e-4;
  if (options.smoke) {
    cfg.neurons = cfg.bins = 16;
    cfg.trials = 24;
    steps = 10;
  } else if (options.full) {
    cfg.neurons = cfg.bins = 64;
    cfg.trials = 512;
    steps = 6000;
    lr = 2e-4;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const Corridor d = cyclegan::make_corridor(cfg);
  const Index n_train = Index(cfg.trials) * 4 / 5;
  const nn::MapShape shape{1, cfg.neurons, cfg.bins};
  std::cout << "[cyclegan] " << cfg.neurons << " neurons x " << cfg.bins << " position bins, "
            << cfg.trials << " trials per domain (" << n_train << " for training), " << steps
            << " steps of batch " << batch << "\n";
  cyclegan::CycleGAN<float> gan(shape, 7, lr);
  autodiff::Tape<float> tape;
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<Index> pick(0, n_train - 1);
  MatF a(d.a.rows(), batch), b(d.b.rows(), batch);
  std::vector<double> it_x, l_gan, l_cycle, l_idt, l_d;
  cyclegan::Losses smooth;
  {
    Progress bar("training", steps, "steps");
    for (int it = 1; it <= steps; ++it) {
      for (int k = 0; k < batch; ++k) {  // unpaired: independent shuffles of A and B
        a.col(k) = d.a.col(pick(rng)).cast<float>();
        b.col(k) = d.b.col(pick(rng)).cast<float>();
      }
      const cyclegan::Losses l = gan.train_step(tape, a, b);
      const double w = it == 1 ? 1.0 : 0.02;
      smooth.gan += w * (l.gan - smooth.gan);
      smooth.cycle += w * (l.cycle - smooth.cycle);
      smooth.identity += w * (l.identity - smooth.identity);
      smooth.discriminator += w * (l.discriminator - smooth.discriminator);
      if (it % 10 == 0 || it == 1) {
        it_x.push_back(it);
        l_gan.push_back(smooth.gan);
        l_cycle.push_back(smooth.cycle);
        l_idt.push_back(smooth.identity);
        l_d.push_back(smooth.discriminator);
      }
      bar.update(it, "G " + fmt(smooth.gan) + " cyc " + fmt(smooth.cycle) + " D " + fmt(smooth.discriminator));
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const Evaluation e = evaluate(gan, d, n_train);
  std::cout << "  trained in " << fmt(seconds) << " s; mask AUROC " << fmt(e.auroc_ab)
            << "; G(A) vs T(A) MSE " << fmt(e.g_error) << " (returning A: " << fmt(e.g_baseline) << ")\n"
            << "  simple maps, no GAN (same held-out trials): |mean(B) - mean(A)| AUROC "
            << fmt(e.auroc_diff) << ", |t| " << fmt(e.auroc_t) << ", mean(B) " << fmt(e.auroc_post)
            << ", mean(A) " << fmt(e.auroc_pre) << "\n";

  report.section(
      "Where learning changed the activity: CycleGAN with attention masks (Li et al. 2021)",
      "Synthetic stand-in for the paper's data (not public): a mouse runs a 160 cm virtual "
      "corridor, " + std::to_string(cfg.neurons) + " neurons (place cells and grating-driven cells), "
      "calcium-like traces (Poisson spikes through an exponential kernel, plus noise) in " +
      std::to_string(cfg.bins) + " position bins per trial; the grating turns black at 120-140 cm, "
      "the reward zone. Post-learning activity (B) = pre-learning activity (A) with a known change: "
      "place cells with fields before the reward zone gain x" + fmt(cfg.gain) + " in the bins at "
      "90-120 cm. A and B are drawn independently (unpaired). Neurons are pre-sorted by their angle "
      "in the plane of the two leading eigenvectors of the correlation matrix. Generators: conv "
      "encoder/decoder with an attention-mask head, G(x) = m tanh(c) + (1 - m) x; discriminators: "
      "PatchGAN-style with a spatial attention map. LSGAN + 10 cycle L1 + 5 identity L1, Adam " +
      fmt(lr) + " (beta1 0.5), batch " + std::to_string(batch) + ", " + std::to_string(steps) +
      " steps, all on dendrite's tape. The maps below are means over " +
      std::to_string(cfg.trials - n_train) + " held-out trials; the red bar marks the reward zone.");
  report.line_plot("cyclegan_losses", "Training losses (smoothed)",
                   {{"generators: LSGAN", it_x, l_gan}, {"cycle L1", it_x, l_cycle},
                    {"identity L1", it_x, l_idt}, {"discriminators", it_x, l_d}},
                   {.xlabel = "training step", .ylabel = "loss", .logy = true});
  const double bin_cm = cfg.track_cm / cfg.bins;
  const std::vector<std::pair<double, double>> reward = {
      {cfg.reward_start_cm / bin_cm, cfg.reward_end_cm / bin_cm}};
  const AxisOptions map_axes{.xlabel = "position bin", .ylabel = "neuron (sorted)"};
  Eigen::VectorXd truth(d.support.size());
  for (Index r = 0; r < d.support.rows(); ++r) {
    for (Index p = 0; p < d.support.cols(); ++p) truth(r * d.support.cols() + p) = d.support(r, p);
  }
  report.heatmap("cyclegan_truth", "Ground truth: where B differs from A", as_map(truth),
                 cfg.neurons, cfg.bins, map_axes, reward);
  report.heatmap("cyclegan_mask_ab", "Generator A->B attention mask m, mean over held-out trials",
                 as_map(e.mask_ab), cfg.neurons, cfg.bins, map_axes, reward);
  report.heatmap("cyclegan_mask_ba", "Generator B->A attention mask m, mean over held-out trials",
                 as_map(e.mask_ba), cfg.neurons, cfg.bins, map_axes, reward);
  report.heatmap("cyclegan_d_map", "Discriminator B spatial attention map (patches), mean over held-out B",
                 as_map(e.d_map), cfg.neurons, cfg.bins, map_axes, reward);
  report.line_plot("cyclegan_mask_by_position", "Masks averaged over neurons, per position bin",
                   {per_bin("G A->B mask", e.mask_ab, d), per_bin("G B->A mask", e.mask_ba, d),
                    per_bin("D_B attention", e.d_map, d), per_bin("ground truth (fraction changed)", truth, d)},
                   {.xlabel = "position (cm)", .ylabel = "mean over neurons",
                    .bands = {{cfg.reward_start_cm, cfg.reward_end_cm}}});
  report.heatmap("cyclegan_example_a", "A held-out A trial", as_map(e.example_in.col(0)),
                 cfg.neurons, cfg.bins, map_axes, reward);
  report.heatmap("cyclegan_example_gab", "... and G_AB of it (its post-learning version)",
                 as_map(e.example_out.col(0)), cfg.neurons, cfg.bins, map_axes, reward);
  report.table("cyclegan_errors",
               {{"quantity (MSE on held-out trials)", "model", "trivial baseline: return the input"},
                {"G_AB(A) against T(A)", fmt(e.g_error), fmt(e.g_baseline)},
                {"G_BA(B) against T^-1(B)", fmt(e.f_error), fmt(e.f_baseline)},
                {"cycle A: G_BA(G_AB(A)) against A", fmt(e.cycle_a), "0 (the size of the change, MSE(A, T(A)), is " + fmt(e.change_size) + ")"},
                {"cycle B: G_AB(G_BA(B)) against B", fmt(e.cycle_b), "0"}});
  report.table("cyclegan_auroc",
               {{"map", "AUROC against the ground-truth support"},
                {"G_AB mask (mean)", fmt(e.auroc_ab)},
                {"G_BA mask (mean)", fmt(e.auroc_ba)},
                {"D_B spatial attention (mean, patch resolution)", fmt(e.auroc_d)},
                {"no GAN: |mean(B) - mean(A)| per cell", fmt(e.auroc_diff)},
                {"no GAN: |Welch t| per cell", fmt(e.auroc_t)},
                {"no GAN: mean(B) per cell", fmt(e.auroc_post)},
                {"no GAN: mean(A) per cell", fmt(e.auroc_pre)}});
  report.paragraph(
      "Beside the masks, the simplest maps that could find the change, from the same held-out "
      "trials and no GAN: on this change (a gain on cells that are already active) a difference "
      "of means reaches AUROC " + fmt(e.auroc_diff) + " and a t statistic " + fmt(e.auroc_t) +
      " against the mask's " + fmt(e.auroc_ab) + ", and even the mean activity after learning "
      "alone reaches " + fmt(e.auroc_post) + ", because the changed cells are the active ones "
      "before the reward zone. This "
      "example shows that the masks find a known change; it does not show that they find what a "
      "difference of means cannot (changes of variability, of correlations, in low-activity "
      "cells, far from the reward zone: not yet tested here).");
  report.summary("CycleGAN mask AUROC (target > 0.8)", fmt(e.auroc_ab),
                 "G_AB's mean attention mask against where learning changed the activity; "
                 "no GAN: |mean(B) - mean(A)| " + fmt(e.auroc_diff) + ", |t| " + fmt(e.auroc_t) +
                     ", mean(B) " + fmt(e.auroc_post) + ", mean(A) " + fmt(e.auroc_pre));
  report.summary("CycleGAN G(A) vs T(A)", fmt(e.g_error),
                 "MSE; returning A scores " + fmt(e.g_baseline));
  report.summary("CycleGAN training", fmt(seconds) + " s", std::to_string(steps) + " steps");
}

}  // namespace dendrite::examples
