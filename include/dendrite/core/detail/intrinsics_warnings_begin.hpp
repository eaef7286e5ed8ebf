// SPDX-License-Identifier: MIT
/// @file
/// Included at the top of a header that inlines xsimd's math (no include guard: paired with
/// intrinsics_warnings_end.hpp at the bottom). GCC before 12.3 warns inside its own AVX-512
/// intrinsics (_mm512_undefined_ps, GCC PR 105593) wherever xsimd's exp, nearbyint or
/// float-int conversions are inlined, so a consumer built with -Wall -Werror for an AVX-512
/// target would not compile. Silenced between the pair only, on those compilers only.
#if defined(__GNUC__) && !defined(__clang__) && (__GNUC__ * 100 + __GNUC_MINOR__ < 1203)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
