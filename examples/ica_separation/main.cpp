// SPDX-License-Identifier: MIT
#include "../common/examples.hpp"

int main(int argc, char** argv) {
  return dendrite::examples::run_main(
      argc, argv, "FOBI, FastICA and the online network on Bahroun et al.'s synthetic set",
      dendrite::examples::run_ica_separation);
}
