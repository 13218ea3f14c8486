"""Hydra's own knobs: a sweep is checked whole before any job trains, `-m` with `ddp` is refused, the user's paths
hold under `hydra.job.chdir=true`, and the ${pid:} of a run dir's name is resolved once for all of a sweep."""

import json
import os
import pickle

import numpy as np
import pytest
from omegaconf import OmegaConf

import seed_printed as seed
from backprop_by_example import by_hand


@pytest.mark.slow
def test_a_sweep_with_bad_values_trains_nothing_and_names_each_bad_job(start_train, tmp_path):
    sweep = start_train(tmp_path, "-m", "optimizer.lr=0.1,-1,0.5,inf", "trainer.max_epochs=10")
    assert sweep.wait() == 1
    assert sweep.stderr.splitlines() == [
        "Error: job 1 (optimizer.lr=-1): optimizer.lr: expected a finite learning rate > 0, got -1.0",
        "Error: job 3 (optimizer.lr=inf): optimizer.lr: expected a finite learning rate > 0, got inf",
        "No job was started: 2 of the sweep's jobs cannot run.",
    ]
    assert not list(tmp_path.rglob("summary.json")) and not (tmp_path / "outputs").exists()


@pytest.mark.slow
def test_a_sweep_with_a_value_only_lightning_refuses_trains_nothing(start_train, tmp_path):
    sweep = start_train(tmp_path, "-m", "trainer.devices=1,abc", "trainer.max_epochs=10")
    assert sweep.wait() == 1
    assert sweep.stderr.splitlines()[0] == (
        "Error: job 1 (trainer.devices=abc): trainer.devices: `devices` selected with `CPUAccelerator` should be an "
        "int > 0."
    )
    assert not list(tmp_path.rglob("summary.json")) and not (tmp_path / "outputs").exists()


@pytest.mark.slow
def test_a_sweep_with_a_strategy_that_starts_the_script_again_is_refused(start_train, tmp_path):
    sweep = start_train(tmp_path, "-m", "optimizer.lr=0.1,0.5", "trainer.devices=2", "trainer.strategy=ddp")
    assert sweep.wait() == 1
    assert sweep.stderr.startswith(
        "Error: job 0 (optimizer.lr=0.1): trainer.strategy: expected ddp_spawn in a sweep (-m), got ddp: it starts "
        "the script again for each further process, and each would run the whole sweep\nError: job 1 (optimizer.lr=0.5)"
    )
    assert not (tmp_path / "outputs").exists()


@pytest.mark.slow
def test_with_hydra_job_chdir_the_users_relative_paths_are_where_the_command_ran(start_train, tmp_path):
    (tmp_path / "data.csv").write_text("x1,x2,t1,t2\n3,1,1,0\n-1,4,0,1\n")
    common = ["hydra.job.chdir=true", "data=csv", "data.path=data.csv", "log.details=false"]
    first = start_train(tmp_path, *common, "hydra.run.dir=first", "trainer.max_epochs=5")
    assert first.wait() == 0, first.stderr
    assert "Run dir:     first\n" in first.stdout
    resumed = start_train(
        tmp_path, *common, "hydra.run.dir=second", "ckpt_path=first/checkpoints/last.ckpt", "trainer.max_epochs=8"
    )
    assert resumed.wait() == 0, resumed.stderr
    summary = json.loads((tmp_path / "second" / "summary.json").read_text())
    W, V = by_hand.train(seed.X, seed.T, seed.W, seed.V, seed.lr, 8)
    np.testing.assert_allclose(summary["W"], W, rtol=0, atol=1e-12)


def resolved_in_another_process(config):
    """config.dir, resolved in a forked process (another pid) from the pickled config, as a launcher's job does."""
    data = pickle.dumps(config)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, pickle.loads(data).dir.encode())
        os._exit(0)
    os.waitpid(pid, 0)
    return os.read(read, 100).decode()


def test_the_pid_in_a_run_dirs_name_is_resolved_once_and_travels_with_the_config():
    """A sweep's jobs get the sweep's config with what it has resolved (Hydra copies the resolver cache)."""
    sweep = OmegaConf.create({"dir": "outputs/multirun/${pid:}"})
    here = sweep.dir
    assert here == f"outputs/multirun/{os.getpid()}"
    assert resolved_in_another_process(sweep) == here
    unresolved = OmegaConf.create({"dir": "outputs/multirun/${pid:}"})
    assert resolved_in_another_process(unresolved) != here  # resolved there: the other process's own pid
