// SPDX-License-Identifier: MIT
#include "../common/examples.hpp"

int main(int argc, char** argv) {
  return dendrite::examples::run_main(
      argc, argv, "the 16-channel, 30 kHz real-time pipeline (OnlineICA, StreamingPCA, GRU decoder)",
      dendrite::examples::run_realtime_pipeline);
}
