// SPDX-License-Identifier: MIT
#include "../common/examples.hpp"

int main(int argc, char** argv) {
  return dendrite::examples::run_main(
      argc, argv,
      "Li et al.'s CycleGAN with attention masks: map pre- to post-learning activity of a "
      "synthetic corridor task and find where learning changed it",
      dendrite::examples::run_cyclegan);
}
