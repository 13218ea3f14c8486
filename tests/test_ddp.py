"""Lightning's DDP on CPU (gloo, 2 processes) gives the single-process arithmetic: every instance counted once,
with either gradient engine (ddp_spawn trains by hand here, ddp with autograd)."""

import csv
import json

import numpy as np
import pytest

import seed_printed as seed
from backprop_by_example import by_hand
from conftest import QUIET, session_items
from overrides import matrix

pytestmark = pytest.mark.slow

TWO_PROCESSES = ["trainer.accelerator=cpu", "trainer.devices=2"]
X3, T3 = [[3, 1], [-1, 4], [0.5, -2]], [[1, 0], [0, 1], [0.3, 0.7]]  # 3 instances on 2 processes: shares of 2 and 1


# The run each test reads: `ddp_spawn` trains in processes it starts, `ddp` starts the script again (in the same dir)
RUNS = {
    "test_ddp_spawn_training_by_hand_follows_the_numpy_oracle_to_1e_12": [
        "trainer.strategy=ddp_spawn", "model.gradients=by_hand", "trainer.max_epochs=20",
    ],
    "test_ddp_with_an_odd_number_of_instances_counts_each_once_in_one_run_dir": [
        "trainer.strategy=ddp", "trainer.max_epochs=50", "logger=[tensorboard,csv]", matrix("data.X", X3),
        matrix("data.T", T3),
    ],
}  # fmt: skip


def start_early(session, start_script, tmp_path_factory):
    """The runs of this module's tests in the session, started with it (conftest.started_early: seconds each,
    mostly their processes' imports): test -> (the dir it ran in, with its run dir `run`; Run)."""
    runs = {}
    for test, overrides in RUNS.items():
        if session_items(session, test):
            cwd = tmp_path_factory.mktemp("ddp")
            runs[test] = cwd, start_script("train", cwd, "hydra.run.dir=run", *QUIET, *TWO_PROCESSES, *overrides)
    return runs


def finished(early, request):
    """The test's run: the dir it ran in, Run and summary.json, once it has ended well."""
    cwd, run = early[request.node.originalname]
    assert run.wait() == 0, run.stderr
    return cwd, run, json.loads((cwd / "run" / "summary.json").read_text())


def test_ddp_spawn_training_by_hand_follows_the_numpy_oracle_to_1e_12(early, request):
    """The hand-derived backward pass gets DDP's averaging too (its backward is scaled back to the sum); the main
    process, which trains nothing itself, reports the trained weights its workers send back."""
    _, _, summary = finished(early, request)
    W, V = by_hand.train(seed.X, seed.T, seed.W, seed.V, seed.lr, 20)  # = the single-process run, to 1e-12
    np.testing.assert_allclose(summary["W"], W, rtol=0, atol=1e-12)
    np.testing.assert_allclose(summary["V"], V, rtol=0, atol=1e-12)
    np.testing.assert_allclose(summary["outputs"], by_hand.backprop(seed.X, seed.T, W, V).y_out, rtol=0, atol=1e-12)
    assert (summary["epochs"], summary["steps"]) == (20, 20)


def test_ddp_with_an_odd_number_of_instances_counts_each_once_in_one_run_dir(early, request):
    """3 instances on 2 processes: shares of 2 and 1, no padding. `ddp` relaunches the script; one run dir, one CSV
    file (written by rank 0: a row per step, once)."""
    cwd, run, summary = finished(early, request)
    W, V = by_hand.train(X3, T3, seed.W, seed.V, seed.lr, 50)
    np.testing.assert_allclose(summary["W"], W, rtol=0, atol=1e-12)
    np.testing.assert_allclose(summary["V"], V, rtol=0, atol=1e-12)
    assert [p.name for p in cwd.iterdir()] == ["run"]
    assert run.stdout.count("After 50 epochs") == 1  # only rank 0 reports (and writes summary.json)
    assert sorted(p.name for p in (cwd / "run" / "csv").iterdir()) == ["hparams.yaml", "metrics.csv"]
    with open(cwd / "run" / "csv" / "metrics.csv", newline="") as file:
        assert [int(row["step"]) for row in csv.DictReader(file)] == list(range(51))
