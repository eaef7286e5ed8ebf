// SPDX-License-Identifier: MIT
/// @file
/// The examples' report: one output folder holding a self-contained `index.html` (inline SVG
/// plots, no outside tool or script) and the CSV behind every plot, plus a summary table that
/// is also printed to the terminal. Plot kinds: line plots (several series, optional log axes),
/// scatter plots coloured by a value (cyclic colours for angles), and heat maps.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace dendrite::examples {

struct Series {
  std::string label;
  std::vector<double> x;
  std::vector<double> y;
};

struct AxisOptions {
  std::string xlabel{};
  std::string ylabel{};
  bool logx = false;
  bool logy = false;
  /// Shaded x intervals (e.g. a reward zone), drawn behind the data.
  std::vector<std::pair<double, double>> bands{};
};

class Report {
 public:
  /// Creates (or reuses) `dir`; nothing is written until `write()`.
  explicit Report(std::filesystem::path dir);

  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_; }

  /// Starts a section of the page (h2) with a paragraph of text.
  void section(const std::string& title, const std::string& text);
  /// A paragraph in the current section.
  void paragraph(const std::string& text);

  /// A line plot; writes `<name>.csv` (columns: series, x, y).
  void line_plot(const std::string& name, const std::string& title,
                 const std::vector<Series>& series, const AxisOptions& axes = {});
  /// A scatter plot of (x, y) points coloured by `value` (cyclic colours if `cyclic_period` > 0,
  /// e.g. pi for orientations); writes `<name>.csv` (x, y, value).
  void scatter(const std::string& name, const std::string& title, const std::vector<double>& x,
               const std::vector<double>& y, const std::vector<double>& value,
               const std::string& value_label, double cyclic_period = 0,
               const AxisOptions& axes = {});
  /// A heat map of a rows x cols matrix given row-major; writes `<name>.csv` (the matrix).
  void heatmap(const std::string& name, const std::string& title,
               const std::vector<double>& values, int rows, int cols, const AxisOptions& axes = {},
               const std::vector<std::pair<double, double>>& column_bands = {});
  /// A table in the page (first row: headers); writes `<name>.csv`.
  void table(const std::string& name, const std::vector<std::vector<std::string>>& rows);

  /// A line of the summary (shown at the top of the page and printed by `print_summary`).
  void summary(const std::string& what, const std::string& value, const std::string& note = "");
  void print_summary() const;

  /// Writes index.html. Returns its path.
  std::filesystem::path write() const;

 private:
  void write_csv(const std::string& name, const std::string& text) const;
  std::filesystem::path dir_;
  std::string body_;
  std::vector<std::vector<std::string>> summary_;
};

/// A number with `digits` significant digits.
std::string fmt(double v, int digits = 3);

/// "mean ± sd" of repeated figures (sample sd, n - 1; 0 for one figure), each with fmt.
std::string mean_sd(const std::vector<double>& v);

}  // namespace dendrite::examples
