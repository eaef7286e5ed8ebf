// SPDX-License-Identifier: MIT
/// @file
/// Offline filtering of a recording, each row of a channels x samples matrix (analysis
/// functions): `sosfilt`, causal, SciPy's `sosfilt` from rest or primed (the offline form of
/// `SOSFilter`'s steps), and `sosfiltfilt`, zero-phase: SciPy's `sosfiltfilt(sos, x)` with its
/// defaults (padtype 'odd'). For a row x of N samples and n samples of padding:
///   1. odd extension at both ends, x[-k] = 2 x[0] - x[k] and x[N-1+k] = 2 x[N-1] - x[N-1-k],
///      k = 1..n, so that the ends continue the signal's slope instead of jumping to 0;
///   2. the sections forward over the extended row, started in the steady state of a constant
///      input equal to its first sample (`SOSFilter::prime`; SciPy: `sosfilt_zi(sos) * ext[0]`);
///   3. the sections backward over that output, started in the steady state of its last sample;
///   4. the n samples of each extension dropped.
/// The result has no phase shift and the squared magnitude |H|^2 of the sections. By default
/// n = 3 (2 S + 1 - min(#{b2 = 0}, #{a2 = 0})) for S sections, SciPy's `padlen`. Equal to SciPy
/// 1.10's `sosfiltfilt` within 1e-12 relative with SciPy's sections, on thirty designs and a
/// 4 001-sample signal, with the default padding and with none (tests/dsp/scipy_reference.py).
/// SciPy's other extensions ('even', 'constant', none) are `PadType`'s, equal to SciPy's within
/// 1e-12 too; its 'pad' method is the only one (not Gustafsson's).
/// `sosfiltfilt`'s rows run in groups of one SIMD register of doubles (8 with AVX-512, 4 with
/// AVX2, 2 with SSE2), copied sample-major into a work buffer, up to 4 sections together over
/// each pass so that each one's recursion (two FMAs per sample) overlaps the others'.
/// `sosfilt` runs so too up to one register's rows; beyond, all rows at once, sample by sample,
/// the states in L1 (`SOSFilter::step`'s order), which spares the copies. Both use
/// `SOSFilter::step`'s recursion with z1's sum taken in another order, so they agree with it to
/// rounding, not bit for bit; each row's result depends on that row only (tested bit for bit
/// against one-row calls at 1-17 rows). 64 x 30 000 samples through 4 sections, on the AVX-512
/// Zen 5 VM (bench/README.md): `sosfiltfilt` 4.3-5.5 ms (8 with AVX2, 17-20 with SSE2 only),
/// SciPy 1.10's 30-31 ms; `sosfilt` 1.6-1.7 ms, SciPy's 14.5-15 ms, and `SOSFilter<double,
/// 64>` stepped over the columns by hand 1.4-1.55 ms. The real-time
/// counterpart is `SOSFilter` (causal: a zero-phase filter needs the future).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include <Eigen/Core>

#include <dendrite/core/analysis.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/dsp/sos_filter.hpp>

namespace dendrite::dsp {

namespace detail {

using SosBatch = xsimd::batch<double>;
/// Sections run together over a pass: 4 independent recursions hide each one's latency (two
/// FMAs per sample) behind the others' arithmetic.
inline constexpr std::size_t kSosGroup = 4;

/// One section's step on a batch of samples v: returns y = b0 v + z1 and updates z1 <- b1 v -
/// a1 y + z2, z2 <- b2 v - a2 y (`na1` = -a1, `na2` = -a2), z1's sum ordered so that its chain
/// through y is two FMAs, not three. Both kernels below use it, so that a row's result does not
/// depend on which one ran it.
[[nodiscard]] DENDRITE_FORCE_INLINE SosBatch sos_section(SosBatch v, const SosBatch& b0,
                                                         const SosBatch& b1, const SosBatch& b2,
                                                         const SosBatch& na1,
                                                         const SosBatch& na2, SosBatch& z1,
                                                         SosBatch& z2) noexcept {
  const SosBatch y = xsimd::fma(b0, v, z1);
  z1 = xsimd::fma(na1, y, xsimd::fma(b1, v, z2));
  z2 = xsimd::fma(na2, y, b2 * v);
  return y;
}

/// One section's state in the steady state of a constant input v (`SOSFilter::prime`), given
/// its coefficients b0 b1 b2 a1 a2 at `c` and its DC gain (`section_gain`; an integrator, a pole
/// at z = 1, is primed at rest); returns the section's output, the next one's input.
[[nodiscard]] inline SosBatch sos_prime_section(SosBatch v, const double* c, double gain,
                                                SosBatch& z1, SosBatch& z2) noexcept {
  const bool integrator = gain == kNoSteadyState;
  const SosBatch in = integrator ? SosBatch(0.0) : v;
  const SosBatch y = SosBatch(integrator ? 0.0 : gain) * in;
  z1 = y - SosBatch(c[0]) * in;
  z2 = SosBatch(c[2]) * in - SosBatch(c[4]) * y;
  return y;
}

/// K consecutive sections (coefficients b0 b1 b2 a1 a2 each from `c`, states z1 z2 each in `z`,
/// updated) in place over `len` lane groups of samples from `p`, `step` groups at a time (+1
/// forward, -1 backward), the states in registers. Each state below the smallest normal
/// double is flushed to 0 every 256 samples (a long run of exact zeros after a signal would
/// otherwise decay into denormals, 100 times slower per operation).
template <std::size_t K>
void sos_run(const double* c, SosBatch* z, double* p, std::ptrdiff_t step,
             std::size_t len) noexcept {
  using B = SosBatch;
  std::array<B, K> b0, b1, b2, na1, na2, z1, z2;
  for (std::size_t k = 0; k < K; ++k) {
    b0[k] = B(c[k * 5]);
    b1[k] = B(c[k * 5 + 1]);
    b2[k] = B(c[k * 5 + 2]);
    na1[k] = B(-c[k * 5 + 3]);
    na2[k] = B(-c[k * 5 + 4]);
    z1[k] = z[2 * k];
    z2[k] = z[2 * k + 1];
  }
  const std::ptrdiff_t stride = step * std::ptrdiff_t(B::size);
  const B tiny(std::numeric_limits<double>::min());
  for (std::size_t t = 0; t < len; ++t) {
    double* q = p + std::ptrdiff_t(t) * stride;  // (never one step past either end)
    B v = B::load_aligned(q);
    for (std::size_t k = 0; k < K; ++k) {
      v = sos_section(v, b0[k], b1[k], b2[k], na1[k], na2[k], z1[k], z2[k]);
    }
    v.store_aligned(q);
    if ((t & 255U) == 255U) {
      for (std::size_t k = 0; k < K; ++k) {
        z1[k] = xsimd::select(xsimd::abs(z1[k]) < tiny, B(0.0), z1[k]);
        z2[k] = xsimd::select(xsimd::abs(z2[k]) < tiny, B(0.0), z2[k]);
      }
    }
  }
  for (std::size_t k = 0; k < K; ++k) {
    z[2 * k] = z1[k];
    z[2 * k + 1] = z2[k];
  }
}

/// The `count` values from `src` in a batch's first lanes, the rest 0 (all of them from src if
/// count >= the batch's size).
[[nodiscard]] inline SosBatch load_first(const double* src, std::size_t count) noexcept {
  if (count >= SosBatch::size) return SosBatch::load_unaligned(src);
  alignas(64) std::array<double, SosBatch::size> part{};
  std::copy_n(src, count, part.begin());
  return SosBatch::load_aligned(part.data());
}

/// Stores v's first `count` lanes at `dst` (all of them if count >= the batch's size).
inline void store_first(const SosBatch& v, double* dst, std::size_t count) noexcept {
  if (count >= SosBatch::size) {
    v.store_unaligned(dst);
    return;
  }
  alignas(64) std::array<double, SosBatch::size> part;
  v.store_aligned(part.data());
  std::copy_n(part.begin(), count, dst);
}

/// The rows of a channels x samples matrix through second-order sections, one group of
/// `SosBatch::size` rows at a time, in a sample-major work buffer of `length` samples (sample t
/// of the group's row g at t size + g). A template only so that a file that includes the header
/// and never filters offline compiles none of it.
template <class B = SosBatch>
class SosRows {
 public:
  static constexpr std::size_t L = B::size;

  /// Checks `sos` as `SOSFilter` does (throws the same errors) and divides each row by its a0.
  explicit SosRows(const Eigen::Ref<const Eigen::MatrixXd>& sos)
      : coef_(normalised_sections(sos)), sections_(coef_.size() / 5) {
    for (std::size_t s = 0; s < sections_; ++s) gain_.push_back(section_gain(&coef_[s * 5]));
    z_.resize(sections_ * 2);
  }

  /// Sets the work buffer's length in samples (at least 1).
  void set_length(std::size_t length) {
    len_ = length;
    buf_.resize(len_ * L);
  }

  [[nodiscard]] std::size_t sections() const noexcept { return sections_; }
  /// Section s's b0 b1 b2 a1 a2, divided by a0.
  [[nodiscard]] const double* coefficients(std::size_t s) const noexcept { return &coef_[s * 5]; }
  /// Section s's DC gain (`section_gain`).
  [[nodiscard]] double gain(std::size_t s) const noexcept { return gain_[s]; }

  /// The first lane of sample t of the buffer.
  [[nodiscard]] double* at(Eigen::Index t) noexcept { return &buf_[std::size_t(t) * L]; }
  [[nodiscard]] B load(Eigen::Index t) noexcept { return B::load_aligned(at(t)); }

  /// Copies rows [r0, r0 + rows) of x (rows <= L, the rest of the lanes 0) into the buffer from
  /// sample `offset` on; `false` if a sample is NaN or Inf.
  [[nodiscard]] bool read(const Eigen::Ref<const Eigen::MatrixXd>& x, Eigen::Index r0,
                          std::size_t rows, Eigen::Index offset) noexcept {
    auto finite = B(0.0) == B(0.0);
    for (Eigen::Index t = 0; t < x.cols(); ++t) {
      const B v = load_first(x.data() + r0 + t * x.outerStride(), rows);
      finite = finite && isfinite(v);
      v.store_aligned(at(offset + t));
    }
    return xsimd::all(finite);
  }

  /// Copies the buffer's samples [offset, offset + out.cols()) into rows [r0, r0 + rows) of out.
  void write(Eigen::MatrixXd& out, Eigen::Index r0, std::size_t rows,
             Eigen::Index offset) noexcept {
    for (Eigen::Index t = 0; t < out.cols(); ++t) {
      store_first(load(offset + t), out.data() + r0 + t * out.rows(), rows);
    }
  }

  /// The sections in place over the whole buffer, forward or backward, from rest or from the
  /// steady state of a constant input equal to the pass's first sample (`SOSFilter::prime`).
  void pass(bool forward, bool primed) noexcept {
    double* first = forward ? buf_.data() : buf_.data() + (len_ - 1) * L;
    const std::ptrdiff_t step = forward ? 1 : -1;
    B v = primed ? B::load_aligned(first) : B(0.0);
    for (std::size_t s = 0; s < sections_; ++s) {
      v = sos_prime_section(v, &coef_[s * 5], gain_[s], z_[2 * s], z_[2 * s + 1]);
    }
    for (std::size_t s = 0; s < sections_; s += kSosGroup) {
      const double* c = &coef_[s * 5];
      B* z = &z_[2 * s];
      switch (std::min(kSosGroup, sections_ - s)) {
        case 4: sos_run<4>(c, z, first, step, len_); break;
        case 3: sos_run<3>(c, z, first, step, len_); break;
        case 2: sos_run<2>(c, z, first, step, len_); break;
        default: sos_run<1>(c, z, first, step, len_);
      }
    }
  }

 private:
  std::vector<double> coef_;  // per section b0 b1 b2 a1 a2 (divided by a0)
  std::size_t sections_, len_ = 0;
  std::vector<double> gain_;
  aligned_vector<double> buf_;
  std::vector<B> z_;  // per section: z1, z2
};

/// Every row at once, one sample (a column of the rows, padded to whole batches) at a time, the
/// states in memory: `sosfilt` for more rows than one batch holds, where `SosRows`' copies into
/// its buffer (64 bytes of each column per group) cost more than the filter (64 x 30 000: 1.6-1.7
/// ms here, 4.0-4.3 ms in groups). Not `sosfiltfilt`: its forward output must be kept whole,
/// and column by column that took 8.1-8.5 ms, against 4.5-4.7 ms in groups. A template for the
/// reason `SosRows` is one.
template <class B = SosBatch>
class SosColumns {
 public:
  static constexpr std::size_t L = B::size;

  /// The sections of `design` for `rows` rows; columns hold `padded()` values, the rows' then 0.
  SosColumns(const SosRows<B>& design, std::size_t rows)
      : design_(design), sections_(design.sections()), rows_(rows), chunks_((rows + L - 1) / L) {
    for (std::size_t s = 0; s < sections_; ++s) {
      const double* c = design.coefficients(s);
      coef_.insert(coef_.end(), {B(c[0]), B(c[1]), B(c[2]), B(-c[3]), B(-c[4])});
    }
    z_.resize(chunks_ * sections_ * 2);
  }
  [[nodiscard]] std::size_t padded() const noexcept { return chunks_ * L; }

  /// The state of a constant input equal to column `col` (aligned, `padded()` values).
  void prime(const double* col) noexcept {
    for (std::size_t k = 0; k < chunks_; ++k) {
      B v = B::load_aligned(col + k * L);
      for (std::size_t s = 0; s < sections_; ++s) {
        B* z1 = &z_[s * 2 * chunks_];
        v = sos_prime_section(v, design_.coefficients(s), design_.gain(s), z1[k], z1[chunks_ + k]);
      }
    }
  }

  /// One sample of every row, in place in column `col` (aligned, `padded()` values). The states
  /// below the smallest normal double are flushed to 0 every 256 calls.
  void step(double* col) noexcept {
    for (std::size_t s = 0; s < sections_; ++s) {
      const B b0 = coef_[s * 5], b1 = coef_[s * 5 + 1], b2 = coef_[s * 5 + 2];
      const B na1 = coef_[s * 5 + 3], na2 = coef_[s * 5 + 4];
      B* z1 = &z_[s * 2 * chunks_];
      B* z2 = z1 + chunks_;
      for (std::size_t k = 0; k < chunks_; ++k) {
        const B v = B::load_aligned(col + k * L);
        sos_section(v, b0, b1, b2, na1, na2, z1[k], z2[k]).store_aligned(col + k * L);
      }
    }
    if ((++steps_ & 255U) == 0) {
      const B tiny(std::numeric_limits<double>::min());
      for (B& z : z_) z = xsimd::select(xsimd::abs(z) < tiny, B(0.0), z);
    }
  }

  /// Copies the rows' values from `src` into column `col` (`padded()` values, the rest 0);
  /// false if one of them is NaN or Inf.
  [[nodiscard]] bool read(const double* src, double* col) const noexcept {
    auto finite = B(0.0) == B(0.0);
    for (std::size_t i = 0; i < padded(); i += L) {
      const B v = load_first(src + i, rows_ - i);  // (i < rows_: padded() - L < rows_)
      finite = finite && isfinite(v);
      v.store_aligned(col + i);
    }
    return xsimd::all(finite);
  }

  /// Copies the rows' values of column `col` to `dst`.
  void write(const double* col, double* dst) const noexcept {
    for (std::size_t i = 0; i < rows_; i += L) {
      store_first(B::load_aligned(col + i), dst + i, rows_ - i);
    }
  }

 private:
  const SosRows<B>& design_;
  std::size_t sections_, rows_, chunks_;
  std::vector<B> coef_;  // per section b0 b1 b2 -a1 -a2, broadcast
  std::vector<B> z_;     // per section: z1 of every batch of rows, then z2
  std::uint32_t steps_ = 0;
};

}  // namespace detail

/// Where `sosfilt` starts each row: at rest (zero state, SciPy's `sosfilt(sos, x)`), or in the
/// steady state of a constant input equal to the row's first sample (`SOSFilter::prime`; SciPy:
/// `sosfilt(sos, x, zi=sosfilt_zi(sos) * x[0])`), with no start-up transient from an offset.
enum class FilterStart { Rest, FirstSample };

/// Causal filtering of each row of `x` (channels x samples) through the second-order sections
/// `sos` (S x 6, as `SOSFilter` takes them): the offline form of `SOSFilter`'s steps over a
/// recording (SciPy's `sosfilt` along the rows; the file comment says how it runs). Equal to
/// SciPy 1.10 within 1e-12 relative on thirty designs, from rest and primed. Throws what
/// `SOSFilter`'s constructor throws for bad sections, `numerical_error` for a NaN or Inf sample.
template <AnalysisScalar S = double>
[[nodiscard]] MatrixX<S> sosfilt(const Eigen::Ref<const Eigen::MatrixXd>& sos,
                                 const AnalysisRef<S>& x, FilterStart start = FilterStart::Rest) {
  detail::SosRows<> rows_of(sos);
  MatrixX<S> out(x.rows(), x.cols());  // S is double
  if (x.cols() == 0) return out;
  constexpr std::size_t L = detail::SosRows<>::L;
  if (x.rows() > Eigen::Index(L)) {
    detail::SosColumns<> f(rows_of, std::size_t(x.rows()));
    aligned_vector<double> col(f.padded());
    bool finite = true;
    for (Eigen::Index t = 0; t < x.cols(); ++t) {
      finite &= f.read(x.data() + t * x.outerStride(), col.data());
      if (t == 0 && start == FilterStart::FirstSample) f.prime(col.data());
      f.step(col.data());
      f.write(col.data(), out.data() + t * out.rows());
    }
    if (!finite) DENDRITE_THROW(numerical_error, "sosfilt: the signal contains NaN or Inf");
    return out;
  }
  rows_of.set_length(std::size_t(x.cols()));
  for (Eigen::Index r0 = 0; r0 < x.rows(); r0 += Eigen::Index(L)) {
    const std::size_t rows = std::min(L, std::size_t(x.rows() - r0));
    if (!rows_of.read(x, r0, rows, 0)) {
      DENDRITE_THROW(numerical_error, "sosfilt: the signal contains NaN or Inf");
    }
    rows_of.pass(true, start == FilterStart::FirstSample);
    rows_of.write(out, r0, rows, 0);
  }
  return out;
}

/// How `sosfiltfilt` extends a row of N samples by n samples past each end (SciPy's `padtype`):
/// Odd x[-k] = 2 x[0] - x[k] (the default), Even x[-k] = x[k], Constant x[-k] = x[0], and the
/// mirror images at the far end, x[N-1+k] from x[N-1-k] and x[N-1]; None, no extension (n = 0,
/// whatever `padlen` says).
enum class PadType { Odd, Even, Constant, None };

/// Zero-phase filtering of each row of `x` (channels x samples) through the second-order
/// sections `sos` (S x 6, as `SOSFilter` takes them), with `padlen` samples of extension of kind
/// `padtype` at each end (-1: SciPy's default, see the file comment). Throws `dimension_error`
/// for sections that are not S x 6 or a row not longer than the padding, `numerical_error` for a
/// non-finite sample or coefficient.
template <AnalysisScalar S = double>
[[nodiscard]] MatrixX<S> sosfiltfilt(const Eigen::Ref<const Eigen::MatrixXd>& sos,
                                     const AnalysisRef<S>& x, Eigen::Index padlen = -1,
                                     PadType padtype = PadType::Odd) {
  detail::SosRows<> rows_of(sos);  // checks the sections first
  Eigen::Index pad = padtype == PadType::None ? 0 : padlen;
  if (pad < 0) {
    const Eigen::Index b2_zero = (sos.col(2).array() == 0).count();
    const Eigen::Index a2_zero = (sos.col(5).array() == 0).count();
    pad = 3 * (2 * sos.rows() + 1 - std::min(b2_zero, a2_zero));
  }
  const Eigen::Index n = x.cols();
  if (n <= pad) {
    DENDRITE_THROW(dimension_error, "sosfiltfilt: each row must be longer than the padding (", pad,
                   " samples), got ", n, " samples");
  }
  using B = detail::SosBatch;
  constexpr std::size_t L = detail::SosRows<>::L;
  MatrixX<S> out(x.rows(), n);  // S is double
  rows_of.set_length(std::size_t(n + 2 * pad));
  for (Eigen::Index r0 = 0; r0 < x.rows(); r0 += Eigen::Index(L)) {
    const std::size_t rows = std::min(L, std::size_t(x.rows() - r0));
    if (!rows_of.read(x, r0, rows, pad)) {
      DENDRITE_THROW(numerical_error, "sosfiltfilt: the signal contains NaN or Inf");
    }
    const B first = rows_of.load(pad), last = rows_of.load(pad + n - 1);
    // the extensions: x[-j] at k = pad - j (from x[j]) and x[n-1+j] at pad + n - 1 + j (from
    // x[n-1-j]), j = 1..pad
    for (Eigen::Index k = 0; k < pad; ++k) {
      B head = first, tail = last;
      if (padtype != PadType::Constant) {
        head = rows_of.load(2 * pad - k);
        tail = rows_of.load(pad + n - 2 - k);
      }
      if (padtype == PadType::Odd) {
        head = B(2.0) * first - head;
        tail = B(2.0) * last - tail;
      }
      head.store_aligned(rows_of.at(k));
      tail.store_aligned(rows_of.at(pad + n + k));
    }
    // forward, then backward, each from the steady state of its first sample
    rows_of.pass(true, true);
    rows_of.pass(false, true);
    rows_of.write(out, r0, rows, pad);
  }
  return out;
}

}  // namespace dendrite::dsp
