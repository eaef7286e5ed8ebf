// SPDX-License-Identifier: MIT
// libFuzzer target for the NPY reader and the PyTorch-directory loader: any input must either
// parse or raise dendrite::io_error; anything else (a crash, a sanitizer report, another
// exception) is a bug. Built as a fuzzer with -DDENDRITE_FUZZ=ON (clang), and linked with
// replay.cpp into a normal test that replays tests/fuzz/corpus/ in every build.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>

#include <dendrite/io/npy.hpp>
#include <dendrite/io/pytorch.hpp>
#include <dendrite/nn/conv.hpp>
#include <dendrite/nn/dense.hpp>

#include "support/scratch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const char> bytes(reinterpret_cast<const char*>(data), size);
  try {
    const auto m = dendrite::io::parse_npy<double>(bytes);
    if (m.size() > 0 && !(m(0) == m(0) || m(0) != m(0))) return 1;  // touch the data
  } catch (const dendrite::io_error&) {
  }
  try {
    const auto a = dendrite::io::parse_npy_array<float>(bytes);
    if (a.data.size() > 0 && a.shape.empty() && a.data.size() != 1) __builtin_trap();
  } catch (const dendrite::io_error&) {
  }
  // The loader, with the input as a Dense layer's weight file next to a valid bias.
  static const std::filesystem::path dir = [] {
    const auto d = dendrite::test::scratch_dir("fuzz");
    dendrite::io::write_npy_vector(d / "bias.npy", Eigen::VectorXf::Ones(3));
    return d;
  }();
  {
    std::ofstream out(dir / "weight.npy", std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
  }
  dendrite::nn::Dense<float, 2, 3> dense;
  try {
    dendrite::io::load_pytorch(dense, dir);
  } catch (const dendrite::io_error&) {
  }
  // Two files varied at once: the first two bytes give a split point, the rest becomes a
  // Conv1D's weight.npy (an N-D shape (3, 2, 2)) and its bias.npy.
  if (size >= 2) {
    static const std::filesystem::path conv_dir = dir / "conv";
    std::filesystem::create_directories(conv_dir);
    const std::size_t rest = size - 2;
    const std::size_t split = std::min<std::size_t>(std::size_t(data[0]) | (std::size_t(data[1]) << 8), rest);
    {
      std::ofstream out(conv_dir / "weight.npy", std::ios::binary | std::ios::trunc);
      out.write(bytes.data() + 2, std::streamsize(split));
    }
    {
      std::ofstream out(conv_dir / "bias.npy", std::ios::binary | std::ios::trunc);
      out.write(bytes.data() + 2 + split, std::streamsize(rest - split));
    }
    dendrite::nn::Conv1D<float, 2, 3, 2> conv;
    const Eigen::MatrixXf before = conv.weight.value;
    try {
      dendrite::io::load_pytorch(conv, conv_dir);
    } catch (const dendrite::io_error&) {
      if (conv.weight.value != before) __builtin_trap();  // a failed load keeps the old weights
    }
  }
  return 0;
}
