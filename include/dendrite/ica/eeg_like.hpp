// SPDX-License-Identifier: MIT
/// @file
/// EEG-like test data: D independent sources of the kinds a scalp recording carries, mixed by a
/// random matrix that can change abruptly (an electrode shift) or rotate slowly.
/// Source kinds, cycled over the D sources (each draw has its own rates, phases and amplitudes):
///   0 eye blinks      sparse raised-cosine bumps of 200-400 ms, 0.2-0.5 per second (kurtosis >> 3)
///   1 line noise      50 or 60 Hz with a slow 5 % amplitude wobble (sub-Gaussian)
///   2 alpha           8-12 Hz, amplitude-modulated in bursts of about a second
///   3 muscle          broadband noise in bursts of 0.2-1 s (super-Gaussian)
///   4 heartbeat       a QRS-like pulse and a T wave at 55-85 beats per minute
///   5 background      1/f ("pink") noise, the one Gaussian source
///   6+                further rhythms (theta, beta, at random frequencies), muscle bursts and
///                     pulse trains, cycling; never a second Gaussian source, so that the mixture
///                     stays identifiable by ICA.
/// Every source is scaled to unit variance; the mixing matrix has standard normal entries and a
/// condition number below 30 for D <= 16, below 4 D above (a Gaussian D x D matrix's condition
/// number grows like D, so 30 is out of reach from about 24 channels on); redrawn otherwise.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <Eigen/QR>
#include <Eigen/SVD>

#include <dendrite/core/analysis.hpp>
#include <dendrite/core/error.hpp>

namespace dendrite::ica {

/// How the mixing of `eeg_like` evolves over the recording.
enum class MixingDrift : std::uint8_t {
  None,      ///< one mixing matrix throughout
  Abrupt,    ///< switches to a second random matrix at `change_at_s` (an electrode shift)
  Rotating,  ///< A(t) = A R(t): R rotates in one random plane per pair of channels, slowly
};

/// Settings of `eeg_like`.
struct EEGLikeOptions {
  MixingDrift drift = MixingDrift::None;
  double change_at_s = 0;       ///< Abrupt: when the mixing changes
  double rotation_hz = 0.01;    ///< Rotating: turns per second of the slow rotation
};

/// Sources, mixing and mixtures of one `eeg_like` draw.
struct EEGLikeMixture {
  Eigen::MatrixXd sources;       ///< D x n, unit variance each
  Eigen::MatrixXd mixing;        ///< D x D at t = 0
  Eigen::MatrixXd mixing_after;  ///< D x D at the end (equals `mixing` without drift)
  Eigen::MatrixXd mixed;         ///< D x n
  std::vector<std::string> kinds;  ///< the kind of each source ("blink", "line", ...)
  Eigen::Index change_sample = -1;  ///< Abrupt: first sample mixed by `mixing_after`
};

namespace detail {

template <AnalysisScalar S>
void eeg_source(Eigen::Matrix<S, 1, Eigen::Dynamic>& s, int kind_index, double fs,
                       std::mt19937_64& rng, std::string& kind) {
  const Eigen::Index n = s.size();
  const double pi = std::numbers::pi;
  std::uniform_real_distribution<double> uni(0.0, 1.0);
  std::normal_distribution<double> normal;
  auto bursts = [&](double mean_on_s, double mean_off_s, Eigen::Matrix<S, 1, Eigen::Dynamic>& gate) {
    gate = Eigen::Matrix<S, 1, Eigen::Dynamic>::Zero(n);
    Eigen::Index i = Eigen::Index(uni(rng) * mean_off_s * fs);
    while (i < n) {
      const auto on = Eigen::Index((0.5 + uni(rng)) * mean_on_s * fs) + 1;
      for (Eigen::Index k = 0; k < on && i + k < n; ++k) {
        gate(i + k) = std::sin(pi * double(k) / double(on));  // smooth on and off
      }
      i += on + Eigen::Index((0.3 + 1.4 * uni(rng)) * mean_off_s * fs);
    }
  };
  const int k = kind_index < 6 ? kind_index : 6 + (kind_index - 6) % 4;
  switch (k) {
    case 0: {  // blinks
      kind = "blink";
      s.setZero();
      const double rate = 0.2 + 0.3 * uni(rng);
      double t = -std::log(1 - uni(rng)) / rate;
      while (Eigen::Index(t * fs) < n) {
        const auto w = Eigen::Index((0.2 + 0.2 * uni(rng)) * fs) + 2;
        const double amp = 0.7 + 0.6 * uni(rng);
        const auto i0 = Eigen::Index(t * fs);
        for (Eigen::Index j = 0; j < w && i0 + j < n; ++j) {
          s(i0 + j) += amp * 0.5 * (1 - std::cos(2 * pi * double(j) / double(w - 1)));
        }
        t += -std::log(1 - uni(rng)) / rate;
      }
      for (Eigen::Index i = 0; i < n; ++i) s(i) += 0.01 * normal(rng);
      break;
    }
    case 1: {  // line noise
      kind = "line";
      const double f = uni(rng) < 0.5 ? 50.0 : 60.0;
      const double ph = 2 * pi * uni(rng), wob = 0.05 + 0.1 * uni(rng);
      for (Eigen::Index i = 0; i < n; ++i) {
        const double t = double(i) / fs;
        s(i) = (1 + 0.05 * std::sin(2 * pi * wob * t)) * std::sin(2 * pi * f * t + ph);
      }
      break;
    }
    case 2:
    case 6: {  // alpha (kind 2) or another rhythm (theta or beta, kind 6)
      kind = k == 2 ? "alpha" : "rhythm";
      const double f = k == 2 ? 8 + 4 * uni(rng) : (uni(rng) < 0.5 ? 4 + 3 * uni(rng) : 15 + 10 * uni(rng));
      Eigen::Matrix<S, 1, Eigen::Dynamic> gate;
      bursts(1.0, 0.8, gate);
      double ph = 2 * pi * uni(rng);
      for (Eigen::Index i = 0; i < n; ++i) {
        ph += 2 * pi * f * (1 + 0.02 * normal(rng)) / fs;
        s(i) = (0.1 + gate(i)) * std::sin(ph);
      }
      break;
    }
    case 3:
    case 7: {  // muscle: broadband bursts
      kind = "muscle";
      Eigen::Matrix<S, 1, Eigen::Dynamic> gate;
      bursts(0.5, 2.0, gate);
      double prev = 0;
      for (Eigen::Index i = 0; i < n; ++i) {
        const double w = normal(rng);
        s(i) = gate(i) * (w - 0.5 * prev) + 0.02 * w;  // high-pass tilted, like EMG
        prev = w;
      }
      break;
    }
    case 4:
    case 8: {  // heartbeat (kind 4) or another pulse train (kind 8)
      kind = k == 4 ? "heart" : "pulse";
      const double bpm = k == 4 ? 55 + 30 * uni(rng) : 20 + 100 * uni(rng);
      const double period = 60.0 / bpm;
      double beat = uni(rng) * period;
      s.setZero();
      while (beat * fs < double(n)) {
        for (Eigen::Index i = std::max<Eigen::Index>(0, Eigen::Index((beat - 0.1) * fs));
             i < std::min<Eigen::Index>(n, Eigen::Index((beat + 0.45) * fs)); ++i) {
          const double dt = double(i) / fs - beat;
          s(i) += std::exp(-0.5 * (dt / 0.012) * (dt / 0.012)) +
                  0.25 * std::exp(-0.5 * ((dt - 0.3) / 0.05) * ((dt - 0.3) / 0.05));
        }
        beat += period * (1 + 0.03 * normal(rng));
      }
      for (Eigen::Index i = 0; i < n; ++i) s(i) += 0.01 * normal(rng);
      break;
    }
    case 5: {  // 1/f background: a sum of first-order low-passes at octave-spaced corners
      kind = "background";
      std::vector<double> st(8, 0.0);
      for (Eigen::Index i = 0; i < n; ++i) {
        double acc = 0;
        for (std::size_t o = 0; o < st.size(); ++o) {
          const double fc = 0.5 * std::pow(2.0, double(o));
          const double a = std::exp(-2 * pi * fc / fs);
          st[o] = a * st[o] + std::sqrt(1 - a * a) * normal(rng);
          acc += st[o];
        }
        s(i) = acc;
      }
      break;
    }
    default: {  // kind 9: a sinusoid at a random frequency (a stimulation artefact)
      kind = "sinusoid";
      const double f = 1 + uni(rng) * std::min(40.0, 0.4 * fs);
      const double ph = 2 * pi * uni(rng);
      for (Eigen::Index i = 0; i < n; ++i) s(i) = std::sin(2 * pi * f * double(i) / fs + ph);
      break;
    }
  }
  s.array() -= s.mean();
  const double sd = std::sqrt(s.squaredNorm() / double(std::max<Eigen::Index>(n, 1)));
  if (sd > 0) s /= sd;
}

template <AnalysisScalar S>
MatrixX<S> random_mixing(int d, std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  for (;;) {
    MatrixX<S> a = MatrixX<S>::NullaryExpr(d, d, [&] { return normal(rng); });
    const VectorX<S> sv = Eigen::JacobiSVD<MatrixX<S>>(a).singularValues();
    const double bound = d <= 16 ? 30.0 : 4.0 * d;
    if (sv(d - 1) > 0 && sv(0) / sv(d - 1) < bound) return a;
  }
}

// R(t): a rotation by angle theta in the planes (0, 1), (2, 3), ... of a fixed random basis Q.
template <AnalysisScalar S>
MatrixX<S> slow_rotation(const MatrixX<S>& q, double theta) {
  const Eigen::Index d = q.rows();
  MatrixX<S> g = MatrixX<S>::Identity(d, d);
  for (Eigen::Index p = 0; p + 1 < d; p += 2) {
    g(p, p) = std::cos(theta);
    g(p, p + 1) = -std::sin(theta);
    g(p + 1, p) = std::sin(theta);
    g(p + 1, p + 1) = std::cos(theta);
  }
  return q * g * q.transpose();
}

}  // namespace detail

/// D EEG-like sources over `seconds` at `fs` Hz, mixed (see the file comment).
/// Throws `dendrite::dimension_error` for D < 2 or fewer than 2 samples.
template <AnalysisScalar S = double>
[[nodiscard]] EEGLikeMixture eeg_like(int d, double seconds, double fs, std::uint64_t seed,
                                      const EEGLikeOptions& options = {}) {
  const auto n = Eigen::Index(seconds * fs);
  if (d < 2 || n < 2 || !(fs > 0)) {
    DENDRITE_THROW(dimension_error, "eeg_like: need at least 2 channels and 2 samples, got ", d,
                   " channels and ", n, " samples (", seconds, " s at ", fs, " Hz)");
  }
  std::mt19937_64 rng(seed);
  EEGLikeMixture m;
  m.sources.resize(d, n);
  m.kinds.resize(std::size_t(d));
  Eigen::Matrix<S, 1, Eigen::Dynamic> s(n);
  for (int i = 0; i < d; ++i) {
    detail::eeg_source<S>(s, i, fs, rng, m.kinds[std::size_t(i)]);
    m.sources.row(i) = s;
  }
  m.mixing = detail::random_mixing<S>(d, rng);
  m.mixed.resize(d, n);
  switch (options.drift) {
    case MixingDrift::None:
      m.mixing_after = m.mixing;
      m.mixed.noalias() = m.mixing * m.sources;
      break;
    case MixingDrift::Abrupt: {
      m.mixing_after = detail::random_mixing<S>(d, rng);
      m.change_sample = std::clamp<Eigen::Index>(Eigen::Index(options.change_at_s * fs), 0, n);
      const Eigen::Index c = m.change_sample;
      m.mixed.leftCols(c).noalias() = m.mixing * m.sources.leftCols(c);
      m.mixed.rightCols(n - c).noalias() = m.mixing_after * m.sources.rightCols(n - c);
      break;
    }
    case MixingDrift::Rotating: {
      std::normal_distribution<double> normal;
      const MatrixX<S> g = MatrixX<S>::NullaryExpr(d, d, [&] { return normal(rng); });
      const MatrixX<S> q = Eigen::HouseholderQR<MatrixX<S>>(g).householderQ();
      for (Eigen::Index i = 0; i < n; ++i) {
        const double theta = 2 * std::numbers::pi * options.rotation_hz * double(i) / fs;
        m.mixed.col(i).noalias() = m.mixing * (detail::slow_rotation<S>(q, theta) * m.sources.col(i));
      }
      m.mixing_after =
          m.mixing * detail::slow_rotation<S>(q, 2 * std::numbers::pi * options.rotation_hz * double(n - 1) / fs);
      break;
    }
  }
  return m;
}

}  // namespace dendrite::ica
