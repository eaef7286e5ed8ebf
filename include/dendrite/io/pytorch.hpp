// SPDX-License-Identifier: MIT
/// @file
/// PyTorch weights in and out through a directory of NPY files, one per state_dict entry:
///   <dir>/<prefix><name>.npy      e.g. weight_ih.npy, bias_hh.npy (nn.GRUCell names), weight.npy
///   <dir>/<prefix><name>_l0.npy   accepted too: nn.GRU / nn.LSTM / nn.RNN single-layer names
/// Export from Python with
///   for k, v in model.state_dict().items(): numpy.save(f"{dir}/{k}.npy", v.numpy())
///
/// Works for any block whose `named_parameters()` lists (name, Parameter*): Dense, RNN, GRU,
/// LSTM, the conv, norm and attention blocks, and compositions (Sequential names its layers
/// "0.", "1.", ... as nn.Sequential does). Every array's shape is checked against the block's
/// template sizes; a parameter with an N-D `shape` (a conv weight (Cout, Cin, K)) must have
/// exactly that shape and is written with it. If the directory holds a reference pair
/// `<prefix>check_input.npy` (shape (N, In), numpy's (samples, features); blocks whose
/// `forward(X)` maps In x N to Out x N) and
/// `<prefix>check_output.npy` (shape (N, Out)), the loaded block must reproduce the output to
/// 1e-4 relative to the largest output (float32 references), or loading fails: a wrong layout
/// cannot load silently. On any failure the block keeps its old weights and `io_error` says
/// which file and what is wrong. `save_pytorch` and `save_check_pair` create the directory and its
/// parents. Paths are `std::string`s (see npy.hpp); directories are checked and created with
/// POSIX `stat`/`mkdir` (`<filesystem>` on Windows).
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include <dendrite/core/error.hpp>
#include <dendrite/io/npy.hpp>

#if defined(_WIN32)
#include <filesystem>
#else
#include <sys/stat.h>  // POSIX stat and mkdir: <filesystem> costs every including file ~0.2 s
#endif

namespace dendrite::io {

namespace detail {

/// Whether `path` names an existing file or directory.
inline bool path_exists(const std::string& path) {
#if defined(_WIN32)
  std::error_code ec;
  return std::filesystem::exists(path, ec);
#else
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
#endif
}

/// Whether `path` names a directory.
inline bool is_directory(const std::string& path) {
#if defined(_WIN32)
  std::error_code ec;
  return std::filesystem::is_directory(path, ec);
#else
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
#endif
}

/// Creates `path` and its missing parents (mkdir -p); throws `io_error` if it is not then a
/// directory.
inline void make_directories(const std::string& path) {
#if defined(_WIN32)
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
#else
  for (std::size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      const std::string prefix = path.substr(0, i);
      if (!is_directory(prefix)) {
        ::mkdir(prefix.c_str(), 0777);  // failure (a race, a file in the way) is judged below
      }
    }
  }
#endif
  if (!is_directory(path)) {
    DENDRITE_THROW(io_error, "PyTorch weights: cannot create the directory '", path, "'");
  }
}

/// `dir`/`name`.
inline std::string join(const std::string& dir, std::string_view name) {
  std::string out = dir;
  if (!out.empty() && out.back() != '/') out += '/';
  return out.append(name);
}

inline std::string state_dict_file(const std::string& dir, std::string_view prefix,
                                   std::string_view name) {
  const std::string stem = std::string(prefix) + std::string(name);
  const std::string plain = join(dir, stem + ".npy");
  if (path_exists(plain)) {
    return plain;
  }
  const std::string layer0_name = stem + "_l0.npy";
  const std::string layer0 = join(dir, layer0_name);
  if (path_exists(layer0)) {
    return layer0;
  }
  DENDRITE_THROW(io_error, "PyTorch weights: missing file '", plain, "' (also tried '",
                 layer0_name, "')");
}

/// The matrix of a parameter from its file: a parameter with an N-D `shape` (a conv weight)
/// must match it exactly and is read in C order as shape[0] x (the rest); others as before.
template <class S, class P>
Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> read_parameter(const std::string& file,
                                                                const P& p) {
  if (p.shape.empty()) {
    return read_npy<S>(file, p.rows(), p.cols());
  }
  if (p.shape.size() == 1) {  // a bias: (n,) as PyTorch writes it, or (n, 1)
    return read_npy<S>(file, p.rows(), 1);
  }
  const NpyArray<S> a = read_npy_array<S>(file);
  bool same = a.shape.size() == p.shape.size();
  for (std::size_t d = 0; same && d < a.shape.size(); ++d)
    same = a.shape[d] == p.shape[d];
  if (!same) {
    std::vector<std::int64_t> want(p.shape.begin(), p.shape.end());
    npy_fail(file,
             "shape mismatch: expected " + shape_string(want) + ", got " + shape_string(a.shape));
  }
  using RowMajor = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  return Eigen::Map<const RowMajor>(a.data.data(), p.rows(), p.cols());
}

}  // namespace detail

/// Fills `block` from the NPY files of a PyTorch state_dict in `dir` (see the file comment).
template <class Block>
void load_pytorch(Block& block, const std::string& dir, std::string_view prefix = "") {
  using S = typename Block::Scalar;
  using M = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
  if (!detail::is_directory(dir)) {
    DENDRITE_THROW(io_error, "PyTorch weights: '", dir, "' is not a directory");
  }
  auto params = block.named_parameters();
  std::vector<M> staged;
  staged.reserve(params.size());
  for (auto& [name, p] : params) {
    const std::string file = detail::state_dict_file(dir, prefix, name);
    staged.push_back(detail::read_parameter<S>(file, *p));
  }
  std::vector<M> old;
  old.reserve(params.size());
  std::size_t k = 0;
  for (auto& [name, p] : params) {
    old.push_back(p->value);
    p->value = staged[k++];
  }
  const std::string in_file = detail::join(dir, std::string(prefix) + "check_input.npy");
  const std::string out_file = detail::join(dir, std::string(prefix) + "check_output.npy");
  if (!detail::path_exists(in_file) && !detail::path_exists(out_file)) {
    return;
  }
  // Puts the old weights back unless the check passes: an exception unwinding through here
  // leaves the block as it was (no try/catch, so this compiles with -fno-exceptions).
  struct Restore {
    decltype(params)& ps;
    std::vector<M>& saved;
    bool committed = false;
    ~Restore() {
      if (committed)
        return;
      std::size_t i = 0;
      for (auto& [name, p] : ps)
        p->value = std::move(saved[i++]);
    }
  } restore{params, old};
  {
    if constexpr (!requires(const M& m) { block.forward(m); }) {
      DENDRITE_THROW(io_error, "PyTorch weights in '", dir,
                     "': a check pair was given for a block without a matrix forward()");
    } else {
      if (!detail::path_exists(in_file) || !detail::path_exists(out_file)) {
        DENDRITE_THROW(io_error, "PyTorch weights: '", dir,
                       "' has only one of check_input.npy and check_output.npy");
      }
      const M x = read_npy<S>(in_file);
      if (x.cols() != Block::input_size) {
        DENDRITE_THROW(io_error, "NPY file '", in_file, "': expected shape (N, ",
                       Block::input_size, "), got (", x.rows(), ", ", x.cols(), ")");
      }
      const M want = read_npy<S>(out_file, x.rows(), Block::output_size);
      const M got = block.forward(x.transpose()).transpose();
      const double scale = std::max(1.0, double(want.cwiseAbs().maxCoeff()));
      const double err = double((got - want).cwiseAbs().maxCoeff());
      if (!(err <= 1e-4 * scale)) {
        DENDRITE_THROW(io_error, "PyTorch weights in '", dir,
                       "': the block does not reproduce check_output.npy (largest difference ", err,
                       "); the weights were not loaded");
      }
    }
  }
  restore.committed = true;
}

/// Writes the block's parameters as NPY files named like a PyTorch state_dict, each in the
/// shape its parameter declares (`Parameter::shape`: a bias 1-D, a conv weight 3-D or 4-D).
template <class Block>
void save_pytorch(Block& block, const std::string& dir, std::string_view prefix = "") {
  detail::make_directories(dir);
  using S = typename Block::Scalar;
  for (auto& [name, p] : block.named_parameters()) {
    const std::string file = detail::join(dir, std::string(prefix) + std::string(name) + ".npy");
    if (p->shape.size() == 1) {
      write_npy_vector(file, p->value);
    } else if (!p->shape.empty()) {
      const Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> c = p->value;
      write_npy_array<S>(file, std::vector<std::int64_t>(p->shape.begin(), p->shape.end()),
                         std::span<const S>(c.data(), std::size_t(c.size())));
    } else {
      write_npy(file, p->value);
    }
  }
}

/// Writes the reference pair for `x` (In x N): check_input.npy (N, In) and the block's output
/// check_output.npy (N, Out), so that a later load_pytorch verifies the weights.
template <class Block, class Derived>
void save_check_pair(Block& block, const std::string& dir,
                     const Eigen::MatrixBase<Derived>& x, std::string_view prefix = "") {
  detail::make_directories(dir);
  write_npy(detail::join(dir, std::string(prefix) + "check_input.npy"), x.transpose());
  write_npy(detail::join(dir, std::string(prefix) + "check_output.npy"),
            block.forward(x).transpose());
}

}  // namespace dendrite::io
