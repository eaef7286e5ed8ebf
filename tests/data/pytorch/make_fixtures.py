#!/usr/bin/python3
"""Writes the PyTorch reference fixtures under tests/data/pytorch/ (committed; rerun only to
change them): for a GRU, an LSTM, an RNN (tanh) and a Linear layer of small sizes, the
state_dict as NPY files plus a reference input sequence and the output PyTorch computes,
in float64 so that the tests can compare tightly.
    /usr/bin/python3 tests/data/pytorch/make_fixtures.py      # needs python3-torch
"""
import pathlib

import numpy as np
import torch

torch.manual_seed(1234)
here = pathlib.Path(__file__).parent
IN, HIDDEN, STEPS = 3, 5, 7

def save(name, module, x, y):
    d = here / name
    d.mkdir(exist_ok=True)
    for k, v in module.state_dict().items():
        np.save(d / f"{k}.npy", v.numpy())
    np.save(d / "check_input.npy", x.numpy())
    np.save(d / "check_output.npy", y.detach().numpy())

x = torch.randn(STEPS, IN, dtype=torch.float64)
for name, cls in [("gru", torch.nn.GRU), ("lstm", torch.nn.LSTM), ("rnn_tanh", torch.nn.RNN)]:
    m = cls(IN, HIDDEN).double()            # single layer: names weight_ih_l0, ...
    y, _ = m(x.unsqueeze(1))                # (steps, batch 1, hidden), zero initial state
    save(name, m, x, y.squeeze(1))
lin = torch.nn.Linear(IN, HIDDEN).double()
save("linear", lin, x, lin(x))
