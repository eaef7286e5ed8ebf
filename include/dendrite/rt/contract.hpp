// SPDX-License-Identifier: MIT
/// @file
/// The block contract: what every real-time block of dendrite offers, stated once as concepts
/// that each block `static_assert`s and that composition (`nn::Sequential`, `Residual`,
/// `Parallel`) and block processing are written against.
///
///   Block<B>           B::value_type (the lane type T: float, double or an xsimd batch),
///                      B::input_size / B::output_size (int; `any_size` for a block that takes
///                      any width, such as an activation), `reset() noexcept` and
///                      `latency_samples() noexcept`.
///   StreamingBlock<B>  a Block with fixed sizes (> 0) and
///                      `step(std::span<const T, input_size>, std::span<T, output_size>) noexcept
///                      -> Status`.
///   Stateful<B>        a StreamingBlock with B::state_size and `state()` / `set_state()` over
///                      the same span, so that `b.set_state(b.state())` round-trips exactly.
///   Trainable<B>       `named_parameters()`: (name, Parameter*) pairs in PyTorch's names.
///   Costed<B>          `static constexpr flops_per_step()` and `bytes_per_step()`: the cost of
///                      one `step` of all lanes, counted from the block's equations:
///                        - an R x C matrix-vector product counts 2 R C (a multiply and an add
///                          per weight);
///                        - every other elementwise add, multiply, or evaluation of a
///                          nonlinearity (tanh, sigmoid, exp, max) counts 1;
///                        - FLOPs scale with the lanes of T (each lane is a stream);
///                        - bytes are the weights and biases the step reads (in scalar_t<T>,
///                          shared by the lanes) plus the running state it reads and writes
///                          (in T); the input and output samples are not counted.
///                      A composite adds its parts' costs; a block of any width states
///                      `flops_per_step(width)` instead.
///
/// Meanings that hold for every block:
///   - `reset()` clears the running state (a recurrent state, a shift register, an attention
///     window) and keeps what was learned or loaded. An online learner (OnlineICA,
///     StreamingPCA, StreamingCovariance) forgets what it learned through `restart()` instead.
///   - `step` never throws and never allocates. A sample with a NaN or Inf is rejected: the
///     state is left untouched, the output keeps its previous value, and the status says so
///     (per lane for a batch T: a rejected lane leaves the others running). The filters
///     (SOSFilter, DCBlocker, CommonAverage) and ORICA write 0 instead, as their `step` says, so
///     that a rejected sample processed in place leaves no NaN in the buffer.
///   - `latency_samples()` is the delay, in samples, between an input and the output that first
///     depends on it: 0 for every causal block that answers in the same step.
#pragma once

#include <concepts>
#include <cstddef>
#include <span>
#include <type_traits>

#include <dendrite/core/error.hpp>
#include <dendrite/core/traits.hpp>

namespace dendrite::rt {

/// `input_size` / `output_size` of a block that takes any width (activations, norms over the
/// last axis): the width is fixed by its neighbours in a composition.
inline constexpr int any_size = -1;

/// B steps from an input of A values of T to an output of C values of T, without throwing.
template <class B, class T, std::size_t A, std::size_t C>
concept StepsWith = requires(B& b, std::span<const T, A> x, std::span<T, C> y) {
  { b.step(x, y) } noexcept -> std::same_as<Status>;
};

/// What every block of dendrite has, whatever its sizes (see the file comment).
template <class B>
concept Block = requires(B& b, const B& cb) {
  typename B::value_type;
  requires Real<typename B::value_type>;
  { B::input_size } -> std::convertible_to<int>;
  { B::output_size } -> std::convertible_to<int>;
  { b.reset() } noexcept;
  { cb.latency_samples() } noexcept -> std::same_as<std::size_t>;
};

/// A block with fixed sizes and a real-time step (see the file comment).
template <class B>
concept StreamingBlock =
    Block<B> && (B::input_size > 0) && (B::output_size > 0) &&
    StepsWith<B, typename B::value_type, std::size_t(B::input_size), std::size_t(B::output_size)>;

/// A streaming block whose whole running state can be read and written.
template <class B>
concept Stateful = StreamingBlock<B> && requires(B& b, const B& cb) {
  { B::state_size } -> std::convertible_to<std::size_t>;
  {
    cb.state()
  } noexcept -> std::convertible_to<std::span<const typename B::value_type, B::state_size>>;
  { b.set_state(cb.state()) } noexcept;
};

/// A block that states the cost of one step at compile time (see the file comment).
template <class B>
concept Costed = requires {
  { std::integral_constant<std::size_t, B::flops_per_step()>::value };
  { std::integral_constant<std::size_t, B::bytes_per_step()>::value };
};

/// A block with learnable parameters under PyTorch's state_dict names.
template <class B>
concept Trainable = requires(B& b) {
  { b.named_parameters() };
  { b.named_parameters().size() } -> std::convertible_to<std::size_t>;
};

}  // namespace dendrite::rt
