// SPDX-License-Identifier: MIT
/// @file
/// EDF/EDF+ and BDF/BDF+ recordings as a stream of blocks, through EDFlib (Teunis van Beelen;
/// Debian's libedf-dev). Link the optional CMake target `dendrite::edf`, which exists where
/// EDFlib is installed; this header is not in the umbrella `dendrite.hpp`.
///
/// An EDF file (Kemp et al. 1992; EDF+: Kemp & Olivan 2003) stores each signal as integers
/// d in [dig_min, dig_max] (16 bits; BDF: 24 bits) in data records of a fixed duration, with the
/// linear map to physical units
///   p = phys_min + (d - dig_min) (phys_max - phys_min) / (dig_max - dig_min),
/// so a round trip through a file quantises a value to within half a step
/// (phys_max - phys_min) / (dig_max - dig_min) / 2, and clips it to [phys_min, phys_max].
///
/// `edf::Reader` yields blocks of channels x n samples in physical units (double or float), as
/// fast as possible or paced to the wall clock at the file's sample rate. It reads files whose
/// signals share one sample rate (annotation signals aside). `edf::Writer` writes EDF+ or BDF+
/// at an integer sample rate in 1 s data records; the last, partial record is padded with its
/// final sample (EDF stores whole records only), and `padded_samples()` says how many.
/// Every problem (missing, unreadable or truncated file, a header EDFlib rejects, a signal
/// count other than the one expected, mixed sample rates, a block of the wrong shape) throws
/// `io_error` naming the file and the problem. Reading and writing are file I/O: not for the
/// real-time callback itself (read ahead in another thread, or before the stream starts).
/// Limits (EDFlib's): one file cannot be open twice at once in a program (close the first
/// Reader or Writer), at most 64 files are open at once, and EDF+D/BDF+D (discontinuous)
/// files are refused.
#pragma once

#include <edflib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <Eigen/Core>

#include <dendrite/core/error.hpp>

namespace dendrite::edf {

/// The file formats EDFlib writes (the "+" variants: EDF+ 16-bit, BDF+ 24-bit samples).
enum class Format { EDF, BDF };

/// How `Reader::read` hands out blocks.
enum class Pacing {
  AsFastAsPossible,  ///< each call returns as soon as the data are read
  RealTime,          ///< each call returns when its last sample would have been acquired
};

/// One signal's header fields.
struct SignalInfo {
  std::string label, unit;
  double physical_min = 0, physical_max = 0;
  int digital_min = 0, digital_max = 0;
  long long samples = 0;
  /// One quantisation step in physical units.
  [[nodiscard]] double resolution() const noexcept {
    return (physical_max - physical_min) / double(digital_max - digital_min);
  }
};

namespace detail {

inline const char* edflib_error(int code) {
  switch (code) {
    case EDFLIB_MALLOC_ERROR: return "out of memory";
    case EDFLIB_NO_SUCH_FILE_OR_DIRECTORY: return "no such file or directory";
    case EDFLIB_FILE_CONTAINS_FORMAT_ERRORS:
      return "not a valid EDF/BDF file (a header field is malformed, or the file is truncated)";
    case EDFLIB_MAXFILES_REACHED: return "too many files open in EDFlib";
    case EDFLIB_FILE_READ_ERROR: return "read error";
    case EDFLIB_FILE_ALREADY_OPENED: return "already opened by this program";
    case EDFLIB_FILETYPE_ERROR: return "not an EDF/BDF file";
    case EDFLIB_FILE_WRITE_ERROR: return "write error";
    case EDFLIB_FILE_IS_DISCONTINUOUS: return "discontinuous (EDF+D/BDF+D) files are not supported";
    case EDFLIB_NO_SIGNALS: return "no signals";
    case EDFLIB_TOO_MANY_SIGNALS: return "too many signals";
    default: return "EDFlib error";
  }
}

[[noreturn]] inline void fail(const std::string& path, const std::string& what) {
  DENDRITE_THROW(io_error, "EDF file '", path, "': ", what);
}

// A block must have one row per signal of the file.
inline void check_rows(const std::string& path, Eigen::Index rows, int channels) {
  if (rows != channels) {
    fail(path, "a block of " + std::to_string(rows) + " rows was given for a file of " +
                   std::to_string(channels) + " signals");
  }
}

}  // namespace detail

/// Reads an EDF(+)/BDF(+) file as blocks of channels x samples in physical units.
/// @code
/// dendrite::edf::Reader in("rec.bdf");
/// Eigen::MatrixXf block(in.channels(), 32);
/// while (std::size_t n = in.read(block)) process(block.leftCols(n));
/// @endcode
class Reader {
 public:
  /// Opens `path`. With `expected_channels` > 0, a file with another signal count is an error.
  explicit Reader(std::string path, int expected_channels = 0, Pacing pacing = Pacing::AsFastAsPossible)
      : path_(std::move(path)), pacing_(pacing) {
    auto hdr = std::make_unique<edf_hdr_struct>();
    if (edfopen_file_readonly(path_.c_str(), hdr.get(), EDFLIB_DO_NOT_READ_ANNOTATIONS) != 0) {
      detail::fail(path_, detail::edflib_error(hdr->filetype));
    }
    handle_ = hdr->handle;
    channels_ = hdr->edfsignals;
    bdf_ = hdr->filetype == EDFLIB_FILETYPE_BDF || hdr->filetype == EDFLIB_FILETYPE_BDFPLUS;
    if (channels_ < 1) close_and_fail("no signals");
    if (expected_channels > 0 && channels_ != expected_channels) {
      close_and_fail("expected " + std::to_string(expected_channels) + " signals, the file has " +
                     std::to_string(channels_));
    }
    const double record_s = double(hdr->datarecord_duration) * 1e-7;
    const int per_record = hdr->signalparam[0].smp_in_datarecord;
    for (int c = 0; c < channels_; ++c) {
      const auto& p = hdr->signalparam[c];
      if (p.smp_in_datarecord != per_record) {
        close_and_fail("signals have different sample rates (signal 0: " +
                       std::to_string(per_record) + " per record, signal " + std::to_string(c) +
                       ": " + std::to_string(p.smp_in_datarecord) + "); resample to one rate first");
      }
      signals_.push_back({p.label, p.physdimension, p.phys_min, p.phys_max, p.dig_min, p.dig_max,
                          p.smp_in_file});
      trim(signals_.back().label);
      trim(signals_.back().unit);
    }
    samples_ = hdr->signalparam[0].smp_in_file;
    sample_rate_ = record_s > 0 ? double(per_record) / record_s : 0.0;
  }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;
  ~Reader() {
    if (handle_ >= 0) edfclose_file(handle_);
  }

  [[nodiscard]] int channels() const noexcept { return channels_; }
  [[nodiscard]] double sample_rate() const noexcept { return sample_rate_; }
  /// Samples per channel in the file, and how many of them have been read.
  [[nodiscard]] long long samples() const noexcept { return samples_; }
  [[nodiscard]] long long position() const noexcept { return position_; }
  [[nodiscard]] bool bdf() const noexcept { return bdf_; }
  [[nodiscard]] const std::vector<SignalInfo>& signals() const noexcept { return signals_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

  /// Reads the next min(block.cols(), samples left) samples of every channel into the block's
  /// first columns (float or double; channels x n, a writable matrix, block or map, Eigen's
  /// const-reference idiom) and returns how many; 0 at the end. Paced, it first waits until
  /// the wall clock, counted from the first read, reaches the time of the block's last sample.
  template <class Derived>
  std::size_t read(const Eigen::MatrixBase<Derived>& block_) {
    auto& block = const_cast<Eigen::MatrixBase<Derived>&>(block_);
    detail::check_rows(path_, block.rows(), channels_);
    const auto n = int(std::min<long long>(block.cols(), samples_ - position_));
    if (n <= 0) return 0;
    scratch_.resize(std::size_t(n));
    for (int c = 0; c < channels_; ++c) {
      if (edfread_physical_samples(handle_, c, n, scratch_.data()) != n) {
        detail::fail(path_, "could not read " + std::to_string(n) + " samples of signal " +
                                std::to_string(c) + " at sample " + std::to_string(position_) +
                                " (the file is shorter than its header says?)");
      }
      for (int t = 0; t < n; ++t) block(c, t) = typename Derived::Scalar(scratch_[std::size_t(t)]);
    }
    if (pacing_ == Pacing::RealTime && sample_rate_ > 0) {
      if (position_ == 0) start_ = std::chrono::steady_clock::now();
      const auto due = start_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                    std::chrono::duration<double>(double(position_ + n) / sample_rate_));
      std::this_thread::sleep_until(due);
    }
    position_ += n;
    return std::size_t(n);
  }

  /// Reads the whole rest of the file into a channels x samples matrix.
  [[nodiscard]] Eigen::MatrixXd read_all() {
    Eigen::MatrixXd all(channels_, Eigen::Index(samples_ - position_));
    const std::size_t n = read(all);
    return all.leftCols(Eigen::Index(n));
  }

  /// Goes back to the first sample (and restarts the pacing clock).
  void rewind() {
    for (int c = 0; c < channels_; ++c) edfrewind(handle_, c);
    position_ = 0;
  }

 private:
  void close_and_fail(const std::string& what) {
    edfclose_file(handle_);
    handle_ = -1;
    detail::fail(path_, what);
  }
  static void trim(std::string& s) {
    while (!s.empty() && s.back() == ' ') s.pop_back();
  }

  std::string path_;
  Pacing pacing_;
  int handle_ = -1, channels_ = 0;
  bool bdf_ = false;
  double sample_rate_ = 0;
  long long samples_ = 0, position_ = 0;
  std::vector<SignalInfo> signals_;
  std::vector<double> scratch_;
  std::chrono::steady_clock::time_point start_{};
};

/// What `Writer` puts in each signal's header.
struct WriterOptions {
  Format format = Format::BDF;
  double physical_min = -3200;  ///< physical range of every signal (values outside it clip)
  double physical_max = 3200;
  std::string unit = "uV";
  std::vector<std::string> labels;  ///< one per channel (at most 16 characters); empty: "ch<N>"
};

/// Writes channels x samples blocks as an EDF+ or BDF+ file at an integer sample rate.
class Writer {
 public:
  Writer(std::string path, int channels, int sample_rate_hz, WriterOptions options = {})
      : path_(std::move(path)), channels_(channels), rate_(sample_rate_hz), options_(std::move(options)) {
    if (channels < 1 || channels > EDFLIB_MAXSIGNALS || sample_rate_hz < 1) {
      detail::fail(path_, "need 1 to " + std::to_string(EDFLIB_MAXSIGNALS) +
                              " channels and an integer sample rate >= 1 Hz, got " +
                              std::to_string(channels) + " channels at " +
                              std::to_string(sample_rate_hz) + " Hz");
    }
    if (!options_.labels.empty() && int(options_.labels.size()) != channels) {
      detail::fail(path_, "expected " + std::to_string(channels) + " labels, got " +
                              std::to_string(options_.labels.size()));
    }
    if (!(options_.physical_max > options_.physical_min)) {
      detail::fail(path_, "the physical range must have physical_max > physical_min");
    }
    const bool bdf = options_.format == Format::BDF;
    handle_ = edfopen_file_writeonly(path_.c_str(), bdf ? EDFLIB_FILETYPE_BDFPLUS : EDFLIB_FILETYPE_EDFPLUS,
                                     channels);
    if (handle_ < 0) detail::fail(path_, detail::edflib_error(handle_));
    dmax_ = bdf ? 8388607 : 32767;
    dmin_ = bdf ? -8388608 : -32768;
    for (int c = 0; c < channels; ++c) {
      const std::string label =
          options_.labels.empty() ? "ch" + std::to_string(c + 1) : options_.labels[std::size_t(c)];
      if (edf_set_samplefrequency(handle_, c, sample_rate_hz) != 0 ||
          edf_set_physical_maximum(handle_, c, options_.physical_max) != 0 ||
          edf_set_physical_minimum(handle_, c, options_.physical_min) != 0 ||
          edf_set_digital_maximum(handle_, c, dmax_) != 0 ||
          edf_set_digital_minimum(handle_, c, dmin_) != 0 ||
          edf_set_label(handle_, c, label.c_str()) != 0 ||
          edf_set_physical_dimension(handle_, c, options_.unit.c_str()) != 0) {
        edfclose_file(handle_);
        handle_ = -1;
        detail::fail(path_, "EDFlib rejected the header of signal " + std::to_string(c));
      }
    }
    record_.assign(std::size_t(channels) * std::size_t(rate_), 0.0);
    digital_.assign(std::size_t(rate_), 0);
  }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  /// Closes the file (padding the last record); errors at this point are lost: call `close()`.
  ~Writer() {
    try {
      close();
    } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor must not throw
    }
  }

  /// Appends a channels x n block (float or double, any n >= 0). A block holding a NaN or an
  /// infinity is refused whole (`io_error` naming its first channel and sample) before any of it
  /// is taken: EDF stores integers, and a NaN has no digital value (a cast made it the
  /// physical minimum, silently). Replace lost samples first; finite values outside the physical
  /// range are clipped and counted (`clipped()`).
  template <class Derived>
  void write(const Eigen::MatrixBase<Derived>& block) {
    if (handle_ < 0) detail::fail(path_, "write after close");
    detail::check_rows(path_, block.rows(), channels_);
    if (!block.allFinite()) {  // the first one, in sample order
      Eigen::Index c = 0, t = 0;
      (!block.array().isFinite()).template cast<int>().maxCoeff(&c, &t);
      detail::fail(path_, "a block with a non-finite value (channel " + std::to_string(c) +
                              ", sample " + std::to_string(t) +
                              " of the block): EDF stores integers; nothing was written");
    }
    for (Eigen::Index t = 0; t < block.cols(); ++t) {
      for (int c = 0; c < channels_; ++c) {
        const double v = double(block(c, t));
        clipped_ += (v < options_.physical_min || v > options_.physical_max) ? 1 : 0;
        record_[std::size_t(c) * std::size_t(rate_) + fill_] = v;
      }
      if (++fill_ == std::size_t(rate_)) flush_record();
    }
    written_ += block.cols();
  }

  /// Pads and writes the last record and closes the file. Further calls do nothing.
  void close() {
    if (handle_ < 0) return;
    if (fill_ > 0) {
      padded_ = static_cast<long long>(rate_) - static_cast<long long>(fill_);
      for (int c = 0; c < channels_; ++c) {
        double* row = &record_[std::size_t(c) * std::size_t(rate_)];
        std::fill(row + fill_, row + rate_, row[fill_ - 1]);
      }
      flush_record();
    }
    const int h = handle_;
    handle_ = -1;
    if (edfclose_file(h) != 0) detail::fail(path_, "could not close (write error?)");
  }

  /// Samples per channel given to `write`, values clipped to the physical range, and samples
  /// per channel added by `close` to fill the last record.
  [[nodiscard]] long long samples_written() const noexcept { return written_; }
  [[nodiscard]] long long clipped() const noexcept { return clipped_; }
  [[nodiscard]] long long padded_samples() const noexcept { return padded_; }

 private:
  // Converts to digital values rounded to nearest (EDFlib's own physical writer truncates, which
  // doubles the error) with the inverse of the reader's map, and writes one record.
  void flush_record() {
    const double step = (options_.physical_max - options_.physical_min) / double(dmax_ - dmin_);
    for (int c = 0; c < channels_; ++c) {
      const double* row = &record_[std::size_t(c) * std::size_t(rate_)];
      for (std::size_t t = 0; t < std::size_t(rate_); ++t) {
        const double d = std::round((row[t] - options_.physical_max) / step + double(dmax_));
        digital_[t] = int(std::clamp(d, double(dmin_), double(dmax_)));
      }
      if (edfwrite_digital_samples(handle_, digital_.data()) != 0) {
        detail::fail(path_, "write error in signal " + std::to_string(c));
      }
    }
    fill_ = 0;
  }

  std::string path_;
  int channels_, rate_;
  WriterOptions options_;
  int handle_ = -1, dmin_ = 0, dmax_ = 0;
  std::vector<double> record_;  // one data record: rate_ samples of each channel
  std::vector<int> digital_;    // one signal's record as digital values
  std::size_t fill_ = 0;
  long long written_ = 0, clipped_ = 0, padded_ = 0;
};

}  // namespace dendrite::edf
