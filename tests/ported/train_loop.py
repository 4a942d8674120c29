"""The loop around a model every tutorial has: a DataLoader over a TensorDataset, a
OneCycleLR schedule, TensorBoard logging, a checkpoint saved mid-way and resumed into a
fresh model and optimizer, a formatted progress line."""
import os
import tempfile

import torch
import torch.nn as nn
from torch.optim.lr_scheduler import OneCycleLR
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.tensorboard import SummaryWriter


def make_model():
    return nn.Sequential(nn.Linear(10, 32), nn.GELU(), nn.LayerNorm(32), nn.Linear(32, 3))


def main(data, init_state=None, steps=20):
    model = make_model()
    if init_state is not None:
        model.load_state_dict(init_state)
    initial = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    dataset = TensorDataset(torch.tensor(data["x"]), torch.tensor(data["y"]))
    loader = DataLoader(dataset, batch_size=16, shuffle=False, drop_last=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    scheduler = OneCycleLR(optimizer, max_lr=0.2, total_steps=steps)
    criterion = nn.CrossEntropyLoss()
    losses, step = [], 0
    with tempfile.TemporaryDirectory() as logdir:
        writer = SummaryWriter(logdir)
        checkpoint = os.path.join(logdir, "ckpt.pt")
        while step < steps:
            for xb, yb in loader:
                if step == steps // 2:  # save, then resume into fresh objects
                    torch.save({"model": model.state_dict(), "opt": optimizer.state_dict(),
                                "sched": scheduler.state_dict(), "step": step}, checkpoint)
                    state = torch.load(checkpoint)
                    model = make_model()
                    model.load_state_dict(state["model"])
                    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9,
                                                nesterov=True)
                    optimizer.load_state_dict(state["opt"])
                    scheduler = OneCycleLR(optimizer, max_lr=0.2, total_steps=steps)
                    scheduler.load_state_dict(state["sched"])
                optimizer.zero_grad()
                loss = criterion(model(xb), yb)
                loss.backward()
                optimizer.step()
                scheduler.step()
                writer.add_scalar("loss", loss.item(), step)
                writer.add_scalar("lr", scheduler.get_last_lr()[0], step)
                line = f"step {step:3d} loss {loss:.4f}"
                assert line.startswith("step")
                losses.append(loss.item())
                step += 1
                if step == steps:
                    break
        writer.close()
    return losses, initial
