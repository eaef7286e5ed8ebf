// SPDX-License-Identifier: MIT
/// @file
/// Convolution, pooling and upsampling on the reverse-mode tape, and the plain kernels that the
/// analysis `forward` of dendrite::nn's conv blocks shares with them.
///
/// Layouts (dendrite's features x samples convention, byte-compatible with PyTorch's C-order
/// arrays):
/// - a batch of sequences is C x (L B), step-major: column t B + b is step t of sequence b
///   (PyTorch's (L, B, C) array; B = 1 is one sequence, C x L);
/// - a batch of maps is (C H W) x B: column b is map b in C order, element c H W + h W + w
///   (PyTorch's (B, C, H, W) array);
/// - a conv weight is Cout x (Cin K) or Cout x (Cin KH KW), PyTorch's (Cout, Cin, K[, KW])
///   array read in C order; the bias is Cout x 1.
///
/// Cross-correlation, as PyTorch (no kernel flip):
///   conv1d   y[o, t] = b[o] + sum_{c,k} W[o, c, k] x[c, t s + k d - p]
///   conv2d   y[o, i, j] = b[o] + sum_{c,u,v} W[o, c, u, v] x[c, i s + u - pt, j s + v - pl]
/// with zeros outside the input. Lengths: L_out = floor((L + pl + pr - d (K - 1) - 1) / s) + 1.
/// Each op is one node: the input is unfolded (im2col) into a matrix kept for the backward
/// pass, so the work is one GEMM forward and two backward (gW += g cols^T, gcols = W^T g,
/// folded back into gx).
///
/// Pooling over non-overlapping windows of k (PyTorch's default stride = kernel, floor):
/// max (gradient to the first maximum of each window) and average; nearest upsampling by an
/// integer factor (gradient: sum over the copies).
#pragma once

#include <algorithm>
#include <limits>
#include <string_view>

#include <dendrite/autodiff/tape.hpp>
#include <dendrite/core/error.hpp>

namespace dendrite::autodiff {

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

namespace detail {

inline void pack(Index* dst, std::initializer_list<Index> v) noexcept {
  Index k = 0;
  for (Index x : v) dst[k++] = x;
}

inline Conv1DShape conv1d_shape(const Index* i) noexcept {
  return {i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7], i[8]};
}
inline void store(Index* i, const Conv1DShape& s) noexcept {
  pack(i, {s.in_channels, s.out_channels, s.kernel, s.dilation, s.stride, s.pad_left, s.pad_right,
           s.length, s.batch});
}
inline Conv2DShape conv2d_shape(const Index* i) noexcept {
  return {i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7], i[8], i[9], i[10]};
}
inline void store(Index* i, const Conv2DShape& s) noexcept {
  pack(i, {s.in_channels, s.out_channels, s.kernel_h, s.kernel_w, s.stride, s.pad_top,
           s.pad_bottom, s.pad_left, s.pad_right, s.height, s.width});
}

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

}  // namespace detail

/// 1-D convolution of a batch of sequences x (Cin x L B, step-major) with weight w
/// (Cout x Cin K) and bias b (Cout x 1): Cout x (Lout B). See the file comment.
template <TapeScalar T>
Var<T> conv1d(Var<T> x, Var<T> w, Var<T> b, const Conv1DShape& s) {
  detail::check_conv1d("conv1d", s, x.rows(), x.cols(), w.rows(), w.cols(), b.rows(), b.cols());
  Tape<T>& tape = x.tape();
  Node<T>& node = tape.push(
      +[](Tape<T>& t, Node<T>& n) {
        const Conv1DShape g = detail::conv1d_shape(n.index);
        t.accumulate(n, 2, n.grad.rowwise().sum());
        t.accumulate(n, 1, n.grad * n.aux.transpose());
        if (Mat<T>* gx = t.grad_of(n, 0)) {
          n.aux2.noalias() = t.in(n, 1).transpose() * n.grad;
          detail::col2im_1d(n.aux2, g, *gx);
        }
      },
      {x, w, b});
  detail::store(node.index, s);
  detail::conv1d_forward<T>(tape.in(node, 0), tape.in(node, 1), tape.in(node, 2), s, node.aux,
                            node.value);
  return tape.top();
}

/// 2-D convolution of a batch of maps x ((Cin H W) x B) with weight w (Cout x Cin KH KW) and
/// bias b: (Cout Hout Wout) x B. See the file comment.
template <TapeScalar T>
Var<T> conv2d(Var<T> x, Var<T> w, Var<T> b, const Conv2DShape& s) {
  detail::check_conv2d("conv2d", s, x.rows(), x.cols(), w.rows(), w.cols(), b.rows(), b.cols());
  Tape<T>& tape = x.tape();
  Node<T>& node = tape.push(
      +[](Tape<T>& t, Node<T>& n) {
        const Conv2DShape g = detail::conv2d_shape(n.index);
        const Index P = g.out_height() * g.out_width();
        const Index Q = g.in_channels * g.kernel_h * g.kernel_w;
        const Index B = n.grad.cols();
        const Mat<T>& weight = t.in(n, 1);
        Mat<T>* gw = t.grad_of(n, 1);
        Mat<T>* gb = t.grad_of(n, 2);
        Mat<T>* gx = t.grad_of(n, 0);
        if (gx != nullptr) n.aux2.resize(P, Q);
        for (Index k = 0; k < B; ++k) {
          Eigen::Map<const Mat<T>> gk(n.grad.col(k).data(), P, g.out_channels);
          Eigen::Map<const Mat<T>> ck(n.aux.data() + k * P * Q, P, Q);
          if (gw != nullptr) gw->noalias() += gk.transpose() * ck;
          if (gb != nullptr) gb->col(0) += gk.colwise().sum().transpose();
          if (gx != nullptr) {
            n.aux2.noalias() = gk * weight;
            detail::col2im_2d(n.aux2.data(), g, gx->col(k).data());
          }
        }
      },
      {x, w, b});
  detail::store(node.index, s);
  detail::conv2d_forward<T>(tape.in(node, 0), tape.in(node, 1), tape.in(node, 2), s, node.aux,
                            node.value);
  return tape.top();
}

// ---------------------------------------------------------------------------------------------
// Pooling and upsampling

namespace detail {

/// The rows/columns geometry of a pooling or upsampling op. 1-D: `channels` x (length B)
/// step-major; 2-D: (channels height width) x B. `factor` is the window or the upsampling
/// factor.
struct Resample {
  Index channels, height, width, factor, batch;
  bool two_d;
};

inline Resample resample(const Index* i) noexcept {
  return {i[0], i[1], i[2], i[3], i[4], i[5] != 0};
}
inline void store(Index* i, const Resample& r) noexcept {
  pack(i, {r.channels, r.height, r.width, r.factor, r.batch, r.two_d ? 1 : 0});
}

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

enum class PoolKind { max, avg };

template <class T, class X>
void pool_forward(const X& x, const Resample& r, PoolKind kind, Mat<T>& y, Mat<T>* argmax) {
  Index rows = 0, cols = 0;
  resample_out(r, false, x.cols(), rows, cols);
  if (kind == PoolKind::avg) {
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

template <TapeScalar T>
Var<T> pool(Var<T> x, const Resample& r, PoolKind kind) {
  check_resample(kind == PoolKind::max ? "max_pool" : "avg_pool", r, false, x.rows(), x.cols());
  if (kind == PoolKind::max && x.value().size() >= (Index(1) << std::numeric_limits<T>::digits)) {
    DENDRITE_THROW(dimension_error, "max_pool: the input has too many elements (", x.value().size(),
                   ") to index exactly in this scalar type");
  }
  Tape<T>& tape = x.tape();
  Node<T>& node = tape.push(
      kind == PoolKind::max
          ? +[](Tape<T>& t, Node<T>& n) {
              if (Mat<T>* gx = t.grad_of(n, 0)) {
                for (Index k = 0; k < n.grad.size(); ++k) gx->data()[Index(n.aux.data()[k])] += n.grad.data()[k];
              }
            }
          : +[](Tape<T>& t, Node<T>& n) {
              if (Mat<T>* gx = t.grad_of(n, 0)) {
                const Resample g = resample(n.index);
                const T scale = T(1) / T(g.two_d ? g.factor * g.factor : g.factor);
                for_each_window(g, false, [&](Index oi, Index oj, Index ii, Index ij) {
                  (*gx)(ii, ij) += scale * n.grad(oi, oj);
                });
              }
            },
      {x});
  store(node.index, r);
  pool_forward<T>(tape.in(node, 0), r, kind, node.value, &node.aux);
  return tape.top();
}

template <TapeScalar T>
Var<T> upsample(Var<T> x, const Resample& r) {
  check_resample("upsample_nearest", r, true, x.rows(), x.cols());
  Tape<T>& tape = x.tape();
  Node<T>& node = tape.push(
      +[](Tape<T>& t, Node<T>& n) {
        if (Mat<T>* gx = t.grad_of(n, 0)) {
          for_each_window(resample(n.index), true, [&](Index oi, Index oj, Index ii, Index ij) {
            (*gx)(ii, ij) += n.grad(oi, oj);
          });
        }
      },
      {x});
  store(node.index, r);
  upsample_forward<T>(tape.in(node, 0), r, node.value);
  return tape.top();
}

}  // namespace detail

/// Max over non-overlapping windows of k steps of a batch of sequences (C x L B step-major):
/// C x (floor(L / k) B).
template <TapeScalar T>
Var<T> max_pool1d(Var<T> x, Index k, Index length, Index batch) {
  return detail::pool(x, {x.rows(), 1, length, k, batch, false}, detail::PoolKind::max);
}
/// Mean over non-overlapping windows of k steps (see max_pool1d).
template <TapeScalar T>
Var<T> avg_pool1d(Var<T> x, Index k, Index length, Index batch) {
  return detail::pool(x, {x.rows(), 1, length, k, batch, false}, detail::PoolKind::avg);
}
/// Max over non-overlapping k x k windows of a batch of C x H x W maps: (C floor(H/k)
/// floor(W/k)) x B.
template <TapeScalar T>
Var<T> max_pool2d(Var<T> x, Index k, Index channels, Index height, Index width) {
  return detail::pool(x, {channels, height, width, k, x.cols(), true}, detail::PoolKind::max);
}
/// Mean over non-overlapping k x k windows (see max_pool2d).
template <TapeScalar T>
Var<T> avg_pool2d(Var<T> x, Index k, Index channels, Index height, Index width) {
  return detail::pool(x, {channels, height, width, k, x.cols(), true}, detail::PoolKind::avg);
}
/// Each step repeated `factor` times: C x (L factor B).
template <TapeScalar T>
Var<T> upsample_nearest1d(Var<T> x, Index factor, Index length, Index batch) {
  return detail::upsample(x, {x.rows(), 1, length, factor, batch, false});
}
/// Each pixel repeated in a factor x factor block: (C H factor W factor) x B.
template <TapeScalar T>
Var<T> upsample_nearest2d(Var<T> x, Index factor, Index channels, Index height, Index width) {
  return detail::upsample(x, {channels, height, width, factor, x.cols(), true});
}

}  // namespace dendrite::autodiff
