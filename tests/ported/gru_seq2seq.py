"""A GRU encoder-decoder with teacher forcing (seq2seq tutorial style), padded source
batches packed with pack_padded_sequence, NLL loss over log-softmax, SGD."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim
from torch.nn.utils.rnn import pack_padded_sequence


class Encoder(nn.Module):
    def __init__(self, vocab, hidden):
        super().__init__()
        self.embedding = nn.Embedding(vocab, hidden, padding_idx=0)
        self.gru = nn.GRU(hidden, hidden, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * hidden, hidden)

    def forward(self, src, lengths):
        packed = pack_padded_sequence(self.embedding(src), lengths, batch_first=True,
                                      enforce_sorted=False)
        _, hidden = self.gru(packed)
        return torch.tanh(self.bridge(torch.cat([hidden[0], hidden[1]], dim=1))).unsqueeze(0)


class Decoder(nn.Module):
    def __init__(self, vocab, hidden):
        super().__init__()
        self.embedding = nn.Embedding(vocab, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, tgt_in, hidden):
        output, hidden = self.gru(F.relu(self.embedding(tgt_in)), hidden)
        return F.log_softmax(self.out(output), dim=-1)


def main(data, init_state=None, steps=20):
    enc, dec = Encoder(12, 8), Decoder(12, 8)
    if init_state is not None:
        enc.load_state_dict(init_state["enc"])
        dec.load_state_dict(init_state["dec"])
    initial = {"enc": {k: v.detach().numpy().copy() for k, v in enc.state_dict().items()},
               "dec": {k: v.detach().numpy().copy() for k, v in dec.state_dict().items()}}
    enc_opt = optim.SGD(enc.parameters(), lr=0.1)
    dec_opt = optim.SGD(dec.parameters(), lr=0.1)
    criterion = nn.NLLLoss(ignore_index=0)
    losses = []
    for step in range(steps):
        k = step % 4
        src, lengths = torch.tensor(data["src"][k]), data["lengths"][k].tolist()
        tgt = torch.tensor(data["tgt"][k])
        enc_opt.zero_grad()
        dec_opt.zero_grad()
        log_probs = dec(tgt[:, :-1], enc(src, lengths))
        loss = criterion(log_probs.reshape(-1, 12), tgt[:, 1:].reshape(-1))
        loss.backward()
        enc_opt.step()
        dec_opt.step()
        losses.append(loss.item())
    return losses, initial
