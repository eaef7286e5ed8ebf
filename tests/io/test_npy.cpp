// SPDX-License-Identifier: MIT
// NPY: files built byte by byte here (independently of the writer) read as the arrays they
// describe; the writer's bytes are what numpy writes; round trips; every kind of bad file gets
// an io_error naming the file and the problem. PyTorch directories: round trip, names, shape
// checks, the reference pair, and a failed load keeps the old weights.
#include "support/alloc_counter.hpp"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <dendrite/io.hpp>
#include <dendrite/nn.hpp>

#include "support/random.hpp"
#include "support/scratch.hpp"

namespace io = dendrite::io;
namespace fs = std::filesystem;
using MatD = Eigen::MatrixXd;
using MatF = Eigen::MatrixXf;

namespace {

using dendrite::test::scratch_dir;

/// The bytes of an NPY file: magic, version, header length, the dict padded to 64, data.
std::string npy_bytes(const std::string& dict, const std::string& data, int major = 1,
                      bool pad = true) {
  std::string header = dict;
  const std::size_t prefix = major == 1 ? 10 : 12;
  if (pad) {
    while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
  }
  std::string out = "\x93NUMPY";
  out += char(major);
  out += '\0';
  const std::size_t n = header.size();
  out += char(n & 0xff);
  out += char((n >> 8) & 0xff);
  if (major != 1) {
    out += char((n >> 16) & 0xff);
    out += char((n >> 24) & 0xff);
  }
  return out + header + data;
}

template <class V>
std::string raw(const std::vector<V>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(V));
}

fs::path write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
  return p;
}

std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("hand-made NPY files read as the arrays they describe", "[io][npy]") {
  const fs::path d = scratch_dir("read");
  SECTION("<f8, C order, 2 x 3") {
    const auto p = write_file(d / "a.npy", npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
                                                     raw<double>({1, 2, 3, 4, 5, 6})));
    const MatD m = io::read_npy<double>(p);
    CHECK(m == (MatD(2, 3) << 1, 2, 3, 4, 5, 6).finished());
  }
  SECTION("<f4, Fortran order, 2 x 3, version 2.0") {
    const auto p = write_file(d / "b.npy", npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
                                                     raw<float>({1, 4, 2, 5, 3, 6}), 2));
    CHECK(io::read_npy<double>(p) == (MatD(2, 3) << 1, 2, 3, 4, 5, 6).finished());
  }
  SECTION("<i4 and <i8, keys in another order, double quotes, 1-D and 0-D") {
    const auto p = write_file(d / "c.npy", npy_bytes("{\"shape\": (4,), \"fortran_order\": False, \"descr\": \"<i4\"}",
                                                     raw<std::int32_t>({-1, 0, 7, 2147483647})));
    const MatD m = io::read_npy<double>(p);
    REQUIRE(m.rows() == 4);
    REQUIRE(m.cols() == 1);
    CHECK(m(0) == -1);
    CHECK(m(3) == 2147483647.0);
    const auto q = write_file(d / "d.npy", npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (), }",
                                                     raw<std::int64_t>({-5})));
    CHECK(io::read_npy<double>(q) == MatD::Constant(1, 1, -5));
  }
  SECTION("3-D arrays through read_npy_array, in C and Fortran order") {
    std::vector<double> c(24);
    for (std::size_t k = 0; k < 24; ++k) c[k] = double(k);  // element (i, j, l) = 12 i + 4 j + l
    std::vector<double> f(24);
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j)
        for (int l = 0; l < 4; ++l) f[std::size_t(i + 2 * j + 6 * l)] = 12 * i + 4 * j + l;
    const auto pc = write_file(d / "c3.npy", npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, 4), }", raw(c)));
    const auto pf = write_file(d / "f3.npy", npy_bytes("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3, 4), }", raw(f)));
    const auto ac = io::read_npy_array<double>(pc);
    const auto af = io::read_npy_array<double>(pf);
    CHECK(ac.shape == std::vector<std::int64_t>{2, 3, 4});
    CHECK(ac.data == c);
    CHECK(af.data == c);
    CHECK_THROWS_WITH(io::read_npy<double>(pc), Catch::Contains("at most 2 dimensions"));
  }
  SECTION("an empty array") {
    const auto p = write_file(d / "e.npy", npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3), }", ""));
    const MatD m = io::read_npy<double>(p);
    CHECK(m.rows() == 0);
    CHECK(m.cols() == 3);
  }
}

TEST_CASE("the writer produces numpy's bytes, and round trips are exact", "[io][npy]") {
  const fs::path d = scratch_dir("write");
  const MatF m = (MatF(2, 3) << 1, 2, 3, 4, 5, 6).finished();
  io::write_npy(d / "m.npy", m);
  // numpy 1.x: np.save of np.float32 [[1,2,3],[4,5,6]] writes exactly these bytes.
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  CHECK(file_bytes(d / "m.npy") == npy_bytes(dict, raw<float>({1, 2, 3, 4, 5, 6})));
  CHECK(file_bytes(d / "m.npy").size() == 128 + 24);  // header padded to a multiple of 64
  io::write_npy_vector(d / "v.npy", Eigen::VectorXd::LinSpaced(3, 0, 1));
  CHECK(file_bytes(d / "v.npy") ==
        npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", raw<double>({0, 0.5, 1})));
  for (bool fortran : {false, true}) {
    const MatD r = dendrite::test::random_matrix(5, 7, 3);
    io::write_npy(d / "r.npy", r, fortran);
    CHECK(io::read_npy<double>(d / "r.npy") == r);
    CHECK(io::read_npy_header(d / "r.npy").fortran_order == fortran);
  }
  CHECK_FALSE(fs::exists(d / "r.npy.tmp"));
}

TEST_CASE("bad NPY files get an io_error that names the file and the problem", "[io][npy][errors]") {
  const fs::path d = scratch_dir("bad");
  const std::string good = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }";
  const std::string two = raw<double>({1, 2});
  struct Case {
    const char* file;
    std::string bytes;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"magic.npy", "PK\x03\x04 this is a zip file, not npy", "bad magic"},
      {"short.npy", "\x93NUM", "bad magic"},
      {"version.npy", npy_bytes(good, two, 4), "unsupported format version 4.0"},
      {"dtype.npy", npy_bytes("{'descr': '<c16', 'fortran_order': False, 'shape': (2,), }", two), "unsupported dtype '<c16'"},
      {"bool.npy", npy_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", "\1\0"), "unsupported dtype '|b1'"},
      {"big.npy", npy_bytes("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", two), "big-endian"},
      {"long.npy", std::string("\x93NUMPY\x02\x00\x00\x00\x40\x00", 12) + "{", "header too long"},
      {"header.npy", npy_bytes(good, two).substr(0, 40), "truncated header"},
      {"dict.npy", npy_bytes("{'descr': '<f8', 'fortran_order': Maybe, 'shape': (2,), }", two), "True or False"},
      {"key.npy", npy_bytes("{'descr': '<f8', 'shape': (2,), }", two), "lacks"},
      {"shape.npy", npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2, -1), }", two), "non-negative integers"},
      {"trunc.npy", npy_bytes(good, two.substr(0, 12)), "truncated data"},
      {"huge.npy", npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", two), "truncated data"},
      {"trail.npy", npy_bytes(good, two + "xx"), "2 unexpected bytes after the data"},
  };
  for (const Case& c : cases) {
    const fs::path p = write_file(d / c.file, c.bytes);
    INFO(c.file);
    CHECK_THROWS_AS(io::read_npy<double>(p), dendrite::io_error);
    CHECK_THROWS_WITH(io::read_npy<double>(p), Catch::Contains(c.file) && Catch::Contains(c.message));
  }
  CHECK_THROWS_WITH(io::read_npy<double>(d / "missing.npy"), Catch::Contains("missing.npy") && Catch::Contains("does not exist"));
  const fs::path ok = write_file(d / "ok.npy", npy_bytes(good, two));
  CHECK_THROWS_WITH(io::read_npy<double>(ok, 3, 1), Catch::Contains("shape mismatch: expected 3 x 1, got 2 x 1"));
}

TEST_CASE("PyTorch directories: round trip, layer-0 names, shape checks, reference pair", "[io][pytorch]") {
  namespace nn = dendrite::nn;
  const fs::path d = scratch_dir("pytorch");
  nn::GRU<double, 3, 4> a({.seed = 1});
  nn::GRU<double, 3, 4> b({.seed = 2});
  const MatD x = dendrite::test::random_matrix(3, 10, 5);
  io::save_pytorch(a, d / "gru");
  CHECK(io::read_npy_header(d / "gru" / "bias_ih.npy").shape == std::vector<std::int64_t>{12});
  CHECK(io::read_npy_header(d / "gru" / "weight_hh.npy").shape == std::vector<std::int64_t>{12, 4});
  io::load_pytorch(b, d / "gru");
  CHECK(b.forward(x) == a.forward(x));

  SECTION("a prefix and nn.GRU's _l0 names") {
    for (const char* n : {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}) {
      fs::copy_file(d / "gru" / (std::string(n) + ".npy"), d / (std::string("enc.") + n + "_l0.npy"));
    }
    nn::GRU<double, 3, 4> c({.seed = 3});
    io::load_pytorch(c, d, "enc.");
    CHECK(c.forward(x) == a.forward(x));
  }
  SECTION("a missing file or a wrong shape fails and keeps the old weights") {
    nn::GRU<double, 3, 5> wrong({.seed = 4});
    const MatD before = wrong.forward(x);
    CHECK_THROWS_WITH(io::load_pytorch(wrong, d / "gru"), Catch::Contains("weight_ih.npy") && Catch::Contains("expected 15 x 3, got 12 x 3"));
    CHECK(wrong.forward(x) == before);
    fs::remove(d / "gru" / "bias_hh.npy");
    nn::GRU<double, 3, 4> c({.seed = 3});
    const MatD c_before = c.forward(x);
    CHECK_THROWS_WITH(io::load_pytorch(c, d / "gru"), Catch::Contains("missing file") && Catch::Contains("bias_hh.npy"));
    CHECK(c.forward(x) == c_before);
  }
  SECTION("the reference pair accepts the right weights and rejects a wrong layout") {
    io::save_check_pair(a, d / "gru", x);
    nn::GRU<double, 3, 4> c({.seed = 3});
    io::load_pytorch(c, d / "gru");
    CHECK(c.forward(x) == a.forward(x));
    // weight_hh stored transposed in its own square block: shapes pass, outputs do not.
    MatD w = a.weight_hh.value;
    for (int g = 0; g < 3; ++g) w.middleRows(4 * g, 4).transposeInPlace();
    io::write_npy(d / "gru" / "weight_hh.npy", w);
    nn::GRU<double, 3, 4> e({.seed = 6});
    const MatD e_before = e.forward(x);
    CHECK_THROWS_WITH(io::load_pytorch(e, d / "gru"), Catch::Contains("does not reproduce check_output.npy"));
    CHECK(e.forward(x) == e_before);
  }
}

TEST_CASE("PyTorch directories: paths as strings, nested directories created, blocked ones refused",
          "[io][pytorch]") {
  namespace nn = dendrite::nn;
  const fs::path d = scratch_dir("pytorch_dirs");
  nn::GRU<double, 3, 4> a({.seed = 1});
  const MatD x = dendrite::test::random_matrix(3, 10, 5);
  // mkdir -p from a std::string with a trailing slash; read back through a const char*
  const std::string nested = (d / "a" / "b" / "c").string() + "/";
  io::save_pytorch(a, nested);
  CHECK(fs::is_directory(d / "a" / "b" / "c"));
  CHECK(fs::exists(d / "a" / "b" / "c" / "weight_ih.npy"));
  nn::GRU<double, 3, 4> b({.seed = 2});
  io::load_pytorch(b, nested.c_str());
  CHECK(b.forward(x) == a.forward(x));
  // a file where a directory should be: an io_error naming it, no filesystem_error
  write_file(d / "blocked", "not a directory");
  CHECK_THROWS_WITH(io::save_pytorch(a, d / "blocked" / "gru"),
                    Catch::Contains("cannot create the directory") && Catch::Contains("blocked"));
  CHECK_THROWS_WITH(io::load_pytorch(b, d / "blocked"), Catch::Contains("is not a directory"));
  // a write over an existing file replaces it (rename over the old one)
  io::write_npy(d / "r.npy", MatD::Constant(2, 2, 1.0));
  io::write_npy(d / "r.npy", MatD::Constant(3, 1, 2.0));
  CHECK(io::read_npy<double>(d / "r.npy") == MatD::Constant(3, 1, 2.0));
  CHECK_FALSE(fs::exists(d / "r.npy.tmp"));
  // a directory is not an NPY file
  CHECK_THROWS_AS(io::read_npy<double>(d / "a"), dendrite::io_error);
}

TEST_CASE("save_pytorch writes each parameter in the shape it declares, not by its name",
          "[io][pytorch]") {
  namespace nn = dendrite::nn;
  const fs::path d = scratch_dir("pytorch_shapes");
  using Shape = std::vector<std::int64_t>;
  nn::Dense<double, 1, 3> narrow({.seed = 2});  // weight (3, 1) is 2-D although it is one column
  io::save_pytorch(narrow, d / "dense");
  CHECK(io::read_npy_header(d / "dense" / "weight.npy").shape == Shape{3, 1});
  CHECK(io::read_npy_header(d / "dense" / "bias.npy").shape == Shape{3});
  nn::LayerNorm<double, 5> norm;  // PyTorch's LayerNorm weight is 1-D although not a bias
  norm.weight.value = Eigen::VectorXd::LinSpaced(5, 0.5, 2.5);
  io::save_pytorch(norm, d / "norm");
  CHECK(io::read_npy_header(d / "norm" / "weight.npy").shape == Shape{5});
  CHECK(io::read_npy_header(d / "norm" / "bias.npy").shape == Shape{5});
  nn::LayerNorm<double, 5> back;
  io::load_pytorch(back, d / "norm");
  CHECK(back.weight.value == norm.weight.value);
  nn::Dense<double, 1, 3> narrow_back({.seed = 9});
  io::load_pytorch(narrow_back, d / "dense");
  CHECK(narrow_back.weight.value == narrow.weight.value);
  CHECK(narrow_back.bias.value == narrow.bias.value);
}
