// SPDX-License-Identifier: MIT
/// @file
/// Attribute macros shared by every header: real-time markers and forced inlining.
#pragma once

/// Marks a real-time entry point (`reset`, `step`, `process`): noexcept, no allocation, no locks.
/// Empty today; reserved for a real-time checker (RealtimeSanitizer, clang's `nonblocking`).
#ifndef DENDRITE_REALTIME
#define DENDRITE_REALTIME
#endif

#if defined(__GNUC__) || defined(__clang__)
#define DENDRITE_FORCE_INLINE inline __attribute__((always_inline))
/// For a lambda: `[](T x) DENDRITE_FORCE_INLINE_LAMBDA { ... }`.
#define DENDRITE_FORCE_INLINE_LAMBDA __attribute__((always_inline))
/// For a lambda the compiler must keep out of line: `[](T x) DENDRITE_NOINLINE_LAMBDA { ... }`.
#define DENDRITE_NOINLINE_LAMBDA __attribute__((noinline))
#else
#define DENDRITE_FORCE_INLINE inline
#define DENDRITE_FORCE_INLINE_LAMBDA
#define DENDRITE_NOINLINE_LAMBDA
#endif
