// SPDX-License-Identifier: MIT
/// @file
/// The streaming Hebbian/anti-Hebbian ICA network of Bahroun, Chklovskii & Sengupta (NeurIPS 2021,
/// Algorithm 1), for real time: one sample in, one separated sample out, no allocation.
///
/// Per sample x (D channels), with h the optionally whitened input:
///   c = W h                                       dendritic currents
///   y = M^{-1} c                                  somatic outputs (M stays SPD; a Cholesky solve,
///                                                 or from 8 channels O(D^2) refinement, below)
///   W <- W + 2 eta (y - a Lambda2 c) h^T          a = ||y||^2, the global "third factor"
///   M <- M + (eta / tau) (y y^T - I)
///   eta = max(eta_min, eta0 / (1 + t / t0))
/// `Lambda2` is the paper's Lambda^{-2} (the authors' code calls it `Lambda`): a diagonal of
/// distinct positive values. The paper's global optimum pairs Lambda2_i = kurt_i; the authors'
/// notebooks set it from the kurtosis of a batch FOBI pass.
///
/// What the paper's plain rule does, and what this class adds (../shared/PAPERS.md 1.10; our own
/// runs on the paper's synthetic set, 20 seeds, 2e6 samples, eta0 1e-3, t0 1e4, tau 0.1):
///  - On raw mixtures with Lambda2 = kurt (the authors' setting) every run diverged (M lost
///    positive definiteness, outputs went to Inf).
///  - Robust variant, used by `warm_start` and by the tests: (1) a whitening stage in front,
///    (2) Lambda2 = 1 / kurt (with Lambda2 = kurt on whitened data the Laplace output died in every
///    run), (3) the weighting a = ||y||^2 clipped at `norm_clip` x D (without the clip 7 of 20 runs
///    diverged), (4) W starting as a random orthogonal matrix, so that the outputs of whitened
///    input start with identity covariance as M = I assumes. With these, 20 of 20 runs separated
///    (median Amari index 0.05 after 2e6 samples, every output variance in [0.8, 1.25]); the
///    divergence guard below fired once in the 40 million updates (an early excursion of M to
///    indefiniteness, t = 3378 of one run), restored the checkpoint and the run converged.
///  - Divergence guard: if the Cholesky factorisation of M fails, or ||y||^2 exceeds
///    `max_output_norm2`, or anything is non-finite, the lane's W and M are restored from the last
///    checkpoint (taken every `checkpoint_interval` good samples), its output is 0 and the call
///    returns `Status::Diverged`. No NaN ever leaves `step`.
///  - Non-finite input: the lane is left untouched, its output is 0, the call returns
///    `Status::RejectedNonFinite`.
/// Online whitening (`whitening_rate` > 0; our addition, the paper's network whitens implicitly):
/// a per-lane stage learns the mean m (running, then exponential at that rate) and a whitening
/// matrix by the normalised rule V <- V + k (I - h h^T) V with h = V (x - m),
/// k = r / (1 + r ||h||^2) and r = whitening_rate / (1 + t / t0), eta's schedule (a constant rate
/// leaves V noisy). Its fixed point is E[h h^T] = I (the whitening part of Cardoso & Laheld's
/// serial update). It replaces the fixed whitener; Lambda2 must still be set.
/// Presentation order matters: the paper's periodic sources streamed strictly in order (rather
/// than shuffled per pass, as the authors' online notebook does) left one output dead in 6 of 20
/// of our runs at 2e6 samples.
///
/// Averaged outputs (`average_span` > 0; on after a separated `warm_start`; our addition): the
/// iterate U_t = M^{-1} W V scatters around the rule's equilibrium with the noise of a
/// stochastic gradient. With the option on, `step` keeps Ubar, an average of U_t (Polyak and
/// Juditsky's iterate averaging): every r-th sample (`average_every()`: 1 with the direct solve,
/// 4 with the refined one) refreshes one column, Ubar(:, j) += b (U_t(:, j) - Ubar(:, j)) with
/// b = max(r D eta0 / average_span, 1 / (k + 2)) at the column's k-th refresh (a plain mean from
/// the start, then an exponential one over average_span / eta0 samples), and every sample outputs
/// y = Ubar (x - m); the learning runs on the iterate. It costs a D^2 product a sample and a
/// column's product and solve every r-th (the warm-started step 1.2-1.3x slower at 16 and 64
/// channels). Measured from FOBI on one second of speech (3 channels, 20 s, 60 mixtures;
/// bench/README.md), the worst 1 s checkpoint's Amari index over the start's: median 1.5-2.2x
/// for the iterate, 1.0-1.1x averaged; the end below the start in 60 of 60 (the iterate 58).
/// Its price is lag: after a change Ubar follows the iterate over average_span / eta0 samples.
///
/// `T` may be an xsimd batch: each lane is an independent network (own W, M, whitening state) fed
/// its own stream; weights of the fixed whitener and Lambda2 are shared.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <Eigen/QR>

#include <dendrite/config.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/math.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/ica/detail/lanes_linalg.hpp>
#include <dendrite/ica/detail/lanes_matrix.hpp>
#include <dendrite/ica/fobi.hpp>
#include <dendrite/ica/metrics.hpp>
#include <dendrite/ica/whitening.hpp>
#include <dendrite/rt/contract.hpp>

namespace dendrite::ica {

/// How OnlineICA solves its lateral system M y = c (see OnlineICAOptions::lateral_solve).
enum class OnlineLateralSolve : std::uint8_t { Auto, Direct, Refined };

/// Settings of OnlineICA (defaults: the authors' synthetic-data schedule plus our guards).
struct OnlineICAOptions {
  double eta0 = 1e-3;           ///< initial learning rate of W
  double t0 = 1e4;              ///< eta(t) = eta0 / (1 + t / t0)
  double tau = 0.1;             ///< ratio of the W and M learning rates (M learns 1/tau faster)
  double whitening_rate = 0.0;  ///< > 0: learn the whitening stage online at this rate (see below)
  double norm_clip = 4.0;       ///< clip ||y||^2 at norm_clip * D in the W rule; <= 0 disables
  double max_output_norm2 = 1e8;   ///< ||y||^2 above this counts as divergence
  int checkpoint_interval = 1000;  ///< good samples between checkpoints of W and M
  std::uint64_t seed = 1;  ///< W starts as a random orthogonal matrix from this seed; M at I
  /// How y = M^{-1} c is solved: `Direct` factorises M every sample (O(D^3)); `Refined` keeps
  /// P, the inverse of M + sigma I (M's rank-1 steps applied to P exactly by Sherman-Morrison,
  /// its -(eta/tau) I steps summed into sigma), and runs conjugate gradients on the current M
  /// preconditioned by P: O(D^2) per sample, plus a fresh O(D^3) inverse at each checkpoint and
  /// once y = P c misses by more than `refresh_residual` (sigma grown). `Auto` picks
  /// Refined from D = kRefinedFromD (8) channels on: measured warm-started on EEG-like signal
  /// (bench/README.md), the refined solve is 1.1x faster at 8 channels, 1.7-1.9x at 16,
  /// 2.5-2.8x at 64 and 5-6x at 128, and 2-10 % slower at 4.
  OnlineLateralSolve lateral_solve = OnlineLateralSolve::Auto;
  /// Refined: a relative residual ||c - M P c|| / ||c|| above this calls for a fresh P; 0 picks
  /// D / 320 within [0.05, 0.2] (a fresh P costs O(D^3), a correction O(D^2): measured best
  /// at D = 16 and 64, bench/README.md)
  double refresh_residual = 0;
  int max_refinements = 8;      ///< Refined: corrections before falling back to a fresh factor
  /// Refined: stop when ||c - M y|| <= solve_tolerance ||c||; 0 picks sqrt(D) eps^(2/3) of the
  /// scalar (float: 1e-4 at D = 16, double: 1.5e-10), far below the learning's own noise.
  double solve_tolerance = 0;
  /// Floor of the learning rate, eta = max(eta_min, eta0 / (1 + t / t0)), so that a long run
  /// keeps adapting (tracking); 0 (the default): eta decays to 0. Must be < tau.
  double eta_min = 0;
  /// > 0: the outputs and `unmixing()` come from an average of the network's unmixing
  /// U_t = M^{-1} W V over its last `average_span / eta0` samples (see the file comment); the
  /// learning itself runs on the iterate as before. 0 (the default): the iterate, the paper's
  /// network. A separated `warm_start` sets it when it is 0 (OnlineWarmStart::average_span).
  double average_span = 0;
};

/// How OnlineICA::warm_start sets the network from a batch FOBI pass (see warm_start).
struct OnlineWarmStart {
  /// false: only the whitener and Lambda2 = 1 / kurtosis (W keeps its random start, M = I).
  /// true: W and M at FOBI's solution, with Lambda2 as `lambda2_power` says.
  bool separated = false;
  /// With `separated`: Lambda2_i = mu_i^p / max_k mu_k^(p + 1) (mu = FOBI's eigenvalues), so
  /// that the largest Lambda2_i mu_i is 1 and M's fixed point is at least I. p > 0 runs with mu,
  /// as the paper orders it: a stable equilibrium (p = 2, the default, is the one measured);
  /// p = -1 is Lambda2 = 1 / mu, an unstable one (warm_start's doc has the figures). Finite and
  /// not 0.
  double lambda2_power = 2;
  /// With `separated`: the schedule restarts at eta0 = min(options' eta0, max_eta0), and
  /// `options().eta0` keeps that value. The default options' 1e-3 is a cold start's rate: from
  /// the separated start on one second of speech (t0 1e4, 20 s) it ended at or above the start
  /// in 28 of 60 mixtures, 3e-4 in 2 (warm_start's doc). Infinity keeps the options' eta0; must
  /// be > 0.
  double max_eta0 = 3e-4;
  /// With `separated`, and the options' `average_span` at 0: the outputs and `unmixing()` are
  /// averaged over `average_span / eta0` samples (5: 16 667 samples at eta0 3e-4; warm_start's
  /// doc has what it changes). 0 keeps the iterate; must be finite and >= 0.
  double average_span = 5;
};

/// Streaming ICA network (see the file comment).
/// @tparam T float, double or an xsimd batch of them; @tparam D channels = sources.
/// @code
/// dendrite::ica::OnlineICA<float, 4> net;
/// net.warm_start(first_samples);  // D x n doubles: whitener and Lambda2 from a FOBI pass
/// std::array<float, 4> x{}, y{};
/// dendrite::Status s = net.step(x, y);           // real-time safe
/// @endcode
template <Real T, int D>
class OnlineICA {
  static_assert(D >= 2, "OnlineICA<T, D>: need at least 2 channels");

  // The sizes as std::size_t, for spans and loops; input_size and output_size are the
  // public names.
  static constexpr std::size_t kD = static_cast<std::size_t>(D);

 public:
  using value_type = T;
  using Scalar = scalar_t<T>;
  static constexpr int input_size = D;
  static constexpr int output_size = D;
  /// From this many channels on, `OnlineLateralSolve::Auto` solves by refinement.
  static constexpr int kRefinedFromD = 8;
  using WeightMatrix = Eigen::Matrix<Scalar, D, D>;

  /// Allocates the state; Lambda2 starts at 1 + i / D (distinct), no whitening stage.
  explicit OnlineICA(const OnlineICAOptions& options = {})
      : opt_(options),
        w_(kD * kD),
        m_(kD * kD),
        w_ckpt_(kD * kD),
        m_ckpt_(kD * kD),
        w_init_(kD * kD),
        white_(kD * kD, Scalar(0)),
        white_mean_(kD, Scalar(0)),
        vw_(kD * kD),
        mu_(kD),
        lambda2_(kD),
        l_(kD * kD),
        lt_(kD * kD),
        inv_diag_(kD),
        ubar_(kD * kD) {
    refined_ = opt_.lateral_solve == OnlineLateralSolve::Refined ||
               (opt_.lateral_solve == OnlineLateralSolve::Auto && D >= kRefinedFromD);
    if (refined_) {
      p_.resize(kD * kD);
      if (!(opt_.refresh_residual >= 0) || opt_.max_refinements < 0 ||
          !(opt_.solve_tolerance >= 0) || !(opt_.solve_tolerance < 1)) {
        DENDRITE_THROW(numerical_error,
                       "OnlineICA: the refined solve needs refresh_residual >= 0, "
                       "max_refinements >= 0 and 0 <= solve_tolerance < 1, got ",
                       opt_.refresh_residual, ", ", opt_.max_refinements, ", ",
                       opt_.solve_tolerance);
      }
      const double tol =
          opt_.solve_tolerance > 0
              ? opt_.solve_tolerance
              : std::sqrt(double(D)) *
                    std::pow(double(std::numeric_limits<Scalar>::epsilon()), 2.0 / 3.0);
      solve_tol2_ = tol * tol;
      const double refresh = opt_.refresh_residual > 0
                                 ? opt_.refresh_residual
                                 : std::clamp(double(D) / 320.0, 0.05, 0.2);
      refresh2_ = refresh * refresh;
    }
    if (!(opt_.eta0 > 0) || !(opt_.t0 > 0) || !(opt_.tau > 0) || opt_.checkpoint_interval < 1 ||
        !(opt_.max_output_norm2 > 0)) {
      DENDRITE_THROW(numerical_error,
                     "OnlineICA: need eta0 > 0, t0 > 0, tau > 0, checkpoint_interval >= 1 and "
                     "max_output_norm2 > 0, got ",
                     opt_.eta0, ", ", opt_.t0, ", ", opt_.tau, ", ", opt_.checkpoint_interval, ", ",
                     opt_.max_output_norm2);
    }
    if (!(opt_.eta0 < opt_.tau)) {
      DENDRITE_THROW(
          numerical_error,
          "OnlineICA: need eta0 < tau to keep M positive definite (paper, sec. 4), got eta0 ",
          opt_.eta0, " and tau ", opt_.tau);
    }
    if (!(opt_.average_span >= 0) || !std::isfinite(opt_.average_span)) {
      DENDRITE_THROW(numerical_error,
                     "OnlineICA: need a finite average_span >= 0 (0: no averaging), got ",
                     opt_.average_span);
    }
    if (!(opt_.eta_min >= 0) || !(opt_.eta_min < opt_.tau)) {
      DENDRITE_THROW(numerical_error, "OnlineICA: need 0 <= eta_min < tau, got eta_min ",
                     opt_.eta_min, " and tau ", opt_.tau);
    }
    // W starts as a random orthogonal matrix: on whitened input the outputs then start with
    // identity covariance, matching M = I (a random Gaussian W makes M collapse early, see above).
    detail::broadcast_matrix(detail::random_rotation(D, opt_.seed), w_init_);
    for (std::size_t i = 0; i < kD; ++i) {
      lambda2_[i] = Scalar(1.0 + double(i) / double(D));
      white_[i * kD + i] = Scalar(1);
    }
    restart();
    static_assert(rt::StreamingBlock<OnlineICA>);
  }

  /// Sets Lambda2 (the paper's Lambda^{-2}): D distinct positive values. Not real-time.
  void set_lambda2(const Eigen::Ref<const Eigen::VectorXd>& lambda2) {
    if (lambda2.size() != D) {
      DENDRITE_THROW(dimension_error, "OnlineICA::set_lambda2: expected ", D, " values, got ",
                     lambda2.size());
    }
    if (!(lambda2.array() > 0).all() || !lambda2.allFinite()) {
      DENDRITE_THROW(numerical_error, "OnlineICA::set_lambda2: values must be finite and positive");
    }
    for (Eigen::Index i = 0; i < D; ++i) {
      lambda2_[std::size_t(i)] = Scalar(lambda2(i));
    }
  }

  /// Puts a fixed whitening stage h = V (x - m) in front (e.g. from `whiten`). Not real-time.
  /// (V is stored column-major, like W and M.)
  void set_whitener(const Whitener& w) {
    if (w.matrix.rows() != D || w.matrix.cols() != D || w.mean.size() != D) {
      DENDRITE_THROW(dimension_error, "OnlineICA::set_whitener: expected a full-rank ", D, " x ", D,
                     " whitener, got ", w.matrix.rows(), " x ", w.matrix.cols());
    }
    for (std::size_t i = 0; i < kD; ++i) {
      white_mean_[i] = Scalar(w.mean(Eigen::Index(i)));
      for (std::size_t j = 0; j < kD; ++j) {
        white_[j * kD + i] = Scalar(w.matrix(Eigen::Index(i), Eigen::Index(j)));
      }
    }
    // with online whitening, the learned stage starts here too (not at V = I, m = first sample)
    whitener_set_ = true;
    seed_online_whitener();
    reset_average();
  }

  /// The robust warm start: a batch pass over `x` (D x n, e.g. the first seconds of the stream)
  /// sets the whitening stage (ZCA) and Lambda2 = 1 / kurtosis of the FOBI-recovered sources.
  /// Returns the FOBI result (check `identifiable`). Does not touch W or M. Not real-time.
  /// `warm_start(x, true)` is `warm_start(x, {.separated = true})`. (With many channels the plain
  /// rule needs far more samples than a few seconds of signal to get from a random W to the
  /// separated start.)
  FOBIResult warm_start(const Eigen::Ref<const Eigen::MatrixXd>& x, bool start_separated = false) {
    return warm_start(x, OnlineWarmStart{.separated = start_separated});
  }

  /// The warm start as `how` says. With `how.separated`, W and M start at FOBI's solution on x:
  /// W = M* R (R = U V^-1 for FOBI's unmixing U and the whitener V) and M* at the rule's fixed
  /// point for the clipped weighting, M*_ii = E[y_i^2] / (Lambda2_i E[a y_i^2]) over x with
  /// y = R h and a = min(||y||^2, norm_clip D) (unclipped: 1 / (Lambda2_i mu_i)); output i is
  /// FOBI's source i, and the network's unmixing is FOBI's. Which equilibrium that is depends on
  /// Lambda2 (`how.lambda2_power`; bench/online_ica_stability.cpp, bench/README.md):
  ///  - p = -1, Lambda2 = 1 / mu: unstable. The mean rule's Jacobian has one growing direction
  ///    per pair of units, the fastest at 0.37-0.85 eta per sample on the paper's set and on
  ///    eeg_like at 3-7 channels: learning leaves it e-fold every 1.2 / eta to 2.7 / eta
  ///    samples. Use it frozen, or learn at a rate whose 1 / eta is long against the recording.
  ///  - p > 0 (the default 2): stable in the mean but stiff: with p = 1 the slowest direction is
  ///    310 times slower than the fastest on two voices and noise, 1 400 to 2 000 000 times on
  ///    the paper's set and eeg_like at 3-7 channels. On 60 three-channel speech mixtures (two
  ///    espeak-ng voices and noise, 16 kHz, 20 seeds of three voice pairs), started from one
  ///    second, p = 2 with eta0 = 3e-4 and t0 = 16000 ended below the start's Amari index after
  ///    20 s in 59 (median 0.74 of it), but passed through a median 2.1x (at worst 3.8x) of it on
  ///    the way; full-data FOBI reached 0.001-0.005. On eeg_like at 16 channels with eta0 1e-3
  ///    and t0 1e4 (70 s in order, the start on the first 10, seeds 1-6) it ended at 1.02-1.12
  ///    of the start, where p = -1 ended at 2.3-3.5 of it and its divergence guard fired 16
  ///    times; at 3e-4, 1.00-1.05.
  /// The schedule restarts at min(options' eta0, how.max_eta0) (3e-4): with the default options
  /// (eta0 1e-3, t0 1e4) the start above ended at or above the start's index in 28 of the 60
  /// speech mixtures, capped at 3e-4 in 2 (median 0.81 of it on the tests' seeds 1-6).
  /// It also sets `average_span` to how.average_span (5) when the options' is 0: the outputs
  /// and `unmixing()` are then averaged (the file comment), and on those mixtures the worst
  /// 1 s checkpoint is a median 1.02-1.14x of the start per voice set instead of 1.5-2.2x.
  /// The seeded random start is kept for `restart`. Throws `dimension_error` for a wrong channel
  /// count and `numerical_error` for a lambda2_power of 0 or not finite. Not real-time.
  FOBIResult warm_start(const Eigen::Ref<const Eigen::MatrixXd>& x, const OnlineWarmStart& how) {
    if (x.rows() != D) {
      DENDRITE_THROW(dimension_error, "OnlineICA::warm_start: expected ", D, " channels, got ",
                     x.rows());
    }
    if (!std::isfinite(how.lambda2_power) || how.lambda2_power == 0) {
      DENDRITE_THROW(numerical_error,
                     "OnlineICA::warm_start: lambda2_power must be finite and not 0, got ",
                     how.lambda2_power);
    }
    if (!(how.max_eta0 > 0)) {
      DENDRITE_THROW(numerical_error, "OnlineICA::warm_start: max_eta0 must be > 0, got ",
                     how.max_eta0);
    }
    if (!(how.average_span >= 0) || !std::isfinite(how.average_span)) {
      DENDRITE_THROW(numerical_error,
                     "OnlineICA::warm_start: average_span must be finite and >= 0, got ",
                     how.average_span);
    }
    FOBIResult f = fobi(x);
    const Whitener w = whiten(x);
    set_whitener(w);
    if (!how.separated) {
      // from a random start the outputs carry no order; 1 / kurt spreads the values apart
      set_lambda2(Eigen::VectorXd(kurtosis(f.sources(x)).cwiseInverse()));
      return f;
    }
    // output i is FOBI's source i: Lambda2 from its eigenvalue mu_i = kurt_i + D - 1
    const Eigen::ArrayXd mu = f.eigenvalues.array();
    Eigen::ArrayXd lambda2 = mu.pow(how.lambda2_power);
    lambda2 /= (lambda2 * mu).maxCoeff();
    set_lambda2(lambda2.matrix());
    const Eigen::MatrixXd r = f.unmixing * w.inverse;  // ZCA: V square and invertible
    const Eigen::MatrixXd y = f.sources(x);             // R h = U (x - m)
    Eigen::ArrayXd a = y.colwise().squaredNorm().transpose().array();
    if (opt_.norm_clip > 0) {
      a = a.min(opt_.norm_clip * double(D));
    }
    const Eigen::ArrayXd y2 = y.array().square().rowwise().sum();
    const Eigen::ArrayXd ay2 = (y.array().square().rowwise() * a.transpose()).rowwise().sum();
    const Eigen::ArrayXd m_star = y2 / (lambda2 * ay2);
    restart();  // t = 0; then W and M (and their checkpoint) at the solution
    opt_.eta0 = std::min(opt_.eta0, how.max_eta0);
    for (std::size_t j = 0; j < kD; ++j) {
      const auto jj = Eigen::Index(j);
      for (std::size_t i = 0; i < kD; ++i) {
        const auto ii = Eigen::Index(i);
        w_[j * kD + i] = T(Scalar(m_star(ii) * r(ii, jj)));
        m_[j * kD + i] = T(Scalar(i == j ? m_star(ii) : 0.0));
      }
    }
    std::copy(w_.begin(), w_.end(), w_ckpt_.begin());
    std::copy(m_.begin(), m_.end(), m_ckpt_.begin());
    if (opt_.average_span == 0) {
      opt_.average_span = how.average_span;
    }
    reset_average();
    return f;
  }

  /// Stops (true) or resumes (false) learning; a frozen network only separates. Real-time safe.
  DENDRITE_REALTIME void freeze(bool frozen = true) noexcept { frozen_ = frozen; }

  /// Restarts the schedule at eta0 (or another value, > 0). Real-time safe.
  DENDRITE_REALTIME void set_learning_rate(double eta0) noexcept {
    if (eta0 > 0) {
      opt_.eta0 = eta0;
    }
    t_ = 0;
    avg_refreshes_ = 0;  // the average restarts as a plain mean from where it is
  }

  /// Flops of one step as written, per lane times the lanes (an FMA counts 2; selects, compares,
  /// the finiteness checks and the schedule's double-precision scalars count 0), with d = D:
  ///  - whitening h = V (x - m): d + 2 d^2 with a fixed V; learned online, 4 d + 2 d^2 (the mean's
  ///    update 3 d, x - m d, V times it 2 d^2);
  ///  - c = W h: 2 d^2;
  ///  - y = M^{-1} c: the Cholesky factor by full columns 2 d * d(d-1)/2 + d (d + 2) (updates,
  ///    then per column a square root, a reciprocal and d scalings), the two triangular solves
  ///    d^2 each, ||y||^2 2 d;
  ///  - learning (not frozen): the rates gated 2, the clip of ||y||^2 1 (norm_clip > 0),
  ///    c = 2 eta (y - a Lambda2 c) 4 d, W and M updated 4 d^2 + 2 d; with online whitening also
  ///    ||h||^2 2 d, its gain 4, and V <- V + k (I - h h^T) V 6 d^2.
  /// This counts the direct solve; `refined_flops` the refined one.
  /// The Cholesky factor by full columns: 2 d * d(d-1)/2 + d (d + 2).
  [[nodiscard]] static constexpr double factor_flops() noexcept {
    const double d = double(D);
    return d * d * (d - 1) + d * (d + 2);
  }
  [[nodiscard]] static constexpr double step_flops(bool online_whitening, bool learning,
                                                   bool norm_clip) noexcept {
    const double d = double(D);
    double f = (online_whitening ? 4 * d : d) + 2 * d * d  // whitening
               + 2 * d * d                                  // W h
               + factor_flops() + 2 * d * d + 2 * d;        // Cholesky, solves, ||y||^2
    if (learning) {
      f += 2 + (norm_clip ? 1 : 0) + 4 * d + 4 * d * d + 2 * d;
      if (online_whitening) {
        f += 2 * d + 4 + 6 * d * d;
      }
    }
    return f * double(lanes_v<T>);
  }
  /// What the refined solve costs instead of the direct one (factor, solves), per lane, for k
  /// corrections and a fresh inverse every n samples: y = P c 2 d^2, ||c||^2 2 d, the residual
  /// 2 d^2 + 2 d; per correction P r and M p 4 d^2 and its dot products and updates 12 d; when
  /// learning, Sherman-Morrison's P y 2 d^2, y^T g 2 d and P's rank-1 update 2 d^2 + 2; the fresh
  /// inverse (the factor, then d solves of 2 d^2) over n. A model: the checks count 0.
  [[nodiscard]] static constexpr double refined_flops(double k, double n, bool learning) noexcept {
    const double d = double(D);
    const double fresh = factor_flops() + d * 2 * d * d;
    return 2 * d * d + 2 * d + 2 * d * d + 2 * d + k * (4 * d * d + 12 * d) +
           (learning ? 4 * d * d + 2 * d + 2 : 0) + fresh / n;
  }
  /// step_flops of this network's configuration (online whitening, frozen, clip); for the
  /// refined solve with the corrections and fresh inverses per sample it has needed so far.
  /// Averaged outputs add, per lane, y = Ubar (x - m) 2 d^2 and, every `average_every()`
  /// samples, the column W V(:, j) 2 d^2, its solve (two triangular solves 2 d^2; refined,
  /// P g and the residual 4 d^2 + 4 d, its corrections counted in `refinements()`) and the
  /// average's update 3 d.
  [[nodiscard]] double flops_per_step() const noexcept {
    const double d = double(D), lanes = double(lanes_v<T>);
    double f = step_flops(opt_.whitening_rate > 0, !frozen_, opt_.norm_clip > 0);
    if (opt_.average_span > 0) {
      const double column_solve = refined_ ? 4 * d * d + 4 * d : 2 * d * d;
      f += lanes * (2 * d * d + (2 * d * d + column_solve + 3 * d) / double(average_every()));
    }
    if (!refined_) {
      return f;
    }
    const double samples = double(std::max<std::uint64_t>(t_, 1));
    const double solve = factor_flops() + 2 * d * d;  // the direct solve's part
    return f - solve * lanes +
           refined_flops(double(refinements_) / samples,
                         samples / double(std::max<std::uint64_t>(refactorisations_, 1)),
                         !frozen_) *
               lanes;
  }
  /// Bytes of weights, state and scratch one step touches: V (d^2, of T when learned online,
  /// else of the scalar) and m (d), Ubar (d^2 of T, averaged outputs), W, M and the Cholesky
  /// factor L (d^2 each), the d(d-1)/2 entries of L^T below its diagonal, 1 / L_jj (d) and
  /// Lambda2 (d, of the scalar). The refined solve touches P (d^2) instead of the factor, which
  /// only its fresh inverses use.
  [[nodiscard]] double bytes_per_step() const noexcept {
    const double d = double(D), t = double(sizeof(T)), s = double(sizeof(Scalar));
    // averaged outputs: Ubar (d^2)
    const double v = (opt_.whitening_rate > 0 ? (d * d + d) * t : (d * d + d) * s) +
                     (opt_.average_span > 0 ? d * d * t : 0);
    if (refined_) {
      return v + 3 * d * d * t + d * s;
    }
    return v + 3 * d * d * t + d * (d - 1) / 2 * t + d * t + d * s;
  }

  /// Nothing to clear: the network has no running state besides what it learned (W, M, the
  /// output means and the schedule), which `restart` forgets. Real-time safe.
  DENDRITE_REALTIME void reset() noexcept {}
  /// 0: the separated sample answers the input of the same step.
  [[nodiscard]] std::size_t latency_samples() const noexcept { return 0; }

  /// Forgets what was learned: W back to its seeded start, M = I, t = 0 (whitener and Lambda2
  /// kept; with online whitening, the learned stage goes back to the whitener set, or to V = I).
  /// Real-time safe.
  DENDRITE_REALTIME void restart() noexcept {
    std::copy(w_init_.begin(), w_init_.end(), w_.begin());
    detail::set_identity(m_.data(), kD);
    seed_online_whitener();  // V = I and m from the first sample, or the whitener set
    std::copy(w_.begin(), w_.end(), w_ckpt_.begin());
    std::copy(m_.begin(), m_.end(), m_ckpt_.begin());
    t_ = 0;
    since_ckpt_ = 0;
    reset_average();
    factor_valid_ = false;
  }

  /// One sample in, one separated sample out (see the file comment for the statuses).
  /// Real-time safe.
  DENDRITE_REALTIME Status step(std::span<const T, kD> x, std::span<T, kD> y) noexcept {
    const std::array<T, kD> x_flushed = flush_denormals(x);  // denormals cost 10-100x
    x = std::span<const T, kD>(x_flushed);
    // Every matrix is stored column-major and every loop is written as an axpy over a column
    // (y += a * column): no reductions in the O(D^2) and O(D^3) parts, so the same code
    // vectorises over rows for a scalar T and over lanes for a batch T.
    // Vectors live on the stack (D values each): the compiler then knows they cannot alias the
    // weight arrays, which lets it vectorise the column loops without run-time checks.
    std::array<T, kD> h, c, u;  // whitened input, currents, outputs
    std::array<T, kD> xc;       // centred input x - m, rejected lanes at 0
    // 1. reject non-finite lanes
    const mask_t<T> finite = all_finite(x);
    // 2. whitening stage: h = V (x - m), V and m fixed or learned online (per lane)
    const bool adaptive = opt_.whitening_rate > 0;
    std::fill(h.begin(), h.end(), T(0));
    if (adaptive) {
      // the mean: a running average from the first sample, then exponential; from a whitener
      // that was set, exponential from the start
      const double rate = whitener_set_ ? opt_.whitening_rate
                                        : std::max(1.0 / (double(t_) + 1.0), opt_.whitening_rate);
      const T beta = dendrite::select<T>(finite, broadcast<T>(rate), T(0));
      for (std::size_t j = 0; j < kD; ++j) {
        const T xj = dendrite::select<T>(finite, x[j], mu_[j]);
        mu_[j] = dendrite::fma(beta, xj - mu_[j], mu_[j]);
        const T dj = xj - mu_[j];
        xc[j] = dj;
        detail::axpy<T, D>(h.data(), dj, &vw_[j * kD]);  // h += V(:, j) d_j
      }
    } else {
      for (std::size_t j = 0; j < kD; ++j) {
        xc[j] = dendrite::select<T>(finite, x[j] - T(white_mean_[j]), T(0));
      }
      detail::gemv<T, D>(white_.data(), xc.data(), h.data());
    }
    // 3. c = W h
    detail::gemv<T, D>(w_.data(), h.data(), c.data());
    // 4. y = M^{-1} c; a lane whose M is not positive definite is marked as diverged
    std::copy(c.begin(), c.end(), u.begin());
    const mask_t<T> spd = refined_ ? solve_refined(u) : solve_direct(u);
    T norm2 = detail::dot<T, D>(u.data(), u.data());
    // 5. divergence: failed factorisation, non-finite or exploding output
    const mask_t<T> healthy =
        spd && dendrite::isfinite(norm2) && (norm2 < T(Scalar(opt_.max_output_norm2)));
    const mask_t<T> good = finite && healthy;
    const mask_t<T> diverged = finite && !healthy;
    for (std::size_t i = 0; i < kD; ++i) {
      // Lanes that are not good learn nothing below. Their values are zeroed, not just gated by a
      // zero factor, because 0 * Inf is NaN: a diverged lane's h, u, c or norm2 may be non-finite.
      u[i] = dendrite::select<T>(good, u[i], T(0));
      c[i] = dendrite::select<T>(good, c[i], T(0));
      h[i] = dendrite::select<T>(good, h[i], T(0));
      y[i] = u[i];
    }
    if (opt_.average_span > 0) {  // before the learning and a restore change W and M
      average_and_output(xc, good, y);
    }
    norm2 = dendrite::select<T>(good, norm2, T(0));
    if (any_of(diverged)) {
      restore(diverged);
    }
    // 6. checkpoint the state that just factorised and produced a finite output, then learn
    if (!frozen_) {
      // (the refined solve does not see a loss of definiteness at once: there, a checkpoint
      // also takes a fresh factor of M, which must succeed; it then preconditions the solves)
      if (++since_ckpt_ >= opt_.checkpoint_interval && all_of(good) &&
          (!refined_ || all_of(refactor()))) {
        std::copy(w_.begin(), w_.end(), w_ckpt_.begin());
        std::copy(m_.begin(), m_.end(), m_ckpt_.begin());
        since_ckpt_ = 0;
      }
      const double eta = learning_rate();
      const T gate = dendrite::select<T>(good, T(1), T(0));
      const T ew = gate * broadcast<T>(2.0 * eta);
      const T em = gate * broadcast<T>(eta / opt_.tau);
      const T a = opt_.norm_clip > 0
                      ? dendrite::min(norm2, broadcast<T>(opt_.norm_clip * double(D)))
                      : norm2;
      for (std::size_t i = 0; i < kD; ++i) {  // c becomes 2 eta (y - a Lambda2 c)
        c[i] = ew * (u[i] - a * T(lambda2_[i]) * c[i]);
      }
      for (std::size_t j = 0; j < kD; ++j) {  // W(:, j) += c h_j;  M(:, j) += em (y y_j - e_j)
        T* mj = &m_[j * kD];
        detail::axpy<T, D>(&w_[j * kD], h[j], c.data());
        detail::axpy<T, D>(mj, em * u[j], u.data());
        mj[j] = mj[j] - em;
      }
      if (refined_) {
        update_p(u, em);
      }
      if (adaptive) {  // V <- V + k (I - h h^T) V, k = eta_w / (1 + eta_w ||h||^2)
        T hn(0);
        for (std::size_t i = 0; i < kD; ++i) {
          hn = dendrite::fma(h[i], h[i], hn);
        }
        const T ew0 = broadcast<T>(opt_.whitening_rate / (1.0 + double(t_) / opt_.t0));
        const T k = gate * ew0 / (T(1) + ew0 * hn);
        for (std::size_t j = 0; j < kD; ++j) {
          T* vj = &vw_[j * kD];
          T r(0);  // (V^T h)_j
          for (std::size_t i = 0; i < kD; ++i) {
            r = dendrite::fma(vj[i], h[i], r);
          }
          for (std::size_t i = 0; i < kD; ++i) {
            vj[i] = dendrite::fma(k, vj[i] - h[i] * r, vj[i]);
          }
        }
      }
      ++t_;
    }
    if (any_of(diverged)) {
      return Status::Diverged;
    }
    return all_of(finite) ? Status::Ok : Status::RejectedNonFinite;
  }

  /// W of one lane (D x D, acts on the whitened input).
  [[nodiscard]] WeightMatrix feedforward(std::size_t lane_index = 0) const {
    return to_matrix(w_, lane_index);
  }
  /// M of one lane (D x D, symmetric positive definite).
  [[nodiscard]] WeightMatrix lateral(std::size_t lane_index = 0) const {
    return to_matrix(m_, lane_index);
  }
  /// The whole map from raw input to output of one lane: y = M^{-1} W V (x - m). Compare it with
  /// the true mixing through `amari_index`.
  /// With `average_span` > 0, the average Ubar the outputs come from (see the file comment).
  [[nodiscard]] Eigen::MatrixXd unmixing(std::size_t lane_index = 0) const {
    if (opt_.average_span > 0) {
      return to_matrix(ubar_, lane_index).template cast<double>();
    }
    return lateral(lane_index)
               .template cast<double>()
               .llt()
               .solve(feedforward(lane_index).template cast<double>()) *
           whitener(lane_index);
  }
  /// The whitening stage V of one lane: the fixed whitener, or the one learned online.
  [[nodiscard]] Eigen::MatrixXd whitener(std::size_t lane_index = 0) const {
    Eigen::MatrixXd v(D, D);
    for (std::size_t i = 0; i < kD; ++i) {
      for (std::size_t j = 0; j < kD; ++j) {
        v(Eigen::Index(i), Eigen::Index(j)) = opt_.whitening_rate > 0
                                                  ? double(lane(vw_[j * kD + i], lane_index))
                                                  : double(white_[j * kD + i]);
      }
    }
    return v;
  }
  /// The mean m the whitening stage subtracts, of one lane: the fixed whitener's, or the one
  /// learned online. With `unmixing()` it gives y = unmixing (x - m) (e.g. for ArtifactRemover).
  [[nodiscard]] Eigen::VectorXd input_mean(std::size_t lane_index = 0) const {
    Eigen::VectorXd m(D);
    for (std::size_t i = 0; i < kD; ++i) {
      m(Eigen::Index(i)) = opt_.whitening_rate > 0 ? double(lane(mu_[i], lane_index))
                                                   : double(white_mean_[i]);
    }
    return m;
  }
  /// Lambda2, the paper's Lambda^{-2}.
  [[nodiscard]] Eigen::VectorXd lambda2() const {
    Eigen::VectorXd l(D);
    for (std::size_t i = 0; i < kD; ++i) {
      l(Eigen::Index(i)) = double(lambda2_[i]);
    }
    return l;
  }
  /// Refined solve: conjugate-gradient corrections so far (2-3 per sample in float, measured).
  [[nodiscard]] std::uint64_t refinements() const noexcept { return refinements_; }
  /// Refined solve: fresh O(D^3) inverses of M so far (the first step, restarts, restores,
  /// checkpoints, a stale P, and fallbacks when refinement did not converge).
  [[nodiscard]] std::uint64_t refactorisations() const noexcept { return refactorisations_; }
  /// True when this network solves M y = c by refinement (O(D^2)), false when directly.
  [[nodiscard]] bool refined_solve() const noexcept { return refined_; }
  /// The learning rate of the next sample, max(eta_min, eta0 / (1 + t / t0)).
  [[nodiscard]] double learning_rate() const noexcept {
    return std::max(opt_.eta_min, opt_.eta0 / (1.0 + double(t_) / opt_.t0));
  }
  /// Samples learned from so far.
  [[nodiscard]] std::uint64_t samples() const noexcept { return t_; }
  /// With `average_span` > 0: one column of Ubar is refreshed every this many samples, 1 with
  /// the direct solve (its factor of M is at hand) and 4 with the refined one (its solve costs
  /// about what the output's does: refreshed every sample the warm-started step took 1.7x as
  /// long at 16 channels, every 4th sample 1.2x; bench/README.md).
  [[nodiscard]] std::size_t average_every() const noexcept { return refined_ ? 4 : 1; }
  [[nodiscard]] const OnlineICAOptions& options() const noexcept { return opt_; }

 private:
  /// The Cholesky factor a = L L^T (left-looking, by columns), into `l` (D x D, lower), `lt`
  /// (column i holds row i of L below the diagonal, for L^T solves by columns) and `inv`
  /// (1 / L_jj). Returns the lanes
  /// whose pivots were all positive; a failed pivot is replaced by 1 so that nothing becomes
  /// NaN. The column updates run over all D rows, not just rows j..D-1: fixed-length loops
  /// vectorise cleanly, and the entries above the diagonal of `l` are scratch nothing reads.
  static mask_t<T> factor(const T* __restrict a, T* __restrict l, T* __restrict lt,
                          T* __restrict inv) noexcept {
    mask_t<T> spd = T(0) == T(0);  // all lanes true
    for (std::size_t j = 0; j < kD; ++j) {
      T* lj = &l[j * kD];
      std::copy_n(&a[j * kD], kD, lj);
      for (std::size_t k = 0; k < j; ++k) {  // L(:, j) -= L(j, k) L(:, k)
        const T* lk = &l[k * kD];
        const T ljk = lk[j];
        for (std::size_t i = 0; i < kD; ++i) {
          lj[i] = dendrite::fma(-ljk, lk[i], lj[i]);
        }
      }
      const T d = lj[j];
      spd = spd && (d > T(0));
      const T ljj = dendrite::sqrt(dendrite::select<T>(d > T(0), d, T(1)));
      const T r = T(1) / ljj;
      for (std::size_t i = 0; i < kD; ++i) {
        lj[i] = lj[i] * r;
      }
      lj[j] = ljj;
      inv[j] = r;
      for (std::size_t i = j + 1; i < kD; ++i) {
        lt[i * kD + j] = lj[i];
      }
    }
    return spd;
  }

  /// u <- (L L^T)^{-1} u: the forward solve by columns of L, the backward one by columns of L^T.
  static void cholesky_solve(const T* __restrict l, const T* __restrict lt,
                             const T* __restrict inv, std::array<T, kD>& u) noexcept {
    for (std::size_t j = 0; j < kD; ++j) {  // L v = u
      const T* lj = &l[j * kD];
      const T uj = u[j] * inv[j];
      u[j] = uj;
      for (std::size_t i = j + 1; i < kD; ++i) {
        u[i] = dendrite::fma(-uj, lj[i], u[i]);
      }
    }
    for (std::size_t ii = kD; ii-- > 0;) {  // L^T y = v
      const T* lti = &lt[ii * kD];
      const T yi = u[ii] * inv[ii];
      u[ii] = yi;
      for (std::size_t k = 0; k < ii; ++k) {
        u[k] = dendrite::fma(-yi, lti[k], u[k]);
      }
    }
  }

  /// The direct solve: M factorised afresh, then u <- M^{-1} u. O(D^3).
  mask_t<T> solve_direct(std::array<T, kD>& u) noexcept {
    const mask_t<T> spd = factor(m_.data(), l_.data(), lt_.data(), inv_diag_.data());
    cholesky_solve(l_.data(), lt_.data(), inv_diag_.data(), u);
    return spd;
  }

  /// The refined solve, O(D^2): conjugate gradients on the current M, preconditioned by P
  /// (the inverse of M + sigma I, see OnlineICAOptions::lateral_solve), started at y = P c, until
  /// ||c - M y|| <= tol ||c|| in every lane. If that takes more than `max_refinements`
  /// corrections (sigma grown large, or M lost definiteness), P is computed afresh from M, which
  /// also marks a lane whose M is not positive definite. u holds c on entry and y on return.
  mask_t<T> solve_refined(std::array<T, kD>& u) noexcept {
    mask_t<T> spd = T(0) == T(0);
    if (!factor_valid_) {  // after a start, restart, restore, checkpoint or a slow solve
      spd = refactor();
    }
    const std::array<T, kD> c = u;
    const T cn = detail::dot<T, D>(c.data(), c.data());
    const T tol2 = broadcast<T>(solve_tol2_) * cn;
    u = apply_p(c);
    std::array<T, kD> r;
    detail::gemv<T, D>(m_.data(), u.data(), r.data());
    for (std::size_t i = 0; i < kD; ++i) r[i] = c[i] - r[i];  // r = c - M y
    T rn = detail::dot<T, D>(r.data(), r.data());
    // P has gone stale (sigma grown against M): a fresh one before the next sample
    const bool stale = any_of(rn > broadcast<T>(refresh2_) * cn);
    mask_t<T> active = !(rn <= tol2);
    // p starts at 0: beta = 0 first, and 0 * p must not meet garbage (0 * NaN = NaN)
    std::array<T, kD> p{}, q{};
    T rz(0);
    bool converged = !any_of(active);
    int it = 0;
    for (; !converged && any_of(active) && it < opt_.max_refinements; ++it) {
      const std::array<T, kD> z = apply_p(r);
      const T rz_new = detail::dot<T, D>(r.data(), z.data());
      // p = z + beta p (beta = 0 on the first correction); lanes already done stay put
      const T beta = it == 0 ? T(0) : dendrite::select<T>(active, rz_new / rz, T(0));
      rz = rz_new;
      for (std::size_t i = 0; i < kD; ++i) p[i] = dendrite::fma(beta, p[i], z[i]);
      detail::gemv<T, D>(m_.data(), p.data(), q.data());  // q = M p
      const T pq = detail::dot<T, D>(p.data(), q.data());
      const T alpha = dendrite::select<T>(active && (pq > T(0)), rz / pq, T(0));
      for (std::size_t i = 0; i < kD; ++i) {
        u[i] = dendrite::fma(alpha, p[i], u[i]);
        r[i] = dendrite::fma(-alpha, q[i], r[i]);
      }
      rn = detail::dot<T, D>(r.data(), r.data());
      active = active && !(rn <= tol2) && (pq > T(0));
      converged = all_of(rn <= tol2);
    }
    refinements_ += std::uint64_t(it);
    if (!converged) {
      spd = spd && refactor();  // P = M^{-1} now: one product solves
      u = apply_p(c);
    } else if (stale) {
      factor_valid_ = false;
    }
    return spd;
  }

  /// P v.
  std::array<T, kD> apply_p(const std::array<T, kD>& v) const noexcept {
    std::array<T, kD> out;
    detail::gemv<T, D>(p_.data(), v.data(), out.data());
    return out;
  }

  /// After M += e (y y^T - I): P <- P - e g g^T / (1 + e y^T g), g = P y (Sherman-Morrison for
  /// the rank-1 part; the -e I part is left to the refinement). e is 0 in lanes that did not learn.
  void update_p(const std::array<T, kD>& y, T e) noexcept {
    const std::array<T, kD> g = apply_p(y);
    const T k = e / (T(1) + e * detail::dot<T, D>(y.data(), g.data()));
    for (std::size_t j = 0; j < kD; ++j) detail::axpy<T, D>(&p_[j * kD], -k * g[j], g.data());
  }

  /// P = M^{-1} afresh (Cholesky factor of M, then P's columns by solves on unit vectors;
  /// O(D^3)). Returns the lanes whose M is positive definite.
  mask_t<T> refactor() noexcept {
    ++refactorisations_;
    factor_valid_ = true;
    const mask_t<T> spd = factor(m_.data(), l_.data(), lt_.data(), inv_diag_.data());
    std::array<T, kD> e;
    for (std::size_t j = 0; j < kD; ++j) {
      e.fill(T(0));
      e[j] = T(1);
      cholesky_solve(l_.data(), lt_.data(), inv_diag_.data(), e);
      std::copy(e.begin(), e.end(), &p_[j * kD]);
    }
    return spd;
  }

  /// The online whitening stage's start: the whitener given to `set_whitener` (V and m), or
  /// V = I with the mean taken from the first sample.
  DENDRITE_REALTIME void seed_online_whitener() noexcept {
    if (whitener_set_) {
      for (std::size_t k = 0; k < kD * kD; ++k) vw_[k] = T(white_[k]);
      for (std::size_t i = 0; i < kD; ++i) mu_[i] = T(white_mean_[i]);
    } else {
      detail::set_identity(vw_.data(), kD);
      std::fill(mu_.begin(), mu_.end(), T(0));
    }
  }

  /// Column j of the iterate's unmixing, M^{-1} W V(:, j), with the factor of M at hand (the
  /// direct solve's; `solve_refined` otherwise).
  std::array<T, kD> iterate_column(std::size_t j, bool refined) noexcept {
    std::array<T, kD> v, g;
    for (std::size_t i = 0; i < kD; ++i) {
      v[i] = opt_.whitening_rate > 0 ? vw_[j * kD + i] : T(white_[j * kD + i]);
    }
    detail::gemv<T, D>(w_.data(), v.data(), g.data());
    if (refined) {
      (void)solve_refined(g);
    } else {
      cholesky_solve(l_.data(), lt_.data(), inv_diag_.data(), g);
    }
    return g;
  }

  /// One column of Ubar moves toward the iterate's (lanes not `good` keep theirs), then
  /// y = Ubar xc in the good lanes, 0 in the others.
  void average_and_output(const std::array<T, kD>& xc, const mask_t<T>& good,
                          std::span<T, kD> y) noexcept {
    const std::size_t every = average_every();
    if (avg_wait_ == 0) {
      const std::size_t j = avg_col_;
      const std::array<T, kD> g = iterate_column(j, refined_);
      const double b = std::max(double(every * kD) * opt_.eta0 / opt_.average_span,
                                1.0 / double(avg_refreshes_ + 2));
      const T bt = broadcast<T>(b);
      T* uj = &ubar_[j * kD];
      for (std::size_t i = 0; i < kD; ++i) {  // select: g may be non-finite in a bad lane
        uj[i] = dendrite::select<T>(good, dendrite::fma(bt, g[i] - uj[i], uj[i]), uj[i]);
      }
      if (++avg_col_ == kD) {
        avg_col_ = 0;
        ++avg_refreshes_;
      }
    }
    avg_wait_ = avg_wait_ + 1 == every ? 0 : avg_wait_ + 1;
    std::array<T, kD> out;
    detail::gemv<T, D>(ubar_.data(), xc.data(), out.data());
    for (std::size_t i = 0; i < kD; ++i) {
      y[i] = dendrite::select<T>(good, out[i], T(0));
    }
  }

  /// Ubar = the iterate's unmixing, and the average's mean phase restarts. O(D^3), no allocation.
  DENDRITE_REALTIME void reset_average() noexcept {
    avg_col_ = 0;
    avg_wait_ = 0;
    avg_refreshes_ = 0;
    if (!(opt_.average_span > 0)) {
      return;
    }
    (void)factor(m_.data(), l_.data(), lt_.data(), inv_diag_.data());
    factor_valid_ = false;  // the refined solve's P comes afresh from M
    for (std::size_t j = 0; j < kD; ++j) {
      const std::array<T, kD> g = iterate_column(j, false);
      std::copy(g.begin(), g.end(), &ubar_[j * kD]);
    }
  }

  [[nodiscard]] static WeightMatrix to_matrix(const aligned_vector<T>& a, std::size_t lane_index) {
    // exact: a float lane goes through double and back unchanged
    return detail::lane_matrix(a, kD, lane_index).template cast<Scalar>();
  }
  void restore(const mask_t<T>& lanes) noexcept {
    for (std::size_t k = 0; k < kD * kD; ++k) {
      w_[k] = dendrite::select<T>(lanes, w_ckpt_[k], w_[k]);
      m_[k] = dendrite::select<T>(lanes, m_ckpt_[k], m_[k]);
    }
    factor_valid_ = false;  // the refined solve factorises the restored M afresh
  }

  OnlineICAOptions opt_;
  bool frozen_ = false;
  aligned_vector<T> w_, m_;            // D x D column-major: feed-forward W, lateral M
  aligned_vector<T> w_ckpt_, m_ckpt_;  // last checkpoint
  aligned_vector<T> w_init_;           // seeded start of W
  aligned_vector<Scalar> white_;  // D x D column-major whitening V (identity when unset), shared
  aligned_vector<Scalar> white_mean_;  // D
  bool whitener_set_ = false;       // set_whitener was called: it seeds the online stage too
  aligned_vector<T> vw_;  // D x D column-major: learned whitening V per lane (online stage)
  aligned_vector<T> mu_;  // D: learned mean per lane (online stage)
  aligned_vector<Scalar> lambda2_;  // D, the paper's Lambda^{-2}
  aligned_vector<T> l_;             // D x D column-major, scratch: Cholesky factor (lower)
  aligned_vector<T> lt_;            // D x D, scratch: column i holds row i of L (for L^T y = u)
  aligned_vector<T> inv_diag_;      // D, scratch: 1 / L_jj
  bool refined_ = false;         // the refined O(D^2) solve (else a fresh factor per sample)
  bool factor_valid_ = false;    // refined: p_ holds the inverse of M + sigma I
  double solve_tol2_ = 0;        // refined: the squared relative residual to stop at
  double refresh2_ = 0;          // refined: the squared relative residual that calls for a fresh P
  aligned_vector<T> p_;          // refined: D x D, the inverse of M + sigma I
  std::uint64_t refinements_ = 0;       // refined: corrections applied
  std::uint64_t refactorisations_ = 0;  // refined: fresh inverses (see refactorisations())
  aligned_vector<T> ubar_;        // D x D column-major: the averaged unmixing (average_span > 0)
  std::size_t avg_col_ = 0;       // the column of Ubar the next refresh moves
  std::size_t avg_wait_ = 0;      // steps since the last refresh (see average_every)
  std::uint64_t avg_refreshes_ = 0;  // sweeps over Ubar's columns since the average restarted
  std::uint64_t t_ = 0;
  int since_ckpt_ = 0;
};

}  // namespace dendrite::ica
