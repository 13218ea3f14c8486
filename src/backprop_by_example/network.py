"""The seed's network in PyTorch: sigmoid layers without biases, W is inputs x hidden, V is hidden x outputs."""

from typing import NamedTuple

import numpy as np
import torch
from torch import nn


class Activations(NamedTuple):
    h_in: torch.Tensor
    h_out: torch.Tensor
    y_in: torch.Tensor
    y_out: torch.Tensor


class Network(nn.Module):
    """H = sigmoid(X @ W), Y = sigmoid(H @ V)."""

    def __init__(self, W, V, dtype=None):
        super().__init__()
        # torch.tensor reads the Python floats straight into the dtype; by default that is the default dtype,
        # which Lightning's `trainer.init_module()` sets to the run's precision: 64-true keeps every digit.
        dtype = dtype or torch.get_default_dtype()
        self.W = nn.Parameter(torch.tensor(W, dtype=dtype))
        self.V = nn.Parameter(torch.tensor(V, dtype=dtype))

    def activations(self, X) -> Activations:
        h_in = X @ self.W
        h_out = torch.sigmoid(h_in)
        y_in = h_out @ self.V
        y_out = torch.sigmoid(y_in)
        return Activations(h_in, h_out, y_in, y_out)

    def forward(self, X):
        return self.activations(X).y_out


def initial_weights(W, V, input_dim, hidden_dim, output_dim, seed):
    """W and V as given, or, where None, drawn like the seed's NeuralNetwork (cell 21): 0.1 * uniform[0, 1).

    Both are always drawn, W first, so a random V is the same whether or not W is given.
    """
    rng = np.random.default_rng(seed)
    W_random = 0.1 * rng.random((input_dim, hidden_dim))
    V_random = 0.1 * rng.random((hidden_dim, output_dim))
    return (W_random.tolist() if W is None else W), (V_random.tolist() if V is None else V)


def squared_error(Y, T):
    """Per-instance loss: sum over outputs of (y - t)**2."""
    return ((Y - T) ** 2).sum(dim=1)


def weight_names(letter, rows, cols):
    """The seed's names for a weight matrix's entries, row by row: w11, w12, w21, ... (w1_10 past 9 units)."""
    sep = "" if max(rows, cols) <= 9 else "_"
    return [f"{letter}{i + 1}{sep}{j + 1}" for i in range(rows) for j in range(cols)]
