"""Where a run's messages go: Lightning's, and the report, into Hydra's log (the console and `<run dir>/train.log`).

Lightning gives its loggers a handler of their own, and stops them passing records on, if the root logger has
none when it is imported: before Hydra sets up the job's logging, that is. `RunLog`, a Hydra callback
(conf/train.yaml, hydra.callbacks), hands them back to Hydra once the job starts.

Left out: Lightning's advertisement for its cloud logger, its note on TPUs, its warning on a GPU machine that the GPU
is not used (a CPU run here is a choice: the seed's two instances train faster on the CPU; the note "GPU available:
True (cuda), used: False" stays), and, in the package's __init__, a warning about Lightning's own code that a user
cannot act on.
"""

import logging
import threading
import warnings
from contextlib import contextmanager

from hydra.experimental.callback import Callback

LIGHTNING_LOGGERS = ("lightning", "lightning.pytorch", "lightning.fabric")
# Lightning's notes that say nothing to a user of this project: its advertisements, and TPUs (cpu or gpu here)
UNSAID = ("💡 Tip:", "TPU available:")


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
    loggers = [logging.getLogger(f"lightning.{part}.utilities.rank_zero") for part in ("pytorch", "fabric")]

    def hold(record):  # a filter that keeps the record (unless UNSAID) and lets nothing through
        if not str(record.msg).startswith(UNSAID):
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
