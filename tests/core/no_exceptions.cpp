// Built with -fno-exceptions: every header compiles without exceptions (the umbrella, so the io
// headers and load_pytorch's failure path are in), load_pytorch, SOSFilter and the offline
// filters are instantiated, and DENDRITE_THROW prints its message and aborts.
#include <dendrite/dendrite.hpp>

int main(int argc, char**) {
  if (argc > 100) {  // never taken: instantiates the loader without exceptions
    dendrite::nn::GRU<float, 2, 3> gru;
    dendrite::io::load_pytorch(gru, "no-such-directory");
    dendrite::io::save_pytorch(gru, "no-such-directory");
    // the blocks and analysis functions that keep their state in aligned vectors (g++ refused
    // xsimd 8's aligned allocator here: its allocate throws)
    const Eigen::MatrixXd sos = dendrite::dsp::iirnotch(50.0, 30.0, 512.0);
    dendrite::dsp::SOSFilter<float, 4> filter(sos);
    const Eigen::MatrixXd x = Eigen::MatrixXd::Ones(3, 40);
    const Eigen::MatrixXd y = dendrite::dsp::sosfiltfilt(sos, x) + dendrite::dsp::sosfilt(sos, x);
    return int(y(0, 0)) + int(filter.sections());
  }
  if (argc < 100) {
    DENDRITE_THROW(dendrite::dimension_error, "expected ", 3, " channels, got ", 5);
  }
  return 0;
}
