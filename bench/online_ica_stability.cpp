// SPDX-License-Identifier: MIT
// Not a Google Benchmark program: is FOBI's solution a stable equilibrium of OnlineICA's rule?
// (the figures in online_ica.hpp's header and bench/README.md, issue 17).
//
// On a recording x (D channels) whitened as h = V (x - m), FOBI gives a rotation R and its
// eigenvalues mu_i = E[||y||^2 y_i^2] (y = R h). With Lambda2 = mu^p, the network's rule
// (online_ica.hpp, unclipped: norm_clip = 0) has an equilibrium at
//   M* = diag(1 / (Lambda2_i mu_i)),  W* = M* R
// (there y = R h: E[y y^T] = I and E[(y - a Lambda2 c) h^T] = 0). This program takes the rule's
// mean update over the whole recording,
//   F(W, M) = (2 E[(y - a Lambda2 c) h^T], E[y y^T - I] / tau),
// and its Jacobian at (W*, M*) by central differences (D^2 + D(D+1)/2 unknowns), and prints its
// eigenvalues' real parts: a positive one is a direction in which learning at a small rate moves
// away from FOBI's solution, whatever the rate. The most negative one bounds the stable rates
// (eta times it must stay above -2 in the mean, and far above it per sample).
//
//   ./build/bench/bench/online_ica_stability [seeds, default 3]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <Eigen/Dense>
#include <Eigen/Eigenvalues>

#include <dendrite/ica/eeg_like.hpp>
#include <dendrite/ica/fobi.hpp>
#include <dendrite/ica/synthetic.hpp>
#include <dendrite/ica/whitening.hpp>

namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;

/// The rule's mean update over the whitened recording `h` (D x n) at the state packed in `s`
/// (W column-major, then M's lower triangle by columns).
struct MeanRule {
  const MatrixXd& h;
  VectorXd lambda2;
  double tau = 0.1;

  [[nodiscard]] Eigen::Index dim() const { return h.rows(); }
  [[nodiscard]] Eigen::Index unknowns() const {
    return dim() * dim() + dim() * (dim() + 1) / 2;
  }

  [[nodiscard]] VectorXd pack(const MatrixXd& w, const MatrixXd& m) const {
    const Eigen::Index d = dim();
    VectorXd s(unknowns());
    Eigen::Map<MatrixXd>(s.data(), d, d) = w;
    Eigen::Index k = d * d;
    for (Eigen::Index j = 0; j < d; ++j) {
      for (Eigen::Index i = j; i < d; ++i) s(k++) = m(i, j);
    }
    return s;
  }

  [[nodiscard]] VectorXd operator()(const VectorXd& s) const {
    const Eigen::Index d = dim();
    const MatrixXd w = Eigen::Map<const MatrixXd>(s.data(), d, d);
    MatrixXd m(d, d);
    Eigen::Index k = d * d;
    for (Eigen::Index j = 0; j < d; ++j) {
      for (Eigen::Index i = j; i < d; ++i) m(i, j) = m(j, i) = s(k++);
    }
    const double n = double(h.cols());
    const MatrixXd c = w * h;
    const MatrixXd y = m.llt().solve(c);
    const Eigen::RowVectorXd a = y.colwise().squaredNorm();
    const MatrixXd dw =
        2.0 * (y - (lambda2.asDiagonal() * c).cwiseProduct(a.replicate(d, 1))) * h.transpose() / n;
    const MatrixXd dm = (y * y.transpose() / n - MatrixXd::Identity(d, d)) / tau;
    return pack(dw, dm);
  }
};

/// Real parts of the Jacobian's eigenvalues at FOBI's solution with Lambda2 = mu^p, sorted;
/// `residual` is the largest entry of the mean update there (0 up to rounding at an equilibrium).
std::vector<double> spectrum(const MatrixXd& x, double p, double& residual) {
  const dendrite::ica::FOBIResult f = dendrite::ica::fobi(x);
  const dendrite::ica::Whitener wh = dendrite::ica::whiten(x);
  const MatrixXd h = wh.matrix * (x.colwise() - wh.mean);
  MeanRule rule{h, f.eigenvalues.array().pow(p).matrix()};
  const MatrixXd m = rule.lambda2.cwiseProduct(f.eigenvalues).cwiseInverse().asDiagonal();
  const MatrixXd w = m * f.unmixing * wh.inverse;  // ZCA: y = R h
  const VectorXd s = rule.pack(w, m);
  residual = rule(s).cwiseAbs().maxCoeff();
  MatrixXd jac(s.size(), s.size());
  for (Eigen::Index col = 0; col < s.size(); ++col) {
    VectorXd up = s, down = s;
    const double step = 1e-6 * std::max(1.0, std::abs(s(col)));
    up(col) += step;
    down(col) -= step;
    jac.col(col) = (rule(up) - rule(down)) / (2 * step);
  }
  const Eigen::VectorXcd ev = Eigen::EigenSolver<MatrixXd>(jac, false).eigenvalues();
  std::vector<double> re(std::size_t(ev.size()));
  for (Eigen::Index i = 0; i < ev.size(); ++i) re[std::size_t(i)] = ev(i).real();
  std::sort(re.begin(), re.end());
  return re;
}

void report(const char* name, const MatrixXd& x) {
  std::printf("%-28s", name);
  for (const double p : {-1.0, 1.0}) {
    double residual = 0;
    const std::vector<double> re = spectrum(x, p, residual);
    const auto positive = std::count_if(re.begin(), re.end(), [](double r) { return r > 1e-9; });
    std::printf(" | %2ld of %3zu positive, max %+9.3g, min %+10.3g (F %.0e)", long(positive),
                re.size(), re.back(), re.front(), residual);
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  const int seeds = argc > 1 ? std::atoi(argv[1]) : 3;
  std::printf("Jacobian of OnlineICA's mean rule (tau 0.1, unclipped) at FOBI's solution, real "
              "parts (F: the mean update there):\n%-28s | %-64s | %s\n",
              "recording", "Lambda2 = 1 / mu (lambda2_power = -1)", "Lambda2 = mu");
  char name[64];
  for (int s = 1; s <= seeds; ++s) {
    std::snprintf(name, sizeof name, "bahroun_synthetic 2e5 s%d", s);
    report(name, dendrite::ica::bahroun_synthetic(200000, std::uint64_t(s)).mixed);
    for (const int d : {3, 5, 7}) {
      std::snprintf(name, sizeof name, "eeg_like(%d, 120 s) s%d", d, s);
      report(name, dendrite::ica::eeg_like(d, 120.0, 256.0, std::uint64_t(s)).mixed);
    }
  }
  return 0;
}
