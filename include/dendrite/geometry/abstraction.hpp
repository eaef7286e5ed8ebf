// SPDX-License-Identifier: MIT
/// @file
/// Abstraction measures of Bernardi et al. 2020 ("The geometry of abstraction in the hippocampus
/// and prefrontal cortex", Cell 183:954) for a binary dichotomy of C conditions into two sides of
/// equal size m = C / 2.
///
/// Parallelism score (PS): for every one-to-one pairing pi of the side-0 conditions with the
/// side-1 conditions, form the coding vectors v_a = (mu_pi(a) - mu_a) / ||mu_pi(a) - mu_a|| from
/// the condition means mu; average cos(v_a, v_a') over all pairs a != a'; PS is the maximum of that
/// average over the m! pairings. PS = 1 when the coding directions are all parallel.
///
/// Cross-condition generalisation performance (CCGP): for every choice of one held-out condition
/// per side (m^2 splits), train a linear classifier of the side on the trials of the other
/// conditions and test it on the trials of the two held-out ones; CCGP is the mean test accuracy.
/// Chance is 0.5. The classifier here is ridge-regularised least squares on +-1 labels with a bias
/// (Bernardi et al. used a linear SVM; on separable data both find a separating hyperplane).
#pragma once

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include <dendrite/core/analysis.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/traits.hpp>

namespace dendrite::geometry {

namespace detail {

/// Indices of the conditions on side 0 and side 1; checks the dichotomy.
template <AnalysisScalar S = double>
void split_sides(const std::vector<int>& side, Eigen::Index conditions, std::vector<int>& s0,
                 std::vector<int>& s1, const char* who) {
  if (static_cast<Eigen::Index>(side.size()) != conditions) {
    DENDRITE_THROW(dimension_error, who, ": expected one side label per condition (", conditions,
                   "), got ", side.size());
  }
  s0.clear();
  s1.clear();
  for (std::size_t c = 0; c < side.size(); ++c) {
    if (side[c] != 0 && side[c] != 1) {
      DENDRITE_THROW(dimension_error, who, ": side labels must be 0 or 1, got ", side[c],
                     " for condition ", c);
    }
    (side[c] == 0 ? s0 : s1).push_back(static_cast<int>(c));
  }
  if (s0.size() != s1.size() || s0.empty()) {
    DENDRITE_THROW(dimension_error, who,
                   ": the dichotomy must split the conditions in two equal non-empty halves, got ",
                   s0.size(), " and ", s1.size());
  }
}

}  // namespace detail

/// Parallelism score of a dichotomy. `means` is N x C (a column per condition), `side[c]` in
/// {0, 1}. Exhaustive over the m! pairings, so m <= 8 (C <= 16); larger throws `dimension_error`.
template <AnalysisScalar S = double>
[[nodiscard]] double parallelism_score(const AnalysisRef<S>& means, const std::vector<int>& side) {
  std::vector<int> s0, s1;
  detail::split_sides(side, means.cols(), s0, s1, "parallelism_score");
  const std::size_t m = s0.size();
  if (m > 8) {
    DENDRITE_THROW(dimension_error,
                   "parallelism_score: at most 8 conditions per side (8! pairings), got ", m);
  }
  if (m < 2) {
    DENDRITE_THROW(dimension_error, "parallelism_score: need at least 2 conditions per side, got ",
                   m);
  }
  // unit coding vector for every (a, b) pair, so each pairing only reads them
  std::vector<VectorX<S>> v(m * m);
  for (std::size_t a = 0; a < m; ++a) {
    for (std::size_t b = 0; b < m; ++b) {
      VectorX<S> d = means.col(s1[b]) - means.col(s0[a]);
      const double n = d.norm();
      if (!(n > 0)) {
        DENDRITE_THROW(numerical_error, "parallelism_score: conditions ", s0[a], " and ", s1[b],
                       " have identical (or non-finite) means");
      }
      v[a * m + b] = d / n;
    }
  }
  MatrixX<S> cosines(m * m, m * m);
  for (std::size_t p = 0; p < m * m; ++p) {
    for (std::size_t q = 0; q < m * m; ++q) {
      cosines(Eigen::Index(p), Eigen::Index(q)) = v[p].dot(v[q]);
    }
  }
  std::vector<int> perm(m);
  std::iota(perm.begin(), perm.end(), 0);
  double best = -2.0;
  do {
    double sum = 0;
    for (std::size_t a = 0; a < m; ++a) {
      for (std::size_t b = a + 1; b < m; ++b) {
        sum += cosines(Eigen::Index(a * m + std::size_t(perm[a])),
                       Eigen::Index(b * m + std::size_t(perm[b])));
      }
    }
    best = std::max(best, sum / double(m * (m - 1) / 2));
  } while (std::next_permutation(perm.begin(), perm.end()));
  return best;
}

/// Cross-condition generalisation performance of a dichotomy. `trials` is N x T, `condition[t]` in
/// [0, C) the condition of trial t, `side[c]` in {0, 1}. `ridge` > 0 regularises the classifier.
/// Throws `dimension_error` for inconsistent sizes or a condition without trials.
template <AnalysisScalar S = double>
[[nodiscard]] double ccgp(const AnalysisRef<S>& trials, const std::vector<int>& condition,
                          const std::vector<int>& side, double ridge = 1e-3) {
  const Eigen::Index n_units = trials.rows();
  const Eigen::Index n_trials = trials.cols();
  if (static_cast<Eigen::Index>(condition.size()) != n_trials) {
    DENDRITE_THROW(dimension_error, "ccgp: expected one condition label per trial (", n_trials,
                   "), got ", condition.size());
  }
  if (!(ridge > 0)) {
    DENDRITE_THROW(numerical_error, "ccgp: ridge must be > 0, got ", ridge);
  }
  const Eigen::Index n_cond = static_cast<Eigen::Index>(side.size());
  std::vector<int> s0, s1;
  detail::split_sides(side, n_cond, s0, s1, "ccgp");
  std::vector<int> count(static_cast<std::size_t>(n_cond), 0);
  for (int c : condition) {
    if (c < 0 || c >= n_cond) {
      DENDRITE_THROW(dimension_error, "ccgp: condition label ", c, " outside [0, ", n_cond, ")");
    }
    ++count[static_cast<std::size_t>(c)];
  }
  for (Eigen::Index c = 0; c < n_cond; ++c) {
    if (count[static_cast<std::size_t>(c)] == 0) {
      DENDRITE_THROW(dimension_error, "ccgp: condition ", c, " has no trials");
    }
  }
  double acc_sum = 0;
  int splits = 0;
  for (int h0 : s0) {
    for (int h1 : s1) {
      // normal equations of [x; 1] w = label on the training trials
      MatrixX<S> a = MatrixX<S>::Zero(n_units + 1, n_units + 1);
      VectorX<S> rhs = VectorX<S>::Zero(n_units + 1);
      VectorX<S> xa(n_units + 1);
      for (Eigen::Index t = 0; t < n_trials; ++t) {
        const int c = condition[static_cast<std::size_t>(t)];
        if (c == h0 || c == h1) {
          continue;
        }
        xa.head(n_units) = trials.col(t);
        xa(n_units) = 1.0;
        a.template selfadjointView<Eigen::Lower>().rankUpdate(xa);
        rhs += (side[static_cast<std::size_t>(c)] == 1 ? 1.0 : -1.0) * xa;
      }
      a.diagonal().head(n_units).array() +=
          ridge * std::max(1.0, a.diagonal().head(n_units).mean());
      const VectorX<S> w = a.template selfadjointView<Eigen::Lower>().ldlt().solve(rhs);
      int correct = 0, tested = 0;
      for (Eigen::Index t = 0; t < n_trials; ++t) {
        const int c = condition[static_cast<std::size_t>(t)];
        if (c != h0 && c != h1) {
          continue;
        }
        const double score = trials.col(t).dot(w.head(n_units)) + w(n_units);
        correct += (score > 0) == (side[static_cast<std::size_t>(c)] == 1);
        ++tested;
      }
      acc_sum += double(correct) / double(tested);
      ++splits;
    }
  }
  return acc_sum / double(splits);
}

}  // namespace dendrite::geometry
