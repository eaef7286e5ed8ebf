// SPDX-License-Identifier: MIT
/// @file
/// Forward-mode automatic differentiation with dual numbers, generic over scalars and SIMD batches.
///
/// A dual number a + sum_k v_k e_k with e_j e_k = 0 carries a value a and N partial derivatives v.
/// Evaluating f on x = (x0, seed e_k) gives f(x0) and df/dx_k in one pass, because every
/// elementary function obeys f(a + v e) = f(a) + f'(a) v e (each rule is written next to its
/// function below). `Dual<T, N>` takes any `Real T`: with `T = xsimd::batch<double>` one evaluation
/// yields the derivatives at `lanes_v<T>` points at once. T may itself be a Dual, so
/// `Dual<Dual<double, 1>, 1>` gives second derivatives.
///
/// Kinks: `abs` uses derivative +1 at 0, `relu`/`leaky_relu` use the left derivative at 0, and
/// `min`/`max` follow the first argument on ties. Comparisons compare values only and return the
/// value type's mask (`bool` or `xsimd::batch_bool`).
///
/// Eigen: include <dendrite/autodiff/dual_eigen.hpp> to use Dual as an Eigen scalar.
#pragma once

#include <array>
#include <cstddef>
#include <type_traits>

#include <dendrite/config.hpp>
#include <dendrite/core/math.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>

namespace dendrite::autodiff {

template <class T, int N>
struct Dual;

/// True for Dual<T, N>.
template <class T>
struct is_dual : std::false_type {};
template <class T, int N>
struct is_dual<Dual<T, N>> : std::true_type {};
template <class T>
inline constexpr bool is_dual_v = is_dual<T>::value;

/// What a Dual may hold: a Real (scalar or batch) or, for higher derivatives, another Dual.
template <class T>
concept DualValue = Real<T> || is_dual_v<T>;

/// A value and N partial derivatives (see the file comment).
template <class T, int N>
struct Dual {
  static_assert(DualValue<T>,
                "Dual<T, N>: T must be float, double, an xsimd batch of them, or a Dual");
  static_assert(N >= 1, "Dual<T, N>: need at least one partial derivative");
  using value_type = T;
  static constexpr int size = N;

  T a{};                 ///< value
  std::array<T, N> v{};  ///< partial derivatives

  constexpr Dual() = default;
  /// A constant: value `value`, all partials 0.
  constexpr explicit Dual(const T& value) : a(value) {}
  /// A variable: value `value`, partial k equal to 1 (the seed of direction k).
  constexpr Dual(const T& value, int k) : a(value) { v[static_cast<std::size_t>(k)] = T(1); }
  constexpr Dual(const T& value, const std::array<T, N>& partials) : a(value), v(partials) {}

  // a + v e  (+=)  b + w e  =  (a + b) + (v + w) e
  Dual& operator+=(const Dual& o) noexcept {
    a = a + o.a;
    for (std::size_t k = 0; k < N; ++k)
      v[k] = v[k] + o.v[k];
    return *this;
  }
  Dual& operator-=(const Dual& o) noexcept {
    a = a - o.a;
    for (std::size_t k = 0; k < N; ++k)
      v[k] = v[k] - o.v[k];
    return *this;
  }
  // (a + v e)(b + w e) = ab + (a w + b v) e
  Dual& operator*=(const Dual& o) noexcept {
    for (std::size_t k = 0; k < N; ++k)
      v[k] = a * o.v[k] + o.a * v[k];
    a = a * o.a;
    return *this;
  }
  // (a + v e) / (b + w e) = a/b + (v - (a/b) w) / b e
  Dual& operator/=(const Dual& o) noexcept {
    const T inv = T(1) / o.a;
    const T q = a * inv;
    for (std::size_t k = 0; k < N; ++k)
      v[k] = (v[k] - q * o.v[k]) * inv;
    a = q;
    return *this;
  }
  Dual& operator+=(const T& s) noexcept {
    a = a + s;
    return *this;
  }
  Dual& operator-=(const T& s) noexcept {
    a = a - s;
    return *this;
  }
  Dual& operator*=(const T& s) noexcept {
    a = a * s;
    for (auto& x : v)
      x = x * s;
    return *this;
  }
  Dual& operator/=(const T& s) noexcept {
    const T inv = T(1) / s;
    return *this *= inv;
  }
};

namespace detail {

/// The plain number type a Dual bottoms out in (double for Dual<Dual<double, 1>, 1>).
template <class T>
struct base_real {
  using type = T;
};
template <class T, int N>
struct base_real<Dual<T, N>> {
  using type = typename base_real<T>::type;
};

/// An arithmetic constant converted to T (through nested Duals as constants).
template <class T>
[[nodiscard]] constexpr T constant(double c) noexcept {
  if constexpr (is_dual_v<T>) {
    return T(constant<typename T::value_type>(c));
  } else {
    return broadcast<T>(c);
  }
}

}  // namespace detail

// ---- arithmetic ------------------------------------------------------------------------------

template <class T, int N>
[[nodiscard]] Dual<T, N> operator+(const Dual<T, N>& x) noexcept {
  return x;
}
template <class T, int N>
[[nodiscard]] Dual<T, N> operator-(const Dual<T, N>& x) noexcept {
  Dual<T, N> r(-x.a);
  for (std::size_t k = 0; k < N; ++k)
    r.v[k] = -x.v[k];
  return r;
}
#define DENDRITE_DUAL_BINARY(op)                                                                   \
  template <class T, int N>                                                                        \
  [[nodiscard]] Dual<T, N> operator op(Dual<T, N> x, const Dual<T, N>& y) noexcept {               \
    return x op## = y;                                                                             \
  }                                                                                                \
  template <class T, int N>                                                                        \
  [[nodiscard]] Dual<T, N> operator op(Dual<T, N> x, const std::type_identity_t<T>& s) noexcept {  \
    return x op## = s;                                                                             \
  }                                                                                                \
  template <class T, int N, class S>                                                               \
  requires(std::is_arithmetic_v<S> && !std::is_same_v<S, T>) [[nodiscard]] Dual<T, N> operator op( \
      Dual<T, N> x, S s) noexcept {                                                                \
    return x op## = detail::constant<T>(double(s));                                                \
  }
DENDRITE_DUAL_BINARY(+)
DENDRITE_DUAL_BINARY(-)
DENDRITE_DUAL_BINARY(*)
DENDRITE_DUAL_BINARY(/)
#undef DENDRITE_DUAL_BINARY

// s + x, s * x: commute
template <class T, int N>
[[nodiscard]] Dual<T, N> operator+(const std::type_identity_t<T>& s, Dual<T, N> x) noexcept {
  return x += s;
}
template <class T, int N>
[[nodiscard]] Dual<T, N> operator*(const std::type_identity_t<T>& s, Dual<T, N> x) noexcept {
  return x *= s;
}
template <class T, int N, class S>
requires(std::is_arithmetic_v<S> && !std::is_same_v<S, T>) [[nodiscard]] Dual<T, N> operator+(
    S s, Dual<T, N> x) noexcept {
  return x += detail::constant<T>(double(s));
}
template <class T, int N, class S>
requires(std::is_arithmetic_v<S> && !std::is_same_v<S, T>) [[nodiscard]] Dual<T, N> operator*(
    S s, Dual<T, N> x) noexcept {
  return x *= detail::constant<T>(double(s));
}
// s - x = -(x - s)
template <class T, int N>
[[nodiscard]] Dual<T, N> operator-(const std::type_identity_t<T>& s, const Dual<T, N>& x) noexcept {
  return -(x - s);
}
template <class T, int N, class S>
requires(std::is_arithmetic_v<S> && !std::is_same_v<S, T>) [[nodiscard]] Dual<T, N> operator-(
    S s, const Dual<T, N>& x) noexcept {
  return -(x - detail::constant<T>(double(s)));
}
// s / (b + w e) = s/b - (s/b^2) w e
template <class T, int N>
[[nodiscard]] Dual<T, N> operator/(const std::type_identity_t<T>& s, const Dual<T, N>& x) noexcept {
  return Dual<T, N>(s) / x;
}
template <class T, int N, class S>
requires(std::is_arithmetic_v<S> && !std::is_same_v<S, T>) [[nodiscard]] Dual<T, N> operator/(
    S s, const Dual<T, N>& x) noexcept {
  return Dual<T, N>(detail::constant<T>(double(s))) / x;
}

// ---- comparisons: values only ----------------------------------------------------------------

#define DENDRITE_DUAL_COMPARE(op)                                                                  \
  template <class T, int N>                                                                        \
  [[nodiscard]] auto operator op(const Dual<T, N>& x, const Dual<T, N>& y) noexcept {              \
    return x.a op y.a;                                                                             \
  }                                                                                                \
  template <class T, int N>                                                                        \
  [[nodiscard]] auto operator op(const Dual<T, N>& x, const std::type_identity_t<T>& s) noexcept { \
    return x.a op s;                                                                               \
  }                                                                                                \
  template <class T, int N>                                                                        \
  [[nodiscard]] auto operator op(const std::type_identity_t<T>& s, const Dual<T, N>& x) noexcept { \
    return s op x.a;                                                                               \
  }
DENDRITE_DUAL_COMPARE(<)
DENDRITE_DUAL_COMPARE(<=)
DENDRITE_DUAL_COMPARE(>)
DENDRITE_DUAL_COMPARE(>=)
DENDRITE_DUAL_COMPARE(==)
DENDRITE_DUAL_COMPARE(!=)
#undef DENDRITE_DUAL_COMPARE

// ---- elementary functions --------------------------------------------------------------------

// Declared ahead: the value-level forwarders below call them for nested Duals.
#define DENDRITE_DUAL_DECLARE(name) \
  template <class T, int N>         \
  [[nodiscard]] Dual<T, N> name(const Dual<T, N>& x) noexcept;
DENDRITE_DUAL_DECLARE(exp)
DENDRITE_DUAL_DECLARE(log)
DENDRITE_DUAL_DECLARE(log1p)
DENDRITE_DUAL_DECLARE(expm1)
DENDRITE_DUAL_DECLARE(sqrt)
DENDRITE_DUAL_DECLARE(sin)
DENDRITE_DUAL_DECLARE(cos)
DENDRITE_DUAL_DECLARE(tanh)
DENDRITE_DUAL_DECLARE(sigmoid)
#undef DENDRITE_DUAL_DECLARE
template <class T, int N>
[[nodiscard]] Dual<T, N> select(const decltype(std::declval<T>() < std::declval<T>())& m,
                                const Dual<T, N>& x, const Dual<T, N>& y) noexcept;

namespace detail {

/// Value-level function call: dendrite:: for a Real (with its batch safety), autodiff:: for a
/// nested Dual. Qualified on purpose: unqualified lookup would let ADL pick raw xsimd kernels.
#define DENDRITE_DUAL_FORWARD(name)                \
  template <class T>                               \
  [[nodiscard]] T name##_of(const T& x) noexcept { \
    if constexpr (is_dual_v<T>) {                  \
      return ::dendrite::autodiff::name(x);        \
    } else {                                       \
      return ::dendrite::name(x);                  \
    }                                              \
  }
DENDRITE_DUAL_FORWARD(exp)
DENDRITE_DUAL_FORWARD(log)
DENDRITE_DUAL_FORWARD(log1p)
DENDRITE_DUAL_FORWARD(expm1)
DENDRITE_DUAL_FORWARD(sqrt)
DENDRITE_DUAL_FORWARD(sin)
DENDRITE_DUAL_FORWARD(cos)
DENDRITE_DUAL_FORWARD(tanh)
DENDRITE_DUAL_FORWARD(sigmoid)
#undef DENDRITE_DUAL_FORWARD

template <class T>
[[nodiscard]] T select_of(const decltype(std::declval<T>() < std::declval<T>())& m, const T& a,
                          const T& b) noexcept {
  if constexpr (is_dual_v<T>) {
    return ::dendrite::autodiff::select(m, a, b);
  } else {
    return ::dendrite::select<T>(m, a, b);
  }
}

/// f(a + v e) = f(a) + f'(a) v e, given f(a) and f'(a).
template <class T, int N>
[[nodiscard]] Dual<T, N> chain(const T& fa, const T& dfa, const Dual<T, N>& x) noexcept {
  Dual<T, N> r(fa);
  for (std::size_t k = 0; k < N; ++k)
    r.v[k] = dfa * x.v[k];
  return r;
}

}  // namespace detail

/// Lane-wise m ? x : y, value and partials alike. m compares values (`x < y` on Duals).
template <class T, int N>
[[nodiscard]] Dual<T, N> select(const decltype(std::declval<T>() < std::declval<T>())& m,
                                const Dual<T, N>& x, const Dual<T, N>& y) noexcept {
  Dual<T, N> r(detail::select_of<T>(m, x.a, y.a));
  for (std::size_t k = 0; k < N; ++k)
    r.v[k] = detail::select_of<T>(m, x.v[k], y.v[k]);
  return r;
}

// exp(a + v e) = e^a + e^a v e
template <class T, int N>
[[nodiscard]] Dual<T, N> exp(const Dual<T, N>& x) noexcept {
  const T e = detail::exp_of(x.a);
  return detail::chain(e, e, x);
}
// log(a + v e) = log a + v / a e
template <class T, int N>
[[nodiscard]] Dual<T, N> log(const Dual<T, N>& x) noexcept {
  return detail::chain(detail::log_of(x.a), T(1) / x.a, x);
}
// log1p(a + v e) = log1p a + v / (1 + a) e
template <class T, int N>
[[nodiscard]] Dual<T, N> log1p(const Dual<T, N>& x) noexcept {
  return detail::chain(detail::log1p_of(x.a), T(1) / (T(1) + x.a), x);
}
// expm1(a + v e) = expm1 a + e^a v e
template <class T, int N>
[[nodiscard]] Dual<T, N> expm1(const Dual<T, N>& x) noexcept {
  const T em = detail::expm1_of(x.a);
  return detail::chain(em, em + T(1), x);
}
// sqrt(a + v e) = sqrt a + v / (2 sqrt a) e
template <class T, int N>
[[nodiscard]] Dual<T, N> sqrt(const Dual<T, N>& x) noexcept {
  const T s = detail::sqrt_of(x.a);
  return detail::chain(s, T(1) / (s + s), x);
}
// sin(a + v e) = sin a + cos a v e
template <class T, int N>
[[nodiscard]] Dual<T, N> sin(const Dual<T, N>& x) noexcept {
  return detail::chain(detail::sin_of(x.a), detail::cos_of(x.a), x);
}
// cos(a + v e) = cos a - sin a v e
template <class T, int N>
[[nodiscard]] Dual<T, N> cos(const Dual<T, N>& x) noexcept {
  return detail::chain(detail::cos_of(x.a), -detail::sin_of(x.a), x);
}
// tanh(a + v e) = tanh a + (1 - tanh^2 a) v e
template <class T, int N>
[[nodiscard]] Dual<T, N> tanh(const Dual<T, N>& x) noexcept {
  const T t = detail::tanh_of(x.a);
  return detail::chain(t, T(1) - t * t, x);
}
// sigmoid(a + v e) = s + s (1 - s) v e,  s = sigmoid a
template <class T, int N>
[[nodiscard]] Dual<T, N> sigmoid(const Dual<T, N>& x) noexcept {
  const T s = detail::sigmoid_of(x.a);
  return detail::chain(s, s * (T(1) - s), x);
}
// softplus(a + v e) = softplus a + sigmoid a v e;  softplus a = max(a, 0) + log1p(e^-|a|)
template <class T, int N>
[[nodiscard]] Dual<T, N> softplus(const Dual<T, N>& x) noexcept {
  const T zero(0);
  const T pos = detail::select_of<T>(x.a > zero, x.a, zero);
  const T neg_abs = detail::select_of<T>(x.a > zero, -x.a, x.a);
  return detail::chain(pos + detail::log1p_of(detail::exp_of(neg_abs)), detail::sigmoid_of(x.a), x);
}
// |a + v e| = |a| + sign(a) v e, sign(0) = 0 (PyTorch's subgradient, as the tape's abs)
template <class T, int N>
[[nodiscard]] Dual<T, N> abs(const Dual<T, N>& x) noexcept {
  const T zero(0);
  const T one(1);
  const T sign =
      detail::select_of<T>(x.a > zero, one, detail::select_of<T>(x.a < zero, -one, zero));
  return detail::chain(detail::select_of<T>(x.a < zero, -x.a, x.a), sign, x);
}
// relu: derivative 1 for a > 0, else 0
template <class T, int N>
[[nodiscard]] Dual<T, N> relu(const Dual<T, N>& x) noexcept {
  return select(x.a > T(0), x, Dual<T, N>());
}
// leaky_relu: derivative 1 for a > 0, else slope
template <class T, int N>
[[nodiscard]] Dual<T, N> leaky_relu(const Dual<T, N>& x, double slope = 0.01) noexcept {
  return select(x.a > T(0), x, x * detail::constant<T>(slope));
}
// (a + v e)^2 = a^2 + 2 a v e
template <class T, int N>
[[nodiscard]] Dual<T, N> square(const Dual<T, N>& x) noexcept {
  return detail::chain(x.a * x.a, x.a + x.a, x);
}
// (a + v e)^p = a^p + p a^(p-1) v e, p constant
template <class T, int N>
[[nodiscard]] Dual<T, N> pow(const Dual<T, N>& x, double p) noexcept {
  const T ap = detail::exp_of(detail::log_of(x.a) * detail::constant<T>(p));
  return detail::chain(ap, detail::constant<T>(p) * ap / x.a, x);
}
// (a + v e)^(b + w e) = a^b + a^b (w log a + b v / a) e,  a > 0
template <class T, int N>
[[nodiscard]] Dual<T, N> pow(const Dual<T, N>& x, const Dual<T, N>& y) noexcept {
  return exp(y * log(x));
}
// x y + z
template <class T, int N>
[[nodiscard]] Dual<T, N> fma(const Dual<T, N>& x, const Dual<T, N>& y,
                             const Dual<T, N>& z) noexcept {
  return x * y + z;
}
// the smaller value's partials (x's on ties)
template <class T, int N>
[[nodiscard]] Dual<T, N> min(const Dual<T, N>& x, const Dual<T, N>& y) noexcept {
  return select(y.a < x.a, y, x);
}
// the larger value's partials (x's on ties)
template <class T, int N>
[[nodiscard]] Dual<T, N> max(const Dual<T, N>& x, const Dual<T, N>& y) noexcept {
  return select(x.a < y.a, y, x);
}
/// x limited to [lo, hi]
template <class T, int N>
[[nodiscard]] Dual<T, N> clamp(const Dual<T, N>& x, const Dual<T, N>& lo,
                               const Dual<T, N>& hi) noexcept {
  return min(max(x, lo), hi);
}

// ---- helpers ---------------------------------------------------------------------------------

/// df/dx at x, for f taking and returning Dual<T, 1>.
template <DualValue T, class F>
[[nodiscard]] T derivative(F&& f, const T& x) {
  return f(Dual<T, 1>(x, 0)).v[0];
}

}  // namespace dendrite::autodiff
