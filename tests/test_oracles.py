"""The two oracles are right beyond the seed's one instance: finite differences, and each other."""

import numpy as np
import pytest
import torch

from backprop_by_example import by_hand, tape
from backprop_by_example.module import BackpropModule


def random_problem(seed, n=3, dims=(2, 2, 2)):
    rng = np.random.default_rng(seed)
    i, h, o = dims
    return rng.normal(size=(n, i)), rng.uniform(size=(n, o)), rng.normal(size=(i, h)), rng.normal(size=(h, o))


def total_loss(X, T, W, V):
    return by_hand.backprop(X, T, W, V).loss.sum()


def central_difference(f, A, eps=1e-6):
    grad = np.zeros_like(A)
    for idx in np.ndindex(A.shape):
        up, down = A.copy(), A.copy()
        up[idx] += eps
        down[idx] -= eps
        grad[idx] = (f(up) - f(down)) / (2 * eps)
    return grad


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_by_hand_gradients_equal_finite_differences(seed):
    X, T, W, V = random_problem(seed, dims=(3, 4, 2))
    step = by_hand.backprop(X, T, W, V)
    np.testing.assert_allclose(step.grad_W, central_difference(lambda W_: total_loss(X, T, W_, V), W), atol=1e-8)
    np.testing.assert_allclose(step.grad_V, central_difference(lambda V_: total_loss(X, T, W, V_), V), atol=1e-8)
    grad_X = central_difference(lambda X_: total_loss(X_, T, W, V), X)
    np.testing.assert_allclose(step.grad_x, grad_X, atol=1e-8)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tape_equals_by_hand_for_random_weights(seed):
    X, T, W, V = random_problem(seed, n=1, dims=(3, 4, 2))
    expected = by_hand.backprop(X, T, W, V)
    got = tape.backprop(X[0], T[0], W.tolist(), V.tolist())
    for name in ("h_in", "h_out", "y_in", "y_out", "e", "grad_y_out", "grad_y_in", "grad_h_out", "grad_h_in", "grad_x"):
        np.testing.assert_allclose(got[name], getattr(expected, name)[0], rtol=1e-12, atol=1e-15, err_msg=name)
    np.testing.assert_allclose(got["grad_W"], expected.grad_W, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got["grad_V"], expected.grad_V, rtol=1e-12, atol=1e-15)
    assert got["loss"] == pytest.approx(expected.loss[0], rel=1e-12)


def test_gradient_of_a_batch_is_the_sum_of_per_instance_gradients():
    """Seed cells 23-24: g_W = g_W_1 + g_W_2, which the vectorized pass gets from one matrix product."""
    X, T, W, V = random_problem(3, n=4)
    batch = by_hand.backprop(X, T, W, V)
    singles = [by_hand.backprop(X[i : i + 1], T[i : i + 1], W, V) for i in range(len(X))]
    np.testing.assert_allclose(batch.grad_W, sum(s.grad_W for s in singles), rtol=1e-12)
    np.testing.assert_allclose(batch.grad_V, sum(s.grad_V for s in singles), rtol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_modules_loss_has_the_hand_derived_loss_and_gradients_for_random_weights(seed):
    """What Lightning trains on (module.loss_and_outputs, autograd's backward) is the seed's summed loss and its
    gradients."""
    X, T, W, V = random_problem(seed, n=3, dims=(3, 4, 2))
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # as Lightning's trainer.init_module() does for 64-true
    try:
        module = BackpropModule(W.tolist(), V.tolist(), lr=0.5)
    finally:
        torch.set_default_dtype(default)
    loss, _ = module.loss_and_outputs(torch.tensor(X), torch.tensor(T))
    loss.backward()
    expected = by_hand.backprop(X, T, W, V)
    assert loss.item() == pytest.approx(expected.loss.sum(), rel=1e-14)
    np.testing.assert_allclose(module.net.W.grad.numpy(), expected.grad_W, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(module.net.V.grad.numpy(), expected.grad_V, rtol=1e-12, atol=1e-15)
