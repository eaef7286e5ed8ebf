// SPDX-License-Identifier: MIT
// Conv1D/Conv2D, pooling, upsampling, norms and activation layers: each against a plain loop
// written here from the definition (and against PyTorch through tests/data/pytorch), the
// streaming step against forward, lanes against scalar streams, rejection, no allocation, and a
// gradcheck of every tape op.
#include "support/alloc_counter.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <dendrite/autodiff/gradcheck.hpp>
#include <dendrite/io/pytorch.hpp>
#include <dendrite/nn.hpp>

#include "support/random.hpp"
#include "support/sequences.hpp"

namespace ad = dendrite::autodiff;
namespace nn = dendrite::nn;
using ad::Index;
using MatD = ad::Mat<double>;
using dendrite::batchf;
using dendrite::Status;
using dendrite::test::interleave;
using dendrite::test::max_abs;
using dendrite::test::random_matrix;
using dendrite::test::sequence_of;
using dendrite::test::stream;

namespace {

constexpr const char* kFixtures = DENDRITE_TEST_DATA_DIR "/pytorch";

/// y[o, t] = b[o] + sum_{c,k} W[o, c, k] x[c, t s + k d - pl], zero outside: the definition.
MatD naive_conv1d(const MatD& x, const MatD& w, const MatD& b, int K, int d, int s, int pl,
                  int pr) {
  const Index cin = x.rows(), cout = w.rows(), L = x.cols();
  const Index lout = (L + pl + pr - d * (K - 1) - 1) / s + 1;
  MatD y(cout, lout);
  for (Index o = 0; o < cout; ++o) {
    for (Index t = 0; t < lout; ++t) {
      double acc = b(o, 0);
      for (Index c = 0; c < cin; ++c) {
        for (int k = 0; k < K; ++k) {
          const Index src = t * s + k * d - pl;
          if (src >= 0 && src < L) acc += w(o, c * K + k) * x(c, src);
        }
      }
      y(o, t) = acc;
    }
  }
  return y;
}

/// The 2-D definition over one map held as C x H x W in C order.
MatD naive_conv2d(const MatD& x, Index cin, Index H, Index W, const MatD& w, const MatD& b,
                  int KH, int KW, int s, int pt, int pl, int pb, int pr) {
  const Index cout = w.rows();
  const Index ho = (H + pt + pb - KH) / s + 1, wo = (W + pl + pr - KW) / s + 1;
  MatD y(cout * ho * wo, x.cols());
  for (Index n = 0; n < x.cols(); ++n) {
    for (Index o = 0; o < cout; ++o) {
      for (Index i = 0; i < ho; ++i) {
        for (Index j = 0; j < wo; ++j) {
          double acc = b(o, 0);
          for (Index c = 0; c < cin; ++c) {
            for (int u = 0; u < KH; ++u) {
              for (int v = 0; v < KW; ++v) {
                const Index r = i * s + u - pt, q = j * s + v - pl;
                if (r >= 0 && r < H && q >= 0 && q < W) {
                  acc += w(o, (c * KH + u) * KW + v) * x((c * H + r) * W + q, n);
                }
              }
            }
          }
          y((o * ho + i) * wo + j, n) = acc;
        }
      }
    }
  }
  return y;
}

}  // namespace

TEST_CASE("Conv1D matches the definition for every padding, stride and dilation", "[nn][conv]") {
  const MatD x = random_matrix(3, 17, 1);
  struct Case {
    nn::Padding padding;
    int stride, pad, pl, pr;
  };
  // K = 4, d = 2: receptive field 7, (K - 1) d = 6
  for (const Case c : {Case{nn::Padding::Valid, 1, 0, 0, 0}, Case{nn::Padding::Valid, 3, 0, 0, 0},
                       Case{nn::Padding::Same, 1, 0, 3, 3}, Case{nn::Padding::Causal, 1, 0, 6, 0},
                       Case{nn::Padding::Causal, 2, 0, 6, 0}, Case{nn::Padding::Zeros, 2, 2, 2, 2}}) {
    nn::Conv1D<double, 3, 5, 4, 2> conv({.padding = c.padding, .stride = c.stride, .pad = c.pad, .seed = 7});
    const MatD want = naive_conv1d(x, conv.weight.value, conv.bias.value, 4, 2, c.stride, c.pl, c.pr);
    const MatD got = conv.forward(x);
    INFO("padding " << int(c.padding) << " stride " << c.stride);
    REQUIRE(got.rows() == want.rows());
    REQUIRE(got.cols() == want.cols());
    CHECK(max_abs(got - want) < 1e-13);

    // the tape form over a step-major batch of three sequences gives each sequence's forward
    const std::vector<MatD> seqs{x, random_matrix(3, 17, 2), random_matrix(3, 17, 3)};
    ad::Tape<double> tape;
    const ad::Var<double> y = conv.forward(tape, tape.constant(interleave(seqs)), 3);
    for (Index b = 0; b < 3; ++b) {
      CHECK(max_abs(sequence_of(y.value(), b, 3) - conv.forward(seqs[std::size_t(b)])) < 1e-13);
    }
  }
  // 'same' with an even receptive span puts the odd zero on the right, as PyTorch
  nn::Conv1D<double, 3, 2, 2> even({.padding = nn::Padding::Same, .seed = 3});
  CHECK(max_abs(even.forward(x) - naive_conv1d(x, even.weight.value, even.bias.value, 2, 1, 1, 0, 1)) < 1e-13);
}

TEST_CASE("Conv1D and Conv2D loaded from PyTorch reproduce PyTorch's outputs", "[nn][conv][reference]") {
  const std::string d1 = std::string(kFixtures) + "/conv1d";
  nn::Conv1D<double, 3, 4, 3, 2> conv1({.padding = nn::Padding::Valid, .stride = 2, .seed = 0});
  dendrite::io::load_pytorch(conv1, d1);
  const MatD x1 = dendrite::io::read_npy<double>(d1 + "/ref_input.npy").transpose();
  const MatD y1 = dendrite::io::read_npy<double>(d1 + "/ref_output.npy").transpose();
  CHECK(max_abs(conv1.forward(x1) - y1) < 1e-12);

  const std::string d2 = std::string(kFixtures) + "/conv2d";
  nn::Conv2D<double, 2, 3, 3, 2> conv2({.padding = nn::Padding::Zeros, .stride = 2, .pad = 1, .seed = 0});
  dendrite::io::load_pytorch(conv2, d2);
  const auto in = dendrite::io::read_npy_array<double>(d2 + "/ref_input.npy");    // (2, 2, 7, 6)
  const auto out = dendrite::io::read_npy_array<double>(d2 + "/ref_output.npy");  // (2, 3, 4, 4)
  REQUIRE(in.shape == std::vector<std::int64_t>{2, 2, 7, 6});
  const nn::Maps<double> maps{Eigen::Map<const MatD>(in.data.data(), 2 * 7 * 6, 2), {2, 7, 6}};
  const nn::Maps<double> y2 = conv2.forward(maps);
  CHECK(y2.shape == nn::MapShape{3, 4, 4});
  REQUIRE(out.shape == std::vector<std::int64_t>{2, 3, 4, 4});
  CHECK(max_abs(y2.data - Eigen::Map<const MatD>(out.data.data(), 48, 2)) < 1e-12);

  // a weight of the wrong kernel size is refused and the old weights stay
  nn::Conv1D<double, 3, 4, 5> wrong({.seed = 0});
  const MatD before = wrong.weight.value;
  CHECK_THROWS_WITH(dendrite::io::load_pytorch(wrong, d1),
                    Catch::Contains("expected (4, 3, 5), got (4, 3, 3)"));
  CHECK(wrong.weight.value == before);
}

TEST_CASE("Conv2D matches the definition", "[nn][conv]") {
  const MatD x = random_matrix(2 * 7 * 6, 3, 4);  // three maps of 2 x 7 x 6
  const nn::Maps<double> maps{x, {2, 7, 6}};
  {
    nn::Conv2D<double, 2, 3, 3, 2> conv({.seed = 5});  // valid, stride 1
    const nn::Maps<double> y = conv.forward(maps);
    CHECK(y.shape == nn::MapShape{3, 5, 5});
    CHECK(max_abs(y.data - naive_conv2d(x, 2, 7, 6, conv.weight.value, conv.bias.value, 3, 2, 1, 0, 0, 0, 0)) < 1e-13);
  }
  {
    nn::Conv2D<double, 2, 3, 3> conv({.padding = nn::Padding::Same, .seed = 6});
    const nn::Maps<double> y = conv.forward(maps);
    CHECK(y.shape == nn::MapShape{3, 7, 6});
    CHECK(max_abs(y.data - naive_conv2d(x, 2, 7, 6, conv.weight.value, conv.bias.value, 3, 3, 1, 1, 1, 1, 1)) < 1e-13);
  }
  {
    nn::Conv2D<double, 2, 4, 4> conv({.padding = nn::Padding::Zeros, .stride = 2, .pad = 1, .seed = 7});  // PatchGAN's k4 s2 p1
    const nn::Maps<double> y = conv.forward(maps);
    CHECK(y.shape == nn::MapShape{4, 3, 3});
    CHECK(max_abs(y.data - naive_conv2d(x, 2, 7, 6, conv.weight.value, conv.bias.value, 4, 4, 2, 1, 1, 1, 1)) < 1e-13);
    ad::Tape<double> tape;
    const nn::MapsVar<double> v = conv.forward(tape, {tape.constant(x), maps.shape});
    CHECK(v.shape == y.shape);
    CHECK(max_abs(v.var.value() - y.data) < 1e-13);
  }
}

TEST_CASE("Conv1D step streams exactly the causal forward", "[nn][conv][realtime]") {
  const MatD x = random_matrix(8, 40, 11);
  SECTION("double, dilation 1 and 3") {
    nn::Conv1D<double, 8, 8, 5> a({.padding = nn::Padding::Causal, .seed = 1});
    CHECK(max_abs((stream<double, 8, 8>(a, x)) - a.forward(x)) < 1e-13);
    nn::Conv1D<double, 8, 6, 3, 3> b({.padding = nn::Padding::Causal, .seed = 2});
    CHECK(max_abs((stream<double, 8, 6>(b, x)) - b.forward(x)) < 1e-13);
  }
  SECTION("float against the double forward") {
    nn::Conv1D<float, 8, 8, 15> a({.padding = nn::Padding::Causal, .seed = 3});
    nn::Conv1D<double, 8, 8, 15> ad({.padding = nn::Padding::Causal, .seed = 3});
    ad.weight.value = a.weight.value.cast<double>();
    ad.bias.value = a.bias.value.cast<double>();
    CHECK(max_abs(stream<float, 8, 8>(a, x) - ad.forward(x)) < 2e-5);
  }
  SECTION("lane k of a batch step is the scalar step on stream k, and a bad lane is rejected") {
    constexpr std::size_t W = batchf::size;
    nn::Conv1D<batchf, 4, 3, 3, 2> lanes({.seed = 4});
    nn::Conv1D<float, 4, 3, 3, 2> scalar({.seed = 4});
    std::vector<MatD> xs;
    for (std::size_t k = 0; k < W; ++k) xs.push_back(random_matrix(4, 12, 100 + k));
    std::vector<MatD> want;
    for (std::size_t k = 0; k < W; ++k) want.push_back(stream<float, 4, 3>(scalar, xs[k]));
    const auto sample = [&](Index t, std::size_t nan_lanes_from, std::size_t nan_lanes_to) {
      std::array<batchf, 4> in{};
      for (std::size_t i = 0; i < 4; ++i) {
        for (std::size_t k = 0; k < W; ++k) {
          const bool bad = k >= nan_lanes_from && k < nan_lanes_to && i == 2;
          dendrite::set_lane(in[i], k, bad ? std::numeric_limits<float>::quiet_NaN() : float(xs[k](Index(i), t)));
        }
      }
      return in;
    };
    const auto check_lanes = [&](const std::array<batchf, 3>& out, Index t, std::size_t from, std::size_t to) {
      for (std::size_t k = from; k < to; ++k) {
        for (std::size_t o = 0; o < 3; ++o) CHECK(std::abs(dendrite::lane(out[o], k) - want[k](Index(o), t)) < 1e-5);
      }
    };
    std::array<batchf, 3> out{};
    for (Index t = 0; t < 12; ++t) {
      if (t != 5) {
        REQUIRE(lanes.step(sample(t, 0, 0), out) == Status::Ok);
        check_lanes(out, t, 0, W);
        continue;
      }
      // step 5 in two calls: first lane 0 is NaN (rejected, its history and output kept) while
      // the others take their sample; then lane 0 takes its sample while the others are NaN
      const float held = dendrite::lane(out[1], 0);
      CHECK(lanes.step(sample(t, 0, 1), out) == Status::RejectedNonFinite);
      CHECK(dendrite::lane(out[1], 0) == held);
      check_lanes(out, t, 1, W);
      CHECK(lanes.step(sample(t, 1, W), out) == Status::RejectedNonFinite);
      check_lanes(out, t, 0, W);  // lane 0 now, the others kept from the first call
    }
  }
}

TEST_CASE("conv, norm and layer steps allocate nothing and are noexcept", "[nn][realtime]") {
  nn::Conv1D<float, 8, 8, 3> conv({.padding = nn::Padding::Causal, .seed = 1});
  nn::Conv1D<batchf, 8, 8, 5, 2> conv_lanes({.seed = 2});
  nn::LayerNorm<float, 8> norm;
  nn::LeakyReLU<float> leaky(0.2f);
  nn::Activation<float, nn::Tanh> act;
  std::array<float, 8> x{}, y{};
  std::array<batchf, 8> xb{}, yb{};
  static_assert(noexcept(conv.step(x, y)));
  static_assert(noexcept(conv_lanes.step(xb, yb)));
  static_assert(noexcept(norm.step(x, y)));
  static_assert(noexcept(leaky.step(x, y)));
  static_assert(noexcept(act.step(x, y)));
  const dendrite::test::AllocCounts counts = dendrite::test::allocations_during([&] {
    for (int i = 0; i < 20; ++i) {
      x[std::size_t(i % 8)] = 0.1f * float(i);
      (void)conv.step(x, y);
      (void)conv_lanes.step(xb, yb);
      (void)norm.step(y, x);
      (void)leaky.step(x, y);
      (void)act.step(y, x);
    }
  });
  CHECK(counts.total() == 0);
  CHECK(std::isfinite(x[0]));
}

TEST_CASE("pooling and upsampling match their definitions", "[nn][pool]") {
  const MatD x = random_matrix(3, 9, 21);  // C = 3, L = 9
  nn::MaxPool1D<double, 2> maxp;
  nn::AvgPool1D<double, 3> avgp;
  nn::Upsample<double, 2> up;
  const MatD m = maxp.forward(x), a = avgp.forward(x), u = up.forward(x);
  REQUIRE(m.cols() == 4);  // floor(9 / 2)
  REQUIRE(a.cols() == 3);
  REQUIRE(u.cols() == 18);
  for (Index c = 0; c < 3; ++c) {
    for (Index t = 0; t < 4; ++t) CHECK(m(c, t) == std::max(x(c, 2 * t), x(c, 2 * t + 1)));
    for (Index t = 0; t < 3; ++t) {
      CHECK(std::abs(a(c, t) - (x(c, 3 * t) + x(c, 3 * t + 1) + x(c, 3 * t + 2)) / 3) < 1e-15);
    }
    for (Index t = 0; t < 18; ++t) CHECK(u(c, t) == x(c, t / 2));
  }
  const MatD xm = random_matrix(2 * 5 * 4, 2, 22);  // two maps of 2 x 5 x 4
  const nn::Maps<double> maps{xm, {2, 5, 4}};
  const nn::Maps<double> m2 = nn::MaxPool2D<double, 2>().forward(maps);
  const nn::Maps<double> a2 = nn::AvgPool2D<double, 2>().forward(maps);
  const nn::Maps<double> u2 = nn::Upsample<double, 2>().forward(maps);
  CHECK(m2.shape == nn::MapShape{2, 2, 2});
  CHECK(u2.shape == nn::MapShape{2, 10, 8});
  for (Index n = 0; n < 2; ++n) {
    for (Index c = 0; c < 2; ++c) {
      for (Index i = 0; i < 2; ++i) {
        for (Index j = 0; j < 2; ++j) {
          const double v[4] = {maps(n, c, 2 * i, 2 * j), maps(n, c, 2 * i, 2 * j + 1),
                               maps(n, c, 2 * i + 1, 2 * j), maps(n, c, 2 * i + 1, 2 * j + 1)};
          CHECK(m2(n, c, i, j) == std::max({v[0], v[1], v[2], v[3]}));
          CHECK(std::abs(a2(n, c, i, j) - (v[0] + v[1] + v[2] + v[3]) / 4) < 1e-15);
        }
      }
      for (Index i = 0; i < 10; ++i) {
        for (Index j = 0; j < 8; ++j) CHECK(u2(n, c, i, j) == maps(n, c, i / 2, j / 2));
      }
    }
  }
}

TEST_CASE("norms: LayerNorm and InstanceNorm against their formulas", "[nn][norm]") {
  const MatD x = random_matrix(6, 5, 31, 3.0);
  nn::LayerNorm<double, 6> ln;
  ln.weight.value = random_matrix(6, 1, 32);
  ln.bias.value = random_matrix(6, 1, 33);
  const MatD y = ln.forward(x);
  for (Index n = 0; n < 5; ++n) {
    const double mu = x.col(n).mean();
    const double var = (x.col(n).array() - mu).square().mean();
    for (Index i = 0; i < 6; ++i) {
      const double want = (x(i, n) - mu) / std::sqrt(var + 1e-5) * ln.weight.value(i, 0) + ln.bias.value(i, 0);
      CHECK(std::abs(y(i, n) - want) < 1e-13);
    }
    std::array<double, 6> in{}, out{};
    for (std::size_t i = 0; i < 6; ++i) in[i] = x(Index(i), n);
    REQUIRE(ln.step(in, out) == Status::Ok);
    for (std::size_t i = 0; i < 6; ++i) CHECK(std::abs(out[i] - y(Index(i), n)) < 1e-13);
  }
  // instance norm: every channel of every map has mean 0 and variance var / (var + eps)
  const MatD xm = random_matrix(3 * 4 * 5, 2, 34, 2.0);
  const nn::Maps<double> maps{xm, {3, 4, 5}};
  const nn::Maps<double> z = nn::InstanceNorm<double, 3>().forward(maps);
  for (Index n = 0; n < 2; ++n) {
    for (Index c = 0; c < 3; ++c) {
      const auto in = xm.col(n).segment(c * 20, 20);
      const auto out = z.data.col(n).segment(c * 20, 20);
      const double var = (in.array() - in.mean()).square().mean();
      CHECK(std::abs(out.mean()) < 1e-14);
      CHECK(std::abs(out.array().square().mean() - var / (var + 1e-5)) < 1e-12);
      CHECK(std::abs(out(7) - (in(7) - in.mean()) / std::sqrt(var + 1e-5)) < 1e-13);
    }
  }
}

TEST_CASE("gradcheck of the conv, pooling, upsampling and norm tape ops", "[nn][gradcheck]") {
  const auto check = [](const char* what, auto&& loss, const std::vector<ad::Parameter<double>*>& ps) {
    const ad::GradcheckResult r = ad::gradcheck(loss, ps);
    INFO(what << ": error " << r.max_error << " at parameter " << r.parameter << " element "
              << r.element << " (analytic " << r.analytic << ", numeric " << r.numeric << ")");
    CHECK(r.checked > 0);
    CHECK(r.max_error < 1e-6);
  };
  // loss = sum(R .* y) for a fixed random R, so that every output element matters differently
  const auto weighted = [](ad::Var<double> y, std::uint64_t seed) {
    ad::Tape<double>& t = y.tape();
    return ad::sum(y * t.constant(random_matrix(y.rows(), y.cols(), seed)));
  };
  ad::Parameter<double> x1(random_matrix(3, 2 * 9, 41));  // 3 channels, L = 9, batch 2
  for (const nn::ConvOptions o : {nn::ConvOptions{nn::Padding::Causal, 1, 0, 42},
                                  nn::ConvOptions{nn::Padding::Zeros, 2, 1, 42},
                                  nn::ConvOptions{nn::Padding::Same, 1, 0, 42}}) {
    nn::Conv1D<double, 3, 2, 3, 2> conv(o);
    check("conv1d", [&](ad::Tape<double>& t) { return weighted(conv.forward(t, t.param(x1), 2), 43); },
          {&x1, &conv.weight, &conv.bias});
  }
  ad::Parameter<double> x2(random_matrix(2 * 5 * 4, 2, 44));  // two maps of 2 x 5 x 4
  const nn::MapShape s2{2, 5, 4};
  nn::Conv2D<double, 2, 3, 3, 2> conv2({.padding = nn::Padding::Zeros, .stride = 2, .pad = 1, .seed = 45});
  check("conv2d", [&](ad::Tape<double>& t) { return weighted(conv2.forward(t, {t.param(x2), s2}).var, 46); },
        {&x2, &conv2.weight, &conv2.bias});
  check("max_pool1d", [&](ad::Tape<double>& t) { return weighted(nn::MaxPool1D<double, 2>().forward(t, t.param(x1), 2), 47); }, {&x1});
  check("avg_pool1d", [&](ad::Tape<double>& t) { return weighted(nn::AvgPool1D<double, 3>().forward(t, t.param(x1), 2), 48); }, {&x1});
  check("upsample1d", [&](ad::Tape<double>& t) { return weighted(nn::Upsample<double, 3>().forward(t, t.param(x1), 2), 49); }, {&x1});
  check("max_pool2d", [&](ad::Tape<double>& t) { return weighted(nn::MaxPool2D<double, 2>().forward(t, {t.param(x2), s2}).var, 50); }, {&x2});
  check("avg_pool2d", [&](ad::Tape<double>& t) { return weighted(nn::AvgPool2D<double, 2>().forward(t, {t.param(x2), s2}).var, 51); }, {&x2});
  check("upsample2d", [&](ad::Tape<double>& t) { return weighted(nn::Upsample<double, 2>().forward(t, {t.param(x2), s2}).var, 52); }, {&x2});
  check("instance_norm", [&](ad::Tape<double>& t) { return weighted(nn::InstanceNorm<double, 2>().forward(t, {t.param(x2), s2}).var, 53); }, {&x2});
  nn::LayerNorm<double, 3> ln;
  ln.weight.value = random_matrix(3, 1, 54);
  check("layer_norm", [&](ad::Tape<double>& t) { return weighted(ln.forward(t, t.param(x1)), 55); }, {&x1, &ln.weight, &ln.bias});
  check("leaky_relu layer", [&](ad::Tape<double>& t) { return weighted(nn::LeakyReLU<double>(0.2).forward(t, t.param(x1)), 56); }, {&x1});
}

TEST_CASE("conv and pooling shape errors say what was expected and what was given", "[nn][errors]") {
  CHECK_THROWS_WITH((nn::Conv1D<float, 2, 2, 3>({.padding = nn::Padding::Same, .stride = 2, .seed = 0})),
                    Catch::Contains("padding 'same' needs stride 1, got stride 2"));
  CHECK_THROWS_WITH((nn::Conv2D<float, 2, 2, 3>({.padding = nn::Padding::Causal, .seed = 0})),
                    Catch::Contains("causal padding is for 1-D"));
  nn::Conv1D<double, 2, 2, 5> conv({.seed = 0});
  CHECK_THROWS_WITH(conv.forward(MatD(MatD::Zero(2, 3))), Catch::Contains("length 3 is too short for kernel 5"));
  CHECK_THROWS_WITH(conv.forward(MatD(MatD::Zero(3, 9))), Catch::Contains("expected an input of 2 rows"));
  nn::Conv2D<double, 2, 2, 3> conv2({.seed = 0});
  const nn::Maps<double> wrong{MatD::Zero(3 * 4 * 4, 1), {3, 4, 4}};
  CHECK_THROWS_WITH(conv2.forward(wrong), Catch::Contains("expected maps of 2 channels"));
  const nn::Maps<double> bad{MatD::Zero(10, 1), {2, 2, 2}};  // 10 rows for 2 x 2 x 2 maps
  CHECK_THROWS_WITH((nn::Upsample<double, 2>().forward(bad)), Catch::Contains("expected an input of 8 x 1"));
  ad::Tape<double> tape;
  CHECK_THROWS_WITH((nn::MaxPool1D<double, 4>().forward(tape, tape.constant(MatD::Zero(2, 6)), 2)),
                    Catch::Contains("smaller than the pooling window 4"));
  CHECK(tape.size() == 1);  // only the constant: nothing recorded by the failed ops
}
