// SPDX-License-Identifier: MIT
/// @file
/// Gradient checking: compares the tape's gradient of a scalar loss with respect to every element
/// of every parameter against the central difference
///     (L(p + h e_k) - L(p - h e_k)) / (2 h),
/// in double precision. The error of one element is |analytic - numeric| / max(1, |analytic|,
/// |numeric|): relative for gradients above 1, absolute below (where the difference quotient's
/// own rounding error, about eps |L| / h, would dominate a relative measure).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include <dendrite/autodiff/tape.hpp>

namespace dendrite::autodiff {

struct GradcheckResult {
  double max_error = 0;          ///< worst error over all checked elements
  std::size_t parameter = 0;     ///< which parameter it was in (index into the list)
  Index element = 0;             ///< which element (column-major) of that parameter
  double analytic = 0;           ///< the tape's gradient there
  double numeric = 0;            ///< the central difference there
  std::size_t checked = 0;       ///< number of elements compared
};

/// `loss(tape)` records a 1 x 1 loss on the (cleared) tape from the parameters; it is called
/// 1 + 2 * (number of elements) times. Parameter values are restored afterwards and their
/// gradients left as they were.
template <class F>
GradcheckResult gradcheck(F&& loss, const std::vector<Parameter<double>*>& params,
                          double h = 1e-6) {
  Tape<double> tape;
  std::vector<Mat<double>> saved_grads;
  saved_grads.reserve(params.size());
  for (Parameter<double>* p : params) {
    saved_grads.push_back(p->grad);
    p->grad.setZero(p->rows(), p->cols());
  }
  tape.backward(loss(tape));
  std::vector<Mat<double>> analytic;
  analytic.reserve(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    analytic.push_back(params[i]->grad);
    params[i]->grad = saved_grads[i];
  }

  const auto evaluate = [&] {
    tape.clear();
    return loss(tape).item();
  };
  GradcheckResult result;
  for (std::size_t i = 0; i < params.size(); ++i) {
    Mat<double>& v = params[i]->value;
    for (Index k = 0; k < v.size(); ++k) {
      const double x = v(k);
      v(k) = x + h;
      const double up = evaluate();
      v(k) = x - h;
      const double down = evaluate();
      v(k) = x;
      const double numeric = (up - down) / (2 * h);
      const double a = analytic[i](k);
      const double err =
          std::abs(a - numeric) / std::max({1.0, std::abs(a), std::abs(numeric)});
      ++result.checked;
      if (!(err <= result.max_error)) {  // NaN counts as the worst
        result = {err, i, k, a, numeric, result.checked};
      }
    }
  }
  return result;
}

}  // namespace dendrite::autodiff
