// SPDX-License-Identifier: MIT
/// @file
/// Normalisation and attention on the reverse-mode tape, wrapping the plain kernels of
/// kernels/normalize.hpp and kernels/attention.hpp (shared with dendrite::nn's `forward`).
///
///   normalize(x, g, eps)  each column cut into groups of g consecutive rows; each group becomes
///                         (x - mean) / sqrt(var + eps), var the biased variance (PyTorch's
///                         LayerNorm: g = rows; InstanceNorm2d: g = H W). VJP per group, with
///                         xh the output and s = 1 / sqrt(var + eps):
///                         gx = s (g - mean(g) - xh mean(g xh))
///
///   attention(q, k, v, shape)  scaled dot-product attention (Vaswani et al. 2017) per head and
///                         sequence, over a batch of sequences in dendrite's step-major layout
///                         (Dim x L B, column t B + b; head h owns rows [h Dim/H, (h+1) Dim/H)):
///                         S = K_h^T Q_h / sqrt(Dim/H) (key j, query i), masked, P = column-wise
///                         softmax, O_h = V_h P. Masks: causal (key j visible to query i iff
///                         j <= i) and a causal window w (iff i - w < j <= i). VJP:
///                         gV = gO P^T, gP = V^T gO, gS = P (gP - colsum(P gP)),
///                         gQ = K gS / sqrt(d), gK = Q gS^T / sqrt(d).
///                         The probabilities are kept on the node (`attention_weights`).
#pragma once

#include <cmath>
#include <limits>
#include <string_view>

#include <dendrite/autodiff/conv_ops.hpp>
#include <dendrite/autodiff/tape.hpp>
#include <dendrite/kernels/attention.hpp>
#include <dendrite/kernels/normalize.hpp>
#include <dendrite/core/error.hpp>

namespace dendrite::autodiff {

using kernels::AttentionShape;

namespace detail {
using namespace ::dendrite::kernels;  // the plain arithmetic the ops below wrap
}  // namespace detail

/// Normalises groups of `group` consecutive rows in each column (see the file comment).
template <TapeScalar T>
Var<T> normalize(Var<T> x, Index group, T eps = T(1e-5)) {
  if (group < 1 || x.rows() % group != 0) {
    DENDRITE_THROW(dimension_error, "normalize: expected the ", x.rows(),
                   " rows to be whole groups, got group size ", group);
  }
  Tape<T>& tape = x.tape();
  Node<T>& node = tape.push(
      +[](Tape<T>& t, Node<T>& n) {
        Mat<T>* gx = t.grad_of(n, 0);
        if (gx == nullptr) return;
        const Index gsize = n.index[0];
        for (Index c = 0; c < n.grad.cols(); ++c) {
          for (Index g = 0; g < n.aux.rows(); ++g) {
            const auto gy = n.grad.col(c).segment(g * gsize, gsize).array();
            const auto xh = n.value.col(c).segment(g * gsize, gsize).array();
            const T mg = gy.mean();
            const T mgx = (gy * xh).mean();
            gx->col(c).segment(g * gsize, gsize).array() += n.aux(g, c) * (gy - mg - xh * mgx);
          }
        }
      },
      {x});
  node.index[0] = group;
  detail::normalize_forward<T>(tape.in(node, 0), group, eps, node.value, node.aux);
  return tape.top();
}

namespace detail {

inline AttentionShape attention_shape(const Index* i) noexcept {
  return {i[0], i[1], i[2], i[3] != 0, i[4]};
}

}  // namespace detail

/// Scaled dot-product attention, per head and sequence (see the file comment).
template <TapeScalar T>
Var<T> attention(Var<T> q, Var<T> k, Var<T> v, const AttentionShape& s) {
  detail::check_attention("attention", s, q.rows(), q.cols());
  if (k.rows() != q.rows() || k.cols() != q.cols() || v.rows() != q.rows() ||
      v.cols() != q.cols()) {
    DENDRITE_THROW(dimension_error, "attention: expected keys and values shaped like the ",
                   q.rows(), " x ", q.cols(), " queries, got ", k.rows(), " x ", k.cols(),
                   " and ", v.rows(), " x ", v.cols());
  }
  Tape<T>& tape = q.tape();
  Node<T>& node = tape.push(
      +[](Tape<T>& t, Node<T>& n) {
        const AttentionShape g = detail::attention_shape(n.index);
        const Index dim = n.grad.rows();
        const Index L = g.length;
        const T scale = T(1) / std::sqrt(T(dim / g.heads));
        Mat<T>* gq = t.grad_of(n, 0);
        Mat<T>* gk = t.grad_of(n, 1);
        Mat<T>* gv = t.grad_of(n, 2);
        Mat<T>& gs = n.aux2;
        gs.resize(L, L);
        for (Index b = 0; b < g.batch; ++b) {
          for (Index h = 0; h < g.heads; ++h) {
            const auto ph = n.aux.middleCols((b * g.heads + h) * L, L);
            const auto go = detail::head_view<T>(n.grad.data(), dim, g, b, h);
            if (gv != nullptr) {
              detail::head_view<T>(gv->data(), dim, g, b, h).noalias() += go * ph.transpose();
            }
            if (gq == nullptr && gk == nullptr) continue;
            gs.noalias() = detail::head_view<T>(t.in(n, 2).data(), dim, g, b, h).transpose() * go;
            for (Index i = 0; i < L; ++i) {
              const T dot = ph.col(i).dot(gs.col(i));
              gs.col(i) = (ph.col(i).array() * (gs.col(i).array() - dot) * scale).matrix();
            }
            if (gq != nullptr) {
              detail::head_view<T>(gq->data(), dim, g, b, h).noalias() +=
                  detail::head_view<T>(t.in(n, 1).data(), dim, g, b, h) * gs;
            }
            if (gk != nullptr) {
              detail::head_view<T>(gk->data(), dim, g, b, h).noalias() +=
                  detail::head_view<T>(t.in(n, 0).data(), dim, g, b, h) * gs.transpose();
            }
          }
        }
      },
      {q, k, v});
  detail::pack(node.index, {s.heads, s.length, s.batch, s.causal ? 1 : 0, s.window});
  detail::attention_forward<T>(tape.in(node, 0), tape.in(node, 1), tape.in(node, 2), s,
                               node.value, node.aux);
  return tape.top();
}

/// The probabilities of an attention node: L x (L B H), block b H + h holding P(key, query)
/// (each column sums to 1). Valid until the tape is cleared.
template <TapeScalar T>
const Mat<T>& attention_weights(const Var<T>& out) {
  return out.tape().node(out).aux;
}

}  // namespace dendrite::autodiff
