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

# Conv, attention and Sequential (issue #5). Reference arrays that are not a (N, In) -> (N, Out)
# pair go to ref_*.npy, in PyTorch's own layouts:
#   conv1d:     ref_input (L, Cin) one sequence, ref_output (Lout, Cout)
#   conv2d:     ref_input (B, Cin, H, W), ref_output (B, Cout, Hout, Wout)
#   mha:        ref_input (L, Dim), ref_output (L, Dim), ref_weights (Heads, L, L), causal mask
def save_ref(name, module, **arrays):
    d = here / name
    d.mkdir(exist_ok=True)
    for k, v in module.state_dict().items():
        np.save(d / f"{k}.npy", v.numpy())
    for k, v in arrays.items():
        np.save(d / f"ref_{k}.npy", v.detach().numpy())

conv1 = torch.nn.Conv1d(3, 4, 3, dilation=2, stride=2).double()
xs = torch.randn(11, 3, dtype=torch.float64)                 # (L, Cin)
save_ref("conv1d", conv1, input=xs, output=conv1(xs.T.unsqueeze(0)).squeeze(0).T)

conv2 = torch.nn.Conv2d(2, 3, (3, 2), stride=2, padding=1).double()
xm = torch.randn(2, 2, 7, 6, dtype=torch.float64)
save_ref("conv2d", conv2, input=xm, output=conv2(xm))

mha = torch.nn.MultiheadAttention(8, 2).double()
with torch.no_grad():                                        # non-zero biases, to test them
    mha.in_proj_bias.normal_()
    mha.out_proj.bias.normal_()
L = 6
xa = torch.randn(L, 8, dtype=torch.float64)
causal = torch.triu(torch.ones(L, L, dtype=torch.bool), diagonal=1)  # True = masked
ya, wa = mha(xa.unsqueeze(1), xa.unsqueeze(1), xa.unsqueeze(1), attn_mask=causal,
             average_attn_weights=False)
save_ref("mha", mha, input=xa, output=ya.squeeze(1), weights=wa.squeeze(0))

seq = torch.nn.Sequential(torch.nn.Conv1d(3, 4, 3, padding="same"), torch.nn.LeakyReLU(0.2),
                          torch.nn.Conv1d(4, 2, 1)).double()
ys = seq(xs.T.unsqueeze(0)).squeeze(0).T                     # (L, 2)
save("sequential", seq, xs, ys)
