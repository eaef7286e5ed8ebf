// SPDX-License-Identifier: MIT
// Batch ICA (FOBI, FastICA) on 100 000 samples and the OnlineICA real-time step, beside plain
// baselines in the same binary: FOBI written directly with Eigen (full covariance products, a
// dense K accumulation) and one step of the network with Eigen's dynamic LLT (what a direct port
// of the authors' numpy code looks like).
#include <array>
#include <random>
#include <vector>

#include <Eigen/Dense>
#include <benchmark/benchmark.h>

#include <dendrite/ica/fastica.hpp>
#include <dendrite/ica/fobi.hpp>
#include <dendrite/ica/online_ica.hpp>

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
BENCHMARK_TEMPLATE(BM_OnlineICAStepEigenBaseline, 4);
BENCHMARK_TEMPLATE(BM_OnlineICAStepEigenBaseline, 16);
BENCHMARK_TEMPLATE(BM_OnlineICAStepEigenBaseline, 64);
