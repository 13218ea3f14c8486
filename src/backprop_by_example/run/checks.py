"""The checks of the values that the types of `run/schema.py` cannot rule out: shapes that do not fit, non-numbers,
lr <= 0, sizes beyond memory. Each raises a ConfigError that names the key.
"""

import inspect
import math
import os
import re
import resource
from dataclasses import fields, is_dataclass

import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.pytorch.loggers import Logger
from omegaconf import DictConfig, OmegaConf

from backprop_by_example.run.errors import ConfigError, expect
from backprop_by_example.run.schema import OptimizerConfig, TrainConfig, TrainerConfig


def check(cfg):
    """Raise ConfigError for values the types cannot rule out: shapes that do not fit, non-numbers, lr <= 0.

    (`trainer.*` has checks of its own, trainer_args.check.)"""
    check_keys(cfg, TrainConfig)
    check_network(cfg)
    lr = cfg.optimizer.lr
    expect(math.isfinite(lr) and lr > 0, "optimizer.lr", "a finite learning rate > 0", lr)
    optimizer_from(cfg.optimizer)
    loggers_from(cfg.logger)
    check_seed(cfg.seed)
    batch_size = cfg.data.batch_size
    expect(batch_size is None or batch_size >= 1, "data.batch_size", "a number of rows >= 1, or null", batch_size)
    # log.picture_instance is checked against the data once it is loaded (inputs.checked)
    for key in ("log.picture_every_n_epochs", "checkpoint.every_n_epochs"):
        every = OmegaConf.select(cfg, key)
        expect(every >= 1, key, "a number of epochs >= 1", every)
    for key in ("log.max_scalars", "log.max_instances"):
        most = OmegaConf.select(cfg, key)
        expect(most >= 0, key, "a number >= 0", most)


def check_keys(cfg, schema, prefix=""):
    """Only the keys of `schema`: a `+key=...` of a name that is none (a typo, say) is refused, not ignored.
    trainer.* takes any of lightning.Trainer's arguments (trainer_args.check), optimizer.* any of its optimizer's
    (optimizer_from)."""
    known = {f.name: f.type for f in fields(schema)}
    for key in cfg:
        if key == "hydra" and not prefix:  # Hydra's own settings, in a config as its callbacks see it
            continue
        if key not in known:
            group = prefix.rstrip(".") or "the top level"
            raise ConfigError(f"{prefix}{key}: not a setting here; {group} has {', '.join(known)}")
        if is_dataclass(known[key]) and known[key] not in (TrainerConfig, OptimizerConfig):
            check_keys(cfg[key], known[key], f"{prefix}{key}.")


def optimizer_from(optimizer):
    """Hydra's partial of the `optimizer` config (parameters -> torch.optim.Optimizer), checked by building one on a
    dummy parameter: `_target_` is an Optimizer class, and it takes the other keys as arguments, with these values."""
    expect(optimizer._partial_ is True, "optimizer._partial_", "true (the module gives the optimizer its parameters)",
           optimizer._partial_)  # fmt: skip
    make = located(optimizer, "optimizer", torch.optim.Optimizer, "torch.optim.Optimizer", "torch.optim.Adam")
    try:
        make([torch.zeros(1, requires_grad=True)])
    except (TypeError, ValueError) as error:  # torch's messages name the argument in words ("Invalid momentum value")
        named = [key for key in make.keywords if re.search(rf"\b{key}\b", str(error))]
        key = f"optimizer.{named[0]}" if len(named) == 1 else "optimizer"
        raise ConfigError(f"{key}: {optimizer._target_} refuses it: {error}") from None
    return make


def loggers_from(loggers):
    """{name: Hydra's partial of `logger.<name>`} (keyword arguments -> a Lightning Logger), each checked, unbuilt:
    `_target_` is a Logger class that takes the other keys as arguments."""
    base, example = "lightning.pytorch.loggers.Logger", "lightning.pytorch.loggers.CSVLogger"
    return {
        name: located(node, f"logger.{name}", Logger, base, example, partial=True) for name, node in loggers.items()
    }


def located(node, key, base, base_name, example, partial=None):
    """Hydra's partial of `node` (at config key `key`), its `_target_` a subclass of `base` whose signature takes the
    node's other keys; a ConfigError naming the key where not."""
    target = node.get("_target_") if OmegaConf.is_dict(node) else None
    expect(target is not None, f"{key}._target_", f"a class to build, like {example}", target)
    try:  # plain lists (`_convert_`): what a checkpoint loads with weights_only
        make = instantiate(node, _convert_="all", **({"_partial_": True} if partial else {}))
    except InstantiationException:
        raise ConfigError(f"{key}._target_: expected a class to import, like {example}, got {target}") from None
    is_class = isinstance(make.func, type) and issubclass(make.func, base)
    expect(is_class, f"{key}._target_", f"a subclass of {base_name}", target)
    arguments = inspect.signature(make.func).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in arguments.values()):
        known = [name for name in arguments if name != "params"]
        for argument in make.keywords:
            if argument not in known:
                raise ConfigError(f"{key}.{argument}: not an argument of {target}, which takes {', '.join(known)}")
    return make


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
