// SPDX-License-Identifier: MIT
/// @file
/// Lane-generic helpers that read the same for scalars and batches: `broadcast`, `select`,
/// `load`/`store`, `lane`, and the horizontal reductions `reduce_add`/`reduce_max`.
/// This header is the one place that knows xsimd 8's spelling (`hadd`) of these operations.
#pragma once

#include <dendrite/core/detail/intrinsics_warnings_begin.hpp>  // GCC PR 105593

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <new>
#include <span>
#include <vector>

#include <xsimd/xsimd.hpp>

#include <dendrite/config.hpp>
#include <dendrite/core/traits.hpp>

namespace dendrite {

/// An allocator of `Align`-byte aligned storage through the standard aligned operator new. Not
/// xsimd 8's `aligned_allocator`: its `allocate` has a throw expression, which g++ refuses to
/// compile under -fno-exceptions wherever a vector of it grows (here, operator new reports a
/// failure as the rest of the program's allocations do: std::bad_alloc, or abort without
/// exceptions).
template <class T, std::size_t Align>
struct AlignedAllocator {
  static_assert(Align >= alignof(T) && (Align & (Align - 1)) == 0,
                "AlignedAllocator: Align must be a power of two no smaller than alignof(T)");
  using value_type = T;
  template <class U>
  struct rebind {
    using other = AlignedAllocator<U, Align>;
  };
  AlignedAllocator() noexcept = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U, Align>&) noexcept {}  // NOLINT: as std::allocator
  [[nodiscard]] T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(Align)));
  }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t(Align)); }
  template <class U>
  bool operator==(const AlignedAllocator<U, Align>&) const noexcept {
    return true;
  }
};

/// A std::vector on whole cache lines (64 bytes): the state of the streaming blocks, so that
/// no SIMD load of a column crosses a line (a std::vector of float is only 16-byte aligned,
/// and a 32-byte load from it crosses a line every other time).
template <class T>
using aligned_vector = std::vector<T, AlignedAllocator<T, 64>>;

/// `T` with every lane equal to `v`. `broadcast<float>(0.5)` is `0.5f`.
template <Real T>
[[nodiscard]] DENDRITE_FORCE_INLINE T broadcast(double v) noexcept {
  return T(static_cast<scalar_t<T>>(v));
}

/// Lane-wise `m ? a : b`.
template <Real T>
[[nodiscard]] DENDRITE_FORCE_INLINE T select(const mask_t<T>& m, const T& a, const T& b) noexcept {
  if constexpr (is_batch_v<T>) {
    return xsimd::select(m, a, b);
  } else {
    return m ? a : b;
  }
}

/// Loads `lanes_v<T>` consecutive values from `p` (no alignment needed).
template <Real T>
[[nodiscard]] DENDRITE_FORCE_INLINE T load(const scalar_t<T>* p) noexcept {
  if constexpr (is_batch_v<T>) {
    return T::load_unaligned(p);
  } else {
    return *p;
  }
}

/// Stores the `lanes_v<T>` values of `x` at `p` (no alignment needed).
template <Real T>
DENDRITE_FORCE_INLINE void store(scalar_t<T>* p, const T& x) noexcept {
  if constexpr (is_batch_v<T>) {
    x.store_unaligned(p);
  } else {
    *p = x;
  }
}

/// Lane `i` of `x` (`x` itself for a scalar). For tests and diagnostics, not for kernels.
template <Real T>
[[nodiscard]] inline scalar_t<T> lane(const T& x, std::size_t i) noexcept {
  if constexpr (is_batch_v<T>) {
    return x.get(i);
  } else {
    (void)i;
    return x;
  }
}

/// Sets lane `i` of `x` to `v`. For tests and setup code, not for kernels.
template <Real T>
inline void set_lane(T& x, std::size_t i, scalar_t<T> v) noexcept {
  if constexpr (is_batch_v<T>) {
    alignas(64) std::array<scalar_t<T>, lanes_v<T>> buf{};
    x.store_unaligned(buf.data());
    buf[i] = v;
    x = T::load_unaligned(buf.data());
  } else {
    (void)i;
    x = v;
  }
}

/// Sum of the lanes of `x` (`x` itself for a scalar).
template <Real T>
[[nodiscard]] DENDRITE_FORCE_INLINE scalar_t<T> reduce_add(const T& x) noexcept {
  if constexpr (is_batch_v<T>) {
    return xsimd::hadd(x);  // named reduce_add from xsimd 9 on
  } else {
    return x;
  }
}

/// Largest lane of `x` (`x` itself for a scalar). NaN lanes are ignored unless all are NaN.
/// Without a branch per lane: NaN lanes become -inf and the lanes' maximum is a chain of max
/// instructions (a compare and branch per lane, as the NaN test compiled before, was
/// mispredicted wherever the largest lane fell: 20 % of an 8-unit int8 GRU step).
template <Real T>
[[nodiscard]] DENDRITE_FORCE_INLINE scalar_t<T> reduce_max(const T& x) noexcept {
  if constexpr (is_batch_v<T>) {
    using S = scalar_t<T>;
    const auto nan = xsimd::isnan(x);
    if (xsimd::all(nan)) return std::numeric_limits<S>::quiet_NaN();
    alignas(64) std::array<S, lanes_v<T>> buf;
    xsimd::select(nan, T(-std::numeric_limits<S>::infinity()), x).store_aligned(buf.data());
    S best = buf[0];
    for (std::size_t i = 1; i < buf.size(); ++i) best = std::max(best, buf[i]);
    return best;
  } else {
    return x;
  }
}

/// True where the lane is neither NaN nor infinite.
template <Real T>
[[nodiscard]] DENDRITE_FORCE_INLINE mask_t<T> isfinite(const T& x) noexcept {
  if constexpr (is_batch_v<T>) {
    return xsimd::isfinite(x);
  } else {
    return std::isfinite(x);
  }
}

/// True where the lane is NaN. Use this, never `x != x`: xsimd 8.1 compiles `!=` on AVX and
/// AVX-512 batches to an ordered comparison, which is false for NaN.
template <Real T>
[[nodiscard]] DENDRITE_FORCE_INLINE mask_t<T> isnan(const T& x) noexcept {
  if constexpr (is_batch_v<T>) {
    return xsimd::isnan(x);
  } else {
    return std::isnan(x);
  }
}

namespace detail {
/// Lanes of the widest SIMD batch of a scalar `T`; 0 for a batch `T` (which is already one, and
/// whose batch type must not be named: xsimd::batch<batch<...>> does not compile).
template <Real T>
constexpr std::size_t scalar_simd_lanes() noexcept {
  if constexpr (is_batch_v<T>) {
    return 0;
  } else {
    return xsimd::batch<T>::size;
  }
}

/// f(i) at the start i of every L-value chunk of N >= L values, the last chunk [N - L, N)
/// overlapping the one before when L does not divide N (so f must not mind seeing a value twice).
template <std::size_t L, std::size_t N, class F>
DENDRITE_FORCE_INLINE void for_each_chunk(F f) noexcept {
  static_assert(N >= L, "for_each_chunk: fewer values than one chunk");
  for (std::size_t i = 0; i + L <= N; i += L) f(i);
  if constexpr (N % L != 0) f(N - L);
}
}  // namespace detail

/// Per lane: true where every one of the N values is finite (one sample of N channels).
/// (For a scalar `T`, x - x == 0 over SIMD chunks, x - x being 0 only for a finite x, the last
/// chunk overlapping the one before; g++ compiled the plain loop to a compare, a flag read and a
/// conditional move per value, a third of a 16 x 16 Dense step.) Forced inline: g++ 12 called
/// it out of line from the recurrent steps, and a call spills every live vector register.
template <Real T, std::size_t N>
[[nodiscard]] DENDRITE_FORCE_INLINE mask_t<T> all_finite(std::span<const T, N> x) noexcept {
  if constexpr (is_batch_v<T>) {
    mask_t<T> ok = dendrite::isfinite(x[0]);
    for (std::size_t i = 1; i < N; ++i) {
      ok = ok && dendrite::isfinite(x[i]);
    }
    return ok;
  } else if constexpr (N >= detail::scalar_simd_lanes<T>()) {
    using B = xsimd::batch<T>;
    constexpr std::size_t L = B::size;
    const auto finite = [](const T* p) DENDRITE_FORCE_INLINE_LAMBDA {
      const B v = B::load_unaligned(p);
      return (v - v) == B(T(0));
    };
    // started from the first chunk, not from batch_bool(true): g++ 12 calls xsimd's
    // batch_bool(bool) constructor out of line, and the call makes the mask a stack round trip
    auto ok = finite(x.data());
    detail::for_each_chunk<L, N>([&](std::size_t i) DENDRITE_FORCE_INLINE_LAMBDA {
      if (i > 0) ok = ok && finite(x.data() + i);
    });
    return xsimd::all(ok);
  } else {
    unsigned bad = 0;
    for (std::size_t i = 0; i < N; ++i) bad |= static_cast<unsigned>(!(x[i] - x[i] == T(0)));
    return bad == 0;
  }
}

/// Every lane of the N values as a double, value c's lane l at v[c lanes + l]: the input of a
/// recursion kept in double whatever `T` is (the dsp filters).
template <Real T, std::size_t N>
DENDRITE_FORCE_INLINE void widen_lanes(std::span<const T, N> x,
                                       std::array<double, N * lanes_v<T>>& v) noexcept {
  constexpr std::size_t L = lanes_v<T>;
  alignas(64) std::array<scalar_t<T>, N * L> s;
  for (std::size_t c = 0; c < N; ++c) dendrite::store<T>(&s[c * L], x[c]);
  for (std::size_t i = 0; i < N * L; ++i) v[i] = double(s[i]);
}

/// x, or 0 where |x| is below the smallest normal number (a denormal). Arithmetic on denormals
/// takes tens to hundreds of cycles on many cores; the real-time steps flush their inputs
/// with this instead of changing the FP environment (see rt/denormals.hpp). NaN and Inf pass.
template <Real T>
[[nodiscard]] DENDRITE_FORCE_INLINE T flush_denormal(const T& x) noexcept {
  constexpr scalar_t<T> tiny = std::numeric_limits<scalar_t<T>>::min();
  if constexpr (is_batch_v<T>) {
    return xsimd::select(xsimd::abs(x) < T(tiny), T(0), x);
  } else {
    return std::abs(x) < tiny ? T(0) : x;
  }
}

/// A copy of one sample with its denormal values flushed to zero (see flush_denormal); for a
/// scalar `T`, in SIMD chunks (the last overlapping the one before) where g++ compiled the plain
/// loop to a compare and a branch per value.
template <Real T, std::size_t N>
[[nodiscard]] DENDRITE_FORCE_INLINE std::array<T, N> flush_denormals(
    std::span<const T, N> x) noexcept {
  std::array<T, N> out;
  if constexpr (!is_batch_v<T> && N >= detail::scalar_simd_lanes<T>()) {
    using B = xsimd::batch<T>;
    constexpr std::size_t L = B::size;
    detail::for_each_chunk<L, N>([&](std::size_t i) DENDRITE_FORCE_INLINE_LAMBDA {
      flush_denormal(B::load_unaligned(x.data() + i)).store_unaligned(out.data() + i);
    });
  } else {
    for (std::size_t i = 0; i < N; ++i) out[i] = flush_denormal(x[i]);
  }
  return out;
}

/// True when every lane of the mask is set.
template <class M>
[[nodiscard]] DENDRITE_FORCE_INLINE bool all_of(const M& m) noexcept {
  if constexpr (std::is_same_v<M, bool>) {
    return m;
  } else {
    return xsimd::all(m);
  }
}

/// True when any lane of the mask is set.
template <class M>
[[nodiscard]] DENDRITE_FORCE_INLINE bool any_of(const M& m) noexcept {
  if constexpr (std::is_same_v<M, bool>) {
    return m;
  } else {
    return xsimd::any(m);
  }
}

}  // namespace dendrite

#include <dendrite/core/detail/intrinsics_warnings_end.hpp>
