// SPDX-License-Identifier: MIT
// The library's real-time steps placed against this core's limits with register_step
// (dendrite/bench/step.hpp): for each, Google Benchmark's timing and a profile (GFLOP/s, fraction
// of the measured FMA peak and of the roofline bound, latency percentiles over 10^5 calls,
// allocations, slow-down on subnormal input). Run: ./build/bench/bench/bench_steps
#include <dendrite/bench/count_allocations.hpp>  // this program's operator new is counted
#include <dendrite/bench/step.hpp>
#include <dendrite/nn.hpp>

namespace nn = dendrite::nn;
using dendrite::batchf;

namespace {

// registered before main by a static initialiser, so that benchmark_main finds them
const bool registered = [] {
  namespace b = dendrite::bench;
  b::register_step<nn::GRU<float, 32, 64>>("GRU<float, 32, 64>");
  b::register_step<nn::GRU<batchf, 32, 64>>("GRU<batch<float>, 32, 64> (all lanes)");
  b::register_step<nn::LSTM<float, 32, 64>>("LSTM<float, 32, 64>");
  b::register_step<nn::GRU<float, 32, 128>>("GRU<float, 32, 128>");
  b::register_step<nn::Dense<float, 64, 64, nn::Tanh>>("Dense<float, 64, 64, tanh>");
  return true;
}();

}  // namespace
