// SPDX-License-Identifier: MIT
// The README's C++ snippets, compiled (docs.readme_snippets_compile, -fsyntax-only): each block
// between "README begin" and "README end" is a README block copied verbatim, and
// tests/cmake/readme_in_sync.cmake (docs.readme_snippets_in_sync) fails when one of its lines is
// no longer in README.md. Around them: the variables a snippet leaves to the reader. Not here:
// the EDF snippet (needs EDFlib) and the benchmark program (a main of its own).
// The functions are never called: the test is that the snippets compile as a user would write
// them. (A snippet's #include inside a function is the umbrella's, already included: nothing.)
#include <dendrite/dendrite.hpp>

#include <iostream>
#include <span>
#include <string>
#include <vector>

namespace nn = dendrite::nn;

namespace readme_block3 {
// README begin
namespace rt = dendrite::rt;
static_assert(rt::StreamingBlock<nn::Dense<float, 16, 4>>);  // value_type, input_size, output_size,
                                                            // noexcept step(span, span) -> Status,
                                                            // noexcept reset(), latency_samples()
static_assert(rt::Stateful<nn::LSTM<float, 8, 32>>);        // + state() / set_state(), [h; c]
static_assert(rt::Trainable<nn::GRU<float, 8, 32>>);        // + named_parameters()

template <rt::StreamingBlock B>                            // any block, one sample at a time
dendrite::Status run(B& block, std::span<const typename B::value_type, B::input_size> x,
                     std::span<typename B::value_type, B::output_size> y) noexcept {
  return block.step(x, y);
}
// README end
}  // namespace readme_block3

namespace {

template <class... A>
void log(A&&...) {}  // the reader's logger

[[maybe_unused]] void block0() {
// README begin
#include <dendrite/core.hpp>

float y = dendrite::sigmoid(0.3f);                         // std:: underneath
auto  b = dendrite::broadcast<dendrite::batchf>(0.3);       // every lane = 0.3
auto  t = dendrite::tanh(b);                               // xsimd underneath, all lanes at once
float first = dendrite::lane(t, 0);
std::size_t streams = dendrite::lanes_v<dendrite::batchf>; // 4 (SSE2), 8 (AVX2), 16 (AVX-512)
// README end
}

[[maybe_unused]] void block1() {
  const double points[16] = {};
  const Eigen::Vector3d x0(1, 2, 3);
// README begin
#include <dendrite/autodiff.hpp>
namespace ad = dendrite::autodiff;

double d = ad::derivative([](auto x) { return ad::tanh(x) * x; }, 0.3);     // d/dx at 0.3
ad::Dual<dendrite::batchd, 1> xs(dendrite::load<dendrite::batchd>(points), 0); // lanes_v points
auto ys = ad::sigmoid(xs * xs);                    // ys.v[0]: the derivative at every lane
Eigen::Vector3d g = ad::gradient([&](const auto& x) { return x.norm(); }, x0);  // Eigen scalars
// README end
}

[[maybe_unused]] void block2() {
  const Eigen::MatrixXf X = Eigen::MatrixXf::Random(8, 5), Y = Eigen::MatrixXf::Random(4, 5);
// README begin
namespace ad = dendrite::autodiff;
ad::Parameter<float> W(ad::Mat<float>::Random(4, 8)), b(4, 1);
ad::Adam<float> adam({&W, &b}, {.lr = 1e-3});
ad::Tape<float> tape;
for (int it = 0; it < 1000; ++it) {
  tape.clear();                                        // keeps its memory: no allocation after
  auto y = ad::tanh(ad::addmm(tape.param(b), tape.param(W), tape.input(X)));  // b + W X
  auto loss = ad::mse(y, tape.input(Y));
  tape.backward(loss);                                 // adds d loss / d W into W.grad
  adam.clip_grad_norm(1.0f);
  adam.step();
  adam.zero_grad();
}
// README end
}

[[maybe_unused]] void block4() {
  nn::Dense<float, 4, 4> block;
  const float* in_channels[4] = {};
  float* out_channels[4] = {};
  std::size_t n = 0;
  std::vector<float> chunk(16);
  Eigen::MatrixXf X(4, 3), Y(4, 3);
// README begin
// Open Ephys / JUCE: planar float channels, n varies per call (0 too)
dendrite::rt::BlockResult r = dendrite::rt::process_planar(block, in_channels, out_channels, n);
// Lab Streaming Layer: interleaved, sample-major (in place when the output is not wider)
r = dendrite::rt::process_interleaved(block, chunk.data(), chunk.data(), n);
// BCI2000 / BrainFlow: channels x samples, float or double (any Eigen block or map)
r = dendrite::rt::process(block, X, Y);
if (!r.ok()) log(r.samples, r.rejected, r.diverged, r.error);  // outside the callback
// README end
}

[[maybe_unused]] void block5() {
  dendrite::autodiff::Tape<float> tape;
  const Eigen::MatrixXf X(32, 5), Xb(32, 10);
  const Eigen::Index batch = 2;
// README begin
namespace nn = dendrite::nn;
nn::GRU<float, 32, 64> gru;                        // PyTorch's equations, gate order r, z, n
dendrite::io::load_pytorch(gru, "weights/");       // weight_ih.npy ... (or *_l0.npy), checked
std::array<float, 32> x{}; std::array<float, 64> h{};
dendrite::Status s = gru.step(x, h);               // real time: noexcept, no allocation
Eigen::MatrixXf H = gru.forward(X);                // a sequence: 32 x T in, 64 x T out
auto Ht = gru.forward(tape, tape.input(Xb), batch);  // on the tape, for BPTT
// README end
}

[[maybe_unused]] void block6() {
  dendrite::autodiff::Tape<float> tape;
  const Eigen::MatrixXf X(8, 5), Xb(8, 10), X64(64, 5);
  const Eigen::Index batch = 2;
  std::array<float, 8> x8{};
  std::array<float, 4> y4{};
  std::array<float, 64> x64{}, z64{};
// README begin
namespace nn = dendrite::nn;
// a causal temporal conv net for one stream, composed at compile time
nn::Sequential<nn::Conv1D<float, 8, 16, 5>, nn::LeakyReLU<float>, nn::Dense<float, 16, 4>> net(
    nn::Conv1D<float, 8, 16, 5>({.padding = nn::Padding::Causal, .seed = 1}),
    nn::LeakyReLU<float>(0.2f), nn::Dense<float, 16, 4>({.seed = 2}));
dendrite::io::load_pytorch(net, "weights/");       // nn.Sequential names: 0.weight, 2.bias, ...
dendrite::Status s = net.step<float>(x8, y4);      // one sample in, one out: no allocation
Eigen::MatrixXf Y = net.forward(X);                 // 8 x T in, 4 x T out: the same numbers
auto Yt = net.forward(tape, tape.input(Xb), batch); // on the tape, step-major batch

nn::MultiHeadAttention<float, 64, 4, 32> mha({.causal = true, .window = 32});
std::vector<Eigen::MatrixXf> weights;
Eigen::MatrixXf Z = mha.forward(X64, &weights);     // per head, L x L, rows sum to 1
s = mha.step(x64, z64);                             // keys/values of the last 32 steps in a ring
// README end
}

[[maybe_unused]] void block7() {
  const Eigen::MatrixXd X(5, 20), A(5, 2), B(5, 2), activity(5, 12);
  const int n1 = 3, n2 = 4;
// README begin
#include <dendrite/geometry.hpp>
namespace g = dendrite::geometry;

// Batch PCA of a features x samples matrix (scikit-learn conventions, deterministic signs).
g::PCA<double> pca({.variance_fraction = 0.9});
pca.fit(X);
Eigen::MatrixXd scores = pca.transform(X);
double dims = g::participation_ratio(pca.explained_variance());

// Principal angles between two subspaces (accurate down to 1e-8 rad).
Eigen::VectorXd angles = g::principal_angles(A, B);

// Is the activity over two angles a Clifford torus? (definitions in geometry/torus.hpp)
g::AngleGrid grid{activity, n1, n2};            // N x (n1 n2), column i + n1 j
g::TorusAnalysis t = g::analyze_torus(grid);    // parallelism, orthogonality, shuffle p-values
std::cout << g::to_string(t.classification) << ": " << t.reason << "\n";

// Real time: the top-3 subspace of a 16-channel stream, one sample at a time, no allocation.
g::StreamingPCA<float, 16, 3> spca;            // any units: the rate is relative to the power
std::array<float, 16> x{};  // fill from the acquisition
dendrite::Status s = spca.step(x);              // RejectedNonFinite for NaN/Inf, state untouched
// README end
}

[[maybe_unused]] void block8() {
  const std::size_t blink = 2;
  const Eigen::MatrixXd mixing(16, 16);
  const Eigen::MatrixXf first_second(4, 256);
// README begin
#include <dendrite/ica.hpp>
namespace ica = dendrite::ica;

auto data = ica::bahroun_synthetic(10000);          // the paper's 4 sources, mixed
auto f = ica::fobi(data.mixed);                     // batch FOBI
if (!f.identifiable) std::cerr << f.warning << "\n"; // equal kurtoses are reported, not hidden
double err = ica::amari_index(f.unmixing, data.mixing);
auto fast = ica::fastica(data.mixed, {.fun = ica::FastICANonlinearity::LogCosh});

// Real time from a cold start: Online Recursive ICA, no calibration, no tuning.
ica::ORICA<float, 16> orica({.sample_rate = 256});  // the rate sets the 2 s memory floor
std::array<float, 16> in{}, sep{}, clean{};
dendrite::Status st = orica.step(in, sep);          // noexcept, no allocation, NaN/1e30 rejected
std::array<bool, 16> keep{};  keep.fill(true);  keep[blink] = false;
orica.reconstruct(sep, keep, clean);                // the input without the blink component
double a = ica::amari_index(Eigen::MatrixXd(orica.unmixing() * mixing));

// Back within seconds after an electrode shift: detection, a batch fit on a worker thread,
// adoption in the step (no lock, wait or allocation there).
ica::ORICATracker<float, 16> tracker({.orica = {.sample_rate = 256}});
st = tracker.step(in, sep);

// Real time: the Hebbian/anti-Hebbian network of Bahroun et al., one sample at a time.
ica::OnlineICA<float, 4> net;
net.warm_start(first_second.cast<double>());  // 4 x n; batch calls take double: whitener, FOBI
std::array<float, 4> x{}, y{};
dendrite::Status s = net.step(x, y);                // noexcept, no allocation; NaN rejected
// README end
}

[[maybe_unused]] void block9() {
// README begin
#include <dendrite/dsp.hpp>
namespace dsp = dendrite::dsp;

Eigen::MatrixXd bp = dsp::butter(4, {1.0, 40.0}, dsp::BandType::BandPass, 512.0);  // SciPy's sos rows
Eigen::MatrixXd notch = dsp::iirnotch(50.0, 30.0, 512.0);
Eigen::MatrixXd both(bp.rows() + 1, 6);
both << bp, notch;
dsp::SOSFilter<float, 64> front(both);       // 64 channels, one sample of each per step
std::array<float, 64> x{}, y{};
dendrite::Status s = front.step(x, y);       // noexcept, no allocation; NaN rejected, state kept
// or the lowest order that meets a specification: 0-40 Hz within 1 dB, 60 dB down from 50 Hz
dsp::FilterSpec spec = dsp::ellipord({40.0}, {50.0}, 1.0, 60.0, 512.0);  // order 7 here
Eigen::MatrixXd lp = dsp::ellip(spec.order, 1.0, 60.0, spec.edges, spec.type, 512.0);
// offline, each channel's power spectral density (SciPy's welch: Hann, 256 samples, half overlap)
Eigen::MatrixXd rec = Eigen::MatrixXd::Random(8, 5120);              // channels x samples, 10 s
dsp::Spectrum psd = dsp::welch(dsp::sosfiltfilt(both, rec), 512.0);  // psd.f in Hz, psd.p V^2/Hz
// README end
}

}  // namespace

int main() {}
