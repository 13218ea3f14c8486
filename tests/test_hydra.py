"""Hydra's own knobs: a sweep is checked whole before any job trains, `-m` with `ddp` is refused, the user's paths
hold under `hydra.job.chdir=true`, and the ${pid:} of a run dir's name is resolved once for all of a sweep. And the
tests' faster compose (conftest.composed) gives Hydra's config."""

import json
import os
import pickle

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import seed_printed as seed
from backprop_by_example import by_hand
from backprop_by_example.run import preflight
from conftest import QUIET, ROOT, compose_config, composed, session_items


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


def test_a_sweep_is_refused_whole_whatever_the_check_of_a_job_raises(tmp_path):
    """Not only the project's ConfigError: Hydra only warns of what a callback raises, and would run the sweep."""

    def check(job):
        if job.optimizer.lr == 0.5:
            raise IndexError("list index out of range")

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        config = compose("train", return_hydra_config=True)
        config.hydra.overrides.task = ["optimizer.lr=0.1,0.5,1.0", "trainer.max_epochs=1"]
        config.hydra.sweep.dir = str(tmp_path / "sweep")
        check_all = preflight.Preflight()
        check_all.check = check
        with pytest.raises(SystemExit) as refused:
            check_all.on_multirun_start(config)
    assert str(refused.value).splitlines() == [
        "Error: job 1 (optimizer.lr=0.5): IndexError: list index out of range",
        "No job was started: 1 of the sweep's jobs cannot run.",
    ]
    assert not (tmp_path / "sweep").exists()


def refused_sweep_cases(good="good.csv", wide="wide.csv"):
    """{case: (the sweep's arguments, the start of each line it gets)}; good and wide: two CSV files (WIDE_CSV)."""
    return {
        "a CSV row wider than its header": (
            ["data=csv", f"data.path={good},{wide}"],
            [f"Error: job 1 (data.path={wide}): data.path: {wide}, line 2: expected 4 values, got 5"],
        ),
        "sizes that cannot fit": (
            ["model=random", "model.hidden_dim=2,1000000000000,99999999999999999999"],
            [
                "Error: job 1 (model.hidden_dim=1000000000000): model.hidden_dim: expected a net whose weights fit in "
                "memory (",  # this machine's memory
                "Error: job 2 (model.hidden_dim=99999999999999999999): model.hidden_dim: expected an integer from "
                "-2**63 to 2**63 - 1 (int64), got 99999999999999999999",
            ],
        ),
        "a job Hydra cannot compose, in batches of one": (
            ["hydra.sweeper.max_batch_size=1", "optimizer.lr=0.5,abc"],
            [
                "Error: job 1 (optimizer.lr=abc): ConfigCompositionException: Error merging override optimizer.lr=abc: "
                "Value 'abc' of type 'str' could not be converted to Float full_key: optimizer.lr"
            ],
        ),
    }


WIDE_CSV = "x1,x2,t1,t2\n0,3,1,1,0\n1,-1,4,0,1\n"  # an index column first: it would shift every value


def start_early(session, start_script, tmp_path_factory):
    """The sweeps of the cases the session tests, started with it (conftest.started_early): case -> (the dir it
    runs in, its lines, Run)."""
    items = session_items(session, "test_a_sweep_with_a_job_that_cannot_run_trains_no_job_and_names_each_bad_one")
    if not items:
        return {}
    files = tmp_path_factory.mktemp("files")
    (files / "good.csv").write_text("x1,x2,t1,t2\n3,1,1,0\n-1,4,0,1\n")
    (files / "wide.csv").write_text(WIDE_CSV)
    cases = refused_sweep_cases(files / "good.csv", files / "wide.csv")
    runs = {}
    for case in (item.callspec.params["case"] for item in items):
        cwd, (arguments, lines) = tmp_path_factory.mktemp("sweep"), cases[case]
        runs[case] = cwd, lines, start_script("train", cwd, "-m", *arguments, "trainer.max_epochs=1", *QUIET)
    return runs


@pytest.mark.slow
@pytest.mark.parametrize("case", refused_sweep_cases())
def test_a_sweep_with_a_job_that_cannot_run_trains_no_job_and_names_each_bad_one(early, case):
    cwd, lines, run = early[case]
    status, stdout, stderr = run.wait(), run.stdout, run.stderr
    assert status == 1
    assert stdout == ""
    assert len(stderr.splitlines()) == len(lines) + 1, stderr  # one line per bad job, and the last line
    for line, expected in zip(stderr.splitlines(), lines, strict=False):
        assert line.startswith(expected), stderr
    assert stderr.splitlines()[-1] == f"No job was started: {len(lines)} of the sweep's jobs cannot run."
    assert not list(cwd.rglob("summary.json")) and not list(cwd.rglob("*.ckpt")) and not (cwd / "outputs").exists()


def test_hydras_basic_sweeper_is_the_one_the_preflight_knows_by_name():
    """The preflight checks a sweep's jobs only for the sweeper named preflight.BASIC_SWEEPER: if Hydra's default
    sweeper changes its name, this fails (and the preflight would have quietly stopped checking sweeps)."""
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        config = compose("train", return_hydra_config=True)
    assert config.hydra.sweeper._target_ == preflight.BASIC_SWEEPER


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


# Overrides of each kind the tests give: values of each type, lists, a new key (+), a key added or set (++), a config
# group's choice with values on top, an interpolation, null
SET_AS_HYDRA_DOES = [
    ["trainer.max_epochs=5", "optimizer.lr=0.25", "seed=3", "log.details=false"],
    ["model.W=[[1,2],[3,4]]", "data.X=[[0.5,-2]]", "trainer.devices=[0]", "ckpt_path=null"],
    ["+trainer.gradient_clip_val=0.01", "++trainer.max_epochs=7", "+trainer.plugins={a: 1}"],
    ["optimizer=adam", "optimizer.betas=[0.8,0.9]", "logger=[tensorboard,csv]", "model=random", "model.hidden_dim=3"],
    ["data.batch_size=2", "trainer.precision=bf16-mixed", "log.picture_instance=${seed}", "data.shuffle=true"],
    ["optimizer.lrr=0.1", "~seed"],  # a key the optimizer's config takes (scripts/train.py refuses it), one deleted
]  # fmt: skip
# And overrides Hydra refuses, each with its own error: a wrong type, a key not in the schema, + on a key that is there
REFUSED = [["trainer.max_epochs=abc"], ["trainer.max_epochz=3"], ["+trainer.max_epochs=3"]]


@pytest.mark.parametrize("overrides", SET_AS_HYDRA_DOES, ids=" ".join)
def test_the_tests_compose_sets_values_as_hydra_does(overrides):
    by_hydra, fast = compose_config("train", overrides), composed("train", tuple(overrides))
    assert OmegaConf.to_yaml(fast) == OmegaConf.to_yaml(by_hydra)
    assert OmegaConf.is_struct(fast) and OmegaConf.is_struct(by_hydra)


@pytest.mark.parametrize("overrides", REFUSED, ids=" ".join)
def test_the_tests_compose_refuses_what_hydra_refuses_with_hydras_error(overrides):
    with pytest.raises(Exception) as by_hydra:
        compose_config("train", overrides)
    with pytest.raises(Exception) as fast:
        composed("train", tuple(overrides))
    assert (type(fast.value), str(fast.value)) == (type(by_hydra.value), str(by_hydra.value))
