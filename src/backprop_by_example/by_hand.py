"""The seed's hand-derived backprop (cells 2-7 and 15-22), in numpy, vectorized over instances.

Rows of X and T are training instances. For one row this is exactly the seed's arithmetic:

    h_in = x @ W      h_out = sigmoid(h_in)      (hidden layer)
    y_in = h_out @ V  y_out = sigmoid(y_in)      (output layer)
    e = y_out - t     L = sum(e**2)              (squared error)

and the backward pass walks the same names in reverse, each step one application of the chain rule.
"""

from typing import NamedTuple

import numpy as np


def sigmoid(z):
    """sigmoid(z) = 1 / (1 + exp(-z)), the seed's formula, as exp(z) / (1 + exp(z)) for z < 0.

    The second form is the same function, but exp never sees a large positive argument, so sigmoid(-1000)
    is 0 without an overflow warning. For z >= 0 this is the seed's arithmetic exactly.
    """
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


class Backprop(NamedTuple):
    """Every intermediate of one forward and backward pass; each array has one row per instance."""

    h_in: np.ndarray
    h_out: np.ndarray
    y_in: np.ndarray
    y_out: np.ndarray
    e: np.ndarray
    loss: np.ndarray  # per instance: sum over outputs of e**2
    grad_y_out: np.ndarray
    grad_y_in: np.ndarray
    grad_V: np.ndarray  # summed over instances
    grad_h_out: np.ndarray
    grad_h_in: np.ndarray
    grad_W: np.ndarray  # summed over instances
    grad_x: np.ndarray


def backprop(X, T, W, V) -> Backprop:
    """Forward and backward pass of L = sum((sigmoid(sigmoid(X @ W) @ V) - T)**2)."""
    X, T, W, V = (np.asarray(a, dtype=np.float64) for a in (X, T, W, V))
    # forward
    h_in = X @ W
    h_out = sigmoid(h_in)
    y_in = h_out @ V
    y_out = sigmoid(y_in)
    e = y_out - T
    loss = np.sum(e**2, axis=1)
    # backward
    grad_y_out = 2 * e
    grad_y_in = y_out * (1 - y_out) * grad_y_out  # sigmoid' = sigmoid * (1 - sigmoid)
    grad_V = h_out.T @ grad_y_in  # dL/dv_ij = h_i * grad_y_in_j, summed over instances
    grad_h_out = grad_y_in @ V.T  # h_i feeds every y_j through v_ij
    grad_h_in = h_out * (1 - h_out) * grad_h_out
    grad_W = X.T @ grad_h_in
    grad_x = grad_h_in @ W.T
    return Backprop(
        h_in, h_out, y_in, y_out, e, loss,
        grad_y_out, grad_y_in, grad_V, grad_h_out, grad_h_in, grad_W, grad_x,
    )  # fmt: skip


def train(X, T, W, V, lr, epochs, batch_size=None):
    """Gradient descent as in the seed's cells 23-29: W -= lr * grad_W, V -= lr * grad_V for each batch.

    batch_size None: one full batch per epoch (the seed); otherwise batches of that many rows, in data order.
    """
    X, T = np.asarray(X, dtype=np.float64), np.asarray(T, dtype=np.float64)
    W, V = np.array(W, dtype=np.float64), np.array(V, dtype=np.float64)
    size = batch_size or len(X)
    for _ in range(epochs):
        for start in range(0, len(X), size):
            step = backprop(X[start : start + size], T[start : start + size], W, V)
            W -= lr * step.grad_W
            V -= lr * step.grad_V
    return W, V
