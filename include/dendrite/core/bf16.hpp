// SPDX-License-Identifier: MIT
/// @file
/// bfloat16 storage: the top 16 bits of an IEEE-754 binary32 (1 sign, 8 exponent, 7 mantissa
/// bits), the format of PyTorch's torch.bfloat16 and of AVX512-BF16.
///   to_bf16(f)  rounds to nearest, ties to even: |to_float(to_bf16(f)) - f| <= 2^-8 |f| (half
///               an ulp of an 8-bit significand) for every normal f; NaN stays NaN (quiet), +-Inf
///               stays +-Inf, and a finite f whose magnitude rounds past the largest bf16
///               (about 3.39e38) becomes +-Inf, as PyTorch does.
///   to_float(b) is exact: the 16 bits shifted up, the low 16 bits zero.
/// Only storage: arithmetic stays in float (see nn/packed_gru.hpp).
#pragma once

#include <bit>
#include <cstdint>

namespace dendrite {

/// A bfloat16 value as its 16 bits.
struct bf16 {
  std::uint16_t bits = 0;
  friend constexpr bool operator==(bf16, bf16) = default;
};

/// f rounded to the nearest bf16, ties to even; NaN gives a quiet NaN of the same sign.
[[nodiscard]] constexpr bf16 to_bf16(float f) noexcept {
  const auto u = std::bit_cast<std::uint32_t>(f);
  if ((u & 0x7fffffffU) > 0x7f800000U) {  // NaN: keep the sign, set the quiet bit
    return bf16{static_cast<std::uint16_t>((u >> 16) | 0x0040U)};
  }
  const std::uint32_t round = 0x7fffU + ((u >> 16) & 1U);  // ties to even
  return bf16{static_cast<std::uint16_t>((u + round) >> 16)};
}

/// The float a bf16 stands for (exact).
[[nodiscard]] constexpr float to_float(bf16 b) noexcept {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b.bits) << 16);
}

}  // namespace dendrite
