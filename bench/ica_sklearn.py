#!/usr/bin/python3
"""NumPy FOBI and scikit-learn FastICA baselines for bench/ica.cpp, on the same kind of data
(d Laplace/uniform/binary sources, 100 000 samples), one thread:
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/ica_sklearn.py
"""
import warnings

import numpy as np
from pyutil import best_of
from sklearn.decomposition import FastICA


def mixtures(d, n, rng):
    s = np.empty((d, n))
    for i in range(d):
        u = rng.uniform(-1, 1, n)
        if i % 3 == 0:
            s[i] = np.sign(u) * rng.exponential(1.0, n) * (1.0 + 0.1 * i)
        elif i % 3 == 1:
            s[i] = u
        else:
            s[i] = np.sign(u)
    return rng.uniform(-1, 1, (d, d)) @ s


def fobi(x):  # x: d x n, as in the paper
    xc = x - x.mean(axis=1, keepdims=True)
    c = xc @ xc.T / x.shape[1]
    e, v = np.linalg.eigh(c)
    h = (v / np.sqrt(e)) @ v.T @ xc
    z = h * np.linalg.norm(h, axis=0)
    k = z @ z.T / x.shape[1]
    return np.linalg.eigh(k)


rng = np.random.default_rng(1)
warnings.simplefilter("ignore")
for d in (2, 4, 8, 16):
    x = mixtures(d, 100_000, rng)
    t_fobi = best_of(lambda: fobi(x), 5)
    ica = FastICA(whiten="unit-variance", tol=1e-4, max_iter=200, random_state=0)
    t_ica = best_of(lambda: ica.fit(x.T), 3)
    print(f"d={d}: numpy FOBI {t_fobi * 1e3:.1f} ms, sklearn FastICA {t_ica * 1e3:.1f} ms ({ica.n_iter_} iterations)")
