// SPDX-License-Identifier: MIT
// The streaming network: separation on the paper's synthetic set over 20 seeds, rejection and
// divergence guards, lanes against scalar runs, allocation-free steps, and learning on from a
// FOBI warm start on speech.
#include "support/alloc_counter.hpp"
#include "support/speech.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <tuple>
#include <type_traits>
#include <vector>

#include <Eigen/Eigenvalues>
#include <catch2/catch.hpp>

#include <dendrite/ica/eeg_like.hpp>
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
  // both solves: the refined one iterates until every lane has converged
  const auto solve = GENERATE(ica::OnlineLateralSolve::Direct, ica::OnlineLateralSolve::Refined);
  const double span = GENERATE(0.0, 0.5);  // the outputs from the iterate, or averaged
  CAPTURE(int(solve), span);
  const ica::OnlineICAOptions opt{.seed = 4, .lateral_solve = solve, .average_span = span};
  ica::OnlineICA<TestType, 4> lanes(opt);
  std::vector<ica::OnlineICA<S, 4>> scalars(L, ica::OnlineICA<S, 4>(opt));
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
    CHECK((lanes.unmixing(k) - scalars[k].unmixing()).cwiseAbs().maxCoeff() < tol);
  }
  CHECK(worst_output < tol * 10);
}

TEMPLATE_TEST_CASE("OnlineICA step, reset and freeze allocate nothing and are noexcept",
                   "[ica][online][rt]", float, double, dendrite::batchf, dendrite::batchd) {
  ica::OnlineICA<TestType, 16> net({.lateral_solve = ica::OnlineLateralSolve::Direct});
  ica::OnlineICA<TestType, 16> refined;  // Auto: refined from 8 channels
  // averaged outputs (a separated warm start turns them on), with either solve
  ica::OnlineICA<TestType, 16> averaged(
      {.lateral_solve = ica::OnlineLateralSolve::Direct, .average_span = 5});
  ica::OnlineICA<TestType, 16> averaged_refined({.average_span = 5});
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
    // the refined solve: Sherman-Morrison updates, corrections, checkpoints with fresh inverses
    for (int t = 0; t < 1200; ++t) {
      (void)refined.step(x, y);
    }
    refined.restart();
    (void)refined.step(x, y);
    for (int t = 0; t < 1200; ++t) {
      (void)averaged.step(x, y);
      (void)averaged_refined.step(x, y);
    }
    averaged.restart();
    averaged_refined.set_learning_rate(1e-4);
    (void)averaged_refined.step(x, y);
    CHECK(scope.counts().total() == 0);
  }
  CHECK(!net.refined_solve());
  CHECK(refined.refined_solve());
  CHECK(refined.refactorisations() >= 2);
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

namespace {

/// What `compare_solves` found.
struct SolveComparison {
  double worst_output = 0;  ///< max over steps of |y_direct - y_refined|_inf / (|y_direct|_inf + 1)
  /// max over steps of ||y_direct - y_refined|| / bound: a relative residual tol bounds the
  /// relative error by kappa(M) tol; the bound adds the direct solve's own rounding,
  /// bound = (2 kappa tol + 8 D kappa eps) ||y_direct|| (<= 1 when the solve stops as stated)
  double worst_vs_bound = 0;
  double w_diff = 0, m_diff = 0;  ///< max |.| of the final W and M differences
  std::uint64_t refactorisations = 0, refinements = 0;  ///< of the refined network
  /// frozen refined step: ||y - unmixing (x - m)|| over the same bound (kappa of the final M)
  double end_vs_bound = 0;
};

/// Streams the columns of `x` (D x n) through two networks that differ only in how they solve
/// M y = c (the same options, seed and warm start), then freezes the refined one and checks one
/// more output against an Eigen LLT solve of its own M, W and whitener.
template <class S, int D>
SolveComparison compare_solves(const Eigen::MatrixXd& x, ica::OnlineICAOptions opt,
                               bool warm_start) {
  // tol as the header states it, sqrt(D) eps^(2/3)
  const double eps = double(std::numeric_limits<S>::epsilon());
  const double tol = std::sqrt(double(D)) * std::pow(eps, 2.0 / 3.0);
  const auto bound = [&](double kappa) { return 2 * kappa * tol + 8 * D * kappa * eps; };
  opt.lateral_solve = ica::OnlineLateralSolve::Direct;
  ica::OnlineICA<S, D> direct(opt);
  opt.lateral_solve = ica::OnlineLateralSolve::Refined;
  ica::OnlineICA<S, D> refined(opt);
  REQUIRE(refined.refined_solve());
  REQUIRE(!direct.refined_solve());
  if (warm_start) {
    direct.warm_start(x);
    refined.warm_start(x);
  }
  std::array<S, D> xs{}, yd{}, yr{};
  SolveComparison out;
  for (Eigen::Index t = 0; t < x.cols(); ++t) {
    for (int i = 0; i < D; ++i) xs[std::size_t(i)] = static_cast<S>(x(i, t));
    double kappa = 0;  // M's condition number before the step (M solved against)
    {
      const Eigen::VectorXd ev = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(
                                     direct.lateral().template cast<double>())
                                     .eigenvalues();
      kappa = ev(0) > 0 ? ev(D - 1) / ev(0) : 0;
    }
    const Status sd = direct.step(xs, yd);
    const Status sr = refined.step(xs, yr);
    REQUIRE(sd == sr);
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < std::size_t(D); ++i) {
      diff = std::max(diff, std::abs(double(yd[i]) - double(yr[i])));
      scale = std::max(scale, std::abs(double(yd[i])));
    }
    out.worst_output = std::max(out.worst_output, diff / (scale + 1));
    if (kappa > 0 && sd == Status::Ok) {
      double e2 = 0, y2 = 0;
      for (std::size_t i = 0; i < std::size_t(D); ++i) {
        e2 += (double(yd[i]) - double(yr[i])) * (double(yd[i]) - double(yr[i]));
        y2 += double(yd[i]) * double(yd[i]);
      }
      out.worst_vs_bound =
          std::max(out.worst_vs_bound, std::sqrt(e2) / (bound(kappa) * std::sqrt(y2) + 1e-300));
    }
  }
  out.w_diff = (direct.feedforward() - refined.feedforward()).cwiseAbs().maxCoeff();
  out.m_diff = (direct.lateral() - refined.lateral()).cwiseAbs().maxCoeff();
  out.refactorisations = refined.refactorisations();
  out.refinements = refined.refinements();
  refined.freeze();
  const Eigen::VectorXd last = x.col(x.cols() - 1);
  for (int i = 0; i < D; ++i) xs[std::size_t(i)] = static_cast<S>(last(i));
  REQUIRE(refined.step(xs, yr) == Status::Ok);
  // independent: y = M^{-1} W V (x - m) by Eigen's LLT in double, from the network's own state
  const Eigen::VectorXd expect =
      refined.unmixing() * (last.template cast<S>().template cast<double>() - refined.input_mean());
  const Eigen::VectorXd ev = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(
                                 refined.lateral().template cast<double>())
                                 .eigenvalues();
  double e2 = 0;
  for (int i = 0; i < D; ++i) e2 += std::pow(double(yr[std::size_t(i)]) - expect(i), 2);
  out.end_vs_bound = std::sqrt(e2) / (bound(ev(D - 1) / ev(0)) * expect.norm() + 1e-300);
  return out;
}

}  // namespace

TEST_CASE("OnlineICA's refined O(D^2) solve follows the direct solve", "[ica][online]") {
  // The refined solve stops at a relative residual of sqrt(D) eps^(2/3) (float 1e-4 at
  // D = 16, double 1.5e-10): outputs may differ by about that times M's condition number.
  SECTION("EEG-like, 5 channels, warm start and learning, float and double") {
    const auto data = ica::eeg_like(5, 30.0, 256.0, 11);
    const auto f = compare_solves<float, 5>(data.mixed, {.eta0 = 1e-4, .t0 = 1e4}, true);
    INFO("float: outputs " << f.worst_output << " (" << f.worst_vs_bound << " of the bound), end "
                           << f.end_vs_bound << ", W " << f.w_diff << ", M " << f.m_diff
                           << ", refactorisations " << f.refactorisations << ", refinements "
                           << f.refinements);
    CHECK(f.w_diff < 2e-3);
    CHECK(f.m_diff < 2e-3);
    CHECK(f.worst_vs_bound <= 1);
    CHECK(f.end_vs_bound <= 1);
    const auto d = compare_solves<double, 5>(data.mixed, {.eta0 = 1e-4, .t0 = 1e4}, true);
    INFO("double: outputs " << d.worst_output << " (" << d.worst_vs_bound << " of the bound), W "
                            << d.w_diff << ", M " << d.m_diff << ", end " << d.end_vs_bound);
    CHECK(d.w_diff < 1e-7);
    CHECK(d.m_diff < 1e-7);
    CHECK(d.end_vs_bound <= 1);
    CHECK(d.worst_vs_bound <= 1);
    // M moves slowly here: the O(D^3) fresh inverses stay rare (the first, one per checkpoint,
    // and one whenever P has gone stale)
    CHECK(double(d.refactorisations) < 0.05 * double(data.mixed.cols()));
    CHECK(double(d.refinements) < 6.0 * double(data.mixed.cols()));
  }
  SECTION("16 channels, cold start: a fast-moving M forces fresh factors, the outputs agree") {
    // no whitener: M moves fast, and the guard restores checkpoints hundreds of times (in both
    // networks at the same samples), so the refined solve's fresh factors after a restore and
    // its fallbacks run too
    const auto data = ica::eeg_like(16, 20.0, 256.0, 5);
    const Eigen::MatrixXd x = data.mixed.leftCols(3001);  // odd
    const auto d = compare_solves<double, 16>(x, {.eta0 = 1e-3, .t0 = 1e3, .tau = 0.1}, false);
    INFO("double: outputs " << d.worst_output << " (" << d.worst_vs_bound
                            << " of the bound), refactorisations " << d.refactorisations
                            << ", refinements " << d.refinements);
    CHECK(d.refactorisations > 10);  // restores and fallbacks did run
    CHECK(d.worst_vs_bound <= 1);
    CHECK(d.end_vs_bound <= 1);
  }
}

TEST_CASE("OnlineICA's refined solve survives a diverging learning rate without NaN output",
          "[ica][online]") {
  const auto data = ica::bahroun_synthetic(4000, 9);
  ica::OnlineICA<double, 4> net({.eta0 = 0.09,
                                 .t0 = 1e12,
                                 .tau = 0.1,
                                 .norm_clip = 0,
                                 .checkpoint_interval = 50,
                                 .lateral_solve = ica::OnlineLateralSolve::Refined});
  std::array<double, 4> x{}, y{};
  int diverged = 0;
  for (int t = 0; t < 20000; ++t) {
    for (int i = 0; i < 4; ++i) x[std::size_t(i)] = data.mixed(i, t % 4000);
    if (t % 997 == 0) x[1] = 1e30;
    diverged += net.step(x, y) == Status::Diverged;
    for (double v : y) REQUIRE(std::isfinite(v));
  }
  CHECK(diverged > 0);
  CHECK(net.feedforward().allFinite());
  CHECK(net.lateral().allFinite());
  net.freeze();
  for (int i = 0; i < 4; ++i) x[std::size_t(i)] = data.mixed(i, 0);
  (void)net.step(x, y);
  CHECK(Eigen::LLT<Eigen::Matrix4d>(net.lateral()).info() == Eigen::Success);
}

TEST_CASE("OnlineICA's learning rate decays to its floor", "[ica][online]") {
  // eta(t) = max(eta_min, eta0 / (1 + t / t0)), t = samples learned from
  ica::OnlineICA<double, 4> net({.eta0 = 1e-2, .t0 = 10, .tau = 0.5, .eta_min = 1e-3});
  const auto data = ica::bahroun_synthetic(300, 4);
  net.warm_start(data.mixed);
  std::array<double, 4> x{}, y{};
  for (int t = 0; t <= 200; ++t) {
    const double expect = std::max(1e-3, 1e-2 / (1.0 + t / 10.0));
    REQUIRE(net.learning_rate() == Approx(expect).epsilon(1e-12));
    for (int i = 0; i < 4; ++i) x[std::size_t(i)] = data.mixed(i, t);
    (void)net.step(x, y);
  }
  CHECK(net.learning_rate() == 1e-3);  // at the floor since t = 90
  net.freeze();
  (void)net.step(x, y);
  CHECK(net.samples() == 201);  // a frozen step does not advance the schedule
  using Net4 = ica::OnlineICA<double, 4>;
  CHECK_THROWS_WITH(Net4({.tau = 0.1, .eta_min = 0.2}),
                    Catch::Contains("need 0 <= eta_min < tau, got eta_min 0.2"));
}

TEST_CASE("OnlineICA's separated warm start: M at its fixed point, Lambda2 as asked",
          "[ica][online]") {
  const auto data = ica::bahroun_synthetic(3001, 41);
  for (const double p : {-1.0, 2.0}) {
    CAPTURE(p);
    // unclipped, the fixed point is M*_ii = 1 / (Lambda2_i mu_i) (with p = -1: M* = I)
    ica::OnlineICA<double, 4> net({.norm_clip = 0});
    const ica::FOBIResult f = net.warm_start(data.mixed, {.separated = true, .lambda2_power = p});
    const Eigen::ArrayXd mu = f.eigenvalues.array();
    // Lambda2 = mu^p / max_k mu_k^(p + 1), written out
    const Eigen::ArrayXd expect = mu.pow(p) / (mu.pow(p + 1).maxCoeff());
    CHECK((net.lambda2().array() - expect).abs().maxCoeff() < 1e-12 * expect.maxCoeff());
    const Eigen::Matrix4d m = net.lateral();
    for (int i = 0; i < 4; ++i) {
      CHECK(m(i, i) * net.lambda2()(i) * mu(i) == Approx(1.0).epsilon(1e-9));
      for (int j = 0; j < 4; ++j) {
        if (j != i) CHECK(m(i, j) == 0.0);
      }
    }
    CHECK(m.diagonal().minCoeff() >= 1.0 - 1e-9);  // the largest Lambda2_i mu_i is 1
    // the network's unmixing is FOBI's, rows up to scale
    CHECK(ica::amari_index(Eigen::MatrixXd(net.unmixing() * f.mixing)) < 1e-9);
    // and the rule's mean update there is zero: an equilibrium
    const Eigen::MatrixXd h = net.whitener() * (data.mixed.colwise() - net.input_mean());
    const Eigen::MatrixXd c = net.feedforward() * h;
    const Eigen::MatrixXd y = m.inverse() * c;
    const Eigen::RowVectorXd a = y.colwise().squaredNorm();
    const Eigen::MatrixXd g =
        y - (net.lambda2().asDiagonal() * c).cwiseProduct(a.replicate(4, 1));
    const double n = double(data.mixed.cols());
    CHECK((g * h.transpose() / n).norm() < 1e-9);
    CHECK((y * y.transpose() / n - Eigen::Matrix4d::Identity()).norm() < 1e-9);
  }
  ica::OnlineICA<double, 4> net;
  CHECK_THROWS_WITH(net.warm_start(data.mixed, {.separated = true, .lambda2_power = 0}),
                    Catch::Contains("lambda2_power must be finite and not 0, got 0"));
  CHECK_THROWS_AS(net.warm_start(data.mixed, {.separated = true, .lambda2_power = std::nan("")}),
                  dendrite::numerical_error);
}

TEST_CASE("OnlineICA learns past its FOBI warm start on speech with Lambda2 running with mu",
          "[ica][online][speech]") {
  // Two espeak-ng voices and Gaussian noise at 16 kHz, streamed in order: warm-started by FOBI
  // on the first second (W and M at its solution), then learning on the whole 20 s. With
  // Lambda2 = mu^2 (scaled) the equilibrium is stable, and at eta0 = 3e-4, t0 = 1 s the Amari
  // index ends below the warm start's: over seeds 1-20 of these voices 0.65-0.99 of it (median
  // 0.76; float, AVX-512), and in 39 of 40 mixtures of two held-out voice pairs (a scratch run
  // of this network; README). The check: the median of seeds 1-6 at most 0.85 of the start,
  // none above 1.05 of it. `warm_start(x, true)` is that start (lambda2_power 2 by default).
  // With Lambda2 = 1 / mu (lambda2_power -1) the same schedule leaves the start (an unstable
  // equilibrium): 16-30x above it after 20 s on these seeds (asked: over 5x).
  const auto probe = dendrite::test::speech_mixture(0.1, 1);
  if (!probe) {
    WARN("espeak-ng voices not generated (install espeak-ng and re-run cmake): test skipped");
    return;
  }
  // p = 0 here: default options and `warm_start(x, true)`, as a new user writes it; the start
  // lowers the options' eta0 (1e-3, a cold start's rate) to max_eta0 = 3e-4 (t0 stays 1e4
  // samples) and averages the outputs over 5 / eta0 samples. Measured: 0.76-0.94 of the start
  // on seeds 1-6 (median 0.82), the worst 1 s checkpoint 0.90-1.11 of it; 20 of 20 seeds end
  // below it (the iterate alone: 19, its worst checkpoint up to 2.09x). Asked: each below the
  // start, the median at most 0.9, no checkpoint above 1.3x. The other runs follow the iterate.
  const auto run = [](const dendrite::test::SpeechMixture& m, double p) {
    ica::OnlineICA<float, 3> net(p == 0 ? ica::OnlineICAOptions{}
                                        : ica::OnlineICAOptions{.eta0 = 3e-4, .t0 = 16000});
    if (p == 0) {
      net.warm_start(m.mixed.leftCols(16000), true);
      CHECK(net.options().eta0 == 3e-4);
      CHECK(net.options().average_span == 5);
    } else {
      net.warm_start(m.mixed.leftCols(16000),
                     {.separated = true, .lambda2_power = p, .average_span = 0});
    }
    const auto amari = [&] { return ica::amari_index(Eigen::MatrixXd(net.unmixing() * m.mixing)); };
    const double warm = amari();
    std::array<float, 3> x{}, y{};
    int not_ok = 0;
    double worst = 0;
    for (Eigen::Index t = 0; t < m.mixed.cols(); ++t) {
      for (int c = 0; c < 3; ++c) x[std::size_t(c)] = float(m.mixed(c, t));
      not_ok += net.step(x, y) == Status::Ok ? 0 : 1;
      if ((t + 1) % 16000 == 0) worst = std::max(worst, amari());
    }
    return std::tuple{warm, amari(), not_ok, worst};
  };
  std::vector<double> ratios, default_ratios;
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    const auto m = *dendrite::test::speech_mixture(20.0, seed);
    const auto [warm, learned, not_ok, worst] = run(m, 2.0);
    const auto [warm_default, learned_default, not_ok_default, worst_default] = run(m, 0.0);
    INFO("seed " << seed << ": default options " << warm_default << " -> " << learned_default
                 << ", worst checkpoint " << worst_default);
    CHECK(not_ok_default == 0);
    CHECK(warm_default == Approx(warm).epsilon(1e-3));
    CHECK(learned_default < warm_default);
    CHECK(worst_default <= 1.3 * warm_default);
    default_ratios.push_back(learned_default / warm_default);
    const auto [warm_inv, learned_inv, not_ok_inv, worst_inv] = run(m, -1.0);
    INFO("seed " << seed << ": Lambda2 = mu^2 " << warm << " -> " << learned
                 << ", Lambda2 = 1 / mu " << warm_inv << " -> " << learned_inv << " ("
                 << not_ok_inv << " steps diverged)");
    CHECK(not_ok == 0);
    CHECK(learned <= 1.05 * warm);
    ratios.push_back(learned / warm);
    CHECK(warm_inv == Approx(warm).epsilon(1e-3));  // the same start, up to float rounding
    CHECK(learned_inv > 5 * warm_inv);
  }
  std::sort(ratios.begin(), ratios.end());
  std::sort(default_ratios.begin(), default_ratios.end());
  const double median = (ratios[2] + ratios[3]) / 2;
  const double default_median = (default_ratios[2] + default_ratios[3]) / 2;
  INFO("Amari index after 20 s over the warm start's, median of 6 seeds: " << median
       << " (default options: " << default_median << ")");
  CHECK(median <= 0.85);
  CHECK(default_median <= 0.9);
}

TEST_CASE("OnlineICA's separated warm start caps the learning rate at max_eta0",
          "[ica][online]") {
  const auto data = ica::bahroun_synthetic(4001, 5);
  const auto eta0_after = [&](ica::OnlineICAOptions opt, ica::OnlineWarmStart how) {
    ica::OnlineICA<double, 4> net(opt);
    net.warm_start(data.mixed, how);
    return std::pair{net.options().eta0, net.learning_rate()};
  };
  // the default options' 1e-3 comes down to 3e-4, and the schedule restarts there (t = 0)
  CHECK(eta0_after({}, {.separated = true}) == std::pair{3e-4, 3e-4});
  // a lower rate the user chose is kept, as is any rate with the cap lifted or not separated
  CHECK(eta0_after({.eta0 = 1e-4}, {.separated = true}).first == 1e-4);
  CHECK(eta0_after({}, {.separated = true, .max_eta0 = 5e-4}).first == 5e-4);
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(eta0_after({}, {.separated = true, .max_eta0 = inf}).first == 1e-3);
  CHECK(eta0_after({}, {.separated = false}).first == 1e-3);
  ica::OnlineICA<double, 4> net;
  CHECK_THROWS_WITH(net.warm_start(data.mixed, {.separated = true, .max_eta0 = 0}),
                    Catch::Contains("max_eta0 must be > 0, got 0"));
  CHECK_THROWS_AS(net.warm_start(data.mixed, {.separated = true, .max_eta0 = std::nan("")}),
                  dendrite::numerical_error);
}

TEMPLATE_TEST_CASE("OnlineICA's averaged outputs are a plain average of the iterate's unmixing",
                   "[ica][online]", float, double) {
  // Two networks on the same stream, one averaging and one not: learning runs on the iterate in
  // both, so their W and M stay equal, and the averaging one's Ubar must equal the average this
  // test keeps in double from the other's unmixing before each step: every r-th sample
  // (`average_every()`) the next column j moves by b = max(r D eta0 / span, 1 / (k + 2)) toward
  // the iterate's at its k-th refresh.
  const auto check = [](auto dim, double whitening_rate) {
    constexpr int D = decltype(dim)::value;
    using S = TestType;
    const auto data = ica::eeg_like(D, 20.0, 256.0, 7);
    const double span = 0.05;  // the exponential phase from about 55 refreshes on
    ica::OnlineICAOptions opt{.whitening_rate = whitening_rate};
    ica::OnlineICA<S, D> plain(opt), averaged(opt);
    plain.warm_start(data.mixed.leftCols(2560), {.separated = true, .average_span = 0});
    averaged.warm_start(data.mixed.leftCols(2560), {.separated = true, .average_span = span});
    REQUIRE(plain.options().average_span == 0);
    REQUIRE(averaged.options().average_span == span);
    Eigen::MatrixXd ubar = plain.unmixing();
    // measured: at most 5e-7 (float) and 4e-16 (double) of Ubar's largest entry, y 3e-6 / 4e-15;
    // the refined solve (double) to its tolerance of 1.5e-10: 2.2e-10, y 1.9e-9
    const double tol = std::is_same_v<S, float> ? 1e-5 : D >= 8 ? 1e-8 : 1e-12;
    CHECK((averaged.unmixing() - ubar).cwiseAbs().maxCoeff() <= tol * ubar.cwiseAbs().maxCoeff());
    const double eta0 = plain.options().eta0;
    const std::size_t every = averaged.average_every();
    REQUIRE(every == (averaged.refined_solve() ? 4u : 1u));
    std::array<S, D> x{}, y_plain{}, y_avg{};
    double worst_u = 0, worst_y = 0, worst_state = 0;
    int diverged = 0;
    for (Eigen::Index t = 2560; t < data.mixed.cols(); ++t) {
      const Eigen::MatrixXd u = plain.unmixing();  // the iterate that answers this sample
      Eigen::VectorXd xd(D);
      for (int i = 0; i < D; ++i) {
        x[std::size_t(i)] = S(data.mixed(i, t));
        xd(i) = double(x[std::size_t(i)]);
      }
      const Eigen::VectorXd centred = xd - averaged.input_mean();  // m before the step
      const Status status = plain.step(x, y_plain);
      REQUIRE(averaged.step(x, y_avg) == status);
      // every r-th sample refreshes the next column; a sample the divergence guard rejects
      // moves nothing and answers 0, and the column still turns
      const auto s_avg = std::size_t(t - 2560);
      if (s_avg % every == 0 && status == Status::Ok) {
        const Eigen::Index j = Eigen::Index(s_avg / every % D);
        const double k = double(s_avg / every / D);
        const double b = std::max(double(every * D) * eta0 / span, 1.0 / (k + 2));
        ubar.col(j) += b * (u.col(j) - ubar.col(j));
      }
      diverged += status == Status::Ok ? 0 : 1;
      // online whitening moves m within the step: the output uses the updated mean
      Eigen::VectorXd expected = Eigen::VectorXd::Zero(D);
      if (status == Status::Ok) {
        expected = ubar * (whitening_rate > 0 ? Eigen::VectorXd(xd - averaged.input_mean())
                                              : centred);
      }
      for (int i = 0; i < D; ++i) {
        worst_y = std::max(worst_y, std::abs(double(y_avg[std::size_t(i)]) - expected(i)) /
                                        (1 + std::abs(expected(i))));
      }
      if (t % 97 == 0 || t + 1 == data.mixed.cols()) {
        worst_u = std::max(worst_u, (averaged.unmixing() - ubar).cwiseAbs().maxCoeff() /
                                        ubar.cwiseAbs().maxCoeff());
        worst_state = std::max(
            {worst_state,
             double((averaged.feedforward() - plain.feedforward()).cwiseAbs().maxCoeff()),
             double((averaged.lateral() - plain.lateral()).cwiseAbs().maxCoeff())});
      }
    }
    INFO(D << " channels, whitening rate " << whitening_rate << ": Ubar " << worst_u << ", y "
         << worst_y << ", iterate - Ubar "
         << (plain.unmixing() - ubar).cwiseAbs().maxCoeff() / ubar.cwiseAbs().maxCoeff()
         << ", rejected " << diverged);
    // the direct solve: the same arithmetic in both networks; the refined one's column solves
    // move when P is refreshed, and with it the networks' solves within their tolerance
    CHECK(worst_state <= (averaged.refined_solve() ? 1e-9 : 0.0));
    CHECK(worst_u <= tol);
    CHECK(worst_y <= 10 * tol);
    // the average is not the iterate (the checks above are not vacuous): measured 0.05-0.22
    CHECK((plain.unmixing() - ubar).cwiseAbs().maxCoeff() > 0.01 * ubar.cwiseAbs().maxCoeff());
  };
  check(std::integral_constant<int, 3>{}, 0.0);
  check(std::integral_constant<int, 5>{}, 0.0);
  check(std::integral_constant<int, 7>{}, 1e-3);
  if constexpr (std::is_same_v<TestType, double>) {
    check(std::integral_constant<int, 9>{}, 0.0);  // the refined solve (double: its tolerance
                                                  // 1.5e-10 keeps the networks together)
  }
}

TEST_CASE("OnlineICA's averaging: restarts at the iterate, bad spans are errors",
          "[ica][online]") {
  const auto data = ica::bahroun_synthetic(2001, 3);
  ica::OnlineICA<double, 4> net({.average_span = 0.5});
  net.warm_start(data.mixed);  // not separated: the options' span stays
  CHECK(net.options().average_span == 0.5);
  const auto iterate = [&] {
    return Eigen::MatrixXd(net.lateral().llt().solve(net.feedforward()) * net.whitener());
  };
  CHECK((net.unmixing() - iterate()).cwiseAbs().maxCoeff() < 1e-12);
  std::array<double, 4> x{}, y{};
  for (Eigen::Index t = 0; t < data.mixed.cols(); ++t) {
    for (int i = 0; i < 4; ++i) x[std::size_t(i)] = data.mixed(i, t);
    REQUIRE(net.step(x, y) == Status::Ok);
  }
  CHECK((net.unmixing() - iterate()).cwiseAbs().maxCoeff() > 1e-6);
  net.restart();
  CHECK((net.unmixing() - iterate()).cwiseAbs().maxCoeff() < 1e-12);
  // a user's span wins over the warm start's
  ica::OnlineICA<double, 4> own({.average_span = 2});
  own.warm_start(data.mixed, true);
  CHECK(own.options().average_span == 2);
  ica::OnlineICA<double, 4> dflt;
  dflt.warm_start(data.mixed, true);
  CHECK(dflt.options().average_span == 5);
  CHECK_THROWS_WITH((ica::OnlineICA<double, 4>({.average_span = -1})),
                    Catch::Contains("average_span >= 0") && Catch::Contains("got -1"));
  CHECK_THROWS_AS(
      (ica::OnlineICA<double, 4>({.average_span = std::numeric_limits<double>::infinity()})),
      dendrite::numerical_error);
  CHECK_THROWS_WITH(dflt.warm_start(data.mixed, {.separated = true, .average_span = -2}),
                    Catch::Contains("average_span must be finite and >= 0, got -2"));
}
