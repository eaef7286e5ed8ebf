#!/usr/bin/python3
"""PyTorch baseline for bench_working_memory: one training step (forward + backward + Adam) of the
working-memory network of examples/working_memory (leaky retanh RNN, 33 inputs, 100 units,
dt/tau = 0.1, unit noise 0.1, linear readout to 4, MSE over 120 steps x batch 64, gradient
clipping at norm 1), float32, one thread:
    /usr/bin/python3 bench/working_memory_torch.py
"""
import torch
from pyutil import best_of

torch.set_num_threads(1)
torch.manual_seed(0)
IN, H, OUT, T, B, ALPHA = 33, 100, 4, 120, 64, 0.1

w_ih = torch.nn.Parameter(torch.randn(H, IN) * 0.1)
w_hh = torch.nn.Parameter(torch.randn(H, H) * 0.1)
b = torch.nn.Parameter(torch.zeros(H))
readout = torch.nn.Linear(H, OUT)
params = [w_ih, w_hh, b] + list(readout.parameters())
opt = torch.optim.Adam(params, lr=1e-3)
x = torch.rand(T, B, IN)
y = torch.randn(T, B, OUT)


def step():
    opt.zero_grad()
    pre_all = x @ w_ih.T + b                    # input projection of all steps at once
    s = torch.zeros(B, H)
    h = torch.zeros(B, H)
    hs = []
    for t in range(T):
        pre = pre_all[t] + h @ w_hh.T + 0.1 * torch.randn(B, H)
        s = s + ALPHA * (pre - s)
        h = torch.relu(torch.tanh(s))
        hs.append(h)
    loss = torch.nn.functional.mse_loss(readout(torch.stack(hs)), y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()


for _ in range(3):
    step()
print(f"torch {torch.__version__} working-memory training step: {best_of(step, 20) * 1e3:.1f} ms")
