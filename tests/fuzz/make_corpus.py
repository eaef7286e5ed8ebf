#!/usr/bin/python3
"""Writes the seed corpus of the NPY fuzz target (tests/fuzz/corpus/, committed): valid files
from numpy in every supported form, and broken ones, one per kind of error.
    /usr/bin/python3 tests/fuzz/make_corpus.py
"""
import io
import pathlib

import numpy as np

out = pathlib.Path(__file__).parent / "corpus"
out.mkdir(exist_ok=True)


def npy(a, version=None, fortran=False):
    b = io.BytesIO()
    if fortran:
        a = np.asfortranarray(a)
    np.lib.format.write_array(b, a, version=version)
    return b.getvalue()


def header(d):
    d = d.encode()
    pad = 64 - (10 + len(d) + 1) % 64
    d = d + b" " * (pad % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(d).to_bytes(2, "little") + d


w = np.arange(6, dtype=np.float32).reshape(3, 2) / 10
seeds = {
    "valid_f4_3x2": npy(w),
    "valid_f8_3x2_fortran": npy(w.astype(np.float64), fortran=True),
    "valid_f8_v2": npy(w.astype(np.float64), version=(2, 0)),
    "valid_f8_v3": npy(w.astype(np.float64), version=(3, 0)),
    "valid_i4_1d": npy(np.arange(5, dtype=np.int32)),
    "valid_i8_0d": npy(np.array(7, dtype=np.int64)),
    "valid_f4_3d": npy(np.ones((2, 3, 4), dtype=np.float32)),
    "valid_f4_3d_fortran": npy(np.ones((2, 3, 4), dtype=np.float32), fortran=True),
    "valid_empty": npy(np.zeros((0, 3))),
}
good = seeds["valid_f4_3x2"]
seeds.update({
    "bad_magic": b"PK\x03\x04" + good[4:],
    "bad_version": good[:6] + b"\x04\x00" + good[8:],
    "bad_dtype_c16": npy(np.ones(2, dtype=np.complex128)),
    "bad_bigendian": npy(np.ones(2, dtype=">f8")),
    "bad_truncated_header": good[:30],
    "bad_truncated_data": good[:-5],
    "bad_trailing": good + b"xx",
    "bad_header_len": good[:8] + b"\xff\xff" + good[10:],
    "bad_shape_huge": header("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }") + good[-24:],
    "bad_dict": good.replace(b"False", b"Maybe"),
})
# two-file inputs for the Conv1D loader: 2-byte split point, weight.npy, bias.npy
conv_w = npy(np.arange(12, dtype=np.float32).reshape(3, 2, 2) / 10)
conv_b = npy(np.ones(3, dtype=np.float32))
pair = lambda w, b: len(w).to_bytes(2, "little") + w + b
seeds.update({
    "pair_conv_valid": pair(conv_w, conv_b),
    "pair_conv_wrong_kernel": pair(npy(np.ones((3, 2, 3), dtype=np.float32)), conv_b),
    "pair_conv_bad_bias": pair(conv_w, conv_b[:-3]),
})
for name, data in seeds.items():
    (out / f"{name}.npy").write_bytes(data)
print(f"wrote {len(seeds)} files to {out}")
