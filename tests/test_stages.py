"""The backward pass stage by stage, as the seed draws it: what each frame shows, against the seed's printed
numbers and the hand-derived numpy oracle. (The pictures themselves: test_explain.py.)"""

import math

import numpy as np
import pytest

import seed_printed as seed
from backprop_by_example import by_hand
from backprop_by_example.pictures.stages import numbers, stages

ORDER = ["forward", "error", "output_sigmoid", "grad_V", "grad_h_out", "hidden_sigmoid", "grad_W"]
ADDS = {  # stage -> the quantities it adds, at units or (grad) on the edges of a layer
    "error": {"e", "grad_y_out"}, "output_sigmoid": {"grad_y_in"}, "grad_V": {"v"},
    "grad_h_out": {"grad_h_out"}, "hidden_sigmoid": {"grad_h_in"}, "grad_W": {"w", "grad_x"},
}  # fmt: skip


@pytest.fixture(scope="module")
def seed_stages():
    return stages(seed.x1, seed.t1, seed.W, seed.V)


def at(stage, layer, quantity):
    """The values of a quantity at every unit of a layer, unit by unit."""
    units = sorted(n for name, n in stage.units if name == layer)
    return [stage.units[(layer, n)][quantity] for n in units]


def grads(stage, letter, rows, cols):
    return [[stage.edges[(letter, i, j)]["grad"] for j in range(1, cols + 1)] for i in range(1, rows + 1)]


def test_the_seven_stages_come_in_the_seeds_order_each_adding_its_own_values(seed_stages):
    assert [stage.name for stage in seed_stages] == ORDER
    assert len(seed_stages[0].added) == 2 + 2 * 2 + 3 * 2  # every forward value: x; h_in, h_out; y_in, y_out, t
    for stage in seed_stages[1:]:
        added = {q if kind == "unit" else key[0] for kind, key, q in stage.added}
        assert added == ADDS[stage.name], stage.name


def test_a_stage_shows_all_that_the_stages_before_it_showed(seed_stages):
    for before, after in zip(seed_stages, seed_stages[1:], strict=False):
        for unit, values in before.units.items():
            assert after.units[unit].items() >= values.items()
        for edge, values in before.edges.items():
            assert after.edges[edge].items() >= values.items()


def test_the_last_stage_shows_every_value_the_seed_prints_in_cells_2_to_7(seed_stages):
    last = seed_stages[-1]
    for layer, quantities in {
        "h": ["h_in", "h_out", "grad_h_out", "grad_h_in"],
        "y": ["y_in", "y_out", "e", "grad_y_out", "grad_y_in"],
        "x": ["grad_x"],
    }.items():
        for quantity in quantities:
            np.testing.assert_allclose(at(last, layer, quantity), getattr(seed, quantity), rtol=1e-12, err_msg=quantity)
    np.testing.assert_allclose(grads(last, "v", 2, 2), seed.grad_V, rtol=1e-12)
    np.testing.assert_allclose(grads(last, "w", 2, 2), seed.grad_W, rtol=1e-12)


def test_the_worked_cases_are_the_seeds_numbers_and_add_up(seed_stages):
    worked = {case.name: case for stage in seed_stages for case in stage.worked}
    printed = {
        "h1_in": seed.h_in[0], "e1": seed.e[0], "grad_y1_out": seed.grad_y_out[0], "grad_y1_in": seed.grad_y_in[0],
        "grad_v21": seed.grad_v21, "grad_h1_out": seed.grad_h_out[0], "grad_h1_in": seed.grad_h_in[0],
        "grad_w11": seed.grad_w11, "grad_x1": seed.grad_x[0],
    }  # fmt: skip
    assert set(worked) == set(printed)
    for name, case in worked.items():
        assert case.value == pytest.approx(printed[name], rel=1e-12), name
        assert math.fsum(math.prod(factors) for factors in case.terms) == pytest.approx(case.value, rel=1e-9), name
    assert numbers(worked["grad_v21"]) == "grad_v21 = h2_out grad_y1_in = 0.01799 x (-0.1052) = -0.001892"
    assert seed_stages[3].focus == ("v", 2, 1)  # the seed highlights v21 (figure last-layer-weight)


def test_for_other_weights_and_dims_every_stage_shows_the_numpy_oracle():
    rng = np.random.default_rng(5)
    x, t = rng.normal(size=3).tolist(), rng.uniform(size=2).tolist()
    W, V = rng.normal(size=(3, 4)).tolist(), rng.normal(size=(4, 2)).tolist()
    expected = by_hand.backprop([x], [t], W, V)
    passes = stages(x, t, W, V)
    for stage in passes:
        for (_, n), values in stage.units.items():
            for quantity, value in values.items():
                oracle = {"x": x, "t": t}.get(quantity) or getattr(expected, quantity)[0]
                assert value == pytest.approx(oracle[n - 1], rel=1e-12, abs=1e-300), (stage.name, quantity)
        for (letter, i, j), values in stage.edges.items():
            weight, grad = (W, expected.grad_W) if letter == "w" else (V, expected.grad_V)
            assert values["weight"] == weight[i - 1][j - 1]
            if "grad" in values:
                assert values["grad"] == pytest.approx(grad[i - 1][j - 1], rel=1e-12)
    assert len(passes[-1].edges) == 3 * 4 + 4 * 2
