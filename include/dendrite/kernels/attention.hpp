// SPDX-License-Identifier: MIT
/// @file
/// Scaled dot-product attention (Vaswani et al. 2017) per head and sequence over a batch of
/// sequences in dendrite's step-major layout (Dim x L B, column t B + b; head h owns rows
/// [h Dim/H, (h+1) Dim/H)): S = K_h^T Q_h / sqrt(Dim/H), masked (causal, or a causal window),
/// P = column-wise softmax, O_h = V_h P.
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

/// Geometry and mask of scaled dot-product attention over a batch of sequences.
struct AttentionShape {
  Index heads = 1, length = 0, batch = 1;
  bool causal = false;
  Index window = 0;  ///< > 0: causal window of this many steps (implies causal)

  [[nodiscard]] bool visible(Index query, Index key) const noexcept {
    if (window > 0) return key <= query && query - key < window;
    return !causal || key <= query;
  }
};


template <class T>
using Strided = Eigen::Map<const Mat<T>, 0, Eigen::OuterStride<>>;
template <class T>
using StridedMut = Eigen::Map<Mat<T>, 0, Eigen::OuterStride<>>;

/// The head h of sequence b inside a Dim x (L B) step-major matrix: a (Dim/H) x L view.
template <class T, class Ptr>
auto head_view(Ptr data, Index dim, const AttentionShape& s, Index b, Index h) {
  const Index d = dim / s.heads;
  using M = std::conditional_t<std::is_const_v<std::remove_pointer_t<Ptr>>, Strided<T>,
                               StridedMut<T>>;
  return M(data + b * dim + h * d, d, s.length, Eigen::OuterStride<>(s.batch * dim));
}

/// out = attention(q, k, v); p (L x L B H) keeps the probabilities, block (b H + h) holding
/// P(key, query) of head h in sequence b.
template <class T, class Q, class K, class V>
void attention_forward(const Q& q, const K& k, const V& v, const AttentionShape& s, Mat<T>& out,
                       Mat<T>& p) {
  const Index dim = q.rows();
  const Index L = s.length;
  const T scale = T(1) / std::sqrt(T(dim / s.heads));
  out.resize(dim, q.cols());
  p.resize(L, L * s.batch * s.heads);
  for (Index b = 0; b < s.batch; ++b) {
    for (Index h = 0; h < s.heads; ++h) {
      auto ph = p.middleCols((b * s.heads + h) * L, L);
      ph.noalias() = head_view<T>(k.data(), dim, s, b, h).transpose() *
                     head_view<T>(q.data(), dim, s, b, h);
      for (Index i = 0; i < L; ++i) {
        T mx = -std::numeric_limits<T>::infinity();
        for (Index j = 0; j < L; ++j) {
          if (s.visible(i, j)) mx = std::max(mx, ph(j, i));
        }
        T sum = 0;
        for (Index j = 0; j < L; ++j) {
          const T e = s.visible(i, j) ? std::exp((ph(j, i) - mx) * scale) : T(0);
          ph(j, i) = e;
          sum += e;
        }
        ph.col(i) /= sum;
      }
      head_view<T>(out.data(), dim, s, b, h).noalias() = head_view<T>(v.data(), dim, s, b, h) * ph;
    }
  }
}

inline void check_attention(std::string_view who, const AttentionShape& s, Index rows, Index cols) {
  if (s.heads < 1 || rows % s.heads != 0 || s.length < 1 || s.batch < 1 ||
      cols != s.length * s.batch || s.window < 0) {
    DENDRITE_THROW(dimension_error, who, ": expected queries, keys and values of Dim x ",
                   s.length * s.batch, " (length ", s.length, " x batch ", s.batch,
                   ") with Dim a multiple of ", s.heads, " heads, got ", rows, " x ", cols);
  }
}

}  // namespace dendrite::kernels
