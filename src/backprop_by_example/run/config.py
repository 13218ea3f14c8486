"""Structured configs: the types Hydra checks every `conf/` file and override against, and `check` for the rest.

The values live in `conf/`; this file only says what each key must be.
"""

import errno
import math
import os
import resource
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, is_dataclass
from enum import Enum
from typing import Any

import torch
from hydra.core.config_store import ConfigStore
from hydra.utils import to_absolute_path
from omegaconf import MISSING, DictConfig, OmegaConf

# A matrix is a list of rows. The rows are typed Any because OmegaConf 2.3 rejects ints merged into a
# list[list[float]] (omry/omegaconf#1054), and `model.W=[[1,2],[3,4]]` must work; `check` does the rest.
Matrix = list[list[Any]]


class Gradients(Enum):
    autograd = "autograd"  # PyTorch works out the backward pass
    by_hand = "by_hand"  # the seed's derivation, torch_by_hand.SquaredError


@dataclass
class ModelConfig:
    input_dim: int = MISSING
    hidden_dim: int = MISSING
    output_dim: int = MISSING
    W: Matrix | None = MISSING  # input_dim x hidden_dim; None: 0.1 * uniform[0, 1) from `seed`
    V: Matrix | None = MISSING  # hidden_dim x output_dim; likewise
    compile: bool = MISSING  # torch.compile the loss and its gradient: faster from about 10^6 instances on
    gradients: Gradients = MISSING


@dataclass
class DataConfig:
    X: Matrix | None = None  # instances x inputs, or
    T: Matrix | None = None  # instances x outputs, or
    path: str | None = None  # a CSV file with columns x1, x2, ..., t1, t2, ...
    batch_size: int | None = MISSING  # None: all instances in one batch
    shuffle: bool = MISSING


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
    """What TensorBoard gets besides the loss; see backprop_by_example/log/tensorboard_log.py."""

    details: bool = MISSING
    max_scalars: int = MISSING
    max_instances: int = MISSING
    picture_every_n_epochs: int = MISSING
    picture_instance: int = MISSING
    animation: bool = MISSING


@dataclass
class CheckpointConfig:
    every_n_epochs: int = MISSING


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    log: LogConfig = field(default_factory=LogConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
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
    stages: str = MISSING  # the directory for the backward pass stage by stage: stage1-forward.png ..., backward.gif
    seconds_per_frame: float = MISSING  # of backward.gif


@dataclass
class ExplainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    explain: ExplainOptions = field(default_factory=ExplainOptions)
    seed: int = MISSING


# The precisions the benchmark times, and the dtype of each one's plain PyTorch loop
BENCHMARK_DTYPES = {"64-true": torch.float64, "32-true": torch.float32}


class Device(Enum):
    cpu = "cpu"
    cuda = "cuda"


class Engine(Enum):  # benchmark.ENGINES
    autograd = "autograd"
    by_hand = "by_hand"
    fused = "fused"


@dataclass
class BenchmarkConfig:
    train_overrides: list[str] = MISSING
    sizes: list[int] = MISSING
    precisions: list[str] = MISSING
    devices: list[Device] = MISSING
    engines: list[Engine] = MISSING
    crossover_n: int = MISSING
    crossover_widths: list[int] = MISSING
    epochs: int = MISSING
    rounds: int = MISSING
    end_to_end_repeats: int = MISSING
    output: str = MISSING


def register():
    """The schemas into Hydra's ConfigStore (conf/*.yaml name them in their defaults), and the ${pid:} resolver: what
    a script does before Hydra composes its config."""
    ConfigStore.instance().store(name="train_schema", node=TrainConfig)
    ConfigStore.instance().store(name="explain_schema", node=ExplainConfig)
    ConfigStore.instance().store(name="benchmark_schema", node=BenchmarkConfig)
    # ${pid:} in a run dir's name: two runs started in the same second still get dirs of their own. Cached, like
    # Hydra's ${now:}: every job of a sweep gets the sweep's value, even where a launcher runs them in other processes.
    OmegaConf.register_new_resolver("pid", os.getpid, replace=True, use_cache=True)


# What a full or read-only disk, or a file too large for its limit, raises while the run writes its files
WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO}
# ... or a run dir that holds what it should not (a file named checkpoints, a directory named summary.json)
WRITE_ERRORS |= {errno.EEXIST, errno.EISDIR, errno.ENOTDIR, errno.EACCES, errno.EPERM}


class ConfigError(ValueError):
    """A config value that cannot work; the message names the key and says what was expected."""


@contextmanager
def one_line_errors(writing_to=None):
    """A ConfigError, or a file that could not be written in `writing_to` (a full disk), becomes one line on stderr
    and exit status 1; HYDRA_FULL_ERROR=1 keeps the traceback."""
    try:
        yield
    except (ConfigError, OSError) as error:
        if os.environ.get("HYDRA_FULL_ERROR") == "1" or not _one_line(error):
            raise
        if isinstance(error, ConfigError):
            sys.exit(f"Error: {error}")
        where = error.filename or (f"into {writing_to}" if writing_to else "a file")
        sys.exit(f"Error: could not write {where}: {error.strerror or error}")


def _one_line(error):
    return isinstance(error, ConfigError) or error.errno in WRITE_ERRORS


def user_path(path):
    """A path as the user typed it, relative to where they started the command (whatever hydra.job.chdir says)."""
    return to_absolute_path(str(path))


def check(cfg):
    """Raise ConfigError for values the types cannot rule out: shapes that do not fit, non-numbers, lr <= 0.

    (`trainer.*` has checks of its own, trainer_args.check.)"""
    check_keys(cfg, TrainConfig)
    check_network(cfg)
    lr = cfg.optimizer.lr
    expect(math.isfinite(lr) and lr > 0, "optimizer.lr", "a finite learning rate > 0", lr)
    check_seed(cfg.seed)
    batch_size = cfg.data.batch_size
    expect(batch_size is None or batch_size >= 1, "data.batch_size", "a number of rows >= 1, or null", batch_size)
    # log.picture_instance is checked against the data once it is loaded (training.checked)
    for key in ("log.picture_every_n_epochs", "checkpoint.every_n_epochs"):
        every = OmegaConf.select(cfg, key)
        expect(every >= 1, key, "a number of epochs >= 1", every)
    for key in ("log.max_scalars", "log.max_instances"):
        most = OmegaConf.select(cfg, key)
        expect(most >= 0, key, "a number >= 0", most)


def check_keys(cfg, schema, prefix=""):
    """Only the keys of `schema`: a `+key=...` of a name that is none (a typo, say) is refused, not ignored.
    trainer.* takes any of lightning.Trainer's arguments (trainer_args.check)."""
    known = {f.name: f.type for f in fields(schema)}
    for key in cfg:
        if key == "hydra" and not prefix:  # Hydra's own settings, in a config as its callbacks see it
            continue
        if key not in known:
            group = prefix.rstrip(".") or "the top level"
            raise ConfigError(f"{prefix}{key}: not a setting here; {group} has {', '.join(known)}")
        if is_dataclass(known[key]) and known[key] is not TrainerConfig:
            check_keys(cfg[key], known[key], f"{prefix}{key}.")


def check_benchmark(cfg):
    """Raise ConfigError for benchmark settings that cannot be timed."""
    for n in cfg.sizes:
        expect(n >= 1, "sizes", "numbers of instances >= 1", n)
    for precision in cfg.precisions:
        expect(precision in BENCHMARK_DTYPES, "precisions", " or ".join(BENCHMARK_DTYPES), precision)
    expect(cfg.epochs >= 1, "epochs", "a number of timed epochs >= 1", cfg.epochs)
    expect(cfg.rounds >= 1, "rounds", "a number of rounds >= 1", cfg.rounds)
    expect(cfg.crossover_n >= 1, "crossover_n", "a number of instances >= 1", cfg.crossover_n)
    for width in cfg.crossover_widths:
        expect(width >= 1, "crossover_widths", "numbers of hidden units >= 1", width)
    repeats = cfg.end_to_end_repeats
    expect(repeats >= 0, "end_to_end_repeats", "a number of runs >= 0 (0 leaves the end-to-end timing out)", repeats)


def check_writable(directory, key, expected, got):
    """A file can be made in `directory` (which exists); else ConfigError('<key>: expected <expected>, got <got>
    (why not)')."""
    try:
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        raise ConfigError(f"{key}: expected {expected}, got {got} ({error.strerror})") from None


def check_seed(seed):
    """A seed that numpy's random generator (random weights, shuffles) and lightning.seed_everything take."""
    expect(0 <= seed <= 2**32 - 1, "seed", "an integer from 0 to 2**32 - 1", seed)


def check_instance(key, instance, n):
    """An instance number (1 = the first row) that the data has."""
    expect(1 <= instance <= n, key, f"an instance from 1 to {n}", instance)


def check_network(cfg):
    """Check the model's dims, the given weights and the data in the config against each other (and first, that
    no integer of the config is beyond int64)."""
    check_integers(cfg)
    model, data = cfg.model, cfg.data
    dims = {
        "model.input_dim": model.input_dim,
        "model.hidden_dim": model.hidden_dim,
        "model.output_dim": model.output_dim,
    }
    for key, dim in dims.items():
        expect(dim >= 1, key, "a number of units >= 1", dim)
    if model.W is None or model.V is None:
        check_memory(dims)
    _shape(model.W, "model.W", (model.input_dim, model.hidden_dim), "model.input_dim x model.hidden_dim")
    _shape(model.V, "model.V", (model.hidden_dim, model.output_dim), "model.hidden_dim x model.output_dim")
    if OmegaConf.is_missing(data, "path") or (data.path is None) == (data.X is None or data.T is None):
        raise ConfigError("data: expected data.X and data.T, or a CSV file in data.path (data=csv data.path=FILE)")
    if data.path is None:
        X = _matrix(data.X, "data.X")
        T = _matrix(data.T, "data.T")
        expect(len(X[0]) == model.input_dim, "data.X", f"{model.input_dim} columns (model.input_dim)", len(X[0]))
        expect(len(T[0]) == model.output_dim, "data.T", f"{model.output_dim} columns (model.output_dim)", len(T[0]))
        expect(len(T) == len(X), "data.T", f"{len(X)} rows, one target per instance of data.X", len(T))


def check_integers(cfg):
    """Every integer setting fits in int64, as numpy, torch and TensorBoard hold integers (OmegaConf takes any
    Python int). The matrices (model.W, data.X, ...) are numbers read as floats, not settings: not counted."""
    for key, value in _settings(cfg):
        if isinstance(value, int) and not isinstance(value, bool):
            expect(-(2**63) <= value < 2**63, key, "an integer from -2**63 to 2**63 - 1 (int64)", value)


def _settings(node, prefix=""):
    """(dotted key, value) of each setting under `node` (a list is one value), Hydra's own and unset ones left out."""
    for key in node:
        if (not prefix and key == "hydra") or OmegaConf.is_missing(node, key):
            continue
        value = node[key]
        if isinstance(value, DictConfig):
            yield from _settings(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def check_memory(dims):
    """Random weights W and V are drawn in float64 (network.initial_weights): 8 bytes each, in memory at once. A net
    that needs more than the memory there is (memory_bytes) is refused, naming its widest dim. A lower bound only:
    the run holds them a few more times over (as Python floats, as the run's tensors, their gradients)."""
    n_in, n_hidden, n_out = dims.values()
    weights = n_hidden * (n_in + n_out)
    need, have = 8 * weights, memory_bytes()
    key = max(dims, key=dims.get)
    got = f"{dims[key]}: its {weights:,} weights take {need:,} bytes in float64"
    expect(need <= have, key, f"a net whose weights fit in memory ({have:,} bytes here)", got)


def memory_bytes():
    """This machine's memory (os.sysconf), or less where the process may not map more (`ulimit -v`)."""
    physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    mappable, _ = resource.getrlimit(resource.RLIMIT_AS)
    return physical if mappable == resource.RLIM_INFINITY else min(physical, mappable)


def plain(matrix):
    """A config matrix as nested Python lists (what checkpoints can hold and `weights_only` loading accepts)."""
    return None if matrix is None else OmegaConf.to_container(matrix)


def _shape(value, key, shape, names):
    if value is not None:
        rows = _matrix(value, key)
        got = (len(rows), len(rows[0]))
        expect(got == shape, key, f"a {shape[0]} x {shape[1]} matrix ({names})", f"{got[0]} x {got[1]}")


def _matrix(value, key):
    expect(value is not None and len(value) > 0, key, "a non-empty list of rows, like [[1,2],[3,4]]", value)
    lengths = [len(row) for row in value]
    expect(len(set(lengths)) == 1 and lengths[0] > 0, key, "rows of one and the same length", f"{lengths}")
    for i, row in enumerate(value):
        for j, v in enumerate(row):
            number = isinstance(v, (int, float)) and not isinstance(v, bool)
            expect(number and math.isfinite(v), key, "finite numbers", f"{v!r} at [{i}][{j}]")
    return value


def expect(ok, key, expected, got):
    """Raise ConfigError('<key>: expected <expected>, got <got>') unless ok."""
    if not ok:
        raise ConfigError(f"{key}: expected {expected}, got {got}")
