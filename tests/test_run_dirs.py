"""Run dirs: a sweep gives each job its own, and runs started together never share one."""

import json

import numpy as np
import pytest

import seed_printed as seed
from backprop_by_example import by_hand

pytestmark = pytest.mark.slow


def test_a_sweep_gives_each_learning_rate_its_own_run_dir_summary_and_tensorboard_run(start_train, tmp_path):
    sweep = start_train(tmp_path, "-m", "optimizer.lr=0.1,0.5,1.0", "trainer.max_epochs=10", "log.details=false")
    assert sweep.wait(timeout=300) == 0
    jobs = sorted(tmp_path.glob("outputs/multirun/*/*/*/summary.json"))
    assert [p.parent.name for p in jobs] == ["0", "1", "2"]
    for job, lr in zip(jobs, [0.1, 0.5, 1.0], strict=True):
        W, _ = by_hand.train(seed.X, seed.T, seed.W, seed.V, lr, 10)
        np.testing.assert_allclose(json.loads(job.read_text())["W"], W, rtol=0, atol=1e-12)
        assert list(job.parent.glob("tensorboard/events.out.tfevents.*"))


def test_two_runs_started_together_get_run_dirs_of_their_own(start_train, tmp_path):
    runs = [start_train(tmp_path, "trainer.max_epochs=1") for _ in range(2)]
    assert [run.wait(timeout=300) for run in runs] == [0, 0]
    assert len(list(tmp_path.glob("outputs/*/*/summary.json"))) == 2
