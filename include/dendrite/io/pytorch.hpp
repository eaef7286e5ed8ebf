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
/// which file and what is wrong.
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <dendrite/core/error.hpp>
#include <dendrite/io/npy.hpp>

namespace dendrite::io {

namespace detail {

inline std::filesystem::path state_dict_file(const std::filesystem::path& dir,
                                             std::string_view prefix, std::string_view name) {
  const std::filesystem::path plain = dir / (std::string(prefix) + std::string(name) + ".npy");
  if (std::filesystem::exists(plain)) {
    return plain;
  }
  const std::filesystem::path layer0 = dir / (std::string(prefix) + std::string(name) + "_l0.npy");
  if (std::filesystem::exists(layer0)) {
    return layer0;
  }
  DENDRITE_THROW(io_error, "PyTorch weights: missing file '", plain.string(), "' (also tried '",
                 layer0.filename().string(), "')");
}

/// The matrix of a parameter from its file: a parameter with an N-D `shape` (a conv weight)
/// must match it exactly and is read in C order as shape[0] x (the rest); others as before.
template <class S, class P>
Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic> read_parameter(const std::filesystem::path& file,
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
void load_pytorch(Block& block, const std::filesystem::path& dir, std::string_view prefix = "") {
  using S = typename Block::Scalar;
  using M = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
  if (!std::filesystem::is_directory(dir)) {
    DENDRITE_THROW(io_error, "PyTorch weights: '", dir.string(), "' is not a directory");
  }
  auto params = block.named_parameters();
  std::vector<M> staged;
  staged.reserve(params.size());
  for (auto& [name, p] : params) {
    const std::filesystem::path file = detail::state_dict_file(dir, prefix, name);
    staged.push_back(detail::read_parameter<S>(file, *p));
  }
  std::vector<M> old;
  old.reserve(params.size());
  std::size_t k = 0;
  for (auto& [name, p] : params) {
    old.push_back(p->value);
    p->value = staged[k++];
  }
  const std::filesystem::path in_file = dir / (std::string(prefix) + "check_input.npy");
  const std::filesystem::path out_file = dir / (std::string(prefix) + "check_output.npy");
  if (!std::filesystem::exists(in_file) && !std::filesystem::exists(out_file)) {
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
      DENDRITE_THROW(io_error, "PyTorch weights in '", dir.string(),
                     "': a check pair was given for a block without a matrix forward()");
    } else {
      if (!std::filesystem::exists(in_file) || !std::filesystem::exists(out_file)) {
        DENDRITE_THROW(io_error, "PyTorch weights: '", dir.string(),
                       "' has only one of check_input.npy and check_output.npy");
      }
      const M x = read_npy<S>(in_file);
      if (x.cols() != Block::input_size) {
        DENDRITE_THROW(io_error, "NPY file '", in_file.string(), "': expected shape (N, ",
                       Block::input_size, "), got (", x.rows(), ", ", x.cols(), ")");
      }
      const M want = read_npy<S>(out_file, x.rows(), Block::output_size);
      const M got = block.forward(x.transpose()).transpose();
      const double scale = std::max(1.0, double(want.cwiseAbs().maxCoeff()));
      const double err = double((got - want).cwiseAbs().maxCoeff());
      if (!(err <= 1e-4 * scale)) {
        DENDRITE_THROW(io_error, "PyTorch weights in '", dir.string(),
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
void save_pytorch(Block& block, const std::filesystem::path& dir, std::string_view prefix = "") {
  std::filesystem::create_directories(dir);
  using S = typename Block::Scalar;
  for (auto& [name, p] : block.named_parameters()) {
    const std::filesystem::path file = dir / (std::string(prefix) + std::string(name) + ".npy");
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
void save_check_pair(Block& block, const std::filesystem::path& dir,
                     const Eigen::MatrixBase<Derived>& x, std::string_view prefix = "") {
  std::filesystem::create_directories(dir);
  write_npy(dir / (std::string(prefix) + "check_input.npy"), x.transpose());
  write_npy(dir / (std::string(prefix) + "check_output.npy"), block.forward(x).transpose());
}

}  // namespace dendrite::io
