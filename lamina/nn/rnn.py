"""Recurrent layers with torch's parameters, gate orders and shapes: RNN (tanh/relu),
LSTM (with `proj_size`), GRU — multi-layer, bidirectional, batch_first, dropout between
layers, initial states, unbatched inputs and `PackedSequence` inputs — and the cells
RNNCell, LSTMCell, GRUCell.

The time loop runs in Python over the steps, so a traced program holds one copy of the
cell per step (it grows with the sequence length; see the closing note of issue 16 for
the scan op that will replace this). With packed sequences every batch row is updated
only for its own steps (a mask): the reverse direction starts at each row's last real
step and the final states are each row's own, as torch's."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lamina import dtypes
from lamina.errors import ArgumentError, ShapeError, with_location
from lamina.frontend import movement
from lamina.frontend import ops as O
from lamina.frontend.tensor import Tensor
from lamina.nn import functional as F
from lamina.nn import init
from lamina.nn.layers import _empty
from lamina.nn.module import Module
from lamina.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

__all__ = ["GRU", "GRUCell", "LSTM", "LSTMCell", "RNN", "RNNCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _linear(x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
    return F.linear(x, w, b)


def _cell(mode: str, x: Tensor, state: Any, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
          b_hh: Tensor | None, w_hr: Tensor | None = None) -> Any:
    """One step of a cell: the new hidden state ((h, c) for an LSTM)."""
    if mode == "LSTM":
        h, c = state
        gates = _linear(x, w_ih, b_ih) + _linear(h, w_hh, b_hh)
        i, f, g, o = movement.chunk(gates, 4, -1)
        c = O.sigmoid(f) * c + O.sigmoid(i) * O.tanh(g)
        h = O.sigmoid(o) * O.tanh(c)
        if w_hr is not None:
            h = _linear(h, w_hr, None)
        return h, c
    if mode == "GRU":
        gi, gh = _linear(x, w_ih, b_ih), _linear(state, w_hh, b_hh)
        i_r, i_z, i_n = movement.chunk(gi, 3, -1)
        h_r, h_z, h_n = movement.chunk(gh, 3, -1)
        r, z = O.sigmoid(i_r + h_r), O.sigmoid(i_z + h_z)
        n = O.tanh(i_n + r * h_n)
        return (1 - z) * n + z * state
    pre = _linear(x, w_ih, b_ih) + _linear(state, w_hh, b_hh)
    return O.tanh(pre) if mode == "RNN_TANH" else O.relu(pre)


def _where_state(mask: Tensor, new: Any, old: Any) -> Any:
    if isinstance(new, tuple):
        return tuple(O.where(mask, n, o) for n, o in zip(new, old, strict=True))
    return O.where(mask, new, old)


class RNNBase(Module):
    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: Any = None,
                 dtype: Any = None):
        super().__init__()
        name = type(self).__name__
        if not 0 <= dropout <= 1:
            raise ArgumentError(with_location(
                f"{name}: dropout should be a number in range [0, 1], got {dropout}"))
        if hidden_size <= 0 or num_layers <= 0:
            raise ArgumentError(with_location(
                f"{name}: hidden_size and num_layers must be positive, got {hidden_size} and "
                f"{num_layers}"))
        if proj_size < 0 or (proj_size and (mode != "LSTM" or proj_size >= hidden_size)):
            raise ArgumentError(with_location(
                f"{name}: proj_size must be 0, or (LSTM only) between 0 and hidden_size, got "
                f"{proj_size}"))
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        gates = _GATES[mode] * hidden_size
        real_hidden = proj_size or hidden_size
        directions = 2 if bidirectional else 1
        for layer in range(num_layers):
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                layer_input = input_size if layer == 0 else real_hidden * directions
                setattr(self, f"weight_ih{suffix}", _empty(gates, layer_input, dtype=dtype))
                setattr(self, f"weight_hh{suffix}", _empty(gates, real_hidden, dtype=dtype))
                if bias:
                    setattr(self, f"bias_ih{suffix}", _empty(gates, dtype=dtype))
                    setattr(self, f"bias_hh{suffix}", _empty(gates, dtype=dtype))
                if proj_size:
                    setattr(self, f"weight_hr{suffix}", _empty(proj_size, hidden_size,
                                                               dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _weights(self, layer: int, direction: int) -> tuple:
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        get = lambda n: self._parameters.get(f"{n}{suffix}")  # noqa: E731
        return (get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh"),
                get("weight_hr"))

    def _zeros(self, batch: int, size: int, dtype: dtypes.DType) -> Tensor:
        directions = 2 if self.bidirectional else 1
        return O.zeros(self.num_layers * directions, batch, size, dtype=dtype)

    def forward(self, input: Any, hx: Any = None) -> Any:
        if isinstance(input, PackedSequence):
            padded, lengths = pad_packed_sequence(input, batch_first=False)
            out, state = self._run(padded, hx, [int(n) for n in np.asarray(lengths)])
            return pack_padded_sequence(out, lengths, enforce_sorted=False), state
        x = input if isinstance(input, Tensor) else O.tensor(input)
        if x.ndim not in (2, 3):
            raise ShapeError(with_location(
                f"{type(self).__name__}: expected a 2-D (unbatched) or 3-D input, got shape "
                f"{list(x.shape)}"))
        batched = x.ndim == 3
        if not batched:
            x = x.unsqueeze(1)
            hx = None if hx is None else (tuple(h.unsqueeze(1) for h in hx)
                                          if isinstance(hx, tuple) else hx.unsqueeze(1))
        elif self.batch_first:
            x = x.transpose(0, 1)
        out, state = self._run(x, hx, None)
        if not batched:
            out = out.squeeze(1)
            state = tuple(s.squeeze(1) for s in state) if isinstance(state, tuple) \
                else state.squeeze(1)
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, state

    def _run(self, x: Tensor, hx: Any, lengths: list[int] | None) -> tuple[Tensor, Any]:
        """x: (L, N, H_in) time-major. Returns the output (L, N, D·H_out) and the final
        states (D·num_layers, N, H_out) (and the cell states for an LSTM)."""
        steps, batch = x.shape[0], x.shape[1]
        if x.shape[2] != self.input_size:
            raise ShapeError(with_location(
                f"{type(self).__name__}: input.size(-1) must be equal to input_size. "
                f"Expected {self.input_size}, got {x.shape[2]}"))
        real_hidden = self.proj_size or self.hidden_size
        lstm = self.mode == "LSTM"
        if hx is None:
            h0 = self._zeros(batch, real_hidden, x.dtype)
            c0 = self._zeros(batch, self.hidden_size, x.dtype) if lstm else None
        elif lstm:
            h0, c0 = hx
        else:
            h0, c0 = hx, None
        directions = 2 if self.bidirectional else 1
        masks = None
        if lengths is not None:
            steps_idx = O.arange(steps).reshape(steps, 1, 1)
            masks = O.lt(steps_idx, O.tensor(lengths).reshape(1, batch, 1))
        finals_h, finals_c = [], []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                state = (h0[k], c0[k]) if lstm else h0[k]
                weights = self._weights(layer, direction)
                order = range(steps - 1, -1, -1) if direction else range(steps)
                step_out: list[Tensor | None] = [None] * steps
                for t in order:
                    new = _cell(self.mode, layer_input[t], state, *weights)
                    if masks is not None:
                        new = _where_state(masks[t], new, state)
                    state = new
                    h = state[0] if lstm else state
                    step_out[t] = h if masks is None else O.where(masks[t], h, 0.0)
                outputs.append(movement.stack(step_out, 0))
                finals_h.append(state[0] if lstm else state)
                if lstm:
                    finals_c.append(state[1])
            layer_input = outputs[0] if directions == 1 else movement.cat(outputs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout)
        h_n = movement.stack(finals_h, 0)
        if lstm:
            return layer_input, (h_n, movement.stack(finals_c, 0))
        return layer_input, h_n

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            text += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text


class RNN(RNNBase):
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device: Any = None,
                 dtype: Any = None):
        if nonlinearity not in ("tanh", "relu"):
            raise ArgumentError(with_location(f"Unknown nonlinearity '{nonlinearity}'. Select "
                                              "from 'tanh' or 'relu'."))
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         0, device, dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: Any = None,
                 dtype: Any = None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device: Any = None, dtype: Any = None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device, dtype)


class _CellBase(Module):
    _mode = ""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None, mode: str | None = None):
        super().__init__()
        if mode is not None:
            self._mode = mode
        gates = _GATES[self._mode] * hidden_size
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        self.weight_ih = _empty(gates, input_size, dtype=dtype)
        self.weight_hh = _empty(gates, hidden_size, dtype=dtype)
        if bias:
            self.bias_ih = _empty(gates, dtype=dtype)
            self.bias_hh = _empty(gates, dtype=dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        bound = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _step(self, input: Any, hx: Any) -> Any:
        x = input if isinstance(input, Tensor) else O.tensor(input)
        if x.ndim not in (1, 2):
            raise ShapeError(with_location(
                f"{type(self).__name__}: expected a 1-D or 2-D input, got shape "
                f"{list(x.shape)}"))
        batched = x.ndim == 2
        if not batched:
            x = x.unsqueeze(0)
        lstm = self._mode == "LSTM"
        if hx is None:
            zeros = O.zeros(x.shape[0], self.hidden_size, dtype=x.dtype)
            hx = (zeros, zeros) if lstm else zeros
        elif not batched:
            hx = tuple(h.unsqueeze(0) for h in hx) if lstm else hx.unsqueeze(0)
        out = _cell(self._mode, x, hx, self.weight_ih, self.weight_hh, self.bias_ih,
                    self.bias_hh)
        if not batched:
            out = tuple(o.squeeze(0) for o in out) if lstm else out.squeeze(0)
        return out

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(_CellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device: Any = None, dtype: Any = None):
        if nonlinearity not in ("tanh", "relu"):
            raise ArgumentError(with_location(f"Unknown nonlinearity: {nonlinearity}"))
        super().__init__(input_size, hidden_size, bias, device, dtype,
                         mode="RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU")
        self.nonlinearity = nonlinearity

    def forward(self, input: Any, hx: Any = None) -> Tensor:
        return self._step(input, hx)


class LSTMCell(_CellBase):
    _mode = "LSTM"

    def forward(self, input: Any, hx: Any = None) -> tuple[Tensor, Tensor]:
        return self._step(input, hx)


class GRUCell(_CellBase):
    _mode = "GRU"

    def forward(self, input: Any, hx: Any = None) -> Tensor:
        return self._step(input, hx)
