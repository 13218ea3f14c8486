"""Lightning's DDP on CPU (gloo, 2 processes) gives the single-process arithmetic: every instance counted once,
with either gradient engine (ddp_spawn trains by hand here, ddp with autograd)."""

import csv

import numpy as np
import pytest

import seed_printed as seed
from backprop_by_example import by_hand
from overrides import matrix

pytestmark = pytest.mark.slow

TWO_PROCESSES = ["trainer.accelerator=cpu", "trainer.devices=2"]


def test_ddp_spawn_training_by_hand_reproduces_the_seed_run_to_1e_12(run_train, tmp_path):
    """The hand-derived backward pass gets DDP's averaging too (its backward is scaled back to the sum)."""
    done, summary = run_train(tmp_path, *TWO_PROCESSES, "trainer.strategy=ddp_spawn", "model.gradients=by_hand")
    assert done.returncode == 0, done.stderr
    W, V = by_hand.train(seed.X, seed.T, seed.W, seed.V, seed.lr, 201)  # = the single-process run, to 1e-12
    np.testing.assert_allclose(summary["W"], W, rtol=0, atol=1e-12)
    np.testing.assert_allclose(summary["V"], V, rtol=0, atol=1e-12)
    np.testing.assert_allclose(summary["outputs"], seed.outputs_final, rtol=0, atol=seed.DECIMALS_8)
    assert summary["epochs"] == 201


def test_ddp_with_an_odd_number_of_instances_counts_each_once_in_one_run_dir(run_train, tmp_path):
    """3 instances on 2 processes: shares of 2 and 1, no padding. `ddp` relaunches the script; one run dir, one CSV
    file (written by rank 0: a row per step, once)."""
    X, T = [[3, 1], [-1, 4], [0.5, -2]], [[1, 0], [0, 1], [0.3, 0.7]]
    run_dir = tmp_path / "run"
    done, summary = run_train(
        run_dir, *TWO_PROCESSES, "trainer.strategy=ddp", "trainer.max_epochs=50", "logger=[tensorboard,csv]",
        matrix("data.X", X), matrix("data.T", T),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    W, V = by_hand.train(X, T, seed.W, seed.V, seed.lr, 50)
    np.testing.assert_allclose(summary["W"], W, rtol=0, atol=1e-12)
    np.testing.assert_allclose(summary["V"], V, rtol=0, atol=1e-12)
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    assert done.stdout.count("After 50 epochs") == 1  # only rank 0 reports (and writes summary.json)
    assert sorted(p.name for p in (run_dir / "csv").iterdir()) == ["hparams.yaml", "metrics.csv"]
    with open(run_dir / "csv" / "metrics.csv", newline="") as file:
        assert [int(row["step"]) for row in csv.DictReader(file)] == list(range(51))
