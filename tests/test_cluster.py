"""Sweeps through Hydra's plugins (the optional extra `cluster`): each job of a sweep in a process of its own
(submitit_local), the learning-rate search (hparams_search=lr, Optuna), and one line for a plugin not installed or a
search space that cannot run."""

import importlib.util
import json
import re

import numpy as np
import pytest
import yaml
from hydra import compose, initialize_config_dir

import seed_printed as seed
from backprop_by_example import by_hand
from backprop_by_example.run.plugins import missing
from conftest import LANE, QUIET, ROOT, session_items

INSTALLED = all(
    importlib.util.find_spec(f"hydra_plugins.{name}") for name in ("hydra_submitit_launcher", "hydra_optuna_sweeper")
)
needs_extra = pytest.mark.skipif(not INSTALLED, reason='the extra is not installed: pip install -e ".[cluster]"')

FEW = ["trainer.max_epochs=5", "log.details=false", "logger=none", *QUIET]
SWEEPS = {  # test -> the sweep it reads, and whether it goes in the lane (it starts processes of its own)
    "test_submitit_local_runs_each_job_in_a_process_and_run_dir_of_its_own": (
        ["-m", "hydra/launcher=submitit_local", "optimizer.lr=0.1,0.5", *FEW], True
    ),
    "test_the_lr_search_reports_the_best_of_its_trials_own_summaries": (
        ["-m", "hparams_search=lr", "hydra.sweeper.n_trials=3", *FEW], False
    ),
    "test_a_diverging_trial_is_reported_as_failed_and_the_search_goes_on": (
        ["-m", "hparams_search=lr", "optimizer=adam", "optimizer.lr=choice(0.1,1e308)", "hydra.sweeper.n_trials=3",
         *FEW], False,
    ),
}  # fmt: skip


def start_early(session, start_script, tmp_path_factory):
    """The sweeps of the tests the session has, started with it -> {test: (the dir it runs in, Run or its Future)}."""
    started = {}
    for test, (arguments, in_lane) in SWEEPS.items():
        if session_items(session, test):
            cwd = tmp_path_factory.mktemp("sweep")
            if in_lane:
                started[test] = cwd, LANE.submit(ended, start_script, cwd, arguments)
            else:
                started[test] = cwd, start_script("train", cwd, *arguments)
    return started


def ended(start_script, cwd, arguments):
    run = start_script("train", cwd, *arguments)
    run.wait(timeout=300)
    return run


@pytest.fixture
def sweep(early, request):
    """This test's sweep, once it has ended -> (the dir of the sweep, Run)."""
    cwd, run = early[request.node.originalname]
    run = run.result(timeout=600) if hasattr(run, "result") else run
    assert run.wait(timeout=300) == 0, run.stderr
    (sweep_dir,) = cwd.glob("outputs/multirun/*/*")
    return sweep_dir, run


def summaries(sweep_dir):
    """{job number: summary.json} of the sweep's jobs."""
    return {int(p.parent.name): json.loads(p.read_text()) for p in sweep_dir.glob("*/summary.json")}


@needs_extra
@pytest.mark.slow
def test_submitit_local_runs_each_job_in_a_process_and_run_dir_of_its_own(sweep):
    """Each job equals the same job run alone (the numpy oracle); submitit's record of each job (named by the pid of
    the process that ran it) is another process's than the sweep's and the other job's."""
    sweep_dir, run = sweep
    jobs = summaries(sweep_dir)
    assert sorted(jobs) == [0, 1]
    for job, lr in ((0, 0.1), (1, 0.5)):
        W, V = by_hand.train(seed.X, seed.T, seed.W, seed.V, lr, 5)
        np.testing.assert_allclose(jobs[job]["W"], W, rtol=0, atol=1e-12)
        np.testing.assert_allclose(jobs[job]["V"], V, rtol=0, atol=1e-12)
    pids = {int(p.name) for p in (sweep_dir / ".submitit").iterdir() if p.name.isdigit()}
    assert len(pids) == 2 and run.pid not in pids


@needs_extra
@pytest.mark.slow
def test_a_sweep_through_submitit_with_a_bad_value_trains_nothing(start_train, tmp_path):
    sweep = start_train(tmp_path, "-m", "hydra/launcher=submitit_local", "optimizer.lr=0.1,-1", "trainer.max_epochs=5")
    assert sweep.wait() == 1
    assert sweep.stderr.splitlines() == [
        "Error: job 1 (optimizer.lr=-1): optimizer.lr: expected a finite learning rate > 0, got -1.0",
        "No job was started: 1 of the sweep's jobs cannot run.",
    ]
    assert not (tmp_path / "outputs").exists()


@needs_extra
@pytest.mark.slow
def test_the_lr_search_reports_the_best_of_its_trials_own_summaries(sweep):
    """3 trials of TPE with the config's sampler seed, on a log scale: the best lr and loss Optuna reports are those
    of the trial whose summary.json has the lowest final loss."""
    sweep_dir, _ = sweep
    jobs = summaries(sweep_dir)
    assert sorted(jobs) == [0, 1, 2]
    best = min(jobs, key=lambda job: jobs[job]["loss"])
    reported = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert reported["best_value"] == jobs[best]["loss"]
    lr = yaml.safe_load((sweep_dir / str(best) / ".hydra" / "overrides.yaml").read_text())[0]
    assert lr == f"optimizer.lr={reported['best_params']['optimizer.lr']}"


@needs_extra
@pytest.mark.slow
def test_a_diverging_trial_is_reported_as_failed_and_the_search_goes_on(sweep):
    """Adam at lr 1e308 overflows: its loss is nan. Optuna is told the trial failed; the others count."""
    sweep_dir, run = sweep
    jobs = summaries(sweep_dir)
    diverged = [job for job in jobs if not np.isfinite(jobs[job]["loss"])]
    assert diverged and len(diverged) < len(jobs) == 3
    assert run.stdout.count("Failed experiment: the final loss is nan: the run diverged") == len(diverged)
    reported = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert reported["best_params"] == {"optimizer.lr": 0.1}
    assert reported["best_value"] == min(s["loss"] for s in jobs.values() if np.isfinite(s["loss"]))


@needs_extra
@pytest.mark.slow
@pytest.mark.parametrize(
    "space, line",
    [
        ("tag(log,interval(0,1))", "expected a start above 0 on a log scale, got 0.0"),
        ("interval(-1,1)", "at optimizer.lr=-1.0: optimizer.lr: expected a finite learning rate > 0, got -1.0"),
    ],
)
def test_a_search_space_that_cannot_run_gets_one_line_and_no_trial(start_train, tmp_path, space, line):
    search = start_train(tmp_path, "-m", "hparams_search=lr", f"optimizer.lr={space}", "trainer.max_epochs=5")
    assert search.wait() == 1
    assert search.stderr.splitlines() == [
        f"Error: search space optimizer.lr={space}: {line}",
        "No trial was started: fix the search space.",
    ]
    assert not (tmp_path / "outputs").exists()


@pytest.mark.parametrize(
    "override, line",
    [
        ("hydra/launcher=submitit_local", "Hydra's submitit_local launcher is not installed"),
        ("hydra/launcher=slurm", "Hydra's submitit_slurm launcher is not installed"),
        ("hparams_search=lr", "Hydra's optuna sweeper is not installed"),
    ],
)
def test_a_launcher_or_sweeper_not_installed_gets_one_line_naming_the_extra(override, line):
    """As on a machine without the extra: Hydra's own launcher and sweeper only."""
    lines = missing(["-m", override, "optimizer.lr=0.1,0.5"], ROOT / "conf", installed=lambda group: ["basic.yaml"])
    assert len(lines) == 1
    extra = r'install the optional extra, pip install -e "\.\[cluster\]" \(hydra-\w+-\w+\)'
    assert re.fullmatch(rf"Error: {re.escape(override)}: {line}: {extra}", lines[0]), lines[0]


@needs_extra
def test_the_slurm_example_is_submitit_slurm_with_partition_time_and_gpus():
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        launcher = compose("train", ["hydra/launcher=slurm"], return_hydra_config=True).hydra.launcher
    assert launcher._target_ == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    assert (launcher.partition, launcher.timeout_min, launcher.gpus_per_node) == ("gpu", 60, 1)
