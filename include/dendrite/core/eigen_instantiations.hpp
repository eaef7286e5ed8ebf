// SPDX-License-Identifier: MIT
/// @file
/// Compile Eigen's dense decompositions once per program instead of once per file (opt-in; not
/// in the umbrella header).
///
/// The analysis code (PCA, FOBI, FastICA, whitening, principal angles, the torus tests, OnlineICA's
/// warm start) calls Eigen's SVDs, eigensolvers, QR and Cholesky on `MatrixXf` and `MatrixXd`.
/// Being templates, they are instantiated and optimised again in every translation unit that
/// calls them: 20-60 s of compiler time per file on 2 cores. This header declares them
/// `extern template` (C++11 explicit instantiation declarations, [temp.explicit]), so a file
/// that includes it compiles none of them; exactly one file of the program defines
/// `DENDRITE_EIGEN_INSTANTIATE` before including it, and compiles them all (70-130 s at -O1 on
/// this project's 2-core VM, clang or g++). To spread that over two cores, define
/// `DENDRITE_EIGEN_INSTANTIATE_FLOAT` in one file and `DENDRITE_EIGEN_INSTANTIATE_DOUBLE` in
/// another instead.
///
///     // every file (or the precompiled header), after <Eigen/Dense> or any dendrite header:
///     #include <dendrite/core/eigen_instantiations.hpp>
///     // one file only:
///     #define DENDRITE_EIGEN_INSTANTIATE
///     #include <dendrite/core/eigen_instantiations.hpp>
///
/// Covered, for `Eigen::MatrixXf` and `Eigen::MatrixXd`, the factorisation itself of `BDCSVD`,
/// `JacobiSVD` (the default QR preconditioner), `SelfAdjointEigenSolver` (from a plain matrix),
/// `HouseholderQR`, `ColPivHouseholderQR`, `FullPivLU` and `PartialPivLU`; their solves and
/// accessors are small and stay inline. `LLT`/`LDLT` are cheap to compile and not covered, nor are
/// other matrix types (fixed sizes, maps). Limits: the defining file must be compiled with the same
/// Eigen configuration macros (e.g. `EIGEN_RUNTIME_NO_MALLOC`) and should use the same
/// optimisation and architecture flags as the rest of the program; a file that leaves this header
/// out still works (it instantiates its own copies, which the linker merges). The defining file
/// must not have included this header before defining the macro (it is `#pragma once`).
#pragma once

#include <Eigen/Dense>

#ifdef DENDRITE_EIGEN_INSTANTIATE
#define DENDRITE_EIGEN_INSTANTIATE_FLOAT
#define DENDRITE_EIGEN_INSTANTIATE_DOUBLE
#endif

// Only the members that do the work are named (explicit instantiation of a member, access
// checking aside, [temp.explicit]/14): naming whole classes would compile every member, most of
// them unused, and cost the defining file twice as much. `compute` of the eigensolver is a member
// template (on the input expression): the plain-matrix one is the one the analysis code calls.
#define DENDRITE_DETAIL_EIGEN_DECOMPOSITIONS(M)                                                  \
  DENDRITE_DETAIL_EIGEN_EXTERN template Eigen::BDCSVD<M>& Eigen::BDCSVD<M>::compute(             \
      const M&, unsigned int);                                                                 \
  DENDRITE_DETAIL_EIGEN_EXTERN template Eigen::JacobiSVD<M>& Eigen::JacobiSVD<M>::compute(       \
      const M&, unsigned int);                                                                 \
  DENDRITE_DETAIL_EIGEN_EXTERN template Eigen::SelfAdjointEigenSolver<M>&                       \
  Eigen::SelfAdjointEigenSolver<M>::compute<M>(const Eigen::EigenBase<M>&, int);               \
  DENDRITE_DETAIL_EIGEN_EXTERN template void Eigen::HouseholderQR<M>::computeInPlace();         \
  DENDRITE_DETAIL_EIGEN_EXTERN template void Eigen::ColPivHouseholderQR<M>::computeInPlace();   \
  DENDRITE_DETAIL_EIGEN_EXTERN template void Eigen::FullPivLU<M>::computeInPlace();             \
  DENDRITE_DETAIL_EIGEN_EXTERN template void Eigen::PartialPivLU<M>::compute()

#ifdef DENDRITE_EIGEN_INSTANTIATE_FLOAT
#define DENDRITE_DETAIL_EIGEN_EXTERN
#else
#define DENDRITE_DETAIL_EIGEN_EXTERN extern
#endif
DENDRITE_DETAIL_EIGEN_DECOMPOSITIONS(Eigen::MatrixXf);
#undef DENDRITE_DETAIL_EIGEN_EXTERN

#ifdef DENDRITE_EIGEN_INSTANTIATE_DOUBLE
#define DENDRITE_DETAIL_EIGEN_EXTERN
#else
#define DENDRITE_DETAIL_EIGEN_EXTERN extern
#endif
DENDRITE_DETAIL_EIGEN_DECOMPOSITIONS(Eigen::MatrixXd);

#undef DENDRITE_DETAIL_EIGEN_DECOMPOSITIONS
#undef DENDRITE_DETAIL_EIGEN_EXTERN
