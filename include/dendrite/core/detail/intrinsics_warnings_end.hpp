// SPDX-License-Identifier: MIT
/// @file
/// Closes intrinsics_warnings_begin.hpp (no include guard: included once per opening).
#if defined(__GNUC__) && !defined(__clang__) && (__GNUC__ * 100 + __GNUC_MINOR__ < 1203)
#pragma GCC diagnostic pop
#endif
