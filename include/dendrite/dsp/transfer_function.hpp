// SPDX-License-Identifier: MIT
/// @file
/// A transfer function's coefficients as second-order sections: SciPy's `tf2sos(b, a)`, for
/// filters designed elsewhere (MATLAB's `[b, a] = butter(...)`, a colleague's pipeline) that
/// `SOSFilter` and `sosfiltfilt` should run. The transfer function is
///   H(z) = (b[0] + b[1] z^-1 + ... + b[M] z^-M) / (a[0] + a[1] z^-1 + ... + a[N] z^-N),
/// and the result has one row [b0 b1 b2 1 a1 a2] per section, as `butter` returns them.
/// As SciPy's `tf2zpk` then `zpk2sos`: b and a divided by a[0], the gain is k = b[0] / a[0],
/// the zeros and poles are the roots of b and a (numpy's `roots`: trailing zero coefficients
/// give roots at 0, the rest are the eigenvalues of the companion matrix, balanced first as
/// LAPACK's `dgeev` balances), and they are paired into sections as `butter`'s are (SciPy's
/// 'nearest' pairing; the gain in the first section). Where SciPy trims leading zeros, a delay
/// in b's is kept and a[0] = 0 is an error (see `tf2sos`).
///
/// A polynomial's roots are only as accurate as its conditioning allows. Distinct roots come
/// out to about eps times their condition number, so the sections equal SciPy's row for row to
/// rounding (within 1e-12 of each row's largest coefficient on nine transfer functions up to
/// degree 8; tests/dsp/test_dsp.cpp, against SciPy 1.10). A root of multiplicity m moves by
/// about eps^(1/m): the m zeros at z = -1 of an order-m Butterworth low-pass become a small
/// cluster, and each section's numerator is off by about that much (about 1e-4 at m = 4), in
/// SciPy as here, though with other rounding, so the rows can differ from SciPy's. The product
/// of the sections is still the transfer function: multiplied out, b and a within 16 N eps of
/// their largest coefficient (degree N), and the response within 10x of the error of SciPy's
/// own sections (2.3x at worst over 35 transfer functions). That is why `butter` designs
/// sections from the poles and zeros directly; prefer sections wherever a design tool gives
/// them (SciPy's `output='sos'`, MATLAB's `zp2sos`).
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include <Eigen/Core>
#include <Eigen/Eigenvalues>

#include <dendrite/core/analysis.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/dsp/design.hpp>

namespace dendrite::dsp {
namespace detail {

// Balances m in place by a diagonal similarity of powers of 2 (Parlett and Reinsch 1969, as
// LAPACK's dgebal scales): each row and column pair is scaled until their off-diagonal 1-norms
// are within a factor of 4, which leaves the eigenvalues and lowers the error a companion
// matrix's spread of coefficients would give them. (A template, as polynomial_roots: a file
// that includes this header and converts nothing instantiates no eigensolver.)
template <class Matrix>
void balance(Matrix& m) {
  const Eigen::Index n = m.rows();
  for (bool done = false; !done;) {
    done = true;
    for (Eigen::Index i = 0; i < n; ++i) {
      double col = 0, row = 0;
      for (Eigen::Index j = 0; j < n; ++j) {
        if (j == i) continue;
        col += std::abs(m(j, i));
        row += std::abs(m(i, j));
      }
      if (col == 0 || row == 0 || !std::isfinite(col + row)) continue;
      const double before = col + row;
      double f = 1;
      while (col < row / 4) {
        col *= 2;
        row /= 2;
        f *= 2;
      }
      while (col >= row * 4) {
        col /= 2;
        row *= 2;
        f /= 2;
      }
      if (col + row < 0.95 * before) {
        done = false;
        m.col(i) *= f;
        m.row(i) /= f;
      }
    }
  }
}

// The roots of c[0] x^n + c[1] x^(n-1) + ... + c[n], c[0] != 0, as numpy's `roots`: one root
// at 0 per trailing zero coefficient, then the eigenvalues of the balanced companion matrix
// (first row -c[1..n] / c[0], ones below the diagonal). Complex roots come in exact conjugate
// pairs (each from one 2 x 2 block of the real Schur form).
template <class Matrix = Eigen::MatrixXd>
std::vector<cplx> polynomial_roots(std::vector<double> c) {
  std::vector<cplx> roots;
  while (c.size() > 1 && c.back() == 0) {
    c.pop_back();
    roots.push_back(cplx(0));
  }
  const auto n = Eigen::Index(c.size()) - 1;
  if (n == 0) return roots;
  Matrix m = Matrix::Zero(n, n);
  for (Eigen::Index j = 0; j < n; ++j) m(0, j) = -c[std::size_t(j) + 1] / c[0];
  for (Eigen::Index i = 1; i < n; ++i) m(i, i - 1) = 1;
  if (!m.allFinite()) {
    DENDRITE_THROW(numerical_error, "tf2sos: expected coefficients within about 1e308 of the "
                   "first nonzero one, got a ratio that overflows (first ", c[0], ")");
  }
  balance(m);
  // the real Schur form T = Q^T m Q: 1 x 1 blocks are real roots, 2 x 2 blocks [a b; c d]
  // conjugate pairs (d + (a - d) / 2) +- i sqrt(-((a - d)^2 / 4 + b c))
  const Eigen::RealSchur<Matrix> schur(m, /*computeU=*/false);
  if (schur.info() != Eigen::Success) {
    DENDRITE_THROW(numerical_error, "tf2sos: the roots of a polynomial of degree ", n,
                   " did not converge");
  }
  const Matrix& t = schur.matrixT();
  for (Eigen::Index i = 0; i < n; ++i) {
    if (i + 1 < n && t(i + 1, i) != 0) {
      const double half = (t(i, i) - t(i + 1, i + 1)) / 2;
      const double re = t(i + 1, i + 1) + half;
      const double im = std::sqrt(std::abs(half * half + t(i, i + 1) * t(i + 1, i)));
      roots.push_back(cplx(re, im));
      roots.push_back(cplx(re, -im));
      ++i;
    } else {
      roots.push_back(cplx(t(i, i)));
    }
  }
  return roots;
}

// Checks that c holds at least one coefficient, all finite, not all zero; throws
// numerical_error naming `what` otherwise. Returns the index of the first nonzero one.
inline std::size_t first_nonzero(const std::vector<double>& c, const char* what) {
  if (c.empty()) {
    DENDRITE_THROW(numerical_error, "tf2sos: expected at least one coefficient in ", what,
                   ", got none");
  }
  std::size_t first = c.size();
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (!std::isfinite(c[i])) {
      DENDRITE_THROW(numerical_error, "tf2sos: ", what, "[", i, "] is ", c[i],
                     ", expected a finite coefficient");
    }
    if (first == c.size() && c[i] != 0) first = i;
  }
  if (first == c.size()) {
    DENDRITE_THROW(numerical_error, "tf2sos: expected a nonzero coefficient in ", what,
                   ", got ", c.size(), " zeros");
  }
  return first;
}

}  // namespace detail

/// SciPy's `tf2sos(b, a)`: the transfer function with numerator b and denominator a (both in
/// powers of z^-1, see the file comment) as second-order sections, one row [b0 b1 b2 1 a1 a2]
/// per section, max(M, N) / 2 of them rounded up (one when both are constants). Leading zeros
/// of b are a delay of as many samples: b[d:] is converted, then sections of pure delay
/// ([0 0 1 1 0 0], and [0 1 0 1 0 0] for an odd d) are appended (SciPy drops such zeros with a
/// warning, and with them the delay). Throws `numerical_error` when b or a is empty, all zeros
/// or not finite, when a[0] = 0 (the filter would not be causal), or when a root finding does
/// not converge.
template <AnalysisScalar S = double>
[[nodiscard]] MatrixX<S> tf2sos(const std::vector<double>& b, const std::vector<double>& a) {
  const std::size_t delay = detail::first_nonzero(b, "b");
  if (detail::first_nonzero(a, "a") != 0) {
    DENDRITE_THROW(numerical_error, "tf2sos: expected a[0] != 0 (a causal filter), got a[0] = 0");
  }
  std::vector<double> num(b.begin() + std::ptrdiff_t(delay), b.end()), den = a;
  // SciPy's order of operations: both divided by a[0], then b by its own first coefficient
  const double a0 = den[0];
  for (double& v : num) v /= a0;
  for (double& v : den) v /= a0;
  const double k = num[0];
  for (double& v : num) v /= k;
  const std::vector<detail::cplx> z = detail::polynomial_roots(num);
  const std::vector<detail::cplx> p = detail::polynomial_roots(den);
  MatrixX<S> sos;
  if (z.empty() && p.empty()) {
    sos.resize(1, 6);
    sos << S(k), S(0), S(0), S(1), S(0), S(0);
  } else {
    sos = detail::zpk_to_sos<S>(z, p, k);
  }
  if (delay == 0) return sos;
  const Eigen::Index rows = sos.rows(), extra = Eigen::Index((delay + 1) / 2);
  sos.conservativeResize(rows + extra, 6);
  for (Eigen::Index s = rows; s < rows + extra; ++s) {
    const bool odd_one = delay % 2 == 1 && s == rows + extra - 1;
    sos.row(s) << S(0), S(odd_one ? 1 : 0), S(odd_one ? 0 : 1), S(1), S(0), S(0);
  }
  return sos;
}

/// tf2sos for coefficients held in Eigen vectors.
template <AnalysisScalar S = double>
[[nodiscard]] MatrixX<S> tf2sos(const Eigen::Ref<const Eigen::VectorXd>& b,
                                const Eigen::Ref<const Eigen::VectorXd>& a) {
  return tf2sos<S>(std::vector<double>(b.begin(), b.end()),
                   std::vector<double>(a.begin(), a.end()));
}

}  // namespace dendrite::dsp
