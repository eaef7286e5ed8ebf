// SPDX-License-Identifier: MIT
// Dense, RNN, GRU and LSTM: each against PyTorch's published equations written out plainly here
// (and against PyTorch itself through tests/data/pytorch), the three forms against each other,
// lanes against scalar streams, rejection of bad samples, no allocation in step, gradcheck of
// BPTT, and two small learning tasks.
#include "support/alloc_counter.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <type_traits>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include <dendrite/autodiff/gradcheck.hpp>
#include <dendrite/autodiff/optim.hpp>
#include <dendrite/io/pytorch.hpp>
#include <dendrite/nn.hpp>

#include "support/int8_extremes.hpp"
#include "support/random.hpp"

namespace ad = dendrite::autodiff;
namespace nn = dendrite::nn;
using ad::Index;
using MatD = ad::Mat<double>;
using dendrite::batchd;
using dendrite::batchf;
using dendrite::Status;
using dendrite::test::random_matrix;

namespace {

double sig(double x) { return 1 / (1 + std::exp(-x)); }

/// PyTorch's GRU equations, one element at a time (torch.nn.GRU documentation).
MatD reference_gru(const MatD& wih, const MatD& whh, const MatD& bih, const MatD& bhh,
                   const MatD& x) {
  const Index H = whh.cols();
  std::vector<double> h(std::size_t(H), 0.0), hn(std::size_t(H), 0.0);
  MatD out(H, x.cols());
  for (Index t = 0; t < x.cols(); ++t) {
    for (Index i = 0; i < H; ++i) {
      double ir = bih(i), iz = bih(H + i), in = bih(2 * H + i);
      double hr = bhh(i), hz = bhh(H + i), hh = bhh(2 * H + i);
      for (Index j = 0; j < x.rows(); ++j) {
        ir += wih(i, j) * x(j, t);
        iz += wih(H + i, j) * x(j, t);
        in += wih(2 * H + i, j) * x(j, t);
      }
      for (Index j = 0; j < H; ++j) {
        hr += whh(i, j) * h[std::size_t(j)];
        hz += whh(H + i, j) * h[std::size_t(j)];
        hh += whh(2 * H + i, j) * h[std::size_t(j)];
      }
      const double r = sig(ir + hr), z = sig(iz + hz), n = std::tanh(in + r * hh);
      hn[std::size_t(i)] = (1 - z) * n + z * h[std::size_t(i)];
    }
    h = hn;
    for (Index i = 0; i < H; ++i) out(i, t) = h[std::size_t(i)];
  }
  return out;
}

/// PyTorch's LSTM equations (torch.nn.LSTM documentation), gate order i, f, g, o.
MatD reference_lstm(const MatD& wih, const MatD& whh, const MatD& bih, const MatD& bhh,
                    const MatD& x) {
  const Index H = whh.cols();
  std::vector<double> h(std::size_t(H), 0.0), c(std::size_t(H), 0.0), hn(std::size_t(H), 0.0);
  MatD out(H, x.cols());
  for (Index t = 0; t < x.cols(); ++t) {
    for (Index i = 0; i < H; ++i) {
      double g[4];
      for (Index q = 0; q < 4; ++q) {
        g[q] = bih(q * H + i) + bhh(q * H + i);
        for (Index j = 0; j < x.rows(); ++j) g[q] += wih(q * H + i, j) * x(j, t);
        for (Index j = 0; j < H; ++j) g[q] += whh(q * H + i, j) * h[std::size_t(j)];
      }
      c[std::size_t(i)] = sig(g[1]) * c[std::size_t(i)] + sig(g[0]) * std::tanh(g[2]);
      hn[std::size_t(i)] = sig(g[3]) * std::tanh(c[std::size_t(i)]);
    }
    h = hn;
    for (Index i = 0; i < H; ++i) out(i, t) = h[std::size_t(i)];
  }
  return out;
}

/// The leaky RNN of Cueva et al.: s' = (1 - a) s + a (W_hh f(s) + W_ih x + b), h = f(s).
template <class F>
MatD reference_rnn(const MatD& wih, const MatD& whh, const MatD& bih, const MatD& bhh,
                   const MatD& x, double a, F f) {
  const Index H = whh.cols();
  std::vector<double> s(std::size_t(H), 0.0), sn(std::size_t(H), 0.0);
  MatD out(H, x.cols());
  for (Index t = 0; t < x.cols(); ++t) {
    for (Index i = 0; i < H; ++i) {
      double u = bih(i) + bhh(i);
      for (Index j = 0; j < x.rows(); ++j) u += wih(i, j) * x(j, t);
      for (Index j = 0; j < H; ++j) u += whh(i, j) * f(s[std::size_t(j)]);
      sn[std::size_t(i)] = (1 - a) * s[std::size_t(i)] + a * u;
    }
    s = sn;
    for (Index i = 0; i < H; ++i) out(i, t) = f(s[std::size_t(i)]);
  }
  return out;
}

/// Runs `block.step` over the columns of x (double), returning the outputs.
template <class Block>
MatD run_steps(Block& block, const MatD& x) {
  constexpr int In = Block::input_size, Out = Block::output_size;
  using T = typename Block::value_type;
  MatD out(Out, x.cols());
  std::array<T, In> xi{};
  std::array<T, Out> yi{};
  for (Index t = 0; t < x.cols(); ++t) {
    for (int j = 0; j < In; ++j) xi[std::size_t(j)] = T(x(j, t));
    REQUIRE(block.step(xi, yi) == Status::Ok);
    for (int i = 0; i < Out; ++i) out(i, t) = yi[std::size_t(i)];
  }
  return out;
}

/// The tape form on `batch` sequences laid out step-major; returns the value.
template <class Block>
MatD run_tape(Block& block, const MatD& x, Index batch) {
  ad::Tape<double> t;
  return block.forward(t, t.constant(x), batch).value();
}

/// Interleaves sequences (each In x steps) into the tape layout In x (steps * batch).
MatD interleave(const std::vector<MatD>& seqs) {
  const Index b = Index(seqs.size()), steps = seqs[0].cols();
  MatD x(seqs[0].rows(), steps * b);
  for (Index k = 0; k < steps; ++k)
    for (Index j = 0; j < b; ++j) x.col(k * b + j) = seqs[std::size_t(j)].col(k);
  return x;
}

const char* kFixtures = DENDRITE_TEST_DATA_DIR "/pytorch";

}  // namespace

TEST_CASE("GRU, LSTM and RNN reproduce PyTorch's equations written out", "[nn][reference]") {
  const MatD x = random_matrix(3, 9, 1);
  SECTION("GRU") {
    nn::GRU<double, 3, 5> gru({.seed = 7});
    const MatD want = reference_gru(gru.weight_ih.value, gru.weight_hh.value, gru.bias_ih.value,
                                    gru.bias_hh.value, x);
    CHECK((gru.forward(x) - want).cwiseAbs().maxCoeff() < 1e-14);
    CHECK((run_steps(gru, x) - want).cwiseAbs().maxCoeff() < 1e-14);
  }
  SECTION("LSTM") {
    nn::LSTM<double, 3, 5> lstm({.seed = 8});
    const MatD want = reference_lstm(lstm.weight_ih.value, lstm.weight_hh.value,
                                     lstm.bias_ih.value, lstm.bias_hh.value, x);
    CHECK((lstm.forward(x) - want).cwiseAbs().maxCoeff() < 1e-14);
    CHECK((run_steps(lstm, x) - want).cwiseAbs().maxCoeff() < 1e-14);
  }
  SECTION("RNN, leak 0.3, retanh") {
    nn::RNN<double, 3, 5, nn::ReTanh> rnn({.alpha = 0.3, .seed = 9});
    rnn.weight_hh.value *= 3.0;  // strong enough that some units go negative and are cut
    const MatD want = reference_rnn(rnn.weight_ih.value, rnn.weight_hh.value, rnn.bias_ih.value,
                                    rnn.bias_hh.value, x, 0.3,
                                    [](double s) { return std::max(0.0, std::tanh(s)); });
    CHECK((want.array() == 0).any());
    CHECK((rnn.forward(x) - want).cwiseAbs().maxCoeff() < 1e-14);
    CHECK((run_steps(rnn, x) - want).cwiseAbs().maxCoeff() < 1e-14);
  }
  SECTION("RNN, leak 1, tanh: PyTorch's RNNCell h' = tanh(W_ih x + b_ih + W_hh h + b_hh)") {
    nn::RNN<double, 3, 5> rnn({.seed = 10});
    MatD h = MatD::Zero(5, 1), want(5, x.cols());
    for (Index t = 0; t < x.cols(); ++t) {
      h = (rnn.weight_ih.value * x.col(t) + rnn.bias_ih.value + rnn.weight_hh.value * h +
           rnn.bias_hh.value).array().tanh().matrix();
      want.col(t) = h;
    }
    CHECK((rnn.forward(x) - want).cwiseAbs().maxCoeff() < 1e-14);
  }
  SECTION("Dense with hand-written weights") {
    nn::Dense<double, 2, 2, nn::ReLU> dense;
    dense.weight.value << 1.0, -2.0, 0.5, 0.25;
    dense.bias.value << 0.1, -3.0;
    const MatD in = (MatD(2, 2) << 1.0, 2.0, 3.0, -1.0).finished();
    // column 0: (1 - 6 + 0.1, 0.5 + 0.75 - 3) = (-4.9, -1.75) -> relu (0, 0)
    // column 1: (2 + 2 + 0.1, 1 - 0.25 - 3) = (4.1, -2.25) -> (4.1, 0)
    const MatD want = (MatD(2, 2) << 0.0, 4.1, 0.0, 0.0).finished();
    CHECK((dense.forward(in) - want).cwiseAbs().maxCoeff() < 1e-15);
    CHECK((run_steps(dense, in) - want).cwiseAbs().maxCoeff() < 1e-15);
  }
}

namespace {

/// The real-time step of GRU<T, In, H> or LSTM<T, In, H> against PyTorch's equations written
/// out in double, over 25 steps of N(0, 1) input; returns the largest difference.
template <template <class, int, int> class Block, class T, int In, int H>
double step_vs_reference(std::uint64_t seed) {
  Block<T, In, H> block({.seed = seed});
  const MatD x = random_matrix(In, 25, seed + 1);
  const MatD wih = block.weight_ih.value.template cast<double>();
  const MatD whh = block.weight_hh.value.template cast<double>();
  const MatD bih = block.bias_ih.value.template cast<double>();
  const MatD bhh = block.bias_hh.value.template cast<double>();
  MatD want;
  if constexpr (std::is_same_v<Block<T, In, H>, nn::GRU<T, In, H>>) {
    want = reference_gru(wih, whh, bih, bhh, x);
  } else {
    want = reference_lstm(wih, whh, bih, bhh, x);
  }
  return (run_steps(block, x) - want).cwiseAbs().maxCoeff();
}

}  // namespace

TEST_CASE("the steps match the written-out equations at sizes that split the products' rows",
          "[nn][reference]") {
  // 3H (GRU) and 4H (LSTM) rows fall in register blocks of up to 16 (AVX-512) or 12 (AVX2)
  // batches, balanced, with a remainder block and an overlapping tail: 24, 32, 48, 64 and 100
  // units cover one block, two equal ones, uneven ones and a tail on every target; float on
  // AVX-512 keeps 17-32 batches in one block: GRU 100 (300 rows) 18 and a tail of 12 rows, LSTM
  // 101 (404 rows) 25 and a tail of 4
  const double g24 = step_vs_reference<nn::GRU, float, 5, 24>(91);
  const double g32 = step_vs_reference<nn::GRU, float, 32, 32>(92);
  const double g100 = step_vs_reference<nn::GRU, float, 7, 100>(93);
  const double l16 = step_vs_reference<nn::LSTM, float, 32, 16>(98);
  const double l32 = step_vs_reference<nn::LSTM, float, 32, 32>(94);
  const double l50 = step_vs_reference<nn::LSTM, float, 3, 50>(95);
  const double l101 = step_vs_reference<nn::LSTM, float, 5, 101>(99);
  INFO("float: GRU 24 " << g24 << ", 32 " << g32 << ", 100 " << g100 << "; LSTM 16 " << l16
                        << ", 32 " << l32 << ", 50 " << l50 << ", 101 " << l101);
  // float sums of up to 107 unit-size terms (about 6e-8 sqrt(107) each) and the gates' 4.5e-7,
  // through contractive gates; a row block left out or counted twice would be off by O(0.1)
  CHECK(g24 < 2e-6);
  CHECK(g32 < 2e-6);
  CHECK(g100 < 2e-6);
  CHECK(l16 < 2e-6);
  CHECK(l32 < 2e-6);
  CHECK(l50 < 2e-6);
  CHECK(l101 < 2e-6);
  CHECK(step_vs_reference<nn::GRU, double, 9, 48>(96) < 1e-13);
  CHECK(step_vs_reference<nn::LSTM, double, 9, 48>(97) < 1e-13);

  // Dense takes the same row blocks: 301 outputs (18 batches and a 13-row tail on AVX-512) and
  // 448 (28, the largest fully unrolled block), against W x + b summed in double
  const auto dense_error = []<int In, int Out>(std::uint64_t seed) {
    const nn::Dense<float, In, Out> dense({.seed = seed});
    std::mt19937_64 rng(seed + 1);
    std::normal_distribution<float> normal;
    std::array<float, In> x{};
    for (float& v : x) v = normal(rng);
    std::array<float, Out> y{};
    REQUIRE(dense.step(x, y) == Status::Ok);
    double worst = 0;
    for (int i = 0; i < Out; ++i) {
      double s = dense.bias.value(i);
      for (int j = 0; j < In; ++j) s += double(dense.weight.value(i, j)) * x[std::size_t(j)];
      worst = std::max(worst, std::abs(y[std::size_t(i)] - s));
    }
    return worst;
  };
  const double d301 = dense_error.operator()<17, 301>(100);
  const double d448 = dense_error.operator()<64, 448>(101);
  INFO("Dense 17 x 301 " << d301 << ", 64 x 448 " << d448);
  CHECK(d301 < 2e-6);
  CHECK(d448 < 2e-6);
}

TEST_CASE("blocks loaded from PyTorch state_dicts reproduce PyTorch's own outputs", "[nn][io][reference]") {
  const auto check = [](auto& block, const char* name) {
    const std::string dir = std::string(kFixtures) + "/" + name;
    dendrite::io::load_pytorch(block, dir);  // also verifies the check pair to 1e-4
    const MatD x = dendrite::io::read_npy<double>(dir + "/check_input.npy").transpose();
    const MatD want = dendrite::io::read_npy<double>(dir + "/check_output.npy").transpose();
    INFO(name);
    CHECK((block.forward(x) - want).cwiseAbs().maxCoeff() < 1e-12);
    CHECK((run_steps(block, x) - want).cwiseAbs().maxCoeff() < 1e-12);
  };
  nn::GRU<double, 3, 5> gru;
  check(gru, "gru");
  nn::LSTM<double, 3, 5> lstm;
  check(lstm, "lstm");
  nn::RNN<double, 3, 5> rnn;
  check(rnn, "rnn_tanh");
  nn::Dense<double, 3, 5> linear;
  check(linear, "linear");
}

TEST_CASE("the three forms agree on random weights", "[nn][forms]") {
  std::vector<MatD> seqs;
  for (int j = 0; j < 3; ++j) seqs.push_back(random_matrix(4, 12, 20 + std::uint64_t(j)));
  const MatD x = interleave(seqs);
  const auto agree = [&](auto& block) {
    const MatD tape = run_tape(block, x, 3);
    for (Index j = 0; j < 3; ++j) {
      const MatD fwd = block.forward(seqs[std::size_t(j)]);
      block.reset();
      const MatD steps = run_steps(block, seqs[std::size_t(j)]);
      block.reset();
      for (Index k = 0; k < 12; ++k) {
        CHECK((tape.col(k * 3 + j) - fwd.col(k)).cwiseAbs().maxCoeff() < 1e-12);
      }
      CHECK((steps - fwd).cwiseAbs().maxCoeff() < 1e-12);
    }
  };
  nn::GRU<double, 4, 6> gru({.seed = 30});
  agree(gru);
  nn::LSTM<double, 4, 6> lstm({.seed = 31});
  agree(lstm);
  nn::RNN<double, 4, 6, nn::ReTanh> rnn({.alpha = 0.2, .seed = 32});
  agree(rnn);
  nn::RNN<double, 4, 6, nn::Identity> linear_rnn({.alpha = 0.5, .seed = 33});
  agree(linear_rnn);
  nn::Dense<double, 4, 6, nn::Tanh> dense({.seed = 34});
  ad::Tape<double> t;
  CHECK((dense.forward(t, t.constant(x)).value() - dense.forward(x)).cwiseAbs().maxCoeff() < 1e-14);
}

namespace {

// The largest difference between lane k of each batch block's output and its scalar copy k's
// output on stream k (the k-th lane of the same inputs), over `steps` random inputs of In values.
// Each argument is a pair (batch block, std::vector of L scalar blocks).
template <class B, std::size_t In, class... Pairs>
double worst_lane_difference(std::uint64_t seed, int steps, Pairs... pairs) {
  using S = dendrite::scalar_t<B>;
  constexpr std::size_t L = dendrite::lanes_v<B>;
  dendrite::test::SeededStream rng(seed);
  double worst = 0;
  for (int t = 0; t < steps; ++t) {
    std::array<B, In> xb;
    std::array<std::array<S, In>, L> xs;
    for (std::size_t i = 0; i < In; ++i) {
      for (std::size_t k = 0; k < L; ++k) xs[k][i] = S(rng.normal());
      xb[i] = B(S(0));
      for (std::size_t k = 0; k < L; ++k) dendrite::set_lane(xb[i], k, xs[k][i]);
    }
    const auto compare = [&](auto* block_b, auto* blocks_s) {
      constexpr auto N = std::size_t(std::remove_pointer_t<decltype(block_b)>::output_size);
      std::array<B, N> yb;
      std::array<S, N> ys;
      REQUIRE(block_b->step(xb, yb) == Status::Ok);
      for (std::size_t k = 0; k < L; ++k) {
        REQUIRE((*blocks_s)[k].step(xs[k], ys) == Status::Ok);
        for (std::size_t i = 0; i < N; ++i) {
          worst = std::max(worst, std::abs(double(dendrite::lane(yb[i], k)) - double(ys[i])));
        }
      }
    };
    (compare(pairs.first, pairs.second), ...);
  }
  return worst;
}

}  // namespace

TEMPLATE_TEST_CASE("lane k of a batch step equals the scalar step on stream k", "[nn][lanes]",
                   batchf, batchd) {
  using B = TestType;
  using S = dendrite::scalar_t<B>;
  constexpr std::size_t L = dendrite::lanes_v<B>;
  // float: the scalar path sums in a different order (vectorised over rows) and its activations
  // come from a different vector width, so lanes agree to a few ulp of the state's size.
  const double tol = std::is_same_v<S, float> ? 2e-6 : 1e-14;
  nn::GRU<B, 5, 7> gru_b({.seed = 3});
  nn::LSTM<B, 5, 7> lstm_b({.seed = 4});
  nn::RNN<B, 5, 7, nn::ReTanh> rnn_b({.alpha = 0.1, .seed = 5});
  std::vector<nn::GRU<S, 5, 7>> gru_s(L, nn::GRU<S, 5, 7>({.seed = 3}));
  std::vector<nn::LSTM<S, 5, 7>> lstm_s(L, nn::LSTM<S, 5, 7>({.seed = 4}));
  std::vector<nn::RNN<S, 5, 7, nn::ReTanh>> rnn_s(L, nn::RNN<S, 5, 7, nn::ReTanh>({.alpha = 0.1, .seed = 5}));
  const double worst = worst_lane_difference<B, 5>(6, 30, std::pair(&gru_b, &gru_s),
                                                   std::pair(&lstm_b, &lstm_s),
                                                   std::pair(&rnn_b, &rnn_s));
  CHECK(worst < tol);
  CHECK(worst >= 0);
}

// From 96 rows a product of 8 float lanes on AVX2 (16 on AVX-512) runs across rows (8 or 16
// rows a vector, the lanes transposed in at the end) with the last R mod lanes rows in the
// lanes' form: 99 rows (GRU 33), 132 (LSTM 33), 100 (RNN and Dense 100) take both forms, from a
// bias and from y; LSTM 32's 128 rows take both of its products in one pass (gemv_bias2), as
// do the r and z rows of GRU 32 and 48 with 32 inputs (gemv_across_row_range).
TEMPLATE_TEST_CASE("lane k of a batch step equals the scalar step at sizes past 96 rows",
                   "[nn][lanes]", batchf, batchd) {
  using B = TestType;
  using S = dendrite::scalar_t<B>;
  constexpr std::size_t L = dendrite::lanes_v<B>;
  // float: the scalar path sums in another order (as above); measured 1.2e-7 on AVX2
  const double tol = std::is_same_v<S, float> ? 2e-6 : 1e-14;
  nn::GRU<B, 5, 33> gru_b({.seed = 13});
  nn::LSTM<B, 5, 33> lstm_b({.seed = 14});
  nn::RNN<B, 5, 100, nn::ReTanh> rnn_b({.alpha = 0.1, .seed = 15});
  nn::Dense<B, 5, 100, nn::Tanh> dense_b({.seed = 16});
  std::vector<nn::GRU<S, 5, 33>> gru_s(L, nn::GRU<S, 5, 33>({.seed = 13}));
  std::vector<nn::LSTM<S, 5, 33>> lstm_s(L, nn::LSTM<S, 5, 33>({.seed = 14}));
  std::vector<nn::RNN<S, 5, 100, nn::ReTanh>> rnn_s(
      L, nn::RNN<S, 5, 100, nn::ReTanh>({.alpha = 0.1, .seed = 15}));
  std::vector<nn::Dense<S, 5, 100, nn::Tanh>> dense_s(L, nn::Dense<S, 5, 100, nn::Tanh>({.seed = 16}));
  nn::LSTM<B, 5, 32> lstm32_b({.seed = 18});
  std::vector<nn::LSTM<S, 5, 32>> lstm32_s(L, nn::LSTM<S, 5, 32>({.seed = 18}));
  const double worst = worst_lane_difference<B, 5>(
      17, 20, std::pair(&gru_b, &gru_s), std::pair(&lstm_b, &lstm_s), std::pair(&rnn_b, &rnn_s),
      std::pair(&dense_b, &dense_s), std::pair(&lstm32_b, &lstm32_s));
  INFO("worst lane difference " << worst);
  CHECK(worst < tol);
  CHECK(worst >= 0);
  // GRUs whose r and z rows take both products in one pass (32 inputs, units a multiple of the
  // lanes, float): 32 units end each row range in a partial block of row vectors, 48 in whole
  // blocks on AVX-512
  nn::GRU<B, 32, 32> gru32_b({.seed = 19});
  nn::GRU<B, 32, 48> gru48_b({.seed = 20});
  std::vector<nn::GRU<S, 32, 32>> gru32_s(L, nn::GRU<S, 32, 32>({.seed = 19}));
  std::vector<nn::GRU<S, 32, 48>> gru48_s(L, nn::GRU<S, 32, 48>({.seed = 20}));
  const double worst_fused = worst_lane_difference<B, 32>(21, 20, std::pair(&gru32_b, &gru32_s),
                                                          std::pair(&gru48_b, &gru48_s));
  INFO("worst lane difference, 32 inputs " << worst_fused);
  CHECK(worst_fused < tol);
}

TEST_CASE("a non-finite input is rejected and leaves the state untouched", "[nn][realtime]") {
  nn::GRU<double, 2, 3> gru({.seed = 1});
  std::array<double, 2> x = {0.5, -1.0};
  std::array<double, 3> h{};
  REQUIRE(gru.step(x, h) == Status::Ok);
  const std::array<double, 3> before = {gru.state()[0], gru.state()[1], gru.state()[2]};
  x[1] = std::nan("");
  std::array<double, 3> out = {9, 9, 9};
  CHECK(gru.step(x, out) == Status::RejectedNonFinite);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(gru.state()[i] == before[i]);
    CHECK(out[i] == before[i]);
  }
  x[1] = INFINITY;
  CHECK(gru.step(x, out) == Status::RejectedNonFinite);

  // batch: only the bad lane is held; the others advance exactly as the scalar block
  using B = batchd;
  constexpr std::size_t L = dendrite::lanes_v<B>;
  nn::LSTM<B, 2, 3> lstm_b({.seed = 2});
  nn::LSTM<double, 2, 3> lstm_s({.seed = 2});
  std::array<B, 2> xb = {B(0.5), B(-1.0)};
  std::array<B, 3> hb;
  std::array<double, 2> xs = {0.5, -1.0};
  std::array<double, 3> hs;
  REQUIRE(lstm_b.step(xb, hb) == Status::Ok);
  REQUIRE(lstm_s.step(xs, hs) == Status::Ok);
  const double held = dendrite::lane(hb[0], 0);
  dendrite::set_lane(xb[0], 0, std::nan(""));
  CHECK(lstm_b.step(xb, hb) == Status::RejectedNonFinite);
  REQUIRE(lstm_s.step(xs, hs) == Status::Ok);
  CHECK(dendrite::lane(hb[0], 0) == held);
  for (std::size_t k = 1; k < L; ++k) CHECK(dendrite::lane(hb[0], k) == Approx(hs[0]).epsilon(1e-14));
  nn::Dense<double, 2, 3> dense;
  std::array<double, 3> y = {1, 2, 3};
  CHECK(dense.step(x, y) == Status::RejectedNonFinite);
  CHECK(y == std::array<double, 3>{1, 2, 3});  // the output untouched
}

TEST_CASE("step allocates nothing and is noexcept", "[nn][realtime]") {
  nn::GRU<float, 32, 64> gru;
  nn::LSTM<batchf, 16, 32> lstm;
  nn::RNN<float, 33, 100, nn::ReTanh> rnn({.alpha = 0.1});
  nn::Dense<float, 64, 4> dense;
  std::array<float, 32> x{};
  std::array<float, 33> x33{};
  std::array<batchf, 16> xb{};
  std::array<float, 64> h{};
  std::array<batchf, 32> hb{};
  std::array<float, 100> hr{};
  std::array<float, 4> y{};
  static_assert(noexcept(gru.step(x, h)));
  static_assert(noexcept(lstm.step(xb, hb)));
  static_assert(noexcept(rnn.step(x33, hr)));
  static_assert(noexcept(dense.step(h, y)));
  const dendrite::test::AllocCounts counts = dendrite::test::allocations_during([&] {
    for (int i = 0; i < 10; ++i) {
      x[std::size_t(i)] = 0.1f * float(i);
      (void)gru.step(x, h);
      (void)lstm.step(xb, hb);
      (void)rnn.step(x33, hr);
      (void)dense.step(h, y);
    }
  });
  CHECK(counts.total() == 0);
  CHECK(std::isfinite(y[0]));
}

TEST_CASE("gradcheck of BPTT through 20 steps", "[nn][gradcheck]") {
  const Index batch = 2, steps = 20;
  const MatD x = random_matrix(3, steps * batch, 40);
  const MatD w = random_matrix(4, steps * batch, 41);  // loss = sum(h .* w)
  const auto check = [&](auto& block, const char* name) {
    const auto loss = [&](ad::Tape<double>& t) {
      return ad::sum(block.forward(t, t.constant(x), batch) * t.constant(w));
    };
    const ad::GradcheckResult r = ad::gradcheck(loss, block.parameters());
    INFO(name << ": worst error " << r.max_error << " in parameter " << r.parameter);
    CHECK(r.max_error < 1e-6);
    std::size_t total = 0;
    for (auto* p : block.parameters()) total += std::size_t(p->size());
    CHECK(r.checked == total);
  };
  nn::GRU<double, 3, 4> gru({.seed = 50});
  check(gru, "GRU");
  nn::RNN<double, 3, 4> rnn({.alpha = 0.3, .seed = 51});
  check(rnn, "leaky tanh RNN");
  nn::RNN<double, 3, 4, nn::ReTanh> rnn2({.alpha = 1.0, .seed = 52});
  check(rnn2, "retanh RNN");
  nn::LSTM<double, 3, 4> lstm({.seed = 53});
  check(lstm, "LSTM");
}

TEST_CASE("the RNN's training noise enters as documented and follows its seed", "[nn][noise]") {
  // W = 0, b = 0, x = 0, alpha = 1, identity: s_t = noise_t, so h is pure noise of sd 0.3.
  nn::RNN<double, 1, 50, nn::Identity> rnn({.alpha = 1.0, .noise_std = 0.3, .noise_seed = 7});
  for (auto* p : rnn.parameters()) p->value.setZero();
  ad::Tape<double> t;
  const MatD h1 = rnn.forward(t, t.constant(MatD::Zero(1, 400)), 4).value();
  t.clear();
  const MatD h2 = rnn.forward(t, t.constant(MatD::Zero(1, 400)), 4).value();
  const double mean = h1.mean();
  const double sd = std::sqrt((h1.array() - mean).square().mean());
  CHECK(std::abs(mean) < 0.01);        // 20000 draws: standard error 0.002
  CHECK(sd == Approx(0.3).epsilon(0.02));
  CHECK((h1 - h2).norm() > 1.0);       // fresh noise every call
  rnn.set_noise(0.3, 7);               // same seed, same stream
  t.clear();
  CHECK(rnn.forward(t, t.constant(MatD::Zero(1, 400)), 4).value() == h1);
  CHECK(rnn.forward(MatD::Zero(1, 10)).norm() == 0.0);  // the analysis form is noiseless
}

TEST_CASE("a GRU and a leaky RNN learn a delayed copy", "[nn][training]") {
  // Target y_t = x_{t-3}: needs three steps of memory. Trivial predictor (0) has MSE var(x).
  const Index steps = 20, batch = 32, delay = 3;
  dendrite::test::SeededStream rng(60);
  const auto make_batch = [&](MatD& x, MatD& y) {
    x.resize(1, steps * batch);
    y.setZero(1, steps * batch);
    for (Index k = 0; k < x.size(); ++k) x(k) = rng.uniform(-1, 1);
    for (Index k = delay; k < steps; ++k) y.middleCols(k * batch, batch) = x.middleCols((k - delay) * batch, batch);
  };
  const auto train = [&](auto& block, int iterations, double lr) {
    nn::Dense<double, 16, 1> readout({.seed = 1});
    auto params = block.parameters();
    for (auto* p : readout.parameters()) params.push_back(p);
    ad::Adam<double> adam(params, {.lr = lr});
    ad::Tape<double> t;
    MatD x, y;
    double loss = 0;
    for (int it = 0; it < iterations; ++it) {
      make_batch(x, y);
      t.clear();
      const ad::Var<double> l = ad::mse(readout.forward(t, block.forward(t, t.input(x), batch)), t.input(y));
      t.backward(l);
      adam.clip_grad_norm(1.0);
      adam.step();
      adam.zero_grad();
      loss = 0.9 * loss + 0.1 * l.item();  // smoothed over ~10 batches
      if (it == 0) loss = l.item();
    }
    return loss;
  };
  // var(U(-1, 1)) = 1/3 on the 17 of 20 steps that have a target: trivial MSE = 0.283
  const double trivial = (1.0 / 3.0) * double(steps - delay) / double(steps);
  nn::GRU<double, 1, 16> gru({.seed = 61});
  const double gru_loss = train(gru, 400, 1e-2);
  nn::RNN<double, 1, 16> rnn({.alpha = 1.0, .seed = 62});
  const double rnn_loss = train(rnn, 400, 1e-2);
  INFO("GRU loss " << gru_loss << ", RNN loss " << rnn_loss << ", trivial " << trivial);
  CHECK(gru_loss < 0.01 * trivial);  // measured: GRU 6e-4, RNN 1.5e-3 of trivial
  CHECK(rnn_loss < 0.01 * trivial);
}

TEST_CASE("state() and set_state() round-trip: a block started from another's state continues it",
          "[nn][realtime][state]") {
  const auto continues = [](auto& a, auto& b) {
    using Block = std::remove_reference_t<decltype(a)>;
    std::array<double, 3> x{};
    std::array<double, Block::output_size> ya{}, yb{};
    for (int k = 0; k < 7; ++k) {  // a reaches some state; b, same weights, stays at zero
      for (std::size_t i = 0; i < 3; ++i) x[i] = std::sin(0.7 * k + double(i));
      REQUIRE(a.step(x, ya) == Status::Ok);
    }
    b.set_state(a.state());
    for (std::size_t i = 0; i < Block::state_size; ++i) CHECK(b.state()[i] == a.state()[i]);
    for (int k = 7; k < 12; ++k) {
      for (std::size_t i = 0; i < 3; ++i) x[i] = std::cos(0.3 * k - double(i));
      REQUIRE(a.step(x, ya) == Status::Ok);
      REQUIRE(b.step(x, yb) == Status::Ok);
      CHECK(ya == yb);  // bit-identical: the whole state was carried over
    }
    b.reset();  // reset clears the state and keeps the weights
    for (std::size_t i = 0; i < Block::state_size; ++i) CHECK(b.state()[i] == 0.0);
  };
  nn::GRU<double, 3, 4> gru_a({.seed = 5}), gru_b({.seed = 5});
  continues(gru_a, gru_b);
  nn::LSTM<double, 3, 4> lstm_a({.seed = 6}), lstm_b({.seed = 6});
  STATIC_REQUIRE(decltype(lstm_a)::state_size == 8);  // [h; c]
  continues(lstm_a, lstm_b);
  nn::RNN<double, 3, 4, nn::Tanh> rnn_a({.alpha = 0.3, .seed = 7}), rnn_b({.alpha = 0.3, .seed = 7});
  continues(rnn_a, rnn_b);

  // the RNN's state is the pre-activation s; its output is h = f(s)
  const std::array<double, 4> s = {0.5, -2.0, 0.0, 1.25};
  rnn_b.set_state(s);
  for (std::size_t i = 0; i < 4; ++i) CHECK(rnn_b.output()[i] == Approx(std::tanh(s[i])).epsilon(1e-15));
  // the LSTM's state is [h; c]
  const std::array<double, 8> hc = {1, 2, 3, 4, 5, 6, 7, 8};
  lstm_b.set_state(hc);
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(lstm_b.hidden()[i] == hc[i]);
    CHECK(lstm_b.cell()[i] == hc[4 + i]);
  }
}

// ------------------------------------------------------------------ bf16 weights (PackedGRU)
namespace {

/// The bf16 nearest to f, ties to the even significand, found by comparing the two candidates
/// in double (independent of to_bf16's add-and-shift); f finite.
std::uint16_t nearest_bf16(float f) {
  const auto u = std::bit_cast<std::uint32_t>(f);
  const std::uint32_t lo = u & 0xffff0000U, hi = lo + 0x10000U;  // toward and away from zero
  const double d = f, dl = std::bit_cast<float>(lo), dh = std::bit_cast<float>(hi);
  const double el = std::abs(d - dl), eh = std::abs(dh - d);
  if (el < eh || (el == eh && ((lo >> 16) & 1U) == 0)) return std::uint16_t(lo >> 16);
  return std::uint16_t(hi >> 16);
}

/// f rounded to bf16 by nearest_bf16, as float.
float rounded_bf16(float f) { return dendrite::to_float(dendrite::bf16{nearest_bf16(f)}); }

/// The magnitudes of f16 bit patterns 0x0000-0x7c00 in order, from IEEE 754's definition in
/// double: m 2^-24 with exponent field 0, (1024 + m) 2^(e - 25) otherwise; 0x7c00 (Inf) stands
/// at 65536, where the next exponent would start, so that rounding to the table rounds past
/// 65504 as IEEE does (ties to even: 65520 goes to 0x7c00).
const std::vector<double>& f16_magnitudes() {
  static const std::vector<double> table = [] {
    std::vector<double> t(0x7c01);
    for (std::uint32_t b = 0; b <= 0x7c00U; ++b) {
      const std::uint32_t e = b >> 10, m = b & 0x3ffU;
      t[b] = e == 0 ? std::ldexp(double(m), -24) : std::ldexp(double(1024 + m), int(e) - 25);
    }
    return t;
  }();
  return table;
}

/// The f16 nearest to f (not NaN), ties to the even bit pattern, by searching f16_magnitudes
/// (independent of to_f16's integer rounding).
std::uint16_t nearest_f16(float f) {
  const std::vector<double>& t = f16_magnitudes();
  const auto sign = static_cast<std::uint16_t>(std::signbit(f) ? 0x8000U : 0U);
  const double a = std::abs(double(f));
  const auto it = std::lower_bound(t.begin(), t.end(), a);  // the first magnitude >= a
  if (it == t.end()) return std::uint16_t(sign | 0x7c00U);
  const auto hi = std::size_t(it - t.begin());
  if (t[hi] == a || hi == 0) return std::uint16_t(sign | hi);
  const std::size_t lo = hi - 1;
  const double dl = a - t[lo], dh = t[hi] - a;
  return std::uint16_t(sign | ((dl < dh || (dl == dh && lo % 2 == 0)) ? lo : hi));
}

/// f rounded to f16 by nearest_f16, as float (from the table; f well inside f16's range).
float rounded_f16(float f) {
  const std::uint16_t b = nearest_f16(f);
  const auto v = float(f16_magnitudes()[b & 0x7fffU]);
  return (b & 0x8000U) != 0 ? -v : v;
}

/// The value a weight w is stored as, by the independent roundings above (int8 and float: w).
template <class Weight>
float stored_weight(float w) {
  if constexpr (std::is_same_v<Weight, dendrite::bf16>) {
    return rounded_bf16(w);
  } else if constexpr (std::is_same_v<Weight, dendrite::f16>) {
    return rounded_f16(w);
  } else {
    return w;
  }
}

/// A float block (GRU or LSTM), its packed form over the same trained weights (bf16 by
/// default), and a float block over the stored weights: rounded by nearest_bf16 for bf16 and
/// nearest_f16 for f16, the packed block's own s_i q_ij for int8 (Int8Weights' quanta are
/// checked on their own).
template <template <class, int, int> class Block, template <class, int, int, class> class Packed,
          int In, int H, class Weight = dendrite::bf16>
struct Trio {
  Block<float, In, H> net;
  Block<float, In, H> rounded;
  Packed<float, In, H, Weight> packed;
  explicit Trio(std::uint64_t seed) : net({.seed = seed}), rounded(net), packed(net) {
    for (auto* p : {&rounded.weight_ih, &rounded.weight_hh}) {  // biases stay float
      auto& w = p->value;
      for (Index j = 0; j < w.cols(); ++j) {
        for (Index i = 0; i < w.rows(); ++i) {
          if constexpr (std::is_same_v<Weight, dendrite::bf16> ||
                        std::is_same_v<Weight, dendrite::f16>) {
            w(i, j) = stored_weight<Weight>(w(i, j));
          } else {
            w(i, j) = p == &rounded.weight_ih ? packed.weight_ih(std::size_t(i), std::size_t(j))
                                              : packed.weight_hh(std::size_t(i), std::size_t(j));
          }
        }
      }
    }
  }
};
template <int In, int H, class Weight = dendrite::bf16>
using GruTrio = Trio<nn::GRU, nn::PackedGRU, In, H, Weight>;
template <int In, int H, class Weight = dendrite::bf16>
using LstmTrio = Trio<nn::LSTM, nn::PackedLSTM, In, H, Weight>;

/// Max |a - b| over `steps` steps of N(0, 1) input fed to both blocks.
template <class A, class B>
double max_step_difference(A& a, B& b, int steps, std::uint64_t seed) {
  static_assert(A::input_size == B::input_size && A::output_size == B::output_size);
  const MatD x = random_matrix(A::input_size, steps, seed);
  return (run_steps(a, x) - run_steps(b, x)).cwiseAbs().maxCoeff();
}

template <template <class, int, int> class Block, template <class, int, int, class> class Packed,
          int In, int H, class Weight = dendrite::bf16>
void check_packed(std::uint64_t seed) {
  INFO("In " << In << ", H " << H);
  Trio<Block, Packed, In, H, Weight> t(seed);
  for (Index i = 0; i < t.net.weight_ih.value.rows(); ++i) {
    for (Index j = 0; j < In; ++j) {
      REQUIRE(t.packed.weight_ih(std::size_t(i), std::size_t(j)) == t.rounded.weight_ih.value(i, j));
    }
    for (Index j = 0; j < H; ++j) {
      REQUIRE(t.packed.weight_hh(std::size_t(i), std::size_t(j)) == t.rounded.weight_hh.value(i, j));
    }
  }
  // the packed kernel computes the rounded block: only the order of the float sums differs
  // (where the target rounds the product's input to bf16 too, the step differs by that rounding:
  // check_packed_product checks the kernel there, and the one-step bound the step)
  if constexpr (!decltype(t.packed)::rounds_input) {
    CHECK(max_step_difference(t.packed, t.rounded, 300, seed + 1) < 1e-5);
  }
  // float storage in the packed layout: the float block (not stepped yet), again up to the
  // order of the sums
  Packed<float, In, H, float> packed_f(t.net);
  CHECK(max_step_difference(packed_f, t.net, 300, seed + 2) < 1e-5);
}

/// The packed product y = b + W x against plain double sums of the stored weights (rounded by
/// stored_weight) times the input (rounded by nearest_bf16 too where the kernel says it rounds
/// it), within the float rounding of a sum of C + 1 terms; the padding rows give b. Every
/// seventh weight is scaled by 1e-5 (f16's subnormals start below 6.1e-5). AllowDot = false:
/// the portable integer paths (bf16's shift, f16's widening without F16C) on any target.
template <class Weight, std::size_t R, std::size_t C, bool AllowDot = true>
void check_packed_product(std::uint64_t seed) {
  using PW = dendrite::nn::detail::PackedWeights<Weight, R, C, AllowDot>;
  INFO("R " << R << ", C " << C << ", rounds_input " << PW::rounds_input << ", AllowDot "
            << AllowDot);
  const MatD wd = random_matrix(Index(R), Index(C), seed);
  const MatD xd = random_matrix(Index(C), 1, seed + 1);
  const MatD bd = random_matrix(Index(R), 1, seed + 2);
  Eigen::MatrixXf wf = wd.cast<float>();
  for (Index k = 0; k < wf.size(); k += 7) wf(k) *= 1e-5F;
  PW pw;
  pw.pack(wf.data());
  std::vector<float> x(C), b(PW::rows, 0.0F), y(PW::rows, -1.0F);
  for (std::size_t j = 0; j < C; ++j) x[j] = float(xd(Index(j)));
  for (std::size_t i = 0; i < R; ++i) b[i] = float(bd(Index(i)));
  pw.gemv(x.data(), b.data(), y.data());
  for (std::size_t i = 0; i < R; ++i) {
    double ref = b[i], mag = std::abs(b[i]);
    for (std::size_t j = 0; j < C; ++j) {
      const float wij = wf(Index(i), Index(j));
      const double w = stored_weight<Weight>(wij);
      REQUIRE(pw.weight(i, j) == float(w));
      const double xj = PW::rounds_input ? rounded_bf16(x[j]) : x[j];
      ref += w * xj;
      mag += std::abs(w * xj);
    }
    REQUIRE(std::abs(double(y[i]) - ref) <= 2.0 * double(C + 1) * std::ldexp(mag, -24));
  }
  for (std::size_t i = R; i < PW::rows; ++i) REQUIRE(y[i] == 0.0F);
}

/// One step of a and b from the state `state` on input x; returns |a - b| per unit.
template <class A, class B, std::size_t N, std::size_t S>
std::array<double, std::size_t(A::output_size)> one_step_difference(
    A& a, B& b, const std::array<float, N>& x, const std::array<float, S>& state) {
  constexpr std::size_t H = std::size_t(A::output_size);
  std::array<float, H> ya, yb;
  a.set_state(state);
  b.set_state(state);
  REQUIRE(a.step(x, ya) == Status::Ok);
  REQUIRE(b.step(x, yb) == Status::Ok);
  std::array<double, H> d;
  for (std::size_t i = 0; i < H; ++i) d[i] = std::abs(double(ya[i]) - double(yb[i]));
  return d;
}

/// The one-step bounds of packed_gru.hpp and packed_lstm.hpp: from 20 random (input, state)
/// pairs, each unit of the bf16 step differs from the float step by at most the bound
/// propagated from the pre-activation bound 2^-8 sum_j |w_ij| |v_j| through the gates
/// (sigmoid' <= 1/4, tanh' <= 1). `bound(x, state, i)` gives unit i's bound; the state's first H
/// values (h) are 0.9 tanh of a normal draw, the rest (an LSTM's c) twice one. Returns the
/// largest difference as a share of its bound.
template <class Trio, class Bound>
double check_one_step_bound(Trio& t, std::uint64_t seed, Bound bound) {
  using Net = decltype(t.net);
  constexpr int In = Net::input_size, H = Net::output_size, S = int(Net::state_size);
  double worst = 0;
  for (int k = 0; k < 20; ++k) {
    const MatD xs = random_matrix(In, 1, seed + 10 + std::uint64_t(k));
    const MatD ss = random_matrix(S, 1, seed + 50 + std::uint64_t(k));
    std::array<float, std::size_t(In)> x;
    std::array<float, std::size_t(S)> state;
    for (int j = 0; j < In; ++j) x[std::size_t(j)] = float(xs(j));
    for (int j = 0; j < S; ++j) state[std::size_t(j)] = float(j < H ? 0.9 * std::tanh(ss(j)) : 2 * ss(j));
    const auto diff = one_step_difference(t.net, t.packed, x, state);
    const Eigen::VectorXd xv = Eigen::Map<const Eigen::VectorXf>(x.data(), In).cast<double>();
    const Eigen::VectorXd sv = Eigen::Map<const Eigen::VectorXf>(state.data(), S).cast<double>();
    for (Index i = 0; i < H; ++i) {
      const double b = bound(xv, sv, i) + 1e-6;  // + the float rounding of both steps
      CHECK(diff[std::size_t(i)] <= b);
      worst = std::max(worst, diff[std::size_t(i)] / b);
    }
  }
  return worst;
}

constexpr double kBf16 = 1.0 / 256;  // 2^-8: a weight's largest relative rounding

/// The pre-activation bound per unit of sum_j |w_ij| |v_j|: u = 2^-8 for the weights' rounding,
/// 2u + u^2 where the product's input is rounded to bf16 too.
template <class Packed>
constexpr double kPreActivation = Packed::rounds_input ? kBf16 * (2 + kBf16) : kBf16;

/// Per row i, the bound on |w~ v~ - w v| for the packed product of w (float weights) and v:
/// bf16, kPreActivation sum_j |w_ij| |v_j|; f16, 2^-11 sum_j |w_ij| |v_j| + 2^-25 sum_j |v_j|;
/// int8 (detail/packed_int8.hpp), with
/// s_i = max_j |w_ij| / 127 and t = max_j |v_j| / 127,
/// (s_i / 2) sum_j |v_j| + (t / 2) sum_j |w_ij| + C s_i t / 4.
template <class Packed>
Eigen::VectorXd pre_bound(const MatD& w, const Eigen::VectorXd& v) {
  if constexpr (std::is_same_v<typename Packed::weight_type, dendrite::f16>) {
    // |w~ - w| <= 2^-11 |w| (normal) or 2^-25 (subnormal): 2^-11 sum |w| |v| + 2^-25 sum |v|
    return std::ldexp(1.0, -11) * (w.cwiseAbs() * v.cwiseAbs()) +
           Eigen::VectorXd::Constant(w.rows(), std::ldexp(v.cwiseAbs().sum(), -25));
  } else if constexpr (std::is_same_v<typename Packed::weight_type, std::int8_t>) {
    const double t = v.cwiseAbs().maxCoeff() / 127;
    const Eigen::VectorXd s = w.cwiseAbs().rowwise().maxCoeff() / 127;
    const Eigen::VectorXd sums = w.cwiseAbs().rowwise().sum();
    return (0.5 * v.cwiseAbs().sum() + double(w.cols()) * t / 4) * s + (t / 2) * sums;
  } else {
    return kPreActivation<Packed> * (w.cwiseAbs() * v.cwiseAbs());
  }
}

template <int In, int H, class Weight = dendrite::bf16>
double check_gru_bound(std::uint64_t seed) {
  GruTrio<In, H, Weight> t(seed);
  using P = decltype(t.packed);
  const MatD wih = t.net.weight_ih.value.template cast<double>();
  const MatD whh = t.net.weight_hh.value.template cast<double>();
  const MatD bih = t.net.bias_ih.value.template cast<double>();
  const MatD bhh = t.net.bias_hh.value.template cast<double>();
  return check_one_step_bound(t, seed, [&](const Eigen::VectorXd& x, const Eigen::VectorXd& h, Index i) {
    const Eigen::VectorXd ai = wih * x + bih, ah = whh * h + bhh;
    const Eigen::VectorXd di = pre_bound<P>(wih, x), dh = pre_bound<P>(whh, h);
    const double r = sig(ai(i) + ah(i)), z = sig(ai(H + i) + ah(H + i));
    const double n = std::tanh(ai(2 * H + i) + r * ah(2 * H + i));
    const double dr = 0.25 * (di(i) + dh(i)), dz = 0.25 * (di(H + i) + dh(H + i));
    const double dn = di(2 * H + i) + dr * std::abs(ah(2 * H + i)) + (r + dr) * dh(2 * H + i);
    return (1 - z) * dn + dz * std::abs(h(i) - n) + dz * dn;
  });
}

template <int In, int H, class Weight = dendrite::bf16>
double check_lstm_bound(std::uint64_t seed) {
  LstmTrio<In, H, Weight> t(seed);
  using P = decltype(t.packed);
  const MatD wih = t.net.weight_ih.value.template cast<double>();
  const MatD whh = t.net.weight_hh.value.template cast<double>();
  const MatD b = (t.net.bias_ih.value + t.net.bias_hh.value).template cast<double>();
  return check_one_step_bound(t, seed, [&](const Eigen::VectorXd& x, const Eigen::VectorXd& hc, Index i) {
    const Eigen::VectorXd h = hc.head(H);
    const Eigen::VectorXd a = wih * x + whh * h + b;
    const Eigen::VectorXd d = pre_bound<P>(wih, x) + pre_bound<P>(whh, h);
    const double c = hc(H + i);
    const double gi = sig(a(i)), gf = sig(a(H + i)), gg = std::tanh(a(2 * H + i));
    const double go = sig(a(3 * H + i));
    const double di = 0.25 * d(i), df = 0.25 * d(H + i), dg = d(2 * H + i), dgo = 0.25 * d(3 * H + i);
    const double c1 = gf * c + gi * gg;
    const double dc = std::abs(c) * df + std::abs(gg) * di + gi * dg + di * dg;
    return go * dc + std::abs(std::tanh(c1)) * dgo + dgo * dc;
  });
}

/// Loads PyTorch's fixture `name` into `block`, packs it into `packed` and returns the largest
/// difference of the packed block's outputs from torch's on the fixture's reference input.
template <class Block, class Packed>
double fixture_error(Block& block, Packed& packed, const char* name) {
  const std::string dir = std::string(kFixtures) + "/" + name;
  dendrite::io::load_pytorch(block, dir);
  packed.pack(block);
  const MatD x = dendrite::io::read_npy<double>(dir + "/check_input.npy").transpose();
  const MatD want = dendrite::io::read_npy<double>(dir + "/check_output.npy").transpose();
  return (run_steps(packed, x) - want).cwiseAbs().maxCoeff();
}

}  // namespace

TEST_CASE("bf16 rounds to nearest, ties to even, and widens exactly", "[nn][bf16]") {
  using dendrite::bf16;
  using dendrite::to_bf16;
  using dendrite::to_float;
  CHECK(to_bf16(1.0f).bits == 0x3f80);
  CHECK(to_float(bf16{0x3f80}) == 1.0f);
  CHECK(to_bf16(std::bit_cast<float>(0x3f808000U)).bits == 0x3f80);  // tie: down to even
  CHECK(to_bf16(std::bit_cast<float>(0x3f818000U)).bits == 0x3f82);  // tie: up to even
  CHECK(to_bf16(std::bit_cast<float>(0x3f808001U)).bits == 0x3f81);  // past the tie
  CHECK(to_bf16(-0.0f).bits == 0x8000);
  CHECK(std::isnan(to_float(to_bf16(std::nanf("")))));
  CHECK(std::isnan(to_float(to_bf16(-std::nanf("")))));
  CHECK(to_float(to_bf16(INFINITY)) == INFINITY);
  CHECK(to_float(to_bf16(-INFINITY)) == -INFINITY);
  CHECK(to_float(to_bf16(std::numeric_limits<float>::max())) == INFINITY);  // past bf16's max
  std::mt19937 rng(5);
  std::uniform_int_distribution<std::uint32_t> bits(0, 0xffffffffU);
  int tested = 0;
  while (tested < 200000) {
    const float f = std::bit_cast<float>(bits(rng));
    if (!std::isfinite(f) || std::abs(f) > 3.3e38f) continue;
    ++tested;
    const bf16 b = to_bf16(f);
    REQUIRE(b.bits == nearest_bf16(f));
    if (std::abs(f) >= std::numeric_limits<float>::min()) {
      REQUIRE(std::abs(double(to_float(b)) - double(f)) <= std::ldexp(std::abs(double(f)), -8));
    }
  }
}

TEST_CASE("PackedGRU and PackedLSTM hold the weights rounded to bf16 and step them", "[nn][bf16]") {
  check_packed<nn::GRU, nn::PackedGRU, 5, 7>(11);
  check_packed<nn::GRU, nn::PackedGRU, 3, 13>(12);
  check_packed<nn::GRU, nn::PackedGRU, 32, 8>(13);
  check_packed<nn::GRU, nn::PackedGRU, 32, 64>(14);
  check_packed<nn::LSTM, nn::PackedLSTM, 5, 7>(15);
  check_packed<nn::LSTM, nn::PackedLSTM, 32, 64>(16);
  // stored as float, the packed blocks are the GRU's own (kGemvUnits batches): equal bits
  nn::GRU<float, 32, 64> gru({.seed = 17});
  nn::PackedGRU<float, 32, 64, float> packed(gru);
  CHECK(max_step_difference(packed, gru, 50, 18) == 0.0);
}

TEST_CASE("the packed product is the stored weights times the input, at odd sizes", "[nn][bf16]") {
  check_packed_product<dendrite::bf16, 21, 5>(41);
  check_packed_product<dendrite::bf16, 39, 3>(42);
  check_packed_product<dendrite::bf16, 24, 32>(43);
  check_packed_product<dendrite::bf16, 192, 64>(44);
  check_packed_product<dendrite::bf16, 195, 65>(45);
  // one block of 6-11 registers (two sums per register on the VDPBF16PS path: 129 rows, 9
  // registers of 16 floats), and two blocks, 16 and 10 registers (one sum each: 401 rows)
  check_packed_product<dendrite::bf16, 129, 33>(48);
  check_packed_product<dendrite::bf16, 401, 7>(49);
  check_packed_product<float, 21, 5>(46);
  check_packed_product<float, 195, 65>(47);
}

TEST_CASE("bf16 weights stay within their stated error of the float blocks", "[nn][bf16]") {
  SECTION("one step: within the propagated bound, and the bound is not vacuous") {
    CHECK(check_gru_bound<5, 7>(21) > 0.01);
    CHECK(check_gru_bound<32, 64>(22) > 0.01);
    CHECK(check_lstm_bound<5, 7>(23) > 0.01);
    CHECK(check_lstm_bound<32, 64>(24) > 0.01);
  }
  SECTION("over 2000 steps of N(0, 1) input: below the stated drift") {
    GruTrio<32, 64> g64(25);
    GruTrio<32, 8> g8(26);
    LstmTrio<32, 64> l64(27);
    const double dg64 = max_step_difference(g64.packed, g64.net, 2000, 28);
    const double dg8 = max_step_difference(g8.packed, g8.net, 2000, 29);
    const double dl64 = max_step_difference(l64.packed, l64.net, 2000, 30);
    // stated as 1e-2 for rounded weights, scaled with the pre-activation bound where the
    // input is rounded too (2e-2: packed_gru.hpp)
    const double limit = 1e-2 * kPreActivation<decltype(g64.packed)> / kBf16;
    CHECK(dg64 < limit);
    CHECK(dg8 < limit);
    CHECK(dl64 < limit);
    CHECK(dg64 > 1e-4);  // bf16 is coarse: a smaller difference would mean float weights
    CHECK(dl64 > 1e-4);
  }
  SECTION("PyTorch's fixtures: bf16 weights reproduce torch's output within 1e-2") {
    const auto check = [](auto& block, auto& packed, const char* name) {
      const double err = fixture_error(block, packed, name);
      INFO(name << ": " << err);
      CHECK(err < 1e-2);
      CHECK(err > 1e-5);
    };
    nn::GRU<float, 3, 5> gru;
    nn::PackedGRU<float, 3, 5> pgru;
    check(gru, pgru, "gru");
    nn::LSTM<float, 3, 5> lstm;
    nn::PackedLSTM<float, 3, 5> plstm;
    check(lstm, plstm, "lstm");
  }
}

// ------------------------------------------------------------------ f16 weights
TEST_CASE("f16 rounds to nearest, ties to even, and widens exactly", "[nn][f16]") {
  using dendrite::f16;
  using dendrite::to_f16;
  using dendrite::to_float;
  CHECK(to_f16(1.0f).bits == 0x3c00);
  CHECK(to_f16(65504.0f).bits == 0x7bff);
  CHECK(to_f16(65519.99f).bits == 0x7bff);
  CHECK(to_f16(65520.0f).bits == 0x7c00);  // the tie past the largest f16: to Inf (even)
  CHECK(to_f16(-1e6f).bits == 0xfc00);
  CHECK(to_f16(std::ldexp(1.0f, -24)).bits == 0x0001);  // the smallest subnormal
  CHECK(to_f16(std::ldexp(1.0f, -25)).bits == 0x0000);  // its half: a tie, to even (zero)
  CHECK(to_f16(std::ldexp(3.0f, -25)).bits == 0x0002);  // 1.5 units: a tie, to even (2)
  CHECK(to_f16(std::ldexp(1.0f, -14)).bits == 0x0400);  // the smallest normal
  CHECK(to_f16(std::nextafter(std::ldexp(1.0f, -14), 0.0f)).bits == 0x0400);  // rounds up into it
  CHECK(to_f16(std::bit_cast<float>(0x3f801000U)).bits == 0x3c00);  // tie: down to even
  CHECK(to_f16(std::bit_cast<float>(0x3f803000U)).bits == 0x3c02);  // tie: up to even
  CHECK(to_f16(-0.0f).bits == 0x8000);
  CHECK(std::isnan(to_float(to_f16(std::nanf("")))));
  CHECK(std::isnan(to_float(to_f16(-std::nanf("")))));
  CHECK(to_float(to_f16(INFINITY)) == INFINITY);
  CHECK(to_float(to_f16(-INFINITY)) == -INFINITY);
  // every finite f16 widens to its IEEE value and rounds back to itself
  const std::vector<double>& t = f16_magnitudes();
  for (std::uint32_t b = 0; b < 0x7c00U; ++b) {
    REQUIRE(double(to_float(f16{std::uint16_t(b)})) == t[b]);
    REQUIRE(double(to_float(f16{std::uint16_t(b | 0x8000U)})) == -t[b]);
    REQUIRE(to_f16(to_float(f16{std::uint16_t(b)})).bits == b);
  }
  // random floats over f16's range and past it (exponents 2^-30 to 2^17), and any bit pattern
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::uint32_t> bits(0, 0xffffffffU);
  std::uniform_int_distribution<std::uint32_t> exponent(97, 144);
  for (int k = 0; k < 400000; ++k) {
    std::uint32_t u = bits(rng);
    if (k % 2 == 0) u = (u & 0x807fffffU) | (exponent(rng) << 23);
    const float f = std::bit_cast<float>(u);
    if (std::isnan(f)) continue;
    const f16 h = to_f16(f);
    REQUIRE(h.bits == nearest_f16(f));
    const double a = std::abs(double(f)), err = std::abs(double(to_float(h)) - double(f));
    if (a >= std::ldexp(1.0, -14) && a <= 65504) REQUIRE(err <= std::ldexp(a, -11));
    if (a < std::ldexp(1.0, -14)) REQUIRE(err <= std::ldexp(1.0, -25));
  }
}

TEST_CASE("f16 weights: the packed product and steps are the rounded weights', at odd sizes",
          "[nn][f16]") {
  check_packed_product<dendrite::f16, 21, 5>(51);
  check_packed_product<dendrite::f16, 39, 3>(52);
  check_packed_product<dendrite::f16, 195, 65>(53);
  check_packed_product<dendrite::f16, 21, 5, false>(54);  // without F16C, on any target
  check_packed_product<dendrite::f16, 195, 65, false>(55);
  check_packed<nn::GRU, nn::PackedGRU, 5, 7, dendrite::f16>(56);
  check_packed<nn::GRU, nn::PackedGRU, 32, 64, dendrite::f16>(57);
  check_packed<nn::LSTM, nn::PackedLSTM, 3, 13, dendrite::f16>(58);
  check_packed<nn::LSTM, nn::PackedLSTM, 32, 64, dendrite::f16>(59);
}

TEST_CASE("f16 weights stay within their stated error of the float blocks", "[nn][f16]") {
  SECTION("one step: within the propagated bound, and the bound is not vacuous") {
    CHECK(check_gru_bound<5, 7, dendrite::f16>(61) > 0.01);
    CHECK(check_gru_bound<32, 64, dendrite::f16>(62) > 0.01);
    CHECK(check_lstm_bound<5, 7, dendrite::f16>(63) > 0.01);
    CHECK(check_lstm_bound<32, 64, dendrite::f16>(64) > 0.01);
  }
  SECTION("over 2000 steps of N(0, 1) input: below the stated drift") {
    GruTrio<32, 64, dendrite::f16> g64(65);
    GruTrio<32, 8, dendrite::f16> g8(66);
    LstmTrio<32, 64, dendrite::f16> l64(67);
    const double dg64 = max_step_difference(g64.packed, g64.net, 2000, 68);
    const double dg8 = max_step_difference(g8.packed, g8.net, 2000, 69);
    const double dl64 = max_step_difference(l64.packed, l64.net, 2000, 70);
    // stated as bf16's 1e-2 times the ratio of the roundings, 2^-11 / 2^-8 (packed_gru.hpp)
    CHECK(dg64 < 1.25e-3);
    CHECK(dg8 < 1.25e-3);
    CHECK(dl64 < 1.25e-3);
    CHECK(dg64 > 1e-5);  // a smaller difference would mean float weights
    CHECK(dl64 > 1e-5);
  }
  SECTION("PyTorch's fixtures: f16 weights reproduce torch's output within 1.25e-3") {
    const auto check = [](auto& block, auto& packed, const char* name) {
      const double err = fixture_error(block, packed, name);
      INFO(name << ": " << err);
      CHECK(err < 1.25e-3);  // bf16's 1e-2 times 2^-11 / 2^-8
      CHECK(err > 1e-6);
    };
    nn::GRU<float, 3, 5> gru;
    nn::PackedGRU<float, 3, 5, dendrite::f16> pgru;
    check(gru, pgru, "gru");
    nn::LSTM<float, 3, 5> lstm;
    nn::PackedLSTM<float, 3, 5, dendrite::f16> plstm;
    check(lstm, plstm, "lstm");
  }
}

TEST_CASE("packing a weight the storage cannot hold throws and keeps the block",
          "[nn][f16][int8]") {
  // each block packed from one trained block, then asked to pack another with one bad weight
  const auto check = [](auto& packed, auto bad, float value, const char* says) {
    const std::vector<float> state(packed.state().begin(), packed.state().end());
    const float w0 = packed.weight_hh(2, 1);
    bad.weight_hh.value(2, 1) = value;
    CHECK_THROWS_AS(packed.pack(bad), dendrite::numerical_error);
    CHECK_THROWS_WITH(packed.pack(bad), Catch::Contains(says));
    CHECK(packed.weight_hh(2, 1) == w0);  // the previous weights, whole
    CHECK(std::equal(state.begin(), state.end(), packed.state().begin()));
    std::array<float, 4> x{0.5F, -1.0F, 0.25F, 2.0F};
    std::array<float, 6> h{};
    CHECK(packed.step(x, h) == Status::Ok);
  };
  const nn::GRU<float, 4, 6> gru({.seed = 71});
  const nn::LSTM<float, 4, 6> lstm({.seed = 72});
  nn::PackedGRU<float, 4, 6, dendrite::f16> hgru(gru);
  check(hgru, gru, 7e4F, "65520");
  check(hgru, gru, INFINITY, "65520");
  nn::PackedLSTM<float, 4, 6, dendrite::f16> hlstm(lstm);
  check(hlstm, lstm, -65520.0F, "65520");
  nn::PackedGRU<float, 4, 6, std::int8_t> qgru(gru);
  check(qgru, gru, std::nanf(""), "expected finite weights");
  nn::PackedLSTM<float, 4, 6, std::int8_t> qlstm(lstm);
  check(qlstm, lstm, -INFINITY, "expected finite weights");
  // 65504 rounds to f16's largest value and packs
  nn::GRU<float, 4, 6> big(gru);
  big.weight_ih.value(0, 0) = 65519.0F;
  hgru.pack(big);
  CHECK(hgru.weight_ih(0, 0) == 65504.0F);
}

// ------------------------------------------------------------------ int8 weights
namespace {

/// Int8Weights against the documented quantization written out plainly: the row scales and
/// quanta from double arithmetic, the input's r_j = round(x_j 127 / max|x|) in float, the
/// integer sum in int64; the VNNI product (where the target has it) and the portable one give
/// the same bits. Also the bound against the float product, and that it is not vacuous.
template <std::size_t R, std::size_t C>
double check_int8_product(std::uint64_t seed, double x_scale) {
  using PW = dendrite::nn::detail::Int8Weights<R, C>;
  using Plain = dendrite::nn::detail::Int8Weights<R, C, false>;
  INFO("R " << R << ", C " << C);
  const MatD wd = random_matrix(Index(R), Index(C), seed);
  const MatD xd = x_scale * random_matrix(Index(C), 1, seed + 1);
  const MatD bd = random_matrix(Index(R), 1, seed + 2);
  Eigen::MatrixXf wf = wd.cast<float>();
  wf.row(1).setZero();  // an all-zero row: scale 0
  PW pw;
  Plain plain;
  pw.pack(wf.data());
  plain.pack(wf.data());
  std::vector<float> x(C), b(PW::rows, 0.0F), y(PW::rows, -1.0F), yp(PW::rows, -2.0F);
  for (std::size_t j = 0; j < C; ++j) x[j] = float(xd(Index(j)));
  for (std::size_t i = 0; i < R; ++i) b[i] = float(bd(Index(i)));
  float m = 0;
  for (float v : x) m = std::max(m, std::abs(v));
  const float t = m / 127.0F;
  REQUIRE(PW::input_scale(x.data()) == t);
  std::vector<std::int64_t> r(C);
  for (std::size_t j = 0; j < C; ++j) r[j] = std::llround(std::nearbyint(x[j] * (127.0F / m)));
  pw.gemv(x.data(), b.data(), y.data());
  plain.gemv(x.data(), b.data(), yp.data());
  double worst = 0;
  for (std::size_t i = 0; i < R; ++i) {
    double mi = 0, wsum = 0;
    for (std::size_t j = 0; j < C; ++j) {
      mi = std::max(mi, std::abs(double(wf(Index(i), Index(j)))));
      wsum += std::abs(double(wf(Index(i), Index(j))));
    }
    REQUIRE(pw.scale(i) == float(mi / 127));
    std::int64_t acc = 0;
    int largest = 0;
    double exact = b[i], xsum = 0;
    for (std::size_t j = 0; j < C; ++j) {
      const double w = wf(Index(i), Index(j));
      const int q = pw.quantum(i, j);
      REQUIRE(std::abs(q) <= 127);
      if (mi > 0) REQUIRE(std::abs(double(q) - w * 127 / mi) <= 0.5);
      REQUIRE(pw.weight(i, j) == pw.scale(i) * float(q));
      largest = std::max(largest, std::abs(q));
      acc += q * r[j];
      exact += w * x[j];
      xsum += std::abs(x[j]);
    }
    CHECK(largest == (mi > 0 ? 127 : 0));
    // the kernel: b + (s_i t) acc, two float roundings and an exact conversion of acc
    const double st = double(pw.scale(i) * t), ref = b[i] + st * double(acc);
    REQUIRE(std::abs(double(y[i]) - ref) <= std::ldexp(std::abs(b[i]) + 2 * std::abs(st * double(acc)), -23));
    REQUIRE(y[i] == yp[i]);
    // against the float product
    const double si = mi / 127;
    const double bound = 0.5 * si * xsum + 0.5 * double(t) * wsum + double(C) * si * double(t) / 4;
    const double err = std::abs(double(y[i]) - exact);
    REQUIRE(err <= bound * (1 + 1e-5) + std::ldexp(std::abs(ref), -22));
    if (bound > 0) worst = std::max(worst, err / bound);
  }
  for (std::size_t i = R; i < PW::rows; ++i) REQUIRE(y[i] == 0.0F);
  return worst;
}

}  // namespace

TEST_CASE("int8 weights: the product is the quantized weights times the quantized input", "[nn][int8]") {
  CHECK(check_int8_product<21, 5>(61, 1.0) > 0.01);
  CHECK(check_int8_product<39, 3>(62, 1e-3) > 0.01);
  CHECK(check_int8_product<24, 37>(63, 30.0) > 0.01);
  CHECK(check_int8_product<195, 65>(64, 1.0) > 0.01);
  CHECK(check_int8_product<384, 128>(65, 0.5) > 0.01);
  SECTION("every product at the extremes, +-127^2: the integer sums stay exact") {
    // VPMADDUBSW's int16 pair sums reach 2 127^2 = 32 258 here, the most they can
    const auto extreme = []<std::size_t C>(std::integral_constant<std::size_t, C>) {
      constexpr std::size_t R = 13;
      dendrite::nn::detail::Int8Weights<R, C> pw;
      std::vector<float> w, x, b(decltype(pw)::rows, 0.25F), y(decltype(pw)::rows);
      dendrite::test::int8_extremes(R, C, w, x);  // r_j = +-127, q_ij = +-127
      pw.pack(w.data());
      pw.gemv(x.data(), b.data(), y.data());
      for (std::size_t i = 0; i < R; ++i) {
        std::int64_t acc = 0;
        for (std::size_t j = 0; j < C; ++j) {
          acc += std::int64_t(pw.quantum(i, j)) * (x[j] > 0 ? 127 : -127);
        }
        INFO("C " << C << ", row " << i << ", sum " << acc);
        if (i % 3 == 0) REQUIRE(acc == std::int64_t(C) * 127 * 127);   // every product +127^2
        if (i % 3 == 2) REQUIRE(acc == -std::int64_t(C) * 127 * 127);  // every product -127^2
        const double st = double(pw.scale(i) * (2.0F / 127.0F));
        REQUIRE(std::abs(double(y[i]) - (0.25 + st * double(acc))) <=
                std::ldexp(0.25 + std::abs(st * double(acc)), -22));
      }
    };
    extreme(std::integral_constant<std::size_t, 5>{});
    extreme(std::integral_constant<std::size_t, 37>{});
    extreme(std::integral_constant<std::size_t, 130>{});
  }
  SECTION("a zero input gives the bias; a non-finite weight is refused with its place") {
    dendrite::nn::detail::Int8Weights<5, 3> pw;
    const std::array<float, 15> w{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    pw.pack(w.data());
    std::vector<float> x(3, 0.0F), b(decltype(pw)::rows, 0.5F), y(decltype(pw)::rows, 0.0F);
    pw.gemv(x.data(), b.data(), y.data());
    CHECK(std::all_of(y.begin(), y.end(), [](float v) { return v == 0.5F; }));
    std::array<float, 15> bad = w;
    bad[7] = std::nanf("");
    CHECK_THROWS_AS(pw.pack(bad.data()), dendrite::numerical_error);
    CHECK_THROWS_WITH(pw.pack(bad.data()), Catch::Contains("(2, 1)"));
  }
}

TEST_CASE("int8 weights stay within their stated error of the float blocks", "[nn][int8]") {
  using I8 = std::int8_t;
  SECTION("one step: within the propagated bound, and the bound is not vacuous") {
    CHECK(check_gru_bound<5, 7, I8>(71) > 0.01);
    CHECK(check_gru_bound<32, 64, I8>(72) > 0.01);
    CHECK(check_lstm_bound<5, 7, I8>(73) > 0.01);
    CHECK(check_lstm_bound<32, 64, I8>(74) > 0.01);
  }
  SECTION("the steps that read the weights backwards give the same bits") {
    const auto same = [](auto block) {  // `other` is one step ahead in the read order
      auto other = block;
      std::array<float, 32> x{};
      std::array<float, 64> h{}, ho{};
      x[0] = 1.0F;
      REQUIRE(other.step(x, ho) == Status::Ok);
      std::vector<float> zero(other.state().size(), 0.0F);
      other.set_state(std::span<const float, decltype(block)::state_size>(zero.data(), zero.size()));
      const MatD xs = random_matrix(32, 41, 81);
      for (Index t = 0; t < xs.cols(); ++t) {
        for (std::size_t j = 0; j < 32; ++j) x[j] = float(xs(Index(j), t));
        REQUIRE(block.step(x, h) == Status::Ok);
        REQUIRE(other.step(x, ho) == Status::Ok);
        REQUIRE(h == ho);
      }
    };
    same(nn::PackedGRU<float, 32, 64, I8>(nn::GRU<float, 32, 64>({.seed = 82})));
    same(nn::PackedLSTM<float, 32, 64, I8>(nn::LSTM<float, 32, 64>({.seed = 83})));
  }
  SECTION("over 2000 steps of N(0, 1) input: below the stated drift") {
    GruTrio<32, 64, I8> g64(75);
    GruTrio<32, 8, I8> g8(76);
    LstmTrio<32, 64, I8> l64(77);
    const double dg64 = max_step_difference(g64.packed, g64.net, 2000, 78);
    const double dg8 = max_step_difference(g8.packed, g8.net, 2000, 79);
    const double dl64 = max_step_difference(l64.packed, l64.net, 2000, 80);
    INFO("drift: GRU 64 " << dg64 << ", GRU 8 " << dg8 << ", LSTM 64 " << dl64);
    CHECK(dg64 < 5e-2);  // stated in packed_gru.hpp and packed_lstm.hpp
    CHECK(dg8 < 5e-2);
    CHECK(dl64 < 5e-2);
    CHECK(dg64 > 1e-3);  // int8 is coarser than bf16
    CHECK(dl64 > 1e-3);
  }
  SECTION("PyTorch's fixtures: int8 weights reproduce torch's output within 1e-2") {
    const auto check = [](auto& block, auto& packed, const char* name) {
      const double err = fixture_error(block, packed, name);
      INFO(name << ": " << err);
      CHECK(err < 1e-2);
      CHECK(err > 1e-4);
    };
    nn::GRU<float, 3, 5> gru;
    nn::PackedGRU<float, 3, 5, I8> pgru;
    check(gru, pgru, "gru");
    nn::LSTM<float, 3, 5> lstm;
    nn::PackedLSTM<float, 3, 5, I8> plstm;
    check(lstm, plstm, "lstm");
  }
}

TEST_CASE("the packed steps reject NaN, keep their state, and allocate nothing", "[nn][bf16][realtime]") {
  static_assert(dendrite::rt::Stateful<nn::PackedGRU<float, 32, 64>>);
  static_assert(dendrite::rt::Stateful<nn::PackedLSTM<float, 32, 64>>);
  const auto check = [](auto& packed) {
    std::array<float, 32> x{};
    std::array<float, 64> h{};
    static_assert(noexcept(packed.step(x, h)));
    x[0] = 0.5f;
    REQUIRE(packed.step(x, h) == Status::Ok);
    const std::array<float, 64> before = h;
    const std::vector<float> state(packed.state().begin(), packed.state().end());
    x[3] = std::nanf("");
    CHECK(packed.step(x, h) == Status::RejectedNonFinite);
    CHECK(h == before);
    CHECK(std::equal(state.begin(), state.end(), packed.state().begin()));
    x[3] = 0.25f;
    const dendrite::test::AllocCounts counts = dendrite::test::allocations_during([&] {
      for (int i = 0; i < 10; ++i) (void)packed.step(x, h);
    });
    CHECK(counts.total() == 0);
    packed.reset();
    CHECK(std::all_of(packed.state().begin(), packed.state().end(), [](float v) { return v == 0; }));
  };
  nn::PackedGRU<float, 32, 64> pgru(nn::GRU<float, 32, 64>({.seed = 31}));
  check(pgru);
  nn::PackedLSTM<float, 32, 64> plstm(nn::LSTM<float, 32, 64>({.seed = 32}));
  check(plstm);
  nn::PackedGRU<float, 32, 64, std::int8_t> qgru(nn::GRU<float, 32, 64>({.seed = 33}));
  check(qgru);
  nn::PackedLSTM<float, 32, 64, std::int8_t> qlstm(nn::LSTM<float, 32, 64>({.seed = 34}));
  check(qlstm);
  nn::PackedGRU<float, 32, 64, dendrite::f16> hgru(nn::GRU<float, 32, 64>({.seed = 35}));
  check(hgru);
  nn::PackedLSTM<float, 32, 64, dendrite::f16> hlstm(nn::LSTM<float, 32, 64>({.seed = 36}));
  check(hlstm);
}

// ------------------------------------------------------------------ PackedDense
namespace {

/// PackedDense<float, In, Out, Weight, Act> on `trials` N(0, x_scale^2) inputs, against
/// f(b + sum_j w~_ij x~_j) written plainly in double from its stored weights w~ (bf16 and f16:
/// the independent roundings above; int8: s_i q_ij) and the input as the product sees it (x
/// rounded to bf16 where `rounds_input`, r_j t for int8, with r_j = round(x_j 127 / max|x|) in
/// float), within the float sums' rounding (In + 4 roundings of the absolute sum) and
/// `dendrite::tanh`'s 3 ulp; and against Dense<float> within the stated bound (the file comment
/// of nn/packed_dense.hpp; slope 1 for Identity and Tanh) plus both sides' float rounding.
/// Returns the largest error against Dense over its bound.
template <int In, int Out, class Weight, class Act>
double check_packed_dense(std::uint64_t seed, double x_scale, int trials = 3) {
  using Packed = nn::PackedDense<float, In, Out, Weight, Act>;
  constexpr bool kInt8 = std::is_same_v<Weight, std::int8_t>;
  INFO("In " << In << ", Out " << Out << ", x scale " << x_scale);
  const nn::Dense<float, In, Out, Act> dense({.seed = seed});
  const Packed packed(dense);
  const auto act = [](double v) { return std::is_same_v<Act, nn::Tanh> ? std::tanh(v) : v; };
  double worst = 0;
  for (int trial = 0; trial < trials; ++trial) {
    const MatD xd = x_scale * random_matrix(In, 1, seed + 10 + std::uint64_t(trial));
    std::array<float, In> x{};
    for (int j = 0; j < In; ++j) x[std::size_t(j)] = float(xd(j));
    std::array<float, Out> y{}, yd{};
    REQUIRE(packed.step(x, y) == Status::Ok);
    REQUIRE(dense.step(x, yd) == Status::Ok);
    float m = 0;
    for (float v : x) m = std::max(m, std::abs(v));
    const double t = double(m / 127.0F);
    std::array<double, In> xin{};
    for (std::size_t j = 0; j < std::size_t(In); ++j) {
      if constexpr (kInt8) {
        xin[j] = t * double(std::clamp(std::nearbyint(x[j] * (127.0F / m)), -127.0F, 127.0F));
      } else if constexpr (std::is_same_v<Weight, dendrite::bf16>) {
        xin[j] = Packed::rounds_input ? double(rounded_bf16(x[j])) : double(x[j]);
      } else {
        xin[j] = x[j];
      }
    }
    for (std::size_t i = 0; i < std::size_t(Out); ++i) {
      const double b = dense.bias.value(Index(i));
      REQUIRE(packed.bias(i) == float(b));
      double pre = b, abs_sum = std::abs(b), wsum = 0, xsum = 0, wx = 0, wmax = 0;
      for (std::size_t j = 0; j < std::size_t(In); ++j) {
        const float w = dense.weight.value(Index(i), Index(j));
        const float stored = packed.weight(i, j);
        if constexpr (!kInt8) REQUIRE(stored == stored_weight<Weight>(w));
        pre += double(stored) * xin[j];
        abs_sum += std::abs(double(stored) * xin[j]);
        wsum += std::abs(double(w));
        xsum += std::abs(double(x[j]));
        wx += std::abs(double(w) * double(x[j]));
        wmax = std::max(wmax, std::abs(double(w)));
      }
      const double rounding = std::ldexp((In + 4) * abs_sum, -24) + std::ldexp(3.0, -24);
      REQUIRE(std::abs(double(y[i]) - act(pre)) <= rounding);
      double bound = 0;
      if constexpr (kInt8) {
        const double s = wmax / 127;
        bound = 0.5 * s * xsum + 0.5 * t * wsum + In * s * t / 4;
      } else if constexpr (std::is_same_v<Weight, dendrite::bf16>) {
        const double u = std::ldexp(1.0, -8);
        bound = (Packed::rounds_input ? 2 * u + u * u : u) * wx;
      } else if constexpr (std::is_same_v<Weight, dendrite::f16>) {
        bound = std::ldexp(wx, -11) + std::ldexp(xsum, -25);
      }
      const double err = std::abs(double(y[i]) - double(yd[i]));
      REQUIRE(err <= bound + 2 * rounding);
      if (bound > 0) worst = std::max(worst, err / bound);
    }
  }
  return worst;
}

}  // namespace

TEST_CASE("PackedDense steps f(W x + b) with its stored weights, within the stated error of Dense",
          "[nn][packed_dense]") {
  using dendrite::bf16;
  using dendrite::f16;
  using I8 = std::int8_t;
  // odd sizes (rows left over past whole SIMD groups, odd column counts), and 128 x 128; each
  // form's error must reach a fair part of its bound somewhere (the bound is not vacuous)
  CHECK(std::max({check_packed_dense<5, 7, bf16, nn::Identity>(101, 1.0),
                  check_packed_dense<37, 3, bf16, nn::Tanh>(102, 0.3),
                  check_packed_dense<128, 128, bf16, nn::Identity>(103, 1.0)}) > 0.05);
  CHECK(std::max({check_packed_dense<5, 7, f16, nn::Identity>(104, 1.0),
                  check_packed_dense<37, 3, f16, nn::Tanh>(105, 0.3),
                  check_packed_dense<128, 128, f16, nn::Identity>(106, 1.0)}) > 0.05);
  CHECK(std::max({check_packed_dense<5, 7, I8, nn::Identity>(107, 1.0),
                  check_packed_dense<37, 3, I8, nn::Tanh>(108, 1e-3),
                  check_packed_dense<128, 128, I8, nn::Identity>(109, 30.0)}) > 0.05);
  // float storage: the same layer up to the order of the float sums
  (void)check_packed_dense<5, 7, float, nn::Identity>(110, 1.0);
  (void)check_packed_dense<128, 128, float, nn::Tanh>(111, 1.0);

  SECTION("non-finite input: y untouched; no allocation; a bad weight leaves the layer packed") {
    nn::Dense<float, 37, 5> dense({.seed = 112});
    const auto check = [&](const auto& packed) {
      std::array<float, 37> x{};
      std::array<float, 5> y{};
      static_assert(noexcept(packed.step(x, y)));
      x[0] = 0.5f;
      REQUIRE(packed.step(x, y) == Status::Ok);
      const std::array<float, 5> before = y;
      x[36] = std::numeric_limits<float>::infinity();
      CHECK(packed.step(x, y) == Status::RejectedNonFinite);
      CHECK(y == before);
      x[36] = 0.25f;
      const dendrite::test::AllocCounts counts = dendrite::test::allocations_during([&] {
        for (int i = 0; i < 10; ++i) (void)packed.step(x, y);
      });
      CHECK(counts.total() == 0);
    };
    check(nn::PackedDense<float, 37, 5, bf16>(dense));
    check(nn::PackedDense<float, 37, 5, f16>(dense));
    check(nn::PackedDense<float, 37, 5, I8>(dense));
    check(nn::PackedDense<float, 37, 5, float>(dense));

    nn::PackedDense<float, 37, 5, f16> half(dense);
    nn::PackedDense<float, 37, 5, I8> q(dense);
    const float kept = half.weight(2, 3), kept_q = q.weight(2, 3);
    nn::Dense<float, 37, 5> bad = dense;
    bad.weight.value(2, 3) = 70000.0f;  // past f16's largest
    CHECK_THROWS_AS(half.pack(bad), dendrite::numerical_error);
    CHECK(half.weight(2, 3) == kept);
    bad.weight.value(2, 3) = std::nanf("");
    CHECK_THROWS_AS(q.pack(bad), dendrite::numerical_error);
    CHECK(q.weight(2, 3) == kept_q);
  }
}

TEST_CASE("packed blocks compose in a Sequential: the blocks stepped in turn, bit for bit",
          "[nn][packed_dense][compose]") {
  using I8 = std::int8_t;
  const nn::GRU<float, 5, 24> gru({.seed = 121});
  const nn::Dense<float, 24, 3, nn::Tanh> dense({.seed = 122});
  using PG = nn::PackedGRU<float, 5, 24, I8>;
  using PD = nn::PackedDense<float, 24, 3, I8, nn::Tanh>;
  nn::Sequential<PG, PD> net{PG(gru), PD(dense)};
  PG g(gru);
  const PD d(dense);
  static_assert(dendrite::rt::StreamingBlock<nn::Sequential<PG, PD>>);
  const MatD x = random_matrix(5, 40, 123);
  std::array<float, 5> xs{};
  std::array<float, 24> h{};
  std::array<float, 3> y{}, yh{};
  for (Index t = 0; t < x.cols(); ++t) {
    for (int j = 0; j < 5; ++j) xs[std::size_t(j)] = float(x(j, t));
    if (t == 20) xs[2] = std::nanf("");  // rejected by the chain before any block moves
    const Status s = net.step<float>(xs, y);
    if (t == 20) {
      CHECK(s == Status::RejectedNonFinite);
      continue;
    }
    REQUIRE(s == Status::Ok);
    REQUIRE(g.step(xs, h) == Status::Ok);
    REQUIRE(d.step(h, yh) == Status::Ok);
    REQUIRE(y == yh);
  }
}

/// A blocked block (G groups of batchf lanes) against one single-stream block per lane, from the
/// same seed, over 60 steps of N(0, 1) input; one stream gets a NaN at t = 30 and is held alone.
/// Returns the largest difference of any output.
template <template <class, int, int, int> class Blocked, template <class, int, int> class Single,
          int In, int H, int G>
double blocked_against_streams(std::uint64_t seed) {
  static_assert(G >= 3, "the NaN goes to a stream of group 2");
  constexpr std::size_t L = dendrite::lanes_v<batchf>, S = L * G;
  Blocked<batchf, In, H, G> blocked({.seed = seed});
  const Single<float, In, H> ref({.seed = seed});
  REQUIRE(blocked.weight_ih.value == ref.weight_ih.value);  // the same draw as the single block's
  REQUIRE(blocked.bias_hh.value == ref.bias_hh.value);
  std::vector<Single<float, In, H>> streams(S, ref);
  std::mt19937 rng(unsigned(seed) + 1);
  std::normal_distribution<float> normal;
  std::array<batchf, In * G> x;
  std::array<batchf, H * G> h{};
  double worst = 0;
  for (int t = 0; t < 60; ++t) {
    std::vector<std::array<float, In>> xs(S);
    for (auto& v : xs) {
      for (auto& c : v) c = normal(rng);
    }
    const std::size_t bad = 2 * L + 1;  // stream 1 of group 2 gets a NaN at t = 30
    if (t == 30) xs[bad][0] = std::nanf("");
    for (std::size_t g = 0; g < std::size_t(G); ++g) {
      for (std::size_t j = 0; j < std::size_t(In); ++j) {
        for (std::size_t l = 0; l < L; ++l) dendrite::set_lane(x[g * In + j], l, xs[g * L + l][j]);
      }
    }
    // group 2's h[0]: its state (each group's state starts with its h) and its output
    constexpr std::size_t per_group = decltype(blocked)::state_size / std::size_t(G);
    const auto held_state = dendrite::lane(blocked.state()[2 * per_group], 1);
    const auto held = dendrite::lane(h[2 * H], 1);
    const Status s = blocked.step(x, h);
    CHECK(s == (t == 30 ? Status::RejectedNonFinite : Status::Ok));
    if (t == 30) {  // that stream held, in its state and in its output
      CHECK(dendrite::lane(blocked.state()[2 * per_group], 1) == held_state);
      CHECK(dendrite::lane(h[2 * H], 1) == held);
    }
    for (std::size_t k = 0; k < S; ++k) {
      std::array<float, H> hk;
      const Status sk = streams[k].step(xs[k], hk);
      CHECK(sk == (t == 30 && k == bad ? Status::RejectedNonFinite : Status::Ok));
      for (std::size_t i = 0; i < std::size_t(H); ++i) {
        const float got = dendrite::lane(h[(k / L) * H + i], k % L);
        worst = std::max(worst, double(std::abs(got - hk[i])));
      }
    }
  }
  return worst;
}

TEST_CASE("BlockedGRU: every lane of every group is the GRU on its own stream", "[nn][blocked]") {
  // only the order of the float sums differs
  CHECK(blocked_against_streams<nn::BlockedGRU, nn::GRU, 5, 7, 3>(41) < 1e-5);
  // 128 inputs of 4 groups take 16 KB: gemv_groups' wider row block on 16-register targets
  CHECK(blocked_against_streams<nn::BlockedGRU, nn::GRU, 128, 5, 4>(42) < 1e-5);

  SECTION("scalar double groups against GRU<double>") {
    nn::BlockedGRU<double, 3, 4, 2> bd({.seed = 43});
    nn::GRU<double, 3, 4> a({.seed = 43}), b({.seed = 43});
    const MatD xs = random_matrix(6, 40, 44);
    std::array<double, 6> xd;
    std::array<double, 8> hd;
    std::array<double, 3> xa, xb;
    std::array<double, 4> ha, hb;
    for (Index t = 0; t < xs.cols(); ++t) {
      for (std::size_t j = 0; j < 6; ++j) xd[j] = xs(Index(j), t);
      std::copy(xd.begin(), xd.begin() + 3, xa.begin());
      std::copy(xd.begin() + 3, xd.end(), xb.begin());
      REQUIRE(bd.step(xd, hd) == Status::Ok);
      REQUIRE(a.step(xa, ha) == Status::Ok);
      REQUIRE(b.step(xb, hb) == Status::Ok);
      for (std::size_t i = 0; i < 4; ++i) {
        CHECK(std::abs(hd[i] - ha[i]) < 1e-13);
        CHECK(std::abs(hd[4 + i] - hb[i]) < 1e-13);
      }
    }
  }
}

TEST_CASE("BlockedLSTM: every lane of every group is the LSTM on its own stream", "[nn][blocked]") {
  CHECK(blocked_against_streams<nn::BlockedLSTM, nn::LSTM, 5, 7, 3>(51) < 1e-5);
  CHECK(blocked_against_streams<nn::BlockedLSTM, nn::LSTM, 3, 16, 4>(52) < 1e-5);
  // h of 4 groups, 128 each (16 KB in all), a c between each two: the wider row block with
  // strided inputs
  CHECK(blocked_against_streams<nn::BlockedLSTM, nn::LSTM, 3, 128, 4>(53) < 1e-5);
}

TEST_CASE("blocked steps allocate nothing", "[nn][blocked][realtime]") {
  nn::BlockedGRU<batchf, 5, 7, 3> gru({.seed = 1});
  nn::BlockedLSTM<batchf, 5, 7, 3> lstm({.seed = 1});
  std::array<batchf, 15> x{};
  std::array<batchf, 21> h{};
  const dendrite::test::AllocCounts counts = dendrite::test::allocations_during([&] {
    for (int i = 0; i < 10; ++i) {
      (void)gru.step(x, h);
      (void)lstm.step(x, h);
    }
  });
  CHECK(counts.total() == 0);
  static_assert(noexcept(gru.step(x, h)) && noexcept(lstm.step(x, h)));
}
