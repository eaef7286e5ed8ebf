#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Reference values for the FastICA test against scikit-learn in tests/ica/test_ica.cpp.

Builds the test's mixtures from a 32-bit linear congruential generator and rational operations
only (the C++ test builds the same numbers), runs scikit-learn's FastICA on each with the test's
w_init, and prints the iteration counts and `components_` as C++ literals to paste into the test.
The values in the test came from Debian 12's python3-sklearn 1.2.1:

    python3 tests/ica/sklearn_reference.py
"""
import warnings

import numpy as np
from sklearn.decomposition import FastICA


def lcg_uniform(seed, n):
    """n draws in [-1, 1): x <- (1664525 x + 1013904223) mod 2^32, u = 2 x / 2^32 - 1."""
    out = np.empty(n)
    x = seed
    for k in range(n):
        x = (1664525 * x + 1013904223) % 2**32
        out[k] = 2.0 * (x / 2.0**32) - 1.0
    return out


def sources(d, n):
    """Source i from its own stream (seed 1000 + i): uniform, cubed uniform, product or sum of
    two uniforms, by i mod 4."""
    s = np.empty((d, n))
    for i in range(d):
        u = lcg_uniform(1000 + i, 2 * n)
        a, b = u[0::2], u[1::2]
        kind = i % 4
        s[i] = a if kind == 0 else a * a * a if kind == 1 else a * b if kind == 2 else a + b
    return s


def case(d, n, fun, alpha):
    s = sources(d, n)
    a = lcg_uniform(7, d * d).reshape(d, d) + 2.0 * np.eye(d)
    x = np.zeros((d, n))
    for i in range(d):
        for j in range(d):
            x[i] = x[i] + a[i, j] * s[j]
    w0 = lcg_uniform(11, d * d).reshape(d, d)
    est = FastICA(n_components=d, whiten="unit-variance", w_init=w0, fun=fun,
                  fun_args={"alpha": alpha} if fun == "logcosh" else None, tol=1e-4,
                  max_iter=200, whiten_solver="svd")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(x.T)
    return est.n_iter_, est.components_


def main():
    for d, n, fun, alpha in [(3, 5001, "logcosh", 1.0), (5, 2999, "exp", 1.0),
                             (7, 4001, "cube", 1.0), (4, 3001, "logcosh", 1.5)]:
        it, c = case(d, n, fun, alpha)
        print(f"// d {d}, n {n}, {fun}, alpha {alpha}: {it} iterations")
        print("{" + ",\n ".join(", ".join(repr(float(v)) for v in row) for row in c) + "}")


if __name__ == "__main__":
    main()
