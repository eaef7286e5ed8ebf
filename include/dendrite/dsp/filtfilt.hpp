// SPDX-License-Identifier: MIT
/// @file
/// Zero-phase filtering of a recording (offline, an analysis function): SciPy's
/// `sosfiltfilt(sos, x)` with its defaults (padtype 'odd'), applied to each row of a
/// channels x samples matrix. For a row x of N samples and n samples of padding:
///   1. odd extension at both ends, x[-k] = 2 x[0] - x[k] and x[N-1+k] = 2 x[N-1] - x[N-1-k],
///      k = 1..n, so that the ends continue the signal's slope instead of jumping to 0;
///   2. the sections forward over the extended row, started in the steady state of a constant
///      input equal to its first sample (`SOSFilter::prime`; SciPy: `sosfilt_zi(sos) * ext[0]`);
///   3. the sections backward over that output, started in the steady state of its last sample;
///   4. the n samples of each extension dropped.
/// The result has no phase shift and the squared magnitude |H|^2 of the sections. By default
/// n = 3 (2 S + 1 - min(#{b2 = 0}, #{a2 = 0})) for S sections, SciPy's `padlen`. Equal to SciPy
/// 1.10's `sosfiltfilt` within 1e-12 relative with SciPy's sections, on fourteen designs and a
/// 4 001-sample signal, with the default padding and with none (tests/dsp/scipy_reference.py).
/// Only SciPy's defaults are offered: odd extension (not 'even', 'constant' or none but through
/// `padlen` 0) and its 'pad' method (not Gustafsson's). Each row runs through a one-channel
/// `SOSFilter` step by step (the primed state SciPy's test checks, with the step's per-sample
/// checks): 64 x 30 000 samples through 4 sections take 50 ms on the AVX-512 VM, where SciPy's
/// `sosfiltfilt` takes 25 ms (bench/README.md, `BM_SosFiltFilt64x30000`). The real-time
/// counterpart is `SOSFilter` (causal: a zero-phase filter needs the future).
#pragma once

#include <algorithm>
#include <array>
#include <vector>

#include <Eigen/Core>

#include <dendrite/core/analysis.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/dsp/sos_filter.hpp>

namespace dendrite::dsp {

/// Zero-phase filtering of each row of `x` (channels x samples) through the second-order
/// sections `sos` (S x 6, as `SOSFilter` takes them), with `padlen` samples of odd extension at
/// each end (-1: SciPy's default, see the file comment). Throws `dimension_error` for sections
/// that are not S x 6 or a row not longer than the padding, `numerical_error` for a non-finite
/// sample or coefficient.
template <AnalysisScalar S = double>
[[nodiscard]] MatrixX<S> sosfiltfilt(const Eigen::Ref<const Eigen::MatrixXd>& sos,
                                     const AnalysisRef<S>& x, Eigen::Index padlen = -1) {
  const SOSFilter<double, 1> design(sos);  // checks the sections' shape and values
  if (!x.allFinite()) {
    DENDRITE_THROW(numerical_error, "sosfiltfilt: the signal contains NaN or Inf");
  }
  Eigen::Index pad = padlen;
  if (pad < 0) {
    const Eigen::Index b2_zero = (sos.col(2).array() == 0).count();
    const Eigen::Index a2_zero = (sos.col(5).array() == 0).count();
    pad = 3 * (2 * sos.rows() + 1 - std::min(b2_zero, a2_zero));
  }
  const Eigen::Index n = x.cols();
  if (n <= pad) {
    DENDRITE_THROW(dimension_error, "sosfiltfilt: each row must be longer than the padding (",
                   pad, " samples), got ", n, " samples");
  }
  MatrixX<S> out(x.rows(), n);
  std::vector<double> ext(std::size_t(n + 2 * pad));
  // one pass over [first, last), in place, from the steady state of the sample it starts on
  const auto pass = [&design](auto first, auto last) {
    SOSFilter<double, 1> f = design;
    std::array<double, 1> in{*first}, y{};
    (void)f.prime(in);
    for (; first != last; ++first) {
      in[0] = *first;
      (void)f.step(in, y);
      *first = y[0];
    }
  };
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    const auto row = x.row(r);
    for (Eigen::Index k = 0; k < pad; ++k) {
      ext[std::size_t(k)] = 2 * row(0) - row(pad - k);
      ext[std::size_t(pad + n + k)] = 2 * row(n - 1) - row(n - 2 - k);
    }
    for (Eigen::Index t = 0; t < n; ++t) ext[std::size_t(pad + t)] = row(t);
    pass(ext.begin(), ext.end());    // forward
    pass(ext.rbegin(), ext.rend());  // then backward
    for (Eigen::Index t = 0; t < n; ++t) out(r, t) = ext[std::size_t(pad + t)];
  }
  return out;
}

}  // namespace dendrite::dsp
