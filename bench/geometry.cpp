// SPDX-License-Identifier: MIT
// PCA of large data matrices beside a plain Eigen::BDCSVD of the centred data (the baseline), and
// the real-time StreamingPCA / StreamingCovariance steps.
#include <array>
#include <random>

#include <Eigen/SVD>
#include <benchmark/benchmark.h>

#include <dendrite/core/symmetric_eigen.hpp>
#include <dendrite/geometry/pca.hpp>
#include <dendrite/geometry/streaming_pca.hpp>

#include "support.hpp"

namespace {

Eigen::MatrixXd data(Eigen::Index features, Eigen::Index samples) {
  std::mt19937_64 rng(1);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd mix(features, features);
  for (auto& v : mix.reshaped()) {
    v = normal(rng);
  }
  Eigen::MatrixXd z(features, samples);
  for (auto& v : z.reshaped()) {
    v = normal(rng);
  }
  return mix * z;
}

void BM_PCA(benchmark::State& state) {
  const Eigen::MatrixXd x = data(state.range(0), state.range(1));
  for (auto _ : state) {
    dendrite::geometry::PCA<double> pca;
    pca.fit(x);
    benchmark::DoNotOptimize(pca.components().data());
  }
  state.counters["features"] = double(state.range(0));
  state.counters["samples"] = double(state.range(1));
}

// Baseline: what a user would write with Eigen alone.
void BM_BDCSVDBaseline(benchmark::State& state) {
  const Eigen::MatrixXd x = data(state.range(0), state.range(1));
  for (auto _ : state) {
    const Eigen::MatrixXd xc = x.colwise() - x.rowwise().mean();
    Eigen::BDCSVD<Eigen::MatrixXd> svd(xc, Eigen::ComputeThinU);
    benchmark::DoNotOptimize(svd.matrixU().data());
  }
}

// The symmetric eigendecomposition alone (a covariance of `data`): divide and conquer
// (`symmetric_eigen`) beside Eigen's QR iteration (`SelfAdjointEigenSolver`), the baseline.
Eigen::MatrixXd covariance(Eigen::Index features) {
  const Eigen::MatrixXd x = data(features, 4 * features);
  const Eigen::MatrixXd xc = x.colwise() - x.rowwise().mean();
  return xc * xc.transpose() / double(xc.cols() - 1);
}

void BM_SymmetricEigen(benchmark::State& state) {
  const Eigen::MatrixXd c = covariance(state.range(0));
  Eigen::VectorXd values;
  Eigen::MatrixXd vectors;
  for (auto _ : state) {
    const bool ok = dendrite::symmetric_eigen(c, values, vectors);
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(vectors.data());
  }
}

void BM_EigenQRIterationBaseline(benchmark::State& state) {
  const Eigen::MatrixXd c = covariance(state.range(0));
  for (auto _ : state) {
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(c);
    benchmark::DoNotOptimize(eig.eigenvectors().data());
  }
}

template <class T, int D, int K>
void BM_StreamingPCAStep(benchmark::State& state) {
  dendrite::geometry::StreamingPCA<T, D, K> spca;
  const auto xs = dendrite::bench::normal_samples<T, std::size_t(D), 16>(2);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(spca.step(xs[i++ & 15]));
  }
  const double lanes = double(dendrite::lanes_v<T>);
  state.SetItemsProcessed(int64_t(double(state.iterations()) * lanes));  // samples x streams
  // y = W x (2KD), Sanger residual + update (4KD), mean (2D)
  state.counters["FLOP/s"] = benchmark::Counter((6.0 * K * D + 2.0 * D) * lanes,
                                                benchmark::Counter::kIsIterationInvariantRate,
                                                benchmark::Counter::kIs1000);
}

template <class T, int D>
void BM_StreamingCovarianceStep(benchmark::State& state) {
  dendrite::geometry::StreamingCovariance<T, D> sc;
  const auto xs = dendrite::bench::normal_samples<T, std::size_t(D), 16>(3);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(sc.step(xs[i++ & 15]));
  }
  state.SetItemsProcessed(int64_t(double(state.iterations()) * double(dendrite::lanes_v<T>)));
}

using dendrite::batchf;

}  // namespace

BENCHMARK(BM_PCA)->Args({100, 100000})->Args({1000, 10000})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BDCSVDBaseline)
    ->Args({100, 100000})
    ->Args({1000, 10000})
    ->Unit(benchmark::kMillisecond);

BENCHMARK(BM_SymmetricEigen)->Arg(64)->Arg(128)->Arg(300)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EigenQRIterationBaseline)
    ->Arg(64)
    ->Arg(128)
    ->Arg(300)
    ->Arg(1000)
    ->Unit(benchmark::kMillisecond);

BENCHMARK_TEMPLATE(BM_StreamingPCAStep, float, 16, 2);
BENCHMARK_TEMPLATE(BM_StreamingPCAStep, float, 16, 4);
BENCHMARK_TEMPLATE(BM_StreamingPCAStep, float, 16, 8);
BENCHMARK_TEMPLATE(BM_StreamingPCAStep, float, 64, 2);
BENCHMARK_TEMPLATE(BM_StreamingPCAStep, float, 64, 4);
BENCHMARK_TEMPLATE(BM_StreamingPCAStep, float, 64, 8);
BENCHMARK_TEMPLATE(BM_StreamingPCAStep, float, 256, 2);
BENCHMARK_TEMPLATE(BM_StreamingPCAStep, float, 256, 4);
BENCHMARK_TEMPLATE(BM_StreamingPCAStep, float, 256, 8);
BENCHMARK_TEMPLATE(BM_StreamingPCAStep, double, 64, 4);
BENCHMARK_TEMPLATE(BM_StreamingPCAStep, batchf, 16, 4);
BENCHMARK_TEMPLATE(BM_StreamingPCAStep, batchf, 64, 4);
BENCHMARK_TEMPLATE(BM_StreamingCovarianceStep, float, 16);
BENCHMARK_TEMPLATE(BM_StreamingCovarianceStep, double, 64);
BENCHMARK_TEMPLATE(BM_StreamingCovarianceStep, batchf, 16);
