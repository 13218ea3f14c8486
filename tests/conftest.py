import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

import backprop_by_example.config  # noqa: F401  (registers the structured configs)

ROOT = Path(__file__).resolve().parents[1]
QUIET = ["trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]


def compose_config(name, overrides):
    """conf/<name>.yaml composed with command-line style overrides, as scripts/<name>.py sees it."""
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose(name, overrides=list(overrides))


@pytest.fixture(scope="session")
def config():
    """config(*overrides): the config of scripts/train.py, without its progress bar and model summary."""
    return lambda *overrides: compose_config("train", [*QUIET, *overrides])


@pytest.fixture(scope="session")
def benchmark_config():
    """benchmark_config(*overrides): the config of scripts/benchmark.py."""
    return lambda *overrides: compose_config("benchmark", overrides)


def command(name, *args):
    """The command line of `python scripts/<name>.py args...`, runnable from any directory."""
    return [sys.executable, str(ROOT / "scripts" / f"{name}.py"), *args]


@pytest.fixture(scope="session")
def script():
    """script(name, run_dir, *overrides): `python scripts/<name>.py` in a fresh process, from the repo root."""

    def run(name, run_dir, *overrides):
        args = command(name, f"hydra.run.dir={run_dir}", *overrides)
        return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)

    return run


@pytest.fixture(scope="session")
def start_train():
    """start_train(cwd, *overrides): scripts/train.py started in the background -> subprocess.Popen."""

    def start(cwd, *overrides, **popen):
        return subprocess.Popen(command("train", *overrides, *QUIET), cwd=cwd, text=True, **popen)

    return start


@pytest.fixture
def run_train(script):
    """run_train(run_dir, *overrides): scripts/train.py -> (completed process, summary.json or None)."""

    def run(run_dir, *overrides):
        done = script("train", run_dir, *QUIET, *overrides)
        summary_file = run_dir / "summary.json"
        return done, json.loads(summary_file.read_text()) if summary_file.exists() else None

    return run


@pytest.fixture(scope="session")
def png_size():
    """png_size(path): (width, height) of a PNG file, after checking its signature."""

    def size(path):
        data = Path(path).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
        return struct.unpack(">II", data[16:24])

    return size
