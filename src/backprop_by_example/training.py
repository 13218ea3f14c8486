"""Build the run from a config, fit it, and summarise the result (what `scripts/train.py` does)."""

import json
import os
import shlex
import signal
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import lightning as L
import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import OmegaConf

from backprop_by_example import resume, trainer_args
from backprop_by_example.animation import TrainingAnimation
from backprop_by_example.checkpoint import LastCheckpoint, progress
from backprop_by_example.config import ConfigError, check, check_instance, plain, user_path
from backprop_by_example.console import lightning_notes_held
from backprop_by_example.data import Batches, TrainingData, load
from backprop_by_example.module import BackpropModule
from backprop_by_example.network import initial_weights, squared_error
from backprop_by_example.progress import EpochBar
from backprop_by_example.stopping import Stopped, end_process_group
from backprop_by_example.tensorboard_log import BackpropLog, hparams

MAX_INSTANCES_IN_SUMMARY = 10_000  # beyond, summary.json holds null for the per-instance outputs and losses


class EndProcessGroup(Callback):
    """Under DDP, ends the process group in step at the end of fit (stopping.end_process_group)."""

    def teardown(self, trainer, module, stage):
        end_process_group()


def start_weights(cfg):
    """W and V to start from: model.W and model.V as given, or where null drawn from `seed`."""
    model = cfg.model
    dims = model.input_dim, model.hidden_dim, model.output_dim
    return initial_weights(plain(model.W), plain(model.V), *dims, cfg.seed)


def checked(cfg):
    """What a run takes from its config, all of it checked: the data X and T, and the initial weights W and V.

    The data and the checkpoint to resume from are read here too, so that bad input gets its one line before
    Lightning prints anything (and before any job of a sweep starts: preflight.Preflight).
    """
    check(cfg)
    trainer_args.check(cfg.trainer)
    X, T = load(cfg.data, cfg.model)
    check_instance("log.picture_instance", cfg.log.picture_instance, len(X))
    trainer_args.check_batches(cfg.trainer, len(Batches(len(X), cfg.data.batch_size, False, 0)))
    saved = resume.read(cfg.ckpt_path) if cfg.ckpt_path is not None else None
    if saved:
        resume.check(cfg, saved, len(X))
    W, V = (saved.W, saved.V) if saved else start_weights(cfg)  # a resumed run keeps its initial weights
    return X, T, W, V


def trainer_for(cfg, **project):
    """lightning.Trainer(**cfg.trainer, **project): `project`, what the project sets itself; Lightning's refusal of
    an argument becomes a ConfigError."""
    arguments = OmegaConf.to_container(cfg.trainer, resolve=True)
    arguments.pop("logger", None)  # true or false: the project's TensorBoard logger or none, in `project`
    try:
        # TrainingData shares the instances out to DDP's processes itself
        return L.Trainer(**arguments, use_distributed_sampler=False, **project)
    except (ValueError, TypeError, ImportError, MisconfigurationException) as error:  # Lightning's own checks
        raise ConfigError(f"trainer: {error}") from error


def check_job(cfg):
    """`checked`, and Lightning's own check of the Trainer's arguments (a Trainer built and dropped): what a
    sweep's preflight runs for every job before the first starts."""
    checked(cfg)
    with lightning_notes_held(let_out=False), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer_for(cfg, logger=False, enable_checkpointing=False)


def build(cfg, run_dir):
    """The Trainer, the module and the data for `cfg`, logging and checkpointing into `run_dir`."""
    X, T, W, V = checked(cfg)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    tensorboard = cfg.trainer.get("logger", True) and not cfg.trainer.get("fast_dev_run")
    log = OmegaConf.to_container(cfg.log)
    animation = None
    if log.pop("animation") and tensorboard:
        animation = TrainingAnimation(run_dir, log["picture_every_n_epochs"], log["picture_instance"])
    callbacks = [
        # saving after every epoch would double the seed run's time
        LastCheckpoint(Path(run_dir) / "checkpoints" / "last.ckpt", cfg.checkpoint.every_n_epochs),
        *([BackpropLog(run_dir, **log, animation=animation)] if tensorboard else []),
        *([animation] if animation else []),  # after the log, which feeds it the loss curve
        *([EpochBar()] if cfg.trainer.enable_progress_bar else []),  # in place of Lightning's bar per epoch
    ]
    # the hparams go in at the end, with the final loss as their metric (see `train`)
    logger = TensorBoardLogger(save_dir=run_dir, name="tensorboard", version="", default_hp_metric=False)
    with lightning_notes_held():  # printed once the Trainer has accepted its arguments
        trainer = trainer_for(
            cfg, default_root_dir=run_dir, logger=logger if tensorboard else False, callbacks=callbacks
        )
    if trainer.world_size > 1:
        trainer.callbacks.append(EndProcessGroup())
    with trainer.init_module():  # parameters are created in the precision's dtype
        module = BackpropModule(W, V, cfg.optimizer.lr, cfg.model.compile, cfg.model.gradients.value)
    data = TrainingData(
        X, T, cfg.data.batch_size, cfg.data.shuffle, cfg.seed, dtype=module.net.W.dtype, columns=module.reads_columns
    )
    return trainer, module, data


def train(cfg, run_dir):
    """Fit, then write and return `summary.json`: final weights, outputs and losses per instance.

    In a DDP run every process trains; only the first (global rank 0) writes and returns the summary. A run that a
    signal stops raises `stopping.Stopped` (a SystemExit) and writes no summary.
    """
    trainer, module, data = build(cfg, run_dir)
    ckpt_path = user_path(cfg.ckpt_path) if cfg.ckpt_path is not None else None
    start = time.perf_counter()
    with signals_noted(trainer):
        trainer.fit(module, datamodule=data, ckpt_path=ckpt_path, weights_only=True)
    fit_seconds = time.perf_counter() - start
    if not trainer.is_global_zero:
        return None

    net = module.net
    X, T = (a.to(net.W) for a in (data.X, data.T))
    with torch.no_grad():
        Y = net(X)
    losses = squared_error(Y, T)
    per_instance = len(X) <= MAX_INSTANCES_IN_SUMMARY
    summary = {
        "W": net.W.tolist(),
        "V": net.V.tolist(),
        "outputs": Y.tolist() if per_instance else None,
        "targets": T.tolist() if per_instance else None,
        "losses": losses.tolist() if per_instance else None,
        "loss": losses.sum().item(),
        "epochs": module.epochs_done.item(),  # complete epochs
        "steps": module.steps_done.item(),  # updates
        "steps_skipped": module.steps_skipped.item(),  # of them, by 16-mixed's loss scaler (module.py)
        "accelerator": trainer.strategy.root_device.type,
        "precision": trainer.precision,
        "fit_seconds": fit_seconds,
    }
    if isinstance(trainer.logger, TensorBoardLogger):
        params = hparams(cfg, trainer, module, summary)
        trainer.logger.log_hyperparams(params, {"final_loss": summary["loss"]}, step=summary["steps"])
        trainer.logger.finalize("success")
    write_atomically(Path(run_dir, "summary.json"), json.dumps(summary, indent=2) + "\n")
    return summary


@contextmanager
def signals_noted(trainer):
    """Ctrl-C and SIGTERM during fit ask it to stop (stopping.StopRequest) instead of raising where they land."""
    stop = trainer.checkpoint_callback.stop
    stop.install(launcher=trainer.strategy.launcher, announce=trainer.is_global_zero)
    try:
        yield
    except torch.multiprocessing.ProcessExitedException as exited:  # ddp_spawn: its first worker stopped
        if exited.exit_code - 128 in (signal.SIGINT, signal.SIGTERM):
            raise Stopped(stop.signum or exited.exit_code - 128) from None  # the signal this process was sent
        raise
    finally:
        stop.uninstall()


def write_atomically(path, text):
    """The file whole or not at all: a run stopped while it is written never leaves half a summary."""
    part = path.with_name(path.name + ".part")
    part.write_text(text)
    try:
        os.replace(part, path)
    except OSError as error:  # a directory of that name, say: name the file the run meant to write
        part.unlink()
        raise OSError(error.errno, error.strerror, str(path)) from None


def report(summary, run_dir, shown=10, start_dir=None):
    """A few readable lines: outputs against targets (the first `shown` instances), the final weights, where to look."""
    done = progress(summary["epochs"], summary["steps"])
    lines = [f"After {done} (precision {summary['precision']}, on {summary['accelerator']}):"]
    if summary["steps_skipped"]:
        lines.append(
            f"  {summary['steps_skipped']} of the {summary['steps']} updates skipped: their gradients overflowed "
            "float16, and the loss scaler skips such an update and halves its scale"
        )
    rows = list(zip(summary["outputs"] or [], summary["targets"] or [], summary["losses"] or [], strict=True))
    for i, (y, t, loss) in enumerate(rows[:shown], start=1):
        lines.append(f"  instance {i}: y = {_row(y)}  target {_row(t, '.8g')}  loss {loss:.8f}")
    if len(rows) > shown:
        lines.append(f"  ... and {len(rows) - shown} more instances")
    lines.append(f"  total loss {summary['loss']:.8f}")
    for name in ("W", "V"):
        lines.append(f"  {name} = [{', '.join(_row(r) for r in summary[name])}]")
    lines.append(f"Run dir:     {shown_path(run_dir, start_dir)}")
    if (Path(run_dir) / "checkpoints" / "last.ckpt").is_file():
        lines.append(f"Checkpoint:  {shown_path(Path(run_dir) / 'checkpoints' / 'last.ckpt', start_dir)}")
    if (Path(run_dir) / "tensorboard").is_dir():
        lines.append(f"TensorBoard: tensorboard --logdir {shown_path(run_dir, start_dir)}")
    return "\n".join(lines)


def shown_path(path, start_dir=None):
    """`path` relative to the directory the command ran in (`start_dir`, default the current one), if inside it."""
    path, start_dir = Path(path).resolve(), Path(start_dir or Path.cwd()).resolve()
    return path.relative_to(start_dir) if path.is_relative_to(start_dir) else path


def continue_command(script, overrides, checkpoint):
    """The command line that continues a stopped run: its overrides again, ckpt_path instead of its run dir."""
    kept = [o for o in overrides if o.split("=")[0].lstrip("+~") not in ("ckpt_path", "hydra.run.dir")]
    return shlex.join(["python", script, *kept, f"ckpt_path={checkpoint}"])


def _row(values, spec=".8f"):
    return "[" + ", ".join(format(v, spec) for v in values) + "]"
