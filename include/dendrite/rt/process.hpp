// SPDX-License-Identifier: MIT
/// @file
/// One `process` for every streaming block (rt/contract.hpp) over a block of n >= 0 samples in
/// the layouts acquisition hosts hand over, so that a plugin's callback is one line:
///
///   host                                   layout                            call
///   Open Ephys (JUCE AudioBuffer), audio   planar: one float* per channel     process_planar
///   Lab Streaming Layer (pull_chunk_mux.)  interleaved, sample-major          process_interleaved
///   BCI2000, BrainFlow                     channels x samples matrix          process
///
/// Each advances the block sample by sample: sample t of channel c is copied into the block's
/// value_type (float or double), `step` runs, and its outputs are copied out. So processing a
/// signal in chunks of any sizes (0 included) gives bit-identical output to one call over the
/// whole signal, the input and output may be the same buffer where the sizes allow (in place),
/// and the latency is the block's `latency_samples()`.
///
/// The host's buffers may hold float, double or integers (raw ADC counts: int16 from Open Ephys
/// or Intan, int32 from 24-bit converters). Integers are read exactly (to float's 24 bits when
/// the block's value_type is float). Outputs written into an integer buffer are rounded to the
/// nearest integer (ties to even) and saturated to the type's range (`to_sample`): a cast
/// truncated toward zero and wrapped out of range (an int16 output of 40000 came back as
/// -25536). Scaling counts to physical units is the caller's, or a gain in the block.
///
/// Real time: noexcept, no allocation, no locks; the per-sample statuses are counted in the
/// returned `BlockResult` (a rejected sample leaves the block's state untouched and its outputs
/// at the previous sample's values, as `step` does). A call whose buffers do not fit (a null
/// channel pointer, a matrix of the wrong shape) processes nothing, writes nothing and says why.
/// Lane types (xsimd batches) are not handled here: a batch block runs independent streams,
/// which a host lays out as the caller chooses.
#pragma once

#include <array>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <type_traits>

#include <Eigen/Core>

#include <dendrite/config.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/rt/contract.hpp>

namespace dendrite::rt {

/// Why a block call processed nothing.
enum class BlockError : std::uint8_t {
  None = 0,      ///< the buffers fit: every sample was stepped
  NullPointer,   ///< a buffer or channel pointer was null (with n > 0)
  SizeMismatch,  ///< a matrix had the wrong number of rows, or in and out different columns
};

/// What a block call did: samples stepped and their statuses, counted.
struct BlockResult {
  std::size_t samples = 0;   ///< samples stepped
  std::size_t rejected = 0;  ///< of them, rejected (NaN/Inf or outlier input; state untouched)
  std::size_t diverged = 0;  ///< of them, reported Diverged (the block restored its state)
  BlockError error = BlockError::None;

  /// Every sample stepped and accepted.
  [[nodiscard]] bool ok() const noexcept {
    return error == BlockError::None && rejected == 0 && diverged == 0;
  }
};

/// A streaming block over a plain float or double lane type, which `process` can feed.
template <class B>
concept ScalarStreamingBlock =
    StreamingBlock<B> && std::is_floating_point_v<typename B::value_type>;

/// A block's output value `v` as a host's sample type `Out`. A floating-point `Out` takes the
/// IEEE conversion (a double beyond float's range becomes +-inf). An integer `Out` takes v
/// rounded to the nearest integer (ties to even), saturated to [lowest, max] of `Out`, and 0 for
/// a NaN. Real-time safe.
template <class Out, std::floating_point T>
requires std::is_arithmetic_v<Out>
[[nodiscard]] DENDRITE_FORCE_INLINE Out to_sample(T v) noexcept {
  if constexpr (std::is_integral_v<Out>) {
    using L = std::numeric_limits<Out>;
    // T(max) is max itself or, for wide types, the next power of two: either way v >= T(max)
    // saturates, and below it the nearest integer is at most max (T's spacing there is >= 1).
    if (v >= T(L::max())) return L::max();
    if (v <= T(L::lowest())) return L::lowest();
    if (!(v == v)) return Out(0);
    return static_cast<Out>(std::nearbyint(v));
  } else {
    return static_cast<Out>(v);
  }
}

namespace detail {

DENDRITE_FORCE_INLINE void count(BlockResult& r, Status s) noexcept {
  ++r.samples;
  r.rejected += (s == Status::RejectedNonFinite || s == Status::RejectedOutlier) ? 1 : 0;
  r.diverged += s == Status::Diverged ? 1 : 0;
}

/// The one sample loop of every layout: `out_at(t, o)` and `in_at(t, c)` name sample t's values
/// (references into the caller's buffers). The step's output buffer starts from the outputs'
/// current values at sample 0, so that a rejected first sample leaves them as they were.
template <class B, class InAt, class OutAt>
DENDRITE_FORCE_INLINE BlockResult run(B& block, std::size_t n, InAt in_at, OutAt out_at) noexcept {
  using T = typename B::value_type;
  constexpr std::size_t I = std::size_t(B::input_size);
  constexpr std::size_t O = std::size_t(B::output_size);
  BlockResult r;
  std::array<T, I> x;
  std::array<T, O> y;
  for (std::size_t o = 0; o < O; ++o)
    y[o] = T(out_at(0, o));
  for (std::size_t t = 0; t < n; ++t) {
    for (std::size_t c = 0; c < I; ++c)
      x[c] = T(in_at(t, c));
    count(r, block.step(std::span<const T, I>(x), std::span<T, O>(y)));
    for (std::size_t o = 0; o < O; ++o)
      out_at(t, o) = to_sample<std::remove_reference_t<decltype(out_at(t, o))>>(y[o]);
  }
  return r;
}

}  // namespace detail

/// Planar buffers: `in[c][t]` for input channel c < B::input_size, `out[o][t]` for output channel
/// o < B::output_size, t < n. `out[o]` may be `in[o]` (in place): every input of a sample is read
/// before its outputs are written. Real-time safe.
template <ScalarStreamingBlock B, class In, class Out>
requires(std::is_arithmetic_v<In>&& std::is_arithmetic_v<Out>) DENDRITE_REALTIME BlockResult
    process_planar(B& block, const In* const* in, Out* const* out, std::size_t n)
noexcept {
  BlockResult r;
  if (n == 0)
    return r;
  bool null = in == nullptr || out == nullptr;
  for (std::size_t c = 0; !null && c < std::size_t(B::input_size); ++c)
    null = in[c] == nullptr;
  for (std::size_t o = 0; !null && o < std::size_t(B::output_size); ++o)
    null = out[o] == nullptr;
  if (null) {
    r.error = BlockError::NullPointer;
    return r;
  }
  return detail::run(
      block, n, [in](std::size_t t, std::size_t c) -> const In& { return in[c][t]; },
      [out](std::size_t t, std::size_t o) -> Out& { return out[o][t]; });
}

/// Interleaved (sample-major) buffers: `in[t * B::input_size + c]`, `out[t * B::output_size + o]`.
/// `out` may equal `in` when the output is not wider than the input (in place). Real-time safe.
template <ScalarStreamingBlock B, class In, class Out>
requires(std::is_arithmetic_v<In>&& std::is_arithmetic_v<Out>) DENDRITE_REALTIME BlockResult
    process_interleaved(B& block, const In* in, Out* out, std::size_t n)
noexcept {
  constexpr std::size_t I = std::size_t(B::input_size);
  constexpr std::size_t O = std::size_t(B::output_size);
  BlockResult r;
  if (n == 0)
    return r;
  if (in == nullptr || out == nullptr) {
    r.error = BlockError::NullPointer;
    return r;
  }
  return detail::run(
      block, n, [in](std::size_t t, std::size_t c) -> const In& { return in[t * I + c]; },
      [out](std::size_t t, std::size_t o) -> Out& { return out[t * O + o]; });
}

/// A channels x samples matrix (float or double, any Eigen storage) in, one out with
/// B::output_size rows and as many columns. `out` may be `in` when the block keeps the width.
/// Pass a writable matrix, block or map as `out` (Eigen's const-reference idiom).
/// A wrong shape processes nothing (BlockError::SizeMismatch). Real-time safe.
template <ScalarStreamingBlock B, class DerivedIn, class DerivedOut>
DENDRITE_REALTIME BlockResult process(B& block, const Eigen::MatrixBase<DerivedIn>& in,
                                      const Eigen::MatrixBase<DerivedOut>& out_) noexcept {
  auto& out = const_cast<Eigen::MatrixBase<DerivedOut>&>(out_);
  BlockResult r;
  if (in.rows() != Eigen::Index(B::input_size) || out.rows() != Eigen::Index(B::output_size) ||
      in.cols() != out.cols()) {
    r.error = BlockError::SizeMismatch;
    return r;
  }
  if (in.cols() == 0)
    return r;
  return detail::run(
      block, std::size_t(in.cols()),
      [&in](std::size_t t, std::size_t c) { return in(Eigen::Index(c), Eigen::Index(t)); },
      [&out](std::size_t t, std::size_t o) ->
      typename DerivedOut::Scalar& { return out.coeffRef(Eigen::Index(o), Eigen::Index(t)); });
}

}  // namespace dendrite::rt
