// SPDX-License-Identifier: MIT
/// @file
/// Error reporting: the `dendrite::error` exception family for setup, analysis, training and I/O,
/// the `DENDRITE_THROW` macro (aborts with the message under `-fno-exceptions`), and the
/// `Status` that real-time functions return instead of throwing.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace dendrite {

/// Base of every exception dendrite throws. The message says what was expected and what was given.
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A shape or size does not match what the function needs.
class dimension_error : public error {
 public:
  using error::error;
};

/// A file could not be read or written, or its content is malformed.
class io_error : public error {
 public:
  using error::error;
};

/// The data make the computation ill-posed: non-finite values, rank deficiency, no convergence.
class numerical_error : public error {
 public:
  using error::error;
};

/// Outcome of a real-time call. Real-time functions never throw; they return this instead.
/// A rejected sample leaves the object's state exactly as it was.
enum class [[nodiscard]] Status : std::uint8_t{
    Ok = 0,             ///< the sample was processed
    RejectedNonFinite,  ///< the input held NaN or Inf: ignored, state untouched
    RejectedOutlier,    ///< the input was finite but outside the accepted range: ignored
    Diverged,           ///< the state became non-finite or exploded and was restored
};

/// A short, stable name for a status ("ok", "rejected-non-finite", ...).
[[nodiscard]] constexpr std::string_view to_string(Status s) noexcept {
  switch (s) {
    case Status::Ok:
      return "ok";
    case Status::RejectedNonFinite:
      return "rejected-non-finite";
    case Status::RejectedOutlier:
      return "rejected-outlier";
    case Status::Diverged:
      return "diverged";
  }
  return "unknown";
}

namespace detail {

/// Concatenates the streamable arguments into one message.
template <class... Args>
[[nodiscard]] std::string concat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

[[noreturn]] inline void abort_with(const char* kind, const std::string& message) noexcept {
  std::fprintf(stderr, "dendrite: %s: %s\n", kind, message.c_str());
  std::abort();
}

}  // namespace detail
}  // namespace dendrite

/// Throws `ExceptionType(message)`, where the message is the concatenation of the remaining
/// arguments. With exceptions disabled it prints the message to stderr and aborts.
#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
#define DENDRITE_THROW(ExceptionType, ...) \
  throw ExceptionType(::dendrite::detail::concat(__VA_ARGS__))
#else
#define DENDRITE_THROW(ExceptionType, ...) \
  ::dendrite::detail::abort_with(#ExceptionType, ::dendrite::detail::concat(__VA_ARGS__))
#endif
