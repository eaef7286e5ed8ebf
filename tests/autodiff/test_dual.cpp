// SPDX-License-Identifier: MIT
// Forward-mode duals: every function's derivative against its closed form (written here) and
// against central differences, lane by lane for batches; chain rule, second derivatives, Eigen.
#include "support/alloc_counter.hpp"

#include <cmath>
#include <functional>
#include <vector>

#include <catch2/catch.hpp>

#include <dendrite/autodiff/dual.hpp>
#include <dendrite/autodiff/dual_eigen.hpp>

namespace ad = dendrite::autodiff;
using dendrite::batchd;
using dendrite::batchf;

namespace {

/// One elementary function: how to apply it to a Dual, its value and derivative in double
/// (closed forms written independently here), and where to test it.
struct Case {
  const char* name;
  std::function<double(double)> f, df;
  std::vector<double> points;
};

std::vector<Case> cases() {
  const auto sig = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
  return {
      {"exp",
       [](double x) { return std::exp(x); },
       [](double x) { return std::exp(x); },
       {-3, -0.5, 0, 0.7, 4}},
      {"log",
       [](double x) { return std::log(x); },
       [](double x) { return 1 / x; },
       {0.01, 0.5, 1, 3, 100}},
      {"log1p",
       [](double x) { return std::log1p(x); },
       [](double x) { return 1 / (1 + x); },
       {-0.9, -0.1, 0, 1e-5, 5}},
      {"expm1",
       [](double x) { return std::expm1(x); },
       [](double x) { return std::exp(x); },
       {-2, -1e-4, 0, 1e-3, 3}},
      {"sqrt",
       [](double x) { return std::sqrt(x); },
       [](double x) { return 0.5 / std::sqrt(x); },
       {0.01, 0.3, 1, 9, 1e4}},
      {"sin",
       [](double x) { return std::sin(x); },
       [](double x) { return std::cos(x); },
       {-3, -1, 0, 0.5, 6}},
      {"cos",
       [](double x) { return std::cos(x); },
       [](double x) { return -std::sin(x); },
       {-3, -1, 0, 0.5, 6}},
      {"tanh",
       [](double x) { return std::tanh(x); },
       [](double x) { return 1 - std::tanh(x) * std::tanh(x); },
       {-4, -0.3, 0, 0.8, 3}},
      {"sigmoid", sig, [sig](double x) { return sig(x) * (1 - sig(x)); }, {-6, -1, 0, 0.4, 5}},
      {"softplus", [](double x) { return std::log1p(std::exp(x)); }, sig, {-6, -1, 0.1, 0.4, 5}},
      {"abs",
       [](double x) { return std::abs(x); },
       [](double x) { return x < 0 ? -1.0 : (x > 0 ? 1.0 : 0.0); },  // PyTorch: sign(0) = 0
       {-3, -0.2, 0, 0.5, 2}},
      {"relu",
       [](double x) { return x > 0 ? x : 0; },
       [](double x) { return x > 0 ? 1.0 : 0.0; },
       {-3, -0.2, 0.5, 2}},
      {"leaky_relu",
       [](double x) { return x > 0 ? x : 0.01 * x; },
       [](double x) { return x > 0 ? 1.0 : 0.01; },
       {-3, -0.2, 0.5, 2}},
      {"square",
       [](double x) { return x * x; },
       [](double x) { return 2 * x; },
       {-3, -0.2, 0, 0.5, 2}},
      {"pow2.5",
       [](double x) { return std::pow(x, 2.5); },
       [](double x) { return 2.5 * std::pow(x, 1.5); },
       {0.1, 1, 2, 7}},
      {"recip",
       [](double x) { return 1 / x; },
       [](double x) { return -1 / (x * x); },
       {-3, -0.2, 0.5, 2}},
  };
}

template <class D>
D apply(const std::string& name, const D& x) {
  using ad::abs, ad::cos, ad::exp, ad::expm1, ad::leaky_relu, ad::log, ad::log1p, ad::pow, ad::relu,
      ad::sigmoid, ad::sin, ad::softplus, ad::sqrt, ad::square, ad::tanh;
  if (name == "exp")
    return exp(x);
  if (name == "log")
    return log(x);
  if (name == "log1p")
    return log1p(x);
  if (name == "expm1")
    return expm1(x);
  if (name == "sqrt")
    return sqrt(x);
  if (name == "sin")
    return sin(x);
  if (name == "cos")
    return cos(x);
  if (name == "tanh")
    return tanh(x);
  if (name == "sigmoid")
    return sigmoid(x);
  if (name == "softplus")
    return softplus(x);
  if (name == "abs")
    return abs(x);
  if (name == "relu")
    return relu(x);
  if (name == "leaky_relu")
    return leaky_relu(x);
  if (name == "square")
    return square(x);
  if (name == "pow2.5")
    return pow(x, 2.5);
  return 1.0 / x;  // recip
}

}  // namespace

TEMPLATE_TEST_CASE("every function's derivative matches its closed form, lane by lane",
                   "[autodiff][dual]", float, double, batchf, batchd) {
  using S = dendrite::scalar_t<TestType>;
  constexpr std::size_t L = dendrite::lanes_v<TestType>;
  const double tol = std::is_same_v<S, float> ? 2e-5 : 1e-12;
  for (const Case& c : cases()) {
    for (std::size_t p0 = 0; p0 < c.points.size(); p0 += L) {
      TestType x{};
      for (std::size_t k = 0; k < L; ++k) {  // a different point in every lane
        dendrite::set_lane(x, k, static_cast<S>(c.points[(p0 + k) % c.points.size()]));
      }
      const ad::Dual<TestType, 1> y = apply(c.name, ad::Dual<TestType, 1>(x, 0));
      for (std::size_t k = 0; k < L; ++k) {
        const double xk = double(dendrite::lane(x, k));
        const double value = c.f(xk), slope = c.df(xk);
        INFO(c.name << " at x = " << xk);
        CHECK(double(dendrite::lane(y.a, k)) == Approx(value).epsilon(tol).margin(tol));
        CHECK(double(dendrite::lane(y.v[0], k)) == Approx(slope).epsilon(tol).margin(tol));
      }
    }
  }
}

TEST_CASE("the closed forms above agree with central differences", "[autodiff][dual]") {
  // guards the reference itself: a typo in a closed form would otherwise pass unnoticed
  for (const Case& c : cases()) {
    for (double x : c.points) {
      if ((c.name == std::string("abs") || c.name == std::string("relu") ||
           c.name == std::string("leaky_relu")) &&
          x == 0) {
        continue;  // kink
      }
      const double h = 1e-6 * std::max(1.0, std::abs(x));
      const double cd = (c.f(x + h) - c.f(x - h)) / (2 * h);
      INFO(c.name << " at x = " << x);
      CHECK(cd == Approx(c.df(x)).epsilon(1e-6).margin(1e-6));
      // and the dual in double agrees with the difference directly
      CHECK(apply(c.name, ad::Dual<double, 1>(x, 0)).v[0] == Approx(cd).epsilon(1e-6).margin(1e-6));
    }
  }
}

TEST_CASE("arithmetic, chain rule and a two-variable gradient", "[autodiff][dual]") {
  using D = ad::Dual<double, 2>;
  const double x0 = 0.7, y0 = -1.3;
  const D x(x0, 0), y(y0, 1);
  // f = (x y + 3) / (x - 2 y): df/dx = (y (x - 2y) - (x y + 3)) / (x - 2y)^2, df/dy = (x (x - 2y) +
  // 2 (x y + 3)) / (x - 2y)^2
  const D f = (x * y + 3.0) / (x - y * 2.0);
  const double den = x0 - 2 * y0, num = x0 * y0 + 3;
  CHECK(f.a == Approx(num / den));
  CHECK(f.v[0] == Approx((y0 * den - num) / (den * den)));
  CHECK(f.v[1] == Approx((x0 * den + 2 * num) / (den * den)));
  // chain: g = sin(e^x x^2), g' = cos(e^x x^2) e^x (x^2 + 2x)
  const auto g = ad::sin(ad::exp(x) * x * x);
  CHECK(g.v[0] == Approx(std::cos(std::exp(x0) * x0 * x0) * std::exp(x0) * (x0 * x0 + 2 * x0)));
  CHECK(g.v[1] == 0.0);
  // constants on either side, compound assignment, comparisons on values
  D h = 2.0 - x;
  h *= 3.0;
  h += y;
  CHECK(h.a == Approx(3 * (2 - x0) + y0));
  CHECK(h.v[0] == Approx(-3.0));
  CHECK(h.v[1] == Approx(1.0));
  CHECK((x > y));
  CHECK_FALSE((x < 0.5));
  // pow with a dual exponent: d/dy x^y = x^y log x (x > 0)
  const D xp(2.0, 0), yp(1.5, 1);
  const D pw = ad::pow(xp, yp);
  CHECK(pw.v[0] == Approx(1.5 * std::pow(2.0, 0.5)));
  CHECK(pw.v[1] == Approx(std::pow(2.0, 1.5) * std::log(2.0)));
  CHECK(ad::derivative([](auto t) { return t * t * t; }, 2.0) == Approx(12.0));
}

TEST_CASE("nested duals give second derivatives", "[autodiff][dual]") {
  using D2 = ad::Dual<ad::Dual<double, 1>, 1>;
  const double x0 = 0.9;
  // f = x^3 sin x: f' = 3x^2 sin x + x^3 cos x, f'' = 6x sin x + 6x^2 cos x - x^3 sin x
  const D2 x(ad::Dual<double, 1>(x0, 0), 0);
  const D2 f = x * x * x * ad::sin(x);
  CHECK(f.a.a == Approx(x0 * x0 * x0 * std::sin(x0)));
  CHECK(f.v[0].a == Approx(3 * x0 * x0 * std::sin(x0) + x0 * x0 * x0 * std::cos(x0)));
  CHECK(f.v[0].v[0] ==
        Approx(6 * x0 * std::sin(x0) + 6 * x0 * x0 * std::cos(x0) - x0 * x0 * x0 * std::sin(x0)));
  // exp and tanh through two levels: (e^x)'' = e^x, tanh'' = -2 tanh (1 - tanh^2)
  CHECK(ad::exp(x).v[0].v[0] == Approx(std::exp(x0)));
  const double t = std::tanh(x0);
  CHECK(ad::tanh(x).v[0].v[0] == Approx(-2 * t * (1 - t * t)));
}

TEST_CASE("duals as Eigen scalars: products, norm, gradient and Jacobian", "[autodiff][eigen]") {
  using D = ad::Dual<double, 3>;
  Eigen::Matrix3d a;
  a << 2, -1, 0.5, 0.3, 1, -2, 1, 0, 4;
  const Eigen::Vector3d x0(0.4, -1.1, 2.0);
  // gradient of x^T A x is (A + A^T) x
  const Eigen::Vector3d g = ad::gradient(
      [&](const Eigen::Matrix<D, 3, 1>& x) {
        const Eigen::Matrix<D, 3, 1> ax = a.cast<D>() * x;
        return x.dot(ax);
      },
      x0);
  CHECK((g - (a + a.transpose()) * x0).cwiseAbs().maxCoeff() < 1e-12);
  // gradient of ||x|| is x / ||x||
  const Eigen::Vector3d gn =
      ad::gradient([](const Eigen::Matrix<D, 3, 1>& x) { return x.norm(); }, x0);
  CHECK((gn - x0 / x0.norm()).cwiseAbs().maxCoeff() < 1e-12);
  // Jacobian of tanh(A x) is diag(1 - tanh^2(A x)) A
  const Eigen::Matrix3d j = ad::jacobian(
      [&](const Eigen::Matrix<D, 3, 1>& x) {
        Eigen::Matrix<D, 3, 1> y = a.cast<D>() * x;
        for (int i = 0; i < 3; ++i) {
          y(i) = ad::tanh(y(i));
        }
        return y;
      },
      x0);
  const Eigen::Vector3d t = (a * x0).array().tanh();
  const Eigen::Matrix3d expect = (1.0 - t.array().square()).matrix().asDiagonal() * a;
  CHECK((j - expect).cwiseAbs().maxCoeff() < 1e-12);
  // a 3 x 3 Dual matrix product, mixed with a double matrix
  Eigen::Matrix<D, 3, 3> m = a.cast<D>();
  m(0, 0) = D(2.0, 0);
  const Eigen::Matrix<D, 3, 3> p = m * m;
  CHECK(p(0, 0).a == Approx((a * a)(0, 0)));
  CHECK(p(0, 0).v[0] == Approx(2 * 2.0));  // d(m00^2 + ...)/dm00 = 2 m00
  const Eigen::Matrix<D, 3, 1> mixed = m * x0.cast<D>();
  CHECK(mixed(0).v[0] == Approx(x0(0)));
}

TEMPLATE_TEST_CASE("batch comparisons return lane masks and select mixes lanes", "[autodiff][dual]",
                   batchf, batchd) {
  using S = dendrite::scalar_t<TestType>;
  constexpr std::size_t L = dendrite::lanes_v<TestType>;
  TestType x{};
  for (std::size_t k = 0; k < L; ++k) {
    dendrite::set_lane(x, k, S(k % 2 == 0 ? -1.0 : 2.0));
  }
  const ad::Dual<TestType, 1> d(x, 0);
  STATIC_REQUIRE(std::is_same_v<decltype(d < d), dendrite::mask_t<TestType>>);
  const auto r = ad::relu(d);
  for (std::size_t k = 0; k < L; ++k) {
    CHECK(dendrite::lane(r.v[0], k) == (k % 2 == 0 ? S(0) : S(1)));
  }
  dendrite::test::NoAllocScope scope;
  const auto e = ad::exp(ad::tanh(d) * d);
  CHECK(scope.counts().total() == 0);
  CHECK(dendrite::lane(e.a, 1) == Approx(std::exp(std::tanh(2.0) * 2.0)).epsilon(1e-5));
}
