// SPDX-License-Identifier: MIT
/// @file
/// Compile-time composition of blocks:
///   Sequential<L1, L2, ...>   y = Ln(... L2(L1(x)))
///   Residual<Block>           y = x + Block(x)
///   Parallel<B1, B2, ...>     y = [B1(x); B2(x); ...], stacked along features (for maps: along
///                             channels, the slowest index of a map's column)
/// Each offers the forms its parts offer: forward over matrices or Maps, the tape form
/// (forward(tape, x, extra...) passes `extra`, e.g. the batch size, to the blocks that take
/// it), and step() when every part has one; named_parameters() with PyTorch's names ("0.",
/// "1.", ... for nn.Sequential's children, "block." for the residual branch), so that
/// io::load_pytorch reads a whole model's state_dict.
///
/// Sizes are checked at compile time: a block whose input size differs from the previous
/// block's output size does not compile, and the error names both sizes as the arguments of
/// `layer_sizes_must_match<previous output, next input>`. Blocks of size `any_size`
/// (activations, pooling) take the size before them.
///
/// Sequential::step passes a rejected lane on as NaN, so every later block rejects it too and
/// leaves its state untouched; y keeps its old value in that lane.
#pragma once

#include <array>
#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <dendrite/autodiff/ops.hpp>
#include <dendrite/config.hpp>
#include <dendrite/core/error.hpp>
#include <dendrite/core/simd.hpp>
#include <dendrite/core/traits.hpp>
#include <dendrite/nn/detail/module.hpp>
#include <dendrite/nn/layers.hpp>
#include <dendrite/nn/maps.hpp>
#include <dendrite/rt/contract.hpp>

namespace dendrite::nn {

namespace detail {

/// Instantiated for every join of two blocks; fails, naming both sizes, when they differ.
template <int PreviousOutput, int NextInput>
struct layer_sizes_must_match {
  static_assert(PreviousOutput == any_size || NextInput == any_size || PreviousOutput == NextInput,
                "dendrite::nn: a block's input size differs from the previous block's output "
                "size (the two sizes are the arguments of layer_sizes_must_match<previous "
                "output, next input>)");
  static constexpr bool value = true;
};

/// Sizes along a chain: sizes[0] the input, sizes[i + 1] after block i.
template <class... Ls>
constexpr std::array<int, sizeof...(Ls) + 1> chain_sizes() {
  std::array<int, sizeof...(Ls) + 1> s{};
  constexpr std::array<int, sizeof...(Ls)> in{Ls::input_size...};
  constexpr std::array<int, sizeof...(Ls)> out{Ls::output_size...};
  s[0] = in[0];
  for (std::size_t i = 0; i < sizeof...(Ls); ++i) {
    const int prev = s[i];
    s[i + 1] = out[i] == any_size ? (prev == any_size ? in[i] : prev) : out[i];
  }
  return s;
}

template <std::size_t I, class... Ls>
constexpr bool check_joins() {
  if constexpr (I + 1 < sizeof...(Ls)) {
    constexpr auto s = chain_sizes<Ls...>();
    using Next = std::tuple_element_t<I + 1, std::tuple<Ls...>>;
    static_assert(layer_sizes_must_match<s[I + 1], Next::input_size>::value);
    return check_joins<I + 1, Ls...>();
  } else {
    return true;
  }
}


/// Calls the tape form with the extra arguments if the block takes them, else without.
template <class L, class Tp, class V, class... Extra>
auto forward_tape(L& layer, Tp& tape, const V& v, const Extra&... extra) {
  if constexpr (requires { layer.forward(tape, v, extra...); }) {
    return layer.forward(tape, v, extra...);
  } else {
    return layer.forward(tape, v);
  }
}

/// Whether every block of a chain with these sizes has a step for lane type T.
template <class T, auto Sizes, class... Ls, std::size_t... I>
constexpr bool all_steppable(std::index_sequence<I...>) {
  return (rt::StepsWith<Ls, T, std::size_t(Sizes[I]), std::size_t(Sizes[I + 1])> && ...);
}

/// The FLOPs of one step of block L at input width `width`: its own count, or, for a block of
/// any width, its count at that width.
template <class L>
constexpr std::size_t flops_at(std::size_t width) noexcept {
  if constexpr (rt::Costed<L>) {
    return L::flops_per_step();
  } else {
    return L::flops_per_step(width);
  }
}

template <class T>
T nan_value() noexcept {
  return T(std::numeric_limits<scalar_t<T>>::quiet_NaN());
}

/// Elementwise sum of two blocks' outputs of the same kind.
template <class S>
autodiff::Mat<S> add(const autodiff::Mat<S>& a, const autodiff::Mat<S>& b) {
  return a + b;
}
template <class S>
Maps<S> add(const Maps<S>& a, const Maps<S>& b) {
  return {a.data + b.data, a.shape};
}
template <class S>
autodiff::Var<S> add(const autodiff::Var<S>& a, const autodiff::Var<S>& b) {
  return a + b;
}
template <class S>
MapsVar<S> add(const MapsVar<S>& a, const MapsVar<S>& b) {
  return {a.var + b.var, a.shape};
}

}  // namespace detail

template <class... Layers>
class Sequential {
  static_assert(sizeof...(Layers) > 0, "Sequential: expected at least one block");
  static_assert((rt::Block<Layers> && ...),
                "Sequential: every part must be a dendrite block (rt::Block in rt/contract.hpp: "
                "value_type, input_size, output_size, reset(), latency_samples())");
  using First = std::tuple_element_t<0, std::tuple<Layers...>>;
  static constexpr auto kSizes = detail::chain_sizes<Layers...>();
  static_assert(detail::check_joins<0, Layers...>());

 public:
  using value_type = typename First::value_type;
  using Scalar = typename First::Scalar;
  using Param = autodiff::Parameter<Scalar>;
  static constexpr std::size_t depth = sizeof...(Layers);
  static constexpr int input_size = kSizes[0];
  static constexpr int output_size = kSizes[depth];

  std::tuple<Layers...> layers;

  Sequential() = default;
  explicit Sequential(Layers... ls) : layers(std::move(ls)...) {}

  template <std::size_t I>
  auto& get() noexcept { return std::get<I>(layers); }
  template <std::size_t I>
  const auto& get() const noexcept { return std::get<I>(layers); }

  /// The parameters named as nn.Sequential's state_dict: "<index>.<name>".
  [[nodiscard]] detail::NamedParameters<Scalar> named_parameters() {
    return detail::indexed_named_parameters<Scalar>(layers);
  }
  [[nodiscard]] std::vector<Param*> parameters() {
    return detail::parameters_of(named_parameters());
  }

  /// The analysis form: each block's forward on the previous one's output.
  template <class X>
  [[nodiscard]] auto forward(const X& x) {
    return run<0>(x);
  }

  /// The tape form; `extra` (e.g. the batch size) goes to the blocks that take it.
  template <class V, class... Extra>
  auto forward(autodiff::Tape<Scalar>& t, const V& x, const Extra&... extra) {
    return run_tape<0>(t, x, extra...);
  }

  /// Resets every block (clears running state, keeps weights). Real-time safe.
  DENDRITE_REALTIME void reset() noexcept {
    each([](auto& layer, std::size_t) { layer.reset(); });
  }
  /// The blocks' latencies added up.
  [[nodiscard]] std::size_t latency_samples() const noexcept {
    return std::apply([](const auto&... l) { return (l.latency_samples() + ...); }, layers);
  }
  /// The blocks' FLOPs per step added up, each at the width the chain gives it.
  static constexpr std::size_t flops_per_step() noexcept {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return (detail::flops_at<Layers>(std::size_t(kSizes[I])) + ...);
    }(std::make_index_sequence<depth>{});
  }
  /// The blocks' bytes per step added up.
  static constexpr std::size_t bytes_per_step() noexcept {
    return (Layers::bytes_per_step() + ...);
  }

  /// The real-time form, when every block has one (see the file comment). Real-time safe.
  template <Real T>
  DENDRITE_REALTIME Status step(std::span<const T, std::size_t(input_size)> x,
                                std::span<T, std::size_t(output_size)> y) noexcept
    requires(input_size > 0 &&
             detail::all_steppable<T, kSizes, Layers...>(std::make_index_sequence<depth>{}))
  {
    const mask_t<T> finite = all_finite(x);
    if constexpr (!is_batch_v<T>) {
      if (!finite) return Status::RejectedNonFinite;
    }
    auto buffers = make_buffers<T>(std::make_index_sequence<depth>{});
    Status status = Status::Ok;
    step_from<0>(x, buffers, finite, status);
    const auto& out = std::get<depth - 1>(buffers);
    for (std::size_t i = 0; i < out.size(); ++i) y[i] = dendrite::select<T>(finite, out[i], y[i]);
    return all_of(finite) ? status : Status::RejectedNonFinite;
  }

 private:
  template <class F>
  void each(F f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (f(std::get<I>(layers), I), ...);
    }(std::make_index_sequence<depth>{});
  }

  template <std::size_t I, class X>
  auto run(const X& x) {
    if constexpr (I == depth) {
      return x;
    } else {
      return run<I + 1>(std::get<I>(layers).forward(x));
    }
  }

  template <std::size_t I, class V, class... Extra>
  auto run_tape(autodiff::Tape<Scalar>& t, const V& v, const Extra&... extra) {
    if constexpr (I == depth) {
      return v;
    } else {
      return run_tape<I + 1>(t, detail::forward_tape(std::get<I>(layers), t, v, extra...),
                             extra...);
    }
  }

  template <class T, std::size_t... I>
  static auto make_buffers(std::index_sequence<I...>) {
    return std::tuple<std::array<T, std::size_t(kSizes[I + 1])>...>{};
  }

  template <std::size_t I, class T, class Buffers>
  DENDRITE_FORCE_INLINE void step_from(std::span<const T, std::size_t(kSizes[I])> in,
                                       Buffers& buffers, const mask_t<T>& finite,
                                       Status& status) noexcept {
    auto& out = std::get<I>(buffers);
    const Status s = std::get<I>(layers).step(in, std::span<T, std::size_t(kSizes[I + 1])>(out));
    if (s != Status::Ok && status == Status::Ok) status = s;
    if constexpr (is_batch_v<T>) {
      for (auto& v : out) v = dendrite::select<T>(finite, v, detail::nan_value<T>());
    }
    if constexpr (I + 1 < depth) {
      step_from<I + 1, T>(std::span<const T, std::size_t(kSizes[I + 1])>(out), buffers, finite,
                          status);
    }
  }
};

template <class Block>
class Residual {
  static_assert(rt::Block<Block>, "Residual: the part must be a dendrite block (rt::Block)");
  static_assert(Block::input_size == Block::output_size || Block::output_size == any_size,
                "Residual: the block must keep the size of its input");

 public:
  using value_type = typename Block::value_type;
  using Scalar = typename Block::Scalar;
  using Param = autodiff::Parameter<Scalar>;
  static constexpr int input_size = Block::input_size;
  static constexpr int output_size = Block::input_size;

  Block block;

  Residual() = default;
  explicit Residual(Block b) : block(std::move(b)) {}

  [[nodiscard]] detail::NamedParameters<Scalar> named_parameters() {
    detail::NamedParameters<Scalar> out;
    detail::append_named_parameters(out, "block.", block);
    return out;
  }
  [[nodiscard]] std::vector<Param*> parameters() {
    return detail::parameters_of(named_parameters());
  }

  template <class X>
  [[nodiscard]] auto forward(const X& x) {
    const auto f = block.forward(x);
    check(f, x);
    return detail::add(x_as(x), f);
  }
  template <class V, class... Extra>
  auto forward(autodiff::Tape<Scalar>& t, const V& x, const Extra&... extra) {
    const auto f = detail::forward_tape(block, t, x, extra...);
    check(f, x);
    return detail::add(x, f);
  }

  /// Resets the block. Real-time safe.
  DENDRITE_REALTIME void reset() noexcept { block.reset(); }
  /// The block's latency (the skip path adds none).
  [[nodiscard]] std::size_t latency_samples() const noexcept { return block.latency_samples(); }
  /// The block's FLOPs and the skip sum's (one add per value, all lanes).
  static constexpr std::size_t flops_per_step() noexcept
    requires(input_size > 0)
  {
    return detail::flops_at<Block>(std::size_t(input_size)) +
           lanes_v<value_type> * std::size_t(input_size);
  }
  /// The block's bytes.
  static constexpr std::size_t bytes_per_step() noexcept { return Block::bytes_per_step(); }

  /// One sample in, one out. Real-time safe.
  template <Real T, std::size_t N>
  DENDRITE_REALTIME Status step(std::span<const T, N> x, std::span<T, N> y) noexcept
    requires rt::StepsWith<Block, T, N, N>
  {
    std::array<T, N> f;
    for (std::size_t i = 0; i < N; ++i) f[i] = y[i];
    const Status s = block.step(x, std::span<T, N>(f));
    const mask_t<T> finite = all_finite(x);
    for (std::size_t i = 0; i < N; ++i) y[i] = dendrite::select<T>(finite, x[i] + f[i], y[i]);
    return s;
  }
  /// One sample in, one out. Real-time safe.
  template <Real T, std::size_t N>
  DENDRITE_REALTIME Status step(const std::array<T, N>& x, std::array<T, N>& y) noexcept
    requires rt::StepsWith<Block, T, N, N>
  {
    return step(std::span<const T, N>(x), std::span<T, N>(y));
  }

 private:
  template <class X>
  static auto x_as(const X& x) {
    if constexpr (requires { x.shape; }) {
      return x;
    } else {
      return autodiff::Mat<Scalar>(x);
    }
  }
  template <class F, class X>
  static void check(const F& f, const X& x) {
    if constexpr (requires { f.shape; }) {
      if (!(f.shape == x.shape)) {
        DENDRITE_THROW(dimension_error, "Residual: the block changed the maps from ",
                       x.shape.channels, " x ", x.shape.height, " x ", x.shape.width, " to ",
                       f.shape.channels, " x ", f.shape.height, " x ", f.shape.width);
      }
    } else if (f.rows() != x.rows() || f.cols() != x.cols()) {
      DENDRITE_THROW(dimension_error, "Residual: the block changed the shape from ", x.rows(),
                     " x ", x.cols(), " to ", f.rows(), " x ", f.cols());
    }
  }
};

template <class... Blocks>
class Parallel {
  static_assert(sizeof...(Blocks) > 0, "Parallel: expected at least one block");
  static_assert((rt::Block<Blocks> && ...),
                "Parallel: every branch must be a dendrite block (rt::Block in rt/contract.hpp)");
  using First = std::tuple_element_t<0, std::tuple<Blocks...>>;
  static_assert(((Blocks::output_size > 0) && ...),
                "Parallel: every branch needs a fixed output size");
  static_assert((detail::layer_sizes_must_match<First::input_size, Blocks::input_size>::value &&
                 ...));
  static constexpr std::array<int, sizeof...(Blocks)> kOut{Blocks::output_size...};

 public:
  using value_type = typename First::value_type;
  using Scalar = typename First::Scalar;
  using Param = autodiff::Parameter<Scalar>;
  static constexpr std::size_t width = sizeof...(Blocks);
  static constexpr int input_size = First::input_size;
  static constexpr int output_size = (Blocks::output_size + ...);

  std::tuple<Blocks...> blocks;

  Parallel() = default;
  explicit Parallel(Blocks... bs) : blocks(std::move(bs)...) {}

  [[nodiscard]] detail::NamedParameters<Scalar> named_parameters() {
    return detail::indexed_named_parameters<Scalar>(blocks);
  }
  [[nodiscard]] std::vector<Param*> parameters() {
    return detail::parameters_of(named_parameters());
  }

  /// Matrices (features x samples) or Maps (stacked along channels; the branches must agree on
  /// the map size).
  template <class X>
  [[nodiscard]] auto forward(const X& x) {
    auto outs = [&]<std::size_t... I>(std::index_sequence<I...>) {
      return std::make_tuple(std::get<I>(blocks).forward(x)...);
    }(std::make_index_sequence<width>{});
    return std::apply([](const auto&... o) { return stack(o...); }, outs);
  }

  template <class V, class... Extra>
  auto forward(autodiff::Tape<Scalar>& t, const V& x, const Extra&... extra) {
    auto outs = [&]<std::size_t... I>(std::index_sequence<I...>) {
      return std::make_tuple(detail::forward_tape(std::get<I>(blocks), t, x, extra...)...);
    }(std::make_index_sequence<width>{});
    return std::apply([](const auto&... o) { return stack(o...); }, outs);
  }

  /// Resets every branch. Real-time safe.
  DENDRITE_REALTIME void reset() noexcept {
    each([](auto& b, std::size_t) { b.reset(); });
  }
  /// The largest of the branches' latencies.
  [[nodiscard]] std::size_t latency_samples() const noexcept {
    return std::apply([](const auto&... b) { return std::max({b.latency_samples()...}); }, blocks);
  }
  /// The branches' FLOPs per step added up (each sees the whole input).
  static constexpr std::size_t flops_per_step() noexcept
    requires(input_size > 0)
  {
    return (detail::flops_at<Blocks>(std::size_t(input_size)) + ...);
  }
  /// The branches' bytes per step added up.
  static constexpr std::size_t bytes_per_step() noexcept {
    return (Blocks::bytes_per_step() + ...);
  }

  /// One sample in, one out. Real-time safe.
  template <Real T>
  DENDRITE_REALTIME Status step(std::span<const T, std::size_t(input_size)> x,
                                std::span<T, std::size_t(output_size)> y) noexcept
    requires(input_size > 0 &&
             (rt::StepsWith<Blocks, T, std::size_t(input_size),
                                std::size_t(Blocks::output_size)> && ...))
  {
    Status status = Status::Ok;
    std::size_t offset = 0;
    each([&](auto& b, std::size_t i) {
      constexpr std::size_t n = std::size_t(std::remove_reference_t<decltype(b)>::output_size);
      const Status s = b.step(x, std::span<T, n>(y.data() + offset, n));
      if (s != Status::Ok && status == Status::Ok) status = s;
      offset += std::size_t(kOut[i]);
    });
    return status;
  }

 private:
  template <class F>
  void each(F f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (f(std::get<I>(blocks), I), ...);
    }(std::make_index_sequence<width>{});
  }

  template <class... M>
  static autodiff::Mat<Scalar> stack(const autodiff::Mat<Scalar>& a, const M&... rest) {
    const auto same_cols = [&](const autodiff::Mat<Scalar>& m) {
      if (m.cols() != a.cols()) {
        DENDRITE_THROW(dimension_error, "Parallel: the branches gave ", a.cols(), " and ",
                       m.cols(), " columns");
      }
    };
    (same_cols(rest), ...);
    autodiff::Mat<Scalar> y(a.rows() + (Index(0) + ... + rest.rows()), a.cols());
    Index r = 0;
    const auto put = [&](const autodiff::Mat<Scalar>& m) {
      y.middleRows(r, m.rows()) = m;
      r += m.rows();
    };
    put(a);
    (put(rest), ...);
    return y;
  }
  template <class... M>
  static Maps<Scalar> stack(const Maps<Scalar>& a, const M&... rest) {
    (check_extent(a.shape, rest.shape), ...);
    return {stack(a.data, rest.data...),
            {a.shape.channels + (Index(0) + ... + rest.shape.channels), a.shape.height,
             a.shape.width}};
  }
  template <class... M>
  static autodiff::Var<Scalar> stack(const autodiff::Var<Scalar>& a, const M&... rest) {
    if constexpr (sizeof...(M) == 0) {
      return a;
    } else {
      return autodiff::concat_rows({a, rest...});
    }
  }
  template <class... M>
  static MapsVar<Scalar> stack(const MapsVar<Scalar>& a, const M&... rest) {
    (check_extent(a.shape, rest.shape), ...);
    return {stack(a.var, rest.var...),
            {a.shape.channels + (Index(0) + ... + rest.shape.channels), a.shape.height,
             a.shape.width}};
  }
  static void check_extent(const MapShape& a, const MapShape& b) {
    if (a.height != b.height || a.width != b.width) {
      DENDRITE_THROW(dimension_error, "Parallel: the branches gave maps of ", a.height, " x ",
                     a.width, " and ", b.height, " x ", b.width);
    }
  }
};

}  // namespace dendrite::nn
