// SPDX-License-Identifier: MIT
// Not a Google Benchmark program: how far ORICATracker's batch refit brings a network back after
// an electrode shift, beside Adaptive ORICA's online learning alone (the figures in
// orica_tracker.hpp's header, the README and bench/README.md). Per channel count and seed: an
// eeg_like recording at 256 Hz whose mixing changes at 60 s (seed s); the Amari index just
// before the change, and 10 and 20 s after it. The worker is emulated: run_pending_fit() every 8
// samples (31 ms at 256 Hz), as a worker thread polling every 5 ms with a fit of up to 25 ms.
//
//   ./build/bench/bench/tracker_recovery [seeds, default 8] [fit_seconds, default 5]
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <Eigen/Core>

#include "support.hpp"

#include <dendrite/ica/eeg_like.hpp>
#include <dendrite/ica/metrics.hpp>
#include <dendrite/ica/orica_tracker.hpp>

namespace {

using namespace dendrite;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

template <int D>
void run(int seeds, double fit_seconds) {
  ica::EEGLikeOptions drift;
  drift.drift = ica::MixingDrift::Abrupt;
  drift.change_at_s = 60;
  std::vector<double> before, tracked10, tracked20, online10, online20;
  int refitted = 0;
  for (int seed = 1; seed <= seeds; ++seed) {
    const auto m = ica::eeg_like(D, 80.0, 256.0, std::uint64_t(seed), drift);
    const Eigen::Index c = m.change_sample;
    const ica::ORICAOptions adaptive{.schedule = ica::ForgettingSchedule::Adaptive,
                                     .sample_rate = 256};
    ica::ORICATracker<float, D> tracker(
        {.orica = adaptive, .fit_seconds = fit_seconds, .worker_thread = false});
    ica::ORICA<float, D> online(adaptive);
    const auto amari = [](const Eigen::MatrixXd& u, const Eigen::MatrixXd& a) {
      return ica::amari_index(Eigen::MatrixXd(u * a));
    };
    for (Eigen::Index i = 0; i < c + 5120; i += 8) {
      bench::stream_columns<D>(tracker, m.mixed, i, i + 8);
      (void)tracker.run_pending_fit();
      if (i + 8 == c) before.push_back(amari(tracker.unmixing(), m.mixing));
      if (i + 8 == c + 2560) tracked10.push_back(amari(tracker.unmixing(), m.mixing_after));
    }
    tracked20.push_back(amari(tracker.unmixing(), m.mixing_after));
    bench::stream_columns<D>(online, m.mixed, 0, c + 2560);
    online10.push_back(amari(online.unmixing(), m.mixing_after));
    bench::stream_columns<D>(online, m.mixed, c + 2560, c + 5120);
    online20.push_back(amari(online.unmixing(), m.mixing_after));
    refitted += tracker.refits() > 0 ? 1 : 0;
  }
  std::printf("%3d channels: before %.3f | tracker +10 s %.3f, +20 s %.3f | online alone +10 s "
              "%.3f, +20 s %.3f | refitted %d of %d\n",
              D, median(before), median(tracked10), median(tracked20), median(online10),
              median(online20), refitted, seeds);
}

}  // namespace

int main(int argc, char** argv) {
  const int seeds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 8;
  const double fit_seconds = argc > 2 ? std::atof(argv[2]) : 5.0;
  std::printf("ORICATracker after an electrode shift at 60 s, eeg_like at 256 Hz, %d seeds, fit "
              "of %.1f s; median Amari index\n",
              seeds, fit_seconds);
  run<3>(seeds, fit_seconds);
  run<7>(seeds, fit_seconds);
  run<16>(seeds, fit_seconds);
  run<64>(seeds, fit_seconds);
  return 0;
}
