// SPDX-License-Identifier: MIT
#include "report.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace dendrite::examples {

namespace {

constexpr double kW = 640, kH = 360, kLeft = 70, kRight = 20, kTop = 30, kBottom = 46;
constexpr std::array<const char*, 8> kPalette = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                                  "#9467bd", "#8c564b", "#e377c2", "#17becf"};

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '&': o += "&amp;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

/// Maps data to pixels on one axis, linear or log10.
struct Scale {
  double lo = 0, hi = 1, p0 = 0, p1 = 1;
  bool log = false;
  double operator()(double v) const {
    const double t = log ? std::log10(std::max(v, 1e-300)) : v;
    return p0 + (t - lo) / (hi - lo) * (p1 - p0);
  }
};

/// Ticks at 1, 2 or 5 times a power of ten (linear) or at powers of ten (log).
std::vector<double> ticks(double lo, double hi, bool log) {
  std::vector<double> t;
  if (log) {
    for (double e = std::ceil(lo); e <= hi + 1e-9; e += std::max(1.0, std::floor((hi - lo) / 6)))
      t.push_back(std::pow(10.0, e));
    return t;
  }
  const double raw = (hi - lo) / 5;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double step = raw / mag < 1.5 ? mag : raw / mag < 3.5 ? 2 * mag : raw / mag < 7.5 ? 5 * mag : 10 * mag;
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    t.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return t;
}

/// Axis range of values (log: of their log10), padded a little.
void range(const std::vector<double>& v, bool log, double& lo, double& hi) {
  lo = std::numeric_limits<double>::infinity();
  hi = -lo;
  for (double x : v) {
    if (!std::isfinite(x) || (log && x <= 0)) continue;
    const double t = log ? std::log10(x) : x;
    lo = std::min(lo, t);
    hi = std::max(hi, t);
  }
  if (!std::isfinite(lo)) {
    lo = 0;
    hi = 1;
  }
  if (hi - lo < 1e-12) {
    lo -= 0.5;
    hi += 0.5;
  } else if (!log) {
    const double pad = 0.04 * (hi - lo);
    lo -= pad;
    hi += pad;
  }
}

/// Frame, ticks, labels and title of a plot.
std::string frame(const std::string& title, const Scale& sx, const Scale& sy, const AxisOptions& a) {
  std::ostringstream o;
  o << "<svg xmlns='http://www.w3.org/2000/svg' width='" << kW << "' height='" << kH
    << "' viewBox='0 0 " << kW << " " << kH << "' font-family='sans-serif' font-size='11'>"
    << "<rect width='100%' height='100%' fill='white'/>"
    << "<text x='" << kW / 2 << "' y='16' text-anchor='middle' font-size='13'>" << esc(title)
    << "</text>";
  for (const auto& [b0, b1] : a.bands) {
    const double x0 = sx(b0), x1 = sx(b1);
    o << "<rect x='" << num(std::min(x0, x1)) << "' y='" << kTop << "' width='"
      << num(std::abs(x1 - x0)) << "' height='" << kH - kTop - kBottom
      << "' fill='#f2e394' opacity='0.6'/>";
  }
  for (double t : ticks(sx.lo, sx.hi, sx.log)) {
    const double x = sx(t);
    o << "<line x1='" << num(x) << "' x2='" << num(x) << "' y1='" << kTop << "' y2='"
      << kH - kBottom << "' stroke='#eee'/><text x='" << num(x) << "' y='" << kH - kBottom + 14
      << "' text-anchor='middle'>" << fmt(t, 3) << "</text>";
  }
  for (double t : ticks(sy.lo, sy.hi, sy.log)) {
    const double y = sy(t);
    o << "<line x1='" << kLeft << "' x2='" << kW - kRight << "' y1='" << num(y) << "' y2='"
      << num(y) << "' stroke='#eee'/><text x='" << kLeft - 4 << "' y='" << num(y + 4)
      << "' text-anchor='end'>" << fmt(t, 3) << "</text>";
  }
  o << "<rect x='" << kLeft << "' y='" << kTop << "' width='" << kW - kLeft - kRight
    << "' height='" << kH - kTop - kBottom << "' fill='none' stroke='#444'/>"
    << "<text x='" << (kLeft + kW - kRight) / 2 << "' y='" << kH - 8
    << "' text-anchor='middle'>" << esc(a.xlabel) << "</text>"
    << "<text transform='translate(14," << (kTop + kH - kBottom) / 2
    << ") rotate(-90)' text-anchor='middle'>" << esc(a.ylabel) << "</text>";
  return o.str();
}

/// Viridis-like colour ramp for t in [0, 1].
std::string ramp(double t) {
  static constexpr double c[5][3] = {
      {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * 4;
  const int i = std::min(3, int(t));
  const double f = t - i;
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", int(c[i][0] + f * (c[i + 1][0] - c[i][0])),
                int(c[i][1] + f * (c[i + 1][1] - c[i][1])), int(c[i][2] + f * (c[i + 1][2] - c[i][2])));
  return buf;
}

std::string hue(double h) {  // h in [0, 1): a cyclic colour
  char buf[40];
  std::snprintf(buf, sizeof buf, "hsl(%d,75%%,48%%)", int(std::fmod(h, 1.0) * 360));
  return buf;
}

}  // namespace

std::string fmt(double v, int digits) {
  if (!std::isfinite(v)) return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
  char buf[48];
  const double a = std::abs(v);
  if (a != 0 && (a >= 1e6 || a < 1e-3)) {
    std::snprintf(buf, sizeof buf, "%.*e", std::max(0, digits - 1), v);
  } else {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  }
  return buf;
}

std::string mean_sd(const std::vector<double>& v) {
  if (v.empty()) return "-";
  double m = 0, q = 0;
  for (double x : v) m += x / double(v.size());
  for (double x : v) q += (x - m) * (x - m);
  return fmt(m) + " ± " + fmt(v.size() > 1 ? std::sqrt(q / double(v.size() - 1)) : 0.0);
}

Report::Report(std::filesystem::path dir) : dir_(std::move(dir)) {
  std::filesystem::create_directories(dir_);
}

void Report::section(const std::string& title, const std::string& text) {
  body_ += "<h2>" + esc(title) + "</h2>\n";
  paragraph(text);
}

void Report::paragraph(const std::string& text) {
  if (!text.empty()) body_ += "<p>" + esc(text) + "</p>\n";
}

void Report::write_csv(const std::string& name, const std::string& text) const {
  std::ofstream out(dir_ / (name + ".csv"));
  out << text;
  if (!out) throw std::runtime_error("cannot write " + (dir_ / (name + ".csv")).string());
}

void Report::line_plot(const std::string& name, const std::string& title,
                       const std::vector<Series>& series, const AxisOptions& axes) {
  std::vector<double> xs, ys;
  std::ostringstream csv;
  csv << "series,x,y\n";
  for (const Series& s : series) {
    xs.insert(xs.end(), s.x.begin(), s.x.end());
    ys.insert(ys.end(), s.y.begin(), s.y.end());
    for (std::size_t i = 0; i < s.x.size(); ++i) csv << s.label << ',' << s.x[i] << ',' << s.y[i] << '\n';
  }
  write_csv(name, csv.str());
  Scale sx{0, 1, kLeft, kW - kRight, axes.logx}, sy{0, 1, kH - kBottom, kTop, axes.logy};
  range(xs, axes.logx, sx.lo, sx.hi);
  range(ys, axes.logy, sy.lo, sy.hi);
  std::ostringstream o;
  o << frame(title, sx, sy, axes);
  for (std::size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    const std::size_t stride = std::max<std::size_t>(1, s.x.size() / 1500);  // the CSV keeps all
    o << "<polyline fill='none' stroke-width='1.3' stroke='" << kPalette[k % kPalette.size()]
      << "' points='";
    for (std::size_t i = 0; i < s.x.size(); i += stride) {
      if (!std::isfinite(s.y[i]) || (axes.logy && s.y[i] <= 0)) continue;
      o << num(sx(s.x[i])) << ',' << num(sy(s.y[i])) << ' ';
    }
    o << "'/>";
    if (series.size() > 1) {
      const double ly = kTop + 14 + 14 * double(k);
      o << "<line x1='" << kW - kRight - 140 << "' x2='" << kW - kRight - 120 << "' y1='" << ly - 4
        << "' y2='" << ly - 4 << "' stroke='" << kPalette[k % kPalette.size()]
        << "' stroke-width='2'/><text x='" << kW - kRight - 115 << "' y='" << ly << "'>"
        << esc(s.label) << "</text>";
    }
  }
  o << "</svg>";
  body_ += "<figure>" + o.str() + "<figcaption>" + esc(name) + ".csv</figcaption></figure>\n";
}

void Report::scatter(const std::string& name, const std::string& title, const std::vector<double>& x,
                     const std::vector<double>& y, const std::vector<double>& value,
                     const std::string& value_label, double cyclic_period, const AxisOptions& axes) {
  std::ostringstream csv;
  csv << "x,y," << value_label << "\n";
  for (std::size_t i = 0; i < x.size(); ++i) csv << x[i] << ',' << y[i] << ',' << value[i] << '\n';
  write_csv(name, csv.str());
  Scale sx{0, 1, kLeft, kW - kRight, axes.logx}, sy{0, 1, kH - kBottom, kTop, axes.logy};
  range(x, axes.logx, sx.lo, sx.hi);
  range(y, axes.logy, sy.lo, sy.hi);
  double vlo = 0, vhi = 1;
  range(value, false, vlo, vhi);
  std::ostringstream o;
  o << frame(title, sx, sy, axes);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const std::string colour = cyclic_period > 0 ? hue(value[i] / cyclic_period)
                                                 : ramp((value[i] - vlo) / (vhi - vlo));
    o << "<circle cx='" << num(sx(x[i])) << "' cy='" << num(sy(y[i])) << "' r='3' fill='" << colour
      << "' fill-opacity='0.85'/>";
  }
  o << "<text x='" << kW - kRight << "' y='" << kTop - 6 << "' text-anchor='end'>colour: "
    << esc(value_label) << (cyclic_period > 0 ? " (cyclic)" : "") << "</text></svg>";
  body_ += "<figure>" + o.str() + "<figcaption>" + esc(name) + ".csv</figcaption></figure>\n";
}

void Report::heatmap(const std::string& name, const std::string& title,
                     const std::vector<double>& values, int rows, int cols, const AxisOptions& axes,
                     const std::vector<std::pair<double, double>>& column_bands) {
  std::ostringstream csv;
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < cols; ++j) csv << (j ? "," : "") << values[std::size_t(i * cols + j)];
    csv << '\n';
  }
  write_csv(name, csv.str());
  double lo = 0, hi = 1;
  range(values, false, lo, hi);
  const double pw = kW - kLeft - kRight - 50, ph = kH - kTop - kBottom;
  const double cw = pw / cols, ch = ph / rows;
  std::ostringstream o;
  o << "<svg xmlns='http://www.w3.org/2000/svg' width='" << kW << "' height='" << kH
    << "' font-family='sans-serif' font-size='11'><rect width='100%' height='100%' fill='white'/>"
    << "<text x='" << kW / 2 << "' y='16' text-anchor='middle' font-size='13'>" << esc(title) << "</text>";
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < cols; ++j) {
      o << "<rect x='" << num(kLeft + j * cw) << "' y='" << num(kTop + i * ch) << "' width='"
        << num(cw + 0.3) << "' height='" << num(ch + 0.3) << "' fill='"
        << ramp((values[std::size_t(i * cols + j)] - lo) / (hi - lo)) << "'/>";
    }
  }
  for (const auto& [c0, c1] : column_bands) {
    o << "<rect x='" << num(kLeft + c0 * cw) << "' y='" << kTop - 4 << "' width='"
      << num((c1 - c0) * cw) << "' height='4' fill='#d62728'/>";
  }
  for (int k = 0; k <= 4; ++k) {  // colour bar
    const double t = k / 4.0;
    o << "<rect x='" << kW - kRight - 36 << "' y='" << num(kTop + (1 - t) * (ph - 20)) << "' width='12' height='20' fill='"
      << ramp(t) << "'/><text x='" << kW - kRight - 20 << "' y='" << num(kTop + (1 - t) * (ph - 20) + 14)
      << "'>" << fmt(lo + t * (hi - lo), 2) << "</text>";
  }
  o << "<text x='" << kLeft + pw / 2 << "' y='" << kH - 8 << "' text-anchor='middle'>" << esc(axes.xlabel)
    << " (" << cols << " columns)</text><text transform='translate(14," << kTop + ph / 2
    << ") rotate(-90)' text-anchor='middle'>" << esc(axes.ylabel) << " (" << rows << " rows)</text></svg>";
  body_ += "<figure>" + o.str() + "<figcaption>" + esc(name) + ".csv</figcaption></figure>\n";
}

void Report::table(const std::string& name, const std::vector<std::vector<std::string>>& rows) {
  std::ostringstream csv;
  body_ += "<table>";
  for (std::size_t r = 0; r < rows.size(); ++r) {
    body_ += "<tr>";
    for (std::size_t c = 0; c < rows[r].size(); ++c) {
      body_ += (r == 0 ? "<th>" : "<td>") + esc(rows[r][c]) + (r == 0 ? "</th>" : "</td>");
      csv << (c ? "," : "") << rows[r][c];
    }
    csv << '\n';
    body_ += "</tr>";
  }
  body_ += "</table><p class='csv'>" + esc(name) + ".csv</p>\n";
  write_csv(name, csv.str());
}

void Report::summary(const std::string& what, const std::string& value, const std::string& note) {
  summary_.push_back({what, value, note});
}

void Report::print_summary() const {
  std::size_t w0 = 0, w1 = 0;
  for (const auto& r : summary_) {
    w0 = std::max(w0, r[0].size());
    w1 = std::max(w1, r[1].size());
  }
  std::cout << "\nSummary\n";
  for (const auto& r : summary_) {
    std::cout << "  " << r[0] << std::string(w0 - r[0].size() + 2, ' ') << r[1]
              << std::string(w1 - r[1].size() + 2, ' ') << r[2] << '\n';
  }
}

std::filesystem::path Report::write() const {
  std::ostringstream o;
  o << "<!doctype html><html><head><meta charset='utf-8'><title>dendrite report</title><style>"
       "body{font-family:sans-serif;max-width:1340px;margin:24px auto;padding:0 16px;color:#222}"
       "figure{display:inline-block;margin:8px}figcaption,.csv{color:#888;font-size:11px}"
       "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;"
       "font-size:13px;text-align:right}th{background:#f4f4f4}</style></head><body>"
       "<h1>dendrite report</h1><table><tr><th>what</th><th>value</th><th>note</th></tr>";
  for (const auto& r : summary_) {
    o << "<tr><td style='text-align:left'>" << esc(r[0]) << "</td><td>" << esc(r[1])
      << "</td><td style='text-align:left'>" << esc(r[2]) << "</td></tr>";
  }
  o << "</table>" << body_ << "</body></html>\n";
  const std::filesystem::path p = dir_ / "index.html";
  std::ofstream out(p);
  out << o.str();
  if (!out) throw std::runtime_error("cannot write " + p.string());
  return p;
}

}  // namespace dendrite::examples
