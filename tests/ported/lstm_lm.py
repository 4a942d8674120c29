"""An LSTM language model (word_language_model style): embedding, 2-layer LSTM with
dropout 0 between layers, tied decoder weights, gradient clipping, Adam."""
import torch
import torch.nn as nn
import torch.optim as optim


class RNNModel(nn.Module):
    def __init__(self, ntoken, ninp, nlayers):
        super().__init__()
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, ninp, nlayers)
        self.decoder = nn.Linear(ninp, ntoken)
        self.decoder.weight = self.encoder.weight
        self.nlayers, self.nhid = nlayers, ninp

    def forward(self, input, hidden):
        output, hidden = self.rnn(self.encoder(input), hidden)
        return self.decoder(output), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                weight.new_zeros(self.nlayers, bsz, self.nhid))


def main(data, init_state=None, steps=20):
    tokens = data["tokens"]
    model = RNNModel(20, 8, 2)
    if init_state is not None:
        model.load_state_dict(init_state)
    initial = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=5e-3)
    losses = []
    for step in range(steps):
        i = (step * 3) % (tokens.shape[0] - 6)
        x = torch.tensor(tokens[i:i + 5])
        y = torch.tensor(tokens[i + 1:i + 6])
        hidden = model.init_hidden(x.shape[1])
        optimizer.zero_grad()
        output, hidden = model(x, hidden)
        loss = criterion(output.view(-1, 20), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()
        losses.append(loss.item())
    return losses, initial
