// SPDX-License-Identifier: MIT
/// @file
/// IEEE-754 binary16 ("half", torch.float16) storage: 1 sign, 5 exponent (bias 15) and 10
/// mantissa bits; normal magnitudes 2^-14 (6.1e-5) to 65504, subnormals down to 2^-24.
///   to_f16(f)   rounds to nearest, ties to even (as F16C's VCVTPS2PH with its default
///               rounding, and as PyTorch's .half()): |to_float(to_f16(f)) - f| is at most
///               2^-11 |f| for 2^-14 <= |f| <= 65504 and at most 2^-25 below 2^-14 (half the
///               subnormal spacing); NaN stays NaN (quiet), +-Inf stays +-Inf, and a finite f
///               that rounds past 65504 (|f| >= 65520) becomes +-Inf.
///   to_float(h) is exact.
/// Against bfloat16 (core/bf16.hpp): 8 times finer (11 significant bits against 8) over a far
/// smaller range. Only storage: arithmetic stays in float (see nn/packed_gru.hpp).
#pragma once

#include <bit>
#include <cstdint>

namespace dendrite {

/// An IEEE binary16 value as its 16 bits.
struct f16 {
  std::uint16_t bits = 0;
  friend constexpr bool operator==(f16, f16) = default;
};

/// f rounded to the nearest f16, ties to even; NaN gives a quiet NaN of the same sign.
[[nodiscard]] constexpr f16 to_f16(float f) noexcept {
  const auto u = std::bit_cast<std::uint32_t>(f);
  const auto sign = static_cast<std::uint16_t>((u >> 16) & 0x8000U);
  const std::uint32_t a = u & 0x7fffffffU;
  if (a > 0x7f800000U) {  // NaN: the quiet bit and the top of the payload
    return f16{static_cast<std::uint16_t>(sign | 0x7e00U | ((a >> 13) & 0x3ffU))};
  }
  if (a >= 0x477ff000U) {  // 65520 and up (Inf too): past the last f16's tie, to Inf
    return f16{static_cast<std::uint16_t>(sign | 0x7c00U)};
  }
  if (a >= 0x38800000U) {  // 2^-14 and up: normal; rebias the exponent (127 -> 15) and round
    const std::uint32_t round = 0xfffU + ((a >> 13) & 1U);  // ties to even
    return f16{static_cast<std::uint16_t>(sign | ((a - (112U << 23) + round) >> 13))};
  }
  // below 2^-14: count units of 2^-24 by adding 0.5, whose float ulp is 2^-24; the float sum
  // rounds to nearest, ties to even (1024 units carry into the smallest normal, 0x0400)
  const float units = std::bit_cast<float>(a) + 0.5F;
  return f16{
      static_cast<std::uint16_t>(sign | (std::bit_cast<std::uint32_t>(units) - 0x3f000000U))};
}

/// The float an f16 stands for (exact).
[[nodiscard]] constexpr float to_float(f16 h) noexcept {
  const std::uint32_t sign = std::uint32_t(h.bits & 0x8000U) << 16;
  const std::uint32_t e = (h.bits >> 10) & 0x1fU, m = h.bits & 0x3ffU;
  if (e == 0x1fU) {  // Inf, NaN (the payload kept)
    return std::bit_cast<float>(sign | 0x7f800000U | (m << 13));
  }
  if (e == 0) {  // zero or subnormal: m 2^-24, exact in float
    const float v = float(m) * 0x1p-24F;
    return sign != 0 ? -v : v;
  }
  return std::bit_cast<float>(sign | ((e + 112U) << 23) | (m << 13));
}

}  // namespace dendrite
