// SPDX-License-Identifier: MIT
// Recorded-style audio for the ICA tests: two voices spoken by espeak-ng (generated at configure
// time into DENDRITE_SPEECH_DIR when espeak-ng is installed; see tests/CMakeLists.txt) and a
// noise source, resampled to 16 kHz and mixed by a random well-conditioned matrix.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <Eigen/Dense>

namespace dendrite::test {

// A 16-bit PCM mono WAV file as samples in [-1, 1), and its sample rate; nullopt if the file is
// missing or not that format.
struct Wav {
  std::vector<double> samples;
  double rate = 0;
};

inline std::optional<Wav> read_wav16(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  const std::vector<char> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto u32 = [&](std::size_t at) {
    std::uint32_t v = 0;
    std::memcpy(&v, b.data() + at, 4);
    return v;
  };
  auto u16 = [&](std::size_t at) {
    std::uint16_t v = 0;
    std::memcpy(&v, b.data() + at, 2);
    return v;
  };
  if (b.size() < 12 || std::memcmp(b.data(), "RIFF", 4) != 0 || std::memcmp(b.data() + 8, "WAVE", 4) != 0) {
    return std::nullopt;
  }
  Wav w;
  std::size_t at = 12;
  bool fmt_ok = false;
  while (at + 8 <= b.size()) {
    const std::uint32_t size = u32(at + 4);
    if (std::memcmp(b.data() + at, "fmt ", 4) == 0 && size >= 16) {
      fmt_ok = u16(at + 8) == 1 && u16(at + 10) == 1 && u16(at + 22) == 16;  // PCM, mono, 16 bit
      w.rate = double(u32(at + 12));
    } else if (std::memcmp(b.data() + at, "data", 4) == 0 && fmt_ok) {
      // espeak-ng streams to a file it cannot seek back into and may leave 0x7fffffff here
      const std::size_t n = std::min<std::size_t>(size, b.size() - at - 8) / 2;
      w.samples.resize(n);
      for (std::size_t i = 0; i < n; ++i) {
        std::int16_t s = 0;
        std::memcpy(&s, b.data() + at + 8 + 2 * i, 2);
        w.samples[i] = double(s) / 32768.0;
      }
      return w;
    }
    at += 8 + size + (size & 1U);
  }
  return std::nullopt;
}

// x resampled from rate `from` to rate `to` by linear interpolation (good enough here: the tests
// need independent, speech-like sources, not audio fidelity).
inline std::vector<double> resample_linear(const std::vector<double>& x, double from, double to) {
  const std::size_t n = std::size_t(double(x.size()) * to / from);
  std::vector<double> y(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double t = double(i) * from / to;
    const std::size_t k = std::size_t(t);
    const double f = t - double(k);
    y[i] = k + 1 < x.size() ? (1 - f) * x[k] + f * x[k + 1] : x.back();
  }
  return y;
}

struct SpeechMixture {
  Eigen::MatrixXd sources;  // D x n: the voices, then the noises (unit variance each)
  Eigen::MatrixXd mixing;   // D x D
  Eigen::MatrixXd mixed;    // D x n
};

// `voices` voices (2 to 4: voice_a.wav, voice_b.wav, voice_c.wav, voice_d.wav) and `noises`
// noise sources (Gaussian, then uniform and Laplacian in turn) at 16 kHz, `seconds` long, each
// voice looped over its own length, mixed by a random matrix with condition number below
// `max_condition`. nullopt when a voice file is not there.
inline std::optional<SpeechMixture> speech_mixture(std::size_t voices, std::size_t noises,
                                                   double seconds, std::uint64_t seed,
                                                   double max_condition) {
#ifdef DENDRITE_SPEECH_DIR
  const std::string dir = DENDRITE_SPEECH_DIR;
#else
  const std::string dir = ".";
#endif
  const double fs = 16000.0;
  std::vector<std::vector<double>> speech;
  for (std::size_t v = 0; v < voices; ++v) {
    const auto w = read_wav16(dir + "/voice_" + std::string(1, char('a' + v)) + ".wav");
    if (!w) return std::nullopt;
    speech.push_back(resample_linear(w->samples, w->rate, fs));
  }
  const auto d = Eigen::Index(voices + noises);
  const auto n = Eigen::Index(seconds * fs);
  SpeechMixture m;
  m.sources.resize(d, n);
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uni(-1.0, 1.0);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (std::size_t v = 0; v < voices; ++v) {
      m.sources(Eigen::Index(v), i) = speech[v][std::size_t(i) % speech[v].size()];
    }
    for (std::size_t k = 0; k < noises; ++k) {
      double value = 0;
      if (k == 0) {
        value = normal(rng);
      } else if (k % 2 == 1) {
        value = uni(rng);
      } else {
        const double e = -std::log(1.0 - std::abs(uni(rng)));  // |Laplacian|, then a sign
        value = uni(rng) < 0 ? -e : e;
      }
      m.sources(Eigen::Index(voices + k), i) = value;
    }
  }
  for (Eigen::Index r = 0; r < d; ++r) {
    auto row = m.sources.row(r);
    row.array() -= row.mean();
    row /= std::sqrt(row.squaredNorm() / double(n));
  }
  do {
    m.mixing = Eigen::MatrixXd::NullaryExpr(d, d, [&] { return uni(rng); });
    Eigen::JacobiSVD<Eigen::MatrixXd> svd(m.mixing);
    const auto s = svd.singularValues();
    if (s(d - 1) > 0 && s(0) / s(d - 1) < max_condition) break;
  } while (true);
  m.mixed = m.mixing * m.sources;
  return m;
}

// Two voices and a Gaussian noise source at 16 kHz, `seconds` long, mixed by a random matrix
// with condition number below 10. nullopt when the voice files are not there.
inline std::optional<SpeechMixture> speech_mixture(double seconds, std::uint64_t seed) {
  return speech_mixture(2, 1, seconds, seed, 10.0);
}

}  // namespace dendrite::test
