// SPDX-License-Identifier: MIT
/// @file
/// Streaming PCA for real time: the generalised Hebbian algorithm (Sanger 1989) that learns the
/// top-K principal subspace one sample at a time, and an exact streaming covariance (Welford)
/// whose eigendecomposition is taken on demand.
///
/// StreamingPCA, per sample x (D values):
///   mu  <- mu + (x - mu) / min(t + 1, mean_window)        running mean, then exponential
///   xc   = x - mu
///   p   <- p + (|xc|^2 - p) / min(t + 1, mean_window)     running power (trace of the covariance)
///   y    = W xc                                           (W is K x D, rows = components)
///   W_i <- W_i + e_t y_i (xc - sum_{j <= i} y_j W_j)      Sanger's rule, i = 1..K
///   e_t  = eta_t / max(p, |xc|^2 / clip),  eta_t = eta0 / (1 + t / t0)
/// The rows of W converge to the leading eigenvectors of the covariance, in order, with unit norm
/// (for K = 1 this is Oja's rule). Dividing the rate by the running power p makes the rule
/// independent of the signal's scale: component i learns at eta_t (lambda_i - lambda_{i+1}) / p
/// per sample, and eta_t lambda_1 / p <= eta_t < 1 keeps it stable whatever the units (Oja's
/// rule needs eta lambda_1 well below 1). A sample far above the running power (|xc|^2 > clip p:
/// an artifact, a spike) steps at clip p / |xc|^2 of the rate, so that one sample moves W by at
/// most about eta_t clip. Until 2026-12-04 the rate was not normalised: with the default eta0 of
/// 0.01, 16 EEG-like channels of unit-variance sources (lambda_1 = 51) gave non-finite outputs from
/// the first seconds on, with `Status::Ok`. A sample whose |x - mu|^2 overflows is rejected
/// (`Status::RejectedOutlier`) with the state untouched. p underflows for float samples below
/// about 1e-19 in size: scale such data up.
///
/// StreamingCovariance, per sample: n <- n + 1, d = x - mu, mu <- mu + d / n, M <- M + d (x -
/// mu)^T; covariance = M / (n - 1), the batch covariance of the samples seen so far. n, mu and M
/// are double for every `T` (a batch `T`'s lanes are kept side by side): a float M of n samples
/// rounds each new term to about n 6e-8 of the variance, and a float n stops at 2^24 (9.3 min at
/// 30 kHz). Until 2026-12-04 they were `T`: on unit-variance float samples the variance read
/// 0.984 after 1e7 samples, 1.14 after 2e7 and 2.15 after 4e7 (double: 0.999 throughout).
///
/// Both accept `T` = float, double or an xsimd batch (lanes = independent streams sharing nothing
/// but the sample counter). `step` is noexcept and allocation-free: storage is allocated once in
/// the constructor.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <vector>

#include <Eigen/Core>
#include <Eigen/Eigenvalues>

#include <dendrite/config.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/math.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/ica/detail/lanes_linalg.hpp>  // dot, for_each_chunk: passes in registers
#include <dendrite/rt/contract.hpp>

namespace dendrite::geometry {

/// Settings of StreamingPCA.
struct StreamingPCAOptions {
  double eta0 = 0.02;        ///< initial learning rate, relative to the running power (< 1)
  double t0 = 1e4;           ///< eta halves after t0 samples
  double mean_window = 1e4;  ///< exact running mean and power up to this many samples, then
                             ///< exponential
  double clip = 4.0;         ///< a sample above clip x the running power steps at a lower rate
  std::uint64_t seed = 1;    ///< initial W: random rows of norm 0.1 from this seed
};

/// Top-K principal subspace of a D-dimensional stream by Sanger's rule (see the file comment).
/// @tparam T  float, double or xsimd batch (independent streams in lanes).
/// @tparam D  input dimension; @tparam K number of components, 1 <= K <= D.
/// @code
/// dendrite::geometry::StreamingPCA<float, 16, 3> spca;
/// for (auto& x : samples) (void)spca.step(x);      // std::array<float, 16>
/// auto w = spca.components();                      // 16 x 3
/// @endcode
template <Real T, int D, int K>
class StreamingPCA {
  static_assert(D >= 1 && K >= 1 && K <= D, "StreamingPCA<T, D, K>: need 1 <= K <= D");

  // The sizes as std::size_t, for spans and loops; input_size and output_size are the
  // public names.
  static constexpr std::size_t kD = static_cast<std::size_t>(D);
  static constexpr std::size_t kK = static_cast<std::size_t>(K);

 public:
  using value_type = T;
  using Scalar = scalar_t<T>;
  static constexpr int input_size = D;
  static constexpr int output_size = K;  ///< the step's output: the K scores W (x - mean)

  /// Allocates the state. Throws `numerical_error` for non-positive rates or windows.
  explicit StreamingPCA(const StreamingPCAOptions& options = {})
      : options_(options), w_(kK * kD), w0_(kK * kD), mean_(kD), xc_(kD), y_(kK) {
    if (!(options.eta0 > 0) || !(options.eta0 < 1) || !(options.t0 > 0) ||
        !(options.mean_window >= 1) || !(options.clip >= 1)) {
      DENDRITE_THROW(numerical_error,
                     "StreamingPCA: need 0 < eta0 < 1, t0 > 0, mean_window >= 1 and clip >= 1, got ",
                     options.eta0, ", ", options.t0, ", ", options.mean_window, ", ", options.clip);
    }
    inv_clip_ = broadcast<T>(1.0 / options.clip);
    std::mt19937_64 rng(options.seed);
    std::normal_distribution<double> normal(0.0, 0.1 / std::sqrt(double(D)));
    for (auto& w : w0_) {
      w = broadcast<T>(normal(rng));  // every lane starts from the same W
    }
    restart();
    static_assert(rt::StreamingBlock<StreamingPCA>);
  }

  /// Nothing to clear: what StreamingPCA holds (W, the mean, t) is what it learned; `restart`
  /// forgets that. Real-time safe.
  DENDRITE_REALTIME void reset() noexcept {}
  /// 0: the scores answer the sample of the same step.
  [[nodiscard]] std::size_t latency_samples() const noexcept { return 0; }

  /// Forgets what was learned: back to the initial W, zero mean, t = 0. Real-time safe.
  DENDRITE_REALTIME void restart() noexcept {
    std::copy(w0_.begin(), w0_.end(), w_.begin());
    std::fill(mean_.begin(), mean_.end(), T(0));
    power_ = T(0);
    t_ = 0;
  }

  /// One sample. Lanes holding NaN or Inf are left untouched and the call returns
  /// `Status::RejectedNonFinite`; lanes whose |x - mean|^2 overflows, `Status::RejectedOutlier`.
  /// Real-time safe.
  DENDRITE_REALTIME Status step(std::span<const T, kD> x) noexcept {
    return status(learn(x));
  }

  /// One sample, and its K scores y = W (x - mean): the mean updated by this sample, W as it
  /// was before this sample's update (a rejected lane keeps its previous y). Real-time safe.
  DENDRITE_REALTIME Status step(std::span<const T, kD> x, std::span<T, kK> y) noexcept {
    const Rejected r = learn(x);
    const auto rejected = r.nonfinite || r.outlier;
    for (std::size_t k = 0; k < kK; ++k) y[k] = dendrite::select<T>(rejected, y[k], y_[k]);
    return status(r);
  }

 private:
  struct Rejected {
    mask_t<T> nonfinite, outlier;
  };
  [[nodiscard]] static Status status(const Rejected& r) noexcept {
    if (any_of(r.nonfinite)) return Status::RejectedNonFinite;
    return any_of(r.outlier) ? Status::RejectedOutlier : Status::Ok;
  }

  /// The update of `step`; returns the rejected lanes. Every pass over the D values runs in
  /// registers of this target's width (ica::detail's for_each_chunk and dot): with plain loops
  /// g++ kept D <= 16 scalar, and the dot products' vector loads then waited on scalar stores
  /// (16 channels took 2.9x the time of 17).
  DENDRITE_FORCE_INLINE Rejected learn(std::span<const T, kD> x) noexcept {
    using ica::detail::for_each_chunk, ica::detail::load_as, ica::detail::store_as;
    Rejected r;
    const mask_t<T> ok = all_finite(x);
    r.nonfinite = !ok;
    // d = x - mean before the update, 0 in a rejected lane (denormal inputs flushed: 10-100x)
    if constexpr (is_batch_v<T>) {
      for (std::size_t i = 0; i < kD; ++i) {
        xc_[i] = dendrite::select<T>(ok, flush_denormal(x[i]) - mean_[i], T(0));
      }
    } else if (ok) {
      for_each_chunk<T, D>([&]<class U>(std::size_t i) {
        store_as(flush_denormal(load_as<U>(&x[i])) - load_as<U>(&mean_[i]), &xc_[i]);
      });
    } else {
      std::fill(xc_.begin(), xc_.end(), T(0));
    }
    // where |d|^2 overflows, the lane is an outlier and, like a non-finite one, takes d = 0
    const T d2 = ica::detail::dot<T, D>(xc_.data(), xc_.data());
    r.outlier = !dendrite::isfinite(d2) && ok;
    const auto rejected = r.nonfinite || r.outlier;
    if (any_of(r.outlier)) {
      for (std::size_t i = 0; i < kD; ++i) xc_[i] = dendrite::select<T>(r.outlier, T(0), xc_[i]);
    }
    const double t = static_cast<double>(t_);
    const double a = 1.0 / std::min(t + 1.0, options_.mean_window);
    // mean <- mean + a d, and xc = x - mean = (1 - a) d
    const T ta = broadcast<T>(a), keep = broadcast<T>(1.0 - a);
    for_each_chunk<T, D>([&]<class U>(std::size_t i) {
      const U d = load_as<U>(&xc_[i]);
      store_as(dendrite::fma(U(ta), d, load_as<U>(&mean_[i])), &mean_[i]);
      store_as(U(keep) * d, &xc_[i]);
    });
    const T ss = dendrite::select<T>(rejected, T(0), broadcast<T>((1.0 - a) * (1.0 - a)) * d2);
    power_ = dendrite::select<T>(rejected, power_, dendrite::fma(ta, ss - power_, power_));
    // e_t = eta_t / max(p, |xc|^2 / clip); the floor keeps 0 / 0 away at the first sample (xc = 0)
    const T denom = dendrite::max(dendrite::max(power_, ss * inv_clip_),
                                  T(std::numeric_limits<Scalar>::min()));
    const T eta = broadcast<T>(options_.eta0 / (1.0 + t / options_.t0)) / denom;
    for (std::size_t k = 0; k < kK; ++k) {
      y_[k] = ica::detail::dot<T, D>(&w_[k * kD], xc_.data());
    }
    // Sanger: xc becomes the residual after each row, so row k sees xc - sum_{j<=k} y_j W_j.
    for (std::size_t k = 0; k < kK; ++k) {
      T* wk = &w_[k * kD];
      const T yk = y_[k];
      const T g = eta * yk;
      for_each_chunk<T, D>([&]<class U>(std::size_t i) {
        const U res = load_as<U>(&xc_[i]) - U(yk) * load_as<U>(&wk[i]);
        store_as(res, &xc_[i]);
        store_as(dendrite::fma(U(g), res, load_as<U>(&wk[i])), &wk[i]);
      });
    }
    ++t_;
    return r;
  }

 public:
  /// Scores y = W (x - mean) of a sample (K values). Real-time safe.
  DENDRITE_REALTIME void project(std::span<const T, kD> x, std::span<T, kK> y) const noexcept {
    for (std::size_t k = 0; k < kK; ++k) {
      T acc(0);
      for (std::size_t i = 0; i < kD; ++i) {
        acc = dendrite::fma(w_[k * kD + i], x[i] - mean_[i], acc);
      }
      y[k] = acc;
    }
  }

  /// Learned components of one lane as a D x K matrix (columns, decreasing variance). Allocates.
  [[nodiscard]] Eigen::Matrix<Scalar, D, K> components(std::size_t lane_index = 0) const {
    Eigen::Matrix<Scalar, D, K> w;
    for (std::size_t k = 0; k < kK; ++k) {
      for (std::size_t i = 0; i < kD; ++i) {
        w(Eigen::Index(i), Eigen::Index(k)) = lane(w_[k * kD + i], lane_index);
      }
    }
    return w;
  }
  /// Running mean of one lane.
  [[nodiscard]] Eigen::Matrix<Scalar, D, 1> mean(std::size_t lane_index = 0) const {
    Eigen::Matrix<Scalar, D, 1> m;
    for (std::size_t i = 0; i < kD; ++i) {
      m(Eigen::Index(i)) = lane(mean_[i], lane_index);
    }
    return m;
  }
  /// Samples seen (including rejected ones).
  [[nodiscard]] std::uint64_t samples() const noexcept { return t_; }
  /// Running power p of one lane (the mean of |x - mean|^2, see the file comment).
  [[nodiscard]] Scalar power(std::size_t lane_index = 0) const { return lane(power_, lane_index); }

 private:
  StreamingPCAOptions options_;
  std::vector<T> w_;     // K x D, row-major: component k is w_[k*D .. k*D + D)
  std::vector<T> w0_;    // initial W, for restart()
  std::vector<T> mean_;  // D
  std::vector<T> xc_;    // D, scratch: centred sample, then Sanger residual
  std::vector<T> y_;     // K, scratch: scores
  T power_ = T(0);       // running mean of |x - mean|^2
  T inv_clip_ = T(1);    // 1 / options_.clip
  std::uint64_t t_ = 0;
};

/// Exact streaming mean and covariance of a D-dimensional stream (Welford), eigendecomposed on
/// demand. `step` costs D(D+1)/2 multiply-adds. See the file comment.
template <Real T, int D>
class StreamingCovariance {
  static_assert(D >= 1, "StreamingCovariance<T, D>: need D >= 1");

  // The sizes as std::size_t, for spans and loops; input_size and output_size are the
  // public names.
  static constexpr std::size_t kD = static_cast<std::size_t>(D);
  static constexpr std::size_t kL = lanes_v<T>;

 public:
  using value_type = T;
  using Scalar = scalar_t<T>;
  static constexpr int input_size = D;
  static constexpr int output_size = D;  ///< the step's output: the centred sample x - mean

  /// Allocates the state.
  StreamingCovariance() : mean_(kD * kL), m2_(kD * kD * kL), d_(kD * kL) {
    restart();
    static_assert(rt::StreamingBlock<StreamingCovariance>);
  }

  /// Nothing to clear: the mean and covariance are what it learned; `restart` forgets them.
  /// Real-time safe.
  DENDRITE_REALTIME void reset() noexcept {}
  /// 0: the centred sample answers the sample of the same step.
  [[nodiscard]] std::size_t latency_samples() const noexcept { return 0; }

  /// Forgets every sample. Real-time safe.
  DENDRITE_REALTIME void restart() noexcept {
    std::fill(mean_.begin(), mean_.end(), 0.0);
    std::fill(m2_.begin(), m2_.end(), 0.0);
    count_.fill(0.0);
  }

  /// Adds one sample. Lanes holding NaN or Inf are not counted and the call returns
  /// `Status::RejectedNonFinite`. Real-time safe.
  DENDRITE_REALTIME Status step(std::span<const T, kD> x) noexcept {
    return any_of(learn(x)) ? Status::RejectedNonFinite : Status::Ok;
  }

  /// Adds one sample and writes it centred by the updated mean, y = x - mean (a rejected lane
  /// keeps its previous y). Real-time safe.
  DENDRITE_REALTIME Status step(std::span<const T, kD> x, std::span<T, kD> y) noexcept {
    const auto rejected = learn(x);
    for (std::size_t i = 0; i < kD; ++i) {
      alignas(64) std::array<Scalar, kL> centred;  // x - mean in double, rounded once
      for (std::size_t l = 0; l < kL; ++l) {
        centred[l] = Scalar(double(xs_[i * kL + l]) - mean_[i * kL + l]);
      }
      y[i] = dendrite::select<T>(rejected, y[i], dendrite::load<T>(centred.data()));
    }
    return any_of(rejected) ? Status::RejectedNonFinite : Status::Ok;
  }

 private:
  /// The update of `step`; returns the rejected lanes. Lane l of value i sits at i kL + l.
  DENDRITE_FORCE_INLINE mask_t<T> learn(std::span<const T, kD> x) noexcept {
    const mask_t<T> ok = all_finite(x);
    for (std::size_t i = 0; i < kD; ++i) {  // rejected lanes hold 0, weighted 0 below
      dendrite::store<T>(&xs_[i * kL], dendrite::select<T>(ok, flush_denormal(x[i]), T(0)));
    }
    alignas(64) std::array<Scalar, kL> counted;  // 1 in the lanes that count this sample, else 0
    dendrite::store<T>(counted.data(), dendrite::select<T>(ok, T(1), T(0)));
    alignas(64) std::array<double, kL> w, inv_n, keep;  // 1 / n and 1 - 1 / n, 0 where rejected
    for (std::size_t l = 0; l < kL; ++l) {
      w[l] = double(counted[l]);
      count_[l] += w[l];
      const double r = 1.0 / std::max(count_[l], 1.0);
      inv_n[l] = w[l] * r;
      keep[l] = w[l] * (1.0 - r);
    }
    double* __restrict d = d_.data();
    double* __restrict mean = mean_.data();
    for (std::size_t i = 0; i < kD; ++i) {  // d = x - mu_old (0 in rejected lanes)
      for (std::size_t l = 0; l < kL; ++l) {
        const std::size_t k = i * kL + l;
        d[k] = (double(xs_[k]) - mean[k]) * w[l];
        mean[k] = muladd(d[k], inv_n[l], mean[k]);
      }
    }
    for (std::size_t j = 0; j < kD; ++j) {  // lower triangle, column j: M_ij += d_i (x_j - mu_j)
      alignas(64) std::array<double, kL> e;  // x_j - mu_new_j = d_j (1 - 1/n)
      for (std::size_t l = 0; l < kL; ++l) e[l] = d[j * kL + l] * keep[l];
      double* __restrict col = &m2_[(j * kD) * kL];
      for (std::size_t i = j; i < kD; ++i) {
        for (std::size_t l = 0; l < kL; ++l) {
          col[i * kL + l] = muladd(d[i * kL + l], e[l], col[i * kL + l]);
        }
      }
    }
    return !ok;
  }

 public:
  /// Samples counted in one lane.
  [[nodiscard]] std::uint64_t count(std::size_t lane_index = 0) const noexcept {
    return static_cast<std::uint64_t>(count_[lane_index]);
  }
  /// Mean of one lane.
  [[nodiscard]] Eigen::Matrix<Scalar, Eigen::Dynamic, 1> mean(std::size_t lane_index = 0) const {
    Eigen::Matrix<Scalar, Eigen::Dynamic, 1> m(D);
    for (std::size_t i = 0; i < kD; ++i) {
      m(Eigen::Index(i)) = Scalar(mean_[i * kL + lane_index]);
    }
    return m;
  }
  /// Unbiased covariance (1/(n-1)) of one lane, D x D. Allocates. Throws `numerical_error` before
  /// two samples were counted.
  [[nodiscard]] Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> covariance(
      std::size_t lane_index = 0) const {
    const double n = count_[lane_index];
    if (n < 2) {
      DENDRITE_THROW(numerical_error,
                     "StreamingCovariance::covariance: need at least 2 samples, have ", n);
    }
    Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> c(D, D);
    for (std::size_t j = 0; j < kD; ++j) {
      for (std::size_t i = j; i < kD; ++i) {
        const Scalar v = Scalar(m2_[(j * kD + i) * kL + lane_index] / (n - 1));
        c(Eigen::Index(i), Eigen::Index(j)) = v;
        c(Eigen::Index(j), Eigen::Index(i)) = v;
      }
    }
    return c;
  }
  /// Leading k eigenvectors of the covariance of one lane (D x k, decreasing variance), and their
  /// variances in `variances` if given. Allocates.
  [[nodiscard]] Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> components(
      Eigen::Index k, std::size_t lane_index = 0,
      Eigen::Matrix<Scalar, Eigen::Dynamic, 1>* variances = nullptr) const {
    if (k < 1 || k > D) {
      DENDRITE_THROW(dimension_error, "StreamingCovariance::components: k must lie in [1, ", D,
                     "], got ", k);
    }
    Eigen::SelfAdjointEigenSolver<Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>> eig(
        covariance(lane_index));
    if (variances != nullptr) {
      *variances = eig.eigenvalues().reverse().head(k);
    }
    return eig.eigenvectors().rowwise().reverse().leftCols(k);
  }

 private:
  aligned_vector<double> mean_;  // D x lanes
  aligned_vector<double> m2_;    // D x D column-major, lower triangle used, x lanes
  aligned_vector<double> d_;     // D x lanes, scratch
  std::array<Scalar, kD * kL> xs_{};  // the sample's values, lane by lane (scratch)
  std::array<double, kL> count_{};    // samples counted, per lane
};

}  // namespace dendrite::geometry
