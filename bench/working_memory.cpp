// SPDX-License-Identifier: MIT
// One training step of the working-memory example's network (leaky retanh RNN, 33 inputs, 100
// units, readout to 4; 120 time steps x 64 trials; forward + backward + clipping + Adam) on
// dendrite's tape, and the forward alone; the PyTorch baseline is bench/working_memory_torch.py.
#include <random>

#include <benchmark/benchmark.h>

#include "../examples/working_memory/working_memory.hpp"

namespace {

namespace wm = dendrite::examples::wm;

void BM_WorkingMemoryTrainStep(benchmark::State& state) {
  const wm::Timing tm;
  wm::Model model(1);
  dendrite::autodiff::Adam<float> adam(model.parameters(), {.lr = 1e-3});
  dendrite::autodiff::Tape<float> tape;
  std::mt19937_64 rng(2);
  Eigen::MatrixXf x, y;
  (void)wm::make_batch(tm, 64, rng, x, y);
  for (auto _ : state) {
    benchmark::DoNotOptimize(wm::train_step(model, adam, tape, x, y, 64));
  }
}

void BM_WorkingMemoryForward(benchmark::State& state) {
  const wm::Timing tm;
  wm::Model model(1);
  dendrite::autodiff::Tape<float> tape;
  std::mt19937_64 rng(2);
  Eigen::MatrixXf x, y;
  (void)wm::make_batch(tm, 64, rng, x, y);
  for (auto _ : state) {
    tape.clear();
    const auto h = model.rnn.forward(tape, tape.input(x), 64);
    benchmark::DoNotOptimize(dendrite::autodiff::mse(model.readout.forward(tape, h), tape.input(y)).item());
  }
}

}  // namespace

BENCHMARK(BM_WorkingMemoryForward)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WorkingMemoryTrainStep)->Unit(benchmark::kMillisecond);
