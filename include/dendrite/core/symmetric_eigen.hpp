// SPDX-License-Identifier: MIT
/// @file
/// Eigendecomposition of a dense symmetric matrix, A = V diag(lambda) V^T (lambda ascending, V
/// orthogonal), by divide and conquer: what LAPACK's `dsyevd` (numpy's `eigh`) computes, where
/// Eigen's `SelfAdjointEigenSolver` runs the QR iteration.
///
///  1. Householder tridiagonalisation, A = Q T Q^T, blocked in panels of 16 columns as LAPACK's
///     `dsytrd` (`detail::tridiagonalize`; Eigen's `Tridiagonalization` applies every rank-2
///     update to the whole trailing matrix).
///  2. T splits at its middle into two halves and a rank-one term (Cuppen, Numer. Math. 36,
///     1981): with beta = T(m, m-1), T = diag(T1, T2) + |beta| u u^T, u = e_m-1 + sign(beta) e_m,
///     where T1 and T2 lose |beta| from their touching diagonal entries. Given the halves'
///     decompositions T_i = Q_i D_i Q_i^T, T = Qh (D + rho z z^T) Qh^T with Qh = diag(Q1, Q2) and
///     z = Qh^T u. Small halves go to the QR iteration.
///  3. The eigenvalues of D + rho z z^T (rho > 0, d ascending) are the roots of the secular
///     equation f(lambda) = 1 + rho sum_j z_j^2 / (d_j - lambda) = 0, one in each (d_i, d_i+1)
///     and the last in (d_k, d_k + rho ||z||^2). Each is found from its nearer pole d_o as
///     lambda = d_o + mu, so that every d_j - lambda = (d_j - d_o) - mu keeps its relative
///     accuracy, by the two-pole rational model of f (Li's "middle way"), safeguarded by
///     bisection.
///  4. Eigenvectors by Loewner's formula for the z that makes the computed roots exact,
///     zhat_j^2 = prod_i (lambda_i - d_j) / (rho prod_{i != j} (d_i - d_j)), v_i ~ (zhat_j /
///     (d_j - lambda_i))_j (Gu & Eisenstat, SIAM J. Matrix Anal. Appl. 16, 1995): orthogonal to
///     working precision however close the roots. Before that, components with rho |z_j| <=
///     8 eps ||T|| and pairs of d closer than that (after a plane rotation of their z entries)
///     are deflated: they are eigenpairs already.
///  5. V = Q Qh U, the merges' work in matrix products.
///
/// Not real-time (allocates). Cost at 1 000 x 1 000 on the AVX-512 VM: bench/README.md.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>
#include <vector>

#include <Eigen/Core>
#include <Eigen/Eigenvalues>

namespace dendrite {

namespace detail {

template <class S>
class TridiagonalDC {
 public:
  using Vec = Eigen::Matrix<S, Eigen::Dynamic, 1>;
  using Mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
  static constexpr Eigen::Index kLeaf = 32;  ///< halves this small take the QR iteration

  /// d (n): the diagonal in, the eigenvalues out (ascending); e (n - 1): the subdiagonal;
  /// q: the eigenvectors. False if a leaf's QR iteration did not converge.
  static bool solve(Vec& d, const Vec& e, Mat& q) {
    const Eigen::Index n = d.size();
    q.setZero(n, n);  // each part's eigenvectors fill its diagonal block
    Work work{Mat(n, n), Mat(n, n), Mat(n, n)};
    return part(d, e, q, 0, n, work);
  }

 private:
  struct Work {
    Mat sorted;    // the block's columns in ascending order of d
    Mat gathered;  // the kept ones, those with zeros in the lower rows first
    Mat dl;        // d_j - lambda_i, then the rank-one problem's eigenvectors (rows)
  };

  // The rows and columns [lo, lo + len): their eigenvalues into d's segment, their eigenvectors
  // into q's diagonal block (the rest of those columns stays 0).
  static bool part(Vec& d, const Vec& e, Mat& q, Eigen::Index lo, Eigen::Index len, Work& work) {
    if (len <= kLeaf) {
      Eigen::SelfAdjointEigenSolver<Mat> leaf;
      leaf.computeFromTridiagonal(Vec(d.segment(lo, len)), Vec(e.segment(lo, len - 1)),
                                  Eigen::ComputeEigenvectors);
      if (leaf.info() != Eigen::Success) return false;
      d.segment(lo, len) = leaf.eigenvalues();
      q.block(lo, lo, len, len) = leaf.eigenvectors();
      return true;
    }
    const Eigen::Index m = len / 2;
    const S beta = e(lo + m - 1);
    const S rho = std::abs(beta);
    d(lo + m - 1) -= rho;
    d(lo + m) -= rho;
    if (!part(d, e, q, lo, m, work) || !part(d, e, q, lo + m, len - m, work)) {
      return false;
    }
    Vec z(len);
    z.head(m) = q.block(lo + m - 1, lo, 1, m).transpose();
    z.tail(len - m) = (beta < 0 ? S(-1) : S(1)) * q.block(lo + m, lo + m, 1, len - m).transpose();
    merge(d, z, rho, q, lo, len, m, work);
    return true;
  }

  // The eigendecomposition of diag(d) + rho z z^T (rho >= 0) on the segment [lo, lo + n),
  // composed into q's diagonal block, whose first m columns are zero below row m and the rest
  // zero above it: on return the segment of d holds its eigenvalues ascending and the block is
  // the block times its eigenvectors.
  static void merge(Vec& d_all, const Vec& z, S rho, Mat& q, Eigen::Index lo, Eigen::Index n,
                    Eigen::Index m, Work& work) {
    auto d = d_all.segment(lo, n);
    auto b = q.block(lo, lo, n, n);
    auto qs = work.sorted.topLeftCorner(n, n);
    const S eps = std::numeric_limits<S>::epsilon();
    const S zn2 = z.squaredNorm();
    std::vector<Eigen::Index> order(std::size_t(n), 0);
    std::iota(order.begin(), order.end(), Eigen::Index(0));
    std::sort(order.begin(), order.end(), [&](auto x, auto y) { return d(x) < d(y); });
    Vec ds(n), zs(n);
    enum : char { kUpper, kLower, kBoth };  // where a column's nonzeros are
    std::vector<char> rows(std::size_t(n), kUpper);
    for (Eigen::Index j = 0; j < n; ++j) {
      const Eigen::Index o = order[std::size_t(j)];
      ds(j) = d(o);
      zs(j) = zn2 > 0 ? z(o) / std::sqrt(zn2) : S(0);
      qs.col(j) = b.col(o);
      rows[std::size_t(j)] = o < m ? kUpper : kLower;
    }
    rho *= zn2;  // z now has unit norm
    const S tol = 8 * eps * std::max(ds.cwiseAbs().maxCoeff(), rho);
    // deflation, in ascending order of d
    std::vector<Eigen::Index> kept, deflated;
    for (Eigen::Index j = 0; j < n; ++j) {
      if (rho * std::abs(zs(j)) <= tol) {
        deflated.push_back(j);
        continue;
      }
      if (!kept.empty()) {
        const Eigen::Index p = kept.back();
        const S tau = std::hypot(zs(p), zs(j));
        const S c = zs(p) / tau, s = zs(j) / tau;
        if (std::abs((ds(j) - ds(p)) * c * s) <= tol) {
          // rotate the pair so that z_p = 0: f_p = -s e_p + c e_j, f_j = c e_p + s e_j
          for (Eigen::Index r = 0; r < n; ++r) {
            const S qp = qs(r, p), qj = qs(r, j);
            qs(r, p) = c * qj - s * qp;
            qs(r, j) = c * qp + s * qj;
          }
          if (rows[std::size_t(p)] != rows[std::size_t(j)]) {
            rows[std::size_t(p)] = rows[std::size_t(j)] = kBoth;
          }
          const S dp = ds(p), dj = ds(j);
          ds(p) = s * s * dp + c * c * dj;
          ds(j) = c * c * dp + s * s * dj;
          zs(p) = 0;
          zs(j) = tau;
          kept.back() = j;
          deflated.push_back(p);
          continue;
        }
      }
      kept.push_back(j);
    }
    const auto k = Eigen::Index(kept.size());
    Vec values(n);
    // the deflated pairs go to the block's last columns as they are
    for (std::size_t t = 0; t < deflated.size(); ++t) {
      values(k + Eigen::Index(t)) = ds(deflated[t]);
      b.col(k + Eigen::Index(t)) = qs.col(deflated[t]);
    }
    if (k > 0) {
      Vec dk(k), zk(k);
      for (Eigen::Index i = 0; i < k; ++i) {
        dk(i) = ds(kept[std::size_t(i)]);
        zk(i) = zs(kept[std::size_t(i)]);
      }
      Vec pole(k), shift(k);
      for (Eigen::Index i = 0; i < k; ++i) {
        const auto [o, mu] = root(dk, zk, rho, i);
        values(i) = dk(o) + mu;
        pole(i) = dk(o);
        shift(i) = mu;
      }
      // the kept columns gathered as upper-only, both, lower-only (position -> kept index), so
      // that each half of the rows multiplies only the columns nonzero there
      std::vector<Eigen::Index> at;
      at.reserve(std::size_t(k));
      Eigen::Index upper_only = 0, upper = 0;  // columns nonzero only above / anywhere above
      for (const char kind : {kUpper, kBoth, kLower}) {
        for (Eigen::Index i = 0; i < k; ++i) {
          if (rows[std::size_t(kept[std::size_t(i)])] == kind) at.push_back(i);
        }
        if (kind == kUpper) upper_only = Eigen::Index(at.size());
        if (kind == kBoth) upper = Eigen::Index(at.size());
      }
      const Eigen::Index lower = k - upper_only;  // columns nonzero below: both, then lower-only
      auto qg = work.gathered.topLeftCorner(n, k);
      for (Eigen::Index c = 0; c < k; ++c) qg.col(c) = qs.col(kept[std::size_t(at[std::size_t(c)])]);
      // dl(i, c) = d_j - lambda_i for j = at[c], each from root i's pole
      auto dl = work.dl.topLeftCorner(k, k);
      for (Eigen::Index c = 0; c < k; ++c) {
        dl.col(c) = (dk(at[std::size_t(c)]) - pole.array()) - shift.array();
      }
      // Loewner: the z for which the computed roots are exact
      for (Eigen::Index c = 0; c < k; ++c) {
        const Eigen::Index j = at[std::size_t(c)];
        auto col = dl.col(c);
        S p = -col(k - 1) / rho;
        for (Eigen::Index i = 0; i < j; ++i) p *= col(i) / (dk(j) - dk(i));
        for (Eigen::Index i = j; i < k - 1; ++i) p *= col(i) / (dk(j) - dk(i + 1));
        const S zhat = std::copysign(std::sqrt(std::abs(p)), zk(j));
        // row i of dl becomes eigenvector i: (zhat_j / (d_j - lambda_i))_j, normalised below
        col = zhat / col.array();
      }
      const Vec inv_norms = dl.array().square().rowwise().sum().sqrt().inverse();
      for (Eigen::Index c = 0; c < k; ++c) dl.col(c).array() *= inv_norms.array();
      b.topLeftCorner(m, k).noalias() = qg.topLeftCorner(m, upper) * dl.leftCols(upper).transpose();
      b.bottomLeftCorner(n - m, k).noalias() =
          qg.bottomRightCorner(n - m, lower) * dl.rightCols(lower).transpose();
    }
    // ascending order
    std::iota(order.begin(), order.end(), Eigen::Index(0));
    std::sort(order.begin(), order.end(), [&](auto x, auto y) { return values(x) < values(y); });
    bool sorted = true;
    for (Eigen::Index j = 0; j < n; ++j) sorted = sorted && order[std::size_t(j)] == j;
    if (!sorted) {
      qs = b;
      for (Eigen::Index j = 0; j < n; ++j) b.col(j) = qs.col(order[std::size_t(j)]);
    }
    for (Eigen::Index j = 0; j < n; ++j) d(j) = values(order[std::size_t(j)]);
  }

  // Root i of 1 + rho sum_j z_j^2 / (d_j - lambda) (d strictly ascending, z_j != 0, rho > 0) as
  // (o, mu): lambda = d_o + mu, d_o the nearer pole.
  static std::pair<Eigen::Index, S> root(const Vec& d, const Vec& z, S rho, Eigen::Index i) {
    const Eigen::Index k = d.size();
    const S eps = std::numeric_limits<S>::epsilon();
    const bool last = i == k - 1;
    Eigen::Index o = i;
    S a = 0, b = 0;  // bracket of mu
    if (last) {
      b = rho * z.squaredNorm();
    } else {
      const S mid = (d(i + 1) - d(i)) / 2;
      const S f_mid = 1 + rho * (z.array().square() / ((d.array() - d(i)) - mid)).sum();
      if (f_mid >= 0) {
        b = mid;
      } else {
        o = i + 1;
        a = -mid;
      }
    }
    const Eigen::ArrayX<S> base = d.array() - d(o);
    const Eigen::ArrayX<S> rz2 = rho * z.array().square();
    S mu = (a + b) / 2;
    for (int iter = 0; iter < 100; ++iter) {
      const Eigen::ArrayX<S> del = base - mu;
      const Eigen::ArrayX<S> t = rz2 / del;
      const S psi = t.head(i + 1).sum(), phi = t.tail(k - i - 1).sum();
      const S dpsi = (t.head(i + 1) / del.head(i + 1)).sum();
      const S dphi = (t.tail(k - i - 1) / del.tail(k - i - 1)).sum();
      const S w = 1 + psi + phi;
      if (w == 0) break;
      if (w > 0) {
        b = mu;
      } else {
        a = mu;
      }
      if (std::abs(w) <= 4 * eps * S(k) * (1 + std::abs(psi) + std::abs(phi))) break;
      // the two-pole model c + di^2 dpsi / (di - eta) + di1^2 dphi / (di1 - eta) = 0
      S eta = 0;
      const S di = del(i);
      if (last) {
        const S c = w - di * dpsi;
        eta = c != 0 ? di * w / c : S(0);
      } else {
        const S di1 = del(i + 1);
        const S c = w - di * dpsi - di1 * dphi;
        const S aa = (di + di1) * w - di * di1 * (dpsi + dphi);
        const S bb = di * di1 * w;
        if (c == 0) {
          eta = aa != 0 ? bb / aa : S(0);
        } else {
          const S disc = aa * aa - 4 * bb * c;
          if (disc >= 0) {
            const S big = (aa + std::copysign(std::sqrt(disc), aa)) / (2 * c);
            const S small = big != 0 ? bb / (c * big) : S(0);
            // the root between the poles, di < eta < di1 (mu + eta inside the bracket)
            eta = (mu + small > a && mu + small < b) ? small : big;
          }
        }
      }
      S next = mu + eta;
      if (!(next > a && next < b)) next = (a + b) / 2;  // bisection when the model leaves
      if (std::abs(next - mu) <= 2 * eps * std::abs(mu) || b - a <= 2 * eps * std::abs(mu)) {
        mu = next;
        break;
      }
      mu = next;
    }
    return {o, mu};
  }
};

// Householder tridiagonalisation of the symmetric matrix in a's lower triangle, blocked as
// LAPACK's dsytrd / dlatrd: within a panel of nb columns each reflector's rank-2 update is kept
// as columns of V and W and applied to the next column only, A <- A - V W^T - W V^T, and the
// trailing matrix takes the panel's updates in one product. On return d and e are T's diagonal
// and subdiagonal, and a's columns below the subdiagonal with tau hold the reflectors in
// Eigen's `Tridiagonalization` layout (H_c = I - tau_c v v^T, v = (1, a(c+2:, c))).
template <class S>
void tridiagonalize(Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>& a,
                    Eigen::Matrix<S, Eigen::Dynamic, 1>& d, Eigen::Matrix<S, Eigen::Dynamic, 1>& e,
                    Eigen::Matrix<S, Eigen::Dynamic, 1>& tau) {
  using Mat = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
  using Vec = Eigen::Matrix<S, Eigen::Dynamic, 1>;
  const Eigen::Index n = a.rows(), nb = 16;
  d.resize(n);
  e.resize(std::max<Eigen::Index>(n - 1, 0));
  tau.setZero(std::max<Eigen::Index>(n - 1, 0));
  Mat v(n, nb), w(n, nb);
  Vec p(n);
  for (Eigen::Index j0 = 0; j0 < n - 1; j0 += nb) {
    const Eigen::Index panel = std::min(nb, n - 1 - j0);
    v.setZero();
    w.setZero();
    for (Eigen::Index i = 0; i < panel; ++i) {
      const Eigen::Index c = j0 + i, r = n - c - 1;  // r: rows below the diagonal
      if (i > 0) {  // this column, rows c.., with the panel's updates so far
        a.col(c).tail(r + 1).noalias() -= v.block(c, 0, r + 1, i) * w.row(c).head(i).transpose();
        a.col(c).tail(r + 1).noalias() -= w.block(c, 0, r + 1, i) * v.row(c).head(i).transpose();
      }
      S h = 0, beta = 0;
      a.col(c).tail(r).makeHouseholderInPlace(h, beta);
      a(c + 1, c) = 1;
      const auto vc = a.col(c).tail(r);
      // p = h (A - V W^T - W V^T) v over the trailing rows, A as at the panel's start
      p.tail(r).noalias() = a.bottomRightCorner(r, r).template selfadjointView<Eigen::Lower>() * vc;
      if (i > 0) {
        const Vec wv = w.bottomLeftCorner(r, i).transpose() * vc;
        const Vec vv = v.bottomLeftCorner(r, i).transpose() * vc;
        p.tail(r).noalias() -= v.bottomLeftCorner(r, i) * wv;
        p.tail(r).noalias() -= w.bottomLeftCorner(r, i) * vv;
      }
      p.tail(r) *= h;
      const S alpha = S(-0.5) * h * p.tail(r).dot(vc);
      w.col(i).tail(r) = p.tail(r) + alpha * vc;
      v.col(i).tail(r) = vc;
      d(c) = a(c, c);
      e(c) = beta;
      tau(c) = h;
      a(c + 1, c) = beta;
    }
    const Eigen::Index t0 = j0 + panel, rt = n - t0;
    if (rt > 0) {  // the trailing matrix: A <- A - [V W] [W V]^T, lower triangle
      Mat vw(rt, 2 * panel), wv(rt, 2 * panel);
      vw << v.block(t0, 0, rt, panel), w.block(t0, 0, rt, panel);
      wv << w.block(t0, 0, rt, panel), v.block(t0, 0, rt, panel);
      a.bottomRightCorner(rt, rt).template triangularView<Eigen::Lower>() -= vw * wv.transpose();
    }
  }
  if (n > 0) d(n - 1) = a(n - 1, n - 1);
}

}  // namespace detail

/// Eigenvalues (ascending) and orthonormal eigenvectors (columns) of the symmetric matrix `a`
/// (its lower triangle is read), by tridiagonalisation and divide and conquer (see the file
/// comment); below 64 rows, and as a fallback if a leaf's QR iteration fails, by Eigen's
/// `SelfAdjointEigenSolver`. Returns false for a matrix that is not square or not finite, or if
/// no method converged.
template <class S>
bool symmetric_eigen(const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>& a,
                     Eigen::Matrix<S, Eigen::Dynamic, 1>& values,
                     Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>& vectors) {
  using Dc = detail::TridiagonalDC<S>;
  const Eigen::Index n = a.rows();
  if (a.cols() != n || !a.allFinite()) return false;
  if (n >= 64) {
    typename Dc::Mat h = a;
    typename Dc::Vec d, e, tau;
    detail::tridiagonalize(h, d, e, tau);
    // scaled to a largest entry of 1, so that no product in the merges under- or overflows
    const S scale = std::max(d.cwiseAbs().maxCoeff(), e.cwiseAbs().maxCoeff());
    if (scale > 0 && std::isfinite(scale)) {
      d /= scale;
      e /= scale;
      typename Dc::Mat v;
      if (Dc::solve(d, e, v)) {
        values = d * scale;
        vectors = Eigen::HouseholderSequence<typename Dc::Mat, typename Dc::Vec>(h, tau)
                      .setLength(n - 1)
                      .setShift(1) *
                  v;
        return true;
      }
    }
  }
  Eigen::SelfAdjointEigenSolver<typename Dc::Mat> eig(a);
  if (eig.info() != Eigen::Success) return false;
  values = eig.eigenvalues();
  vectors = eig.eigenvectors();
  return true;
}

}  // namespace dendrite
