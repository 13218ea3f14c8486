import json
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

import backprop_by_example.config  # noqa: F401  (registers the structured config)

ROOT = Path(__file__).resolve().parents[1]
QUIET = ["trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]


@pytest.fixture
def config():
    """config(*overrides): conf/train.yaml composed with command-line style overrides, as scripts/train.py sees it."""

    def make(*overrides):
        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            return compose("train", overrides=[*QUIET, *overrides])

    return make


@pytest.fixture
def run_train():
    """run_train(run_dir, *overrides): `python scripts/train.py` in a fresh process -> (completed process, summary)."""

    def run(run_dir, *overrides):
        done = subprocess.run(
            [sys.executable, "scripts/train.py", f"hydra.run.dir={run_dir}", *QUIET, *overrides],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        summary_file = run_dir / "summary.json"
        return done, json.loads(summary_file.read_text()) if summary_file.exists() else None

    return run
