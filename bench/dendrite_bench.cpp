// SPDX-License-Identifier: MIT
// dendrite-bench: the library's real-time kernels at the sizes named on the command line, each
// placed against this core's measured limits by profile_step (dendrite/bench/step_profile.hpp):
// ns per step, GFLOP/s, fraction of the FMA peak, the roofline bound and the fraction of it,
// latency percentiles, allocations (counted: this program replaces operator new) and the
// slow-down on subnormal input. Writes a table to stdout and, with --out DIR, results.json,
// results.csv and roofline.svg into DIR.
//
//   dendrite-bench --gru 32x64 --lanes
//   dendrite-bench --gru 16x128 --lstm 32x64 --dense 64x64 --precision double --out results
//   dendrite-bench --gru 32x64 --precision bf16      (bf16 weights: PackedGRU, PackedLSTM,
//                                                     PackedDense)
//   dendrite-bench --gru 32x64 --precision f16       (IEEE half weights, likewise)
//   dendrite-bench --gru 32x64 --precision int8      (int8 weights, the input quantized per step)
//
// Sizes are template parameters in dendrite, so this program carries a fixed set of them (listed
// by --help); another size is refused with the list.
#include <dendrite/bench/count_allocations.hpp>  // this program's operator new is counted

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <dendrite/bench/machine.hpp>
#include <dendrite/bench/step_profile.hpp>
#include <dendrite/nn.hpp>

namespace nn = dendrite::nn;
namespace b = dendrite::bench;

namespace {

struct Result {
  std::string kernel;     ///< e.g. "gru 32x64"
  std::string precision;  ///< "float", "double", "bf16", "f16" or "int8" (the last three: weights)
  int lanes = 1;          ///< independent streams per step
  b::StepProfile p;
};

using Runner = std::function<b::StepProfile(const b::MachineLimits&, const b::StepProfileOptions&)>;

template <class Block>
Runner runner() {
  return [](const b::MachineLimits& limits, const b::StepProfileOptions& opt) {
    auto block = std::make_unique<Block>();  // on the heap: a block can be large
    return b::profile_step(*block, limits, opt);
  };
}

/// A packed inference block (bf16, f16 or int8 weights) made from a default-seeded float block.
template <class Net, class Packed>
Runner packed_runner() {
  return [](const b::MachineLimits& limits, const b::StepProfileOptions& opt) {
    const auto net = std::make_unique<Net>();
    auto block = std::make_unique<Packed>(*net);
    return b::profile_step(*block, limits, opt);
  };
}

/// The kernels this program carries, by "kind IxO", precision and lanes (1 or all).
struct Catalogue {
  std::map<std::string, Runner> runners;  // key: "gru 32x64/float/1"
  std::map<std::string, std::vector<std::string>> sizes;  // kind -> "IxO" list

  static std::string key(const std::string& kernel, const std::string& precision, bool lanes) {
    return kernel + "/" + precision + "/" + (lanes ? "lanes" : "1");
  }

  /// "kind IxO", as the command line names a kernel.
  static std::string name(const std::string& kind, int i, int o) {
    return kind + " " + std::to_string(i) + "x" + std::to_string(o);
  }

  template <template <class, int, int> class K, int I, int O>
  void add(const std::string& kind) {
    const std::string k = name(kind, I, O);
    runners[key(k, "float", false)] = runner<K<float, I, O>>();
    runners[key(k, "double", false)] = runner<K<double, I, O>>();
    runners[key(k, "float", true)] = runner<K<dendrite::batchf, I, O>>();
    runners[key(k, "double", true)] = runner<K<dendrite::batchd, I, O>>();
    sizes[kind].push_back(std::to_string(I) + "x" + std::to_string(O));
  }

  template <template <class, int, int> class K, int I, int... O>
  void add_row(const std::string& kind) {
    (add<K, I, O>(kind), ...);
  }

  /// The packed forms P<float, I, O, W> of K for W = bf16, f16 and std::int8_t (one stream
  /// only), as precisions "bf16", "f16" and "int8".
  template <template <class, int, int> class K, template <class, int, int, class> class P, int I,
            int... O>
  void add_packed_row(const std::string& kind) {
    ((runners[key(name(kind, I, O), "bf16", false)] =
          packed_runner<K<float, I, O>, P<float, I, O, dendrite::bf16>>()),
     ...);
    ((runners[key(name(kind, I, O), "f16", false)] =
          packed_runner<K<float, I, O>, P<float, I, O, dendrite::f16>>()),
     ...);
    ((runners[key(name(kind, I, O), "int8", false)] =
          packed_runner<K<float, I, O>, P<float, I, O, std::int8_t>>()),
     ...);
  }
};

template <class T, int I, int O>
using DenseTanh = nn::Dense<T, I, O, nn::Tanh>;
template <class T, int I, int O, class W>
using PackedDenseTanh = nn::PackedDense<T, I, O, W, nn::Tanh>;
template <class T, int I, int H>
using RNNTanh = nn::RNN<T, I, H, nn::Tanh>;
template <class T, int I, int H>
using GRU = nn::GRU<T, I, H>;
template <class T, int I, int H>
using LSTM = nn::LSTM<T, I, H>;

Catalogue make_catalogue() {
  Catalogue c;
  c.add_row<GRU, 16, 8, 16, 32, 64, 128>("gru");
  c.add_row<GRU, 32, 8, 16, 32, 64, 128>("gru");
  c.add_row<LSTM, 16, 8, 16, 32, 64, 128>("lstm");
  c.add_row<LSTM, 32, 8, 16, 32, 64, 128>("lstm");
  c.add_packed_row<GRU, nn::PackedGRU, 16, 8, 16, 32, 64, 128>("gru");
  c.add_packed_row<GRU, nn::PackedGRU, 32, 8, 16, 32, 64, 128>("gru");
  c.add_packed_row<LSTM, nn::PackedLSTM, 16, 8, 16, 32, 64, 128>("lstm");
  c.add_packed_row<LSTM, nn::PackedLSTM, 32, 8, 16, 32, 64, 128>("lstm");
  c.add_row<RNNTanh, 2, 100>("rnn");  // the working-memory network's size
  c.add_row<RNNTanh, 32, 32, 64, 128>("rnn");
  c.add_row<DenseTanh, 16, 16>("dense");
  c.add_row<DenseTanh, 32, 32>("dense");
  c.add_row<DenseTanh, 64, 8, 64>("dense");
  c.add_row<DenseTanh, 128, 128>("dense");
  c.add_packed_row<DenseTanh, PackedDenseTanh, 16, 16>("dense");
  c.add_packed_row<DenseTanh, PackedDenseTanh, 32, 32>("dense");
  c.add_packed_row<DenseTanh, PackedDenseTanh, 64, 8, 64>("dense");
  c.add_packed_row<DenseTanh, PackedDenseTanh, 128, 128>("dense");
  return c;
}

void usage(const Catalogue& c) {
  std::printf(
      "usage: dendrite-bench [--gru IxH] [--lstm IxH] [--rnn IxH] [--dense IxO] ...\n"
      "                      [--precision float|double|bf16|f16|int8] [--lanes] [--calls N]\n"
      "                      [--out DIR]\n"
      "  --precision  bf16, f16: weights stored as bfloat16 or IEEE half, float arithmetic;\n"
      "               int8: weights as int8 with a scale per row, the input quantized per\n"
      "               step (PackedGRU, PackedLSTM, PackedDense; --gru, --lstm and --dense\n"
      "               only, one stream)\n"
      "  --lanes      also time the xsimd batch step: one independent stream per lane\n"
      "  --calls N    timed steps per figure (default 100000)\n"
      "  --out DIR    write results.json, results.csv and roofline.svg into DIR\n"
      "With no kernel named: --gru 32x64 --lstm 32x64 --dense 64x64 --lanes (bf16, f16, int8:\n"
      "--gru 32x64 --lstm 32x64).\n"
      "Sizes carried (input x hidden or input x output):\n");
  for (const auto& [kind, list] : c.sizes) {
    std::printf("  %-6s", kind.c_str());
    for (const auto& s : list) std::printf(" %s", s.c_str());
    std::printf("\n");
  }
}

std::string fmt(double v, int digits = 3) {
  std::ostringstream s;
  s.precision(digits);
  s << v;
  return s.str();
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out;
}

void write_csv(const std::filesystem::path& path, const std::vector<Result>& rs) {
  std::ofstream f(path);
  f << "kernel,precision,lanes,ns_per_step,ns_per_stream,flops,bytes,gflops,peak_fraction,bound,"
       "bound_ns,bound_fraction,p50_ns,p99_ns,p999_ns,max_ns,allocations,denormal_ratio,flagged\n";
  for (const auto& r : rs) {
    const auto& p = r.p;
    f << r.kernel << ',' << r.precision << ',' << r.lanes << ',' << p.ns_per_step << ','
      << p.ns_per_step / r.lanes << ',' << p.flops << ',' << p.bytes << ',' << p.gflops << ','
      << p.peak_fraction << ',' << p.bound << ',' << p.bound_ns << ',' << p.bound_fraction << ','
      << p.p50 << ',' << p.p99 << ',' << p.p999 << ',' << p.max << ',' << p.allocations << ','
      << p.denormal_ratio << ',' << (p.flagged() ? 1 : 0) << '\n';
  }
}

void write_json(const std::filesystem::path& path, const b::MachineLimits& m,
                const std::vector<Result>& rs) {
  std::ofstream f(path);
  f.precision(6);
  f << "{\n  \"machine\": {\"arch\": \"" << json_escape(m.arch) << "\", \"clock_ghz\": "
    << m.clock_ghz << ", \"float_lanes\": " << m.float_lanes
    << ", \"double_lanes\": " << m.double_lanes << ", \"fma_float_gflops\": " << m.fma_float.best
    << ", \"fma_double_gflops\": " << m.fma_double.best << ", \"l1_read_gbps\": "
    << m.l1_read.best << ", \"l2_read_gbps\": " << m.l2_read.best << ", \"memory_read_gbps\": "
    << m.memory_read.best << ", \"l2_bytes\": " << m.l2_bytes << "},\n  \"results\": [\n";
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const auto& r = rs[i];
    const auto& p = r.p;
    f << "    {\"kernel\": \"" << json_escape(r.kernel) << "\", \"precision\": \"" << r.precision
      << "\", \"lanes\": " << r.lanes << ", \"ns_per_step\": " << p.ns_per_step
      << ", \"ns_per_stream\": " << p.ns_per_step / r.lanes << ", \"flops\": " << p.flops
      << ", \"bytes\": " << p.bytes << ", \"gflops\": " << p.gflops
      << ", \"peak_fraction\": " << p.peak_fraction << ", \"bound\": \"" << p.bound
      << "\", \"bound_ns\": " << p.bound_ns << ", \"bound_fraction\": " << p.bound_fraction
      << ", \"p50_ns\": " << p.p50 << ", \"p99_ns\": " << p.p99 << ", \"p999_ns\": " << p.p999
      << ", \"max_ns\": " << p.max << ", \"allocations\": " << p.allocations
      << ", \"denormal_ratio\": " << p.denormal_ratio
      << ", \"flagged\": " << (p.flagged() ? "true" : "false") << "}"
      << (i + 1 < rs.size() ? "," : "") << "\n";
  }
  f << "  ]\n}\n";
}

/// A log-log roofline: GFLOP/s against arithmetic intensity (flops per byte of weights and
/// state), the float and double compute roofs, the L1, L2 and memory bandwidth roofs (float
/// peak), and one point per result.
void write_svg(const std::filesystem::path& path, const b::MachineLimits& m,
               const std::vector<Result>& rs) {
  const double w = 760, h = 520, left = 70, right = 230, top = 30, bottom = 60;
  double x_lo = 1.0 / 16, x_hi = 64, y_lo = 0.1, y_hi = 2 * std::max(m.fma_float.best, 1.0);
  for (const auto& r : rs) {
    if (r.p.bytes > 0 && r.p.flops > 0) {
      x_lo = std::min(x_lo, 0.5 * r.p.flops / r.p.bytes);
      x_hi = std::max(x_hi, 2 * r.p.flops / r.p.bytes);
    }
    if (r.p.gflops > 0) y_lo = std::min(y_lo, 0.5 * r.p.gflops);
  }
  const auto px = [&](double x) {
    return left + (w - left - right) * std::log(x / x_lo) / std::log(x_hi / x_lo);
  };
  const auto py = [&](double y) {
    return h - bottom - (h - top - bottom) * std::log(y / y_lo) / std::log(y_hi / y_lo);
  };
  std::ofstream f(path);
  f << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h
    << "\" font-family=\"sans-serif\" font-size=\"11\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << left << "\" y=\"18\" font-size=\"13\">dendrite-bench roofline ("
    << m.arch << ", " << fmt(m.clock_ghz) << " GHz, one core)</text>\n";
  // axes with decade ticks
  f << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << (w - left - right)
    << "\" height=\"" << (h - top - bottom) << "\" fill=\"none\" stroke=\"black\"/>\n";
  for (double x = std::pow(2.0, std::ceil(std::log2(x_lo))); x <= x_hi; x *= 4) {
    f << "<line x1=\"" << px(x) << "\" y1=\"" << h - bottom << "\" x2=\"" << px(x) << "\" y2=\""
      << top << "\" stroke=\"#eee\"/><text x=\"" << px(x) << "\" y=\"" << h - bottom + 15
      << "\" text-anchor=\"middle\">" << fmt(x) << "</text>\n";
  }
  for (double y = std::pow(10.0, std::ceil(std::log10(y_lo))); y <= y_hi; y *= 10) {
    f << "<line x1=\"" << left << "\" y1=\"" << py(y) << "\" x2=\"" << w - right << "\" y2=\""
      << py(y) << "\" stroke=\"#eee\"/><text x=\"" << left - 5 << "\" y=\"" << py(y) + 4
      << "\" text-anchor=\"end\">" << fmt(y) << "</text>\n";
  }
  f << "<text x=\"" << (left + w - right) / 2 << "\" y=\"" << h - 20
    << "\" text-anchor=\"middle\">flops per byte of weights and state</text>\n"
    << "<text x=\"18\" y=\"" << (top + h - bottom) / 2 << "\" transform=\"rotate(-90 18 "
    << (top + h - bottom) / 2 << ")\" text-anchor=\"middle\">GFLOP/s</text>\n";
  // roofs: bandwidth lines up to the float peak, then the compute roofs
  const struct {
    const char* name;
    double gbps;
    const char* colour;
  } roofs[] = {{"L1", m.l1_read.best, "#2a9d8f"},
               {"L2", m.l2_read.best, "#e9c46a"},
               {"memory", m.memory_read.best, "#e76f51"}};
  // the legend on the right, below the compute roofs' labels: roofs, then points
  double legend_y = std::max(py(m.fma_double.best) + 30, top + 60);
  const auto legend = [&](const std::string& text, const char* colour) {
    f << "<text x=\"" << w - right + 4 << "\" y=\"" << legend_y << "\" fill=\"" << colour << "\">"
      << text << "</text>\n";
    legend_y += 15;
  };
  for (const auto& r : roofs) {
    if (r.gbps <= 0) continue;
    const double x_knee = std::min(m.fma_float.best / r.gbps, x_hi);
    const double x0 = std::max(x_lo, y_lo / r.gbps);
    f << "<line x1=\"" << px(x0) << "\" y1=\"" << py(r.gbps * x0) << "\" x2=\"" << px(x_knee)
      << "\" y2=\"" << py(r.gbps * x_knee) << "\" stroke=\"" << r.colour
      << "\" stroke-width=\"2\"/>\n";
    legend(std::string("&#8212; ") + r.name + " read " + fmt(r.gbps) + " GB/s", r.colour);
  }
  for (const auto& [name, peak, dash] :
       {std::tuple{"float FMA peak", m.fma_float.best, ""},
        std::tuple{"double FMA peak", m.fma_double.best, " stroke-dasharray=\"6 4\""}}) {
    f << "<line x1=\"" << left << "\" y1=\"" << py(peak) << "\" x2=\"" << w - right << "\" y2=\""
      << py(peak) << "\" stroke=\"#264653\" stroke-width=\"2\"" << dash << "/><text x=\""
      << w - right + 4 << "\" y=\"" << py(peak) + 4 << "\">" << name << " " << fmt(peak)
      << "</text>\n";
  }
  legend_y += 10;
  // points: circles for one stream, squares for all lanes
  const char* colours[] = {"#1d3557", "#d62828", "#6a4c93", "#2b9348", "#f77f00", "#3a86ff"};
  for (std::size_t i = 0; i < rs.size(); ++i) {
    const auto& r = rs[i];
    if (!(r.p.bytes > 0 && r.p.gflops > 0)) continue;
    const char* c = colours[i % 6];
    const double x = px(r.p.flops / r.p.bytes), y = py(r.p.gflops);
    if (r.lanes > 1) {
      f << "<rect x=\"" << x - 4 << "\" y=\"" << y - 4 << "\" width=\"8\" height=\"8\" fill=\""
        << c << "\"/>\n";
    } else {
      f << "<circle cx=\"" << x << "\" cy=\"" << y << "\" r=\"4\" fill=\"" << c << "\"/>\n";
    }
    legend(std::string(r.lanes > 1 ? "&#9632; " : "&#9679; ") + r.kernel + " " + r.precision +
               " x" + std::to_string(r.lanes) + ": " + fmt(r.p.bound_fraction, 2) + " of " +
               r.p.bound,
           c);
  }
  f << "</svg>\n";
}

bool parse_size(const std::string& s) {
  const auto x = s.find('x');
  return x != std::string::npos && x > 0 && x + 1 < s.size() &&
         s.find_first_not_of("0123456789x") == std::string::npos;
}

}  // namespace

int main(int argc, char** argv) {
  const Catalogue cat = make_catalogue();
  std::vector<std::string> kernels;
  std::string precision = "float";
  bool lanes = false;
  b::StepProfileOptions opt;
  std::optional<std::filesystem::path> out;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "dendrite-bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      usage(cat);
      return 0;
    } else if (a == "--gru" || a == "--lstm" || a == "--rnn" || a == "--dense") {
      const std::string kind = a.substr(2), size = value();
      if (!parse_size(size)) {
        std::fprintf(stderr, "dendrite-bench: %s expects IxO (e.g. 32x64), got '%s'\n", a.c_str(),
                     size.c_str());
        return 2;
      }
      const auto& carried = cat.sizes.at(kind);
      if (std::find(carried.begin(), carried.end(), size) == carried.end()) {
        std::string list;
        for (const auto& s : carried) list += " " + s;
        std::fprintf(stderr, "dendrite-bench: %s %s is not carried (sizes are template "
                             "parameters); carried:%s\n", a.c_str(), size.c_str(), list.c_str());
        return 2;
      }
      kernels.push_back(kind + " " + size);
    } else if (a == "--precision") {
      precision = value();
      if (precision == "fp16" || precision == "half") {
        precision = "f16";
      }
      if (precision != "float" && precision != "double" && precision != "bf16" &&
          precision != "f16" && precision != "int8") {
        std::fprintf(stderr,
                     "dendrite-bench: --precision expects float, double, bf16, f16 or int8, "
                     "got '%s'\n",
                     precision.c_str());
        return 2;
      }
    } else if (a == "--lanes") {
      lanes = true;
    } else if (a == "--calls") {
      const std::string v = value();
      char* end = nullptr;
      const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0' || n == 0) {
        std::fprintf(stderr, "dendrite-bench: --calls expects a positive integer, got '%s'\n",
                     v.c_str());
        return 2;
      }
      opt.calls = std::size_t(n);
    } else if (a == "--out") {
      out = value();
    } else {
      std::fprintf(stderr, "dendrite-bench: unknown argument '%s' (--help lists them)\n", a.c_str());
      return 2;
    }
  }
  const bool packed = precision == "bf16" || precision == "f16" || precision == "int8";
  if (kernels.empty()) {
    kernels = {"gru 32x64", "lstm 32x64"};
    if (!packed) {
      kernels.push_back("dense 64x64");
      lanes = true;
    }
  }
  if (packed) {
    if (lanes) {
      std::fprintf(stderr, "dendrite-bench: --precision %s has no batch form (one stream "
                           "only): drop --lanes\n", precision.c_str());
      return 2;
    }
    for (const auto& k : kernels) {
      if (cat.runners.count(Catalogue::key(k, precision, false)) == 0) {
        std::fprintf(stderr, "dendrite-bench: %s weights exist for --gru, --lstm and --dense "
                             "only (PackedGRU, PackedLSTM, PackedDense), not for '%s'\n",
                     precision.c_str(), k.c_str());
        return 2;
      }
    }
  }

  const b::MachineLimits m = b::measure_machine(3);
  std::printf("%s, %d float / %d double lanes, clock %.2f GHz (%s)\n", m.arch.c_str(),
              m.float_lanes, m.double_lanes, m.clock_ghz, m.clock_method.c_str());
  std::printf("measured: FMA %.1f (float) / %.1f (double) GFLOP/s; read L1 %.0f, L2 %.0f, "
              "memory %.1f GB/s (best of 3, spreads %.0f %% / %.0f %% / %.0f %% / %.0f %% / "
              "%.0f %%)\n\n",
              m.fma_float.best, m.fma_double.best, m.l1_read.best, m.l2_read.best,
              m.memory_read.best, 100 * m.fma_float.relative(), 100 * m.fma_double.relative(),
              100 * m.l1_read.relative(), 100 * m.l2_read.relative(),
              100 * m.memory_read.relative());

  std::vector<Result> results;
  for (const auto& k : kernels) {
    for (const bool l : {false, true}) {
      if (l && !lanes) continue;
      Result r{k, precision, l ? (precision == "float" ? m.float_lanes : m.double_lanes) : 1, {}};
      r.p = cat.runners.at(Catalogue::key(k, precision, l))(m, opt);
      results.push_back(r);
    }
  }

  std::printf("%-12s %-6s %5s %10s %10s %8s %6s %-7s %9s %6s %8s %8s %8s %9s %6s %6s\n", "kernel",
              "prec", "lanes", "ns/step", "ns/stream", "GFLOP/s", "peak", "bound", "bound ns",
              "of", "p50", "p99", "p99.9", "max", "alloc", "denx");
  for (const auto& r : results) {
    const auto& p = r.p;
    std::printf("%-12s %-6s %5d %10.1f %10.1f %8.2f %6.3f %-7s %9.1f %6.3f %8.0f %8.0f %8.0f "
                "%9.0f %6lld %6.2f%s\n",
                r.kernel.c_str(), r.precision.c_str(), r.lanes, p.ns_per_step,
                p.ns_per_step / r.lanes, p.gflops, p.peak_fraction, p.bound.c_str(), p.bound_ns,
                p.bound_fraction, p.p50, p.p99, p.p999, p.max, p.allocations, p.denormal_ratio,
                p.flagged() ? "  FLAGGED" : "");
  }
  std::printf("\npeak: fraction of the measured FMA peak; bound: the roofline's limit (compute, or "
              "the cache level the weights and state fit in); of: bound ns / measured ns;\n"
              "p50..max: each step timed alone (ns); alloc: operator new calls during the timed "
              "steps; denx: slow-down on subnormal input (FLAGGED above 5x or on any allocation)\n");

  if (out) {
    std::error_code ec;
    std::filesystem::create_directories(*out, ec);
    if (ec) {
      std::fprintf(stderr, "dendrite-bench: cannot create %s: %s\n", out->c_str(),
                   ec.message().c_str());
      return 1;
    }
    write_json(*out / "results.json", m, results);
    write_csv(*out / "results.csv", results);
    write_svg(*out / "roofline.svg", m, results);
    std::printf("wrote %s, %s and %s\n", (*out / "results.json").c_str(),
                (*out / "results.csv").c_str(), (*out / "roofline.svg").c_str());
  }
  bool flagged = false;
  for (const auto& r : results) flagged = flagged || r.p.flagged();
  return flagged ? 3 : 0;
}
