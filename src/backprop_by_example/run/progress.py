"""The console's view of a run: one progress bar across the epochs, not one per epoch.

Lightning's own bar counts the batches of each epoch, and the seed's epoch is one batch: 201 bars of "1/1". This one
counts epochs (of `trainer.max_epochs`) and shows the loss of the last. In a terminal it is a live tqdm bar (`Live`);
when the output goes to a file or a pipe, a plain line now and then instead (`Lines`), so that a log stays short.
"""

import logging
import math
import sys
import time

from lightning.pytorch.callbacks.progress import ProgressBar
from lightning.pytorch.callbacks.progress.tqdm_progress import Tqdm

from backprop_by_example.run.console import NOTES

log = logging.getLogger(__name__)


class EpochBar(ProgressBar):
    """Epochs done of `max_epochs` (counted from where a resumed run starts), with the loss of the last epoch: the
    sum of its batches' summed losses, as the training step computed them (under DDP, the first process's share)."""

    def __init__(self, interactive=None):
        super().__init__()
        self.interactive = sys.stdout.isatty() if interactive is None else interactive
        self.enabled = True
        self.bar = None
        self.loss = None  # the epoch's loss so far: a tensor, read only when shown (no wait for the device)

    def disable(self):
        self.enabled = False

    def enable(self):
        self.enabled = True

    @property
    def is_enabled(self):
        return self.enabled

    def on_train_start(self, trainer, module):
        if self.enabled:
            self.bar = (Live if self.interactive else Lines)(epochs(trainer), done=trainer.current_epoch)

    def on_train_epoch_start(self, trainer, module):
        self.loss = None

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if self.bar is not None:  # (a resumed epoch may start at any batch)
            loss = outputs["batch_loss"]
            self.loss = loss if self.loss is None else self.loss + loss

    def on_train_epoch_end(self, trainer, module):
        if self.bar is not None:
            self.bar.update(self.loss)

    def on_train_end(self, trainer, module):
        if self.bar is not None:
            self.bar.close(self.loss)
            self.bar = None

    def on_exception(self, trainer, module, exception):
        self.on_train_end(trainer, module)

    def print(self, *args, **kwargs):
        """trainer.print: above a live bar, which goes on below."""
        if isinstance(self.bar, Live):
            self.bar.tqdm.write(" ".join(map(str, args)), file=sys.stdout)
        else:
            print(*args, **kwargs)


def epochs(trainer):
    """The epochs the fit will end after (max_epochs, or fewer that max_steps allows), or None: no limit."""
    updates = trainer.estimated_stepping_batches  # of the whole fit: max_epochs' worth, or max_steps if fewer
    per_epoch = -(-trainer.num_training_batches // trainer.accumulate_grad_batches)
    return math.ceil(updates / per_epoch) if math.isfinite(updates) else None


class Live:
    """A tqdm bar of epochs; the loss beside it is brought up to date every `seconds`, and at the end. Closed after
    the last epoch; a note of Lightning's while it is open (max_time reached, ...) takes the bar's line, and the bar
    goes on below it."""

    def __init__(self, total, done, seconds=0.5):
        self.tqdm = Tqdm(total=total, initial=done, desc="Training", unit="epoch", dynamic_ncols=True,
                         file=sys.stdout, smoothing=0)  # fmt: skip
        self.seconds, self.next = seconds, time.monotonic()
        self.notes = [logging.getLogger(name) for name in NOTES]  # where Lightning's notes go
        for logger in self.notes:
            logger.addFilter(self.clear_line)

    def update(self, loss):
        now = time.monotonic()
        last = self.tqdm.n + 1 == self.tqdm.total
        if now >= self.next or last:
            self.show(loss)
            self.next = now + self.seconds
        self.tqdm.update(1)
        if last:
            self.close()

    def show(self, loss):
        self.tqdm.set_postfix_str(f"loss={loss.item():.8f}", refresh=False)

    def clear_line(self, record):
        self.tqdm.clear()  # the note starts where the bar was; the bar's next update draws it again below
        return True

    def close(self, loss=None):
        """Ends the bar's line with its last state (the loss of the last epoch, if given); again: nothing."""
        for logger in self.notes:
            logger.removeFilter(self.clear_line)
        if loss is not None and not self.tqdm.disable:
            self.show(loss)
        self.tqdm.close()


class Lines:
    """The bar as a line on the log after every tenth of the epochs, at least `seconds` apart (without an epoch
    limit, every `seconds`): a handful for a long run, none for a short one, whose report follows at once."""

    def __init__(self, total, done, seconds=10.0):
        self.total, self.n, self.seconds = total, done, seconds
        self.every = math.ceil(total / 10) if total else 0
        self.start = self.last = time.monotonic()
        self.last_n = done

    def update(self, loss):
        self.n += 1
        now = time.monotonic()
        if self.n - self.last_n >= self.every and now - self.last >= self.seconds:
            of = f" of {self.total}" if self.total else ""
            log.info(f"Epoch {self.n}{of}: loss {loss.item():.8f} ({now - self.start:.0f} s)")
            self.last, self.last_n = now, self.n

    def close(self, loss=None):
        pass
