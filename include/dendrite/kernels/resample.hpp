// SPDX-License-Identifier: MIT
/// @file
/// Pooling (max, average) over windows of `factor` steps or factor x factor pixels with stride
/// `factor` (PyTorch's floor rule), and nearest-neighbour upsampling by `factor`.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <string_view>
#include <type_traits>

#include <Eigen/Core>

#include <dendrite/core/error.hpp>
#include <dendrite/kernels/common.hpp>


namespace dendrite::kernels {

/// The rows/columns geometry of a pooling or upsampling op. 1-D: `channels` x (length B)
/// step-major; 2-D: (channels height width) x B. `factor` is the window or the upsampling
/// factor.
struct Resample {
  Index channels, height, width, factor, batch;
  bool two_d;
};

/// Calls f(out_row, out_col, in_row, in_col) for every output element and every input element
/// of its window (pooling: out = reduce over the window; upsampling: out = the one input).
template <class F>
void for_each_window(const Resample& r, bool up, F f) {
  const Index k = r.factor;
  if (!r.two_d) {  // rows are channels, columns steps (step-major)
    const Index lout = up ? r.width * k : r.width / k;
    for (Index t = 0; t < lout; ++t) {
      for (Index b = 0; b < r.batch; ++b) {
        for (Index j = 0; j < (up ? 1 : k); ++j) {
          const Index src = up ? t / k : t * k + j;
          for (Index c = 0; c < r.channels; ++c) f(c, t * r.batch + b, c, src * r.batch + b);
        }
      }
    }
    return;
  }
  const Index ho = up ? r.height * k : r.height / k;
  const Index wo = up ? r.width * k : r.width / k;
  for (Index b = 0; b < r.batch; ++b) {
    for (Index c = 0; c < r.channels; ++c) {
      for (Index i = 0; i < ho; ++i) {
        for (Index j = 0; j < wo; ++j) {
          const Index out = (c * ho + i) * wo + j;
          if (up) {
            f(out, b, (c * r.height + i / k) * r.width + j / k, b);
            continue;
          }
          for (Index u = 0; u < k; ++u) {
            for (Index v = 0; v < k; ++v) {
              f(out, b, (c * r.height + i * k + u) * r.width + j * k + v, b);
            }
          }
        }
      }
    }
  }
}

inline void check_resample(std::string_view who, const Resample& r, bool up, Index rows,
                           Index cols) {
  const Index want_rows = r.two_d ? r.channels * r.height * r.width : r.channels;
  const Index want_cols = r.two_d ? cols : r.width * r.batch;
  if (r.factor < 1 || rows != want_rows || cols != want_cols || cols < 1) {
    DENDRITE_THROW(dimension_error, who, ": expected an input of ", want_rows, " x ", want_cols,
                   r.two_d ? " (channels height width x maps)" : " (channels x length batch)",
                   " and a positive factor, got ", rows, " x ", cols, " and factor ", r.factor);
  }
  if (!up && (r.width < r.factor || (r.two_d && r.height < r.factor))) {
    DENDRITE_THROW(dimension_error, who, ": the input (", r.two_d ? r.height : 1, " x ", r.width,
                   ") is smaller than the pooling window ", r.factor);
  }
}

/// Output shape of pooling (down) or upsampling (up).
inline void resample_out(const Resample& r, bool up, Index in_cols, Index& rows, Index& cols) {
  const Index k = r.factor;
  const Index wo = up ? r.width * k : r.width / k;
  if (r.two_d) {
    const Index ho = up ? r.height * k : r.height / k;
    rows = r.channels * ho * wo;
    cols = in_cols;
  } else {
    rows = r.channels;
    cols = wo * r.batch;
  }
}

enum class PoolKind { Max, Avg };

template <class T, class X>
void pool_forward(const X& x, const Resample& r, PoolKind kind, Mat<T>& y, Mat<T>* argmax) {
  Index rows = 0, cols = 0;
  resample_out(r, false, x.cols(), rows, cols);
  if (kind == PoolKind::Avg) {
    y.setZero(rows, cols);
    const T scale = T(1) / T(r.two_d ? r.factor * r.factor : r.factor);
    for_each_window(r, false, [&](Index oi, Index oj, Index ii, Index ij) {
      y(oi, oj) += scale * x(ii, ij);
    });
    return;
  }
  y.setConstant(rows, cols, -std::numeric_limits<T>::infinity());
  if (argmax != nullptr) argmax->setConstant(rows, cols, T(-1));
  for_each_window(r, false, [&](Index oi, Index oj, Index ii, Index ij) {
    const T v = x(ii, ij);
    if (v > y(oi, oj) || (argmax != nullptr && (*argmax)(oi, oj) < 0)) {
      y(oi, oj) = v;
      // the flat input index, exact in T for any input below 2^24 elements (float)
      if (argmax != nullptr) (*argmax)(oi, oj) = T(ij * x.rows() + ii);
    }
  });
}

template <class T, class X>
void upsample_forward(const X& x, const Resample& r, Mat<T>& y) {
  Index rows = 0, cols = 0;
  resample_out(r, true, x.cols(), rows, cols);
  y.resize(rows, cols);
  for_each_window(r, true, [&](Index oi, Index oj, Index ii, Index ij) { y(oi, oj) = x(ii, ij); });
}

}  // namespace dendrite::kernels
