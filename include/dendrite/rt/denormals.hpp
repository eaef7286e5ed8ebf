// SPDX-License-Identifier: MIT
/// @file
/// Opt-in flush-to-zero for real-time threads. Numbers below the smallest normal float
/// (1.2e-38; 2.2e-308 for double) are "denormal" (subnormal); on many x86 cores an operation
/// that reads or produces one takes tens to hundreds of cycles instead of a few. A decaying
/// recurrent state (a leaky RNN or a GRU in silence, a calcium trace after the last spike) and
/// a ring of old inputs drift into that range. dendrite never changes the floating-point
/// environment itself (a library must not change global state behind its caller's back);
/// a caller that wants flush-to-zero sets it for its real-time thread:
///
///     void audio_callback(...) {
///       dendrite::rt::ScopedFlushDenormals ftz;  // FTZ + DAZ for this scope, restored after
///       gru.step(x, h);
///     }
///
/// On x86 with SSE this sets the MXCSR bits FTZ (results flushed to zero) and DAZ (denormal
/// inputs read as zero) for the calling thread and restores the previous value on
/// destruction. On other targets it does nothing and `active()` is false. Measured slowdowns
/// with and without it: bench/README.md ("real time: denormals").
#pragma once

#if defined(__SSE__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 1)
#include <xmmintrin.h>
#define DENDRITE_HAS_MXCSR 1
#else
#define DENDRITE_HAS_MXCSR 0
#endif

namespace dendrite::rt {

class ScopedFlushDenormals {
 public:
#if DENDRITE_HAS_MXCSR
  static constexpr unsigned kFlushToZero = 0x8000;     // MXCSR bit 15
  static constexpr unsigned kDenormalsAreZero = 0x0040;  // MXCSR bit 6

  ScopedFlushDenormals() noexcept : saved_(_mm_getcsr()) {
    _mm_setcsr(saved_ | kFlushToZero | kDenormalsAreZero);
  }
  ~ScopedFlushDenormals() { _mm_setcsr(saved_); }
  /// Whether this target lets the scope flush denormals.
  [[nodiscard]] static constexpr bool active() noexcept { return true; }
#else
  ScopedFlushDenormals() noexcept = default;
  [[nodiscard]] static constexpr bool active() noexcept { return false; }
#endif
  ScopedFlushDenormals(const ScopedFlushDenormals&) = delete;
  ScopedFlushDenormals& operator=(const ScopedFlushDenormals&) = delete;

 private:
#if DENDRITE_HAS_MXCSR
  unsigned saved_;
#endif
};

}  // namespace dendrite::rt
