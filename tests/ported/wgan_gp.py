"""A WGAN-GP on 2-D points in the style of the improved-WGAN tutorials: the critic's
gradient penalty differentiates through torch.autograd.grad(create_graph=True), one
critic layer is spectrally normalized, the device is probed the usual way, and the
GradScaler is constructed disabled as scripts do for CPU runs."""
import torch
import torch.nn as nn
from torch.nn.utils.parametrizations import spectral_norm

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


class Critic(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(spectral_norm(nn.Linear(2, 32)), nn.LeakyReLU(0.2),
                                 nn.Linear(32, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1))

    def forward(self, x):
        return self.net(x)


def gradient_penalty(critic, real, fake, eps):
    mixed = (eps * real + (1 - eps) * fake).requires_grad_(True)
    scores = critic(mixed)
    grads = torch.autograd.grad(outputs=scores, inputs=mixed,
                                grad_outputs=torch.ones_like(scores),
                                create_graph=True, retain_graph=True)[0]
    return ((grads.norm(2, dim=1) - 1) ** 2).mean()


def main(data, init_state=None, steps=20):
    gen = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 2)).to(device)
    critic = Critic().to(device)
    if init_state is not None:
        gen.load_state_dict(init_state["gen"])
        critic.load_state_dict(init_state["critic"])
    initial = {"gen": {k: v.detach().cpu().numpy().copy() for k, v in gen.state_dict().items()},
               "critic": {k: v.detach().cpu().numpy().copy()
                          for k, v in critic.state_dict().items()}}
    opt_g = torch.optim.Adam(gen.parameters(), lr=1e-3, betas=(0.5, 0.9))
    opt_c = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
    scaler = torch.amp.GradScaler(enabled=False)
    losses = []
    for step in range(steps):
        real = torch.tensor(data["real"][step]).to(device)
        z = torch.tensor(data["z"][step]).to(device)
        eps = torch.tensor(data["eps"][step]).to(device)
        fake = gen(z)
        loss_c = critic(fake.detach()).mean() - critic(real).mean() \
            + 10.0 * gradient_penalty(critic, real, fake.detach(), eps)
        opt_c.zero_grad()
        scaler.scale(loss_c).backward()
        scaler.step(opt_c)
        scaler.update()
        loss_g = -critic(gen(z)).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        losses += [loss_c.item(), loss_g.item()]
    return losses, initial
