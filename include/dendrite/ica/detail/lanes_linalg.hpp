// SPDX-License-Identifier: MIT
/// @file
/// The O(D^2) matrix-vector kernels of the streaming ICA engines, for a D x D column-major
/// matrix of `T` (a float/double or an xsimd batch, one independent matrix per lane):
///   gemv     y = A x          (axpy over columns: vectorises over rows, or over lanes)
///   gemv_t   y = A^T x        (a dot product per column, `column_dots`)
///   column_dots                the dot products of a block of columns with K vectors
///   for_each_column_block      the blocks of columns column_dots takes, and the last partial one
///   axpy, scale_axpy, axpy2    a column's update: a + s x, f a + s x and a + s x + r y
///   scale_axpy_acc, axpy2_acc  the same updates on a block of columns, each adding the new
///                              column times z_j to y (`update_columns_acc`)
///   tanh_n   out = tanh(y), elementwise
///   for_each_update, load_as, store_as   an elementwise update in registers of this width
/// For a scalar `T` the dot products run in xsimd registers (a plain loop's reduction does not
/// vectorise without -ffast-math); for a batch `T` every lane is a separate matrix and the
/// loops vectorise over lanes. Where no register width divides D (14, 15 floats), the products
/// and dot-product blocks run in the widest register that fits with a last window overlapping
/// the one before (`dot_reg`); so do the elementwise updates, the last window read before any
/// other is written (`for_each_update`). Internal.
#pragma once

#include <array>
#include <cstddef>
#include <type_traits>

#include <xsimd/xsimd.hpp>

#include <dendrite/config.hpp>
#include <dendrite/core/math.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>

#include <dendrite/core/detail/intrinsics_warnings_begin.hpp>  // GCC PR 105593 (sums_of)

namespace dendrite::ica::detail {

namespace kernel_pick {
/// The batch of the widest register of this target holding N or fewer values whose width
/// divides D (void if none).
template <class T, std::size_t D, std::size_t N>
struct widest {
  using sized = xsimd::make_sized_batch_t<T, N>;
  using type = std::conditional_t<D % N == 0 && !std::is_void_v<sized>, sized,
                                  typename widest<T, D, N / 2>::type>;
};
template <class T, std::size_t D>
struct widest<T, D, 1> {
  using type = void;
};
/// The batch of the widest register of this target holding N or fewer values, and at most D
/// (void if none).
template <class T, std::size_t D, std::size_t N>
struct widest_within {
  using sized = xsimd::make_sized_batch_t<T, N>;
  using type = std::conditional_t<N <= D && !std::is_void_v<sized>, sized,
                                  typename widest_within<T, D, N / 2>::type>;
};
template <class T, std::size_t D>
struct widest_within<T, D, 1> {
  using type = void;
};
}  // namespace kernel_pick

/// f.template operator()<U>(i) over values [From, N) of a scalar `T`: registers as wide as fit,
/// narrower ones for what is left, then U = T (15 floats on AVX-512: 8 + 4 + 3 scalars). The
/// tails of the kernels below, where no register width divides D: until 2026-12-04 those ran
/// scalar, and at 9 to 15 channels (12 aside) that was all of them (`BM_ORICAStep<float>` on
/// the AVX-512 VM: 15 channels 721-979 ns, now 505-615; 16 channels 219-274).
template <class T, std::size_t From, std::size_t N, class F>
DENDRITE_FORCE_INLINE void tail_chunks(F&& f) noexcept {
  if constexpr (From < N) {
    using W = typename kernel_pick::widest_within<T, N - From, xsimd::batch<T>::size>::type;
    if constexpr (std::is_void_v<W>) {
      for (std::size_t i = From; i < N; ++i) f.template operator()<T>(i);
    } else {
      constexpr std::size_t next = From + (N - From) / W::size * W::size;
      for (std::size_t i = From; i < next; i += W::size) f.template operator()<W>(i);
      tail_chunks<T, next, N>(f);
    }
  }
}

/// The register type of the kernels for D values of a scalar `T`: the widest xsimd batch of
/// this target whose width divides D (so 8 floats run in AVX registers on an AVX-512 build, 4
/// in SSE ones), else the default batch (full registers, then the tail in narrower registers
/// and scalars, `tail_chunks`). For a batch `T`, T itself: its lanes are separate networks.
template <Real T, int D>
struct kernel_reg_of {
  using type = T;
};
template <Real T, int D>
  requires(!is_batch_v<T>)
struct kernel_reg_of<T, D> {
  using widest =
      typename kernel_pick::widest<T, static_cast<std::size_t>(D), xsimd::batch<T>::size>::type;
  using type = std::conditional_t<std::is_void_v<widest>, xsimd::batch<T>, widest>;
};
template <Real T, int D>
using kernel_reg = typename kernel_reg_of<T, D>::type;

/// Values per kernel register (1 for a batch `T`).
template <Real T, int D>
inline constexpr std::size_t kernel_width = is_batch_v<T> ? 1 : kernel_reg<T, D>::size;

/// The register of `column_dots`, `gemv` and `screen` for D values of a scalar `T`:
/// `kernel_reg` where its width divides D; otherwise the widest register holding at most D
/// values, whose last chunk is a window ending at row D that overlaps the one before it (15
/// floats on AVX-512: rows 0-7 and 7-14 in AVX registers; a sum masks the overlap out, a
/// product writes its rows twice with the same values). void for a batch `T` or where no
/// register fits (3 floats). Read-modify-write updates take it through `for_each_update`. Not
/// for `dot`: a window load across the stores of narrower chunks waits for them (store
/// forwarding), which cost more than the horizontal sums it saves (`BM_ORICAStep<float, 14>`
/// 302 ns with the window in `dot`, 288 without).
template <Real T, int D>
struct dot_reg_of {
  using type = void;
};
template <Real T, int D>
requires(!is_batch_v<T>) struct dot_reg_of<T, D> {
  using type =
      std::conditional_t<static_cast<std::size_t>(D) % kernel_width<T, D> == 0, kernel_reg<T, D>,
                         typename kernel_pick::widest_within<T, static_cast<std::size_t>(D),
                                                             xsimd::batch<T>::size>::type>;
};
template <Real T, int D>
using dot_reg = typename dot_reg_of<T, D>::type;

/// The last R lanes of a V: the part of the window ending at row D that the registers before
/// it did not cover (R rows).
template <class V, std::size_t R>
[[nodiscard]] DENDRITE_FORCE_INLINE auto last_lanes_mask() noexcept {
  using S = typename V::value_type;
  static constexpr std::array<S, V::size> keep = [] {
    std::array<S, V::size> k{};
    for (std::size_t i = V::size - R; i < V::size; ++i) {
      k[i] = S(1);
    }
    return k;
  }();
  return V::load_unaligned(keep.data()) != V(S(0));
}

/// v with its first V::size - R lanes zeroed.
template <class V, std::size_t R>
[[nodiscard]] DENDRITE_FORCE_INLINE V last_lanes(const V& v) noexcept {
  return xsimd::select(last_lanes_mask<V, R>(), v, V(typename V::value_type(0)));
}

/// f(i) at the registers of W values that cover N >= W values: i = 0, W, 2W, ..., and where W
/// does not divide N, a last window ending at N that overlaps the one before (`dot_reg`).
template <std::size_t N, std::size_t W, class F>
DENDRITE_FORCE_INLINE void for_each_window(F&& f) noexcept {
  static_assert(W >= 1 && W <= N, "for_each_window: a register holds 1 to N values");
  for (std::size_t i = 0; i + W <= N; i += W) {
    f(i);
  }
  if constexpr (N % W != 0) {
    f(N - W);
  }
}

/// *p as a `U`: `T` itself, or a register of scalar `T`s loaded from p (unaligned).
template <class U, class T>
[[nodiscard]] DENDRITE_FORCE_INLINE U load_as(const T* p) noexcept {
  if constexpr (std::is_same_v<U, T>) {
    return *p;
  } else {
    return U::load_unaligned(p);
  }
}

/// Stores a `U` (a `T`, or a register of them) at p.
template <class U, class T>
DENDRITE_FORCE_INLINE void store_as(const U& v, T* p) noexcept {
  if constexpr (std::is_same_v<U, T>) {
    *p = v;
  } else {
    v.store_unaligned(p);
  }
}

/// f.template operator()<U>(i) over the D values of an elementwise update: for a scalar `T`,
/// U = kernel_reg<T, D> on each full register at i and U = T on the tail; for a batch `T`,
/// U = T at every i.
template <Real T, int D, class F>
DENDRITE_FORCE_INLINE void for_each_chunk(F&& f) noexcept {
  constexpr std::size_t n = static_cast<std::size_t>(D);
  constexpr std::size_t w = kernel_width<T, D>;
  constexpr std::size_t full = w > 1 ? n / w * w : 0;
  if constexpr (full > 0) {
    for (std::size_t i = 0; i < full; i += w) f.template operator()<kernel_reg<T, D>>(i);
  }
  if constexpr (is_batch_v<T>) {
    for (std::size_t i = full; i < n; ++i) f.template operator()<T>(i);
  } else {
    tail_chunks<T, full, n>(f);
  }
}

/// Whether for_each_update<T, D> takes overlapping `dot_reg` windows (see there).
template <Real T, int D>
inline constexpr bool kWindowedUpdate = [] {
  if constexpr (std::is_void_v<dot_reg<T, D>>) {
    return false;
  } else {
    constexpr std::size_t n = static_cast<std::size_t>(D), w = dot_reg<T, D>::size;
    return n % kernel_width<T, D> != 0 && n % w >= w / 2;
  }
}();

/// An elementwise read-modify-write update over D values: f.template operator()<U>(i) reads
/// values [i, i + width of U), computes their update and returns the function that writes it.
/// For a scalar `T` where no register width divides D and the last register would be at least
/// half full (`kWindowedUpdate`), `dot_reg` windows (14 floats on AVX-512: 0-7 and 6-13)
/// instead of `for_each_chunk`'s narrower registers and scalars (8 + 4 + 2): the last window,
/// which overlaps the one before, is read and computed before any other window is written, and
/// written last, so the values two windows share come out the same from both (each value's
/// update reads only that value's inputs). Elsewhere `for_each_chunk`.
/// Measured, AVX-512 VM: `BM_ORICAStep<float>` 15 channels 263 -> 241-247 ns, 31 channels
/// 562 -> 505-532; with a window 13 of 16 values over the last (19 channels: rows 0-15 and
/// 3-18) 352 -> 374-422, hence the half-full rule.
template <Real T, int D, class F>
DENDRITE_FORCE_INLINE void for_each_update(F&& f) noexcept {
  constexpr std::size_t n = static_cast<std::size_t>(D);
  if constexpr (kWindowedUpdate<T, D>) {
    using V = dot_reg<T, D>;
    constexpr std::size_t w = V::size;
    const auto last = f.template operator()<V>(n - w);
    for (std::size_t i = 0; i + w <= n; i += w) {
      f.template operator()<V>(i)();
    }
    last();
  } else {
    for_each_chunk<T, D>([&]<class U>(std::size_t i)
                             DENDRITE_FORCE_INLINE_LAMBDA { f.template operator()<U>(i)(); });
  }
}

/// (The matrix may hold the scalar of a batch `T`: one matrix shared by every lane.) For a
/// scalar `T` whose D is a multiple of the register width, blocks of up to 16 registers of rows
/// stay in registers over all columns (at D <= 16 registers, one sequential pass over A); with
/// 4 or fewer per block, even and odd columns go to two accumulators, so that the FMAs do not
/// wait on each other.
template <Real T, int D, class A = T>
DENDRITE_FORCE_INLINE void gemv(const A* a, const T* x, T* y) noexcept {
  constexpr std::size_t n = static_cast<std::size_t>(D);
  if constexpr (!is_batch_v<T> && std::is_same_v<A, T> && n % kernel_width<T, D> == 0) {
    using V = kernel_reg<T, D>;
    constexpr std::size_t w = V::size;
    constexpr std::size_t R = n / w;  // registers per column
    constexpr std::size_t RB = [] {  // the largest divisor of R up to 16
      std::size_t b = R < 16 ? R : 16;
      while (R % b != 0) --b;
      return b;
    }();
    constexpr std::size_t S = RB <= 4 ? 2 : 1;  // accumulator sets (n is a multiple of 2)
    for (std::size_t rb = 0; rb < R; rb += RB) {
      std::array<std::array<V, RB>, S> s;
      for (auto& set : s) set.fill(V(T(0)));
      for (std::size_t j = 0; j < n; j += S) {
        for (std::size_t k = 0; k < S; ++k) {
          const V xj(x[j + k]);
          const T* aj = a + (j + k) * n + rb * w;
          for (std::size_t r = 0; r < RB; ++r) {
            s[k][r] = dendrite::fma(V::load_unaligned(aj + r * w), xj, s[k][r]);
          }
        }
      }
      for (std::size_t r = 0; r < RB; ++r) {
        V sum = s[0][r];
        for (std::size_t k = 1; k < S; ++k) sum += s[k][r];
        sum.store_unaligned(y + (rb + r) * w);
      }
    }
  } else if constexpr (!is_batch_v<T> && std::is_same_v<A, T> && !std::is_void_v<dot_reg<T, D>>) {
    // no register width divides D: a register of rows at a time over all columns, even and
    // odd columns in two accumulators (with one chain of n FMAs the ORICA step at 7-31 channels
    // took 2-13 % longer, bench/README.md), the last one a window ending at row D (the rows it
    // shares with the one before get the same values again)
    using V = dot_reg<T, D>;
    for_each_window<n, V::size>([&](std::size_t i) {
      V even(T(0)), odd(T(0));
      std::size_t j = 0;
      for (; j + 2 <= n; j += 2) {
        even = dendrite::fma(V::load_unaligned(a + j * n + i), V(x[j]), even);
        odd = dendrite::fma(V::load_unaligned(a + (j + 1) * n + i), V(x[j + 1]), odd);
      }
      if constexpr (n % 2 != 0) {
        even = dendrite::fma(V::load_unaligned(a + j * n + i), V(x[j]), even);
      }
      (even + odd).store_unaligned(y + i);
    });
  } else {
    for (std::size_t i = 0; i < n; ++i) y[i] = T(0);
    for (std::size_t j = 0; j < n; ++j) {
      const A* aj = a + j * n;
      const T xj = x[j];
      for (std::size_t i = 0; i < n; ++i) y[i] = dendrite::fma(T(aj[i]), xj, y[i]);
    }
  }
}

/// The input screen of a step: out = x with denormals flushed; per lane, whether all D values
/// are finite and whether all are within |x| <= limit (in registers for a scalar `T`).
template <Real T, int D>
DENDRITE_FORCE_INLINE void screen(const T* x, T* out, const T& limit, mask_t<T>& finite,
                                  mask_t<T>& in_range) noexcept {
  constexpr std::size_t n = static_cast<std::size_t>(D);
  finite = T(0) == T(0);
  in_range = finite;
  if constexpr (!std::is_void_v<dot_reg<T, D>>) {
    // registers of dot_reg's width; where it does not divide D, the last a window ending at
    // row D (the rows it shares with the one before are screened and copied again, to the
    // same values)
    using V = dot_reg<T, D>;
    auto fin = V(T(0)) == V(T(0));
    auto rng = fin;
    const V lim(limit);
    for_each_window<n, V::size>([&](std::size_t i) {
      const V xv = flush_denormal(V::load_unaligned(x + i));
      fin = fin & xsimd::isfinite(xv);
      rng = rng & (xsimd::abs(xv) <= lim);
      xv.store_unaligned(out + i);
    });
    finite = xsimd::all(fin);
    in_range = xsimd::all(rng);
  } else {  // a batch `T` (a value per lane), or too few values for a register
    for (std::size_t i = 0; i < n; ++i) {
      const T xi = flush_denormal(x[i]);
      finite = finite && dendrite::isfinite(xi);
      in_range = in_range && (dendrite::abs(xi) <= limit);
      out[i] = xi;
    }
  }
}

/// The dot product of two D-vectors, per lane; for a scalar `T` in SIMD registers of this
/// target's width (two accumulators, one horizontal sum), the reduction a plain loop cannot
/// vectorise.
template <Real T, int D>
[[nodiscard]] DENDRITE_FORCE_INLINE T dot(const T* a, const T* x) noexcept {
  constexpr std::size_t n = static_cast<std::size_t>(D);
  if constexpr (is_batch_v<T>) {
    T s(0);
    for (std::size_t i = 0; i < n; ++i) s = dendrite::fma(a[i], x[i], s);
    return s;
  } else {
    using V = kernel_reg<T, D>;
    constexpr std::size_t w = V::size;
    constexpr std::size_t full = n / w * w;
    T s(0);
    if constexpr (full > 0) {
      V s0(T(0)), s1(T(0));
      std::size_t i = 0;
      for (; i + 2 * w <= full; i += 2 * w) {
        s0 = dendrite::fma(V::load_unaligned(a + i), V::load_unaligned(x + i), s0);
        s1 = dendrite::fma(V::load_unaligned(a + i + w), V::load_unaligned(x + i + w), s1);
      }
      if constexpr ((full / w) % 2 == 1) {
        s0 = dendrite::fma(V::load_unaligned(a + full - w), V::load_unaligned(x + full - w), s0);
      }
      s = reduce_add(s0 + s1);
    }
    tail_chunks<T, full, n>([&]<class U>(std::size_t i) {
      if constexpr (std::is_same_v<U, T>) {
        s = dendrite::fma(a[i], x[i], s);
      } else {
        s += dendrite::reduce_add(U::load_unaligned(a + i) * U::load_unaligned(x + i));
      }
    });
    return s;
  }
}

/// The sums of B = V::size registers, one per lane of the result: out[b] = sum(rows[b]).
/// xsimd::haddp, except for AVX-512 float, whose xsimd 8.1 version returns the sums in a
/// shuffled order (lanes 2-5 and 10-13 swapped in pairs): there a tree of in-register shuffles
/// (45 instructions for 16 sums instead of about 8 per serial reduction).
template <class V>
[[nodiscard]] DENDRITE_FORCE_INLINE V sums_of(const V* rows) noexcept {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<typename V::value_type, float> && V::size == 16) {
    // Inputs in transposed 4 x 4 order: the last step leaves row 4i + j in lane 4j + i.
    __m512 t[8];  // NOLINT(*-avoid-c-arrays): std::array drops the vector attributes
    for (std::size_t k = 0; k < 8; ++k) {  // 128-bit lanes [a0+a2, a1+a3, b0+b2, b1+b3]
      const __m512 a = rows[4 * ((2 * k) % 4) + (2 * k) / 4];
      const __m512 b = rows[4 * ((2 * k + 1) % 4) + (2 * k + 1) / 4];
      t[k] = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE));
    }
    __m512 u[4];  // NOLINT(*-avoid-c-arrays)
    for (std::size_t m = 0; m < 4; ++m) {  // [a0+a1, a2+a3, b0+b1, b2+b3]: one row per lane
      const __m512 a = t[2 * m], b = t[2 * m + 1];
      u[m] = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x88), _mm512_shuffle_f32x4(a, b, 0xDD));
    }
    const auto pair = [](__m512 a, __m512 b) {  // within each 128-bit lane
      return _mm512_add_ps(_mm512_shuffle_ps(a, b, 0x88), _mm512_shuffle_ps(a, b, 0xDD));
    };
    return V(pair(pair(u[0], u[1]), pair(u[2], u[3])));
  } else
#endif
  {
    return xsimd::haddp(rows);
  }
}

/// Columns per block of `column_dots`: for a scalar `T`, the width of `dot_reg` (one parallel
/// horizontal sum, `sums_of`, finishes the block's dot products together instead of one serial
/// reduction each); 1 for a batch `T` or where no register fits.
template <Real T, int D>
inline constexpr std::size_t dot_block = [] {
  if constexpr (std::is_void_v<dot_reg<T, D>>) {
    return std::size_t{1};
  } else {
    return dot_reg<T, D>::size;
  }
}();

/// f.template operator()<NB>(j0) over the blocks of columns of a D x D matrix: NB =
/// dot_block<T, D> columns from j0, and at the end the D % dot_block<T, D> columns left.
template <Real T, int D, class F>
DENDRITE_FORCE_INLINE void for_each_column_block(F&& f) noexcept {
  constexpr std::size_t n = static_cast<std::size_t>(D);
  constexpr std::size_t B = dot_block<T, D>;
  constexpr std::size_t full = n / B * B;
  for (std::size_t j0 = 0; j0 < full; j0 += B) {
    f.template operator()<B>(j0);
  }
  if constexpr (full < n) {
    f.template operator()<n - full>(full);
  }
}

/// out_k[b] = a(:, b) . x_k for the NB <= dot_block<T, D> columns (D rows each, column-major)
/// starting at `a`, and the K vectors x_k.
template <Real T, int D, std::size_t K, std::size_t NB = dot_block<T, D>>
DENDRITE_FORCE_INLINE void column_dots(const T* a, const std::array<const T*, K>& x,
                                       const std::array<T*, K>& out) noexcept {
  constexpr std::size_t n = static_cast<std::size_t>(D);
  constexpr std::size_t B = dot_block<T, D>;
  static_assert(NB >= 1 && NB <= B, "column_dots: a block holds 1 to dot_block<T, D> columns");
  if constexpr (NB == 1) {  // one column: one horizontal sum per vector
    for (std::size_t k = 0; k < K; ++k) out[k][0] = dot<T, D>(a, x[k]);
  } else {
    using V = dot_reg<T, D>;  // B == V::size
    constexpr std::size_t full = n / B * B;
    std::array<V, K> xt;  // the window ending at row D, with rows before `full` masked out
    if constexpr (full < n) {
      for (std::size_t k = 0; k < K; ++k) {
        xt[k] = last_lanes<V, n - full>(V::load_unaligned(x[k] + n - B));
      }
    }
    std::array<std::array<V, B>, K> acc;
    for (std::size_t b = 0; b < B; ++b) {
      for (std::size_t k = 0; k < K; ++k) {
        if (b >= NB) {  // no column: a zero sum
          acc[k][b] = V(T(0));
          continue;
        }
        const T* ab = a + b * n;
        V s = V::load_unaligned(ab) * V::load_unaligned(x[k]);
        for (std::size_t i = B; i < full; i += B) {
          s = dendrite::fma(V::load_unaligned(ab + i), V::load_unaligned(x[k] + i), s);
        }
        if constexpr (full < n) {
          s = dendrite::fma(V::load_unaligned(ab + n - B), xt[k], s);
        }
        acc[k][b] = s;
      }
    }
    for (std::size_t k = 0; k < K; ++k) {
      if constexpr (NB == B) {
        sums_of(acc[k].data()).store_unaligned(out[k]);
      } else {
        std::array<T, B> sums;
        sums_of(acc[k].data()).store_unaligned(sums.data());
        for (std::size_t b = 0; b < NB; ++b) {
          out[k][b] = sums[b];
        }
      }
    }
  }
}

/// a <- f a + s x over D values (a and x distinct), in registers of this target's width for a
/// scalar `T` (g++ otherwise may leave the loop scalar at small D).
template <Real T, int D>
DENDRITE_FORCE_INLINE void scale_axpy(T* __restrict a, T f, T s, const T* __restrict x) noexcept {
  for_each_update<T, D>([&]<class U>(std::size_t i) DENDRITE_FORCE_INLINE_LAMBDA {
    const U ai = dendrite::fma(load_as<U>(x + i), U(s), U(f) * load_as<U>(a + i));
    return [=]() DENDRITE_FORCE_INLINE_LAMBDA { store_as(ai, a + i); };
  });
}

/// a <- a + s x over D values (a distinct from x).
template <Real T, int D>
DENDRITE_FORCE_INLINE void axpy(T* __restrict a, T s, const T* __restrict x) noexcept {
  for_each_update<T, D>([&]<class U>(std::size_t i) DENDRITE_FORCE_INLINE_LAMBDA {
    const U ai = dendrite::fma(load_as<U>(x + i), U(s), load_as<U>(a + i));
    return [=]() DENDRITE_FORCE_INLINE_LAMBDA { store_as(ai, a + i); };
  });
}

/// a <- a + s x + r y over D values (a distinct from x and y).
template <Real T, int D>
DENDRITE_FORCE_INLINE void axpy2(T* __restrict a, T s, const T* __restrict x, T r,
                                 const T* __restrict y) noexcept {
  for_each_update<T, D>([&]<class U>(std::size_t i) DENDRITE_FORCE_INLINE_LAMBDA {
    const U ay = dendrite::fma(load_as<U>(y + i), U(r), load_as<U>(a + i));
    const U ai = dendrite::fma(load_as<U>(x + i), U(s), ay);
    return [=]() DENDRITE_FORCE_INLINE_LAMBDA { store_as(ai, a + i); };
  });
}

/// For the B columns a_b (D values each, column-major from `a`): a_b <- next(b, a_b) and
/// y <- y + sum_b t_b a_b (the new a_b), a row chunk of all B columns at a time (y read and
/// written once per block): a block of columns' update and its terms of a product y = A z.
/// next.template operator()<U>(b, i, a) returns rows [i, i + width of U) of column b's new
/// value from its current ones, a.
template <Real T, int D, std::size_t B, class Next>
DENDRITE_FORCE_INLINE void update_columns_acc(T* __restrict a, const T* t, T* __restrict y,
                                              Next next) noexcept {
  constexpr std::size_t n = static_cast<std::size_t>(D);
  for_each_update<T, D>([&]<class U>(std::size_t i) DENDRITE_FORCE_INLINE_LAMBDA {
    U acc = load_as<U>(y + i);
    std::array<U, B> ai;
    for (std::size_t b = 0; b < B; ++b) {
      ai[b] = next.template operator()<U>(b, i, load_as<U>(a + b * n + i));
      acc = dendrite::fma(ai[b], U(t[b]), acc);
    }
    return [=]() DENDRITE_FORCE_INLINE_LAMBDA {
      for (std::size_t b = 0; b < B; ++b) {
        store_as(ai[b], a + b * n + i);
      }
      store_as(acc, y + i);
    };
  });
}

/// update_columns_acc with a_b <- f a_b + s_b x.
template <Real T, int D, std::size_t B>
DENDRITE_FORCE_INLINE void scale_axpy_acc(T* __restrict a, T f, const std::array<T, B>& s,
                                          const T* __restrict x, const T* t,
                                          T* __restrict y) noexcept {
  update_columns_acc<T, D, B>(
      a, t, y, [&]<class U>(std::size_t b, std::size_t i, U ab) DENDRITE_FORCE_INLINE_LAMBDA {
        return dendrite::fma(load_as<U>(x + i), U(s[b]), U(f) * ab);
      });
}

/// update_columns_acc with a_b <- a_b + s_b x + r_b z.
template <Real T, int D, std::size_t B>
DENDRITE_FORCE_INLINE void axpy2_acc(T* __restrict a, const std::array<T, B>& s,
                                     const T* __restrict x, const std::array<T, B>& r,
                                     const T* __restrict z, const T* t, T* __restrict y) noexcept {
  update_columns_acc<T, D, B>(
      a, t, y, [&]<class U>(std::size_t b, std::size_t i, U ab) DENDRITE_FORCE_INLINE_LAMBDA {
        return dendrite::fma(load_as<U>(x + i), U(s[b]),
                             dendrite::fma(load_as<U>(z + i), U(r[b]), ab));
      });
}

template <Real T, int D>
DENDRITE_FORCE_INLINE void gemv_t(const T* a, const T* x, T* y) noexcept {
  constexpr std::size_t n = static_cast<std::size_t>(D);
  for_each_column_block<T, D>([&]<std::size_t NB>(std::size_t j) DENDRITE_FORCE_INLINE_LAMBDA {
    column_dots<T, D, 1, NB>(a + j * n, {x}, {y + j});
  });
}

/// out_i = tanh(y_i) for the D values (in SIMD registers for a scalar `T` too; y and out
/// distinct). Where a register of at most D values fits, the `dot_reg` windows (the last one
/// overlapping: its shared values written twice, the same); only below that (3 floats) one
/// padded register. The padded form wrote the values one by one into a buffer that a vector
/// load then read, which waits on store forwarding: at 14 channels on AVX-512 it was a padded
/// 16-float register.
template <Real T, int D>
DENDRITE_FORCE_INLINE void tanh_n(const T* __restrict y, T* __restrict out) noexcept {
  constexpr std::size_t n = static_cast<std::size_t>(D);
  if constexpr (!std::is_void_v<dot_reg<T, D>>) {
    using V = dot_reg<T, D>;
    for_each_window<n, V::size>([&](std::size_t i) DENDRITE_FORCE_INLINE_LAMBDA {
      dendrite::tanh(V::load_unaligned(y + i)).store_unaligned(out + i);
    });
  } else if constexpr (is_batch_v<T>) {
    for (std::size_t i = 0; i < n; ++i) {
      out[i] = dendrite::tanh(y[i]);
    }
  } else {  // fewer values than any register: one padded register
    using V = xsimd::batch<scalar_t<T>>;
    alignas(64) std::array<T, V::size> buf{};
    for (std::size_t i = 0; i < n; ++i) {
      buf[i] = y[i];
    }
    dendrite::tanh(V::load_aligned(buf.data())).store_aligned(buf.data());
    for (std::size_t i = 0; i < n; ++i) {
      out[i] = buf[i];
    }
  }
}

}  // namespace dendrite::ica::detail

#include <dendrite/core/detail/intrinsics_warnings_end.hpp>
