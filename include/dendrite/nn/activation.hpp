// SPDX-License-Identifier: MIT
/// @file
/// Activation policies for the blocks of dendrite::nn. Each is a stateless struct with
///   apply(x)          f(x) on a scalar or SIMD batch (real-time paths)
///   array(a)          f on an Eigen array expression (analysis paths)
///   tape(v)           f recorded on the reverse-mode tape
///   name              for messages
/// Identity: f(x) = x.  Tanh.  ReLU: max(0, x).  ReTanh: max(0, tanh x) (Cueva et al.'s
/// "retanh").  Sigmoid: 1 / (1 + exp(-x)).
/// On the tape, ReLU'(0) = 0 (ReTanh records relu(tanh(x))).
#pragma once

#include <cstddef>

#include <dendrite/autodiff/ops.hpp>
#include <dendrite/core/math.hpp>

namespace dendrite::nn {

struct Identity {
  static constexpr const char* name = "identity";
  static constexpr std::size_t flops = 0;  ///< per element (rt/contract.hpp)
  template <class T>
  static T apply(const T& x) noexcept { return x; }
  template <class A>
  static auto array(const A& a) { return a; }
  template <class S>
  static autodiff::Var<S> tape(autodiff::Var<S> v) { return v; }
};

struct Tanh {
  static constexpr const char* name = "tanh";
  static constexpr std::size_t flops = 1;  ///< per element (rt/contract.hpp)
  template <class T>
  static T apply(const T& x) noexcept { return dendrite::tanh(x); }
  template <class A>
  static auto array(const A& a) { return a.tanh(); }
  template <class S>
  static autodiff::Var<S> tape(autodiff::Var<S> v) { return autodiff::tanh(v); }
};

struct ReLU {
  static constexpr const char* name = "relu";
  static constexpr std::size_t flops = 1;  ///< per element (rt/contract.hpp)
  template <class T>
  static T apply(const T& x) noexcept { return dendrite::relu(x); }
  template <class A>
  static auto array(const A& a) { return a.max(0); }
  template <class S>
  static autodiff::Var<S> tape(autodiff::Var<S> v) { return autodiff::relu(v); }
};

struct ReTanh {
  static constexpr const char* name = "retanh";
  static constexpr std::size_t flops = 2;  ///< per element (rt/contract.hpp)  // tanh, then max with 0
  template <class T>
  static T apply(const T& x) noexcept { return dendrite::max(dendrite::tanh(x), T(0)); }
  template <class A>
  static auto array(const A& a) { return a.tanh().max(0); }
  template <class S>
  static autodiff::Var<S> tape(autodiff::Var<S> v) { return autodiff::relu(autodiff::tanh(v)); }
};

struct Sigmoid {
  static constexpr const char* name = "sigmoid";
  static constexpr std::size_t flops = 1;  ///< per element (rt/contract.hpp)
  template <class T>
  static T apply(const T& x) noexcept { return dendrite::sigmoid(x); }
  template <class A>
  static auto array(const A& a) { return a.logistic(); }
  template <class S>
  static autodiff::Var<S> tape(autodiff::Var<S> v) { return autodiff::sigmoid(v); }
};

}  // namespace dendrite::nn
