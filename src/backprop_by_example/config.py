"""Structured configs: the types Hydra checks every `conf/` file and override against, and `check` for the rest.

The values live in `conf/`; this file only says what each key must be.
"""

import math
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import torch
from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, OmegaConf

# A matrix is a list of rows. The rows are typed Any because OmegaConf 2.3 rejects ints merged into a
# list[list[float]] (omry/omegaconf#1054), and `model.W=[[1,2],[3,4]]` must work; `check` does the rest.
Matrix = list[list[Any]]


@dataclass
class ModelConfig:
    W: Matrix = MISSING  # inputs x hidden
    V: Matrix = MISSING  # hidden x outputs


@dataclass
class DataConfig:
    X: Matrix = MISSING  # instances x inputs
    T: Matrix = MISSING  # instances x outputs


@dataclass
class OptimizerConfig:
    lr: float = MISSING


@dataclass
class TrainerConfig:
    """Keyword arguments of `lightning.Trainer`; add any other one with `+trainer.NAME=VALUE`."""

    accelerator: str = MISSING
    devices: Any = MISSING
    strategy: str = MISSING
    precision: str = MISSING
    max_epochs: int = MISSING
    log_every_n_steps: int = MISSING
    deterministic: bool = MISSING
    enable_progress_bar: bool = MISSING
    enable_model_summary: bool = MISSING


@dataclass
class LogConfig:
    """What TensorBoard gets besides the loss; see backprop_by_example/tensorboard_log.py."""

    details: bool = MISSING
    max_scalars: int = MISSING
    max_instances: int = MISSING
    picture_every_n_epochs: int = MISSING
    picture_instance: int = MISSING


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    log: LogConfig = field(default_factory=LogConfig)
    seed: int = MISSING
    ckpt_path: str | None = None  # a checkpoint to continue from, e.g. <run dir>/checkpoints/last.ckpt


class Format(Enum):
    table = "table"
    json = "json"


@dataclass
class ExplainOptions:
    instance: int = MISSING  # 1 = the first row of data.X
    format: Format = MISSING
    picture: str = MISSING  # where the PNG goes


@dataclass
class ExplainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    explain: ExplainOptions = field(default_factory=ExplainOptions)


ConfigStore.instance().store(name="train_schema", node=TrainConfig)
# ${pid:} in a run dir's name: two runs started in the same second still get dirs of their own
OmegaConf.register_new_resolver("pid", os.getpid, replace=True)
ConfigStore.instance().store(name="explain_schema", node=ExplainConfig)


class ConfigError(ValueError):
    """A config value that cannot work; the message names the key and says what was expected."""


@contextmanager
def one_line_errors():
    """A ConfigError becomes one line on stderr and exit status 1; HYDRA_FULL_ERROR=1 keeps the traceback."""
    try:
        yield
    except ConfigError as error:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        sys.exit(f"Error: {error}")


def check(cfg):
    """Raise ConfigError for values the types cannot rule out: shapes that do not fit, non-numbers, lr <= 0."""
    X = check_network(cfg)
    lr = cfg.optimizer.lr
    _expect(math.isfinite(lr) and lr > 0, "optimizer.lr", "a learning rate > 0", lr)
    instance, every = cfg.log.picture_instance, cfg.log.picture_every_n_epochs
    _expect(1 <= instance <= len(X), "log.picture_instance", f"an instance from 1 to {len(X)}", instance)
    _expect(every >= 1, "log.picture_every_n_epochs", "a number of epochs >= 1", every)
    _expect(cfg.trainer.max_epochs >= 0, "trainer.max_epochs", "a number of epochs >= 0", cfg.trainer.max_epochs)
    accelerator = cfg.trainer.accelerator
    no_gpu = accelerator in ("gpu", "cuda") and not torch.cuda.is_available()
    _expect(not no_gpu, "trainer.accelerator", "cpu or auto: this machine has no CUDA GPU", accelerator)
    ckpt = cfg.ckpt_path
    _expect(ckpt is None or Path(ckpt).is_file(), "ckpt_path", "an existing checkpoint file", ckpt)


def check_explain(cfg):
    X = check_network(cfg)
    instance = cfg.explain.instance
    _expect(1 <= instance <= len(X), "explain.instance", f"an instance from 1 to {len(X)}", instance)


def check_network(cfg):
    """Check model.W, model.V, data.X and data.T: numbers, and shapes that fit together. Returns data.X."""
    W = _matrix(cfg.model.W, "model.W")
    V = _matrix(cfg.model.V, "model.V")
    X = _matrix(cfg.data.X, "data.X")
    T = _matrix(cfg.data.T, "data.T")
    inputs, hidden, outputs = len(W), len(W[0]), len(V[0])
    _expect(len(V) == hidden, "model.V", f"{hidden} rows, one per hidden unit (the columns of model.W)", len(V))
    _expect(len(X[0]) == inputs, "data.X", f"{inputs} columns, one per input (the rows of model.W)", len(X[0]))
    _expect(len(T[0]) == outputs, "data.T", f"{outputs} columns, one per output (the columns of model.V)", len(T[0]))
    _expect(len(T) == len(X), "data.T", f"{len(X)} rows, one target per instance of data.X", len(T))
    return X


def _matrix(value, key):
    _expect(value is not None and len(value) > 0, key, "a non-empty list of rows, like [[1,2],[3,4]]", value)
    lengths = [len(row) for row in value]
    _expect(len(set(lengths)) == 1 and lengths[0] > 0, key, "rows of one and the same length", f"{lengths}")
    for i, row in enumerate(value):
        for j, v in enumerate(row):
            number = isinstance(v, (int, float)) and not isinstance(v, bool)
            _expect(number and math.isfinite(v), key, "finite numbers", f"{v!r} at [{i}][{j}]")
    return value


def _expect(ok, key, expected, got):
    if not ok:
        raise ConfigError(f"{key}: expected {expected}, got {got}")
