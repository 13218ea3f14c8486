"""The seed's vectorized derivation (cells 15-22) in torch: the gradient that `model.gradients=by_hand` trains with.

Rows of X and T are instances; for the summed squared error L = sum((Y - T)**2):

    H = sigmoid(X @ W)              Y = sigmoid(H @ V)              E = Y - T
    grad_Y = 2 E                    grad_Y_in = Y (1 - Y) grad_Y    (through the output sigmoid)
    grad_V = H.T @ grad_Y_in        grad_H = grad_Y_in @ V.T        (the last layer, cells 18-19)
    grad_H_in = H (1 - H) grad_H    grad_W = X.T @ grad_H_in        (the first layer, cell 20)

`SquaredError` is a torch.autograd.Function: its forward is the pass above, its backward these formulas, with no
autograd inside. Lightning calls `loss.backward()` as for any loss, so automatic optimization, gradient clipping and
accumulation, DDP's averaging, precision and checkpoints work as they do with autograd.

The matrix products have the seed's sizes on one side (2 inputs, 2 units, 2 outputs). Where they are that small,
`product` writes them as a broadcast multiply and a sum: under torch.compile those fuse with the sigmoids around them
into a few passes over the data, where `@` would be a call of its own each. Past `SMALL` units `@` is faster.
"""

import torch

SMALL = 8  # widest layer for which the broadcast form is used (benchmark.py measures the crossover)


def product(A, B):
    """A @ B, as a broadcast multiply and a sum over the inner dim when the net is narrow."""
    if max(A.shape[1], B.shape[1]) <= SMALL:
        return (A.unsqueeze(2) * B.unsqueeze(0)).sum(1)
    return A @ B


def outer_sum(A, B):
    """A.T @ B: the sum over instances of the outer products of their rows (cells 18 and 20)."""
    if max(A.shape[1], B.shape[1]) <= SMALL:
        return (A.unsqueeze(2) * B.unsqueeze(1)).sum(0)
    return A.T @ B


class SquaredError(torch.autograd.Function):
    """L = sum((sigmoid(sigmoid(X @ W) @ V) - T)**2), differentiated by hand with respect to W and V."""

    @staticmethod
    def forward(ctx, X, T, W, V):
        H = torch.sigmoid(product(X, W))
        Y = torch.sigmoid(product(H, V))
        E = Y - T
        ctx.save_for_backward(X, W, V, H, Y, E)
        return (E * E).sum()

    @staticmethod
    def backward(ctx, grad_L):
        X, W, V, H, Y, E = ctx.saved_tensors
        grad_Y = 2 * E
        grad_Y_in = Y * (1 - Y) * grad_Y
        grad_V = outer_sum(H, grad_Y_in)
        grad_H = product(grad_Y_in, V.T)
        grad_H_in = H * (1 - H) * grad_H
        grad_W = outer_sum(X, grad_H_in)
        # grad_L: what Lightning scales the loss by (the DDP and accumulation factors), 1 otherwise; the weights'
        # own dtype, should autocast have run the products in a lower one
        return None, None, (grad_L * grad_W).to(W.dtype), (grad_L * grad_V).to(V.dtype)


def squared_error(X, T, W, V):
    """The summed loss, with the hand-derived backward pass."""
    return SquaredError.apply(X, T, W, V)
