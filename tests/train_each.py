"""Trains one config after another in one process, as the tests do in theirs: `python tests/train_each.py RUNS`,
RUNS a JSON file of [run dir, [overrides of conf/train.yaml]] pairs; each run writes its files and summary.json into
its run dir, then an empty <run dir>.ended beside it, so that its tests need not wait for the runs after it. Started by
the tests (conftest.train_each) for the session's runs that compile: torch.compile's machinery is imported once
(seconds) for all of them, in a process beside the tests."""

import json
import sys
import traceback
from pathlib import Path

import torch._inductor.config as inductor
from hydra import compose, initialize_config_dir

from backprop_by_example.run.schema import register
from backprop_by_example.run.training import train

# torch.compile's settings for this process. It is forked from one that has imported torch (tests/forkserver.py),
# whose inductor config read its TORCHINDUCTOR_* variables then, so they are set here, in the config those variables
# set (documented in torch/_inductor/config.py; a name torch renames fails here, loudly). Kernels built in this process,
# one after another, not by a pool of workers beside it (the same CPU time, two cores the tests need). The CPU's widest
# vector instructions (AVX-512 here, as torch.cpu reports them) taken without first building a test program for each
# (TORCHINDUCTOR_VEC_ISA_OK: 8 s of g++ where nothing is cached): the kernels are those a user's run builds, the same
# source and compiler flags; where that ISA could not be built, they fail to build.
inductor.compile_threads = 1
inductor.cpp.vec_isa_ok = True
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
