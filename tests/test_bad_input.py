"""Bad input stops scripts/train.py before any work: its one line on stderr, naming the key, and nothing else (no
traceback, not Lightning's banner first), exit status 1, no summary.json. A case per class of input and several
members of each; the value checks themselves are tested one by one in test_config_check.py and elsewhere.

Each case's line is checked where the script gets it, in its Hydra callback that runs before any work (the preflight
of conf/train.yaml), here in the tests' process; the script's contract around that line is checked by running
scripts/train.py for one case of each way through the code that bad input can take (SCRIPT_RUNS)."""

import json
import pickle
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from backprop_by_example.run.training import train
from conftest import QUIET, ROOT, session_items

pytestmark = pytest.mark.slow


def cases(files):
    """{case: (overrides, the line)}; `files` holds the bad files of the cases that need one."""
    ckpt = {name: f"ckpt_path={path}" for name, path in files.items()}
    table = {
        "ragged matrix": (["model.W=[[1,2],[3]]"], "model.W: expected rows of one and the same length, got [2, 1]"),
        "infinite lr": (["optimizer.lr=inf"], "optimizer.lr: expected a finite learning rate > 0, got inf"),
        "an argument the optimizer does not take": (["optimizer.lrr=0.1"], "optimizer.lrr: not an argument of torch"),
        "an optimizer class that is none": (["optimizer._target_=torch.optim.Adamm"], "optimizer._target_: expected"),
        "another optimizer's checkpoint": (
            [ckpt["seed"], "optimizer=adam"],
            "optimizer._target_: expected torch.optim",
        ),
        "negative seed": (["seed=-1"], "seed: expected an integer from 0 to 2**32 - 1, got -1"),
        "a missing instance's picture": (["log.picture_instance=3"], "log.picture_instance: expected an instance"),
        "a text file as checkpoint": ([ckpt["text"]], "ckpt_path: expected a last.ckpt written by scripts/train.py"),
        "a truncated checkpoint": ([ckpt["truncated"]], "ckpt_path: expected a last.ckpt written by scripts/train"),
        "summary.json as checkpoint": ([ckpt["summary"]], "ckpt_path: expected a last.ckpt written by scripts/"),
        "a directory as checkpoint": ([ckpt["dir"]], "ckpt_path: expected a checkpoint file, got"),
        "a 2-3-2 checkpoint into a 2-2-2 run": ([ckpt["wider"]], "model.hidden_dim: expected 3, as in the"),
        "fewer epochs than the checkpoint's": (
            [ckpt["seed"], "trainer.max_epochs=1"],
            "trainer.max_epochs: expected at least 3, the epochs the checkpoint has",
        ),
        "a Latin-1 CSV file": (["data=csv", f"data.path={files['latin1']}"], "data.path: expected UTF-8 text"),
        "a binary file as CSV": (["data=csv", f"data.path={files['binary']}"], "data.path: expected UTF-8 text"),
        "a directory as CSV": (["data=csv", f"data.path={files['dir']}"], "data.path: expected a CSV file, got"),
        "/dev/null as CSV": (["data=csv", "data.path=/dev/null"], "data.path: expected a CSV file, got /dev/null"),
        "a Trainer argument that is none": (["+trainer.foo=1"], "trainer.foo: expected an argument of lightning"),
        "devices Lightning cannot use": (["trainer.devices=abc"], "trainer.devices: `devices` selected with `CPUAccel"),
        "an accelerator without its package": (["trainer.accelerator=tpu"], "trainer.accelerator: Requirement 'torch"),
        "a strategy without its package": (["trainer.strategy=deepspeed"], "trainer.strategy: To use the `DeepSpeedS"),
        "a time limit Lightning cannot read": (["+trainer.max_time=abc"], "trainer.max_time: `Timer(duration='abc')`"),
        "a precision Lightning does not know": (["trainer.precision=8-true"], "trainer.precision: Precision '8-true'"),
        "a Trainer knob this project refuses": (["+trainer.overfit_batches=1"], "trainer.overfit_batches: not"),
        "a Trainer argument of the wrong type": (["+trainer.accumulate_grad_batches=abc"], "trainer.accumulate_grad"),
        "a Trainer argument Lightning checks itself": (["+trainer.profiler=foo"], "trainer.profiler: When passing str"),
        "a plugin given as a name": (["+trainer.plugins=abc"], "trainer.plugins: expected an empty list or null, got"),
        "a number for true or false": (["log.details=2"], "log.details: expected true or false, got 2"),
        "a word for true or false": (["data.shuffle=yes"], "data.shuffle: expected true or false, got 'yes'"),
        "a pickle as checkpoint": ([ckpt["pickle"]], "ckpt_path: expected a last.ckpt written by scripts/train.py"),
        "a tensor as checkpoint": ([ckpt["tensor"]], "ckpt_path: expected a last.ckpt written by scripts/train.py"),
        "too few epochs into the run dir of the checkpoint": (
            [
                f"hydra.run.dir={files['good']}",
                f"ckpt_path={files['good'] / 'checkpoints' / 'last.ckpt'}",
                "trainer.max_epochs=1",
            ],
            "trainer.max_epochs: expected at least 3, the epochs the checkpoint has",
        ),
        "a setting that is none": (["+model.foo=1"], "model.foo: not a setting here; model has input_dim"),
        "a run dir under a regular file": (
            [f"hydra.run.dir={files['text']}/run"],
            f"hydra.run.dir: expected a directory that can be created, got {files['text']}/run (Not a directory)",
        ),
    }
    if not torch.cuda.is_available():
        table["gpu on a machine without CUDA"] = (
            ["trainer.accelerator=gpu"],
            "trainer.accelerator: expected cpu or auto: this machine has no CUDA GPU, got gpu",
        )
    return table


@pytest.fixture(scope="module")
def files(config, tmp_path_factory, start_train):
    """One bad file of each kind, two good checkpoints that do not fit the default config, and the run dir of a good
    run of scripts/train.py (its .hydra/ and train.log too)."""
    root = tmp_path_factory.mktemp("files")
    good = start_train(root, f"hydra.run.dir={root / 'good'}", "log.details=false", "trainer.max_epochs=3")
    train(config("log.details=false", "trainer.max_epochs=3"), root / "seed")
    train(config("log.details=false", "model=random", "model.hidden_dim=3", "trainer.max_epochs=1"), root / "wider")
    (root / "text.txt").write_text("not a checkpoint\n")
    (root / "truncated.ckpt").write_bytes((root / "seed" / "checkpoints" / "last.ckpt").read_bytes()[:900])
    (root / "latin1.csv").write_bytes("x1,x2,t1,t2\n3,1,1,0 # \u00e9t\u00e9\n".encode("latin-1"))
    (root / "binary.csv").write_bytes(bytes(range(256)))
    (root / "pickle.pkl").write_bytes(pickle.dumps({"W": [[0.1, 0.2], [0.3, 0.4]]}))
    torch.save(torch.zeros(2, 2), root / "tensor.pt")
    assert good.wait() == 0, good.stderr
    return {
        "seed": root / "seed" / "checkpoints" / "last.ckpt",
        "wider": root / "wider" / "checkpoints" / "last.ckpt",
        "summary": root / "seed" / "summary.json",
        "text": root / "text.txt",
        "truncated": root / "truncated.ckpt",
        "latin1": root / "latin1.csv",
        "binary": root / "binary.csv",
        "dir": root,
        "pickle": root / "pickle.pkl",
        "tensor": root / "tensor.pt",
        "good": root / "good",
    }


def contents(run_dir):
    """{file: (bytes, modification time)} for every file under run_dir."""
    return {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in run_dir.rglob("*") if path.is_file()}


@pytest.fixture(scope="module")
def good_before(files):
    """The good run's dir before any refused run."""
    return contents(files["good"])


INTO_THE_GOOD_RUN = "too few epochs into the run dir of the checkpoint"

# The cases run as scripts/train.py runs: one for each way through the code that bad input can take before any work
# (what prints, warns or logs on the way differs), and those that only a script run has (Hydra's run dir)
SCRIPT_RUNS = {
    "infinite lr": "the project's checks of the values (checks.check)",
    "a word for true or false": "the preflight's check of the command line's words (preflight.switches)",
    "a Trainer argument Lightning checks itself": "Lightning's own check, made after it has logged its banner",
    "a pickle as checkpoint": "a file that torch.load refuses, warning first (resume.read)",
    "a binary file as CSV": "the CSV reader (csv_file.read_csv)",
    "gpu on a machine without CUDA": "whether there is a GPU, asked of torch (trainer_args.check)",
    "a run dir under a regular file": "Hydra's run dir, made by the preflight once the config has passed",
    INTO_THE_GOOD_RUN: "Hydra's run dir, one that holds a finished run",
}


@pytest.fixture(scope="module")
def refused(request, start_train, tmp_path_factory, files, good_before):
    """The script runs of the cases this session tests, all started at once (a quarter of a second each, side by
    side on the cores): case -> (its run dir, Run). Each test waits for its own."""
    one_line = session_items(request.session, "test_bad_input_stops_the_script_before_any_work_with_its_line_alone")
    tested = {item.callspec.params["case"] for item in one_line}
    tested.add(INTO_THE_GOOD_RUN)
    runs = {}
    for case, (overrides, _) in cases(files).items():
        if case in tested:
            run_dir = tmp_path_factory.mktemp("run")
            runs[case] = run_dir, start_train(run_dir, f"hydra.run.dir={run_dir}", *overrides)
    return runs


FILES = ("seed", "wider", "summary", "text", "truncated", "latin1", "binary", "dir", "pickle", "tensor", "good")
CASES = cases(dict.fromkeys(FILES, Path("FILE")))


@pytest.mark.parametrize("case", [case for case in CASES if case in SCRIPT_RUNS])
def test_bad_input_stops_the_script_before_any_work_with_its_line_alone(refused, files, case):
    run_dir, run = refused[case]
    line = cases(files)[case][1]
    assert run.wait() == 1
    assert run.stderr.startswith(f"Error: {line}") and run.stderr.count("\n") == 1, run.stderr  # one line alone
    assert run.stdout == ""  # not even Lightning's banner
    assert not (run_dir / "summary.json").exists()


def preflight_line(run_dir, overrides):
    """The line scripts/train.py exits with where its preflight refuses `overrides`: the Hydra callback of
    conf/train.yaml that runs before Hydra writes anything and before the job starts, given the config as Hydra
    gives it (its hydra node too: the overrides, the run dir)."""
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", [*QUIET, f"hydra.run.dir={run_dir}", *overrides], return_hydra_config=True)
    with pytest.raises(SystemExit) as stopped:
        instantiate(cfg.hydra.callbacks.preflight).on_run_start(cfg)
    return stopped.value.code


@pytest.mark.parametrize("case", [case for case in CASES if case not in SCRIPT_RUNS])
def test_bad_input_is_refused_before_any_work_with_its_one_line(files, tmp_path, capfd, case):
    overrides, line = cases(files)[case]
    said = preflight_line(tmp_path / "run", overrides)
    assert said.startswith(f"Error: {line}") and "\n" not in said, said  # one line
    assert capfd.readouterr() == ("", "")  # nothing else: not Lightning's banner
    assert not (tmp_path / "run").exists()


def test_a_refused_run_into_the_dir_of_a_good_run_changes_none_of_its_files(refused, files, good_before):
    """hydra.run.dir=<a finished run's dir>: Hydra would write its .hydra/ there before the run refuses its input."""
    assert (files["good"] / ".hydra" / "overrides.yaml").is_file() and (files["good"] / "summary.json").is_file()
    assert refused[INTO_THE_GOOD_RUN][1].wait() == 1
    assert contents(files["good"]) == good_before


def test_hydras_own_check_of_a_type_names_the_key_without_a_traceback(run_train, tmp_path):
    done, _ = run_train(tmp_path, "optimizer.lr=abc")
    assert done.returncode == 1
    assert "Value 'abc' of type 'str' could not be converted to Float" in done.stderr
    assert "full_key: optimizer.lr" in done.stderr and "Traceback" not in done.stderr


def test_hydra_full_error_shows_the_traceback(run_train, tmp_path):
    done, _ = run_train(tmp_path, "optimizer.lr=-1", env={"HYDRA_FULL_ERROR": "1"})
    assert done.returncode == 1
    assert (
        "Traceback" in done.stderr and "ConfigError: optimizer.lr: expected a finite learning rate > 0" in done.stderr
    )


def test_a_csv_file_with_the_byte_order_mark_excel_writes_is_read_as_any_other(run_train, tmp_path):
    data = tmp_path / "excel.csv"
    data.write_text("\ufeffx1,x2,t1,t2\n3,1,1,0\n-1,4,0,1\n", encoding="utf-8")
    done, summary = run_train(tmp_path / "run", "data=csv", f"data.path={data}", "trainer.max_epochs=1")
    assert done.returncode == 0, done.stderr
    assert summary["targets"] == [[1, 0], [0, 1]] and json.loads(json.dumps(summary))["epochs"] == 1


def test_a_disk_that_fills_up_while_the_run_writes_gets_one_line_and_no_summary(start_train, tmp_path):
    """Every file limited to 40 kB (ulimit -f): writing the first picture into the event file fails, as on a
    full disk, and does so in TensorBoard's writer thread."""
    run = start_train(tmp_path, f"hydra.run.dir={tmp_path}", file_size_limit=40_000)
    assert run.wait() == 1
    assert run.stderr.splitlines()[-1] == f"Error: could not write into {tmp_path}: File too large"
    assert "Traceback" not in run.stderr and "Exception" not in run.stderr
    assert not (tmp_path / "summary.json").exists()
