"""What torch, Lightning, Hydra and TensorBoard set up themselves as they are imported, then the same after importing
every module of the package, as JSON: for tests/test_imports.py, in an interpreter that has not imported the package."""

import importlib
import json
import logging
import pkgutil
import warnings

import hydra  # noqa: F401  (the libraries' own filters, handlers and configs are there before)
import lightning  # noqa: F401
import lightning.pytorch  # noqa: F401
import matplotlib.pyplot  # noqa: F401
import numpy  # noqa: F401
import tensorboard  # noqa: F401
import torch  # noqa: F401
import torch.utils.tensorboard  # noqa: F401
from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf


def set_up(logger):
    return isinstance(logger, logging.Logger) and (logger.handlers or logger.filters or not logger.propagate)


def state():
    loggers = {"": logging.root, **logging.root.manager.loggerDict}
    return {
        "warning filters": [repr(f) for f in warnings.filters],
        "loggers": {
            name: [[repr(h) for h in logger.handlers], [repr(f) for f in logger.filters], logger.propagate]
            for name, logger in loggers.items()
            if set_up(logger)
        },
        "configs": sorted(ConfigStore.instance().repo),
        "pid resolver": OmegaConf.has_resolver("pid"),
    }


before = state()
import backprop_by_example  # noqa: E402

for module in pkgutil.walk_packages(backprop_by_example.__path__, "backprop_by_example."):
    importlib.import_module(module.name)
print(json.dumps({"before": before, "after": state()}))
