// SPDX-License-Identifier: MIT
// Reverse mode: every op's gradient against central differences (gradcheck) on random shapes,
// including broadcasting, slices and concatenation; forward values against formulas written
// here; errors; the allocation-free steady state; the optimisers against closed forms.
#include "support/alloc_counter.hpp"

#include <cmath>
#include <functional>
#include <vector>

#include <catch2/catch.hpp>

#include <Eigen/Cholesky>

#include <dendrite/autodiff/dual.hpp>
#include <dendrite/autodiff/gradcheck.hpp>
#include <dendrite/autodiff/ops.hpp>
#include <dendrite/autodiff/optim.hpp>
#include <dendrite/autodiff/tape.hpp>

#include "support/random.hpp"

namespace ad = dendrite::autodiff;
using ad::Index;
using MatD = ad::Mat<double>;
using P = ad::Parameter<double>;
using V = ad::Var<double>;
using TapeD = ad::Tape<double>;
using dendrite::test::random_matrix;
using dendrite::test::SeededStream;

namespace {

constexpr double kGradTol = 1e-6;  // central differences with h = 1e-6 are good to ~1e-9 here

/// sum(y .* W) for a fixed random W shaped like y: a scalar whose gradient wrt y is W, so every
/// element of y matters and no two get the same weight.
V probe(V y, std::uint64_t seed = 99) {
  const MatD w = random_matrix(y.rows(), y.cols(), seed);
  return ad::sum(y * y.tape().constant(w));
}

/// A parameter with random entries; `away` > 0 keeps every entry at least that far from 0
/// (for kinks at 0 and for log/sqrt/div, which use its absolute value).
P param(Index r, Index c, std::uint64_t seed, double away = 0, bool positive = false) {
  MatD m = random_matrix(r, c, seed);
  if (away > 0) {
    m = m.unaryExpr([away](double x) { return (x < 0 ? -1.0 : 1.0) * (away + std::abs(x)); });
  }
  if (positive) {
    m = m.cwiseAbs();
  }
  return P(m);
}

void expect_gradients(const std::string& what, const std::function<V(TapeD&)>& loss,
                      const std::vector<P*>& params) {
  const ad::GradcheckResult r = ad::gradcheck(loss, params);
  std::size_t total = 0;
  for (const P* p : params) {
    total += std::size_t(p->size());
  }
  INFO(what << ": worst error " << r.max_error << " in parameter " << r.parameter << " element "
            << r.element << " (analytic " << r.analytic << ", numeric " << r.numeric << ")");
  CHECK(r.checked == total);
  CHECK(r.max_error < kGradTol);
}

/// Random shapes for one gradcheck round: m, n, k in [1, 6].
struct Shape {
  Index m, n, k;
};
std::vector<Shape> random_shapes(std::uint64_t seed, int count = 3) {
  SeededStream s(seed);
  std::vector<Shape> out;
  for (int i = 0; i < count; ++i) {
    out.push_back({Index(1 + s.uniform() * 6), Index(1 + s.uniform() * 6),
                   Index(1 + s.uniform() * 6)});
  }
  return out;
}

}  // namespace

TEST_CASE("gradcheck: matmul and transpose on random shapes", "[tape][gradcheck]") {
  for (const Shape s : random_shapes(1)) {
    P a = param(s.m, s.k, 2);
    P b = param(s.k, s.n, 3);
    expect_gradients("matmul", [&](TapeD& t) { return probe(ad::matmul(t.param(a), t.param(b))); },
                     {&a, &b});
    P bias = param(s.m, 1, 4);
    P full = param(s.m, s.n, 5);
    expect_gradients("addmm, bias column",
                     [&](TapeD& t) { return probe(ad::addmm(t.param(bias), t.param(a), t.param(b))); },
                     {&bias, &a, &b});
    expect_gradients("addmm, full",
                     [&](TapeD& t) { return probe(ad::addmm(t.param(full), t.param(a), t.param(b))); },
                     {&full, &a, &b});
    expect_gradients("transpose", [&](TapeD& t) { return probe(ad::transpose(t.param(a))); }, {&a});
    expect_gradients("matmul(a, a^T)",
                     [&](TapeD& t) {
                       const V x = t.param(a);
                       return probe(ad::matmul(x, ad::transpose(x)));
                     },
                     {&a});
  }
}

TEST_CASE("gradcheck: elementwise binary ops with every broadcast", "[tape][gradcheck]") {
  using Op = std::function<V(V, V)>;
  const std::vector<std::pair<std::string, Op>> ops = {
      {"+", [](V x, V y) { return x + y; }},
      {"-", [](V x, V y) { return x - y; }},
      {"*", [](V x, V y) { return x * y; }},
      {"/", [](V x, V y) { return x / y; }},
  };
  for (const Shape s : random_shapes(4)) {
    const Index r = s.m + 1;  // at least 2, so broadcasting really broadcasts
    const Index c = s.n + 1;
    // (left shape, right shape): full, column bias, row bias, scalar, outer (r x 1 with 1 x c),
    // each on either side.
    const std::vector<std::pair<std::pair<Index, Index>, std::pair<Index, Index>>> shapes = {
        {{r, c}, {r, c}}, {{r, c}, {r, 1}}, {{r, 1}, {r, c}}, {{r, c}, {1, c}},
        {{1, c}, {r, c}}, {{r, c}, {1, 1}}, {{1, 1}, {r, c}}, {{r, 1}, {1, c}},
    };
    for (const auto& named_op : ops) {
      const std::string& name = named_op.first;
      const Op& op = named_op.second;  // not a structured binding: clang 14 cannot capture one
      for (const auto& [sa, sb] : shapes) {
        P a = param(sa.first, sa.second, 5, 0.5);
        P b = param(sb.first, sb.second, 6, 0.5);  // away from 0 for division
        expect_gradients("a " + name + " b, " + std::to_string(sa.first) + "x" +
                             std::to_string(sa.second) + " with " + std::to_string(sb.first) +
                             "x" + std::to_string(sb.second),
                         [&](TapeD& t) { return probe(op(t.param(a), t.param(b))); }, {&a, &b});
      }
    }
  }
}

TEST_CASE("gradcheck: scalar affine maps and the same Var used twice", "[tape][gradcheck]") {
  P a = param(3, 4, 7);
  expect_gradients("2a + 1", [&](TapeD& t) { return probe(2.0 * t.param(a) + 1.0); }, {&a});
  expect_gradients("a / 3 - 1", [&](TapeD& t) { return probe(t.param(a) / 3.0 - 1.0); }, {&a});
  expect_gradients("1 - a", [&](TapeD& t) { return probe(1.0 - t.param(a)); }, {&a});
  expect_gradients("-a * 4", [&](TapeD& t) { return probe(-t.param(a) * 4.0); }, {&a});
  expect_gradients("a * a + a", [&](TapeD& t) {
    const V x = t.param(a);
    return probe(x * x + x);
  }, {&a});
}

TEST_CASE("gradcheck: elementwise functions", "[tape][gradcheck]") {
  using Fn = std::function<V(V)>;
  struct Case {
    std::string name;
    Fn f;
    double away;
    bool positive;
  };
  const std::vector<Case> cases = {
      {"tanh", [](V x) { return ad::tanh(x); }, 0, false},
      {"sigmoid", [](V x) { return ad::sigmoid(x); }, 0, false},
      {"relu", [](V x) { return ad::relu(x); }, 0.1, false},
      {"leaky_relu", [](V x) { return ad::leaky_relu(x, 0.2); }, 0.1, false},
      {"exp", [](V x) { return ad::exp(x); }, 0, false},
      {"log", [](V x) { return ad::log(x); }, 0.2, true},
      {"softplus", [](V x) { return ad::softplus(x); }, 0, false},
      {"square", [](V x) { return ad::square(x); }, 0, false},
      {"sqrt", [](V x) { return ad::sqrt(x); }, 0.2, true},
      {"abs", [](V x) { return ad::abs(x); }, 0.1, false},
  };
  for (const Shape s : random_shapes(8)) {
    for (const Case& c : cases) {
      P a = param(s.m, s.n, 9, c.away, c.positive);
      expect_gradients(c.name, [&](TapeD& t) { return probe(c.f(t.param(a))); }, {&a});
    }
  }
}

TEST_CASE("gradcheck: sums and means over all, dim 0 and dim 1", "[tape][gradcheck]") {
  for (const Shape s : random_shapes(10)) {
    P a = param(s.m, s.n, 11);
    expect_gradients("sum", [&](TapeD& t) { return 3.0 * ad::sum(t.param(a)); }, {&a});
    expect_gradients("mean", [&](TapeD& t) { return ad::square(ad::mean(t.param(a))); }, {&a});
    for (int dim : {0, 1}) {
      expect_gradients("sum dim " + std::to_string(dim),
                       [&](TapeD& t) { return probe(ad::sum(t.param(a), dim)); }, {&a});
      expect_gradients("mean dim " + std::to_string(dim),
                       [&](TapeD& t) { return probe(ad::mean(t.param(a), dim)); }, {&a});
    }
  }
}

TEST_CASE("gradcheck: slices and concatenation", "[tape][gradcheck]") {
  for (const Shape s : random_shapes(12)) {
    const Index r = s.m + 2;
    const Index c = s.n + 2;
    P a = param(r, c, 13);
    P b = param(s.k, c, 14);
    P d = param(r, s.k, 15);
    expect_gradients("slice_rows", [&](TapeD& t) { return probe(ad::slice_rows(t.param(a), 1, r - 2)); }, {&a});
    expect_gradients("slice_cols", [&](TapeD& t) { return probe(ad::slice_cols(t.param(a), 1, c - 1)); }, {&a});
    expect_gradients("concat_rows",
                     [&](TapeD& t) {
                       const V x = t.param(a);
                       const V k = t.constant(MatD::Ones(2, c));  // no gradient into a constant
                       return probe(ad::concat_rows({t.param(b), x, k, ad::slice_rows(x, 0, 1)}));
                     },
                     {&a, &b});
    expect_gradients("concat_cols",
                     [&](TapeD& t) {
                       const V x = t.param(a);
                       return probe(ad::concat_cols({x, t.param(d), ad::slice_cols(x, 2, 1)}));
                     },
                     {&a, &d});
  }
}

TEST_CASE("gradcheck: softmax and log_softmax on both dims", "[tape][gradcheck]") {
  for (const Shape s : random_shapes(16)) {
    P a = param(s.m + 1, s.n, 17, 0, false);
    a.value *= 3.0;
    for (int dim : {0, 1}) {
      expect_gradients("softmax dim " + std::to_string(dim),
                       [&](TapeD& t) { return probe(ad::softmax(t.param(a), dim)); }, {&a});
      expect_gradients("log_softmax dim " + std::to_string(dim),
                       [&](TapeD& t) { return probe(ad::log_softmax(t.param(a), dim)); }, {&a});
    }
  }
}

TEST_CASE("gradcheck: losses", "[tape][gradcheck]") {
  for (const Shape s : random_shapes(18)) {
    P x = param(s.m, s.n, 19);
    P y = param(s.m, s.n, 20);
    P l = param(s.m, s.n, 21, 0.3);  // |x - target| > 0: away from the kink of l1
    MatD probs = random_matrix(s.m, s.n, 22).unaryExpr([](double v) { return 1 / (1 + std::exp(-v)); });
    P py(probs);
    expect_gradients("mse", [&](TapeD& t) { return ad::mse(t.param(x), t.param(y)); }, {&x, &y});
    expect_gradients("l1", [&](TapeD& t) { return ad::l1(t.param(l), t.constant(MatD::Zero(s.m, s.n))); }, {&l});
    expect_gradients("bce_with_logits",
                     [&](TapeD& t) { return ad::bce_with_logits(t.param(x), t.param(py)); }, {&x, &py});
    std::vector<int> labels;
    for (Index j = 0; j < s.n; ++j) {
      labels.push_back(int((j * 7 + 3) % (s.m + 1)));
    }
    P logits = param(s.m + 1, s.n, 23);
    expect_gradients("cross_entropy",
                     [&](TapeD& t) { return 2.0 * ad::cross_entropy(t.param(logits), std::span<const int>(labels)); },
                     {&logits});
  }
}

TEST_CASE("gradcheck: an unrolled tanh RNN reuses its weights across steps", "[tape][gradcheck]") {
  // h_t = tanh(W h_{t-1} + U x_t + b), loss = mse(R h_T, target): gradients add over 6 steps.
  const Index hidden = 5, input = 3, batch = 4, steps = 6;
  P w = param(hidden, hidden, 30);
  w.value *= 0.4;
  P u = param(hidden, input, 31);
  P b = param(hidden, 1, 32);
  P r = param(2, hidden, 33);
  const MatD xs = random_matrix(input, batch * steps, 34);
  const MatD target = random_matrix(2, batch, 35);
  expect_gradients("rnn",
                   [&](TapeD& t) {
                     V h = t.constant(MatD::Zero(hidden, batch));
                     const V W = t.param(w), U = t.param(u), B = t.param(b);
                     for (Index k = 0; k < steps; ++k) {
                       const V x = t.constant(xs.middleCols(k * batch, batch));
                       h = ad::tanh(ad::matmul(W, h) + ad::matmul(U, x) + B);
                     }
                     return ad::mse(ad::matmul(t.param(r), h), t.constant(target));
                   },
                   {&w, &u, &b, &r});
}

namespace {

/// A user-written op through the extension point: y = a^3, with its VJP 3 a^2 g scaled by
/// `factor` (1 is right; anything else is a bug gradcheck must find).
template <int Factor>
V cube(V a) {
  TapeD& tape = a.tape();
  ad::Node<double>& node = tape.push(
      +[](TapeD& t, ad::Node<double>& n) {
        if (MatD* g = t.grad_of(n, 0)) {
          g->array() += Factor * 3.0 * n.grad.array() * t.in(n, 0).array().square();
        }
      },
      {a});
  node.value = tape.in(node, 0).array().cube().matrix();
  return tape.top();
}

}  // namespace

TEST_CASE("an op added through the extension point is checked, and a wrong VJP is caught",
          "[tape][gradcheck]") {
  P a = param(3, 2, 40, 0.2);
  expect_gradients("cube", [&](TapeD& t) { return probe(cube<1>(t.param(a))); }, {&a});
  const ad::GradcheckResult wrong =
      ad::gradcheck([&](TapeD& t) { return probe(cube<2>(t.param(a))); }, {&a});
  CHECK(wrong.max_error > 0.3);  // analytic is twice the truth: error 1/2 where |grad| >= 1
  CHECK(std::abs(wrong.analytic - 2 * wrong.numeric) < 1e-6 * std::max(1.0, std::abs(wrong.numeric)));
}

TEST_CASE("forward values match formulas written here", "[tape]") {
  TapeD t;
  const MatD x = random_matrix(4, 6, 50) * 2.0;
  const V xv = t.constant(x);
  // softmax over dim 0 by hand
  MatD sm(4, 6);
  for (Index j = 0; j < 6; ++j) {
    double z = 0;
    for (Index i = 0; i < 4; ++i) z += std::exp(x(i, j));
    for (Index i = 0; i < 4; ++i) sm(i, j) = std::exp(x(i, j)) / z;
  }
  CHECK((ad::softmax(xv, 0).value() - sm).cwiseAbs().maxCoeff() < 1e-14);
  CHECK((ad::log_softmax(xv, 0).value() - sm.array().log().matrix()).cwiseAbs().maxCoeff() < 1e-13);
  MatD smr(4, 6);
  for (Index i = 0; i < 4; ++i) {
    double z = 0;
    for (Index j = 0; j < 6; ++j) z += std::exp(x(i, j));
    for (Index j = 0; j < 6; ++j) smr(i, j) = std::exp(x(i, j)) / z;
  }
  CHECK((ad::softmax(xv, 1).value() - smr).cwiseAbs().maxCoeff() < 1e-14);
  // cross-entropy: -mean log p[label]
  const std::vector<int> labels = {0, 3, 1, 2, 2, 0};
  double ce = 0;
  for (Index j = 0; j < 6; ++j) ce -= std::log(sm(labels[std::size_t(j)], j));
  CHECK(ad::cross_entropy(xv, std::span<const int>(labels)).item() == Approx(ce / 6).epsilon(1e-13));
  // bce: -mean(y log s + (1 - y) log(1 - s))
  const MatD y = (random_matrix(4, 6, 51).array() > 0).cast<double>();
  double bce = 0;
  for (Index k = 0; k < x.size(); ++k) {
    const double s = 1 / (1 + std::exp(-x(k)));
    bce -= y(k) * std::log(s) + (1 - y(k)) * std::log(1 - s);
  }
  CHECK(ad::bce_with_logits(xv, t.constant(y)).item() == Approx(bce / 24).epsilon(1e-12));
  // stable at large logits: log(1 + e^-1000) = 0 exactly, not inf - inf
  const V big = t.constant(MatD::Constant(1, 2, 1000.0));
  CHECK(ad::bce_with_logits(big, t.constant(MatD::Ones(1, 2))).item() == 0.0);
  CHECK(ad::softplus(t.constant(MatD::Constant(1, 1, -1000.0))).item() == 0.0);
  CHECK(ad::softplus(t.constant(MatD::Constant(1, 1, 1000.0))).item() == 1000.0);
  CHECK(ad::mse(xv, t.constant(MatD::Zero(4, 6))).item() == Approx(x.squaredNorm() / 24).epsilon(1e-14));
  CHECK(ad::l1(xv, t.constant(MatD::Zero(4, 6))).item() == Approx(x.cwiseAbs().sum() / 24).epsilon(1e-14));
  CHECK(ad::mean(xv, 1).value().isApprox(x.rowwise().mean(), 1e-14));
  CHECK(ad::sum(xv, 0).value().isApprox(x.colwise().sum(), 1e-14));
  const MatD bias = random_matrix(4, 1, 52);
  CHECK((xv + t.constant(bias)).value().isApprox(x.colwise() + bias.col(0), 1e-15));
}

TEST_CASE("gradients of matmul and a bias equal their closed forms", "[tape]") {
  // L = sum(G .* (A B + b)) has dL/dA = G B^T, dL/dB = A^T G, dL/db = G 1.
  P a = param(3, 5, 60);
  P b = param(5, 4, 61);
  P bias = param(3, 1, 62);
  const MatD g = random_matrix(3, 4, 63);
  TapeD t;
  const V y = ad::matmul(t.param(a), t.param(b)) + t.param(bias);
  t.backward(ad::sum(y * t.constant(g)));
  CHECK(a.grad.isApprox(g * b.value.transpose(), 1e-14));
  CHECK(b.grad.isApprox(a.value.transpose() * g, 1e-14));
  CHECK(bias.grad.isApprox(g.rowwise().sum(), 1e-14));
  CHECK(y.grad().isApprox(g, 0));  // interior nodes keep their gradient

  // backward adds into parameter gradients, as in PyTorch: a second pass doubles them.
  t.backward(ad::sum(y * t.constant(g)));
  CHECK(a.grad.isApprox(2 * g * b.value.transpose(), 1e-14));
  // a seed gradient from a non-scalar output
  a.zero_grad();
  t.backward(y, g);
  CHECK(a.grad.isApprox(g * b.value.transpose(), 1e-14));
}

TEST_CASE("input() reads data in place, and constant() copies it", "[tape]") {
  TapeD t;
  MatD data = random_matrix(3, 2, 64);
  const V in = t.input(data);
  const V copy = t.constant(data);
  CHECK(&in.value() == &data);
  data(0, 0) += 1.0;
  CHECK(in.value()(0, 0) == copy.value()(0, 0) + 1.0);
  P w = param(2, 3, 65);
  t.backward(ad::sum(ad::matmul(t.param(w), in)));
  CHECK(in.grad().size() == 0);  // no gradient flows into data
  CHECK(w.grad.isApprox(MatD::Ones(2, 2) * data.transpose(), 1e-14));
}

TEST_CASE("bad input is rejected with a message and records nothing", "[tape][errors]") {
  TapeD t;
  const V a = t.constant(MatD::Ones(3, 4));
  const V b = t.constant(MatD::Ones(2, 4));
  const V at = ad::transpose(a);
  const Index before = t.size();
  CHECK_THROWS_WITH(ad::matmul(a, b), Catch::Contains("3 x 4 times 2 x 4"));
  CHECK_THROWS_WITH(ad::addmm(b, a, at), Catch::Contains("3 x 3 or 3 x 1, got 2 x 4"));
  CHECK_THROWS_AS(a + b, dendrite::dimension_error);
  CHECK_THROWS_WITH(a * b, Catch::Contains("do not broadcast"));
  CHECK_THROWS_WITH(ad::mse(a, b), Catch::Contains("3 x 4 and 2 x 4"));
  CHECK_THROWS_WITH(ad::slice_rows(a, 2, 2), Catch::Contains("outside a matrix of 3 rows"));
  CHECK_THROWS_WITH(ad::concat_cols({a, b}), Catch::Contains("expected 3 rows"));
  CHECK_THROWS_WITH(ad::sum(a, 2), Catch::Contains("dim must be 0"));
  const std::vector<int> bad = {0, 1, 5, 0};
  CHECK_THROWS_WITH(ad::cross_entropy(a, std::span<const int>(bad)), Catch::Contains("label 5"));
  CHECK_THROWS_WITH(t.backward(a), Catch::Contains("1 x 1 loss, got 3 x 4"));
  CHECK(t.size() == before);

  TapeD other;
  const V c = other.constant(MatD::Ones(3, 4));
  CHECK_THROWS_WITH(a + c, Catch::Contains("another tape"));
  t.clear();
  CHECK_THROWS_WITH(a.value(), Catch::Contains("before the tape was cleared"));
  CHECK_THROWS_WITH(V().value(), Catch::Contains("empty Var"));
}

TEST_CASE("a training loop of fixed shapes allocates nothing after its first iteration",
          "[tape][realtime]") {
  using F = float;
  using MatF = ad::Mat<F>;
  ad::Parameter<F> w1(random_matrix<F>(12, 8, 70)), b1(12, 1), w2(random_matrix<F>(3, 12, 71)),
      b2(3, 1);
  const MatF x = random_matrix<F>(8, 16, 72);
  const MatF y = random_matrix<F>(3, 16, 73);
  std::vector<int> labels(16);
  for (std::size_t j = 0; j < labels.size(); ++j) labels[j] = int(j % 3);
  ad::Tape<F> t;
  ad::Adam<F> adam({&w1, &b1, &w2, &b2}, {.lr = 1e-2});
  const auto iteration = [&] {
    t.clear();
    const ad::Var<F> h = ad::tanh(ad::matmul(t.param(w1), t.constant(x)) + t.param(b1));
    const ad::Var<F> h2 = ad::concat_rows({ad::slice_rows(h, 6, 6), ad::relu(ad::slice_rows(h, 0, 6))});
    const ad::Var<F> logits = ad::matmul(t.param(w2), h2) + t.param(b2);
    const ad::Var<F> loss = ad::cross_entropy(logits, std::span<const int>(labels)) +
                            ad::mse(ad::sigmoid(logits), t.constant(y)) +
                            0.1f * ad::mean(ad::softmax(logits, 1) * ad::log_softmax(logits, 0));
    t.backward(loss);
    adam.clip_grad_norm(1.0f);
    adam.step();
    adam.zero_grad();
    return loss.item();
  };
  const F first = iteration();
  F later = 0;
  const dendrite::test::AllocCounts counts = dendrite::test::allocations_during([&] {
    for (int i = 0; i < 20; ++i) later = iteration();
  });
  CHECK(counts.operator_new == 0);
  CHECK(counts.eigen == 0);
  CHECK(later < first);  // and it trains
  CHECK(t.capacity() == t.size());
}

TEST_CASE("optimisers: SGD with momentum follows PyTorch's recurrence, written here",
          "[optim]") {
  // f(p) = 0.5 * sum(c .* p^2), gradient c .* p.
  const MatD c = (MatD(2, 2) << 1.0, 2.0, 0.5, 3.0).finished();
  for (bool nesterov : {false, true}) {
    P p(MatD::Ones(2, 2));
    ad::SGD<double> sgd({&p}, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = nesterov});
    MatD ref = MatD::Ones(2, 2), buf;
    for (int k = 0; k < 5; ++k) {
      TapeD t;
      const V x = t.param(p);
      t.backward(0.5 * ad::sum(t.constant(c) * x * x));
      sgd.step();
      sgd.zero_grad();
      MatD g = (c.array() * ref.array()).matrix() + 0.01 * ref;
      buf = k == 0 ? g : MatD(0.9 * buf + g);
      ref -= 0.1 * (nesterov ? MatD(g + 0.9 * buf) : buf);
    }
    CHECK(p.value.isApprox(ref, 1e-14));
  }
}

TEST_CASE("optimisers: Adam's first step is lr sign(g), and AdamW decays decoupled",
          "[optim]") {
  P p(MatD((MatD(1, 3) << 1.0, -2.0, 0.5).finished()));
  P q(MatD((MatD(1, 3) << 1.0, -2.0, 0.5).finished()));
  ad::Adam<double> adam({&p}, {.lr = 0.01});
  ad::AdamW<double> adamw({&q}, {.lr = 0.01, .weight_decay = 0.1});
  p.grad << 3.0, -0.5, 1e-3;
  q.grad.setZero();  // no gradient: AdamW only decays, p <- p (1 - lr wd)
  adam.step();
  adamw.step();
  // m_hat = g, v_hat = g^2: step = lr g / (|g| + eps)
  for (Index k = 0; k < 3; ++k) {
    const double g = p.grad(k);
    const double start = k == 0 ? 1.0 : (k == 1 ? -2.0 : 0.5);
    CHECK(p.value(k) == Approx(start - 0.01 * g / (std::abs(g) + 1e-8)).epsilon(1e-14));
    CHECK(q.value(k) == Approx(start * (1 - 0.01 * 0.1)).epsilon(1e-14));
  }
}

TEST_CASE("optimisers: clipping by global norm and by value", "[optim]") {
  P a(MatD::Zero(1, 2)), b(MatD::Zero(2, 1));
  a.grad << 3.0, 0.0;
  b.grad << 0.0, 4.0;  // global norm 5
  const std::vector<P*> ps = {&a, &b};
  CHECK(ad::clip_grad_norm(ps, 10.0) == Approx(5.0));
  CHECK(a.grad(0) == 3.0);  // unchanged below the limit
  CHECK(ad::clip_grad_norm(ps, 1.0) == Approx(5.0));
  CHECK(std::hypot(a.grad(0), b.grad(1)) == Approx(1.0).epsilon(1e-6));
  CHECK(a.grad(0) / b.grad(1) == Approx(0.75));  // direction kept
  b.grad << -7.0, 0.5;
  ad::clip_grad_value(ps, 0.6);
  CHECK(b.grad(0) == -0.6);
  CHECK(b.grad(1) == 0.5);
}

TEST_CASE("optimisers fit a linear regression down to the least-squares loss", "[optim]") {
  // Y = A X + b + noise; the best possible MSE is that of the least-squares solution.
  const Index n = 200;
  const MatD x = random_matrix(3, n, 80);
  const MatD a_true = random_matrix(2, 3, 81);
  const MatD y = (a_true * x).colwise() + Eigen::Vector2d(0.5, -1.0) + 0.1 * random_matrix(2, n, 82);
  MatD xa(4, n);
  xa << x, MatD::Ones(1, n);
  const MatD w_star = (xa * xa.transpose()).ldlt().solve(xa * y.transpose()).transpose();
  const double best = (w_star * xa - y).squaredNorm() / double(y.size());
  REQUIRE(best > 0.005);  // noise variance 0.01 less the fitted degrees of freedom

  const auto train = [&](auto& opt, P& w, P& b, int steps) {
    double loss = 0;
    TapeD t;
    for (int k = 0; k < steps; ++k) {
      t.clear();
      const V l = ad::mse(ad::matmul(t.param(w), t.constant(x)) + t.param(b), t.constant(y));
      t.backward(l);
      opt.step();
      opt.zero_grad();
      loss = l.item();
    }
    return loss;
  };
  {
    P w(2, 3), b(2, 1);
    ad::Adam<double> adam({&w, &b}, {.lr = 0.05});
    const double loss = train(adam, w, b, 1500);
    CHECK(loss <= best * (1 + 1e-4));
    CHECK(loss >= best * (1 - 1e-12));  // nothing beats least squares
  }
  {
    P w(2, 3), b(2, 1);
    ad::SGD<double> sgd({&w, &b}, {.lr = 0.2, .momentum = 0.9});
    CHECK(train(sgd, w, b, 500) <= best * (1 + 1e-6));
    CHECK(w.value.isApprox(w_star.leftCols(3), 1e-4));
  }
}

TEST_CASE("forward and reverse mode agree on the derivative of abs, at its kink too",
          "[autodiff][tape]") {
  for (double x : {-1.5, 0.0, 0.75}) {
    ad::Tape<double> t;
    ad::Parameter<double> p(ad::Mat<double>::Constant(1, 1, x));
    t.backward(ad::sum(ad::abs(t.param(p))));
    const double forward = ad::abs(ad::Dual<double, 1>(x, 0)).v[0];
    const double sign = x < 0 ? -1.0 : (x > 0 ? 1.0 : 0.0);  // PyTorch's subgradient at 0
    CHECK(p.grad(0, 0) == sign);
    CHECK(forward == sign);
  }
}
