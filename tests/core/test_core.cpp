// SPDX-License-Identifier: MIT
// Errors, status, version, and the allocation counter the real-time tests rely on.
#include "support/alloc_counter.hpp"

#include <array>
#include <cmath>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <catch2/catch.hpp>

#include <dendrite/core.hpp>

TEST_CASE("DENDRITE_THROW throws the named type with the concatenated message", "[core][error]") {
  try {
    DENDRITE_THROW(dendrite::dimension_error, "expected ", 3, " rows, got ", 4);
    FAIL("no exception");
  } catch (const dendrite::dimension_error& e) {
    CHECK(std::string(e.what()) == "expected 3 rows, got 4");
  }
  CHECK_THROWS_AS([] { DENDRITE_THROW(dendrite::io_error, "x"); }(), dendrite::error);
  CHECK_THROWS_AS([] { DENDRITE_THROW(dendrite::numerical_error, "x"); }(), std::runtime_error);
  CHECK_THROWS_WITH([] { DENDRITE_THROW(dendrite::io_error, "file ", "a.npy", ": bad magic"); }(),
                    "file a.npy: bad magic");
}

TEST_CASE("Status names are stable", "[core][error]") {
  CHECK(dendrite::to_string(dendrite::Status::Ok) == "ok");
  CHECK(dendrite::to_string(dendrite::Status::RejectedNonFinite) == "rejected-non-finite");
  CHECK(dendrite::to_string(dendrite::Status::RejectedOutlier) == "rejected-outlier");
  CHECK(dendrite::to_string(dendrite::Status::Diverged) == "diverged");
}

TEST_CASE("the version macros agree with the CMake project version", "[core][version]") {
  CHECK(std::string(DENDRITE_VERSION_STRING) == DENDRITE_TEST_PROJECT_VERSION);
  CHECK(DENDRITE_VERSION ==
        DENDRITE_VERSION_MAJOR * 10000 + DENDRITE_VERSION_MINOR * 100 + DENDRITE_VERSION_PATCH);
}

namespace {

/// Makes `p` observable, so that the optimiser cannot elide the allocation behind it (clang
/// removes an unused new/delete pair, which C++14 allows).
inline void escape(const void* p) { asm volatile("" : : "g"(p) : "memory"); }

}  // namespace

TEST_CASE("the allocation counter sees operator new and Eigen's malloc", "[core][alloc]") {
  using dendrite::test::NoAllocScope;
  SECTION("operator new through a std::vector") {
    NoAllocScope scope;
    std::vector<int> v(100);
    v[3] = 1;
    escape(v.data());
    CHECK(scope.counts().operator_new == 1);
    CHECK(scope.counts().eigen == 0);
  }
  SECTION("aligned operator new") {
    struct alignas(64) Wide {
      float x[16];
    };
    NoAllocScope scope;
    auto p = std::make_unique<Wide>();
    p->x[0] = 1;
    escape(p.get());
    CHECK(scope.counts().operator_new == 1);
  }
  SECTION("Eigen's dynamic matrix, invisible to operator new") {
    NoAllocScope scope;
    Eigen::MatrixXd m(10, 10);
    m.setZero();
    CHECK(scope.counts().eigen == 1);
    CHECK(scope.counts().operator_new == 0);
  }
  SECTION("a product without noalias allocates a temporary, with noalias it does not") {
    const Eigen::MatrixXf w = Eigen::MatrixXf::Ones(64, 64);
    const Eigen::VectorXf x = Eigen::VectorXf::Ones(64);
    Eigen::VectorXf y(64);
    {
      NoAllocScope scope;
      y = w * x;
      CHECK(scope.counts().total() >= 1);
    }
    {
      NoAllocScope scope;
      y.noalias() = w * x;
      CHECK(scope.counts().total() == 0);
    }
    CHECK(y(0) == 64.0f);
  }
  SECTION("scopes nest and the outer one keeps counting") {
    NoAllocScope outer;
    {
      NoAllocScope inner;
      auto p = std::make_unique<int>(1);
      escape(p.get());
      CHECK(inner.counts().total() == 1);
    }
    auto q = std::make_unique<int>(2);
    escape(q.get());
    CHECK(outer.counts().total() == 2);
  }
  SECTION("allocations_during counts what its function allocates, and only that") {
    auto outside = std::make_unique<int>(0);
    const dendrite::test::AllocCounts c = dendrite::test::allocations_during([&] {
      std::vector<int> v(10);
      escape(v.data());
      Eigen::VectorXd e(7);
      e.setZero();
      *outside = int(e.size());
    });
    CHECK(c.operator_new == 1);
    CHECK(c.eigen == 1);
    CHECK(*outside == 7);
    CHECK(dendrite::test::allocations_during([] {}).total() == 0);
  }
  SECTION("fixed-size Eigen and scalar math allocate nothing") {
    NoAllocScope scope;
    Eigen::Matrix4f a = Eigen::Matrix4f::Identity();
    Eigen::Vector4f b = a * Eigen::Vector4f::Ones();
    const float t = dendrite::tanh(b(0)) + dendrite::sigmoid(b(1));
    CHECK(t > 0.0f);
    CHECK(scope.counts().total() == 0);
  }
}

namespace {
/// all_finite and flush_denormals on one sample of N scalars against plain per-value checks,
/// with one non-finite or denormal value at every position in turn (every SIMD chunk, and the
/// overlapping last chunk when N is not a multiple of the lanes).
template <class S, std::size_t N>
void check_sample_screening() {
  std::array<S, N> x;
  for (std::size_t i = 0; i < N; ++i) x[i] = S(0.25) * S(int(i) - 7);  // finite, some zero
  CHECK(dendrite::all_finite(std::span<const S, N>(x)));
  const S denormal = std::numeric_limits<S>::denorm_min() * S(3);
  for (const S bad : {std::numeric_limits<S>::quiet_NaN(), std::numeric_limits<S>::infinity(),
                      -std::numeric_limits<S>::infinity()}) {
    for (std::size_t k = 0; k < N; ++k) {
      std::array<S, N> y = x;
      y[k] = bad;
      CHECK_FALSE(dendrite::all_finite(std::span<const S, N>(y)));
    }
  }
  for (std::size_t k = 0; k < N; ++k) {
    std::array<S, N> y = x;
    y[k] = k % 2 == 0 ? denormal : -denormal;
    if (k + 1 < N) y[k + 1] = std::numeric_limits<S>::quiet_NaN();  // NaN passes the flush
    const std::array<S, N> f = dendrite::flush_denormals(std::span<const S, N>(y));
    for (std::size_t i = 0; i < N; ++i) {
      if (i == k) {
        CHECK(f[i] == S(0));
      } else if (std::isnan(y[i])) {
        CHECK(std::isnan(f[i]));
      } else {
        CHECK(f[i] == y[i]);
      }
    }
  }
}
}  // namespace

TEST_CASE("a sample's screening: all_finite and flush_denormals at odd sizes, every position",
          "[core][simd]") {
  check_sample_screening<float, 3>();
  check_sample_screening<float, 16>();
  check_sample_screening<float, 37>();
  check_sample_screening<double, 5>();
  check_sample_screening<double, 37>();
}
