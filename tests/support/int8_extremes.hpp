// SPDX-License-Identifier: MIT
// The int8 product's extreme input, for its tests (nn/test_recurrent.cpp and
// nn/int8_target_check.cpp): every product +-127^2. r_j = +-127 (x_j = +-2, so t = 2 / 127) and
// q_ij = +-127 (w_ij = +-(i + 1), so s_i = (i + 1) / 127), the signs agreeing on rows 0 mod 3,
// disagreeing on rows 2 mod 3 and alternating on rows 1 mod 3. VPMADDUBSW's int16 pair sums
// reach 2 127^2 = 32 258 there, the most they can; VPDPBUSD's unsigned input reaches 255.
#pragma once

#include <cstddef>
#include <vector>

namespace dendrite::test {

/// w (R x C, column-major) and x (C) as above.
inline void int8_extremes(std::size_t rows, std::size_t cols, std::vector<float>& w,
                          std::vector<float>& x) {
  w.assign(rows * cols, 0.0F);
  x.assign(cols, 0.0F);
  for (std::size_t j = 0; j < cols; ++j) {
    x[j] = j % 3 == 0 ? 2.0F : -2.0F;
    for (std::size_t i = 0; i < rows; ++i) {
      const bool agree = i % 3 == 0 || (i % 3 == 1 ? j % 2 == 0 : false);
      w[j * rows + i] = float(i + 1) * ((x[j] > 0) == agree ? 1.0F : -1.0F);
    }
  }
}

}  // namespace dendrite::test
