// SPDX-License-Identifier: MIT
/// @file
/// How well an ICA separated its sources, when the truth is known.
///
/// Amari index (Amari, Cichocki & Yang 1996; the normalised form of ../shared/PAPERS.md 1.12):
/// for P = W A (n x n, unmixing times mixing),
///   E = [ sum_i (sum_j |p_ij| / max_k |p_ik| - 1) + sum_j (sum_i |p_ij| / max_k |p_kj| - 1) ]
///       / (2 n (n - 1)),
/// in [0, 1], and 0 exactly when P is a scaled permutation. It normalises each row and column by
/// its largest entry, so it cannot see an output whose scale has collapsed ("dead" output): check
/// `output_covariance` as well. A row or column of zeros (an output that carries no source, a
/// source no output carries) counts as the worst a row or column can be, n - 1 (before
/// 2026-12-05 it counted -1 and could make the index negative).
///
/// Source matching: the permutation and signs that pair each true source with the output most
/// correlated with it (maximum total |correlation|, by the Hungarian algorithm).
/// SINR of a matched pair: regress the output on its source, y = a s + e; SINR = ||a s||^2 /
/// ||e||^2 (reported in dB), invariant to the output's sign and scale.
#pragma once

#include <cmath>
#include <limits>
#include <vector>

#include <Eigen/Core>

#include <dendrite/core/analysis.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/traits.hpp>

namespace dendrite::ica {

/// Amari index of P = W A (square). Throws `dimension_error` for a non-square or 1 x 1 matrix
/// and `numerical_error` for a NaN or infinite entry.
template <AnalysisScalar S = double>
[[nodiscard]] double amari_index(const AnalysisRef<S>& p) {
  const Eigen::Index n = p.rows();
  if (n != p.cols() || n < 2) {
    DENDRITE_THROW(dimension_error, "amari_index: expected a square matrix of size >= 2, got ",
                   p.rows(), " x ", p.cols());
  }
  if (!p.allFinite()) {
    DENDRITE_THROW(numerical_error, "amari_index: the matrix W A has a NaN or infinite entry");
  }
  const MatrixX<S> a = p.cwiseAbs();
  // sum / max - 1 of a row or column; n - 1 (the worst) for one of zeros
  const auto term = [n](double sum, double max) {
    return max > 0 ? sum / max - 1.0 : double(n - 1);
  };
  double e = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    e += term(double(a.row(i).sum()), double(a.row(i).maxCoeff()));
    e += term(double(a.col(i).sum()), double(a.col(i).maxCoeff()));
  }
  return e / (2.0 * double(n) * double(n - 1));
}

/// Amari index of unmixing W (n x d) times mixing A (d x n).
template <AnalysisScalar S = double>
[[nodiscard]] double amari_index(const AnalysisRef<S>& unmixing, const AnalysisRef<S>& mixing) {
  if (unmixing.cols() != mixing.rows()) {
    DENDRITE_THROW(dimension_error, "amari_index: unmixing is ", unmixing.rows(), " x ",
                   unmixing.cols(), " but mixing is ", mixing.rows(), " x ", mixing.cols());
  }
  return amari_index(unmixing * mixing);
}

/// Pearson kurtosis E[(v - Ev)^4] / E[(v - Ev)^2]^2 of each row (3 for a Gaussian; SciPy's
/// `kurtosis(v, fisher=False)`). A constant row has none: NaN there, as in SciPy. Throws
/// `dimension_error` for fewer than 2 samples.
template <AnalysisScalar S = double>
[[nodiscard]] Eigen::VectorXd kurtosis(const AnalysisRef<S>& x) {
  if (x.cols() < 2) {
    DENDRITE_THROW(dimension_error, "kurtosis: expected a rows x samples matrix with at least 2 ",
                   "samples, got ", x.rows(), " x ", x.cols());
  }
  const MatrixX<S> xc = x.colwise() - x.rowwise().mean();
  const ArrayX<S> m2 = xc.array().square().rowwise().mean();
  const ArrayX<S> m4 = xc.array().square().square().rowwise().mean();
  return (m4 / m2.square()).matrix();
}

/// Covariance (1/n, centred) of the rows of y: identity for well-scaled independent outputs.
template <AnalysisScalar S = double>
[[nodiscard]] Eigen::MatrixXd output_covariance(const AnalysisRef<S>& y) {
  const MatrixX<S> yc = y.colwise() - y.rowwise().mean();
  return yc * yc.transpose() / double(y.cols());
}

/// Minimum-cost assignment for a square cost matrix (Hungarian algorithm with potentials, O(n^3)).
/// Returns assignment[row] = column.
template <AnalysisScalar S = double>
[[nodiscard]] std::vector<Eigen::Index> min_cost_assignment(const AnalysisRef<S>& cost) {
  const Eigen::Index n = cost.rows();
  if (n != cost.cols()) {
    DENDRITE_THROW(dimension_error, "min_cost_assignment: expected a square matrix, got ", n, " x ",
                   cost.cols());
  }
  const double inf = std::numeric_limits<double>::infinity();
  // 1-based arrays; column 0 is a virtual start
  std::vector<double> u(std::size_t(n + 1), 0.0), v(std::size_t(n + 1), 0.0);
  std::vector<Eigen::Index> match_col(std::size_t(n + 1), 0), way(std::size_t(n + 1), 0);
  for (Eigen::Index row = 1; row <= n; ++row) {
    match_col[0] = row;
    Eigen::Index j0 = 0;
    std::vector<double> minv(std::size_t(n + 1), inf);
    std::vector<bool> used(std::size_t(n + 1), false);
    do {
      used[std::size_t(j0)] = true;
      const Eigen::Index i0 = match_col[std::size_t(j0)];
      double delta = inf;
      Eigen::Index j1 = 0;
      for (Eigen::Index j = 1; j <= n; ++j) {
        if (used[std::size_t(j)]) {
          continue;
        }
        const double cur = cost(i0 - 1, j - 1) - u[std::size_t(i0)] - v[std::size_t(j)];
        if (cur < minv[std::size_t(j)]) {
          minv[std::size_t(j)] = cur;
          way[std::size_t(j)] = j0;
        }
        if (minv[std::size_t(j)] < delta) {
          delta = minv[std::size_t(j)];
          j1 = j;
        }
      }
      for (Eigen::Index j = 0; j <= n; ++j) {
        if (used[std::size_t(j)]) {
          u[std::size_t(match_col[std::size_t(j)])] += delta;
          v[std::size_t(j)] -= delta;
        } else {
          minv[std::size_t(j)] -= delta;
        }
      }
      j0 = j1;
    } while (match_col[std::size_t(j0)] != 0);
    do {  // augment along the path
      const Eigen::Index j1 = way[std::size_t(j0)];
      match_col[std::size_t(j0)] = match_col[std::size_t(j1)];
      j0 = j1;
    } while (j0 != 0);
  }
  std::vector<Eigen::Index> assignment(std::size_t(n), 0);
  for (Eigen::Index j = 1; j <= n; ++j) {
    assignment[std::size_t(match_col[std::size_t(j)] - 1)] = j - 1;
  }
  return assignment;
}

/// The pairing of true sources with outputs.
struct SourceMatch {
  std::vector<Eigen::Index> output_of_source;  ///< output index matched to each source
  Eigen::VectorXd sign;                        ///< +1 or -1: sign of the matched correlation
  Eigen::VectorXd correlation;                 ///< |corr(source, matched output)|
  Eigen::VectorXd sinr_db;                     ///< SINR of each source's output, in dB
};

/// Matches outputs y (n x T) to true sources s (n x T). Throws `dimension_error` on a shape
/// mismatch and `numerical_error` for constant rows.
template <AnalysisScalar S = double>
[[nodiscard]] SourceMatch match_sources(const AnalysisRef<S>& s, const AnalysisRef<S>& y) {
  if (s.rows() != y.rows() || s.cols() != y.cols() || s.cols() < 2) {
    DENDRITE_THROW(dimension_error, "match_sources: sources are ", s.rows(), " x ", s.cols(),
                   ", outputs ", y.rows(), " x ", y.cols(),
                   "; expected equal shapes with at least 2 samples");
  }
  const Eigen::Index n = s.rows();
  MatrixX<S> sc = s.colwise() - s.rowwise().mean();
  MatrixX<S> yc = y.colwise() - y.rowwise().mean();
  const VectorX<S> sn = sc.rowwise().norm(), yn = yc.rowwise().norm();
  if ((sn.array() == 0).any() || (yn.array() == 0).any()) {
    DENDRITE_THROW(numerical_error, "match_sources: a source or output is constant");
  }
  const MatrixX<S> corr =
      sn.cwiseInverse().asDiagonal() * (sc * yc.transpose()) * yn.cwiseInverse().asDiagonal();
  SourceMatch m;
  m.output_of_source = min_cost_assignment(-corr.cwiseAbs());
  m.sign.resize(n);
  m.correlation.resize(n);
  m.sinr_db.resize(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const Eigen::Index k = m.output_of_source[std::size_t(i)];
    const double c = corr(i, k);
    m.sign(i) = c < 0 ? -1.0 : 1.0;
    m.correlation(i) = std::abs(c);
    // y = a s + e with a = <y, s> / <s, s>: signal power c^2 ||y||^2, residual (1 - c^2) ||y||^2
    const double resid = std::max(1.0 - c * c, std::numeric_limits<double>::min());
    m.sinr_db(i) = 10.0 * std::log10(c * c / resid);
  }
  return m;
}

}  // namespace dendrite::ica
