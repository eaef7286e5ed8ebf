// SPDX-License-Identifier: MIT
// Elementwise math over every Real type, checked lane by lane against the standard library
// evaluated in long double. Each function states the worst error it may have, in ULP.
#include "support/alloc_counter.hpp"

#include <array>
#include <cfenv>
#include <cmath>
#include <functional>
#include <random>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <dendrite/core.hpp>
#include <dendrite/nn/detail/gate_activations.hpp>

#include "support/ulp.hpp"

namespace {

using dendrite::batchd;
using dendrite::batchf;
using dendrite::lanes_v;
using dendrite::scalar_t;

template <class S>
constexpr S tiny_v() {
  return std::is_same_v<S, float> ? S(1e-30f) : S(1e-300);
}
template <class S>
constexpr S huge_v() {
  return std::is_same_v<S, float> ? S(1e30f) : S(1e300);
}

/// Magnitudes from lo to hi, log-spaced, both signs if `negative`, plus zero.
template <class S>
std::vector<S> log_sweep(double lo, double hi, int n, bool negative, bool zero = true) {
  std::vector<S> v;
  if (zero) {
    v.push_back(S(0));
  }
  for (int i = 0; i < n; ++i) {
    const double t = double(i) / double(n - 1);
    const S x = static_cast<S>(std::exp(std::log(lo) + t * (std::log(hi) - std::log(lo))));
    v.push_back(x);
    if (negative) {
      v.push_back(-x);
    }
  }
  return v;
}

/// Evenly spaced values in [lo, hi].
template <class S>
std::vector<S> lin_sweep(double lo, double hi, int n) {
  std::vector<S> v;
  for (int i = 0; i < n; ++i) {
    v.push_back(static_cast<S>(lo + (hi - lo) * double(i) / double(n - 1)));
  }
  return v;
}

template <class S>
std::vector<S> join(std::vector<S> a, const std::vector<S>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

/// Applies f to the inputs lanes_v<T> at a time and returns the worst ULP error against ref.
template <class T, class F, class Ref>
double worst_ulp(const std::vector<scalar_t<T>>& inputs, F f, Ref ref, scalar_t<T>* worst_at) {
  using S = scalar_t<T>;
  constexpr std::size_t L = lanes_v<T>;
  std::vector<S> in = inputs;
  while (in.size() % L != 0) {
    in.push_back(in.back());
  }
  std::vector<S> out(in.size());
  for (std::size_t i = 0; i < in.size(); i += L) {
    dendrite::store(out.data() + i, f(dendrite::load<T>(in.data() + i)));
  }
  double worst = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const long double r = ref(static_cast<long double>(in[i]));
    double e = dendrite::test::ulp_error(out[i], r);
    // Results that would be denormal may be flushed to zero (documented in core/math.hpp): judge
    // them on the absolute scale of the smallest normal number instead.
    if (std::abs(r) < std::numeric_limits<S>::min() &&
        std::abs(static_cast<long double>(out[i]) - r) <= std::numeric_limits<S>::min()) {
      e = 0;
    }
    if (!(e <= worst)) {
      worst = e;
      *worst_at = in[i];
    }
  }
  return worst;
}

#define CHECK_ULP(inputs, expr, ref_expr, bound)                     \
  do {                                                               \
    scalar_t<TestType> at{};                                         \
    const double e = worst_ulp<TestType>(                            \
        inputs, [](const TestType& x) { return expr; },              \
        [](long double x) -> long double { return ref_expr; }, &at); \
    INFO(#expr << ": worst error " << e << " ULP at x = " << at);    \
    CHECK(e <= (bound));                                             \
  } while (false)

}  // namespace

TEMPLATE_TEST_CASE("Real types and their traits", "[core][traits]", float, double, batchf, batchd) {
  STATIC_REQUIRE(dendrite::Real<TestType>);
  STATIC_REQUIRE(std::is_floating_point_v<scalar_t<TestType>>);
  if constexpr (dendrite::is_batch_v<TestType>) {
    STATIC_REQUIRE(lanes_v<TestType> == TestType::size);
    STATIC_REQUIRE(lanes_v<TestType> >= 2);
  } else {
    STATIC_REQUIRE(lanes_v<TestType> == 1);
  }
  STATIC_REQUIRE(std::is_same_v<decltype(TestType(1) < TestType(2)), dendrite::mask_t<TestType>>);
}

TEST_CASE("Real rejects non floating-point and extended types", "[core][traits]") {
  STATIC_REQUIRE_FALSE(dendrite::Real<int>);
  STATIC_REQUIRE_FALSE(dendrite::Real<long double>);
  STATIC_REQUIRE_FALSE(dendrite::Real<xsimd::batch<int>>);
  STATIC_REQUIRE_FALSE(dendrite::Real<float*>);
  STATIC_REQUIRE(dendrite::Real<xsimd::batch<float, xsimd::sse2>>);
}

TEMPLATE_TEST_CASE("transcendental functions match the standard library per lane", "[core][math]",
                   float, double, batchf, batchd) {
  using S = scalar_t<TestType>;
  constexpr bool is_f = std::is_same_v<S, float>;
  const double exp_hi = is_f ? 88.0 : 709.0;
  const std::vector<S> exp_in =
      join(log_sweep<S>(1e-6, exp_hi, 400, true), lin_sweep<S>(-5, 5, 101));
  const std::vector<S> pos_in =
      join(log_sweep<S>(double(tiny_v<S>()), double(huge_v<S>()), 600, false, false),
           lin_sweep<S>(0.5, 2.0, 151));
  const std::vector<S> log1p_in =
      join(log_sweep<S>(double(tiny_v<S>()), double(huge_v<S>()), 600, false),
           join(lin_sweep<S>(-0.999, 1.0, 201), log_sweep<S>(1e-12, 0.5, 100, true, false)));
  const std::vector<S> trig_in =
      join(log_sweep<S>(1e-20, 100.0, 400, true), lin_sweep<S>(-7, 7, 301));
  const std::vector<S> tanh_in =
      join(log_sweep<S>(1e-20, 1e4, 400, true), lin_sweep<S>(-3, 3, 121));

  // Worst errors allowed. xsimd's batch kernels are a few ULP; glibc's scalar ones are <= 1-2 ULP.
  CHECK_ULP(exp_in, dendrite::exp(x), std::exp(x), 2.0);
  CHECK_ULP(pos_in, dendrite::log(x), std::log(x), 2.0);
  CHECK_ULP(log1p_in, dendrite::log1p(x), std::log1p(x), 2.0);
  CHECK_ULP(exp_in, dendrite::expm1(x), std::expm1(x), 2.0);
  CHECK_ULP(pos_in, dendrite::sqrt(x), std::sqrt(x), 0.5);
  CHECK_ULP(trig_in, dendrite::sin(x), std::sin(x), 2.0);
  CHECK_ULP(trig_in, dendrite::cos(x), std::cos(x), 2.0);
  CHECK_ULP(tanh_in, dendrite::tanh(x), std::tanh(x), 3.0);
}

TEMPLATE_TEST_CASE("activations are accurate and never overflow", "[core][math]", float, double,
                   batchf, batchd) {
  using S = scalar_t<TestType>;
  const std::vector<S> in = join(log_sweep<S>(1e-20, 1e4, 500, true), lin_sweep<S>(-10, 10, 201));
  // Reference: the definitions, evaluated in long double.
  CHECK_ULP(in, dendrite::sigmoid(x), 1.0L / (1.0L + std::exp(-x)), 3.0);
  CHECK_ULP(in, dendrite::softplus(x),
            x > 40 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)), 3.0);
  CHECK_ULP(in, dendrite::relu(x), x > 0 ? x : 0.0L, 0.0);
  CHECK_ULP(in, dendrite::leaky_relu(x), x > 0 ? x : static_cast<long double>(S(0.01)) * x, 0.5);
  CHECK_ULP(in, dendrite::leaky_relu(x, S(0.2)), x > 0 ? x : static_cast<long double>(S(0.2)) * x,
            0.5);
  CHECK_ULP(in, dendrite::abs(x), std::fabs(x), 0.0);
  CHECK_ULP(in, dendrite::square(x), x * x, 0.5);

  // Huge and non-finite arguments give the exact limits; NaN stays NaN.
  {
    using L = std::numeric_limits<S>;
    const std::vector<S> edge = {L::max(),       -L::max(), L::infinity(),
                                 -L::infinity(), S(1e4),    S(-1e4)};
    for (S v : edge) {
      const TestType x = dendrite::broadcast<TestType>(double(v));
      INFO("x = " << v);
      CHECK(dendrite::lane(dendrite::exp(x), 0) == (v > 0 ? L::infinity() : S(0)));
      CHECK(dendrite::lane(dendrite::expm1(x), 0) == (v > 0 ? L::infinity() : S(-1)));
      CHECK(dendrite::lane(dendrite::tanh(x), 0) == (v > 0 ? S(1) : S(-1)));
      CHECK(dendrite::lane(dendrite::sigmoid(x), 0) == (v > 0 ? S(1) : S(0)));
      CHECK(dendrite::lane(dendrite::softplus(x), 0) == (v > 0 ? v : S(0)));
    }
    const TestType nan = dendrite::broadcast<TestType>(double(L::quiet_NaN()));
    for (const TestType& r :
         {dendrite::exp(nan), dendrite::expm1(nan), dendrite::tanh(nan), dendrite::sigmoid(nan),
          dendrite::softplus(nan), dendrite::log(nan)}) {
      CHECK(std::isnan(dendrite::lane(r, 0)));
    }
  }

  // Large arguments: the limits are exact, and nothing is NaN or Inf.
  for (double big : {1e4, 1e30 * (std::is_same_v<S, float> ? 1.0 : 1e200)}) {
    const TestType p = dendrite::broadcast<TestType>(big);
    const TestType n = dendrite::broadcast<TestType>(-big);
    CHECK(dendrite::lane(dendrite::sigmoid(p), 0) == S(1));
    CHECK(dendrite::lane(dendrite::sigmoid(n), 0) == S(0));
    CHECK(dendrite::lane(dendrite::softplus(p), 0) == static_cast<S>(big));
    CHECK(dendrite::lane(dendrite::softplus(n), 0) == S(0));
  }
}

TEMPLATE_TEST_CASE("pow, fma, min, max, clamp and select match their definitions", "[core][math]",
                   float, double, batchf, batchd) {
  using S = scalar_t<TestType>;
  constexpr std::size_t L = lanes_v<TestType>;
  // pow(x, y) = exp(y log x): a 1-ULP error in log x becomes |y ln x| ULP in the result, so the
  // bound is 3 + |y ln x| ULP (documented in core/math.hpp).
  double worst_excess = -1e9;
  for (double base : {1e-3, 0.5, 1.0, 1.7, 10.0, 100.0}) {
    for (double expo : {-8.0, -2.5, -1.0, 0.0, 0.5, 1.0, 3.0, 7.25}) {
      const TestType r =
          dendrite::pow(dendrite::broadcast<TestType>(base), dendrite::broadcast<TestType>(expo));
      const long double xs = static_cast<long double>(S(base)),
                        ys = static_cast<long double>(S(expo));
      const double bound = 3.0 + static_cast<double>(std::abs(ys * std::log(xs)));
      for (std::size_t k = 0; k < L; ++k) {
        const double e = dendrite::test::ulp_error(dendrite::lane(r, k), std::pow(xs, ys));
        worst_excess = std::max(worst_excess, e - bound);
      }
    }
  }
  INFO("pow: worst error minus its bound " << worst_excess << " ULP");
  CHECK(worst_excess <= 0.0);

  TestType a{}, b{}, c{};
  for (std::size_t k = 0; k < L; ++k) {
    dendrite::set_lane(a, k, S(0.1) * S(k) - S(0.3));
    dendrite::set_lane(b, k, S(1.0) / S(3 + k));
    dendrite::set_lane(c, k, S(-0.2) + S(0.05) * S(k));
  }
  const TestType f = dendrite::fma(a, b, c);
  const TestType mn = dendrite::min(a, c);
  const TestType mx = dendrite::max(a, c);
  const TestType cl =
      dendrite::clamp(a, dendrite::broadcast<TestType>(-0.25), dendrite::broadcast<TestType>(0.25));
  const TestType sel = dendrite::select<TestType>(a < c, a, b);
  for (std::size_t k = 0; k < L; ++k) {
    const S ak = dendrite::lane(a, k), bk = dendrite::lane(b, k), ck = dendrite::lane(c, k);
#if defined(__FMA__)
    CHECK(dendrite::lane(f, k) == std::fma(ak, bk, ck));  // fused: exactly one rounding
#else
    if constexpr (dendrite::is_batch_v<TestType>) {
      const S unfused = ak * bk;
      CHECK(dendrite::lane(f, k) == unfused + ck);
    } else {
      CHECK(dendrite::lane(f, k) == std::fma(ak, bk, ck));
    }
#endif
    CHECK(dendrite::lane(mn, k) == std::min(ak, ck));
    CHECK(dendrite::lane(mx, k) == std::max(ak, ck));
    CHECK(dendrite::lane(cl, k) == std::clamp(ak, S(-0.25), S(0.25)));
    CHECK(dendrite::lane(sel, k) == (ak < ck ? ak : bk));
  }
}

TEMPLATE_TEST_CASE("lane helpers: load, store, reductions, finiteness", "[core][simd]", float,
                   double, batchf, batchd) {
  using S = scalar_t<TestType>;
  constexpr std::size_t L = lanes_v<TestType>;
  std::vector<S> data(L);
  for (std::size_t k = 0; k < L; ++k) {
    data[k] = S(1) + S(k) * S(k) - S(2) * S(k % 3);
  }
  const TestType x = dendrite::load<TestType>(data.data());
  std::vector<S> back(L, S(-99));
  dendrite::store(back.data(), x);
  CHECK(back == data);

  S sum = 0, mx = data[0];
  for (S v : data) {
    sum += v;
    mx = std::max(mx, v);
  }
  CHECK(dendrite::reduce_add(x) == Approx(sum));
  CHECK(dendrite::reduce_max(x) == mx);

  TestType y = x;
  dendrite::set_lane(y, L - 1, std::numeric_limits<S>::quiet_NaN());
  CHECK(dendrite::all_of(dendrite::isfinite(x)));
  CHECK_FALSE(dendrite::any_of(dendrite::isnan(x)));
  CHECK(dendrite::any_of(dendrite::isnan(y)));
  CHECK_FALSE(dendrite::all_of(dendrite::isfinite(y)));
  CHECK(dendrite::any_of(dendrite::isfinite(y)) == (L > 1));
  CHECK(std::isnan(dendrite::lane(y, L - 1)));
  if constexpr (L > 1) {
    CHECK(dendrite::reduce_max(y) == *std::max_element(data.begin(), data.end() - 1));
    // NaN in the first lane, and in every lane
    TestType z = x;
    dendrite::set_lane(z, 0, std::numeric_limits<S>::quiet_NaN());
    CHECK(dendrite::reduce_max(z) == *std::max_element(data.begin() + 1, data.end()));
  }
  CHECK(std::isnan(dendrite::reduce_max(dendrite::broadcast<TestType>(
      std::numeric_limits<S>::quiet_NaN()))));
}

TEST_CASE("the recurrent gates' float sigmoid and tanh meet their stated absolute bounds",
          "[core][math][gates]") {
  // nn/detail/gate_activations.hpp: tanh |error| <= 4.5e-7, relative too; sigmoid |error| <=
  // 2.5e-7; NaN stays NaN; +-Inf give the limits exactly
  namespace d = dendrite::nn::detail;
  using B = batchf;
  double sig_abs = 0, tanh_abs = 0, tanh_rel = 0;
  const auto check = [&](float x) {
    const long double s = 1.0L / (1.0L + std::exp(-static_cast<long double>(x)));
    const long double t = std::tanh(static_cast<long double>(x));
    sig_abs = std::max(sig_abs, double(std::abs(d::gate_sigmoid(B(x)).get(0) - s)));
    const long double et = std::abs(d::gate_tanh(B(x)).get(0) - t);
    tanh_abs = std::max(tanh_abs, double(et));
    if (x != 0) tanh_rel = std::max(tanh_rel, double(et / std::abs(t)));
  };
  for (int i = -300000; i <= 300000; ++i) check(float(i) * 1e-4f);  // [-30, 30]
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> wide(-100.0f, 100.0f);
  for (int i = 0; i < 200000; ++i) check(wide(rng));
  // tiny arguments, where tanh x ~ x, and both sides of the switch to +-1 at 9
  for (float x = 1e-30f; x < 1e-2f; x *= 1.37f) {
    check(x);
    check(-x);
  }
  // every float where the float evaluation of P and Q errs most (a check of every float below
  // 20 found tanh's largest error near 5.4 and sigmoid's near 10.6, tanh(5.3) under it), and on
  // both sides of the switch to +-1 at 9
  for (float x = 5.0f; x <= 6.0f; x = std::nextafter(x, 7.0f)) check(x);
  for (float x = 10.5f; x <= 10.7f; x = std::nextafter(x, 11.0f)) check(x);
  for (float x = 8.99f; x < 9.01f; x = std::nextafter(x, 10.0f)) check(x);
  CHECK(sig_abs <= 2.5e-7);
  CHECK(tanh_abs <= 4.5e-7);
  CHECK(tanh_rel <= 4.5e-7);
  CHECK(sig_abs > 1e-9);  // the float result is not exact: the figures measure something
  // every lane of a batch, not only lane 0
  alignas(64) float in[lanes_v<B>], out[lanes_v<B>];
  for (std::size_t k = 0; k < lanes_v<B>; ++k) in[k] = -3.0f + 0.7f * float(k);
  d::gate_tanh(B::load_aligned(in)).store_aligned(out);
  for (std::size_t k = 0; k < lanes_v<B>; ++k) CHECK(std::abs(out[k] - std::tanh(in[k])) <= 4.5e-7);
  CHECK(std::isnan(d::gate_sigmoid(B(std::nanf(""))).get(0)));
  CHECK(std::isnan(d::gate_tanh(B(std::nanf(""))).get(0)));
  CHECK(d::gate_sigmoid(B(INFINITY)).get(0) == 1.0f);
  CHECK(d::gate_sigmoid(B(-INFINITY)).get(0) == 0.0f);
  CHECK(d::gate_tanh(B(INFINITY)).get(0) == 1.0f);
  CHECK(d::gate_tanh(B(-INFINITY)).get(0) == -1.0f);
  // double keeps the accurate functions
  CHECK(d::gate_tanh(batchd(0.3)).get(0) == dendrite::tanh(batchd(0.3)).get(0));
  // three batches interleaved give each one's own result, bit for bit, NaN included
  const d::Interleaved<B, 3> three{{B(-2.5f), B(std::nanf("")), B(40.0f)}};
  const auto sig3 = d::gate_sigmoid(three), tanh3 = d::gate_tanh(three);
  for (std::size_t k = 0; k < 3; ++k) {
    const float s1 = d::gate_sigmoid(three.v[k]).get(0), t1 = d::gate_tanh(three.v[k]).get(0);
    CHECK((sig3.v[k].get(0) == s1 || (std::isnan(s1) && std::isnan(sig3.v[k].get(0)))));
    CHECK((tanh3.v[k].get(0) == t1 || (std::isnan(t1) && std::isnan(tanh3.v[k].get(0)))));
  }
  CHECK(std::isnan(sig3.v[1].get(0)));
  CHECK(sig3.v[0].get(0) != sig3.v[2].get(0));
}

TEST_CASE("the GRU's one-division state update meets its stated bound", "[core][math][gates]") {
  // nn/detail/gate_activations.hpp, gru_state_float: h' = n + z (h - n), n = tanh(a_n),
  // z = sigmoid(a_z), |error| <= (1 - z) 4.5e-7 + |h - n| 2.5e-7 + 2.5e-7 (the gates' bounds
  // through the blend, and its roundings); checked against long double point by point
  namespace d = dendrite::nn::detail;
  using B = batchf;
  double worst_excess = -1, worst = 0;
  const auto check = [&](float an, float az, float h) {
    const long double n = std::tanh(static_cast<long double>(an));
    const long double z = 1.0L / (1.0L + std::exp(-static_cast<long double>(az)));
    const long double want = n + z * (static_cast<long double>(h) - n);
    const float got = d::gru_state_float(B(an), B(az), B(h)).get(0);
    const double err = double(std::abs(static_cast<long double>(got) - want));
    const double bound =
        double((1 - z) * 4.5e-7L + std::abs(static_cast<long double>(h) - n) * 2.5e-7L) + 2.5e-7;
    worst = std::max(worst, err);
    worst_excess = std::max(worst_excess, err - bound);
  };
  // a grid over both pre-activations past the clamp at 9 (a_z / 2 at 18), and states in [-1, 1]
  for (int i = -120; i <= 120; ++i) {
    for (int j = -120; j <= 120; ++j) {
      for (float h : {-1.0f, -0.61f, -0.05f, 0.0f, 0.37f, 0.999f, 1.0f}) {
        check(float(i) * 0.2f, float(j) * 0.2f, h);
      }
    }
  }
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> wide(-40.0f, 40.0f), state(-1.0f, 1.0f);
  for (int i = 0; i < 200000; ++i) check(wide(rng), wide(rng), state(rng));
  // where the float tanh errs most (near 5.4) and sigmoid (near 10.6 = 2 x 5.3)
  for (float x = 5.0f; x <= 6.0f; x += 1e-4f) {
    check(x, 2 * x, -1.0f);
    check(-x, -2 * x, 1.0f);
  }
  INFO("worst error " << worst << ", worst excess over the bound " << worst_excess);
  CHECK(worst_excess <= 0);
  CHECK(worst > 1e-9);  // not exact: the figure measures something
  // the limits: saturated gates give the saturated blend within the bound, and no NaN
  CHECK(std::abs(d::gru_state_float(B(1e30f), B(-1e30f), B(0.5f)).get(0) - 1.0f) <=
        4.5e-7);
  CHECK(std::abs(d::gru_state_float(B(-INFINITY), B(INFINITY), B(0.25f)).get(0) -
                 0.25f) <= 4.5e-7);
  CHECK(std::isnan(d::gru_state_float(B(std::nanf("")), B(0.0f), B(0.0f)).get(0)));
  CHECK(std::isnan(d::gru_state_float(B(0.0f), B(std::nanf("")), B(0.0f)).get(0)));
  // interleaved batches give each one's own result, bit for bit
  using I4 = d::Interleaved<B, 4>;
  const I4 four = d::gru_state_float(I4{{B(-2.0f), B(0.3f), B(12.0f), B(-0.01f)}},
                                     I4{{B(1.0f), B(-30.0f), B(0.2f), B(4.0f)}},
                                     I4{{B(0.5f), B(-0.25f), B(0.9f), B(-1.0f)}});
  const float an[4] = {-2.0f, 0.3f, 12.0f, -0.01f}, az[4] = {1.0f, -30.0f, 0.2f, 4.0f},
              hs[4] = {0.5f, -0.25f, 0.9f, -1.0f};
  for (std::size_t k = 0; k < 4; ++k) {
    CHECK(four.v[k].get(0) == d::gru_state_float(B(an[k]), B(az[k]), B(hs[k])).get(0));
  }
}

TEST_CASE("the float gates make no subnormal number from a pre-activation near 0",
          "[core][math][gates]") {
  // A subnormal result costs a microcode assist (tens to hundreds of cycles) on x86 cores. The
  // gates' polynomial once made x^8 subnormal for |x| in [2e-6, 3e-5] (and x^4 in [3e-12,
  // 3e-10]): 35x the gate's time whenever a pre-activation came that close to 0. The underflow
  // flag (set by any tiny, inexact result) must stay clear over every magnitude from 1e-12 to
  // 100, of both signs.
  namespace d = dendrite::nn::detail;
  using B = batchf;
  constexpr std::size_t L = lanes_v<B>;
  std::vector<float> xs;
  for (int i = 0; i <= 14 * 200; ++i) {
    const float m = std::pow(10.0f, -12.0f + float(i) / 200.0f);
    xs.push_back(m);
    xs.push_back(-m);
  }
  // Inputs are read from, and results written to, volatile memory, so that the compiler keeps
  // every computation between clearing and testing the flags (and none is dropped as unused).
  const auto lanes = [&](std::size_t at) {
    volatile float src[L];
    for (std::size_t k = 0; k < L; ++k) src[k] = xs[(at + 37 * k) % xs.size()];
    alignas(64) float v[L];
    for (std::size_t k = 0; k < L; ++k) v[k] = src[k];
    return B::load_aligned(v);
  };
  volatile float sink[L];
  const auto keep = [&](const B& r) {
    alignas(64) float v[L];
    r.store_aligned(v);
    for (std::size_t k = 0; k < L; ++k) sink[k] = v[k];
  };
  int raised = 0;
  float first = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    std::feclearexcept(FE_ALL_EXCEPT);
    const B x = lanes(i);
    keep(d::gate_tanh(x));
    keep(d::gate_sigmoid(x));
    if (std::fetestexcept(FE_UNDERFLOW)) {
      if (raised++ == 0) first = xs[i];
    }
  }
  INFO("underflow raised " << raised << " times, first at x = " << first);
  CHECK(raised == 0);
  // the check can see one: x^8 of 1e-5 is subnormal
  std::feclearexcept(FE_ALL_EXCEPT);
  const B y = lanes(0) * B(0.0f) + B(1e-5f);
  const B y2 = y * y, y4 = y2 * y2;
  keep(y4 * y4);
  CHECK(std::fetestexcept(FE_UNDERFLOW) != 0);
}
