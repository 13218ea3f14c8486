"""`trainer.*`, the keyword arguments of lightning.Trainer, checked before Lightning sees them.

Lightning checks many of its arguments only once fit has begun, some not at all (accumulate_grad_batches=-1 trains
as 1). Here every one gets its one line first: a name that is not an argument, one this project sets itself or that
has no meaning without validation data, a value of the wrong type (by the Trainer's own annotations), or out of range.
"""

import inspect
import math
import types
import typing

import lightning as L
import torch
from omegaconf import OmegaConf

from backprop_by_example.run.errors import ConfigError, expect

NO_VALIDATION = "this project has no validation data, so there is no validation to schedule"
REFUSED = {
    "callbacks": "the project sets the callbacks itself (training.build): last.ckpt, the TensorBoard log",
    "default_root_dir": "the run dir is Hydra's: hydra.run.dir=DIR",
    "use_distributed_sampler": "the project shares the instances out to the processes itself (data.Batches)",
    "enable_checkpointing": "last.ckpt is the project's own; checkpoint.every_n_epochs sets how often it is written",
    "barebones": "it would turn off the logging and checkpoints that this project is made of",
    "overfit_batches": "trainer.limit_train_batches=K trains on K batches per epoch (the same ones with "
    "data.shuffle=false)",
    "val_check_interval": NO_VALIDATION,
    "check_val_every_n_epoch": NO_VALIDATION,
    "limit_val_batches": NO_VALIDATION,
    "num_sanity_val_steps": NO_VALIDATION,
    "limit_test_batches": "this project only trains",
    "limit_predict_batches": "this project only trains",
}
TYPES = typing.get_type_hints(L.Trainer.__init__)
ARGUMENTS = set(inspect.signature(L.Trainer.__init__).parameters) - {"self"}
LEFT_TO_LIGHTNING = {"precision"}  # Lightning's own message lists the precisions
# (key, expected, test) for the values a type allows but that cannot work
RANGES = [
    ("max_epochs", "a number of epochs >= 0, or -1 for no limit (trainer.max_steps, trainer.max_time or Ctrl-C "
     "ends it)", lambda v: v >= -1),
    ("max_steps", "a number of updates >= 0, or -1 for no limit", lambda v: v >= -1),
    ("min_epochs", "a number of epochs >= 0, or null", lambda v: v is None or v >= 0),
    ("min_steps", "a number of updates >= 0, or null", lambda v: v is None or v >= 0),
    ("accumulate_grad_batches", "a number of batches >= 1", lambda v: v >= 1),
    ("log_every_n_steps", "a number of updates >= 1", lambda v: v is not None and v >= 1),
    ("gradient_clip_val", "a finite number >= 0, or null", lambda v: v is None or (math.isfinite(v) and v >= 0)),
    ("limit_train_batches", "a number of batches >= 0, a fraction from 0.0 to 1.0, or null",
     lambda v: v is None or (0 <= v <= 1 if isinstance(v, float) else v >= 0)),
    ("fast_dev_run", "true, false or a number of batches >= 0", lambda v: v >= 0),
    ("num_nodes", "a number of machines >= 1", lambda v: v >= 1),
    ("reload_dataloaders_every_n_epochs", "a number of epochs >= 0", lambda v: v >= 0),
]  # fmt: skip


def check(trainer):
    """Raise ConfigError for the first Trainer argument that cannot work here."""
    no_gpu = trainer.accelerator in ("gpu", "cuda") and not torch.cuda.is_available()
    expect(not no_gpu, "trainer.accelerator", "cpu or auto: this machine has no CUDA GPU", trainer.accelerator)
    arguments = OmegaConf.to_container(trainer, resolve=True)
    logger = arguments.get("logger", True)  # Lightning's own types allow null and loggers; the project does not
    loggers = "true or false (the loggers of conf/logger, or none)"
    expect(isinstance(logger, bool), "trainer.logger", loggers, repr(logger))
    for key, value in arguments.items():
        expect(key in ARGUMENTS, f"trainer.{key}", "an argument of lightning.Trainer", f"{key}={value}")
        if key in REFUSED:
            raise ConfigError(f"trainer.{key}: not settable here: {REFUSED[key]}")
        if key not in LEFT_TO_LIGHTNING:
            expect(fits(value, TYPES[key]), f"trainer.{key}", describe(TYPES[key]), repr(value))
    for key, expected, works in RANGES:
        if key in arguments:
            expect(works(arguments[key]), f"trainer.{key}", expected, arguments[key])


def check_batches(trainer, batches):
    """limit_train_batches leaves at least one of an epoch's `batches` (a fraction of a few may leave none)."""
    limit = trainer.get("limit_train_batches")
    if isinstance(limit, float) and limit > 0:
        expected = f"a fraction that leaves at least one of the {batches} batches of an epoch"
        expect(int(batches * limit) >= 1, "trainer.limit_train_batches", expected, limit)


def fits(value, hint):
    """Whether a value from the command line (None, bool, int, float, str, list, dict) is of type `hint`."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(fits(value, arg) for arg in args)
    if origin is typing.Literal:
        return any(value == arg and type(value) is type(arg) for arg in args)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin in (list, dict):
        return isinstance(value, origin) and all(
            fits(v, args[-1]) for v in (value.values() if origin is dict else value)
        )
    return False  # a class of Lightning's (an Accelerator, a Profiler...): no command-line value is one


def describe(hint):
    """`hint` in words: 'an integer or null'."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        words = [w for w in dict.fromkeys(describe(arg) for arg in args) if w]
        if "a number" in words and "an integer" in words:  # an integer is a number
            words.remove("an integer")
        return " or ".join(words)
    if origin is typing.Literal:
        return "one of " + ", ".join(str(arg) for arg in args)
    words = {type(None): "null", bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    if hint in words:
        return words[hint]
    if origin is list:
        element = describe(args[0]).removeprefix("an ").removeprefix("a ")
        return f"a list of {element}s" if element else "an empty list"  # of classes: no command-line value is one
    if origin is dict:
        return "a mapping"
    return ""
