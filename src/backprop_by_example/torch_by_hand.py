"""The seed's hand-derived backward pass in torch: the gradient that `model.gradients=by_hand` trains with.

Rows of X and T are instances; for the summed squared error L = sum((Y - T)**2), the vectorized derivation
(cells 15-20):

    H = sigmoid(X @ W)              Y = sigmoid(H @ V)              E = Y - T
    grad_Y = 2 E                    grad_Y_in = Y (1 - Y) grad_Y    (through the output sigmoid)
    grad_V = H.T @ grad_Y_in        grad_H = grad_Y_in @ V.T        (the last layer, cells 18-19)
    grad_H_in = H (1 - H) grad_H    grad_W = X.T @ grad_H_in        (the first layer, cell 20)

`SquaredError` is a torch.autograd.Function: its forward is the pass above, its backward these formulas, with no
autograd inside. Lightning calls `loss.backward()` as for any loss, so automatic optimization, gradient clipping and
accumulation, DDP's averaging, precision and checkpoints work as they do with autograd.

`Fused` is the same arithmetic for `model.compile=true`: loss and both gradients worked out together, compiled into a
few passes over the data, in the weights' dtype whatever the precision (autocast off: float32 under the mixed
precisions, for either form). For a narrow net (at most SMALL units a layer) it is written as the seed's cells 2-7, one
unit at a time (h1_in = w11 x1 + w21 x2, ...), each unit a column of instances: only elementwise arithmetic and sums
over instances, which the compiler fuses into one loop along the instances. The matrix form would loop over a layer's
two units innermost, too short to vectorize.
"""

import torch

SMALL = 4  # widest layer that Fused writes unit by unit (benchmark.crossover measures the cost of wider ones)


class SquaredError(torch.autograd.Function):
    """L = sum((sigmoid(sigmoid(X @ W) @ V) - T)**2), differentiated by hand with respect to W and V."""

    @staticmethod
    def forward(ctx, X, T, W, V):
        H, Y, E = forward_pass(X, T, W, V)
        ctx.save_for_backward(X, W, V, H, Y, E)
        return torch.dot(E.flatten(), E.flatten())  # sum(E**2)

    @staticmethod
    def backward(ctx, grad_L):
        # in the weights' dtype (autocast may have run the forward in a lower one)
        X, W, V, H, Y, E = (A.to(ctx.saved_tensors[1].dtype) for A in ctx.saved_tensors)
        grad_W, grad_V = backward_pass(X, V, H, Y, E)
        # grad_L: what Lightning scales the loss by (the DDP and accumulation factors), 1 otherwise
        return None, None, grad_L * grad_W, grad_L * grad_V


def forward_pass(X, T, W, V):
    """H = sigmoid(X @ W), Y = sigmoid(H @ V), E = Y - T."""
    H = (X @ W).sigmoid_()
    Y = (H @ V).sigmoid_()
    return H, Y, Y - T


def backward_pass(X, V, H, Y, E):
    """grad_W and grad_V, by the formulas above. Each step in place where it can be (E stays as it is): at 10^6
    instances a fresh N x 2 buffer costs more than the arithmetic in it."""
    grad_Y = 2 * E
    grad_Y_in = grad_Y.mul_(Y).mul_(1 - Y)  # Y (1 - Y) grad_Y
    grad_V = H.T @ grad_Y_in
    grad_H = grad_Y_in @ V.T
    grad_H_in = grad_H.mul_(H).mul_(1 - H)  # H (1 - H) grad_H
    grad_W = X.T @ grad_H_in
    return grad_W, grad_V


def squared_error(X, T, W, V):
    """The summed loss, with the hand-derived backward pass."""
    return SquaredError.apply(X, T, W, V)


def loss_and_gradients(X, T, W, V):
    """L, grad_W and grad_V at once. Unit by unit for a narrow net (cells 2-7), else as matrices (cells 15-20)."""
    if max(*W.shape, V.shape[1]) > SMALL:
        return _as_matrices(X, T, W, V)
    inputs, hidden, outputs = W.shape[0], W.shape[1], V.shape[1]
    x, t = X.T.contiguous().unbind(0), T.T.contiguous().unbind(0)  # column i: input i of every instance
    h_out = [torch.sigmoid(sum(x[i] * W[i, j] for i in range(inputs))) for j in range(hidden)]
    y_out = [torch.sigmoid(sum(h_out[j] * V[j, k] for j in range(hidden))) for k in range(outputs)]
    e = [y_out[k] - t[k] for k in range(outputs)]
    grad_y_in = [y_out[k] * (1 - y_out[k]) * (2 * e[k]) for k in range(outputs)]  # cells 3-4
    grad_V = _sums([[h_out[j] * grad_y_in[k] for k in range(outputs)] for j in range(hidden)])  # cell 5
    grad_h_out = [sum(grad_y_in[k] * V[j, k] for k in range(outputs)) for j in range(hidden)]  # cell 6
    grad_h_in = [h_out[j] * (1 - h_out[j]) * grad_h_out[j] for j in range(hidden)]  # cell 7
    grad_W = _sums([[x[i] * grad_h_in[j] for j in range(hidden)] for i in range(inputs)])
    return sum((e_k * e_k).sum() for e_k in e), grad_W, grad_V


def _as_matrices(X, T, W, V):
    H, Y, E = forward_pass(X, T, W, V)
    return (E * E).sum(), *backward_pass(X, V, H, Y, E)


def _sums(rows):
    """The matrix of the sums over instances of each entry's column."""
    return torch.stack([torch.stack([column.sum() for column in row]) for row in rows])


class Fused:
    """loss(X, T, W, V) for model.gradients=by_hand with model.compile=true: `loss_and_gradients` compiled; the
    gradients it worked out wait for the backward pass, which only scales them.

    Compiled for the shapes it meets, each on its own (dynamic=False): a smaller last batch gets a graph of its own.
    A graph compiled for one size and run on another does its sums as one long serial loop.
    """

    def __init__(self):
        self.step = torch.compile(loss_and_gradients, dynamic=False)

    def __call__(self, X, T, W, V):
        with without_autocast(X.device):
            return _Worked.apply(X, T, W, V, self.step)


def without_autocast(device):
    """The fused engine's arithmetic: every tensor in its own dtype (the weights'), whatever autocast the precision
    sets. Else the matrix form's products would run in bf16 under bf16-mixed, and the unit form's (elementwise) not."""
    return torch.autocast(device.type, enabled=False)


class _Worked(torch.autograd.Function):
    @staticmethod
    def forward(ctx, X, T, W, V, step):
        L, grad_W, grad_V = step(X, T, W, V)
        ctx.save_for_backward(grad_W.to(W.dtype), grad_V.to(V.dtype))
        return L

    @staticmethod
    def backward(ctx, grad_L):
        grad_W, grad_V = ctx.saved_tensors
        return None, None, grad_L * grad_W, grad_L * grad_V, None


def fused(gradients, compile):
    """Whether model.gradients and model.compile choose the fused step (`Fused`): it reads the data column by column
    (data.TrainingData) and computes in the weights' dtype whatever the precision (`without_autocast`)."""
    return gradients == "by_hand" and compile
