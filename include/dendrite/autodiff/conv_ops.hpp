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
#include <dendrite/kernels/conv.hpp>
#include <dendrite/kernels/resample.hpp>
#include <dendrite/core/error.hpp>

namespace dendrite::autodiff {

using kernels::Conv1DShape;
using kernels::Conv2DShape;
using kernels::PoolKind;
using kernels::Resample;

namespace detail {

using namespace ::dendrite::kernels;  // the plain arithmetic the ops below wrap

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

inline Resample resample(const Index* i) noexcept {
  return {i[0], i[1], i[2], i[3], i[4], i[5] != 0};
}
inline void store(Index* i, const Resample& r) noexcept {
  pack(i, {r.channels, r.height, r.width, r.factor, r.batch, r.two_d ? 1 : 0});
}

}  // namespace detail

/// Pooling over the windows of `r` (max or average) on the tape; see kernels/resample.hpp.
template <TapeScalar T>
Var<T> pool(Var<T> x, const Resample& r, PoolKind kind) {
  detail::check_resample(kind == PoolKind::Max ? "max_pool" : "avg_pool", r, false, x.rows(), x.cols());
  if (kind == PoolKind::Max && x.value().size() >= (Index(1) << std::numeric_limits<T>::digits)) {
    DENDRITE_THROW(dimension_error, "max_pool: the input has too many elements (", x.value().size(),
                   ") to index exactly in this scalar type");
  }
  Tape<T>& tape = x.tape();
  Node<T>& node = tape.push(
      kind == PoolKind::Max
          ? +[](Tape<T>& t, Node<T>& n) {
              if (Mat<T>* gx = t.grad_of(n, 0)) {
                for (Index k = 0; k < n.grad.size(); ++k) gx->data()[Index(n.aux.data()[k])] += n.grad.data()[k];
              }
            }
          : +[](Tape<T>& t, Node<T>& n) {
              if (Mat<T>* gx = t.grad_of(n, 0)) {
                const Resample g = detail::resample(n.index);
                const T scale = T(1) / T(g.two_d ? g.factor * g.factor : g.factor);
                detail::for_each_window(g, false, [&](Index oi, Index oj, Index ii, Index ij) {
                  (*gx)(ii, ij) += scale * n.grad(oi, oj);
                });
              }
            },
      {x});
  detail::store(node.index, r);
  detail::pool_forward<T>(tape.in(node, 0), r, kind, node.value, &node.aux);
  return tape.top();
}

/// Nearest-neighbour upsampling by `r.factor` on the tape; see kernels/resample.hpp.
template <TapeScalar T>
Var<T> upsample(Var<T> x, const Resample& r) {
  detail::check_resample("upsample_nearest", r, true, x.rows(), x.cols());
  Tape<T>& tape = x.tape();
  Node<T>& node = tape.push(
      +[](Tape<T>& t, Node<T>& n) {
        if (Mat<T>* gx = t.grad_of(n, 0)) {
          detail::for_each_window(detail::resample(n.index), true, [&](Index oi, Index oj, Index ii, Index ij) {
            (*gx)(ii, ij) += n.grad(oi, oj);
          });
        }
      },
      {x});
  detail::store(node.index, r);
  detail::upsample_forward<T>(tape.in(node, 0), r, node.value);
  return tape.top();
}

/// Max over non-overlapping windows of k steps of a batch of sequences (C x L B step-major):
/// C x (floor(L / k) B).
template <TapeScalar T>
Var<T> max_pool1d(Var<T> x, Index k, Index length, Index batch) {
  return pool(x, {x.rows(), 1, length, k, batch, false}, PoolKind::Max);
}
/// Mean over non-overlapping windows of k steps (see max_pool1d).
template <TapeScalar T>
Var<T> avg_pool1d(Var<T> x, Index k, Index length, Index batch) {
  return pool(x, {x.rows(), 1, length, k, batch, false}, PoolKind::Avg);
}
/// Max over non-overlapping k x k windows of a batch of C x H x W maps: (C floor(H/k)
/// floor(W/k)) x B.
template <TapeScalar T>
Var<T> max_pool2d(Var<T> x, Index k, Index channels, Index height, Index width) {
  return pool(x, {channels, height, width, k, x.cols(), true}, PoolKind::Max);
}
/// Mean over non-overlapping k x k windows (see max_pool2d).
template <TapeScalar T>
Var<T> avg_pool2d(Var<T> x, Index k, Index channels, Index height, Index width) {
  return pool(x, {channels, height, width, k, x.cols(), true}, PoolKind::Avg);
}
/// Each step repeated `factor` times: C x (L factor B).
template <TapeScalar T>
Var<T> upsample_nearest1d(Var<T> x, Index factor, Index length, Index batch) {
  return upsample(x, {x.rows(), 1, length, factor, batch, false});
}
/// Each pixel repeated in a factor x factor block: (C H factor W factor) x B.
template <TapeScalar T>
Var<T> upsample_nearest2d(Var<T> x, Index factor, Index channels, Index height, Index width) {
  return upsample(x, {channels, height, width, factor, x.cols(), true});
}

}  // namespace dendrite::autodiff
