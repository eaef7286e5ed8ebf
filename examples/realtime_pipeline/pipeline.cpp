// SPDX-License-Identifier: MIT
// The real-time acquisition pipeline: 16 channels at 30 kHz, per sample in one noexcept callback
// ORICA (learning from a cold start, all the time) -> StreamingPCA (dominant subspace of the raw
// channels) -> GRU decoder (trained on the fly on a calibration segment, written as NPY and loaded
// back through the PyTorch loader with its reference-pair check). Mid-stream the electrodes shift
// (the mixing changes): ORICA detects it, and a batch fit of the second after the detection is
// adopted (ica::ORICATracker: the buffer, the hand-over and the adoption in the callback; the fit
// between blocks, a worker thread's job in an acquisition program). Beside ORICA, the
// Hebbian/anti-Hebbian network frozen at FOBI's solution of the calibration segment (the
// simplest method that could separate) shows what a network that does not learn does. Measures
// latency, real-time factor, allocations during streaming, separation quality over time and
// rejected samples.
#include "support/alloc_counter.hpp"  // first: it must see Eigen before anyone else

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <iostream>
#include <numbers>
#include <random>
#include <vector>

#include <Eigen/Eigenvalues>

#include <dendrite/geometry/streaming_pca.hpp>
#include <dendrite/geometry/subspace.hpp>
#include <dendrite/ica/metrics.hpp>
#include <dendrite/ica/online_ica.hpp>
#include <dendrite/ica/orica.hpp>
#include <dendrite/ica/orica_tracker.hpp>
#include <dendrite/io/pytorch.hpp>
#include <dendrite/nn/dense.hpp>
#include <dendrite/nn/gru.hpp>

#include "../common/progress.hpp"
#include "../common/report.hpp"
#include "../common/decoder.hpp"
#include "../common/examples.hpp"
#include "simulator.hpp"
#include <dendrite/core/eigen_instantiations.hpp>  // the decompositions, compiled once

namespace dendrite::examples {

namespace {

constexpr int kC = AcquisitionSimulator::kChannels;
constexpr int kDecoderHidden = 16;
constexpr int kDecodedBurst = 5;          // burst source 6 + 5 = 11, active 36% of the time
constexpr float kOutlierLimit = 1e6f;     // |x| above this is a fault, not a signal

using Decoder = nn::GRU<float, kC, kDecoderHidden>;
using Readout = nn::Dense<float, kDecoderHidden, 1>;

/// Everything the callback touches, allocated before streaming starts.
struct Pipeline {
  ica::ORICATracker<float, kC> ica;
  geometry::StreamingPCA<float, kC, 3> pca;  // its defaults: the rate is relative to the power
  Decoder gru;
  Readout readout;
  std::array<float, kC> y{};
  std::array<float, kC> power{};
  std::array<float, kDecoderHidden> h{};
  std::array<float, 1> out{};

  // the tracker gathers the second after a detection; its fit runs between blocks
  explicit Pipeline(const ica::ORICAOptions& o)
      : ica({.orica = o, .fit_seconds = 1.0, .worker_thread = false}) {}

  /// The per-sample callback: real-time safe (noexcept, no allocation, no lock).
  DENDRITE_REALTIME Status process(std::span<const float, kC> x, float& decoded) noexcept {
    for (float v : x) {
      if (std::abs(v) > kOutlierLimit) return Status::RejectedOutlier;  // NaN compares false
    }
    const Status s = ica.step(x, y);
    if (s != Status::Ok) return s;
    (void)pca.step(x);
    for (int i = 0; i < kC; ++i) power[std::size_t(i)] = y[std::size_t(i)] * y[std::size_t(i)];
    (void)gru.step(power, h);
    (void)readout.step(h, out);
    decoded = out[0];
    return Status::Ok;
  }
};

}  // namespace

void run_realtime_pipeline(Report& report, const Options& options) {
  using Clock = std::chrono::steady_clock;
  const double seconds = options.smoke ? 1.0 : (options.full ? 60.0 : 10.0);
  const double calib_seconds = options.smoke ? 1.0 : 4.0;
  const auto n_stream = std::size_t(seconds * AcquisitionSimulator::kRate);
  const auto n_calib = Eigen::Index(calib_seconds * AcquisitionSimulator::kRate);
  const auto n_shift = n_stream / 2;  // the electrodes shift half-way through the stream
  std::cout << "[realtime pipeline] 16 channels at 30 kHz, " << seconds << " s of signal after a "
            << calib_seconds << " s calibration; the electrodes shift after " << seconds / 2
            << " s\n";

  AcquisitionSimulator sim(2021);
  // ---- calibration (not timed): ORICA learns from a cold start on the first seconds, the
  // decoder trains on the power of its outputs over the second half of them; the comparison
  // network starts at FOBI's solution of the same segment and stays frozen.
  Pipeline pipe({.schedule = ica::ForgettingSchedule::Adaptive,
                 .sample_rate = AcquisitionSimulator::kRate,
                 .nsi_memory_s = 1.0});
  Eigen::MatrixXd xcal(kC, n_calib);
  Eigen::MatrixXf ycal(kC, n_calib / 2);
  Eigen::VectorXf target(n_calib / 2);  // the decoded burst's state: the decoder's target
  std::array<float, kC> x{};
  for (Eigen::Index k = 0; k < n_calib; ++k) {
    sim.next(x);
    for (int i = 0; i < kC; ++i) xcal(i, k) = x[std::size_t(i)];
    (void)pipe.ica.step(x, pipe.y);
    if (k >= n_calib - n_calib / 2) {
      const Eigen::Index j = k - (n_calib - n_calib / 2);
      for (int i = 0; i < kC; ++i) ycal(i, j) = pipe.y[std::size_t(i)] * pipe.y[std::size_t(i)];
      target(j) = sim.burst_active(kDecodedBurst) ? 1.0f : 0.0f;
    }
  }
  ica::OnlineICA<float, kC> frozen({.seed = 7});
  const auto fobi = frozen.warm_start(xcal, /*start_separated=*/true);
  frozen.freeze(true);
  const double amari_calibrated = ica::amari_index(pipe.ica.unmixing(), sim.mixing());
  std::cout << "  calibrated: ORICA Amari index " << fmt(amari_calibrated)
            << ", frozen network at FOBI's solution "
            << fmt(ica::amari_index(frozen.unmixing(), sim.mixing())) << " (FOBI gap test "
            << (fobi.identifiable ? "passed" : "failed: " + fobi.warning) << ")\n";
  Decoder trained({.seed = 3});
  Readout trained_readout({.seed = 4});
  // the decoder: the power of the separated outputs -> the burst's state, by BPTT
  const double train_loss = train_decoder(
      trained, trained_readout, ycal, target,
      {.iterations = options.smoke ? 20 : (options.full ? 1200 : 400), .progress = "training decoder"});
  std::cout << "  decoder trained: loss " << fmt(train_loss) << " (target variance "
            << fmt((target.array() - target.mean()).square().mean()) << ")\n";
  // through the NPY bridge: write as a state_dict with a reference pair, load with the check
  const auto decoder_dir = report.dir() / "decoder";
  io::save_pytorch(trained, decoder_dir, "gru.");
  io::save_pytorch(trained_readout, decoder_dir, "readout.");
  io::save_check_pair(trained, decoder_dir, ycal.leftCols(200), "gru.");
  io::load_pytorch(pipe.gru, decoder_dir, "gru.");
  io::load_pytorch(pipe.readout, decoder_dir, "readout.");

  // the true dominant subspace of the raw channels: top 3 eigenvectors of A A^T + noise
  const Eigen::MatrixXd cov_true =
      sim.mixing() * sim.mixing().transpose() + 0.05 * 0.05 * Eigen::MatrixXd::Identity(kC, kC);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(cov_true);
  const Eigen::MatrixXd top3 = eig.eigenvectors().rightCols(3);

  // ---- streaming: the timed, allocation-counted part
  sim.set_faults(1e-5, 1e-5);
  std::array<float, kC> y_frozen{};
  std::vector<double> frozen_curve;
  double amari_before_shift = std::nan("");
  const std::size_t block = 7500;  // 0.25 s between analysis points (outside the callback)
  std::vector<float> latency_ns(n_stream);
  Eigen::MatrixXf yblock(kC, Eigen::Index(block));
  std::vector<double> decoded(n_stream), truth(n_stream);
  std::vector<double> t_axis, amari_curve, offdiag_curve, diag_lo, diag_hi, angle_curve, corr_t, corr_v;
  std::size_t rejected_nan = 0, rejected_outlier = 0, diverged = 0, injected = 0;
  // After the shift: once ORICA's Adaptive schedule detects it (a reheat), the tracker records
  // the next second of input (a preallocated buffer); it is fitted in batch between blocks
  // (run_pending_fit: ORICA::fit, FastICA; in an acquisition program the tracker's worker thread
  // does it) and the next step adopts the fit (O(D^2), real-time).
  std::uint64_t reheats_at_shift = 0, refits_at_shift = 0;
  std::size_t detected_at = 0, adopted_at = 0;  // samples; 0: not yet
  double fit_ms = 0, amari_adopted = std::nan("");
  dendrite::test::AllocCounts allocs;
  double callback_seconds = 0;
  const auto wall0 = Clock::now();
  Progress bar("streaming", double(n_stream), "samples");
  for (std::size_t b0 = 0; b0 < n_stream; b0 += block) {
    const std::size_t b1 = std::min(n_stream, b0 + block);
    std::size_t good_in_block = 0;
    {
      dendrite::test::NoAllocScope scope;
      for (std::size_t k = b0; k < b1; ++k) {
        if (k == n_shift) sim.shift_electrodes(0.3);
        injected += sim.next(x) ? 1 : 0;
        float out = 0;
        const auto t0 = Clock::now();
        const Status st = pipe.process(x, out);
        const auto t1 = Clock::now();
        latency_ns[k] = float(std::chrono::duration<double, std::nano>(t1 - t0).count());
        if (k == n_shift) {
          reheats_at_shift = pipe.ica.network().reheats();
          refits_at_shift = pipe.ica.refits();
        }
        if (k > n_shift && detected_at == 0 && pipe.ica.network().reheats() != reheats_at_shift) {
          detected_at = k + 1;
        }
        if (k > n_shift && adopted_at == 0 && pipe.ica.refits() != refits_at_shift) {
          adopted_at = k + 1;
        }
        decoded[k] = out;
        (void)frozen.step(x, y_frozen);  // the comparison, outside the timed callback
        truth[k] = sim.burst_active(kDecodedBurst) ? 1.0 : 0.0;
        switch (st) {
          case Status::Ok:
            for (int i = 0; i < kC; ++i) yblock(i, Eigen::Index(good_in_block)) = pipe.y[std::size_t(i)];
            ++good_in_block;
            break;
          case Status::RejectedNonFinite: ++rejected_nan; break;
          case Status::RejectedOutlier: ++rejected_outlier; break;
          case Status::Diverged: ++diverged; break;
        }
      }
      const auto c = scope.counts();
      allocs.operator_new += c.operator_new;
      allocs.eigen += c.eigen;
    }
    // analysis between blocks (allocates; not part of the real-time path)
    const auto f0 = Clock::now();
    if (pipe.ica.run_pending_fit()) {
      fit_ms = std::chrono::duration<double, std::milli>(Clock::now() - f0).count();
    }
    const double t = double(b1) / AcquisitionSimulator::kRate;
    t_axis.push_back(t);
    amari_curve.push_back(ica::amari_index(pipe.ica.unmixing(), sim.mixing()));
    if (adopted_at > b0 && adopted_at <= b1) amari_adopted = amari_curve.back();
    frozen_curve.push_back(ica::amari_index(frozen.unmixing(), sim.mixing()));
    if (b1 <= n_shift) amari_before_shift = amari_curve.back();
    const Eigen::MatrixXd yb = yblock.leftCols(Eigen::Index(good_in_block)).cast<double>();
    const Eigen::MatrixXd cov = ica::output_covariance(yb);
    offdiag_curve.push_back((cov - Eigen::MatrixXd(cov.diagonal().asDiagonal())).cwiseAbs().maxCoeff());
    diag_lo.push_back(cov.diagonal().minCoeff());
    diag_hi.push_back(cov.diagonal().maxCoeff());
    angle_curve.push_back(geometry::largest_principal_angle(pipe.pca.components().cast<double>(), top3) * 180.0 / std::numbers::pi);
    if ((b1 % 30000) == 0) {
      corr_t.push_back(t);
      corr_v.push_back(correlation(Eigen::Map<const Eigen::VectorXd>(decoded.data() + (b1 - 30000), 30000),
                                   Eigen::Map<const Eigen::VectorXd>(truth.data() + (b1 - 30000), 30000)));
    }
    bar.update(double(b1));
  }
  bar.finish();
  const double wall = std::chrono::duration<double>(Clock::now() - wall0).count();
  for (float v : latency_ns) callback_seconds += double(v) * 1e-9;

  // ---- report
  std::vector<float> sorted = latency_ns;  // one sort serves the percentiles and the CDF
  std::sort(sorted.begin(), sorted.end());
  const auto percentile = [&](double q) {
    return double(sorted[std::min(sorted.size() - 1, std::size_t(q * double(sorted.size())))]);
  };
  const double p50 = percentile(0.5), p99 = percentile(0.99), p999 = percentile(0.999);
  const double pmax = sorted.back();
  const double rtf = seconds / callback_seconds;
  const double decoder_corr = corr_v.empty() ? std::nan("") : corr_v.back();
  double decoder_corr_before = std::nan("");  // the last full second before the shift
  for (std::size_t k = 0; k < corr_t.size(); ++k) {
    if (corr_t[k] * AcquisitionSimulator::kRate <= double(n_shift)) decoder_corr_before = corr_v[k];
  }
  report.section("Real-time pipeline",
                 "A simulated acquisition of 16 channels at 30 kHz (16 independent sources: "
                 "oscillations, spiking-like bursts, Laplace noise; a random mixing; sensor "
                 "noise), processed one sample at a time by one noexcept callback: an outlier gate, "
                 "ORICA<float, 16> learning all the time from a cold start (Adaptive schedule: "
                 "a nonstationarity index on its outputs' correlations reheats its rates), "
                 "StreamingPCA<float, 16, 3> on the raw channels and a GRU<float, 16, 16> + "
                 "Dense decoder of whether one burst source is active (from the power y^2 of the "
                 "separated outputs), trained on the second half of a " + fmt(calib_seconds) +
                     " s calibration segment by BPTT, saved as NPY files (decoder/) and loaded "
                     "back through the PyTorch loader with its reference-pair check. Half-way "
                     "through the stream the electrodes shift (every mixing entry moves by up to "
                     "30 % of its column's scale). Beside ORICA: the Hebbian/anti-Hebbian network "
                     "started at FOBI's solution of the calibration segment and frozen (with "
                     "learning on, its plain rule drifts away on these 16 sources), the simplest "
                     "method that separates here. Once the Adaptive schedule detects the shift, "
                     "the network's whitener relearns fast while its rotation keeps its rate (so "
                     "that its outputs stay on their sources meanwhile), and "
                     "ica::ORICATracker records the next second of input, fits it in batch between "
                     "blocks (ORICA::fit, FastICA; its worker thread's job in an acquisition "
                     "program), orders its components like the network's own at the detection "
                     "(by their spatial maps, so that each output keeps its source and the decoder "
                     "keeps reading), and the network adopts the fit in the callback (O(D^2), no "
                     "allocation) and learns on from it. "
                     "The generator injects NaN channels and 1e30 spikes (1e-5 per sample each).");
  report.table("realtime_latency",
               {{"p50 (ns)", "p99 (ns)", "p99.9 (ns)", "max (ns)", "real-time factor",
                 "allocations in the callback"},
                {fmt(p50, 4), fmt(p99, 4), fmt(p999, 4), fmt(pmax, 4), fmt(rtf, 3),
                 std::to_string(allocs.total())}});
  report.table("realtime_rejections", {{"faults injected", "rejected NaN", "rejected outlier",
                                        "diverged (guard)", "samples"},
                                       {std::to_string(injected), std::to_string(rejected_nan),
                                        std::to_string(rejected_outlier), std::to_string(diverged),
                                        std::to_string(n_stream)}});
  {
    Series cdf{"latency", {}, {}};
    for (std::size_t i = 0; i < sorted.size(); i += std::max<std::size_t>(1, sorted.size() / 2000)) {
      cdf.x.push_back(sorted[i]);
      cdf.y.push_back(double(i) / double(sorted.size()));
    }
    report.line_plot("realtime_latency_cdf", "Callback latency (cumulative distribution)", {cdf},
                     {.xlabel = "latency (ns)", .ylabel = "fraction of samples", .logx = true});
  }
  report.line_plot("realtime_amari",
                   "Separation over time (Amari index, 0 = perfect); the electrodes shift at " +
                       fmt(double(n_shift) / AcquisitionSimulator::kRate) + " s",
                   {{"ORICA (learning)", t_axis, amari_curve},
                    {"network frozen at FOBI", t_axis, frozen_curve}},
                   {.xlabel = "time (s)", .ylabel = "Amari index", .logy = true});
  report.line_plot("realtime_output_covariance", "Output covariance over 0.25 s blocks",
                   {{"max |off-diagonal|", t_axis, offdiag_curve},
                    {"smallest variance", t_axis, diag_lo},
                    {"largest variance", t_axis, diag_hi}},
                   {.xlabel = "time (s)", .ylabel = "covariance"});
  report.line_plot("realtime_pca_angle", "StreamingPCA: largest principal angle to the true top-3 subspace",
                   {{"angle", t_axis, angle_curve}}, {.xlabel = "time (s)", .ylabel = "degrees", .logy = true});
  {
    Series dec{"decoded", {}, {}}, tru{"true state", {}, {}};
    const std::size_t from = n_stream - 3000;  // the last 100 ms
    for (std::size_t k = from; k < n_stream; ++k) {
      dec.x.push_back(double(k) / AcquisitionSimulator::kRate);
      dec.y.push_back(decoded[k]);
      tru.x.push_back(dec.x.back());
      tru.y.push_back(truth[k]);
    }
    report.line_plot("realtime_decoder", "GRU decoder: is burst source 11 active? (last 100 ms)",
                     {tru, dec}, {.xlabel = "time (s)", .ylabel = "active (1) or not (0)"});
    report.line_plot("realtime_decoder_corr", "Decoder correlation with the true state, per second",
                     {{"correlation", corr_t, corr_v}}, {.xlabel = "time (s)", .ylabel = "r"});
  }
  {
    const Eigen::MatrixXd p = (pipe.ica.unmixing() * sim.mixing()).cwiseAbs();
    std::vector<double> v;
    for (int i = 0; i < kC; ++i)
      for (int j = 0; j < kC; ++j) v.push_back(p(i, j) / p.row(i).maxCoeff());
    report.heatmap("realtime_global_matrix", "|unmixing x mixing| at the end, rows scaled to max 1 (a permutation = separated)",
                   v, kC, kC, {.xlabel = "true source", .ylabel = "output"});
  }
  report.summary("pipeline latency p50 / p99 / p99.9 / max",
                 fmt(p50, 3) + " / " + fmt(p99, 3) + " / " + fmt(p999, 3) + " / " + fmt(pmax, 3) + " ns",
                 "one 16-channel sample through ICA, PCA and the GRU decoder");
  report.summary("pipeline real-time factor", fmt(rtf, 3) + "x",
                 "signal time / callback time at 30 kHz (" + fmt(seconds / wall, 3) +
                     "x including the simulator and analysis)");
  report.summary("pipeline allocations while streaming", std::to_string(allocs.total()),
                 "counted inside the callback by the tests' allocation counter");
  report.summary("pipeline rejected samples",
                 std::to_string(rejected_nan) + " NaN, " + std::to_string(rejected_outlier) +
                     " outliers, " + std::to_string(diverged) + " guard",
                 std::to_string(injected) + " faults injected");
  report.summary("pipeline Amari index", fmt(amari_before_shift) + " / " + fmt(amari_curve.back()),
                 "ORICA learning, before the electrode shift / at the end (frozen FOBI network: " +
                     fmt(frozen_curve[std::min(frozen_curve.size() - 1, frozen_curve.size() / 2 - 1)]) +
                     " / " + fmt(frozen_curve.back()) + "); " +
                     std::to_string(pipe.ica.network().reheats()) + " reheats");
  const auto seconds_at = [](std::size_t k) {
    return k == 0 ? std::string("never") : fmt(double(k) / AcquisitionSimulator::kRate, 3) + " s";
  };
  report.summary("pipeline batch fit after the shift",
                 "detected " + seconds_at(detected_at) + ", adopted " + seconds_at(adopted_at),
                 "the shift at " + seconds_at(n_shift) +
                     (adopted_at == 0 ? std::string("; no fit: the stream ended first")
                                      : "; FastICA on 1 s took " + fmt(fit_ms, 3) +
                                            " ms; Amari index " + fmt(amari_adopted) +
                                            " at the end of the block (0.25 s) that adopted it"));
  report.summary("pipeline decoder correlation", fmt(decoder_corr_before) + " / " + fmt(decoder_corr),
                 "last second before the shift / last second; the batch fit is ordered like "
                 "the network's components at the detection (by their spatial maps), so the "
                 "decoder trained before the shift reads the same sources after it (with "
                 "FastICA's own order, before 2026-12-04: 0.101 in the last second); training "
                 "loss " + fmt(train_loss));
}

}  // namespace dendrite::examples
