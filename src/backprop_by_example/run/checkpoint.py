"""When `<run dir>/checkpoints/last.ckpt` is written: every n epochs, after the last, and when a signal stops the run.

Always between two updates, by a process that trained, so that a checkpoint never holds half an update, and a
process that only waited for others (ddp_spawn's first) never replaces one with its untrained weights.
"""

from pathlib import Path

from lightning.pytorch.callbacks import Checkpoint


class LastCheckpoint(Checkpoint):
    """Writes last.ckpt after every `every_n_epochs`-th epoch and after the last (and, for stopping.StopOnSignal,
    when a signal stops the run).

    A `Checkpoint`, so that Lightning calls it after the module's and the other callbacks' hooks of the same
    moment, as it does its ModelCheckpoint (which could do the first part, at 0.1 ms per epoch: it copies the logged
    metrics every epoch, a tenth of the seed's epoch).

    Each checkpoint also holds the project's own record of where the run stands (`state_dict`, under `KEY` in the
    checkpoint's callbacks), which a resume checks the config against (resume.read).
    """

    KEY = "last_checkpoint"

    def __init__(self, path, every_n_epochs):
        self.path, self.every_n_epochs = Path(path), every_n_epochs
        self.ended_mid_epoch = False
        self.record = {}
        self.stopping = False  # the save under way is a stop's (callbacks that write something at a stop look)

    @property
    def state_key(self):
        return self.KEY

    def state_dict(self):
        """The precision, the complete epochs and the updates, the optimizer's class, whether it was saved with
        batches of its epoch still to run, and where that epoch stood and how its batches are made
        (data.Batches.state_dict)."""
        return self.record

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if saved_mid_epoch(trainer, batch_idx) and trainer.fit_loop.epoch_loop.done:
            self.save(trainer, mid_epoch=True)  # max_steps or max_time ends the fit mid-epoch: a resume goes on here
            self.ended_mid_epoch = True

    def on_train_epoch_end(self, trainer, module):
        if self.ended_mid_epoch:  # not the end of the epoch, only of its part that the fit ran
            return
        if (trainer.current_epoch + 1) % self.every_n_epochs == 0:
            self.save(trainer)

    def on_train_end(self, trainer, module):
        if not self.ended_mid_epoch:  # by now Lightning counts the unfinished epoch as done
            self.save(trainer)

    def save(self, trainer, mid_epoch=False, stopping=False):
        """The whole state (weights, optimizer, loops) to resume from; every DDP process calls it, the first writes.
        `stopping`: the save of a stop (stopping.StopOnSignal)."""
        self.stopping = stopping
        module = count_progress(trainer)
        if trainer.fast_dev_run:  # Lightning's promise for fast_dev_run: no checkpoints
            return
        self.record = {
            "precision": str(trainer.precision),
            "epochs": module.epochs_done.item(),
            "steps": module.steps_done.item(),
            "mid_epoch": mid_epoch,
            "batches": trainer.train_dataloader.state_dict(),
            "optimizer": class_name(type(trainer.optimizers[0])),  # its state fits only its own class
        }
        trainer.save_checkpoint(self.path, weights_only=False)


def saved_mid_epoch(trainer, batch_idx):
    """Whether a save at the end of this batch is a save in the middle of its epoch, between two updates: not at the
    epoch's last batch (that one is saved at the epoch's end), not while gradients pile up. Lightning resumes from
    both; `data.BatchLoader` knows which batches of the epoch are done."""
    mid_accumulation = (batch_idx + 1) % trainer.accumulate_grad_batches != 0
    return not (trainer.fit_loop.epoch_loop.batch_progress.is_last_batch or mid_accumulation)


def class_name(optimizer_class):
    """'torch.optim.adam.Adam': the module that defines the class, and its name."""
    return f"{optimizer_class.__module__}.{optimizer_class.__qualname__}"


def count_progress(trainer):
    """The module's epochs_done and steps_done from Lightning's loop counters, as they stand after the last update
    (at a save, and at the end of the fit); returns the module."""
    module, fit_loop = trainer.lightning_module, trainer.fit_loop
    epoch = fit_loop.epoch_progress.current.started - 1  # the epoch under way, or the last one
    module.steps_done.fill_(trainer.global_step)
    module.epochs_done.fill_(max(epoch + fit_loop.epoch_loop.batch_progress.is_last_batch, 0))
    return module


def module_progress(trainer):
    """'12 epochs (24 updates)': the complete epochs and the updates so far."""
    module = trainer.lightning_module
    return progress(module.epochs_done.item(), module.steps_done.item())


def progress(epochs, steps):
    text = f"{epochs} epoch{'' if epochs == 1 else 's'}"
    return text if steps == epochs else f"{text} ({steps} update{'' if steps == 1 else 's'})"
