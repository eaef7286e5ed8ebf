// SPDX-License-Identifier: MIT
// Thread safety as documented: independent instances may step on different threads, and const
// methods (here GRU::forward, the analysis form) may share one instance. Built with
// -fsanitize=thread in the sanitize configuration (clang), so a data race fails the test.
#include <array>
#include <cmath>
#include <cstdio>
#include <thread>

#include <dendrite/geometry/streaming_pca.hpp>
#include <dendrite/ica/online_ica.hpp>
#include <dendrite/ica/synthetic.hpp>
#include <dendrite/nn/gru.hpp>

int main() {
  const auto data = dendrite::ica::bahroun_synthetic(4000, 5);
  const dendrite::nn::GRU<float, 4, 8> shared({.seed = 3});  // const: shared by both threads
  const Eigen::MatrixXf seq = data.mixed.leftCols(200).cast<float>();
  double results[2] = {0, 0};
  const auto work = [&](int id) {
    dendrite::ica::OnlineICA<float, 4> ica;  // one instance per thread for every step()
    ica.warm_start(data.mixed);
    dendrite::geometry::StreamingPCA<float, 4, 2> pca;
    dendrite::nn::GRU<float, 4, 8> gru({.seed = static_cast<std::uint64_t>(id)});
    std::array<float, 4> x{}, y{};
    std::array<float, 8> h{};
    for (Eigen::Index t = 0; t < 20000; ++t) {
      for (int i = 0; i < 4; ++i) x[std::size_t(i)] = float(data.mixed(i, t % 4000));
      (void)ica.step(x, y);
      (void)pca.step(x);
      (void)gru.step(y, h);
    }
    const Eigen::MatrixXf out = shared.forward(seq);  // const method on a shared instance
    results[id] = double(h[0]) + double(out(0, 199));
  };
  std::thread a(work, 0), b(work, 1);
  a.join();
  b.join();
  const bool ok = std::isfinite(results[0]) && std::isfinite(results[1]);
  std::printf(ok ? "two threads: no race, finite results\n" : "two threads: non-finite result\n");
  return ok ? 0 : 1;
}
