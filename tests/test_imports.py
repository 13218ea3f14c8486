"""Importing the package does no work: every module of it can be imported into a notebook without changing how
warnings and logs are shown, or what Hydra and OmegaConf know."""

import json
import subprocess
import sys

# In a fresh interpreter: what torch, Lightning, Hydra and TensorBoard set up themselves, then the same after
# importing every module of the package.
SCRIPT = """
import importlib, json, logging, pkgutil, warnings
import hydra, lightning, lightning.pytorch, matplotlib.pyplot, numpy, tensorboard, torch, torch.utils.tensorboard
from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

def state():
    loggers = {"": logging.root, **logging.root.manager.loggerDict}
    set_up = lambda l: isinstance(l, logging.Logger) and (l.handlers or l.filters or not l.propagate)
    return {
        "warning filters": [repr(f) for f in warnings.filters],
        "loggers": {name: [[repr(h) for h in logger.handlers], [repr(f) for f in logger.filters], logger.propagate]
                    for name, logger in loggers.items() if set_up(logger)},
        "configs": sorted(ConfigStore.instance().repo),
        "pid resolver": OmegaConf.has_resolver("pid"),
    }

before = state()
import backprop_by_example
for module in pkgutil.walk_packages(backprop_by_example.__path__, "backprop_by_example."):
    importlib.import_module(module.name)
print(json.dumps({"before": before, "after": state()}))
"""


def start_early(session, start_script, tmp_path_factory):
    """The fresh interpreter, started with the session (conftest.started_early: its imports take seconds)."""
    return subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_importing_every_module_adds_no_warning_filter_log_handler_or_registration(early):
    stdout, stderr = early.communicate(timeout=300)
    assert early.returncode == 0, stderr
    states = json.loads(stdout)
    assert states["after"] == states["before"]
    assert states["before"]["pid resolver"] is False  # the scripts register it (run.schema.register)
