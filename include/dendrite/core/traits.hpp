// SPDX-License-Identifier: MIT
/// @file
/// The `Real` concept and the traits that tell a plain floating-point number from an xsimd batch:
/// `scalar_t<T>` (the element type), `lanes_v<T>` (1 for scalars, the batch width otherwise),
/// `mask_t<T>` (what a comparison returns) and `is_batch_v<T>`.
///
/// A batch type means lanes run independent instances in lockstep: one step over
/// `xsimd::batch<float>` advances `lanes_v<xsimd::batch<float>>` independent streams.
#pragma once

#include <concepts>
#include <cstddef>
#include <type_traits>

#include <xsimd/xsimd.hpp>

namespace dendrite {

/// True for `xsimd::batch<T, A>`.
template <class T>
struct is_batch : std::false_type {};
template <class T, class A>
struct is_batch<xsimd::batch<T, A>> : std::true_type {};
template <class T>
inline constexpr bool is_batch_v = is_batch<T>::value;

/// The floating-point element type: `T` for `float`/`double`, the lane type for a batch.
template <class T>
struct scalar {
  using type = T;
};
template <class T, class A>
struct scalar<xsimd::batch<T, A>> {
  using type = T;
};
template <class T>
using scalar_t = typename scalar<T>::type;

/// The number type dendrite's kernels accept: `float`, `double`,
/// `xsimd::batch<float, A>` or `xsimd::batch<double, A>` for any architecture `A`.
/// `int`, `long double` and other types are rejected at compile time.
template <class T>
concept Real = std::same_as<T, float> || std::same_as<T, double> ||
    (is_batch_v<T> && (std::same_as<scalar_t<T>, float> || std::same_as<scalar_t<T>, double>));

/// How many independent values one `T` holds: 1 for a scalar, the batch width otherwise.
template <class T>
inline constexpr std::size_t lanes_v = 1;
template <class T, class A>
inline constexpr std::size_t lanes_v<xsimd::batch<T, A>> = xsimd::batch<T, A>::size;

/// What a comparison of two `T` yields: `bool` for scalars, `xsimd::batch_bool` for batches.
template <class T>
struct mask {
  using type = bool;
};
template <class T, class A>
struct mask<xsimd::batch<T, A>> {
  using type = xsimd::batch_bool<T, A>;
};
template <class T>
using mask_t = typename mask<T>::type;

/// The default-architecture batches, as the compile flags chose them (SSE2 without flags).
using batchf = xsimd::batch<float>;
using batchd = xsimd::batch<double>;

/// The name of the SIMD instruction set xsimd chose at compile time ("sse2", "avx2", ...).
[[nodiscard]] inline const char* simd_arch_name() noexcept {
  return xsimd::default_arch::name();
}

}  // namespace dendrite
