// SPDX-License-Identifier: MIT
#include "../common/examples.hpp"

int main(int argc, char** argv) {
  return dendrite::examples::run_main(
      argc, argv, "the 64-channel EEG closed loop (BDF replay, filters, ORICA, artifact removal, GRU)",
      dendrite::examples::run_eeg_closed_loop);
}
