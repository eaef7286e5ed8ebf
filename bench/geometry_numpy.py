#!/usr/bin/python3
"""NumPy and scikit-learn baselines for bench/geometry.cpp: PCA of the same shapes.

Run with Debian's python3-numpy and python3-sklearn, one thread:
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/geometry_numpy.py
"""

import numpy as np
from pyutil import best_of
from sklearn.decomposition import PCA


def numpy_pca(x):  # x: samples x features, as numpy users hold it
    xc = x - x.mean(axis=0)
    cov = xc.T @ xc / (x.shape[0] - 1)
    return np.linalg.eigh(cov)


rng = np.random.default_rng(1)
for features, samples in [(100, 100_000), (1000, 10_000)]:
    x = rng.standard_normal((samples, features)) @ rng.standard_normal((features, features))
    t_np = best_of(lambda: numpy_pca(x), 5)
    t_sk = best_of(lambda: PCA().fit(x), 3)
    print(f"{samples} x {features}: numpy cov+eigh {t_np * 1e3:.1f} ms, sklearn PCA() {t_sk * 1e3:.1f} ms")
