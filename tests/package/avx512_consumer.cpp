// SPDX-License-Identifier: MIT
// Compiled (not run) for an AVX-512 target with -Wall -Wextra -Werror by every build, whatever the
// host: GCC 12.2 warns inside its own AVX-512 intrinsics (GCC PR 105593) wherever xsimd's exp,
// nearbyint or conversions are inlined, and dendrite's headers must keep a consumer's -Werror build
// working. Uses the batch math and the batch steps of the real-time blocks, the blocked many-stream
// steps, ORICA, and the packed bf16, f16 and int8 steps and layers (built for Sapphire Rapids too,
// whose VDPBF16PS and VPDPBUSD paths and 512-bit VCVTPH2PS no CI host may have; and with clang,
// which checks the discarded branches of a non-dependent `if constexpr` that GCC lets pass).
// Compiled for AVX2 (Haswell) too, so that an AVX-512 host also compiles the AVX2-only kernels.
#include <array>
#include <cstdint>
#include <cstdio>
#include <span>

// the headers of what it uses, not the umbrella: the compile is a test run by every build
#include <dendrite/core/math.hpp>
#include <dendrite/ica/online_ica.hpp>
#include <dendrite/ica/orica.hpp>
#include <dendrite/nn/blocked_gru.hpp>
#include <dendrite/nn/blocked_lstm.hpp>
#include <dendrite/nn/conv1d.hpp>
#include <dendrite/nn/dense.hpp>
#include <dendrite/nn/gru.hpp>
#include <dendrite/nn/lstm.hpp>
#include <dendrite/nn/packed_dense.hpp>
#include <dendrite/nn/packed_gru.hpp>
#include <dendrite/nn/packed_lstm.hpp>
#include <dendrite/nn/rnn.hpp>

namespace nn = dendrite::nn;
using B = dendrite::batchf;

namespace {

// one float stream with packed weights (the int8 product's quantization inlines the intrinsics
// PR 105593 is about)
int packed_steps(const std::array<float, 32>& x, std::array<float, 64>& h) {
  nn::GRU<float, 32, 64> gru;
  nn::LSTM<float, 32, 16> lstm;
  nn::PackedGRU<float, 32, 64, std::int8_t> gru8(gru);
  nn::PackedGRU<float, 32, 64, dendrite::bf16> gru16(gru);
  nn::PackedGRU<float, 32, 64, dendrite::f16> gruh(gru);
  nn::PackedLSTM<float, 32, 16, std::int8_t> lstm8(lstm);
  nn::PackedLSTM<float, 32, 16, dendrite::bf16> lstm16(lstm);
  nn::PackedLSTM<float, 32, 16, dendrite::f16> lstmh(lstm);
  std::array<float, 16> c{};
  int bad = 0;
  bad += gru.step(x, h) != dendrite::Status::Ok;
  bad += gru8.step(x, h) != dendrite::Status::Ok;
  bad += gru16.step(x, h) != dendrite::Status::Ok;
  bad += gruh.step(x, h) != dendrite::Status::Ok;
  bad += lstm.step(x, c) != dendrite::Status::Ok;
  bad += lstm8.step(x, c) != dendrite::Status::Ok;
  bad += lstm16.step(x, c) != dendrite::Status::Ok;
  bad += lstmh.step(x, c) != dendrite::Status::Ok;
  const nn::Dense<float, 32, 64, nn::Tanh> dense;
  bad += nn::PackedDense<float, 32, 64, std::int8_t, nn::Tanh>(dense).step(x, h) !=
         dendrite::Status::Ok;
  bad += nn::PackedDense<float, 32, 64, dendrite::bf16, nn::Tanh>(dense).step(x, h) !=
         dendrite::Status::Ok;
  bad += nn::PackedDense<float, 32, 64, dendrite::f16, nn::Tanh>(dense).step(x, h) !=
         dendrite::Status::Ok;
  h[0] += c[0];
  return bad;
}

}  // namespace

int main(int argc, char**) {
  const B x = dendrite::broadcast<B>(0.1 * argc);
  B y = dendrite::sigmoid(x) + dendrite::tanh(x) + dendrite::exp(x) + dendrite::log1p(x) +
        dendrite::softplus(x) + dendrite::clamp(x, B(-1.0f), B(1.0f)) +
        dendrite::min(x, dendrite::max(x, B(0.5f))) + dendrite::pow(dendrite::abs(x), B(1.5f));
  std::array<B, 4> in{x, y, x, y};
  std::array<B, 8> h{};
  nn::GRU<B, 4, 8> gru;
  nn::LSTM<B, 4, 8> lstm;
  nn::RNN<B, 4, 8, nn::ReTanh> rnn({.alpha = 0.2});
  nn::Dense<B, 4, 8, nn::Sigmoid> dense;
  nn::Conv1D<B, 4, 8, 3> conv;
  dendrite::ica::OnlineICA<B, 4> ica;
  std::array<B, 4> sep{};
  int bad = 0;
  bad += gru.step(in, h) != dendrite::Status::Ok;
  bad += lstm.step(in, h) != dendrite::Status::Ok;
  bad += rnn.step(in, h) != dendrite::Status::Ok;
  bad += dense.step(in, h) != dendrite::Status::Ok;
  bad += conv.step(in, h) != dendrite::Status::Ok;
  bad += ica.step(in, sep) != dendrite::Status::Ok;
  // the many-stream forms (their register-blocked products) and ORICA, scalar and in lanes
  nn::BlockedGRU<B, 4, 8, 4> bgru;
  nn::BlockedLSTM<B, 4, 8, 4> blstm;
  std::array<B, 16> in4{x, y, x, y, x, y, x, y, x, y, x, y, x, y, x, y};
  std::array<B, 32> h4{};
  bad += bgru.step(in4, h4) != dendrite::Status::Ok;
  bad += blstm.step(in4, h4) != dendrite::Status::Ok;
  // the lanes' products across rows, from 96 rows (the 16 x 16 transpose on AVX-512)
  nn::GRU<B, 4, 33> gru33;
  nn::LSTM<B, 4, 32> lstm32;
  std::array<B, 33> h33{};
  bad += gru33.step(in, h33) != dendrite::Status::Ok;
  bad += lstm32.step(in, std::span<B, 32>(h33.data(), 32)) != dendrite::Status::Ok;
  dendrite::ica::ORICA<B, 4> orica;
  bad += orica.step(in, sep) != dendrite::Status::Ok;
  dendrite::ica::ORICA<float, 16> orica16;
  std::array<float, 16> xs{}, ys{};
  xs[0] = float(argc);
  bad += orica16.step(xs, ys) != dendrite::Status::Ok;
  std::array<float, 32> xf{};
  xf[0] = float(argc);
  std::array<float, 64> hf{};
  bad += packed_steps(xf, hf);
  std::printf("%f %f %f %d\n", double(dendrite::lane(y + h[0] + sep[0] + h4[0], 0)), double(hf[0]),
              double(ys[0]), bad);
  return bad;
}
