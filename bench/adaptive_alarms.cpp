// SPDX-License-Identifier: MIT
// Not a Google Benchmark program: how well ORICA's Adaptive schedule tells an electrode shift
// from a stationary recording, on eeg_like mixtures at 256 Hz (the figures in orica.hpp's header
// and bench/README.md). Per channel count and seed: a stationary recording of 90 s (seed 200 +
// s), counted as a false alarm if the network reheated at all; and a recording whose mixing
// changes at 60 s (seed s), counted as caught if it reheated within 5 s of the change (and as
// early if it reheated before it).
//
//   ./build/bench/bench/adaptive_alarms [seeds, default 20] [reheat_threshold, 0: the default]
//                                       [first seed, default 1]
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "support.hpp"

#include <dendrite/ica/eeg_like.hpp>
#include <dendrite/ica/orica.hpp>

namespace {

using namespace dendrite;

template <int D>
ica::ORICA<float, D> adaptive(double threshold) {
  ica::ORICAOptions opt;
  opt.schedule = ica::ForgettingSchedule::Adaptive;
  opt.sample_rate = 256;
  if (threshold > 0) opt.reheat_threshold = threshold;
  return ica::ORICA<float, D>(opt);
}

template <int D>
void run(int seeds, double threshold, int first) {
  int false_alarms = 0, early = 0, caught = 0;
  std::vector<double> delays;
  for (int s = first; s < first + seeds; ++s) {
    auto quiet = adaptive<D>(threshold);
    const auto still = ica::eeg_like(D, 90.0, 256.0, std::uint64_t(200 + s));
    bench::stream_columns<D>(quiet, still.mixed, 0, still.mixed.cols());
    false_alarms += quiet.reheats() > 0 ? 1 : 0;

    ica::EEGLikeOptions drift;
    drift.drift = ica::MixingDrift::Abrupt;
    drift.change_at_s = 60;
    const auto m = ica::eeg_like(D, 65.0, 256.0, std::uint64_t(s), drift);
    auto net = adaptive<D>(threshold);
    bench::stream_columns<D>(net, m.mixed, 0, m.change_sample);
    const auto before = net.reheats();
    early += before > 0 ? 1 : 0;
    for (Eigen::Index i = m.change_sample; i < m.mixed.cols(); ++i) {
      bench::stream_columns<D>(net, m.mixed, i, i + 1);
      if (net.reheats() > before) {
        ++caught;
        delays.push_back(double(i - m.change_sample) / 256.0);
        break;
      }
    }
  }
  std::sort(delays.begin(), delays.end());
  const double median = delays.empty() ? -1.0 : delays[delays.size() / 2];
  std::printf("| %d | %d of %d | %.2f s | %d of %d | %d of %d |\n", D, caught, seeds, median,
              false_alarms, seeds, early, seeds);
}

}  // namespace

int main(int argc, char** argv) {
  const int seeds = argc > 1 ? std::atoi(argv[1]) : 20;
  const double threshold = argc > 2 ? std::atof(argv[2]) : 0.0;
  const int first = argc > 3 ? std::atoi(argv[3]) : 1;
  std::printf("| channels | shifts caught within 5 s | median delay | stationary 90 s: reheated |"
              " shift recordings: reheated before it |\n|---|---|---|---|---|\n");
  run<3>(seeds, threshold, first);
  run<4>(seeds, threshold, first);
  run<5>(seeds, threshold, first);
  run<7>(seeds, threshold, first);
  run<16>(seeds, threshold, first);
  run<32>(seeds, threshold, first);
  run<64>(std::min(seeds, 8), threshold, first);
}
