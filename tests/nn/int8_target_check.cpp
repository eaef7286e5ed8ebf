// SPDX-License-Identifier: MIT
// The int8 product's integer dot product on one instruction set: tests/CMakeLists.txt compiles
// this file for AVX2 (VPMADDUBSW + VPMADDWD) and for AVX-VNNI (the 256-bit VPDPBUSD), each
// where the host can run it, and runs it. The native build does not reach these paths on an
// AVX-512 host (it takes AVX512-VNNI's), nor AVX-VNNI's on an AVX2 host without it.
//
// Checked, at odd sizes and at the extremes (every product +-127^2): y = b + s_i t sum_j q_ij r_j
// against the same sum computed plainly from the stored integers q_ij and the input rounded as
// documented (within the final float scaling's rounding), and bit for bit against the portable
// float path (AllowDot = false), whose float sums of integers are exact too. Exits nonzero
// saying what differed.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include <dendrite/nn/detail/packed_int8.hpp>

#include "support/int8_extremes.hpp"

#ifndef DENDRITE_EXPECT_AVXVNNI
#error "compile with -DDENDRITE_EXPECT_AVXVNNI=0 (AVX2 path) or 1 (AVX-VNNI path)"
#endif
static_assert(DENDRITE_DETAIL_INT8_WIDTH == 8, "int8_target_check: compile for an AVX2 target");
static_assert(DENDRITE_DETAIL_INT8_AVXVNNI == DENDRITE_EXPECT_AVXVNNI,
              "int8_target_check: not the dot product this check was compiled for");

namespace {

int failures = 0;

template <std::size_t R, std::size_t C>
void check(const std::vector<float>& w, const std::vector<float>& x, const char* what) {
  dendrite::nn::detail::Int8Weights<R, C> dot;
  dendrite::nn::detail::Int8Weights<R, C, false> plain;
  dot.pack(w.data());
  plain.pack(w.data());
  constexpr std::size_t rows = decltype(dot)::rows;
  std::vector<float> b(rows), y(rows, -1.0F), y_plain(rows, -2.0F), y_back(rows, -3.0F);
  for (std::size_t i = 0; i < rows; ++i) b[i] = i < R ? 0.25F * float(i % 5) - 0.5F : 0.0F;
  dot.gemv(x.data(), b.data(), y.data());
  dot.template gemv<true>(x.data(), b.data(), y_back.data());
  plain.gemv(x.data(), b.data(), y_plain.data());

  // the input as documented: m = max |x_j|, r_j = round(x_j (127 / m)) in [-127, 127]
  float m = 0.0F;
  for (const float v : x) m = std::max(m, std::abs(v));
  const float inv = 127.0F / m, t = m / 127.0F;
  for (std::size_t i = 0; i < R; ++i) {
    std::int64_t acc = 0;
    for (std::size_t j = 0; j < C; ++j) {
      const auto r = static_cast<std::int64_t>(std::clamp(std::nearbyint(x[j] * inv), -127.0F,
                                                          127.0F));
      acc += std::int64_t(dot.quantum(i, j)) * r;
    }
    const double ref = double(b[i]) + double(dot.scale(i) * t) * double(acc);
    const double tol = std::ldexp(std::abs(double(b[i])) + std::abs(ref - double(b[i])), -22);
    if (!(std::abs(double(y[i]) - ref) <= tol) || y[i] != y_plain[i] || y[i] != y_back[i]) {
      std::printf("%s, R %zu C %zu, row %zu: expected %.9g (integer sum %lld), got %.9g "
                  "(portable path %.9g, backwards %.9g)\n",
                  what, R, C, i, ref, static_cast<long long>(acc), double(y[i]),
                  double(y_plain[i]), double(y_back[i]));
      ++failures;
      return;
    }
  }
  for (std::size_t i = R; i < rows; ++i) {
    if (y[i] != 0.0F) {
      std::printf("%s, R %zu C %zu: padded row %zu is %.9g, expected 0\n", what, R, C, i,
                  double(y[i]));
      ++failures;
      return;
    }
  }
}

template <std::size_t R, std::size_t C>
void random_case(unsigned seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.0F, 1.0F);
  std::vector<float> w(R * C), x(C);
  for (float& v : w) v = 0.3F * n(rng);
  for (float& v : x) v = scale * n(rng);
  check<R, C>(w, x, "random");
}

// every product +-127^2 (support/int8_extremes.hpp)
template <std::size_t R, std::size_t C>
void extreme_case() {
  std::vector<float> w, x;
  dendrite::test::int8_extremes(R, C, w, x);
  check<R, C>(w, x, "extremes");
}

}  // namespace

int main() {
  random_case<5, 3>(1, 1.0F);
  random_case<13, 7>(2, 1e-3F);
  random_case<21, 5>(3, 1.0F);
  random_case<24, 37>(4, 30.0F);
  random_case<96, 32>(5, 1.0F);    // a GRU's input product at hidden 32
  random_case<195, 65>(6, 1.0F);
  random_case<384, 128>(7, 0.5F);  // a GRU's recurrent product at hidden 128
  extreme_case<13, 5>();
  extreme_case<13, 37>();
  extreme_case<7, 130>();
  std::printf("int8 dot product (%s): %s\n",
              DENDRITE_DETAIL_INT8_AVXVNNI ? "AVX-VNNI VPDPBUSD" : "AVX2 VPMADDUBSW",
              failures == 0 ? "all products as the integer sums" : "FAILED");
  return failures == 0 ? 0 : 1;
}
