// SPDX-License-Identifier: MIT
// A file that includes dendrite/core/eigen_instantiations.hpp and calls a PCA and an
// eigensolver must leave the decompositions' work to the file that instantiates them: its object
// references BDCSVD<MatrixXd>::compute and SelfAdjointEigenSolver<MatrixXf>::compute<MatrixXf>
// without defining them (checked with nm by tests/cmake/extern_check.cmake).
#include <Eigen/Dense>

#include <dendrite/core/eigen_instantiations.hpp>
#include <dendrite/geometry/pca.hpp>

double use(const Eigen::MatrixXd& x, const Eigen::MatrixXf& c) {
  dendrite::geometry::PCA<double> pca({.solver = dendrite::geometry::PCASolver::SVD});
  pca.fit(x);
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXf> eig(c);
  return pca.explained_variance()(0) + double(eig.eigenvalues()(0));
}
