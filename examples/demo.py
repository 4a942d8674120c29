"""lamina's first demo: train a small CNN on scikit-learn's 8×8 digits.

The whole training step — forward, loss, backward, AdamW update — is one
`@lm.jit` function, compiled once into one program; parameters and optimizer
state are its inputs and outputs, written back in place after every call.

    python examples/demo.py            # or: make demo
    python examples/demo.py --epochs 3 --backend interp

Writes into demo_out/: the loss curve (loss.png), the IR of the training step
at every level (step.hl.mlir, step.loop.mlir, ...) and the generated source.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from tqdm import tqdm

import lamina as lm
import lamina.nn as nn
import lamina.nn.functional as F
from lamina.runtime import backends


class Net(nn.Module):
    """conv(1→8) · relu · pool → conv(8→16) · relu · pool → linear(64→10)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc = nn.Linear(16 * 2 * 2, 10)

    def forward(self, x: lm.Tensor) -> lm.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(x.flatten(1))


def load_data(seed: int) -> tuple[np.ndarray, ...]:
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]  # (N, 1, 8, 8) in [0, 1]
    images = (images - images.mean()) / images.std()
    return train_test_split(images, digits.target.astype(np.int64), test_size=0.2,
                            random_state=seed, stratify=digits.target)


def dump_levels(step: lm.Jitted, x: np.ndarray, y: np.ndarray, out_dir: str) -> None:
    """Every IR level of the compiled step, and the source the backend generated."""
    lowered = step.lower(x, y)
    for level in ("hl", "loop", "hw"):
        try:
            text = lowered.ir(level)
        except lm.LaminaError:
            continue  # the interpreter backend has only the hl level
        with open(os.path.join(out_dir, f"step.{level}.mlir"), "w") as f:
            f.write(text)
    try:
        source = lowered.source()
    except lm.LaminaError:
        return
    ext = {"c": "c", "triton": "py"}.get(lowered.program.backend, "txt")
    with open(os.path.join(out_dir, f"step_kernels.{ext}"), "w") as f:
        f.write(source)


def plot(losses: list[float], steps_per_epoch: int, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(np.arange(len(losses)) / steps_per_epoch, losses, lw=0.8)
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.set_yscale("log")
    ax.set_title("lamina: CNN on 8×8 digits")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--backend", default=None, help="c, triton or interp (default: best)")
    parser.add_argument("--out", default="demo_out")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    backend = args.backend or backends.default_name()

    lm.manual_seed(args.seed)
    x_train, x_test, y_train, y_test = load_data(args.seed)
    model = Net()
    opt = lm.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)

    @lm.jit(backend=backend)
    def train_step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    @lm.jit(backend=backend)
    def predict(x):
        return model(x).argmax(1)

    bs = args.batch_size
    steps = len(x_train) // bs  # full batches only: one shape, one program
    rng = np.random.default_rng(args.seed)
    print(f"lamina demo: {len(x_train)} training / {len(x_test)} test digits, backend={backend}")
    t0 = time.perf_counter()
    train_step(x_train[:bs], y_train[:bs])  # the first call traces and compiles
    print(f"compiled the training step in {time.perf_counter() - t0:.2f}s")
    losses: list[float] = []
    for epoch in range(args.epochs):
        order = rng.permutation(len(x_train))
        start, epoch_losses = time.perf_counter(), []
        for i in tqdm(range(steps), desc=f"epoch {epoch + 1}", leave=False):
            idx = order[i * bs:(i + 1) * bs]
            epoch_losses.append(train_step(x_train[idx], y_train[idx]))
        elapsed = time.perf_counter() - start
        losses += [float(v) for v in epoch_losses]
        accuracy = float((np.asarray(predict(x_test)) == y_test).mean())
        print(f"epoch {epoch + 1}: loss {np.mean(losses[-steps:]):.4f}  "
              f"test accuracy {accuracy:.2%}  {steps * bs / elapsed:,.0f} samples/s")

    plot(losses, steps, os.path.join(args.out, "loss.png"))
    dump_levels(train_step, x_train[:bs], y_train[:bs], args.out)
    print(f"wrote {args.out}/loss.png and the IR of every level of the training step")
    print(f"final test accuracy: {accuracy:.2%}")


if __name__ == "__main__":
    main()
