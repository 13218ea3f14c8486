"""Continuing a run from its last.ckpt (`ckpt_path=...`): what the checkpoint holds, and whether a config can go on.

A resume goes on with the checkpoint's weights, optimizer state (momentum buffers, Adam's moments and step count)
and loop state, and takes from the config whatever may change from one part of a run to the next: the optimizer's
arguments, lr included (from the resume on), the epochs, logging, devices, and the batches from the next epoch on.
What cannot change is refused in one line naming the key, before any work: the dims, the number of instances, the
precision, the optimizer's class (its state is of that class), fewer epochs than done, and, for a checkpoint written
in the middle of an epoch, the batches of that epoch (`data.batch_size`, `data.shuffle`, `seed`).
"""

import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from lightning.pytorch.callbacks import Callback

from backprop_by_example.run.checkpoint import LastCheckpoint, class_name
from backprop_by_example.run.checks import optimizer_from
from backprop_by_example.run.errors import ConfigError, expect
from backprop_by_example.run.paths import user_path


class Saved(NamedTuple):
    """A checkpoint of this project, as far as a resume needs it."""

    W: list  # the initial weights of the run it belongs to
    V: list
    dims: tuple  # input_dim, hidden_dim, output_dim
    precision: str | None
    epochs: int  # complete epochs
    steps: int  # updates
    batches: dict | None  # where the epoch stood and how its batches were made (data.Batches.state_dict)
    mid_epoch: bool  # saved with batches of the epoch still to run (of those limit_train_batches leaves)
    optimizer: str | None  # the optimizer's class, module.name (None: a checkpoint from before the record had it)


def read(path):
    """The checkpoint at `path` (as the user typed it), or a ConfigError that says why it cannot be one."""
    file = Path(user_path(path))
    if not file.exists():
        raise ConfigError(f"ckpt_path: expected an existing checkpoint file, got {path}")
    if not file.is_file():
        raise ConfigError(f"ckpt_path: expected a checkpoint file, got {path} (not a regular file)")
    try:
        with warnings.catch_warnings():  # on a pickle of another protocol, before it refuses it; the refusal says it
            warnings.filterwarnings("ignore", "Detected pickle protocol", UserWarning)
            checkpoint = torch.load(file, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001  (torch raises one kind or another for each way a file is not a checkpoint)
        raise ConfigError(
            f"ckpt_path: expected a last.ckpt written by scripts/train.py, got {path}, which torch cannot load"
        ) from None
    try:
        if not isinstance(checkpoint, dict):  # a tensor, say: torch warns where it is indexed by a name
            raise TypeError("not a dict")
        state, hparams = checkpoint["state_dict"], checkpoint["hyper_parameters"]
        W, V = state["net.W"], state["net.V"]
        record = checkpoint["callbacks"][LastCheckpoint.KEY]  # the project's own (checkpoint.LastCheckpoint)
        checkpoint["optimizer_states"][0]["param_groups"]  # noqa: B018  (a resume needs the optimizer's state)
        if [list(W.shape), list(V.shape)] != [list(np.shape(hparams["W"])), list(np.shape(hparams["V"]))]:
            raise TypeError("the initial weights do not have the weights' shapes")
        return Saved(
            W=hparams["W"],
            V=hparams["V"],
            dims=(W.shape[0], W.shape[1], V.shape[1]),
            precision=record["precision"],
            epochs=record["epochs"],
            steps=record["steps"],
            batches=record["batches"],
            mid_epoch=record["mid_epoch"],
            optimizer=record.get("optimizer"),
        )
    except (KeyError, TypeError, AttributeError, IndexError):
        raise ConfigError(
            f"ckpt_path: expected a last.ckpt written by scripts/train.py, got {path}, a torch file of another kind"
        ) from None


def check(cfg, saved, instances):
    """Raise ConfigError where `cfg` cannot continue the run of checkpoint `saved` on `instances` instances."""
    where = f"as in the checkpoint (ckpt_path={cfg.ckpt_path})"
    dims = ("model.input_dim", "model.hidden_dim", "model.output_dim")
    for key, got, expected in zip(dims, (cfg.model[k.split(".")[1]] for k in dims), saved.dims, strict=True):
        expect(got == expected, key, f"{expected}, {where}", got)
    if saved.optimizer is not None:
        optimizer = class_name(optimizer_from(cfg.optimizer).func)
        expect(optimizer == saved.optimizer, "optimizer._target_", f"{saved.optimizer}, {where}", optimizer)
    precision = unified_precision(cfg.trainer.precision)
    if saved.precision is not None:
        expect(precision == saved.precision, "trainer.precision", f"{saved.precision}, {where}", precision)
    data = "data.path" if cfg.data.path is not None else "data.X"
    if saved.batches is not None:
        expected = saved.batches["instances"]
        expect(instances == expected, data, f"{expected} instances, {where}", instances)
    needed = saved.epochs + saved.mid_epoch
    max_epochs = cfg.trainer.max_epochs
    trained = f"the epochs the checkpoint has{' begun' if saved.mid_epoch else ''} (ckpt_path={cfg.ckpt_path})"
    expect(max_epochs == -1 or max_epochs >= needed, "trainer.max_epochs", f"at least {needed}, {trained}", max_epochs)
    if saved.mid_epoch:
        epoch = saved.batches["epoch"] + 1
        mid = f"to finish epoch {epoch}, which the checkpoint (ckpt_path={cfg.ckpt_path}) stopped in the middle of"
        plan = saved.batches
        size = cfg.data.batch_size or instances
        expect(size == plan["batch_size"], "data.batch_size", f"{plan['batch_size']} {mid}", size)
        expect(cfg.data.shuffle == plan["shuffle"], "data.shuffle", f"{plan['shuffle']} {mid}", cfg.data.shuffle)
        if plan["shuffle"]:
            expect(cfg.seed == plan["seed"], "seed", f"{plan['seed']} {mid}", cfg.seed)


# Lightning's short names for its precisions (the Trainer's documented values); a checkpoint holds the long one
SHORT_PRECISIONS = {"64": "64-true", "32": "32-true", "16": "16-mixed", "bf16": "bf16-mixed"}


def unified_precision(precision):
    """Lightning's full name of a precision: '64' (or 64) is '64-true'."""
    return SHORT_PRECISIONS.get(str(precision), str(precision))


class ArgumentsFromConfig(Callback):
    """A resumed run gets the optimizer state of its checkpoint, its arguments included (lr, momentum, betas, ...):
    the config's win. `arguments`: those of an optimizer built from the config (its `defaults`)."""

    def __init__(self, arguments):
        self.arguments = arguments

    def on_train_start(self, trainer, module):
        for group in trainer.optimizers[0].param_groups:
            group.update(self.arguments)
