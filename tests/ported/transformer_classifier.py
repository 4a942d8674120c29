"""A transformer-encoder sequence classifier: embedding + learned positions,
TransformerEncoder (batch_first, pre-norm), mean pooling, AdamW + StepLR."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import StepLR


class Classifier(nn.Module):
    def __init__(self, vocab=16, d_model=16, classes=3):
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.pos = nn.Parameter(torch.zeros(1, 6, d_model))
        layer = nn.TransformerEncoderLayer(d_model, 4, 32, dropout=0.0, batch_first=True,
                                           norm_first=True, activation="gelu")
        self.encoder = nn.TransformerEncoder(layer, 2)
        self.head = nn.Linear(d_model, classes)

    def forward(self, tokens, padding):
        h = self.encoder(self.embed(tokens) + self.pos, src_key_padding_mask=padding)
        return self.head(h.mean(dim=1))


def main(data, init_state=None, steps=20):
    model = Classifier()
    if init_state is not None:
        model.load_state_dict(init_state)
    initial = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    scheduler = StepLR(optimizer, step_size=5, gamma=0.5)
    losses = []
    for step in range(steps):
        tokens = torch.tensor(data["tokens"][step % 5])
        padding = torch.tensor(data["padding"][step % 5])
        labels = torch.tensor(data["labels"][step % 5])
        optimizer.zero_grad()
        loss = F.cross_entropy(model(tokens, padding), labels)
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    return losses, initial
