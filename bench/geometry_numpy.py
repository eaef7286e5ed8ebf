#!/usr/bin/python3
"""NumPy and scikit-learn baselines for bench/geometry.cpp: PCA of the same shapes, and
scikit-learn's IncrementalPCA (partial_fit on blocks of 256 samples) beside StreamingPCA's step.

Run with Debian's python3-numpy and python3-sklearn, one thread:
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/geometry_numpy.py
"""

import numpy as np
from pyutil import best_of
from sklearn.decomposition import PCA, IncrementalPCA


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


for features, k in [(16, 4), (64, 4), (256, 8)]:
    block, blocks = 256, 100
    x = rng.standard_normal((block * blocks, features)).astype(np.float32)

    def stream():
        ipca = IncrementalPCA(n_components=k)
        for i in range(blocks):
            ipca.partial_fit(x[i * block:(i + 1) * block])

    t = best_of(stream, 3)
    print(f"IncrementalPCA, {features} features, {k} components, partial_fit on blocks of {block}: "
          f"{t / (block * blocks) * 1e9:.0f} ns per sample")
