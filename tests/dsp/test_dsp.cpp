// SPDX-License-Identifier: MIT
// The DSP front end: Butterworth designs against the closed-form magnitude of the bilinear
// Butterworth response (low-, high-, band-pass, band-stop; odd and even orders), the notch, and
// SOSFilter against a plain direct-form implementation written here, lanes against channels,
// bad input and allocation-free steps.
#include "support/alloc_counter.hpp"

#include <array>
#include <cmath>
#include <limits>
#include <numbers>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include <dendrite/dsp.hpp>

namespace dsp = dendrite::dsp;
using dendrite::Status;

namespace {

// |H|^2 of the digital Butterworth filter from the pre-warped frequencies W = tan(pi f / fs).
double butter_power(dsp::BandType type, int n, double f, double f1, double f2, double fs) {
  const double pi = std::numbers::pi;
  const double w = std::tan(pi * f / fs), w1 = std::tan(pi * f1 / fs), w2 = std::tan(pi * f2 / fs);
  double r = 0;
  switch (type) {
    case dsp::BandType::LowPass: r = w / w1; break;
    case dsp::BandType::HighPass: r = w1 / w; break;
    case dsp::BandType::BandPass: r = (w * w - w1 * w2) / (w * (w2 - w1)); break;
    case dsp::BandType::BandStop: r = (w * (w2 - w1)) / (w * w - w1 * w2); break;
  }
  return 1.0 / (1.0 + std::pow(r * r, n));
}

// y = sos(x) for one channel, each section in direct form I, written plainly.
std::vector<double> plain_sosfilt(const Eigen::MatrixXd& sos, std::vector<double> x) {
  for (Eigen::Index s = 0; s < sos.rows(); ++s) {
    double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
    const double a0 = sos(s, 3);
    for (double& v : x) {
      const double y = (sos(s, 0) * v + sos(s, 1) * x1 + sos(s, 2) * x2 - sos(s, 4) * y1 - sos(s, 5) * y2) / a0;
      x2 = x1;
      x1 = v;
      y2 = y1;
      y1 = y;
      v = y;
    }
  }
  return x;
}

}  // namespace

TEST_CASE("butter matches the closed-form Butterworth magnitude", "[dsp]") {
  const double fs = 1000.0;
  for (int n = 1; n <= 7; ++n) {
    for (auto type : {dsp::BandType::LowPass, dsp::BandType::HighPass, dsp::BandType::BandPass,
                      dsp::BandType::BandStop}) {
      const bool two = type == dsp::BandType::BandPass || type == dsp::BandType::BandStop;
      const double f1 = 37.0, f2 = 211.0;
      const Eigen::MatrixXd sos =
          two ? dsp::butter(n, {f1, f2}, type, fs) : dsp::butter(n, {f1}, type, fs);
      CHECK(sos.cols() == 6);
      CHECK(sos.rows() == (two ? n : (n + 1) / 2));
      CHECK((sos.col(3).array() == 1.0).all());
      double worst = 0;
      for (int k = 1; k < 100; ++k) {
        const double f = 0.5 * fs * double(k) / 100.0 - 0.3;
        const double h2 = std::norm(dsp::sos_response(sos, f, fs));
        worst = std::max(worst, std::abs(h2 - butter_power(type, n, f, f1, f2, fs)));
      }
      INFO("order " << n << ", type " << int(type));
      CHECK(worst < 1e-10);
    }
  }
}

TEST_CASE("iirnotch removes f0 and passes DC and Nyquist", "[dsp]") {
  const double fs = 512.0, f0 = 50.0, q = 30.0;
  const Eigen::MatrixXd sos = dsp::iirnotch(f0, q, fs);
  CHECK(std::abs(dsp::sos_response(sos, f0, fs)) < 1e-12);
  CHECK(std::abs(dsp::sos_response(sos, 0.0, fs)) == Approx(1.0).margin(1e-12));
  CHECK(std::abs(dsp::sos_response(sos, fs / 2, fs)) == Approx(1.0).margin(1e-12));
  // the -3 dB points: a notch is a band-stop of order 1 whose warped bandwidth is
  // tan(w0 / (2 Q)) in the closed form of SciPy's design, |H|^2 = 1/2 where
  // |cos w - cos w0| = tan(w0 / (2 Q)) sin w
  const double w0 = 2 * std::numbers::pi * f0 / fs, t = std::tan(w0 / (2 * q));
  for (int k = 1; k < 200; ++k) {
    const double w = std::numbers::pi * double(k) / 200.0;
    const double r = (std::cos(w) - std::cos(w0)) / (t * std::sin(w));
    CHECK(std::norm(dsp::sos_response(sos, w * fs / (2 * std::numbers::pi), fs)) ==
          Approx(r * r / (1 + r * r)).margin(1e-12));
  }
}

TEST_CASE("SOSFilter equals a plain direct-form filter, channel by channel and in lanes", "[dsp]") {
  const Eigen::MatrixXd sos = dsp::butter(5, {1.0, 40.0}, dsp::BandType::BandPass, 512.0);
  constexpr int C = 3;
  const std::size_t n = 2049;
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal;
  std::vector<std::vector<double>> x(C, std::vector<double>(n));
  for (auto& ch : x) {
    double drift = 0;
    for (double& v : ch) {
      drift += 0.01 * normal(rng);
      v = normal(rng) + 50.0 * drift;  // noise on a wandering baseline
    }
  }
  dsp::SOSFilter<double, C> filt(sos);
  std::vector<std::vector<double>> y(C, std::vector<double>(n));
  std::array<double, C> in{}, out{};
  for (std::size_t i = 0; i < n; ++i) {
    for (int c = 0; c < C; ++c) in[std::size_t(c)] = x[std::size_t(c)][i];
    REQUIRE(filt.step(in, out) == Status::Ok);
    for (int c = 0; c < C; ++c) y[std::size_t(c)][i] = out[std::size_t(c)];
  }
  for (int c = 0; c < C; ++c) {
    const auto ref = plain_sosfilt(sos, x[std::size_t(c)]);
    double worst = 0, scale = 0;
    for (std::size_t i = 0; i < n; ++i) {
      worst = std::max(worst, std::abs(ref[i] - y[std::size_t(c)][i]));
      scale = std::max(scale, std::abs(ref[i]));
    }
    // Two correct implementations differ by rounding amplified by the filter's noise gain: poles
    // at radius 1 - 2 pi 1 Hz / 512 Hz give about (1 / (1 - r))^2 ~ 7e3, times eps and
    // sqrt(n) ~ 45: ~7e-11 relative. 1e-9 is the bar against SciPy's sosfilt.
    CHECK(worst <= 1e-9 * scale);
  }
  // lanes: two channels of batches carry 2 x lanes channels
  using B = xsimd::batch<double>;
  constexpr std::size_t L = B::size;
  dsp::SOSFilter<B, 1> lanes(sos);
  std::array<B, 1> bi{}, bo{};
  double worst = 0;
  for (std::size_t i = 0; i < n; ++i) {
    alignas(64) std::array<double, L> v{};
    for (std::size_t l = 0; l < L; ++l) v[l] = x[l % C][i];
    bi[0] = B::load_unaligned(v.data());
    REQUIRE(lanes.step(bi, bo) == Status::Ok);
    for (std::size_t l = 0; l < L; ++l) {
      worst = std::max(worst, std::abs(dendrite::lane(bo[0], l) - y[l % C][i]));
    }
  }
  // Bit-identical where the target has FMA; on SSE2 a batch's multiply-add rounds twice where
  // the scalar std::fma rounds once, and the same noise gain as above amplifies that.
  double scale = 0;
  for (const auto& ch : y) {
    for (double v : ch) scale = std::max(scale, std::abs(v));
  }
  CHECK(worst <= 1e-9 * scale);
}

TEST_CASE("SOSFilter: bad designs, rejected samples, denormals, no allocation", "[dsp]") {
  CHECK_THROWS_AS(dsp::butter(0, {10.0}, dsp::BandType::LowPass, 100.0), dendrite::numerical_error);
  CHECK_THROWS_AS(dsp::butter(2, {60.0}, dsp::BandType::LowPass, 100.0), dendrite::numerical_error);
  CHECK_THROWS_AS(dsp::butter(2, {10.0}, dsp::BandType::BandPass, 100.0), dendrite::dimension_error);
  CHECK_THROWS_AS(dsp::butter(2, {20.0, 10.0}, dsp::BandType::BandStop, 100.0), dendrite::numerical_error);
  CHECK_THROWS_AS(dsp::iirnotch(0.0, 30.0, 100.0), dendrite::numerical_error);
  using Filter2 = dsp::SOSFilter<float, 2>;
  CHECK_THROWS_AS(Filter2(Eigen::MatrixXd::Ones(2, 5)), dendrite::dimension_error);

  const Eigen::MatrixXd sos = dsp::butter(4, {5.0}, dsp::BandType::HighPass, 250.0);
  dsp::SOSFilter<float, 2> a(sos), b(sos);
  std::array<float, 2> x{1.0f, -2.0f}, ya{}, yb{};
  for (int i = 0; i < 10; ++i) {
    (void)a.step(x, ya);
    (void)b.step(x, yb);
  }
  std::array<float, 2> bad{1.0f, std::numeric_limits<float>::quiet_NaN()};
  CHECK(a.step(bad, ya) == Status::RejectedNonFinite);
  CHECK(ya[0] == 0.0f);
  for (int i = 0; i < 20; ++i) {  // the rejected sample changed nothing
    (void)a.step(x, ya);
    (void)b.step(x, yb);
    CHECK(ya == yb);
  }
  // an impulse, then silence: the state decays to exactly 0 (flushed every 16th step), and
  // denormal outputs last at most 15 steps in a row
  dsp::SOSFilter<float, 1> d(dsp::butter(2, {1.0}, dsp::BandType::LowPass, 1000.0));
  std::array<float, 1> one{1.0f}, zero{0.0f}, y{};
  (void)d.step(one, y);
  int run = 0, longest = 0;
  for (int i = 0; i < 200000; ++i) {
    (void)d.step(zero, y);
    const bool den = y[0] != 0.0f && std::abs(y[0]) < std::numeric_limits<float>::min();
    run = den ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  CHECK(longest <= 15);
  CHECK(y[0] == 0.0f);
  dendrite::test::NoAllocScope scope;
  for (int i = 0; i < 100; ++i) (void)a.step(x, ya);
  a.reset();
  CHECK(scope.counts().total() == 0);
}
