"""Instance 1 with the seed's weights: every value the seed prints in cells 2-7, from three engines."""

import numpy as np
import pytest
import torch

import seed_printed as seed
from backprop_by_example import by_hand, tape
from backprop_by_example.network import squared_error
from backprop_by_example.run.training import build

FORWARD = ["h_in", "h_out", "y_in", "y_out", "e"]
PER_INSTANCE_GRADS = ["grad_y_out", "grad_y_in", "grad_h_out", "grad_h_in", "grad_x"]
BACKWARD = PER_INSTANCE_GRADS + ["grad_W", "grad_V"]


def by_hand_engine(config, tmp_path):
    step = by_hand.backprop([seed.x1], [seed.t1], seed.W, seed.V)
    first_row = {name: getattr(step, name)[0] for name in FORWARD + PER_INSTANCE_GRADS}
    return first_row | {"loss": step.loss[0], "grad_W": step.grad_W, "grad_V": step.grad_V}


def tape_engine(config, tmp_path):
    return tape.backprop(seed.x1, seed.t1, seed.W, seed.V)


def lightning_engine(config, tmp_path):
    """The LightningModule built as scripts/train.py builds it (float64), differentiated by torch autograd."""
    _, module, _ = build(config(), tmp_path)
    x = torch.tensor([seed.x1], dtype=torch.float64, requires_grad=True)
    t = torch.tensor([seed.t1], dtype=torch.float64)

    loss, _ = module.loss_and_outputs(x, t)
    loss.backward()
    values = {"loss": loss.item(), "grad_W": module.net.W.grad, "grad_V": module.net.V.grad, "grad_x": x.grad[0]}

    acts = module.net.activations(x)
    values |= {name: value[0] for name, value in acts._asdict().items()} | {"e": (acts.y_out - t)[0]}
    # the gradients of the intermediates, from autograd through the same activations
    inner = {"grad_y_out": acts.y_out, "grad_y_in": acts.y_in, "grad_h_out": acts.h_out, "grad_h_in": acts.h_in}
    grads = torch.autograd.grad(squared_error(acts.y_out, t).sum(), list(inner.values()))
    values |= {name: grad[0] for name, grad in zip(inner, grads, strict=True)}
    return {name: np.asarray(torch.as_tensor(v).detach()) for name, v in values.items()}


ENGINES = [by_hand_engine, tape_engine, lightning_engine]


@pytest.fixture(params=ENGINES, ids=lambda f: f.__name__.removesuffix("_engine"))
def instance1(request, config, tmp_path):
    return request.param(config, tmp_path)


@pytest.mark.parametrize("name", FORWARD)
def test_forward_values_match_seed_cells_2_and_3(instance1, name):
    np.testing.assert_allclose(instance1[name], getattr(seed, name), rtol=1e-9, atol=0)


def test_loss_matches_seed_cell_16(instance1):
    assert instance1["loss"] == pytest.approx(seed.loss, abs=seed.DECIMALS_8)
    # and, to 1e-9, the sum of the squares of the errors the seed prints in full (cell 3)
    assert instance1["loss"] == pytest.approx(sum(e**2 for e in seed.e), rel=1e-9)


@pytest.mark.parametrize("name", BACKWARD)
def test_gradients_match_seed_cells_3_to_7(instance1, name):
    np.testing.assert_allclose(instance1[name], getattr(seed, name), rtol=1e-9, atol=0)
