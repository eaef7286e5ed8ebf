// SPDX-License-Identifier: MIT
/// @file
/// Online Recursive ICA for acquisition (after Akhtar, Jung, Makeig & Cauwenberghs 2012 and Hsu,
/// Mullen, Jung & Cauwenberghs, IEEE TNSRE 2016): one sample in, one separated sample out, from a
/// cold start, O(D^2) per sample, no allocation.
///
/// Per sample x (D channels):
///   m  <- m + l_w (x - m)                              running mean
///   v   = M (x - m)                                    whitened input
///   M  <- (I - c' v v^T) M / sqrt(1 - l_w)             recursive (RLS) whitening
///   y   = W v                                          separated output (unit variance)
///   W  <- (I + a H)^-1 (I - a H) W,  H = g y^T - y g^T,  a = l / 2
/// with c = l_w / (1 - l_w + l_w |v|^2) and c' = c / (1 + sqrt(1 - c |v|^2)). The whitening step
/// is the exact Sherman-Morrison update of the exponentially weighted covariance C (forgetting
/// l_w), taken as a square-root factor: M^T M = C^-1 after every sample, for any l_w in (0, 1)
/// (ORICA's published rule drops the square root, which is first-order accurate only for small
/// l_w; the exact factor lets the whitener start at l_w = 1 / (t + 2), a plain running average).
/// The ICA step is ORICA's recursive natural-gradient rule restricted to rotations: on whitened
/// data ORICA orthogonalises W after its update, which keeps only the skew-symmetric part H of
/// y f^T; we apply that part through its Cayley transform, which is exactly orthogonal, costs a
/// 2 x 2 solve (H has rank 2) and needs no O(D^3) orthogonalisation in the sample loop. A
/// first-order expansion gives W <- W - l H W, EASI's rule (Cardoso & Laheld 1996) without its
/// whitening term. Rounding drift from orthogonality is removed one row every
/// `reorthogonalize_every` samples (w_r <- w_r - (W w_r^T - e_r)^T W / 2, O(D^2)).
/// Block update (ORICA's block form, Hsu et al. 2016, made exact): every step multiplies M and
/// W on the left by a low-rank factor, so over a block that started at M_0, W_0,
/// M = phi (I + V T V^T) M_0 and W = (I + Ua Ub^T) W_0 (V the block's whitened inputs, T lower
/// triangular, Ua/Ub its g, y and coefficients; see `run_blocks`). A block of N samples needs
/// only M_0 x and W_0 M_0 x (matrix-matrix products over the samples a call hands over) and
/// O(N D) per sample, and applies its factors at its end: the serial network, to rounding, in
/// cache-blocked products instead of passes that stream the matrices. Blocks of 16 from 128
/// channels on (`block_size`). Below that,
/// both D x D updates run in one pass over their matrix: the dot products a rank-1 update needs
/// (M^T v, W^T y, W^T g) take only the column being updated. From `defer_from` channels on (64
/// by default) that pass is also the next step's product: a step leaves its updates of M and W
/// pending, and the next one applies them column by column while it computes v = M x and
/// y = W v, so that each matrix is read once per step instead of twice; and (float or double T)
/// M^-1's rank-1 updates, which only `mixing` and `reconstruct` read, are queued and applied 16
/// at a time as one matrix product, M^-1 = P (M^-1_0 + X V^T), so that M^-1 is read and written
/// once per 16 steps (64 channels: 2.07-2.08 -> 1.80-1.83 µs on a Zen 3 core).
///
/// Nonlinearity, per component (extended-Infomax switching, Lee, Girolami & Sejnowski 1999):
/// g_i = k_i tanh(y_i) with k_i = sign(E[sech^2 y_i] E[y_i^2] - E[y_i tanh y_i]) estimated by
/// running averages: +1 for super-Gaussian sources (speech, blinks, spikes), -1 for
/// sub-Gaussian ones (line noise, alpha, other sinusoids). That is the sign that makes the
/// separating point a stable equilibrium of H (Cardoso & Laheld: kappa_i + kappa_j > 0 with
/// kappa = E[g'(s)] - E[g(s) s]).
///
/// Forgetting factors (Hsu 2016, section II-B), for the ICA rate l:
///  - `Cooling` (default): l_t = l0 / (1 + t / t0)^gamma, never below a floor set as a memory:
///    l_min = 1 / (memory_s * sample_rate), so the network keeps adapting and tracks a change
///    of mixing at that memory (without a sample rate the floor is 1e-4: a 10^4-sample memory);
///  - `Constant`: l = l_min;
///  - `Adaptive`: cooling, reheated by a nonstationarity index: the covariance C of the outputs
///    clipped at +-1.5 (their standard deviation is 1) over the last `nsi_memory_s` (updated every
///    4th sample: about D^2 / 4 multiply-adds per sample), and index = the mean over pairs i < j of
///    the squared correlation C_ij^2 / (C_ii C_jj), from 5 outputs without the pairs of the output
///    whose correlations sum highest. The clip keeps a burst's few large samples from outweighing
///    the bulk, where a new mixing shows. Independent outputs keep it near its sampling noise
///    whatever the sources' bursts do to their own variances (a blink stays on its output's
///    diagonal, and what leaks of it correlates one output with the rest); a new mixing correlates
///    every pair at once. The index is compared with its own running mean and standard deviation
///    over 4 windows (the values entering them winsorised at 2 sd, so that a change's rise does not
///    widen the spread it is measured against); past `reheat_threshold` standard deviations (by
///    default 8 from 16 channels, 12 at 5-15, 24 at 4, 32 at 2 and 3) the whitener restarts its
///    running average (as if it had seen `reheat_whitener_s`) and the cooling clock goes back to
///    where l = 1 / (`reheat_memory_s` x sample_rate). Needs `sample_rate`; without it Adaptive is
///    Cooling. Measured by bench/adaptive_alarms.cpp on eeg_like at 256 Hz, 80 seeds (16 at 64
///    channels), defaults (electrode shifts caught within 5 s; stationary 90 s recordings that made
///    it reheat at all): 3 channels 67 and 5 of 80, 4 channels 65 and 3, 5 channels 75 and 1, 7
///    channels 79 and 0, 16 channels 80 and 0, 32 channels 80 and 0, 64 channels 16 and 0 of 16
///    (and 56 and 0 of 56 on seeds 1-56); median delay 0.3-1.1 s below 16 channels, 0.2-0.3 s from
///    16 (at 12 there: 0.4-0.5 s, 32 channels 77 of 80, and two 64-channel shifts of 8 in
///    bench/tracker_recovery.cpp peaked at 11.7 and 11.9 standard deviations, unseen). Without the
///    clip, at 12 everywhere: 3 channels 63 and 31, 4 channels 64 and 22, 5 channels 76 and 5, 7
///    channels 79 and 4, 16 channels 80 and 1 (delay 0-0.5 s). A reheat costs a few seconds of
///    noisier separation.
/// The whitener uses l_w = max(1 / (t + 2), l_min): a running average, then the same memory.
///
/// Tracking an abrupt change (an electrode shift) faster than the memory allows: once `reheats()`
/// counts it, collect a few seconds of input, run `fit` on them on a worker thread (FastICA, not
/// real-time) and hand the result to `adopt` in the real-time thread (O(D^2), no allocation). The
/// fit's unmixing B whitens its block, so the network takes M = B, W = I and learns on from there.
/// Measured on eeg_like(16) at 256 Hz (8 seeds, 5 s of input after the detection): median Amari
/// index 0.035 ten seconds after the change, against 0.038 before it; online learning alone is at
/// 0.14 (Adaptive) or 0.24 (Cooling) then. The gain comes from the batch whitening: FastICA on the
/// same 5 s whitened by the running M instead of the block's own covariance reaches only 0.07-0.21.
/// FastICA's components come in an arbitrary order and sign, so a bare fit hands nearly every
/// output another source (14-16 of 16 on eeg_like(16) after an electrode shift), and whatever
/// reads output k downstream (a decoder, a removed blink component) silently reads another one.
/// `Fit::order_like(mixing)` orders and signs the fit's components like the network's before the
/// change, by their spatial maps (mixing columns, the EEG practice of matching components by
/// topography): a shift that moves every mixing entry by up to 50 % of its column's largest keeps
/// every pairing on those data, where pairing by output correlation (U_old A_new) loses 3-10 of 16.
/// `ORICATracker` (orica_tracker.hpp) does all of this as one real-time block.
///
/// Guards (the real-time contract): non-finite input leaves the lane untouched and returns
/// `Status::RejectedNonFinite`; a finite value beyond `max_abs_input` returns
/// `Status::RejectedOutlier`; a non-finite or exploding output (|y|^2 > `max_output_norm2` D)
/// restores the lane from its last checkpoint and returns `Status::Diverged`. Outputs of a lane
/// that did not pass are 0: no NaN ever leaves `step`. A channel that goes flat (an electrode
/// off) leaves a direction of C without variance; M is kept finite there by a ridge of
/// `ridge` x the mean channel variance, added to the whitener's input as a tiny deterministic
/// dither (a +/- sequence that cycles over channels); its component then carries the dither and
/// the others keep separating.
///
/// `T` may be an xsimd batch: each lane is an independent network fed its own stream (the
/// schedule's clock is shared: it advances on every step that at least one lane learned from).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include <dendrite/config.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/math.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/ica/detail/block_linalg.hpp>
#include <dendrite/ica/detail/lanes_linalg.hpp>
#include <dendrite/ica/detail/lanes_matrix.hpp>
#include <dendrite/ica/fastica.hpp>
#include <dendrite/ica/metrics.hpp>
#include <dendrite/rt/contract.hpp>
#include <dendrite/rt/process.hpp>

namespace dendrite::ica {

/// How ORICA's ICA learning rate (its forgetting factor) evolves.
enum class ForgettingSchedule : std::uint8_t {
  Cooling,   ///< l0 / (1 + t / t0)^gamma, floored at the memory
  Constant,  ///< the floor, 1 / (memory_s * sample_rate)
  Adaptive,  ///< cooling, reheated when a nonstationarity index jumps
};

/// Settings of ORICA. The defaults are meant to work on a new recording with no calibration.
struct ORICAOptions {
  ForgettingSchedule schedule = ForgettingSchedule::Cooling;
  /// Hz; 0 (unknown): the memory floor counts 2e4 samples (1.25 s at 16 kHz, 78 s at 256 Hz).
  /// Until 2026-12-03 1e4: on 77 three-source speech mixtures at 16 kHz (5 espeak-ng voices,
  /// Gaussian or uniform noise, raw or unit levels, mixings of condition up to 30), 6 ended
  /// above 0.03 after 20 s (mean 0.014, worst 0.039); with 2e4 none (0.008, 0.021), and after
  /// 5 s the worst went from 0.042 to 0.048 (mean 0.013 both).
  double sample_rate = 0;
  double memory_s = 2.0;    ///< floor of every forgetting factor, as a memory in seconds
  double lambda0 = 0.1;     ///< ICA rate at t = 0
  double t0 = 100.0;        ///< cooling time constant, in samples
  double gamma = 1.0;       ///< cooling exponent (1: the rate of a running average)
  /// Adaptive: reheat when the nonstationarity index exceeds its stationary mean by this many
  /// standard deviations; 0 (the default) picks it by channel count: 8 from 16 channels, 12 at
  /// 5-15, 24 at 4, 32 at 2 and 3 (fewer pairs, a heavier-tailed index; measured in
  /// bench/README.md). Until 2026-12-02 a ratio to that mean (default 5); until the first
  /// 2026-12-03 change 12 at every count, until the second 12 from 5 channels.
  double reheat_threshold = 0;
  double reheat_memory_s = 0.2; ///< Adaptive: a reheat sends the ICA rate back to 1 / (this x rate)
  double reheat_whitener_s = 0.25;  ///< Adaptive: after a reheat the whitener's running average
                                    ///< restarts as if it had seen this many seconds
  double nsi_memory_s = 4.0;    ///< Adaptive: window of the nonstationarity index
  double sign_memory = 2000.0;  ///< samples over which the sub/super-Gaussian sign is estimated
  int reorthogonalize_every = 8;  ///< samples between two one-row reorthogonalisations of W
  double ridge = 1e-6;            ///< dither power relative to the mean channel variance
  double max_abs_input = 1e15;    ///< |x| above this is an outlier: rejected
  double max_output_norm2 = 1e6;  ///< |y|^2 / D above this counts as divergence
  int checkpoint_interval = 4096; ///< good samples between checkpoints
  std::uint64_t seed = 0;         ///< 0: W starts at I; else at a random rotation from this seed
  /// From this many channels on, a step leaves its updates of M and W to the next step, whose
  /// products v = M x and y = W v apply them column by column in the same pass: one pass over
  /// each matrix per step instead of two, for the same results up to rounding (the accessors and
  /// `reconstruct` see the updated matrices); for a float or double T, M^-1's updates are also
  /// queued and applied 16 at a time as one matrix product. It pays where the matrices leave
  /// the caches (Zen 3 core: 256 channels 49 -> 36.5 µs, 64 channels 2.1 -> 1.8 µs); below 64
  /// it cost 3-7 %.
  int defer_from = 64;
  /// Samples per update of M and W (float or double `T`; 0: 16 from 128 channels on, else 1).
  /// 1 applies each sample's update at once; N > 1 (up to 64) keeps each update as a low-rank
  /// factor and applies a block's N factors at its end with matrix-matrix products: the same
  /// network (to rounding; W's periodic reorthogonalisation moves to the block's end), with
  /// the separation of the samples a `step_block` call hands over batched too. Blocks are
  /// counted in samples across calls, so results do not depend on how the input is chunked; the
  /// step that completes a block does its update (on a Zen 3 core at 256 channels, about
  /// 0.3 ms every 16 samples). Per sample at 256 channels: 24 µs in calls of 64 samples and
  /// 28.4-29.7 µs one sample a call, against 38-39 µs serial; it pays from about 128 channels.
  int block_size = 0;
};

/// Online Recursive ICA network (see the file comment).
/// @tparam T float, double or an xsimd batch of them; @tparam D channels = sources.
/// @code
/// dendrite::ica::ORICA<float, 3> net;            // no calibration, no tuning
/// std::array<float, 3> x{}, y{};
/// dendrite::Status s = net.step(x, y);           // real-time safe
/// double amari = dendrite::ica::amari_index(Eigen::MatrixXd(net.unmixing() * mixing));
/// @endcode
template <Real T, int D>
class ORICA {
  static_assert(D >= 2, "ORICA<T, D>: need at least 2 channels");
  static constexpr std::size_t kD = static_cast<std::size_t>(D);
  static constexpr int kMaxBlock = 64;        // largest block_size
  static constexpr int kAutoBlockFrom = 128;  // block_size 0: blocks of 16 from here on

 public:
  using value_type = T;
  using Scalar = scalar_t<T>;
  static constexpr int input_size = D;
  static constexpr int output_size = D;

  /// Allocates the state (the only allocation); the network starts cold.
  explicit ORICA(const ORICAOptions& options = {})
      : opt_(options),
        w_(kD * kD),
        m_(kD * kD),
        minv_(kD * kD),
        w_ckpt_(kD * kD),
        m_ckpt_(kD * kD),
        minv_ckpt_(kD * kD),
        mean_ckpt_(kD),
        w_init_(kD * kD),
        pm_v_(kD),
        pw_y_(kD),
        pw_g_(kD),
        mean_(kD),
        sech2_(kD),
        y2_(kD),
        ytanh_(kD),
        sign_(kD),
        cov_(opt_.schedule == ForgettingSchedule::Adaptive ? kD * kD : 0) {
    if (!(opt_.memory_s > 0) || !(opt_.sample_rate >= 0) || !(opt_.lambda0 > 0) ||
        !(opt_.lambda0 <= 1) || !(opt_.t0 > 0) || !(opt_.gamma >= 0) ||
        opt_.reorthogonalize_every < 1 || opt_.checkpoint_interval < 1 || opt_.defer_from < 1 ||
        opt_.block_size < 0 || opt_.block_size > kMaxBlock ||
        !(opt_.sign_memory >= 1) || !(opt_.ridge >= 0) || !(opt_.max_abs_input > 0) ||
        !(opt_.max_output_norm2 > 0)) {
      DENDRITE_THROW(numerical_error,
                     "ORICA: need memory_s > 0, sample_rate >= 0, 0 < lambda0 <= 1, t0 > 0, "
                     "gamma >= 0, reorthogonalize_every >= 1, checkpoint_interval >= 1, "
                     "defer_from >= 1, 0 <= block_size <= ", kMaxBlock, ", "
                     "sign_memory >= 1, ridge >= 0 and positive limits; got memory_s ",
                     opt_.memory_s, ", sample_rate ", opt_.sample_rate, ", lambda0 ", opt_.lambda0,
                     ", t0 ", opt_.t0, ", gamma ", opt_.gamma, ", block_size ", opt_.block_size);
    }
    const int block_size =
        opt_.block_size > 0 ? opt_.block_size
                            : (D >= kAutoBlockFrom && std::is_floating_point_v<T> ? 16 : 1);
    if (block_size > 1) {
      if constexpr (!std::is_floating_point_v<T>) {
        DENDRITE_THROW(numerical_error, "ORICA: block_size > 1 needs a float or double T (lanes "
                       "learn sample by sample); got block_size ", opt_.block_size);
      } else {
        block_ = std::size_t(block_size);
        for (auto* b : {&bx_, &bv0_, &by0_, &bv_, &bwv_, &bwm_, &bk_}) b->resize(kD * block_);
        for (auto* b : {&bua_, &bub_, &brm_, &btr_}) b->resize(kD * 2 * block_);
        bt_.resize(block_ * block_);
        phi_.resize(block_);
        em_.resize(block_);
      }
    }
    const double memory_samples =
        opt_.sample_rate > 0 ? opt_.memory_s * opt_.sample_rate : 2e4;
    floor_ = std::min(1.0, 1.0 / std::max(memory_samples, 1.0));
    threshold_ = opt_.reheat_threshold > 0 ? opt_.reheat_threshold
                 : D >= 16                 ? 8.0
                 : D >= 5                  ? 12.0
                 : D == 4                  ? 24.0
                                           : 32.0;
    defer_ = D >= opt_.defer_from && block_ == 1;
    if (defer_ && std::is_floating_point_v<T>) {
      qx_.resize(kD * kQueue);
      qv_.resize(kD * kQueue);
    }
    detail::broadcast_matrix(opt_.seed != 0 ? detail::random_rotation(D, opt_.seed)
                                            : Eigen::MatrixXd::Identity(D, D).eval(),
                             w_init_);
    restart();
    static_assert(rt::StreamingBlock<ORICA>);
  }

  /// Nothing to clear besides what was learned, which `restart` forgets. Real-time safe.
  DENDRITE_REALTIME void reset() noexcept {}
  /// 0: the separated sample answers the input of the same step.
  [[nodiscard]] std::size_t latency_samples() const noexcept { return 0; }

  /// Forgets everything learned: a cold start (W at its seeded start, whitener and mean unset,
  /// the schedule at t = 0). Real-time safe.
  DENDRITE_REALTIME void restart() noexcept {
    bn_ = 0;
    qn_ = 0;
    m_pending_ = false;
    w_pending_ = false;
    std::copy(w_init_.begin(), w_init_.end(), w_.begin());
    detail::set_identity(m_.data(), kD);
    std::copy(m_.begin(), m_.end(), minv_.begin());
    std::fill(mean_.begin(), mean_.end(), T(0));
    std::fill(sech2_.begin(), sech2_.end(), T(0));
    std::fill(y2_.begin(), y2_.end(), T(0));
    std::fill(ytanh_.begin(), ytanh_.end(), T(0));
    std::fill(sign_.begin(), sign_.end(), T(1));
    started_ = T(0);
    var_ = T(0);
    warm_n_ = T(0);
    warm_ss_ = T(0);
    reset_index();
    baseline_ = 0;
    baseline_sq_ = 0;
    baseline_n_ = 0;
    reheats_ = 0;
    t_ = 0;
    clock_ = 0;
    wclock_ = 0;
    since_ckpt_ = 0;
    checkpoint();
  }

  /// Stops (true) or resumes (false) learning; a frozen network only separates. Real-time safe.
  DENDRITE_REALTIME void freeze(bool frozen = true) noexcept { frozen_ = frozen; }

  /// One sample in, one separated sample out (unit variance, arbitrary order and sign).
  /// Real-time safe.
  DENDRITE_REALTIME Status step(std::span<const T, kD> x, std::span<T, kD> y) noexcept {
    if constexpr (std::is_floating_point_v<T>) {
      if (block_ > 1) {
        rt::BlockResult r;
        return run_blocks(x.data(), y.data(), 1, r);
      }
    }
    return step_one(x, y);
  }

  /// n samples in, n separated samples out: `x` and `y` hold n x D values, sample after sample
  /// (interleaved, or a column-major D x n matrix: `{X.data(), X.size()}`); they may be the
  /// same buffer. The same results as n calls of `step`; with `block_size` > 1 the samples of a
  /// block are separated by two matrix-matrix products and learned from in one update. Sizes
  /// that are not equal multiples of D process nothing (`BlockError::SizeMismatch`). Real-time
  /// safe; float or double `T` (lanes: call `step`).
  DENDRITE_REALTIME rt::BlockResult step_block(std::span<const Scalar> x,
                                               std::span<Scalar> y) noexcept
    requires std::is_floating_point_v<T>
  {
    rt::BlockResult r;
    if (x.size() != y.size() || x.size() % kD != 0) {
      r.error = rt::BlockError::SizeMismatch;
      return r;
    }
    const std::size_t n = x.size() / kD;
    if (block_ == 1) return rt::process_interleaved(*this, x.data(), y.data(), n);
    (void)run_blocks(x.data(), y.data(), n, r);
    return r;
  }

 private:
  DENDRITE_REALTIME Status step_one(std::span<const T, kD> x, std::span<T, kD> y) noexcept {
    std::array<T, kD> xc, v, u, g;
    // 1. screen the input, per lane: finite, and within the accepted range
    mask_t<T> finite, in_range;
    detail::screen<T, D>(x.data(), xc.data(), broadcast<T>(opt_.max_abs_input), finite, in_range);
    const mask_t<T> ok = finite && in_range;
    for (std::size_t i = 0; i < kD; ++i) xc[i] = dendrite::select<T>(ok, xc[i], mean_[i]);
    // 2. a lane's first good sample sets its mean and the whitener's scale (M = I / rms)
    const mask_t<T> first = ok && (started_ == T(0));
    if (any_of(first)) {
      start(first, xc);
    }
    const mask_t<T> learn = ok && !first;
    // 3. whiten: v = M (x - m), the mean updated first
    const double lw = std::max(1.0 / (wclock_ + 2.0), floor_);
    const T lw_l = dendrite::select<T>(learn, broadcast<T>(frozen_ ? 0.0 : lw), T(0));  // frozen: the mean too
    for (std::size_t i = 0; i < kD; ++i) {
      mean_[i] = dendrite::fma(lw_l, xc[i] - mean_[i], mean_[i]);
      xc[i] = xc[i] - mean_[i];
    }
    // (the last step's update of M, then of W, is applied in the same pass as the product)
    if (m_pending_) {
      settle_m<true>(xc.data(), v.data());
    } else {
      detail::gemv<T, D>(m_.data(), xc.data(), v.data());
    }
    // 4. separate: y = W v
    if (w_pending_) {
      settle_w<true>(v.data(), u.data());
    } else {
      detail::gemv<T, D>(w_.data(), v.data(), u.data());
    }
    const T norm2 = detail::dot<T, D>(u.data(), u.data());
    const mask_t<T> healthy =
        dendrite::isfinite(norm2) && (norm2 <= broadcast<T>(opt_.max_output_norm2 * double(D)));
    const mask_t<T> good = learn && healthy;
    const mask_t<T> diverged = learn && !healthy;
    for (std::size_t i = 0; i < kD; ++i) {
      y[i] = dendrite::select<T>(good, u[i], T(0));
      // lanes that do not learn get zero vectors: their updates below are exact no-ops
      u[i] = y[i];
      v[i] = dendrite::select<T>(good, v[i], T(0));
      xc[i] = dendrite::select<T>(good, xc[i], T(0));
    }
    if (any_of(diverged)) {
      restore(diverged);
    }
    if (!frozen_ && any_of(good)) {
      const T spread = learn_from(good, xc, v, u, g, lw);
      if (any_of(warm_n_ < T(kWarmUp))) warm_up(good, spread);
    }
    if (any_of(diverged)) {
      return Status::Diverged;
    }
    if (!all_of(finite)) {
      return Status::RejectedNonFinite;
    }
    return all_of(in_range) ? Status::Ok : Status::RejectedOutlier;
  }

 public:
  /// Reconstructs the input from a separated sample with only the kept components:
  /// x = A diag(keep) y + m, with A = `mixing()` (the current estimate). Drop a blink or line
  /// noise component by passing keep[i] = false. O(D^2). Real-time safe.
  /// m is the running mean (the whitener's memory), so a dropped component's content slower than
  /// that memory comes back with it: high-pass the input first (README: a blink on unfiltered
  /// input kept 0.2-7 % of its power this way), or drop it from the raw input with
  /// `ArtifactRemover` built from `unmixing()` and a zero mean.
  DENDRITE_REALTIME void reconstruct(std::span<const T, kD> y, std::span<const bool, kD> keep,
                                     std::span<T, kD> x) const noexcept {
    std::array<T, kD> yk, z;
    for (std::size_t i = 0; i < kD; ++i) yk[i] = keep[i] ? y[i] : T(0);
    if (w_pending_) {
      // W = S + g r0^T + y r1^T with the stored S and the update the next step applies
      // (rotation_terms): W^T k = S^T k + r0 (g . k) + r1 (y . k)
      const T gk = detail::dot<T, D>(pw_g_.data(), yk.data());
      const T yy = detail::dot<T, D>(pw_y_.data(), yk.data());
      detail::for_each_column_block<T, D>(
          [&]<std::size_t NB>(std::size_t j0) DENDRITE_FORCE_INLINE_LAMBDA {
            std::array<T, NB> sk, p, q;
            detail::column_dots<T, D, 3, NB>(&w_[j0 * kD], {yk.data(), pw_y_.data(), pw_g_.data()},
                                             {sk.data(), p.data(), q.data()});
            for (std::size_t b = 0; b < NB; ++b) {
              const auto [r0, r1] = rotation_terms(pw_c_, p[b], q[b]);
              z[j0 + b] = dendrite::fma(r1, yy, dendrite::fma(r0, gk, sk[b]));
            }
          });
    } else if (bn_ == 0) {
      detail::gemv_t<T, D>(w_.data(), yk.data(), z.data());  // W^T (keep y): whitened space
    } else if constexpr (std::is_floating_point_v<T>) {
      // a partial block (see run_blocks): W^T k = W_0^T (k + Ub (Ua^T k))
      std::array<T, kD> kk = yk;
      for (std::size_t c = 0; c < 2 * bn_; ++c) {
        detail::axpy<T, D>(kk.data(), detail::dot<T, D>(&bua_[c * kD], yk.data()), &bub_[c * kD]);
      }
      detail::gemv_t<T, D>(w_.data(), kk.data(), z.data());
    }
    detail::gemv<T, D>(minv_.data(), z.data(), x.data());  // M^-1 ...
    if constexpr (std::is_floating_point_v<T>) {
      if (bn_ > 0) {  // ... of a partial block: (M_0^-1 z + X (E (V^T z))) / phi
        add_lowrank(bx_.data(), bv_.data(), em_.data(), bn_, z.data(), x.data());
        const T phi = phi_[bn_ - 1];
        for (std::size_t i = 0; i < kD; ++i) x[i] /= phi;
      } else if (qn_ > 0) {  // ... with its queued updates: P (M^-1_0 z + X (V^T z))
        add_lowrank(qx_.data(), qv_.data(), nullptr, qn_, z.data(), x.data());
        for (std::size_t i = 0; i < kD; ++i) x[i] *= qphi_;
      }
    }
    for (std::size_t i = 0; i < kD; ++i) x[i] = x[i] + mean_[i];
  }

 private:
  // x += sum_{c < n} e_c (v_c . z) x_c over the D x n columns of X and V (e null: all 1): the
  // low-rank part of M^-1 z, in a partial block or in the queue.
  static void add_lowrank(const Scalar* xs, const Scalar* vs, const Scalar* e, std::size_t n,
                          const T* z, T* x) noexcept {
    for (std::size_t c = 0; c < n; ++c) {
      const T d = detail::dot<T, D>(&vs[c * kD], z);
      detail::axpy<T, D>(x, e != nullptr ? e[c] * d : d, &xs[c * kD]);
    }
  }

 public:
  /// A batch fit of one stream's recent input, made by `fit` (on any thread) and taken over by
  /// `adopt` (in the real-time thread). Its sizes are fixed by the network's type.
  class Fit {
   public:
    [[nodiscard]] int iterations() const noexcept { return iterations_; }  ///< FastICA's
    [[nodiscard]] bool converged() const noexcept { return converged_; }   ///< FastICA's
    [[nodiscard]] double samples() const noexcept { return samples_; }     ///< in the block

    /// Orders and signs the components like the columns of `mixing` (D x D, e.g. the network's
    /// `mixing()` before the change): component j becomes the one whose mixing column has the
    /// largest |cosine| with mixing's column j in the pairing of maximum total |cosine| (Hungarian
    /// algorithm), signed so that the cosine is positive. A network that adopts the fit keeps each
    /// output on its source across the adoption. Returns the smallest paired |cosine| (near 1: the
    /// maps barely moved; near 1 / sqrt(D): the pairing is a guess). Not real-time (it allocates,
    /// O(D^3)). Throws `dimension_error` unless `mixing` is D x D and `numerical_error` for a
    /// non-finite or zero column.
    double order_like(const Eigen::Ref<const Eigen::MatrixXd>& mixing) {
      if (mixing.rows() != D || mixing.cols() != D) {
        DENDRITE_THROW(dimension_error, "ORICA::Fit::order_like: expected a ", D, " x ", D,
                       " mixing, got ", mixing.rows(), " x ", mixing.cols());
      }
      const Eigen::ArrayXd norms = mixing.colwise().norm().transpose().array();
      if (!mixing.allFinite() || (norms == 0).any()) {
        DENDRITE_THROW(numerical_error, "ORICA::Fit::order_like: the mixing to order by must be "
                       "finite with no zero column");
      }
      using Map = Eigen::Map<const MatrixX<Scalar>>;
      const Eigen::MatrixXd b = Map(m_.data(), D, D).template cast<double>();
      const Eigen::MatrixXd a = Map(minv_.data(), D, D).template cast<double>();
      const Eigen::MatrixXd cosine =
          (mixing * norms.inverse().matrix().asDiagonal()).transpose() * a.colwise().normalized();
      const std::vector<Eigen::Index> pair =
          min_cost_assignment(Eigen::MatrixXd(-cosine.cwiseAbs()));
      const auto old_stats = std::array{sech2_, y2_, ytanh_};
      double worst = 1;
      for (Eigen::Index j = 0; j < D; ++j) {
        const Eigen::Index k = pair[std::size_t(j)];
        const double c = cosine(j, k);
        worst = std::min(worst, std::abs(c));
        const Scalar sign = c < 0 ? Scalar(-1) : Scalar(1);
        for (Eigen::Index i = 0; i < D; ++i) {
          m_[std::size_t(i * D + j)] = sign * Scalar(b(k, i));     // row j of B: row k, signed
          minv_[std::size_t(j * D + i)] = sign * Scalar(a(i, k));  // column j of A: column k
        }
        const auto ju = std::size_t(j), ku = std::size_t(k);
        sech2_[ju] = old_stats[0][ku];  // even in the sign
        y2_[ju] = old_stats[1][ku];
        ytanh_[ju] = old_stats[2][ku];
      }
      return worst;
    }

   private:
    friend class ORICA;
    Fit() : m_(kD * kD), minv_(kD * kD), mean_(kD), sech2_(kD), y2_(kD), ytanh_(kD) {}
    aligned_vector<Scalar> m_, minv_;  // D x D column-major: the unmixing B and its inverse
    aligned_vector<Scalar> mean_, sech2_, y2_, ytanh_;  // D: the mean, B's outputs' sign statistics
    Scalar var_ = 0;                // mean channel variance of the block
    double samples_ = 0;
    int iterations_ = 0;
    bool converged_ = false;
  };

  /// Batch fit of a stream's recent input, e.g. the few seconds after `reheats()` counted a
  /// change: FastICA on `recent` (D x n raw samples, n > D). Not real-time: it allocates and
  /// costs O(n D^2) per FastICA iteration (2-25 ms for 16 channels x 5 s at 256 Hz here), so run
  /// it on a worker thread (it reads nothing of the network) and hand the result to `adopt`.
  /// Throws `dimension_error` for a block of the wrong shape and `numerical_error` when the block
  /// is not finite or FastICA cannot whiten it.
  [[nodiscard]] static Fit fit(const Eigen::Ref<const Eigen::MatrixXd>& recent,
                               const FastICAOptions& fit_options = {}) {
    if (recent.rows() != D || recent.cols() <= D) {
      DENDRITE_THROW(dimension_error, "ORICA::fit: expected ", D, " x n samples with n > ", D,
                     "; got ", recent.rows(), " x ", recent.cols());
    }
    if (!recent.allFinite()) {
      DENDRITE_THROW(numerical_error, "ORICA::fit: the block has non-finite samples");
    }
    const FastICAResult r = fastica(recent, fit_options);
    if (!r.unmixing.allFinite() || !r.mixing.allFinite()) {
      DENDRITE_THROW(numerical_error, "ORICA::fit: FastICA gave a non-finite unmixing");
    }
    Fit f;
    const Eigen::MatrixXd centred = recent.colwise() - r.mean;
    const Eigen::MatrixXd y = r.unmixing * centred;
    const double n = double(recent.cols());
    const Eigen::ArrayXXd th = y.array().tanh();
    const Eigen::ArrayXd s2 = (1.0 - th.square()).rowwise().sum() / n;
    const Eigen::ArrayXd yy = y.array().square().rowwise().sum() / n;
    const Eigen::ArrayXd yt = (y.array() * th).rowwise().sum() / n;
    for (Eigen::Index j = 0; j < D; ++j) {
      for (Eigen::Index i = 0; i < D; ++i) {
        f.m_[std::size_t(j * D + i)] = Scalar(r.unmixing(i, j));
        f.minv_[std::size_t(j * D + i)] = Scalar(r.mixing(i, j));
      }
      const auto k = std::size_t(j);
      f.mean_[k] = Scalar(r.mean(j));
      f.sech2_[k] = Scalar(s2(j));
      f.y2_[k] = Scalar(yy(j));
      f.ytanh_[k] = Scalar(yt(j));
    }
    f.var_ = Scalar(centred.squaredNorm() / (n * double(D)));
    f.samples_ = n;
    f.iterations_ = r.iterations;
    f.converged_ = r.converged;
    return f;
  }

  /// Takes over a batch fit in one lane: the fit's unmixing B gives unit-variance outputs on its
  /// block (B C B^T = I), so M = B is a whitener (M^T M = C^-1) with W = I; M^-1 = B^-1, the mean
  /// is the block's, the signs come from B's outputs on the block, both rates go to their floors
  /// (the fit is taken as converged; the schedule's clock is shared by the lanes) and a checkpoint
  /// is taken. Online learning goes on from there. O(D^2). Real-time safe; returns false (and
  /// changes nothing) for a lane index out of range.
  DENDRITE_REALTIME bool adopt(const Fit& f, std::size_t lane_index = 0) noexcept {
    if (lane_index >= lanes_v<T>) return false;
    bn_ = 0;  // a block whitened by the old M is not learned from
    settle_inverse();
    settle_m<false>(nullptr, nullptr);  // the other lanes' pending updates
    settle_w<false>(nullptr, nullptr);
    for (std::size_t k = 0; k < kD * kD; ++k) {
      dendrite::set_lane(w_[k], lane_index, Scalar(k % (kD + 1) == 0 ? 1 : 0));
      dendrite::set_lane(m_[k], lane_index, f.m_[k]);
      dendrite::set_lane(minv_[k], lane_index, f.minv_[k]);
    }
    for (std::size_t j = 0; j < kD; ++j) {
      dendrite::set_lane(mean_[j], lane_index, f.mean_[j]);
      dendrite::set_lane(sech2_[j], lane_index, f.sech2_[j]);
      dendrite::set_lane(y2_[j], lane_index, f.y2_[j]);
      dendrite::set_lane(ytanh_[j], lane_index, f.ytanh_[j]);
      const Scalar k = f.sech2_[j] * f.y2_[j] - f.ytanh_[j] >= 0 ? Scalar(1) : Scalar(-1);
      dendrite::set_lane(sign_[j], lane_index, k);
    }
    dendrite::set_lane(var_, lane_index, f.var_);
    dendrite::set_lane(started_, lane_index, Scalar(1));
    dendrite::set_lane(warm_n_, lane_index, Scalar(kWarmUp));  // the fit's scale stands
    // both rates at their floors: the cooling clock where l reaches it, the whitener's at n
    clock_ = std::max(clock_, clock_at(floor_));
    wclock_ = std::max(wclock_, f.samples_);
    reset_index();
    checkpoint();
    return true;
  }

  /// `adopt(fit(recent), lane_index)` in one call, for a caller that can afford the fit's time
  /// in its own thread; with `keep_order` the fit is first ordered like the lane's current
  /// components (`Fit::order_like(mixing(lane_index))`), so that each output keeps its source.
  /// Throws as `fit` does, and `dimension_error` for a lane out of range.
  void refit(const Eigen::Ref<const Eigen::MatrixXd>& recent, std::size_t lane_index = 0,
             const FastICAOptions& fit_options = {}, bool keep_order = true) {
    if (lane_index >= lanes_v<T>) {
      DENDRITE_THROW(dimension_error, "ORICA::refit: lane ", lane_index, " of ", lanes_v<T>);
    }
    Fit f = fit(recent, fit_options);
    if (keep_order) {
      const Eigen::MatrixXd current = mixing(lane_index);
      if (current.allFinite() && current.colwise().norm().minCoeff() > 0) {
        (void)f.order_like(current);
      }
    }
    (void)adopt(f, lane_index);
  }

  /// The total unmixing of one lane, from raw (centred) input to output: W M.
  [[nodiscard]] Eigen::MatrixXd unmixing(std::size_t lane_index = 0) const {
    return rotation(lane_index) * whitener(lane_index);
  }
  /// The estimated mixing of one lane: (W M)^-1 = M^-1 W^T (W is a rotation).
  [[nodiscard]] Eigen::MatrixXd mixing(std::size_t lane_index = 0) const {
    Eigen::MatrixXd minv = matrix(minv_, lane_index);
    if (qn_ > 0) {  // queued updates (see qx_)
      const Eigen::Index n = Eigen::Index(qn_);
      const Eigen::Map<const MatrixX<Scalar>> x(qx_.data(), D, n), v(qv_.data(), D, n);
      minv = double(qphi_) *
             (minv + x.template cast<double>() * v.template cast<double>().transpose());
    }
    if (bn_ > 0) {  // a partial block: (M_0^-1 + X E V^T) / phi (see run_blocks)
      const auto [x, v, phi] = block_columns();
      minv = (minv + x * em_vector().asDiagonal() * v.transpose()) / phi;
    }
    return minv * rotation(lane_index).transpose();
  }
  /// One lane's mixing at its last checkpoint (the state a divergence restores: settled, at most
  /// `checkpoint_interval` accepted samples old) as its two factors, column-major D x D each:
  /// mixing = M^-1 W^T. A copy to take in the real-time thread for a fit ordered on another
  /// (`Fit::order_like`; ORICATracker does so at a detection). O(D^2), no allocation: real-time
  /// safe. Returns false (and copies nothing) for a lane out of range or a span not D^2 long.
  DENDRITE_REALTIME bool checkpoint_factors(std::span<Scalar> minv, std::span<Scalar> w,
                                            std::size_t lane_index = 0) const noexcept {
    if (lane_index >= lanes_v<T> || minv.size() != kD * kD || w.size() != kD * kD) return false;
    for (std::size_t k = 0; k < kD * kD; ++k) {
      minv[k] = dendrite::lane(minv_ckpt_[k], lane_index);
      w[k] = dendrite::lane(w_ckpt_[k], lane_index);
    }
    return true;
  }

  /// The rotation W of one lane (acts on the whitened input).
  [[nodiscard]] Eigen::MatrixXd rotation(std::size_t lane_index = 0) const {
    Eigen::MatrixXd w = matrix(w_, lane_index);
    if (bn_ > 0) {  // a partial block: (I + Ua Ub^T) W_0
      const Eigen::Map<const MatrixX<Scalar>> ua(bua_.data(), D, Eigen::Index(2 * bn_));
      const Eigen::Map<const MatrixX<Scalar>> ub(bub_.data(), D, Eigen::Index(2 * bn_));
      w += ua.template cast<double>() * (ub.template cast<double>().transpose() * w);
    }
    if (w_pending_) {  // the update the next step applies (see pw_y_)
      const Eigen::VectorXd y = detail::lane_vector(pw_y_, lane_index);
      const Eigen::VectorXd g = detail::lane_vector(pw_g_, lane_index);
      const Eigen::VectorXd p = w.transpose() * y, q = w.transpose() * g;
      const auto c = [&](std::size_t k) { return double(lane(pw_c_[k], lane_index)); };
      w += g * (c(0) * p + c(1) * q).transpose() + y * (c(2) * p + c(3) * q).transpose();
    }
    return w;
  }
  /// The whitening matrix M of one lane.
  [[nodiscard]] Eigen::MatrixXd whitener(std::size_t lane_index = 0) const {
    Eigen::MatrixXd m = matrix(m_, lane_index);
    if (bn_ > 0) {  // a partial block: phi (I + V T V^T) M_0
      const auto [x, v, phi] = block_columns();
      const auto n = Eigen::Index(bn_);
      const Eigen::Map<const MatrixX<Scalar>, 0, Eigen::OuterStride<>> t(
          bt_.data(), n, n, Eigen::OuterStride<>(Eigen::Index(block_)));
      m = phi * (m + v * (t.template cast<double>() * (v.transpose() * m)));
    }
    if (m_pending_) {  // the update the next step applies (see pm_v_)
      const Eigen::VectorXd v = detail::lane_vector(pm_v_, lane_index);
      const Eigen::VectorXd p = m.transpose() * v;
      m = double(lane(pm_f_, lane_index)) * m +
          double(lane(pm_mc_, lane_index)) * v * p.transpose();
    }
    return m;
  }

 private:
  // The partial block's X and V (D x bn_, in double) and phi_{bn_ - 1}, for the accessors.
  [[nodiscard]] std::tuple<Eigen::MatrixXd, Eigen::MatrixXd, double> block_columns() const {
    const auto n = Eigen::Index(bn_);
    return {Eigen::Map<const MatrixX<Scalar>>(bx_.data(), D, n).template cast<double>(),
            Eigen::Map<const MatrixX<Scalar>>(bv_.data(), D, n).template cast<double>(),
            double(phi_[bn_ - 1])};
  }
  [[nodiscard]] Eigen::VectorXd em_vector() const {
    return Eigen::Map<const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>(em_.data(), Eigen::Index(bn_))
        .template cast<double>();
  }

 public:
  /// The running mean of one lane.
  [[nodiscard]] Eigen::VectorXd mean(std::size_t lane_index = 0) const {
    return detail::lane_vector(mean_, lane_index);
  }
  /// +1 where a component is treated as super-Gaussian, -1 where sub-Gaussian (one lane).
  [[nodiscard]] Eigen::VectorXd signs(std::size_t lane_index = 0) const {
    return detail::lane_vector(sign_, lane_index);
  }
  /// Samples per update (`ORICAOptions::block_size`, with 0 resolved): 1 for the serial path.
  [[nodiscard]] std::size_t block_size() const noexcept { return block_; }
  /// The ICA rate (forgetting factor) the next sample will learn with.
  [[nodiscard]] double learning_rate() const noexcept { return rate(); }
  /// Samples learned from so far.
  [[nodiscard]] std::uint64_t samples() const noexcept { return t_; }
  /// The nonstationarity index of the Adaptive schedule: the outputs' mean squared correlation
  /// over the index's window (near 0 while they stay independent).
  [[nodiscard]] double nonstationarity() const noexcept { return nsi_; }
  /// How often the Adaptive schedule detected a change and reheated.
  [[nodiscard]] std::uint64_t reheats() const noexcept { return reheats_; }
  [[nodiscard]] const ORICAOptions& options() const noexcept { return opt_; }

  /// Cost of one step (multiply-adds counted as 2 flops): about 7 D x D passes.
  [[nodiscard]] static constexpr double flops_per_step() noexcept {
    return 14.0 * double(D) * double(D) * double(lanes_v<T>);
  }
  /// Bytes of state one step reads and writes (W, M, M^-1, each read and written).
  [[nodiscard]] static constexpr double bytes_per_step() noexcept {
    return 6.0 * double(D) * double(D) * double(sizeof(T));
  }

 private:
  [[nodiscard]] double rate() const noexcept {
    switch (opt_.schedule) {
      case ForgettingSchedule::Constant:
        return floor_;
      case ForgettingSchedule::Cooling:
      case ForgettingSchedule::Adaptive:
        break;
    }
    const double base = 1.0 + clock_ / opt_.t0;
    const double l = opt_.lambda0 / (opt_.gamma == 1.0 ? base : std::pow(base, opt_.gamma));
    return std::max(l, floor_);
  }

  // The cooling clock at which l0 / (1 + t / t0)^gamma equals l (rate()'s inverse).
  [[nodiscard]] double clock_at(double l) const noexcept {
    const double g = std::max(opt_.gamma, 1e-9);
    return opt_.t0 * (std::pow(opt_.lambda0 / l, 1.0 / g) - 1.0);
  }

  void start(const mask_t<T>& first, const std::array<T, kD>& x) noexcept {
    T ss(0);
    for (std::size_t i = 0; i < kD; ++i) ss = dendrite::fma(x[i], x[i], ss);
    const T rms = dendrite::sqrt(ss / broadcast<T>(double(D)));
    const mask_t<T> usable = first && (rms > T(0)) && dendrite::isfinite(rms);
    scale_whitener(usable, ss / broadcast<T>(double(D)));
    for (std::size_t j = 0; j < kD; ++j) mean_[j] = dendrite::select<T>(usable, x[j], mean_[j]);
    started_ = dendrite::select<T>(usable, T(1), started_);
  }

  // In `lanes` (where var > 0 and finite), the whitener at a channel variance var: M = I / rms,
  // M^-1 = I rms (rms = sqrt var) and the running variance var; its start, and the warm-up's.
  void scale_whitener(const mask_t<T>& lanes, const T& var) noexcept {
    const T rms = dendrite::sqrt(var);
    const T scale = dendrite::select<T>(lanes, T(1) / rms, T(1));
    for (std::size_t j = 0; j < kD; ++j) {
      for (std::size_t i = 0; i < kD; ++i) {
        const T diag = T(i == j ? Scalar(1) : Scalar(0));
        m_[j * kD + i] = dendrite::select<T>(lanes, diag * scale, m_[j * kD + i]);
        minv_[j * kD + i] = dendrite::select<T>(lanes, diag * rms, minv_[j * kD + i]);
      }
    }
    var_ = dendrite::select<T>(lanes, var, var_);
  }

  // The first kWarmUp learned samples after a lane's start: their centred power |x - m|^2
  // (`spread`) is summed; at the last, if the whitener's running channel variance is still
  // above 4x their mean channel variance, the starting scale was an offset's, not the
  // signal's (start() takes it from the first sample's rms), and the whitener restarts at the
  // spread's scale: M = I / s, M^-1 = I s, var = s^2. Without it a DC offset c times the
  // signal's scale starts the running covariance c^2 too large, and the ridge's dither with it,
  // and the running average forgets that only after tens of seconds (docs/LIMITS.md). The
  // whitener's first-sample prior weighs 1 / (kWarmUp + 1) by then, so this fires for offsets
  // of about 15x the signal's scale and more, and leaves a recording without one untouched.
  void warm_up(const mask_t<T>& good, const T& spread) noexcept {
    const mask_t<T> in = good && (warm_n_ < T(kWarmUp));
    warm_ss_ = warm_ss_ + dendrite::select<T>(in, spread, T(0));
    warm_n_ = warm_n_ + dendrite::select<T>(in, T(1), T(0));
    const T s2 = warm_ss_ / broadcast<T>(double(kWarmUp) * double(D));
    const mask_t<T> offset = in && (warm_n_ == T(kWarmUp)) && (s2 > T(0)) &&
                             dendrite::isfinite(s2) && (var_ > T(4) * s2);
    if (!any_of(offset)) return;
    settle_inverse();
    settle_m<false>(nullptr, nullptr);
    settle_w<false>(nullptr, nullptr);
    scale_whitener(offset, s2);
  }

  // One sample's updates; returns its centred power |x - m|^2 before the dither (0 in lanes
  // that do not learn), which the warm-up sums.
  T learn_from(const mask_t<T>& good, std::array<T, kD>& xc, std::array<T, kD>& v,
               std::array<T, kD>& y, std::array<T, kD>& g, double lw) noexcept {
    const T gate = dendrite::select<T>(good, T(1), T(0));
    const T ss = detail::dot<T, D>(xc.data(), xc.data());
    // (a) whitener: M <- (I - c' v v^T) M / sqrt(1 - l_w);  M^-1 <- sqrt(1 - l_w) M^-1 (I + c'' v v^T)
    //     (M^-1 v = x - m, exactly in exact arithmetic). A ridge: a +/- dither in one channel.
    {
      const T lwt = broadcast<T>(lw) * gate;
      var_ = dendrite::fma(lwt, ss / broadcast<T>(double(D)) - var_, var_);
      if (opt_.ridge > 0) {
        const auto [k, d] = dither(gate);
        xc[k] = xc[k] + d;
        detail::axpy<T, D>(v.data(), d, &m_[k * kD]);
      }
      const auto [cp, cpp, f] = whitening_terms(lwt, detail::dot<T, D>(v.data(), v.data()));
      // M <- f M - f c' v p^T with p = M^T v, left to the next step's pass over M (settle_m:
      // p_j needs only column j, which is then updated and multiplied by that step's x_j);
      // M^-1 <- M^-1 / f + (c'' / f) (x - m) v^T now.
      if (defer_) {
        std::copy(v.begin(), v.end(), pm_v_.begin());
        pm_f_ = f;
        pm_mc_ = -f * cp;
        m_pending_ = true;
      } else {
        update_m<false>(v.data(), f, -f * cp, nullptr, nullptr);
      }
      const T inv_f = T(1) / f;
      const T nc = cpp * inv_f;
      if (!queue_inverse(inv_f, nc, xc.data(), v.data())) {
        for (std::size_t j = 0; j < kD; ++j) {
          detail::scale_axpy<T, D>(&minv_[j * kD], inv_f, nc * v[j], xc.data());
        }
      }
    }
    // (b) signs and g = k tanh(y)
    nonlinearity(gate, y.data(), g.data());
    // (c) rotation: W <- (I + aH)^-1 (I - aH) W, H = g y^T - y g^T = U V^T, U = [g, -y],
    //     V = [y, g]. With p = W^T y (= v for an orthogonal W) and q = W^T g:
    //     W' = W + g (c1 p + c2 q)^T + y (c3 p + c4 q)^T, K = (I + aB)^-1 (I - aB), B = V^T U.
    const std::array<T, 4> c = rotation_coefficients(broadcast<T>(0.5 * rate()) * gate, y.data(),
                                                     g.data());
    // Left to the next step's pass over W (settle_w: p_j = W(:, j) . y and q_j = W(:, j) . g
    // need only column j, which is then updated and multiplied by that step's v_j).
    if (defer_) {
      pw_c_ = c;
      std::copy(y.begin(), y.end(), pw_y_.begin());
      std::copy(g.begin(), g.end(), pw_g_.begin());
      w_pending_ = true;
    } else {
      update_w<false>(y.data(), g.data(), c, nullptr, nullptr);
    }
    // (d) nonstationarity index (Adaptive): the outputs' mean squared correlation over the
    //     last `nsi_memory_s` (updated every 4th sample), against its own slow running mean and
    //     spread. Past `reheat_threshold` standard deviations, the whitener restarts its running
    //     average and the ICA clock goes back (see reheat()).
    if (opt_.schedule == ForgettingSchedule::Adaptive && opt_.sample_rate > 0 &&
        (t_ & 3U) == 0) {
      update_index(gate, y.data());
    }
    // (e) one row of W back toward orthonormal every few samples
    if (++since_reorth_ >= opt_.reorthogonalize_every) {
      since_reorth_ = 0;
      settle_w<false>(nullptr, nullptr);
      reorthogonalize_row(std::size_t(row_++ % kD));
    }
    ++t_;
    clock_ += 1.0;
    wclock_ += 1.0;
    if (++since_ckpt_ >= opt_.checkpoint_interval && all_of(good)) {
      checkpoint();
    }
    return ss;
  }

  // M^-1 <- a M^-1 + b x v^T queued (see qx_) when deferring; false (nothing done) otherwise.
  bool queue_inverse(const T& a, const T& b, const T* x, const T* v) noexcept {
    if constexpr (std::is_floating_point_v<T>) {
      if (qx_.empty()) return false;
      qphi_ = qn_ == 0 ? a : qphi_ * a;
      const T e = b / qphi_;
      Scalar* qx = &qx_[qn_ * kD];
      Scalar* qv = &qv_[qn_ * kD];
      for (std::size_t i = 0; i < kD; ++i) {
        qx[i] = e * x[i];
        qv[i] = v[i];
      }
      if (++qn_ == kQueue) settle_inverse();
      return true;
    } else {
      return false;
    }
  }

  // M^-1 <- P (M^-1 + X V^T): the queued updates, applied.
  void settle_inverse() noexcept {
    if constexpr (std::is_floating_point_v<T>) {
      if (qn_ == 0) return;
      detail::gemm_nn<Scalar>(kD, kD, qn_, qphi_, qx_.data(), kD, qv_.data(), kD, 1, qphi_,
                              minv_.data(), kD);
      qn_ = 0;
    }
  }

  // The rotation's update W <- (I + aH)^-1 (I - aH) W, H = g y^T - y g^T, as
  // W + g (c0 p + c1 q)^T + y (c2 p + c3 q)^T with p = W^T y, q = W^T g (see learn_from).
  // (forced inline: g++ stopped inlining it when the state vectors became aligned_vector, and
  // the 4-channel step took 9 % longer)
  [[nodiscard]] DENDRITE_FORCE_INLINE static std::array<T, 4> rotation_coefficients(
      const T& a, const T* y, const T* g) noexcept {
    const T alpha = detail::dot<T, D>(y, g);
    const T beta = detail::dot<T, D>(y, y);
    const T gam = detail::dot<T, D>(g, g);
    // B = [[alpha, -beta], [gam, -alpha]]; I + aB = [[1 + a alpha, -a beta], [a gam, 1 - a alpha]]
    const T one(1);
    const T det = one + a * a * (beta * gam - alpha * alpha);  // >= 1 (Cauchy-Schwarz)
    const T i00 = (one - a * alpha) / det, i01 = a * beta / det;  // (I + aB)^-1
    const T i10 = -a * gam / det, i11 = (one + a * alpha) / det;
    const T b00 = one - a * alpha, b01 = a * beta, b10 = -a * gam, b11 = one + a * alpha;  // I - aB
    const T k00 = i00 * b00 + i01 * b10, k01 = i00 * b01 + i01 * b11;
    const T k10 = i10 * b00 + i11 * b10, k11 = i10 * b01 + i11 * b11;
    return {-a * (one + k00), -a * k01, a * k10, a * (one + k11)};
  }

  // The whitener's coefficients at rate l_w for s = |v|^2 (learn_from): c' = c / (1 + sqrt(1 -
  // c s)) with c = l_w / (1 - l_w + l_w s), c'' = c' / (1 - c' s) and f = 1 / sqrt(1 - l_w).
  struct WhiteningTerms {
    T cp, cpp, f;
  };
  [[nodiscard]] static WhiteningTerms whitening_terms(const T& lw, const T& s) noexcept {
    const T one(1);
    const T c = lw / (one - lw + lw * s);
    const T cp = c / (one + dendrite::sqrt(dendrite::max(one - c * s, T(0))));
    return {cp, cp / dendrite::max(one - cp * s, T(1e-30f)), one / dendrite::sqrt(one - lw)};
  }

  // The ridge's dither for this sample: channel t mod D, power ridge x the running mean channel
  // variance, its sign alternating every D samples (times gate: 0 in lanes that do not learn).
  [[nodiscard]] std::pair<std::size_t, T> dither(const T& gate) const noexcept {
    const T amp = dendrite::sqrt(broadcast<T>(opt_.ridge * double(D)) * var_) * gate;
    return {std::size_t(t_ % kD), ((t_ / kD) & 1U) != 0 ? amp : -amp};
  }

  // The signs' running statistics, k_i = sign(E[sech^2 y] E[y^2] - E[y tanh y]), updated with
  // this sample's y (rate times gate), and g = k tanh(y).
  void nonlinearity(const T& gate, const T* y, T* g) noexcept {
    const T rs = broadcast<T>(std::max(1.0 / (double(t_) + 1.0), 1.0 / opt_.sign_memory)) * gate;
    detail::tanh_n<T, D>(y, g);
    detail::for_each_update<T, D>([&]<class U>(std::size_t i) DENDRITE_FORCE_INLINE_LAMBDA {
      using detail::load_as, detail::store_as;  // U: T, or a register of T
      const U r(rs), th = load_as<U>(&g[i]), yi = load_as<U>(&y[i]);
      const U s2 = dendrite::fma(r, (U(1) - th * th) - load_as<U>(&sech2_[i]), load_as<U>(&sech2_[i]));
      const U yy = dendrite::fma(r, yi * yi - load_as<U>(&y2_[i]), load_as<U>(&y2_[i]));
      const U yt = dendrite::fma(r, yi * th - load_as<U>(&ytanh_[i]), load_as<U>(&ytanh_[i]));
      const U k = dendrite::select<U>(s2 * yy - yt >= U(0), U(1), U(-1));
      return [=, this]() DENDRITE_FORCE_INLINE_LAMBDA {
        store_as(s2, &sech2_[i]);
        store_as(yy, &y2_[i]);
        store_as(yt, &ytanh_[i]);
        store_as(k, &sign_[i]);
        store_as(k * th, &g[i]);
      };
    });
  }

  // The clip of the outputs entering the nonstationarity index, in standard deviations: with
  // 1.5 (against none) stationary recordings that reheated fell from 2, 3 and 1 of 40 to none at
  // 5, 7 and 16 channels; 1.0 and 0.75 caught fewer shifts, 3 kept more alarms (bench/README.md).
  static constexpr Scalar kIndexClip = Scalar(1.5);

  void update_index(const T& gate, const T* y) noexcept {
    const double window = opt_.nsi_memory_s * opt_.sample_rate / 4.0;  // in updates
    const T r = gate * broadcast<T>(1.0 / std::min(double(since_reheat_) + 1.0, window));
    // the outputs clipped at +-kIndexClip (they have unit variance): a burst's few large samples
    // weigh no more than the bulk's, where a new mixing shows
    std::array<T, kD> yc;
    for (std::size_t j = 0; j < kD; ++j) {
      yc[j] = dendrite::min(dendrite::max(y[j], T(-kIndexClip)), T(kIndexClip));
    }
    // their windowed covariance C
    std::array<T, kD> s;  // 1 / C_ii
    for (std::size_t j = 0; j < kD; ++j) {
      T* cj = &cov_[j * kD];
      detail::scale_axpy<T, D>(cj, T(1) - r, r * yc[j], yc.data());
      s[j] = T(1) / dendrite::max(cj[j], T(Scalar(1e-30)));
    }
    // the squared correlations C_ij^2 / (C_ii C_jj), summed per output (R_j, i != j) and in all
    std::array<T, kD> scaled;
    T pairs(0), largest(0);
    for (std::size_t j = 0; j < kD; ++j) {
      const T* cj = &cov_[j * kD];
      for (std::size_t i = 0; i < kD; ++i) scaled[i] = cj[i] * s[i];
      const T rj = (detail::dot<T, D>(cj, scaled.data()) - cj[j]) * s[j];
      pairs += rj;
      largest = dendrite::max(largest, rj);
    }
    pairs *= T(0.5);
    // their mean over the pairs, from 5 outputs without the output of the largest R_i: a burst
    // leaking from an imperfectly separated source correlates one output with the others, a
    // new mixing correlates every pair
    T index;
    if constexpr (D > 4) {
      index = (pairs - largest) * broadcast<T>(2.0 / double((D - 1) * (D - 2)));
    } else {
      index = pairs * broadcast<T>(2.0 / double(D * (D - 1)));  // D >= 2
    }
    nsi_ = double(reduce_max(index));
    ++since_reheat_;
    if (double(since_reheat_) < 2.0 * window) return;  // the window is filling
    if (!std::isfinite(nsi_)) return;  // never into the running statistics
    // the index against its stationary mean and spread (before this value enters them)
    const double sd = std::max(std::sqrt(std::max(baseline_sq_ - baseline_ * baseline_, 0.0)),
                               1e-3 * baseline_);
    const bool settled = baseline_n_ > std::uint64_t(window);
    const bool jump = settled && nsi_ > baseline_ + threshold_ * sd;
    ++baseline_n_;
    const double rb = 1.0 / std::min(double(baseline_n_), 4.0 * window);
    // winsorised at 2 sd, so that a change's rise does not widen the spread it is measured
    // against; a memory of 4 windows
    const double x = settled ? std::min(nsi_, baseline_ + 2.0 * sd) : nsi_;
    baseline_ += rb * (x - baseline_);
    baseline_sq_ += rb * (x * x - baseline_sq_);
    if (jump) {
      reheat();
    }
  }

  void reset_index() noexcept {
    if (!cov_.empty()) detail::set_identity(cov_.data(), kD);
    nsi_ = 0;
    since_reheat_ = 0;
  }

  void reheat() noexcept {
    const double target = std::max(1.0 / (opt_.reheat_memory_s * opt_.sample_rate), floor_);
    clock_ = std::min(clock_, std::max(clock_at(target), 0.0));
    wclock_ = std::min(wclock_, opt_.reheat_whitener_s * opt_.sample_rate);
    reset_index();
    ++reheats_;
  }

  // w_r <- w_r - (d - e_r)^T W / 2 with d = W w_r^T (d_j = w_j . w_r).
  void reorthogonalize_row(std::size_t r) noexcept {
    std::array<T, kD> wr, d, corr;
    for (std::size_t k = 0; k < kD; ++k) wr[k] = w_[k * kD + r];
    detail::gemv<T, D>(w_.data(), wr.data(), d.data());
    d[r] = d[r] - T(1);
    detail::gemv_t<T, D>(w_.data(), d.data(), corr.data());
    for (std::size_t k = 0; k < kD; ++k) {
      w_[k * kD + r] = dendrite::fma(T(-0.5), corr[k], wr[k]);
    }
  }

  // M <- f M + mc v (M^T v)^T, column by column (p_j = M(:, j) . v needs only column j); with
  // Product, also out = M x (the new M) in the same pass.
  template <bool Product>
  DENDRITE_FORCE_INLINE void update_m(const T* v, const T& f, const T& mc, const T* x,
                                      T* out) noexcept {
    if constexpr (Product) std::fill(out, out + kD, T(0));
    detail::for_each_column_block<T, D>(
        [&]<std::size_t NB>(std::size_t j0) DENDRITE_FORCE_INLINE_LAMBDA {
          std::array<T, NB> p;
          detail::column_dots<T, D, 1, NB>(&m_[j0 * kD], {v}, {p.data()});
          for (std::size_t b = 0; b < NB; ++b) {
            p[b] = mc * p[b];
          }
          if constexpr (Product) {
            detail::scale_axpy_acc<T, D, NB>(&m_[j0 * kD], f, p, v, x + j0, out);
          } else {
            for (std::size_t b = 0; b < NB; ++b) {
              detail::scale_axpy<T, D>(&m_[(j0 + b) * kD], f, p[b], v);
            }
          }
        });
  }

  // Column j's coefficients of W's rank-2 update (see update_w): (c0 p_j + c1 q_j, c2 p_j + c3 q_j)
  DENDRITE_FORCE_INLINE static std::pair<T, T> rotation_terms(const std::array<T, 4>& c,
                                                              const T& p, const T& q) noexcept {
    return {dendrite::fma(c[0], p, c[1] * q), dendrite::fma(c[2], p, c[3] * q)};
  }

  // W <- W + g (c0 p + c1 q)^T + y (c2 p + c3 q)^T with p = W^T y, q = W^T g, column by column;
  // with Product, also out = W x (the new W) in the same pass.
  template <bool Product>
  DENDRITE_FORCE_INLINE void update_w(const T* y, const T* g, const std::array<T, 4>& c,
                                      const T* x, T* out) noexcept {
    if constexpr (Product) std::fill(out, out + kD, T(0));
    detail::for_each_column_block<T, D>(
        [&]<std::size_t NB>(std::size_t j0) DENDRITE_FORCE_INLINE_LAMBDA {
          std::array<T, NB> p, q, r0, r1;
          detail::column_dots<T, D, 2, NB>(&w_[j0 * kD], {y, g}, {p.data(), q.data()});
          for (std::size_t b = 0; b < NB; ++b) {
            std::tie(r0[b], r1[b]) = rotation_terms(c, p[b], q[b]);
          }
          if constexpr (Product) {
            detail::axpy2_acc<T, D, NB>(&w_[j0 * kD], r0, g, r1, y, x + j0, out);
          } else {
            for (std::size_t b = 0; b < NB; ++b) {
              detail::axpy2<T, D>(&w_[(j0 + b) * kD], r0[b], g, r1[b], y);
            }
          }
        });
  }

  // Applies the pending update of M (see pm_v_), if any; with Product (only where one is
  // pending), also y = M x in the same pass.
  template <bool Product>
  [[gnu::noinline]] void settle_m(const T* x, T* y) noexcept {
    if (!m_pending_) return;
    update_m<Product>(pm_v_.data(), pm_f_, pm_mc_, x, y);
    m_pending_ = false;
  }

  // The same for W's pending update (see pw_y_); with Product, y = W x.
  template <bool Product>
  [[gnu::noinline]] void settle_w(const T* x, T* y) noexcept {
    if (!w_pending_) return;
    update_w<Product>(pw_y_.data(), pw_g_.data(), pw_c_, x, y);
    w_pending_ = false;
  }

  // The block update (block_size > 1): the serial rule, exactly, with the O(D^2) passes batched.
  // Every serial step multiplies M and W on the left, M <- f (I - c' v v^T) M and
  // W <- K W with K = I + g (c0 y + c1 g)^T + y (c2 y + c3 g)^T (learn_from), so within a block
  // that started from M_0 and W_0:
  //   M_j = phi_j (I + V T V^T) M_0       V = [v~_1 .. v~_j] (the dithered whitened inputs),
  //                                       T lower triangular: row j = -c'_j (v~_j^T V) T,
  //                                       T_jj = -c'_j; phi_j = f_1 ... f_j
  //   W_j = (I + Ua Ub^T) W_0             Ua = [g_1, y_1, ..], Ub's new pair = B_j + Ub (Ua^T B_j),
  //                                       B_j = [c0 y + c1 g, c2 y + c3 g]
  //   M_j^-1 = (M_0^-1 + X E V^T) / phi_j   X = [x~_1 ..] (dithered centred inputs),
  //                                       E = diag(phi_k c''_k / f_k)
  // A sample's v = M_{j-1} x and y = W_{j-1} v then need only M_0 x and W_0 (M_0 x), which two
  // matrix-matrix products give for all the samples a call hands over, plus O(j D) in the
  // block's columns; the dither's M_{j-1} e_k needs W_0 M_0 e_k, one more product per block. A
  // full block applies the three factors with matrix-matrix products (10 D^2 N multiply-adds in
  // all, against about 7 D^2 N in N serial steps' matrix passes, but in cache-blocked kernels
  // instead of passes that stream the matrices). The one departure from the serial steps: the
  // rows of W that `reorthogonalize_every` makes due inside a block are corrected at its end.
  // Until then the accessors and `reconstruct` apply the partial block's factors.

  // n samples through the block path (block_ > 1); counts into r, returns the last status.
  Status run_blocks(const Scalar* x, Scalar* y, std::size_t n, rt::BlockResult& r) noexcept {
    Status last = Status::Ok;
    std::size_t t = 0;
    while (t < n) {
      if (started_ == T(0) || warm_n_ < T(kWarmUp)) {  // start and warm-up: step's path
        last = step_one(std::span<const T, kD>(x + t * kD, kD), std::span<T, kD>(y + t * kD, kD));
        rt::detail::count(r, last);
        ++t;
        continue;
      }
      if (bn_ == 0 && !frozen_) begin_block();
      const std::size_t c0 = bn_;
      const std::size_t run = std::min(block_ - bn_, n - t);
      // (a) screen and centre, sample by sample; a good sample takes the next column, a
      //     rejected one none (the state stays untouched). The mean's rate counts this run's
      //     good samples as learned (a divergence below restores the mean anyway).
      std::array<int, kMaxBlock> col{};  // column of sample s after c0, or -1: rejected
      std::array<bool, kMaxBlock> finite{};
      std::size_t used = 0;
      double wclock = wclock_;
      for (std::size_t s = 0; s < run; ++s) {
        std::array<T, kD> xs;
        mask_t<T> fin, in_range;
        detail::screen<T, D>(x + (t + s) * kD, xs.data(), broadcast<T>(opt_.max_abs_input), fin,
                             in_range);
        finite[s] = fin;
        col[s] = fin && in_range ? int(used) : -1;
        if (col[s] < 0) continue;
        Scalar* xc = &bx_[(c0 + used++) * kD];
        const Scalar lw = frozen_ ? Scalar(0) : Scalar(std::max(1.0 / (wclock + 2.0), floor_));
        for (std::size_t i = 0; i < kD; ++i) {
          mean_[i] += lw * (xs[i] - mean_[i]);
          xc[i] = xs[i] - mean_[i];
        }
        wclock += frozen_ ? 0.0 : 1.0;
      }
      // (b) M_0 x and W_0 M_0 x for the run's good samples
      Scalar* v0 = &bv0_[c0 * kD];
      Scalar* y0 = &by0_[c0 * kD];
      detail::gemm_nn<Scalar>(kD, used, kD, 1, m_.data(), kD, &bx_[c0 * kD], 1, kD, 0, v0, kD);
      detail::gemm_nn<Scalar>(kD, used, kD, 1, w_.data(), kD, v0, 1, kD, 0, y0, kD);
      // (c) sample by sample: v and y through the block's factors, the guard, the output and
      //     the learning
      bool diverged = false;
      for (std::size_t s = 0; s < run && !diverged; ++s) {
        Scalar* out = y + (t + s) * kD;
        if (col[s] < 0) {
          std::fill(out, out + kD, Scalar(0));
          rt::detail::count(r, last = finite[s] ? Status::RejectedOutlier
                                                : Status::RejectedNonFinite);
          continue;
        }
        const std::size_t c = c0 + std::size_t(col[s]);
        std::array<Scalar, kD> v, u, yv;
        separate_column(c, v.data(), u.data(), yv.data());
        const Scalar norm2 = detail::dot<T, D>(yv.data(), yv.data());
        if (!(std::isfinite(norm2) && norm2 <= opt_.max_output_norm2 * double(D))) {
          std::fill(out, out + kD, Scalar(0));  // restore; the call goes on from the next sample
          restore(true);
          rt::detail::count(r, last = Status::Diverged);
          t += s + 1;
          diverged = true;
          continue;
        }
        std::copy(yv.begin(), yv.end(), out);
        rt::detail::count(r, last = Status::Ok);
        if (!frozen_) learn_column(c, v.data(), u.data(), yv.data());
      }
      if (diverged) continue;
      t += run;
      if (!frozen_) bn_ += used;
      if (bn_ == block_) {
        update_block();
        bn_ = 0;
      }
    }
    return last;
  }

  // At a block's first sample: W_0 M_0 e_k for the dither channels k of its samples.
  void begin_block() noexcept {
    learned_ = 0;
    if (!(opt_.ridge > 0)) return;
    const std::size_t k0 = std::size_t(t_ % kD);
    std::size_t done = 0;
    while (done < block_) {  // columns k0 + done, ... of M_0, in at most two runs (mod D)
      const std::size_t k = (k0 + done) % kD;
      const std::size_t cols = std::min(block_ - done, kD - k);
      detail::gemm_nn<Scalar>(kD, cols, kD, 1, w_.data(), kD, &m_[k * kD], 1, kD, 0,
                              &bwm_[done * kD], kD);
      done += cols;
    }
  }

  // v = M_{c-1} x_c, u = W_0 v and y = W_{c-1} v for column c from the block's first c columns.
  void separate_column(std::size_t c, Scalar* v, Scalar* u, Scalar* y) const noexcept {
    const Scalar* v0 = &bv0_[c * kD];
    const Scalar phi = c == 0 ? Scalar(1) : phi_[c - 1];
    lowrank_apply(c, v0, v, u, phi, &by0_[c * kD]);
    // y = u + Ua (Ub^T u)
    std::copy(u, u + kD, y);
    for (std::size_t k = 0; k < 2 * c; ++k) {
      detail::axpy<T, D>(y, detail::dot<T, D>(&bub_[k * kD], u), &bua_[k * kD]);
    }
  }

  // For the first c columns, z = T (V^T a): va = phi (a + V z) and wa = phi (wa0 + WV z). With
  // a = M_0 x and wa0 = W_0 M_0 x these are M_{c-1} x and W_0 M_{c-1} x.
  void lowrank_apply(std::size_t c, const Scalar* a, Scalar* va, Scalar* wa, Scalar phi,
                     const Scalar* wa0) const noexcept {
    std::array<Scalar, kMaxBlock> w, z;
    for (std::size_t k = 0; k < c; ++k) w[k] = detail::dot<T, D>(&bv_[k * kD], a);
    for (std::size_t i = 0; i < c; ++i) {  // T is lower triangular
      Scalar s = 0;
      for (std::size_t k = 0; k <= i; ++k) s += bt_[k * block_ + i] * w[k];
      z[i] = s;
    }
    std::copy(a, a + kD, va);
    std::copy(wa0, wa0 + kD, wa);
    for (std::size_t k = 0; k < c; ++k) {
      detail::axpy<T, D>(va, z[k], &bv_[k * kD]);
      detail::axpy<T, D>(wa, z[k], &bwv_[k * kD]);
    }
    for (std::size_t i = 0; i < kD; ++i) {
      va[i] *= phi;
      wa[i] *= phi;
    }
  }

  // Column c was learned from (learn_from's arithmetic, against the block's factors): the
  // rates, the dither, the whitener's coefficients (T's row c, phi_c, E), the signs and g, the
  // rotation's factor (Ua, Ub), the nonstationarity index, and the clocks.
  void learn_column(std::size_t c, const Scalar* v, const Scalar* u, const Scalar* yv) noexcept {
    Scalar* xt = &bx_[c * kD];
    Scalar* vt = &bv_[c * kD];
    Scalar* wv = &bwv_[c * kD];
    const double lw = std::max(1.0 / (wclock_ + 2.0), floor_);
    const double l = rate();
    if (opt_.schedule == ForgettingSchedule::Adaptive && opt_.sample_rate > 0 && (t_ & 3U) == 0) {
      update_index(T(1), yv);
    }
    // (a) whitener, with the dither d e_k: x~ = x + d e_k, v~ = v + d M_{c-1} e_k
    std::copy(v, v + kD, vt);
    std::copy(u, u + kD, wv);
    const Scalar ss = detail::dot<T, D>(xt, xt);
    const Scalar lwt = Scalar(lw);
    var_ = dendrite::fma(lwt, ss / Scalar(D) - var_, var_);
    const Scalar phi_prev = c == 0 ? Scalar(1) : phi_[c - 1];
    if (opt_.ridge > 0) {
      const auto [k, d] = dither(T(1));
      std::array<Scalar, kD> mk, wmk;
      lowrank_apply(c, &m_[k * kD], mk.data(), wmk.data(), phi_prev, &bwm_[learned_ * kD]);
      xt[k] += d;
      detail::axpy<T, D>(vt, d, mk.data());
      detail::axpy<T, D>(wv, d, wmk.data());
    }
    const auto [cp, cpp, f] = whitening_terms(lwt, detail::dot<T, D>(vt, vt));
    // T's row c = -c' (v~^T V) T, T_cc = -c'
    std::array<Scalar, kMaxBlock> vv;
    for (std::size_t k = 0; k < c; ++k) vv[k] = detail::dot<T, D>(vt, &bv_[k * kD]);
    for (std::size_t j = 0; j < c; ++j) {
      Scalar acc = 0;
      for (std::size_t k = j; k < c; ++k) acc += vv[k] * bt_[j * block_ + k];
      bt_[j * block_ + c] = -cp * acc;
    }
    bt_[c * block_ + c] = -cp;
    for (std::size_t i = c + 1; i < block_; ++i) bt_[c * block_ + i] = 0;
    phi_[c] = f * phi_prev;
    em_[c] = cpp / f * phi_[c];
    // (b) signs: k_i = sign(E[sech^2 y] E[y^2] - E[y tanh y]); g = k tanh(y)
    Scalar* ga = &bua_[2 * c * kD];  // Ua's pair: g, y
    Scalar* ya = ga + kD;
    std::copy(yv, yv + kD, ya);
    nonlinearity(T(1), yv, ga);
    // (c) rotation: K = I + g (c0 y + c1 g)^T + y (c2 y + c3 g)^T (learn_from's coefficients);
    //     Ub's new pair: B + Ub (Ua^T B), B = [c0 y + c1 g, c2 y + c3 g]
    const std::array<T, 4> cf = rotation_coefficients(broadcast<T>(0.5 * l), ya, ga);
    Scalar* b0 = &bub_[2 * c * kD];
    Scalar* b1 = b0 + kD;
    for (std::size_t i = 0; i < kD; ++i) {
      b0[i] = cf[0] * ya[i] + cf[1] * ga[i];
      b1[i] = cf[2] * ya[i] + cf[3] * ga[i];
    }
    std::array<Scalar, 2 * kMaxBlock> p0, p1;
    for (std::size_t k = 0; k < 2 * c; ++k) {
      p0[k] = detail::dot<T, D>(&bua_[k * kD], b0);
      p1[k] = detail::dot<T, D>(&bua_[k * kD], b1);
    }
    for (std::size_t k = 0; k < 2 * c; ++k) {
      detail::axpy<T, D>(b0, p0[k], &bub_[k * kD]);
      detail::axpy<T, D>(b1, p1[k], &bub_[k * kD]);
    }
    ++learned_;
    ++t_;
    clock_ += 1.0;
    wclock_ += 1.0;
    ++since_ckpt_;
    ++since_reorth_;
  }

  // A full block: M = phi (M_0 + (V T)(V^T M_0)), M^-1 = (M_0^-1 + (X E) V^T) / phi,
  // W = W_0 + Ua (Ub^T W_0); then the rows of W due for reorthogonalisation, and a checkpoint
  // when one is due.
  void update_block() noexcept {
    const std::size_t n = block_, n2 = 2 * block_;
    const Scalar phi = phi_[n - 1];
    // M: V T into bk_, V^T M_0 into brm_
    detail::gemm_nn<Scalar>(kD, n, n, 1, bv_.data(), kD, bt_.data(), 1, n, 0, bk_.data(), kD);
    detail::transpose<Scalar>(kD, n, bv_.data(), kD, btr_.data());
    detail::gemm_nn<Scalar>(n, kD, kD, 1, btr_.data(), n, m_.data(), 1, kD, 0, brm_.data(), n);
    detail::gemm_nn<Scalar>(kD, kD, n, phi, bk_.data(), kD, brm_.data(), 1, n, phi, m_.data(),
                            kD);
    // M^-1: X E into bk_
    for (std::size_t c = 0; c < n; ++c) {
      for (std::size_t i = 0; i < kD; ++i) bk_[c * kD + i] = bx_[c * kD + i] * em_[c];
    }
    detail::gemm_nn<Scalar>(kD, kD, n, 1 / phi, bk_.data(), kD, bv_.data(), kD, 1, 1 / phi,
                            minv_.data(), kD);
    // W: Ub^T W_0 into brm_
    detail::transpose<Scalar>(kD, n2, bub_.data(), kD, btr_.data());
    detail::gemm_nn<Scalar>(n2, kD, kD, 1, btr_.data(), n2, w_.data(), 1, kD, 0, brm_.data(), n2);
    detail::gemm_nn<Scalar>(kD, kD, n2, 1, bua_.data(), kD, brm_.data(), 1, n2, 1, w_.data(), kD);
    while (since_reorth_ >= opt_.reorthogonalize_every) {
      since_reorth_ -= opt_.reorthogonalize_every;
      reorthogonalize_row(std::size_t(row_++ % kD));
    }
    if (since_ckpt_ >= opt_.checkpoint_interval) checkpoint();
  }

  void checkpoint() noexcept {
    settle_inverse();
    settle_m<false>(nullptr, nullptr);
    settle_w<false>(nullptr, nullptr);
    std::copy(w_.begin(), w_.end(), w_ckpt_.begin());
    std::copy(m_.begin(), m_.end(), m_ckpt_.begin());
    std::copy(minv_.begin(), minv_.end(), minv_ckpt_.begin());
    std::copy(mean_.begin(), mean_.end(), mean_ckpt_.begin());
    since_ckpt_ = 0;
  }

  void restore(const mask_t<T>& lanes) noexcept {
    bn_ = 0;
    settle_inverse();
    settle_m<false>(nullptr, nullptr);  // (nothing is pending where step calls this)
    settle_w<false>(nullptr, nullptr);
    for (std::size_t k = 0; k < kD * kD; ++k) {
      w_[k] = dendrite::select<T>(lanes, w_ckpt_[k], w_[k]);
      m_[k] = dendrite::select<T>(lanes, m_ckpt_[k], m_[k]);
      minv_[k] = dendrite::select<T>(lanes, minv_ckpt_[k], minv_[k]);
    }
    for (std::size_t k = 0; k < kD; ++k) {
      mean_[k] = dendrite::select<T>(lanes, mean_ckpt_[k], mean_[k]);
    }
  }

  [[nodiscard]] static Eigen::MatrixXd matrix(const aligned_vector<T>& a, std::size_t lane_index) {
    return detail::lane_matrix(a, kD, lane_index);
  }

  ORICAOptions opt_;
  double floor_ = 1e-4;
  double threshold_ = 12;  // Adaptive: the reheat threshold in standard deviations (by D if 0)
  bool frozen_ = false;
  aligned_vector<T> w_, m_, minv_;  // D x D column-major: rotation W, whitener M and its inverse
  aligned_vector<T> w_ckpt_, m_ckpt_, minv_ckpt_, mean_ckpt_;  // last checkpoint
  aligned_vector<T> w_init_;  // seeded start of W
  // The last step's updates of M (rank 1) and W (rank 2), applied column by column in the pass
  // of the next step's product (settle_m, settle_w): M <- f M + mc v (M^T v)^T and
  // W <- W + g (c0 p + c1 q)^T + y (c2 p + c3 q)^T with p = W^T y, q = W^T g. Zero in lanes that
  // did not learn (f = 1), so that those lanes' columns come out unchanged.
  aligned_vector<T> pm_v_, pw_y_, pw_g_;  // D each
  T pm_f_{}, pm_mc_{};
  std::array<T, 4> pw_c_{};
  bool m_pending_ = false, w_pending_ = false;
  bool defer_ = false;  // D >= opt_.defer_from
  // M^-1's rank-1 updates M^-1 <- a_t M^-1 + b_t x_t v_t^T, queued when deferring (float or
  // double T): M^-1 = P (M^-1_0 + sum_t e_t x_t v_t^T) with P = a_1 ... a_qn and e_t = b_t /
  // (a_1 ... a_t); applied as one matrix product every kQueue samples (settle_inverse), so that
  // M^-1 is read and written once per kQueue samples instead of every sample.
  static constexpr std::size_t kQueue = 16;
  aligned_vector<Scalar> qx_, qv_;  // D x kQueue: e_t x_t and v_t
  Scalar qphi_ = 1;              // P
  std::size_t qn_ = 0;           // queued updates
  // The block update (block_size > 1; see run_blocks): N = block_ columns, bn_ of them filled,
  // learned_ of those learned from.
  std::size_t block_ = 1, bn_ = 0, learned_ = 0;
  aligned_vector<Scalar> bx_;         // D x N: X, the centred (dithered) inputs
  aligned_vector<Scalar> bv0_, by0_;  // D x N: M_0 x and W_0 M_0 x of the samples
  aligned_vector<Scalar> bv_, bwv_;   // D x N: V (the dithered whitened inputs) and W_0 V
  aligned_vector<Scalar> bwm_;        // D x N: W_0 M_0 e_k for the dither channels k of the block
  aligned_vector<Scalar> bua_, bub_;  // D x 2N: W's factor I + Ua Ub^T
  aligned_vector<Scalar> bt_;         // N x N: T (lower triangular)
  aligned_vector<Scalar> phi_, em_;   // N: phi_j and E's diagonal
  aligned_vector<Scalar> bk_, brm_;   // D x N and 2N x D: products of the update
  aligned_vector<Scalar> btr_;        // 2N x D: V^T or Ub^T (A^T B runs as gemm_nn(A^T, B))
  aligned_vector<T> mean_;            // D: running mean
  aligned_vector<T> sech2_, y2_, ytanh_, sign_;  // D: running statistics of the sign rule, k_i
  T started_{};                  // 1 in lanes that have seen their first good sample
  static constexpr int kWarmUp = 64;  // learned samples after the start that check its scale
  T warm_n_{};                   // learned samples of the warm-up so far (kWarmUp: done)
  T warm_ss_{};                  // their summed centred power
  T var_{};                      // running mean channel variance (for the ridge)
  double nsi_ = 0;               // Adaptive: the nonstationarity index
  aligned_vector<T> cov_;        // Adaptive: the outputs' windowed covariance, D x D
  double baseline_ = 0;          // Adaptive: slow mean of the index while stationary
  double baseline_sq_ = 0;       // Adaptive: slow mean of its square
  std::uint64_t baseline_n_ = 0;
  std::uint64_t since_reheat_ = 0;
  std::uint64_t reheats_ = 0;
  double clock_ = 0;             // the cooling clock (samples; Adaptive sends it back)
  double wclock_ = 0;            // the whitener's clock (samples)
  std::uint64_t t_ = 0;
  int since_ckpt_ = 0;
  int since_reorth_ = 0;
  std::uint64_t row_ = 0;
};

}  // namespace dendrite::ica
