"""What the pages cost: python scripts/page_cost.py [rounds] (default 3).

Times `scripts/explain.py` with and without backprop.html (explain.page) and the default `scripts/train.py` with and
without training.html (log.page), each as the user runs it (a fresh process, in alternation, the fastest of `rounds`),
and prints each ratio and the default run's training.html size. The issue's bounds: 1.2 and 1.1, 300 kB.
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUIET = ["trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]


def seconds(script, overrides, run_dir):
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / script), f"hydra.run.dir={run_dir}", *overrides],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"Error: {script} {' '.join(overrides)} failed: {done.stderr.strip().splitlines()[-1:]}")
    return time.perf_counter() - start


def main(rounds):
    cases = [("explain.py", "explain.page", []), ("train.py", "log.page", QUIET)]
    with tempfile.TemporaryDirectory() as scratch:
        for script, key, extra in cases:
            times = {False: [], True: []}
            for n in range(rounds):
                for on in (False, True):
                    run_dir = Path(scratch, f"{script}-{n}-{on}")
                    times[on].append(seconds(script, [*extra, f"{key}={str(on).lower()}"], run_dir))
            off, on = min(times[False]), min(times[True])
            print(f"{script} {key}=true: {on:.2f} s, false: {off:.2f} s, ratio {on / off:.3f} (fastest of {rounds})")
        size = Path(scratch, "train.py-0-True", "training.html").stat().st_size
        print(f"training.html of the default run: {size / 1000:.0f} kB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
