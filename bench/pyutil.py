"""Shared timing helper of the Python baseline scripts in bench/."""
import time


def best_of(fn, repeats):
    """Smallest wall time of `repeats` calls of fn(), in seconds."""
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best
