// SPDX-License-Identifier: MIT
// Principal angles, the torus tests and the abstraction measures, against geometry worked out by
// hand (see the comments next to each expected value).
#include "support/alloc_counter.hpp"

#include <cmath>
#include <numbers>
#include <vector>

#include <catch2/catch.hpp>

#include <dendrite/geometry/abstraction.hpp>
#include <dendrite/geometry/subspace.hpp>
#include <dendrite/geometry/torus.hpp>
#include <dendrite/geometry/torus_generators.hpp>

#include "support/random.hpp"

namespace g = dendrite::geometry;
using std::numbers::pi;

namespace {

/// span{e1, e2} and span{e1, cos t e2 + sin t e3} in R^n (then rotated by a random orthogonal
/// map): principal angles exactly (0, t).
std::pair<Eigen::MatrixXd, Eigen::MatrixXd> planes_at_angle(double t, Eigen::Index n,
                                                            std::uint64_t seed) {
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(n, 2), b = Eigen::MatrixXd::Zero(n, 2);
  a(0, 0) = a(1, 1) = 1.0;
  b(0, 0) = 1.0;
  b(1, 1) = std::cos(t);
  b(2, 1) = std::sin(t);
  const Eigen::MatrixXd r = dendrite::test::random_orthonormal(n, n, seed);
  return {r * a, r * b};
}

}  // namespace

TEST_CASE("principal angles of known subspaces, from 1e-8 to 90 degrees", "[geometry][subspace]") {
  for (double t : {1e-8, 1e-5, 0.3, 1.0, pi / 4, 1.5}) {
    auto [a, b] = planes_at_angle(t, 7, 3);
    const Eigen::VectorXd th = g::principal_angles(a, b);
    INFO("t = " << t << ", got " << th.transpose());
    REQUIRE(th.size() == 2);
    CHECK(th(0) < 1e-14 + 1e-8 * 0);                 // shared direction
    CHECK(std::abs(th(1) - t) <= 1e-14 + 1e-7 * t);  // relative accuracy even at t = 1e-8
  }
  // exactly orthogonal and exactly equal, in the canonical basis
  Eigen::MatrixXd e = Eigen::MatrixXd::Identity(5, 5);
  CHECK(g::principal_angles(e.leftCols(2), e.middleCols(2, 2)) == Eigen::Vector2d(pi / 2, pi / 2));
  CHECK(g::principal_angles(e.leftCols(2), e.leftCols(2)).cwiseAbs().maxCoeff() == 0.0);
  // different dimensions: min(p, q) angles
  CHECK(g::principal_angles(e.col(0), e.leftCols(3)).size() == 1);
  CHECK(g::principal_angles(e.leftCols(3), e.col(0))(0) == 0.0);
  CHECK(g::principal_angles(e.col(4), e.leftCols(3))(0) == pi / 2);
}

TEST_CASE("principal angles ignore the choice of spanning vectors and match arccos of the SVD",
          "[geometry][subspace]") {
  const Eigen::MatrixXd a = dendrite::test::random_matrix(20, 3, 51);
  const Eigen::MatrixXd b = dendrite::test::random_matrix(20, 4, 52);
  const Eigen::VectorXd th = g::principal_angles(a, b);
  // mix the columns of each: same subspaces
  const Eigen::VectorXd th2 = g::principal_angles(a * dendrite::test::random_matrix(3, 3, 53),
                                                  b * dendrite::test::random_matrix(4, 4, 54));
  CHECK((th - th2).cwiseAbs().maxCoeff() < 1e-12);
  CHECK((g::principal_angles(b, a) - th).cwiseAbs().maxCoeff() < 1e-14);  // symmetric
  // independent formula (fine away from 0): arccos of the singular values of Qa^T Qb
  Eigen::HouseholderQR<Eigen::MatrixXd> qa(a), qb(b);
  const Eigen::MatrixXd qa1 = qa.householderQ() * Eigen::MatrixXd::Identity(20, 3);
  const Eigen::MatrixXd qb1 = qb.householderQ() * Eigen::MatrixXd::Identity(20, 4);
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(qa1.transpose() * qb1);
  for (Eigen::Index i = 0; i < 3; ++i) {
    CHECK(th(i) == Approx(std::acos(svd.singularValues()(i))).epsilon(1e-10));
  }
}

TEST_CASE("orthonormal basis finds the rank, and the projector is idempotent",
          "[geometry][subspace]") {
  Eigen::MatrixXd v = dendrite::test::random_matrix(6, 3, 61);
  v.col(2) = 2.0 * v.col(0) - v.col(1);  // rank 2
  const Eigen::MatrixXd q = g::orthonormal_basis(v);
  REQUIRE(q.cols() == 2);
  CHECK((q.transpose() * q - Eigen::Matrix2d::Identity()).cwiseAbs().maxCoeff() < 1e-14);
  const Eigen::MatrixXd p = g::projector(q);
  CHECK((p * p - p).cwiseAbs().maxCoeff() < 1e-14);
  CHECK((p * v - v).cwiseAbs().maxCoeff() < 1e-13);
  CHECK_THROWS_WITH(g::principal_angles(Eigen::MatrixXd::Ones(3, 1), Eigen::MatrixXd::Ones(4, 1)),
                    Catch::Contains("same space, got 3 and 4 rows"));
  CHECK_THROWS_AS(g::orthonormal_basis(Eigen::MatrixXd::Zero(3, 2)), dendrite::numerical_error);
  Eigen::MatrixXd nan = Eigen::MatrixXd::Ones(3, 2);
  nan(0, 1) = std::nan("");
  CHECK_THROWS_AS(g::orthonormal_basis(nan), dendrite::numerical_error);
}

TEST_CASE("noiseless tori give the statistics their geometry predicts", "[geometry][torus]") {
  const g::TorusGridSpec spec{.units = 20, .n1 = 12, .n2 = 10, .noise = 0.0, .seed = 4};
  const auto in_pcs = [](const g::AngleGrid& grid, Eigen::Index m) {
    g::PCA<double> pca({.n_components = m});
    pca.fit(grid.activity);
    return Eigen::MatrixXd(pca.transform(grid.activity));
  };
  SECTION("Clifford: all rings parallel, equal radii, families orthogonal") {
    const g::AngleGrid grid = g::clifford_torus(spec, 1.0, 1.5);
    const Eigen::MatrixXd y = in_pcs(grid, 4);
    const auto r1 = g::fit_rings(y, grid.n1, grid.n2, g::RingFamily::Theta1);
    const auto r2 = g::fit_rings(y, grid.n1, grid.n2, g::RingFamily::Theta2);
    CHECK(g::parallelism(r1).max_largest_angle < 1e-6);
    CHECK(g::parallelism(r2).max_largest_angle < 1e-6);
    CHECK(g::parallelism(r1).radius_cv < 1e-12);
    CHECK(r1[0].radius == Approx(1.0));  // RMS distance of a uniform circle = its radius
    CHECK(r2[0].radius == Approx(1.5));
    CHECK(g::orthogonality(r1, r2) < 1e-12);
  }
  SECTION("standard: theta1-rings parallel with varying radii, theta2-rings rotate, planes meet") {
    const double big = 2.0, small = 1.0;
    const g::AngleGrid grid = g::standard_torus(spec, big, small);
    const Eigen::MatrixXd y = in_pcs(grid, 3);
    const auto r1 = g::fit_rings(y, grid.n1, grid.n2, g::RingFamily::Theta1);
    const auto r2 = g::fit_rings(y, grid.n1, grid.n2, g::RingFamily::Theta2);
    const auto p1 = g::parallelism(r1);
    CHECK(p1.max_largest_angle < 1e-6);
    // radii R + r cos(2 pi j / n2): mean R, population sd r / sqrt(2)
    CHECK(p1.radius_cv == Approx(small / std::sqrt(2.0) / big).epsilon(1e-9));
    // theta2-ring at a_i lies in span{(cos a_i, sin a_i, 0), e3}: largest angle between the planes
    // at a_i and a_k is arccos|cos(a_i - a_k)|, a_i = 2 pi i / n1
    double expected = 0;
    int pairs = 0;
    for (int i = 0; i < spec.n1; ++i) {
      for (int k = i + 1; k < spec.n1; ++k) {
        expected += std::acos(std::abs(std::cos(2.0 * pi * (i - k) / double(spec.n1))));
        ++pairs;
      }
    }
    CHECK(g::parallelism(r2).mean_largest_angle == Approx(expected / pairs).epsilon(1e-9));
    CHECK(g::orthogonality(r1, r2) == Approx(0.5).epsilon(1e-9));  // angles 0 and 90 deg
  }
}

TEST_CASE("analyze_torus classifies noisy Clifford, standard and pure-noise grids over 10 seeds",
          "[geometry][torus]") {
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    const g::TorusGridSpec spec{.units = 100, .n1 = 12, .n2 = 12, .noise = 0.1, .seed = seed};
    const g::TorusTestOptions opt{.shuffles = 40, .seed = seed, .radius_surrogates = 20};
    INFO("seed " << seed);
    const auto cliff = g::analyze_torus(g::clifford_torus(spec), opt);
    INFO("Clifford: " << cliff.reason);
    CHECK(cliff.classification == g::TorusClass::Clifford);
    CHECK(cliff.orthogonality < 0.05);
    CHECK(cliff.theta1_rings.mean_largest_angle < 10.0 * pi / 180);
    CHECK(cliff.theta2_rings.mean_largest_angle < 10.0 * pi / 180);
    CHECK(cliff.orthogonality_p < 0.05);

    const auto stand = g::analyze_torus(g::standard_torus(spec), opt);
    INFO("standard: " << stand.reason);
    CHECK(stand.classification == g::TorusClass::Standard);
    CHECK(stand.theta1_rings.mean_largest_angle < 10.0 * pi / 180);  // the parallel family
    CHECK(stand.theta2_rings.mean_largest_angle > 30.0 * pi / 180);  // the rotating family
    CHECK(stand.orthogonality == Approx(0.5).margin(0.1));

    g::AngleGrid noise{dendrite::test::random_matrix(100, 144, seed + 1000), 12, 12};
    const auto none = g::analyze_torus(noise, opt);
    INFO("noise: " << none.reason);
    CHECK(none.classification == g::TorusClass::Neither);

    // a non-torus with the Clifford torus's variance in as many dimensions
    const auto cloud = g::analyze_torus(g::gaussian_cloud(spec, 4, std::sqrt(0.5)), opt);
    INFO("cloud: " << cloud.reason);
    CHECK(cloud.classification == g::TorusClass::Neither);
  }
}

TEST_CASE("gaussian_cloud spans its dimensions with the stated variance, whatever the angles",
          "[geometry][torus]") {
  for (const Eigen::Index dims : {3, 5}) {
    const g::TorusGridSpec spec{.units = 17, .n1 = 13, .n2 = 11, .noise = 0.0, .seed = 5};
    const double sd = 0.7;
    const g::AngleGrid c = g::gaussian_cloud(spec, dims, sd);
    REQUIRE(c.activity.rows() == 17);
    REQUIRE(c.activity.cols() == 13 * 11);
    const Eigen::MatrixXd centred = c.activity.colwise() - c.activity.rowwise().mean();
    const Eigen::MatrixXd cov = centred * centred.transpose() / double(c.activity.cols() - 1);
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(cov);
    const Eigen::VectorXd ev = eig.eigenvalues().reverse();
    INFO("dims " << dims << ", spectrum " << ev.transpose());
    CHECK(ev(dims - 1) > 0.1 * sd * sd);  // every dimension used
    CHECK(std::abs(ev(dims)) < 1e-12 * ev(0));  // and no more (no noise asked): rounding only
    // total variance dims sd^2: a chi-square with dims (143 - 1) degrees of freedom, sd ~ 7 %
    CHECK(cov.trace() == Approx(double(dims) * sd * sd).epsilon(0.25));
  }
  CHECK_THROWS_AS(g::gaussian_cloud({.units = 10, .n1 = 4, .n2 = 4}, 0), dendrite::dimension_error);
}

TEST_CASE("analyze_torus tells a flat torus with unequal radii from a Clifford torus",
          "[geometry][torus]") {
  // a product of two circles in orthogonal planes with radii 1 and r: flat, parallel and
  // orthogonal like a Clifford torus, but only r near 1 treats both angles alike
  const g::TorusGridSpec exact{.units = 40, .n1 = 12, .n2 = 12, .noise = 0.0, .seed = 1};
  const auto a = g::analyze_torus(g::clifford_torus(exact, 1.0, 0.2), {.shuffles = 20});
  CHECK(a.radius_ratio == Approx(0.2).epsilon(1e-9));  // ring radius = circle radius, exactly
  CHECK(a.classification == g::TorusClass::FlatUnequal);
  CHECK(std::string(g::to_string(a.classification)) == "flat torus, unequal radii");
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    // the case found from outside: radii 1 and 0.2 in 40 units with small noise, which the
    // verdict called Clifford-like before it checked the radii (with noise 0.1 per unit the
    // small circle sinks below the noise's top components and the verdict is "neither")
    const g::TorusGridSpec spec{.units = 40, .n1 = 12, .n2 = 12, .noise = 0.03, .seed = seed};
    const g::TorusTestOptions opt{.shuffles = 40, .seed = seed};
    INFO("seed " << seed);
    const auto unequal = g::analyze_torus(g::clifford_torus(spec, 1.0, 0.2), opt);
    INFO("radii 1 and 0.2: " << unequal.reason);
    CHECK(unequal.classification == g::TorusClass::FlatUnequal);
    CHECK(unequal.radius_ratio == Approx(0.2).margin(0.05));
    const auto near = g::analyze_torus(g::clifford_torus(spec, 1.0, 0.7), opt);  // inside [1/2, 2]
    INFO("radii 1 and 0.7: " << near.reason);
    CHECK(near.classification == g::TorusClass::Clifford);
    CHECK(near.radius_ratio == Approx(0.7).margin(0.1));
  }
}

TEST_CASE("the radius ratio's p-value comes from equal-radii surrogates with the grid's noise",
          "[geometry][torus]") {
  // noiseless radii 1 and 0.2: every equal-radii surrogate has ratio 1 to rounding, so none is as
  // far from 1 as 0.2 and p = 1 / (1 + surrogates) exactly
  const g::TorusGridSpec exact{.units = 40, .n1 = 12, .n2 = 12, .noise = 0.0, .seed = 3};
  const auto a = g::analyze_torus(g::clifford_torus(exact, 1.0, 0.2),
                                  {.shuffles = 20, .radius_surrogates = 29});
  CHECK(a.noise_sd < 1e-6);
  CHECK(a.radius_ratio_p == Approx(1.0 / 30.0).epsilon(1e-12));
  CHECK(a.classification == g::TorusClass::FlatUnequal);

  // the noise estimate: iid N(0, 0.1^2) per unit in 100 units (the spectrum past 8 components,
  // rescaled) recovers 0.1
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const g::TorusGridSpec spec{.units = 100, .n1 = 12, .n2 = 12, .noise = 0.1, .seed = seed};
    const auto b = g::analyze_torus(g::clifford_torus(spec), {.shuffles = 0, .radius_surrogates = 0});
    CHECK(b.noise_sd == Approx(0.1).epsilon(0.08));
    CHECK(b.radius_ratio_p == 1.0);  // no surrogates asked for
  }

  // calibration under the null: equal radii with noise; p must not fall below 0.05 much more often
  // than 5 % of the time (20 grids: at most 3, which a uniform p exceeds with probability 1.6 %)
  int small_p = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const g::TorusGridSpec spec{.units = 40, .n1 = 10, .n2 = 10, .noise = 0.15, .seed = seed};
    const auto c = g::analyze_torus(g::clifford_torus(spec), {.shuffles = 0,
                                                             .seed = seed,
                                                             .radius_surrogates = 40});
    INFO("seed " << seed << ": " << c.reason);
    CHECK(c.radius_ratio_p > 0);
    CHECK(c.radius_ratio_p <= 1);
    small_p += c.radius_ratio_p < 0.05;
  }
  CHECK(small_p <= 3);

  // and with power: radii 1 and 0.4 under the same noise are told apart every time
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const g::TorusGridSpec spec{.units = 40, .n1 = 10, .n2 = 10, .noise = 0.15, .seed = seed};
    const auto d = g::analyze_torus(g::clifford_torus(spec, 1.0, 0.4),
                                    {.shuffles = 0, .seed = seed, .radius_surrogates = 40});
    INFO("seed " << seed << ": " << d.reason);
    CHECK(d.radius_ratio_p < 0.05);
  }
}

TEST_CASE("analyze_torus finds the circles' planes when a harmonic outranks one of them",
          "[geometry][torus]") {
  // r1 (cos a, sin a) u1,u2 + h (cos 2a, sin 2a) u5,u6 + r2 (cos b, sin b) u3,u4 with h = 1.3 > r1 = 1
  // > r2 = 0.9: the top 4 components are theta1's harmonic and fundamental, and theta2's circle
  // sits in components 5-6. Built here from the definition, in 40 units, noise 0.03.
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const Eigen::Index n1 = 12, n2 = 12, units = 40;
    const Eigen::MatrixXd u = dendrite::test::random_orthonormal(units, 6, seed);
    const Eigen::MatrixXd noise = 0.03 * dendrite::test::random_matrix(units, n1 * n2, seed + 50);
    g::AngleGrid grid{Eigen::MatrixXd(units, n1 * n2), n1, n2};
    for (Eigen::Index j = 0; j < n2; ++j) {
      for (Eigen::Index i = 0; i < n1; ++i) {
        const double a = 2 * pi * double(i) / double(n1), b = 2 * pi * double(j) / double(n2);
        grid.activity.col(i + n1 * j) =
            std::cos(a) * u.col(0) + std::sin(a) * u.col(1) + 0.9 * std::cos(b) * u.col(2) +
            0.9 * std::sin(b) * u.col(3) + 1.3 * std::cos(2 * a) * u.col(4) +
            1.3 * std::sin(2 * a) * u.col(5) + noise.col(i + n1 * j);
      }
    }
    INFO("seed " << seed);
    const g::TorusTestOptions opt{.shuffles = 40, .seed = seed, .radius_surrogates = 20};
    const auto aut = g::analyze_torus(grid, opt);
    INFO("auto: " << aut.reason);
    // the top 4 components hold theta1's plane (r1^2 = 1) but not theta2's (0.81): 1 / 1.81
    CHECK(aut.fundamental_capture == Approx(1.0 / 1.81).margin(0.03));
    CHECK(aut.space == g::TorusSpace::Fundamentals);
    CHECK(aut.classification == g::TorusClass::Clifford);
    CHECK(aut.radius_ratio == Approx(0.9).margin(0.03));
    CHECK(aut.orthogonality < 0.05);
    auto top = opt;
    top.space = g::TorusSpace::TopPcs;  // the top 4 alone: theta2's rings shrink to noise
    const auto pcs = g::analyze_torus(grid, top);
    INFO("top 4 components: " << pcs.reason);
    CHECK(pcs.space == g::TorusSpace::TopPcs);
    CHECK(pcs.classification != g::TorusClass::Clifford);
  }
}

TEST_CASE("a ring of one angle is not a torus", "[geometry][torus]") {
  // the activity of a working-memory network before the second stimulus: a circle in theta1,
  // the same for every theta2 (its theta2-rings are points, with arbitrary planes)
  const g::TorusGridSpec spec{.units = 30, .n1 = 12, .n2 = 9, .noise = 0.0, .seed = 2};
  const auto a = g::analyze_torus(g::clifford_torus(spec, 1.0, 0.0), {.shuffles = 20});
  INFO(a.reason);
  CHECK(a.classification == g::TorusClass::Neither);
  CHECK(a.theta2_rings.mean_radius < 1e-12);  // zero up to the rounding of the PCA
  CHECK(a.reason.find("theta2 does not move the activity") != std::string::npos);
  CHECK(a.radius_ratio_p == 1.0);  // no radius test on a ring
}

TEST_CASE("analyze_torus rejects bad grids with a clear error", "[geometry][torus]") {
  CHECK_THROWS_WITH(g::analyze_torus({Eigen::MatrixXd::Ones(5, 6), 2, 3}),
                    Catch::Contains("at least 3 x 3 grid points, got 2 x 3"));
  CHECK_THROWS_WITH(g::analyze_torus({Eigen::MatrixXd::Ones(5, 10), 3, 3}),
                    Catch::Contains("expected n1 * n2 = 9 columns, got 10"));
  Eigen::MatrixXd nan = dendrite::test::random_matrix(5, 9, 1);
  nan(2, 2) = std::nan("");
  CHECK_THROWS_AS(g::analyze_torus({nan, 3, 3}), dendrite::numerical_error);
  CHECK_THROWS_AS(g::clifford_torus({.units = 3}), dendrite::dimension_error);
}

TEST_CASE("parallelism score of hand-made geometries", "[geometry][abstraction]") {
  // square: a = (0,0), b = (1,0) on side 0; c = (0,1), d = (1,1) on side 1
  Eigen::MatrixXd sq(2, 4);
  sq << 0, 1, 0, 1, 0, 0, 1, 1;
  CHECK(g::parallelism_score(sq, {0, 0, 1, 1}) == Approx(1.0));   // a->c, b->d both (0, 1)
  CHECK(g::parallelism_score(sq, {0, 1, 1, 0}) == Approx(-1.0));  // every pairing is anti-parallel
  // cube of 3 binary variables: a cardinal dichotomy is perfectly parallel, XOR is not
  const Eigen::MatrixXd u = dendrite::test::random_orthonormal(10, 3, 71);
  Eigen::MatrixXd means(10, 8);
  std::vector<int> v1(8), x12(8);
  for (int c = 0; c < 8; ++c) {
    const double s1 = (c & 1) ? 1 : -1, s2 = (c & 2) ? 1 : -1, s3 = (c & 4) ? 1 : -1;
    means.col(c) = s1 * u.col(0) + s2 * u.col(1) + s3 * u.col(2);
    v1[std::size_t(c)] = (c & 1) ? 1 : 0;
    x12[std::size_t(c)] = ((c & 1) != 0) != ((c & 2) != 0) ? 1 : 0;
  }
  CHECK(g::parallelism_score(means, v1) == Approx(1.0).epsilon(1e-12));
  CHECK(g::parallelism_score(means, x12) < 0.5);
  CHECK_THROWS_WITH(g::parallelism_score(means, {0, 1}),
                    Catch::Contains("one side label per condition (8), got 2"));
  CHECK_THROWS_WITH(g::parallelism_score(means, {0, 0, 0, 0, 0, 1, 1, 1}),
                    Catch::Contains("equal"));
}

TEST_CASE("CCGP is high for a factorised variable and low for XOR", "[geometry][abstraction]") {
  const Eigen::MatrixXd u = dendrite::test::random_orthonormal(20, 3, 81);
  dendrite::test::SeededStream s(82);
  const int per = 30;
  Eigen::MatrixXd trials(20, 8 * per);
  std::vector<int> cond(8 * per), v1(8), x12(8);
  for (int c = 0; c < 8; ++c) {
    const double s1 = (c & 1) ? 1 : -1, s2 = (c & 2) ? 1 : -1, s3 = (c & 4) ? 1 : -1;
    v1[std::size_t(c)] = (c & 1) ? 1 : 0;
    x12[std::size_t(c)] = ((c & 1) != 0) != ((c & 2) != 0) ? 1 : 0;
    for (int t = 0; t < per; ++t) {
      Eigen::VectorXd noise(20);
      for (auto& z : noise) {
        z = s.normal(0.0, 0.3);
      }
      trials.col(c * per + t) = s1 * u.col(0) + s2 * u.col(1) + s3 * u.col(2) + noise;
      cond[std::size_t(c * per + t)] = c;
    }
  }
  CHECK(g::ccgp(trials, cond, v1) > 0.95);
  CHECK(g::ccgp(trials, cond, x12) < 0.6);
  CHECK_THROWS_AS(g::ccgp(trials, std::vector<int>(3, 0), v1), dendrite::dimension_error);
}
