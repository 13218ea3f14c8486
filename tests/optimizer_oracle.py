"""Full-batch training with momentum SGD and with Adam in numpy, from the update rules in torch's documentation
(torch.optim.SGD and torch.optim.Adam, defaults otherwise: no dampening, no Nesterov, no weight decay, no amsgrad),
with the gradients of the seed's own derivation (by_hand.backprop): an oracle independent of torch.optim."""

import numpy as np

from backprop_by_example import by_hand


def gradients(X, T, W, V):
    step = by_hand.backprop(X, T, W, V)
    return step.grad_W, step.grad_V


def sgd_momentum(X, T, W, V, lr, momentum, epochs):
    """b = momentum * b + g (b = g at the first step), w -= lr * b; for W and V alike. `lr`: one, or one per epoch."""
    lrs = np.broadcast_to(lr, epochs)
    weights = [np.array(W, dtype=np.float64), np.array(V, dtype=np.float64)]
    buffers = [None, None]
    for epoch in range(epochs):
        for i, g in enumerate(gradients(X, T, *weights)):
            buffers[i] = g.copy() if buffers[i] is None else momentum * buffers[i] + g
            weights[i] = weights[i] - lrs[epoch] * buffers[i]
    return weights


def adam(X, T, W, V, lr, epochs, beta1=0.9, beta2=0.999, eps=1e-8):
    """m = beta1 m + (1 - beta1) g, v = beta2 v + (1 - beta2) g**2, m_hat = m / (1 - beta1**t),
    v_hat = v / (1 - beta2**t), w -= lr * m_hat / (sqrt(v_hat) + eps), at step t = 1, 2, ... `lr`: one, or one per
    epoch."""
    lrs = np.broadcast_to(lr, epochs)
    weights = [np.array(W, dtype=np.float64), np.array(V, dtype=np.float64)]
    m = [np.zeros_like(w) for w in weights]
    v = [np.zeros_like(w) for w in weights]
    for t in range(1, epochs + 1):
        for i, g in enumerate(gradients(X, T, *weights)):
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = beta2 * v[i] + (1 - beta2) * g**2
            m_hat = m[i] / (1 - beta1**t)
            v_hat = v[i] / (1 - beta2**t)
            weights[i] = weights[i] - lrs[t - 1] * m_hat / (np.sqrt(v_hat) + eps)
    return weights
