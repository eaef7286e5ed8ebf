// SPDX-License-Identifier: MIT
/// @file
/// A miniature of Li, Amvrosiadis, Rochefort & Onken (arXiv 2111.13073): a CycleGAN whose
/// generators carry attention masks maps pre-learning to post-learning population activity, and
/// the masks show where learning changed it. The paper's data are not public; this is a
/// synthetic stand-in with a known answer (../shared/PAPERS.md section 3.4).
///
/// Data (`Corridor`): a mouse runs a 160 cm virtual corridor in `bins` position bins; a grating
/// turns black between 120 and 140 cm, where licking is rewarded. `neurons` neurons, 70% place
/// cells (Gaussian fields, centres uniform on the track, sd 12 cm) and 30% visual cells (a
/// periodic response to the grating, silent-ish in the black zone), each trial with a gain per
/// neuron (1 + 0.2 N(0, 1), at least 0.2), Poisson spike counts per bin, a calcium trace
/// c_t = e^(-1/tau) c_(t-1) + s_t (tau in bins) plus Gaussian noise. One sample = one trial's
/// neurons x bins map.
/// Domain B (post-learning) = T(a map drawn as in A), T the known change: the place cells whose
/// fields lie before the reward zone (centres in [change_start - 10, change_end + 10] cm) gain
/// `gain` in the bins [change_start, change_end) (anticipation of the reward). T multiplies
/// exactly those entries, so the ground truth support is known; A and B are drawn
/// independently (unpaired).
/// Other changes (`CorridorConfig::change`), each with its own support, for changes a difference
/// of means cannot see:
///  - Variability: the same entries keep their mean and scale their trial-to-trial deviation
///    from it by `gain` (B = mu + gain (x - mu), mu the entry's mean over B's trials);
///  - Correlation: the same entries keep mean and variance and share one fluctuation per trial
///    (B = mu + sqrt(1 - rho) (x - mu) + sqrt(rho) sd z, z ~ N(0, 1) per trial, rho =
///    `correlation`): correlations of about rho between them, none before;
///  - QuietShift: a `quiet_fraction` of the place cells fire at `quiet_peak` of the peak rate in
///    both domains, and in B their fields move by `shift_cm`; the support is where a quiet cell's
///    expected rate changes by more than a fifth of its peak. Anywhere on the track.
/// A change far from the reward zone is a Gain with change_start_cm / change_end_cm moved.
/// Neurons are pre-sorted (the paper's idea, our method): by the angle of each neuron in the
/// plane of the two leading eigenvectors of the neurons' correlation matrix over domain A,
/// which orders place cells by field position, so that convolutions see correlated neighbours.
/// Maps are divided by `headroom` (4) times the 99th percentile of A, so A lies in about
/// [0, 0.25] and the changed entries of B within tanh's range.
///
/// Model (`CycleGAN<S, C1, C2>`): generators G_AB, G_BA = AttentionGate over a conv
/// encoder/decoder (conv 3x3 1->C1, conv 4x4 stride 2 C1->C2 + instance norm, one residual block,
/// nearest upsampling, conv 3x3 C2->C1; leaky ReLU 0.2), head: content c and mask m per neuron
/// and bin, G(x) = m tanh(c) + (1 - m) x (AGGAN's form). Discriminators D_A, D_B: PatchGAN-style
/// (conv 4x4 stride 2 twice, instance norm, leaky ReLU), a spatial attention map that weighs the
/// features, a 3x3 conv to one score per patch.
/// Losses (Zhu et al. 2017, canonical CycleGAN): least squares GAN, cycle L1 weight 10,
/// identity L1 weight 5; discriminator loss 0.5 (real + fake) on detached fakes; Adam 2e-4,
/// beta1 0.5. Left out: the pool of 50 past fakes and the learning-rate decay.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <Eigen/Eigenvalues>

#include <dendrite/autodiff/ops.hpp>
#include <dendrite/autodiff/optim.hpp>
#include <dendrite/nn/attention.hpp>
#include <dendrite/nn/conv.hpp>
#include <dendrite/nn/layers.hpp>
#include <dendrite/nn/sequential.hpp>

namespace dendrite::examples::cyclegan {

using MatD = Eigen::MatrixXd;
using Eigen::Index;

/// What learning changed between A and B (see the file comment).
enum class Change { Gain, Variability, Correlation, QuietShift };

[[nodiscard]] inline const char* to_string(Change c) noexcept {
  switch (c) {
    case Change::Gain: return "gain";
    case Change::Variability: return "variability";
    case Change::Correlation: return "correlation";
    case Change::QuietShift: return "quiet field shift";
  }
  return "?";
}

struct CorridorConfig {
  int neurons = 32;
  int bins = 32;
  int trials = 256;  ///< per domain
  double track_cm = 160, reward_start_cm = 120, reward_end_cm = 140;
  double change_start_cm = 90, change_end_cm = 120;
  double gain = 2.5;
  double tau_bins = 1.5;
  double noise_sd = 0.15;
  double peak_rate = 2.0;  ///< spikes per bin at the field centre
  double headroom = 4.0;   ///< maps are divided by headroom x the 99th percentile of A
  std::uint64_t seed = 1;
  Change change = Change::Gain;
  double correlation = 0.8;     ///< Correlation: rho between the changed entries
  double quiet_fraction = 0.3;  ///< QuietShift: share of place cells that fire little
  double quiet_peak = 0.25;     ///< QuietShift: their peak rate, as a share of peak_rate
  double shift_cm = 20;         ///< QuietShift: how far their fields move in B
};

/// The synthetic data set: maps of neurons x bins, one column per trial, in C order (element
/// neuron * bins + bin), neurons in sorted order.
struct Corridor {
  CorridorConfig cfg;
  MatD a, b;                    ///< (neurons bins) x trials
  MatD support;                 ///< neurons x bins, 1 where T changes the map
  std::vector<int> order;       ///< sorted row -> original neuron
  std::vector<double> centre;   ///< field centre (cm) of each original neuron (-1: visual cell)
  double scale = 1;             ///< the maps were divided by this

  /// The known change T applied to maps (columns as a, b); a map of maps only for Change::Gain
  /// (the other changes depend on the trial set or on the spikes): the identity for them.
  [[nodiscard]] MatD transform(const MatD& maps) const {
    if (cfg.change != Change::Gain) return maps;
    MatD out = maps;
    for (Index n = 0; n < cfg.neurons; ++n) {
      for (Index p = 0; p < cfg.bins; ++p) {
        if (support(n, p) != 0) out.row(n * cfg.bins + p) *= cfg.gain;
      }
    }
    return out;
  }
  [[nodiscard]] double bin_centre_cm(int p) const {
    return (p + 0.5) * cfg.track_cm / cfg.bins;
  }
};

namespace detail {

/// Mean spike count of a neuron in a bin.
inline double rate(double centre, double phase, double x, const CorridorConfig& c,
                   double peak = 1.0) {
  if (centre >= 0) {  // place cell
    const double d = (x - centre) / 12.0;
    return 0.05 + peak * c.peak_rate * std::exp(-0.5 * d * d);
  }
  const bool black = x >= c.reward_start_cm && x < c.reward_end_cm;
  return black ? 0.05 : 0.05 + 0.6 * c.peak_rate * std::pow(0.5 + 0.5 * std::cos(2 * std::numbers::pi * x / 40.0 + phase), 2);
}

/// One trial's calcium map (neurons x bins, original neuron order, unscaled).
inline MatD trial(const std::vector<double>& centre, const std::vector<double>& phase,
                  const std::vector<double>& peak, const CorridorConfig& c, std::mt19937_64& rng) {
  const int N = c.neurons, P = c.bins;
  MatD m(N, P);
  std::normal_distribution<double> normal;
  const double decay = std::exp(-1.0 / c.tau_bins);
  for (int n = 0; n < N; ++n) {
    const double g = std::max(0.2, 1.0 + 0.2 * normal(rng));
    double ca = 0;
    for (int p = 0; p < P; ++p) {
      const double x = (p + 0.5) * c.track_cm / P;
      std::poisson_distribution<int> spikes(
          g * rate(centre[std::size_t(n)], phase[std::size_t(n)], x, c, peak[std::size_t(n)]));
      ca = decay * ca + spikes(rng);
      m(n, p) = ca + c.noise_sd * normal(rng);
    }
  }
  return m;
}

}  // namespace detail

/// Draws the data set (see the file comment).
inline Corridor make_corridor(const CorridorConfig& cfg) {
  Corridor d;
  d.cfg = cfg;
  const int N = cfg.neurons, P = cfg.bins;
  std::mt19937_64 rng(cfg.seed);
  std::uniform_real_distribution<double> uni(0, 1);
  std::vector<double> phase(std::size_t(N), 0.0);
  d.centre.assign(std::size_t(N), -1.0);
  for (int n = 0; n < N; ++n) {
    if (uni(rng) < 0.7) d.centre[std::size_t(n)] = cfg.track_cm * uni(rng);
    phase[std::size_t(n)] = 2 * std::numbers::pi * uni(rng);
  }
  // the changed neurons: place fields just before the reward zone (QuietShift: the quiet cells)
  const bool quiet_shift = cfg.change == Change::QuietShift;
  std::vector<bool> changed(std::size_t(N), false);
  std::vector<double> peak(std::size_t(N), 1.0), centre_b = d.centre;
  for (int n = 0; n < N; ++n) {
    const std::size_t k = std::size_t(n);
    const double c = d.centre[k];
    if (quiet_shift) {
      changed[k] = c >= 0 && uni(rng) < cfg.quiet_fraction;
      if (changed[k]) {
        peak[k] = cfg.quiet_peak;
        centre_b[k] = c + cfg.shift_cm;
      }
    } else {
      changed[k] = c >= cfg.change_start_cm - 10 && c <= cfg.change_end_cm + 10;
    }
  }
  std::vector<MatD> raw_a, raw_b;
  for (int t = 0; t < cfg.trials; ++t) raw_a.push_back(detail::trial(d.centre, phase, peak, cfg, rng));
  for (int t = 0; t < cfg.trials; ++t) raw_b.push_back(detail::trial(centre_b, phase, peak, cfg, rng));

  // pre-sorting: angle in the plane of the two leading eigenvectors of the correlation matrix
  MatD all(N, Index(cfg.trials) * P);
  for (int t = 0; t < cfg.trials; ++t) all.middleCols(Index(t) * P, P) = raw_a[std::size_t(t)];
  const Eigen::VectorXd mu = all.rowwise().mean();
  const MatD centred = all.colwise() - mu;
  MatD cov = centred * centred.transpose();
  const Eigen::VectorXd sd = cov.diagonal().cwiseSqrt().cwiseMax(1e-12);
  const MatD corr = sd.cwiseInverse().asDiagonal() * cov * sd.cwiseInverse().asDiagonal();
  Eigen::SelfAdjointEigenSolver<MatD> es(corr);
  const Eigen::VectorXd v1 = es.eigenvectors().col(N - 1), v2 = es.eigenvectors().col(N - 2);
  std::vector<double> angle(static_cast<std::size_t>(N));
  for (int n = 0; n < N; ++n) angle[std::size_t(n)] = std::atan2(v2(n), v1(n));
  d.order.resize(std::size_t(N));
  std::iota(d.order.begin(), d.order.end(), 0);
  std::stable_sort(d.order.begin(), d.order.end(),
                   [&](int i, int j) { return angle[std::size_t(i)] < angle[std::size_t(j)]; });

  // sorted maps, scaled; the support in sorted order
  d.support = MatD::Zero(N, P);
  for (int r = 0; r < N; ++r) {
    const std::size_t n = std::size_t(d.order[std::size_t(r)]);
    if (!changed[n]) continue;
    for (int p = 0; p < P; ++p) {
      const double x = d.bin_centre_cm(p);
      if (quiet_shift) {
        const double ra = detail::rate(d.centre[n], 0, x, cfg, peak[n]);
        const double rb = detail::rate(centre_b[n], 0, x, cfg, peak[n]);
        if (std::abs(rb - ra) > 0.2 * peak[n] * cfg.peak_rate) d.support(r, p) = 1;
      } else if (x >= cfg.change_start_cm && x < cfg.change_end_cm) {
        d.support(r, p) = 1;
      }
    }
  }
  std::vector<double> values(all.data(), all.data() + all.size());
  std::nth_element(values.begin(), values.begin() + Index(0.99 * double(values.size())), values.end());
  d.scale = cfg.headroom * std::max(1e-9, values[std::size_t(0.99 * double(values.size()))]);
  const auto pack = [&](const std::vector<MatD>& raw) {
    MatD out(Index(N) * P, cfg.trials);
    for (int t = 0; t < cfg.trials; ++t) {
      for (int r = 0; r < N; ++r) {
        for (int p = 0; p < P; ++p) {
          out(Index(r) * P + p, t) = raw[std::size_t(t)](d.order[std::size_t(r)], p) / d.scale;
        }
      }
    }
    return out;
  };
  d.a = pack(raw_a);
  d.b = d.transform(pack(raw_b));
  if (cfg.change == Change::Variability || cfg.change == Change::Correlation) {
    const Eigen::VectorXd mean_b = d.b.rowwise().mean();
    const Eigen::VectorXd sd_b =
        ((d.b.colwise() - mean_b).rowwise().squaredNorm() / double(std::max(1, cfg.trials - 1)))
            .cwiseSqrt();
    std::normal_distribution<double> normal;
    const double rho = cfg.correlation;
    for (int t = 0; t < cfg.trials; ++t) {
      const double z = normal(rng);  // shared by every changed entry of this trial
      for (int r = 0; r < N; ++r) {
        for (int p = 0; p < P; ++p) {
          if (d.support(r, p) == 0) continue;
          const Index e = Index(r) * P + p;
          double& v = d.b(e, t);
          v = cfg.change == Change::Variability
                  ? mean_b(e) + cfg.gain * (v - mean_b(e))
                  : mean_b(e) + std::sqrt(1 - rho) * (v - mean_b(e)) + std::sqrt(rho) * sd_b(e) * z;
        }
      }
    }
  }
  return d;
}

/// Area under the ROC curve of `score` for telling `label` 1 from 0 (Mann-Whitney U / n1 n0,
/// ties counted half).
inline double auroc(const std::vector<double>& score, const std::vector<int>& label) {
  double pos = 0, neg = 0, wins = 0;
  for (std::size_t i = 0; i < score.size(); ++i) {
    if (label[i] == 0) continue;
    ++pos;
    for (std::size_t j = 0; j < score.size(); ++j) {
      if (label[j] != 0) continue;
      wins += score[i] > score[j] ? 1.0 : (score[i] == score[j] ? 0.5 : 0.0);
    }
  }
  for (int l : label) neg += (l == 0);
  return pos > 0 && neg > 0 ? wins / (pos * neg) : 0.5;
}

/// A map that could find a change with no GAN: one score per entry (neuron, bin).
struct SimpleMap {
  const char* name;
  Eigen::VectorXd score;
};

/// The simplest maps that could find where B differs from A, per entry, from trials a and b
/// (columns, rows in C order): |mean(B) - mean(A)|, mean(B), mean(A), |Welch's t|, the variance
/// ratio |log(var B / var A)|, and the change in correlation with the other entries: the mean over
/// entries f of r_B(e, f)^2 - r_A(e, f)^2 (from z G z^T with G the trials' Gram matrix of the
/// standardised rows: O(entries x trials^2), no entries x entries matrix).
inline std::vector<SimpleMap> simple_maps(const MatD& a, const MatD& b) {
  const auto stats = [](const MatD& x, Eigen::VectorXd& mean, Eigen::VectorXd& var,
                        Eigen::VectorXd& r2) {
    const double n = double(x.cols());
    mean = x.rowwise().mean();
    const MatD c = x.colwise() - mean;
    var = c.rowwise().squaredNorm() / std::max(1.0, n - 1);
    const MatD z = (var.array().sqrt().max(1e-12).inverse()).matrix().asDiagonal() * c /
                   std::sqrt(std::max(1.0, n - 1));  // rows of unit norm
    const MatD g = z.transpose() * z;                 // trials x trials
    r2 = ((z * g).cwiseProduct(z)).rowwise().sum() / double(x.rows());
  };
  Eigen::VectorXd ma, va, ra, mb, vb, rb;
  stats(a, ma, va, ra);
  stats(b, mb, vb, rb);
  const Eigen::VectorXd diff = (mb - ma).cwiseAbs();
  const Eigen::VectorXd t =
      diff.array() / (va.array() / double(a.cols()) + vb.array() / double(b.cols()) + 1e-12).sqrt();
  const Eigen::VectorXd logvar =
      ((vb.array() + 1e-12) / (va.array() + 1e-12)).log().abs().matrix();
  return {{"|mean(B) - mean(A)|", diff},
          {"|Welch t|", t},
          {"mean(B)", mb},
          {"mean(A)", ma},
          {"|log(var B / var A)|", logvar},
          {"change in mean squared correlation", rb - ra}};
}

// ---------------------------------------------------------------------------------------------
// The model

template <class S, int C1, int C2>
using GeneratorBody =
    nn::Sequential<nn::Conv2D<S, 1, C1, 3>, nn::LeakyReLU<S>, nn::Conv2D<S, C1, C2, 4>,
                   nn::InstanceNorm<S, C2>, nn::LeakyReLU<S>,
                   nn::Residual<nn::Sequential<nn::Conv2D<S, C2, C2, 3>, nn::InstanceNorm<S, C2>,
                                               nn::LeakyReLU<S>>>,
                   nn::Upsample<S, 2>, nn::Conv2D<S, C2, C1, 3>, nn::LeakyReLU<S>>;

template <class S, int C1, int C2>
using Generator = nn::AttentionGate<S, GeneratorBody<S, C1, C2>, 1>;

template <class S, int C1, int C2>
using Discriminator =
    nn::Sequential<nn::Conv2D<S, 1, C1, 4>, nn::LeakyReLU<S>, nn::Conv2D<S, C1, C2, 4>,
                   nn::InstanceNorm<S, C2>, nn::LeakyReLU<S>, nn::SpatialAttention<S, C2>,
                   nn::Conv2D<S, C2, 1, 3>>;

template <class S, int C1, int C2>
Generator<S, C1, C2> make_generator(std::uint64_t seed) {
  const auto same = [](std::uint64_t s) {
    return nn::ConvOptions{.padding = nn::Padding::Same, .seed = s};
  };
  const auto down = [](std::uint64_t s) {
    return nn::ConvOptions{.padding = nn::Padding::Zeros, .stride = 2, .pad = 1, .seed = s};
  };
  const S slope = S(0.2);
  using Res = nn::Sequential<nn::Conv2D<S, C2, C2, 3>, nn::InstanceNorm<S, C2>, nn::LeakyReLU<S>>;
  GeneratorBody<S, C1, C2> body(
      nn::Conv2D<S, 1, C1, 3>(same(seed)), nn::LeakyReLU<S>(slope),
      nn::Conv2D<S, C1, C2, 4>(down(seed + 1)), nn::InstanceNorm<S, C2>(), nn::LeakyReLU<S>(slope),
      nn::Residual<Res>(Res(nn::Conv2D<S, C2, C2, 3>(same(seed + 2)), nn::InstanceNorm<S, C2>(),
                            nn::LeakyReLU<S>(slope))),
      nn::Upsample<S, 2>(), nn::Conv2D<S, C2, C1, 3>(same(seed + 3)), nn::LeakyReLU<S>(slope));
  return Generator<S, C1, C2>(std::move(body), {.seed = seed + 4});
}

template <class S, int C1, int C2>
Discriminator<S, C1, C2> make_discriminator(std::uint64_t seed) {
  const auto same = [](std::uint64_t s) {
    return nn::ConvOptions{.padding = nn::Padding::Same, .seed = s};
  };
  const auto down = [](std::uint64_t s) {
    return nn::ConvOptions{.padding = nn::Padding::Zeros, .stride = 2, .pad = 1, .seed = s};
  };
  const S slope = S(0.2);
  return Discriminator<S, C1, C2>(
      nn::Conv2D<S, 1, C1, 4>(down(seed)), nn::LeakyReLU<S>(slope),
      nn::Conv2D<S, C1, C2, 4>(down(seed + 1)), nn::InstanceNorm<S, C2>(), nn::LeakyReLU<S>(slope),
      nn::SpatialAttention<S, C2>({.seed = seed + 2}), nn::Conv2D<S, C2, 1, 3>(same(seed + 3)));
}

struct Losses {
  double gan = 0, cycle = 0, identity = 0, discriminator = 0;
};

/// The two generators, two discriminators, their optimisers and one training step.
template <class S, int C1 = 8, int C2 = 16>
class CycleGAN {
 public:
  using Mat = autodiff::Mat<S>;
  using Var = autodiff::Var<S>;
  using Maps = nn::MapsVar<S>;
  static constexpr double kCycle = 10, kIdentity = 5;

  Generator<S, C1, C2> g_ab, g_ba;
  Discriminator<S, C1, C2> d_a, d_b;

  CycleGAN(nn::MapShape shape, std::uint64_t seed, double lr = 2e-4)
      : g_ab(make_generator<S, C1, C2>(seed)),
        g_ba(make_generator<S, C1, C2>(seed + 10)),
        d_a(make_discriminator<S, C1, C2>(seed + 20)),
        d_b(make_discriminator<S, C1, C2>(seed + 30)),
        shape_(shape),
        adam_g(join(g_ab.parameters(), g_ba.parameters()), {.lr = lr, .beta1 = 0.5}),
        adam_d(join(d_a.parameters(), d_b.parameters()), {.lr = lr, .beta1 = 0.5}) {}

  /// The generators' loss on batches a (from A) and b (from B), recorded on `t`:
  /// LSGAN (D(G(x)) -> 1) + 10 cycle L1 + 5 identity L1.
  Var generator_loss(autodiff::Tape<S>& t, Var a, Var b, Losses* parts = nullptr) {
    const Maps ma{a, shape_}, mb{b, shape_};
    fake_b_ = g_ab.forward(t, ma);
    fake_a_ = g_ba.forward(t, mb);
    const Var rec_a = g_ba.forward(t, fake_b_).var;
    const Var rec_b = g_ab.forward(t, fake_a_).var;
    const Var idt_b = g_ab.forward(t, mb).var;
    const Var idt_a = g_ba.forward(t, ma).var;
    const Var score_b = d_b.forward(t, fake_b_).var;
    const Var score_a = d_a.forward(t, fake_a_).var;
    const Var gan = autodiff::mse(score_b, ones(t, score_b)) + autodiff::mse(score_a, ones(t, score_a));
    const Var cycle = autodiff::l1(rec_a, a) + autodiff::l1(rec_b, b);
    const Var identity = autodiff::l1(idt_b, b) + autodiff::l1(idt_a, a);
    if (parts != nullptr) {
      parts->gan = gan.item();
      parts->cycle = cycle.item();
      parts->identity = identity.item();
    }
    return gan + S(kCycle) * cycle + S(kIdentity) * identity;
  }

  /// The discriminators' loss: 0.5 (mse(D(real), 1) + mse(D(fake), 0)) for each, fakes as
  /// constants (detached).
  Var discriminator_loss(autodiff::Tape<S>& t, Var a, Var b, const Mat& fake_a, const Mat& fake_b) {
    const Var ra = d_a.forward(t, Maps{a, shape_}).var;
    const Var fa = d_a.forward(t, Maps{t.constant(fake_a), shape_}).var;
    const Var rb = d_b.forward(t, Maps{b, shape_}).var;
    const Var fb = d_b.forward(t, Maps{t.constant(fake_b), shape_}).var;
    return S(0.5) * (autodiff::mse(ra, ones(t, ra)) + autodiff::mse(fa, zeros(t, fa)) +
                     autodiff::mse(rb, ones(t, rb)) + autodiff::mse(fb, zeros(t, fb)));
  }

  /// One step: generators, then discriminators on the generators' new fakes.
  Losses train_step(autodiff::Tape<S>& t, const Mat& a, const Mat& b) {
    Losses out;
    t.clear();
    const Var loss_g = generator_loss(t, t.input(a), t.input(b), &out);
    t.backward(loss_g);
    adam_g.step();
    zero_all();
    fake_a_value_ = fake_a_.var.value();
    fake_b_value_ = fake_b_.var.value();
    t.clear();
    const Var loss_d = discriminator_loss(t, t.input(a), t.input(b), fake_a_value_, fake_b_value_);
    t.backward(loss_d);
    adam_d.step();
    zero_all();
    out.discriminator = loss_d.item();
    return out;
  }

  [[nodiscard]] const nn::MapShape& shape() const noexcept { return shape_; }

  std::vector<autodiff::Parameter<S>*> parameters() {
    return join(join(g_ab.parameters(), g_ba.parameters()), join(d_a.parameters(), d_b.parameters()));
  }

 private:
  static std::vector<autodiff::Parameter<S>*> join(std::vector<autodiff::Parameter<S>*> x,
                                                   const std::vector<autodiff::Parameter<S>*>& y) {
    x.insert(x.end(), y.begin(), y.end());
    return x;
  }
  static Var ones(autodiff::Tape<S>& t, Var like) {
    return t.constant(Mat::Ones(like.rows(), like.cols()));
  }
  static Var zeros(autodiff::Tape<S>& t, Var like) {
    return t.constant(Mat::Zero(like.rows(), like.cols()));
  }
  void zero_all() {
    adam_g.zero_grad();
    adam_d.zero_grad();
  }

  nn::MapShape shape_;
  Maps fake_a_, fake_b_;
  Mat fake_a_value_, fake_b_value_;

 public:
  autodiff::Adam<S> adam_g, adam_d;
};

// ---------------------------------------------------------------------------------------------
// Evaluation on held-out trials

inline double mse(const MatD& a, const MatD& b) { return (a - b).squaredNorm() / double(a.size()); }

/// Row-major neurons x bins values of a (neurons bins) vector in C order.
inline std::vector<double> as_map(const Eigen::VectorXd& v) {
  return {v.data(), v.data() + v.size()};
}

struct Evaluation {
  double g_error = 0, g_baseline = 0, f_error = 0, f_baseline = 0;  ///< Change::Gain only
  double cycle_a = 0, cycle_b = 0;
  Eigen::VectorXd mask_ab, mask_ba, d_map;  // mean over trials, (neurons bins)
  double auroc_ab = 0, auroc_ba = 0, auroc_d = 0;
  /// the simplest maps that could find the change, from the same held-out trials, no GAN
  std::vector<std::pair<std::string, double>> simple;
  Eigen::MatrixXd example_in, example_out;  // first test trial: A and G_AB(A)

  /// AUROC of the simple map called `name`.
  [[nodiscard]] double simple_auroc(const std::string& name) const {
    for (const auto& [n, v] : simple) {
      if (n == name) return v;
    }
    return std::numeric_limits<double>::quiet_NaN();
  }
  /// The simple map with the highest AUROC.
  [[nodiscard]] std::pair<std::string, double> best_simple() const {
    std::pair<std::string, double> best{"", -1.0};
    for (const auto& p : simple) {
      if (p.second > best.second) best = p;
    }
    return best;
  }
};

/// The masks' and the simple maps' AUROC against the support, and the generators' errors, on
/// the trials from `first_test` on.
template <class Gan>
Evaluation evaluate(Gan& gan, const Corridor& d, Index first_test) {
  Evaluation e;
  const nn::MapShape shape = gan.shape();
  const Index n_test = d.a.cols() - first_test;
  const MatD a = d.a.rightCols(n_test), b = d.b.rightCols(n_test);
  const nn::Maps<float> ma{a.cast<float>(), shape}, mb{b.cast<float>(), shape};
  const nn::Maps<float> gab = gan.g_ab.forward(ma);
  e.mask_ab = gan.g_ab.mask().data.template cast<double>().rowwise().mean();
  const nn::Maps<float> gba = gan.g_ba.forward(mb);
  e.mask_ba = gan.g_ba.mask().data.template cast<double>().rowwise().mean();
  if (d.cfg.change == Change::Gain) {
    const MatD ta = d.transform(a);
    MatD tinv_b = b;  // T^-1: divide the support by the gain
    for (Index r = 0; r < d.support.rows(); ++r) {
      for (Index p = 0; p < d.support.cols(); ++p) {
        if (d.support(r, p) != 0) tinv_b.row(r * d.support.cols() + p) /= d.cfg.gain;
      }
    }
    e.g_error = mse(gab.data.cast<double>(), ta);
    e.g_baseline = mse(a, ta);
    e.f_error = mse(gba.data.cast<double>(), tinv_b);
    e.f_baseline = mse(b, tinv_b);
  }
  e.cycle_a = mse(gan.g_ba.forward(gab).data.template cast<double>(), a);
  e.cycle_b = mse(gan.g_ab.forward(gba).data.template cast<double>(), b);
  e.example_in = a.col(0);
  e.example_out = gab.data.col(0).cast<double>();
  // D_B's spatial attention on real B maps, each patch cell spread over the pixels it covers
  (void)gan.d_b.forward(mb);
  const auto& dm = gan.d_b.template get<5>().map();
  const Eigen::VectorXd dmean = dm.data.template cast<double>().rowwise().mean();
  const Index fh = shape.height / dm.shape.height, fw = shape.width / dm.shape.width;
  e.d_map.resize(shape.height * shape.width);
  for (Index r = 0; r < shape.height; ++r) {
    for (Index p = 0; p < shape.width; ++p) {
      e.d_map(r * shape.width + p) = dmean((r / fh) * dm.shape.width + p / fw);
    }
  }
  std::vector<int> label;
  for (Index r = 0; r < d.support.rows(); ++r) {
    for (Index p = 0; p < d.support.cols(); ++p) label.push_back(d.support(r, p) != 0);
  }
  e.auroc_ab = auroc(as_map(e.mask_ab), label);
  e.auroc_ba = auroc(as_map(e.mask_ba), label);
  e.auroc_d = auroc(as_map(e.d_map), label);
  for (const SimpleMap& m : simple_maps(a, b)) {
    e.simple.emplace_back(m.name, auroc(as_map(m.score), label));
  }
  return e;
}

}  // namespace dendrite::examples::cyclegan
