// SPDX-License-Identifier: MIT
/// @file
/// Optimisers for `Parameter`s, with PyTorch's update rules (torch.optim, 1.13+), and gradient
/// clipping. With g the gradient (plus wd * p for coupled weight decay):
///   SGD:   v <- mu v + g (v = g on the first step);  p <- p - lr (nesterov ? g + mu v : v)
///   Adam:  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
///          p <- p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
///   AdamW: Adam with decoupled decay: p <- p (1 - lr wd) before the Adam update, g has no wd.
/// `step()` neither allocates nor throws; state is allocated when the optimiser is made.
/// `zero_grad()` clears the gradients (backward adds into them).
#pragma once

#include <cmath>
#include <cstddef>
#include <span>
#include <vector>

#include <dendrite/autodiff/tape.hpp>

namespace dendrite::autodiff {

/// Global L2 norm of all gradients.
template <TapeScalar T>
[[nodiscard]] T grad_norm(std::span<Parameter<T>* const> params) noexcept {
  T sq = 0;
  for (const Parameter<T>* p : params) {
    sq += p->grad.squaredNorm();
  }
  return std::sqrt(sq);
}

/// Scales all gradients so that their global L2 norm is at most max_norm (no change when it is
/// already below). Returns the norm before clipping, as torch.nn.utils.clip_grad_norm_.
template <TapeScalar T>
T clip_grad_norm(std::span<Parameter<T>* const> params, T max_norm) noexcept {
  const T norm = grad_norm(params);
  if (norm > max_norm) {
    const T s = max_norm / (norm + T(1e-6));
    for (Parameter<T>* p : params) {
      p->grad *= s;
    }
  }
  return norm;
}

/// Clamps every gradient element to [-limit, limit] (torch.nn.utils.clip_grad_value_).
template <TapeScalar T>
void clip_grad_value(std::span<Parameter<T>* const> params, T limit) noexcept {
  for (Parameter<T>* p : params) {
    p->grad = p->grad.cwiseMax(-limit).cwiseMin(limit);
  }
}

template <TapeScalar T>
T clip_grad_norm(const std::vector<Parameter<T>*>& params, T max_norm) noexcept {
  return clip_grad_norm(std::span<Parameter<T>* const>(params), max_norm);
}
template <TapeScalar T>
void clip_grad_value(const std::vector<Parameter<T>*>& params, T limit) noexcept {
  clip_grad_value(std::span<Parameter<T>* const>(params), limit);
}

/// Common part: the parameter list and the gradient helpers.
template <TapeScalar T>
class Optimizer {
 public:
  explicit Optimizer(std::vector<Parameter<T>*> params) : params_(std::move(params)) {
    for (std::size_t i = 0; i < params_.size(); ++i) {
      if (params_[i] == nullptr) {
        DENDRITE_THROW(error, "optimiser: parameter ", i, " is null");
      }
      Parameter<T>& p = *params_[i];
      if (p.grad.rows() != p.rows() || p.grad.cols() != p.cols()) {
        p.grad.setZero(p.rows(), p.cols());
      }
    }
  }

  void zero_grad() noexcept {
    for (Parameter<T>* p : params_) {
      p->grad.setZero();
    }
  }
  T clip_grad_norm(T max_norm) noexcept { return autodiff::clip_grad_norm<T>(params_, max_norm); }
  void clip_grad_value(T limit) noexcept { autodiff::clip_grad_value<T>(params_, limit); }
  [[nodiscard]] T grad_norm() const noexcept { return autodiff::grad_norm<T>(params_); }
  [[nodiscard]] std::span<Parameter<T>* const> parameters() const noexcept { return params_; }
  /// Number of step() calls so far.
  [[nodiscard]] long steps() const noexcept { return steps_; }

 protected:
  std::vector<Mat<T>> zeros_like_params() const {
    std::vector<Mat<T>> s;
    s.reserve(params_.size());
    for (const Parameter<T>* p : params_) {
      s.push_back(Mat<T>::Zero(p->rows(), p->cols()));
    }
    return s;
  }
  std::vector<Parameter<T>*> params_;
  long steps_ = 0;
};

struct SgdOptions {
  double lr = 1e-2;
  double momentum = 0;
  double weight_decay = 0;  ///< coupled: g <- g + wd p
  bool nesterov = false;
};

/// Stochastic gradient descent with optional (Nesterov) momentum, PyTorch's form.
template <TapeScalar T>
class SGD : public Optimizer<T> {
 public:
  SGD(std::vector<Parameter<T>*> params, SgdOptions options)
      : Optimizer<T>(std::move(params)), opt_(options), velocity_(this->zeros_like_params()) {
    if (!(opt_.lr > 0) || opt_.momentum < 0 || opt_.weight_decay < 0) {
      DENDRITE_THROW(error, "SGD: expected lr > 0, momentum >= 0, weight_decay >= 0, got lr ",
                     opt_.lr, ", momentum ", opt_.momentum, ", weight_decay ", opt_.weight_decay);
    }
  }

  void step() noexcept {
    const T lr = T(opt_.lr);
    const T mu = T(opt_.momentum);
    const T wd = T(opt_.weight_decay);
    for (std::size_t i = 0; i < this->params_.size(); ++i) {
      Parameter<T>& p = *this->params_[i];
      if (wd != 0) {
        p.grad += wd * p.value;
      }
      if (mu == 0) {
        p.value -= lr * p.grad;
        continue;
      }
      Mat<T>& v = velocity_[i];
      if (this->steps_ == 0) {
        v = p.grad;
      } else {
        v = mu * v + p.grad;
      }
      if (opt_.nesterov) {
        p.value -= lr * (p.grad + mu * v);
      } else {
        p.value -= lr * v;
      }
    }
    ++this->steps_;
  }

  SgdOptions& options() noexcept { return opt_; }

 private:
  SgdOptions opt_;
  std::vector<Mat<T>> velocity_;
};

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool decoupled_weight_decay = false;  ///< true: AdamW
};

/// Adam (Kingma and Ba 2015) with bias correction; with decoupled_weight_decay, AdamW
/// (Loshchilov and Hutter 2019).
template <TapeScalar T>
class Adam : public Optimizer<T> {
 public:
  Adam(std::vector<Parameter<T>*> params, AdamOptions options)
      : Optimizer<T>(std::move(params)),
        opt_(options),
        m_(this->zeros_like_params()),
        v_(this->zeros_like_params()) {
    if (!(opt_.lr > 0) || !(opt_.beta1 >= 0 && opt_.beta1 < 1) ||
        !(opt_.beta2 >= 0 && opt_.beta2 < 1) || !(opt_.eps > 0) || opt_.weight_decay < 0) {
      DENDRITE_THROW(error,
                     "Adam: expected lr > 0, betas in [0, 1), eps > 0, weight_decay >= 0, got lr ",
                     opt_.lr, ", betas (", opt_.beta1, ", ", opt_.beta2, "), eps ", opt_.eps,
                     ", weight_decay ", opt_.weight_decay);
    }
  }

  void step() noexcept {
    ++this->steps_;
    const double t = double(this->steps_);
    const T lr = T(opt_.lr);
    const T b1 = T(opt_.beta1);
    const T b2 = T(opt_.beta2);
    const T wd = T(opt_.weight_decay);
    const T c1 = T(1 - std::pow(opt_.beta1, t));
    const T c2 = T(std::sqrt(1 - std::pow(opt_.beta2, t)));
    const T eps = T(opt_.eps);
    for (std::size_t i = 0; i < this->params_.size(); ++i) {
      Parameter<T>& p = *this->params_[i];
      if (wd != 0) {
        if (opt_.decoupled_weight_decay) {
          p.value *= T(1) - lr * wd;
        } else {
          p.grad += wd * p.value;
        }
      }
      m_[i] = b1 * m_[i] + (T(1) - b1) * p.grad;
      v_[i] = b2 * v_[i] + (T(1) - b2) * p.grad.cwiseAbs2();
      p.value.array() -= (lr / c1) * m_[i].array() / (v_[i].array().sqrt() / c2 + eps);
    }
  }

  AdamOptions& options() noexcept { return opt_; }

 private:
  AdamOptions opt_;
  std::vector<Mat<T>> m_;
  std::vector<Mat<T>> v_;
};

/// AdamW: Adam with decoupled weight decay (PyTorch's default weight_decay 0.01).
template <TapeScalar T>
class AdamW : public Adam<T> {
 public:
  explicit AdamW(std::vector<Parameter<T>*> params, AdamOptions options = with_decay())
      : Adam<T>(std::move(params), decoupled(options)) {}

  static AdamOptions with_decay() {
    AdamOptions o;
    o.weight_decay = 1e-2;
    return o;
  }

 private:
  static AdamOptions decoupled(AdamOptions o) {
    o.decoupled_weight_decay = true;
    return o;
  }
};

}  // namespace dendrite::autodiff
