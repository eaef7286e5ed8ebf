// SPDX-License-Identifier: MIT
// The ICA reproduction in miniature: Bahroun, Chklovskii & Sengupta's synthetic set (four
// sources: square, sine, sawtooth, Laplace; uniform random mixing), separated by batch FOBI,
// FastICA and the streaming Hebbian/anti-Hebbian network; recovered against true sources (the
// first 300 samples, as the paper's figure), Amari index and SINR per source, and the online
// network's convergence over samples.
#include "support/alloc_counter.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <iostream>
#include <numeric>
#include <random>
#include <vector>

#include <dendrite/ica/fastica.hpp>
#include <dendrite/ica/fobi.hpp>
#include <dendrite/ica/metrics.hpp>
#include <dendrite/ica/online_ica.hpp>
#include <dendrite/ica/synthetic.hpp>

#include "../common/examples.hpp"
#include "../common/progress.hpp"
#include <dendrite/core/eigen_instantiations.hpp>  // the decompositions, compiled once

namespace dendrite::examples {

void run_ica_separation(Report& report, const Options& options) {
  const Eigen::Index n = 10000;
  const long online_samples = options.smoke ? 50'000 : (options.full ? 10'000'000 : 2'000'000);
  std::cout << "[ICA separation] Bahroun et al.'s synthetic set, " << n << " samples; online network over "
            << online_samples << " presentations\n";
  const auto data = ica::bahroun_synthetic(n, 101);
  const Eigen::MatrixXd& x = data.mixed;
  const Eigen::MatrixXd centred = x.colwise() - x.rowwise().mean();
  const char* names[4] = {"square 155 Hz", "sine 180 Hz", "sawtooth 200 Hz", "Laplace"};

  const auto t0 = std::chrono::steady_clock::now();
  const auto f = ica::fobi(x);
  const auto t1 = std::chrono::steady_clock::now();
  const auto fa = ica::fastica(x);
  const auto t2 = std::chrono::steady_clock::now();

  // online network: the robust variant (warm start: whitening and Lambda2 from a FOBI pass),
  // presentations in shuffled passes over the data set, as the authors' notebook does
  ica::OnlineICA<double, 4> net({.seed = 1});
  (void)net.warm_start(x);
  std::vector<Eigen::Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(1001);
  std::array<double, 4> xs{}, ys{};
  std::vector<double> conv_t, conv_a;
  {
    Progress bar("online ICA", double(online_samples), "samples");
    long next_log = 1000;
    for (long t = 0; t < online_samples; ++t) {
      const std::size_t k = std::size_t(t % n);
      if (k == 0) std::shuffle(order.begin(), order.end(), rng);
      for (int i = 0; i < 4; ++i) xs[std::size_t(i)] = x(i, order[k]);
      (void)net.step(xs, ys);
      if (t + 1 == next_log) {
        conv_t.push_back(double(t + 1));
        conv_a.push_back(ica::amari_index(net.unmixing(), data.mixing));
        next_log = long(double(next_log) * 1.25) + 1;
        bar.update(double(t + 1));
      }
    }
  }
  const auto t3 = std::chrono::steady_clock::now();
  const double sec_fobi = std::chrono::duration<double>(t1 - t0).count();
  const double sec_fast = std::chrono::duration<double>(t2 - t1).count();
  const double sec_online = std::chrono::duration<double>(t3 - t2).count();

  struct Method {
    std::string name;
    Eigen::MatrixXd unmixing;
    double seconds;
  };
  const std::vector<Method> methods = {{"FOBI", f.unmixing, sec_fobi},
                                       {"FastICA", fa.unmixing, sec_fast},
                                       {"online network", net.unmixing(), sec_online}};
  report.section("ICA separation (Bahroun et al. 2021, synthetic set)",
                 "Four sources (square, sine, sawtooth, Laplace) mixed by a uniform random 4 x 4 "
                 "matrix, 10 000 samples. Batch FOBI and FastICA (logcosh) see the whole set; the "
                 "streaming network (robust variant: FOBI warm start of its whitening stage and "
                 "Lambda2, clipped third factor) sees one sample at a time, in shuffled passes. "
                 "Recovered sources are matched to the true ones (permutation and sign) and scaled "
                 "to unit variance.");
  std::vector<std::vector<std::string>> table = {
      {"method", "Amari index", "time (s)", std::string("SINR ") + names[0] + " (dB)",
       std::string("SINR ") + names[1] + " (dB)", std::string("SINR ") + names[2] + " (dB)",
       std::string("SINR ") + names[3] + " (dB)"}};
  std::vector<std::vector<Series>> per_source(4);
  Eigen::MatrixXd sources_std = data.sources.colwise() - data.sources.rowwise().mean();
  for (int i = 0; i < 4; ++i) sources_std.row(i) /= std::sqrt(sources_std.row(i).squaredNorm() / double(n));
  for (int i = 0; i < 4; ++i) {
    Series s{"true", {}, {}};
    for (int k = 0; k < 300; ++k) {
      s.x.push_back(k);
      s.y.push_back(sources_std(i, k));
    }
    per_source[std::size_t(i)].push_back(s);
  }
  for (const Method& m : methods) {
    const Eigen::MatrixXd y = m.unmixing * centred;
    const auto match = ica::match_sources(data.sources, y);
    const double amari = ica::amari_index(m.unmixing, data.mixing);
    std::vector<std::string> row = {m.name, fmt(amari), fmt(m.seconds)};
    for (int i = 0; i < 4; ++i) {
      row.push_back(fmt(match.sinr_db(i), 3));
      const Eigen::Index out = match.output_of_source[std::size_t(i)];
      const double scale = match.sign(i) / std::sqrt((y.row(out).array() - y.row(out).mean()).square().mean());
      Series s{m.name, {}, {}};
      for (int k = 0; k < 300; ++k) {
        s.x.push_back(k);
        s.y.push_back(scale * (y(out, k) - y.row(out).mean()));
      }
      per_source[std::size_t(i)].push_back(s);
    }
    table.push_back(row);
    report.summary("ICA " + m.name + " Amari index", fmt(amari),
                   "smallest SINR " + fmt(match.sinr_db.minCoeff(), 3) + " dB, " + fmt(m.seconds) + " s");
  }
  report.table("ica_metrics", table);
  for (int i = 0; i < 4; ++i) {
    report.line_plot("ica_source_" + std::to_string(i), std::string("Source ") + names[i] + ": true and recovered (first 300 samples)",
                     per_source[std::size_t(i)], {.xlabel = "sample", .ylabel = "unit variance"});
  }
  report.line_plot("ica_online_convergence", "Online network: Amari index over presentations",
                   {{"online network", conv_t, conv_a},
                    {"FOBI (batch)", {conv_t.front(), conv_t.back()},
                     {ica::amari_index(f.unmixing, data.mixing), ica::amari_index(f.unmixing, data.mixing)}}},
                   {.xlabel = "samples presented", .ylabel = "Amari index", .logx = true, .logy = true});
}

}  // namespace dendrite::examples
