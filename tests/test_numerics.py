"""Large weights (W = +-1000): the network, the loss and both oracles stay finite and warning-free."""

import warnings

import numpy as np
import pytest
import torch

import seed_printed as seed
from backprop_by_example import by_hand, tape
from backprop_by_example.module import BackpropModule

W_HUGE = [[1000.0, -1000.0], [-1000.0, 1000.0]]


def test_by_hand_is_finite_and_warning_free_for_huge_weights():
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        step = by_hand.backprop(seed.X, seed.T, W_HUGE, seed.V)
    for value in step:
        assert np.isfinite(value).all()
    assert set(np.unique(step.h_out)) == {0.0, 1.0}  # saturated, as sigmoid(+-1000) is to float64


def test_tape_is_finite_for_huge_weights():
    result = tape.backprop(seed.x1, seed.t1, W_HUGE, seed.V)
    assert np.isfinite(result["grad_W"]).all() and np.isfinite(result["loss"])


def test_module_loss_and_gradients_are_finite_for_huge_weights():
    module = BackpropModule(W=W_HUGE, V=seed.V, lr=seed.lr).double()
    X, T = torch.tensor(seed.X, dtype=torch.float64), torch.tensor(seed.T, dtype=torch.float64)
    loss, _ = module.loss_and_outputs(X, T)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(module.net.W.grad).all()
    assert loss.item() == pytest.approx(by_hand.backprop(seed.X, seed.T, W_HUGE, seed.V).loss.sum(), rel=1e-12)


def test_stable_sigmoid_is_the_seed_formula_for_z_at_least_0_and_the_same_function_below():
    z = np.linspace(0, 40, 401)
    np.testing.assert_array_equal(by_hand.sigmoid(z), 1.0 / (1.0 + np.exp(-z)))
    np.testing.assert_allclose(by_hand.sigmoid(-z), 1.0 / (1.0 + np.exp(z)), rtol=1e-15)  # no overflow up to 40
    assert by_hand.sigmoid(-1000.0) == 0.0 and by_hand.sigmoid(1000.0) == 1.0
