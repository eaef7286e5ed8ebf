// SPDX-License-Identifier: MIT
// The EEG closed loop: a 64-channel EEG-like recording (ica::eeg_like at 512 Hz: blinks, line
// noise, alpha, muscle, heartbeat, background and further rhythms, plus electrode offsets and
// drift) is written to a BDF file with EDFlib, then replayed in blocks of 32 samples through
//   band-pass 1-40 Hz -> 50 Hz notch -> common average -> ORICA (63 channels: the average
//   reference removes one dimension, so the last channel is dropped before and restored after)
//   -> removal of the blink and line-noise components -> GRU decoder of the alpha envelope,
// and the cleaned data are written to a second BDF file and read back. Reports the raw and
// cleaned channel nearest the eyes around a blink, the Amari index over time, per-block latency
// percentiles, the real-time factor and the allocations while streaming.
#include "support/alloc_counter.hpp"  // first: it must see Eigen before anyone else

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <random>
#include <vector>

#include <dendrite/dsp.hpp>
#include <dendrite/ica/eeg_like.hpp>
#include <dendrite/ica/metrics.hpp>
#include <dendrite/ica/orica.hpp>
#include <dendrite/io/edf.hpp>
#include <dendrite/nn/dense.hpp>
#include <dendrite/nn/gru.hpp>

#include "../common/decoder.hpp"
#include "../common/examples.hpp"
#include "../common/progress.hpp"
#include "../common/report.hpp"
#include <dendrite/core/eigen_instantiations.hpp>  // the decompositions, compiled once

namespace dendrite::examples {

namespace {

constexpr int kC = 64;       // recorded channels
constexpr int kI = kC - 1;   // channels into the ICA after the average reference
constexpr int kH = 16;       // decoder hidden units
constexpr int kBlock = 32;   // samples per block, as an acquisition host hands them over
constexpr double kRate = 512.0;
constexpr float kMicrovolts = 20.0f;  // scale of the unit-variance mixtures, in uV

using Decoder = nn::GRU<float, kC, kH>;
using Readout = nn::Dense<float, kH, 1>;

/// The front end's filters, for the loop and for the ground truth alike.
Eigen::MatrixXd bandpass_sos() { return dsp::butter(4, {1.0, 40.0}, dsp::BandType::BandPass, kRate); }
Eigen::MatrixXd notch_sos() { return dsp::iirnotch(50.0, 30.0, kRate); }

/// Everything the block callback touches, allocated before streaming starts.
struct ClosedLoop {
  dsp::SOSFilter<float, kC> bandpass{bandpass_sos()};
  dsp::SOSFilter<float, kC> notch{notch_sos()};
  dsp::CommonAverage<float, kC> car;
  ica::ORICA<float, kI> ica;
  Decoder gru;
  Readout readout;
  std::array<bool, kI> keep{};
  bool clean = true;  // off: no ICA; the decoder sees the filtered, re-referenced channels
  std::array<float, kC> a{}, b{}, scaled{};
  std::array<float, kI> y{}, z{};
  std::array<float, kH> h{};
  std::array<float, 1> out{};
  std::size_t rejected = 0;
  Eigen::MatrixXd recorded;  // the ICA's input over the calibration, for the batch fit
  Eigen::Index n_recorded = 0;

  explicit ClosedLoop(const ica::ORICAOptions& o, Eigen::Index record = 0)
      : ica(o), gru({.seed = 1}), readout({.seed = 2}), recorded(kI, record) {
    keep.fill(true);
  }

  /// One sample: filtered, re-referenced, unmixed, cleaned (into `cleaned`), decoded.
  DENDRITE_REALTIME float sample(std::span<const float, kC> x, std::span<float, kC> cleaned) noexcept {
    if (bandpass.step(x, a) != Status::Ok) {
      ++rejected;
      return out[0];
    }
    (void)notch.step(a, b);
    (void)car.step(b, a);
    std::span<const float, kI> in(a.data(), kI);
    if (n_recorded < recorded.cols()) {
      for (int i = 0; i < kI; ++i) recorded(i, n_recorded) = in[std::size_t(i)];
      ++n_recorded;
    }
    if (clean && ica.step(in, y) == Status::Ok) {
      ica.reconstruct(y, keep, z);
      float sum = 0;
      for (int i = 0; i < kI; ++i) {
        cleaned[std::size_t(i)] = z[std::size_t(i)];
        sum += z[std::size_t(i)];
      }
      cleaned[kC - 1] = -sum;  // the average reference makes the channels sum to zero
    } else {
      for (int i = 0; i < kC; ++i) cleaned[std::size_t(i)] = a[std::size_t(i)];
    }
    for (int c = 0; c < kC; ++c) scaled[std::size_t(c)] = cleaned[std::size_t(c)] * (1.0f / kMicrovolts);
    (void)gru.step(scaled, h);
    (void)readout.step(h, out);
    return out[0];
  }

  /// One block of channels x n samples in, cleaned channels and decoded values out. Real-time
  /// safe: noexcept, no allocation, no lock.
  DENDRITE_REALTIME void block(const Eigen::MatrixXf& x, Eigen::MatrixXf& cleaned,
                               Eigen::VectorXf& decoded) noexcept {
    std::array<float, kC> in{}, outc{};
    for (Eigen::Index t = 0; t < x.cols(); ++t) {
      for (int c = 0; c < kC; ++c) in[std::size_t(c)] = x(c, t);
      decoded(t) = sample(in, outc);
      for (int c = 0; c < kC; ++c) cleaned(c, t) = outc[std::size_t(c)];
    }
  }
};

/// A moving RMS over `w` samples (causal): the envelope a decoder is asked for.
Eigen::VectorXd moving_rms(const Eigen::RowVectorXd& s, Eigen::Index w) {
  Eigen::VectorXd e(s.size());
  double acc = 0;
  for (Eigen::Index t = 0; t < s.size(); ++t) {
    acc += s(t) * s(t);
    if (t >= w) acc -= s(t - w) * s(t - w);
    e(t) = std::sqrt(std::max(0.0, acc) / double(std::min<Eigen::Index>(t + 1, w)));
  }
  return e;
}

}  // namespace

void run_eeg_closed_loop(Report& report, const Options& options) {
  using Clock = std::chrono::steady_clock;
  const double seconds = options.smoke ? 20.0 : 300.0;
  const double calib_s = options.smoke ? 10.0 : 60.0;
  const auto n = Eigen::Index(seconds * kRate);
  std::cout << "[eeg closed loop] 64 channels at 512 Hz, " << seconds
            << " s written to BDF and replayed in blocks of 32 samples\n";

  // ---- the recording: sources mixed to 64 channels in uV, plus electrode offsets and drift
  const auto mix = ica::eeg_like(kC, seconds, kRate, 64);
  Eigen::MatrixXd raw = double(kMicrovolts) * mix.mixed;
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> offset(-150.0, 150.0);
  std::normal_distribution<double> step(0.0, 0.05);
  for (int c = 0; c < kC; ++c) {
    const double o = offset(rng);
    double drift = 0;
    for (Eigen::Index t = 0; t < n; ++t) {
      drift += step(rng);
      raw(c, t) += o + drift;
    }
  }
  auto kind_index = [&](const char* kind) {
    for (int i = 0; i < kC; ++i) {
      if (mix.kinds[std::size_t(i)] == kind) return i;
    }
    return 0;
  };
  const int blink = kind_index("blink"), line = kind_index("line"), alpha = kind_index("alpha");
  const std::filesystem::path recording = report.dir() / "eeg64.bdf";
  std::filesystem::create_directories(report.dir());
  {
    edf::WriterOptions wo;
    wo.format = edf::Format::BDF;
    wo.physical_min = -3200;
    wo.physical_max = 3200;
    edf::Writer w(recording.string(), kC, int(kRate), wo);
    w.write(raw);
    w.close();
    if (w.clipped() > 0) std::cout << "  note: " << w.clipped() << " values clipped to +-3200 uV\n";
  }

  // ---- the ground truth the analysis compares with (outside the loop): the sources through
  // the same band-pass and notch (linear, per channel: filtering commutes with mixing), and the
  // effective mixing after the average reference with the last channel dropped
  Eigen::MatrixXd truth_f(kC, n);
  {
    dsp::SOSFilter<double, kC> bp(bandpass_sos());
    dsp::SOSFilter<double, kC> nt(notch_sos());
    std::array<double, kC> s{}, u{}, v{};
    for (Eigen::Index t = 0; t < n; ++t) {
      for (int c = 0; c < kC; ++c) s[std::size_t(c)] = mix.sources(c, t);
      (void)bp.step(s, u);
      (void)nt.step(u, v);
      for (int c = 0; c < kC; ++c) truth_f(c, t) = v[std::size_t(c)];
    }
  }
  Eigen::MatrixXd car = Eigen::MatrixXd::Identity(kC, kC) - Eigen::MatrixXd::Constant(kC, kC, 1.0 / kC);
  const Eigen::MatrixXd mixing_eff = car.topRows(kI) * mix.mixing;  // 63 x 64
  // the source the 63 channels cannot hold: the smallest column of the effective mixing, once
  // each source is scaled by its filtered amplitude
  Eigen::VectorXd scale(kC);
  for (int i = 0; i < kC; ++i) {
    scale(i) = std::sqrt(truth_f.row(i).squaredNorm() / double(n));
  }
  const Eigen::MatrixXd weighted = mixing_eff * scale.asDiagonal();
  Eigen::Index lost = 0;
  weighted.colwise().norm().minCoeff(&lost);
  std::vector<Eigen::Index> kept_sources;
  for (Eigen::Index i = 0; i < kC; ++i) {
    if (i != lost) kept_sources.push_back(i);
  }

  // the decoder's target: the envelope of the alpha source (0.25 s RMS), in source units
  Eigen::VectorXd envelope = moving_rms(truth_f.row(alpha), Eigen::Index(kRate / 4));
  envelope = (envelope.array() - envelope.mean()) / std::sqrt((envelope.array() - envelope.mean()).square().mean());

  // ---- replay: calibration (ORICA learns from a cold start; the cleaned calibration data train
  // the decoders), then streaming with everything learning or running as it would live
  const auto n_calib = Eigen::Index(calib_s * kRate);
  ClosedLoop loop({.schedule = ica::ForgettingSchedule::Cooling, .sample_rate = kRate, .memory_s = 20.0},
                  n_calib);
  ClosedLoop plain({.schedule = ica::ForgettingSchedule::Cooling, .sample_rate = kRate, .memory_s = 20.0});
  plain.clean = false;  // the simplest alternative: the decoder on the filtered channels
  edf::Reader reader(recording.string(), kC);
  Eigen::MatrixXf xb(kC, kBlock), cleaned(kC, kBlock), plain_out(kC, kBlock);
  Eigen::VectorXf decoded(kBlock), decoded_plain(kBlock);
  Eigen::MatrixXf cleaned_all(kC, n), plain_all(kC, n);
  Eigen::VectorXd decoded_all(n), decoded_plain_all(n);
  std::vector<double> block_ns, t_axis, amari_curve, blink_corr, line_corr;
  dendrite::test::AllocCounts allocs;
  Eigen::Index at = 0;
  bool trained = false;
  double train_loss = 0, train_loss_plain = 0;
  double fit_s = 0, amari_before_fit = std::nan("");
  double callback_s = 0;
  const auto wall0 = Clock::now();
  Progress bar("replaying", double(n), "samples");
  while (true) {
    const std::size_t got = reader.read(xb);
    if (got == 0) break;
    const auto k = Eigen::Index(got);
    if (k < kBlock) xb.rightCols(kBlock - k).setZero();
    {
      dendrite::test::NoAllocScope scope;
      const auto t0 = Clock::now();
      loop.block(xb, cleaned, decoded);
      const auto t1 = Clock::now();
      const double ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
      plain.block(xb, plain_out, decoded_plain);
      const auto c = scope.counts();
      allocs.operator_new += c.operator_new;
      allocs.eigen += c.eigen;
      if (at >= n_calib) {
        block_ns.push_back(ns);
        callback_s += ns * 1e-9;
      }
    }
    cleaned_all.middleCols(at, k) = cleaned.leftCols(k);
    plain_all.middleCols(at, k) = plain_out.leftCols(k);
    decoded_all.segment(at, k) = decoded.head(k).cast<double>();
    decoded_plain_all.segment(at, k) = decoded_plain.head(k).cast<double>();
    at += k;
    // once a second, outside the callback: which components are the blink and the line noise
    // (by correlation with the true sources: an oracle a real pipeline replaces by a component
    // classifier), and the separation so far
    if (at % Eigen::Index(kRate) == 0) {
      // |corr(output i, source j)| from the global matrix G = unmixing x effective mixing
      // (sources at their filtered amplitudes, nearly uncorrelated): |G_ij| / ||G_i.||
      const Eigen::MatrixXd g = loop.ica.unmixing() * weighted;
      const Eigen::VectorXd norms = g.rowwise().norm();
      auto best = [&](int source) {
        Eigen::Index arg = 0;
        const double r = (g.col(source).cwiseAbs().array() / norms.array()).maxCoeff(&arg);
        return std::pair<Eigen::Index, double>(arg, r);
      };
      const auto [bi, br] = best(blink);
      const auto [li, lr] = best(line);
      loop.keep.fill(true);
      if (br > 0.8) loop.keep[std::size_t(bi)] = false;
      if (lr > 0.8) loop.keep[std::size_t(li)] = false;
      t_axis.push_back(double(at) / kRate);
      amari_curve.push_back(ica::amari_index(Eigen::MatrixXd(g(Eigen::all, kept_sources))));
      blink_corr.push_back(br);
      line_corr.push_back(lr);
    }
    // at the end of the calibration: ORICA adopts a batch fit of the calibration (FastICA on its
    // input from 2 s on, past the filters' start), then the decoders train on what each loop
    // produced
    if (!trained && at >= n_calib) {
      const auto f0 = Clock::now();
      const Eigen::Index skip = Eigen::Index(2 * kRate);
      // 60 FastICA iterations: the same separation here as 200 (which stop short of scikit-learn's
      // tolerance on these 63 channels too) in under a third of the time
      const auto fit = decltype(loop.ica)::fit(
          loop.recorded.middleCols(skip, loop.n_recorded - skip), {.max_iter = 60});
      fit_s = std::chrono::duration<double>(Clock::now() - f0).count();
      amari_before_fit = amari_curve.back();
      (void)loop.ica.adopt(fit);
      const int iterations = options.smoke ? 10 : 1500;
      const Eigen::VectorXf target = envelope.head(at).cast<float>();
      const DecoderTraining how{.steps = 96, .burn_in = 32, .batch = 16, .lr = 1e-2f, .iterations = iterations};
      train_loss = train_decoder(loop.gru, loop.readout, cleaned_all.leftCols(at) / kMicrovolts, target, how);
      train_loss_plain =
          train_decoder(plain.gru, plain.readout, plain_all.leftCols(at) / kMicrovolts, target, how);
      trained = true;
    }
    bar.update(double(at));
  }
  bar.finish();
  const double wall = std::chrono::duration<double>(Clock::now() - wall0).count();
  // ---- the cleaned data to a BDF file, read back
  const std::filesystem::path cleaned_path = report.dir() / "eeg64_cleaned.bdf";
  double readback_error = 0, readback_step = 0;
  {
    // the physical range from the data (ORICA's first, unconverged second can be large)
    edf::WriterOptions wo;
    wo.physical_max = std::ceil(1.01 * double(cleaned_all.cwiseAbs().maxCoeff())) + 1;
    wo.physical_min = -wo.physical_max;
    edf::Writer w(cleaned_path.string(), kC, int(kRate), wo);
    w.write(cleaned_all);
    w.close();
    edf::Reader r(cleaned_path.string(), kC);
    const Eigen::MatrixXd back = r.read_all();
    readback_step = r.signals()[0].resolution();
    readback_error = (back.leftCols(n) - cleaned_all.cast<double>()).cwiseAbs().maxCoeff();
  }

  // ---- what cleaning did, over the test part (after the calibration): the channel nearest the
  // eyes (largest blink weight after the average reference), against the same channel without the
  // blink source (the truth the removal aims at)
  const Eigen::VectorXd blink_weights = (mixing_eff.col(blink) * scale(blink)).cwiseAbs();
  Eigen::Index eye = 0;
  blink_weights.maxCoeff(&eye);
  Eigen::RowVectorXd without_blink = Eigen::RowVectorXd::Zero(n);
  for (int j = 0; j < kC; ++j) {
    if (j != blink && j != line) without_blink += double(kMicrovolts) * mixing_eff(eye, j) * truth_f.row(j);
  }
  const Eigen::RowVectorXd blink_part = double(kMicrovolts) * mixing_eff(eye, blink) * truth_f.row(blink);
  double err_plain = 0, err_clean = 0, blink_energy = 0;
  for (Eigen::Index t = n_calib; t < n; ++t) {
    const double truth = without_blink(t);
    err_plain += std::pow(double(plain_all(eye, t)) - truth, 2);
    err_clean += std::pow(double(cleaned_all(eye, t)) - truth, 2);
    blink_energy += blink_part(t) * blink_part(t);
  }
  const double reduction_db = 10 * std::log10(err_plain / err_clean);
  // the largest blink of the test part, +-1 s
  Eigen::Index peak = n_calib;
  truth_f.row(blink).segment(n_calib, n - n_calib).maxCoeff(&peak);
  peak += n_calib;
  const Eigen::Index w0 = std::max<Eigen::Index>(0, peak - Eigen::Index(kRate)),
                     w1 = std::min<Eigen::Index>(n, peak + Eigen::Index(kRate));
  Series s_raw{"filtered, not cleaned", {}, {}}, s_clean{"cleaned (ORICA, blink removed)", {}, {}},
      s_truth{"truth without the blink", {}, {}};
  for (Eigen::Index t = w0; t < w1; ++t) {
    const double time = double(t) / kRate;
    s_raw.x.push_back(time);
    s_raw.y.push_back(plain_all(eye, t));
    s_clean.x.push_back(time);
    s_clean.y.push_back(cleaned_all(eye, t));
    s_truth.x.push_back(time);
    s_truth.y.push_back(without_blink(t));
  }

  // ---- latency, real-time factor, decoders
  std::sort(block_ns.begin(), block_ns.end());
  const auto pct = [&](double q) {
    return block_ns[std::min(block_ns.size() - 1, std::size_t(q * double(block_ns.size())))] * 1e-3;
  };
  const double rtf = (double(n - n_calib) / kRate) / callback_s;
  const Eigen::Index m = n - n_calib;
  const double r_clean = correlation(decoded_all.tail(m), envelope.tail(m));
  const double r_plain = correlation(decoded_plain_all.tail(m), envelope.tail(m));
  const double line_left_db = 20 * std::log10(scale(line));  // filtered amplitude of a unit source
  Eigen::Index amari_half = 0;
  while (amari_half + 1 < Eigen::Index(t_axis.size()) && t_axis[std::size_t(amari_half)] < seconds / 2) ++amari_half;

  report.section(
      "EEG closed loop",
      "A 64-channel EEG-like recording (ica::eeg_like: blinks, line noise, alpha, muscle, "
      "heartbeat, background and further rhythms, a random mixing, scaled to microvolts, plus "
      "electrode offsets of up to 150 uV and a random-walk drift), " + fmt(seconds) +
          " s at 512 Hz, written to a BDF file with EDFlib and replayed from it in blocks of 32 "
          "samples through: Butterworth band-pass 1-40 Hz (order 4) -> 50 Hz notch (Q 30) -> "
          "common average reference -> ORICA<float, 63> learning from a cold start, which at the "
          "end of the calibration adopts a batch fit of it (ORICA::fit, FastICA on the "
          "calibration's ICA input, computed outside the callback) and learns on (the average "
          "reference leaves 63 independent channels: the last is dropped before the ICA and "
          "restored after it as minus the sum of the others) -> removal of the blink and "
          "line-noise components (ORICA::reconstruct with a keep mask) -> GRU<float, 64, 16> + "
          "Dense decoder of the alpha rhythm's envelope. Which components are the blink and the "
          "line noise is decided once a second outside the callback from the true sources (an "
          "oracle; a real pipeline uses a component classifier): a component is removed when "
          "its correlation with the source exceeds 0.8. The decoders train on the first " +
          fmt(calib_s) + " s and are tested on the rest. Beside the cleaned loop, the simplest "
          "alternative: the same front end and decoder without the ICA and the removal.");
  report.line_plot("eeg_blink", "The channel nearest the eyes around the largest blink of the test part (uV)",
                   {s_raw, s_clean, s_truth}, {.xlabel = "time (s)", .ylabel = "uV"});
  report.line_plot("eeg_amari",
                   "ORICA<float, 63> from a cold start, a batch fit adopted at " + fmt(calib_s) +
                       " s: Amari index of its unmixing against the effective mixing (the 63 "
                       "best-represented sources)",
                   {{"Amari index", t_axis, amari_curve}, {"blink component's correlation", t_axis, blink_corr}},
                   {.xlabel = "time (s)", .ylabel = "index / correlation", .logy = true});
  report.table("eeg_latency",
               {{"block p50 (us)", "p99 (us)", "p99.9 (us)", "max (us)", "real-time factor",
                 "allocations while streaming", "rejected samples"},
                {fmt(pct(0.5), 3), fmt(pct(0.99), 3), fmt(pct(0.999), 3), fmt(block_ns.back() * 1e-3, 3),
                 fmt(rtf, 3), std::to_string(allocs.total()), std::to_string(loop.rejected)}});
  report.table("eeg_decoders",
               {{"decoder input", "alpha envelope r (test part)", "training loss (target variance 1)"},
                {"cleaned channels", fmt(r_clean, 3), fmt(train_loss, 3)},
                {"filtered channels, not cleaned", fmt(r_plain, 3), fmt(train_loss_plain, 3)}});
  report.paragraph(
      "Blink removal on the channel nearest the eyes, over the test part: the error against the "
      "channel without its blink falls by " + fmt(reduction_db, 3) + " dB (blinks carry " +
      fmt(100 * blink_energy / (err_plain + 1e-300), 3) + " % of the uncleaned error). The line "
      "noise is gone before the ICA sees it: after the band-pass and the notch a unit line source "
      "keeps " + fmt(line_left_db, 3) + " dB of its amplitude, so there is no line component left to "
      "remove (its best correlation with an output ends at " + fmt(line_corr.back(), 2) + "). "
      "The decoders read the alpha envelope about equally well with and without cleaning: a "
      "decoder that learns its own spatial weights can ignore the blink direction itself; the "
      "cleaning matters for what is displayed and stored, and for decoders fixed to single channels. "
      "The cleaned data were written to eeg64_cleaned.bdf and read back: largest difference " +
      fmt(readback_error, 3) + " uV against a quantisation step of " + fmt(readback_step, 3) + " uV.");
  report.summary("eeg loop Amari index",
                 fmt(amari_before_fit) + " / " + fmt(amari_curve[std::size_t(amari_half)]) + " / " +
                     fmt(amari_curve.back()),
                 "ORICA<float, 63> from a cold start: at the end of the calibration (" +
                     fmt(calib_s) + " s; the batch fit adopted then took " + fmt(fit_s, 3) +
                     " s), half-way and at the end of " + fmt(seconds) + " s");
  report.summary("eeg loop block latency p50 / p99 / max",
                 fmt(pct(0.5), 3) + " / " + fmt(pct(0.99), 3) + " / " + fmt(block_ns.back() * 1e-3, 3) + " us",
                 "32 samples x 64 channels through filters, ORICA, removal and GRU; real-time factor " +
                     fmt(rtf, 3) + "x");
  report.summary("eeg loop allocations while streaming", std::to_string(allocs.total()),
                 "counted around every block callback");
  report.summary("eeg loop blink removal", fmt(reduction_db, 3) + " dB",
                 "error reduction on the channel nearest the eyes, against its blink-free truth");
  report.summary("eeg loop alpha decoder r", fmt(r_clean, 3) + " / " + fmt(r_plain, 3),
                 "cleaned / uncleaned input");
  std::cout << "  Amari " << fmt(amari_curve.back()) << ", blink removal " << fmt(reduction_db, 3)
            << " dB, block p50 " << fmt(pct(0.5), 3) << " us, real-time factor " << fmt(rtf, 3)
            << "x, allocations " << allocs.total() << ", replay " << fmt(wall, 3) << " s\n";
}

}  // namespace dendrite::examples
