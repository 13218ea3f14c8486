"""Build the run from a config, fit it, and summarise the result (what `scripts/train.py` does)."""

import json
import time
from pathlib import Path

import lightning as L
import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import Callback, Checkpoint
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import OmegaConf

from backprop_by_example.config import ConfigError, check, check_instance, plain
from backprop_by_example.data import TrainingData, load
from backprop_by_example.module import BackpropModule
from backprop_by_example.network import initial_weights, squared_error
from backprop_by_example.tensorboard_log import BackpropLog, hparams

MAX_INSTANCES_IN_SUMMARY = 10_000  # beyond, summary.json holds null for the per-instance outputs and losses


class LastCheckpoint(Checkpoint):
    """Writes last.ckpt after every `every_n_epochs`-th epoch, after the last, and when fit stops on Ctrl-C or an error.

    Lightning's ModelCheckpoint could do the first (at 0.1 ms per epoch: it copies the logged metrics every epoch,
    a tenth of the seed's epoch); its OnExceptionCheckpoint the last, but that one also makes every fit() without
    a ckpt_path resume from the newest last.ckpt it finds: a run would silently continue an old one in a reused run
    dir. A `Checkpoint`, so that Lightning calls it after the module's own on_train_epoch_end, as its ModelCheckpoint.
    """

    def __init__(self, path, every_n_epochs):
        self.path, self.every_n_epochs = path, every_n_epochs

    def on_train_epoch_end(self, trainer, module):
        if (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            self.save(trainer)

    def on_train_end(self, trainer, module):
        self.save(trainer)

    def on_exception(self, trainer, module, exception):
        self.save(trainer)

    def save(self, trainer):
        """The whole state (weights, optimizer, loops) to resume from; every DDP process calls it, the first writes."""
        trainer.save_checkpoint(self.path, weights_only=False)


class EndProcessGroup(Callback):
    """Under DDP, ends the process group in step, at the end of fit, rather than as each process exits.

    Left to the exit, ddp_spawn's CPU (gloo) processes aborted now and then while shutting down, after training
    had finished ("terminate called without an active exception"; seen with torch 2.14 and Lightning 2.6 also
    for a bare LightningModule).
    """

    def teardown(self, trainer, module, stage):
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.barrier()
            torch.distributed.destroy_process_group()


def start_weights(cfg):
    """W and V to start from: model.W and model.V as given, or where null drawn from `seed`."""
    model = cfg.model
    dims = model.input_dim, model.hidden_dim, model.output_dim
    return initial_weights(plain(model.W), plain(model.V), *dims, cfg.seed)


def build(cfg, run_dir):
    """The Trainer, the module and the data for `cfg`, logging and checkpointing into `run_dir`."""
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    callbacks = [
        # saving after every epoch would double the seed run's time
        LastCheckpoint(Path(run_dir) / "checkpoints" / "last.ckpt", cfg.checkpoint.every_n_epochs),
        BackpropLog(run_dir, **OmegaConf.to_container(cfg.log)),
    ]
    try:
        trainer = L.Trainer(
            **OmegaConf.to_container(cfg.trainer, resolve=True),
            default_root_dir=run_dir,
            # the hparams go in at the end, with the final loss as their metric (see `train`)
            logger=TensorBoardLogger(save_dir=run_dir, name="tensorboard", version="", default_hp_metric=False),
            callbacks=callbacks,
            use_distributed_sampler=False,  # TrainingData shares the instances out itself
        )
    except (ValueError, MisconfigurationException) as error:  # Lightning's own check of its arguments
        raise ConfigError(f"trainer: {error}") from error
    if trainer.world_size > 1:
        trainer.callbacks.append(EndProcessGroup())
    X, T = load(cfg.data, cfg.model)
    check_instance("log.picture_instance", cfg.log.picture_instance, len(X))
    W, V = start_weights(cfg)
    with trainer.init_module():  # parameters are created in the precision's dtype
        module = BackpropModule(W=W, V=V, lr=cfg.optimizer.lr, compile=cfg.model.compile)
    data = TrainingData(X, T, cfg.data.batch_size, cfg.data.shuffle, cfg.seed, dtype=module.net.W.dtype)
    return trainer, module, data


def train(cfg, run_dir):
    """Fit, then write and return `summary.json`: final weights, outputs and losses per instance.

    In a DDP run every process trains; only the first (global rank 0) writes and returns the summary.
    """
    check(cfg)
    trainer, module, data = build(cfg, run_dir)
    start = time.perf_counter()
    trainer.fit(module, datamodule=data, ckpt_path=cfg.ckpt_path, weights_only=True)
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
        "epochs": module.epochs_done.item(),
        "accelerator": trainer.strategy.root_device.type,
        "precision": trainer.precision,
        "fit_seconds": fit_seconds,
    }
    trainer.logger.log_hyperparams(hparams(cfg, trainer, module), {"final_loss": summary["loss"]})
    Path(run_dir, "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def report(summary, run_dir, shown=10):
    """A few readable lines: outputs against targets (the first `shown` instances), the final weights, where to look."""
    lines = [f"After {summary['epochs']} epochs (precision {summary['precision']}, on {summary['accelerator']}):"]
    rows = list(zip(summary["outputs"] or [], summary["targets"] or [], summary["losses"] or [], strict=True))
    for i, (y, t, loss) in enumerate(rows[:shown], start=1):
        lines.append(f"  instance {i}: y = {_row(y)}  target {_row(t, '.8g')}  loss {loss:.8f}")
    if len(rows) > shown:
        lines.append(f"  ... and {len(rows) - shown} more instances")
    lines.append(f"  total loss {summary['loss']:.8f}")
    for name in ("W", "V"):
        lines.append(f"  {name} = [{', '.join(_row(r) for r in summary[name])}]")
    run_dir = Path(run_dir)
    if run_dir.is_relative_to(Path.cwd()):
        run_dir = run_dir.relative_to(Path.cwd())
    lines.append(f"Run dir:     {run_dir}")
    lines.append(f"TensorBoard: tensorboard --logdir {run_dir}")
    return "\n".join(lines)


def _row(values, spec=".8f"):
    return "[" + ", ".join(format(v, spec) for v in values) + "]"
