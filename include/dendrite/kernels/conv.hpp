// SPDX-License-Identifier: MIT
/// @file
/// 1-D and 2-D convolution by unfolding (im2col) and one matrix product, in PyTorch's layouts
/// and conventions (cross-correlation; weight Cout x (Cin K) for 1-D, Cout x (Cin KH KW) for
/// 2-D): y = W cols + b. 1-D data are Cin x (L B) step-major (column t B + b); 2-D maps are
/// (C H W) x B, the bytes of PyTorch's (B, C, H, W).
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

/// Geometry of a 1-D convolution over a batch of sequences.
struct Conv1DShape {
  Index in_channels = 0, out_channels = 0, kernel = 1, dilation = 1, stride = 1;
  Index pad_left = 0, pad_right = 0, length = 0, batch = 1;

  [[nodiscard]] Index out_length() const noexcept {
    const Index span = length + pad_left + pad_right - dilation * (kernel - 1) - 1;
    return span < 0 ? 0 : span / stride + 1;
  }
};

/// Geometry of a 2-D convolution over a batch of maps.
struct Conv2DShape {
  Index in_channels = 0, out_channels = 0, kernel_h = 1, kernel_w = 1, stride = 1;
  Index pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0, height = 0, width = 0;

  [[nodiscard]] Index out_height() const noexcept {
    const Index span = height + pad_top + pad_bottom - kernel_h;
    return span < 0 ? 0 : span / stride + 1;
  }
  [[nodiscard]] Index out_width() const noexcept {
    const Index span = width + pad_left + pad_right - kernel_w;
    return span < 0 ? 0 : span / stride + 1;
  }
};

inline void check_conv1d(std::string_view who, const Conv1DShape& s, Index x_rows, Index x_cols,
                         Index w_rows, Index w_cols, Index b_rows, Index b_cols) {
  if (x_rows != s.in_channels || x_cols != s.length * s.batch) {
    DENDRITE_THROW(dimension_error, who, ": expected an input of ", s.in_channels, " x ",
                   s.length * s.batch, " (channels x length * batch), got ", x_rows, " x ",
                   x_cols);
  }
  if (w_rows != s.out_channels || w_cols != s.in_channels * s.kernel || b_rows != s.out_channels ||
      b_cols != 1) {
    DENDRITE_THROW(dimension_error, who, ": expected a ", s.out_channels, " x ",
                   s.in_channels * s.kernel, " weight and a ", s.out_channels,
                   " x 1 bias, got ", w_rows, " x ", w_cols, " and ", b_rows, " x ", b_cols);
  }
  if (s.kernel < 1 || s.dilation < 1 || s.stride < 1 || s.pad_left < 0 || s.pad_right < 0 ||
      s.batch < 1 || s.out_length() < 1) {
    DENDRITE_THROW(dimension_error, who, ": a sequence of length ", s.length,
                   " is too short for kernel ", s.kernel, ", dilation ", s.dilation,
                   " and padding ", s.pad_left, " + ", s.pad_right, " (or a size is not positive)");
  }
}

inline void check_conv2d(std::string_view who, const Conv2DShape& s, Index x_rows, Index x_cols,
                         Index w_rows, Index w_cols, Index b_rows, Index b_cols) {
  if (x_rows != s.in_channels * s.height * s.width || x_cols < 1) {
    DENDRITE_THROW(dimension_error, who, ": expected maps of ", s.in_channels, " x ", s.height,
                   " x ", s.width, " = ", s.in_channels * s.height * s.width,
                   " rows (one map per column), got ", x_rows, " x ", x_cols);
  }
  const Index kk = s.kernel_h * s.kernel_w;
  if (w_rows != s.out_channels || w_cols != s.in_channels * kk || b_rows != s.out_channels ||
      b_cols != 1) {
    DENDRITE_THROW(dimension_error, who, ": expected a ", s.out_channels, " x ",
                   s.in_channels * kk, " weight and a ", s.out_channels, " x 1 bias, got ",
                   w_rows, " x ", w_cols, " and ", b_rows, " x ", b_cols);
  }
  if (s.stride < 1 || s.pad_top < 0 || s.pad_bottom < 0 || s.pad_left < 0 || s.pad_right < 0 ||
      s.out_height() < 1 || s.out_width() < 1) {
    DENDRITE_THROW(dimension_error, who, ": a ", s.height, " x ", s.width,
                   " map is too small for a ", s.kernel_h, " x ", s.kernel_w,
                   " kernel with this padding and stride");
  }
}

/// cols (Cin K) x (Lout B): cols(c K + k, t B + b) = x(c, (t s + k d - pl) B + b), 0 outside.
template <class T, class X>
void im2col_1d(const X& x, const Conv1DShape& s, Mat<T>& cols) {
  const Index lout = s.out_length();
  const Index B = s.batch;
  cols.resize(s.in_channels * s.kernel, lout * B);
  for (Index t = 0; t < lout; ++t) {
    for (Index k = 0; k < s.kernel; ++k) {
      const Index src = t * s.stride + k * s.dilation - s.pad_left;
      const bool inside = src >= 0 && src < s.length;
      for (Index b = 0; b < B; ++b) {
        T* col = cols.col(t * B + b).data();
        if (inside) {
          const auto xs = x.col(src * B + b);
          for (Index c = 0; c < s.in_channels; ++c) col[c * s.kernel + k] = xs(c);
        } else {
          for (Index c = 0; c < s.in_channels; ++c) col[c * s.kernel + k] = T(0);
        }
      }
    }
  }
}

/// gx += fold(gcols), the adjoint of im2col_1d.
template <class T>
void col2im_1d(const Mat<T>& gcols, const Conv1DShape& s, Mat<T>& gx) {
  const Index lout = s.out_length();
  const Index B = s.batch;
  for (Index t = 0; t < lout; ++t) {
    for (Index k = 0; k < s.kernel; ++k) {
      const Index src = t * s.stride + k * s.dilation - s.pad_left;
      if (src < 0 || src >= s.length) continue;
      for (Index b = 0; b < B; ++b) {
        const T* col = gcols.col(t * B + b).data();
        auto gs = gx.col(src * B + b);
        for (Index c = 0; c < s.in_channels; ++c) gs(c) += col[c * s.kernel + k];
      }
    }
  }
}

/// colsT (Hout Wout) x (Cin KH KW) of map `x` (one column): row p = i Wout + j, column
/// q = c KH KW + u KW + v holds x[c, i s + u - pt, j s + v - pl] (0 outside).
template <class T>
void im2col_2d(const T* x, const Conv2DShape& s, T* colsT) {
  const Index ho = s.out_height(), wo = s.out_width(), P = ho * wo;
  for (Index c = 0; c < s.in_channels; ++c) {
    const T* xc = x + c * s.height * s.width;
    for (Index u = 0; u < s.kernel_h; ++u) {
      for (Index v = 0; v < s.kernel_w; ++v) {
        T* col = colsT + ((c * s.kernel_h + u) * s.kernel_w + v) * P;
        for (Index i = 0; i < ho; ++i) {
          const Index r = i * s.stride + u - s.pad_top;
          T* dst = col + i * wo;
          if (r < 0 || r >= s.height) {
            std::fill(dst, dst + wo, T(0));
            continue;
          }
          const T* row = xc + r * s.width;
          for (Index j = 0; j < wo; ++j) {
            const Index q = j * s.stride + v - s.pad_left;
            dst[j] = (q >= 0 && q < s.width) ? row[q] : T(0);
          }
        }
      }
    }
  }
}

/// gx += fold(gcolsT), the adjoint of im2col_2d.
template <class T>
void col2im_2d(const T* gcolsT, const Conv2DShape& s, T* gx) {
  const Index ho = s.out_height(), wo = s.out_width(), P = ho * wo;
  for (Index c = 0; c < s.in_channels; ++c) {
    T* gc = gx + c * s.height * s.width;
    for (Index u = 0; u < s.kernel_h; ++u) {
      for (Index v = 0; v < s.kernel_w; ++v) {
        const T* col = gcolsT + ((c * s.kernel_h + u) * s.kernel_w + v) * P;
        for (Index i = 0; i < ho; ++i) {
          const Index r = i * s.stride + u - s.pad_top;
          if (r < 0 || r >= s.height) continue;
          T* row = gc + r * s.width;
          const T* src = col + i * wo;
          for (Index j = 0; j < wo; ++j) {
            const Index q = j * s.stride + v - s.pad_left;
            if (q >= 0 && q < s.width) row[q] += src[j];
          }
        }
      }
    }
  }
}

/// y = W cols + b for a 1-D convolution (`cols` is filled and kept).
template <class T, class X>
void conv1d_forward(const X& x, const Mat<T>& w, const Mat<T>& b, const Conv1DShape& s,
                    Mat<T>& cols, Mat<T>& y) {
  im2col_1d<T>(x, s, cols);
  y.resize(s.out_channels, cols.cols());
  y.colwise() = b.col(0);
  y.noalias() += w * cols;
}

/// Maps y (Cout Hout Wout) x B = conv2d(x); `colsT` holds the unfolded maps side by side.
template <class T, class X>
void conv2d_forward(const X& x, const Mat<T>& w, const Mat<T>& b, const Conv2DShape& s,
                    Mat<T>& colsT, Mat<T>& y) {
  const Index P = s.out_height() * s.out_width();
  const Index Q = s.in_channels * s.kernel_h * s.kernel_w;
  const Index B = x.cols();
  colsT.resize(P, Q * B);
  y.resize(s.out_channels * P, B);
  for (Index n = 0; n < B; ++n) {
    T* cn = colsT.data() + n * P * Q;
    im2col_2d<T>(x.col(n).data(), s, cn);
    Eigen::Map<const Mat<T>> cm(cn, P, Q);
    Eigen::Map<Mat<T>> yn(y.col(n).data(), P, s.out_channels);
    yn.rowwise() = b.col(0).transpose();
    yn.noalias() += cm * w.transpose();
  }
}

}  // namespace dendrite::kernels
