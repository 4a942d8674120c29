"""A classifier MLP trained with SGD + momentum on cross-entropy (pytorch/examples
style)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 32)
        self.fc3 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.leaky_relu(self.fc2(x), 0.1)
        return F.log_softmax(self.fc3(x), dim=1)


def main(data, init_state=None, steps=20):
    x_all, y_all = data["x"], data["y"]
    model = Net()
    if init_state is not None:
        model.load_state_dict(init_state)
    initial = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    losses = []
    model.train()
    for step in range(steps):
        i = (step * 16) % (len(x_all) - 16)
        x = torch.tensor(x_all[i:i + 16])
        y = torch.tensor(y_all[i:i + 16])
        optimizer.zero_grad()
        loss = F.nll_loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, initial
