// SPDX-License-Identifier: MIT
// Forward mode (first part): value and derivative of f(x) = tanh(x) exp(-x^2) + sigmoid(x) at 1e6 points,
// one point per Dual<float, 1> (baseline) vs lanes_v points per Dual<batch<float>, 1>.
#include <random>
#include <vector>

#include <benchmark/benchmark.h>

#include <dendrite/autodiff/dual.hpp>
#include <dendrite/autodiff/ops.hpp>
#include <dendrite/autodiff/tape.hpp>

namespace {

constexpr std::size_t kPoints = 1 << 20;

template <class D>
D f(const D& x) {
  return dendrite::autodiff::tanh(x) * dendrite::autodiff::exp(-(x * x)) +
         dendrite::autodiff::sigmoid(x);
}

template <class T>
void BM_DualDerivative(benchmark::State& state) {
  std::vector<float> x(kPoints), y(kPoints), dy(kPoints);
  for (std::size_t i = 0; i < kPoints; ++i) {
    x[i] = -4.0f + 8.0f * float(i) / float(kPoints);
  }
  constexpr std::size_t L = dendrite::lanes_v<T>;
  for (auto _ : state) {
    for (std::size_t i = 0; i < kPoints; i += L) {
      const auto r = f(dendrite::autodiff::Dual<T, 1>(dendrite::load<T>(x.data() + i), 0));
      dendrite::store(y.data() + i, r.a);
      dendrite::store(dy.data() + i, r.v[0]);
    }
    benchmark::DoNotOptimize(dy.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(kPoints));
  state.counters["lanes"] = double(L);
}

using dendrite::batchf;

}  // namespace

BENCHMARK_TEMPLATE(BM_DualDerivative, float)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_DualDerivative, batchf)->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------------------------
// Reverse mode: gradient of a tanh RNN (input 32, hidden 100, 50 steps, batch 64, linear readout
// to 4 at every step, MSE over all steps and outputs), float.
//   h_t = tanh(W h_{t-1} + U x_t + b),  y_t = R h_t + c,  L = mean((y - target)^2)
// Three rows: the tape (forward only, and forward + backward), and the same gradient written by
// hand with Eigen (baseline: what the tape's bookkeeping costs). Both project the inputs of all
// steps with one matrix product, as cuDNN-style RNN code does.

namespace {

namespace ad = dendrite::autodiff;
using MatF = ad::Mat<float>;

struct RnnProblem {
  static constexpr Eigen::Index kIn = 32, kHidden = 100, kOut = 4, kSteps = 50, kBatch = 64;
  ad::Parameter<float> w, u, b, r, c;
  MatF x;       // kIn x (kSteps kBatch): step t is columns [t kBatch, (t + 1) kBatch)
  MatF target;  // kOut x (kSteps kBatch)

  RnnProblem() {
    const auto rnd = [](Eigen::Index rows, Eigen::Index cols, unsigned seed, float scale) {
      std::mt19937_64 rng(seed);
      std::normal_distribution<float> normal(0.0f, scale);
      return MatF(MatF::NullaryExpr(rows, cols, [&] { return normal(rng); }));
    };
    w = ad::Parameter<float>(rnd(kHidden, kHidden, 1, 1.0f / 10.0f));
    u = ad::Parameter<float>(rnd(kHidden, kIn, 2, 1.0f / 5.7f));
    b = ad::Parameter<float>(kHidden, 1);
    r = ad::Parameter<float>(rnd(kOut, kHidden, 3, 0.1f));
    c = ad::Parameter<float>(kOut, 1);
    x = rnd(kIn, kSteps * kBatch, 4, 1.0f);
    target = rnd(kOut, kSteps * kBatch, 5, 1.0f);
  }

  /// FLOPs of the forward pass's matrix products.
  static double forward_flops() {
    return 2.0 * double(kSteps * kBatch) *
           double(kHidden * kIn + (kSteps - 1) * kHidden * kHidden / kSteps + kOut * kHidden);
  }
};

ad::Var<float> rnn_loss(ad::Tape<float>& t, RnnProblem& p, std::vector<ad::Var<float>>& hs) {
  const auto B = RnnProblem::kBatch;
  const ad::Var<float> ux = ad::addmm(t.param(p.b), t.param(p.u), t.input(p.x));
  const ad::Var<float> w = t.param(p.w);
  hs.clear();
  ad::Var<float> h = ad::tanh(ad::slice_cols(ux, 0, B));
  hs.push_back(h);
  for (Eigen::Index k = 1; k < RnnProblem::kSteps; ++k) {
    h = ad::tanh(ad::addmm(ad::slice_cols(ux, k * B, B), w, h));
    hs.push_back(h);
  }
  const ad::Var<float> y = ad::addmm(t.param(p.c), t.param(p.r), ad::concat_cols(hs));
  return ad::mse(y, t.input(p.target));
}

void BM_TapeRnnForward(benchmark::State& state) {
  RnnProblem p;
  ad::Tape<float> t;
  std::vector<ad::Var<float>> hs;
  hs.reserve(RnnProblem::kSteps);
  for (auto _ : state) {
    t.clear();
    benchmark::DoNotOptimize(rnn_loss(t, p, hs).item());
  }
  state.counters["FLOP/s"] = benchmark::Counter(RnnProblem::forward_flops(),
                                                benchmark::Counter::kIsIterationInvariantRate);
}

void BM_TapeRnnForwardBackward(benchmark::State& state) {
  RnnProblem p;
  ad::Tape<float> t;
  std::vector<ad::Var<float>> hs;
  hs.reserve(RnnProblem::kSteps);
  for (auto _ : state) {
    t.clear();
    const ad::Var<float> loss = rnn_loss(t, p, hs);
    t.backward(loss);
    benchmark::DoNotOptimize(p.w.grad.data());
    benchmark::ClobberMemory();
  }
  state.counters["FLOP/s"] = benchmark::Counter(3 * RnnProblem::forward_flops(),
                                                benchmark::Counter::kIsIterationInvariantRate);
}

/// Baseline: the same forward and BPTT written by hand with Eigen, buffers allocated once.
void BM_HandRnnForwardBackward(benchmark::State& state) {
  RnnProblem p;
  constexpr auto H = RnnProblem::kHidden, B = RnnProblem::kBatch, S = RnnProblem::kSteps;
  MatF a(H, S * B), hs(H, S * B), y(RnnProblem::kOut, S * B), dy(RnnProblem::kOut, S * B),
      dh(H, B), da(H, S * B);
  for (auto _ : state) {
    a.noalias() = p.u.value * p.x;
    a.colwise() += p.b.value.col(0);
    hs.leftCols(B) = a.leftCols(B).array().tanh();
    for (Eigen::Index k = 1; k < S; ++k) {
      a.middleCols(k * B, B).noalias() += p.w.value * hs.middleCols((k - 1) * B, B);
      hs.middleCols(k * B, B) = a.middleCols(k * B, B).array().tanh();
    }
    y.noalias() = p.r.value * hs;
    y.colwise() += p.c.value.col(0);
    dy = (2.0f / float(y.size())) * (y - p.target);
    p.r.grad.noalias() += dy * hs.transpose();
    p.c.grad += dy.rowwise().sum();
    for (Eigen::Index k = S - 1; k >= 0; --k) {
      dh.noalias() = p.r.value.transpose() * dy.middleCols(k * B, B);
      if (k + 1 < S) {
        dh.noalias() += p.w.value.transpose() * da.middleCols((k + 1) * B, B);
      }
      da.middleCols(k * B, B) =
          dh.array() * (1.0f - hs.middleCols(k * B, B).array().square());
      if (k > 0) {
        p.w.grad.noalias() += da.middleCols(k * B, B) * hs.middleCols((k - 1) * B, B).transpose();
      }
    }
    p.u.grad.noalias() += da * p.x.transpose();
    p.b.grad += da.rowwise().sum();
    benchmark::DoNotOptimize(p.w.grad.data());
    benchmark::ClobberMemory();
  }
  state.counters["FLOP/s"] = benchmark::Counter(3 * RnnProblem::forward_flops(),
                                                benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

BENCHMARK(BM_TapeRnnForward)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TapeRnnForwardBackward)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HandRnnForwardBackward)->Unit(benchmark::kMillisecond);
