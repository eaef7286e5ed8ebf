// SPDX-License-Identifier: MIT
/// @file
/// Fixed-size kernels shared by the real-time `step` of the nn blocks, written once for scalar
/// and batch `T`:
///   gemv_acc<R, C>(W, x, y)   y += W x, W an R x C column-major matrix of scalar_t<T>
///                             (register-blocked axpys over columns: vectorised over rows for
///                             a scalar T, over lanes for a batch T; on AVX2 and AVX-512 a
///                             batch of 8 or 16 floats from 96 rows over rows too, half the
///                             lanes a pass, transposed into the lanes at the end:
///                             gemv_across_rows)
///   gemv_bias<R, C>(W, x, b, y)  y = b + W x, b R values of scalar_t<T> (the accumulators
///                             start from b: no copy of b into y first)
///   gemv_groups<R, C, G, XS>(W, x, b, y)  y_g = b + W x_g for G inputs at once (x_g at
///                             x + g XS), each weight read once for all of them (the blocked
///                             multi-stream steps); gemv_groups_acc: y_g += W x_g
///   vmap<N, K>(f, out, in...) out[i] = f(in[i]...), for a scalar T in SIMD chunks of the
///                             widest batch of N or fewer lanes (so the activations vectorise),
///                             the tail as the last N elements' chunk again (overlapping; out
///                             must not alias an input), or one zero-padded batch when N is
///                             below every batch width; with K > 1, K chunks (or K batches
///                             of a batch T) at a time as one Interleaved<., K> argument, for
///                             the gates (f must then accept Interleaved values too)
#pragma once

#include <algorithm>
#include <cstddef>
#include <type_traits>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define DENDRITE_DETAIL_GEMV_ACROSS_ROWS 1
#else
#define DENDRITE_DETAIL_GEMV_ACROSS_ROWS 0
#endif

#include <dendrite/config.hpp>
#include <dendrite/core/detail/intrinsics_warnings_begin.hpp>  // GCC PR 105593 (transpose16)
#include <dendrite/core/math.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/nn/detail/gate_activations.hpp>

namespace dendrite::nn::detail {

/// Columns ahead that the lanes' GEMV (a batch T: one row per unit, so a block of NB rows reads
/// NB consecutive weights a column, R apart) asks the core to fetch. 0 where the matrix fits in
/// 16 KiB (it stays in L1 between steps, and the hint would only take a load slot) and where a
/// column's bytes are not a multiple of 64 (the pieces would straddle lines; two hints a column
/// made the 100-unit GRU slower). A block's pieces are R floats apart (768 bytes for a 64-unit
/// GRU's 192 rows, 2 KiB for a 128-unit LSTM's 512), one line a column, too sparse for the
/// hardware's streamers: each column waited on L2. On the AVX-512 VM, 16 lanes, fastest of 40
/// (bench/README.md): `GRU<batchf>` 64 / 128 5.45-5.63 -> 5.00 µs / 17.0-17.1 -> 14.6-14.7 µs,
/// `LSTM<batchf>` 64 / 100 / 128 7.5-7.7 -> 6.8-7.0 / 15.1-15.9 -> 13.0-13.3 / 25.4-26.6 ->
/// 20.1-20.3 µs; 2, 3 or 6 columns ahead did no better than 4. The blocked steps (gemv_groups)
/// reuse each weight for every group and gained nothing from it.
template <class T, class Wt, std::size_t Stride, std::size_t C>
inline constexpr std::size_t kPrefetchColumns =
    is_batch_v<T> && Stride * C * sizeof(Wt) > 16 * 1024 && Stride * sizeof(Wt) % 64 == 0 &&
            C > 4
        ? 4
        : 0;

/// Asks for the weights gemv_rows reads kPrefetchColumns columns after column j (NB of them
/// from w + j Stride); past the last column, the next row block's first columns (rows from
/// w + NB, in bounds while C > kPrefetchColumns: at worst row 0 of column 4). A hint: it changes
/// no result.
template <class T, std::size_t NB, std::size_t Stride, std::size_t C, class Wt>
DENDRITE_FORCE_INLINE void prefetch_columns_ahead([[maybe_unused]] const Wt* w,
                                                  [[maybe_unused]] std::size_t j) noexcept {
  constexpr std::size_t ahead = kPrefetchColumns<T, Wt, Stride, C>;
#if defined(__GNUC__)
  if constexpr (ahead > 0) {
    const std::size_t k = j + ahead;
    const Wt* at = k < C ? w + k * Stride : w + NB + (k - C) * Stride;
    for (std::size_t b = 0; b < NB * sizeof(Wt); b += 64) {
      __builtin_prefetch(reinterpret_cast<const char*>(at) + b, 0, 3);
    }
  }
#endif
}

/// y[0, NB units) += W x over all C columns, the accumulators held in registers: a unit is a
/// batch of consecutive rows for a scalar T, or one row (a batch of lanes) for a batch T. With
/// few units, P interleaved partial sums over the columns keep enough FMA chains in flight
/// (a chain of C dependent FMAs would otherwise bound the time by C times the FMA latency).
/// The accumulators start from `init`: y itself (T values) or a bias (scalar_t<T> values,
/// broadcast for a batch T). Column j of the weights starts at w + j * Stride (in elements of
/// Wt), and `load(col, k)` returns the weights of unit k of that column as a V (so the storage
/// may be narrower than the arithmetic).
template <class T, class V, std::size_t NB, std::size_t Stride, std::size_t C, std::size_t P,
          class Wt, class Init, class Load>
DENDRITE_FORCE_INLINE void gemv_rows(const Wt* __restrict w, const T* __restrict x,
                                     const Init* init, T* y, Load load) noexcept {
  using S = scalar_t<T>;
  constexpr std::size_t L = is_batch_v<T> ? 1 : V::size;
  V acc[P][NB];
  // The loops over the block's units are unrolled, fully for up to 28 units (kWholeBlock): g++ 12
  // unrolls by the pragma's count, not NB, and a block of 24 under "unroll 16" kept its
  // accumulators in memory (GRU<float> 128 2.37-2.38 -> 1.70-2.05 us fully unrolled). 32 units
  // (LSTM 128 on AVX-512) do not fit AVX-512's 32 registers beside the input, and as two
  // rounds of 16 were faster than fully unrolled (2.22-2.62 against 3.28-3.66 us).
  constexpr bool kWholeBlock = NB <= 28;
  // unrolled: otherwise g++ 12 starts the accumulators through a copy of init in 256-bit
  // pieces, which their 512-bit reads wait on (AVX-512 VM, g++: GRU<float> 16 65-67 -> 50-55 ns,
  // 32 124-135 -> 110-119, LSTM<float> 64 730-789 -> 687-727; clang's code is the same)
  const auto start = [&](std::size_t k) DENDRITE_FORCE_INLINE_LAMBDA {
    if constexpr (is_batch_v<T>) {
      acc[0][k] = T(init[k]);
    } else {
      acc[0][k] = V::load_unaligned(init + k * L);
    }
    for (std::size_t q = 1; q < P; ++q) acc[q][k] = V(S(0));
  };
  if constexpr (kWholeBlock) {
#pragma GCC unroll 32
    for (std::size_t k = 0; k < NB; ++k) start(k);
  } else {
#pragma GCC unroll 16
    for (std::size_t k = 0; k < NB; ++k) start(k);
  }
  constexpr std::size_t CP = C / P * P;
  // one column's FMAs into accumulator set q
  const auto column = [&](std::size_t q, const Wt* col, const V& xj) DENDRITE_FORCE_INLINE_LAMBDA {
    if constexpr (kWholeBlock) {
#pragma GCC unroll 32
      for (std::size_t k = 0; k < NB; ++k) acc[q][k] = dendrite::fma(load(col, k), xj, acc[q][k]);
    } else {
#pragma GCC unroll 16
      for (std::size_t k = 0; k < NB; ++k) acc[q][k] = dendrite::fma(load(col, k), xj, acc[q][k]);
    }
  };
  for (std::size_t j = 0; j < CP; j += P) {
    for (std::size_t q = 0; q < P; ++q) {
      const V xj(x[j + q]);
      prefetch_columns_ahead<T, NB, Stride, C>(w, j + q);
      column(q, w + (j + q) * Stride, xj);
    }
  }
  for (std::size_t j = CP; j < C; ++j) {
    const V xj(x[j]);
    prefetch_columns_ahead<T, NB, Stride, C>(w, j);
    column(0, w + j * Stride, xj);
  }
  for (std::size_t k = 0; k < NB; ++k) {
    for (std::size_t q = 1; q < P; ++q) acc[0][k] += acc[q][k];
    if constexpr (is_batch_v<T>) {
      y[k] = acc[0][k];
    } else {
      acc[0][k].store_unaligned(y + k * L);
    }
  }
}

/// Register-held accumulators a GEMV block may use: 16 where the target has 32 vector
/// registers (AVX-512), 8 where it has 16 (SSE2, AVX2). Twice the FMA latency x throughput
/// product (4 cycles x 2 units) in flight, and one broadcast or load of x per 16 FMAs instead
/// of per 8: the 16-lane GRU step at hidden 128 gained 13 %, BlockedGRU at 128 28 %
/// (bench/README.md).
inline constexpr std::size_t kGemvUnits = sizeof(xsimd::batch<float>) >= 64 ? 16 : 8;

/// Units per register-held block of gemv_impl's plain (float or double) weights, for `units`
/// units in all: kGemvUnits, except on AVX2, where up to 12 accumulators fit beside the
/// broadcast input in 16 registers and the units are split into the fewest blocks of at most 12,
/// balanced (16 units: 8 + 8, not 12 + 4). On an AVX2 Zen 3, against blocks of 8: GRU 32's step
/// (12 units a product) 279 -> 226 ns, LSTM 128's 5.2 -> 4.7 us, the 8-lane GRU 128 steps 10 %
/// faster; 12 + 4 for LSTM 32 was 5 % slower than 8 + 8.
/// On AVX-512, one stream of float (`OneStreamFloat`): 17 to 32 units (257 to 512 rows) are
/// one block, so that the pass reads every column whole and in order instead of two blocks each
/// reading part of every column; the sums keep their order. On the Zen 5 VM, three alternating
/// pairs of runs (bench_recurrent, medians of 3), us: g++ 12 GRU 128 2.35-2.70 -> 1.65-2.01,
/// LSTM 128 3.11-3.58 -> 2.23-2.54, GRU 100 1.39-1.47 -> 1.28-1.45, LSTM 100 2.05-2.45 ->
/// 1.45-1.94; clang 14 GRU 128 2.65-2.71 -> 1.63-2.30, LSTM 128 3.62-3.94 -> 2.30-3.61, GRU 100
/// 1.52-1.62 -> 1.27-1.41, LSTM 100 2.40-2.52 -> 1.46-1.94. (Blocks of 17-28 units need
/// gemv_rows' full unroll.) A float `Dense` with 257-512 outputs takes the same path: g++ 12
/// 64 x 384 0.97-1.03 -> 0.70-0.79 µs, 128 x 512 2.45-2.67 -> 1.67-1.98 (clang alike; at 32 x
/// 272-384, whose weights about fit L1, within noise).
template <bool OneStreamFloat = false>
constexpr std::size_t gemv_block(std::size_t units) noexcept {
  if (OneStreamFloat && sizeof(xsimd::batch<float>) == 64 && units <= 2 * kGemvUnits) {
    return std::max(units, kGemvUnits);
  }
  if (sizeof(xsimd::batch<float>) != 32 || units <= kGemvUnits) return kGemvUnits;
  const std::size_t blocks = (units + 11) / 12;
  return (units + blocks - 1) / blocks;
}

/// Columns per panel of gemv_impl: C (one pass of each row block over all columns), except on
/// AVX2 for a scalar T whose matrix exceeds a 32 KiB L1: panels of 16 columns, every row block
/// over one panel before the next (the accumulators go through y between panels), so that the
/// weights stream from L2 in order, once, as in Eigen's GEMV. On an AVX2 Zen 3, scratch
/// benchmark: 128 x 128 776 -> 672 ns, 256 x 64 763 -> 681, 384 x 128 2 411 -> 2 149, 512 x 128
/// 3 484 -> 3 307 (Eigen 3.4: 707, 804, 2 274, 3 259).
template <class T>
constexpr std::size_t gemv_panel(std::size_t rows, std::size_t cols) noexcept {
  const bool streams = rows * cols * sizeof(scalar_t<T>) > 32 * 1024;
  return sizeof(xsimd::batch<float>) == 32 && !is_batch_v<T> && streams ? 16 : cols;
}

/// Partial sums per accumulator for NB register-held units: enough FMA chains in flight.
constexpr std::size_t partial_sums(std::size_t nb) noexcept {
  return nb >= 8 ? 1 : (nb >= 4 ? 2 : 4);
}

/// gemv_rows over plain scalar_t<T> weights, R rows per column, P partial sums per unit
/// (partial_sums(NB) unless a caller knows better).
template <class T, class V, std::size_t NB, std::size_t R, std::size_t C,
          std::size_t P = partial_sums(NB), class Init>
DENDRITE_FORCE_INLINE void gemv_rows(const scalar_t<T>* __restrict w, const T* __restrict x,
                                     const Init* init, T* y) noexcept {
  constexpr std::size_t L = is_batch_v<T> ? 1 : V::size;
  gemv_rows<T, V, NB, R, C, P>(
      w, x, init, y, [](const scalar_t<T>* col, std::size_t k) DENDRITE_FORCE_INLINE_LAMBDA {
        if constexpr (is_batch_v<T>) {
          return T(col[k]);
        } else {
          return V::load_unaligned(col + k * L);
        }
      });
}

/// The widest SIMD batch of S with N or fewer lanes, at most R (a row block narrower than the
/// machine's widest vector still vectorises: 8 rows on an AVX-512 machine use an AVX batch);
/// a pointer type when no batch of 2 or more lanes fits.
template <class S, std::size_t R, std::size_t N>
auto pick_row_batch() {
  if constexpr (N < 2) {
    return static_cast<void*>(nullptr);
  } else if constexpr (N <= R && !std::is_void_v<xsimd::make_sized_batch_t<S, N>>) {
    return xsimd::make_sized_batch_t<S, N>{};
  } else {
    return pick_row_batch<S, R, N / 2>();
  }
}
template <class S, std::size_t R>
using row_batch_t = decltype(pick_row_batch<S, R, xsimd::batch<S>::size>());

/// Keeps the batch v in a vector register from here on: an empty asm statement that claims to
/// change v (no instruction is emitted). g++ otherwise reloads a batch that several FMAs read,
/// as a memory operand of each. GNU-compatible compilers on x86; elsewhere it does nothing.
template <class T>
DENDRITE_FORCE_INLINE void pin_in_register([[maybe_unused]] T& v) noexcept {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  if constexpr (is_batch_v<T> && sizeof(T) == 64) {
    __asm__("" : "+v"(v.data));  // any of AVX-512's 32 registers
  } else if constexpr (is_batch_v<T>) {
    __asm__("" : "+x"(v.data));
  }
#endif
}

/// pin_in_register on targets with 16 vector registers (SSE2, AVX2), where G inputs read by NB
/// rows would otherwise cost NB x G loads a column instead of G; on AVX-512 it does nothing
/// (gemv_groups' inputs, measured there without it).
template <class T>
DENDRITE_FORCE_INLINE void keep_in_register([[maybe_unused]] T& v) noexcept {
#if !defined(__AVX512F__)
  pin_in_register(v);
#endif
}

#if DENDRITE_DETAIL_GEMV_ACROSS_ROWS
/// Rows and columns from which a batch of 16 floats (AVX-512) takes its products across rows.
/// Below them the transposes cost more than the loads save: at 48 rows (the 16-lane GRU 16)
/// 677-700 -> 721-737 ns; with few columns, `Dense<batchf, C, 96>` C = 4 / 8 / 16 153-155 /
/// 232-239 / 373-384 -> 265-268 / 293-296 / 429-434 ns and `GRU<batchf, 2, 32>`'s input
/// product made its step 3-6 % slower, while from 32 columns the GRU and LSTM steps gained.
inline constexpr std::size_t kAcrossRows512 = 96, kAcrossColumns512 = 32;
/// Whether gemv_impl takes W x (C columns) for a batch T across rows (gemv_across_rows, the
/// last R mod lanes rows as before): 8 float lanes on AVX2 with FMA, from 96 rows (at 24 and 48
/// the transposes cost more than the loads save: an 8-lane GRU<batch<float>> step of hidden 8
/// 265 -> 289 ns), or 16 on AVX-512 from kAcrossRows512 rows and kAcrossColumns512 columns.
template <class T, std::size_t R, std::size_t C>
inline constexpr bool kGemvAcrossRows =
    is_batch_v<T> && std::is_same_v<scalar_t<T>, float> &&
    ((sizeof(T) == 32 && R >= 96) ||
     (sizeof(T) == 64 && R >= kAcrossRows512 && C >= kAcrossColumns512));

/// The 8 x 8 transpose: row i of the result holds element i of each input, in input order.
DENDRITE_FORCE_INLINE void transpose8(__m256 (&a)[8]) noexcept {
  __m256 t[8], u[8];
  for (int k = 0; k < 4; ++k) {
    t[2 * k] = _mm256_unpacklo_ps(a[2 * k], a[2 * k + 1]);
    t[2 * k + 1] = _mm256_unpackhi_ps(a[2 * k], a[2 * k + 1]);
  }
  for (int k = 0; k < 2; ++k) {
    u[4 * k] = _mm256_shuffle_ps(t[4 * k], t[4 * k + 2], 0x44);
    u[4 * k + 1] = _mm256_shuffle_ps(t[4 * k], t[4 * k + 2], 0xEE);
    u[4 * k + 2] = _mm256_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0x44);
    u[4 * k + 3] = _mm256_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0xEE);
  }
  for (int k = 0; k < 4; ++k) {
    a[k] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x20);
    a[k + 4] = _mm256_permute2f128_ps(u[k], u[k + 4], 0x31);
  }
}

#if defined(__AVX512F__)
/// The 16 x 16 transpose: row i of the result holds element i of each input, in input order.
DENDRITE_FORCE_INLINE void transpose16(__m512 (&a)[16]) noexcept {
  __m512 t[16], u[16];
  for (int k = 0; k < 8; ++k) {
    t[2 * k] = _mm512_unpacklo_ps(a[2 * k], a[2 * k + 1]);
    t[2 * k + 1] = _mm512_unpackhi_ps(a[2 * k], a[2 * k + 1]);
  }
  for (int k = 0; k < 4; ++k) {
    u[4 * k] = _mm512_shuffle_ps(t[4 * k], t[4 * k + 2], 0x44);
    u[4 * k + 1] = _mm512_shuffle_ps(t[4 * k], t[4 * k + 2], 0xEE);
    u[4 * k + 2] = _mm512_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0x44);
    u[4 * k + 3] = _mm512_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0xEE);
  }
  // u[4 q + c] holds column c of rows 4 q .. 4 q + 3 in each 128-bit lane; gather the lanes
  for (int k = 0; k < 4; ++k) {
    t[k] = _mm512_shuffle_f32x4(u[k], u[k + 4], 0x88);
    t[k + 4] = _mm512_shuffle_f32x4(u[k], u[k + 4], 0xDD);
    t[k + 8] = _mm512_shuffle_f32x4(u[k + 8], u[k + 12], 0x88);
    t[k + 12] = _mm512_shuffle_f32x4(u[k + 8], u[k + 12], 0xDD);
  }
  for (int k = 0; k < 4; ++k) {
    a[k] = _mm512_shuffle_f32x4(t[k], t[k + 8], 0x88);
    a[k + 8] = _mm512_shuffle_f32x4(t[k], t[k + 8], 0xDD);
    a[k + 4] = _mm512_shuffle_f32x4(t[k + 4], t[k + 12], 0x88);
    a[k + 12] = _mm512_shuffle_f32x4(t[k + 4], t[k + 12], 0xDD);
  }
}
#endif

/// Rows [r0, r0 + L NV) of gemv_impl for a batch of L = 8 or 16 float lanes, vectorised over
/// rows: lane by lane it is the scalar product (a vector of L rows per FMA, column j's weights
/// loaded once and kept in registers), L / 2 lanes at a time sharing those loads; the L lanes'
/// sums are then transposed into the batches of y. Per column that is NV loads and L / 2
/// broadcasts for NV L / 2 FMAs (11 loads for 24 FMAs on AVX-512), against a broadcast weight
/// per FMA when the batch's lanes are the vector (17 loads for 16 FMAs: the loads, not the FMAs,
/// bound that form). Each sum runs in the same order as there: from a bias init, bit for bit
/// the same y; from y (gemv_acc) the products are summed from 0 and added to y. On a Zen 3
/// core, 8 streams (bench/README.md): GRU<batch<float>> hidden 128 13.5-15.1 -> 11.8-12.7 µs,
/// LSTM 64 6.1-6.3 -> 5.2-5.6 µs, LSTM 128 21.5-23.1 -> 18.7-19.1 µs. On the AVX-512 VM, 16
/// streams: GRU 32 / 64 / 100 / 128 6-7 % faster, LSTM 32 / 64 / 100 / 128 6-12 %.
template <std::size_t NV, std::size_t R, std::size_t C, std::size_t C2 = 0, class T, class Init>
DENDRITE_FORCE_INLINE void gemv_across_rows(const float* __restrict w, const T* __restrict x,
                                            const Init* init, T* y, std::size_t r0,
                                            const float* __restrict w2 = nullptr,
                                            const T* __restrict x2 = nullptr) noexcept {
  constexpr std::size_t L = T::size, NL = L / 2;
  alignas(sizeof(T)) float part[L][NV][L];  // part[l][v]: rows r0 + L v .. + L of lane l
  for (std::size_t l0 = 0; l0 < L; l0 += NL) {
    T acc[NV][NL];
    for (std::size_t v = 0; v < NV; ++v) {
      T start(0.0f);
      if constexpr (!std::is_same_v<Init, T>) {
        start = T::load_unaligned(init + r0 + L * v);
      }
      for (std::size_t l = 0; l < NL; ++l) acc[v][l] = start;
    }
    // the columns of one matrix into the accumulators; x[j]'s lane l is the float at
    // xs[j L + l] (vector types share their element's alias set)
    const auto columns = [&]<std::size_t CC>(const float* __restrict wm, const T* __restrict xm)
                             DENDRITE_FORCE_INLINE_LAMBDA {
      const float* xs = reinterpret_cast<const float*>(xm);
      for (std::size_t j = 0; j < CC; ++j) {
        T wv[NV];
        for (std::size_t v = 0; v < NV; ++v) {
          wv[v] = T::load_unaligned(wm + j * R + r0 + L * v);
          pin_in_register(wv[v]);  // read by L / 2 FMAs: on AVX-512 too
        }
#pragma GCC unroll 16
        for (std::size_t l = 0; l < NL; ++l) {
          const T xl(xs[j * L + l0 + l]);
#pragma GCC unroll 16
          for (std::size_t v = 0; v < NV; ++v) acc[v][l] = dendrite::fma(wv[v], xl, acc[v][l]);
        }
      }
    };
    columns.template operator()<C>(w, x);
    if constexpr (C2 > 0) columns.template operator()<C2>(w2, x2);
    for (std::size_t v = 0; v < NV; ++v) {
      for (std::size_t l = 0; l < NL; ++l) acc[v][l].store_aligned(part[l0 + l][v]);
    }
  }
  for (std::size_t v = 0; v < NV; ++v) {
    // the L lanes' sums of rows r0 + L v .. + L, transposed into one batch per row
    const auto rows_out = [&](const auto& a) DENDRITE_FORCE_INLINE_LAMBDA {
      for (std::size_t i = 0; i < L; ++i) {
        const std::size_t row = r0 + L * v + i;
        if constexpr (std::is_same_v<Init, T>) {
          y[row] = init[row] + T(a[i]);
        } else {
          y[row] = T(a[i]);
        }
      }
    };
    if constexpr (L == 8) {
      __m256 a[8];
      for (std::size_t l = 0; l < L; ++l) a[l] = _mm256_load_ps(part[l][v]);
      transpose8(a);
      rows_out(a);
    } else {
#if defined(__AVX512F__)
      __m512 a[16];
      for (std::size_t l = 0; l < L; ++l) a[l] = _mm512_load_ps(part[l][v]);
      transpose16(a);
      rows_out(a);
#endif
    }
  }
}

/// gemv_across_rows over rows [RB, RE) (multiples of the lanes), in blocks of 3 row vectors (12
/// accumulators, 3 weight vectors and a broadcast input: AVX2's 16 registers; 24 accumulators
/// of AVX-512's 32, whose 8 lanes a pass then read a row block's weights twice, from L1 up to
/// 160 columns) and one block of the vectors left over; with C2 > 0 a second matrix W2 x2 in
/// the same pass. W1 and W2 have R rows (the column stride), and init and y are indexed by the
/// whole matrices' rows: a GRU takes its r and z rows from both products in one pass this way.
template <std::size_t R, std::size_t C, std::size_t C2, std::size_t RB, std::size_t RE, class T,
          class Init>
DENDRITE_FORCE_INLINE void gemv_across_row_range(const float* __restrict w, const T* __restrict x,
                                                 const Init* init, T* y,
                                                 const float* __restrict w2 = nullptr,
                                                 const T* __restrict x2 = nullptr) noexcept {
  constexpr std::size_t kNV = 3, L = T::size;
  static_assert(RB % L == 0 && RE % L == 0 && RB < RE && RE <= R);
  constexpr std::size_t vectors = (RE - RB) / L;
  for (std::size_t v0 = 0; v0 + kNV <= vectors; v0 += kNV) {
    gemv_across_rows<kNV, R, C, C2>(w, x, init, y, RB + L * v0, w2, x2);
  }
  constexpr std::size_t rest = vectors % kNV;
  if constexpr (rest > 0) {
    gemv_across_rows<rest, R, C, C2>(w, x, init, y, RB + L * (vectors - rest), w2, x2);
  }
}

/// gemv_across_row_range over the first R - R mod L rows.
template <std::size_t R, std::size_t C, std::size_t C2 = 0, class T, class Init>
DENDRITE_FORCE_INLINE void gemv_across_row_blocks(const float* __restrict w, const T* __restrict x,
                                                  const Init* init, T* y,
                                                  const float* __restrict w2 = nullptr,
                                                  const T* __restrict x2 = nullptr) noexcept {
  gemv_across_row_range<R, C, C2, 0, R / T::size * T::size>(w, x, init, y, w2, x2);
}
#else
template <class T, std::size_t R, std::size_t C>
inline constexpr bool kGemvAcrossRows = false;
#endif

/// y = init + W x with W an R x C column-major matrix of scalar_t<T>, init either y (T values)
/// or a bias (R scalars). Rows go in blocks of gemv_block(units) register-held units (see
/// gemv_rows); for a scalar T the last R mod lanes rows go through one more overlapping batch,
/// and a matrix with fewer rows than any batch is plain code.
template <class T, std::size_t R, std::size_t C, class Init>
DENDRITE_FORCE_INLINE void gemv_impl(const scalar_t<T>* __restrict w, const T* __restrict x,
                                     const Init* init, T* y) noexcept {
  using S = scalar_t<T>;
  using V = std::conditional_t<is_batch_v<T>, T, row_batch_t<S, R>>;
  if constexpr (kGemvAcrossRows<T, R, C>) {
#if DENDRITE_DETAIL_GEMV_ACROSS_ROWS
    gemv_across_row_blocks<R, C>(w, x, init, y);
    constexpr std::size_t tail = R % T::size, row = R - tail;  // one batch (a row) per unit
    if constexpr (tail > 0) gemv_rows<T, T, tail, R, C>(w + row, x, init + row, y + row);
#endif
  } else if constexpr (std::is_pointer_v<V>) {
    for (std::size_t i = 0; i < R; ++i) {
      T acc = T(init[i]);
      for (std::size_t j = 0; j < C; ++j) acc += w[j * R + i] * x[j];
      y[i] = acc;
    }
  } else {
    constexpr std::size_t unit = is_batch_v<T> ? 1 : V::size;
    constexpr std::size_t units = R / unit;
    constexpr std::size_t kBlock = gemv_block<std::is_same_v<T, float>>(units);
    constexpr std::size_t full = units / kBlock;
    constexpr std::size_t rest = units - full * kBlock;
    // the row blocks over columns [c0, c0 + CP), their accumulators starting from `from`
    const auto pass = [&]<std::size_t CP, class From>(std::size_t c0, const From* from)
                          DENDRITE_FORCE_INLINE_LAMBDA {
      for (std::size_t blk = 0; blk < full; ++blk) {
        const std::size_t row = blk * kBlock * unit;
        gemv_rows<T, V, kBlock, R, CP>(w + c0 * R + row, x + c0, from + row, y + row);
      }
      if constexpr (rest > 0) {
        const std::size_t row = full * kBlock * unit;
        gemv_rows<T, V, rest, R, CP>(w + c0 * R + row, x + c0, from + row, y + row);
      }
    };
    constexpr std::size_t panel = gemv_panel<T>(R, C);
    if constexpr (panel >= C) {
      pass.template operator()<C>(0, init);
    } else {
      pass.template operator()<panel>(0, init);
      for (std::size_t c0 = panel; c0 + panel <= C; c0 += panel) {
        pass.template operator()<panel>(c0, y);
      }
      if constexpr (C % panel > 0) pass.template operator()<C % panel>(C - C % panel, y);
    }
    constexpr std::size_t tail = R - units * unit;  // scalar T only: rows past the last batch
    if constexpr (tail > 0) {
      // one more batch over the last `unit` rows (overlapping rows already done), summed from
      // zero, of which only the last `tail` rows are added
      alignas(64) S part[unit] = {};
      gemv_rows<T, V, 1, R, C>(w + (R - unit), x, part, part);
      for (std::size_t i = 0; i < tail; ++i) {
        const std::size_t row = units * unit + i;
        y[row] = T(init[row]) + part[unit - tail + i];
      }
    }
  }
}

/// y += W x (see gemv_impl).
template <class T, std::size_t R, std::size_t C>
DENDRITE_FORCE_INLINE void gemv_acc(const scalar_t<T>* __restrict w, const T* __restrict x,
                                    T* y) noexcept {
  gemv_impl<T, R, C>(w, x, y, y);
}

/// y = b + W x, b R scalars (see gemv_impl).
template <class T, std::size_t R, std::size_t C>
DENDRITE_FORCE_INLINE void gemv_bias(const scalar_t<T>* __restrict w, const T* __restrict x,
                                     const scalar_t<T>* __restrict b, T* __restrict y) noexcept {
  gemv_impl<T, R, C>(w, x, b, y);
}

/// y = b + W1 x1 + W2 x2, two column-major matrices of R rows (C1 and C2 columns) and b R
/// scalars: an LSTM's two products. On the across-rows path, when R is a multiple of 8 (no rows
/// left in the lanes' form), in one pass (one transpose of the sums instead of two); elsewhere
/// gemv_bias then gemv_acc. Each sum runs from b over
/// W1's columns, then W2's, in both.
template <class T, std::size_t R, std::size_t C1, std::size_t C2>
DENDRITE_FORCE_INLINE void gemv_bias2(const scalar_t<T>* __restrict w1, const T* __restrict x1,
                                      const scalar_t<T>* __restrict w2, const T* __restrict x2,
                                      const scalar_t<T>* __restrict b, T* __restrict y) noexcept {
  if constexpr (kGemvAcrossRows<T, R, C1 + C2> && R % lanes_v<T> == 0) {
#if DENDRITE_DETAIL_GEMV_ACROSS_ROWS
    gemv_across_row_blocks<R, C1, C2>(w1, x1, b, y, w2, x2);
#endif
  } else {
    gemv_bias<T, R, C1>(w1, x1, b, y);
    gemv_acc<T, R, C2>(w2, x2, y);
  }
}

/// Rows [r0, r0 + NB) of gemv_groups: the NB x G accumulators in registers; per column the NB
/// weights are broadcast once for all G groups and each group's input is loaded once for all NB
/// rows. The accumulators start from `init`: a bias (R scalar_t<T>, the same for every group)
/// or, with FromY, y itself (T, group by group; a flag, not the type: for a scalar T both are
/// T).
template <class T, std::size_t NB, std::size_t R, std::size_t C, std::size_t G, std::size_t XS,
          bool FromY, class Init>
DENDRITE_FORCE_INLINE void gemv_groups_rows(const scalar_t<T>* __restrict w, const T* __restrict x,
                                            const Init* init, T* y, std::size_t r0) noexcept {
  T acc[NB][G];
  for (std::size_t k = 0; k < NB; ++k) {
    for (std::size_t g = 0; g < G; ++g) {
      if constexpr (FromY) {
        acc[k][g] = init[g * R + r0 + k];
      } else {
        acc[k][g] = T(init[r0 + k]);
      }
    }
  }
  for (std::size_t j = 0; j < C; ++j) {
    const scalar_t<T>* col = w + j * R + r0;
    T wk[NB];
    for (std::size_t k = 0; k < NB; ++k) wk[k] = T(col[k]);
#pragma GCC unroll 16
    for (std::size_t g = 0; g < G; ++g) {
      T xg = x[g * XS + j];
      keep_in_register(xg);
#pragma GCC unroll 16
      for (std::size_t k = 0; k < NB; ++k) acc[k][g] = dendrite::fma(wk[k], xg, acc[k][g]);
    }
  }
  for (std::size_t k = 0; k < NB; ++k) {
    for (std::size_t g = 0; g < G; ++g) y[g * R + r0 + k] = acc[k][g];
  }
}

/// y_g = init_g + W x_g for G groups at once (G right-hand sides): W an R x C column-major
/// matrix of scalar_t<T>, x G groups of C values (group g at x + g XS, XS >= C), y G groups of
/// R, init a bias (R scalars, every group's) or, with FromY, y itself. Every weight is read
/// once per call, not once per group.
/// Rows per register block, NB: at most kGemvUnits * 3 / 2 accumulators (24 on AVX-512, where
/// that gives 6 rows for 4 groups), and on 16-register targets as many rows as leave the G
/// inputs and a broadcast weight in registers (2 for 4 groups), or one more (all 16 registers,
/// 3 x 4 + 3 + 1, with FMA) when the G inputs take 16 KB or more: there the inputs are re-read
/// for every block of rows, and fewer blocks pay. BlockedGRU<batchf, 32, H, 4> on the AVX2 core,
/// H 32 / 64 / 128, ns (bench/README.md): 3 rows everywhere 5 360-5 417 / 14 366-14 702 /
/// 43 485-44 746; 2 rows everywhere 5 243-5 384 / 13 554-13 973 / 50 086-50 416; this rule
/// 5 069-5 072 / 13 559-13 651 / 43 252-43 861; before (3 rows, each input reloaded by every
/// FMA) 6 331-6 432 / 16 812-17 144 / 56 684-56 976.
template <class T, std::size_t R, std::size_t C, std::size_t G, std::size_t XS, bool FromY,
          class Init>
DENDRITE_FORCE_INLINE void gemv_groups_impl(const scalar_t<T>* __restrict w, const T* __restrict x,
                                            const Init* init, T* y) noexcept {
  constexpr std::size_t kAcc = kGemvUnits * 3 / 2;  // 24 or 12 accumulators, G of them a row
  constexpr std::size_t kRegs = kGemvUnits * 2;     // vector registers: 32 or 16
#if defined(__FMA__)
  constexpr bool kLargeInputs = G * C * sizeof(T) >= 16384;
#else
  constexpr bool kLargeInputs = false;  // a product needs a register of its own
#endif
  constexpr std::size_t kFit =
      kRegs > G + 1 ? (kRegs - G - 1) / G + (kLargeInputs && kRegs == 16 ? 1 : 0) : 1;
  constexpr std::size_t NB = std::max<std::size_t>(1, std::min(kAcc / G, kFit));
  constexpr std::size_t full = R / NB;
  for (std::size_t blk = 0; blk < full; ++blk) {
    gemv_groups_rows<T, NB, R, C, G, XS, FromY>(w, x, init, y, blk * NB);
  }
  if constexpr (R % NB > 0) {
    gemv_groups_rows<T, R % NB, R, C, G, XS, FromY>(w, x, init, y, full * NB);
  }
}

/// y_g = b + W x_g for G groups (see gemv_groups_impl).
template <class T, std::size_t R, std::size_t C, std::size_t G, std::size_t XS = C>
DENDRITE_FORCE_INLINE void gemv_groups(const scalar_t<T>* __restrict w, const T* __restrict x,
                                       const scalar_t<T>* __restrict b, T* __restrict y) noexcept {
  gemv_groups_impl<T, R, C, G, XS, false>(w, x, b, y);
}

/// y_g += W x_g for G groups (see gemv_groups_impl): each sum goes on from y's value.
template <class T, std::size_t R, std::size_t C, std::size_t G, std::size_t XS = C>
DENDRITE_FORCE_INLINE void gemv_groups_acc(const scalar_t<T>* __restrict w, const T* __restrict x,
                                           T* y) noexcept {
  gemv_groups_impl<T, R, C, G, XS, true>(w, x, y, y);
}

/// Batches (or chunks) the recurrent steps' gate updates hand to f together (vmap's K): 4 where
/// the target has 32 vector registers (AVX-512), 1 where it has 16 (SSE2, AVX2). With 4 on
/// AVX-512 the gates of a 64-unit GRU took 20 % less time than one at a time (16 lanes), 30 %
/// less for one 64-unit stream (scratch benchmark, randomly interleaved repetitions; 2 gained
/// less). On AVX2 (Zen 3, 8 lanes) 4 spills: 340 stack accesses in a 32-unit GRU's gates
/// against 32, and the gates took 132 ns against 66 with 1 (g++ 12; clang 14 alike), the whole
/// step 331 against 276 ns. 2 is slower too: `GRU<float>` 8 59 -> 108-114 ns, `LSTM<batchf>` 32
/// 2.2 -> 3.1-3.3 µs (2026-12-03).
inline constexpr std::size_t kGateInterleave = sizeof(xsimd::batch<float>) >= 64 ? 4 : 1;

template <class T, std::size_t N, std::size_t K = 1, class F, class... In>
DENDRITE_FORCE_INLINE void vmap(F f, T* out, const In*... in) noexcept {
  using W = row_batch_t<scalar_t<T>, N>;  // the widest batch of N or fewer lanes
  if constexpr (!is_batch_v<T> && !std::is_pointer_v<W>) {
    constexpr std::size_t L = W::size;
    constexpr std::size_t grouped = K > 1 ? N / (K * L) * (K * L) : 0;  // elements in K-groups
    if constexpr (grouped > 0) {
      // K consecutive chunks at a time, their arithmetic interleaved
      const auto group = [](const T* p) DENDRITE_FORCE_INLINE_LAMBDA {
        Interleaved<W, K> g;
        for (std::size_t k = 0; k < K; ++k) g.v[k] = W::load_unaligned(p + k * L);
        return g;
      };
      for (std::size_t i = 0; i < grouped; i += K * L) {
        const Interleaved<W, K> r = f(group(in + i)...);
        for (std::size_t k = 0; k < K; ++k) r.v[k].store_unaligned(out + i + k * L);
      }
    }
    for (std::size_t i = grouped; i + L <= N; i += L) {
      f(W::load_unaligned(in + i)...).store_unaligned(out + i);
    }
    if constexpr (N % L != 0) {
      // the last L elements, overlapping some already done (recomputed to the same values: out
      // aliases no input): no padded copy, whose scalar stores the vector load cannot forward
      // from (the gates of an 8-unit GRU on AVX-512 took 40 % of its step that way)
      constexpr std::size_t j = N - L;
      f(W::load_unaligned(in + j)...).store_unaligned(out + j);
    }
  } else if constexpr (!is_batch_v<T>) {
    // fewer elements than any batch: one padded batch, so they vectorise too
    using B = xsimd::batch<T>;
    static_assert(N < B::size, "vmap: a batch of N or fewer lanes exists from B::size on");
    if constexpr (N > 0) {
      const auto padded = [](const T* p) {
        alignas(64) T buf[B::size] = {};
        for (std::size_t k = 0; k < N; ++k) buf[k] = p[k];
        return B::load_aligned(buf);
      };
      alignas(64) T res[B::size];
      f(padded(in)...).store_aligned(res);
      for (std::size_t k = 0; k < N; ++k) out[k] = res[k];
    }
  } else {
    constexpr std::size_t grouped = K > 1 ? N / K * K : 0;  // elements in K-groups
    if constexpr (grouped > 0) {
      const auto group = [](const T* p) DENDRITE_FORCE_INLINE_LAMBDA {
        Interleaved<T, K> g;
        for (std::size_t k = 0; k < K; ++k) g.v[k] = p[k];
        return g;
      };
      for (std::size_t i = 0; i < grouped; i += K) {
        const Interleaved<T, K> r = f(group(in + i)...);
        for (std::size_t k = 0; k < K; ++k) out[i + k] = r.v[k];
      }
    }
    if constexpr (grouped < N) {
      for (std::size_t i = grouped; i < N; ++i) out[i] = f(in[i]...);
    }
  }
}

/// out = a + b, N values of T (the sum of PyTorch's two biases, which a recurrent step starts
/// its products from, or of a step's two products). For a scalar T in the batches the kernels
/// then load out with: a loop the compiler vectorises itself stores narrower pieces (256-bit
/// ones under g++ 12's default vector width on AVX-512), and a wider load that spans two stores
/// waits for them to reach the cache instead of taking the values from the store buffer.
/// `LSTM<float, 32, 16>` on the AVX-512 VM spent about 7 % of its step on that wait.
template <class T, std::size_t N>
DENDRITE_FORCE_INLINE void add_vectors(const scalar_t<T>* a, const scalar_t<T>* b,
                                       T* out) noexcept {
  if constexpr (is_batch_v<T>) {
    for (std::size_t i = 0; i < N; ++i) out[i] = T(a[i] + b[i]);
  } else {
    vmap<T, N>([](auto u, auto v) DENDRITE_FORCE_INLINE_LAMBDA { return u + v; }, out, a, b);
  }
}

/// out = a, N values of T, in whole registers (for the reason add_vectors gives).
template <class T, std::size_t N>
DENDRITE_FORCE_INLINE void copy_vectors(const T* a, T* out) noexcept {
  vmap<T, N>([](auto u) DENDRITE_FORCE_INLINE_LAMBDA { return u; }, out, a);
}

}  // namespace dendrite::nn::detail

#include <dendrite/core/detail/intrinsics_warnings_end.hpp>
