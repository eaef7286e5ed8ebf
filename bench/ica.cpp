// SPDX-License-Identifier: MIT
// Batch ICA (FOBI, FastICA) on 100 000 samples and the OnlineICA real-time step, beside plain
// baselines in the same binary: FOBI written directly with Eigen (full covariance products, a
// dense K accumulation) and one step of the network with Eigen's dynamic LLT (what a direct port
// of the authors' numpy code looks like).
#include <algorithm>
#include <array>
#include <chrono>
#include <random>
#include <vector>

#include <Eigen/Dense>
#include <benchmark/benchmark.h>

#include <dendrite/ica/fastica.hpp>
#include <dendrite/ica/fobi.hpp>
#include <dendrite/ica/eeg_like.hpp>
#include <dendrite/ica/metrics.hpp>
#include <dendrite/ica/online_ica.hpp>
#include <dendrite/ica/orica.hpp>

#include "support.hpp"

namespace {

/// d Laplace/uniform/binary sources mixed by a random matrix, d x n.
Eigen::MatrixXd mixtures(Eigen::Index d, Eigen::Index n) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> uni(-1, 1);
  std::exponential_distribution<double> expo(1.0);
  Eigen::MatrixXd s(d, n);
  for (Eigen::Index i = 0; i < d; ++i) {
    for (Eigen::Index t = 0; t < n; ++t) {
      const double u = uni(rng);
      s(i, t) = i % 3 == 0 ? (u > 0 ? 1 : -1) * expo(rng) * (1.0 + 0.1 * double(i))
                           : (i % 3 == 1 ? u : (u > 0 ? 1.0 : -1.0));
    }
  }
  Eigen::MatrixXd a(d, d);
  for (auto& v : a.reshaped()) {
    v = uni(rng);
  }
  return a * s;
}

void BM_FOBI(benchmark::State& state) {
  const Eigen::MatrixXd x = mixtures(state.range(0), 100000);
  for (auto _ : state) {
    auto r = dendrite::ica::fobi(x);
    benchmark::DoNotOptimize(r.unmixing.data());
  }
}

// Baseline: FOBI as one would write it directly (full GEMMs, explicit inverse square root).
void BM_FOBIBaseline(benchmark::State& state) {
  const Eigen::MatrixXd x = mixtures(state.range(0), 100000);
  for (auto _ : state) {
    const Eigen::MatrixXd xc = x.colwise() - x.rowwise().mean();
    const Eigen::MatrixXd c = xc * xc.transpose() / double(x.cols());
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> e(c);
    const Eigen::MatrixXd h = e.operatorInverseSqrt() * xc;
    Eigen::MatrixXd k = Eigen::MatrixXd::Zero(x.rows(), x.rows());
    for (Eigen::Index t = 0; t < h.cols(); ++t) {
      k += h.col(t).squaredNorm() * h.col(t) * h.col(t).transpose();
    }
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> e2(k / double(x.cols()));
    benchmark::DoNotOptimize(e2.eigenvectors().data());
  }
}

void BM_FastICA(benchmark::State& state) {
  const Eigen::MatrixXd x = mixtures(state.range(0), 100000);
  int iters = 0;
  for (auto _ : state) {
    auto r = dendrite::ica::fastica(x, {.tol = 1e-4, .max_iter = 200, .seed = 0});
    iters = r.iterations;
    benchmark::DoNotOptimize(r.unmixing.data());
  }
  state.counters["iterations"] = iters;
}

template <class T, int D>
void BM_OnlineICAStep(benchmark::State& state) {
  dendrite::ica::OnlineICA<T, D> net({.eta0 = 1e-4, .tau = 0.5});
  const auto xs = dendrite::bench::normal_samples<T, std::size_t(D), 64>(2);
  std::array<T, D> y{};
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(net.step(xs[i++ & 63], y));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(double(state.iterations()) * double(dendrite::lanes_v<T>)));
}

// The step as a lab runs it: warm-started on 20 s of EEG-like signal (`warm_start(x, true)`: FOBI
// whitener, Lambda2 = mu^2 scaled, W and M at FOBI's solution; Lambda2 = 1 / mu and M = I before
// 2026-12-05, late), then learning at a floor rate on the next samples, in order.
// Arg 0 solves M y = c directly (a fresh Cholesky factor per sample, the baseline), 1 by the
// refined O(D^2) solve. Arg 1: 1 averages the outputs as the warm start does by default
// (`average_span` 5), 0 answers with the iterate. Counters: corrections and fresh factors per
// sample.
template <int D>
void BM_OnlineICAStepWarm(benchmark::State& state) {
  namespace ica = dendrite::ica;
  const auto data = ica::eeg_like(D, 40.0, 256.0, 3);
  ica::OnlineICA<float, D> net({.eta0 = 1e-4,
                                .t0 = 1e12,
                                .lateral_solve = state.range(0) ? ica::OnlineLateralSolve::Refined
                                                                : ica::OnlineLateralSolve::Direct});
  net.warm_start(data.mixed.leftCols(5120),
                 {.separated = true, .average_span = state.range(1) ? 5.0 : 0.0});
  std::vector<std::array<float, D>> xs(std::size_t(data.mixed.cols() - 5120));
  for (std::size_t t = 0; t < xs.size(); ++t) {
    for (int i = 0; i < D; ++i) xs[t][std::size_t(i)] = float(data.mixed(i, Eigen::Index(t) + 5120));
  }
  std::array<float, D> y{};
  std::size_t t = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(net.step(xs[t], y));
    benchmark::ClobberMemory();
    t = t + 1 == xs.size() ? 0 : t + 1;
  }
  const double n = double(net.samples());
  state.counters["corrections"] = double(net.refinements()) / n;
  state.counters["factors"] = double(net.refactorisations()) / n;
  state.SetItemsProcessed(int64_t(state.iterations()));
}

// Baseline: one step written with dynamic Eigen matrices and an LLT per sample.
template <int D>
void BM_OnlineICAStepEigenBaseline(benchmark::State& state) {
  Eigen::MatrixXd w = Eigen::MatrixXd::Identity(D, D), m = Eigen::MatrixXd::Identity(D, D);
  const Eigen::VectorXd lambda = Eigen::VectorXd::LinSpaced(D, 1.0, 2.0);
  std::vector<Eigen::VectorXd> xs(64, Eigen::VectorXd(D));
  std::mt19937_64 rng(2);
  std::normal_distribution<double> normal;
  for (auto& x : xs) {
    for (auto& v : x) {
      v = normal(rng);
    }
  }
  const double eta = 1e-4, tau = 0.5;
  std::size_t i = 0;
  for (auto _ : state) {
    const Eigen::VectorXd& x = xs[i++ & 63];
    const Eigen::VectorXd c = w * x;
    const Eigen::VectorXd y = m.llt().solve(c);
    w += 2 * eta * (y - y.squaredNorm() * lambda.cwiseProduct(c)) * x.transpose();
    m += eta / tau * (y * y.transpose() - Eigen::MatrixXd::Identity(D, D));
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}

template <class T, int D>
void BM_ORICAStep(benchmark::State& state) {
  dendrite::ica::ORICA<T, D> net;
  const auto xs = dendrite::bench::normal_samples<T, std::size_t(D), 64>(2);
  std::array<T, D> y{};
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(net.step(xs[i++ & 63], y));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(double(state.iterations()) * double(dendrite::lanes_v<T>)));
}

// ORICA with its defaults (sample_rate set) on eeg_like(D, 60 s, 256 Hz), streamed in order
// and looped: the input a lab records (the bench above repeats 64 white samples, which at
// D >= 64 leaves the whitener's covariance singular). Arg(0), if given, sets block_size.
template <int D>
void BM_ORICAStepEEG(benchmark::State& state) {
  const auto m = dendrite::ica::eeg_like(D, 60.0, 256.0, 3);
  const Eigen::MatrixXf x = m.mixed.cast<float>();
  dendrite::ica::ORICAOptions opt{.sample_rate = 256};
  if (state.range(0) > 0) opt.block_size = int(state.range(0));
  dendrite::ica::ORICA<float, D> net(opt);
  std::array<float, D> y{};
  Eigen::Index i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(net.step(std::span<const float, D>(x.col(i).data(), D), y));
    benchmark::ClobberMemory();
    if (++i == x.cols()) i = 0;
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}

// The same through step_block, 64 samples a call (an acquisition host's block), with
// Arg(0) = block_size: 1 is the serial network (step per sample), N > 1 the block update.
template <int D>
void BM_ORICABlockEEG(benchmark::State& state) {
  const auto m = dendrite::ica::eeg_like(D, 60.0, 256.0, 3);
  const Eigen::MatrixXf x = m.mixed.cast<float>();
  dendrite::ica::ORICA<float, D> net({.sample_rate = 256, .block_size = int(state.range(0))});
  constexpr Eigen::Index chunk = 64;
  Eigen::MatrixXf y(D, chunk);
  Eigen::Index i = 0;
  for (auto _ : state) {
    const auto r = net.step_block({x.col(i).data(), std::size_t(D * chunk)},
                                  {y.data(), std::size_t(D * chunk)});
    benchmark::DoNotOptimize(r);
    benchmark::ClobberMemory();
    i += chunk;
    if (i + chunk > x.cols()) i = 0;
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * chunk);
}

// Baseline: the textbook serial EASI rule (Cardoso & Laheld 1996, normalised form, g = tanh),
// written plainly with Eigen: y = B x, H = (y y^T - I) / (1 + mu y^T y)
// + (g y^T - y g^T) / (1 + mu |y^T g|), B <- B - mu H B.
struct EASI {
  Eigen::MatrixXf b;
  float mu;
  EASI(int d, float rate) : b(Eigen::MatrixXf::Identity(d, d)), mu(rate) {}
  void step(const Eigen::VectorXf& x, Eigen::VectorXf& y) {
    y.noalias() = b * x;
    const Eigen::VectorXf g = y.array().tanh().matrix();
    const Eigen::MatrixXf h =
        (y * y.transpose() - Eigen::MatrixXf::Identity(b.rows(), b.rows())) /
            (1 + mu * y.squaredNorm()) +
        (g * y.transpose() - y * g.transpose()) / (1 + mu * std::abs(y.dot(g)));
    b -= mu * h * b;
  }
};

template <int D>
void BM_EASIStepBaseline(benchmark::State& state) {
  EASI easi(D, 1e-3f);
  std::vector<Eigen::VectorXf> xs(64, Eigen::VectorXf::Zero(D));
  std::mt19937_64 rng(2);
  std::normal_distribution<float> normal;
  for (auto& x : xs) {
    for (auto& v : x) v = normal(rng);
  }
  Eigen::VectorXf y(D);
  std::size_t i = 0;
  for (auto _ : state) {
    easi.step(xs[i++ & 63], y);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}

// Seconds of signal until the Amari index first stays below 0.1 and 0.05 (checked every 0.5 s,
// "stays": at every later check too), on eeg_like(16, 120 s, 256 Hz), cold start, in order.
// Arg 0: ORICA with its defaults (sample_rate set); 1: EASI at a constant rate of 2e-3;
// 2: batch FastICA on the first k seconds (k = 5, 10, 20, ...).
void BM_ConvergenceEEG16(benchmark::State& state) {
  namespace ica = dendrite::ica;
  constexpr int D = 16;
  const auto m = ica::eeg_like(D, 120.0, 256.0, 1);
  const Eigen::Index half_second = 128;
  for (auto _ : state) {
    std::vector<double> amari;
    if (state.range(0) == 0) {
      ica::ORICA<float, D> net({.sample_rate = 256});
      std::array<float, D> x{}, y{};
      for (Eigen::Index i = 0; i < m.mixed.cols(); ++i) {
        for (int c = 0; c < D; ++c) x[std::size_t(c)] = float(m.mixed(c, i));
        benchmark::DoNotOptimize(net.step(x, y));
        if ((i + 1) % half_second == 0) amari.push_back(ica::amari_index(Eigen::MatrixXd(net.unmixing() * m.mixing)));
      }
    } else if (state.range(0) == 1) {
      EASI easi(D, 2e-3f);
      Eigen::VectorXf y(D);
      for (Eigen::Index i = 0; i < m.mixed.cols(); ++i) {
        easi.step(m.mixed.col(i).cast<float>(), y);
        if ((i + 1) % half_second == 0) {
          amari.push_back(ica::amari_index(Eigen::MatrixXd(easi.b.cast<double>() * m.mixing)));
        }
      }
    } else {
      for (Eigen::Index k = 10; k * half_second <= m.mixed.cols(); k += 10) {
        const auto f = ica::fastica(Eigen::MatrixXd(m.mixed.leftCols(k * half_second)));
        amari.push_back(ica::amari_index(Eigen::MatrixXd(f.unmixing * m.mixing)));
      }
    }
    const double step_s = state.range(0) == 2 ? 5.0 : 0.5;
    for (double level : {0.1, 0.05}) {
      double when = -1;
      for (std::size_t k = amari.size(); k-- > 0;) {
        if (amari[k] >= level) break;
        when = double(k + 1) * step_s;
      }
      state.counters[level == 0.1 ? "s_to_0.1" : "s_to_0.05"] = when;
    }
    state.counters["amari_end"] = amari.back();
  }
}

// Tracking an electrode shift: eeg_like(16, 90 s, 256 Hz, abrupt change at 60 s), seeds 1-4,
// medians. Arg 0: ORICA, Cooling; 1: Adaptive; 2: Adaptive, and 5 s after the detection a batch
// fit of those 5 s (ORICA::fit, FastICA) adopted; 3: EASI at a constant rate of 2e-3 (baseline).
// Counters: the Amari index just before the change and 10 s after it, and the seconds after the
// change until it stays within 1.5x of the level before (checked every 0.5 s; -1: not in 30 s).
void BM_TrackingEEG16(benchmark::State& state) {
  namespace ica = dendrite::ica;
  constexpr int D = 16;
  constexpr Eigen::Index half_second = 128, wait = 5 * 256;
  ica::EEGLikeOptions drift;
  drift.drift = ica::MixingDrift::Abrupt;
  drift.change_at_s = 60;
  std::vector<ica::EEGLikeMixture> data;
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    data.push_back(ica::eeg_like(D, 90.0, 256.0, seed, drift));
  }
  const auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return 0.5 * (v[(v.size() - 1) / 2] + v[v.size() / 2]);
  };
  for (auto _ : state) {
    std::vector<double> before, after10, back, fit_ms;
    for (const auto& m : data) {
      const Eigen::Index c = m.change_sample;
      std::vector<double> amari;  // every 0.5 s after the change
      const auto after = [&](const Eigen::MatrixXd& b) {
        return ica::amari_index(Eigen::MatrixXd(b * m.mixing_after));
      };
      if (state.range(0) == 3) {
        EASI easi(D, 2e-3f);
        Eigen::VectorXf y(D);
        for (Eigen::Index i = 0; i < m.mixed.cols(); ++i) {
          easi.step(m.mixed.col(i).cast<float>(), y);
          const Eigen::MatrixXd b = easi.b.cast<double>();
          if (i + 1 == c) before.push_back(ica::amari_index(Eigen::MatrixXd(b * m.mixing)));
          if (i >= c && (i - c + 1) % half_second == 0) amari.push_back(after(b));
        }
      } else {
        using Net = ica::ORICA<float, D>;
        Net net({.schedule = state.range(0) == 0 ? ica::ForgettingSchedule::Cooling
                                                 : ica::ForgettingSchedule::Adaptive,
                 .sample_rate = 256});
        std::array<float, D> x{}, y{};
        Eigen::Index detected = -1;
        std::uint64_t reheats = 0;
        for (Eigen::Index i = 0; i < m.mixed.cols(); ++i) {
          for (int k = 0; k < D; ++k) x[std::size_t(k)] = float(m.mixed(k, i));
          benchmark::DoNotOptimize(net.step(x, y));
          if (i + 1 == c) {
            before.push_back(ica::amari_index(Eigen::MatrixXd(net.unmixing() * m.mixing)));
            reheats = net.reheats();
          }
          if (i >= c && detected < 0 && net.reheats() != reheats) detected = i + 1;
          if (state.range(0) == 2 && detected >= 0 && i + 1 == detected + wait) {
            const auto t0 = std::chrono::steady_clock::now();
            const auto fit = Net::fit(m.mixed.middleCols(detected, wait));
            fit_ms.push_back(std::chrono::duration<double, std::milli>(
                                 std::chrono::steady_clock::now() - t0).count());
            (void)net.adopt(fit);
          }
          if (i >= c && (i - c + 1) % half_second == 0) amari.push_back(after(net.unmixing()));
        }
      }
      after10.push_back(amari[19]);
      double when = -1;
      for (std::size_t k = amari.size(); k-- > 0;) {
        if (amari[k] > 1.5 * before.back()) break;
        when = 0.5 * double(k + 1);
      }
      back.push_back(when);
    }
    state.counters["amari_before"] = median(before);
    state.counters["amari_10s"] = median(after10);
    state.counters["s_back"] = median(back);
    if (!fit_ms.empty()) state.counters["fit_ms"] = median(fit_ms);
  }
}

using dendrite::batchd;
using dendrite::batchf;

}  // namespace

BENCHMARK(BM_FOBI)->Arg(2)->Arg(4)->Arg(8)->Arg(16)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FOBIBaseline)->Arg(2)->Arg(4)->Arg(8)->Arg(16)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FastICA)->Arg(2)->Arg(4)->Arg(8)->Arg(16)->Unit(benchmark::kMillisecond);

#define DENDRITE_ONLINE_ICA_BENCH(T)           \
  BENCHMARK_TEMPLATE(BM_OnlineICAStep, T, 2);  \
  BENCHMARK_TEMPLATE(BM_OnlineICAStep, T, 4);  \
  BENCHMARK_TEMPLATE(BM_OnlineICAStep, T, 8);  \
  BENCHMARK_TEMPLATE(BM_OnlineICAStep, T, 16); \
  BENCHMARK_TEMPLATE(BM_OnlineICAStep, T, 32); \
  BENCHMARK_TEMPLATE(BM_OnlineICAStep, T, 64)
DENDRITE_ONLINE_ICA_BENCH(float);
DENDRITE_ONLINE_ICA_BENCH(double);
DENDRITE_ONLINE_ICA_BENCH(batchf);
DENDRITE_ONLINE_ICA_BENCH(batchd);
BENCHMARK_TEMPLATE(BM_OnlineICAStepWarm, 4)->ArgsProduct({{0, 1}, {0, 1}});
BENCHMARK_TEMPLATE(BM_OnlineICAStepWarm, 8)->ArgsProduct({{0, 1}, {0, 1}});
BENCHMARK_TEMPLATE(BM_OnlineICAStepWarm, 16)->ArgsProduct({{0, 1}, {0, 1}});
BENCHMARK_TEMPLATE(BM_OnlineICAStepWarm, 32)->ArgsProduct({{0, 1}, {0, 1}});
BENCHMARK_TEMPLATE(BM_OnlineICAStepWarm, 64)->ArgsProduct({{0, 1}, {0, 1}});
BENCHMARK_TEMPLATE(BM_OnlineICAStepWarm, 128)->ArgsProduct({{0, 1}, {0, 1}});
// refined only: the direct O(D^3) is left out
BENCHMARK_TEMPLATE(BM_OnlineICAStepWarm, 256)->ArgsProduct({{1}, {0, 1}});
BENCHMARK_TEMPLATE(BM_OnlineICAStepEigenBaseline, 4);
BENCHMARK_TEMPLATE(BM_OnlineICAStepEigenBaseline, 16);
BENCHMARK_TEMPLATE(BM_OnlineICAStepEigenBaseline, 64);
BENCHMARK_TEMPLATE(BM_ORICAStep, float, 4);
BENCHMARK_TEMPLATE(BM_ORICAStep, float, 7);   // odd counts: the kernels' tails
BENCHMARK_TEMPLATE(BM_ORICAStep, float, 14);
BENCHMARK_TEMPLATE(BM_ORICAStep, float, 15);
BENCHMARK_TEMPLATE(BM_ORICAStep, float, 19);  // the 10-20 montage
BENCHMARK_TEMPLATE(BM_ORICAStep, float, 31);  // 32 with the reference dropped
BENCHMARK_TEMPLATE(BM_ORICAStep, float, 16);
BENCHMARK_TEMPLATE(BM_ORICAStep, float, 64);
BENCHMARK_TEMPLATE(BM_ORICAStep, float, 256);
BENCHMARK_TEMPLATE(BM_ORICAStep, batchf, 16);
BENCHMARK_TEMPLATE(BM_ORICAStepEEG, 4)->Arg(0);
BENCHMARK_TEMPLATE(BM_ORICAStepEEG, 8)->Arg(0);
BENCHMARK_TEMPLATE(BM_ORICAStepEEG, 16)->Arg(0);
BENCHMARK_TEMPLATE(BM_ORICAStepEEG, 64)->Arg(0);
BENCHMARK_TEMPLATE(BM_ORICAStepEEG, 128)->Arg(1)->Arg(0);  // serial; the default (blocks of 16)
BENCHMARK_TEMPLATE(BM_ORICAStepEEG, 256)->Arg(1)->Arg(0);
BENCHMARK_TEMPLATE(BM_ORICABlockEEG, 64)->Arg(1)->Arg(8)->Arg(16)->Arg(32);
BENCHMARK_TEMPLATE(BM_ORICABlockEEG, 128)->Arg(1)->Arg(8)->Arg(16)->Arg(32);
BENCHMARK_TEMPLATE(BM_ORICABlockEEG, 256)->Arg(1)->Arg(8)->Arg(16)->Arg(32);
BENCHMARK_TEMPLATE(BM_EASIStepBaseline, 4);
BENCHMARK_TEMPLATE(BM_EASIStepBaseline, 16);
BENCHMARK_TEMPLATE(BM_EASIStepBaseline, 64);
BENCHMARK_TEMPLATE(BM_EASIStepBaseline, 256);
BENCHMARK(BM_ConvergenceEEG16)->Arg(0)->Arg(1)->Arg(2)->Iterations(1)->Unit(benchmark::kSecond);
BENCHMARK(BM_TrackingEEG16)->DenseRange(0, 3)->Iterations(1)->Unit(benchmark::kSecond);
