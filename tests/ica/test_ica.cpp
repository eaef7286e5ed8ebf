// SPDX-License-Identifier: MIT
// Batch ICA: whitening, FOBI, FastICA and the metrics, on the paper's synthetic set and on
// matrices whose answers are known by construction.
#include "support/alloc_counter.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <numeric>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include <dendrite/ica/fastica.hpp>
#include <dendrite/ica/fobi.hpp>
#include <dendrite/ica/metrics.hpp>
#include <dendrite/ica/synthetic.hpp>
#include <dendrite/ica/whitening.hpp>

#include "support/random.hpp"

namespace ica = dendrite::ica;

namespace {

/// (1/n) centred covariance, written plainly.
Eigen::MatrixXd cov_of(const Eigen::MatrixXd& z) {
  const Eigen::MatrixXd zc = z.colwise() - z.rowwise().mean();
  return zc * zc.transpose() / double(z.cols());
}

}  // namespace

TEST_CASE("whitening gives identity covariance and inverts", "[ica][whitening]") {
  const Eigen::MatrixXd x =
      dendrite::test::random_matrix(5, 5, 1) * dendrite::test::random_matrix(5, 2000, 2) +
      Eigen::VectorXd::LinSpaced(5, 1, 5).replicate(1, 2000);
  for (auto kind : {ica::WhiteningKind::ZCA, ica::WhiteningKind::PCA}) {
    const ica::Whitener w = ica::whiten(x, {.kind = kind});
    CHECK(w.rank == 5);
    CHECK((cov_of(w.apply(x)) - Eigen::MatrixXd::Identity(5, 5)).cwiseAbs().maxCoeff() < 1e-10);
    CHECK((w.unapply(w.apply(x)) - x).cwiseAbs().maxCoeff() < 1e-9);
    CHECK((w.mean - x.rowwise().mean()).cwiseAbs().maxCoeff() < 1e-12);
    if (kind == ica::WhiteningKind::ZCA) {
      CHECK((w.matrix - w.matrix.transpose()).cwiseAbs().maxCoeff() <
            1e-10);  // C^{-1/2} is symmetric
    }
  }
}

TEST_CASE("whitening reports rank deficiency, or reduces the rank when asked", "[ica][whitening]") {
  Eigen::MatrixXd x = dendrite::test::random_matrix(3, 500, 3);
  x.row(2) = x.row(0) - 2.0 * x.row(1);
  CHECK_THROWS_WITH(ica::whiten(x), Catch::Contains("rank 2 of 3"));
  const ica::Whitener w = ica::whiten(x, {.kind = ica::WhiteningKind::PCA, .reduce_rank = true});
  REQUIRE(w.matrix.rows() == 2);
  CHECK((cov_of(w.apply(x)) - Eigen::Matrix2d::Identity()).cwiseAbs().maxCoeff() < 1e-10);
  CHECK((w.unapply(w.apply(x)) - x).cwiseAbs().maxCoeff() < 1e-9);  // x lies in the kept subspace
}

TEST_CASE("ICA rejects bad input with clear errors", "[ica][errors]") {
  Eigen::MatrixXd x = dendrite::test::random_matrix(3, 100, 4);
  CHECK_THROWS_WITH(ica::fobi(Eigen::MatrixXd::Ones(4, 3)),
                    Catch::Contains("more samples than channels, got 4 x 3"));
  Eigen::MatrixXd constant = x;
  constant.row(1).setConstant(2.5);
  CHECK_THROWS_WITH(ica::fobi(constant), Catch::Contains("channel 1 is constant"));
  CHECK_THROWS_WITH(ica::fastica(constant), Catch::Contains("channel 1 is constant"));
  Eigen::MatrixXd nan = x;
  nan(2, 17) = std::nan("");
  CHECK_THROWS_WITH(ica::fobi(nan), Catch::Contains("channel 2, sample 17"));
  CHECK_THROWS_AS(ica::fastica(nan), dendrite::numerical_error);
  // the one-pass check: an Inf alone in the last sample, a channel constant but for its last
  // sample (not constant), the last channel constant, and a block of a taller matrix (the
  // columns strided), whose bad values outside the block do not count
  Eigen::MatrixXd inf = x;
  inf(0, 99) = -std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH(ica::fobi(inf), Catch::Contains("channel 0, sample 99"));
  Eigen::MatrixXd nearly = x;
  nearly.row(2).setConstant(-1.0);
  nearly(2, 99) = 0.5;
  CHECK_NOTHROW(ica::whiten(nearly));
  nearly(2, 99) = -1.0;
  CHECK_THROWS_WITH(ica::whiten(nearly), Catch::Contains("channel 2 is constant (-1)"));
  Eigen::MatrixXd tall = dendrite::test::random_matrix(5, 100, 6);
  tall(4, 3) = std::nan("");  // outside the block below
  tall.row(3).setConstant(7.0);
  const Eigen::MatrixXd top = tall.topRows(3);
  CHECK((ica::whiten(tall.topRows(3)).matrix - ica::whiten(top).matrix).cwiseAbs().maxCoeff() ==
        0.0);
  {  // fobi reads a strided block (columns 5 apart) as it reads the same data packed
    const auto strided = ica::fobi(tall.topRows(3)), packed = ica::fobi(top);
    CHECK(strided.unmixing == packed.unmixing);
    CHECK(strided.standard_errors == packed.standard_errors);
  }
  tall(1, 50) = std::numeric_limits<double>::infinity();
  CHECK_THROWS_WITH(ica::whiten(tall.topRows(3)), Catch::Contains("channel 1, sample 50"));
  CHECK_THROWS_WITH(ica::whiten(tall.middleRows(2, 2)), Catch::Contains("channel 1 is constant"));
  CHECK_THROWS_AS(ica::fobi(Eigen::MatrixXd::Ones(1, 10)), dendrite::dimension_error);
  CHECK_THROWS_AS(ica::amari_index(Eigen::MatrixXd::Ones(2, 3)), dendrite::dimension_error);
  CHECK_THROWS_AS(ica::fastica(x, {.tol = -1}), dendrite::numerical_error);
  const auto f = ica::fobi(x);
  CHECK_THROWS_WITH(f.sources(Eigen::MatrixXd::Ones(2, 5)),
                    Catch::Contains("expected 3 channels, got 2"));
}

TEST_CASE("Amari index of known matrices", "[ica][metrics]") {
  Eigen::Matrix3d perm;
  perm << 0, -2, 0, 0, 0, 0.5, 3, 0, 0;
  CHECK(ica::amari_index(perm) == 0.0);
  Eigen::Matrix2d p;
  p << 1, 0.5, 0, 1;
  // rows: (1.5 - 1) + (1 - 1); columns: (1 - 1) + (1.5 - 1); / (2 * 2 * 1)
  CHECK(ica::amari_index(p) == Approx(0.25));
  CHECK(ica::amari_index(Eigen::Matrix3d::Ones()) == Approx(1.0));  // worst case
  // a dead output (zero row) and a lost source (zero column) count n - 1 each, never below 0:
  // diag(1, 1, 0): rows 0 + 0 + 2, columns 0 + 0 + 2, / (2 * 3 * 2)
  const Eigen::Matrix3d dead = Eigen::Vector3d(1, 1, 0).asDiagonal();
  CHECK(ica::amari_index(dead) == Approx(1.0 / 3.0));
  CHECK(ica::amari_index(Eigen::Matrix3d::Zero()) == Approx(1.0));
  Eigen::Matrix3d bad = perm;
  bad(1, 1) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(ica::amari_index(bad), dendrite::numerical_error);
}

TEST_CASE("kurtosis of rows with closed forms", "[ica][metrics]") {
  // +-1 in equal numbers: E[v^4] / E[v^2]^2 = 1; 0, 0, 0, 2 (mean 0.5): m2 = 3 / 4, m4 = 21 / 16,
  // so 7 / 3; a constant row has no kurtosis (NaN, as SciPy); fewer than 2 samples is an error
  Eigen::MatrixXd x(3, 4);
  x << 1, -1, -1, 1, 0, 0, 0, 2, 5, 5, 5, 5;
  const Eigen::VectorXd k = ica::kurtosis(x);
  CHECK(k(0) == Approx(1.0).epsilon(1e-15));
  CHECK(k(1) == Approx(7.0 / 3.0).epsilon(1e-15));
  CHECK(std::isnan(k(2)));
  CHECK_THROWS_WITH(ica::kurtosis(Eigen::MatrixXd(Eigen::MatrixXd::Ones(3, 1))),
                    Catch::Contains("at least 2 samples, got 3 x 1"));
}

namespace {

// The mixtures of tests/ica/sklearn_reference.py, built the same way: a 32-bit linear
// congruential generator and rational operations only, so that both languages make the same
// numbers. Draws in [-1, 1): x <- (1664525 x + 1013904223) mod 2^32, u = 2 x / 2^32 - 1.
std::vector<double> lcg_uniform(std::uint64_t seed, std::size_t n) {
  std::vector<double> out(n);
  std::uint64_t x = seed;
  for (double& u : out) {
    x = (1664525U * x + 1013904223U) % (std::uint64_t(1) << 32);
    u = 2.0 * (double(x) / 4294967296.0) - 1.0;
  }
  return out;
}

struct SklearnCase {
  Eigen::Index d, n;
  ica::FastICANonlinearity fun;
  double alpha;
  int iterations;                  // scikit-learn's n_iter_
  std::vector<double> components;  // scikit-learn's components_, row-major
};

}  // namespace

// scikit-learn's FastICA (1.2.1, Debian 12's python3-sklearn; whiten='unit-variance', the same
// w_init, tol and max_iter) on four mixtures at 3, 4, 5 and 7 channels and odd sample counts,
// every nonlinearity: the same iterations and the same unmixing. dendrite's PCA whitener takes
// scikit-learn's signs (each eigenvector's first entry >= 0), so w_init means the same start.
// Measured agreement 1e-15 to 2e-12 of the largest entry (the eigensolvers' rounding, carried
// through the iterations).
TEST_CASE("fastica equals scikit-learn's FastICA from the same w_init", "[ica][fastica]") {
  const std::vector<SklearnCase> cases{
      {3, 5001, ica::FastICANonlinearity::LogCosh, 1.0, 11,
       {
        -0.7267161508896061, 1.7808185119415738, 1.637402311082532,
        -1.813981274153638, 2.727465709273443, -1.263008394554856,
        -1.90359964060558, 1.1498039399545532, -0.3789990337843625}},
      {5, 2999, ica::FastICANonlinearity::Exp, 1.0, 5,
       {
        0.18945579479913355, 0.1359667904821918, 0.027050076171758974,
        -0.6953888042892975, 0.1878575564495922, -0.03219669407402584,
        0.05944160911529636, 0.279365591611283, -0.13808592985236906,
        0.6320178087553869, -2.593627174696219, 1.87726920706697,
        0.4947382240903069, 2.5175028927151533, -2.2499637847801175,
        -2.3781652325737164, 0.5938564830577641, 0.038393610311000526,
        1.6812316346937115, -1.4558950292908164, 1.8297522843914937,
        -0.33410947769749844, -1.5584660957616654, -1.1776922287339429,
        1.1519192728356318}},
      {7, 4001, ica::FastICANonlinearity::Cube, 1.0, 29,
       {
        0.7746647005253506, -0.7790278261779364, 0.548607867711736,
        0.19920687663293812, 0.9635956920054523, -0.5716265749060001,
        -0.26979213384291595, 0.6816872054850092, 0.15263337796269932,
        -0.11248972136661517, -0.41699293358565315, 1.5551284548635091,
        -0.5196837407908437, -1.981191905337157, 1.2892777855981439,
        0.12428393098873065, -0.05864380144356629, 0.022664311782384386,
        3.127709434241261, -0.7391035187436125, -1.130074600647693,
        -0.6731776245108635, -0.5576511470945451, 1.1608734227848843,
        0.4609195085830231, -0.08770201623422427, 0.1352853275816529,
        -0.15865515385903325, 0.3897571225062498, 1.1608568741294054,
        0.3310948670830679, -0.6219298923488638, -0.06972982957817594,
        -0.5556658763839054, 0.28105652548050786, -0.8938647922027041,
        0.30792079271806544, 0.5330021041093084, -0.10816021027243619,
        -0.4469227088949091, -1.3444024553724812, 0.08003931378569201,
        -0.6024938146127045, -0.37897399286704125, 0.2220111497664504,
        -0.22379411298623147, -0.7320039933888135, 0.03592863825184775,
        0.37020779338440124}},
      {4, 3001, ica::FastICANonlinearity::LogCosh, 1.5, 4,
       {
        -0.9448416630689298, 0.28019399137980516, 0.03775766066561531,
        0.4204493303304096, -0.5081657319679677, -0.7850723243243973,
        -0.0526056129625689, -0.10309757323842922, -0.04123291554248246,
        0.02915270509543135, 0.003952633050929966, -0.45134784872714667,
        0.25351873144893877, -0.4579224445402211, 0.9760470326829742,
        -0.2668882487877299}}};
  for (const SklearnCase& c : cases) {
    CAPTURE(c.d, c.n, int(c.fun), c.alpha);
    const auto count = std::size_t(c.n);
    Eigen::MatrixXd s(c.d, c.n);
    for (Eigen::Index i = 0; i < c.d; ++i) {
      const std::vector<double> u = lcg_uniform(1000 + std::uint64_t(i), 2 * count);
      for (std::size_t t = 0; t < count; ++t) {
        const double a = u[2 * t], b = u[2 * t + 1];
        const int kind = int(i % 4);
        s(i, Eigen::Index(t)) = kind == 0 ? a : kind == 1 ? a * a * a : kind == 2 ? a * b : a + b;
      }
    }
    const std::vector<double> am = lcg_uniform(7, std::size_t(c.d * c.d));
    const std::vector<double> wm = lcg_uniform(11, std::size_t(c.d * c.d));
    Eigen::MatrixXd a(c.d, c.d), w0(c.d, c.d), ref(c.d, c.d);
    for (Eigen::Index i = 0; i < c.d; ++i) {
      for (Eigen::Index j = 0; j < c.d; ++j) {
        const auto k = std::size_t(i * c.d + j);
        a(i, j) = am[k] + (i == j ? 2.0 : 0.0);
        w0(i, j) = wm[k];
        ref(i, j) = c.components[k];
      }
    }
    const Eigen::MatrixXd x = a * s;
    const ica::FastICAResult r = ica::fastica(
        x, {.fun = c.fun, .alpha = c.alpha, .saddle_test = false, .w_init = w0});
    CHECK(r.iterations == c.iterations);
    CHECK(r.converged);
    CHECK((r.unmixing - ref).cwiseAbs().maxCoeff() <= 1e-9 * ref.cwiseAbs().maxCoeff());
  }
}

TEST_CASE("the Hungarian assignment is optimal (checked by brute force)", "[ica][metrics]") {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const Eigen::MatrixXd cost = dendrite::test::random_matrix(6, 6, seed);
    const auto a = ica::min_cost_assignment(cost);
    double got = 0;
    for (Eigen::Index i = 0; i < 6; ++i) {
      got += cost(i, a[std::size_t(i)]);
    }
    std::vector<int> p(6);
    std::iota(p.begin(), p.end(), 0);
    double best = 1e300;
    do {
      double c = 0;
      for (int i = 0; i < 6; ++i) {
        c += cost(i, p[std::size_t(i)]);
      }
      best = std::min(best, c);
    } while (std::next_permutation(p.begin(), p.end()));
    CHECK(got == Approx(best).epsilon(1e-12));
  }
}

TEST_CASE("source matching recovers permutation and sign, SINR matches the noise level",
          "[ica][metrics]") {
  const Eigen::MatrixXd s = dendrite::test::random_matrix(3, 20000, 7);
  const Eigen::MatrixXd noise = dendrite::test::random_matrix(3, 20000, 8, 0.1);
  Eigen::MatrixXd y(3, 20000);
  y.row(0) = -2.0 * s.row(2) + noise.row(0);  // source 2 -> output 0, flipped
  y.row(1) = 0.5 * s.row(0) + 0.05 * noise.row(1) * 10.0;
  y.row(2) = s.row(1) + noise.row(2);
  const auto m = ica::match_sources(s, y);
  CHECK(m.output_of_source == std::vector<Eigen::Index>{1, 2, 0});
  CHECK(m.sign(2) == -1.0);
  CHECK(m.sign(0) == 1.0);
  // output 2 = s1 + e with var(e) = 0.01: SINR = 10 log10(1 / 0.01) = 20 dB
  CHECK(m.sinr_db(1) == Approx(20.0).margin(0.3));
  // output 0 = -2 s2 + e: 10 log10(4 / 0.01) = 26 dB
  CHECK(m.sinr_db(2) == Approx(26.02).margin(0.3));
}

TEST_CASE("FOBI on the paper's synthetic set: eigenvalues are kurtosis + d - 1", "[ica][fobi]") {
  const auto data = ica::bahroun_synthetic(10000, 101);
  const auto f = ica::fobi(data.mixed);
  // reference: Pearson kurtosis of the true sources, computed from the data (descending)
  Eigen::VectorXd k = ica::kurtosis(data.sources);
  std::sort(k.data(), k.data() + 4, std::greater<>());
  INFO("eigenvalues " << f.eigenvalues.transpose() << ", kurtosis + 3 "
                      << (k.array() + 3).transpose());
  for (Eigen::Index i = 0; i < 4; ++i) {
    CHECK(f.eigenvalues(i) == Approx(k(i) + 3.0).epsilon(0.05));
  }
  CHECK(ica::amari_index(f.unmixing, data.mixing) < 0.05);
  CHECK(f.identifiable);
  CHECK(f.warning.empty());
  CHECK((f.mixing * f.unmixing - Eigen::Matrix4d::Identity()).cwiseAbs().maxCoeff() < 1e-10);
  const Eigen::MatrixXd y = f.sources(data.mixed);
  CHECK((cov_of(y) - Eigen::Matrix4d::Identity()).cwiseAbs().maxCoeff() < 1e-10);  // no dead output
  CHECK(ica::match_sources(data.sources, y).correlation.minCoeff() > 0.99);
}

TEST_CASE("FOBI's eigenvalues and standard errors equal the formulas written out",
          "[ica][fobi]") {
  // Odd sizes (3 and 5 channels, 4 999 samples): a plain implementation of the file comment's
  // steps, without blocks or symmetric updates, against `fobi`.
  for (const int d : {3, 5}) {
    std::mt19937_64 rng(std::uint64_t(40 + d));
    std::uniform_real_distribution<double> uni(-1.0, 1.0);
    const Eigen::Index n = 4999;
    Eigen::MatrixXd s(d, n);
    for (Eigen::Index t = 0; t < n; ++t) {
      for (int i = 0; i < d; ++i) {
        // kurtoses apart: u (1.8), Laplace (6), u^3 (3.8), u^7 (7.8), u^11 (11.8)
        const double u = uni(rng);
        constexpr int kPower[] = {1, 0, 3, 7, 11};
        s(i, t) = i == 1 ? std::log(std::abs(u) + 1e-9) * (u > 0 ? 1 : -1) : std::pow(u, kPower[i]);
      }
    }
    const Eigen::MatrixXd x = dendrite::test::random_matrix(d, d, std::uint64_t(d)) * s;
    const Eigen::VectorXd m = x.rowwise().mean();
    const Eigen::MatrixXd xc = x.colwise() - m;
    const Eigen::MatrixXd c = xc * xc.transpose() / double(n);
    const Eigen::MatrixXd h =
        Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(c).operatorInverseSqrt() * xc;
    Eigen::MatrixXd k = Eigen::MatrixXd::Zero(d, d);
    for (Eigen::Index t = 0; t < n; ++t) {
      k += h.col(t).squaredNorm() * h.col(t) * h.col(t).transpose();
    }
    k /= double(n);
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(k);
    const auto f = ica::fobi(x);
    Eigen::VectorXd plain_se(d);
    for (int i = 0; i < d; ++i) {
      const int j = d - 1 - i;  // descending
      const Eigen::VectorXd v = eig.eigenvectors().col(j);
      Eigen::VectorXd q(n);  // q_t = ||h_t||^2 (v^T h_t)^2, whose mean is the eigenvalue
      for (Eigen::Index t = 0; t < n; ++t) {
        q(t) = h.col(t).squaredNorm() * std::pow(v.dot(h.col(t)), 2);
      }
      const double mean_q = q.mean();
      const double sq = (q.array() - mean_q).square().sum();
      const double se = std::sqrt(sq / double(n - 1) / double(n));
      INFO(d << " channels, eigenvalue " << i);
      CHECK(f.eigenvalues(i) == Approx(eig.eigenvalues()(j)).epsilon(1e-10));
      CHECK(mean_q == Approx(eig.eigenvalues()(j)).epsilon(1e-10));
      CHECK(f.standard_errors(i) == Approx(se).epsilon(1e-8));
      plain_se(i) = se;
    }
    // the identifiability statistic: the smallest gap between neighbours in standard errors
    double min_z = std::numeric_limits<double>::infinity();
    for (int i = 0; i + 1 < d; ++i) {
      const double gap = eig.eigenvalues()(d - 1 - i) - eig.eigenvalues()(d - 2 - i);
      min_z = std::min(min_z, gap / std::hypot(plain_se(i), plain_se(i + 1)));
    }
    CHECK(f.min_gap_z == Approx(min_z).epsilon(1e-8));
    CHECK(f.identifiable == (min_z >= 3.0));
  }
}

TEST_CASE("FOBI reports sources of equal kurtosis as not identifiable", "[ica][fobi]") {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> uni(-1.0, 1.0);
    std::exponential_distribution<double> expo(1.0);
    Eigen::MatrixXd s(3, 20000);
    for (Eigen::Index t = 0; t < s.cols(); ++t) {
      s(0, t) = uni(rng);  // two uniform sources: both kurtosis 1.8
      s(1, t) = uni(rng);
      s(2, t) = (uni(rng) > 0 ? 1 : -1) * expo(rng);
    }
    const auto f = ica::fobi(dendrite::test::random_matrix(3, 3, seed + 10) * s);
    INFO("seed " << seed << ": eigenvalues " << f.eigenvalues.transpose() << ", min gap z "
                 << f.min_gap_z);
    CHECK_FALSE(f.identifiable);
    CHECK_THAT(f.warning, Catch::Contains("equal kurtosis"));
    CHECK(f.min_relative_gap < 0.02);
  }
}

TEST_CASE("FastICA on the paper's synthetic set separates the sources", "[ica][fastica]") {
  const auto data = ica::bahroun_synthetic(10000, 101);
  for (auto fun : {ica::FastICANonlinearity::LogCosh, ica::FastICANonlinearity::Cube,
                   ica::FastICANonlinearity::Exp}) {
    const auto r = ica::fastica(data.mixed, {.fun = fun, .max_iter = 400, .seed = 3});
    INFO("nonlinearity " << int(fun) << ", iterations " << r.iterations);
    CHECK(r.converged);
    CHECK(ica::amari_index(r.unmixing, data.mixing) < 0.05);
    const Eigen::MatrixXd y = r.unmixing * (data.mixed.colwise() - r.mean);
    CHECK((cov_of(y) - Eigen::Matrix4d::Identity()).cwiseAbs().maxCoeff() < 1e-8);
  }
}

namespace {

/// d independent sources s_i = u^(2i+1), u ~ U(-1, 1), at unit variance: their kurtoses
/// (2k+1)^2/(4k+1) with k = 2i+1 are distinct (1.8, 3.8, 5.8, ...), so every source is
/// identifiable by FOBI and non-Gaussian for FastICA.
Eigen::MatrixXd odd_power_sources(Eigen::Index d, Eigen::Index n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  Eigen::MatrixXd s(d, n);
  for (Eigen::Index j = 0; j < n; ++j) {
    for (Eigen::Index i = 0; i < d; ++i) s(i, j) = std::pow(u(rng), double(2 * i + 1));
  }
  for (Eigen::Index i = 0; i < d; ++i) {
    s.row(i).array() -= s.row(i).mean();
    s.row(i) /= std::sqrt(s.row(i).squaredNorm() / double(n));
  }
  return s;
}

}  // namespace

// Regression: with d = 3, 5, 6 or 7 the FastICA cache block is not a multiple of the SIMD width,
// so its second column block was misaligned, and an unqualified store() picked xsimd's aligned
// store through argument-dependent lookup (SIGSEGV on AVX). Every d from 2 to 9, odd n.
TEST_CASE("batch ICA at every channel count from 2 to 9 and odd sample counts",
          "[ica][fastica][fobi][whitening]") {
  for (Eigen::Index d = 2; d <= 9; ++d) {
    CAPTURE(d);
    const Eigen::Index n = 30001 + 2 * d;  // odd, several cache blocks for every d
    const Eigen::MatrixXd s = odd_power_sources(d, n, 100 + std::uint64_t(d));
    const Eigen::MatrixXd a = dendrite::test::random_matrix(d, d, 200 + std::uint64_t(d)) +
                              2.0 * Eigen::MatrixXd::Identity(d, d);
    const Eigen::MatrixXd x = a * s;

    const ica::Whitener w = ica::whiten(x);
    CHECK((cov_of(w.apply(x)) - Eigen::MatrixXd::Identity(d, d)).cwiseAbs().maxCoeff() < 1e-9);

    const ica::FOBIResult f = ica::fobi(x);
    CHECK((f.unmixing * f.mixing - Eigen::MatrixXd::Identity(d, d)).cwiseAbs().maxCoeff() < 1e-9);
    CHECK((cov_of(f.sources(x)) - Eigen::MatrixXd::Identity(d, d)).cwiseAbs().maxCoeff() < 1e-9);
    // eigenvalues estimate kurt_i + d - 1 of the sources (closed form above), descending
    for (Eigen::Index i = 0; i < d; ++i) {
      const double k = double(2 * (d - 1 - i) + 1);
      const double kurt = (2 * k + 1) * (2 * k + 1) / (4 * k + 1);
      CHECK(f.eigenvalues(i) == Approx(kurt + double(d) - 1.0).epsilon(0.25));
    }

    const ica::FastICAResult r = ica::fastica(x, {.seed = 7});
    CHECK(r.converged);
    CHECK(ica::amari_index(r.unmixing, a) < 0.05);
  }
}

// FastICA's fixed-point step also stops at saddles of its contrast: a pair of outputs that are
// the 45-degree mixtures (s_k +- s_l) / sqrt 2 of two sources. Started there (w_init, in the
// whitened space), logcosh and exp stay without the saddle test and separate with it; started
// at a separating solution, the test turns nothing.
TEST_CASE("FastICA's saddle test turns a pair stopped at a 45-degree mixture", "[ica][fastica]") {
  // pair 0-1 super-Gaussian (Laplacian, excess kurtosis 3) with a uniform third source, or
  // sub-Gaussian (sinusoids of random phase, arcsine-distributed, -1.5, as line noise) with a
  // Laplacian third
  for (const bool sub : {false, true}) {
    CAPTURE(sub);
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> uni(-1.0, 1.0);
    std::exponential_distribution<double> expo(1.0);
    const auto laplace = [&] { return (uni(rng) > 0 ? 1 : -1) * expo(rng); };
    const auto arcsine = [&] { return std::sin(std::numbers::pi * uni(rng)); };
    const Eigen::Index n = 40001;
    Eigen::MatrixXd s(3, n);
    for (Eigen::Index t = 0; t < n; ++t) {
      s(0, t) = sub ? arcsine() : laplace();
      s(1, t) = sub ? arcsine() : laplace();
      s(2, t) = sub ? laplace() : uni(rng);
    }
    for (Eigen::Index i = 0; i < 3; ++i) {
      s.row(i).array() -= s.row(i).mean();
      s.row(i) /= std::sqrt(s.row(i).squaredNorm() / double(n));
    }
    const Eigen::MatrixXd a =
        dendrite::test::random_matrix(3, 3, 21) + Eigen::Matrix3d::Identity();
    const Eigen::MatrixXd x = a * s;
    // the separating rotation on the whitened data: V A is orthogonal up to sampling error
    const ica::Whitener wh = ica::whiten(x, {.kind = ica::WhiteningKind::PCA});
    const Eigen::MatrixXd separating = (wh.matrix * a).inverse();
    Eigen::Matrix3d turn = Eigen::Matrix3d::Identity();  // 45 degrees between outputs 0 and 1
    turn.topLeftCorner<2, 2>() << 1, 1, 1, -1;
    turn.topLeftCorner<2, 2>() /= std::sqrt(2.0);
    const Eigen::MatrixXd saddle = turn * separating;
    REQUIRE(ica::amari_index(Eigen::MatrixXd(saddle * wh.matrix), a) > 0.3);

    for (auto fun : {ica::FastICANonlinearity::LogCosh, ica::FastICANonlinearity::Cube,
                     ica::FastICANonlinearity::Exp}) {
      CAPTURE(int(fun));
      ica::FastICAOptions opt{.fun = fun, .w_init = saddle};
      // every step stays at the saddle, except the cube's between super-Gaussian sources
      const bool stays = sub || fun != ica::FastICANonlinearity::Cube;
      opt.saddle_test = false;
      const ica::FastICAResult alone = ica::fastica(x, opt);
      CHECK(alone.converged);
      CHECK((ica::amari_index(alone.unmixing, a) > 0.3) == stays);
      opt.saddle_test = true;
      const ica::FastICAResult turned = ica::fastica(x, opt);
      CHECK(turned.converged);
      CHECK(turned.saddle_rotations == (stays ? 1 : 0));
      CHECK(ica::amari_index(turned.unmixing, a) < 0.02);

      opt.w_init = separating;
      const ica::FastICAResult kept = ica::fastica(x, opt);
      CHECK(kept.saddle_rotations == 0);
      CHECK(ica::amari_index(kept.unmixing, a) < 0.02);
    }
  }
  const Eigen::MatrixXd x = dendrite::test::random_matrix(3, 100, 3);
  ica::FastICAOptions wrong;
  wrong.w_init = Eigen::MatrixXd::Identity(2, 2);
  CHECK_THROWS_WITH(ica::fastica(x, wrong), Catch::Contains("w_init must be a finite 3 x 3"));
}
