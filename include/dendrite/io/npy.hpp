// SPDX-License-Identifier: MIT
/// @file
/// NumPy's NPY format (numpy.lib.format, versions 1.0, 2.0 and 3.0) to and from Eigen matrices.
///
/// A file is: the magic "\x93NUMPY", major and minor version bytes, the header length (2 bytes
/// little-endian in 1.0, 4 bytes in 2.0/3.0), an ASCII (3.0: UTF-8) header holding a Python dict
///     {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
/// padded with spaces and a newline so that the data start at a multiple of 64 bytes, then the
/// raw elements in C (row-major) or Fortran (column-major) order.
///
/// Read: dtypes `<f4`, `<f8`, `<i4`, `<i8` (`|`/`=` byte-order marks accepted where numpy writes
/// them), converted to the requested scalar. A 2-D array of shape (r, c) becomes the r x c
/// matrix it means in numpy whatever its order; 1-D (n,) becomes n x 1; 0-D becomes 1 x 1.
/// Arrays of more dimensions are read with `read_npy_array` (flat data in C order + shape).
/// `parse_npy` / `parse_npy_array` do the same on bytes already in memory.
/// Write: `<f4` or `<f8`, version 1.0 (2.0 only if the header needs it), C order by default.
///
/// Layout note: dendrite's data matrices are features x samples, column-major; that is byte for
/// byte numpy's (samples, features) C-order array, i.e. the transpose of what `read_npy` returns
/// for such a file (call `.transpose()`), or write with `fortran_order = true`.
///
/// Every problem throws `io_error` naming the file and what is wrong (missing, bad magic,
/// unsupported version or dtype, big-endian, header too long or malformed, truncated or trailing
/// data, shape mismatch). Writing goes to `<path>.tmp` first and renames, so a failed write leaves
/// an existing file intact (on POSIX the rename replaces the old file atomically; on Windows,
/// where C `rename` does not replace, the old file is removed first: not atomic there).
///
/// Paths are `std::string`s; a `std::filesystem::path` converts to one implicitly on POSIX. The
/// file access is C stdio: `<filesystem>` and `<fstream>` would cost every file that includes
/// dendrite about 0.2 s of compile time.
#pragma once

#include <bit>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include <dendrite/core/error.hpp>

namespace dendrite::io {

static_assert(std::endian::native == std::endian::little,
              "dendrite's NPY reader assumes a little-endian machine");

/// What an NPY header says.
struct NpyHeader {
  int major = 1;
  int minor = 0;
  std::string descr;                 ///< e.g. "<f4"
  bool fortran_order = false;
  std::vector<std::int64_t> shape;   ///< empty for a 0-d array
  std::size_t data_offset = 0;       ///< bytes before the data
  [[nodiscard]] std::int64_t count() const noexcept {
    std::int64_t n = 1;
    for (std::int64_t d : shape) n *= d;
    return n;
  }
};

/// An array of any number of dimensions: shape and the elements in C order.
template <class S>
struct NpyArray {
  std::vector<std::int64_t> shape;
  std::vector<S> data;
};

namespace detail {

constexpr std::size_t kMaxHeader = std::size_t(1) << 20;  // numpy's own limit is far below this

[[noreturn]] inline void npy_fail(const std::string& path, std::string_view what) {
  DENDRITE_THROW(io_error, "NPY file '", path, "': ", what);
}

inline std::vector<char> read_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    npy_fail(path, errno == ENOENT ? "does not exist" : "cannot be opened");
  }
  std::vector<char> bytes;
  std::size_t size = 0;
  for (std::size_t got = 1; got > 0; size += got) {  // works for pipes too, not only files
    bytes.resize(size + (std::size_t(1) << 16));
    got = std::fread(bytes.data() + size, 1, bytes.size() - size, f);
  }
  bytes.resize(size);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) {
    npy_fail(path, "read error");
  }
  return bytes;
}

/// A parser for the header's Python dict literal (strings, True/False, tuples of integers).
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& path) : s_(text), path_(path) {}

  NpyHeader parse() {
    NpyHeader h;
    bool has_descr = false, has_order = false, has_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') {
        ++pos_;
        break;
      }
      const std::string key = string_literal();
      expect(':');
      skip_space();
      if (key == "descr") {
        h.descr = string_literal();
        has_descr = true;
      } else if (key == "fortran_order") {
        h.fortran_order = boolean();
        has_order = true;
      } else if (key == "shape") {
        h.shape = tuple();
        has_shape = true;
      } else {
        fail("unexpected key '" + key + "' in the header");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != '}') {
        fail("expected ',' or '}' in the header");
      }
    }
    if (!has_descr || !has_order || !has_shape) {
      fail("the header lacks 'descr', 'fortran_order' or 'shape'");
    }
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { npy_fail(path_, what); }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) {
      fail(std::string("malformed header: expected '") + c + "'");
    }
    ++pos_;
  }
  std::string string_literal() {
    skip_space();
    const char q = peek();
    if (q != '\'' && q != '"') {
      fail("malformed header: expected a quoted string");
    }
    const std::size_t end = s_.find(q, pos_ + 1);
    if (end == std::string_view::npos) {
      fail("malformed header: unterminated string");
    }
    std::string out(s_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return out;
  }
  bool boolean() {
    if (s_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (s_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    fail("malformed header: fortran_order must be True or False");
  }
  std::vector<std::int64_t> tuple() {
    expect('(');
    std::vector<std::int64_t> dims;
    while (true) {
      skip_space();
      if (peek() == ')') {
        ++pos_;
        return dims;
      }
      if (!std::isdigit(static_cast<unsigned char>(peek()))) {
        fail("malformed header: shape must be a tuple of non-negative integers");
      }
      std::int64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        if (v > (std::numeric_limits<std::int64_t>::max() - 9) / 10) {
          fail("shape dimension too large");
        }
        v = v * 10 + (peek() - '0');
        ++pos_;
      }
      if (peek() == 'L') ++pos_;  // Python 2 long suffix, written by old numpy
      dims.push_back(v);
      skip_space();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != ')') {
        fail("malformed header: expected ',' or ')' in shape");
      }
    }
  }

  std::string_view s_;
  const std::string& path_;
  std::size_t pos_ = 0;
};

/// Element kind of a supported descr, or 0.
inline char npy_kind(const std::string& d, int& size) {
  if (d.size() != 3) return 0;
  const char order = d[0];
  const char kind = d[1];
  size = d[2] - '0';
  if (order == '>') return '>';
  if (order != '<' && order != '=' && order != '|') return 0;
  if ((kind == 'f' || kind == 'i') && (size == 4 || size == 8)) return kind;
  return 0;
}

inline NpyHeader parse_header(std::span<const char> bytes, const std::string& path) {
  static constexpr char kMagic[] = "\x93NUMPY";
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0) {
    npy_fail(path, "bad magic: not an NPY file (expected the bytes \\x93NUMPY)");
  }
  const int major = static_cast<unsigned char>(bytes[6]);
  const int minor = static_cast<unsigned char>(bytes[7]);
  if (major < 1 || major > 3 || minor != 0) {
    npy_fail(path, "unsupported format version " + std::to_string(major) + "." +
                       std::to_string(minor) + " (expected 1.0, 2.0 or 3.0)");
  }
  std::size_t header_len = 0;
  std::size_t start = 0;
  if (major == 1) {
    header_len = std::size_t(static_cast<unsigned char>(bytes[8])) |
                 std::size_t(static_cast<unsigned char>(bytes[9])) << 8;
    start = 10;
  } else {
    if (bytes.size() < 12) {
      npy_fail(path, "truncated header");
    }
    for (int k = 3; k >= 0; --k) {
      header_len = header_len << 8 | std::size_t(static_cast<unsigned char>(bytes[8 + std::size_t(k)]));
    }
    start = 12;
  }
  if (header_len > kMaxHeader) {
    npy_fail(path, "header too long (" + std::to_string(header_len) + " bytes; at most " +
                       std::to_string(kMaxHeader) + " accepted)");
  }
  if (bytes.size() < start + header_len) {
    npy_fail(path, "truncated header: " + std::to_string(header_len) + " bytes announced, " +
                       std::to_string(bytes.size() - start) + " present");
  }
  NpyHeader h = HeaderParser(std::string_view(bytes.data() + start, header_len), path).parse();
  h.major = major;
  h.minor = minor;
  h.data_offset = start + header_len;
  return h;
}

template <class S>
S element(const char* p, char kind, int size) noexcept {
  if (kind == 'f' && size == 4) { float v; std::memcpy(&v, p, 4); return S(v); }
  if (kind == 'f') { double v; std::memcpy(&v, p, 8); return S(v); }
  if (size == 4) { std::int32_t v; std::memcpy(&v, p, 4); return S(v); }
  std::int64_t v; std::memcpy(&v, p, 8); return S(v);
}

/// Parses and validates the whole file; returns the header and the element size.
inline NpyHeader validate(std::span<const char> bytes, const std::string& path,
                          char& kind, int& size) {
  NpyHeader h = parse_header(bytes, path);
  kind = npy_kind(h.descr, size);
  if (kind == '>') {
    npy_fail(path, "big-endian data ('" + h.descr + "') is not supported; save it little-endian");
  }
  if (kind == 0) {
    npy_fail(path, "unsupported dtype '" + h.descr + "' (expected <f4, <f8, <i4 or <i8)");
  }
  const std::size_t available = bytes.size() - h.data_offset;
  std::size_t count = 1;
  for (std::int64_t d : h.shape) {
    if (d != 0 && count > available / std::size_t(d)) {
      count = std::numeric_limits<std::size_t>::max();  // more than the file can hold
      break;
    }
    count *= std::size_t(d);
  }
  const std::size_t needed =
      count > available / std::size_t(size) ? std::numeric_limits<std::size_t>::max()
                                             : count * std::size_t(size);
  if (needed > available) {
    npy_fail(path, "truncated data: the shape needs more bytes than the " +
                       std::to_string(available) + " present");
  }
  if (needed < available) {
    npy_fail(path, std::to_string(available - needed) + " unexpected bytes after the data");
  }
  return h;
}

inline std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    s += std::to_string(shape[i]);
    s += (shape.size() == 1 || i + 1 < shape.size()) ? "," : "";
    if (i + 1 < shape.size()) s += " ";
  }
  return s + ")";
}

}  // namespace detail

/// Reads only the header (validating the whole file).
inline NpyHeader read_npy_header(const std::string& path) {
  const std::vector<char> bytes = detail::read_file(path);
  char kind = 0;
  int size = 0;
  return detail::validate(bytes, path, kind, size);
}

/// Parses the bytes of an NPY file held in memory (`path` only names it in errors): an array of
/// any number of dimensions, data in C order, converted to S.
template <class S>
NpyArray<S> parse_npy_array(std::span<const char> bytes, const std::string& path = "<memory>") {
  static_assert(std::is_arithmetic_v<S>, "parse_npy_array: S must be an arithmetic type");
  char kind = 0;
  int size = 0;
  const NpyHeader h = detail::validate(bytes, path, kind, size);
  NpyArray<S> a;
  a.shape = h.shape;
  const std::size_t n = std::size_t(h.count());
  a.data.resize(n);
  const char* p = bytes.data() + h.data_offset;
  if (!h.fortran_order || h.shape.size() < 2) {
    for (std::size_t k = 0; k < n; ++k) a.data[k] = detail::element<S>(p + k * std::size_t(size), kind, size);
    return a;
  }
  // Fortran order: element (i0, i1, ...) is at offset i0 + d0 (i1 + d1 (...)).
  std::vector<std::size_t> idx(h.shape.size(), 0);
  for (std::size_t f = 0; f < n; ++f) {
    std::size_t c = 0;
    for (std::size_t d = 0; d < idx.size(); ++d) c = c * std::size_t(h.shape[d]) + idx[d];
    a.data[c] = detail::element<S>(p + f * std::size_t(size), kind, size);
    for (std::size_t d = 0; d < idx.size(); ++d) {  // first index fastest
      if (++idx[d] < std::size_t(h.shape[d])) break;
      idx[d] = 0;
    }
  }
  return a;
}

/// Reads an array of any number of dimensions; data in C order, converted to S.
template <class S>
NpyArray<S> read_npy_array(const std::string& path) {
  const std::vector<char> bytes = detail::read_file(path);
  return parse_npy_array<S>(bytes, path);
}

/// Parses the bytes of an NPY file held in memory as a matrix (`path` only names it in errors).
template <class S>
Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> parse_npy(std::span<const char> bytes,
                                                           const std::string& path = "<memory>") {
  static_assert(std::is_floating_point_v<S>, "read_npy: S must be float or double");
  char kind = 0;
  int size = 0;
  const NpyHeader h = detail::validate(bytes, path, kind, size);
  if (h.shape.size() > 2) {
    detail::npy_fail(path, "expected at most 2 dimensions for a matrix, got shape " +
                               detail::shape_string(h.shape) + " (use read_npy_array)");
  }
  const Eigen::Index rows = h.shape.empty() ? 1 : Eigen::Index(h.shape[0]);
  const Eigen::Index cols = h.shape.size() < 2 ? 1 : Eigen::Index(h.shape[1]);
  Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> m(rows, cols);
  const char* p = bytes.data() + h.data_offset;
  for (Eigen::Index i = 0; i < rows; ++i) {
    for (Eigen::Index j = 0; j < cols; ++j) {
      const std::size_t k = std::size_t(h.fortran_order ? i + j * rows : i * cols + j);
      m(i, j) = detail::element<S>(p + k * std::size_t(size), kind, size);
    }
  }
  return m;
}

/// Reads a 0-, 1- or 2-D array as a matrix (see the file comment for the shape rules).
template <class S>
Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> read_npy(const std::string& path) {
  const std::vector<char> bytes = detail::read_file(path);
  return parse_npy<S>(bytes, path);
}

/// Reads a matrix and checks its shape; `what` names it in the error (e.g. "weight_ih").
template <class S>
Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> read_npy(const std::string& path,
                                                          Eigen::Index rows, Eigen::Index cols) {
  auto m = read_npy<S>(path);
  if (m.rows() != rows || m.cols() != cols) {
    detail::npy_fail(path, "shape mismatch: expected " + std::to_string(rows) + " x " +
                               std::to_string(cols) + ", got " + std::to_string(m.rows()) +
                               " x " + std::to_string(m.cols()));
  }
  return m;
}

namespace detail {

template <class S>
void write_elements(const std::string& path, const std::vector<std::int64_t>& shape,
                    bool fortran_order, const S* data, std::size_t count) {
  static_assert(std::is_same_v<S, float> || std::is_same_v<S, double>,
                "write_npy: the matrix scalar must be float or double");
  std::string dict = std::string("{'descr': '<f") + (sizeof(S) == 4 ? "4" : "8") +
                     "', 'fortran_order': " + (fortran_order ? "True" : "False") +
                     ", 'shape': " + shape_string(shape) + ", }";
  int major = 1;
  std::size_t prefix = 10;
  if (dict.size() + 1 + prefix > 65535) {
    major = 2;
    prefix = 12;
  }
  const std::size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict.push_back('\n');
  std::string head = "\x93NUMPY";
  head.push_back(char(major));
  head.push_back('\0');
  const std::size_t len = dict.size();
  head.push_back(char(len & 0xff));
  head.push_back(char((len >> 8) & 0xff));
  if (major == 2) {
    head.push_back(char((len >> 16) & 0xff));
    head.push_back(char((len >> 24) & 0xff));
  }
  const std::string tmp = path + ".tmp";
  std::FILE* out = std::fopen(tmp.c_str(), "wb");
  if (out == nullptr) {
    npy_fail(path, "cannot be created for writing");
  }
  const bool written = std::fwrite(head.data(), 1, head.size(), out) == head.size() &&
                       std::fwrite(dict.data(), 1, dict.size(), out) == dict.size() &&
                       std::fwrite(data, sizeof(S), count, out) == count;
  if (std::fclose(out) != 0 || !written) {
    std::remove(tmp.c_str());
    npy_fail(path, "write error");
  }
#if defined(_WIN32)
  std::remove(path.c_str());  // C rename does not replace an existing file there
#endif
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    npy_fail(path, std::string("cannot replace the file: ") + std::strerror(err));
  }
}

}  // namespace detail

/// Writes a matrix as a 2-D array of its shape: C order (numpy's default) or, with
/// fortran_order, column-major (no transposition: Eigen's own layout).
template <class Derived>
void write_npy(const std::string& path, const Eigen::MatrixBase<Derived>& m,
               bool fortran_order = false) {
  using S = typename Derived::Scalar;
  const std::vector<std::int64_t> shape = {std::int64_t(m.rows()), std::int64_t(m.cols())};
  if (fortran_order) {
    const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> c = m;
    detail::write_elements(path, shape, true, c.data(), std::size_t(c.size()));
  } else {
    const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> r = m;
    detail::write_elements(path, shape, false, r.data(), std::size_t(r.size()));
  }
}

/// Writes a vector (any n x 1 or 1 x n matrix) as a 1-D array of shape (n,), as PyTorch biases.
template <class Derived>
void write_npy_vector(const std::string& path, const Eigen::MatrixBase<Derived>& v) {
  using S = typename Derived::Scalar;
  if (v.rows() != 1 && v.cols() != 1) {
    DENDRITE_THROW(dimension_error, "write_npy_vector('", path,
                   "'): expected a vector, got ", v.rows(), " x ", v.cols());
  }
  const Eigen::Matrix<S, Eigen::Dynamic, 1> c = v.reshaped();
  detail::write_elements(path, {std::int64_t(c.size())}, false, c.data(), std::size_t(c.size()));
}

/// Writes `data` (C order) as an array of any `shape` (e.g. a PyTorch conv weight).
template <class S>
void write_npy_array(const std::string& path, const std::vector<std::int64_t>& shape,
                     std::span<const S> data) {
  std::int64_t count = 1;
  for (std::int64_t d : shape) count *= d;
  if (count != std::int64_t(data.size())) {
    DENDRITE_THROW(dimension_error, "write_npy_array('", path, "'): a shape of ",
                   count, " elements for ", data.size(), " values");
  }
  detail::write_elements(path, shape, false, data.data(), data.size());
}

}  // namespace dendrite::io
