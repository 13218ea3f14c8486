"""Build the run from a config, fit it, and summarise the result (what `scripts/train.py` does)."""

import inspect
import json
import os
import time
import warnings
from pathlib import Path

import lightning as L
import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.loggers import MLFlowLogger, TensorBoardLogger
from omegaconf import OmegaConf

from backprop_by_example import torch_by_hand
from backprop_by_example.data import TrainingData
from backprop_by_example.log.animation import TrainingAnimation
from backprop_by_example.log.hparams import hparams
from backprop_by_example.log.page import TrainingPage
from backprop_by_example.log.pictures import NetworkPicture
from backprop_by_example.log.scalars import BackpropLog
from backprop_by_example.module import BackpropModule
from backprop_by_example.run import resume
from backprop_by_example.run.checkpoint import LastCheckpoint
from backprop_by_example.run.checks import loggers_from, optimizer_from
from backprop_by_example.run.console import Unsaid, leave_out_unsaid, lightning_notes_held
from backprop_by_example.run.errors import ConfigError
from backprop_by_example.run.inputs import checked
from backprop_by_example.run.paths import user_path
from backprop_by_example.run.progress import EpochBar
from backprop_by_example.run.report import summarize, write_atomically
from backprop_by_example.run.skipped import SkippedUpdates
from backprop_by_example.run.stopping import EndProcessGroup, StopOnSignal, signals_noted

REFUSALS = (ValueError, TypeError, ImportError, MisconfigurationException)  # what Lightning's own checks raise


def trainer_for(cfg, **project):
    """lightning.Trainer(**cfg.trainer, **project): `project`, what the project sets itself; Lightning's refusal of
    an argument becomes a ConfigError naming it (`refused_key`)."""
    arguments = OmegaConf.to_container(cfg.trainer, resolve=True)
    arguments.pop("logger", None)  # true or false: the loggers of conf/logger or none, in `project`
    try:
        # TrainingData shares the instances out to DDP's processes itself
        return L.Trainer(**arguments, use_distributed_sampler=False, **project)
    except REFUSALS as error:
        raise ConfigError(f"{refused_key(arguments, error)}: {error}") from error


def refused_key(arguments, error):
    """`trainer.<key>`: the first of the Trainer's `arguments`, in the config's order, that Lightning refuses with
    those before it, as it refused them all (`error`). Lightning's messages do not say which argument they are
    about; `trainer` where the first refusal is another one."""
    given = list(arguments.items())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n, (key, _) in enumerate(given, start=1):
            try:
                L.Trainer(**dict(given[:n]), logger=False, enable_checkpointing=False, use_distributed_sampler=False)
            except REFUSALS as refusal:
                return f"trainer.{key}" if str(refusal) == str(error) else "trainer"
    return "trainer"


def check_job(cfg):
    """`checked`, and Lightning's own check of the Trainer's arguments (a Trainer built and dropped): what a
    sweep's preflight runs for every job before the first starts."""
    checked(cfg)
    with lightning_notes_held(let_out=False), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer_for(cfg, logger=False, enable_checkpointing=False)


def build(cfg, run_dir):
    """The Trainer, the module and the data for `cfg`, logging and checkpointing into `run_dir`."""
    leave_out_unsaid()
    X, T, W, V = checked(cfg)
    optimizer = optimizer_from(cfg.optimizer)  # parameters -> the optimizer
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    logging = cfg.trainer.get("logger", True) and not cfg.trainer.get("fast_dev_run")
    loggers = built_loggers(cfg.logger, run_dir) if logging else []
    log = cfg.log
    pictures = log.picture_every_n_epochs, log.picture_instance
    animation = TrainingAnimation(run_dir, *pictures) if log.animation and loggers else None
    training_page = TrainingPage(run_dir, X, T, log.max_instances) if log.page and loggers else None
    logs = [
        BackpropLog(
            log.details,
            log.max_scalars,
            log.max_instances,
            log.picture_every_n_epochs,
            NetworkPicture(run_dir, *pictures) if log.details else None,
            animation,
            training_page,
        ),  # fmt: skip
        *([animation] if animation else []),  # after the log, which feeds it the loss curve
        *([training_page] if training_page else []),  # likewise, its rows
    ]
    callbacks = [
        # saving after every epoch would double the seed run's time
        LastCheckpoint(Path(run_dir) / "checkpoints" / "last.ckpt", cfg.checkpoint.every_n_epochs),
        *(logs if loggers else []),
        *([EpochBar()] if cfg.trainer.enable_progress_bar else []),  # in place of Lightning's bar per epoch
        *([resume.ArgumentsFromConfig(arguments_of(optimizer))] if cfg.ckpt_path is not None else []),
        StopOnSignal(),  # after the logs of an update; Lightning puts the checkpoint after it
    ]
    with lightning_notes_held():  # printed once the Trainer has accepted its arguments
        trainer = trainer_for(cfg, default_root_dir=run_dir, logger=loggers or False, callbacks=callbacks)
    # Only where they have work: each callback costs every update Lightning's dispatch of each hook to it
    if trainer.world_size > 1:  # Unsaid: a worker that ddp_spawn starts is a fresh interpreter
        trainer.callbacks += [EndProcessGroup(), Unsaid()]
    if getattr(trainer.precision_plugin, "scaler", None) is not None:  # a loss scaler may skip updates
        trainer.callbacks.append(SkippedUpdates())
    with trainer.init_module():  # parameters are created in the precision's dtype
        module = BackpropModule(W, V, cfg.optimizer.lr, cfg.model.compile, cfg.model.gradients.value, optimizer)
    data = TrainingData(
        X,
        T,
        cfg.data.batch_size,
        cfg.data.shuffle,
        cfg.seed,
        dtype=module.net.W.dtype,
        columns=torch_by_hand.fused(cfg.model.gradients.value, cfg.model.compile),
    )
    return trainer, module, data


def built_loggers(loggers, run_dir):
    """The loggers of conf/logger, in the config's order, writing into `run_dir` (their `save_dir`, where the class
    takes one: the run dir, or a relative one under it). A logger whose package is missing: a ConfigError."""
    built = []
    for name, make in loggers_from(loggers).items():
        mlflow = issubclass(make.func, MLFlowLogger)
        if mlflow:  # MLflow 3 refuses its local file store unless told so; here that store is the point
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        into = {}
        if "save_dir" in inspect.signature(make.func).parameters:
            into["save_dir"] = str(Path(run_dir, make.keywords.get("save_dir", "")))
        try:
            built.append(make(**into))
        except ModuleNotFoundError as error:  # Lightning's loggers look for their package as they are built
            extra = ' (the optional extra: pip install -e ".[mlflow]")' if mlflow else ""
            raise ConfigError(f"logger.{name}: {error}{extra}") from None
    return built


def arguments_of(optimizer):
    """The arguments (lr, momentum, ...) of the optimizer that `optimizer` builds, as its param groups hold them."""
    return optimizer([torch.zeros(1, requires_grad=True)]).defaults


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

    summary = summarize(trainer, module, data, fit_seconds)
    params = hparams(cfg, trainer, module, summary) if trainer.loggers else {}
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):  # with the final loss as the hparams' metric
            logger.log_hyperparams(params, {"final_loss": summary["loss"]}, step=summary["steps"])
        else:
            logger.log_hyperparams(params)
        if isinstance(logger, MLFlowLogger):  # the pictures of the run dir, as the run's artifacts
            for picture in ("network.png", "training.gif"):
                if Path(run_dir, picture).exists():
                    logger.experiment.log_artifact(logger.run_id, str(Path(run_dir, picture)))
        logger.finalize("success")
    write_atomically(Path(run_dir, "summary.json"), json.dumps(summary, indent=2) + "\n")
    return summary
