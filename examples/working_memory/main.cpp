// SPDX-License-Identifier: MIT
#include "../common/examples.hpp"

int main(int argc, char** argv) {
  return dendrite::examples::run_main(
      argc, argv, "Cueva et al.'s working-memory RNN: train it and find the torus in its activity",
      dendrite::examples::run_working_memory);
}
