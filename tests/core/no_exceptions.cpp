// Built with -fno-exceptions: every header compiles without exceptions (the umbrella, so the io
// headers and load_pytorch's failure path are in), load_pytorch is instantiated, and
// DENDRITE_THROW prints its message and aborts.
#include <dendrite/dendrite.hpp>

int main(int argc, char**) {
  if (argc > 100) {  // never taken: instantiates the loader without exceptions
    dendrite::nn::GRU<float, 2, 3> gru;
    dendrite::io::load_pytorch(gru, "no-such-directory");
    dendrite::io::save_pytorch(gru, "no-such-directory");
  }
  if (argc < 100) {
    DENDRITE_THROW(dendrite::dimension_error, "expected ", 3, " channels, got ", 5);
  }
  return 0;
}
