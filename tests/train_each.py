"""Trains one config after another in one process, as the tests do in theirs: `python tests/train_each.py RUNS`,
RUNS a JSON file of [run dir, [overrides of conf/train.yaml]] pairs; each run writes its files and summary.json into
its run dir, then an empty <run dir>.ended beside it, so that its tests need not wait for the runs after it. Started by
the tests (conftest.train_each) for the session's runs that compile: torch.compile's machinery is imported once
(seconds) for all of them, in a process beside the tests."""

import json
import sys
import traceback
from pathlib import Path

from hydra import compose, initialize_config_dir

from backprop_by_example.run.schema import register
from backprop_by_example.run.training import train

register()
failed = 0
with initialize_config_dir(config_dir=str(Path(__file__).resolve().parents[1] / "conf"), version_base="1.3"):
    for run_dir, overrides in json.loads(Path(sys.argv[1]).read_text()):
        try:
            train(compose("train", overrides=overrides), Path(run_dir))
        except Exception:  # on to the next run; this one's test shows why it has no summary.json
            print(f"{run_dir} {overrides}:\n{traceback.format_exc()}", file=sys.stderr)
            failed += 1
        Path(f"{run_dir}.ended").touch()
sys.exit(1 if failed else 0)
