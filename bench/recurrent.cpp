// SPDX-License-Identifier: MIT
// Real-time step of GRU and LSTM (input 32, hidden 8..128, float): dendrite with a scalar float
// (one stream), with batch<float> (lanes_v streams per step; items = streams), PackedGRU and
// PackedLSTM with bf16, f16, int8 and float weights (one stream), a plain Eigen baseline with
// dynamic matrices written directly (W * x, Eigen's vectorised activations), and for the GRU the
// best plain C++ loops (fixed-size arrays, axpy over rows, std::exp / std::tanh); BlockedGRU and
// BlockedLSTM with 4 groups of batch<float> streams per call; the GRU's elementwise part alone
// (BM_GruGates; BM_LstmGates for the LSTM), and on pre-activations near 0
// (BM_GruGatesNearZero); Dense N x N (float) beside PackedDense with bf16, f16 and int8 weights
// and a plain Eigen y = W x + b.
// Also the analysis form over 1000 steps, and the core's float FMA peak (BM_FmaPeak: 12
// independent FMA chains, dendrite/bench/machine.hpp), so that random interleaving measures the
// peak beside the steps it is compared with.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <random>
#include <type_traits>
#include <vector>

#include <benchmark/benchmark.h>

#include <Eigen/Core>

#include <dendrite/bench/machine.hpp>
#include <dendrite/nn/blocked_gru.hpp>
#include <dendrite/nn/blocked_lstm.hpp>
#include <dendrite/nn/dense.hpp>
#include <dendrite/nn/gru.hpp>
#include <dendrite/nn/lstm.hpp>
#include <dendrite/nn/packed_dense.hpp>
#include <dendrite/nn/packed_gru.hpp>
#include <dendrite/nn/packed_lstm.hpp>

namespace {

using dendrite::batchf;
constexpr int kIn = 32;

template <int Gates, int H>
double flops_per_step() {
  // products (2 per multiply-add) plus ~10 elementwise operations per hidden unit and gate
  return 2.0 * Gates * H * (kIn + H) + 10.0 * Gates * H;
}

/// N(0, 1) values from a fixed seed: the input every step is timed on.
template <class T, std::size_t N>
void fill_input(std::array<T, N>& x) {
  std::mt19937 rng(1);
  std::normal_distribution<float> n;
  for (auto& v : x) v = T(n(rng));
}

/// Times block.step(x, h) and reports `streams` items and streams x flops_per_step<Gates, H>
/// FLOP/s per call.
template <int Gates, int H, class Block, class X, class Y>
void time_steps(benchmark::State& state, Block& block, const X& x, Y& h, double streams) {
  benchmark::DoNotOptimize(&block);  // the block must not be optimised away with its state
  for (auto _ : state) {
    benchmark::DoNotOptimize(block.step(x, h));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(double(state.iterations()) * streams));
  state.counters["FLOP/s"] = benchmark::Counter(flops_per_step<Gates, H>() * streams,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

template <template <class, int, int> class Block, int Gates, class T, int H>
void BM_Step(benchmark::State& state) {
  Block<T, kIn, H> block({.seed = 1});
  std::array<T, kIn> x;
  fill_input(x);
  std::array<T, H> h;
  const double lanes = double(dendrite::lanes_v<T>);
  time_steps<Gates, H>(state, block, x, h, lanes);
  state.counters["lanes"] = lanes;
}

template <class T, int H>
void BM_GruStep(benchmark::State& state) {
  BM_Step<dendrite::nn::GRU, 3, T, H>(state);
}
template <class T, int H>
void BM_LstmStep(benchmark::State& state) {
  BM_Step<dendrite::nn::LSTM, 4, T, H>(state);
}

/// BlockedGRU / BlockedLSTM: G groups of lanes_v streams per call over weights read once
/// (items = streams); beside them, BM_GruStep<batchf> and BM_LstmStep<batchf> advance one group
/// per call.
template <template <class, int, int, int> class Block, int Gates, int H, int G>
void BM_Blocked(benchmark::State& state) {
  Block<batchf, kIn, H, G> block({.seed = 1});
  std::array<batchf, kIn * G> x;
  fill_input(x);
  std::array<batchf, H * G> h;
  time_steps<Gates, H>(state, block, x, h, double(G * dendrite::lanes_v<batchf>));
}
template <int H, int G>
void BM_BlockedGruStep(benchmark::State& state) {
  BM_Blocked<dendrite::nn::BlockedGRU, 3, H, G>(state);
}
template <int H, int G>
void BM_BlockedLstmStep(benchmark::State& state) {
  BM_Blocked<dendrite::nn::BlockedLSTM, 4, H, G>(state);
}

/// Times update(), a recurrent cell's elementwise part writing `state` and `out` (escaped, so
/// that ClobberMemory keeps its stores), on pre-activations `pre` (escaped every iteration);
/// items are streams.
template <class T, class Pre, class State, class Out, class Update>
void time_cell(benchmark::State& state, const Pre& pre, State& cell_state, Out& out,
               Update update) {
  benchmark::DoNotOptimize(cell_state.data());
  benchmark::DoNotOptimize(out.data());
  for (auto _ : state) {
    benchmark::DoNotOptimize(pre.data());
    benchmark::DoNotOptimize(update());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(double(state.iterations()) * double(dendrite::lanes_v<T>)));
}

/// Times detail::gru_update on the pre-activations gi and gh (h from 0), in the form
/// GRU<T, kIn, H>::step hands its gates (r and z summed, or apart).
template <class T, int H>
void time_gru_update(benchmark::State& state, const std::array<T, 3 * H>& gi,
                     const std::array<T, 3 * H>& gh) {
  std::array<T, H> h{}, out;
  const dendrite::mask_t<T> finite(true);
  time_cell<T>(state, gi, h, out, [&] {
    return dendrite::nn::detail::gru_update<T, H, dendrite::nn::detail::kGruOnePassRZ<T, kIn, H>>(
        finite, gi.data(), gh.data(), h.data(), out);
  });
}

/// The GRU step's elementwise part alone (detail::gru_update: the r and z sigmoids, the n tanh,
/// the blend and the rejection select) on fixed pre-activations: the step minus this is the
/// time of its two products, so the two parts' shares of a step can be read side by side.
template <class T, int H>
void BM_GruGates(benchmark::State& state) {
  std::array<T, 3 * H> gi, gh;
  fill_input(gi);
  fill_input(gh);
  time_gru_update<T, H>(state, gi, gh);
}

/// The LSTM step's elementwise part alone (detail::lstm_update: the i, f and o sigmoids, the g
/// and c' tanh, c' and h', the rejection select) on fixed pre-activations, as BM_GruGates.
template <class T, int H>
void BM_LstmGates(benchmark::State& state) {
  std::array<T, 4 * H> g;
  fill_input(g);
  std::array<T, 2 * H> hc{};
  std::array<T, H> out;
  const dendrite::mask_t<T> finite(true);
  time_cell<T>(state, g, hc, out, [&] {
    return dendrite::nn::detail::lstm_update<T, H>(finite, g.data(), hc.data(), out);
  });
}

/// BM_GruGates with every pre-activation near 0 (|gi| from 2e-6 to 3e-5, gh = 0), the inputs
/// for which the float gates' polynomial once made subnormal numbers (a microcode assist per
/// instruction, 35x the gates' time): read beside BM_GruGates, which it should equal.
template <class T, int H>
void BM_GruGatesNearZero(benchmark::State& state) {
  std::array<T, 3 * H> gi, gh;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> e(0.0f, 1.0f);
  for (std::size_t i = 0; i < gi.size(); ++i) {
    const float m = 2e-6f * std::pow(15.0f, e(rng));  // 2e-6 ... 3e-5
    gi[i] = T(i % 2 == 0 ? m : -m);
    gh[i] = T(0.0f);
  }
  time_gru_update<T, H>(state, gi, gh);
}

/// PackedGRU / PackedLSTM: the same block's weights stored as bf16 (W = dendrite::bf16), as
/// IEEE half (W = dendrite::f16), as int8 with a scale per row (W = std::int8_t), or as float
/// in the packed block layout (W = float), one stream.
template <template <class, int, int> class Block, template <class, int, int, class> class Packed,
          int Gates, class W, int H>
void BM_PackedStep(benchmark::State& state) {
  Block<float, kIn, H> net({.seed = 1});
  Packed<float, kIn, H, W> block(net);
  std::array<float, kIn> x;
  fill_input(x);
  std::array<float, H> h;
  time_steps<Gates, H>(state, block, x, h, 1.0);
}
template <class W, int H>
void BM_PackedGruStep(benchmark::State& state) {
  BM_PackedStep<dendrite::nn::GRU, dendrite::nn::PackedGRU, 3, W, H>(state);
}
template <class W, int H>
void BM_PackedLstmStep(benchmark::State& state) {
  BM_PackedStep<dendrite::nn::LSTM, dendrite::nn::PackedLSTM, 4, W, H>(state);
}

/// Dense<float, N, N> (W = void), PackedDense<float, N, N, W> over its weights, one sample a
/// call; items = samples.
template <class W, int N>
void BM_DenseStep(benchmark::State& state) {
  const dendrite::nn::Dense<float, N, N> dense({.seed = 1});
  std::array<float, N> x, y{};
  fill_input(x);
  const auto run = [&](const auto& layer) {
    for (auto _ : state) {
      benchmark::DoNotOptimize(layer.step(x, y));
      benchmark::DoNotOptimize(y.data());
      benchmark::ClobberMemory();
    }
  };
  if constexpr (std::is_void_v<W>) {
    run(dense);
  } else {
    run(dendrite::nn::PackedDense<float, N, N, W>(dense));
  }
  state.SetItemsProcessed(state.iterations());
}

/// The plain baseline of BM_DenseStep: y = W x + b with Eigen's dynamic float matrices.
template <int N>
void BM_DenseEigenBaseline(benchmark::State& state) {
  const dendrite::nn::Dense<float, N, N> dense({.seed = 1});
  const Eigen::MatrixXf w = dense.weight.value;
  const Eigen::VectorXf b = dense.bias.value.col(0);
  std::array<float, N> xa;
  fill_input(xa);
  const Eigen::VectorXf x = Eigen::Map<const Eigen::VectorXf>(xa.data(), N);
  Eigen::VectorXf y(N);
  for (auto _ : state) {
    y.noalias() = w * x;
    y += b;
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

/// A packed product y = b + W x (R x C) alone, over N(0, 1) weights and input.
template <class PW, std::size_t R, std::size_t C>
void time_packed_gemv(benchmark::State& state) {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::vector<float> w(R * C), x(C), b(PW::rows, 0.0F), y(PW::rows);
  for (auto& v : w) v = normal(rng);
  for (auto& v : x) v = normal(rng);
  PW pw;
  pw.pack(w.data());
  for (auto _ : state) {
    pw.gemv(x.data(), b.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["rounds_input"] = PW::rounds_input ? 1 : 0;
  state.counters["GMAC/s"] = benchmark::Counter(double(R * C) * double(state.iterations()),
                                                benchmark::Counter::kIsRate,
                                                benchmark::Counter::kIs1000);
}

/// The bf16 product of PackedGRU/PackedLSTM: on a target with AVX512-BF16, Dot = true
/// multiplies bf16 pairs (VDPBF16PS, the input rounded to bf16) and Dot = false is the
/// shift-and-FMA path every other target runs (the baseline).
template <std::size_t R, std::size_t C, bool Dot>
void BM_Bf16Gemv(benchmark::State& state) {
  time_packed_gemv<dendrite::nn::detail::PackedWeights<dendrite::bf16, R, C, Dot>, R, C>(state);
}

/// The int8 product, the input quantized per call: Dot = true runs the target's integer dot
/// product (VPDPBUSD with AVX512-VNNI, VPMADDUBSW + VPMADDWD with AVX2) and Dot = false the
/// portable shift-convert-FMA path (what SSE2 runs).
template <std::size_t R, std::size_t C, bool Dot>
void BM_Int8Gemv(benchmark::State& state) {
  time_packed_gemv<dendrite::nn::detail::Int8Weights<R, C, Dot>, R, C>(state);
}

/// Baseline: the best plain C++ a user would write: fixed-size std::arrays, the weights
/// column-major so that the inner loop is an axpy over rows (it vectorises at -O3 without
/// -ffast-math, unlike a dot product), biases folded into the accumulators, std::exp and
/// std::tanh.
template <int H>
void BM_PlainGruStep(benchmark::State& state) {
  dendrite::nn::GRU<float, kIn, H> ref({.seed = 1});
  constexpr int G = 3 * H;
  std::array<float, G * kIn> wih;
  std::array<float, G * H> whh;
  std::array<float, G> bih, bhh, gi, gh;
  std::copy(ref.weight_ih.value.data(), ref.weight_ih.value.data() + G * kIn, wih.begin());
  std::copy(ref.weight_hh.value.data(), ref.weight_hh.value.data() + G * H, whh.begin());
  std::copy(ref.bias_ih.value.data(), ref.bias_ih.value.data() + G, bih.begin());
  std::copy(ref.bias_hh.value.data(), ref.bias_hh.value.data() + G, bhh.begin());
  std::array<float, kIn> x;
  fill_input(x);
  std::array<float, H> h{};
  for (auto _ : state) {
    gi = bih;
    gh = bhh;
    for (int j = 0; j < kIn; ++j) {
      for (int i = 0; i < G; ++i) gi[i] += wih[j * G + i] * x[j];
    }
    for (int j = 0; j < H; ++j) {
      for (int i = 0; i < G; ++i) gh[i] += whh[j * G + i] * h[j];
    }
    for (int i = 0; i < H; ++i) {
      const float r = 1.0f / (1.0f + std::exp(-(gi[i] + gh[i])));
      const float z = 1.0f / (1.0f + std::exp(-(gi[H + i] + gh[H + i])));
      const float n = std::tanh(gi[2 * H + i] + r * gh[2 * H + i]);
      h[i] = n + z * (h[i] - n);
    }
    benchmark::DoNotOptimize(h.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
}

/// Baseline: PyTorch's GRU equations with dynamic Eigen matrices, buffers preallocated.
template <int H>
void BM_EigenGruStep(benchmark::State& state) {
  dendrite::nn::GRU<float, kIn, H> ref({.seed = 1});
  const Eigen::MatrixXf wih = ref.weight_ih.value, whh = ref.weight_hh.value;
  const Eigen::VectorXf bih = ref.bias_ih.value, bhh = ref.bias_hh.value;
  Eigen::VectorXf x = Eigen::VectorXf::Random(kIn), h = Eigen::VectorXf::Zero(H), gi(3 * H), gh(3 * H);
  Eigen::ArrayXf r(H), z(H), n(H);
  for (auto _ : state) {
    gi.noalias() = wih * x;
    gi += bih;
    gh.noalias() = whh * h;
    gh += bhh;
    r = (gi.head(H) + gh.head(H)).array().logistic();
    z = (gi.segment(H, H) + gh.segment(H, H)).array().logistic();
    n = (gi.tail(H).array() + r * gh.tail(H).array()).tanh();
    h = (n + z * (h.array() - n)).matrix();
    benchmark::DoNotOptimize(h.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.counters["FLOP/s"] = benchmark::Counter(flops_per_step<3, H>(),
                                                benchmark::Counter::kIsIterationInvariantRate);
}

template <int H>
void BM_EigenLstmStep(benchmark::State& state) {
  dendrite::nn::LSTM<float, kIn, H> ref({.seed = 1});
  const Eigen::MatrixXf wih = ref.weight_ih.value, whh = ref.weight_hh.value;
  const Eigen::VectorXf b = ref.bias_ih.value + ref.bias_hh.value;
  Eigen::VectorXf x = Eigen::VectorXf::Random(kIn), h = Eigen::VectorXf::Zero(H), g(4 * H);
  Eigen::ArrayXf c = Eigen::ArrayXf::Zero(H);
  for (auto _ : state) {
    g.noalias() = wih * x;
    g.noalias() += whh * h;
    g += b;
    const auto a = g.array();
    c = a.segment(H, H).logistic() * c + a.head(H).logistic() * a.segment(2 * H, H).tanh();
    h = (a.tail(H).logistic() * c.tanh()).matrix();
    benchmark::DoNotOptimize(h.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.counters["FLOP/s"] = benchmark::Counter(flops_per_step<4, H>(),
                                                benchmark::Counter::kIsIterationInvariantRate);
}

/// Analysis form: 1000 steps of a GRU (input projection as one product, then GEMVs).
template <int H>
void BM_GruForward1000(benchmark::State& state) {
  dendrite::nn::GRU<float, kIn, H> gru({.seed = 1});
  const Eigen::MatrixXf x = Eigen::MatrixXf::Random(kIn, 1000);
  for (auto _ : state) {
    benchmark::DoNotOptimize(gru.forward(x).data());
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * 1000);
}

/// The float FMA peak: FLOP/s of machine.hpp's independent chains of xsimd::batch<float> FMAs.
void BM_FmaPeak(benchmark::State& state) {
  constexpr std::size_t kIterations = 100000;
  for (auto _ : state) {
    benchmark::DoNotOptimize(dendrite::bench::detail::fma_gflops<float>(kIterations));
  }
  state.counters["FLOP/s"] =
      benchmark::Counter(2.0 * double(batchf::size) * dendrite::bench::detail::kFmaChains *
                             double(kIterations),
                         benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

#define DENDRITE_RECURRENT_BENCH(H)                         \
  BENCHMARK_TEMPLATE(BM_GruStep, float, H);                 \
  BENCHMARK_TEMPLATE(BM_GruStep, batchf, H);                \
  BENCHMARK_TEMPLATE(BM_EigenGruStep, H);                   \
  BENCHMARK_TEMPLATE(BM_PlainGruStep, H);                   \
  BENCHMARK_TEMPLATE(BM_PackedGruStep, dendrite::bf16, H);  \
  BENCHMARK_TEMPLATE(BM_PackedGruStep, dendrite::f16, H);   \
  BENCHMARK_TEMPLATE(BM_PackedGruStep, float, H);           \
  BENCHMARK_TEMPLATE(BM_PackedGruStep, std::int8_t, H);     \
  BENCHMARK_TEMPLATE(BM_LstmStep, float, H);                \
  BENCHMARK_TEMPLATE(BM_LstmStep, batchf, H);               \
  BENCHMARK_TEMPLATE(BM_PackedLstmStep, dendrite::bf16, H); \
  BENCHMARK_TEMPLATE(BM_PackedLstmStep, dendrite::f16, H);  \
  BENCHMARK_TEMPLATE(BM_PackedLstmStep, float, H);          \
  BENCHMARK_TEMPLATE(BM_PackedLstmStep, std::int8_t, H);    \
  BENCHMARK_TEMPLATE(BM_EigenLstmStep, H);

DENDRITE_RECURRENT_BENCH(8)
DENDRITE_RECURRENT_BENCH(16)
DENDRITE_RECURRENT_BENCH(32)
DENDRITE_RECURRENT_BENCH(64)
DENDRITE_RECURRENT_BENCH(100)
DENDRITE_RECURRENT_BENCH(128)
BENCHMARK_TEMPLATE(BM_Bf16Gemv, 192, 64, false);  // GRU hidden 64: W_hh
BENCHMARK_TEMPLATE(BM_Bf16Gemv, 192, 64, true);
BENCHMARK_TEMPLATE(BM_Bf16Gemv, 384, 128, false);  // GRU hidden 128: W_hh
BENCHMARK_TEMPLATE(BM_Bf16Gemv, 384, 128, true);
BENCHMARK_TEMPLATE(BM_Int8Gemv, 192, 64, false);  // the portable path, then the dot product
BENCHMARK_TEMPLATE(BM_Int8Gemv, 192, 64, true);
BENCHMARK_TEMPLATE(BM_Int8Gemv, 384, 128, false);
BENCHMARK_TEMPLATE(BM_Int8Gemv, 384, 128, true);
#define DENDRITE_DENSE_SIZE(N)                          \
  BENCHMARK_TEMPLATE(BM_DenseEigenBaseline, N);         \
  BENCHMARK_TEMPLATE(BM_DenseStep, void, N);            \
  BENCHMARK_TEMPLATE(BM_DenseStep, dendrite::bf16, N);  \
  BENCHMARK_TEMPLATE(BM_DenseStep, dendrite::f16, N);   \
  BENCHMARK_TEMPLATE(BM_DenseStep, std::int8_t, N)
DENDRITE_DENSE_SIZE(64);
DENDRITE_DENSE_SIZE(128);
DENDRITE_DENSE_SIZE(256);
BENCHMARK_TEMPLATE(BM_GruGates, float, 64);
BENCHMARK_TEMPLATE(BM_GruGatesNearZero, float, 64);
BENCHMARK_TEMPLATE(BM_GruGatesNearZero, batchf, 64);
BENCHMARK_TEMPLATE(BM_GruGates, batchf, 32);
BENCHMARK_TEMPLATE(BM_GruGates, batchf, 64);
BENCHMARK_TEMPLATE(BM_GruGates, batchf, 128);
BENCHMARK_TEMPLATE(BM_LstmGates, batchf, 32);
BENCHMARK_TEMPLATE(BM_LstmGates, batchf, 64);
BENCHMARK_TEMPLATE(BM_LstmGates, batchf, 128);
BENCHMARK_TEMPLATE(BM_BlockedGruStep, 32, 4);
BENCHMARK_TEMPLATE(BM_BlockedGruStep, 64, 4);
BENCHMARK_TEMPLATE(BM_BlockedGruStep, 128, 4);
BENCHMARK_TEMPLATE(BM_BlockedLstmStep, 32, 4);
BENCHMARK_TEMPLATE(BM_BlockedLstmStep, 64, 4);
BENCHMARK_TEMPLATE(BM_BlockedLstmStep, 128, 4);
BENCHMARK_TEMPLATE(BM_GruForward1000, 64)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FmaPeak);
