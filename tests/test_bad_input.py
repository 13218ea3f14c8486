"""Bad input stops scripts/train.py before training: a clear message naming the key, exit status 1, no traceback,
and no summary.json. (Each value check has its own test in test_config_check.py; these are the ways it surfaces.)"""

import subprocess

import pytest
import torch

pytestmark = pytest.mark.slow

CASES = {
    "our check: ragged matrix": ("model.W=[[1,2],[3]]", "Error: model.W: expected rows of one and the same length"),
    "structured config: lr not a number": ("optimizer.lr=abc", "Value 'abc' of type 'str' could not be converted"),
    "Lightning's check: unsupported precision": (
        "trainer.precision=8-true",
        "Error: trainer: Precision '8-true' is invalid",
    ),
}
if not torch.cuda.is_available():
    CASES["gpu on a machine without CUDA"] = (
        "trainer.accelerator=gpu",
        "Error: trainer.accelerator: expected cpu or auto: this machine has no CUDA GPU, got gpu",
    )


@pytest.fixture(scope="module")
def refused(start_train, tmp_path_factory):
    """Every case's run, all started at once (each spends seconds importing torch and Lightning)."""
    runs = {}
    for case, (override, _) in CASES.items():
        run_dir = tmp_path_factory.mktemp("run")
        runs[case] = run_dir, start_train(run_dir, f"hydra.run.dir={run_dir}", override, stderr=subprocess.PIPE)
    return {case: (run.wait(timeout=300), run.stderr.read(), run_dir) for case, (run_dir, run) in runs.items()}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_fails_before_training_with_a_clear_message(refused, case):
    status, stderr, run_dir = refused[case]
    assert status == 1
    assert CASES[case][1] in stderr
    assert "Traceback" not in stderr
    assert not (run_dir / "summary.json").exists()


def test_hydra_full_error_shows_the_traceback(run_train, tmp_path, monkeypatch):
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    done, _ = run_train(tmp_path, "optimizer.lr=-1")
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "ConfigError: optimizer.lr: expected a learning rate > 0" in done.stderr
