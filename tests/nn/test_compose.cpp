// SPDX-License-Identifier: MIT
// Attention (multi-head, streaming, gates) and composition (Sequential, Residual, Parallel):
// against a naive attention written here and against PyTorch's nn.MultiheadAttention and
// nn.Sequential (tests/data/pytorch), the streaming step against the windowed forward, the
// causal mask, gradchecks of the blocks and of compositions, the state_dict names and loading.
#include "support/alloc_counter.hpp"

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <dendrite/autodiff/gradcheck.hpp>
#include <dendrite/io/pytorch.hpp>
#include <dendrite/nn.hpp>

#include "support/random.hpp"
#include "support/scratch.hpp"
#include "support/sequences.hpp"

namespace ad = dendrite::autodiff;
namespace nn = dendrite::nn;
using ad::Index;
using MatD = ad::Mat<double>;
using dendrite::batchd;
using dendrite::Status;
using dendrite::test::interleave;
using dendrite::test::max_abs;
using dendrite::test::random_matrix;
using dendrite::test::sequence_of;
using dendrite::test::stream;

namespace {

constexpr const char* kFixtures = DENDRITE_TEST_DATA_DIR "/pytorch";

/// Multi-head self-attention from its definition, one query, key and head at a time.
/// weights[h](i, j): how much query i attends key j.
MatD naive_mha(const MatD& x, const MatD& win, const MatD& bin, const MatD& wout,
               const MatD& bout, int heads, bool causal, int window, std::vector<MatD>* weights) {
  const Index D = x.rows(), L = x.cols(), d = D / heads;
  const MatD q = (win.topRows(D) * x).colwise() + bin.col(0).head(D);
  const MatD k = (win.middleRows(D, D) * x).colwise() + bin.col(0).segment(D, D);
  const MatD v = (win.bottomRows(D) * x).colwise() + bin.col(0).tail(D);
  MatD o = MatD::Zero(D, L);
  if (weights) weights->assign(std::size_t(heads), MatD::Zero(L, L));
  for (int h = 0; h < heads; ++h) {
    for (Index i = 0; i < L; ++i) {
      std::vector<double> s(std::size_t(L), -std::numeric_limits<double>::infinity());
      double mx = -std::numeric_limits<double>::infinity();
      for (Index j = 0; j < L; ++j) {
        const bool seen = (!causal && window == 0) || (j <= i && (window == 0 || i - j < window));
        if (!seen) continue;
        double dot = 0;
        for (Index e = 0; e < d; ++e) dot += q(h * d + e, i) * k(h * d + e, j);
        s[std::size_t(j)] = dot / std::sqrt(double(d));
        mx = std::max(mx, s[std::size_t(j)]);
      }
      double z = 0;
      for (Index j = 0; j < L; ++j) z += std::exp(s[std::size_t(j)] - mx);
      for (Index j = 0; j < L; ++j) {
        const double p = std::exp(s[std::size_t(j)] - mx) / z;
        if (weights) (*weights)[std::size_t(h)](i, j) = p;
        for (Index e = 0; e < d; ++e) o(h * d + e, i) += p * v(h * d + e, j);
      }
    }
  }
  return (wout * o).colwise() + bout.col(0);
}

void randomise(std::vector<ad::Parameter<double>*> ps, std::uint64_t seed, double sd = 0.5) {
  for (ad::Parameter<double>* p : ps) p->value = random_matrix(p->rows(), p->cols(), seed++, sd);
}

void check_gradient(const char* what, const ad::GradcheckResult& r) {
  INFO(what << ": error " << r.max_error << " at parameter " << r.parameter << " element "
            << r.element << " (analytic " << r.analytic << ", numeric " << r.numeric << ")");
  CHECK(r.checked > 0);
  CHECK(r.max_error < 1e-6);
}

ad::Var<double> weighted(ad::Var<double> y, std::uint64_t seed) {
  return ad::sum(y * y.tape().constant(random_matrix(y.rows(), y.cols(), seed)));
}

}  // namespace

TEST_CASE("multi-head attention matches the definition, with and without masks", "[nn][attention]") {
  nn::MultiHeadAttention<double, 8, 2> mha({.seed = 1});
  randomise(mha.parameters(), 2);
  const MatD x = random_matrix(8, 9, 3);
  struct Case {
    bool causal;
    int window;
  };
  for (const Case c : {Case{false, 0}, Case{true, 0}, Case{true, 3}}) {
    nn::MultiHeadAttention<double, 8, 2> m({.causal = c.causal, .window = c.window, .seed = 1});
    for (std::size_t k = 0; k < 4; ++k) *m.parameters()[k] = *mha.parameters()[k];
    std::vector<MatD> w, want_w;
    const MatD y = m.forward(x, &w);
    const MatD want = naive_mha(x, m.in_proj_weight.value, m.in_proj_bias.value,
                                m.out_proj_weight.value, m.out_proj_bias.value, 2, c.causal,
                                c.window, &want_w);
    INFO("causal " << c.causal << " window " << c.window);
    CHECK(max_abs(y - want) < 1e-13);
    REQUIRE(w.size() == 2);
    for (std::size_t h = 0; h < 2; ++h) {
      CHECK(max_abs(w[h] - want_w[h]) < 1e-14);
      CHECK(max_abs(w[h].rowwise().sum().array() - 1.0) < 1e-14);  // each query's weights
    }
    // the tape form over three sequences, step-major, gives each sequence's forward
    const std::vector<MatD> seqs{x, random_matrix(8, 9, 4), random_matrix(8, 9, 5)};
    ad::Tape<double> tape;
    const ad::Var<double> yt = m.forward(tape, tape.constant(interleave(seqs)), 3);
    for (Index b = 0; b < 3; ++b) {
      CHECK(max_abs(sequence_of(yt.value(), b, 3) - m.forward(seqs[std::size_t(b)])) < 1e-13);
    }
    const MatD& p = ad::attention_weights(m.attention_var());
    CHECK(max_abs(p.colwise().sum().array() - 1.0) < 1e-14);
  }
}

TEST_CASE("multi-head attention loaded from PyTorch reproduces nn.MultiheadAttention", "[nn][attention][reference]") {
  const std::string dir = std::string(kFixtures) + "/mha";
  nn::MultiHeadAttention<double, 8, 2> mha({.causal = true, .window = 0, .seed = 0});
  dendrite::io::load_pytorch(mha, dir);
  const MatD x = dendrite::io::read_npy<double>(dir + "/ref_input.npy").transpose();
  const MatD y = dendrite::io::read_npy<double>(dir + "/ref_output.npy").transpose();
  const auto w = dendrite::io::read_npy_array<double>(dir + "/ref_weights.npy");  // (2, 6, 6)
  std::vector<MatD> weights;
  CHECK(max_abs(mha.forward(x, &weights) - y) < 1e-12);
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  for (std::size_t h = 0; h < 2; ++h) {
    CHECK(max_abs(weights[h] - Eigen::Map<const RowMajor>(w.data.data() + h * 36, 6, 6)) < 1e-12);
  }
}

TEST_CASE("the causal mask blocks the future", "[nn][attention]") {
  nn::MultiHeadAttention<double, 8, 4> mha({.causal = true, .window = 0, .positional = true, .seed = 7});
  randomise(mha.parameters(), 8);
  MatD x = random_matrix(8, 10, 9);
  const MatD before = mha.forward(x);
  x.col(6) += random_matrix(8, 1, 10, 5.0);  // change step 6 only
  const MatD after = mha.forward(x);
  CHECK(max_abs(after.leftCols(6) - before.leftCols(6)) == 0.0);  // exactly: never read
  CHECK(max_abs(after.rightCols(4) - before.rightCols(4)) > 1e-3);
}

TEST_CASE("streaming attention equals the causal-window forward", "[nn][attention][realtime]") {
  SECTION("window shorter than the stream, with positional encoding") {
    nn::MultiHeadAttention<double, 8, 2, 5> mha({.causal = true, .window = 5, .positional = true, .seed = 11});
    randomise(mha.parameters(), 12);
    const MatD x = random_matrix(8, 23, 13);
    CHECK(max_abs(stream<double, 8, 8>(mha, x) - mha.forward(x)) < 1e-12);
    // reset() starts a new stream: the same outputs again
    CHECK(max_abs(stream<double, 8, 8>(mha, x) - mha.forward(x)) < 1e-12);
  }
  SECTION("float, dim 16, 4 heads, window 8") {
    nn::MultiHeadAttention<float, 16, 4, 8> mhaf({.causal = true, .window = 8, .seed = 14});
    nn::MultiHeadAttention<double, 16, 4, 8> mhad({.causal = true, .window = 8, .seed = 14});
    for (std::size_t k = 0; k < 4; ++k) mhad.parameters()[k]->value = mhaf.parameters()[k]->value.cast<double>();
    const MatD x = random_matrix(16, 30, 15);
    CHECK(max_abs(stream<float, 16, 16>(mhaf, x) - mhad.forward(x)) < 1e-5);
  }
  SECTION("a non-finite sample is rejected and changes nothing") {
    nn::MultiHeadAttention<double, 8, 2, 4> mha({.causal = true, .window = 4, .seed = 16});
    const MatD x = random_matrix(8, 12, 17);
    const MatD want = mha.forward(x);
    std::array<double, 8> in{}, out{};
    for (Index t = 0; t < 12; ++t) {
      if (t == 6) {
        std::array<double, 8> bad{};
        bad[3] = std::numeric_limits<double>::infinity();
        const std::array<double, 8> held = out;
        CHECK(mha.step(bad, out) == Status::RejectedNonFinite);
        CHECK(out == held);
      }
      for (std::size_t i = 0; i < 8; ++i) in[i] = x(Index(i), t);
      REQUIRE(mha.step(in, out) == Status::Ok);
      for (std::size_t i = 0; i < 8; ++i) CHECK(std::abs(out[i] - want(Index(i), t)) < 1e-12);
    }
  }
  SECTION("no allocation, noexcept") {
    nn::MultiHeadAttention<float, 64, 4, 32> mha({.causal = true, .window = 32, .positional = true, .seed = 18});
    nn::Sequential<nn::Conv1D<float, 8, 16, 3>, nn::LeakyReLU<float>, nn::Dense<float, 16, 4>> seq;
    nn::Residual<nn::Sequential<nn::Dense<float, 4, 4>, nn::Activation<float, nn::Tanh>>> res;
    nn::Parallel<nn::Dense<float, 4, 3>, nn::LayerNorm<float, 4>> par;
    std::array<float, 64> x{}, y{};
    std::array<float, 8> x8{};
    std::array<float, 4> y4{}, r4{};
    std::array<float, 7> p7{};
    static_assert(noexcept(mha.step(x, y)));
    static_assert(noexcept(seq.step<float>(x8, y4)));
    static_assert(noexcept(res.step(y4, r4)));
    static_assert(noexcept(par.step<float>(r4, p7)));
    const dendrite::test::AllocCounts counts = dendrite::test::allocations_during([&] {
      for (int i = 0; i < 50; ++i) {
        x[std::size_t(i)] = 0.01f * float(i);
        x8[std::size_t(i % 8)] = 0.1f * float(i);
        (void)mha.step(x, y);
        (void)seq.step<float>(x8, y4);
        (void)res.step(y4, r4);
        (void)par.step<float>(r4, p7);
      }
    });
    CHECK(counts.total() == 0);
    CHECK(std::isfinite(y[0]));
    CHECK(std::isfinite(p7[6]));
  }
}

TEST_CASE("Sequential, Residual and Parallel compose the forms of their blocks", "[nn][compose]") {
  using Seq = nn::Sequential<nn::Conv1D<double, 3, 4, 3>, nn::LeakyReLU<double>,
                             nn::Dense<double, 4, 2>>;
  static_assert(Seq::input_size == 3 && Seq::output_size == 2);
  Seq seq(nn::Conv1D<double, 3, 4, 3>({.padding = nn::Padding::Causal, .seed = 1}), nn::LeakyReLU<double>(0.2),
          nn::Dense<double, 4, 2>({.seed = 2}));
  const MatD x = random_matrix(3, 15, 3);
  const MatD by_hand = seq.get<2>().forward(seq.get<1>().forward(seq.get<0>().forward(x)));
  CHECK(max_abs(seq.forward(x) - by_hand) < 1e-15);
  CHECK(max_abs(stream<double, 3, 2>(seq, x) - by_hand) < 1e-13);
  ad::Tape<double> tape;
  const std::vector<MatD> seqs{x, random_matrix(3, 15, 4)};
  const ad::Var<double> yt = seq.forward(tape, tape.constant(interleave(seqs)), 2);
  CHECK(max_abs(sequence_of(yt.value(), 0, 2) - by_hand) < 1e-13);

  std::vector<std::string> names;
  for (auto& [name, p] : seq.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
  CHECK(seq.parameters().size() == 4);

  nn::Residual<nn::Sequential<nn::Dense<double, 3, 3>, nn::Activation<double, nn::Tanh>>> res;
  CHECK(max_abs(res.forward(x) - (x + res.block.forward(x))) < 1e-15);
  CHECK(max_abs(stream<double, 3, 3>(res, x) - res.forward(x)) < 1e-14);
  nn::Parallel<nn::Dense<double, 3, 2>, nn::Dense<double, 3, 4>> par;
  const MatD py = par.forward(x);
  REQUIRE(py.rows() == 6);
  CHECK(max_abs(py.topRows(2) - std::get<0>(par.blocks).forward(x)) == 0.0);
  CHECK(max_abs(py.bottomRows(4) - std::get<1>(par.blocks).forward(x)) == 0.0);
  CHECK(max_abs(stream<double, 3, 6>(par, x) - py) < 1e-14);

  // maps: branches stacked along channels
  nn::Parallel<nn::Conv2D<double, 1, 2, 3>, nn::Conv2D<double, 1, 3, 1>> maps_par(
      nn::Conv2D<double, 1, 2, 3>({.padding = nn::Padding::Same, .seed = 5}),
      nn::Conv2D<double, 1, 3, 1>({.seed = 6}));
  const nn::Maps<double> m{random_matrix(4 * 5, 2, 7), {1, 4, 5}};
  const nn::Maps<double> mp = maps_par.forward(m);
  CHECK(mp.shape == nn::MapShape{5, 4, 5});
  CHECK(max_abs(mp.data.topRows(40) - std::get<0>(maps_par.blocks).forward(m).data) == 0.0);
  CHECK(max_abs(mp.data.bottomRows(60) - std::get<1>(maps_par.blocks).forward(m).data) == 0.0);
}

TEST_CASE("a Sequential step passes a rejected lane on, so no block's state moves", "[nn][compose][realtime]") {
  constexpr std::size_t W = batchd::size;
  using Seq = nn::Sequential<nn::Conv1D<double, 2, 3, 3>, nn::Activation<double, nn::Tanh>,
                             nn::Conv1D<double, 3, 2, 2>>;
  using SeqLanes = nn::Sequential<nn::Conv1D<batchd, 2, 3, 3>, nn::Activation<batchd, nn::Tanh>,
                                  nn::Conv1D<batchd, 3, 2, 2>>;
  Seq scalar;
  SeqLanes lanes;
  for (std::size_t k = 0; k < 2; ++k) {  // same weights
    lanes.named_parameters()[k].second->value = scalar.named_parameters()[k].second->value;
    lanes.named_parameters()[k + 2].second->value = scalar.named_parameters()[k + 2].second->value;
  }
  std::vector<MatD> xs, want;
  for (std::size_t k = 0; k < W; ++k) {
    xs.push_back(random_matrix(2, 10, 20 + k));
    want.push_back(stream<double, 2, 2>(scalar, xs[k]));
  }
  std::array<batchd, 2> out{};
  for (Index t = 0; t < 10; ++t) {
    std::array<batchd, 2> in{};
    for (std::size_t i = 0; i < 2; ++i) {
      for (std::size_t k = 0; k < W; ++k) dendrite::set_lane(in[i], k, xs[k](Index(i), t));
    }
    if (t == 4) {  // lane 0 gets a NaN sample first: every block must leave lane 0 alone
      std::array<batchd, 2> bad = in;
      dendrite::set_lane(bad[1], 0, std::numeric_limits<double>::quiet_NaN());
      const double held = dendrite::lane(out[0], 0);
      CHECK(lanes.step<batchd>(bad, out) == Status::RejectedNonFinite);
      CHECK(dendrite::lane(out[0], 0) == held);
    }
    (void)lanes.step<batchd>(in, out);
    for (std::size_t o = 0; o < 2; ++o) {
      CHECK(std::abs(dendrite::lane(out[o], 0) - want[0](Index(o), t)) < 1e-13);
    }
  }
}

TEST_CASE("a Sequential loaded from nn.Sequential's state_dict reproduces PyTorch", "[nn][compose][reference]") {
  const std::string dir = std::string(kFixtures) + "/sequential";
  nn::Sequential<nn::Conv1D<double, 3, 4, 3>, nn::LeakyReLU<double>, nn::Conv1D<double, 4, 2, 1>> seq(
      nn::Conv1D<double, 3, 4, 3>({.padding = nn::Padding::Same}), nn::LeakyReLU<double>(0.2),
      nn::Conv1D<double, 4, 2, 1>());
  dendrite::io::load_pytorch(seq, dir);  // verifies check_output.npy to 1e-4 on load
  const MatD x = dendrite::io::read_npy<double>(dir + "/check_input.npy").transpose();
  const MatD y = dendrite::io::read_npy<double>(dir + "/check_output.npy").transpose();
  CHECK(max_abs(seq.forward(x) - y) < 1e-12);

  // save and load round trip keeps the N-D shapes; a model with other sizes is refused whole
  const auto tmp = dendrite::test::scratch_dir("sequential");
  dendrite::io::save_pytorch(seq, tmp);
  CHECK(dendrite::io::read_npy_array<double>(tmp / "0.weight.npy").shape == std::vector<std::int64_t>{4, 3, 3});
  decltype(seq) copy;
  dendrite::io::load_pytorch(copy, tmp);
  CHECK(max_abs(copy.get<0>().weight.value - seq.get<0>().weight.value) == 0.0);
  nn::Sequential<nn::Conv1D<double, 3, 4, 3>, nn::LeakyReLU<double>, nn::Conv1D<double, 4, 3, 1>> other;
  const MatD before = other.get<0>().weight.value;
  CHECK_THROWS_WITH(dendrite::io::load_pytorch(other, tmp), Catch::Contains("2.weight.npy': shape mismatch: expected (3, 4, 1), got (2, 4, 1)"));
  CHECK(other.get<0>().weight.value == before);
}

TEST_CASE("attention gate and spatial attention: formulas, masks and gradients", "[nn][attention][gate]") {
  using Body = nn::Sequential<nn::Conv2D<double, 2, 3, 3>, nn::LeakyReLU<double>>;
  nn::AttentionGate<double, Body, 2> gate(
      Body(nn::Conv2D<double, 2, 3, 3>({.padding = nn::Padding::Same, .seed = 1}),
           nn::LeakyReLU<double>(0.2)),
      {.seed = 2});
  const nn::MapShape shape{2, 5, 4};
  const MatD x = random_matrix(shape.size(), 3, 3);
  const nn::Maps<double> in{x, shape};
  const nn::Maps<double> y = gate.forward(in);
  const nn::Maps<double> h = gate.head.forward(gate.body.forward(in));
  const Index hw = 20;
  for (Index n = 0; n < 3; ++n) {
    for (Index p = 0; p < hw; ++p) {
      const double m = 1 / (1 + std::exp(-h.data(2 * hw + p, n)));
      CHECK(std::abs(gate.mask().data(p, n) - m) < 1e-15);
      for (Index c = 0; c < 2; ++c) {
        const double want = m * std::tanh(h.data(c * hw + p, n)) + (1 - m) * x(c * hw + p, n);
        CHECK(std::abs(y.data(c * hw + p, n) - want) < 1e-14);
      }
    }
  }
  // a mask driven to 0 passes the input through unchanged
  gate.head.bias.value(2, 0) = -1e3;
  CHECK(max_abs(gate.forward(in).data - x) < 1e-12);
  gate.head.bias.value(2, 0) = 0.1;
  ad::Tape<double> tape;
  const nn::MapsVar<double> yt = gate.forward(tape, {tape.constant(x), shape});
  const MatD mask_tape = gate.mask().data;
  CHECK(max_abs(yt.var.value() - gate.forward(in).data) < 1e-14);
  CHECK(max_abs(mask_tape - gate.mask().data) < 1e-15);

  std::vector<std::string> names;
  for (auto& [name, p] : gate.named_parameters()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"body.0.weight", "body.0.bias", "head.weight", "head.bias"});

  ad::Parameter<double> xp(x);
  check_gradient("attention gate", ad::gradcheck([&](ad::Tape<double>& t) {
    return weighted(gate.forward(t, {t.param(xp), shape}).var, 4);
  }, [&] { auto ps = gate.parameters(); ps.push_back(&xp); return ps; }()));

  nn::SpatialAttention<double, 2> spatial({.seed = 5});
  const nn::Maps<double> s = spatial.forward(in);
  for (Index n = 0; n < 3; ++n) {
    for (Index p = 0; p < hw; ++p) {
      const double z = spatial.score.weight.value(0, 0) * x(p, n) + spatial.score.weight.value(0, 1) * x(hw + p, n) + spatial.score.bias.value(0, 0);
      const double a = 1 / (1 + std::exp(-z));
      CHECK(std::abs(spatial.map().data(p, n) - a) < 1e-15);
      CHECK(std::abs(s.data(hw + p, n) - a * x(hw + p, n)) < 1e-15);
    }
  }
  check_gradient("spatial attention", ad::gradcheck([&](ad::Tape<double>& t) {
    return weighted(spatial.forward(t, {t.param(xp), shape}).var, 6);
  }, {&xp, &spatial.score.weight, &spatial.score.bias}));
}

TEST_CASE("gradcheck of attention and of three-layer compositions", "[nn][gradcheck]") {
  nn::MultiHeadAttention<double, 4, 2> mha({.causal = true, .window = 3, .positional = true, .seed = 1});
  randomise(mha.parameters(), 2);
  ad::Parameter<double> x(random_matrix(4, 5 * 2, 3));  // L = 5, batch 2
  auto ps = mha.parameters();
  ps.push_back(&x);
  check_gradient("multi-head attention", ad::gradcheck([&](ad::Tape<double>& t) {
    return weighted(mha.forward(t, t.param(x), 2), 4);
  }, ps));

  nn::Sequential<nn::Conv1D<double, 4, 3, 3>, nn::LayerNorm<double, 3>, nn::Dense<double, 3, 2, nn::Tanh>> seq(
      nn::Conv1D<double, 4, 3, 3>({.padding = nn::Padding::Causal, .seed = 5}), nn::LayerNorm<double, 3>(),
      nn::Dense<double, 3, 2, nn::Tanh>({.seed = 6}));
  randomise({&seq.get<1>().weight, &seq.get<1>().bias}, 7);
  ps = seq.parameters();
  ps.push_back(&x);
  check_gradient("Sequential conv-norm-dense", ad::gradcheck([&](ad::Tape<double>& t) {
    return weighted(seq.forward(t, t.param(x), 2), 8);
  }, ps));

  nn::Sequential<nn::Conv2D<double, 1, 2, 3>, nn::InstanceNorm<double, 2>,
                 nn::Residual<nn::Sequential<nn::Conv2D<double, 2, 2, 3>, nn::LeakyReLU<double>>>>
      maps_seq;
  maps_seq.get<0>() = nn::Conv2D<double, 1, 2, 3>({.padding = nn::Padding::Same, .seed = 9});
  maps_seq.get<2>().block.get<0>() = nn::Conv2D<double, 2, 2, 3>({.padding = nn::Padding::Same, .seed = 10});
  ad::Parameter<double> m(random_matrix(6 * 5, 2, 11));
  ps = maps_seq.parameters();
  ps.push_back(&m);
  check_gradient("Sequential conv2d-instancenorm-residual", ad::gradcheck([&](ad::Tape<double>& t) {
    return weighted(maps_seq.forward(t, nn::MapsVar<double>{t.param(m), {1, 6, 5}}).var, 12);
  }, ps));

  nn::Parallel<nn::Dense<double, 4, 2>, nn::Residual<nn::Dense<double, 4, 4>>> par;
  ps = par.parameters();
  ps.push_back(&x);
  check_gradient("Parallel", ad::gradcheck([&](ad::Tape<double>& t) {
    return weighted(par.forward(t, t.param(x), 2), 13);
  }, ps));
}
