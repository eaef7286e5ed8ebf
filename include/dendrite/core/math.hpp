// SPDX-License-Identifier: MIT
/// @file
/// Elementwise math for every `Real` type, one spelling for scalars and SIMD batches:
/// `dendrite::tanh(x)` calls `std::tanh` for a `float` and `xsimd::tanh` for a batch.
///
/// Besides the standard functions it provides the activations the models need, written so that
/// they cannot overflow:
///   sigmoid(x)  = 1 / (1 + e^-x)    computed as select(x >= 0, 1 / (1 + e), e / (1 + e)),
///                                   e = e^-|x|
///   softplus(x) = log(1 + e^x)      computed as max(x, 0) + log1p(e^-|x|)
///   relu(x) = max(x, 0),  leaky_relu(x, a) = x > 0 ? x : a x
/// Accuracy, checked lane by lane against the standard library in long double (tests/core):
///  - exp, log, log1p, expm1, sin, cos: at most 2 ULP; tanh, sigmoid, softplus: at most 3 ULP;
///    sqrt correctly rounded; abs, min, max, clamp, relu exact.
///  - pow(x, y) on batches is exp(y log x), so its error grows with the exponent:
///    at most 3 + |y ln x| ULP (scalars use std::pow, about 1 ULP).
///  - Batch kernels may flush results below the smallest normal number to zero (an absolute
///    error below `std::numeric_limits<S>::min()`): e.g. exp(-100.f) returns 0 on a batch.
#pragma once

#include <dendrite/core/detail/intrinsics_warnings_begin.hpp>  // GCC PR 105593

#include <cmath>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include <dendrite/config.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>

namespace dendrite {

// The two `using` declarations let overload resolution pick std:: for scalars and xsimd:: for
// batches from one body (RTNeural's idiom; ceres does the same with namespace-scope usings).
#define DENDRITE_DETAIL_UNARY(name)                                 \
  template <Real T>                                                 \
  [[nodiscard]] DENDRITE_FORCE_INLINE T name(const T& x) noexcept { \
    using std::name;                                                \
    using xsimd::name;                                              \
    return name(x);                                                 \
  }

/// natural logarithm
DENDRITE_DETAIL_UNARY(log)
/// log(1 + x), accurate for small x
DENDRITE_DETAIL_UNARY(log1p)
/// square root
DENDRITE_DETAIL_UNARY(sqrt)
/// |x|
DENDRITE_DETAIL_UNARY(abs)
/// sine (radians)
DENDRITE_DETAIL_UNARY(sin)
/// cosine (radians)
DENDRITE_DETAIL_UNARY(cos)

#undef DENDRITE_DETAIL_UNARY

namespace detail {

/// Evaluates the xsimd kernel `f` on a batch whose lanes are first limited to [lo, hi], with NaN
/// lanes passed through untouched. xsimd 8.1's exp-family kernels convert x / ln 2 to an integer,
/// which is undefined behaviour for huge, infinite or NaN lanes; outside [lo, hi] the function is
/// already at its limit, so clamping changes no result.
template <Real T, class F>
[[nodiscard]] DENDRITE_FORCE_INLINE T eval_clamped(const T& x, double lo, double hi, F f) noexcept {
  const auto nan = xsimd::isnan(x);
  const T safe =
      xsimd::select(nan, T(0), xsimd::min(xsimd::max(x, broadcast<T>(lo)), broadcast<T>(hi)));
  return xsimd::select(nan, x, f(safe));
}

template <Real T>
inline constexpr double exp_lo = std::is_same_v<scalar_t<T>, float> ? -110.0 : -760.0;  // e^lo == 0
template <Real T>
inline constexpr double exp_hi = std::is_same_v<scalar_t<T>, float> ? 100.0 : 720.0;  // e^hi == Inf

}  // namespace detail

/// e^x
template <Real T>
[[nodiscard]] DENDRITE_FORCE_INLINE T exp(const T& x) noexcept {
  if constexpr (is_batch_v<T>) {
    return detail::eval_clamped(x, detail::exp_lo<T>, detail::exp_hi<T>,
                                [](const T& v) DENDRITE_FORCE_INLINE_LAMBDA { return xsimd::exp(v); });
  } else {
    return std::exp(x);
  }
}

/// hyperbolic tangent. For batches the argument is first limited to [-20, 20], where tanh is
/// already +-1 in double precision (xsimd 8.1 would convert a huge |x| to an integer: UB).
template <Real T>
[[nodiscard]] DENDRITE_FORCE_INLINE T tanh(const T& x) noexcept {
  if constexpr (is_batch_v<T>) {
    return detail::eval_clamped(x, -20.0, 20.0, [](const T& v) DENDRITE_FORCE_INLINE_LAMBDA { return xsimd::tanh(v); });
  } else {
    return std::tanh(x);
  }
}

/// e^x - 1, accurate for small x
template <Real T>
[[nodiscard]] DENDRITE_FORCE_INLINE T expm1(const T& x) noexcept {
  if constexpr (is_batch_v<T>) {
    return detail::eval_clamped(x, detail::exp_lo<T>, detail::exp_hi<T>,
                                [](const T& v) DENDRITE_FORCE_INLINE_LAMBDA { return xsimd::expm1(v); });
  } else {
    return std::expm1(x);
  }
}

/// x^y
template <Real T>
[[nodiscard]] DENDRITE_FORCE_INLINE T pow(const T& x, const T& y) noexcept {
  using std::pow;
  using xsimd::pow;
  return pow(x, y);
}

/// a * b + c. Fused (one rounding) for scalars, and for batches whenever the target has FMA
/// instructions (`__FMA__`); otherwise batches compute a * b + c with two roundings.
/// (xsimd 8.1 itself does not fuse on AVX-512 targets, hence the intrinsics below.)
template <Real T>
[[nodiscard]] DENDRITE_FORCE_INLINE T fma(const T& a, const T& b, const T& c) noexcept {
  if constexpr (is_batch_v<T>) {
#if defined(__FMA__)
    using S = scalar_t<T>;
    constexpr bool is_f = std::is_same_v<S, float>;
    if constexpr (sizeof(T) == 64) {
#if defined(__AVX512F__)
      if constexpr (is_f) {
        return T(_mm512_fmadd_ps(a, b, c));
      } else {
        return T(_mm512_fmadd_pd(a, b, c));
      }
#endif
    } else if constexpr (sizeof(T) == 32) {
      if constexpr (is_f) {
        return T(_mm256_fmadd_ps(a, b, c));
      } else {
        return T(_mm256_fmadd_pd(a, b, c));
      }
    } else if constexpr (sizeof(T) == 16) {
      if constexpr (is_f) {
        return T(_mm_fmadd_ps(a, b, c));
      } else {
        return T(_mm_fmadd_pd(a, b, c));
      }
    }
#endif
    return xsimd::fma(a, b, c);
  } else {
    return std::fma(a, b, c);
  }
}

/// a * b + c for scalars in loops that should vectorise: one FMA instruction where the target
/// has them (`__FMA__`), else a * b + c with two roundings. std::fma there is a call per element
/// (glibc picks the instruction at run time), which keeps the loop scalar.
template <class S>
  requires std::is_floating_point_v<S>
[[nodiscard]] DENDRITE_FORCE_INLINE S muladd(S a, S b, S c) noexcept {
#if defined(__FMA__)
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

/// The smaller of a and b, lane-wise.
template <Real T>
[[nodiscard]] DENDRITE_FORCE_INLINE T min(const T& a, const T& b) noexcept {
  if constexpr (is_batch_v<T>) {
    return xsimd::min(a, b);
  } else {
    return b < a ? b : a;
  }
}

/// The larger of a and b, lane-wise.
template <Real T>
[[nodiscard]] DENDRITE_FORCE_INLINE T max(const T& a, const T& b) noexcept {
  if constexpr (is_batch_v<T>) {
    return xsimd::max(a, b);
  } else {
    return a < b ? b : a;
  }
}

/// x limited to [lo, hi]. Precondition: lo <= hi.
template <Real T>
[[nodiscard]] DENDRITE_FORCE_INLINE T clamp(const T& x, const T& lo, const T& hi) noexcept {
  return dendrite::min(dendrite::max(x, lo), hi);
}

/// x * x
template <Real T>
[[nodiscard]] DENDRITE_FORCE_INLINE T square(const T& x) noexcept {
  return x * x;
}

/// Logistic function 1 / (1 + e^-x). Finite for every finite x: e^-|x| never overflows.
template <Real T>
[[nodiscard]] DENDRITE_FORCE_INLINE T sigmoid(const T& x) noexcept {
  const T one = broadcast<T>(1.0);
  const T e = dendrite::exp(-dendrite::abs(x));  // in (0, 1]
  const T r = one / (one + e);
  return dendrite::select<T>(x >= T(0), r, e * r);
}

/// log(1 + e^x). Finite for every finite x; equals x to rounding for large x.
template <Real T>
[[nodiscard]] DENDRITE_FORCE_INLINE T softplus(const T& x) noexcept {
  return dendrite::max(x, T(0)) + dendrite::log1p(dendrite::exp(-dendrite::abs(x)));
}

/// max(x, 0)
template <Real T>
[[nodiscard]] DENDRITE_FORCE_INLINE T relu(const T& x) noexcept {
  return dendrite::max(x, T(0));
}

/// x for x > 0, slope * x otherwise (PyTorch's LeakyReLU; default slope 0.01).
template <Real T>
[[nodiscard]] DENDRITE_FORCE_INLINE T leaky_relu(const T& x,
                                                 scalar_t<T> slope = scalar_t<T>(0.01)) noexcept {
  return dendrite::select<T>(x > T(0), x, T(slope) * x);
}

}  // namespace dendrite

#include <dendrite/core/detail/intrinsics_warnings_end.hpp>
