// SPDX-License-Identifier: MIT
// PCA (batch and streaming) against closed forms and an independent SVD written here.
#include "support/alloc_counter.hpp"

#include <array>
#include <cmath>
#include <limits>
#include <numbers>
#include <random>
#include <vector>

#include <Eigen/QR>
#include <Eigen/SVD>
#include <catch2/catch.hpp>

#include <dendrite/core/symmetric_eigen.hpp>
#include <dendrite/geometry/pca.hpp>
#include <dendrite/geometry/streaming_pca.hpp>
#include <dendrite/geometry/subspace.hpp>
#include <dendrite/ica/eeg_like.hpp>

#include "support/random.hpp"

namespace {

using dendrite::geometry::PCA;
using dendrite::geometry::PCAOptions;
using dendrite::geometry::PCASolver;

/// Data whose sample mean is exactly `mean` and whose sample covariance (1/(n-1)) is exactly
/// Q diag(var) Q^T: scores are orthonormal vectors orthogonal to the ones vector, scaled.
struct KnownData {
  Eigen::MatrixXd x, q;
  Eigen::VectorXd var, mean;
};
KnownData known_data(Eigen::Index f, Eigen::Index n, const Eigen::VectorXd& var,
                     std::uint64_t seed) {
  const Eigen::Index k = var.size();
  Eigen::MatrixXd g = dendrite::test::random_matrix(n, k + 1, seed);
  g.col(0).setOnes();
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(g);
  const Eigen::MatrixXd z = (qr.householderQ() * Eigen::MatrixXd::Identity(n, k + 1)).rightCols(k);
  KnownData d;
  d.q = dendrite::test::random_orthonormal(f, k, seed + 1);
  d.var = var;
  d.mean = dendrite::test::random_matrix(f, 1, seed + 2, 3.0);
  d.x = (d.q * var.cwiseSqrt().asDiagonal() * z.transpose() * std::sqrt(double(n - 1))).colwise() +
        d.mean;
  return d;
}

}  // namespace

TEST_CASE("PCA recovers known components, variances and mean with both solvers",
          "[geometry][pca]") {
  const Eigen::VectorXd var = (Eigen::VectorXd(4) << 9.0, 4.0, 1.0, 0.25).finished();
  // 131 features: the covariance's eigenvectors by divide and conquer, rank 4 (deflation)
  for (auto [f, n] : {std::pair<Eigen::Index, Eigen::Index>{10, 500}, {40, 30}, {131, 600}}) {
    const KnownData d = known_data(f, n, var, 7);
    for (PCASolver solver : {PCASolver::Covariance, PCASolver::SVD, PCASolver::Auto}) {
      INFO("features " << f << ", samples " << n << ", solver " << int(solver));
      PCA<double> pca({.n_components = 4, .solver = solver});
      pca.fit(d.x);
      REQUIRE(pca.n_components() == 4);
      CHECK((pca.explained_variance() - var).cwiseAbs().maxCoeff() < 1e-9);
      CHECK((pca.mean() - d.mean).cwiseAbs().maxCoeff() < 1e-9);
      CHECK(pca.total_variance() == Approx(var.sum()).epsilon(1e-10));
      CHECK((pca.explained_variance_ratio() - var / var.sum()).cwiseAbs().maxCoeff() < 1e-10);
      CHECK((pca.singular_values() - (var * double(n - 1)).cwiseSqrt()).cwiseAbs().maxCoeff() <
            1e-7);
      for (Eigen::Index j = 0; j < 4; ++j) {
        CHECK(std::abs(pca.components().col(j).dot(d.q.col(j))) == Approx(1.0).epsilon(1e-9));
        Eigen::Index imax = 0;
        pca.components().col(j).cwiseAbs().maxCoeff(&imax);
        CHECK(pca.components()(imax, j) > 0);  // sign convention
      }
    }
  }
}

namespace {

// A V = V diag(lambda) and V^T V = I to O(n eps) (LAPACK's bounds for its symmetric solvers; in
// the Frobenius norm Eigen's QR iteration reads 0.1-0.6 n eps ||A|| and 1.2-1.7 n eps on these
// matrices, so 2 n eps and 4 n eps), lambda ascending and equal to `expected` (a closed form, or
// Eigen's QR iteration) within 2 n eps ||A||.
template <class S>
void check_symmetric_eigen(const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>& a,
                           const Eigen::Matrix<S, Eigen::Dynamic, 1>& expected) {
  using Mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
  const Eigen::Index n = a.rows();
  const double eps = std::numeric_limits<S>::epsilon();
  Eigen::Matrix<S, Eigen::Dynamic, 1> values;
  Mat vectors;
  REQUIRE(dendrite::symmetric_eigen(a, values, vectors));
  REQUIRE(values.size() == n);
  REQUIRE(vectors.rows() == n);
  REQUIRE(vectors.cols() == n);
  const double norm = std::max(double(a.norm()), 1e-300);
  CHECK(double((a * vectors - vectors * values.asDiagonal()).norm()) <= 2 * double(n) * eps * norm);
  CHECK(double((vectors.transpose() * vectors - Mat::Identity(n, n)).norm()) <=
        4 * double(n) * eps);
  for (Eigen::Index i = 1; i < n; ++i) CHECK(values(i - 1) <= values(i));
  CHECK(double((values - expected).cwiseAbs().maxCoeff()) <= 2 * double(n) * eps * norm);
}

template <class S>
Eigen::Matrix<S, Eigen::Dynamic, 1> qr_iteration_values(
    const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>& a) {
  Eigen::SelfAdjointEigenSolver<Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>> ref(
      a, Eigen::EigenvaluesOnly);
  return ref.eigenvalues();
}

}  // namespace

TEST_CASE("symmetric_eigen by divide and conquer: residual, orthogonality, known spectra",
          "[geometry][pca][eigen]") {
  using Mat = Eigen::MatrixXd;
  using Vec = Eigen::VectorXd;
  for (const Eigen::Index n : {Eigen::Index(5), Eigen::Index(64), Eigen::Index(65),
                               Eigen::Index(97), Eigen::Index(130), Eigen::Index(257)}) {
    INFO("n = " << n);
    const Mat g = dendrite::test::random_matrix(n, n, std::uint64_t(n));
    const Mat q = dendrite::test::random_orthonormal(n, n, std::uint64_t(n) + 1);
    {  // Gaussian symmetric and Wishart
      const Mat sym = (g + g.transpose()) / 2;
      check_symmetric_eigen<double>(sym, qr_iteration_values<double>(sym));
      const Mat wishart = g * g.transpose();
      check_symmetric_eigen<double>(wishart, qr_iteration_values<double>(wishart));
    }
    {  // three values, each repeated (every merge deflates)
      Vec spectrum(n);
      for (Eigen::Index i = 0; i < n; ++i) spectrum(i) = double(i % 3) - 1;
      const Mat a = q * spectrum.asDiagonal() * q.transpose();
      std::sort(spectrum.begin(), spectrum.end());
      check_symmetric_eigen<double>(a, spectrum);
    }
    {  // identity plus rank one: 1 (n - 1 times) and 1 + |x|^2
      const Vec x = g.col(0);
      const Mat a = Mat::Identity(n, n) + x * x.transpose();
      Vec spectrum = Vec::Ones(n);
      spectrum(n - 1) += x.squaredNorm();
      check_symmetric_eigen<double>(a, spectrum);
    }
    {  // a known spread spectrum, graded over 8 decades
      Vec spectrum(n);
      for (Eigen::Index i = 0; i < n; ++i) {
        spectrum(i) = std::pow(10.0, 8.0 * double(i) / double(n) - 4);
      }
      check_symmetric_eigen<double>(Mat(q * spectrum.asDiagonal() * q.transpose()), spectrum);
    }
    {  // tridiagonal: Wilkinson's W+ (pairs equal to many digits) and a split in the middle
      Mat w = Mat::Zero(n, n);
      for (Eigen::Index i = 0; i < n; ++i) {
        w(i, i) = std::abs(double(n - 1) / 2 - double(i));
        if (i > 0) w(i, i - 1) = w(i - 1, i) = 1;
      }
      check_symmetric_eigen<double>(w, qr_iteration_values<double>(w));
      w(n / 2, n / 2 - 1) = w(n / 2 - 1, n / 2) = 0;
      check_symmetric_eigen<double>(w, qr_iteration_values<double>(w));
    }
    {  // diagonal and zero
      const Vec diag = Vec::LinSpaced(n, 3, -2);
      check_symmetric_eigen<double>(Mat(diag.asDiagonal()), Vec(diag.reverse()));
      check_symmetric_eigen<double>(Mat::Zero(n, n), Vec::Zero(n));
    }
    {  // float
      const Eigen::MatrixXf sym = ((g + g.transpose()) / 2).cast<float>();
      check_symmetric_eigen<float>(sym, qr_iteration_values<float>(sym));
    }
  }
  {  // a non-finite entry: false, no exception
    Mat a = Mat::Identity(70, 70);
    a(3, 2) = a(2, 3) = std::numeric_limits<double>::quiet_NaN();
    Vec values;
    Mat vectors;
    CHECK_FALSE(dendrite::symmetric_eigen(a, values, vectors));
  }
}

TEST_CASE("PCA agrees with an independent Jacobi SVD of the centred data", "[geometry][pca]") {
  const Eigen::MatrixXd x =
      dendrite::test::random_matrix(12, 300, 3) +
      dendrite::test::random_matrix(12, 12, 4) * dendrite::test::random_matrix(12, 300, 5);
  const Eigen::MatrixXd xc = x.colwise() - x.rowwise().mean();
  Eigen::JacobiSVD<Eigen::MatrixXd> ref(xc, Eigen::ComputeThinU);
  for (PCASolver solver : {PCASolver::Covariance, PCASolver::SVD}) {
    PCA<double> pca({.solver = solver});
    pca.fit(x);
    REQUIRE(pca.n_components() == 12);
    CHECK((pca.singular_values() - ref.singularValues()).cwiseAbs().maxCoeff() <
          1e-9 * ref.singularValues()(0));
    for (Eigen::Index j = 0; j < 12; ++j) {
      CHECK(std::abs(pca.components().col(j).dot(ref.matrixU().col(j))) ==
            Approx(1.0).epsilon(1e-8));
    }
    const Eigen::MatrixXd gram = pca.components().transpose() * pca.components();
    CHECK((gram - Eigen::MatrixXd::Identity(12, 12)).cwiseAbs().maxCoeff() < 1e-12);
  }
}

TEST_CASE("PCA in float matches double to float precision", "[geometry][pca]") {
  const Eigen::VectorXd var = (Eigen::VectorXd(3) << 4.0, 2.0, 1.0).finished();
  const KnownData d = known_data(6, 400, var, 11);
  PCA<float> pca({.n_components = 3});
  pca.fit(d.x.cast<float>());
  CHECK((pca.explained_variance().cast<double>() - var).cwiseAbs().maxCoeff() < 1e-4);
}

TEST_CASE("PCA transform and inverse_transform round-trip, and whitening gives unit covariance",
          "[geometry][pca]") {
  const Eigen::MatrixXd x =
      dendrite::test::random_matrix(8, 8, 21) * dendrite::test::random_matrix(8, 200, 22);
  for (bool whiten : {false, true}) {
    PCA<double> pca({.whiten = whiten});
    pca.fit(x);
    const Eigen::MatrixXd y = pca.transform(x);
    CHECK((pca.inverse_transform(y) - x).cwiseAbs().maxCoeff() < 1e-9);
    const Eigen::MatrixXd cov = y * y.transpose() / double(x.cols() - 1);
    if (whiten) {
      CHECK((cov - Eigen::MatrixXd::Identity(8, 8)).cwiseAbs().maxCoeff() < 1e-9);
    } else {
      CHECK((cov - Eigen::MatrixXd(pca.explained_variance().asDiagonal())).cwiseAbs().maxCoeff() <
            1e-9);
    }
  }
}

TEST_CASE("PCA keeps the fewest components that reach a variance fraction", "[geometry][pca]") {
  const Eigen::VectorXd var = (Eigen::VectorXd(4) << 5.0, 3.0, 1.5, 0.5).finished();  // sum 10
  const KnownData d = known_data(6, 100, var, 31);
  CHECK(PCA<double>({.variance_fraction = 0.5}).fit(d.x).n_components() == 1);
  CHECK(PCA<double>({.variance_fraction = 0.8}).fit(d.x).n_components() == 2);
  CHECK(PCA<double>({.variance_fraction = 0.81}).fit(d.x).n_components() == 3);
  CHECK(PCA<double>({.variance_fraction = 1.0}).fit(d.x).n_components() == 4);
}

TEST_CASE("participation ratio of known spectra", "[geometry][pca]") {
  using dendrite::geometry::participation_ratio;
  CHECK(participation_ratio(Eigen::VectorXd::Constant(5, 2.0)) == Approx(5.0));
  CHECK(participation_ratio((Eigen::VectorXd(3) << 1.0, 0.0, 0.0).finished()) == Approx(1.0));
  CHECK(participation_ratio((Eigen::VectorXd(2) << 3.0, 1.0).finished()) == Approx(16.0 / 10.0));
  CHECK_THROWS_AS(participation_ratio(Eigen::VectorXd::Zero(3)), dendrite::numerical_error);
  CHECK_THROWS_AS(participation_ratio((Eigen::VectorXd(2) << 1.0, -1.0).finished()),
                  dendrite::numerical_error);
}

TEST_CASE("PCA rejects bad input with a clear error", "[geometry][pca]") {
  PCA<double> pca;
  CHECK_THROWS_WITH(pca.fit(Eigen::MatrixXd::Ones(3, 1)),
                    Catch::Contains("at least 1 feature and 2 samples, got 3 x 1"));
  Eigen::MatrixXd bad = Eigen::MatrixXd::Ones(3, 10);
  bad(1, 4) = std::nan("");
  CHECK_THROWS_AS(pca.fit(bad), dendrite::numerical_error);
  CHECK_THROWS_WITH(pca.transform(Eigen::MatrixXd::Ones(3, 2)), Catch::Contains("not fitted"));
  pca.fit(dendrite::test::random_matrix(3, 10, 1));
  CHECK_THROWS_WITH(pca.transform(Eigen::MatrixXd::Ones(4, 2)),
                    Catch::Contains("expected 3 features, got 4"));
  CHECK_THROWS_AS(PCA<double>({.variance_fraction = 1.5}), dendrite::numerical_error);
  // more components than centred data have (3 samples span 2 directions), as scikit-learn
  // refuses; the model fitted before stays usable
  PCA<double> four({.n_components = 4});
  CHECK_THROWS_WITH(four.fit(dendrite::test::random_matrix(5, 3, 2)),
                    Catch::Contains("at most min(features, samples - 1) = 2 for 5 x 3 data, got 4"));
  CHECK(four.fit(dendrite::test::random_matrix(5, 7, 3)).n_components() == 4);
  CHECK_THROWS_AS(four.fit(dendrite::test::random_matrix(3, 9, 4)), dendrite::dimension_error);
  CHECK(four.transform(dendrite::test::random_matrix(5, 2, 5)).rows() == 4);
}

// ---------------------------------------------------------------------------------------------
// Streaming

namespace {

constexpr int kD = 16;
constexpr int kK = 3;

/// Samples x = mean + Q diag(sqrt(var)) z, z ~ N(0, I): top-3 subspace = first 3 columns of Q.
struct Source {
  Eigen::MatrixXd q = dendrite::test::random_orthonormal(kD, kD, 41);
  Eigen::VectorXd sd = Eigen::VectorXd::Constant(kD, 0.2);
  Eigen::VectorXd mean = Eigen::VectorXd::LinSpaced(kD, -1.0, 1.0);
  std::mt19937_64 rng;
  std::normal_distribution<double> normal;
  explicit Source(std::uint64_t seed) : rng(seed) { sd.head(3) << 2.0, 1.4, 1.0; }
  Eigen::VectorXd next() {
    Eigen::VectorXd z(kD);
    for (auto& v : z) {
      v = normal(rng);
    }
    return mean + q * sd.cwiseProduct(z);
  }
};

}  // namespace

TEMPLATE_TEST_CASE("StreamingPCA converges to the batch principal subspace",
                   "[geometry][streaming]", float, double) {
  Source src(5);
  dendrite::geometry::StreamingPCA<TestType, kD, kK> spca({.eta0 = 0.01, .t0 = 2e4});
  const int n = 60000;
  Eigen::MatrixXd seen(kD, n);
  std::array<TestType, kD> x{};
  for (int t = 0; t < n; ++t) {
    seen.col(t) = src.next();
    for (int i = 0; i < kD; ++i) {
      x[std::size_t(i)] = static_cast<TestType>(seen(i, t));
    }
    REQUIRE(spca.step(x) == dendrite::Status::Ok);
  }
  PCA<double> batch({.n_components = kK});
  batch.fit(seen);
  const Eigen::MatrixXd w = spca.components().template cast<double>();
  const Eigen::VectorXd angles = dendrite::geometry::principal_angles(w, batch.components());
  INFO("principal angles (deg): " << (angles * 180.0 / std::numbers::pi).transpose());
  CHECK(angles.maxCoeff() < 3.0 * std::numbers::pi / 180.0);
  for (int k = 0; k < kK; ++k) {  // Sanger: ordered, unit-norm components
    CHECK(w.col(k).norm() == Approx(1.0).epsilon(0.05));
    CHECK(std::abs(w.col(k).dot(batch.components().col(k))) > 0.99);
  }
  CHECK((spca.mean().template cast<double>() - seen.rowwise().mean()).cwiseAbs().maxCoeff() < 0.05);
}

namespace {

/// Streams `scale` x (an EEG-like recording) through StreamingPCA<float, D, K> with its defaults;
/// returns its components, or an empty matrix if a step was not Ok or an output not finite.
template <int D, int K>
Eigen::MatrixXd stream_eeg(const Eigen::MatrixXd& mixed, double scale) {
  dendrite::geometry::StreamingPCA<float, D, K> spca;
  std::array<float, D> x{};
  std::array<float, K> y{};
  for (Eigen::Index t = 0; t < mixed.cols(); ++t) {
    for (int c = 0; c < D; ++c) x[std::size_t(c)] = float(scale * mixed(c, t));
    if (spca.step(x, y) != dendrite::Status::Ok) return {};
    for (float v : y) {
      if (!std::isfinite(v)) return {};
    }
  }
  return spca.components().template cast<double>();
}

template <int D, int K>
void check_eeg_scales(std::uint64_t seed) {
  const auto m = dendrite::ica::eeg_like(D, 60.0, 256.0, seed);
  PCA<double> batch({.n_components = K});
  batch.fit(m.mixed);
  Eigen::MatrixXd at_one;
  for (double scale : {1e-3, 1.0, 30.0, 1e4}) {  // volts to microvolts and raw counts
    const Eigen::MatrixXd w = stream_eeg<D, K>(m.mixed, scale);
    INFO(D << " channels, K = " << K << ", seed " << seed << ", scale " << scale);
    REQUIRE(w.size() == D * K);  // every step Ok, every output finite
    const double angle = dendrite::geometry::largest_principal_angle(w, batch.components());
    INFO("largest principal angle to the batch top-" << K << ": " << angle * 180 / std::numbers::pi
                                                      << " deg");
    CHECK(angle < 10.0 * std::numbers::pi / 180.0);
    if (scale == 1.0) at_one = w;
    if (scale > 1.0) {  // the rule does not see the units: the same W to float rounding
      CHECK(dendrite::geometry::largest_principal_angle(w, at_one) < 1e-3);
    }
  }
}

}  // namespace

// EEG-like channels carry unit-variance sources through a standard normal mixing: lambda_1 is
// about 50 at 16 channels before any change of units. Sanger's rule at a fixed rate (the rule
// before 2026-12-04, eta0 = 0.01) gave non-finite outputs there from the first seconds, with
// Status::Ok; normalised by the running power it learns the same subspace in any units.
TEST_CASE("StreamingPCA learns EEG-like recordings in any units with its defaults",
          "[geometry][streaming]") {
  check_eeg_scales<7, 2>(2);
  check_eeg_scales<16, 3>(1);
  check_eeg_scales<5, 2>(3);
}

TEST_CASE("StreamingPCA rejects a sample whose power overflows and keeps learning",
          "[geometry][streaming]") {
  Source src(9);
  dendrite::geometry::StreamingPCA<float, kD, kK> spca;
  std::array<float, kD> x{};
  std::array<float, kK> y{};
  for (int t = 0; t < 500; ++t) {
    const Eigen::VectorXd v = src.next();
    for (int i = 0; i < kD; ++i) x[std::size_t(i)] = float(v(i));
    REQUIRE(spca.step(x, y) == dendrite::Status::Ok);
  }
  const auto w = spca.components();
  const auto mean = spca.mean();
  const float power = spca.power();
  const auto y_before = y;
  x.fill(3e38f);  // finite, but |x - mean|^2 overflows
  CHECK(spca.step(x, y) == dendrite::Status::RejectedOutlier);
  CHECK(spca.components() == w);
  CHECK(spca.mean() == mean);
  CHECK(spca.power() == power);
  CHECK(y == y_before);
  // a finite spike far above the running power moves W by at most about eta0 clip
  x.fill(0.0f);
  x[3] = 1e15f;
  CHECK(spca.step(x, y) == dendrite::Status::Ok);
  const auto w2 = spca.components();
  CHECK(w2.allFinite());
  CHECK((w2 - w).cwiseAbs().maxCoeff() <= 0.02f * 4.0f * 1.5f);
}

TEST_CASE("StreamingCovariance equals the batch covariance of the same samples",
          "[geometry][streaming]") {
  Source src(9);
  dendrite::geometry::StreamingCovariance<double, kD> sc;
  Eigen::MatrixXd seen(kD, 3000);
  std::array<double, kD> x{};
  for (int t = 0; t < seen.cols(); ++t) {
    seen.col(t) = src.next();
    Eigen::Map<Eigen::VectorXd>(x.data(), kD) = seen.col(t);
    REQUIRE(sc.step(x) == dendrite::Status::Ok);
  }
  const Eigen::MatrixXd xc = seen.colwise() - seen.rowwise().mean();
  const Eigen::MatrixXd cov = xc * xc.transpose() / double(seen.cols() - 1);
  CHECK(sc.count() == 3000);
  CHECK((sc.covariance() - cov).cwiseAbs().maxCoeff() < 1e-12);
  CHECK((sc.mean() - seen.rowwise().mean()).cwiseAbs().maxCoeff() < 1e-12);
  Eigen::VectorXd variances;
  const Eigen::MatrixXd comps = sc.components(3, 0, &variances);
  PCA<double> batch({.n_components = 3});
  batch.fit(seen);
  CHECK((variances - batch.explained_variance()).cwiseAbs().maxCoeff() < 1e-10);
  CHECK(dendrite::geometry::largest_principal_angle(comps, batch.components()) < 1e-8);
  using SmallCov = dendrite::geometry::StreamingCovariance<double, 4>;
  CHECK_THROWS_AS(SmallCov().covariance(), dendrite::numerical_error);
}

TEMPLATE_TEST_CASE("StreamingCovariance of float samples stays exact over a long recording",
                   "[geometry][streaming]", float, dendrite::batchf) {
  // A float M of n samples rounds each new term to about n 6e-8 of the variance: with float
  // state the variance was off by 2e-5 after 1e5 samples, 4e-4 after 1e6 (1.6e-2 after 1e7; the float
  // count stopped at 2^24). The reference: plain sums in double of the same float samples.
  using S = dendrite::scalar_t<TestType>;
  constexpr std::size_t L = dendrite::lanes_v<TestType>;
  constexpr int D = 3;
  const long n = 100001;
  dendrite::geometry::StreamingCovariance<TestType, D> sc;
  std::mt19937_64 rng(21);
  std::normal_distribution<double> normal;
  std::vector<std::array<double, D>> s1(L, std::array<double, D>{});
  std::vector<std::array<double, D * D>> s2(L, std::array<double, D * D>{});
  std::array<TestType, D> x{};
  for (long t = 0; t < n; ++t) {
    for (std::size_t l = 0; l < L; ++l) {
      const double a = normal(rng), b = normal(rng), c = normal(rng);
      const std::array<S, D> v{S(3.0 + a), S(-1.0 + 0.5 * a + b), S(20.0 + 0.1 * c)};
      for (int i = 0; i < D; ++i) {
        dendrite::set_lane(x[std::size_t(i)], l, v[std::size_t(i)]);
        s1[l][std::size_t(i)] += double(v[std::size_t(i)]);
        for (int j = 0; j < D; ++j) {
          s2[l][std::size_t(i * D + j)] += double(v[std::size_t(i)]) * double(v[std::size_t(j)]);
        }
      }
    }
    REQUIRE(sc.step(x) == dendrite::Status::Ok);
  }
  for (std::size_t l = 0; l < L; ++l) {
    CHECK(sc.count(l) == std::uint64_t(n));
    const auto cov = sc.covariance(l);
    double worst = 0;  // relative to the diagonal: the covariances' scale
    for (int i = 0; i < D; ++i) {
      for (int j = 0; j < D; ++j) {
        const double ref = (s2[l][std::size_t(i * D + j)] -
                            s1[l][std::size_t(i)] * s1[l][std::size_t(j)] / double(n)) /
                           double(n - 1);
        const double scale = std::sqrt(std::abs(s2[l][std::size_t(i * D + i)] -
                                                s1[l][std::size_t(i)] * s1[l][std::size_t(i)] /
                                                    double(n)) *
                                       std::abs(s2[l][std::size_t(j * D + j)] -
                                                s1[l][std::size_t(j)] * s1[l][std::size_t(j)] /
                                                    double(n))) /
                             double(n - 1);
        worst = std::max(worst, std::abs(double(cov(i, j)) - ref) / scale);
      }
    }
    INFO("lane " << l << ": worst relative error " << worst);
    // the covariance is returned in float (6e-8); the double sums' cancellation of the means
    // (up to 400 against 0.01 in the third value) costs 1e-16 x 4e4 x sqrt(n) ~ 4e-9
    CHECK(worst <= 1e-6);
  }
}

TEMPLATE_TEST_CASE("streaming PCA lanes equal the scalar run on each stream",
                   "[geometry][streaming]", dendrite::batchf, dendrite::batchd) {
  using S = dendrite::scalar_t<TestType>;
  constexpr std::size_t L = dendrite::lanes_v<TestType>;
  std::vector<Source> sources;
  for (std::size_t k = 0; k < L; ++k) {
    sources.emplace_back(100 + k);
  }
  dendrite::geometry::StreamingPCA<TestType, kD, kK> lanes;
  std::vector<dendrite::geometry::StreamingPCA<S, kD, kK>> scalars(L);
  dendrite::geometry::StreamingCovariance<TestType, kD> cov_lanes;
  std::vector<dendrite::geometry::StreamingCovariance<S, kD>> cov_scalars(L);
  std::array<TestType, kD> xb{};
  std::array<S, kD> xs{};
  for (int t = 0; t < 2000; ++t) {
    for (std::size_t k = 0; k < L; ++k) {
      const Eigen::VectorXd v = sources[k].next();
      for (int i = 0; i < kD; ++i) {
        xs[std::size_t(i)] = static_cast<S>(v(i));
        dendrite::set_lane(xb[std::size_t(i)], k, xs[std::size_t(i)]);
      }
      REQUIRE(scalars[k].step(xs) == dendrite::Status::Ok);
      REQUIRE(cov_scalars[k].step(xs) == dendrite::Status::Ok);
    }
    REQUIRE(lanes.step(xb) == dendrite::Status::Ok);
    REQUIRE(cov_lanes.step(xb) == dendrite::Status::Ok);
  }
  const double tol = std::is_same_v<S, float> ? 1e-4 : 1e-12;
  for (std::size_t k = 0; k < L; ++k) {
    CHECK((lanes.components(k) - scalars[k].components()).cwiseAbs().maxCoeff() < tol);
    CHECK((cov_lanes.covariance(k) - cov_scalars[k].covariance()).cwiseAbs().maxCoeff() < tol * 10);
  }
}

TEMPLATE_TEST_CASE("streaming PCA rejects non-finite samples without touching the state",
                   "[geometry][streaming]", float, double, dendrite::batchf) {
  using S = dendrite::scalar_t<TestType>;
  dendrite::geometry::StreamingPCA<TestType, kD, kK> spca;
  dendrite::geometry::StreamingCovariance<TestType, kD> sc;
  Source src(3);
  std::array<TestType, kD> x{};
  for (int t = 0; t < 100; ++t) {
    const Eigen::VectorXd v = src.next();
    for (int i = 0; i < kD; ++i) {
      x[std::size_t(i)] = TestType(static_cast<S>(v(i)));
    }
    REQUIRE(spca.step(x) == dendrite::Status::Ok);
    REQUIRE(sc.step(x) == dendrite::Status::Ok);
  }
  const auto w_before = spca.components();
  const auto m_before = spca.mean();
  const auto c_before = sc.covariance();
  x[5] = TestType(std::numeric_limits<S>::quiet_NaN());
  x[7] = TestType(std::numeric_limits<S>::infinity());
  CHECK(spca.step(x) == dendrite::Status::RejectedNonFinite);
  CHECK(sc.step(x) == dendrite::Status::RejectedNonFinite);
  CHECK(spca.components() == w_before);
  CHECK(spca.mean() == m_before);
  CHECK(sc.covariance() == c_before);
  CHECK(sc.count() == 100);
}

TEMPLATE_TEST_CASE("streaming PCA step, project and reset allocate nothing",
                   "[geometry][streaming][rt]", float, double, dendrite::batchf, dendrite::batchd) {
  dendrite::geometry::StreamingPCA<TestType, kD, kK> spca;
  dendrite::geometry::StreamingCovariance<TestType, kD> sc;
  std::array<TestType, kD> x{};
  std::array<TestType, kK> y{};
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = dendrite::broadcast<TestType>(0.1 * double(i));
  }
  dendrite::test::NoAllocScope scope;
  for (int t = 0; t < 10; ++t) {
    (void)spca.step(x);
    (void)sc.step(x);
    spca.project(x, y);
  }
  spca.reset();
  sc.reset();
  spca.restart();
  sc.restart();
  CHECK(scope.counts().total() == 0);
  STATIC_REQUIRE(noexcept(spca.step(x)));
  STATIC_REQUIRE(noexcept(sc.step(x)));
  STATIC_REQUIRE(noexcept(spca.reset()) && noexcept(spca.restart()));
}
