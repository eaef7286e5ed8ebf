#!/usr/bin/python3
"""PyTorch baseline for the reverse-mode rows of bench/autodiff.cpp: the same tanh RNN (input 32,
hidden 100, 50 steps, batch 64, linear readout to 4 at every step, MSE over all steps), float32,
one thread, forward alone and forward + backward (Debian's python3-torch):
    /usr/bin/python3 bench/autodiff_torch.py
"""
import torch
from pyutil import best_of

torch.set_num_threads(1)
torch.manual_seed(0)
IN, HIDDEN, OUT, STEPS, BATCH = 32, 100, 4, 50, 64

rnn = torch.nn.RNN(IN, HIDDEN, nonlinearity="tanh")
readout = torch.nn.Linear(HIDDEN, OUT)
x = torch.randn(STEPS, BATCH, IN)
target = torch.randn(STEPS, BATCH, OUT)
params = list(rnn.parameters()) + list(readout.parameters())


def loss():
    h, _ = rnn(x)
    return torch.nn.functional.mse_loss(readout(h), target)


def forward():
    with torch.no_grad():
        loss()


def forward_recorded():  # forward with the autograd graph recorded, as before a backward
    loss()


def forward_backward():
    for p in params:
        p.grad = None
    loss().backward()


for name, fn in [("forward (no_grad)", forward), ("forward (graph recorded)", forward_recorded),
                 ("forward + backward", forward_backward)]:
    for _ in range(5):
        fn()
    print(f"torch {torch.__version__} {name}: {best_of(fn, 50) * 1e3:.2f} ms")
