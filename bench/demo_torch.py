"""The `make demo` model trained in PyTorch eager, for comparing samples/s and accuracy.

    python -m bench.demo_torch            # same data split, model, AdamW, batch size, epochs
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
from demo import load_data  # noqa: E402  (the demo's own data pipeline)


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(8, 16, 3, padding=1)
        self.fc = torch.nn.Linear(16 * 2 * 2, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = torch.nn.functional
        x = f.max_pool2d(f.relu(self.conv1(x)), 2)
        x = f.max_pool2d(f.relu(self.conv2(x)), 2)
        return self.fc(x.flatten(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    x_train, x_test, y_train, y_test = (torch.from_numpy(a) for a in load_data(args.seed))
    model = Net()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    bs, steps = args.batch_size, len(x_train) // args.batch_size
    rng = np.random.default_rng(args.seed)
    total = time.perf_counter()
    for epoch in range(args.epochs):
        order = torch.from_numpy(rng.permutation(len(x_train)))
        start = time.perf_counter()
        for i in range(steps):
            idx = order[i * bs:(i + 1) * bs]
            loss = torch.nn.functional.cross_entropy(model(x_train[idx]), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        elapsed = time.perf_counter() - start
        with torch.no_grad():
            accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
        print(f"epoch {epoch + 1}: loss {loss.item():.4f}  test accuracy {accuracy:.2%}  "
              f"{steps * bs / elapsed:,.0f} samples/s")
    print(f"torch eager: {time.perf_counter() - total:.1f}s, final accuracy {accuracy:.2%}")


if __name__ == "__main__":
    main()
