// SPDX-License-Identifier: MIT
// The streaming network: separation on the paper's synthetic set over 20 seeds, rejection and
// divergence guards, lanes against scalar runs, and allocation-free steps.
#include "support/alloc_counter.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include <dendrite/ica/metrics.hpp>
#include <dendrite/ica/online_ica.hpp>
#include <dendrite/ica/synthetic.hpp>
#include <dendrite/ica/whitening.hpp>

namespace ica = dendrite::ica;
using dendrite::Status;

namespace {

/// Column indices of a data set, again and again, each pass in a fresh seeded random order (as the
/// authors' online notebook presents its data).
class ShuffledReplay {
 public:
  ShuffledReplay(Eigen::Index samples, std::uint64_t seed)
      : rng_(seed), order_(std::size_t(samples)) {
    std::iota(order_.begin(), order_.end(), 0);
  }
  Eigen::Index next() {
    if (pos_ == order_.size()) {
      pos_ = 0;
    }
    if (pos_ == 0) {
      std::shuffle(order_.begin(), order_.end(), rng_);
    }
    return order_[pos_++];
  }

 private:
  std::mt19937_64 rng_;
  std::vector<Eigen::Index> order_;
  std::size_t pos_ = 0;
};

}  // namespace

TEST_CASE("OnlineICA (robust variant) separates the paper's synthetic set from 20 seeds",
          "[ica][online]") {
  // Variant used: the documented robust one (online_ica.hpp): warm start (ZCA whitening stage and
  // Lambda2 = 1 / kurtosis from a FOBI pass), ||y||^2 clipped at 4 D, divergence guard on.
  // The paper's plain rule on raw mixtures diverges with these rates (see the header).
  const auto data = ica::bahroun_synthetic(10000, 101);
  const Eigen::MatrixXd centred = data.mixed.colwise() - data.mixed.rowwise().mean();
  std::vector<double> amari;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    ica::OnlineICA<double, 4> net({.seed = seed});
    REQUIRE(net.warm_start(data.mixed).identifiable);
    ShuffledReplay replay(data.mixed.cols(), seed + 1000);
    std::array<double, 4> x{}, y{};
    int guard_events = 0, rejected = 0;
    for (int t = 0; t < 2'000'000; ++t) {
      const Eigen::Index k = replay.next();
      for (int i = 0; i < 4; ++i) {
        x[std::size_t(i)] = data.mixed(i, k);
      }
      const Status st = net.step(x, y);
      rejected += st == Status::RejectedNonFinite;
      guard_events += st == Status::Diverged;
    }
    const Eigen::MatrixXd u = net.unmixing();
    const Eigen::MatrixXd out = u * centred;
    const Eigen::VectorXd var = ica::output_covariance(out).diagonal();
    amari.push_back(ica::amari_index(u, data.mixing));
    INFO("seed " << seed << ": Amari " << amari.back() << ", output variances " << var.transpose()
                 << ", guard events " << guard_events);
    // "None diverges": the run ends finite and usable. The guard may catch a rare early
    // excursion of M (one event in our 20 runs, documented in online_ica.hpp); it must stay rare.
    CHECK(guard_events <= 2);
    CHECK(rejected == 0);
    CHECK(u.allFinite());
    CHECK(var.minCoeff() >= 0.8);
    CHECK(var.maxCoeff() <= 1.25);
  }
  std::sort(amari.begin(), amari.end());
  const double median = 0.5 * (amari[9] + amari[10]);
  INFO("median Amari index " << median << ", worst " << amari.back());
  CHECK(median < 0.1);
}

TEST_CASE("OnlineICA with online whitening separates without any batch pass", "[ica][online]") {
  // Only Lambda2 comes from outside (1 / kurtosis, here from a FOBI pass); the whitening stage is
  // learned from the stream itself, starting at V = I, m = 0.
  const auto data = ica::bahroun_synthetic(10000, 101);
  const auto f = ica::fobi(data.mixed);
  Eigen::VectorXd mean;
  const Eigen::MatrixXd cov = ica::covariance(data.mixed, mean);
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    ica::OnlineICAOptions opt;
    opt.seed = seed;
    opt.whitening_rate = 1e-3;
    ica::OnlineICA<double, 4> net(opt);
    net.set_lambda2(ica::kurtosis(f.sources(data.mixed)).cwiseInverse());
    ShuffledReplay replay(data.mixed.cols(), seed + 2000);
    std::array<double, 4> x{}, y{};
    int not_ok = 0;
    for (int t = 0; t < 2'000'000; ++t) {
      const Eigen::Index k = replay.next();
      for (int i = 0; i < 4; ++i) {
        x[std::size_t(i)] = data.mixed(i, k);
      }
      not_ok += net.step(x, y) != Status::Ok;
    }
    const Eigen::MatrixXd v = net.whitener();
    const Eigen::MatrixXd u = net.unmixing();
    const Eigen::VectorXd var =
        ica::output_covariance(u * (data.mixed.colwise() - mean)).diagonal();
    const double amari = ica::amari_index(u, data.mixing);
    INFO("seed " << seed << ": Amari " << amari << ", output variances " << var.transpose());
    CHECK(not_ok == 0);
    CHECK((v * cov * v.transpose() - Eigen::Matrix4d::Identity()).cwiseAbs().maxCoeff() < 0.1);
    CHECK(amari < 0.15);
    CHECK(var.minCoeff() >= 0.8);
    CHECK(var.maxCoeff() <= 1.25);
  }
}

TEST_CASE("OnlineICA with online whitening starts from the warm start's whitener", "[ica][online]") {
  // Regression: warm_start set only the fixed whitener, so with whitening_rate > 0 the learned
  // stage started at V = I and m = the first sample, far from FOBI's solution.
  const auto data = ica::bahroun_synthetic(4001, 31);
  ica::OnlineICAOptions opt;
  opt.whitening_rate = 1e-4;
  ica::OnlineICA<double, 4> online(opt), fixed;
  online.warm_start(data.mixed, true);
  fixed.warm_start(data.mixed, true);
  online.freeze(true);
  fixed.freeze(true);
  // frozen, the stage still follows the mean at its rate; over a few samples the outputs of the
  // two networks agree to that rate's effect
  std::array<double, 4> x{}, ya{}, yb{};
  double worst = 0;
  for (Eigen::Index k = 0; k < 5; ++k) {
    for (int i = 0; i < 4; ++i) x[std::size_t(i)] = data.mixed(i, k);
    REQUIRE(online.step(x, ya) == Status::Ok);
    REQUIRE(fixed.step(x, yb) == Status::Ok);
    for (int i = 0; i < 4; ++i) worst = std::max(worst, std::abs(ya[std::size_t(i)] - yb[std::size_t(i)]));
  }
  CHECK(worst < 1e-2);
  CHECK((online.whitener() - fixed.whitener()).cwiseAbs().maxCoeff() < 1e-3);
  CHECK(ica::amari_index(online.unmixing(), data.mixing) ==
        Approx(ica::amari_index(fixed.unmixing(), data.mixing)).margin(1e-3));
  // restart goes back to the whitener set, not to V = I
  online.restart();
  CHECK((online.whitener() - fixed.whitener()).cwiseAbs().maxCoeff() < 1e-3);
}

TEST_CASE("OnlineICA survives finite samples that overflow its outputs", "[ica][online]") {
  // Regression: a diverged lane was kept from learning by a zero factor, and 0 * Inf = NaN
  // poisoned W and M for good. A finite input near FLT_MAX overflows the outputs to Inf; the
  // guard must report it, and nothing non-finite may reach the state or a later output.
  const auto data = ica::bahroun_synthetic(5000, 9);
  ica::OnlineICA<float, 4> net;
  net.warm_start(data.mixed);
  std::array<float, 4> x{}, y{};
  int diverged = 0;
  bool outputs_finite = true;
  for (int t = 0; t < 5000; ++t) {
    for (int i = 0; i < 4; ++i) x[std::size_t(i)] = float(data.mixed(i, t));
    if (t % 1000 == 999) x[1] = 3e38f;
    const Status st = net.step(x, y);
    diverged += st == Status::Diverged;
    for (float v : y) outputs_finite = outputs_finite && std::isfinite(v);
  }
  CHECK(diverged == 5);
  CHECK(outputs_finite);
  CHECK(net.feedforward().allFinite());
  CHECK(net.lateral().allFinite());
}

TEMPLATE_TEST_CASE("OnlineICA rejects non-finite samples and leaves the state untouched",
                   "[ica][online]", float, double, dendrite::batchf) {
  using S = dendrite::scalar_t<TestType>;
  const auto data = ica::bahroun_synthetic(2000, 5);
  ica::OnlineICA<TestType, 4> net;
  net.warm_start(data.mixed);
  std::array<TestType, 4> x{}, y{};
  for (Eigen::Index t = 0; t < 500; ++t) {
    for (int i = 0; i < 4; ++i) {
      x[std::size_t(i)] = TestType(static_cast<S>(data.mixed(i, t)));
    }
    REQUIRE(net.step(x, y) == Status::Ok);
  }
  const auto w = net.feedforward();
  const auto m = net.lateral();
  const auto n = net.samples();
  x[2] = TestType(std::numeric_limits<S>::quiet_NaN());
  CHECK(net.step(x, y) == Status::RejectedNonFinite);
  for (const auto& v : y) {
    CHECK(dendrite::lane(v, 0) == S(0));
  }
  x[2] = TestType(std::numeric_limits<S>::infinity());
  CHECK(net.step(x, y) == Status::RejectedNonFinite);
  CHECK(net.feedforward() == w);
  CHECK(net.lateral() == m);
  (void)n;
}

TEST_CASE("OnlineICA survives outliers and a diverging learning rate without NaN output",
          "[ica][online]") {
  const auto data = ica::bahroun_synthetic(4000, 9);
  // far too fast for these raw mixtures: M loses definiteness within a few hundred samples
  ica::OnlineICA<double, 4> net(
      {.eta0 = 0.09, .t0 = 1e12, .tau = 0.1, .norm_clip = 0, .checkpoint_interval = 50});
  std::array<double, 4> x{}, y{};
  int diverged = 0;
  std::mt19937_64 rng(3);
  for (int t = 0; t < 20000; ++t) {
    for (int i = 0; i < 4; ++i) {
      x[std::size_t(i)] = data.mixed(i, t % 4000);
    }
    if (t % 997 == 0) {
      x[1] = 1e30;  // spikes
    }
    const Status s = net.step(x, y);
    diverged += s == Status::Diverged;
    for (double v : y) {
      REQUIRE(std::isfinite(v));
    }
  }
  CHECK(diverged > 0);  // the guard did fire
  CHECK(net.feedforward().allFinite());
  CHECK(net.lateral().allFinite());
  // One more (frozen) step either factorises M or restores the checkpoint, which was taken from a
  // state that factorised: either way M is positive definite afterwards.
  net.freeze();
  for (int i = 0; i < 4; ++i) {
    x[std::size_t(i)] = data.mixed(i, 0);
  }
  (void)net.step(x, y);
  Eigen::LLT<Eigen::Matrix4d> llt(net.lateral());
  CHECK(llt.info() == Eigen::Success);
}

TEMPLATE_TEST_CASE("OnlineICA lanes equal the scalar network on each stream", "[ica][online]",
                   dendrite::batchf, dendrite::batchd) {
  using S = dendrite::scalar_t<TestType>;
  constexpr std::size_t L = dendrite::lanes_v<TestType>;
  const auto data = ica::bahroun_synthetic(3000, 21);
  ica::OnlineICA<TestType, 4> lanes({.seed = 4});
  std::vector<ica::OnlineICA<S, 4>> scalars(L, ica::OnlineICA<S, 4>({.seed = 4}));
  lanes.warm_start(data.mixed);
  for (auto& s : scalars) {
    s.warm_start(data.mixed);
  }
  std::array<TestType, 4> xb{}, yb{};
  std::array<S, 4> xs{};
  std::vector<std::array<S, 4>> ys(L);
  double worst_output = 0;
  for (Eigen::Index t = 0; t < 3000; ++t) {
    for (std::size_t k = 0; k < L; ++k) {
      // a different stream per lane, in a scrambled order (7919 is prime to 3000)
      const Eigen::Index col = (t * 7919 + Eigen::Index(k) * 97) % 3000;
      for (int i = 0; i < 4; ++i) {
        xs[std::size_t(i)] = static_cast<S>(data.mixed(i, col));
        dendrite::set_lane(xb[std::size_t(i)], k, xs[std::size_t(i)]);
      }
      REQUIRE(scalars[k].step(xs, ys[k]) == Status::Ok);
    }
    REQUIRE(lanes.step(xb, yb) == Status::Ok);
    for (std::size_t k = 0; k < L; ++k) {
      for (std::size_t i = 0; i < 4; ++i) {
        worst_output =
            std::max(worst_output, std::abs(double(dendrite::lane(yb[i], k)) - double(ys[k][i])));
      }
    }
  }
  const double tol = std::is_same_v<S, float> ? 2e-3 : 1e-9;
  for (std::size_t k = 0; k < L; ++k) {
    INFO("lane " << k);
    CHECK((lanes.feedforward(k) - scalars[k].feedforward()).cwiseAbs().maxCoeff() < tol);
    CHECK((lanes.lateral(k) - scalars[k].lateral()).cwiseAbs().maxCoeff() < tol);
  }
  CHECK(worst_output < tol * 10);
}

TEMPLATE_TEST_CASE("OnlineICA step, reset and freeze allocate nothing and are noexcept",
                   "[ica][online][rt]", float, double, dendrite::batchf, dendrite::batchd) {
  ica::OnlineICA<TestType, 16> net;
  std::array<TestType, 16> x{}, y{};
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = dendrite::broadcast<TestType>(std::sin(double(i)));
  }
  {
    dendrite::test::NoAllocScope scope;
    for (int t = 0; t < 50; ++t) {
      (void)net.step(x, y);
    }
    net.freeze();
    (void)net.step(x, y);
    net.freeze(false);
    net.reset();
    net.restart();
    CHECK(scope.counts().total() == 0);
  }
  STATIC_REQUIRE(noexcept(net.step(x, y)));
  STATIC_REQUIRE(noexcept(net.reset()));
  STATIC_REQUIRE(noexcept(net.restart()));
  STATIC_REQUIRE(noexcept(net.freeze()));
}

TEST_CASE("a frozen OnlineICA separates without learning", "[ica][online]") {
  const auto data = ica::bahroun_synthetic(1000, 2);
  ica::OnlineICA<double, 4> net;
  net.warm_start(data.mixed);
  std::array<double, 4> x{}, y{};
  net.freeze();
  const auto w = net.feedforward();
  for (Eigen::Index t = 0; t < 1000; ++t) {
    for (int i = 0; i < 4; ++i) {
      x[std::size_t(i)] = data.mixed(i, t);
    }
    REQUIRE(net.step(x, y) == Status::Ok);
  }
  CHECK(net.feedforward() == w);
  CHECK(net.samples() == 0);
  // y = M^{-1} W V (x - m) with M = I at the start
  const Eigen::Vector4d expect =
      net.unmixing() * (data.mixed.col(999) - data.mixed.rowwise().mean());
  for (int i = 0; i < 4; ++i) {
    CHECK(y[std::size_t(i)] == Approx(expect(i)).epsilon(1e-9));
  }
  using Net4 = ica::OnlineICA<double, 4>;
  const ica::OnlineICAOptions too_fast{.eta0 = 0.5, .tau = 0.1};
  CHECK_THROWS_AS(Net4(too_fast), dendrite::numerical_error);
  CHECK_THROWS_WITH(net.warm_start(Eigen::MatrixXd::Ones(3, 10)),
                    Catch::Contains("expected 4 channels, got 3"));
}

namespace {

/// Warm-started at FOBI's rotation and frozen, the network's total unmixing is FOBI's (rows up
/// to scale) and every output is that unmixing applied to the centred input, for D channels.
template <int D>
void check_warm_started_network() {
  CAPTURE(D);
  const Eigen::Index n = 4001 + 2 * D;  // odd
  std::mt19937_64 rng(300 + D);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  Eigen::MatrixXd s(D, n);
  for (Eigen::Index j = 0; j < n; ++j) {
    for (Eigen::Index i = 0; i < D; ++i) s(i, j) = std::pow(u(rng), double(2 * i + 1));
  }
  Eigen::MatrixXd a = Eigen::MatrixXd::Identity(D, D) * 2.0;
  for (Eigen::Index i = 0; i < D; ++i) {
    for (Eigen::Index j = 0; j < D; ++j) a(i, j) += u(rng);
  }
  const Eigen::MatrixXd x = a * s;
  ica::OnlineICA<double, D> net;
  const ica::FOBIResult f = net.warm_start(x, true);
  net.freeze();
  // unmixing * FOBI's mixing is diagonal when the network starts at FOBI's solution
  CHECK(ica::amari_index(Eigen::MatrixXd(net.unmixing() * f.mixing)) < 1e-9);
  const Eigen::VectorXd mean = x.rowwise().mean();
  std::array<double, D> xi{}, yi{};
  for (Eigen::Index t = 0; t < n; ++t) {
    for (int i = 0; i < D; ++i) xi[std::size_t(i)] = x(i, t);
    REQUIRE(net.step(xi, yi) == Status::Ok);
  }
  const Eigen::VectorXd expect = net.unmixing() * (x.col(n - 1) - mean);
  for (int i = 0; i < D; ++i) {
    CHECK(yi[std::size_t(i)] == Approx(expect(i)).epsilon(1e-9).margin(1e-12));
  }
}

template <int... D>
void check_warm_started_networks(std::integer_sequence<int, D...>) {
  (check_warm_started_network<D + 2>(), ...);
}

}  // namespace

TEST_CASE("OnlineICA at every channel count from 2 to 9 starts at FOBI's solution",
          "[ica][online]") {
  check_warm_started_networks(std::make_integer_sequence<int, 8>{});
}
