// SPDX-License-Identifier: MIT
// EDF/BDF through EDFlib: round trips within half a quantisation step (24-bit BDF, 16-bit EDF),
// clipping, the padded last record, chunked reads equal to one read, real-time pacing, and bad
// files and arguments giving an io_error that names the file and the problem.
#include "support/alloc_counter.hpp"
#include "support/scratch.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>

#include <catch2/catch.hpp>

#include <dendrite/io/edf.hpp>

namespace edf = dendrite::edf;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

fs::path temp_file(const std::string& name) {
  static const fs::path dir = dendrite::test::scratch_dir("edf");
  return dir / name;
}

Eigen::MatrixXd random_signal(int channels, Eigen::Index n, double amplitude, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-amplitude, amplitude);
  Eigen::MatrixXd x(channels, n);
  for (Eigen::Index i = 0; i < x.size(); ++i) x(i) = u(rng);
  return x;
}

// Writes x in blocks of random sizes (0 included).
void write_in_chunks(edf::Writer& w, const Eigen::MatrixXd& x, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> size(0, 97);
  Eigen::Index at = 0;
  while (at < x.cols()) {
    const Eigen::Index k = std::min<Eigen::Index>(x.cols() - at, size(rng));
    w.write(x.middleCols(at, k));
    at += k;
  }
}

}  // namespace

TEST_CASE("BDF and EDF round trips are exact to half a quantisation step", "[io][edf]") {
  const int C = 5, fs = 256;
  const Eigen::Index n = 845;  // 3.3 records: the last is padded
  const Eigen::MatrixXd x = random_signal(C, n, 1000.0, 1);
  for (auto format : {edf::Format::BDF, edf::Format::EDF}) {
    const bool bdf = format == edf::Format::BDF;
    const fs::path path = temp_file(bdf ? "roundtrip.bdf" : "roundtrip.edf");
    {
      edf::WriterOptions opt;
      opt.format = format;
      opt.labels = {"Fp1", "Fp2", "Cz", "O1", "O2"};
      edf::Writer w(path.string(), C, fs, opt);
      write_in_chunks(w, x, 2);
      w.close();
      CHECK(w.samples_written() == n);
      CHECK(w.padded_samples() == 4 * fs - n);
      CHECK(w.clipped() == 0);
    }
    edf::Reader r(path.string(), C);
    CHECK(r.bdf() == bdf);
    CHECK(r.channels() == C);
    CHECK(r.sample_rate() == fs);
    REQUIRE(r.samples() == 4 * fs);
    CHECK(r.signals()[2].label == "Cz");
    CHECK(r.signals()[2].unit == "uV");
    const double step = r.signals()[0].resolution();
    // 6400 uV over 2^24 - 1 or 2^16 - 1 levels
    CHECK(step == Approx(6400.0 / (bdf ? 16777215.0 : 65535.0)).epsilon(1e-12));
    const Eigen::MatrixXd y = r.read_all();
    REQUIRE(y.cols() == 4 * fs);
    const double err = (y.leftCols(n) - x).cwiseAbs().maxCoeff();
    CHECK(err <= 0.5 * step * (1 + 1e-9));
    CHECK(err >= 0.1 * step);  // it is quantised: the values are not kept exactly
    // the padding repeats each channel's last sample
    for (int c = 0; c < C; ++c) {
      CHECK((y.row(c).rightCols(4 * fs - n).array() == y(c, n - 1)).all());
    }
    CHECK(r.read_all().cols() == 0);  // at the end
  }
}

TEST_CASE("EDF reads in chunks of any size equal one read, and pacing follows the sample rate",
          "[io][edf]") {
  const int C = 3, fs = 128;
  const Eigen::MatrixXd x = random_signal(C, 2 * fs, 100.0, 3);
  const fs::path path = temp_file("chunks.bdf");
  {
    edf::Writer w(path.string(), C, fs);
    w.write(x);
    // a value outside the physical range is clipped, and counted
    Eigen::MatrixXd big = Eigen::MatrixXd::Constant(C, fs, 5000.0);
    w.write(big);
    CHECK(w.clipped() == C * fs);
  }
  Eigen::MatrixXd all;
  {
    edf::Reader whole(path.string());  // EDFlib opens a file once at a time: closed here
    all = whole.read_all();
    CHECK_THROWS_WITH(edf::Reader(path.string()), Contains("already opened"));
  }
  REQUIRE(all.cols() == 3 * fs);
  CHECK((all.rightCols(fs).array() == 3200.0).all());
  {
    edf::Reader chunked(path.string());
    Eigen::MatrixXf block(C, 37);  // float blocks
    std::mt19937 rng(4);
    std::uniform_int_distribution<int> size(0, 37);
    Eigen::Index at = 0;
    while (at < all.cols()) {
      const int k = size(rng);
      const std::size_t got = chunked.read(block.leftCols(k));
      CHECK(got == std::size_t(std::min<Eigen::Index>(k, all.cols() - at)));
      // float blocks hold the same values to float rounding
      CHECK(block.leftCols(Eigen::Index(got)).cast<double>().isApprox(
          all.middleCols(at, Eigen::Index(got)), 1e-6));
      at += Eigen::Index(got);
    }
    CHECK(chunked.position() == all.cols());
    chunked.rewind();
    CHECK(chunked.position() == 0);
  }
  // paced: 96 samples at 128 Hz take 0.75 s of wall clock
  edf::Reader paced(path.string(), C, edf::Pacing::RealTime);
  Eigen::MatrixXd b(C, 32);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) REQUIRE(paced.read(b) == 32);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(s >= 0.749);
  CHECK(s < 2.0);
}

TEST_CASE("EDF: bad files and arguments say which file and what is wrong", "[io][edf]") {
  const fs::path missing = temp_file("no_such_file.bdf");
  fs::remove(missing);
  CHECK_THROWS_WITH(edf::Reader(missing.string()),
                    Contains("no_such_file.bdf") && Contains("no such file"));
  // a text file
  const fs::path text = temp_file("not_edf.edf");
  std::ofstream(text) << "this is not an EDF header\n";
  CHECK_THROWS_AS(edf::Reader(text.string()), dendrite::io_error);
  // a valid file, then truncated in its last record
  const fs::path good = temp_file("good.bdf"), cut = temp_file("truncated.bdf");
  {
    edf::Writer w(good.string(), 4, 64);
    w.write(random_signal(4, 256, 10.0, 5));
  }
  fs::copy_file(good, cut, fs::copy_options::overwrite_existing);
  fs::resize_file(cut, fs::file_size(good) - 100);
  CHECK_THROWS_WITH(edf::Reader(cut.string()), Contains("truncated.bdf"));
  // the signal count is not the one expected
  CHECK_THROWS_WITH(edf::Reader(good.string(), 5), Contains("expected 5 signals, the file has 4"));
  // a block of the wrong shape
  edf::Reader r(good.string());
  Eigen::MatrixXd wrong(3, 8);
  CHECK_THROWS_WITH(r.read(wrong), Contains("a block of 3 rows") && Contains("4 signals"));
  CHECK(r.position() == 0);  // nothing consumed
  // writer arguments
  CHECK_THROWS_AS(edf::Writer(temp_file("w0.bdf").string(), 0, 256), dendrite::io_error);
  CHECK_THROWS_AS(edf::Writer(temp_file("w1.bdf").string(), 2, 0), dendrite::io_error);
  edf::WriterOptions opt;
  opt.labels = {"a"};
  CHECK_THROWS_WITH(edf::Writer(temp_file("w2.bdf").string(), 2, 256, opt), Contains("expected 2 labels"));
  CHECK_THROWS_WITH(edf::Writer((temp_file("no_dir") / "x" / "y.bdf").string(), 2, 256), Contains("y.bdf"));
  // a block with a NaN or an infinity is refused whole; the file keeps what came before
  {
    const fs::path lost = temp_file("lost.edf");
    edf::WriterOptions eo;
    eo.format = edf::Format::EDF;
    eo.physical_min = -100;
    eo.physical_max = 100;
    Eigen::MatrixXd first = random_signal(3, 5, 10.0, 6), bad = random_signal(3, 7, 10.0, 7);
    {
      edf::Writer w(lost.string(), 3, 5, eo);
      w.write(first);
      bad(2, 4) = std::numeric_limits<double>::quiet_NaN();
      CHECK_THROWS_WITH(w.write(bad), Contains("lost.edf") && Contains("channel 2, sample 4"));
      bad(2, 4) = -std::numeric_limits<double>::infinity();
      CHECK_THROWS_WITH(w.write(bad), Contains("non-finite"));
      CHECK(w.samples_written() == 5);
    }
    edf::Reader back_reader(lost.string());
    CHECK(back_reader.samples() == 5);  // one record of 5 samples: nothing of the bad blocks
    Eigen::MatrixXd back(3, 5);
    back_reader.read(back);
    CHECK((back - first).cwiseAbs().maxCoeff() <= 200.0 / 65535 / 2 * (1 + 1e-9));
  }
}
