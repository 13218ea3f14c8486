"""Runs whose processes torchrun or Slurm's srun start (run/launched.py): every process uses the first one's run dir,
only the first writes .hydra/, summary.json and the checkpoint and prints the report, and the weights are the single
process's. torchrun for real (CPU, gloo); srun simulated: 2 processes with the environment it gives its tasks."""

import json
import shlex
import signal
import socket
import time

import numpy as np
import pytest
import torch

import seed_printed as seed
from backprop_by_example import by_hand
from conftest import LANE, QUIET, ROOT, session_items

pytestmark = pytest.mark.slow

DDP = ["trainer.accelerator=cpu", "trainer.devices=2", "trainer.strategy=ddp"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slurm_tasks(start_script, cwd, step, args):
    """`srun --nodes=1 --ntasks-per-node=2 python scripts/train.py ARGS` simulated: its 2 tasks, each with the
    environment that srun gives it (what Lightning's SLURMEnvironment reads) -> [Run, Run]."""
    port = str(free_port())  # MASTER_PORT: else Lightning takes 15000 + the job id's last 4 digits
    common = {
        "SLURM_NTASKS": "2", "SLURM_NTASKS_PER_NODE": "2", "SLURM_NNODES": "1", "SLURM_NODEID": "0",
        "SLURM_NODELIST": "localhost", "SLURM_JOB_ID": "4242", "SLURM_STEP_ID": str(step),
        "SLURM_JOB_NAME": "train", "MASTER_PORT": port,
    }  # fmt: skip
    return [
        start_script("train", cwd, *args, env={**common, "SLURM_PROCID": str(rank), "SLURM_LOCALID": str(rank)})
        for rank in (0, 1)
    ]


def torchrun(start_script, cwd):
    """`torchrun --nproc_per_node=2 scripts/train.py ... trainer.max_epochs=20` in `cwd`, to its end -> Run."""
    args = ["--nproc_per_node=2", str(ROOT / "scripts" / "train.py"), *QUIET, *DDP, "trainer.max_epochs=20"]
    run = start_script(ROOT / "tests" / "torchrun.py", cwd, *args)
    run.wait(timeout=300)
    return run


def srun_stopped_and_resumed(start_script, cwd):
    """srun's 2 tasks training on, both sent SIGTERM (as scancel does) once the first checkpoint is there; then
    the printed "Continue with:" command, run as a new job step with trainer.max_epochs set -> (the stopped tasks,
    the resumed ones, that command's words, the epochs it was set to)."""
    stopped = slurm_tasks(start_script, cwd, 0, [*QUIET, *DDP, "trainer.max_epochs=1000000", "log.details=false",
                                                 "checkpoint.every_n_epochs=10"])  # fmt: skip
    last = cwd / "outputs" / "slurm-4242.0" / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 120
    while not last.exists() and time.monotonic() < deadline and all(task.poll() is None for task in stopped):
        time.sleep(0.1)
    for task in stopped:
        task.send_signal_to_group(signal.SIGTERM)
    for task in stopped:
        task.wait(timeout=60)
    lines = [line for line in stopped[0].stdout.splitlines() if line.startswith("Continue with: ")]
    if not lines:
        return stopped, None, None, None
    words = shlex.split(lines[0].removeprefix("Continue with: "))
    epochs = torch.load(last, weights_only=True)["state_dict"]["epochs_done"].item() + 5
    resumed = slurm_tasks(start_script, cwd, 1, [*words[5:], f"trainer.max_epochs={epochs}"])
    for task in resumed:
        task.wait(timeout=300)
    return stopped, resumed, words, epochs


# name -> (what starts and ends the runs, the tests that read them)
RUNS = {
    "torchrun": (
        torchrun,
        ["test_torchrun_trains_as_one_process_does_to_1e_12", "test_torchrun_keeps_one_run_dir_written_by_the_first"],
    ),
    "srun": (
        srun_stopped_and_resumed,
        [
            "test_srun_stopped_by_sigterm_to_every_task_keeps_one_good_checkpoint",
            "test_srun_resumed_with_the_printed_command_gives_the_uninterrupted_result",
        ],
    ),
}


def start_early(session, start_script, tmp_path_factory):
    """The torchrun run and the srun runs, where the session has a test that reads them, in the lane (conftest.LANE:
    they start processes of their own) -> {name: (the dir they run in, Future of what they return)}."""
    started = {}
    for name, (runs, tests) in RUNS.items():
        if any(session_items(session, test) for test in tests):
            cwd = tmp_path_factory.mktemp(name)
            started[name] = cwd, LANE.submit(runs, start_script, cwd)
    return started


def summary(run_dir):
    return json.loads((run_dir / "summary.json").read_text())


def assert_oracle(W, V, epochs):
    oracle = by_hand.train(seed.X, seed.T, seed.W, seed.V, seed.lr, epochs)
    np.testing.assert_allclose(np.asarray(W), oracle[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.asarray(V), oracle[1], rtol=0, atol=1e-12)


@pytest.fixture(scope="module")
def torchrun_run(early):
    cwd, future = early["torchrun"]
    run = future.result(timeout=600)
    assert run.returncode == 0, run.stderr
    return cwd, run


@pytest.fixture(scope="module")
def srun_runs(early):
    cwd, future = early["srun"]
    return cwd, *future.result(timeout=600)


def test_torchrun_trains_as_one_process_does_to_1e_12(torchrun_run):
    cwd, _ = torchrun_run
    (run_dir,) = cwd.glob("outputs/*/*/")
    assert_oracle(summary(run_dir)["W"], summary(run_dir)["V"], 20)


def test_torchrun_keeps_one_run_dir_written_by_the_first(torchrun_run):
    """One dir, outputs/<day>/<time>-<pid of the first process>; one .hydra/; the other process's log alone beside
    the first's files; the report printed once."""
    cwd, run = torchrun_run
    assert [p.name for p in cwd.iterdir()] == ["outputs"]
    (run_dir,) = cwd.glob("outputs/*/*")
    assert sorted(p.name for p in run_dir.iterdir()) == [
        ".hydra", "checkpoints", "network.png", "summary.json", "tensorboard", "train.log", "train_rank_1.log",
    ]  # fmt: skip
    assert len(list(cwd.rglob(".hydra"))) == 1
    assert run.stdout.count("After 20 epochs") == 1
    assert f"Run dir:     outputs/{run_dir.parent.name}/{run_dir.name}\n" in run.stdout


def test_srun_stopped_by_sigterm_to_every_task_keeps_one_good_checkpoint(srun_runs):
    """The first task exits 143 (128 + SIGTERM), the other 0; one dir, slurm-<job id>.<step id>, with one
    .hydra/, the checkpoint at the stop (the single process's weights after its epochs) and no summary.json."""
    cwd, stopped, _, _, _ = srun_runs
    assert [task.returncode for task in stopped] == [143, 0], stopped[0].stderr + stopped[1].stderr
    run_dir = cwd / "outputs" / "slurm-4242.0"
    assert sorted(p.name for p in run_dir.iterdir()) == [
        ".hydra",
        "checkpoints",
        "tensorboard",
        "train.log",
        "train_rank_1.log",
    ]
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    epochs = checkpoint["state_dict"]["epochs_done"].item()
    assert epochs >= 10 and checkpoint["global_step"] == epochs
    assert_oracle(checkpoint["state_dict"]["net.W"], checkpoint["state_dict"]["net.V"], epochs)
    assert "Continue with: " not in stopped[1].stdout


def test_srun_resumed_with_the_printed_command_gives_the_uninterrupted_result(srun_runs):
    """The command starts the same tasks again (srun's words, then the run's overrides, ckpt_path): run as the next
    job step, with more epochs, it ends with the weights of those epochs in one go, in a run dir of its own."""
    cwd, _, resumed, words, epochs = srun_runs
    assert words[:4] == ["srun", "--nodes=1", "--ntasks-per-node=2", "python"] and words[4].endswith("train.py")
    assert words[-1] == "ckpt_path=outputs/slurm-4242.0/checkpoints/last.ckpt"
    assert [task.returncode for task in resumed] == [0, 0], resumed[0].stderr + resumed[1].stderr
    assert sorted(p.name for p in (cwd / "outputs").iterdir()) == ["slurm-4242.0", "slurm-4242.1"]
    assert_oracle(
        summary(cwd / "outputs" / "slurm-4242.1")["W"], summary(cwd / "outputs" / "slurm-4242.1")["V"], epochs
    )
    assert (resumed[0].stdout.count(f"After {epochs} epochs"), resumed[1].stdout.count("After")) == (1, 0)
