"""Training with the seed's own derivation (`model.gradients=by_hand`): the same numbers as autograd, to the last
digits, for the seed and any width, batches and processes."""

import numpy as np
import pytest
import torch

import seed_printed as seed
from backprop_by_example import by_hand
from backprop_by_example.run.training import train
from backprop_by_example.torch_by_hand import SMALL, loss_and_gradients, squared_error
from conftest import on, session_items, summary_of, train_each
from overrides import matrix

BY_HAND = "model.gradients=by_hand"
FAST = "log.details=false"


def tensors(*arrays, requires_grad=False):
    return [torch.tensor(A, dtype=torch.float64, requires_grad=requires_grad) for A in arrays]


def random_problem(n, dims, seed=0):
    rng = np.random.default_rng(seed)
    inputs, hidden, outputs = dims
    X, T = rng.normal(size=(n, inputs)), rng.uniform(size=(n, outputs))
    W, V = rng.normal(size=(inputs, hidden)), rng.normal(size=(hidden, outputs))
    return X, T, W, V


SHAPES = [(1, (2, 2, 2)), (2, (2, 2, 2)), (7, (3, 5, 2)), (4, (1, 3, 4)), (5, (3, SMALL + 4, 2))]


@pytest.mark.parametrize("n, dims", SHAPES)
def test_gradcheck_of_the_hand_derived_backward_against_finite_differences(n, dims):
    X, T, W, V = tensors(*random_problem(n, dims))
    W.requires_grad_(), V.requires_grad_()
    assert torch.autograd.gradcheck(lambda W, V: squared_error(X, T, W, V), (W, V))


@pytest.mark.parametrize("n, dims", SHAPES)  # the last is wider than SMALL: written as matrices
def test_the_fused_step_works_out_the_loss_and_gradients_of_the_numpy_oracle(n, dims):
    """Unit by unit (cells 2-7) for narrow nets, as matrices for wide ones; here not compiled, the same formulas."""
    problem = random_problem(n, dims)
    L, grad_W, grad_V = loss_and_gradients(*tensors(*problem))
    expected = by_hand.backprop(*problem)
    assert L.item() == pytest.approx(expected.loss.sum(), rel=1e-12)
    np.testing.assert_allclose(grad_W.numpy(), expected.grad_W, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(grad_V.numpy(), expected.grad_V, rtol=1e-10, atol=1e-14)


def test_the_seeds_instance_1_gets_the_gradients_the_seed_prints_in_cells_5_and_7():
    X, T = tensors([seed.x1], [seed.t1])
    W, V = tensors(seed.W, seed.V, requires_grad=True)
    squared_error(X, T, W, V).backward()
    np.testing.assert_allclose(W.grad.numpy(), seed.grad_W, rtol=1e-12, atol=0)
    np.testing.assert_allclose(V.grad.numpy(), seed.grad_V, rtol=1e-12, atol=0)


def test_201_epochs_by_hand_give_the_seeds_numbers_and_equal_autograd_to_1e_12(config, tmp_path, device):
    hand = train(config(device, FAST, BY_HAND), tmp_path / "by_hand")
    auto = train(config(device, FAST), tmp_path / "autograd")
    np.testing.assert_allclose(hand["outputs"], seed.outputs_final, rtol=0, atol=seed.DECIMALS_8)
    np.testing.assert_allclose(hand["W"], seed.W_final, rtol=0, atol=seed.DECIMALS_8)
    np.testing.assert_allclose(hand["V"], seed.V_final, rtol=0, atol=seed.DECIMALS_8)
    for key in ("W", "V", "outputs", "losses"):
        np.testing.assert_allclose(hand[key], auto[key], rtol=0, atol=1e-12, err_msg=key)


@pytest.mark.parametrize(
    "dims, batches",
    [((3, 5, 2), ["data.batch_size=3"]), ((2, 12, 3), ["data.batch_size=4"]), ((4, 2, 1), [])],
)
def test_any_width_and_mini_batches_by_hand_follow_the_numpy_oracle(config, tmp_path, dims, batches):
    X, T, W, V = (A.round(4) for A in random_problem(10, dims, seed=3))
    inputs, hidden, outputs = dims
    shape = [f"model.input_dim={inputs}", f"model.hidden_dim={hidden}", f"model.output_dim={outputs}"]
    values = [matrix("model.W", W), matrix("model.V", V), matrix("data.X", X), matrix("data.T", T)]
    summary = train(config(FAST, BY_HAND, *shape, *values, *batches, "trainer.max_epochs=20"), tmp_path)
    size = int(batches[0].split("=")[1]) if batches else None
    W_end, V_end = by_hand.train(X, T, W, V, seed.lr, 20, batch_size=size)
    np.testing.assert_allclose(summary["W"], W_end, rtol=0, atol=1e-12)
    np.testing.assert_allclose(summary["V"], V_end, rtol=0, atol=1e-12)


def test_shuffled_batches_by_hand_equal_autograd_to_1e_12(config, tmp_path, device):
    shuffled = [device, FAST, "model=random", "model.hidden_dim=4", "data.batch_size=1", "data.shuffle=true", "seed=7"]
    hand = train(config(*shuffled, BY_HAND, "trainer.max_epochs=30"), tmp_path / "by_hand")
    auto = train(config(*shuffled, "trainer.max_epochs=30"), tmp_path / "autograd")
    np.testing.assert_allclose(hand["W"], auto["W"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(hand["V"], auto["V"], rtol=0, atol=1e-12)


def test_resuming_a_by_hand_run_is_bitwise_the_run_in_one_go(config, tmp_path, device):
    whole = train(config(device, FAST, BY_HAND), tmp_path / "whole")
    train(config(device, FAST, BY_HAND, "trainer.max_epochs=100"), tmp_path / "first")
    last = tmp_path / "first" / "checkpoints" / "last.ckpt"
    resumed = train(config(device, FAST, BY_HAND, f"ckpt_path={last}"), tmp_path / "resumed")
    assert (resumed["W"], resumed["V"], resumed["epochs"]) == (whole["W"], whole["V"], 201)


X5 = [[3, 1], [-1, 4], [0.5, -2], [2, 2], [-3, 0.5]]
T5 = [[1, 0], [0, 1], [0.3, 0.7], [1, 1], [0, 0]]
WIDE = tuple(A.round(4) for A in random_problem(10, (2, SMALL + 4, 2), seed=3))  # X, T, W, V of a 2-8-2 net

# The compiled runs the tests below read, by test: what they train on
COMPILED = {
    "test_the_fused_compiled_step_stays_exact_with_a_smaller_last_batch": [
        matrix("data.X", X5), matrix("data.T", T5), "data.batch_size=2", "trainer.max_epochs=5",
    ],
    "test_the_fused_engine_computes_in_float32_under_bf16_mixed_also_as_matrices": [
        *(matrix(key, A) for key, A in zip(["data.X", "data.T", "model.W", "model.V"], WIDE, strict=True)),
        f"model.hidden_dim={SMALL + 4}", "trainer.precision=bf16-mixed", "trainer.max_epochs=20",
    ],
}  # fmt: skip


def start_early(session, start_script, tmp_path_factory):
    """The compiled runs of the session's cases of the tests below, trained beside the tests
    (conftest.train_each): (test, device override) -> (run dir, Future)."""
    runs = {}
    for test, overrides in COMPILED.items():
        for device in (on(item.callspec.params["device"]) for item in session_items(session, test)):
            runs[test, device] = [device, FAST, BY_HAND, "model.compile=true", *overrides]
    return train_each(start_script, tmp_path_factory, runs)


@pytest.mark.slow
def test_the_fused_compiled_step_stays_exact_with_a_smaller_last_batch(early, request, device):
    """Five instances in batches of two: the last batch has one, and gets its own compiled graph."""
    summary = summary_of(*early[request.node.originalname, device])
    W, V = by_hand.train(X5, T5, seed.W, seed.V, seed.lr, 5, batch_size=2)
    np.testing.assert_allclose(summary["W"], W, rtol=0, atol=1e-12)
    np.testing.assert_allclose(summary["V"], V, rtol=0, atol=1e-12)


@pytest.mark.slow
def test_the_fused_engine_computes_in_float32_under_bf16_mixed_also_as_matrices(early, request, device):
    """2-8-2, wider than SMALL: the matrix form, whose products autocast would run in bf16 (2**-8 off each). After 20
    epochs the weights are the float64 oracle's to float32's rounding: 2**-23 relative an update, weights up to 2.4."""
    X, T, W, V = WIDE
    summary = summary_of(*early[request.node.originalname, device])
    W_end, V_end = by_hand.train(X, T, W, V, seed.lr, 20)
    np.testing.assert_allclose(summary["W"], W_end, rtol=0, atol=20 * 2**-23 * 2.4)
    np.testing.assert_allclose(summary["V"], V_end, rtol=0, atol=20 * 2**-23 * 2.4)
