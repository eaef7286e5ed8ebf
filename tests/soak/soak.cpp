// SPDX-License-Identifier: MIT
// Soak runs (ctest label `soak`, built with -DDENDRITE_SOAK=ON, not in the default run):
// OnlineICA<float, 4> and GRU<float, 32, 64> for N samples each (default 1e8) on inputs that
// include NaN, Inf, denormals and 1e30 spikes. Checks: no non-finite output, no state blow-up,
// no allocation after setup; reports the latency distribution of the steps. On a shared VM the
// tail (p99.99, max) is set by preemption of the whole process, not by the step, so the check
// is on the 99th percentile: within 10x of the median; p99.99 and the maximum are reported.
#include "support/alloc_counter.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <vector>

#include <dendrite/ica/online_ica.hpp>
#include <dendrite/ica/synthetic.hpp>
#include <dendrite/nn/gru.hpp>

namespace {

/// Fills x with a sample of `clean`, sometimes replaced by a fault.
template <std::size_t N>
void inject(std::array<float, N>& x, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const double r = u(rng);
  const std::size_t i = std::size_t(u(rng) * N) % N;
  if (r < 1e-4) x[i] = std::numeric_limits<float>::quiet_NaN();
  else if (r < 2e-4) x[i] = std::numeric_limits<float>::infinity();
  else if (r < 3e-4) x[i] = 1e30f;
  else if (r < 4e-4) x[i] = 1e-40f;  // denormal
}

struct Latency {
  std::vector<float> sample;  // every 1000th step, preallocated
  void report(const char* what, long steps) {
    std::sort(sample.begin(), sample.end());
    const auto q = [&](double p) { return sample[std::min(sample.size() - 1, std::size_t(p * double(sample.size())))]; };
    std::printf("%s: %ld steps; latency ns p50 %.0f, p99 %.0f, p99.99 %.0f, max %.0f\n", what, steps,
                q(0.5), q(0.99), q(0.9999), sample.back());
  }
  [[nodiscard]] bool ok() const {
    return sample[std::size_t(0.99 * double(sample.size()))] <= 10 * sample[sample.size() / 2];
  }
};

}  // namespace

int main(int argc, char** argv) {
  using Clock = std::chrono::steady_clock;
  const long n = argc > 1 ? std::atol(argv[1]) : 100'000'000L;
  bool ok = true;
  std::mt19937_64 rng(1);
  {
    const auto data = dendrite::ica::bahroun_synthetic(10000, 3);
    dendrite::ica::OnlineICA<float, 4> net;
    net.warm_start(data.mixed);
    std::array<float, 4> x{}, y{};
    Latency lat;
    lat.sample.reserve(std::size_t(n / 1000 + 1));
    long bad_out = 0;
    dendrite::test::AllocCounts allocs;
    {
      dendrite::test::NoAllocScope scope;
      for (long t = 0; t < n; ++t) {
        for (int i = 0; i < 4; ++i) x[std::size_t(i)] = float(data.mixed(i, t % 10000));
        inject(x, rng);
        const auto t0 = Clock::now();
        (void)net.step(x, y);
        const auto t1 = Clock::now();
        if (t % 1000 == 0) lat.sample.push_back(float(std::chrono::duration<double, std::nano>(t1 - t0).count()));
        for (float v : y) bad_out += !std::isfinite(v);
      }
      allocs = scope.counts();
    }
    const bool state_ok = net.feedforward().allFinite() && net.lateral().allFinite() &&
                          net.lateral().cwiseAbs().maxCoeff() < 1e6;
    lat.report("OnlineICA<float, 4>", n);
    std::printf("  non-finite outputs %ld, state finite and bounded %d, allocations %zu, p99 within 10x median %d\n",
                bad_out, int(state_ok), allocs.total(), int(lat.ok()));
    ok = ok && bad_out == 0 && state_ok && allocs.total() == 0 && lat.ok();
  }
  {
    dendrite::nn::GRU<float, 32, 64> gru({.seed = 1});
    std::array<float, 32> x{};
    std::array<float, 64> h{};
    std::normal_distribution<float> normal;
    Latency lat;
    lat.sample.reserve(std::size_t(n / 1000 + 1));
    long bad_out = 0;
    float peak = 0;
    dendrite::test::AllocCounts allocs;
    {
      dendrite::test::NoAllocScope scope;
      for (long t = 0; t < n; ++t) {
        for (float& v : x) v = normal(rng);
        inject(x, rng);
        const auto t0 = Clock::now();
        (void)gru.step(x, h);
        const auto t1 = Clock::now();
        if (t % 1000 == 0) lat.sample.push_back(float(std::chrono::duration<double, std::nano>(t1 - t0).count()));
        for (float v : h) {
          bad_out += !std::isfinite(v);
          peak = std::max(peak, std::abs(v));
        }
      }
      allocs = scope.counts();
    }
    lat.report("GRU<float, 32, 64>", n);
    std::printf("  non-finite outputs %ld, max |h| %.3f (a GRU state stays in [-1, 1]), allocations %zu, p99 within 10x median %d\n",
                bad_out, double(peak), allocs.total(), int(lat.ok()));
    ok = ok && bad_out == 0 && peak <= 1.0f && allocs.total() == 0 && lat.ok();
  }
  std::printf(ok ? "soak passed\n" : "soak FAILED\n");
  return ok ? 0 : 1;
}
