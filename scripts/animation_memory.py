"""Peak memory (max RSS) of a training run with log.animation=true against the same run without it, each run a child
process of its own: python scripts/animation_memory.py [overrides of scripts/train.py]. Without overrides: a picture
every epoch for 300 epochs (301 frames)."""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ["log.picture_every_n_epochs=1", "trainer.max_epochs=300"]
QUIET = ["trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]


def peak_rss(overrides):
    """(max RSS in MB, seconds) of `python scripts/train.py overrides`, in a run dir that is deleted after."""
    with tempfile.TemporaryDirectory() as run_dir:
        command = [sys.executable, str(ROOT / "scripts" / "train.py"), f"hydra.run.dir={run_dir}", *QUIET, *overrides]
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)  # the rusage of this child alone
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            sys.exit(f"python scripts/train.py {' '.join(overrides)} ended with status {child.returncode}")
        return usage.ru_maxrss / 1024, time.perf_counter() - start  # ru_maxrss: kilobytes on Linux


def main(overrides):
    overrides = overrides or DEFAULT
    without, seconds_without = peak_rss([*overrides, "log.animation=false"])
    with_animation, seconds_with = peak_rss([*overrides, "log.animation=true"])
    print(f"python scripts/train.py {' '.join(overrides)}: max RSS")
    print(f"  log.animation=false  {without:8.0f} MB  {seconds_without:6.1f} s")
    print(f"  log.animation=true   {with_animation:8.0f} MB  {seconds_with:6.1f} s")
    print(f"  ratio                {with_animation / without:8.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
