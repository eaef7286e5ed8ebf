// SPDX-License-Identifier: MIT
/// @file
/// A terminal progress bar with rate and ETA for the examples' long steps. It draws only when
/// stdout is a terminal (nothing when piped or redirected, so logs stay clean) and at most
/// ten times a second.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

#include <unistd.h>

namespace dendrite::examples {

class Progress {
 public:
  Progress(std::string label, double total, std::string unit = "")
      : label_(std::move(label)), unit_(std::move(unit)), total_(total),
        tty_(isatty(fileno(stdout)) != 0), start_(Clock::now()), last_(start_) {}
  ~Progress() { finish(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// `done` of `total`; `note` is shown after the bar (e.g. the current loss).
  void update(double done, const std::string& note = "") {
    const auto now = Clock::now();
    if (!tty_ || (now - last_ < std::chrono::milliseconds(100) && done < total_)) return;
    last_ = now;
    const double s = std::chrono::duration<double>(now - start_).count();
    const double f = total_ > 0 ? std::min(1.0, done / total_) : 1.0;
    const int width = 28, filled = int(f * width);
    const double rate = s > 0 ? done / s : 0;
    const double eta = rate > 0 ? (total_ - done) / rate : 0;
    std::printf("\r  %-22s [%s%s] %3d%%  %.3g %s/s  ETA %4.0f s  %s\033[K", label_.c_str(),
                std::string(std::size_t(filled), '#').c_str(),
                std::string(std::size_t(width - filled), '.').c_str(), int(100 * f), rate,
                unit_.c_str(), eta, note.c_str());
    std::fflush(stdout);
    drawn_ = true;
  }

  /// Clears the bar (called by the destructor too).
  void finish() {
    if (drawn_) {
      std::printf("\r\033[K");
      std::fflush(stdout);
      drawn_ = false;
    }
  }

 private:
  using Clock = std::chrono::steady_clock;
  std::string label_, unit_;
  double total_;
  bool tty_;
  bool drawn_ = false;
  Clock::time_point start_, last_;
};

}  // namespace dendrite::examples
