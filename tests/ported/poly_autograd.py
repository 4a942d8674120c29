"""Hand-written autograd (pytorch/tutorials "polynomial fit"): tensors with
requires_grad, manual updates under no_grad, grads zeroed in place."""
import math

import torch


def main(data, init_state=None, steps=20):
    x = torch.linspace(-math.pi, math.pi, 200)
    y = torch.sin(x)
    init = init_state if init_state is not None else {"w": data["w0"]}
    a, b, c, d = (torch.tensor(float(v), requires_grad=True) for v in init["w"])
    learning_rate = 1e-6
    losses = []
    for _ in range(steps):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    return losses, init
