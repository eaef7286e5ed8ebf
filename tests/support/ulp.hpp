// SPDX-License-Identifier: MIT
/// @file
/// Error of a computed value in units in the last place (ULP) of its type, against a reference
/// computed in higher precision. Below the smallest normal number the ULP is taken as that of the
/// smallest normal (the usual convention: denormal results are judged on an absolute scale).
#pragma once

#include <cmath>
#include <limits>

namespace dendrite::test {

template <class T>
double ulp_error(T got, long double ref) {
  if (std::isnan(ref)) {
    return std::isnan(got) ? 0.0 : std::numeric_limits<double>::infinity();
  }
  const T ref_t = static_cast<T>(ref);
  if (std::isinf(ref_t)) {
    return got == ref_t ? 0.0 : std::numeric_limits<double>::infinity();
  }
  if (!std::isfinite(got)) {
    return std::numeric_limits<double>::infinity();
  }
  const T mag = std::max(std::abs(ref_t), std::numeric_limits<T>::min());
  const long double spacing =
      static_cast<long double>(std::nextafter(mag, std::numeric_limits<T>::infinity())) - mag;
  return static_cast<double>(std::abs(static_cast<long double>(got) - ref) / spacing);
}

}  // namespace dendrite::test
