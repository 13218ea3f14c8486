"""Where a run's messages go: Lightning's, and the report, into Hydra's log (the console and `<run dir>/train.log`).

Lightning gives its loggers a handler of their own, and stops them passing records on, if the root logger has
none when it is imported: before Hydra sets up the job's logging, that is. `RunLog`, a Hydra callback
(conf/train.yaml, hydra.callbacks), hands them back to Hydra once the job starts.

Left out: Lightning's advertisement for its cloud logger, its note on TPUs, its advice on a GPU with Tensor Cores to
let float32 matrix products run in TF32 (see UNSAID), its warning on a GPU machine that the GPU is not used (a CPU
run here is a choice: the seed's two instances train faster on the CPU; the note "GPU available: True (cuda), used:
False" stays), two warnings that a user cannot act on (UNHEEDED), and torch's note as a compiled run starts on a
machine without a GPU (TORCH_UNSAID).
"""

import logging
import threading
import warnings
from contextlib import contextmanager

from hydra.experimental.callback import Callback
from lightning.pytorch.callbacks import Callback as LightningCallback

LIGHTNING_LOGGERS = ("lightning", "lightning.pytorch", "lightning.fabric")
# Where Lightning's notes (rank_zero_info) go: the logger of whichever of its two packages was imported last
NOTES = ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero")
# Lightning's notes that say nothing to a user of this project: its advertisements, TPUs (cpu or gpu here), and on a
# GPU with Tensor Cores its advice to set torch.set_float32_matmul_precision("high"): float32 matrix products in
# TF32, with 10 bits of mantissa instead of 23, would lose the very digits the seed's float32 lesson (cell 12) is
# about. The project keeps torch's default, full float32.
UNSAID = ("💡 Tip:", "TPU available:", "You are using a CUDA device")
# Lightning's warnings, at every fit, that a user of this project cannot act on, and their categories
UNHEEDED = (
    # torch 2.10 and later: Lightning (2.6) uses torch's LeafSpec. Lightning's to change, not the user's.
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning),
    # on a machine of more than two cores: the DataLoader has no worker processes. Its batches are slices of tensors
    # already on the run's device (data.Instances): a worker would only copy them, and could not hand over CUDA
    # tensors. Lightning's docs give this filter for it.
    (r"The 'train_dataloader' does not have many workers", UserWarning),
)

# torch's warnings, by logger: as model.compile=true starts on a machine with CUDA's toolkit but no GPU, that it uses
# the toolkit without a CUDA runtime (it compiles for the CPU, as it should)
TORCH_UNSAID = {"torch.utils.cpp_extension": "No CUDA runtime is found"}


def said(record):
    """A logging filter: Lightning's notes but those in UNSAID."""
    return not str(record.msg).startswith(UNSAID)


def torch_said(record):
    """A logging filter: torch's warnings but those in TORCH_UNSAID."""
    return not str(record.msg).startswith(TORCH_UNSAID[record.name])


def leave_out_unsaid():
    """From now on, in this process, Lightning's notes in UNSAID are not said and its warnings in UNHEEDED not shown
    (those from Lightning's code only), nor torch's in TORCH_UNSAID. A run calls it as it starts (training.build), and
    `Unsaid` in every further process of the fit."""
    for message, category in UNHEEDED:
        warnings.filterwarnings("ignore", message, category, r"lightning\.pytorch\.")
    for name in NOTES:
        logging.getLogger(name).addFilter(said)  # once: addFilter does not add a filter twice
    for name in TORCH_UNSAID:
        logging.getLogger(name).addFilter(torch_said)


class Unsaid(LightningCallback):
    """`leave_out_unsaid` in every process of a fit: a worker that ddp_spawn starts is a fresh interpreter."""

    def setup(self, trainer, module, stage):
        leave_out_unsaid()


class RunLog(Callback):
    def on_job_start(self, config, **kwargs):
        for name in LIGHTNING_LOGGERS:
            logger = logging.getLogger(name)
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
            logger.propagate = True
        threading.excepthook = _quiet_write_errors


def _quiet_write_errors(args, _default=threading.excepthook):
    """TensorBoard writes its events in a thread of its own; when that thread cannot write (a full disk), the
    next write from the run raises the same error, which gets its one line (config.one_line_errors): no traceback
    from the thread as well."""
    if issubclass(args.exc_type, OSError):
        return
    _default(args)


@contextmanager
def lightning_notes_held(let_out=True):
    """Lightning's notes (GPU available, ...) held back while the block runs, and let out only if it succeeds (and
    `let_out`): building a Trainer prints them before it checks some of its arguments, and bad input gets its one
    line alone."""
    held = []
    loggers = [logging.getLogger(name) for name in NOTES]

    def hold(record):  # a filter that keeps the record and lets nothing through (`said` has run before it)
        held.append(record)

    for logger in loggers:
        logger.addFilter(hold)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "GPU available but not used", module=r"lightning\.pytorch\.")
            yield
    finally:
        for logger in loggers:
            logger.removeFilter(hold)
    for record in held if let_out else []:
        logging.getLogger(record.name).handle(record)
