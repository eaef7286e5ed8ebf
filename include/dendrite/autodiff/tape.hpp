// SPDX-License-Identifier: MIT
/// @file
/// Reverse-mode automatic differentiation over matrices: a tape with one node per matrix
/// operation (never one per scalar), for training the small models of dendrite::nn.
///
/// A `Var<T>` is a cheap handle (tape, node index) to a node holding an Eigen dynamic matrix of
/// `float` or `double`. Operations (ops.hpp) append nodes; `Tape::backward(loss)` walks the nodes
/// in reverse and applies each one's vector-Jacobian product
///     grad(input_k) += J_k^T grad(output),
/// so that afterwards every `Parameter` used on the tape holds d loss / d parameter, added to
/// what its `grad` held before (as in PyTorch: the optimiser or `zero_grad()` clears it).
///
/// Memory: nodes and their matrices outlive `clear()`. A training loop that records a graph of
/// the same shapes every iteration allocates only during its first iteration.
///
/// Adding an op (see ops.hpp for many): push a node with its inputs and its backward function,
/// fill `node.value`, return `tape.top()`. The backward function reads `n.grad` (d loss /
/// d output) and adds the vector-Jacobian product for each input k with `t.accumulate(n, k, e)`
/// (or, for a partial update such as a slice, into the zeroed buffer `t.grad_of(n, k)`).
///
///     template <class T> Var<T> square(Var<T> a) {
///       Tape<T>& tape = a.tape();
///       Node<T>& node = tape.push(+[](Tape<T>& t, Node<T>& n) {
///         t.accumulate(n, 0, 2 * n.grad.array() * t.in(n, 0).array());
///       }, {a});
///       node.value = tape.in(node, 0).array().square();
///       return tape.top();
///     }
///
/// Not thread-safe: one tape per thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <dendrite/core/error.hpp>

namespace dendrite::autodiff {

using Index = Eigen::Index;

/// The matrix type of the tape: column-major, dynamic size.
template <class T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;

template <class T>
concept TapeScalar = std::is_same_v<T, float> || std::is_same_v<T, double>;

template <TapeScalar T>
class Tape;

/// A trainable matrix: its value and the gradient that `Tape::backward` adds into.
template <TapeScalar T>
struct Parameter {
  Mat<T> value;
  Mat<T> grad;
  /// The N-D shape the matrix stands for when written out (PyTorch's: a conv weight
  /// (Cout, Cin, K) is stored as Cout x Cin K, a bias (n,) as n x 1); empty means rows x cols.
  std::vector<Index> shape;

  /// A 1-D parameter of n values (a bias): stored as n x 1, read and written as shape (n,).
  [[nodiscard]] static Parameter vector(Index n) {
    Parameter p(n, 1);
    p.shape = {n};
    return p;
  }

  Parameter() = default;
  Parameter(Index rows, Index cols)
      : value(Mat<T>::Zero(rows, cols)), grad(Mat<T>::Zero(rows, cols)) {}
  explicit Parameter(Mat<T> v)
      : value(std::move(v)), grad(Mat<T>::Zero(value.rows(), value.cols())) {}

  [[nodiscard]] Index rows() const noexcept { return value.rows(); }
  [[nodiscard]] Index cols() const noexcept { return value.cols(); }
  [[nodiscard]] Index size() const noexcept { return value.size(); }
  void zero_grad() noexcept { grad.setZero(); }
};

/// One recorded operation: its output value, the gradient of the loss with respect to it, and
/// what its backward function needs. Op code only; users hold `Var`s.
template <TapeScalar T>
struct Node {
  using Backward = void (*)(Tape<T>&, Node&);

  Mat<T> value;  ///< output of the op (unused for a parameter leaf: see value_ref)
  Mat<T> grad;   ///< d loss / d value, valid during and after backward
  Mat<T> aux;    ///< whatever the op saves for its backward (kept across clear())
  Mat<T> aux2;
  T scalar[2] = {};      ///< op attributes (slope, scale, ...)
  Index index[12] = {};  ///< op attributes (sizes, strides, ...)
  Backward backward = nullptr;
  const Mat<T>* value_ref = nullptr;  ///< parameter leaf: the parameter's value
  Mat<T>* grad_ref = nullptr;         ///< parameter leaf: the parameter's grad
  Index first_input = 0;
  Index n_inputs = 0;
  bool requires_grad = false;
  bool touched = false;  ///< has received a gradient in the current backward pass

  [[nodiscard]] const Mat<T>& val() const noexcept { return value_ref ? *value_ref : value; }
};

/// Handle to a node on a tape. Cheap to copy; invalid after the tape is cleared.
template <TapeScalar T>
class Var {
 public:
  Var() = default;

  [[nodiscard]] Tape<T>& tape() const noexcept { return *tape_; }
  [[nodiscard]] Index id() const noexcept { return id_; }
  [[nodiscard]] bool valid() const noexcept { return tape_ != nullptr; }
  /// The value of the node; throws if the tape was cleared since this Var was made.
  [[nodiscard]] const Mat<T>& value() const;
  /// d loss / d this node after `backward`; zero-size if no gradient reached it.
  [[nodiscard]] const Mat<T>& grad() const;
  [[nodiscard]] Index rows() const { return value().rows(); }
  [[nodiscard]] Index cols() const { return value().cols(); }
  /// The value of a 1 x 1 node.
  [[nodiscard]] T item() const;

 private:
  friend class Tape<T>;
  Var(Tape<T>* t, Index id, std::uint32_t gen) noexcept : tape_(t), id_(id), generation_(gen) {}
  Tape<T>* tape_ = nullptr;
  Index id_ = -1;
  std::uint32_t generation_ = 0;
};

template <TapeScalar T>
class Tape {
 public:
  Tape() = default;
  Tape(const Tape&) = delete;  // Vars point at their tape
  Tape& operator=(const Tape&) = delete;

  /// A leaf holding a copy of `m`; no gradient flows into it.
  template <class Derived>
  Var<T> constant(const Eigen::MatrixBase<Derived>& m) {
    Node<T>& n = push_leaf();
    n.value = m;
    return top();
  }

  /// A leaf that reads `m` without copying it (for data: `m` must stay alive and unchanged
  /// until the backward pass is done); no gradient flows into it.
  Var<T> input(const Mat<T>& m) {
    Node<T>& n = push_leaf();
    n.value_ref = &m;
    return top();
  }
  Var<T> input(Mat<T>&&) = delete;  // a temporary would dangle: use constant()

  /// A 1 x 1 constant.
  Var<T> scalar(T s) {
    Node<T>& n = push_leaf();
    n.value.resize(1, 1);
    n.value(0, 0) = s;
    return top();
  }

  /// A leaf that reads `p.value` (no copy: `p` must outlive the backward pass) and whose
  /// gradient is added into `p.grad` by `backward`.
  Var<T> param(Parameter<T>& p) {
    if (p.grad.rows() != p.value.rows() || p.grad.cols() != p.value.cols()) {
      p.grad.setZero(p.value.rows(), p.value.cols());
    }
    Node<T>& n = push_leaf();
    n.value_ref = &p.value;
    n.grad_ref = &p.grad;
    n.requires_grad = true;
    return top();
  }

  /// Appends a node computed by an op from `inputs` (all on this tape and current). The op
  /// then fills `value` and may use `aux`, `scalar`, `index`.
  Node<T>& push(typename Node<T>::Backward vjp, std::initializer_list<Var<T>> inputs) {
    return push(vjp, std::span<const Var<T>>(inputs.begin(), inputs.size()));
  }
  Node<T>& push(typename Node<T>::Backward vjp, std::span<const Var<T>> inputs) {
    for (const Var<T>& v : inputs) {
      check(v);  // all checked before anything changes
    }
    const Index first = Index(inputs_.size());
    bool requires_grad = false;
    for (const Var<T>& v : inputs) {
      inputs_.push_back(v.id_);
      requires_grad = requires_grad || nodes_[std::size_t(v.id_)]->requires_grad;
    }
    Node<T>& n = next_node();
    n.backward = vjp;
    n.first_input = first;
    n.n_inputs = Index(inputs.size());
    n.requires_grad = requires_grad;
    return n;
  }

  /// The most recently pushed node, as a Var.
  [[nodiscard]] Var<T> top() noexcept { return Var<T>(this, size_ - 1, generation_); }

  /// Value of input k of `n`.
  [[nodiscard]] const Mat<T>& in(const Node<T>& n, Index k) const noexcept {
    return nodes_[std::size_t(inputs_[std::size_t(n.first_input + k)])]->val();
  }
  /// The node of input k of `n`.
  [[nodiscard]] Node<T>& input_node(const Node<T>& n, Index k) const noexcept {
    return *nodes_[std::size_t(inputs_[std::size_t(n.first_input + k)])];
  }
  /// Gradient accumulator of input k of `n` during backward: zeroed on first use in this pass,
  /// shaped like the input's value; nullptr if that input needs no gradient.
  [[nodiscard]] Mat<T>* grad_of(const Node<T>& n, Index k) noexcept {
    return accumulator(input_node(n, k));
  }

  /// Adds `contribution` (shaped like input k's value) to the gradient of input k of `n` during
  /// backward; the first contribution in a pass is assigned, which saves zeroing the buffer.
  /// Does nothing if that input needs no gradient.
  template <class Derived>
  void accumulate(const Node<T>& n, Index k, const Eigen::MatrixBase<Derived>& contribution) {
    Node<T>& in = input_node(n, k);
    if (!in.requires_grad) {
      return;
    }
    if (in.grad_ref != nullptr) {
      in.grad_ref->noalias() += contribution;
    } else if (!in.touched) {
      in.grad.noalias() = contribution;
      in.touched = true;
    } else {
      in.grad.noalias() += contribution;
    }
  }
  template <class Derived>
  void accumulate(const Node<T>& n, Index k, const Eigen::ArrayBase<Derived>& contribution) {
    accumulate(n, k, contribution.matrix());
  }

  /// Back-propagates from a 1 x 1 node (a loss): afterwards every node on which `loss`
  /// depends holds d loss / d node, and parameters have it added to their `grad`.
  void backward(Var<T> loss) {
    check(loss);
    const Mat<T>& v = loss.value();
    if (v.rows() != 1 || v.cols() != 1) {
      DENDRITE_THROW(dimension_error, "backward(loss): expected a 1 x 1 loss, got ", v.rows(),
                     " x ", v.cols(), " (pass a seed gradient for a non-scalar output)");
    }
    backward_impl(loss, nullptr);
  }
  /// Back-propagates `seed` = d loss / d out from any node (seed shaped like `out`).
  template <class Derived>
  void backward(Var<T> out, const Eigen::MatrixBase<Derived>& seed) {
    check(out);
    const Mat<T>& v = out.value();
    if (seed.rows() != v.rows() || seed.cols() != v.cols()) {
      DENDRITE_THROW(dimension_error, "backward(out, seed): expected a ", v.rows(), " x ", v.cols(),
                     " seed, got ", seed.rows(), " x ", seed.cols());
    }
    const Mat<T> s = seed;
    backward_impl(out, &s);
  }

  /// Forgets the graph (Vars become invalid) but keeps every node's memory for reuse.
  void clear() noexcept {
    size_ = 0;
    inputs_.clear();
    ++generation_;
  }

  /// Number of nodes recorded since the last clear().
  [[nodiscard]] Index size() const noexcept { return size_; }
  /// Nodes whose memory is kept (the high-water mark of size()).
  [[nodiscard]] Index capacity() const noexcept { return Index(nodes_.size()); }

  /// Reserves room for `nodes` nodes and `inputs` input references.
  void reserve(Index nodes, Index inputs) {
    while (Index(nodes_.size()) < nodes) {
      nodes_.push_back(std::make_unique<Node<T>>());
    }
    inputs_.reserve(std::size_t(inputs));
  }

  [[nodiscard]] const Node<T>& node(const Var<T>& v) const {
    check(v);
    return *nodes_[std::size_t(v.id_)];
  }

  /// Throws unless `v` refers to a live node of this tape.
  void check(const Var<T>& v) const {
    if (v.tape_ != this) {
      DENDRITE_THROW(error, v.tape_ == nullptr ? "autodiff: use of an empty Var"
                                               : "autodiff: a Var from another tape was used");
    }
    if (v.generation_ != generation_ || v.id_ >= size_) {
      DENDRITE_THROW(error, "autodiff: use of a Var recorded before the tape was cleared");
    }
  }

 private:
  Node<T>& next_node() {
    if (size_ == Index(nodes_.size())) {
      nodes_.push_back(std::make_unique<Node<T>>());
    }
    Node<T>& n = *nodes_[std::size_t(size_++)];
    n.value_ref = nullptr;
    n.grad_ref = nullptr;
    n.backward = nullptr;
    n.touched = false;
    n.n_inputs = 0;
    return n;
  }

  Node<T>& push_leaf() {
    Node<T>& n = next_node();
    n.first_input = Index(inputs_.size());
    n.requires_grad = false;
    return n;
  }

  Mat<T>* accumulator(Node<T>& n) noexcept {
    if (!n.requires_grad) {
      return nullptr;
    }
    if (n.grad_ref != nullptr) {
      return n.grad_ref;
    }
    if (!n.touched) {
      n.grad.setZero(n.value.rows(), n.value.cols());
      n.touched = true;
    }
    return &n.grad;
  }

  void backward_impl(Var<T> out, const Mat<T>* seed) {
    for (Index i = 0; i < size_; ++i) {
      nodes_[std::size_t(i)]->touched = false;
    }
    Node<T>& root = *nodes_[std::size_t(out.id_)];
    Mat<T>* g = accumulator(root);
    if (g == nullptr) {
      return;  // nothing trainable upstream
    }
    if (seed != nullptr) {
      *g += *seed;
    } else {
      (*g)(0, 0) += T(1);
    }
    for (Index i = out.id_; i >= 0; --i) {
      Node<T>& n = *nodes_[std::size_t(i)];
      if (n.touched && n.backward != nullptr) {
        n.backward(*this, n);
      }
    }
  }

  std::vector<std::unique_ptr<Node<T>>> nodes_;  // stable addresses, kept across clear()
  std::vector<Index> inputs_;                    // input ids of all nodes, in push order
  Index size_ = 0;
  std::uint32_t generation_ = 1;
};

template <TapeScalar T>
const Mat<T>& Var<T>::value() const {
  if (tape_ == nullptr) {
    DENDRITE_THROW(error, "autodiff: use of an empty Var");
  }
  return tape_->node(*this).val();
}

template <TapeScalar T>
const Mat<T>& Var<T>::grad() const {
  if (tape_ == nullptr) {
    DENDRITE_THROW(error, "autodiff: use of an empty Var");
  }
  const Node<T>& n = tape_->node(*this);
  if (n.grad_ref != nullptr) {
    return *n.grad_ref;
  }
  static const Mat<T> none;
  return n.touched ? n.grad : none;
}

template <TapeScalar T>
T Var<T>::item() const {
  const Mat<T>& v = value();
  if (v.size() != 1) {
    DENDRITE_THROW(dimension_error, "Var::item(): expected a 1 x 1 value, got ", v.rows(), " x ",
                   v.cols());
  }
  return v(0, 0);
}

}  // namespace dendrite::autodiff
