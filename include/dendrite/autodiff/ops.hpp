// SPDX-License-Identifier: MIT
/// @file
/// The operations of the reverse-mode tape, each with its vector-Jacobian product (VJP).
/// Notation: y = op(a, b), g = d loss / d y; each rule gives what is added to d loss / d a.
///
///   matmul(a, b)      y = a b                      ga += g b^T,  gb += a^T g
///   addmm(c, a, b)    y = c + a b (c full or a column bias), one node
///   a + b, a - b      elementwise, broadcasting    ga += reduce(g)
///   a * b, a / b      elementwise (not matmul!)    ga += reduce(g b),  gb += reduce(g a)  (*)
///   s * a + t         scalars s, t                 ga += s g
///   transpose(a)                                   ga += g^T
///   tanh  sigmoid  relu  leaky_relu  exp  log  softplus  square  sqrt  abs: ga += g f'(a)
///   sum, mean         all (1 x 1) or over dim 0 (1 x cols) / dim 1 (rows x 1), PyTorch's
///                     `dim` with keepdim=True
///   slice_rows/cols, concat_rows/cols
///   softmax(a, dim), log_softmax(a, dim): dim 0 normalises each column (the features of one
///                     sample, dendrite's data layout), dim 1 each row (PyTorch's usual dim=-1
///                     on a samples x classes matrix)
///   losses (1 x 1, mean over elements or samples): mse, l1, bce_with_logits, cross_entropy
///
/// Broadcasting: the two operands of an elementwise op each have, per dimension, either the
/// output's size or 1 (a rows x 1 bias added to a rows x samples matrix, a 1 x cols row, a
/// 1 x 1 scalar); reduce() sums the gradient over the broadcast dimensions.
/// Kinks: relu'(0) = 0, leaky_relu'(0) = slope, abs'(0) = 0, l1'(0) = 0 (PyTorch's choices).
/// Shape errors throw `dimension_error` before anything is recorded.
#pragma once

#include <algorithm>
#include <cmath>
#include <span>
#include <string_view>
#include <vector>

#include <dendrite/autodiff/tape.hpp>

namespace dendrite::autodiff {

namespace detail {

template <TapeScalar T>
using ArrayCol = Eigen::Array<T, Eigen::Dynamic, 1>;

/// Output size of one dimension under broadcasting, or -1 if incompatible.
inline Index broadcast_dim(Index a, Index b) noexcept {
  if (a == b) {
    return a;
  }
  if (a == 1) {
    return b;
  }
  if (b == 1) {
    return a;
  }
  return -1;
}

template <TapeScalar T>
void broadcast_shape(std::string_view op, const Mat<T>& a, const Mat<T>& b, Index& rows,
                     Index& cols) {
  rows = broadcast_dim(a.rows(), b.rows());
  cols = broadcast_dim(a.cols(), b.cols());
  if (rows < 0 || cols < 0) {
    DENDRITE_THROW(dimension_error, op, ": shapes ", a.rows(), " x ", a.cols(), " and ",
                   b.rows(), " x ", b.cols(),
                   " do not broadcast (each dimension must match or be 1)");
  }
}

/// out = f(a, b) elementwise with broadcasting; out already has the output shape.
template <TapeScalar T, class F>
void broadcast_apply(const Mat<T>& a, const Mat<T>& b, Mat<T>& out, F f) {
  const Index r = out.rows();
  const Index c = out.cols();
  if (a.rows() == r && b.rows() == r && a.cols() == c && b.cols() == c) {
    out.array() = f(a.array(), b.array());
    return;
  }
  for (Index j = 0; j < c; ++j) {
    const Index ja = a.cols() == 1 ? 0 : j;
    const Index jb = b.cols() == 1 ? 0 : j;
    if (a.rows() == r && b.rows() == r) {
      out.col(j).array() = f(a.col(ja).array(), b.col(jb).array());
    } else if (a.rows() == r) {
      out.col(j).array() = f(a.col(ja).array(), ArrayCol<T>::Constant(r, b(0, jb)));
    } else {
      out.col(j).array() = f(ArrayCol<T>::Constant(r, a(0, ja)), b.col(jb).array());
    }
  }
}

/// ga += full, summed over the dimensions in which ga was broadcast.
template <TapeScalar T, class Derived>
void add_reduced(Mat<T>& ga, const Eigen::MatrixBase<Derived>& full) {
  if (ga.rows() == full.rows() && ga.cols() == full.cols()) {
    ga += full;
  } else if (ga.rows() == full.rows()) {
    ga.col(0) += full.rowwise().sum();
  } else if (ga.cols() == full.cols()) {
    ga.row(0) += full.colwise().sum();
  } else {
    ga(0, 0) += full.sum();
  }
}

/// Adds `full` (shaped like n's output) to the gradient of input k, summed over the dimensions
/// in which that input was broadcast.
template <TapeScalar T, class Derived>
void accumulate_reduced(Tape<T>& t, const Node<T>& n, Index k,
                        const Eigen::MatrixBase<Derived>& full) {
  const Mat<T>& in = t.in(n, k);
  if (in.rows() == full.rows() && in.cols() == full.cols()) {
    t.accumulate(n, k, full);
  } else if (Mat<T>* g = t.grad_of(n, k)) {
    add_reduced(*g, full);
  }
}

/// ga += reduce(f(g, other)), `other` broadcast to g's shape; `scratch` is op-owned memory.
template <TapeScalar T, class F>
void accumulate_broadcast(Mat<T>& ga, const Mat<T>& g, const Mat<T>& other, Mat<T>& scratch,
                          F f) {
  if (ga.rows() == g.rows() && ga.cols() == g.cols() && other.rows() == g.rows() &&
      other.cols() == g.cols()) {
    ga.array() += f(g.array(), other.array());
    return;
  }
  scratch.resize(g.rows(), g.cols());
  broadcast_apply<T>(g, other, scratch, f);
  add_reduced(ga, scratch);
}

template <TapeScalar T>
void require_same_shape(std::string_view op, const Mat<T>& a, const Mat<T>& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) {
    DENDRITE_THROW(dimension_error, op, ": expected operands of the same shape, got ", a.rows(),
                   " x ", a.cols(), " and ", b.rows(), " x ", b.cols());
  }
}

inline void require_dim(std::string_view op, int dim) {
  if (dim != 0 && dim != 1) {
    DENDRITE_THROW(dimension_error, op, ": dim must be 0 (down the rows) or 1 (along the columns), got ", dim);
  }
}

/// Records y = f(a) elementwise: `fwd` maps a's array to f(a); `backward` is the op's VJP.
template <TapeScalar T, class Fwd>
Node<T>& unary(Var<T> a, typename Node<T>::Backward backward, Fwd fwd) {
  Tape<T>& tape = a.tape();
  Node<T>& node = tape.push(backward, {a});
  node.value.resize(tape.in(node, 0).rows(), tape.in(node, 0).cols());
  node.value.array() = fwd(tape.in(node, 0).array());
  return node;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Linear algebra

/// y = a b (matrix product). VJP: ga += g b^T, gb += a^T g.
template <TapeScalar T>
Var<T> matmul(Var<T> a, Var<T> b) {
  const Mat<T>& av = a.value();
  const Mat<T>& bv = b.value();
  if (av.cols() != bv.rows()) {
    DENDRITE_THROW(dimension_error, "matmul: inner dimensions differ: ", av.rows(), " x ",
                   av.cols(), " times ", bv.rows(), " x ", bv.cols());
  }
  Tape<T>& tape = a.tape();
  Node<T>& node = tape.push(
      +[](Tape<T>& t, Node<T>& n) {
        t.accumulate(n, 0, n.grad * t.in(n, 1).transpose());
        t.accumulate(n, 1, t.in(n, 0).transpose() * n.grad);
      },
      {a, b});
  node.value.resize(av.rows(), bv.cols());
  node.value.noalias() = tape.in(node, 0) * tape.in(node, 1);
  return tape.top();
}

/// y = c + a b, with c of the result's shape or a rows x 1 column broadcast over the columns
/// (a bias), in one node (PyTorch's addmm). VJP: gc += reduce(g), ga += g b^T, gb += a^T g.
template <TapeScalar T>
Var<T> addmm(Var<T> c, Var<T> a, Var<T> b) {
  const Mat<T>& av = a.value();
  const Mat<T>& bv = b.value();
  const Mat<T>& cv = c.value();
  if (av.cols() != bv.rows()) {
    DENDRITE_THROW(dimension_error, "addmm: inner dimensions differ: ", av.rows(), " x ",
                   av.cols(), " times ", bv.rows(), " x ", bv.cols());
  }
  if (cv.rows() != av.rows() || (cv.cols() != bv.cols() && cv.cols() != 1)) {
    DENDRITE_THROW(dimension_error, "addmm: expected the added matrix to be ", av.rows(), " x ",
                   bv.cols(), " or ", av.rows(), " x 1, got ", cv.rows(), " x ", cv.cols());
  }
  Tape<T>& tape = a.tape();
  Node<T>& node = tape.push(
      +[](Tape<T>& t, Node<T>& n) {
        detail::accumulate_reduced(t, n, 0, n.grad);
        t.accumulate(n, 1, n.grad * t.in(n, 2).transpose());
        t.accumulate(n, 2, t.in(n, 1).transpose() * n.grad);
      },
      {c, a, b});
  node.value.resize(av.rows(), bv.cols());
  if (cv.cols() == bv.cols()) {
    node.value = tape.in(node, 0);
  } else {
    node.value.colwise() = tape.in(node, 0).col(0);
  }
  node.value.noalias() += tape.in(node, 1) * tape.in(node, 2);
  return tape.top();
}

/// y = a^T. VJP: ga += g^T.
template <TapeScalar T>
Var<T> transpose(Var<T> a) {
  Tape<T>& tape = a.tape();
  Node<T>& node = tape.push(
      +[](Tape<T>& t, Node<T>& n) {
        t.accumulate(n, 0, n.grad.transpose());
      },
      {a});
  node.value = tape.in(node, 0).transpose();
  return tape.top();
}

// ---------------------------------------------------------------------------------------------
// Elementwise binary ops with broadcasting

/// y = a + b (broadcasting). VJP: ga += reduce(g), gb += reduce(g).
template <TapeScalar T>
Var<T> operator+(Var<T> a, Var<T> b) {
  Index r = 0;
  Index c = 0;
  detail::broadcast_shape<T>("a + b", a.value(), b.value(), r, c);
  Tape<T>& tape = a.tape();
  Node<T>& node = tape.push(
      +[](Tape<T>& t, Node<T>& n) {
        detail::accumulate_reduced(t, n, 0, n.grad);
        detail::accumulate_reduced(t, n, 1, n.grad);
      },
      {a, b});
  node.value.resize(r, c);
  detail::broadcast_apply<T>(tape.in(node, 0), tape.in(node, 1), node.value,
                             [](const auto& x, const auto& y) { return x + y; });
  return tape.top();
}

/// y = a - b (broadcasting). VJP: ga += reduce(g), gb -= reduce(g).
template <TapeScalar T>
Var<T> operator-(Var<T> a, Var<T> b) {
  Index r = 0;
  Index c = 0;
  detail::broadcast_shape<T>("a - b", a.value(), b.value(), r, c);
  Tape<T>& tape = a.tape();
  Node<T>& node = tape.push(
      +[](Tape<T>& t, Node<T>& n) {
        detail::accumulate_reduced(t, n, 0, n.grad);
        detail::accumulate_reduced(t, n, 1, -n.grad);
      },
      {a, b});
  node.value.resize(r, c);
  detail::broadcast_apply<T>(tape.in(node, 0), tape.in(node, 1), node.value,
                             [](const auto& x, const auto& y) { return x - y; });
  return tape.top();
}

/// y = a * b elementwise (Hadamard; use matmul for the matrix product), broadcasting.
/// VJP: ga += reduce(g b), gb += reduce(g a).
template <TapeScalar T>
Var<T> operator*(Var<T> a, Var<T> b) {
  Index r = 0;
  Index c = 0;
  detail::broadcast_shape<T>("a * b", a.value(), b.value(), r, c);
  Tape<T>& tape = a.tape();
  Node<T>& node = tape.push(
      +[](Tape<T>& t, Node<T>& n) {
        const auto times = [](const auto& x, const auto& y) { return x * y; };
        if (Mat<T>* ga = t.grad_of(n, 0)) {
          detail::accumulate_broadcast<T>(*ga, n.grad, t.in(n, 1), n.aux, times);
        }
        if (Mat<T>* gb = t.grad_of(n, 1)) {
          detail::accumulate_broadcast<T>(*gb, n.grad, t.in(n, 0), n.aux, times);
        }
      },
      {a, b});
  node.value.resize(r, c);
  detail::broadcast_apply<T>(tape.in(node, 0), tape.in(node, 1), node.value,
                             [](const auto& x, const auto& y) { return x * y; });
  return tape.top();
}

/// y = a / b elementwise, broadcasting. VJP: ga += reduce(g / b), gb -= reduce(g y / b).
template <TapeScalar T>
Var<T> operator/(Var<T> a, Var<T> b) {
  Index r = 0;
  Index c = 0;
  detail::broadcast_shape<T>("a / b", a.value(), b.value(), r, c);
  Tape<T>& tape = a.tape();
  Node<T>& node = tape.push(
      +[](Tape<T>& t, Node<T>& n) {
        if (Mat<T>* ga = t.grad_of(n, 0)) {
          detail::accumulate_broadcast<T>(*ga, n.grad, t.in(n, 1), n.aux,
                                          [](const auto& x, const auto& y) { return x / y; });
        }
        if (Mat<T>* gb = t.grad_of(n, 1)) {
          n.aux2.array() = n.grad.array() * n.value.array();  // g y, full shape
          detail::accumulate_broadcast<T>(*gb, n.aux2, t.in(n, 1), n.aux,
                                          [](const auto& x, const auto& y) { return -x / y; });
        }
      },
      {a, b});
  node.value.resize(r, c);
  detail::broadcast_apply<T>(tape.in(node, 0), tape.in(node, 1), node.value,
                             [](const auto& x, const auto& y) { return x / y; });
  return tape.top();
}

// ---------------------------------------------------------------------------------------------
// Scalar affine maps: y = s a + t

/// y = scale * a + shift. VJP: ga += scale g.
template <TapeScalar T>
Var<T> affine(Var<T> a, T scale, T shift) {
  Tape<T>& tape = a.tape();
  Node<T>& node = tape.push(
      +[](Tape<T>& t, Node<T>& n) {
        t.accumulate(n, 0, n.scalar[0] * n.grad);
      },
      {a});
  node.scalar[0] = scale;
  node.value.resize(tape.in(node, 0).rows(), tape.in(node, 0).cols());
  node.value.array() = scale * tape.in(node, 0).array() + shift;
  return tape.top();
}

template <TapeScalar T> Var<T> operator*(Var<T> a, T s) { return affine(a, s, T(0)); }
template <TapeScalar T> Var<T> operator*(T s, Var<T> a) { return affine(a, s, T(0)); }
template <TapeScalar T> Var<T> operator/(Var<T> a, T s) { return affine(a, T(1) / s, T(0)); }
template <TapeScalar T> Var<T> operator+(Var<T> a, T s) { return affine(a, T(1), s); }
template <TapeScalar T> Var<T> operator+(T s, Var<T> a) { return affine(a, T(1), s); }
template <TapeScalar T> Var<T> operator-(Var<T> a, T s) { return affine(a, T(1), -s); }
template <TapeScalar T> Var<T> operator-(T s, Var<T> a) { return affine(a, T(-1), s); }
template <TapeScalar T> Var<T> operator-(Var<T> a) { return affine(a, T(-1), T(0)); }

// ---------------------------------------------------------------------------------------------
// Elementwise functions

/// tanh. VJP: ga += g (1 - y^2).
template <TapeScalar T>
Var<T> tanh(Var<T> a) {
  detail::unary<T>(
      a,
      +[](Tape<T>& t, Node<T>& n) {
        t.accumulate(n, 0, n.grad.array() * (T(1) - n.value.array().square()));
      },
      [](const auto& x) { return x.tanh(); });
  return a.tape().top();
}

/// sigmoid(a) = 1 / (1 + exp(-a)). VJP: ga += g y (1 - y).
template <TapeScalar T>
Var<T> sigmoid(Var<T> a) {
  detail::unary<T>(
      a,
      +[](Tape<T>& t, Node<T>& n) {
        t.accumulate(n, 0, n.grad.array() * n.value.array() * (T(1) - n.value.array()));
      },
      [](const auto& x) { return x.logistic(); });
  return a.tape().top();
}

/// relu(a) = max(a, 0). VJP: ga += g [a > 0].
template <TapeScalar T>
Var<T> relu(Var<T> a) {
  detail::unary<T>(
      a,
      +[](Tape<T>& t, Node<T>& n) {
        t.accumulate(n, 0, (t.in(n, 0).array() > T(0)).select(n.grad.array(), T(0)));
      },
      [](const auto& x) { return x.max(T(0)); });
  return a.tape().top();
}

/// leaky_relu(a) = a if a > 0 else slope a. VJP: ga += g (a > 0 ? 1 : slope).
template <TapeScalar T>
Var<T> leaky_relu(Var<T> a, T slope = T(0.01)) {
  Node<T>& node = detail::unary<T>(
      a,
      +[](Tape<T>& t, Node<T>& n) {
        t.accumulate(n, 0, (t.in(n, 0).array() > T(0)).select(n.grad.array(), n.scalar[0] * n.grad.array()));
      },
      [slope](const auto& x) { return (x > T(0)).select(x, slope * x); });
  node.scalar[0] = slope;
  return a.tape().top();
}

/// exp. VJP: ga += g y.
template <TapeScalar T>
Var<T> exp(Var<T> a) {
  detail::unary<T>(
      a,
      +[](Tape<T>& t, Node<T>& n) {
        t.accumulate(n, 0, n.grad.array() * n.value.array());
      },
      [](const auto& x) { return x.exp(); });
  return a.tape().top();
}

/// Natural log. VJP: ga += g / a.
template <TapeScalar T>
Var<T> log(Var<T> a) {
  detail::unary<T>(
      a,
      +[](Tape<T>& t, Node<T>& n) {
        t.accumulate(n, 0, n.grad.array() / t.in(n, 0).array());
      },
      [](const auto& x) { return x.log(); });
  return a.tape().top();
}

/// softplus(a) = log(1 + exp(a)), computed as max(a, 0) + log1p(exp(-|a|)).
/// VJP: ga += g sigmoid(a).
template <TapeScalar T>
Var<T> softplus(Var<T> a) {
  detail::unary<T>(
      a,
      +[](Tape<T>& t, Node<T>& n) {
        t.accumulate(n, 0, n.grad.array() * t.in(n, 0).array().logistic());
      },
      [](const auto& x) { return x.max(T(0)) + (-x.abs()).exp().log1p(); });
  return a.tape().top();
}

/// a^2. VJP: ga += 2 g a.
template <TapeScalar T>
Var<T> square(Var<T> a) {
  detail::unary<T>(
      a,
      +[](Tape<T>& t, Node<T>& n) {
        t.accumulate(n, 0, T(2) * n.grad.array() * t.in(n, 0).array());
      },
      [](const auto& x) { return x.square(); });
  return a.tape().top();
}

/// sqrt(a). VJP: ga += g / (2 y) (infinite at a = 0).
template <TapeScalar T>
Var<T> sqrt(Var<T> a) {
  detail::unary<T>(
      a,
      +[](Tape<T>& t, Node<T>& n) {
        t.accumulate(n, 0, n.grad.array() / (T(2) * n.value.array()));
      },
      [](const auto& x) { return x.sqrt(); });
  return a.tape().top();
}

/// |a|. VJP: ga += g sign(a), with sign(0) = 0.
template <TapeScalar T>
Var<T> abs(Var<T> a) {
  detail::unary<T>(
      a,
      +[](Tape<T>& t, Node<T>& n) {
        t.accumulate(n, 0, n.grad.array() * t.in(n, 0).array().sign());
      },
      [](const auto& x) { return x.abs(); });
  return a.tape().top();
}

// ---------------------------------------------------------------------------------------------
// Reductions

namespace detail {

/// y = scale * sum of a over `dim` (-1: all, to 1 x 1; 0: 1 x cols; 1: rows x 1).
template <TapeScalar T>
Var<T> scaled_sum(Var<T> a, int dim, T scale) {
  Tape<T>& tape = a.tape();
  Node<T>& node = tape.push(
      +[](Tape<T>& t, Node<T>& n) {
        Mat<T>* ga = t.grad_of(n, 0);
        if (ga == nullptr) {
          return;
        }
        const T s = n.scalar[0];
        switch (n.index[0]) {
          case 0: ga->rowwise() += s * n.grad.row(0); break;
          case 1: ga->colwise() += s * n.grad.col(0); break;
          default: ga->array() += s * n.grad(0, 0); break;
        }
      },
      {a});
  node.scalar[0] = scale;
  node.index[0] = dim;
  const Mat<T>& x = tape.in(node, 0);
  switch (dim) {
    case 0: node.value.noalias() = scale * x.colwise().sum(); break;
    case 1: node.value.noalias() = scale * x.rowwise().sum(); break;
    default: node.value.resize(1, 1); node.value(0, 0) = scale * x.sum(); break;
  }
  return tape.top();
}

}  // namespace detail

/// Sum of all elements (1 x 1).
template <TapeScalar T>
Var<T> sum(Var<T> a) {
  return detail::scaled_sum(a, -1, T(1));
}
/// Sum over `dim`, keeping it: dim 0 gives 1 x cols (column sums), dim 1 gives rows x 1.
template <TapeScalar T>
Var<T> sum(Var<T> a, int dim) {
  detail::require_dim("sum", dim);
  return detail::scaled_sum(a, dim, T(1));
}
/// Mean of all elements (1 x 1).
template <TapeScalar T>
Var<T> mean(Var<T> a) {
  return detail::scaled_sum(a, -1, T(1) / T(a.value().size()));
}
/// Mean over `dim`, keeping it (as sum).
template <TapeScalar T>
Var<T> mean(Var<T> a, int dim) {
  detail::require_dim("mean", dim);
  const Index count = dim == 0 ? a.value().rows() : a.value().cols();
  return detail::scaled_sum(a, dim, T(1) / T(count));
}

// ---------------------------------------------------------------------------------------------
// Slicing and concatenation

namespace detail {

/// Rows (kRows) or columns [start, start + count) of a.
template <bool kRows, TapeScalar T>
Var<T> slice(Var<T> a, Index start, Index count) {
  const Mat<T>& av = a.value();
  const Index extent = kRows ? av.rows() : av.cols();
  if (start < 0 || count < 0 || start + count > extent) {
    DENDRITE_THROW(dimension_error, kRows ? "slice_rows: rows [" : "slice_cols: columns [", start,
                   ", ", start + count, ") are outside a matrix of ", extent,
                   kRows ? " rows" : " columns");
  }
  Tape<T>& tape = a.tape();
  Node<T>& node = tape.push(
      +[](Tape<T>& t, Node<T>& n) {
        if (Mat<T>* ga = t.grad_of(n, 0)) {
          if constexpr (kRows) {
            ga->middleRows(n.index[0], n.index[1]) += n.grad;
          } else {
            ga->middleCols(n.index[0], n.index[1]) += n.grad;
          }
        }
      },
      {a});
  node.index[0] = start;
  node.index[1] = count;
  if constexpr (kRows) {
    node.value = tape.in(node, 0).middleRows(start, count);
  } else {
    node.value = tape.in(node, 0).middleCols(start, count);
  }
  return tape.top();
}

}  // namespace detail

/// Rows [start, start + count) of a. VJP: ga.middleRows(start, count) += g.
template <TapeScalar T>
Var<T> slice_rows(Var<T> a, Index start, Index count) {
  return detail::slice<true>(a, start, count);
}

/// Columns [start, start + count) of a. VJP: ga.middleCols(start, count) += g.
template <TapeScalar T>
Var<T> slice_cols(Var<T> a, Index start, Index count) {
  return detail::slice<false>(a, start, count);
}

namespace detail {

/// Stacks `parts` along rows (kRows) or columns; the other extent must agree.
template <bool kRows, TapeScalar T>
Var<T> concat(std::span<const Var<T>> parts) {
  const char* who = kRows ? "concat_rows" : "concat_cols";
  const auto along = [](auto& m, Index offset, Index len) {
    if constexpr (kRows) {
      return m.middleRows(offset, len);
    } else {
      return m.middleCols(offset, len);
    }
  };
  const auto extent = [](const Mat<T>& m) { return kRows ? m.rows() : m.cols(); };
  const auto across = [](const Mat<T>& m) { return kRows ? m.cols() : m.rows(); };
  if (parts.empty()) {
    DENDRITE_THROW(dimension_error, who, ": expected at least one matrix, got none");
  }
  const Index width = across(parts[0].value());
  Index total = 0;
  for (const Var<T>& p : parts) {
    if (across(p.value()) != width) {
      DENDRITE_THROW(dimension_error, who, ": expected ", width,
                     kRows ? " columns in every part, got " : " rows in every part, got ",
                     across(p.value()));
    }
    total += extent(p.value());
  }
  Tape<T>& tape = parts[0].tape();
  Node<T>& node = tape.push(
      +[](Tape<T>& t, Node<T>& n) {
        Index offset = 0;
        for (Index k = 0; k < n.n_inputs; ++k) {
          const Index len = kRows ? t.in(n, k).rows() : t.in(n, k).cols();
          if constexpr (kRows) {
            t.accumulate(n, k, n.grad.middleRows(offset, len));
          } else {
            t.accumulate(n, k, n.grad.middleCols(offset, len));
          }
          offset += len;
        }
      },
      parts);
  if constexpr (kRows) {
    node.value.resize(total, width);
  } else {
    node.value.resize(width, total);
  }
  Index offset = 0;
  for (Index k = 0; k < node.n_inputs; ++k) {
    const Index len = extent(tape.in(node, k));
    along(node.value, offset, len) = tape.in(node, k);
    offset += len;
  }
  return tape.top();
}

}  // namespace detail

/// Stacks the inputs vertically (all with the same number of columns).
/// VJP: each part receives its rows of g.
template <TapeScalar T>
Var<T> concat_rows(std::span<const Var<T>> parts) {
  return detail::concat<true>(parts);
}
template <TapeScalar T>
Var<T> concat_rows(std::initializer_list<Var<T>> parts) {
  return detail::concat<true>(std::span<const Var<T>>(parts.begin(), parts.size()));
}
template <TapeScalar T>
Var<T> concat_rows(const std::vector<Var<T>>& parts) {
  return detail::concat<true>(std::span<const Var<T>>(parts));
}

/// Places the inputs side by side (all with the same number of rows).
/// VJP: each part receives its columns of g.
template <TapeScalar T>
Var<T> concat_cols(std::span<const Var<T>> parts) {
  return detail::concat<false>(parts);
}
template <TapeScalar T>
Var<T> concat_cols(std::initializer_list<Var<T>> parts) {
  return detail::concat<false>(std::span<const Var<T>>(parts.begin(), parts.size()));
}
template <TapeScalar T>
Var<T> concat_cols(const std::vector<Var<T>>& parts) {
  return detail::concat<false>(std::span<const Var<T>>(parts));
}

// ---------------------------------------------------------------------------------------------
// Softmax

namespace detail {

/// y = log_softmax(x) over dim (0: each column, 1: each row), into y.
template <TapeScalar T>
void log_softmax_into(const Mat<T>& x, int dim, Mat<T>& y) {
  y.resize(x.rows(), x.cols());
  if (dim == 0) {
    for (Index j = 0; j < x.cols(); ++j) {
      const T m = x.col(j).maxCoeff();
      const T lse = m + std::log((x.col(j).array() - m).exp().sum());
      y.col(j).array() = x.col(j).array() - lse;
    }
  } else {
    for (Index i = 0; i < x.rows(); ++i) {
      const T m = x.row(i).maxCoeff();
      const T lse = m + std::log((x.row(i).array() - m).exp().sum());
      y.row(i).array() = x.row(i).array() - lse;
    }
  }
}

}  // namespace detail

/// y = exp(a) / sum_dim exp(a) (computed with the max subtracted).
/// VJP: ga += y (g - sum_dim(g y)).
template <TapeScalar T>
Var<T> softmax(Var<T> a, int dim) {
  detail::require_dim("softmax", dim);
  Tape<T>& tape = a.tape();
  Node<T>& node = tape.push(
      +[](Tape<T>& t, Node<T>& n) {
        Mat<T>* ga = t.grad_of(n, 0);
        if (ga == nullptr) {
          return;
        }
        const Mat<T>& y = n.value;
        if (n.index[0] == 0) {
          for (Index j = 0; j < y.cols(); ++j) {
            const T dot = n.grad.col(j).dot(y.col(j));
            ga->col(j).array() += y.col(j).array() * (n.grad.col(j).array() - dot);
          }
        } else {
          for (Index i = 0; i < y.rows(); ++i) {
            const T dot = n.grad.row(i).dot(y.row(i));
            ga->row(i).array() += y.row(i).array() * (n.grad.row(i).array() - dot);
          }
        }
      },
      {a});
  node.index[0] = dim;
  detail::log_softmax_into(tape.in(node, 0), dim, node.value);
  node.value.array() = node.value.array().exp();
  return tape.top();
}

/// y = a - log sum_dim exp(a). VJP: ga += g - softmax(a) sum_dim(g).
template <TapeScalar T>
Var<T> log_softmax(Var<T> a, int dim) {
  detail::require_dim("log_softmax", dim);
  Tape<T>& tape = a.tape();
  Node<T>& node = tape.push(
      +[](Tape<T>& t, Node<T>& n) {
        Mat<T>* ga = t.grad_of(n, 0);
        if (ga == nullptr) {
          return;
        }
        const Mat<T>& y = n.value;
        if (n.index[0] == 0) {
          for (Index j = 0; j < y.cols(); ++j) {
            const T s = n.grad.col(j).sum();
            ga->col(j).array() += n.grad.col(j).array() - y.col(j).array().exp() * s;
          }
        } else {
          for (Index i = 0; i < y.rows(); ++i) {
            const T s = n.grad.row(i).sum();
            ga->row(i).array() += n.grad.row(i).array() - y.row(i).array().exp() * s;
          }
        }
      },
      {a});
  node.index[0] = dim;
  detail::log_softmax_into(tape.in(node, 0), dim, node.value);
  return tape.top();
}

// ---------------------------------------------------------------------------------------------
// Losses (1 x 1)

/// Mean squared error: mean((pred - target)^2) over all elements.
/// VJP: gpred += 2 g (pred - target) / n, gtarget -= the same.
template <TapeScalar T>
Var<T> mse(Var<T> pred, Var<T> target) {
  detail::require_same_shape<T>("mse", pred.value(), target.value());
  Tape<T>& tape = pred.tape();
  Node<T>& node = tape.push(
      +[](Tape<T>& t, Node<T>& n) {
        const T s = T(2) * n.grad(0, 0) / T(n.aux.size());
        t.accumulate(n, 0, s * n.aux);
        t.accumulate(n, 1, -s * n.aux);
      },
      {pred, target});
  node.aux = tape.in(node, 0) - tape.in(node, 1);
  node.value.resize(1, 1);
  node.value(0, 0) = node.aux.squaredNorm() / T(node.aux.size());
  return tape.top();
}

/// Mean absolute error: mean(|pred - target|). VJP: gpred += g sign(pred - target) / n.
template <TapeScalar T>
Var<T> l1(Var<T> pred, Var<T> target) {
  detail::require_same_shape<T>("l1", pred.value(), target.value());
  Tape<T>& tape = pred.tape();
  Node<T>& node = tape.push(
      +[](Tape<T>& t, Node<T>& n) {
        const T s = n.grad(0, 0) / T(n.aux.size());
        t.accumulate(n, 0, s * n.aux.array().sign());
        t.accumulate(n, 1, -s * n.aux.array().sign());
      },
      {pred, target});
  node.aux = tape.in(node, 0) - tape.in(node, 1);
  node.value.resize(1, 1);
  node.value(0, 0) = node.aux.cwiseAbs().sum() / T(node.aux.size());
  return tape.top();
}

/// Binary cross-entropy on logits x with targets y in [0, 1], mean over elements:
///   mean(max(x, 0) - x y + log1p(exp(-|x|)))   (= -y log s(x) - (1 - y) log(1 - s(x)), stable)
/// VJP: gx += g (sigmoid(x) - y) / n, gy -= g x / n.
template <TapeScalar T>
Var<T> bce_with_logits(Var<T> logits, Var<T> target) {
  detail::require_same_shape<T>("bce_with_logits", logits.value(), target.value());
  Tape<T>& tape = logits.tape();
  Node<T>& node = tape.push(
      +[](Tape<T>& t, Node<T>& n) {
        const Mat<T>& x = t.in(n, 0);
        const T s = n.grad(0, 0) / T(x.size());
        t.accumulate(n, 0, s * (x.array().logistic() - t.in(n, 1).array()));
        t.accumulate(n, 1, -s * x.array());
      },
      {logits, target});
  const auto x = tape.in(node, 0).array();
  const auto y = tape.in(node, 1).array();
  node.value.resize(1, 1);
  node.value(0, 0) =
      (x.max(T(0)) - x * y + (-x.abs()).exp().log1p()).sum() / T(tape.in(node, 0).size());
  return tape.top();
}

/// Cross-entropy of logits (classes x samples: each column one sample, as dendrite's data
/// layout) against integer class labels, mean over samples: mean_j(-log_softmax(x)[label_j, j]).
/// VJP: gx += g (softmax(x) - onehot(labels)) / samples.
template <TapeScalar T>
Var<T> cross_entropy(Var<T> logits, std::span<const int> labels) {
  const Mat<T>& xv = logits.value();
  if (Index(labels.size()) != xv.cols()) {
    DENDRITE_THROW(dimension_error, "cross_entropy: expected ", xv.cols(),
                   " labels (one per column of the logits), got ", labels.size());
  }
  for (std::size_t j = 0; j < labels.size(); ++j) {
    if (labels[j] < 0 || labels[j] >= xv.rows()) {
      DENDRITE_THROW(dimension_error, "cross_entropy: label ", labels[j], " of sample ", j,
                     " is outside [0, ", xv.rows(), ")");
    }
  }
  Tape<T>& tape = logits.tape();
  Node<T>& node = tape.push(
      +[](Tape<T>& t, Node<T>& n) {
        Mat<T>* gx = t.grad_of(n, 0);
        if (gx == nullptr) {
          return;
        }
        const T s = n.grad(0, 0) / T(n.aux.cols());
        gx->array() += s * n.aux.array().exp();  // softmax
        for (Index j = 0; j < n.aux.cols(); ++j) {
          (*gx)(Index(n.aux2(0, j)), j) -= s;
        }
      },
      {logits});
  detail::log_softmax_into(tape.in(node, 0), 0, node.aux);
  node.aux2.resize(1, Index(labels.size()));
  T total = 0;
  for (Index j = 0; j < node.aux.cols(); ++j) {
    node.aux2(0, j) = T(labels[std::size_t(j)]);
    total -= node.aux(labels[std::size_t(j)], j);
  }
  node.value.resize(1, 1);
  node.value(0, 0) = total / T(node.aux.cols());
  return tape.top();
}

}  // namespace dendrite::autodiff
