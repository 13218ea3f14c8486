"""Run dirs: a sweep gives each job its own (the jobs the preflight checks are the ones it runs), and runs started
together never share one."""

import json

import numpy as np
import pytest
import yaml
from omegaconf import OmegaConf

import seed_printed as seed
from backprop_by_example import by_hand
from backprop_by_example.run import preflight
from conftest import QUIET

pytestmark = pytest.mark.slow


def start_early(session, start_script, tmp_path_factory):
    """A real sweep of four jobs, two learning rates, each for 9 and 10 epochs: started with the session
    (conftest.started_early), where a test reads it -> (the dir it runs in, Run)."""
    if any("sweep" in item.fixturenames for item in session.items):
        cwd = tmp_path_factory.mktemp("sweep")
        sweep = ["-m", "optimizer.lr=0.1,0.5", "trainer.max_epochs=range(9,11)", "log.details=false"]
        return cwd, start_script("train", cwd, *sweep, *QUIET)
    return None


@pytest.fixture(scope="module")
def sweep(early):
    """The sweep, once it has ended -> (its exit status, the dir)."""
    cwd, run = early
    return run.wait(timeout=300), cwd


def test_a_sweep_gives_each_job_its_own_run_dir_summary_and_tensorboard_run(sweep):
    status, cwd = sweep
    assert status == 0
    jobs = sorted(cwd.glob("outputs/multirun/*/*/*/summary.json"))
    assert [p.parent.name for p in jobs] == ["0", "1", "2", "3"]
    for job, (lr, epochs) in zip(jobs, [(0.1, 9), (0.1, 10), (0.5, 9), (0.5, 10)], strict=True):  # Hydra's order
        W, _ = by_hand.train(seed.X, seed.T, seed.W, seed.V, lr, epochs)
        np.testing.assert_allclose(json.loads(job.read_text())["W"], W, rtol=0, atol=1e-12)
        assert list(job.parent.glob("tensorboard/events.out.tfevents.*"))


def test_the_jobs_the_preflight_checks_are_the_jobs_hydra_runs_in_its_order(sweep):
    """preflight.jobs works the basic sweeper's jobs out itself (Hydra's sweeper is internal): against a real one's,
    each job's overrides as Hydra wrote them into its run dir."""
    _, cwd = sweep
    (sweep_dir,) = cwd.glob("outputs/multirun/*/*/")
    ran = [yaml.safe_load((sweep_dir / str(job) / ".hydra" / "overrides.yaml").read_text()) for job in range(4)]
    assert ran[1][:2] == ["optimizer.lr=0.1", "trainer.max_epochs=10"]
    assert preflight.jobs(OmegaConf.load(sweep_dir / "multirun.yaml"))[1] == ran


def test_two_runs_started_together_get_run_dirs_of_their_own(start_train, tmp_path):
    runs = [start_train(tmp_path, "trainer.max_epochs=1") for _ in range(2)]
    assert [run.wait(timeout=300) for run in runs] == [0, 0]
    assert len(list(tmp_path.glob("outputs/*/*/summary.json"))) == 2
